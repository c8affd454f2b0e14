"""Real cellular uplink traces in the Mahimahi format: catalogue, md5 check, parsing, download.

The six uplink traces were recorded with the Saturator tool of Winstein, Sivaraman & Balakrishnan
(USENIX NSDI 2013) while driving and are distributed with the Mahimahi emulator (Netravali et al.,
USENIX ATC 2015; repository ravinet/mahimahi, folder ``traces/``). Format: one line per delivery
opportunity, the line holding the millisecond (from the start of the trace) at which one
1500-byte packet can cross the link; a millisecond that carries several packets repeats; the trace
repeats when it ends, with period = its last timestamp (Mahimahi's ``LinkQueue``).

Location: ``<data_dir>/network-traces/<file>`` (``paperlib.infra.config.data_dir``: ``$PAPERLIB_DATA_DIR``,
else ``data/``); the package never copies a trace into the repository. Every catalogue file is
checked against the md5 sum of the published file (the ``MD5SUMS`` manifest distributed with the
traces lists the same sums): a file that differs is refused with an error naming it and the fix.
``paperlib data --traces`` checks them; ``--download`` fetches the missing ones (internet).
Decisions: docs/decisions/network.md §1.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..infra import config, io
from ..method.data import file_md5
from .constants import network_type
from .constants import PACKET_BITS


TRACES_FOLDER = "network-traces"
MANIFEST_FILE = "MD5SUMS"
BASE_URL = "https://raw.githubusercontent.com/ravinet/mahimahi/master/traces/"


class TraceError(RuntimeError):
    """A trace file is missing, damaged (md5), or not in the Mahimahi format."""


@dataclass(frozen=True)
class TraceSpec:
    """One published trace: its file, the network type it was measured on, its md5 and a label."""

    name: str
    file: str
    network: str  # a key of paperlib.network.constants.NETWORK_TYPES
    md5: str
    label: str

    @property
    def url(self) -> str:
        return BASE_URL + self.file


CATALOGUE: dict[str, TraceSpec] = {s.name: s for s in (
    TraceSpec("Verizon-LTE-short", "Verizon-LTE-short.up", "lte",
              "f35196b6e92f92eb207725f5903d482e", "Verizon 4G LTE (140 s)"),
    TraceSpec("TMobile-LTE-short", "TMobile-LTE-short.up", "lte",
              "313649aa743116506b9c927669cf1571", "T-Mobile 4G LTE (140 s)"),
    TraceSpec("ATT-LTE-driving", "ATT-LTE-driving.up", "lte",
              "cb4dc26550a06dc98fe8ab9ea020ed44", "AT&T 4G LTE, driving"),
    TraceSpec("ATT-LTE-driving-2016", "ATT-LTE-driving-2016.up", "lte",
              "be16eb0d7919182ab5f6af5a1e5f4d95", "AT&T 4G LTE, driving (2016)"),
    TraceSpec("TMobile-UMTS-driving", "TMobile-UMTS-driving.up", "3g",
              "a6ab913410450d65820874e8b20ff8bd", "T-Mobile 3G UMTS, driving"),
    TraceSpec("Verizon-EVDO-driving", "Verizon-EVDO-driving.up", "3g",
              "51184c683fb39221f8f34d8810ceecbf", "Verizon 3G EV-DO, driving"),
)}


@dataclass(frozen=True)
class Trace:
    """A parsed Mahimahi schedule: ``times_ms`` (non-decreasing, last > 0) and where it came from."""

    name: str
    network: str
    times_ms: np.ndarray
    source: str
    verified: bool  # md5 equal to the published file's

    @property
    def period_ms(self) -> float:
        """Length of one pass; the schedule repeats with this period."""
        return float(self.times_ms[-1])

    @property
    def mean_rate_bps(self) -> float:
        """Lines x 12,000 bits / last timestamp (the traces' README definition)."""
        return len(self.times_ms) * PACKET_BITS / self.period_ms * 1e3


def spec(name: str) -> TraceSpec:
    """The catalogue entry ``name`` (with or without ``.up``)."""
    key = name[:-3] if name.endswith(".up") else name
    try:
        return CATALOGUE[key]
    except KeyError:
        raise ValueError(f"unknown trace {name!r}; choose one of {', '.join(CATALOGUE)}") from None


def traces_dir(root: str | os.PathLike | None = None) -> Path:
    """``<data_dir>/network-traces`` (``root`` overrides the data folder)."""
    return config.data_dir(root) / TRACES_FOLDER


def _fix_hint(folder: Path) -> str:
    return (f"run `make data` (or `python -m paperlib data --traces --download`) to fetch the "
            f"published file into {folder}, or point PAPERLIB_DATA_DIR at a folder holding "
            f"{TRACES_FOLDER}/")


def _is_int(line: str) -> bool:
    try:
        int(line)
    except ValueError:
        return False
    return True


def parse(text: str, where: str = "trace") -> np.ndarray:
    """The schedule of a Mahimahi trace: one integer ms per line, non-decreasing, last > 0 (the
    rules Mahimahi's ``LinkQueue`` enforces); raises :class:`TraceError` naming ``where``."""
    lines = text.splitlines()
    if not lines:
        raise TraceError(f"{where}: no timestamps; a Mahimahi trace holds one ms value per line")
    empty = [i for i, line in enumerate(lines, 1) if not line.strip()]
    if empty:
        raise TraceError(f"{where}: empty line {empty[0]}; a Mahimahi trace holds one ms value "
                         "per line")
    try:
        times = np.array(lines, dtype=np.int64)
    except ValueError:
        bad = next((i for i, line in enumerate(lines, 1) if not _is_int(line)), 1)
        raise TraceError(f"{where}: not a Mahimahi trace: line {bad} is {lines[bad - 1]!r}; every "
                         "line must be an integer millisecond") from None
    if times[0] < 0 or np.any(np.diff(times) < 0):
        raise TraceError(f"{where}: timestamps must be non-negative and non-decreasing")
    if times[-1] == 0:
        raise TraceError(f"{where}: the trace must last a nonzero time (its last timestamp is 0)")
    return times.astype(np.float64)


def verify(name: str, root: str | os.PathLike | None = None) -> Path:
    """The path of catalogue trace ``name`` after checking its md5 (a :class:`TraceError` naming
    the file and the fix when it is missing or differs from the published file)."""
    s = spec(name)
    folder = traces_dir(root)
    path = folder / s.file
    if not path.is_file():
        raise TraceError(f"missing trace {path}. To fix it, {_fix_hint(folder)}.")
    got = file_md5(path)
    if got != s.md5:
        raise TraceError(f"{path} is damaged: its md5 is {got}, the published file's is {s.md5}. "
                         f"Delete it and {_fix_hint(folder)}.")
    return path


@lru_cache(maxsize=16)
def _load(name: str, folder: str) -> Trace:
    s = spec(name)
    path = verify(name, Path(folder).parent)
    return Trace(s.name, s.network, parse(path.read_text(), str(path)), str(path), True)


def load(name: str, root: str | os.PathLike | None = None) -> Trace:
    """Catalogue trace ``name``, md5-verified and parsed (cached per file)."""
    return _load(spec(name).name, str(traces_dir(root)))


def read_file(path: str | os.PathLike, network: str, name: str | None = None) -> Trace:
    """Any Mahimahi trace file (one of your own): parsed, not md5-checked (``verified=False``)."""
    network_type(network)
    path = Path(path)
    if not path.is_file():
        raise TraceError(f"no trace file at {path}")
    return Trace(name or path.stem, network, parse(path.read_text(), str(path)), str(path), False)


def available(root: str | os.PathLike | None = None) -> list[str]:
    """Catalogue traces present in the traces folder (not yet md5-checked)."""
    folder = traces_dir(root)
    return [n for n, s in CATALOGUE.items() if (folder / s.file).is_file()]


def manifest_text() -> str:
    """The ``MD5SUMS`` manifest of the catalogue (``md5  file`` lines, sorted by file)."""
    return "".join(f"{s.md5}  {s.file}\n" for s in sorted(CATALOGUE.values(), key=lambda s: s.file))


def read_manifest(path: str | os.PathLike) -> dict[str, str]:
    """``file -> md5`` from an ``MD5SUMS`` manifest (``md5sum`` output format)."""
    sums = {}
    for line in Path(path).read_text().splitlines():
        if line.strip():
            digest, _, file = line.strip().partition("  ")
            sums[file.strip()] = digest
    return sums


def download(names: list[str] | None = None, root: str | os.PathLike | None = None) -> list[Path]:
    """Fetch the missing catalogue traces from the Mahimahi repository (internet), check each md5,
    write ``MD5SUMS`` beside them, and return the verified paths."""
    folder = traces_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names or list(CATALOGUE):
        s = spec(name)
        target = folder / s.file
        if not target.is_file():
            with tempfile.TemporaryDirectory(dir=folder) as tmp:
                part = Path(tmp) / s.file
                io.download_verified(s.url, part, s.md5, error=TraceError,
                                     by_hand=f"copy {s.file} into {folder} by hand")
                os.replace(part, target)
        paths.append(verify(name, root))
    manifest = folder / MANIFEST_FILE
    if not manifest.exists():
        io.write_text(manifest, manifest_text())
    return paths


def check_all(root: str | os.PathLike | None = None, download_missing: bool = False) -> list[str]:
    """One line per catalogue trace (verified, with its length and mean rate); raises on the first
    missing or damaged one (after downloading the missing ones when ``download_missing``)."""
    if download_missing:
        download(root=root)
    lines = []
    for name in CATALOGUE:
        t = load(name, root)
        lines.append(f"{name}: md5 verified, {len(t.times_ms)} delivery opportunities over "
                     f"{t.period_ms / 1e3:.0f} s, mean {t.mean_rate_bps / 1e6:.2f} Mbit/s ({t.network})")
    return lines


__all__ = ["TraceError", "TraceSpec", "Trace", "CATALOGUE", "TRACES_FOLDER", "MANIFEST_FILE",
           "spec", "traces_dir", "parse", "verify", "load", "read_file", "available",
           "manifest_text", "read_manifest", "download", "check_all"]
