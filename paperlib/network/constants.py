"""Every constant of the fluctuating-network study (notebook 10), each with where it comes from.

Nothing else in :mod:`paperlib.network` (or in :mod:`paperlib.search.baselines`, which imports the radio
energies from here) writes one of these numbers. A value marked *assumption* is ours, not a
measurement; docs/decisions/network.md says why we chose it, and notebook 10 names it on every
figure that depends on it (:func:`constants_note`).

Units: time in ms, rates in bit/s, energy in mJ unless a name says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from ..method.constants import E_TRAN_PJ_PER_BIT

# --- Mahimahi trace format (Netravali et al., USENIX ATC 2015) ----------------------------------
PACKET_BYTES: int = 1500  # one delivery opportunity carries one MTU-sized packet
PACKET_BITS: int = PACKET_BYTES * 8  # 12,000 bits per delivery opportunity

# --- The request stream (Tang et al., CCF Trans. HPC 2021, §4.1 case study) ------------------------
FRAME_RATE_HZ: float = 12.0  # a 12 frames/s video stream ...
DEADLINE_MS: float = 84.0  # ... leaves under 84 ms per frame (their QoS)
QOR_FLOORS: tuple[float, ...] = (0.75, 0.80, 0.85, 0.90)  # their QoR constraints, 75-90 %

# --- Platforms (Tang et al. 2021, §6: Jetson TX1 device, GTX 1080 Ti cloud) -----------------------
# Peak fp32 throughput = 2 FLOP per fused multiply-add x CUDA cores x clock:
JETSON_TX1_PEAK_FLOPS: float = 2 * 256 * 0.998e9  # 256 Maxwell cores at 998 MHz: 511 GFLOP/s
# (NVIDIA Jetson TX1 module data sheet, 2015; the "1 TFLOPS" NVIDIA quotes is FP16)
GTX1080TI_PEAK_FLOPS: float = 2 * 3584 * 1.582e9  # 3584 Pascal cores at 1582 MHz boost: 11.3 TFLOP/s
# (NVIDIA GeForce GTX 1080 Ti specifications, 2017)
FLOPS_PER_MAC: int = 2
# Share of the peak a batch-1 CIFAR network reaches. *Assumption* (docs/decisions/network.md §3):
# small single-image kernels leave most of a GPU idle; we take one quarter on both platforms.
GPU_UTILISATION: float = 0.25

# --- Radios: Huang et al., "A close examination of performance and power characteristics of 4G
# LTE networks", ACM MobiSys 2012 (their uplink power model P = alpha_u * t_u + beta, t_u the uplink
# throughput in Mbit/s; alpha_u in mW per Mbit/s, beta in mW; the fitted coefficients as we recall
# them, so read them as orders of magnitude; tail energy and promotion delays are left out)
HUANG2012_UPLINK_POWER: MappingProxyType = MappingProxyType({
    "wifi": (283.17, 132.86),
    "lte": (438.39, 1288.04),
    "3g": (868.98, 817.88),
})
# Representative uplink rates (Mbit/s) at which a per-bit energy is quoted: Huang et al.'s median
# LTE uplink (6 Mbit/s, their 4GTest); Wi-Fi 10 and 3G 1 Mbit/s are *assumptions* of the same order
# as the traces of paperlib.network.traces (docs/decisions/network.md §4).
REPRESENTATIVE_UPLINK_MBPS: MappingProxyType = MappingProxyType({"wifi": 10.0, "lte": 6.0, "3g": 1.0})
RADIO_SOURCE: str = ("Huang et al., MobiSys 2012 (uplink power model P = alpha_u t_u + beta; "
                     "orders of magnitude at 10 / 6 / 1 Mbit/s)")


def radio_pj_per_bit(network: str, rate_mbps: float | None = None) -> float:
    """Energy per uplink bit of ``network`` at ``rate_mbps`` (default: its representative rate):
    ``alpha_u + beta / t_u`` nJ/bit (Huang et al. 2012's power model divided by the rate), in pJ."""
    alpha, beta = HUANG2012_UPLINK_POWER[network]
    rate = REPRESENTATIVE_UPLINK_MBPS[network] if rate_mbps is None else rate_mbps
    return (alpha + beta / rate) * 1e3


# Per-bit uplink energy, pJ/bit: the paper's constant and smartphone radios at their representative
# rates (notebook 07's E_tran sensitivity reads this table).
RADIO_E_TRAN_PJ_PER_BIT: dict[str, float] = {
    "paper (Eq. 9)": E_TRAN_PJ_PER_BIT,
    "Wi-Fi": radio_pj_per_bit("wifi"),  # ~0.30 µJ/bit
    "4G (LTE)": radio_pj_per_bit("lte"),  # ~0.65 µJ/bit
    "3G": radio_pj_per_bit("3g"),  # ~1.7 µJ/bit
}

# --- Links --------------------------------------------------------------------------------------
PAPER_LINK_BPS: float = 1e6  # the paper: "E_tran = 100 pJ/b with 1 Mbps bandwidth", a stable network
WIFI_LINK_BPS: float = 10e6  # *assumption*: no Wi-Fi trace exists here; a fixed 10 Mbit/s uplink
# Round-trip time added to every offloaded request (propagation and the small result coming back).
# *Assumptions* (docs/decisions/network.md §5): 40 ms on cellular links (two 20 ms one-way delays,
# the fixed delay commonly added when these traces are replayed, Winstein et al., NSDI 2013, as we
# recall it), 5 ms to a fog server behind the same Wi-Fi router (Tang et al.'s set-up), 0 on the
# paper's link (the paper models no latency at all).
RTT_MS: MappingProxyType = MappingProxyType({"paper": 0.0, "wifi": 5.0, "lte": 40.0, "3g": 40.0})
# The scheduler predicts the uplink from what it saw over this window before a request: the mean
# gap between delivery opportunities, extrapolated from the last one. *Assumption*
# (docs/decisions/network.md §6); Tang et al. monitor "the wireless network a few cycles ago"
# without a number.
PREDICTION_WINDOW_MS: float = 500.0

# --- Payloads -------------------------------------------------------------------------------------
RAW_IMAGE_BITS: int = 3 * 32 * 32 * 8  # a CIFAR image as 8-bit RGB (server only, DDNN's re-send)
# The input-size axis (paperlib.network.input_size): weights, activations and the IR at 8 bits, the
# bit width of the committed static strategies' IRs. *Assumption* (docs/decisions/network.md §16).
ANALYTIC_BITS: int = 8


@dataclass(frozen=True)
class NetworkType:
    """How one kind of uplink is modelled: its radio's power model, its RTT and a display label.

    ``alpha_mj_per_mbit`` (= mW per Mbit/s) is charged per bit sent, ``beta_mw`` for every ms the
    radio is busy sending (Huang et al. 2012); the paper's link charges 100 pJ/bit and nothing else.
    """

    name: str
    label: str
    alpha_mj_per_mbit: float
    beta_mw: float
    rtt_ms: float
    source: str


NETWORK_TYPES: MappingProxyType = MappingProxyType({
    "paper": NetworkType("paper", "paper's link (1 Mbit/s, stable)", E_TRAN_PJ_PER_BIT * 1e-3, 0.0,
                         RTT_MS["paper"], "Guo et al. 2023, Eq. 9: 100 pJ/bit"),
    "wifi": NetworkType("wifi", "Wi-Fi (fixed 10 Mbit/s)", *HUANG2012_UPLINK_POWER["wifi"],
                        RTT_MS["wifi"], "Huang et al. 2012"),
    "lte": NetworkType("lte", "4G LTE (trace)", *HUANG2012_UPLINK_POWER["lte"], RTT_MS["lte"],
                       "Huang et al. 2012"),
    "3g": NetworkType("3g", "3G (trace)", *HUANG2012_UPLINK_POWER["3g"], RTT_MS["3g"],
                      "Huang et al. 2012"),
})


def network_type(name: str) -> NetworkType:
    """The :class:`NetworkType` called ``name``, with an error listing the known ones."""
    try:
        return NETWORK_TYPES[name]
    except KeyError:
        raise ValueError(f"unknown network type {name!r}; choose one of "
                         f"{', '.join(NETWORK_TYPES)}") from None


def constants_note() -> str:
    """One line naming every cited or assumed constant the simulation's numbers rest on (for the
    figures of notebook 10)."""
    return (f"device: Jetson TX1 {JETSON_TX1_PEAK_FLOPS / 1e9:.0f} GFLOP/s, cloud: GTX 1080 Ti "
            f"{GTX1080TI_PEAK_FLOPS / 1e12:.1f} TFLOP/s (peak fp32, data sheets) x "
            f"{GPU_UTILISATION:.0%} (assumed); radio: {RADIO_SOURCE.split(' (')[0]}; RTT "
            f"{RTT_MS['lte']:.0f} ms cellular, {RTT_MS['wifi']:.0f} ms Wi-Fi (assumed); Wi-Fi fixed "
            f"{WIFI_LINK_BPS / 1e6:g} Mbit/s (assumed); deadline {DEADLINE_MS:g} ms at "
            f"{FRAME_RATE_HZ:g} frames/s (Tang et al. 2021)")
