"""The "paper vs ours" findings of notebooks 01–07 (paperlib.studies.nbNN_*) and the words they use
(paperlib.studies.wording): thresholds and the sentences built from small frames with hand-computed
answers."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from paperlib.method import constants as C
from paperlib.method import models
from paperlib.studies import tables, wording
from paperlib.studies import nb01_layer_privacy as nb01, nb02_block_privacy as nb02, nb03_quantized_ir as nb03
from paperlib.studies import nb04_search as nb04, nb05_edge_cloud as nb05, nb06_inversion as nb06
from paperlib.studies import nb07_search_baselines as nb07


# --- words and thresholds ---------------------------------------------------------------------------

def test_rho_text_needs_five_points():
    assert wording.rho_text(-1.0, 3) == "n = 3, too few points for ρ"
    assert wording.rho_text(-0.981, 8) == "ρ = -0.98 (n = 8)"
    assert wording.rho_text(0.5, 5, "ρ(P, SSIM)") == "ρ(P, SSIM) = 0.50 (n = 5)"
    assert "undefined" in wording.rho_text(float("nan"), 6)


@pytest.mark.parametrize("rho, word", [(0.7, "agrees with"), (0.69, "partly agrees with"),
                                       (0.3, "partly agrees with"), (0.29, "does not reproduce"),
                                       (-1.0, "does not reproduce")])
def test_agreement_word_thresholds(rho, word):
    assert wording.agreement_word(rho) == word


@pytest.mark.parametrize("rho, word", [(-0.9, "agree well"), (-0.7, "agree well"), (-0.5, "agree weakly"),
                                       (0.0, "are unrelated"), (0.5, "disagree (P rises where the attack does better)"),
                                       (float("nan"), "undefined (constant values)")])
def test_proxy_attack_verdict(rho, word):
    assert wording.proxy_attack_verdict(rho) == word


def test_seeds_word_compares_ranges_over_seeds():
    good, bad = {"mean": 0.85, "min": 0.8, "max": 0.9}, {"mean": 0.6, "min": 0.5, "max": 0.7}
    overlap = {"mean": 0.8, "min": 0.75, "max": 0.82}
    assert wording.seeds_word(good, bad) == "better on every seed"
    assert wording.seeds_word(bad, good) == "worse on every seed"
    assert wording.seeds_word(good, overlap) == "within the spread over seeds"
    assert wording.seeds_word(None, good) == "n/a"


def test_feasibility_never_calls_an_infeasible_strategy_within_the_bound():
    assert wording.feasibility(0.384, 0.35) == "over E_b by 10%"
    assert wording.feasibility(0.35, 0.35) == "within E_b"  # Eq. 12 does not punish a value at the bound
    assert wording.feasibility(0.2445, 0.35) == "within E_b"


def test_block_count():
    assert wording.block_count(float("nan")) == "none"
    assert wording.block_count(4.0) == "4"


# --- notebook 01 ------------------------------------------------------------------------------------

def test_layer_trend_findings():
    trend = pd.DataFrame([{"dist": "mse", "rho": 0.95, "p_value": 0.0, "points": 8, "increasing_steps": 6 / 7},
                          {"dist": "kl", "rho": 0.1, "p_value": 0.8, "points": 8, "increasing_steps": 3 / 7}])
    agree = pd.DataFrame([{"dist_a": "mse", "dist_b": "kl", "rho": 0.5, "p_value": 0.2, "points": 8}])
    summary = pd.DataFrame({"dist": "mse", "depth": range(1, 7), "mean": [0.5, 1.0, 1.5, 1.8, 1.9, 2.0]})
    f = nb01.layer_trend_findings(trend, agree, summary, "vgg11")
    assert list(f.table["claim"]) == ["MSE privacy grows with the layer (Fig. 4)",
                                      "KL privacy grows with the layer (Fig. 4)",
                                      "the three distances show the same trend (Fig. 4)",
                                      "shallow IRs still look like the input; deeper ones are abstract (Fig. 3)"]
    assert f.table["ours"][0] == "Spearman ρ = 0.95 over 8 layers; 86% of steps increase"
    assert f.table["ours"][3] == "mean MSE P: conv1 0.50 → conv5 1.90 (2 = uncorrelated)"
    assert "so this run agrees with it" in f.lines[0] and "VGG11" in f.lines[0]
    assert "so this run does not reproduce it" in f.lines[1]
    assert "(only partly consistent here)" in f.lines[2]
    assert "Pearson ρ ≈ 0.75" in f.lines[3]  # MSE = 2 (1 - ρ)
    assert f.markdown == "\n".join(f.lines)


# --- notebook 02 ------------------------------------------------------------------------------------

def _trend(model, view, rho, steps, points):
    return {"model": model, "view": view, "rho": rho, "p_value": 0.0, "points": points, "increasing_steps": steps}


def test_blockwise_findings_verdicts():
    trend = pd.DataFrame([_trend("resnet18", "layer-wise", 0.6, 0.5, 21), _trend("resnet18", "block-wise", 0.98, 1.0, 9),
                          _trend("mobilenet", "layer-wise", 0.9, 0.9, 27), _trend("mobilenet", "block-wise", 0.8, 0.8, 14),
                          _trend("vgg11", "layer-wise", 0.97, 6 / 7, 8), _trend("vgg11", "block-wise", 0.97, 6 / 7, 8)])
    layer_summary = pd.DataFrame({"model": "resnet18", "depth": range(1, 9),
                                  "mean": [0.4, 0.3, 0.5, 0.6, 0.7, 0.65, 0.8, 0.9]})
    f = nb02.blockwise_findings(trend, layer_summary, ["resnet18", "mobilenet"], ["vgg11"])
    assert list(f.table["model"]) == ["ResNet18", "MobileNet", "VGG11"]
    assert f.table["paper (block-wise)"].tolist() == ["increases (Fig. 7)", "increases (claimed for DAG nets)", "—"]
    assert f.table["ours (block-wise)"][0] == "ρ = 0.98, 100% of 8 steps up"
    # layer-wise ρ below 0.7, block-wise steadier and rising: the claim holds
    assert "is reproduced: block-wise P rises, layer-wise P does not clearly." in f.lines[0]
    assert "50% of the layer-wise steps go up against 100% of the block-wise ones" in f.lines[0]
    assert "a larger share of steps down" in f.lines[0]
    # block-wise ρ ≥ 0.7 but no steadier than layer-wise
    assert "is partly reproduced: block-wise P rises, but no more steadily than layer-wise P." in f.lines[1]
    assert "a smaller share of steps down" in f.lines[1]
    assert "0.40 → 0.30 → 0.50" in f.lines[2] and "67% of the 3 steps increase" in f.lines[2]
    assert f.lines[3].startswith("* **VGG11** (chain reference)")
    assert len(f.lines) == 4  # no block summary: no constant point to flag


def test_blockwise_findings_both_views_rise_and_a_constant_point_is_flagged():
    """This run's numbers (quick profile): both views rise (ρ ≥ 0.7), block-wise more steadily;
    VGG11's 1 × 1 IR has P = 2 on every image."""
    trend = pd.DataFrame([_trend("resnet50", "layer-wise", 0.9197, 0.4615, 53),
                          _trend("resnet50", "block-wise", 0.9877, 0.8125, 17),
                          _trend("vgg11", "layer-wise", 1.0, 1.0, 8), _trend("vgg11", "block-wise", 1.0, 1.0, 8)])
    blocks = pd.DataFrame({"model": ["resnet50", "vgg11", "vgg11"], "point": [0, 6, 7],
                           "label": ["stem", "block6", "block7"], "size": [56, 2, 1],
                           "mean": [0.2, 1.0931, 2.0], "sd": [0.1, 0.3295, 0.0]})
    f = nb02.blockwise_findings(trend, pd.DataFrame(columns=["model", "depth", "mean"]), ["resnet50"],
                                ["vgg11"], block_summary=blocks)
    assert f.lines[0] == (
        "* **ResNet50**: privacy rises with depth in both views (Spearman ρ = 0.92 layer-wise, 0.99 "
        "block-wise); 46% of the layer-wise steps go up against 81% of the block-wise ones, so the "
        "layer-wise curve has a larger share of steps down. The paper's claim (layer-wise fluctuates, "
        "block-wise increases) is partly reproduced: block-wise P rises more steadily, layer-wise P "
        "also rises overall.")
    assert "is reproduced" not in f.markdown
    assert f.lines[2].startswith("* **VGG11, block7** (1 × 1 IR): P = 2.000 on every image (sd 0.000): "
                                 "constant by construction")
    assert len(f.lines) == 3  # only the point with no spread is flagged
    assert list(nb02.constant_points(blocks)["label"]) == ["block7"]


