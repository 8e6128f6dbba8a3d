"""Covariate patterns by SQL (analysis.aggregate) against pandas on the in-memory path.

Independent computations: the pattern table is a pandas groupby of ``analysis.data.load_clean``
(or, for Parquet, of ``analysis.data.validate`` on the file read by pandas) with the test side
from ``analysis.split.in_test_sample``; every bad file's Problems are those of ``load_clean``.
"""
import warnings

import numpy as np
import pandas as pd
import pytest

from analysis import schema
from analysis.aggregate import PATTERN_COLUMNS, PREDICTORS, aggregate
from analysis.data import DataValidationError, apply_exclusions, clean, load_clean, validate
from analysis.simulate import write_simulated
from analysis.split import in_test_sample

from csv_helpers import GOOD_ROWS, HEADER, write  # noqa: E402


def reference_patterns(cleaned: pd.DataFrame, ids, seed: int, test_size: float) -> pd.DataFrame:
    """The pattern table by pandas: groupby of the cleaned rows and the numpy split."""
    frame = cleaned.copy()
    frame["sample"] = np.where(in_test_sample(ids, seed, test_size), "test", "train")
    table = (frame.groupby(["sample", *PREDICTORS]).agg(trials=("flag", "size"), events=("flag", "sum"))
             .reset_index())
    table["sample"] = pd.Categorical(table["sample"], ["train", "test"], ordered=True)
    table = table.sort_values(["sample", *PREDICTORS]).reset_index(drop=True)
    table["sample"] = table["sample"].astype(str)
    return table[list(PATTERN_COLUMNS)].astype({c: "int64" for c in PATTERN_COLUMNS
                                                 if c not in ("sample", "job", "marriage")})


def assert_same_table(got: pd.DataFrame, expected: pd.DataFrame):
    assert list(got.columns) == list(PATTERN_COLUMNS)
    pd.testing.assert_frame_equal(got, expected, check_dtype=True)


def parquet_in_memory(path, max_age=None):
    """The in-memory path on a Parquet file: pandas reads it, analysis.data validates and cleans."""
    raw = validate(pd.read_parquet(path).astype(str), path)
    kept, accounting = apply_exclusions(raw, max_age=max_age)
    return clean(kept), kept[schema.ID].to_numpy(), accounting


@pytest.fixture(scope="module")
def sim_parquet(tmp_path_factory):
    return write_simulated(tmp_path_factory.mktemp("sim") / "sim.parquet", n_rows=200_000, seed=7,
                           chunk_rows=50_000)


@pytest.fixture(scope="module")
def small_parquet(tmp_path_factory):
    return write_simulated(tmp_path_factory.mktemp("small") / "small.parquet", n_rows=20_000, seed=8)


@pytest.fixture(scope="module")
def spark():
    from analysis.aggregate import spark_session

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return spark_session()


# ----------------------------------------------------------------------------- pattern tables


@pytest.mark.parametrize("test_size, max_age", [(0.3, None), (0.0, None), (0.3, 60), (0.0, 45)])
def test_real_data_patterns_equal_pandas_groupby(real_data_path, test_size, max_age):
    got = aggregate(real_data_path, seed=100, test_size=test_size, max_age=max_age)
    mem = load_clean(real_data_path, max_age=max_age)
    expected = reference_patterns(mem.data, mem.ids, 100, test_size)
    assert_same_table(got.patterns, expected)
    pd.testing.assert_frame_equal(got.accounting, mem.accounting)
    assert got.n_rows == len(mem.data) and got.n_patterns == len(expected)
    assert got.source["sha256"] == mem.source["sha256"] and not got.simulated
    if test_size == 0 and max_age is None:
        assert got.n_patterns == 12_300 and got.n_rows == 25_317  # about 12,300, as expected


def test_simulated_parquet_equals_pandas(sim_parquet):
    got = aggregate(sim_parquet, seed=3, test_size=0.3, max_age=70)
    data, ids, accounting = parquet_in_memory(sim_parquet, max_age=70)
    assert_same_table(got.patterns, reference_patterns(data, ids, 3, 0.3))
    pd.testing.assert_frame_equal(got.accounting, accounting)
    assert got.accounting["rows_excluded"].iloc[1] > 0
    assert got.simulated and got.source["simulation"]["rows"] == 200_000
    assert got.n_patterns < got.n_rows / 2 and not any("compress" in n for n in got.notes)


