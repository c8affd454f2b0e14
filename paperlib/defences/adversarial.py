"""Zhang et al.'s proactive adversary as a defence (their §6.2, Alg. 1, Eq. 14;
docs/decisions/defences.md §9): the chosen encoder (the edge) and the cloud are retrained against
a decoder that is retrained in turn,

    for N_p rounds:  train d for N̂_d epochs to min MSE(d(e(x)), x)              (max P)
                     train e, c for N_ec epochs to min CE(c(e(x)), y) + λ·SSIM(d(e(x)), x)   (min −A + P)

P is the decoder's SSIM (their P_1); cross-entropy stands in for −A. The retrained edge and cloud
are the defended split; every attack of the attacks package then attacks it afresh (a new
decoder, rMLE on the new weights, a new shadow): what the proactive training buys against
adversaries it did not train with.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from ..infra.progress import tqdm

from ..infra import config, io, result_cache
from ..method import data
from ..method.plateau import chunk_means, plateaued, train_until_plateau
from ..attacks import metrics
from ..attacks.inverse_network import DEFAULTS as INVERSE_DEFAULTS
from ..attacks.inverse_network import Decoder
from ..attacks.victim import SplitInfo, Victim
from .base import (DEFENCES, Context, Defence, number_tag, own_settings, replace_edge,
                   training_record)


@dataclass(frozen=True)
class ProactiveSettings:
    """The budget of the proactive retraining (Alg. 1; docs/decisions/defences.md §9, §12); a
    profile sets it as ``DefenceSettings.defences["proactive"]``."""

    rounds: int = 3  # Zhang et al.'s N_p: at most this many rounds; fewer at a plateau (§12)
    decoder_epochs: int = 1  # N̂_d per round
    epochs: int = 1  # N_ec per round
    images: int | None = None  # training images of the retraining; None: all
    lr: float = 1e-4  # Adam, for the edge and cloud
    batch_size: int = 64
    # Adam for the adversary's decoder: its own rate, the inverse-network attack's (defences.md §15)
    decoder_lr: float = INVERSE_DEFAULTS.lr


def _trainable(module: nn.Module) -> nn.Module:
    module = copy.deepcopy(module)
    for param in module.parameters():
        param.requires_grad_(True)
    return module


def _frozen(module: nn.Module) -> nn.Module:
    for param in module.parameters():
        param.requires_grad_(False)
    return module.eval()


STEP_LOGS = ("decoder_mse", "ce", "ssim")  # the step-wise losses a retraining log holds
# the round curves that must both plateau (§12), neither improving nor getting worse: in a game a
# rising loss is the other player winning, not a settled game (§15)
PLATEAU_CURVES = ("decoder_mse", "ce")
TWO_SIDED = True  # the game's plateau rule, for its stop and its flag alike (§15)


def round_curves(log: dict[str, Any], rounds: int) -> dict[str, list[float]]:
    """Per round, the mean of each step-wise loss of a retraining ``log`` (``decoder_mse``,
    ``ce``, ``ssim``): the curves whose plateau says whether the retraining converged. ``rounds``:
    the rounds the log holds (a log that records its own ``rounds`` is cut by that)."""
    rounds = log["rounds"] if isinstance(log.get("rounds"), int) else rounds
    return {k: chunk_means(log[k], rounds) for k in STEP_LOGS if isinstance(log.get(k), list)}


def retraining_converged(log: dict[str, Any], rounds: int) -> bool:
    """Both games reached a plateau: the adversary's decoder loss and the edge/cloud cross-entropy,
    per round (docs/decisions/defences.md §12)."""
    curves = round_curves(log, rounds)
    return all(plateaued(curves.get(k, []), two_sided=TWO_SIDED) for k in PLATEAU_CURVES)


def adversarial_retraining(victim: Victim, images_uint8: torch.Tensor, labels: torch.Tensor,
                           settings: ProactiveSettings, lam: float, seed: int = 0,
                           progress: bool = False) -> tuple[nn.Module, nn.Module, dict]:
    """Alg. 1's proactive branch on ``victim``'s edge and cloud (copies) over the training images
    ``images_uint8`` / ``labels`` (the caller draws ``settings.images`` of them), with the epochs,
    learning rates (the decoder's and the edge/cloud's) and batch size of ``settings``, round by
    round until the decoder's and the edge/cloud's round curves plateau, at most
    ``settings.rounds`` rounds; returns the retrained edge, cloud and a log of the step-wise losses
    with ``rounds`` (run), ``max_rounds`` and ``steps_per_round``."""
    s = settings
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    edge, cloud = _trainable(victim.edge_module), _trainable(victim.cloud_module)
    c, h = victim.info.ir_shape[0], victim.info.ir_shape[-1]
    decoder = Decoder(c, h)
    opt_d = torch.optim.Adam(decoder.parameters(), lr=s.decoder_lr)
    opt_ec = torch.optim.Adam([*edge.parameters(), *cloud.parameters()], lr=s.lr)
    log: dict[str, Any] = {"decoder_mse": [], "ce": [], "ssim": []}
    per_round = (s.decoder_epochs + s.epochs) * max(1, math.ceil(len(images_uint8) / s.batch_size))
    bar = tqdm(total=s.rounds * per_round, desc=f"proactive retraining λ={lam:g}",
               disable=not progress, dynamic_ncols=True)

    def batches():
        perm = torch.randperm(len(images_uint8), generator=gen)
        for start in range(0, len(images_uint8), s.batch_size):
            idx = perm[start:start + s.batch_size]
            yield data.to_unit(images_uint8[idx]), labels[idx].long()

    def one_round(_: int) -> dict[str, float]:
        start = {k: len(log[k]) for k in PLATEAU_CURVES}
        edge.eval(), decoder.train()
        for _ in range(s.decoder_epochs):  # max P over the decoder
            for x, _y in batches():
                with torch.no_grad():
                    v = edge(x)
                loss = F.mse_loss(decoder(v), x)
                opt_d.zero_grad(); loss.backward(); opt_d.step()
                log["decoder_mse"].append(loss.item()); bar.update(1)
        decoder.eval(), edge.train(), cloud.train()
        for _ in range(s.epochs):  # min over encoder and cloud of −A + λ P
            for x, y in batches():
                v = edge(x)
                ce = F.cross_entropy(cloud(v), y)
                leak = metrics.ssim(x, decoder(v)).mean().float()
                loss = ce + lam * leak
                opt_ec.zero_grad(); loss.backward(); opt_ec.step()
                log["ce"].append(ce.item()); log["ssim"].append(leak.item()); bar.update(1)
        return {k: sum(log[k][start[k]:]) / max(1, len(log[k]) - start[k]) for k in PLATEAU_CURVES}

    # round by round until both games plateau, at most ``rounds`` (defences.md §12)
    run = train_until_plateau(one_round, s.rounds, two_sided=TWO_SIDED)
    log.update(rounds=run.chunks, max_rounds=s.rounds, steps_per_round=per_round)
    bar.close()
    return _frozen(edge), _frozen(cloud), log


# lam: the weight of the decoder's SSIM in the retraining loss
@DEFENCES.register("proactive", label="proactive adversarial retraining (Zhang et al.)", color="C7",
                   marker="h", sweep={"lam": (1.0,)}, control={"lam": 0.0},
                   settings=ProactiveSettings)
class Proactive(Defence):
    """The edge and cloud retrained against a decoder (Alg. 1, proactive); weight ``lam`` on the
    decoder's SSIM."""

    name = "proactive"
    version = 2  # 2: the two-sided plateau of the game (defences.md §15)

    def __init__(self, lam: float = 1.0, seed: int = 0) -> None:
        if not lam >= 0:
            raise ValueError(f"the privacy weight lam must be >= 0, got {lam!r}")
        self.lam, self.seed = float(lam), int(seed)
        self.log: dict[str, Any] = {}
        self.rounds = 0  # N_p of the retraining behind ``log``

    def config(self) -> dict[str, Any]:
        return {"lam": self.lam, "seed": self.seed}

    def tag(self) -> str:
        return f"proactive-l{number_tag(self.lam)}"

    def edge_macs(self, info: SplitInfo) -> float:
        return 0.0  # the same layers with other weights

    def converged(self) -> bool | None:
        """Whether the retraining's round curves reached a plateau (None before :meth:`apply`)."""
        return retraining_converged(self.log, self.rounds) if self.log else None

    def training(self) -> dict[str, Any] | None:
        """The retraining: rounds run of the budget, steps per round, the round curves."""
        if not self.log:
            return None
        curves = round_curves(self.log, self.rounds)
        done = len(next(iter(curves.values()), []))
        return training_record("round", done, self.log.get("max_rounds", self.rounds),
                               self.log.get("steps_per_round", 0), curves)

    def apply(self, victim: Victim, context: Context | None = None) -> Victim:
        if context is None:
            raise ValueError("proactive retraining trains the edge and cloud: pass a Context")
        s: ProactiveSettings = own_settings(context, self.name)
        self.rounds = s.rounds
        checkpoint = {k: context.meta.get(k) for k in ("accuracy", "date", "data", "seed")}
        # the version marks the stop rule (a plateau, two-sided since version 2: defences.md §12,
        # §15) for the trained parts as for the rows
        fp = io.json_safe({"key": victim.key, **self.config(), "settings": asdict(s),
                           "version": self.version, "checkpoint": checkpoint})
        path = (config.results_dir() / context.profile / "defences" / "proactive"
                / f"{victim.key.replace('/', '-')}-{self.tag()}.pt")
        edge, cloud = copy.deepcopy(victim.edge_module), copy.deepcopy(victim.cloud_module)
        blob = result_cache.load_torch(path, fp)
        if blob is not None:
            edge.load_state_dict(blob["edge"]); cloud.load_state_dict(blob["cloud"])
            self.log = blob["log"]
        else:
            train = data.subset(data.load(context.dataset, "train", allow_partial=context.allow_partial),
                                s.images, seed=self.seed)
            edge, cloud, self.log = adversarial_retraining(victim, train.images, train.labels, s,
                                                           self.lam, self.seed, context.progress)
            result_cache.save_torch(path, fp, {"edge": edge.state_dict(), "cloud": cloud.state_dict(),
                                               "log": self.log})
        return replace_edge(victim, _frozen(edge), self.tag(), cloud=_frozen(cloud))


__all__ = ["ProactiveSettings", "adversarial_retraining", "round_curves", "retraining_converged", "Proactive"]
