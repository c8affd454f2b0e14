"""Tables 2 and 4 and Fig. 10 and 12 over the search seeds (docs/decisions/paper-method.md §10).

Every reported search runs for every seed of ``Profile.search_seeds``. The per-seed frames come
from :mod:`.tables` (:func:`~.tables.table4_seeds`, :func:`~.tables.timing_table`,
:func:`~.tables.history_frame`, :func:`~.tables.convergence`); this module reduces them to what
the paper's tables and figures show: the median over the seeds with the range (min–max), the seed
whose strategy Fig. 12 draws (:func:`paperlib.search.seeds.seed_summary`), and whether the
searched strategy is at least as private as every feasible fixed strategy of Table 4
(:func:`privacy_check`), naming the seeds that fell short and why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import pandas as pd

from ..search.fitness import over, within
from ..search.seeds import seed_summary, seeds_note
from . import tables
from .tables import FP32, SEARCHED, UNIFORM8
from .wording import LATE_IMPROVEMENT_SHARE

if TYPE_CHECKING:  # pragma: no cover
    from ..search import SearchResult

# Table 4's columns reported with their range over the seeds (median in the column itself)
TABLE4_RANGED = ("blocks", "privacy", "privacy_report", "energy_mj", "eps", "baseline_margin",
                 "baseline_margin_report")
# per-seed numbers that have no meaning for a median row (each seed's own interval and test)
TABLE4_PER_SEED_ONLY = ("eps_ci_low", "eps_ci_high", "mcnemar_p")
FIXED_METHODS = (FP32, UNIFORM8)


# --- Table 4 ---------------------------------------------------------------------------------------

@dataclass
class PrivacyCheck:
    """Whether the searched strategy's median P over the seeds is at least every feasible fixed
    strategy's P (Table 4), and the seeds whose own P fell short, each with why."""

    median_privacy: float
    best_fixed: str | None  # the most private feasible fixed strategy; None: none is feasible
    best_fixed_privacy: float
    short: dict[int, str] = field(default_factory=dict)  # seed -> why its P fell short
    # the same comparison on the report split's images (``privacy_report``), which the search
    # never selected on, between the strategies whose reported ε (``eps``) is within ε_b there;
    # None for a table without them, or when no seed or no fixed strategy is within ε_b there
    as_private_held_out: bool | None = None
    over_bound_held_out: tuple[int, ...] = ()  # seeds whose reported ε exceeds ε_b
    within_held_out: int = 0  # seeds whose reported ε is within ε_b (a NaN ε is neither)

    @property
    def as_private(self) -> bool:
        """Median P ≥ the most private feasible fixed strategy's (True when none is feasible)."""
        return self.best_fixed is None or self.median_privacy >= self.best_fixed_privacy

    @property
    def short_text(self) -> str:
        """"seed 3: …; seed 4: …" ("" when no seed fell short)."""
        return "; ".join(f"seed {s}: {why}" for s, why in sorted(self.short.items()))


def feasible_fixed(per_seed: pd.DataFrame, energy_bound: float, accuracy_bound: float) -> pd.DataFrame:
    """The fixed rows (full precision, 8-bit uniform) of a per-seed Table 4 that meet both bounds
    as the search judges them: compute energy ≤ E_b and the search estimator's ε (``eps_search``)
    ≤ ε_b (full precision: ε = 0)."""
    fixed = per_seed[per_seed["method"].isin(FIXED_METHODS)]
    ok = ~over(fixed["energy_mj"], energy_bound) & within(fixed["eps_search"], accuracy_bound)
    return fixed[ok]


def _why_short(row: pd.Series, energy_bound: float, accuracy_bound: float, best: pd.Series) -> str:
    if not bool(row["feasible"]):
        if row["energy_mj"] > energy_bound:
            return (f"its best strategy is punished: E = {row['energy_mj']:.4f} mJ > E_b = "
                    f"{energy_bound:g} mJ")
        if row["eps_search"] > accuracy_bound:
            return (f"its best strategy is punished: ε = {row['eps_search']:.4f} > ε_b = "
                    f"{accuracy_bound:g} (search estimator)")
        return "its best strategy is punished (Eq. 12)"
    return (f"feasible at p = {int(row['blocks'])} with P = {row['privacy']:.4f} < "
            f"{best['method']}'s {best['privacy']:.4f} at p = {int(best['blocks'])}: the search did "
            f"not reach the fixed strategy's fitness")


