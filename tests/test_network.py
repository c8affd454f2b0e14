"""paperlib.network: traces (md5, format), the delivery-opportunity link, the latency/energy terms,
E3, the two simulation engines and the schedulers, on cases with known answers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import fakes  # noqa: I001  (tests/fakes.py: a result file load_result accepts)

from paperlib.infra import config
from paperlib.network import constants as K
from paperlib.network import costs, traces
from paperlib.network.link import Link
from paperlib.network import paths
from paperlib.network.paths import PathSet
from paperlib.network.schedulers import SCHEDULERS, ddnn_threshold
from paperlib.network.simulate import PathTable, Scenario, run_adaptive, run_fixed

SMALL_TRACE = "ATT-LTE-driving-2016"  # 19,101 lines: the smallest published trace


@pytest.fixture(scope="module")
def real_traces() -> Path:
    """The folder holding the published traces (``<data_dir>/network-traces``), else skip."""
    folder = traces.traces_dir()
    if not (folder / traces.spec(SMALL_TRACE).file).is_file():
        pytest.skip(f"no network traces in {folder}; set PAPERLIB_DATA_DIR")
    return folder


def _write_trace(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / traces.spec(name).file
    path.write_text(text)
    return path


# --- traces: format and md5 ------------------------------------------------------------------------

def test_parse_rules_of_mahimahi():
    assert traces.parse("1\n1\n3\n").tolist() == [1.0, 1.0, 3.0]
    for bad, words in (("", "no timestamps"), ("1\n\n2\n", "empty line 2"),
                       ("3\n2\n", "non-decreasing"), ("0\n0\n", "nonzero"), ("1\nx\n", "integer")):
        with pytest.raises(traces.TraceError, match=words):
            traces.parse(bad, "t.up")


def test_damaged_trace_is_refused_with_file_and_fix(tmp_path):
    path = _write_trace(tmp_path / traces.TRACES_FOLDER, SMALL_TRACE, "1\n2\n3\n")
    with pytest.raises(traces.TraceError) as err:
        traces.load(SMALL_TRACE, tmp_path)
    msg = str(err.value)
    assert str(path) in msg and "damaged" in msg and "make data" in msg
    assert traces.spec(SMALL_TRACE).md5 in msg


def test_missing_trace_names_the_fix(tmp_path):
    with pytest.raises(traces.TraceError, match="missing trace .*make data"):
        traces.load(SMALL_TRACE, tmp_path)


def test_published_traces_verify_and_match_their_manifest(real_traces, tmp_path):
    lines = traces.check_all(real_traces.parent)
    assert len(lines) == len(traces.CATALOGUE) and all("md5 verified" in line for line in lines)
    manifest = real_traces / traces.MANIFEST_FILE
    if manifest.exists():  # the catalogue's sums are the published manifest's
        assert traces.read_manifest(manifest) == {s.file: s.md5 for s in traces.CATALOGUE.values()}
    # the same bytes with one line changed are refused
    damaged = tmp_path / traces.TRACES_FOLDER
    damaged.mkdir()
    text = (real_traces / traces.spec(SMALL_TRACE).file).read_text().splitlines()
    text[10] = str(int(text[10]) + 1)
    (damaged / traces.spec(SMALL_TRACE).file).write_text("\n".join(text) + "\n")
    with pytest.raises(traces.TraceError, match="damaged"):
        traces.load(SMALL_TRACE, tmp_path)


def test_readme_mean_rates(real_traces):
    """The traces' README: mean capacity = lines x 12,000 bits / last timestamp."""
    readme = {"Verizon-LTE-short": 5.9, "TMobile-LTE-short": 13.3, "ATT-LTE-driving": 0.83,
              "ATT-LTE-driving-2016": 1.9, "TMobile-UMTS-driving": 0.94, "Verizon-EVDO-driving": 0.84}
    for name, mbps in readme.items():
        t = traces.load(name, real_traces.parent)
        assert t.mean_rate_bps / 1e6 == pytest.approx(mbps, abs=0.051)
        assert Link.from_trace(t).mean_rate_bps == pytest.approx(t.mean_rate_bps)


# --- the link ---------------------------------------------------------------------------------------

def test_constant_one_packet_per_ms_takes_ceil_b_over_12000_ms(tmp_path):
    path = tmp_path / "one-per-ms.up"
    path.write_text("1\n")  # Mahimahi's 12 Mbit/s trace: one opportunity every ms
    link = Link.from_trace(traces.read_file(path, "lte"))
    bits = np.array([1, 11_999, 12_000, 12_001, 24_000, 65_536, 1_000_000])
    for t in (0.0, 7.0, 12_345.0):
        np.testing.assert_array_equal(link.send_time(bits, t), np.ceil(bits / 12_000))
    assert link.send_time(0, 3.0) == 0.0
    assert link.send_time(12_000, 0.25) == pytest.approx(0.75)  # the opportunity at 1 ms


