"""Missing values in the readers (issue 19): the strategies "refuse" and "complete_cases" on every engine.

Independent computation: the pattern table and the row accounting of a file with missing values, by pandas
alone (``read_csv``, the missing-value spellings matched by hand, the derived variables and the split
computed here, ``groupby(dropna=False)``). Every case runs through memory and DuckDB, CSV and Parquet
(nulls, and NaN in float columns), and a few through Spark: the same pattern table (NULL a group of its
own), the same accounting; under "refuse" the same problems as before the strategies existed.
"""
import random
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.read import DataValidationError, read_patterns, read_rows
from analysis.read.split import in_test_sample
from analysis.spec import default_spec, with_exclusions, with_missing

from csv_helpers import COLUMNS, GOOD_ROWS, HEADER, write  # noqa: E402

SPEC = default_spec()
REFUSE = with_missing(SPEC, "refuse")
VARIABLES = list(SPEC.pattern_variables)
ENGINES = ("memory", "duckdb", "spark")
TOKENS = ["", "NA", " na ", "NULL", "?", "-", "#N/A", "nan", "None", "<NA>"]
NUMBERS = ("ID", "age", "coupon_used_in_last6_month", "coupon_used_in_last_month", "coupon_ind")


@pytest.fixture(scope="module")
def spark():
    from analysis.read.engines import spark_session

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return spark_session()


def comparable(got) -> tuple:
    """A reader's result as plain lists (a missing value as None: NaN == NaN is False)."""
    patterns = got.patterns.astype(object).where(got.patterns.notna(), None)
    return patterns.to_dict("list"), got.accounting.to_dict("list"), got.n_rows


