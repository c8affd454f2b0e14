"""The paper's Tables 2, 4 and 5 and the data behind Fig. 10-12, built from search results.

Notebooks 04 (search convergence, Tables 2 and 4, Fig. 9, 10, 12) and 05 (edge vs. edge-cloud
energy, Fig. 11, Table 5) call these; everything but :func:`search_result` and
:func:`measure_references` is a pure function of a model's architecture, a
:class:`~paperlib.search.SearchResult` and frames.

Decisions (ours; the paper is silent or inconsistent):

* **Counts** ``#B / #L``: ``blocks`` = partition point p (units after the stem);
  ``conv_layers`` = conv layers inside those blocks, stem excluded (what Table 4's "#L" counts for
  the ResNets: ResNet18 "7/17", ResNet50 "6/20"); ``conv_layers_with_stem`` = the same plus the
  stem's conv (Table 5's "#L": "7/18", "8/20", "16/53"). The paper's MobileNet rows ("13/24",
  "14/26") fit neither: MobileNet V1 has 13 blocks of 2 convs after the stem.
* **Energy** in the tables is the edge *compute* energy (Eq. 7 without E_T): that is what the
  paper's Table 5 numbers are (0.7269 and 1.6776 mJ for all blocks at 8 bits, reproduced exactly
  by :func:`analytic_references`); E_T (Eq. 9) is given in a column of its own.
* **Fixed strategies** of Table 4: full precision and 8-bit uniform at the *deepest* partition
  point whose compute energy is below E_b (:func:`paperlib.method.energy.max_partition`); "8-bit conv/fc"
  of Table 5: every block on the edge at 8 bits (the classifier in the cloud).
* **Top-1 and ε** of every Table 4 row are measured, never derived: each strategy as a whole after
  the paper's finetune (the reference estimator's budget), on the *report* split of the test
  images, which the search never scored on; ε = top-1(fp) − top-1(strategy) on the same images,
  with its paired 95 % interval (:mod:`paperlib.search.report_accuracy`, docs/decisions/
  paper-method.md §9). Full precision: ε = 0 exactly and top-1 the fp network's on the report
  split. The search estimator's ε (``eps_search``) and the reference estimator's
  (``eps_reference``), both on the search split, are kept beside them.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd
from torch import nn

from ..method import energy, models
from ..infra import io
from ..infra.config import results_dir
from ..method.constants import (ENERGY_BOUND_MJ, ITERATIONS, PAPER_TABLE2_HOURS, PAPER_TABLE4, PAPER_TABLE5)
from ..method.policy import Policy
from ..method.profiles import Profile, resolve_profile
from ..search import LOG_FILE, REFERENCE_FILE
from ..search.rescore import reference_estimate
from ..search.report_accuracy import REPORT_FILE, ReportAccuracy, measure_report, report_fingerprint
from ..method.genome import Genome, uniform_genome
from ..method.paper_strategies import PaperStrategy, TABLE4, TABLE5
from .. import search
from ..search.fitness import within
from ..search.result import RESULT_FILE
from ..search import baselines
from ..method.policy import resolve

if TYPE_CHECKING:  # pragma: no cover
    from ..search import SearchContext, SearchResult

# the tables' "method" column: the names of :class:`paperlib.method.paper_strategies.PaperStrategy`
FP32 = PaperStrategy.FP32.method
UNIFORM8 = PaperStrategy.UNIFORM8.method
CONV_FC = PaperStrategy.CONV_FC.method
SEARCHED = PaperStrategy.SEARCHED.method
TABLE4_METHODS = tuple(r.method for r in TABLE4)
TABLE5_METHODS = tuple(r.method for r in TABLE5)
FINGERPRINT_FILE = "fingerprint.json"


# --- loading searches ----------------------------------------------------------------------------

def tables_dir(profile: str, model: str, energy_bound: float = ENERGY_BOUND_MJ, seed: int = 0) -> Path:
    """``results/<profile>/tables/<model>-eb<E_b>-seed<seed>/``: the notebooks' own measurements
    of the fixed strategies (an evaluation log and the reference estimator's ε), kept apart from
    the search's folder so that reading a search never changes it."""
    return results_dir() / profile / "tables" / f"{model}-eb{energy_bound:g}-seed{seed}"


def search_result(model: str, profile: "str | Profile | None" = None, *,
                  energy_bound: float = ENERGY_BOUND_MJ, seed: int = 0,
                  context: "SearchContext | None" = None, run_missing: bool = True,
                  progress: bool = False) -> "SearchResult | None":
    """The finished search of ``model`` (Algorithm 1) in ``profile``, never recomputed.

    Reads ``result.json`` from :func:`paperlib.search.default_out_dir` when it exists and ran the
    profile's T iterations. Otherwise, with ``run_missing``, calls :func:`paperlib.search.run`,
    which resumes an interrupted search from its checkpoint (or starts one); without it returns
    ``None`` (a notebook then skips the model instead of starting a long search).
    """
    prof = resolve_profile(profile)
    out = search.default_out_dir(model, prof.name, energy_bound, seed)
    if (out / RESULT_FILE).exists():
        res = search.load_result(out)
        if res.settings.get("iterations") == prof.search_for(model).iterations:
            return res
    if not run_missing:
        return None
    return search.run(model, prof, search.RunSettings(energy_bound=energy_bound, seed=seed),
                      context=context, progress=progress)


# --- counts and analytic energies (Tables 4 and 5, Fig. 11) --------------------------------------

def offload_counts(net: nn.Module, p: int) -> dict[str, int]:
    """``#B / #L`` of partition ``p``: blocks on the edge, their conv layers (Table 4's #L, stem
    excluded) and the same with the stem (Table 5's #L)."""
    with_stem = models.edge_layer_count(net, p)
    stem = models.edge_layer_count(net, 0)
    return {"blocks": int(p), "conv_layers": with_stem - stem, "conv_layers_with_stem": with_stem}


def _energies(net: nn.Module, p: int, policy: Policy) -> dict[str, float]:
    compute = energy.edge_energy(net, p, policy, transmission=False)
    tx = energy.transmission_energy(net, p, policy)
    return {"energy_mj": compute, "transmission_mj": tx, "total_mj": compute + tx}


def analytic_references(net: nn.Module, energy_bound: float = ENERGY_BOUND_MJ,
                        transmission: bool = False) -> pd.DataFrame:
    """The fixed strategies of Tables 4 and 5, energy only (no measurement; deterministic).

    Full precision and 8-bit uniform at the deepest partition point whose energy (compute only
    unless ``transmission``) is below ``energy_bound`` mJ (``p`` is ``NaN`` when none fits), and
    "8-bit conv/fc": every block on the edge at 8 bits. Columns: ``method``, ``bits``, ``p``,
    :func:`offload_counts`, ``energy_mj`` (compute, Eq. 7-8), ``transmission_mj`` (Eq. 9),
    ``total_mj``. ResNet18's and ResNet50's conv/fc rows give Table 5's 0.7269 and 1.6776 mJ.
    """
    rows: list[dict[str, Any]] = []
    for ref in (PaperStrategy.FP32, PaperStrategy.UNIFORM8, PaperStrategy.CONV_FC):
        p = ref.partition(net, energy_bound, transmission)
        bits = ref.bits
        row: dict[str, Any] = {"method": ref.method, "bits": bits}
        if p is None:
            row.update(p=math.nan, blocks=math.nan, conv_layers=math.nan,
                       conv_layers_with_stem=math.nan, energy_mj=math.nan,
                       transmission_mj=math.nan, total_mj=math.nan)
        else:
            row.update(p=p, **offload_counts(net, p), **_energies(net, p, bits))
        rows.append(row)
    return pd.DataFrame(rows)


def same_partition_energies(net: nn.Module, p: int, policy: Policy) -> pd.DataFrame:
    """Fig. 11: the edge energy at one partition point ``p`` (the searched one) for full
    precision, 8-bit uniform and ``policy`` (the searched per-layer bits), in mJ.

    Columns: ``method``, ``p``, ``energy_mj`` (compute), ``transmission_mj``, ``total_mj`` and
    ``saving_vs_8bit`` (1 − compute energy / the 8-bit uniform one; the paper's "about 40 %")."""
    rows = [{"method": m, "p": int(p), **_energies(net, p, pol)}
            for m, pol in ((r.method, r.bits if r.fixed else policy) for r in TABLE4)]
    df = pd.DataFrame(rows)
    e8 = float(df.loc[df["method"] == UNIFORM8, "energy_mj"].iloc[0])
    df["saving_vs_8bit"] = 1.0 - df["energy_mj"] / e8 if e8 > 0 else math.nan
    return df


# --- measured rows (privacy, ε) ------------------------------------------------------------------

def _match_fingerprint(out: Path, fingerprint: dict[str, Any]) -> None:
    """Keep ``out``'s cached measurements only if they were made for ``fingerprint`` (checkpoint,
    data, search settings); otherwise drop them and record the new fingerprint."""
    path = out / FINGERPRINT_FILE
    want = io.json_safe(fingerprint)
    if path.exists() and io.read_json(path) == want:
        return
    out.mkdir(parents=True, exist_ok=True)
    for name in (LOG_FILE, REFERENCE_FILE, REPORT_FILE):
        (out / name).unlink(missing_ok=True)
    io.write_json(path, want)


# the report-split columns of measure_references and table4 (docs/decisions/paper-method.md §9)
REPORT_COLUMNS = {"eps": "eps", "eps_ci_low": "ci_low", "eps_ci_high": "ci_high",
                  "mcnemar_p": "mcnemar_p", "top1_fp": "top1_fp", "top1": "top1",
                  "report_images": "images"}


def _searched_report(ctx: "SearchContext", result: "SearchResult", genome: Genome,
                     out: Path) -> ReportAccuracy:
    """The searched strategy's report: ``result.report`` when it was measured for this context
    (same checkpoint, split and finetune), else measured into ``out``."""
    key = result.best["key"]
    if result.report and result.report.get("fingerprint") == report_fingerprint(ctx, key, result.seed):
        return ReportAccuracy.from_dict(result.report)
    return measure_report(ctx, genome, result.seed, path=out / REPORT_FILE)


def measure_references(ctx: "SearchContext", result: "SearchResult", *,
                       reference_accuracy: bool = True) -> pd.DataFrame:
    """Privacy, energy and ε of the fixed strategies beside the searched one (Tables 4 and 5).

    Measures with :func:`paperlib.search.baselines.paper_strategy_points` on an evaluator of ``ctx`` (the
    search's P, E and ε estimator, seeded as the search), logging to :func:`tables_dir` so that
    a second call measures nothing. With ``reference_accuracy`` the accuracy of every Table 4 row
    is measured too: the 8-bit uniform strategy by the search's reference estimator (cached in
    ``reference.json`` there), and every row on the report split
    (:func:`paperlib.search.report_accuracy.measure_report`, cached in ``report.json`` there; the
    searched strategy's is ``result.report`` when that was measured for ``ctx``).

    Returns one row per method with ``method``, ``p``, ``privacy``, ``energy`` (with E_T),
    ``energy_no_tx``, ``eps_search`` (search estimator, search split), ``eps_reference``
    (reference estimator, search split), the report-split columns ``eps``, ``eps_ci_low``,
    ``eps_ci_high`` (its 95 % interval), ``mcnemar_p``, ``top1_fp``, ``top1`` and
    ``report_images`` (``NaN`` where not measured), and ``key``.
    """
    if ctx.model != result.model:
        raise ValueError(f"context is for {ctx.model!r}, the result for {result.model!r}")
    out = _tables_out(ctx, result)
    objective = ctx.objective(result.energy_bound)
    evaluator = ctx.evaluator(objective, seed=result.seed, log_path=out / LOG_FILE)
    refs = baselines.paper_strategy_points(ctx, objective, evaluator, result)
    refs = refs.rename(columns={"eps": "eps_search"})
    refs["eps_reference"] = math.nan
    refs.loc[refs["method"] == FP32, "eps_reference"] = 0.0
    refs.loc[refs["method"] == SEARCHED, "eps_reference"] = result.best["eps_reference"]
    for col in REPORT_COLUMNS:
        refs[col] = math.nan
    ref_name = ctx.settings.reference_estimator
    uniform = refs.index[refs["method"] == UNIFORM8]
    if reference_accuracy and len(uniform):
        i = uniform[0]
        if ref_name == ctx.settings.estimator:
            refs.loc[i, "eps_reference"] = refs.loc[i, "eps_search"]
        else:
            genome = PaperStrategy.UNIFORM8.genome(ctx.space, int(refs.loc[i, "p"]))
            acc, _ = reference_estimate(out / REFERENCE_FILE, ref_name,
                                        lambda: ctx.estimator(ref_name), genome,
                                        str(refs.loc[i, "key"]), result.seed)
            refs.loc[i, "eps_reference"] = float(acc.eps)
    if reference_accuracy:
        for i in refs.index[refs["method"].isin(TABLE4_METHODS)]:
            method = refs.loc[i, "method"]
            if method == SEARCHED:
                genome = Genome.from_dict(result.best["genome"])
                rep = _searched_report(ctx, result, genome, out)
            else:
                genome = PaperStrategy.of(method).genome(ctx.space, int(refs.loc[i, "p"]))
                rep = measure_report(ctx, genome, result.seed, path=out / REPORT_FILE)
            for col, name in REPORT_COLUMNS.items():
                refs.loc[i, col] = float(getattr(rep, name))
    refs["privacy_report"] = [_report_privacy(ctx, result, m, int(p))
                              for m, p in zip(refs["method"], refs["p"])]
    cols = ["method", "p", "privacy", "privacy_report", "energy", "energy_no_tx", "eps_search",
            "eps_reference", *REPORT_COLUMNS, "key"]
    return refs[cols].reset_index(drop=True)


def _report_privacy(ctx: "SearchContext", result: "SearchResult", method: str, p: int) -> float:
    """P of a Table 4 row on the report split's images (``ctx.report_privacy``): the searched
    strategy is ``result.best``, a fixed one its paper strategy at ``p``."""
    genome = (Genome.from_dict(result.best["genome"]) if method == SEARCHED
              else PaperStrategy.of(method).genome(ctx.space, p))
    return float(ctx.report_privacy(genome))


# the searched rows' best-baseline columns, empty (a fixed row, or a result without baselines)
NO_BASELINE: dict[str, Any] = {"baseline": "", "baseline_p": math.nan,
                               "baseline_privacy": math.nan, "baseline_margin": math.nan,
                               "baseline_report": "", "baseline_eps_report": math.nan,
                               "baseline_privacy_report": math.nan,
                               "baseline_margin_report": math.nan}


def _baseline_label(b: dict[str, Any]) -> str:
    return f"{b['name']} at p = {b['p']}"


def held_out_baseline(ctx: "SearchContext", result: "SearchResult", seed: int,
                      path: Path) -> tuple[dict[str, Any], float, ReportAccuracy] | None:
    """The uniform baseline the held-out margin is taken over (docs/decisions/paper-method.md
    §9): of ``result``'s baselines, the most private on the report split (P,
    ``ctx.report_privacy``) whose reported ε there (Table 4's finetune, measuring seed ``seed``,
    cached in ``path``) is within ε_b: the strongest trivial strategy on those images, chosen on
    them, so the comparison favours the baseline. Returns it with its held-out P and report, or
    None when none is within ε_b. Their energies are within E_b by construction
    (:func:`paperlib.search.uniform_baselines.deepest_energy_partition`)."""
    genomes = [uniform_genome(ctx.space, int(b["p"]), int(b["bits"])) for b in result.baselines]
    scored = sorted(((float(ctx.report_privacy(g)), i) for i, g in enumerate(genomes)), reverse=True)
    for privacy, i in scored:
        rep = measure_report(ctx, genomes[i], seed, path=path)
        if within(rep.eps, result.accuracy_bound):
            return result.baselines[i], privacy, rep
    return None


def _best_baseline(ctx: "SearchContext", result: "SearchResult", privacy_report: float,
                   held_out_from: tuple[int, Path] | None,
                   eps_report: float = math.nan) -> dict[str, Any]:
    """The baseline columns of a searched row (``NO_BASELINE`` for a result without baselines,
    Algorithm 1's). On the search split: the best baseline of ``result``'s own initial
    population under its estimator (``baseline``, ``p``, ``baseline_privacy``) and the searched
    strategy's fitness margin over it (``baseline_margin``; paper-method.md §8). Held out: the
    baseline of :func:`held_out_baseline` (``baseline_report``, its reported ε
    ``baseline_eps_report``, its P on the report split ``baseline_privacy_report``) and the
    searched strategy's P there less it (``baseline_margin_report``), given only when the searched
    strategy's own reported ε (``eps_report``) is within ε_b: a strategy over the bound is not
    one the search could report. Empty without ``held_out_from`` (the measuring seed and
    ``report.json`` of the baselines' reported ε)."""
    row = dict(NO_BASELINE)
    if not result.baselines:
        return row
    best = max(result.baselines, key=lambda b: b["fitness"])
    margin = result.baseline_margin
    row.update(baseline=_baseline_label(best), baseline_p=float(best["p"]),
               baseline_privacy=float(best["privacy"]),
               baseline_margin=math.nan if margin is None else float(margin))
    found = held_out_baseline(ctx, result, *held_out_from) if held_out_from else None
    if found is not None:
        b, held_out, rep = found
        feasible = bool(within(eps_report, result.accuracy_bound))
        row.update(baseline_report=_baseline_label(b), baseline_eps_report=float(rep.eps),
                   baseline_privacy_report=held_out,
                   baseline_margin_report=privacy_report - held_out if feasible else math.nan)
    return row


def _tables_out(ctx: "SearchContext", result: "SearchResult") -> Path:
    """:func:`tables_dir` of ``result``, emptied of measurements made for another checkpoint,
    data or search settings."""
    out = tables_dir(result.profile, result.model, result.energy_bound, result.seed)
    _match_fingerprint(out, {"data": ctx.provenance, "checkpoint_accuracy": ctx.meta.get("accuracy"),
                             "checkpoint_date": ctx.meta.get("date"), "settings": result.settings})
    return out


def searched_row(ctx: "SearchContext", result: "SearchResult", *,
                 reference_accuracy: bool = True,
                 baselines_measured_by: "SearchResult | None" = None) -> dict[str, Any]:
    """The searched row of :func:`measure_references` for one search seed, measuring nothing
    the search has not: P, E and both estimators' ε from ``result.best`` and the report-split
    columns from ``result.report`` when it was measured for ``ctx`` (else measured into
    :func:`tables_dir`); with the search ``seed``, its ``fitness`` and ``feasible`` (Eq. 11-12,
    the search estimator's ε), for Table 4 over seeds (docs/decisions/paper-method.md §10), and
    the baseline columns of :func:`_best_baseline`, whose reported ε are measured with the seed
    and in the :func:`tables_dir` of ``baselines_measured_by`` (default ``result``; the held-out
    ones need ``reference_accuracy``)."""
    if ctx.model != result.model:
        raise ValueError(f"context is for {ctx.model!r}, the result for {result.model!r}")
    b = result.best
    held_out = _report_privacy(ctx, result, SEARCHED, int(b["p"]))
    row: dict[str, Any] = {"method": SEARCHED, "p": int(b["p"]), "privacy": float(b["privacy"]),
                           "privacy_report": held_out,
                           "energy": float(b["energy_mj"]), "energy_no_tx": float(b["energy_no_tx_mj"]),
                           "eps_search": float(b["eps"]), "eps_reference": float(b["eps_reference"]),
                           **{c: math.nan for c in REPORT_COLUMNS}, "key": b["key"],
                           "seed": int(result.seed), "fitness": float(b["fitness"]),
                           "feasible": bool(b["feasible"])}
    if reference_accuracy:
        rep = _searched_report(ctx, result, Genome.from_dict(b["genome"]), _tables_out(ctx, result))
        row.update({col: float(getattr(rep, name)) for col, name in REPORT_COLUMNS.items()})
    by = baselines_measured_by or result
    row.update(_best_baseline(ctx, result, held_out, (by.seed, _tables_out(ctx, by) / REPORT_FILE)
                              if reference_accuracy else None, row["eps"]))
    return row


def measure_over_seeds(ctx: "SearchContext", results: Sequence["SearchResult"], *,
                       reference_accuracy: bool = True) -> pd.DataFrame:
    """:func:`measure_references` over the search seeds (docs/decisions/paper-method.md §10): the
    fixed strategies measured once, with the first result's measurement seed (they depend on the
    search seed through nothing else), and one searched row per result (:func:`searched_row`;
    the uniform baselines' reported ε likewise once, with the first result's seed).

    Columns: :func:`measure_references`' and ``seed`` (a searched row's search seed; the
    measuring seed of a fixed row), ``fitness`` and ``feasible`` (searched rows; ``NaN`` for the
    fixed ones)."""
    results = list(results)
    if not results:
        raise ValueError("no search results: give at least one seed's SearchResult")
    seeds = [r.seed for r in results]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"the results repeat a seed ({seeds}); give each seed's result once")
    first = measure_references(ctx, results[0], reference_accuracy=reference_accuracy)
    fixed = first[first["method"] != SEARCHED].assign(seed=results[0].seed, fitness=math.nan,
                                                       feasible=math.nan, **NO_BASELINE)
    searched = pd.DataFrame([searched_row(ctx, r, reference_accuracy=reference_accuracy,
                                          baselines_measured_by=results[0]) for r in results])
    return pd.concat([fixed, searched[fixed.columns]], ignore_index=True)


