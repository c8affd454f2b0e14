"""Scoring one strategy: privacy P, edge energy E and accuracy loss ε, combined by Eq. 11.

An :class:`Evaluator` owns the three measurements (pluggable, so that tests and other searches —
random search, exhaustive search over (p, uniform bits) — reuse them) and a cache keyed by the
canonical genome key (:func:`genome.key`): a strategy is measured once however many genomes map to
it. Every measured strategy is appended to a JSONL log as soon as it is done; reloading the log
rebuilds the cache, which is how an interrupted search resumes without measuring anything twice.

Decisions (the paper is silent on them; docs/decisions/paper-method.md §4, §5):

* P is measured on the *post-training* quantized edge (the trained weights quantized by Π, no
  finetuning), so that it does not depend on the ε estimator; the IR is quantized at the policy's
  IR width as it is sent. MSE with the standard per-image normalisation (§4 there).
* E is logged with and without the transmission term E_T (Eq. 7, 9); the :class:`Objective`
  says which of the two the energy bound applies to (``SearchSettings.include_transmission``).
* ε may be negative (the quantized model scores better); Eq. 12 then does not punish.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Protocol

import numpy as np
import torch
from torch import nn

from . import ranges
from ..method import data, models
from ..infra import io
from ..method.constants import LAMBDA_ACCURACY, LAMBDA_ENERGY
from . import fitness as fit
from ..method.genome import Genome, GenomeSpace, check as check_genome, key as genome_key
from ..method import energy
from ..method import privacy, quant

log = logging.getLogger(__name__)


# --- the three measurements --------------------------------------------------------------------

@dataclass(frozen=True)
class AccuracyEstimate:
    """ε = ``top1_fp − top1_quant`` (Eq. 10), both measured by one estimator on one image set."""

    eps: float
    top1_fp: float
    top1_quant: float


class Estimator(Protocol):
    """An ε estimator (see :mod:`paperlib.search.estimators`)."""

    name: str

    def prepare(self) -> None: ...

    def estimate(self, genome: Genome, seed: int) -> AccuracyEstimate: ...


EnergyFn = Callable[[Genome], "tuple[float, float]"]  # -> (E with E_T, E without E_T), mJ
PrivacyFn = Callable[[Genome], float]


def seed_for(seed: int, key: str) -> int:
    """A 31-bit torch seed derived from the search seed and a strategy key (deterministic)."""
    digest = hashlib.sha256(f"{seed}|{key}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


class EdgeEnergy:
    """E(M_edge, Π) of Eq. 7 with and without E_T, from :class:`paperlib.method.energy.EnergyModel`'s
    precomputed per-layer arrays (microseconds per call)."""

    def __init__(self, net: nn.Module, space: GenomeSpace) -> None:
        self.space = space
        self._model = energy.EnergyModel.for_net(net)  # on the hardware description in use
        self.hardware = self._model.hardware
        if self._model.n_layers != space.num_layers:
            raise ValueError(f"energy model has {self._model.n_layers} layers, the genome space "
                             f"{space.num_layers}")

    def __call__(self, genome: Genome) -> tuple[float, float]:
        bits = np.asarray(genome.bits, dtype=np.float64)
        bw, ba = bits[:, 0], bits[:, 1]
        e0 = self._model.compute_mj(genome.p, bw, ba)
        e_t = self._model.transmission_mj(genome.p, self._model.ir_bits(genome.p, bw, ba))
        return float(e0 + e_t), float(e0)

    def minimum(self, transmission: bool = True) -> tuple[float, int]:
        """The cheapest strategy's energy (every searched layer at the lowest bits) and its p."""
        lo_w, lo_a = min(self.space.weight_bits), min(self.space.activation_bits)
        energies = [(self(Genome.uniform(self.space, p, lo_w, lo_a))[0 if transmission else 1], p)
                    for p in range(self.space.num_units + 1)]
        return min(energies)


