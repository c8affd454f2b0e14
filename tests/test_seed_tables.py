"""Tables 2 and 4, Fig. 10 and 12 over the search seeds (issue 22 item 4,
docs/decisions/paper-method.md §10): median and range rows, the seed Fig. 12 draws, the privacy
check naming the seeds that fell short, the profile's one seeds field and the README blocks of
a table over seeds. Hand-made frames and fake results with known answers; no search runs."""

from __future__ import annotations

import math
from dataclasses import replace
from types import SimpleNamespace

import pandas as pd
import pytest
import torch

import fakes  # noqa: I001  (tests/fakes.py)

from paperlib.app import readme
from paperlib.method import models
from paperlib.method.profiles import PROFILES, get_profile
from paperlib.search import SearchResult
from paperlib.search.seeds import MIN_SEEDS, check_seeds, seeds_note, with_seeds_note
from paperlib.studies import nb04_search, over_seeds, summaries, tables
from paperlib.studies.number_sources import unsourced_numbers

E_B, EPS_B = 0.35, 0.03


@pytest.fixture(scope="module")
def resnet18():
    with torch.device("meta"):
        return models.build("resnet18")


def _fixed(method, p, privacy, energy_no_tx, eps_search, seed=0):
    return {"method": method, "p": p, "privacy": privacy, "privacy_report": privacy - 0.05,
            "energy": energy_no_tx + 0.01,
            "energy_no_tx": energy_no_tx, "eps_search": eps_search, "eps_reference": eps_search,
            "eps": eps_search, "eps_ci_low": 0.0, "eps_ci_high": 0.02, "mcnemar_p": 1.0,
            "top1_fp": 0.9, "top1": 0.9 - eps_search, "report_images": 128, "key": f"p{p}",
            "seed": seed, "fitness": math.nan, "feasible": math.nan}


def _searched(seed, p, privacy, energy_no_tx, eps_search, eps, fitness, feasible):
    return {"method": tables.SEARCHED, "p": p, "privacy": privacy,
            "privacy_report": privacy - 0.1, "energy": energy_no_tx + 0.01,
            "energy_no_tx": energy_no_tx, "eps_search": eps_search, "eps_reference": eps_search,
            "eps": eps, "eps_ci_low": eps - 0.01, "eps_ci_high": eps + 0.01, "mcnemar_p": 0.5,
            "top1_fp": 0.9, "top1": 0.9 - eps, "report_images": 128, "key": f"p{p}s{seed}",
            "seed": seed, "fitness": fitness, "feasible": feasible,
            "baseline": "4-bit uniform at p = 7", "baseline_p": 7.0, "baseline_privacy": 0.3,
            "baseline_margin": fitness - 0.3, "baseline_report": "8-bit uniform at p = 6",
            "baseline_eps_report": 0.01 * (seed % 3), "baseline_privacy_report": 0.2,
            # held out, only for a strategy within ε_b where its ε is reported (tables.py)
            "baseline_margin_report": privacy - 0.1 - 0.2 if eps <= EPS_B else math.nan}


# five seeds: 2 is feasible but less private than 8-bit uniform (P 0.6), 3 is punished by E_b,
# 4 is punished by ε_b but more private; the median P (0.75) beats every feasible fixed row
SEEDS = [_searched(0, 7, 0.80, 0.34, 0.02, 0.02, 0.80, True),
         _searched(1, 7, 0.75, 0.33, 0.01, 0.01, 0.75, True),
         _searched(2, 6, 0.55, 0.34, 0.02, 0.03, 0.55, True),
         _searched(3, 8, 0.58, 0.40, 0.02, 0.04, 0.30, False),
         _searched(4, 7, 0.90, 0.30, 0.05, 0.05, 0.40, False)]


def _refs(searched=SEEDS) -> pd.DataFrame:
    return pd.DataFrame([_fixed(tables.FP32, 1, 0.5, 0.30, 0.0),
                         _fixed(tables.UNIFORM8, 4, 0.6, 0.32, 0.01), *searched])


