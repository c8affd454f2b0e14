"""Notebook 09's top-1 and ε measured as Table 4 measures them (docs/decisions/defences.md §1,
§7; docs/decisions/paper-method.md §9).

A row at ``(p, policy)`` deploys the network Table 4 reports that strategy on
(:func:`paperlib.search.report_accuracy.strategy_network`): the trained full-precision network,
or the strategy finetuned as a whole with Table 4's budget and seed rule. Its defence is applied
on top of that network. The row's top-1 is read on the search context's *report* split, and its
ε is the paired difference against the undefended full-precision network on the same images
(:func:`paperlib.method.paired_accuracy.paired_difference`: 95 % interval, McNemar p).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from torch import nn

from ..method.genome import Genome, GenomeSpace, key as genome_key, uniform_genome
from ..method.paired_accuracy import PairedDifference, paired_difference
from ..search.evaluator import seed_for
from ..search.report_accuracy import (finetune_estimator, quantizes_nothing, report_fingerprint,
                                      strategy_network)

if TYPE_CHECKING:  # pragma: no cover
    from ..search.context import SearchContext


def strategy_genome(space: GenomeSpace, p: int, policy: Any) -> Genome:
    """``(p, policy)`` as the genome Table 4 measures: an int policy as its uniform genome (the
    fixed strategies, ``PaperStrategy.genome``), per-layer pairs as they are (the searched and
    the RL strategy's ``Genome.policy``). A policy outside the search space is refused."""
    if isinstance(policy, (int, np.integer)) and not isinstance(policy, bool):
        genome = uniform_genome(space, int(p), int(policy))
    else:
        genome = Genome(int(p), tuple((int(w), int(a)) for w, a in policy))
    genome_key(genome, space)  # checks it against the space, naming a bad entry
    return genome


@dataclass(frozen=True)
class ReportRow:
    """What one row's top-1 and ε are measured with, resolved once per row: the search context
    ``ctx`` (its report split and its finetune), the strategy's ``genome`` and the search
    ``seed`` of Table 4's seed rule (``seed_for(seed, key)``)."""

    ctx: "SearchContext"
    genome: Genome
    seed: int

    @classmethod
    def of(cls, ctx: "SearchContext", p: int, policy: Any, seed: int) -> "ReportRow":
        return cls(ctx, strategy_genome(ctx.space, p, policy), int(seed))

    @property
    def key(self) -> str:
        return genome_key(self.genome, self.ctx.space)

    @property
    def finetuned(self) -> bool:
        """Whether the row's network is a finetuned strategy (False: the trained fp network)."""
        return not quantizes_nothing(self.ctx, self.genome)

    def finetune(self) -> dict[str, Any]:
        """The finetune the row's network got (budget and torch seed); ``{}`` for none."""
        if not self.finetuned:
            return {}
        return {**finetune_estimator(self.ctx).budget(), "seed": seed_for(self.seed, self.key)}

    def fingerprint(self) -> dict[str, Any]:
        """What the row's top-1 and ε depend on: Table 4's report fingerprint of the strategy
        (checkpoint, the split's manifest, the finetune budget, the seed)."""
        return report_fingerprint(self.ctx, self.key, self.seed)

    def network(self) -> nn.Module | None:
        """The finetuned strategy; ``None`` when the row's network is ``ctx.net`` itself."""
        return strategy_network(self.ctx, self.genome, self.seed)

    def paired(self, correct: np.ndarray) -> PairedDifference:
        """ε of the row whose per-image correctness on the report split is ``correct``, against
        the undefended full-precision network on the same images."""
        return paired_difference(self.ctx.report_correct_fp(), correct)

    def split(self) -> dict[str, Any]:
        """The report split's manifest (what a row records of its images)."""
        return self.ctx.split.manifest()


__all__ = ["ReportRow", "strategy_genome"]
