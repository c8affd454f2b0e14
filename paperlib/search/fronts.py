"""The whole privacy/energy/ε front in one run against the paper's search swept over E_b.

Algorithm 1 optimises one scalar (Eq. 11) for one energy bound E_b; a designer who wants the
trade-off curve must run it once per bound. NSGA-II (:mod:`paperlib.search.nsga`) searches the
same genome for the whole front at once. :func:`compare_fronts` puts the two side by side at equal
evaluations and scores them by hypervolume (docs/decisions/scale.md §4):

* the *sweep*: for every seed, the genetic search at each bound in ``bounds`` (the runs
  ``search.run`` caches, so E_b = 0.35 mJ is notebook 04's and 07's run). Its strategies in order
  are the runs' strategies taken in turn (:func:`interleave`: the first of every bound's run, then
  the second, ..., one already taken by another bound's run skipped), cut at ``budget``: at ``n``
  evaluations every run has had about ``n / len(bounds)``. The runs are extended (resumed) until
  that many distinct strategies exist;
* NSGA-II with the same seed and as many distinct strategies, starting from the strategies the
  sweep's runs started from (:func:`shared_start`: their initial populations, from
  :func:`paperlib.search.initial.initial_population`, joined);
* one reference point for every run of the model; the hypervolume of each run and of the first
  ``n`` strategies of each run (``FrontComparison.curves``), over seeds.

The sweep's runs are independent, so they go through an executor
(:mod:`paperlib.infra.executors`), as do NSGA-II's generations. Files: the genetic searches where
``search.run`` keeps them; ``results/<profile>/fronts/<model>-seed<s>/`` holds NSGA-II's
evaluation log and trace (``nsga2.json``, reused while its fingerprint matches).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from ..infra.config import results_dir
from ..infra.io import json_safe
from ..method.profiles import Profile, resolve_profile
from .initial import InitialPopulation, initial_population, merge
from .methods import SearchTrace, cached_trace, ga_trace, run_method
from .nsga import (CURVE_POINTS, hypervolume_curves, hypervolume_summary, hypervolume_table,
                   objective_matrix, pareto_front)
from .seeds import check_seeds
from .. import search
from .baselines import run_ga_for_budget
from ..infra.executors import LocalExecutor

SWEEP = "ga-sweep"  # the method name of the genetic search swept over E_b in the tables
NSGA = "nsga2"
LABELS = {SWEEP: "genetic search swept over E_b", NSGA: "NSGA-II (one run)"}
PLAN = "plan"  # a keyword left at this value takes the profile's ComparisonPlan value
MAX_ROUNDS = 20  # extensions of the sweep's runs before a short sweep is accepted


@dataclass
class FrontComparison:
    """The two methods' strategies per seed and their hypervolumes (one reference point)."""

    model: str
    profile: str
    bounds: tuple[float, ...]
    budget: int | None  # distinct strategies per seed and method (None: the sweep's full runs)
    energy: str  # the record field of the energy E_b bounds: "energy" (with E_T) or "energy_no_tx"
    data: str
    runs: dict[str, list[list[dict[str, Any]]]]  # method -> one list of records per seed, in order
    seeds: tuple[int, ...]
    pop_size: int = 20
    start: dict[int, list[str]] = field(default_factory=dict)  # seed -> keys both started from
    seconds: float = 0.0
    table: pd.DataFrame = field(default_factory=pd.DataFrame)  # method, seed, evaluations, hypervolume
    curves: pd.DataFrame = field(default_factory=pd.DataFrame)  # the same per first n evaluations

    @property
    def budget_per_bound(self) -> float | None:
        """Distinct strategies per bound of the sweep, on average (was a setting; see ``budget``)."""
        return None if self.budget is None else self.budget / len(self.bounds)

    def summary(self) -> pd.DataFrame:
        """Mean, std, min and max hypervolume over the seeds, per method."""
        return hypervolume_summary(self.table)


def fronts_dir(model: str, profile: str, seed: int) -> Path:
    """``results/<profile>/fronts/<model>-seed<seed>/``."""
    return results_dir() / profile / "fronts" / f"{model}-seed{seed}"


def interleave(record_lists: Iterable[Sequence[dict[str, Any]]],
               budget: int | None = None) -> list[dict[str, Any]]:
    """The records of several runs taken in turn (the first of each run, then the second, ...),
    each strategy (key) once, the first ``budget`` of them (None: all)."""
    lists = [list(r) for r in record_lists]
    seen: dict[str, dict[str, Any]] = {}
    for i in range(max((len(r) for r in lists), default=0)):
        for records in lists:
            if i < len(records):
                seen.setdefault(records[i]["key"], records[i])
                if budget is not None and len(seen) >= budget:
                    return list(seen.values())
    return list(seen.values())


