"""The result of one search (Algorithm 1's "Ensure": the highest-fitness strategy) and its file.

``result.json`` holds, besides the best strategy, everything the paper's tables and figures take
from a search: Table 4/5 columns (offloaded blocks and conv layers, energy, privacy, top-1), Fig. 10
(the per-iteration history), Fig. 12 (the per-layer bit widths), Table 2 (timing), and the settings
and data provenance the numbers were computed from.
"""

from __future__ import annotations

import math
import os
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..infra import io
from ..method.constants import ACTIVATION_BITS, FULL_PRECISION, WEIGHT_BITS

RESULT_FILE = "result.json"
FORMAT_VERSION = 1


# the files of a search's output folder, beside result.json
LOG_FILE = "evaluations.jsonl"  # every scored strategy, one JSON line each
STATE_FILE = "state.json"  # the evolution's state, for an exact resume


@dataclass
class BestStrategy(io.JsonRecord):
    """The highest-fitness strategy of a search, as ``result.json`` holds it
    (``SearchResult.best``)."""

    p: int
    key: str
    genome: dict[str, Any]
    layers: list[dict[str, Any]]  # one {"name", "b_w", "b_a"} per edge layer after the stem
    ir_bits: int
    edge_blocks: int  # = p
    edge_conv_layers: int  # conv layers in the edge blocks, stem excluded: Table 4's "#L"
    edge_conv_layers_with_stem: int  # Table 5's "#L"
    energy_mj: float  # with E_T
    energy_no_tx_mj: float
    transmission_mj: float
    energy_bounded_mj: float  # the one E_b applies to, per energy_includes_transmission
    energy_includes_transmission: bool
    privacy: float
    fitness: float
    feasible: bool
    top1_fp: float  # the checkpoint's, on the profile's full test split
    eps: float  # by the search estimator
    top1_fp_estimator: float
    top1_quant: float
    eps_reference: float  # by the reference estimator
    top1_fp_reference: float
    top1_quant_reference: float
    fitness_reference: float
    feasible_reference: bool
    # top1_fp − eps_reference: the search's own estimate, not a reported number; the reported
    # top-1 and ε are SearchResult.report's (the report split, docs/decisions/paper-method.md §9)
    top1: float


@dataclass
class SearchTiming(io.JsonRecord):
    """Where a search's time went (Table 2), as ``result.json`` holds it
    (``SearchResult.timing``)."""

    wall_seconds: float  # setup + search + reference + report, as measured (possibly earlier)
    setup_seconds: float  # the estimator's preparation (e.g. the sensitivity table) when measured
    search_seconds: float  # the loop, summed over the runs that resumed it
    reference_seconds: float  # when measured (the re-score is cached in reference.json)
    session_seconds: float  # this call, loading included: the wall time of this run
    seconds_per_1000_iterations: float
    seconds_per_1000_iterations_note: str
    split_seconds: dict[str, float]  # accuracy, privacy, energy, other
    split_share: dict[str, float]
    genomes: int  # N + T
    evaluations: int  # distinct strategies scored
    cache_hits: int  # N + T minus distinct strategies, at least 0 (see extra_evaluations)
    cache_hit_rate: float
    setup_cached: bool = False  # the setup was loaded, not measured, in this run
    setup_seconds_this_run: float = 0.0
    # distinct strategies beyond N + T: the default search also scores the uniform baselines'
    # bisection and its repairs (docs/decisions/paper-method.md §8); 0 for Algorithm 1, whose
    # cache hits are then exact
    extra_evaluations: int = 0
    report_seconds: float = 0.0  # the report measurement, when measured (cached in report.json)


