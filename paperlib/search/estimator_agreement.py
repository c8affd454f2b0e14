"""Does the search's cheap ε estimator agree with the paper's ε? (docs/decisions/paper-method.md §9)

On at least ``MIN_STRATEGIES`` strategies per model, both are measured; the table gives Spearman's
ρ between them (does the estimator rank strategies as the paper's ε does?) and the bias, the mean
of estimator − paper (does it over- or under-state the loss?), with the mean absolute error.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MIN_STRATEGIES = 50


def spearman(a, b) -> float:
    """Spearman's ρ: Pearson's correlation of the average ranks (NaN when either is constant)."""
    ra = pd.Series(np.asarray(a, dtype=float)).rank().to_numpy()
    rb = pd.Series(np.asarray(b, dtype=float)).rank().to_numpy()
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def agreement_table(points: pd.DataFrame, *, estimate: str = "eps_estimator",
                    paper: str = "eps_paper", min_strategies: int = MIN_STRATEGIES) -> pd.DataFrame:
    """One row per model of ``points`` (columns ``model``, ``estimate``, ``paper``): strategies,
    Spearman ρ, bias (mean estimate − paper) and mean absolute error. A model with fewer than
    ``min_strategies`` strategies is refused, naming it."""
    missing = {"model", estimate, paper} - set(points.columns)
    if missing:
        raise ValueError(f"points lacks the column(s) {', '.join(sorted(missing))}; it needs "
                         f"model, {estimate} and {paper}")
    rows = []
    for model, g in points.groupby("model", sort=False):
        if len(g) < min_strategies:
            raise ValueError(f"model {model!r} has {len(g)} strategies, fewer than the "
                             f"{min_strategies} the agreement table needs; score more strategies")
        diff = g[estimate].to_numpy(float) - g[paper].to_numpy(float)
        rows.append({"model": model, "strategies": len(g), "spearman_rho": spearman(g[estimate], g[paper]),
                     "bias": float(diff.mean()), "mae": float(np.abs(diff).mean())})
    return pd.DataFrame(rows, columns=["model", "strategies", "spearman_rho", "bias", "mae"])


__all__ = ["agreement_table", "spearman", "MIN_STRATEGIES"]
