"""The meaningful range of every number a user sets for a search, in one table.

The library (``search.search_settings``, ``search.run``) and the command line (argparse types of
``python -m paperlib search``) both check against :data:`SEARCH_SETTINGS` and
:data:`ENERGY_BOUND`, so ``--accuracy-bound 3`` (300 %) or ``--population 0`` is refused by name
before anything is loaded (docs/decisions/data-integrity.md §8).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Range:
    """Values of ``kind`` between ``low`` and ``high`` (``None``: unbounded), each end open or
    closed; ``hint`` says what the number means."""

    kind: type
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    hint: str = ""

    def describe(self) -> str:
        if self.low is not None and self.high is not None:
            return (f"lie in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}"
                    f"{')' if self.high_open else ']'}")
        if self.low is not None:
            return f"be {'>' if self.low_open else '>='} {self.low:g}"
        if self.high is not None:
            return f"be {'<' if self.high_open else '<='} {self.high:g}"
        return "be finite"

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is out of range (None when it is fine)."""
        if self.kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            return f"must be an integer, got {value!r}"
        if self.kind is float and (isinstance(value, bool) or not isinstance(value, (int, float))):
            return f"must be a number, got {value!r}"
        if isinstance(value, float) and not math.isfinite(value):
            return f"must be finite, got {value}"
        too_low = self.low is not None and (value <= self.low if self.low_open else value < self.low)
        too_high = self.high is not None and (value >= self.high if self.high_open else value > self.high)
        if too_low or too_high:
            return f"must {self.describe()}{self.hint}, got {value!r}"
        return None

    def check(self, name: str, value: Any) -> Any:
        """``value``, or a ValueError that names ``name``."""
        problem = self.problem(value)
        if problem:
            raise ValueError(f"{name} {problem}")
        return value

    def argtype(self) -> Callable[[str], Any]:
        """An argparse ``type`` that parses and range-checks (argparse names the flag)."""
        def parse(text: str) -> Any:
            try:
                value = self.kind(text)
            except ValueError:
                raise argparse.ArgumentTypeError(
                    f"expected {'an integer' if self.kind is int else 'a number'}, got {text!r}") from None
            problem = self.problem(value)
            if problem:
                raise argparse.ArgumentTypeError(problem)
            return value
        parse.__name__ = self.kind.__name__
        return parse


POSITIVE_INT = Range(int, low=1)
PROBABILITY = Range(float, low=0.0, high=1.0, hint=" (a probability)")
LAMBDA = Range(float, low=0.0, high=1.0, low_open=True, high_open=True,
               hint=" (Eq. 12's punishment base; smaller is stricter)")
ACCURACY_BOUND = Range(float, low=0.0, high=1.0, low_open=True, high_open=True,
                       hint=" (a fraction of top-1: 0.03 means 3 points)")
ENERGY_BOUND = Range(float, low=0.0, low_open=True, hint=" (mJ per image)")
REPORT_FRACTION = Range(float, low=0.0, high=1.0, low_open=True, high_open=True,
                        hint=" (the share of the test images every table reports on)")

# every numeric field of profiles.SearchSettings; a field missing here is only type-checked.
# T = 0 (score the initial population only) is a valid call of the library, never a search to ask
# for on the command line: CLI_OVERRIDES tightens it there.
SEARCH_SETTINGS: dict[str, Range] = {
    "iterations": Range(int, low=0),
    "population": POSITIVE_INT,
    "sample": POSITIVE_INT,
    "p_mutate_partition": PROBABILITY,
    "p_mutate_layer": PROBABILITY,
    "lambda_energy": LAMBDA,
    "lambda_accuracy": LAMBDA,
    "accuracy_bound": ACCURACY_BOUND,
    "finetune_batches": POSITIVE_INT,
    "validation_images": POSITIVE_INT,
    "privacy_images": POSITIVE_INT,
    "report_fraction": REPORT_FRACTION,
    "repair_steps": Range(int, low=0, hint=" (evaluations spent repairing one infeasible child)"),
}

# the named choices of profiles.SearchSettings (docs/decisions/paper-method.md §8): the first is
# the package's default; "random" is Algorithm 1 as the paper gives it
CHOICES: dict[str, tuple[str, ...]] = {
    "init": ("baselines", "random"),
    "selection": ("fitness", "feasibility"),
}


CLI_OVERRIDES: dict[str, Range] = {"iterations": POSITIVE_INT}

# the paper's symbol beside a setting's name in error messages
SYMBOLS = {"iterations": "T", "population": "N", "sample": "S", "lambda_energy": "λ1",
           "lambda_accuracy": "λ2", "accuracy_bound": "eps_b"}


def cli_range(name: str) -> Range | None:
    """The range the command line checks for the setting ``name`` (None: unchecked)."""
    return CLI_OVERRIDES.get(name, SEARCH_SETTINGS.get(name))


def check_choice(name: str, value: Any) -> None:
    """ValueError unless ``value`` is one of the valid choices of the setting ``name``."""
    valid = CHOICES[name]
    if value not in valid:
        raise ValueError(f"{name} = {value!r} is not a valid choice; choose one of "
                         f"{', '.join(valid)} (--{name.replace('_', '-')})")


def check_search_settings(settings: Any) -> None:
    """ValueError naming the first field of a ``SearchSettings`` outside its range, or a sample
    larger than the population."""
    for name, rng in SEARCH_SETTINGS.items():
        if hasattr(settings, name):
            label = f"{name} ({SYMBOLS[name]})" if name in SYMBOLS else name
            rng.check(label, getattr(settings, name))
    for name, valid in CHOICES.items():
        check_choice(name, getattr(settings, name, valid[0]))
    if getattr(settings, "sample", 1) > getattr(settings, "population", math.inf):
        raise ValueError(f"sample size S = {settings.sample} must not exceed the population "
                         f"N = {settings.population}: S distinct members are drawn from N")


__all__ = ["Range", "SEARCH_SETTINGS", "CHOICES", "check_choice", "CLI_OVERRIDES", "ENERGY_BOUND", "ACCURACY_BOUND",
           "POSITIVE_INT", "PROBABILITY", "LAMBDA", "cli_range", "check_search_settings"]
