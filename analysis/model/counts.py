"""Events and trials: the one check of the two forms every statistic accepts, 0/1 rows or covariate patterns.

A statistic of the rows can be given the rows (``events`` the 0/1 response, no ``trials``) or the
patterns they reduce to (``events`` and ``trials`` per pattern); :meth:`Counts.of` checks either and
returns int64 arrays, so a model fit, a discrimination index, an exploratory table and a calibration
curve accept and refuse exactly the same input.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: counts are held as int64 and summed exactly; float64 holds every whole number below this exactly
MAX_COUNT = 2.0**53


def whole_numbers(values, name: str) -> np.ndarray:
    """``values`` (one-dimensional; bool, numbers or numeric text) as int64, or ValueError naming ``name``
    when one is missing, negative, fractional or too large to count exactly."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    v = pd.to_numeric(pd.Series(arr), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    if not np.all(np.isfinite(v)) or np.any(v < 0) or np.any(v != np.floor(v)):
        raise ValueError(f"{name} must be non-negative whole numbers (finite, no missing values)")
    if v.size and v.max() >= MAX_COUNT:
        raise ValueError(f"{name} too large to be counted exactly")
    return v.astype(np.int64)


@dataclass(frozen=True)
class Counts:
    """Events and trials of each row or pattern (int64; a 0/1 row is a pattern with one trial)."""

    events: np.ndarray
    trials: np.ndarray

    @classmethod
    def of(cls, events, trials=None) -> "Counts":
        """Check ``events`` (and ``trials``: None for 0/1 rows) and return them as int64 counts; ValueError
        naming what is wrong otherwise.

        >>> Counts.of([0, 1, 1]).trials.tolist(), Counts.of([2, 0], [3, 1]).non_events.tolist()
        ([1, 1, 1], [1, 1])
        """
        ev = whole_numbers(events, "events")
        if trials is None:
            if np.any(ev > 1):
                raise ValueError("without trials, events must be the 0/1 response of each row")
            return cls(ev, np.ones_like(ev))
        tr = whole_numbers(trials, "trials")
        if np.any(tr < 1):
            raise ValueError("trials must be at least 1")
        if len(ev) != len(tr):
            raise ValueError("events and trials must have the same length")
        if np.any(ev > tr):
            raise ValueError("events cannot exceed trials")
        return cls(ev, tr)

    @property
    def non_events(self) -> np.ndarray:
        return self.trials - self.events

    def __len__(self) -> int:
        return len(self.events)