# --- notebook 03 ------------------------------------------------------------------------------------

def test_quantization_findings():
    bits = (2, 8, 32)
    effect = pd.DataFrame({"model": "vgg11", "point": 1, "bits": bits, "mean": [1.2, 1.0, 1.0],
                           "sd": [0.2, 0.2, 0.2], "diff_vs_ref": [0.2, 0.001, 0.0],
                           "frac_higher": [0.9, 0.5, 0.0], "n": 8, "ir": "shallow (p=1: block 1)"})
    trend = pd.DataFrame([{"model": "vgg11", "point": 1, "rho": -1.0, "p_value": 0.0, "points": 3,
                           "increasing_steps": 0.0}])
    f = nb03.quantization_findings(trend, effect, bits, ["vgg11"])
    row = f.table.iloc[0]
    assert row["ours: mean P by bits 2-bit/8-bit/fp32"] == "1.200 / 1.000 / 1.000"
    assert row["ours: images with P(2-bit) > P(fp32)"] == "90%"
    assert "The paper's direction (fewer bits → more privacy) holds here." in f.lines[0]
    assert "8-bit changes P by at most 0.0010" in f.lines[1]


# --- notebook 04 ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def resnet18_meta():
    with torch.device("meta"):  # shapes only: the energy model needs no weights
        return models.build("resnet18")