def privacy_check(per_seed: pd.DataFrame, energy_bound: float,
                  accuracy_bound: float) -> PrivacyCheck:
    """Table 4's check over the seeds of one model (``per_seed``: :func:`tables.table4_seeds`):
    the searched rows' median P against the most private feasible fixed row
    (:func:`feasible_fixed`), and every seed whose own P is below that row's, with why (its best
    strategy punished by E_b or ε_b, else a lower fitness than the fixed strategy's). Held out:
    the same between the rows whose reported ε is within ε_b (fixed rows: within both bounds on
    both splits; None when no seed or no fixed row is), how many seeds are, and the seeds whose
    reported ε exceeds it (docs/decisions/paper-method.md §9)."""
    searched = per_seed[per_seed["method"] == SEARCHED]
    if searched.empty:
        raise ValueError("the per-seed Table 4 has no searched row: build it with "
                         "tables.table4_seeds(net, tables.measure_over_seeds(ctx, results))")
    median = float(searched["privacy"].median())
    fixed = feasible_fixed(per_seed, energy_bound, accuracy_bound)
    if fixed.empty:
        return PrivacyCheck(median, None, math.nan)
    best = fixed.loc[fixed["privacy"].idxmax()]
    short = {int(r["seed"]): _why_short(r, energy_bound, accuracy_bound, best)
             for _, r in searched.iterrows() if r["privacy"] < best["privacy"]}
    held_out, over_bound, within_count = None, (), 0
    if {"privacy_report", "eps"} <= set(per_seed.columns):
        # held out, only strategies within ε_b where their ε is reported are compared; a NaN ε
        # (not measured) is neither within nor over
        ok = within(searched["eps"], accuracy_bound)
        over_bound = tuple(sorted(int(s) for s in searched.loc[over(searched["eps"], accuracy_bound),
                                                               "seed"]))
        within_count = int(ok.sum())
        fixed_within = fixed[within(fixed["eps"], accuracy_bound)]
        if ok.any() and not fixed_within.empty:
            held_out = bool(searched.loc[ok, "privacy_report"].median()
                            >= fixed_within["privacy_report"].max())
    return PrivacyCheck(median, str(best["method"]), float(best["privacy"]), short, held_out,
                        over_bound, within_count)


# Table 4 over seeds as notebook 04 saves it (before the paper's columns are put beside ours)
TABLE4_COLUMNS = ("model", "method", "blocks", "blocks_min", "blocks_max", "conv_layers",
                  "privacy", "privacy_min", "privacy_max", "privacy_report", "privacy_report_min",
                  "privacy_report_max", "energy_mj", "energy_mj_min",
                  "energy_mj_max", "transmission_mj", "eps_search", "eps_reference", "eps",
                  "eps_min", "eps_max", "eps_ci_low", "eps_ci_high", "mcnemar_p", "top1",
                  "baseline", "baseline_privacy", "baseline_margin", "baseline_margin_min",
                  "baseline_margin_max", "baseline_report", "baseline_eps_report",
                  "baseline_privacy_report", "baseline_margin_report",
                  "baseline_margin_report_min", "baseline_margin_report_max", "search_seeds",
                  "p_agreement", "as_private_as_fixed", "as_private_held_out", "short_seeds",
                  "seeds_within_eps_report", "seeds_over_eps_report",
                  "seeds_below_baseline_report", "note")


