"""Search baselines with the genetic search's fitness and budget (beyond the paper), the Pareto
view of everything the searches evaluated, and the sensitivity of the energy bound to E_tran.

The paper compares its genetic search (Algorithm 1) only with fixed strategies (fp32 and 8-bit
uniform at the deepest partition under E_b). Zhang et al. (2021, §7) compare their optimiser with
random search and an exhaustive search over a reduced space; we do the same for Algorithm 1:

* **random search** draws genomes exactly as Algorithm 1's RANDOM_POLICY (``search.random_genome``:
  p uniform, every layer's (b_w, b_a) uniform in R_w x R_a: the full mixed-precision space);
* **exhaustive search over (p, uniform bits)** scores every p in 0..num_units with every searched
  layer at one weight width b in R_w (b_a = max R_a = 8): at most ``1 + num_units * |R_w|``
  distinct strategies (all p = 0 genomes are one strategy, the stem alone), in a deterministic
  order (``order="grid"``: p, then b, ascending) or shuffled by the seed (``order="shuffled"``, the
  default, so that seeds give a spread when the budget truncates the grid).

All three use the *same* :class:`paperlib.search.Evaluator` (P, E, ε and Eq. 11 of the search's
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
  trace whose fingerprint (budget, order, search settings) matches is reused.
* Radio energy per bit (:data:`RADIO_E_TRAN_PJ_PER_BIT`): the paper's E_tran = 100 pJ/bit against
  orders of magnitude for smartphone radios from Huang et al., "A close examination of performance
  and power characteristics of 4G LTE networks", MobiSys 2012: an uplink power model
  ``P = alpha_u * t_u + beta`` (mW, t_u in Mbit/s), so the energy per bit is ``alpha_u + beta / t_u``
  nJ. With their fitted coefficients (as we recall them: Wi-Fi alpha_u ~ 283 mW/Mbps, beta ~ 133
  mW; LTE ~ 438 and ~ 1288; 3G ~ 869 and ~ 818) at representative uplink rates (Wi-Fi 10, LTE 6 —
  their median LTE uplink —, 3G 1 Mbit/s) this gives roughly 0.3, 0.65 and 1.7 µJ/bit. Treat these
  as orders of magnitude (tail energy and promotion delays, which make radios costlier still, are
  left out); the conclusion below does not depend on the exact digits.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Protocol, Sequence

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from . import io
from .constants import E_TRAN_PJ_PER_BIT, ENERGY_BOUND_MJ, FULL_PRECISION
from .profiles import Profile, get_profile

METHODS: tuple[str, ...] = ("ga", "random", "exhaustive")
METHOD_LABELS = {"ga": "genetic search (Algorithm 1)", "random": "random search",
                 "exhaustive": "exhaustive (p, uniform bits)"}
TRACE_VERSION = 1
SEED_FREE_ESTIMATORS = frozenset({"sensitivity"})  # ε does not depend on the search seed

# Per-bit uplink energy, pJ/bit: the paper's constant and smartphone radios (orders of magnitude,
# Huang et al. MobiSys 2012 power model alpha_u + beta / t_u; see the module docstring).
RADIO_E_TRAN_PJ_PER_BIT: dict[str, float] = {
    "paper (Eq. 9)": E_TRAN_PJ_PER_BIT,
    "Wi-Fi": 283.17e3 + 132.86e3 / 10.0,   # t_u = 10 Mbit/s -> ~0.30 µJ/bit
    "4G (LTE)": 438.39e3 + 1288.04e3 / 6.0,  # t_u = 6 Mbit/s (median LTE uplink) -> ~0.65 µJ/bit
    "3G": 868.98e3 + 817.88e3 / 1.0,       # t_u = 1 Mbit/s -> ~1.7 µJ/bit
}
RADIO_SOURCE = ("Huang et al., MobiSys 2012 (uplink power model P = alpha_u t_u + beta; "
                "orders of magnitude at 10 / 6 / 1 Mbit/s)")


class _Evaluation(Protocol):
    key: str
    fitness: float


class EvaluatorLike(Protocol):
    """What the baselines need from an evaluator (``paperlib.search.Evaluator`` or a fake)."""

    space: Any

    def evaluate(self, genome: Any) -> _Evaluation: ...


# --- the two baselines ----------------------------------------------------------------------------

def exhaustive_grid(space, order: str = "grid", seed: int = 0) -> list:
    """Every distinct (p, uniform weight bits) strategy of ``space``: p in 0..num_units, every
    searched layer at (b, max R_a) for b in R_w; the p = 0 strategies (nothing but the stem on the
    edge) are one. ``order``: ``"grid"`` (p, then b, ascending) or ``"shuffled"`` (by ``seed``)."""
    from .search.genome import Genome, key

    if order not in ("grid", "shuffled"):
        raise ValueError(f"order must be 'grid' or 'shuffled', got {order!r}")
    genomes, seen = [], set()
    for p in range(space.num_units + 1):
        for b in sorted(space.weight_bits):
            g = Genome.uniform(space, p, b)
            k = key(g, space)
            if k not in seen:
                seen.add(k)
                genomes.append(g)
    if order == "shuffled":
        perm = np.random.default_rng(seed).permutation(len(genomes))
        genomes = [genomes[i] for i in perm]
    return genomes


def grid_size(space) -> int:
    """``1 + num_units * |R_w|``: the distinct strategies of the exhaustive grid."""
    return 1 + space.num_units * len(space.weight_bits)


@dataclass
class Trace:
    """One method's run: the distinct strategies it scored, in order, and its best-so-far curve."""

    method: str
    seed: int
    budget: int
    records: list[dict[str, Any]] = field(default_factory=list)  # one per distinct strategy
    draws: int = 0  # genomes drawn (random search: cache hits among its own draws included)
    seconds: float = 0.0
    fingerprint: dict[str, Any] = field(default_factory=dict)
    version: int = TRACE_VERSION

    @property
    def evaluations(self) -> int:
        return len(self.records)

    @property
    def curve(self) -> list[float]:
        """Best fitness after 1, 2, ... distinct evaluations."""
        return list(np.maximum.accumulate([r["fitness"] for r in self.records])) if self.records else []

    @property
    def best(self) -> dict[str, Any]:
        return max(self.records, key=lambda r: r["fitness"]) if self.records else {}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Trace":
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in names})


