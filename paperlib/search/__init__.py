"""The maximized-partition search: Algorithm 1 over strategies V = (p, Π), fitness Eq. 10-12.

>>> from paperlib import search
>>> result = search.run("resnet18", "quick", search.RunSettings(energy_bound=0.35, seed=0))  # doctest: +SKIP
>>> result.best["p"], result.best["privacy"], result.best["energy_mj"]    # doctest: +SKIP

Modules: :mod:`paperlib.method.genome` (V, RANDOM_POLICY, MUTATE, canonical keys), :mod:`.fitness` (Eq. 11-12),
:mod:`.estimators` (ε by name: ``finetune``, ``finetune-batches``, ``sensitivity``),
:mod:`.evaluator` (P, E, ε and the cache), :mod:`.context` (checkpoint, data, measurements),
:mod:`.evolution` (Algorithm 1, resumable), :mod:`.result` (``result.json``), :mod:`.reference`
(the reference estimator's ε, ``reference.json``), :mod:`.report_accuracy` (the reported ε of the
best strategy on the report split, ``report.json``), :mod:`.methods` (the registry of search
methods: Algorithm 1 and the baselines), :mod:`.cli`.

Output folder (default ``results/<profile>/search/<model>-eb<E_b>-seed<seed>/``):
``evaluations.jsonl`` (one line per scored strategy), ``state.json`` (checkpoint after every
iteration), ``sensitivity.json`` (for that estimator), ``reference.json`` (the reference
estimator's score of the best strategy, :mod:`.reference`), ``report.json`` (its reported ε on the
report split, :mod:`.report_accuracy`) and ``result.json``. Rerunning the same command resumes.
"""

from __future__ import annotations

import os
import time
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..infra import io
from ..method import strategies
from ..infra.config import results_dir
from ..method.profiles import Profile, SearchSettings, resolve_profile
from .context import SearchContext, build_context, search_settings
from .estimators import ESTIMATORS, EstimatorContext, register
from .evaluator import AccuracyEstimate, Evaluation, Evaluator, Objective, seed_for
from .evolution import ALGORITHM_1, EVOLUTION_FIELDS, EvolutionOutcome, EvolutionSettings, evolve
from .fitness import feasible, fitness, punish
from ..method.genome import Genome, GenomeSpace, key
from .variation import mutate, random_genome
from . import nsga  # noqa: E402,F401  (registers the "nsga2" search method)
from . import rl  # noqa: E402,F401  (registers the "rl" search method, Zhang et al. 2021)
from .rescore import REFERENCE_FILE, reference_estimate
from .report_accuracy import REPORT_FILE, ReportAccuracy, measure_report
from .result import (LOG_FILE, RESULT_FILE, STATE_FILE, BestStrategy, SearchResult, SearchTiming,
                     load_result)
from .run_settings import RunSettings
from .uniform_baselines import margin_over, uniform_baselines
from ..method import hardware as hardware_descriptions



def default_out_dir(model: str, profile: str, energy_bound: float, seed: int,
                    hardware_tag: str = "") -> Path:
    """``results/<profile>/search/<model>-eb<E_b>-seed<seed>/`` (``...-hw-<tag>/`` on another
    hardware description than Table 3, ``Hardware.tag``)."""
    suffix = f"-hw-{hardware_tag}" if hardware_tag else ""
    return results_dir() / profile / "search" / f"{model}-eb{energy_bound:g}-seed{seed}{suffix}"


