"""The default search's repair of an infeasible child (docs/decisions/paper-method.md §8).

One repair step changes one thing, towards the constraint the child breaks:

* over the energy bound E_b: lower ``p`` by one (fewer layers on the edge cost less energy);
* over the accuracy-loss bound ε_b: raise the bits of the edge layer that costs the most accuracy,
  taken as the one with the fewest weight bits (ties: the shallowest, whose error every later layer
  carries) to the next width of the grid; when every edge layer is already at the widest width,
  lower ``p`` instead.

A repair step is deterministic (it draws no random number). The chain is judged by the bounds
alone (:meth:`Evaluator.bounds`: the analytic energy and the search estimator's ε), before any P is
measured, so repairing costs no privacy measurement, the expensive part of a score: the search
stops at the first strategy within both bounds, or after ``repair_steps`` steps at the least
violating one of the chain (ties: the earliest), and only that strategy is scored.
"""

from __future__ import annotations

from ..method.genome import FP_PAIR, Genome, GenomeSpace
from .evaluator import BoundsCheck, Evaluation, Evaluator, Objective
from .fitness import over
from .selection import violation


def _lower_p(genome: Genome) -> Genome | None:
    return Genome(genome.p - 1, genome.bits) if genome.p > 0 else None


def _raise_costliest_layer(genome: Genome, space: GenomeSpace) -> Genome | None:
    widths = sorted(space.weight_bits)
    quantized = [i for i in space.edge_range(genome.p)
                 if genome.bits[i] != FP_PAIR and genome.bits[i][0] < widths[-1]]
    if not quantized:
        return None
    layer = min(quantized, key=lambda i: (genome.bits[i][0], i))
    w, a = genome.bits[layer]
    wider = next(b for b in widths if b > w)
    bits = list(genome.bits)
    bits[layer] = (wider, a)
    return Genome(genome.p, tuple(bits))


def repair_step(genome: Genome, evaluation: Evaluation | BoundsCheck, space: GenomeSpace,
                objective: Objective) -> Genome | None:
    """One repair step of an infeasible ``genome`` whose bounds are ``evaluation`` (module
    docstring); None when it is feasible or nothing is left to change."""
    if evaluation.feasible:
        return None
    if over(objective.energy(evaluation.energy, evaluation.energy_no_tx), objective.energy_bound):
        return _lower_p(genome)
    return _raise_costliest_layer(genome, space) or _lower_p(genome)


def repaired(evaluator: Evaluator, child: Genome, steps: int) -> Genome:
    """``child`` after up to ``steps`` repair steps judged by its bounds alone (module docstring):
    the first of the chain within both bounds, else its least violating member."""
    best = genome = child
    check = evaluator.bounds(child)
    least = violation(check, evaluator.objective)
    for _ in range(steps):
        nxt = repair_step(genome, check, evaluator.space, evaluator.objective)
        if nxt is None:
            break
        genome, check = nxt, evaluator.bounds(nxt)
        v = violation(check, evaluator.objective)
        if v < least:
            best, least = genome, v
    return best


__all__ = ["repair_step", "repaired"]
