"""The readers (analysis.read): the pattern table against pandas, and every bad file through every engine.

Independent computations: the pattern table of a file is a pandas groupby of the file read by
``pandas.read_csv`` and cleaned here by hand, with the test side from ``analysis.read.split.in_test_sample``.
Every bad-input case runs through the three engines (memory, duckdb, spark) and must give the same
verdict -- the same problems, rows, file lines, IDs and values -- and the problem and line the case was
built to have.
"""
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.read import DataValidationError, read_patterns, read_rows
from analysis.simulate import write_simulated
from analysis.spec import default_spec, with_exclusions, with_missing
from analysis.read.split import in_test_sample

from csv_helpers import COLUMNS, GOOD_ROWS, HEADER, write  # noqa: E402

SPEC = default_spec()
#: the default specification under the strategy "refuse": a missing value is a problem (the default,
#: complete_cases, leaves the row out: tests/read/test_read_missing.py)
REFUSE = with_missing(SPEC, "refuse")
VARIABLES = list(SPEC.pattern_variables)
ENGINES = ("memory", "duckdb", "spark")


def reference_patterns(path, seed: int, test_size: float, max_age=None) -> tuple[pd.DataFrame, int]:
    """The pattern table by pandas: read_csv, hand cleaning, numpy split, groupby."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame = pd.DataFrame({
        "age": raw["age"].astype("int64"), "job": raw["job"], "marriage": raw["marriage"],
        **{f"{c}_yes": (raw[c] == "yes").astype("int64") for c in ("default", "returned", "loan")},
        "coupon_used_in_last6_month": raw["coupon_used_in_last6_month"].astype("int64"),
        "coupon_used_in_last_month": raw["coupon_used_in_last_month"].astype("int64"),
    })
    frame["coupons_months_2_6"] = frame["coupon_used_in_last6_month"] - frame["coupon_used_in_last_month"]
    frame["coupons_last_month"] = frame["coupon_used_in_last_month"].clip(upper=4).astype(str)
    y = (raw["coupon_ind"] == "1").astype("int64")
    frame["sample"] = np.where(in_test_sample(raw["ID"].astype("int64"), seed, test_size), "test", "train")
    n_read = len(frame)
    if max_age is not None:
        keep = frame["age"] <= max_age
        frame, y = frame[keep], y[keep]
    frame["y"] = y
    table = frame.groupby(["sample", *VARIABLES]).agg(trials=("y", "size"), events=("y", "sum")).reset_index()
    table["sample"] = pd.Categorical(table["sample"], ["train", "test"], ordered=True)
    table = table.sort_values(["sample", *VARIABLES]).reset_index(drop=True)
    table["sample"] = table["sample"].astype(str)
    return table[["sample", *VARIABLES, "trials", "events"]], n_read


@pytest.fixture(scope="module")
def spark():
    from analysis.read.engines import spark_session

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return spark_session()


def max_age_spec(n):
    return with_exclusions(SPEC, [(f"age > {n}", f"age > {n} (--max-age {n})")])


# ----------------------------------------------------------------------------- pattern tables


@pytest.mark.parametrize("engine", ["memory", "duckdb"])
@pytest.mark.parametrize("test_size, max_age", [(0.3, None), (0.0, None), (0.3, 60)])
def test_real_data_patterns_equal_pandas_groupby(real_data_path, engine, test_size, max_age):
    spec = max_age_spec(max_age) if max_age else SPEC
    got = read_patterns(real_data_path, spec, seed=100, test_size=test_size, engine=engine)
    expected, n_read = reference_patterns(real_data_path, 100, test_size, max_age)
    pd.testing.assert_frame_equal(got.patterns, expected, check_dtype=False)
    assert got.patterns.dtypes["age"] == "int64" and got.patterns.dtypes["trials"] == "int64"
    assert got.n_rows == int(expected["trials"].sum()) and got.n_rows_read == n_read == 25_317
    if max_age:
        acc = got.accounting.set_index("step")
        assert acc.loc[f"excluded: age > {max_age} (--max-age {max_age})", "rows_excluded"] == n_read - got.n_rows
    if test_size == 0 and max_age is None:
        assert got.n_patterns == 12_300


def test_spark_equals_pandas_on_real_csv(spark, real_data_path):
    got = read_patterns(real_data_path, max_age_spec(60), seed=100, test_size=0.3, engine="spark", hash_file=False)
    expected, _ = reference_patterns(real_data_path, 100, 0.3, 60)
    pd.testing.assert_frame_equal(got.patterns, expected, check_dtype=False)


def test_read_rows_equals_pandas(real_data_path):
    rows = read_rows(real_data_path)
    raw = pd.read_csv(real_data_path)
    assert len(rows) == 25_317 and (rows["ID"] == raw["ID"]).all()
    assert (rows["flag"] == raw["coupon_ind"]).all() and (rows["job"] == raw["job"]).all()
    assert (rows["returned_yes"] == (raw["returned"] == "yes")).all()


@pytest.fixture(scope="module")
def small_parquet(tmp_path_factory):
    return write_simulated(tmp_path_factory.mktemp("small") / "small.parquet", n_rows=20_000, seed=8)


@pytest.mark.parametrize("engine", ENGINES)
def test_parquet_equals_its_csv(small_parquet, tmp_path, engine, request):
    if engine == "spark":
        request.getfixturevalue("spark")
    as_csv = tmp_path / "small.csv"
    pd.read_parquet(small_parquet).to_csv(as_csv, index=False)
    spec = max_age_spec(50)
    got = read_patterns(small_parquet, spec, seed=5, test_size=0.25, engine=engine, hash_file=False)
    ref = read_patterns(as_csv, spec, seed=5, test_size=0.25, engine="memory", hash_file=False)
    pd.testing.assert_frame_equal(got.patterns, ref.patterns)
    pd.testing.assert_frame_equal(got.accounting, ref.accounting)
    assert got.simulated


def test_negative_ids_split_as_numpy(tmp_path):
    """numpy's % is a floor modulo and SQL's truncates: negative IDs land on the same side."""
    rows = [f"{i},{30 + i % 40},admin.,married,no,yes,no,{i % 3},0,{i % 2}" for i in range(-300, 300) if i]
    path = write(tmp_path, [HEADER, *rows])
    got = read_patterns(path, SPEC, seed=11, test_size=0.5)
    expected, _ = reference_patterns(path, 11, 0.5)
    pd.testing.assert_frame_equal(got.patterns, expected, check_dtype=False)


def test_extra_columns_noted_and_no_compression_note(tmp_path):
    rows = [f"{i},{20 + i % 50},admin.,married,no,yes,no,{i},0,{i % 2},x," for i in range(1, 201)]
    path = write(tmp_path, [HEADER + ",segment,", *rows])
    got = read_patterns(path, SPEC, test_size=0.0)
    assert got.n_patterns == 200
    assert any("'segment'" in n and "(unnamed, column 12)" in n for n in got.notes)
    assert any("do not compress" in n and "200 patterns for 200 rows" in n for n in got.notes)


def test_no_id_splits_by_row_number(tmp_path):
    """A specification without an ID: the split hashes the data row's number (the same in every engine)."""
    import dataclasses

    spec = dataclasses.replace(SPEC, id=None)
    rows = [f"{i},{20 + i % 50},admin.,married,no,yes,no,{i % 4},0,{i % 2}" for i in range(1, 401)]
    path = write(tmp_path, [HEADER, "", *rows])
    got = read_patterns(path, spec, seed=3, test_size=0.5)
    raw = pd.read_csv(path)
    expected_test = in_test_sample(np.arange(1, 401), 3, 0.5).sum()
    assert int(got.patterns.loc[got.patterns["sample"] == "test", "trials"].sum()) == expected_test
    assert len(raw) == 400


