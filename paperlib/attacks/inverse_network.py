"""Black-box inverse network (He et al. 2019; Zhang et al. 2021 §5.3, after Dosovitskiy & Brox 2016).

The attacker queries the edge with its own images (the training split, disjoint from the evaluated
test images), and trains a decoder from IR to image on those pairs by MSE (Zhang et al.'s Eq. 2),
with Adam (docs/decisions/attacks.md §4).

Decoder (:class:`Decoder`, "up-convolutional"): a 1x1 conv to the decoder width, a 3x3 conv, then
``log2(32 / h)`` stride-2 4x4 transposed convolutions (each doubles the resolution), every one
followed by batch norm and LeakyReLU(0.2), and a final 3x3 conv to RGB with a sigmoid. Width at
resolution ``r``: ``clamp(512 / r, 16, 96)``, so every stage costs about the same and a split trains
in seconds on a CPU. An IR whose size is not 32 / 2^k is resized bilinearly to the nearest such size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from ..infra.progress import tqdm

from ..method.device import plan_for
from .base import ATTACKS, Attack, Aux, AuxNeed, check_training

DECODER_VERSION = 1
MAX_WIDTH = 96
MIN_WIDTH = 16
OUT_SIZE = 32
RECONSTRUCT_BATCH = 256


@dataclass(frozen=True)
class InverseNetworkSettings:
    """The black-box attacker's budget (docs/decisions/attacks.md §4); a profile sets it in
    ``AttackSettings.attacks["inverse-network"]``."""

    query_images: int | None = None  # the attacker's query images (training split); None: all
    epochs: int = 10  # decoder training epochs
    batch_size: int = 64  # decoder training batch
    lr: float = 1e-3  # decoder learning rate (Adam)

    def aux_need(self) -> AuxNeed:
        """Its query images: unlabelled (the black-box attacker queries the edge with them)."""
        return AuxNeed(self.query_images, labelled=False)


DEFAULTS = InverseNetworkSettings()  # the constructor's defaults


def decoder_width(resolution: int) -> int:
    """Channels of the decoder at a feature-map resolution: ``clamp(512 / r, 16, 96)``."""
    return int(min(MAX_WIDTH, max(MIN_WIDTH, 512 // max(int(resolution), 1))))


def _block(conv: nn.Module, width: int) -> list[nn.Module]:
    return [conv, nn.BatchNorm2d(width), nn.LeakyReLU(0.2, inplace=True)]


class Decoder(nn.Module):
    """Up-convolutional decoder from an IR of shape ``(C, h, w)`` to a ``(3, 32, 32)`` image in [0, 1]."""

    def __init__(self, in_channels: int, in_size: int, out_size: int = OUT_SIZE,
                 out_channels: int = 3) -> None:
        super().__init__()
        if in_channels < 1 or in_size < 1 or in_size > out_size:
            raise ValueError(f"cannot decode an IR of {in_channels} channels at {in_size}x{in_size} "
                             f"into a {out_size}x{out_size} image")
        self.in_channels, self.in_size, self.out_size = int(in_channels), int(in_size), int(out_size)
        self.n_up = max(0, int(round(math.log2(out_size / in_size))))
        self.start_size = out_size // (2 ** self.n_up)
        res = self.start_size
        width = decoder_width(res)
        layers: list[nn.Module] = []
        layers += _block(nn.Conv2d(in_channels, width, 1, bias=False), width)
        layers += _block(nn.Conv2d(width, width, 3, padding=1, bias=False), width)
        for _ in range(self.n_up):
            res *= 2
            nxt = decoder_width(res)
            layers += _block(nn.ConvTranspose2d(width, nxt, 4, stride=2, padding=1, bias=False), nxt)
            width = nxt
        layers += [nn.Conv2d(width, out_channels, 3, padding=1), nn.Sigmoid()]
        self.net = nn.Sequential(*layers)

    def forward(self, ir: torch.Tensor) -> torch.Tensor:
        if ir.shape[-1] != self.start_size or ir.shape[-2] != self.start_size:
            ir = F.interpolate(ir, size=(self.start_size, self.start_size), mode="bilinear",
                               align_corners=False)
        return self.net(ir)

    def describe(self) -> str:
        widths = [m.out_channels for m in self.net if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
        n_params = sum(p.numel() for p in self.parameters())
        return (f"{self.in_channels}x{self.in_size}x{self.in_size} -> widths {widths}, "
                f"{self.n_up} up-stages, {n_params:,} parameters")


def build_decoder(ir_shape: Sequence[int]) -> Decoder:
    """A :class:`Decoder` for IRs of shape ``(C, h, w)`` (a batch shape ``(B, C, h, w)`` works too)."""
    shape = tuple(int(s) for s in ir_shape)[-3:]
    if len(shape) != 3 or shape[1] != shape[2]:
        raise ValueError(f"IR shape must be (C, h, h), got {tuple(ir_shape)}")
    return Decoder(shape[0], shape[1])


def train_decoder(decoder: Decoder, irs: torch.Tensor, targets01: torch.Tensor, *, epochs: int,
                  batch_size: int, lr: float, seed: int = 0, progress: bool = False,
                  desc: str = "inverse network") -> list[float]:
    """Fit ``decoder`` (MSE, Adam) to map ``irs`` to ``targets01``; returns the mean training loss
    of every epoch (deterministic for a seed on the CPU)."""
    if len(irs) != len(targets01) or len(irs) == 0:
        raise ValueError(f"need as many IRs as target images (and at least one), got {len(irs)} "
                         f"and {len(targets01)}")
    check_training(epochs, batch_size, lr)
    device = next(decoder.parameters()).device
    plan = plan_for(device)  # bf16 autocast where the plan says (docs/decisions/scale.md §6)
    irs, targets01 = irs.to(device), targets01.to(device)  # moved once, not per batch
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(decoder.parameters(), lr=lr)
    n = len(irs)
    steps = math.ceil(n / batch_size)
    losses = []
    bar = tqdm(total=epochs * steps, desc=desc, disable=not progress, dynamic_ncols=True, leave=False)
    decoder.train()
    try:
        for _ in range(epochs):
            order = torch.randperm(n, generator=gen)
            total = 0.0
            for start in range(0, n, batch_size):
                idx = order[start:start + batch_size]
                ir = irs[idx].to(torch.float32)
                target = targets01[idx].to(torch.float32)
                with plan.autocast_context():
                    loss = F.mse_loss(decoder(ir), target)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
                bar.update(1)
                bar.set_postfix(loss=f"{total / min(n, start + len(idx)):.4f}", refresh=False)
            losses.append(total / n)
    finally:
        bar.close()
        decoder.eval()
    return losses


@torch.no_grad()
def reconstruct(decoder: Decoder, irs: torch.Tensor, batch_size: int = RECONSTRUCT_BATCH) -> torch.Tensor:
    """The decoder's reconstructions (float32 in [0, 1], on the CPU)."""
    decoder.eval()
    device = next(decoder.parameters()).device
    return torch.cat([decoder(irs[s:s + batch_size].to(device, torch.float32)).cpu()
                      for s in range(0, len(irs), batch_size)])


