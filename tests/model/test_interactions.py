"""analysis.model.interactions against R 4.2.2: anova(m0, m1, test = "LRT") of each pairwise interaction, Holm's
adjustment, the global chunk test, and odds ratios within levels (tests/reference/r/titanic.json, made by
titanic.R; tests/reference/r/tmall_interactions.json, made by tmall_interactions.R)."""
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.model import interactions
from analysis.model.selection import SelectionSettings, select_and_fit
from analysis.read import patterns

REF = Path(__file__).resolve().parents[1] / "reference" / "r"
TITANIC = Path(__file__).resolve().parents[1] / "data" / "public" / "titanic.csv"
SEX, CLASS = "C(sex, Treatment(reference='male'))", "C(passengerClass, Treatment(reference='3rd'))"


@pytest.fixture(scope="module")
def titanic_ref():
    return json.loads((REF / "titanic.json").read_text())


@pytest.fixture(scope="module")
def titanic_fit():
    rows = pd.read_csv(TITANIC).dropna(subset=["age"])
    rows["flag"] = (rows["survived"] == "yes").astype("int64")
    table = patterns.from_rows(rows, np.zeros(len(rows), bool), ["sex", "passengerClass", "age"], "flag")
    table = table.drop(columns="sample")
    return select_and_fit(table, [SEX, CLASS, "age"], SelectionSettings(direction="none"), knots=pd.DataFrame(),
                          baselines={"sex": "male", "passengerClass": "3rd"})


def _r_name(term):
    return term.replace(SEX, "sex").replace(CLASS, "passengerClass")


def test_pairwise_lr_tests_equal_r_anova(titanic_fit, titanic_ref):
    got = interactions.interaction_tests(titanic_fit).set_index("term")
    ref = titanic_ref["c_interaction_lr"]
    singles = [t for t in got.index if t != interactions.ALL_PAIRS]
    holm = dict(zip(ref["holm"]["term"], ref["holm"]["p_holm"]))
    assert sorted(_r_name(t) for t in singles) == sorted(ref["tests"])
    for term in singles:
        r = ref["tests"][_r_name(term)]
        assert got.loc[term, "df"] == r["df"]
        assert got.loc[term, "lr_chi2"] == pytest.approx(r["deviance_change"], rel=1e-6)
        assert got.loc[term, "p_value"] == pytest.approx(r["p_value"], rel=1e-6)
        assert got.loc[term, "p_holm"] == pytest.approx(holm[_r_name(term)], rel=1e-6)
    every = got.loc[interactions.ALL_PAIRS]
    assert every["df"] == ref["global"]["df"]
    assert every["lr_chi2"] == pytest.approx(ref["global"]["deviance_change"], rel=1e-6)
    # Holm-adjusted p below 0.01: sex x class (3e-11) and sex x age (1e-5), not class x age (0.095)
    assert interactions.strong(got.reset_index()) == [f"{SEX}:{CLASS}", f"{SEX}:age"]


def test_sex_within_class_odds_ratios_equal_r(titanic_fit, titanic_ref):
    got = interactions.odds_ratios_within(titanic_fit, f"{SEX}:{CLASS}")
    sex = got[got["variable"] == "sex"].set_index("at_level")
    for level, r in titanic_ref["d_sex_or_by_class"]["or_female_vs_male_by_class_hand"].items():
        assert sex.loc[level, "level"] == "female" and sex.loc[level, "baseline"] == "male"
        assert sex.loc[level, "estimate"] == pytest.approx(r["log_or"], rel=1e-6)
        assert sex.loc[level, "std_error"] == pytest.approx(r["se"], rel=1e-6)
        assert sex.loc[level, "or_conf_low"] == pytest.approx(r["ci_lower"], rel=1e-6)
        assert sex.loc[level, "or_conf_high"] == pytest.approx(r["ci_upper"], rel=1e-6)
    # the other direction: class within each sex (1st vs 3rd among men is the class coefficient itself)
    coef = titanic_ref["c_interaction_lr"]["tests"]["sex:passengerClass"]["coefficients_m1"]
    estimates = dict(zip(coef["term"], coef["estimate"]))
    cls = got[(got["variable"] == "passengerClass") & (got["at_level"] == "male")].set_index("level")
    assert cls.loc["1st", "estimate"] == pytest.approx(estimates["passengerClass1st"], rel=1e-6)
    women = got[(got["variable"] == "passengerClass") & (got["at_level"] == "female")].set_index("level")
    assert women.loc["1st", "estimate"] == pytest.approx(
        estimates["passengerClass1st"] + estimates["sexfemale:passengerClass1st"], rel=1e-6)