# ----------------------------------------------------------------------------- bad input: one verdict


def verdict(path, engine, spec=SPEC):
    """("ok", patterns, accounting, n_rows) or ("error", the problems as tuples, n_rows) for one engine (a
    missing value in the patterns as None, so that two tables compare equal)."""
    try:
        got = read_patterns(path, spec, engine=engine, hash_file=False)
    except DataValidationError as err:
        return ("error", err.verdict(), err.n_rows)
    patterns = got.patterns.astype(object).where(got.patterns.notna(), None)
    return ("ok", patterns.to_dict("list"), got.accounting.to_dict("list"), got.n_rows)


def same_verdict(path, engines=("memory", "duckdb"), spec=SPEC):
    results = {e: verdict(path, e, spec) for e in engines}
    first = results[engines[0]]
    for e in engines[1:]:
        assert results[e] == first, (e, results[e], first)
    return first


def line_of(rows_before_header: int, k: int) -> int:
    return rows_before_header + k


BAD_ROWS = [
    # (row placed on file line 3, column, what)
    ("2,,technician,divorced,no,yes,no,2,0,1", "age", "missing value"),
    ("2,NA,technician,divorced,no,yes,no,2,0,1", "age", "missing value"),
    ("2,4x,technician,divorced,no,yes,no,2,0,1", "age", "text in a numeric column"),
    ("2,inf,technician,divorced,no,yes,no,2,0,1", "age", "text in a numeric column"),
    ("2,42,technician,divorced,no,yes,no,1e400,0,1", "coupon_used_in_last6_month", "text in a numeric column"),
    ("2,42,technician,divorced,no,yes,no,99999999999999999999,0,1", "coupon_used_in_last6_month",
     "text in a numeric column"),
    ("2,42,technician,divorced,no,yes,no,2.5,0,1", "coupon_used_in_last6_month", "non-integer value"),
    ("2,42,technician,divorced,no,yes,no,-3,0,1", "coupon_used_in_last6_month", "negative value"),
    ("2,130,technician,divorced,no,yes,no,2,0,1", "age", "age above 120"),
    ("2,42,technician,divorced,no,yes,no,2,0,2", "coupon_ind", "response outside {0, 1}"),
    ("2,42,technician,divorced,maybe ,yes,no,2,0,1", "default", "value other than 'yes'/'no'"),
    ("2,42,,divorced,no,yes,no,2,0,1", "job", "missing value"),
    ("2,42,#NA,divorced,no,yes,no,2,0,1", "job", "missing value"),
    ("2,42,<NA>,divorced,no,yes,no,2,0,1", "job", "missing value"),
    ("2,42,nUlL,divorced,no,yes,no,2,0,1", "job", "missing value"),
    ("1,42,technician,divorced,no,yes,no,2,0,1", "ID", "duplicate ID"),
    ("1.0,42,technician,divorced,no,yes,no,2,0,1", "ID", "duplicate ID"),
    ("x,42,technician,divorced,no,yes,no,2,0,1", "ID", "text in a numeric column"),
    ("2,42,=1+1,divorced,no,yes,no,2,0,1", "job", "value starts with =, +, - or @"),
    ('2,42,"=HYPERLINK(""http://x"",""y"")",divorced,no,yes,no,2,0,1', "job", "value starts with =, +, - or @"),
    ("2,42,@SUM(1),divorced,no,yes,no,2,0,1", "job", "value starts with =, +, - or @"),
    ("2,42,+cmd|' /C calc'!A0,divorced,no,yes,no,2,0,1", "job", "value starts with =, +, - or @"),
    ("2,42,manage\u00a0ment,divorced,no,yes,no,2,0,1", "job", "control or invisible character"),
    ("2,42,management\u3000,divorced,no,yes,no,2,0,1", "job", "control or invisible character"),
    ("2,42,management\x1f,divorced,no,yes,no,2,0,1", "job", "control or invisible character"),
    ("2,42,tech\tnician,divorced,no,yes,no,2,0,1", "job", "control or invisible character"),
    # Default_Ignorable_Code_Point beyond the first list (issue 22): a tag character, a variation selector of
    # the supplement, a Khmer inherent vowel, a shorthand format control; each printed like the bare level
    ("2,42,technician\U000E0041,divorced,no,yes,no,2,0,1", "job", "control or invisible character"),
    ("2,42,technician\U000E0100,divorced,no,yes,no,2,0,1", "job", "control or invisible character"),
    ("2,42,tech\u17b4nician,divorced,no,yes,no,2,0,1", "job", "control or invisible character"),
    ("2,42,married\U0001BCA0,divorced,no,yes,no,2,0,1", "job", "control or invisible character"),
    ("2,42," + "x" * 300 + ",divorced,no,yes,no,2,0,1", "job", "longer than 200 characters"),
]


