"""The Ray executor (docs/decisions/scale.md §2) returns exactly the in-process result for the same
(seed, K). One local Ray (2 CPUs, no dashboard) for the whole module; skipped without Ray."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="Ray is the optional extra: pip install '.[cluster]'")

from paperlib.infra.executors import RayExecutor, make_executor  # noqa: E402

from test_parallel import run  # noqa: E402,I001  (the picklable fakes and the run helper)
from test_parallel import space  # noqa: E402,F401  (fixture)


@pytest.fixture(scope="module")
def local_ray():
    tests = str(Path(__file__).resolve().parent)  # the workers import the fakes from here
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True,
                 runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join(
                     [tests, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}})
    except Exception as err:  # Ray's own 30 s start-up wait, exceeded on an overloaded machine
        if "timed out during startup" not in str(err):
            raise
        ray.shutdown()
        pytest.skip(f"a local Ray did not start within Ray's start-up wait (machine overloaded?): {err}")
    yield
    ray.shutdown()


def test_ray_equals_in_process(space, tmp_path, local_ray):  # noqa: F811
    ref, ref_keys = run(space, tmp_path / "local", batch=2, seed=3, iterations=12)
    with make_executor("ray", workers=2) as ex:
        assert isinstance(ex, RayExecutor)
        assert ex.map(pow, 2, [3, 1, 2]) == [8, 2, 4]
        out, keys = run(space, tmp_path / "ray", batch=2, seed=3, iterations=12, executor=ex)
    assert out.history == ref.history and out.population == ref.population and keys == ref_keys
    assert ray.is_initialized()  # the executor leaves a Ray it did not start running