class EdgePrivacy:
    """P(M, p, Π) of Eq. 1-2: privacy of the quantized IR of the edge part on fixed images."""

    def __init__(self, net: nn.Module, images_uint8: torch.Tensor, dataset: str,
                 dist: str = "mse") -> None:
        self.net = net
        self.x01 = data.to_unit(images_uint8)
        self.x = data.normalize(self.x01, dataset)
        self.dist = dist
        self._device = next(net.parameters()).device
        # kept on the model's device: P is computed there, in float32 (docs/decisions/scale.md §6)
        self._x01_on_device = self.x01.to(self._device)
        self._x_on_device = self.x.to(self._device)

    def __call__(self, genome: Genome) -> float:
        return self.of(quant.quantize_edge(self.net, genome.p, genome.policy).eval(), genome.p)

    @torch.no_grad()
    def of(self, qnet: nn.Module, p: int) -> float:
        """P of the IR that the edge of ``qnet`` (a quantized copy of ``net``) sends at ``p``."""
        edge, _ = models.split(qnet, p)
        ir = edge(self._x_on_device).float()
        return float(privacy.privacy(self._x01_on_device, ir, dist=self.dist))


# --- the objective -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Objective:
    """Eq. 11's bounds and punishment coefficients, and which energy the bound applies to:
    with the transmission term E_T of Eq. 7 (``include_transmission``) or the edge compute only
    (the profiles' default: the paper's Table 5 energies are compute only, see
    ``SearchSettings.include_transmission``)."""

    energy_bound: float
    accuracy_bound: float
    lambda_energy: float = LAMBDA_ENERGY
    lambda_accuracy: float = LAMBDA_ACCURACY
    include_transmission: bool = False

    def __post_init__(self) -> None:
        ranges.ENERGY_BOUND.check("the energy bound E_b", self.energy_bound)
        ranges.ACCURACY_BOUND.check("the accuracy-loss bound eps_b", self.accuracy_bound)
        for name in ("lambda_energy", "lambda_accuracy"):
            ranges.SEARCH_SETTINGS[name].check(name, getattr(self, name))

    def energy(self, energy: float, energy_no_tx: float) -> float:
        """The E that Eq. 11 punishes: with or without E_T."""
        return energy if self.include_transmission else energy_no_tx

    def fitness(self, privacy: float, energy: float, energy_no_tx: float, eps: float) -> float:
        return fit.fitness(privacy, self.energy(energy, energy_no_tx), eps, self.energy_bound,
                           self.accuracy_bound, self.lambda_energy, self.lambda_accuracy)

    def feasible(self, energy: float, energy_no_tx: float, eps: float) -> bool:
        return fit.feasible(self.energy(energy, energy_no_tx), eps, self.energy_bound,
                            self.accuracy_bound)


@dataclass(frozen=True)
class BoundsCheck:
    """A strategy's two constrained quantities of Eq. 4 (E, with and without E_T, and the search
    estimator's ε) and whether it meets both bounds: what is known of it before its P, the
    costly measurement, is taken (docs/decisions/paper-method.md §8)."""

    energy: float
    energy_no_tx: float
    eps: float
    feasible: bool


# --- evaluations -------------------------------------------------------------------------------

@dataclass
class Evaluation(io.JsonRecord):
    """One measured strategy, as logged (one JSONL line per strategy)."""

    key: str
    genome: dict[str, Any]  # the first genome seen with this key (masked entries included)
    p: int
    privacy: float
    energy: float  # mJ, with E_T
    energy_no_tx: float  # mJ, without E_T
    eps: float
    top1_fp: float
    top1_quant: float
    fitness: float
    feasible: bool
    estimator: str
    seconds: dict[str, float] = field(default_factory=dict)  # accuracy, privacy, energy
    # what the numbers depend on (SearchContext.record_source; docs/decisions/data-integrity.md §10)
    source: dict[str, Any] = field(default_factory=dict)


