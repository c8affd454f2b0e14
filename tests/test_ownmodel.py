"""A user's own model checked before training; evaluation records keyed by their source; intact
weights never deleted (docs/decisions/data-integrity.md §10-§11, graph-and-hardware.md §8-§9)."""

from __future__ import annotations

import json
import logging
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

import fakes
from paperlib.infra import checkpoint as ckpt, config, io
from paperlib.method import graph, models
from paperlib.method.genome import GenomeSpace
from paperlib.method.models import user
from paperlib.search.evaluator import SET_ASIDE_FILE
from paperlib.search.variation import random_genome

ROOT = Path(__file__).resolve().parents[1]

LAYOUTS = {
    # the head as separate children: pooling, flatten and linear are each a partition point
    "split_head": """
        class Net(nn.Module):
            def __init__(self, n):
                super().__init__()
                self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU())
                self.block1 = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())
                self.pool = nn.AdaptiveAvgPool2d(1)
                self.flatten = nn.Flatten()
                self.fc = nn.Linear(8, n)
            def forward(self, x):
                return self.fc(self.flatten(self.pool(self.block1(self.stem(x)))))
        """,
    "no_conv": """
        class Net(nn.Module):
            def __init__(self, n):
                super().__init__()
                self.flatten = nn.Flatten()
                self.fc1 = nn.Linear(3 * 32 * 32, 16)
                self.fc2 = nn.Linear(16, n)
            def forward(self, x):
                return self.fc2(self.fc1(self.flatten(x)))
        """,
    "wrong_output": """
        class Net(nn.Module):
            def __init__(self, n):
                super().__init__()
                self.stem = nn.Conv2d(3, 8, 3, padding=1)
                self.block1 = nn.Conv2d(8, 8, 3, padding=1)
                self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, n + 1))
            def forward(self, x):
                return self.head(self.block1(self.stem(x)))
        """,
    "pool_in_blocks": """
        class Net(nn.Module):
            def __init__(self, n):
                super().__init__()
                self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
                self.block1 = nn.Sequential(nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
                self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, n))
            def forward(self, x):
                return self.head(self.block1(self.stem(x)))
        """,
    "squeeze_excitation": """
        class SE(nn.Module):
            def __init__(self, c):
                super().__init__()
                self.conv = nn.Conv2d(c, c, 3, padding=1)
                self.fc1 = nn.Conv2d(c, c // 2, 1)
                self.fc2 = nn.Conv2d(c // 2, c, 1)
            def forward(self, x):
                y = self.conv(x)
                s = torch.sigmoid(self.fc2(torch.relu(self.fc1(y.mean((2, 3), keepdim=True)))))
                return y * s
        class Net(nn.Module):
            def __init__(self, n):
                super().__init__()
                self.stem = nn.Conv2d(3, 8, 3, padding=1)
                self.block1 = SE(8)
                self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, n))
            def forward(self, x):
                return self.head(self.block1(self.stem(x)))
        """,
    "two_branch_add": """
        class Branches(nn.Module):
            def __init__(self, c):
                super().__init__()
                self.a = nn.Conv2d(c, c, 3, padding=1)
                self.b = nn.Conv2d(c, c, 1)
            def forward(self, x):
                return self.a(x) + self.b(x)
        class Net(nn.Module):
            def __init__(self, n):
                super().__init__()
                self.stem = nn.Conv2d(3, 8, 3, padding=1)
                self.block1 = Branches(8)
                self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, n))
            def forward(self, x):
                return self.head(self.block1(self.stem(x)))
        """,
}


def _spec(tmp_path: Path, name: str, body: str, fn: str = "build") -> str:
    path = tmp_path / f"{name}.py"
    path.write_text("import torch\nfrom torch import nn\n" + textwrap.dedent(body)
                    + "\ndef build(num_classes):\n    return Net(num_classes)\n")
    return f"{path}:{fn}"


