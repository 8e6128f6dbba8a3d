"""Exploratory tables against hand calculations and independent computations.

Tiny frame: every expected number below was worked out by hand from the eight rows of
``tiny()`` (the working is in the comments). Real data: counts and rates against
``pandas.crosstab`` / numpy boolean masks, correlations against ``numpy.corrcoef`` and
``scipy.stats.pearsonr``, Wilson intervals against the closed form, and the class counts
against R's (``r_reference``).
"""
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.evaluate import explore

from conftest import PREDICTORS

Z = stats.norm.ppf(0.975)


def wilson_closed_form(x, n, z=Z):
    """(p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n), written out independently."""
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    p = x / n
    centre = p + z**2 / (2 * n)
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    denom = 1 + z**2 / n
    return (centre - half) / denom, (centre + half) / denom


def tiny() -> pd.DataFrame:
    #            0     1    2    3    4    5    6    7
    return pd.DataFrame({
        "age":      [17,   18,  29,  30,  45,  59,  60,  72],
        "job":      ["a", "b", "a", "b", "a", "c", "c", "a"],
        "marriage": ["married", "single", "single", "married", "divorced", "married",
                     "single", "married"],
        "coupon_used_in_last6_month": [0, 1, 2, 3, 0, 1, 4, 1],
        "coupon_used_in_last_month":  [0, 0, 1, 1, 0, 0, 2, 1],
        "default_yes":  [0, 0, 0, 1, 0, 0, 0, 0],
        "returned_yes": [1, 0, 1, 0, 1, 1, 0, 0],
        "loan_yes":     [0, 1, 0, 0, 0, 1, 0, 0],
        "flag":         [0, 1, 0, 0, 0, 0, 1, 1],
    })


# ------------------------------------------------------------------------------------------
# tiny frame, by hand


def test_class_balance_by_hand():
    out = explore.class_balance(tiny(), response="flag")
    assert list(out.columns) == ["flag", "n", "share"]
    assert out["flag"].tolist() == [0, 1]
    assert out["n"].tolist() == [5, 3]                       # rows 1, 6, 7 have flag 1
    np.testing.assert_allclose(out["share"], [5 / 8, 3 / 8], rtol=0, atol=1e-15)


def test_class_balance_keeps_an_empty_class():
    out = explore.class_balance(pd.DataFrame({"flag": [0, 0, 0]}), response="flag")
    assert out["n"].tolist() == [3, 0]
    assert out["share"].tolist() == [1.0, 0.0]


def test_response_must_be_binary():
    with pytest.raises(ValueError):
        explore.class_balance(pd.DataFrame({"flag": [0, 2]}), response="flag")
    with pytest.raises(ValueError):
        explore.rate_by(pd.DataFrame({"flag": [0, np.nan], "x": [1, 2]}), "x", response="flag")


def test_means_by_flag_by_hand():
    out = explore.means_by_flag(tiny(), response="flag").set_index("variable")
    assert list(out.reset_index().columns) == ["variable", "mean_flag_0", "mean_flag_1",
                                               "difference"]
    # numeric columns in frame order, response and strings left out
    assert out.index.tolist() == ["age", "coupon_used_in_last6_month",
                                  "coupon_used_in_last_month", "default_yes", "returned_yes",
                                  "loan_yes"]
    # flag 0: rows 0, 2, 3, 4, 5 -> ages 17 + 29 + 30 + 45 + 59 = 180, / 5 = 36
    # flag 1: rows 1, 6, 7       -> ages 18 + 60 + 72 = 150, / 3 = 50
    assert out.loc["age", "mean_flag_0"] == pytest.approx(36.0, abs=1e-12)
    assert out.loc["age", "mean_flag_1"] == pytest.approx(50.0, abs=1e-12)
    assert out.loc["age", "difference"] == pytest.approx(14.0, abs=1e-12)
    # returned_yes: flag 0 rows -> 1, 1, 0, 1, 1 = 0.8; flag 1 rows -> 0, 0, 0 = 0
    assert out.loc["returned_yes", "mean_flag_0"] == pytest.approx(0.8, abs=1e-12)
    assert out.loc["returned_yes", "mean_flag_1"] == pytest.approx(0.0, abs=1e-12)
    # coupon_used_in_last_month: flag 0 -> 0+1+1+0+0 = 2/5; flag 1 -> 0+2+1 = 3/3
    assert out.loc["coupon_used_in_last_month", "mean_flag_0"] == pytest.approx(0.4, abs=1e-12)
    assert out.loc["coupon_used_in_last_month", "mean_flag_1"] == pytest.approx(1.0, abs=1e-12)


