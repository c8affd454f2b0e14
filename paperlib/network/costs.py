"""Latency and energy of one request, term by term (docs/decisions/network.md §3-§5).

* Compute time on a platform: ``MACs x 2 FLOP / (peak FLOP/s x utilisation)`` (Jetson TX1 on the
  device, GTX 1080 Ti in the cloud, :mod:`.constants`). Quantized layers take as long as fp32 ones:
  the TX1's Maxwell GPU has no faster int8 path, and the paper's fake quantization none either.
* Edge compute energy: Eq. 7-8 (:mod:`paperlib.method.energy`), by the search result for a searched
  strategy and by :class:`paperlib.method.energy.EnergyModel` for fp32 ones.
* Radio energy of an upload: Huang et al. (2012)'s ``P = alpha_u t_u + beta`` integrated over the
  time the radio is sending: ``alpha_u x Mbit sent + beta x seconds busy`` (mJ), with no tail
  energy. On the paper's link, its 100 pJ/bit and nothing else (Eq. 9).
* Latency of an offloaded request: waiting for the device, edge compute, the upload on the trace
  (:class:`.link.Link`, queued behind earlier uploads), the RTT, cloud compute.
"""

from __future__ import annotations

import numpy as np

from .constants import (FLOPS_PER_MAC, GPU_UTILISATION, GTX1080TI_PEAK_FLOPS, JETSON_TX1_PEAK_FLOPS, NetworkType)


def compute_ms(macs: float | np.ndarray, peak_flops: float,
               utilisation: float = GPU_UTILISATION) -> np.ndarray:
    """Time (ms) to run ``macs`` multiply-accumulates on a platform of ``peak_flops`` FLOP/s."""
    if not 0 < utilisation <= 1:
        raise ValueError(f"utilisation must be in (0, 1], got {utilisation!r}")
    return np.asarray(macs, dtype=np.float64) * FLOPS_PER_MAC / (peak_flops * utilisation) * 1e3


def device_ms(macs: float | np.ndarray, utilisation: float = GPU_UTILISATION) -> np.ndarray:
    """Compute time on the device (Jetson TX1 class)."""
    return compute_ms(macs, JETSON_TX1_PEAK_FLOPS, utilisation)


def cloud_ms(macs: float | np.ndarray, utilisation: float = GPU_UTILISATION) -> np.ndarray:
    """Compute time in the cloud (GTX 1080 Ti class)."""
    return compute_ms(macs, GTX1080TI_PEAK_FLOPS, utilisation)


def radio_mj(network: NetworkType, bits: float | np.ndarray,
             busy_ms: float | np.ndarray) -> np.ndarray:
    """Radio energy of sending ``bits`` while the radio is busy ``busy_ms``:
    ``alpha_u x bits / 1e6 + beta x busy_ms / 1e3`` mJ (Huang et al. 2012; no tail energy)."""
    bits = np.asarray(bits, dtype=np.float64)
    busy = np.asarray(busy_ms, dtype=np.float64)
    return network.alpha_mj_per_mbit * bits / 1e6 + network.beta_mw * busy / 1e3


def effective_energy_efficiency(successes: float | np.ndarray, energy_mj: np.ndarray) -> float:
    """E3 = N_s / (N · E) (Tang et al. 2021, §4.2) with E the *mean* energy per request (mJ), so
    E3 = correct on-time answers per mJ = ``sum(successes) / sum(energy)``; ``successes`` may be
    expected values (a request answered by a strategy of accuracy a counts a)."""
    energy_mj = np.asarray(energy_mj, dtype=np.float64)
    n = energy_mj.size
    if n == 0:
        raise ValueError("E3 needs at least one request")
    total_success = float(np.sum(successes))
    mean_energy = float(energy_mj.mean())
    if mean_energy <= 0:
        return float("inf") if total_success > 0 else 0.0
    return total_success / (n * mean_energy)


__all__ = ["compute_ms", "device_ms", "cloud_ms", "radio_mj", "effective_energy_efficiency"]
