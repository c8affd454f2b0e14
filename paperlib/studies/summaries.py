"""The README's results, written from the committed tables: one function per study turns its CSVs
into the sentences and small tables the README shows (docs/decisions/reporting.md §9).

Each function is pure: it takes the study's tables (``pandas.DataFrame`` read from
``figures/<name>.csv``) and returns Markdown. Numbers are written by :mod:`.numbers` (units and
rounding in one place) and comparisons use the verdict words of :mod:`.wording`. :data:`SUMMARIES`
lists every block with the tables it reads; ``paperlib.app.readme`` puts them between markers in
the README and checks that every number in them is found in a table the block cites.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

import pandas as pd

from . import numbers as N
from ..attacks.base import ATTACKS
from ..attacks.worst_case import WORST
from .nb08_attacks import SAME_POINT_FP32, WORST_LABEL
from .training_controls import FALLING, TOO_SHORT
from .wording import proxy_attack_verdict, rho_text, seeds_word, agreement_word

Tables = Mapping[str, pd.DataFrame]
LABELS = {"resnet18": "ResNet18", "resnet50": "ResNet50", "mobilenet": "MobileNet",
          "vgg11": "VGG11", "cifar10cnn": "cifar10cnn"}
PARTIAL = "partial CIFAR-10 copy"
FP32 = "full precision"


def _attack_label(name: str) -> str:
    return WORST_LABEL if name == WORST else ATTACKS.label(name)


def _label(model: str) -> str:
    return LABELS.get(model, model)


def spread_word(difference: float, spread: float, over: str) -> str:
    """Whether ``difference`` exceeds the ``spread`` a table holds (e.g. the sum of two standard
    deviations over test images); ``over`` names what the spread is taken over."""
    if abs(difference) > spread:
        return f"beyond the spread over {over}"
    return f"within the spread over {over}"


NO_SPREAD = "one run each: the tables hold no spread to compare against"


def _stats(values: pd.Series) -> dict[str, float]:
    return {"mean": float(values.mean()), "min": float(values.min()), "max": float(values.max())}


def _range(stats: Mapping[str, float], decimals: int = N.METRIC_DECIMALS) -> str:
    return (f"{N.metric(stats['mean'], decimals)} "
            f"({N.metric(stats['min'], decimals)}–{N.metric(stats['max'], decimals)})")


def measured_on_report_split(table4: pd.DataFrame) -> bool:
    """Whether Table 4's top-1 and ε were measured on the report split, with ε's paired interval
    (docs/decisions/paper-method.md §9): its ``eps_ci_low`` column says so."""
    return "eps_ci_low" in table4.columns


def derived_top1(table4: pd.DataFrame) -> pd.Series:
    """True for the Table 4 rows whose top-1 is the fp32 row's top-1 minus the estimated ε
    (not measured): detected from the table itself, so the caption follows the data. A table
    measured on the report split derives none."""
    if measured_on_report_split(table4):
        return pd.Series(False, index=table4.index)
    fp32 = table4[table4["method"] == FP32].set_index("model")["top1"]
    expected = table4["model"].map(fp32) - table4["eps_reference"]
    return (table4["method"] != FP32) & ((table4["top1"] - expected).abs() < 1e-9)


def over_seeds(table: pd.DataFrame) -> bool:
    """Whether a table (Table 4, Table 2) holds the searched numbers as the median over the search
    seeds with their range (docs/decisions/paper-method.md §10): its ``search_seeds`` column says
    so. The committed tables of a run before it hold one seed's numbers."""
    return "search_seeds" in table.columns


def _whole(value: float) -> str:
    """A count that a median over seeds may have made fractional: ``7``, ``6.5``."""
    return f"{value:g}"


def _n_seeds(table: pd.DataFrame) -> int:
    return int(table["search_seeds"].max())


def _is_true(value: object) -> bool:
    """A boolean cell as written to CSV and read back (``True``, ``"True"``)."""
    return value is True or str(value) == "True"


# --- one function per study ---------------------------------------------------------------------

