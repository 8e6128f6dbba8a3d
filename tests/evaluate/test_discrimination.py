"""Tests of analysis.evaluate.discrimination against independent computations.

References used:
- R on the real data (../shared/reference/r_full_data.json, computed by r_full_data.R: pROC 1.18 AUC and DeLong
  CI, KS as max TPR - FPR / ks.test, Hosmer-Lemeshow as ResourceSelection::hoslem.test), 1e-6 relative,
  because R's fitted values differ from statsmodels' at ~1e-10;
- R on small synthetic data with ties (tests/reference/evaluation_small.json, made by evaluation_small.R
  beside it, which also holds the data), 1e-12 relative;
- brute-force O(n^2) computations on small random data with ties (exact for counts);
- second libraries: scipy.stats (mannwhitneyu, ks_2samp, somersd), numpy.quantile(method="linear") and
  pandas.cut, and closed forms (Wilson interval);
- hand calculations on tiny examples;
- rows == patterns: every statistic on the real data's rows equals the one on the same rows aggregated by
  identical p (with pandas, not with the code under test), 1e-12 relative.
"""
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from analysis.evaluate import discrimination as ev

FULL_FORMULA = (
    "flag ~ age + C(job) + C(marriage) + default_yes + returned_yes + loan_yes"
    " + coupon_used_in_last6_month + coupon_used_in_last_month"
)
SMALL_REF = Path(__file__).resolve().parents[1] / "reference" / "evaluation_small.json"
R_TOL = 1e-6  # against R on the real data (fitted values differ at ~1e-10)
EXACT = 1e-12  # same data, different arithmetic


def assert_rel(actual, expected, rtol):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=0)


# ------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def fitted(real_clean):
    """(p, y) of the full model fitted to all rows.

    p is computed once per distinct covariate row and mapped back, so rows with identical covariates have
    bit-identical p, as R's fitted values do (12,300 distinct values). Computing X @ beta row by row lets BLAS
    round two identical rows differently (statsmodels' predict() gives 12,301 values), which would split a
    tie and move the AUC by more than the tolerance.
    """
    res = smf.logit(FULL_FORMULA, real_clean).fit(method="newton", tol=1e-12, maxiter=100, disp=0)
    x = np.asarray(res.model.exog)
    x_unique, inverse = np.unique(x, axis=0, return_inverse=True)
    p = (1.0 / (1.0 + np.exp(-(x_unique @ res.params.to_numpy()))))[inverse.ravel()]
    y = real_clean["flag"].to_numpy()
    return p, y


@pytest.fixture(scope="module")
def patterns(fitted):
    """The real rows aggregated by identical p with pandas (independently of the code under test)."""
    p, y = fitted
    g = pd.DataFrame({"p": p, "y": y}).groupby("p", sort=False)["y"].agg(["sum", "size"]).reset_index()
    return g["p"].to_numpy(), g["sum"].to_numpy(), g["size"].to_numpy()


@pytest.fixture(scope="module")
def split_patterns(patterns):
    """The same patterns shuffled, each pattern with more than one row split in two (so p repeats)."""
    p, e, n = patterns
    rng = np.random.default_rng(7)
    n_a = np.where(n > 1, rng.integers(1, np.maximum(n, 2)), n)  # rows in the first part
    e_a = np.minimum(e, rng.integers(0, n_a + 1))
    e_a = np.maximum(e_a, e - (n - n_a))  # the second part's events fit in its rows
    keep = n - n_a > 0
    p2 = np.r_[p, p[keep]]
    e2 = np.r_[e_a, (e - e_a)[keep]]
    n2 = np.r_[n_a, (n - n_a)[keep]]
    order = rng.permutation(len(p2))
    assert n2.sum() == n.sum() and e2.sum() == e.sum() and np.all((0 <= e2) & (e2 <= n2))
    return p2[order], e2[order], n2[order]


@pytest.fixture(scope="module")
def small_ref():
    return json.loads(SMALL_REF.read_text())


def tied_data(seed, n=120, levels=15):
    """Small random data with many ties in p."""
    rng = np.random.default_rng(seed)
    p = rng.integers(1, levels, n) / levels
    y = rng.binomial(1, p)
    return p, y


