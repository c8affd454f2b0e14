"""Time the energy model: the search's fast evaluator per genome and the public ``edge_energy``.

    python benchmarks/bench_energy.py [--models resnet18 vgg11] [--genomes 200] [--repeat 5]

Prints, per model, the one-off trace time and the microseconds per call (best of ``--repeat``).
"""

from __future__ import annotations

import argparse
import time
import timeit

import numpy as np
import torch

from paperlib.method import energy, models
from paperlib.method.constants import ACTIVATION_BITS, WEIGHT_BITS


def random_genomes(em: energy.EnergyModel, n: int, seed: int = 0) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """``n`` random (p, bw, ba) genomes as the search draws them (R_w, R_a of the paper)."""
    rng = np.random.default_rng(seed)
    return [(int(rng.integers(0, em.num_units + 1)),
             rng.choice(WEIGHT_BITS, em.n_layers).astype(np.float64),
             rng.choice(ACTIVATION_BITS, em.n_layers).astype(np.float64)) for _ in range(n)]


def bench_model(name: str, n_genomes: int, repeat: int) -> dict:
    with torch.device("meta"):
        net = models.build(name)
    t0 = time.perf_counter()
    em = energy.EnergyModel.for_net(net)
    trace_s = time.perf_counter() - t0
    genomes = random_genomes(em, n_genomes)
    policies = [(p, [(int(w), int(a)) for w, a in zip(bw, ba)]) for p, bw, ba in genomes]

    def fast() -> None:
        for p, bw, ba in genomes:
            em.strategy_mj(p, bw, ba)

    def public() -> None:
        for p, policy in policies:
            energy.edge_energy(net, p, policy)

    fast_us = min(timeit.repeat(fast, number=1, repeat=repeat)) / n_genomes * 1e6
    public_us = min(timeit.repeat(public, number=1, repeat=repeat)) / n_genomes * 1e6
    return {"model": name, "layers": em.n_layers, "units": em.num_units,
            "trace_ms": trace_s * 1e3, "fast_us": fast_us, "edge_energy_us": public_us}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(models.MODELS),
                        choices=list(models.MODELS))
    parser.add_argument("--genomes", type=int, default=200, help="random genomes per timing")
    parser.add_argument("--repeat", type=int, default=5, help="timings; the best is reported")
    args = parser.parse_args(argv)
    header = f"{'model':<10} {'layers':>6} {'units':>5} {'trace ms':>9} {'fast µs':>8} {'edge_energy µs':>15}"
    print(header)
    print("-" * len(header))
    for name in args.models:
        r = bench_model(name, args.genomes, args.repeat)
        print(f"{r['model']:<10} {r['layers']:>6} {r['units']:>5} {r['trace_ms']:>9.1f} "
              f"{r['fast_us']:>8.1f} {r['edge_energy_us']:>15.1f}")


if __name__ == "__main__":
    main()
