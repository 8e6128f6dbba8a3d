"""Covariate patterns of the coupon data, computed out of core by SQL (DuckDB, or Spark).

Every predictor is discrete, so the data reduce exactly to *covariate patterns*: one row per
distinct combination of sample (train/test) and predictors, with the number of customers
(``trials``) and of coupon users (``events``). A binomial GLM on the patterns gives exactly the
maximum-likelihood estimates of the Logit on the rows, and the evaluation functions accept
``p, events, trials``. This module computes that table from a CSV or Parquet file of any size
without loading the rows into Python: the engine streams the file, spills to disk under a memory
limit, and only the pattern table comes back.

How validation fits in one pass
-------------------------------
*Level 1*, the only full pass that every file needs, parses the ID, computes its train/test
side with ``analysis.split.split_hash_sql`` and groups the rows by (sample, ID problems, the raw
text or value of every other column), counting rows. Every check of ``analysis.data`` except
uniqueness is a function of one cell, so *level 2* parses and validates the level-1 groups (a few
hundred thousand to a million) instead of the rows: it computes each column's value and one bit
per failed check (missing value, text in a numeric column, non-integer value, negative, age above
120, response outside {0, 1}, value other than yes/no), and groups into patterns keyed by
(sample, predictors, problem bits). A problem's row count is the sum of ``trials`` over the
patterns with its bit set. Both levels are one SQL statement.

Duplicate IDs: with DuckDB on Parquet, a scan of the ID column alone counts rows whose ID is
not above the one before (``lag(ID) OVER ()``, 1.3 s for 100M rows); zero proves the IDs unique
(every export and simulated file so far is in ID order) without a hash table over every ID;
otherwise a query groups by ID. On CSV (whose parsing dominates) and with Spark, level 1 has a
second grouping set, by ID, in the same pass, keeping only IDs seen more than once. Only when
something failed does one more pass fetch the first five file lines, IDs and distinct values of
each problem, so that the ``DataValidationError`` carries the same ``Problem``s as
``analysis.data.load_clean``.

Measured (2-core machine shared with other jobs, DuckDB, 2 threads, memory_limit 2GB): 100M
simulated rows of Parquet in 31 s wall (35 s CPU), peak RSS 0.9 GB; with IDs out of order
(hash on ID) 50 s, 2.3 GB; 10M rows of CSV in 19 s, 0.9 GB.

Line numbers: a line is the data row's position + 1 (header), as analysis.data counts them
(pandas skips blank and whitespace-only lines, and so do we): Parquet's ``file_row_number``,
``row_number() OVER ()`` on DuckDB's CSV reader (which keeps file order), and Spark's
``monotonically_increasing_id`` turned into a position by the row counts of the partitions.

Tested against (tests/test_aggregate.py): the pattern table and row accounting against a pandas
groupby of ``analysis.data.load_clean`` plus ``analysis.split.in_test_sample`` (real data, with
and without ``max_age``, test sizes 0 and 0.3; a simulated Parquet file); DuckDB against Spark
(tables and accounting identical); the ``Problem``s of every kind of bad file against those of
``load_clean``.
"""
from __future__ import annotations

import atexit
import codecs
import csv
import io
import json
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import schema
from .data import (_FIXES, MAX_EXAMPLES, MISSING_TOKENS, SIDECAR_SUFFIX, DataValidationError, Problem,
                   _file_problem, _header_problems, sha256_file)
from .patterns import compression_note
from .split import split_hash_sql

PREDICTORS = ("age", "job", "marriage", "default_yes", "returned_yes", "loan_yes",
              "coupon_used_in_last6_month", "coupon_used_in_last_month")
PATTERN_COLUMNS = ("sample", *PREDICTORS, "trials", "events")
ENGINES = ("duckdb", "spark")
SAMPLES = ("train", "test")
PARQUET_MAGIC = b"PAR1"
#: header block read by Python for the file-level checks (the rows are left to the engine)
HEAD_BYTES = 1 << 20
NUL_CHECK_BYTES = 65536  # as analysis.data.read_raw
#: a value nobody writes, given to the CSV readers as their NULL token so that an empty field
#: reads as '' and only a field that is absent from a short line reads as NULL
NO_NULL = "\x01no-null\x01"

# the parse checks of analysis.data.parse_values, and its messages (kept equal by the tests)
MISSING = ("missing value", "Fill in the missing values or remove those rows before running; "
           "rows are never dropped silently.")
TEXT = ("text in a numeric column", "Correct those cells to whole numbers.")
NON_INTEGER = ("non-integer value", "This column holds whole numbers; correct those cells.")
#: how pandas.to_numeric reads a number, as a regular expression (no backslashes: Spark SQL
#: string literals treat them as escapes); ``INT_SYNTAX`` is the whole-number subset
NUMBER_SYNTAX = "[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?"
INT_SYNTAX = "[+-]?[0-9]+"
#: numbers beyond int64 (and inf) are not usable counts: reported as text in a numeric column
INT64_BOUND = "9.2e18"
WHITESPACE_SQL = "' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)"


class EngineUnavailable(RuntimeError):
    """The chosen engine cannot run on this machine (e.g. Spark without a Java runtime)."""


@dataclass(frozen=True)
class PatternData:
    """Covariate-pattern table of one input file, with its row accounting and provenance.

    ``patterns``: columns ``PATTERN_COLUMNS``, one row per (sample, predictors), sorted by sample
    (train first) then every predictor, so that it is identical across engines and runs.
    ``accounting``: as ``analysis.data.apply_exclusions`` (step, rows_excluded, rows_remaining).
    ``n_rows``: rows used (the sum of ``trials``); ``n_patterns``: rows of ``patterns``.
    """

    patterns: pd.DataFrame
    accounting: pd.DataFrame
    source: dict
    n_rows: int
    n_patterns: int
    notes: tuple[str, ...] = ()
    engine: str = "duckdb"
    seed: int = 100
    test_size: float = 0.3
    max_age: int | None = None
    #: wall-clock seconds of each stage (inspect, scan, duplicates, hash, total)
    timings: dict = field(default_factory=dict)

    @property
    def simulated(self) -> bool:
        return bool(self.source.get("simulated"))

    @property
    def n_rows_read(self) -> int:
        return int(self.accounting["rows_remaining"].iloc[0])

    def sample(self, name: str) -> pd.DataFrame:
        """The patterns of one sample ('train' or 'test'), without the sample column."""
        rows = self.patterns[self.patterns["sample"] == name]
        return rows.drop(columns="sample").reset_index(drop=True)


