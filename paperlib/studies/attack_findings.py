"""Notebook 08's findings in words, generated from its tables (thresholds: those of
``paperlib.studies.comparison``, docs/decisions/reporting.md §6; the within-point verdicts:
docs/decisions/attacks.md §7)."""

from __future__ import annotations

import math
import pandas as pd

from . import comparison as C
from ..method.models import MODELS
from ..attacks.base import ATTACKS
from .attack_compare import spearman, strongest


def _attack(name: str) -> str:
    return ATTACKS.label(name)


def sweep_lines(sweep: pd.DataFrame) -> list[str]:
    """Per model: the strongest attack at the shallowest and the deepest point, how far each
    attack gets above the mean image, and ρ(P, SSIM) across the points per attack."""
    lines = []
    top = strongest(sweep)
    for model, g in sweep.groupby("model", sort=False):
        t = top[top["model"] == model].sort_values("p")
        first, last = t.iloc[0], t.iloc[-1]
        wins = t["attack"].value_counts()
        rhos = []
        for attack, ga in g.groupby("attack", sort=False):
            rho, _ = spearman(ga["privacy"], ga["ssim"])
            rhos.append(f"{_attack(attack)} {C.rho_text(rho, len(ga), 'ρ')}")
        leak = g[g["ssim"] - g["baseline_ssim"] > C.LEAK_SSIM_GAIN]
        lines.append(
            f"* **{MODELS.label(model)}** ({g['p'].nunique()} points): the strongest attack is the "
            f"{_attack(first['attack'])} at {first['split']} (SSIM {first['ssim']:.2f}) and the "
            f"{_attack(last['attack'])} at {last['split']} (SSIM {last['ssim']:.2f}); over all points "
            + ", ".join(f"the {_attack(a)} is strongest at {n}" for a, n in wins.items())
            + f". {len(leak)} of {len(g)} attack/point pairs beat the mean image by more than "
            f"{C.LEAK_SSIM_GAIN} SSIM (reference {g['baseline_ssim'].iloc[0]:.2f}). "
            f"P against SSIM across points: {'; '.join(rhos)} (agreement: ρ < 0).")
    return lines


def he2019_lines(table: pd.DataFrame) -> list[str]:
    """He et al.'s split points: which attack recovers most at each."""
    lines = []
    for split, g in table.groupby("split", sort=False):
        best = g.loc[g["ssim"].idxmax()]
        lines.append(f"* **{MODELS.label('cifar10cnn')} at {split}**: " + ", ".join(
            f"{r.attack} SSIM {r.ssim:.2f} / {r.psnr_db:.1f} dB" for r in g.itertuples())
            + f"; strongest: {best['attack']} (mean image: SSIM {best['mean_image_ssim']:.2f}).")
    return lines


def policy_lines(corr: pd.DataFrame) -> list[str]:
    """Within a fixed point, does P rank the policies as the attacks do? Every (point, attack)
    with its ρ and interval, then plainly where P and the attacks disagree."""
    lines = []
    for r in corr.itertuples():
        ci = (f"[{r.ci_low:.2f}, {r.ci_high:.2f}]" if math.isfinite(r.ci_low) else "no interval")
        lines.append(f"* **{MODELS.label(r.model)} at {r.split}, {_attack(r.attack)}** "
                     f"({r.policies} policies, P spans {r.P_range:.3f}, SSIM spans {r.ssim_range:.3f}): "
                     f"ρ(P, SSIM) = {r.rho_ssim:.2f}, 95 % interval {ci}; P and the attack: {r.verdict}.")
    judged = corr[corr["policies"] >= C.MIN_POINTS_FOR_RHO]
    against = judged[judged["ci_low"] > 0]
    unclear = judged[~((judged["ci_high"] < 0) | (judged["ci_low"] > 0))]
    if len(against):
        lines.append("* **Where P and the attacks disagree**: " + "; ".join(
            f"{MODELS.label(r.model)} at {r.split} under the {_attack(r.attack)}"
            for r in against.itertuples())
            + ": there a policy that raises P makes the attack recover *more*.")
    if len(unclear):
        lines.append("* **Where P says nothing about the attack** (interval contains 0): " + "; ".join(
            f"{MODELS.label(r.model)} at {r.split} under the {_attack(r.attack)}"
            for r in unclear.itertuples())
            + ". Within these points the search's ranking of policies by P is not the attack's.")
    if not len(against) and not len(unclear) and len(judged):
        lines.append("* Within every studied point P ranks the policies as every attack does.")
    return lines


def strategy_lines(strategies: pd.DataFrame, searched: str, baseline: str) -> list[str]:
    """Per model and attack: is the searched strategy harder to invert than ``baseline``?"""
    lines = []
    for (model, attack), g in strategies.groupby(["model", "attack"], sort=False):
        g = g.set_index("strategy")
        if searched not in g.index or baseline not in g.index:
            continue
        a, b = g.loc[searched], g.loc[baseline]
        d = a["ssim"] - b["ssim"]
        se = math.sqrt(a["ssim_sd"] ** 2 / a["test_images"] + b["ssim_sd"] ** 2 / b["test_images"])
        word = ("harder to invert" if d < -C.SIGNIFICANT_SE * se else
                "easier to invert" if d > C.SIGNIFICANT_SE * se else
                f"about as hard to invert (within {C.SIGNIFICANT_SE:g} s.e.)")
        lines.append(f"* **{MODELS.label(model)}, {_attack(attack)}**: searched (p = {a['p']}) SSIM "
                     f"{a['ssim']:.3f} vs {baseline} (p = {b['p']}) {b['ssim']:.3f}, difference "
                     f"{d:+.3f} ± {se:.3f} s.e.: {word}; P {a['privacy']:.3f} vs {b['privacy']:.3f}.")
    return lines


def findings(sweep: pd.DataFrame, he_table: pd.DataFrame | None, corr: pd.DataFrame,
             strategies: pd.DataFrame, searched: str, baseline: str) -> C.Findings:
    """All of notebook 08's sentences, as a :class:`paperlib.studies.comparison.Findings`."""
    lines: list[str] = sweep_lines(sweep)
    if he_table is not None and len(he_table):
        lines += he2019_lines(he_table)
    lines += policy_lines(corr)
    if len(strategies):
        lines += strategy_lines(strategies, searched, baseline)
    return C.Findings(pd.DataFrame(), lines)


__all__ = ["findings", "sweep_lines", "he2019_lines", "policy_lines", "strategy_lines"]