def test_rate_by_by_hand():
    out = explore.rate_by(tiny(), "returned_yes", response="flag")
    assert list(out.columns) == explore.RATE_COLUMNS
    # returned = 0: rows 1, 3, 6, 7 with flags 1, 0, 1, 1 -> 3 / 4
    # returned = 1: rows 0, 2, 4, 5 with flags 0, 0, 0, 0 -> 0 / 4
    assert out["level"].tolist() == [0, 1]
    assert out["n"].tolist() == [4, 4]
    assert out["events"].tolist() == [3, 0]
    np.testing.assert_allclose(out["rate"], [0.75, 0.0], atol=1e-15)
    # Wilson with 0 events: lower 0, upper z²/(n + z²)
    assert out.loc[1, "conf_low"] == pytest.approx(0.0, abs=1e-12)
    assert out.loc[1, "conf_high"] == pytest.approx(Z**2 / (4 + Z**2), abs=1e-12)

    job = explore.rate_by(tiny(), "job", response="flag")
    # a: rows 0, 2, 4, 7 -> flags 0, 0, 0, 1; b: rows 1, 3 -> 1, 0; c: rows 5, 6 -> 0, 1
    assert job["level"].tolist() == ["a", "b", "c"]
    assert job["n"].tolist() == [4, 2, 2]
    assert job["events"].tolist() == [1, 1, 1]
    np.testing.assert_allclose(job["rate"], [0.25, 0.5, 0.5], atol=1e-15)


def test_rate_by_keeps_missing_level():
    df = pd.DataFrame({"flag": [1, 0, 1, 0], "job": ["a", None, "b", "a"]})
    out = explore.rate_by(df, "job", response="flag")
    assert out["n"].sum() == 4
    assert out["level"].iloc[:2].tolist() == ["a", "b"]
    assert pd.isna(out["level"].iloc[2])
    assert out["events"].tolist() == [1, 1, 0]


def test_wilson_interval_matches_closed_form():
    x = np.array([0, 1, 3, 7, 50, 99, 100])
    n = np.array([4, 4, 10, 7, 120, 100, 100])
    low, high = explore.wilson_interval(x, n)
    ref_low, ref_high = wilson_closed_form(x, n)
    np.testing.assert_allclose(low, ref_low, rtol=0, atol=1e-12)
    np.testing.assert_allclose(high, ref_high, rtol=0, atol=1e-12)
    # alpha changes z
    low90, _ = explore.wilson_interval(3, 10, alpha=0.10)
    assert low90 == pytest.approx(wilson_closed_form(3, 10, stats.norm.ppf(0.95))[0], abs=1e-12)
    # n = 0 gives NaN, not an error
    low0, high0 = explore.wilson_interval([0], [0])
    assert np.isnan(low0[0]) and np.isnan(high0[0])


def test_age_group_labels():
    assert explore.bin_labels((18, 30, 40, 50, 60, math.inf)) == ["18\u201329", "30\u201339", "40\u201349",
                                          "50\u201359", "60+"]
    assert explore.bin_labels((18.5, 30, math.inf)) == ["[18.5, 30)", "30+"]


