"""A seeded fuzzer of input files, shared by tests/read/test_fuzz.py (a few hundred cases in CI) and
benchmarks/fuzz.py (thousands).

``mutate(base, rng)`` applies 1 to 3 random mutations to the bytes of a valid CSV file: renamed,
re-cased, duplicated, reordered, dropped or empty-named columns; stray, unbalanced or doubled quotes;
line breaks inside fields; non-UTF-8, NUL, no-break-space, ideographic-space and control bytes; huge
integers, ``inf``, ``1e400``, decimals, negative counts; empty cells and cells of only spaces; missing-value
spellings (``#NA``, ``<NA>``, ``NULL``); trailing commas, lines of only commas, blank lines, truncated
lines; CR-only, mixed and CR CR LF line endings; a byte-order mark; hostile levels (``<img ...>``,
``=1+1``, ``@fig-x``, ``$\\notacommand{$``); a cut file.

``mutate_parquet(base, rng)`` writes the base as a Parquet table of natural types (numbers as int64, text
as strings) and applies 1 to 3 type mutations: a null cell, a boolean, unsigned 64-bit (values beyond
BIGINT), NaN or infinity in a float column, half floats, decimals, timestamps, dictionaries, large strings,
nested lists and structs, narrow integers, floats in a text column, extra columns named like a reader's own
(``file_row_number``, ``_metadata``, in any case), duplicated names, and the CSV's value mutations
(hostile levels, invisible characters). ``file_name(rng, suffix)`` gives hostile file names (glob
characters, quotes, a colon, spaces, a leading dash, non-ASCII, a line break). ``firth_case(base, rng)`` makes
sparse and degenerate designs for the command line's Firth route: a new level in one row, a handful of
rows, identical predictors with alternating response, a constant column.

``check(path, outcomes)`` judges the outcomes of the engines on one file: every engine must end in
``ok`` or ``DataValidationError`` (never another exception), all engines must agree exactly (the same
problems, rows, lines, IDs and values, or the same pattern table), and every line a problem names must be
right: when Python's ``csv`` module (the oracle) reads the file the same way, the line must be where a
record starts, and the first value shown must be that record's value in that column.
"""
from __future__ import annotations

import csv
import io
import random
import traceback

HOSTILE = ["<img src=x onerror=alert(1)>", "=1+1", "@fig-x", "$\\notacommand{$", "<script>alert(1)</script>",
           "[x](javascript:alert(1))", "=HYPERLINK(\"http://x\",\"y\")", "+cmd|' /C calc'!A0", "@SUM(1)"]
SPECIAL_VALUES = ["99999999999999999999", "inf", "1e400", "2.5", "-3", "", "   ", "#NA", "<NA>", "NULL", "nan",
                  "x", "0x10", "\u00a0", "1\u00a0", "management\x1f", "retired\u3000", "\u200b",
                  "technician\U000E0041", "retired\U000E0100", "tech\u17b4nician", "single\U0001BCA0",
                  "9223372036854775807", "9223372036854775808", "-9200000000000000000", "cafe\u0301"]


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _join(lines: list[bytes]) -> bytes:
    return b"\n".join(lines)


def _field_op(data: bytes, rng: random.Random, value: bytes) -> bytes:
    lines = _lines(data)
    i = rng.randrange(1, max(2, len(lines) - 1))
    if i >= len(lines) or not lines[i]:
        return data
    fields = lines[i].split(b",")
    j = rng.randrange(len(fields))
    fields[j] = value
    lines[i] = b",".join(fields)
    return _join(lines)


MUTATIONS = []


def mutation(fn):
    MUTATIONS.append(fn)
    return fn


@mutation
def rename_column(data, rng):
    lines = _lines(data)
    cols = lines[0].split(b",")
    j = rng.randrange(len(cols))
    name = cols[j].decode("utf-8", "replace")
    choice = rng.randrange(4)
    new = (name.upper() if choice == 0 else name.capitalize() if choice == 1 else name[:-1] if choice == 2
           else name + " ")
    cols[j] = new.encode()
    lines[0] = b",".join(cols)
    return _join(lines)


@mutation
def duplicate_column(data, rng):
    lines = _lines(data)
    j = rng.randrange(len(lines[0].split(b",")))
    out = []
    for line in lines:
        fields = line.split(b",")
        if len(fields) > j:
            fields.append(fields[j])
        out.append(b",".join(fields))
    return _join(out)


