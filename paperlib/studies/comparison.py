"""The "paper vs. ours" comparisons of the notebooks: the paper's claims (its numbers live in
:mod:`paperlib.method.constants`) beside what a run measured, as a table and as generated sentences.

Each ``*_findings`` function takes the frames a notebook has already computed and returns a
:class:`Findings`; it computes nothing new beyond the ratios and verdicts it reports. The verdict
thresholds are this package's choices, not the paper's (docs/decisions/reporting.md §6).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..method import constants as C
from ..method.paper_strategies import PaperStrategy
from .wording import (STRONG_RHO, WEAK_RHO, MIN_POINTS_FOR_RHO, SAVING_TOLERANCE, NEAR_BOUND, LEAK_SSIM_GAIN, SATURATED_P, SMALL_CHANGE, SIGNIFICANT_SE, rho_text, agreement_word, consistency_word, proxy_attack_verdict, seeds_word, feasibility, block_count)  # noqa: F401

FP32, UNIFORM8, CONV_FC, SEARCHED = (PaperStrategy.FP32.method, PaperStrategy.UNIFORM8.method,
                                     PaperStrategy.CONV_FC.method, PaperStrategy.SEARCHED.method)
# the strategies of notebook 07's E_b sweep (column "strategy" of its table)
SWEEP_BEST = "best logged (any method)"
SWEEP_UNIFORM8 = "8-bit uniform, deepest p"
SWEEP_FP32 = "fp32, deepest p"
# the strategies notebook 06 attacks (column "strategy" of its table)
ATTACK_SEARCHED = "searched (Algorithm 1)"
ATTACK_UNIFORM8 = "8-bit uniform, deepest p under E_b"
ATTACK_FP32 = "fp32, deepest p under E_b"

@dataclass
class Findings:
    """A comparison's table (saved beside the figures) and its sentences (Markdown bullets)."""

    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    lines: list[str] = field(default_factory=list)

    @property
    def markdown(self) -> str:
        return "\n".join(self.lines)


def _label(model: str) -> str:
    from ..method.models import MODELS

    return MODELS.label(model)


# --- notebook 01: layer-wise privacy of VGG11 (Fig. 3, 4) -----------------------------------------

def layer_trend_findings(trend: pd.DataFrame, agree: pd.DataFrame, summary: pd.DataFrame,
                         model: str) -> Findings:
    """Fig. 3-4's claims: privacy grows layer by layer under every distance, and the three
    distances agree. ``trend``/``agree``: ``analysis.depth_correlation``/``metric_correlation``;
    ``summary``: ``analysis.summarise`` by dist and depth."""
    from .analysis import DIST_LABELS, trend_words

    rows = [{"claim": f"{DIST_LABELS[r.dist]} privacy grows with the layer (Fig. 4)",
             "paper": "increases layer by layer",
             "ours": f"Spearman ρ = {r.rho:.2f} over {r.points} layers; "
                     f"{r.increasing_steps:.0%} of steps increase"}
            for r in trend.itertuples()]
    rows.append({"claim": "the three distances show the same trend (Fig. 4)", "paper": "similar trend",
                 "ours": "; ".join(f"ρ({DIST_LABELS[a.dist_a]}, {DIST_LABELS[a.dist_b]}) = {a.rho:.2f}"
                                   for a in agree.itertuples())})
    mse = summary[summary["dist"] == "mse"].set_index("depth")["mean"]
    k = min(5, len(mse))
    rows.append({"claim": "shallow IRs still look like the input; deeper ones are abstract (Fig. 3)",
                 "paper": "qualitative",
                 "ours": f"mean MSE P: conv1 {mse.iloc[0]:.2f} → conv{k} {mse.iloc[k - 1]:.2f} "
                         "(2 = uncorrelated)"})
    lines = [f"* **{DIST_LABELS[r.dist]}**: Spearman ρ(depth, P) = {r.rho:.2f} "
             f"({trend_words(r.rho)}; {r.increasing_steps:.0%} of consecutive layers increase) — "
             f"the paper reports a monotone increase for {_label(model)}, so this run "
             f"{agreement_word(r.rho)} it."
             for r in trend.itertuples()]
    low = agree["rho"].min()
    lines.append(f"* **Agreement between distances**: the smallest pairwise rank correlation of the "
                 f"per-layer means is {low:.2f}; the paper reports that the three show a similar trend "
                 f"({consistency_word(low)} here).")
    lines.append(f"* **Fig. 3**: the closest conv1 channel has mean standardised MSE {mse.iloc[0]:.2f} "
                 f"(Pearson ρ ≈ {1 - mse.iloc[0] / 2:.2f} with the grayscale input); by conv{k} it is "
                 f"{mse.iloc[k - 1]:.2f} (ρ ≈ {1 - mse.iloc[k - 1] / 2:.2f}).")
    return Findings(pd.DataFrame(rows), lines)


