"""Exploratory tables: how often the event happens, overall and by group, with confidence intervals.

Every function takes a DataFrame of variables (text columns are categorical, 0/1 columns binary,
other numbers numeric) and the name of the 0/1 response column (the specification's ``[response] name``) and
returns a tidy :class:`pandas.DataFrame` with stable snake_case columns and a fresh
``RangeIndex`` (except :func:`correlations`, which is a square matrix). Nothing is modified in
place and no row is ever dropped silently.

Three equivalent forms of the data are accepted by every table function (:func:`weighted_rows`):

- rows: one observation per row (the default);
- weighted rows: ``weights=`` the name of a column of counts, or one count per row: each row
  stands for that many rows with its values (a row with weight 0 stands for none);
- a covariate-pattern table (``analysis.read.patterns``): columns ``trials`` and ``events`` instead of
  the response; a pattern stands for ``events`` rows with response 1 and ``trials - events``
  with response 0.

Each result is the result on the expanded rows. Sums are exact: the weighted sums of integer-valued
columns (counts, 0/1 dummies) are added in integer arithmetic, so counts, means, shares,
correlations and quantiles are functions of exact integers and come out bit-identical on the three
forms, whatever the order or grouping of the rows (non-integer columns use floating point sums,
equal to 1e-12). Tested on the real data: patterns against expanded rows against the original rows.

Confidence intervals for a rate are Wilson score intervals (``proportion_confint(...,
method="wilson")`` from statsmodels), which stay inside [0, 1] and behave well for the small
groups (a level with a few hundred rows) where the Wald interval does not.

What each function was tested against is stated in its docstring; the tests are in
``tests/evaluate/test_explore.py``.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.model.counts import Counts, whole_numbers
from analysis.spec import in_sentence

TRIALS = "trials"
EVENTS = "events"


RATE_COLUMNS = ["level", "n", "events", "rate", "conf_low", "conf_high"]

EN_DASH = "\u2013"


# --------------------------------------------------------------------------------------------
# helpers


def _numeric_columns(df: pd.DataFrame) -> list[str]:
    """Numeric (or boolean) columns of ``df``, in the frame's own order."""
    return [
        c for c in df.columns
        if pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c])
    ]


def _check_response(df: pd.DataFrame, response: str) -> pd.Series:
    if response not in df.columns:
        raise KeyError(f"response column {response!r} not in the data frame")
    y = df[response]
    if y.isna().any():
        raise ValueError(f"response column {response!r} has missing values")
    values = set(pd.unique(y.astype("int64")))
    if not values <= {0, 1} or not np.array_equal(y.astype("int64"), y):
        raise ValueError(f"response column {response!r} must be 0/1, found {sorted(values)}")
    return y.astype("int64")


#: integer sums stay in int64 below this bound (above it, floating point sums are used)
_INT_SUM_LIMIT = 2**62


@dataclass(frozen=True)
class WeightedRows:
    """Rows with a 0/1 response and a positive integer count of the rows each stands for.

    ``frame``: the data columns (a weights column or ``trials``/``events`` removed) with the response
    last; ``y``: the response (int64 0/1); ``w``: the counts (int64 > 0); ``origin``: for each row, the
    position of the input row it comes from (a pattern gives up to two rows: its events and non-events).
    """

    frame: pd.DataFrame
    y: np.ndarray
    w: np.ndarray
    origin: np.ndarray

    @property
    def n(self) -> int:
        return int(self.w.sum())


def is_pattern_table(df: pd.DataFrame, response: str) -> bool:
    """A covariate-pattern table: ``trials`` and ``events`` columns and no response column."""
    return response not in df.columns and TRIALS in df.columns and EVENTS in df.columns


