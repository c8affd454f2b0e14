"""The package's default search against Algorithm 1 as the paper gives it (issue 22,
docs/decisions/paper-method.md §8): uniform baselines in the initial population, exposed layers
that inherit bits, a bounded repair, feasibility-first selection as an option, and the baselines
every result carries.

Most tests score real architectures' genome spaces with the fake measurements of ``tests/fakes.py``;
the ``slow`` one runs the real search on the smoke checkpoint.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from paperlib.method import models
from paperlib.method.genome import uniform_genome
from paperlib.method.profiles import SearchSettings, get_profile
from paperlib.search import (ALGORITHM_1, Evaluation, EvolutionSettings, Genome, GenomeSpace,
                             Objective, evolve, mutate, search_settings)
from paperlib.search.repair import repair_step, repaired
from paperlib.search.seeds import MIN_SEEDS
from paperlib.search.selection import first_best, first_worst, ranker, violation
from paperlib.search.uniform_baselines import (deepest_energy_partition, margin_over, uniform_baseline,
                                               uniform_baselines)
from paperlib.search.variation import exposed_bits

from fakes import make_evaluator  # noqa: I001

# Algorithm 1's outcome on the fake measurements (N 8, S 4, T 40) as the search gave it before the
# default search existed (main at 2b5697c): ``--init random`` must reproduce it bit for bit.
ALGORITHM_1_KNOWN = {
    ("resnet18", 3): ("p3:w8a8,w8a8,w6a8,w6a8,w6a8,w2a8,w8a8", 0.712766822197653, "f5b6802d2083bbfa"),
    ("resnet18", 11): ("p1:w8a8,w6a8", 0.6030545594410632, "27d0e45351d0e4c1"),
    ("mobilenet", 3): ("p3:w6a8,w8a8,w8a8,w2a8,w8a8,w6a8", 0.7258861170094194, "e26df40d05370873"),
    ("mobilenet", 11): ("p3:w8a8,w4a8,w8a8,w8a8,w2a8,w4a8", 0.7179187561543469, "0efcb82c13e338b1"),
}
SIZES = dict(population=8, sample=4, iterations=40)


def _space(model: str) -> GenomeSpace:
    return GenomeSpace.from_net(models.build(model, "cifar10"))


def _history_sha(history) -> str:
    return hashlib.sha256(json.dumps(history, sort_keys=True).encode()).hexdigest()[:16]


@pytest.mark.parametrize("model,seed", sorted(ALGORITHM_1_KNOWN))
def test_init_random_reproduces_algorithm1_bit_for_bit(model, seed):
    settings = search_settings(SearchSettings(**SIZES), init="random")
    evo = EvolutionSettings.from_search(settings, seed=seed)
    assert evo.repair_steps == 0 and not evo.default_search
    assert evo.fingerprint() == EvolutionSettings(**SIZES, seed=seed).fingerprint()  # old states resume
    out = evolve(make_evaluator(_space(model)), evo, progress=False)
    key, fit, sha = ALGORITHM_1_KNOWN[(model, seed)]
    assert (out.best.key, out.best.fitness, _history_sha(out.history)) == (key, fit, sha)


def test_algorithm_1_settings_are_the_paper_ones():
    assert {k: getattr(EvolutionSettings(), k) for k in ALGORITHM_1} == ALGORITHM_1
    assert SearchSettings().init == "baselines"  # the package's default search


@pytest.mark.parametrize("model", list(models.MODELS))
def test_default_search_never_below_the_best_baseline(model):
    """Every model, five seeds: the default search's best fitness >= the best uniform baseline's
    under the same evaluator, and the baselines are in its initial population."""
    space = _space(model)
    for seed in range(5):
        ev = make_evaluator(space, seed=seed)
        evo = EvolutionSettings.from_search(SearchSettings(**SIZES), seed=seed)
        assert evo.default_search and evo.repair_steps == 1
        out = evolve(ev, evo, progress=False)
        baselines = uniform_baselines(ev)
        best_baseline = max(b.evaluation.fitness for b in baselines)
        assert out.best.fitness >= best_baseline
        assert margin_over(out.best.fitness, baselines) >= 0
        assert out.history[0]["best_fitness"] >= best_baseline  # from the start


def test_uniform_baseline_is_the_deepest_feasible_partition():
    """Brute force over every p gives the same deepest feasible p as the energy scan + bisection."""
    space = _space("resnet18")
    ev = make_evaluator(space)
    for bits in (2, 4, 6, 8):
        feasible = [p for p in range(space.num_units + 1)
                    if ev.evaluate(uniform_genome(space, p, bits), count=False).feasible]
        b = uniform_baseline(make_evaluator(space), bits)
        assert b.evaluation.p == max(feasible) and b.evaluation.feasible
        assert b.name == f"{bits}-bit uniform" and b.evaluation in b.tried
        assert len(b.tried) <= 1 + int(np.ceil(np.log2(space.num_units + 1)))
    fp = uniform_baseline(make_evaluator(space), 32)
    assert fp.name == "full precision" and set(map(tuple, fp.evaluation.genome["bits"])) == {(32, 32)}


def test_exposed_layers_inherit_the_deepest_edge_layer():
    space = _space("resnet18")
    parent = Genome.uniform(space, 2, 2)
    bits = list(parent.bits)
    bits[space.edge_counts[2] - 1] = (6, 8)  # the deepest edge layer at p = 2
    parent = Genome(2, tuple(bits))
    for seed in range(20):
        stale = mutate(parent, space, np.random.default_rng(seed), 1.0, 0.0)
        fresh = mutate(parent, space, np.random.default_rng(seed), 1.0, 0.0, fresh_exposed=True)
        assert stale.p == fresh.p  # the same draws
        if fresh.p > 2:
            exposed = range(space.edge_counts[2], space.edge_counts[fresh.p])
            assert all(fresh.bits[i] == (6, 8) for i in exposed)
            assert all(stale.bits[i] == (2, 8) for i in exposed)  # Algorithm 1 keeps them
        else:
            assert fresh == stale
    assert exposed_bits(Genome.uniform(space, 0, 2), space) == (8, 8)  # nothing on the edge


def _evaluation(p: int, energy: float, eps: float, objective: Objective) -> Evaluation:
    ev = Evaluation(key=f"p{p}", genome={}, p=p, privacy=1.0, energy=energy, energy_no_tx=energy,
                    eps=eps, top1_fp=0.9, top1_quant=0.9 - eps, fitness=0.0, feasible=False,
                    estimator="fake")
    ev.fitness = objective.fitness(1.0, energy, energy, eps)
    ev.feasible = objective.feasible(energy, energy, eps)
    return ev


def test_repair_step_known_answers():
    space = _space("resnet18")
    obj = Objective(0.35, 0.03)
    g = Genome.uniform(space, 3, 8)
    bits = list(g.bits)
    low = space.edge_counts[1] + 1
    bits[low] = (2, 8)
    bits[space.edge_counts[3] - 1] = (4, 8)
    g = Genome(3, tuple(bits))
    # over the energy bound: one block fewer on the edge
    assert repair_step(g, _evaluation(3, 0.5, 0.0, obj), space, obj) == Genome(2, g.bits)
    # over the accuracy bound: the fewest-bit edge layer goes to the next width
    fixed = repair_step(g, _evaluation(3, 0.1, 0.05, obj), space, obj)
    assert fixed.p == 3 and fixed.bits[low] == (4, 8)
    assert [i for i in range(space.num_layers) if fixed.bits[i] != g.bits[i]] == [low]
    # nothing left to widen: lower p; feasible: nothing to do
    assert repair_step(Genome.uniform(space, 3, 8), _evaluation(3, 0.1, 0.05, obj), space, obj).p == 2
    assert repair_step(g, _evaluation(3, 0.1, 0.01, obj), space, obj) is None


def _counting_privacy(ev) -> list:
    """Make ``ev`` record every genome whose P it measures; returns the record."""
    calls, privacy = [], ev.privacy
    ev.privacy = lambda genome: calls.append(genome) or privacy(genome)
    return calls


def test_uniform_baseline_scores_only_itself():
    """The bisection judges its probes by their bounds: only the baseline's P is measured."""
    space = _space("resnet18")
    for bits in (2, 4, 6, 8, 32):
        ev = make_evaluator(space)
        calls = _counting_privacy(ev)
        b = uniform_baseline(ev, bits)
        assert b.tried == (b.evaluation,) and ev.computed == 1
        assert [ev.key(g) for g in calls] == [b.evaluation.key]


