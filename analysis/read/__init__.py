"""Reading a data file: validated, split and reduced to covariate patterns, the same way by every engine.

    read_patterns(path, spec, *, seed, test_size, engine, ...) -> PatternData

1. The first pass (:mod:`analysis.read.source`) checks the path, tokenizes a CSV file with the package's
   one CSV definition (:mod:`analysis.read.csvscan`), checks the header and the characters of the used
   columns, and hands the used columns to the engine.
2. The engine (:mod:`analysis.read.engines`: DuckDB in memory, DuckDB streamed from disk, or Spark SQL)
   runs the rule set of the specification (:mod:`analysis.read.rules`, one SQL text for every engine):
   every value is parsed and checked, the rows are split into training and test samples and grouped
   into covariate patterns (one row per distinct combination of sample and variables, with its counts
   of rows and events).
3. If anything failed, one more pass collects, per problem, the first file lines, IDs and values, and a
   :class:`DataValidationError` lists every problem; otherwise the pattern table, the row accounting
   (rows read, excluded by each rule, used) and the file's provenance come back.

The engines differ only in how they scan, so they give the same verdict, the same problems (with the
same file lines) and the same pattern table for the same file; tests run every bad-input case through
all three, and a seeded fuzzer (tests/read/test_fuzz.py, benchmarks/fuzz.py) checks it on thousands of
mutated files.

What is accepted (everything else is refused with the column, rows, lines and what to do):
UTF-8 text with or without a byte-order mark; line endings LF, CRLF or CR, mixed; blank lines anywhere
(skipped, but counted in line numbers); RFC 4180 quoting (``"a, b"``, ``""`` for a quote), with spaces
around a quoted value; leading and trailing spaces and tabs around any value (trimmed); the missing-value
spellings of ``analysis.spec.MISSING_TOKENS`` (reported as missing values, never guessed); extra columns
(ignored, with a note); Parquet files with text or numeric columns.

Missing values follow the specification's ``[missing] strategy`` (``Spec.missing_strategy``): "refuse"
makes each one a problem; under "complete_cases" (the default) and "impute" a missing value of a variable
is NULL in the pattern table (a pattern of its own; :mod:`analysis.read.rules`, "Missing values") and a
row without the response is left out, counted in the row accounting as "missing response". The
accounting then counts the rows with a missing value under the first variable, in specification order,
that is missing ("missing <column>"), and "rows used" are the complete rows; the pattern table keeps the
incomplete rows (``analysis.read.patterns.Samples`` separates them).
"""
from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.read.dataset import DataFile, DataSet, open_dataset, resolve as resolve_dataset
from analysis.read.patterns import compression_note
from analysis.read.engines import DuckDBEngine, EngineUnavailable, SparkEngine, memory_bytes
from analysis.read.problems import MAX_EXAMPLES, DataValidationError, Problem, file_error
from analysis.read.rules import MISSING_RESPONSE, RuleSet
from analysis.read.source import open_source

__all__ = ["read_patterns", "read_rows", "PatternData", "DataValidationError", "Problem", "EngineUnavailable", "ENGINES",
           "memory_bytes", "sha256_file", "file_provenance", "SIDECAR_SUFFIX"]

ENGINES = ("memory", "duckdb", "spark")
SAMPLES = ("train", "test")
SIDECAR_SUFFIX = ".simulated.json"


@dataclass(frozen=True)
class PatternData:
    """Covariate-pattern table of one input file, with its row accounting and provenance.

    ``patterns``: columns ``sample``, the specification's variables (``Spec.pattern_variables``),
    ``trials`` and ``events``; one row per (sample, variables), sorted by sample (train first) then every
    variable, so that it is identical across engines and runs. ``accounting``: step, rows_excluded,
    rows_remaining (rows read, one line per exclusion rule, the rows left out for a missing value, rows
    used).

    Under a missing-value strategy other than "refuse" (``missing_strategy``) the patterns include the
    incomplete rows: a variable's value may be missing (NaN in a numeric column, a missing text in a
    categorical one, ``pd.NA`` in a binary or count column, whose dtype is then ``Int64``). ``n_rows`` counts
    the complete rows (the rows used); the accounting has a step per variable with missing values.
    """

    patterns: pd.DataFrame
    accounting: pd.DataFrame
    source: dict
    n_rows: int
    n_patterns: int
    notes: tuple[str, ...] = ()
    engine: str = "memory"
    seed: int = 100
    test_size: float = 0.3
    timings: dict = field(default_factory=dict)
    missing_strategy: str = "refuse"

    @property
    def simulated(self) -> bool:
        return bool(self.source.get("simulated"))

    @property
    def n_rows_read(self) -> int:
        return int(self.accounting["rows_remaining"].iloc[0])

    def sample(self, name: str) -> pd.DataFrame:
        rows = self.patterns[self.patterns["sample"] == name]
        return rows.drop(columns="sample").reset_index(drop=True)


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 24), b""):
            digest.update(block)
    return digest.hexdigest()


