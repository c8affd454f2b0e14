"""Known answers for issue 23's new functions: the worst case over the attacks is the max of the
attack columns; a defence at strength 0 equals no defence; a constant-channel control map has
the P the definition gives (2); plateau detection (docs/decisions/attacks.md §10–§11,
docs/decisions/defences.md §11–§12)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from paperlib import defences
from paperlib.attacks.victim import SplitInfo, Victim
from paperlib.attacks.worst_case import (add_worst_case, spread_of_worst, worst_attack, worst_case,
                                         worst_case_table)
from paperlib.defences.adversarial import retraining_converged
from paperlib.defences.base import DEFENCES, at_strength_zero
from paperlib.defences.evaluate import DefenceResult, convergence_words
from paperlib.method import privacy
from paperlib.method.plateau import chunk_means, plateaued
from paperlib.method.privacy_controls import (avgpool_map, constant_map, control_privacy,
                                              orthogonal_map, orthogonal_rows, resolution_control)


def _images(n: int, seed: int = 0) -> torch.Tensor:
    low = torch.rand(n, 3, 4, 4, generator=torch.Generator().manual_seed(seed))
    return nn.functional.interpolate(low, size=32, mode="bilinear", align_corners=False)


# --- the worst case over the attacks ---------------------------------------------------------------

def test_worst_case_is_the_highest_finite_value():
    assert worst_case({"rmle": 0.3, "inverse-network": 0.7, "shadow": 0.1}) == 0.7
    assert worst_attack({"rmle": 0.3, "inverse-network": 0.7, "shadow": 0.1}) == "inverse-network"
    assert worst_case({"rmle": float("nan"), "shadow": 0.2}) == 0.2
    assert math.isnan(worst_case({"rmle": float("nan")})) and math.isnan(worst_case({}))


def test_the_worst_cases_spread_is_that_of_the_attack_reaching_it():
    rows = pd.DataFrame({"attack": ["rmle", "inverse-network", "shadow"], "ssim": [0.3, 0.7, 0.1],
                         "ssim_sd": [0.05, 0.2, 0.01]})
    assert spread_of_worst(rows, worst_attack(dict(zip(rows.attack, rows.ssim)))) == 0.2
    assert math.isnan(spread_of_worst(rows, "")) and math.isnan(spread_of_worst(rows, "zzz"))


def test_worst_case_columns_equal_the_max_of_the_attack_columns():
    rng = np.random.default_rng(0)
    attacks = ["rmle", "inverse-network", "shadow"]
    long = pd.DataFrame([{"model": m, "p": p, "tag": "fp32", "attack": a, "ssim": rng.random(),
                          "psnr": 10 + 20 * rng.random()}
                         for m in ("a", "b") for p in (1, 2, 3) for a in attacks])
    wide = worst_case_table(long, by=("model", "p", "tag"))
    assert len(wide) == 6
    for metric in ("ssim", "psnr"):
        cols = [f"{metric}_{a}" for a in attacks]
        np.testing.assert_array_equal(wide[f"{metric}_worst"], wide[cols].max(axis=1))
        expect = long.groupby(["model", "p"], sort=False)[metric].max().to_numpy()
        np.testing.assert_array_equal(wide[f"{metric}_worst"], expect)
        picked = [row[f"{metric}_{row[f'{metric}_worst_attack']}"] for _, row in wide.iterrows()]
        np.testing.assert_array_equal(picked, wide[f"{metric}_worst"])
    with pytest.raises(ValueError, match="ssim_zzz"):
        add_worst_case(wide, ["zzz"])


def test_worst_case_table_keeps_only_the_groups_the_table_has():
    """Two models at different points (as notebook 08's training-progress table has them): one
    row per observed (model, p), in order, never the cross product of the key columns; a NaN
    metric of one attack stays a NaN column entry, not a dropped attack."""
    long = pd.DataFrame([{"model": m, "p": p, "attack": a, "ssim": s, "psnr": float("nan") if a == "shadow" else 20.0}
                         for m, ps in (("a", (0, 8)), ("b", (3, 6, 0)))
                         for p in ps for a, s in (("rmle", 0.1 * p), ("shadow", 0.5))])
    wide = worst_case_table(long, by=("model", "p"))
    assert list(zip(wide["model"], wide["p"])) == [("a", 0), ("a", 8), ("b", 3), ("b", 6), ("b", 0)]
    assert wide["ssim_worst"].tolist() == pytest.approx([0.5, 0.8, 0.5, 0.6, 0.5])
    assert wide["psnr_shadow"].isna().all() and (wide["psnr_worst"] == 20.0).all()
    one = worst_case_table(long, by=("model",))
    assert one["model"].tolist() == ["a", "b"]


def test_a_defence_rows_worst_case_is_the_max_over_its_attacks():
    r = DefenceResult(model="m", profile="smoke", defence="none", tag="none", config={}, p=1,
                      split="p1", policy=32, policy_tag="fp32", top1=0.5, accuracy_images=10,
                      energy=1.0, energy_no_tx=1.0, compute=1.0, defence_energy=0.0,
                      defence_macs=0.0, transmission=0.0,
                      attacks={"rmle": {"ssim": 0.4, "psnr": 19.0},
                               "inverse-network": {"ssim": 0.6, "psnr": 15.0},
                               "shadow": {"ssim": 0.1, "psnr": 21.0}})
    row = r.row()
    assert row["ssim_worst"] == 0.6 == r.ssim and row["strongest"] == "inverse-network"
    assert row["psnr_worst"] == 21.0  # PSNR's worst case comes from another attack
    assert row["converged"] == "n/a"


# --- a defence at strength 0 equals no defence -------------------------------------------------------

def _victim() -> Victim:
    torch.manual_seed(0)
    edge = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2))
    cloud = nn.Sequential(nn.Flatten(), nn.Linear(8 * 16 * 16, 10))
    info = SplitInfo(key="toy/p1/fp32", model="toy", p=1, tag="fp32", dataset="cifar10",
                     ir_shape=(8, 16, 16), ir_bits=32, ir_nonnegative=True, num_classes=10)
    return Victim(edge.requires_grad_(False).eval(), cloud.requires_grad_(False).eval(), info)


@pytest.mark.parametrize("name", ["noise", "dropout"])
def test_a_defence_at_strength_zero_equals_no_defence(name):
    victim, x = _victim(), _images(6)
    plain = defences.NoDefence()
    d = at_strength_zero(name)
    defended = d.apply(victim)
    with torch.no_grad():
        assert torch.equal(defended.edge_module(x), victim.edge_module(x))
    assert torch.equal(d.predict(defended, x), plain.predict(plain.apply(victim), x))
    assert d.edge_macs(victim.info) == 0.0 == plain.edge_macs(victim.info)
    assert d.sent_bits(victim.info) == plain.sent_bits(victim.info)
    assert d.converged() is None  # nothing trained


def test_a_defence_without_a_strength_zero_is_refused_by_name():
    # proactive retraining at λ = 0 still retrains; DataMix mixes at least k = 2 images
    for name in ("proactive", "datamix"):
        with pytest.raises(ValueError, match=f"defence '{name}' has no strength 0.*noise, dropout"):
            at_strength_zero(name)


# --- resolution controls for P -------------------------------------------------------------------------

def test_a_constant_channel_map_has_p_two_by_definition():
    x = _images(5)
    for value in (0.0, 3.5):
        assert privacy.privacy(x, constant_map(x, (16, 2, 2)) + value) == pytest.approx(2.0, abs=0)
    assert control_privacy(x, (7, 1, 1), kinds=("constant",)) == {"constant": 2.0}
    # a 1x1 IR is constant once resized, whatever it holds: P = 2 (VGG11's last IR)
    assert control_privacy(x, (4, 1, 1), kinds=("avgpool", "orthogonal")) == {"avgpool": 2.0,
                                                                              "orthogonal": 2.0}


def test_an_avgpooled_gray_input_at_full_resolution_has_p_zero():
    gray = _images(4)[:, :1].expand(-1, 3, -1, -1).contiguous()  # R = G = B
    m = avgpool_map(gray, (5, 32, 32))
    assert m.shape == (4, 5, 32, 32) and torch.allclose(m[:, 3], gray[:, 0])
    assert privacy.privacy(gray, m) == pytest.approx(0.0, abs=1e-5)


def test_orthogonal_rows_and_map():
    q = orthogonal_rows(8, 48, seed=3)
    assert torch.allclose(q @ q.T, torch.eye(8), atol=1e-5)
    q = orthogonal_rows(64, 12, seed=3)
    assert torch.allclose(q.T @ q, torch.eye(12), atol=1e-5)
    assert torch.equal(orthogonal_rows(8, 48, seed=3), orthogonal_rows(8, 48, seed=3))
    x = _images(3)
    m = orthogonal_map(x, (16, 8, 8), seed=1)
    assert m.shape == (3, 16, 8, 8)
    # k = 4: channel j at (i, l) is q_j · the 4x4x3 patch there
    patch = x[0, :, 4:8, 8:12].reshape(-1)
    assert float(m[0, 5, 1, 2]) == pytest.approx(float(orthogonal_rows(16, 48, 1)[5] @ patch), abs=1e-5)


def test_resolution_control_reports_p_beside_its_controls():
    x = _images(4)
    out = resolution_control(x, avgpool_map(x, (6, 8, 8)))
    assert out["P"] == pytest.approx(out["P_avgpool"]) and out["P_beyond_shape"] == pytest.approx(0.0)
    assert out["P_constant"] == 2.0
    with pytest.raises(ValueError, match="finer than the input"):
        control_privacy(x, (3, 64, 64))
    with pytest.raises(ValueError, match="unknown control"):
        control_privacy(x, (3, 8, 8), kinds=("learned",))


# --- plateau detection and the converged flag -------------------------------------------------------------

def test_plateau_detection_known_answers():
    assert plateaued([1.0, 0.5, 0.5, 0.5, 0.5])  # nothing gained in the last 3
    assert not plateaued([1.0, 0.9, 0.8, 0.7, 0.6])  # 10 %+ per step
    assert not plateaued([1.0, 1.0, 1.0])  # too short to tell
    assert plateaued([1.0, 0.995, 0.994, 0.993], window=3, rel_tol=0.01)
    # two-sided: within 1 % of the best before in both directions (a game's curve)
    assert plateaued([1.0, 1.0, 1.005, 1.009], two_sided=True)
    assert plateaued([1.0, 1.02, 1.03, 1.04])  # one-sided: worse counts as no gain
    assert not plateaued([1.0, 1.02, 1.03, 1.04], two_sided=True)
    # every value of the window counts, not its best: a rise inside the window is no plateau
    assert not plateaued([1.0, 1.0, 1.5, 1.9], two_sided=True)
    assert not plateaued([0.05, 0.02, 0.0165, 0.0164, 0.019, 0.022], two_sided=True)
    assert plateaued([1.0, 1.0, 1.005, 1.009], two_sided=True) and not plateaued(
        [1.0, 1.0, 1.005, 1.011], two_sided=True)  # 1 % above the best before is the edge
    assert not plateaued([1.0, 0.5, float("nan"), 0.5, 0.5])
    assert chunk_means([1, 1, 3, 3, 5, 5, 5], 3) == [1.0, 3.0, 5.0]
    assert convergence_words(True) == "yes" and convergence_words(False) == "not converged"


def test_retraining_converges_when_both_round_curves_plateau():
    flat = {"decoder_mse": [0.2] * 10, "ce": [1.0] * 10, "ssim": [0.5] * 10}
    assert retraining_converged(flat, rounds=5)
    falling = {**flat, "ce": [1.0 - 0.09 * i for i in range(10)]}
    assert not retraining_converged(falling, rounds=5)
    assert not retraining_converged(flat, rounds=2)  # two rounds cannot show a plateau
    # a decoder losing the game (its loss rising 10 % a round) is no plateau of the game
    rising = {**flat, "decoder_mse": [0.2 * 1.1 ** (i // 2) for i in range(10)]}
    assert plateaued(chunk_means(rising["decoder_mse"], 5))  # the one-sided rule would stop
    assert not plateaued(chunk_means(rising["decoder_mse"], 5), two_sided=True)
    assert not retraining_converged(rising, rounds=5)


# --- the within-point study's size ----------------------------------------------------------------

def test_the_within_point_study_has_power_at_quick():
    from dataclasses import replace

    from paperlib.method.profiles import get_profile
    from paperlib.studies import nb08_attacks

    quick = get_profile("quick").attack
    assert quick.policies >= 30 and nb08_attacks.within_point_images(quick) >= 64
    smoke = get_profile("smoke").attack
    assert nb08_attacks.within_point_images(smoke) == smoke.images  # None: the notebook's images
    with pytest.raises(ValueError, match="policy_images"):
        nb08_attacks.within_point_images(replace(smoke, policy_images=0))