def test_age_groups_by_hand():
    out = explore.binned_rates(tiny(), (18, 30, 40, 50, 60, math.inf), "age", response="flag")
    assert list(out.columns) == explore.RATE_COLUMNS
    # 17 -> "<18" (below the first edge, kept); 18, 29 -> 18–29 (edge 18 inclusive);
    # 30 -> 30–39 (edge 30 starts the next bin); 45 -> 40–49; 59 -> 50–59; 60, 72 -> 60+
    assert out["level"].tolist() == ["<18", "18\u201329", "30\u201339", "40\u201349",
                                     "50\u201359", "60+"]
    assert out["n"].tolist() == [1, 2, 1, 1, 1, 2]
    assert out["events"].tolist() == [0, 1, 0, 0, 0, 2]      # flags: 18, 60, 72 used it
    np.testing.assert_allclose(out["rate"], [0, 0.5, 0, 0, 0, 1.0], atol=1e-15)
    assert out["n"].sum() == len(tiny())


def test_age_groups_extra_groups_and_empty_bins():
    df = pd.DataFrame({"age": [10, 25, 80, np.nan], "flag": [1, 0, 1, 0]})
    out = explore.binned_rates(df, (18, 30, 40, 70), "age", response="flag")
    # below 18 -> "<18"; 25 -> 18–29; 30–39 empty (kept, n 0); 40–69 empty; 80 -> "70+"
    assert out["level"].tolist() == ["<18", "18\u201329", "30\u201339", "40\u201369", "70+",
                                     "missing"]
    assert out["n"].tolist() == [1, 1, 0, 0, 1, 1]
    assert out["events"].tolist() == [1, 0, 0, 0, 1, 0]
    assert out.loc[2, ["rate", "conf_low", "conf_high"]].isna().all()
    assert out["n"].sum() == len(df)
    with pytest.raises(ValueError):
        explore.binned_rates(df, (30, 18), "age", response="flag")


def test_age_tail_by_hand():
    out = explore.tail_rates(tiny(), 60, "age", response="flag")
    assert list(out.columns) == ["group", "n", "share", "events", "rate", "conf_low",
                                 "conf_high", "min", "max"]
    assert out["group"].tolist() == ["under 60", "60+"]
    # under 60: ages 17..59 (6 rows), one event (age 18); 60+: ages 60 and 72, both events
    assert out["n"].tolist() == [6, 2]
    assert out["events"].tolist() == [1, 2]
    np.testing.assert_allclose(out["share"], [0.75, 0.25], atol=1e-15)
    np.testing.assert_allclose(out["rate"], [1 / 6, 1.0], atol=1e-15)
    assert out["min"].tolist() == [17, 60]
    assert out["max"].tolist() == [59, 72]
    ref_low, ref_high = wilson_closed_form([1, 2], [6, 2])
    np.testing.assert_allclose(out["conf_low"], ref_low, atol=1e-12)
    np.testing.assert_allclose(out["conf_high"], ref_high, atol=1e-12)


def test_correlations_by_hand():
    corr = explore.correlations(tiny(), response="flag")
    assert corr.columns[-1] == "flag" and corr.index.name == "variable"
    assert "job" not in corr.columns and "marriage" not in corr.columns
    # returned_yes vs flag is a phi coefficient: 2x2 counts (returned, flag):
    # (1,1) = 0, (0,0) = 1 [row 3], (1,0) = 4 [rows 0, 2, 4, 5], (0,1) = 3 [rows 1, 6, 7]
    # phi = (0·1 − 4·3) / sqrt(4·4·3·5) = −12 / sqrt(240)
    assert corr.loc["returned_yes", "flag"] == pytest.approx(-12 / math.sqrt(240), abs=1e-12)
    np.testing.assert_allclose(np.diag(corr), 1.0, atol=1e-12)
    np.testing.assert_allclose(corr.to_numpy(), corr.to_numpy().T, atol=1e-15)


TINY_SPEC = {
    "dataset": {"row": "customer", "rows": "customers"},
    "response": {"column": "y", "name": "flag", "event": "1", "non_event": "0", "label": "Used the coupon",
                 "verb": "used the coupon", "rate": "coupon-use rate", "event_group": "coupon users",
                 "non_event_group": "non-users"},
    "variables": [
        {"column": "age", "type": "count", "label": "Age", "bins": [18, 30, 40, 50, 60], "tail_above": 60},
        {"column": "job", "type": "categorical", "label": "Job"},
        {"column": "returned", "type": "binary", "label": "Returned goods", "yes_group": "customers who returned goods",
         "no_group": "those who did not"},
    ],
}


