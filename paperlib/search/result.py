"""The result of one search (Algorithm 1's "Ensure": the highest-fitness strategy) and its file.

``result.json`` holds, besides the best strategy, everything the paper's tables and figures take
from a search: Table 4/5 columns (offloaded blocks and conv layers, energy, privacy, top-1), Fig. 10
(the per-iteration history), Fig. 12 (the per-layer bit widths), Table 2 (timing), and the settings
and data provenance the numbers were computed from.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import io

RESULT_FILE = "result.json"
FORMAT_VERSION = 1


@dataclass
class SearchResult:
    """One search's outcome. ``best`` is a dict (JSON-ready) with at least:

    ``p``, ``key``, ``genome``, ``layers`` (one ``{"name", "b_w", "b_a"}`` per edge layer after the
    stem), ``ir_bits``, ``edge_blocks`` (= p), ``edge_conv_layers`` (conv layers in the edge blocks,
    stem excluded — the paper's Table 4 "#L"), ``edge_conv_layers_with_stem`` (Table 5's count),
    ``energy_mj`` (with E_T), ``energy_no_tx_mj``, ``transmission_mj``, ``energy_bounded_mj`` (the
    one E_b applies to, per ``energy_includes_transmission``), ``privacy``, ``fitness``,
    ``feasible``, and the accuracy block: ``top1_fp`` (checkpoint, full test split of the profile),
    ``eps`` / ``top1_quant`` by the search estimator, ``eps_reference`` / ``top1_quant_reference`` by
    the reference estimator, ``fitness_reference`` and ``top1`` (= ``top1_fp − eps_reference``, the
    number to put beside the paper's top-1).
    """

    model: str
    profile: str
    dataset: str
    data: str  # provenance, e.g. "cifar10, partial data: 5438 train / 1017 test images"
    seed: int
    energy_bound: float
    accuracy_bound: float
    best: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    timing: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    evaluations: int = 0  # distinct strategies evaluated (N + T genomes minus cache hits)
    out_dir: str = ""
    version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "SearchResult":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def save(self, path: str | os.PathLike | None = None) -> Path:
        """Write ``result.json`` atomically (into ``out_dir`` unless a path is given)."""
        target = Path(path) if path is not None else Path(self.out_dir) / RESULT_FILE
        io.write_json(target, self.to_dict())
        return target

    def summary(self) -> str:
        """A few human-readable lines (what the CLI prints)."""
        b = self.best
        bits = " ".join(f"{layer['b_w']}" for layer in b.get("layers", []))
        with_tx = "with" if b.get("energy_includes_transmission") else "without"
        return "\n".join([
            f"{self.model} ({self.profile}, {self.data}), seed {self.seed}, "
            f"E_b = {self.energy_bound} mJ ({with_tx} E_T), eps_b = {self.accuracy_bound}",
            f"best: p = {b['p']} blocks / {b['edge_conv_layers']} conv layers "
            f"({b['edge_conv_layers_with_stem']} with the stem), weight bits [{bits}], IR {b['ir_bits']} bit",
            f"  energy {b['energy_mj']:.4f} mJ ({b['energy_no_tx_mj']:.4f} without E_T), "
            f"privacy {b['privacy']:.4f}, fitness {b['fitness']:.4f}",
            f"  top-1 fp {b['top1_fp']:.4f}; eps {b['eps']:.4f} ({self.settings.get('estimator')}), "
            f"{b['eps_reference']:.4f} ({self.settings.get('reference_estimator')}) -> top-1 {b['top1']:.4f}",
            f"  {self.evaluations} evaluations, {self.timing.get('wall_seconds', 0):.0f} s "
            f"({self.timing.get('seconds_per_1000_iterations', 0) / 3600:.2f} h per 1000 iterations)",
        ])


def load_result(path: str | os.PathLike) -> SearchResult:
    """Load a ``result.json`` (or the one inside a search's output folder)."""
    path = Path(path)
    if path.is_dir():
        path = path / RESULT_FILE
    if not path.exists():
        raise FileNotFoundError(f"no search result at {path}; run `python -m paperlib search` first")
    return SearchResult.from_dict(io.read_json(path))


__all__ = ["SearchResult", "load_result", "RESULT_FILE"]
