"""The package's one definition of a CSV file: a vectorized tokenizer from bytes to Arrow string batches.

Every CSV file the package reads is tokenized once, here, into ``pyarrow.RecordBatch`` es of strings;
the engines (in memory, DuckDB, Spark) only ever see those batches, or a Parquet file written from
them, so they cannot disagree about what a file holds or on which line a record starts.

Why hand-written: Python's :mod:`csv` module runs at a few tens of MB/s and builds a Python object
per field (too slow for 10^8 rows), gives no per-record start line, and accepts a stray quote in an
unquoted field silently; other readers differ from each other on malformed files. This module works
on windows of a few MiB with numpy: the positions of the commas, line breaks and quotes; which of
them are inside quotes (quote parity by a running count, with an exact rule on runs of quotes where
parity alone would be wrong, see ``_Window.structure``); field start/end offsets by index arithmetic.
The values are never copied one by one in Python: a string array over the window's bytes is made
with ``pa.Array.from_buffers`` from the field offsets, and ``take`` gathers each column from it (the
quotes of a quoted field are outside its offsets; ``""`` escapes are replaced afterwards).

What a CSV file is (everything else is refused with :class:`CsvFormatError`):

* **Input**: a path to a regular file, read in binary chunks of ``chunk_bytes`` (default 64 MiB), or
  a ``bytes`` object. A UTF-8 byte-order mark (EF BB BF) at the very start is skipped.
* **Encoding**: the bytes must be valid UTF-8 (checked with ``codecs.utf_8_decode(..., 'strict',
  final)`` chunk by chunk, an incomplete trailing sequence carried to the next chunk). The first
  invalid byte is problem ``"encoding"`` with its physical line and its byte offset in the file (BOM
  included in the offset); nothing after it is tokenized.
* **NUL**: a NUL byte anywhere in a tokenized record is problem ``"nul"`` (the line of the first one,
  and how many lines hold one).
* **Line breaks**: ``\\r\\n``, ``\\n`` and a lone ``\\r`` are each one physical line break; any mixture
  is accepted (``\\r\\r\\n`` is two breaks). Physical line numbers are 1-based and count every line
  break of the file, including those inside quoted fields and blank lines.
* **Records** are separated by line breaks outside quoted fields; the last record may lack a line
  break. A record whose bytes are empty or only spaces/tabs is a *blank line*: it is skipped (not a
  data row) but its lines are counted.
* **Fields** are separated by ``,`` outside quoted fields. A field is *quoted* when its first byte
  that is not a space or tab is ``"``. Inside it, ``""`` is one literal quote, so it ends at the end
  of the first run of consecutive quotes of odd length after the opening quote (counting the quotes
  that follow the opening quote in its own run: ``""`` is the empty value, four quotes are ``"``); only
  spaces/tabs may follow the closing quote before the separator. Its value is the text between the
  quotes with ``""`` -> ``"`` (spaces inside the quotes kept, spaces outside them dropped). The value
  of an unquoted field is its bytes unchanged (no trimming here: the caller trims).
* **Quote errors** (problem ``"quote"``, reported at the line where the field starts): a quote inside
  an unquoted field (``ab"c``), text after a closing quote (``"ab"c``), a lone quote inside a quoted
  field (``"a"b"``: the field closes after ``a``, and ``b"`` is text after it). Such a quote never
  opens a quoted field, so the error stays inside its own field: the next separator after it (or,
  after a closing quote, the next one after the closing quote) ends the field and scanning goes on.
  A quote opened and never closed before the end of the file is problem ``"unclosed_quote"`` at the
  line where that field starts.
* **Header**: the first non-blank record; its field values (unquoted as above, not trimmed) are the
  column names. Every data record must have as many fields as the header, else problem
  ``"field_count"`` (per record its start line and its field count).
* **Limits**: a field longer than ``max_field_bytes`` (default 100,000; the length of the field as
  written, quotes and surrounding spaces included) is ``"field_too_long"`` (line, field number,
  length); a record with no terminator within ``max_record_bytes`` (default 16 MiB; the record's bytes
  up to its line break, or to the end of the file) is ``"record_too_long"`` at its start line, found
  without holding more than about that much of it in memory; a header of more than ``max_columns``
  (default 10,000) fields is ``"too_many_columns"``, counted from the header's bytes. Memory stays
  within a small multiple of ``chunk_bytes + max_record_bytes`` whatever the input.
* **Empty**: a file that is empty or holds only blank lines is ``"empty"``; a header followed by no
  data record is ``"no_rows"``.

Errors: every problem of every kind is collected over the whole file where it is cheap to go on
(``field_count``, ``quote``, ``field_too_long``, ``nul``), with total counts and the first five
line numbers of each kind; ``encoding``, ``unclosed_quote`` and ``record_too_long`` stop the scan
(the rest of the file cannot be tokenized): the records complete before them are checked, the record
they are in is not. One :class:`CsvFormatError` is raised at the end, holding one
:class:`CsvProblem` per kind (in the order of ``KINDS``). A problem in the header is raised at once,
by the constructor, alone. The problems found do not depend on the chunk size (nor on the internal
window size).

Output: ``CsvScan(...).batches()`` yields record batches with columns ``f0`` .. ``f{n-1}`` (strings,
never null), ``__line`` (int64: the physical line where the record starts) and ``__row`` (int64: the
1-based ordinal of the data record, blank lines not counted). A record with any problem is counted
in ``__row`` but not yielded (the scan raises at the end anyway). A batch holds ``batch_rows`` rows,
fewer for the last one and when its values reach about ``max(chunk_bytes, 1 MiB)`` bytes.

A path that is not a regular file raises ``ValueError``; an error of the operating system (a missing
file, no permission) propagates as ``OSError``. Any bytes whatsoever give batches or
:class:`CsvFormatError`, nothing else.
"""
from __future__ import annotations