class Evaluator:
    """Scores genomes by Eq. 11 with a cache keyed by the canonical strategy key.

    ``evaluate(genome)`` returns the cached :class:`Evaluation` when the strategy was seen before
    (``hits`` counts those), otherwise measures E, P and ε (``computed`` counts those), logs the
    record to ``log_path`` (if any) and caches it. Fitness is recomputed from (P, E, ε) with this
    evaluator's :class:`Objective` when records are reloaded, so a log stays valid for any bound.
    """

    def __init__(self, space: GenomeSpace, energy: EnergyFn, privacy: PrivacyFn,
                 estimator: Estimator, objective: Objective, *, seed: int = 0,
                 log_path: str | os.PathLike | None = None,
                 source: dict[str, Any] | None = None) -> None:
        self.space = space
        self.energy = energy
        self.privacy = privacy
        self.estimator = estimator
        self.objective = objective
        self.seed = seed
        self.log_path = Path(log_path) if log_path is not None else None
        # every record carries it; a logged record with another one is set aside, never reused
        self.source = io.json_safe(source) if source is not None else None
        self.set_aside = 0  # records of other sources found in the logs read so far
        self.cache: dict[str, Evaluation] = {}
        self._estimates: dict[str, AccuracyEstimate] = {}  # ε known before P (:meth:`bounds`)
        self.requests = 0
        self.hits = 0
        self.computed = 0
        self.seconds = {"accuracy": 0.0, "privacy": 0.0, "energy": 0.0}  # this session only

    def load_log(self) -> int:
        """Fill the cache from ``log_path``. Records of another estimator are skipped; records of
        another source (model, weights, data, settings) are moved to ``evaluations.set-aside.jsonl``
        beside it, with a warning naming what differed (docs/decisions/data-integrity.md §10)."""
        return 0 if self.log_path is None else self._load(self.log_path, own=True)

    def warm(self, logs: Iterable[str | os.PathLike]) -> int:
        """Cache the records of other evaluation logs (this estimator's and this source's only;
        they are not logged again here): strategies another run scored cost nothing. Returns how
        many were added."""
        return sum(self._load(Path(log), own=False) for log in logs
                   if Path(log).exists() and Path(log) != self.log_path)

    def _load(self, path: Path, *, own: bool) -> int:
        if own:
            _end_with_newline(path)
        loaded, kept, stale = 0, [], []
        differ: set[str] = set()
        for lineno, line, rec in _numbered_records(path):
            if rec.get("estimator") != self.estimator.name:
                kept.append(line)
                continue
            if self.source is not None and rec.get("source") != self.source:
                stale.append(line)
                differ |= _differing(rec.get("source"), self.source)
                continue
            check_record(rec, self.space, path, lineno)
            kept.append(line)
            if rec["key"] in self.cache:
                continue
            ev = Evaluation.from_dict(rec)
            self._refresh(ev)
            self.cache[ev.key] = ev
            loaded += 1
        if stale:
            self.set_aside += len(stale)
            what = ", ".join(sorted(differ))
            if own:
                aside = path.with_name(SET_ASIDE_FILE)
                with open(aside, "a") as f:
                    f.writelines(line + "\n" for line in stale)
                io.write_text(path, "".join(line + "\n" for line in kept))
                log.warning("set aside %d record(s) of %s made with another %s (not reused; moved "
                            "to %s)", len(stale), path, what, aside)
            else:
                log.warning("not reusing %d record(s) of %s: made with another %s", len(stale),
                            path, what)
        return loaded

    def _refresh(self, ev: Evaluation) -> None:
        ev.fitness = self.objective.fitness(ev.privacy, ev.energy, ev.energy_no_tx, ev.eps)
        ev.feasible = self.objective.feasible(ev.energy, ev.energy_no_tx, ev.eps)

    def key(self, genome: Genome) -> str:
        return genome_key(genome, self.space)

    def fitness(self, genome: Genome) -> float:
        """The fitness of a genome already in the population (not counted as a request)."""
        return self.evaluate(genome, count=False).fitness

    def evaluate(self, genome: Genome, count: bool = True) -> Evaluation:
        """Eq. 11 for ``genome``, measured once per canonical key. ``count=False`` leaves the
        request/hit counters alone (look-ups of population members)."""
        k = self.key(genome)
        hit = self.cache.get(k)
        if count:
            self.requests += 1
            self.hits += hit is not None
        if hit is not None:
            return hit
        return self.store(self.measure(genome, self._estimates.pop(k, None)))

    def estimate(self, genome: Genome) -> AccuracyEstimate:
        """The estimator's ε of ``genome``, seeded as :meth:`measure` seeds it; kept until the
        strategy is measured, which then reuses it instead of estimating again."""
        k = self.key(genome)
        acc = self._estimates.get(k)
        if acc is None:
            acc = self._estimates[k] = self.estimator.estimate(genome, seed_for(self.seed, k))
        return acc

    def bounds(self, genome: Genome) -> BoundsCheck:
        """E, ε and feasibility of ``genome`` without measuring its P (the scored record's when it
        was scored): what the default search repairs a child by (docs/decisions/paper-method.md §8)."""
        ev = self.cache.get(self.key(genome))
        if ev is not None:
            return BoundsCheck(ev.energy, ev.energy_no_tx, ev.eps, ev.feasible)
        energy, energy_no_tx = self.energy(genome)
        eps = self.estimate(genome).eps
        return BoundsCheck(energy, energy_no_tx, eps,
                           self.objective.feasible(energy, energy_no_tx, eps))

    def measure(self, genome: Genome, acc: AccuracyEstimate | None = None) -> Evaluation:
        """E, P and ε of ``genome`` and its Eq. 11 fitness, without the cache or the log (what a
        worker of a parallel search runs; docs/decisions/scale.md §1). ``acc``: its ε estimate
        when already known (:meth:`estimate`), else estimated here."""
        k = self.key(genome)
        t0 = time.perf_counter()
        energy, energy_no_tx = self.energy(genome)
        t1 = time.perf_counter()
        privacy = float(self.privacy(genome))
        t2 = time.perf_counter()
        if acc is None:
            acc = self.estimator.estimate(genome, seed_for(self.seed, k))
        t3 = time.perf_counter()
        for name, value in (("privacy", privacy), ("energy", energy), ("eps", acc.eps)):
            if not math.isfinite(value):
                raise RuntimeError(f"strategy {k}: {name} is {value}; cannot score it")
        seconds = {"energy": t1 - t0, "privacy": t2 - t1, "accuracy": t3 - t2}
        ev = Evaluation(key=k, genome=genome.to_dict(), p=int(genome.p), privacy=privacy,
                        energy=float(energy), energy_no_tx=float(energy_no_tx), eps=float(acc.eps),
                        top1_fp=float(acc.top1_fp), top1_quant=float(acc.top1_quant), fitness=0.0,
                        feasible=False, estimator=self.estimator.name,
                        seconds={n: round(s, 6) for n, s in seconds.items()},
                        source=self.source or {})
        self._refresh(ev)
        return ev

    def store(self, ev: Evaluation) -> Evaluation:
        """Log and cache a measured strategy (the driver alone calls this)."""
        for name in self.seconds:
            self.seconds[name] += ev.seconds.get(name, 0.0)
        if self.log_path is not None:
            io.append_jsonl(self.log_path, ev.to_dict())
        self.cache[ev.key] = ev
        self.computed += 1
        return ev

    def detached(self) -> "Evaluator":
        """A copy without cache, log or counters: what is shipped to workers (made once, so that an
        executor ships it once)."""
        twin = self.__dict__.get("_twin")
        if twin is None:
            twin = copy.copy(self)
            twin.log_path, twin.cache, twin._estimates, twin._twin = None, {}, {}, None
            twin.seconds = dict.fromkeys(self.seconds, 0.0)
            self._twin = twin
        return twin

    def evaluate_many(self, genomes: list[Genome], executor: Any = None) -> list[Evaluation]:
        """:meth:`evaluate` for every genome, the distinct uncached strategies measured through
        ``executor.map`` (default: here, in order) and logged in the order of ``genomes``."""
        keys = [self.key(g) for g in genomes]
        todo: dict[str, Genome] = {}
        for k, g in zip(keys, genomes):
            if k not in self.cache and k not in todo:
                todo[k] = g
        self.requests += len(genomes)
        self.hits += len(genomes) - len(todo)
        if todo:
            jobs = [(g, self._estimates.pop(k, None)) for k, g in todo.items()]
            if executor is None:
                measured = [self.measure(g, acc) for g, acc in jobs]
            else:
                measured = executor.map(measure_strategy, self.detached(), jobs)
            for ev in measured:
                self.store(ev)
        return [self.cache[k] for k in keys]


