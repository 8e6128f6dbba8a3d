"""Tests of analysis.evaluate.bootstrap (optimism bootstrap of the selection, as rms::validate) and of the
repeated-selection API it runs on (analysis.model.selection.Selector, StepwiseResult.estimates).

References (none is this package's bootstrap):
  * a row bootstrap with the same draws: the resampled rows written out and fitted by `stepwise` on 0/1
    rows (trials=None) and statsmodels `Logit`, with the indexes computed on the rows by scipy's
    Mann-Whitney U (AUC), numpy (Brier, log-likelihoods) and statsmodels (recalibration fit, null model);
  * the truth of a simulation (AUC of the selected model on 200,000 fresh rows);
  * R 4.2.2 rms 6.5 `validate()` on the real data (tests/reference/r/validate_tianmao.json, made by
    tests/reference/r/validate_tianmao.R): apparent indexes (index.orig) to 1e-6; the optimism with
    B = 200 within Monte-Carlo error (slow: set ANALYSIS_SLOW_TESTS=1; benchmarks/validate.py prints the
    same comparison).
Tolerances are stated at each assertion.
"""
import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy.special import expit
from scipy.stats import mannwhitneyu

from analysis.evaluate import discrimination as evaluation
from analysis.evaluate.bootstrap import INDEXES, TABLE_COLUMNS, _summarise, model_indexes, resample_counts, validate_selection
from analysis.model.selection import Selector, stepwise

REF = Path(__file__).resolve().parents[1] / "reference" / "r" / "validate_tianmao.json"
SLOW = pytest.mark.skipif(os.environ.get("ANALYSIS_SLOW_TESTS") != "1",
                          reason="slow (about 1-2 minutes): set ANALYSIS_SLOW_TESTS=1")


# ------------------------------------------------------------------------------------------- data
def small_rows(n=800, seed=0):
    """0/1 rows with pooled covariate patterns: an integer score, a 3-level factor, a binary and two
    noise variables."""
    rng = np.random.default_rng(seed)
    d = pd.DataFrame({"x": rng.integers(0, 5, n), "g": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]),
                      "b": rng.integers(0, 2, n), "z": rng.integers(0, 4, n), "w": rng.integers(0, 3, n)})
    eta = -1.2 + 0.45 * d["x"] + np.where(d["g"] == "b", 0.6, 0.0) + 0.3 * d["b"]
    d["y"] = (rng.random(n) < expit(eta)).astype(np.int64)
    return d


TERMS = ["x", "C(g)", "b", "z", "w"]


def to_patterns(rows, response="y"):
    keys = [c for c in rows.columns if c != response]
    t = rows.groupby(keys, sort=True)[response].agg(["size", "sum"]).reset_index()
    return t.rename(columns={"size": "trials", "sum": "events"})


def expand(patterns, events, trials):
    """The 0/1 rows of pattern counts (events, trials) (patterns with 0 trials give no row)."""
    events = np.asarray(events, dtype=np.int64)
    trials = np.asarray(trials, dtype=np.int64)
    idx = np.repeat(np.arange(len(patterns)), trials)
    rows = patterns.drop(columns=["events", "trials"]).iloc[idx].reset_index(drop=True)
    first = np.repeat(np.cumsum(trials) - trials, trials)
    rows["y"] = ((np.arange(len(idx)) - first) < np.repeat(events, trials)).astype(np.int64)
    return rows


def formula(terms):
    return "y ~ " + (" + ".join(terms) if terms else "1")


# ------------------------------------------------------------------------------------------- row reference
def predict_rows(fit, rows, terms):
    """Fitted p and linear predictor of each row, computed once per distinct row of the model's variables
    (rows equal on them get bit-identical values, so ties are ties as in the pattern form)."""
    variables = sorted({"g" if t == "C(g)" else t for t in terms})
    if not variables:
        lp = np.full(len(rows), float(fit.params["Intercept"]))
        return expit(lp), lp
    keys = rows[variables]
    codes = keys.groupby(variables, sort=False).ngroup().to_numpy()
    distinct = keys.drop_duplicates().reset_index(drop=True)
    lp = np.asarray(fit.predict(distinct, which="linear"), dtype=float)[codes]
    return expit(lp), lp