def weighted_rows(df: pd.DataFrame, response: str, weights=None) -> WeightedRows:
    """The per-row content of any of the three forms (see the module docstring), without expanding it.

    ``weights``: None, the name of a column of ``df``, or an array with one count per row; not allowed
    with a pattern table (its counts are ``trials``/``events``). Rows of weight 0 are left out (they stand
    for no row). Raises ValueError on a response other than 0/1, negative or fractional counts, or
    ``events > trials``.
    """
    if is_pattern_table(df, response):
        if weights is not None:
            raise ValueError("a pattern table carries its own counts (trials, events); do not pass weights")
        counts = Counts.of(df[EVENTS].to_numpy(), df[TRIALS].to_numpy())
        trials, events = counts.trials, counts.events
        base = df.drop(columns=[TRIALS, EVENTS]).reset_index(drop=True)
        pos = np.flatnonzero(events > 0)
        neg = np.flatnonzero(trials - events > 0)
        origin = np.concatenate([pos, neg])
        y = np.concatenate([np.ones(len(pos), "int64"), np.zeros(len(neg), "int64")])
        w = np.concatenate([events[pos], (trials - events)[neg]])
        frame = base.iloc[origin].reset_index(drop=True)
        frame[response] = y
        return WeightedRows(frame, y, w, origin)
    y = _check_response(df, response).to_numpy()
    frame = df
    if weights is None:
        w = np.ones(len(df), "int64")
    elif isinstance(weights, str):
        if weights not in df.columns:
            raise KeyError(f"weights column {weights!r} not in the data frame")
        w = whole_numbers(df[weights].to_numpy(), "weights")
        frame = df.drop(columns=[weights])
    else:
        w = whole_numbers(weights, "weights")
        if len(w) != len(df):
            raise ValueError(f"weights has {len(w)} values for {len(df)} rows")
    keep = np.flatnonzero(w > 0)
    if len(keep) == len(df):
        return WeightedRows(frame.reset_index(drop=True), y, w, np.arange(len(df)))
    return WeightedRows(frame.iloc[keep].reset_index(drop=True), y[keep], w[keep], keep)


def _integer_values(x: np.ndarray) -> np.ndarray | None:
    """``x`` as int64 if every value is a whole number (bool and integer columns included), else None."""
    if x.dtype.kind in "biu":
        return x.astype("int64")
    if x.dtype.kind == "f" and np.all(np.isfinite(x)) and np.all(x == np.floor(x)) and np.all(np.abs(x) < 2**52):
        return x.astype("int64")
    return None


def _wsum(w: np.ndarray, *xs: np.ndarray):
    """sum(w * x1 * x2 ...): an exact Python int when every x is whole and the sum cannot overflow int64,
    else a float (numpy dot product)."""
    ints = [_integer_values(np.asarray(x)) for x in xs]
    if all(v is not None for v in ints):
        bound = int(w.sum()) if len(w) else 0
        for v in ints:
            bound *= int(np.abs(v).max()) if len(v) else 0
        if bound < _INT_SUM_LIMIT:
            prod = w.astype("int64")
            for v in ints:
                prod = prod * v
            return int(prod.sum())
    prod = w.astype("float64")
    for x in xs:
        prod = prod * np.asarray(x, dtype="float64")
    return float(prod.sum())


