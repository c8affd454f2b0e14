"""Algorithm 1's variation operators on strategy vectors (:mod:`paperlib.method.genome`): the
random initial genome (RANDOM_POLICY) and the mutation (MUTATE) of the paper's "Searching algorithm"
section (docs/decisions/paper-method.md §5)."""

from __future__ import annotations

import numpy as np

from ..method.constants import P_MUTATE_LAYER, P_MUTATE_PARTITION
from ..method.genome import FP_PAIR, Genome, GenomeSpace


def _draw_pair(space: GenomeSpace, rng: np.random.Generator) -> tuple[int, int]:
    w = space.weight_bits[int(rng.integers(len(space.weight_bits)))]
    a = space.activation_bits[int(rng.integers(len(space.activation_bits)))]
    return int(w), int(a)


def random_genome(space: GenomeSpace, rng: np.random.Generator) -> Genome:
    """Algorithm 1's RANDOM_POLICY: ``p`` uniform in 0..num_units, every searched entry uniform in
    R_w × R_a (masked entries are drawn too, so that a later mutation of ``p`` finds them set)."""
    p = int(rng.integers(0, space.num_units + 1))
    bits = [FP_PAIR] * space.num_layers
    for i in space.searchable:
        bits[i] = _draw_pair(space, rng)
    return Genome(p, tuple(bits))


def mutate(genome: Genome, space: GenomeSpace, rng: np.random.Generator,
           p_partition: float = P_MUTATE_PARTITION, p_layer: float = P_MUTATE_LAYER,
           fresh_exposed: bool = False) -> Genome:
    """Algorithm 1's MUTATE: ``p`` is re-drawn uniformly with probability ``p_partition`` and each
    searched entry π_i (masked ones too) re-drawn uniformly with probability ``p_layer``. A re-draw
    may return the old value, so a child can equal its parent (it then costs a cache hit).

    ``fresh_exposed`` (the package's default search, docs/decisions/paper-method.md §8): layers
    that a deeper ``p`` puts on the edge take the bits of the parent's deepest edge layer
    (:func:`exposed_bits`) instead of the stale random bits they kept while masked; the random
    draws are the same either way."""
    for name, prob in (("p_partition", p_partition), ("p_layer", p_layer)):
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f"{name} must be a probability in [0, 1], got {prob}")
    p = genome.p
    if rng.random() < p_partition:
        p = int(rng.integers(0, space.num_units + 1))
    bits = list(genome.bits)
    if fresh_exposed and p > genome.p:
        pair = exposed_bits(genome, space)
        for i in range(space.edge_counts[genome.p], space.edge_counts[p]):
            bits[i] = pair
    for i in space.searchable:
        if rng.random() < p_layer:
            bits[i] = _draw_pair(space, rng)
    return Genome(p, tuple(bits))


def exposed_bits(parent: Genome, space: GenomeSpace) -> tuple[int, int]:
    """The pair a layer newly put on the edge inherits: that of the parent's deepest searched edge
    layer, or the widest pair of the grid when the parent quantizes none (p = 0)."""
    edge = space.edge_range(parent.p)
    if len(edge):
        return tuple(parent.bits[edge[-1]])  # type: ignore[return-value]
    return max(space.weight_bits), max(space.activation_bits)


__all__ = ["random_genome", "mutate", "exposed_bits"]
