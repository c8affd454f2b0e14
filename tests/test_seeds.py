"""Every reported search over seeds (issue 22 item 4): duplicates refused, finished seeds not
redone after a kill, median and range."""

from __future__ import annotations

import json

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


def test_reproduce_search_stage_runs_every_seed_and_resumes(monkeypatch, capsys):
    """`make searches` runs prof.search_seeds for every searched model, one context per model;
    killed at seed 2, the rerun reloads seeds 0-1 (a finished folder: nothing scored) and runs
    2-4 (a fake search.run stands for the folders; the real one is the slow test below)."""
    from dataclasses import replace

    from paperlib import search
    from paperlib.app import reproduce
    from paperlib.method.profiles import get_profile

    prof = replace(get_profile("smoke"), search_models=("resnet18", "mobilenet"),
                   search_seeds=(0, 1, 2, 3, 4))
    folders: dict[tuple[str, int], SearchResult] = {}
    scored: list[tuple[str, int]] = []
    contexts: list[str] = []
    kill = {("resnet18", 2)}

    def run(model, profile, settings, *, context):
        assert context == f"ctx-{model}" and settings.energy_bound == 0.35
        if (model, settings.seed) in folders:  # a finished folder reloads
            return folders[(model, settings.seed)]
        scored.append((model, settings.seed))
        if (model, settings.seed) in kill:
            kill.clear()
            raise KeyboardInterrupt("killed")
        folders[(model, settings.seed)] = _result(settings.seed, 0.5 + settings.seed / 10,
                                                  4 + settings.seed % 2)
        return folders[(model, settings.seed)]

    monkeypatch.setattr(search, "run", run)
    monkeypatch.setattr(search, "build_context",
                        lambda model, profile: contexts.append(model) or f"ctx-{model}")
    with pytest.raises(KeyboardInterrupt):
        reproduce.run_searches(prof)
    out = reproduce.run_searches(prof)
    assert scored == [("resnet18", s) for s in (0, 1, 2)] + [("resnet18", s) for s in (2, 3, 4)] + \
        [("mobilenet", s) for s in range(5)]
    assert contexts == ["resnet18", "resnet18", "mobilenet"]  # one per model and invocation
    assert [r.seed for r in out["resnet18"]] == [0, 1, 2, 3, 4]
    log = capsys.readouterr().out
    assert "[searches] resnet18: 5 seeds, best fitness median 0.7000 (0.5000–0.9000); " \
           "p = 4 chosen by 3/5 seeds" in log
    assert "not a reported result" not in log


@pytest.mark.slow
def test_search_stage_resumes_a_killed_smoke_run_without_redoing_seeds(real_data_dir, results_root,
                                                                      monkeypatch):
    """The real search stage on the smoke checkpoint, two seeds of a tiny search: killed during
    seed 1, the rerun scores nothing for seed 0 (its log and result are as they were) and resumes
    seed 1 from its state.json."""
    from dataclasses import replace

    from paperlib import search
    from paperlib.app import reproduce
    from paperlib.method.profiles import get_profile

    smoke = get_profile("smoke")
    prof = replace(smoke, search_models=("resnet18",), search_seeds=(0, 1),
                   search=replace(smoke.search, iterations=3, population=4, sample=2,
                                  validation_images=16, privacy_images=8))
    real_run = search.run
    scored: dict[int, int] = {0: 0, 1: 0}
    state = {"kill": True}

    def run(model, profile, settings, **kw):
        def hook(phase, index, ev):
            scored[settings.seed] += 1
            if settings.seed == 1 and phase == "iteration" and index == 2 and state["kill"]:
                state["kill"] = False
                raise KeyboardInterrupt("killed")
        return real_run(model, profile, settings, hook=hook, progress=False, **kw)

    monkeypatch.setattr(search, "run", run)
    with pytest.raises(KeyboardInterrupt):
        reproduce.run_searches(prof)
    folder = {s: search.default_out_dir("resnet18", "smoke", 0.35, s) for s in (0, 1)}
    log0 = (folder[0] / "evaluations.jsonl").read_text()
    result0 = (folder[0] / "result.json").read_text()
    assert not (folder[1] / "result.json").exists()
    assert json.loads((folder[1] / "state.json").read_text())["iteration"] == 2
    first = dict(scored)
    out = reproduce.run_searches(prof)
    assert scored[0] == first[0]  # seed 0 reloaded: nothing scored again
    assert (folder[0] / "evaluations.jsonl").read_text() == log0
    assert json.loads((folder[0] / "result.json").read_text())["best"] == json.loads(result0)["best"]
    assert scored[1] - first[1] == 1  # seed 1 resumed at iteration 3 of 3
    assert [r.seed for r in out["resnet18"]] == [0, 1]
    assert len(out["resnet18"][1].history) == 4  # iterations 0-3, one history
