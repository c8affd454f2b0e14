"""Symmetric uniform fake quantization (Eq. 5-6) and the quantized edge model (Eq. 3);
docs/decisions/paper-method.md §2.

``Q_b(T) = round(clamp(T, -c, c) / s) · s`` with ``c = max|T|`` and ``s = c / (2^(b-1) - 1)``
for weights (signed); activations are unsigned: clamped to ``[0, c]`` with ``s = c / (2^b - 1)``.
32 bits means "not quantized". Gradients pass by the straight-through estimator (STE): 1 where the
value lies inside the clamp range, 0 where it was clamped (torch's ``fake_quantize_*`` kernels).

Decisions (the paper leaves them open; paper-method.md §2):

* Weights are quantized per output channel by default (axis 0 of conv and linear weights) or per
  layer (``per_channel=False``); both are selectable per call.
* Activations use a *per-sample* dynamic range: ``c`` is the max of each sample's tensor (the batch
  axis is the "channel" axis), so a sample's quantized IR never depends on the other images in
  the batch -- the edge device quantizes one image at a time.
* ``c = max|T|`` for activations too (paper-method.md §2). Every quantized activation in these
  models follows a ReLU, so this equals ``max T``; a negative input is clamped to 0.
* Biases stay in floating point (in these models only the classifier, which is never quantized,
  has one).
* A tensor whose range is (numerically) zero, ``c <= 1e-30``, gets scale 1 and comes back as zeros.
* The IR that leaves the edge is quantized to ``policy.ir_bits`` bits by a forward hook on unit
  ``p``, so module names, ``state_dict`` keys, ``models.units`` and ``models.split`` are unchanged.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import inspect
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from . import models
from .constants import FULL_PRECISION
from .policy import FP, Policy, ir_bits, resolve
from .strategies import check_bits  # noqa: F401  (quant.check_bits: 2..16, 32)

_TINY_RANGE = 1e-30  # below this c counts as zero (1 / scale would overflow float32)


def levels(bits: int, signed: bool = True) -> tuple[int, int]:
    """Integer range ``(q_min, q_max)`` of a ``bits``-bit quantizer (Eq. 6's ``2^(b-1) - 1``)."""
    check_bits(bits)
    return (-(2 ** (bits - 1) - 1), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)


def _scale(c: torch.Tensor, q_max: int) -> torch.Tensor:
    """``s = c / q_max`` (Eq. 6), with scale 1 where the range is zero."""
    c = c.float()
    return torch.where(c > _TINY_RANGE, c / q_max, torch.ones_like(c))


def _check_finite(t: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor) -> None:
    """ValueError unless ``t`` is finite, read off its range (a NaN or ±inf reaches min or max),
    so the check costs no extra pass (docs/decisions/data-integrity.md §7)."""
    if not bool(torch.isfinite(lo).all() and torch.isfinite(hi).all()):
        bad = int((~torch.isfinite(t.detach())).sum())
        raise ValueError(f"quantize: argument t holds {bad} non-finite value(s) (NaN or ±inf) of "
                         f"{t.numel()}; c = max|t| of Eq. 6 is undefined. Find where they come "
                         "from (a diverged model, a bad input) before quantizing")


def quantize(t: torch.Tensor, bits: int, signed: bool = True, per_channel: bool = False,
             ch_axis: int = 0) -> torch.Tensor:
    """Fake-quantize ``t`` to ``bits`` bits (Eq. 5-6); 32 bits returns ``t`` itself.

    ``c = max|T|`` over the whole tensor, or per slice along ``ch_axis`` when ``per_channel``.
    Signed: values in ``[-c, c]``, ``2^b - 1`` levels; unsigned: clamp to ``[0, c]``, ``2^b``
    levels. Differentiable by STE. Computed in float32, returned in ``t``'s dtype. ``meta``
    tensors (shape tracing, as ``energy.trace`` does) pass through unchanged. A ``t`` holding NaN
    or ±inf raises ``ValueError`` (32 bits returns it untouched).
    """
    if check_bits(bits) == FULL_PRECISION or t.numel() == 0 or t.is_meta:
        return t
    if not t.is_floating_point():
        raise ValueError(f"quantize needs a floating-point tensor, got dtype {t.dtype}")
    q_min, q_max = levels(bits, signed)
    x = t if t.dtype == torch.float32 else t.float()
    if per_channel:
        if x.dim() == 0 or not -x.dim() <= ch_axis < x.dim():
            raise ValueError(
                f"ch_axis={ch_axis} is not an axis of a tensor of shape {tuple(x.shape)}; "
                "per-channel quantization needs a tensor with that axis"
            )
        axis = ch_axis % x.dim()
        lo, hi = torch.aminmax(x.detach().movedim(axis, 0).reshape(x.shape[axis], -1), dim=1)
        _check_finite(x, lo, hi)
        scale = _scale(torch.maximum(hi, -lo), q_max)  # c = max|T| per channel
        zero = torch.zeros_like(scale, dtype=torch.int32)
        out = torch.fake_quantize_per_channel_affine(x, scale, zero, axis, q_min, q_max)
    else:
        lo, hi = torch.aminmax(x.detach())
        _check_finite(x, lo, hi)
        scale = _scale(torch.maximum(hi, -lo), q_max)  # c = max|T|
        zero = torch.zeros((), dtype=torch.int32, device=x.device)
        out = torch.fake_quantize_per_tensor_affine(x, scale, zero, q_min, q_max)
    return out if out.dtype == t.dtype else out.to(t.dtype)


def quantize_activation(ir: torch.Tensor, bits: int) -> torch.Tensor:
    """Unsigned quantization of a batch of activations or IRs with a *per-sample* range.

    ``c`` is the max of each sample's tensor (axis 0 = samples, as ``per_channel`` along the batch
    axis), so a sample's result never depends on the other images in the batch: the edge device
    quantizes one image at a time. Used inside the fake-quant layers, for the IR leaving the edge,
    and for Fig. 8 (privacy of a quantized IR).
    """
    if ir.dim() == 0:
        raise ValueError("quantize_activation needs a batch: a tensor whose axis 0 holds samples")
    return quantize(ir, bits, signed=False, per_channel=True, ch_axis=0)


def quantize_weight(w: torch.Tensor, bits: int, per_channel: bool = True) -> torch.Tensor:
    """Signed weight quantization, per output channel (axis 0) or per layer."""
    return quantize(w, bits, signed=True, per_channel=per_channel, ch_axis=0)


def _full(x: torch.Tensor) -> torch.Tensor:
    """``x`` in float32 when a reduced-precision layer before it left it in bf16 or fp16."""
    return x.float() if x.dtype in (torch.bfloat16, torch.float16) else x


class _QuantMixin:
    """Shared state of the fake-quant conv/linear layers: (b_w, b_a) and the weight granularity."""

    w_bits: int
    a_bits: int
    per_channel: bool

    @classmethod
    def wrap(cls, layer: nn.Module, w_bits: int, a_bits: int, per_channel: bool = True):
        """A quantized layer that *shares* ``layer``'s parameters, so finetuning updates them.

        Built (on the meta device, no allocation) from the float layer's constructor arguments,
        which conv and linear layers keep as attributes of the same names."""
        base = next(b for b in cls.__mro__[1:] if b is not _QuantMixin and issubclass(b, nn.Module))
        names = [n for n in inspect.signature(base.__init__).parameters
                 if n not in ("self", "device", "dtype")]
        kwargs = {n: (layer.bias is not None) if n == "bias" else getattr(layer, n) for n in names}
        q = cls(**kwargs, device="meta")
        q.weight, q.bias = layer.weight, layer.bias
        q._set_bits(w_bits, a_bits, per_channel)
        return q.train(layer.training)

    def _set_bits(self, w_bits: int, a_bits: int, per_channel: bool) -> None:
        self.w_bits, self.a_bits = check_bits(w_bits), check_bits(a_bits)
        if not isinstance(per_channel, bool):
            raise ValueError(f"per_channel must be True or False, got {per_channel!r}")
        self.per_channel = per_channel

    def _quantized(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = quantize_activation(x, self.a_bits)
        return x, quantize_weight(self.weight, self.w_bits, self.per_channel)  # type: ignore[attr-defined]

    @staticmethod
    def _exact(x: torch.Tensor) -> contextlib.AbstractContextManager:
        """Autocast off: a fake-quant layer computes in float32 even inside bf16 autocast, since
        its grid must see exact values (bf16 keeps 8 significant bits, so levels would flip and ε
        and the attacks through a quantized edge would move; docs/decisions/scale.md §6). Nothing
        to turn off where autocast is not on (a traced model on the meta device has none)."""
        if x.device.type in ("cpu", "cuda") and torch.is_autocast_enabled(x.device.type):
            return torch.autocast(x.device.type, enabled=False)
        return contextlib.nullcontext()

    def extra_repr(self) -> str:
        granularity = "per-channel" if self.per_channel else "per-layer"
        return f"{super().extra_repr()}, w_bits={self.w_bits}, a_bits={self.a_bits}, {granularity}"  # type: ignore[misc]


class QuantConv2d(_QuantMixin, nn.Conv2d):
    """A ``Conv2d`` whose input (unsigned, b_a) and weight (signed, b_w) are fake-quantized (Eq. 3)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with self._exact(x):
            x, w = self._quantized(_full(x))
            return self._conv_forward(x, w, self.bias)


class QuantLinear(_QuantMixin, nn.Linear):
    """A ``Linear`` whose input (unsigned, b_a) and weight (signed, b_w) are fake-quantized (Eq. 3)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with self._exact(x):
            x, w = self._quantized(_full(x))
            return F.linear(x, w, self.bias)


QUANT_LAYERS = (QuantConv2d, QuantLinear)
_QUANT_OF = {nn.Conv2d: QuantConv2d, nn.Linear: QuantLinear}  # float layer -> its fake-quant one


def wrap_layer(layer: nn.Module, w_bits: int, a_bits: int, per_channel: bool = True) -> nn.Module:
    """The fake-quant version of a conv or linear layer (sharing its parameters)."""
    if isinstance(layer, QUANT_LAYERS):
        raise ValueError(f"{layer!r} is already quantized; wrap the full-precision layer")
    for float_cls, quant_cls in _QUANT_OF.items():
        if isinstance(layer, float_cls):
            return quant_cls.wrap(layer, w_bits, a_bits, per_channel)
    raise ValueError(f"only Conv2d and Linear layers can be quantized, got {type(layer).__name__}")


class _OutputQuantizer:
    """Forward hook: quantize a unit's output (the IR sent to the cloud) to ``bits``, per sample."""

    def __init__(self, bits: int) -> None:
        self.bits = check_bits(bits)

    def __call__(self, module: nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor:
        return quantize_activation(output, self.bits)

    def __repr__(self) -> str:
        return f"OutputQuantizer(bits={self.bits})"


@dataclass(frozen=True)
class QuantConfig:
    """What ``quantize_edge`` did: partition point, the effective per-layer policy, IR bits."""

    p: int
    policy: tuple[tuple[int, int], ...]
    ir_bits: int
    per_channel: bool


def resend_ir(qnet: nn.Module, bits: int) -> nn.Module:
    """A copy of ``qnet`` (made by :func:`quantize_edge`) whose IR is quantized once more, to
    ``bits`` fewer than it leaves at now, before it is sent: the same edge, its IR at ``bits``
    (docs/decisions/network.md §18). Re-quantizing keeps the IR's per-sample range, so the result
    is the ``bits``-bit grid of that range."""
    cfg = getattr(qnet, "quant_config", None)
    if cfg is None:
        raise ValueError("resend_ir needs a network made by quantize_edge (it has no quant_config)")
    check_bits(bits)
    if bits >= cfg.ir_bits:
        raise ValueError(f"resend_ir: bits={bits} is not fewer than the IR's {cfg.ir_bits} bits")
    out = copy.deepcopy(qnet)
    models.units(out)[cfg.p].register_forward_hook(_OutputQuantizer(bits))
    out.quant_config = dataclasses.replace(cfg, ir_bits=int(bits))  # type: ignore[attr-defined]
    return out


def is_quantized(net: nn.Module) -> bool:
    """True for a model made by ``quantize_edge`` or holding fake-quant layers."""
    return hasattr(net, "quant_config") or any(isinstance(m, QUANT_LAYERS) for m in net.modules())


def set_submodule(root: nn.Module, name: str, module: nn.Module) -> None:
    """Replace the submodule called ``name`` (dotted) of ``root`` by ``module``."""
    parent_name, _, child = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, module)


def quantize_edge(model: nn.Module, p: int, policy: Policy, per_channel: bool = True) -> nn.Module:
    """A quantized copy of ``model`` for partition point ``p`` (Eq. 3; ``model`` is left untouched).

    Every quantizable layer of the stem and the first ``p`` blocks runs at its ``(b_w, b_a)`` from
    ``policy.resolve`` (the first layer and the classifier stay fp32, as do (32, 32) entries and
    everything past the edge), and the IR leaving unit ``p`` is quantized to ``policy.ir_bits``
    bits (unsigned, per sample). The copy keeps ``arch_name`` and records a ``quant_config``.
    """
    if not isinstance(per_channel, bool):
        raise ValueError(f"per_channel must be True or False, got {per_channel!r}")
    if is_quantized(model):
        raise ValueError("the model is already quantized; pass the full-precision model to quantize_edge")
    pairs = resolve(model, p, policy)  # validates p and the policy, naming a bad entry
    bits_ir = ir_bits(model, p, policy)
    qnet = copy.deepcopy(model)
    for (name, layer), (bw, ba) in zip(models.quantizable_layers(qnet), pairs):
        if (bw, ba) != FP:
            set_submodule(qnet, name, wrap_layer(layer, bw, ba, per_channel))
    if bits_ir != FULL_PRECISION:
        models.units(qnet)[p].register_forward_hook(_OutputQuantizer(bits_ir))
    qnet.quant_config = QuantConfig(p, tuple(pairs), bits_ir, per_channel)  # type: ignore[attr-defined]
    return qnet
