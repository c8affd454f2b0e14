"""``python -m paperlib search``: Algorithm 1 for one model (resumable; rerun to continue)."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Callable

from ..search import ranges
from ..method.constants import ENERGY_BOUND_MJ
from ..method.models import MODELS
from ..method.profiles import SearchSettings
from ..search.estimators import ESTIMATORS
from ..infra.executors import EXECUTORS
from ..attacks.scoring import score_result
from ..infra.executors import make_executor
from ..method.models.user import resolve_model
from ..search import RunSettings, build_context, run

# Help for the SearchSettings fields; every field becomes a flag (--iterations, ...).
_HELP = {
    "iterations": "T, iterations of Algorithm 1",
    "population": "N, population size",
    "sample": "S, sample size per iteration (<= N)",
    "p_mutate_partition": "probability of re-drawing p in a mutation",
    "p_mutate_layer": "probability of re-drawing each layer's bits in a mutation",
    "lambda_energy": "λ1, energy punishment coefficient in (0, 1)",
    "lambda_accuracy": "λ2, accuracy punishment coefficient in (0, 1)",
    "accuracy_bound": "ε_b, the accuracy-loss bound (fraction, e.g. 0.03)",
    "estimator": "ε estimator used during the search",
    "reference_estimator": "ε estimator that re-scores the best strategy",
    "finetune_batches": "batches of the finetune-batches estimator",
    "validation_images": "test images of the cheap estimators' validation subset",
    "privacy_images": "test images P is measured on during the search",
    "report_fraction": "share of the test images held out as the report split that result.json "
                       "and the tables report on (the search scores on the rest; default 0.5)",
    "include_transmission": "whether E_b bounds the energy with the transmission term E_T",
    "init": "baselines: the package's default search (uniform baselines in the initial population, "
            "exposed layers inherit bits, repair); random: Algorithm 1 exactly as the paper gives it",
    "repair_steps": "evaluations spent repairing an infeasible child (default search only)",
    "selection": "fitness (Eq. 11, the paper) or feasibility (feasible first, then least violation)",
}


def add_parser(subparsers: argparse._SubParsersAction,
               add_common_args: Callable[[argparse.ArgumentParser], None]) -> argparse.ArgumentParser:
    """Add the ``search`` subcommand (every profile search setting is a flag)."""
    p = subparsers.add_parser(
        "search", help="Algorithm 1: search the partition point and per-layer bits",
        description="Evolution search for the maximized partition (the paper's Algorithm 1). "
                    "Writes evaluations.jsonl, state.json and result.json to the output folder; "
                    "rerunning the same command resumes an interrupted search. Settings default "
                    "to the profile's.")
    add_common_args(p)
    p.add_argument("--model", required=True, metavar="MODEL",
                   help=f"a registered model ({', '.join(MODELS)}) or your own, as "
                        "path/to/file.py:build_fn (build_fn(num_classes) returns an nn.Module; "
                        "README: 'Use it on your own model')")
    p.add_argument("--checkpoint", default=None, metavar="FILE",
                   help="search on these weights (a state_dict saved with torch.save) instead of "
                        "training or reusing the profile's checkpoint")
    p.add_argument("--energy-bound", type=ranges.ENERGY_BOUND.argtype(), default=ENERGY_BOUND_MJ,
                   metavar="MJ",
                   help=f"E_b in mJ per image (default {ENERGY_BOUND_MJ})")
    p.add_argument("--seed", type=int, default=0, help="search seed (default 0)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="output folder (default results/<profile>/search/<model>-eb<E_b>-seed<seed>/)")
    p.add_argument("--dataset", choices=["cifar10", "cifar100"], default=None,
                   help="default: the profile's")
    p.add_argument("--train-seed", type=int, default=0, help="seed of the checkpoint to search on")
    p.add_argument("--device", default=None,
                   help="cpu, cuda, cuda:N or auto (default: $PAPERLIB_DEVICE, else auto: "
                        "cuda when present)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--attack-scores", action="store_true",
                   help="also score the best strategy with every attack (paperlib.attacks) and "
                        "keep the scores in result.json (best.attack_scores)")
    par = p.add_argument_group("parallel search (docs/decisions/scale.md §1-2)")
    par.add_argument("--batch", type=int, default=1, metavar="K",
                     help="children scored per round (default 1: Algorithm 1 exactly)")
    par.add_argument("--executor", choices=list(EXECUTORS), default="local",
                     help="where the children are scored (default local: in this process)")
    par.add_argument("--workers", type=int, default=1, metavar="W",
                     help="children scored at once (default 1)")
    par.add_argument("--address", default=None,
                     help="Ray cluster address (e.g. auto; --executor ray only)")
    par.add_argument("--gpus-per-worker", type=float, default=None, metavar="G",
                     help="GPU share of each Ray worker (e.g. 0.25; --executor ray only)")
    group = p.add_argument_group("search settings (default: the profile's)")
    for f in dataclasses.fields(SearchSettings):
        flag = "--" + f.name.replace("_", "-")
        kind = {"int": int, "float": float, "str": str, "bool": bool}.get(
            f.type if isinstance(f.type, str) else f.type.__name__, str)
        helptext = _HELP.get(f.name, f.name.replace("_", " "))
        if kind is bool:
            group.add_argument(flag, dest=f"set_{f.name}", action=argparse.BooleanOptionalAction,
                               default=None, help=helptext)
            continue
        extra = {"choices": list(ESTIMATORS)} if f.name in ("estimator", "reference_estimator") else {}
        if f.name in ranges.CHOICES:
            extra = {"choices": list(ranges.CHOICES[f.name])}
        metavar = None if extra else f.name.split("_")[0].upper()
        if ranges.cli_range(f.name) is not None:  # range-checked, refused by flag name
            kind = ranges.cli_range(f.name).argtype()
        group.add_argument(flag, dest=f"set_{f.name}", type=kind, default=None, metavar=metavar,
                           help=helptext, **extra)
    p.set_defaults(func=cmd_search)
    return p


def cmd_search(args: argparse.Namespace) -> int:
    model = resolve_model(args.model, args.dataset)
    overrides = {k[4:]: v for k, v in vars(args).items() if k.startswith("set_") and v is not None}
    options = {k: v for k, v in (("address", args.address),
                                 ("gpus_per_worker", args.gpus_per_worker)) if v is not None}
    if options and args.executor != "ray":
        raise SystemExit(f"--address / --gpus-per-worker apply to --executor ray only, not "
                         f"{args.executor!r}")
    context = None
    if args.attack_scores:  # the scores need the search's own weights and data
        context = build_context(model, args.profile, dataset=args.dataset,
                                train_seed=args.train_seed, progress=not args.no_progress,
                                device=args.device, checkpoint=args.checkpoint)
    with make_executor(args.executor, args.workers, **options) as executor:
        settings = RunSettings(energy_bound=args.energy_bound, seed=args.seed, batch=args.batch,
                               train_seed=args.train_seed, search=overrides)
        result = run(model, args.profile, settings, out_dir=args.out, dataset=args.dataset,
                     device=args.device, progress=not args.no_progress,
                     checkpoint=args.checkpoint, executor=executor, context=context)
    if context is not None:
        score_result(result, context, progress=not args.no_progress)
    print(result.summary())
    print(f"result: {result.out_dir}/result.json")
    return 0
