"""The driver process of tests/test_spark_cluster.py: everything that needs a Spark session connected to the
standalone cluster, in one process (one Spark context per process; one start-up).

    python tests/cluster_driver.py PLAN.json RESULT.json

PLAN: {"master": URL, "cases": [[name, path], ...], "runs": [[name, data, out], ...], "cli": [args...]}.
RESULT: per case the verdict (as tests/read/test_read.py's ``verdict``), per run the coefficient tables of
the whole analysis on the cluster's pattern table, the command line's exit code, and what the driver
left in its temporary folders: the files every read's own temporary folder (``analysis-read-*``) held
when it was removed, and every file under TMPDIR at the end.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from types import SimpleNamespace


def plain(value):
    """JSON-able: tuples as lists, numpy scalars as Python numbers."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value


def main(plan_path: str, result_path: str) -> None:
    import analysis.read as reader
    from analysis import cli, pipeline
    from analysis.config import RunConfig
    from analysis.read import DataValidationError, read_patterns
    from analysis.spec import default_spec

    plan = json.loads(Path(plan_path).read_text())
    master = plan["master"]
    spills: list[list[str]] = []

    def recording_rmtree(path, *args, **kwargs):
        spills.append([str(p.relative_to(path)) for p in Path(path).rglob("*")])
        return shutil.rmtree(path, *args, **kwargs)

    reader.shutil = SimpleNamespace(rmtree=recording_rmtree)
    # which cases Spark's own Parquet reader read (the first pass found every part native)
    from analysis.read import spark_scan

    native_rows, natives = spark_scan.SparkScanEngine._native_rows, []

    def recording_native(self, *args):
        natives.append(current[0])
        return native_rows(self, *args)

    spark_scan.SparkScanEngine._native_rows = recording_native
    current = [None]
    spec = default_spec()
    out = {"cases": {}, "runs": {}, "timings": {}}
    start = time.perf_counter()
    for name, path in plan["cases"]:
        t0 = time.perf_counter()
        current[0] = name
        try:
            got = read_patterns(path, spec, engine="spark", spark_master=master, hash_file=False)
            out["cases"][name] = plain(("ok", got.patterns.to_dict("list"), got.n_rows))
        except DataValidationError as err:
            out["cases"][name] = plain(("error", err.verdict(), err.n_rows))
        except Exception:  # noqa: BLE001 - reported to the test
            out["cases"][name] = ["crash", traceback.format_exc(limit=6)]
        out["timings"][name] = time.perf_counter() - t0
    for name, data in plan["runs"]:
        t0 = time.perf_counter()
        results = pipeline.run(RunConfig(data=data, engine="spark", spark_master=master, bootstrap=0))
        out["runs"][name] = {t: results.tables[t][["term", "estimate", "std_error"]].to_dict("list")
                             for t in ("coefficients", "coefficients_full")}
        out["runs"][name]["source"] = plain(results.metrics["data"])
        out["timings"][name] = time.perf_counter() - t0
    if plan.get("cli"):
        t0 = time.perf_counter()
        out["cli"] = cli.main([*plan["cli"], "--spark-master", master, "--quiet"])
        out["timings"]["cli"] = time.perf_counter() - t0
    out["timings"]["total"] = time.perf_counter() - start
    out["spills"] = spills
    out["native"] = natives
    tmp = Path(tempfile.gettempdir())
    out["driver_files"] = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file())
    out["executor_python"] = os.environ.get("PYSPARK_PYTHON")
    Path(result_path).write_text(json.dumps(out))


if __name__ == "__main__":
    main(*sys.argv[1:3])