@ATTACKS.register("inverse-network", label="black-box inverse network", threat="black-box",
                  color="C0", marker="o", settings=InverseNetworkSettings)
class InverseNetwork(Attack):
    """Black-box: a decoder trained on (query image, IR) pairs."""

    name = "inverse-network"
    threat = "black-box"
    version = DECODER_VERSION

    def __init__(self, epochs: int = DEFAULTS.epochs, batch_size: int = DEFAULTS.batch_size,
                 lr: float = DEFAULTS.lr, seed: int = 0, progress: bool = False,
                 device: torch.device | str = "cpu") -> None:
        super().__init__()
        self.epochs, self.batch_size, self.lr, self.seed = int(epochs), int(batch_size), float(lr), int(seed)
        self.progress, self.device = progress, torch.device(device)
        self.decoder: Decoder | None = None
        self.train_loss: list[float] = []

    @classmethod
    def from_settings(cls, settings: InverseNetworkSettings | None = None,
                      seed: int = 0) -> "InverseNetwork":
        s = settings or DEFAULTS
        return cls(s.epochs, s.batch_size, s.lr, seed)

    def config(self) -> dict[str, Any]:
        return {"epochs": self.epochs, "batch_size": self.batch_size, "lr": self.lr,
                "seed": self.seed}

    def _fit(self, access: Any, aux: Aux | None) -> None:
        if aux is None or len(aux) == 0:
            raise ValueError("the inverse-network attack needs auxiliary images to query the edge with")
        self._train(access(aux.images), aux.images, access.key)

    def fit_pairs(self, oracle: Any, irs: torch.Tensor, images01: torch.Tensor) -> "InverseNetwork":
        """Fit on pairs already obtained from ``oracle`` (``irs[i]`` = its answer to
        ``images01[i]``): what :meth:`fit` does after querying. Lets a caller compute the IRs of
        many partition points in one forward pass."""
        if getattr(oracle, "threat", None) != self.threat:
            raise TypeError(f"the {self.name} attack is black-box: pass the Oracle the pairs came from")
        if tuple(irs.shape[1:]) != tuple(oracle.ir_shape):
            raise ValueError(f"IRs of shape {tuple(irs.shape[1:])} do not come from {oracle.key}, "
                             f"whose IR has shape {tuple(oracle.ir_shape)}")
        self._train(irs, images01, oracle.key)
        self.fitted_on, self.ir_shape = oracle.key, tuple(oracle.ir_shape)
        return self

    def _train(self, irs: torch.Tensor, images01: torch.Tensor, key: str) -> None:
        torch.manual_seed(self.seed)
        self.decoder = build_decoder(irs.shape).to(self.device)
        self.train_loss = train_decoder(self.decoder, irs, images01, epochs=self.epochs,
                                        batch_size=self.batch_size, lr=self.lr, seed=self.seed,
                                        progress=self.progress, desc=f"inverse network {key}")

    def _invert(self, ir: torch.Tensor) -> torch.Tensor:
        return reconstruct(self.decoder, ir)

    def details(self) -> dict[str, Any]:
        return {"train_loss": [float(v) for v in self.train_loss],
                "model": self.decoder.describe() if self.decoder is not None else ""}

    def state(self) -> dict[str, Any]:
        return {"decoder": {k: v.cpu() for k, v in self.decoder.state_dict().items()}} if self.decoder else {}


def load_decoder(state: dict[str, Any], ir_shape: Sequence[int]) -> Decoder:
    """A trained decoder from the ``state`` an :class:`InverseNetwork` saved."""
    dec = build_decoder(ir_shape)
    dec.load_state_dict(state["decoder"])
    return dec.eval()


__all__ = ["Decoder", "build_decoder", "decoder_width", "train_decoder", "reconstruct",
           "InverseNetwork", "InverseNetworkSettings", "load_decoder", "DECODER_VERSION"]
