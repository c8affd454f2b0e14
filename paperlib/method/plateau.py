"""When a training curve has stopped improving (docs/decisions/defences.md §12).

A curve (one value per epoch or round, lower is better: a loss) has *plateaued* when the best value
of its last ``window`` entries improves on the best value before them by less than ``rel_tol``
of that earlier best's magnitude. A curve with at most ``window`` entries has no "before" and has
not plateaued: a budget too short to tell is reported as not converged, never as converged.
"""

from __future__ import annotations

import math
from typing import Sequence

PLATEAU_WINDOW: int = 3  # entries (epochs or rounds) the last improvement is looked for in
PLATEAU_REL_TOL: float = 0.01  # an improvement below 1 % of the earlier best counts as none


def plateaued(curve: Sequence[float], window: int = PLATEAU_WINDOW,
              rel_tol: float = PLATEAU_REL_TOL) -> bool:
    """Whether ``curve`` (lower is better) stopped improving: min(last ``window``) >
    min(before) − ``rel_tol`` · |min(before)|. False for ``len(curve) <= window`` or a non-finite
    value in the curve."""
    if window < 1 or not rel_tol >= 0:
        raise ValueError(f"plateaued needs window >= 1 and rel_tol >= 0, got window={window}, "
                         f"rel_tol={rel_tol}")
    values = [float(v) for v in curve]
    if len(values) <= window or not all(math.isfinite(v) for v in values):
        return False
    before, last = min(values[:-window]), min(values[-window:])
    return last > before - rel_tol * abs(before)


def chunk_means(values: Sequence[float], chunks: int) -> list[float]:
    """``values`` cut into ``chunks`` consecutive equal parts (steps of one epoch or round each),
    the mean of each; a remainder joins the last part."""
    if chunks < 1 or len(values) < chunks:
        return []
    size = len(values) // chunks
    bounds = [i * size for i in range(chunks)] + [len(values)]
    return [sum(values[a:b]) / (b - a) for a, b in zip(bounds, bounds[1:])]


__all__ = ["PLATEAU_WINDOW", "PLATEAU_REL_TOL", "plateaued", "chunk_means"]
