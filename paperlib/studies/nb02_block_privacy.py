"""Notebook 02, layer-wise against block-wise privacy (Fig. 5, 7): the paper's claim (layer-wise
fluctuates on a DAG network, block-wise increases) beside this run (docs/decisions/reporting.md §6)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..method.models import MODELS
from .analysis import increasing_fraction, trend_words
from .wording import STRONG_RHO, Findings


def _verdict(lw: pd.Series, bw: pd.Series) -> str:
    """The paper's claim (layer-wise fluctuates, block-wise increases) against one model's two
    views, read off ρ (:data:`STRONG_RHO`) and the share of steps up."""
    steadier = bw.increasing_steps > lw.increasing_steps
    if bw.rho >= STRONG_RHO and steadier:
        return ("partly reproduced: block-wise P rises more steadily, layer-wise P also rises overall"
                if lw.rho >= STRONG_RHO else "reproduced: block-wise P rises, layer-wise P does not clearly")
    if bw.rho >= STRONG_RHO:
        return "partly reproduced: block-wise P rises, but no more steadily than layer-wise P"
    if steadier:
        return "partly reproduced: block-wise P has more steps up, but no clear rise with depth"
    return "not reproduced"


def constant_points(summary: pd.DataFrame, key: str = "point") -> pd.DataFrame:
    """The rows of a privacy summary (``mean``, ``sd`` over images) whose P is the same on every
    image: an IR whose every channel is constant (e.g. 1 × 1) has P = 2 by the definition, so
    such a point is constant by construction, not a measurement."""
    if "sd" not in summary:
        return summary.iloc[:0]
    return summary[np.isclose(summary["sd"].astype(float), 0.0)].sort_values(["model", key])


def blockwise_findings(trend: pd.DataFrame, layer_summary: pd.DataFrame, models: Sequence[str],
                       reference_models: Sequence[str] = (),
                       block_summary: pd.DataFrame | None = None) -> Findings:
    """Fig. 5/7's claim: layer-wise privacy of a DAG network fluctuates, block-wise it increases.
    ``trend``: ``analysis.depth_correlation`` by model with a ``view`` column ("layer-wise",
    "block-wise"); ``reference_models``: chain networks shown for comparison; ``block_summary``
    (optional, ``mean`` and ``sd`` per ``point``): its points with no spread over images are
    flagged as constant by construction (:func:`constant_points`)."""
    rank = trend.set_index(["model", "view"])
    all_models = list(models) + [m for m in reference_models if m not in models]
    rows = []
    for m in all_models:
        chain = m in reference_models and m not in models
        lw, bw = rank.loc[(m, "layer-wise")], rank.loc[(m, "block-wise")]
        rows.append({
            "model": MODELS.label(m),
            "paper (layer-wise)": ("increases (chain net, Fig. 4)" if chain
                                   else "fluctuates after the first layers (Fig. 5)"),
            "ours (layer-wise)": f"ρ = {lw.rho:.2f}, {lw.increasing_steps:.0%} of {int(lw.points) - 1} steps up",
            "paper (block-wise)": ("—" if chain else "increases (Fig. 7)" if m == "resnet18"
                                   else "increases (claimed for DAG nets)"),
            "ours (block-wise)": f"ρ = {bw.rho:.2f}, {bw.increasing_steps:.0%} of {int(bw.points) - 1} steps up"})
    lines = []
    for m in models:
        lw, bw = rank.loc[(m, "layer-wise")], rank.loc[(m, "block-wise")]
        both = ("privacy rises with depth in both views" if min(lw.rho, bw.rho) >= STRONG_RHO else
                f"layer-wise privacy shows {trend_words(lw.rho)}, block-wise {trend_words(bw.rho)}")
        share = ("a larger" if lw.increasing_steps < bw.increasing_steps else
                 "the same" if lw.increasing_steps == bw.increasing_steps else "a smaller")
        lines.append(
            f"* **{MODELS.label(m)}**: {both} (Spearman ρ = {lw.rho:.2f} layer-wise, {bw.rho:.2f} "
            f"block-wise); {lw.increasing_steps:.0%} of the layer-wise steps go up against "
            f"{bw.increasing_steps:.0%} of the block-wise ones, so the layer-wise curve has {share} share "
            f"of steps down. The paper's claim (layer-wise fluctuates, block-wise increases) is "
            f"{_verdict(lw, bw)}.")
    if "resnet18" in models:
        s = layer_summary[layer_summary["model"] == "resnet18"].sort_values("depth")
        early, late = s["mean"].iloc[:3], s[s["depth"] >= 5]["mean"]
        lines.append(
            f"* **ResNet18, the paper's detail**: over conv1–conv3 the mean privacy goes "
            f"{' → '.join(f'{v:.2f}' for v in early)}; from conv5 on, {increasing_fraction(late):.0%} "
            f"of the {len(late) - 1} steps increase (the paper: it \"fluctuates up and down without a "
            "certain pattern\").")
    for m in reference_models:
        if m in models:
            continue
        lw = rank.loc[(m, "layer-wise")]
        lines.append(f"* **{MODELS.label(m)}** (chain reference): layer-wise ρ = {lw.rho:.2f}, "
                     f"{lw.increasing_steps:.0%} of steps increasing.")
    if block_summary is not None:
        for r in constant_points(block_summary).itertuples():
            size = getattr(r, "size", getattr(r, "height", None))
            shape = f" ({int(size)} × {int(size)} IR)" if size is not None else ""
            lines.append(f"* **{MODELS.label(r.model)}, {r.label}**{shape}: P = {r.mean:.3f} on every image "
                         f"(sd {r.sd:.3f}): constant by construction (every channel of the IR is constant, "
                         "which P's definition scores as uncorrelated), not a measured privacy; it still "
                         "enters that model's block-wise ρ and share of steps up.")
    return Findings(pd.DataFrame(rows), lines)
