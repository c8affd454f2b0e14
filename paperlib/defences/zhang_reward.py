"""Zhang et al.'s reward (their Eq. 13) scored with a real adversary: accuracy of the quantized
split, the SSIM of the reactive adversary's inverse network as privacy loss, and MAC utilisation
(docs/decisions/defences.md §8). The RL optimizer itself is :mod:`paperlib.search.rl`; this
evaluator lives with the defences because it needs the attacks.

The reward scores strategies for a search, so it reads only the search split of the test images
(:class:`RewardImages`, docs/decisions/paper-method.md §9): the RL row of notebook 09 is reported
on the report split, which the search never saw (docs/decisions/defences.md §8)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import attacks
from ..method import data, energy, models, quant
from ..method.evaluation_split import EvaluationSplit, index_digest, take
from ..method.genome import Genome, GenomeSpace, key
from ..method.profiles import AttackSettings, resolve_profile
from ..search.rl import mac_utilization, zhang_reward

REWARD_SEED = 0  # draws the reward's images from the search split


@dataclass(frozen=True)
class RewardImages:
    """The images Zhang et al.'s reward scores (docs/decisions/defences.md §8): ``accuracy``, the
    images of its top-1 A and A_base, and ``attacked``, those its decoder's SSIM P is read on,
    each drawn from the search split (``*_index``: their positions in the test images). The
    decoder's own training images are the attack package's, from the training split."""

    accuracy: data.CifarArrays
    attacked: data.CifarArrays
    accuracy_index: np.ndarray
    attacked_index: np.ndarray
    split: dict[str, Any]  # the split's manifest

    @classmethod
    def of(cls, split: EvaluationSplit, test: data.CifarArrays, accuracy_images: int | None,
           attacked_images: int | None) -> "RewardImages":
        """``accuracy_images`` and ``attacked_images`` search-split images of ``test`` (the test
        images ``split`` was drawn from; all of the search split when a number exceeds it)."""
        split.check(test)
        acc = split.search_subset(accuracy_images, REWARD_SEED)
        atk = split.search_subset(attacked_images, REWARD_SEED)
        return cls(take(test, acc), take(test, atk), acc, atk, split.manifest())

    def fingerprint(self) -> dict[str, Any]:
        """What the reward's numbers depend on of its images (a cache key)."""
        return {"search_sha256": self.split["search_sha256"], "seed": REWARD_SEED,
                "accuracy": [int(self.accuracy_index.size), index_digest(self.accuracy_index)],
                "attacked": [int(self.attacked_index.size), index_digest(self.attacked_index)]}


@dataclass
class ZhangEvaluation:
    """One strategy under Zhang et al.'s reward: ``fitness`` = R of Eq. 13."""

    key: str
    fitness: float
    p: int
    accuracy: float
    privacy: float  # P_1: mean SSIM of the reactive adversary's decoder (inverse network)
    utilization: float  # S_2
    energy: float = float("nan")
    energy_no_tx: float = float("nan")


class ZhangEvaluator:
    """Scores a genome with Eq. 13: A = top-1 of the quantized split (post-training quantization:
    Alg. 1's retraining N_ec = 0, docs/decisions/defences.md §8), P = SSIM of an inverse network
    trained on the edge's IRs (the reactive adversary, cached by :func:`paperlib.attacks.run`),
    S = S_2 (MACs); A and P on ``images`` (:class:`RewardImages`, the search split). One
    evaluation per distinct strategy (memoised by key)."""

    def __init__(self, model: str, profile: Any, *, net: nn.Module, meta: dict,
                 images: RewardImages, attack_settings: AttackSettings | None = None,
                 allow_partial: bool | None = None) -> None:

        prof = resolve_profile(profile)
        # the reward's decoders live apart from the attacks' own results (other budgets)
        self.prof = replace(prof, name=f"{prof.name}/rl-reward",
                            attack=attack_settings if attack_settings is not None else prof.attack)
        self.model, self.net, self.meta = model, net.eval(), meta
        self.dataset = self.prof.dataset_for(model)
        self.space = GenomeSpace.from_net(net)
        self.images, self.allow_partial = images, allow_partial
        self.test = images.accuracy
        em = energy.EnergyModel.for_net(net)
        macs = np.array([c.n_mac for c in em.trace.costs], dtype=float)
        self.cum_macs = np.concatenate([[0.0], np.cumsum(macs)])
        self.edge_layers = [int(em.edge_layers[p]) for p in range(models.num_units(net) + 1)]
        self.total_macs = float(macs.sum())
        self.base_accuracy = self._top1(32, models.num_units(net))
        self.memo: dict[str, ZhangEvaluation] = {}
        self.genomes: dict[str, Genome] = {}  # one genome per key, to rebuild a strategy

    def _top1(self, policy: Any, p: int) -> float:
        qnet = quant.quantize_edge(self.net, p, policy).eval()
        correct = 0
        with torch.no_grad():
            for s in range(0, len(self.test), 256):
                x = data.normalize(self.test.images[s:s + 256], self.dataset)
                correct += int((qnet(x).argmax(1) == self.test.labels[s:s + 256].long()).sum())
        return correct / max(len(self.test), 1)

    def evaluate(self, genome: Genome) -> ZhangEvaluation:
        k = key(genome, self.space)
        if k in self.memo:
            return self.memo[k]
        self.genomes[k] = genome
        policy = genome.policy
        acc = self._top1(policy, genome.p)
        (res,) = attacks.run(self.model, self.prof, [genome.p], policy, attacks=("inverse-network",),
                             net=self.net, meta=self.meta, dataset=self.dataset,
                             test=self.images.attacked,
                             extra_config={"reward_images": self.images.fingerprint()},
                             progress=False, allow_partial=self.allow_partial)
        privacy_loss = min(max(res.ssim, 0.0), 1.0)
        s = mac_utilization(self.cum_macs[self.edge_layers[genome.p]], self.total_macs)
        ev = ZhangEvaluation(k, zhang_reward(acc, self.base_accuracy, privacy_loss, s), genome.p,
                             acc, privacy_loss, s)
        self.memo[k] = ev
        return ev


__all__ = ["RewardImages", "REWARD_SEED", "ZhangEvaluation", "ZhangEvaluator"]
