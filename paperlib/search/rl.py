"""Zhang et al.'s optimizer ("Preventing information leakage with neural architecture search",
2021, §6; docs/decisions/defences.md §8): two bidirectional-LSTM policies, one for the partition
point and one for the per-layer compression (here the paper's bit widths, so that it searches the
same strategy space as Algorithm 1), trained by REINFORCE with an exponential-moving-average
baseline (their Eq. 16–17, Alg. 2).

* :class:`PartitionPolicy`: a BiLSTM over the partition points 0..num_units (one descriptor
  each), a linear layer to one score per point, a softmax over the points (their Fig. 2a).
* :class:`CompressionPolicy`: a BiLSTM over the searched layers, a linear layer to one score per
  action (a (b_w, b_a) pair of R_w × R_a), a softmax per layer (their Fig. 2b). Only the layers on
  the edge at the drawn point are actions (their L = number of encoder layers).
* :func:`reinforce_loss`: ``−(1/M) Σ_j Σ_t log π(a_t) (R_j − b)`` (Eq. 17).
* :func:`zhang_reward`: ``R = (A / A_base) · (1 − P) · S (2 − S)`` (Eq. 13).
* :func:`rl_search`, registered as the search method ``rl``: the reward is the evaluator's
  fitness, so with :class:`paperlib.search.Evaluator` it is the paper's Eq. 11 over the paper's
  space and compares with GA / random / exhaustive at equal numbers of distinct strategies;
  with :class:`paperlib.defences.zhang_reward.ZhangEvaluator` it is Eq. 13 with a decoder's SSIM as privacy loss (the reactive
  adversary).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from torch import nn
from ..infra.progress import tqdm

from ..method.genome import FP_PAIR, Genome, GenomeSpace, key
from .methods import SEARCH_METHODS, EvaluatorLike, SearchTrace, check_budget, record, score_all

HIDDEN = 32
LR = 1e-2
BASELINE_DECAY = 0.9  # b ← decay · b + (1 − decay) · mean reward of the episode
SAMPLES = 4  # M: strategies drawn per episode (Alg. 2)
STALL = 50  # episodes in a row without a new strategy that end the search (converged)


# --- Eq. 13 --------------------------------------------------------------------------------------

def zhang_reward(accuracy: float, base_accuracy: float, privacy_loss: float, utilization: float) -> float:
    """Zhang et al.'s Eq. 13: ``(A / A_base) · (1 − P) · S (2 − S)`` (P, S in [0, 1])."""
    if not base_accuracy > 0:
        raise ValueError(f"base_accuracy must be > 0, got {base_accuracy!r}")
    for name, v in (("privacy_loss", privacy_loss), ("utilization", utilization)):
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {v!r}")
    return accuracy / base_accuracy * (1.0 - privacy_loss) * utilization * (2.0 - utilization)


def mac_utilization(encoder_macs: float, total_macs: float) -> float:
    """Zhang et al.'s S_2 (their Eq. 11): ``max(1 − MACs(encoder) / MACs(base), 0)``."""
    return max(1.0 - encoder_macs / total_macs, 0.0)


# --- the policies --------------------------------------------------------------------------------

def partition_features(space: GenomeSpace) -> torch.Tensor:
    """One descriptor per partition point p: (p / num_units, edge layers at p / all searched
    layers, 1 for p = 0)."""
    n, total = space.num_units, max(len(space.searchable), 1)
    rows = [[p / max(n, 1), (space.edge_counts[p] - space.stem_layers) / total, float(p == 0)]
            for p in range(n + 1)]
    return torch.tensor(rows, dtype=torch.float32)


def layer_features(space: GenomeSpace) -> torch.Tensor:
    """One descriptor per searched layer: (position / layers, block / num_units, 1 for the first
    layer of its block)."""
    idx = list(space.searchable)
    rows = []
    for j, i in enumerate(idx):
        unit = space.unit_of(i)
        rows.append([j / max(len(idx) - 1, 1), unit / max(space.num_units, 1),
                     float(i == space.edge_counts[unit - 1])])
    return torch.tensor(rows, dtype=torch.float32)


