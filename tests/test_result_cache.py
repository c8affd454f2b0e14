"""The one reuse rule for stored results (paperlib.infra.result_cache; data-integrity.md §14)."""

from __future__ import annotations

import logging

import torch

from paperlib.infra import config, result_cache


def test_a_json_record_is_reused_only_under_its_fingerprint(tmp_path, caplog):
    path = tmp_path / "row.json"
    assert result_cache.load_json(path, {"a": 1}) is None  # nothing stored yet
    written = result_cache.save_json(path, {"a": 1, "t": (1, 2)}, {"value": 3})
    assert written == {"value": 3, "fingerprint": {"a": 1, "t": [1, 2]}}
    # a tuple and a list are the same fingerprint once JSON-normalised
    assert result_cache.load_json(path, {"t": (1, 2), "a": 1})["value"] == 3
    with caplog.at_level(logging.WARNING):
        assert result_cache.load_json(path, {"a": 2, "t": (1, 2)}) is None
    assert config.shown_path(path) in caplog.text and "made with another a;" in caplog.text


def test_companions_and_a_validity_check_must_hold_too(tmp_path):
    path, pt = tmp_path / "r.json", tmp_path / "r.pt"
    result_cache.save_json(path, {"k": 1}, {"version": 1})
    assert result_cache.load_json(path, {"k": 1}, companions=(pt,)) is None  # its .pt is missing
    pt.write_bytes(b"x")
    assert result_cache.load_json(path, {"k": 1}, companions=(pt,)) is not None
    assert result_cache.load_json(path, {"k": 1}, valid=lambda r: r["version"] == 2) is None


def test_a_torch_blob_follows_the_same_rule(tmp_path):
    path = tmp_path / "cloud.pt"
    result_cache.save_torch(path, {"epochs": 2}, {"state": {"w": torch.ones(2)}})
    blob = result_cache.load_torch(path, {"epochs": 2})
    assert torch.equal(blob["state"]["w"], torch.ones(2)) and blob["fingerprint"] == {"epochs": 2}
    assert result_cache.load_torch(path, {"epochs": 3}) is None


def test_differing_names_the_changed_keys():
    assert result_cache.differing({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 0}) == ["b", "c"]
    assert result_cache.differing(None, {"a": 1}) == ["fingerprint"]
    assert result_cache.differing({"a": 1}, {"a": 1}) == []
