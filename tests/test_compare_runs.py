"""benchmarks/compare_runs.py: the headline numbers of a run, by hand on a tiny figures folder."""

import pandas as pd
import pytest

from fakes import benchmark_script  # noqa: I001  (tests/fakes.py: shared test helpers)

compare_runs = benchmark_script("compare_runs")


def _figures(folder, eps=(0.01, 0.05, 0.02), low=(-0.01, 0.04, 0.0), p=(7, 7, 8)):
    folder.mkdir()
    rows = [{"model": "m", "method": "full precision", "seed": 0, "blocks": 1,
             "privacy_report": 0.5, "baseline": None, "baseline_margin": None,
             "baseline_margin_report": None, "eps": 0.0, "eps_ci_low": 0.0}]
    for s in range(3):
        rows.append({"model": "m", "method": "searched", "seed": s, "blocks": p[s],
                     "privacy_report": (0.9, 1.0, 1.1)[s], "baseline": "4-bit uniform at p = 7",
                     "baseline_margin": (0.01, 0.02, 0.06)[s],
                     "baseline_report": ("full precision at p = 4", "8-bit uniform at p = 6",
                                         "8-bit uniform at p = 6")[s],
                     "baseline_margin_report": (-0.02, 0.01, 0.03)[s],
                     "eps": eps[s], "eps_ci_low": low[s]})
    pd.DataFrame(rows).to_csv(folder / "table4_searched_seeds.csv", index=False)
    pd.DataFrame({"model": ["m"], "top1": [0.5678]}).to_csv(folder / "nb03_top1_reached.csv", index=False)
    pd.DataFrame({"model": ["m"], "spearman_rho": [0.8], "bias": [0.025]}).to_csv(
        folder / "nb04_estimator_agreement.csv", index=False)
    return folder


def test_model_summary_known_answers(tmp_path):
    s = compare_runs.model_summary(_figures(tmp_path / "a"), "m", bound=0.03)
    assert s["top-1 (last epoch, all test images)"] == "0.568"
    assert s["searched p"] == "7 in 2 of 3 seeds (others: [8])"
    assert s["best uniform start (by the estimator)"] == "4-bit uniform at p = 7 (3 of 3 seeds)"
    assert s["margin over it, search split"] == "+0.020 (+0.010 to +0.060)"
    assert s["held-out baseline (the most private within ε_b on held-out images)"] == \
        "8-bit uniform at p = 6 (2 of 3 seeds)"
    assert s["margin over it, held out"] == "+0.010 (−0.020 to +0.030); below 0 in 1 seeds"
    assert s["held-out P, searched (median) / full precision"] == "2.00x"  # median 1.0 over 0.5
    # ε 0.05 is above 0.03, and so is its interval's low end 0.04; 0.02 and 0.01 are not
    assert s["reported ε (bound 0.03)"] == ("+0.020 (+0.010 to +0.050); above the bound in 1 seeds, "
                                           "even at the interval's low end in 1")
    assert s["ε estimator vs reported ε (nb04)"] == "ρ 0.80, bias +0.025"


def test_compare_has_one_column_per_run(tmp_path):
    old = _figures(tmp_path / "a")
    new = _figures(tmp_path / "b", eps=(0.04, 0.05, 0.06), low=(0.0, 0.01, 0.035))
    table = compare_runs.compare(old, new, ("committed", "retrained"))
    assert "| | committed | retrained |" in table
    row = next(line for line in table.splitlines() if line.startswith("| reported ε"))
    assert "above the bound in 1 seeds" in row and "above the bound in 3 seeds" in row


def test_a_folder_without_the_tables_is_named(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit, match="empty: no table4_searched_seeds.csv"):
        compare_runs.main([str(tmp_path / "empty"), str(tmp_path / "empty")])


def test_missing_values_ties_and_no_baselines_are_named(tmp_path):
    folder = _figures(tmp_path / "a", p=(7, 8, 9))
    seeds = pd.read_csv(folder / "table4_searched_seeds.csv")
    seeds.loc[seeds["seed"] == 2, "baseline_margin_report"] = None
    seeds["baseline"] = None  # Algorithm 1 as written: no baselines in the start
    seeds = seeds.drop(columns="baseline_report")  # a table from before it existed
    seeds.to_csv(folder / "table4_searched_seeds.csv", index=False)
    s = compare_runs.model_summary(folder, "m", bound=0.03)
    assert s["searched p"] == "7 in 1 of 3 seeds (a tie with p = 8, 9) (others: [8, 9])"
    assert s["best uniform start (by the estimator)"] == "none (no baselines in the start)"
    assert s["held-out baseline (the most private within ε_b on held-out images)"].startswith(
        "the best by the estimator (a table from before")
    assert s["margin over it, held out"] == ("−0.005 (−0.020 to +0.010); 1 missing; "
                                             "below 0 in 1 seeds")
