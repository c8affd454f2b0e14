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


def test_the_models_stage_saves_the_intermediate_checkpoints_notebook_08_measures():
    # quick: cifar10cnn 10 epochs and ResNet18 6, fractions 1/4 and 1/2 (round half to even);
    # ResNet50 is not attacked in notebook 08, and smoke measures no intermediate stage
    assert tc.snapshot_epochs("cifar10cnn", "quick") == [2, 5]
    assert tc.snapshot_epochs("resnet18", "quick") == [2, 3]
    assert tc.snapshot_epochs("resnet50", "quick") == []
    assert tc.snapshot_epochs("cifar10cnn", "smoke") == []


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


def test_the_trained_stage_shares_notebook_08s_attack_results(tiny, monkeypatch):
    from paperlib.attacks import runner

    table = tc.progress_table(["cifar10cnn"], tiny, allow_partial=True)
    net, meta = train.load_or_train("cifar10cnn", tiny, allow_partial=True, progress=False)
    monkeypatch.setattr(runner, "execute", lambda *a, **k: pytest.fail("recomputed"))
    again = runner.run("cifar10cnn", tiny, sorted(set(table["p"])), net=net, meta=meta,
                       settings=tiny.attack, images=tiny.attack.images, allow_partial=True,
                       progress=False)
    trained = table[table["stage"] == "trained"].set_index("p")
    for r in again:
        assert r.ssim == trained.loc[r.p, column("ssim", r.attack)]


def _progress_table() -> "pd.DataFrame":
    import pandas as pd

    rows = []
    for epoch, top1, ssims, ps in [(0, 0.1, (0.80, 0.30), (0.40, 0.90)),
                                   (4, 0.6, (0.805, 0.20), (0.405, 1.20))]:
        for split, p, ssim, pp in zip(("a", "b"), (1, 5), ssims, ps):
            rows.append({"model": "cifar10cnn", "epoch": epoch, "of_epochs": 4, "p": p,
                         "split": split, "top1": top1, "P": pp, "P_avgpool": 0.40 if p == 1 else 0.5,
                         "P_orthogonal": 0.3, "P_beyond_shape": pp - (0.40 if p == 1 else 0.5),
                         column("ssim", "worst"): ssim, f"{column('ssim', 'worst')}_attack": "rmle",
                         f"{column('ssim', 'worst')}_sd": 0.05, "images": 25})
    return pd.DataFrame(rows)


def test_progress_summary_and_findings_known_answers():
    summary = tc.progress_summary(_progress_table())
    assert list(summary["split"]) == ["a", "b"]
    # s.e. of a change: sqrt(2 * 0.05**2 / 25) = 0.0141, so 2 s.e. = 0.028: point a (SSIM 0.80 ->
    # 0.805) has not moved, point b (0.30 -> 0.20) has; a's P sits at its average-pooled control
    assert summary["ssim_change_se"].tolist() == pytest.approx([0.02 ** 0.5 / 10] * 2)
    assert summary["ssim_noise_2se"].tolist() == pytest.approx([0.02 ** 0.5 / 5] * 2)
    assert list(summary["ssim_moved"]) == [False, True]
    assert list(summary["P_moved"]) == [False, True]
    assert list(summary["P_at_shape"]) == [True, False]  # a: P 0.405 against its control's 0.40
    found = tc.progress_findings(_progress_table())
    assert "training changes what the strongest attack recovers at 1 of 2 points" in found.lines[0]
    assert found.lines[1].endswith(
        "by at least 0.01 at 1 of 2 points; at the others (CIFAR10CNN (He et al.) a) P measures "
        "the IR's resolution, not what the network learnt. P moves with training at 1 of 2 points.")
    assert found.table.equals(summary)


def test_learning_summary_and_loss_states():
    import pandas as pd

    assert tc.loss_state([2.0, 1.0, 0.5]) == tc.TOO_SHORT  # no value before the window
    assert tc.loss_state([2.0, 1.0, 0.5, 0.25]) == tc.FALLING
    assert tc.loss_state([2.0, 1.0, 1.0, 1.0, 1.0]) == tc.PLATEAU
    curves = pd.DataFrame({"model": ["m"] * 4, "epoch": [1, 2, 3, 4],
                           "train_loss": [2.0, 1.0, 0.5, 0.25], "test_top1": [0.2, 0.5, 0.4, 0.45]})
    s = tc.learning_summary(curves).iloc[0]
    assert (s.epochs, s.top1, s.best_top1, s.best_epoch, s.train_loss) == (4, 0.45, 0.5, 2, tc.FALLING)
    lines = tc.learning_findings(tc.learning_summary(curves), ["m", "other"]).lines
    assert "top-1 0.450 after 4 epochs (best 0.500, epoch 2)" in lines[0] and "other" in lines[1]


