"""paperlib: a runnable reproduction of Guo, Lin & Song (2023), "A privacy protection approach in
edge-computing based on maximized DNN partition strategy with energy saving".

The package is layered; each layer imports only the layers before it (``tests/test_layers.py``):

==================  =============================================================================
``infra``           plumbing: files and hashes, ``PAPERLIB_*`` variables, registries, executors
``method``          the paper's method: models, partition graph, quantizer, strategies, energy,
                    hardware tables, privacy, constants; data, training, profiles
``search``          Algorithm 1 and the other searches, ε estimators, baselines, fronts
``attacks``         inversion attacks on the IR (He et al. 2019)
``defences``        defences compared with the paper's strategy
``network``         fluctuating uplinks and schedulers (Tang et al. 2021)
``studies``         one module per notebook: every table, finding and verdict a notebook shows
``app``             the command line, ``make reproduce``, run comparison
==================  =============================================================================

The paper's public API keeps its short names: ``from paperlib import models, quant, energy,
privacy, search`` (the first four live in :mod:`paperlib.method`). Decisions: ``docs/decisions/``.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

__version__ = "0.1.0"

# The stable names of the public API (docs/decisions/layout.md §3): paperlib.<name> is the module.
STABLE = {"models": "paperlib.method.models", "quant": "paperlib.method.quant",
          "energy": "paperlib.method.energy", "privacy": "paperlib.method.privacy",
          "search": "paperlib.search"}

# Where the modules of the flat layout went (docs/decisions/layout.md §2). Importing an old name
# fails with a message naming the new one.
MOVED = {
    "io": "paperlib.infra.io", "config": "paperlib.infra.config",
    "registry": "paperlib.infra.registry", "executors": "paperlib.infra.executors",
    "checkpoint": "paperlib.infra.checkpoint", "constants": "paperlib.method.constants",
    "graph": "paperlib.method.graph", "policy": "paperlib.method.policy",
    "strategies": "paperlib.method.strategies", "hardware": "paperlib.method.hardware",
    "data": "paperlib.method.data", "train": "paperlib.method.train",
    "device": "paperlib.method.device", "profiles": "paperlib.method.profiles",
    "baselines": "paperlib.search.baselines", "fronts": "paperlib.search.fronts",
    "bounds": "paperlib.search.ranges", "analysis": "paperlib.studies.analysis",
    "tables": "paperlib.studies.tables", "loaders": "paperlib.studies.loaders",
    "comparison": "paperlib.studies.nb01_layer_privacy … nb07_search_baselines (one module per notebook)",
    "hardware_effect": "paperlib.studies.nb05_edge_cloud", "report": "paperlib.studies.report",
    "cli": "paperlib.app.cli", "reproduce": "paperlib.app.reproduce",
    "rundiff": "paperlib.app.rundiff",
}


class _Moved(importlib.abc.MetaPathFinder):
    """Serves ``paperlib.<stable name>`` (and its submodules) as the module it names, and refuses
    a moved module with the name of its new home."""

    def find_spec(self, fullname, path=None, target=None):  # noqa: D102
        head, _, rest = fullname.partition(".")[2].partition(".")
        if not fullname.startswith("paperlib."):
            return None
        if head in STABLE:
            real = STABLE[head] + ("." + rest if rest else "")
            if real == fullname:
                return None
            return importlib.util.spec_from_loader(fullname, _Alias(real))
        if head in MOVED:
            raise ImportError(f"paperlib.{head} moved to {MOVED[head]}: import that instead",
                              name=fullname)
        return None


class _Alias(importlib.abc.Loader):
    def __init__(self, real: str) -> None:
        self.real = real

    def create_module(self, spec):  # noqa: D102
        return importlib.import_module(self.real)

    def exec_module(self, module) -> None:  # noqa: D102
        pass


sys.meta_path.insert(0, _Moved())


def __getattr__(name: str):
    if name in STABLE:
        return importlib.import_module(STABLE[name])
    if name in MOVED:
        raise AttributeError(f"paperlib.{name} moved to {MOVED[name]}: import that instead")
    raise AttributeError(f"module 'paperlib' has no attribute {name!r}")