def test_table4_over_seeds_median_and_range(resnet18):
    per_seed = tables.table4_seeds(resnet18, _refs())
    assert per_seed["method"].tolist() == [tables.FP32, tables.UNIFORM8] + [tables.SEARCHED] * 5
    assert per_seed["seed"].tolist() == [0, 0, 0, 1, 2, 3, 4]
    assert per_seed.loc[per_seed["seed"] == 2, "conv_layers"].iloc[-1] == 14  # p = 6: 2 + 4 x 3
    t4 = over_seeds.table4_over_seeds(per_seed, E_B, EPS_B).set_index("method")
    assert list(t4.index) == [tables.FP32, tables.UNIFORM8, tables.SEARCHED]
    s = t4.loc[tables.SEARCHED]
    assert (s["blocks"], s["blocks_min"], s["blocks_max"]) == (7, 6, 8)
    assert (s["privacy"], s["privacy_min"], s["privacy_max"]) == (0.75, 0.55, 0.90)
    assert (s["energy_mj"], s["energy_mj_min"], s["energy_mj_max"]) == (0.34, 0.30, 0.40)
    assert (s["eps"], s["eps_min"], s["eps_max"]) == (0.03, 0.01, 0.05)
    assert s["top1"] == pytest.approx(0.87)
    assert s["search_seeds"] == 5 and s["p_agreement"] == "3/5" and s["note"] == ""
    # a median row has no paired interval of its own: each seed's is in the per-seed table
    assert math.isnan(s["eps_ci_low"]) and math.isnan(s["mcnemar_p"])
    f = t4.loc[tables.UNIFORM8]  # the fixed rows as measured, their range their value
    assert (f["privacy"], f["privacy_min"], f["privacy_max"], f["blocks"]) == (0.6, 0.6, 0.6, 4)
    assert math.isnan(f["search_seeds"]) and f["eps_ci_high"] == 0.02
    assert set(over_seeds.TABLE4_COLUMNS) <= set(t4.reset_index().assign(model="m").columns)
    # P on held-out images (each seed 0.1 below its search-split P), the best uniform baseline
    assert (s["privacy_report"], s["privacy_report_min"], s["privacy_report_max"]) == \
        pytest.approx((0.65, 0.45, 0.80))
    assert s["baseline"] == "4-bit uniform at p = 7" and s["baseline_privacy"] == 0.3
    assert (s["baseline_margin"], s["baseline_margin_min"], s["baseline_margin_max"]) == \
        pytest.approx((0.25, 0.0, 0.5))  # fitness 0.80 0.75 0.55 0.30 0.40 less 0.3
    assert f["baseline"] == "" and math.isnan(f["baseline_margin"])
    # held out: the searched P (0.1 below the search split's) less the baseline's 0.2, for the
    # seeds whose reported ε is within ε_b (0, 1, 2: 0.5 0.45 0.25); the baseline's reported ε
    # 0 0.01 0.02 0 0.01: median 0.01
    assert s["baseline_report"] == "8-bit uniform at p = 6" and f["baseline_report"] == ""
    assert s["baseline_eps_report"] == pytest.approx(0.01)
    assert (s["baseline_margin_report"], s["baseline_margin_report_min"],
            s["baseline_margin_report_max"]) == pytest.approx((0.45, 0.25, 0.5))
    # held out, between the rows within ε_b there: the median of seeds 0-2 (0.70 0.65 0.45) beats
    # the most private fixed row (0.6 - 0.05); seeds 3 and 4 (ε 0.04, 0.05) are left out, seed 2
    # (ε 0.03, at the bound) is not
    assert s["as_private_held_out"] is True and s["seeds_over_eps_report"] == "3, 4"
    assert s["seeds_within_eps_report"] == 3
    # none of those three margins is negative; the fixed rows have no count
    assert s["seeds_below_baseline_report"] == 0 and math.isnan(f["seeds_below_baseline_report"])
    # a baseline 0.3 more private held out: margins 0.2, 0.15 and -0.05, one seed below it,
    # which the headline writes
    stronger = [{**r, "baseline_margin_report": r["baseline_margin_report"] - 0.3} for r in SEEDS]
    t4b = over_seeds.table4_over_seeds(tables.table4_seeds(resnet18, _refs(stronger)), E_B, EPS_B)
    sb = t4b.set_index("method").loc[tables.SEARCHED]
    assert sb["seeds_below_baseline_report"] == 1
    assert summaries._below_baseline(sb) == ", 1 of them below it"
    assert summaries._below_baseline(s) == ", none below it"
    assert summaries._below_baseline(s.drop("seeds_below_baseline_report")) == ""  # older table


