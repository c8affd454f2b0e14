"""CIFAR ResNet18 / ResNet50 (3x3 stride-1 stem, no max-pool; He et al. 2016;
docs/decisions/paper-method.md §1).

Partition units are the residual blocks: 8 BasicBlocks (ResNet18), 16 Bottlenecks (ResNet50).
Inside a block the convolutions are registered in forward order, the 1x1 shortcut last, so that
``quantizable_layers`` lists them in the order the paper's Fig. 12 draws them.
"""

from __future__ import annotations

import torch
from torch import nn

from .registry import MODELS


def _shortcut(c_in: int, c_out: int, stride: int) -> nn.Module:
    if stride == 1 and c_in == c_out:
        return nn.Identity()
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)
    )


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, c_in: int, width: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, width, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.shortcut = _shortcut(c_in, width, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, c_in: int, width: int, stride: int = 1) -> None:
        super().__init__()
        c_out = width * self.expansion
        self.conv1 = nn.Conv2d(c_in, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, c_out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(c_out)
        self.shortcut = _shortcut(c_in, c_out, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = torch.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return torch.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    """``stem`` = conv3x3-BN-ReLU; ``blocks`` = the residual blocks; ``head`` = pool + fc."""

    def __init__(self, block: type[BasicBlock] | type[Bottleneck], depths: tuple[int, ...],
                 num_classes: int = 100) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True)
        )
        blocks: list[nn.Module] = []
        c_in = 64
        for stage, depth in enumerate(depths):
            width = 64 * 2**stage
            for i in range(depth):
                stride = 2 if stage > 0 and i == 0 else 1
                blocks.append(block(c_in, width, stride))
                c_in = width * block.expansion
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))


@MODELS.register("resnet18", label="ResNet18", dataset="cifar100", unit_name="BasicBlock",
                 family="resnet", color="C0", marker="o")
def resnet18(num_classes: int = 100) -> ResNet:
    return ResNet(BasicBlock, (2, 2, 2, 2), num_classes)


@MODELS.register("resnet50", label="ResNet50", dataset="cifar100", unit_name="Bottleneck",
                 family="resnet", color="C1", marker="s")
def resnet50(num_classes: int = 100) -> ResNet:
    return ResNet(Bottleneck, (3, 4, 6, 3), num_classes)