def _record(ev: Any) -> dict[str, Any]:
    d = {"key": ev.key, "fitness": float(ev.fitness)}
    for name in ("p", "privacy", "energy", "energy_no_tx", "eps", "feasible"):
        if hasattr(ev, name):
            d[name] = getattr(ev, name)
    return d


def _check_budget(budget: int) -> int:
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
        raise ValueError(f"the evaluation budget must be a positive integer, got {budget!r}")
    return int(budget)


def random_search(evaluator: EvaluatorLike, budget: int, seed: int = 0, *,
                  max_draws: int | None = None, progress: bool = False) -> Trace:
    """Draw genomes as RANDOM_POLICY (the genetic search's initial population) until ``budget``
    distinct strategies are scored (or ``max_draws`` genomes drawn, default 100 x budget)."""
    from .search.genome import random_genome

    budget = _check_budget(budget)
    max_draws = max_draws or 100 * budget
    rng = np.random.default_rng(seed)
    trace = Trace("random", seed, budget)
    seen: set[str] = set()
    t0 = time.perf_counter()
    bar = tqdm(total=budget, desc="random search", disable=not progress, dynamic_ncols=True)
    try:
        while len(seen) < budget and trace.draws < max_draws:
            ev = evaluator.evaluate(random_genome(evaluator.space, rng))
            trace.draws += 1
            if ev.key not in seen:
                seen.add(ev.key)
                trace.records.append(_record(ev))
                bar.update(1)
    finally:
        bar.close()
    trace.seconds = time.perf_counter() - t0
    return trace


