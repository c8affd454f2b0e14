"""benchmarks/training_budget_probe.py (docs/decisions/reporting.md §13): one smoke run, its
records checked against what they must equal."""

from __future__ import annotations

import json

import pytest

from fakes import benchmark_script  # noqa: I001  (tests/fakes.py: shared test helpers)


def _probe():
    return benchmark_script("training_budget_probe")


def test_refuses_a_multiple_below_one(tmp_path):
    with pytest.raises(SystemExit):
        _probe().main(["--multiples", "0", "2", "--out", str(tmp_path)])


def test_budgets_paired_gain_and_worst_case(real_data_dir, tmp_path, monkeypatch):
    from paperlib.method import train
    from paperlib.method.profiles import get_profile

    monkeypatch.setenv("PAPERLIB_RESULTS_DIR", str(tmp_path / "unused"))  # restored afterwards
    out = tmp_path / "probe"
    _probe().main(["--model", "cifar10cnn", "--profile", "smoke", "--multiples", "2", "1",
                   "--images", "2", "--out", str(out)])
    one, two = [json.loads(line) for line in (out / "probe.jsonl").read_text().splitlines()]
    epochs = get_profile("smoke").recipe("cifar10cnn").epochs
    assert (one["multiple"], one["epochs"], two["multiple"], two["epochs"]) == (1, epochs, 2, 2 * epochs)
    # 1x is the profile's own checkpoint; the longer budget has its own, beside the probe
    _, meta = train.load_or_train("cifar10cnn", "smoke", progress=False)
    assert one["train_seconds"] == meta["train_seconds"]
    assert list((out / "checkpoints" / "x2" / "smoke").glob("cifar10cnn-*.json"))
    # the gain is paired on the same search-split images: the difference of the two top-1s
    assert "gain_search" not in one
    assert two["gain_search"] == pytest.approx(two["top1_search"] - one["top1_search"])
    assert one["search_images"] + one["report_images"] == len(train.training_data(
        "cifar10cnn", get_profile("smoke"))[1])
    for rec in (one, two):
        assert [r["split"] for r in rec["points"]] == ["conv11", "ReLU22", "ReLU32"]
        for r in rec["points"]:
            names = ("rmle", "inverse-network", "shadow")
            attacks = [r[f"ssim_{a}"] for a in names]
            assert r["ssim_worst"] == pytest.approx(max(attacks))
            # the worst case's spread is that of the attack that reached it
            assert r["ssim_worst_sd"] == r[f"ssim_sd_{r['ssim_worst_attack']}"]
