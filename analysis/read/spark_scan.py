"""The spark engine on a cluster: Spark's executors read the files and run the first pass; the driver reads nothing.

With a cluster master (``--spark-master spark://...``, YARN, Kubernetes; or ``local-cluster``), or data
only Spark can reach (``hdfs:``, ``s3a:``, ...), the first pass cannot run on the driver: its disk is not
the executors' and the data may be far larger than it. Here

1. Spark lists the data set (``binaryFile`` source: a file, a folder with Hive-style ``key=value``
   folders, a glob; hidden files skipped) -- names and sizes only reach the driver;
2. each executor task reads whole files through Spark (any file system Spark reads) and runs, in its
   Python worker, the package's own first pass on each file's bytes (:func:`analysis.read.dataset.scan_file`:
   the CSV tokenizer of :mod:`analysis.read.csvscan` with physical line numbers, the header, character and
   length checks, the Parquet type rules of :mod:`analysis.read.source`), returning the file's used
   columns as rows plus one summary row (its verdict, kinds, character problems, SHA-256);
3. a first job returns only that summary (a few KB per file), joined by
   :func:`analysis.read.dataset.merge` as for the other engines: the kinds of the columns are then known;
4. the rule set (:mod:`analysis.read.rules`) runs in Spark SQL, as in local mode, on the rows, and only the
   pattern table (and, for a refused file, the first lines, IDs and values of each problem) comes back to
   the driver. When every file is Parquet whose used columns already have their common types
   (``FileResult.native``: the usual case, a folder of parts as Spark or pandas write them), Spark's own
   Parquet reader reads the rows (:meth:`SparkScanEngine._native_rows`: the used columns only, lines from
   ``_metadata.row_index``); otherwise the same first pass makes them again on the executors, streaming
   into each query (never stored: a checkpoint of every row took 2.5 GB of executor storage per 5M rows),
   which is cheaper than storing them. The first job checks a Parquet file without building its rows
   (``scan_file(rows=False)``: text columns as dictionaries, each distinct value checked once per batch).

The verdict and the problems are those of the DuckDB engine, with the same physical line numbers: each
file is tokenized whole by one task, from its first byte, so nothing about a line is guessed. What
differs: a file is the unit of work (a data set of one file is read by one task, and a file must fit
Spark's ``binaryFile`` limit of 2 GB and an executor's memory; split larger data into part files, as
Spark writes them), and the files' SHA-256s are computed by the executors.

The package must be importable on the executors: :func:`prepare_cluster` ships it to them
(``SparkContext.addPyFile`` of a zip of the ``analysis`` package, written once to the driver's temporary
folder: code, not data), and the executors use the driver's Python (``PYSPARK_PYTHON``, unless set).
"""
from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import tempfile
import warnings
import zipfile
from dataclasses import asdict
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa

from analysis.read.dataset import (_GLOB, FILE_STRIDE, DataFile, DataSet, FileResult, _glob_root, hidden, merge, partitions_of,
                                   scan_file, scheme as scheme_of)
from analysis.read.engines import EngineUnavailable, SparkEngine, is_local_master, ranges_apart, spark_session
from analysis.read.problems import DataValidationError, Problem, file_error

PACKAGE = Path(__file__).resolve().parents[1]
#: the largest file Spark's binaryFile source reads (a Java array)
MAX_FILE_BYTES = 2**31 - 1
#: rows per Arrow batch the executors return
BATCH_ROWS = 1 << 16


