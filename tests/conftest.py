"""Shared fixtures: where the real (possibly partial) CIFAR copy is, and tiny synthetic copies."""

from __future__ import annotations

from pathlib import Path

import pytest

from paperlib import data


@pytest.fixture(autouse=True, scope="session")
def _isolated_md5_cache(tmp_path_factory):
    """Keep the tests' md5 cache out of the user's home."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPERLIB_CACHE_DIR", str(tmp_path_factory.mktemp("md5cache")))
        yield


@pytest.fixture()
def results_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep a test's searches, sensitivity tables and attacks out of the repository's results/."""
    monkeypatch.setenv("PAPERLIB_RESULTS_DIR", str(tmp_path))
    return tmp_path


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
