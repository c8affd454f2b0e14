"""White-box regularised maximum-likelihood estimation (rMLE; He et al., ACSAC 2019).

The attacker knows the edge ``f_e`` and sees ``v = f_e(x)``; it searches the input

    x* = argmin_{x ∈ [0, 1]}  ||f_e(x) − v||² / ||v||²  +  λ_TV · TV(x)  +  λ_2 · ||x − 0.5||² / n

by Adam, projecting ``x`` back into [0, 1] after every step, from a grey image (0.5 everywhere).
The feature term is relative (divided by the IR's own energy) so that one λ_TV serves IRs of any
scale; ``TV(x)`` is the mean squared difference of vertically plus horizontally neighbouring
pixels; the λ_2 prior pulls towards mid-grey (He et al.'s ||x||² on a mean-subtracted input); the
learning rate follows a cosine decay to zero over the iterations (docs/decisions/attacks.md §3).

Each image's loss depends on its own pixels only and Adam's update is element-wise, so the batch
is optimised as if image by image, in one forward and backward pass per iteration
(``benchmarks/bench_attacks.py`` measures the gain).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn
from ..infra.progress import tqdm

from ..method.device import plan_for
from .base import ATTACKS, Attack, Aux
from .victim import module_device

TINY = 1e-12
INIT_VALUE = 0.5  # the grey image every optimisation starts from
INPUT_SHAPE = (3, 32, 32)
BATCH_SIZE = 64  # images optimised together (memory bound only; results do not depend on it)


@dataclass(frozen=True)
class RMLESettings:
    """The white-box rMLE's budget (He et al.: Adam, lr 1e-2, 5000 iterations; docs/decisions/
    attacks.md §3); a profile sets it in ``AttackSettings.attacks["rmle"]``."""

    iterations: int = 5000
    lr: float = 1e-2
    tv: float = 1.0  # λ_TV of the relative objective
    l2: float = 0.0  # λ_2 of the prior towards mid-grey (He et al. use none by default)


DEFAULTS = RMLESettings()  # the constructor's defaults


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Per-image TV prior of a (B, C, H, W) batch: mean squared vertical plus mean squared
    horizontal difference of neighbouring pixels."""
    dv = (x[..., 1:, :] - x[..., :-1, :]).square().mean(dim=(1, 2, 3))
    dh = (x[..., :, 1:] - x[..., :, :-1]).square().mean(dim=(1, 2, 3))
    return dv + dh


def feature_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-image relative squared error ``||f − v||² / ||v||²``."""
    dims = tuple(range(1, target.dim()))
    return (features - target).square().sum(dim=dims) / (target.square().sum(dim=dims) + TINY)


def direction_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-image ``1 − cos(f, v)``: blind to the scale of ``f`` (for a shadow edge, whose scale the
    frozen cloud does not pin down)."""
    f, v = features.flatten(1), target.flatten(1)
    return 1.0 - (f * v).sum(1) / (f.norm(dim=1) * v.norm(dim=1) + TINY)


MATCHES = {"relative": feature_loss, "direction": direction_loss}


def objective(forward: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
              target: torch.Tensor, tv: float, l2: float, match: str = "relative") -> torch.Tensor:
    """The per-image rMLE objective of the module docstring (``match`` picks the feature term:
    ``relative`` squared error, or ``direction`` for :func:`direction_loss`)."""
    loss = MATCHES[match](forward(x), target) + tv * total_variation(x)
    if l2:
        loss = loss + l2 * (x - INIT_VALUE).square().mean(dim=(1, 2, 3))
    return loss


