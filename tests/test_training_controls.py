"""paperlib.studies.training_controls: privacy vs training progress with an untrained row per model
(docs/decisions/attacks.md §13) and learning curves (docs/decisions/reporting.md §11)."""

from __future__ import annotations

from dataclasses import replace

import matplotlib
import numpy as np
import pytest
import torch

from paperlib.attacks.worst_case import column
from paperlib.method import profiles, train
from paperlib.method.profiles import TrainRecipe
from paperlib.studies import training_controls as tc

matplotlib.use("Agg")
pytestmark = pytest.mark.usefixtures("one_thread")


def test_progress_epochs_always_hold_the_untrained_and_trained_stage():
    assert tc.progress_epochs(10, (0.25, 0.5)) == [0, 2, 5, 10]
    assert tc.progress_epochs(1, (0.25, 0.5)) == [0, 1]  # rounds onto the ends: no intermediate
    assert tc.progress_epochs(2, ()) == [0, 2]
    assert [tc.stage_label(e, 4) for e in (0, 2, 4)] == ["untrained", "epoch 2/4", "trained"]
    with pytest.raises(ValueError, match="progress_fractions"):
        tc.progress_epochs(4, (1.5,))


@pytest.fixture()
def tiny(synthetic_dir, tmp_path, monkeypatch):
    """The smoke profile on the synthetic copy: cifar10cnn trained 2 epochs, a few attack steps;
    checkpoints and results in tmp_path."""
    monkeypatch.setenv("PAPERLIB_DATA_DIR", str(synthetic_dir))
    monkeypatch.setenv("PAPERLIB_CHECKPOINT_DIR", str(tmp_path / "ck"))
    monkeypatch.setenv("PAPERLIB_RESULTS_DIR", str(tmp_path / "res"))
    smoke = profiles.get_profile("smoke")
    attack = replace(smoke.attack.with_attack("rmle", iterations=2)
                     .with_attack("inverse-network", query_images=16)
                     .with_attack("shadow", labelled_images=16, rmle_iterations=2),
                     images=4, progress_fractions=(0.5,))
    return profiles.Profile(**{**smoke.__dict__, "name": "tiny", "attack": attack,
                               "train": {"cifar10cnn": TrainRecipe(epochs=2, batch_size=16,
                                                                   train_images=32, lr=0.02)}})


def test_progress_table_has_an_untrained_row_per_point_and_the_worst_case(tiny):
    table = tc.progress_table(["cifar10cnn"], tiny, allow_partial=True)
    splits = ["conv11", "ReLU22", "ReLU32"]  # He et al.'s three points
    assert list(dict.fromkeys(table["split"])) == splits
    assert list(dict.fromkeys(table["stage"])) == ["untrained", "epoch 1/2", "trained"]
    assert len(table) == 3 * 3 and set(table[table["stage"] == "untrained"]["split"]) == set(splits)
    attacks = ["rmle", "inverse-network", "shadow"]
    for metric in ("ssim", "psnr"):
        cols = [column(metric, a) for a in attacks]
        assert np.allclose(table[column(metric, "worst")], table[cols].max(axis=1))
    # the resolution control: P beyond shape is P minus the P of the average-pooled input
    assert np.allclose(table["P_beyond_shape"], table["P"] - table["P_avgpool"])
    # the controls depend on the shape only, so they agree across training stages
    ctrl = table.groupby("split")["P_avgpool"].nunique()
    assert (ctrl == 1).all()
    # epoch 0 is the seed's random initialisation: its top-1 is recorded and reproducible
    net0, meta0 = train.load_or_train_snapshot("cifar10cnn", tiny, 0, allow_partial=True, progress=False)
    assert table[table["epoch"] == 0]["top1"].iloc[0] == meta0["accuracy"]
    # a second call reuses the cached attack results and snapshots: the same table
    assert table.equals(tc.progress_table(["cifar10cnn"], tiny, allow_partial=True))
    fig = tc.plot_progress(table)
    assert len(fig.axes) == 2  # one panel and its P axis


def test_learning_curves_table_and_plot(tiny):
    _, meta = train.load_or_train("cifar10cnn", tiny, allow_partial=True, progress=False)
    curves = tc.learning_curves({"cifar10cnn": meta, "old": {"accuracy": 0.5}})
    assert list(curves["epoch"]) == [1, 2] and set(curves["model"]) == {"cifar10cnn"}
    assert curves["test_top1"].iloc[-1] == meta["accuracy"]
    assert len(tc.plot_learning_curves(curves).axes) == 2
