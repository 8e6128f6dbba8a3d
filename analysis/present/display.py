"""Display tables: each results table as the strings the report, the slides and the workbook show.

One spec per table (column header, formatter) applies the rounding rule of ``present`` once, so the HTML,
the PDF, the slides and the spreadsheet carry the same text. Headers and labels come from the
specification (``Spec``): the noun for a row, the names of the event groups, variable labels, and every
coefficient's label with its comparison group ("Marital status: single vs married").

``table_specs(spec)`` lists every display table with its caption; ``display(view, name)`` returns one as a
DataFrame of plain strings, ``markdown(view, name)`` as a pandoc pipe table (cells escaped, column
widths following their content). ``view`` is anything with ``tables``, ``metrics`` and ``spec`` (an
``analysis.results.RunResults``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pandas as pd

from analysis.evaluate.explore import PROFILE_TABLE
from analysis.present.narrative import profile_label
from analysis.present.formatting import fmt_int, fmt_num, fmt_or, fmt_p, fmt_pct, pipe_table
from analysis.present.labels import describe_coefficient, describe_term
from analysis.spec import in_sentence


def _ci(low_col: str, high_col: str, fmt: Callable) -> Callable:
    """ "low to high", or nothing when neither limit is there (an odds ratio left blank)."""
    def text(row) -> str:
        low, high = fmt(row[low_col]), fmt(row[high_col])
        return f"{low} to {high}" if low or high else ""
    return text


def _col(name: str, fmt: Callable) -> Callable:
    return lambda row: fmt(row[name])


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class TableSpec:
    caption: str
    columns: tuple  # (header, function of a row -> str)
    source: str | None = None  # results table it is made from (default: the spec's name)
    query: Callable | None = None  # optional row filter on the source table


def table_specs(spec, baselines: dict | None = None) -> dict[str, TableSpec]:
    """Every display table of a run of ``spec`` (captions and columns in its words), in the order the
    workbook lists them."""
    baselines = baselines or {}

    def coef(row) -> str:
        return describe_coefficient(str(row["term"]), spec, baselines).unit_label   # estimates are per unit

    def term(row) -> str:
        return describe_term(str(row["term"]), spec)

    return {**_data_specs(spec), **_missing_specs(spec), **_model_specs(spec, coef, term), **_evaluation_specs(spec),
            **_check_specs(spec), **_validation_specs(spec, baselines, coef, term),
            **_referee_specs(spec, baselines, coef, term)}


def _data_specs(spec) -> dict[str, TableSpec]:
    """The tables of the data: row accounting, split, class balance, means, rates by variable, correlations."""
    r = spec.response
    rows_h, events_h = _cap(spec.rows), _cap(r.event_group)
    rate_columns = ((rows_h, _col("n", fmt_int)), (events_h, _col("events", fmt_int)),
                    ("Rate", _col("rate", fmt_pct)), ("95% CI", _ci("conf_low", "conf_high", fmt_pct)))
    out: dict[str, TableSpec] = {
        "row_accounting": TableSpec("Row accounting: rows read, excluded by each rule, and used.", (
            ("Step", lambda x: x["step"]), ("Rows excluded", _col("rows_excluded", fmt_int)),
            ("Rows remaining", _col("rows_remaining", fmt_int)))),
        "split": TableSpec("Training and test samples (Bernoulli split by a seeded hash).", (
            ("Sample", lambda x: x["sample"]), (rows_h, _col("rows", fmt_int)),
            (events_h, _col("events", fmt_int)), ("Rate", _col("event_rate", fmt_pct)))),
        "class_balance": TableSpec("Class balance of the response.", (
            (r.label, lambda x: r.level_label(x[r.name])),
            (rows_h, _col("n", fmt_int)), ("Share", _col("share", fmt_pct)))),
        "means_by_flag": TableSpec(f"Means of each variable for {r.non_event_group} and {r.event_group} "
                                   f"(binary variables: the share of {spec.rows} at the level named).", (
            ("Variable", lambda x: spec.indicator_labels().get(x["variable"], x["variable"])),
            (_cap(r.non_event_group), _mean_or_share(spec, "mean_flag_0")),
            (events_h, _mean_or_share(spec, "mean_flag_1")), ("Difference", _mean_or_share(spec, "difference")))),
    }
    for v in spec.variables:
        key = v.column or v.name
        if v.kind in ("categorical", "binary"):
            out[f"rate_by_{key}"] = TableSpec(f"{_cap(r.rate)} by {in_sentence(v.label)}.", (
                (v.label, lambda x, v=v: v.level_label(x["level"])), *rate_columns))
        elif v.bins:
            out[f"rate_by_{v.name}_group"] = TableSpec(f"{_cap(r.rate)} by {in_sentence(v.label)} group.", (
                (f"{v.label} group", lambda x: str(x["level"])), *rate_columns))
            if v.tail_above is not None:
                out[f"{v.name}_tail"] = TableSpec(
                    f"{_cap(spec.rows)} with {in_sentence(v.label)} {v.tail_above:g} or over against the others.", (
                        ("Group", lambda x: str(x["group"])), (rows_h, _col("n", fmt_int)),
                        ("Share", _col("share", fmt_pct)), ("Rate", _col("rate", fmt_pct)),
                        ("95% CI", _ci("conf_low", "conf_high", fmt_pct))))
    out["correlation_with_flag"] = TableSpec("Pearson correlation of each variable with the response.", (
            ("Variable", lambda x: spec.indicator_labels().get(x["variable"], x["variable"])),
            ("Correlation", _col("correlation", lambda v: fmt_num(v, 3)))))
    return out


def _model_specs(spec, coef, term) -> dict[str, TableSpec]:
    """The tables of the model: selection path, coefficients, Type 3 tests, marginal effects, VIF."""
    return {
        "stepwise": TableSpec("Stepwise selection path.", (
            ("Step", _col("step", fmt_int)), ("Action", lambda x: x["action"]),
            ("Term", lambda x: "" if pd.isna(x["term"]) else term(x)),
            ("df", lambda x: "" if pd.isna(x["df"]) else fmt_int(x["df"])),
            ("Criterion", _col("criterion", lambda v: fmt_num(v, 2))),
            ("Chi-square", _col("statistic", lambda v: fmt_num(v, 3))), ("p", _col("p_value", fmt_p)))),
        "coefficients": TableSpec("Final model: coefficients (log-odds), odds ratios with Wald and profile-likelihood "
                                  "95% CIs (no odds ratio for the intercept and spline basis coefficients: a curve "
                                  "is shown by its effect figure).", (
            ("Term", coef), ("Estimate", _col("estimate", fmt_num)), ("SE", _col("std_error", fmt_num)),
            ("z", _col("statistic", lambda v: fmt_num(v, 2))), ("p", _col("p_value", fmt_p)),
            ("Odds ratio", _col("odds_ratio", fmt_or)), ("OR 95% CI (Wald)", _ci("or_conf_low", "or_conf_high", fmt_or)),
            ("OR 95% CI (profile)", lambda x: _ci("or_profile_low", "or_profile_high", fmt_or)(x)
             if "or_profile_low" in x else ""))),
        "coefficients_full": TableSpec("Full model (all candidate terms): coefficients and odds ratios.", (
            ("Term", coef), ("Estimate", _col("estimate", fmt_num)), ("SE", _col("std_error", fmt_num)),
            ("p", _col("p_value", fmt_p)), ("Odds ratio", _col("odds_ratio", fmt_or)),
            ("OR 95% CI", _ci("or_conf_low", "or_conf_high", fmt_or)))),
        "type3_tests": TableSpec("Type 3 likelihood-ratio tests: dropping each term from the final model.", (
            ("Term", term), ("df", _col("df", fmt_int)),
            ("LR chi-square", _col("lr_chi2", lambda v: fmt_num(v, 2))), ("p", _col("p_value", fmt_p)))),
        "marginal_effects": TableSpec("Average marginal effects on the probability (percentage points).", (
            ("Term", coef), ("AME (pp)", _col("ame", lambda v: fmt_num(100 * v, 2))),
            ("SE (pp)", _col("std_error", lambda v: fmt_num(100 * v, 2))),
            ("95% CI (pp)", lambda x: f"{fmt_num(100 * x['conf_low'], 2)} to {fmt_num(100 * x['conf_high'], 2)}"),
            ("p", _col("p_value", fmt_p)))),
        "vif": TableSpec("Generalized variance inflation factors (Fox & Monette 1992, as car::vif).", (
            ("Term", term), ("df", _col("df", fmt_int)), ("GVIF", _col("gvif", lambda v: fmt_num(v, 2))),
            ("GVIF^(1/(2 df))", _col("gvif_adj", lambda v: fmt_num(v, 2))))),
    }


def _evaluation_specs(spec) -> dict[str, TableSpec]:
    """The tables of discrimination and calibration: classification, gains, Hosmer-Lemeshow, calibration bins."""
    r = spec.response
    rows_h, events_h = _cap(spec.rows), _cap(r.event_group)
    return {
        "classification": TableSpec(f"Classification at the 0.5 cut-off and at the KS-optimal cut-off (chosen on the "
                                    f"training sample): {spec.rows} flagged (predicted probability at or above the "
                                    "cut-off), confusion counts (TP, FP: flagged with and without the event; FN, TN: "
                                    "not flagged), beside the no-information rate.", (
            ("Sample", lambda x: x["sample"]), ("Cut-off", _col("threshold", lambda v: fmt_num(v, 3))),
            ("Flagged", lambda x: f"{fmt_int(x['tp'] + x['fp'])} ({fmt_pct((x['tp'] + x['fp']) / max(1, x['tp'] + x['fp'] + x['tn'] + x['fn']))})"),
            ("TP", _col("tp", fmt_int)), ("FP", _col("fp", fmt_int)), ("FN", _col("fn", fmt_int)),
            ("TN", _col("tn", fmt_int)),
            ("Accuracy", _col("accuracy", fmt_pct)), ("No-information rate", _col("no_information_rate", fmt_pct)),
            ("Precision", _col("precision", fmt_pct)), ("Recall", _col("recall", fmt_pct)),
            ("Specificity", _col("specificity", fmt_pct)))),
        "gains": TableSpec("Gains and lift by decile of predicted probability (decile 1 = highest).", (
            ("Decile", _col("decile", fmt_int)), (rows_h, _col("n", fmt_int)), (events_h, _col("events", fmt_int)),
            ("Response rate", _col("response_rate", fmt_pct)), ("Cumulative capture", _col("cum_capture", fmt_pct)),
            ("Lift", _col("lift", lambda v: fmt_num(v, 2))),
            ("Cumulative lift", _col("cum_lift", lambda v: fmt_num(v, 2))))),
        "hosmer_lemeshow": TableSpec(f"Hosmer-Lemeshow groups (g = 10): observed and expected {r.event_group}.", (
            ("Group", _col("group", fmt_int)), (rows_h, _col("n", fmt_int)),
            ("Predicted range", lambda x: f"{fmt_num(x['p_low'], 3)} to {fmt_num(x['p_high'], 3)}"),
            (f"Observed {r.event_group}", _col("observed_events", fmt_int)),
            (f"Expected {r.event_group}", _col("expected_events", lambda v: fmt_num(v, 1))))),
        "calibration": TableSpec("Calibration by decile of predicted probability (bin 1 = the lowest predictions; "
                                 "the gains table counts deciles from the highest): observed rate (Wilson 95% CI) "
                                 "against mean predicted probability.", (
            ("Bin", _col("bin", fmt_int)), (rows_h, _col("n", fmt_int)),
            ("Observed", _col("observed_rate", fmt_pct)), ("95% CI", _ci("obs_conf_low", "obs_conf_high", fmt_pct)),
            ("Predicted", _col("mean_predicted", fmt_pct)))),
    }


def _check_specs(spec) -> dict[str, TableSpec]:
    """The tables of the specification checks and of calibration by group."""
    rows_h = _cap(spec.rows)
    return {
        "linearity_tests": TableSpec("Is a straight line enough? Tests of the non-linear part of a restricted cubic "
                                     "spline for each numeric variable of the final model (for a variable entered "
                                     "linearly: a 4-knot spline put in its place).", (
            ("Variable", _col("label", str)), ("In the model", _col("shape", str)), ("Knots", _col("knots", str)),
            ("Wald chi-square (df)", lambda x: _chi2_df(x["wald_chi2"], x["wald_df"])),
            ("Wald p", _col("wald_p", fmt_p)),
            ("LR chi-square (df)", lambda x: _chi2_df(x["lr_chi2"], x["lr_df"])),
            ("LR p", _col("lr_p", fmt_p)))),
        "model_comparison": TableSpec("The model as specified against the same model with every variable linear, on "
                                      "the training sample (lower AIC and BIC are better).", (
            ("Model", _col("model", str)), ("Parameters", _col("parameters", fmt_int)),
            ("Log-likelihood", _col("llf", lambda v: fmt_num(v, 2))), ("AIC", _col("aic", lambda v: fmt_num(v, 2))),
            ("BIC", _col("bic", lambda v: fmt_num(v, 2))))),
        "spline_knots": TableSpec("Knots of the restricted cubic splines, placed on the training rows as rms places "
                                  "them, and the rule that placed them.", (
            ("Variable", lambda x: spec.labels().get(x["variable"], x["variable"])),
            ("Knots asked", _col("requested", fmt_int)), ("Knots", _col("knots", str)), ("Rule", _col("note", str)))),
        "spline_effects": TableSpec("Odds ratios of the spline variables between their lower and upper quartile, other "
                                    "variables at their median or most frequent value (as rms's summary).", (
            ("Variable", _col("label", str)),
            ("Compared", lambda x: f"{fmt_num(x['high'], 0)} vs {fmt_num(x['low'], 0)}"),
            ("Odds ratio", _col("odds_ratio", fmt_or)), ("95% CI", _ci("or_conf_low", "or_conf_high", fmt_or)))),
        "observed_vs_predicted": TableSpec("Observed against predicted rate by group on the evaluation sample; "
                                           "flagged: the mean prediction lies outside the observed rate's Wilson 95% "
                                           "interval.", (
            ("Variable", lambda x: spec.labels().get(x["variable"], x["variable"])),
            ("Group", lambda x: _level(spec, x["variable"], x["level"])), (rows_h, _col("n", fmt_int)),
            ("Observed", _col("observed_rate", fmt_pct)), ("95% CI", _ci("obs_conf_low", "obs_conf_high", fmt_pct)),
            ("Predicted", _col("mean_predicted", fmt_pct)),
            ("Flag", lambda x: "outside" if str(x["outside"]) in ("True", "true", "1") else ""))),
    }


def _claim_number(row) -> Callable:
    """A claim's number as it is cited: an odds ratio to two decimals, an AUC or a difference to three (as the
    workbook's row formats, ``analysis.present.exports``)."""
    return fmt_or if row["topic"] == "odds ratio" else (lambda v: fmt_num(v, 3))


