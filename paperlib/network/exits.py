"""Early exits by branch insertion (Tang et al. 2021, §5.4; docs/decisions/network.md §7).

Placement: the backbone's MACs (stem and blocks, ``paperlib.method.energy``) are cut into ``segments``
parts of similar compute; an exit goes after the block whose cumulative MACs are closest to each
``k / segments`` of the total (k = 1 .. segments - 1), and the model's own classifier is the last
exit. ResNet18 gets exits after blocks 2, 4, 6 (+ 8), MobileNet after blocks 4, 7, 10 (+ 13).

Head: average pooling to 2 x 2, flatten, one linear layer (``C * 4 -> classes``).

Training (our choice, stated): on the *frozen* backbone, each head alone, as a multinomial logistic
regression on the pooled features of the training images (full-batch L-BFGS, L2 penalty), not
Tang et al.'s bottom-up multi-round finetuning of backbone and branches: the partition strategies
of the paper are searched for the trained backbone, and finetuning it for exits would change the
very model they were searched on.

Cached with the checkpoint's metadata as fingerprint in
``results/<profile>/network/exits/<model>-<dataset>-seed<seed>.{pt,json,npz}``: the heads, their
measured top-1 on the profile's test split, and per test image each exit's correctness and
confidence (max softmax), which the simulation replays.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..infra import config, io, result_cache
from ..method import data, energy, models
from ..method.profiles import Profile, resolve_profile
from ..method import train


SEGMENTS: int = 4  # blocks of similar compute: 3 early exits + the model's classifier
POOLED_SIZE: int = 2  # exit head: average pooling to 2 x 2 ...
HEAD_L2: float = 1e-3  # L2 penalty of the logistic regression (per mean sample loss)
HEAD_LBFGS_STEPS: int = 150
BATCH: int = 256
FORMAT_VERSION = 1


def exit_points(net: nn.Module, segments: int = SEGMENTS) -> tuple[int, ...]:
    """Blocks after which an exit goes (1-based unit indices, increasing), the last being the
    model's own classifier after the final block (see the module docstring)."""
    if segments < 1:
        raise ValueError(f"segments must be >= 1, got {segments!r}")
    em = energy.EnergyModel.for_net(net)
    n = em.num_units
    per_unit = np.bincount(em.unit, weights=em.macs, minlength=n + 2)[: n + 1]
    cum = np.cumsum(per_unit)  # cum[p]: MACs of the stem and the first p blocks
    points = []
    for k in range(1, segments):
        p = int(np.argmin(np.abs(cum[1:n] - k * cum[n] / segments))) + 1  # an early exit: 1..n-1
        if not points or p > points[-1]:
            points.append(p)
    return (*points, n)


def unit_macs(net: nn.Module) -> np.ndarray:
    """MACs of the stem (index 0), every block (1..n) and the classifier (n + 1)."""
    em = energy.EnergyModel.for_net(net)
    return np.bincount(em.unit, weights=em.macs, minlength=em.num_units + 2)


class ExitHead(nn.Module):
    """Average pooling to ``POOLED_SIZE`` x ``POOLED_SIZE``, flatten, linear."""

    def __init__(self, channels: int, classes: int) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(POOLED_SIZE)
        self.fc = nn.Linear(channels * POOLED_SIZE ** 2, classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))

    @property
    def macs(self) -> int:
        """MACs of the linear layer (pooling is counted as free, like batch norm and ReLU)."""
        return self.fc.in_features * self.fc.out_features


@torch.no_grad()
def _pooled_and_logits(net: nn.Module, ds: data.CifarArrays, points: tuple[int, ...],
                       heads: dict[int, ExitHead] | None = None
                       ) -> tuple[dict[int, torch.Tensor], torch.Tensor]:
    """Pooled features at every early exit point and the model's own logits, over ``ds``."""
    pooled: dict[int, list[torch.Tensor]] = {p: [] for p in points[:-1]}
    logits = []
    pool = nn.AdaptiveAvgPool2d(POOLED_SIZE)
    device = next(net.parameters()).device
    _, classifier = models.split(net, models.num_units(net))  # the head, after the last block
    for x, _ in data.batches(ds, BATCH):
        outs = models.unit_outputs(net, x.to(device))
        for p in pooled:
            pooled[p].append(pool(outs[p]).flatten(1).cpu())
        logits.append(classifier(outs[-1]).cpu())
    return {p: torch.cat(v) for p, v in pooled.items()}, torch.cat(logits)


def fit_head(features: torch.Tensor, labels: torch.Tensor, classes: int, *, l2: float = HEAD_L2,
             steps: int = HEAD_LBFGS_STEPS, seed: int = 0) -> nn.Linear:
    """Multinomial logistic regression ``features -> classes`` by full-batch L-BFGS with an L2
    penalty on the weights (the exit head's linear layer)."""
    torch.manual_seed(seed)
    fc = nn.Linear(features.shape[1], classes)
    nn.init.zeros_(fc.weight)
    nn.init.zeros_(fc.bias)
    opt = torch.optim.LBFGS(fc.parameters(), lr=1.0, max_iter=steps, line_search_fn="strong_wolfe")
    loss_fn = nn.CrossEntropyLoss()

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = loss_fn(fc(features), labels) + l2 * fc.weight.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    return fc.eval()


