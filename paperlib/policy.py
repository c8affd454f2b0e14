"""Quantization policies: which (b_w, b_a) every quantizable layer runs at (SPEC §7).

A policy is either one int ``b`` (every quantizable edge layer at (b, b); 32 = full precision) or a
sequence of ``(b_w, b_a)`` pairs, one per quantizable layer of the whole model, entries past the
partition point ignored. The first layer and the classifier always stay at full precision (the
paper, after HAQ).
"""

from __future__ import annotations

from typing import Sequence, Union

from torch import nn

from . import models
from .constants import FULL_PRECISION, POLICY_BITS

Policy = Union[int, Sequence[Sequence[int]]]
FP = (FULL_PRECISION, FULL_PRECISION)


def _check_bits(bits: object, where: str) -> int:
    if isinstance(bits, bool) or not isinstance(bits, int) or bits not in POLICY_BITS:
        raise ValueError(
            f"{where}: bit width {bits!r} is not allowed; use one of {list(POLICY_BITS)} "
            f"({FULL_PRECISION} = not quantized)"
        )
    return bits


def resolve(net: nn.Module, p: int, policy: Policy) -> list[tuple[int, int]]:
    """One ``(b_w, b_a)`` pair per quantizable layer, the effective policy at partition ``p``.

    Layers past the edge, the first layer and the classifier come back as (32, 32).
    Raises ``ValueError`` naming the offending entry for a malformed policy.
    """
    n_layers = len(models.quantizable_layers(net))
    n_edge = models.edge_layer_count(net, p)  # also validates p
    if isinstance(policy, (int,)) and not isinstance(policy, bool):
        b = _check_bits(policy, "policy")
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
            _check_bits(pair[0], f"policy entry {i} (weights)")
            _check_bits(pair[1], f"policy entry {i} (activations)")
    return [FP if i == 0 or i >= n_edge else (int(bw), int(ba)) for i, (bw, ba) in enumerate(pairs)]


def ir_bits(net: nn.Module, p: int, policy: Policy) -> int:
    """Bit width of the IR sent to the cloud: the activation width of the last quantized edge
    layer; 32 when nothing on the edge is quantized (p = 0 or a full-precision policy)."""
    pairs = resolve(net, p, policy)[: models.edge_layer_count(net, p)]
    quantized = [ba for bw, ba in pairs[1:] if (bw, ba) != FP]
    return quantized[-1] if quantized else FULL_PRECISION
