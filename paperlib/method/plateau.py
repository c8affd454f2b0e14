"""When a training curve has stopped improving (docs/decisions/defences.md §12).

A curve (one value per epoch or round, lower is better: a loss) has *plateaued* when the best value
of its last ``window`` entries improves on the best value before them by less than ``rel_tol``
of that earlier best's magnitude. A game's curve (the proactive retraining, defences.md §15) must
also not get worse: *two-sided*, every one of its last ``window`` entries stays within
``rel_tol`` above that best. A curve with at most ``window`` entries has no "before" and has not
plateaued: a budget too short to tell is reported as not converged, never as converged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

PLATEAU_WINDOW: int = 3  # entries (epochs or rounds) the last improvement is looked for in
PLATEAU_REL_TOL: float = 0.01  # an improvement below 1 % of the earlier best counts as none


def plateaued(curve: Sequence[float], window: int = PLATEAU_WINDOW,
              rel_tol: float = PLATEAU_REL_TOL, two_sided: bool = False) -> bool:
    """Whether ``curve`` (lower is better) stopped improving: min(last ``window``) >
    min(before) − ``rel_tol`` · |min(before)|. ``two_sided``: it must also not have got worse,
    every one of the last ``window`` values ≤ min(before) + ``rel_tol`` · |min(before)| (a game's
    curve, where a rising loss means the other player is winning, not that the game settled;
    defences.md §15). False for ``len(curve) <= window`` or a non-finite value in the curve."""
    if window < 1 or not rel_tol >= 0:
        raise ValueError(f"plateaued needs window >= 1 and rel_tol >= 0, got window={window}, "
                         f"rel_tol={rel_tol}")
    values = [float(v) for v in curve]
    if len(values) <= window or not all(math.isfinite(v) for v in values):
        return False
    before, last = min(values[:-window]), values[-window:]
    band = rel_tol * abs(before)
    return min(last) > before - band and (not two_sided or max(last) <= before + band)


def chunk_means(values: Sequence[float], chunks: int) -> list[float]:
    """``values`` cut into ``chunks`` consecutive equal parts (steps of one epoch or round each),
    the mean of each; a remainder joins the last part."""
    if chunks < 1 or len(values) < chunks:
        return []
    size = len(values) // chunks
    bounds = [i * size for i in range(chunks)] + [len(values)]
    return [sum(values[a:b]) / (b - a) for a, b in zip(bounds, bounds[1:])]


@dataclass
class PlateauRun:
    """What :func:`train_until_plateau` did: each curve (one value per chunk run), the chunks run,
    the budget and whether every curve reached a plateau."""

    curves: dict[str, list[float]] = field(default_factory=dict)
    chunks: int = 0
    max_chunks: int = 0
    converged: bool = False


def train_until_plateau(chunk: Callable[[int], Mapping[str, float]], max_chunks: int,
                        window: int = PLATEAU_WINDOW, rel_tol: float = PLATEAU_REL_TOL,
                        two_sided: bool = False) -> PlateauRun:
    """Train in chunks (an epoch or a round each) until every curve has plateaued, at most
    ``max_chunks`` chunks (docs/decisions/defences.md §12).

    ``chunk(i)`` trains chunk ``i`` (0, 1, …) and returns its value of each curve (lower is
    better, e.g. ``{"train_loss": mean loss of the epoch}``). Training stops after the first chunk
    at which :func:`plateaued` holds for every curve; a budget spent first gives
    ``converged=False`` (reported as "not converged")."""
    if int(max_chunks) < 1:
        raise ValueError(f"max_chunks must be at least 1 (the training budget in epochs or "
                         f"rounds), got {max_chunks}")
    run = PlateauRun(max_chunks=int(max_chunks))
    for i in range(int(max_chunks)):
        for name, value in chunk(i).items():
            run.curves.setdefault(name, []).append(float(value))
        run.chunks = i + 1
        if run.curves and all(plateaued(c, window, rel_tol, two_sided) for c in run.curves.values()):
            run.converged = True
            break
    return run


__all__ = ["PLATEAU_WINDOW", "PLATEAU_REL_TOL", "plateaued", "chunk_means", "PlateauRun",
           "train_until_plateau"]
