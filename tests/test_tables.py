"""Tests of paperlib.studies.tables: the rows of the paper's Tables 2, 4, 5 and the data of Fig. 10-12.

Energies and counts need only the architecture (meta-device models, no weights); the measured
columns come from hand-made frames and a fake search result.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

import fakes  # noqa: I001  (tests/fakes.py: a result file load_result accepts)
import torch

from paperlib.method import energy, models
from paperlib.studies import tables
from paperlib.method.constants import PAPER_TABLE4, PAPER_TABLE5
from paperlib.search import SearchResult


@pytest.fixture(scope="module")
def nets():
    with torch.device("meta"):
        return {m: models.build(m) for m in ("resnet18", "resnet50", "mobilenet")}


def test_offload_counts_match_the_papers_columns(nets):
    r18, r50 = nets["resnet18"], nets["resnet50"]
    # Table 4's #B/#L (stem excluded) and Table 5's (stem included) for the ResNets
    assert tables.offload_counts(r18, 1) == {"blocks": 1, "conv_layers": 2, "conv_layers_with_stem": 3}
    assert tables.offload_counts(r18, 5)["conv_layers"] == 12
    assert tables.offload_counts(r18, 7) == {"blocks": 7, "conv_layers": 17, "conv_layers_with_stem": 18}
    assert tables.offload_counts(r18, 8)["conv_layers_with_stem"] == 20
    assert tables.offload_counts(r50, 1)["conv_layers"] == 4
    assert tables.offload_counts(r50, 4)["conv_layers"] == 14
    assert tables.offload_counts(r50, 6) == {"blocks": 6, "conv_layers": 20, "conv_layers_with_stem": 21}
    assert tables.offload_counts(r50, 16)["conv_layers_with_stem"] == 53
    assert tables.offload_counts(nets["mobilenet"], 13)["conv_layers"] == 26


def test_conv_fc_energy_is_table5_exactly(nets):
    """Every block at 8 bits, compute only: the paper's Table 5 energies to four decimals."""
    paper = {(m, meth): e for m, meth, _, _, e, _ in PAPER_TABLE5}
    for model in ("resnet18", "resnet50"):
        ref = tables.analytic_references(nets[model]).set_index("method")
        assert round(ref.loc[tables.CONV_FC, "energy_mj"], 4) == paper[(model, tables.CONV_FC)]
    ref18 = tables.analytic_references(nets["resnet18"]).set_index("method")
    assert ref18.loc[tables.CONV_FC, "energy_mj"] == pytest.approx(0.7269095424, abs=1e-12)
    assert ref18.loc[tables.CONV_FC, "conv_layers_with_stem"] == 20
    ref50 = tables.analytic_references(nets["resnet50"]).set_index("method")
    assert ref50.loc[tables.CONV_FC, "energy_mj"] == pytest.approx(1.6776402944, abs=1e-12)
    assert ref50.loc[tables.CONV_FC, "conv_layers_with_stem"] == 53


def test_deepest_partitions_under_the_bound(nets):
    """fp32 and 8-bit uniform at the deepest p under E_b = 0.35 mJ (compute only)."""
    expect = {"resnet18": (1, 4), "resnet50": (1, 4), "mobilenet": (12, 13)}
    for model, (p32, p8) in expect.items():
        ref = tables.analytic_references(nets[model]).set_index("method")
        assert ref.loc[tables.FP32, "p"] == p32 and ref.loc[tables.UNIFORM8, "p"] == p8
        assert (ref["energy_mj"].iloc[:2] < 0.35).all()
        net = nets[model]
        assert ref.loc[tables.UNIFORM8, "energy_mj"] == energy.edge_energy(net, p8, 8, transmission=False)
    # the paper's ResNet50 columns: fp 1 block, 8-bit 4 blocks
    paper = {(m, meth): b for m, meth, b, *_ in PAPER_TABLE4}
    assert paper[("resnet50", tables.FP32)] == 1 and paper[("resnet50", tables.UNIFORM8)] == 4
    # no partition point fits a tiny bound: NaN, no exception
    tiny = tables.analytic_references(nets["resnet18"], energy_bound=1e-4)
    assert math.isnan(tiny.loc[0, "p"]) and math.isnan(tiny.loc[1, "energy_mj"])


