"""One function evaluates every defence: top-1 and ε as Table 4 measures them (the report split,
the finetuned strategy, a paired difference; :mod:`.report_split`), edge energy (Eq. 7–9 plus the
defence's own operations) and every registered attack (docs/decisions/defences.md §1, §2, §7).

Results are cached atomically: the attacks' results through :mod:`paperlib.attacks.results`
(one file per attack, its tag ``<policy tag>+<defence tag>``, the defence's configuration and a
finetuned strategy's finetune in the fingerprint); the defence's row in
``<results>/<profile>/defences/<model>/<key>-n<images>.json``. Nothing is recomputed while the
fingerprint (defence, its own settings, split, policy, attacks' settings, checkpoint, data sizes,
the report split's manifest, the finetune budget and seed) holds; DataMix's mixing-aware cloud is
trained once per split (:mod:`.datamix`).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import torch
from torch import nn

from ..infra import config, io, result_cache
from ..method import data, privacy
from ..attacks import results as attack_results
from ..attacks import runner
from ..attacks.base import ATTACKS, build
from ..attacks.points import point_label
from ..attacks.victim import Victim, deploy, policy_json, policy_tag
from ..attacks.worst_case import WORST, column, worst_attack, worst_case
from ..method.profiles import AttackSettings, Profile, resolve_profile
from .base import DEFENCES, Context, Defence, is_control, settings_for, strength_argument
from .costs import edge_cost
from .paper_strategy import NoDefence
from .report_split import ReportRow
from ..search.context import build_context

if TYPE_CHECKING:  # pragma: no cover
    from ..search.context import SearchContext

PREDICT_BATCH = 256


@dataclass
class DefenceResult(io.JsonRecord):
    """One defence on one split: what it costs on the edge, what the user gets, what attackers
    recover (per attack: SSIM/PSNR mean and sd, the mean-image reference, the result file)."""

    model: str
    profile: str
    defence: str
    tag: str
    config: dict[str, Any]
    p: int
    split: str
    policy: Any
    policy_tag: str
    top1: float  # on the report split (docs/decisions/defences.md §1)
    accuracy_images: int  # the report-split images of the top-1
    energy: float  # mJ per image, E_T included
    energy_no_tx: float
    compute: float
    defence_energy: float
    defence_macs: float
    transmission: float
    attacks: dict[str, dict[str, Any]] = field(default_factory=dict)
    reference: str = ""  # the paper's strategy this row is (reference rows only)
    converged: bool | None = None  # the trained part reached a plateau; None: nothing trained (defences.md §12)
    # what the trained part ran (base.training_record); {}: nothing trained (defences.md §12)
    training: dict[str, Any] = field(default_factory=dict)
    data: str = ""
    seconds: float = 0.0
    # ε against the undefended full-precision network on the same report images, its 95 %
    # interval and McNemar p (defences.md §7); None: the row was not paired
    top1_fp: float | None = None
    eps: float | None = None
    eps_ci_low: float | None = None
    eps_ci_high: float | None = None
    mcnemar_p: float | None = None
    finetune: dict[str, Any] = field(default_factory=dict)  # what the network got; {}: none
    evaluation_split: dict[str, Any] = field(default_factory=dict)  # the split's manifest
    fingerprint: dict[str, Any] = field(default_factory=dict)
    path: str = ""

    @property
    def strongest(self) -> str:
        """The attack with the highest mean SSIM (docs/decisions/attacks.md §10)."""
        return worst_attack({a: s["ssim"] for a, s in self.attacks.items()})

    def worst(self, metric: str) -> float:
        """The worst case of ``metric`` (``ssim`` or ``psnr``): its highest value over the attacks
        (docs/decisions/attacks.md §10)."""
        return worst_case({a: s[metric] for a, s in self.attacks.items()})

    @property
    def ssim(self) -> float:
        """SSIM of the strongest attack: the worst case of SSIM over the attacks."""
        return self.worst("ssim")

    @property
    def scheme(self) -> str:
        """What protects in this row, for legends: the reference strategy's name, else the
        defence's label."""
        return self.reference or DEFENCES.label(self.defence)

    def row(self) -> dict[str, Any]:
        """A flat record for a DataFrame."""
        d = {k: v for k, v in self.to_dict().items()
             if k not in ("attacks", "fingerprint", "config", "path", "training", "finetune",
                          "evaluation_split")}
        arg = strength_argument(self.defence) if self.defence in DEFENCES else None
        d.update(label=DEFENCES.label(self.defence), strongest=self.strongest if self.attacks else "",
                 ssim=self.ssim, scheme=self.scheme, converged=convergence_words(self.converged),
                 trained=training_words(self.training), strength_arg=arg or "",
                 control=is_control(self.defence, self.config),
                 strength=float(self.config[arg]) if arg in self.config else float("nan"),
                 variant=variant_words(self.defence, self.config))
        for a, s in self.attacks.items():
            d[f"ssim_{a}"], d[f"psnr_{a}"] = s["ssim"], s["psnr"]
        for metric in ("ssim", "psnr"):
            d[column(metric, WORST)] = self.worst(metric)
        return d