def test_several_packets_per_ms_and_the_repeat():
    link = Link("burst", "lte", np.array([1.0, 1.0, 1.0, 2.0]))  # 3 packets at 1 ms, 1 at 2 ms
    assert link.send_finish(4 * 12_000, 0.0) == 2.0
    assert link.send_finish(5 * 12_000, 0.0) == 3.0  # the second pass: 3, 3, 3, 4
    assert link.send_finish(12_000, 1.0) == 2.0  # data ready at 1 ms misses that ms's packets
    assert link.count_le(2.0) == 4 and link.count_lt(2.0) == 3 and link.count_lt(4.0) == 7
    # capacity over [0, 4): 3 + 1 + 3 packets
    assert link.capacity_bps(0.0, 4.0) == pytest.approx(7 * 12_000 / 4e-3)


def test_vectorised_send_equals_a_packet_by_packet_walk():
    rng = np.random.default_rng(0)
    schedule = np.sort(rng.integers(1, 400, 300)).astype(float)
    link = Link("random", "3g", schedule)
    times = [link.time_of(j) for j in range(3000)]
    starts = rng.uniform(0, 1500, 50)
    bits = rng.integers(1, 200_000, 50)
    for t, b in zip(starts, bits):
        n = math.ceil(b / 12_000)
        after = [x for x in times if x > t]  # opportunities strictly after the data is ready
        assert link.send_finish(b, t) == after[n - 1]


def test_fixed_rate_link_is_synthetic_and_exact():
    link = Link.fixed_rate(1e6, "paper")
    assert link.synthetic and link.mean_rate_bps == pytest.approx(1e6)
    assert link.send_time(65_536, 0.0) == pytest.approx(6 * 12.0)  # 6 packets, one per 12 ms


# --- latency and energy terms ---------------------------------------------------------------------

def test_compute_time_from_macs_and_cited_throughput():
    macs = 1e9
    expect = 2 * macs / (K.JETSON_TX1_PEAK_FLOPS * K.GPU_UTILISATION) * 1e3
    assert costs.device_ms(macs) == pytest.approx(expect)
    assert costs.device_ms(macs) / costs.cloud_ms(macs) == pytest.approx(
        K.GTX1080TI_PEAK_FLOPS / K.JETSON_TX1_PEAK_FLOPS)


def test_radio_energy_huang_model_and_per_bit_table():
    lte = K.network_type("lte")
    # 1 Mbit sent while busy 1 s at 1 Mbit/s: alpha + beta (mW x s = mJ)
    assert costs.radio_mj(lte, 1e6, 1000.0) == pytest.approx(438.39 + 1288.04)
    # the per-bit table of notebook 07 keeps its values (now derived from one coefficient table)
    old = {"Wi-Fi": 283.17e3 + 132.86e3 / 10.0, "4G (LTE)": 438.39e3 + 1288.04e3 / 6.0,
           "3G": 868.98e3 + 817.88e3 / 1.0}
    for k, v in old.items():
        assert K.RADIO_E_TRAN_PJ_PER_BIT[k] == pytest.approx(v, rel=1e-12)
    assert costs.radio_mj(K.network_type("paper"), 1e6, 5.0) == pytest.approx(0.1)  # 100 pJ/bit


def test_e3_by_hand_on_five_requests():
    successes = np.array([1, 0, 1, 1, 0])
    energy = np.array([2.0, 3.0, 1.0, 4.0, 5.0])
    # N_s / (N * mean E) = 3 / (5 * 3 mJ)
    assert costs.effective_energy_efficiency(successes, energy) == pytest.approx(0.2)


# --- the engines on a 5-request example ---------------------------------------------------------

def _toy_table(device_ms=(25.0, 2.0), cloud_ms=(0.0, 1.0), bits=(0, 36_000), device_mj=(1.0, 0.5),
               correct=((1, 0, 1, 1, 0), (1, 1, 1, 1, 1)), privacy=(np.nan, 0.9)) -> PathTable:
    bits = np.array(bits)
    return PathTable(paths=[], device_ms=np.array(device_ms), cloud_ms=np.array(cloud_ms),
                     bits=bits, packets=Link.packets(bits), device_mj=np.array(device_mj),
                     local=bits == 0, raw_image=np.zeros(len(bits), bool),
                     privacy=np.array(privacy), point=np.arange(len(bits)),
                     correct=np.array(correct, dtype=float),
                     index={f"path{i}": i for i in range(len(bits))})


class _Always:
    def __init__(self, choice):
        self.choice = list(choice)

    def choose(self, req):
        return self.choice[req.i], -1


