"""The rules every strategy obeys, and the paper's fixed strategies, each in one function.

A *strategy* is ``V = (p, Π)``: a partition point and a ``(b_w, b_a)`` pair per quantizable layer
(:mod:`paperlib.policy`, :class:`paperlib.search.Genome`). Here live:

* :func:`check_bits`: the one validator of a bit width (the quantizer accepts 2..16 bits or 32,
  a policy the paper's set ``constants.POLICY_BITS``);
* :func:`ir_bits`: the bit width of the IR sent to the cloud (Eq. 9), used by the policy, the
  energy model, the ε estimators and the search's result;
* :class:`Reference`: the strategies the paper compares the search with (Tables 4 and 5): full
  precision and 8-bit uniform at the deepest partition point under E_b, every block at 8 bits
  ("8-bit conv/fc"), and the searched one; with their table name, plot label, marker and colour,
  so that nothing parses a label back (:meth:`Reference.of`);
* :func:`deepest_partition`: "the deepest partition point under E_b" at one uniform bit width.

Decisions: ``docs/decisions/paper-method.md`` (§2 bit widths, §3 energy, §6 fixed strategies).
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Collection, Iterable

from .constants import E_TRAN_PJ_PER_BIT, FULL_PRECISION

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn

MIN_BITS, MAX_BITS = 2, 16  # what the quantizer can do (the paper searches 2/4/6/8)
FP_PAIR = (FULL_PRECISION, FULL_PRECISION)


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


def deepest_partition(net: "nn.Module", bits: int, energy_bound: float, transmission: bool = False,
                      e_tran_pj_per_bit: float = E_TRAN_PJ_PER_BIT) -> int | None:
    """The deepest partition point whose edge energy at uniform ``bits`` stays under
    ``energy_bound`` mJ (:func:`paperlib.energy.max_partition`), or ``None`` when none does."""
    from . import energy

    try:
        return energy.max_partition(net, bits, energy_bound, transmission=transmission,
                                    e_tran_pj_per_bit=e_tran_pj_per_bit)
    except ValueError:
        return None


def uniform_genome(space, p: int, bits: int):
    """Every searched layer at ``bits`` (32: full precision) at partition ``p``, as a
    :class:`paperlib.search.Genome` (``b_a`` = the largest activation width; none at 32 bits)."""
    from .search.genome import Genome

    if bits == FULL_PRECISION:
        space.check_p(p)
        return Genome(int(p), (FP_PAIR,) * space.num_layers)
    return Genome.uniform(space, p, bits)


class Reference(Enum):
    """The strategies of the paper's Tables 4 and 5.

    Each member has ``method`` (the name in the tables), ``label`` (the plot label), ``bits``
    (uniform bit width of its searched layers; ``None``: searched), ``placement`` (``"deepest"``:
    deepest p under E_b; ``"all"``: every block on the edge; ``"searched"``), ``marker`` and
    ``color``."""

    FP32 = ("full precision", "fp32 (max partition)", FULL_PRECISION, "deepest", "D", "C1")
    UNIFORM8 = ("8-bit uniform", "8-bit uniform (max partition)", 8, "deepest", "s", "C0")
    CONV_FC = ("8-bit conv/fc", "8-bit conv/fc (all blocks)", 8, "all", "P", "C4")
    SEARCHED = ("searched", "searched (GA, seed {seed})", None, "searched", "*", "C3")

    method: str
    label: str
    bits: int | None
    placement: str
    marker: str
    color: str

    def __init__(self, *fields: object) -> None:
        self.method, self.label, self.bits, self.placement, self.marker, self.color = fields

    @classmethod
    def of(cls, name: "str | Reference") -> "Reference":
        """The member called ``name``: a member, its enum name or its table ``method``."""
        if isinstance(name, cls):
            return name
        for ref in cls:
            if name in (ref.name, ref.method):
                return ref
        raise ValueError(f"unknown reference strategy {name!r}; choose one of "
                         f"{', '.join(r.method for r in cls)}")

    def display(self, seed: int | None = None) -> str:
        """The plot label (the searched strategy's names the search ``seed``)."""
        return self.label.format(seed=seed)

    @property
    def fixed(self) -> bool:
        """True for the strategies that need no search."""
        return self.placement != "searched"

    def partition(self, net: "nn.Module", energy_bound: float, transmission: bool = False,
                  e_tran_pj_per_bit: float = E_TRAN_PJ_PER_BIT) -> int | None:
        """The partition point of this fixed strategy for ``net`` under ``energy_bound`` mJ
        (``None`` when none fits)."""
        from . import models

        if self.placement == "all":
            return models.num_units(net)
        if self.placement == "deepest":
            return deepest_partition(net, self.bits, energy_bound, transmission, e_tran_pj_per_bit)
        raise ValueError("the searched strategy has no fixed partition point; run the search")

    def genome(self, space, p: int):
        """This fixed strategy at partition ``p`` as a :class:`paperlib.search.Genome`."""
        if self.bits is None:
            raise ValueError("the searched strategy is the search's result, not a fixed genome")
        return uniform_genome(space, p, self.bits)


FIXED: tuple[Reference, ...] = tuple(r for r in Reference if r.fixed)
TABLE4: tuple[Reference, ...] = (Reference.FP32, Reference.UNIFORM8, Reference.SEARCHED)
TABLE5: tuple[Reference, ...] = (Reference.CONV_FC, Reference.SEARCHED)


__all__ = ["MIN_BITS", "MAX_BITS", "FP_PAIR", "check_bits", "ir_bits", "deepest_partition",
           "uniform_genome",
           "Reference", "FIXED", "TABLE4", "TABLE5"]
