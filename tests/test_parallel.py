"""Parallel Algorithm 1 (docs/decisions/scale.md §1) and the executors (paperlib.infra.executors, §2).

The measurements are the shared fakes (tests/fakes.py) wrapped in module-level classes so that a
process pool can ship them to its workers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from paperlib.infra import io
from paperlib.method import models
from paperlib.infra.executors import EXECUTORS, LocalExecutor, ProcessExecutor, make_executor
from paperlib.search import EvolutionSettings, Evaluator, GenomeSpace, Objective, evolve

import fakes  # noqa: I001  (tests/fakes.py)

GOLDEN = Path(__file__).parent / "data" / "parallel_k1_serial_golden.json"


class Energy:
    def __init__(self, space):
        self.space = space

    def __call__(self, g):
        return fakes.fake_energy(self.space)(g)


class Privacy:
    def __init__(self, space):
        self.space = space

    def __call__(self, g):
        return fakes.fake_privacy(self.space)(g)


def evaluator(space, log=None, fail_at=None) -> Evaluator:
    """tests/fakes.make_evaluator, picklable."""
    return Evaluator(space, Energy(space), Privacy(space), fakes.FakeEstimator(space, fail_at),
                     Objective(0.35, 0.03, include_transmission=True), log_path=log)


class ShuffledExecutor(LocalExecutor):
    """Runs the jobs in a random order (a stand-in for workers finishing in any order)."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.rng = np.random.default_rng(seed)

    def map(self, fn, shared, items):
        order = self.rng.permutation(len(items))
        done = {int(i): fn(shared, items[int(i)]) for i in order}
        return [done[i] for i in range(len(items))]


@pytest.fixture(scope="module")
def space() -> GenomeSpace:
    return GenomeSpace.from_net(models.build("resnet18", "cifar10"))


def run(space, tmp: Path, batch: int, seed: int = 3, executor=None, iterations: int = 30,
        hook=None, fail_at=None, ev=None):
    s = EvolutionSettings(population=8, sample=4, iterations=iterations, seed=seed, batch=batch)
    ev = ev or evaluator(space, tmp / "log.jsonl", fail_at)
    out = evolve(ev, s, tmp / "state.json", progress=False, executor=executor, hook=hook)
    return out, [r["key"] for r in io.read_jsonl(tmp / "log.jsonl")]


@pytest.mark.parametrize("seed", ["0", "5"])
def test_batch1_is_the_recorded_serial_search(space, tmp_path, seed):
    """K = 1 reproduces a run recorded with the serial Algorithm 1 before K existed."""
    want = json.loads(GOLDEN.read_text())[seed]
    out, keys = run(space, tmp_path, batch=1, seed=int(seed))
    assert out.history == want["history"]
    assert [g.to_dict() for g in out.population] == want["population"]
    assert keys == want["log_keys"] and out.best.key == want["best"]


def test_result_does_not_depend_on_workers_or_finishing_order(space, tmp_path):
    ref, ref_keys = run(space, tmp_path / "a", batch=4)
    for i, ex in enumerate([ShuffledExecutor(1), ShuffledExecutor(2)]):
        out, keys = run(space, tmp_path / f"s{i}", batch=4, executor=ex)
        assert out.history == ref.history and out.population == ref.population
        assert keys == ref_keys  # the driver logs in draw order


def _says_partial_notice(_shared, _item) -> bool:
    import logging
    return logging.getLogger("paperlib.method.data.partial").isEnabledFor(logging.WARNING)


@pytest.mark.slow  # starts two spawned workers (each imports torch)
def test_process_pool_gives_the_in_process_result(space, tmp_path):
    ref, ref_keys = run(space, tmp_path / "a", batch=4, iterations=12)
    with make_executor("process", workers=2) as ex:
        assert ex.map(pow, 3, list(range(5))) == [1, 3, 9, 27, 81]
        # the workers keep the partial-copy notice to themselves; their parent gives it
        assert ex.map(_says_partial_notice, 3, [0, 1]) == [False, False]
        assert _says_partial_notice(None, None)
        out, keys = run(space, tmp_path / "p", batch=4, iterations=12, executor=ex)
    assert out.history == ref.history and out.population == ref.population and keys == ref_keys


def test_batch_k_keeps_the_population_size_and_budget(space, tmp_path):
    out, _ = run(space, tmp_path, batch=3, iterations=31)  # 10 rounds of 3 and one of 1
    assert len(out.history) == 32 and len(out.population) == 8
    best = [h["best_fitness"] for h in out.history]
    assert best == sorted(best)
    other, _ = run(space, tmp_path / "k1", batch=1, iterations=31)
    assert out.history != other.history  # K changes the draws, as documented


@pytest.mark.parametrize("kill_at", [2, 9, 14])
def test_resume_of_a_killed_batch4_search(space, tmp_path, kill_at):
    ref, _ = run(space, tmp_path / "ref", batch=4)
    with pytest.raises(fakes.Killed):
        run(space, tmp_path / "run", batch=4, hook=fakes.kill_after(kill_at))
    ev = evaluator(space, tmp_path / "run" / "log.jsonl")
    ev.load_log()
    out, keys = run(space, tmp_path / "run", batch=4, ev=ev)
    assert out.history == ref.history and out.population == ref.population
    assert len(keys) == len(set(keys)) == out.evaluations  # nothing measured twice


def test_resume_after_a_kill_inside_a_batch(space, tmp_path):
    """Killed while the round's children are scored: they are drawn and scored again."""
    ref, _ = run(space, tmp_path / "ref", batch=4)
    with pytest.raises(KeyboardInterrupt):
        run(space, tmp_path / "run", batch=4, fail_at=17)
    ev = evaluator(space, tmp_path / "run" / "log.jsonl")
    ev.load_log()
    out, keys = run(space, tmp_path / "run", batch=4, ev=ev)
    assert out.history == ref.history and len(keys) == len(set(keys))


def test_a_state_of_another_batch_is_refused(space, tmp_path):
    run(space, tmp_path, batch=2, iterations=6)
    with pytest.raises(RuntimeError, match="batch"):
        run(space, tmp_path, batch=3, iterations=6)


def test_executors_registry_and_bad_input():
    assert {"local", "process"} <= set(EXECUTORS)
    assert make_executor("local").map(pow, 2, [1, 2, 3]) == [2, 4, 8]
    with pytest.raises(ValueError, match="--executor"):
        make_executor("nope")
    with pytest.raises(ValueError, match="--workers"):
        make_executor("process", workers=0)
    with pytest.raises(ValueError, match="--batch"):
        EvolutionSettings(batch=0)
    assert ProcessExecutor(workers=2).map(pow, 3, []) == []  # no pool for no work


def test_process_workers_thread_count(monkeypatch):
    # default: the cores shared among the workers; threads_per_worker pins it (the benchmark's 1)
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert ProcessExecutor(workers=2).threads == 4
    assert ProcessExecutor(workers=16).threads == 1
    assert ProcessExecutor(workers=2, threads_per_worker=1).threads == 1
    assert make_executor("process", workers=1, threads_per_worker=1).threads == 1
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="threads_per_worker"):
            ProcessExecutor(workers=2, threads_per_worker=bad)
