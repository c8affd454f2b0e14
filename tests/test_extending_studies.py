"""Extending notebooks 08, 09 and 10 from outside paperlib: an attack, a defence and a scheduler
registered here, in the test module, appear in the studies' outputs with nothing in paperlib
edited for them (docs/decisions/layout.md §6).

* a toy attack (``ATTACKS``, with its own settings type): a profile's values for it, by its
  registered name, reach the attack, and the runner gives it the images its settings ask for; it
  outputs the mean of those images, so on the mean-image baseline's images it scores the baseline;

* a toy defence (``DEFENCES``, with its own ``sweep=`` and its own settings type): swept by the
  defence study's :func:`~paperlib.studies.nb09_defences.sweep` and evaluated by ``run_study``; at
  strength 0 it is no defence, so its row equals the undefended split's; a profile sets its
  settings by its registered name (``DefenceSettings.defences``);
* two toy schedulers (``SCHEDULERS``): in the network grid and the E3 table of
  :mod:`paperlib.studies.nb10_network`; each copies a registered one (the device-only
  path, the static strategy asked per request), so their rows equal that one's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from paperlib import attacks
from paperlib.attacks import ATTACKS, Attack, AuxNeed
from paperlib.attacks.victim import deploy
from paperlib.defences import costs
from paperlib.defences.base import (DEFENCES, Context, Defence, configurations, own_settings,
                                    replace_edge, settings_for, sweep_grid)
from paperlib.defences.evaluate import evaluate
from paperlib.infra import io
from paperlib.method import models
from paperlib.method.profiles import get_profile
from paperlib.network import paths
from paperlib.network.link import Link
from paperlib.network.schedulers import SCHEDULERS
from paperlib.network.simulate import Scenario
from paperlib.search.context import build_context
from paperlib.studies import nb09_defences, nb10_network

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py

TOY_DEFENCE = "toy-scale"
TOY_ATTACK = "toy-mean"


# --- notebook 08: an attack registered here -------------------------------------------------------

@dataclass(frozen=True)
class ToyMeanSettings:
    """The toy attack's own settings: how many of the attacker's training images it averages, and
    how far from mid-grey towards their mean it answers (0: always mid-grey)."""

    images: int | None = 4
    shrink: float = 0.0

    def aux_need(self) -> AuxNeed:
        return AuxNeed(self.images)


class ToyMean(Attack):
    """Black-box toy: answers every IR with mid-grey moved ``shrink`` of the way to the mean of
    its own images."""

    name = TOY_ATTACK
    threat = "black-box"

    def __init__(self, settings: ToyMeanSettings) -> None:
        super().__init__()
        self.settings = settings

    @classmethod
    def from_settings(cls, settings: ToyMeanSettings | None = None, seed: int = 0) -> "ToyMean":
        return cls(settings or ToyMeanSettings())

    def config(self) -> dict[str, Any]:
        return {"images": self.settings.images, "shrink": self.settings.shrink}

    def _fit(self, access, aux) -> None:
        self.mean, self.seen = aux.images.mean(0, keepdim=True), len(aux)

    def _invert(self, ir: torch.Tensor) -> torch.Tensor:
        return (0.5 + self.settings.shrink * (self.mean - 0.5)).expand(len(ir), -1, -1, -1)

    def details(self) -> dict[str, Any]:
        return {"seen": self.seen}


@pytest.fixture()
def synthetic_env(synthetic_search_dir, tmp_path, monkeypatch):
    """The synthetic data set (partial allowed; enough test images for the report split that
    notebook 09's rows are measured on) and a results folder of the test's own."""
    monkeypatch.setenv("PAPERLIB_DATA_DIR", str(synthetic_search_dir))
    monkeypatch.setenv("PAPERLIB_ALLOW_PARTIAL_DATA", "1")
    monkeypatch.setenv("PAPERLIB_RESULTS_DIR", str(tmp_path / "results"))


@pytest.fixture()
def toy_attack():
    ATTACKS.add(TOY_ATTACK, ToyMean, label="toy mean", threat="black-box", color="C6",
                marker="x", settings=ToyMeanSettings)
    yield TOY_ATTACK
    ATTACKS.unregister(TOY_ATTACK)


def test_a_registered_attack_gets_its_settings_from_the_profile(toy_attack, synthetic_env):
    base = get_profile("smoke")
    assert attacks.settings_for(toy_attack, base.attack) == ToyMeanSettings()  # not named: defaults
    # the toy averages the same 12 images as the inverse network queries with (the baseline's)
    settings = (base.attack.with_attack(toy_attack, images=12, shrink=1.0)
                .with_attack("inverse-network", query_images=12))
    prof = replace(base, attack=settings)
    assert attacks.build(toy_attack, settings).config() == {"images": 12, "shrink": 1.0}
    torch.manual_seed(0)
    net = models.build("cifar10cnn", num_classes=10).eval()
    meta = {"accuracy": 0.1, "date": "test", "data": "synthetic", "seed": 0}
    (r,) = attacks.run("cifar10cnn", prof, [2], attacks=(toy_attack,), net=net, meta=meta, images=6,
                       progress=False, allow_partial=True)
    assert r.aux_images == 12 and r.details["seen"] == 12
    assert r.fingerprint["config"] == {"images": 12, "shrink": 1.0} and r.fingerprint["aux"][0] == 12
    # the mean of the baseline's own images scores exactly the mean-image baseline
    assert r.ssim == pytest.approx(r.baseline_ssim, abs=1e-6)
    assert r.psnr == pytest.approx(r.baseline_psnr, abs=1e-4)
    # a value for a field the toy's settings lack is refused by name
    bad = replace(prof, attack=settings.with_attack(toy_attack, imgs=3))
    with pytest.raises(ValueError, match=r"AttackSettings.attacks\['toy-mean'\]: unknown setting\(s\) "
                                         r"imgs; ToyMeanSettings has images, shrink"):
        attacks.run("cifar10cnn", bad, [2], attacks=(toy_attack,), net=net, meta=meta, images=6,
                    progress=False, allow_partial=True)


# --- notebook 09: a defence registered here -------------------------------------------------------


class Scale(nn.Module):
    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, ir: torch.Tensor) -> torch.Tensor:
        return ir if self.factor == 1 else ir * self.factor


@dataclass(frozen=True)
class ToySettings:
    """The toy defence's own settings: ``gain`` multiplies its factor (1: the factor alone)."""

    gain: float = 1.0


class ToyScale(Defence):
    """The IR multiplied by ``gain × (1 + strength)`` (one MAC per element when strength > 0; the
    toy's cost ignores ``gain``, which the profiles leave at 1)."""

    name = TOY_DEFENCE

    def __init__(self, strength: float = 1.0) -> None:
        self.strength = float(strength)
        self.seen: ToySettings | None = None  # the settings of the latest apply

    def config(self) -> dict[str, Any]:
        return {"strength": self.strength}

    def tag(self) -> str:
        return f"toy-scale-s{self.strength:g}"

    def edge_macs(self, info) -> float:
        return float(math.prod(info.ir_shape)) if self.strength > 0 else 0.0

    def apply(self, victim, context: Context | None = None):
        self.seen = own_settings(context, self.name)
        edge = nn.Sequential(victim.edge_module, Scale(self.seen.gain * (1.0 + self.strength)))
        return replace_edge(victim, edge.eval(), self.tag())


@pytest.fixture()
def toy_defence():
    DEFENCES.add(TOY_DEFENCE, ToyScale, label="toy scaling", color="C5", marker="x",
                 sweep={"strength": (0.0, 3.0)}, settings=ToySettings)
    yield TOY_DEFENCE
    DEFENCES.unregister(TOY_DEFENCE)


def test_a_registered_defence_is_swept_at_its_own_values_or_the_profiles(toy_defence):
    settings = get_profile("smoke").defence
    swept = nb09_defences.sweep(settings)
    toys = [d for d in swept if d.name == toy_defence]
    assert [d.strength for d in toys] == [0.0, 3.0]
    assert swept[-2:] == toys  # registration order: after the package's defences
    assert list(dict.fromkeys(d.name for d in swept[:-2])) == ["noise", "dropout", "datamix",
                                                               "proactive"]
    # the profile replaces the values by the registered name, the rest stays the registration's
    chosen = replace(settings, sweeps={**settings.sweeps, toy_defence: {"strength": (1.5,)}})
    assert sweep_grid(toy_defence, chosen) == {"strength": (1.5,)}
    assert [d.strength for d in configurations(chosen, [toy_defence])] == [1.5]
    bad = replace(settings, sweeps={toy_defence: {"strenght": (1.0,)}})
    with pytest.raises(ValueError, match=r"strenght.*strength"):
        configurations(bad)


def test_the_defence_study_evaluates_a_registered_defence(toy_defence, synthetic_env):
    base = get_profile("smoke")
    prof = replace(base, defence=replace(base.defence, attacks=("rmle",), images=4,
                                         points=1))
    torch.manual_seed(0)
    net = models.build("cifar10cnn", num_classes=10).eval()
    meta = {"accuracy": 0.1, "date": "test", "data": "synthetic", "seed": 0}
    ctx = build_context("cifar10cnn", prof, trained=(net, meta), progress=False)
    rows = nb09_defences.run_study(ctx, with_rl=False, defences=(toy_defence,))
    table = nb09_defences.frame(rows)
    toy = table[table.defence == toy_defence]
    assert list(toy.tag) == ["toy-scale-s0", "toy-scale-s3"]
    assert set(toy.label) == {"toy scaling"} and set(toy.scheme) == {"toy scaling"}
    (p,) = set(toy.p)
    plain = evaluate("cifar10cnn", None, p, 32, profile=prof, context=ctx)
    zero, strong = (r for r in rows if r.defence == toy_defence)
    # strength 0 is no defence: the same top-1, edge energy and attack success
    assert zero.top1 == plain.top1
    assert zero.energy == pytest.approx(plain.energy)
    assert zero.defence_macs == 0 and zero.attacks["rmle"]["ssim"] == pytest.approx(
        plain.attacks["rmle"]["ssim"], abs=1e-6)
    # scaling costs one MAC per IR element on the edge (Eq. 7's energy per MAC at 32 bits)
    n = float(math.prod(deploy(net, p, 32, dataset="cifar10", model="cifar10cnn").info.ir_shape))
    assert strong.defence_macs == n
    assert strong.energy_no_tx == pytest.approx(plain.energy_no_tx + costs.defence_mj(n))


def test_a_registered_defence_gets_its_settings_from_the_profile(toy_defence, synthetic_env):
    base = get_profile("smoke")
    # no values: the type's defaults; values by registered name; unknown fields refused by name
    assert settings_for(toy_defence, base.defence.defences) == ToySettings()
    values = {**base.defence.defences, toy_defence: {"gain": 2.0}}
    assert settings_for(toy_defence, values) == ToySettings(gain=2.0)
    with pytest.raises(ValueError, match=r"\['toy-scale'\]: unknown setting\(s\) gian; "
                                         r"ToySettings has gain"):
        settings_for(toy_defence, {toy_defence: {"gian": 2.0}})
    # evaluate hands them to the defence and keys its row and its attacks with them
    prof = replace(base, defence=replace(base.defence, attacks=("rmle",), images=4,
                                         defences=values))
    torch.manual_seed(0)
    net = models.build("cifar10cnn", num_classes=10).eval()
    meta = {"accuracy": 0.1, "date": "test", "data": "synthetic", "seed": 0}
    toy = ToyScale(0.0)
    row = evaluate("cifar10cnn", toy, 4, 32, profile=prof, net=net, meta=meta)
    assert toy.seen == ToySettings(gain=2.0)
    assert row.fingerprint["defence_settings"] == {toy_defence: {"gain": 2.0}}
    attack = io.read_json(row.attacks["rmle"]["path"])["fingerprint"]
    assert attack["config"]["defence_budgets"] == {toy_defence: {"gain": 2.0}}
    # at strength 0 the profile's gain 2 doubles the IR the toy sends
    victim = deploy(net, 4, 32, dataset="cifar10", model="cifar10cnn")
    ctx = Context(net=net, meta=meta, p=4, policy=32, dataset="cifar10", settings=prof.defence,
                  profile=prof.name, defence_settings=settings_for(toy_defence, values))
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(ToyScale(0.0).apply(victim, ctx).edge_module(x),
                                   2.0 * victim.edge_module(x))


# --- notebook 10: a scheduler registered here ----------------------------------------------------

class PerRequestStatic:
    """The static strategy, asked per request (the per-request engine, not the vectorised one)."""

    def __init__(self, index: int) -> None:
        self.index = index

    def fixed(self, images: np.ndarray) -> None:
        return None

    def choose(self, req) -> tuple[int, int]:
        return self.index, -1


def device_full(table, ps, floor, rtt):
    return SCHEDULERS.get("device-only")(table, ps, floor, rtt)


def static_per_request(table, ps, floor, rtt):
    return PerRequestStatic(table[ps.static.name])


TOY_SCHEDULERS = {"toy-device": (device_full, "device-only"),
                  "toy-static-per-request": (static_per_request, "static")}


@pytest.fixture()
def toy_schedulers():
    for name, (factory, _) in TOY_SCHEDULERS.items():
        SCHEDULERS.add(name, factory, label=name, adaptive=False, contains_static=False)
    yield {name: copied for name, (_, copied) in TOY_SCHEDULERS.items()}
    for name in TOY_SCHEDULERS:
        SCHEDULERS.unregister(name)


def test_the_network_grid_and_e3_table_hold_a_registered_scheduler(toy_schedulers):
    ps = paths.synthetic("resnet18", images=50)
    scenarios = [Scenario(Link.fixed_rate(rate, "lte"), duration_ms=20_000.0, rtt_ms=0.0)
                 for rate in (0.5e6, 2e6)]
    grid = nb10_network.run_grid(ps, scenarios, floors=(0.3, 0.5))
    assert set(toy_schedulers) <= set(grid.scheduler)
    e3 = nb10_network.e3_table(grid).set_index(["model", "network", "scheduler"])
    numeric = [c for c in grid.columns if c not in ("scheduler", "model", "trace", "network")]
    for toy, copied in toy_schedulers.items():
        mine = grid[grid.scheduler == toy].reset_index(drop=True)
        theirs = grid[grid.scheduler == copied].reset_index(drop=True)
        assert len(mine) == len(scenarios) * 2
        np.testing.assert_allclose(mine[numeric].to_numpy(float), theirs[numeric].to_numpy(float),
                                   rtol=1e-9, atol=1e-12, err_msg=toy)
        np.testing.assert_allclose(e3.loc[("resnet18", "lte", toy)].to_numpy(float),
                                   e3.loc[("resnet18", "lte", copied)].to_numpy(float), rtol=1e-9)
