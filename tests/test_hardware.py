"""paperlib.method.hardware: energy tables as data (Table 3 by default, Horowitz 2014, a user's file).

Every expected energy below is computed by hand from the numbers in the TOML files.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from paperlib.method import energy, hardware, models
from paperlib.studies import nb05_edge_cloud
from paperlib.method.hardware import HardwareError

from fakes import DOUBLE_TABLE3  # noqa: I001  (tests/fakes.py: Table 3 with every energy doubled)

TABLE3_TOML = Path(hardware.__file__).parent / "hardware_tables" / "table3.toml"


def write(tmp_path: Path, text: str, name: str = "device.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path




class OneConv(nn.Module):
    """stem conv 3->4 on 8x8 (the layer of test_energy.test_conv_by_hand), one block conv 4->4."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.ReLU())
        self.block = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.ReLU())
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(4 * 8 * 8, 2))
        self.input_shape = (3, 8, 8)

    def forward(self, x):
        return self.head(self.block(self.stem(x)))


# Stem: N_MAC 3·3·3·4·64 = 6912, params 108, inputs 192, always (32, 32).
# Block: N_MAC 3·3·4·4·64 = 9216, params 144, inputs 256; its IR 4·64 = 256 elements.
STEM = dict(macs=6912, params=108, inputs=192)
BLOCK = dict(macs=9216, params=144, inputs=256)


def by_hand(layer: dict, e_mac: float, e_mem_w: float, e_mem_a: float) -> float:
    return layer["macs"] * e_mac + layer["params"] * e_mem_w + layer["inputs"] * e_mem_a


# --- the shipped descriptions --------------------------------------------------------------------

def test_table3_is_the_default_and_equals_the_paper():
    h = hardware.default()
    assert h.name == "table3" and hardware.current() == h and "Table 3" in h.source
    for k in range(1, 33):
        assert h.e_mac_pj(k) == pytest.approx(3.1 * k / 32 + 0.1, rel=1e-12)
        assert h.e_mem_pj(k) == pytest.approx(2.5 * k, rel=1e-12)
    assert h.e_tran_pj_per_bit is None  # Eq. 9's E_tran is the paper's 100 pJ/bit
    assert energy.e_tran_pj() == 100.0


def test_horowitz_values_and_interpolation():
    h = hardware.load("horowitz2014")
    # published points: 8-bit multiply 0.2 pJ, 32-bit 3.1 pJ, 32-bit add 0.1 pJ, 1 MB SRAM 100 pJ / 64 bit
    assert h.e_mac_pj(8) == pytest.approx(0.3) and h.e_mac_pj(32) == pytest.approx(3.2)
    assert h.e_mem_pj(64) == pytest.approx(100.0) and h.e_mem_pj(8) == pytest.approx(12.5)
    # power law through (8, 0.2) and (32, 3.1): at 16 bits the geometric mean 0.2 · sqrt(15.5)
    assert h.multiply(16) == pytest.approx(0.2 * math.sqrt(15.5))
    # extended below 8 bits with the same exponent log(15.5) / log(4)
    assert h.multiply(2) == pytest.approx(0.2 * (2 / 8) ** (math.log(15.5) / math.log(4)))
    assert np.all(np.diff(h.mac_table()[1:]) > 0)


def test_names_files_and_the_environment(tmp_path, monkeypatch):
    assert hardware.load(TABLE3_TOML) == hardware.load("table3")
    assert set(hardware.HARDWARE) >= {"table3", "horowitz2014"}
    assert hardware.load("table3").tag == "" and hardware.load("horowitz2014").tag
    monkeypatch.setenv("PAPERLIB_HARDWARE", "horowitz2014")
    assert hardware.current().name == "horowitz2014"
    with hardware.use(write(tmp_path, DOUBLE_TABLE3)) as h:
        assert hardware.current() is h and h.name == "double"
    assert hardware.current().name == "horowitz2014"
    with pytest.raises(HardwareError, match="unknown hardware description 'nope'"):
        hardware.load("nope")


# --- energy on a hand-computed layer -------------------------------------------------------------

