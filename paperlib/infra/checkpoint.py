"""A trained model on disk: weights and metadata as one atomic, verifiable unit.

Files of the checkpoint ``<stem>`` (= ``<model>-<dataset>-seed<seed>``) in
``<checkpoint_dir>/<profile>/`` (docs/decisions/data-integrity.md §2):

==============================  ===============================================================
``<stem>.json``                 the metadata; names the weights file and their sha256. Replacing
                                it atomically is the commit point of a (re)training.
``<stem>.<sha256[:16]>.pt``     the weights (a state dict), under a content-addressed name
``<stem>.partial.pt``           the state of an interrupted training (resumed by the next run)
``<stem>.lock``                 held (``flock``) by the process that trains or loads ``<stem>``
``.<stem>.*.tmp``               a temporary of an atomic write (a killed writer's is removed)
==============================  ===============================================================

:func:`commit` writes the new weights under their own name, then replaces the metadata, then
removes every other weights file of the stem. A kill at any point leaves the old pair or the new
one, never new weights beside old metadata; what it may leave behind (an orphaned weights file, a
temporary) is removed by :func:`clean_leftovers` on the next start. :func:`load_weights` checks the
sha256 before ``torch.load`` sees a byte.
"""

from __future__ import annotations

import io as _bytes_io
import logging
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import torch

from . import config, io

log = logging.getLogger(__name__)

FORMAT = 2  # 1: "<stem>.pt" beside metadata without a hash (paperlib before the sha256)
HASH_CHARS = 16  # of the sha256 in the weights file name


class CheckpointError(RuntimeError):
    """A cached checkpoint cannot be used as it is."""


class CheckpointMismatch(CheckpointError):
    """A cached checkpoint was made for other settings than the ones requested."""


class CheckpointCorrupted(CheckpointError):
    """A checkpoint's weights are missing or differ from the sha256 its metadata record."""


class LegacyCheckpoint(CheckpointError):
    """A checkpoint written by a paperlib that recorded no hash of the weights."""


@dataclass(frozen=True)
class CheckpointFiles:
    """The paths of one checkpoint, all derived from its metadata file."""

    meta: Path

    @classmethod
    def of(cls, path: str | os.PathLike) -> "CheckpointFiles":
        """From the metadata file or from a legacy ``<stem>.pt``."""
        path = Path(path)
        return cls(path.with_suffix(".json") if path.suffix == ".pt" else path)

    @property
    def folder(self) -> Path:
        return self.meta.parent

    @property
    def stem(self) -> str:
        return self.meta.stem

    @property
    def partial(self) -> Path:
        return self.folder / f"{self.stem}.partial.pt"

    @property
    def lock(self) -> Path:
        return self.folder / f"{self.stem}.lock"

    @property
    def legacy_weights(self) -> Path:
        return self.folder / f"{self.stem}.pt"

    def weights(self, sha256: str) -> Path:
        return self.folder / f"{self.stem}.{sha256[:HASH_CHARS]}.pt"

    def weight_files(self) -> list[Path]:
        """Every content-addressed weights file of this stem on disk."""
        pattern = re.compile(rf"^{re.escape(self.stem)}\.[0-9a-f]{{{HASH_CHARS}}}\.pt$")
        return sorted(p for p in self.folder.glob(f"{self.stem}.*.pt") if pattern.match(p.name))

    def retrain_fix(self) -> str:
        return (f"delete {self.meta} (and the weights it names), or train afresh and replace it "
                "with `paperlib train --model ... --retrain` (load_or_train(retrain=True)); "
                "`paperlib search` then uses the new checkpoint")


@contextmanager
def locked(files: CheckpointFiles) -> Iterator[bool]:
    """Hold the checkpoint's lock (waiting for another process that trains it); yields whether the
    folder is writable (a read-only folder of checkpoints is read without a lock)."""
    if files.folder.exists() and not os.access(files.folder, os.W_OK):
        yield False
        return
    with io.file_lock(files.lock, f"training or loading the checkpoint {files.stem}", wait=True):
        yield True


