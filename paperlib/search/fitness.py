"""The search objective: Eq. 11-12 of the paper (docs/decisions/paper-method.md §5).

``F(V, E_b, ε_b) = P · punish(λ1, E, E_b) · punish(λ2, ε, ε_b)`` with the exponential punishment
``punish(λ, v, b) = λ^(v/b − 1)`` when ``v > b`` and 1 otherwise (λ ∈ (0, 1); smaller is stricter).
A value at the bound is not punished (Eq. 12's "otherwise" branch), so the search's constraint is
``v ≤ b`` where Eq. 4 writes ``v < b``; with continuous energies and accuracies the two differ only
on a set of measure zero, and ``feasible`` below reports the closed form.

"At the bound" allows a relative :data:`BOUND_RTOL` of floating-point error: ε is a difference of
two top-1 rates over the same n images, so it lands exactly on a bound such as 0.03 = 15/500, and
250/500 − 235/500 evaluates to 0.030000000000000027. Without the tolerance such a strategy would be
called infeasible while its fitness is its P (docs/decisions/paper-method.md §5).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..method.constants import LAMBDA_ACCURACY, LAMBDA_ENERGY


BOUND_RTOL = 1e-9


def over(value: Any, bound: float) -> Any:
    """Whether ``value`` exceeds ``bound`` by more than floating-point error (:data:`BOUND_RTOL`);
    element-wise for an array or a pandas Series."""
    return value > bound * (1.0 + BOUND_RTOL)


def within(value: Any, bound: float) -> Any:
    """Whether ``value`` was measured (not NaN) and does not exceed ``bound`` (:func:`over`);
    element-wise for an array or a pandas Series. A NaN is neither within nor :func:`over`."""
    return np.logical_and(np.logical_not(np.isnan(value)), np.logical_not(over(value, bound)))


def punish(lam: float, value: float, bound: float) -> float:
    """Eq. 12: ``lam ** (value / bound - 1)`` when ``value > bound``, else 1."""
    if not 0.0 < lam < 1.0:
        raise ValueError(f"punishment coefficient λ must lie in (0, 1), got {lam}")
    if not bound > 0.0:
        raise ValueError(f"a punishment bound must be positive, got {bound}")
    if over(value, bound):
        return float(lam ** (value / bound - 1.0))
    return 1.0


def fitness(privacy: float, energy: float, eps: float, energy_bound: float, eps_bound: float,
            lambda_energy: float = LAMBDA_ENERGY, lambda_accuracy: float = LAMBDA_ACCURACY) -> float:
    """Eq. 11: privacy punished for exceeding the energy bound and the accuracy-loss bound."""
    if not math.isfinite(privacy):
        raise ValueError(f"privacy must be finite, got {privacy}")
    return float(privacy * punish(lambda_energy, energy, energy_bound)
                 * punish(lambda_accuracy, eps, eps_bound))


def feasible(energy: float, eps: float, energy_bound: float, eps_bound: float) -> bool:
    """True when neither constraint of Eq. 4 is punished (``E ≤ E_b`` and ``ε ≤ ε_b``)."""
    return not over(energy, energy_bound) and not over(eps, eps_bound)


__all__ = ["BOUND_RTOL", "over", "within", "punish", "fitness", "feasible"]
