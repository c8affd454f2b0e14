"""ε as the paper defines it, measured honestly (issue 22, docs/decisions/paper-method.md §9): the
search/report split, the paired difference with its interval, and the estimator-agreement table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from paperlib.method.evaluation_split import MIN_REPORT_IMAGES, split_evaluation_images
from paperlib.method.paired_accuracy import mcnemar_exact, paired_difference
from paperlib.search.estimator_agreement import agreement_table, spearman


def test_split_is_disjoint_covering_seeded_and_recorded():
    s = split_evaluation_images(1017, seed=3)
    assert set(s.search).isdisjoint(s.report)
    assert sorted(set(s.search) | set(s.report)) == list(range(1017))
    assert s.report.size == 508 and s.search.size == 509
    again = split_evaluation_images(1017, seed=3)
    assert np.array_equal(again.report, s.report)
    assert not np.array_equal(split_evaluation_images(1017, seed=4).report, s.report)
    m = s.manifest()
    assert m["search_images"] + m["report_images"] == 1017 and m["seed"] == 3
    assert m["search_sha256"] != m["report_sha256"]


def test_split_refuses_a_report_split_under_100_images():
    with pytest.raises(ValueError, match=r"fewer than the 100 .*at least 200"):
        split_evaluation_images(199)
    assert split_evaluation_images(200).report.size == MIN_REPORT_IMAGES
    with pytest.raises(ValueError, match="report_fraction"):
        split_evaluation_images(1000, report_fraction=1.0)


def test_mcnemar_exact_known_answers():
    assert mcnemar_exact(10, 0) == pytest.approx(2 * 0.5 ** 10)
    assert mcnemar_exact(0, 0) == 1.0 and mcnemar_exact(5, 5) == 1.0
    # b = 8, c = 2: 2 · (C(10,0) + C(10,1) + C(10,2)) / 2^10 = 2 · 56 / 1024
    assert mcnemar_exact(8, 2) == pytest.approx(112 / 1024)


def test_paired_difference_known_answers():
    fp = np.array([1] * 80 + [0] * 20)
    q = fp.copy()
    q[:10] = 0  # ten images the strategy loses
    d = paired_difference(fp, q, seed=0)
    assert d.eps == pytest.approx(0.10) and d.top1_fp == 0.8 and d.top1_strategy == 0.7
    assert (d.fp_only, d.strategy_only) == (10, 0)
    assert d.mcnemar_p == pytest.approx(2 * 0.5 ** 10)
    assert 0 < d.low < 0.10 < d.high < 0.2
    same = paired_difference(fp, fp)
    assert (same.eps, same.low, same.high, same.mcnemar_p) == (0.0, 0.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="same images"):
        paired_difference(fp, fp[:50])


def test_agreement_table_rho_and_bias():
    rng = np.random.default_rng(0)
    paper = rng.uniform(0, 0.1, 60)
    points = pd.concat([
        pd.DataFrame({"model": "a", "eps_paper": paper, "eps_estimator": 2 * paper + 0.01}),
        pd.DataFrame({"model": "b", "eps_paper": paper, "eps_estimator": -paper}),
    ])
    t = agreement_table(points).set_index("model")
    assert t.loc["a", "spearman_rho"] == pytest.approx(1.0)
    assert t.loc["a", "bias"] == pytest.approx(paper.mean() + 0.01)
    assert t.loc["b", "spearman_rho"] == pytest.approx(-1.0)
    assert t.loc["b", "strategies"] == 60
    assert spearman([1, 2, 3], [1, 1, 1]) != spearman([1, 2, 3], [1, 1, 1])  # NaN: constant
    with pytest.raises(ValueError, match="fewer than the 50"):
        agreement_table(points.iloc[:40])


def test_paired_gain_and_the_budget_verdict_by_hand():
    """Per image: before 1 0 0 1, after 1 1 0 1: the differences 0 1 0 0 have mean 0.25, sd
    (n − 1) 0.5, s.e. 0.5 / √4 = 0.25; the verdict rule of docs/decisions/reporting.md §13."""
    from paperlib.method.paired_accuracy import budget_verdict, paired_gain

    gain, se = paired_gain([1, 0, 0, 1], np.array([True, True, False, True]))
    assert (gain, se) == pytest.approx((0.25, 0.25))
    assert budget_verdict(gain, se) == "undecided"  # 0.25 is a point, but under 2 s.e. = 0.5
    assert budget_verdict(0.05, 0.02) == "not converged"  # above 1 point and above 2 s.e.
    assert budget_verdict(0.002, 0.003) == "converged"  # 0.002 + 0.006 < 0.01
    assert budget_verdict(0.008, 0.003) == "undecided"  # 0.014 reaches a point
    with pytest.raises(ValueError, match="same images"):
        paired_gain([1, 0], [1, 0, 1])
    with pytest.raises(ValueError, match="at least 2"):
        paired_gain([1], [0])