# ------------------------------------------------------------------------------------------ brute force


def brute_pairs(p, y):
    pos, neg = p[y == 1][:, None], p[y == 0][None, :]
    return int((pos > neg).sum()), int((pos < neg).sum()), int((pos == neg).sum())


def brute_delong(p, y):
    pos, neg = p[y == 1], p[y == 0]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    return psi.mean(), math.sqrt(v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg))


# ------------------------------------------------------------------------------------------ AUC


def test_auc_delong_matches_pROC_on_full_model(fitted, r_reference):
    ref = r_reference["4_roc_auc_ks"]
    res = ev.auc_delong(*fitted)
    assert_rel(res["auc"], ref["auc_pROC"], R_TOL)
    assert_rel(res["auc"], ref["auc_mann_whitney_hand"], R_TOL)
    assert_rel(res["se"] ** 2, ref["auc_var_delong"], R_TOL)
    assert_rel(res["se"], ref["auc_se_delong"], R_TOL)
    assert_rel(res["conf_low"], ref["auc_ci_delong"]["lower"], R_TOL)
    assert_rel(res["conf_high"], ref["auc_ci_delong"]["upper"], R_TOL)


@pytest.mark.parametrize("case", ["A", "B", "C", "E"])
def test_auc_delong_matches_pROC_on_small_tied_data(small_ref, case):
    d = small_ref[case]
    y, p = np.array(d["y"]), np.array(d["p"])
    res = ev.auc_delong(p, y)
    assert_rel(res["auc"], d["roc"]["auc"], EXACT)
    assert_rel(res["se"] ** 2, d["roc"]["var_delong"], EXACT)
    assert_rel([res["conf_low"], res["conf_high"]], d["roc"]["ci95"], EXACT)
    res90 = ev.auc_delong(p, y, conf_level=0.90)
    assert_rel([res90["conf_low"], res90["conf_high"]], d["roc"]["ci90"], EXACT)


def test_auc_ci_is_clipped_at_one_as_pROC(small_ref):
    d = small_ref["C"]
    res = ev.auc_delong(np.array(d["p"]), np.array(d["y"]))
    assert res["conf_high"] == 1.0 and res["auc"] + 1.96 * res["se"] > 1


@pytest.mark.parametrize("seed", range(5))
def test_auc_delong_vs_brute_force(seed):
    p, y = tied_data(seed)
    auc, se = brute_delong(p, y)
    res = ev.auc_delong(p, y)
    assert_rel(res["auc"], auc, EXACT)
    assert_rel(res["se"], se, EXACT)
    z = stats.norm.ppf(0.975)
    assert_rel([res["conf_low"], res["conf_high"]], [auc - z * se, auc + z * se], EXACT)


def test_auc_vs_scipy_mannwhitneyu(fitted):
    for p, y in [fitted, tied_data(11)]:
        u = stats.mannwhitneyu(p[y == 1], p[y == 0]).statistic
        assert_rel(ev.auc_delong(p, y)["auc"], u / ((y == 1).sum() * (y == 0).sum()), EXACT)


def test_auc_with_a_single_event_has_no_se_as_pROC():
    res = ev.auc_delong([0.1, 0.2, 0.3, 0.4], [0, 0, 1, 0])
    assert res["auc"] == pytest.approx(2 / 3, rel=EXACT)
    assert all(math.isnan(res[k]) for k in ("se", "conf_low", "conf_high"))


# ------------------------------------------------------------------------------------------ ROC


@pytest.mark.parametrize("seed", range(3))
def test_roc_curve_vs_brute_force(seed):
    p, y = tied_data(seed)
    roc = ev.roc_curve(p, y)
    assert list(roc.columns) == ["threshold", "fpr", "tpr"]
    assert roc.iloc[0].tolist() == [np.inf, 0.0, 0.0]
    assert roc.iloc[-1].tolist() == [p.min(), 1.0, 1.0]
    assert roc["threshold"].iloc[1:].tolist() == sorted(set(p), reverse=True)
    for thr, fpr, tpr in roc.iloc[1:].itertuples(index=False):
        assert tpr == ((p >= thr) & (y == 1)).sum() / (y == 1).sum()
        assert fpr == ((p >= thr) & (y == 0)).sum() / (y == 0).sum()


