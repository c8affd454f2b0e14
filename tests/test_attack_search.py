"""The search re-scores its best strategy with the attacks when asked, and only then."""

from __future__ import annotations

import pytest
import torch

from paperlib import attacks, search


@pytest.fixture()
def synthetic_run(synthetic_search_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("PAPERLIB_DATA_DIR", str(synthetic_search_dir))
    monkeypatch.setenv("PAPERLIB_ALLOW_PARTIAL_DATA", "1")
    monkeypatch.setenv("PAPERLIB_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    monkeypatch.setenv("PAPERLIB_RESULTS_DIR", str(tmp_path / "results"))
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield tmp_path
    torch.set_num_threads(old)


@pytest.mark.slow
def test_search_result_carries_attack_scores_only_when_asked(synthetic_run):
    ctx = search.build_context("cifar10cnn", "smoke", allow_partial=True, progress=False,
                               validation_images=16, privacy_images=8)
    kw = dict(context=ctx, progress=False,
              settings=search.RunSettings(search=dict(iterations=2, population=3, sample=2)))
    plain = search.run("cifar10cnn", out_dir=synthetic_run / "plain", **kw)
    assert "attack_scores" not in plain.best
    scored = attacks.scoring.score_result(
        search.run("cifar10cnn", out_dir=synthetic_run / "scored", **kw), ctx)
    scores = scored.best["attack_scores"]
    assert list(scores) == list(attacks.ATTACKS.names())
    for record in scores.values():
        assert set(record) == set(attacks.scoring.SCORE_FIELDS)
        assert record["split"] == attacks.point_label("cifar10cnn", scored.best["p"])
        assert record["test_images"] == ctx.profile.attack.images and -1 <= record["ssim"] <= 1
    assert search.load_result(synthetic_run / "scored").best["attack_scores"] == scores
    assert {k: v for k, v in scored.best.items() if k != "attack_scores"} == plain.best


def test_cli_has_the_attack_scores_flag(capsys):
    from paperlib.app import cli

    with pytest.raises(SystemExit):
        cli.main(["search", "--help"])
    assert "--attack-scores" in capsys.readouterr().out
