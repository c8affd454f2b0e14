"""A user's own model, named on the command line as ``path/to/file.py:build_fn``.

:func:`register_from_file` imports ``build_fn`` from the file and registers it in
:data:`paperlib.method.models.MODELS` like a built-in model, so training, energy, search and reports work
unchanged. ``build_fn(num_classes)`` must return an ``nn.Module`` whose forward torch.fx can trace
(or whose untraceable parts are marked with :func:`paperlib.method.graph.leaf`) and that takes CIFAR-size
images (3x32x32) or states its input shape as ``input_shape``. :func:`load_checkpoint` loads
weights the user trained elsewhere instead of training them here
(docs/decisions/graph-and-hardware.md §4).
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
import time
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from .. import data, graph
from ...infra import io
from . import CIFAR_INPUT, MODELS, NUM_CLASSES, build
from .. import train


def is_file_spec(spec: str) -> bool:
    """True for ``something.py:function``."""
    path, sep, fn = str(spec).rpartition(":")
    return bool(sep) and path.endswith(".py") and fn.isidentifier()


def model_name(spec: str) -> str:
    """The registry name of ``file.py:fn``: ``<file stem>.<fn>`` (safe in file names)."""
    path, _, fn = str(spec).rpartition(":")
    return f"{Path(path).stem}.{fn}"


def _load_function(spec: str) -> Callable[..., nn.Module]:
    path_text, _, fn_name = str(spec).rpartition(":")
    path = Path(path_text).expanduser()
    if not path.is_file():
        raise ValueError(f"--model {spec}: file {path} does not exist; give path/to/file.py:build_fn")
    module_name = f"paperlib_user_model_{hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]}"
    if module_name not in sys.modules:
        loader_spec = importlib.util.spec_from_file_location(module_name, path)
        if loader_spec is None or loader_spec.loader is None:
            raise ValueError(f"--model {spec}: cannot import {path} as a Python module")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[module_name] = module
        try:
            loader_spec.loader.exec_module(module)
        except Exception:
            del sys.modules[module_name]
            raise
    fn = getattr(sys.modules[module_name], fn_name, None)
    if not callable(fn):
        raise ValueError(f"--model {spec}: {path} has no function {fn_name!r}; it should define "
                         f"`def {fn_name}(num_classes: int) -> nn.Module`")
    return fn


def register_from_file(spec: str, dataset: str = "cifar10", input_shape: tuple[int, ...] | None = None,
                       ) -> str:
    """Import ``build_fn`` from ``path/to/file.py:build_fn``, check that the model it builds
    traces and partitions, register it in ``MODELS`` (replacing an earlier registration of the
    same spec) and return its name (``<file stem>.<build_fn>``)."""
    if not is_file_spec(spec):
        raise ValueError(f"--model {spec!r}: expected a registered model ({', '.join(MODELS)}) or "
                         "path/to/file.py:build_fn")
    fn = _load_function(spec)
    name = model_name(spec)
    if name in MODELS and MODELS.entry(name).meta.get("source") != str(spec):
        raise ValueError(f"--model {spec}: the name {name!r} is already taken by another model; "
                         "rename the file or the function")
    takes_classes = len(inspect.signature(fn).parameters) >= 1
    factory = fn if takes_classes else (lambda _num_classes: fn())
    MODELS.add(name, factory, label=name, replace=True, dataset=dataset, unit_name="unit",
               family="user", source=str(spec), input_shape=tuple(input_shape or CIFAR_INPUT))
    try:
        check_model(spec, factory, name, dataset, tuple(input_shape or CIFAR_INPUT))
    except Exception:
        MODELS.unregister(name)
        raise
    return name


HEAD_FIX = ("declare everything after the last feature map (pooling, flatten, linear) as one head "
            "module called last in forward, e.g. `self.head = nn.Sequential("
            "nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(C, num_classes))`")


def check_model(spec: str, factory: Callable[[int], object], name: str, dataset: str,
                input_shape: tuple[int, ...]) -> None:
    """Build, trace and run a user's model once on two blank images, before any training: it
    must be an ``nn.Module``, trace and partition, answer (B, classes), and every partition point
    must send a 4-D IR (B, C, h, w), the map privacy is measured on (Eq. 1-2). Each failure names
    the model, the point and the fix (docs/decisions/graph-and-hardware.md §8)."""
    if dataset not in NUM_CLASSES:
        raise ValueError(f"--model {spec}: unknown dataset {dataset!r}; choose one of "
                         f"{', '.join(NUM_CLASSES)}")
    num_classes = NUM_CLASSES[dataset]
    net = factory(num_classes)
    if not isinstance(net, nn.Module):
        raise ValueError(f"--model {spec}: it returned {type(net).__name__}, not an nn.Module; "
                         "return the model itself, e.g. `return MyNet(num_classes)`")
    net.arch_name = name  # as models.build names it
    net.eval()
    graph.analyse(net)  # a clear error now (untraceable, no partition point) rather than later
    shapes: dict[int, tuple[int, ...]] = {}
    def record(p: int):
        def hook(_module: nn.Module, _inputs: object, out: torch.Tensor) -> None:
            shapes.setdefault(p, tuple(out.shape))
        return hook

    hooks = [unit.register_forward_hook(record(p)) for p, unit in enumerate(graph.units(net))]
    try:
        with torch.no_grad():
            out = net(torch.zeros(2, *input_shape))
    finally:
        for hook in hooks:
            hook.remove()
    got = tuple(getattr(out, "shape", ()))
    if got != (2, num_classes):
        raise ValueError(f"--model {spec}: its forward returns shape {got} for 2 images, not "
                         f"(2, {num_classes}) (one logit per {dataset} class); end forward with "
                         f"a layer of {num_classes} outputs")
    unit_names = graph.analyse(net).unit_modules
    for p, shape in sorted(shapes.items()):
        if len(shape) != 4:
            where = ("its stem (p = 0): it has no partition point sending a feature map; paperlib "
                     "partitions models with convolutions before the head, and " if p == 0 else "")
            raise ValueError(
                f"--model {spec}: partition point p = {p} (the output of {unit_names[p]!r}) sends an "
                f"IR of shape {shape}, not a feature map (B, C, h, w) as privacy (Eq. 1-2) needs; "
                f"{where}{HEAD_FIX}")


def resolve_model(spec: str, dataset: str | None = None) -> str:
    """A registered model name as it is, or ``file.py:fn`` registered (:func:`register_from_file`)."""
    if spec in MODELS:
        return spec
    return register_from_file(spec, dataset or "cifar10")


def load_checkpoint(model: str, path: str | Path, train_ds: data.CifarArrays,
                    test_ds: data.CifarArrays, dataset: str, *,
                    device: torch.device | str = "cpu") -> tuple[nn.Module, dict]:
    """``model`` built for ``dataset`` with the weights of ``path`` (a ``state_dict`` saved by
    ``torch.save``, or a dict holding one under ``"model"`` or ``"state_dict"``), in eval mode, and
    metadata like a trained checkpoint's (its top-1 measured on ``test_ds``)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ValueError(f"--checkpoint {path} does not exist")
    payload = path.read_bytes()
    state = io.torch_load(path, fix="pass a state_dict saved with torch.save(net.state_dict(), path)",
                          map_location="cpu", weights_only=True)
    if isinstance(state, dict) and not any(isinstance(v, torch.Tensor) for v in state.values()):
        state = state.get("model", state.get("state_dict", state))
    net = build(model, dataset)
    try:
        net.load_state_dict(state)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"--checkpoint {path} does not fit {model}: {exc}") from None
    device = torch.device(device)
    net = net.to(device).eval()
    accuracy = train.top1(net, test_ds, device=device)
    sha = io.sha256_bytes(payload)
    meta = {"arch": model, "dataset": dataset, "accuracy": accuracy, "checkpoint": str(path),
            "sha256": sha, "data": data.provenance(train_ds, test_ds),
            # the sensitivity cache keys on the checkpoint's date: make it the file's identity
            "date": f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.localtime(path.stat().st_mtime))}"
                    f" sha256:{sha[:16]}"}
    return net, meta


__all__ = ["HEAD_FIX", "check_model", "is_file_spec", "model_name", "register_from_file", "resolve_model", "load_checkpoint"]