def test_five_requests_by_hand_both_engines():
    """Arrivals every 20 ms, deadline 12 ms, 1 packet/ms link at 100 pJ/bit, RTT 0.

    r0 local: device busy 0-25 -> 25 ms, late.  r1 offload: device 25-27, packets at 28, 29, 30,
    cloud 1 ms -> 31, 11 ms, on time.  r2: 42, 43-45, 46 -> on time.  r3 local: 60-85, late.
    r4: device 85-87, 88-90, 91 -> 11 ms, on time. N_s = 3; energy 1 + 3 x (0.5 + 0.0036) + 1."""
    table = _toy_table()
    link = Link("1/ms", "paper", np.array([1.0]))
    sc = Scenario(link, fps=50.0, deadline_ms=12.0, duration_ms=100.0, rtt_ms=0.0, bounded=False)
    choice = np.array([0, 1, 1, 0, 1])
    images = np.arange(5)
    for out in (run_fixed(choice, table, sc, images=images),
                run_adaptive(_Always(choice), table, sc, images=images)):
        np.testing.assert_allclose(out.latency, [25.0, 11.0, 6.0, 25.0, 11.0])
        assert out.on_time.tolist() == [False, True, True, False, True]
        np.testing.assert_allclose(out.energy_mj, [1.0, 0.5036, 0.5036, 1.0, 0.5036])
        s = out.summary()
        assert s["e3_per_mj"] == pytest.approx(3 / 3.5108)
        assert s["deadline_miss_share"] == pytest.approx(0.4)
        assert s["mean_privacy"] == pytest.approx(0.9) and s["sent_share"] == pytest.approx(0.6)


def test_give_up_falls_back_to_the_device():
    """A 1 packet / 10 ms link: the 3-packet upload would end at 30 ms; with a 2 ms fallback and a
    12 ms deadline the scheduler gives up at 10 ms (one packet sent) and answers at 12 ms."""
    table = _toy_table(device_ms=(2.0, 0.0), cloud_ms=(0.0, 0.0), device_mj=(1.0, 0.0))
    link = Link("slow", "paper", np.array([10.0]))
    sc = Scenario(link, fps=10.0, deadline_ms=12.0, duration_ms=100.0, rtt_ms=0.0, bounded=False)

    class GiveUp:
        def choose(self, req):
            return 1, 0

    out = run_adaptive(GiveUp(), table, sc, images=np.zeros(1, int))
    assert out.gave_up[0] and out.answered_by[0] == 0 and out.on_time[0]
    assert out.latency[0] == pytest.approx(12.0)
    assert out.energy_mj[0] == pytest.approx(1.0 + 12_000 * 1e-7)  # fallback + one packet's 100 pJ/bit


def test_engines_agree_on_a_real_trace(real_traces):
    link = Link.from_trace(traces.load(SMALL_TRACE, real_traces.parent))
    table = _toy_table(device_ms=(3.0, 8.0, 1.0), cloud_ms=(0.0, 0.5, 0.1),
                       bits=(0, 65_536, 24_576), device_mj=(1.0, 0.3, 0.0),
                       correct=np.ones((3, 5)), privacy=(np.nan, 0.8, 0.05))
    sc = Scenario(link, duration_ms=60_000.0, bounded=False)
    n = sc.arrivals().size
    choice = np.random.default_rng(1).integers(0, 3, n)
    a = run_fixed(choice, table, sc)
    b = run_adaptive(_Always(choice), table, sc)
    np.testing.assert_allclose(a.finish, b.finish, rtol=0, atol=1e-9)
    np.testing.assert_allclose(a.energy_mj, b.energy_mj, rtol=1e-12)
    assert (a.on_time == b.on_time).all()


# --- schedulers ---------------------------------------------------------------------------------

def test_ddnn_threshold_by_hand():
    conf, local, cloud = [0.9, 0.8, 0.7, 0.6], [1, 1, 0, 0], [1, 1, 1, 1]
    assert ddnn_threshold(conf, local, cloud, 0.75) == 0.7  # 3 local: (1 + 1 + 0 + 1) / 4
    assert ddnn_threshold(conf, local, cloud, 0.8) == 0.8
    assert ddnn_threshold(conf, local, cloud, 1.01) == math.inf
    assert ddnn_threshold([0.5, 0.5], [1, 0], [1, 1], 0.9) == math.inf  # ties move together


def test_registry_lists_every_scheduler():
    assert set(SCHEDULERS.names()) == {"device-only", "server-only", "ddnn", "jointdnn", "static",
                                       "mc-performance", "mc-energy", "dynamic-partition"}
    assert set(SCHEDULERS.names(contains_static=True)) == {"static", "mc-performance", "mc-energy",
                                                           "dynamic-partition"}


def toy_pathset() -> PathSet:
    """ResNet18-shaped paths (real MACs, IR sizes and exits; made-up accuracies), no training."""
    return paths.synthetic("resnet18", images=50)


TOY_FLOORS = (0.3, 0.45, 0.55, 0.59)  # absolute top-1 floors within the toy paths' range