def tiny_tables(spec):

    return explore.tables(tiny()[["age", "job", "returned_yes", "flag"]], spec)


def test_headline_sentences_by_hand():
    from analysis.spec import spec_from_dict

    spec = spec_from_dict(TINY_SPEC)
    out = explore.headline_sentences(tiny_tables(spec), spec).set_index("topic")["sentence"]
    assert out.index.tolist() == ["class_balance", "age_group", "age_tail", "job", "returned", "correlation"]
    assert out["class_balance"] == "3 of 8 customers (37.5%) used the coupon."
    assert out["returned"] == ("Customers who returned goods used the coupon at 0.0% versus "
                               "75.0% for those who did not.")
    # job: a 1/4 = 25.0% (n 4); b and c 1/2 = 50.0% (n 2): the first maximum (b) is named
    assert out["job"] == ("By job, the coupon-use rate ranged from 25.0% (a, n = 4) "
                          "to 50.0% (b, n = 2).")
    assert out["age_tail"] == ("Customers with age 60 or over are 25.0% of customers (n = 2) and "
                               "used the coupon at 100.0% versus 16.7% for the others.")
    # strongest |r| with flag: returned_yes, -12/sqrt(240) = -0.7746; the 0/1 column named by its level
    assert out["correlation"] == ("The strongest linear association with the response (used the coupon) is "
                                  "\u201cReturned goods: yes\u201d (Pearson r = -0.775).")


# ------------------------------------------------------------------------------------------
# real data, against independent computations


def test_class_balance_real(real_clean, r_reference):
    out = explore.class_balance(real_clean, response="flag")
    counts = np.bincount(real_clean["flag"].to_numpy(), minlength=2)
    assert out["n"].tolist() == counts.tolist()
    assert out["n"].tolist() == [r_reference["info"]["n_nonevents"],
                                 r_reference["info"]["n_events"]]
    np.testing.assert_allclose(out["share"], counts / counts.sum(), rtol=0, atol=1e-15)


@pytest.mark.parametrize("column", ["returned_yes", "marriage", "job", "loan_yes", "default_yes"])
def test_rate_by_real_matches_crosstab(real_clean, column):
    out = explore.rate_by(real_clean, column, response="flag")
    tab = pd.crosstab(real_clean[column], real_clean["flag"])
    props = pd.crosstab(real_clean[column], real_clean["flag"], normalize="index")
    assert out["level"].tolist() == tab.index.tolist()
    assert out["n"].tolist() == tab.sum(axis=1).tolist()
    assert out["events"].tolist() == tab[1].tolist()
    np.testing.assert_allclose(out["rate"], props[1].to_numpy(), rtol=0, atol=1e-12)
    ref_low, ref_high = wilson_closed_form(tab[1].to_numpy(), tab.sum(axis=1).to_numpy())
    np.testing.assert_allclose(out["conf_low"], ref_low, rtol=0, atol=1e-12)
    np.testing.assert_allclose(out["conf_high"], ref_high, rtol=0, atol=1e-12)
    assert out["n"].sum() == len(real_clean)


def test_means_by_flag_real(real_clean):
    out = explore.means_by_flag(real_clean, response="flag").set_index("variable")
    y = real_clean["flag"].to_numpy()
    for var in out.index:
        x = real_clean[var].to_numpy(dtype=float)
        assert out.loc[var, "mean_flag_0"] == pytest.approx(np.mean(x[y == 0]), rel=1e-12)
        assert out.loc[var, "mean_flag_1"] == pytest.approx(np.mean(x[y == 1]), rel=1e-12)
        assert out.loc[var, "difference"] == pytest.approx(
            np.mean(x[y == 1]) - np.mean(x[y == 0]), rel=1e-10, abs=1e-12)
    # the original analysis' groupby('flag').mean(), transposed
    g = real_clean.groupby("flag").mean(numeric_only=True).T
    np.testing.assert_allclose(out[["mean_flag_0", "mean_flag_1"]].to_numpy(),
                               g.loc[out.index, [0, 1]].to_numpy(), rtol=1e-12)


