"""``make reproduce``: train (or reuse) the models, run (or reuse) the searches, execute the
notebooks with papermill and record what produced every output in ``MANIFEST.json``.

Where things go (docs/decisions/reporting.md §1): figures, tables and the manifest into
``report.figures_dir(profile)`` — the committed ``figures/`` only for the committed profile
(``quick``), ``results/<profile>/figures/`` otherwise; executed notebooks into
``<results>/<profile>/notebooks/``; only the committed profile writes its outputs back into
``notebooks/``.

Everything is cached: checkpoints by their metadata, searches by their result files, notebooks by a
hash of the notebook, the package sources, the profile and the data folder, so a second run with
nothing changed takes seconds.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

from .. import __version__
from ..infra import config, io
from ..studies import report
from ..studies.training_controls import snapshot_epochs
from ..method.constants import ENERGY_BOUND_MJ
from ..method.profiles import Profile, resolve_profile
from . import readme
from ..method.models import MODELS
from ..method import train
from .. import search
from ..search import seeds
from ..method import data
from ..method.device import plan_for
from ..method.evaluation_split import profile_split

NOTEBOOKS = config.REPO_ROOT / "notebooks"
KERNEL = "paperlib"
STAGES = ("models", "searches", "notebooks")
MANIFEST = "MANIFEST.json"
# The kernel's matplotlib backend: inline, whatever MPLBACKEND the caller's shell sets, so that
# every figure a notebook shows is stored in the executed notebook (docs/decisions/reporting.md §3).
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


class MissingFigures(RuntimeError):
    """An executed notebook shows fewer figures than it saved."""


def model_names(prof: Profile) -> tuple[str, ...]:
    """Every registered model but those ``prof`` leaves out: the ones ``make models`` trains."""
    return prof.studied(MODELS.names())


def train_models(prof: Profile) -> None:
    """The checkpoint of every model the profile trains (:func:`model_names`), saving on the way
    the intermediate ones that notebook 08's privacy-vs-training table measures (so they are never
    trained separately); a left-out model is named with the profile's reason."""
    for line in prof.left_out_note(MODELS.names()).splitlines():
        print(f"[models] {line}", flush=True)
    for name in model_names(prof):
        _, meta = train.load_or_train(name, prof, snapshot_epochs=snapshot_epochs(name, prof))
        print(f"[models] {name}: top-1 {meta['accuracy']:.4f} ({meta['data']})", flush=True)


def run_searches(prof: Profile) -> dict[str, list[search.SearchResult]]:
    """Every searched model's search at the paper's E_b for every seed of
    ``prof.search_seeds`` (docs/decisions/paper-method.md §10), each in its own folder: a killed
    run resumes, a finished seed reloads from its folder (nothing scored again) and an interrupted
    one resumes from its ``state.json``. One context per model serves all its seeds."""
    out: dict[str, list[search.SearchResult]] = {}
    note = seeds.seeds_note(prof.search_seeds)
    for name in prof.search_models:
        contexts: list[search.SearchContext] = []

        def run_one(seed: int, name: str = name,
                    contexts: list[search.SearchContext] = contexts) -> search.SearchResult:
            if not contexts:
                contexts.append(search.build_context(name, prof))
            result = search.run(name, prof, search.RunSettings(energy_bound=ENERGY_BOUND_MJ,
                                                               seed=seed), context=contexts[0])
            print(f"[searches] {name} seed {seed}: best p={result.best['p']} "
                  f"fitness={result.best['fitness']:.4f}", flush=True)
            return result

        out[name] = seeds.run_seeds(run_one, prof.search_seeds)
        s = seeds.seed_summary(out[name])
        fit = s["fitness"]
        print(f"[searches] {name}: {len(out[name])} seeds, best fitness median {fit['median']:.4f} "
              f"({fit['min']:.4f}–{fit['max']:.4f}); p = {s['p_mode']} chosen by "
              f"{s['p_agreement']} seeds" + (f" ({note})" if note else ""), flush=True)
    return out


# --- provenance ----------------------------------------------------------------------------------

def data_provenance(datasets: Iterable[str]) -> dict[str, str]:
    """Per data set, what the data was: "full data, md5-verified: N train / M test images",
    "partial data: N train / M test images" ("UNVERIFIED partial data: ..." when no manifest of
    the copy vouched for it) or "synthetic data (random pixels): ..." — never a path
    (docs/decisions/reporting.md §4)."""
    synthetic = (config.data_dir() / "SYNTHETIC").exists()
    out = {}
    for name in sorted(set(datasets)):
        train, test = data.load(name, "train"), data.load(name, "test")
        counts = f"{len(train)} train / {len(test)} test images"
        if synthetic:
            out[name] = f"synthetic data (random pixels): {counts}"
        elif train.partial or test.partial:
            verified = all(getattr(d, "verified", True) for d in (train, test))
            out[name] = f"{'' if verified else 'UNVERIFIED '}partial data: {counts}"
        else:
            out[name] = f"full data, md5-verified: {counts}"
    return out


