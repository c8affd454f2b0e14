"""The interface every attack implements, and the registry of attacks.

An attack is built from its own settings, fitted once on what its threat model gives it, then
inverts IRs (docs/decisions/attacks.md §2)::

    atk = build("rmle", prof.attack)             # RMLESettings from prof.attack.attacks["rmle"]
    atk.fit(victim.access(atk.threat), aux)      # an Edge, an Oracle or a Cloud
    images = atk.invert(ir)                      # (B, 3, 32, 32) in [0, 1]

``threat`` names what the attacker may use (:mod:`paperlib.attacks.victim`): ``white-box`` (the
edge's weights: an :class:`~paperlib.attacks.victim.Edge`), ``black-box`` (queries of the edge: an
:class:`~paperlib.attacks.victim.Oracle`), ``query-free`` (the cloud part only: a
:class:`~paperlib.attacks.victim.Cloud`). ``aux`` holds the attacker's own images (and labels,
where the threat model grants them). An attack sees nothing else: never the evaluated images.

Register a new attack with ``@ATTACKS.register(name, label=..., threat=..., color=..., marker=...,
settings=SettingsType)`` on a subclass of :class:`Attack`. The attack owns its settings type (a
frozen dataclass with the defaults); a profile keeps plain values for it keyed by the registered
name, ``AttackSettings.attacks[name]``, turned into the type by :func:`settings_for`, and
``from_settings`` receives that object. A settings type that wants the attacker's own training
images says how many with an ``aux_need()`` method (:class:`AuxNeed`; docs/decisions/layout.md §6).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from ..infra.registry import Registry
from ..method.profiles import AttackSettings

THREATS = ("white-box", "black-box", "query-free")

ATTACKS: Registry = Registry("attack", required=("threat",),
                             defaults={"color": None, "marker": "o", "settings": None})


@dataclass(frozen=True)
class AuxNeed:
    """The attacker's own data an attack's settings ask for: ``images`` images of the training
    split (None: all of it), with their labels when ``labelled`` (docs/decisions/attacks.md §2)."""

    images: int | None
    labelled: bool = False

    def __post_init__(self) -> None:
        if self.images is not None and self.images < 1:
            raise ValueError(f"AuxNeed.images={self.images}: ask for at least one training image "
                             "(None: the whole training split)")


@dataclass(frozen=True)
class Aux:
    """The attacker's own data: ``images`` (N, 3, H, W) float in [0, 1], and ``labels`` (N,) where
    its threat model has labelled data (the query-free attack needs them)."""

    images: torch.Tensor
    labels: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.images.dim() != 4 or not self.images.is_floating_point():
            raise ValueError(f"Aux.images must be a float (N, C, H, W) batch in [0, 1], got "
                             f"{self.images.dtype} of shape {tuple(self.images.shape)}")
        if self.labels is not None and len(self.labels) != len(self.images):
            raise ValueError(f"Aux has {len(self.images)} images but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.images)


class Attack(ABC):
    """Base class: keeps what the attack was fitted on and refuses IRs of another split."""

    name: ClassVar[str] = "attack"
    threat: ClassVar[str] = "white-box"
    version: ClassVar[int] = 1  # bump when a change alters results: it is part of the cache key

    def __init__(self) -> None:
        self.fitted_on: str | None = None  # key of the split (victim) the attack was fitted on
        self.ir_shape: tuple[int, ...] | None = None

    # --- what subclasses implement ------------------------------------------------------------

    @classmethod
    @abstractmethod
    def from_settings(cls, settings: Any, seed: int = 0) -> "Attack":
        """The attack with its budgets from its own settings object (the type registered as its
        ``settings`` metadata; None for an attack registered without one)."""

    @abstractmethod
    def config(self) -> dict[str, Any]:
        """The hyper-parameters that change the result (part of the cache key)."""

    @abstractmethod
    def _fit(self, access: Any, aux: Aux | None) -> None:
        """Fit on ``access`` (what the threat model allows) and ``aux``."""

    @abstractmethod
    def _invert(self, ir: torch.Tensor) -> torch.Tensor:
        """Reconstructions (B, 3, H, W) in [0, 1] of a checked batch of IRs."""

    # --- the interface ------------------------------------------------------------------------

    def fit(self, access: Any, aux: Aux | None = None) -> "Attack":
        """Fit the attack on ``access`` (an Edge, Oracle or Cloud, per :attr:`threat`) and the
        attacker's ``aux`` data; returns ``self``."""
        expected = access_kind(self.threat)
        if getattr(access, "threat", None) != self.threat:
            raise TypeError(f"the {self.name} attack is {self.threat}: fit it on {expected}, not "
                            f"{type(access).__name__}")
        self._fit(access, aux)
        self.fitted_on, self.ir_shape = access.key, tuple(access.ir_shape)
        return self

    def invert(self, ir: torch.Tensor) -> torch.Tensor:
        """Reconstruct the inputs of a batch of IRs ``(B, *ir_shape)``; images in [0, 1]."""
        self.check_ir(ir)
        return self._invert(ir)

    def details(self) -> dict[str, Any]:
        """What fitting produced that a result should record (training losses, model size)."""
        return {}

    def state(self) -> dict[str, Any]:
        """Tensors worth keeping with a result (a trained decoder or shadow), or nothing."""
        return {}

    def check_ir(self, ir: torch.Tensor) -> None:
        if self.fitted_on is None:
            raise RuntimeError(f"the {self.name} attack is not fitted; call fit() first")
        if ir.dim() != len(self.ir_shape) + 1 or tuple(ir.shape[1:]) != self.ir_shape:
            raise ValueError(f"the {self.name} attack was fitted on {self.fitted_on}, whose IR has "
                             f"shape {self.ir_shape}; got a batch of shape {tuple(ir.shape)}")

    def check_target(self, key: str) -> None:
        """Refuse to attack another split than the one the attack was fitted on."""
        if self.fitted_on != key:
            raise ValueError(f"the {self.name} attack was fitted on "
                             f"{self.fitted_on or 'nothing (not fitted)'}, not on {key}; fit it "
                             "on that split first")

    def __repr__(self) -> str:
        cfg = ", ".join(f"{k}={v}" for k, v in self.config().items())
        return f"{type(self).__name__}({cfg}; fitted on {self.fitted_on})"


