"""Notebook 09's rows read top-1 and ε as Table 4 does (docs/decisions/defences.md §1, §7;
docs/decisions/paper-method.md §9): on the report split, the quantized strategy finetuned as
Table 4 finetunes it, ε a paired difference against the undefended full-precision network.
Known answers on an untrained cifar10cnn and a synthetic CIFAR-10 of 200 test images (seconds)."""

from __future__ import annotations

import sys
from dataclasses import replace

import numpy as np
import pytest
import torch

from paperlib import defences
from paperlib.defences.report_split import strategy_genome
from paperlib.method import models
from paperlib.method.genome import Genome, key as genome_key, uniform_genome
from paperlib.method.paper_strategies import PaperStrategy
from paperlib.search.context import build_context
from paperlib.search.evaluator import seed_for
from paperlib.search.report_accuracy import measure_report
from paperlib.studies import nb09_defences

pytestmark = pytest.mark.usefixtures("one_thread")
# the module (the package's ``evaluate`` is the function)
evaluate_module = sys.modules["paperlib.defences.evaluate"]

MODEL, P, SEED = "cifar10cnn", 4, 3  # SEED: a search seed other than 0, for the seed rule
KW = dict(profile="smoke", seed=SEED, images=4, attacks=("rmle",))


def _mixed(space) -> Genome:
    """A searched-like strategy: per-layer widths, not uniform."""
    bits = list(Genome.uniform(space, P, 4).bits)
    for i in list(space.edge_range(P))[::2]:
        bits[i] = (8, 8)
    return Genome(P, tuple(bits))


