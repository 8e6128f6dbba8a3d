"""Firth's penalised-likelihood logistic regression (analysis/firth.py).

References: tests/reference/r/firth.json, made by tests/reference/r/firth.R (R 4.2.2, brglm2 0.9):
brglm2's ``glm(method = "brglmFit", type = "AS_mean")`` on the endometrial data (quasi-complete
separation in NV), MASS's birthwt and a completely separated toy set, plus profile penalised-likelihood
intervals and penalised LR p-values computed in R by an independent route (optim on l* with the
coefficient fixed + uniroot; logistf, which reports them, is not packaged for Debian). A second
independent route for the profile is coded here with scipy.optimize (l* written out again, numerical
gradients, a grid + brentq).
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import optimize, special, stats

from analysis.model.design import design_matrix
from analysis.model.firth import FirthConvergenceError, FirthResult, fit_firth

HERE = Path(__file__).resolve().parents[1]
REF = json.loads((HERE / "reference" / "r" / "firth.json").read_text())
PUBLIC = HERE / "data" / "public"

ENDO_TERMS = ["NV", "PI", "EH"]
BIRTHWT_TERMS = ["age", "lwt", "C(race)", "smoke", "ptl", "ht", "ui", "ftv"]


def _endometrial():
    return pd.read_csv(PUBLIC / "endometrial.csv")


def _birthwt():
    return pd.read_csv(PUBLIC / "birthwt.csv")


def _toy():
    return pd.DataFrame(REF["toy"]["data"])


CASES = {
    "endometrial": (_endometrial, "HG", ENDO_TERMS),
    "birthwt": (_birthwt, "low", BIRTHWT_TERMS),
    "toy": (_toy, "y", ["x"]),
}


def _r_name(name: str) -> str:
    """R's model.matrix column name -> patsy's."""
    if name == "(Intercept)":
        return "Intercept"
    if name.startswith("factor(race)"):
        return f"C(race)[T.{name[len('factor(race)'):]}]"
    return name


@pytest.fixture(scope="module")
def fits() -> dict[str, FirthResult]:
    out = {}
    for name, (load, response, terms) in CASES.items():
        out[name] = fit_firth(load(), response, terms)
    return out


def _ref_series(name: str, key: str, sub: str | None = None) -> pd.Series:
    ref = REF[name]
    values = ref[sub][key] if sub else ref[key]
    return pd.Series(values, index=[_r_name(c) for c in ref["columns"]], dtype=float)


def _rel(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


# ------------------------------------------------------------------------------------------ brglm2


@pytest.mark.parametrize("name", list(CASES))
def test_estimates_and_ses_equal_brglm2(fits, name):
    res = fits[name]
    ref = REF[name]
    assert sorted(res.column_names) == sorted(_r_name(c) for c in ref["columns"])
    order = res.column_names
    assert _rel(res.params, _ref_series(name, "coefficients")[order]) < 1e-6     # observed ~5e-11
    assert _rel(res.bse, _ref_series(name, "std_errors")[order]) < 1e-6          # observed ~7e-12
    assert _rel(res.tvalues, _ref_series(name, "z")[order]) < 1e-6
    assert _rel(res.pvalues, _ref_series(name, "p_wald")[order]) < 1e-6
    r_cols = [_r_name(c) for c in ref["columns"]]
    V = pd.DataFrame(ref["vcov"], index=r_cols, columns=r_cols).loc[order, order]
    np.testing.assert_allclose(res.cov_params().to_numpy(), V.to_numpy(), rtol=1e-6,
                               atol=1e-9 * np.abs(V.to_numpy()).max())
    assert res.llf == pytest.approx(ref["loglik_penalized"], rel=1e-8)
    assert res.llf_unpenalized == pytest.approx(ref["loglik_unpenalized"], rel=1e-8)
    assert res.converged and res.method == "firth"
    assert res.nobs == ref["n"]


def test_wald_interval_and_attributes(fits):
    res = fits["birthwt"]
    ci = res.conf_int()
    z = stats.norm.ppf(0.975)
    np.testing.assert_allclose(ci[0], res.params - z * res.bse, rtol=1e-14)
    np.testing.assert_allclose(ci[1], res.params + z * res.bse, rtol=1e-14)
    assert list(ci.columns) == [0, 1] and list(ci.index) == res.column_names
    assert res.model_terms == BIRTHWT_TERMS
    assert res.column_names[:3] == ["Intercept", "C(race)[T.2]", "C(race)[T.3]"]    # patsy's order
    assert res.term_columns["C(race)"] == slice(1, 3)
    assert res.cov_params().shape == (10, 10)
    frame = res.summary_frame()
    assert list(frame.index) == res.column_names and frame["p_profile"].between(0, 1).all()


# ------------------------------------------------------------------------------------------ profile


@pytest.mark.parametrize("name", list(CASES))
def test_profile_intervals_and_pvalues_equal_independent_r_route(fits, name):
    res = fits[name]
    order = res.column_names
    ci = res.profile_conf_int()
    assert _rel(ci[0], _ref_series(name, "lower", "profile")[order]) < 1e-6    # observed ~1e-12
    assert _rel(ci[1], _ref_series(name, "upper", "profile")[order]) < 1e-6
    assert _rel(res.profile_pvalues(), _ref_series(name, "prob", "profile")[order]) < 1e-6


def test_endometrial_profile_matches_published_logistf_values(fits):
    """Heinze & Schemper (2002) / logistf's documentation: NV 2.93, profile 95% CI 0.61 to 7.85."""
    res = fits["endometrial"]
    assert res.params["NV"] == pytest.approx(2.929, abs=5e-4)
    lo, hi = res.profile_conf_int().loc["NV"]
    assert lo == pytest.approx(0.6097, abs=5e-4) and hi == pytest.approx(7.8546, abs=5e-4)


