"""The paper's own protection as reference rows: no extra defence, the strategy itself (deep
partition, quantized edge) protects (docs/decisions/defences.md §5). The strategies come from
:mod:`paperlib.method.paper_strategies` (fp32 and 8-bit uniform at the deepest partition under E_b) and from
the genetic search's result (the searched one); nothing is re-derived here."""

from __future__ import annotations

from typing import Any

from torch import nn

from ..method import paper_strategies
from ..attacks.victim import SplitInfo, Victim
from .base import DEFENCES, Context, Defence


@DEFENCES.register("none", label="no defence (the strategy alone)", color="k", marker="D")
class NoDefence(Defence):
    """The split as deployed: what the paper's strategies rely on."""

    name = "none"

    def config(self) -> dict[str, Any]:
        return {}

    def tag(self) -> str:
        return "none"

    def edge_macs(self, info: SplitInfo) -> float:
        return 0.0

    def apply(self, victim: Victim, context: Context | None = None) -> Victim:
        return victim


def paper_strategy_rows(net: nn.Module, energy_bound: float, searched: tuple[int, Any] | None = None,
                         transmission: bool = False) -> dict[str, tuple[int, Any]]:
    """``{method: (p, policy)}`` of the paper's Table 4 rows for ``net`` under ``energy_bound`` mJ:
    full precision and 8-bit uniform at the deepest partition (:class:`paper_strategies.PaperStrategy`),
    plus ``searched`` (the search's best ``(p, policy)``) when given; ``transmission``: whether
    E_b bounds E_T too (the profile's ``search.include_transmission``). A row whose partition does
    not fit is left out."""
    rows: dict[str, tuple[int, Any]] = {}
    for ref in (paper_strategies.PaperStrategy.FP32, paper_strategies.PaperStrategy.UNIFORM8):
        p = ref.partition(net, energy_bound, transmission=transmission)
        if p is not None:
            rows[ref.method] = (int(p), int(ref.bits))
    if searched is not None:
        rows[paper_strategies.PaperStrategy.SEARCHED.method] = (int(searched[0]), searched[1])
    return rows


__all__ = ["NoDefence", "paper_strategy_rows"]