def test_repair_is_judged_by_the_bounds_before_any_privacy_is_measured():
    space = _space("resnet18")
    ev = make_evaluator(space)
    calls = _counting_privacy(ev)
    top = deepest_energy_partition(ev, 8)
    assert top + 2 <= space.num_units  # the fake energies leave room above the deepest point
    child = Genome.uniform(space, top + 2, 8)  # two blocks over E_b at 8 bits
    assert repaired(ev, child, 0) == child
    assert repaired(ev, child, 1) == Genome(top + 1, child.bits)  # less over, still over
    assert repaired(ev, child, 2) == Genome(top, child.bits)  # the first within both bounds
    assert repaired(ev, child, 5) == Genome(top, child.bits)  # stops there
    assert repaired(ev, Genome(top, child.bits), 3) == Genome(top, child.bits)  # feasible: kept
    assert calls == [] and ev.computed == 0  # no P measured, nothing scored


@pytest.mark.parametrize("model", ["resnet18", "mobilenet"])
def test_default_search_measures_p_once_per_distinct_strategy(model):
    """Repairs and the baselines' bisection cost no P: every P measured is a distinct strategy
    the search scored (a baseline, a member or a child that joined), and the estimate made for
    the bounds is reused, not made again."""
    space = _space(model)
    ev = make_evaluator(space, seed=3)
    calls = _counting_privacy(ev)
    estimates = []
    estimate = ev.estimator.estimate
    ev.estimator.estimate = lambda genome, seed: estimates.append(genome) or estimate(genome, seed)
    out = evolve(ev, EvolutionSettings.from_search(SearchSettings(**SIZES), seed=3), progress=False)
    keys = [ev.key(g) for g in calls]
    assert len(keys) == len(set(keys)) == ev.computed == out.evaluations
    assert out.evaluations <= SIZES["population"] + SIZES["iterations"] + 5  # + the 5 baselines
    estimated = [ev.key(g) for g in estimates]
    assert len(estimated) == len(set(estimated))  # each strategy's ε estimated once