@pytest.mark.parametrize("row, column, what", BAD_ROWS, ids=[f"{c}:{w}" for _, c, w in BAD_ROWS])
def test_bad_values_same_verdict_and_line(tmp_path, row, column, what):
    path = write(tmp_path, [HEADER, GOOD_ROWS[0], row, *GOOD_ROWS[2:]])
    kind, problems, n_rows = same_verdict(path, spec=REFUSE if what == "missing value" else SPEC)
    assert kind == "error" and n_rows == 4
    matching = [p for p in problems if p[0] == column and what in p[1]]
    assert matching, problems
    assert 3 in matching[0][3]           # the bad row is line 3 of the file


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r", "\r\r\n"])
@pytest.mark.parametrize("bom", [False, True])
def test_line_numbers_count_every_physical_line(tmp_path, newline, bom):
    """Blank lines, a quoted line break and any line ending: the problem names the physical line."""
    lines = [HEADER, "", GOOD_ROWS[0], "  ", '2,42,technician,divorced,no,yes,no,2,0,"1"', "",
             "3,-1,admin.,married,no,yes,yes,2,1,0", GOOD_ROWS[3]]
    path = write(tmp_path, lines, newline=newline, encoding="utf-8-sig" if bom else "utf-8")
    kind, problems, _ = same_verdict(path)
    breaks_per_line = 2 if newline == "\r\r\n" else 1       # \r\r\n is two line breaks
    (problem,) = problems
    assert problem[:3] == ("age", "negative value", 1)
    assert problem[3] == (1 + 6 * breaks_per_line,)