@dataclass
class Exits:
    """The exits of one trained model and how each does on the profile's test split.

    ``points[k]``: the block after which exit ``k`` sits (the last is the model's classifier);
    ``correct[k, i]`` / ``confidence[k, i]``: exit ``k`` on test image ``i``; ``top1[k]`` =
    ``correct[k].mean()``; ``head_macs[k]``: MACs of its head (the model's classifier for the last).
    """

    model: str
    profile: str
    dataset: str
    data: str  # provenance of the test split
    points: tuple[int, ...]
    top1: tuple[float, ...]
    head_macs: tuple[int, ...]
    correct: np.ndarray
    confidence: np.ndarray
    labels: np.ndarray
    heads: dict[int, ExitHead]
    train_seconds: float = 0.0

    def table(self):
        """One row per exit: block, MACs to reach it on the device, measured top-1."""
        import pandas as pd

        return pd.DataFrame({"exit": range(1, len(self.points) + 1), "after_block": self.points,
                             "top1": self.top1, "head_macs": self.head_macs})


def exits_dir(profile: str) -> Path:
    return config.results_dir() / profile / "network" / "exits"


def _fingerprint(model: str, prof: Profile, meta: dict, points: tuple[int, ...]) -> dict:
    meta_hash = hashlib.sha256(json.dumps(meta, sort_keys=True, default=str).encode()).hexdigest()
    return io.json_safe({"model": model, "profile": prof.name, "checkpoint_meta_sha256": meta_hash,
                         "points": points, "pooled": POOLED_SIZE, "l2": HEAD_L2,
                         "steps": HEAD_LBFGS_STEPS, "version": FORMAT_VERSION})


def _splits(model: str, prof: Profile, dataset: str) -> tuple[data.CifarArrays, data.CifarArrays]:
    recipe = prof.recipe(model)
    train_ds = data.subset(data.load(dataset, "train"), recipe.train_images, 0)
    test_ds = data.subset(data.load(dataset, "test"), recipe.test_images, 0)
    return train_ds, test_ds


def load_or_train(model: str, profile: str | Profile | None = None, *, retrain: bool = False,
                  net: nn.Module | None = None, meta: dict | None = None) -> Exits:
    """The exits of ``model``'s checkpoint for ``profile`` (``train.load_or_train``), cached.

    ``net``/``meta`` may be passed when the caller already loaded the checkpoint."""
    prof = resolve_profile(profile)
    if net is None or meta is None:
        net, meta = train.load_or_train(model, prof)
    net.eval()
    dataset = meta.get("dataset") or prof.dataset_for(model)
    points = exit_points(net)
    fp = _fingerprint(model, prof, meta, points)
    folder = exits_dir(prof.name)
    stem = folder / f"{model}-{dataset}-seed0"
    paths = {ext: stem.with_suffix(f".{ext}") for ext in ("pt", "json", "npz")}
    classes = data.spec(dataset).num_classes
    saved = None if retrain else result_cache.load_json(paths["json"], fp,
                                                         companions=(paths["pt"], paths["npz"]))
    if saved is not None:
        arrays = np.load(paths["npz"])
        state = io.torch_load(paths["pt"], map_location="cpu", weights_only=True)
        heads = {}
        for p in points[:-1]:
            h = ExitHead(state[f"{p}.fc.weight"].shape[1] // POOLED_SIZE ** 2, classes)
            h.load_state_dict({k.split(".", 1)[1]: v for k, v in state.items()
                               if k.startswith(f"{p}.")})
            heads[p] = h.eval()
        return Exits(model, prof.name, dataset, saved["data"], tuple(saved["points"]),
                     tuple(saved["top1"]), tuple(saved["head_macs"]), arrays["correct"],
                     arrays["confidence"], arrays["labels"], heads, saved["train_seconds"])
    t0 = time.perf_counter()
    train_ds, test_ds = _splits(model, prof, dataset)
    feats, _ = _pooled_and_logits(net, train_ds, points)
    heads = {}
    for p, f in feats.items():
        head = ExitHead(f.shape[1] // POOLED_SIZE ** 2, classes)
        head.fc = fit_head(f, train_ds.labels, classes)
        heads[p] = head.eval()
    seconds = time.perf_counter() - t0
    test_feats, logits = _pooled_and_logits(net, test_ds, points)
    with torch.no_grad():
        probs = [torch.softmax(heads[p].fc(test_feats[p]), 1) for p in points[:-1]]
        probs.append(torch.softmax(logits, 1))
    labels = test_ds.labels.numpy()
    confidence = np.stack([pr.max(1).values.numpy() for pr in probs])
    correct = np.stack([(pr.argmax(1).numpy() == labels) for pr in probs]).astype(np.float64)
    head_macs = tuple(int(heads[p].macs) for p in points[:-1]) + (int(unit_macs(net)[-1]),)
    ex = Exits(model, prof.name, dataset, data.provenance(train_ds, test_ds), points,
               tuple(float(c.mean()) for c in correct), head_macs, correct, confidence, labels,
               heads, seconds)
    state = {f"{p}.{k}": v for p, h in heads.items() for k, v in h.state_dict().items()}
    with io.atomic_path(paths["pt"]) as tmp:
        torch.save(state, tmp)
    with io.atomic_path(paths["npz"]) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, correct=correct, confidence=confidence, labels=labels)
    result_cache.save_json(paths["json"], fp, {"data": ex.data, "points": list(points),
                                               "top1": list(ex.top1), "head_macs": list(head_macs),
                                               "train_seconds": round(seconds, 2)})
    return ex


__all__ = ["SEGMENTS", "exit_points", "unit_macs", "ExitHead", "fit_head", "Exits", "exits_dir",
           "load_or_train"]
