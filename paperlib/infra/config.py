"""Every ``PAPERLIB_*`` environment variable and every default location, in one place.

| variable | meaning | default |
|---|---|---|
| ``PAPERLIB_PROFILE`` | run profile | ``quick`` |
| ``PAPERLIB_DATA_DIR`` | folder holding ``cifar-10-batches-py/``, ``cifar-100-python/``, ``network-traces/`` | ``data/`` |
| ``PAPERLIB_ALLOW_PARTIAL_DATA`` | accept a verified partial copy (``1``) | off |
| ``PAPERLIB_CHECKPOINT_DIR`` | trained models | ``data/checkpoints/`` |
| ``PAPERLIB_RESULTS_DIR`` | searches, attacks, executed notebooks | ``results/`` |
| ``PAPERLIB_FIGURES_DIR`` | figures and tables | see :func:`figures_dir` |
| ``PAPERLIB_CACHE_DIR`` | md5 cache | ``~/.cache/paperlib`` |
| ``PAPERLIB_HARDWARE`` | hardware description: a shipped name or a TOML file (``--hardware``) | ``table3`` |
| ``PAPERLIB_DEVICE`` | torch device: ``auto`` (CUDA when present), ``cpu``, ``cuda``, ``cuda:1`` | ``auto`` |
| ``PAPERLIB_COMPILE`` | ``torch.compile`` the training step on CUDA (``1``) | off |
| ``PAPERLIB_CPU_BF16`` | bf16 autocast of gradient steps on the CPU: ``auto`` (where the CPU has bf16 instructions), ``on``, ``off`` | ``off`` |

Functions read the environment when called (never at import), so tests and notebooks can change it.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PROFILE = "quick"
# The committed ``figures/`` and the committed notebook outputs come from this profile's run;
# every other profile writes its figures under ``results/<profile>/figures/`` (see figures_dir).
COMMITTED_PROFILE = "quick"
DEFAULT_DEVICE = "auto"  # CUDA when present, else the CPU (paperlib.method.device.resolve)
DEFAULT_HARDWARE = "table3"  # the paper's Table 3 (paperlib/method/hardware_tables/table3.toml)
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})


def _path(var: str, default: Path) -> Path:
    value = os.environ.get(var, "").strip()
    return Path(value).expanduser() if value else default


def _flag(var: str) -> bool:
    return os.environ.get(var, "").strip().lower() in TRUE_WORDS


def profile_name(name: str | None = None) -> str:
    """``name``, else ``$PAPERLIB_PROFILE``, else ``quick``."""
    return name or os.environ.get("PAPERLIB_PROFILE", "").strip() or DEFAULT_PROFILE


def data_dir(root: str | os.PathLike | None = None) -> Path:
    """``root``, else ``$PAPERLIB_DATA_DIR``, else the repository's ``data/``."""
    return Path(root).expanduser() if root else _path("PAPERLIB_DATA_DIR", REPO_ROOT / "data")


def allow_partial(allow: bool | None = None) -> bool:
    """``allow`` when given, else ``$PAPERLIB_ALLOW_PARTIAL_DATA``."""
    return _flag("PAPERLIB_ALLOW_PARTIAL_DATA") if allow is None else bool(allow)


def checkpoint_dir(root: str | os.PathLike | None = None) -> Path:
    """``root``, else ``$PAPERLIB_CHECKPOINT_DIR``, else ``data/checkpoints``.

    Kept apart from the data folder, which may be a read-only copy of CIFAR."""
    return Path(root).expanduser() if root else _path("PAPERLIB_CHECKPOINT_DIR",
                                                      REPO_ROOT / "data" / "checkpoints")


def results_dir() -> Path:
    """``$PAPERLIB_RESULTS_DIR``, else the repository's (git-ignored) ``results/``."""
    return _path("PAPERLIB_RESULTS_DIR", REPO_ROOT / "results")


