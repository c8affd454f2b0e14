"""Quantization policies: which (b_w, b_a) every quantizable layer runs at
(docs/decisions/paper-method.md §2, §7).

A policy is either one int ``b`` (every quantizable edge layer at (b, b); 32 = full precision) or a
sequence of ``(b_w, b_a)`` pairs, one per quantizable layer of the whole model, entries past the
partition point ignored. The first layer and the classifier always stay at full precision (the
paper, after HAQ).
"""

from __future__ import annotations

from typing import Sequence, Union

from torch import nn

from . import models, strategies
from .constants import POLICY_BITS
from .strategies import FP_PAIR as FP
from .strategies import check_bits

Policy = Union[int, Sequence[Sequence[int]]]


def resolve(net: nn.Module, p: int, policy: Policy) -> list[tuple[int, int]]:
    """One ``(b_w, b_a)`` pair per quantizable layer, the effective policy at partition ``p``.

    Layers past the edge, the first layer and the classifier come back as (32, 32).
    Raises ``ValueError`` naming the offending entry for a malformed policy.
    """
    n_layers = len(models.quantizable_layers(net))
    n_edge = models.edge_layer_count(net, p)  # also validates p
    if isinstance(policy, (int,)) and not isinstance(policy, bool):
        b = check_bits(policy, POLICY_BITS, "policy")
        pairs = [(b, b)] * n_layers
    else:
        try:
            pairs = [tuple(pair) for pair in policy]  # type: ignore[union-attr]
        except TypeError:
            raise ValueError(
                f"policy must be an int bit width or a sequence of (b_w, b_a) pairs, got {policy!r}"
            ) from None
        if len(pairs) != n_layers:
            raise ValueError(
                f"policy has {len(pairs)} entries but this model has {n_layers} quantizable "
                f"layers (see models.quantizable_layers); give one (b_w, b_a) pair per layer"
            )
        for i, pair in enumerate(pairs):
            if len(pair) != 2:
                raise ValueError(f"policy entry {i} is {pair!r}; it must be a (b_w, b_a) pair")
            check_bits(pair[0], POLICY_BITS, f"policy entry {i} (weights)")
            check_bits(pair[1], POLICY_BITS, f"policy entry {i} (activations)")
    return [FP if i == 0 or i >= n_edge else (int(bw), int(ba)) for i, (bw, ba) in enumerate(pairs)]


def ir_bits(net: nn.Module, p: int, policy: Policy) -> int:
    """Bit width of the IR sent to the cloud (:func:`paperlib.method.strategies.ir_bits` of the edge
    layers after the first): 32 when nothing on the edge is quantized."""
    return strategies.ir_bits(resolve(net, p, policy)[1: models.edge_layer_count(net, p)])
