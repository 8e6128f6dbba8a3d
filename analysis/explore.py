"""Exploratory tables of the cleaned coupon data: who used the coupon, and how often, by group.

Every function takes the cleaned DataFrame (see :func:`analysis.data.clean`: ``age``, ``job``,
``marriage``, the two coupon counts, the ``*_yes`` dummies and the 0/1 response ``flag``) and
returns a tidy :class:`pandas.DataFrame` with stable snake_case columns and a fresh
``RangeIndex`` (except :func:`correlations`, which is a square matrix). Nothing is modified in
place and no row is ever dropped silently.

Confidence intervals for a rate are Wilson score intervals (``proportion_confint(...,
method="wilson")`` from statsmodels), which stay inside [0, 1] and behave well for the small
groups (e.g. 163 customers with job "unknown") where the Wald interval does not.

What each function was tested against is stated in its docstring; the tests are in
``tests/test_explore.py``.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from . import schema

RESPONSE = schema.RESPONSE

#: default age-group edges: [18, 30), [30, 40), [40, 50), [50, 60), [60, inf)
AGE_EDGES = (18, 30, 40, 50, 60, math.inf)

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


def wilson_interval(events, n, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for ``events`` successes out of ``n`` trials (vectorised).

    A thin wrapper on ``statsmodels.stats.proportion.proportion_confint(method="wilson")``;
    tested against the closed form (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)
    written out in numpy with z = scipy.stats.norm.ppf(1 - alpha/2), to 1e-12.
    Groups with ``n == 0`` get NaN bounds.
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


def class_balance(df: pd.DataFrame, response: str = RESPONSE) -> pd.DataFrame:
    """How many customers did / did not use the coupon.

    Returns ``DataFrame[flag, n, share]`` with exactly two rows, flag 0 then 1 (a class with no
    rows still appears, with n = 0); ``share = n / len(df)``. The first column is named after
    ``response``.

    Tested against a hand count on a tiny frame and ``numpy.bincount`` on the real data (exact).
    """
    y = _check_response(df, response)
    counts = np.bincount(y.to_numpy(), minlength=2)[:2] if len(y) else np.zeros(2, "int64")
    total = counts.sum()
    return pd.DataFrame({
        response: np.array([0, 1], dtype="int64"),
        "n": counts.astype("int64"),
        "share": counts / total if total else np.full(2, np.nan),
    })


def means_by_flag(df: pd.DataFrame, response: str = RESPONSE) -> pd.DataFrame:
    """Mean of every numeric variable (dummies included) among non-users and users of the coupon.

    The original analysis' ``df.groupby('flag').mean()``, transposed into a tidy table:
    ``DataFrame[variable, mean_flag_0, mean_flag_1, difference]`` with one row per numeric
    column other than the response, in column order; ``difference = mean_flag_1 - mean_flag_0``.
    The mean of a 0/1 dummy is the share of customers with that attribute.

    Tested against hand-computed means on a tiny frame and numpy means over boolean masks on the
    real data (1e-12).
    """
    y = _check_response(df, response)
    variables = [c for c in _numeric_columns(df) if c != response]
    rows = []
    for var in variables:
        x = df[var].astype("float64")
        rows.append((var, x[y == 0].mean(), x[y == 1].mean()))
    out = pd.DataFrame(rows, columns=["variable", "mean_flag_0", "mean_flag_1"])
    out["difference"] = out["mean_flag_1"] - out["mean_flag_0"]
    return out


def rate_by(
    df: pd.DataFrame,
    column: str,
    response: str = RESPONSE,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Coupon-use rate for each level of ``column``, with a Wilson (1 - alpha) interval.

    Returns ``DataFrame[level, n, events, rate, conf_low, conf_high]``, one row per observed
    level in sorted order (0 before 1 for a dummy; alphabetical for a string). ``n`` is the
    number of customers at the level, ``events`` how many used the coupon, ``rate = events / n``.
    A missing value of ``column`` forms its own level (NaN, last), so ``n`` always sums to
    ``len(df)``. Used for returned_yes, marriage, job, loan_yes and default_yes.

    Tested against a hand calculation on a tiny frame, ``pandas.crosstab`` counts and row
    proportions on the real data (exact / 1e-12), and the Wilson closed form (1e-12).
    """
    y = _check_response(df, response)
    if column not in df.columns:
        raise KeyError(f"column {column!r} not in the data frame")
    grouped = y.groupby(df[column], sort=True, dropna=False, observed=True)
    n = grouped.size()
    events = grouped.sum()
    return _rate_table(n.index, n.to_numpy(), events.reindex(n.index).to_numpy(), alpha)