def _pen_loglik(beta, X, y, m):
    """l*(b) written out again, independently of analysis/firth.py."""
    eta = X @ beta
    p = special.expit(eta)
    ll = np.sum(y * special.log_expit(eta) + (m - y) * special.log_expit(-eta))
    sign, logdet = np.linalg.slogdet(X.T @ (X * (m * p * (1 - p))[:, None]))
    return ll + 0.5 * logdet if sign > 0 else -np.inf


def _brute_profile(X, y, m, j, b, start):
    free = [i for i in range(X.shape[1]) if i != j]

    def neg(g):
        beta = np.empty(X.shape[1])
        beta[j], beta[free] = b, g
        return -_pen_loglik(beta, X, y, m)

    out = optimize.minimize(neg, start[free], method="BFGS", options={"gtol": 1e-8, "maxiter": 2000})
    return -out.fun


@pytest.mark.parametrize("name,column", [("endometrial", "NV"), ("toy", "x")])
def test_profile_interval_equals_brute_force_scipy_route(fits, name, column):
    load, response, terms = CASES[name]
    data = load()
    X, cols, _ = design_matrix(data, terms)
    y = data[response].to_numpy(float)
    m = np.ones_like(y)
    res = fits[name]
    j = cols.index(column)
    b_hat = res.params.to_numpy()
    lmax = _pen_loglik(b_hat, X, y, m)
    assert lmax == pytest.approx(res.llf, rel=1e-12)
    cut = lmax - stats.chi2.ppf(0.95, 1) / 2
    f = lambda b: _brute_profile(X, y, m, j, b, b_hat) - cut
    limits = []
    for side in (-1, 1):
        grid = b_hat[j] + side * res.bse.iloc[j] * np.arange(0.0, 8.01, 1.0)
        values = [f(b) for b in grid]
        k = next(i for i, v in enumerate(values) if v < 0)
        limits.append(optimize.brentq(f, *sorted(grid[k - 1:k + 1]), xtol=1e-10))
    np.testing.assert_allclose(res.profile_conf_int().loc[column].to_numpy(), limits, rtol=1e-7)   # observed 1e-11
    lr = 2 * (lmax - _brute_profile(X, y, m, j, 0.0, b_hat))
    assert res.profile_pvalues()[column] == pytest.approx(stats.chi2.sf(lr, 1), rel=1e-7)


