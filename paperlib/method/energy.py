"""Analytical edge energy per image (Eq. 7-9, Table 3; docs/decisions/paper-method.md §3), in mJ.

``E(M_edge, Π) = Σ_i E_L(L_i^{π_i}) + E_T(â_p)`` (Eq. 7) with, for a layer at ``π = (b_w, b_a)``,

    E_L = N_MAC · E_MAC|b_w + N_params · E_mem|b_w + N_inputs · E_mem|b_a        (Eq. 8)

(Eq. 8 as printed swaps N_MAC and N_mem: a typo, paper-method.md §3),
``N_mem = N_params + N_inputs``, and ``E_T = IR elements · ir_bits · E_tran`` (Eq. 9, ``E_tran`` = 100 pJ/bit), the IR being the
output of unit ``p`` sent at ``strategies.ir_bits`` bits (32 when nothing on the edge is quantized).

``E_MAC|k`` and ``E_mem|k`` come from a hardware description (:mod:`paperlib.method.hardware`): by
default the paper's Table 3, ``E_MAC|k = 3.1 k / 32 + 0.1`` pJ and ``E_mem|k = 2.5 k`` pJ
(``paperlib/method/hardware_tables/table3.toml``). Every function here takes ``hardware=`` (a
:class:`~paperlib.method.hardware.Hardware`, a shipped name or a TOML file; None: the one in use, see
:func:`paperlib.method.hardware.current`; docs/decisions/graph-and-hardware.md §5).

Layer shapes are traced once per architecture (forward hooks on one image of the model's input
shape, CIFAR's 3x32x32 unless the model states another) and cached; ``EnergyModel`` holds them as
numpy arrays for the genetic search's fast path. Only the stem and the first ``p`` units count;
the head (classifier) is always in the cloud. Conv2d and Linear layers are costed (Eq. 8), so
N_MAC summed over a model equals torch's FLOP count / 2 for models made of those layers.
"""

from __future__ import annotations

import copy
import math
import numbers
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from . import hardware as hw
from . import models, strategies
from .constants import E_TRAN_PJ_PER_BIT, FULL_PRECISION
from .policy import Policy, ir_bits, resolve

PJ_PER_MJ = 1e9


# --- Table 3 -------------------------------------------------------------------------------------

def e_mac_pj(k: float, hardware: hw.HardwareSpec = None) -> float:
    """Energy of one k-bit MAC in pJ (Table 3 by default: ``3.1 k / 32 + 0.1``)."""
    return hw.load(hardware).e_mac_pj(k)


def e_mem_pj(k: float, hardware: hw.HardwareSpec = None) -> float:
    """Energy of one k-bit memory access in pJ (Table 3 by default: ``2.5 k``)."""
    return hw.load(hardware).e_mem_pj(k)


def layer_energy_pj(n_mac: float, n_params: float, n_inputs: float, b_w: int, b_a: int,
                    hardware: hw.HardwareSpec = None) -> float:
    """Eq. 8: MACs at ``b_w``, parameters read at ``b_w``, input elements read at ``b_a``."""
    h = hw.load(hardware)
    return n_mac * h.e_mac_pj(b_w) + n_params * h.e_mem_pj(b_w) + n_inputs * h.e_mem_pj(b_a)


def e_tran_pj(e_tran_pj_per_bit: float | None = None, hardware: hw.HardwareSpec = None) -> float:
    """``E_tran`` in pJ/bit: the one given, else the hardware description's, else the paper's
    100 pJ/bit (Eq. 9)."""
    if e_tran_pj_per_bit is not None:
        return float(e_tran_pj_per_bit)
    stated = hw.load(hardware).e_tran_pj_per_bit
    return E_TRAN_PJ_PER_BIT if stated is None else stated