def test_roc_area_is_the_auc(fitted):
    for p, y in [fitted, tied_data(3)]:
        roc = ev.roc_curve(p, y)
        area = np.trapezoid(roc["tpr"], roc["fpr"])
        assert_rel(area, ev.auc_delong(p, y)["auc"], EXACT)


# ------------------------------------------------------------------------------------------ KS


def test_ks_matches_R_on_full_model(fitted, r_reference):
    ref = r_reference["4_roc_auc_ks"]["ks"]
    res = ev.ks_statistic(*fitted)
    assert_rel(res["ks"], ref["statistic"], R_TOL)
    assert_rel(res["ks"], ref["pROC_max_youden"], R_TOL)
    assert_rel(res["ks"], ref["ks_test_two_sample_D"], R_TOL)
    assert_rel(res["threshold"], ref["threshold_fitted_value"], R_TOL)
    assert_rel(res["tpr"], ref["tpr_at_max"], R_TOL)
    assert_rel(res["fpr"], ref["fpr_at_max"], R_TOL)
    p, y = fitted
    assert ((p >= res["threshold"]) & (y == 1)).sum() == ref["n_pos_at_or_above"]
    assert ((p >= res["threshold"]) & (y == 0)).sum() == ref["n_neg_at_or_above"]


@pytest.mark.parametrize("case", ["A", "B", "C", "E"])
def test_ks_matches_R_on_small_tied_data(small_ref, case):
    d = small_ref[case]
    res = ev.ks_statistic(np.array(d["p"]), np.array(d["y"]))
    assert_rel(res["ks"], d["ks"]["statistic"], EXACT)
    assert_rel(res["ks"], d["ks"]["ks_test_D"], EXACT)
    assert_rel(res["threshold"], d["ks"]["threshold"], EXACT)
    assert_rel([res["tpr"], res["fpr"]], [d["ks"]["tpr"], d["ks"]["fpr"]], EXACT)


def test_ks_vs_scipy_ks_2samp(fitted):
    for p, y in [fitted, tied_data(4), tied_data(5, n=500, levels=40)]:
        one_sided = stats.ks_2samp(p[y == 0], p[y == 1], alternative="greater").statistic
        assert_rel(ev.ks_statistic(p, y)["ks"], one_sided, EXACT)
    p, y = fitted  # a useful model: the one-sided maximum is the two-sided one
    assert_rel(ev.ks_statistic(p, y)["ks"], stats.ks_2samp(p[y == 0], p[y == 1]).statistic, EXACT)


def test_ks_curve_max_gap_is_ks(fitted):
    p, y = fitted
    curve = ev.ks_curve(p, y)
    ks = ev.ks_statistic(p, y)
    assert list(curve.columns) == ["threshold", "cum_events", "cum_nonevents", "gap"]
    assert curve["gap"].max() == ks["ks"]
    assert curve.loc[curve["gap"].idxmax(), "threshold"] == ks["threshold"]
    roc = ev.roc_curve(p, y).iloc[1:].reset_index(drop=True)
    assert np.array_equal(curve["cum_events"], roc["tpr"])
    assert np.array_equal(curve["cum_nonevents"], roc["fpr"])
    assert curve.iloc[-1][["cum_events", "cum_nonevents", "gap"]].tolist() == [1.0, 1.0, 0.0]


def test_ks_ties_in_gap_take_highest_threshold():
    # gap is 1/2 at thresholds 0.8 and 0.4 (and 0.6): R's which.max over decreasing thresholds takes 0.8
    p = np.array([0.8, 0.6, 0.6, 0.4, 0.2, 0.2])
    y = np.array([1, 1, 0, 1, 0, 0])
    # n1 = 3, n0 = 3: t=0.8 -> 1/3-0, t=0.6 -> 2/3-1/3, t=0.4 -> 1-1/3 = 2/3, t=0.2 -> 0
    res = ev.ks_statistic(p, y)
    assert res == {"ks": pytest.approx(2 / 3), "threshold": 0.4, "tpr": 1.0, "fpr": pytest.approx(1 / 3)}
    p = np.array([0.9, 0.7, 0.5, 0.3])
    y = np.array([1, 0, 1, 0])  # gap 1/2 at 0.9 and at 0.5
    assert ev.ks_statistic(p, y)["threshold"] == 0.9


