"""paperlib.data: integrity checks, the partial-copy opt-in, loader shapes and augmentation."""

from __future__ import annotations

import json
import pickle
import shutil

import numpy as np
import pytest
import torch

from paperlib import data


def test_synthetic_copy_is_refused_without_opt_in(synthetic_dir, monkeypatch):
    monkeypatch.delenv(data.PARTIAL_ENV, raising=False)
    with pytest.raises(data.DataError) as err:
        data.load("cifar10", "train", root=synthetic_dir, allow_partial=None)
    msg = str(err.value)
    assert "does not match the official md5" in msg
    assert data.PARTIAL_ENV in msg and "make data" in msg


def test_opt_in_by_environment(synthetic_dir, monkeypatch):
    monkeypatch.setenv(data.PARTIAL_ENV, "1")
    ds = data.load("cifar10", "test", root=synthetic_dir)
    assert ds.partial and len(ds) == 20


@pytest.mark.parametrize("name,n_train,n_test,classes", [("cifar10", 50, 20, 10), ("cifar100", 30, 10, 100)])
def test_synthetic_shapes_and_labels(synthetic_dir, name, n_train, n_test, classes):
    train = data.load(name, "train", root=synthetic_dir, allow_partial=True)
    test = data.load(name, "test", root=synthetic_dir, allow_partial=True)
    assert train.images.shape == (n_train, 3, 32, 32) and train.images.dtype == torch.uint8
    assert test.labels.dtype == torch.int64 and len(test) == n_test
    assert 0 <= int(train.labels.min()) and int(train.labels.max()) < classes
    assert train.num_classes == classes and len(train.classes) == classes
    assert data.provenance(train, test) == f"{name}, partial data: {n_train} train / {n_test} test images"


def test_matching_md5_is_accepted_as_full(synthetic_dir, monkeypatch):
    s = data.spec("cifar10")
    official = {f: data.file_md5(synthetic_dir / s.folder / f) for f in s.md5}
    monkeypatch.setitem(data.CIFAR, "cifar10", data.CifarSpec(**{**s.__dict__, "md5": official}))
    data._load.cache_clear()
    ds = data.load("cifar10", "test", root=synthetic_dir, allow_partial=False)
    assert not ds.partial
    data._load.cache_clear()


def test_missing_file_names_it_and_the_fix(synthetic_dir, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(synthetic_dir, root)
    (root / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(data.DataError, match=r"missing file .*data_batch_3.*make data"):
        data.load("cifar10", "train", root=root, allow_partial=True)


def test_corrupted_file_is_refused(synthetic_dir, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(synthetic_dir, root)
    (root / "cifar-10-batches-py" / "test_batch").write_bytes(b"not a pickle")
    with pytest.raises(data.DataError, match="not a CIFAR python-version pickle"):
        data.load("cifar10", "test", root=root, allow_partial=True)


def test_wrong_shape_is_refused_even_when_partial_is_allowed(synthetic_dir, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(synthetic_dir, root)
    bad = {"data": np.zeros((4, 100), dtype=np.uint8), "labels": [0, 1, 2, 3]}
    with open(root / "cifar-10-batches-py" / "test_batch", "wb") as f:
        pickle.dump(bad, f)
    with pytest.raises(data.DataError, match="3072"):
        data.load("cifar10", "test", root=root, allow_partial=True)


def test_md5_is_cached(synthetic_dir, monkeypatch):
    path = synthetic_dir / "cifar-10-batches-py" / "test_batch"
    first = data.file_md5(path)
    monkeypatch.setattr(data.hashlib, "md5", lambda: pytest.fail("md5 recomputed"))
    assert data.file_md5(path) == first


def test_unknown_names():
    with pytest.raises(ValueError, match="cifar10, cifar100"):
        data.load("mnist", "train")
    with pytest.raises(ValueError, match="'train' or 'test'"):
        data.load("cifar10", "validation", allow_partial=True)


@pytest.mark.parametrize("name,classes", [("cifar10", 10), ("cifar100", 100)])
def test_real_copy_shapes_labels_and_provenance(real_data_dir, name, classes):
    train = data.load(name, "train", root=real_data_dir, allow_partial=True)
    test = data.load(name, "test", root=real_data_dir, allow_partial=True)
    manifest = real_data_dir / "MANIFEST.json"
    if manifest.exists():  # the shared partial copy documents its image counts
        counts = json.loads(manifest.read_text())["images"]
        folder = data.spec(name).folder
        expected = sum(n for f, n in counts.items() if f.startswith(folder) and "test" not in f)
        assert len(train) == expected and train.partial
        assert "partial data" in data.provenance(train, test)
    assert train.images.shape[1:] == (3, 32, 32)
    assert int(train.labels.min()) >= 0 and int(train.labels.max()) == classes - 1
    x, y = next(data.batches(train, 64, shuffle=True, augment_images=True))
    assert x.shape == (64, 3, 32, 32) and x.dtype == torch.float32 and y.shape == (64,)
    assert abs(float(x.mean())) < 0.5  # normalised


def test_batches_cover_the_split_once(synthetic_dir):
    ds = data.load("cifar10", "train", root=synthetic_dir, allow_partial=True)
    ys = torch.cat([y for _, y in data.batches(ds, 16, shuffle=True, seed=3)])
    assert torch.equal(ys.sort().values, ds.labels.sort().values)
    assert sum(len(y) for _, y in data.batches(ds, 16, drop_last=True)) == 48


def test_augment_crops_and_flips_per_image():
    images = torch.full((64, 3, 32, 32), 200, dtype=torch.uint8)
    out = data.augment(images, torch.Generator().manual_seed(0))
    assert out.shape == images.shape
    assert set(out.unique().tolist()) <= {0, 200}  # the image or the zero padding
    assert (out == 0).any() and (out == 200).any()
    ramp = torch.arange(32, dtype=torch.uint8).repeat(1, 3, 32, 1)  # x coordinate as the value
    outs = data.augment(ramp.repeat(256, 1, 1, 1), torch.Generator().manual_seed(1))
    rows = outs[:, 0, 16]  # a middle row: increasing (kept) or decreasing (flipped)
    inc = (rows[:, 5:-5].diff() == 1).all(1)
    dec = (rows[:, 5:-5].diff() == -1).all(1)
    assert (inc | dec).all() and 0.3 < dec.float().mean() < 0.7


def test_subset_is_deterministic(synthetic_dir):
    ds = data.load("cifar10", "train", root=synthetic_dir, allow_partial=True)
    a, b = data.subset(ds, 10, seed=5), data.subset(ds, 10, seed=5)
    assert torch.equal(a.images, b.images) and len(a) == 10
    assert data.subset(ds, None) is ds