def _check_never_worse(ps: PathSet, sc: Scenario, floor: float) -> None:
    """Every scheduler containing the static strategy is on time at least as often; the dynamic
    partition is at least as private on the requests both serve in time (local = nothing sent)."""
    from paperlib.studies.nb10_network import simulate

    static = simulate(ps, sc, "static", floor)
    for name in SCHEDULERS.names(contains_static=True):
        out = simulate(ps, sc, name, floor)
        assert out.on_time.sum() >= static.on_time.sum(), (name, sc.link.name, floor)
        if name == "mc-energy":  # takes the static strategy whenever it is predicted on time
            assert out.success.sum() >= static.success.sum() - 1e-9, name
        if name == "mc-performance" and floor <= ps.full_top1:  # only paths meeting the floor
            served = out.answered_by >= 0
            acc = np.array([p.accuracy for p in PathTable.from_set(ps).paths])
            assert (acc[out.answered_by[served]] >= out.floor).all()
        if name == "dynamic-partition":
            both = out.on_time & static.on_time
            mine = np.where(np.isnan(out.privacy), 1.0, out.privacy)  # nothing sent: fully private
            assert (mine[both] >= static.privacy[both] - 1e-12).all()


@pytest.mark.parametrize("rate", [K.PAPER_LINK_BPS, 0.5e6, 2e6, 10e6])
@pytest.mark.parametrize("floor", TOY_FLOORS)
def test_schedulers_never_worse_than_the_static_strategy_they_contain(rate, floor):
    network = "paper" if rate == K.PAPER_LINK_BPS else "lte"
    sc = Scenario(Link.fixed_rate(rate, network), duration_ms=20_000.0, rtt_ms=0.0)
    _check_never_worse(toy_pathset(), sc, floor)


def _outage_link(start_ms: float = 5_010.0, length_ms: float = 10_000.0,
                 rate: float = 12e6) -> Link:
    """One packet per ms, except no delivery at all during ``length_ms`` from ``start_ms``."""
    return Link.from_capacity([(start_ms, rate), (length_ms, 0.0), (30_000.0 - start_ms - length_ms,
                                                                    rate)], "lte", "outage")


@pytest.mark.parametrize("floor", TOY_FLOORS)
def test_never_worse_on_toy_traces_outage_and_bursts(floor):
    """The same guarantees on links that change: an outage, and alternating fast and slow seconds."""
    bursty = Link.from_capacity([(1_000.0, 4e6), (1_000.0, 0.3e6), (500.0, 0.0)], "lte", "bursty")
    for link in (_outage_link(), bursty):
        _check_never_worse(toy_pathset(), Scenario(link, rtt_ms=10.0), floor)


def test_an_outage_costs_only_the_requests_inside_it():
    """A link that stops for 10 s then recovers: every request arriving after the outage is served
    exactly as on the same link without it (nothing queued survives the outage), and every request
    whose deadline falls before the outage is on time."""
    from paperlib.studies.nb10_network import simulate

    ps = toy_pathset()
    start, length = 5_010.0, 10_000.0
    out_link = _outage_link(start, length)
    steady = Link.from_capacity([(30_000.0, 12e6)], "lte", "steady")
    for name in ("static", "server-only", "mc-energy", "dynamic-partition"):
        a = simulate(ps, Scenario(out_link, rtt_ms=10.0), name, 0.3)
        b = simulate(ps, Scenario(steady, rtt_ms=10.0), name, 0.3)
        after = a.arrival >= start + length
        before = a.arrival + a.deadline_ms < start
        assert b.on_time.all(), name
        assert a.on_time[before].all() and a.on_time[after].all(), name
        np.testing.assert_allclose(a.latency[after], b.latency[after], err_msg=name)


def test_an_impossible_deadline_drops_or_serves_locally_and_the_next_is_unaffected():
    """A 20 ms deadline no upload can meet (RTT 40 ms): static and server-only drop every request
    (nothing is queued: no energy); the MC scheduler and the dynamic partition answer on the
    device; each request is served as if the queue were empty (the same latency every time)."""
    from paperlib.studies.nb10_network import simulate

    ps = toy_pathset()
    sc = Scenario(Link.fixed_rate(2e6, "lte"), duration_ms=5_000.0, deadline_ms=20.0, rtt_ms=40.0)
    for name in ("static", "server-only", "jointdnn"):
        out = simulate(ps, sc, name, 0.3)
        assert out.dropped.all() and (out.energy_mj == 0).all() and not out.on_time.any(), name
    for name in ("mc-performance", "mc-energy", "dynamic-partition"):
        out = simulate(ps, sc, name, 0.3)
        assert out.on_time.all() and np.isnan(out.privacy).all(), name
        np.testing.assert_allclose(out.latency, out.latency[0])
        assert out.latency[0] <= 20.0


