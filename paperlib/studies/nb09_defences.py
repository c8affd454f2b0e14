"""Notebook 09's study: for each model, the paper's strategies as reference rows, Zhang et al.'s RL
strategy and every registered defence at spread partition points that include the searched
strategy's, each swept over its strengths (docs/decisions/defences.md §6–§8, §13; every row
from :func:`~paperlib.defences.evaluate.evaluate`, cached); then the defences side by side: the
table of every evaluated point, the Pareto front of attack SSIM against edge energy, the best
point of each defence under E_b and ε_b, the privacy–accuracy curve of each defence's strength
sweep, the training curves of the defences that train a part, and verdicts in words
(docs/decisions/defences.md §7, §12)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from torch import nn

from ..attacks import load_samples
from ..attacks.worst_case import WORST, column
from ..defences.base import DEFENCES, Defence, anchor_configuration, configurations
from ..defences.evaluate import NOT_CONVERGED, DefenceResult, evaluate
from ..defences.paper_strategy import paper_strategy_rows
from ..defences.zhang_reward import RewardImages, ZhangEvaluator
from ..infra import config, io
from ..method.genome import Genome
from ..method.models import MODELS
from ..method.paper_strategies import PaperStrategy
from ..search import rl
from ..search.fitness import over
from ..search.methods import SearchTrace, cached_trace
from ..search.pareto import frame_pareto_mask
from .wording import SMALL_CHANGE, Findings

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from ..search.context import SearchContext

RL_METHOD = "Zhang et al. RL (reactive)"
UNDEFENDED = "undefended (fp32 split)"  # the scheme of the undefended split at a defence point
# how the origin of a strength sweep was measured (docs/decisions/defences.md §11)
STRENGTH_ZERO = "undefended split (strength 0, defences.md §11)"


def sweep(settings: Any, names: Sequence[str] | None = None) -> list[Defence]:
    """Every defence configuration of a profile's :class:`~paperlib.method.profiles.DefenceSettings`:
    each registered defence with a ``sweep`` (or those of ``names``) at each of its values
    (:func:`~paperlib.defences.base.configurations`; docs/decisions/layout.md §6)."""
    return configurations(settings, names)


def defence_points(net: nn.Module, settings: Any, transmission: bool = False,
                   searched: tuple[int, Any] | None = None) -> list[int]:
    """The partition points where the defences are applied (full-precision split;
    docs/decisions/defences.md §6, §13): ``settings.points`` points spread evenly from p = 1 to
    the deepest point of the paper's strategies (fp32 and 8-bit uniform at the deepest partition
    under E_b, and ``searched``, the search's best ``(p, policy)``, when given). The searched
    strategy's point is always one of them: it replaces the spread point nearest to it (the
    deeper one on a tie) when it is not already there."""
    refs = paper_strategy_rows(net, settings.energy_bound, searched, transmission)
    deepest = max([1, *(int(p) for p, _ in refs.values())])
    grid = np.linspace(1, deepest, max(1, int(settings.points)))
    points = sorted({int(round(p)) for p in grid})
    if searched is not None and int(searched[0]) not in points:
        target = int(searched[0])
        nearest = min(points, key=lambda p: (abs(p - target), -p))
        points = sorted({*(p for p in points if p != nearest), target})
    return points


@dataclass(frozen=True)
class DefencePlan:
    """Where each defence configuration is evaluated (docs/decisions/defences.md §13): ``points``
    (:func:`defence_points`), the ``sweep_point`` where every strength of every defence's sweep
    is evaluated, and ``runs``, the ``(p, defence)`` pairs: with ``DefenceSettings.full_grid``
    every configuration at every point, else the whole sweep at the sweep point and each defence
    at its middle setting (:func:`~paperlib.defences.base.anchor_configuration`) at the others."""

    points: tuple[int, ...]
    sweep_point: int
    runs: tuple[tuple[int, Defence], ...]


def plan(net: nn.Module, settings: Any, searched: tuple[int, Any] | None = None,
         transmission: bool = False, names: Sequence[str] | None = None) -> DefencePlan:
    """The :class:`DefencePlan` of one model: the sweep point is the searched strategy's point
    when ``searched`` is given, else the middle defence point; ``names``: these registered
    defences (default: every swept one)."""
    points = defence_points(net, settings, transmission, searched)
    at = int(searched[0]) if searched is not None else points[(len(points) - 1) // 2]
    configs = sweep(settings, names)
    if getattr(settings, "full_grid", True):
        runs = [(p, d) for p in points for d in configs]
    else:
        swept = list(dict.fromkeys(d.name for d in configs))
        anchors = [anchor_configuration(n, settings) for n in swept]
        runs = [(p, d) for p in points for d in (configs if p == at else anchors)]
    return DefencePlan(tuple(points), at, tuple(runs))


def rl_trace_path(profile: str, model: str, seed: int) -> Path:
    return config.results_dir() / profile / "defences" / model / f"rl-zhang-seed{seed}.json"


def rl_fingerprint(context: "SearchContext", images: RewardImages, seed: int) -> dict[str, Any]:
    """The RL search's cache key (docs/decisions/defences.md §8): its budgets, the seed, the
    checkpoint and the reward's images (the search split's digest and which of its images);
    version 2: the reward reads the search split only, no longer any test image."""
    s = context.profile.defence
    return io.json_safe({
        "budget": s.rl_episodes * s.rl_samples, "seed": seed, "version": 2,
        "settings": {k: getattr(s, k) for k in (
            "rl_episodes", "rl_samples", "rl_lr", "rl_baseline_decay", "rl_hidden",
            "rl_decoder_images", "rl_decoder_epochs", "accuracy_images", "images")},
        "reward_images": images.fingerprint(),
        "checkpoint": {k: context.meta.get(k) for k in ("accuracy", "date", "data", "seed")}})


def rl_strategy(context: "SearchContext", seed: int = 0, allow_partial: bool | None = None,
                progress: bool = False) -> tuple[int, Any, SearchTrace]:
    """Zhang et al.'s search with their Eq. 13 reward (reactive adversary, §8) for ``context``'s
    model: ``rl_episodes × rl_samples`` draws, the reward read on images of ``context``'s search
    split only (:class:`RewardImages`: ``accuracy_images`` for its top-1, ``images`` for its
    decoder's SSIM), never on the report split the rows are reported on; the best strategy
    ``(p, policy)`` and the trace (cached)."""
    model, prof, s = context.model, context.profile, context.profile.defence
    images = RewardImages.of(context.split, context.test_ds, s.accuracy_images, s.images)

    def run() -> SearchTrace:
        # the reward's reactive adversary: the inverse network on its own (smaller) budget
        atk = prof.attack.with_attack("inverse-network", query_images=s.rl_decoder_images,
                                      epochs=s.rl_decoder_epochs)
        ev = ZhangEvaluator(model, prof, net=context.net, meta=context.meta, images=images,
                            attack_settings=atk, allow_partial=allow_partial)
        trace = rl.rl_search(ev, s.rl_episodes * s.rl_samples, seed, progress=progress,
                             rl_samples=s.rl_samples, rl_lr=s.rl_lr, rl_hidden=s.rl_hidden,
                             rl_baseline_decay=s.rl_baseline_decay, max_episodes=s.rl_episodes)
        for r in trace.records:  # the genome, so that the best one can be rebuilt
            r["genome"] = ev.genomes[r["key"]].to_dict()
        return trace

    trace = cached_trace(rl_trace_path(prof.name, model, seed),
                         rl_fingerprint(context, images, seed), run)
    best = Genome.from_dict(trace.best["genome"])
    return best.p, best.policy, trace


def run_study(context: "SearchContext", *, searched: tuple[int, Any] | None = None,
              seed: int = 0, with_rl: bool = True, defences: Sequence[str] | None = None,
              allow_partial: bool | None = None, progress: bool = False) -> list[DefenceResult]:
    """Every row of notebook 09 for ``context``'s model and profile (``context``: Table 4's
    search context, ``search.build_context``, which owns the report split and the finetune every
    row's top-1 and ε are measured with; ``seed``: the search seed of Table 4's seed rule): the
    paper's strategies (fp32, 8-bit uniform at the deepest partition under E_b, and ``searched``
    when given), Zhang et al.'s RL strategy (for the models of ``rl_models``; its reward reads
    ``context``'s search split only, :func:`rl_strategy`), the undefended
    full-precision split at the sweep point (the origin of each strength sweep) and at each
    defence point no reference row shows, then each defence configuration of :func:`plan`
    (every registered swept defence, or those of ``defences``) on the full-precision split."""
    model, prof, net = context.model, context.profile, context.net
    s = prof.defence
    kw: dict[str, Any] = dict(profile=prof, context=context, seed=seed,
                              allow_partial=allow_partial, progress=progress)
    rows = []
    tx = prof.search.include_transmission
    refs = paper_strategy_rows(net, s.energy_bound, searched, tx)
    for method, (p, policy) in refs.items():
        rows.append(evaluate(model, None, p, policy, reference=method, **kw))
    if with_rl and (s.rl_models is None or model in s.rl_models):
        p, policy, _ = rl_strategy(context, allow_partial=allow_partial, progress=progress)
        rows.append(evaluate(model, None, p, policy, reference=RL_METHOD, **kw))
    study = plan(net, s, searched, tx, defences)
    plain, covered = {r.p for r in rows if r.policy_tag == "fp32"}, {r.p for r in rows}
    for p in study.points:  # the sweep's origin, and a point no reference row shows
        if p not in plain and (p == study.sweep_point or p not in covered):
            rows.append(evaluate(model, None, p, 32, reference=UNDEFENDED, **kw))
    for p, d in study.runs:
        rows.append(evaluate(model, d, p, 32, **kw))
    return rows


NOT_PAIRED = "not paired"  # a row without a paired ε (defences.md §7): no ε is made up for it


def frame(results: Iterable[DefenceResult]) -> pd.DataFrame:
    """One row per evaluated point (:meth:`DefenceResult.row`), with ``top1_loss``: the row's
    paired ε against the undefended full-precision network on the same report-split images
    (``eps``, with ``eps_ci_low``/``eps_ci_high``, its 95 % interval, and ``mcnemar_p``;
    docs/decisions/defences.md §7), and ``paired``: ``yes``, or :data:`NOT_PAIRED` for a row
    stored without it, whose ``top1_loss`` is NaN."""
    df = pd.DataFrame([r.row() for r in results])
    if df.empty:
        return df
    cols = ["top1_fp", "eps", "eps_ci_low", "eps_ci_high", "mcnemar_p"]
    df[cols] = df[cols].astype(float)
    df["top1_loss"] = df["eps"]
    df["paired"] = np.where(df["eps"].notna(), "yes", NOT_PAIRED)
    return df


def admissible(df: pd.DataFrame, energy_bound: float, accuracy_loss_bound: float,
               energy_col: str = "energy_no_tx") -> pd.Series:
    """Rows within E_b (``energy_col`` ≤ ``energy_bound``) and ε_b (``top1_loss`` ≤ the bound),
    up to the search's floating-point tolerance (:func:`paperlib.search.fitness.over`); a row
    without an ε (not paired) is not admissible."""
    return (~over(df[energy_col], energy_bound) & df.top1_loss.notna()
            & ~over(df.top1_loss, accuracy_loss_bound))


def schemes(df: pd.DataFrame) -> pd.Series:
    """What protects in each row: the ``scheme`` column (reference strategy or defence label),
    else the defence's label."""
    return df["scheme"] if "scheme" in df else df["defence"].map(DEFENCES.label)


