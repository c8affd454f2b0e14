"""Query-free shadow-model attack (He et al., ACSAC 2019).

The attacker can neither read nor query the edge; it knows the cloud part ``f_c`` and has labelled
images of its own (the training split, disjoint from the evaluated test images). It trains a
*shadow* edge ``f̃_e`` with fresh weights so that ``f_c(f̃_e(x))`` classifies its images
(cross-entropy through the frozen ``f_c``, Adam), then runs rMLE against the shadow
(docs/decisions/attacks.md §4).

Shadow architecture (:class:`ShadowEdge`, ours; all that is public is the IR's shape and sign): a
3x3 conv (3 → 32) and ReLU at full resolution, then one stride-2 3x3 conv and ReLU per halving of
the resolution down to the IR's (the width doubles each time, at most 128), an adaptive average
pool when the IR's size is not 32 / 2^k, and a 3x3 conv to the IR's channels (1x1 for a 1x1 IR),
followed by a softplus when the IR is non-negative (a final ReLU can die in the first steps, which
leaves a constant shadow; measured on a toy cloud). The IR's scale is not pinned down by the frozen
cloud, so the rMLE against the shadow matches directions (``1 − cos``, ``rmle.direction_loss``),
which leaves the image's contrast free: a prior towards mid-grey (λ_2 = ``ShadowSettings.rmle_l2``)
holds it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from ..infra.progress import tqdm

from ..method.device import plan_for
from .base import ATTACKS, Attack, Aux, AuxNeed, check_training
from .rmle import BATCH_SIZE, INIT_VALUE, invert_by_optimisation

SHADOW_VERSION = 1
MATCH = "direction"  # the shadow's IR scale is arbitrary: match directions (rmle.direction_loss)
FIRST_WIDTH = 32
MAX_WIDTH = 128
IN_SIZE = 32


@dataclass(frozen=True)
class ShadowSettings:
    """The query-free attacker's budget: the shadow's training, then rMLE against it (He et al.:
    500 iterations at lr 0.1; docs/decisions/attacks.md §4); a profile sets it in
    ``AttackSettings.attacks["shadow"]``."""

    labelled_images: int | None = None  # the attacker's labelled images (training split); None: all
    epochs: int = 10  # shadow training epochs
    lr: float = 3e-3  # shadow learning rate (Adam)
    batch_size: int = 64  # shadow training batch
    rmle_iterations: int = 500
    rmle_lr: float = 0.1
    rmle_tv: float = 1.0
    rmle_l2: float = 1.0  # λ_2 towards mid-grey: the shadow leaves the image's contrast free

    def aux_need(self) -> AuxNeed:
        """Its labelled images (the shadow is trained through the cloud on their labels)."""
        return AuxNeed(self.labelled_images, labelled=True)


DEFAULTS = ShadowSettings()  # the constructor's defaults


class ShadowEdge(nn.Module):
    """A stand-in edge from (B, 3, 32, 32) images in [0, 1] to IRs of shape ``ir_shape``."""

    def __init__(self, ir_shape: Sequence[int], nonnegative: bool) -> None:
        super().__init__()
        c, h, w = (int(s) for s in ir_shape)
        if min(c, h, w) < 1 or max(h, w) > IN_SIZE:
            raise ValueError(f"a shadow edge maps 32x32 images to an IR of at most 32x32 pixels, "
                             f"not {tuple(ir_shape)}")
        n_down = max(0, int(math.floor(math.log2(IN_SIZE / max(h, w)))))
        width = FIRST_WIDTH
        layers: list[nn.Module] = [nn.Conv2d(3, width, 3, padding=1), nn.ReLU()]
        for _ in range(n_down):
            nxt = min(2 * width, MAX_WIDTH)
            layers += [nn.Conv2d(width, nxt, 3, stride=2, padding=1), nn.ReLU()]
            width = nxt
        if IN_SIZE >> n_down != h or IN_SIZE >> n_down != w:
            layers.append(nn.AdaptiveAvgPool2d((h, w)))
        layers.append(nn.Conv2d(width, c, 3 if min(h, w) > 1 else 1, padding=1 if min(h, w) > 1 else 0))
        if nonnegative:
            layers.append(nn.Softplus())  # non-negative like the IR, but cannot die as a ReLU can
        self.net = nn.Sequential(*layers)

    def forward(self, images01: torch.Tensor) -> torch.Tensor:
        return self.net(images01)

    def describe(self) -> str:
        widths = [m.out_channels for m in self.net if isinstance(m, nn.Conv2d)]
        n_params = sum(p.numel() for p in self.parameters())
        return f"conv widths {widths}, {n_params:,} parameters"


def train_shadow(shadow: nn.Module, cloud: nn.Module, aux: Aux, *, epochs: int, batch_size: int,
                 lr: float, seed: int = 0, progress: bool = False,
                 desc: str = "shadow") -> list[dict[str, float]]:
    """Train ``shadow`` so that the frozen ``cloud`` classifies its output (cross-entropy, Adam).
    Returns per epoch the mean loss and the accuracy of ``cloud(shadow(x))`` on ``aux``."""
    if aux.labels is None:
        raise ValueError("the shadow attack needs labelled auxiliary images (Aux.labels)")
    check_training(epochs, batch_size, lr)
    device = next(shadow.parameters()).device
    plan = plan_for(device)  # bf16 autocast where the plan says (docs/decisions/scale.md §6)
    images, labels = aux.images.to(device), aux.labels.to(device)  # moved once, not per batch
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(shadow.parameters(), lr=lr)
    n = len(aux)
    history = []
    bar = tqdm(total=epochs * math.ceil(n / batch_size), desc=desc, disable=not progress,
               dynamic_ncols=True, leave=False)
    shadow.train()
    cloud.eval()
    try:
        for _ in range(epochs):
            order = torch.randperm(n, generator=gen)
            total, correct = 0.0, 0
            for start in range(0, n, batch_size):
                idx = order[start:start + batch_size]
                x, y = images[idx], labels[idx]
                with plan.autocast_context():
                    logits = cloud(shadow(x))
                    loss = F.cross_entropy(logits, y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
                correct += int((logits.argmax(1) == y).sum())
                bar.update(1)
            history.append({"loss": total / n, "accuracy": correct / n})
    finally:
        bar.close()
        shadow.eval()
    return history


@ATTACKS.register("shadow", label="query-free shadow model", threat="query-free", color="C2",
                  marker="^", settings=ShadowSettings)
class ShadowAttack(Attack):
    """Query-free: a shadow edge trained through the frozen cloud, then rMLE against it."""

    name = "shadow"
    threat = "query-free"
    version = SHADOW_VERSION

    def __init__(self, epochs: int = DEFAULTS.epochs, lr: float = DEFAULTS.lr,
                 batch_size: int = DEFAULTS.batch_size, iterations: int = DEFAULTS.rmle_iterations,
                 rmle_lr: float = DEFAULTS.rmle_lr, tv: float = DEFAULTS.rmle_tv,
                 l2: float = DEFAULTS.rmle_l2, seed: int = 0, progress: bool = False,
                 device: torch.device | str = "cpu") -> None:
        super().__init__()
        self.epochs, self.lr, self.batch_size = int(epochs), float(lr), int(batch_size)
        self.iterations, self.rmle_lr, self.tv, self.l2 = int(iterations), float(rmle_lr), float(tv), float(l2)
        self.seed, self.progress, self.device = int(seed), progress, torch.device(device)
        self.shadow: ShadowEdge | None = None
        self.history: list[dict[str, float]] = []

    @classmethod
    def from_settings(cls, settings: ShadowSettings | None = None, seed: int = 0) -> "ShadowAttack":
        s = settings or DEFAULTS
        return cls(s.epochs, s.lr, s.batch_size, s.rmle_iterations, s.rmle_lr, s.rmle_tv,
                   s.rmle_l2, seed)

    def config(self) -> dict[str, Any]:
        return {"epochs": self.epochs, "lr": self.lr, "batch_size": self.batch_size,
                "iterations": self.iterations, "rmle_lr": self.rmle_lr, "tv": self.tv,
                "l2": self.l2, "seed": self.seed, "init": INIT_VALUE, "schedule": "cosine",
                "match": MATCH}

    def _fit(self, access: Any, aux: Aux | None) -> None:
        if aux is None or len(aux) == 0:
            raise ValueError("the shadow attack needs labelled auxiliary images")
        torch.manual_seed(self.seed)
        self.shadow = ShadowEdge(access.ir_shape, access.info.ir_nonnegative).to(self.device)
        self.history = train_shadow(self.shadow, access, aux, epochs=self.epochs,
                                    batch_size=self.batch_size, lr=self.lr, seed=self.seed,
                                    progress=self.progress, desc=f"shadow {access.key}")
        for param in self.shadow.parameters():
            param.requires_grad_(False)

    def _invert(self, ir: torch.Tensor) -> torch.Tensor:
        return invert_by_optimisation(self.shadow, ir, iterations=self.iterations, lr=self.rmle_lr,
                                      tv=self.tv, l2=self.l2, match=MATCH,
                                      batch_size=BATCH_SIZE,
                                      progress=self.progress, desc=f"shadow rMLE {self.fitted_on}")

    def details(self) -> dict[str, Any]:
        return {"train_loss": [h["loss"] for h in self.history],
                "shadow_accuracy": self.history[-1]["accuracy"] if self.history else float("nan"),
                "model": self.shadow.describe() if self.shadow is not None else ""}

    def state(self) -> dict[str, Any]:
        return {"shadow": {k: v.cpu() for k, v in self.shadow.state_dict().items()}} if self.shadow else {}


__all__ = ["ShadowEdge", "ShadowAttack", "ShadowSettings", "train_shadow", "SHADOW_VERSION"]
