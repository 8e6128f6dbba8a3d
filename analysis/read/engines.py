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
        else:
            path = source.parquet if source.format == "csv" else source.path
            if source.format == "csv":
                self._relation = f"read_parquet({literal(str(path))})"
            else:
                cols = ", ".join(f"{self.dialect.ident(c)} AS {k}" for c, k in zip(source.positions.values(), names))
                self._relation = (f"(SELECT {cols}, file_row_number + 1 AS __line, file_row_number + 1 AS __row "
                                  f"FROM read_parquet({literal(str(path))}, file_row_number = true))")
        #: a scan of a Parquet file follows the file's order (``lag() OVER ()`` proves IDs increase)
        self.ordered_scan = source.format == "parquet" and source.table is None

    def relation(self) -> str:
        return self._relation

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


def spark_session(memory_limit: str = "2GB", threads: int = 2, temp_dir: str | None = None):
    """The process's local Spark session (``local[threads]``), created once on first use.

    Settings take effect only at creation: the driver's heap is ``memory_limit``, the UI is off,
    shuffles use few partitions (the pattern table is small) and the log level is ERROR.
    """
    global _SPARK
    with _SPARK_LOCK:
        if _SPARK is None:
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
            local_dir = temp_dir or tempfile.mkdtemp(prefix="analysis-spark-")
            if not temp_dir:
                atexit.register(shutil.rmtree, local_dir, ignore_errors=True)
            heap_mb = max(512, memory_bytes(memory_limit) // (1 << 20))
            builder = (SparkSession.builder.master(f"local[{int(threads)}]").appName("analysis-read")
                       .config("spark.ui.enabled", "false")
                       .config("spark.ui.showConsoleProgress", "false")
                       .config("spark.sql.shuffle.partitions", str(max(2, 2 * int(threads))))
                       .config("spark.driver.memory", f"{heap_mb}m")
                       .config("spark.sql.execution.arrow.pyspark.enabled", "true")
                       .config("spark.sql.ansi.enabled", "false")
                       .config("spark.local.dir", local_dir))
            _SPARK = builder.getOrCreate()
            _SPARK.sparkContext.setLogLevel("ERROR")
        return _SPARK


class SparkEngine:
    dialect = SparkDialect()
    ordered_scan = False  # lag(...) OVER () would move every row into one partition

    def __init__(self, source, memory_limit: str, threads: int, temp_dir: str):
        from pyspark.sql import functions as F

        self.spark = spark_session(memory_limit, threads)
        self.views: list[str] = []
        self.tag = f"rows{id(self)}"
        names = column_names(len(source.positions))
        if source.format == "csv":
            frame = self.spark.read.parquet(str(source.parquet))
        else:
            frame = self.spark.read.parquet(str(source.path))
            row = (F.col("_metadata.row_index") + 1).cast("bigint")
            frame = frame.select(*[F.col(f"`{c}`").alias(k) for c, k in zip(source.positions.values(), names)],
                                 row.alias("__line"), row.alias("__row"))
        self.view(self.tag, frame)

    def view(self, name: str, frame) -> None:
        frame.createOrReplaceTempView(name)
        self.views.append(name)

    def relation(self) -> str:
        return self.tag

    def frame(self, query: str) -> pd.DataFrame:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self.spark.sql(query).toPandas()

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