def exhaustive_search(evaluator: EvaluatorLike, budget: int, seed: int = 0, *,
                      order: str = "shuffled", progress: bool = False) -> Trace:
    """Score the (p, uniform bits) grid (:func:`exhaustive_grid`) in ``order``, stopping after
    ``budget`` strategies or at the end of the grid, whichever comes first."""
    budget = _check_budget(budget)
    grid = exhaustive_grid(evaluator.space, order, seed)[:budget]
    trace = Trace("exhaustive", seed, budget)
    t0 = time.perf_counter()
    for genome in tqdm(grid, desc="exhaustive search", disable=not progress, dynamic_ncols=True):
        trace.records.append(_record(evaluator.evaluate(genome)))
        trace.draws += 1
    trace.seconds = time.perf_counter() - t0
    return trace


def curve_frame(traces: Iterable[Trace], budget: int | None = None) -> pd.DataFrame:
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


# --- Pareto front and the E_b sweep -----------------------------------------------------------------

def pareto_mask(energy: Sequence[float], privacy: Sequence[float]) -> np.ndarray:
    """Non-dominated points when energy is minimised and privacy maximised (ties kept once)."""
    e, q = np.asarray(energy, float), np.asarray(privacy, float)
    order = np.lexsort((-q, e))  # by energy, then higher privacy first
    mask = np.zeros(len(e), bool)
    best = -np.inf
    for i in order:
        if q[i] > best:
            mask[i] = True
            best = q[i]
    return mask


def best_under_bounds(points: pd.DataFrame, bounds: Sequence[float], energy: str = "energy_bounded",
                      eps_bound: float | None = None) -> pd.DataFrame:
    """For every energy bound: the most private logged strategy with ``energy <= bound`` (and
    ``eps <= eps_bound`` when given): a hard-constraint reading of Eq. 4 over what was evaluated."""
    pts = points if eps_bound is None else points[points["eps"] <= eps_bound]
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
    from .search.context import results_dir

    return results_dir() / profile / "baselines" / f"{model}-eb{energy_bound:g}-seed{seed}"


def _warm(evaluator, logs: Iterable[Path]) -> int:
    """Copy the records of other evaluation logs (same estimator) into ``evaluator``'s cache."""
    from .search.evaluator import Evaluator

    added = 0
    for log in logs:
        if not Path(log).exists() or Path(log) == evaluator.log_path:
            continue
        other = Evaluator(evaluator.space, evaluator.energy, evaluator.privacy, evaluator.estimator,
                          evaluator.objective, seed=evaluator.seed, log_path=log)
        other.load_log()
        for k, ev in other.cache.items():
            if k not in evaluator.cache:
                evaluator.cache[k] = ev
                added += 1
    return added


def ga_trace(result, evaluator=None) -> Trace:
    """The genetic search's run as a :class:`Trace`: its evaluation log in the order scored
    (the first ``result.evaluations`` records), fitness re-scored with ``evaluator``'s objective."""
    from .search import LOG_FILE
    from .search.evaluator import Evaluation

    log = Path(result.out_dir) / LOG_FILE
    records = []
    for rec in io.read_jsonl(log):
        if rec.get("estimator") != result.settings.get("estimator"):
            continue
        ev = Evaluation.from_dict(rec)
        if evaluator is not None:
            ev.fitness = evaluator.objective.fitness(ev.privacy, ev.energy, ev.energy_no_tx, ev.eps)
            ev.feasible = evaluator.objective.feasible(ev.energy, ev.energy_no_tx, ev.eps)
        records.append(_record(ev))
    seen, unique = set(), []
    for r in records:
        if r["key"] not in seen:
            seen.add(r["key"])
            unique.append(r)
    unique = unique[: result.evaluations]
    t = Trace("ga", int(result.seed), int(result.evaluations), unique,
              draws=int(result.timing.get("genomes", len(unique))),
              seconds=float(result.timing.get("search_seconds", 0.0)))
    return t


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
    traces: list[Trace]
    ga_results: dict[int, Any]
    points: pd.DataFrame  # every distinct strategy any method scored (one row per key)
    references: pd.DataFrame  # fp32 / 8-bit uniform at max_partition, 8-bit conv/fc, searched
    budgets: dict[int, int]
    grid_size: int
    seconds: float = 0.0
    context: Any = field(default=None, repr=False)  # the search context (model, data, measurements)

    def objective(self):
        return self.context.objective(self.energy_bound)

    def evaluator(self):
        """An evaluator on this comparison's footing (seed of the first run, its logs as cache)."""
        from .search import LOG_FILE

        seed = min(self.budgets)
        ev = self.context.evaluator(self.objective(), self.estimator, seed=seed,
                                    log_path=baseline_dir(self.model, self.profile,
                                                          self.energy_bound, seed) / LOG_FILE)
        _warm(ev, [Path(r.out_dir) / LOG_FILE for r in self.ga_results.values()])
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


