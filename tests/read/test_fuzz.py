"""The seeded fuzzer of tests/fuzzing.py in CI: mutated files through every engine and the command line.

Per case: no exception but ``DataValidationError``, the same verdict (or the same pattern table) from the
memory and DuckDB engines, and every named line right (see ``fuzzing.check``). A subset also goes through
Spark, and through ``python -m analysis fit`` (exit 0 or 2, never a traceback). benchmarks/fuzz.py runs
the same on thousands of cases (the README states its counts).
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
