"""The fitted logit against R's glm on the real data, and the failure modes."""
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.model import fit as model
from analysis.model import inference

from conftest import LINEAR_TERMS, PREDICTORS

REL = 1e-6


def r_name(term: str) -> str:
    """statsmodels' term name -> R's (treatment-coded factor levels, yes/no factors)."""
    if term == "Intercept":
        return "(Intercept)"
    if term.startswith("C("):
        var, level = term[2:].split(")[T.")
        return var + level.rstrip("]")
    return {"default_yes": "defaultyes", "returned_yes": "returnedyes", "loan_yes": "loanyes"}.get(term, term)


@pytest.fixture(scope="module")
def full_fit(real_clean):
    return model.fit_logit(real_clean, "flag", LINEAR_TERMS)


def test_coefficients_match_r(full_fit, r_reference):
    ref = r_reference["1_full_model"]["coefficients"]
    table = model.tidy(full_fit)
    assert len(table) == len(ref) == 20
    for row in table.itertuples():
        r = ref[r_name(row.term)]
        for ours, theirs in [(row.estimate, r["estimate"]), (row.std_error, r["std_error"]),
                             (row.statistic, r["z_value"]), (row.conf_low, r["wald_ci_lower"]),
                             (row.conf_high, r["wald_ci_upper"]), (row.odds_ratio, r["odds_ratio"]),
                             (row.or_conf_low, r["or_wald_ci_lower"]), (row.or_conf_high, r["or_wald_ci_upper"])]:
            assert ours == pytest.approx(theirs, rel=REL), row.term
        assert row.p_value == pytest.approx(r["p_value"], rel=1e-5), row.term


def test_fit_statistics_match_r(full_fit, r_reference):
    fit, lr = r_reference["1_full_model"]["fit"], r_reference["1_full_model"]["lr_test_vs_null"]
    g = model.glance(full_fit)
    assert g["n_obs"] == fit["nobs"] and g["events"] == 2961
    assert g["llf"] == pytest.approx(fit["logLik"], rel=REL)
    assert g["aic"] == pytest.approx(fit["AIC"], rel=REL)
    assert g["bic"] == pytest.approx(fit["BIC"], rel=REL)
    assert -2 * g["llnull"] == pytest.approx(fit["null_deviance"], rel=REL)
    assert g["lr_chi2"] == pytest.approx(lr["chisq"], rel=REL) and g["lr_df"] == lr["df"]
    assert g["pseudo_r2"] == pytest.approx(1 - fit["deviance"] / fit["null_deviance"], rel=REL)


def test_type3_matches_r_drop1(full_fit, r_reference):
    ref = r_reference["1_full_model"]["drop1_LRT"]
    t3 = inference.type3_tests(full_fit).set_index("term")
    names = {"C(job)": "job", "C(marriage)": "marriage", "default_yes": "default",
             "returned_yes": "returned", "loan_yes": "loan"}
    assert len(t3) == len(ref) - 1
    for term, row in t3.iterrows():
        r = ref[names.get(term, term)]
        assert row["df"] == r["Df"]
        assert row["lr_chi2"] == pytest.approx(r["LRT"], rel=REL)
        assert row["p_value"] == pytest.approx(r["Pr(>Chi)"], rel=1e-5)
        assert row["aic_without"] == pytest.approx(r["AIC"], rel=REL)


