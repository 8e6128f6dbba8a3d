"""analysis.evaluate.effects against computations written here from statsmodels alone: linearity tests (LR by
two formula fits, Wald by ``wald_test`` of the fit), inter-quartile odds ratios (linear-predictor difference of
two rows with the delta method) and effect curves (statsmodels' ``get_prediction`` on the same rows), on rows
and on the pattern table of the same rows."""
import numpy as np
import pandas as pd
import patsy
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from analysis.evaluate import effects
from analysis.model import fit as model
from analysis.model.splines import rcs  # noqa: F401 - the formulas below use rcs(...)
from analysis.read import patterns
from analysis.simulate import simulate

KNOTS = [25.0, 33.0, 41.0, 55.0]
TERMS = [f"rcs(age, {KNOTS})", "C(marriage)", "returned_yes"]


@pytest.fixture(scope="module")
def rows():
    data = simulate(6000, seed=7)
    return pd.DataFrame({"age": data["age"].astype("int64"), "marriage": data["marriage"],
                         "returned_yes": (data["returned"] == "yes").astype("int64"),
                         "flag": data["coupon_ind"].astype("int64")})


@pytest.fixture(scope="module")
def table(rows):
    return patterns.from_rows(rows, np.zeros(len(rows), bool), ["age", "marriage", "returned_yes"], "flag").drop(
        columns="sample")


@pytest.fixture(scope="module")
def pattern_fit(table):
    return model.fit_logit(table, "events", TERMS, trials="trials")


@pytest.fixture(scope="module")
def row_fit(rows):
    return smf.logit("flag ~ " + " + ".join(TERMS), rows).fit(disp=0, tol=1e-12, maxiter=100)


def test_linearity_test_of_a_spline_is_the_lr_of_two_fits_and_the_wald_of_its_columns(rows, table, pattern_fit,
                                                                                    row_fit):
    got = effects.linearity_tests(pattern_fit, table, "events", TERMS, trials="trials").set_index("variable")
    linear = smf.logit("flag ~ age + C(marriage) + returned_yes", rows).fit(disp=0, tol=1e-12, maxiter=100)
    lr = 2 * (row_fit.llf - linear.llf)
    nonlinear = [n for n in row_fit.params.index if n.startswith("rcs(") and not n.endswith("[0]")]
    wald = row_fit.wald_test(np.eye(len(row_fit.params))[[list(row_fit.params.index).index(n) for n in nonlinear]],
                             scalar=True)
    assert got.loc["age", "shape"] == "spline" and got.loc["age", "lr_df"] == 2 == len(nonlinear)
    assert got.loc["age", "lr_chi2"] == pytest.approx(lr, rel=1e-6)
    assert got.loc["age", "lr_p"] == pytest.approx(stats.chi2.sf(lr, 2), rel=1e-6)
    assert got.loc["age", "wald_chi2"] == pytest.approx(float(wald.statistic), rel=1e-6)


def test_linearity_test_of_a_linear_variable_puts_a_four_knot_spline_in_its_place(rows, table):
    linear_terms = ["age", "C(marriage)", "returned_yes"]
    fit = model.fit_logit(table, "events", linear_terms, trials="trials")
    got = effects.linearity_tests(fit, table, "events", linear_terms, trials="trials").set_index("variable")
    knots = [float(k) for k in got.loc["age", "knots"].split(", ")]
    bigger = smf.logit(f"flag ~ rcs(age, {knots}) + C(marriage) + returned_yes", rows).fit(disp=0, tol=1e-12)
    smaller = smf.logit("flag ~ " + " + ".join(linear_terms), rows).fit(disp=0, tol=1e-12)
    assert got.loc["age", "shape"] == "linear" and len(knots) == 4
    assert got.loc["age", "lr_chi2"] == pytest.approx(2 * (bigger.llf - smaller.llf), rel=1e-6)


def test_spline_effect_is_the_log_odds_difference_between_the_quartiles(rows, table, pattern_fit, row_fit):
    got = effects.spline_effects(pattern_fit, table, TERMS).set_index("variable").loc["age"]
    q1, q3 = np.quantile(rows["age"], [0.25, 0.75])     # numpy's default = R's type 7 = datadist's quartiles
    assert (got["low"], got["high"]) == (q1, q3)
    profile = {"marriage": rows["marriage"].mode()[0], "returned_yes": int(rows["returned_yes"].median())}
    two = pd.DataFrame({"age": [q3, q1], **{k: [v, v] for k, v in profile.items()}})
    X = np.asarray(patsy.build_design_matrices([row_fit.model.data.model_spec], two)[0])
    c = X[0] - X[1]
    estimate = float(c @ row_fit.params.to_numpy())
    se = float(np.sqrt(c @ row_fit.cov_params().to_numpy() @ c))
    assert got["estimate"] == pytest.approx(estimate, rel=1e-6)
    assert got["std_error"] == pytest.approx(se, rel=1e-6)
    assert got["odds_ratio"] == pytest.approx(np.exp(estimate), rel=1e-6)
    assert got["or_conf_low"] == pytest.approx(np.exp(estimate - stats.norm.ppf(0.975) * se), rel=1e-6)


def test_effect_curve_equals_statsmodels_predictions_on_the_same_rows(table, pattern_fit):
    curve = effects.effect_curve(pattern_fit, table, "age", points=40)
    profile = curve.attrs["profile"]
    frame = pd.DataFrame({"age": curve["x"], **{k: [v] * len(curve) for k, v in profile.items()}})
    frame["marriage"] = pd.Categorical(frame["marriage"], categories=sorted(table["marriage"].unique()))
    pred = pattern_fit.get_prediction(frame).summary_frame(alpha=0.05)
    np.testing.assert_allclose(curve["p"], pred["mean"], rtol=1e-10)
    np.testing.assert_allclose(curve["p_low"], pred["mean_ci_lower"], rtol=1e-8)
    np.testing.assert_allclose(curve["p_high"], pred["mean_ci_upper"], rtol=1e-8)
    assert len(curve) == 40 and curve["x"].is_monotonic_increasing
    assert profile == {"marriage": table.groupby("marriage")["trials"].sum().idxmax(),
                       "returned_yes": int(table.groupby("returned_yes")["trials"].sum().idxmax())}


def test_verbs_on_a_fit_equal_the_functions(table):
    from analysis.model.selection import SelectionSettings, select_and_fit

    fit = select_and_fit(table, TERMS, SelectionSettings(direction="none"), knots=pd.DataFrame(), baselines={})
    checks = effects.specification_checks(fit, spec=None)
    pd.testing.assert_frame_equal(checks["linearity_tests"],
                                  effects.linearity_tests(fit.results, table, "events", TERMS, trials="trials"))
    curves = effects.effect_curves(fit)
    assert list(curves) == ["age"]
    curve, profile = curves["age"]
    expected = effects.effect_curve(fit.results, table, "age")
    assert profile == expected.attrs.pop("profile")
    pd.testing.assert_frame_equal(curve, expected)
