"""Algorithm 1 (steady-state evolution search) with an atomic checkpoint after every iteration.

1. Population: ``N`` random genomes (RANDOM_POLICY), each scored by Eq. 11.
2. ``T`` iterations: draw ``S`` distinct members, the fittest is the parent, its mutation the
   child; the child is scored, the worst of the sample leaves the population, the child joins.
3. The answer is the highest-fitness strategy ever scored.

Decisions where the paper is silent: ties in a sample go to the member listed first in the draw
(``numpy.argmax`` / ``argmin``), ties for the best-ever to the strategy scored first; the worst of
the sample leaves even when the child is worse still (steady state, as the text says); a child equal
to its parent (a mutation may re-draw the same values) joins again and costs a cache hit.

All randomness comes from one ``numpy.random.Generator`` seeded by ``seed``; the draws never depend
on measured values except through the fitness comparisons, and measurements are deterministic, so
the same seed gives the same search. The state (population genomes, completed iterations, the
generator's ``bit_generator.state``, history, best key) is written atomically to ``state.json`` after
the initial population and after every iteration; a rerun reloads it and the evaluation log and
continues exactly where the interrupted run stood (an iteration cut short is redone; its child is
then a cache hit if it was already logged).

Parallel Algorithm 1 (``batch`` K > 1, docs/decisions/scale.md §1): each round draws K samples of S
from the same population and mutates each winner (all of the round's random draws happen before
any scoring), scores the K children concurrently through an executor
(:mod:`paperlib.infra.executors`), then applies them in draw order: the worst of the child's sample that
is still in the population leaves, the child joins. ``iterations`` T still counts children (the last
round is cut to what is left), so equal T means an equal budget for every K. K = 1 is the serial
algorithm above, draw for draw. The state is saved after every round; a round cut short is redrawn
from the saved generator state and its already-logged children are cache hits.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Callable

import numpy as np
from ..infra.progress import tqdm

from ..infra import config, io
from ..method.profiles import SearchSettings
from .evaluator import Evaluation, Evaluator
from ..method.genome import Genome, check
from . import ranges
from .repair import repaired
from .selection import Rank, first_best, first_worst, ranker
from .initial import initial_population
from .variation import mutate

log = logging.getLogger(__name__)
STATE_FIX = ("delete it to restart the search (the strategies already scored stay in "
             "evaluations.jsonl and are not measured again)")

STATE_VERSION = 1
_SEARCH_DEFAULTS = SearchSettings()


@dataclass(frozen=True)
class EvolutionSettings:
    """Algorithm 1's N, S, T and mutation probabilities, and the seed.

    The first five are the :class:`~paperlib.method.profiles.SearchSettings` fields of the same names,
    with their defaults; :meth:`from_search` takes them from a profile's settings."""

    population: int = _SEARCH_DEFAULTS.population
    sample: int = _SEARCH_DEFAULTS.sample
    iterations: int = _SEARCH_DEFAULTS.iterations
    p_mutate_partition: float = _SEARCH_DEFAULTS.p_mutate_partition
    p_mutate_layer: float = _SEARCH_DEFAULTS.p_mutate_layer
    # Algorithm 1 as the paper gives it unless changed (a profile's SearchSettings picks the
    # package's default search: init "baselines", docs/decisions/paper-method.md §8)
    init: str = "random"
    repair_steps: int = 0
    selection: str = "fitness"
    seed: int = 0
    batch: int = 1  # K children per round (docs/decisions/scale.md §1)

    @classmethod
    def from_search(cls, settings: SearchSettings, seed: int = 0,
                    batch: int = 1) -> "EvolutionSettings":
        """The evolution part of ``settings``, with ``seed`` and ``batch`` K."""
        values = {name: getattr(settings, name) for name in EVOLUTION_FIELDS}
        if values["init"] == "random":  # repair is the default search's; Algorithm 1 has none
            values["repair_steps"] = 0
        return cls(**values, seed=seed, batch=batch)

    def fingerprint(self) -> dict[str, Any]:
        """The settings a saved state must match (``batch`` only when K > 1, so that a serial
        state written before K existed still resumes)."""
        d = asdict(self)
        for name, paper in (("batch", 1), *ALGORITHM_1.items()):
            if d[name] == paper:  # a state saved before these settings existed still resumes
                del d[name]
        if self.repair_steps and self.default_search:
            d["repair"] = REPAIR_RULE  # a state of the earlier rule (repair after scoring) is refused
        return d

    @property
    def default_search(self) -> bool:
        """True for the package's default search (``init="baselines"``), False for Algorithm 1."""
        return self.init == "baselines"

    def __post_init__(self) -> None:
        if self.population < 1:
            raise ValueError(f"population N must be at least 1, got {self.population}")
        if not 1 <= self.sample <= self.population:
            raise ValueError(f"sample size S={self.sample} must lie in 1..N={self.population} "
                             "(S distinct members are drawn from the population)")
        if isinstance(self.batch, bool) or not isinstance(self.batch, int) or self.batch < 1:
            raise ValueError(f"batch K (--batch) must be a positive integer, got {self.batch!r}")
        if self.iterations < 0:
            raise ValueError(f"iterations T must be >= 0, got {self.iterations}")
        for name in ranges.CHOICES:
            ranges.check_choice(name, getattr(self, name))
        if isinstance(self.repair_steps, bool) or not isinstance(self.repair_steps, int) \
                or self.repair_steps < 0:
            raise ValueError(f"repair_steps must be a non-negative integer, got {self.repair_steps!r}")
        for name in ("p_mutate_partition", "p_mutate_layer"):
            prob = getattr(self, name)
            if not 0 <= prob <= 1:
                raise ValueError(f"{name} must be a probability in [0, 1], got {prob}")


