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
cifar10cnn), else three block points spread shallow … deep (``analysis.pick_points``); notebook 08
shows the table (:func:`progress_table`), its figure (:func:`plot_progress`) and sentences
(:func:`progress_findings`). Notebook 01 reads each conv layer's P beside the same architecture at
random initialisation and the control maps of the layer's shape, paired by image
(:func:`layer_resolution_controls`, :func:`resolution_summary`, :func:`resolution_findings`).
Notebook 03 shows the learning curves (:func:`learning_curves`, :func:`plot_learning_curves`,
docs/decisions/reporting.md §11) and the top-1 each model reaches (:func:`learning_summary`).
"""

from __future__ import annotations

import math
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from torch import nn

from ..attacks import runner
from ..attacks.base import ATTACKS
from ..attacks.points import point_label
from ..attacks.worst_case import LEAK_METRICS, WORST, column, spread_of_worst, worst_case_table
from ..method import data, train
from ..method.constants import FULL_PRECISION
from ..method.models import MODELS, layer_outputs
from ..method.plateau import PLATEAU_WINDOW, plateaued
from ..method.privacy import privacy_details
from ..method.privacy_controls import control_map, resolution_control
from ..method.profiles import AttackSettings, Profile, resolve_profile
from .analysis import layerwise_privacy, pick_points
from .nb08_attacks import reported_points
from .wording import SIGNIFICANT_SE, SMALL_CHANGE, Findings

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


def inner_epochs(total: int, fractions: Sequence[float]) -> list[int]:
    """The epochs of :func:`progress_epochs` strictly between untrained and trained: the
    intermediate checkpoints a recipe of ``total`` epochs saves."""
    return [e for e in progress_epochs(total, fractions) if 0 < e < int(total)]


def snapshot_epochs(model: str, profile: str | Profile | None = None) -> list[int]:
    """The intermediate epochs at which ``model``'s training under ``profile`` is measured (none
    when it is not among notebook 08's progress models). ``make models`` saves these checkpoints
    while it trains, so a fresh reproduce never trains a model twice (attacks.md §13)."""
    prof = resolve_profile(profile)
    s = prof.attack
    if model not in (s.progress_models or s.models or prof.studied(MODELS.names())):
        return []
    return inner_epochs(prof.recipe(model).epochs, s.progress_fractions)


def stage_label(epoch: int, total: int) -> str:
    """``untrained`` (epoch 0), ``trained`` (the last epoch) or ``epoch e/total``."""
    return UNTRAINED if epoch == 0 else TRAINED if epoch == total else f"epoch {epoch}/{total}"


def control_points(model: str, net: nn.Module) -> list[int]:
    """The points reported by an attack paper for ``model``, else three block points."""
    return reported_points(model) or pick_points(net, 3)


def stage_rows(model: str, prof: Profile, net: nn.Module, meta: dict, epoch: int, total: int,
               points: Sequence[int], attacks: Sequence[str], settings: AttackSettings,
               images: int, allow_partial: bool | None, progress: bool,
               suffix: str | None = None) -> list[dict]:
    """One row per (point, attack) of one training stage (``net`` after ``epoch`` of ``total``
    epochs, ``meta`` its checkpoint metadata), with the stage's P controls; :func:`progress_frame`
    turns them into the table. ``suffix``: the stage's attack-cache tag (default: none for the
    trained stage, ``-epoch<e>`` for the others)."""
    dataset = meta["dataset"]
    # the trained stage is the trained checkpoint: its results are notebook 08's own files (same
    # name, same fingerprint); every other stage has its own (docs/decisions/attacks.md §13)
    if suffix is None:
        suffix = "" if epoch == total else f"-epoch{epoch}"
    results = runner.run(model, prof, points, attacks=attacks, net=net, meta=meta, settings=settings,
                         images=images, dataset=dataset, allow_partial=allow_partial,
                         progress=progress, tag_suffix=suffix)
    adata = runner.attack_data(dataset, settings, images, allow_partial)
    x01 = data.to_unit(adata.test.images)
    irs = runner.compute_irs(net, FULL_PRECISION, points, adata.test.images, dataset)
    controls = {p: resolution_control(x01, irs[p].float()) for p in points}
    stage = {"model": model, "epoch": epoch, "of_epochs": total, "stage": stage_label(epoch, total),
             "top1": float(meta["accuracy"])}
    return [{**stage, "p": r.p, "split": point_label(model, r.p), "attack": r.attack,
             "ssim": r.ssim, "psnr": r.psnr, "ssim_sd": r.ssim_sd, "images": r.test_images,
             **controls[r.p]} for r in results]


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
        inner = inner_epochs(total, settings.progress_fractions)
        points: list[int] | None = None
        for epoch in epochs:
            net, meta = train.load_or_train_snapshot(model, prof, epoch, allow_partial=allow_partial,
                                                     progress=progress, snapshot_epochs=inner)
            points = points or control_points(model, net)
            rows += stage_rows(model, prof, net, meta, epoch, total, points, attacks, settings,
                               images, allow_partial, progress)
    return progress_frame(rows)


def progress_frame(rows: Sequence[dict]) -> pd.DataFrame:
    """:func:`stage_rows` of any stages as one row per (model, epoch, point): the stage, P and its
    controls, each attack's SSIM and PSNR, the worst case over them and its spread."""
    long = pd.DataFrame(list(rows))
    key = ["model", "epoch", "p"]
    stage = ["of_epochs", "stage", "top1", "split", "P", *CONTROL_COLUMNS, "images"]
    wide = worst_case_table(long, by=key, metrics=LEAK_METRICS)
    # the spread over the images of the attack that reaches the worst case (for its s.e.)
    irs = long.groupby(key, sort=False)
    worst = column("ssim", WORST)
    wide[f"{worst}_sd"] = [spread_of_worst(irs.get_group(tuple(k)), a) for k, a in
                           zip(wide[key].itertuples(index=False), wide[f"{worst}_attack"])]
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