def _values(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A numeric column as numpy: bool and integer columns as they are, others as float64 (NA -> NaN)."""
    x = frame[column]
    if pd.api.types.is_bool_dtype(x.dtype) and not x.isna().any():
        return x.to_numpy(dtype=bool)
    if pd.api.types.is_integer_dtype(x.dtype) and not x.isna().any():
        return x.to_numpy(dtype="int64")
    return x.to_numpy(dtype="float64", na_value=np.nan)


def _wmean(x: np.ndarray, w: np.ndarray) -> float:
    """Weighted mean sum(w x) / sum(w) (NaN when sum(w) = 0; missing x left out, as pandas' mean);
    correctly rounded for whole numbers, so it equals pandas' mean of the expanded column bit for bit."""
    if x.dtype.kind == "f" and np.isnan(x).any():
        keep = ~np.isnan(x)
        x, w = x[keep], w[keep]
    total = int(w.sum())
    if total == 0:
        return float("nan")
    return float(_wsum(w, x) / total)


def _wsd(x: np.ndarray, w: np.ndarray) -> float:
    """Weighted (population) standard deviation of the expanded rows: from exact integer moments,
    sqrt(N Sxx - Sx^2) / N, for whole numbers (identical on every form of the same rows), else two-pass
    floating point."""
    n = int(w.sum())
    if n == 0:
        return float("nan")
    xi = _integer_values(np.asarray(x))
    if xi is not None:
        sx, sxx = _wsum(w, xi), _wsum(w, xi, xi)
        if isinstance(sx, int) and isinstance(sxx, int):
            return math.sqrt(max(n * sxx - sx * sx, 0)) / n
    xf = np.asarray(x, dtype="float64")
    centred = xf - float(w.astype("float64") @ xf) / n
    return math.sqrt(float(w.astype("float64") @ (centred * centred)) / n)


def weighted_quantile(x, w, q: float) -> float:
    """numpy's default (linear, "type 7") quantile of ``x`` repeated ``w`` times, without repeating it.

    With N = sum(w) and h = (N - 1) q (computed as numpy computes its virtual index), the result
    interpolates between the floor(h)-th and the next order statistic of the expanded values, which
    are read off the cumulative counts; the interpolation itself is numpy's (``numpy.quantile`` of those
    two values at h - floor(h)), so the result is bit-identical to
    ``numpy.quantile(numpy.repeat(x, w), q)`` (tested on random data with ties, 0 < q < 1).
    """
    x = np.asarray(x, dtype="float64")
    w = np.asarray(w, dtype="int64")
    keep = w > 0
    x, w = x[keep], w[keep]
    if not len(x):
        raise ValueError("quantile of no values")
    order = np.argsort(x, kind="stable")
    xs, cum = x[order], np.cumsum(w[order])
    n = int(cum[-1])
    h = (n - 1) * q
    if h >= n - 1:
        return float(xs[-1])
    k = math.floor(h)
    a = xs[np.searchsorted(cum, k, side="right")]           # k-th order statistic (0-based)
    b = xs[np.searchsorted(cum, k + 1, side="right")]
    return float(np.quantile(np.array([a, b]), h - k))


def wilson_interval(events, n, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for ``events`` successes out of ``n`` trials (vectorised).

    A thin wrapper on ``statsmodels.stats.proportion.proportion_confint(method="wilson")``;
    tested against the closed form (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)
    written out in numpy with z = scipy.stats.norm.ppf(1 - alpha/2), to 1e-12.
    Groups with ``n == 0`` get NaN bounds.

    Example (3 events in 10: Wilson's interval, (p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)):

    >>> low, high = wilson_interval(np.array([3]), np.array([10]))
    >>> round(float(low[0]), 4), round(float(high[0]), 4)
    (0.1078, 0.6032)
    """
    from statsmodels.stats.proportion import proportion_confint  # slow import, only when used

    events = np.asarray(events, dtype="float64")
    n = np.asarray(n, dtype="float64")
    low = np.full(np.broadcast(events, n).shape, np.nan)
    high = low.copy()
    ok = np.broadcast_to(n > 0, low.shape)
    if ok.any():
        e_ok = np.broadcast_to(events, low.shape)[ok]
        n_ok = np.broadcast_to(n, low.shape)[ok]
        lo, hi = proportion_confint(e_ok, n_ok, alpha=alpha, method="wilson")
        low[ok], high[ok] = lo, hi
    return low, high


def _rate_table(levels, n, events, alpha: float) -> pd.DataFrame:
    n = np.asarray(n, dtype="int64")
    events = np.asarray(events, dtype="int64")
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n > 0, events / np.where(n > 0, n, 1), np.nan)
    low, high = wilson_interval(events, n, alpha=alpha)
    return pd.DataFrame({
        "level": list(levels),
        "n": n,
        "events": events,
        "rate": rate,
        "conf_low": low,
        "conf_high": high,
    })


# --------------------------------------------------------------------------------------------
# tables


def overall_rate(df: pd.DataFrame, response: str, weights=None) -> float:
    """Share of rows with the event (events / rows), on any of the three forms; equal to
    ``df[response].mean()`` on rows bit for bit (both are the correctly rounded ratio of two integers)."""
    r = weighted_rows(df, response, weights)
    return _wmean(r.y, r.w)


def class_balance(df: pd.DataFrame, response: str, weights=None) -> pd.DataFrame:
    """How many rows have / do not have the event.

    Returns ``DataFrame[flag, n, share]`` with exactly two rows, flag 0 then 1 (a class with no
    rows still appears, with n = 0); ``share = n / number of rows``. The first column is named
    after ``response``. ``weights``: see :func:`weighted_rows` (a pattern table needs none).

    Tested against a hand count on a tiny frame, ``numpy.bincount`` on the real data (exact), and on
    the pattern table of the real data against the expanded rows (identical).
    """
    r = weighted_rows(df, response, weights)
    counts = np.array([_wsum(r.w, r.y == 0), _wsum(r.w, r.y == 1)], dtype="int64")
    total = int(counts.sum())
    return pd.DataFrame({
        response: np.array([0, 1], dtype="int64"),
        "n": counts,
        "share": counts / total if total else np.full(2, np.nan),
    })


def means_by_flag(df: pd.DataFrame, response: str, weights=None) -> pd.DataFrame:
    """Mean of every numeric variable (dummies included) among rows without and with the event.

    The original analysis' ``df.groupby('flag').mean()``, transposed into a tidy table:
    ``DataFrame[variable, mean_flag_0, mean_flag_1, difference]`` with one row per numeric
    column other than the response (and the counts), in column order;
    ``difference = mean_flag_1 - mean_flag_0``. The mean of a 0/1 dummy is the share of rows
    with that attribute. Weighted forms give weighted means (the means of the expanded rows).
    ``weights``: see :func:`weighted_rows` (a pattern table needs none).

    Tested against hand-computed means on a tiny frame and numpy means over boolean masks on the
    real data (1e-12), and on the pattern table against the expanded rows (identical).
    """
    r = weighted_rows(df, response, weights)
    variables = [c for c in _numeric_columns(r.frame) if c != response]
    w0 = np.where(r.y == 0, r.w, 0)
    w1 = np.where(r.y == 1, r.w, 0)
    rows = []
    for var in variables:
        x = _values(r.frame, var)
        rows.append((var, _wmean(x, w0), _wmean(x, w1)))
    out = pd.DataFrame(rows, columns=["variable", "mean_flag_0", "mean_flag_1"])
    out["difference"] = out["mean_flag_1"] - out["mean_flag_0"]
    return out


def _grouped_counts(keys: pd.Series, r: WeightedRows) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    """Rows and events per value of ``keys`` (one key per weighted row), sorted, missing last."""
    counts = pd.DataFrame({"n": r.w, "events": r.w * r.y}).groupby(
        keys, sort=True, dropna=False, observed=True).sum()
    return counts.index, counts["n"].to_numpy(dtype="int64"), counts["events"].to_numpy(dtype="int64")


def rate_by(
    df: pd.DataFrame,
    column: str,
    response: str,
    alpha: float = 0.05,
    weights=None,
) -> pd.DataFrame:
    """Event rate for each level of ``column``, with a Wilson (1 - alpha) interval.

    Returns ``DataFrame[level, n, events, rate, conf_low, conf_high]``, one row per observed
    level in sorted order (0 before 1 for a dummy; alphabetical for a string). ``n`` is the
    number of rows at the level, ``events`` how many have the event, ``rate = events / n``.
    A missing value of ``column`` forms its own level (NaN, last), so ``n`` always sums to the
    number of rows. Used for every categorical and binary variable.
    ``weights``: see :func:`weighted_rows` (a pattern table needs none).

    Tested against a hand calculation on a tiny frame, ``pandas.crosstab`` counts and row
    proportions on the real data (exact / 1e-12), the Wilson closed form (1e-12), and on the pattern
    table against the expanded rows (identical).
    """
    r = weighted_rows(df, response, weights)
    if column not in r.frame.columns:
        raise KeyError(f"column {column!r} not in the data frame")
    levels, n, events = _grouped_counts(r.frame[column], r)
    return _rate_table(levels, n, events, alpha)


def bin_labels(edges: Sequence[float]) -> list[str]:
    """Labels of the half-open bins [edges[i], edges[i+1]).

    Integer edges give inclusive integer ranges, "18–29", and an infinite last edge gives
    "60+"; other edges give interval notation "[18.5, 30)".
    """
    labels = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        if math.isinf(hi):
            labels.append(f"{lo:g}+")
        elif float(lo).is_integer() and float(hi).is_integer():
            labels.append(f"{int(lo)}{EN_DASH}{int(hi) - 1}")
        else:
            labels.append(f"[{lo:g}, {hi:g})")
    return labels


def bin_codes(values: pd.Series, edges: Sequence[float]) -> tuple[np.ndarray, list[str]]:
    """Assign every row a group label; returns (labels per row, ordered group labels)."""
    edges = [float(e) for e in edges]
    if len(edges) < 2 or any(b <= a for a, b in zip(edges[:-1], edges[1:])):
        raise ValueError(f"edges must be strictly increasing with at least two values: {edges}")
    inner = bin_labels(edges)
    below = f"<{edges[0]:g}"
    above = f"{edges[-1]:g}+"
    a = values.to_numpy(dtype="float64")
    idx = np.searchsorted(edges, a, side="right") - 1  # bin i holds edges[i] <= a < edges[i+1]
    label = np.empty(len(a), dtype=object)
    label[idx < 0] = below
    label[idx >= len(inner)] = above
    mid = (idx >= 0) & (idx < len(inner))
    label[mid] = np.asarray(inner, dtype=object)[idx[mid]]
    label[np.isnan(a)] = "missing"
    order = [below, *inner, above, "missing"]
    return label, order


def binned_rates(
    df: pd.DataFrame,
    edges: Sequence[float],
    column: str,
    response: str,
    alpha: float = 0.05,
    weights=None,
) -> pd.DataFrame:
    """Event rate by groups of a numeric ``column`` (bins of ``edges``), same columns as :func:`rate_by`.

    Bins are half-open, ``[edges[i], edges[i+1])``; with edges (18, 30, 40, 50, 60, inf) the levels
    are "18–29", "30–39", "40–49", "50–59", "60+". No row is ever dropped: values below the first
    edge are counted in an extra first group "<18" (named after the first edge), values at or above
    a finite last edge in an extra last group (e.g. "70+" for a last edge of 70) and missing values
    in a group "missing". An extra group appears only when it has rows; the regular groups always
    appear (an empty one has n = 0 and NaN rate and bounds). ``n`` therefore always sums to the
    number of rows.
    ``weights``: see :func:`weighted_rows` (a pattern table needs none).

    Tested against hand-assigned groups on a tiny frame (including an age below 18, an age on
    each edge and a missing age), against counts from explicit boolean masks
    ``(age >= lo) & (age < hi)`` on the real data (exact, Wilson bounds 1e-12), and on the pattern
    table against the expanded rows (identical).
    """
    r = weighted_rows(df, response, weights)
    label, order = bin_codes(r.frame[column], edges)
    inner = bin_labels([float(e) for e in edges])
    levels, ns, evs = [], [], []
    for lvl in order:
        mask = label == lvl
        count = _wsum(r.w, mask)
        if count == 0 and lvl not in inner:
            continue
        levels.append(lvl)
        ns.append(count)
        evs.append(_wsum(r.w, mask, r.y))
    return _rate_table(levels, ns, evs, alpha)


def tail_rates(
    df: pd.DataFrame,
    cutoff: float,
    column: str,
    response: str,
    alpha: float = 0.05,
    weights=None,
) -> pd.DataFrame:
    """The upper tail of a numeric ``column`` (values >= cutoff) against the rest.

    Returns ``DataFrame[group, n, share, events, rate, conf_low, conf_high, min, max]``
    with two rows, ``"under 60"`` then ``"60+"`` (named after ``cutoff``); ``share`` is the share
    of all rows, ``rate`` the event rate with a Wilson interval; ``min``/``max`` are the smallest and
    largest value of ``column`` in each group. A missing value
    would belong to neither group and raises ``ValueError``. ``weights``: see :func:`weighted_rows` (a pattern table needs none).

    Tested against hand counts on a tiny frame, numpy masks on the real data, and on the pattern
    table against the expanded rows (identical).
    """
    r = weighted_rows(df, response, weights)
    values = r.frame[column].astype("float64")
    if values.isna().any():
        raise ValueError(f"{column!r} has missing values; tail_rates needs every value")
    old = (values >= cutoff).to_numpy()
    groups = [~old, old]
    n = np.array([_wsum(r.w, g) for g in groups], dtype="int64")
    events = np.array([_wsum(r.w, g, r.y) for g in groups], dtype="int64")
    table = _rate_table([f"under {cutoff:g}", f"{cutoff:g}+"], n, events, alpha)
    table = table.rename(columns={"level": "group"})
    total = r.n
    table.insert(2, "share", n / total if total else np.nan)
    av = values.to_numpy()
    table["min"] = [av[g].min() if g.any() else np.nan for g in groups]
    table["max"] = [av[g].max() if g.any() else np.nan for g in groups]
    return table


def _pearson(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Weighted Pearson correlation = Pearson correlation of the rows repeated w times.

    Whole-number columns: exact integer moments, r = (N Sxy - Sx Sy) / sqrt((N Sxx - Sx^2)(N Syy - Sy^2))
    with the numerator and the product under the root exact integers (one rounding each, then the
    square root and the division): identical on every form of the same rows. Otherwise: two-pass
    centred weighted sums in floating point. Pairs with a missing value are left out (as pandas' corr).
    NaN when either column is constant.
    """
    ok = np.isfinite(x.astype("float64")) & np.isfinite(y.astype("float64"))
    if not ok.all():
        x, y, w = x[ok], y[ok], w[ok]
    n = int(w.sum())
    xi, yi = _integer_values(x), _integer_values(y)
    if n and xi is not None and yi is not None:
        sx, sy = _wsum(w, xi), _wsum(w, yi)
        sxx, syy, sxy = _wsum(w, xi, xi), _wsum(w, yi, yi), _wsum(w, xi, yi)
        if all(isinstance(v, int) for v in (sx, sy, sxx, syy, sxy)):
            dx, dy = n * sxx - sx * sx, n * syy - sy * sy
            if dx <= 0 or dy <= 0:
                return float("nan")
            return float(min(1.0, max(-1.0, (n * sxy - sx * sy) / math.sqrt(dx * dy))))
    if n == 0:
        return float("nan")
    wf = w.astype("float64")
    x = x.astype("float64")
    y = y.astype("float64")
    cx = x - (wf @ x) / n
    cy = y - (wf @ y) / n
    vx, vy = wf @ (cx * cx), wf @ (cy * cy)
    if vx <= 0 or vy <= 0:
        return float("nan")
    return float(min(1.0, max(-1.0, (wf @ (cx * cy)) / math.sqrt(vx * vy))))


def correlations(df: pd.DataFrame, response: str, weights=None) -> pd.DataFrame:
    """Pearson correlation matrix of the numeric columns (dummies and the response included).

    A square DataFrame whose index and columns are the numeric column names in frame order,
    with the response moved last; the index is named ``variable``. String columns (job,
    marriage) and the counts of a weighted form are left out. The diagonal is 1 (NaN for a constant
    column). Weighted forms give the correlation of the expanded rows (:func:`_pearson`).
    ``weights``: see :func:`weighted_rows` (a pattern table needs none).

    Tested against ``numpy.corrcoef`` on the real data (1e-12), a hand calculation on a tiny frame,
    ``numpy.cov(..., fweights=w)`` for non-integer weighted data (1e-12), and on the pattern table
    against the expanded rows (identical).
    """
    r = weighted_rows(df, response, weights)
    cols = [c for c in _numeric_columns(r.frame) if c != response]
    if response in r.frame.columns:
        cols.append(response)
    values = {c: _values(r.frame, c) for c in cols}
    k = len(cols)
    out = np.full((k, k), np.nan)
    for i in range(k):
        for j in range(i, k):
            rho = _pearson(values[cols[i]], values[cols[j]], r.w)
            if i == j:
                rho = 1.0 if np.isfinite(rho) else np.nan
            out[i, j] = out[j, i] = rho
    corr = pd.DataFrame(out, index=pd.Index(cols, name="variable"), columns=cols)
    corr.columns.name = None
    return corr


def correlation_with_flag(df: pd.DataFrame, response: str, weights=None) -> pd.DataFrame:
    """Pearson correlation of each numeric variable with the response, strongest first.

    Returns ``DataFrame[variable, correlation]`` sorted by ``|correlation|`` descending (ties
    keep frame order); the response itself is left out.
    ``weights``: see :func:`weighted_rows` (a pattern table needs none).

    Tested against ``scipy.stats.pearsonr`` for every variable on the real data (1e-12), and on the
    pattern table against the expanded rows (identical).
    """
    corr = correlations(df, response, weights)[response].drop(response)
    out = pd.DataFrame({"variable": corr.index.to_list(), "correlation": corr.to_numpy()})
    order = np.argsort(-out["correlation"].abs().to_numpy(), kind="stable")
    return out.iloc[order].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# one-sentence readings


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _range_sentence(table: pd.DataFrame, by: str, rate: str, describe=lambda lvl: str(lvl)) -> str:
    t = table.dropna(subset=["rate"])
    hi = t.loc[t["rate"].idxmax()]
    lo = t.loc[t["rate"].idxmin()]
    return (f"By {by}, the {rate} ranged from {_pct(lo['rate'])} "
            f"({describe(lo['level'])}, n = {int(lo['n']):,}) "
            f"to {_pct(hi['rate'])} ({describe(hi['level'])}, n = {int(hi['n']):,}).")


def headline_sentences(tables: dict, spec) -> pd.DataFrame:
    """One-sentence readings of the exploratory tables (``analysis.pipeline.exploratory_tables``), every
    number taken from the tables and every word from the specification.

    Returns ``DataFrame[topic, sentence]`` with topics ``class_balance``, then per variable in
    specification order: its table key (``returned``, ``job``) for a binary or categorical variable,
    ``<name>_group`` and ``<name>_tail`` for a numeric one with bins / a tail; then ``correlation``.
    Rates are printed as percentages with one decimal, counts with thousands separators.

    Tested by exact string comparison on a tiny hand-made table set (numbers worked out by hand) and, on
    the real data, by checking that each sentence contains the rates computed independently with
    ``pandas.crosstab``.
    """
    r = spec.response
    rows: list[tuple[str, str]] = []
    cb = tables["class_balance"]
    n_yes, n = int(cb["n"].iloc[1]), int(cb["n"].sum())
    rows.append(("class_balance", f"{n_yes:,} of {n:,} {spec.rows} ({_pct(cb['share'].iloc[1])}) {r.verb}."))
    for v in spec.variables:
        key = v.column or v.name
        if v.kind == "binary" and f"rate_by_{key}" in tables:
            rates = dict(zip(tables[f"rate_by_{key}"]["level"], tables[f"rate_by_{key}"]["rate"]))
            if 0 in rates and 1 in rates:
                rows.append((key, f"{_capital(v.yes_group)} {r.verb} at {_pct(rates[1])} "
                                  f"versus {_pct(rates[0])} for {v.no_group}."))
        elif v.kind == "categorical" and f"rate_by_{key}" in tables:
            rows.append((key, _range_sentence(tables[f"rate_by_{key}"], in_sentence(v.label), r.rate, v.level_label)))
        elif f"rate_by_{v.name}_group" in tables:
            label = in_sentence(v.label)
            rows.append((f"{v.name}_group", _range_sentence(tables[f"rate_by_{v.name}_group"], f"{label} group",
                                                            r.rate, lambda lvl, label=label: f"{label} {lvl}")))
            if f"{v.name}_tail" in tables:
                tail = tables[f"{v.name}_tail"]
                low, high = tail.iloc[0], tail.iloc[1]
                rows.append((f"{v.name}_tail",
                             f"{_capital(spec.rows)} with {in_sentence(v.label)} {v.tail_above:g} or over are "
                             f"{_pct(high['share'])} of {spec.rows} (n = {int(high['n']):,}) and {r.verb} at "
                             f"{_pct(high['rate'])} versus {_pct(low['rate'])} for the others."))
    cw = tables.get("correlation_with_flag")
    if cw is not None and len(cw):
        top = cw.iloc[0]
        label = spec.indicator_labels().get(top["variable"], top["variable"])
        rows.append(("correlation", f"The strongest linear association with the response ({in_sentence(r.label)}) is "
                                    f"\u201c{label}\u201d (Pearson r = {top['correlation']:.3f})."))
    return pd.DataFrame(rows, columns=["topic", "sentence"])


def profile_by_score(df: pd.DataFrame, p, top_share: float = 0.2, *, response: str,
                     weights=None, spec=None) -> pd.DataFrame:
    """Who the model ranks highest: the rows in the top ``top_share`` of predicted probability vs the rest.

    Rows: the observed event rate (characteristic ``"event rate (observed)"``); the share of each
    level of every categorical variable (``"<name>: <level>"``) and of every binary variable (its
    name); the mean of every count or numeric variable. With ``spec`` the variables are the
    specification's, in its order; without it, text columns are categorical, 0/1 columns binary and
    other numeric columns means. Columns ``characteristic, kind, top, rest, difference, std_difference``
    (kind is "share" or "mean"; ``std_difference`` is the difference over the pooled standard
    deviation of the variable, so that differences in different units can be ranked). The top group is
    every row with p at or above the (1 - top_share) quantile of p over rows (numpy's default linear
    quantile of the expanded rows, :func:`weighted_quantile`), so ties at the cut are kept together and
    the group can be slightly larger than top_share. ``p`` has one value per row of ``df`` (per pattern
    for a pattern table). ``attrs``: threshold, n_top and n_rest.
    ``weights``: see :func:`weighted_rows` (a pattern table needs none).

    Tested against a hand calculation on a tiny frame, pandas groupby means on the real data, and on
    the pattern table against the expanded rows (identical).
    """
    p = np.asarray(p, dtype=float)
    if len(p) != len(df):
        raise ValueError(f"p has {len(p)} values for {len(df)} rows")
    if not 0 < top_share < 1:
        raise ValueError(f"top_share must be in (0, 1), got {top_share}")
    r = weighted_rows(df, response, weights)
    data, pr = r.frame, p[r.origin]
    cut = weighted_quantile(pr, r.w, 1 - top_share)
    top = pr >= cut
    w_top, w_rest = np.where(top, r.w, 0), np.where(top, 0, r.w)

    def both(x):
        x = np.asarray(x)
        a, b = _wmean(x, w_top), _wmean(x, w_rest)
        sd = _wsd(x, r.w)
        return a, b, ((a - b) / sd if sd > 0 else float("nan"))

    if spec is not None:
        kinds = [(v.name, "categorical" if v.kind == "categorical" else "binary" if v.kind == "binary" else "mean")
                 for v in spec.variables if v.name in data]
    else:
        kinds = []
        for col in data.columns:
            if col == response:
                continue
            if not pd.api.types.is_numeric_dtype(data[col]):
                kinds.append((col, "categorical"))
            elif set(pd.unique(data[col])) <= {0, 1}:
                kinds.append((col, "binary"))
            else:
                kinds.append((col, "mean"))
    rows = [("event rate (observed)", "share", *both(r.y))]
    for col, kind in kinds:
        if kind == "categorical":
            for level in sorted(data[col].unique()):
                rows.append((f"{col}: {level}", "share", *both((data[col] == level).to_numpy())))
        elif kind == "binary":
            rows.append((col, "share", *both(_values(data, col))))
    for col, kind in kinds:
        if kind == "mean":
            rows.append((col, "mean", *both(_values(data, col))))
    out = pd.DataFrame(rows, columns=["characteristic", "kind", "top", "rest", "std_difference"])
    out["difference"] = out["top"] - out["rest"]
    out = out[["characteristic", "kind", "top", "rest", "difference", "std_difference"]]
    out.attrs.update({"threshold": cut, "n_top": _wsum(r.w, top), "n_rest": _wsum(r.w, ~top)})
    return out


# --------------------------------------------------------------------------------------------
# the exploratory tables of a run


def tables(data: pd.DataFrame, spec) -> dict[str, pd.DataFrame]:
    """The exploratory tables of a pattern table of all rows used, named by the specification:
    ``rate_by_<key>`` for each categorical and binary variable (``Variable.key``), ``rate_by_<name>_group``
    and ``<name>_tail`` for a numeric variable with ``bins`` / ``tail_above``, the class balance, the means
    by response and the correlations."""
    response = spec.response.name
    out = {"class_balance": class_balance(data, response), "means_by_flag": means_by_flag(data, response)}
    for v in spec.variables:
        if v.kind in ("categorical", "binary"):
            out[f"rate_by_{v.key}"] = rate_by(data, v.name, response)
        elif v.bins:
            out[f"rate_by_{v.name}_group"] = binned_rates(data, edges=(*v.bins, math.inf), column=v.name,
                                                          response=response)
            if v.tail_above is not None:
                out[f"{v.name}_tail"] = tail_rates(data, cutoff=v.tail_above, column=v.name, response=response)
    out["correlations"] = correlations(data, response)
    out["correlation_with_flag"] = correlation_with_flag(data, response)
    return out


#: the name of the table of :func:`top_profile` (``tables/<name>.csv``): the profile of the top-scored rows
PROFILE_TABLE = "profile_top_scored"


def top_profile(data: pd.DataFrame, p, spec, top_share: float) -> tuple[pd.DataFrame, dict]:
    """:func:`profile_by_score` of all rows used, as (table, facts): the facts are its threshold and group
    sizes with ``top_share`` and what was scored."""
    table = profile_by_score(data, p, top_share=top_share, response=spec.response.name, spec=spec)
    facts = {**table.attrs, "top_share": top_share, "scored": "all rows used"}
    table.attrs = {}
    return table, facts