def test_dropped_requests_never_delay_the_next():
    """A deadline of 60 ms on a 1 Mbit/s link with RTT 0: the static strategy's six packets take
    at least 60 ms plus its device compute, so every request is dropped at admission (not queued);
    an unbounded queue at 14 requests/s instead delays each one more than the last."""
    from paperlib.studies.nb10_network import simulate

    ps = toy_pathset()
    link = Link.fixed_rate(1e6, "paper")
    bounded = simulate(ps, Scenario(link, duration_ms=3_000.0, deadline_ms=60.0), "static", 0.3)
    assert bounded.dropped.all() and bounded.summary()["deadline_miss_share"] == 1.0
    unbounded = simulate(ps, Scenario(link, duration_ms=3_000.0, fps=14.0, bounded=False),
                         "static", 0.3)
    assert np.all(np.diff(unbounded.latency) > 0)


def test_an_expired_upload_leaves_the_send_buffer():
    """Three offloads on a link that delivers nothing from 2 to 122 ms: the first was admitted (the
    link looked fine), its upload expires when its answer can no longer arrive (19 ms) and frees the
    link; the second is dropped at admission (no opportunity seen in 50 ms), so the third, after
    recovery, starts on an idle link: 2 ms device, 3 packets at 203-205 ms, 1 ms cloud."""
    table = _toy_table()  # path 1: 3 packets, 2 ms device, 1 ms cloud
    link = Link.from_capacity([(2.0, 12e6), (120.0, 0.0), (878.0, 12e6)], "paper", "gap")
    sc = Scenario(link, fps=10.0, deadline_ms=20.0, duration_ms=300.0, rtt_ms=0.0,
                  prediction_window_ms=50.0)
    out = run_adaptive(_Always([1, 1, 1]), table, sc, images=np.zeros(3, int))
    assert out.expired[0] and not out.on_time[0] and np.isnan(out.finish[0])
    assert out.dropped[1]
    assert out.on_time[2] and out.latency[2] == pytest.approx(2.0 + 3.0 + 1.0)
    s = out.summary()
    assert s["expired_share"] == pytest.approx(1 / 3) and s["dropped_share"] == pytest.approx(1 / 3)
    assert s["local_share"] == 0 and s["deadline_miss_share"] == pytest.approx(2 / 3)


def test_floor_is_absolute_and_binds():
    """Floors are top-1 values in [0, 1]; above a path's top-1 the schedulers that choose exclude it
    (``floor_bound``) and the answers of those that cannot fail the QoR."""
    from paperlib.studies import nb10_network

    ps = toy_pathset()
    sc = Scenario(Link.fixed_rate(10e6, "lte"), duration_ms=5_000.0, rtt_ms=0.0)
    low, high = nb10_network.simulate(ps, sc, "static", 0.3), nb10_network.simulate(
        ps, sc, "static", 0.599)
    assert not low.floor_bound and high.floor_bound
    assert high.success.sum() == 0 and high.below_floor.all() and low.success.sum() > 0
    floors = nb10_network.measured_floors(ps)
    acc = [p.accuracy for p in ps.all_paths()]
    assert floors[0] <= min(acc) and max(acc) - 1e-3 <= floors[-1] <= max(acc)
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="floor must be an absolute accuracy in \\[0, 1\\]"):
            nb10_network.simulate(ps, sc, "static", bad)


def test_e3_qor_columns_differ_and_show_where_the_floor_bound():
    from paperlib.studies import nb10_network

    ps = toy_pathset()
    scs = [Scenario(Link.fixed_rate(r, "lte"), duration_ms=5_000.0, rtt_ms=0.0)
           for r in (0.5e6, 2e6)]
    grid = nb10_network.run_grid(ps, scs)
    e3 = nb10_network.e3_table(grid)
    floors = nb10_network.measured_floors(ps)
    k = range(1, len(floors) + 1)
    values = e3[[f"E3 {i}" for i in k]].to_numpy(float)
    assert any(np.ptp(row[np.isfinite(row)]) > 0 for row in values)  # the floor changes E3
    np.testing.assert_allclose(e3[[f"floor {i}" for i in k]].iloc[0], floors)
    row = e3.set_index("scheduler").loc["device-only"]
    assert not row["bound 1"] and row[f"bound {len(floors)}"] == (ps.full_top1 < floors[-1])
    assert e3.set_index("scheduler").loc["mc-energy", f"bound {len(floors)}"]


def test_dynamic_menu_most_private_first_and_falls_back_to_the_device():
    from paperlib.network.schedulers import dynamic_menu
    from paperlib.studies import nb10_network

    ps = toy_pathset()
    menu = dynamic_menu(ps, 0.0)
    assert [p.privacy for p in menu] == sorted((p.privacy for p in menu), reverse=True)
    assert all(p.privacy >= ps.static.privacy for p in menu)
    assert ps.static.name in {p.name for p in menu}
    # the static strategy's IR-width variants give the menu four transfer sizes (8, 6, 4, 2 bits)
    ir = ps.static.bits // 8
    assert {ir * b for b in (8, 6, 4, 2)} <= {p.bits for p in menu}
    # a variant says its width; the table row of notebook 10 carries it (none for the others)
    rows = {p.name: nb10_network.path_record("ResNet18", p) for p in menu}
    assert rows[f"{ps.static.name}-ir2"]["resent_ir_bits"] == 2
    assert rows[f"{ps.static.name}-ir2"]["sent_kbit"] == ir * 2 / 1e3
    assert rows[ps.static.name]["resent_ir_bits"] is None
    # the table writes the width as 2, not 2.0, and nothing for the others
    table = nb10_network.path_frame([rows[f"{ps.static.name}-ir2"], rows[ps.static.name]])
    assert table[["resent_ir_bits"]].to_csv(index=False).split() == ["resent_ir_bits", "2", '""']


