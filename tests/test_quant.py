"""paperlib.method.quant: the quantizer of Eq. 5-6 by hand, STE gradients, the quantized edge model."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from paperlib.method import models, quant
from paperlib.method.constants import FULL_PRECISION

T = torch.tensor([-1.0, -0.3, 0.2, 0.55, 1.0])


# --- the quantizer by hand -----------------------------------------------------------------------

# Signed, c = max|T| = 1, s = 1 / (2^(b-1) - 1):
#   2 bits: s = 1    T/s = [-1, -0.3, 0.2, 0.55, 1]         -> [-1, 0, 0, 1, 1]
#   4 bits: s = 1/7  T/s = [-7, -2.1, 1.4, 3.85, 7]         -> [-7, -2, 1, 4, 7] / 7
#   6 bits: s = 1/31 T/s = [-31, -9.3, 6.2, 17.05, 31]      -> [-31, -9, 6, 17, 31] / 31
#   8 bits: s = 1/127 T/s = [-127, -38.1, 25.4, 69.85, 127] -> [-127, -38, 25, 70, 127] / 127
@pytest.mark.parametrize("bits, ints", [
    (2, [-1, 0, 0, 1, 1]),
    (4, [-7, -2, 1, 4, 7]),
    (6, [-31, -9, 6, 17, 31]),
    (8, [-127, -38, 25, 70, 127]),
])
def test_signed_by_hand(bits, ints):
    q_max = 2 ** (bits - 1) - 1
    expected = torch.tensor(ints, dtype=torch.float32) / q_max
    assert torch.allclose(quant.quantize(T, bits), expected, rtol=0, atol=1e-7)


# Unsigned, A = [-0.5, 0.12, 0.33, 0.77, 1.0], c = 1, s = 1 / (2^b - 1), negatives clamp to 0:
#   2 bits: A·3   = [-, 0.36, 0.99, 2.31, 3]          -> [0, 0, 1, 2, 3] / 3
#   4 bits: A·15  = [-, 1.8, 4.95, 11.55, 15]         -> [0, 2, 5, 12, 15] / 15
#   6 bits: A·63  = [-, 7.56, 20.79, 48.51, 63]       -> [0, 8, 21, 49, 63] / 63
#   8 bits: A·255 = [-, 30.6, 84.15, 196.35, 255]     -> [0, 31, 84, 196, 255] / 255
A = torch.tensor([-0.5, 0.12, 0.33, 0.77, 1.0])


@pytest.mark.parametrize("bits, ints", [
    (2, [0, 0, 1, 2, 3]),
    (4, [0, 2, 5, 12, 15]),
    (6, [0, 8, 21, 49, 63]),
    (8, [0, 31, 84, 196, 255]),
])
def test_unsigned_by_hand(bits, ints):
    expected = torch.tensor(ints, dtype=torch.float32) / (2**bits - 1)
    assert torch.allclose(quant.quantize(A, bits, signed=False), expected, rtol=0, atol=1e-7)


def reference(t: torch.Tensor, bits: int, signed: bool, c: torch.Tensor) -> torch.Tensor:
    """Eq. 5-6 in plain torch: round(clamp(T, lo, c) / s) · s."""
    q_max = 2 ** (bits - 1) - 1 if signed else 2**bits - 1
    s = c / q_max
    lo = -c if signed else torch.zeros_like(c)
    return torch.round(torch.clamp(t, lo, c) / s) * s


def tie_free(shape, bits, signed, c, seed):
    """Values k·s + u·s with |u| <= 0.4 (no rounding ties) and one entry at +c."""
    g = torch.Generator().manual_seed(seed)
    q_max = 2 ** (bits - 1) - 1 if signed else 2**bits - 1
    k = torch.randint(-q_max + 1 if signed else 0, q_max, shape, generator=g).float()
    u = (torch.rand(shape, generator=g) - 0.5) * 0.8
    if not signed:
        u = u.abs()
    t = (k + u) * (c / q_max)
    t.view(-1)[0] = c
    return t, k


@pytest.mark.parametrize("bits", [2, 4, 6, 8, 16])
@pytest.mark.parametrize("signed", [True, False])
def test_matches_reference_formula(bits, signed):
    t, k = tie_free((64, 9), bits, signed, 2.0, seed=bits)
    c = torch.tensor(2.0)
    got = quant.quantize(t, bits, signed=signed)
    assert torch.allclose(got, reference(t, bits, signed, c), rtol=0, atol=1e-6)
    k.view(-1)[0] = 2 ** (bits - 1) - 1 if signed else 2**bits - 1
    q_max = 2 ** (bits - 1) - 1 if signed else 2**bits - 1
    assert torch.allclose(got, k * (2.0 / q_max), rtol=0, atol=1e-6)


@pytest.mark.parametrize("bits", [2, 4, 8])
def test_per_channel_matches_reference(bits):
    t = torch.cat([tie_free((1, 50), bits, True, c, seed=i)[0] for i, c in enumerate([0.5, 1.0, 3.0])])
    c = t.abs().amax(dim=1, keepdim=True)
    got = quant.quantize(t, bits, per_channel=True, ch_axis=0)
    assert torch.allclose(got, reference(t, bits, True, c), rtol=0, atol=1e-6)
    # the same along another axis
    got_t = quant.quantize(t.T.contiguous(), bits, per_channel=True, ch_axis=1)
    assert torch.allclose(got_t, got.T, rtol=0, atol=1e-6)


@pytest.mark.parametrize("bits", [2, 4, 6, 8])
def test_number_of_levels(bits):
    ramp = torch.linspace(-1, 1, 20001)
    assert quant.quantize(ramp, bits).unique().numel() == 2**bits - 1
    assert quant.quantize(ramp.abs(), bits, signed=False).unique().numel() == 2**bits
    x = torch.randn(1000, generator=torch.Generator().manual_seed(0))
    assert quant.quantize(x, bits).unique().numel() <= 2**bits - 1
    assert quant.quantize(x, bits, signed=False).unique().numel() <= 2**bits


def test_per_channel_differs_from_per_layer():
    # 4 bits. Row 0: c = 1, [1, 0.6]·7 = [7, 4.2] -> [1, 4/7].
    # Row 1 per channel: c = 0.1, [0.1, -0.04]·70 = [7, -2.8] -> [0.1, -0.3/7].
    # Row 1 per layer: c = 1, [0.1, -0.04]·7 = [0.7, -0.28] -> [1/7, 0].
    w = torch.tensor([[1.0, 0.6], [0.1, -0.04]])
    per_channel = torch.tensor([[1.0, 4 / 7], [0.1, -0.3 / 7]])
    per_layer = torch.tensor([[1.0, 4 / 7], [1 / 7, 0.0]])
    assert torch.allclose(quant.quantize(w, 4, per_channel=True), per_channel, atol=1e-7)
    assert torch.allclose(quant.quantize(w, 4, per_channel=False), per_layer, atol=1e-7)


def test_32_bits_is_identity():
    x = torch.randn(3, 4)
    assert quant.quantize(x, 32) is x
    assert quant.quantize_activation(x, 32) is x


def test_zero_tensor_and_zero_channel():
    assert torch.equal(quant.quantize(torch.zeros(5), 4), torch.zeros(5))
    w = torch.tensor([[0.0, 0.0], [0.5, -1.0]])
    out = quant.quantize(w, 4, per_channel=True)
    assert torch.isfinite(out).all() and torch.equal(out[0], torch.zeros(2))
    assert torch.equal(quant.quantize_activation(torch.zeros(2, 3, 4, 4), 8), torch.zeros(2, 3, 4, 4))


@pytest.mark.parametrize("bits", [0, 1, 17, 3.0, True, "8", None])
def test_bad_bits(bits):
    with pytest.raises(ValueError, match="bit width"):
        quant.quantize(torch.ones(3), bits)


def test_bad_axis_and_dtype():
    with pytest.raises(ValueError, match="ch_axis"):
        quant.quantize(torch.ones(3, 4), 8, per_channel=True, ch_axis=2)
    with pytest.raises(ValueError, match="floating-point"):
        quant.quantize(torch.ones(3, dtype=torch.int64), 8)


def test_keeps_dtype():
    x = torch.randn(4, 8).to(torch.bfloat16)
    assert quant.quantize(x, 8).dtype == torch.bfloat16


# --- straight-through gradients ------------------------------------------------------------------

def test_ste_gradient_signed_is_one():
    x = torch.randn(50, requires_grad=True)
    quant.quantize(x, 4).sum().backward()
    assert torch.equal(x.grad, torch.ones(50))  # c = max|T|: nothing is clamped


def test_ste_gradient_unsigned_clamps_negatives():
    x = torch.tensor([-0.5, -0.01, 0.0, 0.2, 1.0], requires_grad=True)
    quant.quantize(x, 8, signed=False).sum().backward()
    assert torch.equal(x.grad, torch.tensor([0.0, 0.0, 1.0, 1.0, 1.0]))


def test_activation_quantization_is_per_sample():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 5, 5, generator=g) * torch.tensor([1.0, 10.0, 0.1, 3.0]).view(4, 1, 1, 1)
    batch = quant.quantize_activation(x, 4)
    for i in range(4):
        alone = quant.quantize_activation(x[i:i + 1], 4)
        assert torch.equal(batch[i:i + 1], alone)
        assert batch[i].unique().numel() <= 16


# --- fake-quant layers ---------------------------------------------------------------------------

def test_quant_conv_shares_parameters_and_matches_formula():
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 5, 3, padding=1, bias=False)
    q = quant.QuantConv2d.wrap(conv, 4, 8, per_channel=True)
    assert q.weight is conv.weight and isinstance(q, nn.Conv2d)
    x = torch.rand(2, 3, 6, 6)
    w_ref = reference(conv.weight, 4, True, conv.weight.abs().amax(dim=(1, 2, 3), keepdim=True))
    x_ref = reference(x, 8, False, x.abs().amax(dim=(1, 2, 3), keepdim=True))
    assert torch.allclose(q(x), F.conv2d(x_ref, w_ref, padding=1), atol=1e-5)
    q(x).sum().backward()
    assert conv.weight.grad is not None and conv.weight.grad.abs().sum() > 0


def test_quant_linear_per_layer():
    torch.manual_seed(0)
    lin = nn.Linear(6, 3)
    q = quant.QuantLinear.wrap(lin, 2, 8, per_channel=False)
    x = torch.rand(4, 6)
    w_ref = reference(lin.weight, 2, True, lin.weight.abs().max())
    x_ref = reference(x, 8, False, x.amax(dim=1, keepdim=True))
    assert torch.allclose(q(x), F.linear(x_ref, w_ref, lin.bias), atol=1e-5)
    assert "w_bits=2, a_bits=8, per-layer" in repr(q)


def test_wrap_rejects_other_layers():
    with pytest.raises(ValueError, match="Conv2d and Linear"):
        quant.wrap_layer(nn.ReLU(), 8, 8)


# --- the quantized edge model --------------------------------------------------------------------

@pytest.fixture(scope="module")
def resnet18():
    torch.manual_seed(0)
    return models.build("resnet18").eval()


@pytest.fixture(scope="module")
def x():
    return torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))


@torch.no_grad()
def test_quantize_edge_leaves_original_untouched(resnet18, x):
    before = {k: v.clone() for k, v in resnet18.state_dict().items()}
    y = resnet18(x)
    qnet = quant.quantize_edge(resnet18, 4, 8)
    assert not quant.is_quantized(resnet18)
    assert not any(isinstance(m, quant.QUANT_LAYERS) for m in resnet18.modules())
    assert all(torch.equal(before[k], v) for k, v in resnet18.state_dict().items())
    assert torch.equal(resnet18(x), y)
    assert qnet.arch_name == "resnet18"
    assert list(qnet.state_dict()) == list(resnet18.state_dict())  # same names and keys


def test_quantize_edge_layers_follow_policy(resnet18):
    p = 3
    qnet = quant.quantize_edge(resnet18, p, 4)
    layers = models.quantizable_layers(qnet)
    n_edge = models.edge_layer_count(qnet, p)
    assert [n for n, _ in layers] == [n for n, _ in models.quantizable_layers(resnet18)]
    assert not isinstance(layers[0][1], quant.QUANT_LAYERS)  # first layer stays fp32
    assert not isinstance(layers[-1][1], quant.QUANT_LAYERS)  # classifier stays fp32
    for i, (_, m) in enumerate(layers):
        on_edge_quantized = 0 < i < n_edge
        assert isinstance(m, quant.QUANT_LAYERS) == on_edge_quantized
        if on_edge_quantized:
            assert (m.w_bits, m.a_bits, m.per_channel) == (4, 4, True)
    assert qnet.quant_config.ir_bits == 4 and qnet.quant_config.p == p
    assert len(models.units(qnet)) == len(models.units(resnet18))


def test_quantize_edge_mixed_policy(resnet18):
    n = len(models.quantizable_layers(resnet18))
    policy = [(2 + 2 * (i % 4), 8) for i in range(n)]
    policy[2] = (32, 32)
    qnet = quant.quantize_edge(resnet18, 2, policy, per_channel=False)
    layers = models.quantizable_layers(qnet)
    assert (layers[1][1].w_bits, layers[1][1].a_bits) == (4, 8)
    assert not isinstance(layers[2][1], quant.QUANT_LAYERS)
    assert (layers[3][1].w_bits, layers[3][1].per_channel) == (8, False)


@torch.no_grad()
def test_split_composition_and_ir_levels(resnet18, x):
    p = 4
    qnet = quant.quantize_edge(resnet18, p, 8)
    edge, cloud = models.split(qnet, p)
    ir = edge(x)
    assert torch.allclose(cloud(ir), qnet(x), atol=1e-5, rtol=0)
    for sample in ir:
        assert sample.unique().numel() <= 2**8
    # the IR of the quantized edge is close to the full-precision one
    ir_fp = models.split(resnet18, p)[0](x)
    assert not torch.equal(ir, ir_fp)
    assert (ir - ir_fp).abs().max() < 0.1 * ir_fp.abs().max()


@torch.no_grad()
def test_ir_hook_matches_unit_outputs():
    net = models.build("vgg11").eval()
    qnet = quant.quantize_edge(net, 2, 8)
    xx = torch.rand(2, 3, 32, 32)
    ir = models.unit_outputs(qnet, xx)[2]
    assert torch.equal(ir, quant.quantize_activation(ir, 8))  # already on the 8-bit grid
    assert torch.equal(ir, models.split(qnet, 2)[0](xx))


@torch.no_grad()
def test_full_precision_policy_is_unchanged(x):
    net = models.build("mobilenet").eval()
    y = net(x)
    qnet = quant.quantize_edge(net, 5, FULL_PRECISION)
    assert not any(isinstance(m, quant.QUANT_LAYERS) for m in qnet.modules())
    assert qnet.quant_config.ir_bits == FULL_PRECISION
    assert torch.equal(qnet(x), y)
    qnet0 = quant.quantize_edge(net, 0, 8)  # p = 0: only the fp32 stem on the edge
    assert qnet0.quant_config.ir_bits == FULL_PRECISION
    assert torch.equal(qnet0(x), y)


def test_finetuning_updates_the_copy_only(x):
    torch.manual_seed(0)
    net = models.build("vgg11")
    qnet = quant.quantize_edge(net, 3, 4)
    original = net.blocks[0][0].weight.clone()
    opt = torch.optim.SGD(qnet.parameters(), lr=0.1)
    qnet.train()
    loss = F.cross_entropy(qnet(x), torch.tensor([0, 1]))
    loss.backward()
    assert all(p.grad is not None for p in qnet.parameters())
    opt.step()
    assert not torch.equal(qnet.blocks[0][0].weight, original)
    assert torch.equal(net.blocks[0][0].weight, original)


@pytest.mark.parametrize("name", ["vgg11", "mobilenet"])
def test_other_models(name):
    net = models.build(name).eval()
    p = models.num_units(net)
    qnet = quant.quantize_edge(net, p, 8)
    xx = torch.rand(2, 3, 32, 32)
    edge, cloud = models.split(qnet, p)
    assert torch.allclose(cloud(edge(xx)), qnet(xx), atol=1e-5)


def test_bad_arguments(resnet18):
    n = len(models.quantizable_layers(resnet18))
    with pytest.raises(ValueError, match=f"{n - 1} entries.*{n} quantizable"):
        quant.quantize_edge(resnet18, 2, [(8, 8)] * (n - 1))
    bad = [(8, 8)] * n
    bad[5] = (3, 8)
    with pytest.raises(ValueError, match="entry 5"):
        quant.quantize_edge(resnet18, 2, bad)
    with pytest.raises(ValueError, match="p=99"):
        quant.quantize_edge(resnet18, 99, 8)
    with pytest.raises(ValueError, match="bit width 3"):
        quant.quantize_edge(resnet18, 2, 3)
    with pytest.raises(ValueError, match="per_channel"):
        quant.quantize_edge(resnet18, 2, 8, per_channel="yes")
    with pytest.raises(ValueError, match="already quantized"):
        quant.quantize_edge(quant.quantize_edge(resnet18, 2, 8), 2, 8)


# --- accuracy of the 8-bit model on a trained checkpoint -----------------------------------------

@pytest.mark.slow
def test_8bit_within_one_point_of_fp32(tmp_path, monkeypatch, synthetic_dir):
    """A smoke-trained VGG11 quantized to 8 bits on every edge block loses < 1 point of top-1.

    Uses the CIFAR copy in ``$PAPERLIB_DATA_DIR`` when there is one, else a synthetic copy.
    """
    from paperlib.method import data, train

    if not (data.data_dir() / "cifar-10-batches-py" / "test_batch").exists():
        monkeypatch.setenv("PAPERLIB_DATA_DIR", str(synthetic_dir))
    net, meta = train.load_or_train("vgg11", "smoke", seed=0, checkpoint_root=tmp_path,
                                    allow_partial=True, progress=False, device="cpu")
    test_ds = data.load(meta["dataset"], "test", allow_partial=True)
    test_ds = data.subset(test_ds, 512, seed=0)
    p = models.num_units(net)
    qnet = quant.quantize_edge(net, p, 8).eval()
    fp_top1 = train.top1(net, test_ds)
    q_top1 = train.top1(qnet, test_ds)
    assert abs(fp_top1 - q_top1) <= 0.01, (fp_top1, q_top1)


# --- damaged inputs (docs/decisions/data-integrity.md §7) ----------------------------------------

@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("per_channel", [False, True])
def test_quantize_refuses_non_finite_values(bad, per_channel):
    t = torch.tensor([[0.5, -0.25, 1.0], [0.1, 0.2, 0.3]])
    t[0, 1] = bad
    with pytest.raises(ValueError, match=r"\bt\b.*non-finite"):
        quant.quantize(t, 4, per_channel=per_channel)
    with pytest.raises(ValueError, match="non-finite"):
        quant.quantize_activation(t.abs(), 8)
    assert quant.quantize(t, FULL_PRECISION) is t  # 32 bits: untouched, as documented


@pytest.mark.parametrize("layer", [torch.nn.Conv2d(3, 4, 3), torch.nn.Linear(12, 5)])
def test_fake_quant_layers_compute_in_float32_inside_bf16_autocast(layer):
    """The grid must see exact values: inside autocast a fake-quant layer gives float32, bit for bit
    what it gives outside, also for a bf16 input (docs/decisions/scale.md §6)."""
    torch.manual_seed(0)
    q = quant.wrap_layer(layer, 4, 4)
    x = torch.rand(2, 3, 6, 6) if isinstance(layer, torch.nn.Conv2d) else torch.rand(2, 12)
    plain = q(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        inside = q(x)
        from_bf16 = q(x.bfloat16())
    assert inside.dtype == torch.float32 and torch.equal(inside, plain)
    assert torch.equal(from_bf16, q(x.bfloat16().float()))


def test_fake_quant_layers_trace_on_the_meta_device():
    """Tracing (energy, graph) runs quantized layers on the meta device, where autocast does not
    exist: turning it off there must not be attempted."""
    with torch.device("meta"):
        q = quant.wrap_layer(torch.nn.Conv2d(3, 4, 3), 4, 4)
        assert q(torch.empty(2, 3, 6, 6)).shape == (2, 4, 4, 4)