@dataclass
class EvolutionOutcome:
    best: Evaluation
    history: list[dict[str, Any]]
    population: list[Genome]
    iterations: int
    evaluations: int  # distinct strategies scored by this search
    seen_keys: list[str]  # their keys, in the order they were first scored
    search_seconds: float  # wall time spent in the loop, summed over resumed sessions


Hook = Callable[[str, int, Evaluation], None]  # (phase "init" | "iteration", index, evaluation)


def _history_entry(iteration: int, best: Evaluation, pop_fits: list[float], child: Evaluation | None,
                   seen: dict[str, None]) -> dict[str, Any]:
    return {"iteration": iteration, "best_fitness": best.fitness, "best_privacy": best.privacy,
            "best_energy": best.energy, "best_energy_no_tx": best.energy_no_tx,
            "best_eps": best.eps, "best_key": best.key, "best_p": best.p,
            "population_mean_fitness": float(np.mean(pop_fits)),
            "child_fitness": None if child is None else child.fitness,
            "evaluations": len(seen)}


def _better(ev: Evaluation, best: Evaluation | None) -> bool:
    return best is None or ev.fitness > best.fitness


def _draw_round(population: list[Genome], fits: list[Rank], settings: EvolutionSettings,
                space, rng: np.random.Generator, k: int) -> list[tuple[np.ndarray, Genome]]:
    """The ``k`` (sample, child) pairs of one round, all drawn before any scoring (Alg. 1 lines
    4-6 repeated k times on the same population). ``fits``: each member's rank
    (:mod:`.selection`)."""
    draws = []
    for _ in range(k):
        idx = rng.choice(len(population), size=settings.sample, replace=False)
        parent = population[int(idx[first_best([fits[j] for j in idx])])]
        draws.append((idx, mutate(parent, space, rng, settings.p_mutate_partition,
                                  settings.p_mutate_layer, fresh_exposed=settings.default_search)))
    return draws


def _initial_population(evaluator: Evaluator, settings: EvolutionSettings,
                        rng: np.random.Generator) -> tuple[list[Genome], list[Evaluation]]:
    """Algorithm 1's N random genomes, or (default search) the uniform baselines and random
    genomes for the rest (:func:`.initial.initial_population`, the one function NSGA-II starts
    from too). Returns the population and the evaluations scored to find the baselines."""
    start = initial_population(evaluator, settings.population, rng, init=settings.init)
    return list(start.genomes), list(start.tried)


def _leaver(idx: np.ndarray, gone: set[int], fits: list[Rank]) -> int:
    """The member of the round's population that a child drawn with sample ``idx`` replaces: the
    worst of its sample still present (ties: first in the draw); when every member of the sample
    has already left this round, the worst member still present (docs/decisions/scale.md §1)."""
    present = [int(j) for j in idx if int(j) not in gone]
    if not present:
        present = [j for j in range(len(fits)) if j not in gone]
    return present[first_worst([fits[j] for j in present])]


