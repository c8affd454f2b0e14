"""Training and finetuning of the CIFAR models, with cached, resumable, verified checkpoints.

A checkpoint is ``<checkpoint_dir>/<profile>/<model>-<dataset>-seed<seed>.json``: its metadata
(architecture, data set and the data actually used, recipe, accuracy, seed, package version, and the
name and sha256 of its weights file beside it; layout in :mod:`paperlib.infra.checkpoint`).
``load_or_train`` reuses a matching checkpoint after checking the hash of its weights, refuses one
whose metadata disagree with the request, that is damaged or that an older paperlib wrote (each with
an error that names the file and the way out), and trains otherwise. An interrupted training run
resumes from its last epoch and says so. Decisions: docs/decisions/data-integrity.md §2–§3.

Training progress (docs/decisions/attacks.md §13): :func:`load_or_train_snapshot` gives the model
after ``epoch`` epochs of its recipe (0: the random initialisation the training starts from,
deterministic from the seed; the recipe's last epoch: the trained checkpoint); intermediate ones are
checkpoints of their own (``<profile>/snapshots/<stem>-epoch<e>.json``, same atomic commit and
sha256 check). Every training records its learning curve (train loss and test top-1 per epoch) in
the metadata (``curve``; absent in checkpoints written before: not recorded, :func:`learning_curve`).
"""

from __future__ import annotations

import dataclasses
import io as _bytes_io
import logging
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Callable, Iterable, Sequence

import torch
from torch import nn
from ..infra.progress import tqdm

from .. import __version__
from ..infra import config, io
from . import data, graph, models
from .device import FP32, plan_for, resident, resolve
from ..infra.checkpoint import (CheckpointCorrupted, CheckpointError, CheckpointFiles, CheckpointMismatch, LegacyCheckpoint)
from ..infra import checkpoint as ckpt
from .profiles import RECIPE_FIELDS_SINCE_CURVES, Profile, TrainRecipe, resolve_profile

log = logging.getLogger(__name__)


POSTFIX_EVERY = 20  # steps between loss read-outs on the progress bar (each one waits for the GPU)


def default_device() -> torch.device:
    """``$PAPERLIB_DEVICE``, else CUDA when present, else the CPU (:func:`paperlib.method.device.resolve`)."""
    return resolve()


def checkpoint_dir(root: str | Path | None = None) -> Path:
    """``root``, else ``$PAPERLIB_CHECKPOINT_DIR``, else the repository's ``data/checkpoints``."""
    return config.checkpoint_dir(root)


def checkpoint_path(model: str, profile: str, dataset: str, seed: int,
                    root: str | Path | None = None) -> Path:
    """The checkpoint's metadata file ``<dir>/<profile>/<model>-<dataset>-seed<seed>.json``, which
    names its weights file (``paperlib.infra.checkpoint``). A user's model adds ``-arch<digest>``,
    its traced architecture: an edited model file gets a checkpoint of its own
    (docs/decisions/graph-and-hardware.md §9)."""
    return (checkpoint_dir(root) / profile
            / f"{model}-{dataset}-seed{seed}{architecture_tag(model, dataset)}.json")


def architecture_tag(model: str, dataset: str) -> str:
    """``-arch<first 12 hex digits of its architecture digest>`` for a user's model, else ``""``."""
    if models.MODELS.entry(model).meta.get("family") != "user":
        return ""
    with torch.device("meta"):
        net = models.build(model, dataset)
    return "-arch" + graph.architecture_digest(net)[:12]


SNAPSHOTS = "snapshots"  # the folder of intermediate checkpoints, beside the final ones


def snapshot_path(model: str, profile: str, dataset: str, seed: int, epoch: int,
                  root: str | Path | None = None) -> Path:
    """The metadata file of the checkpoint after ``epoch`` epochs:
    ``<dir>/<profile>/snapshots/<stem>-epoch<epoch>.json`` (``<stem>`` as :func:`checkpoint_path`)."""
    final = checkpoint_path(model, profile, dataset, seed, root)
    return final.parent / SNAPSHOTS / f"{final.stem}-epoch{int(epoch)}.json"


