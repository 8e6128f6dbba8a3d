"""The workbook's formats and sheet names, cell by cell on small tables (the whole workbook of a run is checked in
tests/present/test_report.py and tests/test_words.py): a number is formatted by what it holds -- a difference
of means in the variable's unit, a count as a whole number, a share as a percentage -- and sheets are named in
the specification's nouns."""
import pandas as pd
from openpyxl import Workbook

from analysis.evaluate.explore import PROFILE_TABLE
from analysis.present import exports
from analysis.spec import default_spec, spec_from_dict

TITANIC = spec_from_dict({
    "dataset": {"row": "passenger"},
    "response": {"column": "survived", "event": "yes", "non_event": "no"},
    "variables": [{"column": "sex", "type": "binary", "yes": "female", "no": "male", "label": "Sex"},
                  {"column": "age", "type": "numeric", "label": "Age"}]})


def written(frame, name, spec=TITANIC):
    """{(row, column): (value, number format)} of ``frame`` written as the sheet of table ``name``."""
    ws = Workbook().active
    exports._write_frame(ws, frame, name, 1, spec)
    return {(r - 2, ws.cell(row=1, column=c).value): (ws.cell(row=r, column=c).value,
                                                      ws.cell(row=r, column=c).number_format)
            for r in range(2, len(frame) + 2) for c in range(1, len(frame.columns) + 1)}


def test_the_means_table_formats_each_row_by_what_it_holds():
    """A share of a binary variable as a percentage; a mean of age and the difference of means in years, never
    '-162.7%' (the difference column used to be a percentage for every row)."""
    frame = pd.DataFrame({"variable": ["sex_female", "age"], "mean_flag_0": [0.155, 30.545],
                          "mean_flag_1": [0.684, 28.918], "difference": [0.529, -1.627]})
    cells = written(frame, "means_by_flag")
    assert {cells[(0, c)][1] for c in ("mean_flag_0", "mean_flag_1", "difference")} == {"0.0%"}
    assert {cells[(1, c)][1] for c in ("mean_flag_0", "mean_flag_1", "difference")} == {"0.000"}


def test_the_profile_formats_shares_and_means_by_their_kind():
    frame = pd.DataFrame({"characteristic": ["event rate (observed)", "age"], "kind": ["share", "mean"],
                          "top": [0.92, 29.5], "rest": [0.28, 30.0], "difference": [0.64, -0.45],
                          "std_difference": [1.3, -0.03]})
    cells = written(frame, PROFILE_TABLE)
    assert cells[(0, "top")][1] == cells[(0, "difference")][1] == "0.0%"
    assert cells[(1, "top")][1] == cells[(1, "difference")][1] == "0.000"


def test_whole_numbers_are_counts():
    """Bytes and rows in the provenance's mixed column, and an integer column, without decimals
    ('1104991.000' was shown before)."""
    frame = pd.DataFrame({"item": ["data file", "bytes", "rows read"], "value": ["x.csv", 1104991, 25000]},
                         dtype=object)
    cells = written(frame, "provenance", None)
    assert cells[(1, "value")] == (1104991, "#,##0") and cells[(2, "value")] == (25000, "#,##0")
    cells = written(pd.DataFrame({"survived": [0, 1], "n": [619, 427], "share": [0.59, 0.41]}), "class_balance")
    assert cells[(1, "survived")][1] == "#,##0" and cells[(1, "share")][1] == "0.0%"
    tail = pd.DataFrame({"group": ["under 60", "60+"], "min": [0.17, 60.0], "max": [59.0, 80.0]})
    assert written(tail, "age_tail")[(0, "min")][1] == "0.000"
    whole = pd.DataFrame({"group": ["under 60", "60+"], "min": [17.0, 60.0], "max": [59.0, 80.0]})
    assert written(whole, "age_tail")[(0, "min")][1] == "0"


