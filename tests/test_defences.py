"""Defences with known answers: de-mixing with Λ⁻¹ recovers a linear (affine) cloud's outputs
exactly; noise of strength 0 and dropout 0 leave the IR unchanged; the noise's std is the asked
multiple of the IR's; the defences' own operations equal hand counts; an attacker given the
mixing matrices does as well as on the undefended split, without them worse
(docs/decisions/defences.md)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from paperlib import attacks, defences
from paperlib.method import energy
from paperlib.infra import io
from paperlib.attacks.victim import SplitInfo, Victim
from paperlib.defences import costs, datamix, dropout, noise
from paperlib.studies import nb09_defences

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def _info(ir_shape=(8, 16, 16), classes=10, bits=32) -> SplitInfo:
    return SplitInfo(key="toy/p1/fp32", model="toy", p=1, tag="fp32", dataset="cifar10",
                     ir_shape=tuple(ir_shape), ir_bits=bits, ir_nonnegative=True, num_classes=classes)


def _images(n: int, seed: int = 0) -> torch.Tensor:
    """Smooth random images in [0, 1] (bilinear upsampling of 4x4 noise)."""
    low = torch.rand(n, 3, 4, 4, generator=torch.Generator().manual_seed(seed))
    return nn.functional.interpolate(low, size=32, mode="bilinear", align_corners=False)


def _edge() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2)).requires_grad_(False).eval()


def _victim(edge: nn.Module, cloud: nn.Module | None = None) -> Victim:
    cloud = cloud or nn.Sequential(nn.Flatten(), nn.Linear(8 * 16 * 16, 10))
    return Victim(edge, cloud.requires_grad_(False).eval(), _info())


# --- DataMix -------------------------------------------------------------------------------------

@pytest.mark.parametrize("k", [2, 3, 5])
def test_mixing_matrix_has_convex_rows_and_is_invertible(k):
    lam = datamix.draw_mixing(k, torch.Generator().manual_seed(k))
    assert (lam >= 0).all()
    assert torch.allclose(lam.sum(1), torch.ones(k, dtype=lam.dtype))
    assert torch.linalg.cond(lam) <= datamix.MAX_CONDITION


@pytest.mark.parametrize("k", [2, 4])
def test_demixing_recovers_the_outputs_of_a_linear_cloud_exactly(k):
    torch.manual_seed(1)
    cloud = nn.Sequential(nn.Flatten(), nn.Linear(8 * 16 * 16, 10)).double()  # affine: W v + b
    v = torch.randn(k, 8, 16, 16, dtype=torch.float64)
    lam = datamix.draw_mixing(k, torch.Generator().manual_seed(0))
    m = datamix.mix(v, lam)
    assert not torch.allclose(m, v)  # the cloud sees mixtures, not the IRs
    # rows summing to 1 make Λ⁻¹ 1 = 1, so the bias passes through the de-mixing unchanged
    assert torch.allclose(datamix.demix(cloud(m), lam), cloud(v), atol=1e-10)


def test_mixing_edge_demixes_every_group_of_a_batch():
    edge = _edge()
    victim = _victim(edge)
    mixed = datamix.MixingEdge(edge, k=2, seed=0)
    x = _images(7)
    out = mixed(x)
    assert [g.stop - g.start for g, _ in mixed.last] == [2, 2, 3]  # the remainder joins a group
    assert torch.allclose(datamix.demix_batch(out, mixed.last), edge(x), atol=1e-5)
    d = defences.DataMix(k=2, train=False)
    defended = d.apply(victim)
    assert defended.key == "toy/p1/fp32+datamix-k2-untrained"
    with torch.no_grad():
        assert torch.allclose(d.predict(defended, x), victim.cloud_module(edge(x)), atol=1e-4)


def test_datamix_cost_equals_the_hand_count():
    info = _info((64, 16, 16), classes=10)
    # k=2: mixing 2 x 16384, de-mixing 2 x 10, the solve 2^2, drawing Λ 2 (per image)
    assert defences.DataMix(k=2).edge_macs(info) == 2 * 16384 + 20 + 4 + 2
    assert defences.DataMix(k=4).edge_macs(info) == 4 * 16384 + 40 + 16 + 4
    assert costs.defence_mj(1e9) == pytest.approx(energy.e_mac_pj(32))  # 1e9 MACs at E_MAC|32 pJ


def test_edge_cost_adds_the_defence_and_sends_mixtures_at_full_precision():
    from paperlib.method import models

    net = models.build("cifar10cnn", num_classes=10).eval()
    victim = attacks.deploy(net, 4, 8, dataset="cifar10", model="cifar10cnn")
    plain = costs.edge_cost(net, 4, 8, victim.info, None)
    assert plain["energy"] == pytest.approx(energy.edge_energy(net, 4, 8))
    mixed = costs.edge_cost(net, 4, 8, victim.info, defences.DataMix(k=2))
    n = math.prod(victim.info.ir_shape)
    assert mixed["defence_macs"] == 2 * n + 2 * 10 + 4 + 2
    assert mixed["defence"] == pytest.approx(mixed["defence_macs"] * energy.e_mac_pj(32) / 1e9)
    assert mixed["transmission"] == pytest.approx(n * 32 * 100 / 1e9)  # 32 bits, 100 pJ/bit
    assert mixed["compute"] == plain["compute"]


# --- noise and dropout ---------------------------------------------------------------------------

def test_noise_of_strength_zero_and_dropout_zero_leave_the_ir_unchanged():
    edge = _edge()
    victim = _victim(edge)
    x = _images(4)
    ir = edge(x)
    for d in (defences.Noise("gaussian", 0.0), defences.Noise("laplacian", 0.0), defences.Dropout(0.0)):
        defended = d.apply(victim)
        assert torch.equal(defended.edge_module(x), ir)
        assert d.edge_macs(victim.info) == 0


@pytest.mark.parametrize("kind", noise.KINDS)
@pytest.mark.parametrize("strength", [0.5, 2.0])
def test_noise_std_is_the_asked_multiple_of_the_ir_std(kind, strength):
    ir = torch.rand(16, 8, 16, 16) * 3
    layer = noise.AddNoise(kind, strength, seed=1)
    n = layer(ir) - ir
    ratio = n.flatten(1).std(1) / ir.flatten(1).std(1)
    assert ratio.mean().item() == pytest.approx(strength, rel=0.03)
    assert n.mean().abs().item() < 0.03 * strength * ir.std().item()


def test_laplacian_noise_has_laplace_kurtosis():
    z = noise.unit_noise(torch.Size([200_000]), "laplacian", torch.Generator().manual_seed(0), torch.device("cpu"))
    kurt = float(((z - z.mean()) ** 4).mean() / z.var() ** 2)
    assert z.std().item() == pytest.approx(1.0, rel=0.02)
    assert kurt == pytest.approx(6.0, rel=0.1)  # Laplace: 6; Gaussian: 3


def test_dropout_zeroes_the_asked_share_and_keeps_the_mean():
    ir = torch.rand(32, 8, 16, 16) + 0.5
    out = dropout.DropIR(0.75, seed=0)(ir)
    assert (out == 0).float().mean().item() == pytest.approx(0.75, abs=0.01)
    kept = out != 0
    assert torch.allclose(out[kept], ir[kept] * 4)
    assert out.mean().item() == pytest.approx(ir.mean().item(), rel=0.02)


def test_bad_settings_are_refused_by_name():
    with pytest.raises(ValueError, match="noise kind"):
        defences.Noise("uniform", 1.0)
    with pytest.raises(ValueError, match="strength"):
        defences.Noise("gaussian", -1.0)
    with pytest.raises(ValueError, match="dropout rate"):
        defences.Dropout(1.0)
    with pytest.raises(ValueError, match="k >= 2"):
        defences.DataMix(k=1)
    with pytest.raises(ValueError, match="unknown defence"):
        defences.build("blur")


# --- the secret is what protects -----------------------------------------------------------------

def test_an_attacker_given_the_mixing_matrices_does_as_well_as_on_the_undefended_split():
    edge = _edge()
    victim = _victim(edge)
    defended = defences.DataMix(k=2, seed=3, train=False).apply(victim)
    aux = attacks.Aux(_images(192, seed=1))
    x = _images(16, seed=2)

    def ssim_of(oracle, ir):
        atk = attacks.InverseNetwork(epochs=8, batch_size=32, lr=3e-3).fit(oracle, aux)
        return float(attacks.ssim(x, atk.invert(ir)).mean())

    undefended = ssim_of(victim.oracle(), edge(x))
    with torch.no_grad():
        mixtures = defended.edge_module(x)
    matrices = defended.edge_module.last
    # given Λ: de-mix the mixtures, then the attack on the plain edge (its own queries de-mixed too)
    given = ssim_of(victim.oracle(), datamix.demix_batch(mixtures, matrices))
    without = ssim_of(defended.oracle(), mixtures)
    mean_image = float(attacks.ssim(x, aux.images.mean(0, keepdim=True).expand_as(x)).mean())
    assert given == pytest.approx(undefended, abs=0.01)
    assert without < given - 0.05
    assert undefended > mean_image + 0.1  # the attack does work on this edge


# --- one evaluation function, cached -------------------------------------------------------------

@pytest.fixture()
def smoke_env(synthetic_search_dir, tmp_path, monkeypatch):
    # enough test images for a report split of 100 (docs/decisions/paper-method.md §9)
    monkeypatch.setenv("PAPERLIB_DATA_DIR", str(synthetic_search_dir))
    monkeypatch.setenv("PAPERLIB_ALLOW_PARTIAL_DATA", "1")
    monkeypatch.setenv("PAPERLIB_RESULTS_DIR", str(tmp_path / "results"))
    return tmp_path


def test_evaluate_reports_top1_energy_every_attack_and_reuses_its_cache(smoke_env, monkeypatch):
    from paperlib.method import models

    torch.manual_seed(0)
    net = models.build("cifar10cnn", num_classes=10).eval()
    meta = {"accuracy": 0.1, "date": "test", "data": "synthetic", "seed": 0}
    d = defences.Noise("gaussian", 1.0)
    r = defences.evaluate("cifar10cnn", d, 4, 8, profile="smoke", net=net, meta=meta, images=4,
                          attacks=("inverse-network", "rmle"))
    assert set(r.attacks) == {"inverse-network", "rmle"}
    assert 0 <= r.top1 <= 1 and r.accuracy_images == 100  # the report split of 200 test images
    victim = attacks.deploy(net, 4, 8, dataset="cifar10", model="cifar10cnn")
    n = math.prod(victim.info.ir_shape)
    assert r.energy == pytest.approx(energy.edge_energy(net, 4, 8, transmission=False)
                                     + costs.defence_mj(2 * n) + n * 32 * 100 / 1e9)
    assert r.strongest in r.attacks and r.ssim == max(a["ssim"] for a in r.attacks.values())
    monkeypatch.setattr(defences.Noise, "apply", lambda *a, **k: pytest.fail("recomputed"))
    again = defences.evaluate("cifar10cnn", d, 4, 8, profile="smoke", net=net, meta=meta, images=4,
                              attacks=("inverse-network", "rmle"))
    assert again.to_dict() == {**r.to_dict(), "path": again.path}
    # noise has no settings of its own: another defence's budgets are not part of its key
    from paperlib.method.profiles import get_profile

    assert r.fingerprint["defence_settings"] == {}
    longer = _with_budgets(get_profile("smoke"), "datamix", epochs=9)
    assert defences.evaluate("cifar10cnn", d, 4, 8, profile=longer, net=net, meta=meta, images=4,
                             attacks=("inverse-network", "rmle")).top1 == r.top1


# --- comparison ----------------------------------------------------------------------------------

def test_the_defence_front_is_the_one_pareto_rule():
    # the defences' front is paperlib.search.pareto's (tests/test_pareto.py has this case too)
    from paperlib.search.pareto import frame_pareto_mask

    df = pd.DataFrame({"energy": [1.0, 2.0, 1.5, 3.0, 1.0], "ssim": [0.5, 0.2, 0.6, 0.1, 0.4]})
    # (1.0, 0.4) dominates (1.0, 0.5) and (1.5, 0.6); (2.0, 0.2) and (3.0, 0.1) trade off
    assert frame_pareto_mask(df, minimise=("energy", "ssim")).tolist() == [False, True, False,
                                                                           True, True]


def test_best_points_respect_both_bounds():

    df = pd.DataFrame({"model": ["m"] * 4, "defence": ["none", "noise", "noise", "dropout"],
                       "tag": ["none", "s1", "s4", "r0.9"], "split": ["p1"] * 4,
                       "policy_tag": ["fp32"] * 4, "energy_no_tx": [0.1, 0.1, 0.1, 0.5],
                       "top1": [0.80, 0.79, 0.60, 0.80], "ssim": [0.6, 0.4, 0.1, 0.05],
                       "strongest": ["rmle"] * 4})
    df["top1_loss"] = 0.80 - df.top1
    best = nb09_defences.best_points(df, 0.35, 0.03)
    noise_row = best[best.scheme == defences.DEFENCES.label("noise")].iloc[0]
    assert noise_row.setting == "s1"  # s4 is more private but loses 0.2 top-1
    assert not best[best.scheme == defences.DEFENCES.label("dropout")].iloc[0].within_bounds
    words = nb09_defences.verdicts(df.assign(energy=df.energy_no_tx), 0.35, 0.03)
    assert words[0].startswith("m: under E_b = 0.35 mJ") and "noise" in words[0]
    # the noise's top-1 loss ε over its two settings, as the table holds it (0.01 and 0.2)
    assert any("costs top-1 loss ε 0.010 to 0.200" in w for w in words)


def test_the_proactive_control_is_shown_but_never_judged():
    """λ = 0 is the proactive retraining's registered control (the retraining without the privacy
    term): even as the least leaky admissible row it is not the defence's best point, and the
    defence's verdict counts only its λ = 1 setting."""
    from paperlib.defences.base import is_control
    from paperlib.studies import nb09_defences

    assert is_control("proactive", {"lam": 0.0, "seed": 0})
    assert not is_control("proactive", {"lam": 1.0}) and not is_control("noise", {"strength": 0.0})
    df = pd.DataFrame({"model": ["m"] * 3, "defence": ["none", "proactive", "proactive"],
                       "tag": ["none", "proactive-l0", "proactive-l1"], "split": ["p1"] * 3,
                       "policy_tag": ["fp32"] * 3, "energy_no_tx": [0.1] * 3,
                       "top1": [0.80, 0.79, 0.78], "ssim": [0.6, 0.2, 0.4],
                       "strongest": ["rmle"] * 3, "converged": ["n/a", "yes", "yes"],
                       "control": [False, True, False]})
    df["top1_loss"] = 0.80 - df.top1
    label = defences.DEFENCES.label("proactive")
    best = nb09_defences.best_points(df, 0.35, 0.03).set_index("scheme")
    assert best.loc[label, "setting"] == "proactive-l1"
    words = nb09_defences.verdicts(df.assign(energy=df.energy_no_tx), 0.35, 0.03)
    assert any(w.startswith(f"m: {label} costs top-1 loss ε 0.020") and "its 1 setting(s)" in w
               for w in words)


