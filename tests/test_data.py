"""paperlib.method.data: integrity checks, the partial-copy opt-in, loader shapes and augmentation."""

from __future__ import annotations

import json
import os
import pickle
import shutil

import numpy as np
import pytest
import torch

from paperlib.method import data


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
    with pytest.raises(data.DataError, match="test_batch is damaged"):  # the manifest sees it
        data.load("cifar10", "test", root=root, allow_partial=True)
    (root / data.MANIFEST_FILE).unlink()  # unverified: the reader still refuses it
    with pytest.raises(data.DataError, match="not a CIFAR python-version pickle"):
        data.load("cifar10", "test", root=root, allow_partial=True)


def test_wrong_shape_is_refused_even_when_partial_is_allowed(synthetic_dir, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(synthetic_dir, root)
    bad = {"data": np.zeros((4, 100), dtype=np.uint8), "labels": [0, 1, 2, 3]}
    with open(root / "cifar-10-batches-py" / "test_batch", "wb") as f:
        pickle.dump(bad, f)
    (root / data.MANIFEST_FILE).unlink()
    with pytest.raises(data.DataError, match="3072"):
        data.load("cifar10", "test", root=root, allow_partial=True)


def test_md5_is_cached(synthetic_dir, monkeypatch):
    path = synthetic_dir / "cifar-10-batches-py" / "test_batch"
    first = data.file_md5(path)
    monkeypatch.setattr(data.io, "file_digest", lambda *a: pytest.fail("md5 recomputed"))
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


# --- damaged inputs: partial copies verified by their manifest (docs/decisions/data-integrity.md §1)

def _flip_bytes(path, n: int = 1000) -> None:
    """Invert ``n`` bytes in the middle of ``path`` (inside the pixel array of a CIFAR batch)."""
    raw = bytearray(path.read_bytes())
    start = len(raw) // 2 - n // 2
    raw[start:start + n] = bytes(b ^ 0xFF for b in raw[start:start + n])
    path.write_bytes(bytes(raw))


def _damaged_copy(source, tmp_path, batch: str = "data_batch_2"):
    root = tmp_path / "damaged"
    shutil.copytree(source / "cifar-10-batches-py", root / "cifar-10-batches-py")
    if (source / data.MANIFEST_FILE).exists():
        shutil.copy(source / data.MANIFEST_FILE, root / data.MANIFEST_FILE)
    path = root / "cifar-10-batches-py" / batch
    _flip_bytes(path)
    data._read_batch(data.spec("cifar10"), path)  # still a loadable pickle: only a checksum sees it
    return root


def test_synthetic_copy_carries_a_manifest_and_loads_verified(synthetic_dir, caplog):
    manifest = json.loads((synthetic_dir / data.MANIFEST_FILE).read_text())
    assert manifest["images"]["cifar-10-batches-py/test_batch"] == 20
    assert manifest["md5"]["cifar-100-python/meta"] == data.file_md5(synthetic_dir / "cifar-100-python" / "meta")
    data._load.cache_clear()
    with caplog.at_level("WARNING", logger="paperlib.method.data"):
        train = data.load("cifar10", "train", root=synthetic_dir, allow_partial=True)
        test = data.load("cifar10", "test", root=synthetic_dir, allow_partial=True)
    assert train.partial and train.verified
    assert "UNVERIFIED" not in data.provenance(train, test)
    assert "UNVERIFIED" not in caplog.text


@pytest.mark.parametrize("allow", [True, False])
def test_flipped_bytes_in_one_batch_are_refused_naming_that_batch(synthetic_dir, tmp_path, allow):
    root = _damaged_copy(synthetic_dir, tmp_path)
    with pytest.raises(data.DataError) as err:
        data.load("cifar10", "train", root=root, allow_partial=allow)
    msg = str(err.value)
    assert "data_batch_2" in msg and "data_batch_1" not in msg
    assert data.MANIFEST_FILE in msg and "damaged" in msg
    data.load("cifar10", "test", root=root, allow_partial=True)  # the undamaged split still loads


def test_flipped_bytes_in_the_real_partial_copy_are_refused(real_data_dir, tmp_path):
    if not (real_data_dir / data.MANIFEST_FILE).exists():
        pytest.skip(f"{real_data_dir} has no {data.MANIFEST_FILE}")
    clean = data.load("cifar10", "train", root=real_data_dir, allow_partial=True)
    assert clean.verified
    root = _damaged_copy(real_data_dir, tmp_path)
    for allow in (True, False):
        with pytest.raises(data.DataError, match=r"data_batch_2.*damaged"):
            data.load("cifar10", "train", root=root, allow_partial=allow)


def test_partial_copy_without_manifest_is_loudly_unverified(synthetic_dir, tmp_path, caplog):
    root = tmp_path / "nomanifest"
    shutil.copytree(synthetic_dir / "cifar-10-batches-py", root / "cifar-10-batches-py")
    with caplog.at_level("WARNING", logger="paperlib.method.data"):
        train = data.load("cifar10", "train", root=root, allow_partial=True)
        test = data.load("cifar10", "test", root=root, allow_partial=True)
    assert train.partial and not train.verified
    assert "UNVERIFIED" in caplog.text and data.MANIFEST_FILE in caplog.text
    assert data.provenance(train, test) == "cifar10, UNVERIFIED partial data: 50 train / 20 test images"
    assert data.provenance(data.subset(train, 10), test).startswith("cifar10, UNVERIFIED")
    with pytest.raises(data.DataError, match=r"data_batch_1 and 5 more.*does not match the official md5"):
        data.load("cifar10", "train", root=root, allow_partial=False)


def test_manifest_image_count_must_match(synthetic_dir, tmp_path):
    root = tmp_path / "count"
    shutil.copytree(synthetic_dir, root)
    manifest = json.loads((root / data.MANIFEST_FILE).read_text())
    manifest["images"]["cifar-10-batches-py/test_batch"] = 21
    (root / data.MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(data.DataError, match=r"test_batch.*20 images.*21"):
        data.load("cifar10", "test", root=root, allow_partial=True)


def test_damaged_manifest_is_named(synthetic_dir, tmp_path):
    root = tmp_path / "badmanifest"
    shutil.copytree(synthetic_dir, root)
    (root / data.MANIFEST_FILE).write_text('{"md5": {"cifar-10-batches-py/test_')
    with pytest.raises(RuntimeError, match=r"MANIFEST\.json is damaged"):
        data.load("cifar10", "test", root=root, allow_partial=True)


def test_md5_cache_notices_a_rewrite_with_the_same_size_and_mtime(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"a" * 100)
    first = data.file_md5(path)
    st = path.stat()
    path.write_bytes(b"b" * 100)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # as `cp -p` or `touch -r` would
    assert data.file_md5(path) != first
