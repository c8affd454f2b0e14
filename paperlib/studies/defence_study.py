"""Notebook 09's study for one model: the paper's strategies as reference rows, Zhang et al.'s RL
strategy, and every defence of the profile's sweep at spread partition points
(docs/decisions/defences.md §6–§8). Every row comes from :func:`~.evaluate.evaluate` (cached)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from torch import nn

from ..infra import config, io
from ..method.profiles import Profile
from ..search import rl
from ..defences.zhang_reward import ZhangEvaluator
from ..method.genome import Genome
from ..search.methods import SearchTrace, cached_trace
from ..method.paper_strategies import PaperStrategy
from ..defences.base import Defence, configurations
from ..defences.evaluate import DefenceResult, evaluate
from ..defences.paper_strategy import reference_strategies

RL_METHOD = "Zhang et al. RL (reactive)"


def sweep(settings: Any, names: Sequence[str] | None = None) -> list[Defence]:
    """Every defence configuration of a profile's :class:`~paperlib.method.profiles.DefenceSettings`:
    each registered defence with a ``sweep`` (or those of ``names``) at each of its values
    (:func:`~paperlib.defences.base.configurations`; docs/decisions/layout.md §6)."""
    return configurations(settings, names)


def defence_points(net: nn.Module, settings: Any, transmission: bool = False) -> list[int]:
    """The partition points where the defences are applied: ``settings.points`` points spread
    evenly from p = 1 to the deepest point whose full-precision edge fits E_b (the fp32 reference
    row's point; docs/decisions/defences.md §6): the cheap, shallow splits a defence is for."""
    deepest = PaperStrategy.FP32.partition(net, settings.energy_bound, transmission=transmission)
    deepest = max(1, deepest if deepest is not None else 1)
    grid = np.linspace(1, deepest, max(1, settings.points))
    return sorted({int(round(p)) for p in grid})


def rl_trace_path(profile: str, model: str, seed: int) -> Path:
    return config.results_dir() / profile / "defences" / model / f"rl-zhang-seed{seed}.json"


def rl_strategy(model: str, prof: Profile, net: nn.Module, meta: dict, seed: int = 0,
                allow_partial: bool | None = None, progress: bool = False) -> tuple[int, Any, SearchTrace]:
    """Zhang et al.'s search with their Eq. 13 reward (reactive adversary, §8) for ``model``:
    ``rl_episodes × rl_samples`` draws; the best strategy ``(p, policy)`` and the trace (cached)."""
    s = prof.defence
    budget = s.rl_episodes * s.rl_samples
    fp = io.json_safe({"budget": budget, "settings": {k: getattr(s, k) for k in (
        "rl_episodes", "rl_samples", "rl_lr", "rl_baseline_decay", "rl_hidden", "rl_decoder_images",
        "rl_decoder_epochs", "accuracy_images", "images")}, "seed": seed, "version": 1,
        "checkpoint": {k: meta.get(k) for k in ("accuracy", "date", "data", "seed")}})

    def run() -> SearchTrace:
        atk = replace(prof.attack, train_images=s.rl_decoder_images, epochs=s.rl_decoder_epochs)
        ev = ZhangEvaluator(model, prof, net=net, meta=meta, accuracy_images=s.accuracy_images,
                               images=s.images, attack_settings=atk, allow_partial=allow_partial)
        trace = rl.rl_search(ev, budget, seed, progress=progress, rl_samples=s.rl_samples,
                             rl_lr=s.rl_lr, rl_hidden=s.rl_hidden,
                             rl_baseline_decay=s.rl_baseline_decay, max_episodes=s.rl_episodes)
        for r in trace.records:  # the genome, so that the best one can be rebuilt
            r["genome"] = ev.genomes[r["key"]].to_dict()
        return trace

    trace = cached_trace(rl_trace_path(prof.name, model, seed), fp, run)
    best = Genome.from_dict(trace.best["genome"])
    return best.p, best.policy, trace


def run_study(model: str, prof: Profile, net: nn.Module, meta: dict, *, searched: tuple[int, Any] | None = None,
              with_rl: bool = True, defences: Sequence[str] | None = None,
              allow_partial: bool | None = None, progress: bool = False) -> list[DefenceResult]:
    """Every row of notebook 09 for ``model``: the paper's strategies (fp32, 8-bit uniform at the
    deepest partition under E_b, and ``searched`` when given), Zhang et al.'s RL strategy (for the
    models of ``rl_models``), then
    each defence of :func:`sweep` (every registered one, or those of ``defences``) at each of
    :func:`defence_points` on the full-precision split."""
    s = prof.defence
    kw: dict[str, Any] = dict(profile=prof, net=net, meta=meta, allow_partial=allow_partial, progress=progress)
    rows = []
    refs = reference_strategies(net, s.energy_bound, searched, prof.search.include_transmission)
    for method, (p, policy) in refs.items():
        rows.append(evaluate(model, None, p, policy, reference=method, **kw))
    if with_rl and (s.rl_models is None or model in s.rl_models):
        p, policy, _ = rl_strategy(model, prof, net, meta, allow_partial=allow_partial, progress=progress)
        rows.append(evaluate(model, None, p, policy, reference=RL_METHOD, **kw))
    for p in defence_points(net, s, prof.search.include_transmission):
        for d in sweep(s, defences):
            rows.append(evaluate(model, d, p, 32, **kw))
    return rows


__all__ = ["RL_METHOD", "sweep", "defence_points", "rl_strategy", "rl_trace_path", "run_study"]