def reference_points(ctx, objective, evaluator, result=None) -> pd.DataFrame:
    """The paper's fixed strategies under ``objective.energy_bound``: fp32 and 8-bit uniform at
    ``energy.max_partition`` (the energy the bound applies to), the whole feature extractor at
    8 bits ("8-bit conv/fc", Table 5), and the searched strategy of ``result`` when given."""
    from . import energy as en
    from .search.genome import FP_PAIR, Genome

    space, net = ctx.space, ctx.net
    tx = objective.include_transmission
    rows = []

    def add(name, genome, ev=None, eps=0.0):
        if ev is None:
            e, e0 = ctx.energy(genome)
            priv = float(ctx.privacy(genome))
            rows.append({"strategy": name, "p": genome.p, "privacy": priv, "energy": e,
                         "energy_no_tx": e0, "eps": eps, "key": f"p{genome.p}:fp32"})
        else:
            rows.append({"strategy": name, "p": ev.p, "privacy": ev.privacy, "energy": ev.energy,
                         "energy_no_tx": ev.energy_no_tx, "eps": ev.eps, "key": ev.key})

    try:
        p32 = en.max_partition(net, FULL_PRECISION, objective.energy_bound, transmission=tx)
        add("fp32 (max partition)", Genome(p32, (FP_PAIR,) * space.num_layers))
    except ValueError:
        pass
    try:
        p8 = en.max_partition(net, 8, objective.energy_bound, transmission=tx)
        add("8-bit uniform (max partition)", None,
            evaluator.evaluate(Genome.uniform(space, p8, 8)))
    except ValueError:
        pass
    add("8-bit conv/fc (all blocks)", None,
        evaluator.evaluate(Genome.uniform(space, space.num_units, 8)))
    if result is not None:
        b = result.best
        rows.append({"strategy": "searched (GA, seed %d)" % result.seed, "p": b["p"],
                     "privacy": b["privacy"], "energy": b["energy_mj"],
                     "energy_no_tx": b["energy_no_tx_mj"], "eps": b["eps"], "key": b["key"]})
    df = pd.DataFrame(rows)
    df["energy_bounded"] = _objective_energy(tx, df["energy"], df["energy_no_tx"])
    return df


@dataclass(frozen=True)
class ComparisonPlan:
    """How much of the comparison a profile runs when notebook 07 leaves it to the profile."""

    models: tuple[str, ...] | None = None  # None: the profile's search models
    budget: int | None = None  # None: the genetic search's own number of evaluations


