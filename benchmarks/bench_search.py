"""Benchmarks of the maximized-partition search (paperlib.search).

Modes (one per run):

* default — a real search on a profile (``smoke`` by default) in a fresh folder: evaluations per
  second, cache hit rate, the share of time per component (accuracy estimate, privacy, energy) and
  the one-time setup (the sensitivity table).
* ``--paper-scale`` — how long the paper's ``finetune`` estimator would take at full scale: a
  synthetic CIFAR-100 of full size (50,000 / 10,000 images), a few timed finetune batches and test
  batches of ResNet18 / MobileNet / ResNet50 on a quantized edge, extrapolated to one epoch plus
  one test pass per strategy × (N + T) = 1020 strategies, next to the paper's Table 2 hours.
* ``--estimator-error`` — ε of ``sensitivity`` and ``finetune-batches`` against ``finetune``
  (the paper's) on a small random sample of strategies: mean absolute error, bias, rank correlation.

    PYTHONPATH=. PAPERLIB_DATA_DIR=../shared/data PAPERLIB_ALLOW_PARTIAL_DATA=1 \\
        python benchmarks/bench_search.py --profile smoke
    python benchmarks/bench_search.py --paper-scale --batches 2
    python benchmarks/bench_search.py --estimator-error --profile smoke --strategies 6
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from paperlib.method import constants as C  # noqa: E402
from paperlib.method import data, models, quant, train
from paperlib import search  # noqa: E402
from paperlib.method import device as paperlib_device  # noqa: E402
from paperlib.method.profiles import get_profile  # noqa: E402


def bench_search(args: argparse.Namespace) -> dict:
    """A fresh search; its own timing block says where the time went."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out) if args.out else Path(tmp) / "search"
        overrides = {k: v for k, v in (("iterations", args.iterations), ("population", args.population),
                                       ("sample", args.sample), ("estimator", args.estimator))
                     if v is not None}
        t0 = time.perf_counter()
        settings = search.RunSettings(energy_bound=args.energy_bound, seed=args.seed,
                                      search=overrides)
        result = search.run(args.model, args.profile, settings, out_dir=out, progress=not args.quiet)
        wall = time.perf_counter() - t0
    t = result.timing
    report = {
        "mode": "search", "model": args.model, "profile": result.profile, "data": result.data,
        "estimator": result.settings["estimator"], "genomes": t["genomes"],
        "evaluations": t["evaluations"], "cache_hit_rate": t["cache_hit_rate"],
        "evaluations_per_second": t["evaluations"] / t["search_seconds"] if t["search_seconds"] else math.inf,
        "genomes_per_second": t["genomes"] / t["search_seconds"] if t["search_seconds"] else math.inf,
        "setup_seconds": t["setup_seconds"], "search_seconds": t["search_seconds"],
        "reference_seconds": t["reference_seconds"], "session_wall_seconds": wall,
        "split_share": t["split_share"], "seconds_per_1000_iterations": t["seconds_per_1000_iterations"],
        "best": {k: result.best[k] for k in ("p", "edge_conv_layers", "energy_mj", "privacy", "eps",
                                            "eps_reference", "fitness")},
        "threads": torch.get_num_threads(),
    }
    print(f"{args.model} on {result.profile} ({result.data}), estimator {report['estimator']}, "
          f"{torch.get_num_threads()} threads")
    print(f"  {t['genomes']} genomes, {t['evaluations']} evaluated, cache hit rate "
          f"{t['cache_hit_rate']:.1%}")
    print(f"  {report['evaluations_per_second']:.2f} evaluations/s "
          f"({report['genomes_per_second']:.2f} genomes/s) in {t['search_seconds']:.1f} s of search; "
          f"setup {t['setup_seconds']:.1f} s, reference re-score {t['reference_seconds']:.1f} s")
    print("  time per component: " + ", ".join(f"{k} {v:.1%}" for k, v in t["split_share"].items()))
    print(f"  extrapolated to 1000 iterations: {t['seconds_per_1000_iterations'] / 60:.1f} min")
    return report


def _time_calls(fn, n: int) -> float:
    fn()  # warm-up (allocator, kernels)
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


