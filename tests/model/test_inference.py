"""Tests of analysis.model.inference against R's car::vif, R's hand GVIF, statsmodels and closed forms."""
import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from statsmodels.stats.outliers_influence import variance_inflation_factor

from analysis.model.inference import gvif, gvif_from_results

FULL_FORMULA = (
    "flag ~ age + C(job) + C(marriage) + default_yes + returned_yes + loan_yes"
    " + coupon_used_in_last6_month + coupon_used_in_last_month"
)
#: R's term labels (full model in r_full_data.R) -> statsmodels' term names
R_TO_SM = {
    "age": "age", "job": "C(job)", "marriage": "C(marriage)", "default": "default_yes",
    "returned": "returned_yes", "loan": "loan_yes",
    "coupon_used_in_last6_month": "coupon_used_in_last6_month",
    "coupon_used_in_last_month": "coupon_used_in_last_month",
}
R_TOL = 1e-6


def fit(formula, data):
    return smf.logit(formula, data).fit(method="newton", tol=1e-12, maxiter=100, disp=0)


@pytest.fixture(scope="module")
def full(real_clean):
    return fit(FULL_FORMULA, real_clean)


def _r_table(block):
    return pd.DataFrame(
        [{"term": R_TO_SM[k], "df": v["Df"], "gvif": v["GVIF"], "gvif_adj": v["GVIF^(1/(2*Df))"]}
         for k, v in block.items()]
    ).set_index("term")


def test_gvif_matches_car_vif_on_full_model(full, r_reference):
    ours = gvif_from_results(full)
    assert list(ours.columns) == ["term", "df", "gvif", "gvif_adj"]
    ref = _r_table(r_reference["3_vif"]["car_vif"])
    assert sorted(ours["term"]) == sorted(ref.index)
    ours = ours.set_index("term").loc[ref.index]
    assert ours["df"].tolist() == ref["df"].tolist()
    np.testing.assert_allclose(ours["gvif"], ref["gvif"], rtol=R_TOL, atol=0)
    np.testing.assert_allclose(ours["gvif_adj"], ref["gvif_adj"], rtol=R_TOL, atol=0)


def test_gvif_on_model_matrix_correlation_matches_R_hand_and_statsmodels(full, r_reference):
    """Fox & Monette on cor(model matrix), R's second hand computation; 1-df terms = statsmodels' VIF."""
    x = pd.DataFrame(full.model.exog, columns=full.model.exog_names)
    cov = x.drop(columns="Intercept").cov()
    cov.loc["Intercept"] = 0.0  # the intercept's row and column are dropped before use
    cov["Intercept"] = 0.0
    cov.loc["Intercept", "Intercept"] = 1.0
    cov = cov.loc[x.columns, x.columns]
    slices = full.model.data.model_spec.term_name_slices
    terms = {name: list(x.columns[s]) for name, s in slices.items()}
    ours = gvif(cov, terms).set_index("term")
    ref = _r_table(r_reference["3_vif"]["hand_gvif_model_matrix_correlation"])
    np.testing.assert_allclose(ours.loc[ref.index, "gvif"], ref["gvif"], rtol=1e-12, atol=0)
    np.testing.assert_allclose(ours.loc[ref.index, "gvif_adj"], ref["gvif_adj"], rtol=1e-12, atol=0)
    for term in ours.index[ours["df"] == 1]:
        j = list(x.columns).index(term)
        statsmodels_vif = variance_inflation_factor(x.to_numpy(), j)
        np.testing.assert_allclose(ours.loc[term, "gvif"], statsmodels_vif, rtol=1e-10, atol=0)


def test_one_df_term_in_two_term_model_is_one_over_one_minus_r_squared(real_clean):
    a, b = "coupon_used_in_last6_month", "coupon_used_in_last_month"
    res = fit(f"flag ~ {a} + {b}", real_clean)
    cov = res.cov_params()
    r = cov.loc[a, b] / np.sqrt(cov.loc[a, a] * cov.loc[b, b])
    out = gvif_from_results(res)
    assert abs(r) > 0.1  # a non-trivial check (r is about -0.23)
    np.testing.assert_allclose(out["gvif"], 1 / (1 - r**2), rtol=1e-12)
    np.testing.assert_allclose(out["gvif_adj"], np.sqrt(1 / (1 - r**2)), rtol=1e-12)
    assert out["df"].tolist() == [1, 1]


def test_gvif_closed_form_on_a_given_matrix():
    # R for (a, b1, b2): a has correlation r with b1 only; det R_bb = 1 - s^2, det R = 1 - s^2 - r^2
    r, s = 0.6, 0.3
    corr = np.array([[1, r, 0], [r, 1, s], [0, s, 1]])
    sd = np.array([2.0, 0.5, 3.0])
    cov = np.zeros((4, 4))
    cov[0, 0] = 7.0
    cov[1:, 1:] = corr * np.outer(sd, sd)
    cov[0, 1:] = cov[1:, 0] = 0.3  # intercept covariances are ignored
    names = ["Intercept", "a", "b1", "b2"]
    out = gvif(pd.DataFrame(cov, index=names, columns=names), {"a": ["a"], "b": ["b1", "b2"]})
    expected = (1 - s**2) / (1 - s**2 - r**2)
    np.testing.assert_allclose(out["gvif"], [expected, expected], rtol=1e-12)
    np.testing.assert_allclose(out["gvif_adj"], [expected**0.5, expected**0.25], rtol=1e-12)
    # 1-df: the diagonal of the inverse correlation matrix
    np.testing.assert_allclose(out["gvif"].iloc[0], np.linalg.inv(corr)[0, 0], rtol=1e-12)


def test_gvif_does_not_depend_on_factor_baseline(real_clean, full):
    other = fit(FULL_FORMULA.replace("C(job)", "C(job, Treatment('retired'))"), real_clean)
    a = gvif_from_results(full).set_index("term")
    b = gvif_from_results(other).set_index("term")
    b = b.rename(index={"C(job, Treatment('retired'))": "C(job)"})
    np.testing.assert_allclose(b.loc[a.index, "gvif"], a["gvif"], rtol=1e-7)


def test_gvif_from_results_with_the_formulaic_engine(real_clean, full):
    import statsmodels.formula

    before = statsmodels.formula.options.formula_engine
    try:
        statsmodels.formula.options.formula_engine = "formulaic"
        res = fit(FULL_FORMULA, real_clean)
    finally:
        statsmodels.formula.options.formula_engine = before
    assert type(res.model.data.model_spec).__module__.startswith("formulaic")
    pd.testing.assert_frame_equal(gvif_from_results(res), gvif_from_results(full), rtol=1e-9, atol=0)


def test_errors(real_clean):
    with pytest.raises(ValueError, match="no intercept"):
        gvif_from_results(fit("flag ~ age + loan_yes - 1", real_clean))
    with pytest.raises(ValueError, match="fewer than 2 terms"):
        gvif_from_results(fit("flag ~ C(marriage)", real_clean))
    names = ["Intercept", "a", "b"]
    cov = pd.DataFrame(np.eye(3), index=names, columns=names)
    with pytest.raises(ValueError, match="exactly one term"):
        gvif(cov, {"a": ["a"], "c": ["b", "c"]})
    with pytest.raises(ValueError, match="no intercept"):
        gvif(cov, {"a": ["a"], "b": ["b"]}, intercept="const")
    with pytest.raises(ValueError, match="singular"):
        singular = pd.DataFrame([[1, 0, 0], [0, 1, 1], [0, 1, 1]], index=names, columns=names, dtype=float)
        gvif(singular, {"a": ["a"], "b": ["b"]})
