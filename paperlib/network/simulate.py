"""Discrete-event simulation of a request stream over an uplink (docs/decisions/network.md §10).

Requests arrive every ``1000 / fps`` ms (12 frames/s), each due ``deadline_ms`` (84 ms) later and
showing test image ``images[i]`` (the test split in a fixed shuffled order, repeated). A scheduler
picks an execution path per request (:mod:`.schedulers`); two FIFO resources serve them:

* the device: one request at a time (edge part, local exit, or a give-up fallback);
* the uplink (:class:`.link.Link`): transfers in FIFO order, byte-exact on the delivery
  opportunities of the trace; a transfer can only use opportunities after its data is ready.

The cloud serves every request at once (no queue). The answer of an offloaded request arrives
``RTT + cloud compute`` after its last packet. With ``Scenario.bounded`` (the default), the queues
are bounded by the deadline (docs/decisions/network.md §13): a request whose chosen path is not
predicted to meet its deadline is *dropped* at admission (a miss that occupies nothing), and an
upload whose answer can no longer arrive in time leaves the send buffer at that moment (*expired*,
a miss; its unsent packets never delay the next request). A scheduler may arm a *give-up* (Tang et al.'s
MC scheduler): if no answer has come by ``deadline - fallback time`` and the rest of the upload is
not predicted (from what the device saw of the link) to make the deadline, the unsent rest is
dropped at that moment and the device runs the fallback path.

Per request the simulation records latency (split into device, network and cloud time), whether
it was on time, its expected success (on time x the path's correctness on that image), its edge
energy (Eq. 7-8 compute + radio), P of what left the device and whether the raw image did.

Two engines give identical numbers (tested): a vectorised one for schedulers whose choice needs no
feedback from the queues (device only, server only, DDNN, JointDNN, static), using max-plus
scans for the two FIFO queues, and a lean per-request loop for the adaptive ones.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from . import costs
from .constants import (DEADLINE_MS, FRAME_RATE_HZ, GPU_UTILISATION, PACKET_BITS, PREDICTION_WINDOW_MS, NetworkType, network_type)
from .link import Link
from .paths import ExecutionPath, PathSet

DROPPED = -1  # a request dropped at admission: no path of its scheduler can meet its deadline


@dataclass(frozen=True)
class Scenario:
    """The stream and the link: arrival rate, deadline, duration, and the cited/assumed constants
    (RTT from the link's network type unless given)."""

    link: Link
    fps: float = FRAME_RATE_HZ
    deadline_ms: float = DEADLINE_MS
    duration_ms: float | None = None  # None: one pass of the link's schedule
    rtt_ms: float | None = None
    prediction_window_ms: float = PREDICTION_WINDOW_MS
    utilisation: float = GPU_UTILISATION
    image_seed: int = 0
    bounded: bool = True  # drop at admission and expire stale uploads (docs/decisions/network.md §13)

    @property
    def network(self) -> NetworkType:
        return network_type(self.link.network)

    @property
    def rtt(self) -> float:
        return self.network.rtt_ms if self.rtt_ms is None else float(self.rtt_ms)

    def arrivals(self) -> np.ndarray:
        duration = self.link.period_ms if self.duration_ms is None else self.duration_ms
        if not (self.fps > 0 and duration > 0):
            raise ValueError(f"need fps > 0 and a positive duration, got {self.fps!r}, {duration!r}")
        return np.arange(0.0, duration, 1e3 / self.fps)

    def images(self, n_requests: int, n_images: int) -> np.ndarray:
        order = np.random.default_rng(self.image_seed).permutation(n_images)
        return order[np.arange(n_requests) % n_images]


@dataclass
class PathTable:
    """The paths of a :class:`PathSet` as arrays the engines index (per scenario: compute times
    depend on the utilisation)."""

    paths: list[ExecutionPath]
    device_ms: np.ndarray
    cloud_ms: np.ndarray
    bits: np.ndarray
    packets: np.ndarray
    device_mj: np.ndarray
    local: np.ndarray
    raw_image: np.ndarray
    privacy: np.ndarray
    point: np.ndarray
    correct: np.ndarray  # (paths, images)
    index: dict[str, int] = field(default_factory=dict)

    @classmethod
    def build(cls, paths: Sequence[ExecutionPath], utilisation: float = GPU_UTILISATION) -> "PathTable":
        paths = list(paths)
        bits = np.array([p.bits for p in paths], dtype=np.int64)
        return cls(paths=paths,
                   device_ms=costs.device_ms([p.device_macs for p in paths], utilisation),
                   cloud_ms=costs.cloud_ms([p.cloud_macs for p in paths], utilisation),
                   bits=bits, packets=Link.packets(bits),
                   device_mj=np.array([p.device_mj for p in paths], dtype=np.float64),
                   local=np.array([p.local for p in paths]),
                   raw_image=np.array([p.raw_image for p in paths]),
                   privacy=np.array([p.privacy for p in paths], dtype=np.float64),
                   point=np.array([p.point for p in paths], dtype=np.int64),
                   correct=np.stack([p.correct for p in paths]),
                   index={p.name: i for i, p in enumerate(paths)})

    @classmethod
    def from_set(cls, ps: PathSet, utilisation: float = GPU_UTILISATION) -> "PathTable":
        return cls.build(ps.all_paths(), utilisation)

    @property
    def accuracy(self) -> np.ndarray:
        """Each path's top-1 on the test split (its mean correctness)."""
        return self.correct.mean(axis=1)

    def costs(self, k: int) -> "PathCosts":
        """Path ``k``'s costs as Python scalars (fast to predict with)."""
        return PathCosts(float(self.device_ms[k]), bool(self.local[k]), int(self.packets[k]),
                         float(self.cloud_ms[k]))

    def __getitem__(self, name: str) -> int:
        try:
            return self.index[name]
        except KeyError:
            raise ValueError(f"no path {name!r}; known: {', '.join(self.index)}") from None


@dataclass(frozen=True)
class PathCosts:
    """What predicting a path's completion needs: device ms, local or not, packets, cloud ms."""

    device_ms: float
    local: bool
    packets: int
    cloud_ms: float


@dataclass
class Request:
    """What a scheduler knows when request ``i`` arrives (Tang et al.'s monitors)."""

    i: int
    t: float  # arrival (ms)
    deadline: float  # absolute (ms)
    image: int
    last_opportunity: float  # the link's last delivery opportunity before t (ms)
    gap_ms: float  # mean gap between opportunities over the prediction window (inf: none seen)
    backlog_packets: int  # packets of earlier uploads not yet sent
    device_free: float  # when the device finishes its queued work (ms)

    @property
    def rate_pkts_per_ms(self) -> float:
        return 1.0 / self.gap_ms

    def predict(self, c: PathCosts, rtt: float) -> float:
        """Predicted completion time of a path with costs ``c``: the device queue and its compute;
        when offloading, the upload behind the backlog on opportunities extrapolated every
        ``gap_ms`` from the last one seen (exact on a constant link), then the RTT and the cloud
        (docs/decisions/network.md §6). The one prediction rule of schedulers and admission."""
        ready = max(self.t, self.device_free) + c.device_ms
        if c.local:
            return ready
        gap = self.gap_ms
        if gap == math.inf:
            return math.inf
        last = self.last_opportunity
        first_after_ready = math.floor((ready - last) / gap) + 1  # strictly after, as on the link
        backlog_end = math.floor((self.t - last) / gap) + self.backlog_packets
        start = max(first_after_ready, backlog_end + 1)
        return last + (start + c.packets - 1) * gap + rtt + c.cloud_ms

    def in_time(self, c: PathCosts, rtt: float) -> bool:
        """Is a path with costs ``c`` predicted to answer by the deadline?"""
        return self.predict(c, rtt) <= self.deadline + 1e-9


def link_monitor(link: Link, t: np.ndarray, window_ms: float) -> tuple[np.ndarray, np.ndarray]:
    """What a device watching its uplink knows at every ``t``: the time of the last delivery
    opportunity before ``t`` and the mean gap between the opportunities of the last ``window_ms``
    (``window_ms / count`` when they all fell in one ms, ``inf`` when none came). At ``t = 0``
    nothing has been seen yet: the link's mean gap from ``t`` (docs/decisions/network.md §6)."""
    t = np.asarray(t, dtype=np.float64)
    start = np.maximum(t - window_ms, 0.0)
    c, c0 = link.count_lt(t), link.count_lt(start)
    k = c - c0
    last = np.where(c >= 1, link.time_of(np.maximum(c - 1, 0)), t)
    first = link.time_of(c0)
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = (last - first) / np.maximum(k - 1, 1)  # 0 when every one fell in the same ms
        gap = np.where((k >= 2) & (spread > 0), spread,
                       np.where(k >= 1, window_ms / np.maximum(k, 1), np.inf))
    fresh = t <= 0
    mean_gap = PACKET_BITS / link.mean_rate_bps * 1e3
    return np.where(fresh, t, last), np.where(fresh, mean_gap, gap)


@dataclass
class Outcome:
    """Per request of one simulation (arrays of length N) and what produced them."""

    scheduler: str
    link: str
    network: str
    floor: float  # absolute accuracy floor (nan: none)
    arrival: np.ndarray
    finish: np.ndarray  # nan: dropped or expired (no answer)
    chosen: np.ndarray  # path chosen at arrival (DROPPED: none)
    answered_by: np.ndarray  # path whose answer counts (the fallback after a give-up)
    device_part_ms: np.ndarray
    cloud_part_ms: np.ndarray
    on_time: np.ndarray
    success: np.ndarray  # expected: on_time x correctness x (the path meets the floor)
    energy_mj: np.ndarray
    privacy: np.ndarray  # P of what left the device (nan: nothing did)
    raw_left: np.ndarray
    gave_up: np.ndarray
    expired: np.ndarray  # admitted, but the upload left the send buffer unfinished (a miss)
    below_floor: np.ndarray  # answered by a path whose top-1 is below the floor (a failure)
    point: np.ndarray  # blocks run on the device by the chosen path (-1 raw image, -2 dropped)
    deadline_ms: float
    floor_bound: bool = False  # the floor excluded a path of the scheduler or failed an answer
    sent_bits: np.ndarray | None = None  # the chosen path's transfer size (0: it sends nothing);
    # an upload that expired or was given up counts its whole size

    @property
    def latency(self) -> np.ndarray:
        return self.finish - self.arrival

    @property
    def dropped(self) -> np.ndarray:
        return self.chosen == DROPPED

    def summary(self) -> dict:
        """One row of the results table."""
        answered = ~np.isnan(self.finish)
        lat = self.latency[answered]
        sent = ~np.isnan(self.privacy)
        served = ~self.dropped
        net = self.latency - self.device_part_ms - self.cloud_part_ms
        some = bool(lat.size)
        return {
            "scheduler": self.scheduler, "trace": self.link, "network": self.network,
            "accuracy_floor": self.floor, "floor_bound": bool(self.floor_bound),
            "requests": int(self.arrival.size),
            "deadline_miss_share": float(1 - self.on_time.mean()),
            "dropped_share": float(self.dropped.mean()),
            "expired_share": float(self.expired.mean()),
            "below_floor_share": float(self.below_floor.mean()),
            "success_share": float(self.success.mean()),
            "e3_per_mj": costs.effective_energy_efficiency(self.success, self.energy_mj),
            "mean_energy_mj": float(self.energy_mj.mean()),
            "mean_latency_ms": float(lat.mean()) if some else float("nan"),
            "p95_latency_ms": float(np.percentile(lat, 95)) if some else float("nan"),
            "mean_device_ms": float(self.device_part_ms[answered].mean()) if some else float("nan"),
            "mean_network_ms": float(net[answered].mean()) if some else float("nan"),
            "mean_cloud_ms": float(self.cloud_part_ms[answered].mean()) if some else float("nan"),
            "mean_privacy": float(self.privacy[sent].mean()) if sent.any() else float("nan"),
            "sent_share": float(sent.mean()),
            **self.transfer_sizes(sent),
            "raw_image_share": float(self.raw_left.mean()),
            "local_share": float((served & ~self.expired & ~sent).mean()),
            "gave_up_share": float(self.gave_up.mean()),
        }


    def transfer_sizes(self, sent: np.ndarray) -> dict:
        """Of the requests that sent something: the mean transfer size chosen (kbit; an expired or
        given-up upload counts whole) and how many distinct sizes the scheduler used."""
        if self.sent_bits is None or not sent.any():
            return {"mean_sent_kbit": float("nan"), "sizes_sent": 0}
        bits = self.sent_bits[sent]
        return {"mean_sent_kbit": float(bits.mean() / 1e3), "sizes_sent": int(np.unique(bits).size)}


def _assemble(scheduler: str, sc: Scenario, floor: float, table: PathTable,
              arrival: np.ndarray, images: np.ndarray, chosen: np.ndarray, answered: np.ndarray,
              finish: np.ndarray, device_part: np.ndarray, cloud_part: np.ndarray,
              energy: np.ndarray, sent_any: np.ndarray, gave_up: np.ndarray,
              expired: np.ndarray, meets_floor: np.ndarray | None) -> Outcome:
    served = chosen != DROPPED
    safe = np.where(served, answered, 0)
    on_time = served & ~expired & (finish <= arrival + sc.deadline_ms + 1e-9)
    if meets_floor is None:
        meets_floor = (np.ones(len(table.device_ms), bool) if math.isnan(floor)
                       else table.accuracy >= floor - 1e-12)
    meets = np.asarray(meets_floor, bool)[safe]
    below = served & ~expired & ~meets
    success = np.where(on_time & meets, table.correct[safe, images], 0.0)
    privacy = np.where(served & sent_any, table.privacy[np.where(served, chosen, 0)], np.nan)
    raw_left = served & sent_any & table.raw_image[np.where(served, chosen, 0)]
    point = np.where(served, table.point[np.where(served, chosen, 0)], -2)
    sent_bits = np.where(served & sent_any, table.bits[np.where(served, chosen, 0)], 0)
    return Outcome(scheduler, sc.link.name, sc.link.network, floor, arrival, finish, chosen,
                   answered, device_part, cloud_part, on_time, success, energy, privacy, raw_left,
                   gave_up, expired, below, point, sc.deadline_ms, sent_bits=sent_bits)


def run_fixed(choice: np.ndarray, table: PathTable, sc: Scenario, *, scheduler: str = "fixed",
              floor: float = float("nan"), images: np.ndarray | None = None,
              meets_floor: np.ndarray | None = None) -> Outcome:
    """The vectorised engine for unbounded queues (``sc.bounded`` False): every request's path is
    given (no drop, no give-up, no expiry). ``meets_floor`` (per path): whose answers count
    toward success under ``floor`` (default: a path's top-1 >= ``floor``; Tang et al.'s QoR).

    Device: ``ready_i = max_k<=i (a_k + sum_{l=k..i} d_l)`` (a FIFO queue as a max-plus scan);
    uplink: ``last_i = C_i - 1 + max_k<=i (n_le(ready_k) - C_{k-1})`` over the offloaded requests
    in order, ``C`` the cumulative packet counts (opportunity indices, :class:`.link.Link`)."""
    if sc.bounded:
        raise ValueError("run_fixed simulates unbounded queues only; pass a Scenario with "
                         "bounded=False, or use run_adaptive for bounded queues")
    arrival = sc.arrivals()
    n = arrival.size
    images = sc.images(n, table.correct.shape[1]) if images is None else images
    choice = np.asarray(choice, dtype=np.int64)
    if choice.shape != (n,):
        raise ValueError(f"choice needs one path per request ({n}), got shape {choice.shape}")
    d = table.device_ms[choice]
    cum_d = np.cumsum(d)
    ready = cum_d + np.maximum.accumulate(arrival - (cum_d - d))
    finish = ready.copy()
    energy = table.device_mj[choice].copy()
    off = ~table.local[choice]
    cloud_part = np.zeros(n)
    if off.any():
        idx = np.flatnonzero(off)
        pk = table.packets[choice[idx]]
        cum_p = np.cumsum(pk)
        first = sc.link.count_le(ready[idx])
        last = cum_p - 1 + np.maximum.accumulate(first - (cum_p - pk))
        sent = sc.link.time_of(last)
        prev_sent = np.concatenate([[-np.inf], sent[:-1]])
        busy = sent - np.maximum(ready[idx], prev_sent)
        energy[idx] += costs.radio_mj(sc.network, table.bits[choice[idx]], busy)
        cloud_part[idx] = table.cloud_ms[choice[idx]]
        finish[idx] = sent + sc.rtt + cloud_part[idx]
    return _assemble(scheduler, sc, floor, table, arrival, images, choice, choice, finish,
                     ready - arrival, cloud_part, energy, off, np.zeros(n, bool),
                     np.zeros(n, bool), meets_floor)


def _still_in_time(link: Link, at: float, first: int, packets: int, last_sent: float,
                   after_ms: float, deadline: float, window_ms: float) -> bool:
    """At the give-up moment ``at``: is the cloud's answer still predicted before ``deadline``?
    Packets sent by then are known; the rest is extrapolated as in :func:`link_monitor`."""
    remaining = packets - min(max(int(link.count_le(at)) - first, 0), packets)
    if remaining == 0:
        return last_sent + after_ms <= deadline
    last, gap = (float(a[0]) for a in link_monitor(link, np.array([at]), window_ms))
    if gap == math.inf:
        return False
    start = math.floor((at - last) / gap) + 1
    return last + (start + remaining - 1) * gap + after_ms <= deadline


def run_adaptive(sched, table: PathTable, sc: Scenario, *, scheduler: str = "adaptive",
                 floor: float = float("nan"), images: np.ndarray | None = None,
                 meets_floor: np.ndarray | None = None) -> Outcome:
    """The per-request engine: ``sched.choose(Request) -> (path, fallback)`` (``fallback`` < 0:
    no give-up; ``path`` = :data:`DROPPED`: the scheduler drops the request). With
    ``sc.bounded``, a chosen path not predicted (:meth:`Request.predict`) to meet the deadline is
    dropped at admission, and an upload still unsent when its answer can no longer arrive in time
    (``deadline - RTT - cloud ms``) leaves the send buffer then (docs/decisions/network.md §13)."""
    arrival = sc.arrivals()
    n = arrival.size
    images = sc.images(n, table.correct.shape[1]) if images is None else images
    last_seen, gaps = (a.tolist() for a in link_monitor(sc.link, arrival, sc.prediction_window_ms))
    link, net, rtt, deadline, bounded = sc.link, sc.network, sc.rtt, sc.deadline_ms, sc.bounded
    period, per_period = link.period_ms, link.per_period
    schedule = link.schedule_ms.tolist()
    dev_ms, cl_ms = table.device_ms.tolist(), table.cloud_ms.tolist()
    packets, bits = table.packets.tolist(), table.bits.tolist()
    dev_mj, local = table.device_mj.tolist(), table.local.tolist()
    path_costs = [table.costs(k) for k in range(len(dev_ms))]
    alpha, beta = net.alpha_mj_per_mbit / 1e6, net.beta_mw / 1e3

    def count_le(t: float) -> int:
        m = math.floor(t / period)
        return m * per_period + bisect_right(schedule, t - m * period)

    def time_of(j: int) -> float:
        q, r = divmod(j, per_period)
        return q * period + schedule[r]

    chosen = np.full(n, DROPPED, dtype=np.int64)
    answered = np.full(n, DROPPED, dtype=np.int64)
    finish = np.full(n, np.nan)
    device_part = np.zeros(n)
    cloud_part = np.zeros(n)
    energy = np.zeros(n)
    sent_any = np.zeros(n, bool)
    gave_up = np.zeros(n, bool)
    expired = np.zeros(n, bool)
    dev_free, link_next, last_sent = 0.0, 0, -math.inf
    uploads: list[tuple[int, int, float]] = []  # in the send buffer: (first slot, packets, leaves at)
    req = Request(0, 0.0, 0.0, 0, 0.0, math.inf, 0, 0.0)
    for i in range(n):
        t = float(arrival[i])
        now = count_le(t)
        uploads = [u for u in uploads if u[2] > t and u[0] + u[1] > now]
        req.i, req.t, req.deadline, req.image = i, t, t + deadline, int(images[i])
        req.last_opportunity, req.gap_ms, req.device_free = last_seen[i], gaps[i], dev_free
        req.backlog_packets = sum(min(u[1], u[0] + u[1] - max(now, u[0])) for u in uploads)
        k, fb = sched.choose(req)
        if k != DROPPED and bounded and not req.in_time(path_costs[k], rtt):
            k = DROPPED  # admission: the deadline can no longer be met
        if k == DROPPED:
            continue
        chosen[i] = answered[i] = k
        ready = max(t, dev_free) + dev_ms[k]
        dev_free = ready
        if local[k]:
            finish[i], energy[i], device_part[i] = ready, dev_mj[k], ready - t
            continue
        j0 = max(count_le(ready), link_next)
        j_end = j0 + packets[k] - 1
        t_sent = time_of(j_end)
        done = t_sent + rtt + cl_ms[k]
        give_up_at = t + deadline - dev_ms[fb] if fb >= 0 else math.inf
        expire_at = t + deadline - rtt - cl_ms[k] if bounded else math.inf
        if done > give_up_at and not _still_in_time(link, give_up_at, j0, packets[k], t_sent,
                                                    rtt + cl_ms[k], t + deadline,
                                                    sc.prediction_window_ms):
            # Tang's give-up: drop the unsent rest, run the fallback locally
            sent = min(max(count_le(give_up_at) - j0, 0), packets[k])
            link_next = j0 + sent
            uploads.append((j0, packets[k], give_up_at))
            busy = max(0.0, min(give_up_at, t_sent) - max(ready, last_sent))
            if sent:
                last_sent = time_of(j0 + sent - 1)
            f_ready = max(give_up_at, dev_free) + dev_ms[fb]
            dev_free = f_ready
            energy[i] = (dev_mj[k] + alpha * min(bits[k], sent * PACKET_BITS) + beta * busy
                         + dev_mj[fb])
            finish[i], answered[i], gave_up[i], sent_any[i] = f_ready, fb, True, sent > 0
            device_part[i] = (ready - t) + (f_ready - max(give_up_at, ready))
            continue
        if t_sent > expire_at:
            # the answer can no longer arrive in time: the unsent rest leaves the buffer
            sent = min(max(count_le(expire_at) - j0, 0), packets[k])
            link_next = j0 + sent
            uploads.append((j0, packets[k], expire_at))
            busy = max(0.0, expire_at - max(ready, last_sent))
            if sent:
                last_sent = time_of(j0 + sent - 1)
            energy[i] = dev_mj[k] + alpha * min(bits[k], sent * PACKET_BITS) + beta * busy
            expired[i], sent_any[i], device_part[i] = True, sent > 0, ready - t
            continue
        busy = t_sent - max(ready, last_sent)
        link_next, last_sent = j_end + 1, t_sent
        uploads.append((j0, packets[k], math.inf))
        energy[i] = dev_mj[k] + alpha * bits[k] + beta * busy
        finish[i], device_part[i], cloud_part[i], sent_any[i] = done, ready - t, cl_ms[k], True
    return _assemble(scheduler, sc, floor, table, arrival, images, chosen, answered, finish,
                     device_part, cloud_part, energy, sent_any, gave_up, expired, meets_floor)


def outcomes_frame(outcomes: Sequence[Outcome]) -> pd.DataFrame:
    """One summary row per outcome."""
    return pd.DataFrame([o.summary() for o in outcomes])


__all__ = ["DROPPED", "Scenario", "PathTable", "PathCosts", "Request", "Outcome", "link_monitor",
           "run_fixed", "run_adaptive", "outcomes_frame"]
