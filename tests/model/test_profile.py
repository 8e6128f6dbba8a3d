"""Profile-likelihood intervals against exact roots computed in R, statsmodels' constrained fits, a scipy brute
force and R's confint(glm) (MASS, to its interpolation error); patterns against rows; the size limit."""
import json
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import optimize, stats
from scipy.special import expit

from analysis.model.fit import fit_logit, tidy
from analysis.model.profile import PROFILE_COLUMNS, ProfileTooLarge, profile_conf_int, profile_size
from analysis.read.patterns import from_rows

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "tests" / "reference" / "r"
EXACT = json.loads((REFERENCE / "profile_exact.json").read_text())
CUT = stats.norm.ppf(0.975)
SEX, CLASS = "C(sex, Treatment(reference='male'))", "C(passengerClass, Treatment(reference='3rd'))"


@pytest.fixture(scope="module")
def titanic():
    """glm(survived ~ sex + passengerClass + age) on the 1,046 complete cases: (row fit, pattern fit, rows)."""
    rows = pd.read_csv(ROOT / "tests" / "data" / "public" / "titanic.csv").dropna()
    rows["survived"] = (rows["survived"] == "yes").astype(int)
    patterns = from_rows(rows, np.zeros(len(rows), bool), ["sex", "passengerClass", "age"], "survived")
    patterns = patterns.drop(columns="sample")
    terms = [SEX, CLASS, "age"]
    return fit_logit(rows, "survived", terms), fit_logit(patterns, "events", terms, trials="trials"), rows


def limits(table):
    return table[["profile_conf_low", "profile_conf_high"]].to_numpy()


def r_limits(section):
    ref = EXACT[section]
    return np.column_stack([ref["lower"], ref["upper"]]), np.column_stack(
        [ref["mass_confint"]["lower"], ref["mass_confint"]["upper"]])


def test_titanic_equals_exact_roots_in_r_and_patterns_equal_rows(titanic):
    """Against R's exact roots (glm.fit with the coefficient as an offset + uniroot, tests/reference/r/
    profile_exact.json): 1e-8 relative (observed 4e-14); the pattern fit (332 patterns) equals the row fit
    (1e-9; observed 3e-14); the Wald columns equal tidy's."""
    on_rows, on_patterns, _ = titanic
    table = profile_conf_int(on_patterns)
    assert list(table.columns) == PROFILE_COLUMNS
    exact, _ = r_limits("titanic")
    assert EXACT["titanic"]["term"] == ["(Intercept)", "sexfemale", "passengerClass1st", "passengerClass2nd", "age"]
    np.testing.assert_allclose(limits(table), exact, rtol=1e-8)
    np.testing.assert_allclose(limits(profile_conf_int(on_rows)), limits(table), rtol=1e-9)
    wald = tidy(on_patterns)
    np.testing.assert_allclose(table[["conf_low", "conf_high"]], wald[["conf_low", "conf_high"]], rtol=1e-12)
    np.testing.assert_allclose(table[["or_profile_low", "or_profile_high"]], np.exp(limits(table)), rtol=1e-14)


def test_titanic_mass_confint_to_its_interpolation_error(titanic):
    """R's confint(glm) (MASS:::confint.glm; tests/reference/r/titanic.json section e) interpolates a spline
    through a profile grid: it is within 1e-4 relative of our limits (observed 9e-6), and the exact roots in R
    are as far from it as ours (the difference is MASS's, not ours)."""
    _, on_patterns, _ = titanic
    ref = json.loads((REFERENCE / "titanic.json").read_text())["e_profile_ci"]
    mass = np.column_stack([ref["lower"], ref["upper"]])
    ours = limits(profile_conf_int(on_patterns))
    np.testing.assert_allclose(ours, mass, rtol=1e-4)
    exact, mass_again = r_limits("titanic")
    np.testing.assert_allclose(mass_again, mass, rtol=1e-12)
    np.testing.assert_allclose(np.abs(ours - mass), np.abs(exact - mass), rtol=1e-3, atol=1e-12)
    np.testing.assert_allclose(profile_conf_int(on_patterns)[["conf_low", "conf_high"]],
                               np.column_stack([ref["wald_lower"], ref["wald_upper"]]), rtol=1e-8)


