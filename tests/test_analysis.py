"""paperlib.studies.analysis: the privacy frames behind Fig. 3, 4, 5, 7, 8 agree with paperlib.method.privacy
applied by hand, and the trend statistics give known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from paperlib.studies import analysis
from paperlib.method import data, models, privacy, quant

DATASET = "cifar10"


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    """Four smooth-ish random images in [0, 1] (no data files needed)."""
    g = torch.Generator().manual_seed(0)
    coarse = torch.rand(4, 3, 8, 8, generator=g)
    return nn.functional.interpolate(coarse, size=(32, 32), mode="bilinear", align_corners=False).clamp(0, 1)


@pytest.fixture(scope="module", params=["vgg11", "resnet18", "mobilenet"])
def net(request) -> nn.Module:
    torch.manual_seed(0)
    return models.build(request.param, DATASET).eval()


@pytest.fixture(scope="module")
def vgg() -> nn.Module:
    torch.manual_seed(0)
    return models.build("vgg11", DATASET).eval()


def test_conv_layer_table_follows_the_models_conv_layers(net):
    table = analysis.conv_layer_table(net)
    convs = [name for unit in models.unit_layers(net) for name, m in unit if isinstance(m, nn.Conv2d)]
    assert list(table["layer"]) == convs
    assert list(table["depth"]) == list(range(1, len(convs) + 1))
    assert table["unit"].is_monotonic_increasing and table["unit"].iloc[0] == 0
    if net.arch_name == "resnet18":
        assert (table["kind"] == "shortcut").sum() == 3
    if net.arch_name == "mobilenet":
        assert (table["kind"] == "depthwise").sum() == 13 == (table["kind"] == "pointwise").sum()
    if net.arch_name == "resnet50":  # 1x1 convs that follow no depthwise conv are plain convs
        assert not (table["kind"] == "pointwise").any()


def test_layerwise_privacy_equals_privacy_of_the_raw_conv_output(vgg, images):
    every = analysis.layerwise_privacy(vgg, images, DATASET, batch_size=3)
    assert len(every) == len(analysis.conv_layer_table(vgg)) * len(images)
    assert set(every["dist"]) == {"mse"}
    df = analysis.layerwise_privacy(vgg, images, DATASET, dists=("mse", "ssim"), batch_size=3,
                                    layers=["stem.0", "blocks.3.0"])
    assert len(df) == 2 * 2 * len(images)
    assert list(df["dist"].unique()) == ["mse", "ssim"]
    assert {"layer", "depth", "unit", "kind", "label", "channels", "size", "dist", "image",
            "privacy", "channel"} <= set(df.columns)
    outs = models.layer_outputs(vgg, data.normalize(images, DATASET))
    for layer in ("stem.0", "blocks.3.0"):
        for d in ("mse", "ssim"):
            ref = privacy.privacy_details(images, outs[layer], dist=d)
            got = df[(df["layer"] == layer) & (df["dist"] == d)].sort_values("image")
            np.testing.assert_allclose(got["privacy"], ref.per_image.numpy(), rtol=1e-5, atol=1e-9)
            np.testing.assert_array_equal(got["channel"], ref.argmin.numpy())
            assert got["channels"].iloc[0] == outs[layer].shape[1]


def test_layer_selection_by_count_and_name(vgg, images):
    first = analysis.layerwise_privacy(vgg, images[:2], DATASET, layers=2)
    assert list(first["label"].unique()) == ["conv1", "conv2"]
    named = analysis.layerwise_privacy(vgg, images[:2], DATASET, layers=["blocks.1.0"])
    assert list(named["depth"].unique()) == [3]
    with pytest.raises(ValueError, match="not conv layers"):
        analysis.layerwise_privacy(vgg, images[:2], DATASET, layers=["nope"])


def test_blockwise_privacy_at_p_equals_privacy_of_unit_output_p(net, images):
    images = images[:2]
    df = analysis.blockwise_privacy(net, images, DATASET, batch_size=len(images))
    n = models.num_units(net)
    assert sorted(df["point"].unique()) == list(range(n + 1))
    assert len(df) == (n + 1) * len(images)
    outs = models.unit_outputs(net, data.normalize(images, DATASET))
    for p in (0, n // 2, n):
        got = df[df["point"] == p].sort_values("image")
        assert got["privacy"].mean() == pytest.approx(privacy.privacy(images, outs[p]), rel=1e-6)
        assert (got["conv_layers"] == models.edge_layer_count(net, p)).all()
        assert (got["depth"] == p).all()


def test_batching_does_not_change_the_result(vgg, images):
    a = analysis.blockwise_privacy(vgg, images[:3], DATASET, batch_size=3)
    b = analysis.blockwise_privacy(vgg, images[:3], DATASET, batch_size=1)
    pd.testing.assert_frame_equal(a, b, rtol=1e-5)  # float32 convs differ by batch size in the last bits


def test_quantized_ir_at_32_bits_equals_full_precision(vgg, images):
    points = [0, 3]
    q = analysis.quantized_ir_privacy(vgg, images, DATASET, points, bits=(2, 8, 32))
    fp = analysis.blockwise_privacy(vgg, images, DATASET)
    assert len(q) == len(points) * 3 * len(images)
    for p in points:
        got = q[(q["point"] == p) & (q["bits"] == 32)].sort_values("image")["privacy"].to_numpy()
        ref = fp[fp["point"] == p].sort_values("image")["privacy"].to_numpy()
        np.testing.assert_array_equal(got, ref)
    # and b bits is exactly privacy of quant.quantize_activation(IR, b)
    outs = models.unit_outputs(vgg, data.normalize(images, DATASET))
    ref2 = privacy.privacy_details(images, quant.quantize_activation(outs[3], 2)).per_image.numpy()
    got2 = q[(q["point"] == 3) & (q["bits"] == 2)].sort_values("image")["privacy"].to_numpy()
    np.testing.assert_allclose(got2, ref2, rtol=1e-12)


def test_quantized_ir_rejects_bad_points_and_bits(vgg, images):
    with pytest.raises(ValueError):
        analysis.quantized_ir_privacy(vgg, images[:1], DATASET, [99])
    with pytest.raises(ValueError):
        analysis.quantized_ir_privacy(vgg, images[:1], DATASET, [0], bits=(3.5,))


def test_kl_needs_a_classifier_and_runs_with_one(vgg, images):
    with pytest.raises(ValueError, match="classifier"):
        analysis.layerwise_privacy(vgg, images[:1], DATASET, dists=("kl",))
    df = analysis.layerwise_privacy(vgg, images[:1], DATASET, dists=("kl",), layers=1,
                                    classifier=analysis.classifier(vgg, DATASET))
    assert len(df) == 1 and df["privacy"].iloc[0] >= 0


def test_closest_channel_images_are_the_argmin_channels(vgg, images):
    cc = analysis.closest_channel_images(vgg, images[:3], DATASET, layers=2)
    assert cc.images.shape == (3, 2, 32, 32) and cc.gray.shape == (3, 32, 32)
    assert cc.images.min() >= 0 and cc.images.max() <= 1
    df = analysis.layerwise_privacy(vgg, images[:3], DATASET, layers=2)
    np.testing.assert_array_equal(cc.channel[:, 0], df[df["depth"] == 1]["channel"])
    np.testing.assert_allclose(cc.privacy[:, 1], df[df["depth"] == 2]["privacy"], rtol=1e-12)
    np.testing.assert_allclose(cc.gray, privacy.grayscale(images[:3]).numpy())


def test_spearman_and_monotonicity_known_answers():
    assert analysis.spearman([1, 2, 3, 4], [0.1, 0.5, 0.7, 3.0])[0] == pytest.approx(1.0)
    assert analysis.spearman([1, 2, 3, 4], [4, 3, 2, 1])[0] == pytest.approx(-1.0)
    assert np.isnan(analysis.spearman([1, 2, 3], [2, 2, 2])[0])
    assert analysis.increasing_fraction([1, 2, 3, 4]) == 1.0
    assert analysis.increasing_fraction([1, 3, 2, 4, 3]) == 0.5


def test_depth_correlation_on_a_tidy_frame():
    rows = []
    for depth, (a, b) in enumerate([(0.1, 0.9), (0.2, 0.5), (0.4, 0.7), (0.8, 0.1)], start=1):
        for image, noise in enumerate((-0.01, 0.01)):
            rows.append({"dist": "mse", "depth": depth, "image": image, "privacy": a + noise})
            rows.append({"dist": "ssim", "depth": depth, "image": image, "privacy": b + noise})
    df = pd.DataFrame(rows)
    trend = analysis.depth_correlation(df, by=["dist"]).set_index("dist")
    assert trend.loc["mse", "rho"] == pytest.approx(1.0)
    assert trend.loc["mse", "increasing_steps"] == 1.0
    assert trend.loc["ssim", "rho"] == pytest.approx(-0.8)  # ranks 4 2 3 1
    assert trend.loc["mse", "points"] == 4
    agree = analysis.metric_correlation(df)
    assert list(agree[["dist_a", "dist_b"]].iloc[0]) == ["mse", "ssim"]
    assert agree["rho"].iloc[0] == pytest.approx(-0.8)


def test_summarise_and_normalise_to_max():
    df = pd.DataFrame({"dist": ["mse"] * 4 + ["kl"] * 4, "depth": [1, 1, 2, 2] * 2,
                       "privacy": [1.0, 3.0, 4.0, 4.0, 0.1, 0.1, 0.3, 0.5]})
    s = analysis.summarise(df, ["dist", "depth"])
    assert list(s["dist"]) == ["mse", "mse", "kl", "kl"]  # privacy.DISTANCES order
    first = s.iloc[0]
    assert (first["mean"], first["n"], first["median"]) == (2.0, 2, 2.0)
    assert first["sd"] == pytest.approx(np.sqrt(2.0))
    assert first["sem"] == pytest.approx(1.0)
    n = analysis.normalise_to_max(s).set_index(["dist", "depth"])
    assert n.loc[("mse", 2), "mean"] == 1.0 and n.loc[("mse", 1), "mean"] == 0.5
    assert n.loc[("kl", 2), "mean"] == pytest.approx(1.0)
    assert n.loc[("mse", 1), "sd"] == pytest.approx(np.sqrt(2.0) / 4)


def test_bits_effect_pairs_images_with_the_reference():
    df = pd.DataFrame({"point": 0, "image": [0, 1, 0, 1], "bits": [2, 2, 32, 32],
                       "privacy": [0.5, 0.2, 0.3, 0.4]})
    e = analysis.bits_effect(df).set_index("bits")
    assert e.loc[2, "diff_vs_ref"] == pytest.approx(0.0)  # (+0.2 - 0.2) / 2
    assert e.loc[2, "frac_higher"] == 0.5
    assert e.loc[32, "diff_vs_ref"] == 0.0 and e.loc[32, "frac_higher"] == 0.0


def test_pick_points_skip_one_pixel_irs(net):
    points = analysis.pick_points(net, 3)
    sizes = analysis.unit_output_sizes(net)
    assert points[0] == 0 and len(points) == 3 and points == sorted(points)
    assert all(sizes[p] >= 2 for p in points)
    if net.arch_name == "vgg11":
        assert sizes[-1] == 1 and points[-1] == models.num_units(net) - 1


def test_trend_words_cover_the_range():
    assert "monotone" in analysis.trend_words(1.0)
    assert "clear" in analysis.trend_words(0.8)
    assert "no clear" in analysis.trend_words(0.0)
    assert "decreasing" in analysis.trend_words(-0.9)
    assert "constant" in analysis.trend_words(float("nan"))


def test_bad_inputs_are_refused(vgg, images):
    with pytest.raises(ValueError, match="unknown distance"):
        analysis.layerwise_privacy(vgg, images[:1], DATASET, dists=("l1",))
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        analysis.blockwise_privacy(vgg, images[0], DATASET)


def test_a_network_in_training_mode_is_refused(images):
    net = models.build("vgg11", DATASET)  # train mode
    with pytest.raises(ValueError, match="eval"):
        analysis.blockwise_privacy(net, images[:1], DATASET)