def evolve(evaluator: Evaluator, settings: EvolutionSettings, state_path: str | Path | None = None,
           *, fingerprint: dict[str, Any] | None = None, progress: bool = True,
           hook: Hook | None = None, executor: Any = None) -> EvolutionOutcome:
    """Run (or resume) Algorithm 1. ``fingerprint`` (JSON-able) must match a resumed state's.

    ``hook`` is called after every scored genome (tests use it to simulate a kill). ``executor``
    (:mod:`paperlib.infra.executors`; default: in this process) scores each round's children; the
    result does not depend on it."""
    space = evaluator.space
    state_path = Path(state_path) if state_path is not None else None
    fingerprint = {"settings": settings.fingerprint(), **(fingerprint or {})}
    rng = np.random.default_rng(settings.seed)
    rank = ranker(settings.selection, evaluator.objective)

    def ranks(population: list[Genome]) -> list[Rank]:
        return [rank(evaluator.evaluate(g, count=False)) for g in population]
    state = (io.read_json(state_path, fix=STATE_FIX)
             if state_path is not None and state_path.exists() else None)
    if state is not None:
        _check_state_layout(state, space, state_path)
        _check_state(state, fingerprint, settings, state_path)
        _report_resume(state, settings, state_path)
    t_start = time.perf_counter()
    prior_seconds = state["search_seconds"] if state else 0.0
    bar = tqdm(total=settings.population + settings.iterations, desc="search", disable=not progress,
               dynamic_ncols=True)

    def save(iteration: int, population: list[Genome], best: Evaluation, history: list) -> None:
        if state_path is None:
            return
        io.write_json(state_path, {
            "version": STATE_VERSION, "fingerprint": fingerprint, "iteration": iteration,
            "population": [g.to_dict() for g in population],
            "population_keys": [evaluator.key(g) for g in population],
            "rng": rng.bit_generator.state, "best_key": best.key, "history": history,
            "seen_keys": list(seen),
            "search_seconds": prior_seconds + time.perf_counter() - t_start,
        })

    try:
        if state is None:
            population, tried = _initial_population(evaluator, settings, rng)
            best: Evaluation | None = None
            seen: dict[str, None] = {}  # distinct strategies scored, in order (an ordered set)
            for ev in tried:  # the baselines' search for their deepest feasible p
                seen[ev.key] = None
                if _better(ev, best):
                    best = ev
            for i, genome in enumerate(population):
                ev = evaluator.evaluate(genome)
                seen[ev.key] = None
                if _better(ev, best):
                    best = ev
                bar.update(1)
                bar.set_postfix(best=f"{best.fitness:.4f}", refresh=False)
                if hook:
                    hook("init", i, ev)
            assert best is not None
            fits = [evaluator.fitness(g) for g in population]
            history = [_history_entry(0, best, fits, None, seen)]
            start = 1
            save(0, population, best, history)
        else:
            population = [Genome.from_dict(g) for g in state["population"]]
            rng.bit_generator.state = state["rng"]
            history = state["history"]
            seen = dict.fromkeys(state["seen_keys"])
            best = _replay_best(evaluator, population, state)
            start = state["iteration"] + 1
            bar.update(settings.population + state["iteration"])
            bar.set_postfix(best=f"{best.fitness:.4f}", refresh=False)
        it = start - 1  # children applied so far
        while it < settings.iterations:
            k = min(settings.batch, settings.iterations - it)
            fits = ranks(population)
            draws = _draw_round(population, fits, settings, space, rng, k)
            if settings.repair_steps and settings.default_search:  # before scoring: no P spent
                draws = [(idx, repaired(evaluator, child, settings.repair_steps))
                         for idx, child in draws]
            evs = evaluator.evaluate_many([child for _, child in draws], executor)
            gone: set[int] = set()
            survivors = list(population)
            children: list[Genome] = []
            for (idx, child), ev in zip(draws, evs):
                it += 1
                gone.add(_leaver(idx, gone, fits))
                children.append(child)
                seen[ev.key] = None
                if _better(ev, best):
                    best = ev
                population = [g for j, g in enumerate(survivors) if j not in gone] + children
                history.append(_history_entry(it, best, [evaluator.fitness(g) for g in population],
                                              ev, seen))
                bar.update(1)
                bar.set_postfix(best=f"{best.fitness:.4f}", refresh=False)
            save(it, population, best, history)
            if hook:
                for j, ev in enumerate(evs):
                    hook("iteration", it - k + 1 + j, ev)
    finally:
        bar.close()
    return EvolutionOutcome(best=best, history=history, population=population,
                            iterations=settings.iterations, evaluations=len(seen),
                            seen_keys=list(seen),
                            search_seconds=prior_seconds + time.perf_counter() - t_start)