def _measured_rows(net: nn.Module, refs: pd.DataFrame,
                   strategies: Sequence[PaperStrategy]) -> Iterator[tuple[pd.Series, dict[str, Any]]]:
    """For each of ``strategies`` present in :func:`measure_references`' frame: its row there and
    the columns both tables share (``method``, :func:`offload_counts`, ``privacy``, ``energy_mj``
    (compute), ``transmission_mj``)."""
    for ref in strategies:
        sel = refs[refs["method"] == ref.method]
        if sel.empty:
            continue
        r = sel.iloc[0]
        yield r, {"method": ref.method, **offload_counts(net, int(r["p"])),
                  "privacy": float(r["privacy"]), "energy_mj": float(r["energy_no_tx"]),
                  "transmission_mj": float(r["energy"] - r["energy_no_tx"])}


# Table 4's measured columns beside P and E: P on the report split, ε by both estimators on the
# search split and the reported ε, its interval, McNemar's p and top-1 on the report split
TABLE4_MEASURED = ("privacy_report", "eps_search", "eps_reference", "eps", "eps_ci_low",
                   "eps_ci_high", "mcnemar_p", "top1")


def table4(net: nn.Module, refs: pd.DataFrame, top1_fp: float | None = None) -> pd.DataFrame:
    """Table 4's rows for one model from :func:`measure_references`' frame: ``method``,
    :func:`offload_counts`, ``privacy`` (search split) and ``privacy_report`` (report split),
    ``energy_mj`` (compute), ``transmission_mj``,
    ``eps_search`` (search estimator) and ``eps_reference`` (reference estimator), both on the
    search split, and the reported ``eps`` with ``eps_ci_low`` / ``eps_ci_high`` (95 %),
    ``mcnemar_p`` and ``top1``, measured on the report split (docs/decisions/paper-method.md §9).

    ``top1_fp`` is no longer used (``top1`` was ``top1_fp − eps_reference``; it is measured now)."""
    if top1_fp is not None:
        warnings.warn("table4(top1_fp=...) is ignored: every row's top1 is measured on the report "
                      "split by measure_references", DeprecationWarning, stacklevel=2)
    missing = [c for c in TABLE4_MEASURED if c not in refs.columns]
    if missing:
        raise ValueError(f"refs lacks {', '.join(missing)}: build it with "
                         "tables.measure_references(ctx, result) (reference_accuracy=True), which "
                         "measures top-1 and ε on the report split")
    return pd.DataFrame([{**row, **{c: float(r[c]) for c in TABLE4_MEASURED}}
                         for r, row in _measured_rows(net, refs, TABLE4)])