def _referee_specs(spec, baselines, coef, term) -> dict[str, TableSpec]:
    """The tables a referee asks for: the claims, interactions, curves at reference values, the corrected
    calibration curve, the leakage check and influence."""
    def level(variable, value) -> str:
        try:
            return spec.variable(variable).level_label(value)
        except KeyError:
            return str(value)

    def label(variable) -> str:
        return spec.labels().get(variable, variable)

    return {
        "claims": TableSpec("The claims of this report: every odds ratio with the interval it is cited with, the "
                            "curves, the interactions and the fit's summary (the conclusions, the slides and this "
                            "workbook state these).", (
            ("Topic", _col("topic", str)), ("Claim", _col("label", str)),
            ("Estimate", lambda x: _claim_number(x)(x["estimate"])),
            ("95% interval", lambda x: _ci("conf_low", "conf_high", _claim_number(x))(x)),
            ("Interval", lambda x: "" if pd.isna(x["interval"]) else str(x["interval"])),
            ("Direction", lambda x: "" if pd.isna(x["direction"]) else str(x["direction"])), ("Sentence", _col("sentence", str)))),
        "interaction_tests": TableSpec("Does one variable's effect depend on another? Each pairwise interaction of "
                                       "the final model's terms added alone (likelihood ratio on the rank it adds, "
                                       "Holm-adjusted over the pairs; Rao's score test on the largest data), and all of them at once.", (
            ("Interaction", lambda x: describe_term(str(x["term"]), spec) if ":" in str(x["term"]) else str(x["term"])),
            ("Test", lambda x: {"LR": "likelihood ratio", "score": "Rao score"}.get(str(x.get("test", "")), "")),
            ("df", _col("df", fmt_int)), ("Chi-square", _col("lr_chi2", lambda v: fmt_num(v, 2))),
            ("p", _col("p_value", fmt_p)), ("Holm p", _col("p_holm", fmt_p)),
            ("Note", lambda x: "" if pd.isna(x["note"]) else str(x["note"])))),
        "interaction_odds_ratios": TableSpec("Odds ratios within levels for the interactions in the model and the "
                                             "strong ones (Holm p < 0.01), in the model with the interaction, other "
                                             "variables at their reference values (Wald 95% CIs).", (
            ("Odds ratio of", lambda x: f"{label(x['variable'])}: {level(x['variable'], x['level'])} vs "
                                        f"{level(x['variable'], x['baseline'])}"),
            ("Among", lambda x: f"{label(x['at_variable'])} {level(x['at_variable'], x['at_level'])}"),
            ("Odds ratio", _col("odds_ratio", fmt_or)), ("95% CI", _ci("or_conf_low", "or_conf_high", fmt_or)))),
        "spline_odds_ratios": TableSpec("Spline variables at their 10th, 25th, 75th and 90th percentiles against "
                                        "their median: the curve in numbers (Wald 95% CIs).", (
            ("Variable", _col("label", str)), ("Percentile", _col("percentile", fmt_int)),
            ("Value", _col("value", lambda v: fmt_num(v, 1))), ("Median", _col("reference", lambda v: fmt_num(v, 1))),
            ("Odds ratio", _col("odds_ratio", fmt_or)), ("95% CI", _ci("or_conf_low", "or_conf_high", fmt_or)))),
        "calibration_corrected": TableSpec("Calibration curve corrected for over-fitting by the bootstrap (rms's "
                                           "calibrate): at each predicted probability, the apparent smoothed "
                                           "observed rate, its optimism and the corrected rate.", (
            ("Predicted", _col("predy", fmt_pct)), ("Apparent", _col("calibrated_orig", fmt_pct)),
            ("Optimism", _col("optimism", lambda v: fmt_num(100 * v, 2) + " pp" if fmt_num(v) else "")),
            ("Corrected", _col("calibrated_corrected", fmt_pct)), ("Resamples", _col("n", fmt_int)))),
        "leakage_check": TableSpec("Leakage check: the final model against the same model without the variables "
                                   "that may hold part of the outcome (paired DeLong test of the AUCs).", (
            ("Left out", lambda x: describe_term(str(x["terms_left_out"]), spec)
             if " + " not in str(x["terms_left_out"]) else str(x["terms_left_out"])),
            ("AUC with", _col("auc_with", fmt_num)), ("AUC without", _col("auc_without", fmt_num)),
            ("Difference (95% CI)", lambda x: f"{fmt_num(x['difference'])} ({fmt_num(x['conf_low'])} to "
                                              f"{fmt_num(x['conf_high'])})" if fmt_num(x["difference"]) else ""),
            ("p", _col("p_value", fmt_p)))),
        "coefficients_pooled": TableSpec("The model pooled over the imputed data sets by Rubin's rules (as mice's "
                                         "pool): coefficients, odds ratios with 95% CIs on the Barnard-Rubin "
                                         "degrees of freedom, and the fraction of missing information.", (
            ("Term", coef), ("Estimate", _col("estimate", fmt_num)), ("SE", _col("std_error", fmt_num)),
            ("t", _col("statistic", lambda v: fmt_num(v, 2))), ("df", _col("df", lambda v: fmt_num(v, 1))),
            ("p", _col("p_value", fmt_p)), ("Odds ratio", _col("odds_ratio", fmt_or)),
            ("OR 95% CI", _ci("or_conf_low", "or_conf_high", fmt_or)),
            ("Missing information", _col("fmi", fmt_pct)))),
        "imputation_selection": TableSpec("Selection on the imputed data sets: backward elimination by the pooled "
                                          "Wald test of each term (D1, Rubin's rules).", (
            ("Step", _col("step", fmt_int)), ("Action", lambda x: x["action"]),
            ("Term", lambda x: "" if pd.isna(x["term"]) else term(x)),
            ("df", lambda x: "" if pd.isna(x["df"]) else fmt_int(x["df"])),
            ("Criterion", _col("criterion", lambda v: fmt_num(v, 2))),
            ("Wald chi-square", _col("statistic", lambda v: fmt_num(v, 2))), ("p", _col("p_value", fmt_p)))),
        "influence": TableSpec("The most influential (pattern, outcome) cells by Cook's distance: the diagnostics of "
                               "one row of the cell.", (
            ("Rank", _col("rank", fmt_int)), ("Outcome", _col("outcome", fmt_int)), ("Rows", _col("rows", fmt_int)),
            ("Fitted", _col("fitted", fmt_pct)), ("Leverage", _col("leverage", lambda v: fmt_num(v, 4))),
            ("Pearson", _col("pearson", lambda v: fmt_num(v, 2))),
            ("Cook's distance", _col("cooks_distance", lambda v: fmt_num(v, 4))))),
    }


