"""Notebook 05, edge against cloud (Fig. 11, Table 5): the paper's claims beside this run
(:func:`edge_cloud_findings`, docs/decisions/reporting.md §6), and how the paper's Table 4/5
conclusions move on another hardware description.

Everything here is analytic (Eq. 7-9 on the architecture), so it needs no trained model: the
energy per operation of each description (:func:`energy_per_operation`), the fixed strategies of
Tables 4 and 5 on each (:func:`analytic_offloads`: full precision and 8-bit uniform at the
deepest partition point under E_b, and the 8-bit conv/fc split), the energy of uniform bit widths
against 8 bits at the same partition point (:func:`bit_width_savings`, the ground of Fig. 11's
"mixed precision saves about 40 %"), and the searched strategies re-costed
(:func:`searched_energies`). Energies are compute only, as the paper's tables
(docs/decisions/graph-and-hardware.md §7).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..method import constants as C
from ..method import energy, hardware, models
from ..method.constants import ENERGY_BOUND_MJ, FULL_PRECISION
from ..method.models import MODELS
from . import tables
from .tables import CONV_FC, FP32, SEARCHED
from .wording import (NEAR_BOUND, SAVING_TOLERANCE, Findings, feasibility, less_or_more, times_factor,
                      times_less_or_more)

BIT_WIDTHS: tuple[int, ...] = (2, 4, 6, 8, 16, 32)


def descriptions(extra: Iterable[hardware.HardwareSpec] = ()) -> list[hardware.Hardware]:
    """Every shipped description (:data:`paperlib.method.hardware.HARDWARE`), the one in use when it is
    another, then ``extra``; each once (by its numbers)."""
    out: list[hardware.Hardware] = []
    for spec in [*hardware.HARDWARE, hardware.current(), *extra]:
        h = hardware.load(spec)
        if all(h.digest != o.digest for o in out):
            out.append(h)
    return out


def energy_per_operation(hws: Sequence[hardware.HardwareSpec],
                         bits: Sequence[int] = BIT_WIDTHS) -> pd.DataFrame:
    """``E_MAC|k`` and ``E_mem|k`` in pJ of every description at every bit width ``k``
    (columns ``hardware``, ``label``, ``bits``, ``e_mac_pj``, ``e_mem_pj``)."""
    rows = []
    for spec in hws:
        h = hardware.load(spec)
        rows += [{"hardware": h.name, "label": h.label, "bits": int(k), "e_mac_pj": h.e_mac_pj(k),
                  "e_mem_pj": h.e_mem_pj(k)} for k in bits]
    return pd.DataFrame(rows)


def _meta_net(model: str) -> nn.Module:
    with torch.device("meta"):  # shapes only
        return models.build(model)


def analytic_offloads(model_names: Sequence[str], hws: Sequence[hardware.HardwareSpec],
                      energy_bound: float = ENERGY_BOUND_MJ) -> pd.DataFrame:
    """Tables 4 and 5's fixed strategies (``tables.analytic_references``: full precision and
    8-bit uniform at the deepest p whose compute energy is below ``energy_bound``, and 8-bit
    conv/fc) of every model on every description; one row per (hardware, model, method)."""
    rows = []
    for spec in hws:
        h = hardware.load(spec)
        with hardware.use(h):
            for m in model_names:
                ref = tables.analytic_references(_meta_net(m), energy_bound)
                rows.append(ref.assign(model=m, hardware=h.name,
                                       num_units=models.num_units(_meta_net(m))))
    cols = ["hardware", "model", "method", "bits", "p", "num_units", "blocks", "conv_layers",
            "conv_layers_with_stem", "energy_mj", "transmission_mj"]
    df = pd.concat(rows, ignore_index=True)
    return df[[c for c in cols if c in df.columns]]


def bit_width_savings(model_names: Sequence[str], hws: Sequence[hardware.HardwareSpec],
                      bits: Sequence[int] = (2, 4, 8, FULL_PRECISION)) -> pd.DataFrame:
    """Compute energy with every unit on the edge at uniform ``bits`` (the stem's first layer at
    fp32), and its ratio to 8 bits, per model and description: how much lower bit widths can save
    at the same partition point on each."""
    rows = []
    for spec in hws:
        h = hardware.load(spec)
        for m in model_names:
            net = _meta_net(m)
            p = models.num_units(net)
            e8 = energy.edge_energy(net, p, 8, transmission=False, hardware=h)
            rows += [{"hardware": h.name, "model": m, "p": p, "bits": int(b),
                      "energy_mj": (e := energy.edge_energy(net, p, int(b), transmission=False,
                                                            hardware=h)),
                      "ratio_to_8bit": e / e8} for b in bits]
    return pd.DataFrame(rows)


def searched_energies(strategies: Mapping[str, tuple[nn.Module, int, Any]],
                      hws: Sequence[hardware.HardwareSpec],
                      energy_bound: float = ENERGY_BOUND_MJ) -> pd.DataFrame:
    """The compute energy of given strategies ``{model: (net, p, policy)}`` (e.g. the searched
    ones, found on Table 3) on every description, and whether it stays under ``energy_bound``."""
    rows = []
    for spec in hws:
        h = hardware.load(spec)
        for m, (net, p, policy) in strategies.items():
            e = energy.edge_energy(net, int(p), policy, transmission=False, hardware=h)
            rows.append({"hardware": h.name, "model": m, "p": int(p), "energy_mj": e,
                         "within_bound": bool(e < energy_bound)})
    return pd.DataFrame(rows)


def shifts(offloads: pd.DataFrame, reference: str = hardware.DEFAULT_HARDWARE) -> pd.DataFrame:
    """Per (model, method), the deepest partition point and the energy on each description beside
    the ``reference`` one's (columns ``p_<hardware>``, ``energy_mj_<hardware>``), and
    ``moved``: whether the partition point differs from the reference's."""
    keys = ["model", "method"]
    wide = offloads.pivot_table(index=keys, columns="hardware", values=["p", "energy_mj"],
                                aggfunc="first", dropna=False)
    wide.columns = [f"{v}_{hw}" for v, hw in wide.columns]
    wide = wide.reset_index()
    ref = f"p_{reference}"
    others = [c for c in wide.columns if c.startswith("p_") and c != ref]
    wide["moved"] = np.any([~np.isclose(wide[c].astype(float), wide[ref].astype(float),
                                        equal_nan=True) for c in others], axis=0) if others else False
    return wide


