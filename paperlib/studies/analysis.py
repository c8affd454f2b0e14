"""The privacy analyses of the paper's Sect. "Privacy analysis" (Fig. 3, 4, 5, 7, 8) as tidy frames.

Every function runs one forward pass per batch of evaluation images and scores the IRs with
:mod:`paperlib.method.privacy` (Eq. 1, vectorised over channels and images), returning a long
``pandas.DataFrame`` with one row per (IR, distance, image); :func:`summarise` and
:func:`depth_correlation` turn those rows into the numbers the notebooks plot and compare.

Decisions (docs/decisions/paper-method.md §4 fixes the metric; the rest is ours):

* Images: test images in [0, 1]. The network sees them normalised with the data set's mean and
  std (as in training); the privacy metric compares the IR with the *un-normalised* image.
* Layer-wise IR (Fig. 3, 4, 5): the raw output of a conv layer, before its batch norm and
  activation (:func:`paperlib.method.models.layer_outputs`). Every conv of the edge-able part counts,
  the 1x1 shortcut convs of the ResNets included, in forward order; ``depth`` is that position
  (1 = the stem's conv).
* Block-wise IR (Fig. 7, 8): the output of partition unit ``p`` (0 = after the stem), i.e. exactly
  what leaves the edge at partition point ``p`` (:func:`paperlib.method.models.unit_outputs`).
* Quantized IR (Fig. 8): the block-wise IR passed through the activation quantizer the edge uses
  (:func:`paperlib.method.quant.quantize_activation`: unsigned, per-sample range); 32 bits = unquantized.
* Trend statistics: Spearman's ρ between depth and the *mean* privacy over images at each depth
  (one point per IR), and the fraction of consecutive IRs whose mean privacy increases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd
import torch
from scipy import stats
from torch import nn

from ..method import data, models, privacy, quant
from ..method.constants import FULL_PRECISION
from ..method.privacy import DISTANCES

DIST_LABELS = {"mse": "MSE", "ssim": "1 − SSIM", "kl": "KL"}


# --- inputs --------------------------------------------------------------------------------------

def evaluation_images(dataset: str, n: int | None, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` test images of ``dataset`` (a deterministic random subset) in [0, 1], and their labels."""
    test = data.subset(data.load(dataset, "test"), n, seed)
    return data.to_unit(test.images), test.labels


def privacy_stamp(meta: dict, n_images: int) -> str:
    """The stamp of a privacy figure: the model's training data (``meta["data"]``, i.e.
    :func:`paperlib.method.data.provenance`) and the number of evaluation images."""
    return f"{meta.get('data', '?')}; privacy on {n_images} test images"


def classifier(net: nn.Module, dataset: str) -> nn.Module:
    """``net`` as a classifier of [0, 1] images (normalisation first), for the KL distance."""
    return nn.Sequential(data.Normalize(dataset), net).to(_device(net)).eval()


def _device(net: nn.Module) -> torch.device:
    """The device of ``net``'s parameters; refuses a net in training mode (its batch norms would
    use batch statistics and update their running averages)."""
    if net.training:
        raise ValueError("the network is in training mode; call net.eval() first (load_or_train "
                         "returns it in eval mode)")
    try:
        return next(net.parameters()).device
    except StopIteration:
        return torch.device("cpu")


