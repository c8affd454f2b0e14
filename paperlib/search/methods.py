"""Search methods, by name: Algorithm 1 and the baselines it is compared with at equal budgets.

Every method is registered in :data:`SEARCH_METHODS` with its display label, plot colour and marker;
:func:`paperlib.search.baselines.compare_methods`, the notebooks' loops and legends read them from there. A method
is a function ``method(evaluator, budget, seed, *, progress=False, **options) -> SearchTrace``:
it scores strategies through ``evaluator`` (a :class:`paperlib.search.Evaluator`: the search's P, E,
ε and Eq. 11) until ``budget`` distinct strategies are scored and returns their trace. ``options``
are the keywords of ``compare`` the entry asks for by name in its ``options`` metadata (``order``
for the exhaustive grid, ``ga_result`` for the genetic search's own run, ``executor`` for a method
that can score strategies in parallel, :mod:`paperlib.infra.executors`); ``cached`` says whether
``compare`` keeps its trace in ``<method>.json``. Adding a method is one function plus::

    @SEARCH_METHODS.register("anneal", label="simulated annealing", color="C5", marker="v")
    def anneal(evaluator, budget, seed, *, progress=False) -> SearchTrace: ...

* **ga** (the reference; it fixes the budget): Algorithm 1's own run, read back from its
  evaluation log in the order scored (:func:`ga_trace`); :func:`paperlib.search.run` runs it.
* **random**: genomes drawn exactly as Algorithm 1's RANDOM_POLICY (``search.random_genome``:
  p uniform, every layer's (b_w, b_a) uniform in R_w x R_a: the full mixed-precision space).
* **exhaustive** over (p, uniform bits): every p in 0..num_units with every searched layer at one
  weight width b in R_w (b_a = max R_a = 8): at most ``1 + num_units * |R_w|`` distinct strategies
  (all p = 0 genomes are one strategy, the stem alone), in a deterministic order (``order="grid"``:
  p, then b, ascending) or shuffled by the seed (``order="shuffled"``, so that seeds give a spread
  when the budget truncates the grid).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol

import numpy as np
from ..infra.progress import tqdm

from ..infra import io, result_cache
from ..infra.registry import Registry
from ..method.genome import Genome, key
from .variation import random_genome
from .result import LOG_FILE
from .evaluator import Evaluation


TRACE_VERSION = 1
BUDGET_METHOD = "ga"  # the method whose run fixes every other method's budget

SEARCH_METHODS: Registry = Registry("search method",
                                    defaults={"color": None, "marker": "o", "cached": True,
                                              "options": (), "scalar": True})
# ``scalar=False``: a multi-objective method (NSGA-II, paperlib.search.nsga) that returns a front, not
# a best fitness; :func:`paperlib.search.baselines.compare_methods` leaves it out unless asked for by name.


class _Evaluation(Protocol):
    key: str
    fitness: float


class EvaluatorLike(Protocol):
    """What a search method needs from an evaluator (``paperlib.search.Evaluator`` or a fake)."""

    space: Any

    def evaluate(self, genome: Any) -> _Evaluation: ...


@dataclass
class SearchTrace(io.JsonRecord):
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

    def truncate(self, budget: int) -> "SearchTrace":
        """Keep the first ``budget`` strategies (the same run stopped earlier)."""
        if self.evaluations > budget:
            self.records = self.records[:budget]
            self.budget = budget
        return self


def record(ev: Any) -> dict[str, Any]:
    """The trace record of one :class:`~paperlib.search.Evaluation` (or a look-alike)."""
    d = {"key": ev.key, "fitness": float(ev.fitness)}
    for name in ("p", "privacy", "energy", "energy_no_tx", "eps", "feasible"):
        if hasattr(ev, name):
            d[name] = getattr(ev, name)
    return d


def check_budget(budget: int) -> int:
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
        raise ValueError(f"the evaluation budget must be a positive integer, got {budget!r}")
    return int(budget)


# --- Algorithm 1 ---------------------------------------------------------------------------------

def ga_trace(result, evaluator=None) -> SearchTrace:
    """The genetic search's run as a :class:`SearchTrace`: its evaluation log in the order scored
    (the first ``result.evaluations`` records), fitness re-scored with ``evaluator``'s objective.
    Only records of ``evaluator``'s source count: one made with other settings, weights or
    architecture is never part of the trace (docs/decisions/data-integrity.md §12)."""
    log_path = Path(result.out_dir) / LOG_FILE
    source = getattr(evaluator, "source", None)
    records = []
    for rec in io.read_jsonl(log_path):
        if rec.get("estimator") != result.settings.get("estimator"):
            continue
        if source is not None and rec.get("source") != source:
            continue
        ev = Evaluation.from_dict(rec)
        if evaluator is not None:
            ev.fitness = evaluator.objective.fitness(ev.privacy, ev.energy, ev.energy_no_tx, ev.eps)
            ev.feasible = evaluator.objective.feasible(ev.energy, ev.energy_no_tx, ev.eps)
        records.append(record(ev))
    seen, unique = set(), []
    for r in records:
        if r["key"] not in seen:
            seen.add(r["key"])
            unique.append(r)
    unique = unique[: result.evaluations]
    return SearchTrace("ga", int(result.seed), int(result.evaluations), unique,
                       draws=int(result.timing.get("genomes", len(unique))),
                       seconds=float(result.timing.get("search_seconds", 0.0)))


@SEARCH_METHODS.register("ga", label="genetic search", color="C3", marker="*",
                         cached=False, options=("ga_result",))
def genetic_search(evaluator: EvaluatorLike, budget: int | None, seed: int = 0, *, ga_result,
                   progress: bool = False) -> SearchTrace:
    """The genetic search's run ``ga_result`` (made by :func:`paperlib.search.run` with ``seed``:
    Algorithm 1 with ``init="random"``, the package's default search otherwise) as a trace, cut
    to its first ``budget`` strategies when a budget is given."""
    trace = ga_trace(ga_result, evaluator)
    return trace if budget is None else trace.truncate(check_budget(budget))


# --- the two baselines ----------------------------------------------------------------------------

def exhaustive_grid(space, order: str = "grid", seed: int = 0) -> list[Genome]:
    """Every distinct (p, uniform weight bits) strategy of ``space``: p in 0..num_units, every
    searched layer at (b, max R_a) for b in R_w; the p = 0 strategies (nothing but the stem on the
    edge) are one. ``order``: ``"grid"`` (p, then b, ascending) or ``"shuffled"`` (by ``seed``)."""
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


def score_all(evaluator: EvaluatorLike, genomes: list[Genome], executor: Any = None, *,
              desc: str = "", progress: bool = False) -> list[Any]:
    """The evaluations of ``genomes`` in order: through ``executor`` when one is given (the
    evaluator's distinct uncached strategies scored in parallel, logged in this order), else one
    after the other with a progress bar. Both give the same evaluations and the same log."""
    if executor is not None and hasattr(evaluator, "evaluate_many"):
        return evaluator.evaluate_many(genomes, executor)
    return [evaluator.evaluate(g) for g in tqdm(genomes, desc=desc, disable=not progress,
                                                   dynamic_ncols=True)]


@SEARCH_METHODS.register("random", label="random search", color="C0", marker="o",
                         options=("executor",))
def random_search(evaluator: EvaluatorLike, budget: int, seed: int = 0, *,
                  max_draws: int | None = None, executor: Any = None,
                  progress: bool = False) -> SearchTrace:
    """Draw genomes as RANDOM_POLICY (the genetic search's initial population) until ``budget``
    distinct strategies are drawn (or ``max_draws`` genomes, default 100 x budget), then score
    them (through ``executor`` when given: the draws do not depend on the scores)."""
    budget = check_budget(budget)
    max_draws = max_draws or 100 * budget
    rng = np.random.default_rng(seed)
    trace = SearchTrace("random", seed, budget)
    draws: dict[str, Genome] = {}
    while len(draws) < budget and trace.draws < max_draws:
        genome = random_genome(evaluator.space, rng)
        draws.setdefault(key(genome, evaluator.space), genome)
        trace.draws += 1
    t0 = time.perf_counter()
    evs = score_all(evaluator, list(draws.values()), executor, desc="random search",
                    progress=progress)
    trace.records = [record(ev) for ev in evs]
    trace.seconds = time.perf_counter() - t0
    return trace


@SEARCH_METHODS.register("exhaustive", label="exhaustive (p, uniform bits)", color="C2",
                         marker="s", options=("order", "executor"))
def exhaustive_search(evaluator: EvaluatorLike, budget: int, seed: int = 0, *,
                      order: str = "shuffled", executor: Any = None,
                      progress: bool = False) -> SearchTrace:
    """Score the (p, uniform bits) grid (:func:`exhaustive_grid`) in ``order``, stopping after
    ``budget`` strategies or at the end of the grid, whichever comes first."""
    budget = check_budget(budget)
    grid = exhaustive_grid(evaluator.space, order, seed)[:budget]
    trace = SearchTrace("exhaustive", seed, budget)
    t0 = time.perf_counter()
    evs = score_all(evaluator, grid, executor, desc="exhaustive search", progress=progress)
    trace.records = [record(ev) for ev in evs]
    trace.draws = len(grid)
    trace.seconds = time.perf_counter() - t0
    return trace


def cached_trace(path: Path, fingerprint: Any, run: Callable[[], SearchTrace], *,
                 reuse: bool = True) -> SearchTrace:
    """The trace saved in ``path`` when its fingerprint and :data:`TRACE_VERSION` match (and
    ``reuse``), else ``run()``'s, stamped with ``fingerprint`` and saved there
    (:mod:`paperlib.infra.result_cache`; docs/decisions/data-integrity.md §12)."""
    stored = (result_cache.load_json(path, fingerprint,
                                     valid=lambda blob: blob.get("version") == TRACE_VERSION)
              if reuse else None)
    if stored is not None:
        return SearchTrace.from_dict(stored)
    trace = run()
    trace.fingerprint = io.json_safe(fingerprint)
    result_cache.save_json(path, fingerprint, trace.to_dict())
    return trace


def distinct_records(record_lists: Iterable[Iterable[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Every distinct strategy (by key) of the record lists, the first record of each kept."""
    seen: dict[str, dict[str, Any]] = {}
    for records in record_lists:
        for r in records:
            seen.setdefault(r["key"], r)
    return list(seen.values())


def run_method(name: str, evaluator: EvaluatorLike, budget: int | None, seed: int, *,
               progress: bool = False, **options: Any) -> SearchTrace:
    """Run the registered method ``name``, passing it the ``options`` its entry asks for."""
    entry = SEARCH_METHODS.entry(name)
    wanted = {k: options[k] for k in entry.options if k in options}
    trace = entry.obj(evaluator, budget, seed, progress=progress, **wanted)
    trace.method = name
    return trace


__all__ = ["SEARCH_METHODS", "BUDGET_METHOD", "SearchTrace", "TRACE_VERSION", "EvaluatorLike",
           "record", "check_budget", "ga_trace", "genetic_search", "exhaustive_grid", "grid_size",
           "random_search", "exhaustive_search", "score_all", "cached_trace", "distinct_records",
           "run_method"]