def headline(t: Tables) -> str:
    """The verdict on the paper's main claim (Table 4, Table 5): where the search partitions."""
    t4, t5 = t["table4_offloads_privacy"], t["table5_conv_fc_vs_searched"]
    seeds = over_seeds(t4)
    lines = []
    for model, rows in t4[t4["method"] == "searched"].groupby("model", sort=False):
        r = rows.iloc[0]
        same = (r.blocks, r.conv_layers) == (r.blocks_paper, r.conv_layers_paper)
        s5 = t5[(t5["model"] == model) & (t5["method"] == "searched")]
        paper_e = s5["energy_mj_paper"].iloc[0] if len(s5) else float("nan")
        whose = "the paper's split" if same else "paper"
        paper_e_text = "" if pd.isna(paper_e) else f" (paper: {N.energy(paper_e)})"
        median = f" (median of {int(r.search_seeds)} seeds)" if seeds else ""
        lines.append(
            f"- {_label(model)}: the search offloads {_whole(r.blocks)} blocks / "
            f"{_whole(r.conv_layers)} conv layers{median} ({whose}: "
            f"{int(r.blocks_paper)}/{int(r.conv_layers_paper)}) at {N.energy(r.energy_mj)}"
            f"{paper_e_text}, privacy P {N.metric(r.privacy)} (paper: {N.metric(r.privacy_paper, 4)})"
            + _held_out_text(r) + ".")
    spread = (f"the searched numbers are medians over {_n_seeds(t4)} seeds of the search, their "
              "range is in Table 4" if seeds else NO_SPREAD)
    lines.append(f"- P and top-1 are computed on the {PARTIAL}; {spread}.")
    return "\n".join(lines)


def _seeds_over_bound(r: pd.Series) -> str:
    """The seeds of a searched Table 4 row whose reported ε exceeds ε_b, as written ("" if none)."""
    over_eps = r.get("seeds_over_eps_report", "")
    return over_eps if isinstance(over_eps, str) else ""


def _held_out_rule(r: pd.Series) -> bool:
    """Whether a Table 4 row was written under the held-out rule of paper-method.md §9 (only
    strategies within ε_b on the report split compared); older tables lack its count column."""
    return "seeds_within_eps_report" in r.index


def _below_baseline(r: pd.Series) -> str:
    """", k of them below it": the seeds whose held-out margin over the baseline is negative
    ("" for a table written before that count)."""
    below = r.get("seeds_below_baseline_report")
    if below is None or pd.isna(below):
        return ""
    return ", none below it" if int(below) == 0 else f", {int(below)} of them below it"


def _held_out_text(r: pd.Series) -> str:
    """The headline's clause on a searched row's P on held-out images, relative to the model's
    full-precision split, the seeds whose reported ε exceeds ε_b, and its margins over the best
    uniform baseline on the search split and over the most private uniform baseline within ε_b
    on the report split (a table written before that rule gets no held-out margin)."""
    if "privacy_report_vs_fp" not in r.index:
        return ""
    text = (f"; on held-out images P {N.metric(r.privacy_report)}, "
            f"{N.metric(r.privacy_report_vs_fp, 2)}× the full-precision split's "
            f"(paper: {N.metric(r.privacy_paper_vs_fp, 2)}×)")
    if _held_out_rule(r) and _seeds_over_bound(r):
        text += f", reported ε over ε_b in seeds {_seeds_over_bound(r)}"
    if isinstance(r.get("baseline"), str) and r.baseline:
        text += (f"; its fitness margin over the best uniform baseline of its own start "
                 f"({r.baseline}, P {N.metric(r.baseline_privacy)}): "
                 f"{N.metric(r.baseline_margin, 4)}")
        within = int(r.seeds_within_eps_report) if _held_out_rule(r) else 0
        if within and isinstance(r.get("baseline_report"), str) and r.baseline_report \
                and not pd.isna(r.baseline_margin_report):
            spread = ("the one seed within ε_b" if within == 1 else
                      f"{N.metric(r.baseline_margin_report_min, 4)} to "
                      f"{N.metric(r.baseline_margin_report_max, 4)} over the {within} seeds "
                      "within ε_b" + _below_baseline(r))
            text += (f"; held out, over the most private uniform baseline within ε_b there "
                     f"({r.baseline_report}, P {N.metric(r.baseline_privacy_report)}, reported ε "
                     f"{N.metric(r.baseline_eps_report)}): "
                     f"{N.metric(r.baseline_margin_report, 4)} ({spread})")
    return text


