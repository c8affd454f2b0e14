"""The search / report split wired into the search, result.json, Table 4 and the manifest (issue 22,
docs/decisions/paper-method.md §9): the search scores P and ε on the search split only, every
reported ε and top-1 is a paired difference measured on the report split, and both splits are
recorded.

The search here scores ε with a registered stand-in estimator (tests/fakes.py's), so that the only
finetunes are the reference re-score and the report measurements (one batch each)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import fakes  # noqa: I001  (tests/fakes.py)
from paperlib import search
from paperlib.infra import io
from paperlib.method import data, train
from paperlib.method.evaluation_split import MIN_REPORT_IMAGES, min_test_images
from paperlib.method.paper_strategies import PaperStrategy
from paperlib.method.profiles import PROFILES, SearchSettings, scaled
from paperlib.search.estimators import ESTIMATORS, EstimatorContext
from paperlib.search.report_accuracy import REPORT_FILE, measure_report
from paperlib.studies import tables

STAND_IN = "stand-in-eps"
RUN = dict(iterations=2, population=3, sample=2, estimator=STAND_IN,
           reference_estimator="finetune-batches", finetune_batches=1)


class StandInEstimator:
    """tests/fakes.FakeEstimator as a registered estimator (no finetune, no images)."""

    def __init__(self, ctx: EstimatorContext) -> None:
        self.fake = fakes.FakeEstimator(ctx.space)

    def prepare(self) -> None:
        pass

    def estimate(self, genome, seed):
        return self.fake.estimate(genome, seed)


@pytest.fixture(scope="module")
def stand_in():
    search.register(STAND_IN)(StandInEstimator)
    yield STAND_IN
    ESTIMATORS.unregister(STAND_IN)


@pytest.fixture(scope="module")
def single_thread():
    """One thread for the whole module (small CPU workloads on shared cores), so that every
    finetune of a strategy runs as the search's did and gives the same numbers."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def ctx(single_thread, smoke_context, stand_in):
    """The smoke ResNet18 context with the settings of this module's search."""
    return smoke_context.with_settings(search.search_settings(smoke_context.settings, **RUN))


@pytest.fixture(scope="module")
def result(ctx, module_results_root):
    return search.run("resnet18", settings=search.RunSettings(search=RUN), context=ctx,
                      out_dir=module_results_root / "run", progress=False)


def _rows_in(images: torch.Tensor, ds: data.CifarArrays) -> set[int]:
    """The indices of ``ds``'s images equal to each of ``images`` (every one must be found)."""
    flat = ds.images.flatten(1)
    rows = set()
    for img in images:
        hits = torch.nonzero((flat == img.flatten()).all(1)).flatten().tolist()
        assert hits, "an image that is not a test image"
        rows.update(hits)
    return rows


def test_the_splits_are_disjoint_and_cover_the_test_images(ctx):
    split, n = ctx.split, len(ctx.test_ds)
    assert set(split.search.tolist()).isdisjoint(split.report.tolist())
    assert sorted([*split.search.tolist(), *split.report.tolist()]) == list(range(n))
    assert split.report.size == int(n * SearchSettings().report_fraction) >= MIN_REPORT_IMAGES
    assert torch.equal(ctx.search_ds.images, ctx.test_ds.images[split.search])
    assert torch.equal(ctx.report_ds.labels, ctx.test_ds.labels[split.report])


def test_the_search_scores_search_split_images_only(ctx):
    """P's images, the estimators' images and validation subsets: rows of the search split."""
    search_rows, report_rows = set(ctx.split.search.tolist()), set(ctx.split.report.tolist())
    privacy_images = (ctx.privacy.x01 * 255).round().to(torch.uint8)
    assert _rows_in(privacy_images, ctx.test_ds) <= search_rows
    sens = ctx.estimator("sensitivity")
    assert sens.ctx.test_ds is ctx.search_ds
    assert _rows_in(sens.ctx.validation().images, ctx.test_ds) <= search_rows
    for name in ("finetune", "finetune-batches"):
        rows = _rows_in(ctx.estimator(name).eval_ds.images, ctx.test_ds)
        assert rows <= search_rows and not rows & report_rows, name
    # the tables' held-out P: as many images, all of the report split
    held_out = (ctx.report_privacy.x01 * 255).round().to(torch.uint8)
    assert _rows_in(held_out, ctx.test_ds) <= report_rows and len(held_out) == len(privacy_images)
    assert "search_split_sha256" in ctx.record_source()
    assert ctx.record_source()["record_version"] == search.context.RECORD_VERSION >= 2


