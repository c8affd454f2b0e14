"""The one rule by which a stored result is reused (docs/decisions/data-integrity.md §13).

A result (a search trace, an attack's numbers, a defence's row or trained part, exit heads) is
stored with a *fingerprint*: a JSON-normalised mapping of everything it depends on. It is reused
only when the stored fingerprint equals the one asked for; otherwise it is recomputed and the
files replaced, and the log names the file and the fingerprint keys that differ. Writing is atomic
(``paperlib.infra.io``), so an interrupted run leaves either the old or the new result.

Two storage forms share the rule: a JSON record (:func:`load_json` / :func:`save_json`) and a
``torch.save`` blob (:func:`load_torch` / :func:`save_torch`), each holding the fingerprint under
the key ``"fingerprint"``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Callable, Iterable

import torch

from . import config, io

log = logging.getLogger(__name__)

FINGERPRINT = "fingerprint"


def differing(stored: Any, wanted: Any) -> list[str]:
    """The top-level keys whose values differ between two fingerprints (``["fingerprint"]`` when
    either is not a mapping)."""
    if not isinstance(stored, dict) or not isinstance(wanted, dict):
        return [] if stored == wanted else [FINGERPRINT]
    return sorted(k for k in set(stored) | set(wanted) if stored.get(k) != wanted.get(k))


def _reusable(path: Path, blob: Any, want: Any, valid: Callable[[dict], bool] | None) -> bool:
    stored = blob.get(FINGERPRINT) if isinstance(blob, dict) else None
    if stored == want and (valid is None or valid(blob)):
        return True
    reasons = differing(stored, want) or ["format"]
    log.warning("not reusing %s: made with another %s; computing it again", config.shown_path(path),
                ", ".join(reasons))
    return False


def _lookup(path: str | os.PathLike, fingerprint: Any, read: Callable[[Path], Any],
            companions: Iterable[str | os.PathLike], valid: Callable[[dict], bool] | None
            ) -> dict | None:
    path = Path(path)
    if not path.exists() or not all(Path(c).exists() for c in companions):
        return None
    blob = read(path)
    return blob if _reusable(path, blob, io.json_safe(fingerprint), valid) else None


def load_json(path: str | os.PathLike, fingerprint: Any, *,
              companions: Iterable[str | os.PathLike] = (),
              valid: Callable[[dict], bool] | None = None) -> dict | None:
    """The JSON record at ``path`` when it, and every file of ``companions``, exist, its
    fingerprint equals ``fingerprint`` and ``valid(record)`` holds (when given); else ``None``."""
    return _lookup(path, fingerprint, io.read_json, companions, valid)


def load_torch(path: str | os.PathLike, fingerprint: Any, *,
               valid: Callable[[dict], bool] | None = None) -> dict | None:
    """The ``torch.save`` blob at ``path`` (tensors only, loaded on the CPU) under the same rule
    as :func:`load_json`."""
    return _lookup(path, fingerprint, lambda p: io.torch_load(p, map_location="cpu",
                                                              weights_only=True), (), valid)


def save_json(path: str | os.PathLike, fingerprint: Any, record: dict[str, Any]) -> dict[str, Any]:
    """Write ``record`` with its fingerprint to ``path`` atomically; returns what was written."""
    out = {**record, FINGERPRINT: io.json_safe(fingerprint)}
    io.write_json(path, out)
    return out


def save_torch(path: str | os.PathLike, fingerprint: Any, blob: dict[str, Any]) -> None:
    """``torch.save`` ``blob`` with its fingerprint to ``path`` atomically."""
    with io.atomic_path(path) as tmp:
        torch.save({**blob, FINGERPRINT: io.json_safe(fingerprint)}, tmp)


__all__ = ["FINGERPRINT", "differing", "load_json", "load_torch", "save_json", "save_torch"]
