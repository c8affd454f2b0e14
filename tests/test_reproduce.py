"""Where `make reproduce` and `make test` write, what the manifest records, and that executed
notebooks hold their figures (issue 10 items 1-4, 17; docs/decisions/reporting.md)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from paperlib.infra import config
from paperlib.studies import report
from paperlib.app import reproduce  # noqa: E402
from paperlib.method.profiles import get_profile  # noqa: E402

REPO = config.REPO_ROOT
MAKE = shutil.which("make")
needs_make = pytest.mark.skipif(MAKE is None, reason="make is not installed")
# the Makefile's own variables (its header lists them)
MAKEFILE_VARIABLES = {"PROFILE", "DATA_DIR", "ALLOW_PARTIAL", "TORCH_SPEC", "PYTHON", "VENV"}


# --- 10.1: only the committed profile writes into figures/ ----------------------------------------

def test_figures_dir_per_profile(tmp_path, monkeypatch):
    monkeypatch.delenv("PAPERLIB_FIGURES_DIR", raising=False)
    monkeypatch.setenv("PAPERLIB_RESULTS_DIR", str(tmp_path))
    assert config.figures_dir("quick") == REPO / "figures"
    assert report.figures_dir("smoke") == tmp_path / "smoke" / "figures"
    assert report.figures_dir("paper") == tmp_path / "paper" / "figures"
    monkeypatch.setenv("PAPERLIB_FIGURES_DIR", str(tmp_path / "mine"))  # the explicit opt-in wins
    assert report.figures_dir("quick") == tmp_path / "mine"


def test_a_smoke_figure_never_lands_in_the_committed_figures(tmp_path, monkeypatch):
    monkeypatch.delenv("PAPERLIB_FIGURES_DIR", raising=False)
    monkeypatch.setenv("PAPERLIB_RESULTS_DIR", str(tmp_path))
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    paths = report.save_figure(fig, "nb99_smoke_only", "smoke", "synthetic")
    plt.close(fig)
    table = report.save_table(pd.DataFrame({"a": [1.0]}), "nb99_smoke_only", "smoke", "synthetic")
    assert [p.name for p in paths + table] == ["nb99_smoke_only.png", "nb99_smoke_only.pdf",
                                               "nb99_smoke_only.csv", "nb99_smoke_only.md"]
    assert all(p.parent == tmp_path / "smoke" / "figures" and p.exists() for p in paths + table)
    assert not list((REPO / "figures").glob("nb99_smoke_only.*"))


# --- 11.6: one naming scheme -----------------------------------------------------------------------

@pytest.mark.parametrize("name, kind, item", [
    ("fig07_privacy_per_block_resnet18.png", "paper", "Fig. 7"),
    ("fig12_strategy_resnet18", "paper", "Fig. 12"),
    ("table4_offloads_privacy.csv", "paper", "Table 4"),
    ("nb07_pareto_privacy_energy.pdf", "extension", "notebook 07"),
])
def test_classify_output_names(name, kind, item):
    assert report.classify(name) == report.OutputKind(kind, item)


@pytest.mark.parametrize("name", ["tab04_offloads", "fig_tab04_privacy_relative", "Fig07_x", "fig7_x",
                                  "nb7_x", "nb07", "nb07_Pareto", "tab_paper_vs_ours_search"])
def test_names_outside_the_scheme_are_refused(name, tmp_path, monkeypatch):
    monkeypatch.setenv("PAPERLIB_FIGURES_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="naming scheme"):
        report.classify(name)
    with pytest.raises(ValueError, match="naming scheme"):
        report.save_table(pd.DataFrame({"a": [1]}), name, "smoke", "x")
    assert not list(tmp_path.iterdir())


# --- 10.2: tests have their own state --------------------------------------------------------------

def test_tests_write_under_their_own_root(isolated_root):
    for path in (config.checkpoint_dir(), config.results_dir(), config.figures_dir("quick"),
                 config.figures_dir("smoke"), config.cache_dir()):
        assert Path(path).is_relative_to(isolated_root), path
    assert not config.checkpoint_dir().is_relative_to(REPO / "data")


def _make(*args: str, env: dict | None = None, timeout: int = 60) -> subprocess.CompletedProcess:
    # drop PAPERLIB_* and what an outer `make test DATA_DIR=...` passes down: MAKEFLAGS, and the
    # command-line variables themselves, which make exports into its recipes' environment
    inherited = ("PAPERLIB_", "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")
    full = {k: v for k, v in os.environ.items()
            if not k.startswith(inherited) and k not in MAKEFILE_VARIABLES}
    full.update(env or {})
    return subprocess.run([MAKE, "--no-print-directory", "-s", *args], cwd=REPO, env=full,
                          capture_output=True, text=True, timeout=timeout)


def _test_env(data_dir: Path) -> dict[str, str]:
    out = _make("test-env", f"DATA_DIR={data_dir}")
    assert out.returncode == 0, out.stderr
    return dict(item.split("=", 1) for item in out.stdout.split())


def _fake_cifar(root: Path) -> Path:
    (root / "cifar-10-batches-py").mkdir(parents=True)
    (root / "cifar-10-batches-py" / "test_batch").write_bytes(b"")
    return root


@needs_make
def test_make_test_uses_its_own_checkpoints_results_and_figures(tmp_path):
    """The CheckpointMismatch clash: `make test` read the checkpoints a user's smoke reproduce
    had trained on other data, because it shared data/checkpoints/. Now every folder the tests
    write is under results/test/<data>/, one root per data folder."""
    synthetic = _test_env(tmp_path / "no-data-here")
    real = _test_env(_fake_cifar(tmp_path / "cifar"))
    user_places = [REPO / "data" / "checkpoints", REPO / "figures", REPO / "results" / "smoke"]
    for env in (synthetic, real):
        for var in ("PAPERLIB_CHECKPOINT_DIR", "PAPERLIB_RESULTS_DIR", "PAPERLIB_FIGURES_DIR",
                    "PAPERLIB_CACHE_DIR"):
            path = Path(env[var])
            assert path.is_relative_to(REPO / "results" / "test"), (var, path)
            assert not any(path.is_relative_to(u) for u in user_places), (var, path)
            assert path.is_relative_to(Path(env["PAPERLIB_TEST_ROOT"]))
        assert env["PAPERLIB_PROFILE"] == "smoke"
    assert synthetic["PAPERLIB_CHECKPOINT_DIR"] != real["PAPERLIB_CHECKPOINT_DIR"]
    assert real["PAPERLIB_DATA_DIR"] == str(tmp_path / "cifar")


# --- 10.4: data are checked before anything is installed ------------------------------------------

@needs_make
def test_reproduce_without_data_stops_before_installing(tmp_path):
    venv = tmp_path / "venv"
    out = _make("reproduce", f"DATA_DIR={tmp_path / 'empty'}", f"VENV={venv}")
    assert out.returncode != 0
    assert not venv.exists()  # nothing was installed
    for way_out in ("make data", "DATA_DIR=", "ALLOW_PARTIAL=1", "PAPERLIB_DATA_DIR"):
        assert way_out in out.stderr, way_out
    assert str(tmp_path / "empty") in out.stderr


@needs_make
def test_make_honours_paperlib_data_dir_from_the_environment(tmp_path):
    missing = _make("check-data", env={"PAPERLIB_DATA_DIR": str(tmp_path / "nothing")})
    assert missing.returncode != 0 and str(tmp_path / "nothing") in missing.stderr
    ok = _make("check-data", env={"PAPERLIB_DATA_DIR": str(_fake_cifar(tmp_path / "cifar"))})
    assert ok.returncode == 0, ok.stderr
    paper = _make("check-data", "PROFILE=paper", env={"PAPERLIB_DATA_DIR": str(tmp_path / "cifar")})
    assert paper.returncode != 0 and "cifar-100-python/test" in paper.stderr


# --- 10.3: executed notebooks hold their figures ----------------------------------------------------

def _notebook(path: Path, cells: list[str]) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("profile = None")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params] + [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {"name": reproduce.KERNEL, "display_name": "Python (paperlib)",
                                 "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


TOY_CELLS = [
    "import matplotlib.pyplot as plt\nimport pandas as pd\nfrom paperlib.studies import report",
    "fig, ax = plt.subplots()\nax.plot([0, 1], [1, 0])\n"
    "report.save_figure(fig, 'nb99_toy_line', profile, 'toy data')\nplt.show()",
    "report.save_table(pd.DataFrame({'x': [1]}), 'nb99_toy_table', profile, 'toy data')",
]


def test_check_figures_shown_counts_inline_images(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("plt.show()")
    nb.cells = [cell]
    nbformat.write(nb, tmp_path / "none.ipynb")
    with pytest.raises(reproduce.MissingFigures, match="saved 1 figures .* but shows 0"):
        reproduce.check_figures_shown(tmp_path / "none.ipynb", ["a.png", "a.pdf", "t.csv"])
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": "iVBOR", "text/plain": "<Figure>"})]
    nbformat.write(nb, tmp_path / "one.ipynb")
    assert reproduce.inline_images(tmp_path / "one.ipynb") == 1
    reproduce.check_figures_shown(tmp_path / "one.ipynb", ["a.png", "a.pdf"])


@pytest.fixture()
def kernel():
    from jupyter_client.kernelspec import KernelSpecManager

    if reproduce.KERNEL not in KernelSpecManager().find_kernel_specs():
        pytest.skip(f"jupyter kernel {reproduce.KERNEL!r} not installed (make install registers it)")
    return reproduce.KERNEL


def test_run_notebooks_figures_inline_and_manifest(tmp_path, monkeypatch, kernel, synthetic_dir):
    """A toy notebook run as `make notebooks` runs them, with MPLBACKEND=Agg in the caller's
    environment (what the Makefile used to export): the executed copy still shows its figure, and
    the manifest sits beside the smoke figures with the data's provenance and no absolute path."""
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("PAPERLIB_FIGURES_DIR", raising=False)
    monkeypatch.setenv("PAPERLIB_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("PAPERLIB_DATA_DIR", str(synthetic_dir))
    monkeypatch.setenv("PAPERLIB_ALLOW_PARTIAL_DATA", "1")
    source = _notebook(tmp_path / "nbs" / "99_toy.ipynb", TOY_CELLS)
    before = source.read_bytes()

    manifest = reproduce.run_notebooks(get_profile("smoke"), notebooks_dir=source.parent, kernel=kernel)

    figures = tmp_path / "results" / "smoke" / "figures"
    executed = tmp_path / "results" / "smoke" / "notebooks" / "99_toy.ipynb"
    assert reproduce.inline_images(executed) == 1 == len(list(figures.glob("*.png")))
    assert json.loads((figures / reproduce.MANIFEST).read_text()) == manifest
    entry = manifest["notebooks"]["99_toy"]
    assert entry["outputs"] == {
        name: {"kind": "extension", "item": "notebook 99"}
        for name in ("nb99_toy_line.pdf", "nb99_toy_line.png", "nb99_toy_table.csv", "nb99_toy_table.md")}
    assert entry["executed"] == "$PAPERLIB_RESULTS_DIR/smoke/notebooks/99_toy.ipynb"
    assert entry["precision_setting"] == "fp32"  # the tests pin PAPERLIB_CPU_BF16=off
    assert manifest["profile"] == "smoke"
    assert manifest["data"] == {"cifar10": "synthetic data (random pixels): 50 train / 20 test images"}
    # the images each result used (the smoke recipe's 256 / 256, capped by the 50 / 20 copy)
    assert manifest["images_used"]["resnet18"] == "cifar10: 50 train / 20 test images (of the folder's 50 / 20)"
    text = json.dumps(manifest)
    assert str(tmp_path) not in text and str(synthetic_dir) not in text and "data_dir" not in manifest
    assert source.read_bytes() == before  # only the committed profile writes notebooks back


def test_data_provenance_of_a_partial_copy(real_data_dir):
    prov = reproduce.data_provenance(["cifar10"])["cifar10"]
    assert "partial data:" in prov or prov.startswith("full data, md5-verified:")
    assert str(real_data_dir) not in prov


def test_manifest_states_the_images_each_result_used(real_data_dir):
    """The smoke models train on 256 / 256 images of the data folder (He et al.'s network on
    1,024 / 256), not on the folder's whole copy (issue 25)."""
    from paperlib.method import data

    prof = get_profile("smoke")
    n_train, n_test = len(data.load("cifar10", "train")), len(data.load("cifar10", "test"))
    used = reproduce.images_used(prof, ["resnet18", "cifar10cnn"])
    assert used["resnet18"] == (f"cifar10: {min(256, n_train)} train / {min(256, n_test)} test "
                                f"images (of the folder's {n_train} / {n_test})")
    assert used["cifar10cnn"].startswith(f"cifar10: {min(1024, n_train)} train / ")


def test_the_manifest_commit_says_when_the_library_code_differs_from_it(tmp_path, monkeypatch):
    """A clean tree gives the commit; a changed library file adds ``+dirty``; a changed output
    (a figure) does not: outputs are what a run writes, not what makes the numbers."""
    def git(*args):
        subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=tmp_path,
                       check=True, capture_output=True)

    (tmp_path / "paperlib").mkdir()
    (tmp_path / "figures").mkdir()
    (tmp_path / "paperlib" / "m.py").write_text("x = 1\n")
    (tmp_path / "figures" / "t.csv").write_text("a\n1\n")
    git("init", "-q")
    git("add", "-A")
    git("commit", "-q", "-m", "one")
    monkeypatch.setattr(config, "REPO_ROOT", tmp_path)
    clean = reproduce.git_commit()
    assert len(clean) >= 7 and "+" not in clean
    (tmp_path / "figures" / "t.csv").write_text("a\n2\n")
    assert reproduce.git_commit() == clean
    (tmp_path / "paperlib" / "new.py").write_text("y = 1\n")  # an untracked module counts too
    assert reproduce.git_commit() == clean + "+dirty"
    (tmp_path / "paperlib" / "new.py").unlink()
    (tmp_path / "paperlib" / "m.py").write_text("x = 2\n")
    assert reproduce.git_commit() == clean + "+dirty"


