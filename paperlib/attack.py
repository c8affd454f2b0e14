"""A learned inversion attack on the IR that leaves the edge (beyond the paper).

The paper measures privacy with a proxy, P of Eq. 1 (the distance from the input to the *closest*
IR channel). Zhang et al. (2021, §5.3) measure it instead by what an adversary can *learn* to
recover: a decoder trained on (image, IR) pairs reconstructs the input from the IR, and the
reconstruction's SSIM (higher = more leakage) is the privacy loss. This module runs that attack for
one partition point ``p`` and one quantization policy, so the proxy and the attack can be put side
by side (notebook 06).

Decisions (ours; neither paper fixes them):

* Threat model: Zhang et al.'s worst case, the attacker's auxiliary data come from the same
  distribution: the decoder trains on ``prof.attack.train_images`` *training* images and is scored
  on ``prof.attack.test_images`` *test* images (deterministic subsets, seed 0). The attacker sees
  the IR exactly as it is sent: the edge quantized by the policy (``quant.quantize_edge``, the IR
  at the policy's IR width), optionally re-quantized to ``ir_bits`` bits
  (``quant.quantize_activation``, for the paper's Fig. 8 question "does a coarser IR hide more?").
* Decoder (:class:`Decoder`, after Dosovitskiy & Brox 2016, "up-convolutional"): a 1x1 conv to the
  decoder width, a 3x3 conv, then ``log2(32 / h)`` stride-2 4x4 transposed convolutions (each
  doubles the resolution and halves the width), every one followed by batch norm and LeakyReLU(0.2),
  and a final 3x3 conv to RGB with a sigmoid. Width at resolution ``r``: ``clamp(512 / r, 16, 96)``,
  so every stage costs about the same and a split trains in seconds on a CPU. MSE loss (Zhang et
  al.'s Eq. 2), Adam, batch size / epochs / lr from ``prof.attack``.
* IRs are computed once per (model, policy) without gradients, for all requested partition
  points in one forward pass (the prefix of a quantized model is the quantized edge of every
  shallower point), kept in float16 (only the decoder trains); the IR quantizer (the policy's IR
  width, or ``ir_bits``) is applied to those float16 values.
* Metrics on the test images in [0, 1]: SSIM of the RGB reconstruction, computed exactly as
  ``skimage.metrics.structural_similarity(x, y, channel_axis=0, gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False, data_range=1.0)`` (the same Gaussian-window SSIM as SPEC §4; the mean
  of the three colour channels), PSNR = 10 log10(1 / MSE) per image (``inf`` for a perfect copy),
  both averaged over images; and the paper's P (Eq. 1, MSE) of the *same* IR on the *same* images.
* Cache: ``results/<profile>/attacks/<model>-p<p>-<tag>.json`` (metrics and the settings they were
  computed with) and ``.pt`` (decoder weights and a few reconstructions for figures), written
  atomically. A cached result is reused when its fingerprint (attack settings, decoder version,
  checkpoint, data, policy) matches; otherwise the attack is rerun and the files replaced.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from . import __version__, data, io, models, privacy, quant
from .constants import FULL_PRECISION
from .policy import Policy, ir_bits as policy_ir_bits, resolve
from .profiles import AttackSettings, Profile, get_profile

DECODER_VERSION = 1
ATTACK_SEED = 0
MAX_WIDTH = 96
MIN_WIDTH = 16
OUT_SIZE = 32


# --- the decoder -----------------------------------------------------------------------------------

def decoder_width(resolution: int) -> int:
    """Channels of the decoder at a feature-map resolution: ``clamp(512 / r, 16, 96)``."""
    return int(min(MAX_WIDTH, max(MIN_WIDTH, 512 // max(int(resolution), 1))))


def _block(conv: nn.Module, width: int) -> list[nn.Module]:
    return [conv, nn.BatchNorm2d(width), nn.LeakyReLU(0.2, inplace=True)]


class Decoder(nn.Module):
    """Up-convolutional decoder from an IR of shape ``(C, h, w)`` to a ``(3, 32, 32)`` image in [0, 1].

    ``n_up = log2(32 / h)`` stride-2 transposed convolutions mirror the edge part's downsampling;
    an IR whose size is not 32 / 2^k is resized bilinearly to the nearest such size first.
    """

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


# --- metrics ---------------------------------------------------------------------------------------

def _check_pair(x: torch.Tensor, y: torch.Tensor) -> None:
    if x.shape != y.shape or x.dim() != 4:
        raise ValueError(f"need two (B, C, H, W) batches of the same shape, got {tuple(x.shape)} "
                         f"and {tuple(y.shape)}")


def ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-image SSIM of two (B, C, H, W) batches in [0, 1] (float64), as skimage's
    ``structural_similarity(channel_axis=0, gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=1.0)``: the mean over channels and valid windows."""
    _check_pair(x, y)
    x, y = x.double(), y.double()
    window = privacy.gaussian_window(dtype=torch.float64).to(x.device)
    stats = torch.stack([x, y, x * x, y * y, x * y], 0)
    ux, uy, uxx, uyy, uxy = privacy.valid_gaussian_filter(stats, window).unbind(0)
    c1 = (privacy.SSIM_K1 * privacy.SSIM_DATA_RANGE) ** 2
    c2 = (privacy.SSIM_K2 * privacy.SSIM_DATA_RANGE) ** 2
    vx, vy, vxy = uxx - ux * ux, uyy - uy * uy, uxy - ux * uy
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    return s.mean(dim=(1, 2, 3))