def test_the_sizes_a_scheduler_sent_are_counted():
    """Known answers on the paper's steady link: the static strategy sends its one IR, device only
    sends nothing, and the dynamic partition at the lowest floor sends only the head of its menu
    (its most private entry, always in time on this link)."""
    from paperlib.network.schedulers import dynamic_menu
    from paperlib.studies import nb10_network

    ps = toy_pathset()
    sc = Scenario(Link.fixed_rate(K.PAPER_LINK_BPS, "paper"), duration_ms=5_000.0, rtt_ms=0.0)
    low = min(p.accuracy for p in ps.all_paths())
    row = {name: nb10_network.simulate(ps, sc, name, low).summary()
           for name in ("static", "device-only", "dynamic-partition")}
    assert row["static"]["sizes_sent"] == 1
    assert row["static"]["mean_sent_kbit"] == pytest.approx(ps.static.bits / 1e3)
    assert row["device-only"]["sizes_sent"] == 0 and math.isnan(row["device-only"]["mean_sent_kbit"])
    assert row["dynamic-partition"]["sizes_sent"] == 1
    assert row["dynamic-partition"]["mean_sent_kbit"] == pytest.approx(dynamic_menu(ps, low)[0].bits / 1e3)


def test_sizes_sent_per_floor_by_hand():
    import pandas as pd

    from paperlib.studies import nb10_network

    grid = pd.DataFrame({"scheduler": ["dynamic-partition"] * 4 + ["static"],
                         "accuracy_floor": [0.5, 0.5, 0.6, 0.7, 0.5],
                         "mean_sent_kbit": [16.384, 16.384, 40.0, float("nan"), 65.536],
                         "sizes_sent": [1, 1, 2, 0, 1]})
    assert nb10_network.sizes_sent(grid) == {
        0.5: "16.4 kbit", 0.6: "40 kbit (2 sizes on one trace)",
        0.7: "nothing (every answer from the device)"}


def test_a_floor_no_menu_entry_meets_is_answered_on_the_device_then_by_the_static_strategy():
    """When the floor admits no stored strategy, the dynamic partition answers from a device path
    that meets it (none meeting it: the full model), uploading nothing; without its device
    fallback it serves with the static strategy (its answer fails the floor) rather than drop
    what the static scheduler would answer."""
    import dataclasses

    from paperlib.network.schedulers import dynamic_menu
    from paperlib.studies import nb10_network

    ps = toy_pathset()
    weaker = [dataclasses.replace(p, correct=p.correct - 0.1) for p in ps.sweep]
    ps = dataclasses.replace(ps, sweep=weaker, static=weaker[ps.sweep.index(ps.static)])
    sc = Scenario(Link.fixed_rate(K.PAPER_LINK_BPS, "paper"), duration_ms=5_000.0, rtt_ms=0.0)
    floor = max(p.accuracy for p in ps.sweep) + 0.01
    assert not dynamic_menu(ps, floor) and ps.full_top1 >= floor
    on_device = nb10_network.simulate(ps, sc, "dynamic-partition", floor).summary()
    assert on_device["sent_share"] == 0 and on_device["deadline_miss_share"] == 0
    assert on_device["below_floor_share"] == 0
    above_all = max(p.accuracy for p in ps.all_paths()) + 0.01
    assert nb10_network.simulate(ps, sc, "dynamic-partition", above_all).summary()["sent_share"] == 0
    no_device = {"dynamic-partition": {"device_fallback": False}}
    last = nb10_network.simulate(ps, sc, "dynamic-partition", above_all, settings=no_device)
    static = nb10_network.simulate(ps, sc, "static", above_all)
    assert last.summary()["sent_share"] == 1 and last.on_time.sum() >= static.on_time.sum()


def test_scheduler_settings_are_owned_and_checked_by_name():
    from paperlib.network.schedulers import DynamicSettings, MCSettings, settings_for

    assert settings_for("dynamic-partition", {}) == DynamicSettings()
    assert settings_for("mc-energy", {"mc-energy": {"give_up": False}}) == MCSettings(False)
    assert settings_for("static") is None
    with pytest.raises(ValueError, match="unknown setting.*bogus.*DynamicSettings"):
        settings_for("dynamic-partition", {"dynamic-partition": {"bogus": 1}})
    with pytest.raises(ValueError, match="'static' has no settings"):
        settings_for("static", {"static": {"x": 1}})
    with pytest.raises(ValueError, match="NetworkPlan.schedulers names 'mc-energi', which is not a "
                                         "registered scheduler; choose among device-only, "):
        settings_for("static", {"mc-energi": {"give_up": False}})  # a typo is not ignored


