"""CIFAR-10 / CIFAR-100 from the official "python version" files, held in memory as uint8 tensors.

* Location: ``$PAPERLIB_DATA_DIR``, else the repository's ``data/`` folder (``paperlib.infra.config``).
* Every file is checked on first use (md5 cached per file identity, size and times):
  - official md5: the full, genuine file;
  - else, a ``MANIFEST.json`` beside the data folders (``{"md5": {"<folder>/<file>": md5},
    "images": {"<folder>/<file>": count}}``, the format of the shared partial copy) that lists the
    file with this md5: a *verified partial copy*;
  - a manifest that lists the file with another md5: the file is *damaged* and refused, always,
    with an error naming it;
  - no manifest entry: an *UNVERIFIED* copy (a damaged file would go unnoticed).
  Anything but the official files is refused unless the user opts in with
  ``PAPERLIB_ALLOW_PARTIAL_DATA=1`` (or ``allow_partial=True``); results computed from an accepted
  copy carry ``provenance(...)``: "partial data: N train / M test images", with "UNVERIFIED" in
  front when no manifest vouched for it (docs/decisions/data-integrity.md §1).
* Batches are slices of the in-memory tensors; augmentation (random crop with 4-pixel zero padding,
  horizontal flip) is applied to the whole batch at once.
"""

from __future__ import annotations

import logging
import os
import pickle
import tarfile
import tempfile
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from torch import nn

from ..infra import config, io

log = logging.getLogger(__name__)
# the notice that a verified partial copy is in use: said by the process that loads the data; the
# workers of a process pool, which load it again, are quiet about it (infra.executors)
partial_log = logging.getLogger(f"{__name__}.partial")

REPO_ROOT = config.REPO_ROOT
PARTIAL_ENV = "PAPERLIB_ALLOW_PARTIAL_DATA"
MANIFEST_FILE = "MANIFEST.json"


@dataclass(frozen=True)
class CifarSpec:
    name: str
    folder: str
    url: str
    archive_md5: str
    train_files: tuple[str, ...]
    test_files: tuple[str, ...]
    meta_file: str
    md5: dict[str, str]  # official md5 of every file in the folder
    label_key: str
    num_classes: int
    train_size: int
    test_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    class_key: str = field(default="label_names")


CIFAR = {
    "cifar10": CifarSpec(
        name="cifar10",
        folder="cifar-10-batches-py",
        url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        archive_md5="c58f30108f718f92721af3b95e74349a",
        train_files=tuple(f"data_batch_{i}" for i in range(1, 6)),
        test_files=("test_batch",),
        meta_file="batches.meta",
        md5={
            "data_batch_1": "c99cafc152244af753f735de768cd75f",
            "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
            "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
            "data_batch_4": "634d18415352ddfa80567beed471001a",
            "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
            "test_batch": "40351d587109b95175f43aff81a1287e",
            "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
        },
        label_key="labels",
        num_classes=10,
        train_size=50_000,
        test_size=10_000,
        mean=(0.4914, 0.4822, 0.4465),
        std=(0.2470, 0.2435, 0.2616),
    ),
    "cifar100": CifarSpec(
        name="cifar100",
        folder="cifar-100-python",
        url="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        archive_md5="eb9058c3a382ffc7106e4002c42a8d85",
        train_files=("train",),
        test_files=("test",),
        meta_file="meta",
        md5={
            "train": "16019d7e3df5f24257cddd939b257f8d",
            "test": "f0ef6b0ae62326f3e7ffdfab6717acfc",
            "meta": "7973b15100ade9c7d40fb424638fde48",
        },
        label_key="fine_labels",
        num_classes=100,
        train_size=50_000,
        test_size=10_000,
        mean=(0.5071, 0.4865, 0.4409),
        std=(0.2673, 0.2564, 0.2762),
        class_key="fine_label_names",
    ),
}


class DataError(RuntimeError):
    """A data file is missing, corrupted, malformed or a partial copy the user did not accept."""


def spec(name: str) -> CifarSpec:
    try:
        return CIFAR[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(CIFAR)}") from None


def label(name: str) -> str:
    """Display label of a data set: "CIFAR-10", "CIFAR-100"."""
    return f"CIFAR-{spec(name).num_classes}"


def data_dir(root: str | os.PathLike | None = None) -> Path:
    """``root``, else ``$PAPERLIB_DATA_DIR``, else the repository's ``data/``."""
    return config.data_dir(root)