def shift_sentences(shifted: pd.DataFrame, reference: str = hardware.DEFAULT_HARDWARE) -> list[str]:
    """One sentence per model and method whose deepest partition point moves."""
    out = []
    for _, row in shifted[shifted["moved"]].iterrows():
        parts = [f"{hw[2:]} p = {_p(row[hw])}" for hw in row.index
                 if hw.startswith("p_") and hw != f"p_{reference}"]
        out.append(f"{models.MODELS.label(row['model'])}, {row['method']}: p = "
                   f"{_p(row[f'p_{reference}'])} on {reference}, {', '.join(parts)}")
    return out


def _p(value: Any) -> str:
    return "none fits" if value is None or (isinstance(value, float) and np.isnan(value)) else str(int(value))


def edge_cloud_findings(same_p: pd.DataFrame, table5: pd.DataFrame, models: Sequence[str],
                        energy_bound: float = C.ENERGY_BOUND_MJ) -> Findings:
    """Fig. 11's savings against 8-bit uniform at the same p (the paper's rounded percentages,
    ``constants.PAPER_FIG11_SAVING``) and Table 5's energy ratio and privacy trade of the searched
    strategy against the conv/fc split, each worded by its sign ("43% less", "96% more", "2.2×
    less", "1.5× more"). The table's ``paper_value`` and ``ours_value`` hold the numbers its
    ``paper`` and ``ours`` texts write (a saving's size as a fraction, a factor of at least 1, mJ,
    a privacy change), so that a sentence citing them cites the table."""
    rows, lines = [], []
    for m in models:
        s = same_p[(same_p["model"] == m) & (same_p["method"] == SEARCHED)].iloc[0]
        f = same_p[(same_p["model"] == m) & (same_p["method"] == FP32)].iloc[0]
        paper = C.PAPER_FIG11_SAVING[m]
        vs_fp = 1 - s.energy_mj / f.energy_mj
        rows.append({"claim": f"{MODELS.label(m)}: energy saving vs 8-bit uniform at the same p (Fig. 11)",
                     "paper": f"about {paper:.0%}", "ours": f"{less_or_more(s.saving_vs_8bit)} at p = {s.p}",
                     "paper_value": paper, "ours_value": abs(s.saving_vs_8bit)})
        rows.append({"claim": f"{MODELS.label(m)}: energy saving vs full precision at the same p (Fig. 11)",
                     "paper": "not stated", "ours": f"{less_or_more(vs_fp)} at p = {s.p}",
                     "paper_value": np.nan, "ours_value": abs(vs_fp)})
        lines.append(f"* **Fig. 11, {MODELS.label(m)}**: at the searched p = {s.p}, the mixed-precision strategy "
                     f"needs {s.energy_mj:.4f} mJ of compute, {less_or_more(s.saving_vs_8bit)} than 8-bit uniform "
                     f"(paper: about {paper:.0%} less) and {less_or_more(vs_fp)} than full "
                     f"precision ({f.energy_mj:.4f} mJ); "
                     + ("close to the paper's figure." if abs(s.saving_vs_8bit - paper) <= SAVING_TOLERANCE
                        else "a different saving than the paper's, since it depends on how many layers the "
                             "search put at 2–4 bits." if s.saving_vs_8bit >= 0
                        else "unlike in the paper, the searched strategy costs more than 8-bit uniform here; "
                             "what it saves depends on how many layers the search put below 8 bits and how "
                             "many above."))
    for m in models:
        t = table5[table5["model"] == m].set_index("method")
        if not {CONV_FC, SEARCHED} <= set(t.index):
            continue
        c, s = t.loc[CONV_FC], t.loc[SEARCHED]
        dp = s.privacy / c.privacy - 1
        has_paper = not np.isnan(c.energy_mj_paper)
        paper_ratio = times_less_or_more(c.energy_mj_paper, s.energy_mj_paper) if has_paper else ""
        paper_dp = s.privacy_paper / c.privacy_paper - 1 if has_paper else np.nan
        rows.append({"claim": f"{MODELS.label(m)}: conv/fc split energy, all blocks at 8 bits (Table 5)",
                     "paper": f"{c.energy_mj_paper:.4f} mJ" if has_paper else "not reported",
                     "ours": f"{c.energy_mj:.4f} mJ",
                     "paper_value": c.energy_mj_paper, "ours_value": c.energy_mj})
        rows.append({"claim": f"{MODELS.label(m)}: edge energy of the searched strategy against the conv/fc "
                              "split (Table 5)",
                     "paper": paper_ratio or "not reported",
                     "ours": f"{times_less_or_more(c.energy_mj, s.energy_mj)} ({s.energy_mj:.4f} mJ, "
                             f"{s.blocks:.0f}/{s.conv_layers_with_stem:.0f})",
                     "paper_value": times_factor(c.energy_mj_paper, s.energy_mj_paper) if has_paper else np.nan,
                     "ours_value": times_factor(c.energy_mj, s.energy_mj)})
        rows.append({"claim": f"{MODELS.label(m)}: privacy traded for it (Table 5)",
                     "paper": f"{paper_dp:+.1%}" if has_paper else "not reported", "ours": f"{dp:+.1%}",
                     "paper_value": paper_dp, "ours_value": dp})
        text = (f"* **Table 5, {MODELS.label(m)}**: the conv/fc split costs {c.energy_mj:.4f} mJ of edge compute"
                + (f" (paper {c.energy_mj_paper:.4f} mJ: "
                   + ("identical" if round(c.energy_mj, 4) == c.energy_mj_paper else "different") + ")"
                   if has_paper else "")
                + f"; the searched strategy {s.energy_mj:.4f} mJ, {times_less_or_more(c.energy_mj, s.energy_mj)}"
                + (f" (paper {paper_ratio})" if has_paper else "")
                + f", with {dp:+.1%} privacy" + (f" (paper {paper_dp:+.1%})" if has_paper else "") + ". ")
        if s.energy_mj > energy_bound:
            text += (f"Our searched strategy is {feasibility(s.energy_mj, energy_bound)} (the search ended on a "
                     "punished strategy: too few iterations), so the ratio is smaller than the bound implies. ")
        elif has_paper and s.energy_mj > NEAR_BOUND * energy_bound:
            text += ("Both searched strategies sit just under E_b, so the energy ratio is essentially the "
                     "conv/fc energy divided by E_b, which our model reproduces. ")
        elif has_paper:
            text += "Our searched strategy stays well under E_b, so its ratio is larger than the bound alone implies. "
        if c.energy_mj < s.energy_mj <= energy_bound:
            text += ("The searched strategy costs more edge energy than the conv/fc split, within E_b: the "
                     "search keeps the energy under the bound, it does not minimise it. ")
        text += ("The searched strategy keeps fewer blocks on the edge and, as in the paper, gives up some "
                 "privacy for the energy." if dp < 0 else
                 "Here the searched strategy is not less private than the full conv/fc split"
                 + (" (the paper: slightly less)." if has_paper else "."))
        lines.append(text)
    return Findings(pd.DataFrame(rows), lines)


__all__ = ["BIT_WIDTHS", "descriptions", "energy_per_operation", "analytic_offloads",
           "bit_width_savings", "searched_energies", "shifts", "shift_sentences", "edge_cloud_findings"]