def best_points(df: pd.DataFrame, energy_bound: float, accuracy_loss_bound: float,
                energy_col: str = "energy_no_tx") -> pd.DataFrame:
    """Per model and scheme (each reference strategy, each defence), the admissible row with the
    lowest strongest-attack SSIM (ties: the higher top-1), with its ``converged`` flag (a row whose
    training stopped before a plateau is shown, never a verdict); a defence's control
    (:func:`controls`) is never a best point; a scheme with no admissible row gets a row of NaN
    saying so."""
    ok = admissible(df, energy_bound, accuracy_loss_bound, energy_col) & ~controls(df)
    rows = []
    for (model, name), g in df.groupby([df["model"], schemes(df)], sort=False):
        cand = g[ok.loc[g.index]]
        if len(cand):
            best = cand.sort_values(["ssim", "top1"], ascending=[True, False]).iloc[0]
            flag = best.get("converged")  # NaN when the table was read back from a CSV
            rows.append({"model": model, "scheme": name, "setting": best.tag,
                         "split": best.split, "policy": best.policy_tag, "energy_mJ": best[energy_col],
                         "top1": best.top1, "top1_loss": best.top1_loss, "strongest": best.strongest,
                         "ssim": best.ssim, "within_bounds": True,
                         "converged": flag if isinstance(flag, str) else "n/a"})
        else:
            rows.append({"model": model, "scheme": name, "setting": "",
                         "split": "", "policy": "", "energy_mJ": np.nan, "top1": np.nan,
                         "top1_loss": np.nan, "strongest": "", "ssim": np.nan, "within_bounds": False,
                         "converged": ""})
    return pd.DataFrame(rows)


