"""The reader fuzzer at scale: N seeded mutated files through the memory and DuckDB engines (all of them),
Spark (every --spark-every-th) and the command line (every --cli-every-th, both engines); counts of uncaught
exceptions, exit codes other than 0/2, engine disagreements and wrong line numbers (tests/fuzzing.py says
how each is judged).

    python benchmarks/fuzz.py --cases 10000 --workers 2 [--base ../shared/data/tianmao.csv --rows 2000]

The base file is --rows rows of --base spread evenly over it (default: the embedded simulated sample). Prints the counts,
the time taken and the machine load, and the first failures with their seeds (re-run one with --only SEED).

One seed in three (seed % 3 == 1) is a Parquet file with mutated types instead of a mutated CSV file
(tests/fuzzing.py lists both kinds of mutation); half the files get a hostile name. Every --firth-every-th
case also runs a sparse or degenerate design (a level in one row, a handful of rows, identical predictors,
a constant column, few events) through `fit --firth`, both engines, with --test-size 0 or 0.3.

The command-line runs are `analysis fit --select none --firth --bootstrap 0`: on a sample of a few
thousand rows the maximum-likelihood fit of the full default model meets sparse levels and stops with
exit 2 (separation), so without --firth no accepted file would reach the tables, figures and files;
Firth's fit always exists, so an accepted file runs the whole analysis (exit 0) and a refused one exits 2.
"""
from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import fuzzing  # noqa: E402


def _base(path: Path, rows: int) -> bytes:
    """The header and ``rows`` data lines spread evenly over the file (in file order): a file sorted by the
    response (as the coupon data are) still gives a base with both classes, so the cases a mutation leaves
    valid are accepted and their pattern tables compared, not all refused for a one-class response."""
    lines = [line for line in path.read_bytes().replace(b"\r\n", b"\n").split(b"\n") if line]
    data = lines[1:]
    picked = [data[int(k * len(data) / rows)] for k in range(min(rows, len(data)))]
    return b"\n".join([lines[0], *picked]) + b"\n"


def _cli(path: Path, tmp: str, extra=(), label="cli") -> tuple[list[int], list[str]]:
    """`analysis fit --firth` on both engines: (exit codes, failures); exit 0 or 2 only, no traceback, the
    same exit code and message from both engines."""
    codes, failures, exits = {}, [], []
    for engine in ("memory", "duckdb"):
        out = Path(tmp) / f"out-{engine}"
        proc = subprocess.run([sys.executable, "-m", "analysis", "fit", "--data", str(path), "--engine", engine,
                               "--out", str(out), "--quiet", "--select", "none", "--firth", "--bootstrap", "0",
                               *extra], cwd=ROOT, capture_output=True, text=True, timeout=900)
        # the same message from both engines, bar the results folder each was given
        codes[engine] = (proc.returncode, proc.stderr.replace(str(out), "OUT"))
        exits.append(proc.returncode)
        if proc.returncode not in (0, 2) or "Traceback" in proc.stderr:
            failures.append(f"{label} {engine}: exit {proc.returncode}: {proc.stderr[-500:]}")
    if codes["memory"] != codes["duckdb"]:
        failures.append(f"{label}: engines disagree: {codes}")
    return exits, failures