def row_indexes(fit, rows, terms, fitted):
    """The INDEXES on 0/1 rows, computed independently of analysis.evaluate.bootstrap: AUC from scipy's
    Mann-Whitney U, Brier and log-likelihoods by numpy, recalibration and null model by statsmodels."""
    p, lp = predict_rows(fit, rows, terms)
    y = rows["y"].to_numpy()
    u = mannwhitneyu(p[y == 1], p[y == 0]).statistic
    auc = u / (np.sum(y == 1) * np.sum(y == 0))
    ll = float(np.sum(y * np.log(p) + (1 - y) * np.log1p(-p)))
    null = smf.logit("y ~ 1", pd.DataFrame({"y": y})).fit(disp=0)
    if fitted:
        a, b, ll_cal = 0.0, 1.0, fit.llf
    else:
        cal = smf.logit("y ~ lp", pd.DataFrame({"y": y, "lp": lp})).fit(disp=0)
        a, b, ll_cal = cal.params["Intercept"], cal.params["lp"], cal.llf
    n = len(y)
    r2n = (1 - math.exp(-2 * (ll_cal - null.llf) / n)) / (1 - math.exp(2 * null.llf / n))
    return np.array([auc, 2 * auc - 1, a, b, np.mean((y - p) ** 2), 1 - ll / null.llf, r2n])


def reference_bootstrap(patterns, terms, selection, B, seed):
    """The optimism bootstrap row by row: each resample's rows written out, selected by `stepwise` on the
    rows (trials=None), refitted by statsmodels Logit, evaluated on its rows and on the original rows."""
    ev0, tr0 = patterns["events"].to_numpy(), patterns["trials"].to_numpy()
    orig_rows = expand(patterns, ev0, tr0)
    children = np.random.SeedSequence(seed).spawn(B)
    out = []
    for b in range(B):
        ev, tr = resample_counts(ev0, tr0, np.random.default_rng(children[b]))
        rows = expand(patterns, ev, tr)
        sel = stepwise(rows, "y", terms, **selection)
        fit = smf.logit(formula(sel.terms), rows).fit(disp=0)
        out.append((sel.terms, fit, row_indexes(fit, rows, sel.terms, True),
                    row_indexes(fit, orig_rows, sel.terms, False)))
    return out


# ------------------------------------------------------------------------------------------- Selector
def test_stepwise_estimates_equal_statsmodels_params():
    """StepwiseResult.estimates (the selection's own fit) equal the statsmodels refit: 1e-8 relative."""
    rows = small_rows()
    res = stepwise(rows, "y", TERMS)
    params = res.model.params
    assert list(res.estimates) == list(params.index)
    np.testing.assert_allclose([res.estimates[k] for k in params.index], params.to_numpy(), rtol=1e-8, atol=1e-12)


def test_selector_run_equals_stepwise_and_zero_trials_carry_no_weight():
    """Selector.run() on the data's own counts is stepwise (same terms and path, exactly); with some
    patterns given 0 trials it equals a Selector on the data without those patterns (terms and path
    exactly as selected; estimates 1e-10), and BIC's k is log(sum of the trials given)."""
    pats = to_patterns(small_rows())
    for settings in ({"direction": "both"}, {"direction": "forward", "criterion": "bic"},
                     {"direction": "both", "criterion": "pvalue"}):
        sel = Selector(pats, "events", TERMS, trials="trials", **settings)
        run = sel.run()
        ref = stepwise(pats, "events", TERMS, trials="trials", **settings)
        assert run.terms == ref.terms
        pd.testing.assert_frame_equal(run.path, ref.path)
        est = dict(zip(sel.columns, run.estimates))
        assert all(est[k] == v for k, v in ref.estimates.items())

        drop = np.arange(len(pats)) % 3 == 0
        y, m = sel.pool(np.where(drop, 0, pats["events"]), np.where(drop, 0, pats["trials"]))
        got = sel.run(y, m, start_estimates=sel.start_estimates())
        kept = pats[~drop].reset_index(drop=True)
        want = stepwise(kept, "events", TERMS, trials="trials", **settings)
        assert got.terms == want.terms
        pd.testing.assert_frame_equal(got.path, want.path, check_exact=False, rtol=1e-10)
        got_est = dict(zip(sel.columns, got.estimates))
        for k, v in want.estimates.items():
            assert abs(got_est[k] - v) <= 1e-10 * max(1.0, abs(v))
        if settings.get("criterion") == "bic":
            assert sel.penalty(m.sum()) == math.log(kept["trials"].sum())