def shared_start(evaluators: Sequence[Any], size: int, seed: int, *,
                 init: str = "baselines") -> InitialPopulation:
    """The strategies the sweep's runs of ``seed`` start from, one :class:`InitialPopulation`:
    the initial population (:func:`~paperlib.search.initial.initial_population`, ``size``
    members, generator seeded ``seed``, as ``evolve`` draws it) of the genetic search with each
    evaluator (one per bound: the baselines depend on E_b), joined in bound order."""
    space = evaluators[0].space
    return merge((initial_population(ev, size, np.random.default_rng(seed), init=init)
                  for ev in evaluators), space)


def _sweep_run(shared: tuple, item: tuple[float, int, int | None, bool]
               ) -> tuple[list[dict[str, Any]], str]:
    """One genetic search of the sweep (module level, so that any executor can run it): its first
    ``budget`` distinct strategies (None: the full run) and the path of its evaluation log; its
    best strategy re-scored and reported only when ``rescore`` (the sweep's last round)."""
    model, prof, context = shared
    bound, seed, budget, rescore = item
    if budget is None:
        res = search.run(model, prof, search.RunSettings(energy_bound=bound, seed=seed),
                         context=context, progress=False, rescore=rescore)
    else:
        res = run_ga_for_budget(model, prof, bound, seed, budget, context, progress=False,
                                rescore=rescore)
    trace = ga_trace(res)
    if budget is not None:
        trace.truncate(budget)
    return trace.records, str(Path(res.out_dir) / search.LOG_FILE)


def _sweep(model: str, prof: Profile, context: Any, bounds: tuple[float, ...],
           seeds: tuple[int, ...], budget: int | None,
           pool: Any) -> dict[int, tuple[list[dict[str, Any]], list[str]]]:
    """Per seed: the sweep's strategies in order (:func:`interleave`, cut at ``budget``) and its
    runs' logs. Each run starts with ``ceil(budget / len(bounds))`` strategies and is extended
    while strategies shared between bounds leave the union short of ``budget``; each finished
    run's best strategy is then re-scored and reported once (not once per round)."""
    k = len(bounds)
    need = {s: None if budget is None else math.ceil(budget / k) for s in seeds}
    done: dict[tuple[float, int], tuple[list[dict[str, Any]], str]] = {}
    got = dict.fromkeys(seeds, -1)
    pending = list(seeds)
    for _ in range(MAX_ROUNDS):
        items = [(b, s, need[s], False) for s in pending for b in bounds]
        done.update(zip([(b, s) for b, s, *_ in items],
                        pool.map(_sweep_run, (model, prof, context), items)))
        still = []
        for s in pending:
            n = len(interleave(done[(b, s)][0] for b in bounds))
            if budget is not None and got[s] < n < budget:  # grows: extend every run of s
                need[s] += math.ceil((budget - n) / k)
                still.append(s)
            got[s] = n
        pending = still
        if not pending:
            break
    final = [(b, s, need[s], True) for s in seeds for b in bounds]  # reloads: re-scores only
    done.update(zip([(b, s) for b, s, *_ in final],
                    pool.map(_sweep_run, (model, prof, context), final)))
    return {s: (interleave((done[(b, s)][0] for b in bounds), budget),
                [done[(b, s)][1] for b in bounds]) for s in seeds}