def test_marginal_effects_equal_get_margeff_and_a_hand_computation(full_fit, real_clean):
    """0/1 and whole-number variables: statsmodels' get_margeff(dummy=True, count=True) (1e-8, estimates
    and SEs). Categorical levels: the change from the baseline to the level with every row set to each,
    from statsmodels' own predict on changed frames (1e-10); its SE by a finite-difference delta method."""
    me = inference.marginal_effects(full_fit).set_index("term")
    sm = full_fit.get_margeff(dummy=True, count=True).summary_frame()
    for term in ("age", "default_yes", "returned_yes", "loan_yes", "coupon_used_in_last6_month",
                 "coupon_used_in_last_month"):
        assert me.loc[term, "ame"] == pytest.approx(sm.loc[term, "dy/dx"], rel=1e-8), term
        assert me.loc[term, "std_error"] == pytest.approx(sm.loc[term, "Std. Err."], rel=1e-8), term
    assert me.loc["returned_yes", "kind"] == "discrete change: 0 to 1"
    assert me.loc["age", "kind"].startswith("discrete change: per unit")
    import patsy

    beta = full_fit.params.copy()
    info = full_fit.model.data.model_spec

    def level_change(b, level):
        x1 = np.asarray(patsy.build_design_matrices([info], real_clean.assign(job=level))[0])
        x0 = np.asarray(patsy.build_design_matrices([info], real_clean.assign(job="admin."))[0])
        return float(np.mean(full_fit.model.predict(b, x1) - full_fit.model.predict(b, x0)))

    term = "C(job)[T.retired]"
    assert me.loc[term, "kind"] == "discrete change: level vs baseline"
    assert me.loc[term, "ame"] == pytest.approx(level_change(beta.to_numpy(), "retired"), rel=1e-10)
    h = 1e-6
    grad = np.array([(level_change((beta + h * e).to_numpy(), "retired")
                      - level_change((beta - h * e).to_numpy(), "retired")) / (2 * h) for e in np.eye(len(beta))])
    se = np.sqrt(grad @ full_fit.cov_params().to_numpy() @ grad)
    assert me.loc[term, "std_error"] == pytest.approx(se, rel=1e-5)
    z = stats.norm.ppf(0.975)
    assert me["conf_low"].to_numpy() == pytest.approx(me["ame"] - z * me["std_error"], rel=1e-9)


def test_baseline_is_configurable(real_clean):
    fit = model.fit_logit(real_clean, "flag", [t if t != "C(job)" else "C(job, Treatment(reference='retired'))" for t in LINEAR_TERMS])
    names = list(fit.params.index)
    assert not any("T.retired" in n for n in names) and any("T.admin." in n for n in names)
    default = model.fit_logit(real_clean, "flag", LINEAR_TERMS)
    # re-parametrisation: same likelihood, admin. vs retired flips sign
    assert fit.llf == pytest.approx(default.llf, rel=1e-10)
    admin = [n for n in names if "T.admin." in n][0]
    assert fit.params[admin] == pytest.approx(-default.params["C(job)[T.retired]"], rel=1e-7)


def small_frame(n=400, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"x": rng.normal(size=n), "g": rng.choice(["a", "b", "c"], n)})
    df["flag"] = (rng.random(n) < 1 / (1 + np.exp(-(0.5 * df["x"] - 1)))).astype(int)
    return df


def test_level_without_events_is_named():
    df = small_frame()
    df.loc[df["g"] == "c", "flag"] = 0
    with pytest.raises(model.ModelError, match=r"C\(g\).*level 'c' has no events"):
        model.fit_logit(df, "flag", ["x", "C(g)"])


def test_complete_separation_is_named():
    df = small_frame()
    df["z"] = np.where(df["flag"] == 1, 5.0, 0.0) + np.random.default_rng(1).random(len(df))
    with pytest.raises(model.ModelError, match=r"'z' separates the response"):
        model.fit_logit(df, "flag", ["x", "z"])


def test_constant_column_is_named():
    df = small_frame().assign(k=1)
    with pytest.raises(model.ModelError, match=r"'k' is constant"):
        model.fit_logit(df, "flag", ["x", "k"])


def test_collinear_column_is_named():
    df = small_frame()
    df["x2"] = 2 * df["x"] + 1
    with pytest.raises(model.ModelError, match=r"x2"):
        model.fit_logit(df, "flag", ["x", "x2"])


