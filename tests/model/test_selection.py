"""Tests of analysis.model.design and analysis.stepwise against independent computations.

References (none is output of this package):
  * R 4.2.2 `step()` on the real data: /work/shared/reference/r_full_data.json, section 2_stepwise
    (made by ../shared/reference/r_full_data.R).
  * tests/reference/stepwise_reference_R.json, made by tests/reference/stepwise_reference.R: a separate R
    implementation of the SAS PROC LOGISTIC selection rules on glm(), with add1(test = "Rao") score tests
    and coef()/vcov() Wald tests, on the SAS Remission data, a synthetic data set and the real data; also
    add1 Rao tests and car::Anova(type = 3, "Wald") on the real data.
  * SAS's Remission example (tests/reference/remission.json): the effects SAS's stepwise selection enters.
  * statsmodels: formula Logit (design, estimates), GLM score_test and wald_test_terms.
Tolerances are stated at each assertion.
"""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy.stats import chi2

from conftest import LINEAR_TERMS
import patsy

from analysis.model.design import DesignMatrix, _fast_design, _patsy_design, design_matrix, parse_term, with_categoricals
import analysis.model.selection as selection
from analysis.model.selection import PATH_COLUMNS, SeparationError, StepwiseResult, _full_column_rank, _pool_by_terms, _pool_rows, _Problem, _response_arrays, _score_tests, _wald_tests, stepwise
from analysis.model.splines import rcs_basis

REF = Path(__file__).resolve().parents[1] / "reference"
TERMS = list(LINEAR_TERMS)
RESPONSE = "flag"
# R's term names (factors made from the raw yes/no and text columns) -> ours
R_TERM = {"age": "age", "job": "C(job)", "marriage": "C(marriage)", "default": "default_yes",
          "returned": "returned_yes", "loan": "loan_yes",
          "coupon_used_in_last6_month": "coupon_used_in_last6_month",
          "coupon_used_in_last_month": "coupon_used_in_last_month",
          "g": "C(g)"}


def r_term(name):
    return R_TERM.get(name, name)


def r_coef_name(name):
    """R coefficient name ("jobblue-collar", "defaultyes", "(Intercept)") -> statsmodels/patsy name."""
    if name == "(Intercept)":
        return "Intercept"
    for factor, ours in (("job", "C(job)"), ("marriage", "C(marriage)"), ("g", "C(g)")):
        if name.startswith(factor) and name != factor:
            return f"{ours}[T.{name[len(factor):]}]"
    for yes_no in ("default", "returned", "loan"):
        if name == f"{yes_no}yes":
            return f"{yes_no}_yes"
    return name


def rel_err(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300))


@pytest.fixture(scope="module")
def sas_ref():
    return json.loads((REF / "stepwise_reference_R.json").read_text())


@pytest.fixture(scope="module")
def remission():
    return pd.read_csv(REF / "remission.csv")


@pytest.fixture(scope="module")
def synthetic():
    return pd.read_csv(REF / "synthetic_stepwise.csv")


@pytest.fixture(scope="module")
def runs(real_clean):
    """stepwise() results on the real data, computed once per (direction, criterion, extra options)."""
    cache = {}

    def get(direction, criterion, **kw):
        key = (direction, criterion, tuple(sorted(kw.items())))
        if key not in cache:
            cache[key] = stepwise(real_clean, RESPONSE, TERMS, direction=direction,
                                  criterion=criterion, **kw)
        return cache[key]
    return get


@pytest.fixture(scope="module")
def full_logit(real_clean):
    """statsmodels' formula Logit of the full model on the real data, converged tightly."""
    return smf.logit(f"{RESPONSE} ~ " + " + ".join(TERMS), real_clean).fit(disp=0, tol=1e-12, maxiter=100)


@pytest.fixture(scope="module")
def real_patterns(real_clean):
    """The real data as one row per distinct covariate pattern: events and trials."""
    cols = [c for c in real_clean.columns if c != RESPONSE]
    g = real_clean.groupby(cols, as_index=False, sort=False)[RESPONSE].agg(["sum", "size"])
    return g.rename(columns={"sum": "events", "size": "trials"})


# ------------------------------------------------------------------------------------------------ design
def test_design_matrix_equals_statsmodels_formula_exog(real_clean, full_logit):
    """Same array and names as statsmodels' own formula Logit exog (exact), intercept first."""
    X, columns, term_columns = design_matrix(real_clean, TERMS)
    mod = full_logit.model
    assert columns == list(mod.exog_names)
    np.testing.assert_array_equal(X, mod.exog)
    assert list(term_columns) == TERMS
    for term, sl in term_columns.items():
        names = columns[sl]
        if term.startswith("C("):
            assert all(n.startswith(term + "[T.") for n in names)
        else:
            assert names == [term]
    assert sum(s.stop - s.start for s in term_columns.values()) == X.shape[1] - 1


