"""paperlib.method.energy: MAC counts against torch's FLOP counter, Eq. 8-9 by hand, the fast evaluator."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from paperlib.method import energy, models, quant
from paperlib.method.constants import ENERGY_BOUND_MJ, PAPER_TABLE5, POLICY_BITS

MODELS = ("resnet18", "resnet50", "mobilenet", "vgg11")


@pytest.fixture(scope="module", params=MODELS)
def net(request):
    with torch.device("meta"):  # structure only: no weight initialisation
        return models.build(request.param)


# --- layer counts --------------------------------------------------------------------------------

def test_macs_match_flop_counter(net):
    """Every conv and linear layer: our N_MAC == FlopCounterMode's FLOPs / 2 on its traced input."""
    tr = energy.trace_for(net)
    layers = models.quantizable_layers(net)
    assert list(tr.names) == [name for name, _ in layers]
    for (name, layer), cost in zip(layers, tr.costs):
        with FlopCounterMode(display=False) as counter:
            out = layer(torch.zeros(cost.in_shape, device="meta"))
        assert tuple(out.shape) == cost.out_shape, name
        assert counter.get_total_flops() == 2 * cost.n_mac, name
        assert cost.n_params == sum(p.numel() for p in layer.parameters()), name


def test_unit_indices_and_ir_sizes(net):
    em = energy.EnergyModel.for_net(net)
    n = models.num_units(net)
    assert len(em.ir_elements) == n + 1 and em.num_units == n
    assert [int(em.edge_layers[p]) for p in range(n + 1)] == [
        models.edge_layer_count(net, p) for p in range(n + 1)]
    assert em.unit[0] == 0 and em.unit[-1] == n + 1  # stem first, classifier last
    assert em.kinds[-1] == "linear"


def test_known_shapes():
    with torch.device("meta"):
        r18 = models.build("resnet18")
        mob = models.build("mobilenet")
    em = energy.EnergyModel.for_net(r18)
    assert em.ir_elements[0] == 64 * 32 * 32 and em.ir_elements[8] == 512 * 4 * 4
    assert em.macs[0] == 3 * 3 * 3 * 64 * 32 * 32
    em = energy.EnergyModel.for_net(mob)
    assert em.kinds[1] == "depthwise" and em.macs[1] == 9 * 32 * 32 * 32


def test_conv_by_hand():
    # Conv2d(3, 4, 3, padding=1) on 1x3x8x8: N_MAC = 3·3·3·4·8·8 = 6912, params 3·3·3·4 = 108,
    # inputs 3·8·8 = 192.
    c = energy.layer_cost(nn.Conv2d(3, 4, 3, padding=1, bias=False), (1, 3, 8, 8), (1, 4, 8, 8))
    assert (c.kind, c.n_mac, c.n_params, c.n_inputs) == ("conv", 6912, 108, 192)
    # (8, 8): E_MAC|8 = 3.1·8/32 + 0.1 = 0.875 pJ, E_mem|8 = 20 pJ:
    #   6912·0.875 + (108 + 192)·20 = 6048 + 6000 = 12048 pJ
    assert energy.layer_energy_pj(6912, 108, 192, 8, 8) == pytest.approx(12048.0)
    # (32, 32): E_MAC|32 = 3.2, E_mem|32 = 80: 6912·3.2 + 300·80 = 22118.4 + 24000 = 46118.4 pJ
    assert energy.layer_energy_pj(6912, 108, 192, 32, 32) == pytest.approx(46118.4)
    # (4, 8): MACs and weights at 4 bits (0.4875, 10 pJ), inputs at 8 bits (20 pJ):
    #   6912·0.4875 + 108·10 + 192·20 = 3369.6 + 1080 + 3840 = 8289.6 pJ
    assert energy.layer_energy_pj(6912, 108, 192, 4, 8) == pytest.approx(8289.6)


def test_depthwise_by_hand():
    # Depthwise Conv2d(4, 4, 3, groups=4) on 1x4x8x8: N_MAC = K²·H_out·W_out·C = 9·64·4 = 2304,
    # params K²·C = 36; the paper's N_mem = W·H·I + K²·(O/I)·I = 256 + 36.
    layer = nn.Conv2d(4, 4, 3, padding=1, groups=4, bias=False)
    c = energy.layer_cost(layer, (1, 4, 8, 8), (1, 4, 8, 8))
    assert (c.kind, c.n_mac, c.n_params, c.n_inputs) == ("depthwise", 2304, 36, 256)
    with FlopCounterMode(display=False) as counter:
        layer(torch.zeros(1, 4, 8, 8))
    assert counter.get_total_flops() == 2 * 2304