def table4_seeds(net: nn.Module, refs: pd.DataFrame) -> pd.DataFrame:
    """:func:`table4`'s rows for every seed of :func:`measure_over_seeds`' frame: each fixed
    strategy once, the searched one per search seed, with ``seed``, ``fitness``, ``feasible``
    and the searched rows' best uniform baseline (``NO_BASELINE``'s columns)."""
    missing = [c for c in (*TABLE4_MEASURED, "seed", "fitness", "feasible") if c not in refs.columns]
    if missing:
        raise ValueError(f"refs lacks {', '.join(missing)}: build it with "
                         "tables.measure_over_seeds(ctx, results)")
    rows = []
    for ref in TABLE4:
        for _, r in refs[refs["method"] == ref.method].iterrows():
            rows.append({"method": ref.method, "seed": int(r["seed"]),
                         **offload_counts(net, int(r["p"])), "privacy": float(r["privacy"]),
                         "energy_mj": float(r["energy_no_tx"]),
                         "transmission_mj": float(r["energy"] - r["energy_no_tx"]),
                         **{c: float(r[c]) for c in TABLE4_MEASURED},
                         "fitness": r["fitness"], "feasible": r["feasible"],
                         **{c: r.get(c, v) for c, v in NO_BASELINE.items()}})
    return pd.DataFrame(rows)