def partial_allowed(allow_partial: bool | None = None) -> bool:
    """``allow_partial`` when given, else ``$PAPERLIB_ALLOW_PARTIAL_DATA``."""
    return config.allow_partial(allow_partial)


# --- integrity -----------------------------------------------------------------------------------

def _cache_file() -> Path:
    return config.cache_dir() / "md5.json"


def file_md5(path: Path) -> str:
    """md5 of a file, cached by absolute path, inode, size, modification and change time (the
    change time moves on every write, even one that restores the modification time)."""
    stat = path.stat()
    key = str(path.resolve())
    ident = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "ctime_ns": stat.st_ctime_ns,
             "inode": stat.st_ino}
    cache_path = _cache_file()
    try:
        cache = io.read_json(cache_path)
    except (OSError, RuntimeError):  # missing or damaged: the cache is only a cache
        cache = {}
    hit = cache.get(key) if isinstance(cache, dict) else None
    if hit and all(hit.get(k) == v for k, v in ident.items()):
        return hit["md5"]
    digest = io.file_digest(path, "md5")
    cache = cache if isinstance(cache, dict) else {}
    cache[key] = {**ident, "md5": digest}
    try:
        io.write_json(cache_path, cache)
    except OSError:  # a read-only home: verification still works, only uncached
        pass
    return digest


def _fix_hint(s: CifarSpec, root: Path) -> str:
    return (f"run `make data` (or `python -m paperlib data --download --dataset {s.name}`) to "
            f"fetch the official archive into {root}, or point PAPERLIB_DATA_DIR at a folder "
            f"that holds {s.folder}/")


@dataclass(frozen=True)
class Manifest:
    """A partial copy's own checksums and image counts, keyed ``"<folder>/<file>"``."""

    path: Path
    md5: dict[str, str]
    images: dict[str, int]


def read_manifest(root: Path) -> Manifest | None:
    """``root/MANIFEST.json`` (None when there is none); a damaged one is named, never ignored."""
    path = root / MANIFEST_FILE
    if not path.is_file():
        return None
    fix = (f"restore it from where the data came from, or delete it to load the copy as "
           f"UNVERIFIED (with {PARTIAL_ENV}=1)")
    raw = io.read_json(path, fix=fix)
    md5, images = (raw.get("md5"), raw.get("images", {})) if isinstance(raw, dict) else (None, None)
    if not isinstance(md5, dict) or not isinstance(images, dict):
        raise io.DamagedFileError(path, 'it needs {"md5": {file: md5}, "images": {file: count}}', fix)
    return Manifest(path, {str(k): str(v) for k, v in md5.items()},
                    {str(k): int(v) for k, v in images.items()})


def write_manifest(root: str | os.PathLike, names: tuple[str, ...] = tuple(CIFAR)) -> Path:
    """Write (or update) ``root/MANIFEST.json`` with the md5 and image count of every file of
    ``names`` present under ``root``: how a copy that is not the official one becomes verifiable.
    Entries of other files already in the manifest are kept."""
    root = Path(root)
    old = read_manifest(root)
    md5 = dict(old.md5) if old else {}
    images = dict(old.images) if old else {}
    for name in names:
        s = spec(name)
        for f in s.md5:
            path = root / s.folder / f
            if not path.is_file():
                continue
            md5[f"{s.folder}/{f}"] = file_md5(path)
            if f != s.meta_file:
                images[f"{s.folder}/{f}"] = len(_read_batch(s, path)[1])
    target = root / MANIFEST_FILE
    io.write_json(target, {"md5": md5, "images": images})
    return target


OFFICIAL, VERIFIED_PARTIAL, UNVERIFIED = "official", "verified partial", "unverified"


def file_status(s: CifarSpec, root: Path, filename: str, manifest: Manifest | None) -> str:
    """``OFFICIAL``, ``VERIFIED_PARTIAL`` or ``UNVERIFIED`` for one file; a :class:`DataError`
    naming the file when it is missing or when the manifest shows it is damaged."""
    path = root / s.folder / filename
    if not path.is_file():
        raise DataError(f"{s.name}: missing file {path}. To fix it, {_fix_hint(s, root)}.")
    got = file_md5(path)
    if got == s.md5[filename]:
        return OFFICIAL
    listed = manifest.md5.get(f"{s.folder}/{filename}") if manifest else None
    if listed is None:
        return UNVERIFIED
    if got != listed:
        raise DataError(
            f"{s.name}: {path} is damaged: its md5 {got} matches neither the official file nor "
            f"the partial copy listed in {manifest.path} ({listed}). Copy that file again from "
            f"where the data came from, or {_fix_hint(s, root)}. (If you changed it on purpose, "
            f"update its entry in {MANIFEST_FILE}.)")
    return VERIFIED_PARTIAL