def test_supremum_of_a_separated_interaction_is_the_limit_of_the_likelihood():
    """A 2 x 2 interaction with an empty-outcome cell: the supremum of the log-likelihood is the saturated
    one (every cell at its observed rate, the empty cell at 0 events), in closed form."""
    cells = pd.DataFrame({"a": [0, 0, 1, 1], "b": [0, 1, 0, 1], "events": [3, 4, 5, 0], "trials": [10, 10, 10, 8]})
    X = np.column_stack([np.ones(4), cells["a"], cells["b"], cells["a"] * cells["b"]])
    y, m = cells["events"].to_numpy(float), cells["trials"].to_numpy(float)
    ll, note = interactions.supremum_loglik(X, y, m, np.zeros(4))
    rate = y / m
    expected = sum(yi * math.log(r) + (mi - yi) * math.log(1 - r) for yi, mi, r in zip(y, m, rate) if 0 < r < 1)
    assert ll == pytest.approx(expected, abs=1e-8) and "quasi-separation" in note


COUPON_TERMS = {"rcs(age, 5)": "rcs(age, [27, 33, 39, 47, 59])", "job": "C(job, Treatment(reference='blue-collar'))",
                "marriage": "C(marriage, Treatment(reference='married'))", "default": "default_yes",
                "returned": "returned_yes", "loan": "loan_yes",
                "rcs(coupons_months_2_6, 3)": "rcs(coupons_months_2_6, [0, 2, 5])",
                "coupons_last_month": "C(coupons_last_month)"}


@pytest.fixture(scope="module")
def coupon_fit(real_data_path):
    from analysis.read import read_patterns
    from analysis.spec import default_spec

    table = read_patterns(real_data_path, default_spec(), test_size=0).patterns.drop(columns="sample")
    return select_and_fit(table, list(COUPON_TERMS.values()), SelectionSettings(direction="none"),
                          knots=pd.DataFrame(), baselines={})


