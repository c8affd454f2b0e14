"""The whole privacy/energy/ε front in one run: NSGA-II (Deb et al., IEEE TEVC 2002) over the
search's genome, with pymoo's implementation, and the hypervolume comparison with the paper's
scalarised search swept over E_b (docs/decisions/scale.md §3-4).

* Encoding (§3): one integer vector per genome, ``x[0] = p`` in 0..num_units, then for every
  searched layer the index of its b_w in R_w and of its b_a in R_a. Masked entries are encoded too
  (as in Algorithm 1 they survive a change of p); strategies equal up to masked entries share a key
  and are scored once by the evaluator's cache. Full precision is one rung above the widest b_w
  (index |R_w|; the layer's b_a index is then ignored): the default search starts from the
  full-precision baseline, so its space holds full-precision layers, and the encoding reaches that
  rung whenever the initial population holds one (§3).
* Objectives, all minimised: −P (Eq. 1-2), the edge energy E that E_b bounds (with or without E_T
  as the objective says, Eq. 7-9) and ε. No bound and no punishment: the front replaces E_b.
* Operators: pymoo's integer recipe (SBX and polynomial mutation with rounding), duplicates
  eliminated; the ask/tell loop scores each generation through :meth:`Evaluator.evaluate_many`, so
  an executor scores a generation in parallel.
* Initial population: :func:`paperlib.search.initial.initial_population`, the function the
  genetic search starts from, seeded by the seed (default: ``pop_size`` RANDOM_POLICY genomes);
  the whole-front comparison passes the genetic searches' own starting points (§4).
* Budget: ``budget`` distinct strategies, as every other method in :data:`SEARCH_METHODS`; the
  strategies scored to find the initial population count.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from ..infra.progress import tqdm

from ..method.genome import FP_PAIR, Genome, GenomeSpace
from .initial import InitialPopulation, initial_population
from .pareto import pareto_mask
from .methods import SEARCH_METHODS, EvaluatorLike, SearchTrace, check_budget, record, score_all

OBJECTIVES = ("privacy", "energy", "eps")  # maximised, minimised, minimised
SENSE = np.array([-1.0, 1.0, 1.0])  # multiply to turn the three into minimisation


# --- the encoding --------------------------------------------------------------------------------

def bounds(space: GenomeSpace, full_precision: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper integer bounds of the encoding of ``space`` (§3); ``full_precision``:
    a layer's b_w index may reach the full-precision rung |R_w|."""
    n = len(space.searchable)
    top_w = len(space.weight_bits) - (0 if full_precision else 1)
    upper = [space.num_units] + [top_w, len(space.activation_bits) - 1] * n
    return np.zeros(1 + 2 * n, dtype=int), np.array(upper, dtype=int)


def decode(x: Sequence[int], space: GenomeSpace) -> Genome:
    """The genome of integer vector ``x`` (b_w index |R_w|: the layer at full precision)."""
    x = [int(round(v)) for v in x]
    bits = [FP_PAIR] * space.num_layers
    for j, i in enumerate(space.searchable):
        w = x[1 + 2 * j]
        if w < len(space.weight_bits):
            bits[i] = (int(space.weight_bits[w]), int(space.activation_bits[x[2 + 2 * j]]))
    return Genome(x[0], tuple(bits))


def encode(genome: Genome, space: GenomeSpace) -> np.ndarray:
    """The integer vector of ``genome`` (inverse of :func:`decode`; a full-precision layer
    gets b_w index |R_w| and the largest b_a index)."""
    x = [genome.p]
    for i in space.searchable:
        w, a = genome.bits[i]
        if (w, a) == FP_PAIR:
            x += [len(space.weight_bits), len(space.activation_bits) - 1]
        else:
            x += [space.weight_bits.index(w), space.activation_bits.index(a)]
    return np.array(x, dtype=int)


# --- NSGA-II over integer vectors (pymoo), driven by ask/tell -----------------------------------

