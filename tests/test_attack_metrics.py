"""SSIM and PSNR of reconstructions equal scikit-image's on the same images."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from paperlib.attacks import metrics


def _pair(seed: int = 0, n: int = 4, noise: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, 32, 32, generator=g)
    y = (x + noise * torch.randn(n, 3, 32, 32, generator=g)).clamp(0, 1)
    return x, y


@pytest.mark.parametrize("noise", [0.02, 0.1, 0.5])
def test_ssim_equals_scikit_image(noise):
    x, y = _pair(noise=noise)
    ref = [structural_similarity(x[i].double().numpy(), y[i].double().numpy(), channel_axis=0,
                                 gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                 data_range=1.0) for i in range(len(x))]
    assert np.allclose(metrics.ssim(x, y).numpy(), ref, rtol=0, atol=1e-10)


@pytest.mark.parametrize("noise", [0.02, 0.1, 0.5])
def test_psnr_equals_scikit_image(noise):
    x, y = _pair(noise=noise)
    ref = [peak_signal_noise_ratio(x[i].double().numpy(), y[i].double().numpy(), data_range=1.0)
           for i in range(len(x))]
    assert np.allclose(metrics.psnr(x, y).numpy(), ref, rtol=0, atol=1e-10)


def test_known_values():
    x, _ = _pair()
    assert torch.allclose(metrics.ssim(x, x), torch.ones(4, dtype=torch.float64))
    assert torch.isinf(metrics.psnr(x, x)).all()
    # a uniform error of 0.1 everywhere: MSE 0.01, PSNR exactly 20 dB
    y = torch.full((1, 3, 8, 8), 0.5)
    assert metrics.psnr(y, y + 0.1).item() == pytest.approx(20.0)
    with pytest.raises(ValueError, match="same shape"):
        metrics.ssim(x, x[:2])


def test_summary_and_scores():
    s = metrics.summary(torch.tensor([1.0, 2.0, 3.0]))
    assert s == {"mean": 2.0, "sd": 1.0, "se": pytest.approx(1 / np.sqrt(3)), "n": 3}
    assert metrics.summary([float("inf"), 0.0])["mean"] == metrics.MAX_PSNR / 2
    x, y = _pair()
    out = metrics.scores(x, y)
    assert out["ssim"] == pytest.approx(float(metrics.ssim(x, y).mean()))
    assert out["psnr_sd"] == pytest.approx(float(metrics.psnr(x, y).std()))
    assert set(out) == {"ssim", "ssim_sd", "psnr", "psnr_sd", "mse"}
