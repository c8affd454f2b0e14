"""Privacy of an intermediate result (IR): the paper's Eq. 1-2, made precise in
docs/decisions/paper-method.md §4.

    P(x, IR) = min_i dist(x, resize(IR[i]))                                          (Eq. 1)

``x`` is the un-normalised input in [0, 1], turned into one grayscale image
(0.299 R + 0.587 G + 0.114 B). Every channel ``IR[i]`` is taken as a grayscale image and resized
to the input's size (bilinear, ``align_corners=False``, no antialiasing). ``P`` of a batch is the
mean of the per-image values. Three distances, all vectorised over images and channels:

``mse`` (Eq. 2, the paper's choice)
    Mean squared difference after a per-image normalisation the paper does not publish. Default
    ``normalise="standard"``: both images standardised (zero mean, unit *population* variance),
    so MSE = 2 (1 - rho) with rho the Pearson correlation, in [0, 4] and scale-free. A channel (or
    an input) with zero variance counts as rho = 0, i.e. MSE = 2. ``normalise="minmax"``: both
    images scaled to [0, 1] (a constant image becomes zeros).
``ssim``
    1 - SSIM (Wang et al. 2004) exactly as ``skimage.metrics.structural_similarity(a, b,
    gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0)``: an 11-tap
    Gaussian window (sigma 1.5, truncate 3.5 -> radius 5), K1 = 0.01, K2 = 0.03, population
    covariances, mean over the *valid* window positions (skimage crops 5 pixels from every border,
    so its filter's boundary mode never matters and a valid convolution gives the same numbers).
    The grayscale input is used as it is; each channel is min-max scaled to [0, 1]
    (``normalise`` is ignored).
``kl``
    KL(softmax f(x) || softmax f(c)) with f a full-precision classifier (``classifier``: a callable
    from (N, 3, H, W) images in [0, 1] to logits; the caller wraps its input normalisation) and c
    the channel image min-max scaled to [0, 1] and replicated to 3 channels (``normalise`` is
    ignored). f(x) is evaluated on the colour input.

Decisions not in the paper: the normalisation above (so absolute values differ from the paper's;
compare trends and ratios, paper-method.md §6); computation in float32 by default (``dtype``;
skimage too computes SSIM in float32 for float32 images; float64 agrees with skimage to ~1e-15,
float32 to ~1e-6); a channel is "constant" when its spread (std for ``standard``, max - min
otherwise) is below 100 machine epsilons of its magnitude. Resizing and the Gaussian filter are done as matrix
products (the bilinear matrix is F.interpolate applied to the identity), which is much faster on
CPU than ``F.interpolate``/``conv2d`` over many one-channel images; SSIM runs in chunks of
images (``SSIM_CHUNK_ELEMENTS``) so its buffers stay in cache.

Quantized IRs (the paper's Fig. 8) need nothing special: few-level and all-zero channels are
handled (an all-zero channel is at distance 2 under ``mse``/standard).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F

DISTANCES: tuple[str, ...] = ("mse", "ssim", "kl")
NORMALISATIONS: tuple[str, ...] = ("standard", "minmax")
GRAY_WEIGHTS: tuple[float, float, float] = (0.299, 0.587, 0.114)  # ITU-R BT.601 luma

# SSIM (Wang et al. 2004) as scikit-image computes it with gaussian_weights=True
SSIM_SIGMA: float = 1.5
SSIM_TRUNCATE: float = 3.5
SSIM_RADIUS: int = int(SSIM_TRUNCATE * SSIM_SIGMA + 0.5)  # 5, as scipy.ndimage rounds it
SSIM_WIN_SIZE: int = 2 * SSIM_RADIUS + 1  # 11
SSIM_K1: float = 0.01
SSIM_K2: float = 0.03
SSIM_DATA_RANGE: float = 1.0
SSIM_CHUNK_ELEMENTS: int = 1 << 19  # channel pixels per batched SSIM step (keeps buffers in cache)

Classifier = Callable[[torch.Tensor], torch.Tensor]
_KL_NEEDS_CLASSIFIER = ("dist='kl' needs classifier=f, a callable from (N, 3, H, W) images in [0, 1] "
                        "to logits (the full-precision model, wrapped with its input normalisation)")


@dataclass(frozen=True)
class PrivacyResult:
    """Eq. 1 for a batch: ``value`` is the batch mean of ``per_image``.

    ``distances[b, i]`` = dist(x_b, resize(IR_b[i])); ``per_image[b]`` its minimum over channels,
    reached at channel ``argmin[b]`` (the channel shown in the paper's Fig. 3).
    """

    value: float
    per_image: torch.Tensor  # (B,)
    distances: torch.Tensor  # (B, C)
    argmin: torch.Tensor  # (B,) long
    dist: str
    normalise: str


# --- input handling ------------------------------------------------------------------------------

def _as_tensor(a: torch.Tensor | np.ndarray, name: str) -> torch.Tensor:
    if isinstance(a, np.ndarray):
        a = torch.from_numpy(a)
    if not isinstance(a, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or numpy array, got {type(a).__name__}")
    return a


def check_inputs(x: torch.Tensor, ir: torch.Tensor) -> None:
    """Raise ValueError unless x is (B, 3 or 1, H, W) and ir is (B, C, h, w) with the same B."""
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(
            f"x must be a batch of images of shape (B, 3, H, W) (or (B, 1, H, W) if already "
            f"grayscale), got shape {tuple(x.shape)}"
        )
    if ir.ndim != 4:
        raise ValueError(
            f"ir must be an intermediate result of shape (B, C, h, w), got shape {tuple(ir.shape)}"
        )
    if x.shape[0] != ir.shape[0]:
        raise ValueError(
            f"batch sizes differ: x has shape {tuple(x.shape)} (B, 3, H, W) and ir has shape "
            f"{tuple(ir.shape)} (B, C, h, w); both need the same B"
        )
    if not x.is_floating_point():
        raise ValueError(f"x must hold float images in [0, 1], got dtype {x.dtype} (divide uint8 by 255)")
    if x.shape[0] == 0 or ir.shape[1] == 0 or min(ir.shape[2:]) == 0 or min(x.shape[2:]) == 0:
        raise ValueError(f"empty input: x {tuple(x.shape)}, ir {tuple(ir.shape)}")
    check_values(x, ir)


def check_values(x: torch.Tensor, ir: torch.Tensor) -> None:
    """Raise ValueError unless x and ir are finite and x lies in [0, 1] (Eq. 1–2, docs/decisions/paper-method.md §4: P compares the
    un-normalised input; images in [0, 255] or [-1, 1] would give a plausible but wrong P;
    docs/decisions/data-integrity.md §7)."""
    for name, t in (("x", x), ("ir", ir)):
        finite = torch.isfinite(t.detach())
        if not bool(finite.all()):
            raise ValueError(f"{name} holds {int((~finite).sum())} non-finite value(s) (NaN or ±inf); "
                             "P is undefined for them")
    lo, hi = (float(v) for v in torch.aminmax(x.detach()))
    if lo < 0.0 or hi > 1.0:
        raise ValueError(
            f"x must hold un-normalised images in [0, 1], got values in [{lo:.4g}, {hi:.4g}]: "
            "divide uint8 images by 255 (paperlib.method.data.to_unit) and undo any mean/std or [-1, 1] "
            "normalisation before measuring privacy")


def grayscale(x: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB -> (B, H, W) luma 0.299 R + 0.587 G + 0.114 B; (B, 1, H, W) passes through."""
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"x must have shape (B, 3, H, W) or (B, 1, H, W), got {tuple(x.shape)}")
    if x.shape[1] == 1:
        return x[:, 0]
    w = torch.tensor(GRAY_WEIGHTS, dtype=x.dtype, device=x.device)
    return torch.einsum("bchw,c->bhw", x, w)


