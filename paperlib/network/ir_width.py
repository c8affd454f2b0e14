"""A searched strategy with its IR sent at fewer bits: the dynamic partition's second knob on the
transfer (docs/decisions/network.md §18).

At CIFAR's 32 × 32 a strategy's transfer size is fixed by its partition point (the IR leaves at
8 bits, R_a = {8}), and every strategy at least as private as the paper's sits at the same,
smallest IR (§14), so stored searches alone give the menu one size per model. Fig. 8 of the paper
varies the other factor of Eq. 9, the IR's bit width. A *width variant* of a searched strategy
runs the same quantized edge and re-quantizes its IR to ``bits`` before sending it
(:func:`paperlib.method.quant.resend_ir`); the edge's compute energy (Eq. 7-8) is unchanged.

Each variant is measured on the held-out *report* split, as every menu entry is (§18):

* top-1 on the report split's images (notebook 10 turns it into an ε paired with the full model
  there, :func:`paperlib.network.paths.width_variant_path`), of the searched strategy finetuned
  exactly as its reported top-1 was (:func:`paperlib.search.report_accuracy.strategy_network`: same finetune and seed;
  re-measured, it gives the search's reported top-1 back), then its IR re-quantized, with no
  finetune at the narrower width (so its accuracy loss is, if anything, overstated);
* P (Eq. 1-2) on the report split's privacy images (``SearchContext.report_privacy``), the edge
  quantized after training (the search's rule for P, so P is of the un-finetuned edge while the
  top-1 is of the finetuned one, as for every searched strategy) and its IR at ``bits``.

Results are cached beside the search (``ir_widths.json`` in its folder) with the fingerprint they
were measured for (the report's: checkpoint, split, finetune and seed; and what P depends on);
another fingerprint is measured again. The paper sends the IR at one width; the variants live in
notebook 10's menu only, never in a search or a table of the paper's.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from torch import nn

from ..infra import io
from ..method import quant, strategies, train
from ..method.genome import Genome
from ..search.context import EVAL_BATCH_SIZE
from ..search.report_accuracy import report_fingerprint, strategy_network

if TYPE_CHECKING:  # pragma: no cover
    from ..search.context import SearchContext
    from ..search.result import SearchResult

log = logging.getLogger(__name__)

VARIANTS_FILE = "ir_widths.json"
VARIANTS_VERSION = 2  # raise it when a change alters how a variant is measured


@dataclass
class WidthVariant(io.JsonRecord):
    """The searched strategy ``base_key`` with its IR sent at ``ir_bits`` (module docstring)."""

    base_key: str
    p: int
    ir_bits: int
    privacy: float  # P on the report split's privacy images
    top1: float  # on the report split
    top1_base: float  # the base strategy's, re-measured here (= its reported top-1)
    images: int  # report-split images the top-1 is scored on
    seconds: float  # since the measurement of this strategy's variants began (its finetune included)
    fingerprint: dict[str, Any] = field(default_factory=dict)


def _fingerprint(ctx: "SearchContext", result: "SearchResult") -> dict[str, Any]:
    key = str(result.best["key"])
    return io.json_safe({"version": VARIANTS_VERSION, "report": report_fingerprint(ctx, key, result.seed),
                         "privacy": ctx.record_source(), "report_privacy_images": ctx.settings.privacy_images})


def held_out_privacy(ctx: "SearchContext", genome: Genome, ir_bits: int | None = None, *,
                     edge: nn.Module | None = None) -> float:
    """P of ``genome`` on the report split's privacy images (the edge quantized after training;
    ``edge``: that network when already built), its IR re-quantized to ``ir_bits`` when given."""
    qnet = edge if edge is not None else quant.quantize_edge(ctx.net, genome.p, genome.policy).eval()
    return ctx.report_privacy.of(qnet if ir_bits is None else quant.resend_ir(qnet, ir_bits), genome.p)


def measure_variants(ctx: "SearchContext", result: "SearchResult",
                     widths: Sequence[int]) -> list[WidthVariant]:
    """The width variants of ``result``'s best strategy at each of ``widths`` fewer than its IR's
    bits (others are skipped), narrowest first, measured on ``ctx`` (the context its search ran
    on) or read from ``ir_widths.json`` in the search's folder."""
    widths = strategies.check_ir_widths(widths)
    todo = sorted(b for b in widths if b < int(result.best["ir_bits"]))
    path = Path(result.out_dir) / VARIANTS_FILE if result.out_dir else None
    cache = io.read_json(path) if path is not None and path.exists() else {}
    fp = _fingerprint(ctx, result)
    hits = {b: cache.get(f"ir{b}") for b in todo}
    if all(isinstance(h, dict) and h.get("fingerprint") == fp for h in hits.values()):
        return [WidthVariant.from_dict(hits[b]) for b in todo]
    t0 = time.perf_counter()
    genome = Genome.from_dict(result.best["genome"])
    qnet = strategy_network(ctx, genome, result.seed)  # the report's finetuned network
    if qnet is None:  # a strategy that quantizes nothing: its IR leaves at 32 bits
        qnet = quant.quantize_edge(ctx.net, genome.p, genome.policy)
    qnet.eval()
    batch = EVAL_BATCH_SIZE
    top1_base = float(train.correct(qnet, ctx.report_ds, batch).float().mean())
    reported = (result.report or {}).get("top1")
    if reported is not None and abs(top1_base - float(reported)) > 1e-9:
        log.warning("%s: the search's reported top-1 %.4f is not reproduced (%.4f); its report.json "
                    "was measured under other settings, so its width variants are not comparable "
                    "with it (rerun the search)", result.out_dir, reported, top1_base)
    edge = quant.quantize_edge(ctx.net, genome.p, genome.policy).eval()  # P's edge: not finetuned
    out = []
    for b in todo:
        top1 = float(train.correct(quant.resend_ir(qnet, b), ctx.report_ds, batch).float().mean())
        v = WidthVariant(base_key=str(result.best["key"]), p=int(genome.p), ir_bits=b,
                         privacy=held_out_privacy(ctx, genome, b, edge=edge), top1=top1,
                         top1_base=top1_base, images=len(ctx.report_ds),
                         seconds=time.perf_counter() - t0, fingerprint=fp)
        cache[f"ir{b}"] = v.to_dict()
        out.append(v)
    if path is not None:
        io.write_json(path, cache)
    return out


__all__ = ["VARIANTS_FILE", "WidthVariant", "held_out_privacy", "measure_variants"]