def test_same_partition_energies(nets):
    net = nets["resnet18"]
    n = len(models.quantizable_layers(net))
    policy = [(4, 8)] * n
    df = tables.same_partition_energies(net, 7, policy).set_index("method")
    e32 = energy.edge_energy(net, 7, 32, transmission=False)
    e8 = energy.edge_energy(net, 7, 8, transmission=False)
    e4 = energy.edge_energy(net, 7, policy, transmission=False)
    assert df.loc[tables.FP32, "energy_mj"] == e32
    assert df.loc[tables.UNIFORM8, "energy_mj"] == e8
    assert df.loc[tables.SEARCHED, "energy_mj"] == e4
    assert e32 > e8 > e4
    assert df.loc[tables.SEARCHED, "saving_vs_8bit"] == pytest.approx(1 - e4 / e8)
    assert df.loc[tables.UNIFORM8, "saving_vs_8bit"] == 0.0
    # E_T: the fp32 IR goes at 32 bits, the quantized ones at 8
    assert df.loc[tables.FP32, "transmission_mj"] == pytest.approx(4 * df.loc[tables.UNIFORM8, "transmission_mj"])
    assert (df["total_mj"] == df["energy_mj"] + df["transmission_mj"]).all()


def _refs() -> pd.DataFrame:
    """measure_references' frame: eps_search / eps_reference on the search split; eps, its
    interval and top1 on the report split (top1_fp 0.9 there)."""
    report = dict(top1_fp=0.9, mcnemar_p=1.0, report_images=128)
    return pd.DataFrame([
        {"method": tables.FP32, "p": 1, "privacy": 0.5, "privacy_report": 0.45, "energy": 0.40, "energy_no_tx": 0.30,
         "eps_search": 0.0, "eps_reference": 0.0, "eps": 0.0, "eps_ci_low": 0.0,
         "eps_ci_high": 0.0, "top1": 0.9, **report, "key": "p1:fp32"},
        {"method": tables.UNIFORM8, "p": 4, "privacy": 0.6, "privacy_report": 0.55, "energy": 0.33, "energy_no_tx": 0.32,
         "eps_search": 0.01, "eps_reference": 0.02, "eps": 0.015, "eps_ci_low": -0.01,
         "eps_ci_high": 0.04, "top1": 0.885, **report, "key": "p4:..."},
        {"method": tables.CONV_FC, "p": 8, "privacy": 0.9, "privacy_report": 0.85, "energy": 0.7274, "energy_no_tx": 0.7269,
         "eps_search": 0.05, "eps_reference": math.nan, "eps": math.nan, "eps_ci_low": math.nan,
         "eps_ci_high": math.nan, "top1": math.nan, **report, "key": "p8:..."},
        {"method": tables.SEARCHED, "p": 7, "privacy": 0.8, "privacy_report": 0.7, "energy": 0.35, "energy_no_tx": 0.34,
         "eps_search": 0.02, "eps_reference": 0.04, "eps": 0.03, "eps_ci_low": 0.01,
         "eps_ci_high": 0.05, "top1": 0.87, **report, "key": "p7:..."},
    ])