def test_quasi_separation_after_fit_is_caught():
    # a dummy that is 1 only for users among a few rows: not complete separation of x alone, yet
    # the MLE diverges; the coefficient guard must fire rather than print a huge SE
    df = small_frame()
    df["d"] = 0
    df.loc[df.index[df["flag"] == 1][:5], "d"] = 1
    with pytest.raises(model.ModelError, match=r"d"):
        model.fit_logit(df, "flag", ["x", "d"])


# ------------------------------------------------------------------------------------------------
# the pattern form (binomial GLM on covariate patterns) against the rows


PATTERN_REL = 1e-8


@pytest.fixture(scope="module")
def real_patterns(real_clean):
    from analysis.read import patterns

    return patterns.from_rows(real_clean, np.zeros(len(real_clean), dtype=bool), PREDICTORS, "flag")


@pytest.fixture(scope="module")
def pattern_fit(real_patterns):
    return model.fit_logit(real_patterns, "events", LINEAR_TERMS, trials="trials")


def test_pattern_fit_is_the_glm_stepwise_refits(real_patterns, pattern_fit):
    from analysis.model.selection import stepwise

    selection = stepwise(real_patterns, "events", LINEAR_TERMS, direction="none", trials="trials")
    assert model.build_formula("events", LINEAR_TERMS, "trials") == selection.formula
    assert model.is_pattern_fit(pattern_fit) and pattern_fit.nobs == len(real_patterns)
    np.testing.assert_allclose(pattern_fit.params, selection.model.params, rtol=PATTERN_REL)


def test_pattern_tidy_equals_rows(full_fit, pattern_fit):
    rows, pats = model.tidy(full_fit), model.tidy(pattern_fit)
    assert pats["term"].tolist() == rows["term"].tolist()
    pd.testing.assert_frame_equal(pats, rows, rtol=PATTERN_REL, atol=0)


def test_pattern_glance_equals_rows(full_fit, pattern_fit):
    rows, pats = model.glance(full_fit), model.glance(pattern_fit)
    assert rows.keys() == pats.keys()
    for key in rows:
        rel = 1e-8 if key == "lr_p" else 1e-10  # a p-value of 5e-300 moves by 0.5 * (change of chi2)
        assert pats[key] == pytest.approx(rows[key], rel=rel), key
    # the Bernoulli log-likelihood of the rows, not GLM's (which adds the log binomial coefficients)
    assert pats["llf"] == pytest.approx(full_fit.llf, rel=1e-10) and pattern_fit.llf != pytest.approx(pats["llf"])
    assert pats["aic"] == pytest.approx(full_fit.aic, rel=1e-10)
    assert pats["bic"] == pytest.approx(full_fit.bic, rel=1e-10)


def test_null_loglik_closed_form(full_fit, r_reference):
    fit = r_reference["1_full_model"]["fit"]
    g = model.glance(full_fit)
    # R's glm: null deviance = -2 * the intercept-only maximum
    assert -2 * g["llnull"] == pytest.approx(fit["null_deviance"], rel=1e-12)
    # statsmodels' llnull is a numerical optimum (Nelder-Mead, then BFGS): at most as high, and close
    assert full_fit.llnull <= g["llnull"] and full_fit.llnull == pytest.approx(g["llnull"], rel=1e-10)
    assert model.null_loglik(0, 5) == 0.0 and model.null_loglik(5, 5) == 0.0
    assert model.null_loglik(1, 4) == pytest.approx(np.log(0.25) + 3 * np.log(0.75), rel=1e-15)


def test_pattern_type3_equals_rows(full_fit, pattern_fit):
    pd.testing.assert_frame_equal(inference.type3_tests(pattern_fit), inference.type3_tests(full_fit),
                                  rtol=PATTERN_REL, atol=0)


def test_pattern_marginal_effects_equal_rows(full_fit, pattern_fit):
    pats = inference.marginal_effects(pattern_fit)
    pd.testing.assert_frame_equal(pats, inference.marginal_effects(full_fit), rtol=1e-10, atol=1e-15)


