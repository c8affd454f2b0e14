"""Training and finetuning of the CIFAR models, with cached, resumable checkpoints.

A checkpoint lives at ``data/checkpoints/<profile>/<model>-<dataset>-seed<seed>.pt`` with its
metadata (architecture, data set and the data actually used, recipe, accuracy, seed, package
version) beside it as JSON. ``load_or_train`` reuses a matching checkpoint and refuses one whose
metadata disagree with the request. An interrupted training run resumes from its last epoch.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from pathlib import Path
from typing import Iterable

import torch
from torch import nn
from tqdm.auto import tqdm

from . import __version__, data, io, models
from .profiles import Profile, TrainRecipe, get_profile

log = logging.getLogger(__name__)


class CheckpointMismatch(RuntimeError):
    """A cached checkpoint was made for other settings than the ones requested."""


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def checkpoint_dir(root: str | Path | None = None) -> Path:
    """``root``, else ``$PAPERLIB_CHECKPOINT_DIR``, else the repository's ``data/checkpoints``.

    Kept apart from ``PAPERLIB_DATA_DIR``, which may point at a read-only copy of CIFAR."""
    return Path(root or os.environ.get("PAPERLIB_CHECKPOINT_DIR")
                or data.REPO_ROOT / "data" / "checkpoints").expanduser()


def checkpoint_path(model: str, profile: str, dataset: str, seed: int,
                    root: str | Path | None = None) -> Path:
    return checkpoint_dir(root) / profile / f"{model}-{dataset}-seed{seed}.pt"


@torch.no_grad()
def evaluate(net: nn.Module, ds: data.CifarArrays, batch_size: int = 256,
             device: torch.device | None = None) -> float:
    """Top-1 accuracy of ``net`` on ``ds``."""
    device = device or next(net.parameters()).device
    was_training = net.training
    net.eval()
    correct = 0
    for x, y in data.batches(ds, batch_size):
        correct += (net(x.to(device)).argmax(1).cpu() == y).sum().item()
    net.train(was_training)
    return correct / max(len(ds), 1)


def fit(net: nn.Module, batch_iter: Iterable[tuple[torch.Tensor, torch.Tensor]],
        optimizer: torch.optim.Optimizer, scheduler=None, *, label_smoothing: float = 0.0,
        device: torch.device | None = None, progress: tqdm | None = None) -> float:
    """One pass of SGD over ``batch_iter``; returns the mean training loss."""
    device = device or next(net.parameters()).device
    net.train()
    loss_fn = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    use_amp = device.type == "cuda"
    total, count = 0.0, 0
    for x, y in batch_iter:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
            loss = loss_fn(net(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total += loss.item() * len(y)
        count += len(y)
        if progress is not None:
            progress.update(1)
            progress.set_postfix(loss=f"{loss.item():.3f}")
    return total / max(count, 1)


def finetune(net: nn.Module, ds: data.CifarArrays, *, lr: float, momentum: float,
             batch_size: int = 128, max_batches: int | None = None, seed: int = 0) -> nn.Module:
    """The paper's quantization-loss finetune (SPEC §5): SGD at a fixed learning rate over one
    epoch of augmented training data, or over its first ``max_batches`` batches."""
    optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum)
    batch_iter = data.batches(ds, batch_size, shuffle=True, augment_images=True, seed=seed)
    if max_batches is not None:
        batch_iter = (b for _, b in zip(range(max_batches), batch_iter))
    fit(net, batch_iter, optimizer)
    return net.eval()


def training_data(model: str, prof: Profile, dataset: str | None = None, seed: int = 0,
                  allow_partial: bool | None = None) -> tuple[data.CifarArrays, data.CifarArrays]:
    """The (train, test) arrays a profile trains and evaluates ``model`` on."""
    dataset = dataset or prof.dataset_for(model)
    recipe = prof.recipe(model)
    train_ds = data.subset(data.load(dataset, "train", allow_partial=allow_partial),
                           recipe.train_images, seed)
    test_ds = data.subset(data.load(dataset, "test", allow_partial=allow_partial),
                          recipe.test_images, seed)
    return train_ds, test_ds


def _request(model: str, prof: Profile, dataset: str, seed: int, provenance: str) -> dict:
    return {"arch": model, "dataset": dataset, "num_classes": data.spec(dataset).num_classes,
            "profile": prof.name, "recipe": dataclasses.asdict(prof.recipe(model)), "seed": seed,
            "data": provenance}


def _check_meta(meta: dict, request: dict, path: Path) -> None:
    diff = {k: (meta.get(k), v) for k, v in request.items() if meta.get(k) != v}
    if diff:
        lines = "; ".join(f"{k}: checkpoint has {a!r}, requested {b!r}" for k, (a, b) in diff.items())
        raise CheckpointMismatch(
            f"the cached checkpoint {path} was made for other settings ({lines}). Delete it, or "
            "pass --retrain (retrain=True) to train afresh and replace it."
        )
    if meta.get("version") != __version__:
        log.warning("checkpoint %s was written by paperlib %s (this is %s)", path,
                    meta.get("version"), __version__)


def _train(net: nn.Module, recipe: TrainRecipe, train_ds: data.CifarArrays, seed: int,
           device: torch.device, state_path: Path, progress: bool, desc: str) -> float:
    """The training recipe: SGD (Nesterov, momentum 0.9) with a one-cycle learning rate.
    Saves its state after every epoch to ``state_path`` and resumes from it."""
    steps = -(-len(train_ds) // recipe.batch_size)
    optimizer = torch.optim.SGD(net.parameters(), lr=recipe.lr, momentum=0.9, nesterov=True,
                                weight_decay=recipe.weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=recipe.lr,
                                                    total_steps=steps * recipe.epochs)
    start, seconds = 0, 0.0
    if state_path.exists():
        state = torch.load(state_path, map_location=device, weights_only=False)
        net.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start, seconds = state["epoch"], state["seconds"]
        log.info("resuming %s from epoch %d", desc, start)
    bar = tqdm(total=steps * recipe.epochs, initial=steps * start, desc=desc, disable=not progress)
    for epoch in range(start, recipe.epochs):
        t0 = time.perf_counter()
        batch_iter = data.batches(train_ds, recipe.batch_size, shuffle=True, augment_images=True,
                                  seed=seed * 1000 + epoch)
        fit(net, batch_iter, optimizer, scheduler, label_smoothing=recipe.label_smoothing,
            device=device, progress=bar)
        seconds += time.perf_counter() - t0
        with io.atomic_path(state_path) as tmp:
            torch.save({"model": net.state_dict(), "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(), "epoch": epoch + 1,
                        "seconds": seconds}, tmp)
    bar.close()
    return seconds


def load_or_train(model: str, profile: str | Profile | None = None, *, dataset: str | None = None,
                  seed: int = 0, retrain: bool = False, device: torch.device | str | None = None,
                  allow_partial: bool | None = None, checkpoint_root: str | Path | None = None,
                  progress: bool = True) -> tuple[nn.Module, dict]:
    """A trained model for ``(model, profile, dataset, seed)`` in eval mode, and its metadata.

    Reuses the cached checkpoint when its metadata match the request, refuses it (with
    :class:`CheckpointMismatch`) when they do not, and trains (resuming if interrupted) otherwise.
    """
    prof = profile if isinstance(profile, Profile) else get_profile(profile)
    dataset = dataset or prof.dataset_for(model)
    models.architecture(model)  # a clear error for an unknown name
    device = torch.device(device) if device else default_device()
    train_ds, test_ds = training_data(model, prof, dataset, seed, allow_partial)
    request = _request(model, prof, dataset, seed, data.provenance(train_ds, test_ds))
    path = checkpoint_path(model, prof.name, dataset, seed, checkpoint_root)
    meta_path = path.with_suffix(".json")
    net = models.build(model, dataset)
    if path.exists() and meta_path.exists() and not retrain:
        meta = io.read_json(meta_path)
        _check_meta(meta, request, path)
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return net.to(device).eval(), meta
    torch.manual_seed(seed)
    net = models.build(model, dataset).to(device)
    state_path = path.with_suffix(".partial.pt")
    if retrain and state_path.exists():
        state_path.unlink()
    seconds = _train(net, prof.recipe(model), train_ds, seed, device, state_path, progress,
                     desc=f"train {model} ({prof.name})")
    accuracy = evaluate(net, test_ds, device=device)
    meta = {**request, "accuracy": accuracy, "train_seconds": round(seconds, 1),
            "device": str(device), "version": __version__,
            "date": time.strftime("%Y-%m-%dT%H:%M:%S")}
    with io.atomic_path(path) as tmp:
        torch.save({k: v.cpu() for k, v in net.state_dict().items()}, tmp)
    io.write_json(meta_path, meta)
    state_path.unlink(missing_ok=True)
    log.info("trained %s: top-1 %.4f in %.0f s", model, accuracy, seconds)
    return net.eval(), meta
