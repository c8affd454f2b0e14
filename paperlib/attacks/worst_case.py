"""The strongest attack is the measure: the worst case over the attacks (docs/decisions/attacks.md §10).

For every IR (a strategy or a defended split) the worst case of a leakage metric is its *highest*
value over the attacks run on it (rMLE, inverse network, query-free shadow, …): the most an
adversary of any of those threat models recovers. SSIM and PSNR are taken separately, so the two
worst cases may come from different attacks. An attack that produced no number (NaN) does not
count; with no number at all the worst case is NaN.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

LEAK_METRICS: tuple[str, ...] = ("ssim", "psnr")  # higher = more recovered, for both
WORST = "worst"  # the column suffix (``ssim_worst``) and the attack name of a worst-case row


def worst_case(scores: Mapping[str, float]) -> float:
    """The highest finite value of ``scores`` (attack name → SSIM or PSNR); NaN if none."""
    finite = [float(v) for v in scores.values() if v is not None and math.isfinite(float(v))]
    return max(finite) if finite else float("nan")


def worst_attack(scores: Mapping[str, float]) -> str:
    """The attack that reaches :func:`worst_case` (the first one on a tie); ``""`` if none."""
    best = worst_case(scores)
    return next((a for a, v in scores.items() if v is not None and float(v) == best), "")


def spread_of_worst(rows: pd.DataFrame, worst: str, spread: str = "ssim_sd",
                    attack: str = "attack") -> float:
    """The ``spread`` (e.g. the SSIM's sd over the images) of attack ``worst`` among ``rows`` (one
    IR's rows, one per attack): what the worst case's standard error is computed from. NaN when
    that attack has no row or none is named."""
    hit = rows.loc[rows[attack] == worst, spread] if worst else rows.iloc[:0][spread]
    return float(hit.iloc[0]) if len(hit) else float("nan")


def column(metric: str, attack: str) -> str:
    """The wide table's column of one attack's metric: ``ssim_rmle``; ``ssim_worst`` for the worst case."""
    return f"{metric}_{attack}"


def add_worst_case(wide: pd.DataFrame, attacks: Sequence[str],
                   metrics: Sequence[str] = LEAK_METRICS) -> pd.DataFrame:
    """A copy of ``wide`` (one row per IR, a column ``<metric>_<attack>`` per attack) with, for each
    metric, ``<metric>_worst`` (the row's highest value over ``attacks``, NaN ignored) and
    ``<metric>_worst_attack`` (which attack reached it)."""
    out = wide.copy()
    for m in metrics:
        cols = [column(m, a) for a in attacks]
        missing = [c for c in cols if c not in out]
        if missing:
            raise ValueError(f"add_worst_case: the table has no column {', '.join(missing)}; "
                             f"pass the attacks it holds (its columns: {', '.join(map(str, out.columns))})")
        values = out[cols].to_numpy(float) if cols else np.empty((len(out), 0))
        any_finite = np.isfinite(values).any(axis=1) if cols else np.zeros(len(out), bool)
        safe = np.where(np.isfinite(values), values, -np.inf)
        out[column(m, WORST)] = np.where(any_finite, safe.max(axis=1) if cols else np.nan, np.nan)
        idx = safe.argmax(axis=1) if cols else np.zeros(len(out), int)
        out[f"{column(m, WORST)}_attack"] = [attacks[i] if ok else "" for i, ok in zip(idx, any_finite)]
    return out


def worst_case_table(long: pd.DataFrame, by: Sequence[str] = ("model", "p", "tag"),
                     metrics: Sequence[str] = LEAK_METRICS, attack: str = "attack") -> pd.DataFrame:
    """One row per group of ``by`` from a table of one row per attack (``attack`` names the
    column): each attack's metrics side by side (``ssim_rmle``, ``psnr_rmle``, …) and the worst
    case beside them (:func:`add_worst_case`). Attacks keep their order of first appearance."""
    by = list(by)
    missing = [c for c in [*by, attack, *metrics] if c not in long]
    if missing:
        raise ValueError(f"worst_case_table: the table has no column {', '.join(missing)}")
    attacks = list(dict.fromkeys(long[attack]))
    wide = long.pivot_table(index=by, columns=attack, values=list(metrics), aggfunc="first",
                            dropna=False, sort=False)
    # dropna=False keeps an attack whose metric is NaN, but also every combination of the ``by``
    # values; keep the groups the table has, in their order of first appearance
    wide = wide.reindex(pd.MultiIndex.from_frame(long[by].drop_duplicates()) if len(by) > 1
                        else pd.Index(long[by[0]].drop_duplicates(), name=by[0]))
    wide.columns = [column(m, a) for m, a in wide.columns]
    wide = wide.reindex(columns=[column(m, a) for a in attacks for m in metrics])
    return add_worst_case(wide.reset_index(), attacks, metrics)


__all__ = ["LEAK_METRICS", "WORST", "worst_case", "worst_attack", "spread_of_worst", "column", "add_worst_case",
           "worst_case_table"]
