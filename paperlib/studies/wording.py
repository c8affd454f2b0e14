"""The words every generated finding uses, in one place: verdict thresholds, and the functions that
turn a number or a comparison into the same phrase everywhere (docs/decisions/reporting.md §6).
The thresholds are this package's choices, not the paper's."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

STRONG_RHO = 0.7  # |ρ| at or above: a clear (monotone-ish) relation
WEAK_RHO = 0.3  # |ρ| at or above: a weak one; below: none
MIN_POINTS_FOR_RHO = 5  # fewer points: no rank correlation is printed
SAVING_TOLERANCE = 0.1  # Fig. 11: a saving within 10 points of the paper's counts as "close"
NEAR_BOUND = 0.9  # Table 5: a searched energy above 90 % of E_b sits "just under" it
LEAK_SSIM_GAIN = 0.05  # attack SSIM above the mean-image reference by more: the IR leaks
SATURATED_P = 1.8  # P at or above: near the "uncorrelated" value 2
SMALL_CHANGE = 0.01  # |ΔSSIM|, |ΔP| below: "barely changes"
SIGNIFICANT_SE = 2.0  # a difference beyond this many standard errors counts
CONFIDENCE = 0.95  # two-sided level of an interval over seeds that a verdict reads
WITHIN_SEED_SPREAD = "inconclusive (the difference is within the seed spread)"
# an estimator whose mean error |bias| is below this share of ε_b is "hardly biased" (reporting.md §6)
NEGLIGIBLE_BIAS_SHARE = 0.1
# a search whose best fitness last improved in this final share of its iterations (converged_share
# above 1 − it) was still improving: "not converged within T" (reporting.md §6)
LATE_IMPROVEMENT_SHARE = 0.05


@dataclass
class Findings:
    """A notebook's "paper vs ours" table (saved beside the figures) and its sentences (Markdown
    bullets), as every ``nbNN_*`` study returns them."""

    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    lines: list[str] = field(default_factory=list)

    @property
    def markdown(self) -> str:
        return "\n".join(self.lines)


def rho_text(rho: float, n: int, symbol: str = "ρ") -> str:
    """"ρ = -0.98 (n = 8)", or "n = 3, too few points for ρ" below :data:`MIN_POINTS_FOR_RHO`."""
    if n < MIN_POINTS_FOR_RHO:
        return f"n = {n}, too few points for {symbol}"
    if not np.isfinite(rho):
        return f"{symbol} undefined (constant values), n = {n}"
    return f"{symbol} = {rho:.2f} (n = {n})"


def agreement_word(rho: float) -> str:
    """How a depth-vs-privacy ρ relates to the paper's "increases with depth"."""
    return ("agrees with" if rho >= STRONG_RHO else
            "partly agrees with" if rho >= WEAK_RHO else "does not reproduce")


def consistency_word(rho: float) -> str:
    """How consistent two curves with rank correlation ``rho`` are."""
    return ("consistent" if rho >= STRONG_RHO else
            "only partly consistent" if rho >= WEAK_RHO else "not consistent")


def proxy_attack_verdict(rho: float) -> str:
    """What ρ(P, attack SSIM) says: agreement is ρ near -1 (more private = recovered worse)."""
    if not np.isfinite(rho):
        return "undefined (constant values)"
    if rho <= -STRONG_RHO:
        return "agree well"
    if rho <= -WEAK_RHO:
        return "agree weakly"
    if rho < WEAK_RHO:
        return "are unrelated"
    return "disagree (P rises where the attack does better)"


def ranking_word(rho: float) -> str:
    """What ρ(estimator ε, reported ε) says about the estimator's ranking of strategies."""
    if not np.isfinite(rho):
        return "cannot be compared by rank (constant values)"
    return ("ranks strategies as the reported ε does" if rho >= STRONG_RHO else
            "ranks strategies only partly as the reported ε does" if rho >= WEAK_RHO else
            "does not rank strategies as the reported ε does")


def bias_text(bias: float, bound: float) -> str:
    """An estimator's mean error against the reported ε, in points of accuracy and as a share of
    the bound ε_b: "over-states the loss by 1.2 points on average (0.40 ε_b)", or "is hardly
    biased (+0.1 points on average, 0.03 ε_b)" below :data:`NEGLIGIBLE_BIAS_SHARE`."""
    if not np.isfinite(bias):
        return "has no measured bias"
    share = abs(bias) / bound
    if share < NEGLIGIBLE_BIAS_SHARE:
        return f"is hardly biased ({100 * bias:+.1f} points on average, {share:.2f} ε_b)"
    side = "over-states" if bias > 0 else "under-states"
    return f"{side} the loss by {100 * abs(bias):.1f} points on average ({share:.2f} ε_b)"


def seeds_word(a: Mapping[str, float] | None, b: Mapping[str, float] | None) -> str:
    """Method ``a`` against ``b``, each a ``{"mean", "min", "max"}`` over seeds."""
    if a is None or b is None:
        return "n/a"
    if a["min"] > b["max"]:
        return "better on every seed"
    if a["max"] < b["min"]:
        return "worse on every seed"
    return "within the spread over seeds"


def larger_word(low: float, high: float, a: str, b: str) -> str:
    """What an interval ``[low, high]`` for the difference ``a − b`` over seeds says: "``a``
    larger" when it lies above 0, "``b`` larger" below 0, else :data:`WITHIN_SEED_SPREAD` (also
    when the interval is undefined, e.g. from one seed)."""
    if np.isfinite(low) and low > 0:
        return f"{a} larger"
    if np.isfinite(high) and high < 0:
        return f"{b} larger"
    return WITHIN_SEED_SPREAD


def feasibility(energy_mj: float, bound_mj: float) -> str:
    """"within E_b" or "over E_b by x %": what a label may truthfully say about a strategy."""
    if energy_mj <= bound_mj:
        return "within E_b"
    return f"over E_b by {energy_mj / bound_mj - 1:.0%}"


def less_or_more(saving: float) -> str:
    """A saving ``1 − new / old`` in words, by its sign: "43% less" or, when the new one costs
    more, "96% more" (never "-96% less")."""
    return f"{saving:.0%} less" if saving >= 0 else f"{-saving:.0%} more"


def times_factor(old: float, new: float) -> float:
    """How many times ``new`` is below ``old`` (``old / new``) or, when it is above, above it
    (``new / old``): the factor :func:`times_less_or_more` writes, always at least 1."""
    return old / new if new <= old else new / old


def times_less_or_more(old: float, new: float) -> str:
    """``new`` against ``old`` as a factor, by direction: "2.2× less" or "1.5× more"."""
    return f"{times_factor(old, new):.1f}× " + ("less" if new <= old else "more")


def block_count(v: float) -> str:
    """A number of blocks, or "none" when no partition fits."""
    return "none" if pd.isna(v) else f"{int(v)}"
