"""VGG11 with batch norm for CIFAR (3x3 stride-1 convolutions; docs/decisions/paper-method.md
§1): a chain network whose partition units are its conv layers."""

from __future__ import annotations

from torch import nn

from .registry import MODELS

# Output channels of the eight conv layers; True where a 2x2 max-pool follows the layer.
VGG11_LAYERS: tuple[tuple[int, bool], ...] = (
    (64, True), (128, True), (256, False), (256, True),
    (512, False), (512, True), (512, False), (512, True),
)


def conv_bn_relu(c_in: int, c_out: int, pool: bool) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    ]
    if pool:
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


class VGG11(nn.Module):
    """``stem`` = conv1 (+pool); ``blocks`` = conv2..conv8, one unit each; ``head`` = classifier."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        channels = [3] + [c for c, _ in VGG11_LAYERS]
        units = [conv_bn_relu(channels[i], c, pool) for i, (c, pool) in enumerate(VGG11_LAYERS)]
        self.stem = units[0]
        self.blocks = nn.Sequential(*units[1:])
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(512, num_classes))

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)))


@MODELS.register("vgg11", label="VGG11", dataset="cifar10", unit_name="conv layer", family="vgg",
                 color="C2", marker="^")
def vgg11(num_classes: int = 10) -> VGG11:
    return VGG11(num_classes)