@pytest.mark.parametrize("layout", ["pool_in_blocks", "squeeze_excitation", "two_branch_add"])
def test_accepted_layouts_register_with_4d_points(tmp_path, layout):
    name = user.register_from_file(_spec(tmp_path, layout, LAYOUTS[layout]))
    try:
        net = models.build(name)
        assert graph.analyse(net).num_units >= 1
    finally:
        models.MODELS.unregister(name)


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["pool_in_blocks", "squeeze_excitation", "two_branch_add"])
def test_accepted_layouts_train_and_search_from_the_cli(tmp_path, layout, synthetic_search_dir,
                                                          monkeypatch, capsys):
    """Accepted means searched: each layout trains (smoke) and a tiny search runs on it."""
    from paperlib.app import cli
    from paperlib.search import load_result

    monkeypatch.setenv("PAPERLIB_DATA_DIR", str(synthetic_search_dir))
    monkeypatch.setenv("PAPERLIB_ALLOW_PARTIAL_DATA", "1")
    monkeypatch.setenv("PAPERLIB_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    spec = _spec(tmp_path, layout, LAYOUTS[layout])
    out = tmp_path / "search"
    try:
        assert cli.main(["search", "--model", spec, "--dataset", "cifar10", "--profile", "smoke",
                         "--out", str(out), "--iterations", "2", "--population", "3",
                         "--sample", "2", "--validation-images", "8", "--privacy-images", "4",
                         "--finetune-batches", "1", "--no-progress"]) == 0
        result = load_result(out)
        assert 0 <= result.best["p"] <= models.num_units(models.build(user.model_name(spec)))
    finally:
        if user.model_name(spec) in models.MODELS:
            models.MODELS.unregister(user.model_name(spec))


@pytest.mark.parametrize("layout, words", [
    ("split_head", ["p = 3", "'flatten'", "(2, 8)", "self.head = nn.Sequential"]),
    ("no_conv", ["p = 0", "no partition point sending a feature map", "self.head"]),
    ("wrong_output", ["(2, 11)", "(2, 10)", "10 outputs"]),
])
def test_bad_layouts_refused_before_training_naming_point_and_fix(tmp_path, layout, words):
    spec = _spec(tmp_path, layout, LAYOUTS[layout])
    with pytest.raises(ValueError) as err:
        user.register_from_file(spec)
    msg = str(err.value)
    assert spec in msg, msg
    for word in words:
        assert word in msg, (word, msg)
    assert user.model_name(spec) not in models.MODELS


def test_non_module_refused_by_name(tmp_path):
    path = tmp_path / "notmodule.py"
    path.write_text("def build(num_classes):\n    return [num_classes]\n")
    with pytest.raises(ValueError, match=r"notmodule.py:build: it returned list, not an nn.Module"):
        user.register_from_file(f"{path}:build")


def test_documented_example_model_registers(tmp_path):
    """docs/own-model.md's model file goes through the same check as `--model FILE:FN`."""
    name = user.register_from_file(str(ROOT / "docs" / "examples" / "own_model.py") + ":build")
    try:
        assert graph.analyse(models.build(name)).num_units == 4  # stem's last block, 2 blocks, pool
    finally:
        models.MODELS.unregister(name)


# --- evaluation records keyed by their source ---------------------------------------------------

def _space() -> GenomeSpace:
    return GenomeSpace.from_net(models.build("cifar10cnn"))


def _evaluator(space, log, source):
    ev = fakes.make_evaluator(space, log)
    ev.source = io.json_safe(source)
    return ev


def test_records_of_another_source_are_set_aside_not_reused(tmp_path, caplog):
    space, log = _space(), tmp_path / "evaluations.jsonl"
    first = _evaluator(space, log, {"privacy_images": 8, "weights_sha256": "a"})
    genomes = [random_genome(space, np.random.default_rng(i)) for i in range(5)]
    for g in genomes:
        first.evaluate(g)
    assert len(io.read_jsonl(log)) == len({first.key(g) for g in genomes})
    same = _evaluator(space, log, {"privacy_images": 8, "weights_sha256": "a"})
    assert same.load_log() == len(first.cache) and same.set_aside == 0
    other = _evaluator(space, log, {"privacy_images": 16, "weights_sha256": "a"})
    with caplog.at_level(logging.WARNING):
        assert other.load_log() == 0
    assert other.set_aside == len(first.cache) and not other.cache
    assert str(log) in caplog.text and "privacy_images" in caplog.text
    assert "weights_sha256" not in caplog.text  # only what differed is named
    aside = tmp_path / SET_ASIDE_FILE
    assert len(io.read_jsonl(aside)) == len(first.cache) and io.read_jsonl(log) == []


def test_impossible_record_refused_by_file_and_line(tmp_path):
    space, log = _space(), tmp_path / "evaluations.jsonl"
    first = _evaluator(space, log, {"x": 1})
    first.evaluate(random_genome(space, np.random.default_rng(0)))
    rec = io.read_jsonl(log)[0]
    bad = {**rec, "genome": {**rec["genome"], "p": space.num_units + 3}}
    with open(log, "a") as f:
        f.write(json.dumps(bad) + "\n")
    with pytest.raises(ValueError, match=rf"{log}, line 2: impossible evaluation record"):
        _evaluator(space, log, {"x": 1}).load_log()


# --- intact weights are never deleted -------------------------------------------------------------

def test_damaged_metadata_leaves_the_weights_in_place(tmp_path, caplog):
    files = ckpt.CheckpointFiles(tmp_path / "m-cifar10-seed0.json")
    meta = ckpt.save(files, {"w": torch.ones(3)}, {"arch": "m"})
    weights = files.folder / meta["weights"]
    files.meta.write_text('{"arch": "m", "weig')  # torn
    with caplog.at_level(logging.WARNING):
        removed = ckpt.clean_leftovers(files)
    assert removed == [] and weights.exists()
    assert "kept" in caplog.text and str(weights) in caplog.text and str(files.meta) in caplog.text


# --- acceptance: an interrupted real search rerun with other settings ----------------------------

TINY_RUN = dict(iterations=4, population=4, sample=2, reference_estimator="sensitivity")


def _other_weights(ctx):
    """The same model with its last layer's weights scaled (and their sha256 changed with them)."""
    import copy
    import dataclasses

    net = copy.deepcopy(ctx.net)
    with torch.no_grad():
        last = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)][-1]
        last.weight.mul_(0.5)
    return dataclasses.replace(ctx, net=net, meta={**ctx.meta, "sha256": "scaled-last-conv"})