def transmission_pj(n_elements: float, bits: int, e_tran_pj_per_bit: float | None = None,
                    hardware: hw.HardwareSpec = None) -> float:
    """Eq. 9: ``M(d) · E_tran`` with ``M(d) = n_elements · bits`` (``E_tran``: :func:`e_tran_pj`;
    pass another per-bit radio energy for a sensitivity analysis)."""
    return n_elements * bits * e_tran_pj(e_tran_pj_per_bit, hardware)


# --- layer shapes --------------------------------------------------------------------------------

@dataclass(frozen=True)
class LayerCost:
    """The counts Eq. 8 needs for one conv/linear layer run on one image."""

    kind: str  # "conv", "depthwise", "grouped" or "linear"
    n_mac: int
    n_params: int
    n_inputs: int
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]


def layer_cost(layer: nn.Module, in_shape: Sequence[int], out_shape: Sequence[int]) -> LayerCost:
    """MACs, parameters and inputs of a conv/linear layer from its input and output shapes.

    Conv: ``K_h · K_w · (C_in / groups)`` MACs per output element (depthwise: ``K² · H_out · W_out · C``);
    linear: ``in_features`` MACs per output element. Parameters: weight plus bias.
    """
    in_shape, out_shape = tuple(int(s) for s in in_shape), tuple(int(s) for s in out_shape)
    n_out = math.prod(out_shape)
    if isinstance(layer, nn.Conv2d):
        k_h, k_w = layer.kernel_size
        n_mac = n_out * k_h * k_w * (layer.in_channels // layer.groups)
        if layer.groups == 1:
            kind = "conv"
        elif layer.groups == layer.in_channels == layer.out_channels:
            kind = "depthwise"
        else:
            kind = "grouped"
    elif isinstance(layer, nn.Linear):
        n_mac, kind = n_out * layer.in_features, "linear"
    else:
        raise ValueError(f"energy is modelled for Conv2d and Linear layers, not {type(layer).__name__}")
    n_params = sum(p.numel() for p in (layer.weight, layer.bias) if p is not None)
    return LayerCost(kind, n_mac, n_params, math.prod(in_shape), in_shape, out_shape)


@dataclass(frozen=True)
class Trace:
    """Per quantizable layer (forward order) its name, unit and cost; per unit its output size."""

    names: tuple[str, ...]
    units: tuple[int, ...]  # 0 = stem, i = block i, num_units + 1 = head
    costs: tuple[LayerCost, ...]
    unit_out_elements: tuple[int, ...]  # elements of the IR after the stem (p = 0), block 1, ...


@torch.no_grad()
def trace(net: nn.Module) -> Trace:
    """Record every quantizable layer's input and output shape and every unit's output size for
    one image of ``models.input_shape(net)``. Runs a shape-only (``meta`` device, eval mode) copy
    of ``net``; the units and layers come from its traced graph (:mod:`paperlib.method.graph`)."""
    param = next(net.parameters(), None)
    if param is None or param.device.type != "meta" or net.training:
        net = copy.deepcopy(net).to("meta").eval()
    layers = models.quantizable_layers(net)
    n_units = models.num_units(net)
    unit_of = {name: i for i, unit in enumerate(models.unit_layers(net)) for name, _ in unit}
    shapes: dict[str, tuple] = {}
    ir: dict[int, int] = {}
    hooks = [
        m.register_forward_hook(
            lambda _m, inp, out, name=name: shapes.__setitem__(name, (inp[0].shape, out.shape)))
        for name, m in layers
    ] + [
        m.register_forward_hook(lambda _m, _i, out, p=p: ir.__setitem__(p, int(out.numel())))
        for p, m in enumerate(models.units(net))
    ]
    try:
        net(torch.zeros((1, *models.input_shape(net)), device="meta"))
    finally:
        for h in hooks:
            h.remove()
    costs = tuple(layer_cost(m, *shapes[name]) for name, m in layers)
    return Trace(
        names=tuple(name for name, _ in layers),
        units=tuple(unit_of.get(name, n_units + 1) for name, _ in layers),
        costs=costs,
        unit_out_elements=tuple(ir[p] for p in range(n_units + 1)),
    )


def _num_classes(net: nn.Module) -> int:
    """Output width of the last linear layer (part of the cache key; -1 without one)."""
    for _, m in reversed(models.quantizable_layers(net)):
        if isinstance(m, nn.Linear):
            return m.out_features
    return -1


@lru_cache(maxsize=None)
def _trace_arch(arch_name: str, num_classes: int, factory: object = None) -> Trace:
    # ``factory`` (the registered one) is part of the key: a name registered anew is traced anew
    with torch.device("meta"):  # shapes only: no weight initialisation, no memory
        net = models.build(arch_name, num_classes=num_classes).eval()
    return trace(net)


def trace_for(net: nn.Module) -> Trace:
    """``trace`` cached per (``arch_name``, class count); nets without ``arch_name`` are traced afresh."""
    name = getattr(net, "arch_name", None)
    if name in models.MODELS:
        return _trace_arch(name, _num_classes(net), models.MODELS.get(name))
    return trace(net)


# --- fast evaluator ------------------------------------------------------------------------------

class EnergyModel:
    """Precomputed Eq. 7-9 for one architecture on one hardware description; ``evaluate`` costs a
    few microseconds.

    ``EnergyModel.for_net(net).strategy_mj(p, bw, ba)`` equals ``edge_energy(net, p, list(zip(bw,
    ba)))`` (tested): layer 0 is always costed at fp32 and the IR bits follow ``policy.ir_bits``.

    Arrays are per quantizable layer (forward order, as ``models.quantizable_layers``):
    ``macs``, ``params``, ``inputs``, ``unit``; per partition point ``p``: ``edge_layers``
    (quantizable layers on the edge) and ``ir_elements`` (size of the IR leaving the edge).
    """

    def __init__(self, tr: Trace, arch_name: str | None = None,
                 hardware: hw.HardwareSpec = None) -> None:
        self.arch_name = arch_name
        self.hardware = hw.load(hardware)
        self.trace = tr
        self.names = tr.names
        self.kinds = tuple(c.kind for c in tr.costs)
        self.macs = np.array([c.n_mac for c in tr.costs], dtype=np.float64)
        self.params = np.array([c.n_params for c in tr.costs], dtype=np.float64)
        self.inputs = np.array([c.n_inputs for c in tr.costs], dtype=np.float64)
        self.unit = np.array(tr.units, dtype=np.int64)
        self.ir_elements = np.array(tr.unit_out_elements, dtype=np.float64)
        self.edge_layers = np.cumsum(np.bincount(self.unit, minlength=len(self.ir_elements))
                                     [: len(self.ir_elements)])
        self.n_layers = len(self.names)
        self.num_units = len(self.ir_elements) - 1
        # E_MAC|k and E_mem|k for k = 0..32, looked up by bit width (Eq. 8)
        self._mac, self._mem = self.hardware.mac_table(), self.hardware.mem_table()
        fp = FULL_PRECISION
        self._first_layer_pj = (float(self.macs[0] * self._mac[fp] + self.params[0] * self._mem[fp]
                                      + self.inputs[0] * self._mem[fp]) if self.n_layers else 0.0)

    @classmethod
    def for_net(cls, net: nn.Module, hardware: hw.HardwareSpec = None) -> "EnergyModel":
        """The (cached) evaluator for ``net``'s architecture on ``hardware``."""
        name = getattr(net, "arch_name", None)
        h = hw.load(hardware)
        if name in models.MODELS:
            return _energy_model(name, _num_classes(net), models.MODELS.get(name), h)
        return cls(trace(net), name, h)

    def compute_mj(self, p: int, bw: np.ndarray, ba: np.ndarray) -> float:
        """Σ E_L over the edge layers at partition ``p`` (layer 0 always at fp32), in mJ.

        ``bw``/``ba`` hold one bit width per quantizable layer of the whole model; entries past
        the edge are ignored. No validation (speed): use ``edge_energy`` for checked input.
        """
        n = self.edge_layers[p]
        if n == 0:
            return 0.0
        w, a = np.asarray(bw[1:n], dtype=np.intp), np.asarray(ba[1:n], dtype=np.intp)
        pj = (self._first_layer_pj + self.macs[1:n] @ self._mac[w] + self.params[1:n] @ self._mem[w]
              + self.inputs[1:n] @ self._mem[a])
        return float(pj) / PJ_PER_MJ

    def ir_bits(self, p: int, bw: np.ndarray, ba: np.ndarray) -> int:
        """:func:`paperlib.method.strategies.ir_bits` of the edge layers after the first."""
        n = self.edge_layers[p]
        return strategies.ir_bits(zip(bw[1:n], ba[1:n]))

    def transmission_mj(self, p: int, bits: int, e_tran_pj_per_bit: float | None = None) -> float:
        """E_T (Eq. 9) of the IR leaving unit ``p`` at ``bits`` bits, in mJ (``E_tran``: the one
        given, else this model's hardware description's, else the paper's)."""
        return transmission_pj(self.ir_elements[p], bits, e_tran_pj_per_bit, self.hardware) / PJ_PER_MJ

    def strategy_mj(self, p: int, bw: Sequence[int] | np.ndarray, ba: Sequence[int] | np.ndarray,
                    transmission: bool = True, e_tran_pj_per_bit: float | None = None) -> float:
        """E(M_edge, Π) of Eq. 7 in mJ for a genome ``(p, bw, ba)`` (whole-model bit arrays)."""
        if not 0 <= p <= self.num_units:
            raise ValueError(f"partition point p={p!r} is out of range 0..{self.num_units}")
        bw, ba = np.asarray(bw, dtype=np.float64), np.asarray(ba, dtype=np.float64)
        if bw.shape != (self.n_layers,) or ba.shape != (self.n_layers,):
            raise ValueError(f"bw and ba need one entry per quantizable layer ({self.n_layers}), "
                             f"got shapes {bw.shape} and {ba.shape}")
        e = self.compute_mj(p, bw, ba)
        if transmission:
            e += self.transmission_mj(p, self.ir_bits(p, bw, ba), e_tran_pj_per_bit)
        return e


@lru_cache(maxsize=None)
def _energy_model(arch_name: str, num_classes: int, factory: object = None,
                  hardware: hw.Hardware | None = None) -> EnergyModel:
    return EnergyModel(_trace_arch(arch_name, num_classes, factory), arch_name, hardware)


# --- public API (paper-method.md §7) -------------------------------------------------------------

def _resolved(net: nn.Module, p: int, policy: Policy,
              hardware: hw.HardwareSpec = None) -> tuple[EnergyModel, np.ndarray, np.ndarray]:
    pairs = resolve(net, p, policy)  # validates p and policy
    em = EnergyModel.for_net(net, hardware)
    if len(pairs) != em.n_layers:
        raise ValueError(f"net has {len(pairs)} quantizable layers but its traced architecture "
                         f"{em.arch_name!r} has {em.n_layers}; is arch_name right?")
    bits = np.array(pairs, dtype=np.float64).reshape(-1, 2)
    return em, bits[:, 0], bits[:, 1]


def transmission_energy(net: nn.Module, p: int, policy: Policy,
                        e_tran_pj_per_bit: float | None = None,
                        hardware: hw.HardwareSpec = None) -> float:
    """E_T (Eq. 9) in mJ: the IR leaving unit ``p``, sent at ``policy.ir_bits`` bits."""
    em, _, _ = _resolved(net, p, policy, hardware)
    return em.transmission_mj(p, ir_bits(net, p, policy), e_tran_pj_per_bit)


def edge_energy(net: nn.Module, p: int, policy: Policy, transmission: bool = True,
                e_tran_pj_per_bit: float | None = None, hardware: hw.HardwareSpec = None) -> float:
    """E(M_edge, Π) of Eq. 7 in mJ per image on ``hardware`` (default: the description in use,
    Table 3 unless changed): edge layers (Eq. 8) plus, optionally, E_T (Eq. 9) at
    ``e_tran_pj_per_bit`` (default: the hardware description's, else the paper's 100 pJ/bit)."""
    em, bw, ba = _resolved(net, p, policy, hardware)
    e = em.compute_mj(p, bw, ba)
    if transmission:
        e += em.transmission_mj(p, ir_bits(net, p, policy), e_tran_pj_per_bit)
    return e


def layer_table(net: nn.Module, p: int, policy: Policy,
                hardware: hw.HardwareSpec = None) -> pd.DataFrame:
    """One row per quantizable edge layer with its counts, bits and Eq. 8 energy terms (mJ).

    ``N_mem = N_params + N_inputs``; ``E_mem_mJ`` = params at ``b_w`` + inputs at ``b_a``.
    ``df.attrs`` holds ``ir_elements``, ``ir_bits``, ``E_T_mJ`` (Eq. 9) of partition ``p`` and
    the ``hardware`` description's name.
    """
    em, bw, ba = _resolved(net, p, policy, hardware)
    h = em.hardware
    n = int(em.edge_layers[p])
    rows = []
    for i in range(n):
        c = em.trace.costs[i]
        e_mac = c.n_mac * h.e_mac_pj(bw[i]) / PJ_PER_MJ
        e_mem = (c.n_params * h.e_mem_pj(bw[i]) + c.n_inputs * h.e_mem_pj(ba[i])) / PJ_PER_MJ
        rows.append({
            "name": em.names[i], "kind": c.kind, "unit": int(em.unit[i]),
            "N_MAC": c.n_mac, "N_params": c.n_params, "N_inputs": c.n_inputs,
            "N_mem": c.n_params + c.n_inputs, "b_w": int(bw[i]), "b_a": int(ba[i]),
            "E_MAC_mJ": e_mac, "E_mem_mJ": e_mem, "E_L_mJ": e_mac + e_mem,
            "in_shape": c.in_shape, "out_shape": c.out_shape,
        })
    df = pd.DataFrame(rows)
    bits = ir_bits(net, p, policy)
    df.attrs.update(p=p, ir_elements=int(em.ir_elements[p]), ir_bits=bits,
                    E_T_mJ=em.transmission_mj(p, bits), hardware=h.name)
    return df


def partition_energies(net: nn.Module, policy: Policy, transmission: bool = True,
                       e_tran_pj_per_bit: float | None = None,
                       hardware: hw.HardwareSpec = None) -> np.ndarray:
    """``edge_energy`` for every partition point p = 0..num_units, in mJ."""
    return np.array([edge_energy(net, p, policy, transmission, e_tran_pj_per_bit, hardware)
                     for p in range(models.num_units(net) + 1)])


def max_partition(net: nn.Module, bits: Policy, e_bound: float, transmission: bool = True,
                  e_tran_pj_per_bit: float | None = None, hardware: hw.HardwareSpec = None) -> int:
    """The deepest partition point whose edge energy is below ``e_bound`` mJ (all p scanned:
    with E_T the energy need not grow with p). ``bits``: an int or a per-layer policy."""
    if isinstance(e_bound, bool) or not (isinstance(e_bound, numbers.Real) and e_bound > 0):
        raise ValueError(f"e_bound must be a positive energy in mJ, got {e_bound!r}")
    energies = partition_energies(net, bits, transmission, e_tran_pj_per_bit, hardware)
    fits = np.flatnonzero(energies < e_bound)
    if fits.size == 0:
        raise ValueError(
            f"no partition point fits the energy bound {e_bound} mJ: even p=0 (stem only) needs "
            f"{energies[0]:.4f} mJ{' with transmission' if transmission else ''}; raise e_bound "
            "or quantize more"
        )
    return int(fits[-1])
