"""Could a trained defence reach a plateau on 2 cores at a larger budget than quick's?

    python benchmarks/defence_budget_probe.py [--defence datamix] [--model resnet18] [--p 7]
        [--k 2] [--lam 1] [--epochs 20] [--images all] [--profile quick]
        [--decoder-epochs N] [--decoder-lr LR] [--attack-images N]

Issue 23, item 4 (docs/decisions/defences.md §12, §14). The quick profile gives DataMix's cloud at
most 6 epochs of 256 images and the proactive retraining at most 6 rounds of 512 images, and none
of their 20 quick rows reaches its plateau rule (`method.plateau`: the best of the last 3 epochs
or rounds improves on the best before by under 1 %; for the proactive game, two-sided). This
probe trains the same part (the profile's checkpoint, the full-precision split at ``--p``, the
profile's lr and batch size): DataMix's cloud (k = ``--k``) or the proactive edge, cloud and
decoder (λ = ``--lam``), on ``--images`` training
images (default: every one) for at most ``--epochs`` epochs (DataMix) or rounds (proactive) with
the same rule. It prints each curve per epoch or round, whether and when the plateau came, and the
top-1 on the report split beside the undefended network's. With ``--attack-images N`` it then
runs every registered attack (notebook 09's budgets) on N test images of the defended split and of
the undefended one, and prints each attack's SSIM and the worst case: whether the retrained part
defends against adversaries it did not train with. ``--decoder-epochs`` and ``--decoder-lr`` set
the proactive adversary's own budget (docs/decisions/defences.md §15). Its trained parts and
attacks go to a temporary results folder (never the profile's cache).
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
    parser.add_argument("--decoder-epochs", type=int, default=None,
                        help="the proactive decoder's epochs per round (default: the profile's)")
    parser.add_argument("--decoder-lr", type=float, default=None,
                        help="the proactive decoder's Adam rate (default: the profile's)")
    parser.add_argument("--attack-images", type=int, default=0,
                        help="attack the defended and the undefended split on this many test "
                             "images (0: no attacks)")
    args = parser.parse_args(argv)
    images = None if args.images == "all" else int(args.images)

    import torch

    from paperlib import search
    from paperlib.attacks.victim import deploy
    from paperlib.defences import adversarial, datamix
    from paperlib.defences.base import Context, settings_for
    from paperlib.attacks.base import ATTACKS
    from paperlib.attacks.worst_case import worst_case
    from paperlib.defences.evaluate import attack_defended, predict_correct
    from paperlib.defences.paper_strategy import NoDefence
    from paperlib.method.profiles import get_profile

    prof = get_profile(args.profile)
    ctx = search.build_context(args.model, prof, progress=False)  # checkpoint and report split
    if args.defence == "datamix":
        defence = datamix.DataMix(k=args.k)
        budget = {"epochs": args.epochs}
    else:
        defence = adversarial.Proactive(lam=args.lam)
        budget = {"rounds": args.epochs}
        if args.decoder_epochs is not None:
            budget["decoder_epochs"] = args.decoder_epochs
        if args.decoder_lr is not None:
            budget["decoder_lr"] = args.decoder_lr
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
        attacked = {}  # tag of the split -> each attack's SSIM
        if args.attack_images:
            for d, v in ((NoDefence(), victim), (defence, defended)):
                found = attack_defended(d, v, model=args.model, prof=prof, p=args.p, policy=32,
                                        names=ATTACKS.names(), meta=ctx.meta, dataset=ctx.dataset,
                                        images=args.attack_images, force=False, progress=True,
                                        allow_partial=None, threads=None)
                attacked[d.tag()] = {n: r.ssim for n, r in found.items()}
    run = defence.training()
    unit, done = run["unit"], run["chunks"]
    print(f"{args.model} p = {args.p}, {defence.tag()}, {settings.images or 'all'} images x at "
          f"most {run['max_chunks']} {unit}s ({run['steps_per_chunk']} steps each), profile "
          f"{prof.name}, {settings}, {torch.get_num_threads()} torch threads")
    for i in range(done):
        print(f"  {unit} {i + 1:2d}: " + ", ".join(f"{k} {c[i]:.4f}" for k, c in run["curves"].items()))
    top1_fp = float(ctx.report_correct_fp().mean())  # the undefended split on the same images
    print(f"plateau: {f'reached after {done} {unit}s' if defence.converged() else 'not reached'}"
          f"; {seconds:.0f} s ({seconds / max(done, 1):.0f} s a {unit}); top-1 on the report "
          f"split {top1:.3f} (the undefended network's there: {top1_fp:.3f}; loss "
          f"{top1_fp - top1:+.3f})")

    for tag, ssim in attacked.items():
        print(f"attacks on {args.attack_images} test images, {tag}: "
              + ", ".join(f"{n} SSIM {v:.3f}" for n, v in ssim.items())
              + f"; worst case {worst_case(ssim):.3f}")


if __name__ == "__main__":
    main()
