"""What the notebooks load from earlier stages, in one place: a trained model with its evaluation
images (notebooks 01-03), and the finished searches with their contexts (notebooks 04-05), for
one seed or for every seed of the profile (:func:`searches_over_seeds`).

Nothing here recomputes a cached result: checkpoints come from :func:`paperlib.method.train.load_or_train`,
searches from their ``result.json`` (:func:`paperlib.studies.tables.search_result`); a search runs only when
none has finished and the caller allows it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from ..method.constants import ENERGY_BOUND_MJ
from . import analysis
from ..method import train
from .. import search
from . import tables
from ..method import data
from ..method.models import MODELS
from ..search.seeds import check_seeds

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from torch import nn

    from ..method.profiles import Profile
    from ..search import SearchContext, SearchResult


@dataclass
class TrainedModel:
    """A profile's trained model, its data set and ``n`` fixed test images in [0, 1]."""

    name: str
    dataset: str
    net: "nn.Module"
    meta: dict[str, Any]
    images: "torch.Tensor"
    labels: "torch.Tensor"
    provenance: str  # the figures' stamp: training data and evaluation images
    seconds: float

    @property
    def summary(self) -> str:
        """One line for the notebook's log."""
        return (f"{MODELS.label(self.name)} on {data.label(self.dataset)}: top-1 "
                f"{self.meta['accuracy']:.4f} ({self.meta['data']}); {len(self.images)} test images")


def trained_model(model: str, prof: "Profile", n_images: int | None = None, seed: int = 0,
                  dataset: str | None = None) -> TrainedModel:
    """``model`` trained in ``prof`` (cached checkpoint) on ``dataset`` (default: the profile's),
    with ``n_images`` test images (default ``prof.privacy_images``) chosen by ``seed``."""
    t0 = time.time()
    dataset = dataset or prof.dataset_for(model)
    net, meta = train.load_or_train(model, prof, dataset=dataset)
    images, labels = analysis.evaluation_images(dataset, n_images or prof.privacy_images, seed)
    return TrainedModel(model, dataset, net, meta, images, labels,
                        analysis.privacy_stamp(meta, len(images)), time.time() - t0)


@dataclass
class LoadedSearch:
    """A finished search of Algorithm 1 and the context (model, data, evaluator) it ran in."""

    result: "SearchResult"
    context: "SearchContext"
    seconds: float


def searches(models: Iterable[str], prof: "Profile", energy_bound: float = ENERGY_BOUND_MJ,
             seed: int = 0, run_missing: bool = True) -> tuple[dict[str, LoadedSearch], list[str]]:
    """The finished searches of ``models`` (seed ``seed``, bound ``energy_bound`` mJ), and the
    models skipped because none has finished and ``run_missing`` is False. With ``run_missing``,
    a missing search is run (or resumed) here."""
    loaded, skipped = {}, []
    for m in models:
        t0 = time.time()
        res = tables.search_result(m, prof, energy_bound=energy_bound, seed=seed, run_missing=False)
        if res is None and not run_missing:
            skipped.append(m)
            continue
        ctx = search.build_context(m, prof, progress=False)
        if res is None:
            res = search.run(m, prof, search.RunSettings(energy_bound=energy_bound, seed=seed),
                             context=ctx, progress=False)
        loaded[m] = LoadedSearch(res, ctx, time.time() - t0)
    return loaded, skipped


def searches_over_seeds(models: Iterable[str], prof: "Profile", seeds: Sequence[int] | None = None,
                        energy_bound: float = ENERGY_BOUND_MJ, run_missing: bool = True
                        ) -> tuple[dict[str, list[LoadedSearch]], list[str]]:
    """:func:`searches` for every seed of ``seeds`` (default ``prof.search_seeds``,
    docs/decisions/paper-method.md §10), one context per model: per model its searches in seed
    order, and the models skipped because some seed has not finished and ``run_missing`` is
    False (a model is reported with all its seeds or not at all)."""
    seeds = check_seeds(prof.search_seeds if seeds is None else seeds)
    loaded: dict[str, list[LoadedSearch]] = {}
    skipped = []
    for m in models:
        t0 = time.time()
        found = {s: tables.search_result(m, prof, energy_bound=energy_bound, seed=s,
                                         run_missing=False) for s in seeds}
        if not run_missing and any(r is None for r in found.values()):
            skipped.append(m)
            continue
        ctx = search.build_context(m, prof, progress=False)
        runs = []
        for s in seeds:  # the first seed's seconds include loading the context
            res = found[s] or search.run(m, prof, search.RunSettings(energy_bound=energy_bound,
                                                                     seed=s),
                                         context=ctx, progress=False)
            runs.append(LoadedSearch(res, ctx, time.time() - t0))
            t0 = time.time()
        loaded[m] = runs
    return loaded, skipped


def search_provenance(results: Iterable["SearchResult"]) -> str:
    """The stamp of a figure built from several searches: their data and search settings."""
    results = list(results)
    if not results:
        raise ValueError("no search result to describe; run `make searches` (or pass run_missing=True)")
    settings = results[0].settings
    return ("; ".join(sorted({r.data for r in results}))
            + f"; search T={settings['iterations']}, ε by {settings['estimator']}")


__all__ = ["TrainedModel", "trained_model", "LoadedSearch", "searches", "searches_over_seeds",
           "search_provenance"]
