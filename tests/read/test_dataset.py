"""Data sets of several files (analysis.read.dataset): folders, Hive-style partitions, globs, file: URIs.

A data set reads as the one file its files make when joined (the same pattern table as the single
file, from every engine), and a problem names the file it is in with that file's own lines. The
spark engine is run both ways: its first pass on the driver (local mode, as before) and on the
executors (``spark_first_pass="executors"``: analysis.read.spark_scan, what a cluster runs).
"""
import warnings

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.read import DataValidationError, read_patterns
from analysis.read.dataset import partitions_of, resolve
from analysis.simulate import write_simulated
from analysis.spec import default_spec

from csv_helpers import GOOD_ROWS, HEADER, write  # noqa: E402

SPEC = default_spec()
#: engine name -> keyword arguments of read_patterns
ROUTES = {"memory": {"engine": "memory"}, "duckdb": {"engine": "duckdb"},
          "spark-driver": {"engine": "spark", "spark_first_pass": "driver"},
          "spark-executors": {"engine": "spark", "spark_first_pass": "executors"}}


@pytest.fixture(scope="module")
def spark():
    from analysis.read.engines import spark_session

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return spark_session()


def verdict(path, route, spec=SPEC, **kw):
    try:
        got = read_patterns(path, spec, hash_file=False, **ROUTES[route], **kw)
    except DataValidationError as err:
        return ("error", err.verdict(), err.n_rows)
    return ("ok", got.patterns.to_dict("list"), got.n_rows)


def all_routes(path, request, spec=SPEC, routes=tuple(ROUTES)):
    """The verdict of every route, asserted equal; returns it."""
    if any(r.startswith("spark") for r in routes):
        request.getfixturevalue("spark")
    results = {r: verdict(path, r, spec) for r in routes}
    first = results[routes[0]]
    for r in routes[1:]:
        assert results[r] == first, (r, results[r], first)
    return first


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    path = write_simulated(tmp_path_factory.mktemp("one") / "all.parquet", n_rows=6_000, seed=21)
    return pd.read_parquet(path), path


def _same_as(ref, root, request) -> list:
    """Every route's read of ``root``, each with the pattern table and accounting of ``ref``."""
    out = []
    for route in ROUTES:
        if route.startswith("spark"):
            request.getfixturevalue("spark")
        got = read_patterns(root, SPEC, hash_file=False, **ROUTES[route])
        pd.testing.assert_frame_equal(got.patterns, ref.patterns)
        pd.testing.assert_frame_equal(got.accounting, ref.accounting)
        out.append(got)
    return out


def test_partitioned_parquet_reads_as_the_single_file(simulated, tmp_path, request):
    """Hive-style marriage=... folders of part-*.parquet files (the column itself only in the folder names),
    a _SUCCESS marker, a .crc file and an empty part: the same pattern table and accounting as the one file."""
    frame, single = simulated
    root = tmp_path / "by_marriage"
    for k, (level, rows) in enumerate(frame.groupby("marriage", sort=True)):
        folder = root / f"marriage={level}"
        folder.mkdir(parents=True)
        rows = rows.drop(columns="marriage")
        half = len(rows) // 2
        rows.iloc[:half].to_parquet(folder / "part-00000.parquet", index=False)
        rows.iloc[half:].to_parquet(folder / "part-00001.parquet", index=False)
        rows.iloc[:0].to_parquet(folder / "part-00002.parquet", index=False)     # an empty partition
        (folder / ".part-00000.parquet.crc").write_bytes(b"crc")
    (root / "_SUCCESS").write_bytes(b"")
    ref = read_patterns(single, SPEC, engine="duckdb", hash_file=False)
    for got in _same_as(ref, root, request):
        assert got.source["files"] == 3 * frame["marriage"].nunique() and got.source["format"] == "parquet", got.source


