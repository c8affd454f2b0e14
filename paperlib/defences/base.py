"""The interface every defence implements, and the registry of defences
(docs/decisions/defences.md §1).

A defence turns a deployed split (:class:`paperlib.attacks.Victim`) into a defended one whose edge
module ends with the defence, so every attack of :mod:`paperlib.attacks` runs on it unchanged::

    d = DEFENCES.get("noise")(kind="gaussian", strength=0.5)
    defended = d.apply(victim, context)          # a Victim; the attacks see only its views
    logits = d.predict(defended, images01)       # what the user gets back (top-1)
    macs = d.edge_macs(victim.info)              # the defence's own operations on the edge

Register a new defence with ``@DEFENCES.register(name, label=..., color=..., marker=...,
sweep={argument: values, ...}, neutral={argument: value})`` on a subclass of :class:`Defence`:
``sweep`` gives the values notebook 09 tries it at (a profile may replace them,
``DefenceSettings.sweeps[name]``); a defence without ``sweep`` is not swept
(docs/decisions/layout.md §6). ``neutral`` is its strength 0, the setting at which it must equal
no defence (:func:`at_strength_zero`; docs/decisions/defences.md §11). ``control={argument:
value}`` marks a setting that is the defence's control rather than a setting of it (the
proactive retraining at λ = 0: the retraining without the privacy term; :func:`is_control`,
defences.md §15): shown, never judged. A defence with training
budgets registers its own settings type (``settings=DataMixSettings``, a frozen dataclass); a
profile keeps plain values for it, ``DefenceSettings.defences[name]``, turned into that type by
:func:`settings_for` and handed to the defence as ``Context.defence_settings``
(docs/decisions/layout.md §6).
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Mapping, Sequence

import torch
from torch import nn

from ..attacks.victim import SplitInfo, Victim
from ..infra.registry import Registry

DEFENCES: Registry = Registry("defence", defaults={"color": None, "marker": "o", "sweep": {},
                                                   "neutral": None, "control": None,
                                                   "settings": None})

WHERE = "DefenceSettings.defences"  # the profile field a defence's settings come from


def settings_for(name: str, values: Mapping[str, Mapping[str, Any]] | None = None) -> Any:
    """Defence ``name``'s own settings object from a profile's plain values
    (``DefenceSettings.defences``: registered name -> field -> value); ``None`` for a defence
    registered without settings. An unknown field, values for a defence without settings, or
    values for a name no defence is registered under are refused by name
    (:meth:`~paperlib.infra.registry.Registry.settings`; docs/decisions/layout.md §6)."""
    return DEFENCES.settings(name, values, where=WHERE)


@dataclass(frozen=True)
class Context:
    """What a defence may need to set itself up: the trained ``net`` and its checkpoint ``meta``,
    the split point ``p`` and ``policy``, the ``dataset``, the profile's ``settings``
    (:class:`~paperlib.method.profiles.DefenceSettings`), the profile name and a ``seed``;
    ``defence_settings`` is the defence's own settings object (:func:`settings_for`, built once
    where the context is; None for a defence without settings)."""

    net: nn.Module
    meta: dict
    p: int
    policy: Any
    dataset: str
    settings: Any
    profile: str
    seed: int = 0
    allow_partial: bool | None = None
    progress: bool = False
    defence_settings: Any = None


def own_settings(context: Context, name: str) -> Any:
    """``context.defence_settings``, checked to be defence ``name``'s registered settings type (a
    context built without them is refused with the fix)."""
    kind = DEFENCES.entry(name).settings
    got = context.defence_settings
    if kind is not None and not isinstance(got, kind):
        raise ValueError(f"defence {name!r} needs its {kind.__name__} as Context.defence_settings, "
                         f"got {got!r}; build the context with defence_settings="
                         f"defences.base.settings_for({name!r}, profile.defence.defences)")
    return got


class Defence(ABC):
    """Base class. ``name`` is the registry name; :meth:`config` the settings that change a result
    (part of every cache key); :meth:`tag` a short file-name-safe name of the configuration."""

    name: ClassVar[str] = "defence"
    version: ClassVar[int] = 1  # bump when a change alters results: it is part of the cache key

    @abstractmethod
    def config(self) -> dict[str, Any]:
        """The settings that change the result."""

    @abstractmethod
    def tag(self) -> str:
        """A short name of this configuration (``noise-gaussian-s0.5``)."""

    @abstractmethod
    def edge_macs(self, info: SplitInfo) -> float:
        """The defence's own multiply-accumulates per image on the edge (docs/decisions/defences.md §2)."""

    @abstractmethod
    def apply(self, victim: Victim, context: Context | None = None) -> Victim:
        """The defended split: its edge module ends with the defence; its key names it."""

    def predict(self, defended: Victim, images01: torch.Tensor) -> torch.Tensor:
        """Class scores the user obtains for ``images01`` (default: cloud(edge(x)))."""
        with torch.no_grad():
            return defended.cloud_module(defended.edge_module(images01))

    def sent_bits(self, info: SplitInfo) -> int:
        """Bit width of what the edge transmits per IR element (default: the split's own)."""
        return int(info.ir_bits)

    def converged(self) -> bool | None:
        """Whether the part this defence trained reached a plateau (after :meth:`apply`;
        docs/decisions/defences.md §12); None when it trains nothing (the default)."""
        return None

    def training(self) -> dict[str, Any] | None:
        """What the training of :meth:`apply` ran (:func:`training_record`: chunks run of the
        budget, steps per chunk, one curve per loss); None when it trains nothing (the default)."""
        return None

    def fingerprint(self) -> dict[str, Any]:
        return {"defence": self.name, "version": self.version, "config": self.config()}

    def __repr__(self) -> str:
        cfg = ", ".join(f"{k}={v}" for k, v in self.config().items())
        return f"{type(self).__name__}({cfg})"


