"""Discrimination and calibration of predicted probabilities: ROC/AUC with DeLong CI, KS, concordance,
Brier score, Hosmer-Lemeshow, classification, gains and calibration tables.

Every function takes the same three arguments and accepts two equivalent forms of the data:

- per row: ``p`` the predicted probability of each row, ``events`` its 0/1 response, ``trials`` omitted;
- per covariate pattern: ``p`` the predicted probability shared by the rows of a pattern, ``events`` the
  number of those rows with y = 1 and ``trials`` the number of rows (``trials - events`` have y = 0).

Both forms are first reduced to the same sufficient statistic: for each distinct value of ``p`` (exact
floating-point equality), the number of rows with y = 1 and with y = 0 at that value (integer counts, added
exactly in int64). Every statistic is a function of that table only, so the result on patterns is the result
on the expanded rows, whatever the order of the patterns or whether a value of ``p`` is split over several
patterns. Nothing is binned or approximated: ties in ``p`` are handled exactly as on the rows.

Conventions shared by all functions:

- a row is *predicted positive* at threshold ``t`` when ``p >= t``;
- pairs tied on ``p`` count 1/2 in the AUC (Mann-Whitney);
- "decile"/"bin" groups (:func:`gains_table`, :func:`calibration_table`) never split a set of rows tied on
  ``p``; see :func:`_midrank_groups` for the rule.

The test of each function is named in its docstring; the tests are in ``tests/evaluate/test_discrimination.py``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from analysis.model.counts import Counts

__all__ = [
    "roc_curve",
    "auc_delong",
    "ks_statistic",
    "ks_curve",
    "concordance",
    "brier_score",
    "hosmer_lemeshow",
    "classification_table",
    "gains_table",
    "calibration_table",
    "evaluate",
]


# --------------------------------------------------------------------------------------------- input


@dataclass(frozen=True)
class _Table:
    """Rows grouped by distinct predicted probability, ascending.

    value: the distinct values of p, strictly increasing; pos / neg: int64 number of rows with y = 1 / y = 0
    at each value (a value kept only if pos + neg > 0).
    """

    value: np.ndarray
    pos: np.ndarray
    neg: np.ndarray

    @property
    def n(self) -> np.ndarray:
        return self.pos + self.neg

    @property
    def n_pos(self) -> int:
        return int(self.pos.sum())

    @property
    def n_neg(self) -> int:
        return int(self.neg.sum())

    @property
    def n_total(self) -> int:
        return self.n_pos + self.n_neg


def _table(p, events, trials=None) -> _Table:
    """Validate the input (either form) and reduce it to counts of y = 1 / y = 0 per distinct p."""
    p = np.asarray(p, dtype=float)
    if p.ndim != 1:
        raise ValueError("p must be one-dimensional")
    if p.size == 0:
        raise ValueError("p is empty")
    if not np.all(np.isfinite(p)) or np.any(p < 0) or np.any(p > 1):
        raise ValueError("p must be probabilities in [0, 1] (no NaN)")
    counts = Counts.of(events, trials)
    ev, tr = counts.events, counts.trials
    if len(p) != len(ev):
        raise ValueError("p, events and trials must have the same length")
    p = p + 0.0  # -0.0 -> 0.0, so that equal values are one value
    order = np.argsort(p, kind="stable")
    ps, ev, tr = p[order], ev[order], tr[order]
    starts = np.flatnonzero(np.r_[True, ps[1:] != ps[:-1]])
    pos = np.add.reduceat(ev, starts)
    n = np.add.reduceat(tr, starts)
    return _Table(value=ps[starts], pos=pos, neg=n - pos)


def _require_both_classes(t: _Table) -> None:
    if t.n_pos == 0 or t.n_neg == 0:
        raise ValueError("need at least one event (y = 1) and one non-event (y = 0)")


# --------------------------------------------------------------------------------------------- ROC / AUC


def roc_curve(p, events, trials=None) -> pd.DataFrame:
    """Empirical ROC curve, one point per distinct predicted probability (exact, ties kept together).

    A row is predicted positive when ``p >= threshold``. The first row is ``threshold = inf``,
    ``(fpr, tpr) = (0, 0)``; then one row per distinct ``p`` in decreasing order, the last being ``min(p)``
    with ``(1, 1)``. Tied rows move the curve diagonally, so the trapezoidal area under it is the AUC with
    ties counted 1/2.

    Returns DataFrame[threshold, fpr, tpr].

    Tested against: a brute-force count of ``p >= t`` per threshold on small tied data; the trapezoidal area
    equals :func:`auc_delong`'s AUC and ``scipy.stats.mannwhitneyu``'s U / (n1 n0); rows == patterns.
    """
    t = _table(p, events, trials)
    _require_both_classes(t)
    tp = np.cumsum(t.pos[::-1])
    fp = np.cumsum(t.neg[::-1])
    return pd.DataFrame(
        {
            "threshold": np.r_[np.inf, t.value[::-1]],
            "fpr": np.r_[0.0, fp / t.n_neg],
            "tpr": np.r_[0.0, tp / t.n_pos],
        }
    )


def _pair_counts(t: _Table) -> tuple[int, int, int]:
    """(concordant, discordant, tied) event/non-event pairs, exact integers."""
    neg_below = np.cumsum(t.neg) - t.neg
    concordant = int(np.sum(t.pos * neg_below))
    tied = int(np.sum(t.pos * t.neg))
    discordant = t.n_pos * t.n_neg - concordant - tied
    return concordant, discordant, tied


def auc_delong(p, events, trials=None, conf_level: float = 0.95) -> dict:
    """AUC (ties count 1/2) with DeLong's standard error and normal confidence interval, as pROC.

    ``auc`` is the Mann-Whitney estimate, P(p_event > p_nonevent) + 1/2 P(tie). The variance is DeLong,
    DeLong & Clarke-Pearson (1988) exactly as ``pROC::var(roc, method = "delong")`` / ``ci.auc(method =
    "delong")`` (pROC 1.18): with the placement values V10 of each event (share of non-events below it,
    ties 1/2) and V01 of each non-event (share of events above it, ties 1/2),
    ``var = var(V10) / n1 + var(V01) / n0`` (sample variances, denominators n1 - 1 and n0 - 1);
    ``conf_low, conf_high = auc -/+ z se`` clipped to [0, 1] as pROC does. With one event or one non-event
    pROC returns NA; so do we (NaN).

    The placements are those of the O(n log n) algorithm of Sun & Xu (2014), which obtains them from midranks;
    here they are read from cumulative counts over the distinct values of p, which is the same quantity and
    works unchanged on the pattern form. Written by hand: neither scipy nor statsmodels provides DeLong's
    variance.

    Returns dict(auc, se, conf_low, conf_high).

    Tested against: R pROC 1.18 (auc, var and CI with method = "delong") on the full model fitted to the
    real data (1e-6 relative) and on small tied data (tests/reference, 1e-12 relative); an O(n^2) brute-force
    DeLong on small tied data; ``scipy.stats.mannwhitneyu`` for the AUC; rows == patterns.

    Example (of the 2 x 2 event/non-event pairs, 3 are ranked right: AUC = 3/4):

    >>> auc_delong([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])["auc"]
    0.75
    """
    if not 0 < conf_level < 1:
        raise ValueError("conf_level must be in (0, 1)")
    t = _table(p, events, trials)
    _require_both_classes(t)
    n1, n0 = t.n_pos, t.n_neg
    concordant, _, tied = _pair_counts(t)
    auc = (concordant + 0.5 * tied) / (n1 * n0)
    if n1 < 2 or n0 < 2:
        return {"auc": float(auc), "se": np.nan, "conf_low": np.nan, "conf_high": np.nan}
    neg_below = np.cumsum(t.neg) - t.neg
    pos_above = n1 - np.cumsum(t.pos)
    v10 = (neg_below + 0.5 * t.neg) / n0  # placement of each event at this value
    v01 = (pos_above + 0.5 * t.pos) / n1  # placement of each non-event at this value
    s10 = np.sum(t.pos * (v10 - auc) ** 2) / (n1 - 1)
    s01 = np.sum(t.neg * (v01 - auc) ** 2) / (n0 - 1)
    se = float(np.sqrt(s10 / n1 + s01 / n0))
    z = stats.norm.ppf(1 - (1 - conf_level) / 2)
    low, high = np.clip([auc - z * se, auc + z * se], 0.0, 1.0)
    return {"auc": float(auc), "se": se, "conf_low": float(low), "conf_high": float(high)}


def auc_paired_delong(p1, p2, events, trials=None, conf_level: float = 0.95) -> dict:
    """DeLong's test of two correlated AUCs: two models' scores ``p1`` and ``p2`` on the same rows (or the
    same covariate patterns, one pair of scores per pattern), as ``pROC::roc.test(roc1, roc2, paired = TRUE,
    method = "delong")`` (pROC 1.18) with ``direction = "<"`` (events score higher).

    With the placements of :func:`auc_delong` under each model a = 1, 2 (V10_a of each event row: the share
    of non-events scored below it, ties 1/2; V01_a of each non-event row: the share of events scored above
    it, ties 1/2) and AUC_a their mean, the covariance matrix of (AUC_1, AUC_2) is
    ``S = S10 / n1 + S01 / n0`` with S10[a, b] = sum over events (V10_a - AUC_a)(V10_b - AUC_b) / (n1 - 1)
    and S01 likewise over non-events with n0 - 1 (pROC's ``delong.paired.calculations``). Then
    ``difference = AUC_1 - AUC_2``, ``se = sqrt(S11 + S22 - 2 S12)``, ``z = difference / se`` (0 when both
    are 0, as pROC), the two-sided normal ``p_value`` and ``conf_low, conf_high = difference -/+
    qnorm(1 - (1 - conf_level) / 2) se`` (pROC's ``ci.delong.paired``; not clipped). ``var_1``, ``var_2``,
    ``covariance`` are S11, S22, S12 (pROC's ``var(roc, method = "delong")`` and ``cov(roc1, roc2)``). With
    one event or one non-event the variances do not exist: NaN, as pROC's NA.

    Rows tied on a score are handled exactly as on the rows, as in :func:`auc_delong`: the placements are
    read from cumulative counts over each model's distinct scores, and every row of a pattern (with the same
    outcome) has the same pair of placements, so S10 and S01 are sums over patterns weighted by their event
    and non-event counts. O(n log n). Written by hand: neither scipy nor statsmodels has DeLong's test.

    Returns dict(auc_1, auc_2, difference, se, z, p_value, conf_low, conf_high, var_1, var_2, covariance).

    Tested against (tests/evaluate/test_paired_delong.py): pROC::roc.test on the Titanic models
    (tests/reference/r/titanic.json) and the coupon data's models (tests/reference/r/tmall_interactions.json),
    1e-8 relative (observed 7e-14 and 2e-12); pROC on small tied data (tests/reference/r/paired_delong.json, 1e-12); an O(n^2)
    brute-force DeLong on small tied data; patterns == rows.

    Example (the same scores twice: no difference, z = 0; the first model against a worse one):

    >>> p, y = [0.1, 0.4, 0.35, 0.8, 0.2, 0.6], [0, 0, 1, 1, 0, 1]
    >>> same = auc_paired_delong(p, p, y)
    >>> same["difference"], same["z"], same["p_value"]
    (0.0, 0.0, 1.0)
    >>> worse = auc_paired_delong(p, [0.5, 0.4, 0.3, 0.8, 0.2, 0.6], y)
    >>> round(worse["auc_1"], 4), round(worse["auc_2"], 4)
    (0.8889, 0.7778)
    """
    if not 0 < conf_level < 1:
        raise ValueError("conf_level must be in (0, 1)")
    p1, p2 = np.asarray(p1, dtype=float), np.asarray(p2, dtype=float)
    if p1.shape != p2.shape:
        raise ValueError("p1 and p2 must have the same length (one pair of scores per row or pattern)")
    counts = Counts.of(events, trials)
    placements = []
    for p in (p1, p2):
        t = _table(p, counts.events, counts.trials)
        _require_both_classes(t)
        neg_below = np.cumsum(t.neg) - t.neg
        pos_above = t.n_pos - np.cumsum(t.pos)
        at = np.searchsorted(t.value, p + 0.0)                      # each pattern's distinct value
        placements.append(((neg_below + 0.5 * t.neg) / t.n_neg)[at])   # V10 of its event rows
        placements.append(((pos_above + 0.5 * t.pos) / t.n_pos)[at])   # V01 of its non-event rows
    v10 = np.column_stack(placements[0::2])
    v01 = np.column_stack(placements[1::2])
    pos, neg = counts.events.astype(float), counts.non_events.astype(float)
    n1, n0 = int(counts.events.sum()), int(counts.non_events.sum())
    auc = pos @ v10 / n1
    nan = float("nan")
    out = {"auc_1": float(auc[0]), "auc_2": float(auc[1]), "difference": float(auc[0] - auc[1])}
    if n1 < 2 or n0 < 2:
        return out | dict.fromkeys(["se", "z", "p_value", "conf_low", "conf_high", "var_1", "var_2", "covariance"],
                                   nan)
    d10, d01 = v10 - auc, v01 - auc
    s = (d10.T * pos) @ d10 / ((n1 - 1) * n1) + (d01.T * neg) @ d01 / ((n0 - 1) * n0)
    diff = auc[0] - auc[1]
    se = float(np.sqrt(max(0.0, s[0, 0] + s[1, 1] - 2.0 * s[0, 1])))
    z = 0.0 if diff == 0 and se == 0 else float(diff / se) if se > 0 else float(np.sign(diff) * np.inf)
    crit = stats.norm.ppf(1 - (1 - conf_level) / 2)
    return out | {"se": se, "z": z, "p_value": float(2 * stats.norm.sf(abs(z))),
                  "conf_low": float(diff - crit * se), "conf_high": float(diff + crit * se),
                  "var_1": float(s[0, 0]), "var_2": float(s[1, 1]), "covariance": float(s[0, 1])}


# --------------------------------------------------------------------------------------------- KS


def ks_curve(p, events, trials=None) -> pd.DataFrame:
    """Kolmogorov-Smirnov chart: cumulative shares of events and non-events at or above each threshold.

    One row per distinct predicted probability, in decreasing order: ``cum_events`` is the share of events
    with ``p >= threshold`` (the true-positive rate), ``cum_nonevents`` the share of non-events with
    ``p >= threshold`` (the false-positive rate), ``gap = cum_events - cum_nonevents``. ``gap`` equals
    F0(t-) - F1(t-), the difference of the empirical distribution functions of the scores of non-events and
    events just below t, so ``max(gap)`` is the one-sided two-sample KS statistic, reported by
    :func:`ks_statistic`. The last row (``min(p)``) is (1, 1, 0).

    Returns DataFrame[threshold, cum_events, cum_nonevents, gap].

    Tested against: max(gap) == :func:`ks_statistic` and R; cum_events/cum_nonevents == the tpr/fpr of
    :func:`roc_curve`; rows == patterns.
    """
    t = _table(p, events, trials)
    _require_both_classes(t)
    tp = np.cumsum(t.pos[::-1])
    fp = np.cumsum(t.neg[::-1])
    tpr, fpr = tp / t.n_pos, fp / t.n_neg
    return pd.DataFrame(
        {"threshold": t.value[::-1], "cum_events": tpr, "cum_nonevents": fpr, "gap": tpr - fpr}
    )


def _ks(t: _Table) -> dict:
    _require_both_classes(t)
    tp = np.cumsum(t.pos[::-1])
    fp = np.cumsum(t.neg[::-1])
    # maximise tp/n1 - fp/n0 on the exact integer numerator; first (highest) threshold on ties, as R's which.max
    i = int(np.argmax(tp * t.n_neg - fp * t.n_pos))
    tpr, fpr = tp[i] / t.n_pos, fp[i] / t.n_neg
    return {"ks": float(tpr - fpr), "threshold": float(t.value[::-1][i]), "tpr": float(tpr), "fpr": float(fpr)}


def ks_statistic(p, events, trials=None) -> dict:
    """KS statistic: the largest ``tpr - fpr`` over thresholds (predict positive if ``p >= threshold``).

    Equal to the maximum vertical distance between the empirical distribution functions of the scores of
    non-events and events (``scipy.stats.ks_2samp(p_nonevents, p_events, alternative="greater")``) and to
    the maximum Youden index of the ROC curve. ``threshold`` is the distinct value of p at which the maximum
    is reached; if several reach it exactly (compared on exact integer counts), the highest, as R's
    ``which.max`` over decreasing thresholds. ``tpr``/``fpr`` are the rates at that threshold.

    Returns dict(ks, threshold, tpr, fpr).

    Tested against: R (r_full_data.R section 4: max of TPR - FPR, pROC's max Youden, ks.test) on the full
    model, 1e-6 relative; ``scipy.stats.ks_2samp`` on real and small tied data; rows == patterns.
    """
    return _ks(_table(p, events, trials))


# --------------------------------------------------------------------------------------------- concordance


def concordance(p, events, trials=None) -> dict:
    """Association of predicted probabilities and observed responses, as SAS PROC LOGISTIC, but exact.

    Over the ``pairs = n1 n0`` pairs of one event and one non-event: a pair is concordant if the event has
    the higher p, discordant if lower, tied if equal. ``c = (nc + nt / 2) / pairs`` (= AUC),
    ``somers_d = (nc - nd) / pairs`` (Somers' D of p given y, = 2 AUC - 1),
    ``gamma = (nc - nd) / (nc + nd)`` (Goodman-Kruskal), ``tau_a = (nc - nd) / (N (N - 1) / 2)`` with N the
    total number of rows (Kendall's tau-a).

    Difference from SAS: PROC LOGISTIC first rounds predicted probabilities into intervals 0.002 wide
    (``BINWIDTH=``) before counting pairs; we count on the unrounded probabilities, so our numbers are the
    exact ones (and have fewer ties). O(n log n) via cumulative counts over sorted distinct values.
    Counts are exact integers (Python int).

    Returns dict(concordant, discordant, tied, pairs, c, somers_d, gamma, tau_a).

    Tested against: brute-force O(n^2) pair counting on small random data with ties (exact equality of the
    counts), brute-force Kendall tau-a over all N (N - 1) / 2 pairs, ``scipy.stats.somersd(y, p)``; c equals
    R's AUC on the real data; rows == patterns.
    """
    t = _table(p, events, trials)
    _require_both_classes(t)
    nc, nd, nt = _pair_counts(t)
    pairs = t.n_pos * t.n_neg
    big_n = t.n_total
    all_pairs = big_n * (big_n - 1) // 2
    return {
        "concordant": nc,
        "discordant": nd,
        "tied": nt,
        "pairs": pairs,
        "c": (nc + 0.5 * nt) / pairs,
        "somers_d": (nc - nd) / pairs,
        "gamma": (nc - nd) / (nc + nd) if nc + nd > 0 else np.nan,
        "tau_a": (nc - nd) / all_pairs if all_pairs > 0 else np.nan,
    }


# --------------------------------------------------------------------------------------------- calibration


def brier_score(p, events, trials=None) -> float:
    """Brier score: the mean over rows of (y - p)^2.

    On patterns, each pattern contributes ``events (1 - p)^2 + (trials - events) p^2``.

    Tested against: ``numpy.mean((y - p) ** 2)`` on the rows; rows == patterns.
    """
    t = _table(p, events, trials)
    total = np.sum(t.pos * (1.0 - t.value) ** 2 + t.neg * t.value**2)
    return float(total / t.n_total)


def _type7_quantiles(t: _Table, probs: np.ndarray) -> np.ndarray:
    """R's ``quantile(x, probs, type = 7)`` of the expanded rows, computed from the counts per value.

    The k-th order statistic (1-based) of the expanded rows is the value whose cumulative count first
    reaches k. Same arithmetic as R 4.2's quantile.default, so the doubles are the same.
    """
    cum = np.cumsum(t.n)
    big_n = int(cum[-1])

    def order_stat(k):
        return t.value[np.searchsorted(cum, k, side="left")]

    index = 1 + max(big_n - 1, 0) * probs
    lo = np.floor(index).astype(np.int64)
    hi = np.ceil(index).astype(np.int64)
    qs = order_stat(lo)
    x_hi = order_stat(hi)
    h = index - lo
    interpolate = (index > lo) & (x_hi != qs)
    return np.where(interpolate, (1 - h) * qs + h * x_hi, qs)


def hosmer_lemeshow(p, events, trials=None, groups: int = 10) -> tuple[dict, pd.DataFrame]:
    """Hosmer-Lemeshow goodness-of-fit test, replicating ``ResourceSelection::hoslem.test(y, p, g)``.

    Breaks are ``unique(quantile(p, seq(0, 1, 1/g)))`` with R's type-7 quantile of p over the rows (on
    patterns, computed exactly from the counts per value, i.e. on the expanded rows); rows are grouped by
    ``cut(p, breaks, include.lowest = TRUE)`` (intervals closed on the right, the first also on the left), so
    rows tied on p are never split and fewer than g groups may form. ``chi2`` sums (O - E)^2 / E over both
    outcome columns (events: E = sum p; non-events: E = sum(1 - p)); ``df = g - 2`` whatever the number of
    groups formed, as hoslem.test. An empty group (possible only with very few rows) gives NaN, as in R.

    Returns (dict(chi2, df, p_value, groups), DataFrame[group, n, p_low, p_high, observed_events,
    expected_events, observed_nonevents, expected_nonevents]); ``groups`` is the number of groups formed,
    ``p_low``/``p_high`` are the group's break points (the interval ``(p_low, p_high]``).

    Tested against: R (the hoslem.test computation in r_full_data.R section 5) on the full model (chi2,
    p-value, breaks and group table, 1e-6 relative) and on small tied data with duplicated breaks
    (tests/reference, 1e-12 relative); ``numpy.quantile(method="linear")`` + ``pandas.cut`` on the rows;
    rows == patterns.
    """
    if int(groups) != groups or groups < 2:
        raise ValueError("groups must be an integer >= 2")
    groups = int(groups)
    t = _table(p, events, trials)
    # R: seq(0, 1, 1/g) = pmin(0 + (0:g) * (1/g), 1)
    probs = np.minimum(np.arange(groups + 1) * (1.0 / groups), 1.0)
    breaks = np.unique(_type7_quantiles(t, probs))
    if len(breaks) < 2:
        raise ValueError("all predicted probabilities are equal: Hosmer-Lemeshow groups cannot be formed")
    # cut(right = TRUE, include.lowest = TRUE): value in (b[i-1], b[i]], the minimum in group 1
    group = np.maximum(np.searchsorted(breaks, t.value, side="left"), 1)
    n_groups = len(breaks) - 1
    index = np.arange(1, n_groups + 1)

    def per_group(w):
        return np.bincount(group, weights=w, minlength=n_groups + 1)[1:]

    n = np.bincount(group, weights=t.n, minlength=n_groups + 1)[1:].astype(np.int64)
    obs1 = np.bincount(group, weights=t.pos, minlength=n_groups + 1)[1:].astype(np.int64)
    obs0 = n - obs1
    exp1 = per_group(t.n * t.value)
    exp0 = per_group(t.n * (1.0 - t.value))
    with np.errstate(divide="ignore", invalid="ignore"):
        chi2 = float(np.sum((obs1 - exp1) ** 2 / exp1) + np.sum((obs0 - exp0) ** 2 / exp0))
    df = groups - 2
    p_value = float(stats.chi2.sf(chi2, df)) if df > 0 else np.nan
    table = pd.DataFrame(
        {
            "group": index,
            "n": n,
            "p_low": breaks[:-1],
            "p_high": breaks[1:],
            "observed_events": obs1,
            "expected_events": exp1,
            "observed_nonevents": obs0,
            "expected_nonevents": exp0,
        }
    )
    return {"chi2": chi2, "df": df, "p_value": p_value, "groups": n_groups}, table


# --------------------------------------------------------------------------------------------- tables


def classification_table(p, events, trials=None, thresholds=None) -> pd.DataFrame:
    """Confusion matrix and rates at given thresholds (predict positive if ``p >= threshold``).

    ``thresholds`` defaults to (0.5, the KS threshold of :func:`ks_statistic`).
    ``accuracy = (tp + tn) / N``; ``no_information_rate = max(n1, n0) / N`` (accuracy of always predicting
    the majority class); ``precision = tp / (tp + fp)`` (NaN if nothing is predicted positive);
    ``recall = tp / n1``; ``specificity = tn / n0``; ``f1 = 2 tp / (2 tp + fp + fn)``.

    Returns DataFrame[threshold, tp, fp, tn, fn, accuracy, no_information_rate, precision, recall,
    specificity, f1], one row per threshold in the order given.

    Tested against: a hand calculation on a ten-row example; rows == patterns.
    """
    t = _table(p, events, trials)
    if thresholds is None:
        thresholds = (0.5, _ks(t)["threshold"])
    thr = np.atleast_1d(np.asarray(thresholds, dtype=float))
    n1, n0, big_n = t.n_pos, t.n_neg, t.n_total
    at_or_above = t.value[None, :] >= thr[:, None]
    tp = (at_or_above * t.pos).sum(axis=1)
    fp = (at_or_above * t.neg).sum(axis=1)
    fn, tn = n1 - tp, n0 - fp
    with np.errstate(divide="ignore", invalid="ignore"):
        out = pd.DataFrame(
            {
                "threshold": thr,
                "tp": tp,
                "fp": fp,
                "tn": tn,
                "fn": fn,
                "accuracy": (tp + tn) / big_n,
                "no_information_rate": max(n1, n0) / big_n,
                "precision": np.where(tp + fp > 0, tp / (tp + fp), np.nan),
                "recall": tp / n1 if n1 else np.nan,
                "specificity": tn / n0 if n0 else np.nan,
                "f1": np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan),
            }
        )
    return out


def _midrank_groups(t: _Table, bins: int, descending: bool) -> np.ndarray:
    """Group (1..bins) of each distinct value of p: ceil(bins * m / N), m = the mean position of its rows.

    Rows are ordered by p (decreasing if ``descending``); the rows tied at a value occupy positions
    A + 1, ..., B (A rows strictly before it, B rows up to and including it) and all go to the group of
    their mean position m = (A + B + 1) / 2. Without ties this is the usual ceil(bins * i / N), groups of
    sizes differing by at most one; with ties a tied set is never split (so groups can be unequal, even
    empty) and it falls where most of its rows would have fallen. Integer arithmetic, so exact.
    """
    n = t.n[::-1] if descending else t.n
    b = np.cumsum(n)
    a = b - n
    big_n = int(b[-1])
    g = -((-bins * (a + b + 1)) // (2 * big_n))  # ceil(bins * (a + b + 1) / (2 N))
    return g[::-1] if descending else g


def _check_bins(bins) -> int:
    if int(bins) != bins or bins < 1:
        raise ValueError("bins must be a positive integer")
    return int(bins)


def _binned(t, bins: int, descending: bool):
    """Bin of each distinct p (``_midrank_groups``) and, per bin, rows, events and the sum of p."""
    g = _midrank_groups(t, bins, descending=descending)
    n = np.bincount(g, weights=t.n, minlength=bins + 1)[1:].astype(np.int64)
    ev = np.bincount(g, weights=t.pos, minlength=bins + 1)[1:].astype(np.int64)
    sum_p = np.bincount(g, weights=t.n * t.value, minlength=bins + 1)[1:]
    return g, n, ev, sum_p


def gains_table(p, events, trials=None, bins: int = 10) -> pd.DataFrame:
    """Gains / lift table by decile of predicted probability, decile 1 = highest p.

    Decile rule (exact, identical for rows and patterns): rows are sorted by p decreasing; the rows tied at a
    value of p all go to decile ``ceil(bins * m / N)``, m being their mean position (see
    :func:`_midrank_groups`). Without ties deciles are the usual equal-count groups; a tied set is never
    split, so deciles can be unequal and a decile can be empty (then n = 0, its rates and p columns NaN,
    cumulative columns carried over). All ``bins`` rows are always returned.

    Columns: ``n`` rows and ``events`` in the decile; ``response_rate = events / n``; ``cum_n`` and
    ``cum_events`` from decile 1 down; ``cum_capture = cum_events / total events``;
    ``lift = response_rate / overall rate``; ``cum_lift = (cum_events / cum_n) / overall rate``;
    ``p_min``, ``p_max``, ``mean_p`` of the rows in the decile.

    Returns DataFrame[decile, n, events, response_rate, cum_n, cum_events, cum_capture, lift, cum_lift,
    p_min, p_max, mean_p].

    Tested against: a hand calculation on small data with a tie across a decile boundary; without ties, equal
    groups as ``pandas.qcut`` of the ranks; rows == patterns.
    """
    bins = _check_bins(bins)
    t = _table(p, events, trials)
    g, n, ev, sum_p = _binned(t, bins, descending=True)
    p_min = np.full(bins, np.nan)
    p_max = np.full(bins, np.nan)
    np.fmin.at(p_min, g - 1, t.value)
    np.fmax.at(p_max, g - 1, t.value)
    cum_n, cum_ev = np.cumsum(n), np.cumsum(ev)
    overall = t.n_pos / t.n_total
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(n > 0, ev / n, np.nan)
        cum_rate = np.where(cum_n > 0, cum_ev / cum_n, np.nan)
        return pd.DataFrame(
            {
                "decile": np.arange(1, bins + 1),
                "n": n,
                "events": ev,
                "response_rate": rate,
                "cum_n": cum_n,
                "cum_events": cum_ev,
                "cum_capture": cum_ev / t.n_pos if t.n_pos else np.nan,
                "lift": rate / overall,
                "cum_lift": cum_rate / overall,
                "p_min": p_min,
                "p_max": p_max,
                "mean_p": np.where(n > 0, sum_p / n, np.nan),
            }
        )


def calibration_table(p, events, trials=None, bins: int = 10, conf_level: float = 0.95) -> pd.DataFrame:
    """Observed event rate against mean predicted probability by decile of p (bin 1 = lowest p).

    Bins follow the same tie rule as :func:`gains_table` but in increasing order of p: the rows tied at a
    value go to bin ``ceil(bins * m / N)``, m their mean position in increasing order. All ``bins`` rows are
    returned; an empty bin has n = 0 and NaN rates. ``obs_conf_low``/``obs_conf_high`` is the Wilson score
    interval of the observed rate at ``conf_level``, from
    ``statsmodels.stats.proportion.proportion_confint(method="wilson")``.

    Returns DataFrame[bin, n, events, observed_rate, obs_conf_low, obs_conf_high, mean_predicted].

    Tested against: the Wilson closed form (z, centre and half-width written out); bin membership by hand on
    small tied data; rows == patterns.
    """
    bins = _check_bins(bins)
    if not 0 < conf_level < 1:
        raise ValueError("conf_level must be in (0, 1)")
    t = _table(p, events, trials)
    _, n, ev, sum_p = _binned(t, bins, descending=False)
    low = np.full(bins, np.nan)
    high = np.full(bins, np.nan)
    filled = n > 0
    if filled.any():
        lo_, hi_ = proportion_confint(ev[filled], n[filled], alpha=1 - conf_level, method="wilson")
        low[filled], high[filled] = lo_, hi_
    with np.errstate(divide="ignore", invalid="ignore"):
        return pd.DataFrame(
            {
                "bin": np.arange(1, bins + 1),
                "n": n,
                "events": ev,
                "observed_rate": np.where(filled, ev / n, np.nan),
                "obs_conf_low": low,
                "obs_conf_high": high,
                "mean_predicted": np.where(filled, sum_p / n, np.nan),
            }
        )


# --------------------------------------------------------------------------------------------- summary


def evaluate(p, events, trials=None) -> dict:
    """The headline evaluation metrics (the keys of metrics.json; they are fixed).

    Keys: n, events (rows and events), auc, auc_ci_low, auc_ci_high (:func:`auc_delong`, 95%), ks,
    ks_threshold (:func:`ks_statistic`), somers_d, gamma, tau_a, c (:func:`concordance`), brier
    (:func:`brier_score`), hl_chi2, hl_df, hl_p (:func:`hosmer_lemeshow`, 10 groups). Plain Python numbers.

    Tested against: each value equals the function it comes from (which are tested as stated there), the
    key set is fixed, and R's values on the full model; rows == patterns.
    """
    auc = auc_delong(p, events, trials)
    ks = ks_statistic(p, events, trials)
    conc = concordance(p, events, trials)
    hl, _ = hosmer_lemeshow(p, events, trials, groups=10)
    t = _table(p, events, trials)
    return {
        "n": t.n_total,
        "events": t.n_pos,
        "auc": auc["auc"],
        "auc_ci_low": auc["conf_low"],
        "auc_ci_high": auc["conf_high"],
        "ks": ks["ks"],
        "ks_threshold": ks["threshold"],
        "somers_d": float(conc["somers_d"]),
        "gamma": float(conc["gamma"]),
        "tau_a": float(conc["tau_a"]),
        "c": float(conc["c"]),
        "brier": brier_score(p, events, trials),
        "hl_chi2": hl["chi2"],
        "hl_df": int(hl["df"]),
        "hl_p": hl["p_value"],
    }