def compare_fronts(model: str, profile: str | Profile | None = None, *,
                   bounds: Sequence[float] | str = PLAN, budget: int | None | str = PLAN,
                   seeds: Sequence[int] | None = None, pop_size: int | str = PLAN,
                   context=None, executor: Any = None, progress: bool = False,
                   curve_points: int = CURVE_POINTS,
                   budget_per_bound: int | None | str = PLAN) -> FrontComparison:
    """NSGA-II against the genetic search swept over ``bounds`` (E_b, mJ), at ``budget`` distinct
    strategies per seed for each (None: as many as the sweep's full runs hold), both starting from
    the sweep's initial populations. Left out, ``bounds``, ``budget``, ``seeds`` and ``pop_size``
    are the profile's ``ComparisonPlan`` (``front_bounds``, ``front_budget``, ``front_seeds``,
    ``front_pop_size``). ``budget_per_bound`` (the former setting) means ``budget = budget_per_bound
    * len(bounds)``.

    ``executor`` (default: this process) runs the sweep's searches and NSGA-II's generations."""
    prof = resolve_profile(profile)
    plan = prof.comparison
    bounds = tuple(float(b) for b in _or_plan(bounds, plan.front_bounds))
    if not bounds or min(bounds) <= 0:
        raise ValueError(f"bounds must be positive energies in mJ, got {bounds}")
    if not _is_plan(budget_per_bound):
        if not _is_plan(budget):
            raise ValueError("give budget (distinct strategies per seed) or the former "
                             "budget_per_bound, not both")
        warnings.warn("compare_fronts(budget_per_bound=b) is now budget=b * len(bounds): the "
                      "sweep's strategies per seed in all (docs/decisions/scale.md §4)",
                      DeprecationWarning, stacklevel=2)
        budget = None if budget_per_bound is None else int(budget_per_bound) * len(bounds)
    budget = _or_plan(budget, plan.front_budget)
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, (int, np.integer))
                               or budget < 1):
        raise ValueError(f"budget must be a positive number of strategies or None, got {budget!r}")
    pop_size = _or_plan(pop_size, plan.front_pop_size)
    seeds = tuple(check_seeds(plan.front_seeds if seeds is None else seeds))
    t0 = time.perf_counter()
    if context is None:
        context = search.build_context(model, prof, progress=progress)
    est = context.settings.estimator
    objective = context.objective(bounds[0])  # E_b is not an objective of NSGA-II
    energy = "energy" if objective.include_transmission else "energy_no_tx"
    pool = executor or LocalExecutor()  # NSGA-II without one scores in this process directly
    sweeps = _sweep(model, prof, context, bounds, seeds, budget, pool)
    runs: dict[str, list[list[dict[str, Any]]]] = {SWEEP: [], NSGA: []}
    starts: dict[int, list[str]] = {}
    for seed in seeds:
        sweep, logs = sweeps[seed]
        runs[SWEEP].append(sweep)
        # the same seed's logs hold exactly what this evaluator would measure (seed_for(seed, key))
        at_bound = [context.evaluator(context.objective(b), est, seed=seed) for b in bounds]
        for ev, log in zip(at_bound, logs):
            ev.warm([log])
        start = shared_start(at_bound, context.settings.population, seed, init=context.settings.init)
        starts[seed] = start.keys(context.space)
        out = fronts_dir(model, prof.name, seed)
        fingerprint = json_safe({"budget": len(sweep), "pop_size": pop_size, "estimator": est,
                                 "settings": context.settings, "data": context.provenance,
                                 "energy": energy, "hardware": context.energy.hardware.tag,
                                 "source": context.record_source(),  # data-integrity.md §12
                                 "start": starts[seed]})

        def run(seed: int = seed, out: Path = out, budget: int = len(sweep), logs=logs,
                start: InitialPopulation = start) -> SearchTrace:
            ev = context.evaluator(objective, est, seed=seed, log_path=out / search.LOG_FILE)
            ev.warm([Path(p) for p in logs])  # strategies the sweep scored cost no time
            return run_method(NSGA, ev, budget, seed, pop_size=pop_size, initial=start,
                              executor=executor, progress=progress)

        runs[NSGA].append(cached_trace(out / f"{NSGA}.json", fingerprint, run).records)
    result = FrontComparison(model=model, profile=prof.name, bounds=bounds, budget=budget,
                             energy=energy, data=context.provenance, runs=runs, seeds=seeds,
                             pop_size=pop_size, start=starts)
    result.table = _with_seeds(hypervolume_table(runs, energy=energy), seeds)
    result.curves = _with_seeds(hypervolume_curves(runs, energy=energy, points=curve_points), seeds)
    result.seconds = time.perf_counter() - t0
    return result


def _is_plan(value: Any) -> bool:
    return isinstance(value, str) and value == PLAN


def _or_plan(value: Any, planned: Any) -> Any:
    """``planned`` (the profile's plan) when ``value`` was left at :data:`PLAN`, else ``value``."""
    return planned if _is_plan(value) else value


def _with_seeds(frame: pd.DataFrame, seeds: Sequence[int]) -> pd.DataFrame:
    """``frame`` with its seed indices (0, 1, ...) replaced by the seeds themselves."""
    frame["seed"] = [seeds[i] for i in frame["seed"]]
    return frame


def front_points(comparison: FrontComparison, seed: int) -> pd.DataFrame:
    """Every strategy of both methods for ``seed`` with a ``front`` flag (non-dominated within
    its own method): columns method, privacy, energy, eps, front."""
    frames = []
    for method, per_seed in comparison.runs.items():
        recs = per_seed[comparison.seeds.index(seed)]
        F = objective_matrix(recs, comparison.energy)
        best = {tuple(r) for r in pareto_front(F)}
        frames.append(pd.DataFrame({"method": method, "privacy": -F[:, 0], "energy": F[:, 1],
                                    "eps": F[:, 2], "front": [tuple(r) in best for r in F]}))
    return pd.concat(frames, ignore_index=True)


__all__ = ["SWEEP", "NSGA", "LABELS", "PLAN", "FrontComparison", "fronts_dir", "interleave",
           "shared_start", "compare_fronts", "front_points"]
