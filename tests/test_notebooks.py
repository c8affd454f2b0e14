"""What every notebook must be (issue 11 item 3, 6, 7; issue 10 item 3): narrative, parameters
and plotting only; outputs named by the scheme; every saved figure shown; the committed notebooks
hold their figures. Static checks of the .ipynb files: no kernel is started."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import nbformat
import pytest

from paperlib.infra import config
from paperlib.method import constants
from paperlib.studies import report

NOTEBOOKS = sorted((config.REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _code(nb_path: Path) -> list[str]:
    nb = nbformat.read(nb_path, as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code"]


def _paper_numbers() -> set[str]:
    """The paper's reported values with at least three decimals: distinctive enough that finding
    one in a code cell means a number of the paper was copied into a notebook."""
    values = [v for row in constants.PAPER_TABLE4 + constants.PAPER_TABLE5 for v in row[4:]]
    values += list(constants.PAPER_TOP1.values())
    return {f"{v}" for v in values if len(f"{v}".split(".")[-1]) >= 3}


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 7


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_cells_define_no_functions(path):
    for source in _code(path):
        tree = ast.parse("\n".join(line for line in source.splitlines() if not line.startswith(("%", "!"))))
        defs = [n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        assert not defs, f"{path.name} defines {defs}: move them into paperlib/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_cells_hold_no_paper_number(path):
    numbers = _paper_numbers()
    for source in _code(path):
        found = {n for n in numbers if re.search(rf"(?<![\d.]){re.escape(n)}(?!\d)", source)}
        assert not found, f"{path.name} holds the paper's {sorted(found)}: use paperlib.method.constants"
        assert not re.search(r"energy_bound\s*=\s*0\.35\b", source), \
            f"{path.name} hard-codes E_b: use constants.ENERGY_BOUND_MJ"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_citation_outside_the_repository(path):
    text = path.read_text()
    assert "SPEC.md" not in text and "SPEC §" not in text, \
        f"{path.name} cites SPEC.md: cite docs/decisions/ instead"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def _saved_names(source: str) -> list[str]:
    """The name argument of every ``report.save_figure``/``save_table`` call, with each
    f-string field replaced by ``x``."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("save_figure", "save_table") and len(node.args) > 1):
            arg = node.args[1]
            if isinstance(arg, ast.Constant):
                names.append(arg.value)
            elif isinstance(arg, ast.JoinedStr):
                names.append("".join(v.value if isinstance(v, ast.Constant) else "x" for v in arg.values))
            else:
                raise AssertionError(f"output name is not a literal: {ast.unparse(arg)}")
    return names


def test_saved_names_reads_literals_and_fstrings():
    source = 'report.save_table(df.rename(columns={"n": "images"}), f"fig05_privacy_{m}", p, q)'
    assert _saved_names(source) == ["fig05_privacy_x"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_output_names_follow_the_scheme(path):
    names = [n for source in _code(path) for n in _saved_names(source)]
    assert names, f"{path.name} saves nothing through report.save_figure/save_table"
    for name in names:
        kind = report.classify(name)
        if kind.kind == report.EXTENSION:
            assert kind.item == f"notebook {path.stem[:2]}", f"{name} is not named after {path.stem}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_saved_figure_is_shown(path):
    for source in _code(path):
        if "report.save_figure(" in source:
            assert "plt.show()" in source, f"{path.name}: a cell saves a figure without showing it"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell(path):
    nb = nbformat.read(path, as_version=4)
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and "profile = None" in params[0].source


def _inline_images(path: Path) -> int:
    nb = nbformat.read(path, as_version=4)
    return sum("image/png" in out.get("data", {})
               for c in nb.cells if c.cell_type == "code" for out in c.get("outputs", []))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_shows_the_figures_it_saved(path):
    """The committed notebooks keep the committed profile's outputs: as many inline images as the
    PNGs their run saved into figures/ (MANIFEST.json)."""
    manifest = config.REPO_ROOT / "figures" / "MANIFEST.json"
    if not manifest.exists():
        pytest.skip("no committed figures/MANIFEST.json")
    recorded = json.loads(manifest.read_text())
    entry = recorded.get("notebooks", {}).get(path.stem)
    if entry is None:
        pytest.skip(f"{path.stem} is not in figures/MANIFEST.json yet")
    pngs = [name for name in entry["outputs"] if name.endswith(".png")]
    assert _inline_images(path) == len(pngs), \
        f"{path.name} shows {_inline_images(path)} figures but its run saved {len(pngs)}"


def test_committed_figures_are_exactly_what_the_manifest_lists():
    """No stale output in figures/: every file there is an output some notebook's last run wrote
    (MANIFEST.json), and every output listed is there; a figure a notebook no longer makes (e.g. a
    model a profile now leaves out) must be deleted with the rerun."""
    folder = config.REPO_ROOT / "figures"
    manifest = folder / "MANIFEST.json"
    if not manifest.exists():
        pytest.skip("no committed figures/MANIFEST.json")
    listed = {name for entry in json.loads(manifest.read_text())["notebooks"].values()
              for name in entry["outputs"]}
    present = {p.name for p in folder.iterdir() if p.is_file()} - {manifest.name}
    assert sorted(present - listed) == [], "in figures/ but written by no notebook's last run"
    assert sorted(listed - present) == [], "listed in MANIFEST.json but missing from figures/"


ABSOLUTE_PATH = re.compile(r"(?:^|[\s'\"(\[=:])/(?:home|work|tmp|root|Users|usr|opt|var|mnt|srv|data)/")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_outputs_carry_no_absolute_path(path):
    """An executed notebook on a code host must not show one machine's folders: messages give
    paths through ``config.shown_path`` and the progress bars' import warning is silenced
    (``paperlib.infra.progress``)."""
    nb = nbformat.read(path, as_version=4)
    texts = []  # every output but images: streams, text, HTML, Markdown, tracebacks
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = {k: v for k, v in out.get("data", {}).items() if not k.startswith("image/")}
            texts.append({**out, "data": data})
    text = json.dumps(texts).replace("\\n", "\n")
    found = [m.group(0) for m in ABSOLUTE_PATH.finditer(text)]
    assert found == [], f"{path.name} shows absolute paths: {found[:3]}"
