"""Notebook 09's study: for each model, the paper's strategies as reference rows, Zhang et al.'s RL
strategy and every registered defence at each value of its sweep at spread partition points
(docs/decisions/defences.md §6–§8; every row from :func:`~paperlib.defences.evaluate.evaluate`,
cached); then the defences side by side: the table of every evaluated point, the Pareto front of
attack SSIM against edge energy, the best point of each defence under E_b and ε_b, and verdicts in
words (docs/decisions/defences.md §7)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import numpy as np
import pandas as pd
from torch import nn

from ..attacks import load_samples
from ..defences.base import DEFENCES, Defence, configurations
from ..defences.evaluate import NOT_CONVERGED, DefenceResult, evaluate
from ..defences.paper_strategy import paper_strategy_rows
from ..defences.zhang_reward import ZhangEvaluator
from ..infra import config, io
from ..method.genome import Genome
from ..method.paper_strategies import PaperStrategy
from ..method.profiles import Profile
from ..search import rl
from ..search.methods import SearchTrace, cached_trace
from ..search.pareto import frame_pareto_mask

if TYPE_CHECKING:  # pragma: no cover
    import torch

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
        # the reward's reactive adversary: the inverse network on its own (smaller) budget
        atk = prof.attack.with_attack("inverse-network", query_images=s.rl_decoder_images,
                                      epochs=s.rl_decoder_epochs)
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
    refs = paper_strategy_rows(net, s.energy_bound, searched, prof.search.include_transmission)
    for method, (p, policy) in refs.items():
        rows.append(evaluate(model, None, p, policy, reference=method, **kw))
    if with_rl and (s.rl_models is None or model in s.rl_models):
        p, policy, _ = rl_strategy(model, prof, net, meta, allow_partial=allow_partial, progress=progress)
        rows.append(evaluate(model, None, p, policy, reference=RL_METHOD, **kw))
    for p in defence_points(net, s, prof.search.include_transmission):
        for d in sweep(s, defences):
            rows.append(evaluate(model, d, p, 32, **kw))
    return rows



def frame(results: Iterable[DefenceResult]) -> pd.DataFrame:
    """One row per evaluated point (:meth:`DefenceResult.row`), with ``top1_loss``: the drop from
    the undefended model's top-1 (the highest top-1 of the model's ``none`` rows at full
    precision, else of all its ``none`` rows)."""
    df = pd.DataFrame([r.row() for r in results])
    if df.empty:
        return df
    base = {}
    for model, g in df.groupby("model"):
        plain = g[g.defence == "none"]
        fp = plain[plain.policy_tag == "fp32"]
        base[model] = (fp if len(fp) else plain if len(plain) else g)["top1"].max()
    df["top1_base"] = df.model.map(base)
    df["top1_loss"] = df.top1_base - df.top1
    return df


def admissible(df: pd.DataFrame, energy_bound: float, accuracy_loss_bound: float,
               energy_col: str = "energy_no_tx") -> pd.Series:
    """Rows within E_b (``energy_col`` ≤ ``energy_bound``) and ε_b (``top1_loss`` ≤ the bound)."""
    return (df[energy_col] <= energy_bound) & (df.top1_loss <= accuracy_loss_bound + 1e-12)


def schemes(df: pd.DataFrame) -> pd.Series:
    """What protects in each row: the ``scheme`` column (reference strategy or defence label),
    else the defence's label."""
    return df["scheme"] if "scheme" in df else df["defence"].map(DEFENCES.label)


def best_points(df: pd.DataFrame, energy_bound: float, accuracy_loss_bound: float,
                energy_col: str = "energy_no_tx") -> pd.DataFrame:
    """Per model and scheme (each reference strategy, each defence), the admissible row with the
    lowest strongest-attack SSIM (ties: the higher top-1); a scheme with no admissible row gets a
    row of NaN saying so."""
    ok = admissible(df, energy_bound, accuracy_loss_bound, energy_col)
    rows = []
    for (model, name), g in df.groupby([df["model"], schemes(df)], sort=False):
        cand = g[ok.loc[g.index]]
        if len(cand):
            best = cand.sort_values(["ssim", "top1"], ascending=[True, False]).iloc[0]
            rows.append({"model": model, "scheme": name, "setting": best.tag,
                         "split": best.split, "policy": best.policy_tag, "energy_mJ": best[energy_col],
                         "top1": best.top1, "top1_loss": best.top1_loss, "strongest": best.strongest,
                         "ssim": best.ssim, "within_bounds": True})
        else:
            rows.append({"model": model, "scheme": name, "setting": "",
                         "split": "", "policy": "", "energy_mJ": np.nan, "top1": np.nan,
                         "top1_loss": np.nan, "strongest": "", "ssim": np.nan, "within_bounds": False})
    return pd.DataFrame(rows)