def test_negative_ids_split_as_numpy(tmp_path):
    """numpy's % is a floor modulo and SQL's truncates: negative IDs must land on the same side."""
    rows = [f"{i},{30 + i % 40},admin.,married,no,yes,no,{i % 3},0,{i % 2}" for i in range(-300, 300) if i]
    path = write(tmp_path, [HEADER, *rows])
    mem = load_clean(path)
    got = aggregate(path, seed=11, test_size=0.5)
    assert_same_table(got.patterns, reference_patterns(mem.data, mem.ids, 11, 0.5))


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("bom", [False, True])
def test_line_endings_bom_blank_lines_and_spaces(tmp_path, newline, bom):
    lines = [HEADER, GOOD_ROWS[0], "", "  ", "2, 42 ,technician , divorced,no ,yes,no,2,0,1",
             '3,47,"admin.",married,no,yes,yes,2,1,0', GOOD_ROWS[3]]
    path = write(tmp_path, lines, newline=newline, encoding="utf-8-sig" if bom else "utf-8")
    mem = load_clean(path)
    got = aggregate(path, test_size=0.0)
    assert_same_table(got.patterns, reference_patterns(mem.data, mem.ids, 100, 0.0))
    assert got.n_rows == 4


def test_extra_columns_noted_and_no_compression_note(tmp_path):
    rows = [f"{i},{20 + i % 50},admin.,married,no,yes,no,{i},0,{i % 2},x" for i in range(1, 201)]
    path = write(tmp_path, [HEADER + ",segment", *rows])
    got = aggregate(path, test_size=0.0)
    assert got.n_patterns == 200
    assert any("segment" in n for n in got.notes)
    assert any("do not compress" in n and "200 patterns for 200 rows" in n for n in got.notes)


def test_hash_optional_and_sidecar_matched_by_rows(sim_parquet):
    got = aggregate(sim_parquet, hash_file=False)
    assert got.source["sha256"] is None and got.simulated and got.source["sidecar_verified"] is False
    assert any("SHA-256 was not computed" in n for n in got.notes)


def test_bad_arguments():
    with pytest.raises(ValueError, match="engine"):
        aggregate("x.csv", engine="polars")
    with pytest.raises(ValueError, match="test_size"):
        aggregate("x.csv", test_size=1.0)


# ----------------------------------------------------------------------------- bad input


def errors_of(path, **kwargs):
    with pytest.raises(DataValidationError) as info:
        load_clean(path)
    mem = info.value
    with pytest.raises(DataValidationError) as info:
        aggregate(path, **kwargs)
    return mem, info.value


def assert_same_problems(path, **kwargs):
    mem, got = errors_of(path, **kwargs)
    assert got.problems == mem.problems
    assert got.n_rows == mem.n_rows
    assert str(got) == str(mem)
    return got


BAD_ROWS = [
    ("2,,technician,divorced,no,yes,no,2,0,1", "missing value"),
    ("2,4x,technician,divorced,no,yes,no,2,0,1", "text in a numeric column"),
    ("2,42,technician,divorced,no,yes,no,2.5,0,1", "non-integer value"),
    ("2,42,technician,divorced,no,yes,no,-3,0,1", "negative value"),
    ("2,42,technician,divorced,no,yes,no,2,0,2", "response outside {0, 1}"),
    ("2,42,technician,divorced,maybe ,yes,no,2,0,1", "value other than 'yes'/'no'"),
    ("2,42,,divorced,no,yes,no,2,0,1", "missing value"),
    ("2,42,NA,divorced,no,yes,no,2,0,1", "missing value"),
    ("1,42,technician,divorced,no,yes,no,2,0,1", "duplicate ID"),
    ("1.0,42,technician,divorced,no,yes,no,2,0,1", "duplicate ID"),
    ("2,130,technician,divorced,no,yes,no,2,0,1", "age above 120"),
    ("2,42,technician", "missing value"),
    ("x,42,technician,divorced,no,yes,no,2,0,1", "text in a numeric column"),
]


