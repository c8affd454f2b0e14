"""Does bf16 autocast on the CPU change what the package measures, and how much time does it save?

    python benchmarks/bf16_parity.py --model cifar10cnn [--images 32] [--profile quick]
        [--out /tmp/paperlib-bf16-parity]

docs/decisions/scale.md §6 (``PAPERLIB_CPU_BF16``). Two questions, one model:

1. **Training.** The profile's recipe is trained twice, in float32 and with bf16 autocast
   (``--out/<off|on>/checkpoints``; reused when there). Their top-1 on the *search* split of the test
   images (held out from training and from every reported number) is compared paired by image
   (``paired_accuracy.paired_gain``: bf16 minus float32, with its s.e.), beside each training's
   seconds.
2. **Attacks.** On the float32 weights, every attack at the model's three control points runs in
   float32 and in bf16 on the same ``--images`` test images with the profile's budgets: each SSIM,
   the difference and each run's seconds. The weights are the same, so a difference is the
   attack's precision alone. Then the whole bf16 path: the bf16 weights attacked in bf16
   (``bf16path``), as a rerun on such a CPU makes it; P at each point for all three.

``--seed`` trains both checkpoints with another seed (the spread of retraining); ``--p-only``
keeps to top-1 and P at the control points (no attacks).

Each precision keeps its checkpoints and attack results under ``--out/<off|on>/``, so a rerun reuses
them. One record per model is appended to ``--out/parity.jsonl``; the console gets the tables.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="cifar10cnn")
    parser.add_argument("--images", type=int, default=32, help="test images each attack inverts")
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--out", default="/tmp/paperlib-bf16-parity")
    parser.add_argument("--seed", type=int, default=0, help="training seed of both checkpoints")
    parser.add_argument("--p-only", action="store_true",
                        help="top-1 and P at the control points only, no attacks")
    args = parser.parse_args(argv)
    out = Path(args.out)

    import pandas as pd
    import torch

    from paperlib.app.reproduce import git_commit
    from paperlib.attacks import runner
    from paperlib.attacks.base import ATTACKS
    from paperlib.attacks.points import point_label
    from paperlib.method import data
    from paperlib.method.constants import FULL_PRECISION
    from paperlib.method.privacy import privacy
    from paperlib.infra import io
    from paperlib.method import device, train
    from paperlib.method.evaluation_split import profile_split
    from paperlib.method.paired_accuracy import paired_gain
    from paperlib.method.profiles import get_profile
    from paperlib.studies import training_controls as tc

    prof = get_profile(args.profile)
    _, test_ds = train.training_data(args.model, prof)
    split = profile_split(prof, args.model, len(test_ds))
    search_ds, _ = split.apply(test_ds)
    record: dict = {"model": args.model, "profile": prof.name, "threads": torch.get_num_threads(),
                    "cpu_has_bf16": device.cpu_has_bf16(), "seed": args.seed,
                    "torch": torch.__version__, "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    "git_commit": git_commit()}
    nets, metas, hits = {}, {}, {}
    for spec in ("off", "on"):  # this process's own setting, left as the last run set it
        os.environ["PAPERLIB_CPU_BF16"] = spec
        nets[spec], metas[spec] = train.load_or_train(args.model, prof, device="cpu", progress=True,
                                                      seed=args.seed,
                                                      checkpoint_root=out / spec / "checkpoints")
        hits[spec] = train.correct(nets[spec], search_ds).float()
        record[f"train_seconds_{spec}"] = metas[spec].get("train_seconds")
        record[f"top1_search_{spec}"] = float(hits[spec].mean())
    gain, se = paired_gain(hits["off"], hits["on"])
    record.update(top1_gain_bf16=gain, top1_gain_bf16_se=se, search_images=len(search_ds))
    print(f"{args.model}: search-split top-1 float32 {record['top1_search_off']:.3f}, bf16 "
          f"{record['top1_search_on']:.3f}, bf16 − float32 {gain:+.3f} (paired s.e. {se:.3f}); "
          f"training {record['train_seconds_off']:.0f} s against {record['train_seconds_on']:.0f} s",
          flush=True)

    points = tc.control_points(args.model, nets["off"])
    if args.p_only:  # P of each precision's weights on the attacks' test images, float32: keyed
        # as in the full run, "off" the float32 weights and "bf16path" the bf16 ones
        adata = runner.attack_data(metas["off"]["dataset"], prof.attack, args.images, None)
        x01 = data.to_unit(adata.test.images)
        for label, spec in (("off", "off"), ("bf16path", "on")):
            irs = runner.compute_irs(nets[spec], FULL_PRECISION, points, adata.test.images,
                                     metas[spec]["dataset"])
            record.setdefault("P", {})[label] = {
                point_label(args.model, p): privacy(x01, irs[p].float()) for p in points}
        io.append_jsonl(out / "parity.jsonl", record)
        print(f"P at {points}: {record['P']}", flush=True)
        return
    # (label, weights, precision of the attacks): the attacks' precision alone on the float32
    # weights, then the whole bf16 path (bf16 weights attacked in bf16), as a rerun makes it
    stages = [("off", "off", "off"), ("on", "off", "on"), ("bf16path", "on", "on")]
    frames = []
    for label, weights, spec in stages:
        os.environ["PAPERLIB_CPU_BF16"] = spec
        # the precision is no part of a cached result's key (scale.md §6): one cache per precision
        os.environ["PAPERLIB_RESULTS_DIR"] = str(out / spec / "results")
        t0 = time.perf_counter()
        rows = tc.stage_rows(args.model, prof, nets[weights], metas[weights], 1, 1, points,
                             ATTACKS.names(), prof.attack, args.images, None, True,
                             suffix=f"-parity-{weights}weights")
        record[f"attack_seconds_{label}"] = round(time.perf_counter() - t0, 1)
        frame = pd.DataFrame(rows)
        record.setdefault("P", {})[label] = dict(zip(frame["split"], frame["P"]))
        frames.append(frame[["split", "attack", "ssim", "ssim_sd", "psnr"]]
                      .rename(columns=lambda c: c if c in ("split", "attack") else f"{c}_{label}"))
    table = frames[0]
    for frame in frames[1:]:
        table = table.merge(frame, on=["split", "attack"])
    table["ssim_bf16_minus_fp32"] = table["ssim_on"] - table["ssim_off"]
    table["ssim_bf16path_minus_fp32"] = table["ssim_bf16path"] - table["ssim_off"]
    record["attacks"] = table.to_dict("records")
    io.append_jsonl(out / "parity.jsonl", record)
    print(f"attacks, {args.images} images: {record['attack_seconds_off']} s in float32 and "
          f"{record['attack_seconds_on']} s in bf16 on the float32 weights; "
          f"{record['attack_seconds_bf16path']} s in bf16 on the bf16 weights", flush=True)
    print(table.round(4).to_string(index=False), flush=True)


if __name__ == "__main__":
    main()