@dataclass
class SearchResult(io.JsonRecord):
    """One search's outcome: ``best`` is :class:`BestStrategy` as a dict (JSON-ready), ``timing``
    :class:`SearchTiming` as a dict."""

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
    # the uniform baselines under the search's own estimator and Eq. 11 (UniformBaseline.record)
    # and the best strategy's fitness minus the best of theirs (docs/decisions/paper-method.md §8)
    baselines: list[dict[str, Any]] = field(default_factory=list)
    baseline_margin: float | None = None
    # the best strategy's reported ε and top-1: measured on the report split after the paper's
    # finetune, a paired difference with its 95 % interval (report_accuracy.ReportAccuracy), and
    # the search / report split of the test images (docs/decisions/paper-method.md §9). None in a
    # result.json written before they existed.
    report: dict[str, Any] | None = None
    evaluation_split: dict[str, Any] | None = None

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
            *([self.report_line()] if self.report else []),
            f"  {self.evaluations} evaluations; {self.timing_line()}",
            *([self.infeasible_line()] if not b.get("feasible", True) else []),
        ])

    def report_line(self) -> str:
        """The reported ε: on the report split, paired, with its interval."""
        r = self.report
        budget = (f"{r['finetune_batches']} finetune batches" if r.get("finetune_batches")
                  else "one finetune epoch")
        return (f"  reported on {r['images']} held-out images ({r['estimator']}, {budget}): top-1 "
                f"{r['top1']:.4f} vs {r['top1_fp']:.4f} fp, eps {r['eps']:.4f} "
                f"[{r['ci_low']:.4f}, {r['ci_high']:.4f}] 95 %, McNemar p {r['mcnemar_p']:.3g}")

    def infeasible_line(self) -> str:
        """What the best strategy breaks, and by how much (Eq. 4's bounds, as the search's
        ``feasible`` tests them; docs/decisions/data-integrity.md §13)."""
        b = self.best
        broken = []
        over_e = b["energy_bounded_mj"] - self.energy_bound
        if over_e > 0:
            broken.append(f"energy {b['energy_bounded_mj']:.4f} mJ exceeds E_b = "
                          f"{self.energy_bound:g} mJ by {over_e:.4f} mJ "
                          f"({over_e / self.energy_bound:.1%})")
        over_eps = b["eps"] - self.accuracy_bound
        if over_eps > 0:
            broken.append(f"eps {b['eps']:.4f} exceeds eps_b = {self.accuracy_bound:g} by "
                          f"{over_eps:.4f}")
        return ("INFEASIBLE: no strategy found meets the bounds; the best one's "
                + ("; ".join(broken) or "bounds are broken") + ". Raise the bound or search longer")

    def timing_line(self) -> str:
        """This run's wall time apart from the time earlier runs spent on the same result (a
        cached setup, resumed iterations): docs/decisions/data-integrity.md §9."""
        t = self.timing
        run = t.get("session_seconds", t.get("wall_seconds", 0.0))
        setup = t.get("setup_seconds", 0.0)
        cached = " (cached, measured by an earlier run)" if t.get("setup_cached") else ""
        return (f"this run {run:.0f} s; the search's cost in all: setup {setup:.0f} s{cached}, "
                f"search {t.get('search_seconds', 0.0):.0f} s, reference re-score "
                f"{t.get('reference_seconds', 0.0):.0f} s, report {t.get('report_seconds', 0.0):.0f} s "
                f"({t.get('seconds_per_1000_iterations', 0) / 3600:.2f} h per 1000 iterations)")


def load_result(path: str | os.PathLike) -> SearchResult:
    """Load a ``result.json`` (or the one inside a search's output folder)."""
    path = Path(path)
    if path.is_dir():
        path = path / RESULT_FILE
    if not path.exists():
        raise FileNotFoundError(f"no search result at {path}; run `python -m paperlib search` first")
    raw = io.read_json(path)
    check_result(raw, path)
    return SearchResult.from_dict(raw)


def _required(cls: type) -> list[str]:
    """The fields of dataclass ``cls`` without a default."""
    return [f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING]


