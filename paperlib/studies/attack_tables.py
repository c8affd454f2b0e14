"""Reading attack results: tables, the strongest attack per point, and whether the paper's proxy P
ranks IRs as the attacks do (docs/decisions/attacks.md §7).

Agreement means a *negative* rank correlation: P is higher for more private IRs, SSIM is higher
for IRs that leak more.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .analysis import spearman
from .wording import MIN_POINTS_FOR_RHO, proxy_attack_verdict
from ..attacks.results import AttackResult
from ..attacks.worst_case import add_worst_case, worst_case_table


def results_frame(results: Sequence[AttackResult]) -> pd.DataFrame:
    """One row per result (:meth:`AttackResult.row`), with ``ssim_gain`` = SSIM minus the SSIM
    of the mean query image (what an attacker who learnt nothing gets)."""
    df = pd.DataFrame([r.row() for r in results])
    if len(df):
        df["ssim_gain"] = df["ssim"] - df["baseline_ssim"]
    return df


def strongest(df: pd.DataFrame, by: Sequence[str] = ("model", "p"), leak: str = "ssim") -> pd.DataFrame:
    """Per group of ``by``, the row of the attack that recovers most (highest ``leak``)."""
    idx = df.groupby(list(by), sort=False)[leak].idxmax()
    return df.loc[idx.to_numpy()].reset_index(drop=True)


def bootstrap_spearman(x: Sequence[float], y: Sequence[float], *, resamples: int = 2000,
                       level: float = 0.95, seed: int = 0) -> dict[str, float]:
    """Spearman's ρ of ``(x, y)`` with a percentile bootstrap confidence interval: pairs are
    resampled with replacement ``resamples`` times (resamples where either side is constant are
    dropped). Returns ``rho``, ``p_value``, ``ci_low``, ``ci_high``, ``n``, ``resamples`` (used);
    no interval below ``wording.MIN_POINTS_FOR_RHO`` pairs."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) != len(y):
        raise ValueError(f"x and y must pair up, got {len(x)} and {len(y)} values")
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    rho, pval = spearman(x, y)
    out = {"rho": rho, "p_value": pval, "ci_low": float("nan"), "ci_high": float("nan"),
           "n": len(x), "resamples": 0}
    if len(x) < MIN_POINTS_FOR_RHO or not np.isfinite(rho) or resamples < 1:
        return out
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x), size=(resamples, len(x)))
    xs, ys = x[idx], y[idx]
    ok = (np.ptp(xs, axis=1) > 0) & (np.ptp(ys, axis=1) > 0)
    if not ok.any():
        return out
    rx = stats.rankdata(xs[ok], axis=1)
    ry = stats.rankdata(ys[ok], axis=1)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    rhos = (rx * ry).sum(1) / np.sqrt((rx * rx).sum(1) * (ry * ry).sum(1))
    alpha = (1 - level) / 2
    lo, hi = np.quantile(rhos, [alpha, 1 - alpha])
    out.update(ci_low=float(lo), ci_high=float(hi), resamples=int(ok.sum()))
    return out


def agreement_words(rho: float, ci_low: float = float("nan"), ci_high: float = float("nan")) -> str:
    """Plain words for a correlation between P and an attack's SSIM (negative = agreement): by its
    bootstrap interval when there is one, else by ``wording.proxy_attack_verdict``'s
    thresholds."""
    if not (np.isfinite(rho) and np.isfinite(ci_low) and np.isfinite(ci_high)):
        return proxy_attack_verdict(rho)
    if ci_high < 0:
        return "agree (the whole interval is below 0)"
    if ci_low > 0:
        return "disagree (the whole interval is above 0: P rises where the attack does better)"
    return "no clear relation (the interval contains 0)"


def proxy_agreement(df: pd.DataFrame, by: Sequence[str] = ("model",), proxy: str = "privacy",
                    leak: str = "ssim", resamples: int = 0, seed: int = 0) -> pd.DataFrame:
    """Does the proxy rank IRs as the attack does? Per group of ``by``: the number of IRs,
    Spearman's ρ between ``proxy`` and ``leak`` with its p-value (and a bootstrap interval when
    ``resamples`` > 0), the same for PSNR, and the fraction of *discordant* pairs: pairs where the
    proxy calls one IR strictly more private while the attack recovers it strictly better (0 =
    perfect agreement, 0.5 = no relation, 1 = reversed)."""
    rows = []
    by = list(by)
    groups = df.groupby(by, sort=False) if by else [((), df)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        rho, pval = spearman(g[proxy], g[leak])
        rho_psnr, _ = spearman(g[proxy], g["psnr"]) if "psnr" in g else (float("nan"), None)
        q, s = g[proxy].to_numpy(float), g[leak].to_numpy(float)
        comparable = int(sum((q[i] != q[j]) and (s[i] != s[j])
                             for i in range(len(g)) for j in range(i + 1, len(g))))
        pairs = len(discordant_pairs(g, proxy, leak))
        row = {**dict(zip(by, key)), "irs": len(g), "rho_ssim": rho, "p_value": pval,
               "rho_psnr": rho_psnr, "comparable_pairs": comparable, "discordant_pairs": pairs,
               "discordant_fraction": pairs / comparable if comparable else float("nan")}
        if resamples:
            ci = bootstrap_spearman(q, s, resamples=resamples, seed=seed)
            row.update(ci_low=ci["ci_low"], ci_high=ci["ci_high"])
        rows.append(row)
    return pd.DataFrame(rows)


def discordant_pairs(df: pd.DataFrame, proxy: str = "privacy", leak: str = "ssim",
                     label: str | None = None) -> pd.DataFrame:
    """Pairs of rows (IRs) on which proxy and attack disagree: ``more_private`` has the strictly
    higher ``proxy`` but also the strictly higher ``leak``. Sorted by the attack's gap (largest
    first); ``label`` names the column that identifies a row (default: the index)."""
    names = df[label].tolist() if label else df.index.tolist()
    q, s = df[proxy].to_numpy(float), df[leak].to_numpy(float)
    rows = []
    for i in range(len(df)):
        for j in range(len(df)):
            if q[i] > q[j] and s[i] > s[j]:
                rows.append({"more_private": names[i], "less_private": names[j],
                             "proxy_gap": q[i] - q[j], "leak_gap": s[i] - s[j]})
    out = pd.DataFrame(rows, columns=["more_private", "less_private", "proxy_gap", "leak_gap"])
    return out.sort_values("leak_gap", ascending=False, ignore_index=True)


def ssim_difference(a: AttackResult, b: AttackResult) -> tuple[float, float]:
    """SSIM of result ``a`` minus that of ``b`` and the standard error of that difference,
    ``sqrt(sd_a²/n_a + sd_b²/n_b)``: exact for independent images; for the same test images (as
    :func:`~paperlib.attacks.runner.run` uses) it is conservative when the two SSIMs are
    positively correlated."""
    se = math.sqrt(a.ssim_sd ** 2 / max(a.test_images, 1) + b.ssim_sd ** 2 / max(b.test_images, 1))
    return a.ssim - b.ssim, se


__all__ = ["results_frame", "strongest", "worst_case_table", "add_worst_case", "spearman", "bootstrap_spearman", "agreement_words",
           "proxy_agreement", "discordant_pairs", "ssim_difference"]