def interpolation_matrix(n_in: int, n_out: int, dtype: torch.dtype = torch.float32,
                         device: torch.device | str | None = None) -> torch.Tensor:
    """(n_out, n_in) matrix of 1-D linear resizing as ``F.interpolate`` (bilinear, align_corners=False).

    Built by resizing the identity, so ``A_h @ img @ A_w.T`` is exactly F.interpolate's separable
    bilinear resize (up to rounding), computed with two matrix products.
    """
    eye = torch.eye(n_in, dtype=dtype, device=device).view(n_in, 1, n_in, 1)
    return F.interpolate(eye, size=(n_out, 1), mode="bilinear", align_corners=False)[:, 0, :, 0].T


def resize_channels(ir: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Every channel of (B, C, h, w) resized to (B, C, H, W): bilinear, align_corners=False."""
    (h, w), (hh, ww) = ir.shape[-2:], tuple(size)
    if (h, w) == (hh, ww):
        return ir
    a_h = interpolation_matrix(h, hh, ir.dtype, ir.device) if h != hh else None
    a_w = interpolation_matrix(w, ww, ir.dtype, ir.device) if w != ww else None
    return _resize_with(ir, a_h, a_w)


def _resize_with(ir: torch.Tensor, a_h: torch.Tensor | None, a_w: torch.Tensor | None) -> torch.Tensor:
    """A_h @ ir @ A_w.T, skipping an identity (None) side."""
    out = ir if a_h is None else torch.matmul(a_h, ir)
    return out if a_w is None else torch.matmul(out, a_w.T)


def _is_constant(spread: torch.Tensor, magnitude: torch.Tensor) -> torch.Tensor:
    """A row counts as constant when its spread is below 100 machine epsilons of its magnitude."""
    return spread <= 100 * torch.finfo(spread.dtype).eps * magnitude


def standardise(v: torch.Tensor) -> torch.Tensor:
    """Per row of (..., N): zero mean, unit population variance; constant rows become zeros."""
    mean = v.mean(dim=-1, keepdim=True)
    centred = v - mean
    std = centred.square().mean(dim=-1, keepdim=True).sqrt()
    constant = _is_constant(std, mean.abs())
    return torch.where(constant, 0.0, centred / torch.where(constant, 1.0, std))


def minmax(v: torch.Tensor) -> torch.Tensor:
    """Per row of (..., N): scaled to [0, 1]; constant rows become zeros."""
    lo, inv_span = _range(v)
    return (v - lo) * inv_span


def _range(v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per row of (..., N): its minimum and 1 / (max - min), the latter 0 for a constant row."""
    lo, hi = v.amin(dim=-1, keepdim=True), v.amax(dim=-1, keepdim=True)
    span = hi - lo
    constant = _is_constant(span, torch.maximum(lo.abs(), hi.abs()))
    return lo, torch.where(constant, 0.0, 1.0 / torch.where(constant, 1.0, span))


def _minmax_images(y: torch.Tensor) -> torch.Tensor:
    """min-max scale every (H, W) image of a (..., H, W) tensor to [0, 1]."""
    return minmax(y.flatten(-2)).view(y.shape)


# --- distances: each returns the (B, C) matrix dist(x_b, channel_{b,i}) ----------------------------

def mse_distances(gray: torch.Tensor, chans: torch.Tensor, normalise: str = "standard") -> torch.Tensor:
    """Eq. 2 between every grayscale input (B, H, W) and each of its channel images (B, C, H, W).

    ``standard``: 2 (1 - rho), rho from one batched inner product with the standardised input
    (rho = 0 for a constant image); ``minmax``: E[x^2] - 2 E[xy] + E[y^2] of the [0, 1]-scaled
    images. Neither forms a (B, C, H, W) difference tensor.
    """
    if normalise not in NORMALISATIONS:
        raise ValueError(f"unknown normalise={normalise!r}; choose one of {', '.join(NORMALISATIONS)}")
    g = gray.flatten(1)  # (B, N)
    c = chans.flatten(2)  # (B, C, N)
    n = g.shape[-1]
    if normalise == "standard":
        gz = standardise(g)  # sums to 0, so the channels need no centring for the inner product
        mean = c.mean(dim=-1, keepdim=True)
        centred = c - mean
        std = (torch.einsum("bcn,bcn->bc", centred, centred) / n).sqrt()
        constant = _is_constant(std, mean.squeeze(-1).abs())
        rho = torch.einsum("bn,bcn->bc", gz, centred) / (n * torch.where(constant, 1.0, std))
        return torch.where(constant, 2.0, 2.0 * (1.0 - rho)).clamp_(0.0, 4.0)
    g = minmax(g)
    lo, inv_span = _range(c)
    inv_span = inv_span.squeeze(-1)
    shifted = c - lo
    cross = torch.einsum("bn,bcn->bc", g, shifted) * (inv_span / n)
    y2 = torch.einsum("bcn,bcn->bc", shifted, shifted) * (inv_span.square() / n)
    return (g.square().mean(-1, keepdim=True) - 2 * cross + y2).clamp_(min=0.0)


def gaussian_window(sigma: float = SSIM_SIGMA, radius: int = SSIM_RADIUS,
                    dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The normalised 1-D Gaussian scipy.ndimage.gaussian_filter uses (2 radius + 1 taps)."""
    k = torch.arange(-radius, radius + 1, dtype=torch.float64)
    w = torch.exp(-0.5 * (k / sigma) ** 2)
    return (w / w.sum()).to(dtype)


def valid_filter_matrix(n: int, window: torch.Tensor) -> torch.Tensor:
    """(n, n - k + 1) banded matrix M with (v @ M)[j] = sum_t window[t] v[j + t] (a valid correlation)."""
    k = window.numel()
    if n < k:
        raise ValueError(f"a {k}-tap window needs at least {k} pixels, got {n}")
    offset = torch.arange(n, device=window.device)[:, None] - torch.arange(n - k + 1, device=window.device)
    inside = (offset >= 0) & (offset < k)
    return torch.where(inside, window[offset.clamp(0, k - 1)], 0.0)


def valid_gaussian_filter(img: torch.Tensor, window: torch.Tensor | None = None) -> torch.Tensor:
    """Separable Gaussian filter of (..., H, W) images at the valid positions -> (..., H-2r, W-2r).

    Equals ``skimage.filters.gaussian(img, sigma=1.5, truncate=3.5)`` cropped by r = 5 on every
    side (whatever its boundary mode), as two banded matrix products.
    """
    if window is None:
        window = gaussian_window(dtype=img.dtype).to(img.device)
    g_h = valid_filter_matrix(img.shape[-2], window)
    g_w = valid_filter_matrix(img.shape[-1], window)
    return torch.matmul(g_h.T, torch.matmul(img, g_w))


def ssim_distances(gray: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
    """1 - SSIM between every grayscale input (B, H, W) and each channel of its IR (B, C, h, w).

    Each channel is resized to (H, W) and min-max scaled to [0, 1]; the numbers are those of
    skimage's ``structural_similarity`` with gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=1 (see the module docstring). Images are processed
    in chunks of about ``SSIM_CHUNK_ELEMENTS`` channel pixels.
    """
    b, c = ir.shape[:2]
    hh, ww = gray.shape[-2:]
    if min(hh, ww) < SSIM_WIN_SIZE:
        raise ValueError(
            f"SSIM needs images of at least {SSIM_WIN_SIZE}x{SSIM_WIN_SIZE} pixels (its Gaussian "
            f"window), got {hh}x{ww}"
        )
    step = max(1, SSIM_CHUNK_ELEMENTS // (c * hh * ww))
    ops = _SsimOperators.build(ir.shape[-2:], (hh, ww), ir.dtype, ir.device)
    return torch.cat([_ssim_chunk(gray[i:i + step], ir[i:i + step], ops) for i in range(0, b, step)])


@dataclass(frozen=True)
class _SsimOperators:
    """The linear maps SSIM needs, as matrices: valid Gaussian filters, and filter after resize."""

    g_h: torch.Tensor  # (H, H') valid filter along rows: G_h.T @ img
    g_w: torch.Tensor  # (W, W') valid filter along columns: img @ G_w
    a_h: torch.Tensor | None  # (H, h) bilinear resize, None when h == H
    a_w: torch.Tensor | None  # (W, w)
    f_h: torch.Tensor  # (H', h) = G_h.T @ A_h: resize then filter, in one
    f_w: torch.Tensor  # (w, W') = A_w.T @ G_w

    @classmethod
    def build(cls, small: tuple[int, int], size: tuple[int, int], dtype: torch.dtype,
              device: torch.device) -> "_SsimOperators":
        (h, w), (hh, ww) = small, size
        window = gaussian_window(dtype=dtype).to(device)
        g_h, g_w = valid_filter_matrix(hh, window), valid_filter_matrix(ww, window)
        a_h = interpolation_matrix(h, hh, dtype, device) if h != hh else None
        a_w = interpolation_matrix(w, ww, dtype, device) if w != ww else None
        f_h = g_h.T if a_h is None else g_h.T @ a_h
        f_w = g_w if a_w is None else a_w.T @ g_w
        return cls(g_h, g_w, a_h, a_w, f_h, f_w)

    def filter(self, img: torch.Tensor) -> torch.Tensor:
        """Gaussian filter of (..., H, W) images at the valid positions."""
        return torch.matmul(self.g_h.T, torch.matmul(img, self.g_w))


def _ssim_chunk(gray: torch.Tensor, ir: torch.Tensor, ops: _SsimOperators) -> torch.Tensor:
    """1 - SSIM for one chunk of images; see ``ssim_distances``.

    With r the resized channel (centred per channel; min-max is shift-free) and y = (r - lo) s its
    min-max scaling, the local statistics follow from those of r: E[y] = (E[r] - lo) s,
    Var[y] = s^2 Var[r], Cov[x, y] = s Cov[x, r]. E[r] comes straight from the small IR (resize and
    filter are one linear map; the window sums to 1); E[r^2] and E[x r] are filtered at full size.
    """
    b, c = ir.shape[:2]
    ir = ir - ir.mean(dim=(-2, -1), keepdim=True)
    r = _resize_with(ir, ops.a_h, ops.a_w)  # (B, C, H, W)
    lo, scale = (t.unsqueeze(-1) for t in _range(r.flatten(-2)))  # (B, C, 1, 1); scale 0 if constant
    stats = torch.empty((b, 2, c, *r.shape[-2:]), dtype=r.dtype, device=r.device)
    torch.mul(r, r, out=stats[:, 0])
    torch.mul(r, gray.unsqueeze(1), out=stats[:, 1])
    urr, uxr = ops.filter(stats).unbind(1)  # (B, C, H', W')
    ur = torch.matmul(torch.matmul(ops.f_h, ir), ops.f_w)
    ux, uxx = ops.filter(torch.stack([gray, gray.square()], 1)).unsqueeze(2).unbind(1)  # (B, 1, H', W')
    c1 = (SSIM_K1 * SSIM_DATA_RANGE) ** 2
    c2 = (SSIM_K2 * SSIM_DATA_RANGE) ** 2
    # S = (2 ux uy + C1)(2 vxy + C2) / ((ux^2 + uy^2 + C1)(vx + vy + C2)), in place on (B, C, H', W')
    vy = urr.sub_(ur.square()).mul_(scale.square())
    vxy = uxr.sub_(ux * ur).mul_(scale)
    uy = ur.sub_(lo).mul_(scale)
    num = (ux * uy).mul_(2.0).add_(c1).mul_(vxy.mul_(2.0).add_(c2))
    den = uy.square_().add_(ux.square() + c1).mul_(vy.add_(uxx - ux.square() + c2))
    return 1.0 - num.div_(den).mean(dim=(-2, -1), dtype=torch.float64)


def kl_distances(x: torch.Tensor, chans: torch.Tensor, classifier: Classifier,
                 chunk_size: int = 256) -> torch.Tensor:
    """KL(softmax f(x_b) || softmax f(c_{b,i})) for colour inputs x (B, 3, H, W), channels (B, C, H, W).

    Each channel is min-max scaled to [0, 1] and replicated to 3 channels; the classifier runs
    under ``torch.no_grad`` in chunks of ``chunk_size`` images, in ``x``'s dtype.
    """
    if classifier is None:
        raise ValueError(_KL_NEEDS_CLASSIFIER)
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    b, c, h, w = chans.shape
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    images = _minmax_images(chans).reshape(b * c, 1, h, w)
    with torch.no_grad():
        log_p = _log_softmax_chunks(classifier, x, chunk_size)  # (B, K)
        log_q = _log_softmax_chunks(classifier, images.to(x.dtype).expand(-1, 3, -1, -1), chunk_size)
    log_q = log_q.view(b, c, -1)
    return (log_p.exp().unsqueeze(1) * (log_p.unsqueeze(1) - log_q)).sum(-1).clamp_(min=0.0)


def _log_softmax_chunks(classifier: Classifier, images: torch.Tensor, chunk_size: int) -> torch.Tensor:
    outs = [classifier(images[i:i + chunk_size]) for i in range(0, images.shape[0], chunk_size)]
    logits = torch.cat(outs).to(torch.float64)
    if logits.ndim != 2 or logits.shape[0] != images.shape[0]:
        raise ValueError(f"classifier must return logits of shape (N, classes), got {tuple(logits.shape)}")
    return F.log_softmax(logits, dim=-1)


# --- Eq. 1 ---------------------------------------------------------------------------------------

def distance_matrix(x: torch.Tensor | np.ndarray, ir: torch.Tensor | np.ndarray, dist: str = "mse",
                    normalise: str = "standard", classifier: Classifier | None = None,
                    chunk_size: int = 256, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The (B, C) matrix dist(x_b, resize(IR_b[i])) whose row minima are Eq. 1."""
    x, ir = _as_tensor(x, "x"), _as_tensor(ir, "ir")
    check_inputs(x, ir)
    if dist not in DISTANCES:
        raise ValueError(f"unknown dist={dist!r}; choose one of {', '.join(DISTANCES)}")
    if normalise not in NORMALISATIONS:
        raise ValueError(f"unknown normalise={normalise!r}; choose one of {', '.join(NORMALISATIONS)}")
    if dist == "kl" and classifier is None:
        raise ValueError(_KL_NEEDS_CLASSIFIER)
    x, ir = x.detach().to(ir.device), ir.detach().to(dtype)
    if dist == "ssim":
        return ssim_distances(grayscale(x.to(dtype)), ir)
    chans = resize_channels(ir, tuple(x.shape[-2:]))
    if dist == "kl":
        return kl_distances(x, chans, classifier, chunk_size)
    return mse_distances(grayscale(x.to(dtype)), chans, normalise)


def privacy_details(x: torch.Tensor | np.ndarray, ir: torch.Tensor | np.ndarray, dist: str = "mse",
                    normalise: str = "standard", classifier: Classifier | None = None,
                    chunk_size: int = 256, dtype: torch.dtype = torch.float32) -> PrivacyResult:
    """Eq. 1 for every image of a batch, with the full distance matrix and the chosen channels.

    x: (B, 3, H, W) un-normalised images in [0, 1]; ir: (B, C, h, w) IR of those images.
    See the module docstring for ``dist``, ``normalise`` and ``classifier``.
    """
    d = distance_matrix(x, ir, dist, normalise, classifier, chunk_size, dtype)
    per_image, argmin = d.min(dim=1)
    return PrivacyResult(float(per_image.mean()), per_image, d, argmin, dist, normalise)


def privacy(x: torch.Tensor | np.ndarray, ir: torch.Tensor | np.ndarray, dist: str = "mse",
            normalise: str = "standard", classifier: Classifier | None = None,
            chunk_size: int = 256, dtype: torch.dtype = torch.float32) -> float:
    """P(x, IR) of Eq. 1 averaged over the batch (paper-method.md §4); MSE (Eq. 2) by default."""
    return privacy_details(x, ir, dist, normalise, classifier, chunk_size, dtype).value


def privacy_over(batches: Iterable, ir_fn: Callable[[torch.Tensor], torch.Tensor], dist: str = "mse",
                 normalise: str = "standard", classifier: Classifier | None = None,
                 chunk_size: int = 256, dtype: torch.dtype = torch.float32) -> PrivacyResult:
    """Eq. 1 averaged over an evaluation set given in batches.

    ``batches`` yields input batches x (or tuples whose first item is x, e.g. (x, labels));
    ``ir_fn(x)`` returns their IR (e.g. the edge part of a split model). The result holds every
    image's row, concatenated; ``value`` is the mean over all images.
    """
    rows: list[PrivacyResult] = []
    for batch in batches:
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        x = _as_tensor(x, "x")
        with torch.no_grad():
            ir = ir_fn(x)
        rows.append(privacy_details(x, ir, dist, normalise, classifier, chunk_size, dtype))
    if not rows:
        raise ValueError("privacy_over got no batches")
    per_image = torch.cat([r.per_image.cpu() for r in rows])
    return PrivacyResult(
        float(per_image.mean()),
        per_image,
        torch.cat([r.distances.cpu() for r in rows]),
        torch.cat([r.argmin.cpu() for r in rows]),
        dist,
        normalise,
    )


def channel_image(ir: torch.Tensor | np.ndarray, index: int, size: tuple[int, int] | int) -> torch.Tensor:
    """Channel ``index`` of one image's IR, as the (H, W) grayscale picture of the paper's Fig. 3.

    ``ir``: (C, h, w) or (1, C, h, w); resized to ``size`` (bilinear, align_corners=False) and
    min-max scaled to [0, 1] for display (a constant channel gives zeros).
    """
    ir = _as_tensor(ir, "ir")
    if ir.ndim == 4 and ir.shape[0] == 1:
        ir = ir[0]
    if ir.ndim != 3:
        raise ValueError(f"ir must be one image's IR of shape (C, h, w) or (1, C, h, w), got {tuple(ir.shape)}")
    if not -ir.shape[0] <= index < ir.shape[0]:
        raise ValueError(f"channel index {index} out of range for an IR with {ir.shape[0]} channels")
    size = (size, size) if isinstance(size, int) else tuple(size)
    img = resize_channels(ir[index][None, None].detach().to(torch.float64), size)[0, 0]
    return _minmax_images(img)