def span(values: pd.Series, fmt: str) -> str:
    """``a`` when every value is ``a``, else ``a to b`` (min to max)."""
    lo, hi = float(values.min()), float(values.max())
    return format(lo, fmt) if format(lo, fmt) == format(hi, fmt) else f"{format(lo, fmt)} to {format(hi, fmt)}"


def verdicts(df: pd.DataFrame, energy_bound: float, accuracy_loss_bound: float,
             energy_col: str = "energy_no_tx") -> list[str]:
    """Which defence wins where, and what each costs in accuracy, in words, per model."""
    lines = []
    best = best_points(df, energy_bound, accuracy_loss_bound, energy_col)
    for model, g in df.groupby("model", sort=False):
        b = best[(best.model == model) & best.within_bounds]
        if len(b):
            w = b.sort_values(["ssim", "top1"], ascending=[True, False]).iloc[0]
            setting = "" if w.setting in ("", "none") else f"{w.setting}, "
            lines.append(f"{model}: under E_b = {energy_bound:g} mJ and ε_b = {accuracy_loss_bound:g}, "
                         f"{w.scheme} ({setting}{w.split}, {w.policy}) leaves the strongest "
                         f"attack ({w.strongest}) the lowest SSIM, {w.ssim:.3f}, at {w.energy_mJ:.4f} mJ "
                         f"and top-1 {w.top1:.3f}.")
        else:
            lines.append(f"{model}: no evaluated point meets E_b = {energy_bound:g} mJ and "
                         f"ε_b = {accuracy_loss_bound:g}.")
        front = g[frame_pareto_mask(g, minimise=(energy_col, "ssim"))]
        names = ", ".join(dict.fromkeys(schemes(front.sort_values(energy_col))))
        lines.append(f"{model}: the Pareto front of attack SSIM against edge energy holds {names} "
                     "(cheapest first).")
        for name, h in g[g.defence != "none"].groupby("defence", sort=False):
            stalled = int((h.get("converged", pd.Series("n/a", index=h.index)) == NOT_CONVERGED).sum())
            if stalled:  # a budget that did not reach a plateau gets no verdict (defences.md §12)
                lines.append(f"{model}: {DEFENCES.label(name)}: {NOT_CONVERGED} in {stalled} of its "
                             f"{len(h)} setting(s) at this budget; no verdict on what it costs or buys.")
                continue
            lines.append(f"{model}: {DEFENCES.label(name)} changes top-1 by "
                         f"{span(-h.top1_loss, '+.3f')} against the undefended model across its "
                         f"{len(h)} setting(s); strongest-attack SSIM {span(h.ssim, '.3f')}.")
    return lines




def samples_at(results: Iterable[DefenceResult], model: str, p: int
               ) -> list[tuple[str, "torch.Tensor", "torch.Tensor", float]]:
    """For each row of ``model`` at split ``p`` (one split = one edge compute energy): its label,
    and the stored originals and reconstructions of its strongest attack, with that SSIM."""
    out = []
    for r in results:
        if r.model != model or r.p != p or not r.attacks:
            continue
        originals, recs = load_samples(r.attacks[r.strongest]["path"])
        out.append((f"{r.scheme}: {r.tag}\n{r.strongest}, SSIM {r.ssim:.2f}", originals, recs, r.ssim))
    return out


__all__ = ["RL_METHOD", "sweep", "defence_points", "rl_strategy", "rl_trace_path", "run_study",
           "frame", "admissible", "best_points", "verdicts", "samples_at", "schemes"]
