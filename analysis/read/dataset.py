"""Data sets of several files: a folder (partitioned or not), a glob, a URI; and the first pass of one file of them.

``--data`` may name, besides one local file (read as before by :func:`analysis.read.source.open_source`):

* **a folder**: every file under it, recursively, in the order of their paths; names that start with ``.``
  or ``_`` are skipped (``_SUCCESS``, ``.crc`` files), as Spark and Hadoop skip them, except folder names
  with ``=``; empty files (0 bytes) are skipped too, as Spark lists none. Hive-style folders ``key=value/`` give every row of the files below them a text column
  ``key`` with that value (percent-escapes decoded, ``__HIVE_DEFAULT_PARTITION__`` a missing value), as
  Spark reads a partitioned data set; every file must sit under the same keys.
* **a glob** (``data/part-*.parquet``): the files it matches (Python's glob on a local disk; Hadoop's
  glob in Spark);
* **a URI** (``file:``, and for the spark engine anything Spark reads: ``hdfs:``, ``s3a:``, ...): a
  ``file:`` URI is a local path; other schemes are read by the spark engine only.

Every file of a data set is one CSV or Parquet file as the single-file readers define it, and all of
them one format. Each file is checked by the same first pass as a single file
(:func:`scan_file`, which runs :func:`analysis.read.source.open_csv` / ``open_parquet``): on the
driver for the memory and duckdb engines, and on Spark's executors for the spark engine on a cluster
(:mod:`analysis.read.spark_scan`); :func:`merge` then joins the files' verdicts the same way for
every engine. A file with no data rows (empty, a header alone, a Parquet file of no rows: what Spark
writes for an empty partition) adds no rows and no problem. The rows of the data set are the files'
rows, in the order of the files.

Where a problem is: a file's lines (CSV: physical lines; Parquet: row numbers) are counted in that file.
Inside the engines, ``__line`` and ``__row`` carry the file's index too (``index * FILE_STRIDE + line``),
so that the rule set's SQL orders and picks the first examples as for one file; :meth:`DataSet.relocate`
turns them back into (file, line) pairs in ``Problem.files`` and ``Problem.lines``. A data set of one
file given by name has no ``files``: its problems read exactly as before.
"""
from __future__ import annotations

import glob as globbing
import hashlib
import os
import re
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pyarrow as pa

from analysis.read.problems import DataValidationError, Problem, file_error

#: the file's index is kept above the 40 bits of a line number (files of up to 10^12 lines)
FILE_STRIDE = 1 << 40
HIVE_DEFAULT = "__HIVE_DEFAULT_PARTITION__"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")
_GLOB = re.compile(r"[*?\[{]")


def scheme(text: str) -> str | None:
    """The URI scheme of ``text`` (``file``, ``hdfs``, ``s3a``, ...), lower case; None for a plain path."""
    match = _SCHEME.match(str(text))
    return match.group(1).lower() if match and "/" in str(text)[match.end():match.end() + 1] else None


def hidden(name: str) -> bool:
    """A file or folder name Spark and Hadoop skip when they list a data set."""
    return (name.startswith("_") and "=" not in name) or name.startswith(".") or name.endswith("._COPYING_")


def partitions_of(relative: str) -> tuple[tuple[str, str | None], ...]:
    """The Hive-style ``key=value`` folders of a file's path inside its data set, values decoded."""
    out = []
    for part in relative.split("/")[:-1]:
        key, sep, value = part.partition("=")
        if sep and key:
            out.append((unquote(key), None if value == HIVE_DEFAULT else unquote(value)))
    return tuple(out)


@dataclass(frozen=True)
class DataFile:
    #: where the file is: a local path, or the URI Spark lists it under
    location: str
    #: the file as problems name it: its path inside the data set (a single file: its name)
    name: str
    partitions: tuple[tuple[str, str | None], ...] = ()
    size: int | None = None