def test_quoted_line_break_is_a_character_problem_with_the_start_line(tmp_path):
    rows = [GOOD_ROWS[0], '2,42,"tech\nnician",divorced,no,yes,no,2,0,1', "3,x,admin.,married,no,yes,yes,2,1,0"]
    kind, problems, _ = same_verdict(write(tmp_path, [HEADER, *rows]))
    by_column = {p[0]: p for p in problems}
    assert by_column["job"][3] == (3,) and "control or invisible" in by_column["job"][1]
    assert by_column["age"][3] == (5,)    # the next row starts on line 5: the quoted break counts


def test_unbalanced_quote_never_swallows_rows(tmp_path):
    rows = [GOOD_ROWS[0], '2,42,"technician,divorced,no,yes,no,2,0,1', *GOOD_ROWS[2:], *GOOD_ROWS]
    kind, problems, _ = same_verdict(write(tmp_path, [HEADER, *rows]))
    assert kind == "error" and any(p[3] == (3,) for p in problems), problems


def test_many_problems_counted_with_first_five_examples(tmp_path):
    rows = [f"{i},-{i},admin.,married,no,yes,{'maybe' if i % 7 == 0 else 'no'},1,0,{i % 2}" for i in range(1, 101)]
    rows += ["5,40,admin.,married,no,yes,no,1,0,0", "7,200,admin.,married,no,yes,no,1,0,0"]
    kind, problems, _ = same_verdict(write(tmp_path, [HEADER, "", *rows]))
    by = {(p[0], p[1]): p for p in problems}
    assert by[("age", "negative value")][2] == 100 and by[("age", "negative value")][3] == (3, 4, 5, 6, 7)
    assert by[("age", "negative value")][4] == ("1", "2", "3", "4", "5")
    assert by[("loan", "value other than 'yes'/'no'")][2] == 14
    assert by[("ID", "duplicate ID")][2] == 4


