"""What decides one search's result besides the model and the profile: the bounds, the seeds, the
children per round and the changes to the profile's :class:`~paperlib.method.profiles.SearchSettings`
(docs/decisions/layout.md §7). :func:`paperlib.search.run` takes one of these::

    search.run("resnet18", "quick", RunSettings(energy_bound=0.5, seed=1, search={"iterations": 100}))
    search.run("resnet18", "quick", RunSettings.of(energy_bound=0.5, seed=1, iterations=100))

:meth:`RunSettings.of` is the one conversion from the keywords ``search.run`` took before.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from ..method.constants import ENERGY_BOUND_MJ
from ..method.profiles import SearchSettings
from .context import search_settings


@dataclass(frozen=True)
class RunSettings:
    """One search run's settings: E_b (mJ, Eq. 10), the search's ``seed``, ``batch`` children
    scored per round (parallel Algorithm 1, docs/decisions/scale.md §1), the checkpoint's
    ``train_seed``, and ``search``: changes to the profile's (or the context's) search settings
    by field name (``{"iterations": 100, "estimator": "sensitivity"}``)."""

    energy_bound: float = ENERGY_BOUND_MJ
    seed: int = 0
    batch: int = 1
    train_seed: int = 0
    search: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = {f.name for f in fields(SearchSettings)}
        unknown = sorted(set(self.search) - names)
        if unknown:
            raise ValueError(f"unknown search setting(s) {', '.join(unknown)}; "
                             f"known: {', '.join(sorted(names))}")

    @classmethod
    def of(cls, **keywords: Any) -> "RunSettings":
        """The old keyword form of ``search.run`` (``energy_bound=``, ``seed=``, ``batch=``,
        ``train_seed=`` and any :class:`SearchSettings` field, ``None`` meaning the profile's)
        as a :class:`RunSettings`; an unknown keyword is refused, naming the known ones."""
        own = {f.name for f in fields(cls)} - {"search"}
        return cls(**{k: v for k, v in keywords.items() if k in own},
                   search={k: v for k, v in keywords.items() if k not in own and v is not None})

    def apply(self, base: SearchSettings) -> SearchSettings:
        """``base`` with this run's changes, every value checked (:func:`.context.search_settings`)."""
        return search_settings(base, **self.search)


__all__ = ["RunSettings"]