def test_folder_of_csv_files_problem_names_its_file(tmp_path, request):
    root = tmp_path / "parts"
    root.mkdir()
    write(root, [HEADER, *GOOD_ROWS[:2]], name="part-0.csv")
    write(root, [HEADER, "", GOOD_ROWS[2], "9,-4,admin.,married,no,yes,no,2,0,1", "10,x,admin.,married,no,yes,no,2,0,1"],
          name="part-1.csv")
    write(root, [HEADER, "11,-5,admin.,married,no,yes,no,2,0,1", GOOD_ROWS[3]], name="part-2.csv")
    kind, problems, _ = all_routes(root, request)
    assert kind == "error"
    by = {(p[0], p[1]): p for p in problems}
    negative = by[("age", "negative value")]
    assert negative[2] == 2 and negative[3] == (4, 2) and negative[8] == ("part-1.csv", "part-2.csv"), negative
    text = by[("age", "text in a numeric column")]
    assert text[3] == (5,) and text[8] == ("part-1.csv",)
    with pytest.raises(DataValidationError) as info:
        read_patterns(root, SPEC, hash_file=False)
    assert "file lines 4 of part-1.csv; 2 of part-2.csv" in str(info.value), str(info.value)


def test_structure_problems_of_several_files_each_name_their_file(tmp_path, request):
    """A quote left open in one file and a missing column in another: both reported, each with its file;
    the files' CSV problems are those of each file alone."""
    root = tmp_path / "bad"
    root.mkdir()
    write(root, [HEADER, GOOD_ROWS[0], '2,42,"technician,divorced,no,yes,no,2,0,1', GOOD_ROWS[3]], name="a.csv")
    write(root, [HEADER.replace(",loan", ""), "1,43,management,married,no,yes,2,0,0"], name="b.csv")
    write(root, [HEADER, *GOOD_ROWS], name="c.csv")
    kind, problems, _ = all_routes(root, request)
    assert kind == "error"
    assert [p[-1] for p in problems] == [("a.csv",), ("b.csv",)], problems
    assert "never closed" in problems[0][1] and problems[0][3] == (3,)
    assert problems[1][0] == "loan" and "missing from the header" in problems[1][1]


def test_glob_and_file_uri(tmp_path, request):
    write(tmp_path, [HEADER, *GOOD_ROWS[:2]], name="d-1.csv")
    write(tmp_path, [HEADER, *GOOD_ROWS[2:]], name="d-2.csv")
    write(tmp_path, [HEADER, "5,x,admin.,married,no,yes,no,2,0,1"], name="other.csv")
    single = write(tmp_path / "..", [HEADER, *GOOD_ROWS], name=f"{tmp_path.name}-all.csv")
    ref = read_patterns(single, SPEC, engine="memory", hash_file=False, test_size=0.5)
    for data in (str(tmp_path / "d-*.csv"), "file://" + str(tmp_path / "d-*.csv")):
        got = read_patterns(data, SPEC, engine="duckdb", hash_file=False, test_size=0.5)
        assert got.source["files"] == 2
        pd.testing.assert_frame_equal(got.patterns, ref.patterns)
    # a file: URI of one file reads as that file, provenance included
    uri = read_patterns(single.resolve().as_uri(), SPEC, engine="memory", test_size=0.5)
    assert uri.source["file"] == single.name and uri.source["sha256"]
    pd.testing.assert_frame_equal(uri.patterns, ref.patterns)