@dataclass
class DataSet:
    """What ``--data`` names (see the module docstring)."""

    given: str
    #: the folder the files' names are relative to ("" for a single file)
    root: str
    files: list[DataFile] = field(default_factory=list)
    #: a folder or glob: problems name their file (a single file given by name: they do not)
    multi: bool = True
    #: on this machine's disk (else only Spark can read it)
    local: bool = True

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.files[0].partitions) if self.files else ()

    def relocate(self, err: DataValidationError) -> DataValidationError:
        """``err`` with every line number that carries a file index turned into (file, line) (see the module
        docstring); a single file: unchanged."""
        if not self.multi:
            return err
        names = [f.name for f in self.files]
        problems = []
        for p in err.problems:
            if p.lines and not p.files:
                p = replace(p, files=tuple(names[int(x) // FILE_STRIDE] for x in p.lines),
                            lines=tuple(int(x) % FILE_STRIDE for x in p.lines))
            problems.append(p)
        return DataValidationError(self.given, problems, n_rows=err.n_rows)

    def provenance(self, fmt: str, digests: dict, n_read: int) -> dict:
        """Name, size, a SHA-256 of the files' names and SHA-256s (one line each, in order: it changes when
        any file does), format and the number of files."""
        digest = None
        if all(f.name in digests for f in self.files):
            digest = hashlib.sha256("".join(f"{f.name}\t{digests[f.name]}\n" for f in self.files).encode()).hexdigest()
        sizes = [f.size for f in self.files]
        return {"file": self.given.rstrip("/").rsplit("/", 1)[-1] or self.given, "path": self.given,
                "bytes": int(sum(sizes)) if None not in sizes else None, "sha256": digest, "format": fmt,
                "simulated": False, "files": len(self.files), "rows_read": n_read}


def resolve(data) -> DataSet | None:
    """The data set ``data`` names, listed (local) or to be listed by Spark (other URIs); None for one local
    path that is not a folder (read as a single file, as before: the first pass reports what it is)."""
    text = str(data)
    kind = scheme(text)
    if kind not in (None, "file"):
        return DataSet(given=text, root=text, multi=True, local=False)
    path = unquote(urlparse(text).path) if kind == "file" else text
    if os.path.lexists(path):
        try:
            is_dir = stat.S_ISDIR(os.stat(path).st_mode)
        except OSError:
            is_dir = False
        if not is_dir:
            return None if kind is None else DataSet(given=text, root="", files=[_local(path, Path(path).name)],
                                                     multi=False)
        return DataSet(given=text, root=path, files=_walk(path), multi=True)
    if _GLOB.search(path):
        root = _glob_root(path)
        files = [_local(p, os.path.relpath(p, root).replace(os.sep, "/")) for p in sorted(globbing.glob(path))
                 if os.path.isfile(p) and os.path.getsize(p) > 0 and not hidden(os.path.basename(p))]
        return DataSet(given=text, root=root, files=files, multi=True)
    return None


def _glob_root(pattern: str) -> str:
    """The folder above the first part of a glob pattern with a wildcard."""
    parts = pattern.split("/")
    keep = []
    for part in parts[:-1]:
        if _GLOB.search(part):
            break
        keep.append(part)
    return "/".join(keep) or ("/" if pattern.startswith("/") else ".")


def _local(path: str, name: str) -> DataFile:
    try:
        size = os.stat(path).st_size
    except OSError:
        size = None
    return DataFile(location=path, name=name, partitions=partitions_of(name), size=size)


def _walk(root: str) -> list[DataFile]:
    out = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not hidden(d))
        for name in files:
            if hidden(name):
                continue
            path = os.path.join(folder, name)
            if os.path.isfile(path) and os.path.getsize(path) > 0:    # Spark lists no empty file either
                out.append(_local(path, os.path.relpath(path, root).replace(os.sep, "/")))
    return sorted(out, key=lambda f: f.name)


# ----------------------------------------------------------------------------- one file's first pass


@dataclass
class FileResult:
    """The first pass of one file of a data set: its verdict (what a single file would raise, or its
    character problems), its columns' kinds and its row count."""

    index: int
    name: str
    format: str = ""
    #: the problems the first pass raised (header, CSV structure, Parquet types): the file stops here
    raised: list = field(default_factory=list)
    raised_rows: int | None = None
    #: the file has no data rows (adds nothing, refuses nothing in a data set of several files)
    empty: bool = False
    #: what the first pass says of such a file on its own (a data set of one file raises it)
    alone: list = field(default_factory=list)
    alone_rows: int | None = None
    n_rows: int = 0
    kinds: dict = field(default_factory=dict)
    #: Arrow types of the used Parquet columns after conversion (the spark route's slots)
    types: dict = field(default_factory=dict)
    notes: tuple = ()
    #: character problems (lines carry the file index)
    problems: list = field(default_factory=list)
    sha256: str | None = None
    #: a Parquet file whose used columns Spark's own reader gives as the first pass does (each column's
    #: Arrow type already the common one, none from folder names, no name alike but for letter case or
    #: Spark's ``_metadata``): the spark engine on a cluster then reads its rows natively (``spark_scan``)
    native: bool = False
    #: the file's first and last ID when its 64-bit integer IDs all rise in its order (the verdict job's
    #: check-only pass sees them): files whose ranges do not meet need no other proof that the IDs are unique
    id_range: tuple | None = None


class _Without:
    """The specification as the first pass of one file sees it when some of its columns come from the
    folder names (Hive partitions): those are not asked of the file."""

    def __init__(self, spec, drop):
        self._spec, self._drop = spec, frozenset(drop)

    @property
    def file_columns(self):
        return tuple(c for c in self._spec.file_columns if c not in self._drop)

    def __getattr__(self, name):
        return getattr(self._spec, name)


def _header_of(data, fmt: str) -> list[str]:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return [str(n) for n in pq.read_schema(data).names]
    from analysis.read.csvscan import CsvScan

    scan = CsvScan(data)
    scan.close()
    return [h.strip(" \t") for h in scan.header]


def scan_file(data, spec, index: int, name: str, partitions=(), keys=(), rows: bool = True
              ) -> tuple[FileResult, pa.Table | None]:
    """The first pass of one file (``data``: its bytes, or a local path): the single-file first pass
    (:func:`analysis.read.source.open_csv` / ``open_parquet``, keeping its used columns), then the
    partition columns (text), and ``__line`` / ``__row`` carrying ``index`` (see the module docstring).
    Returns the file's result and its rows (None when it raised or has none). ``rows`` False: only the
    result is wanted; a Parquet file without partition columns is then checked without reading its rows
    into memory (its text columns as dictionaries: each distinct value checked once per batch)."""
    from analysis.read.csvscan import CsvFormatError
    from analysis.read.source import (PARQUET_MAGIC, _CharCheck, check_path, header_problems, open_csv,
                                      open_parquet)

    result = FileResult(index=index, name=name)
    try:
        if isinstance(data, (bytes, bytearray, memoryview)):
            if len(data) == 0:
                result.empty, result.alone = True, [Problem("", "is empty", 0, fix="Export the data again; the file "
                                                            "has no header and no rows.")]
                return result, None
            result.format = "parquet" if bytes(data[:4]) == PARQUET_MAGIC else "csv"
            source_data = pa.BufferReader(data) if result.format == "parquet" else bytes(data)
        else:
            path = Path(data)
            check_path(path)
            with open(path, "rb") as handle:
                result.format = "parquet" if handle.read(4) == PARQUET_MAGIC else "csv"
            source_data = path
        required = list(spec.file_columns)
        from_folders = [c for c in required if c in keys]
        view, notes = spec, None
        if keys:
            try:
                header = _header_of(source_data, result.format)
            except CsvFormatError:
                header = None     # the first pass below reports it
            except Exception:  # noqa: BLE001 - an unreadable Parquet file: the first pass below reports it
                header = None
            if header is not None:
                problems, notes = header_problems(header + list(keys), required)
                if problems:
                    raise DataValidationError(name, problems)
            view = _Without(spec, from_folders)
        if result.format == "parquet":
            source = open_parquet(source_data, view, keep="table" if rows or from_folders else "checks")
        else:
            source = open_csv(source_data, view, keep="table", temp_dir=None)
    except DataValidationError as err:
        if err.n_rows == 0 or (len(err.problems) == 1 and (err.problems[0].what.startswith("the file has no header")
                                                           or err.problems[0].what == "is empty")):
            result.empty, result.alone, result.alone_rows = True, list(err.problems), err.n_rows
        else:
            result.raised, result.raised_rows = list(err.problems), err.n_rows
        return result, None
    table = source.table
    file_columns = list(view.file_columns)
    kinds = dict(source.kinds)
    if table is None:      # checked only: the result as the rows would give it
        import pyarrow.parquet as pq

        schema = pq.read_schema(source_data)
        result.n_rows = source.n_rows
        result.kinds = {c: kinds[c] for c in required}
        result.types = {c: _common(_as_stored(schema.field(c).type), kinds[c]) for c in required}
        result.notes = tuple(notes) if notes is not None else tuple(source.notes)
        result.problems = [replace(p, lines=tuple(x + index * FILE_STRIDE for x in p.lines)) for p in source.problems]
        result.native = _native(schema, result.types, required)
        result.id_range = source.id_range
        return result, None
    columns, names = [], []
    values = dict(partitions)
    for j, column in enumerate(required):
        if column in from_folders:
            columns.append(pa.array([values.get(column)] * table.num_rows, pa.string()))
            kinds[column] = "text"
        else:
            columns.append(_common_type(table.column(f"c{file_columns.index(column)}"), kinds[column]))
        names.append(f"c{j}")
    offset = index * FILE_STRIDE
    line = pa.array(np.asarray(table.column("__line")) + offset)
    row = pa.array(np.asarray(table.column("__row")) + offset)
    table = pa.table(dict(zip(names, columns)) | {"__line": line, "__row": row})
    problems = [replace(p, lines=tuple(x + offset for x in p.lines)) for p in source.problems]
    if from_folders:
        id_index = required.index(spec.id.column) if spec.id and spec.id.column in required else None
        check = _CharCheck(required, [required.index(c) for c in from_folders], id_index, source.unit)
        check.batch(table)
        problems += check.problems()
    result.n_rows = table.num_rows
    result.kinds = {c: kinds[c] for c in required}
    result.types = {c: table.column(f"c{j}").type for j, c in enumerate(required)}
    result.notes = tuple(notes) if notes is not None else tuple(source.notes)
    result.problems = problems
    result.empty = table.num_rows == 0
    if result.format == "parquet" and not from_folders:
        import pyarrow.parquet as pq

        result.native = _native(pq.read_schema(source_data), result.types, required)
    return result, table


def _native(schema: pa.Schema, types: dict, required) -> bool:
    """Whether Spark's Parquet reader gives a file's used columns as the first pass does (``FileResult.native``)."""
    header = [str(n).casefold() for n in schema.names]
    return (len(set(header)) == len(header) and "_metadata" not in header
            and all(_as_stored(schema.field(c).type) == types[c] for c in required))


def _as_stored(type_: pa.DataType) -> pa.DataType:
    """The type of a Parquet column as its bytes hold it: every Arrow string type is one Parquet string
    (a dictionary of strings too); a string column is read alike whichever the writer recorded."""
    if pa.types.is_dictionary(type_):
        type_ = type_.value_type
    if pa.types.is_large_string(type_) or pa.types.is_string_view(type_):
        return pa.string()
    return type_


def _common_type(values, kind: str):
    """A used column in the type every file of a data set has for its kind (so that the files' rows make one
    table): text as strings, integers as int64 (unsigned 64-bit as decimal(20, 0), which holds them all),
    floats and decimals as float64; the rules read these types as they read the originals."""
    target = _common(values.type, kind)
    return values if values.type == target else values.cast(target)


def _common(type_: pa.DataType, kind: str) -> pa.DataType:
    """The common type of a used column of Arrow type ``type_`` and kind ``kind`` (:func:`_common_type`)."""
    if kind == "int" and pa.types.is_uint64(type_):
        return pa.decimal128(20, 0)
    return {"text": pa.string(), "bool": pa.bool_(), "float": pa.float64(), "int": pa.int64()}[kind]


def merge(results: list[FileResult], dataset: DataSet, spec) -> tuple[dict, tuple, list, str, str]:
    """The data set's first-pass verdict from its files' (in file order), the same for every engine:
    raises DataValidationError with every raised problem (each naming its file), or for files of
    different formats or column kinds; else returns (kinds, notes, character problems, format, unit),
    the character problems of the files summed per column and check (first lines in file order)."""
    tag = dataset.multi
    raised = []
    for r in results:
        for p in r.raised:
            raised.append(replace(p, files=(r.name,) * max(1, len(p.lines))) if tag else p)
    if raised:
        rows = results[0].raised_rows if len(results) == 1 else None
        raise DataValidationError(dataset.given, raised, n_rows=rows)
    used = [r for r in results if not r.empty]
    if not tag and len(results) == 1 and results[0].alone:
        raise DataValidationError(dataset.given, results[0].alone, n_rows=results[0].alone_rows)
    if not used:
        what = "holds no data files" if not results else "has a header but no data rows"
        raise file_error(dataset.given, what, "Export the data again with its rows.", n_rows=0)
    formats = sorted({r.format for r in used})
    if len(formats) > 1:
        first = {f: next(r.name for r in used if r.format == f) for f in formats}
        raise DataValidationError(dataset.given, [Problem(
            "", "mixes CSV and Parquet files (" + ", ".join(f"{f}: {first[f]}" for f in formats) + ")", 0,
            fix="Keep the files of one data set in one format.")])
    kinds = dict(used[0].kinds)
    problems = []
    for column in spec.file_columns:
        seen = {}
        for r in used:
            seen.setdefault(r.kinds[column], r.name)
        if len(seen) > 1:
            problems.append(Problem(column, "has different types in different files (" + ", ".join(
                f"{kind} in {shown}" for kind, shown in seen.items()) + ")", 0,
                fix="Write the column with one type in every file.", files=tuple(seen.values())))
    if problems:
        raise DataValidationError(dataset.given, problems)
    notes = tuple(dict.fromkeys(n for r in used for n in r.notes))
    order = {c: i for i, c in enumerate(spec.file_columns)}
    summed: dict[tuple, Problem] = {}
    for r in used:
        for p in r.problems:
            key = (p.column, p.what)
            if key not in summed:
                summed[key] = p
                continue
            old = summed[key]
            taken = max(0, min(len(p.lines), 5 - len(old.lines)))
            summed[key] = replace(old, rows=old.rows + p.rows, lines=old.lines + p.lines[:taken],
                                  ids=old.ids + p.ids[:taken], values=tuple(dict.fromkeys(old.values + p.values))[:5])
    checks = ("contains", "value longer")
    char_problems = sorted(summed.values(), key=lambda p: (order.get(p.column, -1),
                                                            0 if p.what.startswith(checks[0]) else 1))
    unit = "rows" if formats[0] == "parquet" else "file lines"
    return kinds, notes, char_problems, formats[0], unit


def _like(table: pa.Table, schema: pa.Schema, dataset: DataSet, f: DataFile, results) -> pa.Table | None:
    """``table`` in the types of the first file's rows (an int64 column where an earlier file had
    unsigned 64-bit integers becomes decimal(20, 0)); None when a kind differs (merge() refuses it)."""
    if table.schema == schema:
        return table
    first = next(r for r in results if r.kinds)
    if results[-1].kinds != first.kinds:
        return None
    try:
        return table.cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        column = next(c for c, a, b in zip(first.kinds, schema.types, table.schema.types) if a != b)
        raise DataValidationError(dataset.given, [Problem(
            column, "holds unsigned 64-bit integers in one file and signed ones in another", 0,
            fix="Write the column with one type in every file.", files=(f.name,))]) from None


def _in_place(dataset: DataSet, spec) -> bool:
    """Whether the DuckDB engine can read every file of ``dataset`` where it is (:func:`open_dataset` with
    ``in_place``): Parquet files only, no partition folders, the used columns present with the same Parquet
    type in every file and none needing a conversion, no column named like a reader's own. Anything else
    goes through the copy of the used columns (the same verdict either way: tested)."""
    import pyarrow.parquet as pq

    from analysis.read.source import PARQUET_MAGIC, RESERVED_NAMES, parquet_kind, text_columns

    if dataset.keys or not dataset.files:
        return False
    as_text, types = text_columns(spec), None
    for f in dataset.files:
        try:
            with open(f.location, "rb") as handle:
                if handle.read(4) != PARQUET_MAGIC:
                    return False
            schema = pq.ParquetFile(f.location).schema_arrow
        except Exception:  # noqa: BLE001 - unreadable: the copy route's first pass reports it
            return False
        names = [str(n) for n in schema.names]
        if any(n.casefold() in RESERVED_NAMES for n in names) or len(set(names)) != len(names):
            return False
        if not all(c in names for c in spec.file_columns):
            return False
        mine = tuple(schema.field(c).type for c in spec.file_columns)
        kinds = [parquet_kind(t, c in as_text) for t, c in zip(mine, spec.file_columns)]
        if any(kind is None or convert is not None for kind, convert in kinds):
            return False
        if types is not None and mine != types:
            return False
        types = mine
    return True


def _open_in_place(dataset: DataSet, spec, temp_dir, progress):
    """The first pass of every file of a data set that :func:`_in_place` accepts, the files left where they
    are: each file's schema, types and characters checked as a single file's (``open_parquet`` in place),
    problems' rows carrying the file's index; a link to each file in ``temp_dir`` (no character of a file
    name is a pattern to DuckDB)."""
    from analysis.read.source import open_parquet

    results, parts = [], []
    for index, f in enumerate(dataset.files):
        result = FileResult(index=index, name=f.name, format="parquet")
        try:
            source = open_parquet(Path(f.location), spec, keep="parquet", temp_dir=None)
        except DataValidationError as err:
            if err.n_rows == 0:
                result.empty, result.alone, result.alone_rows = True, list(err.problems), err.n_rows
            else:
                result.raised, result.raised_rows = list(err.problems), err.n_rows
            results.append(result)
            continue
        offset = index * FILE_STRIDE
        result.n_rows = int(source.n_rows)
        result.kinds = {c: source.kinds[c] for c in spec.file_columns}
        result.notes = tuple(source.notes)
        result.problems = [replace(p, lines=tuple(x + offset for x in p.lines)) for p in source.problems]
        results.append(result)
        link = Path(temp_dir) / f"part-{index:06d}.parquet"
        os.symlink(os.path.abspath(f.location), link)
        parts.append((link, offset, source.id_range))
        progress(f"read {f.name}")
    return results, tuple(parts)


def open_dataset(dataset: DataSet, spec, keep: str, temp_dir, progress=lambda message: None, in_place: bool = False):
    """The first pass of a local data set on the driver (memory and duckdb engines): every file by
    :func:`scan_file`, merged by :func:`merge`; the used columns of every file in one Arrow table
    (``keep`` "table") or one Parquet file in ``temp_dir``, as :func:`analysis.read.source.open_source`
    gives them for one file. With ``in_place`` (the DuckDB engine) a data set of Parquet files of one
    schema is read where it is (:func:`_in_place`): nothing is copied, and memory does not grow with it."""
    import pyarrow.parquet as pq

    from analysis.read.source import Source, column_names

    if not dataset.local:
        raise file_error(dataset.given, f"is a {scheme(dataset.given)}: URI, which only the spark engine reads",
                         "Use --engine spark (with --spark-master for a cluster), or copy the data to a local folder.")
    if not dataset.files:
        folder = os.path.isdir(unquote(urlparse(dataset.given).path) if scheme(dataset.given) else dataset.given)
        raise file_error(dataset.given, "holds no data files" if folder else "matches no file",
                         "Check the path given with --data.")
    keys = dataset.keys
    for f in dataset.files:
        if tuple(k for k, _ in f.partitions) != keys:
            raise DataValidationError(dataset.given, [Problem(
                "", "has files under different partition folders (" + ", ".join(
                    f"{'/'.join(k for k, _ in g.partitions) or 'none'}: {g.name}" for g in (dataset.files[0], f)) + ")",
                0, fix="Put every file of the data set under the same key=value folders.")])
    n = len(spec.file_columns)
    if in_place and keep != "table" and _in_place(dataset, spec):
        results, links = _open_in_place(dataset, spec, temp_dir, progress)
        kinds, notes, problems, fmt, unit = merge(results, dataset, spec)
        return Source(path=Path(dataset.root or dataset.given), format=fmt, header=tuple(spec.file_columns),
                      positions={c: c for c in spec.file_columns}, kinds=kinds, notes=notes, unit=unit,
                      n_rows=sum(r.n_rows for r in results), parts=links, problems=problems)
    results, parts, writer, target = [], [], None, None
    try:
        for index, f in enumerate(dataset.files):
            result, table = scan_file(f.location, spec, index, f.name, f.partitions, keys)
            results.append(result)
            if table is None or result.raised or any(r.raised for r in results):
                continue
            if parts or writer is not None:
                table = _like(table, (parts[0] if parts else writer).schema, dataset, f, results)
                if table is None:
                    continue      # another kind of column: merge() below refuses the data set
            if keep == "table":
                parts.append(table)
            else:
                if writer is None:
                    target = Path(temp_dir) / "rows.parquet"
                    writer = pq.ParquetWriter(target, table.schema, compression="zstd")
                writer.write_table(table)
            progress(f"read {f.name}")
    finally:
        if writer is not None:
            writer.close()
    kinds, notes, problems, fmt, unit = merge(results, dataset, spec)
    table = None
    if keep == "table":
        table = pa.concat_tables(parts) if parts else None
    names = column_names(n)
    if table is not None:
        table = table.select(names + ["__line", "__row"])
    return Source(path=Path(dataset.root or dataset.given), format=fmt, header=tuple(spec.file_columns),
                  positions={c: c for c in spec.file_columns}, kinds=kinds, notes=notes, unit=unit,
                  n_rows=sum(r.n_rows for r in results), table=table, parquet=target, problems=problems)
