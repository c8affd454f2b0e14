"""Privacy vs training progress, with a resolution control (docs/decisions/attacks.md §13).

Shared by the notebooks that measure privacy on trained models (01–03, 06, 08): how much of a
privacy number is a property of the training budget? For each model, the same architecture is
measured at random initialisation (epoch 0, from the training seed), at intermediate checkpoints
(:data:`~paperlib.method.profiles.AttackSettings.progress_fractions` of its recipe) and trained:

* P (Eq. 1, MSE) of the IR at each point, beside the P of non-learned maps of the same shape
  (:func:`paperlib.method.privacy_controls.resolution_control`: ``P_avgpool``, ``P_orthogonal``,
  ``P_beyond_shape``; docs/decisions/attacks.md §11);
* each attack's SSIM and PSNR and the worst case over them (docs/decisions/attacks.md §10).

The points: those an attack paper reported for the model (He et al.'s conv11, ReLU22, ReLU32 for
cifar10cnn), else three block points spread shallow … deep (``analysis.pick_points``).
:func:`learning_curves` and :func:`plot_learning_curves` show each checkpoint's per-epoch train
loss and test top-1 (docs/decisions/reporting.md §11).
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import pandas as pd
from torch import nn

from ..attacks import runner
from ..attacks.base import ATTACKS
from ..attacks.points import point_label
from ..attacks.worst_case import LEAK_METRICS, WORST, column, worst_case_table
from ..method import data, train
from ..method.constants import FULL_PRECISION
from ..method.privacy_controls import resolution_control
from ..method.profiles import AttackSettings, Profile, resolve_profile
from .analysis import pick_points
from .nb08_attacks import reported_points

UNTRAINED = "untrained"
TRAINED = "trained"
CONTROL_COLUMNS = ("P_avgpool", "P_orthogonal", "P_beyond_shape")


def progress_epochs(total: int, fractions: Sequence[float]) -> list[int]:
    """The epochs measured for a recipe of ``total`` epochs: 0 (random initialisation), each
    fraction of ``total`` rounded to an epoch, and ``total`` (trained); sorted, distinct."""
    if int(total) < 1:
        raise ValueError(f"total={total}: a training recipe has at least one epoch")
    bad = [f for f in fractions if not 0.0 <= float(f) <= 1.0]
    if bad:
        raise ValueError(f"progress_fractions must lie in [0, 1] (fractions of the recipe's epochs), got {bad}")
    return sorted({0, int(total), *(int(round(float(f) * int(total))) for f in fractions)})


def stage_label(epoch: int, total: int) -> str:
    """``untrained`` (epoch 0), ``trained`` (the last epoch) or ``epoch e/total``."""
    return UNTRAINED if epoch == 0 else TRAINED if epoch == total else f"epoch {epoch}/{total}"


def control_points(model: str, net: nn.Module) -> list[int]:
    """The points reported by an attack paper for ``model``, else three block points."""
    return reported_points(model) or pick_points(net, 3)


def _stage_rows(model: str, prof: Profile, net: nn.Module, meta: dict, epoch: int, total: int,
                points: Sequence[int], attacks: Sequence[str], settings: AttackSettings,
                images: int, allow_partial: bool | None, progress: bool) -> list[dict]:
    """One row per (point, attack) of one training stage, with the stage's P controls."""
    dataset = meta["dataset"]
    results = runner.run(model, prof, points, attacks=attacks, net=net, meta=meta, settings=settings,
                         images=images, dataset=dataset, allow_partial=allow_partial,
                         progress=progress, tag_suffix=f"-epoch{epoch}")
    adata = runner.attack_data(dataset, settings, images, allow_partial)
    x01 = data.to_unit(adata.test.images)
    irs = runner.compute_irs(net, FULL_PRECISION, points, adata.test.images, dataset)
    controls = {p: resolution_control(x01, irs[p].float()) for p in points}
    stage = {"model": model, "epoch": epoch, "of_epochs": total, "stage": stage_label(epoch, total),
             "top1": float(meta["accuracy"])}
    return [{**stage, "p": r.p, "split": point_label(model, r.p), "attack": r.attack,
             "ssim": r.ssim, "psnr": r.psnr, **controls[r.p]} for r in results]


