"""Notebook 03, privacy of quantized IRs (Fig. 8): the paper's claim (fewer IR bits, more privacy)
beside this run (docs/decisions/reporting.md §6)."""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from ..method import constants as C
from ..method.models import MODELS
from .report import bits_label
from .wording import STRONG_RHO, Findings


def quantization_findings(trend: pd.DataFrame, effect: pd.DataFrame, bits: Sequence[int],
                          models: Sequence[str]) -> Findings:
    """Fig. 8's claim: fewer IR bits, more privacy. ``trend``: ``analysis.depth_correlation`` by
    model and point with ``x="bits"``; ``effect``: ``analysis.bits_effect`` per model with the
    notebook's ``ir`` label column."""
    order = [bits_label(b) for b in sorted(bits)]
    rows = []
    for r in trend.itertuples():
        e = effect[(effect["model"] == r.model) & (effect["point"] == r.point)].set_index("bits")
        rows.append({"model": MODELS.label(r.model), "IR": e["ir"].iloc[0],
                     "paper": "P(2) > P(4) > P(8) (VGG11, one IR)",
                     "ours: mean P by bits " + "/".join(order):
                         " / ".join(f"{e.at[b, 'mean']:.3f}" for b in sorted(bits)),
                     "ours: ρ(bits, P)": round(r.rho, 3),
                     "ours: images with P(2-bit) > P(fp32)":
                         f"{e.at[min(bits), 'frac_higher']:.0%}" if C.FULL_PRECISION in bits else "—"})
    lines = []
    lowest = min(bits)
    for m in models:
        t = trend[trend["model"] == m]
        low = effect[(effect["model"] == m) & (effect["bits"] == lowest)]
        mono = int((t["rho"] <= -0.999).sum())
        spread = (f"= {t['rho'].min():.2f}" if t["rho"].min() == t["rho"].max()
                  else f"from {t['rho'].min():.2f} to {t['rho'].max():.2f}")
        holds = ("holds" if (t["rho"] <= -STRONG_RHO).all() and (low["diff_vs_ref"] > 0).all() else
                 "holds only in part" if (low["diff_vs_ref"] > 0).any() else "does not hold")
        lines.append(
            f"* **{MODELS.label(m)}**: at {len(t)} partition points, P falls monotonically with the bit width "
            f"at {mono} of them (Spearman ρ(bits, P) {spread}); {lowest}-bit quantization changes P by "
            f"{low['diff_vs_ref'].min():+.3f} to {low['diff_vs_ref'].max():+.3f} on average and raises it "
            f"for {low['frac_higher'].min():.0%}–{low['frac_higher'].max():.0%} of the images. The paper's "
            f"direction (fewer bits → more privacy) {holds} here.")
    eight = effect[effect["bits"] == 8]
    if len(eight):
        lines.append(f"* **Size of the effect**: 8-bit changes P by at most {eight['diff_vs_ref'].abs().max():.4f} "
                     f"(mean over images), against a spread over images of sd ≈ {effect['sd'].median():.2f}: "
                     "8-bit quantization leaves the closest channel essentially unchanged.")
    return Findings(pd.DataFrame(rows), lines)
