"""paperlib.method.strategies (one function per rule) and the one-schema ``reference.json`` cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from paperlib.method import energy, models, policy, quant, strategies
from paperlib.infra import io
from paperlib.method.constants import FULL_PRECISION, POLICY_BITS
from paperlib.method.profiles import SearchSettings, get_profile
from paperlib.search import AccuracyEstimate, EvolutionSettings, Genome, GenomeSpace
from paperlib.search.rescore import reference_estimate
from paperlib.method.paper_strategies import PaperStrategy


@pytest.fixture(scope="module")
def net():
    with torch.device("meta"):
        return models.build("resnet18", "cifar10")


def test_one_bit_validator_two_bit_sets():
    assert strategies.check_bits(3) == 3 and quant.check_bits(16) == 16  # the quantizer: 2..16, 32
    assert strategies.check_bits(6, POLICY_BITS) == 6
    with pytest.raises(ValueError, match="policy: bit width 3 is not allowed; use one of"):
        strategies.check_bits(3, POLICY_BITS, "policy")
    for bad in (1, 17, True, 8.0, "8"):
        with pytest.raises(ValueError, match="bit width"):
            quant.check_bits(bad)


def test_ir_bits_is_one_rule_everywhere(net):
    space = GenomeSpace.from_net(net)
    rng = np.random.default_rng(0)
    em = energy.EnergyModel.for_net(net)
    for _ in range(20):
        from paperlib.search import random_genome

        g = random_genome(space, rng)
        bits = np.asarray(g.bits, dtype=float)
        expected = strategies.ir_bits(g.edge_bits(space))
        assert policy.ir_bits(net, g.p, g.policy) == expected
        assert em.ir_bits(g.p, bits[:, 0], bits[:, 1]) == expected
    assert strategies.ir_bits([]) == FULL_PRECISION
    assert strategies.ir_bits([(4, 8), (32, 32), (2, 6), (32, 32)]) == 6


def test_fixed_strategies_are_the_deepest_partition_under_the_bound(net):
    for ref in (PaperStrategy.FP32, PaperStrategy.UNIFORM8):
        assert ref.partition(net, 0.35) == energy.max_partition(net, ref.bits, 0.35,
                                                                transmission=False)
    assert PaperStrategy.CONV_FC.partition(net, 0.35) == models.num_units(net)
    assert PaperStrategy.UNIFORM8.partition(net, 1e-9) is None  # nothing fits: no error
    with pytest.raises(ValueError, match="searched"):
        PaperStrategy.SEARCHED.partition(net, 0.35)
    space = GenomeSpace.from_net(net)
    assert PaperStrategy.FP32.genome(space, 2).bits == ((32, 32),) * space.num_layers
    assert PaperStrategy.UNIFORM8.genome(space, 2) == Genome.uniform(space, 2, 8)


def test_evolution_settings_come_from_the_search_settings():
    # the defaults agree: Algorithm 1's with init "random", the package's default search's else
    assert EvolutionSettings() == EvolutionSettings.from_search(SearchSettings(init="random"))
    default = SearchSettings()
    assert EvolutionSettings.from_search(default) == EvolutionSettings(
        init=default.init, repair_steps=default.repair_steps, selection=default.selection)
    smoke = get_profile("smoke").search
    evo = EvolutionSettings.from_search(smoke, seed=5)
    assert (evo.population, evo.sample, evo.iterations, evo.seed) == (smoke.population,
                                                                       smoke.sample,
                                                                       smoke.iterations, 5)


class _Estimator:
    name = "fake-ref"

    def __init__(self):
        self.calls = 0

    def prepare(self):
        pass

    def estimate(self, genome, seed):
        self.calls += 1
        return AccuracyEstimate(0.01 * genome.p, 0.9, 0.9 - 0.01 * genome.p)


def test_reference_cache_has_one_schema_and_reads_the_old_search_file(tmp_path):
    path = tmp_path / "reference.json"
    est = _Estimator()
    g = Genome(3, ((32, 32), (8, 8)))
    acc, seconds = reference_estimate(path, est.name, lambda: est, g, "p3:w8a8", seed=0)
    assert est.calls == 1 and acc.eps == pytest.approx(0.03) and seconds >= 0
    again, _ = reference_estimate(path, est.name, lambda: est, g, "p3:w8a8", seed=0)
    assert est.calls == 1 and again == AccuracyEstimate(acc.eps, 0.9, acc.top1_quant)
    saved = io.read_json(path)
    assert set(saved) == {"p3:w8a8"}
    assert set(saved["p3:w8a8"]) == {"estimator", "eps", "top1_fp", "top1_quant", "seconds"}
    # a file written by the search of paperlib 0.1.0 (one flat strategy) is read, not recomputed
    legacy = tmp_path / "legacy.json"
    io.write_json(legacy, {"key": "p2:w4a8", "estimator": est.name, "eps": 0.5, "top1_fp": 0.9,
                           "top1_quant": 0.4, "seconds": 7.0})
    acc, seconds = reference_estimate(legacy, est.name, lambda: est, g, "p2:w4a8", seed=0)
    assert est.calls == 1 and acc.eps == 0.5 and seconds == 7.0
    # another estimator's entry is a miss
    reference_estimate(legacy, "other", lambda: est, g, "p2:w4a8", seed=0)
    assert est.calls == 2
