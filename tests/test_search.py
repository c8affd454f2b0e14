"""Tests of the maximized-partition search (Algorithm 1, Eq. 10-12; paperlib.search).

Most tests score genomes with tiny fake measurements (the point there is the algorithm, the cache
and the resume logic, not the numbers); the ``slow`` ones run the real search end to end on the
smoke profile's ResNet18 checkpoint.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from paperlib.infra import io
from paperlib.method import models
from paperlib.method.constants import ACTIVATION_BITS, FULL_PRECISION, WEIGHT_BITS
from paperlib.search import (EvolutionSettings, Genome, GenomeSpace, Objective, evolve, fitness, key, mutate, punish, random_genome)
from paperlib.search.fitness import feasible, over, within

from fakes import Killed, kill_after, make_evaluator  # noqa: I001  (tests/fakes.py: the shared fake measurements)

REPO = Path(__file__).resolve().parents[1]
FP = (FULL_PRECISION, FULL_PRECISION)


# --- Eq. 12 and Eq. 11 ---------------------------------------------------------------------------

def test_punish_hand_computed():
    assert punish(0.1, 0.7, 0.35) == pytest.approx(0.1)  # 0.1^(0.7/0.35 - 1) = 0.1^1
    assert punish(0.1, 0.35, 0.35) == 1.0  # at the bound: "otherwise" branch
    assert punish(0.1, 0.1, 0.35) == 1.0
    assert punish(0.1, 0.525, 0.35) == pytest.approx(0.1 ** 0.5)  # 0.525/0.35 - 1 = 0.5
    assert punish(0.1, 1.05, 0.35) == pytest.approx(0.01)  # 3 - 1 = 2
    assert punish(0.5, 0.06, 0.03) == pytest.approx(0.5)
    assert punish(0.1, -0.02, 0.03) == 1.0  # a negative accuracy loss is not punished


def test_within_a_bound_known_answers():
    # at the bound is within (floating-point error too), above is not, NaN is neither
    assert within(0.03, 0.03) and within(0.03 * (1 + 1e-12), 0.03) and within(-0.02, 0.03)
    assert not within(0.031, 0.03) and not within(math.nan, 0.03) and not over(math.nan, 0.03)
    import pandas as pd
    eps = pd.Series([0.0, 0.03, 0.0315, math.nan])
    assert within(eps, 0.03).tolist() == [True, True, False, False]
    assert over(eps, 0.03).tolist() == [False, False, True, False]


def test_punish_rejects_bad_arguments():
    with pytest.raises(ValueError, match="λ"):
        punish(1.5, 1, 1)
    with pytest.raises(ValueError, match="bound"):
        punish(0.1, 1, 0)


def test_fitness_eq11():
    assert fitness(0.9, 0.30, 0.01, 0.35, 0.03) == pytest.approx(0.9)
    assert fitness(0.9, 0.70, 0.01, 0.35, 0.03) == pytest.approx(0.09)
    assert fitness(0.9, 0.70, 0.06, 0.35, 0.03) == pytest.approx(0.009)
    assert feasible(0.35, 0.03, 0.35, 0.03) and not feasible(0.36, 0.0, 0.35, 0.03)
    with pytest.raises(ValueError, match="E_b"):
        Objective(0.0, 0.03)
    with pytest.raises(ValueError, match="eps_b"):
        Objective(0.35, 0.0)
    assert Objective(0.35, 0.03).fitness(0.9, 0.70, 0.30, 0.0) == pytest.approx(0.9)  # compute only
    assert Objective(0.35, 0.03, include_transmission=True).fitness(0.9, 0.70, 0.30, 0.0) == \
        pytest.approx(0.09)


# --- genomes -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def space() -> GenomeSpace:
    return GenomeSpace.from_net(models.build("resnet18", "cifar10"))


def test_space_matches_model(space):
    assert space.num_units == 8
    assert space.stem_layers == 1 and space.layer_names[0] == "stem.0"
    assert space.layer_names[-1].startswith("head")
    assert len(space.searchable) == 19  # 16 convs + 3 shortcuts in the blocks
    assert len(space.edge_range(7)) == 17  # the paper's "7/17" (Table 4)
    assert space.edge_counts[7] == 18  # "7/18" with the stem (Table 5)


def _check_allowed(g: Genome, space: GenomeSpace) -> None:
    assert 0 <= g.p <= space.num_units
    for i, pair in enumerate(g.bits):
        if i in space.searchable:
            assert pair[0] in WEIGHT_BITS and pair[1] in ACTIVATION_BITS
        else:
            assert pair == FP  # stem and classifier never quantized


def test_random_genome_and_mutation_respect_sets(space):
    rng = np.random.default_rng(0)
    genomes = [random_genome(space, rng) for _ in range(200)]
    for g in genomes:
        _check_allowed(g, space)
        _check_allowed(mutate(g, space, rng), space)
        _check_allowed(mutate(g, space, rng, 1.0, 1.0), space)
    assert {g.p for g in genomes} == set(range(space.num_units + 1))
    assert {g.bits[5][0] for g in genomes} == set(WEIGHT_BITS)


def test_mutation_probabilities(space):
    rng = np.random.default_rng(1)
    g = random_genome(space, rng)
    assert mutate(g, space, rng, 0.0, 0.0) == g
    children = [mutate(g, space, rng, 0.5, 0.3) for _ in range(2000)]
    p_changed = np.mean([c.p != g.p for c in children])
    assert p_changed == pytest.approx(0.5 * 8 / 9, abs=0.04)  # re-drawn w.p. 0.5, 1/9 lands on p
    changed = np.mean([[c.bits[i] != g.bits[i] for i in space.searchable] for c in children])
    assert changed == pytest.approx(0.3 * 3 / 4, abs=0.02)  # 4 weight widths, 1 activation width


def test_key_ignores_masked_entries(space):
    rng = np.random.default_rng(2)
    g = random_genome(space, rng)
    g = Genome(3, g.bits)
    bits = list(g.bits)
    last = space.edge_counts[3]  # first masked layer
    bits[last] = (2, 8) if bits[last] != (2, 8) else (4, 8)
    h = Genome(3, tuple(bits))
    assert g != h and key(g, space) == key(h, space)
    bits[space.edge_counts[3] - 1] = (2, 8) if g.bits[space.edge_counts[3] - 1] != (2, 8) else (4, 8)
    assert key(Genome(3, tuple(bits)), space) != key(g, space)  # an edge entry changes the key
    assert key(Genome(0, g.bits), space) == "p0:"
    assert key(g, space).count("w") == len(space.edge_range(3))


def test_genome_rejects_bad_entries(space):
    g = Genome.uniform(space, 2, 4)
    bad = list(g.bits)
    bad[0] = (8, 8)  # the stem
    with pytest.raises(ValueError, match="stem or the classifier"):
        key(Genome(2, tuple(bad)), space)
    bad = list(g.bits)
    bad[3] = (3, 8)
    with pytest.raises(ValueError, match="allowed"):
        key(Genome(2, tuple(bad)), space)
    with pytest.raises(ValueError, match="0..8"):
        key(Genome(9, g.bits), space)
    assert Genome.from_dict(json.loads(json.dumps(g.to_dict()))) == g


# --- a fake, deterministic set of measurements ---------------------------------------------------

SMALL = EvolutionSettings(population=8, sample=4, iterations=40, seed=3)


def test_masked_duplicates_evaluated_once(space, tmp_path):
    ev = make_evaluator(space, tmp_path / "log.jsonl")
    g = Genome.uniform(space, 2, 4)
    bits = list(g.bits)
    bits[space.edge_counts[5]] = (2, 8)  # masked at p = 2
    h = Genome(2, tuple(bits))
    a, b = ev.evaluate(g), ev.evaluate(h)
    assert a is b and ev.estimator.calls == 1 and ev.computed == 1 and ev.hits == 1
    assert len(io.read_jsonl(tmp_path / "log.jsonl")) == 1
    rec = io.read_jsonl(tmp_path / "log.jsonl")[0]
    for field in ("genome", "key", "privacy", "energy", "energy_no_tx", "eps", "fitness", "seconds"):
        assert field in rec
    assert set(rec["seconds"]) == {"accuracy", "privacy", "energy"}
    # a fresh evaluator reads the log as its cache: no new measurement
    ev2 = make_evaluator(space, tmp_path / "log.jsonl")
    assert ev2.load_log() == 1
    assert ev2.evaluate(h).fitness == a.fitness and ev2.estimator.calls == 0


def test_evolution_is_deterministic_and_steady_state(space):
    out1 = evolve(make_evaluator(space), SMALL, progress=False)
    out2 = evolve(make_evaluator(space), SMALL, progress=False)
    assert out1.history == out2.history and out1.best.key == out2.best.key
    assert len(out1.history) == SMALL.iterations + 1 and len(out1.population) == SMALL.population
    best = [h["best_fitness"] for h in out1.history]
    assert best == sorted(best)  # the best-so-far never decreases
    out3 = evolve(make_evaluator(space), EvolutionSettings(8, 4, 40, seed=4), progress=False)
    assert [h["best_key"] for h in out3.history] != [h["best_key"] for h in out1.history]


def test_evolution_follows_algorithm1(space):
    """Replay Algorithm 1 by hand with the same generator and compare the populations."""
    ev = make_evaluator(space)
    s = EvolutionSettings(population=5, sample=3, iterations=12, seed=9)
    out = evolve(ev, s, progress=False)
    rng = np.random.default_rng(9)
    pop = [random_genome(space, rng) for _ in range(5)]
    for _ in range(12):
        idx = rng.choice(5, size=3, replace=False)
        fits = [ev.fitness(pop[j]) for j in idx]
        child = mutate(pop[idx[int(np.argmax(fits))]], space, rng, s.p_mutate_partition,
                       s.p_mutate_layer)
        del pop[idx[int(np.argmin(fits))]]
        pop.append(child)
    assert pop == out.population


@pytest.mark.parametrize("kill_at", [3, 8, 9, 25])
def test_resume_after_kill_gives_identical_result(space, tmp_path, kill_at):
    ref = evolve(make_evaluator(space), SMALL, progress=False)
    state, log = tmp_path / "state.json", tmp_path / "log.jsonl"
    with pytest.raises(Killed):
        evolve(make_evaluator(space, log), SMALL, state, progress=False, hook=kill_after(kill_at))
    ev = make_evaluator(space, log)
    ev.load_log()
    out = evolve(ev, SMALL, state, progress=False)
    assert out.history == ref.history
    assert out.best.to_dict() | {"seconds": None} == ref.best.to_dict() | {"seconds": None}
    assert out.population == ref.population
    # nothing measured twice: log lines = distinct strategies
    keys = [r["key"] for r in io.read_jsonl(log)]
    assert len(keys) == len(set(keys)) == out.evaluations


def test_resume_after_kill_inside_an_evaluation(space, tmp_path):
    ref = evolve(make_evaluator(space), SMALL, progress=False)
    state, log = tmp_path / "state.json", tmp_path / "log.jsonl"
    with pytest.raises(KeyboardInterrupt):
        evolve(make_evaluator(space, log, fail_at=15), SMALL, state, progress=False)
    with open(log, "a") as f:
        f.write('{"key": "torn')  # a kill in the middle of a log write
    ev = make_evaluator(space, log)
    ev.load_log()
    out = evolve(ev, SMALL, state, progress=False)
    assert out.history == ref.history and out.best.key == ref.best.key
    assert len(io.read_jsonl(log)) == out.evaluations  # the torn line is skipped, not glued


def test_resume_refuses_other_settings(space, tmp_path):
    state = tmp_path / "state.json"
    evolve(make_evaluator(space), SMALL, state, fingerprint={"estimator": "a"}, progress=False)
    with pytest.raises(RuntimeError, match="other settings"):
        evolve(make_evaluator(space), SMALL, state, fingerprint={"estimator": "b"}, progress=False)
    longer = EvolutionSettings(8, 4, 60, seed=3)  # more iterations: continues the same search
    out = evolve(make_evaluator(space), longer, state, fingerprint={"estimator": "a"}, progress=False)
    assert out.history == evolve(make_evaluator(space), longer, progress=False).history


def test_bad_evolution_settings():
    with pytest.raises(ValueError, match="sample size"):
        EvolutionSettings(population=4, sample=5)
    with pytest.raises(ValueError, match="probability"):
        EvolutionSettings(p_mutate_layer=1.5)


# --- the real search on the smoke checkpoint -----------------------------------------------------

TINY_RUN = dict(iterations=6, population=4, sample=2)
TINY_CLI = ["--validation-images", "16", "--privacy-images", "8", "--iterations", "6",
            "--population", "4", "--sample", "2"]


@pytest.mark.slow
def test_run_end_to_end_on_smoke_checkpoint(smoke_context, tmp_path):
    from paperlib import search

    ctx = smoke_context
    out = tmp_path / "run"
    result = search.run("resnet18", settings=search.RunSettings(search=TINY_RUN), context=ctx,
                        out_dir=out, progress=False)
    b = result.best
    assert result.profile == "smoke" and result.model == "resnet18"
    assert "cifar10" in result.data and "images" in result.data  # the provenance label
    assert 0 <= b["p"] <= 8 and b["edge_blocks"] == b["p"]
    assert b["edge_conv_layers"] == len(b["layers"]) == ctx.space.edge_counts[b["p"]] - 1
    assert b["edge_conv_layers_with_stem"] == b["edge_conv_layers"] + 1
    assert all(layer["b_w"] in WEIGHT_BITS and layer["b_a"] in ACTIVATION_BITS for layer in b["layers"])
    assert b["energy_mj"] >= b["energy_no_tx_mj"] > 0 and b["privacy"] > 0
    assert b["energy_includes_transmission"] is False  # the profiles' default (compute only)
    assert b["energy_bounded_mj"] == b["energy_no_tx_mj"]
    assert b["fitness"] == pytest.approx(fitness(b["privacy"], b["energy_no_tx_mj"], b["eps"], 0.35,
                                                 result.accuracy_bound))
    assert result.settings["estimator"] == "sensitivity"
    assert result.settings["reference_estimator"] == "finetune-batches"
    assert math.isfinite(b["eps_reference"]) and b["top1"] == pytest.approx(b["top1_fp"] - b["eps_reference"])
    assert len(result.history) == TINY_RUN["iterations"] + 1
    assert {"best_fitness", "best_privacy", "best_energy"} <= set(result.history[0])
    t = result.timing
    # N + T genomes; the default search may score strategies beyond them (the baselines'
    # bisection, repairs): distinct strategies + cache hits = genomes + those extras
    assert t["genomes"] == 10 and t["cache_hits"] >= 0 and t["extra_evaluations"] >= 0
    assert t["evaluations"] + t["cache_hits"] == 10 + t["extra_evaluations"]
    assert set(t["split_share"]) == {"accuracy", "privacy", "energy", "other"}
    assert t["seconds_per_1000_iterations"] > t["search_seconds"]
    # the files: log, state, sensitivity table, result
    for name in ("evaluations.jsonl", "state.json", "sensitivity.json", "result.json"):
        assert (out / name).exists(), name
    assert search.load_result(out).to_dict() == result.to_dict()
    lines = len(io.read_jsonl(out / "evaluations.jsonl"))
    assert lines == result.evaluations
    # a rerun reloads everything: same result, nothing measured again
    again = search.run("resnet18", settings=search.RunSettings(search=TINY_RUN), context=ctx,
                       out_dir=out, progress=False)
    assert again.best == result.best and again.history == result.history
    assert len(io.read_jsonl(out / "evaluations.jsonl")) == lines
    # the sensitivity table is shared across runs of the same model and profile
    assert ctx.sensitivity_path().exists()


@pytest.mark.slow
def test_impossible_settings_fail_clearly(smoke_context, tmp_path):
    from paperlib import search

    kw = dict(context=smoke_context, out_dir=tmp_path, progress=False)

    def run(**settings):
        return search.run("resnet18", settings=search.RunSettings.of(**{**TINY_RUN, **settings}), **kw)

    with pytest.raises(ValueError, match="cheapest strategy.*stem alone"):
        run(energy_bound=0.001)  # the stem's compute is ~0.006 mJ
    with pytest.raises(ValueError, match="with transmission"):
        run(energy_bound=0.02, include_transmission=True)
    run(energy_bound=0.02, iterations=0)  # compute only: feasible
    with pytest.raises(ValueError, match="finetune, finetune-batches, sensitivity"):
        run(estimator="oracle")
    with pytest.raises(ValueError, match="sample size"):
        run(sample=5)
    with pytest.raises(ValueError, match="eps_b"):
        run(accuracy_bound=0.0)
    with pytest.raises(ValueError, match="unknown search setting"):
        run(bogus=1)
    with pytest.raises(TypeError, match="RunSettings"):
        search.run("resnet18", settings={"energy_bound": 0.35}, **kw)


@pytest.mark.slow
def test_sensitivity_table_matches_a_full_forward(smoke_context):
    """The speed trick (running only the net from the layer's unit on) changes nothing."""
    import copy

    import torch

    from paperlib.method import data, quant, train

    ctx = smoke_context
    est = ctx.estimator("sensitivity")
    est.prepare()
    val = ctx.estimator("sensitivity").ctx.validation()
    fp = train.top1(ctx.net, val)
    assert est.table["top1_fp"] == pytest.approx(fp)
    for name in ("blocks.0.conv1", "blocks.2.shortcut.0"):
        net = copy.deepcopy(ctx.net)
        parent, _, child = name.rpartition(".")
        setattr(net.get_submodule(parent), child, quant.wrap_layer(net.get_submodule(name), 2, 8))
        loss = fp - train.top1(net, val)
        assert est.table["layers"][name]["w2a8"] == pytest.approx(loss, abs=1.01 / len(val))
    # and the IR term: the output of unit 3 quantized at 8 bits
    with torch.no_grad():
        x = data.normalize(val.images, val.dataset)
        outs = __import__("paperlib").models.unit_outputs(ctx.net, x)
        z = quant.quantize_activation(outs[3], 8)
        for block in list(ctx.net.blocks)[3:]:
            z = block(z)
        top1 = (ctx.net.head(z).argmax(1) == val.labels).float().mean().item()
    assert est.table["ir"]["3"]["a8"] == pytest.approx(fp - top1, abs=1.01 / len(val))
    # additivity: one quantized layer + its IR
    g = Genome.uniform(ctx.space, 1, 8)
    bits = list(g.bits)
    bits[ctx.space.layer_names.index("blocks.0.conv1")] = (2, 8)
    g = Genome(1, tuple(bits))
    expected = (est.table["layers"]["blocks.0.conv1"]["w2a8"] + est.table["layers"]["blocks.0.conv2"]["w8a8"]
                + est.table["ir"]["1"]["a8"])
    assert est.estimate(g).eps == pytest.approx(max(0.0, expected))


def _cli(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "paperlib", "search", "--profile", "smoke", "--model", "resnet18",
            "--allow-partial-data", "--no-progress", "--out", str(out), *TINY_CLI, *extra]


@pytest.mark.slow
def test_cli_kill_and_resume_gives_the_uninterrupted_result(real_data_dir, module_results_root,
                                                            tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "PAPERLIB_RESULTS_DIR": str(module_results_root)}
    full, killed = tmp_path / "full", tmp_path / "killed"
    done = subprocess.run(_cli(full), env=env, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    assert "best: p =" in done.stdout
    proc = subprocess.Popen(_cli(killed), env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    log = killed / "evaluations.jsonl"
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None and len(io.read_jsonl(log)) < 5:
        time.sleep(0.05)
    assert proc.poll() is None, "the search finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (killed / "result.json").exists()
    resumed = subprocess.run(_cli(killed), env=env, cwd=REPO, capture_output=True, text=True,
                             timeout=900)
    assert resumed.returncode == 0, resumed.stderr
    a, b = io.read_json(full / "result.json"), io.read_json(killed / "result.json")
    assert a["best"] == b["best"] and a["history"] == b["history"]
    assert a["evaluations"] == b["evaluations"]
    keys = [r["key"] for r in io.read_jsonl(log)]
    assert len(keys) == len(set(keys))  # nothing measured twice


def test_cli_lists_the_search_settings():
    from paperlib.app.cli import build_parser

    args = build_parser().parse_args(["search", "--model", "resnet18", "--iterations", "7",
                                      "--estimator", "finetune-batches", "--accuracy-bound", "0.05"])
    assert args.set_iterations == 7 and args.set_estimator == "finetune-batches"
    assert args.set_accuracy_bound == 0.05 and args.energy_bound == 0.35
    assert args.set_include_transmission is None
    assert build_parser().parse_args(["search", "--model", "vgg11", "--include-transmission"]
                                     ).set_include_transmission is True
    with pytest.raises(SystemExit):
        build_parser().parse_args(["search", "--model", "resnet18", "--estimator", "oracle"])


def test_per_model_search_overrides_apply_only_to_that_model():
    from paperlib.method.profiles import get_profile

    smoke = get_profile("smoke")
    assert smoke.search_for("resnet50").validation_images == 16
    assert smoke.search_for("resnet18") == smoke.search
    assert smoke.search_for("resnet50").iterations == smoke.search.iterations


# --- damaged inputs and concurrent runs (docs/decisions/data-integrity.md §6, §8-§9) -----------

@pytest.mark.parametrize("argv,flag", [
    (["--accuracy-bound", "3"], "--accuracy-bound"),
    (["--accuracy-bound", "0"], "--accuracy-bound"),
    (["--accuracy-bound", "nan"], "--accuracy-bound"),
    (["--energy-bound", "0"], "--energy-bound"),
    (["--energy-bound", "-0.35"], "--energy-bound"),
    (["--energy-bound", "inf"], "--energy-bound"),
    (["--iterations", "0"], "--iterations"),
    (["--population", "-4"], "--population"),
    (["--sample", "0"], "--sample"),
    (["--lambda-energy", "1"], "--lambda-energy"),
    (["--p-mutate-layer", "1.5"], "--p-mutate-layer"),
    (["--privacy-images", "0"], "--privacy-images"),
    (["--finetune-batches", "zero"], "--finetune-batches"),
])
def test_cli_refuses_out_of_range_settings_by_name(argv, flag, capsys):
    from paperlib.app.cli import build_parser

    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["search", "--model", "resnet18", *argv])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}:" in err and argv[1] in err


def test_library_refuses_out_of_range_settings_by_name(module_results_root):
    from paperlib import search
    from paperlib.method.profiles import get_profile

    with pytest.raises(ValueError, match=r"accuracy_bound \(eps_b\) must lie in \(0, 1\).*got 3"):
        search.search_settings(get_profile("smoke"), accuracy_bound=3.0)
    with pytest.raises(ValueError, match=r"sample size S = 7.*population N = 6"):
        search.search_settings(get_profile("smoke"), sample=7)
    with pytest.raises(ValueError, match=r"population \(N\) must be >= 1, got 0"):
        search.search_settings(get_profile("smoke"), population=0)
    assert search.search_settings(get_profile("smoke"), iterations=0).iterations == 0  # T = 0: N only
    with pytest.raises(ValueError, match="eps_b"):
        Objective(0.35, 1.5)
    with pytest.raises(ValueError, match="E_b"):
        Objective(float("inf"), 0.03)
    with pytest.raises(ValueError, match="accuracy_bound"):  # before any model is loaded
        search.run("resnet18", "smoke", search.RunSettings(search={"accuracy_bound": 3.0}),
                   out_dir=module_results_root / "never")
    assert not (module_results_root / "never").exists()


def test_a_second_search_into_a_locked_folder_is_refused(module_results_root):
    from paperlib import search

    out = module_results_root / "busy"
    with io.folder_lock(out, "the first search"):
        with pytest.raises(io.FolderLockedError) as err:
            search.run("resnet18", "smoke", out_dir=out)  # refused before loading anything
    msg = str(err.value)
    assert str(out) in msg and f"pid {os.getpid()}" in msg and "the first search" in msg


def test_a_resumed_search_says_where_it_resumes(space, tmp_path, caplog):
    state, log = tmp_path / "state.json", tmp_path / "log.jsonl"

    def hook(phase, i, ev):
        if phase == "iteration" and i == 5:
            raise Killed

    with pytest.raises(Killed):
        evolve(make_evaluator(space, log), SMALL, state, progress=False, hook=hook)
    ev = make_evaluator(space, log)
    ev.load_log()
    with caplog.at_level("WARNING", logger="paperlib.search"):
        evolve(ev, SMALL, state, progress=False)
    assert f"continuing at iteration 6 of {SMALL.iterations}" in caplog.text  # 5 were done
    # the folder as config.shown_path gives it: never absolute (here outside every root: its name)
    assert f"the search in {tmp_path.name} had run 5" in caplog.text and str(tmp_path) not in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="paperlib.search"):
        evolve(make_evaluator(space, log), SMALL, state, progress=False)
    assert f"all {SMALL.iterations} iterations" in caplog.text


