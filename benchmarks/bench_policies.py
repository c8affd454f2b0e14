"""Notebook 08's within-point study: its policies in one process against spread over processes.

    python benchmarks/bench_policies.py [--profile quick] [--model cifar10cnn] [--point ReLU32]
        [--policies 4] [--workers 2] [--repeats 1]

The study (docs/decisions/attacks.md §12) attacks random quantization policies at a fixed point
with every attack on the profile's ``policy_images`` test images. This times ``--policies`` of
them as notebook 08 runs them with ``AttackSettings.policy_workers`` = 1 (one process at torch's
default threads) and with ``--workers`` processes of one thread each
(``nb08_attacks.attack_policies``), each run in a fresh results folder (computed, never read from
a cache), the two alternating ``--repeats`` times so that both see the same machine load. Prints
seconds per policy for both and their ratio (> 1: the processes are faster). The profile's
checkpoint is used (trained first if missing).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--model", default="cifar10cnn")
    ap.add_argument("--point", default="ReLU32")
    ap.add_argument("--policies", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args(argv)

    import torch

    from paperlib.attacks.base import ATTACKS
    from paperlib.attacks.points import resolve_point
    from paperlib.method import train
    from paperlib.method.profiles import get_profile
    from paperlib.studies import nb08_attacks

    prof = get_profile(args.profile)
    s = prof.attack
    net, meta = train.load_or_train(args.model, prof, progress=False)
    p = resolve_point(args.model, args.point)
    pols = nb08_attacks.random_policies(net, p, args.policies, seed=0)
    images = nb08_attacks.within_point_images(s)
    jobs = nb08_attacks.PolicyJobs(args.model, prof, net, meta, p,
                                   dict(attacks=ATTACKS.names(), images=images, progress=False,
                                        threads=None))
    best = {1: float("inf"), args.workers: float("inf")}
    for _ in range(args.repeats):
        for workers in best:
            with tempfile.TemporaryDirectory() as tmp:
                os.environ["PAPERLIB_RESULTS_DIR"] = tmp
                t0 = time.perf_counter()
                nb08_attacks.attack_policies(jobs, pols, workers=workers)
                best[workers] = min(best[workers], time.perf_counter() - t0)
    one, many = best[1], best[args.workers]
    print(f"{args.model} at {args.point} (p = {p}), profile {prof.name}: {len(pols)} policies x "
          f"{len(ATTACKS.names())} attacks on {images} images, best of {args.repeats}")
    print(f"  one process, {torch.get_num_threads()} threads: {one / len(pols):.1f} s a policy")
    print(f"  {args.workers} processes, 1 thread each: {many / len(pols):.1f} s a policy")
    print(f"  ratio (one process / {args.workers} processes): {one / many:.2f}x")


if __name__ == "__main__":
    main()
