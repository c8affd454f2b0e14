"""The reference estimator's ε of single strategies, cached in ``reference.json``.

The search re-scores its best strategy with ``SearchSettings.reference_estimator`` (into its output
folder) and the tables score the 8-bit uniform strategy the same way (into their own folder, see
:func:`paperlib.studies.tables.tables_dir`); both go through :func:`reference_estimate`, so the file has
one schema: ``{strategy key: {"estimator", "eps", "top1_fp", "top1_quant", "seconds"}}``. The
estimate is seeded by :func:`~paperlib.search.evaluator.seed_for` (search seed, strategy key), so a
cached value equals a recomputed one.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable

from ..infra import io
from .evaluator import AccuracyEstimate, seed_for

REFERENCE_FILE = "reference.json"


def reference_estimate(path: str | os.PathLike, name: str, make_estimator: Callable[[], Any],
                       genome, key: str, seed: int) -> tuple[AccuracyEstimate, float]:
    """ε of ``genome`` (canonical ``key``) by the estimator called ``name``, and the seconds it
    took when it was measured; read from ``path`` when cached there for that estimator, else
    measured with ``make_estimator()`` (called only then) and added to ``path``."""
    path = Path(path)
    cache: dict[str, Any] = io.read_json(path) if path.exists() else {}
    if isinstance(cache.get("key"), str):  # written by paperlib <= 0.1.0: one strategy, flat
        cache = {cache.pop("key"): cache}
    hit = cache.get(key)
    if isinstance(hit, dict) and hit.get("estimator") == name:
        return (AccuracyEstimate(hit["eps"], hit["top1_fp"], hit["top1_quant"]),
                float(hit.get("seconds", 0.0)))
    t0 = time.perf_counter()
    est = make_estimator()
    est.prepare()
    acc = est.estimate(genome, seed_for(seed, key))
    seconds = time.perf_counter() - t0
    cache[key] = {"estimator": name, "eps": float(acc.eps), "top1_fp": float(acc.top1_fp),
                  "top1_quant": float(acc.top1_quant), "seconds": seconds}
    io.write_json(path, cache)
    return acc, seconds


__all__ = ["REFERENCE_FILE", "reference_estimate"]