def age_group_labels(edges: Sequence[float] = AGE_EDGES) -> list[str]:
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


def _age_group_codes(age: pd.Series, edges: Sequence[float]) -> tuple[np.ndarray, list[str]]:
    """Assign every row a group label; returns (labels per row, ordered group labels)."""
    edges = [float(e) for e in edges]
    if len(edges) < 2 or any(b <= a for a, b in zip(edges[:-1], edges[1:])):
        raise ValueError(f"edges must be strictly increasing with at least two values: {edges}")
    inner = age_group_labels(edges)
    below = f"<{edges[0]:g}"
    above = f"{edges[-1]:g}+"
    a = age.to_numpy(dtype="float64")
    idx = np.searchsorted(edges, a, side="right") - 1  # bin i holds edges[i] <= a < edges[i+1]
    label = np.empty(len(a), dtype=object)
    label[idx < 0] = below
    label[idx >= len(inner)] = above
    mid = (idx >= 0) & (idx < len(inner))
    label[mid] = np.asarray(inner, dtype=object)[idx[mid]]
    label[np.isnan(a)] = "missing"
    order = [below, *inner, above, "missing"]
    return label, order


def age_groups(
    df: pd.DataFrame,
    edges: Sequence[float] = AGE_EDGES,
    column: str = "age",
    response: str = RESPONSE,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Coupon-use rate by age group, same columns as :func:`rate_by`.

    Bins are half-open, ``[edges[i], edges[i+1])``; with the default edges
    (18, 30, 40, 50, 60, inf) the levels are "18–29", "30–39", "40–49", "50–59", "60+".
    No row is ever dropped: ages below the first edge are counted in an extra first group
    "<18" (named after the first edge), ages at or above a finite last edge in an extra last
    group (e.g. "70+" for a last edge of 70) and missing ages in a group "missing". An extra
    group appears only when it has rows; the regular groups always appear (an empty one has
    n = 0 and NaN rate and bounds). ``n`` therefore always sums to ``len(df)``.

    Tested against hand-assigned groups on a tiny frame (including an age below 18, an age on
    each edge and a missing age) and against counts from explicit boolean masks
    ``(age >= lo) & (age < hi)`` on the real data (exact, Wilson bounds 1e-12).
    """
    y = _check_response(df, response)
    label, order = _age_group_codes(df[column], edges)
    inner = age_group_labels([float(e) for e in edges])
    levels, ns, evs = [], [], []
    yv = y.to_numpy()
    for lvl in order:
        mask = label == lvl
        count = int(mask.sum())
        if count == 0 and lvl not in inner:
            continue
        levels.append(lvl)
        ns.append(count)
        evs.append(int(yv[mask].sum()))
    return _rate_table(levels, ns, evs, alpha)


def age_tail(
    df: pd.DataFrame,
    cutoff: float = 60,
    column: str = "age",
    response: str = RESPONSE,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """The old-age tail (age >= cutoff) against everyone younger.

    Returns ``DataFrame[group, n, share, events, rate, conf_low, conf_high, age_min, age_max]``
    with two rows, ``"under 60"`` then ``"60+"`` (named after ``cutoff``); ``share`` is the share
    of all rows, ``rate`` the coupon-use rate with a Wilson interval. A missing age would belong
    to neither group and raises ``ValueError`` (the cleaned data has none).

    Tested against hand counts on a tiny frame and numpy masks on the real data.
    """
    y = _check_response(df, response)
    age = df[column].astype("float64")
    if age.isna().any():
        raise ValueError(f"{column!r} has missing values; age_tail needs every age")
    old = (age >= cutoff).to_numpy()
    yv = y.to_numpy()
    groups = [~old, old]
    n = np.array([g.sum() for g in groups], dtype="int64")
    events = np.array([yv[g].sum() for g in groups], dtype="int64")
    table = _rate_table([f"under {cutoff:g}", f"{cutoff:g}+"], n, events, alpha)
    table = table.rename(columns={"level": "group"})
    table.insert(2, "share", n / len(df) if len(df) else np.nan)
    av = age.to_numpy()
    table["age_min"] = [av[g].min() if g.any() else np.nan for g in groups]
    table["age_max"] = [av[g].max() if g.any() else np.nan for g in groups]
    return table


def correlations(df: pd.DataFrame, response: str = RESPONSE) -> pd.DataFrame:
    """Pearson correlation matrix of the numeric columns (dummies and the response included).

    A square DataFrame whose index and columns are the numeric column names in frame order,
    with the response moved last; the index is named ``variable``. String columns (job,
    marriage) are left out.

    Tested against ``numpy.corrcoef`` on the real data (1e-12) and a hand calculation on a tiny
    frame.
    """
    cols = [c for c in _numeric_columns(df) if c != response]
    if response in df.columns:
        cols.append(response)
    corr = df[cols].astype("float64").corr(method="pearson")
    corr.index.name = "variable"
    corr.columns.name = None
    return corr


def correlation_with_flag(df: pd.DataFrame, response: str = RESPONSE) -> pd.DataFrame:
    """Pearson correlation of each numeric variable with the response, strongest first.

    Returns ``DataFrame[variable, correlation]`` sorted by ``|correlation|`` descending (ties
    keep frame order); the response itself is left out.

    Tested against ``scipy.stats.pearsonr`` for every variable on the real data (1e-12).
    """
    corr = correlations(df, response)[response].drop(response)
    out = pd.DataFrame({"variable": corr.index.to_list(), "correlation": corr.to_numpy()})
    order = np.argsort(-out["correlation"].abs().to_numpy(), kind="stable")
    return out.iloc[order].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# one-sentence readings


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _dummy_sentence(table: pd.DataFrame, who_yes: str, who_no: str) -> str:
    rates = dict(zip(table["level"], table["rate"]))
    return (f"Customers who {who_yes} used the coupon at {_pct(rates[1])} "
            f"versus {_pct(rates[0])} for those who {who_no}.")


def _range_sentence(table: pd.DataFrame, by: str, describe=lambda lvl: str(lvl)) -> str:
    t = table.dropna(subset=["rate"])
    hi = t.loc[t["rate"].idxmax()]
    lo = t.loc[t["rate"].idxmin()]
    return (f"By {by}, the coupon-use rate ranged from {_pct(lo['rate'])} "
            f"({describe(lo['level'])}, n = {int(lo['n']):,}) "
            f"to {_pct(hi['rate'])} ({describe(hi['level'])}, n = {int(hi['n']):,}).")


def headline_sentences(
    df: pd.DataFrame,
    response: str = RESPONSE,
    age_cutoff: float = 60,
) -> pd.DataFrame:
    """One-sentence readings of the exploratory tables, every number taken from the tables.

    Returns ``DataFrame[topic, sentence]`` with topics ``class_balance``, ``returned``,
    ``loan``, ``default``, ``marriage``, ``job``, ``age_group``, ``age_tail``,
    ``correlation`` (in that order; a topic whose column is absent is skipped). Rates are
    printed as percentages with one decimal, counts with thousands separators.

    Tested by exact string comparison on a tiny hand-made frame (numbers worked out by hand)
    and, on the real data, by checking that each sentence contains the rates computed
    independently with ``pandas.crosstab``.
    """
    rows: list[tuple[str, str]] = []
    cb = class_balance(df, response)
    n_yes = int(cb["n"].iloc[1])
    rows.append(("class_balance",
                 f"{n_yes:,} of {len(df):,} customers ({_pct(cb['share'].iloc[1])}) "
                 f"used the coupon."))
    dummies = [
        ("returned", "returned_yes", "returned goods", "did not"),
        ("loan", "loan_yes", "use ANT Credit Pay (loan)", "do not"),
        ("default", "default_yes", "have defaulted before", "have not"),
    ]
    for topic, col, yes, no in dummies:
        if col in df.columns:
            rows.append((topic, _dummy_sentence(rate_by(df, col, response), yes, no)))
    if "marriage" in df.columns:
        rows.append(("marriage", _range_sentence(rate_by(df, "marriage", response),
                                                 "marital status")))
    if "job" in df.columns:
        rows.append(("job", _range_sentence(rate_by(df, "job", response), "job")))
    if "age" in df.columns:
        rows.append(("age_group", _range_sentence(age_groups(df, response=response),
                                                  "age group", lambda lvl: f"aged {lvl}")))
        tail = age_tail(df, cutoff=age_cutoff, response=response)
        young, old = tail.iloc[0], tail.iloc[1]
        rows.append(("age_tail",
                     f"Customers aged {age_cutoff:g} or over are {_pct(old['share'])} of "
                     f"customers (n = {int(old['n']):,}) and used the coupon at "
                     f"{_pct(old['rate'])} versus {_pct(young['rate'])} for younger customers."))
    cw = correlation_with_flag(df, response)
    if len(cw):
        top = cw.iloc[0]
        rows.append(("correlation",
                     f"The strongest linear association with coupon use is {top['variable']} "
                     f"(Pearson r = {top['correlation']:.3f})."))
    return pd.DataFrame(rows, columns=["topic", "sentence"])


def profile_by_score(df: pd.DataFrame, p, top_share: float = 0.2, response: str = RESPONSE) -> pd.DataFrame:
    """Who the model ranks highest: customers in the top ``top_share`` of predicted probability vs the rest.

    Rows: the observed coupon-use rate; the share of each job, marital status and yes/no attribute;
    the mean of each numeric variable. Columns ``characteristic, kind, top, rest, difference``
    (kind is "share" or "mean"). The top group is every row with p at or above the
    (1 - top_share) quantile of p (numpy's default linear quantile), so ties at the cut are kept
    together and the group can be slightly larger than top_share.
    Tested against a hand calculation on a tiny frame and pandas groupby means on the real data.
    """
    p = np.asarray(p, dtype=float)
    if len(p) != len(df):
        raise ValueError(f"p has {len(p)} values for {len(df)} rows")
    if not 0 < top_share < 1:
        raise ValueError(f"top_share must be in (0, 1), got {top_share}")
    cut = float(np.quantile(p, 1 - top_share))
    top = p >= cut
    rows = [("coupon-use rate (observed)", "share", df[response][top].mean(), df[response][~top].mean())]
    for col in ("job", "marriage"):
        if col in df:
            for level in sorted(df[col].unique()):
                is_level = df[col] == level
                rows.append((f"{col}: {level}", "share", is_level[top].mean(), is_level[~top].mean()))
    for col in ("returned_yes", "loan_yes", "default_yes"):
        if col in df:
            rows.append((col, "share", df[col][top].mean(), df[col][~top].mean()))
    for col in ("age", "coupon_used_in_last6_month", "coupon_used_in_last_month"):
        if col in df:
            rows.append((col, "mean", df[col][top].mean(), df[col][~top].mean()))
    out = pd.DataFrame(rows, columns=["characteristic", "kind", "top", "rest"])
    out["difference"] = out["top"] - out["rest"]
    out.attrs.update({"threshold": cut, "n_top": int(top.sum()), "n_rest": int((~top).sum())})
    return out
