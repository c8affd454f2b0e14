"""Extending paperlib from outside it: a model and a search method registered here, in the test
module, go through the public API and the CLI with nothing in paperlib edited for them.

* a toy CNN (``MODELS``): trained in the smoke profile (API and ``python -m paperlib train``), its
  energy table and privacy computed, and searched (``python -m paperlib search``);
* a toy search method (``SEARCH_METHODS``): run by ``baselines.compare_methods`` beside Algorithm 1 at the
  same budget.

Both run on a tiny synthetic CIFAR-10 (seconds).
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from paperlib.studies import analysis
from paperlib.search import baselines
from paperlib.app import cli
from paperlib.method import data, energy, models, privacy, profiles
from paperlib.infra import io
from paperlib import search
from paperlib.studies import tables
from paperlib.method import train
from paperlib.method.constants import FULL_PRECISION
from paperlib.method.models import MODELS
from paperlib.infra.registry import Registry
from paperlib.search.methods import SEARCH_METHODS, SearchTrace, record

pytestmark = pytest.mark.usefixtures("one_thread")


def _conv(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


class ToyNet(nn.Module):
    """stem + three conv blocks + classifier: the structure every paperlib model has."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.stem = _conv(3, 8)
        self.blocks = nn.Sequential(_conv(8, 16, 2), _conv(16, 16), _conv(16, 32, 2))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))


@pytest.fixture()
def toy(synthetic_search_dir, results_root, monkeypatch):
    """The toy model registered (family "toy": no profile knows it) on the synthetic CIFAR-10."""
    monkeypatch.setenv("PAPERLIB_DATA_DIR", str(synthetic_search_dir))
    monkeypatch.setenv("PAPERLIB_ALLOW_PARTIAL_DATA", "1")
    MODELS.add("toy", ToyNet, label="ToyNet", dataset="cifar10", unit_name="conv block",
               family="toy", color="C9", marker="x")
    try:
        yield "toy"
    finally:
        MODELS.unregister("toy")


def deepest_first(evaluator, budget: int, seed: int = 0, *, progress: bool = False) -> SearchTrace:
    """A toy search method: every searched layer at 8 bits, deepest partition point first."""
    trace = SearchTrace("deepest-first", seed, budget)
    space = evaluator.space
    for p in range(space.num_units, -1, -1):
        if trace.evaluations >= budget:
            break
        trace.records.append(record(evaluator.evaluate(search.Genome.uniform(space, p, 8))))
        trace.draws += 1
    return trace


@pytest.fixture()
def toy_method():
    SEARCH_METHODS.add("deepest-first", deepest_first, label="deepest p first (toy)", color="C7",
                       marker="x")
    try:
        yield "deepest-first"
    finally:
        SEARCH_METHODS.unregister("deepest-first")


# --- the registry itself --------------------------------------------------------------------------

def test_registry_entries_metadata_and_errors():
    reg = Registry("widget", required=("size",), defaults={"color": None})
    reg.add("a", object(), label="A", size=1)
    assert "a" in reg and list(reg) == ["a"] and reg.label("a") == "A" and reg.label("b") == "b"
    assert reg.entry("a").size == 1 and reg.entry("a").color is None
    assert reg.names(size=1) == ("a",) and reg.names(size=2) == ()
    with pytest.raises(ValueError, match="already registered"):
        reg.add("a", object(), size=1)
    with pytest.raises(ValueError, match="needs metadata size"):
        reg.add("b", object())
    with pytest.raises(ValueError, match="unknown widget 'c'; choose one of a"):
        reg.get("c")
    reg.unregister("a")
    assert len(reg) == 0


def test_built_in_models_are_registered_with_their_metadata():
    assert {"vgg11", "resnet18", "resnet50", "mobilenet"} <= set(MODELS)
    r50 = models.architecture("resnet50")
    assert (r50.dataset, r50.unit_name, r50.family, r50.label) == ("cifar100", "Bottleneck",
                                                                    "resnet", "ResNet50")
    assert MODELS.labels()["mobilenet"] == "MobileNet"
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        models.build("nope")


def test_recipes_come_from_the_family_the_model_or_the_default(toy):
    quick = profiles.get_profile("quick")
    assert quick.recipe("resnet18") == quick.train_by_family["resnet"]
    assert quick.recipe("resnet50") == quick.train["resnet50"]  # a per-model override
    assert quick.recipe(toy) == quick.train_default  # no family recipe: the profile's default
    bare = dataclasses.replace(quick, train={}, train_by_family={}, train_default=None)
    with pytest.raises(ValueError, match="no training recipe for 'toy'"):
        bare.recipe(toy)