def table4(t: Tables) -> str:
    """Table 4 beside the paper's values, with a caption that says which top-1 are measured."""
    t4 = t["table4_offloads_privacy"]
    derived = derived_top1(t4)
    measured = measured_on_report_split(t4)
    held_out = "privacy_report_vs_fp" in t4.columns
    head = ("| model | method | ours #B/#L | paper #B/#L | ours P | "
            + ("ours P held out | P ÷ full precision's: ours held out / paper | " if held_out else "")
            + "paper P | ours top-1 | paper top-1 |"
            + (" ours ε (paired interval) |" if measured else "")
            + "\n|---|---|---|---|---|---|---|---|" + ("---|" if measured else "")
            + ("---|---|" if held_out else ""))
    seeds = over_seeds(t4)
    rows = []
    for i, r in t4.iterrows():
        top1 = N.metric(r.top1) + (" *" if derived[i] else "")
        ranged = seeds and not pd.isna(r.search_seeds)
        privacy = N.metric(r.privacy) + (f" ({N.metric(r.privacy_min)}–{N.metric(r.privacy_max)})"
                                          if ranged else "")
        if ranged and measured:
            eps = f" {N.metric(r.eps)} ({N.metric(r.eps_min)} to {N.metric(r.eps_max)} over seeds) |"
        elif measured:
            eps = f" {N.metric(r.eps)} ({N.metric(r.eps_ci_low)} to {N.metric(r.eps_ci_high)}) |"
        else:
            eps = ""
        if held_out:
            report = N.metric(r.privacy_report) + (
                f" ({N.metric(r.privacy_report_min)}–{N.metric(r.privacy_report_max)})"
                if ranged else "")
            privacy += (f" | {report} | {N.metric(r.privacy_report_vs_fp, 2)}× / "
                        f"{N.metric(r.privacy_paper_vs_fp, 2)}×")
        rows.append(f"| {_label(r.model)} | {r.method} | {_whole(r.blocks)}/{_whole(r.conv_layers)} | "
                    f"{int(r.blocks_paper)}/{int(r.conv_layers_paper)} | {privacy} | "
                    f"{N.metric(r.privacy_paper, 4)} | {top1} | {N.metric(r.top1_paper, 4)} |{eps}")
    caption = f"#B/#L: blocks / conv layers offloaded to the edge; P: Eq. 1–2 on the {PARTIAL}"
    caption += ((", \"ours P\" on the search split's images, on which the search chose its "
                 "strategy (biased up for the searched rows), \"held out\" on as many images of "
                 "the report split; ") if held_out else "; ")
    if measured:
        caption += (f"top-1 and ε of every row measured after a short finetune (the profile's "
                    f"reference budget; the paper finetunes one epoch) on the held-out report "
                    f"split of the {PARTIAL}'s test images, which the search never scored on; ε "
                    f"is paired (same images), with its bootstrap interval")
    else:
        caption += f"top-1 of the full-precision rows measured on the {PARTIAL}'s test split"
    if seeds:
        caption += (f"; searched rows: the median over {_n_seeds(t4)} seeds of the search, with the "
                    "range (min–max) of P and ε (each seed's ε interval: notebook 04's per-seed table "
                    "`table4_searched_seeds`); the fixed rows do not depend on the seed")
    if derived.any():
        caption += "; * derived, not measured: the full-precision top-1 minus the estimated ε"
    return "\n".join([head, *rows, "", caption + ".", *_privacy_check_lines(t4)])


def _held_out_check(r: pd.Series) -> str:
    """The privacy check's clause on held-out images ("" for a table without it). Under the rule
    of paper-method.md §9 it compares the strategies within ε_b there and says how many seeds
    are; an older table compared every seed."""
    if not _held_out_rule(r):
        if "as_private_held_out" not in r.index or pd.isna(r.as_private_held_out):
            return ""
        return ("; on held-out images it is "
                + ("at least as private" if _is_true(r.as_private_held_out) else "less private"))
    within, over_eps = int(r.seeds_within_eps_report), _seeds_over_bound(r)
    left_out = f" (reported ε over ε_b, left out: seeds {over_eps})" if over_eps else ""
    if pd.isna(r.as_private_held_out):
        why = "no seed's reported ε is within ε_b" if within == 0 else "no fixed strategy is"
        return f"; on held-out images there is no comparison: {why}{left_out}"
    return (f"; on held-out images, between the strategies within ε_b there ({within} of "
            f"{int(r.search_seeds)} seeds), its median P is "
            + ("at least" if _is_true(r.as_private_held_out) else "below")
            + " the most private fixed strategy's" + left_out)


