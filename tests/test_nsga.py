"""NSGA-II over the search genome and the hypervolume comparison (paperlib.search.nsga;
docs/decisions/scale.md §3-4)."""

from __future__ import annotations

import numpy as np
import pytest

from paperlib.method import models
from paperlib.search import Genome, GenomeSpace, random_genome
from paperlib.search.methods import SEARCH_METHODS, run_method
from paperlib.method.genome import FP_PAIR, uniform_genome
from paperlib.search import Evaluator, EvolutionSettings, Objective, evolve
from paperlib.search.fronts import interleave, shared_start
from paperlib.search.initial import initial_population
from paperlib.search.nsga import (bounds, decode, encode, evaluation_grid, hypervolume,
                                  hypervolume_curve, hypervolume_curves, hypervolume_summary,
                                  hypervolume_table, nsga2_minimize, pareto_front, reference_point)

from fakes import FakeEstimator, fake_energy, fake_privacy, make_evaluator  # noqa: I001


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


def test_full_precision_layers_encode_on_the_rung_above_the_widest_bits(space):
    fp = uniform_genome(space, 3, 32)
    x = encode(fp, space)
    assert (x[1::2] == len(space.weight_bits)).all()
    assert decode(x, space) == fp
    lower, upper = bounds(space)
    assert (x > upper).any()  # outside the plain encoding ...
    lower, upper = bounds(space, full_precision=True)
    assert ((lower <= x) & (x <= upper)).all()  # ... inside the one with the rung
    mixed = list(encode(Genome.uniform(space, 5, 4), space))
    mixed[1] = len(space.weight_bits)  # first searched layer at full precision
    assert decode(mixed, space).bits[space.searchable[0]] == FP_PAIR


# --- one initial population for the genetic search and NSGA-II (scale.md §4) -----------------------

def test_nsga2_starts_from_the_genetic_searchs_initial_population(space):
    """Seed s: the default search (baselines + random) scores its baselines' search and initial
    population first; NSGA-II given initial_population(seed s) scores exactly these first."""
    seed, n = 3, 8
    ga = evolve(make_evaluator(space), EvolutionSettings(population=n, sample=2, iterations=0,
                                                         init="baselines", seed=seed),
                progress=False)
    ev = make_evaluator(space)
    start = initial_population(ev, n, np.random.default_rng(seed))
    assert start.keys(space) == ga.seen_keys
    assert [ev.key(g) for g in start.genomes] == [ev.key(g) for g in ga.population]
    trace = run_method("nsga2", ev, 40, seed=seed, pop_size=6, initial=start)
    keys = [r["key"] for r in trace.records]
    assert keys[:len(ga.seen_keys)] == ga.seen_keys and len(set(keys)) == 40
    # the full-precision baseline is in the start, so NSGA-II's encoding reaches that rung
    assert any(g == uniform_genome(space, g.p, 32) for g in start.genomes)


def test_random_start_is_algorithm_1s_population(space):
    seed, n = 5, 6
    ga = evolve(make_evaluator(space), EvolutionSettings(population=n, sample=2, iterations=0,
                                                         init="random", seed=seed), progress=False)
    start = initial_population(make_evaluator(space), n, np.random.default_rng(seed), init="random")
    assert list(start.genomes) == ga.population and start.tried == ()
    # the default start of NSGA-II: pop_size random genomes of the same function
    ev = make_evaluator(space)
    trace = run_method("nsga2", ev, 20, seed=seed, pop_size=n)
    assert [r["key"] for r in trace.records[:n]] == list(dict.fromkeys(ev.key(g) for g in ga.population))


def test_shared_start_joins_the_sweeps_starts_in_bound_order(space):
    def at(bound):
        return Evaluator(space, fake_energy(space), fake_privacy(space), FakeEstimator(space),
                         Objective(bound, 0.03))

    seed, n = 1, 6
    own = [initial_population(at(b), n, np.random.default_rng(seed)) for b in (0.1, 0.35, 1.0)]
    joined = shared_start([at(b) for b in (0.1, 0.35, 1.0)], n, seed)
    keys = joined.keys(space)
    assert len(keys) == len(set(keys))
    assert set(keys) == {k for s in own for k in s.keys(space)}
    # the baselines differ between bounds (deepest p under E_b), the random genomes do not
    assert len({tuple(s.keys(space)) for s in own}) > 1
    first = list(dict.fromkeys(ev.key for ev in own[0].tried))
    assert keys[:len(first)] == first


# --- hypervolume against evaluations (scale.md §4) -------------------------------------------------

def test_hypervolume_curve_is_monotone_and_ends_at_the_runs_hypervolume(space):
    runs = {m: [run_method(m, make_evaluator(space, seed=s), 37, seed=s).records
                for s in (0, 1, 2)] for m in ("nsga2", "random")}
    table = hypervolume_table(runs).set_index(["method", "seed"])
    curves = hypervolume_curves(runs, points=10)
    assert list(curves.columns) == ["method", "seed", "evaluations", "hypervolume"]
    for (m, s), g in curves.groupby(["method", "seed"]):
        assert g["evaluations"].tolist() == evaluation_grid(37, 10)
        hv = g["hypervolume"].to_numpy()
        assert (np.diff(hv) >= 0).all() and hv[0] >= 0
        assert hv[-1] == pytest.approx(table.loc[(m, s), "hypervolume"])
    # by hand: one point, then one that dominates it, then a dominated one
    F = np.array([[2.0, 2.0], [1.0, 1.0], [1.5, 1.5]])
    assert hypervolume_curve(F, np.array([3.0, 3.0]), [1, 2, 3]) == pytest.approx([1.0, 4.0, 4.0])
    assert evaluation_grid(5, 30) == [1, 2, 3, 4, 5] and evaluation_grid(100, 4) == [1, 34, 67, 100]


def test_interleave_takes_the_runs_in_turn():
    runs = [[{"key": k} for k in "abc"], [{"key": k} for k in "adef"], [{"key": "g"}]]
    assert [r["key"] for r in interleave(runs)] == list("agbdcef")
    assert [r["key"] for r in interleave(runs, 4)] == list("agbd")