def span(values: pd.Series, fmt: str) -> str:
    """``a`` when every value is ``a``, else ``a to b`` (min to max)."""
    lo, hi = float(values.min()), float(values.max())
    return format(lo, fmt) if format(lo, fmt) == format(hi, fmt) else f"{format(lo, fmt)} to {format(hi, fmt)}"


def controls(df: pd.DataFrame) -> pd.Series:
    """Rows that are a defence's control (``control``, e.g. the proactive retraining at λ = 0):
    shown in the tables and curves, never a defence's best point or part of its verdict."""
    return df.get("control", pd.Series(False, index=df.index)).fillna(False).astype(bool)


def unconverged(df: pd.DataFrame) -> pd.Series:
    """Rows whose training stopped before a plateau (``converged`` = not converged)."""
    return df.get("converged", pd.Series("n/a", index=df.index)) == NOT_CONVERGED


def verdicts(df: pd.DataFrame, energy_bound: float, accuracy_loss_bound: float,
             energy_col: str = "energy_no_tx") -> list[str]:
    """Which defence wins where, and what each costs in accuracy, in words, per model."""
    lines = []
    # a row whose training stopped before a plateau is no evidence either way (defences.md §12)
    best = best_points(df[~unconverged(df)], energy_bound, accuracy_loss_bound, energy_col)
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
        judged = g[~unconverged(g)]
        front = judged[frame_pareto_mask(judged, minimise=(energy_col, "ssim"))]
        names = ", ".join(dict.fromkeys(schemes(front.sort_values(energy_col))))
        lines.append(f"{model}: the Pareto front of attack SSIM against edge energy (converged "
                     f"rows only) holds {names} (cheapest first).")
        paper = b[b.scheme.isin([PaperStrategy.UNIFORM8.method, PaperStrategy.SEARCHED.method])]
        ref = paper.sort_values("ssim").iloc[0] if len(paper) else None
        for name, h in g[(g.defence != "none") & ~controls(g)].groupby("defence", sort=False):
            label = DEFENCES.label(name)
            stalled = int(unconverged(h).sum())
            if stalled:
                lines.append(f"{model}: {label}: {NOT_CONVERGED} in {stalled} of its "
                             f"{len(h)} setting(s) at this budget; no verdict on what it costs or buys.")
                continue
            lines.append(f"{model}: {label} costs top-1 loss ε "
                         f"{span(h.top1_loss, '.3f')} against the undefended model (negative: a "
                         f"gain) across its {len(h)} setting(s); strongest-attack SSIM "
                         f"{span(h.ssim, '.3f')}.")
            own = b[b.scheme == label]
            if ref is not None:  # the rule's second clause, as tested: on the fp32 edge only
                if len(own):
                    verdict = ("falsified" if own.ssim.iloc[0] >= ref.ssim else "not falsified")
                    lines.append(f"{model}: {label} against the paper's best admissible strategy "
                                 f"({ref.scheme}, SSIM {ref.ssim:.3f}): its best admissible setting "
                                 f"leaves SSIM {own.ssim.iloc[0]:.3f}, so under E_b the claim that "
                                 f"it protects where the paper's strategy does not is {verdict} as "
                                 "tested (the defences run on the full-precision edge only).")
                else:
                    lines.append(f"{model}: {label}: no setting is admissible under E_b (it runs on "
                                 "the full-precision edge, whose energy exceeds the bound at the "
                                 "deeper points), so its comparison with the paper's strategy is "
                                 "untested, not falsified.")
    return lines




