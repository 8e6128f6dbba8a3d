"""The engines that run the rule set's SQL: DuckDB (in memory or streamed from a file) and Spark SQL.

Each engine exposes the same small interface to :func:`analysis.read.read_patterns`: ``relation()`` (the
rows with the used columns ``c0..``, ``__line`` and ``__row``), ``frame(sql)`` (a query's result as a
pandas DataFrame), ``materialize(name, sql)`` (a temporary table), ``drop(name)`` and ``close()``.
What the rows are is decided before them, by the first pass (:mod:`analysis.read.source`): the
DuckDB "memory" engine queries the Arrow table of the used columns in place; the streamed DuckDB engine
and Spark read the Parquet file the first pass wrote from a CSV (or the input Parquet file itself).
"""
from __future__ import annotations

import atexit
import os
import re
import shutil
import sys
import tempfile
import threading
import warnings
from pathlib import Path

import pandas as pd

from analysis.read.rules import Dialect, SparkDialect, literal
from analysis.read.source import column_names


class EngineUnavailable(RuntimeError):
    """The chosen engine cannot run on this machine (e.g. Spark without a Java runtime)."""


def memory_bytes(limit: str) -> int:
    """Bytes in a memory limit written as DuckDB takes it ("2GB", "512MB", "1.5GiB"); ValueError otherwise."""
    match = re.fullmatch(r"\s*([0-9.]+)\s*([KMGT]?)i?B?\s*", str(limit), flags=re.IGNORECASE)
    if not match:
        raise ValueError(f"memory_limit must look like '2GB' or '512MB'; got {limit!r}")
    try:
        number = float(match.group(1))
    except ValueError:
        raise ValueError(f"memory_limit must look like '2GB' or '512MB'; got {limit!r}") from None
    return int(number * 1024 ** "BKMGT".index((match.group(2) or "B").upper()))