def run_case(args) -> dict:
    """One seed: a mutated CSV file (two seeds in three) or Parquet file (one in three, seed % 3 == 1) under a
    file name that may be hostile, through the engines and, when asked, the command line; and, when asked, a
    sparse or degenerate design through `fit --firth`."""
    seed, base, spark, cli, firth = args
    from analysis.spec import default_spec

    spec = default_spec()
    parquet = seed % 3 == 1
    if parquet:
        table, row_group, names = fuzzing.mutate_parquet(base, random.Random(seed))
        data = None
    else:
        data, names = fuzzing.mutate(base, random.Random(seed))
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        path = Path(tmp) / fuzzing.file_name(random.Random(-seed - 1), ".parquet" if parquet else ".csv")
        if parquet:
            fuzzing.write_parquet_case(path, table, row_group)
        else:
            path.write_bytes(data)
        engines = ("memory", "duckdb", "spark") if spark else ("memory", "duckdb")
        outcomes = {e: fuzzing.outcome(path, e, spec) for e in engines}
        failures = fuzzing.check(data, outcomes, n_rows=table.num_rows if parquet else None)
        exit_codes, firth_codes, firth_kind = [], [], None
        if cli:
            exit_codes, more = _cli(path, tmp)
            failures += more
        if firth:
            design, firth_kind = fuzzing.firth_case(base, random.Random(seed))
            fpath = Path(tmp) / "firth.csv"
            fpath.write_bytes(design)
            firth_codes, more = _cli(fpath, tmp, ("--test-size", random.Random(seed).choice(["0", "0.3"])), "firth")
            failures += [f"{f} [{firth_kind}]" for f in more]
    kinds = Counter()
    for f in failures:
        kinds["uncaught exception" if "uncaught" in f else "engines disagree" if "disagree" in f
              else "wrong line" if "line" in f else "command line" if f.startswith("cli")
              else "firth" if f.startswith("firth") else "other"] += 1
    return {"seed": seed, "names": names, "failures": failures, "kinds": kinds, "verdict": outcomes["memory"][0],
            "exit_codes": exit_codes, "firth_codes": firth_codes, "parquet": parquet, "firth_kind": firth_kind}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--base", type=Path, default=ROOT / "data" / "simulated_tianmao.csv")
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--spark-every", type=int, default=100, help="0: no Spark")
    parser.add_argument("--cli-every", type=int, default=50, help="0: no command-line runs")
    parser.add_argument("--firth-every", type=int, default=200,
                        help="a sparse or degenerate design through fit --firth every N-th case; 0: none")
    parser.add_argument("--only", type=int, default=None, help="run one seed and print its failures")
    args = parser.parse_args(argv)
    base = _base(args.base, args.rows)
    with tempfile.TemporaryDirectory(prefix="fuzz-base-") as tmp:
        from analysis.spec import default_spec

        (Path(tmp) / "base.csv").write_bytes(base)
        verdict = fuzzing.outcome(Path(tmp) / "base.csv", "memory", default_spec())
        if verdict[0] != "ok":
            raise SystemExit(f"the unmutated base is refused ({verdict[1]}): choose another --base or --rows")
    seeds = [args.only] if args.only is not None else range(args.first_seed, args.first_seed + args.cases)
    jobs = [(s, base, bool(args.spark_every) and s % args.spark_every == 0,
             bool(args.cli_every) and s % args.cli_every == 0,
             bool(args.firth_every) and s % args.firth_every == args.firth_every // 2) for s in seeds]
    load_before = Path("/proc/loadavg").read_text().split()[:3] if os.path.exists("/proc/loadavg") else "?"
    start = time.perf_counter()
    totals, verdicts, failures, spark_cases, cli_runs, exits = Counter(), Counter(), [], 0, 0, Counter()
    parquet_verdicts, firth_exits, firth_kinds = Counter(), Counter(), Counter()
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        for k, result in enumerate(pool.map(run_case, jobs, chunksize=8), start=1):
            totals.update(result["kinds"])
            verdicts[result["verdict"]] += 1
            exits.update(result["exit_codes"])
            firth_exits.update(result["firth_codes"])
            if result["firth_kind"]:
                firth_kinds[result["firth_kind"]] += 1
            if result["parquet"]:
                parquet_verdicts[result["verdict"]] += 1
            spark_cases += jobs[k - 1][2]
            cli_runs += 2 * jobs[k - 1][3]
            if result["failures"]:
                failures.append(result)
            if k % 250 == 0:      # running counts, so that a run stopped early still says what it saw
                print(f"{k:,} cases in {time.perf_counter() - start:.0f} s: {sum(totals.values())} failures so far "
                      f"({dict(totals)}); verdicts {dict(verdicts)}, Parquet {dict(parquet_verdicts)}; command line "
                      f"{dict(exits)}; Firth's route {dict(firth_exits)}; spark cases {spark_cases}; load "
                      f"{' '.join(Path('/proc/loadavg').read_text().split()[:3]) if os.path.exists('/proc/loadavg') else '?'}",
                      file=sys.stderr, flush=True)
    seconds = time.perf_counter() - start
    load_after = Path("/proc/loadavg").read_text().split()[:3] if os.path.exists("/proc/loadavg") else "?"
    print(f"cases: {len(jobs):,} (seeds {jobs[0][0]}..{jobs[-1][0]}); base: {args.base.name}, {args.rows:,} rows")
    print(f"engines: memory and duckdb on every case; spark on {spark_cases:,}; command line: {cli_runs:,} runs")
    print(f"outcomes (memory engine): {dict(verdicts)}, of which Parquet files: {dict(parquet_verdicts)}; "
          f"command-line exit codes: {dict(exits)}")
    print(f"Firth's route: {sum(firth_kinds.values()):,} designs ({dict(firth_kinds)}), 2 runs each; "
          f"exit codes: {dict(firth_exits)}")
    print(f"uncaught exceptions: {totals['uncaught exception']}; engine disagreements: {totals['engines disagree']}; "
          f"wrong line numbers: {totals['wrong line']}; command-line failures: {totals['command line']}; "
          f"Firth-route failures: {totals['firth']}; other: {totals['other']}")
    print(f"time: {seconds:.0f} s with {args.workers} workers; load average before {' '.join(load_before)}, "
          f"after {' '.join(load_after)}")
    for result in failures[:10]:
        print(f"\nseed {result['seed']} {result['names']}:")
        for f in result["failures"][:3]:
            print("  " + f[:1500])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