# Decision (ours): every evaluation scores P on the quantized edge (~1-4 s on a 2-core CPU for
# the quick profile's 32 images), so three methods x three seeds x three models at the genetic
# search's full budget (~250 distinct strategies) would take hours. The quick profile therefore
# compares on ResNet18 (the paper's Fig. 12 model) at the first 60 evaluations of every method
# (the genetic search's trace is the prefix of its full run, i.e. the same run stopped earlier);
# the smoke profile (CI) compares ResNet18 alone at its tiny search's full budget.
COMPARISON_PLANS: dict[str, ComparisonPlan] = {
    "smoke": ComparisonPlan(models=("resnet18",)),  # CI: one model keeps it near a minute
    "quick": ComparisonPlan(models=("resnet18",), budget=60),
    "paper": ComparisonPlan(),
}


def comparison_plan(profile: str | Profile | None = None) -> ComparisonPlan:
    """The :class:`ComparisonPlan` of a profile (the full comparison for unknown profiles)."""
    prof = profile if isinstance(profile, Profile) else get_profile(profile)
    return COMPARISON_PLANS.get(prof.name, ComparisonPlan())


def saved_iterations(out_dir: str | Path) -> int | None:
    """Iterations a saved (possibly unfinished) genetic search in ``out_dir`` has run, else None."""
    from .search import STATE_FILE

    path = Path(out_dir) / STATE_FILE
    return int(io.read_json(path)["iteration"]) if path.exists() else None


def _run_ga_for_budget(model: str, prof: Profile, energy_bound: float, seed: int, budget: int,
                       context, progress: bool):
    """The genetic search of ``seed`` run (or resumed) until it has scored at least ``budget``
    distinct strategies: a saved run is reloaded as it is when it already has them; otherwise
    the run is extended (resumed) by the missing number of iterations, up to 20 x budget."""
    from . import search

    out = search.default_out_dir(model, prof.name, energy_bound, seed)
    population = context.settings.population
    iterations = max(saved_iterations(out) or 0, max(1, budget - population))
    while True:
        res = search.run(model, prof, energy_bound=energy_bound, seed=seed, iterations=iterations,
                         context=context, progress=progress)
        if res.evaluations >= budget or iterations >= 20 * budget:
            return res
        iterations += budget - res.evaluations


