"""paperlib.method.graph: partition points of any model from its torch.fx graph
(docs/decisions/graph-and-hardware.md §1-§3).

The built-in models' units, layers and counts equal the committed hand-written ones
(tests/data/builtin_partition_units.json, written from the stem/blocks/head partition before the
graph became the one mechanism); models paperlib has never seen (tests/models_zoo.py) are
partitioned at every point bit for bit, costed with MACs equal to torch's FLOP counter / 2 and
searched from the command line.
"""

from __future__ import annotations

import json
import operator
import sys
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from paperlib.method import energy, graph, models, policy, quant

sys.path.insert(0, str(Path(__file__).parent))
import models_zoo as zoo  # noqa: E402

COMMITTED = json.loads((Path(__file__).parent / "data" / "builtin_partition_units.json").read_text())

# Hand-derived from the zoo's forward functions: the module ending each unit (stem first), the
# head, and the conv/linear layers per unit.
UNSEEN = {
    # a dense block keeps every feature map: no cut inside it; the transition ends the unit
    "densenet": (("conv0", "trans1", "norm"), "classifier",
                 [["conv0"], ["dense1.layer0.conv", "dense1.layer1.conv", "trans1.2"],
                  ["dense2.layer0.conv", "dense2.layer1.conv"]]),
    # four parallel branches joined by a concatenation: the block is one unit
    "inception": (("stem", "inc1", "down", "inc2"), "head",
                  [["stem.0"],
                   ["inc1.b1.0", "inc1.b3.0.0", "inc1.b3.1.0", "inc1.b5.0.0", "inc1.b5.1.0",
                    "inc1.pool.1.0"],
                   [],
                   ["inc2.b1.0", "inc2.b3.0.0", "inc2.b3.1.0", "inc2.b5.0.0", "inc2.b5.1.0",
                    "inc2.pool.1.0"]]),
    # the skip from b1 over b2 and b3: b2 and b3 end no unit
    "long_skip": (("stem", "b1", "b4", "b5"), "head",
                  [["stem.0"], ["b1.0"], ["b2.0", "b3.0", "b4.0"], ["b5.0"]]),
}


@pytest.fixture(scope="module", params=list(COMMITTED))
def builtin(request):
    torch.manual_seed(0)
    return models.build(request.param).eval()


@pytest.fixture(scope="module", params=list(UNSEEN))
def unseen(request):
    torch.manual_seed(0)
    return request.param, zoo.UNSEEN[request.param](10).eval()


# --- the built-in models: one mechanism, today's units -------------------------------------------

def test_builtin_units_equal_the_committed_table(builtin):
    want = COMMITTED[builtin.arch_name]
    part = graph.analyse(builtin)
    assert list(part.unit_modules) == want["unit_modules"]
    assert part.unit_layers() == want["unit_layers"]
    assert part.head_layers() == want["head_layers"]
    assert models.num_units(builtin) == want["num_units"]
    assert [models.edge_layer_count(builtin, p) for p in range(want["num_units"] + 1)] == \
        want["edge_layer_counts"]
    # the units are the hand-written modules themselves (hooks on them see the IR)
    assert all(a is b for a, b in zip(models.units(builtin), [builtin.stem, *builtin.blocks]))
    assert [n for n, _ in models.quantizable_layers(builtin)] == \
        [n for u in want["unit_layers"] for n in u] + want["head_layers"]


def test_builtin_segments_compose_bit_for_bit(builtin):
    x = torch.randn(1, 3, 32, 32)
    h = x
    for piece in graph.segments(builtin):
        h = piece(h)
    assert torch.equal(h, builtin(x))


def test_no_valid_cut_inside_a_residual_block():
    net = models.build("resnet18")
    part = graph.analyse(net)
    nodes = list(part.graph.nodes)
    for b in range(8):
        inside = [i for i, n in enumerate(nodes)
                  if f"blocks.{b}" in (n.meta.get("nn_module_stack") or {})]
        add = next(i for i in inside if nodes[i].target is operator.add)
        # from the block's first conv to the addition the shortcut's input is live too
        assert not set(range(inside[0], add)) & set(part.cuts), f"blocks.{b}"
        assert {add, inside[-1]} <= set(part.cuts)  # after the addition and at the block's end