def convergence_words(converged: bool | None) -> str:
    """``yes``, ``not converged`` or ``n/a`` (nothing trained): the table's converged flag
    (docs/decisions/defences.md §12)."""
    return "n/a" if converged is None else "yes" if converged else NOT_CONVERGED


NOT_CONVERGED = "not converged"


def variant_words(name: str, config: dict[str, Any]) -> str:
    """The swept arguments of defence ``name`` other than its strength, as ``kind=gaussian``
    (``""`` when it has none): what tells two strength sweeps of one defence apart."""
    if name not in DEFENCES:
        return ""
    arg = strength_argument(name)
    return ", ".join(f"{k}={config[k]}" for k in DEFENCES.entry(name).sweep
                     if k != arg and k in config)


def training_words(training: dict[str, Any] | None) -> str:
    """``6 of 12 epochs × 4 steps`` (chunks run of the budget; defences.md §12), ``n/a`` when
    nothing was trained."""
    if not training:
        return "n/a"
    unit = training["unit"] + ("" if training["max_chunks"] == 1 else "s")
    return (f"{training['chunks']} of {training['max_chunks']} {unit} × "
            f"{training['steps_per_chunk']} steps")


def training_budgets(name: str, own: Any) -> dict[str, Any]:
    """The own settings ``own`` of the evaluated defence ``name`` (its training budgets) as plain
    values, ``{name: fields}``, or ``{}`` for a defence without settings: part of the cache key of
    its row and of every attack on it. Another defence's budgets do not change this row, so they
    are not in its key (docs/decisions/defences.md §6)."""
    return {} if own is None else {name: asdict(own)}


def attack_settings(profile: str | Profile | None = None) -> AttackSettings:
    """The attacks' settings of notebook 09's rows: the profile's
    :class:`~paperlib.method.profiles.AttackSettings` (notebook 08's) with
    ``DefenceSettings.attack_budgets`` on top, attack by attack (docs/decisions/defences.md §6).
    Every row of notebook 09, the reference rows included, is attacked with them, so its rows
    compare at equal budgets."""
    prof = resolve_profile(profile)
    out = prof.attack
    for name, values in prof.defence.attack_budgets.items():
        ATTACKS.entry(name)  # an unknown attack is refused by name
        out = out.with_attack(name, **values)
    return out


def result_path(profile: str, model: str, key_tag: str, p: int, images: int) -> Path:
    return config.results_dir() / profile / "defences" / model / f"p{int(p)}-{key_tag}-n{int(images)}.json"


@torch.no_grad()
def predict_correct(defence: Defence, defended: Victim, test: data.CifarArrays) -> np.ndarray:
    """Whether the defended split classifies each image of ``test`` right (bool, ``test``'s
    order; batches of :data:`PREDICT_BATCH`)."""
    hits = []
    for s in range(0, len(test), PREDICT_BATCH):
        logits = defence.predict(defended, data.to_unit(test.images[s:s + PREDICT_BATCH]))
        hits.append(logits.argmax(1).cpu() == test.labels[s:s + PREDICT_BATCH].long())
    return torch.cat(hits).numpy() if hits else np.zeros(0, dtype=bool)


