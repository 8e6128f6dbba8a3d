"""Generated sentences: sign words, comparison groups, units, rounding and the CI-includes-1 case, by hand;
the words come from the specification (the coupon data's, and a made-up one of another field)."""
import math

import pandas as pd
import pytest

from analysis.present.narrative import effect_label, odds_ratio_sentence, odds_ratio_sentences
from analysis.spec import default_spec, spec_from_dict
from analysis.present.labels import describe_coefficient, describe_term

SPEC = default_spec()


def row(term, estimate, low, high):
    return pd.Series({"term": term, "estimate": estimate, "odds_ratio": math.exp(estimate),
                      "or_conf_low": math.exp(low), "or_conf_high": math.exp(high)})


def test_negative_dummy_is_lower_odds():
    # exp(-0.8656) = 0.4208 -> 0.42; exp(-0.95) = 0.3867 -> 0.39; exp(-0.78) = 0.4584 -> 0.46
    s = odds_ratio_sentence(row("returned_yes", -0.8656, -0.95, -0.78), SPEC)
    assert s == ("Customers who returned goods have 0.42 times the odds of using a coupon "
                 "(58% lower odds; 95% CI 0.39 to 0.46) compared with customers who did not return goods, "
                 "other factors held fixed.")


def test_positive_count_is_higher_odds_per_unit():
    # exp(0.4208) = 1.5232 -> 1.52 -> 52% higher
    s = odds_ratio_sentence(row("coupon_used_in_last_month", 0.4208, 0.38, 0.46), SPEC)
    assert s.startswith("Each additional coupon used in the last month goes with 1.52 times the odds of using a "
                        "coupon (52% higher odds; 95% CI 1.46 to 1.58)")
    assert "includes 1" not in s


def test_age_is_stated_per_ten_years():
    # per year beta = 0.0017 -> per 10 years exp(0.017) = 1.0171 -> 1.02; CI exp(-0.03)=0.97, exp(0.064)=1.07
    s = odds_ratio_sentence(row("age", 0.0017, -0.003, 0.0064), SPEC)
    assert s.startswith("Every 10 years of age goes with 1.02 times the odds of using a coupon (2% higher odds; "
                        "95% CI 0.97 to 1.07)")
    assert s.endswith("The interval includes 1: the data are consistent with no association.")


def test_tables_label_numeric_coefficients_per_unit_and_sentences_per_step():
    """A coefficient table shows exp(coefficient), the odds ratio per one unit: its label says "per year";
    sentences raise it to the step and say "per 10 years" (labels written out by hand from tmall.toml)."""
    c = describe_coefficient("age", SPEC, {})
    assert (c.label, c.unit_label, c.unit_comparison, c.step) == ("Age (per 10 years)", "Age (per year)",
                                                                 "per year", 10.0)
    one = describe_coefficient("default_yes", SPEC, {})
    assert one.unit_label == one.label == "Defaulted before: yes vs no"


def test_categorical_names_level_and_baseline():
    s = odds_ratio_sentence(row("C(job)[T.retired]", 0.5321, 0.327, 0.737), SPEC, {"job": "admin."})
    assert s.startswith("Retired customers have 1.70 times the odds of using a coupon (70% higher odds; "
                        "95% CI 1.39 to 2.09) compared with admin staff (the baseline job)")


def test_categorical_with_explicit_treatment_baseline():
    term = "C(marriage, Treatment(reference='married'))[T.single]"
    info = describe_coefficient(term, SPEC)
    assert (info.kind, info.variables, info.level, info.baseline) == ("categorical", ("marriage",), "single", "married")
    assert info.label == "Marital status: single vs married" and info.comparison == "single vs married"
    s = odds_ratio_sentence(row(term, 0.3, 0.2, 0.4), SPEC)
    assert "Single customers have 1.35 times" in s
    assert "compared with married customers (the baseline marital status)" in s


def test_ci_including_one_is_said_for_categorical():
    s = odds_ratio_sentence(row("C(job)[T.management]", 0.112, -0.0294, 0.2533), SPEC, {"job": "admin."})
    assert "Managers have 1.12 times" in s and "12% higher" in s and "95% CI 0.97 to 1.29" in s
    assert s.endswith("consistent with no association.")