# ----------------------------------------------------------------------------- the input file


@dataclass(frozen=True)
class _Input:
    path: Path
    format: str  # "csv" or "parquet"
    header: tuple[str, ...]
    #: per required column: "text", "int" or "float" (Parquet types; CSV is all text)
    kinds: dict
    notes: tuple[str, ...] = ()
    parquet_rows: int | None = None


def _inspect(path: Path) -> _Input:
    """File-level checks of ``analysis.data.read_raw`` on the head of the file; header and kinds."""
    if not path.exists():
        raise DataValidationError(path, [_file_problem("does not exist", "Check the path given with --data.")])
    if path.is_dir():
        raise DataValidationError(path, [_file_problem("is a directory, not a CSV file", "Give the path of the CSV file.")])
    with open(path, "rb") as handle:
        head = handle.read(HEAD_BYTES)
        whole = len(head) < HEAD_BYTES
        if not head.strip():
            # empty unless something other than whitespace follows (read on only in that case)
            for block in iter(lambda: handle.read(HEAD_BYTES), b""):
                if block.strip():
                    break
            else:
                raise DataValidationError(path, [_file_problem(
                    "is empty", "Export the data again; the file has no header and no rows.")])
    if head.startswith(PARQUET_MAGIC):
        return _inspect_parquet(path)
    if b"\x00" in head[:NUL_CHECK_BYTES]:
        raise DataValidationError(path, [_file_problem(
            "is not CSV text (it contains binary NUL bytes; is it a spreadsheet or a compressed file?)",
            "Save the data as comma-separated UTF-8 text (.csv).")])
    if not whole:  # decode whole lines only: a block may end inside a multi-byte character
        cut = head.rfind(b"\n")
        head = head[:cut + 1] if cut > 0 else head
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise _not_utf8(path, err.start) from None
    header = [h.strip() for h in next(csv.reader(io.StringIO(text)), [])]
    problems = _header_problems(header)
    if problems:
        raise DataValidationError(path, problems)
    return _Input(path, "csv", tuple(header), {c: "text" for c in schema.RAW_COLUMNS}, _extra_note(header))


def _inspect_parquet(path: Path) -> _Input:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(path)
        arrow_schema, rows = meta.schema.to_arrow_schema(), meta.num_rows
    except Exception as err:  # noqa: BLE001 - any reader error means the same thing to the user
        raise DataValidationError(path, [_file_problem(
            f"is not a readable Parquet file ({err})", "Write the file again, or export it as CSV.")]) from None
    header = list(arrow_schema.names)
    problems = _header_problems(header)
    if problems:
        raise DataValidationError(path, problems)
    if rows == 0:
        raise DataValidationError(path, [_file_problem(
            "has a header but no data rows", "Export the data again with its rows.")], n_rows=0)
    kinds = {}
    for name in schema.RAW_COLUMNS:
        kind = arrow_schema.field(name).type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        kinds[name] = ("int" if pa.types.is_integer(kind) else "float" if pa.types.is_floating(kind)
                       else "text")
    return _Input(path, "parquet", tuple(header), kinds, _extra_note(header), parquet_rows=rows)


def _extra_note(header) -> tuple[str, ...]:
    extra = [c for c in header if c not in schema.RAW_COLUMNS]
    return (f"Ignored {len(extra)} extra column(s) not used by the model: {', '.join(extra)}.",) if extra else ()


def _not_utf8(path, offset: int) -> DataValidationError:
    return DataValidationError(path, [_file_problem(
        f"is not UTF-8 text (undecodable byte at offset {offset})", "Save the file as UTF-8 CSV.")])


def _utf8_error_offset(path: Path) -> int | None:
    """Offset of the first byte that is not UTF-8, as ``bytes.decode('utf-8-sig')`` reports it
    (counted after a byte-order mark); read in blocks, for the files too large for memory."""
    base, pending, first = 0, b"", True
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 24), b""):
            data = pending + block
            if first:
                first = False
                data = data[len(codecs.BOM_UTF8):] if data.startswith(codecs.BOM_UTF8) else data
            try:
                _, used = codecs.utf_8_decode(data, "strict", False)
            except UnicodeDecodeError as err:
                return base + err.start
            base, pending = base + used, data[used:]
        try:
            codecs.utf_8_decode(pending, "strict", True)
        except UnicodeDecodeError as err:
            return base + err.start
    return None


# ----------------------------------------------------------------------------- SQL, shared