def images_used(prof: Profile, models: Iterable[str] | None = None) -> dict[str, str]:
    """Per model, the images its results actually used: the profile's ``train_images`` /
    ``test_images`` of the data folder (e.g. the smoke models' 256 / 256 of a 5,438 / 1,017
    copy), as :func:`paperlib.method.train.training_data` draws them
    (docs/decisions/data-integrity.md §13)."""
    out = {}
    for model in sorted(model_names(prof) if models is None else models):
        name, recipe = prof.dataset_for(model), prof.recipe(model)
        train, test = data.load(name, "train"), data.load(name, "test")
        n_train = min(recipe.train_images or len(train), len(train))
        n_test = min(recipe.test_images or len(test), len(test))
        out[model] = (f"{name}: {n_train} train / {n_test} test images "
                      f"(of the folder's {len(train)} / {len(test)})")
    return out


def evaluation_splits(prof: Profile, models: Iterable[str] | None = None) -> dict[str, dict]:
    """Per searched model (default: the profile's ``search_models``), the search / report split
    of its test images (:meth:`EvaluationSplit.manifest`: seed, sizes, a digest of each index
    list), drawn as :class:`paperlib.search.SearchContext` draws it
    (docs/decisions/paper-method.md §9); ``{"refused": why}`` where the test images are too few
    for a report split (its search is refused too)."""
    out: dict[str, dict] = {}
    for model in sorted(prof.search_models if models is None else models):
        recipe, test = prof.recipe(model), data.load(prof.dataset_for(model), "test")
        n_test = min(recipe.test_images or len(test), len(test))
        try:
            split = profile_split(prof, model, n_test)
        except ValueError as exc:
            out[model] = {"refused": str(exc)}
            continue
        out[model] = split.manifest()
    return out


def profile_datasets(prof: Profile) -> tuple[str, ...]:
    """The data sets the profile's models are trained and evaluated on."""
    return tuple(sorted({prof.dataset_for(m) for m in model_names(prof)}))


CODE_PATHS = ("paperlib", "pyproject.toml")  # what makes the numbers (the outputs are not code)


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=config.REPO_ROOT, check=True, capture_output=True,
                          text=True).stdout.strip()


