"""``make reproduce``: train (or reuse) the models, run (or reuse) the searches, execute the
notebooks with papermill and record what produced every figure in ``figures/MANIFEST.json``.

Everything is cached: checkpoints by their metadata, searches by their result files, notebooks by a
hash of the notebook, the package sources and the profile, so a second run with nothing changed
takes seconds.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from pathlib import Path

from . import __version__, io, models
from .constants import ENERGY_BOUND_MJ
from .data import REPO_ROOT
from .profiles import Profile, get_profile
from .report import figures_dir

NOTEBOOKS = REPO_ROOT / "notebooks"
KERNEL = "paperlib"
STAGES = ("models", "searches", "notebooks")
WRITE_BACK_PROFILE = "quick"  # the committed notebooks keep this profile's outputs


def train_models(prof: Profile) -> None:
    from . import train

    for name in models.ARCHITECTURES:
        _, meta = train.load_or_train(name, prof)
        print(f"[models] {name}: top-1 {meta['accuracy']:.4f} ({meta['data']})", flush=True)


def run_searches(prof: Profile) -> None:
    from . import search

    for name in prof.search_models:
        result = search.run(name, prof, energy_bound=ENERGY_BOUND_MJ, seed=0)
        print(f"[searches] {name}: best p={result.best['p']} fitness={result.best['fitness']:.4f}",
              flush=True)


def _source_hash(notebook: Path, prof: Profile) -> str:
    digest = hashlib.sha256()
    cells = json.loads(notebook.read_text())["cells"]  # sources only: outputs may be written back
    digest.update(json.dumps([(c["cell_type"], "".join(c["source"])) for c in cells]).encode())
    for path in sorted((REPO_ROOT / "paperlib").rglob("*.py")):
        digest.update(path.read_bytes())
    digest.update(repr(prof).encode())
    digest.update(os.environ.get("PAPERLIB_DATA_DIR", "").encode())
    return digest.hexdigest()[:16]


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, check=True,
                              capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write_back(executed: Path, source: Path) -> None:
    """Copy an executed notebook over its source, minus papermill's injected-parameters cell,
    so the committed notebooks show the outputs of the last quick run."""
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    with io.atomic_path(source) as tmp:
        nbformat.write(nb, tmp)


def run_notebooks(prof: Profile, only: list[str] | None = None) -> dict:
    """Execute every numbered notebook (or ``only`` those) into ``results/<profile>/notebooks``."""
    import papermill

    out_dir = REPO_ROOT / "results" / prof.name / "notebooks"
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = figures_dir() / "MANIFEST.json"
    manifest = io.read_json(manifest_path) if manifest_path.exists() else {}
    if manifest.get("profile") != prof.name:
        manifest = {"notebooks": {}}
    entries = manifest.setdefault("notebooks", {})
    for nb in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        if only and nb.stem not in only and nb.stem[:2] not in only:
            continue
        key = _source_hash(nb, prof)
        output = out_dir / nb.name
        if entries.get(nb.stem, {}).get("hash") == key and output.exists():
            print(f"[notebooks] {nb.stem}: unchanged, cached", flush=True)
            continue
        print(f"[notebooks] {nb.stem}: executing ({prof.name})", flush=True)
        t0, before = time.time(), {p: p.stat().st_mtime for p in figures_dir().glob("*")}
        papermill.execute_notebook(str(nb), str(output), parameters={"profile": prof.name},
                                   kernel_name=KERNEL, cwd=str(NOTEBOOKS), progress_bar=False)
        if prof.name == WRITE_BACK_PROFILE:
            write_back(output, nb)
        produced = sorted(p.name for p in figures_dir().glob("*")
                          if p.name != "MANIFEST.json" and before.get(p) != p.stat().st_mtime)
        entries[nb.stem] = {"hash": key, "wall_seconds": round(time.time() - t0, 1),
                            "outputs": produced, "executed": str(output.relative_to(REPO_ROOT))}
        manifest.update(profile=prof.name, git_commit=_git_commit(), paperlib=__version__,
                        date=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                        data_dir=os.environ.get("PAPERLIB_DATA_DIR", "data"))
        io.write_json(manifest_path, manifest)
    return manifest


def reproduce(profile: str | None = None, stages: tuple[str, ...] = STAGES,
              only: list[str] | None = None) -> None:
    prof = get_profile(profile)
    t0 = time.time()
    if "models" in stages:
        train_models(prof)
    if "searches" in stages:
        run_searches(prof)
    if "notebooks" in stages:
        run_notebooks(prof, only)
    print(f"[reproduce] profile {prof.name}: done in {time.time() - t0:.0f} s", flush=True)
