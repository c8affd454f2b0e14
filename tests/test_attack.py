"""Tests of the learned inversion attack (paperlib.attack): decoder shapes for every model and
partition point, the SSIM/PSNR metrics, that training reduces the reconstruction loss, that the
one-pass IRs equal the quantized edge's, and that results are cached."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from paperlib import attack, models, quant
from paperlib.constants import FULL_PRECISION
from paperlib.profiles import AttackSettings


@pytest.fixture(autouse=True)
def one_thread():
    """Small CPU workloads run many times faster on one thread when the cores are shared."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.mark.parametrize("name", ["vgg11", "resnet18", "resnet50", "mobilenet"])
def test_decoder_output_shape_for_every_partition_point(name):
    with torch.device("meta"):  # shapes only
        net = models.build(name, "cifar10").eval()
        shapes = [o.shape[1:] for o in models.unit_outputs(net, torch.zeros(2, 3, 32, 32))]
    assert len(shapes) == models.num_units(net) + 1
    for p, shape in enumerate(shapes):
        ir = torch.rand(2, *shape)
        dec = attack.build_decoder(ir.shape)
        assert dec.n_up == int(np.log2(32 // ir.shape[-1]))
        with torch.no_grad():
            out = dec(ir)
        assert out.shape == (2, 3, 32, 32), (name, p)
        assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    with pytest.raises(ValueError):
        attack.build_decoder((8, 4, 2))


def test_decoder_widths_shrink_while_upsampling():
    dec = attack.build_decoder((512, 2, 2))
    ups = [m for m in dec.net if isinstance(m, torch.nn.ConvTranspose2d)]
    assert len(ups) == 4 and all(m.stride == (2, 2) for m in ups)
    widths = [m.out_channels for m in ups]
    assert widths == sorted(widths, reverse=True)
    assert isinstance(dec.net[-1], torch.nn.Sigmoid)
    assert attack.build_decoder((3, 32, 32)).n_up == 0


def test_metrics_on_identical_and_different_images():
    from skimage.metrics import structural_similarity

    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 32, 32, generator=g)
    y = (x + 0.1 * torch.randn(4, 3, 32, 32, generator=g)).clamp(0, 1)
    assert torch.allclose(attack.ssim(x, x), torch.ones(4, dtype=torch.float64))
    assert torch.isinf(attack.psnr(x, x)).all()
    ref = [structural_similarity(x[i].double().numpy(), y[i].double().numpy(), channel_axis=0,
                                 gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                 data_range=1.0) for i in range(4)]
    assert np.allclose(attack.ssim(x, y).numpy(), ref, atol=1e-10)
    mse = ((x - y) ** 2).mean(dim=(1, 2, 3)).double()
    assert torch.allclose(attack.psnr(x, y), 10 * torch.log10(1 / mse))
    assert (attack.ssim(x, y) < 1).all() and (attack.psnr(x, y) < 40).all()
    with pytest.raises(ValueError):
        attack.ssim(x, y[:2])


def test_training_reduces_the_reconstruction_loss():
    g = torch.Generator().manual_seed(1)
    low = torch.rand(32, 3, 8, 8, generator=g)
    x = torch.nn.functional.interpolate(low, size=32, mode="bilinear", align_corners=False)
    ir = torch.cat([low, 1 - low], 1)  # (32, 6, 8, 8): the image is a function of the IR
    torch.manual_seed(0)
    dec = attack.build_decoder(ir.shape)
    losses = attack.train_decoder(dec, ir, x, epochs=6, batch_size=8, lr=3e-3)
    assert len(losses) == 6 and losses[-1] < 0.5 * losses[0]
    torch.manual_seed(0)
    again = attack.train_decoder(attack.build_decoder(ir.shape), ir, x, epochs=6, batch_size=8,
                                 lr=3e-3)
    assert again == pytest.approx(losses)  # deterministic for a seed
    metrics = attack.evaluate_reconstruction(dec, ir, x)
    assert set(metrics) >= {"ssim", "psnr", "mse"} and metrics["mse"] < losses[0]


def test_one_pass_irs_equal_the_quantized_edge():
    torch.manual_seed(0)
    net = models.build("resnet18", "cifar10").eval()
    images = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    qnet = quant.quantize_edge(net, 5, 4).eval()
    irs = attack.compute_unit_irs(qnet, [2, 5], images, "cifar10", dtype=torch.float32)
    for p in (2, 5):
        edge = attack.edge_model(net, p, 4)
        with torch.no_grad():
            want = edge(attack.data.normalize(images, "cifar10"))
        got = quant.quantize_activation(irs[p], 4)
        assert torch.allclose(got, want, atol=1e-5), p


def test_policy_tags():
    assert attack.policy_tag(32) == "fp32"
    assert attack.policy_tag(8) == "w8a8"
    assert attack.policy_tag(32, 4) == "fp32-ir4"
    assert attack.policy_tag(32, FULL_PRECISION) == "fp32"
    a = attack.policy_tag([(32, 32), (8, 8), (4, 8)])
    assert a.startswith("mixed-") and a != attack.policy_tag([(32, 32), (8, 8), (2, 8)])


def test_attack_is_cached_and_reused(real_data_dir, results_root):
    from paperlib import train

    net, meta = train.load_or_train("resnet18", "smoke", allow_partial=True, progress=False)
    tiny = AttackSettings(train_images=32, test_images=8, epochs=1, batch_size=16)
    kw = dict(net=net, meta=meta, settings=tiny, progress=False, allow_partial=True)
    first = attack.run_attacks("resnet18", "smoke", [0, 3], 32, ir_bits={3: [None, 2]}, **kw)
    assert [(r.p, r.tag) for r in first] == [(0, "fp32"), (3, "fp32"), (3, "fp32-ir2")]
    paths = sorted(results_root.rglob("attacks/*"))
    assert len(paths) == 6  # .json + .pt per attack
    assert all(p.name.startswith("resnet18-p") for p in paths)
    r = first[1]
    assert r.ir_shape == [128, 16, 16] and r.ir_bits == FULL_PRECISION and first[2].ir_bits == 2
    assert 0 <= r.ssim <= 1 and np.isfinite(r.psnr) and r.privacy > 0
    assert r.test_images == 8 and len(r.train_loss) == 1
    mtimes = [p.stat().st_mtime_ns for p in paths]
    again = attack.run_attack("resnet18", "smoke", 3, 32, **kw)
    assert again.ssim == r.ssim and again.train_loss == r.train_loss
    assert [p.stat().st_mtime_ns for p in paths] == mtimes  # reused, not retrained
    originals, recon = attack.load_samples(again)
    assert originals.shape == recon.shape == (8, 3, 32, 32)
    assert attack.load_decoder(again)(torch.zeros(1, 128, 16, 16)).shape == (1, 3, 32, 32)
    other = attack.run_attack("resnet18", "smoke", 3, 32,
                              **{**kw, "settings": AttackSettings(32, 8, 2, 16)})
    assert len(other.train_loss) == 2  # other settings: retrained, cache replaced
    assert [p.stat().st_mtime_ns for p in paths] != mtimes


def test_spread_points():
    assert attack.spread_points(8, 3) == [0, 4, 8]
    assert attack.spread_points(8, None) == list(range(9))
    assert attack.spread_points(8, 20) == list(range(9))
    assert attack.spread_points(16, 5) == [0, 4, 8, 12, 16]
    assert attack.spread_points(8, 1) == [8]
    with pytest.raises(ValueError):
        attack.spread_points(8, 0)


def test_proxy_agreement_and_discordant_pairs():
    import pandas as pd

    # the proxy ranks the three IRs exactly opposite to the leakage: perfect agreement
    good = pd.DataFrame({"model": "a", "p": [0, 1, 2], "privacy": [0.5, 1.0, 1.5],
                         "ssim": [0.6, 0.4, 0.2], "psnr": [20.0, 15.0, 12.0]})
    # here the most "private" IR (p=2) leaks most: pairs (2, 0) and (2, 1) are discordant
    bad = pd.DataFrame({"model": "b", "p": [0, 1, 2], "privacy": [0.5, 1.0, 1.5],
                        "ssim": [0.6, 0.4, 0.7], "psnr": [20.0, 15.0, 21.0]})
    df = attack.proxy_agreement(pd.concat([good, bad], ignore_index=True))
    a, b = df.set_index("model").loc["a"], df.set_index("model").loc["b"]
    assert a["rho_ssim"] == pytest.approx(-1.0) and a["rho_psnr"] == pytest.approx(-1.0)
    assert a["discordant_pairs"] == 0 and a["discordant_fraction"] == 0.0 and a["comparable_pairs"] == 3
    assert b["rho_ssim"] == pytest.approx(0.5) and b["discordant_pairs"] == 2
    assert b["discordant_fraction"] == pytest.approx(2 / 3)
    pairs = attack.discordant_pairs(bad.assign(name=["p0", "p1", "p2"]), label="name")
    assert pairs[["more_private", "less_private"]].values.tolist() == [["p2", "p1"], ["p2", "p0"]]
    assert pairs["leak_gap"].tolist() == pytest.approx([0.3, 0.1])
    assert pairs["proxy_gap"].tolist() == pytest.approx([0.5, 1.0])


def test_ssim_difference():
    def result(s, sd, n):
        return attack.AttackResult(model="m", profile="x", p=0, tag="fp32", policy=32, ir_bits=32,
                                   ir_shape=[1, 1, 1], ssim=s, ssim_sd=sd, psnr=0.0, psnr_sd=0.0,
                                   mse=0.0, privacy=0.0, train_loss=[], baseline_ssim=0.0,
                                   train_images=1, test_images=n, seconds=0.0, decoder="", data="")

    d, se = attack.ssim_difference(result(0.5, 0.3, 100), result(0.3, 0.4, 100))
    assert d == pytest.approx(0.2) and se == pytest.approx(0.05)  # sqrt(0.09/100 + 0.16/100)


def test_results_frame_adds_the_gain_over_the_mean_image():
    r = attack.AttackResult(model="m", profile="x", p=3, tag="fp32", policy=32, ir_bits=32,
                            ir_shape=[8, 4, 4], ssim=0.5, ssim_sd=0.1, psnr=18.0, psnr_sd=1.0,
                            mse=0.02, privacy=1.2, train_loss=[0.1], baseline_ssim=0.2,
                            train_images=4, test_images=2, seconds=1.0, decoder="", data="")
    df = attack.results_frame([r])
    assert df.loc[0, "ssim_gain"] == pytest.approx(0.3) and df.loc[0, "ir_shape"] == "8x4x4"


def test_points_setting_does_not_invalidate_the_cache():
    from paperlib import data

    ds = data.CifarArrays("cifar10", "test", torch.zeros(2, 3, 32, 32, dtype=torch.uint8),
                          torch.zeros(2, dtype=torch.long), False, ())
    a = attack._fingerprint(AttackSettings(points=3), 32, None, "cifar10", {}, ds, ds)
    b = attack._fingerprint(AttackSettings(points=None), 32, None, "cifar10", {}, ds, ds)
    c = attack._fingerprint(AttackSettings(epochs=2), 32, None, "cifar10", {}, ds, ds)
    assert a == b and a != c