def test_table4_and_table5_rows(nets):
    net = nets["resnet18"]
    t4 = tables.table4(net, _refs()).set_index("method")
    assert list(t4.index) == [tables.FP32, tables.UNIFORM8, tables.SEARCHED]
    assert t4.loc[tables.SEARCHED, "conv_layers"] == 17 and t4.loc[tables.UNIFORM8, "conv_layers"] == 9  # p = 4
    # top-1 and ε as measured on the report split, never top1_fp − eps_reference (0.86)
    assert t4.loc[tables.SEARCHED, "top1"] == pytest.approx(0.87)
    assert t4.loc[tables.SEARCHED, "eps"] == pytest.approx(0.03)
    assert (t4.loc[tables.SEARCHED, "eps_ci_low"], t4.loc[tables.SEARCHED, "eps_ci_high"]) == (0.01, 0.05)
    assert t4.loc[tables.SEARCHED, "eps_search"] == 0.02 and t4.loc[tables.SEARCHED, "eps_reference"] == 0.04
    assert t4.loc[tables.FP32, "top1"] == pytest.approx(0.9) and t4.loc[tables.FP32, "eps"] == 0.0
    assert t4.loc[tables.FP32, "transmission_mj"] == pytest.approx(0.10)
    # P on both splits: the search's (selected on) and the report split's (held out)
    assert (t4.loc[tables.SEARCHED, "privacy"], t4.loc[tables.SEARCHED, "privacy_report"]) == (0.8, 0.7)
    with pytest.warns(DeprecationWarning, match="top1_fp"):
        assert tables.table4(net, _refs(), 0.5).equals(tables.table4(net, _refs()))
    old = _refs().drop(columns=["eps_ci_low", "eps_ci_high"])
    with pytest.raises(ValueError, match="eps_ci_low, eps_ci_high.*measure_references"):
        tables.table4(net, old)
    t5 = tables.table5(net, _refs()).set_index("method")
    assert list(t5.index) == [tables.CONV_FC, tables.SEARCHED]
    assert t5.loc[tables.CONV_FC, "conv_layers_with_stem"] == 20
    assert t5.loc[tables.SEARCHED, "conv_layers_with_stem"] == 18
    assert t5.loc[tables.CONV_FC, "energy_mj"] == 0.7269
    ours = t5.reset_index().assign(model="resnet18")
    both = tables.beside_paper(ours, tables.paper_table5(), ["energy_mj", "privacy"])
    assert both.loc[0, "energy_mj_paper"] == 0.7269 and both.loc[1, "privacy_paper"] == 0.9595
    mob = ours.assign(model="mobilenet")
    assert tables.beside_paper(mob, tables.paper_table5(), ["energy_mj"])["energy_mj_paper"].isna().all()


def test_reference_strategies_are_data_not_labels():
    from paperlib.method.paper_strategies import FIXED, PaperStrategy

    methods = [tables.FP32, tables.UNIFORM8, tables.CONV_FC, tables.SEARCHED]
    assert methods == [r.method for r in PaperStrategy]
    assert tables.TABLE4_METHODS == (tables.FP32, tables.UNIFORM8, tables.SEARCHED)
    assert FIXED == (PaperStrategy.FP32, PaperStrategy.UNIFORM8, PaperStrategy.CONV_FC)
    assert PaperStrategy.of(tables.UNIFORM8) is PaperStrategy.of("UNIFORM8") is PaperStrategy.UNIFORM8
    assert PaperStrategy.SEARCHED.display(3) == "searched (GA, seed 3)"
    assert PaperStrategy.FP32.display() == "fp32 (max partition)"
    with pytest.raises(ValueError, match="unknown"):
        PaperStrategy.of("something else")


def test_strategy_layers_and_ir_sizes(nets):
    net = nets["resnet18"]
    n = len(models.quantizable_layers(net))
    policy = [(2, 8)] * n
    df = tables.strategy_layers(net, 7, policy)
    assert len(df) == 20  # stem + 19 block convs, no classifier
    assert df["edge"].sum() == 18
    assert (df.loc[df["block"] == 0, "b_w"] == 32).all()  # the stem stays fp32
    assert (df.loc[df["edge"] & (df["block"] > 0), "b_w"] == 2).all()
    assert (df.loc[~df["edge"], "b_w"] == 32).all()
    assert set(df["kind"]) == {"3x3", "1x1"}
    assert (df.loc[df["kind"] == "1x1", "block"].tolist()) == [3, 5, 7]  # the shortcut convs
    ir = tables.ir_sizes(net)
    # "the size of its IR is only half the size of the previous block and 1/8 of the first block"
    assert ir.loc[7, "ratio_to_stem"] == pytest.approx(1 / 8)
    assert ir.loc[7, "ir_elements"] * 2 == ir.loc[6, "ir_elements"]
    mob = tables.strategy_layers(nets["mobilenet"], 13, 8)
    assert "dw 3x3" in set(mob["kind"])