def psnr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR in dB for images in [0, 1]: ``10 log10(1 / MSE)``; ``inf`` when identical."""
    _check_pair(x, y)
    mse = (x.double() - y.double()).square().mean(dim=(1, 2, 3))
    return 10.0 * torch.log10(1.0 / mse)


# --- IRs -------------------------------------------------------------------------------------------

def policy_tag(policy: Policy, ir_bits: int | None = None) -> str:
    """A short file-name tag: ``fp32``, ``w8a8`` (uniform), ``mixed-<hash>`` (per layer), plus
    ``-ir<b>`` when the IR is re-quantized to ``b`` bits."""
    if isinstance(policy, (int, np.integer)) and not isinstance(policy, bool):
        tag = "fp32" if int(policy) == FULL_PRECISION else f"w{int(policy)}a{int(policy)}"
    else:
        pairs = [[int(w), int(a)] for w, a in policy]
        tag = "mixed-" + hashlib.sha256(json.dumps(pairs).encode()).hexdigest()[:10]
    if ir_bits is not None and int(ir_bits) != FULL_PRECISION:
        tag += f"-ir{int(ir_bits)}"
    return tag


def _policy_json(policy: Policy) -> Any:
    if isinstance(policy, (int, np.integer)) and not isinstance(policy, bool):
        return int(policy)
    return [[int(w), int(a)] for w, a in policy]


def edge_model(net: nn.Module, p: int, policy: Policy = FULL_PRECISION) -> nn.Sequential:
    """The edge part at ``p`` as it runs under ``policy`` (quantized copy; the IR leaves at the
    policy's IR width). ``net`` is left untouched."""
    qnet = quant.quantize_edge(net, p, policy).eval()
    edge, _ = models.split(qnet, p)
    return edge.eval()


@torch.no_grad()
def compute_unit_irs(net: nn.Module, points: Sequence[int], images_uint8: torch.Tensor,
                     dataset: str, *, batch_size: int = 256,
                     dtype: torch.dtype = torch.float16) -> dict[int, torch.Tensor]:
    """The output of unit ``p`` for every ``p`` in ``points`` (no gradients, one forward pass per
    batch through the stem and the first ``max(points)`` blocks), stored as ``dtype`` on the CPU.

    ``net`` may be a ``quant.quantize_edge`` copy: its layers quantize their own inputs, so the
    output of unit ``p`` is exactly what the edge at ``p`` computes before its IR quantizer (apply
    ``quant.quantize_activation`` at the policy's IR width to get the IR it sends).
    """
    points = sorted({int(p) for p in points})
    for p in points:
        models.check_partition(net, p)
    device = next(net.parameters()).device
    units = models.units(net)[: max(points) + 1]
    out: dict[int, list[torch.Tensor]] = {p: [] for p in points}
    for start in range(0, len(images_uint8), batch_size):
        h = data.normalize(images_uint8[start:start + batch_size].to(device), dataset)
        for i, unit in enumerate(units):
            h = unit(h)
            if i in out:
                out[i].append(h.float().to("cpu", dtype))
    return {p: torch.cat(v) for p, v in out.items()}


# --- training --------------------------------------------------------------------------------------

def train_decoder(decoder: Decoder, irs: torch.Tensor, targets01: torch.Tensor, *, epochs: int,
                  batch_size: int, lr: float, seed: int = ATTACK_SEED, progress: bool = False,
                  desc: str = "attack") -> list[float]:
    """Fit ``decoder`` (MSE, Adam) to map ``irs`` to ``targets01``; returns the mean training loss
    of every epoch (deterministic for a seed on the CPU)."""
    if len(irs) != len(targets01) or len(irs) == 0:
        raise ValueError(f"need as many IRs as target images (and at least one), got {len(irs)} "
                         f"and {len(targets01)}")
    if epochs < 0 or batch_size < 1 or not lr > 0:
        raise ValueError(f"bad training settings: epochs={epochs}, batch_size={batch_size}, lr={lr}")
    device = next(decoder.parameters()).device
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
                ir = irs[idx].to(device, torch.float32)
                target = targets01[idx].to(device, torch.float32)
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
def reconstruct(decoder: Decoder, irs: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """The decoder's reconstructions (float32 in [0, 1], on the CPU)."""
    decoder.eval()
    device = next(decoder.parameters()).device
    return torch.cat([decoder(irs[s:s + batch_size].to(device, torch.float32)).cpu()
                      for s in range(0, len(irs), batch_size)])


@torch.no_grad()
def evaluate_reconstruction(decoder: Decoder, irs: torch.Tensor, images01: torch.Tensor,
                            batch_size: int = 256) -> dict[str, float]:
    """Mean (and spread) of SSIM, PSNR and MSE of the reconstructions of ``images01``."""
    rec = reconstruct(decoder, irs, batch_size)
    s, q = ssim(images01, rec), psnr(images01, rec)
    mse = (images01.double() - rec.double()).square().mean(dim=(1, 2, 3))
    finite = q[torch.isfinite(q)]
    return {"ssim": float(s.mean()), "ssim_sd": float(s.std()) if len(s) > 1 else 0.0,
            "psnr": float(q.mean()), "psnr_sd": float(finite.std()) if len(finite) > 1 else 0.0,
            "mse": float(mse.mean())}


# --- one attack, cached ---------------------------------------------------------------------------

@dataclass
class AttackResult:
    """One attack's numbers (the ``.json`` file); reconstructions live in the ``.pt`` file."""

    model: str
    profile: str
    p: int
    tag: str
    policy: Any  # int or per-layer pairs
    ir_bits: int  # bits of the IR the attacker sees
    ir_shape: list[int]
    ssim: float
    ssim_sd: float
    psnr: float
    psnr_sd: float
    mse: float
    privacy: float  # the paper's P (Eq. 1, MSE) of the same IR on the same test images
    train_loss: list[float]
    baseline_ssim: float  # SSIM of the mean training image (an attacker who learnt nothing)
    train_images: int
    test_images: int
    seconds: float
    decoder: str
    data: str
    fingerprint: dict[str, Any] = field(default_factory=dict)
    path: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "AttackResult":
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in names})

    def row(self) -> dict[str, Any]:
        """A flat record for a DataFrame."""
        return {"model": self.model, "p": self.p, "tag": self.tag, "ir_bits": self.ir_bits,
                "ir_shape": "x".join(map(str, self.ir_shape)), "ssim": self.ssim,
                "ssim_sd": self.ssim_sd, "psnr": self.psnr, "mse": self.mse,
                "privacy": self.privacy, "baseline_ssim": self.baseline_ssim,
                "final_train_loss": self.train_loss[-1] if self.train_loss else float("nan"),
                "seconds": self.seconds}


