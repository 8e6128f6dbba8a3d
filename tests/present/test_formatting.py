"""The one rounding rule and the display helpers, against hand-written expected text."""
import re

import pandas as pd

from analysis.present import display
from analysis.present import formatting as present


def test_rounding_rule():
    assert present.fmt_p(0.0004) == "< 0.001"
    assert present.fmt_p(0.0123) == "0.012"
    assert present.fmt_or(0.4249) == "0.42"
    assert present.fmt_int(25317) == "25,317"
    assert present.fmt_pct(0.11734) == "11.7%"


def test_pipe_table_right_aligns_numbers_and_formatted_numbers():
    frame = pd.DataFrame({"Term": ["Job: retired", "Age"], "n": [1, 2], "p": ["< 0.001", "0.489"],
                          "95% CI": ["-6.65 to -3.05", "0.90 to 1.25"], "HL": ["5.34 (8)", "14.03 (8)"],
                          "Mixed": ["0.5", "yes"]})
    lines = present.pipe_table(frame).splitlines()
    # dashes follow each column's need: longest cell + 2, or the longest word of the bold header at 1.2 per
    # character + 2, by hand: Term 12+2, n max(2+2, 1+2), p 7+2, 95% CI 14+2, HL 9+2, Mixed ceil(6)+2
    assert lines[1] == "|:-------------|---:|--------:|---------------:|----------:|:-------|"
    # cells are escaped: no character of a value can be markup
    assert lines[2] == "| Job\\: retired | 1 | \\< 0\\.001 | \\-6\\.65 to \\-3\\.05 | 5\\.34 (8) | 0\\.5 |"


def test_wide_tables_take_space_from_text_columns_only():
    """A table wider than the text block (TABLE_BUDGET characters): the text column shrinks (down to its
    longest word + 2, at least 12) and the number columns keep what their headers and values need."""
    headers = ["Term", "Estimate", "SE", "Odds ratio"]
    cells = [["Coupons used, months 2-6 (spline: non-linear part 1) (spline coefficient)", "Age"],
             ["-0.254", "0.036"], ["0.190", "0.165"], ["0.78", "1.04"]]
    widths = present.column_widths(headers, cells, "lrrr")
    # needs: 74 + 2 = 76, ceil(9.6) + 2 = 12, 5 + 2 = 7, "ratio": ceil(6) + 2 = 8; sum 103, excess 13
    assert widths == [60, 12, 7, 8]                  # the text column: 76 - 13 = 63, capped at 60
    # five number columns of 17: the text column (needs 103) stops at its longest word + 2 = 32
    text = "x" * 30 + " " + "y " * 35
    narrow = present.column_widths(["Term"] + list("ABCDE"), [[text]] + [["1" * 15]] * 5, "lrrrrr")
    assert narrow == [32] + [17] * 5
    assert present.column_widths(["T", "N"], [["a " * 80], ["1"]], "lr")[0] == 60     # capped at 60


def test_pipe_table_escapes_hostile_cells():
    frame = pd.DataFrame({"Level": ["<img src=x onerror=alert(1)>", "@fig-x", "a|b", "[x](javascript:alert(1))"]})
    text = present.pipe_table(frame)
    assert not re.search(r"(?<!\\)[<>@\[\]]", text) and "\\<img" in text
    assert "\\@fig\\-x" in text and "a\\|b" in text and "\\[x\\]" in text


def test_run_parameters_are_the_cli_options():
    rows = display.run_parameters({"data": "x.csv", "test_size": 0.3, "baselines": {"job": "retired"},
                                   "exclude": [["age > 60", "age > 60 (--max-age 60)"]], "memory_limit": "2GB",
                                   "spec": None})
    assert rows == [("--test-size", "0.3"), ("--baseline", "job=retired"), ("--exclude", "age > 60"),
                    ("--memory-limit", "2GB"), ("--spec", "the bundled default")]
    assert display.run_parameters({"baselines": {}}) == [("--baseline", "from the specification")]


def test_reading_sentence():
    text = display.reading_sentence({"engine": "duckdb", "rows_used": 100_000_000, "n_patterns": 831_621})
    assert text.startswith("The file was read with DuckDB (streamed from disk); its 100,000,000 rows used reduce, "
                           "without loss, to 831,621 covariate patterns")