def _report_other_architectures(files: CheckpointFiles, model: str) -> None:
    """Say that a user's model changed since its earlier checkpoints (kept, not reused)."""
    others = sorted(p.name for p in files.folder.glob(f"{model}-*-arch*.json") if p != files.meta)
    if others and not files.meta.exists():
        log.warning("%s has no checkpoint for its current architecture (its file changed since %s, "
                    "kept beside it): training %s", model, ", ".join(others), files.meta.name)


@torch.no_grad()
def correct(net: nn.Module, ds: data.CifarArrays, batch_size: int = 256,
            device: torch.device | None = None) -> torch.Tensor:
    """Whether ``net`` classifies each image of ``ds`` right: a bool tensor on the CPU, one entry
    per image in ``ds``'s order (float32; the images kept on ``net``'s device,
    docs/decisions/scale.md §6). What a paired difference of two networks needs
    (docs/decisions/paper-method.md §9)."""
    device = device or next(net.parameters()).device
    plan = plan_for(device)
    plan.prepare(net)
    was_training = net.training
    net.eval()
    hits = [net(plan.input(x)).argmax(1) == y
            for x, y in data.batches(resident(ds, device), batch_size)]
    net.train(was_training)
    return torch.cat(hits).cpu() if hits else torch.zeros(0, dtype=torch.bool)


def top1(net: nn.Module, ds: data.CifarArrays, batch_size: int = 256,
         device: torch.device | None = None) -> float:
    """Top-1 accuracy of ``net`` on ``ds``: the mean of :func:`correct`."""
    return int(correct(net, ds, batch_size, device).sum()) / max(len(ds), 1)


def fit(net: nn.Module, batch_iter: Iterable[tuple[torch.Tensor, torch.Tensor]],
        optimizer: torch.optim.Optimizer, scheduler=None, *, label_smoothing: float = 0.0,
        device: torch.device | None = None, progress: tqdm | None = None,
        forward: Callable[[torch.Tensor], torch.Tensor] | None = None,
        float32: bool = False) -> float:
    """One pass of SGD over ``batch_iter``; returns the mean training loss. The device's plan
    (:func:`paperlib.method.device.plan_for`: bf16 autocast and channels-last on CUDA, bf16 autocast
    on the CPU when ``$PAPERLIB_CPU_BF16`` asks for it) applies, without its
    autocast when ``float32``; ``forward``: ``net`` as :meth:`DevicePlan.compiled` returned it
    (default ``net``)."""
    device = device or next(net.parameters()).device
    plan = plan_for(device)
    if float32:
        plan = dataclasses.replace(plan, autocast=False)
    plan.prepare(net)
    forward = forward or net
    net.train()
    loss_fn = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    total = torch.zeros((), dtype=torch.float64, device=device)  # read once, at the end
    count = 0
    for x, y in batch_iter:
        x, y = plan.input(x.to(device, non_blocking=True)), y.to(device, non_blocking=True)
        with plan.autocast_context():
            loss = loss_fn(forward(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total += loss.detach().double() * len(y)
        count += len(y)
        if progress is not None:
            progress.update(1)
            if not progress.disable and progress.n % POSTFIX_EVERY == 0:
                progress.set_postfix(loss=f"{loss.item():.3f}")
    return float(total) / max(count, 1)


def finetune(net: nn.Module, ds: data.CifarArrays, *, lr: float, momentum: float,
             batch_size: int = 128, max_batches: int | None = None, seed: int = 0) -> nn.Module:
    """The paper's quantization-loss finetune (docs/decisions/paper-method.md §5): SGD at a fixed
    learning rate over one epoch of augmented training data, or over its first ``max_batches``
    batches. Always in float32: it is part of ε's measurement, which must not depend on the CPU's
    instructions (docs/decisions/scale.md §6)."""
    optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum)
    device = next(net.parameters()).device
    batch_iter = data.batches(resident(ds, device), batch_size, shuffle=True,
                                augment_images=True, seed=seed)
    if max_batches is not None:
        batch_iter = (b for _, b in zip(range(max_batches), batch_iter))
    fit(net, batch_iter, optimizer, float32=True)
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


def recipe_record(recipe: TrainRecipe) -> dict:
    """The recipe as a checkpoint records it: every field, except those added since checkpoints
    recorded recipes when they hold their former behaviour (``RECIPE_FIELDS_SINCE_CURVES``), so
    that older checkpoints stay valid (docs/decisions/reporting.md §12)."""
    return {k: v for k, v in dataclasses.asdict(recipe).items()
            if not (k in RECIPE_FIELDS_SINCE_CURVES and v == RECIPE_FIELDS_SINCE_CURVES[k])}


def lr_schedule(optimizer: torch.optim.Optimizer, recipe: TrainRecipe,
                steps_per_epoch: int) -> torch.optim.lr_scheduler.LRScheduler:
    """The recipe's per-step learning-rate schedule: one-cycle peaking at ``recipe.lr``, or cosine
    annealing from ``recipe.lr`` to 0 over every step of the recipe."""
    total = steps_per_epoch * recipe.epochs
    if recipe.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=recipe.lr, total_steps=total)


