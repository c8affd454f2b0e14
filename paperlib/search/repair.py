"""The default search's repair of an infeasible child (docs/decisions/paper-method.md §8).

One repair step changes one thing, towards the constraint the child breaks:

* over the energy bound E_b: lower ``p`` by one (fewer layers on the edge cost less energy);
* over the accuracy-loss bound ε_b: raise the bits of the edge layer that costs the most accuracy,
  taken as the one with the fewest weight bits (ties: the shallowest, whose error every later layer
  carries) to the next width of the grid; when every edge layer is already at the widest width,
  lower ``p`` instead.

A repair step is deterministic (it draws no random number) and is scored like any child; the
search stops repairing when the child is feasible or after ``repair_steps`` steps.
"""

from __future__ import annotations

from ..method.genome import FP_PAIR, Genome, GenomeSpace
from .evaluator import Evaluation, Objective


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


def repair_step(genome: Genome, evaluation: Evaluation, space: GenomeSpace,
                objective: Objective) -> Genome | None:
    """One repair step of an infeasible ``genome`` scored as ``evaluation`` (module docstring);
    None when it is feasible or nothing is left to change."""
    if evaluation.feasible:
        return None
    over_energy = objective.energy(evaluation.energy, evaluation.energy_no_tx) > objective.energy_bound
    if over_energy:
        return _lower_p(genome)
    return _raise_costliest_layer(genome, space) or _lower_p(genome)


__all__ = ["repair_step"]
