"""paperlib.infra.io: atomic writes that respect the umask, damaged files named with their fix, locks.

Decisions: docs/decisions/data-integrity.md §4 (atomic writes), §5 (damaged files), §6 (locks).
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from paperlib.infra import io


@pytest.fixture()
def umask():
    """Set a umask for one test and restore the previous one."""
    saved = os.umask(0o022)
    os.umask(saved)

    def set_mask(mask: int) -> None:
        os.umask(mask)

    yield set_mask
    os.umask(saved)


@pytest.mark.parametrize("mask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_writes_respect_the_umask(tmp_path, umask, mask, mode):
    umask(mask)
    io.write_text(tmp_path / "a.txt", "hello")
    io.write_json(tmp_path / "b.json", {"x": 1})
    with io.atomic_path(tmp_path / "c.pt") as tmp:
        torch.save({"w": torch.zeros(2)}, tmp)
    for name in ("a.txt", "b.json", "c.pt"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name


def test_atomic_write_failure_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "r.json"
    io.write_json(target, {"old": True})
    with pytest.raises(RuntimeError, match="boom"):
        with io.atomic_path(target) as tmp:
            tmp.write_text('{"new": ')
            raise RuntimeError("boom")
    assert io.read_json(target) == {"old": True}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_temporaries_are_hidden_beside_the_target_and_can_be_cleaned(tmp_path):
    with io.atomic_path(tmp_path / "model.pt") as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".model.pt.") and tmp.name.endswith(".tmp")
        leftover = Path(str(tmp) + "-copy.tmp")
        leftover.write_text("a killed writer's temporary")
        tmp.write_text("x")
    other = tmp_path / ".other.json.1234.tmp"
    other.write_text("not ours")
    removed = io.remove_temporaries(tmp_path, "model")
    assert removed == [leftover]
    assert not leftover.exists() and other.exists() and (tmp_path / "model.pt").exists()


@pytest.mark.parametrize("text", ['{"iteration": 3, "popul', "", "\x00\x00\x00"])
def test_truncated_json_names_the_file_and_the_fix(tmp_path, text):
    path = tmp_path / "state.json"
    path.write_text(text)
    with pytest.raises(io.DamagedFileError) as err:
        io.read_json(path)
    msg = str(err.value)
    assert str(path) in msg and "delete it" in msg
    assert err.value.path == path
    with pytest.raises(io.DamagedFileError, match="retrain"):
        io.read_json(path, fix="delete it and pass --retrain")


def test_read_json_of_a_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        io.read_json(tmp_path / "nope.json")


def test_truncated_torch_file_names_the_file_and_the_fix(tmp_path):
    path = tmp_path / "w.pt"
    torch.save({"w": torch.arange(1000.0)}, path)
    assert torch.equal(io.torch_load(path)["w"], torch.arange(1000.0))
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(io.DamagedFileError) as err:
        io.torch_load(path, fix="delete it to restart training")
    assert str(path) in str(err.value) and "delete it to restart training" in str(err.value)


def test_sha256_of_bytes_and_file_agree(tmp_path):
    path = tmp_path / "b.bin"
    io.write_bytes(path, b"abc")
    expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  # FIPS 180-2, "abc"
    assert io.sha256_bytes(b"abc") == io.sha256_file(path) == expected


# --- locks -----------------------------------------------------------------------------------------

HOLD = textwrap.dedent("""
    import sys, time
    from paperlib.infra import io
    with io.folder_lock(sys.argv[1], "test holder"):
        print("locked", flush=True)
        time.sleep(60)
""")


def _holder(folder: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_locked_folder_is_refused_naming_it_and_the_holder(tmp_path):
    proc = _holder(tmp_path)
    try:
        with pytest.raises(io.FolderLockedError) as err:
            with io.folder_lock(tmp_path, "search"):
                pass
        msg = str(err.value)
        assert str(tmp_path) in msg and f"pid {proc.pid}" in msg and "test holder" in msg
    finally:
        proc.kill()
        proc.wait()


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    proc = _holder(tmp_path)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with io.folder_lock(tmp_path, "after the kill"):
        info = json.loads((tmp_path / io.LOCK_FILE).read_text())
        assert info["pid"] == os.getpid() and info["purpose"] == "after the kill"


def test_lock_is_released_on_exit_and_reusable(tmp_path):
    with io.folder_lock(tmp_path, "first"):
        pass
    with io.folder_lock(tmp_path, "second"):
        pass


def test_waiting_lock_waits_for_the_holder(tmp_path):
    proc = _holder(tmp_path)
    t0 = time.perf_counter()

    def release_soon():
        time.sleep(0.5)
        proc.kill()

    import threading

    threading.Thread(target=release_soon).start()
    with io.folder_lock(tmp_path, "waiter", wait=True):
        assert time.perf_counter() - t0 >= 0.4
    proc.wait()