@pytest.mark.parametrize("header, rows, expect", [
    (HEADER.replace("marriage", "marrige"), GOOD_ROWS, "rename it to 'marriage'"),
    (HEADER.replace("age", "AGE", 1), GOOD_ROWS, "The header has 'AGE': rename it to 'age'"),
    (HEADER + ",age", [r + ",40" for r in GOOD_ROWS], "appears 2 times"),
    (HEADER + ",Age", [r + ",40" for r in GOOD_ROWS], "differs only in letter case"),
    (HEADER + ",id", [r + ",40" for r in GOOD_ROWS], "differs only in letter case"),
    ("ID;age;job", ["1;2;3"], "separated by ';'"),
])
def test_header_problems(tmp_path, header, rows, expect):
    kind, problems, _ = same_verdict(write(tmp_path, [header, *rows]))
    assert kind == "error" and any(expect in p[1] or expect in str(p) for p in problems), problems


def test_header_problem_message_names_the_rename(tmp_path):
    with pytest.raises(DataValidationError) as info:
        read_patterns(write(tmp_path, [HEADER.replace("age", "AGE", 1), *GOOD_ROWS]), SPEC)
    assert "The header has 'AGE': rename it to 'age'." in str(info.value)


@pytest.mark.parametrize("content, what", [
    (b"", "is empty"),
    (b"   \n", "is empty"),
    (HEADER.encode() + b"\r\n", "no data rows"),
    (HEADER.encode() + b"\n\n  \n", "no data rows"),
    (b"PK\x03\x04\x00\x00binary", "NUL"),
    (b"\xff\xfe\x00a\x00b", "UTF-8"),
    (b"\xe9t\xe9,abc\n1,2\n", "UTF-8"),
    (b"just some prose without commas\nmore prose\n", "does not look like comma-separated text"),
    (HEADER.encode() + b"\n" + b",,,,,,,,,\n" * 7, "missing value"),
    (HEADER.encode() + b"\n" + GOOD_ROWS[0].encode() + b",extra\n", "fields"),
    (HEADER.encode() + b"\n" + GOOD_ROWS[0].encode()[:20] + b"\n", "fields"),
])
def test_bad_files_same_verdict(tmp_path, content, what):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    kind, problems, _ = same_verdict(path)
    assert kind == "error" and any(what in p[1] for p in problems), problems


def test_paths_that_are_not_regular_files(tmp_path):
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    # a folder is a data set (analysis.read.dataset): this one holds no data file (a FIFO is not one)
    for path, what in ((tmp_path / "nope.csv", "does not exist"), (tmp_path, "holds no data files"),
                       (fifo, "named pipe"), ("/dev/zero", "device")):
        kind, problems, _ = same_verdict(path)
        assert kind == "error" and what in problems[0][1], (path, problems)


def test_over_long_field_and_absurd_width_refused_quickly(tmp_path):
    big = tmp_path / "big.csv"
    big.write_bytes(HEADER.encode() + b"\n1,43," + b"m" * 2_000_000 + b",married,no,yes,no,2,0,0\n")
    kind, problems, _ = same_verdict(big)
    assert kind == "error" and "long" in problems[0][1]
    wide = tmp_path / "wide.csv"
    wide.write_bytes(HEADER.encode() + b"," * 1_000_000 + b"\n" + GOOD_ROWS[0].encode() + b"\n")
    kind, problems, _ = same_verdict(wide)
    assert kind == "error" and "columns" in problems[0][1]


def test_single_class_response_rejected(tmp_path):
    kind, problems, _ = same_verdict(write(tmp_path, [HEADER, *(r[:-1] + "0" for r in GOOD_ROWS)]))
    assert kind == "error" and "same response" in problems[0][1]


