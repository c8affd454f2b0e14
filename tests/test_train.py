"""paperlib.method.train: cached checkpoints, refusal of mismatched, damaged and legacy ones, resume, CLI.

Checkpoint layout and its guarantees: docs/decisions/data-integrity.md §2–§3.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from paperlib.infra import config, io
from paperlib.method import profiles, train
from paperlib.method.profiles import TrainRecipe


@pytest.fixture()
def tiny_profile(synthetic_dir, monkeypatch):
    """The smoke profile on a tiny synthetic copy, with a 2-epoch VGG11 recipe."""
    monkeypatch.setenv("PAPERLIB_DATA_DIR", str(synthetic_dir))
    smoke = profiles.get_profile("smoke")
    return profiles.Profile(**{**smoke.__dict__, "name": "tiny",
                               "train": {"vgg11": TrainRecipe(epochs=2, batch_size=16, train_images=32)}})


def test_train_caches_and_reuses(tiny_profile, tmp_path):
    net, meta = train.load_or_train("vgg11", tiny_profile, checkpoint_root=tmp_path,
                                    allow_partial=True, progress=False)
    path = train.checkpoint_path("vgg11", "tiny", "cifar10", 0, tmp_path)
    weights = path.parent / meta["weights"]
    assert path.suffix == ".json" and path.exists() and weights.exists()
    assert meta["sha256"] == io.sha256_file(weights) and meta["sha256"][:16] in weights.name
    assert not path.with_suffix(".partial.pt").exists()
    assert sorted(p.name for p in path.parent.iterdir()) == sorted(
        [path.name, weights.name, path.with_suffix(".lock").name])
    assert meta["data"] == "cifar10, partial data: 32 train / 20 test images"
    assert 0.0 <= meta["accuracy"] <= 1.0 and meta["recipe"]["epochs"] == 2
    assert meta["precision"] == "fp32"  # the tests pin PAPERLIB_CPU_BF16=off (conftest)
    mtime = weights.stat().st_mtime_ns
    net2, meta2 = train.load_or_train("vgg11", tiny_profile, checkpoint_root=tmp_path,
                                      allow_partial=True, progress=False)
    assert weights.stat().st_mtime_ns == mtime and meta2 == meta
    x = torch.randn(2, 3, 32, 32)
    assert torch.equal(net(x), net2(x))


def test_same_seed_same_weights(tiny_profile, tmp_path):
    a, _ = train.load_or_train("vgg11", tiny_profile, checkpoint_root=tmp_path / "a",
                               allow_partial=True, progress=False)
    b, _ = train.load_or_train("vgg11", tiny_profile, checkpoint_root=tmp_path / "b",
                               allow_partial=True, progress=False)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_mismatched_checkpoint_is_refused(tiny_profile, tmp_path):
    train.load_or_train("vgg11", tiny_profile, checkpoint_root=tmp_path, allow_partial=True,
                        progress=False)
    meta_path = train.checkpoint_path("vgg11", "tiny", "cifar10", 0, tmp_path)
    meta = json.loads(meta_path.read_text())
    meta["recipe"]["epochs"] = 99
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(train.CheckpointMismatch, match="recipe.*--retrain"):
        train.load_or_train("vgg11", tiny_profile, checkpoint_root=tmp_path, allow_partial=True,
                            progress=False)
    _, fresh = train.load_or_train("vgg11", tiny_profile, checkpoint_root=tmp_path,
                                   allow_partial=True, progress=False, retrain=True)
    assert fresh["recipe"]["epochs"] == 2


def _killed_in_the_second_epoch(monkeypatch):
    """Make training raise KeyboardInterrupt when its second epoch starts; returns the real fit."""
    calls = []
    real_fit = train.fit

    def fit_then_die(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(train, "fit", fit_then_die)
    return real_fit


def test_interrupted_training_resumes(tiny_profile, tmp_path, monkeypatch):
    real_fit = _killed_in_the_second_epoch(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        train.load_or_train("vgg11", tiny_profile, checkpoint_root=tmp_path, allow_partial=True,
                            progress=False)
    state = train.checkpoint_path("vgg11", "tiny", "cifar10", 0, tmp_path).with_suffix(".partial.pt")
    assert torch.load(state, weights_only=False)["epoch"] == 1
    monkeypatch.setattr(train, "fit", real_fit)
    resumed, _ = train.load_or_train("vgg11", tiny_profile, checkpoint_root=tmp_path,
                                     allow_partial=True, progress=False)
    straight, _ = train.load_or_train("vgg11", tiny_profile, checkpoint_root=tmp_path / "s",
                                      allow_partial=True, progress=False)
    assert all(torch.allclose(p, q, atol=1e-5)
               for p, q in zip(resumed.state_dict().values(), straight.state_dict().values()))


def test_a_checkpoint_is_reused_in_another_precision_and_says_so(tiny_profile, tmp_path,
                                                                 monkeypatch, caplog):
    """Precision is provenance, not part of the key (docs/decisions/scale.md §6): a float32
    checkpoint serves a bf16 run unchanged, with a warning that names both."""
    _, meta = train.load_or_train("vgg11", tiny_profile, checkpoint_root=tmp_path,
                                  allow_partial=True, progress=False)
    weights = train.checkpoint_path("vgg11", "tiny", "cifar10", 0, tmp_path).parent / meta["weights"]
    mtime = weights.stat().st_mtime_ns
    monkeypatch.setenv("PAPERLIB_CPU_BF16", "on")
    with caplog.at_level(logging.WARNING, logger="paperlib.method.train"):
        _, again = train.load_or_train("vgg11", tiny_profile, checkpoint_root=tmp_path,
                                       allow_partial=True, progress=False)
    assert again == meta and weights.stat().st_mtime_ns == mtime
    assert "trained in fp32" in caplog.text and "computes in bf16-autocast" in caplog.text


def test_a_resume_in_another_precision_is_recorded_as_mixed(tiny_profile, tmp_path, monkeypatch):
    real_fit = _killed_in_the_second_epoch(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        train.load_or_train("vgg11", tiny_profile, checkpoint_root=tmp_path, allow_partial=True,
                            progress=False)
    monkeypatch.setattr(train, "fit", real_fit)
    monkeypatch.setenv("PAPERLIB_CPU_BF16", "on")
    _, meta = train.load_or_train("vgg11", tiny_profile, checkpoint_root=tmp_path,
                                  allow_partial=True, progress=False)
    assert meta["precision"] == "mixed"


@pytest.mark.parametrize("meta, precision", [
    ({"precision": "bf16-autocast", "device": "cpu"}, "bf16-autocast"),
    ({"device": "cpu"}, "fp32"), ({"device": "cuda:0"}, "bf16-autocast"), ({}, "fp32")])
def test_recorded_precision_of_checkpoints_before_it_was_recorded(meta, precision):
    assert train.recorded_precision(meta) == precision


def test_cli_train_smoke_writes_and_reuses(synthetic_dir, tmp_path):
    env = {**os.environ, "PAPERLIB_DATA_DIR": str(synthetic_dir), "PAPERLIB_ALLOW_PARTIAL_DATA": "1",
           "PAPERLIB_CHECKPOINT_DIR": str(tmp_path)}
    cmd = [sys.executable, "-m", "paperlib", "train", "--model", "vgg11", "--profile", "smoke"]
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "partial data" in first.stdout
    meta_path = tmp_path / "smoke" / "vgg11-cifar10-seed0.json"
    ckpt = meta_path.parent / json.loads(meta_path.read_text())["weights"]
    mtime = ckpt.stat().st_mtime_ns
    second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0 and ckpt.stat().st_mtime_ns == mtime


def test_cli_reports_user_errors_in_one_line(tmp_path):
    env = {**os.environ, "PAPERLIB_DATA_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "paperlib", "data", "--dataset", "cifar10"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert out.stderr.startswith("error: cifar10: missing file") and "Traceback" not in out.stderr


# --- damaged, interrupted and legacy checkpoints (docs/decisions/data-integrity.md §2-§3) --------

def _train_tiny(profile, root, **kw):
    return train.load_or_train("vgg11", profile, checkpoint_root=root, allow_partial=True,
                               progress=False, **kw)


def _paths(root):
    meta_path = train.checkpoint_path("vgg11", "tiny", "cifar10", 0, root)
    return meta_path, meta_path.parent / json.loads(meta_path.read_text())["weights"]


def test_flipped_bytes_in_the_weights_are_refused(tiny_profile, tmp_path):
    _train_tiny(tiny_profile, tmp_path)
    meta_path, weights = _paths(tmp_path)
    raw = bytearray(weights.read_bytes())
    mid = len(raw) // 2
    raw[mid:mid + 1000] = bytes(b ^ 0xFF for b in raw[mid:mid + 1000])
    weights.write_bytes(bytes(raw))
    assert isinstance(torch.load(weights, weights_only=True), dict)  # it still loads: only a hash sees it
    with pytest.raises(train.CheckpointCorrupted) as err:
        _train_tiny(tiny_profile, tmp_path)
    msg = str(err.value)
    assert str(weights) in msg and "sha256" in msg and "--retrain" in msg
    _, meta = _train_tiny(tiny_profile, tmp_path, retrain=True)
    assert _paths(tmp_path)[1].exists() and meta["sha256"] == io.sha256_file(_paths(tmp_path)[1])


@pytest.mark.parametrize("which", ["metadata", "weights"])
def test_truncated_checkpoint_files_are_named(tiny_profile, tmp_path, which):
    _train_tiny(tiny_profile, tmp_path)
    meta_path, weights = _paths(tmp_path)
    target = meta_path if which == "metadata" else weights
    target.write_bytes(target.read_bytes()[: len(target.read_bytes()) // 2])
    with pytest.raises(RuntimeError) as err:
        _train_tiny(tiny_profile, tmp_path)
    assert str(target) in str(err.value) and "--retrain" in str(err.value)


def test_a_kill_between_new_weights_and_new_metadata_keeps_the_old_pair(tiny_profile, tmp_path,
                                                                        monkeypatch):
    net_old, meta_old = _train_tiny(tiny_profile, tmp_path)
    old_weights = _paths(tmp_path)[1]
    real_write_json = io.write_json

    def killed_before_metadata(path, obj):
        if Path(path).suffix == ".json" and "sha256" in obj:
            raise KeyboardInterrupt("killed after the new weights, before the new metadata")
        return real_write_json(path, obj)

    retrained = profiles.Profile(**{**tiny_profile.__dict__, "train": {
        "vgg11": TrainRecipe(epochs=1, batch_size=16, train_images=32, lr=0.05)}})
    monkeypatch.setattr(train.io, "write_json", killed_before_metadata)
    with pytest.raises(KeyboardInterrupt):
        train.load_or_train("vgg11", retrained, checkpoint_root=tmp_path, allow_partial=True,
                            progress=False, retrain=True)
    monkeypatch.setattr(train.io, "write_json", real_write_json)
    files = train.CheckpointFiles(_paths(tmp_path)[0])
    assert len(files.weight_files()) == 2  # the new weights, orphaned
    net, meta = _train_tiny(tiny_profile, tmp_path)  # the old, consistent pair is reused
    assert meta == meta_old and old_weights.exists()
    assert files.weight_files() == [old_weights]  # the orphan is removed
    x = torch.randn(2, 3, 32, 32)
    assert torch.equal(net(x), net_old(x))


def test_legacy_checkpoint_without_hash_is_refused_with_the_way_out(tiny_profile, tmp_path):
    _, meta = _train_tiny(tiny_profile, tmp_path)
    meta_path, weights = _paths(tmp_path)
    legacy = {k: v for k, v in meta.items() if k not in ("sha256", "weights", "format")}
    weights.rename(meta_path.with_suffix(".pt"))
    meta_path.write_text(json.dumps(legacy))
    with pytest.raises(train.LegacyCheckpoint) as err:
        _train_tiny(tiny_profile, tmp_path)
    msg = str(err.value)
    assert "older paperlib" in msg and "--retrain" in msg and str(meta_path) in msg
    assert "adopt_checkpoint" in msg
    _, fresh = _train_tiny(tiny_profile, tmp_path, retrain=True)
    assert "sha256" in fresh and not meta_path.with_suffix(".pt").exists()


def test_adopt_checkpoint_records_the_hash_after_re_evaluating(tiny_profile, tmp_path):
    net0, meta = _train_tiny(tiny_profile, tmp_path)
    meta_path, weights = _paths(tmp_path)
    legacy = {k: v for k, v in meta.items() if k not in ("sha256", "weights", "format")}
    legacy_pt = meta_path.with_suffix(".pt")
    weights.rename(legacy_pt)
    meta_path.write_text(json.dumps(legacy))
    bad = {**legacy, "accuracy": legacy["accuracy"] + 0.3}  # metadata that the weights do not earn
    meta_path.write_text(json.dumps(bad))
    with pytest.raises(train.CheckpointMismatch, match="accuracy"):
        train.adopt_checkpoint(legacy_pt, profile=tiny_profile, allow_partial=True)
    assert legacy_pt.exists() and "sha256" not in json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps(legacy))
    adopted = train.adopt_checkpoint(legacy_pt, profile=tiny_profile, allow_partial=True)
    assert adopted["adopted"]["accuracy"] == pytest.approx(legacy["accuracy"])
    assert not legacy_pt.exists()
    net, meta2 = _train_tiny(tiny_profile, tmp_path)
    assert meta2["sha256"] == adopted["sha256"]
    x = torch.randn(2, 3, 32, 32)
    assert torch.equal(net(x), net0(x))
    with pytest.raises(ValueError, match="already"):
        train.adopt_checkpoint(meta_path, profile=tiny_profile, allow_partial=True)


def test_killed_training_leftovers_are_cleaned_and_the_resume_reported(tiny_profile, tmp_path,
                                                                      monkeypatch, caplog):
    real_fit = _killed_in_the_second_epoch(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        _train_tiny(tiny_profile, tmp_path)
    monkeypatch.setattr(train, "fit", real_fit)
    meta_path = train.checkpoint_path("vgg11", "tiny", "cifar10", 0, tmp_path)
    folder = meta_path.parent
    hidden = [folder / ".vgg11-cifar10-seed0.partial.pt.1a2b3c4d.tmp",
              folder / ".vgg11-cifar10-seed0.0123456789abcdef.pt.5e6f7a8b.tmp"]
    for tmp in hidden:
        tmp.write_bytes(b"a killed writer's half file")
    other = folder / ".resnet18-cifar10-seed0.partial.pt.00000000.tmp"
    other.write_bytes(b"another checkpoint's")
    with caplog.at_level(logging.WARNING, logger="paperlib.method.train"):
        _train_tiny(tiny_profile, tmp_path)
    assert not any(t.exists() for t in hidden) and other.exists()
    assert "resuming" in caplog.text and "from epoch 1 of 2" in caplog.text
    assert "removed" in caplog.text


def test_truncated_training_state_is_named(tiny_profile, tmp_path):
    meta_path = train.checkpoint_path("vgg11", "tiny", "cifar10", 0, tmp_path)
    state = meta_path.with_suffix(".partial.pt")
    state.parent.mkdir(parents=True)
    state.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(io.DamagedFileError) as err:
        _train_tiny(tiny_profile, tmp_path)
    assert str(state) in str(err.value) and "delete it" in str(err.value)


def test_training_records_its_learning_curve(tiny_profile, tmp_path):
    _, meta = train.load_or_train("vgg11", tiny_profile, checkpoint_root=tmp_path,
                                  allow_partial=True, progress=False)
    rows = train.learning_curve(meta)
    assert [r["epoch"] for r in rows] == [1, 2]
    assert all(r["train_loss"] > 0 and 0.0 <= r["test_top1"] <= 1.0 for r in rows)
    assert rows[-1]["test_top1"] == meta["accuracy"]  # the last epoch's top-1 is the recorded one
    assert train.learning_curve({k: v for k, v in meta.items() if k != "curve"}) == []  # not recorded
    with pytest.raises(ValueError, match="curve"):
        train.learning_curve({"curve": {"epoch": [1], "train_loss": []}})


def test_snapshots_record_the_precision_and_their_reuse_in_another_says_so(tiny_profile, tmp_path,
                                                                          monkeypatch, caplog):
    train.load_or_train("vgg11", tiny_profile, checkpoint_root=tmp_path, allow_partial=True,
                        progress=False, snapshot_epochs=(1,))
    path = train.snapshot_path("vgg11", "tiny", "cifar10", 0, 1, tmp_path)
    assert json.loads(path.read_text())["precision"] == "fp32"
    monkeypatch.setenv("PAPERLIB_CPU_BF16", "on")
    with caplog.at_level(logging.WARNING, logger="paperlib.method.train"):
        _, meta = train.load_or_train_snapshot("vgg11", tiny_profile, 1, checkpoint_root=tmp_path,
                                               allow_partial=True, progress=False)
    assert meta["precision"] == "fp32" and f"{config.shown_path(path)} was trained in fp32" in caplog.text


def test_snapshots_are_the_full_training_at_that_epoch(tiny_profile, tmp_path):
    # epoch 0: the random initialisation the training starts from, deterministic from the seed
    init_a, meta0 = train.load_or_train_snapshot("vgg11", tiny_profile, 0, checkpoint_root=tmp_path,
                                                 allow_partial=True, progress=False)
    init_b, _ = train.load_or_train_snapshot("vgg11", tiny_profile, 0, checkpoint_root=tmp_path / "b",
                                             allow_partial=True, progress=False)
    assert meta0["epoch"] == 0 and meta0["of_epochs"] == 2
    assert all(torch.equal(p, q) for p, q in zip(init_a.state_dict().values(), init_b.state_dict().values()))
    # epoch 1 trained alone equals epoch 1 saved while training the final checkpoint
    alone, meta1 = train.load_or_train_snapshot("vgg11", tiny_profile, 1, checkpoint_root=tmp_path / "a",
                                                allow_partial=True, progress=False)
    train.load_or_train("vgg11", tiny_profile, checkpoint_root=tmp_path / "f", allow_partial=True,
                        progress=False, snapshot_epochs=(1,))
    path = train.snapshot_path("vgg11", "tiny", "cifar10", 0, 1, tmp_path / "f")
    assert path.exists() and path.parent.name == train.SNAPSHOTS
    during, meta_f = train.load_or_train_snapshot("vgg11", tiny_profile, 1, checkpoint_root=tmp_path / "f",
                                                  allow_partial=True, progress=False)
    assert meta1["epoch"] == meta_f["epoch"] == 1 and meta_f["sha256"] == io.sha256_file(path.parent / meta_f["weights"])
    assert all(torch.allclose(p, q, atol=1e-5)
               for p, q in zip(alone.state_dict().values(), during.state_dict().values()))
    assert not any(torch.equal(p, q) for p, q in zip(alone.state_dict().values(), init_a.state_dict().values())
                   if p.is_floating_point() and p.numel() > 1 and p.ndim > 1)
    # the last epoch is the trained checkpoint itself
    _, last = train.load_or_train_snapshot("vgg11", tiny_profile, 2, checkpoint_root=tmp_path / "f",
                                           allow_partial=True, progress=False)
    assert last["epoch"] == 2 and last["sha256"] == train.load_or_train(
        "vgg11", tiny_profile, checkpoint_root=tmp_path / "f", allow_partial=True, progress=False)[1]["sha256"]
    with pytest.raises(ValueError, match="epoch=3"):
        train.load_or_train_snapshot("vgg11", tiny_profile, 3, checkpoint_root=tmp_path,
                                     allow_partial=True, progress=False)


def test_a_damaged_snapshot_is_refused(tiny_profile, tmp_path):
    train.load_or_train_snapshot("vgg11", tiny_profile, 1, checkpoint_root=tmp_path, allow_partial=True,
                                 progress=False)
    path = train.snapshot_path("vgg11", "tiny", "cifar10", 0, 1, tmp_path)
    weights = path.parent / json.loads(path.read_text())["weights"]
    weights.write_bytes(weights.read_bytes()[:-3] + b"xyz")
    with pytest.raises(train.CheckpointCorrupted, match="damaged"):
        train.load_or_train_snapshot("vgg11", tiny_profile, 1, checkpoint_root=tmp_path,
                                     allow_partial=True, progress=False)


def test_recipes_added_fields_keep_older_checkpoints_valid():
    smoke = profiles.get_profile("smoke")
    for model in ("vgg11", "cifar10cnn"):  # smoke's recipes are unchanged: their request too
        record = train.recipe_record(smoke.recipe(model))
        assert "schedule" not in record and "augment" not in record
    cosine = TrainRecipe(epochs=2, schedule="cosine", augment=False)
    assert train.recipe_record(cosine)["schedule"] == "cosine" and train.recipe_record(cosine)["augment"] is False
    with pytest.raises(ValueError, match="schedule='step'"):
        TrainRecipe(epochs=2, schedule="step")
    quick = profiles.get_profile("quick")
    assert all(quick.recipe(m).label_smoothing == 0.1 for m in ("vgg11", "resnet18", "cifar10cnn", "mobilenet"))


def test_lr_schedules_follow_the_recipe():
    net = torch.nn.Linear(2, 2)

    def rates(recipe, steps=4):
        opt = torch.optim.SGD(net.parameters(), lr=recipe.lr)
        sched = train.lr_schedule(opt, recipe, steps)
        out = []
        for _ in range(steps * recipe.epochs):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        return out

    cos = rates(TrainRecipe(epochs=2, lr=0.1, schedule="cosine"))
    assert cos[0] == pytest.approx(0.1) and all(a > b for a, b in zip(cos, cos[1:]))
    assert cos[-1] == pytest.approx(0.1 * (1 + np.cos(np.pi * 7 / 8)) / 2)
    one = rates(TrainRecipe(epochs=2, lr=0.1))
    assert 0.09 < max(one) <= 0.1 + 1e-12 and one[0] < 0.1 / 5  # one-cycle warms up to its peak
