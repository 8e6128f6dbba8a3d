"""analysis.read.csvscan: the package's one definition of a CSV file.

Hand-written cases for every rule (exact values and physical line numbers), a byte-at-a-time reference
of the same definition that the vectorized scanner must match on random and mutated files (at several
chunk and window sizes), Python's ``csv`` module as an independent oracle on valid files, chunk-size
independence, bounded memory on huge fields and headers, and the real data file.
"""
import csv
import io
import json
import random
import subprocess
import sys
from bisect import bisect_left
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from analysis.read import csvscan
from analysis.read.csvscan import CsvFormatError, CsvProblem, CsvScan, scan_all

ROOT = Path(__file__).resolve().parents[2]
BOM = b"\xef\xbb\xbf"


# ----------------------------------------------------------------------------- helpers


def scan(data, **kw):
    """(header, [(line, row, [values])], {kind: (count, lines)}, n_rows, n_lines) of a scan."""
    try:
        scanner = CsvScan(data, **kw)
    except CsvFormatError as err:
        return None, [], {p.kind: (p.count, p.lines) for p in err.problems}, None, None
    rows, found = [], {}
    try:
        for batch in scanner.batches():
            assert batch.schema.names == [f"f{k}" for k in range(len(scanner.header))] + ["__line", "__row"]
            assert all(c.null_count == 0 for c in batch.columns)
            batch.validate(full=True)
            d = batch.to_pydict()
            for i in range(batch.num_rows):
                rows.append((d["__line"][i], d["__row"][i], [d[f"f{k}"][i] for k in range(len(scanner.header))]))
    except CsvFormatError as err:
        found = {p.kind: (p.count, p.lines) for p in err.problems}
    return scanner.header, rows, found, scanner.n_rows, scanner.n_lines


def ok(data, **kw):
    """(header, [(line, [values])]) of a file that must be accepted."""
    header, rows, found, _, _ = scan(data, **kw)
    assert found == {}, found
    return header, [(line, values) for line, _, values in rows]


def error(data, **kw) -> CsvFormatError:
    with pytest.raises(CsvFormatError) as info:
        list(CsvScan(data, **kw).batches())  # the constructor raises if the header is bad
    return info.value


def problems(data, **kw) -> dict:
    return {p.kind: (p.count, p.lines) for p in error(data, **kw).problems}


def physical_lines(data: bytes) -> int:
    body = data[3:] if data.startswith(BOM) else data
    breaks = body.count(b"\n") + body.count(b"\r") - body.count(b"\r\n")
    return breaks + (1 if body and body[-1:] not in (b"\n", b"\r") else 0)


# ----------------------------------------------------------------------------- line breaks, blank lines


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
@pytest.mark.parametrize("last", [True, False])
def test_line_endings(newline, last):
    data = newline.join([b"a,b", b"1,2", b"3,4"]) + (newline if last else b"")
    assert ok(data) == (["a", "b"], [(2, ["1", "2"]), (3, ["3", "4"])])


def test_mixed_line_breaks_each_count_once():
    # \r\r\n is a lone \r then \r\n: two line breaks, so line 3 is blank
    data = b"a,b\r1,2\r\r\n3,4\n5,6\r\n\n7,8\r"
    assert ok(data) == (["a", "b"], [(2, ["1", "2"]), (4, ["3", "4"]), (5, ["5", "6"]), (7, ["7", "8"])])
    header, rows, _, n_rows, n_lines = scan(data)
    assert (n_rows, n_lines) == (4, 7)


def test_blank_lines_before_among_and_after_rows():
    data = b"\n  \n\t\r\na,b\n\n1,2\n \t \n3,4\n\n\n  "
    header, rows, problems_, n_rows, n_lines = scan(data)
    assert problems_ == {}
    assert header == ["a", "b"]
    assert rows == [(6, 1, ["1", "2"]), (8, 2, ["3", "4"])]
    assert (n_rows, n_lines) == (2, 11)


def test_quoted_line_breaks_shift_the_lines():
    data = b'a,b\n"x\ny\r\nz",1\n2,"\r"\n3,4\n"",""\n'
    assert ok(data) == (["a", "b"], [(2, ["x\ny\r\nz", "1"]), (5, ["2", "\r"]), (7, ["3", "4"]), (8, ["", ""])])


