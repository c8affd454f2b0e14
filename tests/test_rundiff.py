"""Comparing two runs' tables (paperlib.app.rundiff): names, timing columns, new methods, verdicts."""

import re

import pandas as pd
import pytest

from paperlib.infra import config
from paperlib.app import rundiff


def test_renamed_tables_follow_the_decisions_document():
    """Every renamed table of reporting.md §2 maps to the name the document gives."""
    text = (config.REPO_ROOT / "docs" / "decisions" / "reporting.md").read_text()
    section = text.split("## §2", 1)[1].split("## §3", 1)[0]
    pairs = 0
    for row in section.splitlines():
        cells = row.split("|")
        if len(cells) < 4 or "*" in row:
            continue
        old = re.findall(r"`(tab[^`]+)`", cells[2])
        new = re.findall(r"`([^`]+)`", cells[3])
        for o, n in zip(old, new[-len(old):]):
            assert rundiff.new_name(o) == n, row
            pairs += 1
    assert pairs == len(rundiff.RENAMED)
    assert rundiff.new_name("tab06_attack_vs_ir_bits") == "nb06_attack_vs_ir_bits"
    assert rundiff.new_name("tab07_eb_sweep") == "nb07_eb_sweep"
    assert rundiff.new_name("nb08_he2019_table") == "nb08_he2019_table"


def test_timing_columns_and_new_methods_are_left_out():
    old = pd.DataFrame({"method": ["ga", "random"], "fitness": [0.5, 0.4], "wall_h": [1.0, 2.0],
                        "seconds": [3.0, 4.0], "paper_h": [3.4, 3.4]})
    new = pd.DataFrame({"method": ["ga", "random", "rl"], "fitness": [0.5, 0.4, 0.9],
                        "wall_h": [9.0, 9.0, 9.0], "seconds": [1.0, 1.0, 1.0],
                        "paper_h": [3.4, 3.4, 3.4]})
    equal, detail = rundiff.compare_tables(old, new, new_methods=["rl"])
    assert equal and "wall_h" in detail and "seconds" in detail and "paper_h" not in detail
    assert not rundiff.compare_tables(old, new)[0]  # rl's row counts unless declared new
    assert not rundiff.compare_tables(old, new.assign(paper_h=[3.4, 3.5, 3.4]), ["rl"])[0], \
        "the paper's hours are a constant and must be compared"
    assert not rundiff.compare_tables(old, new.assign(fitness=[0.5, 0.41, 0.9]), ["rl"])[0]


def test_folders_are_compared_table_by_table(tmp_path, capsys):
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir(), new.mkdir()
    pd.DataFrame({"p": [1, 2], "privacy": [0.25, 0.5]}).to_csv(old / "tab_fig09_punishment.csv")
    pd.DataFrame({"p": [1, 2], "privacy": [0.25, 0.5]}).to_csv(new / "fig09_punishment.csv")
    pd.DataFrame({"x": [1]}).to_csv(old / "tab07_eb_sweep.csv")
    pd.DataFrame({"x": [2]}).to_csv(new / "nb07_eb_sweep.csv")
    pd.DataFrame({"x": [1]}).to_csv(old / "tab06_gone.csv")
    verdicts = {d.old: d.equal for d in rundiff.compare_dirs(old, new)}
    assert verdicts == {"tab_fig09_punishment": True, "tab07_eb_sweep": False, "tab06_gone": None}
    assert rundiff.main([str(old), str(new)]) == 1
    assert "tab07_eb_sweep -> nb07_eb_sweep: DIFFERS" in capsys.readouterr().out
    (old / "tab07_eb_sweep.csv").unlink(), (old / "tab06_gone.csv").unlink()
    assert rundiff.main([str(old), str(new)]) == 0
    with pytest.raises(FileNotFoundError, match="NEW_DIR"):
        rundiff.compare_dirs(old, tmp_path / "absent")