def test_sheet_names_use_the_specifications_nouns():
    names = ["rate_by_sex", "means_by_flag", "correlation_with_flag", PROFILE_TABLE]
    assert exports.sheet_names(names, TITANIC) == {
        "rate_by_sex": "rate_by_sex", "means_by_flag": "means_by_survived",
        "correlation_with_flag": "correlation_with_survived", PROFILE_TABLE: "profile_top_passengers"}
    tmall = exports.sheet_names(names, default_spec())      # the coupon workbook keeps its sheet names
    assert tmall["means_by_flag"] == "means_by_flag" and tmall[PROFILE_TABLE] == "profile_top_customers"


def test_sheet_names_are_short_unique_and_allowed():
    long = ["rate_by_" + "a" * 40, "rate_by_" + "a" * 41, "rate_by_a/b:c"]
    got = exports.sheet_names(long, TITANIC)
    assert all(len(t) <= 31 for t in got.values()) and len(set(got.values())) == 3
    assert got["rate_by_a/b:c"] == "rate_by_a_b_c"


def test_levels_by_group_are_named():
    """The calibration-by-group sheet names a binary level ('female'), not its 0/1 code."""

    class Results:
        spec, metrics = TITANIC, {}

    frame = pd.DataFrame({"variable": ["sex_female", "sex_female"], "level": ["0", "1"], "n": [206, 119]})
    out = exports._labelled("observed_vs_predicted", frame, Results)
    assert out.columns.tolist() == ["variable", "label", "level", "level_label", "n"]
    assert out["label"].tolist() == ["Sex", "Sex"] and out["level_label"].tolist() == ["male", "female"]


def test_the_missing_value_tables_show_shares_as_percentages_and_means_in_their_unit():
    """missingness: the share of rows missing and the event rates with and without the variable as percentages,
    counts whole; missing_vs_complete: a level's share in each group as a percentage, a mean in the unit, the
    standardized difference to two decimals (Titanic numbers: 263 of 1,309 ages missing, 27.8% vs 40.8%)."""
    frame = pd.DataFrame({"variable": ["age"], "rows_missing": [263], "share_missing": [263 / 1309],
                          "events_missing": [73], "rate_missing": [73 / 263], "rows_observed": [1046],
                          "events_observed": [427], "rate_observed": [427 / 1046], "test": ["Pearson chi-square"],
                          "statistic": [15.197], "df": [1.0], "p_value": [9.7e-05]})
    cells = written(frame, "missingness")
    assert {cells[(0, c)][1] for c in ("share_missing", "rate_missing", "rate_observed")} == {"0.0%"}
    assert {cells[(0, c)][1] for c in ("rows_missing", "events_missing", "rows_observed")} == {"#,##0"}
    frame = pd.DataFrame({"variable": ["sex_female", "fare"], "level": ["1", ""], "summary": ["share", "mean"],
                          "excluded": [0.2966, 31.5], "kept": [0.3709, 36.7], "n_excluded": [263, 263],
                          "n_kept": [1046, 1046], "std_difference": [-0.158, -0.09]})
    cells = written(frame, "missing_vs_complete")
    assert cells[(0, "excluded")][1] == cells[(0, "kept")][1] == "0.0%"
    assert cells[(1, "excluded")][1] == cells[(1, "kept")][1] == "0.000"
    assert cells[(0, "n_kept")][1] == "#,##0" and cells[(0, "std_difference")][1] == "0.00"


def test_spline_values_are_whole_numbers_when_they_are():
    frame = pd.DataFrame({"variable": ["age"] * 3, "value": [25.0, 33.0, 48.0], "reference": [33.0] * 3})
    assert {c[1] for k, c in written(frame, "spline_odds_ratios").items() if k[1] in ("value", "reference")} == {"0"}
    frame["value"] = [25.5, 33.0, 48.25]
    assert written(frame, "spline_odds_ratios")[(0, "value")][1] == "0.0##"