def measure_strategy(evaluator: Evaluator,
                     job: tuple[Genome, AccuracyEstimate | None]) -> Evaluation:
    """``evaluator.measure(genome, acc)``: the job an executor runs for one strategy."""
    return evaluator.measure(*job)


SET_ASIDE_FILE = "evaluations.set-aside.jsonl"  # records of another source, kept, never reused
_NUMBERS = ("privacy", "energy", "energy_no_tx", "eps", "top1_fp", "top1_quant")


def _numbered_records(path: Path) -> Iterator[tuple[int, str, dict]]:
    """(line number, line, record) of every complete JSON line (a torn line is skipped)."""
    if not path.exists():
        return
    for lineno, line in enumerate(path.read_text().splitlines(), start=1):
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict):
            yield lineno, line, rec


def _differing(saved: Any, want: dict[str, Any]) -> set[str]:
    """The names of the source entries that differ (all of it for a record without one)."""
    if not isinstance(saved, dict):
        return {"source (the record predates source fingerprints)"}
    return {k for k in set(saved) | set(want) if saved.get(k) != want.get(k)}


def check_record(rec: dict[str, Any], space: GenomeSpace, path: Path, lineno: int) -> None:
    """Refuse an impossible evaluation record, naming ``path`` and ``lineno``: its genome must be a
    strategy of ``space`` (p in range, every bit pair in the grid) whose canonical key and p are the
    record's, and its measurements finite numbers (docs/decisions/data-integrity.md §10)."""
    def refuse(why: str) -> None:
        raise ValueError(f"{path}, line {lineno}: impossible evaluation record ({why}); delete "
                         "that line (or the file) and rerun to measure it again")

    try:
        genome = Genome.from_dict(rec["genome"])
    except (KeyError, TypeError, ValueError) as exc:
        refuse(f"no readable genome: {exc}")
    try:
        check_genome(genome, space)
    except ValueError as exc:
        refuse(str(exc))
    if rec.get("p") != genome.p or rec.get("key") != genome_key(genome, space):
        refuse(f"its key {rec.get('key')!r} / p {rec.get('p')!r} do not match its genome "
               f"({genome_key(genome, space)!r}, p {genome.p})")
    for name in _NUMBERS:
        value = rec.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            refuse(f"{name} is {value!r}, not a finite number")


def _end_with_newline(path: Path) -> None:
    """Terminate a torn last line (a kill mid-write) so the next record starts a line of its own."""
    if path.exists() and path.stat().st_size:
        with open(path, "rb+") as f:
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                f.write(b"\n")


__all__ = ["AccuracyEstimate", "BoundsCheck", "Estimator", "EdgeEnergy", "EdgePrivacy", "Objective",
           "Evaluation", "Evaluator", "SET_ASIDE_FILE", "check_record", "seed_for"]