@mutation
def reorder_columns(data, rng):
    lines = _lines(data)
    n = len(lines[0].split(b","))
    order = list(range(n))
    rng.shuffle(order)
    out = []
    for line in lines:
        fields = line.split(b",")
        out.append(b",".join(fields[k] for k in order) if len(fields) == n else line)
    return _join(out)


@mutation
def drop_column(data, rng):
    lines = _lines(data)
    j = rng.randrange(len(lines[0].split(b",")))
    return _join([b",".join(f for k, f in enumerate(line.split(b",")) if k != j) for line in lines])


@mutation
def empty_column_name(data, rng):
    lines = _lines(data)
    lines[0] += b","
    return _join([lines[0]] + [ln + b"," if ln else ln for ln in lines[1:]])


@mutation
def stray_quote(data, rng):
    i = rng.randrange(len(data))
    return data[:i] + b'"' + data[i:]


@mutation
def quote_a_field(data, rng):
    lines = _lines(data)
    i = rng.randrange(1, len(lines))
    fields = lines[i].split(b",")
    j = rng.randrange(len(fields))
    fields[j] = b' "' + fields[j].replace(b'"', b'""') + b'" '
    lines[i] = b",".join(fields)
    return _join(lines)


@mutation
def newline_in_quoted_field(data, rng):
    return _field_op(data, rng, b'"a\nb"')


@mutation
def bad_bytes(data, rng):
    i = rng.randrange(len(data))
    return data[:i] + rng.choice([b"\xff", b"\xe9", b"\x00", b"\xc3", b"\x1f", b"\x0b"]) + data[i:]


@mutation
def special_value(data, rng):
    return _field_op(data, rng, rng.choice(SPECIAL_VALUES).encode())


@mutation
def hostile_level(data, rng):
    value = rng.choice(HOSTILE)
    return _field_op(data, rng, ('"' + value.replace('"', '""') + '"').encode() if "," in value or '"' in value
                     else value.encode())


@mutation
def trailing_comma(data, rng):
    lines = _lines(data)
    i = rng.randrange(len(lines))
    lines[i] += b","
    return _join(lines)


@mutation
def line_of_commas(data, rng):
    lines = _lines(data)
    i = rng.randrange(1, len(lines))
    lines.insert(i, b"," * (len(lines[0].split(b",")) - 1))
    return _join(lines)


@mutation
def blank_lines(data, rng):
    lines = _lines(data)
    for _ in range(rng.randrange(1, 4)):
        lines.insert(rng.randrange(len(lines) + 1), rng.choice([b"", b"  ", b"\t"]))
    return _join(lines)


@mutation
def truncate_line(data, rng):
    lines = _lines(data)
    i = rng.randrange(1, len(lines))
    lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)]
    return _join(lines)


@mutation
def line_endings(data, rng):
    kind = rng.randrange(4)
    if kind == 0:
        return data.replace(b"\n", b"\r")
    if kind == 1:
        return data.replace(b"\n", b"\r\n")
    if kind == 2:
        return data.replace(b"\n", b"\r\r\n")
    lines = _lines(data)
    return b"".join(ln + rng.choice([b"\n", b"\r\n", b"\r"]) for ln in lines)


@mutation
def byte_order_mark(data, rng):
    return b"\xef\xbb\xbf" + data


@mutation
def cut_file(data, rng):
    return data[: rng.randrange(len(data) + 1)]


@mutation
def duplicate_line(data, rng):
    lines = _lines(data)
    i = rng.randrange(1, len(lines))
    lines.insert(i, lines[i])
    return _join(lines)


@mutation
def sparse_level(data, rng):
    """A categorical or yes/no cell set to a level of its own (seen in that one row)."""
    lines = _lines(data)
    header = lines[0].split(b",")
    text = [j for j, h in enumerate(header) if h in (b"job", b"marriage", b"default", b"returned", b"loan")]
    i = rng.randrange(1, max(2, len(lines) - 1))
    fields = lines[i].split(b",")
    if not text or len(fields) != len(header):
        return data
    fields[rng.choice(text)] = rng.choice([b"widowed", b"astronaut", b"maybe", b"Married"])
    lines[i] = b",".join(fields)
    return _join(lines)


def mutate(base: bytes, rng: random.Random) -> tuple[bytes, list[str]]:
    data, names = base, []
    for _ in range(rng.randrange(1, 4)):
        fn = rng.choice(MUTATIONS)
        try:
            data = fn(data, rng)
        except (ValueError, IndexError):      # e.g. no row left to mutate after a cut
            continue
        names.append(fn.__name__)
    return data, names