def test_design_matrix_categorical_fast_path_keeps_patsy_result(real_clean):
    """Text columns are handed to patsy as Categoricals; result equals patsy on the original columns."""
    import patsy
    part = real_clean.iloc[::5]
    X, columns, _ = design_matrix(part, ["C(job)", "age", "C(marriage)"])
    ref = patsy.dmatrix("C(job) + age + C(marriage)", part.astype({"job": object, "marriage": object}))
    np.testing.assert_array_equal(X, np.asarray(ref))
    assert columns == ref.design_info.column_names


def patsy_reference(data, terms) -> DesignMatrix:
    """The design by patsy alone, from the data as given (text as object columns, no Categoricals)."""
    data = data.astype({c: object for c in data.columns if data[c].dtype == "str"})
    parsed = [parse_term(t) for t in terms]
    dm = patsy.dmatrix(patsy.ModelDesc([], [patsy.INTERCEPT, *parsed]), data, NA_action="raise")
    slices = dm.design_info.term_name_slices
    return DesignMatrix(np.asarray(dm), dm.design_info.column_names,
                        {t: slices[p.name()] for t, p in zip(terms, parsed)})


def assert_same_design(got: DesignMatrix, ref: DesignMatrix):
    assert got.X.dtype == ref.X.dtype == np.float64
    np.testing.assert_array_equal(got.X, ref.X)                      # exact
    assert got.columns == list(ref.columns)
    assert got.term_columns == ref.term_columns
    assert list(got.term_columns) == list(ref.term_columns)


def uses_fast_path(data, terms) -> bool:
    return _fast_design(with_categoricals(data, terms), terms, [parse_term(t) for t in terms]) is not None


@pytest.mark.parametrize("terms", [
    TERMS,
    TERMS[::-1],                                                        # numerics before categoricals
    ["C(job, Treatment(reference='retired'))", "age", "C(marriage, Treatment('single'))", "loan_yes"],
    ["coupon_used_in_last_month", "C(marriage,Treatment( 'single' ))", "C(job, Treatment())"],
])
def test_design_fast_path_equals_patsy_on_real_data(real_clean, terms):
    """The numpy fast path is taken for plain numeric and treatment-coded text terms and gives exactly
    patsy's X, column names (e.g. C(job)[T.blue-collar]; categoricals first) and term slices; its X is
    column-major (documented: a term's columns are one contiguous block)."""
    assert uses_fast_path(real_clean, terms)
    got = design_matrix(real_clean, terms)
    assert_same_design(got, patsy_reference(real_clean, terms))
    assert_same_design(got, _patsy_design(real_clean, terms))
    assert got.X.flags.f_contiguous


SMALL = pd.DataFrame({
    "x": [0.5, -1.0, 2.25, 3.0, 0.0, 1.5, -2.0, 4.0],
    "n": np.array([3, 1, 4, 1, 5, 9, 2, 6], dtype=np.int64),
    "u": np.array([1, 2, 3, 4, 5, 6, 7, 8], dtype=np.uint8),
    "s": pd.array(["b", "a", "c", "b", "a", "c", "c", "a"], dtype="str"),
    "o": pd.Series(["lo", "hi", "mid", "hi", "lo", "lo", "mid", "hi"], dtype=object),
    "g": [2, 1, 3, 2, 1, 3, 3, 1],                                      # int-coded categorical
    "b": [True, False, True, True, False, False, True, False],
    "k": pd.Categorical(["p", "q", "p", "r", "q", "p", "r", "q"], categories=["r", "q", "p"]),
})


@pytest.mark.parametrize("terms,fast", [
    (["x", "C(s)", "n", "C(o)"], True),
    (["C(s, Treatment(reference='c'))", "x", "C(o, Treatment('mid'))", "u"], True),
    (["x", "C(k)", "C(k, Treatment('q'))"], True),               # user Categorical: its category order
    (["x", "C(g)", "C(s)"], False),                               # int-coded categorical: patsy
    (["x", "C(g, Treatment(reference=3))", "C(s)"], False),
    (["x", "C(s):x", "C(s)"], False),                             # interaction: patsy
    (["C(s):C(o)", "n"], False),
    (["x", "b", "C(s)"], False),                                  # bool column: patsy
    (["x", "C(b)"], False),
    (["I(x ** 2)", "x", "C(s)"], False),                          # function of a column: patsy
    (["np.log(n)", "C(s)"], False),
    (["s", "x"], False),                                          # bare text column: patsy
    (["C(s, Sum)", "x"], False),                                  # other contrast: patsy
    (["C(s, Treatment(1))", "x"], False),                         # reference by position: patsy
    (["C(s, levels=['c', 'b', 'a'])", "x"], False),
])
def test_design_fast_path_equals_patsy_on_small_frames(terms, fast):
    assert uses_fast_path(SMALL, terms) is fast
    got = design_matrix(SMALL, terms)
    assert_same_design(got, patsy_reference(SMALL, terms))
    assert_same_design(got, _patsy_design(SMALL, terms))


