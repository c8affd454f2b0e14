"""How much an attack recovers: SSIM and PSNR of the reconstructions (docs/decisions/attacks.md §5).

* SSIM (Wang et al. 2004) of RGB images in [0, 1]: Gaussian window (σ 1.5, 11 taps), population
  covariances, data range 1, the mean over valid window positions and the three colour channels;
  equal to ``skimage.metrics.structural_similarity(x, y, channel_axis=0, gaussian_weights=True,
  sigma=1.5, use_sample_covariance=False, data_range=1.0)`` (tested).
* PSNR = 10 log10(1 / MSE) in dB with peak 1 (``inf`` for a perfect copy), as
  ``skimage.metrics.peak_signal_noise_ratio(x, y, data_range=1.0)``.

Both per image, vectorised over the batch; :func:`summary` gives mean and spread over images.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..method import privacy

MAX_PSNR = 100.0  # dB: stands in for the infinite PSNR of a perfect copy in means and spreads


def _check_pair(x: torch.Tensor, y: torch.Tensor) -> None:
    if x.shape != y.shape or x.dim() != 4:
        raise ValueError(f"need two (B, C, H, W) batches of the same shape, got {tuple(x.shape)} "
                         f"and {tuple(y.shape)}")


def ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-image SSIM (float64) of two (B, C, H, W) batches in [0, 1]."""
    _check_pair(x, y)
    x, y = x.double().cpu(), y.double().cpu()
    window = privacy.gaussian_window(dtype=torch.float64)
    stats = torch.stack([x, y, x * x, y * y, x * y], 0)
    ux, uy, uxx, uyy, uxy = privacy.valid_gaussian_filter(stats, window).unbind(0)
    c1 = (privacy.SSIM_K1 * privacy.SSIM_DATA_RANGE) ** 2
    c2 = (privacy.SSIM_K2 * privacy.SSIM_DATA_RANGE) ** 2
    vx, vy, vxy = uxx - ux * ux, uyy - uy * uy, uxy - ux * uy
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    return s.mean(dim=(1, 2, 3))


def psnr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR in dB (float64) for images in [0, 1]; ``inf`` where identical."""
    _check_pair(x, y)
    mse = (x.double().cpu() - y.double().cpu()).square().mean(dim=(1, 2, 3))
    return 10.0 * torch.log10(1.0 / mse)


def mse(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-image mean squared error (float64)."""
    _check_pair(x, y)
    return (x.double().cpu() - y.double().cpu()).square().mean(dim=(1, 2, 3))


def summary(values: torch.Tensor | np.ndarray) -> dict[str, float]:
    """Mean, standard deviation (n − 1) and standard error over images; infinite values (a
    perfect PSNR) count as :data:`MAX_PSNR`."""
    v = np.asarray(values, dtype=np.float64)
    v = np.where(np.isposinf(v), MAX_PSNR, v)
    n = len(v)
    sd = float(v.std(ddof=1)) if n > 1 else 0.0
    return {"mean": float(v.mean()) if n else float("nan"), "sd": sd,
            "se": sd / math.sqrt(n) if n else float("nan"), "n": n}



def scores(originals: torch.Tensor, reconstructions: torch.Tensor) -> dict[str, float]:
    """``ssim``, ``ssim_sd``, ``psnr``, ``psnr_sd``, ``mse`` of the reconstructions: means and
    standard deviations over images."""
    s, q, m = (summary(f(originals, reconstructions)) for f in (ssim, psnr, mse))
    return {"ssim": s["mean"], "ssim_sd": s["sd"], "psnr": q["mean"], "psnr_sd": q["sd"],
            "mse": m["mean"]}


__all__ = ["ssim", "psnr", "mse", "summary", "scores", "MAX_PSNR"]
