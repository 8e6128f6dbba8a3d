"""The seeded fuzzer of tests/fuzzing.py in CI: mutated files through every engine and the command line.

Per case: no exception but ``DataValidationError``, the same verdict (or the same pattern table) from the
memory and DuckDB engines, and every named line right (see ``fuzzing.check``). A subset also goes through
Spark, and through ``python -m analysis fit`` (exit 0 or 2, never a traceback). benchmarks/fuzz.py runs
the same on thousands of cases (the README states its counts). Parquet files with mutated types (and
hostile file names) go through memory and DuckDB, some through Spark and the command line; sparse and
degenerate designs through `fit --firth` (issue 22).
"""
import random
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.spec import default_spec

import fuzzing  # noqa: E402  (tests/ is on the path)

ROOT = Path(__file__).resolve().parents[2]
SPEC = default_spec()
N_CASES, N_SPARK, N_CLI = 240, 12, 12
N_PARQUET, N_PARQUET_SPARK = 48, 6
FIRTH_KINDS = ("sparse_level", "sparse_levels", "identical", "few_rows")


@pytest.fixture(scope="module")
def base() -> bytes:
    lines = (ROOT / "data" / "simulated_tianmao.csv").read_bytes().split(b"\n")
    return b"\n".join(lines[:301]) + b"\n"


def case(base: bytes, seed: int) -> tuple[bytes, list[str]]:
    return fuzzing.mutate(base, random.Random(seed))


@pytest.mark.parametrize("block", range(8))
def test_memory_and_duckdb_agree_and_name_the_right_lines(base, tmp_path, block):
    per = N_CASES // 8
    failures, accepted = [], 0
    for seed in range(block * per, (block + 1) * per):
        data, names = case(base, seed)
        path = tmp_path / f"case{seed}.csv"
        path.write_bytes(data)
        outcomes = {e: fuzzing.outcome(path, e, SPEC) for e in ("memory", "duckdb")}
        accepted += outcomes["memory"][0] == "ok"
        failures += [f"seed {seed} {names}: {f}" for f in fuzzing.check(data, outcomes)]
    assert not failures, "\n".join(failures[:10])
    # the block exercises both verdicts: files a mutation left valid are accepted and their pattern tables
    # compared across engines, not only refusals
    assert 0 < accepted < per, accepted


def test_spark_agrees(base, tmp_path):
    from analysis.read.engines import spark_session

    spark_session()
    failures = []
    for seed in range(10_000, 10_000 + N_SPARK):
        data, names = case(base, seed)
        path = tmp_path / f"case{seed}.csv"
        path.write_bytes(data)
        outcomes = {e: fuzzing.outcome(path, e, SPEC) for e in ("memory", "spark")}
        failures += [f"seed {seed} {names}: {f}" for f in fuzzing.check(data, outcomes)]
    assert not failures, "\n".join(failures[:10])


def test_command_line_exits_0_or_2_without_traceback(base, tmp_path):
    """Firth's fit (always exists): an accepted file runs the whole analysis to exit 0, a refused one exits 2
    (the maximum-likelihood fit of the full model on 300 rows stops at sparse levels, exit 2 every time)."""
    exits = []
    for seed in range(20_000, 20_000 + N_CLI):
        data, names = case(base, seed)
        path = tmp_path / f"case{seed}.csv"
        path.write_bytes(data)
        codes = {}
        for engine in ("memory", "duckdb"):
            proc = subprocess.run([sys.executable, "-m", "analysis", "fit", "--data", str(path), "--engine", engine,
                                   "--out", str(tmp_path / f"out{seed}{engine}"), "--quiet", "--select", "none",
                                   "--firth", "--bootstrap", "0"],
                                  cwd=ROOT, capture_output=True, text=True, timeout=600)
            assert proc.returncode in (0, 2), (seed, names, proc.stderr[-2000:])
            assert "Traceback" not in proc.stderr, (seed, names, proc.stderr[-2000:])
            # the same message from both engines, bar the results folder each was given
            codes[engine] = (proc.returncode, proc.stderr.replace(str(tmp_path / f"out{seed}{engine}"), "OUT"))
            exits.append(proc.returncode)
        assert codes["memory"] == codes["duckdb"], (seed, names, codes)
    assert 0 in exits and 2 in exits, exits                 # both paths, to the end


def parquet_case(base: bytes, seed: int, tmp_path):
    table, row_group, names = fuzzing.mutate_parquet(base, random.Random(seed))
    path = tmp_path / fuzzing.file_name(random.Random(-seed - 1), ".parquet")
    fuzzing.write_parquet_case(path, table, row_group)
    return path, table.num_rows, names


@pytest.mark.parametrize("block", range(2))
def test_parquet_types_agree(base, tmp_path, block):
    """Parquet files with mutated types, reserved-looking and duplicated names, under hostile file names:
    memory and DuckDB give the same verdict, every named row inside the file; both verdicts seen."""
    per = N_PARQUET // 2
    failures, accepted = [], 0
    for seed in range(30_000 + block * per, 30_000 + (block + 1) * per):
        path, n_rows, names = parquet_case(base, seed, tmp_path)
        outcomes = {e: fuzzing.outcome(path, e, SPEC) for e in ("memory", "duckdb")}
        accepted += outcomes["memory"][0] == "ok"
        failures += [f"seed {seed} {names}: {f}" for f in fuzzing.check(None, outcomes, n_rows=n_rows)]
    assert not failures, "\n".join(failures[:10])
    assert 0 < accepted < per, accepted


def test_parquet_types_spark_agrees(base, tmp_path):
    from analysis.read.engines import spark_session

    spark_session()
    failures = []
    for seed in range(40_000, 40_000 + N_PARQUET_SPARK):
        path, n_rows, names = parquet_case(base, seed, tmp_path)
        outcomes = {e: fuzzing.outcome(path, e, SPEC) for e in ("memory", "spark")}
        failures += [f"seed {seed} {names}: {f}" for f in fuzzing.check(None, outcomes, n_rows=n_rows)]
    assert not failures, "\n".join(failures[:10])


def test_firth_route_on_sparse_and_degenerate_designs(base, tmp_path):
    """`fit --firth` on a level seen in one row, several such levels, identical predictors and a handful of
    rows: exit 0 (the fit exists) or 2 (it cannot, with advice), never 1; the same from both engines."""
    seen, exits = set(), []
    seed = 50_000
    while len(seen) < len(FIRTH_KINDS):
        design, kind = fuzzing.firth_case(base, random.Random(seed))
        seed += 1
        if kind not in FIRTH_KINDS or kind in seen:
            continue
        seen.add(kind)
        path = tmp_path / f"{kind}.csv"
        path.write_bytes(design)
        codes = {}
        for engine in ("memory", "duckdb"):
            out = tmp_path / f"out-{kind}-{engine}"
            proc = subprocess.run([sys.executable, "-m", "analysis", "fit", "--data", str(path), "--engine", engine,
                                   "--out", str(out), "--quiet", "--select", "none", "--firth", "--bootstrap", "0",
                                   "--test-size", "0"], cwd=ROOT, capture_output=True, text=True, timeout=600)
            assert proc.returncode in (0, 2) and "Traceback" not in proc.stderr, (kind, proc.stderr[-2000:])
            codes[engine] = (proc.returncode, proc.stderr.replace(str(out), "OUT"))
            exits.append(proc.returncode)
        assert codes["memory"] == codes["duckdb"], (kind, codes)
    assert 0 in exits and 2 in exits, exits
