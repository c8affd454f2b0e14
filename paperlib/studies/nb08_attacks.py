"""Notebook 08, several attacks (beyond the paper): which points and policies to attack, the
strategies to compare, the tables (docs/decisions/attacks.md §7–§8), and the findings in words
(:func:`findings`; thresholds: :mod:`paperlib.studies.wording`, docs/decisions/reporting.md §6;
the within-point verdicts: docs/decisions/attacks.md §7).

* :func:`sweep_points` — partition points of the sweep: ``k`` spread evenly, plus the points an
  attack paper reported for the model (registry metadata ``attack_points``: He et al.'s conv11,
  ReLU22, ReLU32 for cifar10cnn);
* :func:`policy_points` — the fixed points of the within-point study: the reported points that
  have a quantizable layer after the stem on the edge (a policy changes nothing before), else the
  middle of notebook 03's shallow/middle/deep points;
* :func:`random_policies` — distinct random quantization policies at a fixed point, drawn as the
  search draws them (Algorithm 1's RANDOM_POLICY: every searched layer uniform in R_w × R_a);
* :func:`attack_policies` — every attack on each of those policies, the policies spread over
  ``workers`` processes (``AttackSettings.policy_workers``; each result is cached on its own);
* :func:`strategy_candidates` — the searched strategy and the fp32 / 8-bit uniform baselines at
  the deepest partition under E_b (``paper_strategies.PaperStrategy``);
* :func:`policy_correlation` — Spearman ρ between P and each attack's SSIM within a point, with
  a bootstrap interval;
* :func:`paper_table` — one row per attack and split point, for holding against a paper's table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from torch import nn

from ..attacks import runner
from ..infra.executors import make_executor
from ..method import energy, models
from ..method.models import MODELS
from ..method.policy import Policy
from ..attacks.base import ATTACKS
from ..attacks.points import resolve_points, spread_points
from . import wording
from .attack_tables import agreement_words, bootstrap_spearman, spearman, strongest
from ..attacks.worst_case import WORST, spread_of_worst, worst_attack, worst_case
from .wording import MIN_POINTS_FOR_RHO, Findings
from .analysis import pick_points
from ..method.genome import Genome, GenomeSpace, key
from ..search.variation import random_genome
from ..method.paper_strategies import PaperStrategy


WORST_CASE_LABEL = "worst case (highest over the attacks)"


def reported_points(model: str) -> list[int]:
    """The points an attack paper reported for ``model`` (registry ``attack_points``), as numbers."""
    names = models.MODELS.entry(model).meta.get("attack_points") or ()
    return resolve_points(model, names)


def sweep_points(model: str, net: nn.Module, k: int | None) -> list[int]:
    """``k`` points spread from the stem to the last unit, plus the reported ones; sorted."""
    return sorted(set(spread_points(models.num_units(net), k)) | set(reported_points(model)))


def policy_points(model: str, net: nn.Module, limit: int | None = None) -> list[int]:
    """The fixed points of the within-point policy study (module docstring); the first ``limit``
    of them when given."""
    stem_layers = models.edge_layer_count(net, 0)
    usable = [p for p in reported_points(model) if models.edge_layer_count(net, p) > stem_layers]
    if not usable:
        picks = pick_points(net, 3)
        usable = [picks[len(picks) // 2]]
    return usable[:limit] if limit is not None else usable


def within_point_images(settings) -> int:
    """Test images of the within-point study: ``settings.policy_images``, else ``settings.images``
    (an :class:`~paperlib.method.profiles.AttackSettings`; docs/decisions/attacks.md §12)."""
    n = settings.policy_images if settings.policy_images is not None else settings.images
    if n < 1:
        raise ValueError(f"AttackSettings.policy_images must be positive (or None for `images`), got {n}")
    return int(n)


def random_policies(net: nn.Module, p: int, n: int, seed: int = 0) -> list[list[tuple[int, int]]]:
    """Up to ``n`` distinct random policies at partition ``p`` (distinct on the edge's layers),
    drawn with Algorithm 1's RANDOM_POLICY from ``seed``; fewer when the point has fewer."""
    space = GenomeSpace.from_net(net)
    rng = np.random.default_rng(seed)
    out: dict[str, list[tuple[int, int]]] = {}
    distinct = len(space.weight_bits) * len(space.activation_bits)
    most = distinct ** len(space.edge_range(p)) if len(space.edge_range(p)) else 1
    attempts = 0
    while len(out) < min(n, most) and attempts < 50 * n:
        g = Genome(p, random_genome(space, rng).bits)
        out.setdefault(key(g, space), g.policy)
        attempts += 1
    return list(out.values())


SAME_POINT_FP32 = "full precision at the searched p"


@dataclass(frozen=True)
class PolicyJobs:
    """What every job of the within-point study shares: the model, its profile, network and
    checkpoint metadata, the fixed point and :func:`paperlib.attacks.runner.run`'s keywords."""

    model: str
    profile: Any  # a Profile or its name
    net: nn.Module
    meta: dict
    p: int
    run: Mapping[str, Any] = field(default_factory=dict)


def _attack_policy(jobs: PolicyJobs, item: tuple[int, Policy]) -> list[dict]:
    i, policy = item
    results = runner.run(jobs.model, jobs.profile, [jobs.p], policy, net=jobs.net, meta=jobs.meta,
                         **jobs.run)
    mj = energy.edge_energy(jobs.net, jobs.p, policy, transmission=False)
    return [{**r.row(), "policy": i, "energy_mJ": mj} for r in results]


def attack_policies(jobs: PolicyJobs, policies: Sequence[Policy], workers: int = 1) -> list[dict]:
    """One row per (policy, attack) at ``jobs.p``: the attack's :meth:`AttackResult.row`, the
    policy's index in ``policies`` and its edge energy without transmission (Eq. 7–8). The
    policies run one after the other in this process (``workers`` 1) or spread over ``workers``
    processes of one thread each; the rows come back in the order of ``policies`` either way, and
    each attack result is cached on its own, so an interrupted study resumes."""
    executor = (make_executor("process", workers=workers, threads_per_worker=1) if workers != 1
                else make_executor("local"))
    with executor as ex:
        done = ex.map(_attack_policy, jobs, list(enumerate(policies)))
    return [row for rows in done for row in rows]


def strategy_candidates(net: nn.Module, best_genome: dict, energy_bound: float,
                        transmission: bool) -> dict[str, tuple[int | None, Policy]]:
    """``{method: (p, policy)}`` of the searched strategy, the fp32 / 8-bit uniform baselines at
    the deepest partition point under ``energy_bound`` (None where none fits) and full precision
    at the searched point (:data:`SAME_POINT_FP32`)."""
    genome = Genome.from_dict(best_genome)
    out: dict[str, tuple[int | None, Policy]] = {
        PaperStrategy.SEARCHED.method: (genome.p, genome.policy)}
    for ref in (PaperStrategy.UNIFORM8, PaperStrategy.FP32):
        out[ref.method] = (ref.partition(net, energy_bound, transmission=transmission), ref.bits)
    # the control that isolates the searched bits from the searched depth: same p, no quantization
    out[SAME_POINT_FP32] = (genome.p, PaperStrategy.FP32.bits)
    return out


def with_worst_case(results: pd.DataFrame, by: Sequence[str] = ("model", "split", "policy")
                    ) -> pd.DataFrame:
    """``results`` (one row per IR and attack) plus one row per IR (group of ``by``) whose
    ``attack`` is ``worst``: its highest SSIM and PSNR over the attacks (docs/decisions/attacks.md
    §10), ``worst_attack`` the attack reaching that SSIM and ``ssim_sd`` that attack's spread over
    the images, so that the strongest attack is compared like any other."""
    by = list(by)
    keep = [c for c in ("split", "p", "tag", "ir_bits", "privacy", "test_images", "energy_mJ")
            if c in results and c not in by]
    rows = []
    for key, g in results.groupby(by, sort=False):
        ssim = dict(zip(g["attack"], g["ssim"]))
        top = worst_attack(ssim)
        row = {**dict(zip(by, key if isinstance(key, tuple) else (key,))),
               **g.iloc[0][keep].to_dict(), "attack": WORST, "worst_attack": top,
               "ssim": worst_case(ssim)}
        if "psnr" in g:
            row["psnr"] = worst_case(dict(zip(g["attack"], g["psnr"])))
        if "ssim_sd" in g and top:
            row["ssim_sd"] = spread_of_worst(g, top)
        rows.append(row)
    return pd.concat([results, pd.DataFrame(rows)], ignore_index=True)


def policy_correlation(df: pd.DataFrame, by: Sequence[str] = ("model", "split", "attack"), *,
                       resamples: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Per group of ``by`` (one fixed point and attack): the number of policies, Spearman ρ
    between P and SSIM with its p-value and bootstrap interval, ρ between P and PSNR, and the
    verdict in words (agreement = ρ < 0)."""
    rows = []
    for key, g in df.groupby(list(by), sort=False):
        key = key if isinstance(key, tuple) else (key,)
        s = bootstrap_spearman(g["privacy"], g["ssim"], resamples=resamples, seed=seed)
        q = bootstrap_spearman(g["privacy"], g["psnr"], resamples=0, seed=seed)
        rows.append({**dict(zip(by, key)), "policies": len(g),
                     "images": int(g["test_images"].min()) if "test_images" in g else np.nan,
                     "rho_ssim": s["rho"],
                     "ci_low": s["ci_low"], "ci_high": s["ci_high"], "p_value": s["p_value"],
                     "rho_psnr": q["rho"], "P_range": float(g["privacy"].max() - g["privacy"].min()),
                     "ssim_range": float(g["ssim"].max() - g["ssim"].min()),
                     "verdict": (agreement_words(s["rho"], s["ci_low"], s["ci_high"])
                                 if len(g) >= MIN_POINTS_FOR_RHO else
                                 f"too few policies for a verdict (n = {len(g)})")})
    return pd.DataFrame(rows)


def paper_table(df: pd.DataFrame, splits: Sequence[str]) -> pd.DataFrame:
    """One row per attack (registry order) and split point of ``splits`` (in that order): SSIM and
    PSNR as mean ± sd over the test images, P, and the mean-image reference; then one
    :data:`WORST_CASE_LABEL` row per split, the highest SSIM and PSNR over the attacks
    (docs/decisions/attacks.md §10)."""
    order = {a: i for i, a in enumerate(ATTACKS.names())}
    rows = []
    for r in df[df["split"].isin(splits)].itertuples():
        rows.append({"attack": ATTACKS.label(r.attack), "threat": ATTACKS.entry(r.attack).threat,
                     "split": r.split, "ssim": r.ssim, "ssim_sd": r.ssim_sd, "psnr_db": r.psnr,
                     "psnr_sd": r.psnr_sd, "proxy_P": r.privacy,
                     "mean_image_ssim": r.baseline_ssim, "test_images": r.test_images,
                     "_a": order.get(r.attack, len(order)), "_s": list(splits).index(r.split)})
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    worst = []
    for split, g in out.groupby("split", sort=False):  # the strongest attack is the measure (attacks.md §10)
        worst.append({"attack": WORST_CASE_LABEL, "threat": "any", "split": split,
                      "ssim": worst_case(dict(zip(g["attack"], g["ssim"]))), "ssim_sd": np.nan,
                      "psnr_db": worst_case(dict(zip(g["attack"], g["psnr_db"]))), "psnr_sd": np.nan,
                      "proxy_P": g["proxy_P"].iloc[0], "mean_image_ssim": g["mean_image_ssim"].iloc[0],
                      "test_images": int(g["test_images"].min()), "_a": len(order), "_s": g["_s"].iloc[0]})
    out = pd.concat([out, pd.DataFrame(worst)], ignore_index=True)
    return out.sort_values(["_a", "_s"]).drop(columns=["_a", "_s"]).reset_index(drop=True)


WORST_LABEL = "worst case over the attacks"


def _attack(name: str) -> str:
    return WORST_LABEL if name == WORST else ATTACKS.label(name)


def sweep_correlations(sweep: pd.DataFrame) -> pd.DataFrame:
    """Per (model, attack, and the worst case over the attacks): Spearman's ρ between P and the
    SSIM across the sweep's points (agreement: ρ < 0) beside the same ρ for the depth index p
    alone (the trivial control: does P rank the IRs better than depth does?), whether there are
    enough points for a ρ (``MIN_POINTS_FOR_RHO``) and whether the attack beats the mean image
    anywhere; saved beside the findings that quote it (``nb08_sweep_correlation``)."""
    rows = []
    for (model, attack), ga in with_worst_case(sweep, by=("model", "p")).groupby(
            ["model", "attack"], sort=False):
        rho, _ = spearman(ga["privacy"], ga["ssim"])
        rho_depth, _ = spearman(ga["p"], ga["ssim"])
        base = sweep.loc[sweep["model"] == model, "baseline_ssim"].iloc[0]
        rows.append({"model": model, "attack": attack, "points": len(ga),
                     "enough_points": len(ga) >= MIN_POINTS_FOR_RHO, "rho_P_ssim": rho,
                     "rho_depth_ssim": rho_depth,
                     "beats_mean_image": bool((ga["ssim"] - base > wording.LEAK_SSIM_GAIN).any())})
    return pd.DataFrame(rows)


def sweep_lines(sweep: pd.DataFrame) -> list[str]:
    """Per model: the strongest attack at the shallowest and the deepest point, how far each
    attack gets above the mean image, and ρ(P, SSIM) across the points per attack
    (:func:`sweep_correlations`)."""
    lines = []
    top = strongest(sweep)
    corr = sweep_correlations(sweep)
    for model, g in sweep.groupby("model", sort=False):
        t = top[top["model"] == model].sort_values("p")
        first, last = t.iloc[0], t.iloc[-1]
        wins = t["attack"].value_counts()
        rhos = [f"{_attack(r.attack)} {wording.rho_text(r.rho_P_ssim, r.points, 'ρ')}"
                + (f" (depth alone: {wording.rho_text(r.rho_depth_ssim, r.points, 'ρ')})"
                   if r.enough_points else "")
                + ("" if r.beats_mean_image else ", never above the mean image")
                for r in corr[corr["model"] == model].itertuples()]
        leak = g[g["ssim"] - g["baseline_ssim"] > wording.LEAK_SSIM_GAIN]
        lines.append(
            f"* **{MODELS.label(model)}** ({g['p'].nunique()} points): the strongest attack is the "
            f"{_attack(first['attack'])} at {first['split']} (SSIM {first['ssim']:.2f}) and the "
            f"{_attack(last['attack'])} at {last['split']} (SSIM {last['ssim']:.2f}); over all points "
            + ", ".join(f"the {_attack(a)} is strongest at {n}" for a, n in wins.items())
            + f". {len(leak)} of {len(g)} attack/point pairs beat the mean image by more than "
            f"{wording.LEAK_SSIM_GAIN} SSIM (reference {g['baseline_ssim'].iloc[0]:.2f}). "
            f"P against SSIM across points: {'; '.join(rhos)} (agreement: ρ < 0; P adds to depth "
            f"only where its ρ is further below 0 than depth's).")
    return lines


def he2019_lines(table: pd.DataFrame) -> list[str]:
    """He et al.'s split points: which attack recovers most at each."""
    lines = []
    for split, g in table.groupby("split", sort=False):
        own = g[g["attack"] != WORST_CASE_LABEL]
        best = own.loc[own["ssim"].idxmax()]
        lines.append(f"* **{MODELS.label('cifar10cnn')} at {split}**: " + ", ".join(
            f"{r.attack} SSIM {r.ssim:.2f} / {r.psnr_db:.1f} dB" for r in own.itertuples())
            + f"; strongest: {best['attack']}; worst case SSIM {worst_case(dict(zip(own.attack, own.ssim))):.2f}"
            f" / {worst_case(dict(zip(own.attack, own.psnr_db))):.1f} dB"
            f" (mean image: SSIM {best['mean_image_ssim']:.2f}).")
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
    judged = corr[corr["policies"] >= MIN_POINTS_FOR_RHO]
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


def strategy_comparison(strategies: pd.DataFrame, searched: str,
                        baseline: str | Sequence[str]) -> pd.DataFrame:
    """Per (model, attack): the searched strategy's SSIM against ``baseline``'s, their difference
    with its standard error over the test images and the verdict at
    :data:`~paperlib.studies.wording.SIGNIFICANT_SE` s.e. (saved as ``nb08_searched_vs_baseline``)."""
    rows = []
    for baseline in [baseline] if isinstance(baseline, str) else baseline:
        rows += _comparison_rows(strategies, searched, baseline)
    return pd.DataFrame(rows)


def _comparison_rows(strategies: pd.DataFrame, searched: str, baseline: str) -> list[dict]:
    rows = []
    for (model, attack), g in strategies.groupby(["model", "attack"], sort=False):
        g = g.set_index("strategy")
        if searched not in g.index or baseline not in g.index:
            continue
        a, b = g.loc[searched], g.loc[baseline]
        d = a["ssim"] - b["ssim"]
        se = math.sqrt(a["ssim_sd"] ** 2 / a["test_images"] + b["ssim_sd"] ** 2 / b["test_images"])
        word = ("harder to invert" if d < -wording.SIGNIFICANT_SE * se else
                "easier to invert" if d > wording.SIGNIFICANT_SE * se else
                f"about as hard to invert (within {wording.SIGNIFICANT_SE:g} s.e.)")
        rows.append({"model": model, "attack": attack, "baseline": baseline,
                     "p_searched": int(a["p"]), "p_baseline": int(b["p"]),
                     "ssim_searched": a["ssim"], "ssim_baseline": b["ssim"],
                     "ssim_difference": d, "difference_se": se, "verdict": word,
                     "images": int(min(a["test_images"], b["test_images"])),
                     "P_searched": a["privacy"], "P_baseline": b["privacy"]})
    return rows


def strategy_lines(strategies: pd.DataFrame, searched: str,
                   baseline: str | Sequence[str]) -> list[str]:
    """Per baseline, model and attack: is the searched strategy harder to invert than the
    baseline? (:func:`strategy_comparison`)"""
    return [f"* **{MODELS.label(r.model)}, {_attack(r.attack)}**: searched (p = {r.p_searched}) SSIM "
            f"{r.ssim_searched:.3f} vs {r.baseline} (p = {r.p_baseline}) {r.ssim_baseline:.3f}, "
            f"difference {r.ssim_difference:+.3f} ± {r.difference_se:.3f} s.e.: {r.verdict}; "
            f"P {r.P_searched:.3f} vs {r.P_baseline:.3f}."
            for r in strategy_comparison(strategies, searched, baseline).itertuples()]


def findings(sweep: pd.DataFrame, he_table: pd.DataFrame | None, corr: pd.DataFrame,
             strategies: pd.DataFrame, searched: str, baseline: str) -> Findings:
    """All of notebook 08's sentences, as a :class:`paperlib.studies.wording.Findings`."""
    lines: list[str] = sweep_lines(sweep)
    if he_table is not None and len(he_table):
        lines += he2019_lines(he_table)
    lines += policy_lines(corr)
    if len(strategies):
        lines += strategy_lines(strategies, searched, (baseline, SAME_POINT_FP32))
    return Findings(pd.DataFrame(), lines)


__all__ = ["PolicyJobs", "attack_policies", "reported_points", "sweep_points", "policy_points", "random_policies",
           "strategy_candidates", "with_worst_case", "policy_correlation", "within_point_images",
           "paper_table", "findings", "sweep_correlations", "sweep_lines", "strategy_comparison",
           "he2019_lines", "policy_lines", "strategy_lines", "WORST_LABEL", "SAME_POINT_FP32"]
