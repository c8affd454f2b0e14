"""The deployed split an attack targets, and the three ways of reaching it (threat models).

:func:`deploy` turns a trained model, a partition point and a quantization policy into a
:class:`Victim`: the edge as it runs on the device (quantized by the policy, the IR sent at the
policy's IR width, optionally re-quantized to fewer bits) taking images in [0, 1], and the cloud
part. An attack never gets the victim itself, only the view its threat model allows
(docs/decisions/attacks.md §2):

* :class:`Edge` (white-box): the edge as a differentiable module, weights included;
* :class:`Oracle` (black-box): a function that answers queries with IRs, without gradients;
* :class:`Cloud` (query-free): the frozen cloud part, which maps an IR to class scores.

Each view carries the split's :class:`SplitInfo` (``key``, IR shape, whether the IR is
non-negative, class count): what the public architecture tells anyone. A defence (noise, dropout,
mixing) is a new :class:`Victim` whose edge module ends with the defence and whose key says so.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from ..method import data, models, quant
from ..method.constants import FULL_PRECISION
from ..method.policy import Policy, ir_bits as policy_ir_bits, resolve

ORACLE_BATCH = 256


@dataclass(frozen=True)
class SplitInfo:
    """What is public about a deployed split."""

    key: str  # "<model>/p<p>/<policy tag>": names the split in results and error messages
    model: str
    p: int
    tag: str
    dataset: str
    ir_shape: tuple[int, ...]  # one IR, without the batch axis
    ir_bits: int  # bit width the IR is sent at (32: not quantized)
    ir_nonnegative: bool  # the IR leaves after a ReLU, a pool of ReLUs or an unsigned quantizer
    num_classes: int


def policy_tag(policy: Policy, ir_bits: int | None = None) -> str:
    """A short name of a policy: ``fp32``, ``w8a8`` (uniform), ``mixed-<hash>`` (per layer), plus
    ``-ir<b>`` when the IR is re-quantized to ``b`` bits."""
    if isinstance(policy, (int, np.integer)) and not isinstance(policy, bool):
        tag = "fp32" if int(policy) == FULL_PRECISION else f"w{int(policy)}a{int(policy)}"
    else:
        pairs = [[int(w), int(a)] for w, a in policy]
        tag = "mixed-" + hashlib.sha256(json.dumps(pairs).encode()).hexdigest()[:10]
    if ir_bits is not None and int(ir_bits) != FULL_PRECISION:
        tag += f"-ir{int(ir_bits)}"
    return tag


def policy_json(policy: Policy) -> Any:
    """``policy`` as JSON: an int, or a list of ``[b_w, b_a]`` pairs."""
    if isinstance(policy, (int, np.integer)) and not isinstance(policy, bool):
        return int(policy)
    return [[int(w), int(a)] for w, a in policy]


def sent_bits(net: nn.Module, p: int, policy: Policy, ir_bits: int | None = None) -> int:
    """The bit width of the IR as the attacker sees it: the policy's IR width
    (``policy.ir_bits``), lowered to ``ir_bits`` when a re-quantization to fewer bits is asked."""
    sent = policy_ir_bits(net, p, policy)
    if ir_bits is None or quant.check_bits(ir_bits) == FULL_PRECISION:
        return sent
    return min(sent, int(ir_bits))


def requantize(ir: torch.Tensor, sent: int, bits: int) -> torch.Tensor:
    """The IR at ``bits`` bits given the edge's output at ``sent`` bits (unsigned, per sample);
    unchanged when ``bits`` is not below ``sent``."""
    return quant.quantize_activation(ir, bits) if bits < sent else ir


def module_device(module: object) -> torch.device:
    """Where ``module``'s parameters live (the CPU for a callable without any)."""
    params = next(module.parameters(), None) if isinstance(module, nn.Module) else None
    return params.device if params is not None else torch.device("cpu")


class _Stage(nn.Module):
    """Normalisation, the edge (``models.split``'s first piece), and the re-quantization of the
    IR (if any)."""

    def __init__(self, edge: nn.Module, dataset: str, sent: int, bits: int) -> None:
        super().__init__()
        self.normalize = data.Normalize(dataset)
        self.edge = edge
        self.sent, self.bits = sent, bits

    def forward(self, images01: torch.Tensor) -> torch.Tensor:
        return requantize(self.edge(self.normalize(images01)), self.sent, self.bits)


class _SplitView:
    """What every attacker's view tells about the split it looks at."""

    info: SplitInfo

    @property
    def key(self) -> str:
        return self.info.key

    @property
    def ir_shape(self) -> tuple[int, ...]:
        return self.info.ir_shape


class Edge(_SplitView, nn.Module):
    """White-box view: the edge as a module from images in [0, 1] to the IR it sends."""

    threat = "white-box"

    def __init__(self, module: nn.Module, info: SplitInfo) -> None:
        super().__init__()
        self.module, self.info = module, info

    def forward(self, images01: torch.Tensor) -> torch.Tensor:
        return self.module(images01)


