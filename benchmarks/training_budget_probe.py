"""How far is a quick model from a plateau, and does training it longer change its privacy numbers?

    python benchmarks/training_budget_probe.py --model cifar10cnn [--multiples 1 2 4]
        [--images 32] [--profile quick] [--out /tmp/paperlib-training-probe]

Issue 23, item 1 (docs/decisions/reporting.md §13). The model is trained with its profile's recipe
(augmentation, label smoothing, one-cycle rate, weight decay) stretched to ``m`` times the recipe's
epochs for each of ``--multiples`` (1: the profile's own checkpoint, reused). A longer budget is a
whole one-cycle schedule of that length, not the shorter one continued. Convergence is judged on
held-out images the reported numbers never use: the top-1 of each budget on the *search* split of
the test images, and its paired gain over the budget before (same images, s.e. of the paired
difference). The report split's top-1 is printed beside it. At He et al.'s three points (or three
block points) it also gives, per budget, P (Eq. 1) and its resolution controls and each attack's
SSIM with the worst case over them: the privacy-vs-training table of notebook 08
(``studies.training_controls``), extended past the quick budget.

Results go to ``--out`` (its own checkpoints, one folder per multiple, and attack cache; the 1×
budget is the profile's checkpoint, trained there first if missing) and are kept there: an
interrupted probe resumes. ``probe.jsonl`` gets one record per budget.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="cifar10cnn")
    parser.add_argument("--multiples", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--images", type=int, default=32, help="test images each attack inverts")
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--out", default="/tmp/paperlib-training-probe")
    args = parser.parse_args(argv)
    if min(args.multiples) < 1:
        parser.error(f"--multiples must be whole numbers >= 1, got {args.multiples}")
    out = Path(args.out)
    os.environ["PAPERLIB_RESULTS_DIR"] = str(out / "results")  # the probe's own attack cache

    import pandas as pd
    import torch

    from paperlib.attacks.base import ATTACKS
    from paperlib.infra import io
    from paperlib.method import train
    from paperlib.method.paired_accuracy import budget_verdict, paired_gain
    from paperlib.method.evaluation_split import profile_split
    from paperlib.method.profiles import get_profile
    from paperlib.studies import training_controls as tc

    prof = get_profile(args.profile)
    recipe = prof.recipe(args.model)
    _, test_ds = train.training_data(args.model, prof)
    split = profile_split(prof, args.model, len(test_ds))
    search_ds, report_ds = split.apply(test_ds)
    before, points = None, None
    for m in sorted(set(args.multiples)):
        epochs = recipe.epochs * m
        stretched = dataclasses.replace(prof, train={**prof.train, args.model:
                                                     dataclasses.replace(recipe, epochs=epochs)})
        t0 = time.perf_counter()
        net, meta = train.load_or_train(
            args.model, stretched, checkpoint_root=None if m == 1 else out / "checkpoints" / f"x{m}",
            progress=True)
        hits = {"search": train.correct(net, search_ds).float(),
                "report": train.correct(net, report_ds).float()}
        record = {"model": args.model, "multiple": m, "epochs": epochs,
                  "train_seconds": meta.get("train_seconds"),
                  "top1_search": float(hits["search"].mean()),
                  "top1_report": float(hits["report"].mean()),
                  "search_images": len(search_ds), "report_images": len(report_ds),
                  "last_train_loss": ((meta.get("curve") or {}).get("train_loss") or [math.nan])[-1]}
        if before is not None:  # paired by image: the same search-split images, two networks
            gain, se = paired_gain(before, hits["search"])
            record.update(gain_search=gain, gain_search_se=se,
                          verdict_before=budget_verdict(gain, se))
        before = hits["search"]
        points = points or tc.control_points(args.model, net)
        stage = tc.stage_rows(args.model, stretched, net, meta, epochs, epochs, points,
                              ATTACKS.names(), prof.attack, args.images, None, True,
                              suffix=f"-budget{m}x")
        frame = tc.progress_frame(stage)
        record["points"] = frame[["split", "images", "P", "P_avgpool", "P_beyond_shape", "ssim_worst",
                                  "ssim_worst_sd", "ssim_worst_attack"]
                                 + [c for c in frame.columns if c.startswith("ssim_")
                                    and not c.startswith("ssim_worst")]].to_dict("records")
        spread = {(r["split"], r["attack"]): r["ssim_sd"] for r in stage}  # each attack's, per point
        for row in record["points"]:
            row.update({f"ssim_sd_{a}": spread[(row["split"], a)] for a in ATTACKS.names()})
        record["probe_seconds"] = round(time.perf_counter() - t0, 1)
        io.append_jsonl(out / "probe.jsonl", record)
        gain = (f"; gain over the budget before {record['gain_search']:+.3f} "
                f"(s.e. {record['gain_search_se']:.3f}): the budget before is "
                f"{record['verdict_before']}" if "gain_search" in record else "")
        print(f"{args.model} x{m} ({epochs} epochs, {torch.get_num_threads()} threads): top-1 "
              f"search split {record['top1_search']:.3f}, report split "
              f"{record['top1_report']:.3f}{gain}", flush=True)
        print(pd.DataFrame(record["points"]).round(3).to_string(index=False), flush=True)


if __name__ == "__main__":
    main()
