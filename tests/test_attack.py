"""The attack runner: results cached per attack and settings, resumable, in a fixed order; and the
acceptance test: on a trained smoke model the inverse network and the shadow attack beat the
mean-image reference at the first split point."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from paperlib import attacks
from paperlib.method import models
from paperlib.method.constants import FULL_PRECISION
from paperlib.method.profiles import get_profile

# study sizes, then each attack's own settings on top of the smoke profile's (AttackSettings.attacks)
TINY = (dict(test_images=4, images=3),
        {"rmle": dict(iterations=3),
         "inverse-network": dict(query_images=16, epochs=1, batch_size=8),
         "shadow": dict(labelled_images=16, epochs=1, batch_size=8, rmle_iterations=3)})


def smoke_with(study: dict, own: dict):
    """The smoke profile's AttackSettings with ``study`` fields and each attack's values in ``own``
    on top of the profile's (the values not named stay the profile's)."""
    settings = get_profile("smoke").attack
    for name, values in own.items():
        settings = settings.with_attack(name, **values)
    return dataclasses.replace(settings, **study)


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


@pytest.fixture()
def synthetic_data(synthetic_dir, monkeypatch):
    monkeypatch.setenv("PAPERLIB_DATA_DIR", str(synthetic_dir))
    monkeypatch.setenv("PAPERLIB_ALLOW_PARTIAL_DATA", "1")
    return synthetic_dir


def _mtimes(root):
    return {f"{p.parent.name}/{p.name}": p.stat().st_mtime_ns for p in sorted(root.rglob("attacks/*/*"))}


def test_results_are_cached_per_attack_and_resumable(synthetic_data, results_root):
    torch.manual_seed(0)
    net = models.build("cifar10cnn").eval()
    meta = {"accuracy": 0.1, "date": "test", "data": "synthetic", "seed": 0}
    settings = smoke_with(*TINY)
    kw = dict(net=net, meta=meta, settings=settings, images=settings.images, progress=False)
    names = ("rmle", "inverse-network", "shadow")
    first = attacks.run("cifar10cnn", "smoke", ["conv11", 4], FULL_PRECISION, attacks=names,
                        ir_bits={4: [None, 2]}, **kw)
    assert [(r.attack, r.split, r.tag) for r in first] == [
        (a, s, t) for a in names for s, t in (("conv11", "fp32"), ("pool1", "fp32"), ("pool1", "fp32-ir2"))]
    files = _mtimes(results_root)
    assert len(files) == 2 * 9  # a .json and a .pt per result
    r = first[4]  # inverse network at pool1, fp32
    assert r.ir_shape == [64, 16, 16] and r.ir_bits == FULL_PRECISION and first[5].ir_bits == 2
    assert 0 <= r.ssim <= 1 and np.isfinite(r.psnr) and r.privacy > 0
    assert r.test_images == 3 and r.aux_images == 16 and len(r.train_loss) == 1
    assert first[0].aux_images == 0 and "shadow_accuracy" in first[8].details
    assert all(x.baseline_ssim == first[0].baseline_ssim for x in first)  # one reference for all
    # a rerun only reloads
    again = attacks.run("cifar10cnn", "smoke", ["conv11", 4], FULL_PRECISION, attacks=names,
                        ir_bits={4: [None, 2]}, **kw)
    assert [x.ssim for x in again] == [x.ssim for x in first] and _mtimes(results_root) == files
    # an interrupted run resumes: only the missing result is computed
    (results_root / "smoke" / "attacks" / "shadow" / "cifar10cnn-p0-fp32-n3.json").unlink()
    attacks.run("cifar10cnn", "smoke", ["conv11", 4], FULL_PRECISION, attacks=names,
                ir_bits={4: [None, 2]}, **kw)
    now = _mtimes(results_root)
    changed = {n for n in files if now.get(n) != files[n]}
    assert changed == {"shadow/cifar10cnn-p0-fp32-n3.json", "shadow/cifar10cnn-p0-fp32-n3.pt"}
    # other rMLE settings rerun the rMLE results only
    more = settings.with_attack("rmle", iterations=4)
    attacks.run("cifar10cnn", "smoke", ["conv11"], FULL_PRECISION, attacks=names,
                **{**kw, "settings": more})
    later = _mtimes(results_root)
    assert {n for n in now if later[n] != now[n]} == {"rmle/cifar10cnn-p0-fp32-n3.json",
                                                      "rmle/cifar10cnn-p0-fp32-n3.pt"}
    # stored samples and the trained decoder come back
    originals, recon = attacks.load_samples(r)
    assert originals.shape == recon.shape == (3, 3, 32, 32)
    state, shape = attacks.load_state(r)
    assert attacks.load_decoder(state, shape)(torch.zeros(1, *shape)).shape == (1, 3, 32, 32)


def test_each_attack_gets_the_images_its_settings_ask_for(synthetic_data):
    from paperlib.attacks import runner

    settings = smoke_with(dict(test_images=4), {"inverse-network": dict(query_images=12),
                                                "shadow": dict(labelled_images=20)})
    adata = attacks.attack_data("cifar10", settings, allow_partial=True)
    assert len(adata.aux("inverse-network")) == 12 and len(adata.aux("shadow")) == 20
    assert adata.aux("rmle") is None and len(adata.test) == 4  # the white-box attacker has none
    # labels only where the settings ask for them (the query-free attacker's)
    assert runner.to_aux(adata, "inverse-network").labels is None
    assert len(runner.to_aux(adata, "shadow").labels) == 20
    # both come from one random order of the training split: the smaller set lies in the larger
    q, lab = adata.aux("inverse-network").images, adata.aux("shadow").images
    assert all(any(torch.equal(x, y) for y in lab) for x in q)
    # the mean-image baseline is the mean query image (docs/decisions/attacks.md §2)
    assert adata.reference is adata.aux("inverse-network")
    # evaluated images chosen by the caller (the RL reward's search images) are used as given
    chosen = adata.aux("shadow")
    own = attacks.attack_data("cifar10", settings, allow_partial=True, test=chosen)
    assert own.test is chosen and len(own.aux("inverse-network")) == 12
    with pytest.raises(ValueError, match="not both"):
        attacks.attack_data("cifar10", settings, 4, allow_partial=True, test=chosen)
    # a profile's value for a field the attack's settings lack is refused by name, before any run
    bad = settings.with_attack("rmle", iters=5)
    with pytest.raises(ValueError, match=r"AttackSettings.attacks\['rmle'\]: unknown setting\(s\) "
                                         r"iters; RMLESettings has iterations, l2, lr, tv"):
        attacks.attack_data("cifar10", bad, allow_partial=True)


def test_bad_requests_are_refused_by_name(synthetic_data, results_root):
    net = models.build("cifar10cnn").eval()
    kw = dict(net=net, meta={}, progress=False)
    with pytest.raises(ValueError, match="unknown split point 'ReLU99' for cifar10cnn"):
        attacks.run("cifar10cnn", "smoke", ["ReLU99"], **kw)
    with pytest.raises(ValueError, match="unknown attack 'gan'"):
        attacks.run("cifar10cnn", "smoke", [0], attacks=("gan",), **kw)
    with pytest.raises(ValueError, match="out of range"):
        attacks.run("cifar10cnn", "smoke", [15], **kw)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["cifar10cnn"])
def test_learned_attacks_beat_the_mean_image_on_a_trained_smoke_model(model, real_data_dir,
                                                                       results_root):
    """Acceptance: at the first split point, the inverse network and the shadow attack recover
    more than an attacker who outputs the mean image (SSIM and PSNR), and rMLE nearly all."""
    from paperlib.method import train

    net, meta = train.load_or_train(model, "smoke", allow_partial=True, progress=False)
    settings = smoke_with(*ACCEPTANCE)
    rs = attacks.run(model, "smoke", [0], FULL_PRECISION, net=net, meta=meta, settings=settings,
                     images=settings.images, attacks=("rmle", "inverse-network", "shadow"),
                     progress=False, allow_partial=True)
    by = {r.attack: r for r in rs}
    for name in ("inverse-network", "shadow"):
        r = by[name]
        assert r.ssim > r.baseline_ssim + 0.05, (name, r.ssim, r.baseline_ssim)
        assert r.psnr > r.baseline_psnr, (name, r.psnr, r.baseline_psnr)
    assert by["rmle"].ssim > 0.9


# budgets of the acceptance test: small, but enough for each attack to learn something. The smoke
# cifar10cnn is weak (about 26 % top-1), so its shadow is too; a stronger pull towards mid-grey
# (λ_2 = 3 instead of the profiles' 1) keeps the shadow's reconstruction from drifting in contrast
ACCEPTANCE = (dict(images=8),
              {"rmle": dict(iterations=60, lr=0.05),
               "inverse-network": dict(query_images=256, epochs=5, batch_size=32),
               "shadow": dict(labelled_images=256, epochs=4, batch_size=32, rmle_iterations=60,
                              rmle_l2=3.0)})


def test_within_point_policies_spread_over_processes_give_the_same_rows(synthetic_data, tmp_path,
                                                                         monkeypatch):
    """nb08_attacks.attack_policies: two worker processes give the rows one process gives, in the
    policies' order, each with its policy's index and edge energy (Eq. 7–8, no transmission)."""
    from paperlib.method import energy
    from paperlib.studies import nb08_attacks

    torch.manual_seed(0)
    net = models.build("cifar10cnn").eval()
    meta = {"accuracy": 0.1, "date": "test", "data": "synthetic", "seed": 0}
    settings = smoke_with(*TINY)
    pols = nb08_attacks.random_policies(net, 8, 3, seed=0)
    jobs = nb08_attacks.PolicyJobs("cifar10cnn", "smoke", net, meta, 8,
                                   dict(settings=settings, images=settings.images, progress=False,
                                        attacks=("rmle", "inverse-network")))
    rows = {}
    for workers in (1, 2):  # each in a results folder of its own: computed, never read back
        monkeypatch.setenv("PAPERLIB_RESULTS_DIR", str(tmp_path / f"w{workers}"))
        rows[workers] = nb08_attacks.attack_policies(jobs, pols, workers=workers)
    assert [(r["policy"], r["attack"]) for r in rows[1]] == [
        (i, a) for i in range(3) for a in ("rmle", "inverse-network")]
    for one, two in zip(rows[1], rows[2]):
        assert one["energy_mJ"] == energy.edge_energy(net, 8, pols[one["policy"]], transmission=False)
        assert one.keys() == two.keys()
        for k, v in one.items():
            if isinstance(v, float) and k != "seconds":
                assert v == pytest.approx(two[k], rel=1e-5, abs=1e-6, nan_ok=True), k
            elif k != "seconds":
                assert v == two[k], k
    with pytest.raises(ValueError, match="workers"):
        nb08_attacks.attack_policies(jobs, pols, workers=0)
