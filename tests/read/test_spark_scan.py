"""The spark engine's first pass on the executors (analysis.read.spark_scan) in local mode, its session and its
options. The cluster itself is tested in tests/test_spark_cluster.py; here the same route runs on the local
session (``spark_first_pass="executors"``), where a difference from DuckDB shows as well and costs less."""
import warnings
import zipfile

import pytest

from analysis.cli import _config, _data_path, build_parser
from analysis.config import resolve_engine
from analysis.read import DataValidationError, EngineUnavailable, read_patterns
from analysis.spec import default_spec

from csv_helpers import GOOD_ROWS, HEADER, write  # noqa: E402

SPEC = default_spec()
CASES = {
    "good": [HEADER, *GOOD_ROWS],
    "values": [HEADER, GOOD_ROWS[0], "2,-4,tech\u200bnician,divorced,maybe,yes,no,2.5,0,1", "1,x,admin.,married,no,yes,yes,2,1,0"],
    "quoted-break": [HEADER, "", GOOD_ROWS[0], '2,42,"tech\r\nnician",divorced,no,yes,no,2,0,1', "3,x,admin.,married,no,yes,yes,2,1,0"],
    "structure": [HEADER, GOOD_ROWS[0], '2,42,tech"nician,divorced,no,yes,no,2,0,1', "3,47,admin.,married", GOOD_ROWS[3]],
    "header": [HEADER.replace("age", "AGE", 1), *GOOD_ROWS],
}


@pytest.fixture(scope="module")
def spark():
    from analysis.read.engines import spark_session

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return spark_session()


def verdict(path, **kw):
    try:
        got = read_patterns(path, SPEC, hash_file=False, **kw)
    except DataValidationError as err:
        return ("error", err.verdict(), err.n_rows)
    return ("ok", got.patterns.to_dict("list"), got.n_rows, got.source["format"])


@pytest.mark.parametrize("name", sorted(CASES))
def test_executors_first_pass_equals_duckdb(spark, tmp_path, name):
    path = write(tmp_path, CASES[name], newline="\r\n" if name == "structure" else "\n")
    ours = verdict(path, engine="spark", spark_first_pass="executors")
    assert ours == verdict(path, engine="duckdb"), name


def test_executors_provenance_of_one_file_is_the_files(spark, tmp_path):
    path = write(tmp_path, CASES["good"])
    ours = read_patterns(path, SPEC, engine="spark", spark_first_pass="executors")
    theirs = read_patterns(path, SPEC, engine="duckdb")
    assert ours.source == theirs.source and ours.source["sha256"]


def test_missing_file_and_bad_route(spark, tmp_path):
    with pytest.raises(DataValidationError, match="does not exist"):
        read_patterns(tmp_path / "nope.csv", SPEC, engine="spark", spark_first_pass="executors")
    with pytest.raises(ValueError, match="spark_first_pass"):
        read_patterns(tmp_path / "nope.csv", SPEC, engine="spark", spark_first_pass="cluster")


def test_session_master_conflict_and_active_session(spark):
    from analysis.read import engines

    with pytest.raises(EngineUnavailable, match="one Spark context per process"):
        engines.spark_session(master="spark://127.0.0.1:1")
    # a session the caller made active is used as it is
    saved = engines._SPARK
    engines._SPARK = None
    try:
        assert engines.spark_session() is saved
        with pytest.raises(EngineUnavailable, match="active Spark session"):
            engines.spark_session(master="spark://127.0.0.1:1")
    finally:
        engines._SPARK = saved
    assert engines.is_local_master("local[4]") and engines.is_local_master(None)
    assert not engines.is_local_master("spark://127.0.0.1:7077") and not engines.is_local_master("local-cluster[2,1,1024]")


def test_package_zip_for_the_executors(spark, monkeypatch):
    from analysis.read import spark_scan

    added = []
    monkeypatch.setattr(spark.sparkContext, "addPyFile", added.append)
    spark_scan.prepare_cluster(spark)
    (path,) = added
    names = zipfile.ZipFile(path).namelist()
    assert "analysis/read/csvscan.py" in names and "analysis/read/spark_scan.py" in names
    assert "analysis/spec/tmall.toml" in names and not any("__pycache__" in n for n in names)