def test_coupon_pairwise_tests_equal_r(coupon_fit):
    """All 28 pairs of the coupon data's main-effects model (all 25,317 rows). Where R's glm converged
    without warnings the statistics agree to 1e-6; where a cell of the interaction has one outcome only
    (R: 'fitted probabilities numerically 0 or 1'), R stops after its iterations just short of the supremum
    our statistic is the limit of (1,000 iterations move R's by 8e-7): ours is not below R's and within 1e-4
    of it. Degrees of freedom are the rank
    gained, equal to R's everywhere; Holm's adjustment is R's p.adjust of these p-values."""
    ref = json.loads((REF / "tmall_interactions.json").read_text())
    table = ref["pairwise_lr"]["table"]
    r_name = {v: k for k, v in COUPON_TERMS.items()}
    got = interactions.interaction_tests(coupon_fit).set_index("term")
    singles = [t for t in got.index if t != interactions.ALL_PAIRS]
    assert len(singles) == 28
    warned = {k.removeprefix("pair ") for k in ref["warnings"] if k.startswith("pair ")}
    for term in singles:
        a, b = term.split(":", 1) if term.count("rcs(") < 2 else (term[:term.index("]):") + 2],
                                                                   term[term.index("]):") + 3:])
        name = f"{r_name[a]}:{r_name[b]}"
        i = table["interaction"].index(name)
        assert got.loc[term, "df"] == table["df"][i], name
        if name in warned:
            assert got.loc[term, "lr_chi2"] >= table["deviance_change"][i] - 1e-6
            assert got.loc[term, "lr_chi2"] == pytest.approx(table["deviance_change"][i], abs=1e-4)
            assert "quasi-separation" in got.loc[term, "note"]
        else:
            assert got.loc[term, "lr_chi2"] == pytest.approx(table["deviance_change"][i], rel=1e-6), name
    # R's glm "converges" without a warning on job x marital status while the coefficient of students who are
    # divorced (a cell with no events) runs to -30: it is quasi-separation all the same, and the note says so
    notes = got["note"].to_dict()
    assert "quasi-separation" in notes[f"{COUPON_TERMS['job']}:{COUPON_TERMS['marriage']}"]
    assert notes[f"{COUPON_TERMS['returned']}:{COUPON_TERMS['loan']}"] == ""
    assert got.loc[interactions.ALL_PAIRS, "df"] == ref["global_chunk"]["df"]
    strong = interactions.strong(got.reset_index())
    # R: Holm p < 0.01 for returned x coupons last month (4.5e-9), returned x coupons in months 2-6 (3e-6),
    # job x coupons last month (0.0024) and returned x loan (0.008)
    assert {f"{COUPON_TERMS['returned']}:{COUPON_TERMS['coupons_last_month']}",
            f"{COUPON_TERMS['returned']}:{COUPON_TERMS['rcs(coupons_months_2_6, 3)']}"} <= set(strong)


def test_returned_within_coupons_last_month_equals_r(coupon_fit):
    ref = json.loads((REF / "tmall_interactions.json").read_text())["returned_x_coupons_last_month"]
    term = f"{COUPON_TERMS['returned']}:{COUPON_TERMS['coupons_last_month']}"
    got = interactions.odds_ratios_within(coupon_fit, term)
    returned = got[got["variable"] == "returned_yes"].set_index("at_level")
    for level, r in ref["or_returned_yes_vs_no_by_coupons_last_month"].items():
        assert returned.loc[level, "estimate"] == pytest.approx(r["log_or"], rel=1e-6)
        assert returned.loc[level, "std_error"] == pytest.approx(r["se"], rel=1e-6)


def test_score_tests_equal_r_anova_rao(titanic_fit):
    """Rao's efficient score test from the fit alone (used above SCORE_ABOVE patterns) equals R's
    anova(m0, m1, test = "Rao") on the Titanic complete cases (tests/reference/r/interaction_rao.json, 1e-6)."""
    ref = json.loads((REF / "interaction_rao.json").read_text())
    got = interactions.interaction_tests(titanic_fit, test="score").set_index("term")
    assert set(got["test"]) == {"score"}
    for term in got.index:
        r = ref["global"] if term == interactions.ALL_PAIRS else ref[_r_name(term)]
        assert got.loc[term, "df"] == r["df"]
        assert got.loc[term, "lr_chi2"] == pytest.approx(r["rao"], rel=1e-6)
        assert got.loc[term, "p_value"] == pytest.approx(r["p"], rel=1e-6)


def test_score_path_finds_the_aliased_columns_r_finds(coupon_fit):
    """On the coupon data (empty cells in job x default, job x coupons last month, default x coupons last
    month), the score path's products of the fit's columns add the rank R's glm gained (the LR path's df,
    equal to R's above), and its statistic is near the LR statistic where the models converge."""
    lr = interactions.interaction_tests(coupon_fit, test="lr").set_index("term")
    score = interactions.interaction_tests(coupon_fit, test="score").set_index("term")
    assert list(score.index) == list(lr.index)
    np.testing.assert_array_equal(score["df"].to_numpy(), lr["df"].to_numpy())
    plain = lr["note"].fillna("") == ""
    ratio = score.loc[plain, "lr_chi2"] / lr.loc[plain, "lr_chi2"]
    assert ratio.between(0.8, 1.25).all(), ratio
