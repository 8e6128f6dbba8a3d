"""The spark engine on a standalone cluster (issue 20): a master and two workers on 127.0.0.1, started from
pyspark's own scripts, each worker in its own mount namespace where the driver's temporary folder is an
empty tmpfs (tests/spark_cluster.py). Data live in a folder both see, as on shared storage.

One driver process (tests/cluster_driver.py: one Spark start-up for the whole module) reads every case
through the cluster -- the executors read and validate; were anything read from the driver's disk, the
workers could not see it and the read would fail -- and this process reads the same files with DuckDB:

* the coupon CSV and a Hive-partitioned Parquet copy of it (job=... folders, several part files each):
  the same pattern table, and estimates and standard errors of the full and the final model equal to
  the DuckDB engine's to 1e-9; the command line with --spark-master exits 0 with the same estimates;
* bad inputs (values, CSV structure, encoding, Parquet types, several files) and a sample of the fuzzer's
  cases (tests/fuzzing.py): the same verdict and problems as DuckDB, lines included;
* the driver's own temporary folder of each read stayed empty, and no data file was left under its TMPDIR.

Bounded: the cluster starts within 240 s or the test fails, the driver gets 1,500 s, and the cluster is
stopped (every process it started) at the end of the module, whatever happens. Skipped with the reason
when Java, unshare or root is missing; failed instead under CI=true.
"""
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import pipeline
from analysis.config import RunConfig
from analysis.read import DataValidationError, read_patterns
from analysis.spec import default_spec

import fuzzing  # noqa: E402
from csv_helpers import GOOD_ROWS, HEADER  # noqa: E402
from spark_cluster import LocalCluster, missing_requirements  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SPEC = default_spec()
TOL = 1e-9
N_FUZZ_CSV, N_FUZZ_PARQUET = 10, 4

BAD_ROWS = {
    "missing": "2,,technician,divorced,no,yes,no,2,0,1",
    "text": "2,4x,technician,divorced,no,yes,no,2,0,1",
    "huge": "2,42,technician,divorced,no,yes,no,99999999999999999999,0,1",
    "non_integer": "2,42,technician,divorced,no,yes,no,2.5,0,1",
    "above": "2,130,technician,divorced,no,yes,no,2,0,1",
    "response": "2,42,technician,divorced,no,yes,no,2,0,2",
    "binary": "2,42,technician,divorced,maybe ,yes,no,2,0,1",
    "duplicate": "1,42,technician,divorced,no,yes,no,2,0,1",
    "formula": "2,42,=1+1,divorced,no,yes,no,2,0,1",
    "nbsp": "2,42,manage\u00a0ment,divorced,no,yes,no,2,0,1",
    "tag": "2,42,technician\U000E0041,divorced,no,yes,no,2,0,1",
    "long": "2,42," + "x" * 300 + ",divorced,no,yes,no,2,0,1",
}


def _csv_cases(folder: Path) -> dict:
    cases = {}
    for name, row in BAD_ROWS.items():
        cases[f"row-{name}"] = ("\n".join([HEADER, GOOD_ROWS[0], row, *GOOD_ROWS[2:]])).encode()
    cases["quoted-break-cr"] = "\r".join([HEADER, "", GOOD_ROWS[0], '2,42,"tech\nnician",divorced,no,yes,no,2,0,1',
                                          "3,x,admin.,married,no,yes,yes,2,1,0"]).encode()
    cases["unclosed-quote"] = "\n".join([HEADER, GOOD_ROWS[0], '2,42,"technician,divorced,no,yes,no,2,0,1',
                                         *GOOD_ROWS[2:]]).encode()
    cases["stray-quote-and-fields"] = "\r\n".join([HEADER, GOOD_ROWS[0], '2,42,tech"nician,divorced,no,yes,no,2,0,1',
                                                   "3,47,admin.,married", GOOD_ROWS[3]]).encode()
    cases["not-utf8"] = HEADER.encode() + b"\n" + GOOD_ROWS[0].encode() + b"\n2,42,t\xe9chnician,divorced,no,yes,no,2,0,1\n"
    cases["nul"] = HEADER.encode() + b"\n" + GOOD_ROWS[0].encode() + b"\x00\n" + GOOD_ROWS[1].encode() + b"\n"
    cases["bom-blank-lines"] = b"\xef\xbb\xbf" + "\n".join([HEADER, "", *GOOD_ROWS, "  "]).encode()
    cases["header-only"] = (HEADER + "\r\n").encode()
    cases["missing-column"] = "\n".join([HEADER.replace(",marriage", ""), "1,43,management,no,yes,no,2,0,0"]).encode()
    out = {}
    for name, data in cases.items():
        path = folder / f"{name}.csv"
        path.write_bytes(data)
        out[name] = str(path)
    return out