def test_design_fast_path_leaves_missing_values_and_name_clashes_to_patsy():
    with_nan = SMALL.assign(x=SMALL.x.where(SMALL.index != 3))
    assert not uses_fast_path(with_nan, ["x", "C(s)"])
    with pytest.raises(ValueError, match="design matrix"):
        design_matrix(with_nan, ["x", "C(s)"])
    missing_level = SMALL.assign(s=SMALL.s.where(SMALL.index != 2))
    assert not uses_fast_path(missing_level, ["x", "C(s)"])
    with pytest.raises(ValueError, match="design matrix"):
        design_matrix(missing_level, ["x", "C(s)"])
    assert not uses_fast_path(SMALL, ["C(s, Treatment('zz'))"])   # unknown level: patsy's error
    with pytest.raises(ValueError, match="design matrix"):
        design_matrix(SMALL, ["C(s, Treatment('zz'))"])
    clash = SMALL.assign(C=1.0)                                      # a column named C: patsy evaluates it
    assert not uses_fast_path(clash, ["x", "C"])


def test_design_matrix_rejects_bad_terms(real_clean):
    with pytest.raises(ValueError, match="exactly one model term"):
        design_matrix(real_clean, ["age + C(job)"])
    with pytest.raises(ValueError, match="duplicate"):
        design_matrix(real_clean, ["age", " age"])
    with pytest.raises(ValueError, match="exactly one"):
        parse_term("1")


# ------------------------------------------------------------------------------------------- Newton fit
def test_pool_rows_groups_identical_rows_by_bytes(real_clean, monkeypatch):
    """Pooling equals grouping the rows' raw bytes (pandas factorize of void rows: order of first
    appearance; 0.0 and -0.0 apart), also when the hash is forced to collide (byte fallback)."""
    def by_bytes(X):
        rows = np.ascontiguousarray(X).view(np.dtype((np.void, 8 * X.shape[1]))).ravel()
        codes, uniq = pd.factorize(rows)
        first = np.array([np.flatnonzero(codes == j)[0] for j in range(len(uniq))])
        return codes, first
    rng = np.random.default_rng(3)
    X = design_matrix(real_clean.iloc[::7], TERMS).X
    cases = [X, X[:, :4], rng.integers(0, 3, (400, 3)).astype(float),
             np.array([[1.0, 0.0], [1.0, -0.0], [1.0, 0.0], [1.0, 2.5]])]
    for case in cases:
        got, ref = _pool_rows(case), by_bytes(case)
        np.testing.assert_array_equal(got[0], ref[0])
        np.testing.assert_array_equal(got[1], ref[1])
    ref = by_bytes(X)
    factorize = pd.factorize
    calls = []

    def colliding(values, *a, **k):                   # first call (the hashes): everything in one group
        calls.append(1)
        return (np.zeros(len(values), dtype=np.intp), np.array([0])) if len(calls) == 1 else factorize(values)
    monkeypatch.setattr(pd, "factorize", colliding)
    got = _pool_rows(X)
    assert len(calls) == 2                            # hashes, then the rows' bytes
    np.testing.assert_array_equal(got[0], ref[0])
    np.testing.assert_array_equal(got[1], ref[1])


SPLINE_TERMS = ["rcs(age, [27, 33, 39, 47, 59])", "C(job)", "C(marriage)", "default_yes", "returned_yes",
                "loan_yes", "rcs(months_2_6, [0, 2, 5])", "C(last_month)"]


def with_derived(rows):
    """The default specification's derived coupon columns: months 2-6, and last month capped at 4."""
    last = rows["coupon_used_in_last_month"]
    return rows.assign(months_2_6=rows["coupon_used_in_last6_month"] - last, last_month=np.minimum(last, 4))