def file_provenance(path: Path, fmt: str, digest: str | None, n_read: int) -> dict:
    """File name, size, SHA-256, format, and whether it is the package's simulated sample (a sidecar
    ``<file>.simulated.json`` whose SHA-256 matches; without the hash, matched by row count)."""
    path = Path(path)
    info = {"file": path.name, "path": str(path), "bytes": path.stat().st_size, "sha256": digest,
            "format": fmt, "simulated": False}
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    if sidecar.is_file():
        try:
            meta = json.loads(sidecar.read_text())
        except (OSError, ValueError):
            meta = {}
        if digest is not None and meta.get("sha256") == digest:
            info["simulated"], info["simulation"] = True, meta
        elif digest is None and int(meta.get("rows", -1)) == n_read:
            info["simulated"], info["simulation"], info["sidecar_verified"] = True, meta, False
    return info


def read_patterns(path, spec=None, *, seed: int = 100, test_size: float = 0.3, engine: str = "memory",
                  memory_limit: str = "2GB", threads: int = 2, progress=None, hash_file: bool = True,
                  temp_dir: str | Path | None = None, spark_master: str | None = None,
                  spark_first_pass: str = "auto") -> PatternData:
    """Covariate patterns of a CSV or Parquet file, or of a data set of them (folder, partitions, glob, URI:
    :mod:`analysis.read.dataset`), validated by the specification's rules (module docstring). ``spec``: a
    ``Spec`` (default: the bundled one). ``engine``: "memory" (DuckDB over the rows in memory), "duckdb"
    (streamed through a temporary Parquet file under ``memory_limit``) or "spark" (Spark SQL on
    ``spark_master``: ``local[n]``, ``spark://host:port``, ...; default an active session of the caller, else
    local mode). ``spark_first_pass``: "executors" (:mod:`analysis.read.spark_scan`: the driver reads
    nothing), "driver" (as the other engines) or "auto" (executors on a cluster or for ``hdfs:``, ``s3a:``...).
    Raises :class:`DataValidationError` listing every problem, or :class:`EngineUnavailable`."""
    from analysis.spec import default_spec

    spec = spec or default_spec()
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
    if not 0 <= test_size < 1:
        raise ValueError(f"test_size must be in [0, 1); got {test_size}")
    if spark_first_pass not in ("auto", "driver", "executors"):
        raise ValueError(f"spark_first_pass must be auto, driver or executors; got {spark_first_pass!r}")
    say = progress or (lambda message: None)
    start = time.perf_counter()
    timings: dict[str, float] = {}
    dataset = resolve_dataset(path)
    path = Path(path) if dataset is None else dataset.given
    single = _single_file(path, dataset)
    spill = tempfile.mkdtemp(prefix="analysis-read-", dir=temp_dir)
    digest: dict = {}
    runner = None
    try:
        source, runner, dataset, path, hasher = _first_pass(
            path, dataset, spec, engine, spill, digest, hash_file=hash_file, memory_limit=memory_limit,
            threads=threads, spark_master=spark_master, spark_first_pass=spark_first_pass, progress=say)
        timings["first_pass"] = time.perf_counter() - start
        rules = RuleSet(spec, source.kinds, runner.dialect, seed=seed, test_size=test_size)
        say(f"{engine}: validating {Path(str(path)).name} ({source.format}) and aggregating to covariate patterns")
        t0 = time.perf_counter()
        relation = runner.relation()
        with_ids = spec.id is not None and not runner.ordered_scan
        tag = f"{abs(hash((spill, seed))) % 10**8}"
        level1 = f"level1_{tag}"
        runner.materialize(level1, rules.level1(relation, with_ids=with_ids))
        result = runner.frame(rules.level2(f"(SELECT * FROM {level1} WHERE by_id = 0)"))
        timings["scan"] = time.perf_counter() - t0
        n_read = int(result["trials"].sum()) if len(result) else 0
        if n_read == 0:
            raise file_error(path, "has a header but no data rows", "Export the data again with its rows.", n_rows=0)
        dup_table = None
        if spec.id is not None:
            if with_ids:
                dup_table = f"(SELECT id_value AS dup_id, n FROM {level1} WHERE by_id = 1)"
            elif runner.ids_not_proved(rules, relation) != 0:
                dup_table = f"dup_ids_{tag}"
                runner.materialize(dup_table, rules.duplicate_ids(relation))
        n_dup = 0
        if dup_table:
            n_dup = int(runner.frame(f"SELECT coalesce(sum(n), 0) AS n_rows FROM {dup_table} AS d")["n_rows"].iloc[0])
        bad = any((result[f"mask{w}"] != 0).any() for w in range(rules.words))
        if bad or n_dup or source.problems:
            say(f"{engine}: problems found; collecting example lines")
            raise _problems(runner, rules, source, path, result, dup_table if n_dup else None, n_read)
    except DataValidationError as err:
        raise (dataset.relocate(err) if dataset is not None else err) from None
    finally:
        if runner is not None:
            runner.close()
        shutil.rmtree(spill, ignore_errors=True)

    patterns, accounting = _patterns(result, rules, spec, n_read)
    problems = _table_problems(patterns, accounting, spec)
    if problems:
        raise DataValidationError(path, problems, n_rows=n_read)
    n_used = int(accounting["rows_remaining"].iloc[-1])
    complete = patterns[patterns[list(spec.pattern_variables)].notna().all(axis=1)]
    if hasher is not None:
        hasher.join()
    if single is not None:
        info = file_provenance(single, source.format, next(iter(digest.values()), None), n_read)
    else:
        info = dataset.provenance(source.format, digest, n_read)
    notes = list(source.notes)
    if not hash_file:
        notes.append("The file's SHA-256 was not computed (hash_file=False).")
    notes += _look_alike_notes(patterns, spec)
    compression = compression_note(len(complete), n_used)
    if compression:
        notes.append(compression)
    timings["total"] = time.perf_counter() - start
    say(f"{engine}: {len(patterns):,} covariate patterns from {n_used:,} rows in {timings['total']:.1f} s")
    return PatternData(patterns=patterns, accounting=accounting, source=info, n_rows=n_used,
                       n_patterns=len(patterns), notes=tuple(notes), engine=engine, seed=int(seed),
                       test_size=float(test_size), timings=timings,
                       missing_strategy=getattr(spec, "missing_strategy", "refuse"))


