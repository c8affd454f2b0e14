"""The README's generated blocks against the committed tables (docs/decisions/reporting.md §9).

Reads only README.md and figures/*.csv; the planted drifts are the five of issue 26."""

from __future__ import annotations

import importlib
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from paperlib.app import readme
from paperlib.studies import numbers, summaries
from paperlib.studies.number_sources import unsourced_numbers

ROOT = Path(__file__).resolve().parents[1]
TEXT = (ROOT / "README.md").read_text(encoding="utf-8")


def test_committed_readme_matches_committed_tables():
    assert readme.problems(TEXT, ROOT / "figures") == []


def test_every_summary_has_its_block_and_cites_its_tables():
    found = readme.blocks(TEXT)
    assert set(found) == set(summaries.SUMMARIES)
    for name, body in found.items():
        assert readme.cited_tables(body) == list(summaries.SUMMARIES[name].sources)


def _table(name: str) -> pd.DataFrame:
    return pd.read_csv(ROOT / "figures" / f"{name}.csv")


def test_changing_one_csv_value_fails_until_regenerated(tmp_path):
    figures = tmp_path / "figures"
    shutil.copytree(ROOT / "figures", figures, ignore=shutil.ignore_patterns("*.png", "*.pdf"))
    t2 = pd.read_csv(figures / "table2_search_time.csv")
    written = numbers.share(t2.loc[0, "cache_hit_rate"])
    assert written in readme.blocks(TEXT)["search-time"]
    t2.loc[0, "cache_hit_rate"] = 0.5
    t2.to_csv(figures / "table2_search_time.csv", index=False)
    found = readme.problems(TEXT, figures)
    assert any("search-time" in p and "differs" in p for p in found)
    assert any(f"{written!r}" in p for p in found)  # the old hit rate is no longer in its table
    assert readme.problems(readme.refresh(TEXT, figures), figures) == []


def _plant(name: str, old: str, new: str) -> list[str]:
    body = readme.blocks(TEXT)[name]
    assert old in body, f"{old!r} not in block {name!r}"
    return readme.problems(TEXT.replace(body, body.replace(old, new)), ROOT / "figures")


def _drift(written: str, block: str) -> str:
    """``written`` with its last digit moved by 3 or more: the same rounding and unit, another
    value, and one that neither the block writes nor its tables hold (a range's end, or a
    neighbouring seed's value, would rightly be found)."""
    body = readme.blocks(TEXT)[block]
    tables = [_table(name) for name in summaries.SUMMARIES[block].sources]
    i = max(i for i, c in enumerate(written) if c.isdigit())
    moved = (written[:i] + str((int(written[i]) + k) % 10) + written[i + 1:] for k in range(3, 10))
    return next(m for m in moved if m not in body and unsourced_numbers(m, tables))


T2 = _table("table2_search_time").set_index("model")
PATHS = _table("nb10_paths")
HE = _table("nb08_he2019_table")
SEARCHED_PATH = PATHS[PATHS["path"].str.startswith("searched")].iloc[0]


@pytest.mark.parametrize("block, written", [
    ("search-time", numbers.duration(T2.loc["resnet18", "wall_h"])),         # ResNet18's search time
    ("search-time", numbers.share(T2.loc["resnet18", "cache_hit_rate"])),    # its cache hit rate
    ("search-time", numbers.duration(T2.loc["resnet18", "per_1000_h"])),     # its 1000-iteration estimate
    ("search-time", numbers.duration(T2.loc["mobilenet", "wall_h"])),        # MobileNet's search time
    ("network", numbers.energy(SEARCHED_PATH["device_mJ"])),                 # the energy of Eq. 7–8
    ("attacks", numbers.metric(HE.loc[1, "ssim"])),                          # rMLE at ReLU22
])
def test_planted_number_drifts_are_caught(block, written):
    drifted = _drift(written, block)
    found = _plant(block, written, drifted)
    assert any(f"{drifted!r} is in none of the tables" in p for p in found), found
    assert any(f"block {block!r} differs" in p for p in found)


def test_planted_wording_drifts_are_caught():
    # the caption's warning that the searched rows' P is biased up, dropped
    body = readme.blocks(TEXT)["table4"]
    assert "biased up for the searched rows" in body and "held out" in body
    found = _plant("table4", " (biased up for the searched rows)", "")
    assert any("block 'table4' differs" in p for p in found)
    # "top-1 +12.5 %" for 12.5 percentage points
    found = _plant("table4", "top-1 and ε of every row", "top-1 +12.5 % and ε of every row")
    assert any("'+12.5 %' is a difference written in percent" in p for p in found)


def test_derived_top1_follows_the_table():
    t4 = pd.DataFrame({"model": "m", "method": [summaries.FP32, "8-bit uniform", "searched"],
                       "top1": [0.9, 0.88, 0.87], "eps_reference": [0.0, 0.02, 0.01]})
    assert summaries.derived_top1(t4).tolist() == [False, True, False]
    t4.loc[1, "top1"] += 0.01  # a measured value: no longer fp32 − ε
    assert not summaries.derived_top1(t4)[1]
    # a table measured on the report split (its paired interval) derives nothing
    measured = t4.assign(eps_ci_low=0.0, top1=[0.9, 0.88, 0.89])
    assert not summaries.derived_top1(measured).any()


def test_number_rules_known_answers():
    assert numbers.share(0.090625) == "9.1 %"
    assert numbers.points(0.125) == "+12.5 pp"
    assert numbers.points(-0.02) == "−2.0 pp"
    assert numbers.energy(0.32784117760000003) == "0.3278 mJ"
    assert numbers.energy(0.016756563199999998) == "16.8 µJ"
    assert numbers.duration(0.29109147673972147) == "1,048 s"
    assert numbers.duration(3.4) == "3.4 h"
    assert numbers.metric(0.9724733146297052) == "0.972"
    assert numbers.metric(-0.98, 2) == "−0.98"


