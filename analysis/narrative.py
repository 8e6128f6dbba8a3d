"""Sentences generated from results: every number in them comes from a table, none is typed.

The odds-ratio sentences follow one rule (``present``: odds ratios and CIs to 2 decimals); the
percentage change is computed from the rounded odds ratio so that a reader can check it
against the number printed beside it.
"""
from __future__ import annotations

import re

import pandas as pd

from .present import fmt_or

JOB_LABELS = {
    "admin.": "admin staff", "blue-collar": "blue-collar workers", "entrepreneur": "entrepreneurs",
    "housemaid": "housemaids", "management": "managers", "retired": "retired customers",
    "self-employed": "self-employed customers", "services": "services workers", "student": "students",
    "technician": "technicians", "unemployed": "unemployed customers", "unknown": "customers whose job is unknown",
}
MARRIAGE_LABELS = {"divorced": "divorced customers", "married": "married customers", "single": "single customers"}
CATEGORY_LABELS = {"job": JOB_LABELS, "marriage": MARRIAGE_LABELS}

#: 0/1 dummies: (group with 1, group with 0)
DUMMY_GROUPS = {
    "returned_yes": ("customers who returned goods", "customers who did not"),
    "loan_yes": ("customers with an ANT Credit Pay loan", "customers without one"),
    "default_yes": ("customers with a past credit default", "customers without one"),
}
#: numeric terms: (unit phrase, step in units of the variable)
UNITS = {
    "age": ("10 years of age", 10),
    "coupon_used_in_last6_month": ("additional coupon used in the last six months", 1),
    "coupon_used_in_last_month": ("additional coupon used in the last month", 1),
}
_CATEGORICAL = re.compile(r"^C\((?P<column>\w+)(?:,\s*Treatment\(reference=(?P<ref>['\"].*['\"])\))?\)\[T\.(?P<level>.*)\]$")


def parse_term(term: str) -> dict:
    """Split a statsmodels coefficient name into its parts: kind, column, level, baseline."""
    m = _CATEGORICAL.match(term)
    if m:
        ref = m.group("ref")
        return {"kind": "categorical", "column": m.group("column"), "level": m.group("level"),
                "baseline": ref[1:-1] if ref else None}
    if term in DUMMY_GROUPS:
        return {"kind": "dummy", "column": term}
    return {"kind": "numeric", "column": term}


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _change(odds_ratio_rounded: float) -> str:
    pct = round(abs(odds_ratio_rounded - 1) * 100)
    if pct == 0:
        return "no change in the odds"
    return f"{pct}% {'higher' if odds_ratio_rounded > 1 else 'lower'} odds"


def odds_ratio_sentence(row: pd.Series, baselines: dict[str, str] | None = None) -> str:
    """One sentence for one coefficient row (columns of ``model.tidy``).

    Categorical levels are compared with the baseline level, dummies with the group without the
    attribute, numeric terms per the step in ``UNITS`` (10 years for age: OR and CI raised to
    the 10th power). States plainly when the CI includes 1.
    """
    baselines = baselines or {}
    info = parse_term(row["term"])
    step = UNITS.get(info["column"], (None, 1))[1] if info["kind"] == "numeric" else 1
    odds = row["odds_ratio"] ** step
    low, high = row["or_conf_low"] ** step, row["or_conf_high"] ** step
    shown = float(fmt_or(odds))
    ci = f"95% CI {fmt_or(low)} to {fmt_or(high)}"
    if info["kind"] == "categorical":
        labels = CATEGORY_LABELS.get(info["column"], {})
        group = labels.get(info["level"], f"customers with {info['column']} '{info['level']}'")
        base_level = info["baseline"] or baselines.get(info["column"], "the baseline")
        base = labels.get(base_level, f"customers with {info['column']} '{base_level}'")
        text = (f"{_capital(group)} have {fmt_or(odds)} times the odds of using a coupon "
                f"({_change(shown)}; {ci}) compared with {base} (the baseline {info['column']}), "
                "other factors held fixed.")
    elif info["kind"] == "dummy":
        with_, without = DUMMY_GROUPS[info["column"]]
        text = (f"{_capital(with_)} have {fmt_or(odds)} times the odds of using a coupon "
                f"({_change(shown)}; {ci}) compared with {without}, other factors held fixed.")
    else:
        unit = UNITS.get(info["column"], (f"one-unit increase in {info['column']}", 1))[0]
        each = "Each" if step == 1 else "Every"
        text = (f"{each} {unit} multiplies the odds of using a coupon by {fmt_or(odds)} "
                f"({_change(shown)}; {ci}), other factors held fixed.")
    if low <= 1 <= high:
        text += " The interval includes 1: the data are consistent with no effect."
    return text


def odds_ratio_sentences(coefficients: pd.DataFrame, baselines: dict[str, str] | None = None) -> pd.DataFrame:
    """Sentence per non-intercept coefficient: DataFrame[term, sentence]."""
    rows = coefficients[coefficients["term"] != "Intercept"]
    return pd.DataFrame({"term": rows["term"].to_numpy(),
                         "sentence": [odds_ratio_sentence(r, baselines) for _, r in rows.iterrows()]})
