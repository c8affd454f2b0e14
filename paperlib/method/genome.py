"""Strategy vectors ``V = (p, Π)`` of the paper's "Searching algorithm" section
(docs/decisions/paper-method.md §5).

``p`` is the partition point (blocks after the stem on the edge, 0..num_units) and ``Π`` holds one
``(b_w, b_a)`` pair for *every* quantizable layer of the model, in ``models.quantizable_layers``
order, so that ``genome.bits`` is directly a policy for ``policy.resolve`` / ``quant.quantize_edge``.
The stem's layer(s) and the classifier are never quantized (the paper, after HAQ): their entries are
fixed at (32, 32) and never drawn. Entries of layers past ``p`` are *masked*: they are kept (a later
mutation of ``p`` may expose them again, as in the paper) but do not change the strategy, so two
genomes that differ only there share one canonical :func:`key` and are evaluated once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from torch import nn

from . import models
from .constants import ACTIVATION_BITS, WEIGHT_BITS
from .constants import FULL_PRECISION
from .strategies import FP_PAIR  # (32, 32): not quantized


@dataclass(frozen=True)
class GenomeSpace:
    """What a genome may hold for one model: its layers, units and the allowed bit sets."""

    layer_names: tuple[str, ...]  # every quantizable layer: stem, blocks, classifier
    edge_counts: tuple[int, ...]  # edge_counts[p] = quantizable layers on the edge at p (stem incl.)
    weight_bits: tuple[int, ...] = WEIGHT_BITS  # R_w
    activation_bits: tuple[int, ...] = ACTIVATION_BITS  # R_a

    @classmethod
    def from_net(cls, net: nn.Module, weight_bits: Sequence[int] = WEIGHT_BITS,
                 activation_bits: Sequence[int] = ACTIVATION_BITS) -> "GenomeSpace":
        names = tuple(name for name, _ in models.quantizable_layers(net))
        counts = tuple(models.edge_layer_count(net, p) for p in range(models.num_units(net) + 1))
        return cls(names, counts, tuple(weight_bits), tuple(activation_bits))

    def __post_init__(self) -> None:
        if not self.weight_bits or not self.activation_bits:
            raise ValueError("the weight and activation bit sets must not be empty")

    @property
    def num_units(self) -> int:
        return len(self.edge_counts) - 1

    @property
    def num_layers(self) -> int:
        return len(self.layer_names)

    @property
    def stem_layers(self) -> int:
        return self.edge_counts[0]

    @property
    def searchable(self) -> range:
        """Indices of the layers whose bits are searched: every layer of the blocks."""
        return range(self.edge_counts[0], self.edge_counts[-1])

    def edge_range(self, p: int) -> range:
        """Indices of the searched layers on the edge at ``p`` (the unmasked entries)."""
        self.check_p(p)
        return range(self.edge_counts[0], self.edge_counts[p])

    def unit_of(self, layer: int) -> int:
        """The block (1-based; 0 = stem) that holds quantizable layer ``layer``; the smallest ``p``
        that puts it on the edge. Classifier layers get ``num_units + 1``."""
        for p, count in enumerate(self.edge_counts):
            if layer < count:
                return p
        return self.num_units + 1

    def check_p(self, p: int) -> None:
        if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or not 0 <= p <= self.num_units:
            raise ValueError(f"partition point p={p!r} must be an integer in 0..{self.num_units}")


@dataclass(frozen=True)
class Genome:
    """``V = (p, Π)``; ``bits`` has one (b_w, b_a) pair per quantizable layer of the model."""

    p: int
    bits: tuple[tuple[int, int], ...]

    @property
    def policy(self) -> list[tuple[int, int]]:
        """The genome as a per-layer policy (paper-method.md §7); entries past ``p`` are ignored
        there."""
        return [tuple(b) for b in self.bits]  # type: ignore[misc]

    def edge_bits(self, space: GenomeSpace) -> list[tuple[int, int]]:
        """The unmasked entries: the searched layers on the edge, in forward order."""
        return [self.bits[i] for i in space.edge_range(self.p)]

    def to_dict(self) -> dict:
        return {"p": int(self.p), "bits": [list(b) for b in self.bits]}

    @classmethod
    def from_dict(cls, d: dict) -> "Genome":
        return cls(int(d["p"]), tuple((int(w), int(a)) for w, a in d["bits"]))

    @classmethod
    def uniform(cls, space: GenomeSpace, p: int, weight_bits: int,
                activation_bits: int | None = None) -> "Genome":
        """Every searched layer at (``weight_bits``, ``activation_bits``; default max of R_a): the
        grid of an exhaustive search over (p, uniform bit width)."""
        space.check_p(p)
        a = max(space.activation_bits) if activation_bits is None else activation_bits
        bits = [FP_PAIR] * space.num_layers
        for i in space.searchable:
            bits[i] = (int(weight_bits), int(a))
        return cls(int(p), tuple(bits))


def key(genome: Genome, space: GenomeSpace) -> str:
    """Canonical key: ``p`` and the unmasked entries only, e.g. ``"p2:w8a8,w4a8,w2a8,w6a8,w8a8"``.

    Genomes equal up to masked entries share a key and are one strategy (evaluated once)."""
    check(genome, space)
    return f"p{genome.p}:" + ",".join(f"w{w}a{a}" for w, a in genome.edge_bits(space))


def check(genome: Genome, space: GenomeSpace) -> None:
    """Raise ``ValueError`` unless the genome fits the space (length, bit sets, fixed entries)."""
    space.check_p(genome.p)
    if len(genome.bits) != space.num_layers:
        raise ValueError(f"genome has {len(genome.bits)} entries, the model {space.num_layers} "
                         "quantizable layers")
    searchable = space.searchable
    for i, (w, a) in enumerate(genome.bits):
        if i in searchable:
            # (32, 32): a layer left at full precision, as in the full-precision baseline the
            # default search starts from (docs/decisions/paper-method.md §8); MUTATE never draws it
            if (w, a) != FP_PAIR and (w not in space.weight_bits or a not in space.activation_bits):
                raise ValueError(f"entry {i} ({space.layer_names[i]}) is ({w}, {a}); allowed: "
                                 f"b_w in {list(space.weight_bits)}, b_a in {list(space.activation_bits)}"
                                 f", or {FP_PAIR} (full precision)")
        elif (w, a) != FP_PAIR:
            raise ValueError(f"entry {i} ({space.layer_names[i]}) is the stem or the classifier "
                             f"and must stay at {FP_PAIR}, got ({w}, {a})")


def uniform_genome(space: GenomeSpace, p: int, bits: int) -> Genome:
    """Every searched layer at ``bits`` (32: full precision) at partition ``p``, as a
    :class:`Genome` (``b_a`` = the largest activation width; none at 32 bits)."""
    if bits == FULL_PRECISION:
        space.check_p(p)
        return Genome(int(p), (FP_PAIR,) * space.num_layers)
    return Genome.uniform(space, p, bits)


__all__ = ["Genome", "GenomeSpace", "key", "check", "uniform_genome", "FP_PAIR"]
