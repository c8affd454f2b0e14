"""Notebook 04's estimator-agreement study (docs/decisions/paper-method.md §9): does the search's
cheap ε estimator agree with the reported ε, the paper's (Eq. 10) measured on the report split?

Per searched model of the profile's :class:`~paperlib.method.profiles.AgreementPlan`, a seeded
draw of strategies stratified over partition points and bit widths
(:func:`paperlib.search.estimator_agreement.stratified_strategies`) is scored twice: by the
search's own evaluator (its estimator on the search split; records of the search's log are reused)
and by :func:`~paperlib.search.report_accuracy.measure_report` on the report split, with the
plan's finetune. :func:`estimator_agreement` returns both as one frame and the agreement table
(Spearman's ρ, bias, MAE per model); :func:`agreement_figure` draws one against the other;
:func:`agreement_findings` words the verdict. Everything is cached under
``results/<profile>/agreement/<model>-eb<E_b>-seed<seed>/`` (``evaluations.jsonl``,
``report.json``), so a rerun measures nothing.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .. import search
from ..infra.config import results_dir
from ..method.constants import ACCURACY_LOSS_BOUND, ENERGY_BOUND_MJ, MIN_AGREEMENT_STRATEGIES
from ..method.models import MODELS
from ..method.profiles import AgreementPlan
from ..search.estimator_agreement import (NOTHING, RANDOM, UNIFORM, agreement_points,
                                          agreement_table, stratified_strategies)
from . import wording
from .wording import Findings

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from ..method.profiles import Profile
    from ..search import SearchContext

BATCHES_ESTIMATOR = "finetune-batches"
NOT_A_VALIDATION = f"fewer than {MIN_AGREEMENT_STRATEGIES} strategies: not a validation"
TIMING_COLUMNS = ("report_seconds", "wall_seconds")
KIND_STYLE = {UNIFORM: ("C0", "o"), RANDOM: ("C1", "^"), NOTHING: ("0.3", "s")}


def agreement_dir(profile: str, model: str, energy_bound: float = ENERGY_BOUND_MJ,
                  seed: int = 0) -> Path:
    """``results/<profile>/agreement/<model>-eb<E_b>-seed<seed>/``: the study's evaluation log
    and ``report.json``, apart from the search's folder (reading a search never changes it)."""
    return results_dir() / profile / "agreement" / f"{model}-eb{energy_bound:g}-seed{seed}"


def report_context(ctx: "SearchContext", finetune_batches: int | None) -> "SearchContext":
    """The context whose report measurement the study uses: ``ctx`` itself (Table 4's finetune)
    for None, else ``ctx`` with the ``finetune-batches`` reference estimator at
    ``finetune_batches`` batches (its estimators fresh; ``ctx`` and its evaluator untouched)."""
    if finetune_batches is None:
        return ctx
    return ctx.with_settings(dataclasses.replace(
        ctx.settings, reference_estimator=BATCHES_ESTIMATOR, finetune_batches=finetune_batches))


def finetune_label(reports: pd.DataFrame) -> str:
    """How the reported ε of ``reports`` (rows of :func:`agreement_points`) was finetuned."""
    budgets = sorted({(str(e), None if pd.isna(b) else int(b))
                      for e, b in zip(reports["report_estimator"], reports["report_finetune_batches"])},
                     key=str)
    return "; ".join(f"{e}, one epoch" if b is None else f"{e}, {b} batch{'es' if b != 1 else ''}"
                     for e, b in budgets)


