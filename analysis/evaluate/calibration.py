"""Calibration of predicted probabilities beyond the decile table: logistic recalibration (calibration
slope, intercept and calibration-in-the-large), the lowess calibration curve, and observed against predicted
event rates by group.

Like :mod:`analysis.evaluate.discrimination`, :func:`calibration_fit` and :func:`calibration_curve` take ``p``, ``events``
and ``trials`` in either form -- per row (``events`` the 0/1 response, no ``trials``) or per covariate
pattern (``p`` shared by the rows of a pattern, ``events`` of its ``trials`` rows with y = 1) -- and first
reduce both to the same table of counts of y = 1 and y = 0 per distinct value of ``p``
(``analysis.evaluate.discrimination._table``). Everything is computed from that table, so the pattern form gives the
result of the expanded rows (bit for bit: both forms reach the same table), whatever the order of the
patterns. :func:`observed_vs_predicted` works on a pattern table with its grouping columns.

What each function was tested against is stated in its docstring; the tests are in
``tests/evaluate/test_calibration.py``.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from analysis.evaluate.discrimination import _require_both_classes, _table
from analysis.model.counts import Counts
from analysis.model.newton import SeparationError, information, newton
from analysis.evaluate.explore import bin_codes, bin_labels, wilson_interval

__all__ = ["calibration_fit", "calibration_curve", "observed_vs_predicted"]

#: predicted probabilities are clipped to [CLIP, 1 - CLIP] before taking logits
CLIP = 1e-15


def _check_conf_level(conf_level: float) -> float:
    if not 0 < conf_level < 1:
        raise ValueError("conf_level must be in (0, 1)")
    return float(conf_level)


# --------------------------------------------------------------------------------------------- recalibration


def _wald(estimate: float, se: float, ideal: float, z_crit: float, prefix: str) -> dict:
    z = (estimate - ideal) / se if se > 0 else np.nan
    return {
        prefix: float(estimate),
        f"{prefix}_se": float(se),
        f"{prefix}_conf_low": float(estimate - z_crit * se),
        f"{prefix}_conf_high": float(estimate + z_crit * se),
        f"{prefix}_z": float(z),
        f"{prefix}_p_value": float(2 * stats.norm.sf(abs(z))) if np.isfinite(z) else np.nan,
    }


def _nan_wald(prefix: str) -> dict:
    return {prefix + s: np.nan for s in ("", "_se", "_conf_low", "_conf_high", "_z", "_p_value")}


def calibration_fit(p, events, trials=None, conf_level: float = 0.95) -> dict:
    """Logistic recalibration of the predicted probabilities, as ``rms::val.prob`` and Steyerberg (2019,
    *Clinical Prediction Models*, ch. 15).

    With ``lp = logit(p)``:

    - ``intercept`` a and ``slope`` b of ``logit P(y = 1) = a + b lp`` (one joint fit: ``glm(y ~ lp,
      binomial)``; these are val.prob's ``Intercept`` and ``Slope``). Ideal: a = 0, b = 1; b < 1 means the
      predictions are too extreme (overfitting), b > 1 too moderate;
    - ``citl``, calibration-in-the-large: the intercept a of ``logit P(y = 1) = a + offset(lp)`` (``glm(y ~
      offset(lp), binomial)``), the "calibration intercept" of Van Calster et al.; ideal 0, > 0 when the
      predictions are too low on average. It is a different number from ``intercept``.

    Each comes with its standard error (inverse Fisher information), the Wald interval
    ``estimate -/+ z se`` at ``conf_level`` (R's ``confint.default``), and ``_z`` / ``_p_value``: the Wald
    test of the ideal value, ``z = (estimate - ideal) / se`` with ideal 0 for ``intercept`` and ``citl`` and
    1 for ``slope`` (R's ``summary.glm`` tests slope = 0 instead; that number is not reported), two-sided
    normal p-value.

    The fits are binomial GLMs by the package's Newton (``analysis.model.newton``, which stops on the size of
    the step, so it converges at any number of rows: statsmodels' IRLS stops on a deviance change below an
    absolute 1e-13, which the deviance's rounding never allows at 10^8 rows) on the table of events and
    non-events per distinct p, the pattern form of the data: the log-likelihood is that of the rows, so the
    estimates and standard errors (the inverse information at the estimate) are those of the fit to the rows. p exactly 0 or 1 has an
    infinite logit: every p is clipped to ``[1e-15, 1 - 1e-15]`` first (``CLIP``) and ``n_clipped`` says
    how many rows were changed (0 in the normal case). If all p are equal (after clipping), the slope is
    not identifiable: ``intercept`` and ``slope`` are NaN, ``citl`` is still fitted. Raises ValueError
    without at least one event and one non-event, or if a fit does not converge.

    Returns dict(n, events, n_clipped, conf_level, intercept, intercept_se, intercept_conf_low,
    intercept_conf_high, intercept_z, intercept_p_value, then the same six for ``slope`` and for ``citl``).

    Tested against: R 4.2.2 on birthwt (tests/reference/r/public_calibration.json: val.prob's Intercept
    and Slope, ``glm(y ~ qlogis(p))`` and ``glm(y ~ offset(qlogis(p)))`` estimates, SEs, confint.default)
    and the Wald tests of the ideal values, a 90% level, 8 patterns fitted by ``glm(cbind(events, trials -
    events) ~ ...)`` and data with p exactly 0 and 1 clipped as here (tests/reference/r/calibration_extra.json),
    all 1e-6 relative; a statsmodels Logit on the expanded 0/1 rows (1e-8); pattern form == row form
    (1e-10).

    Example (observed rates equal to the predictions: intercept 0 and slope 1, the score equations of
    the recalibration fit):

    >>> import numpy as np
    >>> fit = calibration_fit(np.array([0.1, 0.3, 0.5, 0.7, 0.9]), np.array([1, 3, 5, 7, 9]), np.full(5, 10))
    >>> round(fit["intercept"], 9) + 0.0, round(fit["slope"], 9)
    (0.0, 1.0)
    """
    z_crit = stats.norm.ppf(1 - (1 - _check_conf_level(conf_level)) / 2)
    t = _table(p, events, trials)
    _require_both_classes(t)
    changed = (t.value < CLIP) | (t.value > 1 - CLIP)
    x = np.clip(t.value, CLIP, 1 - CLIP)
    lp = np.log(x / (1 - x))  # as R's qlogis
    y, m = t.pos.astype(float), (t.pos + t.neg).astype(float)
    out = {
        "n": t.n_total,
        "events": t.n_pos,
        "n_clipped": int(t.n[changed].sum()),
        "conf_level": float(conf_level),
    }

    def fit(exog, start, offset=None):
        try:
            beta, eta, _, _ = newton(exog, y, m, start, offset=offset, check_edge=False)
        except SeparationError:
            raise ValueError("the recalibration fit did not converge (are the responses separated by p?)") from None
        p_hat = expit(eta)
        cov = np.linalg.inv(information(exog, m * p_hat * (1.0 - p_hat)))
        return beta, np.sqrt(np.diag(cov))

    if np.unique(lp).size >= 2:
        (a, b), (se_a, se_b) = fit(np.column_stack([np.ones_like(lp), lp]), np.array([0.0, 1.0]))
        out |= _wald(a, se_a, 0.0, z_crit, "intercept") | _wald(b, se_b, 1.0, z_crit, "slope")
    else:
        out |= _nan_wald("intercept") | _nan_wald("slope")
    (c,), (se_c,) = fit(np.ones((len(lp), 1)), np.zeros(1), offset=lp)
    out |= _wald(c, se_c, 0.0, z_crit, "citl")
    return out


# --------------------------------------------------------------------------------------------- lowess


class _Rows:
    """The expanded rows, sorted by p, described by the counts per distinct value (1-based row indices,
    as in R's C code): row k has value ``value[group(k)]``."""

    def __init__(self, value: np.ndarray, count: np.ndarray):
        self.value = value
        self.cum = np.cumsum(count)  # last row (1-based) of each group

    def x(self, k: int) -> float:
        return float(self.value[np.searchsorted(self.cum, k, side="left")])


def _slide(rows: _Rows, n: int, xs: float, nleft: int, nright: int) -> tuple[int, int]:
    """R's window move: while ``nright < n`` and ``xs - x[nleft] > x[nright + 1] - xs``, shift the window of
    ``ns`` rows one row right. The condition is monotone in the shift (sorted x, monotone rounding), so the
    final shift is found by bisection on the row index instead of one row at a time."""

    def stop(s: int) -> bool:
        return nright + s >= n or (xs - rows.x(nleft + s)) <= (rows.x(nright + s + 1) - xs)

    if stop(0):
        return nleft, nright
    lo, hi = 0, n - nright  # stop(lo) is False, stop(hi) is True
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if stop(mid):
            hi = mid
        else:
            lo = mid
    return nleft + hi, nright + hi


def _lowest(v, w1, w0, pos, neg, xs: float, h: float, span: float):
    """R's ``lowest``: the local linear fit at ``xs`` with bandwidth ``h``, on counts.

    The rows taking part are all rows with ``|x - xs| <= 0.999 h`` (see :func:`_clowess_counts` for why
    this is exactly R's set); a row gets the tricube weight ``(1 - (r/h)^3)^3`` (1 if ``r <= 0.001 h``)
    times its robustness weight (``w1`` for the rows of a value with y = 1, ``w0`` for those with y = 0).
    Returns the fitted value, or None when every weight is 0 (R's ``ok = FALSE``).
    """
    h9, h1 = 0.999 * h, 0.001 * h
    lo = np.searchsorted(v, xs - h, side="left")
    hi = np.searchsorted(v, xs + h, side="right")
    x = v[lo:hi]
    r = np.abs(x - xs)
    q = r / h if h > 0 else np.zeros_like(r)
    u = 1.0 - q * q * q
    tri = np.where(r <= h1, 1.0, u * u * u)  # R: fcube(1 - fcube(r / h))
    tri = np.where(r <= h9, tri, 0.0)
    c1 = pos[lo:hi] * (tri * w1[lo:hi])  # total weight of the y = 1 rows at each value
    c0 = neg[lo:hi] * (tri * w0[lo:hi])
    total = c1 + c0
    a = total.sum()
    if not a > 0:
        return None
    c1, total = c1 / a, total / a
    if h > 0:
        centre = np.sum(total * x)
        b = xs - centre
        d = x - centre
        c = np.sum(total * (d * d))
        if math.sqrt(c) > 0.001 * span:
            b /= c
            c1 = c1 * (b * (x - centre) + 1.0)
    return float(np.sum(c1))


def _cmad(values: np.ndarray, counts: np.ndarray, n: int) -> float:
    """R's ``cmad = 6 * median(|res|)`` of the expanded rows (rPsort at n %/% 2 and n - n %/% 2 - 1)."""
    order = np.argsort(values, kind="stable")
    vs, cum = values[order], np.cumsum(counts[order])

    def order_stat(k):  # 0-based
        return vs[np.searchsorted(cum, k + 1, side="left")]

    m1 = n // 2
    if n % 2 == 0:
        return 3.0 * (order_stat(m1) + order_stat(n - m1 - 1))
    return 6.0 * order_stat(m1)


def _clowess_counts(v, pos, neg, f: float, iterations: int, delta: float) -> np.ndarray:
    """R's ``clowess`` (src/library/stats/src/lowess.c, R 4.2) on the rows expanded from the counts
    ``pos``/``neg`` of y = 1 / y = 0 at each distinct, increasing value ``v``; returns the smooth at each
    value (R gives every row tied at a value the same smooth, so one number per value is the whole result).

    Why this is R's result on the expanded rows, without expanding them:

    - the window is R's: ``ns = max(2, min(n, (int)(f n + 1e-7)))`` rows, moved right while
      ``x[i] - x[nleft] > x[nright + 1] - x[i]``, with row indices read off the cumulative counts;
    - the fit at ``xs = x[i]`` uses ``h = max(xs - x[nleft], x[nright] - xs)`` and, in R, the rows from
      nleft on with ``r <= 0.999 h`` (ties beyond nright included). A row left of nleft has ``r >= h``: it
      was dropped when ``x[i'] - x[j] > x[nright] - x[i']`` for some earlier ``x[i'] <= xs`` and the same
      nright, so its distance to xs is at least the right half-width and at least the left one. So the rows
      taking part are all rows within ``0.999 h`` of xs, a set of whole tie groups, whatever the order of
      tied rows; the weighted sums over them are sums over values times counts;
    - the points where R fits and interpolates depend on x only: after a fit at a value, its tied rows are
      copied, the next fit is at the last value within ``delta`` (or the next value), and the values in
      between are interpolated (``alpha ys[i] + (1 - alpha) ys[last]``, as R); rows of the fitted value
      skipped by the jump get ``1 * ys[i] + 0 * ys[last]`` = ys[i] exactly;
    - robustness weights (``iterations`` > 0) depend on a row's value and y only: residual ``1 - ys`` or
      ``-ys``; ``cmad`` = 6 times the median absolute residual of all rows; R stops iterating when
      ``cmad < 1e-7`` times the mean absolute residual.

    One deliberate difference: when every weight at a fit point is 0 (possible only with robustness
    weights), R returns the y of the particular row it was fitting at, which depends on the order of tied
    rows; here the observed rate at that value (R's number whenever the rows tied there have the same y,
    e.g. with no ties). Sums are in a different order from R's (per value instead of per row): differences
    of the order of 1e-15.
    """
    count = pos + neg
    n = int(count.sum())
    m = len(v)
    posf, negf = pos.astype(float), neg.astype(float)
    if n < 2:
        return (posf / count).astype(float)
    rows = _Rows(v, count)
    ns = max(2, min(n, int(f * n + 1e-7)))
    span = float(v[-1] - v[0])
    w1 = np.ones(m)
    w0 = np.ones(m)
    ys = np.empty(m)
    for it in range(iterations + 1):
        nleft, nright = 1, ns
        g, last = 0, -1
        while True:
            xs = float(v[g])
            nleft, nright = _slide(rows, n, xs, nleft, nright)
            h = max(xs - rows.x(nleft), rows.x(nright) - xs)
            fit = _lowest(v, w1, w0, posf, negf, xs, h, span)
            ys[g] = fit if fit is not None else posf[g] / count[g]
            if last >= 0 and last < g - 1:
                denom = xs - v[last]
                alpha = (v[last + 1:g] - v[last]) / denom
                ys[last + 1:g] = alpha * ys[g] + (1.0 - alpha) * ys[last]
            last = g
            if last >= m - 1:
                break
            cut = v[last] + delta
            g = max(last + 1, int(np.searchsorted(v, cut, side="right")) - 1)
        if it == iterations:
            break
        r1, r0 = np.abs(1.0 - ys), np.abs(ys)
        sc = (np.sum(posf * r1) + np.sum(negf * r0)) / n
        cmad = _cmad(np.r_[r1, r0], np.r_[pos, neg], n)
        if cmad < 1e-7 * sc:
            break
        c9, c1 = 0.999 * cmad, 0.001 * cmad

        def bisquare(r):
            with np.errstate(divide="ignore", invalid="ignore"):  # cmad = 0: every r is <= c1 or > c9
                u = r / cmad
                s = 1.0 - u * u
            return np.where(r <= c1, 1.0, np.where(r <= c9, s * s, 0.0))  # R: fsquare(1 - fsquare(r / cmad))

        w1, w0 = bisquare(r1), bisquare(r0)
    return ys


def calibration_curve(p, events, trials=None, frac: float = 2 / 3, iterations: int = 0, delta=None,
                      grid=None) -> pd.DataFrame:
    """Smoothed observed event rate against predicted probability: R's ``lowess(p, y, f = frac, iter =
    iterations, delta)`` of the 0/1 responses of the rows on their p.

    The defaults are ``rms::val.prob``'s calibration curve (``lowess(p, y, iter = 0)``; R's own lowess
    default is ``iter = 3``) with R's ``delta = 0.01 * diff(range(p))`` when ``delta`` is None: local linear
    fits on the ``frac`` share of rows nearest each point, tricube weights, fits only every ``delta`` along
    p and linear interpolation in between.

    Computed by a port of R's C code (:func:`_clowess_counts`) that works on the counts of y = 1 and y = 0
    per distinct p, so the pattern form gives exactly the smooth of the expanded rows, for any number of
    rows, with nothing subsampled. statsmodels' ``lowess`` (0.15) is not used because it is not R's
    algorithm: it leaves out rows tied with the window's last row, always fits a slope (R falls back to a
    weighted mean when the x spread is tiny), gives rows at the window's edge and centre plain tricube weights
    (R: 0 beyond 0.999 h, 1 within 0.001 h), decides window moves on midpoints rather than R's distances,
    places the fits near the end of the delta steps differently, and sets robustness weights to 0/1 when the
    median residual is 0 (R stops iterating). It matches R on birthwt (1e-11) by luck; on 400 distinct
    values (tests/reference/r/calibration_extra.json, ``no_ties``) it differs from R by up to 7e-6 with R's
    default delta (2e-10 with delta = 0), and on the tied cases there by up to 1.0 (a whole unit of y),
    where this port agrees with R to 1e-13.

    Returns DataFrame[p, observed_smooth]: without ``grid``, one row per distinct p, increasing (R returns
    one row per row; tied rows always get the same value); with ``grid``, the smooth at each grid value by
    linear interpolation between those points, as val.prob's ``approx(lowess(...), xout = p, ties = mean)``
    (NaN outside the range of p, as approx's ``rule = 1``). ``attrs``: n (rows), frac, iterations, delta
    (the value used), neighbours (R's ns, the rows in each local fit).

    Tested against: R 4.2.2's ``lowess`` on birthwt (tests/reference/r/public_calibration.json, iter = 0 and
    R's default iter = 3; and approx at p) and on tied data, decimal grids, untied data, a single event, two
    rows and one value (tests/reference/r/calibration_extra.json, several f, iter and delta), 1e-8 absolute
    (agreement is 1e-13); a literal row-by-row Python transcription of R's C code on random tied data
    (1e-12); statsmodels' lowess with delta = 0 on untied data (1e-8); pattern form == row form (exact).
    """
    if not (np.isfinite(frac) and frac > 0):
        raise ValueError("frac must be finite and > 0")
    if int(iterations) != iterations or iterations < 0:
        raise ValueError("iterations must be a non-negative integer")
    t = _table(p, events, trials)
    if delta is None:
        delta = 0.01 * float(t.value[-1] - t.value[0])
    if not (np.isfinite(delta) and delta >= 0):
        raise ValueError("delta must be finite and >= 0")
    ys = _clowess_counts(t.value, t.pos, t.neg, float(frac), int(iterations), float(delta))
    n = t.n_total
    if grid is None:
        out = pd.DataFrame({"p": t.value, "observed_smooth": ys})
    else:
        g = np.asarray(grid, dtype=float).ravel()
        inside = (g >= t.value[0]) & (g <= t.value[-1])
        out = pd.DataFrame({"p": g, "observed_smooth": np.where(inside, np.interp(g, t.value, ys), np.nan)})
    out.attrs.update({"n": n, "frac": float(frac), "iterations": int(iterations), "delta": float(delta),
                      "neighbours": max(2, min(n, int(frac * n + 1e-7))) if n >= 2 else n})
    return out


# --------------------------------------------------------------------------------------------- by group


OBSERVED_COLUMNS = ["variable", "level", "n", "events", "observed_rate", "obs_conf_low", "obs_conf_high",
                    "mean_predicted", "expected_events", "outside", "z"]


def observed_vs_predicted(frame: pd.DataFrame, p, response_events: str = "events", trials: str | None = "trials",
                          by: Mapping[str, Sequence[float] | None] | None = None,
                          conf_level: float = 0.95) -> pd.DataFrame:
    """Observed against predicted events in each group of the data, for every grouping variable.

    ``frame`` is a pattern table: grouping columns, ``response_events`` (events of the pattern) and
    ``trials`` (its rows); ``p`` the predicted probability of each pattern (one per row of ``frame``).
    With ``trials=None`` the frame is per row and ``response_events`` the 0/1 response; the result is the
    same as on its patterns. ``by`` maps each grouping column to None (its values are the levels, sorted,
    a missing value its own level last, as :func:`analysis.evaluate.explore.rate_by`) or to bin edges of a numeric
    column (half-open bins ``[e_i, e_i+1)`` labelled as :func:`analysis.evaluate.explore.binned_rates` does, "18–29",
    "60+"; every bin appears, an empty one with n = 0; values below the first edge, at or above a finite
    last edge, or missing get extra groups "<18", "70+", "missing" when they have rows). ``by=None``: every
    column other than the counts, by its values.

    For each variable and level: ``n`` rows and ``events``; ``observed_rate = events / n`` and its Wilson
    interval at ``conf_level`` (:func:`analysis.evaluate.explore.wilson_interval`); ``expected_events = sum(trials
    p)`` and ``mean_predicted = expected_events / n``; ``outside``: mean_predicted lies outside the Wilson
    interval; ``z = (events - expected_events) / sqrt(sum(trials p (1 - p)))``, the standardized difference
    (approximately standard normal when the model is calibrated in the group; NaN when the variance is 0,
    i.e. every p of the group is 0 or 1, or the group is empty).

    Returns DataFrame[variable, level, n, events, observed_rate, obs_conf_low, obs_conf_high,
    mean_predicted, expected_events, outside, z], variables in the order of ``by``.

    Tested against: a pandas groupby of the expanded rows (exact counts, 1e-12 for the rest), a hand
    calculation on a small table, the pattern form == row form, and bins against explicit masks.
    """
    alpha = 1 - _check_conf_level(conf_level)
    p = np.asarray(p, dtype=float)
    if p.ndim != 1 or len(p) != len(frame):
        raise ValueError(f"p must have one value per row of frame ({len(frame)})")
    if not np.all(np.isfinite(p)) or np.any(p < 0) or np.any(p > 1):
        raise ValueError("p must be probabilities in [0, 1] (no NaN)")
    checked = Counts.of(frame[response_events].to_numpy(), None if trials is None else frame[trials].to_numpy())
    ev, tr = checked.events, checked.trials
    counts = [response_events] if trials is None else [response_events, trials]
    if by is None:
        by = {c: None for c in frame.columns if c not in counts}
    sums = pd.DataFrame({"n": tr, "events": ev, "expected": tr * p, "variance": tr * p * (1 - p)})
    parts = []
    for variable, grouping in by.items():
        if variable not in frame.columns:
            raise KeyError(f"column {variable!r} not in the frame")
        if grouping is None:
            g = sums.groupby(frame[variable].reset_index(drop=True), sort=True, dropna=False).sum()
            levels = list(g.index)
        else:
            labels, order = bin_codes(frame[variable].reset_index(drop=True).astype("float64"), grouping)
            g = sums.groupby(pd.Series(labels, dtype=object), sort=False).sum()
            inner = set(bin_labels([float(e) for e in grouping]))
            levels = [lvl for lvl in order if lvl in g.index or lvl in inner]
            g = g.reindex(levels, fill_value=0)
        n = g["n"].to_numpy(dtype="int64")
        events = g["events"].to_numpy(dtype="int64")
        expected = g["expected"].to_numpy(dtype=float)
        variance = g["variance"].to_numpy(dtype=float)
        low, high = wilson_interval(events, n, alpha=alpha)
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(n > 0, events / np.where(n > 0, n, 1), np.nan)
            mean_p = np.where(n > 0, expected / np.where(n > 0, n, 1), np.nan)
            z = np.where(variance > 0, (events - expected) / np.sqrt(variance), np.nan)
        parts.append(pd.DataFrame({
            "variable": variable,
            "level": pd.Series(levels, dtype=object),
            "n": n,
            "events": events,
            "observed_rate": rate,
            "obs_conf_low": low,
            "obs_conf_high": high,
            "mean_predicted": mean_p,
            "expected_events": expected,
            "outside": (n > 0) & ((mean_p < low) | (mean_p > high)),
            "z": z,
        }))
    if not parts:
        return pd.DataFrame({c: [] for c in OBSERVED_COLUMNS})
    return pd.concat(parts, ignore_index=True)[OBSERVED_COLUMNS]
