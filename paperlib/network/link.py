"""An uplink as a sequence of packet delivery opportunities (Mahimahi's link model), vectorised.

A schedule ``s_0 <= ... <= s_{L-1} = P`` (ms) repeats with period ``P``: opportunity ``j`` (0-based,
in time order) is at ``time(j) = (j // L) P + s_{j mod L}`` and carries one 1500-byte packet
(12,000 bits). As in Mahimahi's ``LinkQueue``, data handed to the link at time ``t`` can only use
opportunities strictly after ``t``, and bytes of consecutive transfers share opportunities in
FIFO order. So sending ``b`` bits starting at ``t`` on an idle link ends at the
``ceil(b / 12000)``-th opportunity after ``t``:

    n_le(t) = m L + #{i : s_i <= t - m P},  m = floor(t / P)      (opportunities at or before t)
    finish(b, t) = time(n_le(t) + ceil(b / 12000) - 1)

and the capacity over ``[t, t + w)`` is ``(n_lt(t + w) - n_lt(t)) x 12000 / w`` with ``n_lt`` the
opportunities strictly before ``t`` (the traces' README definition). Everything takes arrays.

A fixed-rate link (Wi-Fi here, and the paper's 1 Mbit/s link) is the one-line schedule
``s_0 = 12000 / rate`` ms: a synthetic rate, stated as such wherever it is used
(docs/decisions/network.md §1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .constants import PACKET_BITS, network_type
from .traces import Trace


@dataclass(frozen=True)
class Link:
    """A repeating delivery-opportunity schedule on a network type (see the module docstring)."""

    name: str
    network: str  # key of constants.NETWORK_TYPES: radio energy and RTT
    schedule_ms: np.ndarray
    synthetic: bool = False  # True for a fixed rate (no measured trace behind it)

    def __post_init__(self) -> None:
        s = np.asarray(self.schedule_ms, dtype=np.float64)
        if s.ndim != 1 or s.size == 0 or s[0] < 0 or np.any(np.diff(s) < 0) or s[-1] <= 0:
            raise ValueError(f"link {self.name!r}: a schedule is a non-empty, non-decreasing array "
                             "of non-negative ms whose last value is positive")
        network_type(self.network)
        object.__setattr__(self, "schedule_ms", s)

    # --- constructors ---------------------------------------------------------------------------
    @classmethod
    def from_trace(cls, trace: Trace) -> "Link":
        return cls(trace.name, trace.network, trace.times_ms)

    @classmethod
    def fixed_rate(cls, bits_per_second: float, network: str, name: str | None = None) -> "Link":
        """One 1500-byte packet every ``12000 / rate`` s: a constant ``bits_per_second`` uplink."""
        if not bits_per_second > 0:
            raise ValueError(f"a fixed-rate link needs a positive rate, got {bits_per_second!r}")
        spacing = PACKET_BITS / bits_per_second * 1e3
        return cls(name or f"fixed {bits_per_second / 1e6:g} Mbit/s", network,
                   np.array([spacing]), synthetic=True)

    @classmethod
    def from_capacity(cls, segments: "list[tuple[float, float]]", network: str,
                      name: str = "capacity series") -> "Link":
        """A link from a piecewise-constant capacity series ``[(duration_ms, bits_per_second),
        ...]`` repeated: opportunities every ``12000 / rate`` s within each segment (none where the
        rate is 0: an outage). A negative or non-finite capacity, or a non-positive duration, is
        refused naming the segment."""
        times, t0 = [], 0.0
        for i, (duration, rate) in enumerate(segments):
            if not (np.isfinite(rate) and rate >= 0):
                raise ValueError(f"link {name!r}: segment {i} has capacity {rate!r} bit/s; a "
                                 "capacity must be finite and >= 0 (0 is an outage)")
            if not (np.isfinite(duration) and duration > 0):
                raise ValueError(f"link {name!r}: segment {i} has duration {duration!r} ms; it "
                                 "must be positive")
            if rate > 0:
                gap = PACKET_BITS / rate * 1e3
                times.extend(t0 + gap * np.arange(1, int(np.floor(duration / gap + 1e-9)) + 1))
            t0 += duration
        if not times or times[-1] < t0:
            times.append(t0)  # the period ends with the series (one opportunity there)
        return cls(name, network, np.array(times), synthetic=True)

    # --- geometry -------------------------------------------------------------------------------
    @property
    def period_ms(self) -> float:
        return float(self.schedule_ms[-1])

    @property
    def per_period(self) -> int:
        return int(self.schedule_ms.size)

    @property
    def mean_rate_bps(self) -> float:
        return self.per_period * PACKET_BITS / self.period_ms * 1e3

    def count_le(self, t: np.ndarray | float) -> np.ndarray:
        """Number of opportunities at times ``<= t`` (``t >= 0``)."""
        t = np.asarray(t, dtype=np.float64)
        m = np.floor(t / self.period_ms)
        r = t - m * self.period_ms
        return (m.astype(np.int64) * self.per_period
                + np.searchsorted(self.schedule_ms, r, side="right"))

    def count_lt(self, t: np.ndarray | float) -> np.ndarray:
        """Number of opportunities at times ``< t`` (``t >= 0``)."""
        t = np.asarray(t, dtype=np.float64)
        m = np.floor(t / self.period_ms)
        r = t - m * self.period_ms
        at_period_end = int(np.count_nonzero(self.schedule_ms == self.period_ms))
        # the previous pass's last opportunities fall exactly on t when r == 0
        return (m.astype(np.int64) * self.per_period
                + np.searchsorted(self.schedule_ms, r, side="left")
                - np.where((r == 0) & (m >= 1), at_period_end, 0))

    def time_of(self, j: np.ndarray | int) -> np.ndarray:
        """Time (ms) of opportunity ``j`` (0-based, in time order)."""
        j = np.asarray(j, dtype=np.int64)
        return (j // self.per_period) * self.period_ms + self.schedule_ms[j % self.per_period]

    # --- what the simulation asks -----------------------------------------------------------------
    @staticmethod
    def packets(bits: np.ndarray | int) -> np.ndarray:
        """Delivery opportunities ``b`` bits need: ``ceil(b / 12000)``."""
        return -(-np.asarray(bits, dtype=np.int64) // PACKET_BITS)

    def send_finish(self, bits: np.ndarray | int, t: np.ndarray | float) -> np.ndarray:
        """When the last of ``bits`` handed to an idle link at ``t`` has crossed it (ms)."""
        n = self.packets(bits)
        t = np.asarray(t, dtype=np.float64)
        return np.where(n > 0, self.time_of(self.count_le(t) + np.maximum(n, 1) - 1), t)

    def send_time(self, bits: np.ndarray | int, t: np.ndarray | float) -> np.ndarray:
        """Duration (ms) of sending ``bits`` from ``t`` on an idle link."""
        return self.send_finish(bits, t) - np.asarray(t, dtype=np.float64)

    def fastest_ms(self, packets: int) -> float:
        """The shortest time ``packets`` can take on an idle link: over every start within one
        period, from just after one opportunity to the ``packets``-th after it."""
        if packets <= 0:
            return 0.0
        j = np.arange(1, self.per_period + 1)
        return float(np.min(self.time_of(j + packets - 1) - self.time_of(j - 1)))

    def capacity_bps(self, t: np.ndarray | float, window_ms: float) -> np.ndarray:
        """Capacity over ``[t, t + window_ms)`` in bit/s."""
        if not window_ms > 0:
            raise ValueError(f"window_ms must be positive, got {window_ms!r}")
        t = np.asarray(t, dtype=np.float64)
        n = self.count_lt(t + window_ms) - self.count_lt(t)
        return n * PACKET_BITS / window_ms * 1e3


__all__ = ["Link"]