def _replay_best(evaluator: Evaluator, population: list[Genome], state: dict) -> Evaluation:
    """The best-so-far of a resumed state: its recorded key, re-scored through the cache."""
    ev = evaluator.cache.get(state["best_key"])
    if ev is None:  # the log lost it (e.g. deleted): find the genome and measure it again
        candidates = [g for g in population if evaluator.key(g) == state["best_key"]]
        if not candidates:
            raise RuntimeError(
                f"cannot resume: the best strategy {state['best_key']} of the saved state is in "
                "neither the evaluation log nor the population; delete the output folder to restart")
        ev = evaluator.evaluate(candidates[0], count=False)
    return ev


def _report_resume(state: dict, settings: EvolutionSettings, path: Path) -> None:
    """Say that (and where) a saved search is resumed: its output is partly from an earlier run."""
    done, where = state["iteration"], config.shown_path(path.parent)
    if done >= settings.iterations:
        log.warning("the search in %s already ran all %d iterations; reusing it", where,
                    settings.iterations)
    else:
        log.warning("continuing at iteration %d of %d: the search in %s had run %d (interrupted, "
                    "or extended to more iterations; %d strategies already scored)", done + 1,
                    settings.iterations, where, done, len(state.get("seen_keys", [])))


STATE_FIELDS = {"version": int, "fingerprint": dict, "iteration": int, "population": list,
                "population_keys": list, "rng": dict, "best_key": str, "history": list,
                "seen_keys": list, "search_seconds": (int, float)}


def _check_state_layout(state: Any, space: Any, path: Path) -> None:
    """A ``state.json`` that is valid JSON but not a saved search (edited, overwritten) is named
    with its file, the field and the fix (docs/decisions/data-integrity.md §13)."""
    if not isinstance(state, dict):
        raise io.DamagedFileError(path, f"a {type(state).__name__}, not a saved search", STATE_FIX)
    for name, kind in STATE_FIELDS.items():
        if name not in state:
            raise io.DamagedFileError(path, f"field {name!r} is missing", STATE_FIX)
        if isinstance(state[name], bool) or not isinstance(state[name], kind):
            raise io.DamagedFileError(path, f"field {name!r} is {state[name]!r}", STATE_FIX)
    for i, g in enumerate(state["population"]):
        try:
            check(Genome.from_dict(g), space)
        except (KeyError, TypeError, ValueError) as exc:
            raise io.DamagedFileError(path, f"field 'population'[{i}] is not a strategy of this "
                                      f"model ({exc})", STATE_FIX) from None


def _check_state(state: dict, fingerprint: dict, settings: EvolutionSettings, path: Path) -> None:
    if state.get("version") != STATE_VERSION:
        raise RuntimeError(f"{path} was written by another version of the search; delete it to restart")
    saved = dict(state.get("fingerprint", {}))
    want = dict(fingerprint)
    saved_settings = dict(saved.pop("settings", {}))
    want_settings = dict(want.pop("settings", {}))
    saved_settings.pop("iterations", None)
    want_settings.pop("iterations", None)
    diff = sorted(k for k in set(saved) | set(want) if saved.get(k) != want.get(k))
    diff += sorted(k for k in set(saved_settings) | set(want_settings)
                   if saved_settings.get(k) != want_settings.get(k))
    if diff:
        raise RuntimeError(
            f"the saved search in {path.parent} was run with other settings ({', '.join(diff)} "
            "differ); pass another --out folder, or delete that one to restart")
    if state["iteration"] > settings.iterations:
        raise RuntimeError(
            f"the saved search in {path.parent} has already run {state['iteration']} iterations, "
            f"more than the {settings.iterations} requested; ask for at least that many or use "
            "another --out folder")


EVOLUTION_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(EvolutionSettings)
                                          if f.name not in ("seed", "batch"))

# the settings that make the search Algorithm 1 as the paper gives it (``--init random``)
ALGORITHM_1: dict[str, object] = {"init": "random", "repair_steps": 0, "selection": "fitness"}
# when the default search repairs a child: by its bounds, before it is scored (:mod:`.repair`)
REPAIR_RULE = "before-scoring"

__all__ = ["EvolutionSettings", "EVOLUTION_FIELDS", "ALGORITHM_1", "EvolutionOutcome", "evolve"]
