"""Whether a number written in prose comes from a table: the one matching rule that the README's
generated blocks and the notebooks' findings are both checked with (docs/decisions/reporting.md
§9, §10).

A written number is *found* when some value of the cited tables rounds to it at its written
decimals, after its unit's scale (:data:`paperlib.studies.numbers.UNIT_SCALES`). A number that is
not a result is *exempt* only by a rule of :func:`exempt_spans`, never silently: citations and code,
the bounds E_b and ε_b, seed counts, and the paper's own values (from
:mod:`paperlib.method.constants`) written in a clause that names the paper.
"""

from __future__ import annotations

import itertools
import re
from typing import Iterable, Iterator

import pandas as pd

from ..method import constants
from .numbers import UNIT_SCALES

# text that holds digits but no measured number: citations, code, years of references
NOT_DATA = re.compile(r"`[^`]*`|\b(?:Eqs?|Tables?|Figs?|Algorithm|Alg|[Nn]otebooks?)\.? ?\d+"
                      r"(?:(?:[–-]| and )\d+(?![.,]\d))*"
                      r"|et al\.,? \d{4}|§ ?\d+")
NUMBER = re.compile(r"(?:(?<![\w.])([+−-])|(?<![\w.+−-]))(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?![\w.]\d)"
                    r"(?:\s?(%|pp|µJ|mJ|min|s(?!\.e\.)|h)(?!\w))?")
# settings, not results: the bounds a run is given, how many seeds it repeats and the
# confidence level of an interval ("95 % bootstrap interval")
SETTING = re.compile(r"(?:E_b|ε_b)\s*=\s*[\d.]+(?:\s?(?:mJ|%))?|\b\d+ seeds?\b|\bseed \d+"
                     r"|\b\d{2} ?% (?:bootstrap )?interval")
# a clause that names the paper: from "paper" to the next clause boundary
PAPER_CLAUSE = re.compile(r"\bpaper\b[^;()\n—]*", re.I)


def _numbers_in(value: object) -> Iterator[float]:
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        yield float(value)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _numbers_in(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _numbers_in(v)


def paper_values() -> list[float]:
    """Every number of :mod:`paperlib.method.constants` (the paper's values and settings)."""
    return [v for name in dir(constants) if name.isupper()
            for v in _numbers_in(getattr(constants, name))]


def table_values(df: pd.DataFrame) -> tuple[list[float], list[float]]:
    """The values a written number may come from: the cells (and numbers inside text cells),
    means by each text column, counts of rows and of distinct values; and differences within a
    column (for a signed number or percentage points)."""
    values: list[float] = [float(len(df))]
    diffs: list[float] = []
    num = df.select_dtypes("number")
    texts = [c for c in df.columns if c not in num.columns]
    for c in num.columns:
        col = num[c].dropna().astype(float)
        values += col.tolist() + [col.mean()] if len(col) else []
        diffs += [a - b for a, b in itertools.permutations(col.unique().tolist(), 2)]
    for c in df.columns:
        values.append(float(df[c].nunique()))
    for c in texts:
        for cell in df[c].dropna().astype(str):
            values += [float(x) for x in re.findall(r"\d+(?:\.\d+)?", cell)]
        if len(num.columns):
            values += num.groupby(df[c]).mean().to_numpy().ravel().tolist()
    return values, diffs


def written(value: float, decimals: int) -> str:
    """``value`` at ``decimals`` decimals, with no negative zero."""
    text = f"{value:.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def found(number: float, decimals: int, unit: str, signed: bool,
          values: list[float], diffs: list[float]) -> bool:
    """Whether a number written with ``decimals`` decimals and ``unit`` rounds from a value of
    the pool (differences for a signed number or percentage points, cells otherwise)."""
    pool = diffs if (signed or unit == "pp") else values
    target = written(number, decimals)
    return any(v == v and written(v * scale, decimals) == target
               for scale in UNIT_SCALES.get(unit, (1.0,)) for v in pool)


def _parse(m: re.Match) -> tuple[float, int, str, bool]:
    sign, whole, frac, unit = m[1] or "", m[2], m[3] or "", m[4] or ""
    value = float(("-" if sign in "−-" and sign else "") + whole.replace(",", "") + frac)
    return value, len(frac) - 1 if frac else 0, unit, sign == "+"


def exempt_spans(text: str) -> list[tuple[int, int]]:
    """Where ``text`` holds numbers that are not results (docs/decisions/reporting.md §10):
    citations and code, the bounds E_b and ε_b and seed counts, and a number equal (at its written
    rounding and unit) to one of :func:`paper_values` inside a clause that names the paper."""
    spans = [m.span() for m in NOT_DATA.finditer(text)]
    spans += [m.span() for m in SETTING.finditer(text)]
    paper = paper_values()
    for clause in PAPER_CLAUSE.finditer(text):
        for m in NUMBER.finditer(clause[0]):
            value, decimals, unit, _ = _parse(m)
            if found(abs(value), decimals, unit, False, paper, []):
                start = clause.start() + m.start()
                spans.append((start, start + len(m[0])))
    return spans


def unsourced_numbers(text: str, tables: Iterable[pd.DataFrame]) -> list[str]:
    """Every number of ``text`` that is not exempt and not found, at its rounding and unit, in
    one of ``tables``."""
    values: list[float] = []
    diffs: list[float] = []
    for df in tables:
        v, d = table_values(df)
        values += v
        diffs += d
    spans = exempt_spans(text)
    missing = []
    for m in NUMBER.finditer(text):
        if any(a <= m.start() < b for a, b in spans):
            continue
        value, decimals, unit, signed = _parse(m)
        if not found(value, decimals, unit, signed, values, diffs):
            missing.append(m[0].strip())
    return missing


__all__ = ["NOT_DATA", "NUMBER", "SETTING", "PAPER_CLAUSE", "paper_values", "table_values",
           "written", "found", "exempt_spans", "unsourced_numbers"]