# --- notebook 02: layer-wise vs. block-wise (Fig. 5, 7) -------------------------------------------

def blockwise_findings(trend: pd.DataFrame, layer_summary: pd.DataFrame, models: Sequence[str],
                       reference_models: Sequence[str] = ()) -> Findings:
    """Fig. 5/7's claim: layer-wise privacy of a DAG network fluctuates, block-wise it increases.
    ``trend``: ``analysis.depth_correlation`` by model with a ``view`` column ("layer-wise",
    "block-wise"); ``reference_models``: chain networks shown for comparison."""
    from .analysis import increasing_fraction, trend_words

    rank = trend.set_index(["model", "view"])
    all_models = list(models) + [m for m in reference_models if m not in models]
    rows = []
    for m in all_models:
        chain = m in reference_models and m not in models
        lw, bw = rank.loc[(m, "layer-wise")], rank.loc[(m, "block-wise")]
        rows.append({
            "model": _label(m),
            "paper (layer-wise)": ("increases (chain net, Fig. 4)" if chain
                                   else "fluctuates after the first layers (Fig. 5)"),
            "ours (layer-wise)": f"ρ = {lw.rho:.2f}, {lw.increasing_steps:.0%} of {int(lw.points) - 1} steps up",
            "paper (block-wise)": ("—" if chain else "increases (Fig. 7)" if m == "resnet18"
                                   else "increases (claimed for DAG nets)"),
            "ours (block-wise)": f"ρ = {bw.rho:.2f}, {bw.increasing_steps:.0%} of {int(bw.points) - 1} steps up"})
    lines = []
    for m in models:
        lw, bw = rank.loc[(m, "layer-wise")], rank.loc[(m, "block-wise")]
        smoother = bw.increasing_steps > lw.increasing_steps
        verdict = ("reproduced" if smoother and bw.rho >= STRONG_RHO else
                   "partly reproduced" if smoother or bw.rho >= STRONG_RHO else "not reproduced")
        lines.append(
            f"* **{_label(m)}**: layer-wise ρ = {lw.rho:.2f} with {lw.increasing_steps:.0%} of steps "
            f"increasing; block-wise ρ = {bw.rho:.2f} with {bw.increasing_steps:.0%}. Block-wise privacy "
            f"shows {trend_words(bw.rho)}, and is {'more' if smoother else 'not more'} monotone than the "
            f"layer-wise curve — the paper's claim (layer-wise fluctuates, block-wise increases) is "
            f"{verdict} here.")
    if "resnet18" in models:
        s = layer_summary[layer_summary["model"] == "resnet18"].sort_values("depth")
        early, late = s["mean"].iloc[:3], s[s["depth"] >= 5]["mean"]
        lines.append(
            f"* **ResNet18, the paper's detail**: over conv1–conv3 the mean privacy goes "
            f"{' → '.join(f'{v:.2f}' for v in early)}; from conv5 on, {increasing_fraction(late):.0%} "
            f"of the {len(late) - 1} steps increase (the paper: it \"fluctuates up and down without a "
            "certain pattern\").")
    for m in reference_models:
        if m in models:
            continue
        lw = rank.loc[(m, "layer-wise")]
        lines.append(f"* **{_label(m)}** (chain reference): layer-wise ρ = {lw.rho:.2f}, "
                     f"{lw.increasing_steps:.0%} of steps increasing.")
    return Findings(pd.DataFrame(rows), lines)


# --- notebook 03: quantized IRs (Fig. 8) ----------------------------------------------------------