def _parquet_cases(folder: Path) -> dict:
    import pyarrow as pa
    from csv_helpers import write_parquet

    out = {}
    out["pq-uint64"] = str(write_parquet(folder / "uint64.parquet", change={"age": pa.array([43, 42, 2**63 + 5, 28, 33, 51], pa.uint64())}))
    out["pq-float-text"] = str(write_parquet(folder / "float-text.parquet", change={"job": pa.array([1.0, 2.5, 1e20, 0.0, 1.0, 2.0])}))
    out["pq-timestamp"] = str(write_parquet(folder / "ts.parquet", change={"loan": pa.array([pd.Timestamp("2020-01-01")] * 6)}))
    # several files: a bad value in the second part, a duplicate ID across parts
    parts = folder / "parts"
    parts.mkdir()
    write_parquet(parts / "part-00000.parquet")
    write_parquet(parts / "part-00001.parquet", change={"age": pa.array([43, -1, 47, 28, 33, 51], pa.int64()),
                                                        "ID": pa.array([101, 102, 103, 104, 105, 1], pa.int64())})
    out["pq-parts"] = str(parts)
    csvs = folder / "csv-parts"
    csvs.mkdir()
    (csvs / "a.csv").write_text("\n".join([HEADER, *GOOD_ROWS]))
    (csvs / "b.csv").write_text("\n".join([HEADER, "5,43,admin.,married,no,yes,no,2,0,0,extra", "6,x,admin.,single,no,yes,no,1,0,1"]))
    out["csv-parts-fields"] = str(csvs)
    return out


def _fuzz_cases(folder: Path) -> dict:
    base = b"\n".join((ROOT / "data" / "simulated_tianmao.csv").read_bytes().split(b"\n")[:201]) + b"\n"
    out = {}
    for seed in range(60_000, 60_000 + N_FUZZ_CSV):
        data, names = fuzzing.mutate(base, random.Random(seed))
        path = folder / f"fuzz{seed}.csv"
        path.write_bytes(data)
        out[f"fuzz-csv-{seed}"] = str(path)
    for seed in range(61_000, 61_000 + N_FUZZ_PARQUET):
        table, row_group, names = fuzzing.mutate_parquet(base, random.Random(seed))
        path = folder / f"fuzz{seed}.parquet"
        fuzzing.write_parquet_case(path, table, row_group)
        out[f"fuzz-parquet-{seed}"] = str(path)
    return out


def _partitioned_copy(csv: Path, folder: Path) -> Path:
    """The coupon data as Hive-style job=... folders of three part files each (the column only in the names)."""
    frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
    frame[["ID", "age", "coupon_used_in_last6_month", "coupon_used_in_last_month", "coupon_ind"]] = frame[
        ["ID", "age", "coupon_used_in_last6_month", "coupon_used_in_last_month", "coupon_ind"]].astype("int64")
    root = folder / "coupons"
    for level, rows in frame.groupby("job"):
        target = root / f"job={level}"
        target.mkdir(parents=True)
        rows = rows.drop(columns="job")
        cuts = np.linspace(0, len(rows), 4).astype(int)
        for k in range(3):
            rows.iloc[cuts[k]:cuts[k + 1]].to_parquet(target / f"part-{k:05d}.parquet", index=False)
    (root / "_SUCCESS").write_bytes(b"")
    return root


def _parts_copy(csv: Path, folder: Path) -> Path:
    """The coupon data as four plain Parquet part files (as Spark writes them): Spark's own reader reads them."""
    frame = pd.read_csv(csv, dtype={"ID": "int64", "age": "int64"})
    root = folder / "coupon-parts"
    root.mkdir()
    cuts = np.linspace(0, len(frame), 5).astype(int)
    for k in range(4):
        frame.iloc[cuts[k]:cuts[k + 1]].to_parquet(root / f"part-{k:05d}.parquet", index=False, row_group_size=3000)
    return root


