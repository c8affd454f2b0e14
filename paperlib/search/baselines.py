"""Search baselines with the genetic search's fitness and budget (beyond the paper), the Pareto
view of everything the searches evaluated, and the sensitivity of the energy bound to E_tran.

The paper compares its genetic search (Algorithm 1) only with fixed strategies (fp32 and 8-bit
uniform at the deepest partition under E_b, :class:`paperlib.method.paper_strategies.PaperStrategy`). Zhang et al.
(2021, §7) compare their optimiser with random search and an exhaustive search over a reduced
space; we do the same for Algorithm 1, with every search method registered in
:data:`paperlib.search.methods.SEARCH_METHODS` (random search as RANDOM_POLICY draws; exhaustive
search over (p, uniform bits); any method registered there is compared too).

All methods use the *same* :class:`paperlib.search.Evaluator` (P, E, ε and Eq. 11 of the search's
context; nothing is reimplemented here) and the *same budget*: the number of distinct strategies
the genetic search scored for that seed (``SearchResult.evaluations``; cache hits are free for
every method). "Best fitness after n evaluations" is the running maximum over the first n distinct
strategies a method scored (for the genetic search: its evaluation log, in the order scored).

Decisions (ours):

* Baseline seed ``s`` uses the evaluator seeded ``s`` (as the genetic search with seed ``s``), so
  a strategy that both score has the same ε; its cache is warmed with the genetic search's log
  (and, for seed-independent ε estimators such as ``sensitivity``, with every log of the model):
  a warmed strategy still counts against the method's budget, it only costs no time.
* Files: ``results/<profile>/baselines/<model>-eb<E_b>-seed<s>/`` holds ``evaluations.jsonl`` (the
  evaluator's log, shared by the two baselines of that seed) and ``<method>.json`` (the trace); a
  trace whose fingerprint (budget, order, search settings, and the evaluation records' source:
  architecture, weights, data, measurement settings) matches is reused.
* The sensitivity of the energy bound to E_tran: :mod:`paperlib.studies.nb07_search_baselines`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from ..infra import io
from ..infra.config import results_dir
from ..method.constants import E_TRAN_PJ_PER_BIT, ENERGY_BOUND_MJ, FULL_PRECISION
from ..infra.io import json_safe
from ..method.profiles import ComparisonPlan, Profile, resolve_profile
from .estimators import ESTIMATORS
from .fitness import within
from .methods import (BUDGET_METHOD, SEARCH_METHODS, SearchTrace, cached_trace, check_budget, distinct_records, exhaustive_grid, exhaustive_search, ga_trace, grid_size, random_search, run_method)
from ..method.paper_strategies import FIXED, PaperStrategy, deepest_partition
from ..method.genome import uniform_genome
from .result import STATE_FILE
from .. import search
from .result import LOG_FILE



def curve_frame(traces: Iterable[SearchTrace], budget: int | None = None) -> pd.DataFrame:
    """Long frame (method, seed, evaluations, best_fitness): one row per evaluation count 1..n;
    with ``budget``, a trace that stopped early (the exhaustive grid ran out) is held flat up to it."""
    rows = []
    for t in traces:
        curve = t.curve
        n = max(len(curve), budget or 0)
        for i in range(n):
            if not curve:
                break
            rows.append({"method": t.method, "seed": t.seed, "evaluations": i + 1,
                         "best_fitness": curve[min(i, len(curve) - 1)],
                         "exhausted": i >= len(curve)})
    return pd.DataFrame(rows)


def curve_summary(curves: pd.DataFrame) -> pd.DataFrame:
    """Per method and evaluation count: mean, min and max best fitness over the seeds."""
    g = curves.groupby(["method", "evaluations"])["best_fitness"]
    return g.agg(["mean", "min", "max", "count"]).reset_index()


# --- the E_b sweep (Pareto fronts: paperlib.search.pareto) ----------------------------------------

def best_under_bounds(points: pd.DataFrame, bounds: Sequence[float], energy: str = "energy_bounded",
                      eps_bound: float | None = None) -> pd.DataFrame:
    """For every energy bound: the most private logged strategy with ``energy <= bound`` (and
    ``eps <= eps_bound`` when given): a hard-constraint reading of Eq. 4 over what was evaluated."""
    pts = points if eps_bound is None else points[within(points["eps"], eps_bound)]
    rows = []
    for b in bounds:
        ok = pts[pts[energy] <= b]
        if len(ok):
            r = ok.loc[ok["privacy"].idxmax()]
            rows.append({"energy_bound": b, "privacy": r["privacy"], "p": int(r["p"]),
                         "energy": r[energy], "key": r["key"], "candidates": len(ok)})
        else:
            rows.append({"energy_bound": b, "privacy": np.nan, "p": np.nan, "energy": np.nan,
                         "key": None, "candidates": 0})
    return pd.DataFrame(rows)


def energy_at(energy: float | np.ndarray, energy_no_tx: float | np.ndarray,
              e_tran_pj_per_bit: float) -> float | np.ndarray:
    """A logged strategy's energy with E_T at another per-bit energy: E_T scales linearly
    (Eq. 9), so ``E_no_tx + (E - E_no_tx) * e_tran / 100 pJ``."""
    return energy_no_tx + (np.asarray(energy) - np.asarray(energy_no_tx)) * (
        e_tran_pj_per_bit / E_TRAN_PJ_PER_BIT)


def describe_key(key: str) -> str:
    """``p7:w8a8,w4a8,...`` -> ``p=7, weights 8/4/...`` (short, for tables)."""
    p, _, bits = key.partition(":")
    ws = [item.split("a")[0].lstrip("w") for item in bits.split(",") if item]
    if not ws:
        return f"{p[0]}={p[1:]}, stem only"
    if len(set(ws)) == 1:
        return f"{p[0]}={p[1:]}, uniform {ws[0]}-bit"
    return f"{p[0]}={p[1:]}, weights {'/'.join(ws)}"


# --- the comparison for one model ---------------------------------------------------------------

def baseline_dir(model: str, profile: str, energy_bound: float, seed: int) -> Path:
    """``results/<profile>/baselines/<model>-eb<E_b>-seed<seed>/``."""
    return results_dir() / profile / "baselines" / f"{model}-eb{energy_bound:g}-seed{seed}"


@dataclass
class Comparison:
    """Everything notebook 07 needs for one model: traces, evaluated points, reference points."""

    model: str
    profile: str
    energy_bound: float
    accuracy_bound: float
    include_transmission: bool
    estimator: str
    data: str
    traces: list[SearchTrace]
    ga_results: dict[int, Any]
    points: pd.DataFrame  # every distinct strategy any method scored (one row per key)
    references: pd.DataFrame  # paper_strategies.PaperStrategy rows: fixed strategies and the searched one
    budgets: dict[int, int]
    grid_size: int
    seconds: float = 0.0
    context: Any = field(default=None, repr=False)  # the search context (model, data, measurements)

    def objective(self):
        return self.context.objective(self.energy_bound)

    def evaluator(self):
        """An evaluator on this comparison's footing (seed of the first run, its logs as cache)."""
        seed = min(self.budgets)
        ev = self.context.evaluator(self.objective(), self.estimator, seed=seed,
                                    log_path=baseline_dir(self.model, self.profile,
                                                          self.energy_bound, seed) / LOG_FILE)
        ev.warm([Path(r.out_dir) / LOG_FILE for r in self.ga_results.values()])
        return ev

    def curves(self) -> pd.DataFrame:
        frames = [curve_frame([t for t in self.traces if t.seed == s], self.budgets[s])
                  for s in sorted(self.budgets)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def final(self) -> pd.DataFrame:
        """Per method and seed: evaluations, best fitness, its strategy, privacy and energy."""
        rows = []
        for t in self.traces:
            b = t.best
            rows.append({"method": t.method, "seed": t.seed, "budget": t.budget,
                         "evaluations": t.evaluations, "best_fitness": b.get("fitness"),
                         "privacy": b.get("privacy"), "energy_no_tx": b.get("energy_no_tx"),
                         "energy": b.get("energy"), "eps": b.get("eps"),
                         "feasible": b.get("feasible"), "strategy": describe_key(b.get("key", "p0:")),
                         "seconds": t.seconds})
        return pd.DataFrame(rows)


def _objective_energy(include_tx: bool, energy: Any, energy_no_tx: Any) -> Any:
    return energy if include_tx else energy_no_tx


def _score_uniform(ctx, evaluator, p: int, bits: int) -> dict[str, Any]:
    """P, E and ε of every searched layer at ``bits`` at partition ``p``: quantized strategies by
    ``evaluator``; full precision (ε = 0, not a genome of the search space) measured directly."""
    genome = uniform_genome(ctx.space, p, bits)
    if bits == FULL_PRECISION:
        e, e0 = ctx.energy(genome)
        return {"p": genome.p, "privacy": float(ctx.privacy(genome)), "energy": e,
                "energy_no_tx": e0, "eps": 0.0, "key": f"p{genome.p}:fp32"}
    ev = evaluator.evaluate(genome)
    return {"p": ev.p, "privacy": ev.privacy, "energy": ev.energy,
            "energy_no_tx": ev.energy_no_tx, "eps": ev.eps, "key": ev.key}


def paper_strategy_points(ctx, objective, evaluator, result=None) -> pd.DataFrame:
    """The paper's fixed strategies (:data:`paperlib.method.paper_strategies.FIXED`) under
    ``objective.energy_bound``: fp32 and 8-bit uniform at the deepest partition point under the
    bound (the energy it applies to; left out when none fits), every block at 8 bits ("8-bit
    conv/fc", Table 5), and the searched strategy of ``result`` when given.

    One row per strategy: ``method`` (its :class:`~paperlib.method.paper_strategies.PaperStrategy` table name),
    ``strategy`` (plot label), ``p``, ``privacy``, ``energy``, ``energy_no_tx``, ``eps``, ``key``,
    ``energy_bounded``. Quantized strategies are scored by ``evaluator``; full precision has ε = 0
    and is measured directly (it is not a genome of the search space)."""
    tx = objective.include_transmission
    rows = []
    for ref in FIXED:
        p = ref.partition(ctx.net, objective.energy_bound, tx)
        if p is not None:
            rows.append({"method": ref.method, "strategy": ref.display(),
                         **_score_uniform(ctx, evaluator, p, ref.bits)})
    if result is not None:
        b = result.best
        rows.append({"method": PaperStrategy.SEARCHED.method,
                     "strategy": PaperStrategy.SEARCHED.display(result.seed), "p": b["p"],
                     "privacy": b["privacy"], "energy": b["energy_mj"],
                     "energy_no_tx": b["energy_no_tx_mj"], "eps": b["eps"], "key": b["key"]})
    df = pd.DataFrame(rows)
    df["energy_bounded"] = _objective_energy(tx, df["energy"], df["energy_no_tx"])
    return df


def comparison_plan(profile: str | Profile | None = None) -> ComparisonPlan:
    """The :class:`ComparisonPlan` of a profile (``Profile.comparison``)."""
    return resolve_profile(profile).comparison


def saved_iterations(out_dir: str | Path) -> int | None:
    """Iterations a saved (possibly unfinished) genetic search in ``out_dir`` has run, else None."""
    path = Path(out_dir) / STATE_FILE
    return int(io.read_json(path)["iteration"]) if path.exists() else None


def run_ga_for_budget(model: str, prof: Profile, energy_bound: float, seed: int, budget: int,
                      context: "search.SearchContext", progress: bool,
                      rescore: bool = True) -> "search.SearchResult":
    """The genetic search of ``seed`` run (or resumed) until it has scored at least ``budget``
    distinct strategies: a saved run is reloaded as it is when it already has them; otherwise
    the run is extended (resumed) by the missing number of iterations, up to 20 x budget. Only
    the last run's best strategy is re-scored and reported (``search.run``'s ``rescore``; False:
    not even that one, for a caller that extends the run again)."""
    out = search.default_out_dir(model, prof.name, energy_bound, seed)
    population = context.settings.population

    def run(iterations: int, rescore: bool) -> search.SearchResult:
        return search.run(model, prof, search.RunSettings.of(energy_bound=energy_bound, seed=seed,
                                                             iterations=iterations),
                          context=context, progress=progress, rescore=rescore)

    iterations = max(saved_iterations(out) or 0, max(1, budget - population))
    res = run(iterations, rescore=False)
    while res.evaluations < budget and iterations < 20 * budget:
        iterations += budget - res.evaluations
        res = run(iterations, rescore=False)
    return run(iterations, rescore=True) if rescore else res  # the finished run, reloaded


# the options of ``compare`` a method's trace depends on (JSON-able; ``ga_result`` is not needed:
# the GA's best key is in the fingerprint)
FINGERPRINT_OPTIONS = ("order",)


def compare_methods(model: str, profile: str | Profile | None = None, *,
            energy_bound: float = ENERGY_BOUND_MJ, seeds: Sequence[int] | None = None,
            methods: Sequence[str] | None = None, order: str = "shuffled",
            iterations: int | None = None, budget: int | None = None, context=None,
            executor: Any = None, progress: bool = True, force: bool = False) -> Comparison:
    """Run (or reload) the genetic search and the other search ``methods`` (default: every one
    registered in :data:`~paperlib.search.methods.SEARCH_METHODS`) for every seed, with equal
    budgets, and collect every evaluated strategy.

    ``seeds`` default to ``prof.search_seeds``; ``iterations`` overrides the profile's T for
    the genetic search (its budget then follows). The genetic search's runs are the ones
    ``search.run`` caches (the same seeds: notebook 04's and `make searches`').

    ``budget`` caps every method at that many distinct evaluations per seed: the genetic
    search's trace is truncated to its first ``budget`` strategies (the prefix of a longer run is
    exactly the same run stopped earlier), and a seed without a long enough saved run runs only
    as many iterations as it needs (``iterations`` is then ignored).

    ``executor`` (:mod:`paperlib.infra.executors`; default: this process) scores the strategies of the
    methods that can score several at once (random, exhaustive, RL, NSGA-II); the traces do not
    depend on it.
    """
    prof = resolve_profile(profile)
    seeds = list(prof.search_seeds if seeds is None else seeds)
    methods = SEARCH_METHODS.names(scalar=True) if methods is None else tuple(methods)
    unknown = [m for m in methods if m not in SEARCH_METHODS]
    if unknown or BUDGET_METHOD not in methods:
        raise ValueError(f"methods must include {BUDGET_METHOD!r} and come from "
                         f"{tuple(SEARCH_METHODS)}, got {list(methods)}")
    t0 = time.perf_counter()
    if context is None:
        context = search.build_context(model, prof, progress=progress)
    objective = context.objective(energy_bound)
    est_name = context.settings.estimator
    traces: list[SearchTrace] = []
    results, budgets = {}, {}
    if budget is not None:
        budget = check_budget(budget)
    for seed in seeds:
        if budget is None:
            results[seed] = search.run(model, prof,
                                       search.RunSettings.of(energy_bound=energy_bound, seed=seed,
                                                             iterations=iterations),
                                       context=context, progress=progress)
        else:
            results[seed] = run_ga_for_budget(model, prof, energy_bound, seed, budget, context,
                                              progress)
    ga_logs = {s: Path(r.out_dir) / LOG_FILE for s, r in results.items()}
    settings_fp = {k: v for k, v in results[seeds[0]].settings.items() if k != "seed"}
    evaluators = {}
    for seed in seeds:
        res = results[seed]
        out = baseline_dir(model, prof.name, energy_bound, seed)
        ev = context.evaluator(objective, est_name, seed=seed, log_path=out / LOG_FILE)
        shared = ([ga_logs[seed]] if not ESTIMATORS.entry(est_name).seed_free else
                  list(ga_logs.values()) + [baseline_dir(model, prof.name, energy_bound, s) / LOG_FILE
                                            for s in seeds if s != seed])
        ev.warm(shared)
        evaluators[seed] = ev
        options = {"order": order, "ga_result": res, "executor": executor}
        ga = run_method(BUDGET_METHOD, ev, budget, seed, progress=progress, **options)
        n_evals = ga.evaluations  # every other method gets the reference method's budget
        budgets[seed] = n_evals
        traces.append(ga)
        for method in methods:
            if method == BUDGET_METHOD:
                continue
            entry = SEARCH_METHODS.entry(method)
            path = out / f"{method}.json"
            fingerprint = json_safe({"budget": n_evals, "search": settings_fp,
                                     **{k: options[k] if k in entry.options else None
                                        for k in FINGERPRINT_OPTIONS},
                                     "energy_bound": energy_bound, "data": context.provenance,
                                     "ga_key": res.best["key"],
                                     # what the records depend on (data-integrity.md §12)
                                     "source": ev.source})
            def run(method: str = method) -> SearchTrace:
                return run_method(method, ev, n_evals, seed, progress=progress, **options)

            if entry.cached:
                trace = cached_trace(path, fingerprint, run, reuse=not force)
            else:
                trace = run()
                trace.fingerprint = fingerprint
            traces.append(trace)
    points = pd.DataFrame(distinct_records(t.records for t in traces))
    tx = objective.include_transmission
    points["energy_bounded"] = _objective_energy(tx, points["energy"], points["energy_no_tx"])
    ref_eval = context.evaluator(objective, est_name, seed=seeds[0],
                                 log_path=baseline_dir(model, prof.name, energy_bound, seeds[0])
                                 / LOG_FILE)
    ref_eval.warm([ga_logs[seeds[0]]])
    references = paper_strategy_points(context, objective, ref_eval, results[seeds[0]])
    return Comparison(model=model, profile=prof.name, energy_bound=energy_bound,
                      accuracy_bound=objective.accuracy_bound, include_transmission=tx,
                      estimator=est_name, data=context.provenance, traces=traces,
                      ga_results=results, points=points, references=references, budgets=budgets,
                      grid_size=grid_size(context.space), seconds=time.perf_counter() - t0,
                      context=context)


def uniform_sweep(comparison: Comparison, bounds: Sequence[float], bits: int = 8) -> pd.DataFrame:
    """The paper's fixed baseline at every energy bound: all searched layers at ``bits`` (32 =
    full precision) at the deepest partition point under the bound
    (:func:`paperlib.method.paper_strategies.deepest_partition`, the energy the search's bound applies to),
    with its privacy and ε."""
    ctx = comparison.context
    tx = comparison.include_transmission
    ev = comparison.evaluator() if bits != FULL_PRECISION else None
    rows = []
    for b in bounds:
        p = deepest_partition(ctx.net, bits, b, transmission=tx)
        if p is None:
            rows.append({"energy_bound": b, "bits": bits, "p": np.nan, "privacy": np.nan,
                         "energy_bounded": np.nan, "eps": np.nan})
            continue
        r = _score_uniform(ctx, ev, p, bits)
        rows.append({"energy_bound": b, "bits": bits, "p": p, "privacy": r["privacy"],
                     "energy_bounded": _objective_energy(tx, r["energy"], r["energy_no_tx"]),
                     "eps": r["eps"]})
    return pd.DataFrame(rows)


__all__ = ["SEARCH_METHODS", "SearchTrace",
           "exhaustive_grid", "grid_size", "random_search", "exhaustive_search", "curve_frame",
           "curve_summary", "best_under_bounds", "energy_at", "describe_key",
           "baseline_dir", "ga_trace", "Comparison", "paper_strategy_points", "compare_methods", "uniform_sweep",
           "ComparisonPlan", "comparison_plan",
           "saved_iterations"]