def quantization_findings(trend: pd.DataFrame, effect: pd.DataFrame, bits: Sequence[int],
                          models: Sequence[str]) -> Findings:
    """Fig. 8's claim: fewer IR bits, more privacy. ``trend``: ``analysis.depth_correlation`` by
    model and point with ``x="bits"``; ``effect``: ``analysis.bits_effect`` per model with the
    notebook's ``ir`` label column."""
    from .report import bits_label

    order = [bits_label(b) for b in sorted(bits)]
    rows = []
    for r in trend.itertuples():
        e = effect[(effect["model"] == r.model) & (effect["point"] == r.point)].set_index("bits")
        rows.append({"model": _label(r.model), "IR": e["ir"].iloc[0],
                     "paper": "P(2) > P(4) > P(8) (VGG11, one IR)",
                     "ours: mean P by bits " + "/".join(order):
                         " / ".join(f"{e.at[b, 'mean']:.3f}" for b in sorted(bits)),
                     "ours: ρ(bits, P)": round(r.rho, 3),
                     "ours: images with P(2-bit) > P(fp32)":
                         f"{e.at[min(bits), 'frac_higher']:.0%}" if C.FULL_PRECISION in bits else "—"})
    lines = []
    lowest = min(bits)
    for m in models:
        t = trend[trend["model"] == m]
        low = effect[(effect["model"] == m) & (effect["bits"] == lowest)]
        mono = int((t["rho"] <= -0.999).sum())
        spread = (f"= {t['rho'].min():.2f}" if t["rho"].min() == t["rho"].max()
                  else f"from {t['rho'].min():.2f} to {t['rho'].max():.2f}")
        holds = ("holds" if (t["rho"] <= -STRONG_RHO).all() and (low["diff_vs_ref"] > 0).all() else
                 "holds only in part" if (low["diff_vs_ref"] > 0).any() else "does not hold")
        lines.append(
            f"* **{_label(m)}**: at {len(t)} partition points, P falls monotonically with the bit width "
            f"at {mono} of them (Spearman ρ(bits, P) {spread}); {lowest}-bit quantization changes P by "
            f"{low['diff_vs_ref'].min():+.3f} to {low['diff_vs_ref'].max():+.3f} on average and raises it "
            f"for {low['frac_higher'].min():.0%}–{low['frac_higher'].max():.0%} of the images. The paper's "
            f"direction (fewer bits → more privacy) {holds} here.")
    eight = effect[effect["bits"] == 8]
    if len(eight):
        lines.append(f"* **Size of the effect**: 8-bit changes P by at most {eight['diff_vs_ref'].abs().max():.4f} "
                     f"(mean over images), against a spread over images of sd ≈ {effect['sd'].median():.2f}: "
                     "8-bit quantization leaves the closest channel essentially unchanged.")
    return Findings(pd.DataFrame(rows), lines)


# --- notebook 04: the search (Fig. 10, 12, Tables 2, 4) -------------------------------------------

def _convergence_findings(conv: pd.DataFrame) -> Findings:
    rows, lines = [], []
    for c in conv.itertuples():
        kinds = (f"{c.improvements_p_change} of {c.improvements} improvements changed p"
                 + (f"; mean gain {c.mean_gain_p_change:.3f} (p) vs {c.mean_gain_pi_only:.3f} (Π only)"
                    if c.improvements_p_change and c.improvements > c.improvements_p_change else ""))
        rows.append({"claim": f"{_label(c.model)}: the search settles early (Fig. 10)",
                     "paper": f"within {C.PAPER_CONVERGED_WITHIN} of {C.ITERATIONS} iterations",
                     "ours": f"last improvement at iteration {c.converged_at} of {c.iterations} "
                             f"({c.converged_share:.0%})"})
        rows.append({"claim": f"{_label(c.model)}: big jumps come from changes of p (Fig. 10)",
                     "paper": "aggressive changes led by p, slight ones by Π", "ours": kinds})
        verdict = ""
        if c.improvements_p_change and c.improvements > c.improvements_p_change:
            verdict = (" — as the paper says, the large steps come with a new p."
                       if c.mean_gain_p_change > c.mean_gain_pi_only else
                       " — unlike the paper, changes of p were not the larger steps here.")
        lines.append(f"* **Convergence, {_label(c.model)}**: the best fitness last improved at iteration "
                     f"{c.converged_at} of {c.iterations} ({c.converged_share:.0%} of the run; the paper: "
                     f"within {C.PAPER_CONVERGED_WITHIN} of {C.ITERATIONS}), rising from "
                     f"{c.initial_fitness:.3f} to {c.final_fitness:.3f}; {kinds}{verdict or '.'}")
    return Findings(pd.DataFrame(rows), lines)


def _search_time_findings(timing: pd.DataFrame, estimator: str) -> Findings:
    t2 = timing.set_index("model")
    big, small = "resnet50", "mobilenet"
    if not {big, small} <= set(t2.index):
        return Findings()
    ratio = t2.loc[big, "per_1000_h"] / t2.loc[small, "per_1000_h"]
    paper = C.PAPER_TABLE2_HOURS[big] / C.PAPER_TABLE2_HOURS[small]
    row = {"claim": "search time grows with the model (Table 2)",
           "paper": f"ResNet50 / MobileNet = {paper:g}×", "ours": f"ResNet50 / MobileNet = {ratio:.1f}×"}
    line = (f"* **Search time (Table 2)**: ResNet50 takes {ratio:.1f}× MobileNet's time per 1000 "
            f"iterations (paper: {paper:g}×). The paper's time is dominated by one epoch of finetuning "
            "per strategy on a GPU; "
            + ("this profile's sensitivity estimator replaces finetuning by a table built once, so the "
               "privacy measurement dominates instead and the hours are not comparable."
               if estimator == "sensitivity" else f"this profile's estimator is `{estimator}`."))
    return Findings(pd.DataFrame([row]), [line])


