"""CPU (or GPU) time per training epoch at the full CIFAR size, per model.

Writes a synthetic copy of full size (50,000 train / 10,000 test images, random pixels) when no
full data set is given, times ``--batches`` training steps of the real pipeline (slicing,
augmentation, normalisation, SGD step) after ``--warmup`` steps, and extrapolates to one epoch of
50,000 images. Usage: ``python benchmarks/bench_train.py [--models resnet18 ...] [--device cuda]``.

``--cpu-bf16-ratio``: on the CPU, each model is timed in float32 and with bf16 autocast
(``PAPERLIB_CPU_BF16``, docs/decisions/scale.md §6) twice each in this run, in the order float32,
bf16, bf16, float32, and the ratio of the faster epoch time of each is printed (the speed figure,
not the absolute seconds, is what carries over to another machine).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import torch

from paperlib.method import data, models, train
from paperlib.method import device as paperlib_device


def time_epoch(model: str, ds: data.CifarArrays, batch_size: int, warmup: int, steps: int,
               device: torch.device) -> tuple[float, float]:
    """(seconds per training epoch, seconds per test pass of 10,000 images), extrapolated."""
    net = models.build(model, ds.dataset).to(device)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    # the training path itself: data kept and augmented on the device (docs/decisions/scale.md §6)
    batch_iter = data.batches(paperlib_device.resident(ds, device), batch_size, shuffle=True,
                              augment_images=True)
    train.fit(net, (b for _, b in zip(range(warmup), batch_iter)), optimizer, device=device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    train.fit(net, (b for _, b in zip(range(steps), batch_iter)), optimizer, device=device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    per_batch = (time.perf_counter() - t0) / steps
    test = data.subset(ds, batch_size * steps, seed=1)
    t0 = time.perf_counter()
    train.top1(net, test, batch_size=256, device=device)
    per_image = (time.perf_counter() - t0) / len(test)
    return per_batch * -(-50_000 // batch_size), per_image * 10_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", nargs="+", default=list(models.MODELS))
    parser.add_argument("--dataset", default="cifar100")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--device", default=None)
    parser.add_argument("--cpu-bf16-ratio", action="store_true",
                        help="time each model in float32 and with bf16 autocast on the CPU")
    args = parser.parse_args()
    device = torch.device(args.device) if args.device else train.default_device()
    with tempfile.TemporaryDirectory() as tmp:
        data.write_synthetic(tmp, args.dataset, 50_000, 10_000)
        ds = data.load(args.dataset, "train", root=tmp, allow_partial=True)
        print(f"device {device}, {torch.get_num_threads()} threads, batch {args.batch_size}, "
              f"synthetic {args.dataset} of full size; {args.batches} timed batches per model")
        if args.cpu_bf16_ratio:
            if device.type != "cpu":
                parser.error("--cpu-bf16-ratio times the CPU: leave out --device or give cpu")
            print(f"CPU with bf16 instructions: {paperlib_device.cpu_has_bf16()}")
            print(f"{'model':<10} {'float32 epoch':>14} {'bf16 epoch':>11} {'float32 / bf16':>15}")
            for model in args.models:
                epochs: dict[str, float] = {}
                for spec in ("off", "on", "on", "off"):  # either order once; the faster of two
                    os.environ["PAPERLIB_CPU_BF16"] = spec
                    epoch, _ = time_epoch(model, ds, args.batch_size, args.warmup, args.batches,
                                          device)
                    epochs[spec] = min(epoch, epochs.get(spec, epoch))
                print(f"{model:<10} {epochs['off'] / 60:>10.1f} min {epochs['on'] / 60:>7.1f} min "
                      f"{epochs['off'] / epochs['on']:>14.2f}x", flush=True)
            return
        print(f"{'model':<10} {'train epoch (50k)':>18} {'test pass (10k)':>16}")
        for model in args.models:
            epoch, test = time_epoch(model, ds, args.batch_size, args.warmup, args.batches, device)
            print(f"{model:<10} {epoch / 60:>14.1f} min {test:>14.1f} s", flush=True)


if __name__ == "__main__":
    main()
