"""benchmarks/gpu_check.py (docs/decisions/scale.md §7): its dry run exercises every stage on the
CPU in seconds, and without CUDA the full check stops with a clear message."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch

from paperlib.method import constants as C

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"


@pytest.fixture(scope="module")
def gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = module  # its dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def test_dry_run_writes_the_report(gpu_check, tmp_path):
    assert gpu_check.main(["--dry-run", "--models", "mobilenet", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    assert report["mode"] == "dry-run" and report["device"] == "cpu" and not report["skipped"]
    row = report["models"]["mobilenet"]
    assert row["epoch_seconds"] > 0 and row["evaluation"]["seconds"] > 0
    assert set(row["throughput"]) == {"1", "2"}
    assert all(r["strategies_per_hour"] > 0 and r["cold_jobs"] == 0
               for r in row["throughput"].values())
    t2 = row["table2"]
    assert t2["paper_hours"] == C.PAPER_TABLE2_HOURS["mobilenet"]  # from paperlib, not retyped
    assert t2["strategies"] == C.POPULATION + C.ITERATIONS
    best = max(r["strategies_per_hour"] for r in row["throughput"].values())
    assert t2["hours"] == pytest.approx(t2["strategies"] / best)
    assert t2["paper_over_ours"] == pytest.approx(t2["paper_hours"] / t2["hours"])
    md = (tmp_path / "gpu_check.md").read_text()
    assert "mean nothing" in md and "| mobilenet |" in md


def test_budget_skips_stages(gpu_check, tmp_path):
    assert gpu_check.main(["--dry-run", "--models", "mobilenet", "--budget-s", "0",
                           "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    assert len(report["skipped"]) == 2 and report["models"]["mobilenet"]["table2"]["hours"] is None


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_without_cuda_it_says_so(gpu_check, tmp_path, capsys):
    assert gpu_check.main(["--out", str(tmp_path)]) == gpu_check.NO_CUDA_EXIT
    assert "no CUDA GPU" in capsys.readouterr().err
    assert not (tmp_path / "gpu_check.json").exists()