def test_pool_by_terms_equals_pool_rows(real_clean):
    """Pooling by the terms' own codes gives exactly `_pool_rows`'s codes and first rows (itself tested
    against grouping raw bytes above): dummies, numeric columns, spline bases, an interaction block (the
    `_pool_rows` fallback inside a block), -0.0 apart from 0.0; and each pattern's term code groups the
    patterns as `_pool_rows` of that term's columns does. Blocks that do not cover the columns, or a first
    column that is not constant, fall back to `_pool_rows` itself."""
    terms = SPLINE_TERMS + ["C(marriage):age"]
    X, _, tc = design_matrix(with_derived(real_clean), terms)
    blocks = {t: np.arange(sl.start, sl.stop) for t, sl in tc.items()}
    signed = X.copy()
    signed[::5, blocks["default_yes"][0]] *= -1.0                 # -0.0 where it was 0.0, -1.0 where 1.0
    for case in (X, signed, X[::3]):
        codes, first, term_codes = _pool_by_terms(case, blocks)
        ref_codes, ref_first = _pool_rows(case)
        np.testing.assert_array_equal(codes, ref_codes)
        np.testing.assert_array_equal(first, ref_first)
        pooled = case[first]
        for t, cols in blocks.items():
            code, count = term_codes[t]
            assert code.max() < count
            ref = _pool_rows(pooled[:, cols])[0]
            assert pd.crosstab(code, ref).astype(bool).sum(axis=1).eq(1).all()     # one-to-one
            assert pd.crosstab(ref, code).astype(bool).sum(axis=1).eq(1).all()
    partial = {t: c for t, c in blocks.items() if t != "loan_yes"}
    codes, first, term_codes = _pool_by_terms(X, partial)
    np.testing.assert_array_equal(codes, _pool_rows(X)[0])
    assert term_codes == {}
    shifted = X.copy()
    shifted[7, 0] = 2.0
    assert _pool_by_terms(shifted, blocks)[2] == {}
    np.testing.assert_array_equal(_pool_by_terms(shifted, blocks)[0], _pool_rows(shifted)[0])


def test_full_column_rank_decides_as_matrix_rank():
    """`_full_column_rank` equals numpy's matrix_rank(X) == number of columns on full-rank, deficient
    (duplicate, zero, sum of columns), nearly deficient, badly scaled and wide matrices."""
    rng = np.random.default_rng(11)
    base = np.column_stack([np.ones(500), rng.normal(size=(500, 6))])
    cases = [base, base * np.r_[1.0, 1e-6, 1e4, 1, 1, 1, 1], np.column_stack([base, base[:, 2]]),
             np.column_stack([base, np.zeros(500)]), np.column_stack([base, base[:, 1] + base[:, 3]]),
             np.column_stack([base, base[:, 1] + 1e-9 * rng.normal(size=500)]),
             np.column_stack([base, base[:, 1] + 1e-3 * rng.normal(size=500)]), base[:4], base[:, :1],
             np.column_stack([base, rng.integers(0, 2, 500)])]
    for X in cases:
        assert _full_column_rank(X) == (np.linalg.matrix_rank(X) == X.shape[1])
    assert _full_column_rank(cases[0]) and not _full_column_rank(cases[2])


@pytest.mark.parametrize("direction,criterion", [("both", "bic"), ("forward", "aic"), ("backward", "bic"),
                                                 ("both", "pvalue")])
def test_fits_on_each_models_pooled_rows_equal_fits_on_all_patterns(real_clean, monkeypatch, direction,
                                                                      criterion):
    """A candidate model fitted on its own pooled rows (rows equal on its terms' columns, counts summed)
    is the fit on all patterns: same selection and path, criteria 1e-12 and statistics 1e-9 relative,
    final estimates 1e-9 relative, with pooling always used (when it leaves fewer rows) and never used."""
    out, used = {}, []
    pooled = _Problem.pooled

    def recording(self, model_terms):
        got = pooled(self, model_terms)
        used.append(got is not None)
        return got
    monkeypatch.setattr(_Problem, "pooled", recording)
    for share in (0.0, 1.0):
        monkeypatch.setattr(selection, "POOL_SHARE", share)
        out[share] = stepwise(with_derived(real_clean), RESPONSE, SPLINE_TERMS, direction=direction,
                              criterion=criterion)
    never, always = out[0.0], out[1.0]
    assert always.terms == never.terms
    pd.testing.assert_frame_equal(always.path[["step", "action", "term", "df"]],
                                  never.path[["step", "action", "term", "df"]])
    np.testing.assert_allclose(always.path.criterion, never.path.criterion, rtol=1e-12)
    np.testing.assert_allclose(always.path.statistic, never.path.statistic, rtol=1e-9)
    assert list(always.estimates) == list(never.estimates)
    assert rel_err(list(always.estimates.values()), list(never.estimates.values())) < 1e-9
    assert len(always.path) > 1
    assert any(used) and not all(used)                # pooled fits in one run, none in the other


def test_rcs_basis_of_many_rows_is_the_basis_of_each_value():
    """rcs_basis computes each distinct value once for long inputs: bit-identical to computing every row
    on its own (0.0 and -0.0, NaN kept apart)."""
    rng = np.random.default_rng(5)
    x = np.r_[rng.integers(18, 90, 4000).astype(float), [0.0, -0.0, np.nan, 59.0] * 300, rng.normal(40, 9, 50)]
    knots = [20, 30, 40, 50, 60]
    got = rcs_basis(x, knots)
    one_by_one = np.vstack([rcs_basis(x[i:i + 1], knots) for i in range(x.size)])
    np.testing.assert_array_equal(got.view(np.uint64), one_by_one.view(np.uint64))


