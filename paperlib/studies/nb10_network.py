"""Notebook 10's experiment: every scheduler x QoR floor x link, for each model.

Links (:func:`links`): the paper's stable 1 Mbit/s link, Wi-Fi as a fixed rate (no trace exists;
stated as such), and every catalogue trace present (md5-verified). The profile's
:class:`~paperlib.method.profiles.NetworkPlan` (``Profile.network``) says which traces and how long: ``smoke`` replays two traces for 60 s,
``quick`` and ``paper`` every trace over its full length.

QoR floors are absolute accuracies (top-1 in [0, 1]) spread over the model's measured range
(:func:`measured_floors`; docs/decisions/network.md §2); a path below the floor is excluded by the
schedulers that choose, and its answers fail the QoR for those that cannot. Queues are bounded
(drop at admission, stale uploads expire; §13).
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from ..infra.progress import tqdm
from ..method.profiles import NetworkPlan, Profile, resolve_profile
from ..network import traces
from ..network.constants import PAPER_LINK_BPS, QOR_FLOORS, WIFI_LINK_BPS
from ..network.link import Link
from ..network.paths import ExecutionPath, PathSet
from ..network import schedulers as scheduler_registry
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


def path_record(model_label: str, path: ExecutionPath) -> dict:
    """One row of notebook 10's path and menu tables: where ``path`` splits, what it sends (kbit;
    ``resent_ir_bits``: the width an IR-width variant re-quantizes its IR to, else empty), its
    device cost, top-1 and P."""
    return {"model": model_label, "path": path.name, "blocks_on_device": path.point,
            "sent_kbit": path.bits / 1e3, "resent_ir_bits": path.resent_ir_bits,
            "device_mJ": path.device_mj, "top1": path.accuracy, "privacy_P": path.privacy,
            "raw_image": path.raw_image}


def path_frame(records: list[dict]) -> pd.DataFrame:
    """Notebook 10's path or menu table from :func:`path_record` rows: ``resent_ir_bits`` stays an
    integer column (empty where a path is not an IR-width variant), never a float."""
    return pd.DataFrame(records).astype({"resent_ir_bits": "Int64"})


def measured_floors(ps: PathSet, count: int = len(QOR_FLOORS)) -> tuple[float, ...]:
    """``count`` absolute accuracy floors evenly spread from the least to the most accurate path of
    ``ps`` (exits, searched strategies, the full model), rounded down to 0.001 so that the top one
    admits the most accurate path (docs/decisions/network.md §2)."""
    acc = [p.accuracy for p in ps.all_paths()]
    lo, hi = min(acc), max(acc)
    return tuple(float(np.floor(v * 1000) / 1000) for v in np.linspace(lo, hi, count))


def check_floor(floor: float) -> float:
    """``floor`` as a float, refused by name unless it is an accuracy in [0, 1]."""
    f = float(floor)
    if not 0.0 <= f <= 1.0:
        raise ValueError(f"floor must be an absolute accuracy in [0, 1] (a top-1), got {floor!r}")
    return f


def simulate(ps: PathSet, sc: Scenario, scheduler: str, floor: float,
             table: PathTable | None = None, settings: dict | None = None) -> Outcome:
    """One scheduler on one scenario at accuracy floor ``floor`` (an absolute top-1 in [0, 1]);
    ``settings``: plain values per scheduler name (``NetworkPlan.schedulers``)."""
    floor = check_floor(floor)
    table = table if table is not None else PathTable.from_set(ps, sc.utilisation)
    sched = scheduler_registry.make(scheduler, table, ps, floor, sc.rtt, settings)
    meets = table.accuracy >= floor - 1e-12
    meets[list(getattr(sched, "certified", ()))] = True
    images = sc.images(sc.arrivals().size, table.correct.shape[1])
    choice = None if sc.bounded else sched.fixed(images)
    if choice is not None:
        out = run_fixed(choice, table, sc, scheduler=scheduler, floor=floor, images=images,
                        meets_floor=meets)
    else:
        out = run_adaptive(sched, table, sc, scheduler=scheduler, floor=floor, images=images,
                           meets_floor=meets)
    out.floor_bound = bool(getattr(sched, "floor_excluded", 0) > 0 or out.below_floor.any())
    return out


def run_grid(ps: PathSet, scenarios: Iterable[Scenario], *, schedulers: Sequence[str] | None = None,
             floors: Sequence[float] | None = None, settings: dict | None = None,
             progress: bool = False) -> pd.DataFrame:
    """Summary rows (:meth:`Outcome.summary`) of every scheduler x floor x scenario, with
    ``model``; ``floors`` None: :func:`measured_floors` of ``ps``."""
    names = tuple(schedulers or SCHEDULERS.names())
    levels = tuple(check_floor(f) for f in (floors if floors is not None else measured_floors(ps)))
    scenarios = list(scenarios)
    tables: dict[float, PathTable] = {}
    rows = []
    bar = tqdm(total=len(scenarios) * len(names) * len(levels), desc=f"simulate {ps.model}",
               disable=not progress)
    for sc in scenarios:
        table = tables.setdefault(sc.utilisation, PathTable.from_set(ps, sc.utilisation))
        for name in names:
            for f in levels:
                rows.append({"model": ps.model,
                             **simulate(ps, sc, name, f, table, settings).summary()})
                bar.update(1)
    bar.close()
    return pd.DataFrame(rows)


def e3_table(grid: pd.DataFrame) -> pd.DataFrame:
    """Tang et al.'s Table 2 for our models: E3 (correct on-time answers per mJ) per model,
    network type and scheduler (rows), pooled over the network's links, at each of the model's
    accuracy floors, lowest first (columns ``E3 k``, with the floor itself in ``floor k``), and
    ``bound k``: whether that floor bound the scheduler (excluded one of its paths or failed one
    of its answers) on any link."""
    keys = ["model", "network", "scheduler", "accuracy_floor"]
    pooled = (grid.assign(successes=grid["success_share"] * grid["requests"],
                          energy=grid["mean_energy_mj"] * grid["requests"])
              .groupby(keys).agg(successes=("successes", "sum"), energy=("energy", "sum"),
                                 bound=("floor_bound", "any"))).reset_index()
    pooled["e3_per_mj"] = pooled["successes"] / pooled["energy"]
    pooled["rank"] = (pooled.groupby("model")["accuracy_floor"].rank(method="dense")
                      .astype(int))
    wide = pooled.pivot(index=["model", "network", "scheduler"], columns="rank",
                        values=["e3_per_mj", "accuracy_floor", "bound"])
    out = pd.DataFrame(index=wide.index)
    for k in sorted(pooled["rank"].unique()):
        out[f"E3 {k}"] = wide[("e3_per_mj", k)].astype(float)
        out[f"floor {k}"] = wide[("accuracy_floor", k)].astype(float)
        out[f"bound {k}"] = wide[("bound", k)].astype(bool)
    return out.reset_index()


def sizes_sent(grid: pd.DataFrame, scheduler: str = "dynamic-partition") -> dict[float, str]:
    """Per accuracy floor of ``grid`` (one model's rows of :func:`run_grid`), what ``scheduler``
    sent: the transfer sizes it chose (kbit, mean per offloading request on each trace) or that
    every answer came from the device (docs/decisions/network.md §18)."""
    rows = grid[grid["scheduler"] == scheduler]
    out = {}
    for floor, g in rows.groupby("accuracy_floor"):
        kbit = sorted(g["mean_sent_kbit"].dropna().round(1).unique())
        many = int(g["sizes_sent"].max())
        out[float(floor)] = ("nothing (every answer from the device)" if not kbit else
                             ", ".join(f"{k:g}" for k in kbit) + " kbit"
                             + (f" ({many} sizes on one trace)" if many > 1 else ""))
    return out


def never_in_time_reason(ps: PathSet, sc: Scenario, path: str) -> str | None:
    """Why ``path`` of ``ps`` can never meet ``sc``'s deadline, as a sentence (None when it can):
    its device compute alone, or its compute plus sending its bits at the link's best rate (its
    densest opportunities over one period) plus the RTT and cloud, exceeds the deadline."""
    table = PathTable.from_set(ps, sc.utilisation)
    k = table[path]
    dev, cloud = float(table.device_ms[k]), float(table.cloud_ms[k])
    name = table.paths[k].label
    if dev > sc.deadline_ms:
        return (f"{ps.model}: {name} computes {dev:.1f} ms on the device, more than the "
                f"{sc.deadline_ms:g} ms deadline.")
    if table.local[k]:
        return None
    packets = int(table.packets[k])
    best_ms = sc.link.fastest_ms(packets)
    total = dev + best_ms + sc.rtt + cloud
    if total > sc.deadline_ms + 1e-9:
        return (f"{ps.model}: {name} sends {int(table.bits[k]) / 1e3:.1f} kbit, "
                f"{best_ms:.1f} ms at best on {sc.link.name}; with {dev:.1f} ms on the device, "
                f"{sc.rtt:g} ms RTT and {cloud:.1f} ms in the cloud it needs {total:.1f} ms, more "
                f"than the {sc.deadline_ms:g} ms deadline, so it can never be on time there.")
    return None


def never_in_time_reasons(ps: PathSet, sc: Scenario) -> list[str]:
    """:func:`never_in_time_reason` of every offloading path of ``ps`` that can never be on time
    on ``sc`` (the static strategy first), and of the full model on the device if it cannot."""
    order = [ps.static, *[p for p in ps.all_paths() if p.name != ps.static.name]]
    return [r for p in order if (r := never_in_time_reason(ps, sc, p.name)) is not None]


def time_series(outcome: Outcome, link: Link, bin_ms: float = 1000.0) -> pd.DataFrame:
    """Per request: arrival (s), chosen partition point, latency, on time, answered on the device
    without sending anything (``local``); and the link capacity over ``bin_ms`` around each arrival
    (Mbit/s), for the time plot."""
    start = np.maximum(outcome.arrival - bin_ms / 2, 0)
    local = ~outcome.dropped & ~outcome.expired & np.isnan(outcome.privacy)
    return pd.DataFrame({"t_s": outcome.arrival / 1e3, "point": outcome.point,
                         "latency_ms": outcome.latency, "on_time": outcome.on_time, "local": local,
                         "capacity_mbps": link.capacity_bps(start, bin_ms) / 1e6})


__all__ = ["sizes_sent", "path_record", "path_frame", "NetworkPlan", "network_plan", "paper_link", "wifi_link", "links", "scenario",
           "measured_floors", "check_floor", "simulate", "run_grid", "e3_table", "never_in_time_reason",
           "never_in_time_reasons",
           "time_series"]
