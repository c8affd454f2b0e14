"""MobileNet V1 for CIFAR (Howard et al. 2017; stride-1 stem of 32 channels;
docs/decisions/paper-method.md §1).

Partition units are the 13 depthwise-separable blocks (depthwise 3x3 then pointwise 1x1).
"""

from __future__ import annotations

from torch import nn

from .registry import MODELS

# (output channels, stride) of the 13 depthwise-separable blocks, CIFAR strides.
MOBILENET_BLOCKS: tuple[tuple[int, int], ...] = (
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
)


class DepthwiseSeparable(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(c_in, c_in, 3, stride, 1, groups=c_in, bias=False)
        self.bn1 = nn.BatchNorm2d(c_in)
        self.pointwise = nn.Conv2d(c_in, c_out, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        x = self.relu(self.bn1(self.depthwise(x)))
        return self.relu(self.bn2(self.pointwise(x)))


class MobileNet(nn.Module):
    """``stem`` = conv3x3(32)-BN-ReLU; ``blocks`` = 13 depthwise-separable blocks; ``head`` = fc."""

    def __init__(self, num_classes: int = 100) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(inplace=True)
        )
        blocks, c_in = [], 32
        for c_out, stride in MOBILENET_BLOCKS:
            blocks.append(DepthwiseSeparable(c_in, c_out, stride))
            c_in = c_out
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, num_classes)
        )

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)))


@MODELS.register("mobilenet", label="MobileNet", dataset="cifar100", unit_name="DW-separable block",
                 family="mobilenet", color="C3", marker="D")
def mobilenet(num_classes: int = 100) -> MobileNet:
    return MobileNet(num_classes)