# ------------------------------------------------------------------------------------------ concordance


@pytest.mark.parametrize("seed", range(5))
def test_concordance_vs_brute_force(seed):
    p, y = tied_data(seed, n=80, levels=8)
    nc, nd, nt = brute_pairs(p, y)
    res = ev.concordance(p, y)
    pairs = (y == 1).sum() * (y == 0).sum()
    assert (res["concordant"], res["discordant"], res["tied"], res["pairs"]) == (nc, nd, nt, pairs)
    assert_rel(res["c"], (nc + 0.5 * nt) / pairs, EXACT)
    assert_rel(res["somers_d"], (nc - nd) / pairs, EXACT)
    assert_rel(res["gamma"], (nc - nd) / (nc + nd), EXACT)
    # Kendall's tau-a by its definition over all N (N - 1) / 2 pairs of rows
    i, j = np.triu_indices(len(p), k=1)
    tau_a = np.sum(np.sign(p[i] - p[j]) * np.sign(y[i] - y[j])) / len(i)
    assert_rel(res["tau_a"], tau_a, EXACT)


def test_concordance_vs_scipy_somersd_and_auc(fitted, r_reference):
    for p, y in [fitted, tied_data(8)]:
        res = ev.concordance(p, y)
        assert_rel(res["somers_d"], stats.somersd(y, p).statistic, EXACT)  # D(p | y)
        assert_rel(res["c"], ev.auc_delong(p, y)["auc"], EXACT)
    res = ev.concordance(*fitted)
    assert_rel(res["c"], r_reference["4_roc_auc_ks"]["auc_pROC"], R_TOL)
    assert_rel(res["somers_d"], 2 * r_reference["4_roc_auc_ks"]["auc_pROC"] - 1, R_TOL)


def test_concordance_hand_example():
    # events at 0.2, 0.4; non-events at 0.1, 0.2, 0.5: pairs (0.2|0.1) C, (0.2|0.2) T, (0.2|0.5) D,
    # (0.4|0.1) C, (0.4|0.2) C, (0.4|0.5) D
    res = ev.concordance([0.1, 0.2, 0.2, 0.4, 0.5], [0, 1, 0, 1, 0])
    assert (res["concordant"], res["discordant"], res["tied"], res["pairs"]) == (3, 2, 1, 6)
    assert res["c"] == pytest.approx(3.5 / 6) and res["somers_d"] == pytest.approx(1 / 6)
    assert res["gamma"] == pytest.approx(1 / 5) and res["tau_a"] == pytest.approx(1 / 10)


# ------------------------------------------------------------------------------------------ Brier


def test_brier_vs_numpy(fitted):
    p, y = fitted
    assert_rel(ev.brier_score(p, y), np.mean((y - p) ** 2), EXACT)
    assert ev.brier_score([0.2, 0.9], [0, 1]) == pytest.approx((0.04 + 0.01) / 2, rel=EXACT)


# ------------------------------------------------------------------------------------------ Hosmer-Lemeshow


def test_hosmer_lemeshow_matches_R_on_full_model(fitted, r_reference):
    ref = r_reference["5_hosmer_lemeshow"]
    res, table = ev.hosmer_lemeshow(*fitted, groups=10)
    assert_rel(res["chi2"], ref["chisq"], R_TOL)
    assert_rel(res["p_value"], ref["p_value"], R_TOL)
    assert res["df"] == ref["df"] and res["groups"] == ref["n_groups"]
    assert list(table.columns) == [
        "group", "n", "p_low", "p_high", "observed_events", "expected_events",
        "observed_nonevents", "expected_nonevents",
    ]
    r_table = pd.DataFrame(ref["table"])
    assert table["group"].tolist() == list(range(1, 11))
    assert table["n"].tolist() == r_table["n"].tolist()
    assert table["observed_events"].tolist() == r_table["obs1"].tolist()
    assert table["observed_nonevents"].tolist() == r_table["obs0"].tolist()
    assert_rel(table["expected_events"], r_table["exp1"], R_TOL)
    assert_rel(table["expected_nonevents"], r_table["exp0"], R_TOL)
    assert_rel(np.r_[table["p_low"], table["p_high"].iloc[-1]], ref["breaks"], R_TOL)


