"""paperlib.train: cached checkpoints, refusal of mismatched ones, resume, CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from paperlib import profiles, train
from paperlib.profiles import TrainRecipe


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
    assert path.exists() and path.with_suffix(".json").exists()
    assert not path.with_suffix(".partial.pt").exists()
    assert meta["data"] == "cifar10, partial data: 32 train / 20 test images"
    assert 0.0 <= meta["accuracy"] <= 1.0 and meta["recipe"]["epochs"] == 2
    mtime = path.stat().st_mtime_ns
    net2, meta2 = train.load_or_train("vgg11", tiny_profile, checkpoint_root=tmp_path,
                                      allow_partial=True, progress=False)
    assert path.stat().st_mtime_ns == mtime and meta2 == meta
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
    meta_path = train.checkpoint_path("vgg11", "tiny", "cifar10", 0, tmp_path).with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    meta["recipe"]["epochs"] = 99
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(train.CheckpointMismatch, match="recipe.*--retrain"):
        train.load_or_train("vgg11", tiny_profile, checkpoint_root=tmp_path, allow_partial=True,
                            progress=False)
    _, fresh = train.load_or_train("vgg11", tiny_profile, checkpoint_root=tmp_path,
                                   allow_partial=True, progress=False, retrain=True)
    assert fresh["recipe"]["epochs"] == 2


def test_interrupted_training_resumes(tiny_profile, tmp_path, monkeypatch):
    calls = []
    real_fit = train.fit

    def fit_then_die(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(train, "fit", fit_then_die)
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


def test_cli_train_smoke_writes_and_reuses(synthetic_dir, tmp_path):
    env = {**os.environ, "PAPERLIB_DATA_DIR": str(synthetic_dir), "PAPERLIB_ALLOW_PARTIAL_DATA": "1",
           "PAPERLIB_CHECKPOINT_DIR": str(tmp_path)}
    cmd = [sys.executable, "-m", "paperlib", "train", "--model", "vgg11", "--profile", "smoke"]
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "partial data" in first.stdout
    ckpt = tmp_path / "smoke" / "vgg11-cifar10-seed0.pt"
    mtime = ckpt.stat().st_mtime_ns
    second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0 and ckpt.stat().st_mtime_ns == mtime


def test_cli_reports_user_errors_in_one_line(tmp_path):
    env = {**os.environ, "PAPERLIB_DATA_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "paperlib", "data", "--dataset", "cifar10"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert out.stderr.startswith("error: cifar10: missing file") and "Traceback" not in out.stderr
