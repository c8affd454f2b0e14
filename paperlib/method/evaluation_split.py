"""The search / report split of the evaluation images (docs/decisions/paper-method.md §9).

The search scores P and ε on the *search* split; every table reports on the *report* split. The
two are disjoint and drawn once, by a seeded permutation of the test images, so a strategy is never
reported on the images it was selected on (no selection bias). The split is recorded (sizes, seed
and a digest of each index list) where the numbers it produced are.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import torch

from . import data

if TYPE_CHECKING:  # profiles import this module
    from .profiles import Profile

MIN_REPORT_IMAGES = 100
REPORT_FRACTION = 0.5
SPLIT_SEED = 0


@dataclass(frozen=True)
class EvaluationSplit:
    """Indices into the test images: ``search`` and ``report``, disjoint, each sorted."""

    search: np.ndarray
    report: np.ndarray
    seed: int

    @property
    def images(self) -> int:
        """How many test images were split."""
        return int(self.search.size + self.report.size)

    def apply(self, ds: data.CifarArrays) -> tuple[data.CifarArrays, data.CifarArrays]:
        """``ds``'s (search, report) images: the test images this split was drawn for."""
        self.check(ds)
        return take(ds, self.search), take(ds, self.report)

    def search_subset(self, n: int | None, seed: int = 0) -> np.ndarray:
        """The positions, in the test images, of ``n`` search-split images drawn as
        :func:`data.subset` draws them from the search split (all of them when ``n`` is None or
        too big): a subset of :attr:`search`, so never a report image."""
        return self.search[data.subset_indices(self.search.size, n, seed).numpy()]

    def check(self, ds: data.CifarArrays) -> None:
        """Refuse test images other than the ones this split was drawn for (by their number)."""
        if len(ds) != self.images:
            raise ValueError(f"this split is of {self.images} test images, the data set holds "
                             f"{len(ds)}; split the data set's own images")

    def manifest(self) -> dict[str, object]:
        """What a manifest or ``result.json`` records of the split."""
        return {"seed": self.seed, "search_images": int(self.search.size),
                "report_images": int(self.report.size),
                "search_sha256": index_digest(self.search),
                "report_sha256": index_digest(self.report)}


def take(ds: data.CifarArrays, idx: np.ndarray) -> data.CifarArrays:
    """The images of ``ds`` at the positions ``idx``, in that order."""
    rows = torch.as_tensor(idx, dtype=torch.long)
    return replace(ds, images=ds.images[rows], labels=ds.labels[rows])


def min_test_images(report_fraction: float = REPORT_FRACTION,
                    min_report: int = MIN_REPORT_IMAGES) -> int:
    """The fewest test images whose report split (``report_fraction`` of them, rounded down)
    holds ``min_report`` images."""
    n = max(2, math.ceil(min_report / report_fraction) - 1)
    while int(n * report_fraction) < min_report:
        n += 1
    return n


def index_digest(idx: np.ndarray) -> str:
    """A sha256 of an index list (what a manifest or a cache key records of a choice of images)."""
    return hashlib.sha256(np.asarray(idx, dtype=np.int64).tobytes()).hexdigest()


def split_evaluation_images(images: int, *, report_fraction: float = REPORT_FRACTION,
                            seed: int = SPLIT_SEED,
                            min_report: int = MIN_REPORT_IMAGES) -> EvaluationSplit:
    """Split ``images`` test images into a search and a report split (``report_fraction`` of them,
    rounded down, reported), refusing a report split under ``min_report`` images."""
    if isinstance(images, bool) or not isinstance(images, (int, np.integer)) or images < 2:
        raise ValueError(f"images must be an integer of at least 2, got {images!r}")
    if not 0 < report_fraction < 1:
        raise ValueError(f"report_fraction must lie in (0, 1), got {report_fraction!r}")
    n_report = int(images * report_fraction)
    if n_report < min_report:
        raise ValueError(
            f"the report split would hold {n_report} images ({report_fraction:g} of {images}), "
            f"fewer than the {min_report} every reported top-1 needs; use more test images "
            f"(at least {min_test_images(report_fraction, min_report)}) or a larger "
            f"report_fraction")
    if images - n_report < 1:
        raise ValueError(f"report_fraction {report_fraction:g} leaves no search images of {images}")
    order = np.random.default_rng(seed).permutation(images)
    return EvaluationSplit(search=np.sort(order[n_report:]), report=np.sort(order[:n_report]),
                           seed=seed)


def profile_split(prof: "Profile", model: str, images: int) -> EvaluationSplit:
    """The split of ``images`` test images that ``prof``'s search of ``model`` uses (its
    ``report_fraction``, the fixed seed)."""
    return split_evaluation_images(images, report_fraction=prof.search_for(model).report_fraction)


__all__ = ["EvaluationSplit", "split_evaluation_images", "profile_split", "min_test_images", "take",
           "index_digest", "MIN_REPORT_IMAGES", "REPORT_FRACTION", "SPLIT_SEED"]
