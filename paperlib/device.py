"""The device path: which device, data kept on it, and the speed settings of CUDA runs.

One place for everything that depends on where tensors live (docs/decisions/scale.md §6):

* :func:`resolve` — the torch device from an argument, else ``$PAPERLIB_DEVICE`` (``auto``: CUDA
  when present, else the CPU).
* :class:`DevicePlan` (:func:`plan_for`) — on CUDA: bf16 autocast for gradient steps, channels-last
  models and inputs, optionally ``torch.compile`` (``$PAPERLIB_COMPILE``); on the CPU every one of
  them is off, so CPU numerics are those of plain float32 PyTorch.
* :func:`resident` and :func:`batches` — a data set copied to the device once (uint8) and batched
  there: the same order, the same random crops and flips as :func:`paperlib.data.batches` (the
  draws come from the same CPU generator, made for a whole epoch at once and moved in one copy),
  augmented and normalised by tensor ops on the device. No image crosses the host–device bus
  per batch. On the CPU the batches are bit for bit those of :func:`paperlib.data.batches`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Callable, Iterator

import torch
from torch import nn

from . import config, data

RESIDENT_CACHE_SIZE = 4  # data sets kept on an accelerator (train, test, validation, privacy)


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


def plan_for(device: torch.device | str | None = None, *, compile: bool | None = None) -> DevicePlan:
    """The plan of ``device`` (:func:`resolve`): CUDA gets bf16 autocast, channels-last and, when
    ``compile`` (default ``$PAPERLIB_COMPILE``) is on, ``torch.compile``; the CPU gets none."""
    dev = resolve(device)
    fast = dev.type == "cuda"
    return DevicePlan(dev, autocast=fast, channels_last=fast,
                      compile=fast and config.compile_enabled(compile))


# --- data kept on the device ---------------------------------------------------------------------

@dataclass(frozen=True)
class ResidentArrays:
    """A split on one device: uint8 ``images`` (N, 3, 32, 32), ``labels`` and its normaliser."""

    dataset: str
    images: torch.Tensor
    labels: torch.Tensor
    normalize: nn.Module  # data.Normalize on the same device

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def device(self) -> torch.device:
        return self.images.device


_RESIDENT: dict[tuple[int, str], tuple[torch.Tensor, ResidentArrays]] = {}


def resident(ds: data.CifarArrays, device: torch.device | str | None = None) -> ResidentArrays:
    """``ds`` on ``device`` (default: where its images are). Copies to an accelerator are made
    once and kept for the last :data:`RESIDENT_CACHE_SIZE` data sets; on the CPU nothing is
    copied."""
    dev = torch.device(device) if device is not None else ds.images.device
    if ds.images.device == dev:
        return ResidentArrays(ds.dataset, ds.images, ds.labels, data.Normalize(ds.dataset).to(dev))
    key = (id(ds.images), str(dev))
    hit = _RESIDENT.get(key)
    if hit is not None and hit[0] is ds.images:
        return hit[1]
    arrays = ResidentArrays(ds.dataset, ds.images.to(dev), ds.labels.to(dev),
                            data.Normalize(ds.dataset).to(dev))
    _RESIDENT[key] = (ds.images, arrays)  # the source is held, so its id is not reused
    while len(_RESIDENT) > RESIDENT_CACHE_SIZE:
        _RESIDENT.pop(next(iter(_RESIDENT)))
    return arrays


def clear_resident() -> None:
    """Free the device copies :func:`resident` keeps."""
    _RESIDENT.clear()


def batches(ds: ResidentArrays | data.CifarArrays, batch_size: int, *, shuffle: bool = False,
            augment_images: bool = False, seed: int = 0,
            drop_last: bool = False) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """:func:`paperlib.data.batches` on the data's device: normalised float32 ``(x, y)`` in the
    same order with the same crops and flips (the generator is drawn in the same sequence: the
    permutation, then per batch :func:`paperlib.data.draw_augmentation`)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    if isinstance(ds, data.CifarArrays):
        ds = resident(ds)
    gen = torch.Generator().manual_seed(seed)
    n = len(ds)
    order = torch.randperm(n, generator=gen) if shuffle else torch.arange(n)
    stop = n - (n % batch_size if drop_last else 0)
    starts = range(0, stop, batch_size)
    draws = None
    if augment_images and len(starts):
        per_batch = [data.draw_augmentation(min(batch_size, stop - s), gen) for s in starts]
        draws = [torch.cat(parts).to(ds.device) for parts in zip(*per_batch)]  # dy, dx, flip
    order = order.to(ds.device)
    for start in starts:
        idx = order[start:start + batch_size]
        images = ds.images[idx]
        if draws is not None:
            images = data.apply_augmentation(images, *(d[start:start + len(idx)] for d in draws))
        yield ds.normalize(data.to_unit(images)), ds.labels[idx]


__all__ = ["resolve", "DevicePlan", "plan_for", "ResidentArrays", "resident", "clear_resident",
           "batches", "RESIDENT_CACHE_SIZE"]
