"""One attack's result and its cache files (docs/decisions/attacks.md §6).

``<results>/<profile>/attacks/<attack>/<model>-p<p>-<policy tag>-n<images>.json`` holds the
numbers and the fingerprint they were computed under (attack, its version and hyper-parameters,
policy, IR bits, checkpoint, data); the ``.pt`` beside it holds what the attack learnt (a decoder or
a shadow edge) and the first few originals and reconstructions (uint8), for figures. Both are
written atomically (``paperlib.infra.io``), the ``.pt`` first, so a ``.json`` always has its ``.pt``. A
result is reused when its fingerprint matches and recomputed (files replaced) otherwise; a run of
many attacks that is interrupted resumes at the first one not written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .. import __version__
from ..infra import config, io, result_cache
from ..method import data


@dataclass
class AttackResult(io.JsonRecord):
    """One attack on one split: SSIM/PSNR of the reconstructions (mean and sd over the test
    images), the paper's P of the same IRs, and the mean-image reference."""

    attack: str
    model: str
    profile: str
    p: int
    split: str  # the point's name (``ReLU22``) or ``p<p>``
    tag: str  # policy tag (``fp32``, ``w8a8``, ``mixed-…``, ``…-ir4``)
    policy: Any  # int or per-layer pairs
    ir_bits: int  # bits of the IR the attacker sees
    ir_shape: list[int]
    ssim: float
    ssim_sd: float
    psnr: float
    psnr_sd: float
    mse: float
    privacy: float  # the paper's P (Eq. 1, MSE) of the same IR on the same test images
    baseline_ssim: float  # SSIM of the mean query image: an attacker who learnt nothing
    baseline_psnr: float
    aux_images: int  # the attacker's own images (0 for the white-box attack)
    test_images: int
    seconds: float
    train_loss: list[float] = field(default_factory=list)
    attacker: str = ""  # what the attack trained (decoder / shadow), in words
    details: dict[str, Any] = field(default_factory=dict)
    data: str = ""
    fingerprint: dict[str, Any] = field(default_factory=dict)
    path: str = ""

    def row(self) -> dict[str, Any]:
        """A flat record for a DataFrame."""
        return {"attack": self.attack, "model": self.model, "p": self.p, "split": self.split,
                "tag": self.tag, "ir_bits": self.ir_bits,
                "ir_shape": "x".join(map(str, self.ir_shape)), "ssim": self.ssim,
                "ssim_sd": self.ssim_sd, "psnr": self.psnr, "psnr_sd": self.psnr_sd,
                "mse": self.mse, "privacy": self.privacy, "baseline_ssim": self.baseline_ssim,
                "baseline_psnr": self.baseline_psnr, "test_images": self.test_images,
                "final_train_loss": self.train_loss[-1] if self.train_loss else float("nan"),
                "seconds": self.seconds}


def attacks_dir(profile: str) -> Path:
    """``<results>/<profile>/attacks`` (``$PAPERLIB_RESULTS_DIR`` respected)."""
    return config.results_dir() / profile / "attacks"


def result_paths(attack: str, model: str, profile: str, p: int, tag: str,
                 images: int) -> tuple[Path, Path]:
    """The ``.json`` and ``.pt`` of one attack result. The suffixes are appended, never put in
    place of what follows a dot: a tag such as ``dropout-r0.25`` keeps its own file, apart from
    ``dropout-r0.5``'s."""
    stem = f"{model}-p{int(p)}-{tag}-n{int(images)}"
    folder = attacks_dir(profile) / attack
    return folder / f"{stem}.json", folder / f"{stem}.pt"


def fingerprint(attack: str, version: int, attack_config: dict[str, Any], policy: Any,
                ir_bits: int | None, dataset: str, meta: dict, aux: data.CifarArrays | None,
                test: data.CifarArrays, seed: int) -> dict[str, Any]:
    """Everything a result depends on (JSON-normalised, so it compares equal after a reload)."""
    fp = {"attack": attack, "version": version, "config": attack_config, "policy": policy,
          "ir_bits": ir_bits, "dataset": dataset,
          "checkpoint": {k: meta.get(k) for k in ("accuracy", "date", "data", "seed")},
          "aux": [len(aux), aux.partial] if aux is not None else None,
          "test": [len(test), test.partial], "seed": seed}
    return io.json_safe(fp)


def cached(json_path: Path, pt_path: Path, fp: dict[str, Any]) -> AttackResult | None:
    """The stored result when both files exist and its fingerprint is ``fp``
    (:mod:`paperlib.infra.result_cache`)."""
    stored = result_cache.load_json(json_path, fp, companions=(pt_path,))
    return None if stored is None else AttackResult.from_dict({**stored, "path": str(json_path)})


def save(result: AttackResult, state: dict[str, Any], originals_uint8: torch.Tensor,
         reconstructions01: torch.Tensor) -> AttackResult:
    """Write the ``.pt`` (state, samples) and then the ``.json`` of ``result`` (at ``result.path``)."""
    json_path = Path(result.path)
    with io.atomic_path(json_path.with_suffix(".pt")) as tmp:
        torch.save({"state": state, "ir_shape": list(result.ir_shape),
                    "originals": originals_uint8.clone(),
                    "reconstructions": (reconstructions01 * 255).round().clamp(0, 255).to(torch.uint8),
                    "version": __version__}, tmp)
    result_cache.save_json(json_path, result.fingerprint,
                           {k: v for k, v in result.to_dict().items() if k not in ("path", "fingerprint")})
    return result


def _blob(result: AttackResult | str | Path) -> dict[str, Any]:
    path = Path(result.path if isinstance(result, AttackResult) else result).with_suffix(".pt")
    if not path.exists():
        raise FileNotFoundError(f"no stored attack at {path}; run the attack first")
    return torch.load(path, map_location="cpu", weights_only=True)


def load_samples(result: AttackResult | str | Path) -> tuple[torch.Tensor, torch.Tensor]:
    """The stored originals and reconstructions (float32 in [0, 1]) of an attack."""
    blob = _blob(result)
    return data.to_unit(blob["originals"]), blob["reconstructions"].float() / 255.0


def load_state(result: AttackResult | str | Path) -> tuple[dict[str, Any], list[int]]:
    """What the attack learnt (e.g. ``{"decoder": state_dict}``) and the IR shape."""
    blob = _blob(result)
    return blob["state"], blob["ir_shape"]


__all__ = ["AttackResult", "attacks_dir", "result_paths", "fingerprint", "cached", "save",
           "load_samples", "load_state"]
