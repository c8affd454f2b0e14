"""Time the request-stream simulation: a 1,000-second trace x every scheduler.

    python benchmarks/bench_network.py [--trace ATT-LTE-driving] [--model resnet18] [--repeat 3]

Uses a model-shaped synthetic path set (``paperlib.network.paths.synthetic``: real MACs and IR
sizes, made-up accuracies; no checkpoint needed) and a published trace from
``$PAPERLIB_DATA_DIR/network-traces`` (a fixed 1 Mbit/s link of the same length without one).
Prints, per scheduler, the requests simulated per second (best of ``--repeat``), the engine it
runs on, and for the schedulers that can run on both engines the speed ratio of the vectorised
engine over the per-request loop, measured in this run.
"""

from __future__ import annotations

import argparse
import time


from paperlib.studies import nb10_network
from paperlib.network import paths, traces
from paperlib.network.link import Link
from paperlib.network.schedulers import SCHEDULERS
from paperlib.network.simulate import PathTable, Scenario, run_adaptive, run_fixed


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trace", default="ATT-LTE-driving", choices=list(traces.CATALOGUE))
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--qor", type=float, default=0.8)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    if args.trace in traces.available():
        link = Link.from_trace(traces.load(args.trace))
    else:
        link = Link.fixed_rate(1e6, "lte", "fixed 1 Mbit/s (no trace found)")
    sc = Scenario(link, duration_ms=None if not link.synthetic else 1_012_000.0)
    ps = paths.synthetic(args.model, images=1000)
    table = PathTable.from_set(ps, sc.utilisation)
    n = sc.arrivals().size
    print(f"{link.name}: {n} requests over {sc.arrivals()[-1] / 1e3:.0f} s, model {args.model} "
          f"(synthetic paths), QoR {args.qor}")
    print(f"{'scheduler':<20} {'engine':<10} {'ms':>8} {'requests/s':>12} {'vectorised / loop':>18}")
    total = 0.0
    for name in SCHEDULERS.names():
        entry = SCHEDULERS.entry(name)
        seconds = best_of(lambda: nb10_network.simulate(ps, sc, name, args.qor, table), args.repeat)
        total += seconds
        ratio = ""
        if not entry.adaptive:
            sched = entry.obj(table, ps, args.qor * ps.full_top1, sc.rtt)
            images = sc.images(n, table.correct.shape[1])
            choice = sched.fixed(images)
            t_vec = best_of(lambda: run_fixed(choice, table, sc, images=images), args.repeat)
            t_loop = best_of(lambda: run_adaptive(sched, table, sc, images=images), args.repeat)
            ratio = f"{t_loop / t_vec:.1f}x"
        print(f"{name:<20} {'loop' if entry.adaptive else 'vectorised':<10} {seconds * 1e3:8.1f} "
              f"{n / seconds:12,.0f} {ratio:>18}")
    print(f"every scheduler once on this trace: {total:.2f} s")
    grid = len(SCHEDULERS) * 4
    print(f"(x 4 QoR floors = {grid} simulations: ~{total * 4:.1f} s per trace and model)")


if __name__ == "__main__":
    main()
