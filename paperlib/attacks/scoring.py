"""Score a strategy ``(p, policy)`` with every attack: what the search's result file carries when
asked (:func:`score_result`, CLI ``search --attack-scores``; docs/decisions/attacks.md
§9). Results are cached by :func:`paperlib.attacks.run`, so a rerun only reloads them."""

from __future__ import annotations

from typing import Any, Sequence

from torch import nn

from ..method.policy import Policy
from ..method.genome import Genome
from ..method.profiles import Profile
from ..search import SearchContext, SearchResult
from .base import ATTACKS
from .results import AttackResult
from .runner import run

SCORE_FIELDS = ("ssim", "ssim_sd", "psnr", "psnr_sd", "privacy", "baseline_ssim", "baseline_psnr",
                "test_images", "split", "tag", "ir_bits")


def score_record(result: AttackResult) -> dict[str, Any]:
    """The fields of one attack result that a search result keeps."""
    return {k: getattr(result, k) for k in SCORE_FIELDS}


def strategy_scores(model: str, profile: Profile, p: int, policy: Policy, *, net: nn.Module,
                    meta: dict, dataset: str, attacks: Sequence[str] | None = None,
                    images: int | None = None, progress: bool = False,
                    allow_partial: bool | None = None) -> dict[str, dict[str, Any]]:
    """``{attack: {ssim, ssim_sd, psnr, …}}`` of the strategy ``(p, policy)`` under every attack
    of ``attacks`` (default: every registered one), on ``images`` test images (default: the
    profile's ``attack.images``, notebook 08's evaluation set)."""
    names = tuple(attacks or ATTACKS.names())
    results = run(model, profile, [p], policy, attacks=names, net=net, meta=meta, dataset=dataset,
                  images=images if images is not None else profile.attack.images,
                  progress=progress, allow_partial=allow_partial)
    return {r.attack: score_record(r) for r in results}


def score_result(result: SearchResult, context: SearchContext, *, progress: bool = False,
                 allow_partial: bool | None = None) -> SearchResult:
    """Score a search's best strategy with every registered attack, keep the scores in
    ``result.best["attack_scores"]`` and save the result file again (docs/decisions/attacks.md
    §9). ``context`` is the one the search ran with (its model, weights and data)."""
    best = Genome.from_dict(result.best["genome"])
    result.best["attack_scores"] = strategy_scores(
        context.model, context.profile, best.p, best.policy, net=context.net, meta=context.meta,
        dataset=context.dataset, progress=progress, allow_partial=allow_partial)
    result.save()
    return result


__all__ = ["strategy_scores", "score_record", "score_result", "SCORE_FIELDS"]
