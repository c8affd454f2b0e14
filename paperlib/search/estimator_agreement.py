"""Does the search's cheap ε estimator agree with the paper's ε? (docs/decisions/paper-method.md §9)

On at least ``MIN_STRATEGIES`` strategies per model, both are measured; the table gives Spearman's
ρ between them (does the estimator rank strategies as the paper's ε does?) and the bias, the mean
of estimator − paper (does it over- or under-state the loss?), with the mean absolute error.

The strategies: :func:`stratified_strategies`, a seeded draw that covers every partition point
and, at each, alternates uniform strategies (the widths of R_w in turn) with random genomes, so that
the set spans cheap and deep, mild and aggressive, feasible and infeasible strategies.
:func:`agreement_points` scores each with an evaluator (the search's estimator, search split) and
with :func:`~paperlib.search.report_accuracy.measure_report` (report split).
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
import pandas as pd

from ..method.constants import MIN_AGREEMENT_STRATEGIES
from ..method.genome import Genome, GenomeSpace, key as genome_key, uniform_genome
from .report_accuracy import measure_report, quantizes_nothing
from .variation import random_genome

if TYPE_CHECKING:  # pragma: no cover
    from .context import SearchContext
    from .evaluator import Evaluator

MIN_STRATEGIES = MIN_AGREEMENT_STRATEGIES


def spearman(a, b) -> float:
    """Spearman's ρ: Pearson's correlation of the average ranks (NaN when either is constant)."""
    ra = pd.Series(np.asarray(a, dtype=float)).rank().to_numpy()
    rb = pd.Series(np.asarray(b, dtype=float)).rank().to_numpy()
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def agreement_table(points: pd.DataFrame, *, estimate: str = "eps_estimator",
                    paper: str = "eps_paper", min_strategies: int = MIN_STRATEGIES) -> pd.DataFrame:
    """One row per model of ``points`` (columns ``model``, ``estimate``, ``paper``): strategies,
    Spearman ρ, bias (mean estimate − paper) and mean absolute error. A model with fewer than
    ``min_strategies`` strategies is refused, naming it."""
    missing = {"model", estimate, paper} - set(points.columns)
    if missing:
        raise ValueError(f"points lacks the column(s) {', '.join(sorted(missing))}; it needs "
                         f"model, {estimate} and {paper}")
    rows = []
    for model, g in points.groupby("model", sort=False):
        if len(g) < min_strategies:
            raise ValueError(f"model {model!r} has {len(g)} strategies, fewer than the "
                             f"{min_strategies} the agreement table needs; score more strategies")
        diff = g[estimate].to_numpy(float) - g[paper].to_numpy(float)
        rows.append({"model": model, "strategies": len(g), "spearman_rho": spearman(g[estimate], g[paper]),
                     "bias": float(diff.mean()), "mae": float(np.abs(diff).mean())})
    return pd.DataFrame(rows, columns=["model", "strategies", "spearman_rho", "bias", "mae"])


UNIFORM, RANDOM, NOTHING = "uniform", "random", "no quantization"
_DRAWS = 200  # random draws per partition point before a duplicate-free one is given up


def strata(space: GenomeSpace, n: int, rng: np.random.Generator) -> list[int]:
    """How many of ``n`` strategies each partition point 0..num_units gets: p = 0 (nothing on the
    edge is quantized: one strategy) one, the rest spread evenly over 1..num_units, the points that
    get one more drawn by ``rng``; when ``n`` is too small for every point, a seeded choice."""
    units = space.num_units
    counts = [0] * (units + 1)
    if units == 0:
        counts[0] = min(n, 1)
        return counts
    counts[0] = 1 if n > units else 0
    rest = n - counts[0]
    base, extra = divmod(rest, units)
    for p in range(1, units + 1):
        counts[p] = base
    for i in rng.choice(units, size=extra, replace=False):
        counts[int(i) + 1] += 1
    return counts


def stratified_strategies(space: GenomeSpace, n: int, seed: int = 0) -> list[tuple[str, Genome]]:
    """``n`` distinct strategies of ``space`` as ``(kind, genome)``, drawn with ``seed`` (same
    seed, same strategies): every partition point is covered when ``n`` > num_units (p = 0 once,
    the one strategy that quantizes nothing), and at each p > 0 the strategies alternate between
    ``uniform`` (every edge layer at one width of R_w, the widths in a seeded order shifted by p,
    so that each width appears at every depth across the set; at most one per width) and
    ``random`` (Algorithm 1's RANDOM_POLICY at that p), odd p starting with a uniform one and
    even p with a random one, so that a set with one strategy per p holds both kinds. A draw
    that repeats a strategy is drawn again."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n={n!r}: ask for at least one strategy")
    rng = np.random.default_rng(seed)
    widths = [int(w) for w in rng.permutation(list(space.weight_bits))]
    counts = strata(space, int(n), rng)
    seen: set[str] = set()
    out: list[tuple[str, Genome]] = []

    def add(kind: str, genome: Genome) -> bool:
        k = genome_key(genome, space)
        if k in seen:
            return False
        seen.add(k)
        out.append((kind, genome))
        return True

    for p, count in enumerate(counts):
        uniform = 0
        for slot in range(count):
            if p == 0:
                add(NOTHING, Genome(0, random_genome(space, rng).bits))
                continue
            if (slot + p) % 2 == 1 and uniform < len(widths):  # odd p start uniform, even random
                w = widths[(p + uniform) % len(widths)]
                uniform += 1
                if add(UNIFORM, uniform_genome(space, p, w)):
                    continue
            for _ in range(_DRAWS):
                if add(RANDOM, dataclasses.replace(random_genome(space, rng), p=p)):
                    break
            else:
                raise ValueError(f"partition point p={p} holds fewer than {count} distinct "
                                 f"strategies; ask for fewer than n={n}")
    return out


