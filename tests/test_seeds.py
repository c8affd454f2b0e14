"""Every reported search over seeds (issue 22 item 4): duplicates refused, finished seeds not
redone after a kill, median and range."""

from __future__ import annotations

import pytest

from paperlib.search.result import SearchResult
from paperlib.search.seeds import check_seeds, run_seeds, seed_summary


def _result(seed: int, fitness: float, p: int) -> SearchResult:
    best = {"fitness": fitness, "privacy": fitness, "energy_mj": 0.3, "eps": 0.01,
            "eps_reference": 0.02, "p": p}
    return SearchResult(model="m", profile="smoke", dataset="cifar10", data="", seed=seed,
                        energy_bound=0.35, accuracy_bound=0.03, best=best)


def test_duplicate_and_too_few_seeds_are_refused():
    with pytest.raises(ValueError, match=r"repeats \[1\].*\[0, 1, 2\]"):
        check_seeds([0, 1, 1, 2])
    with pytest.raises(ValueError, match="at least 5"):
        check_seeds([0, 1], minimum=5)
    with pytest.raises(ValueError, match="non-negative integers"):
        check_seeds([0, -1])
    assert check_seeds(range(5), minimum=5) == [0, 1, 2, 3, 4]


def test_a_killed_multi_seed_run_resumes_without_redoing_finished_seeds():
    done: dict[int, SearchResult] = {}
    calls: list[int] = []

    def run_one(seed: int) -> SearchResult:  # stands for search.run: a finished folder reloads
        if seed in done:
            return done[seed]
        calls.append(seed)
        if seed == 3 and len(calls) == 4:
            raise KeyboardInterrupt("killed")
        done[seed] = _result(seed, 0.5 + seed / 10, 4)
        return done[seed]

    with pytest.raises(KeyboardInterrupt):
        run_seeds(run_one, range(5))
    results = run_seeds(run_one, range(5))
    assert calls == [0, 1, 2, 3, 3, 4]  # 0-2 reloaded, 3 redone once, 4 new
    assert [r.seed for r in results] == [0, 1, 2, 3, 4]


def test_seed_summary_median_range_and_agreement():
    results = [_result(s, f, p) for s, f, p in [(0, 0.5, 4), (1, 0.7, 6), (2, 0.6, 4),
                                                 (3, 0.9, 4), (4, 0.8, 6)]]
    s = seed_summary(results)
    assert s["fitness"] == {"median": 0.7, "min": 0.5, "max": 0.9}
    assert s["p_mode"] == 4 and s["p_agreement"] == "3/5"
    assert s["drawn_seed"] == 1  # the median-fitness seed
