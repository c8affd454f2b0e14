"""The estimator-agreement study (issue 22 item 3; docs/decisions/paper-method.md §9): the
stratified draw of strategies, the frame it scores feeding the agreement table, the profile plan's
refusals, and (on the smoke checkpoint) the real report measurement behind it."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from paperlib.method.constants import MIN_AGREEMENT_STRATEGIES, WEIGHT_BITS
from paperlib.method.genome import GenomeSpace, key
from paperlib.method.profiles import PROFILES, AgreementPlan, SearchSettings, scaled
from paperlib.search import AccuracyEstimate, Evaluator, Objective, estimator_agreement as ea
from paperlib.search.report_accuracy import ReportAccuracy
from paperlib.studies import estimator_study, wording

from fakes import fake_energy, fake_privacy

# five units of two layers each after a one-layer stem, one classifier layer
SPACE = GenomeSpace(tuple(f"l{i}" for i in range(12)), (1, 3, 5, 7, 9, 11))
SHIFT = 0.004  # the fake estimator's ε minus the fake reported ε


def paper_eps(genome) -> float:
    """The fake reported ε: grows as the edge loses bits (0 when nothing is quantized); rounded,
    so that equal losses tie exactly whatever the order of the sum."""
    return round(sum((8 - w) * 0.003 for w, _ in genome.edge_bits(SPACE)), 6)


class ShiftedEstimator:
    """An estimator whose ε is the fake reported ε plus SHIFT."""

    name = "shifted"

    def prepare(self) -> None:
        pass

    def estimate(self, genome, seed) -> AccuracyEstimate:
        eps = round(paper_eps(genome) + SHIFT, 6)
        return AccuracyEstimate(eps, 0.9, 0.9 - eps)


def fake_report(ctx, genome, seed, *, path=None) -> ReportAccuracy:
    eps = paper_eps(genome)
    return ReportAccuracy(key=key(genome, SPACE), eps=eps, ci_low=eps - 0.01, ci_high=eps + 0.01,
                          mcnemar_p=0.5, top1_fp=0.9, top1=0.9 - eps, images=100, fp_only=0,
                          strategy_only=0, estimator="finetune-batches", finetune_batches=1,
                          seconds=0.0)


class FakeContext:
    """What the study asks of a search context, on the fake measurements."""

    def __init__(self, model: str) -> None:
        self.model, self.space = model, SPACE
        self.settings = SearchSettings(accuracy_bound=0.03)
        self.energy = SimpleNamespace(hardware=SimpleNamespace(tag=""))
        self.evaluators: list[Evaluator] = []

    def objective(self, energy_bound: float) -> Objective:
        return Objective(energy_bound, self.settings.accuracy_bound)

    def evaluator(self, objective, estimator=None, *, seed=0, log_path=None, out_dir=None):
        ev = Evaluator(SPACE, fake_energy(SPACE), fake_privacy(SPACE), ShiftedEstimator(),
                       objective, seed=seed, log_path=log_path)
        ev.load_log()
        self.evaluators.append(ev)
        return ev

    def with_settings(self, settings):
        return self


# --- the stratified draw ---------------------------------------------------------------------------

def test_the_draw_has_the_size_asked_is_distinct_and_covers_every_partition_point():
    for n in (6, 11, 50, 73):
        drawn = ea.stratified_strategies(SPACE, n, seed=3)
        keys = [key(g, SPACE) for _, g in drawn]
        assert len(drawn) == n and len(set(keys)) == n
        if n > SPACE.num_units:
            assert {g.p for _, g in drawn} == set(range(SPACE.num_units + 1))
    drawn = ea.stratified_strategies(SPACE, 50, seed=3)
    per_p = pd.Series([g.p for _, g in drawn]).value_counts()
    assert per_p[0] == 1  # p = 0 quantizes nothing: one strategy
    assert per_p.drop(0).max() - per_p.drop(0).min() <= 1  # the rest spread evenly
    kinds = [k for k, _ in drawn]
    assert kinds.count(ea.NOTHING) == 1 and kinds.count(ea.UNIFORM) >= 20 and kinds.count(ea.RANDOM) >= 20
    uniform_widths = {g.bits[SPACE.edge_range(g.p)[0]][0] for k, g in drawn if k == ea.UNIFORM}
    assert uniform_widths == set(WEIGHT_BITS)
    for k, g in drawn:
        if k == ea.UNIFORM:
            assert len({w for w, _ in g.edge_bits(SPACE)}) == 1


def test_the_draw_is_seeded():
    def keys(seed):
        return [key(g, SPACE) for _, g in ea.stratified_strategies(SPACE, 50, seed=seed)]
    assert keys(0) == keys(0)
    assert keys(0) != keys(1)


def test_the_draw_refuses_a_bad_size_by_name():
    with pytest.raises(ValueError, match="n=0"):
        ea.stratified_strategies(SPACE, 0)
    tiny = GenomeSpace(("stem", "a", "fc"), (1, 2), weight_bits=(4, 8), activation_bits=(8,))
    with pytest.raises(ValueError, match="p=1 holds fewer than"):
        ea.stratified_strategies(tiny, 5)  # p = 1 has 2 strategies, p = 0 one


# --- the frame and the table -----------------------------------------------------------------------

def test_the_frame_feeds_the_table_with_rho_one_and_the_shift_as_bias(monkeypatch):
    monkeypatch.setattr(ea, "measure_report", fake_report)
    ctx = FakeContext("fake")
    evaluator = ctx.evaluator(ctx.objective(0.35))
    drawn = ea.stratified_strategies(SPACE, 50, seed=0)
    points = ea.agreement_points(ctx, evaluator, drawn, seed=0)
    assert len(points) == 50 and list(points["key"]) == [key(g, SPACE) for _, g in drawn]
    assert np.allclose(points["eps_estimator"] - points["eps_paper"], SHIFT)
    assert points["feasible_estimator"].any() and not points["feasible_estimator"].all()
    table = ea.agreement_table(points).set_index("model")
    assert table.loc["fake", "strategies"] == 50
    assert table.loc["fake", "spearman_rho"] == pytest.approx(1.0)
    assert table.loc["fake", "bias"] == pytest.approx(SHIFT)
    assert table.loc["fake", "mae"] == pytest.approx(SHIFT)


def test_the_study_tabulates_every_planned_model_and_reuses_its_logs(monkeypatch, results_root):
    monkeypatch.setattr(ea, "measure_report", fake_report)
    contexts = {"a": FakeContext("a"), "b": FakeContext("b"), "c": FakeContext("c")}
    plan = AgreementPlan(strategies=50, models=("a", "b"))
    prof = dataclasses.replace(PROFILES["smoke"], agreement=plan)
    study = estimator_study.estimator_agreement(contexts, prof, 0.35, seed=0)
    assert list(study.table["model"]) == ["a", "b"] and study.validates
    assert np.allclose(study.table["spearman_rho"], 1.0) and np.allclose(study.table["bias"], SHIFT)
    assert (study.table["validation"] == "yes").all()
    assert contexts["a"].evaluators[-1].computed == 50
    assert (results_root / "smoke" / "agreement" / "a-eb0.35-seed0" / "evaluations.jsonl").exists()
    again = estimator_study.estimator_agreement(contexts, prof, 0.35, seed=0)
    assert contexts["a"].evaluators[-1].computed == 0  # every record read back from the log
    pd.testing.assert_frame_equal(again.points.drop(columns="wall_seconds"),
                                  study.points.drop(columns="wall_seconds"))
    text = estimator_study.agreement_findings(study).markdown
    assert "ranks strategies as the reported ε does" in text and "ρ = 1.00 (n = 50)" in text
    assert "is hardly biased (+0.4 points on average, 0.13 ε_b)" not in text  # 0.13 ≥ 0.1
    assert "over-states the loss by 0.4 points on average (0.13 ε_b)" in text
    import matplotlib
    matplotlib.use("Agg")
    fig = estimator_study.agreement_figure(study)
    assert [ax.get_title() for ax in fig.axes] == [
        f"{m}: ρ = 1.00 (n = 50),\nbias = +0.4 pts, MAE 0.4 pts" for m in "ab"]


def test_a_study_under_50_strategies_says_it_is_no_validation(monkeypatch, results_root):
    monkeypatch.setattr(ea, "measure_report", fake_report)
    prof = dataclasses.replace(PROFILES["smoke"],
                               agreement=AgreementPlan(strategies=8, minimum=8, models=None))
    study = estimator_study.estimator_agreement({"a": FakeContext("a")}, prof, 0.35)
    assert not study.validates and study.table["validation"].iloc[0] == estimator_study.NOT_A_VALIDATION
    assert "not a validation" in study.stamp
    assert "not a validation" in estimator_study.agreement_findings(study).markdown
    kinds = set(study.points["kind"])  # one strategy per p still holds both kinds
    assert {ea.UNIFORM, ea.RANDOM} <= kinds


def test_bad_plans_are_refused_by_name():
    with pytest.raises(ValueError, match=r"AgreementPlan.strategies=30 is below its minimum 50"):
        AgreementPlan(strategies=30)
    with pytest.raises(ValueError, match=r"AgreementPlan.minimum=0"):
        AgreementPlan(strategies=5, minimum=0)
    with pytest.raises(ValueError, match=r"AgreementPlan.finetune_batches=0"):
        AgreementPlan(finetune_batches=0)
    with pytest.raises(ValueError, match="fewer than the 50"):
        ea.agreement_table(pd.DataFrame({"model": ["m"] * 49, "eps_estimator": 0.0, "eps_paper": 0.0}))
    with pytest.raises(ValueError, match="Profile.agreement.models"):
        estimator_study.estimator_agreement(
            {"a": FakeContext("a")},
            dataclasses.replace(PROFILES["smoke"], agreement=AgreementPlan(models=("zzz",))))


def test_the_profiles_plans():
    assert PROFILES["quick"].agreement.strategies >= MIN_AGREEMENT_STRATEGIES
    assert PROFILES["quick"].agreement.validates
    assert PROFILES["paper"].agreement.validates and PROFILES["paper"].agreement.models is None
    assert PROFILES["paper"].agreement.finetune_batches is None  # the paper's epoch
    small = scaled(PROFILES["paper"])  # a CPU test of the paper profile: 4 strategies, its finetune
    assert (small.agreement.strategies, small.agreement.minimum) == (4, 4)
    assert small.agreement.finetune_batches is None and not small.agreement.validates


def test_wording_of_rank_and_bias():
    assert wording.ranking_word(0.9) == "ranks strategies as the reported ε does"
    assert wording.ranking_word(0.5).startswith("ranks strategies only partly")
    assert wording.ranking_word(0.1).startswith("does not rank")
    assert wording.bias_text(-0.012, 0.03) == "under-states the loss by 1.2 points on average (0.40 ε_b)"
    assert wording.bias_text(0.001, 0.03).startswith("is hardly biased (+0.1 points")


# --- on the smoke checkpoint -------------------------------------------------------------------

def test_report_context_changes_only_the_reports_finetune(smoke_context):
    same = estimator_study.report_context(smoke_context, None)
    assert same is smoke_context
    cheap = estimator_study.report_context(smoke_context, 1)
    assert cheap.settings.finetune_batches == 1
    assert cheap.settings.reference_estimator == "finetune-batches"
    assert cheap.split.manifest() == smoke_context.split.manifest()
    assert cheap.record_source() != smoke_context.record_source()  # the study's evaluator uses the search's


@pytest.mark.slow
def test_the_real_study_on_two_strategies_measures_once(smoke_context, module_results_root):
    prof = dataclasses.replace(PROFILES["smoke"],
                               agreement=AgreementPlan(strategies=2, minimum=2, finetune_batches=1))
    ctx = {"resnet18": smoke_context}
    study = estimator_study.estimator_agreement(ctx, prof, 0.35)
    p = study.points
    assert len(p) == 2 and (p["report_finetune_batches"] == 1).all()
    assert (p["report_images"] == len(smoke_context.report_ds)).all()
    assert study.table["reported_eps_finetune"].iloc[0] == "finetune-batches, 1 batch"
    again = estimator_study.estimator_agreement(ctx, prof, 0.35)
    pd.testing.assert_frame_equal(again.points.drop(columns="wall_seconds"),
                                  p.drop(columns="wall_seconds"))
