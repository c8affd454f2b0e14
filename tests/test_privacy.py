"""Privacy metric (Eq. 1-2, docs/decisions/paper-method.md §4): MSE identities, SSIM against
scikit-image, KL against a loop."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage.metrics import structural_similarity

from paperlib.method import privacy
from paperlib.method.privacy import PrivacyResult


def skimage_ssim(a: np.ndarray, b: np.ndarray) -> float:
    return structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
                                 use_sample_covariance=False, data_range=1.0)


def minmax_np(a: np.ndarray) -> np.ndarray:
    span = a.max() - a.min()
    return np.zeros_like(a) if span == 0 else (a - a.min()) / span


def reference_ssim_matrix(x: torch.Tensor, ir: torch.Tensor) -> np.ndarray:
    """1 - SSIM per image per channel, one skimage call each."""
    gray = privacy.grayscale(x.double()).numpy()
    chans = privacy.resize_channels(ir.double(), tuple(x.shape[-2:])).numpy()
    return np.array([[1 - skimage_ssim(gray[b], minmax_np(chans[b, c])) for c in range(chans.shape[1])]
                     for b in range(chans.shape[0])])


def gray_as_ir(x: torch.Tensor) -> torch.Tensor:
    return privacy.grayscale(x).unsqueeze(1)


DTYPES = [torch.float32, torch.float64]
TOL = {torch.float32: 1e-5, torch.float64: 1e-10}


@pytest.fixture
def rng() -> torch.Generator:
    return torch.Generator().manual_seed(0)


@pytest.fixture
def cifar_images(real_data_dir) -> torch.Tensor:
    """Eight real CIFAR-10 test images in [0, 1], (8, 3, 32, 32)."""
    with open(real_data_dir / "cifar-10-batches-py" / "test_batch", "rb") as f:
        batch = pickle.load(f, encoding="latin1")
    data = np.asarray(batch["data"][:8], dtype=np.uint8).reshape(-1, 3, 32, 32)
    return torch.from_numpy(data).float() / 255.0


# --- SSIM == scikit-image --------------------------------------------------------------------------

def test_gaussian_window_matches_skimage_radius():
    w = privacy.gaussian_window()
    assert w.numel() == privacy.SSIM_WIN_SIZE == 11
    assert torch.isclose(w.sum(), torch.tensor(1.0, dtype=w.dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ir_size", [32, 16, 7])
def test_ssim_matches_skimage_random(rng, ir_size, dtype):
    x = torch.rand(3, 3, 32, 32, generator=rng)
    ir = torch.randn(3, 6, ir_size, ir_size, generator=rng)
    ir[:, 1] = torch.relu(ir[:, 1])  # sparse, ReLU-like
    ir[:, 2] = 0.0  # constant channel
    ir[:, 3] = torch.round(ir[:, 3])  # few levels (quantized)
    ir[:, 4] = privacy.grayscale(x)[:, ::32 // ir_size, ::32 // ir_size][:, :ir_size, :ir_size]
    got = privacy.distance_matrix(x, ir, "ssim", dtype=dtype).numpy()
    np.testing.assert_allclose(got, reference_ssim_matrix(x, ir), atol=1e-4, rtol=0)


def test_ssim_matches_skimage_non_square(rng):
    x = torch.rand(2, 3, 24, 20, generator=rng)
    ir = torch.randn(2, 4, 12, 10, generator=rng)
    got = privacy.distance_matrix(x, ir, "ssim").numpy()
    np.testing.assert_allclose(got, reference_ssim_matrix(x, ir), atol=1e-4, rtol=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_ssim_matches_skimage_cifar(cifar_images, rng, dtype):
    x = cifar_images
    gray = privacy.grayscale(x).unsqueeze(1)
    blurred = F.avg_pool2d(gray, 3, stride=1, padding=1)
    ir = torch.cat([
        gray,
        blurred,
        1 - gray,
        gray + 0.2 * torch.randn(gray.shape, generator=rng),
        F.interpolate(gray, size=16, mode="bilinear", align_corners=False).repeat(1, 1, 2, 2),
    ], dim=1)
    got = privacy.distance_matrix(x, ir, "ssim", dtype=dtype).numpy()
    ref = reference_ssim_matrix(x, ir)
    np.testing.assert_allclose(got, ref, atol=1e-4, rtol=0)
    assert got[:, 0].max() < got[:, 2].min()  # the image itself is nearer than its negative


def test_ssim_zero_for_identical_image():
    x = torch.linspace(0, 1, 32 * 32).view(1, 1, 32, 32).expand(1, 3, 32, 32)
    assert privacy.privacy(x, gray_as_ir(x), "ssim") == pytest.approx(0.0, abs=1e-6)


def test_valid_gaussian_filter_is_skimage_gaussian_cropped(rng):
    from skimage.filters import gaussian

    img = torch.rand(2, 30, 27, generator=rng, dtype=torch.float64)
    got = privacy.valid_gaussian_filter(img)
    r = privacy.SSIM_RADIUS
    for mode in ("reflect", "constant", "nearest"):  # the boundary never reaches a valid position
        ref = gaussian(img[1].numpy(), sigma=1.5, truncate=3.5, mode=mode)[r:-r, r:-r]
        np.testing.assert_allclose(got[1].numpy(), ref, atol=1e-12)


def test_ssim_rejects_images_smaller_than_window():
    with pytest.raises(ValueError, match="at least 11x11"):
        privacy.privacy(torch.rand(1, 3, 8, 8), torch.rand(1, 2, 4, 4), "ssim")


# --- MSE (Eq. 2) -----------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_mse_identity_is_zero(rng, dtype):
    x = torch.rand(4, 3, 32, 32, generator=rng)
    assert privacy.privacy(x, gray_as_ir(x), dtype=dtype) == pytest.approx(0.0, abs=TOL[dtype])
    ir = torch.cat([torch.randn(4, 3, 32, 32, generator=rng), gray_as_ir(x),
                    torch.randn(4, 2, 32, 32, generator=rng)], dim=1)
    res = privacy.privacy_details(x, ir, dtype=dtype)
    assert res.value == pytest.approx(0.0, abs=TOL[dtype])
    assert res.argmin.tolist() == [3] * 4
    minmax_value = privacy.privacy(x, gray_as_ir(x), normalise="minmax", dtype=dtype)
    assert minmax_value == pytest.approx(0.0, abs=TOL[dtype])


def test_mse_is_scale_and_offset_invariant(rng):
    x = torch.rand(3, 3, 32, 32, generator=rng)
    ir = torch.randn(3, 8, 16, 16, generator=rng)
    for norm in ("standard", "minmax"):
        base = privacy.distance_matrix(x, ir, normalise=norm)
        torch.testing.assert_close(privacy.distance_matrix(x, 7.5 * ir + 3.0, normalise=norm), base)
        torch.testing.assert_close(privacy.distance_matrix(x, 1e-3 * ir, normalise=norm), base)


@pytest.mark.parametrize("dtype", DTYPES)
def test_mse_equals_two_one_minus_pearson(rng, dtype):
    x = torch.rand(3, 3, 32, 32, generator=rng)
    ir = torch.randn(3, 5, 32, 32, generator=rng) + 0.5 * gray_as_ir(x)
    got = privacy.distance_matrix(x, ir, dtype=dtype).numpy()
    gray = privacy.grayscale(x.double()).numpy()
    for b in range(3):
        for c in range(5):
            rho = np.corrcoef(gray[b].ravel(), ir[b, c].double().numpy().ravel())[0, 1]
            assert got[b, c] == pytest.approx(2 * (1 - rho), abs=TOL[dtype])
    assert ((got >= 0) & (got <= 4)).all()


def test_mse_standard_equals_eq2_on_standardised_images(rng):
    """Eq. 2 applied literally to the standardised images gives the correlation shortcut."""
    x = torch.rand(2, 3, 20, 20, generator=rng)
    ir = torch.randn(2, 3, 20, 20, generator=rng)
    gray = privacy.grayscale(x.double()).numpy()
    z = lambda a: (a - a.mean()) / a.std()  # noqa: E731 (population std, numpy's default)
    ref = [[np.mean((z(gray[b]) - z(ir[b, c].double().numpy())) ** 2) for c in range(3)] for b in range(2)]
    np.testing.assert_allclose(privacy.distance_matrix(x, ir, dtype=torch.float64).numpy(), ref, atol=1e-10)


@pytest.mark.parametrize("dtype", DTYPES)
def test_mse_minmax_matches_loop(rng, dtype):
    x = torch.rand(2, 3, 32, 32, generator=rng)
    ir = torch.randn(2, 4, 32, 32, generator=rng)
    ir[1, 2] = 5.0
    gray = privacy.grayscale(x.double()).numpy()
    ref = [[np.mean((minmax_np(gray[b]) - minmax_np(ir[b, c].double().numpy())) ** 2) for c in range(4)]
           for b in range(2)]
    got = privacy.distance_matrix(x, ir, normalise="minmax", dtype=dtype).numpy()
    np.testing.assert_allclose(got, ref, atol=TOL[dtype], rtol=0)


def test_zero_variance_channel_counts_as_uncorrelated(rng):
    x = torch.rand(2, 3, 32, 32, generator=rng)
    ir = torch.stack([torch.zeros(2, 16, 16), torch.full((2, 16, 16), 3.7)], dim=1)
    d = privacy.distance_matrix(x, ir)
    assert not torch.isnan(d).any()
    torch.testing.assert_close(d, torch.full_like(d, 2.0))
    assert torch.isfinite(privacy.distance_matrix(x, ir, "ssim")).all()
    assert torch.isfinite(privacy.distance_matrix(x, ir, "mse", normalise="minmax")).all()
    const_x = torch.full((1, 3, 32, 32), 0.4)  # a constant input is uncorrelated with anything
    assert privacy.privacy(const_x, torch.randn(1, 3, 8, 8, generator=rng)) == pytest.approx(2.0)


def test_resize_equivalence(rng):
    x = torch.rand(2, 3, 32, 32, generator=rng)
    ir = torch.randn(2, 6, 8, 8, generator=rng)
    big = F.interpolate(ir, size=(32, 32), mode="bilinear", align_corners=False)
    for dist in ("mse", "ssim"):
        torch.testing.assert_close(privacy.distance_matrix(x, ir, dist), privacy.distance_matrix(x, big, dist))


def test_argmin_finds_planted_channel(rng):
    x = torch.rand(5, 3, 32, 32, generator=rng)
    ir = torch.randn(5, 16, 16, 16, generator=rng)
    planted = torch.randint(0, 16, (5,), generator=rng)
    small = F.avg_pool2d(gray_as_ir(x), 2)[:, 0]
    for b in range(5):
        ir[b, planted[b]] = 2.0 * small[b] + 0.05 * torch.randn(16, 16, generator=rng)
    for dist in ("mse", "ssim"):
        res = privacy.privacy_details(x, ir, dist)
        assert res.argmin.tolist() == planted.tolist()
        assert res.distances.shape == (5, 16) and res.per_image.shape == (5,)
        torch.testing.assert_close(res.per_image, res.distances.min(dim=1).values)
        assert res.value == pytest.approx(float(res.per_image.mean()))


def test_quantized_ir_is_handled(rng):
    """Few-level IRs (the paper's Fig. 8): finite, and coarser quantization moves away from x."""
    x = torch.rand(4, 3, 32, 32, generator=rng)
    ir = torch.relu(gray_as_ir(x) + 0.1 * torch.randn(4, 1, 32, 32, generator=rng) - 0.3).repeat(1, 4, 1, 1)
    values = {}
    for bits in (1, 2, 4, 8):
        levels = 2 ** bits - 1
        q = torch.round(ir / ir.amax() * levels) / levels
        for dist in ("mse", "ssim"):
            values[dist, bits] = privacy.privacy(x, q, dist)
            assert np.isfinite(values[dist, bits])
    assert values["mse", 1] > values["mse", 8]
    assert values["ssim", 1] > values["ssim", 8]


# --- KL --------------------------------------------------------------------------------------------

def toy_classifier(seed: int = 0, classes: int = 10, size: int = 32):
    gen = torch.Generator().manual_seed(seed)
    weight = torch.randn(classes, 3 * size * size, generator=gen) / 8.0
    return lambda imgs: imgs.flatten(1) @ weight.to(imgs.dtype).T


def test_kl_matches_per_channel_loop(rng):
    f = toy_classifier()
    x = torch.rand(3, 3, 32, 32, generator=rng)
    ir = torch.randn(3, 5, 16, 16, generator=rng)
    got = privacy.distance_matrix(x, ir, "kl", classifier=f, chunk_size=4)
    chans = F.interpolate(ir.double(), size=(32, 32), mode="bilinear", align_corners=False)
    ref = torch.zeros(3, 5, dtype=torch.float64)
    for b in range(3):
        p = torch.softmax(f(x[b:b + 1]).double(), -1)
        for c in range(5):
            img = torch.from_numpy(minmax_np(chans[b, c].numpy())).float().expand(1, 3, 32, 32)
            q = torch.softmax(f(img).double(), -1)
            ref[b, c] = (p * (p.log() - q.log())).sum()
    torch.testing.assert_close(got, ref, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(privacy.distance_matrix(x, ir, "kl", classifier=f, chunk_size=1000), got)


def test_kl_zero_when_classifier_sees_the_same_image(rng):
    """A gray input spanning [0, 1] and a channel equal to it up to scale/offset: KL = 0."""
    f = toy_classifier()
    gray = torch.rand(2, 1, 32, 32, generator=rng)
    lo, hi = gray.amin((2, 3), keepdim=True), gray.amax((2, 3), keepdim=True)
    gray = (gray - lo) / (hi - lo)
    x = gray.expand(2, 3, 32, 32)
    ir = torch.cat([torch.randn(2, 2, 32, 32, generator=rng), 4.0 * gray - 1.0], dim=1)
    res = privacy.privacy_details(x, ir, "kl", classifier=f)
    assert res.value == pytest.approx(0.0, abs=1e-6)
    assert res.argmin.tolist() == [2, 2]
    assert (res.distances[:, :2] > 1e-4).all()


def test_kl_needs_classifier(rng):
    with pytest.raises(ValueError, match="classifier"):
        privacy.privacy(torch.rand(1, 3, 32, 32), torch.rand(1, 2, 8, 8), "kl")


# --- API, validation -------------------------------------------------------------------------------

def test_validation_messages():
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        privacy.privacy(torch.rand(3, 32, 32), torch.rand(1, 2, 8, 8))
    with pytest.raises(ValueError, match=r"\(B, C, h, w\)"):
        privacy.privacy(torch.rand(1, 3, 32, 32), torch.rand(2, 8, 8))
    with pytest.raises(ValueError, match="batch sizes differ"):
        privacy.privacy(torch.rand(2, 3, 32, 32), torch.rand(3, 2, 8, 8))
    with pytest.raises(ValueError, match="unknown dist"):
        privacy.privacy(torch.rand(1, 3, 32, 32), torch.rand(1, 2, 8, 8), "psnr")
    with pytest.raises(ValueError, match="float images"):
        privacy.privacy(torch.zeros(1, 3, 32, 32, dtype=torch.uint8), torch.rand(1, 2, 8, 8))
    with pytest.raises(ValueError, match="unknown normalise"):
        privacy.privacy(torch.rand(1, 3, 32, 32), torch.rand(1, 2, 8, 8), normalise="zscore")


def test_numpy_inputs_and_float32(rng):
    x = torch.rand(2, 3, 32, 32, generator=rng)
    ir = torch.randn(2, 4, 16, 16, generator=rng)
    ref = privacy.privacy(x, ir, dtype=torch.float64)
    assert privacy.privacy(x.numpy(), ir.numpy(), dtype=torch.float64) == pytest.approx(ref, abs=1e-12)
    for dist in ("mse", "ssim"):
        assert privacy.privacy(x, ir, dist, dtype=torch.float32) == pytest.approx(
            privacy.privacy(x, ir, dist, dtype=torch.float64), abs=1e-5)


def test_privacy_over_equals_whole_batch(rng):
    x = torch.rand(6, 3, 32, 32, generator=rng)
    conv = torch.nn.Conv2d(3, 8, 3, stride=2, padding=1)
    ir_fn = lambda t: torch.relu(conv(t))  # noqa: E731
    whole = privacy.privacy_details(x, ir_fn(x).detach())
    over = privacy.privacy_over([(x[:4], None), (x[4:], None)], ir_fn)
    assert isinstance(over, PrivacyResult)
    assert over.value == pytest.approx(whole.value)
    torch.testing.assert_close(over.distances, whole.distances)
    assert over.argmin.tolist() == whole.argmin.tolist()


def test_channel_image(rng):
    ir = torch.randn(4, 8, 8, generator=rng)
    img = privacy.channel_image(ir, 2, 32)
    assert img.shape == (32, 32)
    assert float(img.min()) == pytest.approx(0.0) and float(img.max()) == pytest.approx(1.0)
    ref = F.interpolate(ir[None, 2:3].double(), size=(32, 32), mode="bilinear", align_corners=False)[0, 0]
    np.testing.assert_allclose(img.numpy(), minmax_np(ref.numpy()), atol=1e-12)
    torch.testing.assert_close(privacy.channel_image(ir[None], 2, (32, 32)), img)
    with pytest.raises(ValueError, match="out of range"):
        privacy.channel_image(ir, 4, 32)


# --- damaged inputs (docs/decisions/data-integrity.md §7) ----------------------------------------

@pytest.mark.parametrize("scale", ["0-255", "-1-1"])
def test_images_outside_unit_range_are_refused(scale):
    gen = torch.Generator().manual_seed(0)
    x01 = torch.rand(2, 3, 16, 16, generator=gen)
    ir = torch.randn(2, 4, 8, 8, generator=gen)
    x = x01 * 255 if scale == "0-255" else x01 * 2 - 1
    for fn in (privacy.privacy, privacy.distance_matrix):
        with pytest.raises(ValueError, match=r"\bx\b.*\[0, 1\]"):
            fn(x, ir)
    assert 0 <= privacy.privacy(x01, ir) <= 4  # the same images in [0, 1] are fine


@pytest.mark.parametrize("which", ["x", "ir"])
def test_non_finite_inputs_are_refused(which):
    x = torch.rand(2, 3, 16, 16)
    ir = torch.randn(2, 4, 8, 8)
    (x if which == "x" else ir)[1, 0, 3, 3] = float("nan")
    with pytest.raises(ValueError, match=rf"\b{which}\b.*non-finite"):
        privacy.privacy(x, ir)