def test_relative_to_fp_known_answers():
    t4 = pd.DataFrame({"model": ["m", "m", "n", "n"],
                       "method": [tables.FP32, tables.SEARCHED, tables.FP32, tables.SEARCHED],
                       "privacy": [0.5, 0.75, 1.0, 0.9], "privacy_report": [0.4, 0.5, 2.0, 2.0],
                       "privacy_paper": [0.8, 0.96, 1.0, 1.1]})
    rel = over_seeds.relative_to_fp(t4)
    assert rel["privacy_vs_fp"].tolist() == pytest.approx([1.0, 1.5, 1.0, 0.9])
    assert rel["privacy_report_vs_fp"].tolist() == pytest.approx([1.0, 1.25, 1.0, 1.0])
    assert rel["privacy_paper_vs_fp"].tolist() == pytest.approx([1.0, 1.2, 1.0, 1.1])
    assert "privacy_vs_fp" not in t4.columns  # a copy, the input untouched


def test_privacy_check_names_the_seeds_that_fell_short(resnet18):
    per_seed = tables.table4_seeds(resnet18, _refs())
    check = over_seeds.privacy_check(per_seed, E_B, EPS_B)
    assert check.as_private and check.best_fixed == tables.UNIFORM8 and check.median_privacy == 0.75
    assert sorted(check.short) == [2, 3]  # seed 4 (0.90) is punished but not less private
    assert "E = 0.4000 mJ > E_b = 0.35 mJ" in check.short[3] and "punished" in check.short[3]
    assert check.short[2].startswith("feasible at p = 6 with P = 0.5500 < 8-bit uniform's 0.6000")
    t4 = over_seeds.table4_over_seeds(per_seed, E_B, EPS_B).set_index("method")
    assert t4.loc[tables.SEARCHED, "as_private_as_fixed"] is True
    assert t4.loc[tables.SEARCHED, "short_seeds"] == f"seed 2: {check.short[2]}; seed 3: {check.short[3]}"
    # every seed less private: the median falls short too; an ε_b-punished seed says so
    worse = [_searched(0, 6, 0.55, 0.34, 0.02, 0.02, 0.55, True),
             _searched(1, 7, 0.58, 0.30, 0.06, 0.06, 0.2, False),
             _searched(2, 7, 0.59, 0.33, 0.01, 0.01, 0.59, True)]
    check = over_seeds.privacy_check(tables.table4_seeds(resnet18, _refs(worse)), E_B, EPS_B)
    assert not check.as_private and sorted(check.short) == [0, 1, 2]
    assert "ε = 0.0600 > ε_b = 0.03" in check.short[1]
    # 8-bit uniform beyond ε_b by the search's estimator is not feasible: full precision is the bar
    refs = _refs(worse)
    refs.loc[refs["method"] == tables.UNIFORM8, "eps_search"] = 0.05
    check = over_seeds.privacy_check(tables.table4_seeds(resnet18, refs), E_B, EPS_B)
    assert check.best_fixed == tables.FP32 and check.as_private and check.short == {}


def test_fewer_than_five_seeds_are_marked_not_reported(resnet18):
    per_seed = tables.table4_seeds(resnet18, _refs(SEEDS[:2]))
    t4 = over_seeds.table4_over_seeds(per_seed, E_B, EPS_B)
    assert set(t4["note"]) == {"2 seeds < 5: not a reported result"}
    assert seeds_note(range(MIN_SEEDS)) == "" and seeds_note([3]) == "1 seed < 5: not a reported result"
    assert with_seeds_note("cifar10", [0, 1]) == "cifar10; 2 seeds < 5: not a reported result"
    assert with_seeds_note("cifar10", range(5)) == "cifar10"