def test_pattern_gvif_equals_rows(full_fit, pattern_fit):
    from analysis.model.inference import gvif_from_results

    pd.testing.assert_frame_equal(gvif_from_results(pattern_fit), gvif_from_results(full_fit),
                                  rtol=PATTERN_REL, atol=0)


def test_pattern_prediction_is_the_fitted_p(full_fit, pattern_fit, real_patterns):
    p = model.predict_by_pattern(pattern_fit, real_patterns)
    np.testing.assert_allclose(p, pattern_fit.fittedvalues, rtol=1e-14)
    np.testing.assert_allclose(p, np.asarray(full_fit.predict(real_patterns)), rtol=1e-11)


def test_pattern_summary_equals_rows(full_fit, pattern_fit):
    from analysis.model.fit import undated

    rows = undated(model.summary_text(full_fit))
    pats = undated(model.summary_text(pattern_fit, yname="flag"))
    body, note = pats.rsplit("\n\n", 1)
    assert body == rows
    assert note.startswith("Fitted as a binomial GLM on 12,300 covariate patterns standing for 25,317 rows")


def as_patterns(df, columns):
    """Pattern form of a small frame: trials and events per distinct combination of ``columns``."""
    return df.groupby(columns, as_index=False).agg(trials=("flag", "size"), events=("flag", "sum"))


def error_message(data, response, terms, **kw) -> str:
    with pytest.raises(model.ModelError) as info:
        model.fit_logit(data, response, terms, **kw)
    return str(info.value)


@pytest.mark.parametrize("case", ["level", "constant", "separation", "collinear", "quasi"])
def test_pattern_failure_modes_are_named_as_on_rows(case):
    df = small_frame()
    df["x"] = df["x"].round(1)            # so that patterns repeat
    if case == "level":
        df.loc[df["g"] == "c", "flag"] = 0
        terms, expected = ["x", "C(g)"], rf"C\(g\).*level 'c' has no events \({(df['g'] == 'c').sum():,} rows\)"
    elif case == "constant":
        df, terms, expected = df.assign(k=1), ["x", "k"], r"'k' is constant \(1 in all 400 rows\)"
    elif case == "separation":
        df = df.assign(z=np.where(df["flag"] == 1, 5, 0) + (df.index % 3))
        terms, expected = ["x", "z"], r"'z' separates the response completely \(rows without the event 0..2, with it 5..7\)"
    elif case == "collinear":
        df, terms, expected = df.assign(x2=2 * df["x"] + 1), ["x", "x2"], r"Column 'x2' is a linear combination"
    else:
        df = df.assign(d=0)
        df.loc[df.index[df["flag"] == 1][:5], "d"] = 1
        terms, expected = ["x", "d"], r"did not converge"
    columns = [model.term_column(t) for t in terms]
    on_rows = error_message(df, "flag", terms)
    on_patterns = error_message(as_patterns(df, columns), "events", terms, trials="trials")
    assert on_patterns == on_rows
    assert re.search(expected, on_patterns), on_patterns


def test_pattern_counts_are_checked():
    df = as_patterns(small_frame().round(1), ["x"])
    with pytest.raises(model.ModelError, match="0 <= events <= trials"):
        model.fit_logit(df.assign(events=-1), "events", ["x"], trials="trials")