def test_age_groups_real_matches_masks(real_clean):
    out = explore.binned_rates(real_clean, (18, 30, 40, 50, 60, math.inf), "age", response="flag")
    age = real_clean["age"].to_numpy()
    y = real_clean["flag"].to_numpy()
    assert age.min() >= 18                      # so no "<18" group on the real data
    bounds = [(18, 30), (30, 40), (40, 50), (50, 60), (60, np.inf)]
    assert out["level"].tolist() == ["18\u201329", "30\u201339", "40\u201349", "50\u201359", "60+"]
    for (lo, hi), (_, row) in zip(bounds, out.iterrows()):
        mask = (age >= lo) & (age < hi)
        assert row["n"] == mask.sum()
        assert row["events"] == y[mask].sum()
        assert row["rate"] == pytest.approx(y[mask].mean(), abs=1e-12)
        low, high = wilson_closed_form(y[mask].sum(), mask.sum())
        assert row["conf_low"] == pytest.approx(low, abs=1e-12)
        assert row["conf_high"] == pytest.approx(high, abs=1e-12)
    assert out["n"].sum() == len(real_clean)


def test_age_tail_real(real_clean):
    out = explore.tail_rates(real_clean, 60, "age", response="flag")
    age = real_clean["age"].to_numpy()
    y = real_clean["flag"].to_numpy()
    old = age >= 60
    assert out["n"].tolist() == [(~old).sum(), old.sum()]
    np.testing.assert_allclose(out["share"], [(~old).mean(), old.mean()], atol=1e-15)
    np.testing.assert_allclose(out["rate"], [y[~old].mean(), y[old].mean()], atol=1e-12)
    assert out["max"].iloc[0] == age[~old].max() and out["min"].iloc[1] == 60


def test_correlations_real_match_numpy(real_clean):
    corr = explore.correlations(real_clean, response="flag")
    cols = list(corr.columns)
    assert set(cols) == {"age", "coupon_used_in_last6_month", "coupon_used_in_last_month",
                         "default_yes", "returned_yes", "loan_yes", "flag"}
    ref = np.corrcoef(real_clean[cols].to_numpy(dtype=float), rowvar=False)
    np.testing.assert_allclose(corr.to_numpy(), ref, rtol=0, atol=1e-12)


def test_correlation_with_flag_real_matches_scipy(real_clean):
    out = explore.correlation_with_flag(real_clean, response="flag")
    assert list(out.columns) == ["variable", "correlation"]
    assert "flag" not in out["variable"].tolist() and len(out) == 6
    for var, r in zip(out["variable"], out["correlation"]):
        assert r == pytest.approx(stats.pearsonr(real_clean[var], real_clean["flag"])[0],
                                  abs=1e-12)
    assert np.all(np.diff(out["correlation"].abs().to_numpy()) <= 0)


def test_headline_sentences_real_use_table_numbers(real_data_path, real_clean):
    from analysis.spec import default_spec

    from conftest import pandas_rows

    spec = default_spec()
    rows, _ = pandas_rows(real_data_path)
    out = explore.headline_sentences(explore.tables(rows, spec), spec).set_index("topic")["sentence"]
    props = pd.crosstab(real_clean["returned_yes"], real_clean["flag"], normalize="index")[1]
    assert out["returned"] == (f"Customers who returned goods used the coupon at "
                               f"{100 * props[1]:.1f}% versus {100 * props[0]:.1f}% for customers "
                               f"who did not return goods.")
    n1 = int(real_clean["flag"].sum())
    assert out["class_balance"].startswith(f"{n1:,} of {len(real_clean):,} customers")
    job = pd.crosstab(real_clean["job"], real_clean["flag"], normalize="index")[1]
    assert f"{100 * job.min():.1f}% ({job.idxmin()}," in out["job"]
    assert f"{100 * job.max():.1f}% ({job.idxmax()}," in out["job"]
    old = real_clean["age"] >= 60
    assert f"{100 * real_clean.loc[old, 'flag'].mean():.1f}%" in out["age_tail"]