CURVE_COLUMNS = ["model", "defence", "label", "variant", "strength_arg", "strength", "tag", "p",
                 "split", "top1", "top1_loss", "eps_ci_low", "eps_ci_high", column("ssim", WORST),
                 column("psnr", WORST), "strongest", "converged", "trained", "control", "measured"]


def privacy_accuracy(df: pd.DataFrame, sweep_points: Mapping[str, int]) -> pd.DataFrame:
    """The privacy–accuracy curve of every defence's strength sweep (docs/decisions/defences.md
    §13): one row per (model, defence, variant, strength) evaluated at the model's sweep point
    (``sweep_points``: model → p, :attr:`DefencePlan.sweep_point`), with its top-1, its loss
    against the undefended model (the row's paired ε) and that ε's stored 95 % interval
    (``eps_ci_low``, ``eps_ci_high``; §7), and the worst case over the attacks; a defence with a
    strength 0 (``neutral``) gets a row at strength 0 read from the undefended full-precision
    split at that point, which it equals (§11; ``measured`` says so); ``control`` marks a
    defence's control (:func:`controls`). ``df``: :func:`frame`."""
    df = df.assign(control=controls(df))
    rows = []
    for model, p in sweep_points.items():
        g = df[(df["model"] == model) & (df["p"] == int(p))]
        plain = g[(g["defence"] == "none") & (g["policy_tag"] == "fp32")]
        defended = g[g["defence"] != "none"]
        for (name, variant), h in defended.groupby(["defence", "variant"], sort=False):
            part = h.assign(measured="defended split")
            neutral = DEFENCES.entry(name).neutral if name in DEFENCES else None
            if neutral and len(plain):
                arg = h["strength_arg"].iloc[0]
                zero = plain.iloc[[0]].assign(defence=name, label=h["label"].iloc[0],
                                              variant=variant, strength_arg=arg,
                                              strength=float(neutral[arg]),
                                              tag=f"{name} at strength 0", measured=STRENGTH_ZERO)
                part = pd.concat([zero, part], ignore_index=True)
            rows.append(part.sort_values("strength", kind="stable"))
    if not rows:
        return pd.DataFrame(columns=CURVE_COLUMNS)
    return pd.concat(rows, ignore_index=True)[CURVE_COLUMNS]


