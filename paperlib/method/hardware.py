"""Hardware descriptions: the energy of one k-bit MAC and one k-bit memory access, as data.

The analytic energy model (Eq. 7-9, :mod:`paperlib.method.energy`) needs ``E_MAC|k`` and ``E_mem|k``
(Eq. 8). A :class:`Hardware` gives them; it is read from a TOML file::

    name = "my_device"
    source = "where the numbers come from"
    [mac.multiply]                     # E_MAC|k = multiply(k) + add(k)
    pj = [[8, 0.2], [32, 3.1]]         # [bit width, pJ] points
    scaling = "power"                  # constant | proportional | linear | power
    [mac.add]
    pj = [[32, 0.1]]
    scaling = "constant"
    [memory]                           # E_mem|k
    pj = [[1, 2.5]]
    scaling = "proportional"
    [transmission]                     # optional: E_tran of Eq. 9 (default: the paper's)
    pj_per_bit = 100.0

Shipped descriptions (:data:`HARDWARE`): ``table3``, the paper's Table 3 and the default, and
``horowitz2014``, Horowitz's 45 nm energies per operation and per access (ISSCC 2014). The
description in use is, in order: the ``hardware=`` argument of an energy function, the one set
with :func:`use`, ``$PAPERLIB_HARDWARE`` (a name or a file; the CLI's ``--hardware`` sets it), or
``table3``. Scaling rules and choices: docs/decisions/graph-and-hardware.md §5-§7.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import sys
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, Union

import numpy as np

from ..infra import config
from ..infra.registry import Registry

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

TABLES_DIR = Path(__file__).resolve().parent / "hardware_tables"
DEFAULT_HARDWARE = config.DEFAULT_HARDWARE  # the paper's Table 3
MAX_BITS = 32  # the widest bit width a policy may name (32 = full precision)
SCALINGS = {
    "constant": "E(k) = pJ of the single point",
    "proportional": "E(k) = pJ * k / bits of the single point",
    "linear": "piecewise linear in k through >= 2 points, extended linearly beyond them",
    "power": "piecewise linear in log k / log E through >= 2 points (a power law), extended",
}

# Every shipped description, by name: the TOML file it is read from. Register another with
# ``HARDWARE.add("my_device", Path("my_device.toml"), label="...")``.
HARDWARE: Registry = Registry("hardware description")
HARDWARE.add("table3", TABLES_DIR / "table3.toml", label="Table 3 (Guo et al. 2023, 45 nm)")
HARDWARE.add("horowitz2014", TABLES_DIR / "horowitz2014_45nm.toml",
             label="Horowitz, ISSCC 2014 (45 nm, 1 MB SRAM)")


class HardwareError(ValueError):
    """A hardware description is missing a field or holds an invalid one (the message names it)."""


@dataclass(frozen=True)
class Curve:
    """Energy in pJ of one operation as a function of the bit width ``k`` (docs/decisions/
    graph-and-hardware.md §5): ``points`` are ``(bits, pJ)`` pairs, ``scaling`` one of
    :data:`SCALINGS`."""

    points: tuple[tuple[float, float], ...]
    scaling: str

    def __call__(self, k: float) -> float:
        pts = self.points
        if self.scaling == "constant":
            return pts[0][1]
        if self.scaling == "proportional":
            return pts[0][1] / pts[0][0] * k  # slope first: Table 3's (3.1 / 32) k, bit for bit
        power = self.scaling == "power"
        xs = [math.log(b) if power else b for b, _ in pts]
        ys = [math.log(e) if power else e for _, e in pts]
        x = math.log(k) if power else k
        i = min(max(np.searchsorted(xs, x) - 1, 0), len(xs) - 2)  # segment (extended at the ends)
        y = ys[i] + (ys[i + 1] - ys[i]) * (x - xs[i]) / (xs[i + 1] - xs[i])
        return math.exp(y) if power else y


@dataclass(frozen=True)
class Hardware:
    """``E_MAC|k = multiply(k) + add(k)`` and ``E_mem|k = memory(k)`` in pJ (Eq. 8), and optionally
    the radio's ``E_tran`` in pJ/bit (Eq. 9; None: the paper's)."""

    name: str
    label: str
    source: str
    multiply: Curve
    add: Curve
    memory: Curve
    e_tran_pj_per_bit: float | None = None
    origin: str = ""  # the file it was read from

    def e_mac_pj(self, k: float) -> float:
        """Energy of one k-bit multiply-accumulate, pJ."""
        return self.multiply(k) + self.add(k)

    def e_mem_pj(self, k: float) -> float:
        """Energy of one k-bit memory access, pJ."""
        return self.memory(k)

    def mac_table(self) -> np.ndarray:
        """``E_MAC|k`` for k = 0..32 (index = bit width; entry 0 unused), for vectorised lookups."""
        return _table(self, "mac")

    def mem_table(self) -> np.ndarray:
        """``E_mem|k`` for k = 0..32 (index = bit width; entry 0 unused)."""
        return _table(self, "mem")

    @property
    def digest(self) -> str:
        """A short hash of the numbers (not the wording): equal numbers, equal digest."""
        numbers = [self.multiply, self.add, self.memory, self.e_tran_pj_per_bit]
        text = json.dumps([repr(n) for n in numbers])
        return hashlib.sha256(text.encode()).hexdigest()[:10]

    @property
    def tag(self) -> str:
        """``""`` for the default description, else ``<name>-<digest>`` (for folder names)."""
        return "" if self.digest == default().digest else f"{self.name}-{self.digest}"

    def with_transmission(self, pj_per_bit: float) -> "Hardware":
        """This description with another radio energy per bit."""
        return replace(self, e_tran_pj_per_bit=_non_negative(pj_per_bit, "transmission.pj_per_bit",
                                                              self.origin))

    def describe(self) -> dict[str, Any]:
        """The numbers at the paper's bit widths, for tables and notebooks."""
        bits = (2, 4, 6, 8, 16, 32)
        return {"name": self.name, "label": self.label, "source": self.source,
                **{f"E_MAC|{k} pJ": self.e_mac_pj(k) for k in bits},
                **{f"E_mem|{k} pJ": self.e_mem_pj(k) for k in bits},
                "E_tran pJ/bit": self.e_tran_pj_per_bit}