def test_profile_by_score_hand_calculation():
    from analysis.evaluate.explore import profile_by_score

    df = pd.DataFrame({"job": ["a", "b", "a", "b", "a"], "marriage": ["x", "x", "y", "y", "y"],
                       "returned_yes": [0, 1, 0, 1, 1], "age": [20, 30, 40, 50, 60], "flag": [1, 0, 1, 0, 0]})
    p = [0.9, 0.1, 0.8, 0.2, 0.3]
    # quantile(p, 0.6) with linear interpolation: sorted 0.1 0.2 0.3 0.8 0.9, position 2.4 -> 0.3 + 0.4*0.5 = 0.5
    out = profile_by_score(df, p, top_share=0.4, response="flag").set_index("characteristic")
    assert out.attrs["threshold"] == pytest.approx(0.5) and out.attrs["n_top"] == 2
    assert out.loc["event rate (observed)", ["top", "rest"]].tolist() == [1.0, 0.0]
    assert out.loc["job: a", ["top", "rest"]].tolist() == [1.0, pytest.approx(1 / 3)]
    assert out.loc["returned_yes", ["top", "rest"]].tolist() == [0.0, 1.0]
    assert out.loc["age", ["top", "rest"]].tolist() == [30.0, pytest.approx(140 / 3)]
    assert out.loc["age", "difference"] == pytest.approx(30 - 140 / 3)


def test_profile_by_score_matches_groupby_on_real_data(real_clean):
    from analysis.evaluate.explore import profile_by_score

    p = np.random.default_rng(3).random(len(real_clean))
    out = profile_by_score(real_clean, p, response="flag").set_index("characteristic")
    top = p >= np.quantile(p, 0.8)
    means = real_clean.assign(top=top).groupby("top")[["age", "flag", "loan_yes"]].mean()
    assert out.loc["age", "top"] == pytest.approx(means.loc[True, "age"], rel=1e-12)
    assert out.loc["event rate (observed)", "rest"] == pytest.approx(means.loc[False, "flag"], rel=1e-12)
    assert out.loc["loan_yes", "top"] == pytest.approx(means.loc[True, "loan_yes"], rel=1e-12)


# ------------------------------------------------------------------------------------------
# weighted rows and covariate patterns: the tables of the rows they stand for


TABLES = {
    "class_balance": lambda df, **kw: explore.class_balance(df, response="flag", **kw),
    "means_by_flag": lambda df, **kw: explore.means_by_flag(df, response="flag", **kw),
    "rate_by_returned": lambda df, **kw: explore.rate_by(df, "returned_yes", response="flag", **kw),
    "rate_by_job": lambda df, **kw: explore.rate_by(df, "job", response="flag", **kw),
    "rate_by_marriage": lambda df, **kw: explore.rate_by(df, "marriage", response="flag", **kw),
    "rate_by_loan": lambda df, **kw: explore.rate_by(df, "loan_yes", response="flag", **kw),
    "age_groups": lambda df, **kw: explore.binned_rates(df, (18, 30, 40, 50, 60, math.inf), "age", response="flag", **kw),
    "age_tail": lambda df, **kw: explore.tail_rates(df, 60, "age", response="flag", **kw),
    "correlations": lambda df, **kw: explore.correlations(df, response="flag", **kw),
    "correlation_with_flag": lambda df, **kw: explore.correlation_with_flag(df, response="flag", **kw),
}