def _validation_specs(spec, baselines, coef, term) -> dict[str, TableSpec]:
    """The tables of the bootstrap validation and the profile of the top-scored group."""
    return {
        "validation": TableSpec("Optimism bootstrap of the whole procedure (selection and fit repeated in every "
                                "resample, as rms::validate): apparent value on the training sample, mean on the "
                                "resamples (training) and on the training sample (test), optimism and the corrected "
                                "value.", (
            ("Index", _col("label", str)), ("Apparent", _col("apparent", lambda v: fmt_num(v, 3))),
            ("Resamples", _col("training", lambda v: fmt_num(v, 3))), ("Test", _col("test", lambda v: fmt_num(v, 3))),
            ("Optimism", _col("optimism", lambda v: fmt_num(v, 4))),
            ("Corrected", _col("corrected", lambda v: fmt_num(v, 3))), ("n", _col("n", fmt_int)))),
        "selection_stability": TableSpec("Selection stability: share of bootstrap resamples in which the selection "
                                         "kept each candidate term.", (
            ("Term", term), ("Kept in", _col("share", fmt_pct)), ("Resamples", _col("count", fmt_int)))),
        "selected_models": TableSpec("The models most often selected in the bootstrap resamples.", (
            ("Model", lambda x: " + ".join(describe_term(t, spec) for t in str(x["model"]).split(" + "))
             if x["n_terms"] else "intercept only"),
            ("Terms", _col("n_terms", fmt_int)), ("Share", _col("share", fmt_pct)),
            ("Resamples", _col("count", fmt_int)))),
        "bootstrap_odds_ratios": TableSpec("Odds ratios of the final model with Wald 95% intervals (as if the model had "
                                           "been fixed in advance) and bootstrap 95% percentile intervals that include "
                                           "the selection (odds ratio 1 in a resample that left the term out).", (
            ("Term", coef), ("Odds ratio", _col("odds_ratio", fmt_or)),
            ("Wald 95% CI", _ci("or_conf_low", "or_conf_high", fmt_or)),
            ("Bootstrap 95% CI", _ci("boot_low", "boot_high", fmt_or)),
            ("Term kept in", _col("selected_share", fmt_pct))),
            query=lambda t: t["term"].map(lambda x: describe_coefficient(str(x), spec, baselines).kind
                                          in ("categorical", "binary", "numeric"))),
        PROFILE_TABLE: TableSpec(f"Profile of the top-scored fifth of {spec.rows} against the rest.", (
            ("Characteristic", lambda x: profile_label(x["characteristic"], spec)),
            ("Top 20%", lambda x: fmt_pct(x["top"]) if x["kind"] == "share" else fmt_num(x["top"], 2)),
            ("Rest", lambda x: fmt_pct(x["rest"]) if x["kind"] == "share" else fmt_num(x["rest"], 2)))),
    }