def bench_paper_scale(args: argparse.Namespace) -> dict:
    """Time the ``finetune`` estimator's pieces on full-size synthetic CIFAR-100 and extrapolate."""
    device = torch.device(args.device or train.default_device())
    n_train, n_test, batch = 50_000, 10_000, 128
    genomes = C.POPULATION + C.ITERATIONS
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        data.write_synthetic(tmp, "cifar100", n_train, n_test)
        train_ds = data.load("cifar100", "train", root=tmp, allow_partial=True)
        test_ds = data.load("cifar100", "test", root=tmp, allow_partial=True)
        print(f"synthetic CIFAR-100 {len(train_ds)} / {len(test_ds)} images written in "
              f"{time.perf_counter() - t0:.0f} s; device {device}, {torch.get_num_threads()} threads")
        for name in args.models:
            net = models.build(name, "cifar100").to(device).eval()
            space = search.GenomeSpace.from_net(net)
            p = space.num_units // 2
            qnet = quant.quantize_edge(net, p, search.Genome.uniform(space, p, 4).policy)
            opt = torch.optim.SGD(qnet.parameters(), lr=C.FINETUNE_LR, momentum=C.FINETUNE_MOMENTUM)
            batches = data.batches(paperlib_device.resident(train_ds, device), batch,
                                   shuffle=True, augment_images=True)

            def step():
                x, y = next(batches)
                train.fit(qnet, [(x, y)], opt, device=device, float32=True)  # as finetune
                if device.type == "cuda":
                    torch.cuda.synchronize()

            test_batches = data.batches(test_ds, 256)

            @torch.no_grad()
            def test_step():
                qnet.eval()
                x, _ = next(test_batches)
                qnet(x.to(device)).argmax(1).cpu()

            s_train = _time_calls(step, args.batches)
            s_test = _time_calls(test_step, max(1, args.batches // 2))
            epoch = math.ceil(n_train / batch) * s_train
            test = math.ceil(n_test / 256) * s_test
            per_eval = epoch + test
            hours = per_eval * genomes / 3600
            paper = C.PAPER_TABLE2_HOURS.get(name)
            rows.append({"model": name, "seconds_per_train_batch": s_train,
                         "seconds_per_test_batch": s_test, "epoch_seconds": epoch,
                         "test_seconds": test, "seconds_per_evaluation": per_eval,
                         "hours_for_N_plus_T": hours, "paper_table2_hours": paper,
                         "device": str(device)})
            print(f"  {name:10s} train batch {s_train:6.3f} s, test batch {s_test:6.3f} s -> "
                  f"{per_eval / 60:7.1f} min per strategy, {hours:8.1f} h for N+T = {genomes} "
                  f"strategies (paper Table 2: {paper} h on one GPU)")
    return {"mode": "paper-scale", "rows": rows, "batch_size": batch, "genomes": genomes}


def _spearman(a: list[float], b: list[float]) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    if np.std(ra) == 0 or np.std(rb) == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def bench_estimator_error(args: argparse.Namespace) -> dict:
    """ε of the cheap estimators vs the paper's ``finetune`` on random strategies."""
    prof = get_profile(args.profile)
    ctx = search.build_context(args.model, prof, progress=not args.quiet)
    rng = np.random.default_rng(args.seed)
    genomes = []
    while len(genomes) < args.strategies:
        g = search.random_genome(ctx.space, rng)
        if g.p > 0:  # p = 0 quantizes nothing
            genomes.append(g)
    names = ["finetune", "finetune-batches", "sensitivity"]
    eps: dict[str, list[float]] = {n: [] for n in names}
    secs: dict[str, float] = {n: 0.0 for n in names}
    for n in names:
        est = ctx.estimator(n)
        t0 = time.perf_counter()
        est.prepare()
        secs[n + " (setup)"] = time.perf_counter() - t0
        for g in genomes:
            t0 = time.perf_counter()
            eps[n].append(est.estimate(g, search.seed_for(args.seed, search.key(g, ctx.space))).eps)
            secs[n] += time.perf_counter() - t0
    ref = np.array(eps["finetune"])
    print(f"{args.model} on {prof.name} ({ctx.provenance}); {len(genomes)} random strategies; "
          f"finetune = one epoch on {len(ctx.train_ds)} images, top-1 on {len(ctx.test_ds)}")
    rows = []
    for n in names:
        e = np.array(eps[n])
        row = {"estimator": n, "mean_abs_error": float(np.mean(np.abs(e - ref))),
               "bias": float(np.mean(e - ref)), "spearman": _spearman(list(e), list(ref)),
               "seconds_per_strategy": secs[n] / len(genomes), "setup_seconds": secs[n + " (setup)"],
               "eps": [float(v) for v in e]}
        rows.append(row)
        print(f"  {n:17s} MAE {row['mean_abs_error']:.4f}  bias {row['bias']:+.4f}  "
              f"Spearman {row['spearman']:+.2f}  {row['seconds_per_strategy']:.2f} s/strategy "
              f"(+{row['setup_seconds']:.1f} s setup)")
    print("  strategies: " + "; ".join(search.key(g, ctx.space) for g in genomes))
    return {"mode": "estimator-error", "model": args.model, "profile": prof.name,
            "data": ctx.provenance, "strategies": [search.key(g, ctx.space) for g in genomes],
            "rows": rows}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--paper-scale", action="store_true", help="time the finetune estimator at full scale")
    mode.add_argument("--estimator-error", action="store_true",
                      help="sensitivity and finetune-batches vs finetune")
    ap.add_argument("--profile", default="smoke")
    ap.add_argument("--model", default="resnet18")
    ap.add_argument("--models", nargs="+", default=["resnet18", "mobilenet", "resnet50"],
                    help="--paper-scale: the models to time")
    ap.add_argument("--energy-bound", type=float, default=C.ENERGY_BOUND_MJ)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--iterations", type=int, default=None)
    ap.add_argument("--population", type=int, default=None)
    ap.add_argument("--sample", type=int, default=None)
    ap.add_argument("--estimator", default=None)
    ap.add_argument("--out", default=None, help="search folder (default: a temporary one)")
    ap.add_argument("--batches", type=int, default=3, help="--paper-scale: timed finetune batches")
    ap.add_argument("--device", default=None)
    ap.add_argument("--strategies", type=int, default=6, help="--estimator-error: sample size")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    ap.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.paper_scale:
        report = bench_paper_scale(args)
    elif args.estimator_error:
        report = bench_estimator_error(args)
    else:
        report = bench_search(args)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