def test_chain_has_a_valid_cut_after_every_operation():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3), nn.Flatten(),
                        nn.Linear(4 * 28 * 28, 2))
    g, _ = graph._trace(net)
    # 0: the input itself (nothing on the edge), then after conv, relu, conv and flatten; the place
    # before the output is no cut (nothing would be left for the cloud)
    assert graph.valid_cuts(g) == [0, 1, 2, 3, 4]


# --- models paperlib has never seen --------------------------------------------------------------

def test_unseen_units_follow_the_graph(unseen):
    name, net = unseen
    unit_modules, head, layers = UNSEEN[name]
    part = graph.analyse(net)
    assert part.unit_modules == unit_modules and part.head == head
    assert part.unit_layers() == layers
    assert models.num_units(net) == len(unit_modules) - 1


def test_unseen_split_at_every_point_is_exact(unseen):
    _, net = unseen
    x = torch.randn(3, 3, 32, 32)
    full = net(x)
    outs = models.unit_outputs(net, x)
    for p in range(models.num_units(net) + 1):
        edge, cloud = models.split(net, p)
        ir = edge(x)
        assert torch.equal(ir, outs[p])
        assert torch.equal(cloud(ir), full), f"p={p}"
    with pytest.raises(ValueError, match=r"0\.\.\d"):
        models.split(net, models.num_units(net) + 1)


def test_long_skip_leaves_fewer_points():
    part = graph.analyse(zoo.build_long_skip())
    assert set(part.block_modules) == {"stem", "b1", "b2", "b3", "b4", "b5"}
    assert part.num_units == 3  # b1, b4, b5 after the stem: b2 and b3 end inside the skip
    assert "b2" not in part.unit_modules and "b3" not in part.unit_modules


def test_unseen_macs_equal_the_flop_counter(unseen):
    _, net = unseen
    with torch.device("meta"):
        meta_net = type(net)(10).eval()
    tr = energy.trace(meta_net)
    with FlopCounterMode(display=False) as counter:
        net(torch.zeros(1, 3, 32, 32))
    assert 2 * sum(c.n_mac for c in tr.costs) == counter.get_total_flops()
    for (name, layer), cost in zip(models.quantizable_layers(net), tr.costs):
        with FlopCounterMode(display=False) as one:
            layer(torch.zeros(cost.in_shape))
        assert one.get_total_flops() == 2 * cost.n_mac, name
    assert len(tr.unit_out_elements) == models.num_units(net) + 1


def test_unseen_quantized_edge_sends_the_quantized_ir(unseen):
    _, net = unseen
    p = models.num_units(net) - 1
    qnet = quant.quantize_edge(net, p, 4)
    x = torch.randn(2, 3, 32, 32)
    edge, cloud = models.split(qnet, p)
    ir = edge(x)
    assert torch.equal(ir, models.unit_outputs(qnet, x)[p])
    assert torch.equal(cloud(ir), qnet(x))
    if policy.ir_bits(net, p, 4) == 4:  # the hook on the unit's module fired inside the split
        for sample in ir:
            assert sample.unique().numel() <= 2 ** 4
    assert energy.edge_energy(qnet, p, 4) == pytest.approx(energy.edge_energy(net, p, 4))


# --- errors -------------------------------------------------------------------------------------

def test_untraceable_model_names_the_op_and_the_fix():
    with pytest.raises(graph.UntraceableModelError) as err:
        graph.analyse(zoo.build_gated())
    msg = str(err.value)
    assert "'gate' (GatedBlock)" in msg
    assert "if x.mean() > 0:" in msg and "models_zoo.py" in msg
    assert "paperlib.method.graph.leaf(GatedBlock)" in msg


def test_a_marked_leaf_makes_it_partition():
    class LeafGated(zoo.GatedNet):
        def __init__(self, num_classes: int = 10) -> None:
            super().__init__(num_classes)
            self.gate = graph.leaf(type("OpaqueGate", (zoo.GatedBlock,), {}))(8)

    net = LeafGated().eval()
    part = graph.analyse(net)
    assert part.unit_modules == ("stem", "gate", "b1")
    assert part.unit_layers() == [["stem.0"], ["gate.conv"], ["b1.0"]]  # inside the leaf too
    x = torch.randn(2, 3, 32, 32)
    for p in range(3):
        edge, cloud = models.split(net, p)
        assert torch.equal(cloud(edge(x)), net(x))


