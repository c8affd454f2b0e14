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
           p_partition: float = P_MUTATE_PARTITION, p_layer: float = P_MUTATE_LAYER) -> Genome:
    """Algorithm 1's MUTATE: ``p`` is re-drawn uniformly with probability ``p_partition`` and each
    searched entry π_i (masked ones too) re-drawn uniformly with probability ``p_layer``. A re-draw
    may return the old value, so a child can equal its parent (it then costs a cache hit)."""
    for name, prob in (("p_partition", p_partition), ("p_layer", p_layer)):
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f"{name} must be a probability in [0, 1], got {prob}")
    p = genome.p
    if rng.random() < p_partition:
        p = int(rng.integers(0, space.num_units + 1))
    bits = list(genome.bits)
    for i in space.searchable:
        if rng.random() < p_layer:
            bits[i] = _draw_pair(space, rng)
    return Genome(p, tuple(bits))


__all__ = ["random_genome", "mutate"]