def test_bom_is_skipped_once():
    assert ok(BOM + b"a,b\n1,2\n") == (["a", "b"], [(2, ["1", "2"])])
    assert ok(BOM + BOM + b"a,b\n1,2\n")[0] == ["\ufeffa", "b"]  # only the first is a BOM


def test_last_line_without_line_break_and_trailing_empty_field():
    assert ok(b"a,b\n1,") == (["a", "b"], [(2, ["1", ""])])
    assert ok(b"a,b\n,") == (["a", "b"], [(2, ["", ""])])
    assert ok(b"a\n\"\"") == (["a"], [(2, [""])])


def test_one_column_blank_lines_are_not_rows():
    assert ok(b"a\n1\n\n  \n2\n") == (["a"], [(2, ["1"]), (5, ["2"])])
    assert ok(b'a\n""\n" "\n') == (["a"], [(2, [""]), (3, [" "])])  # quoted: a value, not a blank line


# ----------------------------------------------------------------------------- fields and quotes


def test_quoted_fields_escapes_and_spaces():
    data = b'h1,h2,h3\n"a,b", "c""d" ,"""e"""\n  x  ,"",""""\n\t"y"\t, " z " ,"a""""b"\n'
    assert ok(data) == (["h1", "h2", "h3"], [
        (2, ["a,b", 'c"d', '"e"']),
        (3, ["  x  ", "", '"']),
        (4, ["y", " z ", 'a""b']),
    ])


def test_header_values_are_unquoted_not_trimmed():
    assert ok(b'"a,1", b ,"c""d"\n1,2,3\n')[0] == ["a,1", " b ", 'c"d']


def test_unicode_values():
    data = "名前,città\n\"東京, 日本\",ü\r\n€,\u00a0\r\n".encode()
    assert ok(data) == (["名前", "città"], [(2, ["東京, 日本", "ü"]), (3, ["€", "\u00a0"])])


@pytest.mark.parametrize("field", [b'ab"c', b'"ab"c', b'"a"b"', b'a"', b'"a" "', b'"a""b"x', b' x "y"', b'"a"""b"'])
def test_quote_misuse_names_the_line_and_the_scan_goes_on(field):
    data = b"a,b\n1,2\n3," + field + b"\n4,5\n6,\"x\n\"\n7," + field + b"\n8,9\n"
    err = error(data)
    assert err.kinds == ("quote",)
    assert (err.problems[0].count, err.problems[0].lines) == (2, (3, 7))
    assert "line 3, field 2" in err.problems[0].detail


def test_quote_misuse_in_a_multiline_record_names_the_fields_line():
    err = error(b'a,b\n"x\ny",1\n"p\nq"r,2\n3,4\n')
    assert (err.kinds, err.problems[0].lines) == (("quote",), (4,))


@pytest.mark.parametrize("window", [4, 16, 4 << 20])
def test_a_stray_quote_does_not_open_a_quoted_field(monkeypatch, window):
    """A quote that is not at the start of a field is text (an error): it never hides the line breaks
    and commas after it, however the file is cut into windows."""
    monkeypatch.setattr(csvscan, "_WINDOW", window)
    data = b'a,b\nx"y,1\n' + b"1,2\n" * 50 + b'"a" b,"c"d\n3,4\n'
    assert problems(data, chunk_bytes=5) == {"quote": (3, (2, 53))}
    data = b'a\nx"y\n"' + b"z" * 300 + b"\n1\n"
    assert problems(data) == {"quote": (1, (2,)), "unclosed_quote": (1, (3,))}
    assert problems(data, max_record_bytes=100) == {"quote": (1, (2,)), "record_too_long": (1, (3,))}


def test_rows_before_and_after_problems_are_yielded_then_the_error():
    scanner = CsvScan(b"a,b\n1,2\n3\n4,5\n6,x\"\n7,8\n", batch_rows=2)
    got = []
    with pytest.raises(CsvFormatError) as info:
        for batch in scanner.batches():
            got.append(batch.to_pydict())
    assert info.value.kinds == ("quote", "field_count")
    assert [b["f0"] for b in got] == [["1", "4"], ["7"]]
    assert [b["__row"] for b in got] == [[1, 3], [5]]  # bad records keep their ordinal
    assert [b["__line"] for b in got] == [[2, 4], [6]]
    assert (scanner.n_rows, scanner.n_lines) == (5, 6)