def _other_architecture(ctx):
    """The same weights in an edited model: every ReLU made in-place (same numbers, another
    traced architecture, as after editing the model's file)."""
    import copy
    import dataclasses

    net = copy.deepcopy(ctx.net)
    for module in net.modules():
        if isinstance(module, torch.nn.ReLU):
            module.inplace = not module.inplace
    return dataclasses.replace(ctx, net=net)


VARIANTS = {
    "privacy_images": (lambda ctx: ctx, {"privacy_images": 16}, "privacy_images"),
    "estimator": (lambda ctx: ctx, {"estimator": "finetune-batches", "finetune_batches": 1,
                                     "reference_estimator": "finetune-batches"}, None),
    "weights": (_other_weights, {}, "weights_sha256"),
    "architecture": (_other_architecture, {}, "architecture"),
}


@pytest.mark.slow
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_interrupted_search_rerun_with_other_settings_equals_a_clean_run(
        smoke_context, tmp_path, caplog, variant):
    """Issue 25's acceptance: a real search killed before its first checkpoint (no state.json)
    and rerun with other settings gives exactly the clean run's result, and says what it set
    aside (docs/decisions/data-integrity.md §10, §12)."""
    from paperlib import search

    make, overrides, differs = VARIANTS[variant]
    out = tmp_path / "interrupted"
    with pytest.raises(fakes.Killed):
        search.run("resnet18", settings=search.RunSettings.of(**TINY_RUN), context=smoke_context,
                   out_dir=out, progress=False, hook=fakes.kill_after(3))
    assert not (out / "state.json").exists() and len(io.read_jsonl(out / "evaluations.jsonl")) >= 2
    other = make(smoke_context)
    with caplog.at_level(logging.WARNING):
        settings = search.RunSettings.of(**{**TINY_RUN, **overrides})
        rerun = search.run("resnet18", settings=settings, context=other, out_dir=out,
                           progress=False)
    clean = search.run("resnet18", settings=settings, context=other, out_dir=tmp_path / "clean",
                       progress=False)
    assert rerun.best == clean.best and rerun.history == clean.history
    assert rerun.evaluations == clean.evaluations  # every strategy measured afresh
    if differs is None:  # records of another estimator stay in the log, unused
        assert "set aside" not in caplog.text
        assert {r["estimator"] for r in io.read_jsonl(out / "evaluations.jsonl")} == {
            "sensitivity", "finetune-batches"}
    else:
        assert "set aside" in caplog.text and differs in caplog.text, caplog.text
        assert str(out / "evaluations.jsonl") in caplog.text
        assert len(io.read_jsonl(out / SET_ASIDE_FILE)) >= 2


# --- the genetic trace of notebook 07 keyed by the records' source --------------------------------

def test_ga_trace_never_counts_a_record_of_another_source(tmp_path):
    """An old-architecture record left in the search's log is not part of the GA's trace."""
    from paperlib.search import LOG_FILE, SearchResult
    from paperlib.search.methods import ga_trace

    space, log = _space(), tmp_path / LOG_FILE
    old = _evaluator(space, log, {"architecture": "old"})
    new = _evaluator(space, log, {"architecture": "new"})
    genomes = [random_genome(space, np.random.default_rng(i)) for i in range(6)]
    old_keys = {old.evaluate(g).key for g in genomes[:3]}
    new_keys = [new.evaluate(g).key for g in genomes[3:]]
    assert old_keys.isdisjoint(new_keys) and len(io.read_jsonl(log)) == 6
    res = SearchResult(model="m", profile="smoke", dataset="cifar10", data="fake", seed=0,
                       energy_bound=0.35, accuracy_bound=0.03, best={"key": new_keys[0]},
                       history=[], timing={"genomes": 3}, settings={"estimator": "fake"},
                       evaluations=3, out_dir=str(tmp_path))
    assert [r["key"] for r in ga_trace(res, new).records] == new_keys


