"""NSGA-II over the search genome and the hypervolume comparison (paperlib.search.nsga;
docs/decisions/scale.md §3-4)."""

from __future__ import annotations

import numpy as np
import pytest

from paperlib.method import models
from paperlib.search import GenomeSpace, random_genome
from paperlib.search.methods import SEARCH_METHODS, run_method
from paperlib.search.nsga import (decode, encode, hypervolume, hypervolume_summary, hypervolume_table, nsga2_minimize, pareto_front, reference_point)

from fakes import make_evaluator  # noqa: I001


def toy(X: np.ndarray) -> np.ndarray:
    """Two objectives on {0..20}^3, minimised: f1 = x0, f2 = 20 − x0 + x1 + x2.
    Known front: x1 = x2 = 0, i.e. the 21 points (k, 20 − k), k = 0..20."""
    X = np.asarray(X)
    return np.stack([X[:, 0], 20 - X[:, 0] + X[:, 1] + X[:, 2]], axis=1).astype(float)


def test_nsga2_reaches_the_known_front_of_a_toy_problem():
    found = []

    def score(X):
        F = toy(X)
        found.append(F)
        return F

    nsga2_minimize(score, np.zeros(3, int), np.full(3, 20), budget=1200, n_obj=2, pop_size=28,
                   seed=1)
    front = {tuple(f) for f in pareto_front(np.vstack(found))}
    assert front == {(float(k), float(20 - k)) for k in range(21)}


def test_hypervolume_hand_computed():
    F = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0], [3.0, 3.0]])  # the last one is dominated
    assert pareto_front(F).tolist() == [[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]]
    # staircase under (4, 4): 3x1 + 2x1 + 1x1 = 6
    assert hypervolume(F, np.array([4.0, 4.0])) == pytest.approx(6.0)
    assert hypervolume(np.array([[5.0, 5.0]]), np.array([4.0, 4.0])) == 0.0
    ref = reference_point([np.array([[0.0, 0.0], [1.0, 2.0]])], margin=0.5)
    assert ref.tolist() == [1.5, 3.0]


@pytest.fixture(scope="module")
def space() -> GenomeSpace:
    return GenomeSpace.from_net(models.build("resnet18", "cifar10"))


def test_encoding_round_trips(space):
    rng = np.random.default_rng(0)
    for _ in range(20):
        g = random_genome(space, rng)
        assert decode(encode(g, space), space) == g


def test_nsga2_is_a_registered_method_with_an_exact_budget(space):
    entry = SEARCH_METHODS.entry("nsga2")
    assert entry.scalar is False and "nsga2" not in SEARCH_METHODS.names(scalar=True)
    a = run_method("nsga2", make_evaluator(space), 60, seed=2, pop_size=10)
    b = run_method("nsga2", make_evaluator(space), 60, seed=2, pop_size=10)
    assert a.evaluations == 60 and len({r["key"] for r in a.records}) == 60
    assert a.records == b.records  # deterministic for a seed
    assert {"privacy", "energy", "eps"} <= set(a.records[0])
    # the front spreads over p: the fake privacy grows with p, the fake energy with the edge layers
    assert len({r["p"] for r in a.records}) >= 5


def test_hypervolume_table_over_seeds(space):
    runs = {m: [run_method(m, make_evaluator(space, seed=s), 40, seed=s).records
                for s in (0, 1)] for m in ("nsga2", "random")}
    table = hypervolume_table(runs)
    assert list(table.columns) == ["method", "seed", "evaluations", "hypervolume"]
    assert len(table) == 4 and (table["hypervolume"] > 0).all()
    assert (table["evaluations"] == 40).all()
    summary = hypervolume_summary(table)
    assert list(summary["method"]) == ["nsga2", "random"] and (summary["count"] == 2).all()
