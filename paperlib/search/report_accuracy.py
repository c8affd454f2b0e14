"""The reported ε of one strategy: the paper's ε, measured on the *report* split as a paired
difference (docs/decisions/paper-method.md §9).

:func:`measure_report` finetunes the strategy as a whole (``FinetuneEstimator.finetuned``: the
reference estimator's budget, the paper's one epoch when the reference estimator does not
finetune), classifies every report-split image with it and with the full-precision network, and
gives ε = top-1(fp) − top-1(strategy) on those images with its paired-bootstrap 95 % interval and
exact McNemar p-value (:func:`paperlib.method.paired_accuracy.paired_difference`). A strategy that
quantizes nothing is the full-precision network: ε = 0 exactly, nothing finetuned.

The finetune is seeded as the reference re-score is (:func:`~paperlib.search.evaluator.seed_for`
of the search seed and the strategy key). Results are cached per strategy key in ``report.json``
(in the search's output folder, or the tables' folder) with the fingerprint they were measured
for (checkpoint, data, the split's digests, the finetune budget, the seed); another fingerprint
is measured again, so a rerun measures nothing and a changed setting never reuses a number.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torch import nn

from ..infra import io
from ..method import strategies, train
from ..method.constants import FULL_PRECISION
from ..method.genome import FP_PAIR, Genome, key as genome_key
from ..method.paired_accuracy import paired_difference
from .estimators import FinetuneEstimator
from .evaluator import seed_for

if TYPE_CHECKING:  # pragma: no cover
    from .context import SearchContext

REPORT_FILE = "report.json"
REPORT_VERSION = 1  # raise it when a change alters how a report is measured
PAPER_ESTIMATOR = "finetune"  # the paper's ε: one epoch of finetuning (Eq. 10)


@dataclass
class ReportAccuracy(io.JsonRecord):
    """One strategy's reported accuracy: ε = ``top1_fp`` − ``top1`` on ``images`` report-split
    images, its 95 % interval [``ci_low``, ``ci_high``], McNemar's discordant counts and p-value,
    the finetune it was given (``estimator``'s budget: ``finetune_batches`` batches, None for the
    paper's epoch) and the ``fingerprint`` it was measured for."""

    key: str
    eps: float
    ci_low: float
    ci_high: float
    mcnemar_p: float
    top1_fp: float
    top1: float
    images: int
    fp_only: int  # images the fp network gets right and the strategy wrong
    strategy_only: int  # the reverse
    estimator: str
    finetune_batches: int | None
    seconds: float  # the measurement's cost (when it was measured)
    fingerprint: dict[str, Any] = field(default_factory=dict)


def finetune_estimator(ctx: "SearchContext") -> FinetuneEstimator:
    """The estimator whose finetune a report uses: the profile's reference estimator when it
    finetunes (``finetune-batches`` at smoke and quick), else the paper's ``finetune``."""
    est = ctx.estimator(ctx.settings.reference_estimator)
    if isinstance(est, FinetuneEstimator):
        return est
    return ctx.estimator(PAPER_ESTIMATOR)


def quantizes_nothing(ctx: "SearchContext", genome: Genome) -> bool:
    """True when ``genome`` leaves the whole network at full precision (no edge layer quantized,
    the IR sent at 32 bits): its report is the full-precision network's."""
    pairs = genome.edge_bits(ctx.space)
    return all(tuple(pair) == FP_PAIR for pair in pairs) and \
        strategies.ir_bits(pairs) == FULL_PRECISION


def strategy_network(ctx: "SearchContext", genome: Genome, seed: int) -> nn.Module | None:
    """The network a report measures ``genome`` on (search seed ``seed``): ``None`` when it
    quantizes nothing (the full-precision ``ctx.net`` itself), else the strategy finetuned as a
    whole by :func:`finetune_estimator`, seeded ``seed_for(seed, key)``
    (docs/decisions/paper-method.md §9). The estimator keeps the last one, so asking again for
    the same strategy and seed finetunes nothing."""
    if quantizes_nothing(ctx, genome):
        return None
    k = genome_key(genome, ctx.space)
    return finetune_estimator(ctx).finetuned(genome, seed_for(seed, k))


def report_fingerprint(ctx: "SearchContext", key: str, seed: int) -> dict[str, Any]:
    """What a report of strategy ``key`` (search seed ``seed``) depends on."""
    return io.json_safe({"version": REPORT_VERSION, "model": ctx.model, "key": key, "seed": seed,
                         **ctx.checkpoint_identity(), "evaluation_split": ctx.split.manifest(),
                         **finetune_estimator(ctx).budget()})


def _cached(path: Path | None, key: str, fingerprint: dict[str, Any]) -> ReportAccuracy | None:
    if path is None or not path.exists():
        return None
    hit = io.read_json(path).get(key)
    if isinstance(hit, dict) and hit.get("fingerprint") == fingerprint:
        return ReportAccuracy.from_dict(hit)
    return None


def measure_report(ctx: "SearchContext", genome: Genome, seed: int, *,
                   path: str | os.PathLike | None = None) -> ReportAccuracy:
    """The reported ε of ``genome`` (search seed ``seed``) on ``ctx``'s report split (module
    docstring); read from ``path`` (a ``report.json``) when measured there for the same
    fingerprint, else measured and added to it."""
    path = Path(path) if path is not None else None
    k = genome_key(genome, ctx.space)
    fingerprint = report_fingerprint(ctx, k, seed)
    hit = _cached(path, k, fingerprint)
    if hit is not None:
        return hit
    t0 = time.perf_counter()
    correct_fp = ctx.report_correct_fp()
    est = finetune_estimator(ctx)
    qnet = strategy_network(ctx, genome, seed)
    correct_q = correct_fp if qnet is None else \
        train.correct(qnet, ctx.report_ds, est.ctx.eval_batch_size).numpy()
    d = paired_difference(correct_fp, correct_q)
    report = ReportAccuracy(
        key=k, eps=d.eps, ci_low=d.low, ci_high=d.high, mcnemar_p=d.mcnemar_p,
        top1_fp=d.top1_fp, top1=d.top1_strategy, images=d.images, fp_only=d.fp_only,
        strategy_only=d.strategy_only, estimator=est.name, finetune_batches=est.max_batches,
        seconds=time.perf_counter() - t0, fingerprint=fingerprint)
    if path is not None:
        cache = io.read_json(path) if path.exists() else {}
        cache[k] = report.to_dict()
        io.write_json(path, cache)
    return report


__all__ = ["REPORT_FILE", "ReportAccuracy", "measure_report", "report_fingerprint",
           "finetune_estimator", "quantizes_nothing", "strategy_network"]