@dataclass
class AgreementStudy:
    """The study's outcome: every scored strategy (``points``), the agreement ``table`` (one row
    per model), the ``plan`` it ran and the wall ``seconds`` per model."""

    points: pd.DataFrame
    table: pd.DataFrame
    plan: AgreementPlan
    seconds: dict[str, float]
    accuracy_bound: float = ACCURACY_LOSS_BOUND

    @property
    def validates(self) -> bool:
        """Whether every model's row rests on at least MIN_AGREEMENT_STRATEGIES strategies."""
        return bool(len(self.table)) and bool((self.table["strategies"] >= MIN_AGREEMENT_STRATEGIES).all())

    def saved_points(self) -> pd.DataFrame:
        """``points`` without the timing columns (what is saved: a rerun gives the same file)."""
        return self.points.drop(columns=[c for c in TIMING_COLUMNS if c in self.points])

    @property
    def stamp(self) -> str:
        """What the table's stamp adds: the strategies per model and, below the minimum, that
        it is no validation."""
        what = f"estimator agreement on {self.plan.strategies} strategies per model"
        return what if self.validates else f"{what} ({NOT_A_VALIDATION})"


def estimator_agreement(contexts: Mapping[str, "SearchContext"], prof: "Profile",
                        energy_bound: float = ENERGY_BOUND_MJ, seed: int = 0,
                        plan: AgreementPlan | None = None) -> AgreementStudy:
    """Score ``plan.strategies`` stratified strategies (drawn with ``seed``) per model of
    ``contexts`` that ``plan.models`` names (default ``prof.agreement``) with the search's
    estimator (``ctx.evaluator`` at ``energy_bound``, search seed ``seed``, warmed by that
    search's log) and with the reported ε (``plan.finetune_batches``'s finetune), and tabulate
    their agreement (refusing fewer than ``plan.minimum`` strategies per model)."""
    plan = plan or prof.agreement
    models = [m for m in contexts if plan.models is None or m in plan.models]
    if not models:
        raise ValueError(f"none of the searched models ({', '.join(contexts) or 'none'}) is in "
                         f"the agreement plan's models ({', '.join(plan.models or ())}); set "
                         f"Profile.agreement.models")
    frames, seconds = [], {}
    bound = ACCURACY_LOSS_BOUND
    for m in models:
        t0 = time.perf_counter()
        ctx = contexts[m]
        bound = ctx.settings.accuracy_bound
        out = agreement_dir(prof.name, m, energy_bound, seed)
        evaluator = ctx.evaluator(ctx.objective(energy_bound), seed=seed,
                                  log_path=out / search.LOG_FILE)
        searched = search.default_out_dir(m, prof.name, energy_bound, seed, ctx.energy.hardware.tag)
        evaluator.warm([searched / search.LOG_FILE])
        strategies = stratified_strategies(ctx.space, plan.strategies, seed)
        frames.append(agreement_points(ctx, evaluator, strategies, seed,
                                       report_ctx=report_context(ctx, plan.finetune_batches),
                                       report_path=out / search.REPORT_FILE))
        seconds[m] = time.perf_counter() - t0
    points = pd.concat(frames, ignore_index=True)
    table = agreement_table(points, min_strategies=plan.minimum)
    extra = []
    for m in table["model"]:
        g = points[points["model"] == m]
        agree = int((g["feasible_estimator"] == g["feasible_paper"]).sum())
        extra.append({"estimator": ", ".join(sorted(set(g["estimator"]))),
                      "reported_eps_finetune": finetune_label(g),
                      "feasibility_agrees": f"{agree}/{len(g)}",
                      "validation": "yes" if len(g) >= MIN_AGREEMENT_STRATEGIES else NOT_A_VALIDATION})
    table = pd.concat([table, pd.DataFrame(extra)], axis=1)
    return AgreementStudy(points, table, plan, seconds, bound)


