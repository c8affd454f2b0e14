"""Schedulers behind one interface, in one registry (:data:`SCHEDULERS`).

A scheduler is made per (path table, paths, accuracy floor) by its registered factory and answers
either ``fixed(images)`` (the path of every request at once, when its choice needs no feedback
from the queues: the vectorised engine) or ``choose(request) -> (path, fallback)`` (the per-request
engine; ``fallback`` >= 0 arms Tang's give-up, ``path`` = ``REFUSED`` refuses the request).
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
* ``dynamic-partition``: per request, the most private searched strategy of the E_b sweep that
  meets the floor and, under the predicted link, the deadline; else the fastest of them.

Add one with ``@SCHEDULERS.register("name", label=..., color=..., marker=..., adaptive=...,
contains_static=...)`` on a factory ``(table, paths, floor, rtt) -> scheduler``.
"""

from __future__ import annotations

import math
from typing import Callable, Protocol

import numpy as np

from ..infra.registry import Registry
from .paths import PathSet
from .simulate import REFUSED, PathTable, Request


class Scheduler(Protocol):
    def fixed(self, images: np.ndarray) -> np.ndarray | None: ...

    def choose(self, req: Request) -> tuple[int, int]: ...


Factory = Callable[[PathTable, PathSet, float, float], Scheduler]  # (table, paths, floor, rtt)

SCHEDULERS: Registry[Factory] = Registry(
    "scheduler", required=("adaptive", "contains_static"),
    defaults={"color": "0.5", "marker": "o"})


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


def _costs(table: PathTable, k: int) -> tuple[float, bool, int, float]:
    """Path ``k``'s (device ms, local, packets, cloud ms) as Python scalars (fast to predict with)."""
    return (float(table.device_ms[k]), bool(table.local[k]), int(table.packets[k]),
            float(table.cloud_ms[k]))


def _predict(c: tuple[float, bool, int, float], req: Request, rtt: float) -> float:
    """Predicted completion time of a path with costs ``c`` (:func:`_costs`) for ``req``: the
    device queue and its compute; when offloading, the upload after the backlog on opportunities
    extrapolated from the last one seen every ``gap_ms`` (exact on a constant link), then the RTT
    and the cloud."""
    dev_ms, local, packets, cloud_ms = c
    ready = max(req.t, req.device_free) + dev_ms
    if local:
        return ready
    gap = req.gap_ms
    if gap == math.inf:
        return math.inf
    last = req.last_opportunity
    first_after_ready = math.floor((ready - last) / gap) + 1  # strictly after, as on the link
    backlog_end = math.floor((req.t - last) / gap) + req.backlog_packets
    start = max(first_after_ready, backlog_end + 1)
    return last + (start + packets - 1) * gap + rtt + cloud_ms


def _shallowest_device_exit(table: PathTable, ps: PathSet, floor: float) -> int:
    """The cheapest device path whose top-1 meets ``floor`` (the full model if no exit does)."""
    for p in ps.device_exits:
        if p.accuracy >= floor:
            return table[p.name]
    return table[ps.device_exits[-1].name]


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


class MCScheduler:
    """Tang et al.'s MC scheduler on our paths: a device path (the shallowest exit meeting the
    floor) and a cloud path (the paper's static strategy, if its top-1 meets the floor)."""

    def __init__(self, table: PathTable, ps: PathSet, floor: float, rtt: float,
                 priority: str) -> None:
        if priority not in ("performance", "energy"):
            raise ValueError(f"priority must be 'performance' or 'energy', got {priority!r}")
        self.rtt, self.priority = rtt, priority
        self.device = _shallowest_device_exit(table, ps, floor)
        self.cloud = table[ps.static.name] if ps.static.accuracy >= floor else None
        self._device_costs = _costs(table, self.device)
        self._cloud_costs = _costs(table, self.cloud) if self.cloud is not None else None

    def fixed(self, images: np.ndarray) -> None:
        return None

    def choose(self, req: Request) -> tuple[int, int]:
        device_ok = _predict(self._device_costs, req, self.rtt) <= req.deadline
        cloud_ok = (self.cloud is not None
                    and _predict(self._cloud_costs, req, self.rtt) <= req.deadline)
        order = ((self.device, device_ok), (self.cloud, cloud_ok))
        if self.priority == "energy":
            order = order[::-1]
        for k, ok in order:
            if ok:
                return (k, self.device) if k == self.cloud else (k, -1)
        return REFUSED, -1


@SCHEDULERS.register("mc-performance", label="MC scheduler (performance)", color="C0",
                     marker="^", adaptive=True, contains_static=True)
def mc_performance(table: PathTable, ps: PathSet, floor: float, rtt: float) -> Scheduler:
    return MCScheduler(table, ps, floor, rtt, "performance")


@SCHEDULERS.register("mc-energy", label="MC scheduler (energy)", color="C9", marker="<",
                     adaptive=True, contains_static=True)
def mc_energy(table: PathTable, ps: PathSet, floor: float, rtt: float) -> Scheduler:
    return MCScheduler(table, ps, floor, rtt, "energy")


class DynamicPartition:
    """Per request, the most private searched strategy (E_b sweep) meeting the floor that is
    predicted to meet the deadline; the fastest of them when none is."""

    def __init__(self, table: PathTable, ps: PathSet, floor: float, rtt: float) -> None:
        cands = [p for p in ps.sweep if p.accuracy >= floor] or [ps.static]
        cands.sort(key=lambda p: -p.privacy)
        self.rtt = rtt
        self.candidates = [(table[p.name], _costs(table, table[p.name])) for p in cands]

    def fixed(self, images: np.ndarray) -> None:
        return None

    def choose(self, req: Request) -> tuple[int, int]:
        best, best_t = self.candidates[0][0], math.inf
        for k, c in self.candidates:
            done = _predict(c, req, self.rtt)
            if done <= req.deadline:
                return k, -1
            if done < best_t:
                best, best_t = k, done
        return best, -1


@SCHEDULERS.register("dynamic-partition", label="dynamic maximized partition", color="C5",
                     marker="*", adaptive=True, contains_static=True)
def dynamic_partition(table: PathTable, ps: PathSet, floor: float, rtt: float) -> Scheduler:
    return DynamicPartition(table, ps, floor, rtt)


__all__ = ["SCHEDULERS", "Scheduler", "ddnn_threshold", "MCScheduler", "DynamicPartition", "DDNN"]