def _table4_row(method, blocks, conv_layers, privacy, energy_mj, top1, paper):
    p = paper[paper["method"] == method].iloc[0]
    return {"model": "resnet18", "method": method, "blocks": blocks, "blocks_paper": p.blocks,
            "conv_layers": conv_layers, "conv_layers_paper": p.conv_layers, "privacy": privacy,
            "privacy_paper": p.privacy, "energy_mj": energy_mj, "top1": top1, "top1_paper": p.top1}


def test_search_findings_counts_energies_and_fig12(resnet18_meta):
    paper4 = tables.paper_table4()
    p18 = paper4[paper4["model"] == "resnet18"]
    table4 = pd.DataFrame([_table4_row(tables.FP32, 1, 2, 0.5, 0.26, 0.55, p18),
                           _table4_row(tables.UNIFORM8, 4, 9, 0.6, 0.28, 0.55, p18),
                           _table4_row(tables.SEARCHED, 7, 17, 0.8, 0.384, 0.54, p18)])
    conv = pd.DataFrame([{"model": "resnet18", "improvements": 5, "improvements_p_change": 2,
                          "mean_gain_p_change": 0.05, "mean_gain_pi_only": 0.01, "converged_at": 120,
                          "iterations": 300, "converged_share": 0.4, "initial_fitness": 0.5,
                          "final_fitness": 0.8}])
    timing = pd.DataFrame({"model": ["resnet50", "mobilenet"], "per_1000_h": [1.2, 0.2]})
    strategies = pd.DataFrame([{"model": "resnet18", "p": 7, "mean b_w 1x1": 2.0, "mean b_w 3x3": 5.0,
                                "IR / stem IR": 0.125}])
    f = nb04.search_findings(conv, timing, table4, paper4, strategies, nets={"resnet18": resnet18_meta},
                            accuracy_bounds={"resnet18": 0.03}, estimator="sensitivity",
                            energy_bound=0.35, fig12_model="resnet18")
    table = f.table.set_index("claim")
    assert table.loc["ResNet18: the search settles early (Fig. 10)", "paper"] == "within 600 of 1000 iterations"
    assert table.loc["search time grows with the model (Table 2)", "paper"] == "ResNet50 / MobileNet = 6×"
    assert table.loc["search time grows with the model (Table 2)", "ours"] == "ResNet50 / MobileNet = 6.0×"
    assert table.loc["ResNet18: the searched strategy offloads the most blocks (Table 4)", "paper"] == \
        "1 / 5 / 7 blocks (fp / 8-bit / searched)"
    assert table.loc["ResNet18: split point and bits (Fig. 12)", "paper"] == \
        "p = 7, IR 1/8 of the first block's; 1×1 shortcut convs at the lowest bits"
    table4_line = next(line for line in f.lines if line.startswith("* **Table 4"))
    assert "*above* E_b" in table4_line  # 0.384 mJ is over the bound and said so
    # the paper's 8-bit partition, p = 5, costs 0.3502 mJ under Eq. 7-8 (README): 0.07 % over E_b
    assert "(5 blocks after the stem) would cost 0.3502 mJ, +0.07% against E_b" in table4_line
    assert "slightly looser than E < E_b" in table4_line
    assert "counts the stem" not in table4_line  # ResNet18's counts need no shift
    assert "as the paper says, the large steps come with a new p" in f.lines[0]
    assert f.lines[-1].endswith("lower, as in the paper.")