def progress_table(models: Sequence[str], profile: str | Profile | None = None, *,
                   attacks: Sequence[str] | None = None, settings: AttackSettings | None = None,
                   images: int | None = None, allow_partial: bool | None = None,
                   progress: bool = False) -> pd.DataFrame:
    """Privacy vs training progress: one row per (model, training stage, point) with the stage's
    top-1, P and its resolution controls (:data:`CONTROL_COLUMNS`), each attack's SSIM and PSNR
    (``ssim_<attack>``) and the worst case over them (``ssim_worst``, ``ssim_worst_attack``).
    Every model has an ``untrained`` row per point. ``attacks``: default every registered one;
    ``images``: test images (default ``settings.images``). Attack results are cached per stage."""
    prof = resolve_profile(profile)
    settings = settings or prof.attack
    attacks = list(attacks or ATTACKS.names())
    images = settings.images if images is None else int(images)
    rows: list[dict] = []
    for model in models:
        total = prof.recipe(model).epochs
        epochs = progress_epochs(total, settings.progress_fractions)
        inner = [e for e in epochs if 0 < e < total]
        points: list[int] | None = None
        for epoch in epochs:
            net, meta = train.load_or_train_snapshot(model, prof, epoch, allow_partial=allow_partial,
                                                     progress=progress, snapshot_epochs=inner)
            points = points or control_points(model, net)
            rows += _stage_rows(model, prof, net, meta, epoch, total, points, attacks, settings,
                                images, allow_partial, progress)
    long = pd.DataFrame(rows)
    key = ["model", "epoch", "p"]
    stage = ["of_epochs", "stage", "top1", "split", "P", *CONTROL_COLUMNS]
    wide = worst_case_table(long, by=key, metrics=LEAK_METRICS)
    return long.drop_duplicates(key)[key + stage].merge(wide, on=key).reset_index(drop=True)


def plot_progress(table: pd.DataFrame, metric: str = "ssim") -> plt.Figure:
    """One panel per model: the worst-case ``metric`` (solid) and P (dashed, right axis) against
    the fraction of training done, one line per point; P of the average-pooled control dotted."""
    models = list(dict.fromkeys(table["model"]))
    fig, axes = plt.subplots(1, len(models), figsize=(4.2 * len(models), 3.4), squeeze=False)
    for ax, model in zip(axes[0], models):
        sub = table[table["model"] == model]
        right = ax.twinx()
        for i, (split, grp) in enumerate(sub.groupby("split", sort=False)):
            grp = grp.sort_values("epoch")
            frac = grp["epoch"] / grp["of_epochs"]
            colour = f"C{i}"
            ax.plot(frac, grp[column(metric, WORST)], "o-", color=colour, label=f"{split}")
            right.plot(frac, grp["P"], "s--", color=colour, alpha=0.7)
            right.plot(frac, grp["P_avgpool"], ":", color=colour, alpha=0.7)
        ax.set_title(model)
        ax.set_xlabel("fraction of the training recipe (0 = random init)")
        ax.set_ylabel(f"worst-case {metric.upper()} (solid)")
        right.set_ylabel("P (dashed), P of avg-pooled input (dotted)")
        ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def learning_curves(metas: dict[str, dict]) -> pd.DataFrame:
    """One row per (model, epoch) of each checkpoint's recorded curve (``train.learning_curve``);
    a model whose checkpoint recorded none has no rows (not recorded, not zero)."""
    rows = [{"model": m, **r} for m, meta in metas.items() for r in train.learning_curve(meta)]
    return pd.DataFrame(rows, columns=["model", "epoch", "train_loss", "test_top1"])


def plot_learning_curves(curves: pd.DataFrame) -> plt.Figure:
    """Train loss (left) and test top-1 (right) per epoch, one line per model."""
    fig, (loss_ax, top1_ax) = plt.subplots(1, 2, figsize=(9, 3.4))
    for model, grp in curves.groupby("model", sort=False):
        loss_ax.plot(grp["epoch"], grp["train_loss"], "o-", label=model)
        top1_ax.plot(grp["epoch"], grp["test_top1"], "o-", label=model)
    loss_ax.set(xlabel="epoch", ylabel="mean train loss")
    top1_ax.set(xlabel="epoch", ylabel="test top-1")
    top1_ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


__all__ = ["UNTRAINED", "TRAINED", "CONTROL_COLUMNS", "progress_epochs", "stage_label",
           "control_points", "progress_table", "plot_progress", "learning_curves",
           "plot_learning_curves"]
