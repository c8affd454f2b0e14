"""Throughput of the privacy metric (Eq. 1, docs/decisions/paper-method.md §4): vectorised path vs
a per-channel loop.

For every distance, times ``paperlib.method.privacy.distance_matrix`` (all images and channels at once)
against a straightforward loop over images and channels:
  mse  - numpy, standardise both images and apply Eq. 2 per pair;
  ssim - ``skimage.metrics.structural_similarity`` per pair (same window and constants);
  kl   - the classifier called on one channel image at a time.
Reports image-channel pairs per second, the speedup, and the largest difference between the two.
Both sides run on one CPU thread by default (the loops are single-threaded); each time is the best
of ``--repeats`` runs, the vectorised and loop runs interleaved so that both see the same machine
load. Usage: ``PYTHONPATH=. python benchmarks/bench_privacy.py [--images 16 --channels 64
--ir-size 16 --repeats 5 --threads 1 --dtype float32]``.
"""

from __future__ import annotations

import argparse
import time
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from skimage.metrics import structural_similarity

from paperlib.method import privacy


def toy_classifier(size: int, classes: int = 10) -> Callable[[torch.Tensor], torch.Tensor]:
    """A small conv net standing in for the full-precision model f of the KL distance."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(), torch.nn.Linear(32, classes),
    ).eval()
    return net


def _minmax(a: np.ndarray) -> np.ndarray:
    span = a.max() - a.min()
    return np.zeros_like(a) if span == 0 else (a - a.min()) / span


def loop_mse(gray: np.ndarray, chans: np.ndarray) -> np.ndarray:
    out = np.empty(chans.shape[:2])
    for b in range(chans.shape[0]):
        g = gray[b]
        gz = (g - g.mean()) / g.std()
        for c in range(chans.shape[1]):
            y = chans[b, c]
            sd = y.std()
            out[b, c] = 2.0 if sd == 0 else np.mean((gz - (y - y.mean()) / sd) ** 2)
    return out


def loop_ssim(gray: np.ndarray, chans: np.ndarray) -> np.ndarray:
    out = np.empty(chans.shape[:2])
    for b in range(chans.shape[0]):
        for c in range(chans.shape[1]):
            out[b, c] = 1 - structural_similarity(
                gray[b], _minmax(chans[b, c]), gaussian_weights=True, sigma=1.5,
                use_sample_covariance=False, data_range=1.0)
    return out


def loop_kl(x: torch.Tensor, chans: np.ndarray, f) -> np.ndarray:
    out = np.empty(chans.shape[:2])
    with torch.no_grad():
        for b in range(chans.shape[0]):
            log_p = F.log_softmax(f(x[b:b + 1]).double(), -1)
            for c in range(chans.shape[1]):
                img = torch.from_numpy(_minmax(chans[b, c])).float().expand(1, 3, *chans.shape[2:])
                log_q = F.log_softmax(f(img).double(), -1)
                out[b, c] = float((log_p.exp() * (log_p - log_q)).sum())
    return out


def _timed(fn: Callable[[], object]) -> tuple[float, object]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def interleaved_best(vec: Callable[[], object], loop: Callable[[], object], repeats: int,
                     vec_per_loop: int = 5) -> tuple[float, object, float, object]:
    """Best time of each, alternating one loop run with ``vec_per_loop`` vectorised runs."""
    vec()  # warm-up
    t_vec = t_loop = float("inf")
    for _ in range(repeats):
        for _ in range(vec_per_loop):
            t, d_vec = _timed(vec)
            t_vec = min(t_vec, t)
        t, d_loop = _timed(loop)
        t_loop = min(t_loop, t)
    return t_vec, d_vec, t_loop, d_loop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--ir-size", type=int, default=16)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5, help="loop runs (vectorised: 5x as many)")
    parser.add_argument("--dists", nargs="+", default=list(privacy.DISTANCES), choices=privacy.DISTANCES)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)

    gen = torch.Generator().manual_seed(0)
    x = torch.rand(args.images, 3, args.image_size, args.image_size, generator=gen)
    ir = torch.relu(torch.randn(args.images, args.channels, args.ir_size, args.ir_size, generator=gen))
    size = (args.image_size, args.image_size)
    gray = privacy.grayscale(x.double()).numpy()
    chans = privacy.resize_channels(ir.double(), size).numpy()  # the loops get the resize for free
    f = toy_classifier(args.image_size)
    loops = {"mse": lambda: loop_mse(gray, chans), "ssim": lambda: loop_ssim(gray, chans),
             "kl": lambda: loop_kl(x, chans, f)}
    pairs = args.images * args.channels

    print(f"B={args.images} images {args.image_size}x{args.image_size}, IR {args.channels} channels "
          f"{args.ir_size}x{args.ir_size}, {args.dtype}, torch threads {torch.get_num_threads()}, "
          f"best of {args.repeats} loop / {5 * args.repeats} vectorised runs")
    print(f"{'dist':<5} {'vectorised ms':>14} {'pairs/s':>10} {'loop ms':>9} {'pairs/s':>9} {'speedup':>8} "
          f"{'max |diff|':>11}")
    for dist in args.dists:
        vec = lambda: privacy.distance_matrix(x, ir, dist, classifier=f, dtype=dtype)  # noqa: E731
        t_vec, d_vec, t_loop, d_loop = interleaved_best(vec, loops[dist], args.repeats)
        diff = float(np.abs(d_vec.numpy() - d_loop).max())
        print(f"{dist:<5} {1e3 * t_vec:>14.2f} {pairs / t_vec:>10,.0f} {1e3 * t_loop:>9.1f} "
              f"{pairs / t_loop:>9,.0f} {t_loop / t_vec:>7.1f}x {diff:>11.2e}")


if __name__ == "__main__":
    main()