def _result(seed: int, fitness: float, p: int, wall: float = 100.0, model: str = "resnet18",
            history_fitness=(0.5, 0.6, 0.7)) -> SearchResult:
    best = {**fakes.valid_best(p, layers=21), "fitness": fitness, "privacy": fitness}  # ResNet18: 21
    history = [{"iteration": i, "best_fitness": f, "best_privacy": f, "best_p": p,
                "population_mean_fitness": f / 2} for i, f in enumerate(history_fitness)]
    timing = {"wall_seconds": wall, "setup_seconds": 10.0, "search_seconds": wall - 10.0,
              "split_seconds": {"accuracy": 1.0, "privacy": wall - 20.0, "energy": 1.0, "other": 8.0},
              "genomes": 25, "evaluations": 24, "cache_hit_rate": 0.04}
    return SearchResult(model=model, profile="smoke", dataset="cifar10", data="synthetic",
                        seed=seed, energy_bound=E_B, accuracy_bound=EPS_B, best=best,
                        history=history, timing=timing,
                        settings={"population": 20, "iterations": 2, "estimator": "sensitivity"})


RUNS = [_result(0, 0.5, 4, 100.0, history_fitness=(0.4, 0.5, 0.5)),
        _result(1, 0.7, 7, 300.0, history_fitness=(0.5, 0.6, 0.7)),
        _result(2, 0.6, 7, 200.0, history_fitness=(0.3, 0.6, 0.6)),
        _result(3, 0.9, 7, 400.0, history_fitness=(0.6, 0.8, 0.9)),
        _result(4, 0.8, 6, 500.0, history_fitness=(0.2, 0.2, 0.8))]


def test_fig12_draws_the_median_fitness_seed_and_says_so(resnet18):
    result, summary = over_seeds.drawn(RUNS)
    assert result.seed == 1 and summary["p_mode"] == 7 and summary["p_agreement"] == "3/5"
    assert over_seeds.drawn_caption(summary) == \
        "seed 1 (median fitness of 5 seeds); p = 7 chosen by 3/5 seeds"
    _, two = over_seeds.drawn(RUNS[:2])  # an even count draws the lower median
    assert two["drawn_seed"] == 0
    assert over_seeds.drawn_caption(two).endswith("; 2 seeds < 5: not a reported result")
    net = {"resnet18": resnet18}
    strategies = nb04_search.strategy_summary({"resnet18": result}, net, {"resnet18": summary})
    assert strategies.loc[0, "seed"] == 1 and strategies.loc[0, "p chosen by"] == "p = 7 by 3/5"
    line = nb04_search._fig12_findings(strategies, "resnet18").lines[0]
    assert line.startswith("* **Fig. 12, ResNet18** (seed 1, the median-fitness one; p = 7 by 3/5 seeds)")


def test_fig10_band_and_convergence_over_seeds():
    hist = pd.concat([tables.history_frame(r) for r in RUNS], ignore_index=True)
    band = over_seeds.history_band(hist).set_index("iteration")
    assert band.loc[0, "best_fitness_median"] == 0.4 and band.loc[0, "best_fitness_min"] == 0.2
    assert band.loc[2, "best_fitness_max"] == 0.9 and band.loc[2, "best_fitness_median"] == 0.7
    assert band.loc[1, "population_mean_fitness_median"] == pytest.approx(0.3)
    assert (band["seeds"] == 5).all()
    conv = over_seeds.convergence_over_seeds(hist)
    assert conv["seed"].tolist() == [0, 1, 2, 3, 4]
    assert conv["converged_at"].tolist() == [1, 2, 1, 2, 2]
    summ = over_seeds.convergence_summary(conv).iloc[0]
    assert (summ["converged_at"], summ["converged_at_min"], summ["converged_at_max"]) == (2, 1, 2)
    assert summ["seeds"] == 5 and summ["final_fitness"] == 0.7
    line = nb04_search._convergence_findings(over_seeds.convergence_summary(conv)).lines[0]
    assert line.startswith("* **Convergence, ResNet18** (median of 5 seeds): the best fitness last "
                           "improved at iteration 2 (seeds: 1–2) of 2")


