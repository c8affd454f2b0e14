"""Notebook 06, the learned inversion attack (beyond the paper): how P and the attack agree over
partition points (:func:`agreement_table`, :func:`disagreement_table`), the searched strategy and
the fixed baselines under attack (:func:`attack_strategies`), and the findings in words
(:func:`attack_findings`; thresholds: :mod:`paperlib.studies.wording`, docs/decisions/reporting.md §6).
The attack itself is :mod:`paperlib.attacks`; the rank statistics :mod:`paperlib.studies.attack_tables`."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import pandas as pd

from .. import attacks, search
from ..method import constants as C
from ..method import energy
from ..method.models import MODELS
from ..method.paper_strategies import PaperStrategy
from ..search import Genome
from . import attack_tables
from .attack_tables import ssim_difference
from .wording import (LEAK_SSIM_GAIN, MIN_POINTS_FOR_RHO, SATURATED_P, SIGNIFICANT_SE, SMALL_CHANGE,
                      Findings, proxy_attack_verdict, rho_text)

# the strategies attacked (column "strategy" of :func:`attack_strategies`)
ATTACK_SEARCHED = "searched (Algorithm 1)"
ATTACK_UNIFORM8 = "8-bit uniform, deepest p under E_b"
ATTACK_FP32 = "fp32, deepest p under E_b"
# which IRs a row of :func:`agreement_table` compares
FP32_IRS = "fp32 IRs, partition points"
ALL_IRS = "all IRs (re-quantized incl.)"


def agreement_table(sweep: pd.DataFrame, inversions: pd.DataFrame) -> pd.DataFrame:
    """Rank agreement of P and the attack per model, over the fp32 IRs of the sweep
    (:data:`FP32_IRS`) and over every IR, re-quantized ones included (:data:`ALL_IRS`)."""
    agreement = pd.concat([
        attack_tables.proxy_agreement(sweep, by=["model"]).assign(irs_compared=FP32_IRS),
        attack_tables.proxy_agreement(inversions, by=["model"]).assign(irs_compared=ALL_IRS),
    ], ignore_index=True)
    return agreement[["model", "irs_compared", "irs", "rho_ssim", "p_value", "rho_psnr",
                      "comparable_pairs", "discordant_pairs", "discordant_fraction"]]


def disagreement_table(sweep: pd.DataFrame, models: Sequence[str]) -> pd.DataFrame:
    """The pairs of partition points that P and the attack rank the other way round, per model
    (labels ``p=<point>``), sharpest first within a model."""
    pairs = []
    for m in models:
        g = sweep[sweep["model"] == m].assign(ir_label=lambda d: "p=" + d["p"].astype(str))
        pairs.append(attack_tables.discordant_pairs(g, label="ir_label").assign(model=m))
    return pd.concat(pairs, ignore_index=True)[["model", "more_private", "less_private", "proxy_gap",
                                                "leak_gap"]]


def attack_strategies(strategy_models: Sequence[str], info: Mapping[str, Mapping[str, Any]], prof,
                      energy_bound: float, search_seed: int = 0
                      ) -> tuple[pd.DataFrame, dict[str, dict[str, Any]], list[str]]:
    """Attack the searched strategy (notebook 04's search of ``search_seed``, run if missing) and
    8-bit uniform and fp32 at their deepest partition under ``energy_bound``, per model of
    ``strategy_models`` (``info[model]``: its ``net`` and ``meta``). Returns the table (one row
    per model and strategy), the ``AttackResult`` per model and strategy, and one line per model
    saying which search was used."""
    rows, results, notes = [], {}, []
    for m in strategy_models:
        net, meta = info[m]["net"], info[m]["meta"]
        res = search.run(m, prof, search.RunSettings(energy_bound=energy_bound, seed=search_seed),
                         progress=False)
        tx = bool(res.best["energy_includes_transmission"])
        genome = Genome.from_dict(res.best["genome"])
        cands = {ATTACK_SEARCHED: (genome.p, genome.policy),
                 ATTACK_UNIFORM8: (PaperStrategy.UNIFORM8.partition(net, energy_bound, transmission=tx),
                                   PaperStrategy.UNIFORM8.bits),
                 ATTACK_FP32: (PaperStrategy.FP32.partition(net, energy_bound, transmission=tx),
                               PaperStrategy.FP32.bits)}
        out = {}
        for name, (p, pol) in cands.items():
            r = attacks.run(m, prof, [p], pol, net=net, meta=meta, progress=False)[0]
            out[name] = r
            rows.append({"model": m, "strategy": name, "p": p, "ir_bits": r.ir_bits,
                         "energy_mJ": energy.edge_energy(net, p, pol, transmission=tx),
                         "proxy_P": r.privacy, "attack_ssim": r.ssim, "ssim_sd": r.ssim_sd,
                         "attack_psnr_dB": r.psnr, "mean_image_ssim": r.baseline_ssim})
        results[m] = out
        notes.append(f"{MODELS.label(m)}: search seed {res.seed}, {res.evaluations} evaluations; "
                     f"energy {'with' if tx else 'without'} E_T")
    return pd.DataFrame(rows), results, notes


def attack_findings(agreement: pd.DataFrame, sweep: pd.DataFrame, disagreements: pd.DataFrame,
                    bit_irs: pd.DataFrame, bits: Sequence[int],
                    strategy_attacks: Mapping[str, Mapping[str, Any]]) -> Findings:
    """Does P predict the learned inversion attack? Rank agreement per model, the sharpest
    disagreement, saturation of P, re-quantized IRs, and the searched strategy against 8-bit
    uniform (``strategy_attacks[model][ATTACK_SEARCHED | ATTACK_UNIFORM8]``: ``AttackResult``)."""
    lines = []
    for r in agreement[agreement["irs_compared"].str.startswith("fp32")].itertuples():
        g = sweep[sweep["model"] == r.model].sort_values("p")
        leak = g[g["ssim_gain"] > LEAK_SSIM_GAIN]
        if r.irs < MIN_POINTS_FOR_RHO:
            relation = (f"{rho_text(r.rho_ssim, r.irs, 'ρ(P, attack SSIM)')}, so no verdict on the "
                        "agreement of proxy and attack")
        else:
            relation = (f"Spearman ρ(P, attack SSIM) = {r.rho_ssim:.2f} (p = {r.p_value:.2g}), "
                        f"ρ(P, PSNR) = {r.rho_psnr:.2f}: proxy and attack {proxy_attack_verdict(r.rho_ssim)}")
        lines.append(f"* **{MODELS.label(r.model)}** ({r.irs} partition points): {relation}; "
                     f"{r.discordant_pairs} of {r.comparable_pairs} pairs of points are ranked the other way "
                     f"round. Attack SSIM falls from {g['ssim'].iloc[0]:.2f} at p = {g['p'].iloc[0]} to "
                     f"{g['ssim'].iloc[-1]:.2f} at p = {g['p'].iloc[-1]} (mean-image reference "
                     f"{g['baseline_ssim'].iloc[0]:.2f}), while P goes {g['privacy'].iloc[0]:.2f} → "
                     f"{g['privacy'].iloc[-1]:.2f}; the decoder beats the reference by more than "
                     f"{LEAK_SSIM_GAIN} SSIM at {len(leak)} of {len(g)} points.")
        for d in disagreements[disagreements["model"] == r.model].head(1).itertuples():
            a = g.set_index("p").loc[int(d.more_private[2:])]
            b = g.set_index("p").loc[int(d.less_private[2:])]
            lines.append(f"  The sharpest disagreement: P calls {d.more_private} more private than "
                         f"{d.less_private} ({a['privacy']:.2f} vs {b['privacy']:.2f}), yet the attack "
                         f"recovers it better (SSIM {a['ssim']:.2f} vs {b['ssim']:.2f}).")
        hi = g[(g["privacy"] >= SATURATED_P) & (g["ssim_gain"] > LEAK_SSIM_GAIN)]
        if len(hi):
            lines.append(f"  At {', '.join('p = ' + hi['p'].astype(str))} the proxy is near its "
                         f"'uncorrelated' value (P ≥ {SATURATED_P}; 2 = no channel correlates with the image) "
                         f"although the decoder still recovers SSIM {hi['ssim'].min():.2f}–"
                         f"{hi['ssim'].max():.2f}: P misses information the IR still carries spread over "
                         "many channels.")
    rest = agreement[~agreement["irs_compared"].str.startswith("fp32")]
    lines.append("* **All IRs per model** (re-quantized ones included): "
                 + ", ".join(f"{MODELS.label(r.model)} {rho_text(r.rho_ssim, r.irs, 'ρ(P, SSIM)')}"
                             for r in rest.itertuples()) + ".")
    fp = bit_irs[bit_irs["ir_bits"] == C.FULL_PRECISION].set_index(["model", "p"])
    for b in sorted(bits):
        q = bit_irs[bit_irs["ir_bits"] == b].set_index(["model", "p"])
        if not len(q):
            continue
        dssim = (q["ssim"] - fp["ssim"].reindex(q.index)).dropna()
        dp = (q["privacy"] - fp["privacy"].reindex(q.index)).dropna()
        attack_word = ("the attack recovers less" if dssim.mean() < -SMALL_CHANGE else
                       "the attack recovers more" if dssim.mean() > SMALL_CHANGE else
                       f"the attack barely changes (|ΔSSIM| < {SMALL_CHANGE})")
        proxy_word = ("P calls it more private" if dp.mean() > SMALL_CHANGE else
                      "P calls it less private" if dp.mean() < -SMALL_CHANGE else
                      f"P barely changes (|ΔP| < {SMALL_CHANGE})")
        lines.append(f"* **{b}-bit IR vs fp32** (same points, {len(dssim)} IRs): attack SSIM changes by "
                     f"{dssim.mean():+.3f} on average (lower at {int((dssim < 0).sum())} of {len(dssim)}), P by "
                     f"{dp.mean():+.3f} (higher at {int((dp > 0).sum())} of {len(dp)}): {attack_word}, "
                     f"{proxy_word}.")
    for m, out in strategy_attacks.items():
        s_, e8 = out[ATTACK_SEARCHED], out[ATTACK_UNIFORM8]
        d, se = ssim_difference(s_, e8)
        word = ("harder to invert" if d < -SIGNIFICANT_SE * se else
                "easier to invert" if d > SIGNIFICANT_SE * se else
                f"about as hard to invert (difference within {SIGNIFICANT_SE:g} s.e.)")
        more = s_.privacy > e8.privacy
        agree = (d < -SIGNIFICANT_SE * se) == more if abs(d) > SIGNIFICANT_SE * se else None
        lines.append(f"* **{MODELS.label(m)}, searched strategy** (p = {s_.p}) vs 8-bit uniform at p = {e8.p}: "
                     f"attack SSIM {s_.ssim:.3f} vs {e8.ssim:.3f} (difference {d:+.3f} ± {se:.3f} s.e.), so the "
                     f"searched strategy is {word}; the proxy calls it {'more' if more else 'less'} private "
                     f"(P {s_.privacy:.3f} vs {e8.privacy:.3f})"
                     + ("." if agree is None else
                        " — the attack agrees." if agree else " — the attack disagrees."))
    return Findings(pd.DataFrame(), lines)


__all__ = ["ATTACK_SEARCHED", "ATTACK_UNIFORM8", "ATTACK_FP32", "FP32_IRS", "ALL_IRS", "agreement_table",
           "disagreement_table", "attack_strategies", "attack_findings"]