def top1_error_bars(curve: pd.DataFrame) -> np.ndarray:
    """The stored 95 % interval of each row's ε (docs/decisions/defences.md §7) as error bars on
    its top-1, shape (2, rows): top-1 = top1_fp − ε on the same images, so ε from ``eps_ci_low``
    to ``eps_ci_high`` is top-1 from ``top1 − (eps_ci_high − ε)`` to ``top1 + (ε − eps_ci_low)``
    (NaN, no bar, for a row without a paired ε)."""
    eps = curve["top1_loss"].to_numpy(float)
    below = curve["eps_ci_high"].to_numpy(float) - eps
    above = eps - curve["eps_ci_low"].to_numpy(float)
    return np.maximum(np.vstack([below, above]), 0.0)  # a percentile bound can sit on ε itself


def plot_privacy_accuracy(curve: pd.DataFrame, model: str) -> plt.Figure:
    """Top-1 against the worst-case SSIM over the attacks for ``model``'s sweep point, one line per
    defence (and variant) through its strengths, each point labelled with its strength, with the
    95 % interval of its ε as a vertical bar (:func:`top1_error_bars`); a hollow marker: a
    trained part that did not reach a plateau (not converged)."""
    g = curve[curve["model"] == model]
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    for (name, variant), h in g.groupby(["defence", "variant"], sort=False):
        e = DEFENCES.entry(name)
        label = e.label + (f" ({variant})" if variant else "")
        x, y = h[column("ssim", WORST)], h["top1"]
        ax.plot(x, y, "-", color=e.color, lw=1.0, alpha=0.8)
        ax.errorbar(x, y, yerr=top1_error_bars(h), fmt="none", ecolor=e.color, elinewidth=0.6,
                    capsize=1.5, alpha=0.7)
        stalled = unconverged(h).to_numpy()
        ax.scatter(x[~stalled], y[~stalled], color=e.color, marker=e.marker, s=30, label=label,
                   zorder=3)
        if stalled.any():
            ax.scatter(x[stalled], y[stalled], facecolors="none", edgecolors=e.color,
                       marker=e.marker, s=30, zorder=3, label=f"{label}: {NOT_CONVERGED}")
        for xi, yi, st in zip(x, y, h["strength"]):
            ax.annotate(f"{h['strength_arg'].iloc[0]}={st:g}", (xi, yi), fontsize=5, xytext=(3, 2),
                        textcoords="offset points")
    split = g["split"].iloc[0] if len(g) else ""
    ax.set_xlabel("worst-case SSIM over the attacks (lower = more private)")
    ax.set_ylabel("top-1 (bars: 95 % interval of ε)")
    ax.set_title(f"{MODELS.label(model)} at {split}: privacy vs accuracy per defence strength",
                 fontsize=8)
    ax.legend(fontsize=5.5, loc="best")
    fig.tight_layout()
    return fig


