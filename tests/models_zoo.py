"""Models paperlib has never seen, for tests/test_graph.py and the ``--model file.py:fn`` CLI.

Each ``build_*`` function takes the class count and returns a small CIFAR-size network (32x32 RGB
in), written the way one would write it without paperlib in mind:

* ``build_densenet``: DenseNet-style blocks (Huang et al. 2017) that keep every feature map and
  concatenate them, so no cut falls inside a dense block;
* ``build_inception``: Inception-style blocks (Szegedy et al. 2015) with four parallel branches
  joined by a concatenation;
* ``build_long_skip``: a chain of blocks with one skip connection spanning three of them, so the
  blocks it spans are no partition points;
* ``build_gated``: a block with data-dependent control flow, which torch.fx cannot trace
  (:class:`GatedBlock`; mark it with ``paperlib.method.graph.leaf`` and the model partitions).
"""

from __future__ import annotations

import torch
from torch import nn


def conv_bn_relu(c_in: int, c_out: int, kernel: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU())


# --- DenseNet-style ------------------------------------------------------------------------------

class DenseLayer(nn.Module):
    """BN-ReLU-conv3x3 on the concatenation of all earlier feature maps."""

    def __init__(self, c_in: int, growth: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(c_in)
        self.conv = nn.Conv2d(c_in, growth, 3, padding=1, bias=False)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        return self.conv(torch.relu(self.norm(torch.cat(features, 1))))


class DenseBlock(nn.ModuleDict):
    """Every layer sees every earlier output (as torchvision's ``_DenseBlock``)."""

    def __init__(self, layers: int, c_in: int, growth: int) -> None:
        super().__init__({f"layer{i}": DenseLayer(c_in + i * growth, growth) for i in range(layers)})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)


class Transition(nn.Sequential):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(nn.BatchNorm2d(c_in), nn.ReLU(), nn.Conv2d(c_in, c_out, 1, bias=False),
                         nn.AvgPool2d(2))


class TinyDenseNet(nn.Module):
    def __init__(self, num_classes: int = 10, growth: int = 8) -> None:
        super().__init__()
        self.conv0 = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.dense1 = DenseBlock(2, 16, growth)
        self.trans1 = Transition(16 + 2 * growth, 16)
        self.dense2 = DenseBlock(2, 16, growth)
        self.norm = nn.BatchNorm2d(16 + 2 * growth)
        self.classifier = nn.Linear(16 + 2 * growth, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.dense2(self.trans1(self.dense1(self.conv0(x))))
        x = torch.relu(self.norm(x))
        return self.classifier(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def build_densenet(num_classes: int = 10) -> nn.Module:
    return TinyDenseNet(num_classes)


# --- Inception-style -----------------------------------------------------------------------------

class InceptionBlock(nn.Module):
    """1x1, 1x1-3x3, 1x1-5x5 and pool-1x1 branches, concatenated."""

    def __init__(self, c_in: int, c: int) -> None:
        super().__init__()
        self.b1 = conv_bn_relu(c_in, c, 1)
        self.b3 = nn.Sequential(conv_bn_relu(c_in, c, 1), conv_bn_relu(c, c, 3))
        self.b5 = nn.Sequential(conv_bn_relu(c_in, c // 2, 1), conv_bn_relu(c // 2, c, 5))
        self.pool = nn.Sequential(nn.MaxPool2d(3, 1, 1), conv_bn_relu(c_in, c, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.pool(x)], 1)


class TinyInception(nn.Module):
    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.stem = conv_bn_relu(3, 16)
        self.inc1 = InceptionBlock(16, 8)
        self.down = nn.MaxPool2d(2)
        self.inc2 = InceptionBlock(32, 8)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.inc2(self.down(self.inc1(self.stem(x)))))


def build_inception(num_classes: int = 10) -> nn.Module:
    return TinyInception(num_classes)


# --- a skip spanning several blocks --------------------------------------------------------------

class LongSkipNet(nn.Module):
    """stem, b1..b5 (conv-BN-ReLU each), with ``b4`` receiving ``b3(b2(b1)) + b1``'s output."""

    def __init__(self, num_classes: int = 10, width: int = 16) -> None:
        super().__init__()
        self.stem = conv_bn_relu(3, width)
        self.b1 = conv_bn_relu(width, width)
        self.b2 = conv_bn_relu(width, width)
        self.b3 = conv_bn_relu(width, width)
        self.b4 = conv_bn_relu(width, width, stride=2)
        self.b5 = conv_bn_relu(width, width, stride=2)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.b1(self.stem(x))
        y = self.b3(self.b2(s)) + s  # the skip: b2 and b3 end where two tensors are live
        return self.head(self.b5(self.b4(y)))


def build_long_skip(num_classes: int = 10) -> nn.Module:
    return LongSkipNet(num_classes)


# --- a model torch.fx cannot trace ---------------------------------------------------------------

class GatedBlock(nn.Module):
    """Runs its convolution only when the input's mean is positive: Python control flow on a
    tensor's value, which symbolic tracing cannot follow."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.mean() > 0:
            return torch.relu(self.conv(x))
        return x


class GatedNet(nn.Module):
    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.stem = conv_bn_relu(3, 8)
        self.gate = GatedBlock(8)
        self.b1 = conv_bn_relu(8, 8, stride=2)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.b1(self.gate(self.stem(x))))


def build_gated(num_classes: int = 10) -> nn.Module:
    return GatedNet(num_classes)


UNSEEN = {"densenet": build_densenet, "inception": build_inception, "long_skip": build_long_skip}
