"""Result files that survive kills and say what is wrong when they are damaged.

* Atomic writes (:func:`atomic_path`): write a hidden temporary beside the target
  (``.<name>.<random>.tmp``), flush it to disk, rename it over the target. A kill leaves either
  the old file or the new one, never half of one; the temporary it may leave is removed by the
  owner's next start (:func:`remove_temporaries`). Files get the mode the umask gives (0644 under
  umask 022), as if written with ``open(path, "w")``.
* Damaged files (:class:`DamagedFileError`): JSON and torch files that cannot be read raise an error
  that names the file and what to do (by default: delete it so that it is recomputed).
* Locks (:func:`file_lock`, :func:`folder_lock`): an advisory ``flock`` that the kernel releases
  when its process ends, however it ends, so a lock is never stale.

Decisions: docs/decisions/data-integrity.md §4–§6.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import logging
import os
import secrets
import socket
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from . import config

log = logging.getLogger(__name__)

LOCK_FILE = ".lock"
DEFAULT_FIX = "delete it to recompute it"
_CHUNK = 1 << 20


class DamagedFileError(RuntimeError):
    """A file exists but cannot be read (truncated, overwritten, not what it should be)."""

    def __init__(self, path: str | os.PathLike, problem: str, fix: str = DEFAULT_FIX) -> None:
        self.path = Path(path)
        super().__init__(f"{self.path} is damaged ({problem}); {fix}")


class FolderLockedError(RuntimeError):
    """Another process holds the lock this one asked for."""


# --- atomic writes -------------------------------------------------------------------------------

def _temporary_beside(path: Path) -> Path:
    """Create an empty hidden temporary beside ``path`` with the mode the umask gives."""
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # umask applies
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"could not create a temporary file beside {path}")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path; on success it is flushed and replaces ``path`` in one rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary_beside(path)
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def remove_temporaries(folder: str | os.PathLike, prefix: str) -> list[Path]:
    """Remove the hidden temporaries that :func:`atomic_path` left in ``folder`` for targets whose
    name starts with ``prefix`` + ``"."`` (a killed writer's); returns the removed paths.

    Call it only while holding the lock that the writers of those targets take."""
    removed = []
    for tmp in Path(folder).glob(f".{prefix}.*.tmp"):
        tmp.unlink(missing_ok=True)
        removed.append(tmp)
    return sorted(removed)


def write_bytes(path: str | os.PathLike, payload: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(payload)


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


class JsonRecord:
    """Mixin for a dataclass kept as JSON: :meth:`to_dict` (``dataclasses.asdict``) and
    :meth:`from_dict`, which ignores keys the dataclass does not have (files of other versions)."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, d: dict[str, Any]):
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in d.items() if k in names})


def json_safe(obj: Any) -> Any:
    """``obj`` as it reads back from a JSON file (keys sorted, tuples as lists, other objects as
    ``str``): compare a fingerprint with a saved one in this form."""
    return json.loads(json.dumps(obj, sort_keys=True, default=str))