def progress_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per (model, point) of :func:`progress_table`: the worst-case SSIM and P of the untrained
    and the trained stage, the P of the average-pooled control, P beyond shape, whether training
    moved the worst case by more than ``SIGNIFICANT_SE`` standard errors over the attacked images
    and by at least ``SMALL_CHANGE`` (``ssim_change``, ``ssim_change_se``: unpaired, from the
    spread of the attack that reached each stage's worst case) and whether it moved P by at
    least ``SMALL_CHANGE`` (the threshold is a column, so that a sentence citing it cites the
    table)."""
    worst = column("ssim", WORST)
    rows = []
    for (model, split), g in table.groupby(["model", "split"], sort=False):
        g = g.sort_values("epoch")
        u, t = g.iloc[0], g.iloc[-1]
        change = t[worst] - u[worst]
        se = math.sqrt(u[f"{worst}_sd"] ** 2 / u["images"] + t[f"{worst}_sd"] ** 2 / t["images"])
        rows.append({"model": model, "split": split, "p": int(t["p"]), "top1_untrained": u["top1"],
                     "top1_trained": t["top1"], "ssim_worst_untrained": u[worst],
                     "ssim_worst_trained": t[worst], "attack_trained": t[f"{worst}_attack"],
                     "P_untrained": u["P"], "P_trained": t["P"], "P_avgpool": t["P_avgpool"],
                     "P_orthogonal": t["P_orthogonal"], "P_beyond_shape": t["P_beyond_shape"],
                     "images": int(min(u["images"], t["images"])), "ssim_change": change,
                 "ssim_change_se": se, "ssim_noise_2se": SIGNIFICANT_SE * se,
                 "ssim_moved": bool(abs(change) > SIGNIFICANT_SE * se
                                    and abs(change) >= SMALL_CHANGE),
                     "P_moved": bool(abs(t["P"] - u["P"]) >= SMALL_CHANGE),
                     "P_at_shape": bool(abs(t["P_beyond_shape"]) < SMALL_CHANGE),
                     "threshold": SMALL_CHANGE})
    return pd.DataFrame(rows)


def progress_findings(table: pd.DataFrame) -> Findings:
    """What training adds to each model's privacy, and what P adds beyond the IR's shape, in
    words sized to :func:`progress_summary` (its table is the findings' table;
    docs/decisions/attacks.md §13, docs/decisions/reporting.md §6)."""
    summary = progress_summary(table)
    lines = []
    for model, g in summary.groupby("model", sort=False):
        points = "; ".join(
            f"{r.split}: worst-case SSIM {r.ssim_worst_untrained:.2f} untrained, "
            f"{r.ssim_worst_trained:.2f} trained ({r.attack_trained}), P {r.P_untrained:.2f} and "
            f"{r.P_trained:.2f}, the average-pooled input {r.P_avgpool:.2f}" for r in g.itertuples())
        moved = g[g["ssim_moved"]]
        noise = g["ssim_noise_2se"].max()
        reading = ("no change in what the strongest attack recovers is beyond the noise at any "
                   f"point ({SIGNIFICANT_SE:g} s.e. up to {noise:.2f}): training's effect is not "
                   "detectable here, which is not evidence that it has none" if moved.empty else
                   f"training changes what the strongest attack recovers at {len(moved)} of "
                   f"{len(g)} points ({', '.join(moved['split'])}); elsewhere no change is beyond "
                   f"the noise ({SIGNIFICANT_SE:g} s.e. up to {noise:.2f})")
        lines.append(f"* **{MODELS.label(model)}** (top-1 {g['top1_untrained'].iloc[0]:.3f} "
                     f"untrained, {g['top1_trained'].iloc[0]:.3f} trained): {points}. So "
                     f"{reading}; a change counts when it exceeds {SIGNIFICANT_SE:g} standard errors "
                     f"over the {int(g['images'].min())} attacked test images and {SMALL_CHANGE} SSIM.")
    at_shape = summary[summary["P_at_shape"]]
    where = ", ".join(f"{MODELS.label(r.model)} {r.split}" for r in at_shape.itertuples())
    lines.append(f"* **What P adds beyond shape**: the trained IR's P differs from the P of the input "
                 f"average-pooled to the IR's shape by at least {SMALL_CHANGE} at "
                 f"{len(summary) - len(at_shape)} of {len(summary)} points"
                 + (f"; at the others ({where}) P measures the IR's resolution, not what the "
                    "network learnt" if len(at_shape) else "")
                 + f". P moves with training at {int(summary['P_moved'].sum())} of {len(summary)} "
                 "points.")
    return Findings(summary, lines)


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


def learning_summary(curves: pd.DataFrame) -> pd.DataFrame:
    """Per model of :func:`learning_curves`: the epochs trained, the top-1 it reaches (the last
    epoch's, the checkpoint's ``accuracy``), its best epoch and top-1, and whether its train loss
    has plateaued (the rule of ``method.plateau``, docs/decisions/defences.md §12): a loss still
    falling says the recipe stopped before the model was trained out."""
    rows = []
    for model, g in curves.groupby("model", sort=False):
        g = g.sort_values("epoch")
        best = g.loc[g["test_top1"].idxmax()]
        rows.append({"model": model, "epochs": int(g["epoch"].iloc[-1]),
                     "top1": float(g["test_top1"].iloc[-1]), "best_top1": float(best["test_top1"]),
                     "best_epoch": int(best["epoch"]),
                     "first_train_loss": float(g["train_loss"].iloc[0]),
                     "last_train_loss": float(g["train_loss"].iloc[-1]),
                     "train_loss": loss_state(g["train_loss"].tolist())})
    return pd.DataFrame(rows, columns=["model", "epochs", "top1", "best_top1", "best_epoch",
                                       "first_train_loss", "last_train_loss", "train_loss"])


PLATEAU, FALLING, TOO_SHORT = "plateau", "still falling", "too short to tell"


def loss_state(curve: Sequence[float]) -> str:
    """A train-loss curve in words: :data:`PLATEAU` (``method.plateau.plateaued``),
    :data:`TOO_SHORT` (no more values than the plateau window: nothing before it to compare
    with) or :data:`FALLING`."""
    if plateaued(curve):
        return PLATEAU
    return TOO_SHORT if len(curve) <= PLATEAU_WINDOW else FALLING


def learning_findings(summary: pd.DataFrame, models_asked: Sequence[str] = ()) -> Findings:
    """The top-1 each model reaches and whether its training had stopped improving, in words
    (``models_asked`` without a recorded curve are named as such, never as zeros)."""
    lines = []
    for r in summary.itertuples():
        state = {PLATEAU: "its train loss had stopped falling (plateau)",
                 FALLING: "its train loss was still falling when the recipe ended: a partly "
                          "trained model",
                 TOO_SHORT: "its curve is too short to tell whether the loss had stopped falling"
                 }[r.train_loss]
        epochs = f"{r.epochs} epoch" + ("" if r.epochs == 1 else "s")
        lines.append(f"* **{MODELS.label(r.model)}**: top-1 {r.top1:.3f} after {epochs} "
                     f"(best {r.best_top1:.3f}, epoch {r.best_epoch}); train loss "
                     f"{r.first_train_loss:.2f} to {r.last_train_loss:.2f}, so {state}.")
    missing = [m for m in models_asked if m not in set(summary["model"])]
    if missing:
        lines.append("* No learning curve recorded for " + ", ".join(MODELS.label(m) for m in missing)
                     + " (a checkpoint written before curves were recorded; retrain to record one).")
    return Findings(summary, lines)


@torch.no_grad()
def layer_resolution_controls(net: nn.Module, untrained: nn.Module, images01: torch.Tensor,
                              dataset: str, kinds: Sequence[str] = ("avgpool", "orthogonal"),
                              seed: int = 0) -> pd.DataFrame:
    """Per conv layer (its raw output, as notebook 01 taps it) and test image: P (Eq. 1, MSE) of
    the trained ``net``'s IR, of the same layer of ``untrained`` (the architecture at the random
    initialisation its training starts from) and of each control map of the layer's exact shape
    (``P_<kind>``; docs/decisions/attacks.md §11). ``images01``: (B, 3, H, W) in [0, 1]."""
    trained = layerwise_privacy(net, images01, dataset, dists=("mse",))
    init = layerwise_privacy(untrained, images01, dataset, dists=("mse",))
    key = ["layer", "image"]
    out = trained.drop(columns=["channel", "dist"]).merge(
        init[key + ["privacy"]].rename(columns={"privacy": "P_untrained"}), on=key)
    out = out.rename(columns={"privacy": "P"})
    probe = images01[:1].to(next(net.parameters()).device)
    shapes = {name: tuple(ir.shape[1:]) for name, ir in
              layer_outputs(net, data.normalize(probe, dataset)).items()}
    x = images01.float().cpu()
    for kind in kinds:
        per_layer = {name: privacy_details(x, control_map(kind, x, shape, seed)).per_image.cpu().numpy()
                     for name, shape in shapes.items() if name in set(out["layer"])}
        out[f"P_{kind}"] = [float(per_layer[n][i]) for n, i in zip(out["layer"], out["image"])]
    return out


def _paired(diff: pd.Series) -> tuple[float, float]:
    n = len(diff)
    return float(diff.mean()), float(diff.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan")


def resolution_summary(per_image: pd.DataFrame) -> pd.DataFrame:
    """Per layer of :func:`layer_resolution_controls`: mean P trained, untrained and of each
    control; ``P_beyond_shape`` (P − P_avgpool) and ``trained_minus_untrained`` as paired means
    over the images with their standard errors, and whether each exceeds ``SIGNIFICANT_SE``
    standard errors (``se_multiple``, a column so that a sentence citing it cites the table);
    ``P_at_shape``: P within ``SMALL_CHANGE`` of the average-pooled control."""
    rows = []
    controls = [c for c in per_image.columns if c.startswith("P_") and c != "P_untrained"]
    for (depth, label), g in per_image.groupby(["depth", "label"], sort=True):
        beyond, beyond_se = _paired(g["P"] - g["P_avgpool"])
        trained, trained_se = _paired(g["P"] - g["P_untrained"])
        rows.append({"depth": int(depth), "layer": label, "channels": int(g["channels"].iloc[0]),
                     "size": int(g["size"].iloc[0]), "images": len(g), "P": g["P"].mean(),
                     "P_untrained": g["P_untrained"].mean(),
                     **{c: g[c].mean() for c in controls},
                     "P_beyond_shape": beyond, "P_beyond_shape_se": beyond_se,
                     "trained_minus_untrained": trained, "trained_minus_untrained_se": trained_se,
                     "beyond_shape_clear": bool(abs(beyond) > SIGNIFICANT_SE * beyond_se),
                     "training_clear": bool(abs(trained) > SIGNIFICANT_SE * trained_se),
                     "P_at_shape": bool(abs(beyond) < SMALL_CHANGE),
                     "se_multiple": SIGNIFICANT_SE})
    return pd.DataFrame(rows)


def plot_resolution_controls(summary: pd.DataFrame, model: str) -> plt.Figure:
    """P per conv layer for the trained network, the same architecture untrained, and the
    non-learned control maps of each layer's shape (± 1 s.e. of the paired differences drawn on
    the trained line); x labels give each layer's IR size."""
    fig, ax = plt.subplots(figsize=(5.6, 3.0))
    x = np.arange(len(summary))
    ax.errorbar(x, summary["P"], yerr=summary["P_beyond_shape_se"], marker="o", ms=3, lw=1.3,
                capsize=2, label=f"{MODELS.label(model)}, trained")
    ax.plot(x, summary["P_untrained"], "s--", ms=3, lw=1.0, label="same architecture, random init")
    styles = {"P_avgpool": ("k:", "input average-pooled to the IR's shape"),
              "P_orthogonal": ("^:", "random orthogonal strided projection"),
              "P_constant": ("x:", "constant map")}
    for col, (fmt, label) in styles.items():
        if col in summary:
            ax.plot(x, summary[col], fmt, ms=3, lw=0.9, label=label)
    ax.axhline(2.0, color="0.5", lw=0.7, ls="--")
    ax.set_xticks(x)
    ax.set_xticklabels([f"{r.layer}\n{r.size}x{r.size}" for r in summary.itertuples()], fontsize=6)
    ax.set_xlabel("conv layer of the IR (and its size)")
    ax.set_ylabel("P, standardised MSE (mean)")
    ax.set_title("What P measures beyond the IR's shape and beyond training", fontsize=8)
    ax.legend(fontsize=5.5, loc="best")
    fig.tight_layout()
    return fig