def _check_hl_against_r(res, table, h):
    assert res["groups"] == h["n_groups"] and res["df"] == h["df"]
    assert table["n"].tolist() == h["n"]
    assert table["observed_events"].tolist() == h["obs1"]
    assert table["observed_nonevents"].tolist() == h["obs0"]
    assert_rel(table["expected_events"], h["exp1"], EXACT)
    assert_rel(table["expected_nonevents"], h["exp0"], EXACT)
    assert_rel(np.r_[table["p_low"], table["p_high"].iloc[-1]], h["breaks"], EXACT)
    if h["chisq_is_nan"]:
        assert math.isnan(res["chi2"]) and math.isnan(res["p_value"])
    else:
        assert_rel([res["chi2"], res["p_value"]], [h["chisq"], h["p_value"]], EXACT)


@pytest.mark.parametrize("case", ["A", "B", "C", "D", "E"])
def test_hosmer_lemeshow_matches_R_on_small_tied_data(small_ref, case):
    d = small_ref[case]
    y, p = np.array(d["y"]), np.array(d["p"])
    for h in d["hoslem"]:
        res, table = ev.hosmer_lemeshow(p, y, groups=h["g"])
        _check_hl_against_r(res, table, h)


def test_hosmer_lemeshow_patterns_small_tied_data(small_ref):
    """Duplicated breaks (case E) on the pattern form: type-7 quantiles from the counts."""
    d = small_ref["E"]
    g = pd.DataFrame({"p": d["p"], "y": d["y"]}).groupby("p")["y"].agg(["sum", "size"]).reset_index()
    for h in d["hoslem"]:
        res, table = ev.hosmer_lemeshow(g["p"], g["sum"], g["size"], groups=h["g"])
        _check_hl_against_r(res, table, h)


@pytest.mark.parametrize("seed", range(4))
def test_hosmer_lemeshow_vs_numpy_quantile_and_pandas_cut(seed):
    rng = np.random.default_rng(seed)
    p = np.round(rng.beta(1, 4, 400), 2)  # ties, and some duplicated breaks
    y = rng.binomial(1, p)
    res, table = ev.hosmer_lemeshow(p, y, groups=10)
    probs = np.minimum(np.arange(11) * 0.1, 1.0)
    breaks = np.unique(np.quantile(p, probs, method="linear"))  # type 7
    group = pd.cut(p, breaks, right=True, include_lowest=True, labels=False)
    frame = pd.DataFrame({"g": group, "y": y, "p": p, "q": 1 - p, "z": 1 - y}).groupby("g").sum()
    chi2 = (((frame["y"] - frame["p"]) ** 2 / frame["p"]) + ((frame["z"] - frame["q"]) ** 2 / frame["q"])).sum()
    assert res["groups"] == len(breaks) - 1 == len(table)
    assert_rel(np.r_[table["p_low"], table["p_high"].iloc[-1]], breaks, EXACT)
    assert table["observed_events"].tolist() == frame["y"].tolist()
    assert_rel(res["chi2"], chi2, EXACT)
    assert_rel(res["p_value"], stats.chi2.sf(chi2, 8), EXACT)


# ------------------------------------------------------------------------------------------ tables


