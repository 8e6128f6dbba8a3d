"""The one rounding rule and the display helpers, against hand-written expected text."""
import re

import pandas as pd

from analysis import display, present


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
    # dashes follow each column's content width: 12, 3, 7, 14, 9 and 5 characters
    assert lines[1] == "|:-----------|--:|------:|-------------:|--------:|:----|"
    # cells are escaped: no character of a value can be markup
    assert lines[2] == "| Job\\: retired | 1 | \\< 0\\.001 | \\-6\\.65 to \\-3\\.05 | 5\\.34 (8) | 0\\.5 |"


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