def _count(rows: pd.DataFrame) -> str:
    """"2 (conv1, conv4)", or "none"."""
    return f"{len(rows)} ({', '.join(rows['layer'])})" if len(rows) else "none"


def _layers(rows: pd.DataFrame) -> str:
    """"conv7 and conv8 (2 × 2)": the layers, and their IR sizes."""
    names = list(rows["layer"])
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"{listed} ({' / '.join(f'{s} × {s}' for s in dict.fromkeys(rows['size']))})"


def resolution_findings(summary: pd.DataFrame, model: str) -> Findings:
    """Whether P of each layer says more than its shape (the average-pooled control) and more than
    the untrained architecture, read off the paired standard errors (``SIGNIFICANT_SE``), each
    counted by direction: above or below the control, raised or lowered by training; and where P
    matches the control (``P_at_shape``), so that it measures the IR's resolution there."""
    first, last = (next(summary.iloc[[i]].itertuples()) for i in (0, -1))  # .size: the column
    clear, learnt = summary[summary["beyond_shape_clear"]], summary[summary["training_clear"]]
    above, below = clear[clear["P_beyond_shape"] > 0], clear[clear["P_beyond_shape"] < 0]
    raised, lowered = (learnt[learnt["trained_minus_untrained"] > 0],
                       learnt[learnt["trained_minus_untrained"] < 0])
    at_shape = summary[summary["P_at_shape"] if "P_at_shape" in summary
                       else summary["P_beyond_shape"].abs() < SMALL_CHANGE]
    name = MODELS.label(model)
    lines = [
        f"* **What P adds beyond shape ({name})**: P of the trained IR against P of the input "
        f"average-pooled to the same shape is {first.P:.2f} against {first.P_avgpool:.2f} at "
        f"{first.layer} ({first.size} × {first.size}) and {last.P:.2f} against "
        f"{last.P_avgpool:.2f} at {last.layer} ({last.size} × {last.size}). P is clearly above this "
        f"control (by more than {SIGNIFICANT_SE:g} standard errors, paired by image) at {len(above)} of "
        f"{len(summary)} layers and clearly below it at {_count(below)}"
        + (f"; at {_layers(at_shape)} P matches the non-learned control, so there it measures the "
           "IR's resolution, not what the network learnt." if len(at_shape) else "."),
        f"* **What P adds beyond training ({name})**: the same architecture at its random "
        f"initialisation has P {first.P_untrained:.2f} at {first.layer} and {last.P_untrained:.2f} "
        f"at {last.layer}; training changes P by more than {SIGNIFICANT_SE:g} standard errors at "
        f"{len(learnt)} of {len(summary)} layers"
        + (f": it lowers P at {_count(lowered)} and raises it at {_count(raised)}"
           + (", so where training matters it mostly makes the IR closer to the input (less private)."
              if len(lowered) > len(raised) else
              ", so where training matters it mostly makes the IR further from the input (more private)."
              if len(raised) > len(lowered) else ".")
           if len(learnt) else ": P's trend with depth here is the architecture's (pooling "
           "and channel counts), which Fig. 4 would show without any training."),
    ]
    return Findings(summary, lines)


__all__ = ["UNTRAINED", "TRAINED", "CONTROL_COLUMNS", "PLATEAU", "FALLING", "TOO_SHORT",
           "progress_epochs", "inner_epochs", "snapshot_epochs", "stage_label", "control_points", "progress_table", "plot_progress",
           "progress_summary", "progress_findings", "learning_curves", "plot_learning_curves",
           "learning_summary", "loss_state", "learning_findings", "layer_resolution_controls",
           "resolution_summary", "plot_resolution_controls", "resolution_findings"]
