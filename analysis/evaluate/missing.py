"""Rows left out for a missing value: how many, whether missingness goes with the outcome, and how the rows
left out differ from the rows kept.

    missingness(complete, incomplete, spec) -> DataFrame        (table ``missingness``)
    missing_vs_complete(complete, incomplete, spec) -> DataFrame (table ``missing_vs_complete``)
    association_test(table) -> (test, statistic, df, p_value)   (Pearson chi-square or Fisher's exact)
    tables(samples, spec) -> {name: DataFrame}                   (both tables; none when no row was left out)
    facts(samples, accounting) -> dict                           (metrics.json's ``missing``)

``complete`` is the pattern table of the rows kept (``analysis.read.patterns.Samples.all``: the variables,
``trials`` and ``events``), ``incomplete`` that of the rows left out for a missing value
(``Samples.incomplete``, missing values as NaN / a missing text / ``pd.NA``; a ``sample`` column is
ignored). Both samples together: missingness is a property of the data, not of the split. Rows without
the response are not in either (they are counted in the row accounting only: they have no outcome to
compare).

Tested (tests/evaluate/test_missing.py) against independent computations on the expanded rows: pandas
crosstabs with ``scipy.stats.chi2_contingency(correction=False)`` and ``scipy.stats.fisher_exact``,
statsmodels' ``Table2x2``, pandas means, standard deviations and shares; and against R 4.2.2's
``chisq.test(correct = FALSE)`` and ``fisher.test`` on the Titanic data (tests/reference/r/missing.json,
made by tests/reference/r/missing.R).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from analysis.read.patterns import EVENTS, SAMPLE, TRIALS

__all__ = ["missingness", "missing_vs_complete", "association_test", "tables", "facts", "MISSINGNESS_COLUMNS",
           "COMPARISON_COLUMNS", "PEARSON", "FISHER", "MIN_EXPECTED"]

PEARSON, FISHER = "Pearson chi-square", "Fisher's exact"
#: Fisher's exact test instead of the chi-square when an expected count is below this (Cochran's rule)
MIN_EXPECTED = 5
MISSINGNESS_COLUMNS = ["variable", "rows_missing", "share_missing", "events_missing", "rate_missing",
                       "rows_observed", "events_observed", "rate_observed", "test", "statistic", "df", "p_value"]
COMPARISON_COLUMNS = ["variable", "level", "summary", "excluded", "kept", "n_excluded", "n_kept",
                      "std_difference"]


def association_test(table) -> tuple[str, float, float, float]:
    """Whether two yes/no characteristics go together, from their 2 x 2 table of counts ``[[a, b], [c, d]]``
    (here rows: value missing / observed; columns: event / no event): (test, statistic, df, p-value).
    Pearson's chi-square without continuity correction (1 df) when every expected count is at least
    ``MIN_EXPECTED``; otherwise Fisher's exact test, two-sided (statistic and df NaN), which also takes a
    table with an empty row or column (p = 1).

    Tested against R's ``chisq.test(correct = FALSE)`` and ``fisher.test`` (1e-10), and against
    ``scipy.stats.chi2_contingency(correction=False)`` and statsmodels' ``Table2x2.test_nominal_association``
    on crosstabs of the rows (1e-10).

    Example:
        >>> association_test([[30, 70], [300, 600]])[0]
        'Pearson chi-square'
        >>> test, statistic, df, p = association_test([[2, 1], [300, 600]])
        >>> test, round(p, 4)
        ("Fisher's exact", 0.2605)
    """
    t = np.asarray(table, dtype=float)
    if t.shape != (2, 2) or (t < 0).any():
        raise ValueError(f"a 2 x 2 table of counts is needed, got {t.tolist()}")
    n = t.sum()
    rows, cols = t.sum(axis=1), t.sum(axis=0)
    expected = np.outer(rows, cols) / n if n else np.zeros((2, 2))
    if (expected < MIN_EXPECTED).any():
        p = stats.fisher_exact(np.rint(t).astype(np.int64), alternative="two-sided").pvalue
        return FISHER, math.nan, math.nan, float(p)
    chi2 = float(n * (t[0, 0] * t[1, 1] - t[0, 1] * t[1, 0]) ** 2 / (rows.prod() * cols.prod()))
    return PEARSON, chi2, 1.0, float(stats.chi2.sf(chi2, 1))


def _rows(frame: pd.DataFrame | None) -> pd.DataFrame:
    """A pattern table without the sample column (an empty one for None)."""
    if frame is None:
        return pd.DataFrame({TRIALS: pd.Series(dtype="int64"), EVENTS: pd.Series(dtype="int64")})
    return frame.drop(columns=SAMPLE, errors="ignore")


def _rate(events: int, rows: int) -> float:
    return events / rows if rows else math.nan


def missingness(complete: pd.DataFrame, incomplete: pd.DataFrame | None, spec) -> pd.DataFrame:
    """One row per variable of the specification, in its order: rows whose value is missing
    (``rows_missing``; a row missing several variables counts under each) and their share of all rows with
    the response (kept and left out), the events and event rate among them and among the rows where it is
    observed, and the test of whether missingness goes with the outcome (:func:`association_test` of
    missing/observed by event/no event): ``test`` names it, ``statistic`` (chi-square), ``df``, ``p_value``
    (empty for a variable with no missing value). A derived variable is missing where one of its inputs is.

    Tested against pandas crosstabs of the expanded rows with scipy's chi-square and Fisher tests, and
    against R on the Titanic data (tests/evaluate/test_missing.py)."""
    complete, incomplete = _rows(complete), _rows(incomplete)
    n_rows = int(complete[TRIALS].sum() + incomplete[TRIALS].sum())
    n_events = int(complete[EVENTS].sum() + incomplete[EVENTS].sum())
    out = []
    for v in spec.variables:
        gone = incomplete[incomplete[v.name].isna()] if v.name in incomplete else incomplete.iloc[:0]
        rows_m, events_m = int(gone[TRIALS].sum()), int(gone[EVENTS].sum())
        rows_o, events_o = n_rows - rows_m, n_events - events_m
        test = (association_test([[events_m, rows_m - events_m], [events_o, rows_o - events_o]]) if rows_m
                else ("", math.nan, math.nan, math.nan))
        out.append([v.name, rows_m, _rate(rows_m, n_rows), events_m, _rate(events_m, rows_m), rows_o, events_o,
                    _rate(events_o, rows_o), *test])
    table = pd.DataFrame(out, columns=MISSINGNESS_COLUMNS)
    for c in ("rows_missing", "events_missing", "rows_observed", "events_observed"):
        table[c] = table[c].astype("int64")
    return table


def _std_share(p1: float, p0: float) -> float:
    """Standardized difference of two proportions: (p1 - p0) / sqrt((p1 (1 - p1) + p0 (1 - p0)) / 2)
    (Austin 2009); 0 when both are the same 0 or 1, NaN when they differ with no spread in either."""
    sd = math.sqrt((p1 * (1 - p1) + p0 * (1 - p0)) / 2)
    if sd == 0:
        return 0.0 if p1 == p0 else math.nan
    return (p1 - p0) / sd


def _mean_var(x: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Mean and sample variance (n - 1) of values ``x`` each standing for ``w`` rows."""
    n = w.sum()
    if n == 0:
        return math.nan, math.nan
    mean = float((w * x).sum() / n)
    var = float((w * (x - mean) ** 2).sum() / (n - 1)) if n > 1 else math.nan
    return mean, var