def training_curves(results: Iterable[DefenceResult]) -> pd.DataFrame:
    """One row per (row of a defence that trained a part, curve, chunk): the curves of its
    training (docs/decisions/defences.md §12), each value also relative to the curve's first."""
    out = []
    for r in results:
        t = r.training
        if not t:
            continue
        for name, values in t["curves"].items():
            first = values[0] if values and values[0] else float("nan")
            out += [{"model": r.model, "defence": r.defence, "tag": r.tag, "p": r.p,
                     "split": r.split, "unit": t["unit"], "chunk": i + 1,
                     "max_chunks": t["max_chunks"],
                     "steps_per_chunk": t["steps_per_chunk"], "curve": name, "value": v,
                     "relative": v / first, "converged": r.row()["converged"]}
                    for i, v in enumerate(values)]
    return pd.DataFrame(out, columns=["model", "defence", "tag", "p", "split", "unit", "chunk",
                                      "max_chunks", "steps_per_chunk", "curve", "value", "relative",
                                      "converged"])


def plot_training_curves(curves: pd.DataFrame) -> plt.Figure:
    """One panel per (model, trained defence): each curve relative to its first value against
    the epoch or round, one line per (setting, split, curve); dashed: not converged."""
    panels = list(dict.fromkeys(zip(curves["model"], curves["defence"])))
    n = max(1, len(panels))
    fig, axes = plt.subplots(1, n, figsize=(3.3 * n, 3.0), squeeze=False)
    for ax, (model, name) in zip(axes[0], panels):
        g = curves[(curves["model"] == model) & (curves["defence"] == name)]
        for (tag, split, curve), h in g.groupby(["tag", "split", "curve"], sort=False):
            ls = "--" if h["converged"].iloc[0] == NOT_CONVERGED else "-"
            ax.plot(h["chunk"], h["relative"], ls, marker="o", ms=2.5, lw=1.0,
                    label=f"{tag} {split} {curve}")
        ax.set_title(f"{MODELS.label(model)}: {DEFENCES.label(name)}", fontsize=7)
        ax.set_xlabel(f"{g['unit'].iloc[0]} (budget {int(g['max_chunks'].max())})")
        ax.set_ylabel("loss / first value")
        ax.legend(fontsize=4.5, loc="best")
    fig.tight_layout()
    return fig


def curve_lines(curve: pd.DataFrame) -> list[str]:
    """Per model and defence (and variant), in words: from the weakest to the strongest setting of
    the sweep, how the worst-case SSIM and the top-1 change (docs/decisions/reporting.md §6)."""
    lines = []
    worst = column("ssim", WORST)
    for (model, name, variant), h in curve.groupby(["model", "defence", "variant"], sort=False):
        if len(h) < 2:
            continue
        lo, hi = h.iloc[0], h.iloc[-1]
        d = hi[worst] - lo[worst]
        moves = ("barely changes the worst-case SSIM" if abs(d) < SMALL_CHANGE else
                 f"{'lowers' if d < 0 else 'raises'} the worst-case SSIM from {lo[worst]:.3f} "
                 f"to {hi[worst]:.3f}")
        stalled = int(unconverged(h).sum())
        what = DEFENCES.label(name) + (f" ({variant})" if variant else "")
        if stalled:  # no numbers from a training that stopped before its plateau (§12)
            lines.append(f"{model}: at {lo['split']}, {what}: {stalled} of its {len(h)} settings "
                         f"{NOT_CONVERGED}; its curve is shown but not read.")
            continue
        lines.append(f"{model}: at {lo['split']}, {what} from {lo['strength_arg']} = "
                     f"{lo['strength']:g} to {hi['strength']:g} {moves}, top-1 from "
                     f"{lo['top1']:.3f} to {hi['top1']:.3f}.")
    return lines


def findings(df: pd.DataFrame, energy_bound: float, accuracy_loss_bound: float,
             energy_col: str, curve: pd.DataFrame) -> Findings:
    """Notebook 09's sentences (:func:`verdicts`, then :func:`curve_lines`) as Markdown bullets."""
    lines = verdicts(df, energy_bound, accuracy_loss_bound, energy_col) + curve_lines(curve)
    return Findings(pd.DataFrame(), [f"* {line}" for line in lines])


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


__all__ = ["RL_METHOD", "UNDEFENDED", "STRENGTH_ZERO", "CURVE_COLUMNS", "sweep", "defence_points",
           "DefencePlan", "plan", "rl_strategy", "rl_fingerprint", "rl_trace_path", "run_study",
           "frame", "NOT_PAIRED", "admissible", "best_points", "verdicts", "privacy_accuracy",
           "top1_error_bars", "plot_privacy_accuracy", "training_curves", "plot_training_curves",
           "curve_lines", "findings", "samples_at", "schemes", "unconverged"]