def typed(values: pd.Series, kind: str) -> pd.Series:
    """A variable's column of the pattern table in the dtype of its kind: categorical text (``str``; a missing
    value stays missing), numeric float64 (NaN), binary and count int64 -- ``Int64`` when one is missing."""
    if kind == "categorical":
        return values.astype(str)
    if kind == "numeric":
        return pd.to_numeric(values).astype("float64")
    values = pd.to_numeric(values)
    return values.astype("Int64") if values.isna().any() else values.astype("int64")


def _single_file(path, dataset) -> Path | None:
    """One local file (its provenance is read from it, whichever engine reads it), else None."""
    if dataset is None:
        return path
    return Path(dataset.files[0].location) if not dataset.multi and dataset.local else None


def _first_pass(path, dataset, spec, engine: str, spill: str, digest: dict, *, hash_file: bool, memory_limit: str,
                threads: int, spark_master, spark_first_pass: str, progress):
    """The first pass and the engine that reads its output: (source, engine, data set, path, SHA-256 thread).
    The spark engine on a cluster runs the first pass on its executors (:mod:`analysis.read.spark_scan`);
    otherwise it runs here, over one file (:func:`open_source`) or a data set (:func:`open_dataset`), and
    the SHA-256s of the files are computed in a thread meanwhile (into ``digest``)."""
    if engine == "spark" and _on_executors(dataset, spark_first_pass, memory_limit, threads, spark_master):
        from analysis.read.spark_scan import SparkScanEngine

        if dataset is None:
            dataset = DataSet(given=str(path), root="", files=[DataFile(str(path), Path(path).name)], multi=False)
        runner = SparkScanEngine(dataset, spec, memory_limit, threads, spark_master, progress=progress)
        digest.update(runner.digests if hash_file else {})
        return runner.source, runner, runner.dataset, path, None
    keep = "table" if engine == "memory" else "parquet"
    if dataset is None or (not dataset.multi and dataset.local):
        if dataset is not None:
            path = Path(dataset.files[0].location)
        source = open_source(path, spec, keep=keep, temp_dir=spill, progress=progress)
        files, names = [path], ["sha256"]
    else:
        source = open_dataset(dataset, spec, keep=keep, temp_dir=spill, progress=progress, in_place=engine == "duckdb")
        files, names = [Path(f.location) for f in dataset.files], [f.name for f in dataset.files]
    hasher = None
    if hash_file:
        def _hash():
            for name, file in zip(names, files):
                digest[name] = sha256_file(file)
        hasher = threading.Thread(target=_hash, name="sha256", daemon=True)
        hasher.start()
    runner = {"memory": DuckDBEngine, "duckdb": DuckDBEngine, "spark": SparkEngine}[engine](
        source, memory_limit, threads, spill, **({"master": spark_master} if engine == "spark" else {}))
    return source, runner, dataset, path, hasher


