"""DataMix (Liu et al., ECCV 2020; our reading of its abstract, docs/decisions/defences.md §4).

The edge runs its layers on each of ``k`` images, mixes the ``k`` IRs with a secret invertible
``k × k`` matrix Λ whose rows are convex weights, redrawn for every request (every group of ``k``
images), and sends the ``k`` mixtures ``m = Λ v``. The cloud part, trained mixing-aware, returns
``k`` outputs ``o = f_c(m)``; the edge de-mixes them, ``ô = Λ⁻¹ o``. When ``f_c`` is linear,
``ô_j = f_c(v_j)`` exactly; the mixing-aware training makes the de-mixed outputs right for the
trained cloud. An attacker sees the mixtures only; Λ never leaves the edge.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from ..infra.progress import tqdm

from ..infra import config, io, result_cache
from ..method import data
from ..method.plateau import plateaued, train_until_plateau
from ..attacks.victim import SplitInfo, Victim
from .base import DEFENCES, Context, Defence, own_settings, replace_edge, training_record

MAX_CONDITION = 50.0  # a redrawn Λ is kept when its 2-norm condition number is at most this
MAX_DRAWS = 1000


@dataclass(frozen=True)
class DataMixSettings:
    """The budget of DataMix's mixing-aware cloud training (docs/decisions/defences.md §4, §12); a
    profile sets it as ``DefenceSettings.defences["datamix"]``."""

    epochs: int = 5  # at most this many mixing-aware epochs of the cloud part; fewer at a plateau
    images: int | None = None  # training images of that fine-tuning; None: all
    lr: float = 1e-3  # Adam
    batch_size: int = 64


def draw_mixing(k: int, generator: torch.Generator | None = None,
                max_condition: float = MAX_CONDITION) -> torch.Tensor:
    """A random ``k × k`` matrix with rows drawn uniformly from the simplex (Dirichlet(1): convex
    weights), redrawn until its condition number is at most ``max_condition`` (invertible and
    safe to de-mix in float32)."""
    if k < 1:
        raise ValueError(f"DataMix needs k >= 1 images per request, got k={k}")
    for _ in range(MAX_DRAWS):
        e = -torch.log(torch.rand(k, k, generator=generator, dtype=torch.float64).clamp_min(1e-12))
        lam = e / e.sum(dim=1, keepdim=True)
        if torch.linalg.cond(lam) <= max_condition:
            return lam
    raise RuntimeError(f"no k={k} mixing matrix with condition <= {max_condition} in {MAX_DRAWS} draws")


def mix(v: torch.Tensor, lam: torch.Tensor) -> torch.Tensor:
    """The mixtures ``m_i = Σ_j Λ_ij v_j`` of a group ``v`` (k, ...)."""
    flat = v.flatten(1)
    return (lam.to(flat.device, flat.dtype) @ flat).view_as(v)


def demix(o: torch.Tensor, lam: torch.Tensor) -> torch.Tensor:
    """``Λ⁻¹ o`` for the outputs ``o`` (k, ...) of the k mixtures."""
    flat = o.flatten(1).to(torch.float64)
    return torch.linalg.solve(lam.to(flat.device), flat).to(o.dtype).view_as(o)


def groups(n: int, k: int) -> list[slice]:
    """Consecutive groups of ``k`` of ``n`` items; a remainder joins the last full group (so no
    image is ever sent unmixed when ``n >= k``)."""
    starts = list(range(0, n - n % k if n >= k else n, k)) or [0]
    bounds = starts[1:] + [n]
    return [slice(a, b) for a, b in zip(starts, bounds) if b > a]


class MixingEdge(nn.Module):
    """The edge followed by the mixing: each group of ``k`` images of a batch gets a fresh Λ.
    ``last`` keeps the matrices of the latest call (never part of any attacker's view)."""

    def __init__(self, edge: nn.Module, k: int, seed: int = 0) -> None:
        super().__init__()
        self.edge, self.k = edge, int(k)
        self.generator = torch.Generator().manual_seed(seed)
        self.last: list[tuple[slice, torch.Tensor]] = []

    def forward(self, images01: torch.Tensor) -> torch.Tensor:
        v = self.edge(images01)
        out, self.last = [], []
        for g in groups(len(v), self.k):
            lam = draw_mixing(g.stop - g.start, self.generator)
            self.last.append((g, lam))
            out.append(mix(v[g], lam))
        return torch.cat(out)


def demix_batch(outputs: torch.Tensor, matrices: list[tuple[slice, torch.Tensor]]) -> torch.Tensor:
    """De-mix a batch of outputs group by group with the matrices :class:`MixingEdge` used."""
    return torch.cat([demix(outputs[g], lam) for g, lam in matrices])


def mixing_aware_loss(cloud: nn.Module, v: torch.Tensor, labels: torch.Tensor, k: int,
                      generator: torch.Generator) -> torch.Tensor:
    """Cross-entropy of the de-mixed outputs ``Λ⁻¹ f_c(Λ v)`` (a fresh Λ per group of ``k``; all
    mixtures of the batch go through the cloud in one pass)."""
    parts = [(g, draw_mixing(g.stop - g.start, generator).to(v.device, torch.float32))
             for g in groups(len(v), k)]
    o = cloud(torch.cat([mix(v[g], lam) for g, lam in parts]))
    return F.cross_entropy(torch.cat([torch.linalg.solve(lam, o[g]) for g, lam in parts]), labels)


def cloud_path(profile: str, key: str, k: int) -> Path:
    stem = key.replace("/", "-")
    return config.results_dir() / profile / "defences" / "datamix" / f"{stem}-k{k}.pt"


def train_cloud(victim: Victim, ctx: Context, k: int) -> tuple[nn.Module, dict[str, Any]]:
    """The cloud part fine-tuned mixing-aware with the context's :class:`DataMixSettings` (Adam
    at ``lr`` over ``images`` training images, seed ``ctx.seed``), epoch by epoch until its loss
    plateaus, at most ``epochs`` epochs (docs/decisions/defences.md §12), cached atomically per
    split, k, settings and checkpoint."""
    s: DataMixSettings = own_settings(ctx, DataMix.name)
    # "stop": trained until a plateau (defences.md §12), not a cache of a fixed-epoch training
    fp = io.json_safe({"key": victim.key, "k": k, "settings": asdict(s), "seed": ctx.seed,
                       "stop": "plateau",
                       "checkpoint": {n: ctx.meta.get(n) for n in ("accuracy", "date", "data", "seed")}})
    path = cloud_path(ctx.profile, victim.key, k)
    cloud = copy.deepcopy(victim.cloud_module)
    blob = result_cache.load_torch(path, fp)
    if blob is not None:
        cloud.load_state_dict(blob["state"])
        return cloud.eval(), blob["log"]
    train = data.subset(data.load(ctx.dataset, "train", allow_partial=ctx.allow_partial),
                        s.images, seed=ctx.seed)
    gen = torch.Generator().manual_seed(ctx.seed)
    for param in cloud.parameters():
        param.requires_grad_(True)
    opt = torch.optim.Adam(cloud.parameters(), lr=s.lr)
    per_epoch = max(1, math.ceil(len(train) / s.batch_size))
    bar = tqdm(total=per_epoch * s.epochs, desc=f"DataMix cloud k={k}", disable=not ctx.progress,
               dynamic_ncols=True)

    def epoch(_: int) -> dict[str, float]:
        cloud.train()
        total, n = 0.0, 0
        perm = torch.randperm(len(train), generator=gen)
        for start in range(0, len(train), s.batch_size):
            idx = perm[start:start + s.batch_size]
            with torch.no_grad():
                v = victim.edge_module(data.to_unit(train.images[idx]))
            loss = mixing_aware_loss(cloud, v, train.labels[idx].long(), k, gen)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, n = total + loss.item() * len(idx), n + len(idx)
            bar.update(1)
        return {"train_loss": total / max(n, 1)}

    # epoch by epoch until the loss plateaus, at most ``epochs`` (defences.md §12)
    run = train_until_plateau(epoch, s.epochs)
    bar.close()
    for param in cloud.parameters():
        param.requires_grad_(False)
    log = {"train_loss": run.curves["train_loss"], "images": len(train), "epochs": run.chunks,
           "max_epochs": s.epochs, "steps_per_epoch": per_epoch}
    result_cache.save_torch(path, fp, {"state": cloud.state_dict(), "log": log})
    return cloud.eval(), log


@DEFENCES.register("datamix", label="DataMix", color="C9", marker="P", sweep={"k": (2, 4)},
                   settings=DataMixSettings)
class DataMix(Defence):
    """``k`` IRs mixed with a secret convex invertible Λ per request; mixing-aware cloud;
    de-mixing on the edge."""

    name = "datamix"

    def __init__(self, k: int = 2, seed: int = 0, train: bool = True) -> None:
        if isinstance(k, bool) or not isinstance(k, int) or k < 2:
            raise ValueError(f"DataMix mixes k >= 2 images per request; got k={k!r}")
        self.k, self.seed, self.train = k, int(seed), bool(train)
        self.log: dict[str, Any] = {}

    def config(self) -> dict[str, Any]:
        return {"k": self.k, "seed": self.seed, "train": self.train}

    def tag(self) -> str:
        return f"datamix-k{self.k}" + ("" if self.train else "-untrained")

    def edge_macs(self, info: SplitInfo) -> float:
        """Per image: mixing, k MACs per IR element; de-mixing, k MACs per class score; solving
        with Λ (k³ per request of k images: k² per image); drawing Λ, k numbers per image."""
        k = self.k
        return float(k * math.prod(info.ir_shape) + k * info.num_classes + k * k + k)

    def converged(self) -> bool | None:
        """Whether the mixing-aware cloud's epoch losses reached a plateau (None: nothing trained)."""
        losses = self.log.get("train_loss")
        return None if not self.train or losses is None else plateaued(losses)

    def training(self) -> dict[str, Any] | None:
        """The mixing-aware training: epochs run of the budget, steps per epoch, the loss curve."""
        if not self.train or "train_loss" not in self.log:
            return None
        losses = self.log["train_loss"]
        return training_record("epoch", len(losses), self.log.get("max_epochs", len(losses)),
                               self.log.get("steps_per_epoch", 0), {"train_loss": losses})

    def sent_bits(self, info: SplitInfo) -> int:
        return 32  # mixtures of quantized IRs leave the quantization grid

    def apply(self, victim: Victim, context: Context | None = None) -> Victim:
        cloud = victim.cloud_module
        if self.train:
            if context is None:
                raise ValueError("DataMix trains its cloud part: pass a Context (or train=False)")
            cloud, self.log = train_cloud(victim, context, self.k)
        edge = MixingEdge(victim.edge_module, self.k, self.seed).eval()
        return replace_edge(victim, edge, self.tag(), cloud=cloud)

    def predict(self, defended: Victim, images01: torch.Tensor) -> torch.Tensor:
        edge: MixingEdge = defended.edge_module
        with torch.no_grad():
            out = defended.cloud_module(edge(images01))
            return demix_batch(out, edge.last)


__all__ = ["MAX_CONDITION", "DataMixSettings", "draw_mixing", "mix", "demix", "groups", "MixingEdge",
           "demix_batch",
           "mixing_aware_loss", "train_cloud", "DataMix"]
