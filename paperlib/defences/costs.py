"""What a defended edge costs per image, in mJ: Eq. 7–9 plus the defence's own operations
(docs/decisions/defences.md §2).

``E = Σ E_L (Eq. 8, the split's policy) + MACs_defence · E_MAC|32 + E_T`` with ``E_T`` (Eq. 9) the
IR elements at the width the defence sends them. The defence's operations are counted as
full-precision MACs (a noise draw plus an add, a mask multiply, a mixing or de-mixing
multiply-add); their operands are the IR the edge already holds, so no memory term is added.
"""

from __future__ import annotations

import math

from torch import nn

from ..method import energy
from ..attacks.victim import SplitInfo
from ..method.constants import FULL_PRECISION
from ..method.energy import PJ_PER_MJ
from .base import Defence


def defence_mj(macs: float) -> float:
    """``macs`` full-precision MACs in mJ (Table 3's E_MAC at 32 bits)."""
    return float(macs) * energy.e_mac_pj(FULL_PRECISION) / PJ_PER_MJ


def edge_cost(net: nn.Module, p: int, policy, info: SplitInfo, defence: Defence | None) -> dict[str, float]:
    """Per image, in mJ: ``compute`` (Eq. 8 over the edge layers), ``defence`` (its own MACs),
    ``transmission`` (Eq. 9 at the sent width) and their sum ``energy``; ``energy_no_tx`` without
    E_T (the paper's "conv/fc" energy)."""
    compute = energy.edge_energy(net, p, policy, transmission=False)
    macs = defence.edge_macs(info) if defence is not None else 0.0
    bits = defence.sent_bits(info) if defence is not None else int(info.ir_bits)
    tx = energy.transmission_pj(math.prod(info.ir_shape), bits) / PJ_PER_MJ
    extra = defence_mj(macs)
    return {"compute": compute, "defence": extra, "defence_macs": float(macs),
            "transmission": tx, "energy": compute + extra + tx, "energy_no_tx": compute + extra}


__all__ = ["defence_mj", "edge_cost"]