import codecs
import os
import stat
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["CsvFormatError", "CsvProblem", "CsvScan", "scan_all"]

_BOM = b"\xef\xbb\xbf"
_FIRST = 5  # line numbers and examples kept per kind of problem
_WINDOW = 4 << 20  # bytes tokenized at once (grows for a longer record, up to max_record_bytes)
_THREAD_FIELDS = 1 << 16  # values gathered in a second thread from a window with at least this many
_HEADER_READ = 1 << 16  # first reads are small, so that reading the header is cheap
_MAX_CHUNK = 1 << 30  # chunk_bytes and max_record_bytes above this would overflow int32 offsets
#: order of the kinds in an error, and the kinds that stop the scan
KINDS = ("empty", "encoding", "too_many_columns", "record_too_long", "unclosed_quote", "nul", "quote",
         "field_too_long", "field_count", "no_rows")
FATAL = frozenset({"encoding", "unclosed_quote", "record_too_long"})


@dataclass(frozen=True)
class CsvProblem:
    """One kind of problem in a CSV file: how often it occurs, its first lines, and what it is."""

    kind: str
    count: int
    lines: tuple[int, ...]
    detail: str


class CsvFormatError(ValueError):
    """The bytes are not a CSV file as this module defines it; ``problems`` says why (one per kind)."""

    def __init__(self, problems):
        self.problems = tuple(problems)
        super().__init__("; ".join(f"{p.kind}: {p.detail}" for p in self.problems) or "not a CSV file")

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(p.kind for p in self.problems)


# ----------------------------------------------------------------------------- problems


class _Problems:
    """Counts, first lines and first examples of each kind of problem, in the order found."""

    def __init__(self, max_field: int, max_record: int, max_columns: int):
        self.limits = {"field_too_long": max_field, "record_too_long": max_record, "too_many_columns": max_columns}
        self.ncols = None
        self._kinds: dict[str, list] = {}

    def __bool__(self):
        return bool(self._kinds)

    def wanted(self, kind: str) -> int:
        """How many more examples of ``kind`` are kept."""
        entry = self._kinds.get(kind)
        return _FIRST - (len(entry[2]) if entry else 0)

    def add(self, kind: str, count: int, lines=(), examples=()) -> None:
        entry = self._kinds.setdefault(kind, [0, [], []])
        entry[0] += int(count)
        lines = _distinct(np.asarray(lines, np.int64).ravel())[:_FIRST]  # lines come in order
        for line in lines:
            if len(entry[1]) >= _FIRST:
                break
            if int(line) not in entry[1]:
                entry[1].append(int(line))
        entry[2].extend(list(examples)[: _FIRST - len(entry[2])])

    def result(self) -> list[CsvProblem]:
        out = [CsvProblem(kind, count, tuple(lines), self._detail(kind, count, lines, examples))
               for kind, (count, lines, examples) in self._kinds.items()]
        return sorted(out, key=lambda p: KINDS.index(p.kind))

    def _detail(self, kind, count, lines, examples) -> str:
        more = count > len(examples)
        listed = "; ".join(examples) + ("; ..." if more else "")
        if kind == "field_count":
            if count == 1:
                return f"{examples[0]}; the header has {self.ncols}"
            return f"{count:,} records do not have the header's {self.ncols} fields: {listed}"
        if kind == "quote":
            what = ("a quote inside an unquoted value, text after a closing quote, or a lone quote inside "
                    "a quoted value")
            verb = "misuses" if count == 1 else "misuse"
            return f"{_plural(count, 'field')} {verb} the double quote ({what}): {listed}"
        if kind == "field_too_long":
            limit = self.limits[kind]
            verb = "is" if count == 1 else "are"
            return f"{_plural(count, 'field')} {verb} longer than max_field_bytes={limit:,} bytes: {listed}"
        if kind == "nul":
            return (f"{count:,} line{'s' * (count != 1)} contain{'s' * (count == 1)} a NUL byte (first on line "
                    f"{lines[0]}): this is not UTF-8 CSV text (a binary, compressed or UTF-16 file?)")
        return examples[0] if examples else kind


def _distinct(sorted_values: np.ndarray) -> np.ndarray:
    """The distinct values of a sorted array."""
    if sorted_values.size < 2:
        return sorted_values
    return sorted_values[np.append(True, sorted_values[1:] != sorted_values[:-1])]


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'s' * (n != 1)}"


# ----------------------------------------------------------------------------- input