def _privacy_check_lines(t4: pd.DataFrame) -> list[str]:
    """Table 4's check over seeds (docs/decisions/paper-method.md §10), one sentence per model:
    whether the searched median P is at least every feasible fixed strategy's, and the seeds
    that fell short, with why. None for a table without the check."""
    if "as_private_as_fixed" not in t4.columns:
        return []
    lines = [""]
    for _, r in t4[t4["method"] == "searched"].iterrows():
        short = r.short_seeds if isinstance(r.short_seeds, str) and r.short_seeds else ""
        verdict = ("at least as private as" if _is_true(r.as_private_as_fixed) else
                   "less private than")
        lines.append(f"- {_label(r.model)}: the searched strategy (median P over the seeds) is "
                     f"{verdict} every feasible fixed strategy (within E_b and ε_b) on the search "
                     "split's images"
                     + (f", seeds short of it: {short}" if short else ", no seed short of it")
                     + _held_out_check(r) + ".")
    return lines


def search_time(t: Tables) -> str:
    """Table 2: the quick searches' wall time, cache hit rate and the 1000-iteration estimate."""
    t2 = t["table2_search_time"]
    seeds = over_seeds(t2)
    lines = []
    for _, r in t2.iterrows():
        wall = N.duration(r.wall_h) + (
            f" (median of {int(r.search_seeds)} seeds: {N.duration(r.wall_h_min)}–"
            f"{N.duration(r.wall_h_max)})" if seeds else "")
        per_1000 = N.duration(r.per_1000_h) + (
            f" ({N.duration(r.per_1000_h_min)}–{N.duration(r.per_1000_h_max)})" if seeds else "")
        lines.append(
            f"- {_label(r.model)} ({r.estimator} estimator): {wall} for "
            f"{N.count(r.iterations_run)} iterations ({N.count(r.evaluations)} evaluations, cache "
            f"hit rate {N.share(r.cache_hit_rate)}); extrapolated to a thousand "
            f"iterations {per_1000} on this CPU, {N.duration(r.accuracy_h)} of it the accuracy "
            f"estimator with its one-off setup (the {r.estimator} estimator's table, built once "
            f"per model and shared by the seeds) (paper: {N.duration(r.paper_h)} on one "
            f"GPU with one-epoch finetuning, another estimator: not comparable).")
    return "\n".join(lines)


def depth(t: Tables) -> str:
    """Fig. 5 and 7: Spearman ρ of privacy against depth, layer- and block-wise (notebook 02)."""
    d = t["nb02_depth_correlation"]
    head = "| model | view | ρ (depth, P) | points | steps up |\n|---|---|---|---|---|"
    rows = [f"| {_label(r.model)} | {r.view} | {N.metric(r.rho, 2)} | {int(r.points)} | "
            f"{N.share(r.increasing_steps, 0)} |" for r in d.itertuples()]
    block = d[d["view"] == "block-wise"]
    weakest = block.loc[block["rho"].idxmin()]
    text = (f"Block-wise privacy {agreement_word(weakest.rho)} the paper's \"privacy increases "
            f"with depth\" for every model (weakest: {_label(weakest.model)}, "
            f"{rho_text(weakest.rho, int(weakest.points))}); P on the {PARTIAL}.")
    return "\n".join([head, *rows, "", text])


