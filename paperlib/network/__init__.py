"""The paper's static strategy under real, fluctuating uplinks (Tang et al. 2021; docs/decisions/network.md).

The paper picks one partition point and bit allocation for a stable 1 Mbit/s network. This package
replays real cellular uplink traces and asks how that strategy fares, what Tang et al.'s on-line
MC scheduler with early exits gains, and what switching among the paper's own search results per
request gains. Decisions: docs/decisions/network.md.

>>> from paperlib import network
>>> link = network.Link.from_trace(network.traces.load("ATT-LTE-driving"))   # doctest: +SKIP
>>> link.send_time(65_536, 1_000.0)          # ms to send the static strategy's IR at t = 1 s  # doctest: +SKIP
>>> ps = network.paths.build("resnet18", "quick")                             # doctest: +SKIP
>>> from paperlib.studies import nb10_network
>>> out = nb10_network.simulate(ps, network.Scenario(link), "mc-energy", 0.5)  # doctest: +SKIP
>>> out.summary()["e3_per_mj"]                                                 # doctest: +SKIP

Modules: :mod:`.constants` (every cited or assumed number), :mod:`.traces` (Mahimahi traces:
catalogue, md5, download), :mod:`.link` (delivery opportunities: exact send time, capacity),
:mod:`.costs` (latency and energy terms, E3), :mod:`.exits` (branch insertion), :mod:`.sweep`
(search results over E_b), :mod:`.paths` (every way to serve a request), :mod:`.simulate` (the
discrete-event engines, bounded queues), :mod:`.schedulers` (the registry), :mod:`.input_size`
(where partitioning starts to beat sending the image); notebook 10's grid is
:mod:`paperlib.studies.nb10_network`.
"""

from __future__ import annotations

from . import constants, costs, exits, input_size, link, paths, schedulers, simulate, sweep, traces
from .costs import effective_energy_efficiency
from .link import Link
from .schedulers import SCHEDULERS
from .simulate import Outcome, PathTable, Scenario, run_adaptive, run_fixed
from .traces import TraceError

__all__ = ["constants", "costs", "exits", "input_size", "link", "paths", "schedulers", "simulate",
           "sweep", "traces", "Link", "SCHEDULERS", "Scenario", "PathTable", "Outcome",
           "run_fixed", "run_adaptive", "effective_energy_efficiency", "TraceError"]
