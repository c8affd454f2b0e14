"""The prepared GPU check (issue 15 item 5; docs/decisions/scale.md §7): one command, ≤ 8 minutes
on one GPU, one JSON + Markdown report.

Per searched model of the ``paper`` profile, on a synthetic CIFAR-100 of full size held on the GPU
(50,000 train / 10,000 test random images; channels-last, bf16 autocast for the training but not
for the quantized finetune, which stays float32: ``paperlib.method.device``, scale.md §6):

1. the time of one training epoch (50,000 images, the paper profile's batch size);
2. one evaluation of the paper's ``finetune`` estimator (quantize the edge of a middle partition
   point at 4 bits, finetune one epoch, top-1 on the 10,000 test images);
3. strategies per hour with K = 1, 4 and 8 workers sharing the GPU (``--executor process``: a
   local process pool; ``ray``: Ray tasks with 1/8 GPU each), each job a ``--fraction`` of one
   strategy's work (that share of the epoch's batches and of the test images), so the check fits
   its budget; the rate is scaled back to whole strategies;
4. the Table 2 estimate: (N + T) strategies at the best K's rate, beside the paper's hours
   (``paperlib.method.constants.PAPER_TABLE2_HOURS``; N + T from ``paperlib.method.constants``).

    benchmarks/gpu_check.sh                                  # on a CUDA machine
    python benchmarks/gpu_check.py --dry-run --out /tmp/gc   # CPU, tiny sizes (tests/test_gpu_check.py)

Without CUDA (and without ``--dry-run``) it exits with status 2 and says why. The numbers of a dry
run mean nothing; its report says so.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from paperlib.infra import config, io
from paperlib.method import data, device, models, train  # noqa: E402
from paperlib.method import constants as C  # noqa: E402
from paperlib.infra.executors import EXECUTORS, make_executor  # noqa: E402
from paperlib.method.profiles import get_profile  # noqa: E402

NO_CUDA_EXIT = 2
PROFILE = "paper"  # the batch sizes, data set and searched models of the paper profile
EDGE_BITS = 4  # the strategy every job scores: a middle partition point, every edge layer at 4 bits


@dataclass(frozen=True)
class Sizes:
    """How big the check is: the full check, or the dry run's tiny sizes."""

    train_images: int
    test_images: int
    fraction: float  # share of one strategy's work in each throughput job
    workers: tuple[int, ...]
    warmup_batches: int
    batch_size: int | None = None  # None: the paper profile's per model
    budget_s: float = 380.0  # stages not started by then are skipped (the report says so)


FULL = Sizes(train_images=50_000, test_images=10_000, fraction=0.1, workers=(1, 4, 8),
             warmup_batches=10, budget_s=380.0)
DRY = Sizes(train_images=48, test_images=24, fraction=0.5, workers=(1, 2), warmup_batches=1,
            batch_size=16, budget_s=120.0)


# --- synthetic data and the pieces every stage uses -----------------------------------------------

@lru_cache(maxsize=4)
def synthetic(dataset: str, split: str, n: int, seed: int) -> data.CifarArrays:
    """``n`` random uint8 images and labels of ``dataset``'s shape (in memory, not on disk; made
    once per process)."""
    gen = torch.Generator().manual_seed(seed)
    classes = data.spec(dataset).num_classes
    images = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=gen)
    labels = torch.randint(0, classes, (n,), generator=gen)
    return data.CifarArrays(dataset, split, images, labels, partial=True,
                            classes=tuple(f"class{i}" for i in range(classes)))