def _conv_seeds(model, last_improvements, iterations=300):
    return pd.DataFrame([{"model": model, "seed": i, "iterations": iterations, "converged_at": a,
                          "converged_share": a / iterations, "improvements": 3, "improvements_p_change": 0,
                          "mean_gain_p_change": math.nan, "mean_gain_pi_only": 0.001,
                          "initial_fitness": 0.85, "final_fitness": 0.91, "initial_privacy": 0.85,
                          "final_privacy": 0.91} for i, a in enumerate(last_improvements)])


def test_convergence_verdict_counts_seeds_still_improving_in_the_last_5_percent():
    # the quick run's seeds: ResNet18 last improved at 298 and 300 of 300 in two seeds (> 285, the
    # last 5 %), 275 is not late; MobileNet's latest seed stopped improving at 268
    conv = pd.concat([_conv_seeds("resnet18", [183, 298, 275, 206, 300]),
                      _conv_seeds("mobilenet", [134, 268, 220, 216, 84])], ignore_index=True)
    summ = over_seeds.convergence_summary(conv).set_index("model")
    assert summ.loc["resnet18", "late_improvement_seeds"] == 2
    assert summ.loc["mobilenet", "late_improvement_seeds"] == 0
    assert (summ["late_share"] == 0.05).all()  # saved beside the count: the findings' "5%" is sourced
    f = nb04_search._convergence_findings(summ.reset_index())
    r18, mob = f.lines[0], f.lines[1]
    assert r18.endswith(" **Not converged within T = 300**: 2 of 5 seeds still improved in the last "
                        "5% of the iterations.")
    assert mob.endswith(" It settled within T = 300: no seed improved in the last 5% of the iterations.")
    ours = f.table.set_index("claim")["ours"]
    assert ours["ResNet18: the search settles early (Fig. 10)"].endswith(
        "; not converged within T = 300 (2 of 5 seeds still improved in the last 5%)")
    assert ours["MobileNet: the search settles early (Fig. 10)"].endswith("; settled within T = 300")
    # iteration 285 is exactly 95 %: not in the last 5 %; 286 is
    assert not over_seeds.late_improvement(285 / 300) and over_seeds.late_improvement(286 / 300)
    # one search (tables.convergence's row, no seeds column) and an older summary without the count
    one = nb04_search._convergence_findings(_conv_seeds("resnet18", [299]).drop(columns="seed"))
    assert "**Not converged within T = 300**: the search still improved" in one.lines[0]
    old = summ.reset_index().drop(columns="late_improvement_seeds")
    assert "at least one seed still improved" in nb04_search._convergence_findings(old).lines[0]
    assert "no seed improved" in nb04_search._convergence_findings(old).lines[1]


def test_table2_median_and_range_over_seeds():
    per_seed = tables.timing_table(RUNS + [_result(0, 0.5, 4, 60.0, model="mobilenet"),
                                           _result(1, 0.5, 4, 80.0, model="mobilenet")])
    assert per_seed["seed"].tolist() == [0, 1, 2, 3, 4, 0, 1]
    t2 = over_seeds.timing_over_seeds(per_seed).set_index("model")
    r = t2.loc["resnet18"]
    assert r["wall_h"] == pytest.approx(300 / 3600)
    assert (r["wall_h_min"], r["wall_h_max"]) == pytest.approx((100 / 3600, 500 / 3600))
    assert r["search_seeds"] == 5 and t2.loc["mobilenet", "search_seeds"] == 2
    assert r["per_1000_h"] == pytest.approx(per_seed.loc[:4, "per_1000_h"].median())
    assert t2["relative"].min() == 1.0 and t2.loc["resnet18", "relative"] > 1
    text = nb04_search.timing_lines(t2.reset_index())
    assert "**ResNet18**: 300 s (median of 5 seeds: 100–500 s) for 25 genomes" in text


def test_profile_has_one_seeds_field():
    for name in ("quick", "paper"):
        assert get_profile(name).search_seeds == (0, 1, 2, 3, 4)
    smoke = get_profile("smoke")
    assert len(smoke.search_seeds) < MIN_SEEDS  # CI: marked "not a reported result"
    for prof in PROFILES.values():
        assert check_seeds(prof.search_seeds) == list(prof.search_seeds)  # distinct, non-negative
    with pytest.raises(TypeError, match="search_seeds"):  # notebook 07's old field
        replace(smoke, baseline_seeds=(0, 1, 2))
    with pytest.raises(AttributeError, match="search_seeds"):
        smoke.baseline_seeds