def _table4_findings(table4: pd.DataFrame, paper4: pd.DataFrame, nets: Mapping[str, Any],
                     accuracy_bounds: Mapping[str, float], energy_bound: float) -> Findings:
    from ..method import energy, models

    paper = {(r.model, r.method): r for r in paper4.itertuples()}
    bits_of = {FP32: PaperStrategy.FP32.bits, UNIFORM8: PaperStrategy.UNIFORM8.bits}
    rows, lines = [], []
    for m, net in nets.items():
        t = table4[table4["model"] == m].set_index("method")
        if not {FP32, UNIFORM8, SEARCHED} <= set(t.index):
            continue
        s, f, u = t.loc[SEARCHED], t.loc[FP32], t.loc[UNIFORM8]
        pf, pu, ps = (paper[(m, k)] for k in (FP32, UNIFORM8, SEARCHED))
        rows.append({"claim": f"{_label(m)}: the searched strategy offloads the most blocks (Table 4)",
                     "paper": f"{pf.blocks} / {pu.blocks} / {ps.blocks} blocks (fp / 8-bit / searched)",
                     "ours": f"{f.blocks:.0f} / {u.blocks:.0f} / {s.blocks:.0f} blocks"})
        rows.append({"claim": f"{_label(m)}: privacy gain of the searched strategy (Table 4)",
                     "paper": f"{ps.privacy / pf.privacy - 1:+.0%} vs fp, {ps.privacy / pu.privacy - 1:+.0%} vs 8-bit",
                     "ours": f"{s.privacy / f.privacy - 1:+.0%} vs fp, {s.privacy / u.privacy - 1:+.0%} vs 8-bit"})
        rows.append({"claim": f"{_label(m)}: top-1 change of the searched strategy (Table 4)",
                     "paper": f"{ps.top1:.4f} vs {pf.top1:.4f} ({ps.top1 - pf.top1:+.1%})",
                     "ours": f"{s.top1:.4f} vs {f.top1:.4f} ({s.top1 - f.top1:+.1%}; "
                             f"ε_b = {accuracy_bounds[m]:.0%})"})
        order_ok = s.blocks >= u.blocks >= f.blocks
        over = s.energy_mj > energy_bound
        text = (f"* **Table 4, {_label(m)}**: the searched strategy puts {s.blocks:.0f} blocks "
                f"({s.conv_layers:.0f} conv layers) on the edge at {s.energy_mj:.4f} mJ"
                + (" — *above* E_b: this search ended on a punished strategy (too few iterations)" if over else "")
                + f", against {f.blocks:.0f} (full precision) and {u.blocks:.0f} (8-bit uniform); paper: "
                f"{ps.blocks} vs {pf.blocks} and {pu.blocks}: the ordering " + ("agrees" if order_ok else "differs")
                + f". Privacy {s.privacy / f.privacy - 1:+.0%} vs full precision and "
                f"{s.privacy / u.privacy - 1:+.0%} vs 8-bit (paper {ps.privacy / pf.privacy - 1:+.0%} and "
                f"{ps.privacy / pu.privacy - 1:+.0%}); top-1 {s.top1 - f.top1:+.1%} against full precision "
                f"(paper {ps.top1 - pf.top1:+.1%}).")
        n_units = models.num_units(net)
        most = max(pf.blocks, pu.blocks, ps.blocks)
        shift = 1 if most > n_units else 0  # the paper counted the stem as a block
        if shift:
            text += (f" The paper's {_label(m)} counts go up to {most} blocks where the model has "
                     f"{n_units} after the stem, so they include the stem; we compare ours + 1 with them.")
        for row, paper_row, meth in ((f, pf, FP32), (u, pu, UNIFORM8)):
            if row.blocks + shift == paper_row.blocks:
                continue
            p_paper = int(paper_row.blocks) - shift
            e = energy.edge_energy(net, p_paper, bits_of[meth], transmission=False)
            text += (f" The paper's {meth} partition ({p_paper} blocks after the stem) would cost "
                     f"{e:.4f} mJ, {e / energy_bound - 1:+.2%} against E_b, so its cut-off "
                     + ("is slightly looser than E < E_b (rounding?)." if e < 1.01 * energy_bound else
                        "does not follow from Eq. 7–8 and Table 3 as we read them."))
        lines.append(text)
    return Findings(pd.DataFrame(rows), lines)


def _fig12_findings(strategies: pd.DataFrame, model: str) -> Findings:
    k = strategies.set_index("model").loc[model]
    b1, b3 = k.get("mean b_w 1x1", float("nan")), k.get("mean b_w 3x3", float("nan"))
    p, shrink = C.PAPER_FIG12_P, C.PAPER_FIG12_IR_SHRINK
    row = {"claim": f"{_label(model)}: split point and bits (Fig. 12)",
           "paper": f"p = {p}, IR 1/{shrink} of the first block's; 1×1 shortcut convs at the lowest bits",
           "ours": f"p = {int(k['p'])}, IR {k['IR / stem IR']:.3g}× the stem's; mean b_w 1×1 = {b1:.1f}, "
                   f"3×3 = {b3:.1f}"}
    line = (f"* **Fig. 12, {_label(model)}**: split after block {int(k['p'])} (paper: {p}); the IR leaving "
            f"it has {k['IR / stem IR']:.3g}× the stem's elements (paper: 1/{shrink} at block {p}). The 1×1 "
            f"shortcut convs got {b1:.1f} bits on average against {b3:.1f} for the 3×3 convs — "
            + ("lower, as in the paper." if b1 < b3 else
               "not lower, unlike the paper (whose 1×1 convs all got 2 bits)."))
    return Findings(pd.DataFrame([row]), [line])