TABLE5_COLUMNS = ("method", "blocks", "conv_layers_with_stem", "energy_mj", "transmission_mj",
                  "privacy")


def table5(net: nn.Module, refs: pd.DataFrame) -> pd.DataFrame:
    """Table 5's rows for one model: "8-bit conv/fc" (every block on the edge at 8 bits) and the
    searched strategy, with ``blocks``, ``conv_layers_with_stem`` (Table 5's #L), ``energy_mj``
    (compute), ``transmission_mj`` and ``privacy``."""
    return pd.DataFrame([{k: row[k] for k in TABLE5_COLUMNS}
                         for _, row in _measured_rows(net, refs, TABLE5)])


def paper_table4() -> pd.DataFrame:
    """The paper's Table 4 (``constants.PAPER_TABLE4``) as a frame."""
    return pd.DataFrame(PAPER_TABLE4, columns=["model", "method", "blocks", "conv_layers",
                                               "privacy", "top1"])


def paper_table5() -> pd.DataFrame:
    """The paper's Table 5 (``constants.PAPER_TABLE5``) as a frame."""
    return pd.DataFrame(PAPER_TABLE5, columns=["model", "method", "blocks",
                                               "conv_layers_with_stem", "energy_mj", "privacy"])


def beside_paper(ours: pd.DataFrame, paper: pd.DataFrame,
                 columns: Sequence[str]) -> pd.DataFrame:
    """``ours`` (with ``model`` and ``method`` columns) with the paper's value of each of
    ``columns`` as ``<column>_paper`` right after ours; rows the paper lacks get ``NaN``."""
    theirs = paper[["model", "method", *columns]].rename(columns={c: f"{c}_paper" for c in columns})
    merged = ours.merge(theirs, on=["model", "method"], how="left")
    for c in columns:  # counts stay integers where the paper has no row
        if pd.api.types.is_integer_dtype(paper[c]):
            merged[f"{c}_paper"] = merged[f"{c}_paper"].astype("Int64")
    order = [name for c in ours.columns for name in ((c, f"{c}_paper") if c in columns else (c,))]
    return merged[order]


