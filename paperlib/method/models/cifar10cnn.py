"""``cifar10cnn``: the CIFAR-10 reference network of He, Zhang & Lee (ACSAC 2019, "Model inversion
attacks against collaborative inference"), on which they published their three attacks.

Three stages of two 3x3 convolutions (padding 1, a ReLU after each, no batch norm) and a 2x2
max-pool: 3→64→64, 64→128→128, 128→128→128; then fc1 2048→512 with a sigmoid and fc2 512→10
(docs/decisions/attacks.md §1). The convolutions start from the Kaiming-normal initialisation (He, Zhang, Ren &
Sun, ICCV 2015): with PyTorch's default one this network without batch norm does not learn under
SGD (measured on 2,048 partial CIFAR-10 images, 2 epochs, lr 0.02: 12 % top-1, chance, against
30 % with Kaiming).

He et al. split the network after any *layer* and name the split points by it (conv11, ReLU11,
conv12, …, ReLU32, pool3). To keep those points, every layer is one partition unit here: ``stem``
is conv11 (p = 0, the IR leaves before its ReLU) and ``blocks`` holds the other fourteen layers in
order, so ``p`` counts the layers after conv11 on the edge. :func:`split_point` and
:func:`split_name` map their names to partition points and back.

ReLUs are not in-place: a unit's output must not overwrite the previous unit's output, which is
itself an IR (``models.unit_outputs`` keeps them all).
"""

from __future__ import annotations

from torch import nn

from .registry import MODELS

# (output channels of the two convolutions) per stage; a 2x2 max-pool ends every stage
STAGES: tuple[int, ...] = (64, 128, 128)
FC_WIDTH = 512


def _layer_names() -> tuple[str, ...]:
    names: list[str] = []
    for stage in range(1, len(STAGES) + 1):
        for conv in (1, 2):
            names += [f"conv{stage}{conv}", f"ReLU{stage}{conv}"]
        names.append(f"pool{stage}")
    return tuple(names)


# He et al.'s name of the split after each layer; SPLIT_NAMES[p] is partition point p
SPLIT_NAMES: tuple[str, ...] = _layer_names()
# the split points of He et al.'s experiments (their shallow, middle and deep cut)
HE2019_POINTS: tuple[str, ...] = ("conv11", "ReLU22", "ReLU32")


def split_point(name: str | int) -> int:
    """The partition point ``p`` of one of He et al.'s split names (case-insensitive); an int is
    checked and passed through. An unknown name is refused with the list of valid ones."""
    if isinstance(name, int) and not isinstance(name, bool):
        if not 0 <= name < len(SPLIT_NAMES):
            raise ValueError(f"partition point {name} is out of range 0..{len(SPLIT_NAMES) - 1} "
                             "for cifar10cnn")
        return name
    lookup = {n.lower(): p for p, n in enumerate(SPLIT_NAMES)}
    try:
        return lookup[str(name).strip().lower()]
    except KeyError:
        raise ValueError(f"unknown split point {name!r} for cifar10cnn; choose one of "
                         f"{', '.join(SPLIT_NAMES)}") from None


def split_name(p: int) -> str:
    """He et al.'s name of partition point ``p`` (0 → ``conv11``, 14 → ``pool3``)."""
    if isinstance(p, bool) or not isinstance(p, int) or not 0 <= p < len(SPLIT_NAMES):
        raise ValueError(f"partition point {p!r} is out of range 0..{len(SPLIT_NAMES) - 1} for "
                         "cifar10cnn")
    return SPLIT_NAMES[p]


def _layers() -> list[nn.Module]:
    layers: list[nn.Module] = []
    c_in = 3
    for c_out in STAGES:
        for _ in range(2):
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU()]
            c_in = c_out
        layers.append(nn.MaxPool2d(2))
    return layers


class CIFAR10CNN(nn.Module):
    """``stem`` = conv11; ``blocks`` = ReLU11 … pool3, one layer each; ``head`` = fc1 (sigmoid),
    fc2."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        layers = _layers()
        assert len(layers) == len(SPLIT_NAMES)
        self.stem = layers[0]
        self.blocks = nn.Sequential(*layers[1:])
        spatial = 32 // 2 ** len(STAGES)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(STAGES[-1] * spatial * spatial, FC_WIDTH),
                                  nn.Sigmoid(), nn.Linear(FC_WIDTH, num_classes))
        for m in self.modules():  # without batch norm, PyTorch's default init stalls SGD here
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)))


@MODELS.register("cifar10cnn", label="CIFAR10CNN (He et al.)", dataset="cifar10", unit_name="layer",
                 family="cifar10cnn", color="C4", marker="v", split_names=SPLIT_NAMES,
                 attack_points=HE2019_POINTS)
def cifar10cnn(num_classes: int = 10) -> CIFAR10CNN:
    return CIFAR10CNN(num_classes)


__all__ = ["CIFAR10CNN", "cifar10cnn", "SPLIT_NAMES", "HE2019_POINTS", "split_point", "split_name"]