def search_findings(conv: pd.DataFrame, timing: pd.DataFrame, table4: pd.DataFrame,
                    paper4: pd.DataFrame, strategies: pd.DataFrame, nets: Mapping[str, Any],
                    accuracy_bounds: Mapping[str, float], estimator: str,
                    energy_bound: float = C.ENERGY_BOUND_MJ, fig12_model: str | None = None) -> Findings:
    """The search's claims: convergence (Fig. 10), search time (Table 2), offloads, privacy and
    top-1 (Table 4, with the paper's counting of MobileNet's stem), the Fig. 12 strategy.

    ``conv``: ``tables.convergence`` rows; ``timing``: ``tables.timing_table``; ``table4``:
    ``tables.beside_paper`` of the measured Table 4; ``strategies``: the notebook's per-model
    strategy summary; ``nets``/``accuracy_bounds``: per searched model, its network and ε_b."""
    parts = [_convergence_findings(conv), _search_time_findings(timing, estimator),
             _table4_findings(table4, paper4, nets, accuracy_bounds, energy_bound)]
    if fig12_model is not None and fig12_model in nets:
        parts.append(_fig12_findings(strategies, fig12_model))
    return Findings(pd.DataFrame([r for p in parts for r in p.table.to_dict("records")]),
                    [line for p in parts for line in p.lines])


# --- notebook 05: Fig. 11 and Table 5 -------------------------------------------------------------

def edge_cloud_findings(same_p: pd.DataFrame, table5: pd.DataFrame, models: Sequence[str],
                        energy_bound: float = C.ENERGY_BOUND_MJ) -> Findings:
    """Fig. 11's savings against 8-bit uniform at the same p (the paper's rounded percentages,
    ``constants.PAPER_FIG11_SAVING``) and Table 5's energy ratio and privacy trade of the searched
    strategy against the conv/fc split."""
    rows, lines = [], []
    for m in models:
        s = same_p[(same_p["model"] == m) & (same_p["method"] == SEARCHED)].iloc[0]
        f = same_p[(same_p["model"] == m) & (same_p["method"] == FP32)].iloc[0]
        paper = C.PAPER_FIG11_SAVING[m]
        rows.append({"claim": f"{_label(m)}: energy saving vs 8-bit uniform at the same p (Fig. 11)",
                     "paper": f"about {paper:.0%}", "ours": f"{s.saving_vs_8bit:.0%} at p = {s.p}"})
        lines.append(f"* **Fig. 11, {_label(m)}**: at the searched p = {s.p}, the mixed-precision strategy "
                     f"needs {s.energy_mj:.4f} mJ of compute, {s.saving_vs_8bit:.0%} less than 8-bit uniform "
                     f"(paper: about {paper:.0%}) and {1 - s.energy_mj / f.energy_mj:.0%} less than full "
                     f"precision ({f.energy_mj:.4f} mJ); "
                     + ("close to the paper's figure." if abs(s.saving_vs_8bit - paper) <= SAVING_TOLERANCE
                        else "a different saving than the paper's, since it depends on how many layers the "
                             "search put at 2–4 bits."))
    for m in models:
        t = table5[table5["model"] == m].set_index("method")
        if not {CONV_FC, SEARCHED} <= set(t.index):
            continue
        c, s = t.loc[CONV_FC], t.loc[SEARCHED]
        ratio = c.energy_mj / s.energy_mj
        dp = s.privacy / c.privacy - 1
        has_paper = not np.isnan(c.energy_mj_paper)
        paper_ratio = c.energy_mj_paper / s.energy_mj_paper if has_paper else np.nan
        paper_dp = s.privacy_paper / c.privacy_paper - 1 if has_paper else np.nan
        rows.append({"claim": f"{_label(m)}: conv/fc split energy, all blocks at 8 bits (Table 5)",
                     "paper": f"{c.energy_mj_paper:.4f} mJ" if has_paper else "not reported",
                     "ours": f"{c.energy_mj:.4f} mJ"})
        rows.append({"claim": f"{_label(m)}: energy reduction of the searched strategy (Table 5)",
                     "paper": f"{paper_ratio:.1f}×" if has_paper else "not reported",
                     "ours": f"{ratio:.1f}× ({s.energy_mj:.4f} mJ, {s.blocks:.0f}/{s.conv_layers_with_stem:.0f})"})
        rows.append({"claim": f"{_label(m)}: privacy traded for it (Table 5)",
                     "paper": f"{paper_dp:+.1%}" if has_paper else "not reported", "ours": f"{dp:+.1%}"})
        text = (f"* **Table 5, {_label(m)}**: the conv/fc split costs {c.energy_mj:.4f} mJ of edge compute"
                + (f" (paper {c.energy_mj_paper:.4f} mJ: "
                   + ("identical" if round(c.energy_mj, 4) == c.energy_mj_paper else "different") + ")"
                   if has_paper else "")
                + f"; the searched strategy {s.energy_mj:.4f} mJ, {ratio:.1f}× less"
                + (f" (paper {paper_ratio:.1f}×)" if has_paper else "")
                + f", with {dp:+.1%} privacy" + (f" (paper {paper_dp:+.1%})" if has_paper else "") + ". ")
        if s.energy_mj > energy_bound:
            text += (f"Our searched strategy is {feasibility(s.energy_mj, energy_bound)} (the search ended on a "
                     "punished strategy: too few iterations), so the ratio is smaller than the bound implies. ")
        elif has_paper and s.energy_mj > NEAR_BOUND * energy_bound:
            text += ("Both searched strategies sit just under E_b, so the energy ratio is essentially the "
                     "conv/fc energy divided by E_b, which our model reproduces. ")
        elif has_paper:
            text += "Our searched strategy stays well under E_b, so its ratio is larger than the bound alone implies. "
        text += ("The searched strategy keeps fewer blocks on the edge and, as in the paper, gives up some "
                 "privacy for the energy." if dp < 0 else
                 "Here the searched strategy is not less private than the full conv/fc split"
                 + (" (the paper: slightly less)." if has_paper else "."))
        lines.append(text)
    return Findings(pd.DataFrame(rows), lines)