@torch.no_grad()
def defended_irs(defended: Victim, images_uint8: torch.Tensor, batch: int = PREDICT_BATCH) -> torch.Tensor:
    """What the attacker receives for ``images_uint8``: the defended edge's output (float32)."""
    return torch.cat([defended.edge_module(data.to_unit(images_uint8[s:s + batch])).float()
                      for s in range(0, len(images_uint8), batch)])


def attack_defended(defence: Defence, defended: Victim, *, model: str, prof: Profile, p: int,
                    policy: Any, names: Sequence[str], meta: dict, dataset: str, images: int,
                    force: bool, progress: bool, allow_partial: bool | None,
                    threads: int | None, budgets: dict | None = None,
                    finetune: dict | None = None) -> dict[str, attack_results.AttackResult]:
    """Every attack of ``names`` on the defended split (cached per attack; ``budgets``: the
    defence's training budgets, :func:`training_budgets`, and ``finetune``: the finetune of a
    finetuned strategy's network, both part of each attack's fingerprint)."""
    settings = attack_settings(prof)
    adata = runner.attack_data(dataset, settings, images, allow_partial)
    tag = f"{policy_tag(policy)}+{defence.tag()}"
    out, test_ir, baseline, proxy = {}, None, None, None
    with runner.cpu_threads(threads):
        for name in names:
            hit, job = runner.lookup(name, model, prof, p, None, tag, policy, settings, dataset,
                                     meta, adata, force=force,
                                     extra_config={"defence": defence.fingerprint(),
                                                   "defence_budgets": budgets or {},
                                                   **({"finetune": finetune} if finetune else {})})
            if hit is not None:
                out[name] = hit
                continue
            if test_ir is None:
                test_ir = defended_irs(defended, adata.test.images)
                baseline = runner.mean_image_baseline(adata)
                proxy = float(privacy.privacy(data.to_unit(adata.test.images), test_ir, dist="mse"))
            out[name] = runner.execute(job, defended, policy, settings, adata, test_ir, None, proxy,
                                       baseline, model=model, profile=prof.name,
                                       provenance=adata.provenance(meta), samples=8,
                                       progress=progress)
    return out


