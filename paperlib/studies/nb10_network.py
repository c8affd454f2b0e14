"""Notebook 10's experiment: every scheduler x QoR floor x link, for each model.

Links (:func:`links`): the paper's stable 1 Mbit/s link, Wi-Fi as a fixed rate (no trace exists;
stated as such), and every catalogue trace present (md5-verified). The profile's
:class:`~paperlib.method.profiles.NetworkPlan` (``Profile.network``) says which traces and how long: ``smoke`` replays two traces for 60 s,
``quick`` and ``paper`` every trace over its full length.

QoR floors (Tang et al.'s 75-90 %) are scaled to our models: a floor ``q`` requires a top-1 of
``q x`` the full model's measured top-1 (docs/decisions/network.md §2).
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from ..method.profiles import NetworkPlan, Profile, resolve_profile
from ..network import traces
from ..network.constants import PAPER_LINK_BPS, QOR_FLOORS, WIFI_LINK_BPS
from ..network.link import Link
from ..network.paths import PathSet
from ..network.schedulers import SCHEDULERS
from ..network.simulate import Outcome, PathTable, Scenario, run_adaptive, run_fixed


def network_plan(profile: str | Profile | None = None) -> NetworkPlan:
    """Which traces a profile replays and for how long (``Profile.network``)."""
    return resolve_profile(profile).network


def paper_link() -> Link:
    """The paper's assumption: a stable 1 Mbit/s uplink at 100 pJ/bit (Eq. 9)."""
    return Link.fixed_rate(PAPER_LINK_BPS, "paper", "paper link (1 Mbit/s)")


def wifi_link() -> Link:
    """Wi-Fi as a fixed rate (no Wi-Fi trace exists here): a synthetic link, stated as such."""
    return Link.fixed_rate(WIFI_LINK_BPS, "wifi", f"Wi-Fi (fixed {WIFI_LINK_BPS / 1e6:g} Mbit/s)")


def links(profile: str | Profile | None = None, root=None) -> list[Link]:
    """The paper's link, Wi-Fi, and the plan's traces that are present (each md5-verified)."""
    plan = network_plan(profile)
    present = traces.available(root)
    names = [n for n in (plan.traces or tuple(traces.CATALOGUE)) if n in present]
    return [paper_link(), wifi_link(), *(Link.from_trace(traces.load(n, root)) for n in names)]


def scenario(link: Link, profile: str | Profile | None = None, **kw) -> Scenario:
    """The plan's scenario on ``link``: the plan's duration, else one pass of a trace, else (a
    fixed-rate link) the plan's ``synthetic_duration_ms``."""
    plan = network_plan(profile)
    duration = plan.duration_ms
    if duration is None and link.synthetic:
        duration = plan.synthetic_duration_ms
    return Scenario(link, duration_ms=duration, **kw)


def simulate(ps: PathSet, sc: Scenario, scheduler: str, qor: float,
             table: PathTable | None = None) -> Outcome:
    """One scheduler on one scenario at QoR floor ``qor`` (a fraction of the full model's top-1)."""
    entry = SCHEDULERS.entry(scheduler)
    table = table if table is not None else PathTable.from_set(ps, sc.utilisation)
    floor = qor * ps.full_top1
    sched = entry.obj(table, ps, floor, sc.rtt)
    images = sc.images(sc.arrivals().size, table.correct.shape[1])
    choice = sched.fixed(images)
    if choice is not None:
        return run_fixed(choice, table, sc, scheduler=scheduler, qor=qor, floor=floor, images=images)
    return run_adaptive(sched, table, sc, scheduler=scheduler, qor=qor, floor=floor, images=images)


def run_grid(ps: PathSet, scenarios: Iterable[Scenario], *, schedulers: Sequence[str] | None = None,
             qors: Sequence[float] = QOR_FLOORS, progress: bool = False) -> pd.DataFrame:
    """Summary rows (:meth:`Outcome.summary`) of every scheduler x QoR x scenario, with ``model``."""
    from tqdm.auto import tqdm

    names = tuple(schedulers or SCHEDULERS.names())
    scenarios = list(scenarios)
    tables: dict[float, PathTable] = {}
    rows = []
    bar = tqdm(total=len(scenarios) * len(names) * len(qors), desc=f"simulate {ps.model}",
               disable=not progress)
    for sc in scenarios:
        table = tables.setdefault(sc.utilisation, PathTable.from_set(ps, sc.utilisation))
        for name in names:
            for q in qors:
                rows.append({"model": ps.model, **simulate(ps, sc, name, q, table).summary()})
                bar.update(1)
    bar.close()
    return pd.DataFrame(rows)


def e3_table(grid: pd.DataFrame) -> pd.DataFrame:
    """Tang et al.'s Table 2 for our models: E3 (correct on-time answers per mJ) per model,
    network type and scheduler (rows) and QoR floor (columns), pooled over the network's links."""
    pooled = (grid.assign(successes=grid["success_share"] * grid["requests"],
                          energy=grid["mean_energy_mj"] * grid["requests"])
              .groupby(["model", "network", "scheduler", "qor"])[["successes", "energy"]].sum())
    pooled["e3_per_mj"] = pooled["successes"] / pooled["energy"]
    return pooled["e3_per_mj"].unstack("qor").reset_index()


def time_series(outcome: Outcome, link: Link, bin_ms: float = 1000.0) -> pd.DataFrame:
    """Per request: arrival (s), chosen partition point, latency, on time, answered on the device
    without sending anything (``local``); and the link capacity over ``bin_ms`` around each arrival
    (Mbit/s), for the time plot."""
    start = np.maximum(outcome.arrival - bin_ms / 2, 0)
    local = ~outcome.refused & np.isnan(outcome.privacy)
    return pd.DataFrame({"t_s": outcome.arrival / 1e3, "point": outcome.point,
                         "latency_ms": outcome.latency, "on_time": outcome.on_time, "local": local,
                         "capacity_mbps": link.capacity_bps(start, bin_ms) / 1e6})


__all__ = ["NetworkPlan", "network_plan", "paper_link", "wifi_link", "links",
           "scenario", "simulate", "run_grid", "e3_table", "time_series"]