def test_newton_fit_equals_statsmodels_mle(real_clean, full_logit):
    """Our Newton-Raphson on pooled patterns reaches statsmodels' Logit MLE: 1e-8 relative on estimates,
    1e-10 relative on the log-likelihood."""
    X, columns, tc = design_matrix(real_clean, TERMS)
    y, m = _response_arrays(real_clean, RESPONSE, None)
    prob = _Problem(X, y, m, columns, tc, TERMS)
    fit = prob.fit(TERMS)
    res = full_logit
    assert rel_err(fit.beta, res.params.to_numpy()) < 1e-8
    assert abs(fit.loglik - res.llf) / abs(res.llf) < 1e-10
    sub = prob.fit(["age", "C(marriage)"], start_full=fit.full_beta())   # warm start from a bigger model
    res2 = smf.logit(f"{RESPONSE} ~ age + C(marriage)", real_clean).fit(disp=0, tol=1e-12)
    assert rel_err(sub.beta, res2.params.to_numpy()) < 1e-8


# ------------------------------------------------------------------------------------- R step() (AIC/BIC)
R_STEP_SECTIONS = [("both_AIC", "both", "aic"), ("forward_AIC", "forward", "aic"),
                   ("backward_AIC", "backward", "aic"), ("both_BIC", "both", "bic"),
                   ("forward_BIC_extra", "forward", "bic"), ("backward_BIC_extra", "backward", "bic")]


@pytest.mark.parametrize("section,direction,criterion", R_STEP_SECTIONS)
def test_ic_selection_equals_R_step(runs, r_reference, section, direction, criterion):
    """Same final terms and same path as R's step(); AIC/BIC after each step and the LR (deviance) change
    to 1e-6 relative; final coefficients to 1e-6 relative (R: glm epsilon 1e-15)."""
    ref = r_reference["2_stepwise"][section]
    res = runs(direction, criterion)
    assert isinstance(res, StepwiseResult)
    assert list(res.path.columns) == list(PATH_COLUMNS)
    assert set(res.terms) == {r_term(t) for t in ref["final_terms"]}
    assert list(res.terms) == [t for t in TERMS if t in res.terms]          # order of `terms`
    assert res.k == pytest.approx(ref["k"], rel=1e-12)

    anova = ref["anova"]
    assert len(res.path) == len(anova)
    assert res.path.action.iloc[0] == "start"
    for (_, row), r in zip(res.path.iloc[1:].iterrows(), anova[1:]):
        sign, name = r["Step"].split(" ", 1)
        assert row.action == {"-": "remove", "+": "add"}[sign]
        assert row.term == r_term(name)
        assert row.df == abs(r["Df"])
        assert row.statistic == pytest.approx(r["Deviance"], rel=1e-6)
        assert row.p_value == pytest.approx(chi2.sf(r["Deviance"], abs(r["Df"])), rel=1e-5)
    np.testing.assert_allclose(res.path.criterion, [r["AIC"] for r in anova], rtol=1e-6)
    assert res.path.criterion.iloc[-1] == pytest.approx(ref["final_criterion_extractAIC"], rel=1e-6)

    params = res.model.params
    assert {r_coef_name(k) for k in ref["coefficients"]} == set(params.index)
    for k, v in ref["coefficients"].items():
        assert params[r_coef_name(k)] == pytest.approx(v, rel=1e-6)


def test_model_is_lazy_and_cached(real_clean):
    """`.model` is fitted on first access only, then cached; it is not part of repr or equality."""
    res = stepwise(real_clean.iloc[::5], RESPONSE, ["age", "C(marriage)", "returned_yes"],
                   direction="backward", criterion="bic")
    assert "model" not in vars(res)                                   # not fitted yet
    assert "_refit" not in repr(res) and "model" not in repr(res)
    first = res.model
    assert vars(res)["model"] is first and res.model is first         # fitted once, cached
    assert first.model.formula == res.formula
    names = [c for c in first.params.index if c != "Intercept"]
    assert all(any(n == t or n.startswith(t + "[") for t in res.terms) for n in names)


def test_final_model_is_statsmodels_formula_logit(runs, real_clean):
    """`.model` is statsmodels' formula Logit of `.formula` on the rows; its estimates equal a plain
    smf.logit(...).fit() (1e-8 relative)."""
    res = runs("both", "aic")
    assert res.formula == f"{RESPONSE} ~ " + " + ".join(res.terms)
    assert res.model.model.formula == res.formula
    plain = smf.logit(res.formula, real_clean).fit(disp=0, tol=1e-12, maxiter=100)
    assert rel_err(res.model.params.to_numpy(), plain.params.to_numpy()) < 1e-8
    assert rel_err(res.model.bse.to_numpy(), plain.bse.to_numpy()) < 1e-8
    assert res.n_obs == len(real_clean)
    # text columns reach statsmodels as Categoricals; predictions from the original text are unchanged
    np.testing.assert_allclose(res.model.predict(real_clean.head(500)), plain.predict(real_clean.head(500)),
                               rtol=1e-8)
    assert real_clean["job"].dtype != "category"                              # input not modified


