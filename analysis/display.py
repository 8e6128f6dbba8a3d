"""Display tables: each results table as the strings the report, the slides and the workbook show.

One spec per table (column, header, formatter) applies the rounding rule of ``present`` once, so
the HTML, the PDF, the slides and the spreadsheet carry the same text. ``TABLES`` lists every
display table with its caption; ``display(results, name)`` returns it as a DataFrame of strings.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pandas as pd

from .narrative import profile_label
from .plots import VARIABLE_LABELS, term_label
from .present import fmt_int, fmt_num, fmt_or, fmt_p, fmt_pct


def _ci(low_col: str, high_col: str, fmt: Callable) -> Callable:
    return lambda row: f"{fmt(row[low_col])} to {fmt(row[high_col])}"


def _col(name: str, fmt: Callable) -> Callable:
    return lambda row: fmt(row[name])


def _term(row) -> str:
    return term_label(str(row["term"])) if str(row["term"]) != "Intercept" else "Intercept"


def _variable(row) -> str:
    return VARIABLE_LABELS.get(row["variable"], row["variable"])


@dataclass(frozen=True)
class Spec:
    caption: str
    columns: tuple  # (header, function of a row -> str)
    source: str | None = None  # results table it is made from (default: the spec's name)
    query: Callable | None = None  # optional row filter on the source table


RATE_COLUMNS = (
    ("Customers", _col("n", fmt_int)), ("Coupon users", _col("events", fmt_int)),
    ("Rate", _col("rate", fmt_pct)), ("95% CI", _ci("conf_low", "conf_high", fmt_pct)))


def _rate_spec(caption, level_header):
    return Spec(caption, ((level_header, lambda r: str(r["level"])), *RATE_COLUMNS))


def _yes_no(row) -> str:
    return {"1": "yes", "0": "no", 1: "yes", 0: "no"}.get(row["level"], str(row["level"]))


TABLES: dict[str, Spec] = {
    "row_accounting": Spec("Row accounting: rows read, excluded by each rule, and used.", (
        ("Step", lambda r: r["step"]), ("Rows excluded", _col("rows_excluded", fmt_int)),
        ("Rows remaining", _col("rows_remaining", fmt_int)))),
    "split": Spec("Training and test samples (Bernoulli split by a seeded hash of ID).", (
        ("Sample", lambda r: r["sample"]), ("Customers", _col("rows", fmt_int)),
        ("Coupon users", _col("events", fmt_int)), ("Rate", _col("event_rate", fmt_pct)))),
    "class_balance": Spec("Class balance of the response.", (
        ("Used the coupon", lambda r: "yes (1)" if int(r["flag"]) == 1 else "no (0)"),
        ("Customers", _col("n", fmt_int)), ("Share", _col("share", fmt_pct)))),
    "means_by_flag": Spec("Means of each variable for non-users and users of the coupon.", (
        ("Variable", _variable), ("Non-users", _col("mean_flag_0", lambda x: fmt_num(x, 3))),
        ("Users", _col("mean_flag_1", lambda x: fmt_num(x, 3))),
        ("Difference", _col("difference", lambda x: fmt_num(x, 3))))),
    "rate_by_returned": Spec("Coupon use by returned goods.", (("Returned goods", _yes_no), *RATE_COLUMNS)),
    "rate_by_marriage": _rate_spec("Coupon use by marital status.", "Marital status"),
    "rate_by_job": _rate_spec("Coupon use by job.", "Job"),
    "rate_by_age_group": _rate_spec("Coupon use by age group.", "Age group"),
    "rate_by_loan": Spec("Coupon use by ANT Credit Pay use.", (("ANT Credit Pay", _yes_no), *RATE_COLUMNS)),
    "rate_by_default": Spec("Coupon use by past default.", (("Defaulted before", _yes_no), *RATE_COLUMNS)),
    "age_tail": Spec("The over-60 tail against younger customers.", (
        ("Group", lambda r: r["group"]), ("Customers", _col("n", fmt_int)), ("Share", _col("share", fmt_pct)),
        ("Rate", _col("rate", fmt_pct)), ("95% CI", _ci("conf_low", "conf_high", fmt_pct)))),
    "correlation_with_flag": Spec("Pearson correlation of each variable with coupon use (flag).", (
        ("Variable", _variable), ("Correlation", _col("correlation", lambda x: fmt_num(x, 3))))),
    "stepwise": Spec("Stepwise selection path.", (
        ("Step", _col("step", fmt_int)), ("Action", lambda r: r["action"]),
        ("Term", lambda r: "" if pd.isna(r["term"]) else term_label(str(r["term"]))),
        ("df", lambda r: "" if pd.isna(r["df"]) else fmt_int(r["df"])),
        ("Criterion", _col("criterion", lambda x: fmt_num(x, 2))),
        ("Chi-square", _col("statistic", lambda x: fmt_num(x, 3))), ("p", _col("p_value", fmt_p)))),
    "coefficients": Spec("Final model: coefficients (log-odds), Wald 95% CIs and odds ratios.", (
        ("Term", _term), ("Estimate", _col("estimate", fmt_num)), ("SE", _col("std_error", fmt_num)),
        ("z", _col("statistic", lambda x: fmt_num(x, 2))), ("p", _col("p_value", fmt_p)),
        ("Odds ratio", _col("odds_ratio", fmt_or)), ("OR 95% CI", _ci("or_conf_low", "or_conf_high", fmt_or)))),
    "coefficients_full": Spec("Full model (all candidate terms): coefficients and odds ratios.", (
        ("Term", _term), ("Estimate", _col("estimate", fmt_num)), ("SE", _col("std_error", fmt_num)),
        ("p", _col("p_value", fmt_p)), ("Odds ratio", _col("odds_ratio", fmt_or)),
        ("OR 95% CI", _ci("or_conf_low", "or_conf_high", fmt_or)))),
    "type3_tests": Spec("Type 3 likelihood-ratio tests: dropping each term from the final model.", (
        ("Term", lambda r: term_label(str(r["term"]))), ("df", _col("df", fmt_int)),
        ("LR chi-square", _col("lr_chi2", lambda x: fmt_num(x, 2))), ("p", _col("p_value", fmt_p)))),
    "marginal_effects": Spec("Average marginal effects on the probability of coupon use (percentage points).", (
        ("Term", _term), ("AME (pp)", _col("ame", lambda x: fmt_num(100 * x, 2))),
        ("SE (pp)", _col("std_error", lambda x: fmt_num(100 * x, 2))),
        ("95% CI (pp)", lambda r: f"{fmt_num(100 * r['conf_low'], 2)} to {fmt_num(100 * r['conf_high'], 2)}"),
        ("p", _col("p_value", fmt_p)))),
    "vif": Spec("Generalized variance inflation factors (Fox & Monette 1992, as car::vif).", (
        ("Term", lambda r: term_label(str(r["term"]))), ("df", _col("df", fmt_int)),
        ("GVIF", _col("gvif", lambda x: fmt_num(x, 2))),
        ("GVIF^(1/(2 df))", _col("gvif_adj", lambda x: fmt_num(x, 2))))),
    "classification": Spec("Classification at the 0.5 cut-off and at the KS-optimal cut-off (chosen on the training "
                           "sample), beside the no-information rate.", (
        ("Sample", lambda r: r["sample"]), ("Cut-off", _col("threshold", lambda x: fmt_num(x, 3))),
        ("Accuracy", _col("accuracy", fmt_pct)), ("No-information rate", _col("no_information_rate", fmt_pct)),
        ("Precision", _col("precision", fmt_pct)), ("Recall", _col("recall", fmt_pct)),
        ("Specificity", _col("specificity", fmt_pct)))),
    "gains": Spec("Gains and lift by decile of predicted probability (decile 1 = highest).", (
        ("Decile", _col("decile", fmt_int)), ("Customers", _col("n", fmt_int)), ("Users", _col("events", fmt_int)),
        ("Response rate", _col("response_rate", fmt_pct)), ("Cumulative capture", _col("cum_capture", fmt_pct)),
        ("Lift", _col("lift", lambda x: fmt_num(x, 2))), ("Cumulative lift", _col("cum_lift", lambda x: fmt_num(x, 2))))),
    "hosmer_lemeshow": Spec("Hosmer-Lemeshow groups (g = 10): observed and expected coupon users.", (
        ("Group", _col("group", fmt_int)), ("Customers", _col("n", fmt_int)),
        ("Predicted range", lambda r: f"{fmt_num(r['p_low'], 3)} to {fmt_num(r['p_high'], 3)}"),
        ("Observed users", _col("observed_events", fmt_int)),
        ("Expected users", _col("expected_events", lambda x: fmt_num(x, 1))))),
    "calibration": Spec("Calibration by decile: observed rate (Wilson 95% CI) against mean predicted probability.", (
        ("Bin", _col("bin", fmt_int)), ("Customers", _col("n", fmt_int)),
        ("Observed", _col("observed_rate", fmt_pct)), ("95% CI", _ci("obs_conf_low", "obs_conf_high", fmt_pct)),
        ("Predicted", _col("mean_predicted", fmt_pct)))),
    "profile_top_customers": Spec("Profile of the top-scored fifth of customers against the rest.", (
        ("Characteristic", lambda r: profile_label(r["characteristic"])),
        ("Top 20%", lambda r: fmt_pct(r["top"]) if r["kind"] == "share" else fmt_num(r["top"], 2)),
        ("Rest", lambda r: fmt_pct(r["rest"]) if r["kind"] == "share" else fmt_num(r["rest"], 2)))),
}


def display(tables: dict[str, pd.DataFrame], name: str) -> pd.DataFrame:
    """The display table ``name`` (DataFrame of strings with readable headers)."""
    spec = TABLES[name]
    source = tables[spec.source or name]
    if spec.query is not None:
        source = source[spec.query(source)]
    rows = [[fn(row) for _, fn in spec.columns] for _, row in source.iterrows()]
    return pd.DataFrame(rows, columns=[h for h, _ in spec.columns], dtype=object)


def evaluation_summary(metrics: dict) -> pd.DataFrame:
    """Train and test evaluation statistics side by side (strings)."""
    samples = [s for s in ("train", "test") if s in metrics]
    rows = [
        ("Customers", lambda m: fmt_int(m["n"])),
        ("Coupon users", lambda m: fmt_int(m["events"])),
        ("AUC (c statistic)", lambda m: fmt_num(m["auc"], 3)),
        ("AUC 95% CI (DeLong)", lambda m: f"{fmt_num(m['auc_ci_low'], 3)} to {fmt_num(m['auc_ci_high'], 3)}"),
        ("KS", lambda m: fmt_num(m["ks"], 3)),
        ("KS threshold", lambda m: fmt_num(m["ks_threshold"], 3)),
        ("Somers' D", lambda m: fmt_num(m["somers_d"], 3)),
        ("Goodman-Kruskal gamma", lambda m: fmt_num(m["gamma"], 3)),
        ("Kendall's tau-a", lambda m: fmt_num(m["tau_a"], 3)),
        ("Brier score", lambda m: fmt_num(m["brier"], 4)),
        ("Hosmer-Lemeshow chi-square (df)", lambda m: f"{fmt_num(m['hl_chi2'], 2)} ({fmt_int(m['hl_df'])})"),
        ("Hosmer-Lemeshow p", lambda m: fmt_p(m["hl_p"])),
    ]
    return pd.DataFrame([[label] + [fn(metrics[s]) for s in samples] for label, fn in rows],
                        columns=["Statistic"] + [s.capitalize() for s in samples], dtype=object)


def model_summary(metrics: dict) -> pd.DataFrame:
    """Fit statistics of the full and the final model (strings)."""
    rows = [
        ("Customers (training)", lambda m: fmt_int(m["n_obs"])),
        ("Coupon users", lambda m: fmt_int(m["events"])),
        ("Log-likelihood", lambda m: fmt_num(m["llf"], 2)),
        ("AIC", lambda m: fmt_num(m["aic"], 2)),
        ("BIC", lambda m: fmt_num(m["bic"], 2)),
        ("LR chi-square vs intercept only (df)", lambda m: f"{fmt_num(m['lr_chi2'], 2)} ({fmt_int(m['lr_df'])})"),
        ("LR test p", lambda m: fmt_p(m["lr_p"])),
        ("McFadden pseudo R-squared", lambda m: fmt_num(m["pseudo_r2"], 3)),
    ]
    return pd.DataFrame([[label, fn(metrics["full_model"]), fn(metrics["model"])] for label, fn in rows],
                        columns=["Statistic", "Full model", "Final model"], dtype=object)


def markdown(tables: dict[str, pd.DataFrame], name: str) -> str:
    """The display table ``name`` as a pandoc pipe table (what report.qmd prints)."""
    from .present import pipe_table

    return pipe_table(display(tables, name))


def sentence(tables: dict[str, pd.DataFrame], table: str, topic: str) -> str:
    """The generated sentence of ``topic`` in a sentence table (eda_sentences, conclusions)."""
    rows = tables[table]
    match = rows.loc[rows["topic"] == topic, "sentence"]
    return str(match.iloc[0]) if len(match) else ""


ENGINE_NAMES = {"memory": "pandas (in memory)", "duckdb": "DuckDB (streamed)", "spark": "Spark SQL"}


def reading_sentence(data: dict) -> str:
    """How the file was read and how far it reduced: engine, rows used, covariate patterns."""
    engine = ENGINE_NAMES.get(data.get("engine", "memory"), data.get("engine", "memory"))
    return (f"The file was read with {engine}; its {fmt_int(data['rows_used'])} rows used reduce, without loss, "
            f"to {fmt_int(data['n_patterns'])} covariate patterns (distinct combinations of sample and "
            "predictors, with their counts of customers and coupon users), on which every model and statistic "
            "is computed exactly.")


def run_parameters(config: dict) -> list[tuple[str, str]]:
    """The run's parameters as the command-line options that set them (``--baseline`` once per column)."""
    rows = []
    for key, value in config.items():
        if key in ("data", "out"):
            continue
        if key == "baselines":
            shown = ", ".join(f"{c}={v}" for c, v in value.items()) or "first level alphabetically"
            rows.append(("`--baseline`", shown))
        else:
            rows.append((f"`--{key.replace('_', '-')}`", "off" if value is None else str(value)))
    return rows