# --- Fig. 12: the searched strategy layer by layer ----------------------------------------------

def _kind(layer: nn.Module) -> str:
    if isinstance(layer, nn.Linear):
        return "fc"
    k = "x".join(str(s) for s in layer.kernel_size)
    if layer.groups > 1:
        return f"dw {k}"
    return k


def strategy_layers(net: nn.Module, p: int, policy: Policy) -> pd.DataFrame:
    """Fig. 12: every conv layer of the stem and the blocks with its block (0 = stem), kernel
    (``3x3``, ``1x1``, ``dw 3x3``), parameter count, whether it runs on the edge at partition
    ``p``, and its effective ``(b_w, b_a)`` (32 = full precision: the stem, the cloud)."""
    pairs = resolve(net, p, policy)
    n_edge = models.edge_layer_count(net, p)
    rows = []
    i = 0
    for unit, layers in enumerate(models.unit_layers(net)):
        for name, layer in layers:
            rows.append({"index": i, "name": name, "block": unit, "kind": _kind(layer),
                         "params": sum(t.numel() for t in layer.parameters()),
                         "edge": i < n_edge, "b_w": pairs[i][0], "b_a": pairs[i][1]})
            i += 1
    return pd.DataFrame(rows)


def ir_sizes(net: nn.Module) -> pd.DataFrame:
    """Elements of the IR leaving each unit (p = 0: after the stem), per image, and their ratio
    to the stem's (the paper: ResNet18's block-7 IR is "1/8 of the first block")."""
    em = energy.EnergyModel.for_net(net)
    elems = np.asarray(em.ir_elements, dtype=np.int64)
    return pd.DataFrame({"p": np.arange(len(elems)), "ir_elements": elems,
                         "ratio_to_stem": elems / elems[0]})