def evaluate(model: str, defence: Defence | None, p: int, policy: Any = 32, *,
             profile: str | Profile | None = None, context: "SearchContext | None" = None,
             seed: int = 0, net: nn.Module | None = None, meta: dict | None = None,
             attacks: Sequence[str] | None = None, images: int | None = None,
             reference: str = "", force: bool = False, progress: bool = False,
             allow_partial: bool | None = None, threads: int | None = 1) -> DefenceResult:
    """Evaluate ``defence`` (None: no defence) on ``model`` split at ``p`` under ``policy``: top-1
    and ε on the report split as Table 4 measures them (:mod:`.report_split`; the network Table 4
    reports the strategy on, finetuned with search seed ``seed``'s rule, the defence on top), edge
    energy per image, and every attack of ``attacks`` (default: the profile's, else every
    registered one) on ``images`` test images (default: the profile's ``defence.images``).

    ``context``: the search context that owns the report split and the finetune (build it once
    per model, ``search.build_context``); without it one is built from ``net`` and ``meta`` (else
    from the profile's checkpoint); ``profile`` defaults to the context's. ``reference`` names the
    paper's strategy a row stands for."""
    prof = resolve_profile(profile if profile is not None or context is None else context.profile)
    s = prof.defence
    defence = defence or NoDefence()
    names = tuple(attacks or s.attacks or ATTACKS.names())
    for n in names:
        ATTACKS.entry(n)
    images = s.images if images is None else images
    if context is None:
        context = build_context(model, prof, allow_partial=allow_partial, progress=progress,
                                trained=None if net is None or meta is None else (net, meta))
    elif context.model != model or (net is not None and net is not context.net):
        raise ValueError(f"the context is for {context.model!r} and its own network; the row is "
                         f"for {model!r}{'' if net is None else ' with another network'}: give "
                         "the context alone, or net and meta without it")
    net, meta, dataset = context.net, context.meta, context.dataset
    net.eval()
    row = ReportRow.of(context, p, policy, seed)
    finetune = row.finetune()
    key_tag = f"{policy_tag(policy)}+{defence.tag()}"
    path = result_path(prof.name, model, key_tag, p, images)
    attack_cfg = {n: build(n, attack_settings(prof), runner.ATTACK_SEED).config() for n in names}
    # the defence's own settings, built once: its key and its context use them (a defence used
    # without registering it has none)
    own = settings_for(defence.name, s.defences) if defence.name in DEFENCES else None
    budgets = training_budgets(defence.name, own)
    fp = io.json_safe({"defence": defence.fingerprint(), "model": model, "p": p,
                       "policy": policy_json(policy), "attacks": attack_cfg, "images": images,
                       "report": row.fingerprint(), "defence_settings": budgets,
                       "checkpoint": {k: meta.get(k) for k in ("accuracy", "date", "data", "seed")}})
    # a row stored before the converged flag, the training record and the paired ε existed is
    # rebuilt (its attacks and trained parts stay cached); a row's name (``reference``) is not
    # part of the key
    stored = None if force else result_cache.load_json(
        path, fp, valid=lambda r: all(k in r for k in ("converged", "training", "eps")))
    if stored is not None:
        return DefenceResult.from_dict({**stored, "reference": reference, "path": str(path)})
    t0 = time.perf_counter()
    victim = deploy(net, p, policy, dataset=dataset, model=model, quantized=row.network())
    if finetune:  # the trained parts of a defence are keyed by the split's key: keep it apart
        victim = victim.with_key(f"finetuned-{finetune['seed']}")
    ctx = Context(net=net, meta=meta, p=p, policy=policy, dataset=dataset, settings=s,
                  profile=prof.name, allow_partial=allow_partial, progress=progress,
                  defence_settings=own)
    defended = defence.apply(victim, ctx)
    correct = predict_correct(defence, defended, context.report_ds)
    paired = row.paired(correct)
    cost = edge_cost(net, p, policy, victim.info, defence)
    found = attack_defended(defence, defended, model=model, prof=prof, p=p, policy=policy,
                            names=names, meta=meta, dataset=dataset, images=images, force=force,
                            progress=progress, allow_partial=allow_partial, threads=threads,
                            budgets=budgets, finetune=finetune)
    result = DefenceResult(
        model=model, profile=prof.name, defence=defence.name, tag=defence.tag(),
        config=defence.config(), p=int(p), split=point_label(model, p), policy=policy_json(policy),
        policy_tag=victim.info.tag, top1=paired.top1_strategy, accuracy_images=paired.images,
        energy=cost["energy"], energy_no_tx=cost["energy_no_tx"], compute=cost["compute"],
        defence_energy=cost["defence"], defence_macs=cost["defence_macs"],
        transmission=cost["transmission"],
        attacks={n: {"ssim": r.ssim, "ssim_sd": r.ssim_sd, "psnr": r.psnr, "psnr_sd": r.psnr_sd,
                     "baseline_ssim": r.baseline_ssim, "path": r.path} for n, r in found.items()},
        reference=reference, converged=defence.converged(), training=defence.training() or {},
        data=meta.get("data", ""), seconds=round(time.perf_counter() - t0, 2),
        top1_fp=paired.top1_fp, eps=paired.eps, eps_ci_low=paired.low, eps_ci_high=paired.high,
        mcnemar_p=paired.mcnemar_p, finetune=finetune, evaluation_split=row.split(),
        fingerprint=fp, path=str(path))
    result_cache.save_json(path, fp, {k: v for k, v in result.to_dict().items()
                                      if k not in ("path", "fingerprint")})
    return result


__all__ = ["DefenceResult", "NOT_CONVERGED", "convergence_words", "training_words", "variant_words",
           "attack_settings", "evaluate", "predict_correct", "defended_irs", "attack_defended",
           "result_path", "training_budgets"]