def test_selector_checks_counts():
    pats = to_patterns(small_rows(300))
    sel = Selector(pats, "events", TERMS, trials="trials")
    with pytest.raises(ValueError, match="one count per pooled pattern"):
        sel.run(np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match="0 <= y <= m"):
        sel.run(sel.m + 1, sel.m)


# ------------------------------------------------------------------------------------------- (a) resampling
def test_pattern_resampling_equals_row_resampling_with_the_same_draws():
    """(a) Rows drawn with replacement (row multiplicities r ~ multinomial(N, 1/N)), summed per
    (pattern, outcome) cell, give pattern counts on which the Selector selects the same terms and path as
    `stepwise` on the repeated rows (exactly), estimates equal to statsmodels Logit on those rows
    (1e-8 relative), and the training and test indexes of the row computation (1e-10)."""
    rows = small_rows()
    pats = to_patterns(rows)
    orig_rows = expand(pats, pats["events"], pats["trials"])
    sel = Selector(pats, "events", TERMS, trials="trials")
    warm = sel.start_estimates()
    # cell of each expanded row: its pattern and outcome
    pattern_of_row = np.repeat(np.arange(len(pats)), pats["trials"])
    rng = np.random.default_rng(7)
    for _ in range(3):
        r = rng.multinomial(len(orig_rows), np.full(len(orig_rows), 1 / len(orig_rows)))
        rows_b = orig_rows.loc[np.repeat(orig_rows.index, r)].reset_index(drop=True)
        ev = np.bincount(pattern_of_row, weights=r * orig_rows["y"], minlength=len(pats))
        tr = np.bincount(pattern_of_row, weights=r, minlength=len(pats))
        y, m = sel.pool(ev, tr)
        run = sel.run(y, m, start_estimates=warm)
        ref = stepwise(rows_b, "y", TERMS)
        assert run.terms == ref.terms
        pd.testing.assert_frame_equal(run.path, ref.path, check_exact=False, rtol=1e-9)
        fit = smf.logit(formula(ref.terms), rows_b).fit(disp=0)
        est = dict(zip(sel.columns, run.estimates))
        np.testing.assert_allclose([est[k] for k in fit.params.index], fit.params.to_numpy(), rtol=1e-8, atol=1e-10)
        eta = sel.linear_predictor(run.estimates)
        np.testing.assert_allclose(model_indexes(eta, y, m, fitted=True),
                                   row_indexes(fit, rows_b, ref.terms, True), rtol=0, atol=1e-10)
        np.testing.assert_allclose(model_indexes(eta, sel.y, sel.m, fitted=False),
                                   row_indexes(fit, orig_rows, ref.terms, False), rtol=0, atol=1e-10)


def test_resample_counts_have_the_row_bootstrap_law():
    """The multinomial draw on the cells has the law of a row bootstrap: over 4,000 draws on a small
    table the mean events and trials per pattern are N c_j / N = the original counts and the variances
    N q (1 - q) (q = count / N), each within 5 standard errors."""
    ev = np.array([0, 2, 5, 1, 3])
    tr = np.array([1, 2, 9, 4, 3])
    rng = np.random.default_rng(3)
    draws = [resample_counts(ev, tr, rng) for _ in range(4000)]
    E = np.array([d[0] for d in draws])
    T = np.array([d[1] for d in draws])
    assert np.all(T.sum(axis=1) == tr.sum()) and np.all(E <= T)
    N = tr.sum()
    for obs, c in ((E, ev), (T, tr)):
        q = c / N
        var = N * q * (1 - q)
        se = np.sqrt(np.where(var > 0, var, 1) / len(draws))
        assert np.all(np.abs(obs.mean(axis=0) - c) < 5 * se)
        sd_var = np.sqrt(2.0 / len(draws)) * np.where(var > 0, var, 1)   # approx. sd of a sample variance
        assert np.all(np.abs(obs.var(axis=0) - var) < 5 * sd_var)