def test_a_negative_capacity_is_refused_by_name():
    with pytest.raises(ValueError, match="segment 1 has capacity -1.*>= 0"):
        Link.from_capacity([(10.0, 1e6), (10.0, -1.0)], "lte", "bad")
    with pytest.raises(ValueError, match="positive rate"):
        Link.fixed_rate(-5.0, "lte")


def test_reason_a_strategy_can_never_meet_the_deadline():
    from paperlib.studies import nb10_network

    ps = toy_pathset()
    slow = Scenario(Link.fixed_rate(0.5e6, "lte"), duration_ms=1_000.0)
    fast = Scenario(Link.fixed_rate(100e6, "lte"), duration_ms=1_000.0)
    why = nb10_network.never_in_time_reason(ps, slow, ps.static.name)
    assert why is not None and "never be on time" in why and "kbit" in why
    assert nb10_network.never_in_time_reason(ps, fast, ps.static.name) is None


def test_paper_link_meets_the_deadline_that_a_slow_trace_misses():
    """The static strategy's 65,536-bit IR takes 72 ms on the paper's 1 Mbit/s link (met) but
    misses most deadlines on a link at a tenth of it."""
    from paperlib.studies.nb10_network import paper_link, simulate

    ps = toy_pathset()
    good = simulate(ps, Scenario(paper_link(), duration_ms=10_000.0), "static", 0.75)
    bad = simulate(ps, Scenario(Link.fixed_rate(1e5, "lte"), duration_ms=10_000.0), "static", 0.75)
    assert good.on_time.all() and not bad.on_time.any()


def test_constants_note_names_every_assumption():
    note = K.constants_note()
    for word in ("Jetson TX1", "GTX 1080 Ti", "Huang", "assumed", "84 ms"):
        assert word in note


def test_traces_live_under_the_configured_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("PAPERLIB_DATA_DIR", str(tmp_path))
    assert traces.traces_dir() == config.data_dir() / "network-traces"
    assert traces.available() == []


# --- early exits ----------------------------------------------------------------------------------

def test_exits_after_blocks_of_similar_compute():
    import torch

    from paperlib.method import models
    from paperlib.network.exits import exit_points, unit_macs

    with torch.device("meta"):
        resnet, mobilenet = models.build("resnet18", "cifar10"), models.build("mobilenet", "cifar10")
    assert exit_points(resnet) == (2, 4, 6, 8)
    assert exit_points(mobilenet) == (4, 7, 10, 13)
    cum = np.cumsum(unit_macs(resnet)[:-1])  # stem and blocks
    quarters = cum[[2, 4, 6]] / cum[-1]
    np.testing.assert_allclose(quarters, [0.25, 0.5, 0.75], atol=0.04)


def test_exit_head_fits_a_separable_problem():
    import torch

    from paperlib.network.exits import fit_head

    g = torch.Generator().manual_seed(0)
    labels = torch.arange(300) % 3
    centres = torch.tensor([[4.0, 0, 0, 0], [0, 4.0, 0, 0], [0, 0, 4.0, 0]])
    feats = centres[labels] + 0.3 * torch.randn(300, 4, generator=g)
    fc = fit_head(feats, labels, 3)
    with torch.no_grad():
        assert (fc(feats).argmax(1) == labels).float().mean() == 1.0


@pytest.mark.slow
def test_exits_measure_the_checkpoint_and_are_cached(monkeypatch):
    """The last exit is the model itself: its measured top-1 is the checkpoint's; a second call
    reuses the cached heads and per-image answers."""
    from paperlib.method import train
    from paperlib.network import exits

    net, meta = train.load_or_train("mobilenet", "smoke")
    ex = exits.load_or_train("mobilenet", "smoke", net=net, meta=meta)
    assert ex.points == (4, 7, 10, 13) and len(ex.heads) == 3
    assert ex.top1[-1] == pytest.approx(meta["accuracy"])
    assert ex.correct.shape == ex.confidence.shape == (4, len(ex.labels))

    def no_training(*args, **kwargs):
        raise AssertionError("the cached exits were retrained")

    monkeypatch.setattr(exits, "fit_head", no_training)
    again = exits.load_or_train("mobilenet", "smoke", net=net, meta=meta)
    np.testing.assert_array_equal(again.correct, ex.correct)
    assert again.top1 == ex.top1