def test_messages_show_values_escaped_and_cut(tmp_path):
    row = "2,42,technician,divorced,no,yes,no," + "9" * 90 + "x,0,1"
    with pytest.raises(DataValidationError) as info:
        read_patterns(write(tmp_path, [HEADER, GOOD_ROWS[0], row, *GOOD_ROWS[2:]]), SPEC)
    message = str(info.value)
    assert "(91 characters)" in message and "9" * 90 not in message


# ----------------------------------------------------------------------------- Parquet


def test_bad_parquet_same_verdict(tmp_path):
    frame = pd.DataFrame([r.split(",") for r in GOOD_ROWS * 3], columns=list(COLUMNS))
    frame["ID"] = range(1, len(frame) + 1)
    for column in ("age", "coupon_used_in_last6_month", "coupon_used_in_last_month", "coupon_ind"):
        frame[column] = frame[column].astype("Int64")
    frame.loc[[2, 5], "age"] = pd.NA
    frame.loc[3, "coupon_used_in_last_month"] = -2
    frame.loc[[4, 6], "ID"] = 3
    frame.loc[7, "loan"] = "Yes"
    frame.loc[8, "job"] = None
    path = tmp_path / "bad.parquet"
    frame.to_parquet(path, index=False)
    kind, problems, _ = same_verdict(path, spec=REFUSE)
    got = {(p[0], p[1]): p[3] for p in problems}
    assert got[("age", "missing value")] == (3, 6)            # Parquet: 1-based row numbers
    assert got[("coupon_used_in_last_month", "negative value")] == (4,)
    assert got[("ID", "duplicate ID")] == (3, 5, 7)
    assert got[("loan", "value other than 'yes'/'no'")] == (8,)
    assert got[("job", "missing value")] == (9,)
    # complete cases (the default): the missing values are no problem, everything else is, on the same rows
    kind, default_problems, _ = same_verdict(path)
    assert [p for p in problems if p[1] != "missing value"] == list(default_problems)