def table4_over_seeds(per_seed: pd.DataFrame, energy_bound: float,
                      accuracy_bound: float) -> pd.DataFrame:
    """Table 4 of one model over the search seeds: the fixed rows as measured (once), and one
    searched row holding the median over the seeds of every number, with the range of
    ``TABLE4_RANGED`` (``<column>_min``, ``<column>_max``; a fixed row's range is its value), the
    number of seeds (``search_seeds``), how many chose the most common p (``p_agreement``), the
    check of :func:`privacy_check` (``as_private_as_fixed``, ``short_seeds``) and
    :func:`paperlib.search.seeds.seeds_note` (``note``). The searched row's ``eps_ci_low``,
    ``eps_ci_high`` and ``mcnemar_p`` are ``NaN``: each seed's interval is in ``per_seed``."""
    searched = per_seed[per_seed["method"] == SEARCHED]
    check = privacy_check(per_seed, energy_bound, accuracy_bound)
    numeric = [c for c in per_seed.columns
               if c not in ("method", "seed", "feasible") and pd.api.types.is_numeric_dtype(per_seed[c])]
    rows = []
    for _, r in per_seed[per_seed["method"].isin(FIXED_METHODS)].iterrows():
        row = {"method": r["method"], **{c: r[c] for c in numeric}}
        row.update({f"{c}_{k}": r.get(c, math.nan) for c in TABLE4_RANGED for k in ("min", "max")})
        row.update(baseline="", baseline_report="", search_seeds=math.nan, p_agreement="",
                   as_private_as_fixed=None, as_private_held_out=None, short_seeds="",
                   seeds_within_eps_report=math.nan, seeds_over_eps_report="",
                   seeds_below_baseline_report=math.nan)
        rows.append(row)
    counts = searched["blocks"].value_counts()
    row = {"method": SEARCHED, **{c: float(searched[c].median()) for c in numeric}}
    row.update({c: math.nan for c in TABLE4_PER_SEED_ONLY if c in row})
    row.update({f"{c}_{k}": float(getattr(searched[c], k)()) for c in TABLE4_RANGED
                if c in searched for k in ("min", "max")})
    for col in ("baseline", "baseline_report"):  # the most common name over the seeds
        names = searched[col].value_counts() if col in searched else None
        row[col] = names.index[0] if names is not None and len(names) else ""
    row.update(search_seeds=len(searched), p_agreement=f"{int(counts.max())}/{len(searched)}",
               as_private_as_fixed=check.as_private, as_private_held_out=check.as_private_held_out,
               short_seeds=check.short_text, seeds_within_eps_report=check.within_held_out,
               seeds_over_eps_report=", ".join(map(str, check.over_bound_held_out)),
               # the seeds less private held out than the baseline of their margin (0: none;
               # NaN: a table without the margin column)
               seeds_below_baseline_report=int((searched["baseline_margin_report"] < 0).sum())
               if "baseline_margin_report" in searched else math.nan)
    rows.append(row)
    out = pd.DataFrame(rows)
    out["note"] = seeds_note(len(searched))
    return out.drop(columns=["fitness"], errors="ignore")


def relative_to_fp(table4: pd.DataFrame) -> pd.DataFrame:
    """``table4`` with each row's P as a multiple of its model's full-precision row's
    (P / P_fp): ``privacy_vs_fp`` (search split), ``privacy_report_vs_fp`` (report split) and
    ``privacy_paper_vs_fp`` (the paper's Table 4), for the columns ``table4`` has. Absolute P is
    not comparable with the paper's (another data set and training); the gain over the model's
    own full-precision split is (docs/decisions/paper-method.md §9)."""
    out = table4.copy()
    fp = out[out["method"] == FP32].set_index("model")
    for col in ("privacy", "privacy_report", "privacy_paper"):
        if col in out.columns:
            out[f"{col}_vs_fp"] = out[col] / out["model"].map(fp[col])
    return out


# --- Fig. 10 ---------------------------------------------------------------------------------------

BAND_COLUMNS = ("best_fitness", "best_privacy", "population_mean_fitness")


def history_band(history: pd.DataFrame) -> pd.DataFrame:
    """Fig. 10 over the seeds: per model and iteration, the median, min and max over the seeds of
    ``BAND_COLUMNS`` (``<column>_median`` …) and the number of seeds (``seeds``); ``history``:
    :func:`tables.history_frame` of every seed, concatenated."""
    cols = [c for c in BAND_COLUMNS if c in history.columns]
    g = history.groupby(["model", "iteration"], sort=False)
    out = g[cols].agg(["median", "min", "max"])
    out.columns = [f"{c}_{k}" for c, k in out.columns]
    out["seeds"] = g["seed"].nunique()
    return out.reset_index()


def convergence_over_seeds(history: pd.DataFrame) -> pd.DataFrame:
    """:func:`tables.convergence` of every (model, seed) history: one row each."""
    return pd.DataFrame([{"model": m, "seed": int(s), **tables.convergence(h)}
                         for (m, s), h in history.groupby(["model", "seed"], sort=False)])


