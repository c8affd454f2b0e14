"""The attack interface with known answers: rMLE recovers an input exactly through an identity and
an invertible linear edge; batching changes nothing; each attack gets only its threat model's
view; bad input is refused by name; the victim's edge is the deployed quantized edge."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from paperlib import attacks
from paperlib.method import data, models, quant
from paperlib.studies import attack_tables
from paperlib.attacks import runner
from paperlib.attacks.base import aux_need
from paperlib.attacks.victim import SplitInfo, Victim


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def _images(n: int = 4, seed: int = 0) -> torch.Tensor:
    """Smooth random images in [0, 1] (bilinear upsampling of 8x8 noise)."""
    low = torch.rand(n, 3, 8, 8, generator=torch.Generator().manual_seed(seed))
    return nn.functional.interpolate(low, size=32, mode="bilinear", align_corners=False)


def _victim(edge: nn.Module, ir_shape=(3, 32, 32), key: str = "toy/p0/fp32",
            cloud: nn.Module | None = None) -> Victim:
    info = SplitInfo(key=key, model="toy", p=0, tag="fp32", dataset="cifar10",
                     ir_shape=tuple(ir_shape), ir_bits=32, ir_nonnegative=True, num_classes=10)
    return Victim(edge, cloud or nn.Sequential(nn.Flatten(), nn.Linear(int(np.prod(ir_shape)), 10)), info)


class Identity(nn.Module):
    def forward(self, x):
        return x


def _invertible_conv() -> nn.Conv2d:
    conv = nn.Conv2d(3, 3, 1, bias=True)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([[1.0, 0.5, 0.2], [-0.3, 1.0, 0.4], [0.1, -0.2, 1.0]]).view(3, 3, 1, 1))
        conv.bias.copy_(torch.tensor([0.1, -0.2, 0.3]))
    return conv.requires_grad_(False)


@pytest.mark.parametrize("edge", [Identity(), _invertible_conv()], ids=["identity", "linear"])
def test_rmle_recovers_the_input_exactly_through_an_invertible_edge(edge):
    x = _images()
    victim = _victim(edge)
    atk = attacks.RMLE(iterations=300, lr=0.05, tv=0.0).fit(victim.edge())
    with torch.no_grad():
        ir = edge(x)
    rec = atk.invert(ir)
    assert torch.allclose(rec, x, atol=1e-4)
    assert (attacks.psnr(x, rec) > 60).all()


def test_rmle_batched_equals_one_image_at_a_time():
    torch.manual_seed(0)
    edge = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)).requires_grad_(False)
    x = _images(3)
    with torch.no_grad():
        ir = edge(x)
    kw = dict(iterations=25, lr=0.05, tv=0.1)
    batched = attacks.invert_by_optimisation(edge, ir, batch_size=3, **kw)
    alone = torch.cat([attacks.invert_by_optimisation(edge, ir[i:i + 1], batch_size=1, **kw)
                       for i in range(3)])
    # the same optimisation up to float rounding (which Adam amplifies where a gradient is ~0)
    assert (attacks.psnr(batched, alone) > 40).all()
    assert (batched - alone).abs().mean() < 1e-3
    assert batched.min() >= 0 and batched.max() <= 1


def test_tv_prior_and_direction_loss_known_values():
    from paperlib.attacks.rmle import direction_loss, feature_loss, total_variation

    flat = torch.full((1, 3, 4, 4), 0.3)
    assert total_variation(flat).item() == 0.0
    stripes = torch.zeros(1, 1, 2, 2)
    stripes[..., :, 1] = 1.0  # columns 0, 1: horizontal differences all 1, vertical all 0
    assert total_variation(stripes).item() == pytest.approx(1.0)
    v = torch.rand(2, 5, 3, 3) + 0.1
    assert torch.allclose(direction_loss(3.0 * v, v), torch.zeros(2), atol=1e-6)  # scale-blind
    assert torch.allclose(feature_loss(2.0 * v, v), torch.ones(2))  # ||v||² / ||v||²


def test_each_attack_gets_only_its_threat_models_view():
    victim = _victim(Identity())
    assert victim.access("white-box").threat == "white-box"
    with pytest.raises(TypeError, match="white-box"):
        attacks.RMLE(iterations=1).fit(victim.oracle())
    with pytest.raises(TypeError, match="query-free"):
        attacks.ShadowAttack().fit(victim.edge())
    with pytest.raises(TypeError, match="black-box"):
        attacks.InverseNetwork().fit(victim.cloud())
    oracle = victim.oracle()
    assert not hasattr(oracle, "module") and not isinstance(oracle, nn.Module)
    x = _images(2).requires_grad_(True)
    assert not oracle(x).requires_grad  # answers, no gradients
    with pytest.raises(ValueError, match="unknown threat model"):
        victim.access("grey-box")


def test_bad_input_is_refused_by_name():
    victim = _victim(Identity(), key="toy/p0/fp32")
    atk = attacks.RMLE(iterations=2)
    with pytest.raises(RuntimeError, match="not fitted"):
        atk.invert(torch.zeros(1, 3, 32, 32))
    atk.fit(victim.edge())
    with pytest.raises(ValueError, match=r"fitted on toy/p0/fp32, whose IR has shape \(3, 32, 32\)"):
        atk.invert(torch.zeros(1, 64, 16, 16))
    with pytest.raises(ValueError, match="fitted on toy/p0/fp32, not on toy/p3/w8a8"):
        atk.check_target("toy/p3/w8a8")
    with pytest.raises(ValueError, match="unknown attack 'dlg'; choose one of rmle"):
        attacks.ATTACKS.entry("dlg")
    with pytest.raises(ValueError, match="unknown split point 'relu99' for cifar10cnn; choose one of conv11"):
        attacks.resolve_point("cifar10cnn", "relu99")
    with pytest.raises(ValueError, match="does not name its partition points"):
        attacks.resolve_point("resnet18", "ReLU22")
    with pytest.raises(ValueError, match="bad rMLE settings"):
        attacks.invert_by_optimisation(Identity(), torch.zeros(1, 3, 32, 32), iterations=0, lr=0.1, tv=0)
    with pytest.raises(ValueError, match="labelled"):
        attacks.ShadowAttack(epochs=1).fit(victim.cloud(), attacks.Aux(_images(2)))


def test_registry_lists_the_three_threat_models():
    assert attacks.ATTACKS.names() == ("rmle", "inverse-network", "shadow")
    assert {attacks.ATTACKS.entry(n).threat for n in attacks.ATTACKS} == set(attacks.THREATS)
    assert attacks.ATTACKS.names(threat="query-free") == ("shadow",)


# --- each attack owns its settings (docs/decisions/layout.md §6) ---------------------------------

def test_each_attack_registers_its_own_settings_with_he_et_al_defaults():
    kinds = {n: attacks.ATTACKS.entry(n).settings for n in attacks.ATTACKS}
    assert kinds == {"rmle": attacks.RMLESettings, "inverse-network": attacks.InverseNetworkSettings,
                     "shadow": attacks.ShadowSettings}
    assert attacks.RMLESettings() == attacks.RMLESettings(iterations=5000, lr=1e-2, tv=1.0, l2=0.0)
    assert attacks.InverseNetworkSettings() == attacks.InverseNetworkSettings(
        query_images=None, epochs=10, batch_size=64, lr=1e-3)
    assert attacks.ShadowSettings() == attacks.ShadowSettings(
        labelled_images=None, epochs=10, lr=3e-3, batch_size=64, rmle_iterations=500, rmle_lr=0.1,
        rmle_tv=1.0, rmle_l2=1.0)
    # the constructors' defaults are the settings' defaults
    assert attacks.build("rmle").config() == attacks.RMLE().config()
    assert attacks.build("shadow", seed=3).config() == attacks.ShadowAttack(seed=3).config()
    assert attacks.build("inverse-network").config() == attacks.InverseNetwork().config()
    # what each asks of the attacker's own data
    assert aux_need(attacks.RMLESettings()) is None and aux_need(None) is None  # no images
    assert attacks.InverseNetworkSettings(query_images=7).aux_need() == attacks.AuxNeed(7, False)
    assert attacks.ShadowSettings().aux_need() == attacks.AuxNeed(None, True)


def test_a_profile_gives_each_attack_its_values():
    from paperlib.method.profiles import get_profile

    quick = get_profile("quick").attack
    assert attacks.settings_for("rmle", quick) == attacks.RMLESettings(iterations=100, lr=0.05)
    assert attacks.settings_for("inverse-network", quick) == attacks.InverseNetworkSettings(
        query_images=1000, epochs=4, batch_size=32)
    assert attacks.settings_for("shadow", quick) == attacks.ShadowSettings(
        labelled_images=256, epochs=3, batch_size=32, rmle_iterations=100)
    # the paper profile: He et al.'s budgets (the defaults) but 30 decoder epochs
    paper = get_profile("paper").attack
    assert attacks.settings_for("rmle", paper) == attacks.RMLESettings()
    assert attacks.settings_for("inverse-network", paper) == attacks.InverseNetworkSettings(epochs=30)
    atk = attacks.build("shadow", quick, seed=2)
    assert (atk.epochs, atk.batch_size, atk.iterations, atk.rmle_lr, atk.seed) == (3, 32, 100, 0.1, 2)


def test_old_attack_settings_fields_name_their_new_place():
    from dataclasses import replace

    from paperlib.method.profiles import AttackSettings, get_profile

    with pytest.raises(TypeError, match=r'AttackSettings.attacks\["rmle"\]\["iterations"\]'):
        AttackSettings(rmle_iterations=10)
    smoke = get_profile("smoke").attack
    with pytest.raises(TypeError, match=r'attacks\["inverse-network"\]\["batch_size"\] and '
                                        r'AttackSettings.attacks\["shadow"\]\["batch_size"\]'):
        replace(smoke, batch_size=8)
    with pytest.raises(AttributeError,
                       match=r'AttackSettings.attacks\["shadow"\]\["labelled_images"\]'):
        smoke.shadow_images  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        smoke.nope  # noqa: B018


def test_bad_attack_settings_are_refused_by_name():
    from paperlib.method.profiles import AttackSettings

    with pytest.raises(ValueError, match=r"AttackSettings.attacks\['rmle'\]: unknown setting\(s\) "
                                         r"iters; RMLESettings has iterations, l2, lr, tv"):
        attacks.build("rmle", AttackSettings(attacks={"rmle": {"iters": 5}}))
    with pytest.raises(ValueError, match="AttackSettings.attacks names 'rmle2', which is not a "
                                         "registered attack; choose among "):
        attacks.build("rmle", AttackSettings(attacks={"rmle2": {"iterations": 5}}))
    with pytest.raises(TypeError, match=r"from a profile's AttackSettings .*from_settings"):
        attacks.build("rmle", attacks.RMLESettings())
    with pytest.raises(ValueError, match="at least one training image"):
        attacks.AuxNeed(0)


@pytest.mark.parametrize("policy,ir_bits", [(32, None), (4, None), (32, 2), (8, 4)])
def test_victim_edge_is_the_deployed_quantized_edge(policy, ir_bits):
    torch.manual_seed(0)
    net = models.build("resnet18", "cifar10").eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    x = _images(2)
    victim = attacks.deploy(net, 3, policy, dataset="cifar10", ir_bits=ir_bits)
    qnet = quant.quantize_edge(net, 3, policy).eval()
    edge, cloud = models.split(qnet, 3)
    with torch.no_grad():
        want = edge(data.normalize(x, "cifar10"))
        bits = attacks.victim.sent_bits(net, 3, policy, ir_bits)
        if ir_bits is not None and bits < attacks.victim.sent_bits(net, 3, policy):
            want = quant.quantize_activation(want, bits)
        got = victim.oracle()(x)
        assert torch.allclose(got, want, atol=1e-5)
        assert torch.allclose(victim.cloud()(got), cloud(want), atol=1e-4)
        # the one-pass IRs of the runner are the same IRs, up to half precision: the runner
        # stores IRs as float16, which moves an element sitting on a rounding boundary of a
        # coarse quantizer by one level now and then
        units = runner.compute_irs(net, policy, [1, 3], (x * 255).round().to(torch.uint8), "cifar10")
        one_pass = runner.as_sent(units[3], net, 3, policy, ir_bits).float()
        exact = victim.oracle()((x * 255).round() / 255)
        off = (one_pass - exact).abs() > 1e-2 * exact.abs().amax()
        assert off.float().mean() < 1e-3
    assert victim.info.ir_shape == (128, 16, 16) and victim.info.ir_nonnegative
    assert victim.info.ir_bits == bits and victim.key == f"resnet18/p3/{attacks.policy_tag(policy, ir_bits)}"
    assert all(torch.equal(v, before[k]) for k, v in net.state_dict().items())  # untouched
    assert not any(p.requires_grad for p in victim.edge().parameters())


def test_cifar10cnn_conv11_ir_is_signed():
    victim = attacks.deploy(models.build("cifar10cnn").eval(), 0, dataset="cifar10")
    assert victim.info.ir_shape == (64, 32, 32) and not victim.info.ir_nonnegative
    assert attacks.ShadowEdge(victim.info.ir_shape, victim.info.ir_nonnegative).net[-1].__class__ is nn.Conv2d


@pytest.mark.parametrize("name", ["cifar10cnn", "vgg11", "resnet18", "mobilenet"])
def test_decoder_and_shadow_shapes_for_every_partition_point(name):
    with torch.device("meta"):
        net = models.build(name, "cifar10").eval()
        shapes = [tuple(o.shape[1:]) for o in models.unit_outputs(net, torch.zeros(1, 3, 32, 32))]
    for shape in shapes:
        ir = torch.rand(2, *shape)
        dec = attacks.build_decoder(ir.shape)
        shadow = attacks.ShadowEdge(shape, nonnegative=True)
        with torch.no_grad():
            out = dec(ir)
            fake = shadow(torch.rand(2, 3, 32, 32))
        assert out.shape == (2, 3, 32, 32) and 0 <= float(out.min()) and float(out.max()) <= 1
        assert fake.shape == (2, *shape) and float(fake.min()) >= 0, (name, shape)


def test_inverse_network_is_deterministic_and_learns():
    low = torch.rand(32, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    x = nn.functional.interpolate(low, size=32, mode="bilinear", align_corners=False)
    edge = nn.Sequential(nn.AvgPool2d(4))  # (3, 8, 8) IRs: the image is a function of the IR
    victim = _victim(edge, ir_shape=(3, 8, 8))
    a = attacks.InverseNetwork(epochs=6, batch_size=8, lr=3e-3).fit(victim.oracle(), attacks.Aux(x))
    b = attacks.InverseNetwork(epochs=6, batch_size=8, lr=3e-3).fit(victim.oracle(), attacks.Aux(x))
    assert a.train_loss == pytest.approx(b.train_loss) and a.train_loss[-1] < 0.5 * a.train_loss[0]
    assert a.fitted_on == "toy/p0/fp32" and a.ir_shape == (3, 8, 8)
    with pytest.raises(ValueError, match="do not come from toy/p0/fp32"):
        attacks.InverseNetwork().fit_pairs(victim.oracle(), torch.zeros(4, 5, 8, 8), x[:4])
    with pytest.raises(ValueError, match="auxiliary images"):
        attacks.InverseNetwork().fit(victim.oracle())


def test_shadow_training_fits_the_frozen_cloud():
    torch.manual_seed(0)
    y = torch.arange(64) % 2  # class 1: bright images, class 0: dark ones
    x = _images(64, seed=3) * 0.5 + 0.5 * y.view(-1, 1, 1, 1)  # a label the cloud can read off
    cloud = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2)).requires_grad_(False)
    with torch.no_grad():
        cloud[2].weight.copy_(torch.tensor([[20.0, 0.0, 0.0, 0.0], [0.0, 20.0, 0.0, 0.0]]))
        cloud[2].bias.zero_()
    victim = _victim(nn.Conv2d(3, 4, 3, padding=1), ir_shape=(4, 32, 32), cloud=cloud)
    atk = attacks.ShadowAttack(epochs=10, lr=3e-3, batch_size=8, iterations=3)
    atk.fit(victim.cloud(), attacks.Aux(x, y))
    losses = atk.details()["train_loss"]
    assert losses[-1] < losses[0] and atk.details()["shadow_accuracy"] > 0.6
    assert atk.invert(torch.rand(2, 4, 32, 32)).shape == (2, 3, 32, 32)


def test_bootstrap_spearman_known_answers():
    x = np.arange(20.0)
    perfect = attack_tables.bootstrap_spearman(x, -x, resamples=200)
    assert perfect["rho"] == pytest.approx(-1.0)
    assert perfect["ci_low"] == pytest.approx(-1.0) and perfect["ci_high"] == pytest.approx(-1.0)
    rng = np.random.default_rng(0)
    noise = attack_tables.bootstrap_spearman(rng.normal(size=200), rng.normal(size=200), resamples=500)
    assert noise["ci_low"] < 0 < noise["ci_high"]
    assert attack_tables.agreement_words(noise["rho"], noise["ci_low"], noise["ci_high"]).startswith("no clear")
    assert attack_tables.agreement_words(-1.0, -1.0, -0.9).startswith("agree")
    y = -x + rng.normal(size=20)
    assert attack_tables.bootstrap_spearman(x, y, seed=4) == attack_tables.bootstrap_spearman(x, y, seed=4)
    assert np.isnan(attack_tables.bootstrap_spearman([1, 1, 1], [1, 2, 3])["rho"])


def test_proxy_agreement_discordant_pairs_and_strongest():
    import pandas as pd

    good = pd.DataFrame({"model": "a", "p": [0, 1, 2], "privacy": [0.5, 1.0, 1.5],
                         "ssim": [0.6, 0.4, 0.2], "psnr": [20.0, 15.0, 12.0]})
    bad = pd.DataFrame({"model": "b", "p": [0, 1, 2], "privacy": [0.5, 1.0, 1.5],
                        "ssim": [0.6, 0.4, 0.7], "psnr": [20.0, 15.0, 21.0]})
    df = attack_tables.proxy_agreement(pd.concat([good, bad], ignore_index=True))
    a, b = df.set_index("model").loc["a"], df.set_index("model").loc["b"]
    assert a["rho_ssim"] == pytest.approx(-1.0) and a["discordant_pairs"] == 0
    assert b["rho_ssim"] == pytest.approx(0.5) and b["discordant_fraction"] == pytest.approx(2 / 3)
    pairs = attack_tables.discordant_pairs(bad.assign(name=["p0", "p1", "p2"]), label="name")
    assert pairs[["more_private", "less_private"]].values.tolist() == [["p2", "p1"], ["p2", "p0"]]
    three = pd.DataFrame({"model": "m", "p": [0, 0, 1, 1], "attack": ["x", "y", "x", "y"],
                          "ssim": [0.2, 0.5, 0.4, 0.1]})
    top = attack_tables.strongest(three)
    assert top["attack"].tolist() == ["y", "x"] and top["ssim"].tolist() == [0.5, 0.4]


def test_spread_points_and_labels():
    assert attacks.spread_points(8, 3) == [0, 4, 8]
    assert attacks.spread_points(8, None) == list(range(9))
    assert attacks.spread_points(16, 5) == [0, 4, 8, 12, 16]
    with pytest.raises(ValueError):
        attacks.spread_points(8, 0)
    assert attacks.point_label("cifar10cnn", 8) == "ReLU22" and attacks.point_label("resnet18", 3) == "p3"
    assert attacks.resolve_points("cifar10cnn", ["conv11", "relu22", 13, "ReLU32"]) == [0, 8, 13]


def test_policy_tags():
    assert attacks.policy_tag(32) == "fp32" and attacks.policy_tag(8) == "w8a8"
    assert attacks.policy_tag(32, 4) == "fp32-ir4" and attacks.policy_tag(32, 32) == "fp32"
    a = attacks.policy_tag([(32, 32), (8, 8), (4, 8)])
    assert a.startswith("mixed-") and a != attacks.policy_tag([(32, 32), (8, 8), (2, 8)])


def test_study_points_and_policies():
    from paperlib.studies import nb08_attacks
    from paperlib.method.genome import Genome, GenomeSpace, key

    net = models.build("cifar10cnn").eval()
    assert nb08_attacks.reported_points("cifar10cnn") == [0, 8, 13]
    assert nb08_attacks.sweep_points("cifar10cnn", net, 2) == [0, 8, 13, 14]
    assert nb08_attacks.policy_points("cifar10cnn", net) == [8, 13]  # conv11 has nothing to quantize
    assert nb08_attacks.policy_points("cifar10cnn", net, 1) == [8]
    pols = nb08_attacks.random_policies(net, 8, 6, seed=1)
    space = GenomeSpace.from_net(net)
    keys = {key(Genome(8, tuple(map(tuple, pol))), space) for pol in pols}
    assert len(pols) == 6 == len(keys)  # distinct on the edge
    assert pols == nb08_attacks.random_policies(net, 8, 6, seed=1)  # deterministic
    assert len(nb08_attacks.random_policies(net, 0, 5)) == 1  # the stem alone: one policy only


def test_policy_correlation_and_findings_words():
    import pandas as pd
    from paperlib.studies import nb08_attacks

    p = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    rows = [{"model": "cifar10cnn", "split": "ReLU22", "attack": "rmle", "privacy": v,
             "ssim": 1 - v, "psnr": 20 - v} for v in p]  # P up, SSIM down: agreement
    rows += [{"model": "cifar10cnn", "split": "ReLU22", "attack": "shadow", "privacy": v,
              "ssim": v, "psnr": v} for v in p]  # P up, SSIM up: disagreement
    corr = nb08_attacks.policy_correlation(pd.DataFrame(rows), resamples=300)
    by = corr.set_index("attack")
    assert by.loc["rmle", "rho_ssim"] == pytest.approx(-1) and by.loc["rmle", "verdict"].startswith("agree")
    assert by.loc["shadow", "ci_low"] > 0 and by.loc["shadow", "verdict"].startswith("disagree")
    lines = nb08_attacks.policy_lines(corr)
    assert any(line.startswith("* **Where P and the attacks disagree**") and "query-free" in line
               for line in lines)
    few = nb08_attacks.policy_correlation(pd.DataFrame(rows[:3]), resamples=100)
    assert few.loc[0, "verdict"].startswith("too few policies")