class _Dialect:
    """The few places where DuckDB and Spark SQL differ; everything else is shared text."""

    name = "duckdb"

    def ident(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def full_match(self, expr: str, pattern: str) -> str:
        return f"regexp_full_match({expr}, '{pattern}')"


class _SparkDialect(_Dialect):
    name = "spark"

    def ident(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def full_match(self, expr: str, pattern: str) -> str:
        return f"({expr} RLIKE '^({pattern})$')"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class _Check:
    column: str
    what: str
    fix: str
    show_values: bool
    bit: int


def _checks() -> list[_Check]:
    """Every check, in the order analysis.data reports them (schema column, then parse, domain)."""
    out: list[tuple] = []
    for column in schema.RAW_COLUMNS:
        if column in (schema.ID, *schema.COUNTS, schema.RAW_RESPONSE):
            out += [(column, *MISSING, False), (column, *TEXT, True), (column, *NON_INTEGER, True)]
            if column == "age":
                out += [(column, *_FIXES["negative"], True), (column, *_FIXES["above 120"], True)]
            elif column in schema.COUNTS:
                out += [(column, *_FIXES["negative"], True)]
            elif column == schema.RAW_RESPONSE:
                out += [(column, *_FIXES["not 0 or 1"], True)]
        else:
            out += [(column, *MISSING, False)]
            if column in schema.YES_NO:
                out += [(column, *_FIXES["not yes/no"], True)]
    return [_Check(*spec, bit=1 << i) for i, spec in enumerate(out)]


NUMERIC = (schema.ID, *schema.COUNTS, schema.RAW_RESPONSE)
CHECKS = _checks()
DUPLICATE = _Check(schema.ID, *_FIXES["field_uniqueness"], True, bit=0)


class _Sql:
    """SQL text of the passes, for one input file and one dialect."""

    def __init__(self, dialect: _Dialect, source: _Input, seed: int, test_size: float):
        self.d, self.source, self.seed, self.test_size = dialect, source, seed, test_size
        self.csv = source.format == "csv"

    def q(self, name: str) -> str:
        return self.d.ident(name)

    # -- per-column expressions, in four nested levels over a relation with the raw columns
    def level_a(self, column: str) -> list[str]:
        """Stripped text (``__t``) for text columns, the typed value (``__n``) otherwise."""
        c, kind = self.q(column), self.source.kinds[column]
        if kind == "text":
            return [f"TRIM(BOTH {WHITESPACE_SQL} FROM CAST({c} AS STRING)) AS {column}__t"]
        return [f"{c} AS {column}__n"]

    def level_b(self, column: str) -> list[str]:
        """Missing flag (``__m``), and for numbers read from text the parsed double (``__d``)."""
        kind = self.source.kinds[column]
        tokens = ", ".join(_literal(t) for t in sorted(MISSING_TOKENS))
        if kind == "text":
            t = f"{column}__t"
            out = [t, f"({t} IS NULL OR lower({t}) IN ({tokens})) AS {column}__m"]
            if column in NUMERIC:
                out += [f"CASE WHEN {self.d.full_match(t, NUMBER_SYNTAX)} THEN TRY_CAST({t} AS DOUBLE) END AS {column}__d",
                        f"CASE WHEN {self.d.full_match(t, INT_SYNTAX)} THEN TRY_CAST({t} AS BIGINT) END AS {column}__i"]
            return out
        n = f"{column}__n"
        if kind == "float":
            return [f"{n} AS {column}__d", f"CAST(NULL AS BIGINT) AS {column}__i",
                    f"({n} IS NULL OR isnan({n})) AS {column}__m"]
        return [f"CAST({n} AS BIGINT) AS {column}__i", f"CAST(NULL AS DOUBLE) AS {column}__d",
                f"({n} IS NULL) AS {column}__m"]

    def level_c(self, column: str) -> list[str]:
        """Value (``__v``) and the parse checks' flags (``__f<bit>``)."""
        checks = [k for k in CHECKS if k.column == column]
        m = f"{column}__m"
        if column not in NUMERIC:
            t = f"{column}__t"
            flags = {MISSING[0]: m}
            if column in schema.YES_NO:
                flags[_FIXES["not yes/no"][0]] = f"(NOT {m} AND {t} NOT IN ('yes', 'no'))"
            return [f"{t} AS {column}__v"] + [f"{flags[k.what]} AS {column}__f{k.bit}" for k in checks]
        d, i = f"{column}__d", f"{column}__i"
        usable = f"(NOT {m} AND {d} IS NOT NULL AND abs({d}) < {INT64_BOUND})"
        value = (f"(CASE WHEN {m} THEN NULL WHEN {i} IS NOT NULL THEN {i} "
                 f"WHEN {usable} AND {d} = floor({d}) THEN CAST({d} AS BIGINT) END)")
        non_integer = f"({usable} AND {d} <> floor({d}))"
        flags = {MISSING[0]: m, NON_INTEGER[0]: non_integer,
                 TEXT[0]: f"(NOT {m} AND NOT {non_integer} AND {value} IS NULL)"}
        return [f"{value} AS {column}__v"] + [f"{flags[k.what]} AS {column}__f{k.bit}"
                                              for k in checks if k.what in flags]

    def level_d(self, column: str) -> list[str]:
        """Flags of the domain checks (on the value), and the parse flags passed through."""
        v = f"{column}__v"
        domain = {_FIXES["negative"][0]: f"({v} < 0)", _FIXES["above 120"][0]: f"({v} > 120)",
                  _FIXES["not 0 or 1"][0]: f"({v} NOT IN (0, 1))"}
        return [v] + [f"coalesce({domain[k.what]}, false) AS {column}__f{k.bit}" if k.what in domain
                      else f"{column}__f{k.bit}" for k in CHECKS if k.column == column]

    def parsed(self, relation: str, columns, carry=()) -> str:
        """SELECT of values (``<column>__v``) and check flags (``<column>__f<bit>``) of ``columns``.

        ``carry``: (expression, alias) pairs, or column names, passed through every level.
        """
        first = [x if isinstance(x, str) else f"{x[0]} AS {x[1]}" for x in carry]
        names = [x if isinstance(x, str) else x[1] for x in carry]
        levels = [(first, self.level_a), (names, self.level_b), (names, self.level_c), (names, self.level_d)]
        sql = relation
        for k, (passed, level) in enumerate(levels):
            select = passed + [x for c in columns for x in level(c)]
            sql = f"SELECT {', '.join(select)} FROM {sql}" if k == 0 else f"SELECT {', '.join(select)} FROM ({sql}) AS level{k}"
        return sql

    def mask(self, columns) -> str:
        terms = [f"CASE WHEN {k.column}__f{k.bit} THEN {k.bit} ELSE 0 END" for k in CHECKS if k.column in columns]
        return " + ".join(terms) if terms else "0"

    def sample(self, id_value: str) -> str:
        if self.test_size == 0:
            return "'train'"
        return (f"CASE WHEN {id_value} IS NOT NULL AND {split_hash_sql(id_value, self.seed)} < CAST('{float(self.test_size)!r}' AS DOUBLE) "
                f"THEN 'test' ELSE 'train' END")

    # -- the passes
    def rows(self, reader: str, row_number: str | None = None, too_wide: str | None = None) -> str:
        """The data rows of the file (whitespace-only CSV lines skipped, as pandas does)."""
        cols = [self.q(c) for c in schema.RAW_COLUMNS]
        if row_number:
            cols.append(f"{row_number} AS rn")
        if too_wide:
            cols.append(f"({too_wide}) AS too_wide")
        where = ""
        if self.csv and self.d.name == "duckdb":
            first, second = (self.q(c) for c in self.source.header[:2])
            where = f" WHERE NOT ({second} IS NULL AND TRIM(BOTH ' ' || chr(9) FROM {first}) = '')"
        return f"SELECT {', '.join(cols)} FROM {reader}{where}"

    def level1(self, reader: str, too_wide: str | None = None, with_ids: bool = False) -> str:
        """The pass over the rows: ID parsed and split, rows grouped by sample and raw columns.

        Also counts, per group, lines with more fields than the header (``too_wide``: Spark, whose
        reader does not refuse them). ``with_ids``: a second grouping set, by ID, in the same
        pass, keeping only the IDs seen more than once (rows with ``by_id = 1``).
        """
        others = [c for c in schema.RAW_COLUMNS if c != schema.ID]
        raw = [self.q(c) for c in others]
        wide = ["too_wide"] if too_wide else []
        id_rows = self.parsed(f"({self.rows(reader, too_wide=too_wide)}) AS data_rows", [schema.ID], carry=raw + wide)
        keyed = (f"SELECT {self.sample('ID__v')} AS sample, {self.mask([schema.ID])} AS id_mask, "
                 f"{', '.join(raw + wide)}, ID__v FROM ({id_rows}) AS id_parsed")
        counts = ", count_if(too_wide) AS n_too_wide" if too_wide else ", 0 AS n_too_wide"
        keys = ", ".join(["sample", "id_mask", *raw])
        if not with_ids:
            return f"SELECT {keys}, count(*) AS n{counts} FROM ({keyed}) AS keyed GROUP BY {keys}"
        return (f"SELECT 1 - grouping(ID__v) AS by_id, {keys}, ID__v, count(*) AS n{counts} FROM ({keyed}) AS keyed "
                f"GROUP BY GROUPING SETS (({keys}), (ID__v)) "
                "HAVING grouping(ID__v) = 1 OR (ID__v IS NOT NULL AND count(*) > 1)")

    def level2(self, level1: str) -> str:
        """Parse and validate the level-1 groups; group into patterns keyed by problem bits too."""
        others = [c for c in schema.RAW_COLUMNS if c != schema.ID]
        parsed = self.parsed(f"{level1} AS level1", others, carry=["sample", "id_mask", "n", "n_too_wide"])
        dummies = [f"CASE WHEN {c}__v = 'yes' THEN 1 ELSE 0 END AS {schema.DUMMY[c]}" for c in schema.YES_NO]
        select = (f"SELECT sample, age__v AS age, job__v AS job, marriage__v AS marriage, {', '.join(dummies)}, "
                  "coupon_used_in_last6_month__v AS coupon_used_in_last6_month, "
                  "coupon_used_in_last_month__v AS coupon_used_in_last_month, "
                  f"id_mask + {self.mask(others)} AS mask, n, CASE WHEN {schema.RAW_RESPONSE}__v IN (0, 1) THEN n * {schema.RAW_RESPONSE}__v ELSE 0 END AS n_events, "
                  f"n_too_wide FROM ({parsed}) AS parsed")
        keys = ", ".join(["sample", *PREDICTORS, "mask"])
        return (f"SELECT {keys}, sum(n) AS trials, sum(n_events) AS events, sum(n_too_wide) AS n_too_wide "
                f"FROM ({select}) AS patterns GROUP BY {keys}")

    def not_increasing(self, reader: str) -> str:
        """Count of rows whose ID is missing or not above the ID of the row before.

        Zero proves the IDs unique without a hash table over every ID. ``lag(...) OVER ()`` runs
        on one thread, so it is a scan of its own, of the ID column only (1.3 s for 100M rows of
        Parquet), not part of the parallel pass. It is a sufficient condition whatever order the
        engine reads the rows in: a sequence that increases strictly has no repeated value.
        """
        ids = self.parsed(f"({self.rows(reader)}) AS data_rows", [schema.ID])
        return (f"SELECT count_if(ID__v IS NULL OR NOT (ID__v > previous_id)) AS n FROM "
                f"(SELECT ID__v, lag(ID__v) OVER () AS previous_id FROM ({ids}) AS ids) AS ordered")

    def duplicate_ids(self, reader: str) -> str:
        """IDs that occur more than once (the IDs only; ``duplicate_summary`` counts them)."""
        ids = self.parsed(f"({self.rows(reader)}) AS data_rows", [schema.ID])
        return (f"SELECT ID__v AS dup_id, count(*) AS n FROM ({ids}) AS ids WHERE ID__v IS NOT NULL "
                "GROUP BY ID__v HAVING count(*) > 1")

    def bad_rows(self, numbered_reader: str, dup_table: str | None) -> str:
        """Every row with a failed check or a duplicated ID: row number, display text, bits."""
        columns = list(schema.RAW_COLUMNS)
        shown = [(self.display(c), f"{c}__s") for c in columns]
        parsed = self.parsed(f"({numbered_reader}) AS data_rows", columns, carry=["rn", *shown])
        flagged = f"SELECT rn, {', '.join(c + '__s' for c in columns)}, ID__v, {self.mask(columns)} AS mask FROM ({parsed}) AS p"
        if dup_table is None:
            return f"SELECT *, false AS dup FROM ({flagged}) AS f WHERE mask <> 0"
        return (f"SELECT f.*, (d.dup_id IS NOT NULL) AS dup FROM ({flagged}) AS f "
                f"LEFT JOIN {dup_table} AS d ON f.ID__v = d.dup_id WHERE f.mask <> 0 OR d.dup_id IS NOT NULL")

    def display(self, column: str) -> str:
        """The text analysis.data shows for a cell: as read by pandas with skipinitialspace."""
        c = self.q(column)
        if self.source.kinds[column] == "text" and self.csv:
            return f"TRIM(LEADING ' ' FROM {c})"
        return f"CAST({c} AS STRING)"


# ----------------------------------------------------------------------------- engines


def memory_bytes(limit: str) -> int:
    """Bytes in a memory limit written as DuckDB takes it ("2GB", "512MB", "1.5GiB"); ValueError otherwise."""
    match = re.fullmatch(r"\s*([0-9.]+)\s*([KMGT]?)i?B?\s*", str(limit), flags=re.IGNORECASE)
    if not match:
        raise ValueError(f"memory_limit must look like '2GB' or '512MB'; got {limit!r}")
    return int(float(match.group(1)) * 1024 ** "BKMGT".index((match.group(2) or "B").upper()))


class _DuckDBEngine:
    dialect = _Dialect()
    #: ``lag(...) OVER ()`` follows one sequence of the rows (see ``_Sql.not_increasing``)
    ordered_scan = True

    def __init__(self, source: _Input, memory_limit: str, threads: int, temp_dir: str):
        import duckdb

        self.source = source
        self.con = duckdb.connect(config={"memory_limit": memory_limit, "threads": int(threads),
                                          "temp_directory": temp_dir, "preserve_insertion_order": True})
        self.con.execute("SET enable_progress_bar = false")
        self.error_type = duckdb.Error
        #: DuckDB's parallel CSV reader cannot pad short lines when a quoted field holds a line
        #: break; such a file is read again by the serial reader
        self.parallel = True

    def reader(self, numbered: bool = False) -> str:
        path = _literal(str(self.source.path))
        if self.source.format == "parquet":
            return f"read_parquet({path}, file_row_number={'true' if numbered else 'false'})"
        columns = "{" + ", ".join(f"{_literal(c)}: 'VARCHAR'" for c in self.source.header) + "}"
        return (f"read_csv({path}, header=true, delim=',', quote='\"', escape='\"', columns={columns}, "
                f"auto_detect=false, null_padding=true, nullstr={_literal(NO_NULL)}, encoding='utf-8'"
                + ("" if self.parallel else ", parallel=false") + ")")

    def too_wide(self) -> None:
        return None  # DuckDB's reader refuses such a line itself (translated by ``translate``)

    def row_number(self) -> str:
        return "file_row_number + 1" if self.source.format == "parquet" else "row_number() OVER ()"

    def numbered_rows(self, sql: _Sql) -> str:
        if self.source.format == "parquet":
            return sql.rows(self.reader(numbered=True), row_number=self.row_number())
        return f"SELECT *, row_number() OVER () AS rn FROM ({sql.rows(self.reader())}) AS r"

    def run(self, make_query, fetch: bool = True):
        """Execute ``make_query()`` (a function, so that a serial re-read can rebuild the SQL)."""
        for attempt in range(2):
            try:
                result = self.con.execute(make_query())
                return result.df() if fetch else None
            except self.error_type as err:
                if attempt == 0 and self.parallel and "quoted new lines" in str(err):
                    self.parallel = False
                    continue
                raise self.translate(err) from None

    def frame(self, query) -> pd.DataFrame:
        return self.run(query if callable(query) else (lambda: query))

    def materialize(self, name: str, query) -> None:
        build = query if callable(query) else (lambda: query)
        self.run(lambda: f"CREATE OR REPLACE TEMP TABLE {name} AS {build()}", fetch=False)

    def drop(self, name: str) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS {name}")

    def translate(self, err: Exception) -> Exception:
        """A reader error of DuckDB as the Problem analysis.data reports for the same file."""
        text = str(err)
        path = self.source.path
        if "Invalid unicode" in text or "not utf-8" in text.lower():
            offset = _utf8_error_offset(path)
            if offset is not None:
                return _not_utf8(path, offset)
        line = re.search(r"CSV Error on Line: (\d+)", text)
        count = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
        if line and count and int(count.group(2)) > int(count.group(1)):
            return _parse_error(path, int(count.group(1)), int(line.group(1)), int(count.group(2)))
        if "CSV Error" in text or "Invalid Input Error" in text:
            first = text.splitlines()[0]
            return DataValidationError(path, [_file_problem(
                f"could not be parsed as CSV ({first})",
                "Check that every line has the same number of comma-separated fields as the header.")])
        return err

    def close(self) -> None:
        self.con.close()


def _parse_error(path, expected: int, line: int, saw: int) -> DataValidationError:
    """The message pandas' C parser gives for a line with too many fields (see analysis.data)."""
    return DataValidationError(path, [_file_problem(
        f"could not be parsed as CSV (Error tokenizing data. C error: Expected {expected} fields in line {line}, saw {saw}\n)",
        "Check that every line has the same number of comma-separated fields as the header.")])


_SPARK = None
_SPARK_LOCK = threading.Lock()


def spark_session(memory_limit: str = "2GB", threads: int = 2, temp_dir: str | None = None):
    """The process's local Spark session (``local[threads]``), created once on first use.

    Settings take effect only at creation: the driver's heap is ``memory_limit``, the UI is off,
    shuffles use few partitions (the pattern table is small) and the log level is ERROR.
    """
    global _SPARK
    with _SPARK_LOCK:
        if _SPARK is None:
            import os

            from pyspark.sql import SparkSession

            java_home = os.environ.get("JAVA_HOME")
            if not shutil.which("java") and not (java_home and Path(java_home, "bin", "java").exists()):
                raise EngineUnavailable(
                    "--engine spark needs a Java runtime (Java 17 or later) on PATH or in JAVA_HOME, and none "
                    "was found. Install one (e.g. Debian's openjdk-17-jre-headless) or use --engine duckdb, "
                    "which gives the same results.")
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
            local_dir = temp_dir or tempfile.mkdtemp(prefix="coupon-spark-")
            if not temp_dir:
                atexit.register(shutil.rmtree, local_dir, ignore_errors=True)
            heap_mb = max(512, memory_bytes(memory_limit) // (1 << 20))
            builder = (SparkSession.builder.master(f"local[{int(threads)}]").appName("coupon-aggregate")
                       .config("spark.ui.enabled", "false")
                       .config("spark.ui.showConsoleProgress", "false")
                       .config("spark.sql.shuffle.partitions", str(max(2, 2 * int(threads))))
                       .config("spark.driver.memory", f"{heap_mb}m")
                       .config("spark.sql.execution.arrow.pyspark.enabled", "true")
                       # parse every field, so that a line with too many fields is seen as corrupt
                       .config("spark.sql.csv.parser.columnPruning.enabled", "false")
                       .config("spark.local.dir", local_dir))
            _SPARK = builder.getOrCreate()
            _SPARK.sparkContext.setLogLevel("ERROR")
        return _SPARK


class _SparkEngine:
    dialect = _SparkDialect()
    ordered_scan = False  # lag(...) OVER () would move every row into one partition

    def __init__(self, source: _Input, memory_limit: str, threads: int, temp_dir: str):
        from pyspark.sql.types import StringType, StructField, StructType

        self.source = source
        self.spark = spark_session(memory_limit, threads)
        self.views: list[str] = []
        self.tag = f"agg{id(self)}"
        if source.format == "parquet":
            frame = self.spark.read.parquet(str(source.path))
        else:
            fields = [StructField(c, StringType()) for c in source.header] + [StructField("_corrupt", StringType())]
            frame = self.spark.read.csv(
                str(source.path), schema=StructType(fields), header=True, enforceSchema=True, mode="PERMISSIVE",
                columnNameOfCorruptRecord="_corrupt", nullValue=NO_NULL, emptyValue="", quote='"', escape='"',
                encoding="UTF-8", ignoreLeadingWhiteSpace=False, ignoreTrailingWhiteSpace=False)
        self.view(f"{self.tag}_raw", frame)
        self.raw = f"{self.tag}_raw"

    def view(self, name: str, frame) -> None:
        frame.createOrReplaceTempView(name)
        self.views.append(name)

    def reader(self, numbered: bool = False) -> str:
        return self.raw

    def numbered_rows(self, sql: _Sql) -> str:
        return self.numbered(sql.rows(self.raw))

    def numbered(self, rows: str) -> str:
        """Rows with their 1-based position in the file: a partition's offset plus the position in it.

        ``monotonically_increasing_id`` is (partition index << 33) + position within the partition,
        and a single file's partitions follow the file's byte order.
        """
        ids = f"{self.tag}_ids"
        numbered = self.spark.sql(f"SELECT *, monotonically_increasing_id() AS mono FROM ({rows}) AS r")
        self.view(ids, numbered)
        offsets = (f"SELECT part, coalesce(sum(n) OVER (ORDER BY part ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) "
                   f"AS offset FROM (SELECT shiftright(mono, 33) AS part, count(*) AS n FROM {ids} GROUP BY 1) AS c")
        return (f"SELECT r.*, o.offset + (r.mono - shiftleft(o.part, 33)) + 1 AS rn FROM {ids} AS r "
                f"JOIN ({offsets}) AS o ON shiftright(r.mono, 33) = o.part")

    def frame(self, query) -> pd.DataFrame:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self.spark.sql(query() if callable(query) else query).toPandas()

    def materialize(self, name: str, query) -> None:
        """Compute ``query`` once and keep it as a leaf of later plans.

        A local checkpoint, not ``cache()``: with a cached plan, Spark's optimizer canonicalizes
        the whole SQL behind it again in every query that reads it, which took minutes on the
        check masks of the error path.
        """
        frame = self.spark.sql(query() if callable(query) else query).localCheckpoint(eager=True)
        self.view(name, frame)

    def drop(self, name: str) -> None:
        if self.spark.catalog.tableExists(name):
            self.spark.catalog.dropTempView(name)

    def too_wide(self) -> str | None:
        """Query of CSV lines with more fields than the header (Spark keeps the first fields)."""
        if self.source.format != "csv":
            return None
        last = self.dialect.ident(self.source.header[-1])
        return f"_corrupt IS NOT NULL AND {last} IS NOT NULL"

    def close(self) -> None:
        self.spark.catalog.clearCache()
        for name in self.views:
            self.spark.catalog.dropTempView(name)


# ----------------------------------------------------------------------------- the API


def aggregate(path, *, seed: int = 100, test_size: float = 0.3, max_age: int | None = None,
              engine: str = "duckdb", memory_limit: str = "2GB", threads: int = 2, progress=None,
              hash_file: bool = True, temp_dir: str | Path | None = None) -> PatternData:
    """Covariate patterns of a CSV or Parquet file of any size, validated as ``analysis.data`` does.

    Raises ``analysis.data.DataValidationError`` with the same ``Problem``s as
    ``analysis.data.load_clean`` for the same file (tested on every kind of bad file).
    ``test_size`` is the test share of ``analysis.split`` (0: every row is train). ``max_age``
    excludes rows (counted in ``accounting``). ``memory_limit`` and ``threads`` bound the engine,
    which spills to a temporary directory under ``temp_dir``. ``hash_file`` computes the
    file's SHA-256 (in a thread beside the scan) for ``source``; without it a sidecar is matched
    by row count only. The pattern table was tested against a pandas groupby of ``load_clean``
    and ``in_test_sample``, and DuckDB against Spark.

    ``engine="spark"`` runs the same SQL in a local Spark session (``spark_session``: its
    ``memory_limit`` and ``threads`` apply when the process's session is created). Its CSV
    reader splits a quoted field that holds a line break into two records (reported as
    problems, with other line numbers than pandas gives); DuckDB reads such files as pandas does.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
    if not 0 <= test_size < 1:
        raise ValueError(f"test_size must be in [0, 1); got {test_size}")
    say = progress or (lambda message: None)
    start = time.perf_counter()
    timings: dict[str, float] = {}
    path = Path(path)
    source = _inspect(path)
    timings["inspect"] = time.perf_counter() - start

    digest: dict = {}
    hasher = None
    if hash_file:
        def _hash():
            t0 = time.perf_counter()
            digest["sha256"] = sha256_file(path)
            digest["seconds"] = time.perf_counter() - t0
        hasher = threading.Thread(target=_hash, name="sha256", daemon=True)
        hasher.start()

    if engine == "spark" and source.format == "csv":
        # Spark's reader replaces bytes that are not UTF-8 without a word; DuckDB's refuses them
        offset = _utf8_error_offset(path)
        if offset is not None:
            raise _not_utf8(path, offset)
    spill = tempfile.mkdtemp(prefix="coupon-aggregate-", dir=temp_dir)
    runner = None
    try:
        runner = (_DuckDBEngine if engine == "duckdb" else _SparkEngine)(source, memory_limit, threads, spill)
        sql = _Sql(runner.dialect, source, seed, test_size)
        say(f"{engine}: reading {path.name} ({source.format}) and aggregating to covariate patterns")
        t0 = time.perf_counter()
        # duplicate IDs: in the same pass (a grouping set by ID), except with DuckDB on Parquet,
        # where a scan of the ID column alone proves them unique when they increase (see above)
        ids_in_pass = not (runner.ordered_scan and source.format == "parquet")
        tag = f"{abs(hash((spill, seed))) % 10**8}"
        dup_table = None
        if ids_in_pass:
            level1 = f"level1_{tag}"
            runner.materialize(level1, lambda: sql.level1(runner.reader(), too_wide=runner.too_wide(), with_ids=True))
            result = runner.frame(sql.level2(f"(SELECT * FROM {level1} WHERE by_id = 0)"))
            dup_table = f"(SELECT ID__v AS dup_id, n FROM {level1} WHERE by_id = 1)"
        else:
            result = runner.frame(lambda: sql.level2(f"({sql.level1(runner.reader(), too_wide=runner.too_wide())})"))
        timings["scan"] = time.perf_counter() - t0
        n_read = int(result["trials"].sum()) if len(result) else 0
        if n_read == 0:
            raise DataValidationError(path, [_file_problem(
                "has a header but no data rows", "Export the data again with its rows.")], n_rows=0)
        if int(result["n_too_wide"].sum()):
            _raise_too_wide(runner)
        say(f"{engine}: {n_read:,} rows read; {len(result):,} pattern groups")

        t0 = time.perf_counter()
        if not ids_in_pass:
            increasing = int(runner.frame(lambda: sql.not_increasing(runner.reader()))["n"].iloc[0]) == 0
            if not increasing:
                say(f"{engine}: IDs not in increasing order; checking for duplicate IDs")
                dup_table = f"dup_ids_{tag}"
                runner.materialize(dup_table, lambda: sql.duplicate_ids(runner.reader()))
        n_dup_rows = 0
        if dup_table:
            n_dup_rows = int(runner.frame(f"SELECT coalesce(sum(n), 0) AS n_rows FROM {dup_table} AS d")["n_rows"].iloc[0])
        timings["duplicates"] = time.perf_counter() - t0

        bad = int((result["mask"] != 0).any()) or n_dup_rows
        if bad:
            say(f"{engine}: problems found; collecting example lines")
            raise _problems(runner, sql, path, result, dup_table if n_dup_rows else None, n_read)
    finally:
        if runner is not None:
            runner.close()
        shutil.rmtree(spill, ignore_errors=True)

    patterns, accounting = _patterns(result, n_read, max_age)
    n_used = int(accounting["rows_remaining"].iloc[-1])
    events = int(patterns["events"].sum())
    if events in (0, n_used):
        only = (1 if events else 0) if n_used else None
        raise DataValidationError(path, [Problem(
            schema.RAW_RESPONSE, f"every used row has the same response ({only})", n_used,
            fix="A logistic regression needs customers who used the coupon and customers who did not.")],
            n_rows=n_read)

    if hasher is not None:
        t0 = time.perf_counter()
        hasher.join()
        timings["hash_wait"] = time.perf_counter() - t0
        timings["hash"] = digest.get("seconds", float("nan"))
    source_info = _provenance(path, source, digest.get("sha256"), n_read)
    notes = list(source.notes)
    if not hash_file:
        notes.append("The file's SHA-256 was not computed (hash_file=False).")
    compression = compression_note(len(patterns), n_used)
    if compression:
        notes.append(compression)
    del result
    _release_memory()
    timings["total"] = time.perf_counter() - start
    say(f"{engine}: {len(patterns):,} covariate patterns from {n_used:,} rows in {timings['total']:.1f} s")
    return PatternData(patterns=patterns, accounting=accounting, source=source_info, n_rows=n_used,
                       n_patterns=len(patterns), notes=tuple(notes), engine=engine, seed=int(seed),
                       test_size=float(test_size), max_age=max_age, timings=timings)


def _release_memory() -> None:
    """Hand the engine's freed memory back to the system, so that the fit that follows does not stack
    on top of it: with 10M rows the process kept 0.5 GB after the scan, 0.3 GB after this (glibc
    keeps freed blocks for reuse until ``malloc_trim``). A no-op where there is no glibc."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _raise_too_wide(runner: _SparkEngine) -> None:
    """Spark keeps the first fields of a line that has too many; pandas refuses the file: so do we."""
    condition = runner.too_wide()
    numbered = runner.numbered(f"SELECT * FROM {runner.raw}")
    first = runner.frame(f"SELECT rn, _corrupt FROM ({numbered}) AS x WHERE {condition} ORDER BY rn LIMIT 1")
    saw = len(next(csv.reader(io.StringIO(first["_corrupt"].iloc[0]))))
    raise _parse_error(runner.source.path, len(runner.source.header), int(first["rn"].iloc[0]) + 1, saw)


def _patterns(result: pd.DataFrame, n_read: int, max_age: int | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pattern table (ints int64, job/marriage str, sorted) and the row accounting."""
    out = result.loc[:, list(PATTERN_COLUMNS)].copy()
    out = out.groupby(["sample", *PREDICTORS], as_index=False, sort=False)[["trials", "events"]].sum()
    ints = [c for c in PATTERN_COLUMNS if c not in ("sample", "job", "marriage")]
    out[ints] = out[ints].astype("int64")
    for column in ("sample", "job", "marriage"):
        out[column] = out[column].astype(str)
    steps = [("rows read", 0, n_read)]
    if max_age is not None:
        drop = out["age"] > max_age
        excluded = int(out.loc[drop, "trials"].sum())
        out = out[~drop]
        steps.append((f"excluded: age > {max_age} (--max-age {max_age})", excluded, n_read - excluded))
    steps.append(("rows used", 0, int(out["trials"].sum())))
    out["sample"] = pd.Categorical(out["sample"], categories=list(SAMPLES), ordered=True)
    out = out.sort_values(["sample", *PREDICTORS], kind="mergesort").reset_index(drop=True)
    out["sample"] = out["sample"].astype(str)
    accounting = pd.DataFrame(steps, columns=["step", "rows_excluded", "rows_remaining"])
    return out, accounting


def _problems(runner, sql: _Sql, path: Path, result: pd.DataFrame, dup_table: str | None,
              n_read: int) -> DataValidationError:
    """The error for a file with failed checks: counts from the pass, examples from one more pass."""
    masks = result["mask"].to_numpy(dtype=np.int64)
    trials = result["trials"].to_numpy(dtype=np.int64)
    failing = [k for k in CHECKS if trials[(masks & k.bit) != 0].sum() > 0]
    checks = failing + ([DUPLICATE] if dup_table else [])
    bad = f"bad_rows_{abs(hash(str(path))) % 10**8}"
    runner.materialize(bad, lambda: sql.bad_rows(runner.numbered_rows(sql), dup_table))
    tagged = " UNION ALL ".join(
        f"SELECT {k} AS k, rn, ID__s, {check.column}__s AS value FROM {bad} WHERE "
        + ("dup" if check is DUPLICATE else f"(mask & {check.bit}) <> 0") for k, check in enumerate(checks))
    # per check: its row count and first lines; its first distinct values in file order (one query)
    lines_sql = (f"SELECT 'line' AS part, k, rn AS position, ID__s AS text, n FROM (SELECT k, rn, ID__s, "
                 f"count(*) OVER (PARTITION BY k) AS n, row_number() OVER (PARTITION BY k ORDER BY rn) AS j "
                 f"FROM ({tagged}) AS t) AS e WHERE j <= {MAX_EXAMPLES}")
    values_sql = (f"SELECT 'value' AS part, k, first AS position, value AS text, 0 AS n FROM (SELECT k, value, first, "
                  f"row_number() OVER (PARTITION BY k ORDER BY first) AS j FROM (SELECT k, value, min(rn) AS first "
                  f"FROM ({tagged}) AS t GROUP BY k, value) AS v) AS w WHERE j <= {MAX_EXAMPLES}")
    examples = runner.frame(f"SELECT * FROM ({lines_sql} UNION ALL {values_sql}) AS x ORDER BY part, k, position")
    runner.drop(bad)
    problems = []
    for k, check in enumerate(checks):
        rows = examples[(examples["part"] == "line") & (examples["k"] == k)]
        lines = tuple(int(r) + 1 for r in rows["position"])  # +1 for the header line
        ids = tuple(str(i) for i in rows["text"] if not pd.isna(i) and str(i).strip())
        seen = examples.loc[(examples["part"] == "value") & (examples["k"] == k), "text"]
        values = tuple(_shown(v) for v in seen) if check.show_values else ()
        problems.append(Problem(check.column, check.what, int(rows["n"].iloc[0]), lines, ids, values, check.fix))
    order = {c: i for i, c in enumerate(schema.RAW_COLUMNS)}
    rank = {(k.column, k.what): i for i, k in enumerate(CHECKS)}
    rank[(DUPLICATE.column, DUPLICATE.what)] = len(CHECKS)
    # analysis.data: parse problems first, then domain problems, each group in column order
    problems.sort(key=lambda p: (order[p.column], rank[(p.column, p.what)]))
    return DataValidationError(path, problems, n_rows=n_read)


def _shown(value) -> str:
    """A cell as pandas shows it after ``astype(str)``: a short line's absent field is 'nan'."""
    return "nan" if value is None or pd.isna(value) else str(value)


def _provenance(path: Path, source: _Input, digest: str | None, n_read: int) -> dict:
    """As ``analysis.data.file_provenance``; without the hash, a sidecar is matched by row count."""
    info = {"file": path.name, "path": str(path), "bytes": path.stat().st_size, "sha256": digest,
            "format": source.format, "simulated": False}
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    if sidecar.exists():
        meta = json.loads(sidecar.read_text())
        if digest is not None and meta.get("sha256") == digest:
            info["simulated"] = True
            info["simulation"] = meta
        elif digest is None and int(meta.get("rows", -1)) == n_read:
            info["simulated"] = True
            info["simulation"] = meta
            info["sidecar_verified"] = False
    return info