def attacks(t: Tables) -> str:
    """Notebooks 06 and 08: does the proxy P track what a real inversion attack recovers?"""
    agree = t["nb06_proxy_attack_agreement"]
    agree = agree[agree["irs_compared"].str.startswith("fp32")]
    lines = [f"- {_label(r.model)}: P and the inverse network's SSIM "
             f"{proxy_attack_verdict(r.rho_ssim)}, {rho_text(r.rho_ssim, int(r.irs))} over "
             "partition points." for r in agree.itertuples()]
    sv = t["nb06_searched_vs_baselines_attack"]
    for model, rows in sv.groupby("model", sort=False):
        s = rows[rows["strategy"].str.startswith("searched")].iloc[0]
        b = rows[rows["strategy"].str.startswith("8-bit")].iloc[0]
        diff, spread = s.attack_ssim - b.attack_ssim, s.ssim_sd + b.ssim_sd
        reading = ("" if abs(diff) <= spread else
                   ": the searched strategy is easier to invert" if diff > 0 else
                   ": the searched strategy is harder to invert")
        depth = "" if int(s.p) == int(b.p) else f" (a different depth: p = {int(s.p)} against {int(b.p)})"
        lines.append(
            f"- {_label(model)}: attack SSIM on the searched strategy {N.metric(s.attack_ssim)} "
            f"(sd {N.metric(s.ssim_sd)}) against {N.metric(b.attack_ssim)} (sd "
            f"{N.metric(b.ssim_sd)}) for 8-bit uniform at the deepest p under E_b: "
            f"{spread_word(diff, spread, 'test images')}{reading}{depth}.")
    same = t["nb08_searched_vs_baseline"]
    same = same[(same["baseline"] == SAME_POINT_FP32) & (same["attack"] == WORST)]
    for r in same.itertuples():
        lines.append(
            f"- {_label(r.model)}, the control at the same depth (notebook 08, search seed 0): "
            f"worst-case SSIM of the searched strategy {N.metric(r.ssim_searched)} against full "
            f"precision at p = {r.p_baseline} {N.metric(r.ssim_baseline)}, difference "
            f"{N.metric(r.ssim_difference, sign=True)} ± {N.metric(r.difference_se)} s.e. "
            f"(unpaired, {int(r.images)} test images): {r.verdict}.")
    he = t["nb08_he2019_table"]
    table = he.pivot_table(index="attack", columns="split", values="ssim", sort=False)
    splits = list(dict.fromkeys(he["split"]))
    head = ("| attack (He et al. 2019, cifar10cnn) | " + " | ".join(splits) + " |\n|---|"
            + "---|" * len(splits))
    rows = [f"| {a} | " + " | ".join(N.metric(table.loc[a, s]) for s in splits) + " |"
            for a in dict.fromkeys(he["attack"])]
    n = int(he["test_images"].iloc[0])
    mean_image = N.metric(he["mean_image_ssim"].iloc[0])
    caption = (f"SSIM of the reconstructions ({n} test images of the {PARTIAL}; the mean image "
               f"scores {mean_image}).")
    return "\n".join([*lines, "", head, *rows, "", caption])


def baselines(t: Tables) -> str:
    """Notebook 07: the genetic search against the other search methods at one budget."""
    f = t["nb07_search_baselines_final"]
    stats = {m: _stats(g["best_fitness"]) for m, g in f.groupby("method", sort=False)}
    seeds = f["seed"].nunique()
    head = ("| method | best fitness, mean (min–max) | distinct strategies | GA against it |\n"
            "|---|---|---|---|")
    rows = []
    for m, g in f.groupby("method", sort=False):
        verdict = "—" if m == "ga" else seeds_word(stats["ga"], stats[m])
        rows.append(f"| {m} | {_range(stats[m])} | {N.count(g['evaluations'].max())} | {verdict} |")
    text = (f"{seeds} seeds, budget {N.count(f['budget'].max())} evaluations each, "
            f"{_label(f['model'].iloc[0])} on the {PARTIAL}.")
    return "\n".join([head, *rows, "", text])


def fronts(t: Tables) -> str:
    """Notebook 07: one NSGA-II run against the genetic search swept over E_b, by hypervolume."""
    h = t["nb07_front_hypervolume"]
    stats = {m: _stats(g["hypervolume"]) for m, g in h.groupby("method", sort=False)}
    nsga, sweep = stats.get("nsga2"), stats.get("ga-sweep")
    return (f"Hypervolume in (−P, E, ε): NSGA-II {_range(nsga, 4)}, GA swept over E_b "
            f"{_range(sweep, 4)} (mean (min–max) over {h['seed'].nunique()} seeds, "
            f"{N.count(h['evaluations'].min())}–{N.count(h['evaluations'].max())} evaluations "
            f"each): NSGA-II is {seeds_word(nsga, sweep)}.")