def write_json(path: str | os.PathLike, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


# --- reading, with damaged files named -----------------------------------------------------------

def read_json(path: str | os.PathLike, *, fix: str = DEFAULT_FIX) -> Any:
    """The JSON in ``path``; :class:`DamagedFileError` (naming the file and ``fix``) when it is
    not valid JSON, e.g. truncated. A missing file raises ``FileNotFoundError``."""
    path = Path(path)
    raw = path.read_bytes()
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        what = "empty" if not raw.strip() else f"not valid JSON: {exc}"
        raise DamagedFileError(path, what, fix) from exc


def torch_load(source: str | os.PathLike, *, fix: str = DEFAULT_FIX, name: str | None = None,
               **kwargs: Any) -> Any:
    """``torch.load(source, **kwargs)`` with :class:`DamagedFileError` naming the file (``name``
    when ``source`` is an in-memory buffer) and ``fix`` when it cannot be read."""
    import torch

    label = name if name is not None else source
    try:
        return torch.load(source, **kwargs)
    except FileNotFoundError:
        raise
    except Exception as exc:  # noqa: BLE001 - zip, pickle and EOF errors all mean a damaged file
        raise DamagedFileError(label, f"cannot be read by torch.load: {exc}".strip(), fix) from exc


def sha256_bytes(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def file_digest(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes, read in chunks (``algorithm``: any of :mod:`hashlib`'s)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_file(path: str | os.PathLike) -> str:
    return file_digest(path, "sha256")


def download_verified(url: str, dest: str | os.PathLike, md5: str, *, error: type[Exception],
                      by_hand: str) -> None:
    """Fetch ``url`` into ``dest`` (needs internet) and check its md5 against the published one;
    a failed or damaged download raises ``error`` saying what to do (``by_hand``: the offline way,
    e.g. "copy X into Y by hand")."""
    import urllib.request

    log.info("downloading %s", url)
    try:
        urllib.request.urlretrieve(url, dest)
    except OSError as exc:
        raise error(f"could not download {url} ({exc}); check the internet connection or "
                    f"{by_hand}") from exc
    digest = file_digest(dest, "md5")
    if digest != md5:
        raise error(f"{url}: md5 {digest} differs from the published {md5}; the download is "
                    "damaged, try again")


# --- logs ------------------------------------------------------------------------------------------

def append_jsonl(path: str | os.PathLike, record: dict) -> None:
    """Append one JSON line and flush it to disk (a log that survives a kill)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        f.write(json.dumps(record, sort_keys=True, default=str) + "\n")
        f.flush()
        os.fsync(f.fileno())


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    """Every complete line of a JSONL log; a torn last line (a kill mid-write) is skipped."""
    path = Path(path)
    if not path.exists():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


# --- locks -----------------------------------------------------------------------------------------

def _holder(lock_path: Path) -> str:
    try:
        info = json.loads(lock_path.read_text() or "{}")
    except (OSError, ValueError):
        return "another process"
    since = info.get("since")
    return (f"pid {info.get('pid', '?')} on {info.get('host', '?')}, {info.get('purpose', '?')}"
            + (f", since {since}" if since else "")
            + (f": `{info['command']}`" if info.get("command") else ""))


@contextmanager
def file_lock(lock_path: str | os.PathLike, purpose: str, *, wait: bool = False) -> Iterator[Path]:
    """Hold an exclusive ``flock`` on ``lock_path`` for the ``with`` block.

    Another holder makes it raise :class:`FolderLockedError` naming the holder (``wait=False``) or
    wait for it (``wait=True``, with a warning). The kernel drops the lock when the holding process
    ends, so a killed holder leaves no stale lock; the file itself stays (removing it would race
    with a waiting process)."""
    import fcntl  # POSIX only; imported here so that the rest of paperlib.infra.io works everywhere

    lock_path = Path(lock_path)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            holder = _holder(lock_path)
            if not wait:
                raise FolderLockedError(
                    f"{lock_path.parent} is in use by {holder}. Wait for it to finish, or use "
                    "another output folder; if that process is gone, just run again (the lock "
                    "dies with its process).") from None
            log.warning("waiting for %s, which holds %s", holder, config.shown_path(lock_path))
            fcntl.flock(fd, fcntl.LOCK_EX)
        info = {"pid": os.getpid(), "host": socket.gethostname(), "purpose": purpose,
                "since": time.strftime("%Y-%m-%dT%H:%M:%S"), "command": " ".join(sys.argv)}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        yield lock_path
    finally:
        os.close(fd)  # releases the flock


def folder_lock(folder: str | os.PathLike, purpose: str, *, wait: bool = False):
    """:func:`file_lock` on ``folder/.lock``: one writer per output folder."""
    return file_lock(Path(folder) / LOCK_FILE, purpose, wait=wait)


__all__ = ["DamagedFileError", "FolderLockedError", "LOCK_FILE", "atomic_path", "remove_temporaries",
           "write_bytes", "write_text", "JsonRecord", "json_safe", "write_json", "read_json", "torch_load",
           "sha256_bytes",
           "file_digest", "sha256_file", "download_verified", "append_jsonl", "read_jsonl", "file_lock", "folder_lock"]