def test_public_functions_run_with_one_blas_thread(monkeypatch):
    """analysis.stepwise and model.fit_logit limit BLAS threads themselves, not only the CLI: the
    thread count is read inside the selection loop and inside statsmodels' fit."""
    from threadpoolctl import threadpool_info, threadpool_limits

    import analysis
    from analysis.model import selection as stepwise_module

    seen = []
    original = stepwise_module._select_ic

    def spy(*args, **kwargs):
        seen.append({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"})
        return original(*args, **kwargs)

    monkeypatch.setattr(stepwise_module, "_select_ic", spy)
    df = small_frame()
    with threadpool_limits(limits=2, user_api="blas"):     # what the caller has: more than one thread
        analysis.stepwise(df, "flag", ["x", "C(g)"])
    assert seen == [{1}]
    import statsmodels.discrete.discrete_model as dm

    fit_seen = []
    original_fit = dm.Logit.fit

    def fit_spy(self, *args, **kwargs):
        fit_seen.append({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"})
        return original_fit(self, *args, **kwargs)

    monkeypatch.setattr(dm.Logit, "fit", fit_spy)
    with threadpool_limits(limits=2, user_api="blas"):
        model.fit_logit(df, "flag", ["x"])
    assert fit_seen and all(s == {1} for s in fit_seen)


def test_patsy_fast_path_gives_the_same_design():
    """analysis.model.patsy_speed: a boxed pandas Categorical (C(x, Treatment(...)) of a Categorical column)
    read by its codes gives the same design matrix as patsy's own cell-by-cell loop on the text column,
    for text and integer levels and with the reference level moved; missing values are still refused."""
    import patsy
    import patsy.build
    from analysis.model import patsy_speed

    rng = np.random.default_rng(5)
    n = 2000
    text = pd.Series(rng.choice(["b", "a", "c", "d e"], n))
    counts = pd.Series(rng.integers(0, 5, n))
    frame = pd.DataFrame({"t": text, "k": counts, "x": rng.normal(size=n)})
    cats = frame.assign(t=pd.Categorical(text, categories=sorted(text.unique())),
                        k=pd.Categorical(counts, categories=sorted(counts.unique())))
    formula = "C(t, Treatment(reference='c')) + C(k) + C(t):x"
    assert patsy.build.categorical_to_int is patsy_speed._original  # patsy as it is outside the package's builds
    with patsy_speed.fast_categoricals():
        assert patsy.build.categorical_to_int is patsy_speed.categorical_to_int
        fast = patsy.dmatrix(formula, cats, return_type="dataframe")
    assert patsy.build.categorical_to_int is patsy_speed._original
    slow = patsy.dmatrix(formula, frame, return_type="dataframe")
    pd.testing.assert_frame_equal(fast, slow)
    assert fast.shape == (n, 1 + 3 + 4 + 4)
    holes = cats.assign(t=cats["t"].astype(object).where(np.arange(n) != 7))
    holes["t"] = pd.Categorical(holes["t"], categories=sorted(text.unique()))
    with pytest.raises(patsy.PatsyError), patsy_speed.fast_categoricals():
        patsy.dmatrix(formula, holes, NA_action="raise")


def test_binomial_glm_has_statsmodels_degrees_of_freedom(real_patterns, pattern_fit):
    """BinomialGLM finds the design's rank by a Gram matrix where that settles it: df_model, df_resid and wnobs
    equal statsmodels' GLM (an SVD) on the full-rank pattern design and on a deficient one (which falls back
    to statsmodels' own initialize); the pattern fit is started at the package's Newton estimate, so
    statsmodels' Newton stops after its first step, at the same estimates as from zero (1e-8)."""
    import statsmodels.api as sm

    formula = model.build_formula("events", LINEAR_TERMS, "trials")
    for data in (real_patterns, real_patterns.assign(age2=2 * real_patterns["age"])):
        f = formula + (" + age2" if "age2" in data else "")
        ours = model.binomial_glm(f, data)
        theirs = sm.GLM.from_formula(f, data, family=sm.families.Binomial())
        assert (ours.df_model, ours.df_resid, ours.wnobs) == (theirs.df_model, theirs.df_resid, theirs.wnobs)
        if "age2" in data:   # deficient: statsmodels' own SVD path, one column short of full rank
            assert ours.df_model == ours.exog.shape[1] - 2
    assert pattern_fit.mle_retvals["iterations"] <= 2
    from_zero = sm.GLM.from_formula(formula, real_patterns, family=sm.families.Binomial()).fit(**model.GLM_FIT_OPTIONS)
    np.testing.assert_allclose(pattern_fit.params, from_zero.params, rtol=1e-8)
    np.testing.assert_allclose(pattern_fit.bse, from_zero.bse, rtol=1e-8)
