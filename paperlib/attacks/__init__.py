"""Attacks on the IR: privacy measured by what an adversary recovers (He et al. ACSAC 2019;
Zhang et al. 2021 §5.3). Decisions: docs/decisions/attacks.md.

Three attacks behind one interface (:class:`Attack`: ``fit(access, aux)``, ``invert(ir)``),
registered in :data:`ATTACKS` by threat model:

| name | threat | fitted on | settings | module |
|---|---|---|---|---|
| ``rmle`` | white-box | the edge's weights (:class:`Edge`) | :class:`RMLESettings` | :mod:`.rmle` |
| ``inverse-network`` | black-box | queries of the edge (:class:`Oracle`) + own images | :class:`InverseNetworkSettings` | :mod:`.inverse_network` |
| ``shadow`` | query-free | the cloud part (:class:`Cloud`) + own labelled images | :class:`ShadowSettings` | :mod:`.shadow` |

Each attack owns its settings type; a profile's ``AttackSettings.attacks[name]`` holds plain values
for it, and :func:`build` makes the attack from them (docs/decisions/layout.md §6).

>>> from paperlib import attacks, train
>>> from paperlib.method.profiles import get_profile
>>> net, meta = train.load_or_train("cifar10cnn", "smoke")                       # doctest: +SKIP
>>> victim = attacks.deploy(net, attacks.resolve_point("cifar10cnn", "ReLU22"), 8,
...                         dataset="cifar10")                                    # doctest: +SKIP
>>> atk = attacks.build("rmle", get_profile("smoke").attack).fit(victim.edge())  # doctest: +SKIP
>>> images = atk.invert(victim.oracle()(x))   # x: (B, 3, 32, 32) in [0, 1]      # doctest: +SKIP

:func:`run` does all of it for many points, with caching: it returns one :class:`AttackResult`
(SSIM, PSNR, the paper's P of the same IRs, the mean-image reference) per attack, point and IR
width. :mod:`.metrics` has SSIM and PSNR; the tables and correlations of the notebooks are
:mod:`paperlib.studies.attack_tables`.
"""

from . import rmle, inverse_network, shadow  # noqa: F401, I001  (registers the attacks, in this order)
from . import metrics, results, scoring, worst_case  # noqa: F401, I001  (scoring imports the runner: after them)
from .base import ATTACKS, THREATS, Attack, Aux, AuxNeed, build, settings_for
from .inverse_network import (Decoder, InverseNetwork, InverseNetworkSettings, build_decoder,
                              load_decoder)
from .metrics import psnr, ssim
from .points import point_label, resolve_point, resolve_points, split_names, spread_points
from .results import AttackResult, attacks_dir, load_samples, load_state
from .rmle import RMLE, RMLESettings, invert_by_optimisation
from .runner import ATTACK_SEED, attack_data, compute_irs, compute_unit_irs, run
from .shadow import ShadowAttack, ShadowEdge, ShadowSettings
from .victim import Cloud, Edge, Oracle, SplitInfo, Victim, deploy, policy_tag

__all__ = [
    "ATTACKS", "THREATS", "Attack", "Aux", "AuxNeed", "build", "settings_for", "run", "deploy",
    "Victim", "SplitInfo", "Edge", "Oracle", "Cloud", "RMLE", "InverseNetwork", "ShadowAttack",
    "ShadowEdge", "Decoder",
    "build_decoder", "load_decoder", "invert_by_optimisation", "ssim", "psnr", "AttackResult",
    "attacks_dir", "load_samples", "load_state", "attack_data", "compute_irs", "compute_unit_irs",
    "policy_tag", "resolve_point", "resolve_points", "point_label", "split_names", "spread_points",
    "ATTACK_SEED", "RMLESettings", "InverseNetworkSettings", "ShadowSettings",
]
