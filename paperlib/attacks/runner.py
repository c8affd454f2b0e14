"""Run attacks on a trained model: plan, compute the IRs, fit, invert, score, save
(docs/decisions/attacks.md §6–§7).

:func:`run` attacks ``model`` at every requested partition point under one quantization policy,
with every requested attack, once per IR re-quantization width. Each step is its own function:

* :func:`attack_data` — the images of each party (deterministic subsets, seed 0): each attack's
  own images, as many as its settings ask for (the black-box attacker's query images, the
  query-free attacker's labelled images), come from the *training* split, the evaluated images
  from the *test* split;
* :func:`plan` — one :class:`Job` per (attack, point, IR width) whose cached result is missing or
  stale;
* :func:`compute_irs` — the IRs of every point in one forward pass per image set (the prefix of a
  quantized model is the quantized edge of every shallower point), as the attacker sees them;
* :func:`cpu_threads` — torch's CPU threads while attacks run;
* :func:`execute` — fit the attack on what its threat model allows of the deployed split (one
  :func:`~.victim.deploy` per point and IR width, shared by the attacks), invert the test IRs,
  score and save.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import torch
from torch import nn

from ..method import data, models, privacy, quant
from ..method.constants import FULL_PRECISION
from ..method.policy import Policy, resolve
from ..method.profiles import AttackSettings, Profile, resolve_profile
from . import metrics, results
from .base import ATTACKS, Attack, Aux, aux_need, build, settings_for
from .inverse_network import InverseNetwork
from .points import point_label, resolve_points
from .results import AttackResult
from .victim import Victim, deploy, policy_json, policy_tag, requantize, sent_bits
from ..method import train

ATTACK_SEED = 0  # data subsets and every attack's own randomness
DEFAULT_ATTACKS = ("inverse-network",)
IR_DTYPE = torch.float16  # IRs are stored at half precision (only the attacks compute on them)
IR_BATCH = 256


# --- the images of every party -------------------------------------------------------------------

@dataclass(frozen=True)
class AttackData:
    """``aux_sets``: each attack's own training images by attack name (absent: the attack takes
    none), ``labelled``: the attacks whose images come with their labels, ``test``: the evaluated
    images, which no attacker sees."""

    aux_sets: Mapping[str, data.CifarArrays]
    labelled: frozenset[str]
    test: data.CifarArrays

    def aux(self, attack: str) -> data.CifarArrays | None:
        """Attack ``attack``'s own images (None for an attack that takes none, e.g. white-box)."""
        return self.aux_sets.get(attack)

    @property
    def reference(self) -> data.CifarArrays:
        """The images whose mean is the mean-image baseline: the black-box attacker's query
        images (docs/decisions/attacks.md §2)."""
        return self.aux_sets[InverseNetwork.name]

    def provenance(self, meta: dict) -> str:
        own = " / ".join(f"{len(ds)} ({name}{', labelled' if name in self.labelled else ''})"
                         for name, ds in self.aux_sets.items())
        return (f"{meta.get('data', '?')}; attacks on {len(self.test)} test images, attacker "
                f"images from {own or 'no'} training images")


def attack_data(dataset: str, settings: AttackSettings, images: int | None = None,
                allow_partial: bool | None = None, *,
                test: data.CifarArrays | None = None) -> AttackData:
    """Deterministic subsets (seed 0): each registered attack's own training images, as many as
    its settings ask for (:func:`~.base.aux_need`; subsets of one random order, so a smaller one
    lies in a larger one), and ``images`` (default ``settings.test_images``) test images, or
    ``test`` itself when given (images chosen by the caller, e.g. from a search split)."""
    train = data.load(dataset, "train", allow_partial=allow_partial)
    if test is not None:
        if images is not None:
            raise ValueError("give the evaluated images (test) or their number (images), not both")
        images = len(test)
    else:
        test = data.load(dataset, "test", allow_partial=allow_partial)
    n_test = settings.test_images if images is None else images
    needs = {name: aux_need(settings_for(name, settings)) for name in ATTACKS.names()}
    needs = {name: need for name, need in needs.items() if need is not None}
    return AttackData(aux_sets={name: data.subset(train, need.images, seed=ATTACK_SEED)
                                for name, need in needs.items()},
                      labelled=frozenset(name for name, need in needs.items() if need.labelled),
                      test=data.subset(test, n_test, seed=ATTACK_SEED))


def to_aux(adata: AttackData, attack: str) -> Aux | None:
    """Attack ``attack``'s own data as an :class:`Aux` (labels only where its settings ask)."""
    ds = adata.aux(attack)
    if ds is None:
        return None
    return Aux(data.to_unit(ds.images), ds.labels if attack in adata.labelled else None)