def nsga2_minimize(score: Callable[[np.ndarray], np.ndarray], lower: np.ndarray, upper: np.ndarray,
                   budget: int, *, n_obj: int, pop_size: int = 20, seed: int = 0,
                   initial: np.ndarray | None = None,
                   distinct: Callable[[], int] | None = None, progress: bool = False) -> None:
    """Minimise the objectives ``score(X) -> F`` (rows: integer vectors in [lower, upper]) with
    NSGA-II until ``distinct()`` (default: vectors scored) reaches ``budget``. ``initial``: the
    first generation (rows, any number; later generations have ``pop_size``), else
    ``pop_size`` vectors drawn uniformly."""
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.problem import Problem
    from pymoo.operators.crossover.sbx import SBX
    from pymoo.operators.mutation.pm import PM
    from pymoo.operators.repair.rounding import RoundingRepair
    from pymoo.operators.sampling.rnd import IntegerRandomSampling

    budget = check_budget(budget)
    if pop_size < 2:
        raise ValueError(f"pop_size must be at least 2, got {pop_size}")
    if initial is not None:
        initial = np.atleast_2d(np.asarray(initial, dtype=int))
        if initial.shape[1] != len(lower) or (initial < lower).any() or (initial > upper).any():
            raise ValueError(f"initial must be rows of {len(lower)} integers within [lower, upper], "
                             f"got shape {initial.shape}")
    scored = {"n": 0}
    count = distinct or (lambda: scored["n"])
    problem = Problem(n_var=len(lower), n_obj=n_obj, xl=lower, xu=upper, vtype=int)
    sampling = IntegerRandomSampling() if initial is None else initial
    algorithm = NSGA2(pop_size=pop_size, sampling=sampling,
                      crossover=SBX(prob=1.0, eta=3.0, vtype=float, repair=RoundingRepair()),
                      mutation=PM(prob=1.0, eta=3.0, vtype=float, repair=RoundingRepair()),
                      eliminate_duplicates=True)
    algorithm.setup(problem, seed=seed, verbose=False)
    bar = tqdm(total=budget, desc="NSGA-II", disable=not progress, dynamic_ncols=True)
    try:
        stalled = 0
        while count() < budget and stalled < 50:
            before = count()
            pop = algorithm.ask()
            X = np.rint(pop.get("X")).astype(int)
            F = np.asarray(score(X), dtype=float)
            scored["n"] += len(X)
            pop.set("F", F)
            algorithm.tell(infills=pop)
            stalled = stalled + 1 if count() == before else 0
            bar.update(min(count(), budget) - bar.n)
    finally:
        bar.close()


@SEARCH_METHODS.register("nsga2", label="NSGA-II (privacy, energy, ε)", color="C4", marker="D",
                         options=("pop_size", "initial", "executor"), scalar=False)
def nsga2_search(evaluator: EvaluatorLike, budget: int, seed: int = 0, *, pop_size: int = 20,
                 initial: InitialPopulation | None = None, executor: Any = None,
                 progress: bool = False) -> SearchTrace:
    """NSGA-II over (p, Π) with objectives P (max), E (min), ε (min) until ``budget`` distinct
    strategies are scored (§3); the trace's records carry P, E and ε of every strategy.

    ``initial`` (default: :func:`~paperlib.search.initial.initial_population` of ``pop_size``
    random genomes, seeded by ``seed``): its ``tried`` strategies are recorded first, in order,
    then its genomes are the first generation."""
    budget = check_budget(budget)
    space = evaluator.space
    if initial is None:
        initial = initial_population(evaluator, pop_size, np.random.default_rng(seed),
                                     init="random")
    trace = SearchTrace("nsga2", seed, budget)
    seen: dict[str, dict] = {}
    t0 = time.perf_counter()

    def keep(evs: Iterable[Any]) -> None:
        for ev in evs:
            if ev.key not in seen and len(seen) < budget:
                seen[ev.key] = record(ev)

    if initial.tried:  # scored to find the population (the baselines' partition points)
        keep(score_all(evaluator, [Genome.from_dict(ev.genome) for ev in initial.tried], executor))
        trace.draws += len(initial.tried)

    def score(X: np.ndarray) -> np.ndarray:
        genomes = [decode(x, space) for x in X]
        evs = score_all(evaluator, genomes, executor)
        trace.draws += len(genomes)
        keep(evs)
        return np.array([[-ev.privacy, _edge_energy(evaluator, ev), ev.eps] for ev in evs])

    start = np.array([encode(g, space) for g in initial.genomes]) if initial.genomes else None
    # the full-precision rung when the start needs it (the default search's fp32 baseline, §3)
    full = start is not None and bool((start[:, 1::2] == len(space.weight_bits)).any())
    lower, upper = bounds(space, full_precision=full)
    nsga2_minimize(score, lower, upper, budget, n_obj=len(OBJECTIVES), pop_size=pop_size, seed=seed,
                   initial=start, distinct=lambda: len(seen), progress=progress)
    trace.records = list(seen.values())
    trace.seconds = time.perf_counter() - t0
    return trace


def _edge_energy(evaluator: Any, ev: Any) -> float:
    """The energy E_b bounds: with E_T or without, as the evaluator's objective says."""
    objective = getattr(evaluator, "objective", None)
    return float(objective.energy(ev.energy, ev.energy_no_tx) if objective is not None
                 else ev.energy)


# --- fronts and hypervolume ----------------------------------------------------------------------

def objective_matrix(records: Iterable[Mapping[str, Any]], energy: str = "energy") -> np.ndarray:
    """Rows (−P, E, ε) of trace records (``energy``: the record field used for E)."""
    rows = [[-float(r["privacy"]), float(r[energy]), float(r["eps"])] for r in records]
    return np.array(rows, dtype=float).reshape(-1, 3)


