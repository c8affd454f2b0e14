"""Compare the tables (CSV) of two runs, e.g. old code against new code on one machine, the check
a refactoring must pass (docs/decisions/reporting.md §8).

Outputs renamed by the naming scheme (reporting.md §2) are matched through :data:`RENAMED`;
timing columns are left out; rows of search methods the old run did not have are dropped from
the new table before comparing. ``python -m paperlib.app.rundiff OLD_DIR NEW_DIR`` prints one line a
table and exits 1 when any differs.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import pandas as pd

# old name -> new name, for the outputs the naming scheme renamed (reporting.md §2)
RENAMED: dict[str, str] = {
    "tab_fig04_privacy_per_layer_vgg11": "fig04_privacy_per_layer_vgg11",
    "tab_fig04_depth_trend_vgg11": "nb01_depth_trend_vgg11",
    "tab_fig04_metric_agreement_vgg11": "nb01_metric_agreement_vgg11",
    "tab_paper_vs_ours_privacy_per_layer_vgg11": "nb01_paper_vs_ours_vgg11",
    "tab_fig05_privacy_per_layer": "fig05_privacy_per_layer",
    "tab_fig07_privacy_per_block": "fig07_privacy_per_block",
    "tab_fig07_depth_trend": "nb02_depth_correlation",
    "tab_paper_vs_ours_blockwise_privacy": "nb02_paper_vs_ours",
    "tab_fig08_privacy_vs_ir_bits": "fig08_privacy_vs_ir_bits",
    "tab_paper_vs_ours_quantization_privacy": "nb03_paper_vs_ours",
    "tab_fig09_punishment": "fig09_punishment",
    "tab_fig10_search_history": "fig10_search_curves",
    "tab_fig10_convergence": "nb04_convergence",
    "tab02_search_time": "table2_search_time",
    "tab04_analytic_offloads": "table4_analytic_offloads",
    "tab04_offloads_privacy": "table4_offloads_privacy",
    "tab_fig12_strategy_resnet18": "fig12_strategy_resnet18",
    "tab_fig12_strategy_summary": "nb04_strategy_summary",
    "tab_paper_vs_ours_search": "nb04_paper_vs_ours",
    "tab_fig11_energy_same_partition": "fig11_energy_same_partition",
    "tab05_analytic_conv_fc": "table5_analytic_conv_fc",
    "tab05_conv_fc_vs_searched": "table5_conv_fc_vs_searched",
    "tab_paper_vs_ours_edge_cloud": "nb05_paper_vs_ours",
}
# notebook 06's and 07's extension tables kept their topic and took the notebook's prefix
_PREFIXED = re.compile(r"^tab(0[67])_")
# columns measured in time (hours, seconds, their ratios), which no two runs share; the paper's
# own hours (``paper_h``) are a constant and stay compared
TIMING = re.compile(r"^(?!paper)(?:.*(?:second|wall|minute).*|.*_h|relative)$", re.I)


def new_name(old: str) -> str:
    """The name a table of the old scheme has in the current one."""
    return RENAMED.get(old) or _PREFIXED.sub(r"nb\1_", old)


@dataclass(frozen=True)
class TableDiff:
    old: str
    new: str
    equal: bool | None  # None: the new run has no such table
    detail: str = ""


def compare_tables(old: pd.DataFrame, new: pd.DataFrame,
                   new_methods: Iterable[str] = ()) -> tuple[bool, str]:
    """Whether two tables agree once timing columns and the rows of ``new_methods`` (a
    ``method`` column's values the old run did not have) are left out, and why not."""
    if "method" in new.columns and "method" in old.columns:
        new = new[~new["method"].isin(set(new_methods))]
    timing = [c for c in old.columns if TIMING.match(str(c))]
    old = old.drop(columns=timing)
    new = new.drop(columns=[c for c in timing if c in new.columns])
    if list(old.columns) != list(new.columns):
        return False, f"columns differ: {list(old.columns)} vs {list(new.columns)}"
    try:
        pd.testing.assert_frame_equal(old.reset_index(drop=True), new.reset_index(drop=True),
                                      check_dtype=False)
    except AssertionError as err:
        return False, " ".join(str(err).split())
    return True, f"timing columns left out: {timing}" if timing else ""


def compare_dirs(old_dir: str | Path, new_dir: str | Path,
                 new_methods: Iterable[str] = ()) -> list[TableDiff]:
    """:func:`compare_tables` for every CSV of ``old_dir`` against its counterpart in ``new_dir``."""
    old_dir, new_dir = Path(old_dir), Path(new_dir)
    for d, arg in ((old_dir, "OLD_DIR"), (new_dir, "NEW_DIR")):
        if not d.is_dir():
            raise FileNotFoundError(f"{arg} {d} is not a folder: give a run's figures folder")
    diffs = []
    for path in sorted(old_dir.glob("*.csv")):
        target = new_dir / f"{new_name(path.stem)}.csv"
        if not target.exists():
            diffs.append(TableDiff(path.stem, target.stem, None, "no such table in the new run"))
            continue
        equal, detail = compare_tables(pd.read_csv(path), pd.read_csv(target), new_methods)
        diffs.append(TableDiff(path.stem, target.stem, equal, detail))
    return diffs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m paperlib.app.rundiff", description=__doc__)
    parser.add_argument("old_dir", help="figures folder of the old run")
    parser.add_argument("new_dir", help="figures folder of the new run")
    parser.add_argument("--new-methods", nargs="*", default=[],
                        help="search methods only the new run has (their rows are dropped)")
    args = parser.parse_args(argv)
    diffs = compare_dirs(args.old_dir, args.new_dir, args.new_methods)
    for d in diffs:
        verdict = {True: "equal", False: "DIFFERS", None: "missing"}[d.equal]
        print(f"{d.old} -> {d.new}: {verdict}" + (f" ({d.detail[:300]})" if d.detail else ""))
    return 0 if all(d.equal for d in diffs) else 1


if __name__ == "__main__":
    sys.exit(main())