def test_a_hardware_file_scales_edge_energy_by_the_expected_factor(tmp_path):
    net = OneConv()
    double = hardware.load(write(tmp_path, DOUBLE_TABLE3))
    mj = 1e-9
    # Table 3 at (8, 8): E_MAC|8 = 0.875, E_mem|8 = 20; the stem at fp32: 3.2 and 80
    stem_t3 = by_hand(STEM, 3.2, 80.0, 80.0)
    block_t3 = by_hand(BLOCK, 0.875, 20.0, 20.0)
    assert energy.edge_energy(net, 1, 8, transmission=False) == pytest.approx(
        (stem_t3 + block_t3) * mj)
    # every energy doubled: exactly twice, compute and (its radio at 300 pJ/bit) transmission
    assert energy.edge_energy(net, 1, 8, transmission=False, hardware=double) == pytest.approx(
        2 * (stem_t3 + block_t3) * mj)
    assert energy.transmission_energy(net, 1, 8, hardware=double) == pytest.approx(
        256 * 8 * 300 * mj)
    assert energy.transmission_energy(net, 1, 8) == pytest.approx(256 * 8 * 100 * mj)


def test_horowitz_by_hand():
    net = OneConv()
    h = hardware.load("horowitz2014")
    # (8, 8): E_MAC|8 = 0.2 + 0.1 = 0.3 pJ, E_mem|8 = 8 · 100 / 64 = 12.5 pJ;
    # the stem at fp32: E_MAC|32 = 3.1 + 0.1 = 3.2 pJ, E_mem|32 = 50 pJ
    stem = 6912 * 3.2 + (108 + 192) * 50.0  # 37118.4 pJ
    block = 9216 * 0.3 + (144 + 256) * 12.5  # 7764.8 pJ
    assert energy.edge_energy(net, 1, 8, transmission=False, hardware=h) == pytest.approx(
        (stem + block) * 1e-9)
    df = energy.layer_table(net, 1, 8, hardware="horowitz2014")
    assert df.E_L_mJ.tolist() == pytest.approx([stem * 1e-9, block * 1e-9])
    assert df.attrs["hardware"] == "horowitz2014"
    # mixed bits: (4, 8) costs the MACs and weights at 4 bits, the inputs at 8
    e_mac4, e_mem4 = h.e_mac_pj(4), h.e_mem_pj(4)
    block48 = 9216 * e_mac4 + 144 * e_mem4 + 256 * 12.5
    assert energy.edge_energy(net, 1, [(32, 32), (4, 8), (32, 32)], transmission=False,
                              hardware=h) == pytest.approx((stem + block48) * 1e-9)


def test_use_changes_every_default_and_the_fast_path_agrees():
    with torch.device("meta"):
        net = models.build("resnet18")
    e_t3 = energy.edge_energy(net, 4, 8, transmission=False)
    with hardware.use("horowitz2014"):
        e_h = energy.edge_energy(net, 4, 8, transmission=False)
        assert energy.EnergyModel.for_net(net).hardware.name == "horowitz2014"
        assert energy.max_partition(net, 8, 0.35, transmission=False) == 8
    assert e_h == pytest.approx(energy.edge_energy(net, 4, 8, transmission=False,
                                                   hardware="horowitz2014"))
    assert e_h < e_t3
    em = energy.EnergyModel.for_net(net, "horowitz2014")
    rng = np.random.default_rng(0)
    for _ in range(10):
        p = int(rng.integers(0, em.num_units + 1))
        bw = rng.choice([2, 4, 6, 8, 32], em.n_layers)
        ba = rng.choice([8, 32], em.n_layers)
        policy = list(zip(bw.tolist(), ba.tolist()))
        assert em.strategy_mj(p, bw, ba) == pytest.approx(
            energy.edge_energy(net, p, policy, hardware="horowitz2014"), rel=1e-12)


def test_the_search_energy_follows_the_description():
    from paperlib.search import Genome, GenomeSpace
    from paperlib.search.evaluator import EdgeEnergy

    with torch.device("meta"):
        net = models.build("resnet18")
    space = GenomeSpace.from_net(net)
    genome = Genome.uniform(space, 5, 4)
    with hardware.use("horowitz2014"):
        measure = EdgeEnergy(net, space)
    assert measure.hardware.name == "horowitz2014" and measure.hardware.tag
    e, e_no_tx = measure(genome)
    assert e_no_tx == pytest.approx(energy.edge_energy(net, 5, genome.policy, transmission=False,
                                                       hardware="horowitz2014"))
    assert e_no_tx < EdgeEnergy(net, space)(genome)[1]  # Table 3 outside the block