def run(model: str, profile: str | Profile | None = None, settings: RunSettings | None = None, *,
        out_dir: str | os.PathLike | None = None, context: SearchContext | None = None,
        executor: Any = None, hook=None, progress: bool = True, allow_partial: bool | None = None,
        dataset: str | None = None, device: str | None = None,
        checkpoint: str | os.PathLike | None = None, hardware: Any = None,
        rescore: bool = True) -> SearchResult:
    """Run (or resume, or reload) Algorithm 1 for ``model`` and return its :class:`SearchResult`.

    ``settings`` (a :class:`RunSettings`; default: E_b = 0.35 mJ, seed 0) gives the bounds, the
    seeds and the changes to the profile's :class:`~paperlib.method.profiles.SearchSettings`
    (``RunSettings.of(energy_bound=..., iterations=...)`` converts the old keywords); the other
    arguments say where and how it runs and change no result (docs/decisions/layout.md §7).
    A ``context`` from :func:`build_context` may be passed to reuse a loaded model (its settings
    then apply, with the changes of ``settings``). ``hook(phase, index, evaluation)`` is called
    after every scored genome. ``checkpoint``: weights trained elsewhere (a ``state_dict`` file)
    instead of the profile's checkpoint (the one trained with ``settings.train_seed``).
    ``settings.batch`` children are scored per round through ``executor`` (a
    :mod:`paperlib.infra.executors` executor; default in this process): parallel Algorithm 1,
    docs/decisions/scale.md §1. Energies use ``hardware`` (a :class:`paperlib.method.hardware.Hardware`,
    a shipped name or a TOML file), else the description in use (:func:`paperlib.method.hardware.current`;
    a ``context`` passed in keeps the one it was built with).
    Attack scores of the best strategy: :func:`paperlib.attacks.scoring.score_result`.
    ``rescore=False`` is for a run that a later call extends (:func:`.baselines.run_ga_for_budget`):
    its best strategy is neither re-scored by the reference estimator nor measured on the report
    split, its result keeps the search estimator's ε, has no report and is not saved.
    """
    run_settings = RunSettings() if settings is None else settings
    if not isinstance(run_settings, RunSettings):
        raise TypeError(f"search.run(settings=...) takes a search.RunSettings (RunSettings.of("
                        f"energy_bound=..., iterations=...) converts keywords), got {settings!r}")
    energy_bound, seed, train_seed = run_settings.energy_bound, run_settings.seed, run_settings.train_seed
    prof = resolve_profile(profile)
    if context is not None:
        prof = context.profile
    base = context.settings if context is not None else prof.search_for(model)
    settings = run_settings.apply(base)
    evo = EvolutionSettings.from_search(settings, seed, run_settings.batch)
    # fail fast on impossible bounds, before loading anything
    Objective(energy_bound, settings.accuracy_bound, settings.lambda_energy,
              settings.lambda_accuracy, settings.include_transmission)
    t_session = time.perf_counter()
    purpose = f"search {model} ({prof.name}, E_b {energy_bound:g} mJ, seed {seed})"
    with ExitStack() as held:  # one search per output folder (docs/decisions/data-integrity.md §6)
        if hardware is not None:  # every energy of this search (docs/decisions/graph-and-hardware.md §5)

            held.enter_context(hardware_descriptions.use(hardware))
        if out_dir is not None:  # refuse a busy folder before loading anything
            held.enter_context(io.folder_lock(out_dir, purpose))
        if context is None:
            context = build_context(model, prof, dataset=dataset, train_seed=train_seed,
                                    allow_partial=allow_partial, progress=progress,
                                    settings=settings, device=device, checkpoint=checkpoint)
        else:
            if context.model != model:
                raise ValueError(f"context is for {context.model!r}, not {model!r}")
            context = context.with_settings(settings)
        objective = context.objective(energy_bound)
        context.check_energy_bound(energy_bound)
        hw_tag = context.energy.hardware.tag
        out = (Path(out_dir) if out_dir is not None
               else default_out_dir(model, prof.name, energy_bound, seed, hw_tag))
        if out_dir is None:
            held.enter_context(io.folder_lock(out, purpose))

        t0 = time.perf_counter()
        evaluator = context.evaluator(objective, settings.estimator, seed=seed,
                                      log_path=out / LOG_FILE, out_dir=out)
        evaluator.estimator.prepare()  # the sensitivity table; the fp baseline of the others
        elapsed = time.perf_counter() - t0
        # a cached sensitivity table reports the seconds it took when it was measured; it was
        # loaded, not measured, when this run spent under half of that preparing it
        recorded = float(getattr(evaluator.estimator, "setup_seconds", 0.0) or 0.0)
        setup_seconds = recorded or elapsed
        setup_cached = recorded > 0 and elapsed < recorded / 2
        fingerprint = {"model": model, "profile": prof.name, "dataset": context.dataset,
                       "train_seed": context.train_seed, "data": context.provenance,
                       "checkpoint_accuracy": context.top1_fp, "energy_bound": energy_bound,
                       **{k: v for k, v in asdict(settings).items()
                          if k not in (*EVOLUTION_FIELDS, "reference_estimator")}}
        # the architecture as traced, the weights (docs/decisions/data-integrity.md §10) and the
        # images scored: a state scored on other images never resumes (paper-method.md §9)
        fingerprint.update({k: evaluator.source[k]
                            for k in ("architecture", "weights_sha256", "search_split_sha256")})
        if hw_tag:  # another hardware description than Table 3: its energies are not comparable
            fingerprint["hardware"] = hw_tag
        if "checkpoint" in context.meta:  # weights from --checkpoint
            fingerprint["checkpoint_sha256"] = context.meta.get("sha256")
        outcome = evolve(evaluator, evo, out / STATE_FILE, fingerprint=fingerprint,
                         progress=progress, hook=hook, executor=executor)
        ref_name = settings.reference_estimator if rescore else settings.estimator
        ref, ref_seconds = _reference(context, outcome.best, ref_name, settings.estimator, seed, out)
        report = (measure_report(context, Genome.from_dict(outcome.best.genome), seed,
                                 path=out / REPORT_FILE) if rescore else None)
        result = _assemble(context, settings, evo, objective, outcome, evaluator, ref, out,
                           setup_seconds=setup_seconds, reference_seconds=ref_seconds,
                           report=report, session_seconds=time.perf_counter() - t_session)
        baselines = uniform_baselines(evaluator)  # cache hits for the default search
        result.baselines = [b.record() for b in baselines]
        result.baseline_margin = margin_over(outcome.best.fitness, baselines)
        result.timing.update(setup_cached=setup_cached, setup_seconds_this_run=elapsed)
        if rescore:
            result.save()
        else:
            _drop_if_stale(out, result.evaluations)
        return result