def test_a_left_out_model_is_neither_trained_nor_studied_and_the_reason_is_printed(monkeypatch,
                                                                                   capsys):
    """``Profile.left_out`` (docs/decisions/reporting.md §15): ``make models`` skips the model
    and prints why, the notebooks' ``studied`` drops it (the manifest: the next test); quick
    leaves ResNet50 out, smoke and paper leave nothing out."""
    import dataclasses

    from paperlib.method import train
    from paperlib.method.models import MODELS

    quick = get_profile("quick")
    assert set(quick.left_out) == {"resnet50"} and "30 %" in quick.left_out["resnet50"]
    assert not get_profile("smoke").left_out and not get_profile("paper").left_out
    asked = ("vgg11", "resnet18", "mobilenet", "resnet50")
    assert quick.studied(asked) == ("vgg11", "resnet18", "mobilenet")
    assert get_profile("smoke").studied(asked) == asked
    assert quick.left_out_note(asked) == f"resnet50: left out of the quick profile: {quick.left_out['resnet50']}"
    assert quick.left_out_note(("vgg11",)) == ""
    assert reproduce.model_names(quick) == tuple(m for m in MODELS.names() if m != "resnet50")
    with pytest.raises(ValueError, match="left_out of profile .quick.: unknown model .resnet500."):
        dataclasses.replace(quick, left_out={"resnet500": "a typo"})

    trained = []

    def fake_load_or_train(name, prof, **kwargs):
        trained.append(name)
        return None, {"accuracy": 0.5, "data": "synthetic"}

    monkeypatch.setattr(train, "load_or_train", fake_load_or_train)
    reproduce.train_models(quick)
    assert trained == list(reproduce.model_names(quick))
    assert capsys.readouterr().out.startswith("[models] resnet50: left out of the quick profile: ")


def test_shown_path_is_never_absolute(tmp_path, monkeypatch):
    """Relative to the repository, else to the folder variable that holds it, else the name."""
    data, results = tmp_path / "data", tmp_path / "results"
    monkeypatch.setenv("PAPERLIB_DATA_DIR", str(data))
    monkeypatch.setenv("PAPERLIB_RESULTS_DIR", str(results))
    assert config.shown_path(config.REPO_ROOT / "figures" / "x.csv") == "figures/x.csv"
    assert config.shown_path(data / "MANIFEST.json") == "$PAPERLIB_DATA_DIR/MANIFEST.json"
    assert config.shown_path(results / "quick" / "search") == "$PAPERLIB_RESULTS_DIR/quick/search"
    assert config.shown_path(tmp_path / "elsewhere" / "f.txt") == "f.txt"


def test_the_manifest_lists_no_left_out_model(real_data_dir):
    """``images_used`` (the manifest's record of the images each result used) follows
    ``Profile.left_out``: quick's lists every trained model and not ResNet50."""
    quick = get_profile("quick")
    assert sorted(reproduce.images_used(quick)) == sorted(reproduce.model_names(quick))
    assert "resnet50" not in reproduce.images_used(quick)