# --- planning ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Job:
    """One attack to run: ``attack`` on point ``p`` with the IR re-quantized to ``bits``."""

    attack: str
    p: int
    bits: int | None
    tag: str
    json_path: Path
    fingerprint: dict

    @property
    def key(self) -> tuple[str, int, int | None]:
        return (self.attack, self.p, self.bits)


def bits_plan(points: Sequence[int],
              ir_bits: Sequence[int | None] | Mapping[int, Sequence[int | None]]) -> dict[int, list[int | None]]:
    """Per point, the IR re-quantization widths (None: the IR as sent; 32 counts as None)."""
    if isinstance(ir_bits, Mapping):
        per_point = {p: list(ir_bits.get(p, [None])) for p in points}
    else:
        per_point = {p: list(ir_bits) for p in points}
    return {p: list(dict.fromkeys(None if b is None or quant.check_bits(b) == FULL_PRECISION
                                  else int(b) for b in bs)) for p, bs in per_point.items()}


def lookup(name: str, model: str, prof: Profile, p: int, bits: int | None, tag: str,
           policy: Policy, settings: AttackSettings, dataset: str, meta: dict, adata: AttackData,
           *, extra_config: Mapping[str, Any] | None = None,
           force: bool = False) -> tuple[AttackResult | None, Job]:
    """One attack on one split: its cached result when it still holds (else None), and the job
    that computes it. ``extra_config`` joins the attack's configuration in the fingerprint (a
    defence and its budgets)."""
    atk = build(name, settings, ATTACK_SEED)
    json_path, pt_path = results.result_paths(name, model, prof.name, p, tag, len(adata.test))
    fp = results.fingerprint(name, atk.version, {**atk.config(), **(extra_config or {})},
                             policy_json(policy), bits, dataset, meta, adata.aux(name),
                             adata.test, ATTACK_SEED)
    hit = None if force else results.cached(json_path, pt_path, fp)
    return hit, Job(name, p, bits, tag, json_path, fp)


def plan(model: str, prof: Profile, attacks: Sequence[str], per_point: Mapping[int, Sequence[int | None]],
         policy: Policy, settings: AttackSettings, dataset: str, meta: dict, adata: AttackData,
         force: bool = False, tag_suffix: str = "",
         extra_config: Mapping[str, Any] | None = None) -> tuple[dict, list[Job]]:
    """The cached results that still hold, and the jobs to run for the rest (``tag_suffix`` joins
    each result's tag: results of another weights of the same model, e.g. ``-epoch0``, are kept
    apart from the trained model's; ``extra_config`` joins every fingerprint, :func:`lookup`)."""
    hits: dict[tuple, AttackResult] = {}
    jobs: list[Job] = []
    for name in attacks:
        for p, bits in per_point.items():
            for b in bits:
                hit, job = lookup(name, model, prof, p, b, policy_tag(policy, b) + tag_suffix,
                                  policy, settings, dataset, meta, adata, force=force,
                                  extra_config=extra_config)
                if hit is not None:
                    hits[(name, p, b)] = hit
                else:
                    jobs.append(job)
    return hits, jobs


# --- IRs -----------------------------------------------------------------------------------------

@torch.no_grad()
def compute_unit_irs(net: nn.Module, points: Sequence[int], images_uint8: torch.Tensor,
                     dataset: str, *, batch_size: int = IR_BATCH,
                     dtype: torch.dtype = IR_DTYPE) -> dict[int, torch.Tensor]:
    """The output of unit ``p`` for every ``p`` in ``points`` (one forward pass per batch through
    the stem and the first ``max(points)`` blocks, no gradients), stored as ``dtype`` on the CPU.

    ``net`` may be a ``quant.quantize_edge`` copy: its layers quantize their own inputs, so unit
    ``p``'s output is what the edge at ``p`` computes before its IR quantizer."""
    points = sorted({int(p) for p in points})
    for p in points:
        models.check_partition(net, p)
    device = next(net.parameters()).device
    out: dict[int, list[torch.Tensor]] = {p: [] for p in points}
    images_uint8 = images_uint8.to(device)  # moved once, not per batch (scale.md §6)
    for start in range(0, len(images_uint8), batch_size):
        x = data.normalize(images_uint8[start:start + batch_size], dataset)
        outs = models.unit_outputs(net, x, upto=max(points))
        for p in points:
            out[p].append(outs[p].float().to("cpu", dtype))
    return {p: torch.cat(v) for p, v in out.items()}