def test_a_not_converged_row_is_flagged_in_the_best_points_and_never_wins():
    """DataMix's row is admissible and the least leaky, but its training stopped before a plateau:
    the table shows it with its flag, the verdict names the converged winner (noise)."""
    from paperlib.defences.evaluate import NOT_CONVERGED
    from paperlib.studies import nb09_defences

    df = pd.DataFrame({"model": ["m"] * 3, "defence": ["none", "noise", "datamix"],
                       "tag": ["none", "s1", "datamix-k2"], "split": ["p1"] * 3,
                       "policy_tag": ["fp32"] * 3, "energy_no_tx": [0.1] * 3,
                       "top1": [0.80, 0.79, 0.79], "ssim": [0.6, 0.4, 0.1],
                       "strongest": ["rmle"] * 3,
                       "converged": ["n/a", "n/a", NOT_CONVERGED]})
    df["top1_loss"] = 0.80 - df.top1
    best = nb09_defences.best_points(df, 0.35, 0.03).set_index("scheme")
    assert best.loc[defences.DEFENCES.label("datamix"), "converged"] == NOT_CONVERGED
    assert best.loc[defences.DEFENCES.label("datamix"), "ssim"] == 0.1
    words = nb09_defences.verdicts(df.assign(energy=df.energy_no_tx), 0.35, 0.03)
    assert f"{defences.DEFENCES.label('noise')} (s1, p1, fp32)" in words[0]