def network(t: Tables) -> str:
    """Notebook 10: what the paper's searched split costs the device, beside the alternatives."""
    p, menu, sched = t["nb10_paths"], t["nb10_menu"], t["nb10_schedulers"]
    lines = []
    for model, rows in p.groupby("model", sort=False):
        s = rows[rows["path"].isin(("searched-eb0.35", "searched-eb0.35-seed0"))]
        full = rows[rows["path"] == "device-full"]
        if s.empty or full.empty:
            continue
        s, full = s.iloc[0], full.iloc[0]
        m = menu[menu["model"] == model]
        sizes = ", ".join(f"{k:g}" for k in sorted(m["sent_kbit"].unique()))
        variants = int(m["resent_ir_bits"].notna().sum())
        dyn = sched[(sched["model"] == model) & sched["scheduler"].str.contains("dynamic")]
        used = sorted(dyn["mean_sent_kbit"].dropna().round(3).unique())
        floor = ", ".join(f"{f:.3f}" for f in sorted(dyn["accuracy_floor"].unique()))
        sent = (f"only {used[0]:g} kbit" if len(used) == 1 and dyn["sizes_sent"].max() == 1
                else f"{', '.join(f'{k:g}' for k in used)} kbit on average")
        lines.append(
            f"- {model}: the searched split computes {N.energy(s.device_mJ)} on the device (Eq. "
            f"7–8) and sends {s.sent_kbit:g} kbit; the whole model on the device "
            f"{N.energy(full.device_mJ)}. The dynamic partition's menu: {len(m)} strategies at "
            f"least as private as it, in {m['sent_kbit'].nunique()} transfer sizes ({sizes} kbit); "
            f"{variants} of them send a searched strategy's IR at fewer bits (IR-width variants); "
            f"at the scheduler table's QoR floor (top-1 {floor}) it sent {sent} on every trace "
            f"(another floor admits other entries: notebook 10's findings).")
    return "\n".join(lines)


def training(t: Tables) -> str:
    """The top-1 each model's recipe reaches and whether its training loss had levelled off
    (notebook 03's learning curves; docs/decisions/reporting.md §11)."""
    d = t["nb03_top1_reached"]
    head = "| model | epochs | test top-1 | best top-1 (epoch) | training loss, first → last epoch | loss at the end |\n|---|---|---|---|---|---|"
    rows = [f"| {_label(r.model)} | {int(r.epochs)} | {N.metric(r.top1)} | {N.metric(r.best_top1)} "
            f"({int(r.best_epoch)}) | {N.metric(r.first_train_loss, 2)} → {N.metric(r.last_train_loss, 2)} "
            f"| {r.train_loss} |" for r in d.itertuples()]
    falling = [_label(r.model) for r in d.itertuples() if r.train_loss == FALLING]
    short = [_label(r.model) for r in d.itertuples() if r.train_loss == TOO_SHORT]
    text = f"Top-1 on the {PARTIAL}'s test images."
    if falling:
        text += (f" {', '.join(falling)}: the training loss was still falling when the recipe "
                 "ended, so their privacy numbers are those of under-trained models.")
    if short:
        text += f" {', '.join(short)}: too few epochs to tell whether the loss had levelled off."
    if falling or short:
        text += " Notebook 08 measures how P and the attacks move with training."
    return "\n".join([head, *rows, "", text])


def within_point(t: Tables) -> str:
    """Notebook 08's within-point study: Spearman's ρ between P and each attack's SSIM (and the
    worst case over the attacks) over random policies at one partition point, with its bootstrap
    interval; the verdict only where the whole interval is on one side of 0 (attacks.md §12)."""
    c = t["nb08_policy_correlation"]
    attacks_ = list(dict.fromkeys(c["attack"]))
    head = ("| point | " + " | ".join(_attack_label(a) for a in attacks_) + " |\n|---|"
            + "---|" * len(attacks_))
    rows = []
    for (model, split), g in c.groupby(["model", "split"], sort=False):
        g = g.set_index("attack")
        rows.append(f"| {_label(model)} {split} | " + " | ".join(
            f"{N.metric(g.loc[a, 'rho_ssim'], 2)} [{N.metric(g.loc[a, 'ci_low'], 2)}, "
            f"{N.metric(g.loc[a, 'ci_high'], 2)}] {g.loc[a, 'verdict'].split(' (')[0]}"
            if a in g.index else "—" for a in attacks_) + " |")
    n_pol, n_img = int(c["policies"].min()), int(c["images"].min())
    text = (f"ρ(P, SSIM) over {n_pol} random quantization policies at each point, {n_img} test "
            "images each, 95 % bootstrap interval; agree = the whole interval below 0 (higher P, "
            "less recovered), disagree = above 0, otherwise no clear relation.")
    worst = c[c["attack"] == WORST]
    if len(worst):
        text += " Over the policies the worst-case SSIM spans " + ", ".join(
            f"{N.metric(r.ssim_range)} at {r.split}" for r in worst.itertuples()) + "."
    return "\n".join([head, *rows, "", text])