# ----------------------------------------------------------------------------- problems


def test_field_count_counts_all_records_and_names_the_first_five():
    lines = [b"a,b,c"] + [b"1,2,3"] * 3 + [b"1,2", b"1,2,3,4"] * 4 + [b"1,2,3"]
    err = error(b"\n".join(lines))
    (p,) = err.problems
    assert (p.kind, p.count, p.lines) == ("field_count", 8, (5, 6, 7, 8, 9))
    assert p.detail.startswith("8 records do not have the header's 3 fields: line 5 has 2 fields; line 6 has 4")
    one = error(b"a,b\n1,2\n1,2,3\n").problems[0]
    assert one.detail == "line 3 has 3 fields; the header has 2"


def test_every_cheap_problem_is_collected():
    data = b'a,b\n1,2,3\nx"y,2\n\x00,1\n' + b"z" * 30 + b",1\n5,6\n"
    err = error(data, max_field_bytes=20)
    assert {p.kind: (p.count, p.lines) for p in err.problems} == {
        "field_count": (1, (2,)), "quote": (1, (3,)), "nul": (1, (4,)), "field_too_long": (1, (5,))}
    assert all(isinstance(p, CsvProblem) and p.detail for p in err.problems)
    assert "line 5, field 1 is 30 bytes" in next(p.detail for p in err.problems if p.kind == "field_too_long")


def test_nul_counts_lines_and_names_the_first():
    err = error(b'a,b\n1,2\n\x00,\x00\n3,"\x00\n\x00"\n4,5\x00\n')
    assert err.kinds == ("nul",)
    assert (err.problems[0].count, err.problems[0].lines) == (4, (3, 4, 5, 6))
    assert "first on line 3" in err.problems[0].detail


def test_encoding_error_gives_line_and_file_offset_and_stops():
    data = BOM + b"a,b\n1,2\n3,\xff4\n5,6,7\n"
    err = error(data)
    assert err.kinds == ("encoding",)
    assert err.problems[0].lines == (3,)
    assert "offset 13" in err.problems[0].detail and "0xff" in err.problems[0].detail
    # problems in the records before it are reported; nothing after it is read
    err = error(b"a,b\n1\n\r\xe2\x82,9\n1,2,3\n")
    assert {p.kind: p.lines for p in err.problems} == {"field_count": (2,), "encoding": (4,)}
    # a truncated sequence at the end of the file
    assert problems(b"a,b\n1,\xe2\x82") == {"encoding": (1, (2,))}


def test_unclosed_quote_names_the_line_where_the_field_starts():
    assert problems(b'a,b\n1,2\n3,"x\ny\n4,5\n') == {"unclosed_quote": (1, (3,))}
    assert problems(b'a,b\n1,"x""\n') == {"unclosed_quote": (1, (2,))}
    assert problems(b'"a') == {"unclosed_quote": (1, (1,))}


def test_limits():
    assert problems(b"a,b\n1," + b"x" * 11 + b"\n", max_field_bytes=10) == {"field_too_long": (1, (2,))}
    assert ok(b"a,b\n1," + b"x" * 10 + b"\n", max_field_bytes=10)[1] == [(2, ["1", "x" * 10])]
    # a quoted field counts as written, quotes included
    assert problems(b'a,b\n1,"' + b"x" * 9 + b'"\n', max_field_bytes=10) == {"field_too_long": (1, (2,))}
    assert problems(b"a\n" + b"x" * 30 + b"\n", max_field_bytes=10, max_record_bytes=20) == {
        "record_too_long": (1, (2,))}
    assert ok(b"a\n" + b"x" * 20 + b"\r\n1", max_field_bytes=30, max_record_bytes=20)[1] == [
        (2, ["x" * 20]), (3, ["1"])]
    assert problems(b",,,\n1,2,3,4\n", max_columns=3) == {"too_many_columns": (1, (1,))}
    assert ok(b",,\n1,2,3\n", max_columns=3)[0] == ["", "", ""]


