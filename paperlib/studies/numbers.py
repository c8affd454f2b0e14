"""How a number is written in generated prose: the units and rounding rules, in one place
(docs/decisions/reporting.md §9).

* A share (hit rate, top-1) is a fraction in the tables; in prose it is ``9.1 %``.
* A difference of two shares is in percentage points, ``+12.5 pp``, never ``+12.5 %``.
* An energy in mJ keeps four decimals; below 0.1 mJ it is written in µJ with one decimal.
* A metric (P, SSIM, ρ, fitness, hypervolume) keeps :data:`METRIC_DECIMALS` decimals, or the
  number the caller asks for; a negative number takes the minus sign ``−``.
* A duration stored in hours is written in seconds below one hour, in hours above.

:data:`UNIT_SCALES` tells a checker how a written number relates to the table cell it came from
(``app/readme.py`` reads it): the same rules, read backwards.
"""

from __future__ import annotations

import math

METRIC_DECIMALS = 3
ENERGY_MJ_DECIMALS = 4
MICROJOULE_BELOW_MJ = 0.1
MINUS = "−"

# unit written after a number -> the factors from a table cell to the written number
UNIT_SCALES: dict[str, tuple[float, ...]] = {
    "%": (100.0,), "pp": (100.0,), "µJ": (1000.0,), "mJ": (1.0,), "s": (1.0, 3600.0),
    "min": (1.0, 60.0), "h": (1.0,), "": (1.0,),
}


def _signed(text: str, value: float, sign: bool) -> str:
    if value < 0:
        return MINUS + text.lstrip("-")
    return ("+" if sign else "") + text


def metric(value: float, decimals: int = METRIC_DECIMALS, *, sign: bool = False) -> str:
    """A dimensionless metric: ``0.802``, ``−0.98``."""
    return _signed(f"{value:.{decimals}f}", value, sign)


def share(value: float, decimals: int = 1) -> str:
    """A fraction written as a percentage: ``0.090625`` -> ``9.1 %``."""
    return f"{100 * value:.{decimals}f} %"


def points(delta: float, decimals: int = 1) -> str:
    """A difference of two fractions in percentage points: ``0.125`` -> ``+12.5 pp``."""
    return _signed(f"{100 * delta:.{decimals}f}", delta, True) + " pp"


def energy(mj: float) -> str:
    """An energy given in mJ: ``0.3278 mJ``, or ``16.8 µJ`` below :data:`MICROJOULE_BELOW_MJ`."""
    if abs(mj) < MICROJOULE_BELOW_MJ:
        return f"{1000 * mj:.1f} µJ"
    return f"{mj:.{ENERGY_MJ_DECIMALS}f} mJ"


def duration(hours: float) -> str:
    """A duration stored in hours: ``1,048 s`` below an hour, ``3.4 h`` above."""
    if hours < 1:
        return f"{3600 * hours:,.0f} s"
    return f"{hours:.1f} h"


def count(value: float) -> str:
    """A whole number, or "none" for a missing one."""
    return "none" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else f"{int(value):,}"


__all__ = ["METRIC_DECIMALS", "ENERGY_MJ_DECIMALS", "MICROJOULE_BELOW_MJ", "MINUS", "UNIT_SCALES",
           "metric", "share", "points", "energy", "duration", "count"]