def git_commit() -> str:
    """The commit the outputs come from; ``+dirty`` when the library's code differs from it."""
    try:
        commit = _git("rev-parse", "--short", "HEAD")
        return commit + ("+dirty" if _git("status", "--porcelain", "--", *CODE_PATHS) else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def describe_outputs(names: Iterable[str]) -> dict[str, dict[str, str]]:
    """``{file name: {"kind": "paper" | "extension", "item": "Fig. 7" | "notebook 07"}}``."""
    return {n: vars(report.classify(n)) for n in sorted(names)}


# --- notebooks -----------------------------------------------------------------------------------

def _source_hash(notebook: Path, prof: Profile) -> str:
    digest = hashlib.sha256()
    cells = json.loads(notebook.read_text())["cells"]  # sources only: outputs may be written back
    digest.update(json.dumps([(c["cell_type"], "".join(c["source"])) for c in cells]).encode())
    for path in sorted((config.REPO_ROOT / "paperlib").rglob("*.py")):
        digest.update(path.read_bytes())
    digest.update(repr(prof).encode())
    digest.update(str(config.data_dir()).encode())
    return digest.hexdigest()[:16]


def inline_images(notebook: Path) -> int:
    """How many ``image/png`` outputs an (executed) notebook holds."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    return sum("image/png" in out.get("data", {})
               for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", []))


def check_figures_shown(executed: Path, saved: Iterable[str]) -> None:
    """Raise :class:`MissingFigures` unless ``executed`` shows every PNG in ``saved``."""
    pngs = sorted(n for n in saved if n.endswith(".png"))
    shown = inline_images(executed)
    if shown < len(pngs):
        raise MissingFigures(
            f"{executed.name} saved {len(pngs)} figures ({', '.join(pngs)}) but shows {shown}: "
            "every figure must be displayed (plt.show()) with the inline backend; unset "
            "MPLBACKEND or run the notebooks through `make notebooks`")


@contextmanager
def _inline_backend() -> Iterator[None]:
    old = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = INLINE_BACKEND
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = old


def execute(notebook: Path, output: Path, profile: str, kernel: str = KERNEL) -> None:
    """Run ``notebook`` with papermill (``profile`` injected) into ``output``, figures inline."""
    import papermill

    output.parent.mkdir(parents=True, exist_ok=True)
    with _inline_backend():
        papermill.execute_notebook(str(notebook), str(output), parameters={"profile": profile},
                                   kernel_name=kernel, cwd=str(notebook.parent),
                                   progress_bar=False)


def write_back(executed: Path, source: Path) -> None:
    """Copy an executed notebook over its source, minus papermill's injected-parameters cell,
    so the committed notebooks show the outputs (figures included) of the last quick run."""
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    nb.cells = [c for c in nb.cells
                if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    with io.atomic_path(source) as tmp:
        nbformat.write(nb, tmp)


def _load_manifest(path: Path, prof: Profile) -> dict[str, Any]:
    manifest = io.read_json(path) if path.exists() else {}
    if manifest.get("profile") != prof.name:
        manifest = {}
    manifest.pop("data_dir", None)  # older manifests held an absolute path
    manifest.setdefault("notebooks", {})
    return manifest


def run_notebooks(prof: Profile, only: list[str] | None = None, *,
                  notebooks_dir: Path = NOTEBOOKS, kernel: str = KERNEL) -> dict[str, Any]:
    """Execute every numbered notebook (or ``only`` those) into ``<results>/<profile>/notebooks``;
    figures, tables and ``MANIFEST.json`` go to ``report.figures_dir(profile)``."""
    out_dir = config.results_dir() / prof.name / "notebooks"
    figures = report.figures_dir(prof.name)
    manifest_path = figures / MANIFEST
    manifest = _load_manifest(manifest_path, prof)
    entries = manifest["notebooks"]
    write_back_here = prof.name == config.COMMITTED_PROFILE and notebooks_dir == NOTEBOOKS
    for nb in sorted(notebooks_dir.glob("[0-9][0-9]_*.ipynb")):
        if only and nb.stem not in only and nb.stem[:2] not in only:
            continue
        key = _source_hash(nb, prof)
        output = out_dir / nb.name
        if entries.get(nb.stem, {}).get("hash") == key and output.exists():
            print(f"[notebooks] {nb.stem}: unchanged, cached", flush=True)
            continue
        print(f"[notebooks] {nb.stem}: executing ({prof.name})", flush=True)
        t0, before = time.time(), {p: p.stat().st_mtime for p in figures.glob("*")}
        execute(nb, output, prof.name, kernel)
        produced = sorted(p.name for p in figures.glob("*")
                          if p.name != MANIFEST and before.get(p) != p.stat().st_mtime)
        check_figures_shown(output, produced)
        if write_back_here:
            write_back(output, nb)
        # the precision the kernel's new gradient steps ran in (it inherits this environment);
        # reused checkpoints and results keep their own (docs/decisions/scale.md §6)
        entries[nb.stem] = {"hash": key, "wall_seconds": round(time.time() - t0, 1),
                            "precision_setting": plan_for().precision,
                            "outputs": describe_outputs(produced), "executed": config.shown_path(output)}
        manifest.update(profile=prof.name, git_commit=git_commit(), paperlib=__version__,
                        date=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                        data=data_provenance(profile_datasets(prof)),
                        images_used=images_used(prof), evaluation_split=evaluation_splits(prof))
        io.write_json(manifest_path, manifest)
    return manifest


def reproduce(profile: str | None = None, stages: tuple[str, ...] = STAGES,
              only: list[str] | None = None) -> None:
    prof = resolve_profile(profile)
    t0 = time.time()
    if "models" in stages:
        train_models(prof)
    if "searches" in stages:
        run_searches(prof)
    if "notebooks" in stages:
        run_notebooks(prof, only)
        blocks = readme.publish(prof.name, report.figures_dir(prof.name))
        print(f"[reproduce] README blocks: {config.shown_path(blocks)}", flush=True)
        where = config.shown_path(report.figures_dir(prof.name))
        print(f"[reproduce] figures, tables and {MANIFEST} of profile {prof.name}: {where}/"
              + ("" if prof.name == config.COMMITTED_PROFILE else
                 f" (the committed figures/ hold the {config.COMMITTED_PROFILE} profile's)"),
              flush=True)
    print(f"[reproduce] profile {prof.name}: done in {time.time() - t0:.0f} s", flush=True)


__all__ = ["NOTEBOOKS", "KERNEL", "STAGES", "MANIFEST", "MissingFigures", "data_provenance",
           "images_used",
           "profile_datasets", "describe_outputs", "inline_images", "check_figures_shown",
           "execute", "write_back", "run_notebooks", "reproduce", "train_models", "run_searches",
           "git_commit"]
