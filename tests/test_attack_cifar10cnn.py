"""He et al.'s reference network ``cifar10cnn``: its layers, its split names as partition points,
and that the package's machinery (energy, privacy, quantization, split) treats it like any model."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from paperlib.method import energy, models, privacy, quant
from paperlib.method.constants import FULL_PRECISION
from paperlib.method.models import cifar10cnn as he

NAMES = ["conv11", "ReLU11", "conv12", "ReLU12", "pool1", "conv21", "ReLU21", "conv22", "ReLU22",
         "pool2", "conv31", "ReLU31", "conv32", "ReLU32", "pool3"]


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return models.build("cifar10cnn").eval()


def test_registered_with_its_split_names(net):
    entry = models.MODELS.entry("cifar10cnn")
    assert entry.dataset == "cifar10" and entry.family == "cifar10cnn"
    assert list(entry.split_names) == NAMES == list(he.SPLIT_NAMES)
    assert tuple(entry.attack_points) == ("conv11", "ReLU22", "ReLU32")
    assert models.num_units(net) == len(NAMES) - 1


def test_names_and_points_map_both_ways():
    for p, name in enumerate(NAMES):
        assert he.split_point(name) == p and he.split_name(p) == name
        assert he.split_point(name.lower()) == p and he.split_point(name.upper()) == p
    assert he.split_point(8) == 8
    with pytest.raises(ValueError, match="unknown split point 'relu23' for cifar10cnn; choose one of conv11, ReLU11"):
        he.split_point("relu23")
    with pytest.raises(ValueError, match="out of range"):
        he.split_name(15)


def test_layers_shapes_and_the_ir_at_every_split(net):
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [
        (3, 64), (64, 64), (64, 128), (128, 128), (128, 128), (128, 128)]
    assert all(c.kernel_size == (3, 3) and c.padding == (1, 1) for c in convs)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    fc = [m for m in net.head if isinstance(m, nn.Linear)]
    assert [(f.in_features, f.out_features) for f in fc] == [(2048, 512), (512, 10)]
    assert isinstance(net.head[2], nn.Sigmoid)
    x = torch.rand(2, 3, 32, 32)
    outs = models.unit_outputs(net, x)
    want = {"conv11": (64, 32, 32), "ReLU12": (64, 32, 32), "pool1": (64, 16, 16),
            "ReLU22": (128, 16, 16), "pool2": (128, 8, 8), "ReLU32": (128, 8, 8), "pool3": (128, 4, 4)}
    for name, shape in want.items():
        assert tuple(outs[he.split_point(name)].shape[1:]) == shape, name
    assert (outs[he.split_point("ReLU22")] >= 0).all() and (outs[he.split_point("conv11")] < 0).any()
    # a ReLU unit's output is the ReLU of the previous unit's output: nothing was overwritten
    assert torch.equal(outs[1], outs[0].clamp(min=0))
    edge, cloud = models.split(net, he.split_point("ReLU22"))
    with torch.no_grad():
        assert torch.equal(cloud(edge(x)), net(x))


def test_energy_counts_the_conv_layers(net):
    layers = models.quantizable_layers(net)
    assert len(layers) == 8  # six convolutions and two fully connected layers
    assert [models.edge_layer_count(net, he.split_point(n)) for n in ("conv11", "ReLU12", "ReLU22", "pool3")] == [1, 2, 4, 6]
    table = energy.layer_table(net, he.split_point("pool3"), 8).set_index("name")
    assert table.loc["blocks.1", "N_MAC"] == 64 * 64 * 9 * 32 * 32  # conv12: K² C_in C_out H W
    assert table.loc["blocks.6", "N_MAC"] == 128 * 128 * 9 * 16 * 16  # conv22
    assert list(table.index) == ["stem", "blocks.1", "blocks.4", "blocks.6", "blocks.9", "blocks.11"]
    # a ReLU or pool unit adds no compute: only the IR it sends (E_T) changes the energy
    e = [energy.edge_energy(net, he.split_point(n), FULL_PRECISION, transmission=False)
         for n in ("conv12", "ReLU12", "pool1")]
    assert e[0] == pytest.approx(e[1]) and e[1] == pytest.approx(e[2])
    with_tx = [energy.edge_energy(net, he.split_point(n), FULL_PRECISION) for n in ("ReLU12", "pool1")]
    assert with_tx[0] > with_tx[1]  # pool1 sends a quarter of ReLU12's elements


def test_privacy_and_quantization_run_on_it(net):
    x = torch.rand(2, 3, 32, 32)
    outs = models.unit_outputs(net, x)
    assert 0 <= float(privacy.privacy(x, outs[he.split_point("ReLU22")])) <= 4
    qnet = quant.quantize_edge(net, he.split_point("ReLU22"), 4)
    edge, _ = models.split(qnet, he.split_point("ReLU22"))
    with torch.no_grad():
        ir = edge(x)
    levels = torch.unique(ir[0] / ir[0].max())
    assert len(levels) <= 2 ** 4  # the IR leaves at the policy's 4 bits
