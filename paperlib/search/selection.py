"""How Algorithm 1's tournament ranks the members of a sample (docs/decisions/paper-method.md §8).

* ``"fitness"`` (the paper): by Eq. 11's fitness.
* ``"feasibility"`` (an option): a feasible member beats an infeasible one; two feasible members
  are ranked by fitness, two infeasible ones by their total violation (the smaller the better),
  ``max(0, E/E_b − 1) + max(0, ε/ε_b − 1)``. Far from feasibility Eq. 12's punishment makes every
  fitness about 0, so fitness alone cannot say which infeasible member is closer; the violation can.

Ties go to the member listed first in the draw, as ``numpy.argmax``/``argmin`` do.
"""

from __future__ import annotations

from typing import Callable, Sequence

from .evaluator import BoundsCheck, Evaluation, Objective
from .fitness import over

Rank = tuple[float, ...]


def violation(ev: Evaluation | BoundsCheck, objective: Objective) -> float:
    """Total relative violation of the two bounds of Eq. 4 (0 for a feasible strategy)."""
    energy = objective.energy(ev.energy, ev.energy_no_tx)
    return excess(energy, objective.energy_bound) + excess(ev.eps, objective.accuracy_bound)


def excess(value: float, bound: float) -> float:
    """``value / bound − 1`` when ``value`` is over ``bound`` (:func:`.fitness.over`), else 0."""
    return value / bound - 1.0 if over(value, bound) else 0.0


def ranker(rule: str, objective: Objective) -> Callable[[Evaluation], Rank]:
    """The rank of a scored member under ``rule`` (larger is better)."""
    if rule == "fitness":
        return lambda ev: (ev.fitness,)
    if rule == "feasibility":
        return lambda ev: ((1.0, ev.fitness) if ev.feasible
                           else (0.0, -violation(ev, objective)))
    raise ValueError(f"selection = {rule!r} is not a valid choice; choose fitness or feasibility")


def first_best(ranks: Sequence[Rank]) -> int:
    """Index of the largest rank (ties: the first)."""
    best = 0
    for i, r in enumerate(ranks):
        if r > ranks[best]:
            best = i
    return best


def first_worst(ranks: Sequence[Rank]) -> int:
    """Index of the smallest rank (ties: the first)."""
    worst = 0
    for i, r in enumerate(ranks):
        if r < ranks[worst]:
            worst = i
    return worst


__all__ = ["violation", "ranker", "first_best", "first_worst"]