def as_sent(unit_ir: torch.Tensor, net: nn.Module, p: int, policy: Policy,
            ir_bits: int | None) -> torch.Tensor:
    """The IR the attacker sees, from unit ``p``'s output: quantized at the policy's IR width,
    then re-quantized to ``ir_bits`` when that is lower (as :func:`~.victim.deploy`'s edge)."""
    sent = sent_bits(net, p, policy)
    bits = sent_bits(net, p, policy, ir_bits)
    if bits == FULL_PRECISION:
        return unit_ir
    x = unit_ir.float()
    if sent != FULL_PRECISION:
        x = quant.quantize_activation(x, sent)
    return requantize(x, sent, bits).to(unit_ir.dtype)


def compute_irs(net: nn.Module, policy: Policy, points: Sequence[int], images_uint8: torch.Tensor,
                dataset: str) -> dict[int, torch.Tensor]:
    """Unit outputs at ``points`` under ``policy`` (one pass through the deepest quantized edge)."""
    qnet = quant.quantize_edge(net, max(points), policy).eval()
    return compute_unit_irs(qnet, points, images_uint8, dataset)


# --- running -------------------------------------------------------------------------------------

@contextmanager
def cpu_threads(n: int | None) -> Iterator[None]:
    """torch's CPU threads set to ``n`` inside the block (None: unchanged). Small attack models
    run fastest on one thread when the cores are shared."""
    old = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def fit_attack(atk: Attack, victim, adata: AttackData, aux_irs: torch.Tensor | None) -> Attack:
    """Fit ``atk`` on the view its threat model allows; an inverse network reuses the IRs of its
    query images when they were computed in the one-pass sweep."""
    if isinstance(atk, InverseNetwork) and aux_irs is not None:
        return atk.fit_pairs(victim.oracle(), aux_irs, data.to_unit(adata.aux(atk.name).images))
    return atk.fit(victim.access(atk.threat), to_aux(adata, atk.name))


def execute(job: Job, victim: Victim, policy: Policy, settings: AttackSettings, adata: AttackData,
            test_ir: torch.Tensor, aux_ir: torch.Tensor | None, proxy: float, baseline: dict,
            *, model: str, profile: str, provenance: str, samples: int,
            progress: bool) -> AttackResult:
    """Run one job on the deployed split ``victim`` and save its result."""
    t0 = time.perf_counter()
    atk = build(job.attack, settings, ATTACK_SEED)
    atk.progress = progress
    fit_attack(atk, victim, adata, aux_ir)
    atk.check_target(victim.key)
    x_test01 = data.to_unit(adata.test.images)
    rec = atk.invert(test_ir)
    details = atk.details()
    aux = adata.aux(job.attack)
    result = AttackResult(
        attack=job.attack, model=model, profile=profile, p=job.p, split=point_label(model, job.p),
        tag=job.tag, policy=policy_json(policy), ir_bits=victim.info.ir_bits,
        ir_shape=list(victim.info.ir_shape), **metrics.scores(x_test01, rec), privacy=proxy,
        baseline_ssim=baseline["ssim"], baseline_psnr=baseline["psnr"],
        aux_images=len(aux) if aux is not None else 0, test_images=len(x_test01),
        seconds=round(time.perf_counter() - t0, 2), train_loss=details.pop("train_loss", []),
        attacker=details.pop("model", ""), details=details, data=provenance,
        fingerprint=job.fingerprint, path=str(job.json_path))
    k = min(samples, len(x_test01))
    return results.save(result, atk.state(), adata.test.images[:k], rec[:k])


def mean_image_baseline(adata: AttackData) -> dict[str, float]:
    """SSIM and PSNR of the mean query image (:attr:`AttackData.reference`) against every test
    image: what an attacker who learnt nothing from the IR achieves."""
    x_test01 = data.to_unit(adata.test.images)
    mean_img = data.to_unit(adata.reference.images).mean(0, keepdim=True).expand_as(x_test01)
    return {"ssim": float(metrics.ssim(x_test01, mean_img).mean()),
            "psnr": metrics.summary(metrics.psnr(x_test01, mean_img))["mean"]}