def _request(model: str, prof: Profile, dataset: str, seed: int, provenance: str) -> dict:
    return {"arch": model, "dataset": dataset, "num_classes": data.spec(dataset).num_classes,
            "profile": prof.name, "recipe": recipe_record(prof.recipe(model)), "seed": seed,
            "data": provenance}


def recorded_precision(meta: dict) -> str:
    """The precision of a checkpoint's gradient steps: its ``precision``, else (written before it
    was recorded) float32 on a CPU and bf16 autocast on CUDA (docs/decisions/scale.md §6)."""
    if meta.get("precision"):
        return meta["precision"]
    return "bf16-autocast" if str(meta.get("device", "cpu")).startswith("cuda") else FP32


def _note_precision(meta: dict, device: torch.device, path: Path, doing: str) -> None:
    """Warn when a checkpoint was trained in another precision than this run's plan: it is reused
    all the same (precision is provenance, not a key: scale.md §6)."""
    made, now = recorded_precision(meta), plan_for(device).precision
    if made != now:
        log.warning("%s was trained in %s; %s in %s (PAPERLIB_CPU_BF16 decides; precision is not "
                    "part of the checkpoint's key)", config.shown_path(path), made, doing, now)


def _check_meta(meta: dict, request: dict, path: Path) -> None:
    diff = {k: (meta.get(k), v) for k, v in request.items() if meta.get(k) != v}
    if diff:
        lines = "; ".join(f"{k}: checkpoint has {a!r}, requested {b!r}" for k, (a, b) in diff.items())
        raise CheckpointMismatch(
            f"the cached checkpoint {path} was made for other settings ({lines}). Delete it, or "
            "train afresh and replace it with `paperlib train --model ... --retrain` "
            "(load_or_train(retrain=True))."
        )
    if meta.get("version") != __version__:
        log.warning("checkpoint %s was written by paperlib %s (this is %s)", config.shown_path(path),
                    meta.get("version"), __version__)


def _load_state(state_path: Path, request: dict, device: torch.device) -> dict | None:
    """The saved state of an interrupted training for ``request`` (None when there is none)."""
    if not state_path.exists():
        return None
    state = io.torch_load(state_path, fix="delete it to restart this training from epoch 0",
                          map_location=device, weights_only=False)
    saved = state.get("request") if isinstance(state, dict) else None
    if saved is not None and saved != request:
        raise CheckpointMismatch(
            f"{state_path} holds an interrupted training for other settings; delete it, or "
            "train afresh with `paperlib train --model ... --retrain` (retrain=True)")
    return state


