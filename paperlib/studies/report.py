"""Saving figures and tables the way every notebook does, and the naming scheme of every output.

Where: :func:`figures_dir` — the committed ``figures/`` for the committed profile (``quick``),
``results/<profile>/figures/`` for every other profile, ``$PAPERLIB_FIGURES_DIR`` when set
(``paperlib.infra.config.figures_dir``; docs/decisions/reporting.md §1).

What: PNG + PDF per figure, CSV + Markdown per table, each stamped with the profile and the data
it was computed from.

Names (docs/decisions/reporting.md §2): an output that regenerates an item of the paper keeps the
paper's number (``fig07_…`` for Fig. 7, ``table4_…`` for Table 4); everything beyond the paper is
named by its notebook and topic (``nb07_pareto_…``). :func:`classify` reads a name back into
``(kind, item)`` for the manifest, and the save functions refuse a name outside the scheme.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from ..infra import config, io
from ..method import hardware
from ..method.constants import FULL_PRECISION

PAPER = "paper"
EXTENSION = "extension"
_NAME = re.compile(r"^(?:fig(?P<fig>\d{2})|table(?P<table>\d{1,2})|nb(?P<nb>\d{2}))_[a-z0-9]+(?:_[a-z0-9]+)*$")


@dataclass(frozen=True)
class OutputKind:
    """What an output is: a ``paper`` item (``item`` = "Fig. 7", "Table 4") or an ``extension``
    beyond the paper (``item`` = "notebook 07")."""

    kind: str
    item: str


def classify(name: str) -> OutputKind:
    """The kind of the output ``name`` (a file stem or file name), by the naming scheme."""
    stem = Path(name).stem if Path(name).suffix in {".png", ".pdf", ".csv", ".md"} else name
    m = _NAME.match(stem)
    if m is None:
        raise ValueError(
            f"output name {name!r} does not follow the naming scheme: use 'figNN_topic' for the "
            "paper's Fig. NN, 'tableN_topic' for the paper's Table N, and 'nbNN_topic' (NN = the "
            "notebook's number) for everything beyond the paper; lower case, digits and '_' only "
            "(docs/decisions/reporting.md §2)")
    if m["fig"]:
        return OutputKind(PAPER, f"Fig. {int(m['fig'])}")
    if m["table"]:
        return OutputKind(PAPER, f"Table {int(m['table'])}")
    return OutputKind(EXTENSION, f"notebook {m['nb']}")


def bits_label(bits: int) -> str:
    """How figures and tables name a bit width: "fp32" (not quantized) or "8-bit"."""
    return "fp32" if bits == FULL_PRECISION else f"{bits}-bit"


def use_paper_style() -> None:
    """Seaborn's paper context: figures readable at the size of a journal column."""
    import seaborn as sns

    sns.set_theme(context="paper", style="whitegrid", font_scale=1.0)
    plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 200, "figure.figsize": (3.5, 2.6),
                         "axes.titlesize": 9, "axes.labelsize": 8, "legend.fontsize": 7})


def figures_dir(profile: str | None = None) -> Path:
    """Where ``profile``'s figures and tables go (created): see :func:`paperlib.infra.config.figures_dir`."""
    path = config.figures_dir(profile, hardware.current().tag)
    path.mkdir(parents=True, exist_ok=True)
    return path


def stamp(profile: str, provenance: str) -> str:
    """The line every figure and table carries: which profile and which data produced it."""
    return f"paperlib · profile: {profile} · {provenance}"


def save_figure(fig: plt.Figure, name: str, profile: str, provenance: str) -> list[Path]:
    """Stamp ``fig`` with profile and data, save it as ``<name>.png`` and ``<name>.pdf``.

    The PDF carries no creation date, so an unchanged figure is an unchanged file (clean diffs).
    The notebook shows the figure itself (``plt.show()``), so it is in the notebook as well."""
    classify(name)
    folder = figures_dir(profile)
    fig.text(0.995, 0.003, stamp(profile, provenance), ha="right", va="bottom", fontsize=6,
             color="0.4")
    paths = []
    for ext in ("png", "pdf"):
        path = folder / f"{name}.{ext}"
        with io.atomic_path(path) as tmp:
            fig.savefig(tmp, format=ext, dpi=200, bbox_inches="tight",
                        metadata={"CreationDate": None} if ext == "pdf" else None)
        paths.append(path)
    return paths


def save_table(df: pd.DataFrame, name: str, profile: str, provenance: str,
               floatfmt: str = ".4f") -> list[Path]:
    """Write ``df`` as ``<name>.csv`` and ``<name>.md`` (the Markdown one with a stamp line)."""
    classify(name)
    folder = figures_dir(profile)
    csv, md = folder / f"{name}.csv", folder / f"{name}.md"
    io.write_text(csv, df.to_csv(index=False))
    io.write_text(md, df.to_markdown(index=False, floatfmt=floatfmt)
                  + f"\n\n_{stamp(profile, provenance)}_\n")
    return [csv, md]


__all__ = ["PAPER", "EXTENSION", "OutputKind", "classify", "bits_label", "use_paper_style", "figures_dir", "stamp",
           "save_figure", "save_table"]