def late_improvement(converged_share: "pd.Series | float") -> "pd.Series | bool":
    """Whether the best fitness last improved in the final ``wording.LATE_IMPROVEMENT_SHARE`` of
    the iterations run (``converged_share`` of :func:`tables.convergence`): the search was still
    improving when it stopped, so it has not converged within its T."""
    return converged_share > 1 - LATE_IMPROVEMENT_SHARE


def convergence_summary(conv: pd.DataFrame) -> pd.DataFrame:
    """Per model, the median over the seeds of :func:`convergence_over_seeds`' numbers, the range
    of ``converged_at`` and ``final_fitness`` (``_min``, ``_max``), ``seeds`` and
    ``late_improvement_seeds``: how many seeds' best fitness last improved in the final
    ``late_share`` (``wording.LATE_IMPROVEMENT_SHARE``) of their iterations (still improving: not
    converged)."""
    rows = []
    for m, g in conv.groupby("model", sort=False):
        numeric = g.drop(columns=["model", "seed"]).select_dtypes("number")
        row = {"model": m, **numeric.median().to_dict(), "seeds": len(g)}
        for c in ("converged_at", "final_fitness"):
            row[f"{c}_min"], row[f"{c}_max"] = g[c].min(), g[c].max()
        row["late_improvement_seeds"] = int(late_improvement(g["converged_share"]).sum())
        row["late_share"] = LATE_IMPROVEMENT_SHARE
        rows.append(row)
    return pd.DataFrame(rows)


# --- Table 2 ---------------------------------------------------------------------------------------

TIMING_RANGED = ("wall_h", "per_1000_h")


def timing_over_seeds(timing: pd.DataFrame) -> pd.DataFrame:
    """Table 2 over the seeds: per model the median of :func:`tables.timing_table`'s numbers,
    the range of ``TIMING_RANGED`` (``_min``, ``_max``), ``search_seeds`` and each model's time
    relative to the fastest model's median (``relative``)."""
    rows = []
    for m, g in timing.groupby("model", sort=False):
        numeric = g.drop(columns=["seed", "relative", "paper_relative"], errors="ignore")
        numeric = numeric.select_dtypes("number")
        row = {"model": m, "estimator": g["estimator"].iloc[0], **numeric.median().to_dict(),
               "extrapolated": bool(g["extrapolated"].any())}
        row.update({f"{c}_{k}": float(getattr(g[c], k)()) for c in TIMING_RANGED
                    for k in ("min", "max")})
        row["search_seeds"] = len(g)
        rows.append(row)
    df = pd.DataFrame(rows)
    if not df.empty:
        df["relative"] = df["per_1000_h"] / df["per_1000_h"].min()
        df["paper_relative"] = df["paper_h"] / df["paper_h"].min()
    return df


# --- Fig. 12 ---------------------------------------------------------------------------------------

def drawn(results: Sequence["SearchResult"]) -> tuple["SearchResult", dict[str, Any]]:
    """The result Fig. 12 draws (the median-fitness seed's, ``seed_summary()["drawn_seed"]``)
    and :func:`paperlib.search.seeds.seed_summary` of ``results``."""
    summary = seed_summary(results)
    by_seed = {r.seed: r for r in results}
    return by_seed[summary["drawn_seed"]], summary


def drawn_caption(summary: Mapping[str, Any]) -> str:
    """Which seed Fig. 12 draws and how often the seeds agree on p, e.g. "seed 2 (median
    fitness of 5 seeds); p = 7 chosen by 4/5 seeds", with the note of fewer than 5 seeds."""
    n = len(summary["seeds"])
    text = (f"seed {summary['drawn_seed']} (median fitness of {n} seed{'s' if n != 1 else ''}); "
            f"p = {summary['p_mode']} chosen by {summary['p_agreement']} seeds")
    note = seeds_note(n)
    return f"{text}; {note}" if note else text


__all__ = ["TABLE4_RANGED", "TABLE4_PER_SEED_ONLY", "TABLE4_COLUMNS", "PrivacyCheck", "feasible_fixed",
           "privacy_check", "table4_over_seeds", "relative_to_fp", "BAND_COLUMNS", "history_band",
           "convergence_over_seeds", "late_improvement", "convergence_summary", "TIMING_RANGED",
           "timing_over_seeds", "drawn", "drawn_caption"]
