"""Covariate patterns: the cleaned rows reduced, exactly, to one row per distinct predictor combination.

Every predictor of the coupon data is discrete, so the rows of each sample (train/test) reduce without
loss to *covariate patterns*: one row per distinct (sample, age, job, marriage, default_yes,
returned_yes, loan_yes, coupon_used_in_last6_month, coupon_used_in_last_month), with ``trials`` (how
many customers have that combination) and ``events`` (how many of them used the coupon). The Bernoulli
log-likelihood of the rows is a function of the patterns only, and so is every table and statistic of
the report; the pipeline (``analysis.pipeline``) runs on this table whether it was made here from rows
in memory (:func:`from_rows`) or streamed by SQL from a file of any size (``analysis.aggregate``, same
columns, dtypes and order).

Table layout (``COLUMNS``): ``sample`` ("train" / "test", str), the eight ``PREDICTORS`` (job and
marriage pandas ``str``, the others int64), ``trials`` and ``events`` (int64, 0 <= events <= trials, trials >= 1);
sorted by sample (train first) and then by every predictor in that order, with a fresh RangeIndex.

Tested (tests/test_patterns.py) against a pandas ``groupby(...).agg(size, sum)`` of the cleaned real
data with the ID-hash split (exact, dtypes included), against ``analysis.aggregate``'s column constants,
and :func:`expand` against the original rows (same multiset of rows).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import schema

SAMPLE = "sample"
TRIALS = "trials"
EVENTS = "events"
SAMPLES = ("train", "test")
PREDICTORS = ("age", "job", "marriage", "default_yes", "returned_yes", "loan_yes",
              "coupon_used_in_last6_month", "coupon_used_in_last_month")
COLUMNS = (SAMPLE, *PREDICTORS, TRIALS, EVENTS)
TEXT_COLUMNS = (SAMPLE, *schema.CATEGORICAL)
#: a pattern table with more than this share of patterns per row "does not compress"
NO_COMPRESSION_SHARE = 0.5
#: the predictors in the column order of the cleaned rows (``analysis.data.clean``: raw order without
#: ID and the yes/no columns, then their dummies), so that tables made from patterns list variables in
#: the order the per-row tables do
ROW_ORDER = tuple(
    [c for c in schema.RAW_COLUMNS if c not in (schema.ID, schema.RAW_RESPONSE, *schema.YES_NO)]
    + list(schema.DUMMY.values()))


def from_rows(data: pd.DataFrame, is_test, response: str = schema.RESPONSE) -> pd.DataFrame:
    """The pattern table of cleaned rows: ``data`` as from ``analysis.data.load_clean`` (the eight
    predictors and the 0/1 ``response``), ``is_test`` a boolean per row (``analysis.split.in_test_sample``).

    Returns DataFrame[COLUMNS] (see the module docstring). A pure function: ``data`` is not modified.
    Raises ValueError on a missing predictor column, a missing value in one, a response other than 0/1
    or an ``is_test`` of the wrong length.

    Tested against a pandas groupby with sorted Categorical samples on the real data (identical frames,
    dtypes included) and by :func:`expand` giving back the rows.
    """
    missing = [c for c in (*PREDICTORS, response) if c not in data.columns]
    if missing:
        raise ValueError(f"columns {missing} are not in the data")
    is_test = np.asarray(is_test, dtype=bool)
    if is_test.shape != (len(data),):
        raise ValueError(f"is_test has {is_test.size} values for {len(data)} rows")
    frame = data.loc[:, list(PREDICTORS)].copy()
    if frame.isna().any().any():
        bad = [c for c in PREDICTORS if frame[c].isna().any()]
        raise ValueError(f"missing values in {bad}: patterns need every predictor")
    y = pd.to_numeric(data[response], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if not np.all(np.isin(y, (0.0, 1.0))):
        raise ValueError(f"response {response!r} must be 0/1 in every row")
    frame.insert(0, SAMPLE, np.where(is_test, SAMPLES[1], SAMPLES[0]))
    frame[EVENTS] = y.astype("int64")
    keys = [SAMPLE, *PREDICTORS]
    table = frame.groupby(keys, sort=False, observed=True)[EVENTS].agg(["size", "sum"]).reset_index()
    table = table.rename(columns={"size": TRIALS, "sum": EVENTS})
    table[SAMPLE] = pd.Categorical(table[SAMPLE], categories=list(SAMPLES), ordered=True)
    table = table.sort_values(keys, kind="mergesort").reset_index(drop=True)
    for column in TEXT_COLUMNS:
        table[column] = table[column].astype(str)
    ints = [c for c in COLUMNS if c not in TEXT_COLUMNS]
    table[ints] = table[ints].astype("int64")
    return table[list(COLUMNS)]


def validate(table: pd.DataFrame) -> pd.DataFrame:
    """Check a pattern table (columns, counts, samples) and return it; raise ValueError naming the problem."""
    missing = [c for c in COLUMNS if c not in table.columns]
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
    if table[list(PREDICTORS)].isna().any().any():
        raise ValueError("the pattern table has missing predictor values")
    return table


def expand(patterns: pd.DataFrame, response: str = schema.RESPONSE) -> pd.DataFrame:
    """The rows a pattern table stands for (for tests): each pattern repeated ``trials`` times, its first
    ``events`` copies with ``response`` 1 and the others 0.

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