def test_mixed_formats_types_and_empty_folders_refused(tmp_path, request):
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    write(mixed, [HEADER, *GOOD_ROWS], name="a.csv")
    frame = pd.DataFrame([r.split(",") for r in GOOD_ROWS], columns=HEADER.split(","))
    frame.to_parquet(mixed / "b.parquet", index=False)
    kind, problems, _ = all_routes(mixed, request, routes=("memory", "duckdb", "spark-executors"))
    assert "mixes CSV and Parquet files" in problems[0][1], problems

    types = tmp_path / "types"
    types.mkdir()
    frame.to_parquet(types / "a.parquet", index=False)
    frame.assign(age=frame["age"].astype("int64")).to_parquet(types / "b.parquet", index=False)
    kind, problems, _ = all_routes(types, request, routes=("memory", "duckdb", "spark-executors"))
    assert problems[0][0] == "age" and "different types in different files (text in a.parquet, int in b.parquet)" \
        in problems[0][1], problems

    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "_SUCCESS").write_bytes(b"")
    kind, problems, _ = all_routes(tmp_path / "empty", request, routes=("memory", "duckdb"))
    assert "holds no data files" in problems[0][1]
    kind, problems, _ = all_routes(tmp_path / "nothing-*.csv", request, routes=("memory", "duckdb"))
    assert "does not exist" in problems[0][1] or "matches no file" in problems[0][1], problems


def test_parquet_problem_rows_are_counted_in_their_file(tmp_path, request):
    frame = pd.DataFrame([r.split(",") for r in GOOD_ROWS * 3], columns=HEADER.split(","))
    frame["ID"] = range(1, len(frame) + 1)
    for column in ("age", "coupon_used_in_last6_month", "coupon_used_in_last_month", "coupon_ind"):
        frame[column] = frame[column].astype("int64")
    root = tmp_path / "p"
    root.mkdir()
    first, second = frame.iloc[:6].copy(), frame.iloc[6:].copy()
    second.iloc[1, second.columns.get_loc("job")] = "tech\u200bnician"
    second.iloc[2, second.columns.get_loc("age")] = -1
    second.iloc[3, second.columns.get_loc("ID")] = 2              # a duplicate of an ID of the first file
    pq.write_table(pa.Table.from_pandas(first, preserve_index=False), root / "part-0.parquet")
    pq.write_table(pa.Table.from_pandas(second, preserve_index=False), root / "part-1.parquet")
    kind, problems, _ = all_routes(root, request)
    by = {(p[0], p[1][:20]): p for p in problems}
    assert by[("job", "contains a control o")][3] == (2,) and by[("job", "contains a control o")][8] == ("part-1.parquet",)
    assert by[("age", "negative value")][3] == (3,) and by[("age", "negative value")][7] == "rows"
    dup = by[("ID", "duplicate ID")]
    assert dup[3] == (2, 4) and dup[8] == ("part-0.parquet", "part-1.parquet"), dup


def test_partition_values_are_decoded_and_checked():
    assert partitions_of("a=x%2Fy/b=__HIVE_DEFAULT_PARTITION__/part-0.parquet") == (("a", "x/y"), ("b", None))
    assert partitions_of("plain/part-0.parquet") == ()
    assert resolve("hdfs://namenode:8020/data/coupons").local is False


def test_uri_refused_by_local_engines_with_advice():
    with pytest.raises(DataValidationError) as info:
        read_patterns("hdfs://namenode:8020/data/coupons", SPEC, engine="duckdb")
    assert "only the spark engine reads" in str(info.value) and "--engine spark" in str(info.value)


def test_a_folder_of_parquet_parts_is_read_in_place_by_duckdb(simulated, tmp_path, request):
    """part-*.parquet files of one schema, no partition folders: the DuckDB engine reads them where they are
    (no copy: memory does not grow with the data set; a 10^8-row part was copied into memory before) and gives
    the single file's pattern table and accounting, as every other route does; the problem rows of the
    other test (test_parquet_problem_rows_are_counted_in_their_file) go through the same route. A part with
    another Parquet type of a column falls back to the copy route, which reconciles or refuses it."""
    from analysis.read import dataset as ds

    frame, single = simulated
    root = tmp_path / "parts"
    root.mkdir()
    for k, start in enumerate(range(0, len(frame), 2_500)):
        frame.iloc[start:start + 2_500].to_parquet(root / f"part-{k:05d}.parquet", index=False)
    data = ds.resolve(str(root))
    assert len(data.files) == 3 and ds._in_place(data, SPEC)
    ref = read_patterns(single, SPEC, engine="duckdb", hash_file=False)
    _same_as(ref, root, request)
    frame.iloc[:10].assign(age=frame["age"].iloc[:10].astype("int32")).to_parquet(root / "part-00009.parquet",
                                                                                  index=False)
    assert not ds._in_place(ds.resolve(str(root)), SPEC)