@pytest.mark.parametrize("row, what", BAD_ROWS)
def test_bad_values_same_problems_as_in_memory(tmp_path, row, what):
    path = write(tmp_path, [HEADER, GOOD_ROWS[0], row, *GOOD_ROWS[2:]])
    got = assert_same_problems(path)
    assert what in str(got)


def test_many_problems_counted_with_first_five_examples(tmp_path):
    rows = [f"{i},-{i},admin.,married,no,yes,{'maybe' if i % 7 == 0 else 'no'},1,0,{i % 2}"
            for i in range(1, 101)]
    rows += ["5,40,admin.,married,no,yes,no,1,0,0", "7,200,admin.,married,no,yes,no,1,0,0", ",,,,,,,,,"]
    got = assert_same_problems(write(tmp_path, [HEADER, "", *rows]))
    assert {p.column for p in got.problems} >= {"ID", "age", "loan"}


def test_duplicates_and_missing_ids_out_of_order(tmp_path):
    rows = [GOOD_ROWS[3], GOOD_ROWS[0], ",42,technician,divorced,no,yes,no,2,0,1",
            GOOD_ROWS[0].replace("1,", " 1 ,", 1), GOOD_ROWS[2], " ,42,technician,divorced,no,yes,no,2,0,1"]
    assert_same_problems(write(tmp_path, [HEADER, *rows]))


@pytest.mark.parametrize("header, rows", [
    (HEADER.replace("marriage", "marrige"), GOOD_ROWS),                     # misspelt
    (HEADER.replace(",loan", ""), [r.rsplit(",", 4)[0] + "," + ",".join(r.split(",")[-3:]) for r in GOOD_ROWS]),
    (HEADER + ",age", [r + ",40" for r in GOOD_ROWS]),                       # duplicated column
    ("ID;age;job", ["1;2;3"]),                                                # not comma-separated
])
def test_header_problems(tmp_path, header, rows):
    assert_same_problems(write(tmp_path, [header, *rows]))


@pytest.mark.parametrize("content", [
    b"", b"   \n", HEADER.encode() + b"\r\n", HEADER.encode() + b"\n\n  \n",
    b"PK\x03\x04\x00\x00binary", b"\xff\xfe\x00a\x00b", b"\xe9t\xe9,abc\n1,2\n",
    b"just some prose without commas\nmore prose\n",
])
def test_bad_files(tmp_path, content):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    assert_same_problems(path)


def test_missing_file_and_directory(tmp_path):
    assert_same_problems(tmp_path / "nope.csv")
    assert_same_problems(tmp_path)


def test_too_many_fields_and_single_class(tmp_path):
    assert_same_problems(write(tmp_path, [HEADER, GOOD_ROWS[0], GOOD_ROWS[1] + ",extra", *GOOD_ROWS[2:]]))
    assert_same_problems(write(tmp_path, [HEADER, *(r[:-1] + "0" for r in GOOD_ROWS)], name="one.csv"))


def not_utf8_after_the_first_megabyte(tmp_path):
    rows = [f"{i},43,management,married,no,yes,no,2,0,{i % 2}" for i in range(1, 40_001)]
    path = write(tmp_path, [HEADER, *rows], encoding="utf-8-sig")
    path.write_bytes(path.read_bytes() + b"\n40001,43,caf\xe9,married,no,yes,no,2,0,1\n")
    return path


def test_not_utf8_after_the_first_megabyte(tmp_path):
    assert_same_problems(not_utf8_after_the_first_megabyte(tmp_path))


@pytest.mark.parametrize("data", [
    b"\xef\xbb\xbfab\xe9cd", b"ab\xe9cd", b"abc\xc3",
    b"y" * ((1 << 24) - 1) + "\u00e9".encode() + b"\xff",  # a character across the 16 MiB block boundary
])
def test_utf8_error_offset_as_bytes_decode(tmp_path, data):
    from analysis.aggregate import _utf8_error_offset

    path = tmp_path / "u.csv"
    path.write_bytes(data)
    with pytest.raises(UnicodeDecodeError) as info:
        data.decode("utf-8-sig")
    assert _utf8_error_offset(path) == info.value.start


