"""The one rounding rule and the display helpers, against hand-written expected text."""
import pandas as pd

from analysis import display, present
from analysis.plots import term_label


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
    assert lines[1] == "|:---|---:|---:|---:|---:|:---|"
    assert lines[2] == "| Job: retired | 1 | < 0.001 | -6.65 to -3.05 | 5.34 (8) | 0.5 |"


def test_term_labels_of_whole_terms_and_variables():
    assert term_label("C(job)") == "Job"
    assert term_label("C(marriage, Treatment(reference='single'))") == "Marital status"
    assert term_label("C(job)[T.retired]") == "Job: retired"
    assert term_label("returned_yes") == "Returned goods"
    assert term_label("something_else") == "something_else"


def test_run_parameters_are_the_cli_options():
    rows = display.run_parameters({"data": "x.csv", "test_size": 0.3, "max_age": None,
                                   "baselines": {"job": "retired"}, "memory_limit": "2GB"})
    assert rows == [("`--test-size`", "0.3"), ("`--max-age`", "off"), ("`--baseline`", "job=retired"),
                    ("`--memory-limit`", "2GB")]
    assert display.run_parameters({"baselines": {}}) == [("`--baseline`", "first level alphabetically")]


def test_reading_sentence():
    text = display.reading_sentence({"engine": "duckdb", "rows_used": 100_000_000, "n_patterns": 831_621})
    assert text.startswith("The file was read with DuckDB (streamed); its 100,000,000 rows used reduce, without "
                           "loss, to 831,621 covariate patterns")
