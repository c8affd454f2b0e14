"""Notebook 07, search baselines (beyond the paper): the Pareto front and the E_b sweep of every
compared model (:func:`privacy_front`, :func:`eb_sweep`), the paper's claims beside this run
(:func:`baseline_findings`, docs/decisions/reporting.md §6), how Table 4's reading changes when
the energy bound includes the transmission energy E_T at other per-bit energies than the paper's
E_tran (:func:`transmission_sensitivity`), and NSGA-II against the genetic search swept over E_b
by hypervolume against evaluations (:func:`front_curve_summary`) with a verdict paired by seed
(:func:`front_verdict`, docs/decisions/scale.md §4).

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

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..method import constants as C
from ..method import energy as en
from ..method.constants import ENERGY_BOUND_MJ, FULL_PRECISION
from ..method.models import MODELS
from ..method.paper_strategies import PaperStrategy
from ..network.constants import RADIO_E_TRAN_PJ_PER_BIT, RADIO_SOURCE
from ..search import baselines
from ..search.baselines import describe_key, energy_at
from ..search.fitness import over, within
from ..search.fronts import NSGA, SWEEP
from ..search.methods import BUDGET_METHOD, SEARCH_METHODS
from ..search.pareto import frame_pareto_mask
from .wording import CONFIDENCE, Findings, block_count, larger_word, seeds_word

# the strategies of the E_b sweep (column "strategy" of :func:`eb_sweep`)
SWEEP_BEST = "best logged (any method)"
SWEEP_UNIFORM8 = "8-bit uniform, deepest p"
SWEEP_FP32 = "fp32, deepest p"


def privacy_front(comparison: "baselines.Comparison") -> pd.DataFrame:
    """The logged strategies within the comparison's ε_b that no other one beats in both edge
    energy (``energy_bounded``, lower) and privacy (higher), by energy (tie rule:
    :func:`paperlib.search.pareto.pareto_mask`)."""
    pts = comparison.points
    ok = pts[within(pts["eps"], comparison.accuracy_bound)]
    front = frame_pareto_mask(ok, minimise=["energy_bounded"], maximise=["privacy"])
    return ok[front].sort_values("energy_bounded")


def eb_sweep(comparison: "baselines.Comparison", bounds: Sequence[float]) -> pd.DataFrame:
    """For every E_b in ``bounds``: the most private logged strategy within ε_b (:data:`SWEEP_BEST`),
    and 8-bit uniform and fp32 at their deepest partition point (:data:`SWEEP_UNIFORM8`,
    :data:`SWEEP_FP32`), one frame with a ``strategy`` column."""
    best = baselines.best_under_bounds(comparison.points, bounds, eps_bound=comparison.accuracy_bound)
    u8 = baselines.uniform_sweep(comparison, bounds, 8)
    u32 = baselines.uniform_sweep(comparison, bounds, FULL_PRECISION)
    return pd.concat([best.assign(strategy=SWEEP_BEST), u8.assign(strategy=SWEEP_UNIFORM8),
                      u32.assign(strategy=SWEEP_FP32)], ignore_index=True)


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
        cand = cand[within(cand["eps"], eps_bound)]
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
        ok = cand[~over(np.asarray(e), energy_bound)]
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


def baseline_findings(comparisons: Mapping[str, Any], final: pd.DataFrame,
                      summaries: Mapping[str, pd.DataFrame], sweeps: Mapping[str, pd.DataFrame],
                      fronts: Mapping[str, pd.DataFrame], sensitivity: pd.DataFrame,
                      energy_bound: float = C.ENERGY_BOUND_MJ) -> Findings:
    """Is the genetic search worth it? Every registered search method's best fitness over seeds
    (``final``: ``Comparison.final()`` rows), how soon the reference method (Algorithm 1) reaches
    each other method's final mean (``summaries``: ``baselines.curve_summary`` per model), the
    E_b sweep at ``energy_bound`` (``sweeps[model]``: column ``strategy`` with
    :data:`SWEEP_BEST`, :data:`SWEEP_UNIFORM8`, :data:`SWEEP_FP32`) and the E_tran sensitivity
    (``:func:`transmission_sensitivity```: its row with E_tran 0 is compute only, the one at the
    paper's E_tran the paper's setting, the others radios)."""
    ref_label = SEARCH_METHODS.label(BUDGET_METHOD)
    lines = []
    for m, c in comparisons.items():
        stats = final[final["model"] == m].groupby("method")["best_fitness"].agg(["mean", "min", "max"])
        methods = [k for k in SEARCH_METHODS if k in stats.index]
        others = [k for k in methods if k != BUDGET_METHOD]
        ref = stats.loc[BUDGET_METHOD] if BUDGET_METHOD in stats.index else None
        n = ", ".join(str(v) for v in c.budgets.values())
        lines.append(f"* **{MODELS.label(m)}** ({len(c.budgets)} seeds, {n} evaluations each; the exhaustive "
                     f"uniform grid holds {c.grid_size} strategies): best fitness — "
                     + ", ".join(f"{SEARCH_METHODS.label(k)} {stats.loc[k, 'mean']:.4f} "
                                 f"[{stats.loc[k, 'min']:.4f}, {stats.loc[k, 'max']:.4f}]" for k in methods)
                     + f". The {ref_label} is "
                     + " and ".join(f"{seeds_word(ref, stats.loc[k])} vs. {SEARCH_METHODS.label(k)}"
                                    for k in others) + ".")
        inits = {r.settings.get("init", "random") for r in c.ga_results.values()}
        if "baselines" in inits:
            lines.append(f"  The {ref_label} here is the package's default search: its first "
                         "generation holds the uniform baselines (Algorithm 1 as the paper gives "
                         "it, `--init random`, starts at random), so it matches the best of them "
                         "from its first evaluations; what it adds is its margin over the "
                         "exhaustive grid.")
        summ = summaries[m]
        ref_curve = summ[summ["method"] == BUDGET_METHOD].set_index("evaluations")["mean"]
        for other in others:
            o = summ[summ["method"] == other].set_index("evaluations")["mean"]
            target = o.iloc[-1]
            reach = ref_curve[ref_curve >= target]
            lines.append(f"  The {ref_label} reaches the final mean of {SEARCH_METHODS.label(other)} "
                         f"({target:.4f}) after {int(reach.index[0])} of {int(o.index[-1])} evaluations."
                         if len(reach) else
                         f"  The {ref_label} never reaches the final mean of {SEARCH_METHODS.label(other)} "
                         f"({target:.4f}).")
        bl = sweeps[m]
        at = bl[np.isclose(bl["energy_bound"], energy_bound)].set_index("strategy")["privacy"]
        if SWEEP_BEST in at and SWEEP_UNIFORM8 in at:
            lines.append(f"  Within E_b = {energy_bound} mJ the most private logged strategy reaches P = "
                         f"{at[SWEEP_BEST]:.4f} vs. {at[SWEEP_UNIFORM8]:.4f} for 8-bit uniform and "
                         f"{at.get(SWEEP_FP32, np.nan):.4f} for fp32 at their deepest points; the Pareto front has "
                         f"{len(fronts[m])} strategies.")
        s = sensitivity[sensitivity["model"] == m].set_index("setting")
        e_tran = s["E_tran_pJ_per_bit"]
        comp = s[e_tran == 0].iloc[0]
        paper = s[np.isclose(e_tran, C.E_TRAN_PJ_PER_BIT)].iloc[0]
        radios = [k for k in s.index if e_tran[k] != 0 and not np.isclose(e_tran[k], C.E_TRAN_PJ_PER_BIT)]
        lines.append(f"  **E_tran**: 8-bit uniform may offload {block_count(comp['blocks_8bit'])} blocks "
                     f"compute-only and {block_count(paper['blocks_8bit'])} at "
                     f"{C.E_TRAN_PJ_PER_BIT:g} pJ/bit; with radios: "
                     + ", ".join(f"{k} {block_count(s.loc[k, 'blocks_8bit'])} (cheapest p = "
                                 f"{int(s.loc[k, 'cheapest_p_8bit'])}, {s.loc[k, 'cheapest_energy_8bit_mJ']:.3g} mJ)"
                                 for k in radios)
                     + f". Sending the raw 8-bit image would cost {s.loc[radios[0], 'raw_image_8bit_tx_mJ']:.3g}–"
                       f"{s.loc[radios[-1], 'raw_image_8bit_tx_mJ']:.3g} mJ over these radios.")
        fits = [k for k in radios
                if isinstance(s.loc[k, "best_strategy"], str) and s.loc[k, "best_strategy"] != "none fits"]
        lines.append("  " + (f"Under E_b = {energy_bound} mJ no logged or reference strategy fits with a real "
                             "radio's E_tran: Table 4's comparison (offload as many blocks as the bound allows) "
                             f"has no feasible point there, so its conclusion holds only for the paper's "
                             f"{C.E_TRAN_PJ_PER_BIT:g} pJ/bit or for energy that leaves transmission out."
                             if not fits else
                             "With real radios still feasible: " + "; ".join(
                                 f"{k}: {s.loc[k, 'best_strategy']} (P {s.loc[k, 'best_privacy']:.4f})"
                                 for k in fits) + "."))
    return Findings(pd.DataFrame(), lines)


# --- NSGA-II against the E_b sweep (docs/decisions/scale.md §4) ------------------------------------

FRONT_NAMES = {NSGA: "NSGA-II", SWEEP: "sweep"}  # the methods in a verdict ("NSGA-II larger")


def front_curve_summary(curves: pd.DataFrame) -> pd.DataFrame:
    """Hypervolume against evaluations over seeds (``curves``: ``FrontComparison.curves``,
    columns method, seed, evaluations, hypervolume): per method and evaluation count the median,
    min, max, mean, standard deviation and number of seeds."""
    missing = {"method", "seed", "evaluations", "hypervolume"} - set(curves.columns)
    if missing:
        raise ValueError(f"curves lacks column(s) {sorted(missing)}; pass FrontComparison.curves")
    return (curves.groupby(["method", "evaluations"], sort=False)["hypervolume"]
            .agg(median="median", min="min", max="max", mean="mean", sd="std", seeds="count")
            .reset_index().sort_values(["method", "evaluations"], kind="stable")
            .reset_index(drop=True))


@dataclass(frozen=True)
class FrontVerdict:
    """The hypervolume of method ``a`` minus that of ``b``, paired by seed (the same seed gives
    both the same initial population): mean, its t interval at ``confidence`` over the seeds, the
    standard deviation of the differences and the verdict words (:func:`wording.larger_word`)."""

    a: str
    b: str
    evaluations: int | None
    seeds: int
    mean: float
    sd: float
    low: float
    high: float
    confidence: float
    verdict: str

    @property
    def sentence(self) -> str:
        """One line for a notebook or a finding."""
        at = f" at {self.evaluations} evaluations" if self.evaluations else ""
        if self.seeds < 2:
            return (f"{FRONT_NAMES.get(self.a, self.a)} − {FRONT_NAMES.get(self.b, self.b)} "
                    f"hypervolume{at}: {self.mean:+.4g} from {self.seeds} seed, no spread to "
                    f"compare with: {self.verdict}.")
        return (f"{FRONT_NAMES.get(self.a, self.a)} − {FRONT_NAMES.get(self.b, self.b)} hypervolume"
                f"{at}, paired by seed: {self.mean:+.4g} (sd {self.sd:.2g}, "
                f"{self.confidence:.0%} interval [{self.low:+.4g}, {self.high:+.4g}], "
                f"{self.seeds} seeds): {self.verdict}.")


def front_verdict(frame: pd.DataFrame, *, a: str = NSGA, b: str = SWEEP,
                  evaluations: int | None = None, confidence: float = CONFIDENCE) -> FrontVerdict:
    """Whether method ``a``'s hypervolume differs from ``b``'s by more than the seed spread.

    ``frame``: ``FrontComparison.table`` (one row per method and seed) or ``.curves`` (then at
    ``evaluations``, default each run's last point). The difference is taken seed by seed; its
    mean with a two-sided Student t interval over the seeds decides: "NSGA-II larger", "sweep
    larger" or "inconclusive (the difference is within the seed spread)"."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    rows = frame
    if evaluations is not None:
        if "evaluations" not in frame:
            raise ValueError("evaluations= needs a frame with an evaluations column")
        rows = frame[frame["evaluations"] == evaluations]
    if "evaluations" in rows:  # a curve: its last point per run
        rows = rows.sort_values("evaluations", kind="stable").groupby(["method", "seed"]).tail(1)
    hv = rows.pivot_table(index="seed", columns="method", values="hypervolume", aggfunc="last")
    for m in (a, b):
        if m not in hv:
            raise ValueError(f"no hypervolume of method {m!r} (found {list(hv.columns)})")
    d = (hv[a] - hv[b]).dropna().to_numpy(dtype=float)
    if not len(d):
        raise ValueError(f"no seed has a hypervolume for both {a!r} and {b!r}")
    n, mean = len(d), float(np.mean(d))
    sd = float(np.std(d, ddof=1)) if n > 1 else float("nan")
    if n > 1:
        half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / np.sqrt(n)
        low, high = mean - half, mean + half
    else:
        low = high = float("nan")
    words = larger_word(low, high, FRONT_NAMES.get(a, a), FRONT_NAMES.get(b, b))
    return FrontVerdict(a=a, b=b, evaluations=evaluations, seeds=n, mean=mean, sd=sd, low=low,
                        high=high, confidence=confidence, verdict=words)


__all__ = ["SWEEP_BEST", "SWEEP_UNIFORM8", "SWEEP_FP32", "privacy_front", "eb_sweep",
           "transmission_sensitivity", "baseline_findings", "RADIO_E_TRAN_PJ_PER_BIT", "RADIO_SOURCE",
           "FRONT_NAMES", "front_curve_summary", "FrontVerdict", "front_verdict"]
