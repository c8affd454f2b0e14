"""Extending paperlib from outside it, continued (README "How to extend"): an attack, a hardware
table and a figure, each one definition here plus one registration, nothing in paperlib edited.

* a toy attack (``ATTACKS``): built from the registry, fitted on a split's edge, inverts its IRs
  and refuses an IR of another shape, like the shipped ones;
* a toy hardware table (``HARDWARE``): Table 3 with every energy doubled doubles the edge energy;
* a toy figure and table: saved under the naming scheme, classified for the manifest.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from paperlib import attacks, energy, models  # noqa: E402
from paperlib.attacks import ATTACKS, Attack  # noqa: E402
from paperlib.method.hardware import HARDWARE  # noqa: E402
from paperlib.studies import report  # noqa: E402

from fakes import DOUBLE_TABLE3  # noqa: E402,I001  (tests/fakes.py: Table 3 with every energy doubled)

pytestmark = pytest.mark.usefixtures("one_thread")


class ChannelMean(Attack):
    """A toy white-box attack: the IR's channel mean, resized to the image and squashed to [0, 1]."""

    name = "channel-mean"
    threat = "white-box"

    @classmethod
    def from_settings(cls, settings, seed: int = 0) -> "ChannelMean":
        return cls()

    def config(self) -> dict:
        return {}

    def _fit(self, access, aux) -> None:
        self.size = 32

    def _invert(self, ir: torch.Tensor) -> torch.Tensor:
        m = ir.mean(dim=1, keepdim=True) if ir.dim() == 4 else ir.reshape(len(ir), 1, 1, -1).mean(-1, keepdim=True)
        img = F.interpolate(m, size=(self.size, self.size), mode="nearest")
        return torch.sigmoid(img).expand(-1, 3, -1, -1)


@pytest.fixture()
def toy_attack():
    ATTACKS.add("channel-mean", ChannelMean, label="channel mean", threat="white-box",
                color="C9", marker="x")
    try:
        yield "channel-mean"
    finally:
        ATTACKS.unregister("channel-mean")


def test_an_attack_registered_outside_the_package(toy_attack):
    assert toy_attack in ATTACKS.names()
    torch.manual_seed(0)
    net = models.build("cifar10cnn", "cifar10").eval()
    victim = attacks.deploy(net, attacks.resolve_point("cifar10cnn", "conv11"), 8, dataset="cifar10")
    attack = attacks.build(toy_attack, None).fit(victim.edge())
    x = torch.rand(2, 3, 32, 32)
    images = attack.invert(victim.oracle()(x))
    assert images.shape == (2, 3, 32, 32)
    assert float(images.min()) >= 0 and float(images.max()) <= 1
    with pytest.raises(ValueError, match="fitted on"):
        attack.invert(torch.zeros(2, 1, 4, 4))


def test_a_hardware_table_registered_outside_the_package(tmp_path):
    path = tmp_path / "toy_hw.toml"
    path.write_text(DOUBLE_TABLE3, encoding="utf-8")
    HARDWARE.add("toy_hw", path, label="Table 3, every energy doubled")
    try:
        net = models.build("resnet18", "cifar10").eval()
        base = energy.edge_energy(net, 3, 8, transmission=False, hardware="table3")
        doubled = energy.edge_energy(net, 3, 8, transmission=False, hardware="toy_hw")
        assert doubled == pytest.approx(2 * base, rel=1e-9)
    finally:
        HARDWARE.unregister("toy_hw")


def test_a_figure_and_table_saved_outside_the_package(tmp_path, monkeypatch):
    monkeypatch.setenv("PAPERLIB_FIGURES_DIR", str(tmp_path))
    df = pd.DataFrame({"bits": [2, 4, 8], "privacy": [0.9, 0.7, 0.6]})
    fig, ax = plt.subplots()
    ax.plot(df["bits"], df["privacy"])
    saved = report.save_figure(fig, "nb99_toy_privacy", "smoke", "synthetic")
    saved += report.save_table(df, "nb99_toy_privacy", "smoke", "synthetic")
    plt.close(fig)
    assert {p.suffix for p in saved} >= {".png", ".pdf", ".csv"}
    assert all(p.exists() for p in saved)
    assert pd.read_csv([p for p in saved if p.suffix == ".csv"][0])["privacy"].tolist() == [0.9, 0.7, 0.6]
    assert report.classify("nb99_toy_privacy.png") == report.OutputKind("extension", "notebook 99")
    with pytest.raises(ValueError, match="naming scheme"):
        report.save_table(df, "toy privacy", "smoke", "synthetic")