# ----------------------------------------------------------------------------- Parquet

NUMBERS = ("ID", "age", "coupon_used_in_last6_month", "coupon_used_in_last_month", "coupon_ind")
RESERVED = ["file_row_number", "_metadata", "FILE_ROW_NUMBER", "_Metadata", "__line", "__row", "c0", "filename",
            "row_index", ""]
HOSTILE_NAMES = ["a*b", "q?[1]", "{x,y}", "it's", 'say "hi"', "c:d", "with space", "-dash", "caf\u00e9",
                 "tab\there", "new\nline", "%41%", "#hash", "\u200bzw", "back\\slash"]


def base_table(base: bytes):
    """The base CSV as an Arrow table of natural types (the coupon columns' numbers as int64)."""
    import pyarrow as pa

    lines = [ln for ln in base.decode().split("\n") if ln]
    header = lines[0].split(",")
    cells = [ln.split(",") for ln in lines[1:]]
    return pa.table({h: pa.array([int(r[j]) for r in cells], pa.int64()) if h in NUMBERS else
                     pa.array([r[j] for r in cells]) for j, h in enumerate(header)})


PARQUET_MUTATIONS = []


def parquet_mutation(fn):
    PARQUET_MUTATIONS.append(fn)
    return fn


def _replace(columns, name, array):
    return [(n, array if n == name else a) for n, a in columns]


def _pick(columns, rng, numeric=None):
    names = [n for n, a in columns if numeric is None or (n in NUMBERS) == numeric]
    return rng.choice(names) if names else None


def _values(columns, name):
    return next(a for n, a in columns if n == name).to_pylist()


@parquet_mutation
def null_cell(columns, rng):
    name = _pick(columns, rng)
    values = _values(columns, name)
    values[rng.randrange(len(values))] = None
    kind = next(a for n, a in columns if n == name).type
    import pyarrow as pa
    return _replace(columns, name, pa.array(values, kind))


@parquet_mutation
def bool_column(columns, rng):
    import pyarrow as pa
    name = _pick(columns, rng)
    n = len(_values(columns, name))
    return _replace(columns, name, pa.array([rng.random() < 0.5 for _ in range(n)]))


@parquet_mutation
def uint64_column(columns, rng):
    import pyarrow as pa
    name = _pick(columns, rng, numeric=True)
    values = [abs(v) if v is not None else None for v in _values(columns, name)]
    if rng.random() < 0.7:
        values[rng.randrange(len(values))] = rng.choice([2**63, 2**63 + 5, 2**64 - 1])
    return _replace(columns, name, pa.array(values, pa.uint64()))


@parquet_mutation
def nan_cell(columns, rng):
    import pyarrow as pa
    name = _pick(columns, rng, numeric=True)
    values = [float(v) if v is not None else None for v in _values(columns, name)]
    values[rng.randrange(len(values))] = rng.choice([float("nan"), float("inf"), -float("inf"), 1e300, 2.5])
    return _replace(columns, name, pa.array(values, rng.choice([pa.float64(), pa.float32()])))


@parquet_mutation
def float16_column(columns, rng):
    import numpy as np
    import pyarrow as pa
    name = _pick(columns, rng, numeric=True)
    values = np.array([np.nan if v is None else v for v in _values(columns, name)], dtype=np.float16)
    return _replace(columns, name, pa.array(values, pa.float16()))


@parquet_mutation
def decimal_column(columns, rng):
    import decimal
    import pyarrow as pa
    name = _pick(columns, rng, numeric=True)
    values = [None if v is None else decimal.Decimal(v) for v in _values(columns, name)]
    if rng.random() < 0.3:
        values[rng.randrange(len(values))] = decimal.Decimal("2.50")
    return _replace(columns, name, pa.array(values, pa.decimal128(rng.choice([12, 38]), 2)))


@parquet_mutation
def timestamp_column(columns, rng):
    import datetime
    import pyarrow as pa
    name = _pick(columns, rng)
    n = len(_values(columns, name))
    return _replace(columns, name, pa.array([datetime.datetime(2020, 1, 1 + k % 28) for k in range(n)]))


@parquet_mutation
def dictionary_column(columns, rng):
    name = _pick(columns, rng)
    return _replace(columns, name, next(a for n, a in columns if n == name).dictionary_encode())


