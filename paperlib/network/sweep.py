"""The paper's search results at several energy bounds E_b: the strategies the dynamic maximized
partition switches among (docs/decisions/network.md §9).

The run at the paper's E_b (0.35 mJ) is the one ``make reproduce`` makes (same call, same folder,
so it is reused); the others go to ``results/<profile>/network/sweep/<model>-eb<E_b>-seed<seed>/``
with the overrides of the profile's ``energy_sweep`` (:class:`~paperlib.method.profiles.SweepPlan`;
``quick``: one more bound, 0.75 mJ, searched for 100 iterations instead of 300, so that notebook
10 stays within its time budget). Every run is cached
and resumable (``search.run``).
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..infra import config
from ..method.constants import ENERGY_BOUND_MJ
from ..method.profiles import Profile, SweepPlan, resolve_profile
from .. import search

log = logging.getLogger(__name__)


def sweep_plan(profile: str | Profile | None = None) -> SweepPlan:
    """The energy-bound sweep of a profile (``Profile.energy_sweep``)."""
    return resolve_profile(profile).energy_sweep


def sweep_dir(model: str, profile: str, energy_bound: float, seed: int) -> Path:
    return (config.results_dir() / profile / "network" / "sweep"
            / f"{model}-eb{energy_bound:g}-seed{seed}")


def run_sweep(model: str, profile: str | Profile | None = None, *,
              bounds: tuple[float, ...] | None = None, seed: int = 0, progress: bool = False,
              context=None) -> list:
    """``search.run`` at every bound of the profile's plan (or ``bounds``), cached; returns the
    :class:`~paperlib.search.SearchResult` of each bound that admits a strategy, by bound."""
    prof = resolve_profile(profile)
    plan = prof.energy_sweep
    results = []
    for b in sorted(bounds if bounds is not None else plan.bounds):
        paper = b == ENERGY_BOUND_MJ  # the paper's run: make reproduce's folder, no overrides
        settings = search.RunSettings(energy_bound=b, seed=seed,
                                      search={} if paper else plan.overrides)
        out_dir = None if paper else sweep_dir(model, prof.name, b, seed)
        try:
            results.append(search.run(model, prof, settings, out_dir=out_dir, progress=progress,
                                      context=context))
        except ValueError as exc:  # a bound below the cheapest strategy
            log.warning("sweep of %s: E_b = %g mJ skipped (%s)", model, b, exc)
    return results


__all__ = ["SweepPlan", "sweep_plan", "sweep_dir", "run_sweep"]
