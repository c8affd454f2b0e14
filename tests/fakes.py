"""Cheap, deterministic stand-ins for the search's measurements (P, E, ε), shared by the search and
baseline tests: they score genomes through the real :class:`paperlib.search.Evaluator`; and
:func:`benchmark_script`, the benchmarks' scripts as modules for their tests."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path
from types import ModuleType

from paperlib.search import AccuracyEstimate, Evaluator, Genome, GenomeSpace, Objective, key


def noise(k: str) -> float:
    """A deterministic number in [0, 1] from a strategy key."""
    return int(hashlib.sha256(k.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


class FakeEstimator:
    """ε grows as weights get fewer bits (plus a seed-dependent term); ``fail_at`` simulates a kill
    during that call."""

    name = "fake"

    def __init__(self, space: GenomeSpace, fail_at: int | None = None) -> None:
        self.space, self.calls, self.fail_at = space, 0, fail_at

    def prepare(self) -> None:
        pass

    def estimate(self, genome: Genome, seed: int) -> AccuracyEstimate:
        self.calls += 1
        if self.fail_at is not None and self.calls == self.fail_at:
            raise KeyboardInterrupt("simulated kill during an evaluation")
        eps = sum((8 - w) * 0.002 for w, _ in genome.edge_bits(self.space)) + 0.001 * (seed % 7)
        return AccuracyEstimate(eps, 0.9, 0.9 - eps)


def fake_energy(space: GenomeSpace):
    """(E with E_T, E without E_T): grows with the weight bits, E_T shrinks with p."""
    def energy(g: Genome) -> tuple[float, float]:
        e0 = 0.01 + sum(w * 0.004 for w, _ in g.edge_bits(space))
        return e0 + 0.2 / (1 + g.p), e0
    return energy


def fake_privacy(space: GenomeSpace):
    """P grows with p, plus a little deterministic noise per strategy."""
    return lambda g: 0.5 + 0.06 * g.p + 0.05 * noise(key(g, space))


def make_evaluator(space: GenomeSpace, log_path=None, fail_at: int | None = None, seed: int = 0,
                   include_transmission: bool = True) -> Evaluator:
    """An evaluator on the fake measurements, E_b = 0.35 mJ, ε_b = 0.03."""
    return Evaluator(space, fake_energy(space), fake_privacy(space), FakeEstimator(space, fail_at),
                     Objective(0.35, 0.03, include_transmission=include_transmission), seed=seed,
                     log_path=log_path)


class Killed(Exception):
    """Stands for a kill of the search process (raised from a search hook)."""


def kill_after(n: int):
    """A search hook that raises :class:`Killed` at the ``n``-th scored strategy."""
    count = {"n": 0}

    def hook(phase, i, ev):
        count["n"] += 1
        if count["n"] == n:
            raise Killed

    return hook


class ReversedExecutor:
    """An executor (``paperlib.infra.executors`` interface) that runs its jobs last first, in this
    process, and returns their results in item order, as a pool whose jobs finish out of order."""

    workers = 2

    def map(self, fn, shared, items):
        return [fn(shared, item) for item in reversed(items)][::-1]

    def close(self) -> None:
        pass


# Table 3 with every energy doubled, as a hardware description (tests/test_hardware.py and the
# extension test of tests/test_extending_more.py)
DOUBLE_TABLE3 = """
name = "double"
source = "Table 3 with every energy doubled (a test device)"
[mac.multiply]
pj = [[32, 6.2]]
scaling = "proportional"
[mac.add]
pj = [[32, 0.2]]
scaling = "constant"
[memory]
pj = [[1, 5.0]]
scaling = "proportional"
[transmission]
pj_per_bit = 300.0
"""


def valid_best(p: int = 7, layers: int = 22) -> dict:
    """A ``SearchResult.best`` that ``paperlib.search.load_result`` accepts: full precision at
    partition ``p`` of a model with ``layers`` quantizable layers (numbers plausible, not measured)."""
    return {"p": p, "key": f"p{p}:", "genome": {"p": p, "bits": [[32, 32]] * layers}, "layers": [],
            "ir_bits": 32, "edge_blocks": p, "edge_conv_layers": 0, "edge_conv_layers_with_stem": 1,
            "energy_mj": 0.3, "energy_no_tx_mj": 0.2, "transmission_mj": 0.1,
            "energy_bounded_mj": 0.2, "energy_includes_transmission": False, "privacy": 0.8,
            "fitness": 0.8, "feasible": True, "top1_fp": 0.5, "eps": 0.0,
            "top1_fp_estimator": 0.5, "top1_quant": 0.5, "eps_reference": 0.0,
            "top1_fp_reference": 0.5, "top1_quant_reference": 0.5, "fitness_reference": 0.8,
            "feasible_reference": True, "top1": 0.5}


def benchmark_script(name: str) -> ModuleType:
    """The module of ``benchmarks/<name>.py`` (not a package: loaded from its file)."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
