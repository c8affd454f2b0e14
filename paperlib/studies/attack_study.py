"""What notebook 08 asks of the attacks, as functions: which points and policies to attack, the
strategies to compare, and the tables (docs/decisions/attacks.md §7–§8).

* :func:`sweep_points` — partition points of the sweep: ``k`` spread evenly, plus the points an
  attack paper reported for the model (registry metadata ``attack_points``: He et al.'s conv11,
  ReLU22, ReLU32 for cifar10cnn);
* :func:`policy_points` — the fixed points of the within-point study: the reported points that
  have a quantizable layer after the stem on the edge (a policy changes nothing before), else the
  middle of notebook 03's shallow/middle/deep points;
* :func:`random_policies` — distinct random quantization policies at a fixed point, drawn as the
  search draws them (Algorithm 1's RANDOM_POLICY: every searched layer uniform in R_w × R_a);
* :func:`strategy_candidates` — the searched strategy and the fp32 / 8-bit uniform baselines at
  the deepest partition under E_b (``paper_strategies.PaperStrategy``);
* :func:`policy_correlation` — Spearman ρ between P and each attack's SSIM within a point, with
  a bootstrap interval;
* :func:`paper_table` — one row per attack and split point, for holding against a paper's table.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from torch import nn

from ..method import models
from .comparison import MIN_POINTS_FOR_RHO
from ..method.policy import Policy
from ..attacks.base import ATTACKS
from .attack_compare import agreement_words, bootstrap_spearman
from ..attacks.points import resolve_points, spread_points


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
    from .analysis import pick_points

    stem_layers = models.edge_layer_count(net, 0)
    usable = [p for p in reported_points(model) if models.edge_layer_count(net, p) > stem_layers]
    if not usable:
        picks = pick_points(net, 3)
        usable = [picks[len(picks) // 2]]
    return usable[:limit] if limit is not None else usable


def random_policies(net: nn.Module, p: int, n: int, seed: int = 0) -> list[list[tuple[int, int]]]:
    """Up to ``n`` distinct random policies at partition ``p`` (distinct on the edge's layers),
    drawn with Algorithm 1's RANDOM_POLICY from ``seed``; fewer when the point has fewer."""
    from ..method.genome import Genome, GenomeSpace, key
    from ..search.variation import random_genome

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


def strategy_candidates(net: nn.Module, best_genome: dict, energy_bound: float,
                        transmission: bool) -> dict[str, tuple[int | None, Policy]]:
    """``{method: (p, policy)}`` of the searched strategy and the fp32 / 8-bit uniform baselines
    at the deepest partition point under ``energy_bound`` (None where none fits)."""
    from ..method.genome import Genome
    from ..method.paper_strategies import PaperStrategy

    genome = Genome.from_dict(best_genome)
    out: dict[str, tuple[int | None, Policy]] = {
        PaperStrategy.SEARCHED.method: (genome.p, genome.policy)}
    for ref in (PaperStrategy.UNIFORM8, PaperStrategy.FP32):
        out[ref.method] = (ref.partition(net, energy_bound, transmission=transmission), ref.bits)
    return out


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
        rows.append({**dict(zip(by, key)), "policies": len(g), "rho_ssim": s["rho"],
                     "ci_low": s["ci_low"], "ci_high": s["ci_high"], "p_value": s["p_value"],
                     "rho_psnr": q["rho"], "P_range": float(g["privacy"].max() - g["privacy"].min()),
                     "ssim_range": float(g["ssim"].max() - g["ssim"].min()),
                     "verdict": (agreement_words(s["rho"], s["ci_low"], s["ci_high"])
                                 if len(g) >= MIN_POINTS_FOR_RHO else
                                 f"too few policies for a verdict (n = {len(g)})")})
    return pd.DataFrame(rows)


def paper_table(df: pd.DataFrame, splits: Sequence[str]) -> pd.DataFrame:
    """One row per attack (registry order) and split point of ``splits`` (in that order): SSIM and
    PSNR as mean ± sd over the test images, P, and the mean-image reference."""
    order = {a: i for i, a in enumerate(ATTACKS.names())}
    rows = []
    for r in df[df["split"].isin(splits)].itertuples():
        rows.append({"attack": ATTACKS.label(r.attack), "threat": ATTACKS.entry(r.attack).threat,
                     "split": r.split, "ssim": r.ssim, "ssim_sd": r.ssim_sd, "psnr_db": r.psnr,
                     "psnr_sd": r.psnr_sd, "proxy_P": r.privacy,
                     "mean_image_ssim": r.baseline_ssim, "test_images": r.test_images,
                     "_a": order.get(r.attack, len(order)), "_s": list(splits).index(r.split)})
    out = pd.DataFrame(rows)
    return out.sort_values(["_a", "_s"]).drop(columns=["_a", "_s"]).reset_index(drop=True)


__all__ = ["reported_points", "sweep_points", "policy_points", "random_policies",
           "strategy_candidates", "policy_correlation", "paper_table"]