@pytest.fixture(scope="module")
def real_patterns(real_clean):
    from analysis.read import patterns
    from analysis.read import split

    # a split, so that a covariate combination can appear in two patterns (train and test)
    table = patterns.from_rows(real_clean, split.in_test_sample(np.arange(len(real_clean)), 5, 0.3),
                               PREDICTORS, "flag")
    return table[["sample", *PREDICTORS, "trials", "events"]]


def assert_same(got: pd.DataFrame, expected: pd.DataFrame):
    """Equal to 1e-12 (in fact identical: sums of whole numbers are exact, see the module docstring)."""
    pd.testing.assert_frame_equal(got, expected, rtol=1e-12, atol=0)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


@pytest.mark.parametrize("name", list(TABLES))
def test_pattern_table_gives_the_tables_of_its_rows(real_clean, real_patterns, name):
    from analysis.read import patterns

    function = TABLES[name]
    from_patterns = function(real_patterns)
    expanded = patterns.expand(real_patterns, "flag")                 # the rows, in pattern order, with 'sample'
    assert_same(from_patterns, function(expanded))
    assert_same(function(real_patterns.drop(columns="sample")), function(real_clean))   # original row order


@pytest.mark.parametrize("name", list(TABLES))
def test_weights_column_and_array_give_the_tables_of_repeated_rows(name):
    function = TABLES[name]
    df = tiny()
    w = np.array([2, 0, 1, 3, 1, 1, 4, 1])
    repeated = df.loc[np.repeat(df.index, w)].reset_index(drop=True)
    assert_same(function(df.assign(count=w), weights="count"), function(repeated))
    assert_same(function(df, weights=w), function(repeated))


def test_weighted_hand_calculation():
    df = tiny()
    w = [2, 0, 1, 3, 1, 1, 4, 1]
    # flags 0 1 0 0 0 0 1 1 -> users: rows 6 (4) and 7 (1) = 5 (row 1 has weight 0); all: 13
    cb = explore.class_balance(df, weights=w, response="flag")
    assert cb["n"].tolist() == [8, 5] and cb["share"].tolist() == [8 / 13, 5 / 13]
    # job a: rows 0, 2, 4, 7 -> n 2+1+1+1 = 5, events 1 (row 7); b: rows 1 (w 0), 3 -> n 3, events 0;
    # c: rows 5, 6 -> n 1+4 = 5, events 4
    job = explore.rate_by(df, "job", weights=w, response="flag")
    assert job["n"].tolist() == [5, 3, 5] and job["events"].tolist() == [1, 0, 4]
    # mean age of users: (60*4 + 72) / 5 = 62.4; of non-users: (17*2 + 29 + 30*3 + 45 + 59) / 8 = 257 / 8
    means = explore.means_by_flag(df, weights=w, response="flag").set_index("variable")
    assert means.loc["age", "mean_flag_1"] == 62.4 and means.loc["age", "mean_flag_0"] == 257 / 8
    # a level with weight 0 only does not exist, as on the expanded rows
    assert 1 not in explore.rate_by(df.iloc[[0, 1]], "loan_yes", weights=[1, 0], response="flag")["level"].tolist()


def test_profile_by_score_weighted_hand_calculation():
    df = pd.DataFrame({"job": ["a", "b", "a", "b", "a"], "marriage": ["x", "x", "y", "y", "y"],
                       "returned_yes": [0, 1, 0, 1, 1], "age": [20, 30, 40, 50, 60], "flag": [1, 0, 1, 0, 0]})
    p = [0.9, 0.1, 0.8, 0.2, 0.3]
    # weights 1 2 1 1 1 -> 6 customers, sorted p 0.1 0.1 0.2 0.3 0.8 0.9; quantile 0.6: position
    # (6 - 1) * 0.6 = 3 -> 0.3 exactly; top = p >= 0.3: rows 0, 2, 4 (3 customers, 2 users)
    out = explore.profile_by_score(df, p, top_share=0.4, weights=[1, 2, 1, 1, 1], response="flag").set_index("characteristic")
    assert out.attrs["threshold"] == 0.3 and out.attrs["n_top"] == 3 and out.attrs["n_rest"] == 3
    assert out.loc["event rate (observed)", ["top", "rest"]].tolist() == [2 / 3, 0.0]
    # rest: row 1 twice (age 30) and row 3 (age 50) -> (60 + 50) / 3
    assert out.loc["age", ["top", "rest"]].tolist() == [40.0, 110 / 3]
    assert out.loc["returned_yes", ["top", "rest"]].tolist() == [1 / 3, 1.0]


