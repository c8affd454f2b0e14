"""Notebook 02, layer-wise against block-wise privacy (Fig. 5, 7): the paper's claim (layer-wise
fluctuates on a DAG network, block-wise increases) beside this run (docs/decisions/reporting.md §6)."""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from ..method.models import MODELS
from .analysis import increasing_fraction, trend_words
from .wording import STRONG_RHO, Findings


def blockwise_findings(trend: pd.DataFrame, layer_summary: pd.DataFrame, models: Sequence[str],
                       reference_models: Sequence[str] = ()) -> Findings:
    """Fig. 5/7's claim: layer-wise privacy of a DAG network fluctuates, block-wise it increases.
    ``trend``: ``analysis.depth_correlation`` by model with a ``view`` column ("layer-wise",
    "block-wise"); ``reference_models``: chain networks shown for comparison."""
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
        smoother = bw.increasing_steps > lw.increasing_steps
        verdict = ("reproduced" if smoother and bw.rho >= STRONG_RHO else
                   "partly reproduced" if smoother or bw.rho >= STRONG_RHO else "not reproduced")
        lines.append(
            f"* **{MODELS.label(m)}**: layer-wise ρ = {lw.rho:.2f} with {lw.increasing_steps:.0%} of steps "
            f"increasing; block-wise ρ = {bw.rho:.2f} with {bw.increasing_steps:.0%}. Block-wise privacy "
            f"shows {trend_words(bw.rho)}, and is {'more' if smoother else 'not more'} monotone than the "
            f"layer-wise curve — the paper's claim (layer-wise fluctuates, block-wise increases) is "
            f"{verdict} here.")
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
    return Findings(pd.DataFrame(rows), lines)