# ------------------------------------------------------------------------------------------- (b) reference
@pytest.mark.parametrize("selection", [{"direction": "both"}, {"direction": "backward", "criterion": "bic"}])
def test_optimism_equals_row_by_row_reference(selection):
    """(b) B = 5 from seed 11: training, test, optimism and corrected values of every index equal the
    row-by-row reference (same draws; stepwise on rows + statsmodels) to 1e-10 absolute, the selected
    models equal, and each resample's estimates equal statsmodels' to 1e-8 relative. Both compute the
    same quantities from MLEs that agree to ~1e-13; the AUCs are equal exactly (same ties)."""
    pats = to_patterns(small_rows())
    res = validate_selection(pats, TERMS, selection=selection, B=5, seed=11, workers=1)
    ref = reference_bootstrap(pats, TERMS, selection, 5, 11)
    assert res.failed == 0
    training = np.array([r[2] for r in ref])
    test = np.array([r[3] for r in ref])
    tab = res.table.set_index("index")
    np.testing.assert_allclose(tab["training"].to_numpy(), training.mean(axis=0), rtol=0, atol=1e-10)
    np.testing.assert_allclose(tab["test"].to_numpy(), test.mean(axis=0), rtol=0, atol=1e-10)
    np.testing.assert_allclose(tab["optimism"].to_numpy(), (training - test).mean(axis=0), rtol=0, atol=1e-10)
    orig = stepwise(expand(pats, pats["events"], pats["trials"]), "y", TERMS, **selection)
    orig_fit = smf.logit(formula(orig.terms), expand(pats, pats["events"], pats["trials"])).fit(disp=0)
    apparent = row_indexes(orig_fit, expand(pats, pats["events"], pats["trials"]), orig.terms, True)
    np.testing.assert_allclose(tab["apparent"].to_numpy(), apparent, rtol=0, atol=1e-10)
    np.testing.assert_allclose(tab["corrected"].to_numpy(), apparent - (training - test).mean(axis=0),
                               rtol=0, atol=1e-10)
    assert res.selected_terms == orig.terms
    assert list(res.resamples["model"]) == [tuple(sorted(r[0])) for r in ref]
    for b, (terms, fit, _, _) in enumerate(ref):
        got = res.coefficients.iloc[b]
        for name in res.coefficients.columns:
            want = fit.params.get(name, 0.0)
            assert abs(got[name] - want) <= 1e-8 * max(1.0, abs(want))
    assert list(res.table.columns) == list(TABLE_COLUMNS) and list(res.table["index"]) == list(INDEXES)
    assert (res.table["n"] == 5).all()


# ------------------------------------------------------------------------------------------- (c) simulation
SIM_TERMS = [f"x{i}" for i in range(1, 9)]
SIM_BETA = np.array([0.5, -0.4, 0.3, 0, 0, 0, 0, 0])


def simulate(n, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 8)).round(1)
    d = pd.DataFrame(X, columns=SIM_TERMS)
    d["y"] = (rng.random(n) < expit(-1.8 + X @ SIM_BETA)).astype(np.int64)
    return d


def test_corrected_auc_is_nearer_the_fresh_sample_auc():
    """(c) 2,000 rows, 8 standard-normal predictors (rounded to 0.1), 3 with effects (0.5, -0.4, 0.3),
    about 17% events; stepwise AIC (both). The AUC of the selected model on 200,000 fresh rows of the
    same model is the truth. With seed 8 and B = 100: |corrected - fresh| < |apparent - fresh| and
    |corrected - fresh| < 0.005.

    The bootstrap estimates the *expected* optimism of the procedure, not the realised one of one sample
    (their correlation is known to be weak), so this cannot hold for every seed: for seeds 0-19 (B = 50)
    it held for 15 of 20; averaged over those 20 data sets, apparent - fresh was +0.0129 and corrected -
    fresh +0.0050. The second check below is that average property on seeds 0-5 (B = 30 each):
    |mean(corrected - fresh)| < |mean(apparent - fresh)|."""
    def one(seed, B):
        d = simulate(2000, seed)
        res = validate_selection(d, SIM_TERMS, response="y", trials=None, B=B, seed=seed, workers=1)
        fresh = simulate(200_000, 10_000 + seed)
        est = res.estimates
        eta = est["Intercept"] + sum(est.get(t, 0.0) * fresh[t].to_numpy() for t in SIM_TERMS)
        truth = evaluation.auc_delong(expit(eta), fresh["y"].to_numpy())["auc"]
        row = res.table.set_index("index").loc["auc"]
        return row["apparent"], row["corrected"], truth

    apparent, corrected, truth = one(8, 100)
    assert abs(corrected - truth) < abs(apparent - truth)
    assert abs(corrected - truth) < 0.005

    runs = np.array([one(s, 30) for s in range(6)])
    assert abs(np.mean(runs[:, 1] - runs[:, 2])) < abs(np.mean(runs[:, 0] - runs[:, 2]))


