"""Could DataMix's mixing-aware cloud reach a plateau on 2 cores at a larger budget than quick's?

    python benchmarks/defence_budget_probe.py [--model resnet18] [--p 7] [--k 2]
        [--epochs 20] [--images all] [--profile quick]

Issue 23, item 4 (docs/decisions/defences.md §12, §14): the quick profile gives DataMix's cloud
at most 6 epochs of 256 images and it never reaches the plateau rule (`method.plateau`: the best
loss of the last 3 epochs improves on the best before by under 1 %). This probe trains the same
cloud (the profile's checkpoint, the full-precision split at ``--p``, Adam at DataMix's lr) on
``--images`` training images (default: every one) for at most ``--epochs`` epochs with the same
rule, and prints per epoch the mixing-aware loss and its seconds, then whether and when the
plateau came, and the de-mixed top-1 on the report split. Its trained clouds go to a temporary
results folder (never the profile's cache).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import time


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--p", type=int, default=7)
    parser.add_argument("--k", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--images", default="all", help="training images per epoch, or 'all'")
    parser.add_argument("--profile", default="quick")
    args = parser.parse_args(argv)
    images = None if args.images == "all" else int(args.images)

    import torch

    from paperlib import search
    from paperlib.attacks.victim import deploy
    from paperlib.defences import datamix
    from paperlib.defences.base import Context, settings_for
    from paperlib.defences.evaluate import predict_correct
    from paperlib.method.profiles import get_profile

    prof = get_profile(args.profile)
    ctx = search.build_context(args.model, prof, progress=False)  # checkpoint and report split
    base = settings_for(datamix.DataMix.name, prof.defence.defences)  # the profile's lr, batch
    settings = dataclasses.replace(base, epochs=args.epochs, images=images)
    victim = deploy(ctx.net, args.p, dataset=ctx.dataset, model=args.model)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["PAPERLIB_RESULTS_DIR"] = tmp  # the probe's clouds never enter the cache
        dctx = Context(net=ctx.net, meta=ctx.meta, p=args.p, policy=32, dataset=ctx.dataset,
                       settings=prof.defence, profile=prof.name, progress=True,
                       defence_settings=settings)
        t0 = time.perf_counter()
        defence = datamix.DataMix(k=args.k)
        defended = defence.apply(victim, dctx)
        seconds = time.perf_counter() - t0
        log = defence.log
        top1 = float(predict_correct(defence, defended, ctx.report_ds).mean())
    curve = log["train_loss"]
    print(f"{args.model} p = {args.p}, DataMix k = {args.k}, {log['images']} images x at most "
          f"{args.epochs} epochs ({log['steps_per_epoch']} steps each), profile {prof.name}, "
          f"lr {settings.lr}, batch {settings.batch_size}, {torch.get_num_threads()} torch threads")
    for i, loss in enumerate(curve, 1):
        print(f"  epoch {i:2d}: mixing-aware loss {loss:.4f}")
    top1_fp = float(ctx.report_correct_fp().mean())  # the undefended split on the same images
    print(f"plateau: {'reached after ' + str(log['epochs']) + ' epochs' if defence.converged() else 'not reached'}"
          f"; {seconds:.0f} s ({seconds / max(len(curve), 1):.0f} s an epoch); de-mixed top-1 on "
          f"the report split {top1:.3f} (the undefended network's there: {top1_fp:.3f}; "
          f"loss {top1_fp - top1:+.3f})")


if __name__ == "__main__":
    main()
