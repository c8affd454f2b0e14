"""Parallel scoring of strategies (docs/decisions/scale.md §8): rates and ratios from one run.

On the same fixed random strategies, with the ``finetune-batches`` estimator, strategies/s of:

* ``local`` in-process with 1 intra-op thread and with 2 (``torch.set_num_threads``);
* the ``process`` executor with W = 1 and W = 2 workers of one intra-op thread each
  (``threads_per_worker=1``);

and the ratios W2/W1 (scaling at one thread per worker: what two cores can show), W = 2 against
the in-process two-thread run (what the pool buys over PyTorch's own threads) and in-process 2
threads against 1. ``--rounds R`` rounds score the strategies once per set-up each, odd rounds in
reverse order (a load that drifts during the run weighs on all four alike). Ray's overhead per job
(ms): a trivial job through ``ray`` against ``local`` (skipped, with the reason in the report, where
Ray is missing or fails to start). Load averages before and after are recorded: the numbers mean
little on a machine other jobs keep busy.

    python -m paperlib data --synthetic /tmp/synthdata        # once: a small synthetic copy
    PAPERLIB_DATA_DIR=/tmp/synthdata PAPERLIB_ALLOW_PARTIAL_DATA=1 \\
        PAPERLIB_CHECKPOINT_DIR=/tmp/bench-ckpt python benchmarks/bench_parallel.py \\
        --profile smoke --strategies 4 --rounds 2

(its own checkpoint folder: a smoke checkpoint trained on other data would be refused). Prints a
table and the JSON report (``--json FILE`` also writes the report).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from paperlib import search  # noqa: E402
from paperlib.infra.executors import EXECUTORS, make_executor  # noqa: E402
from paperlib.search.evaluator import measure_strategy  # noqa: E402

# (key, label) of the four measured set-ups, in the order of the even rounds
SETUPS = (("local_1thread", "in-process, 1 intra-op thread"),
          ("local_2threads", "in-process, 2 intra-op threads"),
          ("process_w1", "process pool, W = 1 x 1 thread"),
          ("process_w2", "process pool, W = 2 x 1 thread"))
# (key, numerator, denominator, label) of the reported ratios
RATIOS = (("scaling_w2_over_w1", "process_w2", "process_w1", "W = 2 / W = 1 (1 thread per worker)"),
          ("w2_over_local_2threads", "process_w2", "local_2threads",
           "W = 2 / in-process 2 threads"),
          ("local_2threads_over_1thread", "local_2threads", "local_1thread",
           "in-process 2 threads / 1 thread"))


def _noop(shared, item):
    return item


def _warm(shared, genome) -> tuple[int, int]:
    """Score ``genome`` (a worker's first-call costs) and say which worker ran it with how many
    intra-op threads (checks ``threads_per_worker``)."""
    measure_strategy(shared, (genome, None))
    return os.getpid(), torch.get_num_threads()


def seconds(evaluator, genomes, executor) -> float:
    """Wall seconds to score ``genomes`` through ``executor``."""
    t0 = time.perf_counter()
    executor.map(measure_strategy, evaluator.detached(), [(g, None) for g in genomes])
    return time.perf_counter() - t0


def local_seconds(evaluator, genomes, threads: int) -> float:
    """:func:`seconds` in-process with ``threads`` intra-op threads (the previous count restored
    after)."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return seconds(evaluator, genomes, make_executor("local"))
    finally:
        torch.set_num_threads(before)


def warm_pool(ex, evaluator, genomes) -> list[int]:
    """Start ``ex``'s one-thread workers and pay each one's first strategy outside the timing
    (warm-up rounds until every worker has scored one, at most three); the thread count each
    worker reported."""
    warmed: dict[int, int] = {}
    for _ in range(3):
        warmed.update(ex.map(_warm, evaluator.detached(), genomes[:ex.workers]))
        if len(warmed) == ex.workers:
            break
    return list(warmed.values())


def measure(evaluator, genomes, rounds: int) -> tuple[dict, dict, dict]:
    """Strategies/s of the four :data:`SETUPS` over ``rounds`` rounds, each scoring every genome
    once per set-up; odd rounds run the set-ups in reverse order, so that a load that drifts
    during the run weighs on all four alike. Returns (rates over all rounds, rates per round,
    worker thread counts)."""
    with make_executor("process", workers=1, threads_per_worker=1) as w1, \
            make_executor("process", workers=2, threads_per_worker=1) as w2:
        threads = {"process_w1": warm_pool(w1, evaluator, genomes),
                   "process_w2": warm_pool(w2, evaluator, genomes)}
        run = {"local_1thread": lambda: local_seconds(evaluator, genomes, 1),
               "local_2threads": lambda: local_seconds(evaluator, genomes, 2),
               "process_w1": lambda: seconds(evaluator, genomes, w1),
               "process_w2": lambda: seconds(evaluator, genomes, w2)}
        per_round: dict[str, list[float]] = {key: [] for key, _ in SETUPS}
        for r in range(rounds):
            order = [key for key, _ in SETUPS]
            for key in order if r % 2 == 0 else order[::-1]:
                per_round[key].append(run[key]())
    n = len(genomes)
    rates = {key: n * len(secs) / sum(secs) for key, secs in per_round.items()}
    return rates, {key: [n / x for x in secs] for key, secs in per_round.items()}, threads


def ratios(rates: dict[str, float]) -> dict[str, float]:
    return {key: rates[num] / rates[den] for key, num, den, _ in RATIOS}


def table(report: dict) -> str:
    """The report as a readable table: the four rates, then the ratios."""
    rounds = report["rates_per_round"]
    rows = [f"{'set-up':<34} {'strategies/s':>12}   per round"]
    rows += [f"{label:<34} {report['rates'][key]:>12.4f}   "
             + " ".join(f"{x:.4f}" for x in rounds[key]) for key, label in SETUPS]
    rows += ["", f"{'ratio':<40} {'x':>6}"]
    rows += [f"{label:<40} {report['ratios'][key]:>6.2f}" for key, _, _, label in RATIOS]
    load = report["loadavg"]
    before, after = (" ".join(f"{x:.2f}" for x in load[k]) for k in ("before", "after"))
    rows += ["", f"load average (1, 5, 15 min): before {before}, after {after}"]
    if "ray_overhead_ms_per_job" in report:
        rows.append(f"Ray overhead {report['ray_overhead_ms_per_job']:.2f} ms per job "
                    f"(in-process {report['local_overhead_ms_per_job']:.4f} ms)")
    else:
        rows.append(f"Ray overhead {report['ray']}")
    return "\n".join(rows)


def ray_overhead(workers: int, jobs: int) -> dict:
    """Ray's and ``local``'s milliseconds per trivial job, or ``{"ray": reason}`` when Ray is
    missing or fails to start."""
    if "ray" not in EXECUTORS:
        return {"ray": "not measured: Ray is not installed (pip install '.[cluster]')"}
    try:
        with make_executor("ray", workers=workers) as ex:
            ex.map(_noop, None, [0] * workers)
            t0 = time.perf_counter()
            ex.map(_noop, None, list(range(jobs)))
            ray_ms = (time.perf_counter() - t0) / jobs * 1e3
    except Exception as err:  # noqa: BLE001 - Ray missing, or a local Ray that failed to start
        return {"ray": f"not measured: {type(err).__name__}: {err}"}
    t0 = time.perf_counter()
    make_executor("local").map(_noop, None, list(range(jobs)))
    local_ms = (time.perf_counter() - t0) / jobs * 1e3
    return {"ray_overhead_ms_per_job": ray_ms, "local_overhead_ms_per_job": local_ms}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", default="smoke")
    ap.add_argument("--model", default="resnet18")
    ap.add_argument("--strategies", type=int, default=8,
                    help="fixed random strategies scored by every set-up in every round")
    ap.add_argument("--rounds", type=int, default=2,
                    help="rounds over the four set-ups, odd ones in reverse order")
    ap.add_argument("--ray-workers", type=int, default=2)
    ap.add_argument("--ray-jobs", type=int, default=50)
    ap.add_argument("--workers", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--json", type=Path, default=None, help="also write the report to this file")
    args = ap.parse_args(argv)
    if args.workers is not None:
        ap.error("--workers is gone: the benchmark now measures W = 1 and W = 2 one-thread "
                 "workers itself; --ray-workers sets Ray's workers")
    if args.strategies < 2:
        ap.error(f"--strategies must be at least 2 (W = 2 needs a job per worker), "
                 f"got {args.strategies}")
    if args.rounds < 1:
        ap.error(f"--rounds must be at least 1, got {args.rounds}")
    load_before = os.getloadavg()
    ctx = search.build_context(args.model, args.profile, progress=False,
                               estimator="finetune-batches")
    ev = ctx.evaluator(ctx.objective(0.35), "finetune-batches", seed=0)
    ev.estimator.prepare()
    rng = np.random.default_rng(0)
    genomes = [search.random_genome(ev.space, rng) for _ in range(args.strategies)]
    measure_strategy(ev.detached(), (genomes[0], None))  # first-call costs outside the timing
    rates, per_round, threads = measure(ev, genomes, args.rounds)
    report = {"model": args.model, "profile": args.profile, "strategies": args.strategies,
              "rounds": args.rounds, "cpu_count": os.cpu_count(), "rates": rates,
              "ratios": ratios(rates), "rates_per_round": per_round,
              "worker_threads": threads}
    report.update(ray_overhead(args.ray_workers, args.ray_jobs))
    report["loadavg"] = {"before": list(load_before), "after": list(os.getloadavg())}
    print(table(report))
    print(json.dumps(report, indent=2))
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