def test_unsourced_numbers_known_answers():
    df = pd.DataFrame({"model": ["a", "a", "b"], "x": [0.5, 0.7, 0.25], "h": [0.5, 1.0, 2.0]})
    assert readme.unsourced_numbers("0.50, 0.7, 25.0 %, 1,800 s, 0.60, n = 3", [df]) == []
    assert readme.unsourced_numbers("+20.0 pp, Eq. 7–8, Table 4, `x1.csv`", [df]) == []
    assert readme.unsourced_numbers("0.51, 26 %, 0.6 mJ, 4", [df]) == ["0.51", "26 %", "4"]


def test_other_profiles_write_blocks_beside_their_results(tmp_path):
    fake_readme = tmp_path / "README.md"
    fake_readme.write_text(TEXT, encoding="utf-8")
    out = readme.publish("smoke", ROOT / "figures", results=tmp_path / "results",
                         readme=fake_readme)
    assert out == tmp_path / "results" / "smoke" / readme.BLOCKS_FILE
    assert readme.blocks(out.read_text(encoding="utf-8")) == readme.blocks(TEXT)
    assert fake_readme.read_text(encoding="utf-8") == TEXT
    assert readme.publish("quick", ROOT / "figures", readme=fake_readme) == fake_readme
    assert fake_readme.read_text(encoding="utf-8") == TEXT  # already current


def test_readme_is_at_most_300_lines():
    assert len(TEXT.splitlines()) <= 300


def _local_links(text: str) -> list[str]:
    return [t for t in re.findall(r"\]\(([^)#\s]+)", text) if "://" not in t]


@pytest.mark.parametrize("doc", ["README.md", "docs/measurements.md", "docs/guide.md"])
def test_links_stay_inside_the_repository(doc):
    path = ROOT / doc
    text = path.read_text(encoding="utf-8")
    for target in _local_links(text):
        resolved = (path.parent / target).resolve()
        assert ROOT in resolved.parents or resolved == ROOT, f"{doc}: {target} leaves the repository"
        assert resolved.exists(), f"{doc}: {target} does not exist"


def test_no_file_cites_a_document_outside_the_repository():
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "paperlib").rglob("*.py")
                 if re.search(r"\bSPEC\b", p.read_text(encoding="utf-8"))]
    offenders += [d for d in ("README.md",) if re.search(r"\bSPEC\b", TEXT)]
    assert offenders == []


def test_every_paperlib_name_in_the_readme_imports():
    names = sorted(set(re.findall(r"\bpaperlib(?:\.\w+)+", TEXT)))
    assert len(names) > 20
    for name in names:
        parts = name.split(".")
        for i in range(len(parts), 0, -1):  # the longest importable prefix, then attributes
            try:
                obj = importlib.import_module(".".join(parts[:i]))
            except ImportError:
                continue
            for attr in parts[i:]:
                obj = getattr(obj, attr)
            break
        else:
            pytest.fail(f"README names {name}, which does not import")


def test_training_block_says_which_models_were_still_learning():
    d = pd.DataFrame({"model": ["vgg11", "resnet50"], "epochs": [10, 3], "top1": [0.7079, 0.3264],
                      "best_top1": [0.7079, 0.3264], "best_epoch": [10, 3],
                      "first_train_loss": [2.1, 3.3], "last_train_loss": [1.0, 1.9],
                      "train_loss": ["still falling", "too short to tell"]})
    text = summaries.training({"nb03_top1_reached": d})
    assert "| VGG11 | 10 | 0.708 | 0.708 (10) | 2.10 → 1.00 | still falling |" in text
    assert "VGG11: the training loss was still falling" in text
    assert "ResNet50: too few epochs to tell" in text
    done = summaries.training({"nb03_top1_reached": d.assign(train_loss="plateau")})
    assert "still falling" not in done and "Notebook 08" not in done


def test_within_point_and_training_progress_blocks_known_answers():
    corr = pd.DataFrame({"model": "cifar10cnn", "split": ["ReLU22", "ReLU22"],
                         "attack": ["rmle", "worst"], "policies": 32, "images": 64,
                         "rho_ssim": [0.456, -0.48], "ci_low": [0.082, -0.64],
                         "ci_high": [0.727, -0.17], "ssim_range": [0.0363, 0.1071],
                         "verdict": ["disagree (the whole interval is above 0: …)",
                                     "agree (the whole interval is below 0)"]})
    text = summaries.within_point({"nb08_policy_correlation": corr})
    assert "| cifar10cnn ReLU22 | 0.46 [0.08, 0.73] disagree | −0.48 [−0.64, −0.17] agree |" in text
    assert "32 random quantization policies" in text and "64 test images" in text
    assert "worst-case SSIM spans 0.107 at ReLU22" in text
    prog = pd.DataFrame({"model": "vgg11", "split": ["p0", "p6"], "top1_untrained": 0.09,
                         "top1_trained": 0.708, "ssim_worst_untrained": [0.995, 0.28],
                         "ssim_worst_trained": [0.995, 0.21], "ssim_moved": [False, True], "images": 6,
                         "ssim_noise_2se": [0.006, 0.05],
                         "P_at_shape": [False, True], "threshold": 0.01})
    text = summaries.training_progress({"nb08_privacy_vs_training_summary": prog})
    assert ("beyond two standard errors over 6 test images at 1 of 2 points (p6 0.28 → 0.21); "
            "the noise band reaches 0.05") in text
    assert "at 1 of 2 points (VGG11 p6)" in text