def test_the_report_measures_the_report_split_only(ctx, result):
    """The correctness vectors are the report split's; a changed search-split image changes
    nothing reported."""
    rep = result.report
    assert rep["images"] == ctx.split.report.size == len(ctx.report_ds)
    all_fp = train.correct(ctx.net, ctx.test_ds).numpy()
    assert np.array_equal(ctx.report_correct_fp(), all_fp[ctx.split.report])
    assert rep["top1_fp"] == pytest.approx(all_fp[ctx.split.report].mean())
    assert rep["eps"] == pytest.approx(rep["top1_fp"] - rep["top1"])
    assert rep["ci_low"] <= rep["eps"] <= rep["ci_high"] and 0 <= rep["mcnemar_p"] <= 1
    assert (rep["estimator"], rep["finetune_batches"]) == ("finetune-batches", 1)

    images = ctx.test_ds.images.clone()
    images[ctx.split.search] = 255 - images[ctx.split.search]  # every search-split image
    other = dataclasses.replace(ctx, test_ds=dataclasses.replace(ctx.test_ds, images=images))
    assert torch.equal(other.report_ds.images, ctx.report_ds.images)
    again = measure_report(other, search.Genome.from_dict(result.best["genome"]), result.seed)
    for name in ("eps", "ci_low", "ci_high", "mcnemar_p", "top1_fp", "top1", "images"):
        assert getattr(again, name) == rep[name], name
    # a rerun measures nothing: the report is read back from report.json
    cached = measure_report(ctx, search.Genome.from_dict(result.best["genome"]), result.seed,
                            path=f"{result.out_dir}/{REPORT_FILE}")
    assert cached.to_dict() == rep


def test_result_json_records_the_report_and_the_split(ctx, result):
    saved = io.read_json(f"{result.out_dir}/result.json")
    assert saved["evaluation_split"] == ctx.split.manifest()
    assert saved["report"]["fingerprint"]["evaluation_split"] == ctx.split.manifest()
    assert {"eps", "ci_low", "ci_high", "mcnemar_p", "top1_fp", "top1", "images",
            "estimator", "finetune_batches"} <= set(saved["report"])
    loaded = search.load_result(result.out_dir)
    assert loaded.report == result.report
    assert f"reported on {ctx.split.report.size} held-out images" in loaded.summary()
    # a result.json written before the split: both blocks read back as None
    old = {k: v for k, v in saved.items() if k not in ("report", "evaluation_split")}
    io.write_json(f"{result.out_dir}/old/result.json", old)
    old_result = search.load_result(f"{result.out_dir}/old")
    assert old_result.report is None and old_result.evaluation_split is None
    broken = {**saved, "report": {**saved["report"], "eps": "NaN"}}
    io.write_json(f"{result.out_dir}/broken/result.json", broken)
    with pytest.raises(ValueError, match="report.eps"):
        search.load_result(f"{result.out_dir}/broken")


def test_table4_reports_paired_eps_on_the_report_split(ctx, result):
    refs = tables.measure_references(ctx, result)
    t4 = tables.table4(ctx.net, refs).set_index("method")
    fp_top1 = float(ctx.report_correct_fp().mean())
    fp = t4.loc[tables.FP32]
    assert (fp["eps"], fp["eps_ci_low"], fp["eps_ci_high"]) == (0.0, 0.0, 0.0)
    assert fp["top1"] == pytest.approx(fp_top1)
    s = t4.loc[tables.SEARCHED]
    assert (s["eps"], s["top1"], s["eps_ci_low"]) == (
        result.report["eps"], result.report["top1"], result.report["ci_low"])
    for method in tables.TABLE4_METHODS:
        row = refs.set_index("method").loc[method]
        assert row["report_images"] == ctx.split.report.size
        assert row["top1"] == pytest.approx(row["top1_fp"] - row["eps"])  # measured, paired
        assert row["top1_fp"] == pytest.approx(fp_top1)
    assert "eps_search" in t4.columns and "eps_reference" in t4.columns
    # P twice: on the search split the search chose by, and held out (report split)
    best = search.Genome.from_dict(result.best["genome"])
    assert s["privacy"] == pytest.approx(result.best["privacy"])
    assert s["privacy_report"] == pytest.approx(ctx.report_privacy(best))
    assert s["privacy_report"] != pytest.approx(ctx.privacy(best))
    u = t4.loc[tables.UNIFORM8]
    assert u["eps_ci_low"] <= u["eps"] <= u["eps_ci_high"]
    # measured once: the 8-bit uniform strategy's report is cached in the tables' folder
    folder = tables.tables_dir(result.profile, result.model, result.energy_bound, result.seed)
    cached = io.read_json(folder / REPORT_FILE)
    genome = PaperStrategy.UNIFORM8.genome(ctx.space, int(refs.set_index("method").loc[
        tables.UNIFORM8, "p"]))
    assert cached[search.key(genome, ctx.space)]["eps"] == u["eps"]


def test_the_manifest_records_each_searched_models_split(real_data_dir):
    from paperlib.app import reproduce

    smoke = PROFILES["smoke"]
    splits = reproduce.evaluation_splits(smoke, ["resnet18"])
    n_test = min(256, len(data.load("cifar10", "test")))
    assert splits["resnet18"]["report_images"] == n_test // 2
    assert splits["resnet18"]["search_images"] == n_test - n_test // 2


def test_a_split_under_100_report_images_is_refused_with_the_number_that_would_do(smoke_context):
    assert min_test_images() == 200 and min_test_images(0.3) == 334
    few = dataclasses.replace(smoke_context.test_ds,
                              images=smoke_context.test_ds.images[:199],
                              labels=smoke_context.test_ds.labels[:199])
    with pytest.raises(ValueError, match=r"99 images .*fewer than the 100.*at least 200.*"
                                         r"report_fraction"):
        dataclasses.replace(smoke_context, test_ds=few)
    with pytest.raises(ValueError, match="report_fraction.*lie in"):
        search.search_settings(SearchSettings(), report_fraction=1.0)
    # a scaled profile keeps enough test images for the report split
    small = scaled(PROFILES["paper"], images=32)
    assert small.recipe("resnet18").test_images == min_test_images()