# ------------------------------------------------------------------------------------------- (d) workers
def test_worker_count_does_not_change_the_result():
    """(d) The same seed gives identical results (every table, every resample, bit for bit) with 1 and
    2 worker processes and any chunking; and reports progress."""
    pats = to_patterns(small_rows(600, seed=4))
    messages = []
    one = validate_selection(pats, TERMS, B=7, seed=5, workers=1)
    two = validate_selection(pats, TERMS, B=7, seed=5, workers=2, chunk_size=2, progress=messages.append)
    for name in ("table", "stability", "models", "odds_ratios", "resamples", "coefficients", "failures"):
        pd.testing.assert_frame_equal(getattr(one, name), getattr(two, name), check_exact=True)
    done = [int(msg.split()[1].split("/")[0]) for msg in messages]    # one message per batch of finished chunks
    assert messages[-1] == "bootstrap: 7/7 resamples" and 1 <= len(messages) <= 4 and done == sorted(done)


# ------------------------------------------------------------------------------------------- (e) tables
def test_stability_and_odds_ratio_tables_by_hand():
    """(e) The summary of four hand-written resamples (terms x, C(g); one failed):
    b0 selects {x, C(g)} with C(g)[T.b] = 0.5, x = 1.0; b1 {x} (C(g)[T.b] = 0); b2 failed;
    b3 {x, C(g)} with 0.7, 1.2. Shares: x 3/3, C(g) 2/3; models (C(g), x) 2/3, (x,) 1/3; the interval of
    the odds ratio of C(g)[T.b] is the type-7 2.5% and 97.5% quantiles of (1, e^0.5, e^0.7):
    1 + 0.05 (e^0.5 - 1) and e^0.5 + 0.95 (e^0.7 - e^0.5); optimism = mean of training - test over the
    resamples where both are defined, n counted per index (the slope of b1 is NaN: n = 2)."""
    rows = small_rows(400)
    sel = Selector(rows, "y", ["x", "C(g)"], direction="none")
    original = sel._select()
    assert sel.columns == ("Intercept", "C(g)[T.b]", "C(g)[T.c]", "x")
    apparent = np.arange(7, dtype=float)

    def rec(b, terms, est, tr, te):
        return (b, True, "", terms, np.array(est), np.full(7, tr), np.full(7, te))

    records = [rec(0, ("x", "C(g)"), [0.1, 0.5, -0.2, 1.0], 0.9, 0.8),
               rec(1, ("x",), [0.2, 0.0, 0.0, 0.8], 0.7, 0.4),
               (2, False, "SeparationError: test", (), None, None, None),
               rec(3, ("x", "C(g)"), [0.3, 0.7, 0.1, 1.2], 0.6, 0.6)]
    records[1][6][3] = np.nan
    res = _summarise(sel, original, apparent, records, B=4, seed=0, settings={}, workers=1, conf_level=0.95,
                     seconds=0.0)
    assert res.failed == 1 and list(res.failures["b"]) == [2]
    assert res.stability.set_index("term")["share"].to_dict() == {"x": 1.0, "C(g)": 2 / 3}
    assert res.models["model"].tolist() == [("C(g)", "x"), ("x",)]
    np.testing.assert_allclose(res.models["share"], [2 / 3, 1 / 3])
    ors = res.odds_ratios.set_index("term")
    e5, e7 = math.exp(0.5), math.exp(0.7)
    assert ors.loc["C(g)[T.b]", "boot_low"] == pytest.approx(1 + 0.05 * (e5 - 1), rel=1e-14)
    assert ors.loc["C(g)[T.b]", "boot_high"] == pytest.approx(e5 + 0.95 * (e7 - e5), rel=1e-14)
    assert ors.loc["C(g)[T.b]", "selected_share"] == pytest.approx(2 / 3)
    assert ors.loc["x", "selected_share"] == 1.0 and ors.loc["Intercept", "selected_share"] == 1.0
    assert ors.loc["x", "odds_ratio"] == pytest.approx(math.exp(original.fit.beta[3]), rel=1e-14)
    assert ors.loc["x", "boot_low"] == pytest.approx(math.exp(0.8) + 0.05 * (math.exp(1.0) - math.exp(0.8)))
    tab = res.table.set_index("index")
    assert tab.loc["auc", "optimism"] == pytest.approx(((0.9 - 0.8) + (0.7 - 0.4) + 0.0) / 3)
    assert tab.loc["auc", "corrected"] == pytest.approx(0.0 - 0.4 / 3)
    assert tab.loc["calibration_slope", "n"] == 2 and tab.loc["auc", "n"] == 3
    assert tab.loc["calibration_slope", "optimism"] == pytest.approx((0.1 + 0.0) / 2)
    assert np.isnan(res.coefficients.iloc[2]).all()


