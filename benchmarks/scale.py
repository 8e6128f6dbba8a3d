"""Benchmark: `python -m analysis fit` on 1M, 10M and 100M simulated rows, against a Logit on the raw rows.

    .venv/bin/python benchmarks/scale.py [--rows 1000000 10000000 100000000] [--dir DIR]
                                         [--raw-max 10000000] [--engine duckdb] [--spec SPEC.toml]
                                         [--bootstrap 0] [--resample CSV] [--json OUT.json]
                                         [--spark-master URL | --start-cluster N] [--part-rows 5000000]
                                         [--copies K]

Spark on a cluster: ``--spark-master URL`` runs ``ours`` with ``--engine spark --spark-master URL`` (the
executors read and validate; the data must be on storage they see, so --dir must be); ``--start-cluster N``
first starts a standalone cluster of N workers on 127.0.0.1 from pyspark's own scripts
(tests/spark_cluster.py: each worker in its own mount namespace, ``--worker-memory`` each) and stops it at
the end. With either, the simulated file is also written as a folder of Parquet parts of ``--part-rows``
rows (a file is one executor task), and that folder is what ``ours`` reads; the raw Logit and the
pattern fit still read the single file (the same rows). Example (10^8 rows on a cluster):

    .venv/bin/python benchmarks/scale.py --rows 100000000 --raw-max 0 --spark-master spark://HOST:7077 \
        --dir /shared/coupon-scale

``--copies K`` (10^9 rows and more): ``ours`` reads a data set of K copies of each simulated file, as
Parquet parts of ``--part-rows`` rows, copy k with its IDs shifted by k times the rows (so they stay unique
and rise from part to part): K x ROWS rows, the same patterns K times over, made once and not timed; no
raw Logit. The lead's 10^9-row runs, through DuckDB and through the localhost cluster:

    .venv/bin/python benchmarks/scale.py --rows 100000000 --copies 10 --raw-max 0
    .venv/bin/python benchmarks/scale.py --rows 100000000 --copies 10 --raw-max 0 --start-cluster 2

For each size it makes (once, not timed) a simulated Parquet file with `python -m analysis simulate`
(or, with --resample CSV, a file of rows drawn with replacement from CSV), then measures, each in its
own process:
  * ours: `python -m analysis fit --data FILE --engine duckdb --bootstrap 0` - the whole analysis:
    streamed validation and aggregation to covariate patterns (`analysis.read.read_patterns`), full
    model, stepwise selection, every table, every figure (16 PNG + SVG). The optimism bootstrap that
    `fit` now runs by default (200 resamples, each repeating the selection) is off unless --bootstrap B
    is given, so that "ours" measures what it measured before that bootstrap existed;
  * raw (sizes up to --raw-max): `benchmarks/raw_logit.py` - pandas reads every row and
    `smf.logit` fits the full model on the training rows, once (no selection, no diagnostics, no
    figures: the least a notebook does).
The model is that of the data specification (--spec; default the bundled analysis/spec/tmall.toml:
rcs(age, 5), job, marriage, default, returned, loan, rcs(coupons_months_2_6, 3), coupons_last_month as
a factor; raw_logit.py computes the two derived columns in pandas and places the knots on the training
rows as the package does; --spec tests/specs/tmall_linear.toml is the all-linear model on the raw
columns). All three must fit the same terms (same baselines, same knots): checked.
Wall time is that of the process; peak memory is the largest sum of the proportional set sizes (PSS:
resident memory, pages shared between processes divided among them, so that the forked figure workers
are not counted twice) of the process and its children (DuckDB runs in-process), sampled every 20 ms
with psutil (the PSS read only when the RSS, its upper bound, is above the peak so far: reading it costs
a process 1.5 ms), and never below the process's own ru_maxrss (from wait4 in a small launcher process, see
``LAUNCHER``). CPU seconds (user + system, from the same wait4: the process and the children it waited
for) are reported too: on a shared machine they depend much less on the other load than wall time.
  * fit (same sizes): `benchmarks/pattern_logit.py` - like for like with raw: the DuckDB aggregation
    and the same full-model fit on the training patterns, nothing else.
It prints the machine and its load average (1, 5, 15 min) before and after (the machine may be
shared: read the times with it), then rows, covariate patterns, wall and peak memory of each, the
ratios raw / ours and raw / fit, the largest relative difference between the estimates and standard
errors of the raw Logit and ours (`tables/coefficients_full.csv`: the same model on the same rows) and
fit's, and, last, the CPU seconds of each with the CPU ratios raw / ours and raw / fit.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.present.formatting import pipe_table  # noqa: E402
RESAMPLE_SEED = 20261125
TARGETS = ("targets (issue 20): 100M rows from Parquet (duckdb, default specification, no bootstrap) in at most "
           "60 s and 3 GB for the whole process; at 10M rows the whole process at least 5x faster than the raw-row "
           "Logit, with equal estimates; 1,000M rows (a partitioned data set, --part-rows) through duckdb in at most "
           "10 minutes and 3 GB, and through a Spark cluster (--start-cluster), measured")


#: a minimal launcher (python -S, about 10 MB): forks, execs the command and writes the command's own
#: ru_maxrss and its user + system CPU seconds to the file named in argv[1]. Measuring through it
#: matters: Linux carries a process's peak RSS across fork and exec, so a command started directly from
#: this (larger) process would report at least this process's size.
LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as handle:
    handle.write(f"{usage.ru_maxrss} {usage.ru_utime + usage.ru_stime!r}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def cluster_env(args) -> dict | None:
    """The driver's environment for a cluster run: this checkout's package and Python on the executors."""
    if not args.spark_master:
        return None
    if args.cluster is not None:        # the driver's temp folder is the one the started workers cannot see
        return args.cluster.driver_env()
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYSPARK_PYTHON": sys.executable}


def _sum(processes, value) -> int:
    total = 0
    for process in processes:
        try:
            total += value(process)
        except psutil.Error:      # ended meanwhile
            pass
    return total


def measure(command: list[str], env: dict | None = None) -> tuple[float, int, float]:
    """Wall seconds, peak memory (bytes) and CPU seconds of a command and its children (see the module
    docstring). With a Spark cluster, the executors' memory and CPU are not the command's: only the
    driver's are counted."""
    with tempfile.NamedTemporaryFile(suffix=".maxrss") as maxrss_file:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-S", "-c", LAUNCHER, maxrss_file.name, *command], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        launcher = psutil.Process(proc.pid)
        peak = 0
        while proc.poll() is None:
            try:
                members = launcher.children(recursive=True)       # the command and its workers
            except psutil.Error:
                members = []
            # PSS <= RSS: the PSS (psutil parses /proc/PID/smaps, about 1.5 ms a process) is read only when the
            # RSS (microseconds) could beat the peak; read every 20 ms for the three processes of a run, it took a quarter of a core from it
            if _sum(members, lambda m: m.memory_info().rss) > peak:
                peak = max(peak, _sum(members, lambda m: m.memory_full_info().pss))
            time.sleep(0.02)
        wall = time.perf_counter() - start
        stderr = proc.stderr.read().decode()
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({proc.returncode}):\n{stderr}")
        maxrss, cpu = Path(maxrss_file.name).read_text().split()
        own_peak = int(maxrss) * 1024  # ru_maxrss is in KiB on Linux
    return wall, max(peak, own_peak), float(cpu)