def training_record(unit: str, chunks: int, max_chunks: int, steps_per_chunk: int,
                    curves: Mapping[str, Sequence[float]]) -> dict[str, Any]:
    """A defence's training as stored beside its row (docs/decisions/defences.md §12): ``chunks``
    of at most ``max_chunks`` (each an ``unit``, "epoch" or "round", of ``steps_per_chunk``
    optimiser steps) and each curve, one value per chunk, by name (the order a stored row reads
    back in, so a fresh row and a cached one give the same tables)."""
    return {"unit": unit, "chunks": int(chunks), "max_chunks": int(max_chunks),
            "steps_per_chunk": int(steps_per_chunk),
            "curves": {k: [float(v) for v in curves[k]] for k in sorted(curves)}}


def replace_edge(victim: Victim, edge: nn.Module, tag: str,
                 cloud: nn.Module | None = None) -> Victim:
    """``victim`` with a new edge module (and cloud part), its key extended by ``tag``."""
    defended = replace(victim, edge_module=edge, cloud_module=cloud or victim.cloud_module)
    return defended.with_key(tag)


def build(name: str, **config: Any) -> Defence:
    """The registered defence ``name`` with ``config`` (an unknown name lists the known ones)."""
    return DEFENCES.get(name)(**config)


def sweep_grid(name: str, settings: Any) -> dict[str, tuple[Any, ...]]:
    """The values defence ``name`` is tried at, by argument: its registration's ``sweep``, with the
    profile's ``settings.sweeps[name]`` (a :class:`~paperlib.method.profiles.DefenceSettings`)
    replacing the arguments it names (docs/decisions/layout.md §6)."""
    own = dict(DEFENCES.entry(name).sweep)
    chosen = dict(getattr(settings, "sweeps", {}).get(name, {}))
    unknown = [k for k in chosen if k not in own]
    if unknown:
        raise ValueError(f"DefenceSettings.sweeps[{name!r}] names {', '.join(map(repr, unknown))}, "
                         f"which defence {name!r} does not sweep; use its registered arguments: "
                         f"{', '.join(own) or '(none)'}")
    return {k: tuple(chosen.get(k, v)) for k, v in own.items()}


def configurations(settings: Any, names: Sequence[str] | None = None) -> list[Defence]:
    """Every configuration of every swept defence (``names``: these registered ones; default:
    every registered defence with a ``sweep``), in registration order, each over the product of
    its :func:`sweep_grid` (the first argument outermost)."""
    out: list[Defence] = []
    for name in (DEFENCES.names() if names is None else names):
        grid = sweep_grid(name, settings)
        if grid:
            out += [build(name, **dict(zip(grid, values)))
                    for values in itertools.product(*grid.values())]
    return out


def strength_argument(name: str) -> str | None:
    """The argument a strength sweep of defence ``name`` varies: the one its strength 0 sets
    (``neutral``), else the last argument it is swept over; None for a defence without either
    (docs/decisions/defences.md §13)."""
    entry = DEFENCES.entry(name)
    if entry.neutral:
        return next(iter(entry.neutral))
    return list(entry.sweep)[-1] if entry.sweep else None


def anchor_configuration(name: str, settings: Any) -> Defence | None:
    """Defence ``name`` at the middle of its profile's sweep (:func:`sweep_grid`): every swept
    argument at its lower-middle value (index ``(n - 1) // 2``). The setting tried at the points
    other than the sweep point when a profile does not evaluate the full grid
    (docs/decisions/defences.md §13); None for a defence that is not swept."""
    grid = sweep_grid(name, settings)
    if not grid:
        return None
    return build(name, **{k: v[(len(v) - 1) // 2] for k, v in grid.items()})


def is_control(name: str, config: Mapping[str, Any]) -> bool:
    """Whether defence ``name`` at ``config`` is its registered control (``control=``): a row
    notebook 09 shows beside the defence's settings but never judges (defences.md §15)."""
    control = DEFENCES.entry(name).control if name in DEFENCES else None
    return bool(control) and all(config.get(k) == v for k, v in control.items())


def at_strength_zero(name: str, **config: Any) -> Defence:
    """Defence ``name`` at its registered strength 0 (``neutral``): the same IRs, top-1 and edge
    cost as no defence (docs/decisions/defences.md §11). A defence registered without
    ``neutral`` (one that retrains a part, say) has no such setting and is refused by name."""
    neutral = DEFENCES.entry(name).neutral
    if neutral is None:
        raise ValueError(f"defence {name!r} has no strength 0 (registered without neutral=...); "
                         "those with one: " + ", ".join(n for n in DEFENCES.names()
                                                        if DEFENCES.entry(n).neutral is not None))
    return build(name, **{**config, **neutral})


def number_tag(x: float) -> str:
    """``0.5`` → ``0.5``, ``1.0`` → ``1``: a compact, file-name-safe number."""
    return f"{float(x):g}"


__all__ = ["DEFENCES", "Context", "Defence", "anchor_configuration", "at_strength_zero", "build",
           "configurations", "number_tag", "own_settings", "replace_edge", "settings_for",
           "strength_argument", "sweep_grid", "training_record"]