def _train(net: nn.Module, recipe: TrainRecipe, train_ds: data.CifarArrays, seed: int,
           device: torch.device, state_path: Path, progress: bool, desc: str,
           request: dict | None = None, *, test_ds: data.CifarArrays | None = None,
           stop_after: int | None = None,
           on_epoch: Callable[[int, nn.Module, dict, str], None] | None = None
           ) -> tuple[float, dict, str]:
    """The training recipe: SGD (Nesterov, momentum 0.9) with its learning-rate schedule
    (:func:`lr_schedule`).
    Saves its state after every epoch to ``state_path`` and resumes from it. Returns the seconds of
    training, the learning curve (per epoch: mean train loss, and top-1 on ``test_ds`` when given)
    and the precision of its gradient steps (``"mixed"`` when a resume changed it). ``stop_after``:
    stop after that many epochs (the schedule stays the recipe's, so the weights are those the full
    training has at that epoch); ``on_epoch(epoch, net, curve, precision)`` runs after each
    epoch (the intermediate checkpoints), with the training's precision so far."""
    steps = -(-len(train_ds) // recipe.batch_size)
    optimizer = torch.optim.SGD(net.parameters(), lr=recipe.lr, momentum=0.9, nesterov=True,
                                weight_decay=recipe.weight_decay)
    scheduler = lr_schedule(optimizer, recipe, steps)
    start, seconds = 0, 0.0
    curve: dict[str, list] = {"epoch": [], "train_loss": [], "test_top1": []}
    plan = plan_for(device)
    precision = plan.precision
    state = _load_state(state_path, request, device)
    if state is not None:
        net.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start, seconds = state["epoch"], state["seconds"]
        curve = state.get("curve") or curve
        log.warning("%s: resuming from epoch %d of %d (the state an interrupted run saved in %s)",
                    desc, start, recipe.epochs, config.shown_path(state_path))
        # a state saved before precisions were recorded: the device's precision of that time
        before = state.get("precision", recorded_precision({"device": str(device)}))
        if before != precision:
            log.warning("%s: the interrupted run trained in %s, this one in %s: the checkpoint "
                        "records 'mixed'", desc, before, precision)
            precision = "mixed"
    bar = tqdm(total=steps * recipe.epochs, initial=steps * start, desc=desc, disable=not progress)
    forward = plan.compiled(plan.prepare(net))  # compiled once for every epoch (scale.md §6)
    train_on_device = resident(train_ds, device)
    end = recipe.epochs if stop_after is None else min(int(stop_after), recipe.epochs)
    for epoch in range(start, end):
        t0 = time.perf_counter()
        batch_iter = data.batches(train_on_device, recipe.batch_size, shuffle=True,
                                    augment_images=recipe.augment, seed=seed * 1000 + epoch)
        loss = fit(net, batch_iter, optimizer, scheduler, label_smoothing=recipe.label_smoothing,
                   device=device, progress=bar, forward=forward)
        seconds += time.perf_counter() - t0
        curve["epoch"].append(epoch + 1)
        curve["train_loss"].append(loss)
        curve["test_top1"].append(top1(net, test_ds, device=device) if test_ds is not None
                                  else float("nan"))
        with io.atomic_path(state_path) as tmp:
            torch.save({"model": net.state_dict(), "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(), "epoch": epoch + 1,
                        "seconds": seconds, "request": request, "curve": curve,
                        "precision": precision}, tmp)
        if on_epoch is not None:
            on_epoch(epoch + 1, net, curve, precision)
    bar.close()
    return seconds, curve, precision


def load_or_train(model: str, profile: str | Profile | None = None, *, dataset: str | None = None,
                  seed: int = 0, retrain: bool = False, device: torch.device | str | None = None,
                  allow_partial: bool | None = None, checkpoint_root: str | Path | None = None,
                  progress: bool = True,
                  snapshot_epochs: Sequence[int] = ()) -> tuple[nn.Module, dict]:
    """A trained model for ``(model, profile, dataset, seed)`` in eval mode, and its metadata.
    When it trains, it also saves the intermediate checkpoints after each of ``snapshot_epochs``
    (:func:`load_or_train_snapshot` reuses them; those already on disk are kept).

    Reuses the cached checkpoint when its metadata match the request and its weights their
    sha256; refuses it when they do not (:class:`CheckpointMismatch`, :class:`CheckpointCorrupted`,
    :class:`LegacyCheckpoint`, ``io.DamagedFileError``: each names the file and the way out); trains
    (resuming if interrupted) when there is none or ``retrain``. One process at a time trains a
    checkpoint (others wait), and the leftovers of a killed run are removed first.
    """
    prof = resolve_profile(profile)
    dataset = dataset or prof.dataset_for(model)
    models.architecture(model)  # a clear error for an unknown name
    device = resolve(device)
    train_ds, test_ds = training_data(model, prof, dataset, seed, allow_partial)
    request = _request(model, prof, dataset, seed, data.provenance(train_ds, test_ds))
    files = CheckpointFiles(checkpoint_path(model, prof.name, dataset, seed, checkpoint_root))
    with ckpt.locked(files) as writable:
        if writable:
            ckpt.clean_leftovers(files)
        _report_other_architectures(files, model)
        if files.meta.exists() and not retrain:
            meta = ckpt.read_meta(files)
            _check_meta(meta, request, files.meta)
            net = models.build(model, dataset)
            net.load_state_dict(ckpt.load_weights(files, meta))
            _note_precision(meta, device, files.meta, "this run computes")
            if files.partial.exists():
                log.warning("ignoring %s, an interrupted training beside the complete checkpoint "
                            "%s; delete it to free the space", config.shown_path(files.partial),
                            config.shown_path(files.meta))
            return net.to(device).eval(), meta
        torch.manual_seed(seed)
        net = models.build(model, dataset).to(device)
        if retrain:
            files.partial.unlink(missing_ok=True)
        with ExitStack() as stack:
            save_snapshot = _snapshot_saver(stack, model, prof, dataset, seed, checkpoint_root,
                                            request, snapshot_epochs, device)
            seconds, curve, precision = _train(
                net, prof.recipe(model), train_ds, seed, device, files.partial, progress,
                desc=f"train {model} ({prof.name}, {plan_for(device).precision})", request=request,
                test_ds=test_ds, on_epoch=save_snapshot)
        accuracy = top1(net, test_ds, device=device)
        meta = {**request, "accuracy": accuracy, "train_seconds": round(seconds, 1),
                "device": str(device), "precision": precision,
                "version": __version__,
                "date": time.strftime("%Y-%m-%dT%H:%M:%S"), "curve": curve}
        meta = ckpt.save(files, net.state_dict(), meta)
        files.partial.unlink(missing_ok=True)
    log.info("trained %s: top-1 %.4f in %.0f s", model, accuracy, seconds)
    return net.eval(), meta


def _snapshot_request(request: dict, epoch: int) -> dict:
    return {**request, "epoch": int(epoch)}


def _snapshot_saver(stack: ExitStack, model: str, prof: Profile, dataset: str, seed: int,
                    root: str | Path | None, request: dict, epochs: Sequence[int],
                    device: torch.device) -> Callable[[int, nn.Module, dict], None] | None:
    """``on_epoch`` for :func:`_train` that commits the intermediate checkpoint after each of
    ``epochs`` that is not on disk yet, holding their locks (taken in epoch order) in ``stack``."""
    wanted: dict[int, CheckpointFiles] = {}
    for e in sorted({int(e) for e in epochs if 0 < int(e) < prof.recipe(model).epochs}):
        files = CheckpointFiles(snapshot_path(model, prof.name, dataset, seed, e, root))
        files.folder.mkdir(parents=True, exist_ok=True)
        if stack.enter_context(ckpt.locked(files)):
            ckpt.clean_leftovers(files)
            if not files.meta.exists():
                wanted[e] = files
    if not wanted:
        return None

    def save(epoch: int, net: nn.Module, curve: dict, precision: str) -> None:
        if epoch in wanted:
            ckpt.save(wanted[epoch], net.state_dict(),
                      {**_snapshot_request(request, epoch), "accuracy": curve["test_top1"][-1],
                       "of_epochs": prof.recipe(model).epochs, "device": str(device),
                       "precision": precision,
                       "version": __version__, "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
                       "curve": {k: list(v) for k, v in curve.items()}})

    return save


def load_or_train_snapshot(model: str, profile: str | Profile | None = None, epoch: int = 0, *,
                           dataset: str | None = None, seed: int = 0,
                           device: torch.device | str | None = None,
                           allow_partial: bool | None = None,
                           checkpoint_root: str | Path | None = None, progress: bool = True,
                           snapshot_epochs: Sequence[int] = ()) -> tuple[nn.Module, dict]:
    """The model after ``epoch`` epochs of its profile's recipe, in eval mode, and its metadata
    (with ``epoch``; docs/decisions/attacks.md §13).

    ``epoch`` 0 is the random initialisation :func:`load_or_train` starts from (built from the seed
    every time, not stored; its ``accuracy`` is measured); the recipe's last epoch is the trained
    checkpoint of :func:`load_or_train`; any other epoch is an intermediate checkpoint, reused when
    on disk (checked as a final one is), else trained from the seed up to ``epoch`` along the full
    recipe's schedule (saving also those of ``snapshot_epochs`` it passes)."""
    prof = resolve_profile(profile)
    dataset = dataset or prof.dataset_for(model)
    epochs = prof.recipe(model).epochs
    if not 0 <= int(epoch) <= epochs:
        raise ValueError(f"epoch={epoch} is outside the recipe of {model!r} in profile "
                         f"{prof.name!r}, which trains {epochs} epochs: pick 0 … {epochs}")
    epoch = int(epoch)
    if epoch == epochs:
        net, meta = load_or_train(model, prof, dataset=dataset, seed=seed, device=device,
                                  allow_partial=allow_partial, checkpoint_root=checkpoint_root,
                                  progress=progress, snapshot_epochs=snapshot_epochs)
        return net, {**meta, "epoch": epoch}
    device = resolve(device)
    train_ds, test_ds = training_data(model, prof, dataset, seed, allow_partial)
    request = _request(model, prof, dataset, seed, data.provenance(train_ds, test_ds))
    if epoch == 0:
        torch.manual_seed(seed)
        net = models.build(model, dataset).to(device).eval()
        return net, {**_snapshot_request(request, 0), "accuracy": top1(net, test_ds, device=device),
                     "of_epochs": epochs}
    files = CheckpointFiles(snapshot_path(model, prof.name, dataset, seed, epoch, checkpoint_root))
    files.folder.mkdir(parents=True, exist_ok=True)
    with ckpt.locked(files) as writable:
        if writable:
            ckpt.clean_leftovers(files)
        if files.meta.exists():
            meta = ckpt.read_meta(files)
            _check_meta(meta, _snapshot_request(request, epoch), files.meta)
            net = models.build(model, dataset)
            net.load_state_dict(ckpt.load_weights(files, meta))
            _note_precision(meta, device, files.meta, "this run computes")
            return net.to(device).eval(), meta
    final = CheckpointFiles(checkpoint_path(model, prof.name, dataset, seed, checkpoint_root))
    if final.meta.exists():
        _note_precision(ckpt.read_meta(final), device, final.meta,
                        f"its epoch-{epoch} checkpoint is trained now")
    others = [e for e in snapshot_epochs if int(e) != epoch]
    with ExitStack() as stack:
        save_snapshot = _snapshot_saver(stack, model, prof, dataset, seed, checkpoint_root,
                                        request, [epoch, *others], device)
        torch.manual_seed(seed)
        net = models.build(model, dataset).to(device)
        _train(net, prof.recipe(model), train_ds, seed, device, files.partial, progress,
               desc=f"train {model} to epoch {epoch} ({prof.name})", request=request,
               test_ds=test_ds, stop_after=max(int(e) for e in [epoch, *others] if int(e) < epochs),
               on_epoch=save_snapshot)
    files.partial.unlink(missing_ok=True)
    return load_or_train_snapshot(model, prof, epoch, dataset=dataset, seed=seed, device=device,
                                  allow_partial=allow_partial, checkpoint_root=checkpoint_root,
                                  progress=progress)


def learning_curve(meta: dict) -> "list[dict]":
    """The per-epoch rows ``{"epoch", "train_loss", "test_top1"}`` a checkpoint's metadata record
    (``[]`` for a checkpoint written before curves were recorded: not recorded, not zero)."""
    curve = meta.get("curve") or {}
    keys = ("epoch", "train_loss", "test_top1")
    if not curve:
        return []
    if any(k not in curve for k in keys) or len({len(curve[k]) for k in keys}) != 1:
        raise ValueError(f"the checkpoint metadata's 'curve' must hold equally long lists {keys}; "
                         f"got {sorted(curve)}: retrain the checkpoint to record it afresh")
    return [dict(zip(keys, row)) for row in zip(*(curve[k] for k in keys))]


def adopt_checkpoint(path: str | Path, *, profile: str | Profile | None = None,
                     allow_partial: bool | None = None, device: torch.device | str | None = None,
                     tolerance_images: int = 1) -> dict:
    """Record the sha256 of a checkpoint written by an older paperlib (``<stem>.pt`` beside
    metadata without a hash) that **you vouch for**, so that ``load_or_train`` accepts it.

    It is refused unless the weights load into the architecture the metadata name, are finite,
    the metadata match what the profile (default: the one they name) would train today (recipe,
    data provenance, seed), and the top-1 accuracy re-measured on the profile's test split is the
    one recorded, within ``tolerance_images`` images. Flipped bytes that change no prediction
    cannot be detected this way: that is what vouching means (docs/decisions/data-integrity.md
    §3). The metadata keep an ``adopted`` entry (date, re-measured accuracy, former file).
    ``path``: the legacy ``.pt`` or its ``.json``. Returns the new metadata.
    """
    files = CheckpointFiles.of(path)
    with ckpt.locked(files):
        meta = io.read_json(files.meta, fix=files.retrain_fix())
        if "sha256" in meta:
            raise ValueError(f"{files.meta} already records the sha256 of its weights; "
                             "there is nothing to adopt")
        legacy = files.legacy_weights
        payload = legacy.read_bytes()
        state = io.torch_load(_bytes_io.BytesIO(payload), name=str(legacy),
                              fix=files.retrain_fix(), map_location="cpu", weights_only=True)
        prof = resolve_profile(profile or meta.get("profile"))
        model, dataset, seed = meta["arch"], meta["dataset"], meta["seed"]
        net = models.build(model, dataset)
        net.load_state_dict(state)  # strict: another architecture is refused here
        if not all(torch.isfinite(t).all() for t in state.values() if t.is_floating_point()):
            raise CheckpointCorrupted(f"{legacy} holds non-finite weights; {files.retrain_fix()}")
        train_ds, test_ds = training_data(model, prof, dataset, seed, allow_partial)
        _check_meta(meta, _request(model, prof, dataset, seed, data.provenance(train_ds, test_ds)),
                    files.meta)
        device = resolve(device)
        accuracy = top1(net.to(device), test_ds, device=device)
        if abs(accuracy - float(meta["accuracy"])) * len(test_ds) > tolerance_images + 1e-9:
            raise CheckpointMismatch(
                f"{legacy} scores top-1 {accuracy:.4f} on {len(test_ds)} test images, but "
                f"{files.meta} records accuracy {meta['accuracy']:.4f}: the weights do not match "
                f"their metadata and cannot be adopted; {files.retrain_fix()}")
        adopted = {"date": time.strftime("%Y-%m-%dT%H:%M:%S"), "accuracy": accuracy,
                   "from": legacy.name, "version": __version__}
        meta = ckpt.commit(files, payload, {**meta, "adopted": adopted})
    log.warning("adopted %s: top-1 %.4f re-measured, sha256 %s recorded in %s",
                config.shown_path(legacy), accuracy, meta["sha256"][:16], config.shown_path(files.meta))
    return meta


__all__ = ["CheckpointError", "CheckpointMismatch", "CheckpointCorrupted", "LegacyCheckpoint",
           "default_device", "checkpoint_dir", "checkpoint_path", "top1", "correct", "fit", "finetune",
           "training_data", "load_or_train", "adopt_checkpoint", "snapshot_path",
           "load_or_train_snapshot", "learning_curve", "SNAPSHOTS", "recipe_record",
           "lr_schedule", "recorded_precision"]
