"""Everything a search scores strategies with, built once per (model, profile, data, checkpoint).

:func:`build_context` loads (or trains) the profile's checkpoint and its data and returns a
:class:`SearchContext`; ``ctx.evaluator(objective, estimator, seed, log_path)`` then gives an
:class:`~paperlib.search.evaluator.Evaluator` with the same P, E and ε as Algorithm 1 — for the
evolution search here and for baselines (random search, exhaustive search over (p, uniform bits))
that should count evaluations on the same footing.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from . import ranges
from ..method import data, graph, train
from ..infra.config import results_dir
from ..method.profiles import Profile, SearchSettings, resolve_profile
from .estimators import EstimatorContext, check_name, make_estimator
from .evaluator import EdgeEnergy, EdgePrivacy, Evaluator, Objective
from ..method.evaluation_split import SPLIT_SEED, EvaluationSplit, split_evaluation_images
from ..method.genome import FP_PAIR, Genome, GenomeSpace
from ..method.models.user import load_checkpoint


# of how P, E and ε are measured; raise it when a change alters them. 2: scored on the search
# split of the test images, no longer on all of them (docs/decisions/paper-method.md §9)
RECORD_VERSION = 2
EVAL_BATCH_SIZE = 250  # images per forward pass when only classifying


def search_settings(base: Profile | SearchSettings, **overrides: Any) -> SearchSettings:
    """A profile's (or ``base``'s) :class:`SearchSettings` with the non-``None`` ``overrides``."""
    names = {f.name for f in dataclasses.fields(SearchSettings)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ValueError(f"unknown search setting(s) {', '.join(unknown)}; "
                         f"known: {', '.join(sorted(names))}")
    base = base.search if isinstance(base, Profile) else base
    settings = dataclasses.replace(base, **{k: v for k, v in overrides.items() if v is not None})
    check_name(settings.estimator)
    check_name(settings.reference_estimator)
    ranges.check_search_settings(settings)  # every number in its range, named when it is not
    return settings


@dataclass
class SearchContext:
    """A trained model, its data, and the P / E / ε measurements of the search on it.

    ``test_ds`` is split once (:attr:`split`, docs/decisions/paper-method.md §9): the search
    scores P and ε on ``search_ds`` only; ``report_ds`` is what the reported numbers
    (:mod:`paperlib.search.report_accuracy`) are measured on."""

    model: str
    profile: Profile
    settings: SearchSettings
    net: nn.Module
    meta: dict[str, Any]
    space: GenomeSpace
    dataset: str
    train_ds: data.CifarArrays
    test_ds: data.CifarArrays
    train_seed: int = 0
    progress: bool = True
    split: EvaluationSplit = field(init=False)
    search_ds: data.CifarArrays = field(init=False, repr=False)
    report_ds: data.CifarArrays = field(init=False, repr=False)
    energy: EdgeEnergy = field(init=False)
    privacy: EdgePrivacy = field(init=False)
    _estimators: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
    _report_fp: np.ndarray | None = field(default=None, init=False, repr=False)
    _report_privacy: EdgePrivacy | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        try:
            self.split = split_evaluation_images(len(self.test_ds), seed=SPLIT_SEED,
                                                 report_fraction=self.settings.report_fraction)
        except ValueError as exc:
            raise ValueError(
                f"{self.model} ({self.profile.name} profile, {self.provenance}): {exc} (the "
                f"profile's TrainRecipe.test_images and the data folder set the test images; "
                f"report_fraction, --report-fraction, the share)") from None
        self.search_ds, self.report_ds = self.split.apply(self.test_ds)
        self.energy = EdgeEnergy(self.net, self.space)
        self.privacy = self._privacy_on(self.search_ds)

    @property
    def provenance(self) -> str:
        return data.provenance(self.train_ds, self.test_ds)

    @property
    def top1_fp(self) -> float:
        """The checkpoint's top-1 on the profile's test split (its metadata)."""
        return float(self.meta["accuracy"])

    def report_correct_fp(self) -> np.ndarray:
        """Whether the full-precision network classifies each report-split image right (bool,
        the report split's order; measured once per context)."""
        if self._report_fp is None:
            self._report_fp = train.correct(self.net, self.report_ds, EVAL_BATCH_SIZE).numpy()
        return self._report_fp

    @property
    def report_privacy(self) -> EdgePrivacy:
        """P (Eq. 1-2) on as many *report-split* images as the search scores P on (its
        ``privacy_images``): the searched strategy was chosen for its P on the search split's
        images, so its P there is biased up; the tables report this one beside it
        (docs/decisions/paper-method.md §9)."""
        if self._report_privacy is None:
            self._report_privacy = self._privacy_on(self.report_ds)
        return self._report_privacy

    def _privacy_on(self, ds: data.CifarArrays) -> EdgePrivacy:
        """P (Eq. 1-2, MSE) on the settings' ``privacy_images`` images of ``ds`` (seed 0): the
        one rule for which images the search's P and the tables' held-out P are scored on."""
        images = data.subset(ds, self.settings.privacy_images, seed=0).images
        return EdgePrivacy(self.net, images, self.dataset, dist="mse")

    def checkpoint_identity(self) -> dict[str, Any]:
        """The checkpoint and data a measurement is for (a cache keeps it beside its numbers)."""
        return {"profile": self.profile.name, "dataset": self.dataset,
                "train_seed": self.train_seed, "data": self.provenance,
                "checkpoint_accuracy": self.meta.get("accuracy"),
                "checkpoint_date": self.meta.get("date"),
                # the weights and architecture (docs/decisions/data-integrity.md §12)
                "weights_sha256": self.meta.get("sha256"),
                "architecture": graph.architecture_digest(self.net)}

    def sensitivity_path(self) -> Path:
        return (results_dir() / self.profile.name / "sensitivity"
                / f"{self.model}-{self.dataset}-seed{self.train_seed}.json")

    def estimator(self, name: str, out_dir: str | os.PathLike | None = None):
        """The (shared, lazily prepared) estimator called ``name``."""
        check_name(name)
        if name not in self._estimators:
            ectx = EstimatorContext(
                model=self.model, net=self.net, space=self.space, test_ds=self.search_ds,
                train_ds=self.train_ds, settings=self.settings,
                batch_size=self.profile.recipe(self.model).batch_size,
                cache_path=self.sensitivity_path(),
                copy_path=Path(out_dir) / "sensitivity.json" if out_dir is not None else None,
                identity={**self.checkpoint_identity(),
                          "search_split_sha256": self.split.manifest()["search_sha256"]},
                eval_batch_size=EVAL_BATCH_SIZE, progress=self.progress)
            self._estimators[name] = make_estimator(name, ectx)
        return self._estimators[name]

    def record_source(self) -> dict[str, Any]:
        """Everything an evaluation record's P, E and ε depend on: the architecture as traced, the
        weights' sha256, the data and the search split of it, the hardware description and the
        measurement settings (not the bounds, the λ or the search seed: fitness is recomputed on
        load and ε does not depend on the seed). A logged record with another source is never
        reused (docs/decisions/data-integrity.md §10), so a log scored on other images (all the
        test images, before the split) is set aside."""
        s = self.settings
        return {"model": self.model, "architecture": graph.architecture_digest(self.net),
                "weights_sha256": self.meta.get("sha256"), "profile": self.profile.name,
                "dataset": self.dataset, "data": self.provenance,
                "hardware": f"{self.energy.hardware.name}|{self.energy.hardware.tag}",
                "privacy_images": s.privacy_images, "privacy_dist": "mse",
                "finetune_batches": s.finetune_batches, "validation_images": s.validation_images,
                "search_split_sha256": self.split.manifest()["search_sha256"],
                "record_version": RECORD_VERSION}

    def with_settings(self, settings: SearchSettings) -> "SearchContext":
        """This context (same model and data) with other search settings (fresh estimators)."""
        if settings == self.settings:
            return self
        return dataclasses.replace(self, settings=settings)

    def objective(self, energy_bound: float) -> Objective:
        s = self.settings
        return Objective(energy_bound, s.accuracy_bound, s.lambda_energy, s.lambda_accuracy,
                         s.include_transmission)

    def check_energy_bound(self, energy_bound: float) -> None:
        """A clear error when no strategy can meet ``energy_bound``."""
        tx = self.settings.include_transmission
        e_min, p_min = self.energy.minimum(tx)
        if energy_bound < e_min:
            e_stem = self.energy(Genome(0, (FP_PAIR,) * self.space.num_layers))[0 if tx else 1]
            what = "with" if tx else "without"
            raise ValueError(
                f"the energy bound E_b = {energy_bound} mJ is below the cheapest strategy of "
                f"{self.model} ({e_min:.4f} mJ at p = {p_min}, every layer at the lowest bits, "
                f"{what} transmission); the stem alone (p = 0) costs {e_stem:.4f} mJ. Raise E_b.")

    def evaluator(self, objective: Objective, estimator: str | None = None, *, seed: int = 0,
                  log_path: str | os.PathLike | None = None,
                  out_dir: str | os.PathLike | None = None) -> Evaluator:
        """An :class:`Evaluator` scoring by Eq. 11 with the named ε estimator (default: the
        settings'), its cache filled from ``log_path`` when that log exists."""
        est = self.estimator(estimator or self.settings.estimator, out_dir)
        ev = Evaluator(self.space, self.energy, self.privacy, est, objective, seed=seed,
                       log_path=log_path, source=self.record_source())
        ev.load_log()
        return ev


def build_context(model: str, profile: str | Profile | None = None, *, dataset: str | None = None,
                  train_seed: int = 0, allow_partial: bool | None = None, progress: bool = True,
                  settings: SearchSettings | None = None, device: str | None = None,
                  checkpoint: str | os.PathLike | None = None,
                  trained: tuple[nn.Module, dict[str, Any]] | None = None,
                  **overrides: Any) -> SearchContext:
    """Load (or train) ``model``'s checkpoint for ``profile`` and build the search's context
    (on ``device``, default CUDA when present). ``checkpoint``: a ``state_dict`` file trained
    elsewhere, used instead (``paperlib.method.models.user.load_checkpoint``); ``trained``: a
    network and its checkpoint metadata already loaded, used as they are."""
    prof = resolve_profile(profile)
    settings = settings or search_settings(prof.search_for(model), **overrides)
    dataset = dataset or prof.dataset_for(model)
    train_ds, test_ds = train.training_data(model, prof, dataset, train_seed, allow_partial)
    if trained is not None:
        net, meta = trained
    elif checkpoint is not None:
        net, meta = load_checkpoint(model, checkpoint, train_ds, test_ds, dataset,
                                    device=device or train.default_device())
    else:
        net, meta = train.load_or_train(model, prof, dataset=dataset, seed=train_seed,
                                        allow_partial=allow_partial, progress=progress,
                                        device=device)
    net.eval()
    for param in net.parameters():
        param.requires_grad_(True)
    return SearchContext(model=model, profile=prof, settings=settings, net=net, meta=meta,
                         space=GenomeSpace.from_net(net), dataset=dataset, train_ds=train_ds,
                         test_ds=test_ds, train_seed=train_seed, progress=progress)


__all__ = ["SearchContext", "build_context", "search_settings", "RECORD_VERSION"]
