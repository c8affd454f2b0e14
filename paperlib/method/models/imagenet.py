"""ImageNet forms of the CIFAR models, for the input-size axis of notebook 10 (analytic only: energy,
bits sent and latency; no weights, no accuracy claimed; docs/decisions/network.md §16).

* ResNet18: the 7x7 stride-2 stem followed by a 3x3 stride-2 max-pool (He et al. 2016), in front of
  the same eight BasicBlocks as the CIFAR form;
* MobileNet: the 3x3 stride-2 stem of 32 channels (Howard et al. 2017) and the CIFAR form's blocks
  with ImageNet's strides (the second block at stride 2 as well).

Both take 3x224x224 images (``net.input_shape``, read by :func:`paperlib.method.models.input_shape`)
and have a total stride of 32. They are not in ``MODELS``: every loop over that registry trains or
attacks its models (``make models``, notebooks 08 and 09), and these are never trained.
"""

from __future__ import annotations

from torch import nn

from .mobilenet import MobileNet
from .resnet import BasicBlock, ResNet

IMAGENET_INPUT: tuple[int, int, int] = (3, 224, 224)
IMAGENET_CLASSES: int = 1000


class ResNetImageNet(ResNet):
    """ResNet with ImageNet's stem: conv 7x7 stride 2 (64) - BN - ReLU - max-pool 3x3 stride 2."""

    def __init__(self, depths: tuple[int, ...] = (2, 2, 2, 2),
                 num_classes: int = IMAGENET_CLASSES) -> None:
        super().__init__(BasicBlock, depths, num_classes)
        self.stem = nn.Sequential(
            nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(64),
            nn.ReLU(inplace=True), nn.MaxPool2d(3, stride=2, padding=1))
        self.input_shape = IMAGENET_INPUT


class MobileNetImageNet(MobileNet):
    """MobileNet V1 with ImageNet's stride-2 stem (32 channels) and strides (total stride 32)."""

    def __init__(self, num_classes: int = IMAGENET_CLASSES) -> None:
        super().__init__(num_classes)
        self.stem = nn.Sequential(
            nn.Conv2d(3, 32, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(32),
            nn.ReLU(inplace=True))
        self.blocks[1].depthwise.stride = (2, 2)  # ImageNet: 112 -> 56 at the second block
        self.input_shape = IMAGENET_INPUT


# The ImageNet form of each CIFAR model that has one (by the CIFAR model's registry name).
IMAGENET_FORMS = {"resnet18": ResNetImageNet, "mobilenet": MobileNetImageNet}


def imagenet_form(model: str, size: int = IMAGENET_INPUT[1]) -> nn.Module:
    """The ImageNet form of ``model`` taking ``size`` x ``size`` images (``net.arch_name`` is
    ``<model>-imagenet``); a model without one is refused naming those that have."""
    if model not in IMAGENET_FORMS:
        raise ValueError(f"model {model!r} has no ImageNet form; choose one of "
                         f"{', '.join(IMAGENET_FORMS)}")
    net = IMAGENET_FORMS[model]()
    net.input_shape = (3, int(size), int(size))
    net.arch_name = f"{model}-imagenet"
    return net


__all__ = ["IMAGENET_INPUT", "IMAGENET_CLASSES", "ResNetImageNet", "MobileNetImageNet",
           "IMAGENET_FORMS", "imagenet_form"]