def check_training(epochs: int, batch_size: int, lr: float) -> None:
    """Refuse training settings no attack model can be trained with (decoder, shadow)."""
    if epochs < 0 or batch_size < 1 or not lr > 0:
        raise ValueError(f"bad training settings: epochs={epochs}, batch_size={batch_size}, lr={lr}")


def access_kind(threat: str) -> str:
    """What an attack of ``threat`` is fitted on, in words."""
    kinds = {"white-box": "the edge (an Edge)", "black-box": "query access (an Oracle)",
             "query-free": "the cloud part (a Cloud)"}
    try:
        return kinds[threat]
    except KeyError:
        raise ValueError(f"unknown threat model {threat!r}; choose one of {', '.join(THREATS)}") from None


def settings_for(name: str, attack_settings: AttackSettings | None = None) -> Any:
    """Attack ``name``'s own settings object from a profile's plain values
    (``attack_settings.attacks[name]``; None: the settings type's defaults); ``None`` for an
    attack registered without settings (:meth:`Registry.settings`). Values for an attack that is
    not registered, or for a field its settings type lacks, are refused by name."""
    if attack_settings is None:
        attack_settings = AttackSettings()
    if not isinstance(attack_settings, AttackSettings):
        raise TypeError(f"the settings of attack {name!r} come from a profile's AttackSettings "
                        f"(its attacks[{name!r}] values), not {type(attack_settings).__name__}; "
                        f"to pass an attack's own settings object call "
                        f"ATTACKS.get({name!r}).from_settings(settings, seed)")
    return ATTACKS.settings(name, attack_settings.attacks, where="AttackSettings.attacks")


def aux_need(settings: Any) -> AuxNeed | None:
    """What a settings object asks of the attacker's own data: its ``aux_need()``, else nothing
    (an attack without settings, or whose settings have no such method, gets no aux data)."""
    ask = getattr(settings, "aux_need", None)
    need = ask() if callable(ask) else None
    if need is not None and not isinstance(need, AuxNeed):
        raise TypeError(f"{type(settings).__name__}.aux_need() must return an AuxNeed or None, "
                        f"got {need!r}")
    return need


def build(name: str, attack_settings: AttackSettings | None = None, seed: int = 0) -> Attack:
    """The registered attack ``name`` with its own settings from a profile's
    :class:`~paperlib.method.profiles.AttackSettings` (its ``attacks[name]`` values; None: the
    defaults). The one place an attack is made from a profile."""
    return ATTACKS.get(name).from_settings(settings_for(name, attack_settings), seed)


__all__ = ["ATTACKS", "THREATS", "Attack", "Aux", "AuxNeed", "access_kind", "aux_need", "build",
           "settings_for"]