@parquet_mutation
def large_string_column(columns, rng):
    import pyarrow as pa
    name = _pick(columns, rng)
    values = [None if v is None else str(v) for v in _values(columns, name)]
    return _replace(columns, name, pa.array(values, rng.choice([pa.large_string(), pa.string()])))


@parquet_mutation
def nested_column(columns, rng):
    import pyarrow as pa
    name = _pick(columns, rng)
    values = _values(columns, name)
    nested = ([[v] for v in values] if rng.random() < 0.5 else [{"v": v} for v in values])
    return _replace(columns, name, pa.array(nested))


@parquet_mutation
def narrow_integers(columns, rng):
    import pyarrow as pa
    name = _pick(columns, rng, numeric=True)
    kind = rng.choice([pa.int8(), pa.int16(), pa.int32(), pa.uint8(), pa.uint16(), pa.uint32()])
    array = next(a for n, a in columns if n == name)
    try:
        return _replace(columns, name, array.cast(kind))
    except pa.ArrowInvalid:          # out of range for the type: leave the column
        return columns


@parquet_mutation
def float_text_column(columns, rng):
    import pyarrow as pa
    name = _pick(columns, rng, numeric=False)
    n = len(_values(columns, name))
    return _replace(columns, name, pa.array([rng.choice([0.0, 1.0, 1.5, 1e20, -0.0]) for _ in range(n)]))


@parquet_mutation
def reserved_name(columns, rng):
    import pyarrow as pa
    n = len(columns[0][1])
    array = rng.choice([pa.array([7] * n), pa.array(["x"] * n), pa.array([{"row_index": 1}] * n)])
    return columns + [(rng.choice(RESERVED), array)]


@parquet_mutation
def duplicate_name(columns, rng):
    k = rng.randrange(len(columns))
    return columns + [columns[k]]


@parquet_mutation
def hostile_cell(columns, rng):
    import pyarrow as pa
    name = _pick(columns, rng, numeric=False)
    values = _values(columns, name)
    values[rng.randrange(len(values))] = rng.choice(HOSTILE + SPECIAL_VALUES)
    return _replace(columns, name, pa.array(values))


def mutate_parquet(base: bytes, rng: random.Random):
    """(Arrow table, row group size, mutation names): the base with 1 to 3 Parquet type mutations."""
    import pyarrow as pa

    table = base_table(base)
    columns, names = list(zip(table.column_names, [c.combine_chunks() for c in table.columns])), []
    columns = list(columns)
    for _ in range(rng.randrange(1, 4)):
        fn = rng.choice(PARQUET_MUTATIONS)
        try:
            columns = fn(columns, rng)
        except (TypeError, ValueError, OverflowError, pa.ArrowException):   # a column an earlier mutation made
            continue                                                       # unfit for this one (nested, dates)
        names.append(fn.__name__)
    return (pa.Table.from_arrays([a for _, a in columns], names=[n for n, _ in columns]),
            rng.choice([None, 64, 500]), names)


def write_parquet_case(path, table, row_group_size) -> None:
    import pyarrow.parquet as pq

    pq.write_table(table, path, row_group_size=row_group_size)


def file_name(rng: random.Random, suffix: str) -> str:
    """A file name with characters that engines or shells may take for something else (half the time)."""
    if rng.random() < 0.5:
        return "case" + suffix
    return "".join(rng.sample(HOSTILE_NAMES, rng.randrange(1, 3))) + suffix


# ----------------------------------------------------------------------------- Firth's route