def _optimise(forward: Callable, target: torch.Tensor, *, iterations: int, lr: float, tv: float,
              l2: float, match: str, input_shape: tuple[int, ...], bar: tqdm) -> torch.Tensor:
    x = torch.full((len(target), *input_shape), INIT_VALUE, device=target.device,
                   requires_grad=True)
    opt = torch.optim.Adam([x], lr=lr)
    plan = plan_for(x.device)  # bf16 autocast where the plan says (scale.md §6), fixed for the run
    for i in range(iterations):
        for group in opt.param_groups:  # cosine decay from lr to 0
            group["lr"] = lr * 0.5 * (1.0 + math.cos(math.pi * i / iterations))
        with plan.autocast_context():
            loss = objective(forward, x, target, tv, l2, match)
        opt.zero_grad(set_to_none=True)
        loss.sum().backward()  # a sum: every image gets its own gradient
        opt.step()
        with torch.no_grad():
            x.clamp_(0.0, 1.0)
        bar.update(len(target))
    return x.detach()


def invert_by_optimisation(forward: Callable[[torch.Tensor], torch.Tensor], ir: torch.Tensor, *,
                           iterations: int, lr: float, tv: float, l2: float = 0.0,
                           match: str = "relative", batch_size: int = BATCH_SIZE,
                           input_shape: tuple[int, ...] = INPUT_SHAPE,
                           progress: bool = False, desc: str = "rMLE") -> torch.Tensor:
    """The inputs in [0, 1] whose image under ``forward`` best matches ``ir`` (module docstring),
    ``batch_size`` images at a time; returned on the CPU."""
    if iterations < 1 or not lr > 0 or tv < 0 or l2 < 0:
        raise ValueError(f"bad rMLE settings: iterations={iterations}, lr={lr}, tv={tv}, l2={l2}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    if match not in MATCHES:
        raise ValueError(f"unknown feature match {match!r}; choose one of {', '.join(MATCHES)}")
    device = module_device(forward)
    out = []
    with torch.enable_grad(), tqdm(total=len(ir) * iterations, desc=desc, unit="img·it",
                                   disable=not progress, dynamic_ncols=True, leave=False) as bar:
        for start in range(0, len(ir), batch_size):
            target = ir[start:start + batch_size].to(device, torch.float32)
            out.append(_optimise(forward, target, iterations=iterations, lr=lr, tv=tv, l2=l2,
                                 match=match, input_shape=input_shape, bar=bar).cpu())
    return torch.cat(out) if out else torch.empty(0, *input_shape)


@ATTACKS.register("rmle", label="white-box rMLE", threat="white-box", color="C3", marker="s",
                  settings=RMLESettings)
class RMLE(Attack):
    """White-box rMLE against the edge itself (He et al. 2019)."""

    name = "rmle"
    threat = "white-box"

    def __init__(self, iterations: int = DEFAULTS.iterations, lr: float = DEFAULTS.lr,
                 tv: float = DEFAULTS.tv, l2: float = DEFAULTS.l2,
                 batch_size: int = BATCH_SIZE, progress: bool = False) -> None:
        super().__init__()
        self.iterations, self.lr, self.tv, self.l2 = int(iterations), float(lr), float(tv), float(l2)
        self.batch_size, self.progress = int(batch_size), progress
        self._edge: nn.Module | None = None

    @classmethod
    def from_settings(cls, settings: RMLESettings | None = None, seed: int = 0) -> "RMLE":
        s = settings or DEFAULTS  # deterministic: ``seed`` changes nothing
        return cls(s.iterations, s.lr, s.tv, s.l2)

    def config(self) -> dict[str, Any]:
        return {"iterations": self.iterations, "lr": self.lr, "tv": self.tv, "l2": self.l2,
                "init": INIT_VALUE, "schedule": "cosine"}

    def _fit(self, access: Any, aux: Aux | None) -> None:
        self._edge = access  # nothing to learn: the white-box attacker has the edge

    def _invert(self, ir: torch.Tensor) -> torch.Tensor:
        return invert_by_optimisation(self._edge, ir, iterations=self.iterations, lr=self.lr,
                                      tv=self.tv, l2=self.l2, batch_size=self.batch_size,
                                      progress=self.progress, desc=f"rMLE {self.fitted_on}")


__all__ = ["RMLE", "RMLESettings", "invert_by_optimisation", "objective", "feature_loss",
           "direction_loss", "total_variation", "MATCHES"]