def check_result(raw: Any, path: Path) -> None:
    """Refuse an edited or damaged ``result.json``, naming the file and the field: every field
    present, the strategy in range (p = the genome's p = edge blocks, one layer record per edge
    conv layer), every bit width in the search's grid, the numbers finite
    (docs/decisions/data-integrity.md §13)."""

    def refuse(field_name: str, why: str) -> None:
        raise ValueError(f"{path}: field {field_name!r} {why}; the file was edited or damaged: "
                         f"rerun the search (delete {path} to have it rewritten)")

    if not isinstance(raw, dict):
        refuse("(top level)", f"is a {type(raw).__name__}, not a JSON object")
    for name in _required(SearchResult):
        if name not in raw:
            refuse(name, "is missing")
    best = raw["best"]
    if not isinstance(best, dict):
        refuse("best", "is not a JSON object")
    for name in _required(BestStrategy):
        if name not in best:
            refuse(f"best.{name}", "is missing")
    settings = raw.get("settings") or {}
    w_grid = set(settings.get("weight_bits") or WEIGHT_BITS) | {FULL_PRECISION}
    a_grid = set(settings.get("activation_bits") or ACTIVATION_BITS) | {FULL_PRECISION}
    p, genome, layers = best["p"], best["genome"], best["layers"]
    if isinstance(p, bool) or not isinstance(p, int) or p < 0:
        refuse("best.p", f"is {p!r}, not a partition point (an integer >= 0)")
    if not isinstance(genome, dict) or genome.get("p") != p or not isinstance(genome.get("bits"), list):
        refuse("best.genome", f"is {genome!r}, not a strategy with p = {p} and a list of bits")
    if best["edge_blocks"] != p:
        refuse("best.edge_blocks", f"is {best['edge_blocks']!r}, not p = {p}")
    if not isinstance(layers, list) or len(layers) != best["edge_conv_layers"] \
            or len(layers) > len(genome["bits"]):
        refuse("best.layers", f"holds {len(layers) if isinstance(layers, list) else layers!r} "
               f"layer(s) for {best['edge_conv_layers']!r} edge conv layers and "
               f"{len(genome['bits'])} genome entries")
    for i, layer in enumerate(layers):
        if not isinstance(layer, dict) or layer.get("b_w") not in w_grid \
                or layer.get("b_a") not in a_grid:
            refuse(f"best.layers[{i}]", f"is {layer!r}: bit widths outside the grid "
                   f"(weights {sorted(w_grid)}, activations {sorted(a_grid)})")
    for i, pair in enumerate(genome["bits"]):
        if not (isinstance(pair, list) and len(pair) == 2 and pair[0] in w_grid
                and pair[1] in a_grid):
            refuse(f"best.genome.bits[{i}]", f"is {pair!r}, not a (weight, activation) pair of "
                   f"the grid (weights {sorted(w_grid)}, activations {sorted(a_grid)})")
    for name in ("energy_mj", "energy_no_tx_mj", "privacy", "fitness", "eps", "top1_fp"):
        value = best[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            refuse(f"best.{name}", f"is {value!r}, not a finite number")
    if best["energy_mj"] < 0 or best["energy_no_tx_mj"] < 0:
        refuse("best.energy_mj", "is negative")
    if not isinstance(best["feasible"], bool):
        refuse("best.feasible", f"is {best['feasible']!r}, not true or false")
    report = raw.get("report")
    if report is not None:
        if not isinstance(report, dict):
            refuse("report", "is not a JSON object")
        for name in REPORT_NUMBERS:
            value = report.get(name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value):
                refuse(f"report.{name}", f"is {value!r}, not a finite number")


# the numbers of SearchResult.report that check_result requires finite
REPORT_NUMBERS = ("eps", "ci_low", "ci_high", "mcnemar_p", "top1_fp", "top1", "images")


__all__ = ["SearchResult", "BestStrategy", "SearchTiming", "load_result", "check_result",
           "RESULT_FILE"]