def pareto_front(F: np.ndarray) -> np.ndarray:
    """The non-dominated rows of ``F`` (all objectives minimised; tie rule:
    :func:`paperlib.search.pareto.pareto_mask`), each once, in sorted order."""
    F = np.asarray(F, dtype=float)
    return np.unique(F[pareto_mask(F)], axis=0)


def reference_point(fronts: Iterable[np.ndarray], margin: float = 0.1) -> np.ndarray:
    """One reference point for every compared set: the worst value of each objective over all of
    them, pushed out by ``margin`` of that objective's range (§4)."""
    F = np.vstack([f for f in fronts if len(f)])
    lo, hi = F.min(axis=0), F.max(axis=0)
    return hi + margin * np.where(hi > lo, hi - lo, 1.0)


def hypervolume(F: np.ndarray, ref: np.ndarray) -> float:
    """pymoo's exact hypervolume of the front of ``F`` with reference point ``ref``."""
    from pymoo.indicators.hv import HV

    front = pareto_front(F)
    front = front[np.all(front < ref, axis=1)]
    return float(HV(ref_point=np.asarray(ref, dtype=float))(front)) if len(front) else 0.0


Runs = Mapping[str, Sequence[Sequence[Mapping[str, Any]]]]  # method -> one record list per seed
CURVE_POINTS = 30  # evaluation counts per hypervolume curve (:func:`evaluation_grid`)


def _matrices(runs: Runs, energy: str) -> tuple[dict[str, list[np.ndarray]], np.ndarray]:
    """Every run's objective matrix and the one reference point of them all (§4)."""
    mats = {m: [objective_matrix(recs, energy) for recs in per_seed] for m, per_seed in runs.items()}
    return mats, reference_point(f for ms in mats.values() for f in ms)


def hypervolume_table(runs: Runs, energy: str = "energy") -> pd.DataFrame:
    """Hypervolume of every run: ``runs[method]`` is one list of trace records per seed (for the
    scalarised search: the union of its E_b sweep's strategies, §4). One reference point for all;
    columns method, seed (0, 1, ... in the order given), evaluations, hypervolume."""
    mats, ref = _matrices(runs, energy)
    rows = [{"method": m, "seed": i, "evaluations": len(F), "hypervolume": hypervolume(F, ref)}
            for m, ms in mats.items() for i, F in enumerate(ms)]
    return pd.DataFrame(rows)


def evaluation_grid(n: int, points: int = CURVE_POINTS) -> list[int]:
    """At most ``points`` evaluation counts spread evenly over 1..``n``, ``n`` always the last."""
    if n < 1 or points < 1:
        raise ValueError(f"n and points must be positive, got n={n}, points={points}")
    return sorted({int(v) for v in np.rint(np.linspace(1, n, min(n, points)))} | {n})


def hypervolume_curve(F: np.ndarray, ref: np.ndarray, grid: Iterable[int]) -> list[float]:
    """The hypervolume of the first ``n`` rows of ``F`` (a run's strategies in the order scored)
    for every ``n`` in ``grid``: non-decreasing in ``n``, and at ``n = len(F)`` the run's own."""
    return [hypervolume(F[:n], ref) for n in grid]


def hypervolume_curves(runs: Runs, energy: str = "energy",
                       points: int = CURVE_POINTS) -> pd.DataFrame:
    """Hypervolume against evaluations for every run of :func:`hypervolume_table` (same reference
    point): columns method, seed (index in the order given), evaluations, hypervolume; the counts
    are one grid up to the longest run (:func:`evaluation_grid`), each run's own length added."""
    mats, ref = _matrices(runs, energy)
    longest = max((len(F) for ms in mats.values() for F in ms), default=0)
    grid = evaluation_grid(longest, points) if longest else []
    rows = []
    for m, ms in mats.items():
        for i, F in enumerate(ms):
            ns = [n for n in grid if n < len(F)] + ([len(F)] if len(F) else [])
            rows += [{"method": m, "seed": i, "evaluations": n, "hypervolume": h}
                     for n, h in zip(ns, hypervolume_curve(F, ref, ns))]
    return pd.DataFrame(rows, columns=["method", "seed", "evaluations", "hypervolume"])


def hypervolume_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard deviation, min and max hypervolume over seeds, per method."""
    return (table.groupby("method", sort=False)["hypervolume"]
            .agg(["mean", "std", "min", "max", "count"]).reset_index())


__all__ = ["OBJECTIVES", "bounds", "decode", "encode", "nsga2_minimize", "nsga2_search",
           "objective_matrix", "pareto_front", "reference_point", "hypervolume",
           "hypervolume_table", "hypervolume_summary", "CURVE_POINTS", "evaluation_grid",
           "hypervolume_curve", "hypervolume_curves"]
