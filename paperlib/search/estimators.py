"""Estimators of the quantization loss ε = top-1(fp) − top-1(quantized) (Eq. 10), by name.

=================== ====================================================================
``finetune``        The paper: quantize the edge, finetune the whole model for one epoch of
                    the training set (SGD, lr 1e-3, momentum 0.9, STE), top-1 on the search
                    split of the test images (docs/decisions/paper-method.md §9).
``finetune-batches`` The same finetune cut to ``finetune_batches`` batches, top-1 on a fixed
                    validation subset of ``validation_images`` search-split images.
``sensitivity``     EvoQ-style additive model: every searched layer's loss at every bit width
                    is measured once (that layer alone quantized, no finetune) on the
                    validation subset, plus the loss of quantizing the IR at every partition
                    point; ε of a strategy is the sum over its edge layers (and its IR), ≥ 0.
=================== ====================================================================

Each estimator is built from an :class:`EstimatorContext`, ``prepare()``-d once (the full-precision
baseline on its image set; the sensitivity table) and then asked ``estimate(genome, seed)``; the
seed (derived from the search seed and the strategy key) makes finetuning deterministic.
Register another with :func:`register`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn
from ..infra.progress import tqdm

from ..method import data, models, strategies, train
from ..infra import io
from ..method.constants import FINETUNE_LR, FINETUNE_MOMENTUM, FULL_PRECISION
from ..method.profiles import SearchSettings
from ..infra.registry import Registry
from .evaluator import AccuracyEstimate
from ..method.genome import Genome, GenomeSpace
from ..method import graph, quant

log = logging.getLogger(__name__)

SENSITIVITY_VERSION = 1


@dataclass
class EstimatorContext:
    """What an estimator may use: the trained fp model, its data and the search settings."""

    model: str
    net: nn.Module  # the trained full-precision model (never modified)
    space: GenomeSpace
    # the images ε is scored on: a search context passes its *search* split, never the report
    # split the tables report on (docs/decisions/paper-method.md §9)
    test_ds: data.CifarArrays
    train_ds: data.CifarArrays | None = None  # needed by the finetuning estimators
    settings: SearchSettings = field(default_factory=SearchSettings)
    batch_size: int = 128  # finetuning batch size (the profile's training batch size)
    eval_batch_size: int = 250
    cache_path: Path | None = None  # where ``sensitivity`` keeps its table (shared across runs)
    copy_path: Path | None = None  # a copy of the table next to the search's output
    identity: dict[str, Any] = field(default_factory=dict)  # checkpoint and data the table is for
    progress: bool = False
    per_channel: bool = True

    def validation(self) -> data.CifarArrays:
        """The fixed validation subset of the cheap estimators (``validation_images`` test images)."""
        return data.subset(self.test_ds, self.settings.validation_images, seed=0)


# Every ε estimator, by name: a class built from an :class:`EstimatorContext`. ``seed_free``: its
# ε does not depend on the search seed (so logs of other seeds may warm its cache, see baselines).
ESTIMATORS: Registry = Registry("accuracy estimator", defaults={"seed_free": False})


def register(name: str, *, label: str | None = None, **meta: Any) -> Callable:
    """Class decorator: make an estimator available by ``name`` (``meta``: e.g. ``seed_free``)."""
    def deco(cls):
        cls.name = name
        return ESTIMATORS.add(name, cls, label=label, **meta)
    return deco


def check_name(name: str) -> str:
    ESTIMATORS.entry(name)  # raises, listing the registered names
    return name


def make_estimator(name: str, ctx: EstimatorContext):
    """The estimator registered as ``name``, built on ``ctx`` (not yet prepared)."""
    return ESTIMATORS.get(name)(ctx)


# --- finetuning estimators ---------------------------------------------------------------------

@register("finetune")
class FinetuneEstimator:
    """The paper's ε (Eq. 10 and "Quantization loss evaluation"): ``quant.quantize_edge``, one
    epoch of SGD finetuning of the whole model (lr 1e-3, momentum 0.9, the profile's batch size,
    augmented training data, STE) and top-1 on the images it is given (``ctx.test_ds``: the
    search split in a search). The report measurement (:mod:`.report_accuracy`) reuses
    :meth:`finetuned`.

    Trades: nothing — it is the reference — but one epoch of training per strategy is the search's
    whole cost (the paper's Table 2 hours); on a CPU it is impractical beyond tiny subsets.
    """

    name = "finetune"
    max_batches: int | None = None

    def __init__(self, ctx: EstimatorContext) -> None:
        if ctx.train_ds is None:
            raise ValueError(f"the {self.name!r} estimator needs training data (train_ds)")
        self.ctx = ctx
        self.eval_ds = ctx.test_ds
        self.top1_fp: float | None = None
        self._last: tuple[tuple, nn.Module] | None = None  # the last finetuned strategy

    def __getstate__(self) -> dict[str, Any]:  # shipped to workers without the last network
        return {**self.__dict__, "_last": None}

    def prepare(self) -> None:
        if self.top1_fp is None:
            self.top1_fp = train.top1(self.ctx.net, self.eval_ds, self.ctx.eval_batch_size)

    def finetuned(self, genome: Genome, seed: int) -> nn.Module:
        """The strategy's network: ``ctx.net`` with ``genome``'s edge quantized, then finetuned
        (SGD, lr 1e-3, momentum 0.9; ``max_batches`` batches, None: one epoch) with ``seed``.
        The last one is kept: asked again for it (the reference re-score, then the report of the
        same strategy and seed) it is returned, not finetuned twice."""
        which = (genome.p, tuple(genome.bits), seed)
        if self._last is not None and self._last[0] == which:
            return self._last[1]
        torch.manual_seed(seed)
        qnet = quant.quantize_edge(self.ctx.net, genome.p, genome.policy, self.ctx.per_channel)
        qnet = train.finetune(qnet, self.ctx.train_ds, lr=FINETUNE_LR, momentum=FINETUNE_MOMENTUM,
                              batch_size=self.ctx.batch_size, max_batches=self.max_batches,
                              seed=seed)
        self._last = (which, qnet)
        return qnet

    def budget(self) -> dict[str, Any]:
        """The finetune this estimator gives a strategy (what a report records)."""
        return {"estimator": self.name, "finetune_batches": self.max_batches,
                "batch_size": self.ctx.batch_size}

    def estimate(self, genome: Genome, seed: int) -> AccuracyEstimate:
        self.prepare()
        top1 = train.top1(self.finetuned(genome, seed), self.eval_ds, self.ctx.eval_batch_size)
        return AccuracyEstimate(eps=self.top1_fp - top1, top1_fp=self.top1_fp, top1_quant=top1)


@register("finetune-batches")
class FinetuneBatchesEstimator(FinetuneEstimator):
    """The paper's finetune cut short: ``finetune_batches`` batches of SGD (same lr, momentum and
    batch size), top-1 on the fixed validation subset (``validation_images`` test images).

    Trades: a partial recovery from quantization (ε is biased upwards for low bit widths, most for
    those a full epoch would repair) and a noisier top-1 (±1/√n of the subset) for a cost of
    ``finetune_batches`` training steps instead of an epoch.
    """

    name = "finetune-batches"

    def __init__(self, ctx: EstimatorContext) -> None:
        super().__init__(ctx)
        if ctx.settings.finetune_batches < 1:
            raise ValueError(f"finetune_batches must be >= 1, got {ctx.settings.finetune_batches}")
        self.max_batches = ctx.settings.finetune_batches
        self.eval_ds = ctx.validation()


# --- sensitivity -------------------------------------------------------------------------------

def _pair_key(w: int, a: int) -> str:
    return f"w{w}a{a}"


@register("sensitivity", seed_free=True)
class SensitivityEstimator:
    """EvoQ-style additive ε (Yuan et al.), no finetuning.

    ``prepare()`` measures, on the validation subset with the trained weights, the top-1 loss of
    quantizing each searched layer *alone* at each (b_w, b_a) ∈ R_w × R_a (its weights and its
    input activations, ``quant.wrap_layer``), and the loss of quantizing *only* the IR leaving unit
    p at each b_a (p ≥ 1). Only the network from the layer's unit on is run, on cached
    full-precision activations entering that unit. The table is cached as JSON (``cache_path``,
    keyed by the checkpoint, the data and the bit sets) and reused by later runs.
    ``estimate`` then predicts ε = max(0, Σ_edge layers loss_i(b_w, b_a) + loss_IR(p, ir_bits)).

    Trades: interactions between layers are ignored (losses of low-bit layers compound, so deep
    low-bit strategies are under-estimated), there is no finetuning (so ε is that of
    post-training quantization: over-estimated for 2-bit layers a finetune would repair), and
    the top-1 differences are measured on a subset (±1/√n noise per layer, summed). In exchange a
    strategy costs microseconds after one pass of ~|layers|·|R_w| partial forward passes.
    """

    name = "sensitivity"

    def __init__(self, ctx: EstimatorContext) -> None:
        self.ctx = ctx
        self.table: dict[str, Any] | None = None

    # the cache file ------------------------------------------------------------------------
    def _identity(self) -> dict[str, Any]:
        ctx = self.ctx
        return {"version": SENSITIVITY_VERSION, "model": ctx.model, **ctx.identity,
                "validation_images": ctx.settings.validation_images,
                "weight_bits": list(ctx.space.weight_bits),
                "activation_bits": list(ctx.space.activation_bits),
                "layers": list(ctx.space.layer_names), "per_channel": ctx.per_channel}

    def _load(self) -> dict[str, Any] | None:
        path = self.ctx.cache_path
        if path is None or not path.exists():
            return None
        try:
            table = io.read_json(path)
        except ValueError:
            return None
        if table.get("identity") != self._identity():
            log.info("sensitivity table %s is for another checkpoint or setting; re-measuring", path)
            return None
        return table

    def _save(self, table: dict[str, Any]) -> None:
        for path in (self.ctx.cache_path, self.ctx.copy_path):
            if path is not None:
                io.write_json(path, table)

    def prepare(self) -> None:
        if self.table is not None and self.table.get("complete"):
            return
        table = self._load()
        if table is None or not table.get("complete"):
            table = self._measure(table)
        elif self.ctx.copy_path is not None:
            io.write_json(self.ctx.copy_path, table)
        self.table = table

    @torch.no_grad()
    def _measure(self, partial: dict[str, Any] | None) -> dict[str, Any]:
        """Measure the table, resuming a partial one (it is saved after every unit)."""
        ctx, space = self.ctx, self.ctx.space
        net = ctx.net.eval()
        val = ctx.validation()
        device = next(net.parameters()).device
        x = data.normalize(val.images, val.dataset).to(device)
        y = val.labels.to(device)
        # stem, units and head as composable pieces sharing net's modules (paperlib.method.graph)
        pieces = graph.segments(net)
        stem, blocks, head = pieces[0], pieces[1:-1], pieces[-1]
        chunk = ctx.eval_batch_size
        table = partial or {"identity": self._identity(), "layers": {}, "ir": {},
                            "seconds": 0.0, "complete": False}
        t0 = time.perf_counter()
        prior = table.get("seconds", 0.0)

        def top1_from(h: torch.Tensor, start: int, first: nn.Module | None = None,
                      transform: Callable[[torch.Tensor], torch.Tensor] | None = None) -> float:
            """top-1 of the network run from block ``start`` on activations ``h`` (block
            ``start`` replaced by ``first`` when given; ``transform`` applied to ``h`` first)."""
            correct = 0
            for i in range(0, len(h), chunk):
                z = h[i:i + chunk]
                if transform is not None:
                    z = transform(z)
                for j in range(start, len(blocks)):
                    z = (first if (j == start and first is not None) else blocks[j])(z)
                correct += (head(z).argmax(1) == y[i:i + chunk]).sum().item()
            return correct / max(len(h), 1)

        def ir_quantizer(bits: int) -> Callable[[torch.Tensor], torch.Tensor]:
            return lambda z: quant.quantize_activation(z, bits)  # as quantize_edge's output hook

        h = torch.cat([stem(x[i:i + chunk]) for i in range(0, len(x), chunk)])
        fp = top1_from(h, 0)
        if "top1_fp" in table and table["top1_fp"] != fp:  # another machine's numbers: start over
            table = {"identity": self._identity(), "layers": {}, "ir": {}, "seconds": 0.0,
                     "complete": False}
            prior = 0.0
        table["top1_fp"] = fp
        unit_layers = models.unit_layers(net)
        n_meas = sum(len(u) for u in unit_layers[1:]) * len(space.weight_bits) * len(space.activation_bits)
        n_meas += space.num_units * len(space.activation_bits)
        bar = tqdm(total=n_meas, desc=f"sensitivity {ctx.model}", disable=not ctx.progress,
                   dynamic_ncols=True)
        for u, block in enumerate(blocks):
            p = u  # h is the output of unit p (the IR at partition point p), the input of block u
            done = all(name in table["layers"] for name, _ in unit_layers[u + 1]) and (
                p == 0 or str(p) in table["ir"])
            if not done:
                if p >= 1:
                    table["ir"][str(p)] = {f"a{a}": fp - top1_from(h, u, transform=ir_quantizer(a))
                                           for a in space.activation_bits}
                    bar.update(len(space.activation_bits))
                for name, layer in unit_layers[u + 1]:
                    losses = {}
                    for w in space.weight_bits:
                        for a in space.activation_bits:
                            qlayer = quant.wrap_layer(layer, w, a, ctx.per_channel)
                            quant.set_submodule(block, name, qlayer)  # the piece runs unit u+1
                            try:
                                losses[_pair_key(w, a)] = fp - top1_from(h, u)
                            finally:
                                quant.set_submodule(block, name, layer)
                            bar.update(1)
                    table["layers"][name] = losses
                table["seconds"] = round(prior + time.perf_counter() - t0, 3)
                self._save(table)
            else:
                bar.update(len(unit_layers[u + 1]) * len(space.weight_bits) * len(space.activation_bits)
                           + (len(space.activation_bits) if p >= 1 else 0))
            h = torch.cat([block(h[i:i + chunk]) for i in range(0, len(h), chunk)])
        p = len(blocks)
        if str(p) not in table["ir"]:
            table["ir"][str(p)] = {f"a{a}": fp - top1_from(h, p, transform=ir_quantizer(a))
                                   for a in space.activation_bits}
        bar.update(len(space.activation_bits))
        bar.close()
        table["seconds"] = round(prior + time.perf_counter() - t0, 3)
        table["complete"] = True
        self._save(table)
        return table

    @property
    def setup_seconds(self) -> float:
        """Seconds the table took to measure (when it was measured, possibly by an earlier run)."""
        return float(self.table["seconds"]) if self.table else 0.0

    def estimate(self, genome: Genome, seed: int = 0) -> AccuracyEstimate:
        self.prepare()
        t = self.table
        space = self.ctx.space
        total = 0.0
        for i in space.edge_range(genome.p):
            w, a = genome.bits[i]
            if (w, a) != strategies.FP_PAIR:
                total += t["layers"][space.layer_names[i]][_pair_key(w, a)]
        ir = strategies.ir_bits(genome.edge_bits(space))
        if ir != FULL_PRECISION:
            total += t["ir"][str(genome.p)][f"a{ir}"]
        eps = max(0.0, total)
        return AccuracyEstimate(eps=eps, top1_fp=t["top1_fp"], top1_quant=t["top1_fp"] - eps)


__all__ = ["EstimatorContext", "ESTIMATORS", "register", "check_name", "make_estimator",
           "FinetuneEstimator", "FinetuneBatchesEstimator", "SensitivityEstimator"]
