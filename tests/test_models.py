"""paperlib.method.models: layer and unit counts (docs/decisions/paper-method.md §1) and exact edge/cloud
composition."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from paperlib.method import models

# model: (partition units after the stem, conv layers incl. stem, quantizable layers incl. fc)
COUNTS = {"vgg11": (7, 8, 9), "resnet18": (8, 20, 21), "resnet50": (16, 53, 54), "mobilenet": (13, 27, 28)}


@pytest.fixture(scope="module", params=list(COUNTS))
def net(request):
    torch.manual_seed(0)
    return models.build(request.param).eval()


def test_counts(net):
    n_units, n_conv, n_quant = COUNTS[net.arch_name]
    layers = models.quantizable_layers(net)
    assert models.num_units(net) == n_units
    assert len(models.units(net)) == n_units + 1
    assert sum(isinstance(m, nn.Conv2d) for _, m in layers) == n_conv
    assert len(layers) == n_quant and isinstance(layers[-1][1], nn.Linear)
    assert [n for n, _ in layers[:-1]] == [n for unit in models.unit_layers(net) for n, _ in unit]
    assert models.edge_layer_count(net, 0) == 1
    assert models.edge_layer_count(net, n_units) == n_conv


def test_split_composes_to_the_whole_model_bit_for_bit(net):
    x = torch.randn(2, 3, 32, 32)
    full = net(x)
    for p in range(models.num_units(net) + 1):
        edge, cloud = models.split(net, p)
        assert torch.equal(cloud(edge(x)), full), f"p={p}"


def test_split_rejects_bad_points(net):
    with pytest.raises(ValueError, match=r"0\.\.\d+"):
        models.split(net, models.num_units(net) + 1)
    with pytest.raises(ValueError):
        models.split(net, -1)


def test_unit_outputs_are_the_edge_outputs(net):
    x = torch.randn(1, 3, 32, 32)
    outs = models.unit_outputs(net, x)
    for p in (0, models.num_units(net)):
        assert torch.equal(outs[p], models.split(net, p)[0](x))


def test_layer_outputs_cover_every_edge_conv(net):
    outs = models.layer_outputs(net, torch.randn(1, 3, 32, 32))
    assert len(outs) == COUNTS[net.arch_name][1]


@pytest.mark.parametrize("name,block_layers", [
    ("resnet18", [2, 2, 3, 2, 3, 2, 3, 2]),  # shortcut 1x1 convs in blocks 3, 5, 7 (1-based)
    ("resnet50", [4, 3, 3, 4, 3, 3, 3, 4, 3, 3, 3, 3, 3, 4, 3, 3]),
])
def test_resnet_block_layers(name, block_layers):
    net = models.build(name)
    assert [len(u) for u in models.unit_layers(net)[1:]] == block_layers


def test_class_count_follows_dataset():
    assert models.build("resnet18", "cifar10").head[-1].out_features == 10
    assert models.build("resnet18").head[-1].out_features == 100
    assert models.build("vgg11").head[-1].out_features == 10
    with pytest.raises(ValueError, match="vgg11, resnet18"):
        models.build("alexnet")