def test_parquet_text_read_as_dictionaries_finds_the_same_rows(tmp_path):
    """The DuckDB route reads Parquet text columns as dictionaries and checks each distinct value once;
    the memory route reads them as plain strings and checks every row. Invisible characters and over-long
    values in several row groups (each with its own dictionary), beside missing values, give the same
    problems, counts, row numbers and values by both; and `_CharCheck` on a dictionary-encoded chunked
    array equals it on the decoded strings (two chunks with different dictionaries)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from analysis.read.source import _CharCheck

    frame = pd.DataFrame([r.split(",") for r in GOOD_ROWS * (200 // len(GOOD_ROWS) + 1)], columns=list(COLUMNS))
    frame["ID"] = range(1, len(frame) + 1)
    for column in ("age", "coupon_used_in_last6_month", "coupon_used_in_last_month", "coupon_ind"):
        frame[column] = frame[column].astype("Int64")
    frame.loc[[5, 77, 150], "job"] = "tech\u200bnician"
    frame.loc[[9, 160], "marriage"] = "single" + "s" * 250
    frame.loc[[11], "job"] = None
    frame.loc[[12], "loan"] = "no\u00a0"
    path = tmp_path / "chars.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=64)
    kind, problems, _ = same_verdict(path)
    got = {(p[0], p[1][:20]): p for p in problems}
    assert kind == "error"
    assert [k for k in got if k[0] == "job" and "invisible" in str(got[k])], problems
    assert any(p[0] == "marriage" and "longer" in p[1] for p in problems), problems
    assert any(p[0] == "loan" for p in problems), problems

    plain = pa.chunked_array([pa.array(["a", "b\u200b", None, "a"]), pa.array(["x" * 250, "c", "b\u200b"])])
    encoded = pa.chunked_array([chunk.dictionary_encode() for chunk in plain.chunks])
    results = []
    for values in (plain, encoded):
        check = _CharCheck(["job"], [0], None, "rows")
        check.batch(pa.table({"c0": values, "__line": pa.array(range(1, 8)), "__row": pa.array(range(1, 8))}))
        results.append(check.problems())
    assert results[0] == results[1] and len(results[0]) == 2
    assert [p.lines for p in results[0]] == [(2, 7), (5,)]


def test_parquet_header_and_empty(tmp_path):
    frame = pd.DataFrame([r.split(",") for r in GOOD_ROWS], columns=list(COLUMNS))
    frame.rename(columns={"marriage": "marrige"}).to_parquet(tmp_path / "h.parquet")
    kind, problems, _ = same_verdict(tmp_path / "h.parquet")
    assert "rename it to 'marriage'" in str(problems)
    frame.iloc[:0].to_parquet(tmp_path / "e.parquet")
    kind, problems, _ = same_verdict(tmp_path / "e.parquet")
    assert "no data rows" in problems[0][1]


# ----------------------------------------------------------------------------- Spark: every case


SPARK_CASES = [(f"row:{c}:{w}", [HEADER, GOOD_ROWS[0], row, *GOOD_ROWS[2:]]) for row, c, w in BAD_ROWS] + [
    ("blank-and-quoted", [HEADER, "", GOOD_ROWS[0], '2,42,"tech\nnician",divorced,no,yes,no,2,0,1',
                          "3,x,admin.,married,no,yes,yes,2,1,0"]),
    ("many", [HEADER, *[f"{i},-{i},admin.,married,no,yes,no,1,0,{i % 2}" for i in range(1, 40)]]),
    ("commas", [HEADER, *GOOD_ROWS, ",,,,,,,,,"]),
    ("good", [HEADER, *GOOD_ROWS]),
]


@pytest.mark.parametrize("name, lines", SPARK_CASES, ids=[n for n, _ in SPARK_CASES])
def test_spark_gives_the_same_verdict(spark, tmp_path, name, lines):
    same_verdict(write(tmp_path, lines), engines=ENGINES)


# ----------------------------------------------------------------------------- Default_Ignorable_Code_Point

UCD = Path("/usr/share/unicode/DerivedCoreProperties.txt")


def test_ignorable_table_is_unicodes():
    """The table of analysis.read.ignorable regenerated from Unicode's DerivedCoreProperties.txt (Debian's
    unicode-data) equals the stored one, when the file is present."""
    from analysis.read import ignorable

    if not UCD.exists():
        pytest.skip(f"{UCD} is not installed (Debian package unicode-data)")
    text = UCD.read_text(encoding="utf-8")
    assert ignorable.parse(text) == ignorable.RANGES
    assert ignorable.version(text) in ignorable.SOURCE


def test_every_ignorable_code_point_is_refused():
    """Every Default_Ignorable_Code_Point, alone or inside a level, matches the first pass's refused
    characters, and the characters refused before (controls, unusual spaces) still do."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from analysis.read.ignorable import RANGES
    from analysis.read.source import INVISIBLE

    points = [chr(c) for a, b in RANGES for c in range(a, b + 1)]
    assert len(points) == 4174
    values = pa.array([f"tech{p}nician" for p in points] + ["\u00a0", "\u3000", "\x1f", "\u2028", "technician", "caf\u00e9"])
    found = pc.match_substring_regex(values, INVISIBLE).to_pylist()
    assert all(found[:-2]) and found[-2:] == [False, False]


@pytest.mark.parametrize("engine", ["memory", "duckdb"])
def test_levels_equal_under_normalisation_get_a_note(tmp_path, engine):
    """'caf\u00e9' (composed) and 'cafe\u0301' (decomposed) print alike and stay two levels; the reader says so
    in a note naming the column and showing the code points."""
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    rows = [f"{i},{30 + i % 20},{composed if i % 3 else decomposed},married,no,yes,no,1,0,{i % 2}" for i in range(1, 41)]
    got = read_patterns(write(tmp_path, [HEADER, *rows]), SPEC, engine=engine, test_size=0.0, hash_file=False)
    assert sorted(got.patterns["job"].unique()) == ["cafe\u0301", "caf\u00e9"]
    (note,) = [n for n in got.notes if "look the same" in n]
    assert note.startswith("Column 'job'") and "'cafe\\u0301' and 'caf\\xe9'" in note, note