# --------------------------------------------------------------------------------- pattern (trials) form
@pytest.mark.parametrize("direction,criterion", [("both", "aic"), ("forward", "bic"), ("both", "pvalue")])
def test_pattern_form_selects_as_expanded_rows(runs, real_patterns, direction, criterion):
    """One row per covariate pattern with events/trials: identical selection and path (criterion values
    1e-9 relative, statistics 1e-7 relative), n = number of rows (BIC's k = log 25317), and the binomial
    GLM's estimates and standard errors equal the per-row Logit's (1e-8 relative)."""
    kw = {"slentry": 0.05, "slstay": 0.05} if criterion == "pvalue" else {}
    rows = runs(direction, criterion, **kw)
    pat = stepwise(real_patterns, "events", TERMS, direction=direction, criterion=criterion, trials="trials",
                   **kw)
    assert len(real_patterns) < len(rows.model.model.endog) / 2
    assert pat.terms == rows.terms
    assert pat.n_obs == rows.n_obs == 25317
    assert pat.k == rows.k
    pd.testing.assert_frame_equal(pat.path[["step", "action", "term", "df"]],
                                  rows.path[["step", "action", "term", "df"]])
    np.testing.assert_allclose(pat.path.criterion, rows.path.criterion, rtol=1e-9)
    np.testing.assert_allclose(pat.path.statistic, rows.path.statistic, rtol=1e-7)
    assert pat.formula == "events + I(trials - events) ~ " + " + ".join(pat.terms)
    assert list(pat.model.params.index) == list(rows.model.params.index)
    assert rel_err(pat.model.params.to_numpy(), rows.model.params.to_numpy()) < 1e-8
    assert rel_err(pat.model.bse.to_numpy(), rows.model.bse.to_numpy()) < 1e-8


def test_pattern_form_validates_counts(real_patterns):
    bad = real_patterns.assign(events=real_patterns.trials + 1)
    with pytest.raises(ValueError, match="<="):
        stepwise(bad, "events", TERMS, trials="trials")


# --------------------------------------------------------------------------- SAS rules: score and Wald
def _problem(data, response, terms):
    X, columns, tc = design_matrix(data, terms)
    y, m = _response_arrays(data, response, None)
    return _Problem(X, y, m, columns, tc, terms)


def test_score_tests_equal_R_add1_rao_and_statsmodels(real_clean, sas_ref):
    """Score chi-square of adding each term: R add1(test = "Rao") from the null model and from
    ~ returned + coupon_used_in_last_month, 1e-8 relative; and statsmodels GLM score_test (joint, expected
    information) for C(job) from the second model, 1e-8 relative."""
    real = sas_ref["real"]
    prob = _problem(real_clean, RESPONSE, TERMS)
    null = prob.fit([])
    ours = _score_tests(null, TERMS)
    for name, r in real["score_from_null"].items():
        stat, df = ours[r_term(name)]
        assert df == r["df"]
        assert stat == pytest.approx(r["statistic"], rel=1e-8)

    mid_terms = [r_term(t) for t in real["score_from_mid"]["model_terms"]]
    mid = prob.fit(mid_terms)
    cands = [t for t in TERMS if t not in mid_terms]
    ours = _score_tests(mid, cands)
    for name, r in real["score_from_mid"]["tests"].items():
        assert ours[r_term(name)][0] == pytest.approx(r["statistic"], rel=1e-8)

    glm = smf.glm(f"{RESPONSE} ~ " + " + ".join(mid_terms), real_clean,
                  family=sm.families.Binomial()).fit(tol=1e-12)
    Z = smf.logit(f"{RESPONSE} ~ C(job)", real_clean).exog[:, 1:]
    st = glm.score_test(exog_extra=Z, observed=False)
    assert float(np.squeeze(st[0])) == pytest.approx(ours["C(job)"][0], rel=1e-8)


def test_wald_tests_equal_car_anova_and_statsmodels(real_clean, sas_ref, full_logit):
    """Joint Wald chi-square of each term of the full model: car::Anova(type = 3, "Wald") and the R
    by-hand b'V^-1 b, 1e-7 relative; statsmodels wald_test_terms, 1e-7 relative."""
    prob = _problem(real_clean, RESPONSE, TERMS)
    ours = _wald_tests(prob.fit(TERMS), TERMS)
    for key in ("wald_full_car_Anova_type3", "wald_full_by_hand"):
        for name, r in sas_ref["real"][key].items():
            if name == "(Intercept)":
                continue
            stat, df = ours[r_term(name)]
            assert df == r["df"]
            assert stat == pytest.approx(r["statistic"], rel=1e-7)
    wt = full_logit.wald_test_terms(scalar=True).table
    for term in TERMS:
        assert float(wt.loc[term, "statistic"]) == pytest.approx(ours[term][0], rel=1e-7)