def pandas_reference(path, seed: int = 100, test_size: float = 0.3, spec=SPEC) -> tuple:
    """The pattern table and row accounting of the default specification by pandas alone (see the module
    docstring): a row without the response is left out; a row with a missing value is counted under the
    first missing variable in specification order and kept in the patterns with its NULLs."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False).apply(lambda s: s.str.strip(" \t"))
    missing = raw.apply(lambda s: s.str.lower().isin(set(spec.missing_tokens)))

    def number(c):
        return pd.to_numeric(raw[c].where(~missing[c])).astype("Int64")

    def yes(c):
        return (raw[c] == "yes").astype("Int64").mask(missing[c])

    last = number("coupon_used_in_last_month")
    frame = pd.DataFrame({
        "age": number("age"), "job": raw["job"].mask(missing["job"]), "marriage": raw["marriage"].mask(missing["marriage"]),
        "default_yes": yes("default"), "returned_yes": yes("returned"), "loan_yes": yes("loan"),
        "coupon_used_in_last6_month": number("coupon_used_in_last6_month"), "coupon_used_in_last_month": last})
    frame["coupons_months_2_6"] = frame["coupon_used_in_last6_month"] - last
    frame["coupons_last_month"] = last.clip(upper=4).astype("str").mask(last.isna())
    frame["sample"] = np.where(in_test_sample(raw["ID"].astype("int64"), seed, test_size), "test", "train")
    frame["y"] = pd.to_numeric(raw["coupon_ind"].mask(missing["coupon_ind"])).astype("Int64")
    steps = [("rows read", 0, len(frame))]
    remaining = len(frame)
    if n := int(frame["y"].isna().sum()):
        remaining -= n
        steps.append(("missing response", n, remaining))
    frame = frame[frame["y"].notna()]
    first = frame[VARIABLES].isna().to_numpy()
    first = np.where(first.any(axis=1), first.argmax(axis=1), -1)
    for j, v in enumerate(spec.variables):
        if n := int((first == j).sum()):
            remaining -= n
            steps.append((f"missing {v.key}", n, remaining))
    steps.append(("rows used", 0, int((first == -1).sum())))
    table = frame.groupby(["sample", *VARIABLES], dropna=False).agg(trials=("y", "size"), events=("y", "sum"))
    table = table.reset_index()
    table["sample"] = pd.Categorical(table["sample"], ["train", "test"], ordered=True)
    table = table.sort_values(["sample", *VARIABLES], kind="mergesort").reset_index(drop=True)
    table["sample"] = table["sample"].astype(str)
    texts = ("sample", "job", "marriage", "coupons_last_month")
    columns = {c: [None if pd.isna(x) else (x if c in texts else int(x)) for x in table[c]]
               for c in ["sample", *VARIABLES, "trials", "events"]}
    accounting = pd.DataFrame(steps, columns=["step", "rows_excluded", "rows_remaining"])
    return columns, accounting.to_dict("list"), steps[-1][2]


def blanked(base: bytes, rng: random.Random) -> bytes:
    """The base CSV with 1 to 40 cells of the used columns (the ID aside) replaced by a missing-value spelling."""
    lines = base.decode().rstrip("\n").split("\n")
    for _ in range(rng.randrange(1, 41)):
        i, j = rng.randrange(1, len(lines)), rng.randrange(1, len(COLUMNS))
        fields = lines[i].split(",")
        fields[j] = rng.choice(TOKENS)
        lines[i] = ",".join(fields)
    return ("\n".join(lines) + "\n").encode()


def parquet_twin(csv_path, path, floats: bool = False):
    """The CSV as Parquet with natural types: a missing cell a null (numbers int64, or float64 with NaN for
    the missing values when ``floats``), text as strings."""
    raw = pd.read_csv(csv_path, dtype=str, keep_default_na=False).apply(lambda s: s.str.strip(" \t"))
    columns = {}
    for c in raw.columns:
        gone = raw[c].str.lower().isin(set(SPEC.missing_tokens))
        if c in NUMBERS and floats and c != "ID":
            columns[c] = pa.array(pd.to_numeric(raw[c].mask(gone)).astype("float64").to_numpy())   # NaN
        elif c in NUMBERS:
            columns[c] = pa.array([None if g else int(v) for v, g in zip(raw[c], gone)], pa.int64())
        else:
            columns[c] = pa.array([None if g else v for v, g in zip(raw[c], gone)], pa.string())
    pq.write_table(pa.table(columns), path, row_group_size=97)
    return path


@pytest.fixture(scope="module")
def base() -> bytes:
    from pathlib import Path

    lines = (Path(__file__).resolve().parents[2] / "data" / "simulated_tianmao.csv").read_bytes().split(b"\n")
    return b"\n".join(lines[:301]) + b"\n"


# ----------------------------------------------------------------------------- one file, every rule


ROWS = [f"{i + 1},{r.split(',', 1)[1]}" for i, r in enumerate(GOOD_ROWS * 3)] + [
    "101,,admin.,married,no,yes,no,2,0,1",          # age missing (an exclusion on age does not apply)
    "102,50,admin.,married,no,yes,,2,0,0",          # loan missing, but excluded by age > 45 first
    "103,30,admin.,married,no,yes,no,2,,1",         # last month missing: both derived variables NULL
    "104,30,admin.,married,no,yes,no,NA,1,0",       # last six months missing: months 2-6 NULL, the rule unchecked
    "105,30,admin.,married,no,yes,no,2,1,",         # response missing: left out and counted
    "106,31,null,married,no,yes,no,2,1,1",          # job missing
    "107,,admin.,married,no,,no,3,1,0",             # age and returned missing: counted once, under age
]
EXCLUDED = with_exclusions(SPEC, ["age > 45"])


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_missing_values_become_null_patterns_on_every_engine(tmp_path, fmt, spark):
    path = write(tmp_path, [HEADER, *ROWS])
    if fmt == "parquet":
        path = parquet_twin(path, tmp_path / "d.parquet")
    results = {e: read_patterns(path, EXCLUDED, engine=e, hash_file=False, test_size=0) for e in ENGINES}
    first = comparable(results["memory"])
    for engine in ENGINES[1:]:
        assert comparable(results[engine]) == first, engine
    got = results["memory"]
    assert got.accounting.values.tolist() == [
        ["rows read", 0, 19], ["excluded: age > 45", 4, 15], ["missing response", 1, 14], ["missing age", 2, 12],
        ["missing job", 1, 11], ["missing coupon_used_in_last6_month", 1, 10],
        ["missing coupon_used_in_last_month", 1, 9], ["rows used", 0, 9]]
    assert got.n_rows == 9 and got.missing_strategy == "complete_cases"
    p = got.patterns
    assert p["age"].dtype == "Int64" and p["default_yes"].dtype == "int64" and int(p["trials"].sum()) == 14
    no_last = p[p["coupon_used_in_last_month"].isna()]
    assert len(no_last) == 1 and no_last["coupons_months_2_6"].isna().all() and no_last["coupons_last_month"].isna().all()
    no_six = p[p["coupon_used_in_last6_month"].isna()].iloc[0]
    assert pd.isna(no_six["coupons_months_2_6"]) and no_six["coupons_last_month"] == "1"
    two = p[p["age"].isna() & p["returned_yes"].isna()]
    assert len(two) == 1 and two["loan_yes"].iloc[0] == 0          # a binary is NULL only where it is missing
    assert p["job"].isna().sum() == 1


def test_the_pattern_table_equals_pandas(tmp_path):
    path = write(tmp_path, [HEADER, *[r for r in ROWS if not r.startswith("102,")]])
    for engine in ("memory", "duckdb"):
        assert comparable(read_patterns(path, SPEC, engine=engine, hash_file=False, seed=3, test_size=0.5)) == \
            pandas_reference(path, 3, 0.5)


def test_refuse_is_as_before_and_other_problems_stay(tmp_path):
    """Under "refuse" every missing value is a problem (column, rows, lines, IDs) and a missing response too;
    under complete_cases the same file gives the other problems, unchanged; a missing ID is a problem under
    every strategy."""
    rows = ROWS + ["108,,admin.,married,no,yes,no,-2,0,1",        # negative count beside a missing age
                   ",40,admin.,married,no,yes,no,2,0,1"]           # ID missing
    path = write(tmp_path, [HEADER, "", *rows])
    verdicts = {}
    for name, spec in (("refuse", with_exclusions(REFUSE, ["age > 45"])), ("complete_cases", EXCLUDED)):
        for engine in ("memory", "duckdb"):
            with pytest.raises(DataValidationError) as info:
                read_patterns(path, spec, engine=engine, hash_file=False)
            verdicts.setdefault(name, set()).add(info.value.verdict())
    (refused,), (kept,) = verdicts["refuse"], verdicts["complete_cases"]
    missing = {p[0]: p[2:4] for p in refused if p[1] == "missing value"}
    assert missing == {"ID": (1, (23,)), "age": (3, (15, 21, 22)), "job": (1, (20,)), "returned": (1, (21,)),
                       "loan": (1, (16,)), "coupon_used_in_last6_month": (1, (18,)),
                       "coupon_used_in_last_month": (1, (17,)), "coupon_ind": (1, (19,))}
    assert [p for p in refused if p[1] != "missing value" or p[0] == "ID"] == list(kept)
    assert [(p[0], p[1], p[3]) for p in kept] == [("ID", "missing value", (23,)),
                                                  ("coupon_used_in_last6_month", "negative value", (22,))]


def test_a_rule_or_an_exclusion_that_meets_a_missing_value(tmp_path):
    """The rule last month <= last six months is not checked where one is missing; an exclusion that names a
    missing value does not exclude the row (which is counted as missing), even where SQL's three-valued logic
    would (``NULL OR true``); with every value present the same exclusion and rule apply."""
    rows = [f"{i + 1},{r.split(',', 1)[1]}" for i, r in enumerate(GOOD_ROWS * 3)] + [
        "201,30,admin.,married,no,yes,no,,3,1", "202,,admin.,married,no,yes,no,12,9,1"]
    spec = with_exclusions(SPEC, ["age > 45 or coupon_used_in_last_month > 5"])
    got = read_patterns(write(tmp_path, [HEADER, *rows]), spec, test_size=0, hash_file=False)
    assert got.accounting.values.tolist() == [
        ["rows read", 0, 14], ["excluded: age > 45 or coupon_used_in_last_month > 5", 3, 11], ["missing age", 1, 10],
        ["missing coupon_used_in_last6_month", 1, 9], ["rows used", 0, 9]]
    complete = rows[:-2] + ["201,30,admin.,married,no,yes,no,12,9,1", "202,30,admin.,married,no,yes,no,12,9,1"]
    got = read_patterns(write(tmp_path, [HEADER, *complete]), spec, test_size=0, hash_file=False)
    assert got.accounting["rows_excluded"].tolist() == [0, 5, 0]
    with pytest.raises(DataValidationError, match="more coupons used in the last month"):
        read_patterns(write(tmp_path, [HEADER, *rows[:-2], "201,30,admin.,married,no,yes,no,1,3,1"]), spec)


def test_a_file_without_a_complete_row_is_refused_naming_the_counts(tmp_path):
    rows = ["1,,admin.,married,no,yes,no,2,0,1", "2,40,,married,no,yes,no,2,0,0", "3,,admin.,married,no,yes,no,2,0,1"]
    for engine in ("memory", "duckdb"):
        with pytest.raises(DataValidationError) as info:
            read_patterns(write(tmp_path, [HEADER, *rows]), SPEC, engine=engine, hash_file=False)
        assert info.value.verdict()[0][:2] == (
            "", "has no complete row: every row kept misses a value of some variable (missing age: 2; missing job: 1)")


def test_read_rows_keeps_missing_values_and_leaves_out_a_missing_response(tmp_path):
    rows = read_rows(write(tmp_path, [HEADER, *ROWS]), SPEC)
    assert len(rows) == 18 and 105 not in set(rows["ID"])
    assert rows.set_index("ID").loc[107, ["age", "returned_yes"]].isna().all()
    with pytest.raises(DataValidationError, match="missing value"):
        read_rows(write(tmp_path, [HEADER, *ROWS]), REFUSE)


# ----------------------------------------------------------------------------- fuzz-style: CSV and Parquet


def _blanked_case(base, tmp_path, seed):
    """A CSV with cells blanked at random by ``seed``, its Parquet twin and pandas' pattern table of it."""
    csv_path = tmp_path / "case.csv"
    csv_path.write_bytes(blanked(base, random.Random(seed)))
    parquet = parquet_twin(csv_path, tmp_path / "case.parquet", floats=bool(seed % 2))
    return csv_path, parquet, pandas_reference(csv_path)


@pytest.mark.parametrize("seed", range(6))
def test_blanked_cells_csv_and_parquet_agree_with_pandas(base, tmp_path, seed):
    """Cells blanked at random (every missing-value spelling, the response included): the CSV and its Parquet
    twin (nulls; NaN in float columns for odd seeds) give pandas' pattern table and accounting on memory and
    DuckDB."""
    csv_path, parquet, expected = _blanked_case(base, tmp_path, seed)
    for path in (csv_path, parquet):
        for engine in ("memory", "duckdb"):
            assert comparable(read_patterns(path, SPEC, engine=engine, hash_file=False)) == expected, (path, engine)


@pytest.mark.parametrize("seed", [100, 101])
def test_blanked_cells_spark_agrees(base, tmp_path, seed, spark):
    csv_path, parquet, expected = _blanked_case(base, tmp_path, seed)
    for path in (csv_path, parquet):
        assert comparable(read_patterns(path, SPEC, engine="spark", hash_file=False)) == expected, path