def bernoulli_loglik(X, y, beta):
    eta = X @ beta
    return float(y @ eta - np.logaddexp(0.0, eta).sum())


def test_limits_are_roots_by_statsmodels_fit_constrained(titanic):
    """At each limit, statsmodels' GLM fit_constrained (b_j fixed at the limit; an independent constrained
    fit) gives 2 (l^ - l_j) = qnorm(0.975)^2 to 1e-8 relative (observed 1e-13): the limits sit on the cut."""
    on_rows, on_patterns, rows = titanic
    X = np.asarray(on_rows.model.exog)
    y = rows["survived"].to_numpy(dtype=float)
    llf = bernoulli_loglik(X, y, on_rows.params.to_numpy())
    glm = sm.GLM(y, X, family=sm.families.Binomial())
    table = profile_conf_int(on_patterns)
    for j in range(X.shape[1]):
        for limit in limits(table)[j]:
            R = np.zeros((1, X.shape[1]))
            R[0, j] = 1.0
            fit = glm.fit_constrained((R, np.array([limit])), start_params=on_rows.params.to_numpy())
            lr = 2 * (llf - bernoulli_loglik(X, y, np.asarray(fit.params)))
            assert lr == pytest.approx(CUT**2, rel=1e-8), (j, limit)


def test_limits_equal_a_scipy_brute_force(titanic):
    """Independent route: the constrained maximum by scipy.optimize.minimize (trust-exact, analytic gradient
    and Hessian, gtol 1e-12) over the free coefficients, and the root of the signed root deviance by brentq
    (xtol 1e-13) in a bracket 0.5 to 2 Wald half-widths: 1e-7 relative (observed 2e-14)."""
    on_rows, on_patterns, rows = titanic
    X = np.asarray(on_rows.model.exog)
    y = rows["survived"].to_numpy(dtype=float)
    b_hat, se = on_rows.params.to_numpy(), on_rows.bse.to_numpy()
    llf = bernoulli_loglik(X, y, b_hat)

    def signed_root(j, b):
        free = np.arange(X.shape[1]) != j
        Xf, offset = X[:, free], X[:, j] * b

        def negative(c):
            eta = Xf @ c + offset
            p = expit(eta)
            return (-(y @ eta - np.logaddexp(0, eta).sum()), -(Xf.T @ (y - p)), (Xf.T * (p * (1 - p))) @ Xf)

        res = optimize.minimize(lambda c: negative(c)[0], b_hat[free], jac=lambda c: negative(c)[1],
                                hess=lambda c: negative(c)[2], method="trust-exact", options={"gtol": 1e-12})
        return np.sign(b - b_hat[j]) * np.sqrt(max(0.0, 2 * (llf + res.fun)))

    ours = limits(profile_conf_int(on_patterns))
    for j in range(X.shape[1]):
        for k, side in enumerate((-1, 1)):
            a, b = sorted((b_hat[j] + side * 0.5 * CUT * se[j], b_hat[j] + side * 2 * CUT * se[j]))
            root = optimize.brentq(lambda v: signed_root(j, v) - side * CUT, a, b, xtol=1e-13, rtol=1e-14)
            assert ours[j, k] == pytest.approx(root, rel=1e-7), (j, side)


def coupon_name(r_term: str) -> str:
    """R's coefficient name in tmall_interactions.R / profile_exact.R -> the package's (patsy's)."""
    if r_term == "(Intercept)":
        return "Intercept"
    rules = [(r"rcs\(age, 5\)age('*)$", lambda m: f"rcs(age, [27, 33, 39, 47, 59])[{len(m[1])}]"),
             (r"rcs\(coupons_months_2_6, 3\)coupons_months_2_6('*)$",
              lambda m: f"rcs(coupons_months_2_6, [0, 2, 5])[{len(m[1])}]"),
             (r"job(.+)$", lambda m: f"C(job, Treatment(reference='blue-collar'))[T.{m[1]}]"),
             (r"marriage(.+)$", lambda m: f"C(marriage, Treatment(reference='married'))[T.{m[1]}]"),
             (r"coupons_last_month(.+)$", lambda m: f"C(coupons_last_month)[T.{m[1]}]")]
    for pattern, name in rules:
        m = re.match(pattern, r_term)
        if m:
            return name(m)
    return f"{r_term}_yes"


