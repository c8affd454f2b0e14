"""Shared fixtures: where the real (possibly partial) CIFAR copy is, and tiny synthetic copies."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from paperlib.method import data


# What tests write lives under their own root, never where a user's runs write
# (docs/decisions/reporting.md §5): ``$PAPERLIB_TEST_ROOT`` when set (``make test`` sets one per
# data folder, so checkpoints are reused between runs), else a fresh temporary folder.
TEST_ROOT_ENV = "PAPERLIB_TEST_ROOT"
ISOLATED_DIRS = {"PAPERLIB_CHECKPOINT_DIR": "checkpoints", "PAPERLIB_RESULTS_DIR": "results",
                 "PAPERLIB_FIGURES_DIR": "figures", "PAPERLIB_CACHE_DIR": "cache"}


@pytest.fixture(autouse=True, scope="session")
def isolated_root(tmp_path_factory) -> Path:
    """The tests' own root for checkpoints, results, figures and the md5 cache; float32 on the CPU."""
    given = os.environ.get(TEST_ROOT_ENV, "").strip()
    root = Path(given) if given else tmp_path_factory.mktemp("paperlib-test-root")
    with pytest.MonkeyPatch.context() as mp:
        for var, sub in ISOLATED_DIRS.items():
            mp.setenv(var, str(root / sub))
        # plain float32 whether or not the CPU has bf16 instructions, so known answers hold bit
        # for bit on any one CPU; tests of bf16 ask for it (docs/decisions/scale.md §6)
        mp.setenv("PAPERLIB_CPU_BF16", "off")
        yield root


@pytest.fixture()
def results_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep a test's searches, sensitivity tables and attacks out of the repository's results/."""
    monkeypatch.setenv("PAPERLIB_RESULTS_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture(scope="module")
def module_results_root(tmp_path_factory) -> Path:
    """Keep a module's searches and sensitivity tables out of the repository's results/ (module
    scope: the real searches of one test module share one sensitivity table)."""
    with pytest.MonkeyPatch.context() as mp:
        root = tmp_path_factory.mktemp("results")
        mp.setenv("PAPERLIB_RESULTS_DIR", str(root))
        yield root


# the smoke ResNet18 context of the real searches (tests/test_search.py, tests/test_ownmodel.py)
SMOKE_CONTEXT = dict(validation_images=16, privacy_images=8)


@pytest.fixture(scope="module")
def smoke_context(real_data_dir, module_results_root):
    from paperlib import search

    return search.build_context("resnet18", "smoke", allow_partial=True, progress=False,
                                **SMOKE_CONTEXT)


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """``$PAPERLIB_DATA_DIR`` when it holds genuine CIFAR (full or partial), else skip."""
    root = data.data_dir()
    if not (root / "cifar-10-batches-py" / "test_batch").exists():
        pytest.skip(f"no CIFAR copy in {root}; set PAPERLIB_DATA_DIR")
    if (root / "SYNTHETIC").exists():
        pytest.skip(f"{root} is a synthetic copy")
    return root


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory) -> Path:
    """A tiny synthetic CIFAR-10 and CIFAR-100 in the official layout (md5 never matches)."""
    root = tmp_path_factory.mktemp("synthetic-cifar")
    data.write_synthetic(root, "cifar10", n_train=50, n_test=20, seed=1)
    data.write_synthetic(root, "cifar100", n_train=30, n_test=10, seed=2)
    return root


@pytest.fixture(scope="session")
def synthetic_search_dir(tmp_path_factory) -> Path:
    """A synthetic CIFAR-10 with enough test images for a search: the fewest whose report split
    holds the 100 images every reported number needs (docs/decisions/paper-method.md §9)."""
    from paperlib.method.evaluation_split import min_test_images

    root = tmp_path_factory.mktemp("synthetic-search-cifar")
    data.write_synthetic(root, "cifar10", n_train=50, n_test=min_test_images(), seed=1)
    return root


@pytest.fixture()
def one_thread():
    """Small CPU workloads run many times faster on one thread when the cores are shared
    (``pytestmark = pytest.mark.usefixtures("one_thread")`` in a test module)."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
