"""analysis/splines.py against R 4.2.2 / rms 6.5.0 / Hmisc 4.8.0.

References: tests/reference/r/splines.json, made by tests/reference/r/splines.R (see its header for the
command).  Knots are compared exactly (R's doubles are stored as %.17g strings), bases at 1e-12, the
real-data fits (statsmodels Logit with rcs() in the formula vs rms::lrm and glm(rcs())) at the tolerances
of the brief: coefficients and SEs 1e-6 relative, log-likelihood and AIC 1e-8 relative, fitted
probabilities 1e-8, Wald and LR chi-squares 1e-6 relative, summary(fit) effects 1e-6.
"""
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import patsy
import pytest
import statsmodels.formula.api as smf

from analysis.model.splines import Knots, RcsKnotsError, RcsKnotsWarning, choose_knots, datadist_limits, effect, linearity_test, lr_test, parse_rcs_term, rcs, rcs_basis, rcs_basis_derivative, rcs_knots, rcs_names, rcs_term, rcs_terms_of, rms_column_names, wald_test

REF = json.loads((Path(__file__).resolve().parents[1] / "reference" / "r" / "splines.json").read_text())
CATEGORICAL = ["job", "marriage", "default", "returned", "loan"]


def _exact(strings):
    return [math.nan if s == "NA" else float(s) for s in strings]


def _synthetic_x(case):
    return np.repeat(np.array(_exact(case["x_values"])), case["x_lengths"])