def test_model_without_partition_point():
    class Parallel(nn.Module):  # two branches on the input: two tensors live after each
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv2d(3, 4, 3)
            self.b = nn.Conv2d(3, 4, 3)
            self.head = nn.Conv2d(8, 2, 1)

        def forward(self, x):
            return self.head(torch.cat([self.a(x), self.b(x)], 1))

    with pytest.raises(graph.PartitionError, match="no partition point"):
        graph.analyse(Parallel())


# --- the command line on a user's own model ------------------------------------------------------

@pytest.fixture()
def cli_env(synthetic_search_dir, monkeypatch):
    monkeypatch.setenv("PAPERLIB_DATA_DIR", str(synthetic_search_dir))
    monkeypatch.setenv("PAPERLIB_ALLOW_PARTIAL_DATA", "1")
    monkeypatch.setenv("PAPERLIB_HARDWARE", "")  # restored after --hardware sets it
    yield
    for name in list(models.MODELS):
        if name.startswith("models_zoo."):
            models.MODELS.unregister(name)


TINY_SEARCH = ["--iterations", "2", "--population", "3", "--sample", "2", "--validation-images",
               "8", "--privacy-images", "4", "--finetune-batches", "1", "--no-progress"]


@pytest.mark.slow
@pytest.mark.parametrize("fn", ["build_densenet", "build_inception", "build_long_skip"])
def test_cli_trains_and_searches_a_model_from_a_file(fn, cli_env, capsys, tmp_path):
    from paperlib.app import cli
    from paperlib.infra import config
    from paperlib import search

    spec = f"{Path(zoo.__file__)}:{fn}"
    # its own folder: a search saved by an earlier test run with other code is refused, not reused
    out_dir = tmp_path / fn
    assert cli.main(["search", "--model", spec, "--dataset", "cifar10", "--profile", "smoke",
                     "--out", str(out_dir), *TINY_SEARCH]) == 0
    out = capsys.readouterr().out
    assert f"models_zoo.{fn}" in out and "result.json" in out
    result = search.load_result(out_dir)
    net = models.build(f"models_zoo.{fn}", "cifar10")
    assert 0 <= result.best["p"] <= models.num_units(net)
    assert (config.checkpoint_dir() / "smoke").exists()  # trained in the smoke profile


@pytest.mark.slow
def test_cli_searches_given_weights_on_other_hardware(cli_env, tmp_path, capsys):
    from paperlib.app import cli
    from paperlib.method import hardware
    from paperlib import search

    torch.manual_seed(0)
    weights = tmp_path / "weights.pt"
    torch.save(zoo.build_long_skip(10).state_dict(), weights)
    spec = f"{Path(zoo.__file__)}:build_long_skip"
    assert cli.main(["search", "--model", spec, "--dataset", "cifar10", "--profile", "smoke",
                     "--checkpoint", str(weights), "--hardware", "horowitz2014", *TINY_SEARCH]) == 0
    tag = hardware.load("horowitz2014").tag
    out_dir = search.default_out_dir("models_zoo.build_long_skip", "smoke", 0.35, 0, tag)
    result = search.load_result(out_dir)
    assert result.settings["hardware"] == "horowitz2014"
    with torch.device("meta"):
        net = models.build("models_zoo.build_long_skip", "cifar10")
    genome = result.best["genome"]
    policy = [tuple(b) for b in genome["bits"]]
    assert result.best["energy_mj"] == pytest.approx(
        energy.edge_energy(net, genome["p"], policy, hardware="horowitz2014"))


def test_cli_refuses_a_bad_model_file(cli_env, capsys):
    from paperlib.app import cli

    assert cli.main(["search", "--model", "no/such/file.py:build", "--profile", "smoke"]) == 2
    assert "does not exist" in capsys.readouterr().err
    spec = f"{Path(zoo.__file__)}:build_gated"
    assert cli.main(["search", "--model", spec, "--profile", "smoke"]) == 2
    assert "paperlib.method.graph.leaf(GatedBlock)" in capsys.readouterr().err