def test_search_findings_shift_for_a_paper_that_counts_the_stem():
    with torch.device("meta"):
        net = models.build("mobilenet")  # 13 blocks after the stem; the paper's rows go up to 14
    paper4 = tables.paper_table4()
    pm = paper4[paper4["model"] == "mobilenet"]
    rows = [_table4_row(m, b, 2 * b, 1.0, 0.1, 0.5, pm) | {"model": "mobilenet"}
            for m, b in ((tables.FP32, 12), (tables.UNIFORM8, 13), (tables.SEARCHED, 13))]
    f = nb04._table4_findings(pd.DataFrame(rows), paper4, {"mobilenet": net}, {"mobilenet": 0.03}, 0.35)
    assert ("counts go up to 14 blocks where the model has 13 after the stem; its block counts are one "
            "higher than ours in both fixed rows (paper 13 / 14, ours 12 / 13), possibly because it "
            "counts the stem as a block. Table 4 lists both counts as they are, without adjusting "
            "for it.") in f.lines[0]
    assert "ours + 1" not in f.lines[0]  # Table 4 compares the counts as they are
    assert "would cost" not in f.lines[0]  # the paper's 13 and 14 less the stem are ours


# --- notebook 05 ------------------------------------------------------------------------------------

def test_edge_cloud_findings_labels_an_infeasible_strategy_as_over_the_bound():
    same_p = pd.DataFrame([
        {"model": "resnet18", "method": tables.FP32, "p": 7, "energy_mj": 2.0, "saving_vs_8bit": np.nan},
        {"model": "resnet18", "method": tables.UNIFORM8, "p": 7, "energy_mj": 0.6, "saving_vs_8bit": 0.0},
        {"model": "resnet18", "method": tables.SEARCHED, "p": 7, "energy_mj": 0.384, "saving_vs_8bit": 0.36}])
    table5 = pd.DataFrame([
        {"model": "resnet18", "method": tables.CONV_FC, "energy_mj": 0.7269, "energy_mj_paper": 0.7269,
         "privacy": 1.0, "privacy_paper": 1.0068, "blocks": 8, "conv_layers_with_stem": 20},
        {"model": "resnet18", "method": tables.SEARCHED, "energy_mj": 0.384, "energy_mj_paper": 0.3427,
         "privacy": 0.9, "privacy_paper": 0.9595, "blocks": 7, "conv_layers_with_stem": 18}])
    f = nb05.edge_cloud_findings(same_p, table5, ["resnet18"], energy_bound=0.35)
    table = f.table.set_index("claim")
    saving = "ResNet18: energy saving vs 8-bit uniform at the same p (Fig. 11)"
    assert table.loc[saving, "paper"] == f"about {C.PAPER_FIG11_SAVING['resnet18']:.0%}"
    assert table.loc[saving, "ours"] == "36% less at p = 7"
    assert table.loc[saving, "ours_value"] == pytest.approx(0.36)
    energy = "ResNet18: edge energy of the searched strategy against the conv/fc split (Table 5)"
    assert table.loc[energy, "ours"] == "1.9× less (0.3840 mJ, 7/18)"
    assert table.loc[energy, "paper"] == "2.1× less"  # 0.7269 / 0.3427
    assert table.loc[energy, "ours_value"] == pytest.approx(0.7269 / 0.384)
    assert "close to the paper's figure" in f.lines[0]  # 36 % vs about 40 %
    assert "81% less than full precision" in f.lines[0]
    assert "(paper 0.7269 mJ: identical)" in f.lines[1]
    assert "is over E_b by 10%" in f.lines[1]
    assert "under E_b" not in f.lines[1]
    assert "gives up some privacy" in f.lines[1]