def test_a_trace_of_another_fingerprint_is_run_again_with_a_message(tmp_path, caplog):
    from paperlib.search.methods import SearchTrace, cached_trace

    path, runs = tmp_path / "random.json", []

    def run() -> SearchTrace:
        runs.append(1)
        return SearchTrace("random", 0, 1, [{"key": f"k{len(runs)}", "fitness": 1.0}])

    first = cached_trace(path, {"budget": 1, "source": {"architecture": "old"}}, run)
    again = cached_trace(path, {"budget": 1, "source": {"architecture": "old"}}, run)
    assert first.records == again.records and len(runs) == 1  # same fingerprint: reused
    with caplog.at_level(logging.WARNING):
        other = cached_trace(path, {"budget": 1, "source": {"architecture": "new"}}, run)
    assert len(runs) == 2 and other.records == [{"key": "k2", "fitness": 1.0}]
    assert config.shown_path(path) in caplog.text and "source" in caplog.text and "budget" not in caplog.text


# --- an edited result.json is refused by file and field -------------------------------------------

def _result_dict() -> dict:
    """A valid result.json of a p = 2 strategy (two edge conv layers after the stem)."""
    best = {**fakes.valid_best(2, layers=5), "key": "p2:w6a8,w4a8",
            "genome": {"p": 2, "bits": [[32, 32], [6, 8], [4, 8], [8, 8], [32, 32]]},
            "layers": [{"name": "blocks.0.conv", "b_w": 6, "b_a": 8},
                       {"name": "blocks.1.conv", "b_w": 4, "b_a": 8}],
            "ir_bits": 8, "edge_conv_layers": 2, "edge_conv_layers_with_stem": 3}
    return {"model": "m", "profile": "smoke", "dataset": "cifar10", "data": "cifar10", "seed": 0,
            "energy_bound": 0.35, "accuracy_bound": 0.03, "best": best,
            "settings": {"weight_bits": [2, 4, 6, 8], "activation_bits": [8]}, "evaluations": 4}


@pytest.mark.parametrize("edit, field", [
    (lambda d: d["best"].pop("privacy"), "best.privacy"),
    (lambda d: d.pop("energy_bound"), "energy_bound"),
    (lambda d: d["best"].update(p=-1), "best.p"),
    (lambda d: d["best"].update(p=3), "best.genome"),  # the genome says p = 2
    (lambda d: d["best"]["layers"][1].update(b_w=5), "best.layers[1]"),
    (lambda d: d["best"]["genome"]["bits"].__setitem__(2, [3, 8]), "best.genome.bits[2]"),
    (lambda d: d["best"].update(energy_mj=float("nan")), "best.energy_mj"),
    (lambda d: d["best"]["layers"].pop(), "best.layers"),
])
def test_an_edited_result_is_refused_naming_file_and_field(tmp_path, edit, field):
    from paperlib.search import load_result

    good = _result_dict()
    io.write_json(tmp_path / "result.json", good)
    assert load_result(tmp_path).best == good["best"]
    bad = _result_dict()
    edit(bad)
    path = tmp_path / "result.json"
    path.write_text(json.dumps(bad))  # json.dumps writes NaN as the file would after an edit
    with pytest.raises(ValueError) as err:
        load_result(tmp_path)
    assert str(path) in str(err.value) and f"field {field!r}" in str(err.value), str(err.value)


# --- paperlib points ------------------------------------------------------------------------------

def test_points_of_vgg11_hand_computed(capsys):
    """VGG11's stem: a 3->64 3x3 conv on 32x32 (32·32·64 outputs × 27 MACs = 1,769,472), then a
    2x2 max-pool: the IR at p = 0 is (64, 16, 16), 16,384 elements, 131,072 bits at 8 bit. Block 1
    adds a 64->128 3x3 conv on 16x16 (16·16·128 × 576 = 18,874,368 MACs) and pools to (128, 8, 8)."""
    from paperlib.app import cli
    from paperlib.method import points

    pts = points.partition_points(models.build("vgg11"))
    assert len(pts) == 8 and pts[0].module == "stem"
    assert pts[0].ir_shape == (64, 16, 16) and pts[0].edge_macs == 32 * 32 * 64 * 27
    assert pts[0].bits_sent(8) == 64 * 16 * 16 * 8 and pts[0].bits_sent(32) == 64 * 16 * 16 * 32
    assert pts[1].ir_shape == (128, 8, 8)
    assert pts[1].edge_macs == 32 * 32 * 64 * 27 + 16 * 16 * 128 * 576
    assert cli.main(["points", "--model", "vgg11"]) == 0
    out = capsys.readouterr().out
    assert "vgg11: 8 partition points" in out and "(64, 16, 16)" in out and "1,769,472" in out
    assert "131,072" in out and "524,288" in out