# --- Fig. 10 and Table 2 -------------------------------------------------------------------------

def history_frame(result: "SearchResult") -> pd.DataFrame:
    """The search's per-iteration history (iteration 0 = after the initial population) with the
    best-so-far fitness, privacy, energy and partition point (Fig. 10), and its model and seed."""
    df = pd.DataFrame(result.history)
    df.insert(0, "model", result.model)
    df.insert(1, "seed", result.seed)
    return df


def convergence(history: pd.DataFrame, tol: float = 1e-12) -> dict[str, Any]:
    """Convergence statistics of one history (Fig. 10's reading): the iteration of the last
    improvement of the best fitness (``converged_at``), its share of the iterations run, the number
    of improvements after the initial population and how many of them changed the partition point
    p (the paper: "aggressive changes are led by p change"), with the mean fitness gain of each kind."""
    h = history.sort_values("iteration").reset_index(drop=True)
    fit = h["best_fitness"].to_numpy(dtype=float)
    p = h["best_p"].to_numpy()
    gain = np.diff(fit)
    improved = np.flatnonzero(gain > tol) + 1
    p_change = [i for i in improved if p[i] != p[i - 1]]
    pi_only = [i for i in improved if p[i] == p[i - 1]]
    iters = int(h["iteration"].iloc[-1])
    last = int(h["iteration"].iloc[improved[-1]]) if improved.size else 0
    return {"iterations": iters, "converged_at": last,
            "converged_share": last / iters if iters else 0.0,
            "improvements": int(improved.size), "improvements_p_change": len(p_change),
            "mean_gain_p_change": float(np.mean(gain[np.array(p_change) - 1])) if p_change else math.nan,
            "mean_gain_pi_only": float(np.mean(gain[np.array(pi_only) - 1])) if pi_only else math.nan,
            "initial_fitness": float(fit[0]), "final_fitness": float(fit[-1]),
            "initial_privacy": float(h["best_privacy"].iloc[0]),
            "final_privacy": float(h["best_privacy"].iloc[-1])}


