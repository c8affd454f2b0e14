"""Tests of the search baselines (paperlib.search.baselines): the exhaustive (p, uniform bits) grid, equal
budgets, determinism by seed, the GA's trace, the Pareto front and the E_tran sensitivity.

The searches score genomes with cheap fake measurements through the real
:class:`paperlib.search.Evaluator`; one test runs the whole comparison on the smoke checkpoint.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from paperlib.search import baselines
from paperlib.studies import nb07_search_baselines
from paperlib.method import energy, models
from paperlib.infra import io
from paperlib.method.constants import E_TRAN_PJ_PER_BIT, WEIGHT_BITS
from paperlib.search import EvolutionSettings, GenomeSpace, evolve, key

import fakes  # noqa: I001  (tests/fakes.py: the shared fake measurements)


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def net():
    return models.build("resnet18", "cifar10")


@pytest.fixture(scope="module")
def space(net) -> GenomeSpace:
    return GenomeSpace.from_net(net)


def make_evaluator(space, log_path=None, seed=0):
    """The shared fake measurements, E_b applied to the compute energy (the profiles' default)."""
    return fakes.make_evaluator(space, log_path, seed=seed, include_transmission=False)


# --- the exhaustive grid --------------------------------------------------------------------------

def test_exhaustive_grid_is_exactly_the_p_b_grid(space):
    grid = baselines.exhaustive_grid(space)
    assert len(grid) == baselines.grid_size(space) == 1 + space.num_units * len(WEIGHT_BITS)
    keys = [key(g, space) for g in grid]
    assert len(set(keys)) == len(keys)
    expected = {"p0:"} | {f"p{p}:" + ",".join([f"w{b}a8"] * len(space.edge_range(p)))
                          for p in range(1, space.num_units + 1) for b in WEIGHT_BITS}
    assert set(keys) == expected
    assert keys[0] == "p0:" and keys[1] == "p1:" + ",".join(["w2a8"] * len(space.edge_range(1)))
    shuffled = baselines.exhaustive_grid(space, "shuffled", seed=3)
    assert {key(g, space) for g in shuffled} == expected and shuffled != grid
    assert shuffled == baselines.exhaustive_grid(space, "shuffled", seed=3)
    with pytest.raises(ValueError, match="order"):
        baselines.exhaustive_grid(space, "random")


def test_exhaustive_search_truncates_at_the_budget_and_stops_at_the_grid(space):
    ev = make_evaluator(space)
    t = baselines.exhaustive_search(ev, 10, seed=1)
    assert t.evaluations == 10 and ev.computed == 10
    assert [r["key"] for r in t.records] == [key(g, space) for g in
                                             baselines.exhaustive_grid(space, "shuffled", 1)[:10]]
    t = baselines.exhaustive_search(make_evaluator(space), 500, seed=1, order="grid")
    assert t.evaluations == baselines.grid_size(space)
    curves = baselines.curve_frame([t], budget=50)
    assert curves["evaluations"].max() == 50 and curves["exhausted"].sum() == 50 - t.evaluations
    assert curves["best_fitness"].is_monotonic_increasing


# --- random search --------------------------------------------------------------------------------

def test_random_search_budget_and_determinism(space):
    a = baselines.random_search(make_evaluator(space), 25, seed=7)
    b = baselines.random_search(make_evaluator(space), 25, seed=7)
    c = baselines.random_search(make_evaluator(space), 25, seed=8)
    assert a.evaluations == 25 and len({r["key"] for r in a.records}) == 25
    assert a.draws >= 25
    assert [r["key"] for r in a.records] == [r["key"] for r in b.records]
    assert [r["key"] for r in a.records] != [r["key"] for r in c.records]
    assert a.curve == sorted(a.curve) and a.curve[-1] == a.best["fitness"]
    with pytest.raises(ValueError, match="budget"):
        baselines.random_search(make_evaluator(space), 0)


def test_random_search_stops_after_max_draws(space):
    tiny = GenomeSpace(space.layer_names[:3], (1, 2, 3), (8,), (8,))  # 3 distinct strategies
    t = baselines.random_search(make_evaluator(tiny), 10, seed=0, max_draws=200)
    assert t.evaluations == 3 and t.draws == 200


@pytest.mark.parametrize("method", ["random", "exhaustive", "rl"])
def test_an_executor_changes_no_trace_and_no_log(space, tmp_path, method):
    from paperlib.search.methods import run_method

    serial = make_evaluator(space, tmp_path / "serial.jsonl", seed=3)
    pooled = make_evaluator(space, tmp_path / "pooled.jsonl", seed=3)
    a = run_method(method, serial, 20, 3, rl_samples=4)
    b = run_method(method, pooled, 20, 3, rl_samples=4, executor=fakes.ReversedExecutor())
    assert a.records == b.records and a.evaluations == 20 and a.draws == b.draws
    logs = [[{k: v for k, v in r.items() if k != "seconds"}  # timings differ
             for r in io.read_jsonl(tmp_path / f"{name}.jsonl")] for name in ("serial", "pooled")]
    assert logs[0] == logs[1] and len(logs[0]) >= 20


def test_equal_budgets_with_the_ga(space, tmp_path):
    """The GA's trace is its log in the order scored; the baselines get its count as budget."""
    from paperlib.search import LOG_FILE, SearchResult

    ev = make_evaluator(space, tmp_path / LOG_FILE, seed=2)
    out = evolve(ev, EvolutionSettings(population=6, sample=3, iterations=20, seed=2), progress=False)
    res = SearchResult(model="resnet18", profile="smoke", dataset="cifar10", data="fake", seed=2,
                       energy_bound=0.35, accuracy_bound=0.03, best={"key": out.best.key},
                       history=out.history, timing={"genomes": 26}, settings={"estimator": "fake"},
                       evaluations=out.evaluations, out_dir=str(tmp_path))
    ga = baselines.ga_trace(res, ev)
    assert ga.evaluations == out.evaluations == len(out.seen_keys)
    assert [r["key"] for r in ga.records] == out.seen_keys
    assert ga.curve[-1] == pytest.approx(out.best.fitness)
    assert ga.curve[-1] == pytest.approx(out.history[-1]["best_fitness"])
    rnd = baselines.random_search(make_evaluator(space), ga.evaluations, seed=2)
    exh = baselines.exhaustive_search(make_evaluator(space), ga.evaluations, seed=2)
    assert rnd.evaluations == exh.evaluations == ga.evaluations
    # a warmed cache costs nothing but still counts against the budget
    warm = make_evaluator(space, seed=2)
    assert warm.warm([tmp_path / LOG_FILE]) == out.evaluations
    t = baselines.exhaustive_search(warm, ga.evaluations, seed=2)
    assert t.evaluations == ga.evaluations and warm.computed <= ga.evaluations
    summary = baselines.curve_summary(baselines.curve_frame([ga, rnd, exh], ga.evaluations))
    assert set(summary["method"]) == {"ga", "random", "exhaustive"}


# --- E_b sweep and E_tran -----------------------------------------------------------

def test_best_under_bounds():
    pts = pd.DataFrame({"key": ["a", "b", "c"], "p": [1, 2, 3], "privacy": [0.5, 0.8, 0.9],
                        "energy_bounded": [0.1, 0.3, 0.5], "eps": [0.0, 0.01, 0.0]})
    sweep = baselines.best_under_bounds(pts, [0.05, 0.2, 0.35, 1.0], eps_bound=0.005)
    assert np.isnan(sweep["privacy"][0])
    assert sweep["privacy"].tolist()[1:] == [0.5, 0.5, 0.9]  # b is over the accuracy bound


def test_energy_at_scales_only_the_transmission(net):
    e0 = energy.edge_energy(net, 4, 8, transmission=False)
    e = energy.edge_energy(net, 4, 8)
    for e_tran in (E_TRAN_PJ_PER_BIT, 1e3, 3e5):
        assert baselines.energy_at(e, e0, e_tran) == pytest.approx(
            energy.edge_energy(net, 4, 8, e_tran_pj_per_bit=e_tran))
    assert energy.edge_energy(net, 4, 8, e_tran_pj_per_bit=E_TRAN_PJ_PER_BIT) == e


def test_radio_energies_are_orders_above_the_paper():
    r = nb07_search_baselines.RADIO_E_TRAN_PJ_PER_BIT
    assert r["paper (Eq. 9)"] == 100.0
    for name in ("Wi-Fi", "4G (LTE)", "3G"):
        assert 1e5 < r[name] < 1e7  # 0.1 .. 10 µJ/bit
    assert r["Wi-Fi"] < r["4G (LTE)"] < r["3G"]


def test_transmission_sensitivity(net):
    pts = pd.DataFrame({"key": ["p2:w8a8"], "p": [2], "privacy": [0.6], "energy": [0.2],
                        "energy_no_tx": [0.1], "eps": [0.0]})
    refs = pd.DataFrame({"strategy": ["x"], "key": ["p1:w8a8"], "p": [1], "privacy": [0.5],
                         "energy": [0.12], "energy_no_tx": [0.1], "eps": [0.0]})
    df = nb07_search_baselines.transmission_sensitivity(net, pts, refs, energy_bound=0.35)
    assert df["setting"].tolist()[0] == "compute only (no E_T)"
    assert len(df) == 1 + len(nb07_search_baselines.RADIO_E_TRAN_PJ_PER_BIT)
    paper = df[df["setting"] == "paper (Eq. 9)"].iloc[0]
    assert paper["blocks_8bit"] == energy.max_partition(net, 8, 0.35)
    assert paper["best_privacy"] == 0.6  # 0.1 + 0.1 mJ fits
    radio = df[df["setting"] == "3G"].iloc[0]
    assert pd.isna(radio["blocks_8bit"]) and radio["best_strategy"] == "none fits"


def test_describe_key():
    assert baselines.describe_key("p0:") == "p=0, stem only"
    assert baselines.describe_key("p2:w8a8,w8a8") == "p=2, uniform 8-bit"
    assert baselines.describe_key("p2:w8a8,w4a8") == "p=2, weights 8/4"


# --- end to end on the smoke checkpoint -----------------------------------------------------------

def test_compare_on_smoke_checkpoint(real_data_dir, results_root):
    from paperlib import search

    ctx = search.build_context("resnet18", "smoke", allow_partial=True, progress=False,
                               validation_images=16, privacy_images=4, population=4, sample=2,
                               iterations=4, reference_estimator="sensitivity")
    cmp = baselines.compare_methods("resnet18", "smoke", seeds=[0, 1], context=ctx, progress=False)
    final = cmp.final()
    assert set(final["method"]) == set(baselines.SEARCH_METHODS.names(scalar=True))
    for seed in (0, 1):
        rows = final[final["seed"] == seed].set_index("method")
        budget = cmp.budgets[seed]
        assert rows.loc["ga", "evaluations"] == rows.loc["random", "evaluations"] == budget
        assert rows.loc["exhaustive", "evaluations"] == min(budget, cmp.grid_size)
    assert {"fp32 (max partition)", "8-bit uniform (max partition)",
            "8-bit conv/fc (all blocks)"} <= set(cmp.references["strategy"])
    assert cmp.points["key"].is_unique and len(cmp.points) >= max(cmp.budgets.values())
    # a second call reloads the traces instead of searching again
    files = sorted(results_root.rglob("random.json"))
    mtimes = [f.stat().st_mtime for f in files]
    again = baselines.compare_methods("resnet18", "smoke", seeds=[0, 1], context=ctx, progress=False)
    assert [f.stat().st_mtime for f in files] == mtimes
    pd.testing.assert_frame_equal(again.final().drop(columns="seconds"),
                                  final.drop(columns="seconds"))
    assert io.read_json(files[0])["fingerprint"]["budget"] == cmp.budgets[0]


def test_comparison_plans():
    assert baselines.comparison_plan("paper") == baselines.ComparisonPlan()
    quick = baselines.comparison_plan("quick")
    assert quick.models == ("resnet18",) and quick.budget == 60
    assert baselines.comparison_plan("smoke").models == ("resnet18",)


def test_saved_iterations(tmp_path):
    assert baselines.saved_iterations(tmp_path) is None
    io.write_json(tmp_path / "state.json", {"iteration": 7})
    assert baselines.saved_iterations(tmp_path) == 7


def test_budget_caps_every_method_and_truncates_the_ga(real_data_dir, results_root):
    from paperlib import search

    ctx = search.build_context("resnet18", "smoke", allow_partial=True, progress=False,
                               validation_images=16, privacy_images=4, population=4, sample=2,
                               iterations=6, reference_estimator="sensitivity")
    full = baselines.compare_methods("resnet18", "smoke", seeds=[0], context=ctx, progress=False)
    assert full.budgets[0] > 5
    cmp = baselines.compare_methods("resnet18", "smoke", seeds=[0, 1], context=ctx, progress=False,
                            budget=5)
    assert cmp.budgets == {0: 5, 1: 5}
    final = cmp.final().set_index(["method", "seed"])
    assert (final["evaluations"] == 5).all()
    ga0 = [t for t in cmp.traces if t.method == "ga" and t.seed == 0][0]
    ga_full = [t for t in full.traces if t.method == "ga"][0]
    assert [r["key"] for r in ga0.records] == [r["key"] for r in ga_full.records[:5]]  # a prefix
    # seed 1 ran only as many iterations as the budget needed, not the profile's T
    out = search.default_out_dir("resnet18", "smoke", 0.35, 1)
    assert baselines.saved_iterations(out) < ctx.settings.iterations or ctx.settings.iterations <= 2