def prepare_cluster(spark) -> None:
    """Make the package importable on a cluster's executors: a zip of it, added with ``addPyFile``."""
    folder = tempfile.mkdtemp(prefix="analysis-pyfiles-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    target = Path(folder) / "analysis.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(PACKAGE.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix in (".py", ".toml", ".json",
                                                                                      ".properties"):
                archive.write(path, Path("analysis") / path.relative_to(PACKAGE))
    spark.sparkContext.addPyFile(str(target))


def on_executors(spark) -> bool:
    """Whether the first pass must run on the executors: the session's master is not ``local[...]``."""
    return not is_local_master(spark.sparkContext.master)


def _summary(result: FileResult) -> str:
    info = asdict(result)
    info["types"] = {c: str(t) for c, t in result.types.items()}
    return json.dumps(info, default=str)


def _result(text: str) -> FileResult:
    info = json.loads(text)
    for key in ("raised", "problems", "alone"):
        info[key] = [Problem(**{k: tuple(v) if isinstance(v, list) else v for k, v in p.items()}) for p in info[key]]
    info["notes"] = tuple(info["notes"])
    return FileResult(**info)


#: the Spark SQL and Arrow type of a used column, by its kind (an int column with unsigned 64-bit values in
#: some file: decimal(20, 0), which holds every int64 and uint64)
TYPES = {"text": ("string", pa.string()), "int": ("bigint", pa.int64()), "uint": ("decimal(20,0)", pa.decimal128(20, 0)),
         "float": ("double", pa.float64()), "bool": ("boolean", pa.bool_())}


def _files(batches, spec, files: dict, keys: tuple, rows: bool = True):
    """(result, rows) of every file of the binaryFile rows ``batches`` (path, content), by the package's first
    pass (:func:`analysis.read.dataset.scan_file`), with the file's SHA-256."""
    for batch in batches:
        paths = batch.column("path").to_pylist()
        contents = batch.column("content")
        for i, path in enumerate(paths):
            index, name, partitions = files[path]
            data = contents[i].as_buffer()
            data = memoryview(data) if data is not None else b""
            result, table = scan_file(data, spec, index, name, tuple(tuple(p) for p in partitions), keys, rows=rows)
            result.sha256 = hashlib.sha256(data).hexdigest()
            yield result, table


def summarize_partition(batches, spec, files: dict, keys: tuple):
    """mapInArrow on the executors, first job: one summary row per file (its verdict, kinds, character
    problems, SHA-256); the rows are dropped."""
    for result, _ in _files(batches, spec, files, keys, rows=False):
        yield pa.RecordBatch.from_pydict({"__info": [_summary(result)]})


def rows_partition(batches, spec, files: dict, keys: tuple, types: list):
    """mapInArrow on the executors, second job: the used columns ``c0..`` (in ``types``), ``__line`` and
    ``__row`` of every file's rows, in batches of BATCH_ROWS."""
    schema = pa.schema([(f"c{k}", t) for k, t in enumerate(types)] + [("__line", pa.int64()), ("__row", pa.int64())])
    for result, table in _files(batches, spec, files, keys):
        if table is None or result.raised:
            continue
        for batch in table.select(schema.names).to_batches(BATCH_ROWS):
            yield pa.RecordBatch.from_arrays([batch.column(k).cast(schema.field(k).type) for k in range(len(types))]
                                             + [batch.column(len(types)), batch.column(len(types) + 1)], schema=schema)


class SparkScanEngine(SparkEngine):
    """The spark engine with the first pass on the executors (see the module docstring). ``source``: what
    the first pass found (kinds, notes, character problems, format, unit), as ``open_source`` gives it."""

    def __init__(self, dataset: DataSet, spec, memory_limit: str, threads: int, master: str | None = None,
                 progress=lambda message: None):
        self.spark = spark_session(memory_limit, threads, master=master)
        self.views: list[str] = []
        self.tag = f"rows{id(self)}"
        self.dataset = dataset
        uri = dataset.given
        if dataset.local and not dataset.multi:      # one file: its name is not a glob pattern to Hadoop
            uri = "file:" + "".join("\\" + c if c in "*?[]{}\\" else c
                                    for c in os.path.abspath(dataset.files[0].location))
        elif dataset.local and scheme_of(uri) is None:
            uri = "file:" + os.path.abspath(uri)
        jvm = self.spark._jvm
        hadoop_path = jvm.org.apache.hadoop.fs.Path
        conf = self.spark._jsc.hadoopConfiguration()
        root_text = _glob_root(uri) if _GLOB.search(uri.split(":", 1)[-1]) else uri
        try:
            root_path = hadoop_path(root_text)
            root = str(root_path.getFileSystem(conf).makeQualified(root_path).toString()).rstrip("/")
            frame = self.spark.read.format("binaryFile").load(uri)
            listing = sorted((str(r["path"]), int(r["length"])) for r in frame.select("path", "length").collect())
        except Exception as err:  # noqa: BLE001 - Spark's AnalysisException for a path it cannot list
            text = str(err)
            if "PATH_NOT_FOUND" in text or "does not exist" in text:
                raise file_error(dataset.given, "does not exist", "Check the path given with --data.") from None
            raise EngineUnavailable(f"Spark could not list {dataset.given}: {type(err).__name__}: "
                                    f"{text.strip().splitlines()[0][:300] if text.strip() else ''}") from None
        single = not dataset.multi
        files = []
        for path, size in listing:
            name = path.rsplit("/", 1)[-1] if single or not path.startswith(root + "/") else path[len(root) + 1:]
            if any(hidden(part) for part in name.split("/")[:-1]):
                continue
            files.append(DataFile(location=path, name=name, partitions=partitions_of(name) if not single else (),
                                  size=size))
        files.sort(key=lambda f: f.name)
        self.dataset = dataset = DataSet(given=dataset.given, root=root, files=files, multi=dataset.multi,
                                         local=dataset.local)
        if not files and single:   # Spark lists no empty file: say what the single-file first pass says
            status = root_path.getFileSystem(conf).getFileStatus(root_path)
            if status.isFile() and status.getLen() == 0:
                raise file_error(dataset.given, "is empty", "Export the data again; the file has no header and no rows.")
        if not files:
            raise file_error(dataset.given, "holds no data files", "Check the path given with --data.")
        limit = min(int(self.spark.conf.get("spark.sql.sources.binaryFile.maxLength", str(MAX_FILE_BYTES))),
                    MAX_FILE_BYTES)
        big = [f for f in files if f.size is not None and f.size > limit]
        if big:
            raise EngineUnavailable(
                f"{big[0].name} is {big[0].size / 2**30:.1f} GiB: on a cluster the spark engine reads each file whole "
                f"in one task, up to {limit / 2**30:.1f} GiB (Spark's binaryFile limit). Split the data into part files "
                "(a folder of them reads as one data set), or use --engine duckdb on one machine.")
        keys = dataset.keys
        for f in files:
            if tuple(k for k, _ in f.partitions) != keys:
                raise DataValidationError(dataset.given, [Problem(
                    "", "has files under different partition folders (" + ", ".join(
                        f"{'/'.join(k for k, _ in g.partitions) or 'none'}: {g.name}" for g in (files[0], f)) + ")",
                    0, fix="Put every file of the data set under the same key=value folders.")])
        mapping = {f.location: (i, f.name, f.partitions) for i, f in enumerate(files)}
        progress(f"spark: the executors read {len(files):,} file(s) of {dataset.given}")

        def summarize(batches):
            return summarize_partition(batches, spec, mapping, keys)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)    # pyspark on pandas 3 (see engines.spark_session)
            files_only = frame.select("path", "content")
            try:
                summaries = files_only.mapInArrow(summarize, "__info string").collect()
            except Exception as err:  # noqa: BLE001 - Spark cannot read a file (Hadoop refuses a ':' in a name)
                cause = str(err).strip().splitlines()
                hint = " (Hadoop cannot read a file whose name holds ':'; rename it)" if any(
                    ":" in f.name.rsplit("/", 1)[-1] for f in files) else ""
                raise EngineUnavailable(f"Spark could not read {dataset.given}{hint}: {type(err).__name__}: "
                                        f"{cause[0][:300] if cause else ''}") from None
        results = sorted((_result(r["__info"]) for r in summaries), key=lambda r: r.index)
        self.digests = {r.name: r.sha256 for r in results}
        kinds, notes, problems, fmt, unit = merge(results, dataset, spec)
        self._rows(spec, files, results, problems, kinds, files_only, mapping, keys)
        self.id_ranges = [r.id_range for r in results if not r.empty]
        self.source = SimpleNamespace(path=dataset.given, format=fmt, kinds=kinds, notes=notes, problems=problems,
                                      unit=unit, n_rows=sum(r.n_rows for r in results),
                                      positions={c: c for c in spec.file_columns}, header=tuple(spec.file_columns))

    def ids_not_proved(self, rules, relation: str) -> int:
        """0 without a pass over the rows when the verdict job saw each file's 64-bit integer IDs rise in its
        order (``FileResult.id_range``) and no two files' ranges meet; else the proof of the local engine."""
        return 0 if ranges_apart(self.id_ranges) else super().ids_not_proved(rules, relation)

    def _rows(self, spec, files: list, results: list, problems: list, kinds: dict, files_only, mapping: dict,
              keys: tuple) -> None:
        """The view of the rows the rule set queries: Spark's Parquet reader when every file is ``native``,
        else the first pass on the executors again (see the module docstring)."""
        used = [r for r in results if not r.empty]
        names = []
        for column in spec.file_columns:
            kind = kinds[column]
            if kind == "int" and any(str(r.types.get(column, "")).startswith("decimal") for r in used):
                kind = "uint"
            names.append(kind)
        types = [TYPES[kind][1] for kind in names]

        def rows(batches):
            return rows_partition(batches, spec, mapping, keys, types)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            # (files with character problems, which are refused, keep the route their tests compare with DuckDB)
            if used and all(r.native for r in used) and not problems:
                self.view(self.tag, self._native_rows(spec, files, used, names))
            else:
                # the rows are made again, streaming, by the queries of the rule set: never stored, never on
                # the driver
                schema = (", ".join(f"c{k} {TYPES[kind][0]}" for k, kind in enumerate(names))
                          + ", __line bigint, __row bigint")
                self.view(self.tag, files_only.mapInArrow(rows, schema))

    def _native_rows(self, spec, files: list, used: list, names: list):
        """The rows of a data set of Parquet files that the first pass found ``native`` (every used column
        already of its common type): read by Spark's own Parquet reader on the executors, with the explicit
        schema of the used columns (each file's other columns are not read), ``__line`` / ``__row`` from
        ``_metadata.row_index`` and the file's index, as the first pass numbers them. The same rows as
        :func:`rows_partition` makes in Python (tested), without Python: at 10M rows the rule set's scan
        took 22 s through Python, 11 s this way; a file is split by row groups over several tasks."""
        from pyspark.sql import functions as F

        columns = list(spec.file_columns)
        ddl = ", ".join(f"{self.dialect.ident(c)} {TYPES[kind][0]}" for c, kind in zip(columns, names))
        paths = [files[r.index].location for r in used]
        # _metadata.file_path is the file's URI, encoded as Hadoop's Path.toUri gives it ('a b%' ->
        # 'a%20b%25'), the listing's path is not: both are keys (the listing's where no URI is alike)
        hadoop_path = self.spark._jvm.org.apache.hadoop.fs.Path
        keys = {str(hadoop_path(files[r.index].location).toUri().toString()): r.index for r in used}
        keys |= {files[r.index].location: r.index for r in used if files[r.index].location not in keys}
        offsets = F.create_map(*[x for key, index in keys.items() for x in (F.lit(key), F.lit(index * FILE_STRIDE))])
        frame = self.spark.read.schema(ddl).parquet(*paths)
        # a file Spark names otherwise (another file system's encoding) stops the query with its name, never
        # gives rows without lines
        offset = F.coalesce(F.element_at(offsets, F.col("_metadata.file_path")), F.raise_error(F.concat(
            F.lit("the spark engine found no file offset for "), F.col("_metadata.file_path"))).cast("bigint"))
        line = (offset + F.col("_metadata.row_index") + 1).cast("bigint")
        return frame.select(*[F.col(self.dialect.ident(c)).alias(f"c{k}") for k, c in enumerate(columns)],
                            line.alias("__line"), line.alias("__row"))

