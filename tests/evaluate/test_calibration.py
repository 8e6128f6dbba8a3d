"""Tests of analysis.evaluate.calibration against R and independent computations.

References used:
- R 4.2.2 on birthwt (tests/reference/r/public_calibration.json, made by public_calibration.R: rms::val.prob,
  glm(y ~ qlogis(p)), glm(y ~ offset(qlogis(p))), lowess(p, y, iter = 0) and lowess(p, y));
- R 4.2.2 on data made in R with ties, pattern (grouped) fits, clipped p and the Wald tests of the ideal
  values (tests/reference/r/calibration_extra.json, made by calibration_extra.R, which also holds the data);
- a literal row-by-row Python transcription of R's C lowess (``clowess``/``lowest`` of R's
  src/library/stats/src/lowess.c), written below;
- second libraries: statsmodels' Logit on the 0/1 rows, statsmodels' lowess on untied data, pandas groupby on
  expanded rows;
- a property of the maximum-likelihood fit: refitted on its own data, a logistic model is perfectly
  calibrated in the large and in slope, and each level of a categorical predictor has observed = expected.
"""
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from statsmodels.nonparametric.smoothers_lowess import lowess as sm_lowess

from analysis.evaluate.calibration import calibration_curve, calibration_fit, observed_vs_predicted
from conftest import PREDICTORS, pandas_rows

REF = Path(__file__).resolve().parents[1] / "reference" / "r"
PUBLIC = json.loads((REF / "public_calibration.json").read_text())
EXTRA = json.loads((REF / "calibration_extra.json").read_text())
R_TOL = 1e-6  # recalibration fits against R
CURVE_TOL = 1e-8  # lowess against R (absolute; values in [0, 1])


def assert_rel(actual, expected, rtol):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=0)


def exact_f(f):
    """f as R had it: the JSON holds 15 significant digits (2/3 -> 0.666666666666667)."""
    return 2 / 3 if abs(f - 2 / 3) < 1e-12 else f


def case_xy(case):
    return np.asarray(case["k"], dtype=float) / case["den"], np.asarray(case["y"], dtype=np.int64)


