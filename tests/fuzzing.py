"""A seeded fuzzer of input files, shared by tests/read/test_fuzz.py (a few hundred cases in CI) and
benchmarks/fuzz.py (thousands).

``mutate(base, rng)`` applies 1 to 3 random mutations to the bytes of a valid CSV file: renamed,
re-cased, duplicated, reordered, dropped or empty-named columns; stray, unbalanced or doubled quotes;
line breaks inside fields; non-UTF-8, NUL, no-break-space, ideographic-space and control bytes; huge
integers, ``inf``, ``1e400``, decimals, negative counts; empty cells and cells of only spaces; missing-value
spellings (``#NA``, ``<NA>``, ``NULL``); trailing commas, lines of only commas, blank lines, truncated
lines; CR-only, mixed and CR CR LF line endings; a byte-order mark; hostile levels (``<img ...>``,
``=1+1``, ``@fig-x``, ``$\\notacommand{$``); a cut file.

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
                  "x", "0x10", "\u00a0", "1\u00a0", "management\x1f", "retired\u3000", "\u200b"]


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


def outcome(path, engine, spec):
    """("ok", pattern table as dict) | ("error", verdict, n_rows) | ("crash", traceback text)."""
    from analysis.read import DataValidationError, read_patterns

    try:
        got = read_patterns(path, spec, engine=engine, hash_file=False)
        return ("ok", got.patterns.to_dict("list"), got.n_rows)
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


def check(data: bytes, outcomes: dict) -> list[str]:
    """Failures of one case (empty when everything is right)."""
    failures = []
    for engine, result in outcomes.items():
        if result[0] == "crash":
            failures.append(f"{engine}: uncaught exception\n{result[1]}")
    results = list(outcomes.values())
    if any(r != results[0] for r in results[1:]):
        failures.append("engines disagree: " + "; ".join(f"{e}: {str(r)[:300]}" for e, r in outcomes.items()))
    first = results[0]
    if first[0] == "error" and not failures:
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