def test_the_menu_reads_every_stored_search_and_skips_what_it_cannot(monkeypatch, tmp_path):
    """Results of the model and profile on the same hardware and data set, any E_b and seed, are
    found wherever they lie under results/<profile>/; other models, hardware or broken files not."""
    from paperlib.network import sweep
    from paperlib.search.result import SearchResult

    monkeypatch.setenv("PAPERLIB_RESULTS_DIR", str(tmp_path))

    def store(folder: str, model: str = "resnet18", hardware: str = "table3", **kw) -> None:
        fields = dict(model=model, profile="smoke", dataset="cifar10", data="", seed=0,
                      energy_bound=0.35, accuracy_bound=0.03, best=fakes.valid_best(7),
                      settings={"hardware": hardware})
        fields.update(kw)
        SearchResult(**fields).save(tmp_path / "smoke" / folder / "result.json")

    store("search/resnet18-eb0.35-seed0")
    store("search/resnet18-eb0.5-seed2", energy_bound=0.5, seed=2)
    store("network/sweep/resnet18-eb0.75-seed0", energy_bound=0.75)
    store("search/mobilenet-eb0.35-seed0", model="mobilenet")
    store("search/resnet18-eb0.35-seed0-hw-other", hardware="other")
    broken = tmp_path / "smoke" / "search" / "broken" / "result.json"
    broken.parent.mkdir(parents=True)
    broken.write_text("{not json")
    found = sweep.stored_results("resnet18", "smoke", hardware="table3", dataset="cifar10")
    assert [(r.energy_bound, r.seed) for r in found] == [(0.35, 0), (0.5, 2), (0.75, 0)]
    assert sweep.stored_results("resnet18", "quick") == []  # nothing stored: an empty menu


@pytest.mark.parametrize("model", ["resnet18", "mobilenet"])
def test_never_worse_on_published_traces(real_traces, model):
    """The dynamic partition and the MC scheduler against the static strategy on two published
    traces (where the prediction is not exact), at the lowest and highest measured floor."""
    from paperlib.studies.nb10_network import measured_floors

    ps = paths.synthetic(model, images=50)
    for name in (SMALL_TRACE, "Verizon-LTE-short"):
        if not (real_traces / traces.spec(name).file).is_file():
            continue
        link = Link.from_trace(traces.load(name, real_traces.parent))
        for floor in measured_floors(ps)[::3]:
            _check_never_worse(ps, Scenario(link, duration_ms=60_000.0), floor)


# --- the input-size axis --------------------------------------------------------------------------

def test_imagenet_forms_have_their_stems_and_stride_32():
    import torch

    from paperlib.method import models
    from paperlib.method.models.imagenet import imagenet_form
    from paperlib.network import input_size

    with torch.device("meta"):
        r18, mob = imagenet_form("resnet18"), imagenet_form("mobilenet")
        cifar = models.build("resnet18")
    assert r18.stem[0].kernel_size == (7, 7) and r18.stem[0].stride == (2, 2)
    assert isinstance(r18.stem[3], torch.nn.MaxPool2d)
    assert mob.stem[0].stride == (2, 2)
    assert input_size.total_stride(r18) == 32 and input_size.total_stride(mob) == 32
    assert input_size.total_stride(cifar) == 8
    with pytest.raises(ValueError, match="no ImageNet form; choose one of resnet18, mobilenet"):
        imagenet_form("vgg11")


def test_input_size_must_be_a_positive_multiple_of_the_stride():
    import torch

    from paperlib.method.models.imagenet import imagenet_form
    from paperlib.network import input_size

    with torch.device("meta"):
        net = imagenet_form("resnet18")
    assert input_size.check_input_size(net, 256) == 256
    for bad in (0, -32, 100, 225, 22.4):
        with pytest.raises(ValueError, match="input size .* positive multiple .* total stride 32"):
            input_size.check_input_size(net, bad)
    with pytest.raises(ValueError, match="total stride 32"):
        input_size.partition_rows("mobilenet", 100)


def test_where_partitioning_starts_to_beat_sending_the_image():
    """ResNet18: at 32x32 the smallest IR (p = 7, 512 x 4 x 4 at 8 bits = 65,536 bits) is larger
    than the 24,576-bit image; at 224x224 (ImageNet form) the stem's IR is 64 x 56 x 56 x 8 bits
    and from p = 3 (128 x 28 x 28) on every IR is smaller than the 1,204,224-bit image."""
    from paperlib.network import input_size

    rows = input_size.size_axis(("resnet18",))
    small = rows[(rows.input == 32) & (rows.p >= 0)]
    assert small.sent_kbit.min() == pytest.approx(65.536) and not small.below_image.any()
    big = rows[rows.input == 224].set_index("p")
    assert big.loc[-1, "sent_kbit"] == pytest.approx(1204.224)
    assert big.loc[0, "sent_kbit"] == pytest.approx(64 * 56 * 56 * 8 / 1e3)
    assert big.loc[3:, "below_image"].all() and not big.loc[0:2, "below_image"].any()
    text = input_size.crossover_sentence(rows)
    assert "can only lose on bandwidth" in text and "from p = 3 on" in text