class _BiLSTMHead(nn.Module):
    """BiLSTM over a sequence of descriptors, then a linear layer per step."""

    def __init__(self, in_features: int, out_features: int, hidden: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(in_features, hidden, batch_first=True, bidirectional=True)
        self.linear = nn.Linear(2 * hidden, out_features)

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        h, _ = self.lstm(seq.unsqueeze(0))
        return self.linear(h.squeeze(0))


class PartitionPolicy(nn.Module):
    """π_p: a distribution over the partition points 0..num_units."""

    def __init__(self, space: GenomeSpace, hidden: int = HIDDEN) -> None:
        super().__init__()
        self.register_buffer("features", partition_features(space))
        self.head = _BiLSTMHead(self.features.shape[1], 1, hidden)

    def forward(self) -> torch.distributions.Categorical:
        return torch.distributions.Categorical(logits=self.head(self.features).squeeze(-1))


class CompressionPolicy(nn.Module):
    """π_c: per searched layer, a distribution over the (b_w, b_a) pairs of R_w × R_a."""

    def __init__(self, space: GenomeSpace, hidden: int = HIDDEN) -> None:
        super().__init__()
        self.actions = [(int(w), int(a)) for w in space.weight_bits for a in space.activation_bits]
        self.register_buffer("features", layer_features(space))
        self.head = _BiLSTMHead(self.features.shape[1], len(self.actions), hidden)

    def forward(self) -> torch.distributions.Categorical:
        return torch.distributions.Categorical(logits=self.head(self.features))


@dataclass
class Draw:
    """One sampled strategy and the log-probability of the actions that made it."""

    genome: Genome
    log_prob: torch.Tensor


def sample(part: PartitionPolicy, comp: CompressionPolicy, space: GenomeSpace,
           generator: torch.Generator, m: int = 1) -> list[Draw]:
    """``m`` strategies: a_p ~ π_p, then a_c,t ~ π_c for every searched layer; only the layers on
    the edge at a_p count in the log-probability (the others are masked, as in the genome)."""
    dp, dc = part(), comp()  # the policies do not depend on the sample: one pass per episode
    draws = []
    for _ in range(m):
        p = int(torch.multinomial(dp.probs, 1, generator=generator))
        acts = torch.multinomial(dc.probs, 1, generator=generator).squeeze(-1)
        on_edge = len(space.edge_range(p))
        log_prob = dp.log_prob(torch.tensor(p)) + dc.log_prob(acts)[:on_edge].sum()
        bits = [FP_PAIR] * space.num_layers
        for j, i in enumerate(space.searchable):
            bits[i] = comp.actions[int(acts[j])]
        draws.append(Draw(Genome(p, tuple(bits)), log_prob))
    return draws


def reinforce_loss(log_probs: torch.Tensor, rewards: torch.Tensor, baseline: float) -> torch.Tensor:
    """Eq. 17 as a loss to minimise: ``−(1/M) Σ_j log π(a_j) (R_j − b)``; ``log_probs[j]`` is the
    summed log-probability of sample j's actions."""
    return -((rewards - baseline).detach() * log_probs).mean()


def update_baseline(baseline: float | None, rewards: torch.Tensor, decay: float) -> float:
    """Exponential moving average of the episodes' mean rewards (the first episode sets it)."""
    mean = float(rewards.mean())
    return mean if baseline is None else decay * baseline + (1.0 - decay) * mean


# --- the search method ---------------------------------------------------------------------------

@SEARCH_METHODS.register("rl", label="RL, BiLSTM + REINFORCE (Zhang et al.)", color="C5", marker="X",
                         options=("rl_samples", "rl_lr", "rl_hidden", "rl_baseline_decay", "executor"))
def rl_search(evaluator: EvaluatorLike, budget: int, seed: int = 0, *, progress: bool = False,
              rl_samples: int = SAMPLES, rl_lr: float = LR, rl_hidden: int = HIDDEN,
              rl_baseline_decay: float = BASELINE_DECAY, max_episodes: int | None = None,
              stall: int = STALL, on_episode: Callable[[int, float, float], None] | None = None,
              executor: Any = None) -> SearchTrace:
    """Zhang et al.'s Alg. 2 until ``budget`` distinct strategies are scored, ``max_episodes``
    (default 20 × budget / M) episodes pass, or ``stall`` episodes in a row draw nothing new (the
    policies have converged): per episode M strategies are drawn, scored by ``evaluator``
    (reward = fitness; a strategy already scored is a free cache hit and still trains the
    policies), and both policies take one Adam step on Eq. 17. An episode's M strategies are
    scored through ``executor`` when one is given (same evaluations, same log)."""
    budget = check_budget(budget)
    if rl_samples < 1:
        raise ValueError(f"rl_samples (M) must be >= 1, got {rl_samples}")
    space = evaluator.space
    torch.manual_seed(seed)
    part, comp = PartitionPolicy(space, rl_hidden), CompressionPolicy(space, rl_hidden)
    opt = torch.optim.Adam([*part.parameters(), *comp.parameters()], lr=rl_lr)
    gen = torch.Generator().manual_seed(seed)
    trace = SearchTrace("rl", seed, budget)
    seen: set[str] = set()
    baseline: float | None = None
    max_episodes = max_episodes or 20 * budget // rl_samples + 1
    idle = 0
    t0 = time.perf_counter()
    bar = tqdm(total=budget, desc="RL search", disable=not progress, dynamic_ncols=True)
    try:
        for episode in range(max_episodes):
            if len(seen) >= budget or idle >= stall:
                break
            draws, rewards, before = sample(part, comp, space, gen, rl_samples), [], len(seen)
            for ev in score_all(evaluator, [d.genome for d in draws], executor):
                trace.draws += 1
                if ev.key not in seen and len(seen) < budget:
                    seen.add(ev.key)
                    trace.records.append(record(ev))
                    bar.update(1)
                rewards.append(float(ev.fitness))
            idle = idle + 1 if len(seen) == before else 0
            r = torch.tensor(rewards)
            b = float(r.mean()) if baseline is None else baseline
            loss = reinforce_loss(torch.stack([d.log_prob for d in draws]), r, b)
            opt.zero_grad()
            loss.backward()
            opt.step()
            baseline = update_baseline(baseline, r, rl_baseline_decay)
            if on_episode is not None:
                on_episode(episode, float(r.mean()), baseline)
    finally:
        bar.close()
    trace.seconds = time.perf_counter() - t0
    return trace


# --- Eq. 13 with a decoder's privacy loss (the reactive adversary) --------------------------------

__all__ = ["zhang_reward", "mac_utilization", "partition_features", "layer_features",
           "PartitionPolicy", "CompressionPolicy", "Draw", "sample", "reinforce_loss",
           "update_baseline", "rl_search"]