def _fake_result(model: str = "resnet18", setup: float = 100.0, search: float = 60.0) -> SearchResult:
    history = [{"iteration": i, "best_fitness": f, "best_privacy": f + 0.1, "best_p": p}
               for i, (f, p) in enumerate([(0.5, 6), (0.5, 6), (0.55, 6), (0.70, 7), (0.70, 7), (0.71, 7)])]
    timing = {"wall_seconds": setup + search + 5, "setup_seconds": setup, "search_seconds": search,
              "split_seconds": {"accuracy": 10.0, "privacy": 40.0, "energy": 1.0, "other": 9.0},
              "genomes": 25, "evaluations": 24, "cache_hit_rate": 0.04}
    return SearchResult(model=model, profile="smoke", dataset="cifar10", data="synthetic", seed=0,
                        energy_bound=0.35, accuracy_bound=0.03, best=fakes.valid_best(7), history=history,
                        timing=timing, settings={"population": 20, "iterations": 5,
                                                 "estimator": "sensitivity"})


def test_convergence_statistics():
    c = tables.convergence(tables.history_frame(_fake_result()))
    assert c["iterations"] == 5 and c["converged_at"] == 5 and c["converged_share"] == 1.0
    assert c["improvements"] == 3 and c["improvements_p_change"] == 1
    assert c["mean_gain_p_change"] == pytest.approx(0.15)
    assert c["mean_gain_pi_only"] == pytest.approx(0.03)
    assert c["final_privacy"] == pytest.approx(0.81)


def test_timing_table_extrapolates_to_1000_iterations():
    df = tables.timing_table([_fake_result("resnet18"), _fake_result("mobilenet", 50.0, 30.0)])
    r = df.set_index("model").loc["resnet18"]
    scale = 1020 / 25
    assert r["per_1000_h"] == pytest.approx((100 + 60 * scale) / 3600)
    assert r["accuracy_h"] == pytest.approx((100 + 10 * scale) / 3600)
    assert r["privacy_h"] == pytest.approx(40 * scale / 3600)
    assert r["accuracy_h"] + r["privacy_h"] + r["energy_h"] + r["other_h"] == pytest.approx(r["per_1000_h"])
    assert bool(r["extrapolated"]) and r["paper_h"] == 3.4
    assert df["relative"].min() == 1.0
    assert df.set_index("model").loc["resnet18", "paper_relative"] == pytest.approx(3.4 / 2.0)


def test_search_result_reads_the_cached_file_without_running(tmp_path, monkeypatch):
    from paperlib import search

    monkeypatch.setenv("PAPERLIB_RESULTS_DIR", str(tmp_path))
    res = _fake_result()
    res.settings["iterations"] = 12  # the smoke profile's T
    res.out_dir = str(search.default_out_dir("resnet18", "smoke", 0.35, 0))
    res.save()
    loaded = tables.search_result("resnet18", "smoke")
    assert loaded is not None and loaded.to_dict() == res.to_dict()
    assert tables.search_result("resnet50", "smoke", run_missing=False) is None
    res.settings["iterations"] = 3  # another T: not this profile's search
    res.save()
    assert tables.search_result("resnet18", "smoke", run_missing=False) is None
    assert tables.tables_dir("smoke", "resnet18") == tmp_path / "smoke" / "tables" / "resnet18-eb0.35-seed0"


def test_cached_measurements_are_dropped_for_another_checkpoint(tmp_path):
    out = tmp_path / "t"
    fp = {"data": "d", "checkpoint_accuracy": 0.5, "settings": {"bits": (2, 4)}}
    tables._match_fingerprint(out, fp)
    (out / tables.LOG_FILE).write_text("{}\n")
    (out / tables.REFERENCE_FILE).write_text("{}")
    (out / tables.REPORT_FILE).write_text("{}")
    tables._match_fingerprint(out, fp)  # same checkpoint and settings: the cache stays
    assert (out / tables.LOG_FILE).exists() and (out / tables.REFERENCE_FILE).exists()
    tables._match_fingerprint(out, {**fp, "checkpoint_accuracy": 0.6})  # retrained: dropped
    for name in (tables.LOG_FILE, tables.REFERENCE_FILE, tables.REPORT_FILE):
        assert not (out / name).exists(), name
