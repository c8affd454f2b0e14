"""The paper's search results at several energy bounds E_b: the strategies the dynamic maximized
partition switches among (docs/decisions/network.md §9).

The run at the paper's E_b (0.35 mJ) is the one ``make reproduce`` makes (same call, same folder,
so it is reused); the others go to ``results/<profile>/network/sweep/<model>-eb<E_b>-seed<seed>/``
with the profile's :class:`SweepPlan` overrides (``quick``: one more bound, 0.75 mJ, searched for 100
iterations instead of 300, so that notebook 10 stays within its time budget). Every run is cached
and resumable (``search.run``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..infra import config
from ..method.constants import ENERGY_BOUND_MJ
from ..method.profiles import Profile, get_profile

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepPlan:
    """Energy bounds (mJ) to search at, and search overrides for every bound but the paper's."""

    bounds: tuple[float, ...]
    overrides: dict[str, Any] = field(default_factory=dict)


SWEEP_PLANS: dict[str, SweepPlan] = {
    "smoke": SweepPlan((0.2, ENERGY_BOUND_MJ, 0.75)),
    # quick: one bound above the paper's (a bound below it yields shallower strategies with larger
    # IRs, which the dynamic partition never prefers), 100 iterations: notebook 10's time budget
    "quick": SweepPlan((ENERGY_BOUND_MJ, 0.75), {"iterations": 100}),
    "paper": SweepPlan((0.15, 0.2, 0.25, ENERGY_BOUND_MJ, 0.5, 0.75, 1.0)),
}


def sweep_plan(profile: str | Profile | None = None) -> SweepPlan:
    prof = profile if isinstance(profile, Profile) else get_profile(profile)
    return SWEEP_PLANS.get(prof.name, SWEEP_PLANS["paper"])


def sweep_dir(model: str, profile: str, energy_bound: float, seed: int) -> Path:
    return (config.results_dir() / profile / "network" / "sweep"
            / f"{model}-eb{energy_bound:g}-seed{seed}")


def run_sweep(model: str, profile: str | Profile | None = None, *,
              bounds: tuple[float, ...] | None = None, seed: int = 0, progress: bool = False,
              context=None) -> list:
    """``search.run`` at every bound of the profile's plan (or ``bounds``), cached; returns the
    :class:`~paperlib.search.SearchResult` of each bound that admits a strategy, by bound."""
    from .. import search

    prof = profile if isinstance(profile, Profile) else get_profile(profile)
    plan = sweep_plan(prof)
    results = []
    for b in sorted(bounds if bounds is not None else plan.bounds):
        kwargs: dict[str, Any] = {}
        if b != ENERGY_BOUND_MJ:
            kwargs = {"out_dir": sweep_dir(model, prof.name, b, seed), **plan.overrides}
        try:
            results.append(search.run(model, prof, energy_bound=b, seed=seed, progress=progress,
                                      context=context, **kwargs))
        except ValueError as exc:  # a bound below the cheapest strategy
            log.warning("sweep of %s: E_b = %g mJ skipped (%s)", model, b, exc)
    return results


__all__ = ["SweepPlan", "SWEEP_PLANS", "sweep_plan", "sweep_dir", "run_sweep"]
