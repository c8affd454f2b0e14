"""The one Pareto rule of the package (docs/decisions/layout.md §4): which rows of an objective
matrix are non-dominated. Every front (the E_b sweep's privacy–energy front, NSGA-II's fronts and
hypervolumes, the defences' SSIM–energy front) is taken with :func:`pareto_mask`.

Tie rule, explicitly: every objective is minimised; row ``i`` is dominated when another row is no
worse in every objective and strictly better in at least one; of identical rows only the first
(lowest index) is kept; a row with a NaN objective is never on the front (and dominates nothing).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd


def pareto_mask(objectives: np.ndarray) -> np.ndarray:
    """True for the non-dominated rows of ``objectives`` (shape ``(n, k)``, all minimised), under
    the module's tie rule: identical rows kept once (the first), rows with NaN dropped."""
    F = np.asarray(objectives, dtype=float)
    if F.ndim != 2:
        raise ValueError(f"pareto_mask: objectives must be a 2-d (points × objectives) array, "
                         f"got shape {F.shape}; stack the objective columns first")
    finite = ~np.isnan(F).any(axis=1)
    keep = finite.copy()
    for i in np.flatnonzero(finite):
        others = F[finite]
        no_worse = (others <= F[i]).all(axis=1)
        better = (others < F[i]).any(axis=1)
        if (no_worse & better).any():
            keep[i] = False
            continue
        same = np.flatnonzero(finite)[(F[finite] == F[i]).all(axis=1)]
        keep[i] = same[0] == i
    return keep


def frame_pareto_mask(df: pd.DataFrame, minimise: Sequence[str] = (),
                      maximise: Sequence[str] = ()) -> np.ndarray:
    """:func:`pareto_mask` over the columns of ``df``: those of ``minimise`` lower is better, those
    of ``maximise`` higher is better."""
    missing = [c for c in (*minimise, *maximise) if c not in df]
    if missing:
        raise KeyError(f"frame_pareto_mask: columns {missing} not in the frame (it has {list(df.columns)})")
    cols = [df[c].to_numpy(float) for c in minimise] + [-df[c].to_numpy(float) for c in maximise]
    return pareto_mask(np.stack(cols, axis=1) if cols else np.zeros((len(df), 0)))


__all__ = ["pareto_mask", "frame_pareto_mask"]