@pytest.fixture(scope="module")
def cluster_run(real_data_path, tmp_path_factory):
    missing = missing_requirements()
    if missing:
        message = "the Spark cluster test needs " + ", ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    base = Path(tempfile.mkdtemp(prefix="analysis-cluster-"))
    try:
        shared = base / "shared"
        shared.mkdir()
        cases = {**_csv_cases(shared), **_parquet_cases(shared), **_fuzz_cases(shared)}
        coupon_csv = shared / "tianmao.csv"
        coupon_csv.write_bytes(Path(real_data_path).read_bytes())
        partitioned = _partitioned_copy(coupon_csv, shared)
        cases["coupon-parts"] = str(_parts_copy(coupon_csv, shared))
        plan = {"cases": sorted(cases.items()), "runs": [["csv", str(coupon_csv)], ["partitioned", str(partitioned)]],
                "cli": ["fit", "--data", str(coupon_csv), "--out", str(shared / "cli-out"), "--bootstrap", "0",
                        "--select", "none"]}
        with LocalCluster(base, workers=2) as cluster:
            plan["master"] = cluster.master_url
            (base / "plan.json").write_text(json.dumps(plan))
            proc = subprocess.run([sys.executable, str(ROOT / "tests" / "cluster_driver.py"), str(base / "plan.json"),
                                   str(base / "result.json")], cwd=base, env=cluster.driver_env(),
                                  capture_output=True, text=True, timeout=1500)
            assert proc.returncode == 0, proc.stderr[-4000:] + "\n" + cluster.tail()
        result = json.loads((base / "result.json").read_text())
        yield {"result": result, "cases": cases, "csv": coupon_csv, "partitioned": partitioned, "base": base,
               "shared": shared}
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _duckdb_verdict(path):
    from cluster_driver import plain

    try:
        got = read_patterns(path, SPEC, engine="duckdb", hash_file=False)
        return plain(("ok", got.patterns.to_dict("list"), got.n_rows))
    except DataValidationError as err:
        return plain(("error", err.verdict(), err.n_rows))


def _assert_close(ours: dict, theirs: pd.DataFrame, what: str):
    got = pd.DataFrame(ours).set_index("term")
    ref = theirs.set_index("term")
    assert list(got.index) == list(ref.index), (what, list(got.index), list(ref.index))
    for column in ("estimate", "std_error"):
        diff = np.max(np.abs(got[column].to_numpy() - ref[column].to_numpy()) / np.maximum(1, np.abs(ref[column].to_numpy())))
        assert diff <= TOL, (what, column, diff)


@pytest.mark.parametrize("name", ["csv", "partitioned"])
def test_estimates_equal_duckdb(cluster_run, name):
    data = cluster_run["csv"] if name == "csv" else cluster_run["partitioned"]
    ref = pipeline.run(RunConfig(data=data, engine="duckdb", bootstrap=0))
    ours = cluster_run["result"]["runs"][name]
    for table in ("coefficients", "coefficients_full"):
        _assert_close(ours[table], ref.tables[table], f"{name} {table}")
    assert ours["source"]["rows_read"] == 25_317


def test_command_line_with_spark_master(cluster_run):
    result = cluster_run["result"]
    assert result["cli"] == 0
    out = cluster_run["shared"] / "cli-out"
    ref = pipeline.run(RunConfig(data=cluster_run["csv"], engine="duckdb", bootstrap=0, select="none"))
    _assert_close(pd.read_csv(out / "tables" / "coefficients.csv")[["term", "estimate", "std_error"]].to_dict("list"),
                  ref.tables["coefficients"], "cli")
    run = json.loads((out / "run.json").read_text())
    assert "spark://127.0.0.1:" in json.dumps(run), "run.json records the master"


def test_bad_inputs_and_fuzz_sample_same_verdict_as_duckdb(cluster_run):
    result = cluster_run["result"]["cases"]
    failures = []
    kinds = {"ok": 0, "error": 0}
    for name, path in sorted(cluster_run["cases"].items()):
        ours = result[name]
        assert ours[0] != "crash", (name, ours[1])
        theirs = _duckdb_verdict(path)
        kinds[theirs[0]] += 1
        if ours != theirs:
            failures.append(f"{name}: cluster {str(ours)[:600]}\n   duckdb {str(theirs)[:600]}")
        if name.startswith("fuzz-csv") and theirs[0] == "error":
            data = Path(path).read_bytes()
            outcome = tuple(theirs[:1]) + (tuple(tuple(tuple(x) if isinstance(x, list) else x for x in p)
                                                 for p in theirs[1]),) + tuple(theirs[2:])
            failures += [f"{name}: {f}" for f in fuzzing.check(data, {"duckdb": outcome})]
    assert not failures, "\n".join(failures)
    assert kinds["ok"] and kinds["error"] > 20, kinds
    # plain Parquet parts were read by Spark's Parquet reader, converted ones through the first pass's rows
    native = set(cluster_run["result"]["native"])
    assert {"coupon-parts", "pq-parts"} <= native and not native & {"pq-uint64", "pq-float-text"}, native
    # the structural cases kept their physical lines (read on the executors from the file's first byte)
    quoted = result["quoted-break-cr"][1]
    assert {tuple(p[3]) for p in quoted} == {(4,), (6,)}, quoted


def test_driver_read_no_data(cluster_run):
    result = cluster_run["result"]
    assert result["spills"] and all(files == [] for files in result["spills"]), result["spills"]
    data_like = [f for f in result["driver_files"] if f.endswith((".parquet", ".csv")) or "rows" in f]
    assert not data_like, data_like
