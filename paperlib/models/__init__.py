"""CIFAR models and their partition units (SPEC §1 and §7).

Every model has three parts: ``stem`` (always on the edge), ``blocks`` (the partition units, in
order) and ``head`` (the classifier, always in the cloud). A partition point ``p`` puts the stem and
the first ``p`` blocks on the edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from .mobilenet import MobileNet
from .resnet import resnet18, resnet50
from .vgg import VGG11


@dataclass(frozen=True)
class Architecture:
    name: str
    factory: Callable[[int], nn.Module]
    dataset: str  # the paper's data set for this model
    unit_name: str  # what one partition unit is called


ARCHITECTURES: dict[str, Architecture] = {
    "vgg11": Architecture("vgg11", lambda k: VGG11(k), "cifar10", "conv layer"),
    "resnet18": Architecture("resnet18", resnet18, "cifar100", "BasicBlock"),
    "resnet50": Architecture("resnet50", resnet50, "cifar100", "Bottleneck"),
    "mobilenet": Architecture("mobilenet", lambda k: MobileNet(k), "cifar100", "DW-separable block"),
}
NUM_CLASSES = {"cifar10": 10, "cifar100": 100}
QUANTIZABLE = (nn.Conv2d, nn.Linear)


def architecture(name: str) -> Architecture:
    """Look up a model by name, with an error that lists the known ones."""
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise ValueError(
            f"unknown model {name!r}; choose one of {', '.join(ARCHITECTURES)}"
        ) from None


def build(name: str, dataset: str | None = None, num_classes: int | None = None) -> nn.Module:
    """A freshly initialised model; its class count follows ``dataset`` (default: the paper's)."""
    arch = architecture(name)
    dataset = dataset or arch.dataset
    if num_classes is None:
        if dataset not in NUM_CLASSES:
            raise ValueError(f"unknown dataset {dataset!r}; choose one of {', '.join(NUM_CLASSES)}")
        num_classes = NUM_CLASSES[dataset]
    net = arch.factory(num_classes)
    net.arch_name = name  # type: ignore[attr-defined]
    return net


def units(net: nn.Module) -> list[nn.Module]:
    """The ordered partition units: the stem first, then every block."""
    return [net.stem, *net.blocks]


def num_units(net: nn.Module) -> int:
    """How many blocks can go to the edge (the largest partition point)."""
    return len(net.blocks)


def _conv_linear(module: nn.Module, prefix: str) -> list[tuple[str, nn.Module]]:
    return [
        (f"{prefix}.{name}" if name else prefix, m)
        for name, m in module.named_modules()
        if isinstance(m, QUANTIZABLE)
    ]


def unit_layers(net: nn.Module) -> list[list[tuple[str, nn.Module]]]:
    """Per unit (stem first), its quantizable layers as ``(qualified name, module)``."""
    return [_conv_linear(net.stem, "stem")] + [
        _conv_linear(block, f"blocks.{i}") for i, block in enumerate(net.blocks)
    ]


def quantizable_layers(net: nn.Module) -> list[tuple[str, nn.Module]]:
    """Every conv and linear layer in forward order: stem, blocks, then the classifier."""
    layers = [layer for unit in unit_layers(net) for layer in unit]
    return layers + _conv_linear(net.head, "head")


def edge_layer_count(net: nn.Module, p: int) -> int:
    """Number of quantizable layers on the edge for partition point ``p`` (stem included)."""
    check_partition(net, p)
    return sum(len(u) for u in unit_layers(net)[: p + 1])


def check_partition(net: nn.Module, p: int) -> None:
    n = num_units(net)
    if not isinstance(p, int) or isinstance(p, bool) or not 0 <= p <= n:
        raise ValueError(
            f"partition point p={p!r} is out of range: it counts the blocks on the edge after "
            f"the stem and must be an integer in 0..{n} for this model"
        )


def split(net: nn.Module, p: int) -> tuple[nn.Sequential, nn.Sequential]:
    """Edge (stem + first ``p`` blocks) and cloud (other blocks + head); shares the modules."""
    check_partition(net, p)
    edge = nn.Sequential(net.stem, *list(net.blocks)[:p])
    cloud = nn.Sequential(*list(net.blocks)[p:], net.head)
    return edge, cloud


@torch.no_grad()
def layer_outputs(net: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """The output of every conv layer of the edge-able part (stem and blocks), keyed by name.

    These are the layer-wise IRs of the paper's Fig. 4 and 5: a conv layer's raw output, before
    its batch norm and activation.
    """
    outputs: dict[str, torch.Tensor] = {}
    hooks = [
        module.register_forward_hook(lambda _m, _i, out, name=name: outputs.__setitem__(name, out))
        for unit in unit_layers(net)
        for name, module in unit
    ]
    try:
        net(x)
    finally:
        for h in hooks:
            h.remove()
    return outputs


@torch.no_grad()
def unit_outputs(net: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """The IR after the stem and after every block: ``unit_outputs(net, x)[p]`` leaves the edge at p."""
    outs = [net.stem(x)]
    for block in net.blocks:
        outs.append(block(outs[-1]))
    return outs
