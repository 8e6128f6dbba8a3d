"""Data layer: reading the real file, and a clear error (exit 2 on the CLI) for every kind of bad input."""
import numpy as np
import pandas as pd
import pytest

from analysis import schema
from analysis.data import DataValidationError, load_clean

from csv_helpers import GOOD_ROWS, HEADER, write  # noqa: E402


def problems_of(path):
    with pytest.raises(DataValidationError) as info:
        load_clean(path)
    return info.value


def test_real_file_loads_all_rows(real_data_path):
    clean = load_clean(real_data_path)
    raw = pd.read_csv(real_data_path)  # independent reader
    assert len(clean.data) == len(raw) == 25317
    assert clean.data["flag"].sum() == (raw["coupon_ind"] == 1).sum() == 2961
    for col in schema.YES_NO:
        assert (clean.data[f"{col}_yes"] == (raw[col] == "yes").astype(int)).all()
    assert "ID" not in clean.data and "coupon_ind" not in clean.data
    assert clean.accounting["rows_remaining"].tolist() == [25317, 25317]
    assert not clean.simulated


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("bom", [False, True])
@pytest.mark.parametrize("trailing", [False, True])
def test_line_endings_bom_and_last_newline(tmp_path, newline, bom, trailing):
    lines = [HEADER, *GOOD_ROWS] + ([""] if trailing else [])
    path = write(tmp_path, lines, newline=newline, encoding="utf-8-sig" if bom else "utf-8")
    data = load_clean(path).data
    assert len(data) == 4 and data["flag"].tolist() == [0, 1, 0, 1]


def test_max_age_exclusion_is_counted(tmp_path):
    path = write(tmp_path, [HEADER, *GOOD_ROWS])
    clean = load_clean(path, max_age=45)
    assert len(clean.data) == 3
    acc = clean.accounting.set_index("step")
    assert acc.loc["excluded: age > 45 (--max-age 45)", "rows_excluded"] == 1
    assert acc["rows_remaining"].tolist() == [4, 3, 3]


def test_extra_column_ignored_with_note(tmp_path):
    path = write(tmp_path, [HEADER + ",segment", *(r + ",A" for r in GOOD_ROWS)])
    clean = load_clean(path)
    assert "segment" not in clean.data and "segment" in clean.notes[0]


def test_misspelt_column_suggests_rename(tmp_path):
    path = write(tmp_path, [HEADER.replace("marriage", "marrige"), *GOOD_ROWS])
    msg = str(problems_of(path))
    assert "'marriage'" in msg and "missing" in msg and "rename it to 'marriage'" in msg


def test_duplicated_column(tmp_path):
    path = write(tmp_path, [HEADER + ",age", *(r + ",40" for r in GOOD_ROWS)])
    assert "'age': appears 2 times" in str(problems_of(path))


@pytest.mark.parametrize("row, column, what", [
    ("2,,technician,divorced,no,yes,no,2,0,1", "age", "missing value in 1 row"),
    ("2,4x,technician,divorced,no,yes,no,2,0,1", "age", "text in a numeric column in 1 row"),
    ("2,inf,technician,divorced,no,yes,no,2,0,1", "age", "text in a numeric column in 1 row"),
    ("2,42,technician,divorced,no,yes,no,1e400,0,1", "coupon_used_in_last6_month", "text in a numeric column"),
    ("2,42,technician,divorced,no,yes,no,2.5,0,1", "coupon_used_in_last6_month", "non-integer value"),
    ("2,42,technician,divorced,no,yes,no,-3,0,1", "coupon_used_in_last6_month", "negative value"),
    ("2,42,technician,divorced,no,yes,no,2,0,2", "coupon_ind", "response outside {0, 1}"),
    ("2,42,technician,divorced,maybe,yes,no,2,0,1", "default", "value other than 'yes'/'no'"),
    ("2,42,,divorced,no,yes,no,2,0,1", "job", "missing value"),
    ("1,42,technician,divorced,no,yes,no,2,0,1", "ID", "duplicate ID in 2 rows"),
])
def test_bad_values_name_column_rows_and_line(tmp_path, row, column, what):
    path = write(tmp_path, [HEADER, GOOD_ROWS[0], row, *GOOD_ROWS[2:]])
    err = problems_of(path)
    msg = str(err)
    assert f"column '{column}': {what}" in msg
    (problem,) = [p for p in err.problems if p.column == column]
    assert 3 in problem.lines  # the bad row is the third line of the file
    assert err.n_rows == 4


def test_every_problem_reported_not_just_first(tmp_path):
    rows = [GOOD_ROWS[0], "2,x,technician,divorced,no,yes,no,-1,0,1", "3,47,admin.,married,no,yes,yes,2,1,7"]
    err = problems_of(write(tmp_path, [HEADER, *rows]))
    assert {p.column for p in err.problems} == {"age", "coupon_used_in_last6_month", "coupon_ind"}


def test_many_bad_rows_counted_and_examples_limited(tmp_path):
    rows = [f"{i},-{i},admin.,married,no,yes,no,1,0,{i % 2}" for i in range(1, 101)]
    err = problems_of(write(tmp_path, [HEADER, *rows]))
    (problem,) = err.problems
    assert problem.rows == 100 and problem.lines == (2, 3, 4, 5, 6) and problem.ids[:2] == ("1", "2")


@pytest.mark.parametrize("content, what", [
    (b"", "is empty"),
    (b"   \n", "is empty"),
    (HEADER.encode() + b"\r\n", "has a header but no data rows"),
    (b"PK\x03\x04\x00\x00binary", "is not CSV text"),
    (b"\xff\xfe\x00a\x00b", "is not CSV text"),
    (b"\xe9t\xe9,abc\n1,2\n", "is not UTF-8 text"),
    (b"just some prose without commas\nmore prose\n", "does not look like comma-separated text"),
])
def test_bad_files(tmp_path, content, what):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    assert what in str(problems_of(path))


def test_missing_file_and_directory(tmp_path):
    assert "does not exist" in str(problems_of(tmp_path / "nope.csv"))
    assert "is a directory" in str(problems_of(tmp_path))


def test_single_class_response_rejected(tmp_path):
    rows = [r[:-1] + "0" for r in GOOD_ROWS]
    assert "same response" in str(problems_of(write(tmp_path, [HEADER, *rows])))


def test_ragged_row_is_reported_not_dropped(tmp_path):
    path = write(tmp_path, [HEADER, GOOD_ROWS[0], "2,42,technician", *GOOD_ROWS[2:]])
    msg = str(problems_of(path))
    assert "missing value" in msg and "file lines 3" in msg


def test_clean_matches_hand_made_frame():
    from analysis.data import clean
    raw = pd.DataFrame({"ID": [7, 8], "age": [30, 61], "job": ["student", "retired"],
                        "marriage": ["single", "married"], "default": ["no", "yes"],
                        "returned": ["yes", "no"], "loan": ["no", "no"],
                        "coupon_used_in_last6_month": [3, 1], "coupon_used_in_last_month": [1, 0],
                        "coupon_ind": [1, 0]})
    out = clean(raw)
    assert out.to_dict("list") == {
        "age": [30, 61], "job": ["student", "retired"], "marriage": ["single", "married"],
        "coupon_used_in_last6_month": [3, 1], "coupon_used_in_last_month": [1, 0],
        "default_yes": [0, 1], "returned_yes": [1, 0], "loan_yes": [0, 0], "flag": [1, 0]}
    assert np.issubdtype(out["flag"].dtype, np.integer)
