"""Saving figures and tables the way every notebook does: into ``figures/`` (or
``$PAPERLIB_FIGURES_DIR``), PNG + PDF for figures and CSV + Markdown for tables, each stamped with
the profile and the data it was computed from."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from . import io
from .data import REPO_ROOT


def use_paper_style() -> None:
    """Seaborn's paper context: figures readable at the size of a journal column."""
    import seaborn as sns

    sns.set_theme(context="paper", style="whitegrid", font_scale=1.0)
    plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 200, "figure.figsize": (3.5, 2.6),
                         "axes.titlesize": 9, "axes.labelsize": 8, "legend.fontsize": 7})


def figures_dir() -> Path:
    path = Path(os.environ.get("PAPERLIB_FIGURES_DIR") or REPO_ROOT / "figures")
    path.mkdir(parents=True, exist_ok=True)
    return path


def stamp(profile: str, provenance: str) -> str:
    """The line every figure and table carries: which profile and which data produced it."""
    return f"paperlib · profile: {profile} · {provenance}"


def save_figure(fig: plt.Figure, name: str, profile: str, provenance: str) -> list[Path]:
    """Stamp ``fig`` with profile and data, save it as ``<name>.png`` and ``<name>.pdf``.

    The PDF carries no creation date, so an unchanged figure is an unchanged file (clean diffs)."""
    fig.text(0.995, 0.003, stamp(profile, provenance), ha="right", va="bottom", fontsize=6,
             color="0.4")
    paths = []
    for ext in ("png", "pdf"):
        path = figures_dir() / f"{name}.{ext}"
        with io.atomic_path(path) as tmp:
            fig.savefig(tmp, format=ext, dpi=200, bbox_inches="tight",
                        metadata={"CreationDate": None} if ext == "pdf" else None)
        paths.append(path)
    return paths


def save_table(df: pd.DataFrame, name: str, profile: str, provenance: str,
               floatfmt: str = ".4f") -> list[Path]:
    """Write ``df`` as ``<name>.csv`` and ``<name>.md`` (the Markdown one with a stamp line)."""
    csv, md = figures_dir() / f"{name}.csv", figures_dir() / f"{name}.md"
    io.write_text(csv, df.to_csv(index=False))
    io.write_text(md, df.to_markdown(index=False, floatfmt=floatfmt) + f"\n\n_{stamp(profile, provenance)}_\n")
    return [csv, md]