def test_measure_over_seeds_measures_the_fixed_rows_once(monkeypatch):
    calls = []

    def measure_references(ctx, result, reference_accuracy=True):
        calls.append(result.seed)
        return pd.DataFrame([{k: v for k, v in _fixed(m, p, 0.5, 0.3, 0.0).items()
                              if k not in ("seed", "fitness", "feasible")}
                             for m, p in ((tables.FP32, 1), (tables.UNIFORM8, 4))]
                            + [{**{k: v for k, v in SEEDS[0].items()
                                   if k not in ("seed", "fitness", "feasible")}}])

    def searched_row(ctx, result, reference_accuracy=True, baselines_measured_by=None):
        calls.append(("baselines", baselines_measured_by.seed))
        return {**SEEDS[result.seed], "privacy": 0.1 * (result.seed + 1)}

    monkeypatch.setattr(tables, "measure_references", measure_references)
    monkeypatch.setattr(tables, "searched_row", searched_row)
    ctx = SimpleNamespace(model="resnet18")
    refs = tables.measure_over_seeds(ctx, [RUNS[2], RUNS[0], RUNS[4]])
    # the fixed rows once, and the baselines' reported ε, with the first result's measurement seed
    assert calls == [2] + [("baselines", 2)] * 3
    assert refs["method"].tolist() == [tables.FP32, tables.UNIFORM8] + [tables.SEARCHED] * 3
    assert refs["seed"].tolist() == [2, 2, 2, 0, 4]
    assert refs["privacy"].tolist()[2:] == pytest.approx([0.3, 0.1, 0.5])
    with pytest.raises(ValueError, match="repeat a seed"):
        tables.measure_over_seeds(ctx, [RUNS[0], RUNS[0]])