def attacks_dir(profile: str) -> Path:
    """``<results>/<profile>/attacks`` (``$PAPERLIB_RESULTS_DIR`` respected)."""
    from .search.context import results_dir

    return results_dir() / profile / "attacks"


def attack_paths(model: str, profile: str, p: int, tag: str) -> tuple[Path, Path]:
    stem = attacks_dir(profile) / f"{model}-p{int(p)}-{tag}"
    return stem.with_suffix(".json"), stem.with_suffix(".pt")


def attack_data(dataset: str, settings: AttackSettings,
                allow_partial: bool | None = None) -> tuple[data.CifarArrays, data.CifarArrays]:
    """The attacker's training images and the evaluation images (deterministic subsets)."""
    train_ds = data.subset(data.load(dataset, "train", allow_partial=allow_partial),
                           settings.train_images, seed=ATTACK_SEED)
    test_ds = data.subset(data.load(dataset, "test", allow_partial=allow_partial),
                          settings.test_images, seed=ATTACK_SEED)
    return train_ds, test_ds


def _fingerprint(settings: AttackSettings, policy: Policy, ir_bits: int | None, dataset: str,
                 meta: dict, train_ds: data.CifarArrays, test_ds: data.CifarArrays) -> dict:
    trained = {k: v for k, v in asdict(settings).items() if k != "points"}  # not a training knob
    fp = {"decoder_version": DECODER_VERSION, "settings": trained,
          "policy": _policy_json(policy), "ir_bits": ir_bits, "dataset": dataset,
          "checkpoint": {k: meta.get(k) for k in ("accuracy", "date", "data", "seed")},
          "attack_data": [len(train_ds), len(test_ds), train_ds.partial, test_ds.partial],
          "seed": ATTACK_SEED}
    return json.loads(json.dumps(fp, default=str))


