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