def _drop_if_stale(out: Path, evaluations: int) -> None:
    """Delete ``out``'s ``result.json`` when it describes another length of the run than the
    state now holds (a run extended without re-scoring and interrupted before its last round):
    a reader finds no result rather than an older, shorter run's (docs/decisions/scale.md §4)."""
    path = out / RESULT_FILE
    if not path.exists():
        return
    try:
        stale = load_result(path).evaluations != evaluations
    except (RuntimeError, ValueError, KeyError, OSError):  # damaged: no result either
        stale = True
    if stale:
        path.unlink()


def _reference(ctx: SearchContext, best: Evaluation, name: str, search_name: str, seed: int,
               out: Path) -> tuple[AccuracyEstimate, float]:
    """The reference estimator's ε of the best strategy (cached in ``reference.json``)."""
    if name == search_name:
        return AccuracyEstimate(best.eps, best.top1_fp, best.top1_quant), 0.0
    return reference_estimate(out / REFERENCE_FILE, name, lambda: ctx.estimator(name, out),
                              Genome.from_dict(best.genome), best.key, seed)


def _best_strategy(ctx: SearchContext, objective: Objective, best: Evaluation,
                   ref: AccuracyEstimate) -> BestStrategy:
    """The best strategy's record: counts, bits, energies, privacy and both ε."""
    space = ctx.space
    genome = Genome.from_dict(best.genome)
    edge = list(space.edge_range(genome.p))
    eps_ref = float(ref.eps)
    return BestStrategy(
        p=genome.p, key=best.key, genome=best.genome,
        layers=[{"name": space.layer_names[i], "b_w": genome.bits[i][0], "b_a": genome.bits[i][1]}
                for i in edge],
        ir_bits=strategies.ir_bits(genome.edge_bits(space)),
        edge_blocks=genome.p, edge_conv_layers=len(edge),
        edge_conv_layers_with_stem=space.edge_counts[genome.p],
        energy_mj=best.energy, energy_no_tx_mj=best.energy_no_tx,
        transmission_mj=best.energy - best.energy_no_tx,
        energy_bounded_mj=objective.energy(best.energy, best.energy_no_tx),
        energy_includes_transmission=objective.include_transmission,
        privacy=best.privacy, fitness=best.fitness, feasible=best.feasible,
        top1_fp=ctx.top1_fp, eps=best.eps, top1_fp_estimator=best.top1_fp,
        top1_quant=best.top1_quant, eps_reference=eps_ref, top1_fp_reference=float(ref.top1_fp),
        top1_quant_reference=float(ref.top1_quant),
        fitness_reference=objective.fitness(best.privacy, best.energy, best.energy_no_tx, eps_ref),
        feasible_reference=objective.feasible(best.energy, best.energy_no_tx, eps_ref),
        top1=ctx.top1_fp - eps_ref)