def agreement_points(ctx: "SearchContext", evaluator: "Evaluator",
                     strategies: list[tuple[str, Genome]], seed: int, *,
                     report_ctx: "SearchContext | None" = None,
                     report_path: str | os.PathLike | None = None,
                     progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """One row per strategy: its ``kind``, ``key``, ``p``, mean weight bits of the edge,
    ``energy`` (what the objective bounds), ``privacy``, the search's ε (``eps_estimator``:
    ``evaluator``'s estimator on the search split; its record reused when logged) with its
    feasibility, and the reported ε (``eps_paper``: :func:`measure_report` on ``report_ctx``,
    default ``ctx``, cached in ``report_path``) with its 95 % interval, the finetune it got, the
    seconds its measurement took when it was measured (``report_seconds``) and whether the
    strategy is feasible by it; ``wall_seconds``: what this call spent on the strategy (both
    measurements; near 0 when both were cached). ``progress(i, n)`` is called after each one."""
    report_ctx = report_ctx or ctx
    path = Path(report_path) if report_path is not None else None
    objective = evaluator.objective
    rows = []
    for i, (kind, genome) in enumerate(strategies):
        t0 = time.perf_counter()
        ev = evaluator.evaluate(genome)
        rep = measure_report(report_ctx, genome, seed, path=path)
        edge = genome.edge_bits(ctx.space)
        energy = objective.energy(ev.energy, ev.energy_no_tx)
        rows.append({
            "model": ctx.model, "kind": kind, "key": ev.key, "p": ev.p,
            "mean_weight_bits": float(np.mean([w for w, _ in edge])) if len(edge) else np.nan,
            "quantizes_nothing": quantizes_nothing(ctx, genome), "energy": energy,
            "privacy": ev.privacy, "eps_estimator": ev.eps, "estimator": ev.estimator,
            "feasible_estimator": ev.feasible, "eps_paper": rep.eps,
            "eps_paper_ci_low": rep.ci_low, "eps_paper_ci_high": rep.ci_high,
            "report_estimator": rep.estimator, "report_finetune_batches": rep.finetune_batches,
            "report_images": rep.images, "report_seconds": rep.seconds,
            "feasible_paper": objective.feasible(ev.energy, ev.energy_no_tx, rep.eps),
            "wall_seconds": time.perf_counter() - t0})
        if progress is not None:
            progress(i + 1, len(strategies))
    return pd.DataFrame(rows)


__all__ = ["agreement_table", "spearman", "MIN_STRATEGIES", "stratified_strategies", "strata",
           "agreement_points", "UNIFORM", "RANDOM", "NOTHING"]