def synchronize(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def batch_size(model: str, sizes: Sizes) -> int:
    return sizes.batch_size or get_profile(PROFILE).recipe(model).batch_size


def datasets(model: str, sizes: Sizes) -> tuple[data.CifarArrays, data.CifarArrays]:
    dataset = get_profile(PROFILE).dataset_for(model)
    return (synthetic(dataset, "train", sizes.train_images, 0),
            synthetic(dataset, "test", sizes.test_images, 1))


def estimator(model: str, net: torch.nn.Module, train_ds: data.CifarArrays,
              test_ds: data.CifarArrays, sizes: Sizes, fraction: float | None = None):
    """The paper's ``finetune`` estimator on ``net``; with ``fraction``, cut to that share of the
    epoch's batches and of the test images (the throughput jobs), and the strategy it scores."""
    from paperlib import search
    from paperlib.search.estimators import EstimatorContext, FinetuneEstimator

    space = search.GenomeSpace.from_net(net)
    genome = search.Genome.uniform(space, space.num_units // 2, EDGE_BITS)
    bs = batch_size(model, sizes)
    est = FinetuneEstimator(EstimatorContext(model=model, net=net, space=space, test_ds=test_ds,
                                             train_ds=train_ds, batch_size=bs))
    if fraction is not None:
        est.max_batches = max(1, math.ceil(fraction * math.ceil(len(train_ds) / bs)))
        est.eval_ds = data.subset(test_ds, max(1, math.ceil(fraction * len(test_ds))), seed=0)
    est.prepare()  # the full-precision top-1, once (not timed)
    return est, genome


# --- stages 1 and 2: in this process --------------------------------------------------------------

def epoch_seconds(model: str, train_ds: data.CifarArrays, sizes: Sizes, dev: torch.device,
                  compile: bool) -> tuple[float, torch.nn.Module]:
    """Seconds of one training epoch over ``train_ds`` (after a warm-up), and the trained net."""
    torch.manual_seed(0)
    net = models.build(model, train_ds.dataset).to(dev)
    plan = device.plan_for(dev, compile=compile)
    forward = plan.compiled(plan.prepare(net))
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    on_device = device.resident(train_ds, dev)
    bs = batch_size(model, sizes)
    warm = data.batches(on_device, bs, shuffle=True, augment_images=True, seed=1)
    train.fit(net, islice(warm, sizes.warmup_batches), opt, device=dev, forward=forward)
    synchronize(dev)
    t0 = time.perf_counter()
    train.fit(net, data.batches(on_device, bs, shuffle=True, augment_images=True, seed=0), opt,
              device=dev, forward=forward)
    synchronize(dev)
    return time.perf_counter() - t0, net.eval()


def one_evaluation(model: str, net: torch.nn.Module, train_ds: data.CifarArrays,
                   test_ds: data.CifarArrays, sizes: Sizes, dev: torch.device) -> dict[str, float]:
    """One whole ``finetune`` estimate (one epoch of finetuning + the test pass), timed."""
    est, genome = estimator(model, net, train_ds, test_ds, sizes)
    synchronize(dev)
    t0 = time.perf_counter()
    acc = est.estimate(genome, seed=0)
    synchronize(dev)
    return {"seconds": time.perf_counter() - t0, "eps": acc.eps, "p": genome.p}


# --- stage 3: K workers sharing the device ------------------------------------------------------

@dataclass(frozen=True)
class JobSpec:
    """What every worker builds its own model, data and estimator from (small, CPU only)."""

    sizes: Sizes
    device: str


_WORKER: dict[tuple[str, JobSpec], Any] = {}


def score_job(spec: JobSpec, item: tuple[str, int]) -> dict[str, Any]:
    """One throughput job: ``fraction`` of one strategy's ``finetune`` work (run by a worker)."""
    model, seed = item
    built = (model, spec) not in _WORKER
    if built:
        dev = device.resolve(spec.device)
        torch.manual_seed(0)
        net = models.build(model, get_profile(PROFILE).dataset_for(model)).to(dev).eval()
        train_ds, test_ds = datasets(model, spec.sizes)
        _WORKER[(model, spec)] = estimator(model, net, train_ds, test_ds, spec.sizes,
                                           fraction=spec.sizes.fraction)
    est, genome = _WORKER[(model, spec)]
    t0 = time.perf_counter()
    est.estimate(genome, seed=seed)
    return {"seconds": time.perf_counter() - t0, "pid": os.getpid(), "built": built}


def throughput(model: str, executor: Any, spec: JobSpec, workers: tuple[int, ...]) -> dict:
    """Strategies per hour with K concurrent jobs, for every K in ``workers``."""
    widest = max(workers)
    seen: set[int] = set()
    for _ in range(3):  # every worker builds its context outside the timing
        seen |= {r["pid"] for r in executor.map(score_job, spec, [(model, -1)] * widest)}
        if len(seen) >= min(widest, executor.workers):
            break
    rows = {}
    for k in workers:
        t0 = time.perf_counter()
        jobs = executor.map(score_job, spec, [(model, j) for j in range(k)])
        wall = time.perf_counter() - t0
        rows[str(k)] = {"wall_seconds": wall,
                        "strategies_per_hour": k * spec.sizes.fraction / wall * 3600,
                        "cold_jobs": sum(j["built"] for j in jobs),
                        "job_seconds": [round(j["seconds"], 3) for j in jobs]}
    return rows


def table2_estimate(model: str, per_k: dict, evaluation: dict | None) -> dict[str, Any]:
    """(N + T) strategies at the best measured rate, beside the paper's Table 2 hours."""
    strategies = C.POPULATION + C.ITERATIONS
    paper = C.PAPER_TABLE2_HOURS.get(model)
    best_k, best = max(per_k.items(), key=lambda kv: kv[1]["strategies_per_hour"],
                       default=(None, None))
    hours = strategies / best["strategies_per_hour"] if best else None
    serial = strategies * evaluation["seconds"] / 3600 if evaluation else None
    return {"strategies": strategies, "best_k": best_k, "hours": hours,
            "hours_one_at_a_time": serial, "paper_hours": paper,
            "paper_over_ours": paper / hours if paper and hours else None}


# --- the report ----------------------------------------------------------------------------------

def _fmt(v: Any, digits: int = 1) -> str:
    return "—" if v is None else f"{v:,.{digits}f}"


def _ratio(v: float | None) -> str:
    return "—" if v is None else f"{v:,.1f}×"


def markdown(report: dict) -> str:
    k_cols = [str(k) for k in report["sizes"]["workers"]]
    lines = [f"# GPU check ({report['mode']})", ""]
    if report["mode"] == "dry-run":
        lines += ["**Dry run with tiny sizes: the numbers mean nothing; it only exercises the "
                  "code paths.**", ""]
    lines += [f"Device: {report['device_name']} ({report['device']}), torch {report['torch']}, "
              f"bf16 autocast {report['plan']['autocast']}, channels-last "
              f"{report['plan']['channels_last']}, torch.compile {report['plan']['compile']}; "
              f"synthetic {report['sizes']['train_images']:,} train / "
              f"{report['sizes']['test_images']:,} test images; executor {report['executor']}; "
              f"throughput jobs are {report['sizes']['fraction']:.0%} of a strategy; "
              f"{report['elapsed_seconds']:.0f} s in all.", "",
              "| model | epoch (s) | one finetune evaluation (s) | "
              + " | ".join(f"strategies/h, K={k}" for k in k_cols)
              + " | Table 2 estimate, best K (h) | one at a time (h) | paper (h) | paper / ours |",
              "|---" * (7 + len(k_cols)) + "|"]
    for model, row in report["models"].items():
        per_k = row.get("throughput", {})
        t2 = row.get("table2", {})
        lines.append(
            f"| {model} | {_fmt(row.get('epoch_seconds'))} | "
            f"{_fmt((row.get('evaluation') or {}).get('seconds'))} | "
            + " | ".join(_fmt(per_k.get(k, {}).get("strategies_per_hour")) for k in k_cols)
            + f" | {_fmt(t2.get('hours'), 2)} | {_fmt(t2.get('hours_one_at_a_time'), 2)} | "
              f"{_fmt(t2.get('paper_hours'))} | "
              f"{_ratio(t2.get('paper_over_ours'))} |")
    if report["skipped"]:
        lines += ["", "Skipped (time budget): " + "; ".join(report["skipped"])]
    lines += ["", "Target (issue 15): the Table 2 estimate ≥ 10× under the paper's hours with the "
              "paper's estimator (one finetuning epoch per strategy).", ""]
    return "\n".join(lines)


def write(report: dict, out: Path) -> None:
    io.write_json(out / "gpu_check.json", report)
    io.write_text(out / "gpu_check.md", markdown(report))


# --- the command ---------------------------------------------------------------------------------

def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dry-run", action="store_true",
                    help="tiny sizes on the CPU (or --device): exercises every code path in seconds")
    ap.add_argument("--models", nargs="+", default=None,
                    help="default: the paper profile's searched models")
    ap.add_argument("--workers", type=int, nargs="+", default=None,
                    help="the K to measure (default 1 4 8; dry run 1 2)")
    ap.add_argument("--fraction", type=float, default=None,
                    help="share of a strategy per throughput job (default 0.1; dry run 0.5)")
    ap.add_argument("--executor", choices=list(EXECUTORS), default=None,
                    help="default: process (dry run: local)")
    ap.add_argument("--device", default=None, help="default: cuda (dry run: cpu)")
    ap.add_argument("--compile", action="store_true", help="torch.compile the epoch-time model")
    ap.add_argument("--budget-s", type=float, default=None,
                    help="stages not started after this many seconds are skipped (default 380)")
    ap.add_argument("--out", default=None,
                    help="report folder (default <results>/gpu-check)")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if not args.dry_run and not torch.cuda.is_available():
        print(f"gpu_check: no CUDA GPU is visible to this PyTorch ({torch.__version__}, CUDA build "
              f"{torch.version.cuda or 'none'}), so there is nothing to measure. Run it on a "
              "machine with a GPU and a CUDA build of torch, or pass --dry-run for a CPU run with "
              "tiny sizes.", file=sys.stderr)
        return NO_CUDA_EXIT
    sizes = DRY if args.dry_run else FULL
    sizes = replace(sizes, **{k: v for k, v in (("fraction", args.fraction),
                                                ("budget_s", args.budget_s)) if v is not None})
    if args.workers:
        sizes = replace(sizes, workers=tuple(args.workers))
    if not 0 < sizes.fraction <= 1:
        raise SystemExit(f"--fraction must be in (0, 1], got {sizes.fraction}")
    dev = device.resolve(args.device or ("cpu" if args.dry_run else "cuda"))
    plan = device.plan_for(dev, compile=args.compile)
    executor_name = args.executor or ("local" if args.dry_run else "process")
    options = {"gpus_per_worker": 1.0 / max(sizes.workers)} if (
        executor_name == "ray" and dev.type == "cuda") else {}
    out = Path(args.out) if args.out else config.results_dir() / "gpu-check"
    model_names = args.models or list(get_profile(PROFILE).search_models)
    report: dict[str, Any] = {
        "mode": "dry-run" if args.dry_run else "full", "device": str(dev),
        "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor() or "cpu",
        "torch": torch.__version__, "plan": asdict(plan) | {"device": str(dev)},
        "sizes": asdict(sizes), "executor": executor_name, "models": {}, "skipped": [],
        "elapsed_seconds": 0.0}
    t_start = time.perf_counter()

    def stage(what: str) -> bool:
        report["elapsed_seconds"] = time.perf_counter() - t_start
        if report["elapsed_seconds"] > sizes.budget_s:
            report["skipped"].append(what)
            return False
        print(f"[{report['elapsed_seconds']:6.0f} s] {what}", flush=True)
        return True

    for model in model_names:
        row: dict[str, Any] = {}
        report["models"][model] = row
        if not stage(f"{model}: epoch time"):
            continue
        train_ds, test_ds = datasets(model, sizes)
        row["epoch_seconds"], net = epoch_seconds(model, train_ds, sizes, dev, args.compile)
        write(report, out)
        if stage(f"{model}: one finetune evaluation"):
            row["evaluation"] = one_evaluation(model, net, train_ds, test_ds, sizes, dev)
            write(report, out)
        del net
        device.clear_resident()
    spec = JobSpec(sizes, str(dev))
    workers = 1 if executor_name == "local" else max(sizes.workers)
    with make_executor(executor_name, workers, **options) as ex:
        for model in model_names:
            row = report["models"][model]
            if stage(f"{model}: strategies per hour, K = {', '.join(map(str, sizes.workers))}"):
                row["throughput"] = throughput(model, ex, spec, sizes.workers)
            row["table2"] = table2_estimate(model, row.get("throughput", {}), row.get("evaluation"))
            write(report, out)
    report["elapsed_seconds"] = time.perf_counter() - t_start
    write(report, out)
    print(markdown(report))
    print(f"report: {out / 'gpu_check.json'} and {out / 'gpu_check.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