def compare(model: str, profile: str | Profile | None = None, *,
            energy_bound: float = ENERGY_BOUND_MJ, seeds: Sequence[int] | None = None,
            methods: Sequence[str] = METHODS, order: str = "shuffled",
            iterations: int | None = None, budget: int | None = None, context=None,
            progress: bool = True, force: bool = False) -> Comparison:
    """Run (or reload) the genetic search and the two baselines for every seed, with equal
    budgets, and collect every evaluated strategy.

    ``seeds`` default to ``prof.baseline_seeds``; ``iterations`` overrides the profile's T for
    the genetic search (its budget then follows). The genetic search's runs are the ones
    ``search.run`` caches (seed 0 is notebook 04's).

    ``budget`` caps every method at that many distinct evaluations per seed: the genetic
    search's trace is truncated to its first ``budget`` strategies (the prefix of a longer run is
    exactly the same run stopped earlier), and a seed without a long enough saved run runs only
    as many iterations as it needs (``iterations`` is then ignored).
    """
    from . import search
    from .search import LOG_FILE

    prof = profile if isinstance(profile, Profile) else get_profile(profile)
    seeds = list(prof.baseline_seeds if seeds is None else seeds)
    unknown = [m for m in methods if m not in METHODS]
    if unknown or "ga" not in methods:
        raise ValueError(f"methods must include 'ga' and come from {METHODS}, got {list(methods)}")
    t0 = time.perf_counter()
    if context is None:
        context = search.build_context(model, prof, progress=progress)
    objective = context.objective(energy_bound)
    est_name = context.settings.estimator
    traces: list[Trace] = []
    results, budgets = {}, {}
    if budget is not None:
        budget = _check_budget(budget)
    for seed in seeds:
        if budget is None:
            results[seed] = search.run(model, prof, energy_bound=energy_bound, seed=seed,
                                       iterations=iterations, context=context, progress=progress)
        else:
            results[seed] = _run_ga_for_budget(model, prof, energy_bound, seed, budget, context,
                                               progress)
    ga_logs = {s: Path(r.out_dir) / LOG_FILE for s, r in results.items()}
    settings_fp = {k: v for k, v in results[seeds[0]].settings.items() if k != "seed"}
    evaluators = {}
    for seed in seeds:
        res = results[seed]
        out = baseline_dir(model, prof.name, energy_bound, seed)
        ev = context.evaluator(objective, est_name, seed=seed, log_path=out / LOG_FILE)
        shared = ([ga_logs[seed]] if est_name not in SEED_FREE_ESTIMATORS else
                  list(ga_logs.values()) + [baseline_dir(model, prof.name, energy_bound, s) / LOG_FILE
                                            for s in seeds if s != seed])
        _warm(ev, shared)
        evaluators[seed] = ev
        ga = ga_trace(res, ev)
        if budget is not None and ga.evaluations > budget:
            ga.records = ga.records[:budget]
            ga.budget = budget
        n_evals = ga.evaluations
        budgets[seed] = n_evals
        traces.append(ga)
        for method in methods:
            if method == "ga":
                continue
            path = out / f"{method}.json"
            fingerprint = json_safe({"budget": n_evals, "order": order if method == "exhaustive" else None,
                                     "search": settings_fp, "energy_bound": energy_bound,
                                     "data": context.provenance, "ga_key": res.best["key"]})
            trace = None
            if path.exists() and not force:
                cached = Trace.from_dict(io.read_json(path))
                if cached.fingerprint == fingerprint and cached.version == TRACE_VERSION:
                    trace = cached
            if trace is None:
                if method == "random":
                    trace = random_search(ev, n_evals, seed, progress=progress)
                else:
                    trace = exhaustive_search(ev, n_evals, seed, order=order,
                                              progress=progress)
                trace.fingerprint = fingerprint
                io.write_json(path, trace.to_dict())
            traces.append(trace)
    # every distinct strategy any method scored
    recs = {}
    for t in traces:
        for r in t.records:
            recs.setdefault(r["key"], r)
    points = pd.DataFrame(list(recs.values()))
    tx = objective.include_transmission
    points["energy_bounded"] = _objective_energy(tx, points["energy"], points["energy_no_tx"])
    ref_eval = context.evaluator(objective, est_name, seed=seeds[0],
                                 log_path=baseline_dir(model, prof.name, energy_bound, seeds[0])
                                 / LOG_FILE)
    _warm(ref_eval, [ga_logs[seeds[0]]])
    references = reference_points(context, objective, ref_eval, results[seeds[0]])
    return Comparison(model=model, profile=prof.name, energy_bound=energy_bound,
                      accuracy_bound=objective.accuracy_bound, include_transmission=tx,
                      estimator=est_name, data=context.provenance, traces=traces,
                      ga_results=results, points=points, references=references, budgets=budgets,
                      grid_size=grid_size(context.space), seconds=time.perf_counter() - t0,
                      context=context)


def uniform_sweep(comparison: Comparison, bounds: Sequence[float], bits: int = 8) -> pd.DataFrame:
    """The paper's fixed baseline at every energy bound: all searched layers at ``bits`` (32 =
    full precision) and the deepest partition point under the bound (``energy.max_partition``,
    the energy the search's bound applies to), with its privacy and ε."""
    from . import energy as en
    from .search.genome import FP_PAIR, Genome

    ctx = comparison.context
    ev = comparison.evaluator() if bits != FULL_PRECISION else None
    rows = []
    for b in bounds:
        try:
            p = en.max_partition(ctx.net, bits, b, transmission=comparison.include_transmission)
        except ValueError:
            rows.append({"energy_bound": b, "bits": bits, "p": np.nan, "privacy": np.nan,
                         "energy_bounded": np.nan, "eps": np.nan})
            continue
        if bits == FULL_PRECISION:
            g = Genome(p, (FP_PAIR,) * ctx.space.num_layers)
            e, e0 = ctx.energy(g)
            priv, eps = float(ctx.privacy(g)), 0.0
        else:
            r = ev.evaluate(Genome.uniform(ctx.space, p, bits))
            e, e0, priv, eps = r.energy, r.energy_no_tx, r.privacy, r.eps
        rows.append({"energy_bound": b, "bits": bits, "p": p, "privacy": priv,
                     "energy_bounded": _objective_energy(comparison.include_transmission, e, e0),
                     "eps": eps})
    return pd.DataFrame(rows)