def test_command_line_spark_master_and_uris(tmp_path):
    args = build_parser().parse_args(["fit", "--data", "hdfs://namenode:8020/data/coupons", "--spark-master",
                                      "spark://10.0.0.1:7077"])
    config = _config(args)
    assert config.spark_master == "spark://10.0.0.1:7077" and config.data == "hdfs://namenode:8020/data/coupons"
    assert config.as_dict()["spark_master"] == "spark://10.0.0.1:7077"
    assert resolve_engine("auto", config.data, config.spark_master) == "spark"
    assert resolve_engine("auto", tmp_path) == "duckdb"          # a folder
    assert str(_data_path("data/x.csv")) == "data/x.csv" and _data_path("s3a://bucket/key/") == "s3a://bucket/key/"


def test_executors_one_file_without_rows_reads_as_duckdb(spark, tmp_path):
    """A file with a header and no rows, and an empty file: the single file's own verdict."""
    header_only = write(tmp_path, [HEADER, ""], name="h.csv")
    empty = write(tmp_path, [], name="e.csv")
    for path in (header_only, empty):
        assert verdict(path, engine="spark", spark_first_pass="executors") == verdict(path, engine="duckdb"), path


def test_executors_refuse_a_file_over_the_limit_with_advice(spark, tmp_path):
    path = write(tmp_path, CASES["good"])
    spark.conf.set("spark.sql.sources.binaryFile.maxLength", "100")
    try:
        with pytest.raises(EngineUnavailable, match="Split the data into part files"):
            read_patterns(path, SPEC, engine="spark", spark_first_pass="executors")
    finally:
        spark.conf.unset("spark.sql.sources.binaryFile.maxLength")


def test_executors_name_a_file_spark_cannot_read(spark, tmp_path):
    """Hadoop cannot read a file whose name holds ':' (the driver route reads it through a link): a clear
    EngineUnavailable naming the file and the reason, not a Java traceback."""
    path = write(tmp_path, CASES["good"], name="c:d.csv")
    with pytest.raises(EngineUnavailable, match="holds ':'"):
        read_patterns(path, SPEC, engine="spark", spark_first_pass="executors")


# ----------------------------------------------------------------------------- Parquet parts read natively

def _parquet_parts(folder, parts, row_group_size=None, string_type=None):
    """A folder of Parquet parts: ``parts`` is a list of {column: values} changes of the six rows' columns."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from csv_helpers import natural_columns

    folder.mkdir()
    for k, change in enumerate(parts):
        columns = natural_columns()
        for name, values in change.items():
            columns[name] = pa.array(values, columns[name].type)
        if string_type is not None:
            columns = {c: a.cast(string_type) if pa.types.is_string(a.type) else a for c, a in columns.items()}
        pq.write_table(pa.table(columns), folder / f"part-{k:05d}.parquet", row_group_size=row_group_size)
    return folder


def _ids(start):
    return list(range(start, start + 6))


PART_CASES = {
    # rising IDs in every part, disjoint ranges: proved unique without a hash; large strings as pandas writes
    "ok": ([{"ID": _ids(1)}, {"ID": _ids(100)}, {"ID": _ids(50)}], {"string_type": "large_string"}),
    # unique, but the ranges of two parts meet: the duplicate check hashes the IDs, and accepts
    "ok-overlapping": ([{"ID": [1, 3, 5, 7, 9, 11]}, {"ID": [2, 4, 6, 8, 10, 12]}], {"row_group_size": 2}),
    # an ID of part 0 again in part 2, and values refused in part 1: lines as DuckDB gives them
    "refused": ([{"ID": _ids(1)}, {"ID": _ids(10), "age": [43, -1, 47, 28, 33, 51]}, {"ID": [20, 21, 3, 23, 24, 25]}],
                {"row_group_size": 4}),
}


@pytest.mark.parametrize("name", sorted(PART_CASES))
def test_executors_read_parquet_parts_natively_as_duckdb(spark, tmp_path, monkeypatch, name):
    """Parts whose used columns have their common types are read by Spark's Parquet reader (no Python on the
    rows): verdict, patterns and problem lines equal DuckDB's; IDs are proved unique from each task's runs of
    rising IDs, else hashed."""
    from analysis.read import spark_scan

    used, proofs = [], []
    native = spark_scan.SparkScanEngine._native_rows
    monkeypatch.setattr(spark_scan.SparkScanEngine, "_native_rows", lambda self, *a: used.append(1) or native(self, *a))
    proof = spark_scan.SparkScanEngine.ids_not_proved
    monkeypatch.setattr(spark_scan.SparkScanEngine, "ids_not_proved",
                        lambda self, *a: proofs.append(proof(self, *a)) or proofs[-1])
    parts, options = PART_CASES[name]
    # characters a URI encodes in the folder's name: Spark names a row's file by its encoded URI
    folder = _parquet_parts(tmp_path / f"{name} a%20b+c \u00e9", parts, **options)
    assert verdict(folder, engine="spark", spark_first_pass="executors") == verdict(folder, engine="duckdb")
    assert used, "the native route was not taken"
    # unique IDs rising in each part, the parts' ranges apart: proved from the verdict job's ranges
    assert (proofs == [0]) if name == "ok" else (proofs and proofs[0] > 0), proofs


def test_executors_read_converted_parquet_in_python(spark, tmp_path, monkeypatch):
    """A part whose column must be converted (unsigned 64-bit integers) is read through the first pass's rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from analysis.read import spark_scan
    from csv_helpers import natural_columns

    monkeypatch.setattr(spark_scan.SparkScanEngine, "_native_rows", lambda *a: pytest.fail("read natively"))
    folder = _parquet_parts(tmp_path / "parts", [{"ID": _ids(1)}])
    columns = natural_columns()
    columns["age"] = pa.array([43, 42, 47, 28, 33, 51], pa.uint64())
    columns["ID"] = pa.array(_ids(7), pa.int64())
    pq.write_table(pa.table(columns), folder / "part-00001.parquet")
    assert verdict(folder, engine="spark", spark_first_pass="executors") == verdict(folder, engine="duckdb")