def clean_leftovers(files: CheckpointFiles) -> list[Path]:
    """Remove what a killed run left: temporaries of atomic writes and weights files that readable
    metadata do not name (a commit cut short). Weights beside damaged metadata are intact work:
    they are kept and named in a warning (docs/decisions/data-integrity.md §11). Call it only under
    :func:`locked`. Returns the removed paths."""
    if not files.folder.exists():
        return []
    removed = io.remove_temporaries(files.folder, files.stem)
    readable, named = _named_weights(files)
    for path in files.weight_files():
        if not readable:
            log.warning("kept %s: the metadata %s beside it are damaged, so it is not known whether "
                        "these weights are the checkpoint's; %s", path, files.meta,
                        files.retrain_fix())
        elif path.name != named:
            path.unlink(missing_ok=True)
            removed.append(path)
    for path in removed:
        log.warning("removed %s, left by an interrupted run", config.shown_path(path))
    return removed


def _named_weights(files: CheckpointFiles) -> tuple[bool, str | None]:
    """Whether the metadata are absent or readable, and the weights file they name (None: no
    metadata, or legacy metadata naming none)."""
    if not files.meta.exists():
        return True, None
    try:
        meta = io.read_json(files.meta)
    except (OSError, io.DamagedFileError):
        return False, None
    if not isinstance(meta, dict):
        return False, None
    return True, meta.get("weights")


def read_meta(files: CheckpointFiles) -> dict[str, Any]:
    """The metadata; :class:`LegacyCheckpoint` for one without a hash, a named error when damaged."""
    meta = io.read_json(files.meta, fix=files.retrain_fix())
    if not isinstance(meta, dict):
        raise io.DamagedFileError(files.meta, "not a JSON object", files.retrain_fix())
    if "sha256" not in meta:
        raise LegacyCheckpoint(
            f"the checkpoint {files.meta} was made by an older paperlib: its metadata record no "
            "sha256 of the weights, so they cannot be verified. To retrain, "
            f"{files.retrain_fix()}. To keep weights you trust, adopt them once with "
            f"`python -c \"from paperlib import train; train.adopt_checkpoint('{files.legacy_weights}')\"` "
            "(it re-measures their accuracy and records their hash).")
    if not isinstance(meta.get("weights"), str) or not re.fullmatch(r"[0-9a-f]{64}", str(meta["sha256"])):
        raise io.DamagedFileError(files.meta, "its 'weights' or 'sha256' entry is malformed",
                                  files.retrain_fix())
    return meta


def load_weights(files: CheckpointFiles, meta: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The state dict named by ``meta``, after checking its sha256."""
    path = files.folder / meta["weights"]
    try:
        payload = path.read_bytes()
    except FileNotFoundError:
        raise CheckpointCorrupted(f"{files.meta} names the weights file {path}, which is missing; "
                                  f"{files.retrain_fix()}") from None
    got = io.sha256_bytes(payload)
    if got != meta["sha256"]:
        raise CheckpointCorrupted(
            f"{path} is damaged: its sha256 is {got}, but {files.meta} records {meta['sha256']} "
            f"({len(payload)} bytes on disk). To fix it, {files.retrain_fix()}.")
    return io.torch_load(_bytes_io.BytesIO(payload), name=str(path), fix=files.retrain_fix(),
                         map_location="cpu", weights_only=True)


def commit(files: CheckpointFiles, payload: bytes, meta: dict[str, Any]) -> dict[str, Any]:
    """Store serialized weights ``payload`` with ``meta`` as the checkpoint (new weights file,
    then the metadata naming it, then removal of every other weights file of the stem).
    Returns the metadata as written (with ``format``, ``weights`` and ``sha256``)."""
    digest = io.sha256_bytes(payload)
    weights = files.weights(digest)
    io.write_bytes(weights, payload)
    meta = {**meta, "format": FORMAT, "weights": weights.name, "sha256": digest}
    io.write_json(files.meta, meta)
    for path in [*files.weight_files(), files.legacy_weights]:
        if path != weights:
            path.unlink(missing_ok=True)
    return meta


def save(files: CheckpointFiles, state_dict: dict[str, torch.Tensor],
         meta: dict[str, Any]) -> dict[str, Any]:
    """:func:`commit` of ``state_dict`` (moved to the CPU) serialized by ``torch.save``."""
    buffer = _bytes_io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in state_dict.items()}, buffer)
    return commit(files, buffer.getvalue(), meta)


__all__ = ["FORMAT", "CheckpointError", "CheckpointMismatch", "CheckpointCorrupted",
           "LegacyCheckpoint", "CheckpointFiles", "locked", "clean_leftovers", "read_meta",
           "load_weights", "commit", "save"]