def test_classification_table_by_hand():
    p = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.5, 0.4, 0.3, 0.2, 0.1])
    y = np.array([1, 1, 0, 1, 1, 0, 0, 0, 0, 0])
    tab = ev.classification_table(p, y, thresholds=(0.5, 0.75))
    assert list(tab.columns) == [
        "threshold", "tp", "fp", "tn", "fn", "accuracy", "no_information_rate",
        "precision", "recall", "specificity", "f1",
    ]
    # p >= 0.5: rows 0.9 0.8 0.7 0.6 0.5 0.5 -> tp 4 (0.9, 0.8, 0.6, 0.5), fp 2 (0.7, 0.5); tn 4, fn 0
    # p >= 0.75: rows 0.9 0.8 -> tp 2, fp 0; tn 6, fn 2
    expected = pd.DataFrame({
        "threshold": [0.5, 0.75], "tp": [4, 2], "fp": [2, 0], "tn": [4, 6], "fn": [0, 2],
        "accuracy": [0.8, 0.8], "no_information_rate": [0.6, 0.6], "precision": [4 / 6, 1.0],
        "recall": [1.0, 0.5], "specificity": [4 / 6, 1.0], "f1": [8 / 10, 4 / 6],
    })
    pd.testing.assert_frame_equal(tab, expected, check_dtype=False, rtol=EXACT, atol=0)
    default = ev.classification_table(p, y)
    assert default["threshold"].tolist() == [0.5, ev.ks_statistic(p, y)["threshold"]]
    # nothing predicted positive: precision undefined
    assert math.isnan(ev.classification_table(p, y, thresholds=[0.95])["precision"].iloc[0])
    # events the majority (7 of 10): no-information rate 0.7; at 0.5: tp 5 (0.9 0.8 0.7 0.6 0.5), fp 1
    y_major = np.array([1, 1, 1, 1, 1, 0, 1, 0, 1, 0])
    tab = ev.classification_table(p, y_major, thresholds=[0.5])
    assert tab[["tp", "fp", "tn", "fn"]].iloc[0].tolist() == [5, 1, 2, 2]
    assert tab["no_information_rate"].iloc[0] == pytest.approx(0.7, rel=EXACT)
    assert tab["accuracy"].iloc[0] == pytest.approx(0.7, rel=EXACT)


