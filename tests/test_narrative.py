"""Odds-ratio sentences: sign words, baselines, units, rounding and the CI-includes-1 case, by hand."""
import math

import pandas as pd
import pytest

from analysis.narrative import odds_ratio_sentence, odds_ratio_sentences, parse_term


def row(term, estimate, low, high):
    return pd.Series({"term": term, "estimate": estimate, "odds_ratio": math.exp(estimate),
                      "or_conf_low": math.exp(low), "or_conf_high": math.exp(high)})


def test_negative_dummy_is_lower_odds():
    # exp(-0.8656) = 0.4208 -> 0.42; exp(-0.95) = 0.3867 -> 0.39; exp(-0.78) = 0.4584 -> 0.46
    s = odds_ratio_sentence(row("returned_yes", -0.8656, -0.95, -0.78))
    assert s == ("Customers who returned goods have 0.42 times the odds of using a coupon "
                 "(58% lower odds; 95% CI 0.39 to 0.46) compared with customers who did not, "
                 "other factors held fixed.")


def test_positive_count_is_higher_odds_per_unit():
    # exp(0.4208) = 1.5232 -> 1.52 -> 52% higher
    s = odds_ratio_sentence(row("coupon_used_in_last_month", 0.4208, 0.38, 0.46))
    assert s.startswith("Each additional coupon used in the last month multiplies the odds of using a coupon by 1.52 "
                        "(52% higher odds; 95% CI 1.46 to 1.58)")
    assert "includes 1" not in s


def test_age_is_stated_per_ten_years():
    # per year beta = 0.0017 -> per 10 years exp(0.017) = 1.0171 -> 1.02; CI exp(-0.03)=0.97, exp(0.064)=1.07
    s = odds_ratio_sentence(row("age", 0.0017, -0.003, 0.0064))
    assert s.startswith("Every 10 years of age multiplies the odds of using a coupon by 1.02 (2% higher odds; "
                        "95% CI 0.97 to 1.07)")
    assert s.endswith("The interval includes 1: the data are consistent with no effect.")


def test_categorical_names_level_and_default_baseline():
    s = odds_ratio_sentence(row("C(job)[T.retired]", 0.5321, 0.327, 0.737), {"job": "admin."})
    assert s.startswith("Retired customers have 1.70 times the odds of using a coupon (70% higher odds; "
                        "95% CI 1.39 to 2.09) compared with admin staff (the baseline job)")


def test_categorical_with_explicit_treatment_baseline():
    term = "C(marriage, Treatment(reference='married'))[T.single]"
    assert parse_term(term) == {"kind": "categorical", "column": "marriage", "level": "single", "baseline": "married"}
    s = odds_ratio_sentence(row(term, 0.3, 0.2, 0.4))
    assert "Single customers have 1.35 times" in s and "compared with married customers (the baseline marriage)" in s


def test_ci_including_one_is_said_for_categorical():
    s = odds_ratio_sentence(row("C(job)[T.management]", 0.112, -0.0294, 0.2533), {"job": "admin."})
    assert "Managers have 1.12 times" in s and "12% higher" in s and "95% CI 0.97 to 1.29" in s
    assert s.endswith("consistent with no effect.")


def test_table_skips_intercept_and_keeps_order():
    coefs = pd.DataFrame([row("Intercept", -1.3, -1.6, -1.0), row("loan_yes", -0.52, -0.65, -0.39),
                          row("default_yes", -0.49, -0.9, -0.09)])
    out = odds_ratio_sentences(coefs)
    assert out["term"].tolist() == ["loan_yes", "default_yes"]
    assert out["sentence"].iloc[0].startswith("Customers with an ANT Credit Pay loan have 0.59 times")
    assert "41% lower" in out["sentence"].iloc[0]


@pytest.mark.parametrize("estimate, word", [(0.2, "higher"), (-0.2, "lower")])
def test_sign_word_matches_sign(estimate, word):
    s = odds_ratio_sentence(row("loan_yes", estimate, estimate - 0.05, estimate + 0.05))
    assert f"% {word} odds" in s
