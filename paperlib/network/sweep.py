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

from ..infra import config, io
from ..method.constants import ENERGY_BOUND_MJ
from ..method.profiles import Profile, SweepPlan, resolve_profile
from .. import search
from ..search.result import RESULT_FILE, load_result

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


def stored_results(model: str, profile: str | Profile | None = None, *,
                   hardware: str | None = None, dataset: str | None = None) -> list:
    """Every search result already stored under ``results/<profile>/`` for ``model`` (any E_b and
    seed: the multi-seed, multi-bound searches of notebooks 04 and 07 as much as the sweep's), on
    the same ``hardware`` description and data set when given; sorted by (E_b, seed, folder). A
    file that cannot be read is skipped with a warning: the menu degrades to what exists
    (docs/decisions/network.md §14)."""
    prof = resolve_profile(profile)
    root = config.results_dir() / prof.name
    found = []
    for path in sorted(root.rglob(RESULT_FILE)) if root.is_dir() else []:
        try:
            r = load_result(path)
        except (OSError, ValueError, KeyError, TypeError, io.DamagedFileError) as exc:
            log.warning("menu of %s: %s skipped (%s)", model, config.shown_path(path), exc)
            continue
        if r.model != model or r.profile != prof.name or not r.best:
            continue
        if hardware is not None and r.settings.get("hardware") != hardware:
            continue
        if dataset is not None and r.dataset != dataset:
            continue
        found.append(r)
    return sorted(found, key=lambda r: (r.energy_bound, r.seed, r.out_dir))


def menu_results(model: str, profile: str | Profile | None = None, *, progress: bool = False,
                 context=None) -> list:
    """The sweep's results (:func:`run_sweep`) and every other stored result of ``model`` on the
    same hardware and data set (:func:`stored_results`), one per (E_b, seed), the sweep's first."""
    results = run_sweep(model, profile, progress=progress, context=context)
    if not results:
        return results
    ref = results[0]
    seen = {(r.energy_bound, r.seed) for r in results}
    for r in stored_results(model, profile, hardware=ref.settings.get("hardware"),
                            dataset=ref.dataset):
        if (r.energy_bound, r.seed) not in seen:
            seen.add((r.energy_bound, r.seed))
            results.append(r)
    return results


__all__ = ["SweepPlan", "sweep_plan", "sweep_dir", "run_sweep", "stored_results", "menu_results"]