def test_layer_resolution_controls_known_answers():
    from paperlib.method import models

    torch.manual_seed(0)
    low = torch.rand(4, 1, 4, 4)
    gray = torch.nn.functional.interpolate(low, size=32, mode="bilinear").repeat(1, 3, 1, 1)
    torch.manual_seed(1)
    net = models.build("vgg11", num_classes=10).eval()
    torch.manual_seed(2)
    init = models.build("vgg11", num_classes=10).eval()
    per_image = tc.layer_resolution_controls(net, init, gray, "cifar10")
    assert len(per_image) == 4 * per_image["layer"].nunique()
    conv1 = per_image[per_image["depth"] == 1]
    # the average-pooled map of a gray input at full resolution is the input: P = 0
    assert np.allclose(conv1["P_avgpool"], 0.0, atol=1e-5)
    summary = tc.resolution_summary(per_image)
    means = per_image.groupby("depth")[["P", "P_avgpool"]].mean()
    assert np.allclose(summary["P_beyond_shape"], (means["P"] - means["P_avgpool"]).to_numpy())
    assert list(summary["depth"]) == sorted(summary["depth"])
    found = tc.resolution_findings(summary, "vgg11")
    assert f"at {summary['layer'].iloc[0]} (32 × 32)" in found.lines[0]
    assert len(tc.plot_resolution_controls(summary, "vgg11").axes) == 1


def test_resolution_findings_count_by_direction():
    """This run's VGG11 table (quick profile, notebook 01): P is clearly above the shape control at
    6 layers and clearly below at conv7 (by 0.007); at the 2 × 2 IRs it matches the control;
    training moves P clearly at 3 layers, lowering it at 2."""
    import pandas as pd

    layers = [f"conv{i}" for i in range(1, 9)]
    summary = pd.DataFrame({
        "depth": range(1, 9), "layer": layers, "size": [32, 16, 8, 8, 4, 4, 2, 2],
        "P": [0.130, 0.368, 0.598, 0.703, 0.766, 0.774, 1.087, 1.093],
        "P_untrained": [0.147, 0.356, 0.614, 0.764, 0.780, 0.791, 1.087, 1.087],
        "P_avgpool": [0.015, 0.110, 0.279, 0.279, 0.564, 0.564, 1.093, 1.093],
        "P_beyond_shape": [0.115, 0.258, 0.319, 0.424, 0.202, 0.210, -0.0066, -0.0004],
        "beyond_shape_clear": [True] * 7 + [False],
        "trained_minus_untrained": [-0.018, 0.012, -0.016, -0.062, -0.014, -0.016, 0.0, 0.006],
        "training_clear": [True, False, False, True, False, False, False, True], "se_multiple": 2.0})
    found = tc.resolution_findings(summary, "vgg11")
    assert ("P is clearly above this control (by more than 2 standard errors, paired by image) at 6 of 8 "
            "layers and clearly below it at 1 (conv7); at conv7 and conv8 (2 × 2) P matches the "
            "non-learned control, so there it measures the IR's resolution") in found.lines[0]
    assert "differ by more than" not in found.lines[0]  # no longer counts conv7's negative difference as "more"
    assert ("training changes P by more than 2 standard errors at 3 of 8 layers: it lowers P at 2 "
            "(conv1, conv4) and raises it at 1 (conv8), so where training matters it mostly makes the "
            "IR closer to the input (less private).") in found.lines[1]
    # nothing clear: the counts say none, and no direction is claimed
    flat = summary.assign(beyond_shape_clear=False, training_clear=False, P_at_shape=False)
    lines = tc.resolution_findings(flat, "vgg11").lines
    assert "at 0 of 8 layers and clearly below it at none." in lines[0]
    assert "at 0 of 8 layers: P's trend with depth here is the architecture's" in lines[1]