def test_record_too_long_stops_the_scan_after_the_records_before_it():
    data = b'a,b\n1,2,3\n3,"' + b"x\n" * 20 + b'"\n9,9,9\n'
    assert problems(data, max_record_bytes=30) == {"field_count": (1, (2,)), "record_too_long": (1, (3,))}


def test_header_problems_are_raised_by_the_constructor():
    for data, kind in [(b'a,b"c\n1,2\n', "quote"), (b"a,\x00\n1,2\n", "nul"), (b"a,\xff\n", "encoding"),
                       (b'"a\n', "unclosed_quote"), (b"", "empty"), (b"\r\n \n\t", "empty"), (BOM, "empty")]:
        with pytest.raises(CsvFormatError) as info:
            CsvScan(data)
        assert info.value.kinds == (kind,), data


def test_the_constructor_reads_the_header_only(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(b"\n\n id , name\r\n" + b"1,x\r\n" * 200_000 + b'2,"y\r\n')
    with CsvScan(path) as scanner:  # the unclosed quote at the end is not read yet
        assert scanner.header == [" id ", " name"]
        assert scanner.n_rows is None
        with pytest.raises(CsvFormatError) as info:
            for _ in scanner.batches():
                pass
    assert {p.kind: p.lines for p in info.value.problems} == {"unclosed_quote": (200_004,)}
    assert (scanner.n_rows, scanner.n_lines) == (200_000, 200_003)


def test_no_rows():
    err = error(b"a,b\r\n\r\n  \r\n")
    assert err.kinds == ("no_rows",) and err.problems[0].lines == (1,)
    assert str(err) == "no_rows: the header (line 1) is followed by no data rows"


def test_batches_once_and_in_batch_rows():
    scanner = CsvScan(b"a\n" + b"\n".join(str(i).encode() for i in range(10)), batch_rows=4)
    assert [b.num_rows for b in scanner.batches()] == [4, 4, 2]
    with pytest.raises(RuntimeError):
        scanner.batches()
    header, table = scan_all(b"a,b\n1,2\n")
    assert table.schema == pa.schema([pa.field("f0", pa.string(), False), pa.field("f1", pa.string(), False),
                                      pa.field("__line", pa.int64(), False), pa.field("__row", pa.int64(), False)])


def test_bad_arguments():
    with pytest.raises(ValueError):
        CsvScan(b"a\n1\n", chunk_bytes=0)
    with pytest.raises(ValueError):
        CsvScan(b"a\n1\n", batch_rows=True)


# ----------------------------------------------------------------------------- a byte-at-a-time reference


def reference(data, max_field=100_000, max_record=16 << 20, max_columns=10_000):
    """The definition of the module docstring, one byte at a time: (header, rows, problems, n_rows)."""
    if data.startswith(BOM):
        data = data[3:]
    bad_at = None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        bad_at = err.start
        data = data[:bad_at]
    final, n, ws = bad_at is None, len(data), (32, 9)
    breaks = [i for i, c in enumerate(data) if c == 13 or (c == 10 and not (i and data[i - 1] == 13))]

    def line_of(x):
        return 1 + bisect_left(breaks, x)

    records, pos, tail, unclosed = [], 0, None, None
    while pos < n:
        start, fields, complete = pos, [], False
        while True:
            s = i = pos
            while i < n and data[i] in ws:
                i += 1
            if i < n and data[i] == 34:  # a quoted field
                j, value, closed = i + 1, bytearray(), None
                while j < n:
                    if data[j] == 34:
                        if j + 1 < n and data[j + 1] == 34:
                            value.append(34)
                            j += 2
                            continue
                        closed = j
                        break
                    value.append(data[j])
                    j += 1
                if closed is None:
                    unclosed = s
                    break
                k, bad = closed + 1, False
                while k < n and data[k] not in (44, 10, 13):
                    bad |= data[k] not in ws
                    k += 1
                value = bytes(value)
            else:
                k, bad = s, False
                while k < n and data[k] not in (44, 10, 13):
                    bad |= data[k] == 34
                    k += 1
                value = data[s:k]
            fields.append((s, k, value, bad))
            if k == n:
                if final:
                    complete, end, pos = True, n, n
                break
            if data[k] == 44:
                pos = k + 1
                continue
            complete, end = True, k
            pos = k + (2 if data[k] == 13 and k + 1 < n and data[k + 1] == 10 else 1)
            break
        if not complete:
            tail = start
            break
        records.append((start, end, fields))

    found = {}

    def add(kind, count, lines):
        entry = found.setdefault(kind, [0, []])
        entry[0] += count
        for line in lines:
            if line not in entry[1] and len(entry[1]) < 5:
                entry[1].append(line)

    def result(header, rows, n_rows):
        return header, rows, {k: (c, tuple(lines)) for k, (c, lines) in found.items()}, n_rows

    header, rows, row_no, stop = None, [], 0, False
    for start, end, fields in records:
        if end - start > max_record:
            add("record_too_long", 1, [line_of(start)])
            stop = True
            break
        if len(fields) == 1 and all(c in ws for c in data[start:end]):
            continue
        nul = sorted({line_of(p) for p in range(start, end) if data[p] == 0})
        quote = [line_of(s) for s, e, v, b in fields if b]
        long = [line_of(s) for s, e, v, b in fields if e - s > max_field]
        if header is None:
            if len(fields) > max_columns:
                add("too_many_columns", 1, [line_of(start)])
            for kind, lines in (("quote", quote), ("field_too_long", long), ("nul", nul)):
                if lines:
                    add(kind, len(lines), lines)
            if found:
                return result(None, [], None)
            header, header_line = [v.decode() for s, e, v, b in fields], line_of(start)
            continue
        row_no += 1
        bad = len(fields) != len(header)
        if bad:
            add("field_count", 1, [line_of(start)])
        for kind, lines in (("quote", quote), ("field_too_long", long), ("nul", nul)):
            if lines:
                add(kind, len(lines), lines)
                bad = True
        if not bad:
            rows.append((line_of(start), row_no, [v.decode() for s, e, v, b in fields]))
    if not stop:
        if tail is not None:
            if n - tail > max_record:
                add("record_too_long", 1, [line_of(tail)])
            elif final:
                add("unclosed_quote", 1, [line_of(unclosed)])
            stop = True
        if not final and "record_too_long" not in found:
            add("encoding", 1, [line_of(n)])
            stop = True
    if header is None and not found:
        add("empty", 1, [])
    elif header is not None and not row_no and not stop:
        add("no_rows", 1, [header_line])
    return result(header, rows, row_no if header is not None else None)


# ----------------------------------------------------------------------------- random files


def random_field(rng):
    r = rng.random()
    if r < 0.35:
        return rng.choice(["", "x", "12", "ab c", "1.5", "é", "m\u00a0n", "東京", " s ", "-"])
    if r < 0.75:
        inner = "".join(rng.choice(["a", ",", '""', "\n", "\r\n", "\r", " ", "€", ""]) for _ in range(rng.randint(0, 6)))
        return '"' + inner + '"'
    return rng.choice(['"p"', "z", "0", "NA", '"x,y"'])


def random_csv(rng, ncol=None, nrows=None, blank_lines=True) -> bytes:
    ncol = ncol or rng.randint(1, 4)
    lines = []
    for _ in range(nrows if nrows is not None else rng.randint(1, 6)):
        if blank_lines and rng.random() < 0.1:
            lines.append(rng.choice(["", " ", "\t "]))
        lines.append(",".join(random_field(rng) for _ in range(ncol)))
    newline = rng.choice(["\n", "\r\n", "\r"])
    return (newline.join(lines) + rng.choice(["", newline])).encode()


ALPHABET = [b'"', b",", b"\r", b"\n", b"\x00", b"\xff", b"\xc2\xa0", b"\xc2", b"\xa0", b" ", b"\t", b"a", b'""',
            b"\r\n", b"\xe2\x82\xac", BOM]


def mutate(rng, data: bytes) -> bytes:
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op, at = rng.random(), rng.randint(0, len(data))
        if op < 0.45:
            data[at:at] = rng.choice(ALPHABET)
        elif op < 0.65:
            del data[at:at + rng.randint(1, 3)]
        elif op < 0.75:
            lines = bytes(data).split(b"\n")
            k = rng.randrange(len(lines))
            data = bytearray(b"\n".join(lines[:k + 1] + lines[k:]))
        elif op < 0.85:
            data = data[:at]
        else:
            data[at:at] = rng.choice(ALPHABET) * rng.randint(2, 6)
    return bytes(data)


def csv_records(text: str):
    """Records of Python's csv module (strict): (start line, end line, fields)."""
    lines = io.StringIO(text, newline="").readlines()
    reader, out, before = csv.reader(iter(lines), strict=True), [], 0
    for fields in reader:
        out.append((before + 1, reader.line_num, fields, "".join(lines[before:reader.line_num])))
        before = reader.line_num
    return out


def csv_rows(text: str):
    """(header, [(line, fields)]) by Python's csv module, blank records (spaces/tabs only) skipped."""
    records = [(start, fields) for start, _, fields, raw in csv_records(text) if raw.strip(" \t\r\n")]
    if not records:
        return None, []
    return records[0][1], records[1:]


@pytest.mark.parametrize("seed", range(4))
def test_valid_random_files_match_python_csv(seed):
    """Python's csv module (strict) as an independent oracle: the same fields and start lines."""
    rng = random.Random(seed)
    for _ in range(100):
        data = random_csv(rng, ncol=rng.randint(2, 5), nrows=rng.randint(2, 8))
        text = data.decode()
        header, rows = csv_rows(text)
        assert ok(data, chunk_bytes=rng.choice([5, 64, 1 << 20])) == (header, rows), data


def test_mutated_files_match_the_reference_and_python_csv(monkeypatch):
    """2,000 seeded mutations: only CsvFormatError, every line number within the file, the same result as
    the byte-at-a-time reference at random chunk and window sizes, and Python's csv where both accept."""
    rng = random.Random(20240601)
    compared = 0
    for case in range(2000):
        data = mutate(rng, random_csv(rng))
        if rng.random() < 0.3:
            data = mutate(rng, data + random_csv(rng))
        limits = {}
        if rng.random() < 0.15:
            limits["max_field"] = rng.randint(1, 10)
        if rng.random() < 0.15:
            limits["max_record"] = rng.randint(1, 40)
        if rng.random() < 0.1:
            limits["max_columns"] = rng.randint(1, 3)
        monkeypatch.setattr(csvscan, "_WINDOW", rng.choice([2, 33, 4 << 20, 4 << 20]))
        kw = {"chunk_bytes": rng.choice([1, 7, 64, 64 << 20, 64 << 20])}
        kw.update({f"{k}_bytes" if k != "max_columns" else k: v for k, v in limits.items()})
        try:
            header, rows, found, n_rows, n_lines = scan(data, **kw)  # CsvFormatError is caught there
        except Exception as exc:  # pragma: no cover - the assertion names the input
            raise AssertionError(f"{type(exc).__name__} on {data!r} {kw}") from exc
        assert (header, rows, found, n_rows) == reference(data, **limits), (data, kw)
        total = physical_lines(data)
        assert all(1 <= line <= total for _, lines in found.values() for line in lines), (data, found)
        assert all(1 <= line <= total for line, _, _ in rows)
        if n_lines is not None and not set(found) & csvscan.FATAL:
            assert n_lines == total, (data, n_lines, total)
        if not found:
            try:
                text = data.decode("utf-8-sig")
                theirs = csv_rows(text)
            except (csv.Error, UnicodeDecodeError):
                continue
            # csv reads a quote after spaces as text and refuses spaces after a closing quote
            if '"' in text and any(f'{w}"' in text or f'"{w}' in text for w in " \t"):
                continue
            assert (header, [(line, values) for line, _, values in rows]) == theirs, data
            compared += 1
    assert compared > 100


def test_chunk_and_window_sizes_do_not_change_the_result(monkeypatch):
    rng = random.Random(7)
    valid = b"\r\n".join([b"a,b,c"] + [random_csv(rng, ncol=3, nrows=1, blank_lines=False) for _ in range(120)])
    broken = valid[:2000] + b'\n1,x"y,3\n1,2\n\x00,1,2\r\n' + valid[2000:] + b"\n\"unclosed\n1,2,3"
    for data in (valid, broken):
        results = []
        for window, chunk in [(4 << 20, 7), (4 << 20, 64), (4 << 20, 1000), (4 << 20, 64 << 20), (5, 64 << 20),
                              (97, 64 << 20), (97, 7)]:
            monkeypatch.setattr(csvscan, "_WINDOW", window)
            results.append(scan(data, chunk_bytes=chunk))
        assert all(r == results[0] for r in results[1:])
        assert results[0][1] and (results[0][2] == {}) == (data is valid)
        assert results[0][:4] == reference(data)


# ----------------------------------------------------------------------------- bounded memory


MEMORY_PROBE = r"""
import importlib.util, json, sys, threading, time
spec = importlib.util.spec_from_file_location("csvscan", sys.argv[3])  # the module alone, not the package
csvscan = sys.modules["csvscan"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(csvscan)
path, kw = sys.argv[1], json.loads(sys.argv[2])
csvscan.scan_all(b'a,b\r\n"x\n""y""z",1\r\n2,3\n')  # the code the scan runs is paged in first

def anonymous_kib():  # memory of the process itself now (not the pages of its libraries)
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith("RssAnon:"))

before, peak, done = anonymous_kib(), [0], []

def poll():
    while not done:
        peak[0] = max(peak[0], anonymous_kib())
        time.sleep(0.0002)

def bytes_read():  # every byte this process has read through read() so far (/proc/self/io rchar)
    with open("/proc/self/io") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith("rchar:"))

watcher = threading.Thread(target=poll)
watcher.start()
read_before = bytes_read()
start = time.perf_counter()
try:
    list(csvscan.CsvScan(path, **kw).batches())
    kinds = []
except csvscan.CsvFormatError as err:
    kinds = list(err.kinds)
seconds = time.perf_counter() - start
read_mb = (bytes_read() - read_before) / (1 << 20)
done.append(1)
watcher.join()
print(json.dumps({"kinds": kinds, "seconds": seconds, "read_mb": read_mb,
                  "grew_mb": (max(peak[0], before) - before) / 1024}))
"""


def _probe(path, **kw):
    module = ROOT / "analysis" / "read" / "csvscan.py"
    out = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(path), json.dumps(kw), str(module)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout)


