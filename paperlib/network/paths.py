"""Execution paths: every way one request can be served, with what it costs and what it reveals.

A path runs ``device_macs`` on the device, sends ``bits`` up (0: nothing leaves the device), runs
``cloud_macs`` in the cloud, and answers image ``i`` correctly with probability ``correct[i]``:
0/1 per test image for full-precision paths (the model and its exits, measured); for a searched
(quantized, finetuned) strategy, which has no per-image record, the full model's top-1 on those
images minus the strategy's ε paired on the held-out report split (docs/decisions/network.md §8).
``privacy`` is P (Eq. 1-2) of what is sent, on the report split's images; NaN when nothing is.

:func:`build` makes, for one model and profile, the paths every scheduler chooses from:

* ``device_exits``: the model's exits run wholly on the device (the last = the full model);
* ``server``: the raw 8-bit image sent up, the full model in the cloud;
* ``ddnn_cloud``: DDNN's second chance: the first exit ran on the device, the raw image follows;
* ``jointdnn``: the partition point with the smallest IR (fp32, ties to the shallowest);
* ``static``: the paper's searched strategy at E_b = 0.35 mJ;
* ``sweep``: the searched strategies at every E_b of the sweep and every other stored search of
  the model (any E_b and seed), the static one among them, and the IR-width variants of the static
  and the most private one (:mod:`paperlib.network.ir_width`): the dynamic partition's menu.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch

from .. import search
from ..method import data, energy, models, privacy, strategies, train
from ..method.constants import ENERGY_BOUND_MJ, FULL_PRECISION
from ..method.profiles import Profile, resolve_profile
from . import exits as exits_mod
from . import ir_width
from .constants import RAW_IMAGE_BITS
from .exits import Exits, exit_points, unit_macs
from .sweep import menu_results

PJ_PER_MJ = 1e9
RAW_POINT = -1  # "partition point" of the raw image: nothing computed on the device


@dataclass(frozen=True)
class ExecutionPath:
    """One way to serve a request (see the module docstring)."""

    name: str
    label: str
    local: bool  # answered on the device, nothing sent
    point: int  # blocks run on the device (RAW_POINT: none, the raw image goes up)
    device_macs: float
    cloud_macs: float
    bits: int  # sent up
    device_mj: float  # edge compute energy, Eq. 7-8
    correct: np.ndarray = field(repr=False)  # per test image, in [0, 1]
    privacy: float  # P of what is sent (nan: nothing is)
    raw_image: bool = False
    energy_bound: float | None = None  # for searched strategies
    resent_ir_bits: int | None = None  # an IR-width variant: its IR re-quantized to this width (ir_width)

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.correct))


@dataclass
class PathSet:
    """All paths of one model (see :func:`build`) and where their numbers came from."""

    model: str
    profile: str
    data: str
    device_exits: list[ExecutionPath]
    server: ExecutionPath
    ddnn_cloud: ExecutionPath
    jointdnn: ExecutionPath
    static: ExecutionPath
    sweep: list[ExecutionPath]
    exit_confidence: np.ndarray  # (exits, images): max softmax of every exit
    num_units: int

    @property
    def full_top1(self) -> float:
        return self.device_exits[-1].accuracy

    @property
    def images(self) -> int:
        return int(self.device_exits[-1].correct.size)

    def all_paths(self) -> list[ExecutionPath]:
        seen, out = set(), []
        for p in [*self.device_exits, self.server, self.ddnn_cloud, self.jointdnn, self.static,
                  *self.sweep]:
            if p.name not in seen:
                seen.add(p.name)
                out.append(p)
        return out


def _fp32_edge_mj(net: torch.nn.Module, p: int) -> float:
    em = energy.EnergyModel.for_net(net)
    bits = np.full(em.n_layers, float(FULL_PRECISION))
    return em.compute_mj(p, bits, bits)


def _linear_mj(in_features: int, out_features: int) -> float:
    """Eq. 8 of one fp32 linear layer (weights, bias, inputs read at 32 bits)."""
    return energy.layer_energy_pj(in_features * out_features, in_features * out_features + out_features,
                                  in_features, FULL_PRECISION, FULL_PRECISION) / PJ_PER_MJ


def _classifier_mj(net: torch.nn.Module) -> float:
    em = energy.EnergyModel.for_net(net)
    head = [c for c, u in zip(em.trace.costs, em.unit) if u == em.num_units + 1]
    return sum(energy.layer_energy_pj(c.n_mac, c.n_params, c.n_inputs, FULL_PRECISION,
                                      FULL_PRECISION) for c in head) / PJ_PER_MJ


def device_exit_paths(net: torch.nn.Module, ex: Exits) -> list[ExecutionPath]:
    """The exits of ``ex`` run wholly on the device (fp32); the last is the full model."""
    macs = unit_macs(net)
    n = models.num_units(net)
    paths = []
    for k, p in enumerate(ex.points):
        final = p == n and k == len(ex.points) - 1
        head_mj = (_classifier_mj(net) if final
                   else _linear_mj(ex.heads[p].fc.in_features, ex.heads[p].fc.out_features))
        paths.append(ExecutionPath(
            name="device-full" if final else f"device-exit{p}",
            label="full model on the device" if final else f"exit after block {p} on the device",
            local=True, point=p, device_macs=float(macs[: p + 1].sum() + ex.head_macs[k]),
            cloud_macs=0.0, bits=0, device_mj=_fp32_edge_mj(net, p) + head_mj,
            correct=ex.correct[k], privacy=float("nan")))
    return paths


def _offloaded(net: torch.nn.Module, name: str, label: str, p: int, ir_bits: int, device_mj: float,
               top1: float, privacy_p: float, n_images: int, energy_bound: float,
               resent_ir_bits: int | None = None) -> ExecutionPath:
    """A searched strategy's path: blocks ``0..p`` on the device, the IR at ``ir_bits`` bits up,
    its top-1 as the expected correctness of every image (docs/decisions/network.md §8)."""
    macs = unit_macs(net)
    em = energy.EnergyModel.for_net(net)
    return ExecutionPath(
        name=name, label=label, local=False, point=p, device_macs=float(macs[: p + 1].sum()),
        cloud_macs=float(macs[p + 1:].sum()), bits=int(em.ir_elements[p]) * int(ir_bits),
        device_mj=float(device_mj), correct=np.full(n_images, float(top1)),
        privacy=float(privacy_p), energy_bound=float(energy_bound), resent_ir_bits=resent_ir_bits)


def searched_path(ctx: "search.SearchContext", result, n_images: int, full_top1: float) -> ExecutionPath:
    """A search result (``SearchResult``) as a path: its partition point and bit widths, its IR at
    ``ir_bits``, its Eq. 7-8 energy without E_T, and held-out numbers (docs/decisions/network.md
    §8, §18): as top-1, the full model's ``full_top1`` on the test images the other paths are
    scored on minus the strategy's reported ε (the report split, paired, Table 4's), and P on the
    report split's privacy images (``ctx``: the context its search ran on)."""
    b = result.best
    p = int(b["p"])
    held_out_p = ir_width.held_out_privacy(ctx, search.Genome.from_dict(b["genome"]))
    eps = _paired_eps(result, float(_report(result)["top1"]))
    return _offloaded(ctx.net, f"searched-eb{result.energy_bound:g}-seed{result.seed}",
                      f"searched at E_b = {result.energy_bound:g} mJ, seed {result.seed} (p = {p})",
                      p, int(b["ir_bits"]), b["energy_no_tx_mj"], full_top1 - eps,
                      held_out_p, n_images, result.energy_bound)


