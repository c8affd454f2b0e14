"""The device path: which device, data kept on it, and the speed settings of CUDA runs.

One place for everything that depends on where tensors live (docs/decisions/scale.md §6):

* :func:`resolve` — the torch device from an argument, else ``$PAPERLIB_DEVICE`` (``auto``: CUDA
  when present, else the CPU).
* :class:`DevicePlan` (:func:`plan_for`) — on CUDA: bf16 autocast for gradient steps, channels-last
  models and inputs, optionally ``torch.compile`` (``$PAPERLIB_COMPILE``); on the CPU every one of
  them is off (plain float32 PyTorch) unless ``$PAPERLIB_CPU_BF16`` asks for bf16 autocast
  (``auto``: where the CPU has bf16 instructions, :func:`cpu_has_bf16`; ``on``; default ``off``).
  :attr:`DevicePlan.precision` names the choice; a checkpoint records it.
* :func:`resident` — a data set copied to the device once (uint8); :func:`paperlib.method.data.batches`
  batches it there (the same order, crops and flips on every device, augmented and normalised by
  tensor ops on the device). No image crosses the host–device bus per batch.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from typing import Callable

import torch
from torch import nn

from ..infra import config
from . import data

RESIDENT_CACHE_SIZE = 4  # data sets kept on an accelerator (train, test, validation, privacy)
FP32 = "fp32"  # the precision of plain float32 PyTorch


def resolve(device: torch.device | str | None = None) -> torch.device:
    """``device``, else ``$PAPERLIB_DEVICE``; ``auto`` (the default) is CUDA when present."""
    spec = str(device) if device is not None else config.device_spec()
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(spec)
    except RuntimeError as err:
        raise ValueError(f"unknown device {spec!r} (--device or PAPERLIB_DEVICE): use auto, cpu, "
                         f"cuda or cuda:N ({err})") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {spec!r} asked for (--device or PAPERLIB_DEVICE), but this "
                           "PyTorch sees no CUDA GPU; use cpu or auto")
    return dev


@dataclass(frozen=True)
class DevicePlan:
    """How a device runs the gradient steps: bf16 autocast, channels-last, ``torch.compile``."""

    device: torch.device
    autocast: bool = False
    channels_last: bool = False
    compile: bool = False

    @property
    def precision(self) -> str:
        """``"bf16-autocast"`` or ``"fp32"``, as a checkpoint and the manifest record it."""
        return "bf16-autocast" if self.autocast else FP32

    def autocast_context(self) -> contextlib.AbstractContextManager:
        """bf16 autocast where the plan says so, a no-op context otherwise."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast)

    def prepare(self, net: nn.Module) -> nn.Module:
        """``net`` in the plan's memory format (in place; the same parameters, so an optimizer
        built on them stays valid)."""
        return net.to(memory_format=torch.channels_last) if self.channels_last else net

    def input(self, x: torch.Tensor) -> torch.Tensor:
        """A batch of images in the plan's memory format."""
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def compiled(self, net: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
        """``torch.compile(net)`` when the plan compiles, else ``net`` (the compiled wrapper shares
        ``net``'s parameters: save ``net.state_dict()``, whose keys are unchanged)."""
        return torch.compile(net) if self.compile else net


def cpu_has_bf16() -> bool:
    """Whether this CPU has bf16 instructions (AVX-512 BF16 or AMX) for oneDNN: only there is bf16
    autocast faster than float32 (about 2× for a training step, docs/measurements.md)."""
    checks = [getattr(torch.cpu, name, None)  # private helpers of torch.cpu; absent: no
              for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return bool(torch.backends.mkldnn.is_available() and any(c is not None and c() for c in checks))


def plan_for(device: torch.device | str | None = None, *, compile: bool | None = None,
             cpu_bf16: str | None = None) -> DevicePlan:
    """The plan of ``device`` (:func:`resolve`): CUDA gets bf16 autocast, channels-last and, when
    ``compile`` (default ``$PAPERLIB_COMPILE``) is on, ``torch.compile``; the CPU gets bf16
    autocast when ``cpu_bf16`` (default ``$PAPERLIB_CPU_BF16``, else ``off``) is ``on``, or
    ``auto`` on a CPU with bf16 instructions, and nothing else."""
    dev = resolve(device)
    if dev.type == "cuda":
        return DevicePlan(dev, autocast=True, channels_last=True,
                          compile=config.compile_enabled(compile))
    spec = config.cpu_bf16_spec(cpu_bf16)
    return DevicePlan(dev, autocast=spec == "on" or (spec == "auto" and cpu_has_bf16()))


# --- data kept on the device ---------------------------------------------------------------------

_RESIDENT: dict[tuple[int, str], tuple[torch.Tensor, data.CifarArrays]] = {}


def resident(ds: data.CifarArrays, device: torch.device | str | None = None) -> data.CifarArrays:
    """``ds`` with its tensors on ``device`` (default: where its images are), for
    :func:`paperlib.method.data.batches` to batch there. Copies to an accelerator are made once and kept
    for the last :data:`RESIDENT_CACHE_SIZE` data sets; on the CPU nothing is copied."""
    dev = torch.device(device) if device is not None else ds.images.device
    if ds.images.device == dev:
        return ds
    key = (id(ds.images), str(dev))
    hit = _RESIDENT.get(key)
    if hit is not None and hit[0] is ds.images:
        return hit[1]
    arrays = replace(ds, images=ds.images.to(dev), labels=ds.labels.to(dev))
    _RESIDENT[key] = (ds.images, arrays)  # the source is held, so its id is not reused
    while len(_RESIDENT) > RESIDENT_CACHE_SIZE:
        _RESIDENT.pop(next(iter(_RESIDENT)))
    return arrays


def clear_resident() -> None:
    """Free the device copies :func:`resident` keeps."""
    _RESIDENT.clear()


__all__ = ["resolve", "DevicePlan", "plan_for", "cpu_has_bf16", "FP32", "resident", "clear_resident",
           "RESIDENT_CACHE_SIZE"]
