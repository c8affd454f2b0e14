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
from paperlib.infra import checkpoint as ckpt, io
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
