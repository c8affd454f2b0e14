"""Additive noise on the IR (He et al., IEEE IoT-J 2020; Zhang et al. 2021 Table 7):
``v' = v + n``, ``n`` Gaussian or Laplacian with standard deviation ``strength · std(v)``, the IR's
own standard deviation per image (docs/decisions/defences.md §3)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from ..attacks.victim import SplitInfo, Victim
from .base import DEFENCES, Context, Defence, number_tag, replace_edge

KINDS = ("gaussian", "laplacian")


def ir_std(ir: torch.Tensor) -> torch.Tensor:
    """Standard deviation of each IR of a batch over all its elements, shaped to broadcast."""
    return ir.flatten(1).std(dim=1).view(-1, *([1] * (ir.dim() - 1)))


def unit_noise(shape: torch.Size, kind: str, generator: torch.Generator | None,
               device: torch.device) -> torch.Tensor:
    """Noise of mean 0 and standard deviation 1: standard normal, or Laplace of scale 1/√2."""
    if kind == "gaussian":
        return torch.randn(shape, generator=generator).to(device)
    if kind == "laplacian":
        u = torch.rand(shape, generator=generator).clamp(1e-7, 1 - 1e-7) - 0.5
        return (-torch.sign(u) * torch.log1p(-2 * u.abs()) / math.sqrt(2.0)).to(device)
    raise ValueError(f"noise kind {kind!r} is unknown; choose one of {', '.join(KINDS)}")


class AddNoise(nn.Module):
    """Adds ``strength · std(v)`` times unit noise of ``kind`` to each IR ``v`` (fresh per call)."""

    def __init__(self, kind: str, strength: float, seed: int = 0) -> None:
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"noise kind {kind!r} is unknown; choose one of {', '.join(KINDS)}")
        if not strength >= 0:
            raise ValueError(f"noise strength must be >= 0 (a multiple of the IR's std), got {strength!r}")
        self.kind, self.strength = kind, float(strength)
        self.generator = torch.Generator().manual_seed(seed)

    def forward(self, ir: torch.Tensor) -> torch.Tensor:
        if self.strength == 0:
            return ir
        scale = self.strength * ir_std(ir).detach()
        return ir + scale * unit_noise(ir.shape, self.kind, self.generator, ir.device)


# strengths: multiples of the IR's std (Zhang et al.'s range)
@DEFENCES.register("noise", label="noise on the IR", color="C6", marker="^",
                   sweep={"kind": KINDS, "strength": (0.1, 0.5, 1.0, 2.0, 4.0)},
                   neutral={"strength": 0.0})
class Noise(Defence):
    """Gaussian or Laplacian noise of ``strength`` × the IR's std (per image)."""

    name = "noise"

    def __init__(self, kind: str = "gaussian", strength: float = 1.0, seed: int = 0) -> None:
        AddNoise(kind, strength)  # validates
        self.kind, self.strength, self.seed = kind, float(strength), int(seed)

    def config(self) -> dict[str, Any]:
        return {"kind": self.kind, "strength": self.strength, "seed": self.seed}

    def tag(self) -> str:
        return f"noise-{self.kind}-s{number_tag(self.strength)}"

    def edge_macs(self, info: SplitInfo) -> float:
        # one draw scaled by the std and added: one MAC per IR element (the std: one more)
        return 2.0 * math.prod(info.ir_shape) if self.strength > 0 else 0.0

    def sent_bits(self, info: SplitInfo) -> int:
        return 32 if self.strength > 0 else int(info.ir_bits)  # noisy values leave the grid

    def apply(self, victim: Victim, context: Context | None = None) -> Victim:
        edge = nn.Sequential(victim.edge_module, AddNoise(self.kind, self.strength, self.seed)).eval()
        return replace_edge(victim, edge, self.tag())


__all__ = ["KINDS", "ir_std", "unit_noise", "AddNoise", "Noise"]