@lru_cache(maxsize=64)
def _table(hw: Hardware, which: str) -> np.ndarray:
    f = hw.e_mac_pj if which == "mac" else hw.e_mem_pj
    table = np.array([0.0] + [f(k) for k in range(1, MAX_BITS + 1)])
    table.setflags(write=False)
    return table


# --- reading and validating ----------------------------------------------------------------------

def _where(origin: str) -> str:
    return f"hardware description {origin}" if origin else "hardware description"


def _non_negative(value: Any, field: str, origin: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise HardwareError(f"{_where(origin)}: field {field!r} must be a number, got {value!r}")
    if value < 0:
        raise HardwareError(f"{_where(origin)}: field {field!r} is negative ({value}); energies "
                            "are >= 0 pJ")
    return float(value)


def _table_field(d: dict, key: str, field: str, origin: str) -> dict:
    if key not in d:
        raise HardwareError(f"{_where(origin)}: field {field!r} is missing (see "
                            "paperlib/method/hardware_tables/table3.toml for a complete description)")
    value = d[key]
    if not isinstance(value, dict):
        raise HardwareError(f"{_where(origin)}: field {field!r} must be a table, got {value!r}")
    return value


def _check_keys(d: dict, allowed: set[str], field: str, origin: str) -> None:
    unknown = sorted(set(d) - allowed)
    if unknown:
        where = f" in {field!r}" if field else ""
        raise HardwareError(f"{_where(origin)}: unknown field(s) {', '.join(map(repr, unknown))}"
                            f"{where}; allowed: {', '.join(sorted(allowed))}")


def _curve(d: dict, field: str, origin: str) -> Curve:
    _check_keys(d, {"pj", "scaling"}, field, origin)
    for key in ("pj", "scaling"):
        if key not in d:
            raise HardwareError(f"{_where(origin)}: field {field + '.' + key!r} is missing")
    scaling = d["scaling"]
    if scaling not in SCALINGS:
        raise HardwareError(f"{_where(origin)}: field {field + '.scaling'!r} is {scaling!r}; "
                            f"choose one of {', '.join(SCALINGS)}")
    raw = d["pj"]
    if not isinstance(raw, list) or not raw:
        raise HardwareError(f"{_where(origin)}: field {field + '.pj'!r} must be a list of "
                            f"[bits, pJ] pairs, got {raw!r}")
    points = []
    for i, pair in enumerate(raw):
        name = f"{field}.pj[{i}]"
        if not isinstance(pair, list) or len(pair) != 2:
            raise HardwareError(f"{_where(origin)}: field {name!r} must be a [bits, pJ] pair, "
                                f"got {pair!r}")
        bits = _non_negative(pair[0], name + " (bits)", origin)
        pj = _non_negative(pair[1], name + " (pJ)", origin)
        if bits == 0:
            raise HardwareError(f"{_where(origin)}: field {name!r} has bit width 0")
        points.append((bits, pj))
    single = scaling in ("constant", "proportional")
    if single and len(points) != 1:
        raise HardwareError(f"{_where(origin)}: field {field!r}: scaling {scaling!r} takes exactly "
                            f"one [bits, pJ] point, got {len(points)}")
    if not single:
        if len(points) < 2:
            raise HardwareError(f"{_where(origin)}: field {field!r}: scaling {scaling!r} needs at "
                                "least two [bits, pJ] points")
        if any(b2 <= b1 for (b1, _), (b2, _) in zip(points, points[1:])):
            raise HardwareError(f"{_where(origin)}: field {field + '.pj'!r}: bit widths must "
                                "increase strictly")
        if scaling == "power" and any(pj == 0 for _, pj in points):
            raise HardwareError(f"{_where(origin)}: field {field + '.pj'!r}: a power law needs "
                                "energies > 0")
    curve = Curve(tuple(points), scaling)
    for k in range(1, MAX_BITS + 1):
        if curve(k) < 0:
            raise HardwareError(f"{_where(origin)}: field {field!r} extends to a negative energy "
                                f"at {k} bits ({curve(k):.4g} pJ); add a point at low bit widths "
                                "or use scaling = \"power\"")
    return curve


def _check_positive(curve: Curve, field: str, origin: str) -> None:
    """A memory access costs energy: ``curve`` > 0 pJ at every bit width 1..32 (a 0 would make
    every weight and activation free to read, docs/decisions/graph-and-hardware.md §11)."""
    for k in range(1, MAX_BITS + 1):
        if curve(k) <= 0:
            raise HardwareError(f"{_where(origin)}: field {field!r} gives {curve(k):.4g} pJ at "
                                f"{k} bits; a memory access costs energy: give every point "
                                "an energy > 0 pJ")


def from_dict(d: dict, origin: str = "") -> Hardware:
    """A validated :class:`Hardware` from the TOML layout (module docstring); every missing,
    negative or unknown field is refused with an error that names it."""
    if not isinstance(d, dict):
        raise HardwareError(f"{_where(origin)} must be a table, got {type(d).__name__}")
    _check_keys(d, {"name", "label", "source", "mac", "memory", "transmission"}, "", origin)
    for key in ("name", "source"):
        if key not in d:
            raise HardwareError(f"{_where(origin)}: field {key!r} is missing")
        if not isinstance(d[key], str) or not d[key].strip():
            raise HardwareError(f"{_where(origin)}: field {key!r} must be a non-empty string")
    mac = _table_field(d, "mac", "mac", origin)
    _check_keys(mac, {"multiply", "add"}, "mac", origin)
    multiply = _curve(_table_field(mac, "multiply", "mac.multiply", origin), "mac.multiply", origin)
    add = _curve(_table_field(mac, "add", "mac.add", origin), "mac.add", origin)
    memory = _curve(_table_field(d, "memory", "memory", origin), "memory", origin)
    _check_positive(memory, "memory.pj", origin)
    e_tran = None
    if "transmission" in d:
        tx = _table_field(d, "transmission", "transmission", origin)
        _check_keys(tx, {"pj_per_bit", "source"}, "transmission", origin)
        if "pj_per_bit" not in tx:
            raise HardwareError(f"{_where(origin)}: field 'transmission.pj_per_bit' is missing")
        e_tran = _non_negative(tx["pj_per_bit"], "transmission.pj_per_bit", origin)
    return Hardware(name=d["name"].strip(), label=str(d.get("label") or d["name"]).strip(),
                    source=d["source"].strip(), multiply=multiply, add=add, memory=memory,
                    e_tran_pj_per_bit=e_tran, origin=origin)


@lru_cache(maxsize=32)
def _read(path: str, mtime_ns: int) -> Hardware:
    try:
        with open(path, "rb") as f:
            d = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise HardwareError(f"hardware description {path} is not valid TOML: {exc}") from None
    return from_dict(d, origin=path)


def from_toml(path: str | os.PathLike) -> Hardware:
    """Read and validate a hardware description file."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise HardwareError(f"hardware description {p} does not exist; pass a TOML file or one of "
                            f"{', '.join(HARDWARE)}")
    return _read(str(p.resolve()), p.stat().st_mtime_ns)


HardwareSpec = Union[Hardware, str, os.PathLike, None]
_OVERRIDE: list[Hardware] = []
_FROM_ENV: dict[str, Hardware] = {}  # $PAPERLIB_HARDWARE -> its description (read once)


def load(spec: HardwareSpec = None) -> Hardware:
    """``spec`` as a :class:`Hardware`: itself, a shipped name (:data:`HARDWARE`), a TOML file,
    or None for the description in use (:func:`current`)."""
    if spec is None:
        return current()
    if isinstance(spec, Hardware):
        return spec
    text = os.fspath(spec)
    if isinstance(text, str) and text in HARDWARE:
        return from_toml(HARDWARE.get(text))
    if str(text).endswith(".toml") or Path(text).exists():
        return from_toml(text)
    raise HardwareError(f"unknown hardware description {text!r}: not a shipped one "
                        f"({', '.join(HARDWARE)}) and not a .toml file")


def current() -> Hardware:
    """The description in use: the innermost :func:`use`, else ``$PAPERLIB_HARDWARE``, else
    ``table3``."""
    if _OVERRIDE:
        return _OVERRIDE[-1]
    spec = config.hardware_spec() or DEFAULT_HARDWARE
    if spec not in _FROM_ENV:
        _FROM_ENV[spec] = load(spec)
    return _FROM_ENV[spec]


@contextlib.contextmanager
def use(spec: HardwareSpec) -> Iterator[Hardware]:
    """Within the ``with`` block every energy number, search and figure uses ``spec``."""
    hw = load(spec) if spec is not None else load(DEFAULT_HARDWARE)
    _OVERRIDE.append(hw)
    try:
        yield hw
    finally:
        _OVERRIDE.pop()


def default() -> Hardware:
    """The paper's Table 3."""
    return load(DEFAULT_HARDWARE)


__all__ = ["Curve", "Hardware", "HardwareError", "HARDWARE", "SCALINGS", "current", "default",
           "from_dict", "from_toml", "load", "use"]
