"""A searched strategy with its IR sent at fewer bits: the dynamic partition's second knob on the
transfer (docs/decisions/network.md §18).

At CIFAR's 32 × 32 a strategy's transfer size is fixed by its partition point (the IR leaves at
8 bits, R_a = {8}), and every strategy at least as private as the paper's sits at the same,
smallest IR (§14), so stored searches alone give the menu one size per model. Fig. 8 of the paper
varies the other factor of Eq. 9, the IR's bit width. A *width variant* of a searched strategy
runs the same quantized edge and re-quantizes its IR to ``bits`` before sending it
(:func:`paperlib.method.quant.resend_ir`); the edge's compute energy (Eq. 7-8) is unchanged.

Each variant is measured as the search measures its strategy, on the same images:

* P (Eq. 1-2) on the search split's privacy images, the edge quantized after training
  (``SearchContext.privacy``'s rule) and its IR at ``bits``;
* top-1 = ``top1_fp − ε``, ε from the search's *reference* estimator: the searched strategy
  finetuned exactly as its reported top-1 was (same estimator, budget and seed), then its IR
  re-quantized, with no finetune at the narrower width (so ε is, if anything, pessimistic).

Results are cached beside the search (``ir_widths.json`` in its folder) with the fingerprint they
were measured for; another fingerprint is measured again. The paper sends the IR at one width;
the variants live in notebook 10's menu only, never in a search or a table of the paper's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from ..infra import io
from ..method import quant, strategies, train
from ..method.genome import Genome
from ..search.evaluator import seed_for

if TYPE_CHECKING:  # pragma: no cover
    from ..search.context import SearchContext
    from ..search.result import SearchResult

VARIANTS_FILE = "ir_widths.json"
VARIANTS_VERSION = 1  # raise it when a change alters how a variant is measured


@dataclass
class WidthVariant(io.JsonRecord):
    """The searched strategy ``base_key`` with its IR sent at ``ir_bits`` (module docstring)."""

    base_key: str
    p: int
    ir_bits: int
    privacy: float
    energy_no_tx_mj: float  # the base strategy's: the edge computes the same
    eps: float
    top1: float  # top1_fp − eps, as the searched strategy's ``best["top1"]``
    top1_base: float  # the base strategy's top-1 re-measured here (equals its ``best["top1"]``)
    seconds: float
    fingerprint: dict[str, Any] = field(default_factory=dict)


def _fingerprint(ctx: "SearchContext", result: "SearchResult") -> dict[str, Any]:
    est = ctx.estimator(ctx.settings.reference_estimator)
    return io.json_safe({"version": VARIANTS_VERSION, "model": ctx.model, "key": result.best["key"],
                         "seed": result.seed, **ctx.checkpoint_identity(),
                         "search_split_sha256": ctx.split.manifest()["search_sha256"],
                         "estimator": ctx.settings.reference_estimator,
                         "finetune_batches": getattr(est, "max_batches", None),
                         "privacy_images": ctx.settings.privacy_images})


def measure_variants(ctx: "SearchContext", result: "SearchResult",
                     widths: Sequence[int]) -> list[WidthVariant]:
    """The width variants of ``result``'s best strategy at each of ``widths`` fewer than its IR's
    bits (others are skipped), narrowest first, measured on ``ctx`` (the context its search ran
    on) or read from ``ir_widths.json`` in the search's folder."""
    widths = strategies.check_ir_widths(widths)
    now = int(result.best["ir_bits"])
    todo = sorted(b for b in widths if b < now)
    path = Path(result.out_dir) / VARIANTS_FILE if result.out_dir else None
    cache = io.read_json(path) if path is not None and path.exists() else {}
    fp = _fingerprint(ctx, result)
    hits = {b: cache.get(f"ir{b}") for b in todo}
    if all(isinstance(h, dict) and h.get("fingerprint") == fp for h in hits.values()):
        return [WidthVariant.from_dict(hits[b]) for b in todo]
    t0 = time.perf_counter()
    genome = Genome.from_dict(result.best["genome"])
    est = ctx.estimator(ctx.settings.reference_estimator)
    est.prepare()
    qnet = est.finetuned(genome, seed_for(result.seed, str(result.best["key"]))).eval()
    batch = est.ctx.eval_batch_size
    edge_q = quant.quantize_edge(ctx.net, genome.p, genome.policy).eval()  # P's rule: no finetune
    top1_base = ctx.top1_fp - (est.top1_fp - train.top1(qnet, est.eval_ds, batch))
    out = []
    for b in todo:
        top1_q = train.top1(quant.resend_ir(qnet, b), est.eval_ds, batch)
        eps = float(est.top1_fp - top1_q)
        v = WidthVariant(base_key=str(result.best["key"]), p=int(genome.p), ir_bits=b,
                         privacy=ctx.privacy.of(quant.resend_ir(edge_q, b), genome.p),
                         energy_no_tx_mj=float(result.best["energy_no_tx_mj"]), eps=eps,
                         top1=float(ctx.top1_fp - eps), top1_base=float(top1_base),
                         seconds=time.perf_counter() - t0, fingerprint=fp)
        cache[f"ir{b}"] = v.to_dict()
        out.append(v)
    if path is not None:
        io.write_json(path, cache)
    return out


__all__ = ["VARIANTS_FILE", "WidthVariant", "measure_variants"]