def _on_executors(dataset, first_pass: str, memory_limit: str, threads: int, master: str | None) -> bool:
    """Whether the spark engine's first pass runs on the executors (see :func:`read_patterns`)."""
    if first_pass != "auto":
        return first_pass == "executors"
    if dataset is not None and not dataset.local:
        return True
    from analysis.read.engines import is_local_master, spark_session

    if master is not None:
        return not is_local_master(master)
    return not is_local_master(spark_session(memory_limit, threads).sparkContext.master)


def _patterns(result: pd.DataFrame, rules: RuleSet, spec, n_read: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pattern table (dtypes by kind, sorted) and the row accounting."""
    names = list(spec.pattern_variables)
    out = result.rename(columns={rules.alias[n]: n for n in names})
    out = out.groupby(["sample", *names, "excluded"], as_index=False, sort=False, dropna=False)[
        ["trials", "events"]].sum()
    for v in spec.variables:
        out[v.name] = typed(out[v.name], v.kind)
    out[["trials", "events"]] = out[["trials", "events"]].astype("int64")
    out["sample"] = out["sample"].astype(str)
    steps = [("rows read", 0, n_read)]
    remaining = n_read
    for k, exclusion in enumerate(spec.exclusions, start=1):
        excluded = int(out.loc[out["excluded"] == k, "trials"].sum())
        remaining -= excluded
        steps.append((f"excluded: {exclusion.description}", excluded, remaining))
    if n_missing := int(out.loc[out["excluded"] == MISSING_RESPONSE, "trials"].sum()):
        remaining -= n_missing
        steps.append(("missing response", n_missing, remaining))
    out = out[out["excluded"] == 0].drop(columns="excluded")
    steps += missing_steps(out, spec, remaining)
    steps.append(("rows used", 0, int(out.loc[out[names].notna().all(axis=1), "trials"].sum())))
    out["sample"] = pd.Categorical(out["sample"], categories=list(SAMPLES), ordered=True)
    out = out.sort_values(["sample", *names], kind="mergesort").reset_index(drop=True)
    out["sample"] = out["sample"].astype(str)
    accounting = pd.DataFrame(steps, columns=["step", "rows_excluded", "rows_remaining"])
    return out[["sample", *names, "trials", "events"]], accounting


def missing_steps(patterns: pd.DataFrame, spec, remaining: int) -> list[tuple[str, int, int]]:
    """The row-accounting steps of the rows left out for a missing value: (f"missing {column}", rows,
    rows remaining) for each variable, in specification order, that is the first missing one of some rows
    (a row missing several is counted once, so the steps add up), after ``remaining`` rows. None when
    every row is complete."""
    names = list(spec.pattern_variables)
    missing = patterns[names].isna().to_numpy()
    if not missing.any():
        return []
    first = np.where(missing.any(axis=1), missing.argmax(axis=1), -1)
    trials = patterns["trials"].to_numpy(dtype=np.int64)
    steps = []
    for j, v in enumerate(spec.variables):
        if n := int(trials[first == j].sum()):
            remaining -= n
            steps.append((f"missing {v.key}", n, remaining))
    return steps


def _table_problems(patterns: pd.DataFrame, accounting: pd.DataFrame, spec) -> list[Problem]:
    """What the pattern table of an otherwise valid file can still fail: a categorical variable with too
    many levels; no complete row (every row kept misses a value: the counts per column); the complete
    rows with one response value only."""
    too_many = _level_problems(patterns, spec)
    if too_many:
        return too_many
    n_used = int(accounting["rows_remaining"].iloc[-1])
    events = int(patterns.loc[patterns[list(spec.pattern_variables)].notna().all(axis=1), "events"].sum())
    if n_used == 0 and len(patterns):
        counts = "; ".join(f"{step}: {n:,}" for step, n in zip(accounting["step"], accounting["rows_excluded"])
                           if step.startswith("missing "))
        return [Problem("", f"has no complete row: every row kept misses a value of some variable ({counts})", 0,
                        fix="Fill in the missing values, or leave the variables most often missing out of the "
                            "specification.")]
    if events in (0, n_used):
        only = (spec.response.event if events else spec.response.non_event) if n_used else None
        return [Problem(spec.response.column, f"every used row has the same response ({only})", n_used,
                        fix=f"A logistic regression needs {spec.response.event_group} and "
                            f"{spec.response.non_event_group}.")]
    return []


def _level_problems(patterns: pd.DataFrame, spec) -> list[Problem]:
    out = []
    for v in spec.variables:
        if v.kind != "categorical":
            continue
        levels = patterns[v.name].nunique()
        if levels > v.max_levels:
            out.append(Problem(v.column or v.name, f"has {levels:,} distinct values, more than the {v.max_levels} "
                               "levels a categorical variable may have", 0,
                               fix="Is it an identifier or free text? Leave it out of the specification, declare "
                                   "it numeric, merge rare levels, or raise 'max_levels' in the specification."))
    return out


def _look_alike_notes(patterns: pd.DataFrame, spec) -> list[str]:
    """A note per categorical variable with levels that are equal under Unicode normalisation (NFKC: a
    composed and a decomposed accent, a full-width letter) but differ in their code points: they print
    alike and stay two levels (the data are not rewritten), so the user is told, with the code points
    shown (``ascii``). The same from every engine: it is read off the pattern table."""
    import unicodedata

    out = []
    for v in spec.variables:
        if v.kind != "categorical" or v.name not in patterns:
            continue
        groups: dict[str, list[str]] = {}
        for level in sorted({str(x) for x in patterns[v.name].dropna().unique()}):   # distinct values first
            groups.setdefault(unicodedata.normalize("NFKC", level), []).append(level)
        alike = [g for g in groups.values() if len(g) > 1]
        if alike:
            shown = "; ".join(" and ".join(ascii(level) for level in g) for g in alike[:MAX_EXAMPLES])
            out.append(f"Column {v.column or v.name!r}: two levels that look the same are kept apart, since their "
                       f"Unicode code points differ ({shown}); write them alike if they are one level.")
    return out


def _cell_text(value, kind: str) -> str:
    """A raw cell as a message shows it, the same from every engine: a missing cell (None, NaN, or pandas'
    NA, as DuckDB returns a null of an integer column) is empty; numbers by their kind."""
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return ""
    if kind == "float":
        return repr(float(value))
    if kind == "int":
        return str(int(value))
    return str(value)


def _problems(runner, rules: RuleSet, source, path: Path, result: pd.DataFrame, dup_table: str | None,
              n_read: int) -> DataValidationError:
    """The error for a file with failed checks: counts from the pass, examples from one more pass."""
    trials = result["trials"].to_numpy(dtype=np.int64)
    failing = []
    for check in rules.checks:
        mask = result[f"mask{check.word}"].to_numpy(dtype=np.int64)
        n = int(trials[(mask & check.bit) != 0].sum())
        if n:
            failing.append((check, n))
    problems = list(source.problems)
    if failing or dup_table:
        bad = f"bad_rows_{abs(hash(str(path))) % 10**8}"
        runner.materialize(bad, rules.bad_rows(runner.relation(), dup_table))
        id_col = rules.spec.id.column if rules.spec.id else None
        id_ref = rules.ref[id_col] + "__s" if id_col else None
        todo = [(c, n, f"(mask{c.word} & {c.bit}) <> 0") for c, n in failing]
        if dup_table:
            n_dup = int(runner.frame(f"SELECT count(*) AS n FROM {bad} WHERE dup")["n"].iloc[0])
            todo.append((rules.duplicate, n_dup, "dup"))
        for check, n, condition in todo:
            column = check.column
            ref = rules.ref.get(column)
            value = f"{ref}__s" if ref else "NULL"
            ident = id_ref or "NULL"
            lines = runner.frame(f"SELECT __line, {ident} AS ident FROM {bad} WHERE {condition} "
                                 f"ORDER BY __line LIMIT {MAX_EXAMPLES}")
            kind = rules.kinds.get(column, "text")
            values = ()
            if check.show_values and ref:
                seen = runner.frame(f"SELECT value, min(__line) AS first FROM (SELECT {value} AS value, __line FROM "
                                    f"{bad} WHERE {condition}) AS v GROUP BY value ORDER BY first LIMIT {MAX_EXAMPLES}")
                values = tuple(_cell_text(v, kind) for v in seen["value"])
            id_kind = rules.kinds.get(id_col, "text") if id_col else "text"
            ids = tuple(t for t in (_cell_text(i, id_kind).strip(" \t") for i in lines["ident"]) if t)
            problems.append(Problem(column, check.what, n, tuple(int(x) for x in lines["__line"]), ids, values,
                                    check.fix, unit=source.unit))
        runner.drop(bad)
    order = {c: i for i, c in enumerate(rules.columns)}
    for j, v in enumerate(rules.spec.variables):
        order.setdefault(v.name, len(rules.columns) + j)
    rank = {(k.column, k.what): k.index for k in rules.checks}
    if rules.duplicate:
        rank[(rules.duplicate.column, rules.duplicate.what)] = len(rules.checks)
    problems.sort(key=lambda p: (order.get(p.column, -1), rank.get((p.column, p.what), -1)))
    return DataValidationError(path, problems, n_rows=n_read)


def read_rows(path, spec=None, *, keep_id: bool = True) -> pd.DataFrame:
    """The validated rows of a file, one per data row in file order: the specification's variables
    (binary ones as 0/1 dummies), the 0/1 response under its model name, and the ID (``keep_id``).
    Rows excluded by the specification's exclusion rules are left out. Validation is that of
    :func:`read_patterns` (the same ``DataValidationError``); the rows are held in memory. Under a
    missing-value strategy other than "refuse", a row without the response is left out too, and a missing
    value of a variable is missing in its column (dtypes as in the pattern table: :func:`typed`).

    For notebooks and tests that need rows; the analysis itself runs on :func:`read_patterns`."""
    from analysis.spec import default_spec

    spec = spec or default_spec()
    read_patterns(path, spec, test_size=0.0, engine="memory", hash_file=False)   # validates, or raises
    spill = tempfile.mkdtemp(prefix="analysis-rows-")
    runner = None
    try:
        source = open_source(Path(path), spec, keep="table", temp_dir=spill)
        runner = DuckDBEngine(source, "2GB", 2, spill)
        rules = RuleSet(spec, source.kinds, runner.dialect, test_size=0.0)
        frame = runner.frame(rules.row_values(runner.relation()))
    finally:
        if runner is not None:
            runner.close()
        shutil.rmtree(spill, ignore_errors=True)
    frame = frame[frame["excluded"] == 0].drop(columns=["excluded", "__row"]).reset_index(drop=True)
    out = pd.DataFrame({v.name: typed(frame[rules.alias[v.name]], v.kind) for v in spec.variables})
    out[spec.response.name] = frame["response"].astype("int64")
    if keep_id and spec.id is not None:
        out.insert(0, spec.id.column, frame["id_value"].to_numpy())
    return out