def json_safe(obj: Any) -> Any:
    import json

    return json.loads(json.dumps(obj, sort_keys=True, default=str))


# --- E_tran sensitivity ---------------------------------------------------------------------------

def transmission_sensitivity(net, points: pd.DataFrame, references: pd.DataFrame, *,
                             energy_bound: float = ENERGY_BOUND_MJ, eps_bound: float | None = None,
                             e_trans: dict[str, float] | None = None) -> pd.DataFrame:
    """How Table 4's reading changes when E in Eq. 4 includes E_T at other per-bit energies.

    One row per E_tran (plus "compute only", E_T left out as in the paper's tables): how many
    blocks fp32 and 8-bit uniform may put on the edge under ``energy_bound``, the cheapest 8-bit
    uniform partition point and its energy, and the most private strategy among the logged and
    reference ones whose energy (recomputed with that E_tran) meets the bound, with its ε within
    ``eps_bound``.
    """
    from . import energy as en

    e_trans = dict(RADIO_E_TRAN_PJ_PER_BIT if e_trans is None else e_trans)
    cand = pd.concat([points.assign(source="logged"),
                      references.assign(source="reference")], ignore_index=True)
    if eps_bound is not None:
        cand = cand[cand["eps"] <= eps_bound]
    rows = []
    settings = [("compute only (no E_T)", None)] + list(e_trans.items())
    for name, e_tran in settings:
        tx = e_tran is not None
        kw = {"e_tran_pj_per_bit": e_tran} if tx else {}
        row: dict[str, Any] = {"setting": name, "E_tran_pJ_per_bit": e_tran if tx else 0.0}
        for bits, label in ((FULL_PRECISION, "fp32"), (8, "8bit")):
            try:
                row[f"blocks_{label}"] = en.max_partition(net, bits, energy_bound, transmission=tx, **kw)
            except ValueError:
                row[f"blocks_{label}"] = None
        e8 = en.partition_energies(net, 8, transmission=tx, **kw)
        row["cheapest_p_8bit"] = int(np.argmin(e8))
        row["cheapest_energy_8bit_mJ"] = float(np.min(e8))
        e_img = (3 * 32 * 32 * 8 * (e_tran or 0.0)) / 1e9
        row["raw_image_8bit_tx_mJ"] = e_img
        e = (energy_at(cand["energy"], cand["energy_no_tx"], e_tran) if tx
             else cand["energy_no_tx"])
        ok = cand[np.asarray(e) <= energy_bound]
        if len(ok):
            best = ok.loc[ok["privacy"].idxmax()]
            row["best_privacy"] = float(best["privacy"])
            row["best_strategy"] = (best["strategy"] if isinstance(best.get("strategy"), str)
                                    else describe_key(best["key"]))
        else:
            row["best_privacy"] = np.nan
            row["best_strategy"] = "none fits"
        rows.append(row)
    return pd.DataFrame(rows)


__all__ = ["METHODS", "METHOD_LABELS", "RADIO_E_TRAN_PJ_PER_BIT", "RADIO_SOURCE", "Trace",
           "exhaustive_grid", "grid_size", "random_search", "exhaustive_search", "curve_frame",
           "curve_summary", "pareto_mask", "best_under_bounds", "energy_at", "describe_key",
           "baseline_dir", "ga_trace", "Comparison", "reference_points", "compare", "uniform_sweep",
           "transmission_sensitivity", "ComparisonPlan", "COMPARISON_PLANS", "comparison_plan",
           "saved_iterations"]