def _mean_or_share(spec, column: str) -> Callable:
    """A cell of the means table: a binary variable's share as a percentage, other means to 3 decimals in the
    variable's unit."""
    binary = {v.name for v in spec.variables if v.kind == "binary"}
    return lambda row: fmt_pct(row[column]) if row["variable"] in binary else fmt_num(row[column], 3)


def _level(spec, variable, level) -> str:
    try:
        return spec.variable(variable).level_label(level)
    except KeyError:
        return str(level)


def _chi2_df(chi2, df) -> str:
    """"12.34 (3)", or "not computed" (the model the test needs has no finite estimate; the note says why)."""
    return f"{fmt_num(chi2, 2)} ({fmt_int(df)})" if pd.notna(chi2) else "not computed"


def display(view, name: str) -> pd.DataFrame:
    """The display table ``name`` (DataFrame of strings with readable headers)."""
    spec = table_specs(view.spec, view.metrics.get("baselines"))[name]
    source = view.tables[spec.source or name]
    if spec.query is not None:
        source = source[spec.query(source)]
    rows = [[fn(row) for _, fn in spec.columns] for _, row in source.iterrows()]
    return pd.DataFrame(rows, columns=[h for h, _ in spec.columns], dtype=object)


def firth_coefficients(view) -> pd.DataFrame:
    """The coefficient table of a Firth fit (strings): Wald and profile penalised-likelihood intervals; a
    profile limit or p-value whose constrained fits did not converge (``FirthResult``: NaN) is shown as
    "not computed"; the Wald interval beside it still stands."""
    spec, baselines = view.spec, view.metrics.get("baselines", {})
    t = view.tables["coefficients"]
    rows = []

    def profile(x) -> str:
        low, high = x["or_profile_low"], x["or_profile_high"]
        if pd.isna(low) or pd.isna(high):
            return "not computed"
        return f"{fmt_or(low)} to {fmt_or(high)}"

    for _, x in t.iterrows():
        rows.append([describe_coefficient(str(x["term"]), spec, baselines).unit_label, fmt_num(x["estimate"]),
                     fmt_num(x["std_error"]), fmt_or(x["odds_ratio"]),
                     f"{fmt_or(x['or_conf_low'])} to {fmt_or(x['or_conf_high'])}",
                     profile(x), "not computed" if pd.isna(x["profile_p_value"]) else fmt_p(x["profile_p_value"])])
    return pd.DataFrame(rows, columns=["Term", "Estimate", "SE", "Odds ratio", "Wald 95% CI", "Profile 95% CI",
                                       "Profile p"], dtype=object)