def test_summary_reports_this_runs_time_apart_from_the_cached_setup():
    from paperlib.search import SearchResult

    best = {"p": 3, "layers": [], "edge_conv_layers": 6, "edge_conv_layers_with_stem": 7,
            "ir_bits": 8, "energy_mj": 0.3, "energy_no_tx_mj": 0.2, "privacy": 0.7,
            "fitness": 0.7, "top1_fp": 0.6, "eps": 0.01, "eps_reference": 0.02, "top1": 0.58}
    timing = {"wall_seconds": 76.0, "setup_seconds": 30.0, "setup_cached": True,
              "search_seconds": 40.0, "reference_seconds": 6.0, "session_seconds": 46.0,
              "seconds_per_1000_iterations": 400.0}
    text = SearchResult("resnet18", "smoke", "cifar10", "d", 0, 0.35, 0.03, best,
                        timing=timing).summary()
    assert "this run 46 s" in text and "76 s" not in text.split("this run")[1].split(";")[0]
    assert "setup 30 s" in text and "cached" in text
    fresh = SearchResult("resnet18", "smoke", "cifar10", "d", 0, 0.35, 0.03, best,
                         timing={**timing, "setup_cached": False, "session_seconds": 76.0}).summary()
    assert "this run 76 s" in fresh and "cached" not in fresh


def test_truncated_state_and_reference_files_are_named(space, tmp_path):
    from paperlib.search.rescore import reference_estimate

    state = tmp_path / "state.json"
    evolve(make_evaluator(space), SMALL, state, progress=False)
    state.write_text(state.read_text()[:200])
    with pytest.raises(io.DamagedFileError) as err:
        evolve(make_evaluator(space), SMALL, state, progress=False)
    assert str(state) in str(err.value) and "delete it to restart the search" in str(err.value)
    ref = tmp_path / "reference.json"
    ref.write_text('{"abc": {"estimator": "finetune-batches", "eps": 0.0')
    with pytest.raises(io.DamagedFileError, match=rf"{ref}.*delete it"):
        reference_estimate(ref, "finetune-batches", lambda: pytest.fail("must not measure"),
                           None, "abc", 0)