def _timing(evo: EvolutionSettings, outcome: EvolutionOutcome, evaluator: Evaluator, *,
            setup_seconds: float, reference_seconds: float, session_seconds: float,
            report_seconds: float = 0.0) -> SearchTiming:
    """Table 2's numbers: wall times, the time per 1000 iterations and its split."""
    seen = {rec.key: rec for rec in evaluator.cache.values()}
    split = {"accuracy": 0.0, "privacy": 0.0, "energy": 0.0}
    for k in outcome.seen_keys:
        for name in split:
            split[name] += seen[k].seconds.get(name, 0.0) if k in seen else 0.0
    search_seconds = outcome.search_seconds
    split["other"] = max(0.0, search_seconds - sum(split.values()))
    genomes = evo.population + evo.iterations
    return SearchTiming(
        wall_seconds=setup_seconds + search_seconds + reference_seconds + report_seconds,
        setup_seconds=setup_seconds, search_seconds=search_seconds,
        reference_seconds=reference_seconds, report_seconds=report_seconds,
        session_seconds=session_seconds,
        seconds_per_1000_iterations=(setup_seconds + search_seconds * (evo.population + 1000)
                                     / max(genomes, 1)),
        seconds_per_1000_iterations_note=(
            "setup + search time scaled from N+T to N+1000 genomes"
            + (" (extrapolated)" if evo.iterations < 1000 else "")),
        split_seconds=split,
        split_share={k: v / search_seconds if search_seconds > 0 else 0.0
                     for k, v in split.items()},
        genomes=genomes, evaluations=outcome.evaluations,
        cache_hits=max(genomes - outcome.evaluations, 0),
        cache_hit_rate=max(genomes - outcome.evaluations, 0) / genomes if genomes else 0.0,
        extra_evaluations=max(outcome.evaluations - genomes, 0))


def _assemble(ctx: SearchContext, settings: SearchSettings, evo: EvolutionSettings,
              objective: Objective, outcome: EvolutionOutcome, evaluator: Evaluator,
              ref: AccuracyEstimate, out: Path, *, setup_seconds: float, reference_seconds: float,
              report: ReportAccuracy | None, session_seconds: float) -> SearchResult:
    """The :class:`SearchResult` of a finished run: best strategy, its reported ε on the report
    split (None: not measured), the split, timing and settings."""
    space = ctx.space
    settings_d = {**asdict(settings), "seed": evo.seed, "energy_bound": objective.energy_bound,
                  "train_seed": ctx.train_seed, "privacy_dist": "mse",
                  "hardware": ctx.energy.hardware.name,
                  "weight_bits": list(space.weight_bits),
                  "activation_bits": list(space.activation_bits)}
    timing = _timing(evo, outcome, evaluator, setup_seconds=setup_seconds,
                     reference_seconds=reference_seconds, session_seconds=session_seconds,
                     report_seconds=report.seconds if report is not None else 0.0)
    return SearchResult(model=ctx.model, profile=ctx.profile.name, dataset=ctx.dataset,
                        data=ctx.provenance, seed=evo.seed, energy_bound=objective.energy_bound,
                        accuracy_bound=objective.accuracy_bound,
                        best=_best_strategy(ctx, objective, outcome.best, ref).to_dict(),
                        history=outcome.history, timing=timing.to_dict(), settings=settings_d,
                        evaluations=outcome.evaluations, out_dir=str(out),
                        report=report.to_dict() if report is not None else None,
                        evaluation_split=ctx.split.manifest())


__all__ = [
    "run", "RunSettings", "load_result", "SearchResult", "BestStrategy", "SearchTiming", "default_out_dir",
    "Genome", "GenomeSpace", "key", "random_genome", "mutate",
    "punish", "fitness", "feasible", "Objective",
    "Evaluator", "Evaluation", "AccuracyEstimate", "seed_for",
    "EvolutionSettings", "evolve", "ALGORITHM_1", "SearchContext", "build_context", "search_settings",
    "ESTIMATORS", "EstimatorContext", "register", "REPORT_FILE", "ReportAccuracy", "measure_report",
]
