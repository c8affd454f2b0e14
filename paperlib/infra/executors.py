"""Executors: where independent jobs (scoring a batch of strategies, a baseline per seed) run.

One small interface (docs/decisions/scale.md §2): ``executor.map(fn, shared, items)`` returns
``[fn(shared, item) for item in items]`` in the order of ``items``, whatever order the jobs finish
in. ``shared`` is the large read-only object every job needs (an evaluator with its model and
images); an executor ships it to each worker once, not once per job. ``fn`` must be a module-level
function (it is sent to other processes by reference). Executors are registered in
:data:`EXECUTORS`; :func:`make_executor` builds one by name::

    with make_executor("process", workers=2) as ex:
        results = ex.map(score, evaluator, genomes)

* ``local`` (default): in this process, one job after the other.
* ``process``: a pool of ``workers`` local processes (``spawn``: safe with PyTorch's thread pools);
  each worker runs with ``threads_per_worker`` intra-op threads (default ``cpu_count // workers``,
  so that W workers share the cores; ``benchmarks/bench_parallel.py`` pins 1).
* ``ray``: Ray tasks on a local Ray or a cluster (``address``, ``gpus_per_worker``); the optional
  extra ``pip install .[cluster]``.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Protocol, Sequence, TypeVar

from .registry import Registry

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")

EXECUTORS: Registry = Registry("executor", defaults={"needs": None})


class Executor(Protocol):
    """``map(fn, shared, items)`` → ``[fn(shared, item) for item in items]``, in order."""

    workers: int

    def map(self, fn: Callable[[Any, Any], Any], shared: Any, items: Sequence[Any]) -> list[Any]: ...

    def close(self) -> None: ...


class _Closing:
    """Context-manager support shared by the executors."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        pass


class LocalExecutor(_Closing):
    """Jobs run in this process, one after the other (the default)."""

    def __init__(self, workers: int = 1) -> None:
        self.workers = 1

    def map(self, fn: Callable[[S, T], R], shared: S, items: Sequence[T]) -> list[R]:
        return [fn(shared, item) for item in items]


# --- the process pool: ``shared`` lives in each worker, installed by the pool's initializer -------

_WORKER_SHARED: Any = None


# loggers a pool's workers keep quiet: notices their parent process has already given
QUIET_IN_WORKERS = ("paperlib.method.data.partial",)


def _install(shared: Any, threads: int) -> None:
    global _WORKER_SHARED
    _WORKER_SHARED = shared
    for name in QUIET_IN_WORKERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        import torch
        torch.set_num_threads(threads)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass


def _call(fn: Callable[[Any, T], R], item: T) -> R:
    return fn(_WORKER_SHARED, item)


class ProcessExecutor(_Closing):
    """A pool of ``workers`` local processes; the pool is (re)started when ``shared`` changes. Each
    worker sets ``threads_per_worker`` intra-op threads (``None``: ``cpu_count // workers``, at
    least 1) before its first job (docs/decisions/scale.md §2)."""

    def __init__(self, workers: int = 2, threads_per_worker: int | None = None) -> None:
        self.workers = check_workers(workers)
        if threads_per_worker is not None and (
                isinstance(threads_per_worker, bool) or not isinstance(threads_per_worker, int)
                or threads_per_worker < 1):
            raise ValueError(f"threads_per_worker must be a positive integer or None (the default: "
                             f"cpu_count // workers), got {threads_per_worker!r}")
        self.threads = threads_per_worker or max(1, (os.cpu_count() or 1) // self.workers)
        self._pool: ProcessPoolExecutor | None = None
        self._shared_id: int | None = None

    def _pool_for(self, shared: Any) -> ProcessPoolExecutor:
        if self._pool is None or self._shared_id != id(shared):
            self.close()
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_install, initargs=(shared, self.threads))
            self._shared_id = id(shared)
        return self._pool

    def map(self, fn: Callable[[S, T], R], shared: S, items: Sequence[T]) -> list[R]:
        if not items:
            return []
        pool = self._pool_for(shared)
        return [f.result() for f in [pool.submit(_call, fn, item) for item in items]]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool, self._shared_id = None, None


def check_workers(workers: int) -> int:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer (--workers W), got {workers!r}")
    return workers


# --- Ray: the optional extra ``pip install .[cluster]`` -------------------------------------------

def _ray_call(fn: Callable[[Any, T], R], shared: Any, item: T) -> R:
    return fn(shared, item)


class RayExecutor(_Closing):
    """Jobs as Ray tasks (``pip install .[cluster]``): on the cluster at ``address`` (``"auto"``: the
    one this machine belongs to), else on a local Ray started with ``workers`` CPUs. At most
    ``workers`` tasks run at once; each asks for ``gpus_per_worker`` GPUs (fractions let several
    small-model finetunes share one GPU). ``shared`` is put in Ray's object store once."""

    def __init__(self, workers: int = 2, address: str | None = None,
                 gpus_per_worker: float | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise RuntimeError("--executor ray needs Ray: pip install '.[cluster]' (or "
                               "pip install 'ray[default]')") from None
        self.ray, self.workers = ray, check_workers(workers)
        self.gpus = float(gpus_per_worker or 0.0)
        if self.gpus < 0:
            raise ValueError(f"gpus_per_worker (--gpus-per-worker) must be >= 0, got {self.gpus}")
        self._started = not ray.is_initialized()
        if self._started:
            kwargs = ({"address": address} if address else
                      {"num_cpus": self.workers, "include_dashboard": False})
            ray.init(ignore_reinit_error=True, log_to_driver=False, **kwargs)
        self._task = ray.remote(num_cpus=1, num_gpus=self.gpus)(_ray_call)
        self._shared: Any = None
        self._ref: Any = None

    def map(self, fn: Callable[[S, T], R], shared: S, items: Sequence[T]) -> list[R]:
        if self._shared is not shared:
            self._shared, self._ref = shared, self.ray.put(shared)
        pending, results = list(enumerate(items)), {}
        running: dict[Any, int] = {}
        while pending or running:
            while pending and len(running) < self.workers:
                i, item = pending.pop(0)
                running[self._task.remote(fn, self._ref, item)] = i
            done, _ = self.ray.wait(list(running), num_returns=1)
            for ref in done:
                results[running.pop(ref)] = self.ray.get(ref)
        return [results[i] for i in range(len(items))]

    def close(self) -> None:
        self._shared = self._ref = None
        if self._started and self.ray.is_initialized():
            self.ray.shutdown()
            self._started = False


EXECUTORS.add("local", LocalExecutor, label="in-process")
EXECUTORS.add("process", ProcessExecutor, label="local process pool")
EXECUTORS.add("ray", RayExecutor, label="Ray (local or a cluster)", needs="ray")


def make_executor(name: str = "local", workers: int = 1, **options: Any) -> Executor:
    """The executor registered as ``name`` with ``workers`` workers (``options``: the executor's
    own keywords, e.g. Ray's ``address`` and ``gpus_per_worker``)."""
    if name not in EXECUTORS:
        raise ValueError(f"unknown executor {name!r} (--executor): choose one of "
                         f"{', '.join(EXECUTORS)}")
    return EXECUTORS.get(name)(workers=check_workers(workers), **options)


__all__ = ["EXECUTORS", "Executor", "LocalExecutor", "ProcessExecutor", "RayExecutor",
           "make_executor",
           "check_workers"]
