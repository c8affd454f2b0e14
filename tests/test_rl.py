"""Zhang et al.'s RL optimizer with known answers: REINFORCE with the moving-average baseline moves
a two-armed bandit's probability to the better arm; the reward equals Eq. 13 by hand; on a toy
fitness with a known optimum the RL search finds it; it is a registered search method over the
paper's strategy space (docs/decisions/defences.md §8)."""

from __future__ import annotations

import pytest
import torch

from paperlib.search import GenomeSpace, key, rl
from paperlib.search.methods import SEARCH_METHODS, run_method

from fakes import make_evaluator

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def test_reinforce_moves_probability_to_the_better_arm():
    torch.manual_seed(0)
    logits = torch.zeros(2, requires_grad=True)
    opt = torch.optim.SGD([logits], lr=0.1)
    gen = torch.Generator().manual_seed(0)
    baseline = None
    payoff = torch.tensor([0.2, 1.0])  # arm 1 is better
    for _ in range(200):
        dist = torch.distributions.Categorical(logits=logits)
        arms = torch.multinomial(dist.probs.detach(), 8, replacement=True, generator=gen)
        rewards = payoff[arms] + 0.1 * torch.randn(8, generator=gen)
        b = float(rewards.mean()) if baseline is None else baseline
        loss = rl.reinforce_loss(dist.log_prob(arms), rewards, b)
        opt.zero_grad()
        loss.backward()
        opt.step()
        baseline = rl.update_baseline(baseline, rewards, 0.9)
    assert torch.softmax(logits, 0)[1] > 0.95


def test_reinforce_gradient_is_eq17_by_hand():
    logits = torch.tensor([0.3, -0.2], requires_grad=True)
    dist = torch.distributions.Categorical(logits=logits)
    arms, rewards, b = torch.tensor([0, 1, 1]), torch.tensor([1.0, 0.0, 2.0]), 0.5
    rl.reinforce_loss(dist.log_prob(arms), rewards, b).backward()
    prob = torch.softmax(logits.detach(), 0)
    # d log π(a) / d logits = onehot(a) − π
    by_hand = -sum((r - b) * (torch.nn.functional.one_hot(a, 2).float() - prob)
                   for a, r in zip(arms, rewards)) / 3
    assert torch.allclose(logits.grad, by_hand, atol=1e-6)


def test_baseline_is_an_exponential_moving_average():
    b = rl.update_baseline(None, torch.tensor([1.0, 3.0]), 0.9)
    assert b == 2.0
    assert rl.update_baseline(b, torch.tensor([4.0]), 0.9) == pytest.approx(0.9 * 2.0 + 0.1 * 4.0)


def test_reward_equals_eq13_by_hand():
    # A/A_base = 0.72/0.80 = 0.9; 1 − P = 0.7; S(2 − S) = 0.6 · 1.4 = 0.84
    assert rl.zhang_reward(0.72, 0.80, 0.3, 0.6) == pytest.approx(0.9 * 0.7 * 0.84)
    assert rl.zhang_reward(0.8, 0.8, 0.0, 1.0) == 1.0
    assert rl.mac_utilization(25.0, 100.0) == 0.75 and rl.mac_utilization(150.0, 100.0) == 0.0
    with pytest.raises(ValueError, match="privacy_loss"):
        rl.zhang_reward(0.8, 0.8, 1.5, 0.5)


SPACE = GenomeSpace(tuple(f"l{i}" for i in range(8)), (1, 3, 5, 7))  # stem, 3 blocks of 2, classifier


class ToyEvaluator:
    """Fitness −3 |p − 2| + (edge layers at 6 bits): optimum 4 at p = 2 with its four edge layers at
    6 bits (1 of 4^4 = 256 strategies at p = 2; p = 3 gives at most 3)."""

    space = SPACE

    def evaluate(self, genome):
        class Ev:
            pass
        ev = Ev()
        ev.key = key(genome, SPACE)
        ev.fitness = -3 * abs(genome.p - 2) + sum(w == 6 for w, _ in genome.edge_bits(SPACE))
        ev.p = genome.p
        return ev


def test_rl_search_finds_the_known_optimum():
    trace = rl.rl_search(ToyEvaluator(), budget=300, seed=0, rl_samples=8, rl_lr=0.05)
    assert trace.best["fitness"] == 4
    assert trace.best["key"] == "p2:w6a8,w6a8,w6a8,w6a8"
    assert trace.evaluations == len({r["key"] for r in trace.records}) <= 300


def test_rl_is_a_search_method_over_the_papers_space_and_fitness():
    entry = SEARCH_METHODS.entry("rl")
    assert entry.scalar and "Zhang" in entry.label
    ev = make_evaluator(SPACE)
    trace = run_method("rl", ev, 20, seed=1)
    assert trace.method == "rl" and trace.evaluations == 20
    assert {"privacy", "energy", "eps", "feasible"} <= set(trace.records[0])
    assert trace.best["fitness"] == max(r["fitness"] for r in trace.records)


def test_policies_draw_only_the_papers_bit_widths():
    part, comp = rl.PartitionPolicy(SPACE), rl.CompressionPolicy(SPACE)
    gen = torch.Generator().manual_seed(0)
    for _ in range(20):
        (d,) = rl.sample(part, comp, SPACE, gen)
        key(d.genome, SPACE)  # validates against R_w x R_a and the fixed entries
        assert d.log_prob.requires_grad