def _check_against_sas_rules(res, ref, prob=None, rel=1e-7):
    """Path (actions, terms, df, statistic, p-value), final terms and stop reason equal the R
    implementation of the SAS rules; statistics to `rel` relative."""
    steps = ref["steps"]
    assert list(res.path.action) == ["start"] + [s["action"] for s in steps]
    assert list(res.path.term.iloc[1:]) == [r_term(s["term"]) for s in steps]
    assert list(res.path.df.iloc[1:]) == [s["df"] for s in steps]
    np.testing.assert_allclose(res.path.statistic.iloc[1:], [s["statistic"] for s in steps], rtol=rel)
    np.testing.assert_allclose(res.path.p_value.iloc[1:], [s["p_value"] for s in steps], rtol=1e-6)
    assert res.path.criterion.isna().all()
    assert set(res.terms) == {r_term(t) for t in ref["final_terms"]}
    assert res.stop_reason == ref["stop_reason"]
    if prob is not None:                          # every candidate's statistic at every step, not only the chosen
        current = [] if ref["direction"] != "backward" else list(prob.terms)
        for s in steps:
            fit = prob.fit(current)
            cands = {r_term(k): v for k, v in s["candidates"].items()}
            tests = (_score_tests(fit, list(cands)) if s["action"] == "add" else _wald_tests(fit, list(cands)))
            for t, v in cands.items():
                assert tests[t][0] == pytest.approx(v["statistic"], rel=rel, abs=1e-8)
            term = r_term(s["term"])
            current = current + [term] if s["action"] == "add" else [u for u in current if u != term]


REMISSION_VARS = ["cell", "smear", "infil", "li", "blast", "temp"]


def test_remission_sas_example(remission, sas_ref):
    """SAS's Example 'Stepwise Logistic Regression and Predicted Values' (Lee 1974 Remission data,
    SLENTRY=0.3, SLSTAY=0.35): SAS enters li, then temp, then cell, removes nothing and stops. Score
    chi-squares and p-values equal R's add1(test = "Rao") (1e-7 relative), as do all candidates'."""
    meta = json.loads((REF / "remission.json").read_text())
    res = stepwise(remission, "remiss", REMISSION_VARS, direction="both", criterion="pvalue",
                   slentry=0.3, slstay=0.35)
    assert list(res.path.term.iloc[1:]) == meta["sas_entered_in_order"]
    assert (res.path.action.iloc[1:] == "add").all()
    assert set(res.terms) == set(meta["sas_final_effects"])
    ref = sas_ref["remission"]["stepwise"]
    _check_against_sas_rules(res, ref, _problem(remission, "remiss", REMISSION_VARS))
    for k, v in ref["coefficients"].items():          # final model estimates vs R glm, 1e-6 relative
        assert res.model.params[r_coef_name(k)] == pytest.approx(v, rel=1e-6)


@pytest.mark.parametrize("config", ["forward", "backward", "cycle"])
def test_remission_other_directions(remission, sas_ref, config):
    ref = sas_ref["remission"][config]
    direction = "both" if config == "cycle" else config
    res = stepwise(remission, "remiss", REMISSION_VARS, direction=direction, criterion="pvalue",
                   slentry=ref["slentry"], slstay=ref["slstay"])
    _check_against_sas_rules(res, ref, _problem(remission, "remiss", REMISSION_VARS))


def test_cycle_guard_stops_when_the_entered_term_leaves(remission):
    """slentry 0.5 > slstay 0.1: temp enters (score p 0.26 < 0.5) and is then the least significant term
    (Wald p 0.27 > 0.1). Removing it returns to the visited model ~ li, so selection stops there (SAS:
    stop when the current model equals a previously visited one)."""
    res = stepwise(remission, "remiss", REMISSION_VARS, direction="both", criterion="pvalue",
                   slentry=0.5, slstay=0.1)
    assert list(zip(res.path.action, res.path.term))[1:] == [("add", "li"), ("add", "temp"), ("remove", "temp")]
    assert res.stop_reason == "cycle"
    assert res.terms == ("li",)
    assert res.path.p_value.iloc[2] < 0.5 and res.path.p_value.iloc[3] > 0.1


