"""Every reported search over several seeds (docs/decisions/paper-method.md §10).

:func:`run_seeds` runs one search per seed, each in its own output folder, so a killed multi-seed
run resumes where it stood: a finished seed's search is reloaded from its folder (nothing is
measured again), an interrupted one resumes from its ``state.json``. :func:`seed_summary` gives the
median and range over the seeds of what the tables report, and how often the seeds agree on p.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Callable, Sequence

import pandas as pd

from .result import SearchResult

MIN_SEEDS = 5
SUMMARISED = ("fitness", "privacy", "energy_mj", "eps", "eps_reference", "p")


def check_seeds(seeds: Sequence[int], minimum: int = 1) -> list[int]:
    """The seeds as a list, refusing duplicates, non-integers and fewer than ``minimum``."""
    seeds = list(seeds)
    bad = [s for s in seeds if isinstance(s, bool) or not isinstance(s, int) or s < 0]
    if bad:
        raise ValueError(f"seeds must be non-negative integers, got {bad}")
    dupes = sorted(s for s, n in Counter(seeds).items() if n > 1)
    if dupes:
        raise ValueError(f"the seed list repeats {dupes}; give each seed once, e.g. "
                         f"{sorted(set(seeds))}")
    if len(seeds) < minimum:
        raise ValueError(f"{len(seeds)} seed(s) given, at least {minimum} needed "
                         f"(e.g. {list(range(minimum))})")
    return seeds


def seeds_note(seeds: Sequence[int] | int) -> str:
    """"" for at least :data:`MIN_SEEDS` seeds, else "n seed(s) < 5: not a reported result": what
    every table and figure built from fewer seeds must say (docs/decisions/paper-method.md §10)."""
    n = seeds if isinstance(seeds, int) else len(list(seeds))
    if n >= MIN_SEEDS:
        return ""
    return f"{n} seed{'' if n == 1 else 's'} < {MIN_SEEDS}: not a reported result"


def with_seeds_note(provenance: str, seeds: Sequence[int] | int) -> str:
    """``provenance`` (a figure's or table's stamp) followed by :func:`seeds_note` when it has
    one."""
    note = seeds_note(seeds)
    return f"{provenance}; {note}" if note else provenance


def run_seeds(run_one: Callable[[int], SearchResult], seeds: Sequence[int],
              minimum: int = 1) -> list[SearchResult]:
    """``run_one(seed)`` for every seed, in order (``run_one`` is e.g. ``lambda s:
    search.run(model, profile, RunSettings(seed=s), context=ctx)``, which reloads a finished
    seed and resumes an interrupted one from its folder)."""
    return [run_one(seed) for seed in check_seeds(seeds, minimum)]


def seed_summary(results: Sequence[SearchResult]) -> dict[str, Any]:
    """Median, min and max over the seeds of the best strategy's numbers (``SUMMARISED``, and
    ``eps_report``: the reported ε on the report split, NaN where not measured), the most common
    p, how many seeds chose it, and the seed whose strategy is the median-fitness one (the one a
    figure draws)."""
    if not results:
        raise ValueError("no search results to summarise")
    frame = pd.DataFrame([{"seed": r.seed, **{k: r.best.get(k) for k in SUMMARISED},
                           "eps_report": (r.report or {}).get("eps", math.nan)}
                          for r in results])
    out: dict[str, Any] = {"seeds": frame["seed"].tolist()}
    for k in (*SUMMARISED, "eps_report"):
        col = pd.to_numeric(frame[k])
        out[k] = {"median": float(col.median()), "min": float(col.min()), "max": float(col.max())}
    counts = Counter(frame["p"].tolist())
    p_mode, n_mode = max(counts.items(), key=lambda kv: (kv[1], -kv[0]))
    out["p_mode"], out["p_agreement"] = int(p_mode), f"{n_mode}/{len(frame)}"
    order = frame.sort_values(["fitness", "seed"]).reset_index(drop=True)
    out["drawn_seed"] = int(order.loc[(len(order) - 1) // 2, "seed"])
    return out


__all__ = ["check_seeds", "run_seeds", "seed_summary", "seeds_note", "with_seeds_note",
           "MIN_SEEDS"]