def test_profile_by_score_patterns_equal_rows(real_clean, real_patterns):
    from analysis.read import patterns

    def score(frame):   # any function of the covariates, so that rows of a pattern share their p
        job = frame["job"].map({j: i for i, j in enumerate(sorted(frame["job"].unique()))}).to_numpy()
        eta = 0.03 * frame["age"] - 0.8 * frame["returned_yes"] + 0.4 * frame["coupon_used_in_last_month"] + 0.1 * job
        return 1 / (1 + np.exp(-eta.to_numpy(dtype=float)))

    from analysis.spec import default_spec

    spec = default_spec()
    got = explore.profile_by_score(real_patterns, score(real_patterns), spec=spec, response="flag")
    rows = patterns.expand(real_patterns, "flag")
    expected = explore.profile_by_score(rows, score(rows), spec=spec, response="flag")
    original = explore.profile_by_score(real_clean, score(real_clean), spec=spec, response="flag")
    assert_same(got, expected)
    assert_same(got, original)
    assert got.attrs == expected.attrs == original.attrs
    p = score(real_clean)
    assert got.attrs["threshold"] == np.quantile(p, 0.8) and got.attrs["n_top"] == (p >= np.quantile(p, 0.8)).sum()


def test_weighted_quantile_is_numpys_quantile_of_the_repeated_values():
    rng = np.random.default_rng(11)
    for trial in range(300):
        n = int(rng.integers(1, 40))
        x = rng.choice(rng.random(max(1, n // 2)), n)           # ties
        if trial % 3 == 0:
            x = np.round(x, 1)
        w = rng.integers(0, 6, n)
        w[rng.integers(0, n)] += 1                              # at least one value
        expanded = np.repeat(x, w)
        for q in (0.2, 0.5, 0.8, 0.95, 1 / 3, float(rng.random())):
            assert explore.weighted_quantile(x, w, q) == np.quantile(expanded, q), (trial, q)


def test_weighted_correlation_of_real_numbers_matches_numpy_fweights():
    rng = np.random.default_rng(4)
    df = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200), "flag": rng.integers(0, 2, 200)})
    df["b"] += 0.5 * df["a"]
    w = rng.integers(0, 5, 200)
    corr = explore.correlations(df, weights=w, response="flag")
    cov = np.cov(df[["a", "b", "flag"]].to_numpy(dtype=float), rowvar=False, fweights=w)
    sd = np.sqrt(np.diag(cov))
    np.testing.assert_allclose(corr.to_numpy(), cov / np.outer(sd, sd), rtol=0, atol=1e-12)
    repeated = df.loc[np.repeat(df.index, w)]
    np.testing.assert_allclose(corr.to_numpy(), explore.correlations(repeated, response="flag").to_numpy(), rtol=0, atol=1e-12)


def test_weighted_forms_reject_bad_counts(real_patterns):
    with pytest.raises(ValueError, match="own counts"):
        explore.class_balance(real_patterns, weights="trials", response="flag")
    with pytest.raises(ValueError, match="whole numbers"):
        explore.class_balance(tiny(), weights=[1.5] * 8, response="flag")
    with pytest.raises(ValueError, match="whole numbers"):
        explore.class_balance(tiny(), weights=[-1] * 8, response="flag")
    with pytest.raises(ValueError, match="8 rows"):
        explore.class_balance(tiny(), weights=[1, 2], response="flag")
    with pytest.raises(ValueError, match="exceed"):
        explore.class_balance(real_patterns.assign(events=real_patterns["trials"] + 1), response="flag")
    with pytest.raises(KeyError):
        explore.class_balance(tiny(), weights="nope", response="flag")