def verify_files(s: CifarSpec, root: Path, filenames: tuple[str, ...], allow_partial: bool,
                 manifest: Manifest | None = None) -> dict[str, str]:
    """Every file's :func:`file_status` against the official md5 and ``manifest`` (default:
    ``root``'s); refuses damaged files first (whatever ``allow_partial`` says), then any copy
    that is not the official one unless ``allow_partial``."""
    manifest = manifest or read_manifest(root)
    status = {f: file_status(s, root, f, manifest) for f in filenames}
    other = [f for f, st in status.items() if st != OFFICIAL]
    if other and not allow_partial:
        first = root / s.folder / other[0]
        verified = all(status[f] == VERIFIED_PARTIAL for f in other)
        what = (f"a partial copy verified by {manifest.path}" if verified and manifest else
                "corrupted or a partial copy")
        raise DataError(
            f"{s.name}: {first}{f' and {len(other) - 1} more file(s)' if len(other) > 1 else ''} "
            f"does not match the official md5 (got {file_md5(first)}, expected "
            f"{s.md5[other[0]]}): {what}. To use the full data set, {_fix_hint(s, root)}. To "
            f"accept a partial copy of genuine images anyway, set {PARTIAL_ENV}=1 (or pass "
            "--allow-partial-data / ALLOW_PARTIAL=1 to make); every result is then labelled as "
            "computed from partial data.")
    return status


# --- loading -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CifarArrays:
    """One split in memory: ``images`` uint8 (N, 3, 32, 32), ``labels`` int64 (N,)."""

    dataset: str
    split: str
    images: torch.Tensor
    labels: torch.Tensor
    partial: bool
    classes: tuple[str, ...]
    verified: bool = True  # official, or a partial copy whose manifest matches

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def num_classes(self) -> int:
        return spec(self.dataset).num_classes