def figures_dir(profile: str | None = None, hardware_tag: str = "") -> Path:
    """Where figures and tables of ``profile`` go.

    ``$PAPERLIB_FIGURES_DIR`` when set; else the committed ``figures/`` for the profile that
    produced them (:data:`COMMITTED_PROFILE`), and ``<results>/<profile>/figures/`` for every
    other profile, so a smoke run never overwrites the committed figures. On another hardware
    description than Table 3 (a non-empty ``hardware_tag``, which
    :func:`paperlib.studies.report.figures_dir` passes), ``<results>/<profile>/hw-<tag>/figures/``:
    its energies are not the committed ones."""
    explicit = os.environ.get("PAPERLIB_FIGURES_DIR", "").strip()
    if explicit:
        return Path(explicit).expanduser()
    name = profile_name(profile)
    if hardware_tag:
        return results_dir() / name / f"hw-{hardware_tag}" / "figures"
    return REPO_ROOT / "figures" if name == COMMITTED_PROFILE else results_dir() / name / "figures"


def hardware_spec() -> str | None:
    """``$PAPERLIB_HARDWARE`` (a name from ``paperlib.method.hardware.HARDWARE`` or a TOML file), else
    None (the paper's Table 3; see :func:`paperlib.method.hardware.current`)."""
    return os.environ.get("PAPERLIB_HARDWARE", "").strip() or None


def device_spec() -> str:
    """``$PAPERLIB_DEVICE``, else ``auto`` (CUDA when present; see :func:`paperlib.method.device.resolve`)."""
    return os.environ.get("PAPERLIB_DEVICE", "").strip() or DEFAULT_DEVICE


def compile_enabled(flag: bool | None = None) -> bool:
    """``flag`` when given, else ``$PAPERLIB_COMPILE`` (off by default; docs/decisions/scale.md §6)."""
    return _flag("PAPERLIB_COMPILE") if flag is None else bool(flag)


CPU_BF16_CHOICES = ("auto", "on", "off")
DEFAULT_CPU_BF16 = "off"  # float32 unless asked: bf16 training moves P (scale.md §6)


def cpu_bf16_spec(spec: str | None = None) -> str:
    """``spec`` when given, else ``$PAPERLIB_CPU_BF16``, else ``off``: one of ``auto``, ``on``,
    ``off`` (docs/decisions/scale.md §6)."""
    value = (spec if spec is not None else os.environ.get("PAPERLIB_CPU_BF16", "")).strip().lower()
    value = value or DEFAULT_CPU_BF16
    if value not in CPU_BF16_CHOICES:
        raise ValueError(f"PAPERLIB_CPU_BF16={value!r} is not one of {', '.join(CPU_BF16_CHOICES)} "
                         "(auto: bf16 autocast where the CPU has bf16 instructions)")
    return value


def cache_dir() -> Path:
    """``$PAPERLIB_CACHE_DIR``, else ``~/.cache/paperlib``."""
    return _path("PAPERLIB_CACHE_DIR", Path.home() / ".cache" / "paperlib")


def shown_path(path: str | os.PathLike) -> str:
    """``path`` as a message or an executed notebook shows it, never absolute (a committed output
    must not carry one machine's folders): relative to the repository, else to the results,
    data or checkpoint folder named by its variable (``$PAPERLIB_DATA_DIR/MANIFEST.json``), else
    its name alone."""
    path = Path(path).expanduser().resolve()
    roots = (("", REPO_ROOT), ("$PAPERLIB_RESULTS_DIR/", results_dir()),
             ("$PAPERLIB_DATA_DIR/", data_dir()), ("$PAPERLIB_CHECKPOINT_DIR/", checkpoint_dir()))
    for label, root in roots:
        try:
            return label + str(path.relative_to(root.resolve()))
        except ValueError:
            continue
    return path.name


__all__ = ["REPO_ROOT", "DEFAULT_PROFILE", "COMMITTED_PROFILE", "profile_name", "data_dir",
           "allow_partial", "checkpoint_dir", "results_dir", "figures_dir", "cache_dir", "shown_path",
           "hardware_spec", "device_spec", "compile_enabled", "cpu_bf16_spec", "CPU_BF16_CHOICES"]