def run(model: str, profile: str | Profile | None = None, points: Sequence[int | str] = (0,),
        policy: Policy = FULL_PRECISION, *, attacks: Sequence[str] = DEFAULT_ATTACKS,
        ir_bits: Sequence[int | None] | Mapping[int, Sequence[int | None]] = (None,),
        net: nn.Module | None = None, meta: dict | None = None,
        settings: AttackSettings | None = None, images: int | None = None,
        dataset: str | None = None, samples: int = 8, force: bool = False, progress: bool = True,
        allow_partial: bool | None = None, threads: int | None = 1,
        tag_suffix: str = "", test: data.CifarArrays | None = None,
        extra_config: Mapping[str, Any] | None = None) -> list[AttackResult]:
    """Attack ``model`` at every point of ``points`` (numbers or split names) under ``policy``
    with every attack of ``attacks`` (names in :data:`ATTACKS`), once per entry of ``ir_bits``
    (None: the IR as the policy sends it; ``b``: re-quantized to ``b`` bits; a mapping gives the
    widths per point). Every attack is scored on the same ``images`` test images (default
    ``settings.test_images``).

    Results come back in the order attack × point × width. ``net``/``meta`` (from
    ``train.load_or_train``) avoid reloading the checkpoint; ``settings`` overrides
    ``prof.attack``; ``force`` reruns cached results; ``threads``: torch CPU threads while the
    attacks run (None: unchanged); ``tag_suffix``: appended to each result's tag (:func:`plan`);
    ``test``: the evaluated images themselves instead of ``images`` drawn from the test split
    (:func:`attack_data`), with ``extra_config`` saying which in every fingerprint (the
    fingerprint records only their number)."""
    if tag_suffix and not all(c.isalnum() or c in "-_" for c in tag_suffix):
        raise ValueError(f"tag_suffix={tag_suffix!r} goes into file names: use letters, digits, - and _")
    prof = resolve_profile(profile)
    settings = settings or prof.attack
    dataset = dataset or prof.dataset_for(model)
    for name in attacks:
        ATTACKS.entry(name)  # an unknown attack is refused with the list of known ones
    point_list = resolve_points(model, points)
    per_point = bits_plan(point_list, ir_bits)
    if net is None or meta is None:
        net, meta = train.load_or_train(model, prof, dataset=dataset, allow_partial=allow_partial,
                                        progress=progress)
    net.eval()
    for p in point_list:
        models.check_partition(net, p)
        resolve(net, p, policy)  # validate early, naming a bad entry
    adata = attack_data(dataset, settings, images, allow_partial, test=test)
    hits, jobs = plan(model, prof, attacks, per_point, policy, settings, dataset, meta, adata, force,
                      tag_suffix, extra_config)
    if jobs:
        hits.update(_run_jobs(jobs, net, policy, settings, adata, model=model, profile=prof.name,
                              dataset=dataset, provenance=adata.provenance(meta), samples=samples,
                              progress=progress, threads=threads))
    return [hits[(a, p, b)] for a in attacks for p in point_list for b in per_point[p]]


def _run_jobs(jobs: list[Job], net: nn.Module, policy: Policy, settings: AttackSettings,
              adata: AttackData, *, model: str, profile: str, dataset: str, provenance: str,
              samples: int, progress: bool, threads: int | None) -> dict:
    """The IRs of every point in one pass per image set, then every job in order (each result
    saved as soon as it is done)."""
    points = sorted({j.p for j in jobs})
    decoder_points = sorted({j.p for j in jobs if j.attack == InverseNetwork.name})
    test_units = compute_irs(net, policy, points, adata.test.images, dataset)
    aux_units = (compute_irs(net, policy, decoder_points,
                             adata.aux(InverseNetwork.name).images, dataset)
                 if decoder_points else {})
    baseline = mean_image_baseline(adata)
    x_test01 = data.to_unit(adata.test.images)
    done, proxies, victims = {}, {}, {}
    with cpu_threads(threads):
        for job in jobs:
            split = (job.p, job.bits)
            test_ir = as_sent(test_units[job.p], net, job.p, policy, job.bits)
            aux_ir = (as_sent(aux_units[job.p], net, job.p, policy, job.bits)
                      if job.p in aux_units else None)
            if split not in victims:  # one deployed split serves every attack on it
                victims[split] = deploy(net, job.p, policy, dataset=dataset, ir_bits=job.bits,
                                        model=model)
                proxies[split] = float(privacy.privacy(x_test01, test_ir.float(), dist="mse"))
            done[job.key] = execute(job, victims[split], policy, settings, adata, test_ir, aux_ir,
                                    proxies[split], baseline, model=model, profile=profile,
                                    provenance=provenance, samples=samples, progress=progress)
    return done


__all__ = ["run", "plan", "Job", "AttackData", "attack_data", "to_aux", "bits_plan",
           "compute_unit_irs", "compute_irs", "as_sent", "cpu_threads", "execute", "fit_attack",
           "mean_image_baseline", "ATTACK_SEED"]
