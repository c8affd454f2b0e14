"""Dropout of the IR at inference (He et al., IEEE IoT-J 2020): each element zeroed with
probability ``rate``, survivors scaled by ``1 / (1 − rate)`` (docs/decisions/defences.md §3)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from ..attacks.victim import SplitInfo, Victim
from .base import DEFENCES, Context, Defence, number_tag, replace_edge


class DropIR(nn.Module):
    """Inverted dropout that stays on at inference (fresh mask per call)."""

    def __init__(self, rate: float, seed: int = 0) -> None:
        super().__init__()
        if not 0 <= rate < 1:
            raise ValueError(f"dropout rate must be in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self.generator = torch.Generator().manual_seed(seed)

    def forward(self, ir: torch.Tensor) -> torch.Tensor:
        if self.rate == 0:
            return ir
        keep = (torch.rand(ir.shape, generator=self.generator) >= self.rate).to(ir.device, ir.dtype)
        return ir * keep / (1.0 - self.rate)


@DEFENCES.register("dropout", label="dropout on the IR", color="C8", marker="<", 
                   sweep={"rate": (0.25, 0.5, 0.75, 0.9)}, neutral={"rate": 0.0})
class Dropout(Defence):
    """Each IR element zeroed with probability ``rate`` at inference."""

    name = "dropout"

    def __init__(self, rate: float = 0.5, seed: int = 0) -> None:
        DropIR(rate)  # validates
        self.rate, self.seed = float(rate), int(seed)

    def config(self) -> dict[str, Any]:
        return {"rate": self.rate, "seed": self.seed}

    def tag(self) -> str:
        return f"dropout-r{number_tag(self.rate)}"

    def edge_macs(self, info: SplitInfo) -> float:
        return float(math.prod(info.ir_shape)) if self.rate > 0 else 0.0  # one mask multiply each

    def apply(self, victim: Victim, context: Context | None = None) -> Victim:
        edge = nn.Sequential(victim.edge_module, DropIR(self.rate, self.seed)).eval()
        return replace_edge(victim, edge, self.tag())


__all__ = ["DropIR", "Dropout"]