def load() -> str:
    return "load average {:.2f} {:.2f} {:.2f} (1, 5, 15 min)".format(*os.getloadavg())


def ensure_file(directory: Path, rows: int, resample: Path | None = None) -> Path:
    if resample is not None:
        path = directory / f"resampled_{rows}.parquet"
        if not path.exists():
            print(f"resampling {rows:,} rows of {resample} to {path} (not timed)", file=sys.stderr, flush=True)
            real = pd.read_csv(resample)
            drawn = real.iloc[np.random.default_rng(RESAMPLE_SEED).integers(0, len(real), rows)].reset_index(drop=True)
            drawn["ID"] = np.arange(1, rows + 1)
            drawn.to_parquet(path, index=False)
        return path
    path = directory / f"simulated_{rows}.parquet"
    if not path.exists():
        print(f"simulating {rows:,} rows to {path} (not timed)", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "analysis", "simulate", "--rows", str(rows), "--out", str(path),
                        "--quiet"], cwd=ROOT, check=True)
    return path


def ensure_parts(path: Path, part_rows: int, copies: int = 1) -> Path:
    """The Parquet file ``path`` as a folder of Parquet files of ``part_rows`` rows each (once, not timed):
    the shape of a large data set on shared storage, one executor task per file; ``copies`` K: K copies of
    the rows, copy k with the IDs shifted by k times the file's rows (see the module docstring)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    folder = path.with_name(path.stem + f"_parts{part_rows}" + (f"_copies{copies}" if copies > 1 else ""))
    if not (folder / "_SUCCESS").exists():
        print(f"splitting {path} into parts of {part_rows:,} rows in {folder}"
              + (f", {copies} copies" if copies > 1 else "") + " (not timed)", file=sys.stderr, flush=True)
        folder.mkdir(exist_ok=True)
        k = 0
        for copy in range(copies):
            source = pq.ParquetFile(path)
            shift = copy * source.metadata.num_rows
            for batch in source.iter_batches(batch_size=part_rows):
                table = pa_table(batch)
                if shift:
                    ids = table.schema.get_field_index("ID")
                    table = table.set_column(ids, "ID", pc.add(table.column(ids), shift))
                pq.write_table(table, folder / f"part-{k:05d}.parquet", compression="zstd")
                k += 1
        (folder / "_SUCCESS").write_bytes(b"")
    return folder


def pa_table(batch):
    import pyarrow as pa

    return pa.Table.from_batches([batch])


def max_rel_diff(ours: pd.Series, theirs: pd.Series) -> float:
    if set(ours.index) != set(theirs.index):
        raise AssertionError(f"different coefficients: {sorted(set(ours.index) ^ set(theirs.index))}")
    theirs = theirs.reindex(ours.index)
    return float(((ours - theirs).abs() / theirs.abs()).max())


def readable(table: pd.DataFrame) -> pd.DataFrame:
    """The table as text: counts with thousands separators, times and sizes to 3 significant digits."""
    shown = table.copy()
    for column in shown.columns:
        if column in ("rows", "patterns"):
            shown[column] = shown[column].map("{:,}".format)
        elif column.startswith("max_rel_diff"):
            shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{v:.1e}")
        else:
            shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{v:.3g}")
    return shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000, 100_000_000])
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "coupon-scale")
    parser.add_argument("--raw-max", type=int, default=10_000_000,
                        help="largest size for the raw-row Logit (it needs about 0.8 GB per million rows)")
    parser.add_argument("--engine", default="duckdb", choices=["duckdb", "spark"])
    parser.add_argument("--spec", type=Path, help="data specification (default: the bundled analysis/spec/tmall.toml)")
    parser.add_argument("--bootstrap", type=int, default=0, metavar="B",
                        help="resamples of the optimism bootstrap in 'ours' (default: 0, off)")
    parser.add_argument("--json", type=Path, help="also write the table as JSON here")
    parser.add_argument("--spark-master", default=None, metavar="URL",
                        help="run ours with --engine spark on this Spark master (e.g. spark://127.0.0.1:7077)")
    parser.add_argument("--start-cluster", type=int, default=0, metavar="N",
                        help="start a standalone Spark cluster of N workers on 127.0.0.1 for the run (needs root, "
                             "Java and unshare) and use it as --spark-master")
    parser.add_argument("--worker-memory", default="2g", help="memory of each started worker (default: %(default)s)")
    parser.add_argument("--part-rows", type=int, default=5_000_000,
                        help="rows per Parquet part when reading through a cluster (default: %(default)s)")
    parser.add_argument("--copies", type=int, default=1, metavar="K",
                        help="read K copies of each simulated file as Parquet parts (IDs shifted: see above); "
                             "the size is then K x ROWS, without the raw Logit")
    parser.add_argument("--resample", type=Path, metavar="CSV",
                        help="instead of simulating, draw the rows with replacement from this file (e.g. the real "
                             "data, ../shared/data/tianmao.csv): data that compress as the real ones do")
    args = parser.parse_args()
    if args.copies > 1:
        args.raw_max = 0
    args.dir.mkdir(parents=True, exist_ok=True)
    cluster = None
    if args.start_cluster:
        sys.path.insert(0, str(ROOT / "tests"))
        from spark_cluster import LocalCluster

        cluster = LocalCluster(Path(tempfile.mkdtemp(prefix="analysis-bench-cluster-")), workers=args.start_cluster,
                               worker_memory=args.worker_memory,
                               executor_memory=f"{max(512, int(args.worker_memory[:-1]) * 1024 * 3 // 4)}m"
                               if args.worker_memory[-1] in "gG" else args.worker_memory).start()
        args.spark_master = cluster.master_url
    args.cluster = cluster
    if args.spark_master:
        args.engine = "spark"
    try:
        run(args)
    finally:
        if cluster is not None:
            cluster.stop()
            shutil.rmtree(cluster.base, ignore_errors=True)


def run(args) -> None:
    spec_args = ["--spec", str(args.spec.resolve())] if args.spec else []
    spark_args = ["--spark-master", args.spark_master] if args.spark_master else []
    machine = (f"machine: {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB; "
               f"engine {args.engine}{' on ' + args.spark_master if args.spark_master else ''}; "
               f"bootstrap {args.bootstrap}")
    print(f"{machine}; {load()} at start", file=sys.stderr, flush=True)
    start_load = load()

    records = []
    for rows in args.rows:
        path = ensure_file(args.dir, rows, args.resample)
        data = ensure_parts(path, args.part_rows, args.copies) if args.spark_master or args.copies > 1 else path
        rows *= args.copies
        out = args.dir / f"fit_{rows}"
        ours_wall, ours_peak, ours_cpu = measure([sys.executable, "-m", "analysis", "fit", "--data", str(data),
                                                  "--out", str(out), "--engine", args.engine, "--quiet",
                                                  "--bootstrap", str(args.bootstrap), *spec_args, *spark_args],
                                                 env=cluster_env(args))
        metrics = json.loads((out / "metrics.json").read_text())
        record = {"rows": rows, "patterns": metrics["data"]["n_patterns"], "ours_s": ours_wall,
                  "ours_gb": ours_peak / 1e9, "ours_cpu_s": ours_cpu}
        if rows <= args.raw_max:
            pattern_json = args.dir / f"pattern_{rows}.json"
            fit_wall, fit_peak, fit_cpu = measure([sys.executable, str(ROOT / "benchmarks" / "pattern_logit.py"),
                                                   str(path), "--out", str(pattern_json), "--engine", args.engine,
                                                   *spec_args])
            raw_json = args.dir / f"raw_{rows}.json"
            raw_wall, raw_peak, raw_cpu = measure([sys.executable, str(ROOT / "benchmarks" / "raw_logit.py"),
                                                   str(path), "--out", str(raw_json), *spec_args])
            raw = json.loads(raw_json.read_text())
            ours = pd.read_csv(out / "tables" / "coefficients_full.csv").set_index("term")
            pattern = json.loads(pattern_json.read_text())
            assert pattern["n_obs"] == raw["n_obs"], (pattern["n_obs"], raw["n_obs"])
            assert pattern["terms"] == raw["terms"] == metrics["terms"], (pattern["terms"], raw["terms"],
                                                                        metrics["terms"])
            record.update({
                "raw_s": raw_wall, "raw_gb": raw_peak / 1e9, "speedup": raw_wall / ours_wall,
                "memory_ratio": raw_peak / ours_peak,
                "fit_s": fit_wall, "fit_gb": fit_peak / 1e9, "fit_speedup": raw_wall / fit_wall,
                "fit_memory_ratio": raw_peak / fit_peak,
                "max_rel_diff_estimate": max_rel_diff(ours["estimate"], pd.Series(raw["params"])),
                "max_rel_diff_se": max_rel_diff(ours["std_error"], pd.Series(raw["bse"])),
                "fit_max_rel_diff": max(max_rel_diff(pd.Series(pattern["params"]), pd.Series(raw["params"])),
                                        max_rel_diff(pd.Series(pattern["bse"]), pd.Series(raw["bse"]))),
                "raw_cpu_s": raw_cpu, "fit_cpu_s": fit_cpu, "cpu_speedup": raw_cpu / ours_cpu,
                "fit_cpu_speedup": raw_cpu / fit_cpu,
            })
        records.append(record)
        print(json.dumps(record), file=sys.stderr, flush=True)

    table = pd.DataFrame(records)
    print(f"{machine}; {start_load} at start, {load()} at end")
    print(TARGETS)
    print(pipe_table(readable(table), align="r" * table.shape[1]))
    if args.json:
        args.json.write_text(table.to_json(orient="records", indent=1))


if __name__ == "__main__":
    main()