def training_progress(t: Tables) -> str:
    """Notebook 08's privacy vs training: per model, at how many points training moved the
    strongest attack's SSIM beyond ``wording.SIGNIFICANT_SE`` (two) standard errors, which
    points moved, the widest noise band, and where P equals its resolution control."""
    d = t["nb08_privacy_vs_training_summary"]
    lines = []
    for model, g in d.groupby("model", sort=False):
        moved = g[g["ssim_moved"]]
        detail = ", ".join(f"{r.split} {N.metric(r.ssim_worst_untrained, 2)} → "
                           f"{N.metric(r.ssim_worst_trained, 2)}" for r in moved.itertuples())
        lines.append(
            f"- {_label(model)} (top-1 {N.metric(g['top1_untrained'].iloc[0])} untrained, "
            f"{N.metric(g['top1_trained'].iloc[0])} trained): the worst-case SSIM moved beyond two "
            f"standard errors over {int(g['images'].min())} test images at {len(moved)} of "
            f"{len(g)} points" + (f" ({detail})" if len(moved) else "")
            + f"; the noise band reaches {N.metric(g['ssim_noise_2se'].max(), 2)}.")
    shape = d[d["P_at_shape"]]
    where = ", ".join(f"{_label(r.model)} {r.split}" for r in shape.itertuples()) or "none"
    lines.append(f"- P equals that of the input average-pooled to the IR's shape (within "
                 f"{N.metric(d['threshold'].iloc[0], 2)}) at {len(shape)} of {len(d)} points "
                 f"({where}): there P measures resolution, not what the network learnt.")
    return "\n".join(lines)


@dataclass(frozen=True)
class Summary:
    """A generated README block: the function that writes it and the tables it reads."""

    render: Callable[[Tables], str]
    sources: tuple[str, ...]


SUMMARIES: dict[str, Summary] = {
    "headline": Summary(headline, ("table4_offloads_privacy", "table5_conv_fc_vs_searched")),
    "table4": Summary(table4, ("table4_offloads_privacy",)),
    "search-time": Summary(search_time, ("table2_search_time",)),
    "training": Summary(training, ("nb03_top1_reached",)),
    "depth": Summary(depth, ("nb02_depth_correlation",)),
    "attacks": Summary(attacks, ("nb06_proxy_attack_agreement", "nb06_searched_vs_baselines_attack",
                                 "nb08_searched_vs_baseline", "nb08_he2019_table")),
    "within-point": Summary(within_point, ("nb08_policy_correlation",)),
    "training-progress": Summary(training_progress, ("nb08_privacy_vs_training_summary",)),
    "baselines": Summary(baselines, ("nb07_search_baselines_final",)),
    "fronts": Summary(fronts, ("nb07_front_hypervolume",)),
    "network": Summary(network, ("nb10_paths", "nb10_menu", "nb10_schedulers")),
}


def read_tables(figures: Path, names: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    """The committed tables ``figures/<name>.csv``; a missing one is named with the fix."""
    out = {}
    for name in names:
        path = Path(figures) / f"{name}.csv"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: table missing; run `make reproduce` (quick) to "
                                    "write it, or pass the folder that holds it as `figures`")
        out[name] = pd.read_csv(path)
    return out


def render(name: str, figures: Path) -> str:
    """The Markdown of block ``name`` from the tables in ``figures``, ending with its sources."""
    if name not in SUMMARIES:
        raise KeyError(f"unknown README block {name!r}; known: {', '.join(SUMMARIES)}")
    s = SUMMARIES[name]
    body = s.render(read_tables(figures, s.sources))
    cites = ", ".join(f"`figures/{src}.csv`" for src in s.sources)
    return f"{body}\n\n<sub>Generated from {cites}.</sub>"


__all__ = ["SUMMARIES", "Summary", "Tables", "spread_word", "derived_top1",
           "measured_on_report_split", "over_seeds", "read_tables", "render", "headline", "table4",
           "search_time", "training", "within_point", "training_progress", "depth", "attacks", "baselines", "fronts", "network"]
