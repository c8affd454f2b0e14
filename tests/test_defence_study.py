"""Notebook 09's study where the defences can work (issue 23, docs/decisions/defences.md §12–§13):
training until a plateau within a budget, the defence points (the searched strategy's always among
them), the plan of strength sweeps, the privacy–accuracy curve, and attack result files that keep
dotted tags apart. Known answers, no training of a real model."""

from __future__ import annotations

from dataclasses import replace

import matplotlib
import pandas as pd
import pytest
import torch

from paperlib.attacks import results as attack_results
from paperlib.defences.base import anchor_configuration, strength_argument
from paperlib.defences.evaluate import NOT_CONVERGED, attack_settings, training_words
from paperlib.method import models
from paperlib.method.plateau import plateaued, train_until_plateau
from paperlib.method.profiles import get_profile
from paperlib.studies import nb09_defences

matplotlib.use("Agg")


# --- training until a plateau ----------------------------------------------------------------------

def test_training_stops_at_the_first_chunk_whose_improvement_is_below_the_threshold():
    # window 3, 1 %: after 2.884 the best of the last three (2.884) improves on the best before
    # them (2.9) by 0.016 < 0.029; before that, 2.885 improved on 3.0 by more than 0.03
    curve = [10.0, 5.0, 3.0, 2.9, 2.89, 2.885, 2.884, 2.5, 2.0]
    calls: list[int] = []

    def chunk(i: int) -> dict[str, float]:
        calls.append(i)
        return {"loss": curve[i]}

    run = train_until_plateau(chunk, max_chunks=len(curve))
    assert run.converged and run.chunks == 7 and calls == list(range(7))
    assert run.curves == {"loss": curve[:7]}
    assert not any(plateaued(curve[:n]) for n in range(1, 7))  # no earlier chunk would stop it


def test_a_budget_spent_before_the_plateau_is_not_converged_and_every_curve_must_plateau():
    falling = [1.0 / (i + 1) for i in range(6)]
    run = train_until_plateau(lambda i: {"loss": falling[i]}, max_chunks=6)
    assert not run.converged and run.chunks == 6 and run.max_chunks == 6
    # one flat curve is not enough: the other still falls (the proactive retraining's two games)
    both = train_until_plateau(lambda i: {"flat": 1.0, "falling": falling[i]}, max_chunks=6)
    assert not both.converged and both.chunks == 6
    flat = train_until_plateau(lambda i: {"a": 1.0, "b": 2.0}, max_chunks=10)
    assert flat.converged and flat.chunks == 4  # the shortest curve with a "before": window + 1
    with pytest.raises(ValueError, match="max_chunks"):
        train_until_plateau(lambda i: {"a": 1.0}, max_chunks=0)


def test_training_words_state_chunks_of_the_budget():
    assert training_words({}) == "n/a"
    record = {"unit": "epoch", "chunks": 4, "max_chunks": 6, "steps_per_chunk": 4, "curves": {}}
    assert training_words(record) == "4 of 6 epochs × 4 steps"


# --- where the defences are applied ----------------------------------------------------------------

@pytest.fixture(scope="module")
def resnet18():
    torch.manual_seed(0)
    return models.build("resnet18", num_classes=10).eval()


def test_the_searched_point_is_always_among_the_defence_points(resnet18):
    settings = get_profile("quick").defence
    n = models.num_units(resnet18)
    plain = nb09_defences.defence_points(resnet18, settings)
    assert plain[0] == 1 and len(plain) == settings.points
    for p in range(n + 1):
        points = nb09_defences.defence_points(resnet18, settings, searched=(p, 8))
        assert p in points, (p, points)
        assert len(points) == settings.points and points == sorted(set(points))
    # the spread reaches the deepest reference strategy's point: a searched p = 7 is the last one
    assert nb09_defences.defence_points(resnet18, settings, searched=(7, 8))[-1] == 7


