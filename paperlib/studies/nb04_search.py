"""Notebook 04, the search (Fig. 10, 12, Tables 2, 4): the strategy each search found, summarised
per model, and the paper's claims beside this run (docs/decisions/reporting.md §6). The tables
themselves (Tables 2 and 4, convergence, strategy layers) are :mod:`paperlib.studies.tables`."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Mapping

import pandas as pd
from torch import nn

from ..method import constants as C
from ..method import energy, models
from ..method.models import MODELS
from ..method.paper_strategies import PaperStrategy
from ..search import Genome
from . import numbers as N
from . import tables
from .over_seeds import late_improvement
from .tables import FP32, SEARCHED, UNIFORM8
from .wording import LATE_IMPROVEMENT_SHARE, Findings

if TYPE_CHECKING:  # pragma: no cover
    from ..search import SearchResult


def strategy_summary(results: Mapping[str, "SearchResult"], nets: Mapping[str, nn.Module],
                     summaries: Mapping[str, Mapping[str, Any]] | None = None) -> pd.DataFrame:
    """One row per searched model: the seed of the strategy (``results``: per model the drawn
    seed's result, :func:`paperlib.studies.over_seeds.drawn`), its partition point p, the edge conv
    layers after the stem, the mean weight bits per kind of conv (1×1, 3×3, …), the number of
    2-bit layers, the IR's bits and the IR's size relative to the stem's (Fig. 12's reading of a
    strategy). With ``summaries`` (per model :func:`paperlib.search.seeds.seed_summary`), how
    many seeds chose the most common p (``p chosen by``, e.g. "p = 7 by 4/5")."""
    rows = []
    for m, res in results.items():
        p = int(res.best["p"])
        lay = tables.strategy_layers(nets[m], p, Genome.from_dict(res.best["genome"]).policy)
        e = lay[lay["edge"] & (lay["block"] > 0)]
        agree = ({"p chosen by": f"p = {summaries[m]['p_mode']} by {summaries[m]['p_agreement']}"}
                 if summaries and m in summaries else {})
        rows.append({"model": m, "seed": res.seed, "p": p, **agree, "edge conv layers": len(e),
                     **{f"mean b_w {k}": e.loc[e["kind"] == k, "b_w"].mean() for k in sorted(lay["kind"].unique())},
                     "2-bit layers": int((e["b_w"] == 2).sum()), "IR bits": res.best["ir_bits"],
                     "IR / stem IR": float(tables.ir_sizes(nets[m]).loc[p, "ratio_to_stem"])})
    return pd.DataFrame(rows)


def _over_seeds(row: Any) -> tuple[str, str]:
    """(" (median of n seeds)", " (seeds: a–b)") for a convergence row summarised over seeds
    (:func:`paperlib.studies.over_seeds.convergence_summary`), else ("", "")."""
    n = getattr(row, "seeds", None)
    if n is None or pd.isna(n):
        return "", ""
    lo, hi = getattr(row, "converged_at_min", math.nan), getattr(row, "converged_at_max", math.nan)
    span = "" if pd.isna(lo) else f" (seeds: {lo:g}–{hi:g})"
    return f" (median of {int(n)} seed{'s' if n != 1 else ''})", span


def _late_seeds(row: Any) -> tuple[int | None, int]:
    """(seeds whose best fitness last improved in the final ``LATE_IMPROVEMENT_SHARE`` of the
    iterations, seeds) of a convergence row: one search (``tables.convergence``: 0 or 1 of 1) or
    the summary over seeds (its ``late_improvement_seeds``). A summary without that column gives
    None where its latest seed (``converged_at_max``) was late: at least one seed, count unknown."""
    n = getattr(row, "seeds", None)
    if n is None or pd.isna(n):
        return int(bool(late_improvement(row.converged_share))), 1
    late = getattr(row, "late_improvement_seeds", None)
    if late is not None and not pd.isna(late):
        return int(late), int(n)
    latest = getattr(row, "converged_at_max", math.nan)
    share = row.converged_share if pd.isna(latest) else latest / row.iterations
    return (None if late_improvement(share) else 0), int(n)


def _convergence_verdict(row: Any) -> tuple[str, str]:
    """(the table's "; not converged within T = …" or "; settled within T = …", and the sentence
    saying so): a search whose best fitness still improved in the final
    ``LATE_IMPROVEMENT_SHARE`` of its iterations has not converged within its T
    (docs/decisions/reporting.md §6)."""
    late, n = _late_seeds(row)
    t, share = f"T = {row.iterations:g}", f"{LATE_IMPROVEMENT_SHARE:.0%}"
    if late == 0:
        who = "no seed improved" if n > 1 else "no improvement"
        return (f"; settled within {t}",
                f" It settled within {t}: {who} in the last {share} of the iterations.")
    who = ("the search still improved" if n == 1 else
           "at least one seed still improved" if late is None else f"{late} of {n} seeds still improved")
    return (f"; not converged within {t} ({who} in the last {share})",
            f" **Not converged within {t}**: {who} in the last {share} of the iterations.")


def _convergence_findings(conv: pd.DataFrame) -> Findings:
    rows, lines = [], []
    for c in conv.itertuples():
        median, span = _over_seeds(c)
        settled, settled_line = _convergence_verdict(c)
        kinds = (f"{c.improvements_p_change:g} of {c.improvements:g} improvements changed p"
                 + (f"; mean gain {c.mean_gain_p_change:.3f} (p) vs {c.mean_gain_pi_only:.3f} (Π only)"
                    if c.improvements_p_change and c.improvements > c.improvements_p_change else ""))
        rows.append({"claim": f"{MODELS.label(c.model)}: the search settles early (Fig. 10)",
                     "paper": f"within {C.PAPER_CONVERGED_WITHIN} of {C.ITERATIONS} iterations",
                     "ours": f"last improvement at iteration {c.converged_at:g}{span} of "
                             f"{c.iterations:g} ({c.converged_share:.0%}){median}{settled}"})
        rows.append({"claim": f"{MODELS.label(c.model)}: big jumps come from changes of p (Fig. 10)",
                     "paper": "aggressive changes led by p, slight ones by Π", "ours": kinds + median})
        verdict = ""
        if c.improvements_p_change and c.improvements > c.improvements_p_change:
            verdict = (" — as the paper says, the large steps come with a new p."
                       if c.mean_gain_p_change > c.mean_gain_pi_only else
                       " — unlike the paper, changes of p were not the larger steps here.")
        lines.append(f"* **Convergence, {MODELS.label(c.model)}**{median}: the best fitness last improved "
                     f"at iteration {c.converged_at:g}{span} of {c.iterations:g} ({c.converged_share:.0%} of "
                     f"the run; the paper: "
                     f"within {C.PAPER_CONVERGED_WITHIN} of {C.ITERATIONS}), rising from "
                     f"{c.initial_fitness:.3f} to {c.final_fitness:.3f}; {kinds}{verdict or '.'}"
                     f"{settled_line}")
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


def timing_lines(timing: pd.DataFrame) -> str:
    """Table 2 in sentences, one per model (``timing``: ``tables.timing_table``, or
    ``over_seeds.timing_over_seeds``: then the median with its range over the seeds)."""
    lines = []
    for r in timing.itertuples():
        total = r.accuracy_h + r.privacy_h + r.energy_h + r.other_h
        n = getattr(r, "search_seeds", math.nan)
        spread = ("" if pd.isna(n) else
                  f" (median of {int(n)} seeds: {r.wall_h_min * 3600:.0f}–{r.wall_h_max * 3600:.0f} s)")
        per_1000 = ("" if pd.isna(n) else
                    f" ({r.per_1000_h_min:.2f}–{r.per_1000_h_max:.2f} h)")
        lines.append(
            f"* **{MODELS.label(r.model)}**: {r.wall_h * 3600:.0f} s{spread} for {r.genomes:.0f} genomes "
            f"({r.evaluations:.0f} distinct, cache hit rate {r.cache_hit_rate:.0%}); {r.per_1000_h:.2f} h"
            f"{per_1000} per 1000 iterations"
            f"{' (extrapolated from T = %d)' % r.iterations_run if r.extrapolated else ''} vs. the paper's "
            f"{r.paper_h:g} h on one GPU — accuracy {r.accuracy_h / total:.0%}, privacy "
            f"{r.privacy_h / total:.0%}, energy {r.energy_h / total:.1%}, other {r.other_h / total:.0%} of it.")
    return "\n".join(lines)


def _eps_interval(row: pd.Series) -> str:
    """"; ε … (paired interval … to …) on the held-out report split" for a Table 4 row measured on
    the report split (docs/decisions/paper-method.md §9); "" for a table without the interval."""
    lo, hi = row.get("eps_ci_low", math.nan), row.get("eps_ci_high", math.nan)
    if pd.isna(lo) or pd.isna(hi):
        return ""
    return (f"; ε {row['eps']:.4f} (paired interval {lo:.4f} to {hi:.4f}) on the held-out "
            "report split")


def _seed_range(row: pd.Series) -> str:
    """" (median of n seeds: P a–b, ε c–d, p e–f)" for a searched row summarised over seeds
    (:func:`paperlib.studies.over_seeds.table4_over_seeds`); "" for a one-seed table."""
    n = row.get("search_seeds", math.nan)
    if pd.isna(n):
        return ""
    eps = ("" if pd.isna(row.get("eps_min", math.nan)) else
           f", ε {row['eps_min']:.4f}–{row['eps_max']:.4f}")
    return (f" (median of {int(n)} seed{'s' if n != 1 else ''}: P {row['privacy_min']:.4f}–"
            f"{row['privacy_max']:.4f}{eps}, p {row['blocks_min']:.0f}–{row['blocks_max']:.0f}, "
            f"p = the most common by {row['p_agreement']})")


def _privacy_check_finding(m: str, s: pd.Series) -> tuple[dict[str, str], str] | None:
    """The claim row and sentence of Table 4's check over seeds (``as_private_as_fixed``,
    ``short_seeds``), or None for a table without it."""
    ok = s.get("as_private_as_fixed", None)
    if ok is None or (isinstance(ok, float) and math.isnan(ok)):
        return None
    short = s.get("short_seeds", "")
    short = "" if not isinstance(short, str) else short
    ours = ("yes" if ok else "no") + (f"; short of it: {short}" if short else "; no seed short of it")
    row = {"claim": f"{MODELS.label(m)}: the searched strategy is at least as private as every "
                    "feasible fixed one (Table 4, median over seeds)",
           "paper": "yes: its searched rows are the most private", "ours": ours}
    line = (f"* **Table 4 check, {MODELS.label(m)}**: the searched strategy's median P over the "
            "seeds is " + ("at least" if ok else "*below*") + " the most private feasible fixed "
            "strategy's" + (f"; the seeds that fell short: {short}." if short else
                            "; no seed fell short."))
    return row, line


def _table4_findings(table4: pd.DataFrame, paper4: pd.DataFrame, nets: Mapping[str, Any],
                     accuracy_bounds: Mapping[str, float], energy_bound: float) -> Findings:
    paper = {(r.model, r.method): r for r in paper4.itertuples()}
    bits_of = {FP32: PaperStrategy.FP32.bits, UNIFORM8: PaperStrategy.UNIFORM8.bits}
    rows, lines = [], []
    for m, net in nets.items():
        t = table4[table4["model"] == m].set_index("method")
        if not {FP32, UNIFORM8, SEARCHED} <= set(t.index):
            continue
        s, f, u = t.loc[SEARCHED], t.loc[FP32], t.loc[UNIFORM8]
        pf, pu, ps = (paper[(m, k)] for k in (FP32, UNIFORM8, SEARCHED))
        rows.append({"claim": f"{MODELS.label(m)}: the searched strategy offloads the most blocks (Table 4)",
                     "paper": f"{pf.blocks} / {pu.blocks} / {ps.blocks} blocks (fp / 8-bit / searched)",
                     "ours": f"{f.blocks:.0f} / {u.blocks:.0f} / {s.blocks:.0f} blocks"})
        # P as a multiple of the fixed rows', on held-out images when the table has them (the
        # searched P on the search split is biased up: docs/decisions/paper-method.md §9)
        col = "privacy_report" if "privacy_report" in t.columns else "privacy"
        where = " on held-out images" if col == "privacy_report" else ""
        ours_gain = f"{s[col] / f[col]:.2f}× fp, {s[col] / u[col]:.2f}× 8-bit{where}"
        paper_gain = f"{ps.privacy / pf.privacy:.2f}× fp, {ps.privacy / pu.privacy:.2f}× 8-bit"
        rows.append({"claim": f"{MODELS.label(m)}: privacy gain of the searched strategy (Table 4)",
                     "paper": paper_gain, "ours": ours_gain})
        interval = _eps_interval(s) + _seed_range(s)
        paper_dt, ours_dt = N.points(ps.top1 - pf.top1), N.points(s.top1 - f.top1)
        rows.append({"claim": f"{MODELS.label(m)}: top-1 change of the searched strategy (Table 4)",
                     "paper": f"{ps.top1:.4f} vs {pf.top1:.4f} ({paper_dt})",
                     "ours": f"{s.top1:.4f} vs {f.top1:.4f} ({ours_dt}; "
                             f"ε_b = {accuracy_bounds[m]:.0%}){interval}"})
        order_ok = s.blocks >= u.blocks >= f.blocks
        over = s.energy_mj > energy_bound
        text = (f"* **Table 4, {MODELS.label(m)}**: the searched strategy puts {s.blocks:.0f} blocks "
                f"({s.conv_layers:.0f} conv layers) on the edge at {s.energy_mj:.4f} mJ"
                + (" — *above* E_b: this search ended on a punished strategy (too few iterations)" if over else "")
                + f", against {f.blocks:.0f} (full precision) and {u.blocks:.0f} (8-bit uniform); paper: "
                f"{ps.blocks} vs {pf.blocks} and {pu.blocks}: the ordering " + ("agrees" if order_ok else "differs")
                + f". Privacy {ours_gain} (paper {paper_gain}); top-1 {ours_dt} against full "
                f"precision (paper {paper_dt}){interval}.")
        n_units = models.num_units(net)
        most = max(pf.blocks, pu.blocks, ps.blocks)
        shift = 1 if most > n_units else 0  # the paper may have counted the stem as a block
        if shift:
            one_up = all(int(pr.blocks) - row.blocks == shift for row, pr in ((f, pf), (u, pu)))
            text += (f" The paper's {MODELS.label(m)} counts go up to {most} blocks where the model has "
                     f"{n_units} after the stem"
                     + (f"; its block counts are one higher than ours in both fixed rows (paper "
                        f"{pf.blocks} / {pu.blocks}, ours {f.blocks:.0f} / {u.blocks:.0f})" if one_up else "")
                     + ", possibly because it counts the stem as a block. Table 4 lists both counts "
                     "as they are, without adjusting for it.")
        for row, paper_row, meth in ((f, pf, FP32), (u, pu, UNIFORM8)):
            if row.blocks + shift == paper_row.blocks:
                continue
            p_paper = int(paper_row.blocks) - shift
            e = energy.edge_energy(net, p_paper, bits_of[meth], transmission=False)
            text += (f" The paper's {meth} partition ({p_paper} blocks after the stem"
                     + (", if it counts the stem" if shift else "") + ") would cost "
                     f"{e:.4f} mJ, {e / energy_bound - 1:+.2%} against E_b, so its cut-off "
                     + ("is slightly looser than E < E_b (rounding?)." if e < 1.01 * energy_bound else
                        "does not follow from Eq. 7–8 and Table 3 as we read them."))
        lines.append(text)
        check = _privacy_check_finding(m, s)
        if check is not None:
            rows.append(check[0])
            lines.append(check[1])
    return Findings(pd.DataFrame(rows), lines)


def _fig12_findings(strategies: pd.DataFrame, model: str) -> Findings:
    k = strategies.set_index("model").loc[model]
    b1, b3 = k.get("mean b_w 1x1", float("nan")), k.get("mean b_w 3x3", float("nan"))
    p, shrink = C.PAPER_FIG12_P, C.PAPER_FIG12_IR_SHRINK
    row = {"claim": f"{MODELS.label(model)}: split point and bits (Fig. 12)",
           "paper": f"p = {p}, IR 1/{shrink} of the first block's; 1×1 shortcut convs at the lowest bits",
           "ours": f"p = {int(k['p'])}, IR {k['IR / stem IR']:.3g}× the stem's; mean b_w 1×1 = {b1:.1f}, "
                   f"3×3 = {b3:.1f}"}
    seed = k.get("seed", math.nan)
    agree = k.get("p chosen by", math.nan)
    which = ("" if pd.isna(seed) else f" (seed {int(seed)}, the median-fitness one"
             + ("" if pd.isna(agree) else f"; {agree} seeds") + ")")
    if which:
        row["ours"] += which
    line = (f"* **Fig. 12, {MODELS.label(model)}**{which}: split after block {int(k['p'])} (paper: {p}); the IR leaving "
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
    top-1 (Table 4; where the paper's block counts exceed the model's, as MobileNet's do, the
    sentence says they are one higher, possibly counting the stem, and that Table 4 does not adjust
    them), the Fig. 12 strategy.

    ``conv``: ``tables.convergence`` rows (or ``over_seeds.convergence_summary``); ``timing``:
    ``tables.timing_table`` (or ``over_seeds.timing_over_seeds``); ``table4``:
    ``tables.beside_paper`` of the measured Table 4 (one seed, or
    ``over_seeds.table4_over_seeds``: then the seeds' ranges and the privacy check are said too);
    ``strategies``: :func:`strategy_summary`; ``nets``/``accuracy_bounds``: per searched model,
    its network and ε_b."""
    parts = [_convergence_findings(conv), _search_time_findings(timing, estimator),
             _table4_findings(table4, paper4, nets, accuracy_bounds, energy_bound)]
    if fig12_model is not None and fig12_model in nets:
        parts.append(_fig12_findings(strategies, fig12_model))
    return Findings(pd.DataFrame([r for p in parts for r in p.table.to_dict("records")]),
                    [line for p in parts for line in p.lines])
