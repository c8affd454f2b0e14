"""The rules every strategy obeys, and the paper's fixed strategies, each in one function.

A *strategy* is ``V = (p, Π)``: a partition point and a ``(b_w, b_a)`` pair per quantizable layer
(:mod:`paperlib.method.policy`, :class:`paperlib.search.Genome`). Here live:

* :func:`check_bits`: the one validator of a bit width (the quantizer accepts 2..16 bits or 32,
  a policy the paper's set ``constants.POLICY_BITS``);
* :func:`ir_bits`: the bit width of the IR sent to the cloud (Eq. 9), used by the policy, the
  energy model, the ε estimators and the search's result;

The paper's fixed strategies (Tables 4 and 5) are :mod:`paperlib.method.paper_strategies`.

Decisions: ``docs/decisions/paper-method.md`` (§2 bit widths, §3 energy, §6 fixed strategies).
"""

from __future__ import annotations

from typing import Collection, Iterable

from .constants import FULL_PRECISION, POLICY_BITS

MIN_BITS, MAX_BITS = 2, 16  # what the quantizer can do (the paper searches 2/4/6/8)
FP_PAIR = (FULL_PRECISION, FULL_PRECISION)
IR_WIDTHS: tuple[int, ...] = tuple(b for b in POLICY_BITS if b != FULL_PRECISION)  # an IR may be sent at


def check_bits(bits: object, allowed: Collection[int] | None = None, where: str | None = None) -> int:
    """``bits`` if it is an allowed bit width, else a ``ValueError`` saying what is allowed.

    ``allowed``: the permitted widths (e.g. ``constants.POLICY_BITS``); default: any int the
    quantizer supports, 2..16, or 32 ("not quantized"). ``where`` prefixes the message."""
    ok = isinstance(bits, int) and not isinstance(bits, bool) and (
        bits in allowed if allowed is not None
        else MIN_BITS <= bits <= MAX_BITS or bits == FULL_PRECISION)
    if not ok:
        choices = (f"one of {list(allowed)}" if allowed is not None
                   else f"an int in {MIN_BITS}..{MAX_BITS}, or {FULL_PRECISION}")
        raise ValueError(f"{where + ': ' if where else ''}bit width {bits!r} is not allowed; "
                         f"use {choices} ({FULL_PRECISION} = not quantized)")
    return bits  # type: ignore[return-value]


def ir_bits(edge_pairs: Iterable[tuple[float, float]]) -> int:
    """Bit width of the IR sent to the cloud: the ``b_a`` of the last quantized layer among
    ``edge_pairs`` (the edge layers after the first, in forward order); 32 when none is quantized
    (p = 0, or a full-precision policy)."""
    bits = FULL_PRECISION
    for w, a in edge_pairs:
        if w != FULL_PRECISION or a != FULL_PRECISION:
            bits = a
    return int(bits)


def check_ir_widths(widths: object, where: str = "ir_widths") -> tuple[int, ...]:
    """``widths`` as a tuple of distinct IR bit widths from ``IR_WIDTHS``, else a ``ValueError``
    naming ``where`` (docs/decisions/network.md §18)."""
    if isinstance(widths, (str, bytes)) or not hasattr(widths, "__iter__"):
        raise ValueError(f"{where}={widths!r}: give a tuple of bit widths, e.g. (6, 4, 2)")
    out = tuple(check_bits(b, IR_WIDTHS, where) for b in widths)  # type: ignore[union-attr]
    if len(set(out)) != len(out):
        raise ValueError(f"{where}={widths!r}: a bit width is repeated")
    return out


__all__ = ["MIN_BITS", "MAX_BITS", "FP_PAIR", "IR_WIDTHS", "check_bits", "check_ir_widths", "ir_bits"]
