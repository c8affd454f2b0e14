"""Defences of the IR compared with the paper's strategies (docs/decisions/defences.md).

Registered in :data:`DEFENCES` (one module each, one registration each):

| name | what runs on the edge | module |
|---|---|---|
| ``none`` | the split as deployed (the paper's strategies: reference rows) | :mod:`.reference` |
| ``noise`` | Gaussian or Laplacian noise, ``strength`` × the IR's std | :mod:`.noise` |
| ``dropout`` | each IR element zeroed with probability ``rate``, survivors × 1/(1−rate) | :mod:`.dropout` |
| ``datamix`` | k IRs mixed with a secret convex Λ per request; de-mixing with Λ⁻¹ | :mod:`.datamix` |
| ``proactive`` | the edge (and cloud) retrained against a decoder (Zhang et al.'s Alg. 1) | :mod:`.adversarial` |

Every defence is evaluated by one function, :func:`evaluate` (top-1, edge energy per image with
the defence's own operations, every registered attack); :mod:`.compare` has the Pareto front, the
table of best points under E_b and ε_b, and the verdicts in words. A defence that trains a part
owns its budgets' type (:class:`DataMixSettings`, :class:`ProactiveSettings`), set per profile in
``DefenceSettings.defences`` (:func:`settings_for`; docs/decisions/layout.md §6).
"""

from . import paper_strategy, noise, dropout, datamix, adversarial  # noqa: F401, I001  (registers, in this order)
from .base import DEFENCES, Context, Defence, at_strength_zero, build, settings_for
from .costs import defence_mj, edge_cost
from .datamix import DataMix, DataMixSettings, MixingEdge, demix, draw_mixing, mix
from .adversarial import Proactive, ProactiveSettings
from .dropout import Dropout
from .evaluate import DefenceResult, evaluate
from .noise import Noise
from .paper_strategy import NoDefence, paper_strategy_rows

__all__ = ["DEFENCES", "Context", "Defence", "at_strength_zero", "build", "settings_for", "defence_mj",
           "edge_cost", "DataMix", "DataMixSettings", "MixingEdge", "demix", "draw_mixing", "mix",
           "Dropout", "DefenceResult", "evaluate", "Noise", "NoDefence", "paper_strategy_rows",
           "Proactive", "ProactiveSettings"]
