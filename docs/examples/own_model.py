"""A user's own model for `paperlib ... --model docs/examples/own_model.py:build` (docs/own-model.md).

A small CNN in the layout the partitioner accepts: a stem, a few blocks (each a submodule whose
output is the only live tensor), and the head (pooling, flatten, linear) as ONE module called last.
"""

from torch import nn


def block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class SmallNet(nn.Module):
    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.stem = block(3, 16)
        self.block1 = nn.Sequential(block(16, 32), nn.MaxPool2d(2))
        self.block2 = nn.Sequential(block(32, 64), nn.MaxPool2d(2))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, num_classes))

    def forward(self, x):
        return self.head(self.block2(self.block1(self.stem(x))))


def build(num_classes: int = 10) -> nn.Module:
    return SmallNet(num_classes)
