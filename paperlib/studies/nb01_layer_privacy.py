"""Notebook 01, layer-wise privacy of VGG11 (Fig. 3, 4): the paper's claims beside this run, as a
table and generated sentences. The verdict words are :mod:`paperlib.studies.wording`'s
(docs/decisions/reporting.md §6); the privacy analyses themselves are :mod:`paperlib.studies.analysis`."""

from __future__ import annotations

import pandas as pd

from ..method.models import MODELS
from .analysis import DIST_LABELS, trend_words
from .wording import Findings, agreement_word, consistency_word


def layer_trend_findings(trend: pd.DataFrame, agree: pd.DataFrame, summary: pd.DataFrame,
                         model: str) -> Findings:
    """Fig. 3-4's claims: privacy grows layer by layer under every distance, and the three
    distances agree. ``trend``/``agree``: ``analysis.depth_correlation``/``metric_correlation``;
    ``summary``: ``analysis.summarise`` by dist and depth."""
    rows = [{"claim": f"{DIST_LABELS[r.dist]} privacy grows with the layer (Fig. 4)",
             "paper": "increases layer by layer",
             "ours": f"Spearman ρ = {r.rho:.2f} over {r.points} layers; "
                     f"{r.increasing_steps:.0%} of steps increase"}
            for r in trend.itertuples()]
    rows.append({"claim": "the three distances show the same trend (Fig. 4)", "paper": "similar trend",
                 "ours": "; ".join(f"ρ({DIST_LABELS[a.dist_a]}, {DIST_LABELS[a.dist_b]}) = {a.rho:.2f}"
                                   for a in agree.itertuples())})
    mse = summary[summary["dist"] == "mse"].set_index("depth")["mean"]
    k = min(5, len(mse))
    rows.append({"claim": "shallow IRs still look like the input; deeper ones are abstract (Fig. 3)",
                 "paper": "qualitative",
                 "ours": f"mean MSE P: conv1 {mse.iloc[0]:.2f} → conv{k} {mse.iloc[k - 1]:.2f} "
                         "(2 = uncorrelated)"})
    lines = [f"* **{DIST_LABELS[r.dist]}**: Spearman ρ(depth, P) = {r.rho:.2f} "
             f"({trend_words(r.rho)}; {r.increasing_steps:.0%} of consecutive layers increase) — "
             f"the paper reports a monotone increase for {MODELS.label(model)}, so this run "
             f"{agreement_word(r.rho)} it."
             for r in trend.itertuples()]
    low = agree["rho"].min()
    lines.append(f"* **Agreement between distances**: the smallest pairwise rank correlation of the "
                 f"per-layer means is {low:.2f}; the paper reports that the three show a similar trend "
                 f"({consistency_word(low)} here).")
    lines.append(f"* **Fig. 3**: the closest conv1 channel has mean standardised MSE {mse.iloc[0]:.2f} "
                 f"(Pearson ρ ≈ {1 - mse.iloc[0] / 2:.2f} with the grayscale input); by conv{k} it is "
                 f"{mse.iloc[k - 1]:.2f} (ρ ≈ {1 - mse.iloc[k - 1] / 2:.2f}).")
    return Findings(pd.DataFrame(rows), lines)
