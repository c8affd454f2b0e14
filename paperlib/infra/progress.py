"""The progress bar of every long loop: ``tqdm.auto``'s, imported once here.

In a notebook kernel without ipywidgets, ``tqdm.auto`` falls back to text bars and warns, at its
import, with a message that carries the environment's absolute path into every executed notebook;
the text bars are what papermill records anyway, so the warning is silenced here and every module
imports :data:`tqdm` from this one (docs/decisions/data-integrity.md)."""

from __future__ import annotations

import warnings

from tqdm import TqdmWarning

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="IProgress not found", category=TqdmWarning)
    from tqdm.auto import tqdm

__all__ = ["tqdm"]
