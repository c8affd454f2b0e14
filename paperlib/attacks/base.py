"""The interface every attack implements, and the registry of attacks.

An attack is built from its settings, fitted once on what its threat model gives it, then inverts
IRs (docs/decisions/attacks.md §2)::

    atk = ATTACKS.get("rmle").from_settings(prof.attack)
    atk.fit(victim.access(atk.threat), aux)      # an Edge, an Oracle or a Cloud
    images = atk.invert(ir)                      # (B, 3, 32, 32) in [0, 1]

``threat`` names what the attacker may use (:mod:`paperlib.attacks.victim`): ``white-box`` (the
edge's weights: an :class:`~paperlib.attacks.victim.Edge`), ``black-box`` (queries of the edge: an
:class:`~paperlib.attacks.victim.Oracle`), ``query-free`` (the cloud part only: a
:class:`~paperlib.attacks.victim.Cloud`). ``aux`` holds the attacker's own images (and labels,
where the threat model grants them). An attack sees nothing else: never the evaluated images.

Register a new attack with ``@ATTACKS.register(name, label=..., threat=..., color=..., marker=...)``
on a subclass of :class:`Attack`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from ..infra.registry import Registry

THREATS = ("white-box", "black-box", "query-free")

ATTACKS: Registry = Registry("attack", required=("threat",),
                             defaults={"color": None, "marker": "o"})


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
        """The attack with its budgets from a profile's :class:`~paperlib.method.profiles.AttackSettings`."""

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


def build(name: str, settings: Any, seed: int = 0) -> Attack:
    """The registered attack ``name`` with its budgets from ``settings``."""
    return ATTACKS.get(name).from_settings(settings, seed)


__all__ = ["ATTACKS", "THREATS", "Attack", "Aux", "access_kind", "build"]
