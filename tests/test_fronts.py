"""The whole-front comparison (paperlib.search.fronts): NSGA-II against the genetic search swept over E_b,
at equal evaluations, by hypervolume (docs/decisions/scale.md §4), on the smoke checkpoint."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from paperlib.search import fronts
from paperlib.infra import io
from paperlib import search
from paperlib.search.methods import ga_trace
from paperlib.search.nsga import hypervolume, objective_matrix, reference_point

from fakes import ReversedExecutor  # noqa: I001

pytestmark = pytest.mark.usefixtures("one_thread")

BOUNDS = (0.35, 1.0)
BUDGET = 5


@pytest.fixture(scope="module")
def context(real_data_dir):
    return search.build_context("resnet18", "smoke", allow_partial=True, progress=False,
                                validation_images=16, privacy_images=4, population=4, sample=2,
                                iterations=4, reference_estimator="sensitivity")


def run(context, executor=None):
    return fronts.compare_fronts("resnet18", "smoke", bounds=BOUNDS, budget_per_bound=BUDGET,
                                 seeds=(0, 1), pop_size=4, context=context, executor=executor)


def test_equal_evaluations_and_hypervolume_by_hand(context, results_root):
    cmp = run(context)
    table = cmp.table.set_index(["method", "seed"])
    assert set(table.index) == {(m, s) for m in (fronts.SWEEP, fronts.NSGA) for s in (0, 1)}
    for i, seed in enumerate((0, 1)):
        # the sweep is the union of the first BUDGET strategies of the genetic search at each bound
        keys = []
        for b in BOUNDS:
            res = search.run("resnet18", "smoke", search.RunSettings(energy_bound=b, seed=seed),
                             context=context, progress=False)
            keys += [r["key"] for r in ga_trace(res).truncate(BUDGET).records]
        sweep = [r["key"] for r in cmp.runs[fronts.SWEEP][i]]
        assert sorted(sweep) == sorted(set(keys))
        nsga = [r["key"] for r in cmp.runs[fronts.NSGA][i]]
        assert len(set(nsga)) == len(nsga) == len(sweep)
        assert table.loc[(fronts.SWEEP, seed), "evaluations"] == len(sweep)
        assert table.loc[(fronts.NSGA, seed), "evaluations"] == len(sweep)
    # one reference point for every run, pymoo's hypervolume of each run's own strategies
    mats = {(m, s): objective_matrix(cmp.runs[m][i], "energy_no_tx")
            for m in cmp.runs for i, s in enumerate(cmp.seeds)}
    ref = reference_point(mats.values())
    for (m, s), F in mats.items():
        assert table.loc[(m, s), "hypervolume"] == pytest.approx(hypervolume(F, ref))
        assert table.loc[(m, s), "hypervolume"] > 0
    summary = cmp.summary().set_index("method")
    assert summary.loc[fronts.NSGA, "count"] == 2
    assert summary.loc[fronts.NSGA, "mean"] == pytest.approx(
        np.mean([table.loc[(fronts.NSGA, s), "hypervolume"] for s in (0, 1)]))
    points = fronts.front_points(cmp, 0)
    assert set(points["method"]) == {fronts.SWEEP, fronts.NSGA} and points["front"].any()

    # a second call reloads NSGA-II's traces and gives the same table
    files = sorted(results_root.rglob("nsga2.json"))
    assert len(files) == 2
    mtimes = [f.stat().st_mtime for f in files]
    again = run(context)
    assert [f.stat().st_mtime for f in files] == mtimes
    pd.testing.assert_frame_equal(again.table, cmp.table)
    assert io.read_json(files[0])["fingerprint"]["budget"] == len(cmp.runs[fronts.SWEEP][0])


def test_the_result_does_not_depend_on_the_order_jobs_run_in(context, results_root, tmp_path,
                                                              monkeypatch):
    first = run(context)
    monkeypatch.setenv("PAPERLIB_RESULTS_DIR", str(tmp_path / "other"))
    other = run(context, ReversedExecutor())
    pd.testing.assert_frame_equal(first.table, other.table)
    assert first.runs == other.runs


def test_bad_bounds_are_refused(context):
    with pytest.raises(ValueError, match="bounds"):
        fronts.compare_fronts("resnet18", "smoke", bounds=(), budget_per_bound=BUDGET,
                              context=context)
