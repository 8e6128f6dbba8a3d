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


def effect_label(term: str) -> str:
    """Short name of a coefficient for lists: "retired (job)", "returned goods", "age (per 10 years)"."""
    info = parse_term(term)
    if info["kind"] == "categorical":
        return f"{info['level']} ({info['column']})"
    if info["kind"] == "dummy":
        return {"returned_yes": "returned goods", "loan_yes": "ANT Credit Pay loan",
                "default_yes": "past credit default"}[info["column"]]
    unit, step = UNITS.get(info["column"], (info["column"], 1))
    return {"age": "age (per 10 years)",
            "coupon_used_in_last6_month": "coupons used in the last six months (per coupon)",
            "coupon_used_in_last_month": "coupons used in the last month (per coupon)"}.get(info["column"], info["column"])


def _or_text(row) -> str:
    step = UNITS.get(parse_term(row["term"])["column"], (None, 1))[1] if parse_term(row["term"])["kind"] == "numeric" else 1
    return (f"{effect_label(row['term'])}: OR {fmt_or(row['odds_ratio'] ** step)} "
            f"({fmt_or(row['or_conf_low'] ** step)} to {fmt_or(row['or_conf_high'] ** step)})")


PROFILE_LABELS = {
    "returned_yes": "customers who returned goods", "loan_yes": "ANT Credit Pay users",
    "default_yes": "customers with a past default", "age": "age",
    "coupon_used_in_last6_month": "coupons used in the last six months",
    "coupon_used_in_last_month": "coupons used in the last month",
}


def profile_label(characteristic: str) -> str:
    """Readable name of a row of ``explore.profile_by_score``: "job: retired" -> "retired customers"."""
    column, sep, level = characteristic.partition(": ")
    if sep and column in CATEGORY_LABELS:
        return CATEGORY_LABELS[column].get(level, characteristic)
    return PROFILE_LABELS.get(characteristic, characteristic)


def _profile_phrase(row) -> str:
    from .present import fmt_num, fmt_pct

    label = profile_label(row["characteristic"])
    if row["kind"] == "share":
        return f"{label} ({fmt_pct(row['top'])} vs {fmt_pct(row['rest'])})"
    return f"{label} (mean {fmt_num(row['top'], 2)} vs {fmt_num(row['rest'], 2)})"


def conclusions(coefficients: pd.DataFrame, profile: pd.DataFrame, profile_info: dict, metrics: dict,
                gains: pd.DataFrame, classification: pd.DataFrame) -> pd.DataFrame:
    """The summary conclusions, each sentence assembled from the tables: DataFrame[topic, sentence].

    ``profile`` is ``explore.profile_by_score`` (with its threshold/n_top/n_rest in
    ``profile_info``), ``gains`` and ``classification`` the tables of the evaluation sample.
    """
    from .present import fmt_int, fmt_num, fmt_pct

    out = []
    rate = profile.set_index("characteristic").loc["coupon-use rate (observed)"]
    out.append(("who", (
        f"The {fmt_int(profile_info['n_top'])} customers the model scores highest (predicted probability "
        f"at least {fmt_num(profile_info['threshold'], 3)}, the top {fmt_pct(profile_info['top_share'], 0)}) used "
        f"the coupon at {fmt_pct(rate['top'])}, against {fmt_pct(rate['rest'])} among the other "
        f"{fmt_int(profile_info['n_rest'])}.")))
    shares = profile[(profile["kind"] == "share") & (profile["characteristic"] != "coupon-use rate (observed)")]
    over = shares.sort_values("difference", ascending=False).head(3)
    under = shares.sort_values("difference").head(2)
    means = profile[profile["kind"] == "mean"].sort_values("difference", key=abs, ascending=False).head(2)
    out.append(("profile", (
        "Compared with the rest, the top group has more " + ", ".join(_profile_phrase(r) for _, r in over.iterrows())
        + "; fewer " + ", ".join(_profile_phrase(r) for _, r in under.iterrows())
        + "; and differs most in " + ", ".join(_profile_phrase(r) for _, r in means.iterrows()) + ".")))

    coefs = coefficients[coefficients["term"] != "Intercept"]
    clear = coefs[(coefs["or_conf_low"] > 1) | (coefs["or_conf_high"] < 1)]
    up = clear[clear["estimate"] > 0].sort_values("estimate", ascending=False)
    down = clear[clear["estimate"] < 0].sort_values("estimate")
    unclear = coefs[(coefs["or_conf_low"] <= 1) & (coefs["or_conf_high"] >= 1)]
    if len(up):
        out.append(("raise", "Factors that raise the odds of using a coupon (95% CI above 1), other factors held "
                    "fixed: " + "; ".join(_or_text(r) for _, r in up.iterrows()) + "."))
    if len(down):
        out.append(("lower", "Factors that lower the odds (95% CI below 1): "
                    + "; ".join(_or_text(r) for _, r in down.iterrows()) + "."))
    if len(unclear):
        out.append(("unclear", "No clear difference (95% CI includes 1): "
                    + "; ".join(_or_text(r) for _, r in unclear.iterrows()) + "."))

    sample = metrics["evaluation_sample"]
    m = metrics[sample]
    first = gains.sort_values("decile").iloc[0]
    out.append(("quality", (
        f"On the {sample} sample ({fmt_int(m['n'])} customers) the model ranks users above non-users with AUC "
        f"{fmt_num(m['auc'], 3)} (95% CI {fmt_num(m['auc_ci_low'], 3)} to {fmt_num(m['auc_ci_high'], 3)}) and KS "
        f"{fmt_num(m['ks'], 3)}; the top-scored tenth of customers holds {fmt_pct(first['cum_capture'])} of the coupon "
        f"users, {fmt_num(first['lift'], 2)} times the rate of random targeting.")))
    at_half = classification[(classification["sample"] == sample) & (classification["threshold"] == 0.5)].iloc[0]
    out.append(("accuracy", (
        f"Accuracy is the wrong yardstick here: at a 0.5 cut-off the model is {fmt_pct(at_half['accuracy'])} accurate, "
        f"while predicting \"no coupon\" for everyone scores {fmt_pct(at_half['no_information_rate'])}; it finds "
        f"only {fmt_pct(at_half['recall'])} of users at that cut-off. Rank customers by predicted probability "
        "and target the top deciles instead.")))
    return pd.DataFrame(out, columns=["topic", "sentence"])
