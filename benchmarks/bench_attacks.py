"""Throughput of the white-box rMLE attack (docs/decisions/attacks.md §3): batched vs image by image.

``paperlib.attacks.invert_by_optimisation`` optimises a batch of images in one forward and backward
pass per iteration (each image's loss depends on its own pixels only, so the result equals the
image-by-image optimisation). This times it on ``--images`` images at once against a loop that
optimises them one at a time, through the edge of He et al.'s ``cifar10cnn`` (fresh weights: the
cost does not depend on them) at each ``--splits`` point, for ``--iterations`` iterations.
Reports images·iterations per second of both and their ratio; each time is the best of
``--repeats`` runs, the two paths interleaved so that both see the same machine load.

Usage: ``PYTHONPATH=. python benchmarks/bench_attacks.py [--splits conv11 ReLU12 ReLU22
--images 64 --iterations 10 --repeats 3 --threads 1]``.
"""

from __future__ import annotations

import argparse
import time

import torch

from paperlib import attacks
from paperlib.method import models


def _time(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bench_split(split: str, images: int, iterations: int, repeats: int) -> dict[str, float]:
    torch.manual_seed(0)
    net = models.build("cifar10cnn").eval()
    victim = attacks.deploy(net, attacks.resolve_point("cifar10cnn", split), dataset="cifar10")
    edge = victim.edge()
    x = torch.rand(images, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    ir = victim.oracle()(x)
    kw = dict(iterations=iterations, lr=0.05, tv=0.05)

    def batched() -> None:
        attacks.invert_by_optimisation(edge, ir, batch_size=images, **kw)

    def loop() -> None:
        for i in range(images):
            attacks.invert_by_optimisation(edge, ir[i:i + 1], batch_size=1, **kw)

    t_batch, t_loop = float("inf"), float("inf")
    for _ in range(repeats):
        t_batch = min(t_batch, _time(batched))
        t_loop = min(t_loop, _time(loop))
    work = images * iterations
    return {"split": split, "ir": "x".join(map(str, victim.info.ir_shape)),
            "batched": work / t_batch, "loop": work / t_loop, "speedup": t_loop / t_batch}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--splits", nargs="+", default=["conv11", "ReLU12", "ReLU22"])
    ap.add_argument("--images", type=int, default=64)
    ap.add_argument("--iterations", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"rMLE through cifar10cnn's edge, {args.images} images x {args.iterations} iterations, "
          f"{args.threads} thread(s), best of {args.repeats}")
    print(f"{'split':>8} {'IR':>10} {'batched img*it/s':>17} {'loop img*it/s':>14} {'speedup':>8}")
    for split in args.splits:
        r = bench_split(split, args.images, args.iterations, args.repeats)
        print(f"{r['split']:>8} {r['ir']:>10} {r['batched']:>17.1f} {r['loop']:>14.1f} "
              f"{r['speedup']:>7.1f}x")


if __name__ == "__main__":
    main()