def test_quoted_newline_keeps_record_numbering(tmp_path):
    rows = [GOOD_ROWS[0], '2,42,"tech\nnician",divorced,no,yes,no,2,0,1', "3,x,admin.,married,no,yes,yes,2,1,0"]
    assert_same_problems(write(tmp_path, [HEADER, *rows]))


def test_bad_parquet_same_problems_as_in_memory(tmp_path):
    """Typed Parquet columns: nulls and negative values; the in-memory path reads the same data as CSV."""
    frame = pd.DataFrame([r.split(",") for r in GOOD_ROWS * 3], columns=list(schema.RAW_COLUMNS))
    frame[schema.ID] = range(1, len(frame) + 1)
    for column in (*schema.COUNTS, schema.RAW_RESPONSE):
        frame[column] = frame[column].astype("Int64")
    frame.loc[[2, 5], "age"] = pd.NA
    frame.loc[3, "coupon_used_in_last_month"] = -2
    frame.loc[[4, 6], schema.ID] = 3
    frame.loc[7, "loan"] = "Yes"
    frame.loc[8, "job"] = None
    path = tmp_path / "bad.parquet"
    frame.to_parquet(path, index=False)
    as_csv = tmp_path / "bad.csv"
    frame.to_csv(as_csv, index=False)
    with pytest.raises(DataValidationError) as info:
        load_clean(as_csv)
    with pytest.raises(DataValidationError) as got:
        aggregate(path)
    assert got.value.problems == info.value.problems and got.value.n_rows == info.value.n_rows


def test_parquet_header_and_empty(tmp_path):
    frame = pd.DataFrame([r.split(",") for r in GOOD_ROWS], columns=list(schema.RAW_COLUMNS))
    frame.rename(columns={"marriage": "marrige"}).to_parquet(tmp_path / "h.parquet")
    frame.rename(columns={"marriage": "marrige"}).to_csv(tmp_path / "h.csv", index=False)
    _, expected = errors_of(tmp_path / "h.csv")
    with pytest.raises(DataValidationError) as got:
        aggregate(tmp_path / "h.parquet")
    assert got.value.problems == expected.problems
    frame.iloc[:0].to_parquet(tmp_path / "e.parquet")
    with pytest.raises(DataValidationError, match="has a header but no data rows"):
        aggregate(tmp_path / "e.parquet")


# ----------------------------------------------------------------------------- Spark


def test_spark_equals_duckdb_on_real_csv(spark, real_data_path):
    duck = aggregate(real_data_path, seed=100, test_size=0.3, max_age=60)
    sprk = aggregate(real_data_path, seed=100, test_size=0.3, max_age=60, engine="spark", hash_file=False)
    assert_same_table(sprk.patterns, duck.patterns)
    pd.testing.assert_frame_equal(sprk.accounting, duck.accounting)


def test_spark_equals_duckdb_on_parquet(spark, small_parquet):
    duck = aggregate(small_parquet, seed=5, test_size=0.25, max_age=50)
    sprk = aggregate(small_parquet, seed=5, test_size=0.25, max_age=50, engine="spark", hash_file=False)
    assert_same_table(sprk.patterns, duck.patterns)
    pd.testing.assert_frame_equal(sprk.accounting, duck.accounting)


def test_spark_bad_values_same_problems(spark, tmp_path):
    """Spot check: text in a number, a yes/no value, a duplicate ID, many negative ages, one file."""
    rows = [f"{i},-{i},admin.,married,no,yes,no,1,0,{i % 2}" for i in range(1, 30)]
    rows += [BAD_ROWS[1][0], BAD_ROWS[5][0], BAD_ROWS[8][0], "", "40,40,x,y,no,yes,no,1,0,0"]
    assert_same_problems(write(tmp_path, [HEADER, *rows]), engine="spark", hash_file=False)


def test_spark_too_many_fields(spark, tmp_path):
    path = write(tmp_path, [HEADER, GOOD_ROWS[0], GOOD_ROWS[1] + ",extra", *GOOD_ROWS[2:]])
    assert_same_problems(path, engine="spark", hash_file=False)


def test_spark_not_utf8(tmp_path):
    """Checked in Python before Spark reads the file (its reader replaces such bytes silently)."""
    assert_same_problems(not_utf8_after_the_first_megabyte(tmp_path), engine="spark", hash_file=False)