def test_linear_by_hand():
    c = energy.layer_cost(nn.Linear(10, 5), (1, 10), (1, 5))
    assert (c.kind, c.n_mac, c.n_params, c.n_inputs) == ("linear", 50, 55, 10)


def test_table3_and_transmission():
    assert energy.e_mac_pj(32) == pytest.approx(3.2) and energy.e_mac_pj(2) == pytest.approx(0.29375)
    assert energy.e_mem_pj(8) == pytest.approx(20.0)
    # 4096 elements at 8 bits at 100 pJ/bit = 3 276 800 pJ
    assert energy.transmission_pj(4096, 8) == pytest.approx(3_276_800.0)


# --- a tiny model, every number by hand ----------------------------------------------------------

class Tiny(nn.Module):
    """stem conv 3->4, two blocks conv 4->4 (3x3, padding 1), linear head; no arch_name."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.ReLU())
        self.blocks = nn.Sequential(*[
            nn.Sequential(nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.ReLU()) for _ in range(2)])
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)))


# On 32x32: stem MACs 27·4·1024 = 110592, params 108, inputs 3072, always (32, 32):
#   110592·3.2 + (108 + 3072)·80 = 608294.4 pJ.
# A block: MACs 36·4·1024 = 147456, params 144, inputs 4096:
#   at 8 bits 147456·0.875 + 4240·20 = 213824 pJ; at 32 bits 147456·3.2 + 4240·80 = 811059.2 pJ.
# Every IR has 4·32·32 = 4096 elements: E_T = 13 107 200 pJ at 32 bits, 3 276 800 pJ at 8 bits.
STEM, BLOCK8, BLOCK32 = 608294.4, 213824.0, 811059.2
ET32, ET8 = 13_107_200.0, 3_276_800.0


def test_tiny_by_hand():
    tiny = Tiny()
    mj = 1e-9
    assert energy.edge_energy(tiny, 0, 8) == pytest.approx((STEM + ET32) * mj)  # p=0: fp32 IR
    assert energy.edge_energy(tiny, 1, 8) == pytest.approx((STEM + BLOCK8 + ET8) * mj)
    assert energy.edge_energy(tiny, 2, 8) == pytest.approx((STEM + 2 * BLOCK8 + ET8) * mj)
    assert energy.edge_energy(tiny, 2, 32, transmission=False) == pytest.approx(
        (STEM + 2 * BLOCK32) * mj)
    assert energy.transmission_energy(tiny, 2, 8) == pytest.approx(ET8 * mj)
    assert energy.edge_energy(tiny, 2, [(32, 32), (32, 32), (8, 8), (8, 8)]) == pytest.approx(
        (STEM + BLOCK32 + BLOCK8 + ET8) * mj)


def test_max_partition_tiny():
    tiny = Tiny()
    # energies with E_T at 8 bits: p=0 13.715e-3, p=1 4.099e-3, p=2 4.313e-3 mJ
    assert energy.max_partition(tiny, 8, 0.005) == 2
    assert energy.max_partition(tiny, 8, 0.0042) == 1  # p=0 does not fit but p=1 does
    with pytest.raises(ValueError, match="no partition point fits.*p=0"):
        energy.max_partition(tiny, 8, 0.004)
    # compute only at 32 bits: p=0 0.608e-3, p=1 1.419e-3, p=2 2.230e-3 mJ
    assert energy.max_partition(tiny, 32, 0.0015, transmission=False) == 1
    with pytest.raises(ValueError, match="e_bound"):
        energy.max_partition(tiny, 8, -1.0)
    assert energy.max_partition(tiny, 8, np.float32(0.005)) == 2


# --- the real models -----------------------------------------------------------------------------

@pytest.mark.parametrize("bits", [2, 8, 32])
def test_compute_energy_grows_with_p(net, bits):
    e = energy.partition_energies(net, bits, transmission=False)
    assert np.all(np.diff(e) > 0)


def test_low_bits_cost_less(net):
    n = models.num_units(net)
    assert energy.edge_energy(net, 0, 8) == energy.edge_energy(net, 0, 32)  # stem stays fp32
    e32, e8, e2 = (energy.edge_energy(net, n, b, transmission=False) for b in (32, 8, 2))
    assert e32 > e8 > e2
    # with only the stem at fp32, the rest costs (3.2x + 80y) / (0.875x + 20y) ≈ 3.66..4x less
    stem = energy.edge_energy(net, 0, 32, transmission=False)
    assert 3.6 < (e32 - stem) / (e8 - stem) < 4.0


def test_transmission_energy(net):
    em = energy.EnergyModel.for_net(net)
    p = models.num_units(net) // 2
    assert energy.transmission_energy(net, p, 8) == pytest.approx(em.ir_elements[p] * 8 * 100e-9)
    assert energy.transmission_energy(net, p, 32) == pytest.approx(em.ir_elements[p] * 32 * 100e-9)
    assert energy.edge_energy(net, p, 8) == pytest.approx(
        energy.edge_energy(net, p, 8, transmission=False) + energy.transmission_energy(net, p, 8))


def test_layer_table_sums_to_edge_energy(net):
    p = models.num_units(net) - 1
    rng = np.random.default_rng(0)
    n = len(models.quantizable_layers(net))
    policy = [(int(rng.choice([2, 4, 6, 8])), 8) for _ in range(n)]
    df = energy.layer_table(net, p, policy)
    assert len(df) == models.edge_layer_count(net, p)
    assert (df.b_w.iloc[0], df.b_a.iloc[0]) == (32, 32)
    assert list(df.b_w.iloc[1:]) == [bw for bw, _ in policy[1:len(df)]]
    assert (df.N_mem == df.N_params + df.N_inputs).all()
    assert df.E_L_mJ.sum() == pytest.approx(energy.edge_energy(net, p, policy, transmission=False))
    assert df.E_L_mJ.sum() + df.attrs["E_T_mJ"] == pytest.approx(energy.edge_energy(net, p, policy))
    assert df.attrs["ir_bits"] == 8


def test_fast_evaluator_agrees_with_edge_energy(net):
    em = energy.EnergyModel.for_net(net)
    rng = np.random.default_rng(1)
    for _ in range(20):
        p = int(rng.integers(0, em.num_units + 1))
        bw = rng.choice(POLICY_BITS, em.n_layers)
        ba = rng.choice([8, 32], em.n_layers)
        policy = list(zip(bw.tolist(), ba.tolist()))
        for transmission in (True, False):
            assert em.strategy_mj(p, bw, ba, transmission) == pytest.approx(
                energy.edge_energy(net, p, policy, transmission), rel=1e-12)
    with pytest.raises(ValueError, match="one entry per quantizable layer"):
        em.strategy_mj(1, [8] * 3, [8] * 3)
    with pytest.raises(ValueError, match="p=-1"):
        em.strategy_mj(-1, bw, ba)


def test_cached_per_architecture():
    with torch.device("meta"):
        a, b = models.build("resnet18"), models.build("resnet18")
        c = models.build("resnet18", num_classes=10)
    assert energy.EnergyModel.for_net(a) is energy.EnergyModel.for_net(b)
    assert energy.EnergyModel.for_net(c) is not energy.EnergyModel.for_net(a)
    assert energy.EnergyModel.for_net(c).params[-1] == 512 * 10 + 10


def test_quantized_model_has_same_energy():
    net = models.build("vgg11")
    qnet = quant.quantize_edge(net, 3, 4)
    assert energy.edge_energy(qnet, 3, 4) == energy.edge_energy(net, 3, 4)
    del qnet.arch_name  # traced afresh (meta copy of the quantized model)
    assert energy.edge_energy(qnet, 3, 4) == pytest.approx(energy.edge_energy(net, 3, 4))


def test_bad_policy_is_refused():
    with torch.device("meta"):
        net = models.build("vgg11")
    with pytest.raises(ValueError, match="p=9"):
        energy.edge_energy(net, 9, 8)
    with pytest.raises(ValueError, match="bit width 5"):
        energy.edge_energy(net, 2, 5)


# --- the paper's numbers -------------------------------------------------------------------------

@pytest.mark.parametrize("model, method, blocks, layers, e_paper, _privacy",
                         [row for row in PAPER_TABLE5 if row[1] == "8-bit conv/fc"])
def test_paper_table5_is_compute_only(model, method, blocks, layers, e_paper, _privacy):
    """Table 5's 8-bit conv/fc energies are Σ E_L of stem (fp32) + all blocks (8 bit), no E_T."""
    with torch.device("meta"):
        net = models.build(model)
    assert blocks == models.num_units(net) and layers == models.edge_layer_count(net, blocks)
    assert round(energy.edge_energy(net, blocks, 8, transmission=False), 4) == e_paper
    assert energy.edge_energy(net, blocks, 8) > e_paper  # E_T would add to it


def test_paper_table4_resnet50():
    with torch.device("meta"):
        net = models.build("resnet50")
    assert energy.max_partition(net, 32, ENERGY_BOUND_MJ, transmission=False) == 1
    assert energy.max_partition(net, 8, ENERGY_BOUND_MJ, transmission=False) == 4