class Oracle(_SplitView):
    """Black-box view: answers a batch of images in [0, 1] with their IRs (float32, CPU); no
    weights, no gradients."""

    threat = "black-box"

    def __init__(self, module: nn.Module, info: SplitInfo, batch_size: int = ORACLE_BATCH) -> None:
        self.__module, self.info, self.batch_size = module, info, batch_size

    @torch.no_grad()
    def __call__(self, images01: torch.Tensor) -> torch.Tensor:
        device = module_device(self.__module)
        return torch.cat([self.__module(images01[s:s + self.batch_size].to(device)).float().cpu()
                          for s in range(0, len(images01), self.batch_size)])


class Cloud(_SplitView, nn.Module):
    """Query-free view: the frozen cloud part, from an IR to class scores."""

    threat = "query-free"

    def __init__(self, module: nn.Module, info: SplitInfo) -> None:
        super().__init__()
        self.module, self.info = module, info

    def forward(self, ir: torch.Tensor) -> torch.Tensor:
        return self.module(ir)


@dataclass(frozen=True)
class Victim:
    """A deployed split: ``edge_module`` (images in [0, 1] → IR), ``cloud_module`` (IR → scores)."""

    edge_module: nn.Module
    cloud_module: nn.Module
    info: SplitInfo

    @property
    def key(self) -> str:
        return self.info.key

    def edge(self) -> Edge:
        return Edge(self.edge_module, self.info)

    def oracle(self) -> Oracle:
        return Oracle(self.edge_module, self.info)

    def cloud(self) -> Cloud:
        return Cloud(self.cloud_module, self.info)

    def access(self, threat: str) -> Edge | Oracle | Cloud:
        """The view an attack of ``threat`` may use."""
        views = {"white-box": self.edge, "black-box": self.oracle, "query-free": self.cloud}
        try:
            return views[threat]()
        except KeyError:
            raise ValueError(f"unknown threat model {threat!r}; choose one of "
                             f"{', '.join(views)}") from None

    def with_key(self, suffix: str) -> "Victim":
        """The same split under another name (a defence appends what it changed)."""
        return replace(self, info=replace(self.info, key=f"{self.info.key}+{suffix}"))


def _freeze(module: nn.Module) -> nn.Module:
    for param in module.parameters():
        param.requires_grad_(False)
    return module.eval()


def _num_classes(net: nn.Module) -> int:
    linears = [m for m in net.head.modules() if isinstance(m, nn.Linear)]
    return linears[-1].out_features if linears else -1


def _check_quantized(net: nn.Module, p: int, policy: Policy, quantized: nn.Module) -> None:
    """Refuse a ``quantized`` network that is not ``net`` quantized under ``policy`` at ``p``."""
    cfg = getattr(quantized, "quant_config", None)
    want = (int(p), tuple(resolve(net, p, policy)))
    got = None if cfg is None else (int(cfg.p), tuple(tuple(b) for b in cfg.policy))
    if got != want:
        what = "not quantized" if got is None else f"quantized at p = {got[0]} with {got[1]}"
        raise ValueError(f"the quantized network given is {what}; deploy needs it quantized at "
                         f"p = {p} under {want[1]} (quant.quantize_edge(net, p, policy), then "
                         "trained)")


@torch.no_grad()
def _probe(edge: nn.Module, device: torch.device) -> tuple[tuple[int, ...], bool]:
    """IR shape and sign on a few random images (the public architecture's answer)."""
    x = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(0)).to(device)
    ir = edge(x)
    return tuple(ir.shape[1:]), bool(ir.min() >= 0)


def deploy(net: nn.Module, p: int, policy: Policy = FULL_PRECISION, *, dataset: str,
           ir_bits: int | None = None, model: str | None = None,
           quantized: nn.Module | None = None) -> Victim:
    """The split of ``net`` at ``p`` as it runs under ``policy`` (an int bit width or per-layer
    pairs; ``quant.quantize_edge``), optionally with the IR re-quantized to ``ir_bits`` bits.
    ``quantized``: ``net`` already quantized under ``policy`` at ``p`` and trained further (a
    finetuned strategy, docs/decisions/paper-method.md §9), deployed instead of quantizing
    ``net`` again.

    ``net`` and ``quantized`` are left untouched: the victim holds a frozen, quantized copy."""
    model = model or getattr(net, "arch_name", type(net).__name__.lower())
    if quantized is None:
        qnet = _freeze(quant.quantize_edge(net, p, policy))
    else:
        _check_quantized(net, p, policy, quantized)
        qnet = _freeze(copy.deepcopy(quantized))
    sent = policy_ir_bits(net, p, policy)
    bits = sent_bits(net, p, policy, ir_bits)
    edge_part, cloud_part = models.split(qnet, p)  # the IR quantizer hook of quantize_edge fires
    device = module_device(net)
    edge = _Stage(edge_part, dataset, sent, bits).to(device).eval()
    cloud = cloud_part.eval()
    shape, nonneg = _probe(edge, device)
    info = SplitInfo(key=f"{model}/p{p}/{policy_tag(policy, ir_bits)}", model=model, p=int(p),
                     tag=policy_tag(policy, ir_bits), dataset=dataset, ir_shape=shape,
                     ir_bits=bits, ir_nonnegative=nonneg, num_classes=_num_classes(net))
    return Victim(edge, cloud, info)


__all__ = ["module_device", "SplitInfo", "Edge", "Oracle", "Cloud", "Victim", "deploy", "policy_tag", "policy_json",
           "sent_bits", "requantize"]