class DuckDBEngine:
    dialect = Dialect()
    parts: tuple[str, ...] = ()     # the relation of each file of a data set read in place
    id_ranges: tuple = ()           # and the range of its IDs where they all rose in the first pass

    def __init__(self, source, memory_limit: str, threads: int, temp_dir: str):
        import duckdb

        self.source = source
        self.con = duckdb.connect(config={"memory_limit": memory_limit, "threads": int(threads),
                                          "temp_directory": temp_dir, "preserve_insertion_order": True})
        # no progress bar: on a terminal DuckDB draws one on stderr; in a Jupyter kernel (quarto render runs the
        # report there) it is already off, and any SET of it raises there unless ipywidgets is installed
        if self.con.execute("SELECT current_setting('enable_progress_bar')").fetchall()[0][0]:
            self.con.execute("SET enable_progress_bar = false")
        n = len(source.positions)
        names = column_names(n)
        if source.table is not None:
            self.con.register("src_rows", source.table)
            self._relation = "src_rows"
        elif source.parquet is not None:
            self._relation = f"read_parquet({literal(str(source.parquet))})"
        elif getattr(source, "parts", ()):   # a data set of Parquet files read in place
            cols = ", ".join(f"{self.dialect.ident(c)} AS {k}" for c, k in zip(source.positions.values(), names))
            self.parts = tuple(
                f"(SELECT {cols}, {offset} + file_row_number + 1 AS __line, {offset} + file_row_number + 1 AS __row "
                f"FROM read_parquet({literal(str(link))}, file_row_number = true))"
                for link, offset, _ in source.parts)
            self.id_ranges = tuple(id_range for _, _, id_range in source.parts)
            # one scan of every file (a UNION ALL of 200 parts ran out of memory under 2 GB in the level-1
            # aggregation); each row's file offset from its file_index
            links = ", ".join(literal(str(link)) for link, _, _ in source.parts)
            offsets = "[" + ", ".join(str(offset) for _, offset, _ in source.parts) + "]"
            row = f"{offsets}[file_index::BIGINT + 1] + file_row_number + 1"
            self._relation = (f"(SELECT {cols}, {row} AS __line, {row} AS __row FROM read_parquet([{links}], "
                              "file_row_number = true, union_by_name = true))")
        else:
            cols = ", ".join(f"{self.dialect.ident(c)} AS {k}" for c, k in zip(source.positions.values(), names))
            self._relation = (f"(SELECT {cols}, file_row_number + 1 AS __line, file_row_number + 1 AS __row "
                              f"FROM read_parquet({literal(str(source.in_place))}, file_row_number = true))")
        #: a scan of a Parquet file in place follows the file's order (``lag() OVER ()`` proves IDs increase);
        #: so does each part of a data set read in place (``parts``: one relation per file, checked one by one)
        self.ordered_scan = bool(self.parts) or (source.in_place is not None and source.table is None
                                                 and source.parquet is None)

    def relation(self) -> str:
        return self._relation

    def ids_not_proved(self, rules, relation: str) -> int:
        """Rows whose ID is missing or not above the ID of the row before, in an ordered scan (of each part,
        plus the parts whose ID ranges meet): 0 proves the IDs unique without a hash of every ID."""
        if self.parts and ranges_apart(self.id_ranges):
            return 0     # each part's IDs rose in the first pass, and the parts' ranges do not meet
        query = rules.not_increasing_parts(self.parts) if self.parts else rules.not_increasing(relation)
        return int(self.frame(query)["n"].iloc[0])

    def frame(self, query: str) -> pd.DataFrame:
        return self.con.execute(query).df()

    def materialize(self, name: str, query: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {query}")

    def drop(self, name: str) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS {name}")

    def close(self) -> None:
        self.con.close()


_SPARK = None
_SPARK_LOCK = threading.Lock()
#: Spark's JVM logging: errors only (see the file)
LOG4J2 = Path(__file__).with_name("log4j2.properties")


def spark_session(memory_limit: str = "2GB", threads: int = 2, temp_dir: str | None = None,
                  master: str | None = None):
    """The Spark session the spark engine runs on.

    * A session the caller created and left active (``SparkSession.getActiveSession()``) is used as it is,
      whatever its master (``local[n]``, ``spark://``, YARN, Kubernetes): its settings are the caller's.
    * Otherwise one session per process is created on first use, with master ``master`` (default
      ``local[threads]``). Settings take effect only at creation: the driver's heap is ``memory_limit``,
      the UI is off, shuffles use few partitions (the pattern table is small) and the log level is ERROR.
      For a cluster master (anything but ``local...``), :func:`analysis.read.spark_scan.prepare_cluster`
      makes the package and its Python available to the executors (see there).

    A second call asking for another master than the process's session has raises EngineUnavailable
    (Spark runs one context per process).
    """
    global _SPARK
    with _SPARK_LOCK:
        active = _active_session()
        if active is not None and active is not _SPARK:
            running = active.sparkContext.master
            if master and master != running:
                raise EngineUnavailable(
                    f"the active Spark session of this process has master {running!r}, not {master!r}; stop it "
                    "first, or leave out --spark-master to use it.")
            return active
        if _SPARK is not None:
            running = _SPARK.sparkContext.master
            if master and master != running:
                raise EngineUnavailable(
                    f"this process already runs a Spark session with master {running!r}; it cannot also connect "
                    f"to {master!r} (one Spark context per process). Run the analysis in a new process.")
            return _SPARK
        java_home = os.environ.get("JAVA_HOME")
        if not shutil.which("java") and not (java_home and Path(java_home, "bin", "java").exists()):
            raise EngineUnavailable(
                "--engine spark needs a Java runtime (Java 17 or later) on PATH or in JAVA_HOME, and none "
                "was found. Install one (e.g. Debian's openjdk-17-jre-headless) or use --engine duckdb, "
                "which gives the same results.")
        from pyspark.sql import SparkSession

        # pyspark warns on its pandas conversions that it "does not yet fully support pandas >= 3"; the
        # package converts only the small pattern table (via Arrow, tested equal to DuckDB's)
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas",
                                category=FutureWarning)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        master = master or f"local[{int(threads)}]"
        cluster = not is_local_master(master)
        # executors may run the package's first pass in Python (analysis.read.spark_scan): the driver's
        # interpreter (its packages), unless the user named one
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        local_dir = temp_dir or tempfile.mkdtemp(prefix="analysis-spark-")
        if not temp_dir:
            atexit.register(shutil.rmtree, local_dir, ignore_errors=True)
        heap_mb = max(512, memory_bytes(memory_limit) // (1 << 20))
        builder = (SparkSession.builder.master(master).appName("analysis-read")
                   .config("spark.ui.enabled", "false")
                   .config("spark.ui.showConsoleProgress", "false")
                   .config("spark.sql.shuffle.partitions", str(max(2, 2 * int(threads))))
                   .config("spark.driver.memory", f"{heap_mb}m")
                   .config("spark.sql.execution.arrow.pyspark.enabled", "true")
                   .config("spark.sql.ansi.enabled", "false")
                   .config("spark.local.dir", local_dir)
                   # the JVM's log level before it starts: without this, WARN lines of the start-up
                   # reach stderr whatever --quiet says (setLogLevel below acts only after them)
                   .config("spark.driver.extraJavaOptions",
                           f"-Dlog4j2.configurationFile={LOG4J2.as_uri()}"))
        try:
            _SPARK = builder.getOrCreate()
        except Exception as err:  # noqa: BLE001 - a master that cannot be reached, a bad URL
            raise EngineUnavailable(f"could not start Spark with master {master!r}: {type(err).__name__}: "
                                    f"{str(err).strip().splitlines()[0][:300] if str(err).strip() else ''}") from None
        _SPARK.sparkContext.setLogLevel("ERROR")
        if cluster:
            from analysis.read.spark_scan import prepare_cluster

            prepare_cluster(_SPARK)
        return _SPARK


def is_local_master(master: str | None) -> bool:
    """Whether a Spark master URL runs everything in this process (``local``, ``local[4]``, ``local[*]``)."""
    return master is None or master == "local" or master.startswith("local[")


def _active_session():
    """The Spark session the caller made active in this process, or None (pyspark not even imported: None)."""
    if "pyspark.sql" not in sys.modules:
        return None
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is None:
        return None
    try:
        session.sparkContext  # a stopped session raises here
    except Exception:  # noqa: BLE001
        return None
    return session if session.sparkContext._jsc is not None else None


def arrow_frame(table) -> pd.DataFrame:
    """An Arrow table as pandas, integer columns exact: ``Int64`` where one holds a NULL, int64 otherwise."""
    import pyarrow as pa

    out = table.to_pandas(types_mapper=lambda t: pd.Int64Dtype() if pa.types.is_integer(t) else None)
    for name, column in zip(table.column_names, table.columns):
        if pa.types.is_integer(column.type) and column.null_count == 0:
            out[name] = out[name].astype("int64")
    return out


def rising_runs(batches):
    """mapInArrow over ``__row`` and the ID of the rows in a task's scan order: the runs of rising IDs on
    consecutive rows as rows ``n`` = 0, ``lo``, ``hi`` (a run's first and last ID); once an ID is missing or
    not above the ID of the row before it, one row ``n`` > 0 instead (the proof failed: the duplicate check
    then hashes the IDs). A run ends where the rows stop being consecutive: Spark packs several files, or
    pieces of one, into a task in any order, and a run spanning two of them would cover the IDs between
    them. The rows of every task together prove the IDs unique when no two runs' ranges meet
    (:func:`runs_not_proved`): each run's IDs are distinct, and so are the runs'."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    n, runs, type_, previous = 0, [], None, None
    for batch in batches:
        if n or batch.num_rows == 0:
            continue
        rows, ids = batch.column(0).to_numpy(zero_copy_only=False), batch.column(1)
        type_, n = ids.type, ids.null_count + batch.column(0).null_count
        if n:
            continue
        starts = np.flatnonzero(rows[1:] != rows[:-1] + 1) + 1      # where a run of consecutive rows begins
        within = np.ones(len(rows) - 1, dtype=bool)
        within[starts - 1] = False
        rising = pc.greater(ids[1:], ids[:-1]).to_numpy(zero_copy_only=False)
        n = int(np.count_nonzero(within & ~rising))
        if n:
            continue
        for begin, end in zip([0, *starts], [*starts, len(rows)]):
            first, last = ids[int(begin)].as_py(), ids[int(end) - 1].as_py()
            if begin == 0 and previous is not None and rows[0] == previous + 1:    # the last batch's run goes on
                if not first > runs[-1][1]:
                    n = 1
                    break
                runs[-1][1] = last
            else:
                runs.append([first, last])
        previous = rows[-1]
    if n:
        runs = [[None, None]]
    if runs:
        yield pa.RecordBatch.from_arrays([pa.array([n] * len(runs), pa.int64()), pa.array([r[0] for r in runs], type_),
                                          pa.array([r[1] for r in runs], type_)], names=["n", "lo", "hi"])


def meeting_ranges(ranges) -> int:
    """How many of the (first, last) ID ranges ``ranges`` meet an earlier one (sorted by their first ID): 0
    when no two share an ID, which, for ranges of strictly rising IDs, proves every ID unique."""
    bad, top = 0, None
    for lo, hi in sorted(tuple(r) for r in ranges):
        if top is not None and lo <= top:
            bad += 1
        top = hi if top is None or hi > top else top
    return bad


def ranges_apart(ranges) -> bool:
    """Every file's IDs rose in the first pass (no range is None) and no two files' ranges meet."""
    ranges = list(ranges)
    return bool(ranges) and None not in ranges and meeting_ranges(ranges) == 0


def runs_not_proved(runs: pd.DataFrame) -> int:
    """Missing or non-rising IDs of :func:`rising_runs`' rows, plus the runs whose range meets an earlier
    run's (:func:`meeting_ranges`): 0 proves every ID unique."""
    return int(runs["n"].sum()) + meeting_ranges((lo, hi) for lo, hi in zip(runs["lo"], runs["hi"]) if not pd.isna(lo))


class SparkEngine:
    dialect = SparkDialect()
    #: IDs are proved unique from each task's runs of rising IDs (``ids_not_proved``), without the hash of
    #: every ID (``GROUP BY id``, a shuffle of every row: 15 of 27 s at 10M rows on two cores)
    ordered_scan = True

    def __init__(self, source, memory_limit: str, threads: int, temp_dir: str, master: str | None = None):
        from pyspark.sql import functions as F

        self.spark = spark_session(memory_limit, threads, master=master)
        self.views: list[str] = []
        self.tag = f"rows{id(self)}"
        names = column_names(len(source.positions))
        if source.parquet is not None:
            frame = self.spark.read.parquet(str(source.parquet))
        else:
            frame = self.spark.read.parquet(str(source.in_place))
            row = (F.col("_metadata.row_index") + 1).cast("bigint")
            frame = frame.select(*[F.col("`" + c.replace("`", "``") + "`").alias(k)
                                   for c, k in zip(source.positions.values(), names)],
                                 row.alias("__line"), row.alias("__row"))
        self.view(self.tag, frame)

    def view(self, name: str, frame) -> None:
        frame.createOrReplaceTempView(name)
        self.views.append(name)

    def relation(self) -> str:
        return self.tag

    def ids_not_proved(self, rules, relation: str) -> int:
        """0 when the IDs are proved unique without a shuffle: the IDs in each task's scan order (narrow: a
        file's rows, or a Parquet split's, come in their order) fall into runs of rising IDs whose ranges do
        not meet (:func:`rising_runs`, :func:`runs_not_proved`); otherwise the duplicate check hashes them.
        Sound in any order of the rows: only whether the proof succeeds depends on it. Its cost is moving
        every ID through Arrow to Python (150M rows: 18 s on two cores in local mode, the plain read 6 s);
        on a cluster, Parquet parts whose IDs rose in the verdict job need no such pass
        (:meth:`analysis.read.spark_scan.SparkScanEngine.ids_not_proved`)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ids = self.spark.sql(rules.ids(relation))
            kind = ids.schema.fields[1].dataType.simpleString()
            runs = ids.mapInArrow(rising_runs, f"n bigint, lo {kind}, hi {kind}")
            return runs_not_proved(arrow_frame(runs.toArrow()) if hasattr(runs, "toArrow") else runs.toPandas())

    def frame(self, query: str) -> pd.DataFrame:
        """The result through Arrow, as DuckDB gives it: an integer column holding a NULL becomes ``Int64``
        (``toPandas`` makes it float64, which cannot hold every BIGINT exactly), the others int64."""
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = self.spark.sql(query)
            if not hasattr(result, "toArrow"):      # pyspark < 4
                return result.toPandas()
            return arrow_frame(result.toArrow())

    def materialize(self, name: str, query: str) -> None:
        """Compute ``query`` once and keep it as a leaf of later plans (a local checkpoint, not
        ``cache()``: with a cached plan Spark's optimizer canonicalizes the SQL behind it again in every
        query that reads it, which took minutes on the check masks of the error path)."""
        self.view(name, self.spark.sql(query).localCheckpoint(eager=True))

    def drop(self, name: str) -> None:
        if self.spark.catalog.tableExists(name):
            self.spark.catalog.dropTempView(name)

    def close(self) -> None:
        self.spark.catalog.clearCache()
        for name in self.views:
            self.spark.catalog.dropTempView(name)