def _write(path, head: bytes, fill: bytes, size: int, tail: bytes = b""):
    block = fill * ((1 << 20) // len(fill))
    with open(path, "wb") as handle:
        handle.write(head)
        for _ in range(size // len(block)):
            handle.write(block)
        handle.write(tail)


@pytest.mark.parametrize("head, fill, size", [
    (b"a\n", b"x", 100 << 20),  # one 100 MB field
    (b'a\n"', b"xy\r\n", 100 << 20),  # one 100 MB quoted field of many lines, never closed
    (b"", b",", 50 << 20),  # a 50 MB header of commas
])
def test_huge_records_are_refused_in_bounded_memory(tmp_path, head, fill, size):
    path = tmp_path / "huge.csv"
    _write(path, head, fill, size, b"\n1\n")
    result = _probe(path, chunk_bytes=1 << 20, max_record_bytes=2 << 20)
    assert result["kinds"] == ["record_too_long"]
    assert result["grew_mb"] < 0.4 * (size >> 20) and result["seconds"] < 5, result
    # bounded time, checked by what it depends on rather than by the clock alone: the scan stops soon
    # after the record passes its limit (2 MB), instead of reading the whole file
    assert result["read_mb"] < 0.1 * (size >> 20), result


# ----------------------------------------------------------------------------- the real data


def test_real_file_matches_pandas(real_data_path):
    header, table = scan_all(real_data_path)
    expected = pd.read_csv(real_data_path, dtype=str, keep_default_na=False)
    assert header == list(expected.columns)
    assert table.num_rows == len(expected) == 25317
    assert table.column("__line").to_pylist() == list(range(2, 25319))
    assert table.column("__row").to_pylist() == list(range(1, 25318))
    for k, name in enumerate(header):
        assert table.column(f"f{k}").to_pylist() == expected[name].tolist(), name
    scanner = CsvScan(real_data_path, chunk_bytes=1 << 16)
    assert sum(b.num_rows for b in scanner.batches()) == 25317
    assert (scanner.n_rows, scanner.n_lines) == (25317, 25318)