def timing_row(result: "SearchResult", iterations: int = ITERATIONS) -> dict[str, Any]:
    """Table 2 for one search: measured wall time, the time per ``iterations`` iterations
    (setup + search time scaled from N + T to N + ``iterations`` genomes, as
    ``SearchResult.timing["seconds_per_1000_iterations"]``; extrapolated when T < ``iterations``) and its split between the accuracy estimator (setup
    included: the sensitivity table or the fp baseline), privacy, energy and the rest, in hours."""
    t = result.timing
    n, t_run = int(result.settings["population"]), int(result.settings["iterations"])
    scale = (n + iterations) / max(n + t_run, 1)
    split = t.get("split_seconds", {})
    hours = 1 / 3600
    return {
        "model": result.model, "seed": result.seed, "estimator": result.settings.get("estimator"),
        "iterations_run": t_run, "genomes": t.get("genomes"), "evaluations": t.get("evaluations"),
        "cache_hit_rate": t.get("cache_hit_rate"),
        "wall_h": t.get("wall_seconds", math.nan) * hours,
        "per_1000_h": (t["setup_seconds"] + t["search_seconds"] * scale) * hours,
        "extrapolated": t_run < iterations,
        "accuracy_h": (t["setup_seconds"] + split.get("accuracy", 0.0) * scale) * hours,
        "privacy_h": split.get("privacy", 0.0) * scale * hours,
        "energy_h": split.get("energy", 0.0) * scale * hours,
        "other_h": split.get("other", 0.0) * scale * hours,
        "paper_h": PAPER_TABLE2_HOURS.get(result.model, math.nan),
    }


def timing_table(results: Iterable["SearchResult"], iterations: int = ITERATIONS) -> pd.DataFrame:
    """Table 2: :func:`timing_row` per search, with each model's time relative to the fastest
    (ours and the paper's: "MobileNet takes about 6x time shorter than ResNet50")."""
    df = pd.DataFrame([timing_row(r, iterations) for r in results])
    if not df.empty:
        df["relative"] = df["per_1000_h"] / df["per_1000_h"].min()
        df["paper_relative"] = df["paper_h"] / df["paper_h"].min()
    return df


__all__ = ["FP32", "UNIFORM8", "CONV_FC", "SEARCHED", "tables_dir",
           "search_result", "offload_counts", "analytic_references", "same_partition_energies",
           "measure_references", "searched_row", "held_out_baseline", "measure_over_seeds",
           "table4", "table4_seeds",
           "table5", "REPORT_COLUMNS", "TABLE4_MEASURED", "NO_BASELINE", "paper_table4", "paper_table5",
           "beside_paper", "strategy_layers", "ir_sizes", "history_frame", "convergence",
           "timing_row", "timing_table"]
