"""The device path (paperlib/method/device.py, docs/decisions/scale.md §6): device choice, on-device
batches identical to ``data.batches``, CPU training in float32 (``PAPERLIB_CPU_BF16=off``, which the
tests pin) bit for bit as before the fast path, and the CPU's bf16 setting."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from paperlib.method import data, device, train

CUDA = torch.cuda.is_available()


def arrays(n: int = 37, seed: int = 0, dataset: str = "cifar10") -> data.CifarArrays:
    gen = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=gen)
    labels = torch.randint(0, 10, (n,), generator=gen)
    return data.CifarArrays(dataset, "train", images, labels, partial=True,
                            classes=tuple(str(i) for i in range(10)))


def tiny_net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(16, 10))


# --- device choice -----------------------------------------------------------------------------

def test_resolve_reads_config_and_refuses_bad_names(monkeypatch):
    monkeypatch.setenv("PAPERLIB_DEVICE", "cpu")
    assert device.resolve() == torch.device("cpu")
    monkeypatch.delenv("PAPERLIB_DEVICE")
    assert device.resolve() == torch.device("cuda" if CUDA else "cpu")  # auto
    assert device.resolve("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="PAPERLIB_DEVICE"):
        device.resolve("gpu0")
    if not CUDA:
        with pytest.raises(RuntimeError, match="no CUDA"):
            device.resolve("cuda")


def test_cpu_plan_changes_nothing(monkeypatch):
    monkeypatch.setenv("PAPERLIB_COMPILE", "1")
    monkeypatch.setenv("PAPERLIB_CPU_BF16", "off")
    plan = device.plan_for("cpu")
    assert (plan.autocast, plan.channels_last, plan.compile) == (False, False, False)
    net = tiny_net()
    x = torch.rand(2, 3, 8, 8)
    assert plan.prepare(net) is net and plan.compiled(net) is net and plan.input(x) is x
    assert net[0].weight.is_contiguous()


def test_cuda_plan_is_the_fast_one(monkeypatch):
    monkeypatch.delenv("PAPERLIB_COMPILE", raising=False)
    plan = device.DevicePlan(torch.device("cuda"), autocast=True, channels_last=True)
    x = plan.input(torch.rand(2, 3, 8, 8))  # memory formats work on any device
    assert x.is_contiguous(memory_format=torch.channels_last)
    net = plan.prepare(tiny_net())
    assert net[0].weight.is_contiguous(memory_format=torch.channels_last)
    if CUDA:
        fast = device.plan_for("cuda")
        assert (fast.autocast, fast.channels_last, fast.compile) == (True, True, False)
        assert device.plan_for("cuda", compile=True).compile


@pytest.mark.parametrize("spec, autocast", [("off", False), ("on", True), ("auto", None)])
def test_cpu_bf16_setting(monkeypatch, spec, autocast):
    monkeypatch.setenv("PAPERLIB_CPU_BF16", spec)
    plan = device.plan_for("cpu")
    want = device.cpu_has_bf16() if autocast is None else autocast
    assert (plan.autocast, plan.channels_last, plan.compile) == (want, False, False)
    assert plan.precision == ("bf16-autocast" if want else "fp32")
    with plan.autocast_context():
        y = nn.Linear(4, 2)(torch.ones(3, 4))
    assert y.dtype == (torch.bfloat16 if want else torch.float32)


def test_cpu_bf16_setting_refuses_other_words(monkeypatch):
    monkeypatch.setenv("PAPERLIB_CPU_BF16", "1")
    with pytest.raises(ValueError, match="PAPERLIB_CPU_BF16='1'.*auto, on, off"):
        device.plan_for("cpu")


def test_cpu_bf16_default_is_off_and_an_argument_wins(monkeypatch):
    monkeypatch.delenv("PAPERLIB_CPU_BF16", raising=False)
    assert not device.plan_for("cpu").autocast
    monkeypatch.setenv("PAPERLIB_CPU_BF16", "on")
    assert not device.plan_for("cpu", cpu_bf16="off").autocast


def test_bf16_fit_computes_in_bf16_keeps_float32_weights_and_the_loss(monkeypatch):
    """Autocast computes in bf16 but keeps float32 parameters: the logits are bf16, and two steps'
    mean loss and the weights after them agree with float32 to bf16's precision (8 bits of
    mantissa) without being equal."""
    losses, weights, logits = {}, {}, {}
    for spec in ("off", "on"):
        monkeypatch.setenv("PAPERLIB_CPU_BF16", spec)
        net = tiny_net()
        net[-1].register_forward_hook(lambda _m, _i, out: logits.__setitem__(spec, out.dtype))
        opt = torch.optim.SGD(net.parameters(), lr=0.1)
        losses[spec] = train.fit(net, data.batches(arrays(), 16), opt)  # 3 steps of 37 images
        weights[spec] = torch.cat([p.detach().flatten() for p in net.parameters()])
        assert all(p.dtype == torch.float32 for p in net.parameters())
    assert (logits["off"], logits["on"]) == (torch.float32, torch.bfloat16)
    assert losses["on"] == pytest.approx(losses["off"], rel=0.02) and losses["on"] != losses["off"]
    assert torch.allclose(weights["on"], weights["off"], atol=0.02)
    assert not torch.equal(weights["on"], weights["off"])


# --- the augmenter and the batches -------------------------------------------------------------

def test_apply_augmentation_known_crops():
    img = torch.arange(2 * 3 * 32 * 32, dtype=torch.int64).view(2, 3, 32, 32)
    zero, four = torch.tensor([0, 0]), torch.tensor([4, 4])
    same = data.apply_augmentation(img, four, four, torch.tensor([False, False]))
    assert torch.equal(same, img)  # offset 4 into the 4-pixel padding: the image itself
    flipped = data.apply_augmentation(img, four, four, torch.tensor([True, False]))
    assert torch.equal(flipped[0], img[0].flip(-1)) and torch.equal(flipped[1], img[1])
    corner = data.apply_augmentation(img, zero, zero, torch.tensor([False, False]))
    assert torch.equal(corner[:, :, :4], torch.zeros_like(corner[:, :, :4]))  # padding rows
    assert torch.equal(corner[:, :, 4:, 4:], img[:, :, :28, :28])


def test_draws_then_apply_is_augment():
    images = arrays(9).images
    a = data.augment(images, torch.Generator().manual_seed(3))
    b = data.apply_augmentation(images, *data.draw_augmentation(9, torch.Generator().manual_seed(3)))
    assert torch.equal(a, b)


def reference_batches(ds: data.CifarArrays, batch_size: int, *, shuffle: bool,
                      augment_images: bool, seed: int, drop_last: bool):
    """``data.batches`` as it was before the device path: each batch augmented as it is sliced."""
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(ds), generator=gen) if shuffle else torch.arange(len(ds))
    stop = len(ds) - (len(ds) % batch_size if drop_last else 0)
    for start in range(0, stop, batch_size):
        idx = order[start:start + batch_size]
        images = data.augment(ds.images[idx], gen) if augment_images else ds.images[idx]
        yield data.normalize(images, ds.dataset), ds.labels[idx]


@pytest.mark.parametrize("batch_size,shuffle,augment,drop_last",
                         [(8, True, True, False), (8, True, True, True), (37, False, False, False),
                          (5, True, False, False), (64, True, True, False)])
def test_batches_equal_the_old_per_batch_loop(batch_size, shuffle, augment, drop_last):
    ds = arrays()
    old = list(reference_batches(ds, batch_size, shuffle=shuffle, augment_images=augment, seed=11,
                                 drop_last=drop_last))
    new = list(data.batches(device.resident(ds), batch_size, shuffle=shuffle,
                            augment_images=augment, seed=11, drop_last=drop_last))
    assert len(old) == len(new) > 0
    for (xa, ya), (xb, yb) in zip(old, new):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)  # bit for bit


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
def test_cuda_batches_equal_cpu_batches():
    ds = arrays(70)
    cpu = list(data.batches(ds, 16, shuffle=True, augment_images=True, seed=2))
    gpu = list(data.batches(device.resident(ds, "cuda"), 16, shuffle=True, augment_images=True,
                            seed=2))
    for (xa, ya), (xb, yb) in zip(cpu, gpu):
        assert xb.device.type == "cuda"
        assert torch.equal(xa, xb.cpu()) and torch.equal(ya, yb.cpu())


def test_resident_copies_nothing_on_the_cpu():
    ds = arrays()
    r = device.resident(ds, "cpu")
    assert r.images is ds.images and r.labels is ds.labels and len(r) == len(ds)
    with pytest.raises(ValueError, match="batch_size"):
        next(data.batches(r, 0))


# --- CPU training bit for bit as before ----------------------------------------------------------

def reference_finetune(net: nn.Module, ds: data.CifarArrays, lr: float, momentum: float,
                       batch_size: int, max_batches: int, seed: int) -> list[float]:
    """The finetune loop as it was before the device path: host batches, plain SGD steps."""
    optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum)
    net.train()
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    batch_iter = reference_batches(ds, batch_size, shuffle=True, augment_images=True, seed=seed,
                                   drop_last=False)
    for _, (x, y) in zip(range(max_batches), batch_iter):
        loss = loss_fn(net(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def test_finetune_on_cpu_is_bit_identical_to_the_old_loop():
    ds = arrays(50)
    old, new = tiny_net(1), tiny_net(1)
    reference_finetune(old, ds, lr=0.05, momentum=0.9, batch_size=8, max_batches=5, seed=4)
    train.finetune(new, ds, lr=0.05, momentum=0.9, batch_size=8, max_batches=5, seed=4)
    assert old.state_dict().keys() == new.state_dict().keys()
    for name, value in old.state_dict().items():
        assert torch.equal(value, new.state_dict()[name]), name


def test_fit_loss_and_weights_match_host_batches():
    ds = arrays(40)
    a, b = tiny_net(2), tiny_net(2)
    host = [(x, y) for x, y in reference_batches(ds, 16, shuffle=True, augment_images=True, seed=9,
                                                 drop_last=False)]
    loss_a = train.fit(a, iter(host), torch.optim.SGD(a.parameters(), lr=0.1))
    loss_b = train.fit(b, data.batches(device.resident(ds), 16, shuffle=True, augment_images=True, seed=9),
                       torch.optim.SGD(b.parameters(), lr=0.1))
    assert loss_a == loss_b
    ref = tiny_net(2)
    opt = torch.optim.SGD(ref.parameters(), lr=0.1)
    total = 0.0
    for x, y in host:  # the old mean: a Python sum of loss.item() * batch size
        loss = nn.CrossEntropyLoss()(ref(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total += loss.item() * len(y)
    assert loss_a == total / len(ds)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), ref.parameters()))


def test_evaluate_counts_as_before():
    ds = arrays(45)
    net = tiny_net(3).eval()
    with torch.no_grad():
        correct = sum(int((net(x).argmax(1) == y).sum()) for x, y in data.batches(ds, 10))
    assert train.top1(net, ds, batch_size=10) == correct / len(ds)


def test_finetune_stays_float32_under_bf16(monkeypatch):
    """The quantization-loss finetune is part of ε's measurement: bf16 or not, it gives the float32
    weights bit for bit (docs/decisions/scale.md §6)."""
    weights = {}
    for spec in ("off", "on"):
        monkeypatch.setenv("PAPERLIB_CPU_BF16", spec)
        net = train.finetune(tiny_net(), arrays(), lr=0.1, momentum=0.9, batch_size=16)
        weights[spec] = [p.detach().clone() for p in net.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(weights["off"], weights["on"]))


def test_finetune_of_a_quantized_edge_stays_float32_under_bf16(monkeypatch):
    from paperlib.method import quant
    torch.manual_seed(0)
    base = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1),
                         nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(16, 10))
    weights = {}
    for spec in ("off", "on"):
        monkeypatch.setenv("PAPERLIB_CPU_BF16", spec)
        q = nn.Sequential(*[quant.wrap_layer(m, 4, 4) if isinstance(m, (nn.Conv2d, nn.Linear))
                            else m for m in copy.deepcopy(base)])
        net = train.finetune(q, arrays(), lr=0.1, momentum=0.9, batch_size=16)
        weights[spec] = [p.detach().clone() for p in net.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(weights["off"], weights["on"]))