def _cached(json_path: Path, pt_path: Path, fingerprint: dict) -> AttackResult | None:
    if json_path.exists() and pt_path.exists():
        cached = io.read_json(json_path)
        if cached.get("fingerprint") == fingerprint:
            return AttackResult.from_dict({**cached, "path": str(json_path)})
    return None


def run_attacks(model: str, profile: str | Profile | None = None, points: Sequence[int] = (0,),
                policy: Policy = FULL_PRECISION, *,
                ir_bits: Sequence[int | None] | Mapping[int, Sequence[int | None]] = (None,),
                net: nn.Module | None = None, meta: dict | None = None,
                settings: AttackSettings | None = None, dataset: str | None = None,
                samples: int = 8, force: bool = False, progress: bool = True,
                allow_partial: bool | None = None,
                decoder_threads: int | None = 1) -> list[AttackResult]:
    """Train (or reload) the inversion attack on ``model``'s IR at every partition point of
    ``points`` under ``policy`` (an int bit width or per-layer pairs), once for every entry of
    ``ir_bits`` (``None``: the IR as the policy sends it; ``b``: re-quantized to ``b`` bits), or of
    ``ir_bits[p]`` when ``ir_bits`` is a mapping from points to bit lists (missing points: None).

    Results come back in the order (p, b) of ``points`` x bits. The IRs of every point
    that is not cached are computed in *one* forward pass through the deepest edge needed (the
    prefix of a quantized model is the quantized edge of every shallower point). ``net``/``meta``
    (from ``train.load_or_train``) avoid reloading the checkpoint; ``settings`` overrides
    ``prof.attack``; ``force`` retrains even when a matching cache exists. ``decoder_threads``:
    torch CPU threads while decoders train (the small decoders run fastest on one thread, many
    times faster than on two when the cores are shared; None keeps the process's setting); the IR
    forward passes keep the process's setting.
    """
    from . import train

    prof = profile if isinstance(profile, Profile) else get_profile(profile)
    settings = settings or prof.attack
    dataset = dataset or prof.dataset_for(model)
    points = list(dict.fromkeys(int(p) for p in points))
    if isinstance(ir_bits, Mapping):
        per_point = {p: list(ir_bits.get(p, [None])) for p in points}
    else:
        per_point = {p: list(ir_bits) for p in points}
    per_point = {p: list(dict.fromkeys(
        None if b is None or quant.check_bits(b) == FULL_PRECISION else int(b) for b in bs))
        for p, bs in per_point.items()}  # 32 bits = the IR as sent
    if net is None or meta is None:
        net, meta = train.load_or_train(model, prof, dataset=dataset, allow_partial=allow_partial,
                                        progress=progress)
    net.eval()
    for p in points:
        models.check_partition(net, p)
        resolve(net, p, policy)  # validate early, naming a bad entry
    train_ds, test_ds = attack_data(dataset, settings, allow_partial)
    provenance = (f"{meta.get('data', '?')}; attack on {len(train_ds)} train / {len(test_ds)} test "
                  f"images")
    jobs = {}
    results: dict[tuple[int, int | None], AttackResult] = {}
    for p in points:
        for b in per_point[p]:
            tag = policy_tag(policy, b)
            json_path, pt_path = attack_paths(model, prof.name, p, tag)
            fingerprint = _fingerprint(settings, policy, b, dataset, meta, train_ds, test_ds)
            hit = None if force else _cached(json_path, pt_path, fingerprint)
            if hit is not None:
                results[(p, b)] = hit
            else:
                jobs[(p, b)] = (tag, json_path, pt_path, fingerprint)
    if jobs:
        todo = sorted({p for p, _ in jobs})
        t0 = time.perf_counter()
        torch.manual_seed(ATTACK_SEED)
        deepest = max(todo)
        qnet = quant.quantize_edge(net, deepest, policy).eval()
        x_train01 = data.to_unit(train_ds.images)
        x_test01 = data.to_unit(test_ds.images)
        ir_train = compute_unit_irs(qnet, todo, train_ds.images, dataset)
        ir_test = compute_unit_irs(qnet, todo, test_ds.images, dataset)
        del qnet
        ir_seconds = (time.perf_counter() - t0) / len(jobs)
        mean_img = x_train01.mean(0, keepdim=True).expand_as(x_test01)
        baseline = float(ssim(x_test01, mean_img).mean())
        device = next(net.parameters()).device
        old_threads = torch.get_num_threads()
        if decoder_threads is not None and device.type == "cpu":
            torch.set_num_threads(int(decoder_threads))
        try:
            for (p, b), (tag, json_path, pt_path, fingerprint) in jobs.items():
                t1 = time.perf_counter()
                # the IR as quantize_edge(net, p, policy) sends it
                sent = policy_ir_bits(net, p, policy)
                bits = sent if b is None or b == FULL_PRECISION else min(sent, b)
                tr, te = ir_train[p], ir_test[p]
                if bits != FULL_PRECISION:
                    tr = quant.quantize_activation(tr.float(), bits).to(tr.dtype)
                    te = quant.quantize_activation(te.float(), bits).to(te.dtype)
                proxy = float(privacy.privacy(x_test01, te.float(), dist="mse"))
                torch.manual_seed(ATTACK_SEED)
                decoder = build_decoder(tr.shape).to(device)
                losses = train_decoder(decoder, tr, x_train01, epochs=settings.epochs,
                                       batch_size=settings.batch_size, lr=settings.lr,
                                       seed=ATTACK_SEED, progress=progress,
                                       desc=f"attack {model} p={p} {tag}")
                metrics = evaluate_reconstruction(decoder, te, x_test01)
                k = min(samples, len(x_test01))
                rec = reconstruct(decoder, te[:k])
                seconds = time.perf_counter() - t1 + ir_seconds
                result = AttackResult(
                    model=model, profile=prof.name, p=p, tag=tag, policy=_policy_json(policy),
                    ir_bits=int(bits), ir_shape=list(tr.shape[1:]), **metrics, privacy=proxy,
                    train_loss=[float(v) for v in losses], baseline_ssim=baseline,
                    train_images=len(train_ds), test_images=len(test_ds), seconds=round(seconds, 2),
                    decoder=decoder.describe(), data=provenance, fingerprint=fingerprint,
                    path=str(json_path))
                with io.atomic_path(pt_path) as tmp:
                    torch.save({"decoder": {k_: v.cpu() for k_, v in decoder.state_dict().items()},
                                "ir_shape": list(tr.shape[1:]),
                                "originals": test_ds.images[:k].clone(),
                                "reconstructions":
                                    (rec * 255).round().clamp(0, 255).to(torch.uint8),
                                "version": __version__}, tmp)
                io.write_json(json_path, {k_: v for k_, v in result.to_dict().items()
                                          if k_ != "path"})
                results[(p, b)] = result
        finally:
            torch.set_num_threads(old_threads)
    return [results[(p, b)] for p in points for b in per_point[p]]


