"""The whole-front comparison (paperlib.search.fronts): NSGA-II against the genetic search swept over E_b,
at equal evaluations and from the same initial population, by hypervolume and hypervolume against
evaluations (docs/decisions/scale.md §4), on the smoke checkpoint."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from paperlib.search import fronts
from paperlib.infra import io
from paperlib import search
from paperlib.search.baselines import run_ga_for_budget
from paperlib.search.initial import initial_population
from paperlib.search.methods import ga_trace
from paperlib.search.nsga import hypervolume, objective_matrix, reference_point
from paperlib.studies import nb07_search_baselines as nb07

from fakes import ReversedExecutor  # noqa: I001

pytestmark = pytest.mark.usefixtures("one_thread")

BOUNDS = (0.35, 1.0)
BUDGET = 20  # distinct strategies per seed for the sweep (both bounds) and for NSGA-II


@pytest.fixture(scope="module")
def context(real_data_dir):
    return search.build_context("resnet18", "smoke", allow_partial=True, progress=False,
                                validation_images=16, privacy_images=4, population=4, sample=2,
                                iterations=4, reference_estimator="sensitivity")


def run(context, executor=None):
    return fronts.compare_fronts("resnet18", "smoke", bounds=BOUNDS, budget=BUDGET,
                                 seeds=(0, 1), pop_size=4, context=context, executor=executor,
                                 curve_points=8)


def test_equal_evaluations_and_hypervolume_by_hand(context, results_root):
    cmp = run(context)
    table = cmp.table.set_index(["method", "seed"])
    assert set(table.index) == {(m, s) for m in (fronts.SWEEP, fronts.NSGA) for s in (0, 1)}
    for i, seed in enumerate((0, 1)):
        # the sweep: the genetic searches' strategies taken in turn, bound by bound, cut at BUDGET
        results = [run_ga_for_budget("resnet18", context.profile, b, seed, 1, context, False)
                   for b in BOUNDS]  # the runs as the comparison left them
        traces = [ga_trace(res) for res in results]
        sweep = [r["key"] for r in cmp.runs[fronts.SWEEP][i]]
        assert len(sweep) == len(set(sweep)) == BUDGET
        assert sweep == [r["key"] for r in fronts.interleave((t.records for t in traces), BUDGET)]
        nsga = [r["key"] for r in cmp.runs[fronts.NSGA][i]]
        assert len(set(nsga)) == len(nsga) == BUDGET
        assert table.loc[(fronts.SWEEP, seed), "evaluations"] == BUDGET
        assert table.loc[(fronts.NSGA, seed), "evaluations"] == BUDGET
        # the same start: each run scored its initial_population first, NSGA-II scores their union
        # first
        n, init = context.settings.population, context.settings.init
        at_bound = []
        for b, res, t in zip(BOUNDS, results, traces):
            ev = context.evaluator(context.objective(b), seed=seed)
            ev.warm([Path(res.out_dir) / search.LOG_FILE])
            own = initial_population(ev, n, np.random.default_rng(seed), init=init)
            assert [r["key"] for r in t.records[:len(own.keys(context.space))]] == own.keys(context.space)
            at_bound.append(ev)
        start = fronts.shared_start(at_bound, n, seed, init=init).keys(context.space)
        assert cmp.start[seed] == start and len(start) < BUDGET
        assert nsga[:len(start)] == start
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
    # hypervolume against evaluations: non-decreasing, ending at each run's hypervolume
    for (m, s), g in cmp.curves.groupby(["method", "seed"]):
        hv = g.sort_values("evaluations")["hypervolume"].to_numpy()
        assert (np.diff(hv) >= -1e-12).all()
        assert g["evaluations"].max() == BUDGET
        assert hv[-1] == pytest.approx(table.loc[(m, s), "hypervolume"])
    summary = nb07.front_curve_summary(cmp.curves)
    assert set(summary["seeds"]) == {2}
    assert nb07.front_verdict(cmp.table).seeds == 2

    # a second call reloads NSGA-II's traces and gives the same table; the former keyword
    # budget_per_bound still works (its total is budget)
    files = sorted(results_root.rglob("nsga2.json"))
    assert len(files) == 2
    mtimes = [f.stat().st_mtime for f in files]
    with pytest.warns(DeprecationWarning, match="budget"):
        again = fronts.compare_fronts("resnet18", "smoke", bounds=BOUNDS,
                                      budget_per_bound=BUDGET // len(BOUNDS), seeds=(0, 1),
                                      pop_size=4, context=context, curve_points=8)
    assert [f.stat().st_mtime for f in files] == mtimes
    pd.testing.assert_frame_equal(again.table, cmp.table)
    assert io.read_json(files[0])["fingerprint"]["budget"] == len(cmp.runs[fronts.SWEEP][0])


def test_the_result_does_not_depend_on_the_order_jobs_run_in(context, results_root, tmp_path,
                                                              monkeypatch):
    first = run(context)
    monkeypatch.setenv("PAPERLIB_RESULTS_DIR", str(tmp_path / "other"))
    other = run(context, ReversedExecutor())
    pd.testing.assert_frame_equal(first.table, other.table)
    pd.testing.assert_frame_equal(first.curves, other.curves)
    assert first.runs == other.runs


def test_each_run_is_rescored_and_reported_once_after_its_last_round(context, results_root,
                                                                      monkeypatch):
    """The sweep extends its runs in rounds; only each finished run's best strategy is re-scored
    by the reference estimator (here another one than the search's, so that a re-score costs a
    finetune) and measured on the report split, once, and saved (each round's best cost a
    reference finetune before: about 70 s for ResNet18 at quick; docs/decisions/scale.md §4)."""
    ctx = context.with_settings(search.search_settings(
        context.settings, reference_estimator="finetune-batches", finetune_batches=1))
    calls, rescored, reported = [], [], []
    real_run, real_ref, real_report = search.run, search.reference_estimate, search.measure_report

    def spy_run(*args, rescore=True, **kwargs):
        res = real_run(*args, rescore=rescore, **kwargs)
        calls.append((res.energy_bound, res.seed, res.evaluations, rescore))
        return res

    def spy_ref(path, name, *args, **kwargs):
        rescored.append((Path(path).parent.name, name))
        return real_ref(path, name, *args, **kwargs)

    def spy_report(ctx, genome, seed, **kwargs):
        reported.append(seed)
        return real_report(ctx, genome, seed, **kwargs)

    monkeypatch.setattr(search, "run", spy_run)
    monkeypatch.setattr(search, "reference_estimate", spy_ref)
    monkeypatch.setattr(search, "measure_report", spy_report)
    run(ctx)
    runs = {(b, s) for b in BOUNDS for s in (0, 1)}
    rounds = [c for c in calls if not c[3]]
    lengths = {(b, s): {e for b2, s2, e, _ in rounds if (b2, s2) == (b, s)} for b, s in runs}
    assert any(len(v) >= 2 for v in lengths.values())  # some run was extended: a shorter round
    # one reference re-score (the finetune, not the search's estimator) and one report per run
    assert len(rescored) == len(runs) == len({folder for folder, _ in rescored})
    assert {name for _, name in rescored} == {"finetune-batches"}
    assert len(reported) == len(runs)
    final = [c for c in calls if c[3]]
    assert sorted((b, s) for b, s, _, _ in final) == sorted(runs)
    for b, s, evaluations, _ in final:
        # the re-scored call is the last round's run, reloaded, and it is the one saved
        assert evaluations == max(lengths[(b, s)])
        saved = search.load_result(search.default_out_dir("resnet18", "smoke", b, s))
        assert saved.evaluations == evaluations and saved.report is not None


def test_a_round_that_extends_a_run_drops_the_shorter_runs_result(tmp_path, monkeypatch):
    """An extended run interrupted before its re-scored last round leaves no result.json of its
    shorter self (search._drop_if_stale): a reader finds none rather than a stale one."""
    out = tmp_path / "run"
    out.mkdir()
    result = out / search.RESULT_FILE
    result.write_text("{}")
    monkeypatch.setattr(search, "load_result", lambda path: SimpleNamespace(evaluations=10))
    search._drop_if_stale(out, 10)  # the same run (a reload): kept
    assert result.exists()
    search._drop_if_stale(out, 12)  # the state ran on: dropped
    assert not result.exists()
    search._drop_if_stale(out, 12)  # nothing there: nothing to do
    monkeypatch.undo()
    result.write_text("{not json")  # damaged: dropped too
    search._drop_if_stale(out, 10)
    assert not result.exists()


def test_bad_bounds_and_budgets_are_refused(context):
    with pytest.raises(ValueError, match="bounds"):
        fronts.compare_fronts("resnet18", "smoke", bounds=(), budget=BUDGET, context=context)
    with pytest.raises(ValueError, match="budget"):
        fronts.compare_fronts("resnet18", "smoke", bounds=BOUNDS, budget=0, context=context)
    with pytest.raises(ValueError, match="not both"):
        fronts.compare_fronts("resnet18", "smoke", bounds=BOUNDS, budget=BUDGET,
                              budget_per_bound=5, context=context)