def test_searched_row_takes_the_search_report(monkeypatch, tmp_path):
    rep = SimpleNamespace(eps=0.02, ci_low=0.0, ci_high=0.04, mcnemar_p=0.3, top1_fp=0.9,
                          top1=0.88, images=128)
    monkeypatch.setattr(tables, "_searched_report", lambda ctx, result, genome, out: rep)
    monkeypatch.setattr(tables, "_tables_out", lambda ctx, result: tmp_path)
    seen = []
    ctx = SimpleNamespace(model="resnet18", report_privacy=lambda g: seen.append(g.p) or 0.42)
    row = tables.searched_row(ctx, RUNS[3])
    assert (row["seed"], row["p"], row["fitness"], row["feasible"]) == (3, 7, 0.9, True)
    assert row["privacy_report"] == 0.42 and seen == [7]  # the best strategy's P, held out
    assert row["baseline"] == "" and math.isnan(row["baseline_margin"])  # Algorithm 1: none
    assert math.isnan(row["baseline_margin_report"]) and row["baseline_report"] == ""
    # with baselines: the best one by fitness on the search split; held out, the most private on
    # the report split whose reported ε there is within ε_b
    from paperlib.method.genome import GenomeSpace
    with torch.device("meta"):
        space = GenomeSpace.from_net(models.build("resnet18"))
    runs = replace(RUNS[3], baselines=[
        {"name": "full precision", "bits": 32, "p": 1, "fitness": 0.5, "privacy": 0.5},
        {"name": "2-bit uniform", "bits": 2, "p": 6, "fitness": 0.4, "privacy": 0.4},
        {"name": "4-bit uniform", "bits": 4, "p": 5, "fitness": 0.7, "privacy": 0.7}],
        baseline_margin=0.2)
    # held-out P by (p, weight bits of the first searched layer); the searched strategy: p = 7
    held_out = {(1, 32): 0.3, (5, 4): 0.7, (6, 2): 0.65}
    reported_eps = {1: 0.0, 5: 0.10, 6: 0.03}  # 4-bit at p = 5 breaks ε_b, 2-bit at p = 6 is at it
    measured = []

    def report_privacy(g):
        return 0.85 if g.p == 7 else held_out.get((g.p, g.bits[1][0]), 0.99)  # 0.99: wrong bits

    def measure_report(ctx, genome, seed, *, path):
        measured.append((genome.p, seed, path))
        return SimpleNamespace(eps=reported_eps[genome.p])

    monkeypatch.setattr(tables, "measure_report", measure_report)
    ctx = SimpleNamespace(model="resnet18", space=space, report_privacy=report_privacy)
    row = tables.searched_row(ctx, runs, baselines_measured_by=RUNS[1])
    assert (row["baseline"], row["baseline_privacy"], row["baseline_margin"]) == (
        "4-bit uniform at p = 5", 0.7, 0.2)
    assert (row["baseline_report"], row["baseline_eps_report"]) == ("2-bit uniform at p = 6", 0.03)
    assert (row["privacy_report"], row["baseline_privacy_report"]) == (0.85, 0.65)
    assert row["baseline_margin_report"] == pytest.approx(0.20)
    # in held-out P order, stopping at the first within ε_b, with the measuring result's seed
    assert measured == [(5, 1, tmp_path / tables.REPORT_FILE), (6, 1, tmp_path / tables.REPORT_FILE)]
    assert (row["eps"], row["eps_ci_high"], row["top1"], row["report_images"]) == (0.02, 0.04, 0.88, 128)
    # the searched strategy itself over ε_b on the report split: the baseline named, no margin
    over_rep = SimpleNamespace(**{**vars(rep), "eps": 0.05})
    monkeypatch.setattr(tables, "_searched_report", lambda ctx, result, genome, out: over_rep)
    row = tables.searched_row(ctx, runs)
    assert row["baseline_report"] == "2-bit uniform at p = 6" and row["eps"] == 0.05
    assert math.isnan(row["baseline_margin_report"])
    monkeypatch.setattr(tables, "_searched_report", lambda ctx, result, genome, out: rep)
    # no baseline within ε_b: no held-out margin, the search-split columns still there
    reported_eps.update({1: 0.04, 6: 0.031})
    row = tables.searched_row(ctx, runs)
    assert row["baseline"] == "4-bit uniform at p = 5" and row["baseline_report"] == ""
    assert math.isnan(row["baseline_margin_report"]) and math.isnan(row["baseline_eps_report"])
    # without the report's accuracy, nothing is measured and nothing held out is claimed
    measured.clear()
    row = tables.searched_row(ctx, runs, reference_accuracy=False)
    assert measured == [] and math.isnan(row["baseline_margin_report"])
    with pytest.raises(ValueError, match="context is for 'mobilenet'"):
        tables.searched_row(SimpleNamespace(model="mobilenet"), RUNS[3])


def _readme_tables(resnet18) -> dict[str, pd.DataFrame]:
    paper4 = tables.paper_table4()
    t4 = over_seeds.table4_over_seeds(tables.table4_seeds(resnet18, _refs()), E_B, EPS_B)
    t4 = tables.beside_paper(t4.assign(model="resnet18")[list(over_seeds.TABLE4_COLUMNS)], paper4,
                             ["blocks", "conv_layers", "privacy", "top1"])
    t4 = over_seeds.relative_to_fp(t4)
    t5 = pd.DataFrame([{"model": "resnet18", "method": tables.SEARCHED, "energy_mj_paper": 0.3427}])
    timing = over_seeds.timing_over_seeds(tables.timing_table(RUNS))
    return {"table4_offloads_privacy": t4, "table5_conv_fc_vs_searched": t5,
            "table2_search_time": timing}


