"""The input-size axis of notebook 10: where partitioning starts to beat sending the image
(docs/decisions/network.md §16).

At CIFAR's 32x32 every 8-bit IR of our models is larger than the raw 8-bit image (ResNet18 at
p = 7: 65.5 kbit against 24.6 kbit), so an 8-bit IR can only lose on bandwidth (the IR-width
variants of :mod:`.ir_width` send a quarter of it at 2 bits). At 224x224, in each
architecture's ImageNet form (:mod:`paperlib.method.models.imagenet`), the deep IRs are smaller
than the image. Everything here is analytic: Eq. 7-8 edge energy at 8-bit weights and activations
(the first layer at fp32, as the energy model always does), the IR at 8 bits (the bit width of the
committed static strategies' IRs), compute time from MACs (:mod:`.costs`) and the upload on a
constant link; no accuracy is claimed for the ImageNet forms (they are never trained).
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import torch

from ..method import energy, models
from ..method.models.imagenet import IMAGENET_INPUT, imagenet_form
from . import costs
from .constants import ANALYTIC_BITS, PAPER_LINK_BPS

RAW_PIXEL_BITS = 8  # an 8-bit RGB image, as the server-only path sends it


def total_stride(net: torch.nn.Module) -> int:
    """Input height over the height of the last unit's output (ResNet18: 8 in the CIFAR form,
    32 in the ImageNet form), from a shape-only forward pass."""
    shape = models.input_shape(net)
    with torch.device("meta"):
        x = torch.zeros((1, *shape))
    last = models.unit_outputs(copy.deepcopy(net).to("meta").eval(), x)[-1]
    return int(shape[1] // last.shape[-2])


def check_input_size(net: torch.nn.Module, size: int) -> int:
    """``size`` unless it is not a positive multiple of ``net``'s total stride: refused by name."""
    stride = total_stride(net)
    if not (isinstance(size, (int, np.integer)) and size > 0 and size % stride == 0):
        raise ValueError(f"input size {size!r} for {getattr(net, 'arch_name', 'the model')}: "
                         f"must be a positive multiple of the model's total stride {stride} "
                         f"(e.g. {stride * 7})")
    return int(size)


def _form(model: str, size: int) -> tuple[str, torch.nn.Module]:
    if size == models.CIFAR_INPUT[1]:
        with torch.device("meta"):
            return "CIFAR", models.build(model)
    with torch.device("meta"):
        net = imagenet_form(model)
    check_input_size(net, size)
    net.input_shape = (3, size, size)
    return "ImageNet", net


def partition_rows(model: str, size: int, rate_bps: float = PAPER_LINK_BPS,
                   rtt_ms: float = 0.0) -> pd.DataFrame:
    """Per partition point of ``model`` at ``size`` x ``size`` (32: the CIFAR form; else the
    ImageNet form): bits sent, edge energy, and the latency on a constant ``rate_bps`` link, beside
    sending the raw image (``p = -1``)."""
    if not rate_bps > 0:
        raise ValueError(f"rate_bps must be positive, got {rate_bps!r}")
    form, net = _form(model, int(size))
    em = energy.EnergyModel.for_net(net)
    bits = np.full(em.n_layers, ANALYTIC_BITS)
    unit_macs = np.bincount(em.unit, weights=em.macs, minlength=em.num_units + 2)
    total = float(em.macs.sum())
    raw_bits = 3 * size * size * RAW_PIXEL_BITS
    rows = [{"model": model, "form": form, "input": size, "p": -1, "sent_kbit": raw_bits / 1e3,
             "edge_mJ": 0.0, "latency_ms": raw_bits / rate_bps * 1e3 + rtt_ms
             + float(costs.cloud_ms(total)), "below_image": False}]
    for p in range(em.num_units + 1):
        sent = float(em.ir_elements[p]) * ANALYTIC_BITS
        edge_macs = float(unit_macs[: p + 1].sum())
        rows.append({"model": model, "form": form, "input": size, "p": p,
                     "sent_kbit": sent / 1e3, "edge_mJ": em.compute_mj(p, bits, bits),
                     "latency_ms": float(costs.device_ms(edge_macs)) + sent / rate_bps * 1e3
                     + rtt_ms + float(costs.cloud_ms(total - edge_macs)),
                     "below_image": sent < raw_bits})
    return pd.DataFrame(rows)


def size_axis(models_: tuple[str, ...] = ("resnet18", "mobilenet"),
              sizes: tuple[int, ...] = (models.CIFAR_INPUT[1], IMAGENET_INPUT[1]),
              rate_bps: float = PAPER_LINK_BPS) -> pd.DataFrame:
    """:func:`partition_rows` of every model at every input size."""
    return pd.concat([partition_rows(m, s, rate_bps) for m in models_ for s in sizes],
                     ignore_index=True)


def crossover_sentence(rows: pd.DataFrame) -> str:
    """Per model and size, one sentence: the smallest IR against the image, and from which point
    on a partition sends less than the image and is faster than sending it."""
    lines = []
    for (model, size), g in rows.groupby(["model", "input"], sort=False):
        raw = g[g.p == -1].iloc[0]
        parts = g[g.p >= 0]
        small = parts.loc[parts.sent_kbit.idxmin()]
        faster = parts[parts.latency_ms < raw.latency_ms]
        head = (f"{model} at {size}x{size} ({g.form.iloc[0]} form): the smallest IR (p = "
                f"{int(small.p)}) is {small.sent_kbit:.1f} kbit at 8 bits against the image's "
                f"{raw.sent_kbit:.1f} kbit")
        if not parts.below_image.any():
            lines.append(head + "; every partition sends more than the image at 8 bits, so an "
                         "8-bit IR can only lose on bandwidth (the same IR at 2 bits sends "
                         f"{small.sent_kbit / 4:.1f} kbit: notebook 10's IR-width variants).")
        else:
            first = int(parts[parts.below_image].p.min())
            quick = (f"and from p = {int(faster.p.min())} on it is faster than sending the image "
                     f"({faster.latency_ms.min():.0f} against {raw.latency_ms:.0f} ms)"
                     if not faster.empty else "but none is faster than sending the image")
            lines.append(head + f"; from p = {first} on a partition sends less than the image, "
                         + quick + ".")
    return "\n".join(lines)


__all__ = ["RAW_PIXEL_BITS", "total_stride", "check_input_size", "partition_rows", "size_axis",
           "crossover_sentence"]