def agreement_figure(study: AgreementStudy) -> "Figure":
    """Per model, the search estimator's ε against the reported ε (in points of accuracy), one
    marker per strategy (by kind; the reported ε's 95 % interval as a bar), the identity line and
    ε_b on both axes; ρ and the bias in each title."""
    rows = list(study.table.itertuples())
    fig, axes = plt.subplots(1, len(rows), figsize=(3.3 * len(rows) + 0.3, 3.2), squeeze=False)
    b = 100 * study.accuracy_bound
    for ax, r in zip(axes[0], rows):
        g = study.points[study.points["model"] == r.model]
        x, y = 100 * g["eps_paper"], 100 * g["eps_estimator"]
        for kind, (color, marker) in KIND_STYLE.items():
            sel = g["kind"] == kind
            if sel.any():
                ax.errorbar(x[sel], y[sel], xerr=[x[sel] - 100 * g.loc[sel, "eps_paper_ci_low"],
                                                  100 * g.loc[sel, "eps_paper_ci_high"] - x[sel]],
                            fmt=marker, ms=3.5, color=color, ecolor=color, elinewidth=0.5,
                            alpha=0.8, label=kind)
        lo = float(min(x.min(), y.min(), 0.0)) - 1
        hi = float(max(x.max(), y.max(), b)) + 1
        ax.plot([lo, hi], [lo, hi], color="0.4", lw=0.8, ls="--", label="identity")
        ax.axvline(b, color="C3", lw=0.6, ls=":")
        ax.axhline(b, color="C3", lw=0.6, ls=":", label=f"ε_b = {b:g} %")
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_aspect("equal", adjustable="box")
        ax.set_xlabel("reported ε (report split, %)")
        ax.set_title(f"{MODELS.label(r.model)}: {wording.rho_text(r.spearman_rho, r.strategies)},"
                     f"\nbias = {100 * r.bias:+.1f} pts, MAE {100 * r.mae:.1f} pts", fontsize=8)
    axes[0][0].set_ylabel(f"search estimator's ε ({study.table['estimator'].iloc[0]}, %)")
    axes[0][0].legend(loc="upper left", fontsize=6)
    title = "Search estimator vs. reported ε per strategy"
    if not study.validates:
        title += f"\n({NOT_A_VALIDATION})"
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def agreement_findings(study: AgreementStudy) -> Findings:
    """The study's sentences (and its "claim / ours" rows): per model whether the estimator
    ranks strategies as the reported ε does (wording.ranking_word), its bias against ε_b
    (wording.bias_text) and how often both call a strategy feasible alike."""
    rows, lines = [], []
    if not study.validates:
        lines.append(f"* *{NOT_A_VALIDATION[0].upper()}{NOT_A_VALIDATION[1:]}* (this profile "
                     "checks that the study runs; its numbers mean nothing).")
    for r in study.table.itertuples():
        agree, n = (int(v) for v in r.feasibility_agrees.split("/"))
        ours = (f"{wording.rho_text(r.spearman_rho, r.strategies)}; bias {100 * r.bias:+.1f} "
                f"points, MAE {100 * r.mae:.1f} points; feasibility alike for {agree} of {n}")
        rows.append({"claim": f"{MODELS.label(r.model)}: the search's ε estimator stands in for "
                              "the paper's ε", "paper": "the paper searches with its ε itself",
                     "ours": ours})
        rho = (f" ({wording.rho_text(r.spearman_rho, r.strategies)})"
               if np.isfinite(r.spearman_rho) else "")
        lines.append(
            f"* **Estimator agreement, {MODELS.label(r.model)}** ({r.strategies} strategies; "
            f"reported ε after {r.reported_eps_finetune}): the `{r.estimator}` estimator "
            f"{wording.ranking_word(r.spearman_rho)}{rho} and "
            f"{wording.bias_text(r.bias, study.accuracy_bound)}, with a mean absolute error of "
            f"{100 * r.mae:.1f} points; "
            f"it calls {agree} of {n} strategies feasible or infeasible as the reported ε does.")
    return Findings(pd.DataFrame(rows), lines)


__all__ = ["AgreementStudy", "estimator_agreement", "agreement_figure", "agreement_findings",
           "agreement_dir", "report_context", "finetune_label", "NOT_A_VALIDATION"]
