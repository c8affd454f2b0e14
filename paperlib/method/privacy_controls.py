"""Resolution controls for the privacy metric P (Eq. 1; docs/decisions/attacks.md §11).

P compares the input with each channel of an IR resized to the input's size, so a low-resolution
IR is far from the input whatever its channels learnt. To show what P measures beyond the IR's
shape, these functions build *non-learned* feature maps of a given shape ``(C, h, w)`` from the
input itself; the P of a learned IR is then read beside theirs:

``avgpool``
    the input's three colour channels average-pooled to ``h × w``, repeated cyclically to ``C``
    channels (P is a minimum over channels, so the repeats change nothing): what the input alone
    looks like at that resolution.
``orthogonal``
    a random linear map with orthonormal rows from each input patch (``k × k × 3`` values,
    ``k = round(H / h)``) to the ``C`` channels at that patch: a strided convolution with random
    orthogonal weights, i.e. a network at random initialisation without its nonlinearities.
``constant``
    every channel constant: P's definition gives exactly 2 for it (a zero-variance channel counts
    as ρ = 0, so MSE = 2 (1 − ρ) = 2; docs/decisions/paper-method.md §4).
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

from .privacy import check_values, privacy

CONTROLS: tuple[str, ...] = ("avgpool", "orthogonal", "constant")


def _check_shape(x: torch.Tensor, shape: Sequence[int]) -> tuple[int, int, int]:
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"x must be a batch of RGB images (B, 3, H, W) in [0, 1], got shape {tuple(x.shape)}")
    if len(shape) != 3 or min(int(v) for v in shape) < 1:
        raise ValueError(f"shape must be the IR's (C, h, w) with positive sizes, got {tuple(shape)}")
    c, h, w = (int(v) for v in shape)
    if h > x.shape[-2] or w > x.shape[-1]:
        raise ValueError(f"shape {tuple(shape)} is finer than the input {tuple(x.shape[-2:])}: a control "
                         "map is the input at the IR's (lower or equal) resolution")
    return c, h, w


def avgpool_map(x: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """(B, C, h, w): the colour channels of ``x`` average-pooled to ``h × w`` (adaptive pooling),
    repeated cyclically to ``C`` channels."""
    c, h, w = _check_shape(x, shape)
    pooled = F.adaptive_avg_pool2d(x, (h, w))
    return pooled[:, [i % 3 for i in range(c)]]


def orthogonal_rows(rows: int, cols: int, seed: int = 0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A ``rows × cols`` random matrix Q with orthonormal rows (Q Qᵀ = I) when rows ≤ cols, else
    orthonormal columns (QᵀQ = I): the Q of the QR decomposition of a seeded Gaussian matrix, signs
    fixed so that the draw is unique."""
    gen = torch.Generator().manual_seed(int(seed))
    a = torch.randn(max(rows, cols), min(rows, cols), generator=gen, dtype=torch.float64)
    q, r = torch.linalg.qr(a)
    q = q * torch.sign(torch.diagonal(r)).where(torch.diagonal(r) != 0, torch.ones(()))
    q = q if rows >= cols else q.T  # (rows, cols)
    return q.to(dtype)


def orthogonal_map(x: torch.Tensor, shape: Sequence[int], seed: int = 0) -> torch.Tensor:
    """(B, C, h, w): each ``k × k`` patch of ``x`` (``k = round(H / h)``; ``x`` resized bilinearly
    to ``(k h, k w)`` when that is not its size) mapped to ``C`` values by
    :func:`orthogonal_rows`."""
    c, h, w = _check_shape(x, shape)
    k = max(1, round(x.shape[-2] / h))
    if tuple(x.shape[-2:]) != (k * h, k * w):
        x = F.interpolate(x, size=(k * h, k * w), mode="bilinear", align_corners=False)
    patches = F.unfold(x, kernel_size=k, stride=k)  # (B, 3 k², h w)
    q = orthogonal_rows(c, patches.shape[1], seed, x.dtype)
    return torch.matmul(q, patches).view(x.shape[0], c, h, w)


def constant_map(x: torch.Tensor, shape: Sequence[int], value: float = 0.0) -> torch.Tensor:
    """(B, C, h, w) of ``value`` everywhere: its P is 2 by definition."""
    c, h, w = _check_shape(x, shape)
    return torch.full((x.shape[0], c, h, w), float(value), dtype=x.dtype)


def control_map(kind: str, x: torch.Tensor, shape: Sequence[int], seed: int = 0) -> torch.Tensor:
    """The control feature map ``kind`` (one of :data:`CONTROLS`) of ``x`` at ``shape``."""
    if kind == "avgpool":
        return avgpool_map(x, shape)
    if kind == "orthogonal":
        return orthogonal_map(x, shape, seed)
    if kind == "constant":
        return constant_map(x, shape)
    raise ValueError(f"unknown control kind={kind!r}; choose one of {', '.join(CONTROLS)}")


def control_privacy(x: torch.Tensor, shape: Sequence[int], kinds: Sequence[str] = CONTROLS,
                    seed: int = 0) -> dict[str, float]:
    """P (Eq. 1, MSE) of each control map of ``kinds`` for the images ``x`` at the IR shape ``shape``."""
    check_values(x, x)
    return {kind: privacy(x, control_map(kind, x, shape, seed)) for kind in kinds}


def resolution_control(x: torch.Tensor, ir: torch.Tensor, kinds: Sequence[str] = CONTROLS,
                       seed: int = 0) -> dict[str, float]:
    """P of the learned ``ir`` of the images ``x`` beside the P of each control map of the same
    shape (``P_avgpool``, …), and ``P_beyond_shape`` = P − P_avgpool: what the learned channels add
    to (or take from) the privacy of the input merely seen at the IR's resolution."""
    if ir.ndim != 4 or ir.shape[0] != x.shape[0]:
        raise ValueError(f"ir must be the (B, C, h, w) IR of the B images of x; got ir {tuple(ir.shape)}, "
                         f"x {tuple(x.shape)}")
    out = {"P": privacy(x, ir)}
    out.update({f"P_{k}": v for k, v in control_privacy(x, tuple(ir.shape[1:]), kinds, seed).items()})
    if "P_avgpool" in out:
        out["P_beyond_shape"] = out["P"] - out["P_avgpool"]
    return out


__all__ = ["CONTROLS", "avgpool_map", "orthogonal_rows", "orthogonal_map", "constant_map",
           "control_map", "control_privacy", "resolution_control"]
