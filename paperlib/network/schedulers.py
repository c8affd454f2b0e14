"""Schedulers behind one interface, in one registry (:data:`SCHEDULERS`).

A scheduler is made per (path table, paths, accuracy floor) by its registered factory and answers
either ``fixed(images)`` (the path of every request at once, when its choice needs no feedback
from the queues: the vectorised engine) or ``choose(request) -> (path, fallback)`` (the per-request
engine; ``fallback`` >= 0 arms Tang's give-up, ``path`` = ``DROPPED`` drops the request).
Decisions: docs/decisions/network.md §11.

* ``device-only``: the full model on the device, always;
* ``server-only``: the raw image up, the full model in the cloud;
* ``ddnn``: DDNN-style: the first exit on the device; when its confidence is below a threshold
  (the lowest one whose combined top-1 meets the floor), the raw image goes up for the full model;
* ``jointdnn``: JointDNN-style: the partition point with the smallest transfer, fp32;
* ``static``: the paper's searched strategy at E_b = 0.35 mJ for every request;
* ``mc-performance``: Tang's MC scheduler, performance priority: the device (the shallowest exit
  meeting the floor) when it meets the deadline, else the cloud path (the static strategy) with
  give-up, else refuse;
* ``mc-energy``: the same with energy priority: the cloud path first, as Tang et al. do to spare
  the device;
* ``dynamic-partition``: per request, the most private stored strategy (every E_b and seed) that
  meets the floor and, under the predicted link, the deadline; else a device path (an exit or the
  full model) predicted in time; else the request is dropped.

Every request is dropped at admission when its chosen path is not predicted in time (the engine's
rule, docs/decisions/network.md §13), so a scheduler chooses only among the options its design has.

Add one with ``@SCHEDULERS.register("name", label=..., color=..., marker=..., adaptive=...,
contains_static=..., settings=SettingsType)`` on a factory ``(table, paths, floor, rtt) ->
scheduler`` (with ``settings``: ``(table, paths, floor, rtt, settings)``). A scheduler owns its
settings type; a profile keeps plain values keyed by scheduler name (``NetworkPlan.schedulers``),
turned into the type by :func:`settings_for` (docs/decisions/network.md §15).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Protocol

import numpy as np

from ..infra.registry import Registry
from .paths import ExecutionPath, PathSet
from .simulate import DROPPED, PathTable, Request


class Scheduler(Protocol):
    def fixed(self, images: np.ndarray) -> np.ndarray | None: ...

    def choose(self, req: Request) -> tuple[int, int]: ...


Factory = Callable[[PathTable, PathSet, float, float], Scheduler]  # (table, paths, floor, rtt)

SCHEDULERS: Registry[Factory] = Registry(
    "scheduler", required=("adaptive", "contains_static"),
    defaults={"color": "0.5", "marker": "o", "settings": None})


def settings_for(name: str, values: Mapping[str, Mapping[str, Any]] | None = None) -> Any:
    """Scheduler ``name``'s settings object from a profile's plain values (``values[name]``);
    ``None`` for a scheduler without settings (:meth:`Registry.settings`)."""
    return SCHEDULERS.settings(name, values, where="NetworkPlan.schedulers")


def make(name: str, table: PathTable, ps: PathSet, floor: float, rtt: float,
         values: Mapping[str, Mapping[str, Any]] | None = None) -> "Scheduler":
    """Scheduler ``name`` for one path table, floor and RTT, with its settings from ``values``."""
    if not 0.0 <= floor <= 1.0:
        raise ValueError(f"floor must be an accuracy in [0, 1], got {floor!r}")
    settings = settings_for(name, values)
    factory = SCHEDULERS.get(name)
    if settings is None:
        return factory(table, ps, floor, rtt)
    return factory(table, ps, floor, rtt, settings)


def ddnn_threshold(confidence: np.ndarray, local_correct: np.ndarray, cloud_correct: np.ndarray,
                   floor: float) -> float:
    """The lowest confidence threshold τ at which answering locally when ``confidence >= τ`` (and
    in the cloud otherwise) keeps the mean correctness >= ``floor``; ``inf`` (never local) if none.

    Evaluated at every distinct confidence (the only places where the split changes)."""
    c = np.asarray(confidence, dtype=np.float64)
    order = np.argsort(-c, kind="stable")
    c_sorted = c[order]
    acc_local = np.cumsum(np.asarray(local_correct, dtype=np.float64)[order])
    cloud = np.asarray(cloud_correct, dtype=np.float64)
    acc_cloud_rest = cloud.sum() - np.cumsum(cloud[order])
    accuracy = (acc_local + acc_cloud_rest) / c.size  # the k most confident answered locally
    boundary = np.append(c_sorted[1:] != c_sorted[:-1], True)  # k ends a run of equal confidences
    ok = np.flatnonzero(boundary & (accuracy >= floor - 1e-12))
    return float(c_sorted[ok[-1]]) if ok.size else math.inf


class _Fixed:
    """A scheduler that always takes one path."""

    def __init__(self, index: int) -> None:
        self.index = index

    def fixed(self, images: np.ndarray) -> np.ndarray:
        return np.full(images.shape, self.index, dtype=np.int64)

    def choose(self, req: Request) -> tuple[int, int]:
        return self.index, -1


def _shallowest_device_exit(table: PathTable, ps: PathSet, floor: float) -> int:
    """The cheapest device path whose top-1 meets ``floor`` (the full model if no exit does)."""
    for p in ps.device_exits:
        if p.accuracy >= floor:
            return table[p.name]
    return table[ps.device_exits[-1].name]


def _device_fallbacks(table: PathTable, ps: PathSet, floor: float) -> list[int]:
    """The device paths (exits, then the full model) whose top-1 meets ``floor``, cheapest first;
    the full model alone when none does."""
    ok = [table[p.name] for p in ps.device_exits if p.accuracy >= floor]
    return ok or [table[ps.device_exits[-1].name]]


@SCHEDULERS.register("device-only", label="device only", color="C2", marker="s",
                     adaptive=False, contains_static=False)
def device_only(table: PathTable, ps: PathSet, floor: float, rtt: float) -> Scheduler:
    return _Fixed(table[ps.device_exits[-1].name])


@SCHEDULERS.register("server-only", label="server only (raw image)", color="C7", marker="x",
                     adaptive=False, contains_static=False)
def server_only(table: PathTable, ps: PathSet, floor: float, rtt: float) -> Scheduler:
    return _Fixed(table[ps.server.name])


class DDNN:
    """First exit on the device; below the threshold, the raw image goes to the cloud."""

    def __init__(self, table: PathTable, ps: PathSet, floor: float) -> None:
        self.local = table[ps.device_exits[0].name]
        self.cloud = table[ps.ddnn_cloud.name]
        self.confidence = ps.exit_confidence[0]
        self.threshold = ddnn_threshold(self.confidence, ps.device_exits[0].correct,
                                        ps.ddnn_cloud.correct, floor)
        free = ddnn_threshold(self.confidence, ps.device_exits[0].correct,
                              ps.ddnn_cloud.correct, 0.0)
        self.floor_excluded = int(self.threshold > free)
        # the threshold is calibrated so that the combined answers meet the floor
        self.certified = {self.local} if self.threshold < math.inf else set()

    def fixed(self, images: np.ndarray) -> np.ndarray:
        return np.where(self.confidence[images] >= self.threshold, self.local, self.cloud)

    def choose(self, req: Request) -> tuple[int, int]:
        return (self.local if self.confidence[req.image] >= self.threshold else self.cloud), -1


@SCHEDULERS.register("ddnn", label="DDNN-style", color="C1", marker="v", adaptive=False,
                     contains_static=False)
def ddnn(table: PathTable, ps: PathSet, floor: float, rtt: float) -> Scheduler:
    return DDNN(table, ps, floor)


@SCHEDULERS.register("jointdnn", label="JointDNN-style (smallest transfer)", color="C4",
                     marker="D", adaptive=False, contains_static=False)
def jointdnn(table: PathTable, ps: PathSet, floor: float, rtt: float) -> Scheduler:
    return _Fixed(table[ps.jointdnn.name])


@SCHEDULERS.register("static", label="paper's static strategy", color="C3", marker="o",
                     adaptive=False, contains_static=True)
def static(table: PathTable, ps: PathSet, floor: float, rtt: float) -> Scheduler:
    return _Fixed(table[ps.static.name])


@dataclass(frozen=True)
class MCSettings:
    """Tang's MC scheduler's option: arm the give-up on the cloud path (their default)."""

    give_up: bool = True


class MCScheduler:
    """Tang et al.'s MC scheduler on our paths: a device path (the shallowest exit meeting the
    floor) and a cloud path (the paper's static strategy, if its top-1 meets the floor)."""

    def __init__(self, table: PathTable, ps: PathSet, floor: float, rtt: float,
                 priority: str, settings: MCSettings = MCSettings()) -> None:
        self.give_up = settings.give_up
        if priority not in ("performance", "energy"):
            raise ValueError(f"priority must be 'performance' or 'energy', got {priority!r}")
        self.rtt, self.priority = rtt, priority
        self.device = _shallowest_device_exit(table, ps, floor)
        self.cloud = table[ps.static.name] if ps.static.accuracy >= floor else None
        self._device_costs = table.costs(self.device)
        self._cloud_costs = table.costs(self.cloud) if self.cloud is not None else None
        self.floor_excluded = int(self.cloud is None) + int(
            table.accuracy[self.device] < floor - 1e-12)

    def fixed(self, images: np.ndarray) -> None:
        return None

    def choose(self, req: Request) -> tuple[int, int]:
        device_ok = req.in_time(self._device_costs, self.rtt)
        cloud_ok = self.cloud is not None and req.in_time(self._cloud_costs, self.rtt)
        order = ((self.device, device_ok), (self.cloud, cloud_ok))
        if self.priority == "energy":
            order = order[::-1]
        for k, ok in order:
            if ok:
                return (k, self.device) if k == self.cloud and self.give_up else (k, -1)
        return DROPPED, -1


@SCHEDULERS.register("mc-performance", label="MC scheduler (performance)", color="C0",
                     marker="^", adaptive=True, contains_static=True, settings=MCSettings)
def mc_performance(table: PathTable, ps: PathSet, floor: float, rtt: float,
                   settings: MCSettings = MCSettings()) -> Scheduler:
    return MCScheduler(table, ps, floor, rtt, "performance", settings)


@SCHEDULERS.register("mc-energy", label="MC scheduler (energy)", color="C9", marker="<",
                     adaptive=True, contains_static=True, settings=MCSettings)
def mc_energy(table: PathTable, ps: PathSet, floor: float, rtt: float,
              settings: MCSettings = MCSettings()) -> Scheduler:
    return MCScheduler(table, ps, floor, rtt, "energy", settings)


@dataclass(frozen=True)
class DynamicSettings:
    """The dynamic maximized partition's options (docs/decisions/network.md §14): fall back to a
    device path when no stored strategy is predicted in time; keep only strategies at least as
    private as the paper's static one."""

    device_fallback: bool = True
    at_least_static_privacy: bool = True


def dynamic_menu(ps: PathSet, floor: float, at_least_static_privacy: bool = True
                 ) -> list[ExecutionPath]:
    """The strategies the dynamic partition chooses among: the searched strategies (every E_b and
    seed, and the IR-width variants of :mod:`paperlib.network.ir_width`) whose top-1 meets
    ``floor`` and, if asked, whose P is at least the static strategy's; most
    private first (ties: fewer bits). Empty when none meets the floor."""
    cands = [p for p in ps.sweep if p.accuracy >= floor - 1e-12
             and (not at_least_static_privacy or p.privacy >= ps.static.privacy - 1e-12)]
    if not any(p.name == ps.static.name for p in cands) and ps.static.accuracy >= floor - 1e-12:
        cands.append(ps.static)
    unique = {p.name: p for p in cands}
    return sorted(unique.values(), key=lambda p: (-p.privacy, p.bits, p.name))


class DynamicPartition:
    """Per request, the most private stored strategy of the menu (:func:`dynamic_menu`) predicted
    to meet the deadline; else the cheapest device path meeting the floor predicted in time (an
    exit; the full model when none meets it); else, when the floor admits no menu entry, the
    static strategy predicted in time (its answer fails the floor, but the request is served as
    the static scheduler serves it: reached only without the device fallback or with no device
    path in time); else the request is dropped (docs/decisions/network.md §11)."""

    def __init__(self, table: PathTable, ps: PathSet, floor: float, rtt: float,
                 settings: DynamicSettings = DynamicSettings()) -> None:
        menu = dynamic_menu(ps, floor, settings.at_least_static_privacy)
        self.rtt = rtt
        self.candidates = [(table[p.name], table.costs(table[p.name])) for p in menu]
        fallbacks = _device_fallbacks(table, ps, floor) if settings.device_fallback else []
        self.fallbacks = [(k, table.costs(k)) for k in fallbacks]
        if not menu:  # the last resort: the paper's strategy, below the floor
            self.fallbacks.append((table[ps.static.name], table.costs(table[ps.static.name])))
        all_menu = dynamic_menu(ps, 0.0, settings.at_least_static_privacy)
        self.floor_excluded = len(all_menu) - len(menu) + sum(
            p.accuracy < floor - 1e-12 for p in ps.device_exits if settings.device_fallback)

    def fixed(self, images: np.ndarray) -> None:
        return None

    def choose(self, req: Request) -> tuple[int, int]:
        for k, c in self.candidates:
            if req.in_time(c, self.rtt):
                return k, -1
        for k, c in self.fallbacks:
            if req.in_time(c, self.rtt):
                return k, -1
        return DROPPED, -1


@SCHEDULERS.register("dynamic-partition", label="dynamic maximized partition", color="C5",
                     marker="*", adaptive=True, contains_static=True, settings=DynamicSettings)
def dynamic_partition(table: PathTable, ps: PathSet, floor: float, rtt: float,
                      settings: DynamicSettings = DynamicSettings()) -> Scheduler:
    return DynamicPartition(table, ps, floor, rtt, settings)


__all__ = ["SCHEDULERS", "Scheduler", "settings_for", "make", "ddnn_threshold", "MCScheduler",
           "MCSettings", "DynamicPartition", "DynamicSettings", "dynamic_menu", "DDNN"]