def test_check_only_first_pass_equals_the_full_one(tmp_path):
    """scan_file(rows=False), the verdict job's pass on the executors, gives the result the full pass gives,
    on hand-made Parquet files and 40 fuzzed ones (types, names, characters, row groups), and the range of
    the IDs exactly when the file's 64-bit integer IDs rise (read here with pyarrow)."""
    import dataclasses
    import random

    import pyarrow as pa
    import pyarrow.parquet as pq

    import fuzzing
    from analysis.read.dataset import scan_file
    from csv_helpers import natural_columns, write_parquet

    cases = {
        "good": write_parquet(tmp_path / "good.parquet"),
        "uint64": write_parquet(tmp_path / "u.parquet", change={"age": pa.array([43, 42, 2**63 + 5, 28, 33, 51], pa.uint64())}),
        "float-text": write_parquet(tmp_path / "ft.parquet", change={"job": pa.array([1.0, 2.5, 1e20, 0.0, 1.0, 2.0])}),
        "float16": write_parquet(tmp_path / "f16.parquet", change={"age": pa.array([43, 42, 47, 28, 33, 51], pa.float16())}),
        "characters": write_parquet(tmp_path / "ch.parquet", change={"job": pa.array(
            ["tech\u200bnician", "admin.", "=cmd", "a\x07b", "", "services"]).dictionary_encode()}),
        "metadata-name": write_parquet(tmp_path / "m.parquet", extra={"_Metadata": pa.array([1] * 6)}),
        "letter-case": write_parquet(tmp_path / "lc.parquet", extra={"JOB": pa.array(["x"] * 6)}),
        "large": write_parquet(tmp_path / "l.parquet", change={c: a.cast(pa.large_string()) for c, a in
                                                               natural_columns().items() if pa.types.is_string(a.type)}),
    }
    base = "\n".join(["ID,age,job,marriage,default,returned,loan,coupon_used_in_last6_month,coupon_used_in_last_month,"
                      "coupon_ind"] + [f"{i},{30 + i % 40},admin.,married,no,yes,no,{i % 3},{i % 2},{i % 2}"
                                       for i in range(1, 1200)]).encode()
    for seed in range(40):
        table, row_group, _ = fuzzing.mutate_parquet(base, random.Random(seed))
        path = tmp_path / f"fuzz{seed}.parquet"
        fuzzing.write_parquet_case(path, table, row_group)
        cases[f"fuzz{seed}"] = path
    natives = set()
    for name, path in cases.items():
        data = memoryview(path.read_bytes())
        full, _ = scan_file(data, SPEC, 3, name)
        checked, rows = scan_file(data, SPEC, 3, name, rows=False)
        assert rows is None and dataclasses.asdict(checked) == dataclasses.asdict(full) | {"id_range": checked.id_range}, name
        ids = pa.table({"ID": [1]}) if full.raised else pq.read_table(path, columns=["ID"])
        ids = ids.column("ID").to_pylist() if pa.types.is_int64(ids.column("ID").type) else [None]
        rising = None not in ids and all(a < b for a, b in zip(ids, ids[1:]))
        assert checked.id_range == ((ids[0], ids[-1]) if rising and not full.raised else None), name
        if full.native:
            natives.add(name)
    assert {"good", "large", "characters"} <= natives and not natives & {"uint64", "float-text", "float16",
                                                                         "metadata-name", "letter-case"}, natives