def _report(result) -> dict:
    if not result.report:
        raise ValueError(f"the search in {result.out_dir} has no reported top-1 (report.json): "
                         "rerun it (search.run measures the report) to put it on the menu")
    return result.report


def _paired_eps(result, top1_on_report: float) -> float:
    """ε of a top-1 measured on ``result``'s report split: the full model's top-1 there minus it
    (Table 4's ε, paired on the same images; one formula for strategies and their variants)."""
    return float(_report(result)["top1_fp"]) - top1_on_report


def width_variant_path(net: torch.nn.Module, result, variant: ir_width.WidthVariant,
                       n_images: int, full_top1: float) -> ExecutionPath:
    """A width variant (:mod:`paperlib.network.ir_width`) of search result ``result`` as a path:
    the result's partition point and edge energy, the variant's IR width and held-out P, and as
    top-1 ``full_top1`` minus its ε on the report split (paired with the full model there)."""
    eps = _paired_eps(result, variant.top1)
    return _offloaded(net, f"searched-eb{result.energy_bound:g}-seed{result.seed}-ir{variant.ir_bits}",
                      f"searched at E_b = {result.energy_bound:g} mJ, seed {result.seed} "
                      f"(p = {variant.p}), IR at {variant.ir_bits} bits",
                      variant.p, variant.ir_bits, result.best["energy_no_tx_mj"], full_top1 - eps,
                      variant.privacy, n_images, result.energy_bound, resent_ir_bits=variant.ir_bits)


