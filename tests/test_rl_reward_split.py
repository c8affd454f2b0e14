"""Zhang et al.'s RL reward reads the search split only (docs/decisions/defences.md §8;
docs/decisions/paper-method.md §9): the images of its top-1 and of its decoder's SSIM are search
images of the context notebook 09 builds, never report images, and the RL search's cache key
carries them, so another split recomputes it. Known answers on a synthetic CIFAR-10 of 200 test
images and an untrained cifar10cnn (seconds)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from paperlib.defences import zhang_reward
from paperlib.defences.zhang_reward import RewardImages, ZhangEvaluator
from paperlib.method import data, models
from paperlib.method.evaluation_split import split_evaluation_images
from paperlib.method.profiles import get_profile
from paperlib.search.context import build_context
from paperlib.studies import nb09_defences

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py

MODEL = "cifar10cnn"


def _fake_test(n: int) -> data.CifarArrays:
    """``n`` test images whose first pixel is their own index (so an image names its position)."""
    images = torch.zeros(n, 3, 32, 32, dtype=torch.uint8)
    images[:, 0, 0, 0] = torch.arange(n) % 256
    images[:, 0, 0, 1] = torch.arange(n) // 256
    return data.CifarArrays("cifar10", "test", images, torch.arange(n) % 10, partial=True,
                            classes=tuple(str(i) for i in range(10)))


def _positions(ds: data.CifarArrays) -> np.ndarray:
    return (ds.images[:, 0, 0, 0].long() + 256 * ds.images[:, 0, 0, 1].long()).numpy()


def _inside_search_only(idx: np.ndarray, split) -> bool:
    return set(idx) <= set(split.search) and not set(idx) & set(split.report)


def test_reward_images_are_search_images_never_report_images():
    test = _fake_test(1017)  # the quick copy's test images
    split = split_evaluation_images(1017, report_fraction=0.5)
    images = RewardImages.of(split, test, 500, 6)  # quick's accuracy_images and images
    assert images.accuracy_index.size == 500 and images.attacked_index.size == 6
    for idx, ds in ((images.accuracy_index, images.accuracy), (images.attacked_index, images.attacked)):
        assert _inside_search_only(idx, split)
        assert np.array_equal(_positions(ds), idx)  # the images are the ones the indices name
    # the draw is data.subset's, on the search split (seed 0)
    search, _ = split.apply(test)
    assert torch.equal(images.accuracy.images, data.subset(search, 500, seed=0).images)
    # more than the search split holds: all of it (the paper profile asks 10000 of 5000)
    every = RewardImages.of(split, test, 10_000, 6)
    assert np.array_equal(every.accuracy_index, split.search)
    # test images the split was not drawn for are refused
    with pytest.raises(ValueError, match="split the data set's own images"):
        RewardImages.of(split, _fake_test(1000), 500, 6)
    # the key names the split and the images: another split gives another key
    other = RewardImages.of(split_evaluation_images(1017, report_fraction=0.6), test, 500, 6)
    assert other.fingerprint()["search_sha256"] != images.fingerprint()["search_sha256"]
    assert other.fingerprint()["accuracy"] != images.fingerprint()["accuracy"]


@pytest.fixture()
def rl_context(synthetic_search_dir, tmp_path, monkeypatch):
    """A smoke context on the synthetic copy (100 search / 100 report images) whose RL search is
    one episode of two draws, its top-1 on 60 search images (a proper subset)."""
    monkeypatch.setenv("PAPERLIB_DATA_DIR", str(synthetic_search_dir))
    monkeypatch.setenv("PAPERLIB_ALLOW_PARTIAL_DATA", "1")
    monkeypatch.setenv("PAPERLIB_RESULTS_DIR", str(tmp_path / "results"))
    smoke = get_profile("smoke")
    prof = replace(smoke, defence=replace(smoke.defence, rl_episodes=1, rl_samples=2,
                                          accuracy_images=60))
    torch.manual_seed(0)
    net = models.build(MODEL, num_classes=10).eval()
    meta = {"accuracy": 0.1, "date": "test", "data": "synthetic", "seed": 0}
    return build_context(MODEL, prof, trained=(net, meta), progress=False)


def test_the_rl_reward_scores_search_images_and_a_changed_split_recomputes(rl_context, monkeypatch):
    built: list[ZhangEvaluator] = []
    attacked: list[data.CifarArrays] = []

    class Spy(ZhangEvaluator):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            built.append(self)

    real_run = zhang_reward.attacks.run
    monkeypatch.setattr(nb09_defences, "ZhangEvaluator", Spy)
    monkeypatch.setattr(zhang_reward.attacks, "run",
                        lambda *a, **k: attacked.append(k["test"]) or real_run(*a, **k))
    ctx = rl_context
    _, _, trace = nb09_defences.rl_strategy(ctx)
    (ev,) = built
    images, split = ev.images, ctx.split
    # A and A_base: 60 search images; P: the decoder scored on 4 (defence.images) search images
    assert images.accuracy_index.size == 60 and images.attacked_index.size == 4
    assert _inside_search_only(images.accuracy_index, split)
    assert _inside_search_only(images.attacked_index, split)
    assert torch.equal(ev.test.images, ctx.test_ds.images[images.accuracy_index])
    assert torch.equal(ev.test.labels, ctx.test_ds.labels[images.accuracy_index])
    assert attacked and all(torch.equal(t.images, ctx.test_ds.images[images.attacked_index])
                            for t in attacked)
    # no image the reward read is a report image, by content as well as by index
    report = {bytes(x.numpy()) for x in ctx.report_ds.images}
    assert not report & {bytes(x.numpy()) for x in (*ev.test.images, *attacked[0].images)}
    # the trace's key records the split and the images
    key = trace.fingerprint["reward_images"]
    assert key == images.fingerprint() and key["search_sha256"] == split.manifest()["search_sha256"]
    assert trace.fingerprint["version"] == 2
    # the same context: read back, nothing scored again
    nb09_defences.rl_strategy(ctx)
    assert len(built) == 1
    # another split: the search runs again, on the new split's search images
    wider = ctx.with_settings(replace(ctx.settings, report_fraction=0.6))
    _, _, again = nb09_defences.rl_strategy(wider)
    assert len(built) == 2 and _inside_search_only(built[1].images.accuracy_index, wider.split)
    assert again.fingerprint["reward_images"] != key