def _run(x, nk, fractied=0.05, weights=None):
    """choose_knots with warnings recorded: ("ok", Knots, warnings) or ("error", exception, warnings)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = ("ok", choose_knots(x, nk, weights=weights, fractied=fractied))
        except RcsKnotsError as exc:
            out = ("error", exc)
    texts = [str(w.message) for w in caught if issubclass(w.category, RcsKnotsWarning)]
    return out + (texts,)


def _check_against_r(x, r):
    status, got, texts = _run(x, r["nk"], r["fractied"])
    assert texts == list(r["warnings"])
    if r["error"]:
        assert status == "error", f"R stopped, Python gave {got}"
        assert got.r_message == r["error_message"]
    else:
        assert status == "ok", f"R gave knots, Python raised {got}"
        assert got.values.tolist() == _exact(r["knots_exact"])      # exact doubles
    return got


# ---------------------------------------------------------------------------------------------------
# data and fits (once per module)
# ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def data(real_data_path):
    df = pd.read_csv(real_data_path)
    df["m26"] = df["coupon_used_in_last6_month"] - df["coupon_used_in_last_month"]
    return df


def _formula(age_term: str) -> str:
    base = REF["models"]["baselines"]
    cats = " + ".join(f"C({v}, Treatment({base[v]!r}))" for v in CATEGORICAL)
    return f"coupon_ind ~ {age_term} + {cats} + rcs(m26, 3) + coupon_used_in_last_month"


def _fit(formula, df):
    return smf.logit(formula, df).fit(disp=0, method="newton", tol=1e-12, maxiter=100)


@pytest.fixture(scope="module")
def fits(data):
    """The rms model twice (knot count, explicit knots) and the model with age linear."""
    return {
        "count": _fit(_formula("rcs(age, 4)"), data),
        "explicit": _fit(_formula("rcs(age, [27, 35, 44, 59])"), data),
        "linear": _fit(_formula("age"), data),
    }


def _rms_name(name: str) -> str:
    """statsmodels/patsy column name -> rms::lrm coefficient name."""
    if name.startswith("C("):
        variable = name[2:name.index(",")]
        return f"{variable}={name[name.index('[T.') + 3:-1]}"
    return rms_column_names([name])[0]


# ---------------------------------------------------------------------------------------------------
# knots
# ---------------------------------------------------------------------------------------------------

REAL_CASES = [(v, i) for v, rs in REF["knots"]["real"].items() for i in range(len(rs))]
SYN_CASES = [(c, i) for c, s in REF["knots"]["synthetic"].items() for i in range(len(s["results"]))]


def _real_x(df, variable):
    return df["age"].to_numpy()[:60] if variable == "age_first60" else df[variable].to_numpy()


@pytest.mark.parametrize("variable,i", REAL_CASES, ids=[f"{v}-{i}" for v, i in REAL_CASES])
def test_knots_real_data_equal_r(data, variable, i):
    _check_against_r(_real_x(data, variable), REF["knots"]["real"][variable][i])


@pytest.mark.parametrize("case,i", SYN_CASES, ids=[f"{c}-{i}" for c, i in SYN_CASES])
def test_knots_synthetic_equal_r(case, i):
    spec = REF["knots"]["synthetic"][case]
    _check_against_r(_synthetic_x(spec), spec["results"][i])


def _pattern_table(x):
    s = pd.Series(x)
    counts = s.value_counts(dropna=False, sort=False)
    order = np.random.default_rng(1).permutation(len(counts))          # patterns in any order
    values = counts.index.to_numpy(dtype=float)[order]
    weights = counts.to_numpy()[order]
    # a pattern with count 0 is no row at all
    return np.append(values, 12345.5), np.append(weights, 0)


def _same(a, b):
    assert a[0] == b[0] and a[2] == b[2]
    if a[0] == "ok":
        assert a[1].values.tolist() == b[1].values.tolist()
        assert (a[1].rule, a[1].tied_low, a[1].tied_high, a[1].small_n, a[1].n) == \
               (b[1].rule, b[1].tied_low, b[1].tied_high, b[1].small_n, b[1].n)
    else:
        assert str(a[1]) == str(b[1]) and a[1].r_message == b[1].r_message


@pytest.mark.parametrize("variable,i", REAL_CASES, ids=[f"{v}-{i}" for v, i in REAL_CASES])
def test_knots_weighted_patterns_equal_rows_real(data, variable, i):
    x = _real_x(data, variable)
    nk = REF["knots"]["real"][variable][i]["nk"]
    values, weights = _pattern_table(x)
    _same(_run(values, nk, weights=weights), _run(x, nk))


@pytest.mark.parametrize("case,i", SYN_CASES, ids=[f"{c}-{i}" for c, i in SYN_CASES])
def test_knots_weighted_patterns_equal_rows_synthetic(case, i):
    spec = REF["knots"]["synthetic"][case]
    r = spec["results"][i]
    x = _synthetic_x(spec)
    values, weights = _pattern_table(x)
    _same(_run(values, r["nk"], r["fractied"], weights), _run(x, r["nk"], r["fractied"]))


def test_weights_validated():
    with pytest.raises(ValueError, match="non-negative integer"):
        rcs_knots([1, 2, 3, 4, 5, 6, 7], 3, weights=[1, 1, 1, 1, 1, 1, 0.5])
    with pytest.raises(ValueError, match="non-negative integer"):
        rcs_knots([1, 2, 3, 4, 5, 6, 7], 3, weights=[1, 1, 1, 1, 1, 1, -1])
    with pytest.raises(ValueError, match="weights has 2 values"):
        rcs_knots([1, 2, 3], 3, weights=[1, 2])
    with pytest.raises(ValueError, match="whole number"):
        rcs_knots(np.arange(100.0), 3.5)


def test_knots_rule_and_note(data):
    k = choose_knots(data["age"], 4)
    assert isinstance(k, Knots) and k.rule == "quantiles" and len(k) == 4
    assert k.note == "4 knots at rms's default quantiles (0.05, 0.35, 0.65, 0.95): 27, 35, 44, 59"
    assert rcs_knots(data["age"], 4).tolist() == [27, 35, 44, 59]

    with pytest.warns(RcsKnotsWarning, match="alternate algorithm"):
        k = choose_knots(data["coupon_used_in_last_month"], 4)
    assert k.rule == "alternate" and k.values.tolist() == [0, 1, 2]
    assert k.note.startswith("3 knots (0, 1, 2) instead of 4: rms's default quantiles did not give 3 distinct")
    with pytest.raises(RcsKnotsError, match="Fewer than 3 unique knots.*0: 20674, 1: 2947"):
        choose_knots(data["coupon_used_in_last_month"], 3)

    with pytest.warns(RcsKnotsWarning, match="4 knots requested with 6 unique values"):
        k = choose_knots(np.tile(np.arange(1.0, 7.0), 20), 4)
    assert k.rule == "few-unique"
    assert k.note == "x has only 6 distinct values: knots at the 4 interior values (2, 3, 4, 5) instead of the 4 requested"

    k = choose_knots(data["age"].to_numpy()[:60], 4)
    assert k.small_n and "5th smallest and 5th largest" in k.note
    k = choose_knots(np.r_[np.zeros(30), np.arange(1.0, 201.0)], 4)
    assert k.tied_low and not k.tied_high
    assert "the smallest value (0) holds 13% of the rows, so the first knot is the next value, 1" in k.note


# ---------------------------------------------------------------------------------------------------
# basis
# ---------------------------------------------------------------------------------------------------

def _close(a, b, tol):
    a, b = np.asarray(a, float), np.asarray(b, float)
    assert np.all(np.abs(a - b) <= tol * np.maximum(1.0, np.abs(b))), np.max(np.abs(a - b))


def test_basis_age_equals_r():
    ref = REF["basis"]["age"]
    knots = _exact(ref["knots_exact"])
    assert knots == [27, 35, 44, 59]
    _close(rcs_basis(ref["x"], knots), ref["basis"], 1e-12)


@pytest.mark.parametrize("i", range(len(REF["basis"]["synthetic"])))
def test_basis_synthetic_equals_r(i):
    ref = REF["basis"]["synthetic"][i]
    _close(rcs_basis(ref["x"], _exact(ref["knots_exact"])), ref["basis"], 1e-12)


def test_basis_sorts_knots_and_keeps_nan():
    x = np.array([20.0, np.nan, 50.0])
    b = rcs_basis(x, [44, 27, 59, 35])
    _close(b[[0, 2]], rcs_basis(x[[0, 2]], [27, 35, 44, 59]), 0)
    assert np.all(np.isnan(b[1]))
    with pytest.raises(ValueError, match="at least 3 distinct knots"):
        rcs_basis(x, [1, 2, 2])


def test_derivative_matches_finite_differences():
    knots = [27.0, 35.0, 44.0, 59.0]
    x = np.linspace(10, 100, 400) + 0.123
    h = 1e-5
    numeric = (rcs_basis(x + h, knots) - rcs_basis(x - h, knots)) / (2 * h)
    analytic = rcs_basis_derivative(x, knots)
    assert np.allclose(analytic, numeric, rtol=1e-7, atol=1e-7)
    beyond = rcs_basis_derivative(np.array([60.0, 80.0, 200.0]), knots)   # linear past the last knot
    _close(beyond, np.repeat(beyond[:1], 3, axis=0), 1e-12)
    below = rcs_basis_derivative(np.array([0.0, 26.9]), knots)             # and below the first
    assert np.all(below[:, 1:] == 0) and np.all(below[:, 0] == 1)


# ---------------------------------------------------------------------------------------------------
# rcs in formulas
# ---------------------------------------------------------------------------------------------------

def test_rcs_called_directly():
    age = pd.Series([18.0, 30, 40, 50, 60, 70, 80], index=list("abcdefg"), name="age")
    out = rcs(age, [27, 35, 44, 59])
    assert list(out.columns) == ["age", "age'", "age''"] and list(out.index) == list("abcdefg")
    _close(out.to_numpy(), rcs_basis(age, [27, 35, 44, 59]), 0)
    chosen = rcs(pd.Series(np.arange(200.0), name="z"), 3)               # knots from this x
    assert list(chosen.columns) == ["z", "z'"]
    _close(chosen.to_numpy(), rcs_basis(np.arange(200.0), rcs_knots(np.arange(200.0), 3)), 0)
    assert rcs_names("m26", 3) == ["m26", "m26'"]
    with pytest.raises(ValueError, match="at least 3 knots"):
        rcs(age, [30, 40])


def test_patsy_column_names(fits):
    names = fits["count"].model.exog_names
    assert [n for n in names if n.startswith("rcs(")] == [
        "rcs(age, 4)[0]", "rcs(age, 4)[1]", "rcs(age, 4)[2]", "rcs(m26, 3)[0]", "rcs(m26, 3)[1]"]
    explicit = fits["explicit"].model.exog_names
    assert "rcs(age, [27, 35, 44, 59])[2]" in explicit
    assert sorted(map(_rms_name, names)) == sorted(REF["models"]["lrm"]["coef_names"])
    assert rms_column_names(["rcs(age, 4)[0]", "rcs(age, [27, 35, 44, 59])[2]", "x[1]", "age"]) == \
        ["age", "age''", "x[1]", "age"]
    assert list(rcs_terms_of(fits["count"])) == ["rcs(age, 4)", "rcs(m26, 3)"]


@pytest.mark.parametrize("spelling", ["count", "explicit"])
@pytest.mark.parametrize("engine", ["lrm", "glm"])
def test_fit_reproduces_r(fits, data, spelling, engine):
    res = fits[spelling]
    ref = REF["models"][engine]
    lrm_names = REF["models"]["lrm"]["coef_names"]
    assert len(ref["coef_names"]) == len(lrm_names)                      # glm names differ, same order
    params = dict(zip(map(_rms_name, res.model.exog_names), res.params))
    bse = dict(zip(map(_rms_name, res.model.exog_names), res.bse))
    coef = np.array([params[n] for n in lrm_names])
    se = np.array([bse[n] for n in lrm_names])
    np.testing.assert_allclose(coef, ref["coef"], rtol=1e-6)
    np.testing.assert_allclose(se, ref["se"], rtol=1e-6)
    np.testing.assert_allclose(res.llf, ref["loglik"], rtol=1e-8)
    np.testing.assert_allclose(res.aic, ref["aic"], rtol=1e-8)
    pred = res.predict(data.iloc[:20])                                    # new-data path (memorized knots)
    np.testing.assert_allclose(pred.to_numpy(), ref["fitted_rows_1_20"], rtol=0, atol=1e-8)
    np.testing.assert_allclose(res.fittedvalues.to_numpy()[:20],
                               np.log(np.array(ref["fitted_rows_1_20"]) / (1 - np.array(ref["fitted_rows_1_20"]))),
                               rtol=1e-7)


@pytest.mark.parametrize("spelling", ["count", "explicit"])
def test_predict_reuses_memorized_knots(fits, data, spelling):
    res = fits[spelling]
    new = data.iloc[[5, 17, 300, 4000]].copy()
    new["age"] = [18, 45, 77, 95]                 # 4 rows: knots recomputed from them would be an error
    new.index = ["p", "q", "r", "s"]
    got = res.predict(new)
    names = res.model.exog_names
    # the linear predictor by hand with the knots of the fit: 27, 35, 44, 59 for age, 0, 2, 5 for m26
    base = res.model.exog[[5, 17, 300, 4000]].copy()
    age_cols = [names.index(n) for n in names if n.startswith("rcs(age")]
    base[:, age_cols] = rcs_basis(new["age"], [27, 35, 44, 59])
    expected = 1 / (1 + np.exp(-(base @ res.params.to_numpy())))
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=1e-12)
    assert list(got.index) == ["p", "q", "r", "s"]
    # a subset of the training rows predicts exactly its fitted values (knots not recomputed)
    rows = data.iloc[100:160]
    np.testing.assert_allclose(res.predict(rows).to_numpy(), res.predict()[100:160], rtol=1e-13)


# ---------------------------------------------------------------------------------------------------
# tests of linearity, effects
# ---------------------------------------------------------------------------------------------------

def _anova(row_index):
    """(chi-square, df, p) of a line of rms's anova(fit).  rms prints P = 1 - pchisq(), which is 0 for
    these chi-squares; the JSON also has the upper tail pchisq(lower.tail = FALSE), compared here."""
    a = REF["models"]["anova"]
    assert a["p"][row_index] == max(0.0, 1 - (1 - a["p_upper_tail"][row_index]))
    return a["chisq"][row_index], a["df"][row_index], a["p_upper_tail"][row_index]


def _check_test(test, ref):
    chisq, df, p = ref
    np.testing.assert_allclose(test.chi2, chisq, rtol=1e-6)
    assert test.df == df
    np.testing.assert_allclose(test.p, p, rtol=1e-6, atol=1e-300)   # TOTAL: R 4.6e-319 (subnormal), scipy 0


@pytest.mark.parametrize("spelling", ["count", "explicit"])
def test_wald_nonlinearity_equals_anova_rms(fits, spelling):
    res = fits[spelling]
    rows = REF["models"]["anova"]["rows"]
    assert rows[1] == " Nonlinear" and rows[8] == " Nonlinear" and rows[10] == "TOTAL NONLINEAR"
    _check_test(linearity_test(res, "age"), _anova(rows.index("age") + 1))
    _check_test(linearity_test(res, "m26"), _anova(rows.index("m26") + 1))
    _check_test(linearity_test(res, "rcs(m26,3)"), _anova(rows.index("m26") + 1))
    _check_test(linearity_test(res), _anova(rows.index("TOTAL NONLINEAR")))
    terms = rcs_terms_of(res)
    age_term = next(t for t in terms if t.startswith("rcs(age"))
    _check_test(linearity_test(res, age_term), _anova(1))
    # whole-term lines and TOTAL
    sl = terms[age_term]
    _check_test(wald_test(res, range(sl.start, sl.stop)), _anova(rows.index("age")))
    _check_test(wald_test(res, range(1, len(res.params))), _anova(rows.index("TOTAL")))
    with pytest.raises(ValueError, match="no rcs term"):
        linearity_test(res, "coupon_used_in_last_month")


def test_lr_nonlinearity_equals_r(fits):
    ref = REF["models"]["lr_nonlinear_age"]
    np.testing.assert_allclose(fits["linear"].llf, REF["models"]["glm_linear_age"]["loglik"], rtol=1e-8)
    for test in (lr_test(fits["count"], fits["linear"]),
                 lr_test(fits["explicit"].llf, fits["linear"].llf, df=2)):
        _check_test(test, (ref["chisq"], ref["df"], ref["p"]))
    with pytest.raises(ValueError, match="give df"):
        lr_test(-1.0, -2.0)


def test_datadist_limits_equal_r(data):
    lim = REF["models"]["summary"]["datadist_limits"]
    for v in ("age", "m26"):
        got = datadist_limits(data[v])
        assert [got["low"], got["adjust"], got["high"]] == lim[v][:3]
    # fewer than 4 distinct values: the range; equal quartiles: the range
    assert datadist_limits([1, 1, 2, 3])["low"] == 1 and datadist_limits([1, 1, 2, 3])["high"] == 3
    assert datadist_limits(data["coupon_used_in_last_month"])["high"] == 15


@pytest.mark.parametrize("spelling", ["count", "explicit"])
@pytest.mark.parametrize("variable", ["age", "m26"])
def test_iqr_effects_equal_summary_rms(fits, data, spelling, variable):
    s = REF["models"]["summary"]
    i = s["rows"].index(variable)
    low, high, diff, est, se, lower, upper, _ = s["values"][i]
    e = effect(fits[spelling], data, variable)
    assert (e.low, e.high, e.high - e.low) == (low, high, diff)
    np.testing.assert_allclose([e.estimate, e.se, e.lower, e.upper], [est, se, lower, upper], rtol=1e-6)
    assert s["rows"][i + 1] == " Odds Ratio"
    _, _, _, odds, _, or_lower, or_upper, _ = s["values"][i + 1]
    np.testing.assert_allclose(e.exp(), [odds, or_lower, or_upper], rtol=1e-6)


# ---------------------------------------------------------------------------------------------------
# reading and writing terms
# ---------------------------------------------------------------------------------------------------

def test_parse_rcs_term():
    assert parse_rcs_term("rcs(x, 4)") == ("x", 4)
    assert parse_rcs_term("rcs(age,4)") == ("age", 4)
    assert parse_rcs_term("rcs(x)") == ("x", 5)
    assert parse_rcs_term("rcs(x, knots=3)") == ("x", 3)
    assert parse_rcs_term("rcs(x, [1, 2.5, 3])") == ("x", [1, 2.5, 3])
    assert parse_rcs_term("rcs(x, (-1, 0, 1e-3))") == ("x", [-1, 0, 0.001])
    for other in ("age", "C(job)", "rcs(age, 4):C(job)", "np.log(x)", "rcs(", ""):
        assert parse_rcs_term(other) is None
    for bad in ("rcs(x, k)", "rcs(x, [1, 2])", "rcs(x, 2.5)", "rcs(1, 4)", "rcs(x, 4, 5)"):
        with pytest.raises(ValueError):
            parse_rcs_term(bad)


@pytest.mark.parametrize("knots", [4, [27, 35, 44, 59], [28, 35.65, 48, 59], [0.1 + 0.2, 1 / 3, 2.5e-7, 1e20],
                                   [-3, -0.5, 7.25], np.array([13.450000000000001, 88.14999999999999, 162.85])])
def test_rcs_term_round_trip_and_patsy_name(knots):
    term = rcs_term("x", knots)
    variable, back = parse_rcs_term(term)
    assert variable == "x"
    if np.ndim(knots) == 0:
        assert back == knots
    else:
        assert [float(v) for v in back] == [float(v) for v in knots]          # exact doubles
    df = pd.DataFrame({"x": np.linspace(-5, 30, 50)})
    info = patsy.dmatrix("0 + " + term, df, eval_env=patsy.EvalEnvironment([{"rcs": rcs}])).design_info
    assert list(info.term_name_slices) == [term]                               # patsy's own spelling
    assert rcs_term("age", 4) == "rcs(age, 4)"
    assert rcs_term("age", [27.0, 35.0, 44.0, 59.0]) == "rcs(age, [27, 35, 44, 59])"