class _Source:
    """The bytes of a file or of a ``bytes`` object, BOM skipped, checked as UTF-8 as they are read."""

    def __init__(self, source):
        self._file = None
        if isinstance(source, (bytes, bytearray, memoryview)):
            self._mem = bytes(source)
        else:
            path = os.fspath(source)
            info = os.stat(path)
            if not stat.S_ISREG(info.st_mode):
                raise ValueError(f"{path!s} is not a regular file")
            self._file = open(path, "rb")  # noqa: SIM115 (closed by close())
        self._at = 0  # offset in the file of the next byte to read
        self._pending = b""  # an incomplete UTF-8 sequence at the end of what was read
        self.eof = False
        self.last = None  # the last byte of the file read so far
        head = bytearray(3)
        got = self._raw_into(memoryview(head))
        self.bom = 3 if head == _BOM else 0
        self._head = b"" if self.bom else bytes(head[:got])
        self.eof = False  # a short file is found out by the next read

    def _raw_into(self, view: memoryview) -> int:
        """Fill ``view`` with the next bytes; their number (fewer only at the end of the file)."""
        if self._file is None:
            got = max(0, min(len(view), len(self._mem) - self._at))
            view[:got] = memoryview(self._mem)[self._at:self._at + got]
        else:
            got = 0
            while got < len(view):
                k = self._file.readinto(view[got:])
                if not k:
                    break
                got += k
        self._at += got
        if got < len(view):
            self.eof = True
        return got

    def read(self, n: int, prefix: bytes = b"") -> tuple[bytearray, int | None]:
        """``prefix`` followed by about ``n`` more bytes, in one new buffer, and the file offset of the
        first invalid UTF-8 byte among the new ones (or None).

        An incomplete UTF-8 sequence at the end is held back until the next read completes it, so the
        bytes returned are valid up to the invalid byte, if any.
        """
        head, pending, self._head = self._head, self._pending, b""
        want = 0 if self.eof else max(n - len(head), 1)
        start = len(prefix)
        buf = bytearray(start + len(pending) + len(head) + want)
        buf[:start] = prefix
        buf[start:start + len(pending)] = pending
        raw = start + len(pending)
        buf[raw:raw + len(head)] = head
        with memoryview(buf) as view:
            got = self._raw_into(view[raw + len(head):]) if want else 0
        del buf[raw + len(head) + got:]
        if len(buf) > raw:
            self.last = buf[-1]
        bad = self._check(buf, start, self._at - (len(buf) - start))
        if self._pending:
            del buf[len(buf) - len(self._pending):]
        return buf, bad

    def _check(self, buf: bytearray, start: int, offset: int) -> int | None:
        """File offset of the first invalid byte of ``buf[start:]`` (at file offset ``offset``); sets
        ``_pending`` to an incomplete sequence at its end."""
        self._pending = b""
        if buf.isascii():
            return None
        size = len(buf)
        with memoryview(buf) as view:
            i = start
            while i < size:
                j = min(i + (1 << 22), size)
                try:
                    _, used = codecs.utf_8_decode(view[i:j], "strict", self.eof and j == size)
                except UnicodeDecodeError as err:
                    return offset + i - start + err.start
                if j == size:
                    self._pending = bytes(view[i + used:j])
                    break
                i += used
        return None

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def _count_breaks(data: bytes) -> int:
    """Physical line breaks in ``data`` (a ``\\r`` at its end counts: it is not followed by ``\\n``)."""
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


# ----------------------------------------------------------------------------- one window


_EMPTY = np.zeros(0, np.int64)


