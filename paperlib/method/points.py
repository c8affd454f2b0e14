"""A model's partition points at a glance: per point p, the module whose output leaves the edge,
the IR's shape, the MACs run on the edge and the bits sent to the cloud (Eq. 8-9's counts;
``paperlib points``, docs/decisions/graph-and-hardware.md §10)."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from . import graph, models
from .energy import EnergyModel

SENT_BITS: tuple[int, ...] = (8, 32)  # the IR's bit widths listed: the searched 8 bit and fp32


@dataclass(frozen=True)
class PartitionPoint:
    """One partition point p: everything up to ``module`` runs on the edge."""

    p: int
    module: str
    ir_shape: tuple[int, ...]  # of one image: (C, h, w)
    edge_macs: int  # MACs of the edge layers, stem included
    ir_elements: int

    def bits_sent(self, bits: int) -> int:
        """The bits the IR costs on the uplink at ``bits`` per element (Eq. 9's count)."""
        return self.ir_elements * bits


@torch.no_grad()
def _ir_shapes(net: nn.Module) -> list[tuple[int, ...]]:
    """The shape (one image, batch dropped) of every unit's output, on a shape-only copy."""
    net = copy.deepcopy(net).to("meta").eval()
    shapes: dict[int, tuple[int, ...]] = {}
    hooks = [m.register_forward_hook(lambda _m, _i, out, p=p: shapes.__setitem__(p, tuple(out.shape[1:])))
             for p, m in enumerate(models.units(net))]
    try:
        net(torch.zeros((1, *models.input_shape(net)), device="meta"))
    finally:
        for h in hooks:
            h.remove()
    return [shapes[p] for p in range(len(shapes))]


def partition_points(net: nn.Module) -> list[PartitionPoint]:
    """Every partition point of ``net`` (p = 0: the stem alone on the edge)."""
    part = graph.analyse(net)
    energy = EnergyModel.for_net(net)
    shapes = _ir_shapes(net)
    return [PartitionPoint(p=p, module=part.unit_modules[p], ir_shape=shapes[p],
                           edge_macs=int(energy.macs[: energy.edge_layers[p]].sum()),
                           ir_elements=int(energy.ir_elements[p]))
            for p in range(part.num_units + 1)]


def points_table(name: str, points: list[PartitionPoint]) -> str:
    """The lines ``paperlib points`` prints for model ``name``."""
    head = (f"{'p':>3}  {'module':<24} {'IR shape':<16} {'edge MACs':>14}"
            + "".join(f" {f'bits sent @{b}':>16}" for b in SENT_BITS))
    rows = [f"{pt.p:>3}  {pt.module:<24} {str(pt.ir_shape):<16} {pt.edge_macs:>14,}"
            + "".join(f" {pt.bits_sent(b):>16,}" for b in SENT_BITS) for pt in points]
    return "\n".join([f"{name}: {len(points)} partition points (p = 0 .. {len(points) - 1})",
                      head, *rows])


__all__ = ["PartitionPoint", "partition_points", "points_table", "SENT_BITS"]