def test_proactive_retraining_lowers_the_decoders_success_it_trains_against():
    """λ = 0 is plain retraining; a large λ makes the encoder's IR harder for its decoder (toy
    edge and cloud, synthetic images, seconds)."""
    from paperlib.defences import adversarial

    torch.manual_seed(0)
    edge = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2)).eval()
    victim = _victim(edge)
    images = (_images(64, seed=5) * 255).round().to(torch.uint8)
    labels = torch.randint(0, 10, (64,), generator=torch.Generator().manual_seed(0))
    settings = adversarial.ProactiveSettings(rounds=3, decoder_epochs=2, epochs=2, lr=3e-3,
                                             batch_size=16)
    _, _, plain = adversarial.adversarial_retraining(victim, images, labels, settings, 0.0)
    _, _, hard = adversarial.adversarial_retraining(victim, images, labels, settings, 20.0)
    assert np.mean(hard["ssim"][-4:]) < np.mean(plain["ssim"][-4:])


def test_proactive_decoder_trains_at_its_own_rate():
    """``decoder_lr`` is the adversary's rate, ``lr`` the edge's and cloud's: with both 0 nothing
    moves (every decoder step sees the same loss); with only the decoder's above 0 the edge and cloud
    come back unchanged while the decoder's loss falls (one batch per epoch, so every step is comparable)."""
    from paperlib.defences import adversarial

    torch.manual_seed(0)
    edge = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2)).eval()
    victim = _victim(edge)
    images = (_images(32, seed=6) * 255).round().to(torch.uint8)
    labels = torch.randint(0, 10, (32,), generator=torch.Generator().manual_seed(1))
    still = adversarial.ProactiveSettings(rounds=2, decoder_epochs=3, epochs=1, lr=0.0,
                                          decoder_lr=0.0, batch_size=32)
    _, _, log = adversarial.adversarial_retraining(victim, images, labels, still, 1.0)
    assert len(log["decoder_mse"]) == 6 and np.ptp(log["decoder_mse"]) < 1e-6
    moving = dataclasses.replace(still, decoder_lr=1e-2)
    new_edge, new_cloud, log = adversarial.adversarial_retraining(victim, images, labels, moving, 1.0)
    assert log["decoder_mse"][-1] < log["decoder_mse"][0]
    for new, old in ((new_edge, victim.edge_module), (new_cloud, victim.cloud_module)):
        assert all(torch.equal(a, b) for a, b in zip(new.parameters(), old.parameters()))


