"""How Table 4's reading changes when the energy bound includes the transmission energy E_T at
other per-bit energies than the paper's E_tran (notebook 07).

Radio energy per bit (:data:`paperlib.network.constants.RADIO_E_TRAN_PJ_PER_BIT`): the paper's
E_tran = 100 pJ/bit against orders of magnitude for smartphone radios from Huang et al., "A close
examination of performance and power characteristics of 4G LTE networks", MobiSys 2012: an uplink
power model ``P = alpha_u * t_u + beta`` (mW, t_u in Mbit/s), so the energy per bit is ``alpha_u +
beta / t_u`` nJ. With their fitted coefficients (as we recall them: Wi-Fi alpha_u ~ 283 mW/Mbps,
beta ~ 133 mW; LTE ~ 438 and ~ 1288; 3G ~ 869 and ~ 818) at representative uplink rates (Wi-Fi 10,
LTE 6 — their median LTE uplink —, 3G 1 Mbit/s) this gives roughly 0.3, 0.65 and 1.7 µJ/bit. Treat
these as orders of magnitude (tail energy and promotion delays, which make radios costlier still,
are left out); the conclusion below does not depend on the exact digits.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..method import energy as en
from ..method.constants import ENERGY_BOUND_MJ
from ..method.paper_strategies import PaperStrategy
from ..network.constants import RADIO_E_TRAN_PJ_PER_BIT, RADIO_SOURCE
from ..search.baselines import describe_key, energy_at


def transmission_sensitivity(net, points: pd.DataFrame, references: pd.DataFrame, *,
                             energy_bound: float = ENERGY_BOUND_MJ, eps_bound: float | None = None,
                             e_trans: dict[str, float] | None = None) -> pd.DataFrame:
    """How Table 4's reading changes when E in Eq. 4 includes E_T at other per-bit energies.

    One row per E_tran (plus "compute only", E_T left out as in the paper's tables): how many
    blocks fp32 and 8-bit uniform may put on the edge under ``energy_bound``, the cheapest 8-bit
    uniform partition point and its energy, and the most private strategy among the logged and
    reference ones whose energy (recomputed with that E_tran) meets the bound, with its ε within
    ``eps_bound``.
    """
    e_trans = dict(RADIO_E_TRAN_PJ_PER_BIT if e_trans is None else e_trans)
    cand = pd.concat([points.assign(source="logged"),
                      references.assign(source="reference")], ignore_index=True)
    if eps_bound is not None:
        cand = cand[cand["eps"] <= eps_bound]
    rows = []
    settings = [("compute only (no E_T)", None)] + list(e_trans.items())
    for name, e_tran in settings:
        tx = e_tran is not None
        kw = {"e_tran_pj_per_bit": e_tran} if tx else {}
        row: dict[str, Any] = {"setting": name, "E_tran_pJ_per_bit": e_tran if tx else 0.0}
        for ref, label in ((PaperStrategy.FP32, "fp32"), (PaperStrategy.UNIFORM8, "8bit")):
            row[f"blocks_{label}"] = ref.partition(net, energy_bound, tx, **kw)
        e8 = en.partition_energies(net, 8, transmission=tx, **kw)
        row["cheapest_p_8bit"] = int(np.argmin(e8))
        row["cheapest_energy_8bit_mJ"] = float(np.min(e8))
        e_img = (3 * 32 * 32 * 8 * (e_tran or 0.0)) / 1e9
        row["raw_image_8bit_tx_mJ"] = e_img
        e = (energy_at(cand["energy"], cand["energy_no_tx"], e_tran) if tx
             else cand["energy_no_tx"])
        ok = cand[np.asarray(e) <= energy_bound]
        if len(ok):
            best = ok.loc[ok["privacy"].idxmax()]
            row["best_privacy"] = float(best["privacy"])
            row["best_strategy"] = (best["strategy"] if isinstance(best.get("strategy"), str)
                                    else describe_key(best["key"]))
        else:
            row["best_privacy"] = np.nan
            row["best_strategy"] = "none fits"
        rows.append(row)
    return pd.DataFrame(rows)


__all__ = ["transmission_sensitivity", "RADIO_E_TRAN_PJ_PER_BIT", "RADIO_SOURCE"]