def smallest_transfer_point(net: torch.nn.Module) -> int:
    """JointDNN-style: the partition point whose IR has the fewest elements (ties: shallowest)."""
    return int(np.argmin(energy.EnergyModel.for_net(net).ir_elements))


def build(model: str, profile: str | Profile | None = None, *, results: Sequence | None = None,
          exits: Exits | None = None, net: torch.nn.Module | None = None, meta: dict | None = None,
          ir_widths: Sequence[int] | None = None) -> PathSet:
    """Every path of ``model`` for ``profile``: loads the checkpoint (``train.load_or_train``),
    the exits (:func:`paperlib.network.exits.load_or_train`) and the E_b sweep
    (:func:`paperlib.network.sweep.run_sweep`) with every other stored search of the model
    (:func:`paperlib.network.sweep.menu_results`) unless given, and adds to the menu the IR-width
    variants (:mod:`paperlib.network.ir_width`) at ``ir_widths`` (None: the profile's
    ``network.ir_widths``) of the static strategy and of the most private stored one."""
    prof = resolve_profile(profile)
    if net is None or meta is None:
        net, meta = train.load_or_train(model, prof)
    net.eval()
    ex = exits if exits is not None else exits_mod.load_or_train(model, prof, net=net, meta=meta)
    results = list(results) if results is not None else menu_results(model, prof)
    static_results = [r for r in results if abs(r.energy_bound - ENERGY_BOUND_MJ) < 1e-12]
    if not static_results:
        raise ValueError(f"the sweep of {model} has no search at the paper's E_b = "
                         f"{ENERGY_BOUND_MJ} mJ; include it in the bounds")
    n_images = ex.correct.shape[1]
    full_correct = ex.correct[-1]
    macs = unit_macs(net)
    n = models.num_units(net)

    # every P of the menu and the baselines on the same held-out images: the report split's (§18)
    ctx = search.build_context(model, prof, trained=(net, meta), progress=False)
    held_out = ctx.report_privacy
    raw_privacy = float(privacy.privacy(held_out.x01, held_out.x01))  # the image's own channels
    p_small = smallest_transfer_point(net)
    em = energy.EnergyModel.for_net(net)

    device_exits = device_exit_paths(net, ex)
    server = ExecutionPath("server", "server only (raw image up)", False, RAW_POINT, 0.0,
                           float(macs.sum()), RAW_IMAGE_BITS, 0.0, full_correct, raw_privacy,
                           raw_image=True)
    first = device_exits[0]
    ddnn_cloud = ExecutionPath("ddnn-cloud", f"DDNN re-send after exit {first.point}", False,
                               first.point, first.device_macs, float(macs.sum()), RAW_IMAGE_BITS,
                               first.device_mj, full_correct, raw_privacy, raw_image=True)
    jointdnn = ExecutionPath("jointdnn", f"JointDNN-style smallest transfer (p = {p_small}, fp32)",
                             False, p_small, float(macs[: p_small + 1].sum()),
                             float(macs[p_small + 1:].sum()),
                             int(em.ir_elements[p_small]) * FULL_PRECISION,
                             _fp32_edge_mj(net, p_small), full_correct, held_out.of(net, p_small))
    widths = prof.network.ir_widths if ir_widths is None else strategies.check_ir_widths(ir_widths)
    full_top1 = float(full_correct.mean())  # every path's top-1 on these images (§8)
    sweep = [searched_path(ctx, r, n_images, full_top1) for r in results]
    static = sweep[results.index(static_results[0])]
    # the width variants of the paper's strategy and of the most private stored one, chosen by
    # its search's P (scored, like every menu entry, on the report split: §18)
    most_private = max(results, key=lambda r: float(r.best["privacy"]))
    bases = [static_results[0]]
    if most_private.out_dir != static_results[0].out_dir:
        bases.append(most_private)
    for r in bases if widths else []:
        sweep += [width_variant_path(net, r, v, n_images, full_top1)
                  for v in ir_width.measure_variants(ctx, r, widths)]
    return PathSet(model, prof.name, ex.data, device_exits, server, ddnn_cloud, jointdnn, static,
                   sweep, ex.confidence, n)


