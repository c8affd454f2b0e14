"""The ``paper`` profile proven without a GPU: its stages on a synthetic CIFAR-100 copy in the
official format, with only the sizes scaled down (:func:`paperlib.method.profiles.scaled`;
docs/decisions/scale.md §5)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from paperlib.method.constants import ENERGY_BOUND_MJ
from paperlib.method.evaluation_split import min_test_images
from paperlib.method.profiles import PROFILES, SearchSettings, TrainRecipe, resolve_profile, scaled

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
        # the test images stay enough for a report split of 100 (paper-method.md §9)
        assert (r.epochs, r.train_images, r.test_images) == (1, 32, min_test_images())
        assert dataclasses.replace(r, epochs=big.epochs, train_images=big.train_images,
                                   test_images=big.test_images) == big
    assert isinstance(small.recipe("resnet50"), TrainRecipe)
    # the attacks: one epoch and a few iterations on 16 of their own images, the rest the paper's
    assert small.attack.attacks == {
        "inverse-network": {"epochs": 1, "query_images": 16},
        "rmle": {"iterations": 5},
        "shadow": {"labelled_images": 16, "epochs": 1, "rmle_iterations": 5}}
    assert PAPER.attack.attacks == {"inverse-network": {"epochs": 30}}  # unchanged
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
    result = search.run(model, prof, search.RunSettings(seed=0), progress=False)
    saved = json.loads((Path(result.out_dir) / "result.json").read_text())
    assert saved["settings"]["estimator"] == "finetune"
    assert result.evaluations >= 3 and 0 <= result.best["p"]
    assert result.dataset == "cifar100"


def test_resolve_profile_takes_a_name_a_profile_or_none(monkeypatch):
    assert resolve_profile("smoke") is PROFILES["smoke"]
    assert resolve_profile(PAPER) is PAPER
    monkeypatch.setenv("PAPERLIB_PROFILE", "quick")
    assert resolve_profile(None) is PROFILES["quick"]
    with pytest.raises(ValueError, match="unknown profile 'nope'"):
        resolve_profile("nope")
    with pytest.raises(TypeError, match="profile must be"):
        resolve_profile(3)


def test_every_plan_is_part_of_the_profile():
    smoke, quick = PROFILES["smoke"], PROFILES["quick"]
    assert smoke.comparison.models == ("resnet18",) and smoke.comparison.front_budget == 30
    assert smoke.comparison.front_seeds == (0, 1)  # CI stays fast
    # the front comparison can answer (docs/decisions/scale.md §4): >= 300 strategies per seed
    # for each method at quick, NSGA-II with population 20 for ~15 generations, >= 5 seeds
    assert quick.comparison.front_budget >= 300 and quick.comparison.front_pop_size == 20
    assert quick.comparison.front_budget >= 15 * quick.comparison.front_pop_size
    assert len(quick.comparison.front_seeds) >= 5 and len(PAPER.comparison.front_seeds) >= 5
    assert quick.comparison.budget == 60 and PAPER.comparison.budget is None
    assert smoke.network.traces == ("Verizon-LTE-short", "TMobile-UMTS-driving")
    assert smoke.network.duration_ms == 60_000.0 and PAPER.network.traces is None
    assert quick.energy_sweep.bounds == (ENERGY_BOUND_MJ, 0.75)
    assert quick.energy_sweep.overrides == {"iterations": 100}
    assert PAPER.energy_sweep.bounds == (0.15, 0.2, 0.25, ENERGY_BOUND_MJ, 0.5, 0.75, 1.0)
    # the defences' values: the registrations' (the paper's), smoke and quick override some
    assert PAPER.defence.sweeps == {}
    # at quick, three strengths of noise, dropout and DataMix at the sweep point, three points
    # (docs/decisions/defences.md §13)
    assert quick.defence.sweeps["noise"] == {"kind": ("gaussian",), "strength": (0.5, 1.0, 2.0)}
    assert all(len(v) >= 3 for name in ("dropout", "datamix")
               for v in quick.defence.sweeps[name].values())
    assert quick.defence.points >= 3 and not quick.defence.full_grid and PAPER.defence.full_grid
    # the defences' own settings: their types' defaults in paper, smaller budgets elsewhere; at
    # quick the maxima of trainings that stop at a plateau (defences.md §12)
    assert PAPER.defence.defences == {}
    assert quick.defence.defences == {"datamix": {"epochs": 6, "images": 256},
                                      "proactive": {"rounds": 6, "images": 512}}
