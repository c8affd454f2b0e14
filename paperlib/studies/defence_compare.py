"""Defences side by side: the table of every evaluated point, the Pareto front of attack SSIM
against edge energy, the best point of each defence under E_b and ε_b, and verdicts in words
(docs/decisions/defences.md §7)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np
import pandas as pd

from ..defences.base import DEFENCES
from ..defences.evaluate import DefenceResult
from ..search.pareto import frame_pareto_mask

if TYPE_CHECKING:  # pragma: no cover
    import torch


def frame(results: Iterable[DefenceResult]) -> pd.DataFrame:
    """One row per evaluated point (:meth:`DefenceResult.row`), with ``top1_loss``: the drop from
    the undefended model's top-1 (the highest top-1 of the model's ``none`` rows at full
    precision, else of all its ``none`` rows)."""
    df = pd.DataFrame([r.row() for r in results])
    if df.empty:
        return df
    base = {}
    for model, g in df.groupby("model"):
        plain = g[g.defence == "none"]
        fp = plain[plain.policy_tag == "fp32"]
        base[model] = (fp if len(fp) else plain if len(plain) else g)["top1"].max()
    df["top1_base"] = df.model.map(base)
    df["top1_loss"] = df.top1_base - df.top1
    return df


def pareto_mask(df: pd.DataFrame, minimise: Sequence[str] = ("energy", "ssim"),
                maximise: Sequence[str] = ()) -> np.ndarray:
    """True for the rows no other row dominates (no worse in every objective, better in one)."""
    cols = [df[c].to_numpy(float) for c in minimise] + [-df[c].to_numpy(float) for c in maximise]
    pts = np.stack(cols, axis=1) if cols else np.zeros((len(df), 0))
    keep = np.ones(len(df), dtype=bool)
    for i in range(len(df)):
        no_worse = (pts <= pts[i]).all(axis=1)
        better = (pts < pts[i]).any(axis=1)
        keep[i] = not (no_worse & better).any()
    return keep


def admissible(df: pd.DataFrame, energy_bound: float, accuracy_loss_bound: float,
               energy_col: str = "energy_no_tx") -> pd.Series:
    """Rows within E_b (``energy_col`` ≤ ``energy_bound``) and ε_b (``top1_loss`` ≤ the bound)."""
    return (df[energy_col] <= energy_bound) & (df.top1_loss <= accuracy_loss_bound + 1e-12)


def schemes(df: pd.DataFrame) -> pd.Series:
    """What protects in each row: the ``scheme`` column (reference strategy or defence label),
    else the defence's label."""
    return df["scheme"] if "scheme" in df else df["defence"].map(DEFENCES.label)


def best_points(df: pd.DataFrame, energy_bound: float, accuracy_loss_bound: float,
                energy_col: str = "energy_no_tx") -> pd.DataFrame:
    """Per model and scheme (each reference strategy, each defence), the admissible row with the
    lowest strongest-attack SSIM (ties: the higher top-1); a scheme with no admissible row gets a
    row of NaN saying so."""
    ok = admissible(df, energy_bound, accuracy_loss_bound, energy_col)
    rows = []
    for (model, name), g in df.groupby([df["model"], schemes(df)], sort=False):
        cand = g[ok.loc[g.index]]
        if len(cand):
            best = cand.sort_values(["ssim", "top1"], ascending=[True, False]).iloc[0]
            rows.append({"model": model, "scheme": name, "setting": best.tag,
                         "split": best.split, "policy": best.policy_tag, "energy_mJ": best[energy_col],
                         "top1": best.top1, "top1_loss": best.top1_loss, "strongest": best.strongest,
                         "ssim": best.ssim, "within_bounds": True})
        else:
            rows.append({"model": model, "scheme": name, "setting": "",
                         "split": "", "policy": "", "energy_mJ": np.nan, "top1": np.nan,
                         "top1_loss": np.nan, "strongest": "", "ssim": np.nan, "within_bounds": False})
    return pd.DataFrame(rows)


def span(values: pd.Series, fmt: str) -> str:
    """``a`` when every value is ``a``, else ``a to b`` (min to max)."""
    lo, hi = float(values.min()), float(values.max())
    return format(lo, fmt) if format(lo, fmt) == format(hi, fmt) else f"{format(lo, fmt)} to {format(hi, fmt)}"


def verdicts(df: pd.DataFrame, energy_bound: float, accuracy_loss_bound: float,
             energy_col: str = "energy_no_tx") -> list[str]:
    """Which defence wins where, and what each costs in accuracy, in words, per model."""
    lines = []
    best = best_points(df, energy_bound, accuracy_loss_bound, energy_col)
    for model, g in df.groupby("model", sort=False):
        b = best[(best.model == model) & best.within_bounds]
        if len(b):
            w = b.sort_values(["ssim", "top1"], ascending=[True, False]).iloc[0]
            setting = "" if w.setting in ("", "none") else f"{w.setting}, "
            lines.append(f"{model}: under E_b = {energy_bound:g} mJ and ε_b = {accuracy_loss_bound:g}, "
                         f"{w.scheme} ({setting}{w.split}, {w.policy}) leaves the strongest "
                         f"attack ({w.strongest}) the lowest SSIM, {w.ssim:.3f}, at {w.energy_mJ:.4f} mJ "
                         f"and top-1 {w.top1:.3f}.")
        else:
            lines.append(f"{model}: no evaluated point meets E_b = {energy_bound:g} mJ and "
                         f"ε_b = {accuracy_loss_bound:g}.")
        front = g[frame_pareto_mask(g, minimise=(energy_col, "ssim"))]
        names = ", ".join(dict.fromkeys(schemes(front.sort_values(energy_col))))
        lines.append(f"{model}: the Pareto front of attack SSIM against edge energy holds {names} "
                     "(cheapest first).")
        for name, h in g[g.defence != "none"].groupby("defence", sort=False):
            lines.append(f"{model}: {DEFENCES.label(name)} changes top-1 by "
                         f"{span(-h.top1_loss, '+.3f')} against the undefended model across its "
                         f"{len(h)} setting(s); strongest-attack SSIM {span(h.ssim, '.3f')}.")
    return lines




def samples_at(results: Iterable[DefenceResult], model: str, p: int
               ) -> list[tuple[str, "torch.Tensor", "torch.Tensor", float]]:
    """For each row of ``model`` at split ``p`` (one split = one edge compute energy): its label,
    and the stored originals and reconstructions of its strongest attack, with that SSIM."""
    from ..attacks import load_samples

    out = []
    for r in results:
        if r.model != model or r.p != p or not r.attacks:
            continue
        originals, recs = load_samples(r.attacks[r.strongest]["path"])
        out.append((f"{r.scheme}: {r.tag}\n{r.strongest}, SSIM {r.ssim:.2f}", originals, recs, r.ssim))
    return out


__all__ = ["frame", "pareto_mask", "admissible", "best_points", "verdicts", "samples_at", "schemes"]