class _Window:
    """The separators, quotes and fields of ``buf[pos:pos + n]``, which starts at a record boundary.

    Separators (commas and line breaks, in quotes or not) are indexed ``0..nsep-2``; one more, virtual,
    separator at ``n`` ends the last field at the end of the file (``final``). Fields are given by the
    indices of the separators that end them (``term``); a field starts after the separator that ends
    the previous one. Everything is computed on the positions of the special bytes with numpy; a window
    without quotes skips the quote analysis (:meth:`structure`).
    """

    def __init__(self, buf: bytes, pos: int, n: int, final: bool):
        v = np.frombuffer(buf, np.uint8, n, pos)
        self.buf, self.pos, self.v, self.n, self.final = buf, pos, v, n, final
        end = pos + n
        has_cr = buf.find(b"\r", pos, end) >= 0
        has_quote = buf.find(b'"', pos, end) >= 0
        # positions are int32 (a window is far below 2 GiB): half the memory of int64
        sep = v == 44
        if not has_cr:
            sep |= v == 10
        else:
            cr = v == 13
            sep |= cr
            lf = v == 10
            np.greater(lf[1:], cr[:-1], out=lf[1:])  # the \n of \r\n belongs to the break at the \r
            del cr
            if lf.any():
                sep |= lf
            del lf
        found = np.flatnonzero(sep)
        del sep
        self.sep_pos = np.empty(found.size + 1, np.int32)
        self.sep_pos[:-1] = found
        self.sep_pos[-1] = n
        del found
        if has_quote:
            quote = v == 34
            self.Qp = np.flatnonzero(quote).astype(np.int32)
            if self.Qp.size * 16 < self.sep_pos.size:  # few quotes: a binary search is cheap
                del quote
                self.qb = np.searchsorted(self.Qp, self.sep_pos).astype(np.int32)
            else:  # many: a running count (a separator at 0 has no quote before it, and v[0] is not one)
                count = np.cumsum(quote, dtype=np.int32)
                del quote
                self.qb = count[np.maximum(self.sep_pos - 1, 0)]
                del count
        else:
            self.Qp, self.qb = _EMPTY, None
        sp = self.sep_pos[:-1]
        kind = v[sp]
        self.sep_lb = np.empty(sp.size + 1, bool)
        np.not_equal(kind, 44, out=self.sep_lb[:-1])
        self.sep_lb[-1] = final
        self.sep_len = np.ones(sp.size + 1, np.uint8)  # 2 for \r\n, 0 for the virtual separator
        if has_cr:
            c = np.flatnonzero(kind == 13)
            after = sp[c] + 1
            self.sep_len[c[(after < n) & (v[np.minimum(after, n - 1)] == 10)]] = 2
        self.sep_len[-1] = 0
        del kind
        self.nsep = self.sep_pos.size
        self.NULp = np.flatnonzero(v == 0) if buf.find(b"\x00", pos, end) >= 0 else _EMPTY
        self._Wp = self._lbc = self._lb_pos = None

    # -- helpers

    @property
    def Wp(self):
        """Positions of the spaces and tabs."""
        if self._Wp is None:
            self._Wp = np.flatnonzero((self.v == 32) | (self.v == 9))
        return self._Wp

    @property
    def lb_pos(self):
        """Positions of every physical line break (by its first byte), in quotes or not."""
        if self._lb_pos is None:
            self._lb_pos = self.sep_pos[:-1][self.sep_lb[:-1]]
        return self._lb_pos

    @property
    def lbc(self):
        """Line breaks among separators ``0..i-1``, for i in ``0..nsep``."""
        if self._lbc is None:
            self._lbc = np.zeros(self.nsep + 1, np.int64)
            np.cumsum(self.sep_lb[:-1], out=self._lbc[1:-1])
            self._lbc[-1] = self._lbc[-2]
        return self._lbc

    def ws_count(self, a, b):
        """Spaces and tabs in ``[a, b)``."""
        Wp = self.Wp
        return np.searchsorted(Wp, b) - np.searchsorted(Wp, a)

    def lines_before(self, x) -> int:
        """Physical line breaks before position ``x``."""
        return int(np.searchsorted(self.lb_pos, x))

    def fields(self, term):
        """Start, end, first and end quote index, and malformed flag of the fields ended by ``term``
        (``term`` None: every separator, in a window without quotes)."""
        if term is None:
            k = self.nsep if self.final else self.nsep - 1
            en = self.sep_pos[:k]
            st = np.empty_like(en)
            st[:1] = 0
            np.add(en[:-1], self.sep_len[:k - 1], out=st[1:])
            zero = np.zeros(k, np.int64)
            return st, en, zero, zero, np.zeros(k, bool)
        en = self.sep_pos[term]
        st = np.empty_like(en)
        st[:1] = 0
        st[1:] = en[:-1] + self.sep_len[term[:-1]]
        if self.qb is None:
            zero = np.zeros(term.size, np.int64)
            return st, en, zero, zero, np.zeros(term.size, bool)
        qe = self.qb[term]
        qs = np.empty_like(qe)
        qs[:1] = 0
        qs[1:] = qe[:-1]
        return st, en, qs, qe, self.bad_fields(st, en, qs, qe)

    def bad_fields(self, st, en, qs, qe):
        """Fields holding quotes that are not one well-formed quoted field (spaces/tabs around it)."""
        bad = np.zeros(st.size, bool)
        has = np.flatnonzero(qe != qs)
        if not has.size:
            return bad
        if has.size == st.size:  # every field holds quotes
            s, e, a0, k = st, en, qs, qe - qs
        else:
            s, e, a0, k = st[has], en[has], qs[has], (qe - qs)[has]
        Qp = self.Qp
        q1, ql = Qp[a0], Qp[a0 + k - 1]
        ok = (k & 1) == 0
        g = np.flatnonzero(q1 > s)
        if g.size:  # only spaces/tabs before the opening quote
            ok[g] &= self.ws_count(s[g], q1[g]) == (q1 - s)[g]
        g = np.flatnonzero(ql + 1 < e)
        if g.size:  # only spaces/tabs after the closing quote
            ok[g] &= self.ws_count(ql[g] + 1, e[g]) == (e - ql - 1)[g]
        m = np.where(ok, (k - 2) // 2, 0)  # the quotes between must pair up: "" "" ...
        total = int(m.sum())
        if total:
            f = np.flatnonzero(m)
            mf = m[f]
            rep = np.repeat(f, mf)
            first = np.repeat(np.cumsum(mf) - mf, mf)
            gi = a0[rep] + 1 + 2 * (np.arange(total) - first)
            broken = Qp[gi + 1] != Qp[gi] + 1
            if broken.any():
                ok[rep[broken]] = False
        bad[has] = ~ok
        return bad

    def structure(self):
        """The separators that end fields (None: every separator, in a window without quotes), the
        position of a quoted field still open at the end of a final window (or None), and the fields.

        Fast path: with quote parity (a separator is inside quotes when an odd number of quotes comes
        before it) the structure is exact if every field so found is well formed and the rule below
        finds no field end in the incomplete rest of the window. Otherwise the rule decides everywhere.
        """
        if self.qb is None:
            return None, None, self.fields(None)
        qb, last = self.qb, self.nsep - 1
        term = np.flatnonzero((qb[:-1] & 1) == 0)
        even = not qb[-1] & 1
        if self.final and even:
            term = np.append(term, last)
        if even or not self.final:
            fields = self.fields(term)
            if not fields[4].any():
                if self.final:
                    return term, None, fields
                rest = int(term[-1]) + 1 if term.size else 0  # the separators of the incomplete rest
                if rest == last or self._inside(rest)[0][:-1].all():
                    return term, None, fields
        inside, opener = self._inside(0)
        term = np.flatnonzero(~inside[:-1])
        unclosed = None
        if self.final:
            if inside[-1]:  # the last opener is never closed
                unclosed = opener
            else:
                term = np.append(term, last)
        return term, unclosed, self.fields(term)

    def _inside(self, s0: int):
        """Whether each separator ``s0..nsep-1`` is inside quotes, when a field starts right after
        separator ``s0 - 1`` (or at 0); and the position of the last opening quote.

        Which quotes open a quoted field is decided on the runs of consecutive quotes. An even run
        never changes the state (inside a quoted field it is escaped quotes; outside, an empty quoted
        field such as ``""`` or text). An odd run inside a quoted field closes it; outside, it opens one
        only if it can start a field (the byte before it, spaces and tabs skipped, is a comma, a line
        break or the start of the window), else it is text. So among the odd runs, the openers are the
        first, third, ... of each stretch of consecutive runs that can start a field, and a separator
        is inside quotes when the last odd run before it is an opener.
        """
        q0 = int(self.qb[s0 - 1]) if s0 else 0
        Qp, v, nsep = self.Qp[q0:], self.v, self.nsep - s0
        if not Qp.size:
            return np.zeros(nsep, bool), None
        first = np.append(0, np.flatnonzero(np.diff(Qp) != 1) + 1)  # first quote of each run
        length = np.diff(np.append(first, Qp.size))
        start = Qp[first]
        before = start - 1
        prev = np.where(before >= 0, v[np.maximum(before, 0)], 10)  # the start of the window is a line break
        spaced = np.flatnonzero((prev == 32) | (prev == 9))
        if spaced.size:  # skip the spaces and tabs before the run
            Wp = self.Wp
            key = Wp - np.arange(Wp.size)  # constant along consecutive spaces
            gap = Wp[np.searchsorted(key, key[np.searchsorted(Wp, before[spaced])])] - 1
            prev[spaced] = np.where(gap >= 0, v[np.maximum(gap, 0)], 10)
        can_open = (prev == 44) | (prev == 10) | (prev == 13)
        odd = np.flatnonzero(length & 1)
        if not odd.size:  # only even runs: no separator is inside quotes
            return np.zeros(nsep, bool), None
        can = can_open[odd]
        k = np.arange(odd.size)
        stretch = np.maximum.accumulate(np.where(can & ~np.append(False, can[:-1]), k, -1))
        opener = can & (((k - stretch) & 1) == 0)
        # inside quotes after each run: after the last odd run up to it
        odd_so_far = np.cumsum(length & 1)
        inside_after = np.zeros(length.size + 1, bool)
        inside_after[1:] = np.where(odd_so_far > 0, opener[np.maximum(odd_so_far - 1, 0)], False)
        if length.size * 16 < nsep:  # few runs: count the runs before each separator
            inside = inside_after[np.searchsorted(start, self.sep_pos[s0:])]
        else:  # the run of the last quote before each separator (0: no quote before it)
            qb = self.qb[s0:] - q0
            run_of = np.repeat(np.arange(1, length.size + 1), length)
            inside = inside_after[np.where(qb > 0, run_of[np.maximum(qb - 1, 0)], 0)]
        return inside, int(start[odd[-1]])

    # -- values

    def strings(self, st, en, qs, qe, bad):
        """All the fields as one string array over the window's bytes, field k being element 2k (the
        elements between are the separators): a well-formed quoted field without its quotes and the
        spaces around them. Also a mask of the fields whose value holds ``""`` escapes (or None)."""
        nf = st.size
        vs, ve, esc = st, en, None
        if self.qb is not None:
            quoted = np.flatnonzero((qe > qs) & ~bad)
            if quoted.size == nf:  # every field quoted
                vs, ve = self.Qp[qs] + 1, self.Qp[qe - 1]
                esc = qe - qs > 2
                if not esc.any():
                    esc = None
            elif quoted.size:
                vs, ve = st.copy(), en.copy()
                vs[quoted] = self.Qp[qs[quoted]] + 1
                ve[quoted] = self.Qp[qe[quoted] - 1]
                escaped = quoted[qe[quoted] - qs[quoted] > 2]
                if escaped.size:
                    esc = np.zeros(nf, bool)
                    esc[escaped] = True
        offsets = np.empty(2 * nf, np.int32)
        offsets[0::2] = vs
        offsets[1::2] = ve
        data = pa.py_buffer(memoryview(self.buf)[self.pos:self.pos + self.n])
        return pa.Array.from_buffers(pa.string(), 2 * nf - 1, [None, pa.py_buffer(offsets), data]), esc

    def snippet(self, a, b) -> str:
        raw = bytes(self.v[a:min(b, a + 40)]).decode("utf-8", "replace")
        return repr(raw + ("..." if b - a > 40 else ""))


def _take(strings, esc, fields) -> pa.Array:
    """The values of ``fields`` (indices of well-formed fields), in that order, as a new string array."""
    out = strings.take(pa.array(fields * 2))
    if esc is not None:
        mask = esc[fields]
        if mask.any():
            out = pc.if_else(pa.array(mask), pc.replace_substring(out, '""', '"'), out)
    return out


# ----------------------------------------------------------------------------- the scanner


class _Piece:
    """The good records of one window: ``values`` column by column (column j is rows ``j*m .. j*m+m-1``),
    a string array or the future of one; ``nbytes`` estimates its size."""

    __slots__ = ("_values", "m", "lines", "rows", "r0", "_nbytes")

    def __init__(self, values, m, lines, rows, nbytes):
        self._values, self.m, self.lines, self.rows, self.r0, self._nbytes = values, m, lines, rows, 0, nbytes

    @property
    def nbytes(self) -> int:
        """About the bytes of the rows not yet in a batch."""
        return self._nbytes * (self.m - self.r0) // max(self.m, 1)

    @property
    def values(self) -> pa.Array:
        if isinstance(self._values, Future):
            self._values = self._values.result()
        return self._values


class CsvScan:
    """Tokenize a CSV file (a path or ``bytes``); see the module docstring for what is accepted.

    ``header`` is read on construction (a bad header raises :class:`CsvFormatError` there);
    ``batches()`` yields the data records and raises :class:`CsvFormatError` after the last batch if
    any problem was found; ``n_rows`` (data records, blank lines not counted) and ``n_lines``
    (physical lines) are set when ``batches()`` is exhausted (after a stopping problem: what was
    scanned before it).
    """

    def __init__(self, source, chunk_bytes: int = 64 << 20, max_field_bytes: int = 100_000,
                 max_record_bytes: int = 16 << 20, max_columns: int = 10_000, batch_rows: int = 1_000_000):
        for name, value in (("chunk_bytes", chunk_bytes), ("max_field_bytes", max_field_bytes),
                            ("max_record_bytes", max_record_bytes), ("max_columns", max_columns),
                            ("batch_rows", batch_rows)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, not {value!r}")
        if chunk_bytes > _MAX_CHUNK or max_record_bytes > _MAX_CHUNK:
            raise ValueError(f"chunk_bytes and max_record_bytes must be at most {_MAX_CHUNK:,}")
        self._chunk, self._max_field, self._max_record = int(chunk_bytes), int(max_field_bytes), int(max_record_bytes)
        self._max_columns, self._batch_rows = int(max_columns), int(batch_rows)
        self._batch_bytes = max(self._chunk, 1 << 20)
        self._problems = _Problems(self._max_field, self._max_record, self._max_columns)
        self.header: list[str] | None = None
        self.n_rows: int | None = None
        self.n_lines: int | None = None
        self._ncols = None
        self._header_line = None
        self._header_bad = False
        self._stop = False
        self._lines = 0  # line breaks consumed so far
        self._rows = 0  # data records so far
        self._started = False
        self._pool = None
        self._src = _Source(source)
        self._abs = self._src.bom  # file offset of the first byte not consumed
        self._gen = self._run()
        self._early = []
        try:
            while self._ncols is None and not self._stop:
                piece = next(self._gen)
                if piece is not None:
                    self._early.append(piece)
        except StopIteration:
            pass
        if self._ncols is None or self._header_bad:
            self._close()
            if not self._problems:
                self._problems.add("empty", 1, (), ["the file has no header: it is empty or holds only blank lines"])
            raise CsvFormatError(self._problems.result())
        self.schema = pa.schema([pa.field(f"f{k}", pa.string(), nullable=False) for k in range(self._ncols)]
                                + [pa.field("__line", pa.int64(), nullable=False),
                                   pa.field("__row", pa.int64(), nullable=False)])

    # -- reading

    def _run(self):
        """Read, tokenize window by window; yields a _Piece (or None) after each window."""
        src, carry = self._src, b""
        read_size = min(self._chunk, _HEADER_READ)
        while True:
            buf, bad_at = src.read(read_size, carry)
            bad_byte = None
            if bad_at is not None:
                bad_byte = buf[bad_at - self._abs]
                del buf[bad_at - self._abs:]
            final = src.eof and bad_at is None
            pos, progress = 0, False
            while pos < len(buf):
                width = _WINDOW
                while True:
                    end = min(pos + width, len(buf))
                    is_final = final and end == len(buf)
                    # before an invalid byte, a \r at the end is a whole line break (the next byte is not \n)
                    cut = bad_at is not None and end == len(buf)
                    consumed, size, piece = self._window(buf, pos, end, is_final, cut)
                    if consumed or is_final or self._stop:
                        break
                    if size > self._max_record:
                        self._too_long(self._lines + 1)
                        break
                    if end == len(buf):
                        break
                    width = min(width * 2, self._max_record + 2)
                pos += consumed
                self._abs += consumed
                progress = progress or consumed > 0
                yield piece
                if self._stop:
                    return
                if not consumed:
                    break
            carry = bytes(buf[pos:])
            if bad_at is not None:
                line = self._lines + 1 + _count_breaks(carry)
                self._problems.add("encoding", 1, (line,), [
                    f"the file is not valid UTF-8: byte 0x{bad_byte:02x} at offset {bad_at:,} (line {line}) "
                    "cannot be decoded; the file was not read further (save it as UTF-8)"])
                self._stop = True
                return
            if final:
                return
            size = self._chunk if self._ncols is not None else min(self._chunk, _HEADER_READ)
            # no complete record in the buffer: read as much again, but not past max_record_bytes
            read_size = size if progress else max(size, min(len(carry), self._max_record + 2 - len(carry)))

    def _too_long(self, line: int) -> None:
        self._problems.add("record_too_long", 1, (line,), [
            f"the record that starts on line {line} has no line break within max_record_bytes="
            f"{self._max_record:,} bytes (a quote opened and never closed?); the file was not read further"])
        self._stop = True

    def _window(self, buf: bytes, pos: int, end: int, final: bool, cut: bool = False):
        """Tokenize the complete records of ``buf[pos:end]``: (bytes consumed, bytes looked at, piece)."""
        n = end - pos
        if not final and not cut and n and buf[end - 1] == 13:
            n -= 1  # a \r at the end may be the first byte of \r\n
        if n == 0 or (not final and buf.find(b"\n", pos, pos + n) < 0 and buf.find(b"\r", pos, pos + n) < 0):
            return 0, n, None
        win = _Window(buf, pos, n, final)
        term, unclosed, (st, en, qs, qe, bad) = win.structure()
        rec_last = np.flatnonzero(win.sep_lb[:st.size] if term is None else win.sep_lb[term])
        line0 = self._lines + 1
        nrec, fatal = rec_last.size, None
        rec_first = _EMPTY
        if nrec:
            rec_first = np.append(0, rec_last[:-1] + 1)
            too = np.flatnonzero(en[rec_last] - st[rec_first] > self._max_record)
            if too.size:
                nrec = int(too[0])
                fatal = ("record_too_long", line0 + win.lines_before(st[rec_first[nrec]]))
            rec_first, rec_last = rec_first[:nrec], rec_last[:nrec]
        consumed = int(en[rec_last[-1]] + win.sep_len[rec_last[-1] if term is None else term[rec_last[-1]]]) \
            if nrec else 0
        if unclosed is not None and fatal is None:
            if n - consumed > self._max_record:
                fatal = ("record_too_long", line0 + win.lines_before(consumed))
            else:
                fatal = ("unclosed_quote", line0 + win.lines_before(unclosed))
        piece = None
        if nrec:
            nfields = int(rec_last[-1]) + 1
            piece = self._records(win, term, st[:nfields], en[:nfields], qs[:nfields], qe[:nfields],
                                  bad[:nfields], rec_first, rec_last, line0)
        if fatal is not None and not self._header_bad:  # a bad header is reported alone
            if fatal[0] == "record_too_long":
                self._too_long(fatal[1])
            else:
                self._problems.add("unclosed_quote", 1, (fatal[1],), [
                    f"the quoted field that starts on line {fatal[1]} is never closed: the file ends inside it"])
                self._stop = True
        if nrec:  # line breaks consumed: those up to the last record's terminator
            last = int(rec_last[-1] if term is None else term[rec_last[-1]])
            self._lines += nrec - (last == win.nsep - 1) if win.qb is None else int(win.lbc[last + 1])
        return consumed, n, piece

    def _records(self, win, term, st, en, qs, qe, bad, rec_first, rec_last, line0):
        """Header, problems and good rows of the complete records of a window."""
        nrec = rec_first.size
        nf = rec_last - rec_first + 1

        def line_of_field(k):
            prev = np.maximum(k - 1, 0)
            return line0 + np.where(k > 0, win.lbc[(prev if term is None else term[prev]) + 1], 0)

        if win.qb is None:  # every line break ends a record
            rec_line = line0 + np.arange(nrec, dtype=np.int64)
        else:
            rec_line = line_of_field(rec_first)
        # blank lines: one field, no quote, only spaces/tabs
        blank = np.zeros(nrec, bool)
        one = np.flatnonzero(nf == 1)
        if one.size:
            f = rec_first[one]
            length = en[f] - st[f]
            is_blank = (length == 0) & (qe[f] == qs[f])
            g = np.flatnonzero(~is_blank & (qe[f] == qs[f]))
            if g.size:
                is_blank[g] = win.ws_count(st[f[g]], en[f[g]]) == length[g]
            blank[one] = is_blank
        nul = win.NULp[win.NULp < en[-1]] if win.NULp.size else win.NULp
        strings = esc = None
        problems = self._problems
        first_data = 0
        if self._ncols is None:
            nonblank = np.flatnonzero(~blank)
            if not nonblank.size:
                return None
            h = int(nonblank[0])
            strings, esc = win.strings(st, en, qs, qe, bad)
            if not self._header(win, h, st, en, bad, rec_first, rec_last, nf, rec_line, nul, line_of_field,
                                line0, strings, esc):
                return None
            first_data = h + 1
        data = np.flatnonzero(~blank[first_data:]) + first_data
        if not data.size:
            return None
        ncols = self._ncols
        rows = self._rows + 1 + np.arange(data.size, dtype=np.int64)
        self._rows += int(data.size)
        rec_bad = np.zeros(nrec, bool)
        is_data = np.zeros(nrec, bool)
        is_data[data] = True

        def owners(fields):  # the records of fields; only fields of data records are kept
            owner = np.searchsorted(rec_first, fields, side="right") - 1
            keep = is_data[owner]
            return fields[keep], owner[keep]

        wrong = data[nf[data] != ncols]
        if wrong.size:
            rec_bad[wrong] = True
            want = problems.wanted("field_count")
            problems.add("field_count", wrong.size, rec_line[wrong[:_FIRST]],
                         [f"line {rec_line[r]} has {_plural(int(nf[r]), 'field')}" for r in wrong[:want]])
        if win.qb is not None:
            qbad, owner = owners(np.flatnonzero(bad))
            if qbad.size:
                rec_bad[owner] = True
                lines = line_of_field(qbad)
                want = problems.wanted("quote")
                problems.add("quote", qbad.size, lines, [
                    f"line {lines[i]}, field {int(qbad[i] - rec_first[owner[i]]) + 1}: "
                    f"{win.snippet(st[qbad[i]], en[qbad[i]])}" for i in range(min(want, qbad.size))])
        # a field longer than max_field_bytes is in a record longer than that
        wide = data[en[rec_last[data]] - st[rec_first[data]] > self._max_field]
        long, owner = owners(np.flatnonzero((en - st) > self._max_field)) if wide.size else (_EMPTY, _EMPTY)
        if long.size:
            rec_bad[owner] = True
            lines = line_of_field(long)
            want = problems.wanted("field_too_long")
            problems.add("field_too_long", long.size, lines, [
                f"line {lines[i]}, field {int(long[i] - rec_first[owner[i]]) + 1} is "
                f"{int(en[long[i]] - st[long[i]]):,} bytes" for i in range(min(want, long.size))])
        if nul.size:
            owner = np.searchsorted(st[rec_first], nul, side="right") - 1
            keep = is_data[owner]
            if keep.any():
                rec_bad[owner[keep]] = True
                lines = _distinct(line0 + np.searchsorted(win.lb_pos, nul[keep]))
                problems.add("nul", lines.size, lines[:_FIRST])
        ok = ~rec_bad[data]
        good = data[ok]
        if not good.size:
            return None
        if strings is None:
            strings, esc = win.strings(st, en, qs, qe, bad)
        fields = np.add.outer(np.arange(ncols), rec_first[good]).ravel()  # column by column
        if fields.size < _THREAD_FIELDS:
            values = _take(strings, esc, fields)
        else:  # the gather runs in C++ without the GIL, beside the tokenizing of the next window
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="csvscan")
            values = self._pool.submit(_take, strings, esc, fields)
        return _Piece(values, good.size, rec_line[good], rows[ok], win.n)

    def _header(self, win, h, st, en, bad, rec_first, rec_last, nf, rec_line, nul, line_of_field, line0,
                strings, esc) -> bool:
        """Check the header record ``h``; set the column names, or record its problems and stop."""
        problems = self._problems
        line, k = int(rec_line[h]), int(nf[h])
        fields = np.arange(rec_first[h], rec_last[h] + 1)
        if k > self._max_columns:
            problems.add("too_many_columns", 1, (line,), [
                f"the header on line {line} has {k:,} fields; the limit is max_columns={self._max_columns:,}"])
        qbad = fields[bad[fields]]
        if qbad.size:
            lines = line_of_field(qbad)
            problems.add("quote", qbad.size, lines, [
                f"line {lines[i]}, field {int(qbad[i] - fields[0]) + 1} (header): "
                f"{win.snippet(st[qbad[i]], en[qbad[i]])}" for i in range(min(_FIRST, qbad.size))])
        long = fields[en[fields] - st[fields] > self._max_field]
        if long.size:
            lines = line_of_field(long)
            problems.add("field_too_long", long.size, lines, [
                f"line {lines[i]}, field {int(long[i] - fields[0]) + 1} (header) is "
                f"{int(en[long[i]] - st[long[i]]):,} bytes" for i in range(min(_FIRST, long.size))])
        hnul = nul[(nul >= st[fields[0]]) & (nul < en[fields[-1]])]
        if hnul.size:
            lines = _distinct(line0 + np.searchsorted(win.lb_pos, hnul))
            problems.add("nul", lines.size, lines[:_FIRST])
        if k > self._max_columns or qbad.size or long.size or hnul.size:
            self._header_bad = self._stop = True
            return False
        self.header = _take(strings, esc, fields).to_pylist()
        self._ncols, self._header_line = k, line
        problems.ncols = k
        return True

    # -- output

    def batches(self):
        """Record batches of the data records (see the module docstring); iterable once."""
        if self._started:
            raise RuntimeError("CsvScan.batches() can be iterated only once")
        self._started = True
        return self._batches()

    def _batches(self):
        early, self._early = self._early, []
        acc, acc_rows, acc_bytes = [], 0, 0
        try:
            for piece in _chain(early, self._gen):
                if piece is None:
                    continue
                acc.append(piece)
                acc_rows += piece.m
                acc_bytes += piece.nbytes
                if acc_rows >= self._batch_rows or acc_bytes >= self._batch_bytes:
                    yield from self._cut(acc, final=acc_bytes >= self._batch_bytes)
                    acc_rows = sum(p.m - p.r0 for p in acc)
                    acc_bytes = sum(p.nbytes for p in acc)
            if acc:
                yield from self._cut(acc, final=True)
        finally:
            self._close()
        self.n_rows = self._rows
        unterminated = not self._stop and self._abs > self._src.bom and self._src.last not in (10, 13)
        self.n_lines = self._lines + unterminated
        if not self._rows and not self._stop:
            self._problems.add("no_rows", 1, (self._header_line,), [
                f"the header (line {self._header_line}) is followed by no data rows"])
        if self._problems:
            raise CsvFormatError(self._problems.result())

    def close(self) -> None:
        """Close the file (done by ``batches()`` when it ends, and on a bad header)."""
        self._close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._close()

    def _close(self) -> None:
        self._src.close()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _cut(self, acc, final: bool):
        """Batches of ``batch_rows`` rows taken from the front of the pieces ``acc`` (all their rows if
        ``final``); what is left stays in ``acc``."""
        out = []
        while acc:
            total = sum(p.m - p.r0 for p in acc)
            if total < self._batch_rows and not final:
                break
            want, segments = min(total, self._batch_rows), []
            while want:
                p = acc[0]
                k = min(want, p.m - p.r0)
                segments.append((p, p.r0, k))
                p.r0 += k
                want -= k
                if p.r0 == p.m:
                    acc.pop(0)
            out.append(self._batch(segments))
        return out

    def _batch(self, segments) -> pa.RecordBatch:
        columns = []
        for j in range(self._ncols):
            parts = [p.values.slice(j * p.m + r0, k) for p, r0, k in segments]
            columns.append(parts[0] if len(parts) == 1 else pa.concat_arrays(parts))
        lines = np.concatenate([p.lines[r0:r0 + k] for p, r0, k in segments])
        rows = np.concatenate([p.rows[r0:r0 + k] for p, r0, k in segments])
        return pa.RecordBatch.from_arrays(columns + [pa.array(lines), pa.array(rows)], schema=self.schema)


def _chain(first, gen):
    yield from first
    yield from gen


def scan_all(source, **kw) -> tuple[list[str], pa.Table]:
    """``(header, table)`` of a whole CSV file (a path or ``bytes``); raises :class:`CsvFormatError`."""
    scan = CsvScan(source, **kw)
    batches = list(scan.batches())
    return scan.header, pa.Table.from_batches(batches, schema=scan.schema)