def _read_pickle(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            return pickle.load(f, encoding="latin1")
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a bad file
        raise DataError(f"{path} is not a CIFAR python-version pickle ({exc}); re-download it") from exc


def _read_batch(s: CifarSpec, path: Path) -> tuple[np.ndarray, np.ndarray]:
    d = _read_pickle(path)
    if "data" not in d or s.label_key not in d:
        raise DataError(f"{path} lacks the keys 'data' and {s.label_key!r}; is it a {s.name} file?")
    images = np.asarray(d["data"])
    labels = np.asarray(d[s.label_key], dtype=np.int64)
    if images.dtype != np.uint8 or images.ndim != 2 or images.shape[1] != 3 * 32 * 32:
        raise DataError(
            f"{path}: 'data' has shape {images.shape} and dtype {images.dtype}; a CIFAR batch "
            "holds uint8 rows of 3072 values (3x32x32)"
        )
    if len(labels) != len(images):
        raise DataError(f"{path}: {len(images)} images but {len(labels)} labels")
    if len(labels) and (labels.min() < 0 or labels.max() >= s.num_classes):
        raise DataError(f"{path}: labels outside 0..{s.num_classes - 1}")
    return images.reshape(-1, 3, 32, 32), labels


@lru_cache(maxsize=8)
def _load(name: str, split: str, root: Path, allow_partial: bool) -> CifarArrays:
    s = spec(name)
    files = {"train": s.train_files, "test": s.test_files}.get(split)
    if files is None:
        raise ValueError(f"unknown split {split!r}; use 'train' or 'test'")
    manifest = read_manifest(root)
    status = verify_files(s, root, (*files, s.meta_file), allow_partial, manifest)
    parts = [_read_batch(s, root / s.folder / f) for f in files]
    for f, (_, labels) in zip(files, parts):
        expected = manifest.images.get(f"{s.folder}/{f}") if manifest else None
        if status[f] == VERIFIED_PARTIAL and expected is not None and expected != len(labels):
            raise DataError(f"{s.name}: {root / s.folder / f} holds {len(labels)} images but "
                            f"{manifest.path} says {expected}; the manifest does not describe "
                            "this copy: restore the copy or its manifest")
    images = torch.from_numpy(np.concatenate([p[0] for p in parts]))
    labels = torch.from_numpy(np.concatenate([p[1] for p in parts]))
    classes = tuple(_read_pickle(root / s.folder / s.meta_file)[s.class_key])
    partial = any(st != OFFICIAL for st in status.values())
    unverified = sorted(f for f, st in status.items() if st == UNVERIFIED)
    total = s.train_size if split == "train" else s.test_size
    if unverified:
        log.warning(
            "UNVERIFIED data: %s %s is not the official copy and no %s in %s lists %s, so a "
            "damaged file would go unnoticed; using %d of %d images, and every result says "
            "UNVERIFIED. Write a manifest of a copy you trust with paperlib.method.data.write_manifest.",
            name, split, MANIFEST_FILE, root, ", ".join(unverified), len(labels), total)
    elif partial:
        partial_log.warning("%s %s: partial copy verified by %s, %d of %d images", name, split,
                            config.shown_path(root / MANIFEST_FILE), len(labels), total)
    return CifarArrays(name, split, images, labels, partial, classes, verified=not unverified)


def load(name: str, split: str, *, root: str | os.PathLike | None = None,
         allow_partial: bool | None = None) -> CifarArrays:
    """Load one split of CIFAR-10/100 (``name`` = "cifar10" | "cifar100", ``split`` = "train" | "test")."""
    return _load(name, split, data_dir(root).resolve(), partial_allowed(allow_partial))


def subset_indices(size: int, n: int | None, seed: int = 0) -> torch.Tensor:
    """The sorted positions :func:`subset` keeps of ``size`` images: ``n`` drawn by a permutation
    seeded with ``seed`` (all of them when ``n`` is None or too big)."""
    if n is None or n >= size:
        return torch.arange(size)
    return torch.randperm(size, generator=torch.Generator().manual_seed(seed))[:n].sort().values


def subset(ds: CifarArrays, n: int | None, seed: int = 0) -> CifarArrays:
    """A deterministic random subset of ``n`` images (all of them when ``n`` is None or too big)."""
    if n is None or n >= len(ds):
        return ds
    idx = subset_indices(len(ds), n, seed)
    return replace(ds, images=ds.images[idx], labels=ds.labels[idx])


def provenance(train: CifarArrays | None, test: CifarArrays | None) -> str:
    """The label every result carries: "partial data: N train / M test images" (with
    "UNVERIFIED " in front when no manifest vouched for the copy) or "full data"."""
    used = [d for d in (train, test) if d is not None]
    name = used[0].dataset if used else "?"
    n_train = len(train) if train is not None else 0
    n_test = len(test) if test is not None else 0
    if any(d.partial for d in used):
        flag = "" if all(d.verified for d in used) else "UNVERIFIED "
        return f"{name}, {flag}partial data: {n_train} train / {n_test} test images"
    s = spec(name)
    if n_train < s.train_size or n_test < s.test_size:
        return f"{name}, subset of full data: {n_train} train / {n_test} test images"
    return f"{name}, full data"


# --- batches -------------------------------------------------------------------------------------

def to_unit(images: torch.Tensor) -> torch.Tensor:
    """uint8 images → float32 in [0, 1] (the un-normalised input the privacy metric compares)."""
    return images.float().div_(255.0)


class Normalize(nn.Module):
    """Per-channel normalisation with a data set's mean and std, as a module (for classifiers
    that take images in [0, 1])."""

    def __init__(self, dataset: str) -> None:
        super().__init__()
        s = spec(dataset)
        self.register_buffer("mean", torch.tensor(s.mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(s.std).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def normalize(images: torch.Tensor, dataset: str) -> torch.Tensor:
    """uint8 or [0, 1] images → normalised float32 network input."""
    x = to_unit(images) if images.dtype == torch.uint8 else images
    s = spec(dataset)
    mean = torch.tensor(s.mean, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(s.std, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std


def augment(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random 32x32 crop of the 4-pixel zero-padded image and a random horizontal flip, per image."""
    return apply_augmentation(images, *draw_augmentation(len(images), generator))


def draw_augmentation(b: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor,
                                                                   torch.Tensor]:
    """The random draws of :func:`augment` for ``b`` images, in its order: row offsets ``dy``,
    column offsets ``dx`` (0..8 into the padded image) and the flips."""
    dy = torch.randint(0, 9, (b,), generator=generator)
    dx = torch.randint(0, 9, (b,), generator=generator)
    flip = torch.rand(b, generator=generator) < 0.5
    return dy, dx, flip


def apply_augmentation(images: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor,
                       flip: torch.Tensor) -> torch.Tensor:
    """Crop at (``dy``, ``dx``) of the zero-padded images and flip where ``flip``: pure indexing,
    on the images' device (the draws must be on it too)."""
    b, _, h, w = images.shape
    padded = torch.nn.functional.pad(images, (4, 4, 4, 4))
    rows = (dy[:, None] + torch.arange(h, device=images.device))[:, :, None]  # (B, H, 1)
    cols = (dx[:, None] + torch.arange(w, device=images.device))[:, None, :]  # (B, 1, W)
    cols = torch.where(flip[:, None, None], cols.flip(-1), cols)
    out = padded[torch.arange(b, device=images.device)[:, None, None], :, rows, cols]  # (B, H, W, C)
    return out.permute(0, 3, 1, 2).contiguous()


def batches(ds: CifarArrays, batch_size: int, *, shuffle: bool = False, augment_images: bool = False,
            seed: int = 0, drop_last: bool = False) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield normalised float32 ``(x, y)`` batches sliced from the in-memory tensors, on the
    device ``ds`` lives on (:func:`paperlib.method.device.resident`). One CPU generator draws the
    permutation, then every batch's crops and flips (:func:`draw_augmentation`, batch by batch),
    made for the whole pass at once and moved to the device in one copy, so the batches are the
    same on every device."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    device = ds.images.device
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(ds), generator=gen) if shuffle else torch.arange(len(ds))
    stop = len(ds) - (len(ds) % batch_size if drop_last else 0)
    starts = range(0, stop, batch_size)
    draws = None
    if augment_images and len(starts):
        per_batch = [draw_augmentation(min(batch_size, stop - s), gen) for s in starts]
        draws = [torch.cat(parts).to(device) for parts in zip(*per_batch)]  # dy, dx, flip
    order = order.to(device)
    for start in starts:
        idx = order[start:start + batch_size]
        images = ds.images[idx]
        if draws is not None:
            images = apply_augmentation(images, *(d[start:start + len(idx)] for d in draws))
        yield normalize(images, ds.dataset), ds.labels[idx]


# --- download and synthetic copies -----------------------------------------------------------

def download(name: str, root: str | os.PathLike | None = None) -> Path:
    """Fetch the official archive, check its md5 and unpack it under ``root`` (needs internet)."""
    s = spec(name)
    root = data_dir(root)
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root) as tmp:
        archive = Path(tmp) / Path(s.url).name
        io.download_verified(s.url, archive, s.archive_md5, error=DataError,
                             by_hand=f"copy {s.folder}/ into {root} by hand")
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        target = root / s.folder
        if target.exists():
            raise DataError(f"{target} already exists; move it away to download afresh")
        os.replace(Path(tmp) / s.folder, target)
    verify_files(s, root, tuple(s.md5), allow_partial=False)
    return root / s.folder


def write_synthetic(root: str | os.PathLike, name: str, n_train: int, n_test: int,
                    seed: int = 0) -> Path:
    """Write a synthetic copy (random pixels, random labels) in the official layout.

    Its md5 sums never match the official ones, so it loads only with ``allow_partial=True``; a
    ``MANIFEST.json`` (:func:`write_manifest`) makes it a verified partial copy. Used by the tests
    and to time full-size epochs where no full data set is present.
    """
    s = spec(name)
    rng = np.random.default_rng(seed)
    folder = Path(root) / s.folder
    folder.mkdir(parents=True, exist_ok=True)

    def dump(filename: str, obj: dict) -> None:
        with io.atomic_path(folder / filename) as tmp, open(tmp, "wb") as f:
            pickle.dump(obj, f, protocol=4)

    def batch(n: int) -> dict:
        return {"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                s.label_key: rng.integers(0, s.num_classes, n).tolist()}

    per_train = np.array_split(np.arange(n_train), len(s.train_files))
    for f, idx in zip(s.train_files, per_train):
        dump(f, batch(len(idx)))
    for f in s.test_files:
        dump(f, batch(n_test))
    dump(s.meta_file, {s.class_key: [f"class_{i}" for i in range(s.num_classes)]})
    io.write_text(Path(root) / "SYNTHETIC",
                  "random pixels and labels written by paperlib.method.data.write_synthetic\n")
    write_manifest(root, (name,))
    return folder
