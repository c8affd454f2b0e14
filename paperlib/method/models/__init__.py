"""CIFAR models and their partition units (docs/decisions/paper-method.md §1, §7; any model:
:mod:`paperlib.method.graph`).

The units of *any* model come from its torch.fx graph (:mod:`paperlib.method.graph`, one mechanism for
all): the ``stem`` (always on the edge), the partition units in forward order, and the ``head``
(the classifier, always in the cloud). A partition point ``p`` puts the stem and the first ``p``
units on the edge. The built-in models are written as ``stem``/``blocks``/``head`` and their
traced units are exactly those (tests/test_graph.py).
"""

from __future__ import annotations

import torch
from torch import nn

from .. import graph
from ...infra.registry import Entry

from .registry import MODELS, Architecture  # noqa: F401

# importing them registers the built-in models, in this order (CLI choices, loops, plots)
from . import vgg, resnet, mobilenet, cifar10cnn  # noqa: E402, I001
from .mobilenet import MobileNet  # noqa: E402
from .resnet import resnet18, resnet50  # noqa: E402
from .vgg import VGG11  # noqa: E402

NUM_CLASSES = {"cifar10": 10, "cifar100": 100}
QUANTIZABLE = graph.QUANTIZABLE


def architecture(name: str) -> Entry:
    """The registry entry of a model (``.dataset``, ``.unit_name``, ``.family``, ``.label``, ...),
    with an error that lists the registered ones."""
    return MODELS.entry(name)


def build(name: str, dataset: str | None = None, num_classes: int | None = None) -> nn.Module:
    """A freshly initialised model; its class count follows ``dataset`` (default: the paper's)."""
    arch = architecture(name)
    dataset = dataset or arch.dataset
    if num_classes is None:
        if dataset not in NUM_CLASSES:
            raise ValueError(f"unknown dataset {dataset!r}; choose one of {', '.join(NUM_CLASSES)}")
        num_classes = NUM_CLASSES[dataset]
    net = arch.obj(num_classes)
    net.arch_name = name  # type: ignore[attr-defined]
    return net


CIFAR_INPUT: tuple[int, int, int] = (3, 32, 32)


def input_shape(net: nn.Module) -> tuple[int, ...]:
    """The shape of one input image, (C, H, W): ``net.input_shape`` when the model states one,
    else its registry entry's ``input_shape``, else CIFAR's 3x32x32."""
    stated = getattr(net, "input_shape", None)
    if stated is None and getattr(net, "arch_name", None) in MODELS:
        stated = MODELS.entry(net.arch_name).meta.get("input_shape")
    return tuple(int(s) for s in stated) if stated is not None else CIFAR_INPUT


def units(net: nn.Module) -> list[nn.Module]:
    """Per partition point ``p``, the module whose output leaves the edge (stem first); for the
    built-in models the stem and every block. Derived from the traced graph (:mod:`paperlib.method.graph`)."""
    return graph.units(net)


def num_units(net: nn.Module) -> int:
    """How many units can go to the edge after the stem (the largest partition point)."""
    return graph.analyse(net).num_units


def unit_layers(net: nn.Module) -> list[list[tuple[str, nn.Module]]]:
    """Per unit (stem first), its quantizable layers as ``(qualified name, module)``, in forward
    order (docs/decisions/graph-and-hardware.md §1)."""
    return [[(name, graph.submodule(net, name)) for name in unit]
            for unit in graph.analyse(net).unit_layers()]


def quantizable_layers(net: nn.Module) -> list[tuple[str, nn.Module]]:
    """Every conv and linear layer in forward order: stem, units, then the head (classifier)."""
    return [(name, graph.submodule(net, name)) for name in graph.analyse(net).layers]


def edge_layer_count(net: nn.Module, p: int) -> int:
    """Number of quantizable layers on the edge for partition point ``p`` (stem included)."""
    check_partition(net, p)
    return sum(u <= p for u in graph.analyse(net).layer_units)


def check_partition(net: nn.Module, p: int) -> None:
    """A clear error unless ``p`` is in 0..``num_units(net)``."""
    graph.check_partition(net, p)


def split(net: nn.Module, p: int) -> tuple[nn.Module, nn.Module]:
    """Edge (stem + first ``p`` units) and cloud (other units + head), traced from ``net`` and
    sharing its modules; ``cloud(edge(x))`` equals ``net(x)`` bit for bit."""
    return graph.split(net, p)


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
def unit_outputs(net: nn.Module, x: torch.Tensor, upto: int | None = None) -> list[torch.Tensor]:
    """The IR after the stem and after every unit (up to unit ``upto``, default all):
    ``unit_outputs(net, x)[p]`` is what leaves the edge at ``p``."""
    outs = []
    for piece in graph.segments(net, num_units(net) if upto is None else upto):
        x = piece(x)
        outs.append(x)
    return outs
