"""The strategies the paper compares its search with (Tables 4 and 5), each in one place: full
precision and 8-bit uniform at the deepest partition point under E_b, every block at 8 bits ("8-bit
conv/fc"), and the searched one; with their table name, plot label, marker and colour, so that
nothing parses a label back (:meth:`PaperStrategy.of`). :func:`deepest_partition` is "the deepest
partition point under E_b" at one uniform bit width (docs/decisions/paper-method.md §6)."""

from __future__ import annotations

from enum import Enum

from torch import nn

from . import energy, models
from .constants import E_TRAN_PJ_PER_BIT, FULL_PRECISION
from .genome import Genome, GenomeSpace, uniform_genome


def deepest_partition(net: nn.Module, bits: int, energy_bound: float, transmission: bool = False,
                      e_tran_pj_per_bit: float = E_TRAN_PJ_PER_BIT) -> int | None:
    """The deepest partition point whose edge energy at uniform ``bits`` stays under
    ``energy_bound`` mJ (:func:`paperlib.method.energy.max_partition`), or ``None`` when none does."""
    try:
        return energy.max_partition(net, bits, energy_bound, transmission=transmission,
                                    e_tran_pj_per_bit=e_tran_pj_per_bit)
    except ValueError:
        return None


class PaperStrategy(Enum):
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
    def of(cls, name: "str | PaperStrategy") -> "PaperStrategy":
        """The member called ``name``: a member, its enum name or its table ``method``."""
        if isinstance(name, cls):
            return name
        for ref in cls:
            if name in (ref.name, ref.method):
                return ref
        raise ValueError(f"unknown paper strategy {name!r}; choose one of "
                         f"{', '.join(r.method for r in cls)}")

    def display(self, seed: int | None = None) -> str:
        """The plot label (the searched strategy's names the search ``seed``)."""
        return self.label.format(seed=seed)

    @property
    def fixed(self) -> bool:
        """True for the strategies that need no search."""
        return self.placement != "searched"

    def partition(self, net: nn.Module, energy_bound: float, transmission: bool = False,
                  e_tran_pj_per_bit: float = E_TRAN_PJ_PER_BIT) -> int | None:
        """The partition point of this fixed strategy for ``net`` under ``energy_bound`` mJ
        (``None`` when none fits)."""
        if self.placement == "all":
            return models.num_units(net)
        if self.placement == "deepest":
            return deepest_partition(net, self.bits, energy_bound, transmission, e_tran_pj_per_bit)
        raise ValueError("the searched strategy has no fixed partition point; run the search")

    def genome(self, space: GenomeSpace, p: int) -> Genome:
        """This fixed strategy at partition ``p`` as a :class:`~paperlib.method.genome.Genome`."""
        if self.bits is None:
            raise ValueError("the searched strategy is the search's result, not a fixed genome")
        return uniform_genome(space, p, self.bits)


FIXED: tuple[PaperStrategy, ...] = tuple(r for r in PaperStrategy if r.fixed)
TABLE4: tuple[PaperStrategy, ...] = (PaperStrategy.FP32, PaperStrategy.UNIFORM8, PaperStrategy.SEARCHED)
TABLE5: tuple[PaperStrategy, ...] = (PaperStrategy.CONV_FC, PaperStrategy.SEARCHED)


__all__ = ["deepest_partition", "PaperStrategy", "FIXED", "TABLE4", "TABLE5"]