def test_profile_other_level_and_lazy(fits):
    data = _endometrial()
    lazy = fit_firth(data, "HG", ENDO_TERMS, profile=False, conf_level=0.9)
    ci90 = lazy.profile_conf_int()
    assert (ci90[0] > fits["endometrial"].profile_conf_int()[0]).all()
    np.testing.assert_allclose(lazy.profile_conf_int(alpha=0.05), fits["endometrial"].profile_conf_int(),
                               rtol=1e-10)
    assert lazy.conf_int().equals(lazy.conf_int(alpha=0.1))


# ------------------------------------------------------------------------------------------ patterns


def _aggregate(data, response, keys):
    g = data.groupby(keys, as_index=False).agg(events=(response, "sum"), trials=(response, "size"))
    return g.sample(frac=1.0, random_state=3).reset_index(drop=True)


@pytest.mark.parametrize("load,response,terms,keys", [
    (_birthwt, "low", ["C(race)", "smoke", "ht", "ui", "ptl"], ["race", "smoke", "ht", "ui", "ptl"]),
    (lambda: _endometrial().assign(EH=lambda d: (d["EH"] * 2).round() / 2), "HG", ["NV", "EH"], ["NV", "EH"]),
])
def test_patterns_equal_rows(load, response, terms, keys):
    rows = load()
    patterns = _aggregate(rows, response, keys)
    assert len(patterns) < len(rows)
    a = fit_firth(rows, response, terms)
    b = fit_firth(patterns, "events", terms, trials="trials")
    assert b.nobs == len(rows) and b.n_patterns == len(patterns)
    assert _rel(b.params, a.params) < 1e-10
    assert _rel(b.bse, a.bse) < 1e-10
    assert b.llf == pytest.approx(a.llf, rel=1e-12)
    assert b.llf_unpenalized == pytest.approx(a.llf_unpenalized, rel=1e-12)
    assert _rel(b.profile_conf_int(), a.profile_conf_int()) < 1e-9
    assert _rel(b.profile_pvalues(), a.profile_pvalues()) < 1e-8
    np.testing.assert_allclose(b.predict(rows), a.fittedvalues, rtol=1e-10)