# --- notebook 06: the inversion attack (extension) ------------------------------------------------

def attack_findings(agreement: pd.DataFrame, sweep: pd.DataFrame, disagreements: pd.DataFrame,
                    bit_irs: pd.DataFrame, bits: Sequence[int],
                    strategy_attacks: Mapping[str, Mapping[str, Any]]) -> Findings:
    """Does P predict the learned inversion attack? Rank agreement per model, the sharpest
    disagreement, saturation of P, re-quantized IRs, and the searched strategy against 8-bit
    uniform (``strategy_attacks[model][ATTACK_SEARCHED | ATTACK_UNIFORM8]``: ``AttackResult``)."""
    from .attack_compare import ssim_difference

    lines = []
    for r in agreement[agreement["irs_compared"].str.startswith("fp32")].itertuples():
        g = sweep[sweep["model"] == r.model].sort_values("p")
        leak = g[g["ssim_gain"] > LEAK_SSIM_GAIN]
        if r.irs < MIN_POINTS_FOR_RHO:
            relation = (f"{rho_text(r.rho_ssim, r.irs, 'ρ(P, attack SSIM)')}, so no verdict on the "
                        "agreement of proxy and attack")
        else:
            relation = (f"Spearman ρ(P, attack SSIM) = {r.rho_ssim:.2f} (p = {r.p_value:.2g}), "
                        f"ρ(P, PSNR) = {r.rho_psnr:.2f}: proxy and attack {proxy_attack_verdict(r.rho_ssim)}")
        lines.append(f"* **{_label(r.model)}** ({r.irs} partition points): {relation}; "
                     f"{r.discordant_pairs} of {r.comparable_pairs} pairs of points are ranked the other way "
                     f"round. Attack SSIM falls from {g['ssim'].iloc[0]:.2f} at p = {g['p'].iloc[0]} to "
                     f"{g['ssim'].iloc[-1]:.2f} at p = {g['p'].iloc[-1]} (mean-image reference "
                     f"{g['baseline_ssim'].iloc[0]:.2f}), while P goes {g['privacy'].iloc[0]:.2f} → "
                     f"{g['privacy'].iloc[-1]:.2f}; the decoder beats the reference by more than "
                     f"{LEAK_SSIM_GAIN} SSIM at {len(leak)} of {len(g)} points.")
        for d in disagreements[disagreements["model"] == r.model].head(1).itertuples():
            a = g.set_index("p").loc[int(d.more_private[2:])]
            b = g.set_index("p").loc[int(d.less_private[2:])]
            lines.append(f"  The sharpest disagreement: P calls {d.more_private} more private than "
                         f"{d.less_private} ({a['privacy']:.2f} vs {b['privacy']:.2f}), yet the attack "
                         f"recovers it better (SSIM {a['ssim']:.2f} vs {b['ssim']:.2f}).")
        hi = g[(g["privacy"] >= SATURATED_P) & (g["ssim_gain"] > LEAK_SSIM_GAIN)]
        if len(hi):
            lines.append(f"  At {', '.join('p = ' + hi['p'].astype(str))} the proxy is near its "
                         f"'uncorrelated' value (P ≥ {SATURATED_P}; 2 = no channel correlates with the image) "
                         f"although the decoder still recovers SSIM {hi['ssim'].min():.2f}–"
                         f"{hi['ssim'].max():.2f}: P misses information the IR still carries spread over "
                         "many channels.")
    rest = agreement[~agreement["irs_compared"].str.startswith("fp32")]
    lines.append("* **All IRs per model** (re-quantized ones included): "
                 + ", ".join(f"{_label(r.model)} {rho_text(r.rho_ssim, r.irs, 'ρ(P, SSIM)')}"
                             for r in rest.itertuples()) + ".")
    fp = bit_irs[bit_irs["ir_bits"] == C.FULL_PRECISION].set_index(["model", "p"])
    for b in sorted(bits):
        q = bit_irs[bit_irs["ir_bits"] == b].set_index(["model", "p"])
        if not len(q):
            continue
        dssim = (q["ssim"] - fp["ssim"].reindex(q.index)).dropna()
        dp = (q["privacy"] - fp["privacy"].reindex(q.index)).dropna()
        attack_word = ("the attack recovers less" if dssim.mean() < -SMALL_CHANGE else
                       "the attack recovers more" if dssim.mean() > SMALL_CHANGE else
                       f"the attack barely changes (|ΔSSIM| < {SMALL_CHANGE})")
        proxy_word = ("P calls it more private" if dp.mean() > SMALL_CHANGE else
                      "P calls it less private" if dp.mean() < -SMALL_CHANGE else
                      f"P barely changes (|ΔP| < {SMALL_CHANGE})")
        lines.append(f"* **{b}-bit IR vs fp32** (same points, {len(dssim)} IRs): attack SSIM changes by "
                     f"{dssim.mean():+.3f} on average (lower at {int((dssim < 0).sum())} of {len(dssim)}), P by "
                     f"{dp.mean():+.3f} (higher at {int((dp > 0).sum())} of {len(dp)}): {attack_word}, "
                     f"{proxy_word}.")
    for m, out in strategy_attacks.items():
        s_, e8 = out[ATTACK_SEARCHED], out[ATTACK_UNIFORM8]
        d, se = ssim_difference(s_, e8)
        word = ("harder to invert" if d < -SIGNIFICANT_SE * se else
                "easier to invert" if d > SIGNIFICANT_SE * se else
                f"about as hard to invert (difference within {SIGNIFICANT_SE:g} s.e.)")
        more = s_.privacy > e8.privacy
        agree = (d < -SIGNIFICANT_SE * se) == more if abs(d) > SIGNIFICANT_SE * se else None
        lines.append(f"* **{_label(m)}, searched strategy** (p = {s_.p}) vs 8-bit uniform at p = {e8.p}: "
                     f"attack SSIM {s_.ssim:.3f} vs {e8.ssim:.3f} (difference {d:+.3f} ± {se:.3f} s.e.), so the "
                     f"searched strategy is {word}; the proxy calls it {'more' if more else 'less'} private "
                     f"(P {s_.privacy:.3f} vs {e8.privacy:.3f})"
                     + ("." if agree is None else
                        " — the attack agrees." if agree else " — the attack disagrees."))
    return Findings(pd.DataFrame(), lines)