def test_gains_table_by_hand_with_tie_across_a_boundary():
    # 10 rows, 5 deciles of 2 rows. Sorted decreasing: 0.9 | 0.8 0.8 0.8 | 0.5 | 0.4 0.3 0.2 0.1 0.05
    # positions 1 | 2-4 (mean 3 -> ceil(5*3/10) = 2) | 5 (3) | 6 (3) 7 (4) 8 (4) 9 (5) 10 (5)
    p = np.array([0.9, 0.8, 0.8, 0.8, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
    y = np.array([1, 1, 0, 1, 1, 0, 1, 0, 0, 0])
    tab = ev.gains_table(p, y, bins=5)
    assert list(tab.columns) == [
        "decile", "n", "events", "response_rate", "cum_n", "cum_events", "cum_capture",
        "lift", "cum_lift", "p_min", "p_max", "mean_p",
    ]
    assert tab["decile"].tolist() == [1, 2, 3, 4, 5]
    assert tab["n"].tolist() == [1, 3, 2, 2, 2]
    assert tab["events"].tolist() == [1, 2, 1, 1, 0]
    assert tab["cum_n"].tolist() == [1, 4, 6, 8, 10]
    assert tab["cum_events"].tolist() == [1, 3, 4, 5, 5]
    overall = 0.5
    assert_rel(tab["response_rate"], [1, 2 / 3, 0.5, 0.5, 0], EXACT)
    assert_rel(tab["cum_capture"], [0.2, 0.6, 0.8, 1.0, 1.0], EXACT)
    assert_rel(tab["lift"], np.array([1, 2 / 3, 0.5, 0.5, 0]) / overall, EXACT)
    assert_rel(tab["cum_lift"], np.array([1, 3 / 4, 4 / 6, 5 / 8, 5 / 10]) / overall, EXACT)
    assert tab["p_min"].tolist() == [0.9, 0.8, 0.4, 0.2, 0.05]
    assert tab["p_max"].tolist() == [0.9, 0.8, 0.5, 0.3, 0.1]
    assert_rel(tab["mean_p"], [0.9, 0.8, 0.45, 0.25, 0.075], EXACT)


def test_gains_table_without_ties_is_equal_count_groups():
    rng = np.random.default_rng(1)
    p = rng.permutation(np.arange(1, 104) / 104)  # 103 distinct values
    y = rng.binomial(1, p)
    tab = ev.gains_table(p, y, bins=10)
    rank_desc = len(p) - stats.rankdata(p) + 1
    decile = np.ceil(10 * rank_desc / len(p)).astype(int)
    assert tab["n"].tolist() == np.bincount(decile)[1:].tolist()
    assert tab["events"].tolist() == np.bincount(decile, weights=y)[1:].astype(int).tolist()
    assert tab["n"].max() - tab["n"].min() <= 1


def test_gains_table_empty_decile_when_a_tie_is_large():
    # 6 of 10 rows tied at the top: mean position 3.5 -> decile ceil(5 * 3.5 / 10) = 2; decile 1 is empty
    p = np.array([0.9] * 6 + [0.4, 0.3, 0.2, 0.1])
    y = np.array([1, 1, 1, 0, 0, 0, 1, 0, 0, 0])
    tab = ev.gains_table(p, y, bins=5)
    assert tab["n"].tolist() == [0, 6, 0, 2, 2]
    assert math.isnan(tab["response_rate"].iloc[0]) and math.isnan(tab["p_min"].iloc[0])
    assert tab["cum_n"].tolist() == [0, 6, 6, 8, 10]


def test_calibration_table_bins_and_wilson_interval():
    # increasing: 0.05 0.1 | 0.2 0.2 0.2 (positions 3-5, mean 4 -> ceil(5*4/10) = 2) | 0.3 (6 -> 3) | ...
    p = np.array([0.05, 0.1, 0.2, 0.2, 0.2, 0.3, 0.5, 0.6, 0.8, 0.9])
    y = np.array([0, 0, 1, 0, 0, 0, 1, 1, 0, 1])
    tab = ev.calibration_table(p, y, bins=5)
    assert list(tab.columns) == [
        "bin", "n", "events", "observed_rate", "obs_conf_low", "obs_conf_high", "mean_predicted",
    ]
    assert tab["n"].tolist() == [2, 3, 1, 2, 2]
    assert tab["events"].tolist() == [0, 1, 0, 2, 1]
    assert_rel(tab["mean_predicted"], [0.075, 0.2, 0.3, 0.55, 0.85], EXACT)
    # Wilson score interval written out
    z = stats.norm.ppf(0.975)
    n, k = tab["n"].to_numpy(), tab["events"].to_numpy()
    phat = k / n
    centre = (phat + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * np.sqrt(phat * (1 - phat) / n + z**2 / (4 * n**2))
    assert_rel(tab["observed_rate"], phat, EXACT)
    np.testing.assert_allclose(tab["obs_conf_low"], centre - half, rtol=1e-10, atol=1e-15)
    assert_rel(tab["obs_conf_high"], centre + half, 1e-10)


def test_calibration_table_real_data_wilson(fitted):
    p, y = fitted
    tab = ev.calibration_table(p, y, bins=10, conf_level=0.9)
    assert tab["n"].sum() == len(p) and tab["events"].sum() == y.sum()
    z = stats.norm.ppf(0.95)
    n, phat = tab["n"].to_numpy(), tab["observed_rate"].to_numpy()
    centre = (phat + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * np.sqrt(phat * (1 - phat) / n + z**2 / (4 * n**2))
    assert_rel(tab["obs_conf_low"], centre - half, 1e-10)
    assert_rel(tab["obs_conf_high"], centre + half, 1e-10)
    assert np.all(np.diff(tab["mean_predicted"]) > 0)


# ------------------------------------------------------------------------------------------ evaluate


EVALUATE_KEYS = [
    "n", "events", "auc", "auc_ci_low", "auc_ci_high", "ks", "ks_threshold", "somers_d", "gamma",
    "tau_a", "c", "brier", "hl_chi2", "hl_df", "hl_p",
]


def test_evaluate_keys_and_values(fitted, r_reference):
    p, y = fitted
    m = ev.evaluate(p, y)
    assert list(m) == EVALUATE_KEYS
    assert m["n"] == len(p) == r_reference["info"]["n_rows"]
    assert m["events"] == y.sum() == r_reference["info"]["n_events"]
    auc = r_reference["4_roc_auc_ks"]
    hl = r_reference["5_hosmer_lemeshow"]
    assert_rel(
        [m["auc"], m["auc_ci_low"], m["auc_ci_high"], m["c"], m["ks"], m["ks_threshold"], m["hl_chi2"], m["hl_p"]],
        [auc["auc_pROC"], auc["auc_ci_delong"]["lower"], auc["auc_ci_delong"]["upper"], auc["auc_pROC"],
         auc["ks"]["statistic"], auc["ks"]["threshold_fitted_value"], hl["chisq"], hl["p_value"]],
        R_TOL,
    )
    assert m["hl_df"] == 8
    conc = ev.concordance(p, y)
    assert [m["somers_d"], m["gamma"], m["tau_a"]] == [conc["somers_d"], conc["gamma"], conc["tau_a"]]
    assert m["brier"] == ev.brier_score(p, y)
    assert json.loads(json.dumps(m)) == m  # plain numbers, JSON-ready


# ------------------------------------------------------------------------------------------ rows == patterns


def _same(a, b):
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=EXACT, atol=0, check_dtype=False)
    elif isinstance(a, tuple):
        for x, z in zip(a, b, strict=True):
            _same(x, z)
    else:
        assert list(a) == list(b)
        for k in a:
            if isinstance(a[k], int):
                assert a[k] == b[k], k
            else:
                assert_rel(a[k], b[k], EXACT)


FUNCTIONS = [
    ev.roc_curve, ev.auc_delong, ev.ks_statistic, ev.ks_curve, ev.concordance, ev.hosmer_lemeshow,
    ev.classification_table, ev.gains_table, ev.calibration_table, ev.evaluate,
]


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda f: f.__name__)
def test_rows_equal_patterns_on_real_data(fn, fitted, patterns, split_patterns, r_reference):
    p, y = fitted
    assert len(patterns[0]) == r_reference["4_roc_auc_ks"]["n_unique_fitted"]  # 12,300 as in R
    on_rows = fn(p, y)
    _same(on_rows, fn(*patterns))
    _same(on_rows, fn(*split_patterns))


def test_brier_rows_equal_patterns(fitted, patterns, split_patterns):
    p, y = fitted
    assert_rel(ev.brier_score(*patterns), ev.brier_score(p, y), EXACT)
    assert_rel(ev.brier_score(*split_patterns), ev.brier_score(p, y), EXACT)


def test_rows_equal_patterns_with_other_bins(fitted, patterns):
    p, y = fitted
    _same(ev.hosmer_lemeshow(p, y, groups=7), ev.hosmer_lemeshow(*patterns, groups=7))
    _same(ev.gains_table(p, y, bins=20), ev.gains_table(*patterns, bins=20))
    _same(ev.calibration_table(p, y, bins=3), ev.calibration_table(*patterns, bins=3))


# ------------------------------------------------------------------------------------------ input


@pytest.mark.parametrize(
    "args, message",
    [
        (([0.1, np.nan], [0, 1]), "probabilities"),
        (([0.1, 1.2], [0, 1]), "probabilities"),
        (([0.1, 0.2], [0, 2]), "0/1"),
        (([0.1, 0.2], [0, 0.5]), "whole numbers"),
        (([0.1, 0.2], [0, 3], [2, 2]), "exceed"),
        (([0.1, 0.2], [0, 1], [0, 2]), "at least 1"),
        (([0.1, 0.2], [0, 1, 1]), "same length"),
        (([0.1, 0.2], [1, 1]), "one event"),
        (([], []), "empty"),
    ],
)
def test_invalid_input(args, message):
    with pytest.raises(ValueError, match=message):
        ev.auc_delong(*args)


def test_hosmer_lemeshow_needs_two_distinct_values():
    with pytest.raises(ValueError, match="equal"):
        ev.hosmer_lemeshow([0.3, 0.3, 0.3], [0, 1, 0])