def missing_vs_complete(complete: pd.DataFrame, incomplete: pd.DataFrame | None, spec) -> pd.DataFrame:
    """The rows left out for a missing value (``excluded``) against the rows kept (``kept``), on the response
    and on each variable where the rows left out have it: ``summary`` "share" (the share at ``level``: the
    event for the response, "1" -- the ``yes`` level -- for a binary variable, each level of a categorical
    one) or "mean" (count and numeric variables); ``n_excluded``/``n_kept`` the rows each is computed on (the
    rows left out that have the variable); ``std_difference`` the standardized difference, excluded minus
    kept: for a share (p1 - p0) / sqrt((p1 (1 - p1) + p0 (1 - p0)) / 2), for a mean (m1 - m0) /
    sqrt((s1^2 + s0^2) / 2) with sample variances (Austin 2009; |d| above 0.1 is the usual mark of a
    difference that matters). A variable no row left out has is not listed.

    Tested against pandas shares, means and standard deviations of the expanded rows
    (tests/evaluate/test_missing.py)."""
    complete, incomplete = _rows(complete), _rows(incomplete)
    r = spec.response
    out = []

    def share_row(name, level, hit_e, n_e, hit_k, n_k):
        p1, p0 = _rate(hit_e, n_e), _rate(hit_k, n_k)
        d = _std_share(p1, p0) if n_e and n_k else math.nan
        out.append([name, str(level), "share", p1, p0, n_e, n_k, d])

    share_row(r.name, "1", int(incomplete[EVENTS].sum()), int(incomplete[TRIALS].sum()),
              int(complete[EVENTS].sum()), int(complete[TRIALS].sum()))
    for v in spec.variables:
        if v.name not in incomplete:
            continue
        seen = incomplete[incomplete[v.name].notna()]
        n_e, n_k = int(seen[TRIALS].sum()), int(complete[TRIALS].sum())
        if n_e == 0:
            continue
        if v.kind in ("categorical", "binary"):
            x_e, x_k = seen[v.name].astype(str), complete[v.name].astype(str)
            levels = ["1"] if v.kind == "binary" else sorted(set(x_e) | set(x_k))
            for level in levels:
                share_row(v.name, level, int(seen.loc[(x_e == level).to_numpy(), TRIALS].sum()), n_e,
                          int(complete.loc[(x_k == level).to_numpy(), TRIALS].sum()), n_k)
            continue
        m1, v1 = _mean_var(seen[v.name].to_numpy(dtype="float64"), seen[TRIALS].to_numpy(dtype="float64"))
        m0, v0 = _mean_var(complete[v.name].to_numpy(dtype="float64"), complete[TRIALS].to_numpy(dtype="float64"))
        if math.isnan(v1) or math.isnan(v0):
            d = math.nan
        else:
            sd = math.sqrt((v1 + v0) / 2)
            d = (m1 - m0) / sd if sd > 0 else (0.0 if m1 == m0 else math.nan)
        out.append([v.name, "", "mean", m1, m0, n_e, n_k, d])
    table = pd.DataFrame(out, columns=COMPARISON_COLUMNS)
    table[["n_excluded", "n_kept"]] = table[["n_excluded", "n_kept"]].astype("int64")
    return table