def synthetic(model: str = "resnet18", images: int = 200, seed: int = 0) -> PathSet:
    """A model-shaped :class:`PathSet` without training anything, for tests and benchmarks: the
    architecture's real MACs, IR sizes, exit points and fp32 energies, but *made-up* accuracies
    (exits from 0.6 to 1.0 of a full top-1 of 0.6) and privacy (P rising with the partition
    point); searched strategies at p = n - 3, n - 1, n with 8-bit IRs at 0.2 / 0.35 / 0.75 mJ, and
    the static one's IR also at 6, 4 and 2 bits (P up, top-1 down as the width falls)."""
    with torch.device("meta"):
        net = models.build(model, "cifar10")
    rng = np.random.default_rng(seed)
    n = models.num_units(net)
    macs = unit_macs(net)
    em = energy.EnergyModel.for_net(net)
    points = exit_points(net)
    full_top1 = 0.6

    def correct(acc: float) -> np.ndarray:
        return (rng.random(images) < acc).astype(np.float64)

    exits = [ExecutionPath("device-full" if p == n else f"device-exit{p}",
                           f"exit after block {p}", True, p, float(macs[: p + 1].sum()), 0.0, 0,
                           _fp32_edge_mj(net, p), correct(full_top1 * (0.6 + 0.4 * p / n)),
                           float("nan")) for p in points]
    full = exits[-1].correct

    def off(name: str, p: int, bits: int, mj: float, acc: np.ndarray, privacy: float,
            raw: bool = False, bound: float | None = None,
            resent: int | None = None) -> ExecutionPath:
        dm = float(macs[: p + 1].sum()) if p >= 0 else 0.0
        return ExecutionPath(name, name, False, p, dm, float(macs.sum()) - dm, bits, mj, acc,
                             privacy, raw, bound, resent)

    sweep = [off(f"searched-eb{b:g}-seed0", p, int(em.ir_elements[p]) * 8, mj,
                 np.full(images, full_top1 - eps), 0.4 + 0.6 * p / n, bound=b)
             for b, p, mj, eps in ((0.2, n - 3, 0.18, 0.01), (ENERGY_BOUND_MJ, n - 1, 0.24, 0.005),
                                   (0.75, n, 0.7, 0.004))]
    static = sweep[1]
    sweep += [off(f"{static.name}-ir{bits}", static.point, int(em.ir_elements[static.point]) * bits,
                  static.device_mj, static.correct - 0.002 * (8 - bits),
                  static.privacy + 0.005 * (8 - bits), bound=ENERGY_BOUND_MJ, resent=bits)
              for bits in (6, 4, 2)]  # its IR-width variants (ir_width): P up, top-1 down
    p_small = smallest_transfer_point(net)
    return PathSet(model, "synthetic", "synthetic paths (made-up accuracies and privacy)", exits,
                   off("server", RAW_POINT, RAW_IMAGE_BITS, 0.0, full, 0.05, raw=True),
                   off("ddnn-cloud", exits[0].point, RAW_IMAGE_BITS, exits[0].device_mj, full, 0.05,
                       raw=True),
                   off("jointdnn", p_small, int(em.ir_elements[p_small]) * FULL_PRECISION,
                       _fp32_edge_mj(net, p_small), full, 0.4 + 0.6 * p_small / n),
                   static, sweep, rng.random((len(points), images)), n)


__all__ = ["ExecutionPath", "PathSet", "RAW_POINT", "device_exit_paths", "searched_path",
           "width_variant_path", "smallest_transfer_point", "build", "synthetic"]