def test_edge_cloud_findings_word_a_negative_saving_as_more():
    """MobileNet in this run (quick profile): the searched strategy costs 96 % more than 8-bit
    uniform at its p and 1.5× the conv/fc split: "more", never "-96% less" or "0.7× less"."""
    same_p = pd.DataFrame([
        {"model": "mobilenet", "method": tables.FP32, "p": 12, "energy_mj": 0.3371, "saving_vs_8bit": -2.757},
        {"model": "mobilenet", "method": tables.UNIFORM8, "p": 12, "energy_mj": 0.0897, "saving_vs_8bit": 0.0},
        {"model": "mobilenet", "method": tables.SEARCHED, "p": 12, "energy_mj": 0.1756,
         "saving_vs_8bit": 1 - 0.1756 / 0.0897}])
    table5 = pd.DataFrame([
        {"model": "mobilenet", "method": tables.CONV_FC, "energy_mj": 0.1148, "energy_mj_paper": np.nan,
         "privacy": 1.1529, "privacy_paper": np.nan, "blocks": 13, "conv_layers_with_stem": 27},
        {"model": "mobilenet", "method": tables.SEARCHED, "energy_mj": 0.1756, "energy_mj_paper": np.nan,
         "privacy": 1.1577, "privacy_paper": np.nan, "blocks": 12, "conv_layers_with_stem": 25}])
    f = nb05.edge_cloud_findings(same_p, table5, ["mobilenet"], energy_bound=0.35)
    assert "0.1756 mJ of compute, 96% more than 8-bit uniform" in f.lines[0]
    assert "48% less than full precision" in f.lines[0]
    assert "costs more than 8-bit uniform here" in f.lines[0]
    assert "the searched strategy 0.1756 mJ, 1.5× more, with +0.4% privacy" in f.lines[1]
    assert "costs more edge energy than the conv/fc split, within E_b" in f.lines[1]
    assert "less than 8-bit" not in f.markdown and "-96%" not in f.markdown and "0.7×" not in f.markdown
    table = f.table.set_index("claim")
    assert table.loc["MobileNet: energy saving vs 8-bit uniform at the same p (Fig. 11)", "ours"] == \
        "96% more at p = 12"
    energy = "MobileNet: edge energy of the searched strategy against the conv/fc split (Table 5)"
    assert table.loc[energy, "ours"] == "1.5× more (0.1756 mJ, 12/25)"
    # the written numbers are values of the findings table (its ``ours_value``), not only of its text
    from paperlib.studies import number_sources
    numeric = f.table[["ours_value"]]
    assert number_sources.unsourced_numbers("96% more, 48% less, 1.5× more", [numeric]) == []
    assert table.loc[energy, "ours_value"] == pytest.approx(0.1756 / 0.1148)


def test_less_or_more_and_times_words():
    assert wording.less_or_more(0.426) == "43% less"
    assert wording.less_or_more(-0.957) == "96% more"
    assert wording.less_or_more(0.0) == "0% less"
    assert wording.times_less_or_more(0.7269, 0.3248) == "2.2× less"
    assert wording.times_less_or_more(0.1148, 0.1756) == "1.5× more"
    assert wording.times_factor(0.1148, 0.1756) == pytest.approx(1.5296, abs=1e-4)


# --- notebook 06 ------------------------------------------------------------------------------------

def _attack(p, ssim, privacy, sd=0.1, n=16):
    return SimpleNamespace(p=p, ssim=ssim, privacy=privacy, ssim_sd=sd, test_images=n)


