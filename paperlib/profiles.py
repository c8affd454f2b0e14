"""Run profiles, defined in one place: ``smoke`` (CI, minutes), ``quick`` (a 2-core CPU laptop, about
an hour) and ``paper`` (the paper's settings, for a GPU).

Every notebook and CLI takes a profile name; ``PAPERLIB_PROFILE`` sets the default (``quick``).
Figures and tables carry the profile's name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any

from . import constants as C


@dataclass(frozen=True)
class TrainRecipe:
    """How one model is trained (SGD with Nesterov momentum, one-cycle learning rate)."""

    epochs: int
    lr: float = 0.1
    batch_size: int = 128
    weight_decay: float = 5e-4
    label_smoothing: float = 0.0
    train_images: int | None = None  # None: the whole training split
    test_images: int | None = None  # None: the whole test split


@dataclass(frozen=True)
class SearchSettings:
    """Algorithm 1's settings and how ε and P are estimated during the search."""

    iterations: int = C.ITERATIONS
    population: int = C.POPULATION
    sample: int = C.SAMPLE
    p_mutate_partition: float = C.P_MUTATE_PARTITION
    p_mutate_layer: float = C.P_MUTATE_LAYER
    lambda_energy: float = C.LAMBDA_ENERGY
    lambda_accuracy: float = C.LAMBDA_ACCURACY
    accuracy_bound: float = C.ACCURACY_LOSS_BOUND
    estimator: str = "finetune"  # ε estimator used inside the search
    reference_estimator: str = "finetune"  # re-scores the final best strategy
    finetune_batches: int = 20  # for the "finetune-batches" estimator
    validation_images: int = 1000  # fixed validation subset of the cheap estimators
    privacy_images: int = 64  # evaluation images for P inside the search
    # Whether E in the energy punishment includes the transmission energy E_T (Eq. 9). The paper's
    # Tables 4 and 5 are compute only: without E_T our energy model gives Table 5's 0.7269 and
    # 1.6776 mJ to four decimals, with E_T it does not (SPEC §3 asks to check this).
    include_transmission: bool = False


@dataclass(frozen=True)
class AttackSettings:
    """Bounds on the learned inversion attack (notebook 06)."""

    train_images: int | None = None
    test_images: int = 256
    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    points: int | None = None  # partition points attacked per model (spread evenly); None: all


@dataclass(frozen=True)
class Profile:
    name: str
    train: dict[str, TrainRecipe]
    search: SearchSettings
    attack: AttackSettings
    privacy_images: int  # evaluation images for the privacy notebooks
    dataset: str | None = None  # overrides every model's paper data set when set
    search_models: tuple[str, ...] = ("resnet18", "resnet50", "mobilenet")
    baseline_seeds: tuple[int, ...] = (0, 1, 2)
    description: str = ""
    # per-model changes to ``search`` (e.g. a smaller validation subset for a model whose forward
    # pass is costly); read them through :meth:`search_for`
    search_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)

    def search_for(self, model: str) -> SearchSettings:
        """The search settings of ``model`` in this profile: ``search`` with its overrides."""
        return replace(self.search, **self.search_overrides.get(model, {}))

    def dataset_for(self, model: str) -> str:
        """The data set a model is trained and evaluated on in this profile."""
        from .models import architecture

        return self.dataset or architecture(model).dataset

    def recipe(self, model: str) -> TrainRecipe:
        try:
            return self.train[model]
        except KeyError:
            raise ValueError(f"profile {self.name!r} has no training recipe for {model!r}") from None


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        description="CI: seconds per step, tiny subsets; numbers mean nothing.",
        train={m: TrainRecipe(epochs=1, lr=0.05, batch_size=64, train_images=256, test_images=256)
               for m in ("vgg11", "resnet18", "resnet50", "mobilenet")},
        search=SearchSettings(iterations=12, population=6, sample=3, estimator="sensitivity",
                              reference_estimator="finetune-batches", finetune_batches=2,
                              validation_images=32, privacy_images=8),
        search_overrides={"resnet50": {"validation_images": 16}},
        attack=AttackSettings(train_images=64, test_images=16, epochs=1, batch_size=32, points=3),
        privacy_images=8,
        dataset="cifar10",
        baseline_seeds=(0, 1),
    ),
    "quick": Profile(
        name="quick",
        description="2 CPU cores, about an hour end to end; CIFAR-10 for every model.",
        train={
            "vgg11": TrainRecipe(epochs=10, lr=0.05),
            "resnet18": TrainRecipe(epochs=6, lr=0.1),
            "resnet50": TrainRecipe(epochs=3, lr=0.05),
            "mobilenet": TrainRecipe(epochs=12, lr=0.1),
        },
        search=SearchSettings(iterations=300, estimator="sensitivity",
                              reference_estimator="finetune-batches", finetune_batches=20,
                              validation_images=500, privacy_images=32),
        # ResNet50 (~4x ResNet18's cost per image, 3 CPU epochs of training) is searched in the
        # paper profile only: its quick search would add ~25 min on 2 cores for a weak model
        search_models=("resnet18", "mobilenet"),
        # 1000 images x 4 epochs: notebook 06 (~90 decoders, every partition point) in ~15 min
        attack=AttackSettings(train_images=1000, test_images=128, epochs=4, batch_size=32),
        privacy_images=64,
        dataset="cifar10",
    ),
    "paper": Profile(
        name="paper",
        description="The paper's settings (1000 iterations, one-epoch finetuning); needs a GPU.",
        train={
            "vgg11": TrainRecipe(epochs=100, lr=0.05),
            "resnet18": TrainRecipe(epochs=200, lr=0.1),
            "resnet50": TrainRecipe(epochs=200, lr=0.1),
            "mobilenet": TrainRecipe(epochs=200, lr=0.1),
        },
        search=SearchSettings(estimator="finetune", reference_estimator="finetune",
                              validation_images=10000, privacy_images=256),
        attack=AttackSettings(train_images=None, test_images=1000, epochs=30),
        privacy_images=512,
    ),
}

DEFAULT_PROFILE = "quick"


def get_profile(name: str | None = None) -> Profile:
    """The named profile, else ``$PAPERLIB_PROFILE``, else ``quick``."""
    name = name or os.environ.get("PAPERLIB_PROFILE") or DEFAULT_PROFILE
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(
            f"unknown profile {name!r}; choose one of {', '.join(PROFILES)} "
            "(set it with --profile, PROFILE=... for make, or PAPERLIB_PROFILE)"
        ) from None


__all__ = ["Profile", "TrainRecipe", "SearchSettings", "AttackSettings", "PROFILES", "get_profile"]