def test_points_of_a_model_file(tmp_path, capsys):
    from paperlib.app import cli

    spec = _spec(tmp_path, "pool_in_blocks", LAYOUTS["pool_in_blocks"])
    try:
        assert cli.main(["points", "--model", spec]) == 0
    finally:
        models.MODELS.unregister(user.model_name(spec))
    out = capsys.readouterr().out
    # stem: 3->8 3x3 conv on 32x32 (32·32·8 × 27 MACs), pooled to (8, 16, 16)
    assert "(8, 16, 16)" in out and f"{32 * 32 * 8 * 27:,}" in out and "(16, 8, 8)" in out


def test_ctrl_c_prints_one_line_and_exits_130(monkeypatch, capsys):
    from paperlib.app import cli

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "cmd_points", interrupted)
    assert cli.main(["points", "--model", "vgg11"]) == 130
    assert capsys.readouterr().err == "interrupted; rerun the same command to resume\n"


def test_summary_says_infeasible_and_by_how_much():
    from paperlib.search import SearchResult

    d = _result_dict()
    ok = SearchResult.from_dict(d)
    assert "INFEASIBLE" not in ok.summary()
    d["best"].update(feasible=False, energy_bounded_mj=0.42, eps=0.05)
    lines = SearchResult.from_dict(d).summary().splitlines()
    assert lines[-1].startswith("INFEASIBLE")
    # 0.42 − 0.35 = 0.07 mJ (20.0 % over), 0.05 − 0.03 = 0.02
    assert "energy 0.4200 mJ exceeds E_b = 0.35 mJ by 0.0700 mJ (20.0%)" in lines[-1]
    assert "eps 0.0500 exceeds eps_b = 0.03 by 0.0200" in lines[-1]
    d["best"].update(eps=0.01)
    assert "eps_b" not in SearchResult.from_dict(d).summary().splitlines()[-1]


# --- a damaged state.json is named with the fix ----------------------------------------------------

@pytest.mark.parametrize("edit, problem", [
    (lambda s: [], "a list, not a saved search"),
    (lambda s: {k: v for k, v in s.items() if k != "rng"}, "field 'rng' is missing"),
    (lambda s: {**s, "iteration": "three"}, "field 'iteration' is 'three'"),
    (lambda s: {**s, "population": [{"p": 99, "bits": []}] + s["population"][1:]},
     "field 'population'[0] is not a strategy of this model"),
])
def test_a_damaged_state_names_the_file_and_the_fix(tmp_path, edit, problem):
    from paperlib.search import EvolutionSettings, evolve

    space, state = _space(), tmp_path / "state.json"
    small = EvolutionSettings(population=4, sample=2, iterations=3, seed=0)
    evolve(fakes.make_evaluator(space), small, state, progress=False)
    io.write_json(state, edit(io.read_json(state)))
    with pytest.raises(io.DamagedFileError) as err:
        evolve(fakes.make_evaluator(space), small, state, progress=False)
    msg = str(err.value)
    assert str(state) in msg and problem in msg and "delete it to restart the search" in msg, msg


def test_a_garbage_trace_row_is_named_by_file_and_line(tmp_path):
    from paperlib.network import traces

    path = tmp_path / "mine.up"
    path.write_text("1\n2\n2\nfoo bar\n5\n")
    with pytest.raises(traces.TraceError) as err:
        traces.read_file(path, "lte")
    assert f"{path}: not a Mahimahi trace: line 4 is 'foo bar'" in str(err.value)


def test_notebook_06_says_its_P_uses_other_images_than_notebook_04():
    cells = json.loads((ROOT / "notebooks" / "06_inversion_attack.ipynb").read_text())["cells"]
    text = next("".join(c["source"]) for c in cells if c["cell_type"] == "markdown"
                and "".join(c["source"]).startswith("## Is the searched strategy harder"))
    assert "notebook 04" in text and "privacy_images" in text and "prof.attack.test_images" in text