@pytest.mark.parametrize("config", ["stepwise", "forward", "backward"])
def test_synthetic_vs_sas_rules(synthetic, sas_ref, config):
    """A path with a 2-df categorical entering and an earlier entry removed later (not a cycle)."""
    ref = sas_ref["synthetic"][config]
    terms = ["x1", "x2", "x3", "x4", "C(g)"]
    res = stepwise(synthetic, "y", terms, direction={"stepwise": "both"}.get(config, config),
                   criterion="pvalue", slentry=0.15, slstay=0.15)
    _check_against_sas_rules(res, ref, _problem(synthetic, "y", terms))
    for k, v in ref["coefficients"].items():
        assert res.model.params[r_coef_name(k)] == pytest.approx(v, rel=1e-6)


@pytest.mark.parametrize("config,direction,sle,sls", [("stepwise", "both", 0.05, 0.05),
                                                      ("forward", "forward", 0.05, 0.05),
                                                      ("backward", "backward", 0.05, 0.05),
                                                      ("cycle", "both", 0.5, 0.05)])
def test_real_data_vs_sas_rules(runs, sas_ref, config, direction, sle, sls):
    res = runs(direction, "pvalue", slentry=sle, slstay=sls)
    _check_against_sas_rules(res, sas_ref["real"][config])


# ------------------------------------------------------------------------------------------ options
def test_direction_none_is_the_full_model(runs, r_reference):
    res = runs("none", "aic")
    assert res.terms == tuple(TERMS)
    assert list(res.path.action) == ["start"]
    full_aic = r_reference["2_stepwise"]["both_AIC"]["anova"][0]["AIC"]
    assert res.path.criterion.iloc[0] == pytest.approx(full_aic, rel=1e-6)


def test_force_keeps_terms(runs, r_reference):
    """Forcing age: both-AIC has no other improving move (R's step drops only age), so nothing changes;
    forward starts from ~ age and never removes it."""
    both = runs("both", "aic", force=("age",))
    assert both.terms == tuple(TERMS) and len(both.path) == 1
    fwd = runs("forward", "aic", force=("age",))
    assert "age" in fwd.terms and "age" not in set(fwd.path.term.dropna())
    assert fwd.path.criterion.iloc[0] < r_reference["2_stepwise"]["forward_AIC"]["anova"][0]["AIC"]


def test_max_steps(runs, r_reference):
    res = runs("forward", "aic", max_steps=2)
    assert res.stop_reason == "max_steps"
    expected = [r_term(s["Step"][2:]) for s in r_reference["2_stepwise"]["forward_AIC"]["anova"][1:3]]
    assert list(res.path.term.iloc[1:]) == expected


def test_input_validation(real_clean):
    with pytest.raises(ValueError, match="direction"):
        stepwise(real_clean, "flag", TERMS, direction="sideways")
    with pytest.raises(ValueError, match="criterion"):
        stepwise(real_clean, "flag", TERMS, criterion="r2")
    with pytest.raises(ValueError, match="forced"):
        stepwise(real_clean, "flag", TERMS, force=("height",))
    with pytest.raises(ValueError, match="0/1"):
        stepwise(real_clean, "age", TERMS[1:])


def test_separation_raises_naming_the_term():
    """x separates y completely: no finite MLE; the error names the term being tried."""
    rng = np.random.default_rng(0)
    z = rng.normal(size=200)
    x = np.r_[rng.uniform(-3, -0.1, 100), rng.uniform(0.1, 3, 100)]
    data = pd.DataFrame({"y": np.r_[np.zeros(100), np.ones(100)].astype(int), "x": x, "z": z})
    with pytest.raises(SeparationError, match="'x'"):
        stepwise(data, "y", ["z", "x"], direction="forward", criterion="aic")


def test_public_entry_point_analysis_stepwise(real_clean):
    import analysis
    from analysis.model.selection import stepwise as direct

    terms = ["age", "C(job)", "returned_yes", "coupon_used_in_last_month"]
    a = analysis.stepwise(real_clean, "flag", terms, direction="backward", criterion="bic")
    b = direct(real_clean, "flag", terms, direction="backward", criterion="bic")
    assert a.terms == b.terms and a.formula == b.formula
    assert a.path.equals(b.path)


def test_public_api_is_reachable_from_import_analysis_alone():
    """``import analysis`` exposes the documented functions and submodules without further imports, and
    ``analysis.stepwise`` is a function (defined in analysis.model.selection), not a module."""
    import subprocess
    import sys
    import types

    code = ("import analysis, types; assert isinstance(analysis.stepwise, types.FunctionType); "
            "assert analysis.stepwise.__module__ == 'analysis.model.selection'; "
            "assert isinstance(analysis.model, types.ModuleType); assert callable(analysis.fit_logit); "
            "assert callable(analysis.fit_firth) and callable(analysis.read_patterns) and callable(analysis.evaluate); "
            "print(sorted(analysis.__all__))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    import analysis

    assert isinstance(analysis.stepwise, types.FunctionType)