def test_attack_findings_prints_no_rho_from_three_points():
    sweep = pd.DataFrame({"model": "resnet18", "p": [0, 4, 8], "ssim": [0.8, 0.5, 0.3],
                          "ssim_gain": [0.5, 0.2, 0.01], "baseline_ssim": 0.29, "privacy": [0.4, 1.0, 1.9]})
    agreement = pd.DataFrame([
        {"model": "resnet18", "irs_compared": "fp32 IRs, partition points", "irs": 3, "rho_ssim": -1.0,
         "p_value": 0.0, "rho_psnr": -1.0, "comparable_pairs": 3, "discordant_pairs": 0},
        {"model": "resnet18", "irs_compared": "all IRs (re-quantized incl.)", "irs": 12, "rho_ssim": -0.9,
         "p_value": 0.0, "rho_psnr": -0.9, "comparable_pairs": 66, "discordant_pairs": 3}])
    disagreements = pd.DataFrame(columns=["model", "more_private", "less_private", "proxy_gap", "leak_gap"])
    bit_irs = pd.DataFrame({"model": "resnet18", "p": [0, 0], "ir_bits": [32, 2], "ssim": [0.8, 0.6],
                            "privacy": [0.4, 0.9]})
    attacks = {"resnet18": {nb06.ATTACK_SEARCHED: _attack(7, 0.35, 1.5), nb06.ATTACK_UNIFORM8: _attack(4, 0.80, 1.0)}}
    f = nb06.attack_findings(agreement, sweep, disagreements, bit_irs, (2,), attacks)
    assert "n = 3, too few points for ρ(P, attack SSIM), so no verdict" in f.lines[0]
    assert "agree well" not in f.lines[0]
    assert "at 2 of 3 points" in f.lines[0]  # SSIM gain above 0.05 at p = 0 and 4
    assert "ResNet18 ρ(P, SSIM) = -0.90 (n = 12)" in f.lines[1]
    assert "the attack recovers less, P calls it more private" in f.lines[2]
    # difference -0.45 ± sqrt(2 * 0.01 / 16) = 0.035: far beyond 2 s.e.
    assert "so the searched strategy is harder to invert" in f.lines[3]
    assert f.lines[3].endswith("the attack agrees.")


# --- notebook 07 ------------------------------------------------------------------------------------

def test_baseline_findings():
    final = pd.DataFrame({"model": "resnet18", "method": ["ga", "ga", "random", "random", "exhaustive", "exhaustive"],
                          "seed": [0, 1] * 3, "best_fitness": [0.80, 0.78, 0.70, 0.72, 0.75, 0.79]})
    summ = pd.DataFrame({"method": ["ga"] * 3 + ["random"] * 3 + ["exhaustive"] * 3,
                         "evaluations": [1, 2, 3] * 3,
                         "mean": [0.5, 0.72, 0.79, 0.4, 0.6, 0.71, 0.5, 0.6, 0.8]})
    sweep = pd.DataFrame({"energy_bound": 0.35, "strategy": [nb07.SWEEP_BEST, nb07.SWEEP_UNIFORM8, nb07.SWEEP_FP32],
                          "privacy": [0.9, 0.7, 0.5]})
    sens = pd.DataFrame({"model": "resnet18",
                         "setting": ["compute only (no E_T)", "paper (Eq. 9)", "Wi-Fi", "4G"],
                         "E_tran_pJ_per_bit": [0.0, C.E_TRAN_PJ_PER_BIT, 1e4, 1e5],
                         "blocks_8bit": [4, 4, np.nan, np.nan], "cheapest_p_8bit": [0, 0, 8, 8],
                         "cheapest_energy_8bit_mJ": [0.01, 0.02, 0.5, 5.0], "raw_image_8bit_tx_mJ": [0.0, 0.0025, 0.25, 2.5],
                         "best_privacy": [0.9, 0.9, np.nan, np.nan], "best_strategy": ["x", "x", "none fits", "none fits"]})
    algorithm1 = {s: SimpleNamespace(settings={"init": "random"}) for s in (0, 1)}
    comp = SimpleNamespace(budgets={0: 3, 1: 3}, grid_size=33, ga_results=algorithm1)
    f = nb07.baseline_findings({"resnet18": comp}, final, {"resnet18": summ}, {"resnet18": sweep},
                              {"resnet18": sweep.head(2)}, sens, energy_bound=0.35)
    assert "genetic search 0.7900 [0.7800, 0.8000]" in f.lines[0]
    assert "better on every seed vs. random search" in f.lines[0]
    assert "within the spread over seeds vs. exhaustive (p, uniform bits)" in f.lines[0]
    assert "reaches the final mean of random search (0.7100) after 2 of 3 evaluations" in f.lines[1]
    assert "never reaches the final mean of exhaustive (p, uniform bits) (0.8000)" in f.lines[2]
    assert "P = 0.9000 vs. 0.7000 for 8-bit uniform and 0.5000 for fp32" in f.lines[3]
    assert "Wi-Fi none (cheapest p = 8, 0.5 mJ), 4G none (cheapest p = 8, 5 mJ)" in f.lines[4]
    assert "no logged or reference strategy fits" in f.lines[5]
    # the default search starts from the uniform baselines: the findings say so, once
    default = SimpleNamespace(budgets={0: 3, 1: 3}, grid_size=33,
                              ga_results={s: SimpleNamespace(settings={"init": "baselines"})
                                          for s in (0, 1)})
    g = nb07.baseline_findings({"resnet18": default}, final, {"resnet18": summ},
                               {"resnet18": sweep}, {"resnet18": sweep.head(2)}, sens,
                               energy_bound=0.35)
    assert "first generation holds the uniform baselines" in g.lines[1]
    assert g.lines[:1] + g.lines[2:] == f.lines