def test_mixing_aware_loss_of_a_linear_cloud_is_the_unmixed_loss():
    torch.manual_seed(2)
    cloud = nn.Sequential(nn.Flatten(), nn.Linear(8 * 16 * 16, 10))
    v, labels = torch.randn(6, 8, 16, 16), torch.randint(0, 10, (6,))
    loss = datamix.mixing_aware_loss(cloud, v, labels, 2, torch.Generator().manual_seed(0))
    assert loss.item() == pytest.approx(nn.functional.cross_entropy(cloud(v), labels).item(), rel=1e-4)


def _with_budgets(prof, name: str, **values):
    """``prof`` with ``values`` set in ``DefenceSettings.defences[name]`` (the rest kept)."""
    from dataclasses import replace

    own = prof.defence.defences
    return replace(prof, defence=replace(prof.defence, defences={
        **own, name: {**own.get(name, {}), **values}}))


def test_datamix_cloud_is_trained_once_and_its_budgets_key_every_cache(smoke_env, monkeypatch):
    from paperlib.method import models
    from paperlib.method.profiles import get_profile

    torch.manual_seed(0)
    net = models.build("cifar10cnn", num_classes=10).eval()
    meta = {"accuracy": 0.1, "date": "test", "data": "synthetic", "seed": 0}
    prof = _with_budgets(get_profile("smoke"), "datamix", images=32)
    kw = dict(net=net, meta=meta, images=4, attacks=("inverse-network",))
    first = defences.evaluate("cifar10cnn", defences.DataMix(2), 4, 32, profile=prof, **kw)
    fp1 = io.read_json(first.attacks["inverse-network"]["path"])["fingerprint"]
    calls = []
    real = datamix.train_cloud
    monkeypatch.setattr(datamix, "train_cloud", lambda *a, **k: calls.append(1) or real(*a, **k))
    defences.evaluate("cifar10cnn", defences.DataMix(2), 4, 32, profile=prof, force=True, **kw)
    assert len(calls) == 1  # the row is recomputed, the cloud reloaded from its cache
    # the proactive budgets are not this row's: changing them keeps every cache of it
    other = _with_budgets(prof, "proactive", rounds=7)
    monkeypatch.setattr(datamix, "train_cloud", lambda *a, **k: pytest.fail("recomputed"))
    assert defences.evaluate("cifar10cnn", defences.DataMix(2), 4, 32, profile=other,
                             **kw).fingerprint == first.fingerprint
    monkeypatch.setattr(datamix, "train_cloud", real)
    longer = _with_budgets(prof, "datamix", epochs=2)
    second = defences.evaluate("cifar10cnn", defences.DataMix(2), 4, 32, profile=longer, **kw)
    fp2 = io.read_json(second.attacks["inverse-network"]["path"])["fingerprint"]
    # only the evaluated defence's own settings key its row and its attacks (smoke: 1 epoch)
    smoke = {"epochs": 1, "images": 32, "lr": 1e-3, "batch_size": 64}
    assert fp1["config"]["defence_budgets"] == {"datamix": smoke}
    assert first.fingerprint["defence_settings"] == {"datamix": smoke}
    assert fp2["config"]["defence_budgets"] == {"datamix": {**smoke, "epochs": 2}}
    assert second.fingerprint != first.fingerprint


