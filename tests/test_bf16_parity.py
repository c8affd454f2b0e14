"""benchmarks/bf16_parity.py (docs/decisions/scale.md §6): one smoke run, its record checked
against what it must equal."""

from __future__ import annotations

import json

import pytest
import torch

from fakes import benchmark_script  # noqa: I001  (tests/fakes.py: shared test helpers)


def _script():
    return benchmark_script("bf16_parity")


def test_two_precisions_paired_top1_and_the_attacks_on_one_set_of_weights(real_data_dir, tmp_path,
                                                                         monkeypatch):
    from paperlib.method import train
    from paperlib.method.evaluation_split import profile_split
    from paperlib.method.profiles import get_profile

    # the script sets both for itself; these restore the tests' values afterwards
    monkeypatch.setenv("PAPERLIB_CPU_BF16", "off")
    monkeypatch.setenv("PAPERLIB_RESULTS_DIR", str(tmp_path / "unused"))
    _script().main(["--model", "cifar10cnn", "--profile", "smoke", "--images", "2",
                    "--out", str(tmp_path)])
    (record,) = [json.loads(line) for line in (tmp_path / "parity.jsonl").read_text().splitlines()]
    # each precision trained its own checkpoint, which records the precision it ran in
    metas = {spec: json.loads(next((tmp_path / spec / "checkpoints" / "smoke").glob("*.json"))
                              .read_text()) for spec in ("off", "on")}
    assert metas["off"]["precision"] == "fp32" and metas["on"]["precision"] == "bf16-autocast"
    # the paired gain is the difference of the two top-1s on the same search-split images
    _, test = train.training_data("cifar10cnn", get_profile("smoke"))
    assert record["search_images"] == len(profile_split(get_profile("smoke"), "cifar10cnn",
                                                        len(test)).search)
    assert record["top1_gain_bf16"] == pytest.approx(record["top1_search_on"]
                                                     - record["top1_search_off"])
    # every attack at the three points, in both precisions, on the float32 weights
    rows = record["attacks"]
    splits, attacks = ("conv11", "ReLU22", "ReLU32"), ("rmle", "inverse-network", "shadow")
    assert {(r["split"], r["attack"]) for r in rows} == {(s, a) for s in splits for a in attacks}
    for r in rows:
        assert r["ssim_bf16_minus_fp32"] == pytest.approx(r["ssim_on"] - r["ssim_off"])
        assert r["ssim_bf16path_minus_fp32"] == pytest.approx(r["ssim_bf16path"] - r["ssim_off"])
        assert all(-1.0 <= r[f"ssim_{k}"] <= 1.0 for k in ("off", "on", "bf16path"))
    # P is a float32 measurement: the same weights give the same P whatever the attacks ran in
    assert record["P"]["off"] == record["P"]["on"]
    assert set(record["P"]["bf16path"]) == {"conv11", "ReLU22", "ReLU32"}
    assert torch.get_num_threads() == record["threads"]


def test_p_only_with_another_seed(real_data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("PAPERLIB_CPU_BF16", "off")
    _script().main(["--model", "cifar10cnn", "--profile", "smoke", "--images", "2", "--seed", "1",
                    "--p-only", "--out", str(tmp_path)])
    (record,) = [json.loads(line) for line in (tmp_path / "parity.jsonl").read_text().splitlines()]
    assert record["seed"] == 1 and "attacks" not in record
    metas = [json.loads(p.read_text()) for spec in ("off", "on")
             for p in (tmp_path / spec / "checkpoints" / "smoke").glob("*.json")]
    assert [m["seed"] for m in metas] == [1, 1]
    # the keys of the full run: "off" the float32 weights, "bf16path" the bf16 ones
    assert set(record["P"]) == {"off", "bf16path"}
    for label in ("off", "bf16path"):
        assert set(record["P"][label]) == {"conv11", "ReLU22", "ReLU32"}
        assert all(0.0 <= v <= 4.0 for v in record["P"][label].values())
    assert record["git_commit"] and record["torch"] == torch.__version__