def test_stability_shares_match_the_resamples_and_failures_are_counted():
    """A rare level (2 rows: one event, one non-event) makes every resample that lacks either row fail
    (the full start model then has a zero column or separates): the failures are recorded with their
    error, left out of every mean (n = B - failed) and of the shares; the shares and model counts are
    those of the per-resample selections."""
    rows = small_rows(500, seed=2)
    extra = pd.DataFrame({"x": [2, 2], "g": ["d", "d"], "b": [0, 1], "z": [1, 1], "w": [0, 0], "y": [1, 0]})
    rows = pd.concat([rows, extra], ignore_index=True)
    res = validate_selection(to_patterns(rows), TERMS, selection={"direction": "backward"}, B=12, seed=1, workers=1)
    assert 0 < res.failed < 12 and len(res.failures) == res.failed
    assert res.failures["error"].str.contains("SeparationError").all()
    assert (res.table["n"] <= 12 - res.failed).all() and (res.table["n"] == 12 - res.failed).all()
    ok = res.resamples[res.resamples["ok"]]
    for term, share in res.stability.set_index("term")["share"].items():
        assert share == pytest.approx(np.mean([term in m for m in ok["model"]]))
    assert res.models["count"].sum() == len(ok)
    assert res.coefficients[~res.resamples["ok"].to_numpy()].isna().all().all()


def test_test_calibration_equals_calibration_fit():
    """The test calibration intercept and slope (our Newton fit of y on eta) equal those of
    analysis.evaluate.calibration.calibration_fit (statsmodels GLM, tested against R's val.prob) on p = expit(eta):
    1e-8."""
    from analysis.evaluate.calibration import calibration_fit

    pats = to_patterns(small_rows())
    sel = Selector(pats, "events", TERMS, trials="trials")
    rng = np.random.default_rng(2)
    y, m = sel.pool(*resample_counts(pats["events"], pats["trials"], rng))
    run = sel.run(y, m)
    eta = sel.linear_predictor(run.estimates)
    got = dict(zip(INDEXES, model_indexes(eta, sel.y, sel.m, fitted=False)))
    want = calibration_fit(expit(eta), sel.y, sel.m)
    assert got["calibration_intercept"] == pytest.approx(want["intercept"], abs=1e-8)
    assert got["calibration_slope"] == pytest.approx(want["slope"], abs=1e-8)


def test_constant_predictor_test_indexes():
    """A model without terms: test calibration slope undefined (NaN), intercept = logit(share) - eta,
    AUC 1/2 (all pairs tied)."""
    y = np.array([1.0, 0.0, 2.0]); m = np.array([3.0, 2.0, 5.0])
    out = dict(zip(INDEXES, model_indexes(np.full(3, -0.3), y, m, fitted=False)))
    assert math.isnan(out["calibration_slope"]) and out["auc"] == 0.5
    assert out["calibration_intercept"] == pytest.approx(math.log(0.3 / 0.7) + 0.3)


