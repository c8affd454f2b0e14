"""The one Pareto rule (paperlib.search.pareto; docs/decisions/layout.md §4): non-dominated rows,
identical rows kept once (the first), rows with NaN never on the front; hand-computed answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from paperlib.search.nsga import pareto_front
from paperlib.search.pareto import frame_pareto_mask, pareto_mask


def test_energy_minimised_privacy_maximised():
    # (0.1, 0.5), (0.2, 0.7), (0.4, 0.9) trade off; (0.2, 0.6) loses to (0.2, 0.7) at equal energy,
    # (0.3, 0.65) to (0.2, 0.7), (0.15, 0.4) to (0.1, 0.5)
    df = pd.DataFrame({"energy": [0.1, 0.2, 0.2, 0.3, 0.4, 0.15],
                       "privacy": [0.5, 0.7, 0.6, 0.65, 0.9, 0.4]})
    mask = frame_pareto_mask(df, minimise=["energy"], maximise=["privacy"])
    assert mask.tolist() == [True, True, False, False, True, False]


def test_all_minimised_keeps_exactly_the_non_dominated_points():
    df = pd.DataFrame({"energy": [1.0, 2.0, 1.5, 3.0, 1.0], "ssim": [0.5, 0.2, 0.6, 0.1, 0.4]})
    # (1.0, 0.4) dominates (1.0, 0.5) and (1.5, 0.6); (2.0, 0.2) and (3.0, 0.1) trade off
    assert frame_pareto_mask(df, minimise=("energy", "ssim")).tolist() == [False, True, False, True, True]


def test_identical_rows_are_kept_once_the_first():
    F = np.array([[2.0, 1.0], [1.0, 2.0], [2.0, 1.0], [1.0, 2.0], [3.0, 3.0]])
    assert pareto_mask(F).tolist() == [True, True, False, False, False]


def test_a_row_with_nan_is_never_on_the_front_and_dominates_nothing():
    F = np.array([[np.nan, 0.0], [1.0, 1.0], [2.0, 2.0]])
    assert pareto_mask(F).tolist() == [False, True, False]


def test_nsga_front_uses_the_same_rule():
    F = np.array([[1.0, 3.0], [3.0, 1.0], [2.0, 2.0], [1.0, 3.0], [3.0, 3.0]])
    assert pareto_front(F).tolist() == [[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]]


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="objectives must be a 2-d"):
        pareto_mask(np.array([1.0, 2.0]))
    with pytest.raises(KeyError, match="'ssim'"):
        frame_pareto_mask(pd.DataFrame({"energy": [1.0]}), minimise=["energy", "ssim"])