def test_each_defence_gets_its_own_settings_from_the_profile():
    from dataclasses import replace

    from paperlib.defences import adversarial
    from paperlib.defences.base import settings_for
    from paperlib.method.profiles import PROFILES, DefenceSettings

    smoke, quick, paper = (PROFILES[n].defence.defences for n in ("smoke", "quick", "paper"))
    # the values the profiles had as DefenceSettings fields (docs/decisions/defences.md §6); quick's
    # epochs and rounds are now maxima, trained until a plateau (defences.md §12, §13)
    assert settings_for("datamix", smoke) == datamix.DataMixSettings(1, 128, 1e-3, 64)
    assert settings_for("datamix", quick) == datamix.DataMixSettings(6, 256, 1e-3, 64)
    assert settings_for("datamix", paper) == datamix.DataMixSettings(5, None, 1e-3, 64)
    assert settings_for("proactive", smoke) == adversarial.ProactiveSettings(1, 1, 1, 64, 1e-4, 64)
    assert settings_for("proactive", quick) == adversarial.ProactiveSettings(6, 1, 1, 512, 1e-4, 64)
    assert settings_for("proactive", paper) == adversarial.ProactiveSettings(3, 1, 1, None, 1e-4, 64)
    # the decoder learns at the inverse-network attack's rate in every profile (defences.md §15)
    assert {settings_for("proactive", p).decoder_lr for p in (smoke, quick, paper)} == {
        attacks.inverse_network.DEFAULTS.lr}
    for name in ("none", "noise", "dropout"):
        assert settings_for(name, smoke) is None
    # refused by name: an unknown field, values for a defence without settings, an unknown defence
    with pytest.raises(ValueError, match=r"DefenceSettings.defences\['datamix'\]: unknown "
                                         r"setting\(s\) epoch; DataMixSettings has batch_size, "
                                         r"epochs, images, lr"):
        settings_for("datamix", {"datamix": {"epoch": 3}})
    with pytest.raises(ValueError, match=r"defence 'noise' has no settings; remove "
                                         r"DefenceSettings.defences\['noise'\]"):
        settings_for("noise", {"noise": {"strength": 2.0}})
    with pytest.raises(ValueError, match=r"'datamx', which is not a registered defence"):
        settings_for("datamix", {"datamx": {"epochs": 3}})
    # the old DefenceSettings fields name their new place
    with pytest.raises(AttributeError, match=r"defences\['proactive'\]\['rounds'\]"):
        PROFILES["smoke"].defence.adv_rounds
    with pytest.raises(TypeError, match=r"defences\['datamix'\]\['epochs'\]"):
        replace(PROFILES["smoke"].defence, datamix_epochs=2)
    with pytest.raises(TypeError, match=r"defences\['datamix'\]\['batch_size'\] and "
                                        r"DefenceSettings.defences\['proactive'\]\['batch_size'\]"):
        DefenceSettings(batch_size=32)