def test_the_plan_sweeps_every_strength_at_the_sweep_point_and_the_middle_one_elsewhere(resnet18):
    settings = get_profile("quick").defence
    study = nb09_defences.plan(resnet18, settings, searched=(7, 8))
    assert study.sweep_point == 7 and 7 in study.points
    configs = nb09_defences.sweep(settings)
    at_sweep = [d.tag() for p, d in study.runs if p == study.sweep_point]
    assert at_sweep == [d.tag() for d in configs]
    swept = list(dict.fromkeys(d.name for d in configs))
    for p in study.points:
        if p != study.sweep_point:
            assert [d.tag() for q, d in study.runs if q == p] == [
                anchor_configuration(n, settings).tag() for n in swept]
    # every defence is evaluated at every point: at least three points per defence at quick
    for name in swept:
        assert {p for p, d in study.runs if d.name == name} == set(study.points)
    assert len(study.points) >= 3
    # the middle setting of a three-value sweep, the lower middle of an even one
    assert anchor_configuration("noise", settings).tag() == "noise-gaussian-s1"
    assert anchor_configuration("datamix", settings).tag() == "datamix-k3"
    assert anchor_configuration("dropout", get_profile("smoke").defence).tag() == "dropout-r0.25"
    # the full grid: every configuration at every point
    full = nb09_defences.plan(resnet18, replace(settings, full_grid=True), searched=(7, 8))
    assert len(full.runs) == len(full.points) * len(configs)
    # without a search the sweep point is the middle defence point
    unsearched = nb09_defences.plan(resnet18, settings)
    assert unsearched.sweep_point == unsearched.points[(len(unsearched.points) - 1) // 2]


def test_strength_arguments_of_the_registered_defences():
    assert [strength_argument(n) for n in ("noise", "dropout", "datamix", "proactive")] == [
        "strength", "rate", "k", "lam"]
    assert strength_argument("none") is None


# --- the privacy–accuracy curve ---------------------------------------------------------------------

def _row(defence: str, strength: float, top1: float, ssim: float, *, p: int = 4, arg: str = "",
         variant: str = "", policy: str = "fp32", converged: str = "n/a") -> dict:
    return {"model": "m", "defence": defence, "label": defence, "variant": variant,
            "strength_arg": arg, "strength": strength, "tag": f"{defence}-{strength:g}", "p": p,
            "split": f"p{p}", "policy_tag": policy, "top1": top1, "top1_loss": 0.8 - top1,
            "eps_ci_low": 0.75 - top1, "eps_ci_high": 0.85 - top1, "ssim_worst": ssim, "psnr_worst": 20 * ssim, "strongest": "rmle", "converged": converged,
            "trained": "n/a"}


def test_the_privacy_accuracy_curve_has_one_row_per_defence_and_strength():
    rows = [_row("none", float("nan"), 0.80, 0.90),  # the undefended split at the sweep point
            _row("none", float("nan"), 0.80, 0.95, p=1),  # another point: not on the curve
            _row("none", float("nan"), 0.78, 0.50, policy="w8a8")]  # a quantized reference row
    rows += [_row("noise", s, 0.8 - 0.1 * s, 0.9 - 0.2 * s, arg="strength", variant="kind=gaussian")
             for s in (2.0, 0.5, 1.0)]
    rows += [_row("noise", 1.0, 0.7, 0.8, p=1, arg="strength", variant="kind=gaussian")]
    rows += [_row("datamix", k, 0.5, 0.5 - 0.05 * k, arg="k",
                  converged=NOT_CONVERGED if k == 4 else "yes") for k in (2, 3, 4)]
    curve = nb09_defences.privacy_accuracy(pd.DataFrame(rows), {"m": 4})
    # noise: its three strengths and its strength 0 (the undefended split, defences.md §11);
    # DataMix has no strength 0: its three k only
    assert list(zip(curve.defence, curve.strength)) == [
        ("noise", 0.0), ("noise", 0.5), ("noise", 1.0), ("noise", 2.0),
        ("datamix", 2.0), ("datamix", 3.0), ("datamix", 4.0)]
    assert not curve.duplicated(["model", "defence", "variant", "strength"]).any()
    zero = curve.iloc[0]
    assert zero.top1 == 0.80 and zero.ssim_worst == 0.90 and zero.measured == nb09_defences.STRENGTH_ZERO
    assert set(curve.p) == {4} and list(curve.columns) == nb09_defences.CURVE_COLUMNS
    lines = nb09_defences.curve_lines(curve)
    assert lines[0] == ("m: at p4, noise on the IR (kind=gaussian) from strength = 0 to 2 lowers the "
                        "worst-case SSIM from 0.900 to 0.500, top-1 from 0.800 to 0.600.")
    # a sweep with an unconverged setting is drawn but never read (defences.md §12): no numbers
    assert lines[1] == (f"m: at p4, DataMix: 1 of its 3 settings {NOT_CONVERGED}; its curve is "
                        "shown but not read.")
    fig = nb09_defences.plot_privacy_accuracy(curve, "m")
    assert len(fig.axes) == 1 and fig.axes[0].get_xlabel().startswith("worst-case SSIM")


def test_the_curve_carries_each_rows_stored_eps_interval():
    from paperlib.defences.evaluate import DefenceResult

    def result(defence: str, config: dict, top1: float, eps: float, low: float,
               high: float) -> DefenceResult:
        tag = defence if not config else f"{defence}-{'-'.join(map(str, config.values()))}"
        return DefenceResult(model="m", profile="t", defence=defence, tag=tag, config=config,
                             p=4, split="p4", policy=32, policy_tag="fp32", top1=top1,
                             accuracy_images=100, energy=0.1, energy_no_tx=0.1, compute=0.1,
                             defence_energy=0.0, defence_macs=0.0, transmission=0.0,
                             attacks={"rmle": {"ssim": 0.9 - eps, "psnr": 20.0}},
                             top1_fp=0.8, eps=eps, eps_ci_low=low, eps_ci_high=high,
                             mcnemar_p=0.5)

    rows = [result("none", {}, 0.80, 0.0, 0.0, 0.0),  # the undefended split: strength 0
            result("noise", {"kind": "gaussian", "strength": 0.5}, 0.78, 0.02, -0.01, 0.05),
            result("noise", {"kind": "gaussian", "strength": 2.0}, 0.60, 0.20, 0.12, 0.27),
            result("dropout", {"rate": 0.5}, 0.70, 0.10, 0.04, 0.18)]
    curve = nb09_defences.privacy_accuracy(nb09_defences.frame(rows), {"m": 4})
    stored = {r.tag: (r.eps, r.eps_ci_low, r.eps_ci_high) for r in rows}
    for _, c in curve.iterrows():  # each row's interval as stored, strength 0 the undefended one
        source = "none" if c.measured == nb09_defences.STRENGTH_ZERO else c.tag
        assert (c.top1_loss, c.eps_ci_low, c.eps_ci_high) == stored[source]
    assert len(curve) == 5 and {"eps_ci_low", "eps_ci_high"} <= set(curve.columns)
    # the bars on top-1: top-1 = 0.8 − ε, so ε in [0.04, 0.18] is top-1 in [0.62, 0.76]
    drop = curve[(curve.defence == "dropout") & (curve.strength == 0.5)]
    below, above = nb09_defences.top1_error_bars(drop)[:, 0]
    assert (0.70 - below, 0.70 + above) == pytest.approx((0.62, 0.76))
    fig = nb09_defences.plot_privacy_accuracy(curve, "m")
    assert "interval of ε" in fig.axes[0].get_ylabel()


def test_training_curves_frame_and_plot():
    from paperlib.defences.evaluate import DefenceResult

    def result(tag: str, training: dict, converged: bool | None) -> DefenceResult:
        return DefenceResult(model="m", profile="t", defence="datamix", tag=tag, config={"k": 2},
                             p=1, split="p1", policy=32, policy_tag="fp32", top1=0.5,
                             accuracy_images=10, energy=0.1, energy_no_tx=0.1, compute=0.1,
                             defence_energy=0.0, defence_macs=0.0, transmission=0.0,
                             converged=converged, training=training)

    record = {"unit": "epoch", "chunks": 3, "max_chunks": 6, "steps_per_chunk": 4,
              "curves": {"train_loss": [2.0, 1.0, 0.5]}}
    curves = nb09_defences.training_curves([result("datamix-k2", record, False),
                                            result("none", {}, None)])
    assert list(curves.chunk) == [1, 2, 3] and list(curves.relative) == [1.0, 0.5, 0.25]
    assert set(curves.converged) == {NOT_CONVERGED}
    assert len(nb09_defences.plot_training_curves(curves).axes) == 1


# --- notebook 09's attack budgets, and result files of dotted tags ------------------------------------

def test_notebook_09_attacks_with_its_own_budgets_on_top_of_notebook_08s():
    quick = get_profile("quick")
    atk = attack_settings(quick)
    assert atk.attacks["inverse-network"]["query_images"] == 500
    assert atk.attacks["inverse-network"]["epochs"] == quick.attack.attacks["inverse-network"]["epochs"]
    assert atk.attacks["shadow"]["labelled_images"] == 128
    assert attack_settings(get_profile("smoke")) == get_profile("smoke").attack
    bad = replace(quick, defence=replace(quick.defence, attack_budgets={"rmel": {"iterations": 1}}))
    with pytest.raises(ValueError, match="rmel"):
        attack_settings(bad)


def test_dotted_tags_keep_their_own_attack_result_files():
    a = attack_results.result_paths("rmle", "m", "t", 1, "fp32+dropout-r0.25", 4)
    b = attack_results.result_paths("rmle", "m", "t", 1, "fp32+dropout-r0.5", 4)
    assert a[0].name == "m-p1-fp32+dropout-r0.25-n4.json" and a[1].name == "m-p1-fp32+dropout-r0.25-n4.pt"
    assert a[0] != b[0] and a[1] != b[1]
