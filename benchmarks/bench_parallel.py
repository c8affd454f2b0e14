"""Parallel scoring of strategies (docs/decisions/scale.md §1-2), as ratios measured in one run.

* strategies/s of the ``process`` executor with W = 2 workers against ``local`` (in-process), on
  the same fixed random strategies with the ``finetune-batches`` estimator (target on 2 cores:
  ≥ 1.7×);
* Ray's overhead per job (ms): a trivial job through ``ray`` against ``local``.

    PAPERLIB_DATA_DIR=/tmp/synthdata PAPERLIB_ALLOW_PARTIAL_DATA=1 \\
        PAPERLIB_CHECKPOINT_DIR=/tmp/bench-ckpt python benchmarks/bench_parallel.py \\
        --profile smoke --strategies 16

(its own checkpoint folder: a smoke checkpoint trained on other data would be refused).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from paperlib import search  # noqa: E402
from paperlib.infra.executors import EXECUTORS, make_executor  # noqa: E402
from paperlib.search.evaluator import measure_strategy  # noqa: E402


def _noop(shared, item):
    return item


def strategies_per_second(evaluator, genomes, executor) -> float:
    t0 = time.perf_counter()
    executor.map(measure_strategy, evaluator.detached(), genomes)
    return len(genomes) / (time.perf_counter() - t0)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", default="smoke")
    ap.add_argument("--model", default="resnet18")
    ap.add_argument("--strategies", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--ray-jobs", type=int, default=50)
    args = ap.parse_args(argv)
    ctx = search.build_context(args.model, args.profile, progress=False,
                               estimator="finetune-batches")
    ev = ctx.evaluator(ctx.objective(0.35), "finetune-batches", seed=0)
    ev.estimator.prepare()
    rng = np.random.default_rng(0)
    genomes = [search.random_genome(ev.space, rng) for _ in range(args.strategies)]
    measure_strategy(ev.detached(), genomes[0])  # first-call costs outside the timing
    local = strategies_per_second(ev, genomes, make_executor("local"))
    with make_executor("process", workers=args.workers) as ex:
        # start the workers and pay their first-call costs outside the timing
        ex.map(measure_strategy, ev.detached(), genomes[:args.workers])
        pooled = strategies_per_second(ev, genomes, ex)
    report = {"model": args.model, "profile": args.profile, "strategies": args.strategies,
              "workers": args.workers, "local_strategies_per_s": local,
              "process_strategies_per_s": pooled, "speedup": pooled / local}
    if "ray" in EXECUTORS:
        try:
            with make_executor("ray", workers=args.workers) as ex:
                ex.map(_noop, None, [0] * args.workers)
                t0 = time.perf_counter()
                ex.map(_noop, None, list(range(args.ray_jobs)))
                ray_ms = (time.perf_counter() - t0) / args.ray_jobs * 1e3
            t0 = time.perf_counter()
            make_executor("local").map(_noop, None, list(range(args.ray_jobs)))
            local_ms = (time.perf_counter() - t0) / args.ray_jobs * 1e3
            report.update(ray_overhead_ms_per_job=ray_ms, local_overhead_ms_per_job=local_ms)
        except Exception as err:  # noqa: BLE001 - Ray missing, or a local Ray that failed to start
            report["ray"] = f"{type(err).__name__}: {err}"
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