def test_rising_runs_prove_only_unique_ids():
    """The ID proof of the spark engine (engines.rising_runs, runs_not_proved) against a count of distinct
    values, on random files cut into pieces that tasks read in any order (as Spark packs them), cut again
    into batches: it never proves repeated or missing IDs unique (4,000 cases), and it proves unique IDs
    whenever each file's IDs rise and the files' ranges do not meet, however the pieces are packed."""
    import random

    import pandas as pd
    import pyarrow as pa

    from analysis.read.engines import rising_runs, runs_not_proved

    def prove(tasks, type_=pa.int64()):
        out = []
        for task in tasks:      # a task: batches of (row, id) pairs
            out += list(rising_runs(iter(pa.record_batch([pa.array([r for r, _ in b], pa.int64()),
                                                          pa.array([i for _, i in b], type_)], names=["__row", "id"])
                                         for b in task)))
        frame = pa.Table.from_batches(out).to_pandas() if out else pd.DataFrame({"n": [], "lo": [], "hi": []})
        return runs_not_proved(frame)

    def cut(items, rng, most):
        cuts = sorted(rng.sample(range(1, len(items)), min(len(items) - 1, rng.randrange(0, most)))) if items else []
        return [items[a:b] for a, b in zip([0, *cuts], [*cuts, len(items)])]

    rng = random.Random(5)
    proved_count, rising_count = 0, 0
    for _ in range(4000):
        files, top = [], 0
        for f in range(rng.randrange(1, 5)):
            ids = [rng.randrange(60) if rng.random() < 0.97 else None for _ in range(rng.randrange(1, 12))]
            if rng.random() < 0.6:      # rising, above the files before (or not, in random order)
                ids = sorted({top + 1 + i for i in ids if i is not None})
                top = ids[-1] if ids else top
            files.append([(f * 1000 + k, i) for k, i in enumerate(ids)])
        if rng.random() < 0.5:
            rng.shuffle(files)
        pieces = [p for f in files for p in cut(f, rng, 3)]
        rng.shuffle(pieces)
        tasks = [[b for p in task for b in cut(p, rng, 2)] for task in cut(pieces, rng, 3)]
        tasks = [[b for b in cut([pair for b in task for pair in b], rng, 3)] if rng.random() < 0.3 else task
                 for task in tasks]     # batches across the pieces of a task
        every = [i for f in files for _, i in f]
        unique = None not in every and len(set(every)) == len(every)
        proved = prove(tasks) == 0
        assert not proved or unique, (files, tasks)
        ranges = sorted((f[0][1], f[-1][1]) for f in files if f) if unique else []
        if unique and all(all(a[1] < b[1] for a, b in zip(f, f[1:])) for f in files) and all(
                a[1] < b[0] for a, b in zip(ranges, ranges[1:])):
            rising_count += 1
            assert proved, (files, tasks)
        proved_count += proved
    assert proved_count > 1000 and rising_count > 1000, (proved_count, rising_count)
    text = [[[(0, "b"), (1, "c")], [(2, "d")]], [[(7, "a")]]]
    assert prove(text, pa.string()) == 0 and prove([[[(0, "b"), (1, "c")]], [[(5, "c")]]], pa.string()) == 1
