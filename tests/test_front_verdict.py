"""Notebook 07's reading of the whole-front comparison (paperlib.studies.nb07_search_baselines):
hypervolume against evaluations over seeds and the verdict paired by seed, on toy curves whose
answer is known (docs/decisions/scale.md §4)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from paperlib.search.fronts import NSGA, SWEEP
from paperlib.studies import nb07_search_baselines as nb07
from paperlib.studies.wording import WITHIN_SEED_SPREAD, larger_word

SEEDS = (0, 1, 2, 3, 4)
GRID = (10, 50, 100)


def toy_curves(final: dict[str, list[float]]) -> pd.DataFrame:
    """Curves rising linearly from 0 to each seed's final hypervolume over GRID."""
    rows = [{"method": m, "seed": s, "evaluations": n, "hypervolume": hv * n / GRID[-1]}
            for m, finals in final.items() for s, hv in zip(SEEDS, finals) for n in GRID]
    return pd.DataFrame(rows)


def test_a_clear_gap_is_called_both_ways():
    sweep = [0.40, 0.42, 0.41, 0.43, 0.39]
    ahead = toy_curves({NSGA: [v + 0.05 for v in sweep], SWEEP: sweep})
    v = nb07.front_verdict(ahead)
    assert v.verdict == "NSGA-II larger" and v.seeds == 5 and v.evaluations is None
    assert v.mean == pytest.approx(0.05) and v.sd == pytest.approx(0.0, abs=1e-12)
    assert v.low == pytest.approx(0.05) and v.high == pytest.approx(0.05)
    behind = toy_curves({NSGA: [v - 0.03 + 0.001 * i for i, v in enumerate(sweep)], SWEEP: sweep})
    v = nb07.front_verdict(behind)
    assert v.verdict == "sweep larger" and v.high < 0
    assert "sweep larger" in v.sentence and "5 seeds" in v.sentence


def test_a_gap_within_the_seed_spread_is_inconclusive():
    # differences +0.02, -0.02, +0.01, -0.01, +0.001: mean 0.0002, sd ~0.017
    sweep = [0.40, 0.42, 0.41, 0.43, 0.39]
    d = [0.02, -0.02, 0.01, -0.01, 0.001]
    v = nb07.front_verdict(toy_curves({NSGA: [a + b for a, b in zip(sweep, d)], SWEEP: sweep}))
    assert v.verdict == WITHIN_SEED_SPREAD and v.low < 0 < v.high
    # the interval is Student's t at 95 % over the 5 paired differences, by hand
    half = 2.7764451051977987 * np.std(d, ddof=1) / np.sqrt(5)
    assert (v.low, v.high) == pytest.approx((np.mean(d) - half, np.mean(d) + half))
    # a consistent gap smaller than the spread between seeds still counts: the test is paired
    v = nb07.front_verdict(toy_curves({NSGA: [a + 0.002 for a in sweep], SWEEP: sweep}))
    assert v.verdict == "NSGA-II larger"


def test_the_verdict_at_a_given_number_of_evaluations_and_from_the_table():
    sweep = [0.40, 0.42, 0.41, 0.43, 0.39]
    curves = toy_curves({NSGA: [v + 0.05 for v in sweep], SWEEP: sweep})
    at_10 = nb07.front_verdict(curves, evaluations=10)
    assert at_10.evaluations == 10 and at_10.mean == pytest.approx(0.005)
    table = curves[curves["evaluations"] == GRID[-1]]
    assert nb07.front_verdict(table).mean == pytest.approx(nb07.front_verdict(curves).mean)
    one = nb07.front_verdict(table[table["seed"] == 0])
    assert one.seeds == 1 and one.verdict == WITHIN_SEED_SPREAD and "no spread" in one.sentence
    with pytest.raises(ValueError, match="nsga2"):
        nb07.front_verdict(table[table["method"] == SWEEP])


def test_curve_summary_gives_median_and_range_per_method_and_evaluations():
    sweep = [0.40, 0.42, 0.41, 0.43, 0.39]
    summary = nb07.front_curve_summary(toy_curves({NSGA: [v + 0.05 for v in sweep],
                                                   SWEEP: sweep}))
    row = summary[(summary["method"] == SWEEP) & (summary["evaluations"] == 100)].iloc[0]
    assert (row["median"], row["min"], row["max"], row["seeds"]) == pytest.approx(
        (0.41, 0.39, 0.43, 5))
    assert row["mean"] == pytest.approx(0.41) and row["sd"] == pytest.approx(np.std(sweep, ddof=1))
    assert summary.groupby("method")["evaluations"].apply(list).to_dict() == {
        NSGA: list(GRID), SWEEP: list(GRID)}
    with pytest.raises(ValueError, match="curves"):
        nb07.front_curve_summary(pd.DataFrame({"method": [NSGA]}))


def test_larger_word():
    assert larger_word(0.1, 0.2, "A", "B") == "A larger"
    assert larger_word(-0.2, -0.1, "A", "B") == "B larger"
    assert larger_word(-0.1, 0.1, "A", "B") == WITHIN_SEED_SPREAD
    assert larger_word(float("nan"), float("nan"), "A", "B") == WITHIN_SEED_SPREAD