def test_paper_table5_holds_on_table3_and_moves_on_horowitz():
    df = nb05_edge_cloud.analytic_offloads(["resnet18"], ["table3", "horowitz2014"])
    conv_fc = df[df["method"] == "8-bit conv/fc"].set_index("hardware")["energy_mj"]
    assert round(conv_fc["table3"], 4) == 0.7269
    assert conv_fc["horowitz2014"] < 0.35  # every block fits E_b at 8 bits on Horowitz's numbers
    moved = nb05_edge_cloud.shifts(df)
    assert moved.set_index("method").loc["8-bit uniform", "moved"]


# --- validation ----------------------------------------------------------------------------------

VALID = """name = "t3"
source = "Table 3"
[mac.multiply]
pj = [[32, 3.1]]
scaling = "proportional"
[mac.add]
pj = [[32, 0.1]]
scaling = "constant"
[memory]
pj = [[1, 2.5]]
scaling = "proportional"
"""


def broken(field_edit: tuple[str, str]) -> str:
    old, new = field_edit
    assert old in VALID
    return VALID.replace(old, new)


@pytest.mark.parametrize("edit, message", [
    (("[memory]\npj = [[1, 2.5]]", "[memory]"), "field 'memory.pj' is missing"),
    (('[mac.add]\npj = [[32, 0.1]]\nscaling = "constant"', ""), "field 'mac.add' is missing"),
    (('name = "t3"', ""), "field 'name' is missing"),
    (("pj = [[32, 0.1]]", "pj = [[32, -0.1]]"), r"field 'mac.add.pj\[0\] \(pJ\)' is negative"),
    (("pj = [[1, 2.5]]", "pj = [[-1, 2.5]]"), r"field 'memory.pj\[0\] \(bits\)' is negative"),
    (('scaling = "constant"', 'scaling = "cubic"'), "'mac.add.scaling' is 'cubic'"),
    (("[memory]", "[memry]"), "unknown field"),
    (("pj = [[1, 2.5]]", 'pj = [[1, "2.5"]]'), "must be a number"),
    (('pj = [[32, 3.1]]\nscaling = "proportional"', 'pj = [[8, 0.2], [32, 3.1]]\nscaling = "linear"'),
     "'mac.multiply' extends to a negative energy at 1 bits"),
    # a memory access of 0 pJ (issue 25): refused naming the key
    (("pj = [[1, 2.5]]", "pj = [[1, 0.0]]"), r"field 'memory.pj' gives 0 pJ at 1 bits.*> 0 pJ"),
    (("pj = [[1, 2.5]]", "pj = [[1, -2.5]]"), r"field 'memory.pj\[0\] \(pJ\)' is negative"),
])
def test_invalid_descriptions_name_the_field(tmp_path, edit, message):
    path = write(tmp_path, broken(edit))
    with pytest.raises(HardwareError, match=message) as err:
        hardware.from_toml(path)
    assert str(path) in str(err.value)


def test_negative_transmission_and_bad_toml(tmp_path):
    with pytest.raises(HardwareError, match="'transmission.pj_per_bit' is negative"):
        hardware.from_toml(write(tmp_path, DOUBLE_TABLE3.replace("300.0", "-1.0")))
    with pytest.raises(HardwareError, match="not valid TOML"):
        hardware.from_toml(write(tmp_path, "name = ", "bad.toml"))
    with pytest.raises(HardwareError, match="does not exist"):
        hardware.from_toml(tmp_path / "missing.toml")


def test_cli_refuses_an_invalid_hardware_file(tmp_path, capsys, monkeypatch):
    from paperlib.app import cli

    monkeypatch.setenv("PAPERLIB_HARDWARE", "")
    path = write(tmp_path, broken(("pj = [[32, 0.1]]", "pj = [[32, -0.1]]")))
    assert cli.main(["train", "--model", "vgg11", "--profile", "smoke", "--hardware", str(path)]) == 2
    err = capsys.readouterr().err
    assert "'mac.add.pj[0] (pJ)' is negative" in err and str(path) in err