def test_notebook_08_saves_the_numbers_its_sentences_quote():
    from paperlib.studies import nb08_attacks as nb08
    sweep = pd.DataFrame({"model": "cifar10cnn", "attack": "rmle", "p": [0, 2, 4, 6, 8],
                          "privacy": [0.1, 0.3, 0.2, 0.4, 0.5], "ssim": [0.9, 0.8, 0.6, 0.5, 0.1],
                          "baseline_ssim": 0.14})
    corr = nb08.sweep_correlations(sweep).set_index("attack")
    assert list(corr.index) == ["rmle", "worst"]  # one attack: the worst case is that attack
    assert corr.loc["rmle", "points"] == 5 and corr.loc["rmle", "enough_points"]
    assert corr.loc["rmle", "rho_depth_ssim"] == pytest.approx(-1.0)  # depth alone ranks perfectly
    assert corr.loc["rmle", "rho_P_ssim"] == pytest.approx(-0.9)  # P swaps two points: 1 - 6*2/120
    assert corr.loc["rmle", "beats_mean_image"]
    # searched SSIM 0.2 (sd 0.3, 9 images) vs baseline 0.5 (sd 0.4, 16 images):
    # d = -0.3, s.e. = sqrt(0.09/9 + 0.16/16) = sqrt(0.02) = 0.1414: beyond 2 s.e., harder to invert
    strategies = pd.DataFrame({"model": "resnet18", "attack": "rmle", "strategy": ["searched", "8-bit"],
                               "p": [7, 4], "ssim": [0.2, 0.5], "ssim_sd": [0.3, 0.4],
                               "test_images": [9, 16], "privacy": [0.8, 0.6]})
    t = nb08.strategy_comparison(strategies, "searched", "8-bit").iloc[0]
    assert t["ssim_difference"] == pytest.approx(-0.3)
    assert t["difference_se"] == pytest.approx(0.02 ** 0.5)
    assert t["verdict"] == "harder to invert"
    line = nb08.strategy_lines(strategies, "searched", "8-bit")[0]
    assert "difference -0.300 ± 0.141 s.e.: harder to invert; P 0.800 vs 0.600" in line


def test_within_point_study_reads_the_worst_case_over_the_attacks():
    from paperlib.studies import nb08_attacks as nb08
    pol = pd.DataFrame({"model": "m", "split": "s", "policy": [0, 0, 1, 1],
                        "attack": ["rmle", "shadow"] * 2, "ssim": [0.5, 0.7, 0.9, 0.2],
                        "psnr": [20.0, 15.0, 12.0, 18.0], "privacy": [0.3, 0.3, 0.6, 0.6],
                        "test_images": 64, "ssim_sd": [0.1, 0.2, 0.3, 0.4]})
    w = nb08.with_worst_case(pol)
    worst = w[w["attack"] == "worst"].set_index("policy")
    assert worst["ssim"].to_dict() == {0: 0.7, 1: 0.9}  # the max over the attacks, per policy
    assert worst["worst_attack"].to_dict() == {0: "shadow", 1: "rmle"}
    assert worst["ssim_sd"].to_dict() == {0: 0.2, 1: 0.3}  # the spread of the attack that won
    assert worst["psnr"].to_dict() == {0: 20.0, 1: 18.0}  # PSNR's worst case on its own
    assert worst["privacy"].to_dict() == {0: 0.3, 1: 0.6}
    assert len(w) == len(pol) + 2
    corr = nb08.policy_correlation(w, resamples=0)
    assert corr.set_index("attack").loc["worst", "images"] == 64
    assert "worst case over the attacks" in " ".join(nb08.policy_lines(corr))
