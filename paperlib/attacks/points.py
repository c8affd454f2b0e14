"""Partition points by number or by name.

A model may name its partition points (registry metadata ``split_names``, e.g. cifar10cnn's
conv11 … pool3 after He et al. 2019); everywhere an attack takes a point it accepts either the
number ``p`` or that name (case-insensitive). Models without names are labelled ``p<p>``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..method.models import MODELS


def split_names(model: str) -> tuple[str, ...] | None:
    """The names of ``model``'s partition points (index = p), or None when it has none."""
    names = MODELS.entry(model).meta.get("split_names")
    return tuple(names) if names else None


def resolve_point(model: str, point: int | str) -> int:
    """The partition point ``p`` of ``point`` (a number, or one of the model's split names).
    An unknown name is refused with the list of valid ones."""
    if isinstance(point, (int, np.integer)) and not isinstance(point, bool):
        return int(point)
    names = split_names(model)
    text = str(point).strip()
    if names is None:
        raise ValueError(f"{model} does not name its partition points; give p as a number, not "
                         f"{point!r}")
    lookup = {n.lower(): p for p, n in enumerate(names)}
    if text.lower() not in lookup:
        raise ValueError(f"unknown split point {point!r} for {model}; choose one of "
                         f"{', '.join(names)}")
    return lookup[text.lower()]


def resolve_points(model: str, points: Sequence[int | str]) -> list[int]:
    """:func:`resolve_point` for each, duplicates dropped, order kept."""
    return list(dict.fromkeys(resolve_point(model, p) for p in points))


def point_label(model: str, p: int) -> str:
    """The name of point ``p`` (``ReLU22``) or ``p<p>`` for a model without names."""
    names = split_names(model)
    return names[p] if names is not None and 0 <= p < len(names) else f"p{int(p)}"


def spread_points(num_units: int, k: int | None = None) -> list[int]:
    """``k`` partition points spread evenly from 0 (the stem) to ``num_units`` (both included);
    every point ``0..num_units`` when ``k`` is None or at least ``num_units + 1``."""
    if num_units < 0:
        raise ValueError(f"num_units must be >= 0, got {num_units}")
    if k is None or k >= num_units + 1:
        return list(range(num_units + 1))
    if k < 1:
        raise ValueError(f"need at least one partition point, got k={k}")
    if k == 1:
        return [num_units]
    return sorted({int(round(v)) for v in np.linspace(0, num_units, k)})


__all__ = ["split_names", "resolve_point", "resolve_points", "point_label", "spread_points"]
