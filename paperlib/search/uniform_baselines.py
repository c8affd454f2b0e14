"""The uniform baselines of a search (docs/decisions/paper-method.md §8): every searched layer at
one bit width of the grid, at its deepest feasible partition point, and full precision likewise.

They are what a practitioner tries before any search; the package's default search starts from
them (``init="baselines"``), and every ``result.json`` lists them, scored by the search's own
evaluator (same P, E, ε estimator and Eq. 11), with the best strategy's margin over the best one.

"Deepest feasible p" for one width: the deepest p whose energy is within E_b (the energy grows with
p, and costs no measurement), then, when that strategy's ε exceeds ε_b, a bisection over
0..p for the deepest p whose ε is within ε_b (ε taken as growing with the layers quantized). The
bisection judges each probe by its bounds alone (``Evaluator.bounds``: no P is measured), so only
the baseline itself is scored. When no p satisfies both, every probe is scored and the baseline is
the best-fitness one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..method.constants import FULL_PRECISION
from ..method.genome import Genome, uniform_genome
from .evaluator import Evaluation, Evaluator
from .fitness import over

FULL_PRECISION_NAME = "full precision"


@dataclass(frozen=True)
class UniformBaseline:
    """One uniform baseline: its name (``"8-bit uniform"``, ``"full precision"``), bit width, its
    scored strategy and every strategy scored to find it (``tried``, in order)."""

    name: str
    bits: int
    evaluation: Evaluation
    tried: tuple[Evaluation, ...] = ()

    def record(self) -> dict[str, Any]:
        """The entry of ``result.json``'s ``baselines`` list."""
        ev = self.evaluation
        return {"name": self.name, "bits": self.bits, "key": ev.key, "p": ev.p,
                "privacy": ev.privacy, "energy_mj": ev.energy, "energy_no_tx_mj": ev.energy_no_tx,
                "eps": ev.eps, "fitness": ev.fitness, "feasible": ev.feasible}


def baseline_name(bits: int) -> str:
    """``"8-bit uniform"``, or ``"full precision"`` for 32 bits."""
    return FULL_PRECISION_NAME if bits == FULL_PRECISION else f"{bits}-bit uniform"


def _energy_ok(evaluator: Evaluator, genome: Genome) -> bool:
    objective = evaluator.objective
    return not over(objective.energy(*evaluator.energy(genome)), objective.energy_bound)


def deepest_energy_partition(evaluator: Evaluator, bits: int) -> int:
    """The deepest p whose uniform-``bits`` strategy is within E_b by energy alone (0 when none
    deeper is: p = 0 quantizes nothing and is the search's smallest strategy)."""
    space = evaluator.space
    for p in range(space.num_units, 0, -1):
        if _energy_ok(evaluator, uniform_genome(space, p, bits)):
            return p
    return 0


def uniform_baseline(evaluator: Evaluator, bits: int) -> UniformBaseline:
    """The uniform-``bits`` baseline at its deepest feasible partition point (module docstring)."""
    space, name = evaluator.space, baseline_name(bits)
    top = deepest_energy_partition(evaluator, bits)
    genome = uniform_genome(space, top, bits)
    if top > 0 and not evaluator.bounds(genome).feasible:
        probed, found = [genome], None
        low, high = 0, top  # invariant: ε(high) > ε_b; the answer lies in low..high-1
        while low < high:
            mid = (low + high) // 2
            probe = uniform_genome(space, mid, bits)
            probed.append(probe)
            if evaluator.bounds(probe).feasible:
                found, low = probe, mid + 1
            else:
                high = mid
        if found is None:  # none within both bounds: the best-fitness probe (ties: the deepest)
            scored = tuple(evaluator.evaluate(g) for g in probed)
            return UniformBaseline(name, bits, max(scored, key=lambda e: e.fitness), scored)
        genome = found
    ev = evaluator.evaluate(genome)
    return UniformBaseline(name, bits, ev, (ev,))


def uniform_baselines(evaluator: Evaluator) -> list[UniformBaseline]:
    """Full precision, then every weight width of the grid from the widest down."""
    widths = [FULL_PRECISION, *sorted(evaluator.space.weight_bits, reverse=True)]
    return [uniform_baseline(evaluator, b) for b in widths]


def margin_over(best_fitness: float, baselines: list[UniformBaseline]) -> float | None:
    """The best strategy's fitness minus the best baseline's (None without baselines)."""
    if not baselines:
        return None
    return float(best_fitness - max(b.evaluation.fitness for b in baselines))


__all__ = ["UniformBaseline", "uniform_baseline", "uniform_baselines", "deepest_energy_partition",
           "baseline_name", "margin_over", "FULL_PRECISION_NAME"]