# ------------------------------------------------------------------------------------------- rms on the real data
MODELS = {
    "linear": ["age", "C(job)", "C(marriage)", "default_yes", "returned_yes", "loan_yes",
               "coupon_used_in_last6_month", "coupon_used_in_last_month"],
    "spline": ["rcs(age, 4)", "C(job)", "C(marriage)", "default_yes", "returned_yes", "loan_yes",
               "rcs(coupons_months_2_6, 3)", "C(coupons_last_month)"],
}
RMS_INDEX = {"dxy": "Dxy", "nagelkerke_r2": "R2", "calibration_intercept": "Intercept",
             "calibration_slope": "Slope", "brier": "B"}


@pytest.fixture(scope="module")
def all_rows(real_data_path):
    from analysis.read import read_patterns

    return read_patterns(real_data_path, seed=100, test_size=0.0).sample("train")


def real_terms(name, all_rows):
    from analysis.model.terms import resolve_knots

    return resolve_knots(MODELS[name], all_rows)[0]


@pytest.mark.parametrize("name", ["linear", "spline"])
def test_apparent_indexes_equal_rms_index_orig(all_rows, name):
    """On all 25,317 rows: the full model (direction "none") against rms `validate(fit)`'s index.orig,
    and the backward AIC selection against `validate(fit, bw = TRUE, rule = "aic")`'s (step() and fastbw
    keep the same factors on the original data: age dropped from the linear model, nothing from the
    spline model): Dxy, R2 (Nagelkerke), B (Brier) 1e-6 relative, Intercept 0 and Slope 1."""
    ref = json.loads(REF.read_text())["models"][name]
    terms = real_terms(name, all_rows)
    for direction, key in (("none", "validate_nobw"), ("backward", "validate_bw")):
        res = validate_selection(all_rows, terms, selection={"direction": direction}, B=1, seed=1, workers=1)
        r = ref[key]["table"]
        orig = dict(zip(r["index"], r["index.orig"]))
        tab = res.table.set_index("index")
        for ours, theirs in RMS_INDEX.items():
            assert tab.loc[ours, "apparent"] == pytest.approx(orig[theirs], rel=1e-6, abs=1e-12), (direction, ours)
        if direction == "backward":
            kept = ref[key]["kept"]
            deleted = ref["fastbw_original"]["factors_deleted"]
            deleted = [deleted] if isinstance(deleted, str) else list(deleted)
            assert len(res.selected_terms) == len(terms) - len(deleted)
            assert kept["n_resamples"] == 200


@SLOW
@pytest.mark.parametrize("name", ["linear", "spline"])
def test_optimism_agrees_with_rms_validate_within_monte_carlo_error(all_rows, name):
    """B = 200 on all rows, seed 2024, against rms (B = 200, set.seed(2024); other random draws): the
    optimism of Dxy, R2, Intercept, Slope and B differs from rms's by less than 3 standard errors of the
    difference of two independent bootstrap means, sqrt(2) x our Monte-Carlo SE (rms's SE is not stored;
    its resampling is the same, so its SE is taken equal to ours). Without selection (validate(fit))
    the procedures are identical; with selection ours is step() backward by AIC (refits) and rms's is
    fastbw (Wald approximation), which select alike on these data (shares compared in the benchmark)."""
    ref = json.loads(REF.read_text())["models"][name]
    terms = real_terms(name, all_rows)
    for direction, key in (("none", "validate_nobw"), ("backward", "validate_bw")):
        res = validate_selection(all_rows, terms, selection={"direction": direction}, B=200, seed=2024, workers=2)
        assert res.failed == 0
        r = ref[key]["table"]
        opt = dict(zip(r["index"], r["optimism"]))
        tab = res.table.set_index("index")
        for ours, theirs in RMS_INDEX.items():
            se = math.sqrt(2) * tab.loc[ours, "optimism_se"]
            assert abs(tab.loc[ours, "optimism"] - opt[theirs]) < 3 * se, (direction, ours)
