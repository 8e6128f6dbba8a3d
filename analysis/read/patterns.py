"""Covariate patterns: rows reduced, exactly, to one row per distinct combination of the variables.

Rows whose variables take the same values can be pooled without loss: one row per distinct (sample,
variables) -- a *covariate pattern* -- with ``trials`` (how many rows have that combination) and
``events`` (how many of them have the event). The Bernoulli log-likelihood of the rows is a function of
the patterns only, and so is every table and statistic of the report; the pipeline
(``analysis.pipeline``) runs on this table, which every reader (``analysis.read``) produces. Numeric
variables with many distinct values make many patterns (the report then says the data do not compress);
the results stay exact.

Table layout (:func:`columns`): ``sample`` ("train" / "test", str), the specification's variables
(categorical ones str, binary and counts int64, numeric float64), ``trials`` and ``events`` (int64,
0 <= events <= trials, trials >= 1); sorted by sample (train first) and then by every variable in
specification order, with a fresh RangeIndex.

Tested (tests/read/test_patterns.py) against a pandas ``groupby(...).agg(size, sum)`` of the real data read
by pandas with the ID-hash split (exact, dtypes included), and :func:`expand` against the original rows
(same multiset of rows).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.errors import ModelError

SAMPLE = "sample"
TRIALS = "trials"
EVENTS = "events"
SAMPLES = ("train", "test")
#: a pattern table with more than this share of patterns per row "does not compress"
NO_COMPRESSION_SHARE = 0.5


def columns(variables) -> tuple[str, ...]:
    return (SAMPLE, *variables, TRIALS, EVENTS)


def from_rows(data: pd.DataFrame, is_test, variables, response: str) -> pd.DataFrame:
    """The pattern table of rows: ``data`` holds the ``variables`` and the 0/1 ``response``, ``is_test``
    a boolean per row (``analysis.read.split.in_test_sample``).

    Returns DataFrame[sample, *variables, trials, events] (see the module docstring). A pure function:
    ``data`` is not modified. Raises ValueError on a missing variable column, a missing value in one, a
    response other than 0/1 or an ``is_test`` of the wrong length.

    Tested against a pandas groupby with sorted Categorical samples on the real data (identical frames,
    dtypes included) and by :func:`expand` giving back the rows.
    """
    variables = list(variables)
    missing = [c for c in (*variables, response) if c not in data.columns]
    if missing:
        raise ValueError(f"columns {missing} are not in the data")
    is_test = np.asarray(is_test, dtype=bool)
    if is_test.shape != (len(data),):
        raise ValueError(f"is_test has {is_test.size} values for {len(data)} rows")
    frame = data.loc[:, variables].copy()
    if frame.isna().any().any():
        bad = [c for c in variables if frame[c].isna().any()]
        raise ValueError(f"missing values in {bad}: patterns need every variable")
    y = pd.to_numeric(data[response], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if not np.all(np.isin(y, (0.0, 1.0))):
        raise ValueError(f"response {response!r} must be 0/1 in every row")
    frame.insert(0, SAMPLE, np.where(is_test, SAMPLES[1], SAMPLES[0]))
    frame[EVENTS] = y.astype("int64")
    keys = [SAMPLE, *variables]
    table = frame.groupby(keys, sort=False, observed=True)[EVENTS].agg(["size", "sum"]).reset_index()
    table = table.rename(columns={"size": TRIALS, "sum": EVENTS})
    table[SAMPLE] = pd.Categorical(table[SAMPLE], categories=list(SAMPLES), ordered=True)
    table = table.sort_values(keys, kind="mergesort").reset_index(drop=True)
    table[SAMPLE] = table[SAMPLE].astype(str)
    table[[TRIALS, EVENTS]] = table[[TRIALS, EVENTS]].astype("int64")
    return table[list(columns(variables))]


def validate(table: pd.DataFrame, variables, allow_missing: bool = False) -> pd.DataFrame:
    """Check a pattern table (columns, counts, samples) and return it; raise ValueError naming the problem.
    A missing variable value is one unless ``allow_missing`` (a missing-value strategy other than "refuse")."""
    missing = [c for c in columns(variables) if c not in table.columns]
    if missing:
        raise ValueError(f"the pattern table lacks columns {missing}; has {list(table.columns)}")
    unknown = set(pd.unique(table[SAMPLE])) - set(SAMPLES)
    if unknown:
        raise ValueError(f"column 'sample' must be 'train' or 'test'; found {sorted(map(str, unknown))}")
    for column in (TRIALS, EVENTS):
        values = table[column]
        if not pd.api.types.is_integer_dtype(values):
            raise ValueError(f"column {column!r} must hold integer counts (dtype {values.dtype})")
    if len(table) and ((table[TRIALS] < 1).any() or (table[EVENTS] < 0).any()
                       or (table[EVENTS] > table[TRIALS]).any()):
        raise ValueError("every pattern needs trials >= 1 and 0 <= events <= trials")
    if not allow_missing and table[list(variables)].isna().any().any():
        raise ValueError("the pattern table has missing variable values")
    return table


def complete_rows(table: pd.DataFrame, variables) -> pd.Series:
    """Which patterns have every variable (boolean Series on ``table``'s index)."""
    return table[list(variables)].notna().all(axis=1)


def _complete_dtypes(table: pd.DataFrame, variables) -> pd.DataFrame:
    """Complete patterns with the dtypes of a table without missing values (``Int64`` -> int64)."""
    out = table.copy()
    for name in variables:
        if isinstance(out[name].dtype, pd.Int64Dtype):
            out[name] = out[name].astype("int64")
    return out


def expand(patterns: pd.DataFrame, response: str) -> pd.DataFrame:
    """The rows a pattern table stands for (for tests and row fits): each pattern repeated ``trials``
    times, its first ``events`` copies with ``response`` 1 and the others 0.

    Returns the pattern table's columns without ``trials``/``events``, plus ``response`` (int64) last, in
    pattern order, with a fresh RangeIndex.
    """
    trials = patterns[TRIALS].to_numpy(dtype="int64")
    events = patterns[EVENTS].to_numpy(dtype="int64")
    rows = np.repeat(np.arange(len(patterns)), trials)
    first = np.repeat(np.cumsum(trials) - trials, trials)      # index of each pattern's first copy
    position = np.arange(len(rows)) - first                      # 0 .. trials-1 within its pattern
    out = patterns.drop(columns=[TRIALS, EVENTS]).iloc[rows].reset_index(drop=True)
    out[response] = (position < np.repeat(events, trials)).astype("int64")
    return out


def compression_note(n_patterns: int, n_rows: int) -> str | None:
    """A note for the report when the rows hardly reduce to patterns (more than
    ``NO_COMPRESSION_SHARE`` as many patterns as rows): the fit stays exact, only the saving is lost."""
    if n_patterns <= NO_COMPRESSION_SHARE * n_rows:
        return None
    return (f"The data do not compress into covariate patterns: {n_patterns:,} patterns for {n_rows:,} rows "
            f"(more than {NO_COMPRESSION_SHARE:.0%} as many patterns as rows). The pattern fit is still exact, "
            "but saves little time or memory over a fit on the rows.")


@dataclass(frozen=True)
class Samples:
    """A run's pattern table by sample: ``train`` and ``test`` (without the ``sample`` column), ``all`` (every
    row used: the variables with ``trials`` and ``events``, for exploration and scoring), and the ``split``
    table (rows, events and event rate of each sample). These hold the complete rows only.

    ``incomplete``: the patterns of the rows left out for a missing value (a missing-value strategy other
    than "refuse"): columns ``sample``, the variables (missing values as NaN, a missing text, or ``pd.NA``)
    ``trials`` and ``events``; empty when every row is complete. For the missingness tables
    (``analysis.evaluate.missing``) and for imputation (:meth:`with_incomplete`). ``strategy``: the
    missing-value strategy the table was split under."""

    train: pd.DataFrame
    test: pd.DataFrame
    all: pd.DataFrame
    split: pd.DataFrame
    incomplete: pd.DataFrame | None = None
    strategy: str = "refuse"

    @property
    def n_incomplete(self) -> int:
        """Rows left out for a missing value."""
        return 0 if self.incomplete is None else int(self.incomplete[TRIALS].sum())

    def with_incomplete(self, sample: str | None = None) -> pd.DataFrame:
        """The complete and the incomplete patterns of ``sample`` ("train", "test"; None: both), complete
        first, without the ``sample`` column: every row of the sample that has the response, for imputation
        (``analysis.model.imputation`` takes rows: ``expand`` them). Integer columns with a missing value are
        ``Int64``."""
        complete = {"train": self.train, "test": self.test, None: self.all}[sample]
        if not self.n_incomplete:
            return complete.reset_index(drop=True)
        rows = self.incomplete if sample is None else self.incomplete[self.incomplete[SAMPLE] == sample]
        rows = rows.drop(columns=SAMPLE)
        if not len(rows):
            return complete.reset_index(drop=True)
        both = pd.concat([complete.astype({c: rows[c].dtype for c in rows.columns
                                           if isinstance(rows[c].dtype, pd.Int64Dtype)}), rows])
        return both.reset_index(drop=True)

    @classmethod
    def from_patterns(cls, table: pd.DataFrame, variables, strategy: str = "refuse") -> "Samples":
        """Split a pattern table (checked by :func:`validate`); ``ModelError`` when the training sample has
        only one response class. Under ``strategy`` "refuse" a missing value is an error (``ValueError``);
        otherwise the patterns with one go to ``incomplete`` and the samples hold the complete ones.

        Tested (tests/evaluate/test_missing.py) on the Titanic data: the complete patterns give R's
        ``glm(..., na.action = na.omit)`` fit, and the complete and incomplete ones expand to the file's rows."""
        variables = list(variables)
        table = validate(table, variables, allow_missing=strategy != "refuse")
        complete = complete_rows(table, variables)
        incomplete = table[~complete].reset_index(drop=True)
        table = _complete_dtypes(table[complete], variables).reset_index(drop=True)
        by_sample = {name: table[table[SAMPLE] == name].drop(columns=SAMPLE).reset_index(drop=True)
                     for name in SAMPLES}
        train, test = by_sample["train"], by_sample["test"]
        n_train, e_train = int(train[TRIALS].sum()), int(train[EVENTS].sum())
        if e_train == 0 or e_train == n_train:
            raise ModelError("The training sample has only one response class; lower --test-size.")
        split = pd.DataFrame({
            "sample": ["train", "test"],
            "rows": np.array([n_train, int(test[TRIALS].sum())], dtype="int64"),
            "events": np.array([e_train, int(test[EVENTS].sum())], dtype="int64"),
        })
        split["event_rate"] = split["events"] / split["rows"].where(split["rows"] > 0)
        return cls(train=train, test=test, all=table[[*variables, TRIALS, EVENTS]], split=split,
                   incomplete=incomplete[list(columns(variables))], strategy=strategy)
