"""Could a trained defence reach a plateau on 2 cores at a larger budget than quick's?

    python benchmarks/defence_budget_probe.py [--defence datamix] [--model resnet18] [--p 7]
        [--k 2] [--lam 1] [--epochs 20] [--images all] [--profile quick]

Issue 23, item 4 (docs/decisions/defences.md §12, §14). The quick profile gives DataMix's cloud at
most 6 epochs of 256 images and the proactive retraining at most 5 rounds of 128 images, and
neither reaches the plateau rule (`method.plateau`: the best of the last 3 epochs or rounds
improves on the best before by under 1 %). This probe trains the same part (the profile's
checkpoint, the full-precision split at ``--p``, the profile's lr and batch size): DataMix's cloud
(k = ``--k``) or the proactive edge, cloud and decoder (λ = ``--lam``), on ``--images`` training
images (default: every one) for at most ``--epochs`` epochs (DataMix) or rounds (proactive) with
the same rule. It prints each curve per epoch or round, whether and when the plateau came, and the
top-1 on the report split beside the undefended network's. Its trained parts go to a temporary
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
    parser.add_argument("--defence", choices=("datamix", "proactive"), default="datamix")
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--p", type=int, default=7)
    parser.add_argument("--k", type=int, default=2, help="DataMix's mixing size")
    parser.add_argument("--lam", type=float, default=1.0, help="the proactive retraining's λ")
    parser.add_argument("--epochs", type=int, default=20,
                        help="at most this many epochs (DataMix) or rounds (proactive)")
    parser.add_argument("--images", default="all", help="training images per epoch, or 'all'")
    parser.add_argument("--profile", default="quick")
    args = parser.parse_args(argv)
    images = None if args.images == "all" else int(args.images)

    import torch

    from paperlib import search
    from paperlib.attacks.victim import deploy
    from paperlib.defences import adversarial, datamix
    from paperlib.defences.base import Context, settings_for
    from paperlib.defences.evaluate import predict_correct
    from paperlib.method.profiles import get_profile

    prof = get_profile(args.profile)
    ctx = search.build_context(args.model, prof, progress=False)  # checkpoint and report split
    if args.defence == "datamix":
        defence = datamix.DataMix(k=args.k)
        budget = {"epochs": args.epochs}
    else:
        defence = adversarial.Proactive(lam=args.lam)
        budget = {"rounds": args.epochs}
    base = settings_for(defence.name, prof.defence.defences)  # the profile's lr, batch size
    settings = dataclasses.replace(base, images=images, **budget)
    victim = deploy(ctx.net, args.p, dataset=ctx.dataset, model=args.model)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["PAPERLIB_RESULTS_DIR"] = tmp  # the probe's clouds never enter the cache
        dctx = Context(net=ctx.net, meta=ctx.meta, p=args.p, policy=32, dataset=ctx.dataset,
                       settings=prof.defence, profile=prof.name, progress=True,
                       defence_settings=settings)
        t0 = time.perf_counter()
        defended = defence.apply(victim, dctx)
        seconds = time.perf_counter() - t0
        top1 = float(predict_correct(defence, defended, ctx.report_ds).mean())
    run = defence.training()
    unit, done = run["unit"], run["chunks"]
    print(f"{args.model} p = {args.p}, {defence.tag()}, {settings.images or 'all'} images x at "
          f"most {run['max_chunks']} {unit}s ({run['steps_per_chunk']} steps each), profile "
          f"{prof.name}, lr {settings.lr}, batch {settings.batch_size}, "
          f"{torch.get_num_threads()} torch threads")
    for i in range(done):
        print(f"  {unit} {i + 1:2d}: " + ", ".join(f"{k} {c[i]:.4f}" for k, c in run["curves"].items()))
    top1_fp = float(ctx.report_correct_fp().mean())  # the undefended split on the same images
    print(f"plateau: {f'reached after {done} {unit}s' if defence.converged() else 'not reached'}"
          f"; {seconds:.0f} s ({seconds / max(done, 1):.0f} s a {unit}); top-1 on the report "
          f"split {top1:.3f} (the undefended network's there: {top1_fp:.3f}; loss "
          f"{top1_fp - top1:+.3f})")


if __name__ == "__main__":
    main()