def test_table_skips_intercept_and_keeps_order():
    coefs = pd.DataFrame([row("Intercept", -1.3, -1.6, -1.0), row("loan_yes", -0.52, -0.65, -0.39),
                          row("default_yes", -0.49, -0.9, -0.09)])
    out = odds_ratio_sentences(coefs, {}, SPEC)
    assert out["term"].tolist() == ["loan_yes", "default_yes"]
    assert out["sentence"].iloc[0].startswith("Customers with an ANT Credit Pay loan have 0.59 times")
    assert "41% lower" in out["sentence"].iloc[0]


@pytest.mark.parametrize("estimate, word", [(0.2, "higher"), (-0.2, "lower")])
def test_sign_word_matches_sign(estimate, word):
    s = odds_ratio_sentence(row("loan_yes", estimate, estimate - 0.05, estimate + 0.05), SPEC)
    assert f"% {word} odds" in s


def test_labels_name_the_comparison_everywhere():
    assert effect_label("C(job)[T.retired]", SPEC, {"job": "admin."}) == "Job: retired vs admin."
    assert effect_label("returned_yes", SPEC) == "Returned goods: yes vs no"
    assert effect_label("age", SPEC) == "Age (per 10 years)"
    assert describe_term("C(job)", SPEC) == "Job"
    assert describe_term("C(marriage, Treatment(reference='single'))", SPEC) == "Marital status"
    assert describe_term("C(job):age", SPEC) == "Job \u00d7 Age"
    assert describe_term("something_else", SPEC) == "something_else"


def test_words_of_another_data_set():
    spec = spec_from_dict({
        "dataset": {"row": "patient", "rows": "patients"},
        "response": {"column": "died", "event": "yes", "non_event": "no", "outcome": "dying within a year",
                     "label": "Died"},
        "variables": [{"column": "ward", "type": "categorical", "label": "Ward",
                       "groups": {"icu": "patients in intensive care", "general": "patients on a general ward"}},
                      {"column": "smoker", "type": "binary", "label": "Smoker", "yes_group": "smokers",
                       "no_group": "non-smokers"},
                      {"column": "age", "type": "numeric", "label": "Age", "unit": "year", "step": 5}],
    })
    s = odds_ratio_sentence(row("C(ward)[T.icu]", 1.0, 0.5, 1.5), spec, {"ward": "general"})
    assert s.startswith("Patients in intensive care have 2.72 times the odds of dying within a year")
    assert "compared with patients on a general ward (the baseline ward)" in s
    s = odds_ratio_sentence(row("smoker_yes", 0.5, 0.1, 0.9), spec)
    assert s.startswith("Smokers have 1.65 times the odds of dying within a year") and "non-smokers" in s
    # per 5 years: exp(5 * 0.02) = 1.105 -> 1.11
    s = odds_ratio_sentence(row("age", 0.02, 0.01, 0.03), spec)
    assert s.startswith("Every 5 years more of age goes with 1.11 times the odds of dying within a year")


def test_words_of_a_data_set_without_words_name_the_levels():
    """A specification as bare as a draft: a binary variable whose levels are not yes/no is named by them
    everywhere ("Sex: female vs male", never "Sex: yes"); labels read the same in a sentence ("passenger class"
    in both); a numeric variable without a unit is stated per unit (never "per 1 unit")."""
    spec = spec_from_dict({
        "response": {"column": "survived", "event": "yes", "non_event": "no", "label": "Survived"},
        "variables": [{"column": "sex", "type": "binary", "yes": "female", "no": "male", "label": "Sex"},
                      {"column": "age", "type": "numeric", "label": "Age"},
                      {"column": "passengerClass", "type": "categorical", "label": "Passenger class"}]})
    sex = describe_coefficient("sex_female", spec)
    assert (sex.label, sex.comparison) == ("Sex: female vs male", "female vs male")
    s = odds_ratio_sentence(row("sex_female", 1.0, 0.5, 1.5), spec)
    assert s.startswith("Records with sex 'female' have 2.72 times the odds of \u201csurvived\u201d")
    assert "compared with records with sex 'male'," in s and "yes" not in s and "=" not in s
    assert effect_label("age", spec) == "Age (per unit)"
    assert odds_ratio_sentence(row("age", -0.04, -0.05, -0.03), spec).startswith("Each unit more of age goes with")
    s = odds_ratio_sentence(row("C(passengerClass)[T.1st]", 1.0, 0.5, 1.5), spec, {"passengerClass": "3rd"})
    assert s.startswith("Records with passenger class '1st' have")
    assert "compared with records with passenger class '3rd' (the baseline passenger class)" in s