def run_attack(model: str, profile: str | Profile | None = None, p: int = 0,
               policy: Policy = FULL_PRECISION, *, ir_bits: int | None = None,
               **kwargs: Any) -> AttackResult:
    """One attack (see :func:`run_attacks`): partition point ``p``, ``policy``, optional
    re-quantization of the IR to ``ir_bits`` bits."""
    return run_attacks(model, profile, [p], policy, ir_bits=[ir_bits], **kwargs)[0]


def load_samples(result: AttackResult | str | Path) -> tuple[torch.Tensor, torch.Tensor]:
    """The cached originals and reconstructions (float32 in [0, 1]) of an attack."""
    path = Path(result.path if isinstance(result, AttackResult) else result).with_suffix(".pt")
    blob = torch.load(path, map_location="cpu", weights_only=True)
    return data.to_unit(blob["originals"]), blob["reconstructions"].float() / 255.0


def load_decoder(result: AttackResult | str | Path) -> Decoder:
    """The trained decoder of a cached attack."""
    path = Path(result.path if isinstance(result, AttackResult) else result).with_suffix(".pt")
    blob = torch.load(path, map_location="cpu", weights_only=True)
    dec = build_decoder(blob["ir_shape"])
    dec.load_state_dict(blob["decoder"])
    return dec.eval()


