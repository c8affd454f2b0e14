"""``python -m paperlib search``: Algorithm 1 for one model (resumable; rerun to continue)."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Callable

from ..constants import ENERGY_BOUND_MJ
from ..models import ARCHITECTURES
from ..profiles import SearchSettings

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
    "include_transmission": "whether E_b bounds the energy with the transmission term E_T",
}


def add_parser(subparsers: argparse._SubParsersAction,
               add_common_args: Callable[[argparse.ArgumentParser], None]) -> argparse.ArgumentParser:
    """Add the ``search`` subcommand (every profile search setting is a flag)."""
    from .estimators import ESTIMATORS

    p = subparsers.add_parser(
        "search", help="Algorithm 1: search the partition point and per-layer bits",
        description="Evolution search for the maximized partition (the paper's Algorithm 1). "
                    "Writes evaluations.jsonl, state.json and result.json to the output folder; "
                    "rerunning the same command resumes an interrupted search. Settings default "
                    "to the profile's.")
    add_common_args(p)
    p.add_argument("--model", required=True, choices=list(ARCHITECTURES))
    p.add_argument("--energy-bound", type=float, default=ENERGY_BOUND_MJ, metavar="MJ",
                   help=f"E_b in mJ per image (default {ENERGY_BOUND_MJ})")
    p.add_argument("--seed", type=int, default=0, help="search seed (default 0)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="output folder (default results/<profile>/search/<model>-eb<E_b>-seed<seed>/)")
    p.add_argument("--dataset", choices=["cifar10", "cifar100"], default=None,
                   help="default: the profile's")
    p.add_argument("--train-seed", type=int, default=0, help="seed of the checkpoint to search on")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
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
        metavar = None if extra else f.name.split("_")[0].upper()
        group.add_argument(flag, dest=f"set_{f.name}", type=kind, default=None, metavar=metavar,
                           help=helptext, **extra)
    p.set_defaults(func=cmd_search)
    return p


def cmd_search(args: argparse.Namespace) -> int:
    from . import run

    overrides = {k[4:]: v for k, v in vars(args).items() if k.startswith("set_") and v is not None}
    result = run(args.model, args.profile, energy_bound=args.energy_bound, seed=args.seed,
                 out_dir=args.out, dataset=args.dataset, train_seed=args.train_seed,
                 device=args.device, progress=not args.no_progress, **overrides)
    print(result.summary())
    print(f"result: {result.out_dir}/result.json")
    return 0
