"""Do the headline verdicts survive a retraining? Compare two runs' figures folders.

    python benchmarks/compare_runs.py OLD_FIGURES NEW_FIGURES [--names committed retrained]

``python -m paperlib.app.rundiff`` says whether two runs' tables are *equal*, which is the check
for code changes on one machine. Two trainings on different machines are never equal
(docs/decisions/reporting.md §8), so this script asks the reviewer's question instead: do the
numbers the README's verdicts rest on agree? Per searched model it prints, for each run, the
model's top-1 (last epoch, all test images), the searched partition point and how many seeds
chose it, the best uniform strategy of the search's initial population (by the search's own ε
estimator) and the search's margin over it on the search split, the baseline of the held-out
margin (the most private of them on held-out images whose reported ε is within the bound) and
that margin (median, range, seeds below 0; a seed whose own reported ε exceeds the bound has
none and is counted as missing), the median held-out P of the searched strategy over the full-precision
row's, its reported ε against the bound (seeds above it, and above it even at the lower end of
the 95 % interval) and the ε estimator's agreement with the reported ε (notebook 04). Every
number is read from the two folders' CSVs (the tables notebooks 03 and 04 write) and written by
``paperlib.studies.numbers`` as the README writes it; a missing value (NaN) is counted and named,
never dropped silently.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from paperlib.method.constants import ACCURACY_LOSS_BOUND
from paperlib.studies import numbers as N


def _spread(values: pd.Series, digits: int = 3) -> str:
    """``median (min to max)`` of ``values``, naming how many are missing."""
    v = values.astype(float)
    missing = int(v.isna().sum())
    if missing == len(v):
        return "none"
    note = f"; {missing} missing" if missing else ""
    return " ".join([N.metric(v.median(), digits, sign=True),
                     f"({N.metric(v.min(), digits, sign=True)} to "
                     f"{N.metric(v.max(), digits, sign=True)}){note}"])


def model_summary(figures: Path, model: str, bound: float = ACCURACY_LOSS_BOUND) -> dict[str, str]:
    """The headline numbers of ``model`` in one run's figures folder (see the module docstring)."""
    seeds = pd.read_csv(figures / "table4_searched_seeds.csv")
    rows = seeds[seeds["model"] == model]
    searched = rows[rows["method"] == "searched"]
    if searched.empty:
        raise ValueError(f"{figures / 'table4_searched_seeds.csv'} has no searched rows of {model!r}")
    full = rows[rows["method"] == "full precision"]["privacy_report"].astype(float).median()
    top1 = pd.read_csv(figures / "nb03_top1_reached.csv").set_index("model")["top1"]
    agree = pd.read_csv(figures / "nb04_estimator_agreement.csv").set_index("model")
    p = searched["blocks"].astype(int)
    modes = sorted(int(m) for m in p.mode())
    mode = modes[0]
    tie = f" (a tie with p = {', '.join(map(str, modes[1:]))})" if len(modes) > 1 else ""
    baselines = searched["baseline"].value_counts()
    baseline = (f"{baselines.index[0]} ({baselines.iloc[0]} of {len(p)} seeds)"
                if len(baselines) else "none (no baselines in the start)")
    if "baseline_report" in searched:  # docs/decisions/paper-method.md §9
        held = searched["baseline_report"].fillna("").value_counts()
        held_name = f"{held.index[0] or 'none within the bound'} ({held.iloc[0]} of {len(p)} seeds)"
    else:
        held_name = "the best by the estimator (a table from before it had to be within ε_b)"
    eps, low = searched["eps"].astype(float), searched["eps_ci_low"].astype(float)
    margin = searched["baseline_margin_report"].astype(float)
    return {
        "top-1 (last epoch, all test images)": N.metric(float(top1[model]), 3) if model in top1
                                               else "not trained",
        "searched p": f"{mode} in {int((p == mode).sum())} of {len(p)} seeds{tie}"
                      + ("" if (p == mode).all() else f" (others: {sorted(set(p) - {mode})})"),
        "best uniform start (by the estimator)": baseline,
        "margin over it, search split": _spread(searched["baseline_margin"]),
        "held-out baseline (the most private within ε_b on held-out images)": held_name,
        "margin over it, held out": f"{_spread(margin)}; below 0 in {int((margin < 0).sum())} seeds",
        "held-out P, searched (median) / full precision":
            f"{N.metric(searched['privacy_report'].astype(float).median() / full, 2)}x",
        f"reported ε (bound {bound:g})": f"{_spread(eps)}; above the bound in {int((eps > bound).sum())}"
                                         f" seeds, even at the interval's low end in "
                                         f"{int((low > bound).sum())}",
        "ε estimator vs reported ε (nb04)": (f"ρ {N.metric(float(agree.loc[model, 'spearman_rho']), 2)}, "
                                             f"bias {N.metric(float(agree.loc[model, 'bias']), 3, sign=True)}")
                                            if model in agree.index else "not measured",
    }


def compare(old: Path, new: Path, names: tuple[str, str] = ("old", "new")) -> str:
    """A markdown table per searched model: one row per headline number, one column per run."""
    models = pd.read_csv(old / "table4_searched_seeds.csv")["model"].unique()
    out = []
    for model in models:
        a, b = model_summary(old, model), model_summary(new, model)
        out += [f"\n**{model}**\n", f"| | {names[0]} | {names[1]} |", "|---|---|---|"]
        out += [f"| {k} | {a[k]} | {b[k]} |" for k in a]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("old", type=Path, help="figures folder of the first run (e.g. figures/)")
    ap.add_argument("new", type=Path, help="figures folder of the second run")
    ap.add_argument("--names", nargs=2, default=("old", "new"), help="column names of the two runs")
    args = ap.parse_args(argv)
    for folder in (args.old, args.new):
        if not (folder / "table4_searched_seeds.csv").exists():
            raise SystemExit(f"{folder}: no table4_searched_seeds.csv; give a figures folder of a "
                             "run that executed notebooks 03 and 04")
    print(compare(args.old, args.new, tuple(args.names)))


if __name__ == "__main__":
    main()