# --- notebook 07: search baselines (extension) ----------------------------------------------------

def baseline_findings(comparisons: Mapping[str, Any], final: pd.DataFrame,
                      summaries: Mapping[str, pd.DataFrame], sweeps: Mapping[str, pd.DataFrame],
                      fronts: Mapping[str, pd.DataFrame], sensitivity: pd.DataFrame,
                      energy_bound: float = C.ENERGY_BOUND_MJ) -> Findings:
    """Is the genetic search worth it? Every registered search method's best fitness over seeds
    (``final``: ``Comparison.final()`` rows), how soon the reference method (Algorithm 1) reaches
    each other method's final mean (``summaries``: ``baselines.curve_summary`` per model), the
    E_b sweep at ``energy_bound`` (``sweeps[model]``: column ``strategy`` with
    :data:`SWEEP_BEST`, :data:`SWEEP_UNIFORM8`, :data:`SWEEP_FP32`) and the E_tran sensitivity
    (``etran_sensitivity.transmission_sensitivity``: its row with E_tran 0 is compute only, the one at the
    paper's E_tran the paper's setting, the others radios)."""
    from ..search.methods import REFERENCE_METHOD, SEARCH_METHODS

    ref_label = SEARCH_METHODS.label(REFERENCE_METHOD)
    lines = []
    for m, c in comparisons.items():
        stats = final[final["model"] == m].groupby("method")["best_fitness"].agg(["mean", "min", "max"])
        methods = [k for k in SEARCH_METHODS if k in stats.index]
        others = [k for k in methods if k != REFERENCE_METHOD]
        ref = stats.loc[REFERENCE_METHOD] if REFERENCE_METHOD in stats.index else None
        n = ", ".join(str(v) for v in c.budgets.values())
        lines.append(f"* **{_label(m)}** ({len(c.budgets)} seeds, {n} evaluations each; the exhaustive "
                     f"uniform grid holds {c.grid_size} strategies): best fitness — "
                     + ", ".join(f"{SEARCH_METHODS.label(k)} {stats.loc[k, 'mean']:.4f} "
                                 f"[{stats.loc[k, 'min']:.4f}, {stats.loc[k, 'max']:.4f}]" for k in methods)
                     + f". The {ref_label} is "
                     + " and ".join(f"{seeds_word(ref, stats.loc[k])} vs. {SEARCH_METHODS.label(k)}"
                                    for k in others) + ".")
        summ = summaries[m]
        ref_curve = summ[summ["method"] == REFERENCE_METHOD].set_index("evaluations")["mean"]
        for other in others:
            o = summ[summ["method"] == other].set_index("evaluations")["mean"]
            target = o.iloc[-1]
            reach = ref_curve[ref_curve >= target]
            lines.append(f"  The {ref_label} reaches the final mean of {SEARCH_METHODS.label(other)} "
                         f"({target:.4f}) after {int(reach.index[0])} of {int(o.index[-1])} evaluations."
                         if len(reach) else
                         f"  The {ref_label} never reaches the final mean of {SEARCH_METHODS.label(other)} "
                         f"({target:.4f}).")
        bl = sweeps[m]
        at = bl[np.isclose(bl["energy_bound"], energy_bound)].set_index("strategy")["privacy"]
        if SWEEP_BEST in at and SWEEP_UNIFORM8 in at:
            lines.append(f"  Within E_b = {energy_bound} mJ the most private logged strategy reaches P = "
                         f"{at[SWEEP_BEST]:.4f} vs. {at[SWEEP_UNIFORM8]:.4f} for 8-bit uniform and "
                         f"{at.get(SWEEP_FP32, np.nan):.4f} for fp32 at their deepest points; the Pareto front has "
                         f"{len(fronts[m])} strategies.")
        s = sensitivity[sensitivity["model"] == m].set_index("setting")
        e_tran = s["E_tran_pJ_per_bit"]
        comp = s[e_tran == 0].iloc[0]
        paper = s[np.isclose(e_tran, C.E_TRAN_PJ_PER_BIT)].iloc[0]
        radios = [k for k in s.index if e_tran[k] != 0 and not np.isclose(e_tran[k], C.E_TRAN_PJ_PER_BIT)]
        lines.append(f"  **E_tran**: 8-bit uniform may offload {block_count(comp['blocks_8bit'])} blocks "
                     f"compute-only and {block_count(paper['blocks_8bit'])} at "
                     f"{C.E_TRAN_PJ_PER_BIT:g} pJ/bit; with radios: "
                     + ", ".join(f"{k} {block_count(s.loc[k, 'blocks_8bit'])} (cheapest p = "
                                 f"{int(s.loc[k, 'cheapest_p_8bit'])}, {s.loc[k, 'cheapest_energy_8bit_mJ']:.3g} mJ)"
                                 for k in radios)
                     + f". Sending the raw 8-bit image would cost {s.loc[radios[0], 'raw_image_8bit_tx_mJ']:.3g}–"
                       f"{s.loc[radios[-1], 'raw_image_8bit_tx_mJ']:.3g} mJ over these radios.")
        fits = [k for k in radios
                if isinstance(s.loc[k, "best_strategy"], str) and s.loc[k, "best_strategy"] != "none fits"]
        lines.append("  " + (f"Under E_b = {energy_bound} mJ no logged or reference strategy fits with a real "
                             "radio's E_tran: Table 4's comparison (offload as many blocks as the bound allows) "
                             f"has no feasible point there, so its conclusion holds only for the paper's "
                             f"{C.E_TRAN_PJ_PER_BIT:g} pJ/bit or for energy that leaves transmission out."
                             if not fits else
                             "With real radios still feasible: " + "; ".join(
                                 f"{k}: {s.loc[k, 'best_strategy']} (P {s.loc[k, 'best_privacy']:.4f})"
                                 for k in fits) + "."))
    return Findings(pd.DataFrame(), lines)


__all__ = ["Findings", "FP32", "UNIFORM8", "CONV_FC", "SEARCHED", "SWEEP_BEST", "SWEEP_UNIFORM8",
           "SWEEP_FP32", "ATTACK_SEARCHED", "ATTACK_UNIFORM8", "ATTACK_FP32", "STRONG_RHO", "WEAK_RHO",
           "MIN_POINTS_FOR_RHO", "rho_text", "agreement_word", "consistency_word", "proxy_attack_verdict",
           "seeds_word", "feasibility", "block_count", "layer_trend_findings", "blockwise_findings",
           "quantization_findings", "search_findings", "edge_cloud_findings", "attack_findings",
           "baseline_findings"]
