"""Small CSV files of the coupon data's columns for the reader tests (tests/read/test_read.py, tests/read/test_fuzz.py)."""
HEADER = "ID,age,job,marriage,default,returned,loan,coupon_used_in_last6_month,coupon_used_in_last_month,coupon_ind"
COLUMNS = tuple(HEADER.split(","))
GOOD_ROWS = [
    "1,43,management,married,no,yes,no,2,0,0",
    "2,42,technician,divorced,no,yes,no,2,0,1",
    "3,47,admin.,married,no,yes,yes,2,1,0",
    "4,28,management,single,no,yes,yes,2,0,1",
]


def write(tmp_path, lines, name="d.csv", newline="\n", encoding="utf-8"):
    """``lines`` joined by ``newline`` and encoded as ``encoding`` into ``tmp_path / name``."""
    path = tmp_path / name
    path.write_bytes(newline.join(lines).encode(encoding))
    return path


#: the six rows of the Parquet reproductions (both classes; IDs beyond the first four as in the report)
PARQUET_ROWS = GOOD_ROWS + ["22357,33,retired,married,no,yes,no,1,0,0", "22358,51,services,single,no,no,no,0,0,1"]
NUMBER_COLUMNS = ("ID", "age", "coupon_used_in_last6_month", "coupon_used_in_last_month", "coupon_ind")


def natural_columns(rows=PARQUET_ROWS) -> dict:
    """The coupon columns of ``rows`` as Arrow arrays of their natural types (int64 numbers, strings)."""
    import pyarrow as pa

    cells = [r.split(",") for r in rows]
    return {c: pa.array([int(r[j]) for r in cells], pa.int64()) if c in NUMBER_COLUMNS else
            pa.array([r[j] for r in cells]) for j, c in enumerate(COLUMNS)}


def write_parquet(path, change=None, extra=None, rows=PARQUET_ROWS):
    """A Parquet file of ``rows`` with natural types; ``change`` replaces columns, ``extra`` adds them
    ({name: Arrow array}); a list of (name, array) pairs in ``extra`` may repeat a name."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = natural_columns(rows)
    columns.update(change or {})
    pairs = list(columns.items()) + (list(extra.items()) if isinstance(extra, dict) else list(extra or []))
    pq.write_table(pa.Table.from_arrays([a for _, a in pairs], names=[n for n, _ in pairs]), path)
    return path