def test_estimators_are_a_registry():
    from paperlib.search.estimators import ESTIMATORS, check_name

    assert list(ESTIMATORS)[:3] == ["finetune", "finetune-batches", "sensitivity"]
    assert ESTIMATORS.entry("sensitivity").seed_free and not ESTIMATORS.entry("finetune").seed_free
    with pytest.raises(ValueError, match="unknown accuracy estimator"):
        check_name("oracle")


# --- a model registered from here -----------------------------------------------------------------

def test_a_registered_model_trains_and_is_measured_and_searched(toy, tmp_path, capsys):
    # train (smoke profile, no recipe of its own), through the API and the CLI
    net, meta = train.load_or_train(toy, "smoke", progress=False)
    assert meta["arch"] == toy and meta["dataset"] == "cifar10" and net.arch_name == toy
    assert cli.main(["train", "--model", toy, "--profile", "smoke"]) == 0
    assert f"{toy}: top-1" in capsys.readouterr().out

    # energy: the per-layer table sums to the edge energy; the fixed strategies of Tables 4-5
    table = energy.layer_table(net, 2, 8)
    assert list(table["name"]) == [n for n, _ in models.quantizable_layers(net)][:3]
    assert table["E_L_mJ"].sum() + table.attrs["E_T_mJ"] == pytest.approx(
        energy.edge_energy(net, 2, 8))
    refs = tables.analytic_references(net, energy_bound=1.0)
    assert list(refs["p"]) == [3, 3, 3]  # everything fits 1 mJ

    # privacy of the IR at every partition point
    x01 = data.to_unit(data.load("cifar10", "test").images[:4])
    blocks = analysis.blockwise_privacy(net, x01, "cifar10")
    assert sorted(set(blocks["point"])) == [0, 1, 2, 3]
    ir = models.unit_outputs(net, data.normalize(x01, "cifar10"))[1]
    assert privacy.privacy(x01, ir) == pytest.approx(
        blocks[blocks["point"] == 1]["privacy"].mean(), rel=1e-5)

    # search, through the CLI
    out = tmp_path / "search"
    assert cli.main(["search", "--model", toy, "--profile", "smoke", "--iterations", "4",
                     "--population", "4", "--sample", "2", "--no-progress", "--out", str(out)]) == 0
    res = search.load_result(out)
    assert res.model == toy and res.evaluations >= 1 and 0 <= res.best["p"] <= 3
    assert io.read_json(out / "result.json")["best"]["key"] == res.best["key"]
    assert res.best["ir_bits"] in (8, FULL_PRECISION)


def test_the_cli_takes_a_registered_model(toy):
    parser = cli.build_parser()
    args = parser.parse_args(["train", "--model", toy])
    assert args.model == [toy]
    args = parser.parse_args(["search", "--model", toy])
    assert args.model == toy


# --- a search method registered from here ---------------------------------------------------------

def test_compare_runs_a_registered_search_method(toy, toy_method):
    ctx = search.build_context(toy, "smoke", progress=False, validation_images=16,
                               privacy_images=4, population=4, sample=2, iterations=4)
    cmp = baselines.compare_methods(toy, "smoke", seeds=[0], context=ctx, progress=False,
                            methods=("ga", toy_method))
    final = cmp.final().set_index("method")
    assert set(final.index) == {"ga", toy_method}
    budget = cmp.budgets[0]
    assert final.loc[toy_method, "evaluations"] == min(budget, ctx.space.num_units + 1)
    assert toy_method in set(cmp.curves()["method"])
    assert SEARCH_METHODS.label(toy_method) == "deepest p first (toy)"
    saved = baselines.baseline_dir(toy, "smoke", 0.35, 0) / f"{toy_method}.json"
    assert io.read_json(saved)["fingerprint"]["budget"] == budget
    # every registered single-objective method is the default (NSGA-II's front is compared by
    # hypervolume instead, docs/decisions/scale.md §3)
    assert baselines.compare_methods(toy, "smoke", seeds=[0], context=ctx, progress=False).final()[
        "method"].tolist() == list(SEARCH_METHODS.names(scalar=True))