def test_feasibility_first_selection():
    obj = Objective(0.35, 0.03)
    feasible_low = _evaluation(1, 0.1, 0.01, obj)
    near = _evaluation(2, 0.36, 0.0, obj)  # infeasible, fitness near 1
    far = _evaluation(3, 0.70, 0.06, obj)
    assert violation(feasible_low, obj) == 0
    assert violation(far, obj) == pytest.approx(1.0 + 1.0)
    by_fitness, by_feasibility = ranker("fitness", obj), ranker("feasibility", obj)
    members = [near, feasible_low, far]
    assert first_best([by_fitness(e) for e in members]) in (0, 1)
    assert first_best([by_feasibility(e) for e in members]) == 1  # feasible beats infeasible
    assert first_worst([by_feasibility(e) for e in members]) == 2  # the largest violation
    assert first_best([(1.0,), (1.0,)]) == 0 and first_worst([(1.0,), (1.0,)]) == 0  # ties: first


@pytest.mark.parametrize("name,value", [("init", "greedy"), ("selection", "pareto")])
def test_unknown_choices_are_refused_with_the_valid_ones(name, value, capsys):
    from paperlib.app.cli import build_parser

    with pytest.raises(ValueError, match="baselines, random|fitness, feasibility"):
        search_settings(SearchSettings(), **{name: value})
    with pytest.raises(ValueError, match="not a valid choice"):
        EvolutionSettings(**{name: value})
    with pytest.raises(SystemExit):
        build_parser().parse_args(["search", "--model", "resnet18", f"--{name}", value])
    err = capsys.readouterr().err
    assert "invalid choice" in err and value in err
    with pytest.raises(ValueError, match="repair_steps"):
        search_settings(SearchSettings(), repair_steps=-1)


@pytest.mark.slow
@pytest.mark.parametrize("model", get_profile("smoke").search_models)
def test_result_json_holds_the_baselines_on_smoke(model, real_data_dir, tmp_path):
    """The real search on the smoke checkpoint of every searched model, MIN_SEEDS (5) seeds
    (issue 22 item 4): result.json lists the uniform baselines and the default search's best
    fitness is never below the best of theirs, under the same estimator. The searches write to
    ``tmp_path``; the sensitivity tables stay in the tests' own results folder, as the checkpoints
    do, so a second run of the suite reuses them."""
    from paperlib import search
    from paperlib.infra import io

    ctx = search.build_context(model, "smoke", allow_partial=True, progress=False,
                               validation_images=16, privacy_images=8)
    for seed in range(MIN_SEEDS):
        out = tmp_path / f"seed{seed}"
        result = search.run(model, settings=search.RunSettings(
            seed=seed, search=dict(iterations=4, population=6, sample=3, finetune_batches=1)),
            context=ctx,
            out_dir=out, progress=False)
        saved = io.read_json(out / "result.json")
        names = [b["name"] for b in saved["baselines"]]
        assert names == ["full precision", "8-bit uniform", "6-bit uniform", "4-bit uniform",
                         "2-bit uniform"]
        for b in saved["baselines"]:
            assert {"key", "privacy", "energy_mj", "eps", "fitness"} <= set(b)
        best_baseline = max(b["fitness"] for b in saved["baselines"])
        assert result.best["fitness"] >= best_baseline
        assert saved["baseline_margin"] == pytest.approx(result.best["fitness"] - best_baseline)


def test_a_value_on_its_bound_is_within_it_despite_rounding():
    """ε is a difference of top-1 rates over n images: 250/500 − 235/500 is 15/500 = ε_b exactly,
    but 0.030000000000000027 in floating point; it meets the bound and goes unpunished."""
    from paperlib.search.fitness import feasible, fitness

    eps = 250 / 500 - 235 / 500
    assert eps > 0.03  # the rounding this guards against
    assert feasible(0.35, eps, 0.35, 0.03)
    assert fitness(0.9, 0.35, eps, 0.35, 0.03) == 0.9
    assert not feasible(0.35, 0.0301, 0.35, 0.03)  # a real excess still counts
    assert violation(_evaluation(1, 0.1, eps, Objective(0.35, 0.03)), Objective(0.35, 0.03)) == 0.0
