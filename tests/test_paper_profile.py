"""The ``paper`` profile proven without a GPU: its stages on a synthetic CIFAR-100 copy in the
official format, with only the sizes scaled down (:func:`paperlib.method.profiles.scaled`;
docs/decisions/scale.md §5)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from paperlib.method.profiles import PROFILES, SearchSettings, TrainRecipe, scaled

PAPER = PROFILES["paper"]


def test_scaled_changes_only_sizes():
    small = scaled(PAPER, epochs=1, images=32, iterations=2, population=3, sample=2)
    assert small.name == "paper-scaled"
    assert small.search_models == PAPER.search_models == ("resnet18", "resnet50", "mobilenet")
    assert small.dataset == PAPER.dataset and small.dataset_for("resnet18") == "cifar100"
    assert small.search.estimator == small.search.reference_estimator == "finetune"
    sizes = {"iterations", "population", "sample", "finetune_batches", "validation_images",
             "privacy_images"}
    for f in dataclasses.fields(SearchSettings):
        if f.name not in sizes:
            assert getattr(small.search, f.name) == getattr(PAPER.search, f.name), f.name
    assert (small.search.iterations, small.search.population, small.search.sample) == (2, 3, 2)
    for model in ("vgg11", "resnet18"):
        big, r = PAPER.recipe(model), small.recipe(model)
        assert (r.epochs, r.train_images, r.test_images) == (1, 32, 32)
        assert dataclasses.replace(r, epochs=big.epochs, train_images=big.train_images,
                                   test_images=big.test_images) == big
    assert isinstance(small.recipe("resnet50"), TrainRecipe)
    with pytest.raises(ValueError, match="sample"):
        scaled(PAPER, population=2, sample=3)


@pytest.fixture(scope="module")
def paper_env(tmp_path_factory):
    """Synthetic CIFAR-100 (official format) and private output folders."""
    import subprocess
    import sys

    root = tmp_path_factory.mktemp("paper")
    data = root / "data"
    subprocess.run([sys.executable, "-m", "paperlib", "data", "--synthetic", str(data)], check=True,
                   capture_output=True)
    return root, data


@pytest.mark.slow
@pytest.mark.parametrize("model", PAPER.search_models)
def test_scaled_paper_search_runs_every_stage(paper_env, monkeypatch, model):
    """Training (the paper recipe), the finetune estimator in the search and as the reference,
    result.json, for each of the paper's searched models, on CIFAR-100."""
    from paperlib import search

    root, data = paper_env
    monkeypatch.setenv("PAPERLIB_DATA_DIR", str(data))
    monkeypatch.setenv("PAPERLIB_ALLOW_PARTIAL_DATA", "1")
    monkeypatch.setenv("PAPERLIB_CHECKPOINT_DIR", str(root / "ckpt"))
    monkeypatch.setenv("PAPERLIB_RESULTS_DIR", str(root / "results"))
    prof = scaled(PAPER, epochs=1, images=32, iterations=2, population=3, sample=2)
    result = search.run(model, prof, seed=0, progress=False)
    saved = json.loads((Path(result.out_dir) / "result.json").read_text())
    assert saved["settings"]["estimator"] == "finetune"
    assert result.evaluations >= 3 and 0 <= result.best["p"]
    assert result.dataset == "cifar100"