# --- choosing points and reading the results (notebook 06) ---------------------------------------

def spread_points(num_units: int, k: int | None = None) -> list[int]:
    """``k`` partition points spread evenly from 0 (the stem) to ``num_units`` (both included);
    every point ``0..num_units`` when ``k`` is None or at least ``num_units + 1``."""
    if num_units < 0:
        raise ValueError(f"num_units must be >= 0, got {num_units}")
    if k is None or k >= num_units + 1:
        return list(range(num_units + 1))
    if k < 1:
        raise ValueError(f"need at least one partition point, got k={k}")
    if k == 1:
        return [num_units]
    return sorted({int(round(v)) for v in np.linspace(0, num_units, k)})


def results_frame(results: Sequence[AttackResult]) -> pd.DataFrame:
    """One row per attack (:meth:`AttackResult.row`), with ``ssim_gain`` = SSIM minus the SSIM
    of the mean training image (what an attacker who learnt nothing from the IR gets)."""
    df = pd.DataFrame([r.row() for r in results])
    if len(df):
        df["ssim_gain"] = df["ssim"] - df["baseline_ssim"]
    return df


def proxy_agreement(df: pd.DataFrame, by: Sequence[str] = ("model",), proxy: str = "privacy",
                    leak: str = "ssim") -> pd.DataFrame:
    """Does the proxy rank IRs as the attack does? Per group of ``by``: the number of IRs,
    Spearman's ρ between ``proxy`` (higher = more private) and ``leak`` (higher = more leakage)
    with its p-value, the same for PSNR, and the fraction of *discordant* pairs: pairs of IRs
    where the proxy calls one strictly more private while the attack recovers it strictly better
    (0 = perfect agreement, 0.5 = no relation, 1 = reversed). Agreement means ρ near −1."""
    from .analysis import spearman

    rows = []
    by = list(by)
    groups = df.groupby(by, sort=False) if by else [((), df)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        rho, pval = spearman(g[proxy], g[leak])
        rho_psnr, _ = spearman(g[proxy], g["psnr"]) if "psnr" in g else (float("nan"), None)
        pairs = discordant_pairs(g, proxy, leak)
        q, s = g[proxy].to_numpy(float), g[leak].to_numpy(float)
        comparable = int(sum((q[i] != q[j]) and (s[i] != s[j])
                             for i in range(len(g)) for j in range(i + 1, len(g))))
        rows.append({**dict(zip(by, key)), "irs": len(g), "rho_ssim": rho, "p_value": pval,
                     "rho_psnr": rho_psnr, "comparable_pairs": comparable,
                     "discordant_pairs": len(pairs),
                     "discordant_fraction": len(pairs) / comparable if comparable else float("nan")})
    return pd.DataFrame(rows)


def discordant_pairs(df: pd.DataFrame, proxy: str = "privacy", leak: str = "ssim",
                     label: str | None = None) -> pd.DataFrame:
    """Pairs of rows (IRs) on which proxy and attack disagree: ``more_private`` has the strictly
    higher ``proxy`` but also the strictly higher ``leak``. Sorted by the attack's gap (largest
    first); ``label`` names the column that identifies a row (default: the index)."""
    names = df[label].tolist() if label else df.index.tolist()
    q, s = df[proxy].to_numpy(float), df[leak].to_numpy(float)
    rows = []
    for i in range(len(df)):
        for j in range(len(df)):
            if q[i] > q[j] and s[i] > s[j]:
                rows.append({"more_private": names[i], "less_private": names[j],
                             "proxy_gap": q[i] - q[j], "leak_gap": s[i] - s[j]})
    out = pd.DataFrame(rows, columns=["more_private", "less_private", "proxy_gap", "leak_gap"])
    return out.sort_values("leak_gap", ascending=False, ignore_index=True)


def ssim_difference(a: AttackResult, b: AttackResult) -> tuple[float, float]:
    """SSIM of attack ``a`` minus that of ``b`` and the standard error of that difference,
    ``sqrt(sd_a²/n_a + sd_b²/n_b)``: exact for independent images; for the same test images
    (as :func:`run_attacks` uses) it is conservative when the two SSIMs are positively correlated."""
    se = math.sqrt(a.ssim_sd ** 2 / max(a.test_images, 1) + b.ssim_sd ** 2 / max(b.test_images, 1))
    return a.ssim - b.ssim, se


__all__ = ["Decoder", "build_decoder", "decoder_width", "ssim", "psnr", "policy_tag",
           "edge_model", "compute_unit_irs", "run_attacks", "train_decoder", "reconstruct", "evaluate_reconstruction",
           "AttackResult", "attacks_dir", "attack_paths", "attack_data", "run_attack",
           "load_samples", "load_decoder", "spread_points", "results_frame", "proxy_agreement",
           "discordant_pairs", "ssim_difference"]