def test_modified_score_is_gradient_of_penalised_loglik_for_counts():
    """U* = X'(y + h/2 - (m + h) p) for binomial counts: central differences of l* (any b, not only the
    estimate) equal the modified score the iteration uses."""
    from analysis.model.firth import _Problem

    rng = np.random.default_rng(5)
    X = np.column_stack([np.ones(40), rng.normal(size=(40, 3))])
    m = rng.integers(1, 6, size=40).astype(float)
    y = rng.binomial(m.astype(int), 0.4).astype(float)
    beta = rng.normal(scale=0.5, size=4)
    prob = _Problem(X, y, m)
    state = prob.evaluate(beta)
    assert state.lpen == pytest.approx(_pen_loglik(beta, X, y, m), rel=1e-13)
    eps = 1e-6
    numeric = [(prob.evaluate(beta + eps * e).lpen - prob.evaluate(beta - eps * e).lpen) / (2 * eps)
               for e in np.eye(4)]
    np.testing.assert_allclose(state.score, numeric, rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------------------------------------ separation


def test_ml_diverges_where_firth_is_finite(fits):
    data = _endometrial()
    X, cols, _ = design_matrix(data, ENDO_TERMS)
    y = data["HG"].to_numpy(float)
    nv = []
    for maxiter in (15, 60):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ml = sm.Logit(y, X).fit(disp=0, maxiter=maxiter, method="newton")
        assert not ml.mle_retvals["converged"] and caught        # ConvergenceWarning
        nv.append(ml.params[cols.index("NV")])
    assert nv[1] > nv[0] > 10                                    # |b_NV| keeps growing
    assert REF["endometrial"]["ml_glm"]["std_errors"][1] > 1000   # R's glm: 18.2 with SE 1716
    firth = fits["endometrial"]
    assert np.isfinite(firth.params["NV"]) and firth.params["NV"] < 4 and firth.bse["NV"] < 2
    assert np.isfinite(firth.profile_conf_int().to_numpy()).all()
    # complete separation: finite too
    assert np.all(np.isfinite(fits["toy"].params)) and abs(fits["toy"].params["x"]) < 2


# ------------------------------------------------------------------------------------------ prediction


def test_predict_new_rows_with_fitted_levels(fits):
    res = fits["birthwt"]
    data = _birthwt()
    subset = data[data["race"] == 3].head(5)                     # one level only
    np.testing.assert_allclose(res.predict(subset), res.fittedvalues.loc[subset.index], rtol=1e-12)
    row = subset.iloc[[0]]
    b = res.params
    eta = (b["Intercept"] + b["C(race)[T.3]"] + sum(b[c] * row[c].iloc[0] for c in
                                                   ["age", "lwt", "smoke", "ptl", "ht", "ui", "ftv"]))
    assert res.predict(row).iloc[0] == pytest.approx(special.expit(eta), rel=1e-12)
    with pytest.raises(ValueError):
        res.predict(subset.assign(race=4))                       # a level unseen in training
    np.testing.assert_allclose(res.predict(), res.fittedvalues)


def test_predict_text_categorical():
    rng = np.random.default_rng(11)
    n = 300
    data = pd.DataFrame({"grp": rng.choice(["b", "a", "c"], size=n), "x": rng.normal(size=n)})
    eta = -0.5 + data["x"] + data["grp"].map({"a": 0.0, "b": 0.7, "c": -0.4})
    data["y"] = rng.binomial(1, special.expit(eta))
    res = fit_firth(data, "y", ["C(grp)", "x"], profile=False)
    assert res.column_names == ["Intercept", "C(grp)[T.b]", "C(grp)[T.c]", "x"]
    new = pd.DataFrame({"grp": ["c", "c"], "x": [0.0, 1.0]})
    b = res.params
    expected = special.expit(b["Intercept"] + b["C(grp)[T.c]"] + b["x"] * new["x"])
    np.testing.assert_allclose(res.predict(new), expected, rtol=1e-12)
    new_cat = new.assign(grp=pd.Categorical(new["grp"], categories=["c", "z"]))
    np.testing.assert_allclose(res.predict(new_cat), expected, rtol=1e-12)
    with pytest.raises(ValueError):
        res.predict(pd.DataFrame({"grp": ["z"], "x": [0.0]}))


# ------------------------------------------------------------------------------------------ errors


def test_errors():
    data = _endometrial()
    with pytest.raises(FirthConvergenceError) as info:
        fit_firth(data, "HG", ENDO_TERMS, maxiter=2)
    assert isinstance(info.value, ValueError)
    with pytest.raises(ValueError):
        fit_firth(data.assign(HG=data["HG"] * 2), "HG", ENDO_TERMS)
    with pytest.raises(ValueError, match="0 <= HG <= t"):
        fit_firth(data.assign(t=0), "HG", ENDO_TERMS, trials="t")
    with pytest.raises(ValueError, match="rank"):                # collinear columns
        fit_firth(data.assign(NV2=2 * data["NV"]), "HG", ["NV", "NV2"])


def test_spline_terms_fit_and_predict():
    """A restricted cubic spline term (explicit knots, as the pipeline writes them) fits and predicts: the
    prediction of the training rows equals the fitted values, and the design equals rms's basis
    (analysis.model.splines.rcs_basis, tested against rms) with an intercept."""
    from analysis.model.splines import rcs_basis

    data = _birthwt()
    term = "rcs(age, [17, 20, 23, 28])"
    res = fit_firth(data, "low", [term, "lwt"])
    np.testing.assert_allclose(res.predict(data.head(20)), res.fittedvalues.iloc[:20], rtol=1e-12)
    basis = rcs_basis(data["age"].to_numpy(dtype=float), [17, 20, 23, 28])
    X = np.column_stack([np.ones(len(data)), basis, data["lwt"].to_numpy(dtype=float)])
    eta = X @ res.params.to_numpy()
    np.testing.assert_allclose(res.fittedvalues.to_numpy(), 1 / (1 + np.exp(-eta)), rtol=1e-10)


def test_profile_quantities_that_do_not_converge_are_nan_and_shown_as_not_computed(fits, monkeypatch):
    """A constrained fit of the profile that does not converge (found by the command-line fuzzer on a
    sparse 300-row file) leaves that limit and p-value NaN, not an exception; every other coefficient's
    interval and p-value are those of the fit without the failure (the R-checked values), and the report's
    Firth table writes "not computed" in place of the NaN while the Wald interval still stands."""
    from types import SimpleNamespace

    from analysis.present.display import firth_coefficients
    from analysis.spec import load_spec

    load, response, terms = CASES["endometrial"]
    data = load()
    ok_ci, ok_p = fits["endometrial"].profile_conf_int(), fits["endometrial"].profile_pvalues()
    failing = 1                                               # NV's column
    limit, profile = FirthResult._profile_limit, FirthResult._profile_llf

    def limit_fails(self, j, cut, side):
        if j == failing and side > 0:
            raise FirthConvergenceError("constrained fit did not converge")
        return limit(self, j, cut, side)

    def profile_fails_at_zero(self, j, value):
        if j == failing and value == 0.0:
            raise FirthConvergenceError("constrained fit did not converge")
        return profile(self, j, value)
    monkeypatch.setattr(FirthResult, "_profile_limit", limit_fails)
    monkeypatch.setattr(FirthResult, "_profile_llf", profile_fails_at_zero)
    res = fit_firth(data, response, terms)                    # (it may compute the profile quantities at once)
    ci, p = res.profile_conf_int(), res.profile_pvalues()
    assert np.isnan(ci.iloc[failing, 1]) and np.isnan(p.iloc[failing])
    assert ci.iloc[failing, 0] == ok_ci.iloc[failing, 0]
    others = [j for j in range(len(p)) if j != failing]
    pd.testing.assert_frame_equal(ci.iloc[others], ok_ci.iloc[others])
    pd.testing.assert_series_equal(p.iloc[others], ok_p.iloc[others])

    wald = res.conf_int()
    coefs = pd.DataFrame({"term": res.params.index, "estimate": res.params.to_numpy(), "std_error": res.bse.to_numpy(),
                          "odds_ratio": np.exp(res.params.to_numpy()), "or_conf_low": np.exp(wald[0].to_numpy()),
                          "or_conf_high": np.exp(wald[1].to_numpy()), "or_profile_low": np.exp(ci[0].to_numpy()),
                          "or_profile_high": np.exp(ci[1].to_numpy()), "profile_p_value": p.to_numpy()})
    view = SimpleNamespace(spec=load_spec(HERE / "specs" / "endometrial.toml"), metrics={"baselines": {}},
                           tables={"coefficients": coefs})
    table = firth_coefficients(view)
    assert table.loc[failing, "Profile 95% CI"] == "not computed"
    assert table.loc[failing, "Profile p"] == "not computed"
    assert table.loc[failing, "Wald 95% CI"] != "not computed" and "to" in table.loc[failing, "Wald 95% CI"]
    assert all("not computed" not in str(v) for j in others for v in table.loc[j])


# ----------------------------------------------------------------------------- issue 22: sparse and degenerate designs


def _sparse_level_sample(tmp_path) -> Path:
    """2,000 rows of the embedded sample spread evenly, the first with marriage 'widowed' (seen in one row):
    the case of tests/reference/r/firth_sparse.R."""
    rows = pd.read_csv(HERE.parent / "data" / "simulated_tianmao.csv", dtype=str, keep_default_na=False)
    picked = rows.iloc[[int(k * len(rows) / 2000) for k in range(2000)]].reset_index(drop=True)
    picked.loc[0, "marriage"] = "widowed"
    path = tmp_path / "sparse.csv"
    picked.to_csv(path, index=False)
    return path


def test_sparse_level_matches_brglm2(tmp_path):
    """A categorical level seen in one row, the default specification's full model on 2,000 rows (the
    command line's --firth --test-size 0 route): the scoring iteration used to alternate between two
    points of equal l* and stop with FirthConvergenceError; with the step halved where l* is flat and
    U*' I^-1 U* does not fall, and the safe start, it converges, to brglm2's estimate (AS_mean, started
    likewise; brglm2 from its default ML start diverges here)."""
    from analysis.read import read_patterns
    from analysis.spec import default_spec
    from analysis.model.terms import model_terms, resolve_knots

    ref = json.loads((HERE / "reference" / "r" / "firth_sparse.json").read_text())
    spec = default_spec()
    data = read_patterns(_sparse_level_sample(tmp_path), spec, test_size=0.0, hash_file=False)
    train = data.sample("train")
    terms, _ = model_terms(spec, data.patterns, {})
    terms, knots = resolve_knots(terms, train)
    by_var = {row["variable"]: [float(v) for v in row["knots"].split(", ")] for _, row in knots.iterrows()}
    assert by_var["age"] == pytest.approx(ref["knots"]["age"], rel=1e-12)
    assert by_var["coupons_months_2_6"] == pytest.approx(ref["knots"]["coupons_months_2_6"], rel=1e-12)
    fit = fit_firth(train, "events", terms, trials="trials", profile=False)
    assert fit.converged and fit.nobs == ref["rows"] == 2000
    X = design_matrix(train, terms)
    term_of = {"age": "rcs(age", "coupons_months_2_6": "rcs(coupons_months_2_6", "job": "C(job",
               "marriage": "C(marriage", "coupons_last_month": "C(coupons_last_month"}
    compared = 0
    for name, values in ref["terms"].items():
        estimates = np.atleast_1d(values["estimate"])
        errors = np.atleast_1d(values["std_error"])
        levels = np.atleast_1d(values["names"])
        if name == "intercept":
            ours = ["Intercept"]
        elif name in ("job", "marriage", "coupons_last_month"):
            term = next(t for t in terms if t.startswith(term_of[name]))
            ours = [f"{term}[T.{level}]" for level in levels]
        elif name in term_of:
            term = next(t for t in terms if t.startswith(term_of[name]))
            ours = X.columns[X.term_columns[term]]
        else:
            ours = [name]
        np.testing.assert_allclose(fit.params[list(ours)].to_numpy(), estimates, rtol=1e-6, atol=1e-9, err_msg=name)
        np.testing.assert_allclose(fit.bse[list(ours)].to_numpy(), errors, rtol=1e-6, atol=1e-9, err_msg=name)
        compared += len(ours)
    assert compared == len(fit.params) == 28
    widowed = next(c for c in fit.params.index if c.endswith("[T.widowed]"))
    assert abs(fit.params[widowed] - 1.48333353179241) < 1e-6


@pytest.mark.parametrize("n", [2, 6, 200])
def test_rank_deficient_design_exits_2_with_advice(tmp_path, capsys, n):
    """Identical predictors, alternating response (200, 6 and 2 rows): the design has rank 1, which no
    penalty identifies. FirthDesignError names the column; the command line exits 2 (it was a ValueError,
    exit 1)."""
    from analysis.cli import main
    from analysis.model.firth import FirthDesignError

    header = ("ID,age,job,marriage,default,returned,loan,coupon_used_in_last6_month,coupon_used_in_last_month,"
              "coupon_ind")
    path = tmp_path / "same.csv"
    path.write_text("\n".join([header, *(f"{i},40,admin.,married,no,yes,no,2,0,{i % 2}" for i in range(1, n + 1))]))
    code = main(["fit", "--data", str(path), "--out", str(tmp_path / "out"), "--quiet", "--select", "none", "--firth",
                 "--bootstrap", "0", "--test-size", "0"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    assert "Column 'age' is constant or a linear combination" in err and "Remove the term" in err, err
    X = np.column_stack([np.ones(4), np.ones(4), [0.0, 1, 0, 1]])
    with pytest.raises(FirthDesignError, match="Column 'x' is constant"):
        fit_firth(pd.DataFrame({"y": [0, 1, 1, 0], "x": X[:, 1], "z": X[:, 2]}), "y", ["x", "z"])