@pytest.fixture(scope="module")
def measured(synthetic_search_dir, tmp_path_factory):
    """The context of Table 4, one seen by the rows (built from the same network), and the rows:
    undefended fp32, noise at σ = 0, undefended 8-bit uniform and undefended mixed strategy at
    ``P``; the images each row's top-1 was read on."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPERLIB_DATA_DIR", str(synthetic_search_dir))
        mp.setenv("PAPERLIB_ALLOW_PARTIAL_DATA", "1")
        mp.setenv("PAPERLIB_RESULTS_DIR", str(tmp_path_factory.mktemp("results")))
        torch.manual_seed(0)
        net = models.build(MODEL, num_classes=10).eval()
        meta = {"accuracy": 0.1, "date": "test", "data": "synthetic", "seed": 0}
        ctx = build_context(MODEL, "smoke", trained=(net, meta), progress=False)
        seen: list = []
        real = evaluate_module.predict_correct
        mp.setattr(evaluate_module, "predict_correct",
                   lambda d, v, test: seen.append(test) or real(d, v, test))
        mixed = _mixed(ctx.space)
        rows = {"fp32": defences.evaluate(MODEL, None, P, 32, context=ctx, **KW),
                "noise0": defences.evaluate(MODEL, defences.Noise("gaussian", 0.0), P, 32,
                                            context=ctx, **KW),
                "w8": defences.evaluate(MODEL, None, P, 8, context=ctx, **KW),
                "mixed": defences.evaluate(MODEL, None, P, mixed.policy, context=ctx, **KW)}
        # Table 4's measurement in a context of its own (its own finetune): independent numbers
        table4 = build_context(MODEL, "smoke", trained=(net, meta), progress=False)
        yield ctx, table4, rows, seen, mixed


def test_the_undefended_fp32_row_is_table_4s_full_precision_top1(measured):
    ctx, table4, rows, _, _ = measured
    r = rows["fp32"]
    fp = measure_report(table4, uniform_genome(table4.space, P, 32), SEED)
    assert r.top1 == fp.top1_fp == fp.top1 == table4.report_correct_fp().mean()
    assert r.top1_fp == r.top1 and r.accuracy_images == fp.images == 100
    assert (r.eps, r.eps_ci_low, r.eps_ci_high, r.mcnemar_p) == (0.0, 0.0, 0.0, 1.0)
    assert r.finetune == {}  # full precision: the trained network, nothing finetuned


def test_a_defence_at_strength_zero_is_the_undefended_row_with_eps_zero(measured):
    _, _, rows, _, _ = measured
    zero, plain = rows["noise0"], rows["fp32"]
    assert zero.top1 == plain.top1
    assert zero.eps == 0.0 and zero.eps_ci_low == zero.eps_ci_high == 0.0
    table = nb09_defences.frame([plain, zero])
    assert list(table.top1_loss) == [0.0, 0.0] and set(table.paired) == {"yes"}


@pytest.mark.parametrize("which", ["w8", "mixed"])
def test_an_undefended_quantized_row_is_table_4s_finetuned_strategy(measured, which):
    ctx, table4, rows, _, mixed = measured
    genome = PaperStrategy.UNIFORM8.genome(table4.space, P) if which == "w8" else mixed
    rep = measure_report(table4, genome, SEED)  # finetunes again, in its own estimator
    r = rows[which]
    assert r.top1 == rep.top1 and r.top1_fp == rep.top1_fp
    assert (r.eps, r.eps_ci_low, r.eps_ci_high, r.mcnemar_p) == (rep.eps, rep.ci_low, rep.ci_high,
                                                                  rep.mcnemar_p)
    k = genome_key(genome, ctx.space)
    assert r.finetune == {"estimator": "finetune-batches", "finetune_batches": 2,
                          "batch_size": 64, "seed": seed_for(SEED, k)}
    # a policy given as an int is the fixed strategy's genome, per-layer pairs the genome itself
    assert strategy_genome(ctx.space, P, 8) == PaperStrategy.UNIFORM8.genome(ctx.space, P)
    assert strategy_genome(ctx.space, P, mixed.policy) == mixed


def test_every_row_reads_the_report_split_and_keys_its_cache_by_it(measured):
    ctx, _, rows, seen, _ = measured
    split = ctx.split
    assert not set(split.search) & set(split.report)  # disjoint from the search split
    assert len(seen) == len(rows)
    for test in seen:
        assert torch.equal(test.images, ctx.report_ds.images)
        assert torch.equal(test.labels, ctx.report_ds.labels)
    manifest = split.manifest()
    for r in rows.values():
        assert r.evaluation_split == manifest
        report = r.fingerprint["report"]
        assert report["evaluation_split"] == manifest and report["finetune_batches"] == 2


def test_another_split_or_finetune_budget_recomputes_the_row(measured, monkeypatch):
    ctx, _, rows, _, _ = measured
    calls: list = []
    real = defences.NoDefence.apply
    monkeypatch.setattr(defences.NoDefence, "apply", lambda *a: calls.append(1) or real(*a))
    again = defences.evaluate(MODEL, None, P, 8, context=ctx, **KW)
    assert not calls and again.top1 == rows["w8"].top1  # the same key: read back
    shorter = ctx.with_settings(replace(ctx.settings, finetune_batches=1))
    other = defences.evaluate(MODEL, None, P, 8, context=shorter, **KW)
    assert calls and other.finetune["finetune_batches"] == 1
    assert other.fingerprint != rows["w8"].fingerprint
    wider = ctx.with_settings(replace(ctx.settings, report_fraction=0.6))
    fp32 = defences.evaluate(MODEL, None, P, 32, context=wider, **KW)
    assert len(calls) == 2 and fp32.accuracy_images == 120
    assert fp32.evaluation_split == wider.split.manifest() != rows["fp32"].evaluation_split


def test_a_row_without_a_paired_eps_says_so():
    row = defences.DefenceResult(model="m", profile="t", defence="none", tag="none", config={},
                                 p=1, split="p1", policy=32, policy_tag="fp32", top1=0.5,
                                 accuracy_images=10, energy=0.1, energy_no_tx=0.1, compute=0.1,
                                 defence_energy=0.0, defence_macs=0.0, transmission=0.0)
    table = nb09_defences.frame([row])
    assert np.isnan(table.top1_loss.iloc[0]) and table.paired.iloc[0] == nb09_defences.NOT_PAIRED


def test_deploy_takes_the_finetuned_network_and_refuses_another_strategys():
    from paperlib.attacks.victim import deploy
    from paperlib.method import data, quant

    torch.manual_seed(0)
    net = models.build(MODEL, num_classes=10).eval()
    qnet = quant.quantize_edge(net, P, 8)
    with torch.no_grad():  # "finetuned": other weights than quantizing net again would give
        next(qnet.parameters()).add_(0.1)
    victim = deploy(net, P, 8, dataset="cifar10", model=MODEL, quantized=qnet)
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(victim.cloud_module(victim.edge_module(x)),
                                   qnet(data.Normalize("cifar10")(x)))
    assert next(qnet.parameters()).requires_grad  # the network given is left untouched
    for p, policy, other in ((P, 8, net), (P - 1, 8, qnet), (P, 4, qnet)):
        with pytest.raises(ValueError, match="deploy needs it quantized"):
            deploy(net, p, policy, dataset="cifar10", model=MODEL, quantized=other)