def to_patterns(p, y, rng=None):
    """Aggregate rows into patterns by identical p with pandas (not with the code under test), and split each
    pattern in two when it has several rows, so a value of p is spread over patterns; shuffled."""
    d = pd.DataFrame({"p": p, "y": y}).groupby("p").agg(events=("y", "sum"), trials=("y", "size")).reset_index()
    parts = []
    for row in d.itertuples():
        if row.trials >= 2:
            e1 = row.events // 2
            t1 = max(row.trials // 2, e1, 1)
            parts += [(row.p, e1, t1), (row.p, row.events - e1, row.trials - t1)]
        else:
            parts.append((row.p, row.events, row.trials))
    pat = pd.DataFrame(parts, columns=["p", "events", "trials"])
    pat = pat[pat.trials > 0]
    if rng is not None:
        pat = pat.iloc[rng.permutation(len(pat))]
    return pat.reset_index(drop=True)


# ------------------------------------------------------------------------------------------ calibration_fit


def assert_p_value(actual, expected, rtol):
    """p-values: relative, on the log scale when tiny (a p-value of 1e-141 moves by 5e-5 relative when z
    moves by 1e-7 relative)."""
    if expected < 1e-10:
        assert_rel(math.log(actual), math.log(expected), rtol)
    else:
        assert_rel(actual, expected, rtol)


def _check_fit_against_r(ours, ref, rtol):
    lg, off = ref["logistic"], ref["offset"]
    for k, name in enumerate(("intercept", "slope")):
        assert_rel(ours[name], lg["estimate"][k], rtol)
        assert_rel(ours[f"{name}_se"], lg["std_error"][k], rtol)
        assert_rel(ours[f"{name}_conf_low"], lg["ci_lower"][k], rtol)
        assert_rel(ours[f"{name}_conf_high"], lg["ci_upper"][k], rtol)
        assert_rel(ours[f"{name}_z"], lg["z_ideal"][k], rtol)
        assert_p_value(ours[f"{name}_p_value"], lg["p_value_ideal"][k], rtol)
    est = np.atleast_1d(off["estimate"])[0]
    assert_rel(ours["citl"], est, rtol)
    assert_rel(ours["citl_se"], np.atleast_1d(off["std_error"])[0], rtol)
    assert_rel(ours["citl_conf_low"], np.atleast_1d(off["ci_lower"])[0], rtol)
    assert_rel(ours["citl_conf_high"], np.atleast_1d(off["ci_upper"])[0], rtol)
    assert_rel(ours["citl_z"], np.atleast_1d(off["z_ideal"])[0], rtol)
    assert_p_value(ours["citl_p_value"], np.atleast_1d(off["p_value_ideal"])[0], rtol)


def test_fit_birthwt_against_r_val_prob_and_glm():
    ours = calibration_fit(PUBLIC["p"], PUBLIC["y"])
    assert ours["n"] == 94 and ours["events"] == 29 and ours["n_clipped"] == 0
    # val.prob's Intercept and Slope are the joint fit's coefficients
    assert_rel(ours["intercept"], PUBLIC["val_prob"]["stats"]["Intercept"], R_TOL)
    assert_rel(ours["slope"], PUBLIC["val_prob"]["stats"]["Slope"], R_TOL)
    # the glm fits of public_calibration.R: estimates, SEs, confint.default
    lg, off = PUBLIC["recalibration"]["logistic"], PUBLIC["recalibration"]["offset"]
    assert_rel([ours["intercept"], ours["slope"]], lg["estimate"], R_TOL)
    assert_rel([ours["intercept_se"], ours["slope_se"]], lg["std_error"], R_TOL)
    assert_rel([ours["intercept_conf_low"], ours["slope_conf_low"]], lg["ci95_lower"], R_TOL)
    assert_rel([ours["intercept_conf_high"], ours["slope_conf_high"]], lg["ci95_upper"], R_TOL)
    assert_rel(ours["intercept_p_value"], lg["p_value"][0], R_TOL)  # summary.glm tests intercept = 0 too
    assert_rel([ours["citl"], ours["citl_se"], ours["citl_p_value"]],
               [off["estimate"], off["std_error"], off["p_value"]], R_TOL)
    assert_rel([ours["citl_conf_low"], ours["citl_conf_high"]], [off["ci95_lower"], off["ci95_upper"]], R_TOL)
    # Wald tests of the ideal values (slope = 1) computed in R
    _check_fit_against_r(ours, EXTRA["recalibration"]["birthwt"], R_TOL)


def test_fit_conf_level_against_r():
    ours = calibration_fit(PUBLIC["p"], PUBLIC["y"], conf_level=0.90)
    _check_fit_against_r(ours, EXTRA["recalibration"]["birthwt_90"], R_TOL)
    assert ours["conf_level"] == 0.90


def test_fit_patterns_against_r_grouped_glm():
    ref = EXTRA["recalibration"]["patterns"]
    ours = calibration_fit(ref["p"], ref["events"], ref["trials"])
    assert ours["n"] == sum(ref["trials"]) and ours["events"] == sum(ref["events"])
    _check_fit_against_r(ours, ref, R_TOL)


def test_fit_clipped_p_against_r():
    ref = EXTRA["recalibration"]["clipped"]
    ours = calibration_fit(ref["p"], ref["y"])
    assert ours["n_clipped"] == 5  # two 0s and three 1s
    _check_fit_against_r(ours, ref, R_TOL)


def test_fit_patterns_equal_rows():
    rng = np.random.default_rng(1)
    p = rng.choice(np.linspace(0.03, 0.9, 25), size=600)
    y = rng.binomial(1, np.clip(p * 1.3, 0, 1))
    rows = calibration_fit(p, y)
    pat = to_patterns(p, y, rng)
    patterns = calibration_fit(pat.p, pat.events, pat.trials)
    assert rows.keys() == patterns.keys()
    for key in rows:
        assert_rel(patterns[key], rows[key], 1e-10)


def test_fit_against_statsmodels_logit_on_rows():
    rng = np.random.default_rng(2)
    p = rng.choice(rng.uniform(0.02, 0.95, 40), size=500)
    y = rng.binomial(1, p**1.2)
    ours = calibration_fit(p, y)
    lp = np.log(p / (1 - p))
    joint = sm.Logit(y, sm.add_constant(lp)).fit(method="newton", tol=1e-14, maxiter=100, disp=0)
    citl = sm.GLM(y, np.ones(len(y)), family=sm.families.Binomial(), offset=lp).fit(tol=1e-14)
    assert_rel([ours["intercept"], ours["slope"], ours["citl"]], [*joint.params, citl.params[0]], 1e-8)
    assert_rel([ours["intercept_se"], ours["slope_se"], ours["citl_se"]], [*joint.bse, citl.bse[0]], 1e-8)


def test_fit_single_value_and_errors():
    out = calibration_fit([0.3, 0.3, 0.3], [1, 0, 0])
    assert math.isnan(out["slope"]) and math.isnan(out["intercept_se"])
    # citl with one value of p: logit(1/3) - logit(0.3), SE sqrt(1 / (n p (1 - p))) at p = 1/3
    assert out["citl"] == pytest.approx(math.log(0.5) - math.log(0.3 / 0.7), rel=1e-9)
    assert out["citl_se"] == pytest.approx(math.sqrt(1 / (3 * (1 / 3) * (2 / 3))), rel=1e-9)
    with pytest.raises(ValueError, match="at least one event"):
        calibration_fit([0.2, 0.4], [0, 0])
    with pytest.raises(ValueError, match="conf_level"):
        calibration_fit([0.2, 0.4], [0, 1], conf_level=1.0)
    with pytest.raises(ValueError):
        calibration_fit([0.2, 1.4], [0, 1])


# ------------------------------------------------------------------------------------------ literal clowess


def clowess_rows(x, y, f, nsteps, delta, fallback="row"):
    """Line-by-line transcription of R 4.2's clowess/lowest (lowess.c) on rows; x, y in R's order (stably
    sorted by x, as R's lowess does). fallback="row" is R (y of the row being fitted when all weights are 0);
    "rate" the documented choice of analysis.evaluate.calibration (mean y of the rows tied there)."""
    order = np.argsort(np.asarray(x, dtype=float), kind="stable")
    x = [None] + [float(v) for v in np.asarray(x, dtype=float)[order]]  # 1-based
    y = [None] + [float(v) for v in np.asarray(y, dtype=float)[order]]
    n = len(x) - 1
    ys = [0.0] * (n + 1)
    if n < 2:
        return np.array(x[1:]), np.array(y[1:])
    rw = [1.0] * (n + 1)
    ns = max(2, min(n, int(f * n + 1e-7)))

    def lowest(xs, nleft, nright, userw):
        w = [0.0] * (n + 1)
        rng = x[n] - x[1]
        h = max(xs - x[nleft], x[nright] - xs)
        h9, h1 = 0.999 * h, 0.001 * h
        a = 0.0
        j = nleft
        while j <= n:
            w[j] = 0.0
            r = abs(x[j] - xs)
            if r <= h9:
                if r <= h1:
                    w[j] = 1.0
                else:
                    q = r / h
                    u = 1.0 - q * q * q
                    w[j] = u * u * u
                if userw:
                    w[j] *= rw[j]
                a += w[j]
            elif x[j] > xs:
                break
            j += 1
        nrt = j - 1
        if a <= 0.0:
            return None
        for j in range(nleft, nrt + 1):
            w[j] /= a
        if h > 0.0:
            a = 0.0
            for j in range(nleft, nrt + 1):
                a += w[j] * x[j]
            b = xs - a
            c = 0.0
            for j in range(nleft, nrt + 1):
                c += w[j] * (x[j] - a) * (x[j] - a)
            if math.sqrt(c) > 0.001 * rng:
                b /= c
                for j in range(nleft, nrt + 1):
                    w[j] *= b * (x[j] - a) + 1.0
        return sum(w[j] * y[j] for j in range(nleft, nrt + 1))

    it = 1
    while it <= nsteps + 1:
        nleft, nright, last, i = 1, ns, 0, 1
        while True:
            if nright < n:
                d1 = x[i] - x[nleft]
                d2 = x[nright + 1] - x[i]
                if d1 > d2:
                    nleft += 1
                    nright += 1
                    continue
            fit = lowest(x[i], nleft, nright, it > 1)
            if fit is None:
                if fallback == "row":
                    fit = y[i]
                else:
                    tied = [y[j] for j in range(1, n + 1) if x[j] == x[i]]
                    fit = sum(tied) / len(tied)
            ys[i] = fit
            if last < i - 1:
                denom = x[i] - x[last]
                for j in range(last + 1, i):
                    alpha = (x[j] - x[last]) / denom
                    ys[j] = alpha * ys[i] + (1.0 - alpha) * ys[last]
            last = i
            cut = x[last] + delta
            i = last + 1
            while i <= n:
                if x[i] > cut:
                    break
                if x[i] == x[last]:
                    ys[i] = ys[last]
                    last = i
                i += 1
            i = max(last + 1, i - 1)
            if last >= n:
                break
        res = [y[k] - ys[k] for k in range(1, n + 1)]
        sc = sum(abs(r) for r in res) / n
        if it > nsteps:
            break
        srt = sorted(abs(r) for r in res)
        m1 = n // 2
        cmad = 3.0 * (srt[m1] + srt[n - m1 - 1]) if n % 2 == 0 else 6.0 * srt[m1]
        if cmad < 1e-7 * sc:
            break
        c9, c1 = 0.999 * cmad, 0.001 * cmad
        for k in range(1, n + 1):
            r = abs(res[k - 1])
            rw[k] = 1.0 if r <= c1 else ((1.0 - (r / cmad) ** 2) ** 2 if r <= c9 else 0.0)
        it += 1
    return np.array(x[1:]), np.array(ys[1:])


def smooth_at(curve: pd.DataFrame, x):
    """The smooth of each row (rows tied on p share the value of their p)."""
    lookup = dict(zip(curve["p"], curve["observed_smooth"]))
    return np.array([lookup[v] for v in np.asarray(x, dtype=float)])


# ------------------------------------------------------------------------------------------ calibration_curve


@pytest.mark.parametrize("key, iterations", [("lowess_iter0", 0), ("lowess_default", 3)])
def test_curve_birthwt_against_r(key, iterations):
    ref = PUBLIC[key]
    curve = calibration_curve(PUBLIC["p"], PUBLIC["y"], iterations=iterations)
    np.testing.assert_array_equal(curve["p"], np.sort(PUBLIC["p"]))  # no ties: one row per row
    np.testing.assert_allclose(curve["p"], ref["x"], rtol=1e-14, atol=0)
    np.testing.assert_allclose(curve["observed_smooth"], ref["y"], rtol=0, atol=CURVE_TOL)
    assert curve.attrs["delta"] == pytest.approx(0.01 * np.ptp(PUBLIC["p"]), rel=1e-15)
    assert curve.attrs["iterations"] == iterations and curve.attrs["neighbours"] == 62  # (int)(2/3 * 94)


def test_curve_grid_is_val_prob_approx_at_p():
    curve = calibration_curve(PUBLIC["p"], PUBLIC["y"], grid=PUBLIC["p"])
    np.testing.assert_array_equal(curve["p"], PUBLIC["p"])  # grid order kept
    np.testing.assert_allclose(curve["observed_smooth"], PUBLIC["lowess_iter0"]["smooth_at_p"], rtol=0,
                               atol=CURVE_TOL)
    outside = calibration_curve(PUBLIC["p"], PUBLIC["y"], grid=[0.0, min(PUBLIC["p"]), 1.0])
    assert np.isnan(outside["observed_smooth"].iloc[0]) and np.isnan(outside["observed_smooth"].iloc[2])
    assert outside["observed_smooth"].iloc[1] == calibration_curve(PUBLIC["p"], PUBLIC["y"])["observed_smooth"][0]


RUNS = [(name, k) for name, case in EXTRA["lowess"].items() for k in range(len(case["runs"]))]


@pytest.mark.parametrize("name, k", RUNS, ids=[f"{n}-{k}" for n, k in RUNS])
def test_curve_tied_data_against_r(name, k):
    """R's lowess on tied data, several f / iter / delta. R's value at every row must equal ours at its p,
    except where every weight of a local fit is 0 (robustness iterations only): there R returns the y of the
    row it was fitting at and we the observed rate at that p (documented); the literal transcription of R's
    C code reproduces R there too, which pins down that this is the only difference."""
    case = EXTRA["lowess"][name]
    run = case["runs"][k]
    x, y = case_xy(case)
    delta = None if run["delta"] == "default" else run["delta"]
    curve = calibration_curve(x, y, frac=exact_f(run["f"]), iterations=run["iter"], delta=delta)
    assert curve.attrs["delta"] == pytest.approx(run["delta_used"], rel=1e-12, abs=0)
    r_x, r_y = np.asarray(run["x"]), np.asarray(run["y"])
    np.testing.assert_allclose(np.sort(x), r_x, rtol=1e-14, atol=0)
    ours = smooth_at(curve, np.sort(x))
    # the literal transcription is R (including R's fallback)
    _, literal = clowess_rows(x, y, exact_f(run["f"]), run["iter"], run["delta_used"], fallback="row")
    np.testing.assert_allclose(literal, r_y, rtol=0, atol=1e-12)
    differ = np.abs(ours - r_y) > CURVE_TOL
    if differ.any():
        assert run["iter"] > 0
        rate = pd.Series(y).groupby(x).mean()
        assert set(r_y[differ]) <= {0.0, 1.0}
        np.testing.assert_allclose(ours[differ], rate.loc[np.sort(x)[differ]].to_numpy(), rtol=1e-15)
        _, literal_rate = clowess_rows(x, y, exact_f(run["f"]), run["iter"], run["delta_used"], fallback="rate")
        np.testing.assert_allclose(ours, literal_rate, rtol=0, atol=1e-12)
    # the cases where R falls back to a row's y are known: only decimal_grid with f = 0.3, iter = 3
    assert differ.any() == (name == "decimal_grid" and run["iter"] == 3 and exact_f(run["f"]) == 0.3)


@pytest.mark.parametrize("seed", range(6))
def test_curve_against_literal_transcription_random_ties(seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(2, 160))
    values = np.sort(rng.uniform(0.01, 0.99, int(rng.integers(1, 25))))
    x = rng.choice(values, size=n)
    y = rng.binomial(1, x)
    f = float(rng.choice([0.05, 0.2, 0.5, 2 / 3, 1.0]))
    iterations = int(rng.integers(0, 4))
    delta = float(rng.choice([0.0, 0.01 * np.ptp(x), 0.05]))
    curve = calibration_curve(x, y, frac=f, iterations=iterations, delta=delta)
    xs, literal = clowess_rows(x, y, f, iterations, delta, fallback="rate")
    np.testing.assert_allclose(smooth_at(curve, xs), literal, rtol=0, atol=1e-12)


def test_curve_close_to_statsmodels_without_ties():
    """A second implementation: statsmodels' lowess is close to R's only without ties and with delta = 0
    (its tricube weights lack R's 0.001 h / 0.999 h cut-offs, hence 1e-8; see calibration_curve)."""
    rng = np.random.default_rng(7)
    p = rng.uniform(0.02, 0.9, 400)
    y = rng.binomial(1, p)
    ours = calibration_curve(p, y, delta=0.0)
    theirs = sm_lowess(y, p, frac=2 / 3, it=0, delta=0.0)
    np.testing.assert_array_equal(ours["p"], theirs[:, 0])
    np.testing.assert_allclose(ours["observed_smooth"], theirs[:, 1], rtol=0, atol=1e-8)


@pytest.mark.parametrize("iterations, delta", [(0, None), (3, None), (0, 0.0), (2, 0.03)])
def test_curve_patterns_equal_rows(iterations, delta):
    rng = np.random.default_rng(5)
    p = rng.choice(np.round(rng.uniform(0.02, 0.95, 30), 3), size=700)
    y = rng.binomial(1, p)
    rows = calibration_curve(p, y, iterations=iterations, delta=delta)
    shuffled = rng.permutation(len(p))
    rows_shuffled = calibration_curve(p[shuffled], y[shuffled], iterations=iterations, delta=delta)
    pat = to_patterns(p, y, rng)
    patterns = calibration_curve(pat.p, pat.events, pat.trials, iterations=iterations, delta=delta)
    pd.testing.assert_frame_equal(rows, patterns)  # exact
    pd.testing.assert_frame_equal(rows, rows_shuffled)
    assert rows.attrs == patterns.attrs and rows.attrs["n"] == 700


def test_curve_small_inputs_and_errors():
    one = calibration_curve([0.4], [1])
    assert one["observed_smooth"].tolist() == [1.0]
    tied = calibration_curve([0.3], [2], [5])  # five rows at one value: their mean, as R
    assert tied["observed_smooth"].tolist() == [pytest.approx(0.4, rel=1e-15)]
    with pytest.raises(ValueError, match="frac"):
        calibration_curve([0.1, 0.2], [0, 1], frac=0)
    with pytest.raises(ValueError, match="iterations"):
        calibration_curve([0.1, 0.2], [0, 1], iterations=-1)
    with pytest.raises(ValueError, match="delta"):
        calibration_curve([0.1, 0.2], [0, 1], delta=-0.1)


# ------------------------------------------------------------------------------------------ observed_vs_predicted


def test_observed_vs_predicted_hand_calculation():
    frame = pd.DataFrame({"g": ["a", "a", "b"], "age": [25, 65, 45], "events": [2, 3, 0], "trials": [4, 5, 2]})
    p = [0.25, 0.5, 0.1]
    out = observed_vs_predicted(frame, p, by={"g": None, "age": [18, 30, 60, math.inf]})
    assert list(out.columns) == ["variable", "level", "n", "events", "observed_rate", "obs_conf_low",
                                 "obs_conf_high", "mean_predicted", "expected_events", "outside", "z"]
    assert out["variable"].tolist() == ["g", "g", "age", "age", "age"]
    assert out["level"].tolist() == ["a", "b", "18\u201329", "30\u201359", "60+"]
    assert out["n"].tolist() == [9, 2, 4, 2, 5]
    assert out["events"].tolist() == [5, 0, 2, 0, 3]
    # group a: expected 4 * 0.25 + 5 * 0.5 = 3.5, variance 4 * 0.1875 + 5 * 0.25 = 2.0
    a = out.iloc[0]
    assert a["expected_events"] == pytest.approx(3.5, rel=1e-15)
    assert a["mean_predicted"] == pytest.approx(3.5 / 9, rel=1e-15)
    assert a["z"] == pytest.approx(1.5 / math.sqrt(2.0), rel=1e-15)
    # Wilson 95% for 5 / 9, closed form
    z = 1.959963984540054
    centre = (5 / 9 + z * z / 18) / (1 + z * z / 9)
    half = z * math.sqrt(5 / 9 * 4 / 9 / 9 + z * z / (4 * 81)) / (1 + z * z / 9)
    assert a["obs_conf_low"] == pytest.approx(centre - half, rel=1e-12)
    assert a["obs_conf_high"] == pytest.approx(centre + half, rel=1e-12)
    assert not a["outside"]
    # group b: 0 of 2, mean predicted 0.1 inside the Wilson interval [0, 0.658]
    b = out.iloc[1]
    assert b["observed_rate"] == 0 and b["expected_events"] == pytest.approx(0.2) and not b["outside"]
    assert b["z"] == pytest.approx(-0.2 / math.sqrt(2 * 0.09), rel=1e-15)
    # age 60+: 3 of 5 with p = 0.5
    old = out.iloc[4]
    assert old["z"] == pytest.approx(0.5 / math.sqrt(1.25), rel=1e-15)


def test_observed_vs_predicted_bins_extra_and_empty_groups():
    frame = pd.DataFrame({"age": [10.0, 20.0, 75.0, np.nan], "events": [1, 0, 1, 0], "trials": [2, 1, 1, 3]})
    out = observed_vs_predicted(frame, [0.5, 0.2, 0.9, 0.0], by={"age": [18, 30, 40, 70]})
    # every bin appears (30-39 and 40-69 are empty); the extra groups only because they have rows
    assert out["level"].tolist() == ["<18", "18\u201329", "30\u201339", "40\u201369", "70+", "missing"]
    assert out["n"].tolist() == [2, 1, 0, 0, 1, 3]
    assert out["events"].tolist() == [1, 0, 0, 0, 1, 0]
    empty = out.iloc[2]
    assert np.isnan(empty["observed_rate"]) and np.isnan(empty["mean_predicted"]) and np.isnan(empty["z"])
    assert not empty["outside"] and empty["expected_events"] == 0
    missing = out.iloc[5]  # p = 0: no variance, z undefined
    assert np.isnan(missing["z"]) and missing["mean_predicted"] == 0


def _random_patterns(seed):
    rng = np.random.default_rng(seed)
    m = 60
    frame = pd.DataFrame({
        "job": rng.choice(["admin.", "retired", "student", None], size=m),
        "age": rng.integers(16, 80, size=m).astype(float),
        "flag_x": rng.integers(0, 2, size=m),
        "trials": rng.integers(1, 9, size=m),
    })
    frame.loc[rng.choice(m, 3, replace=False), "age"] = np.nan
    p = rng.uniform(0.02, 0.9, size=m)
    frame["events"] = rng.binomial(frame["trials"], p)
    return frame, p


def test_observed_vs_predicted_against_pandas_on_expanded_rows():
    frame, p = _random_patterns(3)
    edges = [18, 30, 40, 50, 60, math.inf]
    out = observed_vs_predicted(frame, p, by={"job": None, "age": edges, "flag_x": None})
    # expand: one row per customer, y = 1 for the first `events` rows of a pattern
    rep = frame.index.repeat(frame["trials"])
    rows = frame.loc[rep].reset_index(drop=True)
    rows["p"] = p[rep]
    rows["y"] = np.concatenate([np.r_[np.ones(e), np.zeros(t - e)] for e, t in zip(frame.events, frame.trials)])
    age = rows["age"]
    rows["age_group"] = np.select(
        [age.isna(), age < 18, age < 30, age < 40, age < 50, age < 60],
        ["missing", "<18", "18\u201329", "30\u201339", "40\u201349", "50\u201359"], "60+")
    for variable, key in (("job", "job"), ("age", "age_group"), ("flag_x", "flag_x")):
        mine = out[out["variable"] == variable].set_index("level")
        g = rows.groupby(rows[key].fillna("<NA>") if variable == "job" else rows[key])
        expected = pd.DataFrame({
            "n": g.size(), "events": g["y"].sum().astype("int64"), "observed_rate": g["y"].mean(),
            "mean_predicted": g["p"].mean(), "expected_events": g["p"].sum(),
            "z": (g["y"].sum() - g["p"].sum()) / np.sqrt(g["p"].apply(lambda s: (s * (1 - s)).sum())),
        })
        if variable == "job":
            mine.index = mine.index.map(lambda v: "<NA>" if v is None or (isinstance(v, float) and np.isnan(v)) else v)
        mine = mine.loc[expected.index]
        np.testing.assert_array_equal(mine["n"].to_numpy(), expected["n"].to_numpy())
        np.testing.assert_array_equal(mine["events"].to_numpy(), expected["events"].to_numpy())
        for col in ("observed_rate", "mean_predicted", "expected_events", "z"):
            np.testing.assert_allclose(mine[col].to_numpy(dtype=float), expected[col].to_numpy(dtype=float),
                                       rtol=1e-12, atol=0)
        low, high = mine["obs_conf_low"].to_numpy(), mine["obs_conf_high"].to_numpy()
        mp = mine["mean_predicted"].to_numpy()
        np.testing.assert_array_equal(mine["outside"].to_numpy(), (mp < low) | (mp > high))
    # the levels: job sorted with missing last, the age bins in order (extra groups only when they have rows)
    assert out[out.variable == "job"]["level"].tolist()[:3] == ["admin.", "retired", "student"]
    ages = out[out.variable == "age"]["level"].tolist()
    assert ages == [lvl for lvl in ["<18", "18\u201329", "30\u201339", "40\u201349", "50\u201359", "60+", "missing"]
                    if lvl in set(rows["age_group"]) or lvl not in ("<18", "missing")]


def test_observed_vs_predicted_rows_equal_patterns():
    frame, p = _random_patterns(4)
    rep = frame.index.repeat(frame["trials"])
    rows = frame.loc[rep].drop(columns=["trials", "events"]).reset_index(drop=True)
    rows["y"] = np.concatenate([np.r_[np.ones(e), np.zeros(t - e)] for e, t in zip(frame.events, frame.trials)])
    by = {"job": None, "age": [18, 40, 65], "flag_x": None}
    from_rows = observed_vs_predicted(rows, p[rep], response_events="y", trials=None, by=by)
    from_patterns = observed_vs_predicted(frame, p, by=by)
    pd.testing.assert_frame_equal(from_rows, from_patterns, check_exact=False, rtol=1e-12)
    default = observed_vs_predicted(frame, p)  # by=None: every non-count column by its values
    assert default["variable"].unique().tolist() == ["job", "age", "flag_x"]


def test_observed_vs_predicted_errors():
    frame = pd.DataFrame({"g": ["a"], "events": [3], "trials": [2]})
    with pytest.raises(ValueError, match="exceed"):
        observed_vs_predicted(frame, [0.5], by={"g": None})
    with pytest.raises(ValueError, match="one value per row"):
        observed_vs_predicted(frame.assign(events=1), [0.5, 0.2], by={"g": None})
    with pytest.raises(KeyError):
        observed_vs_predicted(frame.assign(events=1), [0.5], by={"nope": None})


# ------------------------------------------------------------------------------------------ real data


@pytest.fixture(scope="module")
def in_sample(real_data_path):
    """The full model fitted to all rows of the real data (read by pandas alone, conftest.pandas_rows: fast)
    and its fitted p (identical rows, identical p)."""
    rows = pandas_rows(real_data_path)[0][[*PREDICTORS, "flag"]]
    formula = ("flag ~ age + C(job) + C(marriage) + default_yes + returned_yes + loan_yes"
               " + coupon_used_in_last6_month + coupon_used_in_last_month")
    res = smf.logit(formula, rows).fit(method="newton", tol=1e-12, maxiter=100, disp=0)
    x = np.asarray(res.model.exog)
    x_unique, inverse = np.unique(x, axis=0, return_inverse=True)
    p = (1.0 / (1.0 + np.exp(-(x_unique @ res.params.to_numpy()))))[inverse.ravel()]
    return rows, p


def test_real_data_in_sample_fit_is_perfectly_calibrated(in_sample):
    """The score equations of the maximum-likelihood fit: sum(y - p) = 0 and sum(lp (y - p)) = 0, so its own
    recalibration has intercept 0 and slope 1, and citl = 0; each job level has observed = expected (z = 0)."""
    rows, p = in_sample
    fit = calibration_fit(p, rows["flag"])
    assert abs(fit["intercept"]) < 1e-8 and abs(fit["slope"] - 1) < 1e-8 and abs(fit["citl"]) < 1e-8
    assert fit["n"] == len(rows) and fit["slope_p_value"] == pytest.approx(1, abs=1e-6)
    table = observed_vs_predicted(rows, p, response_events="flag", trials=None,
                                  by={"job": None, "returned_yes": None, "age": [18, 30, 40, 50, 60, math.inf]})
    jobs = table[table.variable.isin(["job", "returned_yes"])]
    np.testing.assert_allclose(jobs["expected_events"], jobs["events"], rtol=1e-9)
    assert not jobs["outside"].any()
    assert table.groupby("variable")["n"].sum().eq(len(rows)).all()


def test_real_data_patterns_equal_rows(in_sample):
    rows, p = in_sample
    d = rows.assign(p=p)
    pat = d.groupby([*rows.columns.drop("flag"), "p"], sort=False, dropna=False).agg(
        trials=("flag", "size"), events=("flag", "sum")).reset_index()
    assert len(pat) < len(rows)
    curve_rows = calibration_curve(p, rows["flag"])
    curve_patterns = calibration_curve(pat["p"], pat["events"], pat["trials"])
    pd.testing.assert_frame_equal(curve_rows, curve_patterns)
    fit_rows = calibration_fit(p, rows["flag"])
    fit_patterns = calibration_fit(pat["p"], pat["events"], pat["trials"])
    for key in fit_rows:
        assert fit_patterns[key] == pytest.approx(fit_rows[key], rel=1e-10, abs=1e-14)
    by = {"job": None, "age": [18, 30, 40, 50, 60, math.inf]}
    pd.testing.assert_frame_equal(
        observed_vs_predicted(rows, p, response_events="flag", trials=None, by=by),
        observed_vs_predicted(pat.drop(columns="p"), pat["p"], by=by), check_exact=False, rtol=1e-10)


@pytest.mark.parametrize("rows_per_pattern", [10**6, 5 * 10**7])
def test_fit_converges_at_any_number_of_rows(rows_per_pattern):
    """20 patterns standing for 2 x 10^7 and 10^9 rows, events at the rounded rate of a known miscalibration
    logit P = 0.2 + 0.8 logit(p): the fit converges (statsmodels' IRLS, stopping on an absolute deviance change
    of 1e-13, never did at 7 x 10^7 rows) and recovers (0.2, 0.8) to the rounding of the counts (1e-6), with
    standard errors of the size 1 / sqrt(n) says."""
    p = np.linspace(0.02, 0.6, 20)
    lp = np.log(p / (1 - p))
    trials = np.full(20, rows_per_pattern, dtype=np.int64)
    events = np.round(trials / (1 + np.exp(-(0.2 + 0.8 * lp)))).astype(np.int64)
    fit = calibration_fit(p, events, trials)
    assert fit["intercept"] == pytest.approx(0.2, abs=1e-6) and fit["slope"] == pytest.approx(0.8, abs=1e-6)
    assert 0 < fit["slope_se"] < 10 / np.sqrt(trials.sum())
    assert fit["n"] == trials.sum()