def tables(samples, spec) -> dict[str, pd.DataFrame]:
    """``missingness`` and ``missing_vs_complete`` of a run's samples (``analysis.read.patterns.Samples``);
    none when no row was left out for a missing value (the row accounting then shows none)."""
    if not samples.n_incomplete:
        return {}
    return {"missingness": missingness(samples.all, samples.incomplete, spec),
            "missing_vs_complete": missing_vs_complete(samples.all, samples.incomplete, spec)}


def facts(samples, accounting: pd.DataFrame, missingness_table: pd.DataFrame | None = None) -> dict:
    """What metrics.json records of missing values: the strategy, the rows kept (complete), left out for a
    missing value, and left out for a missing response (from the row accounting), and per variable with a
    missing value its rows missing (overlapping: a row may miss several) with the test's name and p-value."""
    steps = dict(zip(accounting["step"], accounting["rows_excluded"]))
    out = {"strategy": samples.strategy, "rows_complete": int(samples.all[TRIALS].sum()),
           "rows_incomplete": samples.n_incomplete, "rows_missing_response": int(steps.get("missing response", 0)),
           "by_variable": {}}
    if missingness_table is not None:
        for _, row in missingness_table[missingness_table["rows_missing"] > 0].iterrows():
            out["by_variable"][row["variable"]] = {"rows_missing": int(row["rows_missing"]), "test": row["test"],
                                                   "p_value": float(row["p_value"])}
    return out
