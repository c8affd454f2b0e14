"""The IR sent at fewer bits (paperlib.network.ir_width, quant.resend_ir; network.md §18)."""

from __future__ import annotations

import pytest
import torch

from paperlib.method import models, quant, strategies
from paperlib.method.profiles import NetworkPlan


def _edge_ir(qnet: torch.nn.Module, p: int, x: torch.Tensor) -> torch.Tensor:
    edge, _ = models.split(qnet, p)
    with torch.no_grad():
        return edge(x)


def test_resend_ir_puts_the_8_bit_ir_on_the_narrower_grid():
    torch.manual_seed(0)
    net = models.build("cifar10cnn", "cifar10").eval()
    n = len(models.quantizable_layers(net))
    p = 2
    q8 = quant.quantize_edge(net, p, [(8, 8)] * n)
    q2 = quant.resend_ir(q8, 2)
    x = torch.randn(3, 3, 32, 32)
    ir8, ir2 = _edge_ir(q8, p, x), _edge_ir(q2, p, x)
    assert q8.quant_config.ir_bits == 8 and q2.quant_config.ir_bits == 2
    # the 8-bit IR quantized once more at 2 bits, per sample: at most 4 levels c·k/3 per image
    torch.testing.assert_close(ir2, quant.quantize_activation(ir8, 2))
    for a, b in zip(ir8, ir2):
        c = float(a.max())
        levels = torch.unique(b)
        assert len(levels) <= 4
        torch.testing.assert_close(levels, torch.round(levels / (c / 3)) * (c / 3))
    assert not hasattr(net, "quant_config")  # the copy, never the original


def test_resend_ir_refuses_what_it_cannot_do():
    net = models.build("cifar10cnn", "cifar10").eval()
    n = len(models.quantizable_layers(net))
    q6 = quant.quantize_edge(net, 2, [(8, 6)] * n)
    with pytest.raises(ValueError, match="not fewer than the IR's 6 bits"):
        quant.resend_ir(q6, 8)
    with pytest.raises(ValueError, match="quant_config"):
        quant.resend_ir(net, 4)


def test_ir_widths_are_checked_by_name():
    assert strategies.check_ir_widths([6, 4, 2]) == (6, 4, 2)
    with pytest.raises(ValueError, match="NetworkPlan.ir_widths: bit width 3"):
        NetworkPlan(ir_widths=(3,))
    with pytest.raises(ValueError, match="repeated"):
        strategies.check_ir_widths((4, 4))
    with pytest.raises(ValueError, match="tuple of bit widths"):
        strategies.check_ir_widths(4)
    assert NetworkPlan(ir_widths=()).ir_widths == ()


@pytest.mark.slow
def test_width_variants_of_a_search_known_answers(smoke_context, tmp_path):
    """Measured on the report split as the search's report is: re-measured, the base's top-1 is
    the search's reported one; P is that of the narrower IR on the report split's privacy images;
    a rerun reads the cache; as a path, the IR is a quarter at 2 bits and the edge energy is the
    base's."""
    from paperlib import search
    from paperlib.network import ir_width, paths

    ctx = smoke_context
    result = search.run("resnet18", settings=search.RunSettings.of(iterations=6, population=4,
                                                                   sample=2),
                        context=ctx, out_dir=tmp_path / "run", progress=False)
    b = result.best
    assert b["ir_bits"] == 8
    vs = ir_width.measure_variants(ctx, result, (8, 6, 2))  # 8 is not narrower: skipped
    assert [v.ir_bits for v in vs] == [2, 6]
    genome = search.Genome.from_dict(b["genome"])
    for v in vs:
        assert v.top1_base == pytest.approx(result.report["top1"], abs=1e-12)
        assert v.p == b["p"] and v.images == len(ctx.report_ds)
        assert v.privacy == pytest.approx(ir_width.held_out_privacy(ctx, genome, v.ir_bits))
    again = ir_width.measure_variants(ctx, result, (2, 6))
    assert [v.to_dict() for v in again] == [v.to_dict() for v in vs]  # read, not re-measured
    # as paths, on the test images' scale: the full model's top-1 there minus the paired ε
    base = paths.searched_path(ctx, result, 10, full_top1=0.6)
    assert base.accuracy == pytest.approx(0.6 - result.report["eps"])
    assert base.privacy == pytest.approx(ir_width.held_out_privacy(ctx, genome))
    path = paths.width_variant_path(ctx.net, result, vs[0], 10, full_top1=0.6)
    assert path.accuracy == pytest.approx(0.6 - (result.report["top1_fp"] - vs[0].top1))
    assert path.bits * 4 == base.bits and path.point == base.point  # a quarter of the 8-bit IR
    assert path.device_mj == base.device_mj == b["energy_no_tx_mj"]
    assert path.privacy == vs[0].privacy
    assert path.resent_ir_bits == 2 and base.resent_ir_bits is None  # the variant says its width
    edge = quant.quantize_edge(ctx.net, genome.p, genome.policy).eval()  # one edge, any width
    assert ir_width.held_out_privacy(ctx, genome, 2, edge=edge) == pytest.approx(vs[0].privacy)
