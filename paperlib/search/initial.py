"""The initial population of a search: one function for Algorithm 1, the package's default search
and NSGA-II (docs/decisions/paper-method.md §8, docs/decisions/scale.md §4).

* ``init="random"``: Algorithm 1's N random genomes (RANDOM_POLICY, ``variation.random_genome``).
* ``init="baselines"`` (the default search): the uniform baselines (:mod:`.uniform_baselines`;
  distinct, the fittest first when there are more than N) and random genomes for the rest. The
  strategies scored to find the baselines (``tried``) count as evaluations of the search.

All draws come from the generator passed in, so a search seeded ``s`` that calls this first with
``numpy.random.default_rng(s)`` starts from exactly the population any other caller gets with the
same evaluator (measurements are deterministic) and the same seed. :func:`merge` joins the
populations of several searches (the genetic search swept over E_b: one per bound) into the one
NSGA-II starts from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np

from ..method.genome import Genome, key
from . import ranges
from .uniform_baselines import uniform_baselines
from .variation import random_genome


@dataclass(frozen=True)
class InitialPopulation:
    """A search's starting point: its population (in order) and the strategies scored to find
    it before the population itself (``tried``: the baselines' search for their partition point,
    as evaluations, in the order scored)."""

    genomes: tuple[Genome, ...]
    tried: tuple[Any, ...] = ()

    def keys(self, space: Any) -> list[str]:
        """The strategy keys of ``tried`` then ``genomes``, each once, in that order: the order
        a search scores them in."""
        seen = dict.fromkeys(ev.key for ev in self.tried)
        seen.update(dict.fromkeys(key(g, space) for g in self.genomes))
        return list(seen)


def initial_population(evaluator: Any, size: int, rng: np.random.Generator, *,
                       init: str = "baselines") -> InitialPopulation:
    """The first population of a search with ``size`` members (module docstring). ``evaluator``
    scores the baselines (their partition point depends on its objective's E_b and ε_b)."""
    ranges.check_choice("init", init)
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"the population size must be a positive integer, got {size!r}")
    if init == "random":
        return InitialPopulation(tuple(random_genome(evaluator.space, rng) for _ in range(size)))
    baselines = uniform_baselines(evaluator)
    tried = tuple(ev for b in baselines for ev in b.tried)
    chosen: dict[str, Genome] = {}
    for b in sorted(baselines, key=lambda b: -b.evaluation.fitness):
        chosen.setdefault(b.evaluation.key, Genome.from_dict(b.evaluation.genome))
    population = list(chosen.values())[:size]
    population += [random_genome(evaluator.space, rng) for _ in range(size - len(population))]
    return InitialPopulation(tuple(population), tried)


def merge(populations: Iterable[InitialPopulation], space: Any) -> InitialPopulation:
    """One population holding every strategy of ``populations`` once (by key), in their order:
    the starting point of several searches taken together."""
    genomes: dict[str, Genome] = {}
    tried: dict[str, Any] = {}
    for pop in populations:
        for ev in pop.tried:
            tried.setdefault(ev.key, ev)
        for g in pop.genomes:
            genomes.setdefault(key(g, space), g)
    return InitialPopulation(tuple(genomes.values()), tuple(tried.values()))


__all__ = ["InitialPopulation", "initial_population", "merge"]