def _batches(images01: torch.Tensor, batch_size: int) -> Iterable[tuple[int, torch.Tensor]]:
    if images01.dim() != 4 or images01.shape[1] != 3:
        raise ValueError(f"images must be a (B, 3, H, W) batch in [0, 1], got {tuple(images01.shape)}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    for start in range(0, len(images01), batch_size):
        yield start, images01[start:start + batch_size]


def _check_dists(dists: Sequence[str], clf: nn.Module | None) -> tuple[str, ...]:
    dists = (dists,) if isinstance(dists, str) else tuple(dists)
    unknown = [d for d in dists if d not in DISTANCES]
    if unknown:
        raise ValueError(f"unknown distance(s) {unknown}; choose from {', '.join(DISTANCES)}")
    if "kl" in dists and clf is None:
        raise ValueError("dist 'kl' needs the full-precision classifier: pass "
                         "classifier=analysis.classifier(net, dataset)")
    return dists


def _score(x01: torch.Tensor, ir: torch.Tensor, dists: Sequence[str], clf: nn.Module | None,
           normalise: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per distance: (privacy per image, arg-min channel per image)."""
    out = {}
    for d in dists:
        res = privacy.privacy_details(x01, ir, dist=d, normalise=normalise,
                                      classifier=clf if d == "kl" else None)
        out[d] = (_np(res.per_image).astype(float), _np(res.argmin).astype(int))
    return out


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


# --- layer-wise and block-wise privacy (Fig. 4, 5, 7) ---------------------------------------------

def conv_layer_table(net: nn.Module) -> pd.DataFrame:
    """One row per conv layer of the edge-able part (stem and blocks), in forward order.

    Columns: ``layer`` (qualified name), ``depth`` (1-based position), ``unit`` (0 = stem),
    ``kind`` (``conv``, ``shortcut``, ``depthwise``, or ``pointwise`` for the 1x1 conv that
    follows a depthwise one) and ``label`` (``conv<depth>``, the paper's Fig. 5 axis).
    """
    rows = []
    for unit, layers in enumerate(models.unit_layers(net)):
        previous = None
        for name, m in layers:
            if not isinstance(m, nn.Conv2d):
                continue
            if "shortcut" in name:
                kind = "shortcut"
            elif m.groups > 1 and m.groups == m.in_channels:
                kind = "depthwise"
            elif m.kernel_size == (1, 1) and previous == "depthwise":
                kind = "pointwise"
            else:
                kind = "conv"
            rows.append({"layer": name, "unit": unit, "kind": kind})
            previous = kind
    df = pd.DataFrame(rows)
    df.insert(1, "depth", np.arange(1, len(df) + 1))
    df["label"] = [f"conv{d}" for d in df["depth"]]
    return df


def unit_table(net: nn.Module) -> pd.DataFrame:
    """One row per partition point ``p`` (0 = stem only): ``label`` and ``conv_layers`` on the edge."""
    n = models.num_units(net)
    return pd.DataFrame({
        "point": np.arange(n + 1),
        "label": ["stem"] + [f"block{p}" for p in range(1, n + 1)],
        "conv_layers": [models.edge_layer_count(net, p) for p in range(n + 1)],
    })


def _tapped_privacy(net: nn.Module, images01: torch.Tensor, dataset: str,
                    forward: Callable[[nn.Module, torch.Tensor], dict], taps: pd.DataFrame, tap: str,
                    dists: Sequence[str], classifier: nn.Module | None, normalise: str,
                    batch_size: int) -> list[pd.DataFrame]:
    """Score the IRs ``forward(net, x)[row[tap]]`` of every row of ``taps`` on batches of images:
    one frame per (row, dist, batch) holding the row's columns and the per-image privacy."""
    device = _device(net)
    parts = []
    for start, x01 in _batches(images01, batch_size):
        x01 = x01.to(device)
        outs = forward(net, data.normalize(x01, dataset))
        for row in taps.to_dict("records"):
            ir = outs[row[tap]]
            for d, (p, ch) in _score(x01, ir, dists, classifier, normalise).items():
                parts.append(pd.DataFrame({
                    **row, "channels": ir.shape[1], "size": ir.shape[-2], "dist": d,
                    "image": np.arange(start, start + len(x01)), "privacy": p, "channel": ch,
                }))
        del outs
    return parts


def layerwise_privacy(net: nn.Module, images01: torch.Tensor, dataset: str,
                      dists: Sequence[str] = ("mse",), classifier: nn.Module | None = None,
                      normalise: str = "standard", layers: Sequence[str] | int | None = None,
                      batch_size: int = 16) -> pd.DataFrame:
    """Privacy of every conv layer's raw output (Fig. 4, 5), one row per (layer, dist, image).

    ``layers``: the layer names to score, or the number of leading layers (default: all).
    Columns: ``layer, depth, unit, kind, label, channels, size, dist, image, privacy, channel``
    (``channel`` = the arg-min channel of Eq. 1; ``size`` = the IR's spatial height).
    """
    dists = _check_dists(dists, classifier)
    table = conv_layer_table(net)
    if isinstance(layers, int):
        table = table.iloc[:layers]
    elif layers is not None:
        missing = sorted(set(layers) - set(table["layer"]))
        if missing:
            raise ValueError(f"not conv layers of this model: {missing}")
        table = table[table["layer"].isin(list(layers))]
    parts = _tapped_privacy(net, images01, dataset, models.layer_outputs, table, "layer", dists,
                            classifier, normalise, batch_size)
    return _concat(parts, ["dist", "depth", "image"])


def blockwise_privacy(net: nn.Module, images01: torch.Tensor, dataset: str,
                      dists: Sequence[str] = ("mse",), classifier: nn.Module | None = None,
                      normalise: str = "standard", batch_size: int = 16) -> pd.DataFrame:
    """Privacy of the IR that leaves the edge at every partition point (Fig. 7), one row per
    (point, dist, image).

    Columns: ``point, label, conv_layers, depth, channels, size, dist, image, privacy, channel``
    (``depth`` = ``point``, for :func:`depth_correlation`).
    """
    dists = _check_dists(dists, classifier)
    units = unit_table(net).assign(depth=lambda t: t["point"])
    parts = _tapped_privacy(net, images01, dataset, models.unit_outputs, units, "point", dists,
                            classifier, normalise, batch_size)
    return _concat(parts, ["dist", "point", "image"])


def quantized_ir_privacy(net: nn.Module, images01: torch.Tensor, dataset: str,
                         points: Sequence[int], bits: Sequence[int] = (2, 4, 8, FULL_PRECISION),
                         dist: str = "mse", classifier: nn.Module | None = None,
                         normalise: str = "standard", batch_size: int = 16) -> pd.DataFrame:
    """Privacy of the IR at partition points ``points`` quantized to each of ``bits`` (Fig. 8),
    one row per (point, bits, image); 32 bits = the unquantized IR.

    Columns: ``point, label, conv_layers, bits, dist, image, privacy, channel``.
    """
    _check_dists((dist,), classifier)
    points = [int(p) for p in points]
    for p in points:
        models.check_partition(net, p)
    bits = [quant.check_bits(b) for b in bits]
    units = unit_table(net).set_index("point")
    device = _device(net)
    parts = []
    for start, x01 in _batches(images01, batch_size):
        x01 = x01.to(device)
        outs = models.unit_outputs(net, data.normalize(x01, dataset))
        for p in points:
            for b in bits:
                ir = quant.quantize_activation(outs[p], b)
                (priv, ch), = _score(x01, ir, (dist,), classifier, normalise).values()
                parts.append(pd.DataFrame({
                    "point": p, "label": units.at[p, "label"],
                    "conv_layers": units.at[p, "conv_layers"], "bits": b, "dist": dist,
                    "image": np.arange(start, start + len(x01)), "privacy": priv, "channel": ch,
                }))
        del outs
    return _concat(parts, ["point", "bits", "image"])


def _concat(parts: list[pd.DataFrame], order: list[str]) -> pd.DataFrame:
    if not parts:
        raise ValueError("no images to evaluate")
    df = pd.concat(parts, ignore_index=True)
    return df.sort_values(order, kind="stable", key=_dist_order).reset_index(drop=True)


def _dist_order(col: pd.Series) -> pd.Series:
    """Sort key: distances in the order of ``privacy.DISTANCES`` (mse, ssim, kl), other columns as
    they are."""
    return col.map({d: i for i, d in enumerate(DISTANCES)}) if col.name == "dist" else col


# --- Fig. 3: the closest channel image --------------------------------------------------------

@dataclass(frozen=True)
class ClosestChannels:
    """Fig. 3: per image (B) and layer (L), the arg-min channel resized to the input size.

    ``gray`` (B, H, W) is the grayscale input, ``images`` (B, L, H, W) the channel images min–max
    scaled to [0, 1] for display, ``channel`` (B, L) their indices, ``privacy`` (B, L) Eq. 1.
    """

    gray: np.ndarray
    images: np.ndarray
    layers: list[str]
    channel: np.ndarray
    privacy: np.ndarray


@torch.no_grad()
def closest_channel_images(net: nn.Module, images01: torch.Tensor, dataset: str,
                           layers: Sequence[str] | int = 5, dist: str = "mse",
                           normalise: str = "standard",
                           classifier: nn.Module | None = None) -> ClosestChannels:
    """For Fig. 3: the channel of each layer's IR closest to the input (Eq. 1's arg-min)."""
    _check_dists((dist,), classifier)
    table = conv_layer_table(net)
    names = list(table["layer"].iloc[:layers]) if isinstance(layers, int) else list(layers)
    x01 = images01.to(_device(net))
    outs = models.layer_outputs(net, data.normalize(x01, dataset))
    size = tuple(x01.shape[-2:])
    imgs, chans, privs = [], [], []
    for name in names:
        ir = outs[name]
        res = privacy.privacy_details(x01, ir, dist=dist, normalise=normalise,
                                      classifier=classifier if dist == "kl" else None)
        idx = _np(res.argmin).astype(int)
        imgs.append(np.stack([_np(privacy.channel_image(ir[b], int(i), size)) for b, i in enumerate(idx)]))
        chans.append(idx)
        privs.append(_np(res.per_image).astype(float))
    return ClosestChannels(
        gray=_np(privacy.grayscale(x01)), images=np.stack(imgs, 1), layers=names,
        channel=np.stack(chans, 1), privacy=np.stack(privs, 1),
    )


# --- summaries and trend statistics ----------------------------------------------------------

def summarise(df: pd.DataFrame, by: Sequence[str], value: str = "privacy") -> pd.DataFrame:
    """Mean, standard deviation (ddof 1), standard error, median, quartiles and count per group
    (groups sorted by ``by``, distances in the order of ``privacy.DISTANCES``)."""
    g = df.groupby(list(by), sort=False)[value]
    out = g.agg(mean="mean", sd="std", median="median", n="count")
    out["sem"] = out["sd"] / np.sqrt(out["n"])
    out["q25"], out["q75"] = g.quantile(0.25), g.quantile(0.75)
    return out.reset_index().sort_values(list(by), kind="stable", key=_dist_order).reset_index(drop=True)


def normalise_to_max(summary: pd.DataFrame, by: Sequence[str] = ("dist",),
                     columns: Sequence[str] = ("mean", "sd", "sem", "median", "q25", "q75"),
                     ) -> pd.DataFrame:
    """Divide ``columns`` by the largest ``mean`` within each group of ``by`` (Fig. 4's
    "normalised" values: the deepest-privacy IR of each metric becomes 1)."""
    out = summary.copy()
    scale = out.groupby(list(by))["mean"].transform("max")
    for c in columns:
        if c in out:
            out[c] = out[c] / scale
    return out


def spearman(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """Spearman's ρ and its two-sided p-value; NaN where either input is constant or too short."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan"), float("nan")
    res = stats.spearmanr(x, y)
    return float(res.statistic), float(res.pvalue)


def increasing_fraction(values: Sequence[float]) -> float:
    """Fraction of consecutive steps that increase (1 = monotone increasing, 0 = decreasing)."""
    v = np.asarray(values, float)
    return float(np.mean(np.diff(v) > 0)) if len(v) > 1 else float("nan")


def depth_correlation(df: pd.DataFrame, by: Sequence[str] = ("dist",), x: str = "depth",
                      value: str = "privacy") -> pd.DataFrame:
    """Per group of ``by``: Spearman ρ between ``x`` and the mean ``value`` at each ``x``, its
    p-value, the number of points and the fraction of consecutive increases."""
    rows = []
    by = list(by)
    groups = df.groupby(by, sort=False) if by else [((), df)]
    for key, g in groups:
        means = g.groupby(x, sort=True)[value].mean()
        rho, pval = spearman(means.index.to_numpy(), means.to_numpy())
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(by, key)), "rho": rho, "p_value": pval, "points": len(means),
                     "increasing_steps": increasing_fraction(means.to_numpy())})
    return pd.DataFrame(rows)


def metric_correlation(df: pd.DataFrame, x: str = "depth", value: str = "privacy") -> pd.DataFrame:
    """Spearman ρ between every pair of distances, on their mean ``value`` at each ``x``."""
    wide = df.groupby([x, "dist"])[value].mean().unstack("dist")
    dists = [d for d in DISTANCES if d in wide] + [d for d in wide if d not in DISTANCES]
    rows = []
    for i, a in enumerate(dists):
        for b in dists[i + 1:]:
            rho, pval = spearman(wide[a], wide[b])
            rows.append({"dist_a": a, "dist_b": b, "rho": rho, "p_value": pval, "points": len(wide)})
    return pd.DataFrame(rows)


def bits_effect(df: pd.DataFrame, by: Sequence[str] = ("point",), reference: int = FULL_PRECISION,
                value: str = "privacy") -> pd.DataFrame:
    """Per group and bit width: mean privacy, its mean paired difference from the ``reference``
    bit width (same image) and the fraction of images whose privacy is higher than there."""
    by = list(by)
    ref = df[df["bits"] == reference].set_index(by + ["image"])[value]
    rows = []
    for key, g in df.groupby(by + ["bits"], sort=True):
        key = key if isinstance(key, tuple) else (key,)
        cur = g.set_index(by + ["image"])[value]
        diff = (cur - ref.reindex(cur.index)).dropna()
        rows.append({**dict(zip(by + ["bits"], key)), "mean": cur.mean(), "sd": cur.std(),
                     "diff_vs_ref": diff.mean(), "frac_higher": float((diff > 0).mean()),
                     "n": len(cur)})
    return pd.DataFrame(rows)


def trend_words(rho: float) -> str:
    """Plain words for a Spearman ρ between depth and privacy."""
    if not np.isfinite(rho):
        return "no measurable trend (constant values)"
    if rho >= 0.999:
        return "a strictly monotone increase"
    if rho >= 0.7:
        return "a clear increasing trend"
    if rho >= 0.3:
        return "a weak increasing trend"
    if rho > -0.3:
        return "no clear trend"
    return "a decreasing trend"


@torch.no_grad()
def unit_output_sizes(net: nn.Module, input_size: int = 32) -> list[int]:
    """Spatial height of the IR after the stem and after every block (one dummy forward pass)."""
    x = torch.zeros(1, 3, input_size, input_size, device=_device(net))
    return [int(o.shape[-2]) for o in models.unit_outputs(net, x)]


def pick_points(net: nn.Module, k: int = 3, min_size: int = 2, input_size: int = 32) -> list[int]:
    """``k`` partition points spread evenly (shallow … deep) over the points whose IR is at least
    ``min_size`` pixels high: a 1x1 IR (VGG11's last block) resizes to constant channel images, so
    Eq. 1 gives the same value (2 under standardised MSE) whatever the image or bit width."""
    sizes = unit_output_sizes(net, input_size)
    eligible = [p for p, s in enumerate(sizes) if s >= min_size]
    if not eligible:
        raise ValueError(f"no partition point has an IR of at least {min_size}x{min_size} pixels")
    picks = np.linspace(0, len(eligible) - 1, k)
    return sorted({eligible[int(round(i))] for i in picks})


__all__ = [
    "DIST_LABELS", "ClosestChannels", "bits_effect", "blockwise_privacy", "classifier",
    "closest_channel_images", "depth_correlation", "evaluation_images",
    "increasing_fraction", "conv_layer_table", "layerwise_privacy", "metric_correlation",
    "normalise_to_max", "pick_points", "unit_output_sizes", "privacy_stamp", "quantized_ir_privacy",
    "spearman", "summarise", "trend_words", "unit_table",
]
