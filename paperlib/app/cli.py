"""Command line: ``python -m paperlib {data,train,search,...} --help``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from ..search import ranges
from ..method.models import MODELS
from ..method.profiles import PROFILES
from ..method import data
from ..network import traces
from ..method import train
from ..method.models.user import resolve_model
from . import reproduce
from ..method import hardware
from . import search_cli
from ..method import models, points


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", choices=list(PROFILES), default=None,
                   help="run profile (default: $PAPERLIB_PROFILE or quick)")
    p.add_argument("--data-dir", default=None, help="CIFAR folder (default: $PAPERLIB_DATA_DIR or data/)")
    p.add_argument("--allow-partial-data", action="store_true",
                   help="accept a CIFAR copy whose md5 differs (e.g. ../shared/data); results are labelled partial")
    p.add_argument("--hardware", default=None, metavar="NAME_OR_TOML",
                   help="hardware description for every energy number: table3 (the paper's "
                        "Table 3, default), horowitz2014, or your own TOML file (see "
                        "paperlib/method/hardware_tables/); sets $PAPERLIB_HARDWARE")
    p.add_argument("-v", "--verbose", action="store_true")


def _models_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", nargs="+", required=True, metavar="MODEL",
                   help=f"registered models ({', '.join(MODELS)}) or your own as "
                        "path/to/file.py:build_fn")


def cmd_data(args: argparse.Namespace) -> int:
    if args.traces:  # the uplink traces of notebook 10 (paperlib.network.traces)

        for line in traces.check_all(download_missing=args.download):
            print(line)
        return 0
    if args.synthetic:
        for name in args.dataset:
            folder = data.write_synthetic(args.synthetic, name, args.synthetic_train, args.synthetic_test)
            print(f"{name}: synthetic copy (random pixels) written to {folder}")
        return 0
    for name in args.dataset:
        if args.download:
            print(f"{name}: downloaded to {data.download(name)}")
        for split in ("train", "test"):
            ds = data.load(name, split)
            print(f"{name} {split}: {len(ds)} images, {ds.num_classes} classes"
                  + (" (md5 verified)" if not ds.partial else
                     " (partial copy, verified by its MANIFEST.json)" if ds.verified else
                     " (UNVERIFIED partial copy: no manifest lists its files)"))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    for model in (resolve_model(m, args.dataset) for m in args.model):
        _, meta = train.load_or_train(model, args.profile, dataset=args.dataset, seed=args.seed,
                                      retrain=args.retrain, device=args.device)
        print(f"{model}: top-1 {meta['accuracy']:.4f} on {meta['data']} "
              f"({meta['train_seconds']} s of training, profile {meta['profile']})")
    return 0


def cmd_points(args: argparse.Namespace) -> int:
    """List a model's partition points: IR shape, edge MACs, bits sent (graph-and-hardware.md §10)."""
    for spec in args.model:
        name = resolve_model(spec, args.dataset)
        print(points.points_table(name, points.partition_points(models.build(name, args.dataset))))
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    stages = tuple(args.stage) if args.stage else reproduce.STAGES
    reproduce.reproduce(args.profile, stages, args.notebook)
    return 0


def _use_hardware(spec: str) -> None:
    """Validate ``--hardware`` now and make it the process's (and its notebooks') default."""
    hardware.load(spec)  # a clear error naming a missing or negative field
    path = Path(spec).expanduser()
    os.environ["PAPERLIB_HARDWARE"] = str(path.resolve()) if path.exists() else spec


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m paperlib", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("data", help="check (and with --download fetch) the CIFAR files")
    _common(p)
    p.add_argument("--dataset", nargs="+", default=["cifar10", "cifar100"],
                   choices=["cifar10", "cifar100"])
    p.add_argument("--download", action="store_true", help="download the official archives (internet)")
    p.add_argument("--synthetic", metavar="DIR", default=None,
                   help="write a synthetic copy (random pixels, official layout) into DIR instead")
    p.add_argument("--synthetic-train", type=ranges.POSITIVE_INT.argtype(), default=600,
                   help="training images of --synthetic")
    p.add_argument("--synthetic-test", type=ranges.POSITIVE_INT.argtype(), default=200,
                   help="test images of --synthetic")
    p.add_argument("--traces", action="store_true",
                   help="check the network traces (md5) instead of CIFAR; with --download, fetch "
                        "the missing ones")
    p.set_defaults(func=cmd_data)

    p = sub.add_parser("train", help="train (or reuse the cached checkpoint of) a model")
    _common(p)
    _models_argument(p)
    p.add_argument("--dataset", choices=["cifar10", "cifar100"], default=None,
                   help="default: the profile's (the paper's data set unless the profile overrides it)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--retrain", action="store_true", help="ignore and replace a cached checkpoint")
    p.add_argument("--device", default=None,
                   help="cpu, cuda, cuda:N or auto (default: $PAPERLIB_DEVICE, else auto: "
                        "cuda when present)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("points", help="list a model's partition points: IR shape, edge MACs "
                                      "and bits sent (nothing is trained)")
    _common(p)
    _models_argument(p)
    p.add_argument("--dataset", choices=["cifar10", "cifar100"], default=None,
                   help="the class count of the head (default: the model's data set)")
    p.set_defaults(func=cmd_points)

    p = sub.add_parser("reproduce", help="models, searches and notebooks of a profile (cached)")
    _common(p)
    p.add_argument("--stage", nargs="+", choices=["models", "searches", "notebooks"],
                   help="run only these stages (default: all, in order)")
    p.add_argument("--notebook", nargs="+", default=None,
                   help="execute only these notebooks (e.g. 01 04_search_convergence)")
    p.set_defaults(func=cmd_reproduce)


    search_cli.add_parser(sub, _common)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if getattr(args, "data_dir", None):
        os.environ["PAPERLIB_DATA_DIR"] = args.data_dir
    if getattr(args, "allow_partial_data", False):
        os.environ["PAPERLIB_ALLOW_PARTIAL_DATA"] = "1"
    try:
        if getattr(args, "hardware", None):
            _use_hardware(args.hardware)
        return args.func(args)
    except KeyboardInterrupt:  # Ctrl-C: every command resumes from its files (data-integrity.md §13)
        print("interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    except (ValueError, RuntimeError) as exc:  # user errors: one clear line, no traceback
        if args.verbose:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