def test_coupon_model_equals_exact_roots_and_mass_to_its_error(real_data_path):
    """The default model on all 25,317 rows as 12,300 patterns (27 coefficients): the exact roots in R
    (profile_exact.json) to 1e-8 relative (observed 3e-12); R's confint(glm) (tests/reference/r/
    tmall_interactions.json, M0) to 5e-4 (observed 1.6e-4, on limits near 0; 7.5e-5 standard errors at most:
    MASS's spline interpolation), with R's exact roots as far from MASS as ours. Time: about 1.7 s (printed)."""
    from analysis.model.terms import model_terms, resolve_knots
    from analysis.read import read_patterns
    from analysis.spec import default_spec

    spec = default_spec()
    table = read_patterns(real_data_path, spec, seed=100, test_size=0.0).sample("train")
    terms, _ = resolve_knots(model_terms(spec, table)[0], table)
    fit = fit_logit(table, "events", terms, trials="trials")
    assert profile_size(fit) == 12300 * 27
    start = time.perf_counter()
    ours = profile_conf_int(fit).set_index("term")
    print(f"profile_conf_int on {len(table):,} patterns x 27 coefficients: {time.perf_counter() - start:.2f} s")
    ref = EXACT["coupon_M0"]
    ours = limits(ours.loc[[coupon_name(t) for t in ref["term"]]])
    exact, _ = r_limits("coupon_M0")
    np.testing.assert_allclose(ours, exact, rtol=1e-8)
    m0 = json.loads((REFERENCE / "tmall_interactions.json").read_text())["M0"]["profile_ci"]
    assert m0["term"] == ref["term"]
    mass = np.column_stack([m0["lower"], m0["upper"]])
    np.testing.assert_allclose(ours, mass, rtol=5e-4)
    np.testing.assert_allclose(np.abs(ours - mass), np.abs(exact - mass), rtol=1e-2, atol=1e-10)


def test_size_limit():
    """profile_size is patterns x coefficients; above max_size ProfileTooLarge (a ValueError) names both."""
    table = pd.DataFrame({"x": [0, 1, 2], "events": [3, 6, 8], "trials": [10, 10, 10]})
    fit = fit_logit(table, "events", ["x"], trials="trials")
    assert profile_size(fit) == 6
    with pytest.raises(ProfileTooLarge, match=r"3 patterns x 2 coefficients = 6 > max_size = 5"):
        profile_conf_int(fit, max_size=5)
    assert len(profile_conf_int(fit, max_size=None)) == 2
    with pytest.raises(ValueError, match="conf_level"):
        profile_conf_int(fit, conf_level=1.0)


def test_fit_method_delegates(titanic):
    """Fit.profile_conf_int() is profile_conf_int(fit.results), with max_size passed on; a Firth fit has none
    here (ValueError: its own profile penalised-likelihood limits are in its tidy)."""
    from analysis.model.firth import firth_fit
    from analysis.model.fit import Fit

    _, on_patterns, _ = titanic
    data = on_patterns.model.data.frame
    terms = (SEX, CLASS, "age")
    wrapped = Fit(on_patterns, data=data, terms=terms, candidates=terms, knots=pd.DataFrame(), baselines={})
    pd.testing.assert_frame_equal(wrapped.profile_conf_int(), profile_conf_int(on_patterns))
    with pytest.raises(ProfileTooLarge):
        wrapped.profile_conf_int(max_size=100)
    firth = firth_fit(data, list(terms), knots=pd.DataFrame(), baselines={})
    with pytest.raises(ValueError, match="maximum-likelihood"):
        firth.profile_conf_int()
