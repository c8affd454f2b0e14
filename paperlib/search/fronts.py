"""The whole privacy/energy/ε front in one run against the paper's search swept over E_b.

Algorithm 1 optimises one scalar (Eq. 11) for one energy bound E_b; a designer who wants the
trade-off curve must run it once per bound. NSGA-II (:mod:`paperlib.search.nsga`) searches the
same genome for the whole front at once. :func:`compare_fronts` puts the two side by side at equal
evaluations and scores them by hypervolume (docs/decisions/scale.md §4):

* the *sweep*: for every seed, the genetic search at each bound in ``bounds`` (the runs
  ``search.run`` caches, so E_b = 0.35 mJ is notebook 04's and 07's run), each cut to its first
  ``budget_per_bound`` distinct strategies; its set is the union of their strategies;
* NSGA-II with the same seed and as many distinct strategies as that union holds;
* one reference point for every run of the model; mean and spread of the hypervolume over seeds.

The sweep's runs are independent, so they go through an executor
(:mod:`paperlib.infra.executors`), as do NSGA-II's generations. Files: the genetic searches where
``search.run`` keeps them; ``results/<profile>/fronts/<model>-seed<s>/`` holds NSGA-II's
evaluation log and trace (``nsga2.json``, reused while its fingerprint matches).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from ..infra.config import results_dir
from ..infra.io import json_safe
from ..method.profiles import Profile, resolve_profile
from .estimators import ESTIMATORS
from .methods import SearchTrace, cached_trace, distinct_records, ga_trace, run_method
from .nsga import hypervolume_summary, hypervolume_table, objective_matrix, pareto_front
from .. import search
from .baselines import run_ga_for_budget
from ..infra.executors import LocalExecutor

SWEEP = "ga-sweep"  # the method name of the genetic search swept over E_b in the tables
NSGA = "nsga2"
LABELS = {SWEEP: "genetic search swept over E_b", NSGA: "NSGA-II (one run)"}


@dataclass
class FrontComparison:
    """The two methods' strategies per seed and their hypervolumes (one reference point)."""

    model: str
    profile: str
    bounds: tuple[float, ...]
    budget_per_bound: int | None
    energy: str  # the record field of the energy E_b bounds: "energy" (with E_T) or "energy_no_tx"
    data: str
    runs: dict[str, list[list[dict[str, Any]]]]  # method -> one list of records per seed
    seeds: tuple[int, ...]
    seconds: float = 0.0
    table: pd.DataFrame = field(default_factory=pd.DataFrame)  # method, seed, evaluations, hypervolume

    def summary(self) -> pd.DataFrame:
        """Mean, std, min and max hypervolume over the seeds, per method."""
        return hypervolume_summary(self.table)


def fronts_dir(model: str, profile: str, seed: int) -> Path:
    """``results/<profile>/fronts/<model>-seed<seed>/``."""
    return results_dir() / profile / "fronts" / f"{model}-seed{seed}"


def _sweep_run(shared: tuple, item: tuple[float, int]) -> tuple[list[dict[str, Any]], str]:
    """One genetic search of the sweep (module level, so that any executor can run it): its first
    ``budget`` distinct strategies and the path of its evaluation log."""
    model, prof, budget, context = shared
    bound, seed = item
    if budget is None:
        res = search.run(model, prof, search.RunSettings(energy_bound=bound, seed=seed),
                         context=context, progress=False)
    else:
        res = run_ga_for_budget(model, prof, bound, seed, budget, context, progress=False)
    trace = ga_trace(res)
    if budget is not None:
        trace.truncate(budget)
    return trace.records, str(Path(res.out_dir) / search.LOG_FILE)


def compare_fronts(model: str, profile: str | Profile | None = None, *,
                   bounds: Sequence[float], budget_per_bound: int | None,
                   seeds: Sequence[int] | None = None, pop_size: int = 20, context=None,
                   executor: Any = None, progress: bool = False) -> FrontComparison:
    """NSGA-II against the genetic search swept over ``bounds`` (E_b, mJ), at equal evaluations
    per seed (``budget_per_bound`` distinct strategies per bound, None: each run's full T).

    ``executor`` (default: this process) runs the sweep's searches and NSGA-II's generations."""
    prof = resolve_profile(profile)
    bounds = tuple(float(b) for b in bounds)
    if not bounds or min(bounds) <= 0:
        raise ValueError(f"bounds must be positive energies in mJ, got {bounds}")
    seeds = tuple(prof.baseline_seeds if seeds is None else seeds)
    t0 = time.perf_counter()
    if context is None:
        context = search.build_context(model, prof, progress=progress)
    est = context.settings.estimator
    objective = context.objective(bounds[0])  # E_b is not an objective of NSGA-II
    energy = "energy" if objective.include_transmission else "energy_no_tx"
    items = [(b, s) for s in seeds for b in bounds]
    pool = executor or LocalExecutor()  # NSGA-II without one scores in this process directly
    done = dict(zip(items, pool.map(_sweep_run, (model, prof, budget_per_bound, context), items)))
    runs: dict[str, list[list[dict[str, Any]]]] = {SWEEP: [], NSGA: []}
    for seed in seeds:
        sweep = distinct_records(done[(b, seed)][0] for b in bounds)
        runs[SWEEP].append(sweep)
        out = fronts_dir(model, prof.name, seed)
        fingerprint = json_safe({"budget": len(sweep), "pop_size": pop_size, "estimator": est,
                                 "settings": context.settings, "data": context.provenance,
                                 "energy": energy, "hardware": context.energy.hardware.tag,
                                 "source": context.record_source()})  # data-integrity.md §12

        def run(seed: int = seed, out: Path = out, budget: int = len(sweep)) -> SearchTrace:
            ev = context.evaluator(objective, est, seed=seed, log_path=out / search.LOG_FILE)
            if ESTIMATORS.entry(est).seed_free:  # strategies the sweep scored cost no time
                ev.warm([Path(done[(b, seed)][1]) for b in bounds])
            return run_method(NSGA, ev, budget, seed, pop_size=pop_size, executor=executor,
                              progress=progress)

        runs[NSGA].append(cached_trace(out / f"{NSGA}.json", fingerprint, run).records)
    result = FrontComparison(model=model, profile=prof.name, bounds=bounds,
                             budget_per_bound=budget_per_bound, energy=energy,
                             data=context.provenance, runs=runs, seeds=seeds)
    result.table = hypervolume_table(runs, energy=energy)
    result.table["seed"] = [seeds[i] for i in result.table["seed"]]
    result.seconds = time.perf_counter() - t0
    return result


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


__all__ = ["SWEEP", "NSGA", "LABELS", "FrontComparison", "fronts_dir", "compare_fronts",
           "front_points"]