def test_a_defence_that_trains_refuses_a_context_without_its_settings():
    from paperlib.method.profiles import PROFILES

    ctx = defences.Context(net=nn.Identity(), meta={}, p=1, policy=32, dataset="cifar10",
                           settings=PROFILES["smoke"].defence, profile="smoke")
    victim = _victim(_edge())
    with pytest.raises(ValueError, match=r"'datamix' needs its DataMixSettings.*settings_for"):
        defences.DataMix(2).apply(victim, ctx)
    with pytest.raises(ValueError, match=r"'proactive' needs its ProactiveSettings"):
        defences.Proactive().apply(victim, ctx)


def test_notebook_09_reads_no_unconverged_row_and_tests_its_falsification_rule():
    from paperlib.defences.evaluate import NOT_CONVERGED
    from paperlib.studies import nb09_defences

    label = defences.DEFENCES.label
    df = pd.DataFrame({"model": "m", "scheme": ["8-bit uniform", label("noise"), label("datamix")],
                       "defence": ["none", "noise", "datamix"], "tag": ["none", "s1", "k3"],
                       "split": "p4", "policy_tag": "fp32", "energy_no_tx": [0.2, 0.1, 0.05],
                       "top1": 0.8, "top1_loss": [0.0, 0.01, 0.01], "ssim": [0.5, 0.6, 0.1],
                       "strongest": "rmle", "converged": ["n/a", "n/a", NOT_CONVERGED]})
    words = nb09_defences.verdicts(df, 0.35, 0.03)
    front = next(w for w in words if "Pareto front" in w)
    assert label("datamix") not in front  # cheapest and most private, but not converged
    # noise's best admissible SSIM 0.6 is no lower than 8-bit uniform's 0.5: falsified
    assert any("noise" in w and "leaves SSIM 0.600, so under E_b" in w and "is falsified" in w
               for w in words)
    assert any(f"{label('datamix')}: {NOT_CONVERGED} in 1 of its 1 setting(s)" in w for w in words)