def test_readme_blocks_of_tables_over_seeds(resnet18):
    t = _readme_tables(resnet18)
    text = summaries.table4(t)
    assert "| ResNet18 | searched | 7/17 | 7/17 | 0.750 (0.550–0.900) |" in text
    assert "0.030 (0.010 to 0.050 over seeds) |" in text
    assert "median over 5 seeds of the search" in text
    assert "at least as private as every feasible fixed strategy" in text and "seed 3:" in text
    assert "median of 5 seeds" in summaries.headline(t)
    # held out: median 0.65 (0.45-0.80) against full precision's 0.45; the paper's 0.9595 / 0.8045
    assert "| ours P held out | P ÷ full precision's: ours held out / paper |" in text
    assert "| 0.650 (0.450–0.800) | 1.44× / 1.19× |" in text
    assert ("on held-out images, between the strategies within ε_b there (3 of 5 seeds), its "
            "median P is at least the most private fixed strategy's (reported ε over ε_b, left "
            "out: seeds 3, 4).") in text
    assert ("on held-out images P 0.650, 1.44× the full-precision split's (paper: 1.19×), "
            "reported ε over ε_b in seeds 3, 4; its fitness margin over the best uniform baseline "
            "of its own start (4-bit uniform at p = 7, P 0.300): 0.2500; held out, over the most "
            "private uniform baseline within ε_b there (8-bit uniform at p = 6, P 0.200, reported "
            "ε 0.010): 0.4500 (0.2500 to 0.5000 over the 3 seeds within ε_b, none below it)") \
        in summaries.headline(t)
    time_text = summaries.search_time(t)
    assert "300 s (median of 5 seeds: 100 s–500 s)" in time_text
    # every number written is found in the tables the block reads (the README check)
    for name, render in (("table4", summaries.table4), ("headline", summaries.headline),
                         ("search-time", summaries.search_time)):
        sources = summaries.SUMMARIES[name].sources
        assert unsourced_numbers(render(t), [t[s] for s in sources]) == [], name
        assert not readme._SIGNED_PERCENT.findall(render(t)), name  # shares of P are ratios


def test_held_out_check_without_a_comparison_and_on_old_tables(resnet18):
    # every seed over ε_b on the report split: no held-out comparison, and the text says why
    over_all = [{**r, "eps": 0.05, "baseline_margin_report": math.nan} for r in SEEDS]
    t4 = over_seeds.table4_over_seeds(tables.table4_seeds(resnet18, _refs(over_all)), E_B, EPS_B)
    s = t4.set_index("method").loc[tables.SEARCHED]
    assert s["as_private_held_out"] is None and s["seeds_within_eps_report"] == 0
    assert s["seeds_over_eps_report"] == "0, 1, 2, 3, 4"
    text = summaries._held_out_check(s)
    assert text == ("; on held-out images there is no comparison: no seed's reported ε is within "
                    "ε_b (reported ε over ε_b, left out: seeds 0, 1, 2, 3, 4)")
    # an ε not measured (NaN) is neither within nor over the bound
    unmeasured = [{**r, "eps": math.nan} for r in SEEDS]
    check = over_seeds.privacy_check(tables.table4_seeds(resnet18, _refs(unmeasured)), E_B, EPS_B)
    assert (check.as_private_held_out, check.over_bound_held_out, check.within_held_out) == (None, (), 0)
    # a table written before the rule (no seeds_within_eps_report): the old wording, no margin
    old = s.drop(["seeds_within_eps_report", "seeds_over_eps_report"]).copy()
    old["as_private_held_out"] = True
    assert summaries._held_out_check(old) == "; on held-out images it is at least as private"
    old["privacy_report_vs_fp"], old["privacy_paper_vs_fp"] = 1.44, 1.19
    assert "held out, over" not in summaries._held_out_text(old)


def test_notebook_findings_say_the_range_and_the_check(resnet18):
    t4 = _readme_tables(resnet18)["table4_offloads_privacy"]
    f = nb04_search._table4_findings(t4, tables.paper_table4(), {"resnet18": resnet18},
                                     {"resnet18": EPS_B}, E_B)
    row = f.table.set_index("claim").loc[
        "ResNet18: the searched strategy is at least as private as every feasible fixed one "
        "(Table 4, median over seeds)"]
    assert row["ours"].startswith("yes; short of it: seed 2: feasible at p = 6")
    assert "(median of 5 seeds: P 0.5500–0.9000, ε 0.0100–0.0500, p 6–8, p = the most common by 3/5)" \
        in f.lines[0]
    assert f.lines[1].startswith("* **Table 4 check, ResNet18**: the searched strategy's median P over "
                                 "the seeds is at least the most private feasible fixed strategy's; "
                                 "the seeds that fell short: seed 2:")
