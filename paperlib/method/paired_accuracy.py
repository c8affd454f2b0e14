"""ε measured as the paper defines it: the top-1 lost by a strategy, as a paired difference on the
same images, with a 95 % interval (docs/decisions/paper-method.md §9).

Both networks classify the same images, so the loss is a paired difference of per-image
correctness: ε = mean(correct_fp) − mean(correct_strategy). Its interval is the paired bootstrap's
percentile interval (images resampled with replacement, the pair kept together); exact McNemar's
test says whether the two differ at all (two-sided binomial test on the discordant pairs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

BOOTSTRAP_RESAMPLES = 2000
CONFIDENCE = 0.95


@dataclass(frozen=True)
class PairedDifference:
    """ε (fp top-1 minus strategy top-1) on ``images`` images, its 95 % interval, McNemar's
    discordant counts (``fp_only``: fp right, strategy wrong; ``strategy_only``: the reverse) and
    exact p-value."""

    eps: float
    low: float
    high: float
    images: int
    fp_only: int
    strategy_only: int
    mcnemar_p: float
    top1_fp: float
    top1_strategy: float

    def record(self) -> dict[str, float | int]:
        return dict(self.__dict__)


def _correctness(name: str, values) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-d array of per-image correctness, "
                         f"got shape {arr.shape}")
    if not np.isin(arr, (0, 1)).all():
        raise ValueError(f"{name} must hold 0/1 (or False/True) per image")
    return arr.astype(bool)


def mcnemar_exact(fp_only: int, strategy_only: int) -> float:
    """Two-sided exact McNemar p-value: ``2 · P(X ≤ min(b, c))`` for X ~ Binomial(b + c, 1/2),
    at most 1 (1 when there is no discordant pair)."""
    n = fp_only + strategy_only
    if n == 0:
        return 1.0
    k = min(fp_only, strategy_only)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2.0 ** n
    return float(min(1.0, 2.0 * tail))


def paired_difference(correct_fp, correct_strategy, *, seed: int = 0,
                      resamples: int = BOOTSTRAP_RESAMPLES,
                      confidence: float = CONFIDENCE) -> PairedDifference:
    """ε with its paired-bootstrap interval and exact McNemar p-value (module docstring)."""
    fp = _correctness("correct_fp", correct_fp)
    q = _correctness("correct_strategy", correct_strategy)
    if fp.shape != q.shape:
        raise ValueError(f"correct_fp and correct_strategy must score the same images, got "
                         f"{fp.size} and {q.size}")
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    diff = fp.astype(float) - q.astype(float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, diff.size, size=(resamples, diff.size))
    means = diff[idx].mean(axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    b, c = int((fp & ~q).sum()), int((~fp & q).sum())
    return PairedDifference(eps=float(diff.mean()), low=float(low), high=float(high),
                            images=int(diff.size), fp_only=b, strategy_only=c,
                            mcnemar_p=mcnemar_exact(b, c), top1_fp=float(fp.mean()),
                            top1_strategy=float(q.mean()))


BUDGET_GAIN = 0.01  # a top-1 gain below one point is none (docs/decisions/reporting.md §13)


def paired_gain(correct_before, correct_after) -> tuple[float, float]:
    """The top-1 gained from one network to another on the same images and its standard error:
    the mean of the per-image differences of correctness and their sd (n − 1) / √n."""
    before = _correctness("correct_before", correct_before).astype(float)
    after = _correctness("correct_after", correct_after).astype(float)
    if before.shape != after.shape or before.size < 2:
        raise ValueError(f"paired_gain needs the same images, at least 2, scored by both networks, "
                         f"got {before.size} and {after.size}")
    diff = after - before
    return float(diff.mean()), float(diff.std(ddof=1) / math.sqrt(diff.size))


def budget_verdict(gain: float, se: float, threshold: float = BUDGET_GAIN) -> str:
    """Whether a training budget was enough, from the paired gain (and its s.e.) of twice that
    budget (docs/decisions/reporting.md §13): "not converged" when the gain exceeds both
    ``threshold`` and 2 s.e., "converged" when gain + 2 s.e. is below ``threshold``, else
    "undecided"."""
    if gain > threshold and gain > 2 * se:
        return "not converged"
    return "converged" if gain + 2 * se < threshold else "undecided"


__all__ = ["PairedDifference", "paired_difference", "mcnemar_exact", "BOOTSTRAP_RESAMPLES",
           "CONFIDENCE", "BUDGET_GAIN", "paired_gain", "budget_verdict"]