def firth_case(base: bytes, rng: random.Random) -> tuple[bytes, str]:
    """A sparse or degenerate design for `fit --firth` (the case's kind is returned with it)."""
    lines = [ln for ln in base.split(b"\n") if ln]
    header, rows = lines[0], lines[1:]
    kind = rng.choice(["sparse_level", "sparse_levels", "few_rows", "identical", "constant_column", "one_class_train"])
    cols = header.split(b",")
    if kind in ("sparse_level", "sparse_levels"):
        rows = list(rows)
        for _ in range(1 if kind == "sparse_level" else rng.randrange(2, 6)):
            i = rng.randrange(len(rows))
            fields = rows[i].split(b",")
            j = cols.index(rng.choice([b"job", b"marriage"]))
            fields[j] = rng.choice([b"widowed", b"astronaut", b"retired", b"student", b"unknown"])
            rows[i] = b",".join(fields)
    elif kind == "few_rows":
        rows = rng.sample(rows, rng.randrange(2, 12))
    elif kind == "identical":
        template = rows[rng.randrange(len(rows))].split(b",")
        out = []
        for i in range(rng.choice([2, 6, 50, 200])):
            fields = list(template)
            fields[0], fields[-1] = str(i + 1).encode(), str(i % 2).encode()
            out.append(b",".join(fields))
        rows = out
    elif kind == "constant_column":
        j = rng.randrange(1, len(cols) - 1)
        value = rows[0].split(b",")[j]
        rows = [b",".join(value if k == j else f for k, f in enumerate(r.split(b","))) for r in rows]
    else:                   # events only in rows the split puts in the test sample is unlikely: thin the events
        events = [r for r in rows if r.endswith(b",1")]
        rows = [r for r in rows if not r.endswith(b",1")] + events[: rng.randrange(1, 4)]
    return b"\n".join([header, *rows]) + b"\n", kind


def outcome(path, engine, spec):
    """("ok", pattern table as dict (a missing value as None), row accounting, rows used) | ("error", verdict,
    n_rows) | ("crash", traceback text)."""
    from analysis.read import DataValidationError, read_patterns

    try:
        got = read_patterns(path, spec, engine=engine, hash_file=False)
        patterns = got.patterns.astype(object).where(got.patterns.notna(), None)   # NaN == NaN is False
        return ("ok", patterns.to_dict("list"), got.accounting.to_dict("list"), got.n_rows)
    except DataValidationError as err:
        return ("error", err.verdict(), err.n_rows)
    except Exception:  # noqa: BLE001 - the fuzzer counts them
        return ("crash", traceback.format_exc(limit=4))


def oracle_records(data: bytes):
    """(header, [(start line, fields)]) by Python's csv module, when it reads the file as the package's
    rules say (UTF-8, strict quoting, no NUL, every record as wide as the header); None otherwise."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if "\x00" in text:
        return None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records, start = [], 1
    try:
        for fields in reader:
            if fields and any(f.strip(" \t") for f in fields) or len(fields) > 1:
                records.append((start, fields))
            start = reader.line_num + 1
    except csv.Error:
        return None
    if not records:
        return None
    header = [h.strip(" \t") for h in records[0][1]]
    body = records[1:]
    if any(len(f) != len(header) for _, f in body):
        return None
    if any('"' in f for _, fields in records for f in fields):   # quotes inside values: csv's leniency
        return None
    return header, body


def check(data: bytes | None, outcomes: dict, n_rows: int | None = None) -> list[str]:
    """Failures of one case (empty when everything is right). ``data``: the CSV file's bytes, or None for a
    Parquet file of ``n_rows`` rows (its problems name rows 1..n_rows)."""
    failures = []
    for engine, result in outcomes.items():
        if result[0] == "crash":
            failures.append(f"{engine}: uncaught exception\n{result[1]}")
    results = list(outcomes.values())
    if any(r != results[0] for r in results[1:]):
        failures.append("engines disagree: " + "; ".join(f"{e}: {str(r)[:300]}" for e, r in outcomes.items()))
    first = results[0]
    if first[0] == "error" and not failures and data is None:
        for column, what, rows, lines, ids, values, fix, unit in first[1]:
            if any(not 1 <= line <= (n_rows or 0) for line in lines) or (lines and unit != "rows"):
                failures.append(f"line outside rows 1..{n_rows}: {lines} ({column}: {what})")
    elif first[0] == "error" and not failures:
        oracle = oracle_records(data)
        n_lines = data.count(b"\n") + data.replace(b"\r\n", b"\n").count(b"\r") + 1
        for column, what, rows, lines, ids, values, fix, unit in first[1]:
            for line in lines:
                if not 1 <= line <= n_lines:
                    failures.append(f"line {line} outside 1..{n_lines} ({column}: {what})")
            if oracle and column and lines:
                header, body = oracle
                starts = {s: f for s, f in body}
                for line in lines:
                    if line not in starts:
                        failures.append(f"line {line} is not where a record starts ({column}: {what})")
                if column in header and lines[0] in starts and values:
                    raw = starts[lines[0]][header.index(column)]
                    if raw != values[0]:
                        failures.append(f"line {lines[0]}: column {column} holds {raw!r}, the message shows "
                                        f"{values[0]!r} ({what})")
    return failures