def caption(view, name: str) -> str:
    return table_specs(view.spec, view.metrics.get("baselines"))[name].caption


def evaluation_summary(metrics: dict, spec) -> pd.DataFrame:
    """Train and test evaluation statistics side by side (strings)."""
    samples = [s for s in ("train", "test") if s in metrics]
    rows = [
        (_cap(spec.rows), lambda m: fmt_int(m["n"])),
        (_cap(spec.response.event_group), lambda m: fmt_int(m["events"])),
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


def model_summary(metrics: dict, spec) -> pd.DataFrame:
    """Fit statistics of the full and the final model (strings)."""
    rows = [
        (f"{_cap(spec.rows)} (training)", lambda m: fmt_int(m["n_obs"])),
        (_cap(spec.response.event_group), lambda m: fmt_int(m["events"])),
        ("Log-likelihood", lambda m: fmt_num(m["llf"], 2)),
        ("AIC", lambda m: fmt_num(m["aic"], 2)),
        ("BIC", lambda m: fmt_num(m["bic"], 2)),
        ("LR chi-square vs intercept only (df)", lambda m: f"{fmt_num(m['lr_chi2'], 2)} ({fmt_int(m['lr_df'])})"),
        ("LR test p", lambda m: fmt_p(m["lr_p"])),
        ("McFadden pseudo R-squared", lambda m: fmt_num(m["pseudo_r2"], 3)),
    ]
    return pd.DataFrame([[label, fn(metrics["full_model"]), fn(metrics["model"])] for label, fn in rows],
                        columns=["Statistic", "Full model", "Final model"], dtype=object)


def markdown(view, name: str) -> str:
    """The display table ``name`` as a pandoc pipe table (what report.qmd prints)."""
    return pipe_table(display(view, name))


def sentence(tables: dict[str, pd.DataFrame], table: str, topic: str) -> str:
    """The generated sentence of ``topic`` in a sentence table (eda_sentences, conclusions)."""
    rows = tables[table]
    match = rows.loc[rows["topic"] == topic, "sentence"]
    return str(match.iloc[0]) if len(match) else ""


ENGINE_NAMES = {"memory": "DuckDB (in memory)", "duckdb": "DuckDB (streamed from disk)", "spark": "Spark SQL"}


def reading_sentence(data: dict) -> str:
    """How the file was read and how far it reduced: engine, rows used, covariate patterns."""
    engine = ENGINE_NAMES.get(data.get("engine", "memory"), data.get("engine", "memory"))
    return (f"The file was read with {engine}; its {fmt_int(data['rows_used'])} rows used reduce, without loss, "
            f"to {fmt_int(data['n_patterns'])} covariate patterns (distinct combinations of sample and "
            "variables, with their counts of rows and events), on which every model and statistic is computed.")


def run_parameters(config: dict) -> list[tuple[str, str]]:
    """The run's parameters as the command-line options that set them (``--baseline`` once per column)."""
    rows = []
    for key, value in config.items():
        if key in ("data", "out"):
            continue
        if key == "baselines":
            shown = ", ".join(f"{c}={v}" for c, v in value.items()) or "from the specification"
            rows.append(("--baseline", shown))
        elif key == "exclude":
            shown = "; ".join(str(e[0] if isinstance(e, (list, tuple)) else e) for e in value) or "none"
            rows.append(("--exclude", shown))
        elif key == "spec":
            rows.append(("--spec", "the bundled default" if value is None else str(value)))
        else:
            rows.append((f"--{key.replace('_', '-')}", "off" if value is None else str(value)))
    return rows


def _missing_specs(spec) -> dict[str, TableSpec]:
    """The tables of the rows left out for a missing value (``analysis.evaluate.missing``): one spec each."""
    r, rows_h = spec.response, _cap(spec.rows)

    def label(x) -> str:
        return spec.labels().get(str(x["variable"]), str(x["variable"]))

    def level(x) -> str:
        if str(x["variable"]) == r.name:
            return r.level_label(1)
        return "" if pd.isna(x["level"]) or x["summary"] == "mean" else _level(spec, str(x["variable"]), x["level"])

    def value(column: str) -> Callable:
        return lambda x: fmt_pct(x[column]) if x["summary"] == "share" else fmt_num(x[column], 3)

    return {
        "missingness": TableSpec(
            f"Missing values by variable: {spec.rows} without a value, and the {r.rate} among them and among the "
            f"others, with the test of whether missingness goes with the outcome (Pearson chi-square; Fisher's exact "
            f"test when an expected count is below 5).", (
                ("Variable", label), (f"{rows_h} missing", _col("rows_missing", fmt_int)),
                ("Share missing", _col("share_missing", fmt_pct)),
                (f"{_cap(r.rate)} if missing", _col("rate_missing", fmt_pct)),
                (f"{_cap(r.rate)} if observed", _col("rate_observed", fmt_pct)),
                ("Test", lambda x: "" if pd.isna(x["test"]) else str(x["test"])),
                ("Chi-square", _col("statistic", lambda v: fmt_num(v, 2))), ("p", _col("p_value", fmt_p)))),
        "missing_vs_complete": TableSpec(
            f"{rows_h} with a missing value (left out of a complete-case fit) against those with every value: "
            f"shares of each level and means, on the variables both have, with the standardized difference "
            f"(missing a value minus complete).", (
                ("Variable", lambda x: r.label if str(x["variable"]) == r.name else label(x)), ("Level", level),
                ("Summary", lambda x: str(x["summary"])),
                (f"{rows_h} missing a value", value("excluded")), (f"{rows_h} complete", value("kept")),
                ("Standardized difference", _col("std_difference", lambda v: fmt_num(v, 2))))),
    }