def test_ids_of_parts_read_in_place_are_proved_unique_part_by_part(simulated, tmp_path, request):
    """Parts read in place: each part's IDs increasing in its own order and the parts' ranges of IDs
    disjoint prove every ID unique without a hash of all of them (what made 10^9 rows hash 10^9 IDs). The
    proof must not accept what it cannot prove: parts whose ranges overlap, each increasing, with one ID in
    two parts, are refused with that duplicate (its rows in both files: a Parquet row is its line), as the memory engine finds it;
    disjoint ranges in any order of the files are accepted with the single file's patterns."""
    from analysis.read import dataset as ds

    frame, single = simulated
    root = tmp_path / "disjoint"
    root.mkdir()
    # the later IDs in the first file: ranges disjoint, the files not in the IDs' order
    frame.iloc[3_000:].to_parquet(root / "part-00000.parquet", index=False)
    frame.iloc[:3_000].to_parquet(root / "part-00001.parquet", index=False)
    assert ds._in_place(ds.resolve(str(root)), SPEC)
    ref = read_patterns(single, SPEC, engine="duckdb", hash_file=False)
    _same_as(ref, root, request)

    root = tmp_path / "overlap"
    root.mkdir()
    first, second = frame.iloc[:3_000].copy(), frame.iloc[2_999:].copy()   # row 2,999's ID in both files
    first.to_parquet(root / "part-00000.parquet", index=False)
    second.to_parquet(root / "part-00001.parquet", index=False)
    kind, problems, _ = all_routes(root, request, routes=("memory", "duckdb"))
    assert kind == "error"
    dup = next(p for p in problems if p[0] == "ID" and p[1].startswith("duplicate ID"))
    assert dup[3] == (3_000, 1) and dup[8] == ("part-00000.parquet", "part-00001.parquet"), dup


def test_parts_in_place_by_name_and_proofs_of_unique_ids(simulated, tmp_path, request, monkeypatch):
    """Parts read in place as one scan bind columns by name (a part with its columns in another order), and
    their IDs are proved unique from the first pass's ranges (no query) when every part's IDs rise; a part
    whose IDs do not rise falls back to the scan of each part, a repeated ID to the hash -- the patterns of
    the single file every time, or its duplicate."""
    from analysis.read import dataset as ds
    from analysis.read.rules import RuleSet

    frame, single = simulated
    ref = read_patterns(single, SPEC, engine="duckdb", hash_file=False)
    scans = []
    parts_scan = RuleSet.not_increasing_parts
    monkeypatch.setattr(RuleSet, "not_increasing_parts", lambda self, r: scans.append(len(r)) or parts_scan(self, r))

    root = tmp_path / "reordered"
    root.mkdir()
    frame.iloc[:2_000].to_parquet(root / "part-00000.parquet", index=False)
    frame.iloc[2_000:4_000][list(reversed(frame.columns))].to_parquet(root / "part-00001.parquet", index=False)
    frame.iloc[4_000:].to_parquet(root / "part-00002.parquet", index=False)
    assert ds._in_place(ds.resolve(str(root)), SPEC)
    _same_as(ref, root, request)
    assert scans == [], "rising parts with ranges apart need no scan"

    root = tmp_path / "shuffled"
    root.mkdir()
    frame.iloc[:3_000].sample(frac=1, random_state=3).to_parquet(root / "part-00000.parquet", index=False)
    frame.iloc[3_000:].to_parquet(root / "part-00001.parquet", index=False)
    got = read_patterns(root, SPEC, engine="duckdb", hash_file=False)
    assert scans == [2]
    pd.testing.assert_frame_equal(got.patterns, ref.patterns)
