"""Text from the data is data: hostile levels and column names through the report (HTML, PDF), the slides, the
workbook and the CSV tables; and text from outside the code (the data file's name, the specification's title,
subtitle, background and labels) through both renderers, the built-in one and Quarto.

The embedded sample with job levels replaced by markup, scripts, links, cross-references, shortcodes, math
and formula-like text that the readers accept (a level may not *start* with = + - @: the reader refuses
those, tested in test_read.py), and an extra column named like HTML. Asserted: the HTML has no element,
attribute, link or script that came from the data; every hostile level appears as literal text in the HTML
and the PDF; the workbook has no formula cell; no CSV table cell starts like a formula; nothing crashed.
"""
import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader

from conftest import report_cli

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = {
    "admin.": "<img src=x onerror=alert(1)>",
    "blue-collar": "<script>alert(1)</script>",
    "entrepreneur": "[x](javascript:alert(1))",
    "housemaid": "x @fig-x {{< pagebreak >}}",
    "management": "$\\notacommand{$",
    "retired": "a|b *c* _d_ `e` <b>bold</b>",
    "services": "x =HYPERLINK(\"http://x\",\"y\")",
}


class Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("hostile")
    data = pd.read_csv(ROOT / "data" / "simulated_tianmao.csv")
    data["job"] = data["job"].replace(HOSTILE)
    data["<b onmouseover=alert(1)>col</b>"] = "x"
    path = out / "hostile.csv"
    data.to_csv(path, index=False)
    proc = subprocess.run([sys.executable, "-m", "analysis", "report", "--data", str(path), "--out", str(out / "r"),
                           "--renderer", "python", "--baseline", "job=technician", "--quiet"],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    return out / "r"


def test_html_has_no_element_from_the_data(hostile_report):
    html = (hostile_report / "report.html").read_text()
    parser = Elements()
    parser.feed(html)
    for tag, attrs in parser.found:
        assert not (tag == "img" and attrs.get("src") == "x"), attrs
        assert "onerror" not in attrs and "onmouseover" not in attrs, (tag, attrs)
        assert not str(attrs.get("href", "")).startswith("javascript:"), attrs
    assert "alert(1)</script>" not in html.replace("&lt;/script&gt;", "")
    assert not re.search(r"<script[^>]*>[^<]*alert", html)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    import html as html_lib

    text = html_lib.unescape(text)
    for level in HOSTILE.values():
        assert level in text, level


def test_pdf_shows_the_levels_literally(hostile_report):
    text = " ".join(page.extract_text() for page in PdfReader(hostile_report / "report.pdf").pages)
    text = re.sub(r"\s+", " ", text)
    for level in ("<img src=x onerror=alert(1)>", "<script>alert(1)</script>", "x @fig-x", "$\\notacommand{$"):
        assert level in text, level


def test_workbook_and_csv_tables_hold_no_formula(hostile_report):
    import openpyxl

    wb = openpyxl.load_workbook(hostile_report / "report_tables.xlsx")
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
    for table in (hostile_report / "tables").glob("*.csv"):
        frame = pd.read_csv(table, dtype=str, keep_default_na=False)
        for column in frame.columns:
            bad = frame[column][frame[column].str.match(r"^[=+@\t\r]") |
                                (frame[column].str.match(r"^-") & ~frame[column].str.match(r"^-[0-9.]"))]
            assert bad.empty, (table.name, column, bad.tolist()[:3])


def test_slides_show_the_levels_literally(hostile_report):
    from pptx import Presentation

    deck = Presentation(hostile_report / "slides.pptx")
    text = " ".join(sh.text_frame.text for s in deck.slides for sh in s.shapes if sh.has_text_frame)
    assert "<script>" not in text or "<script>alert(1)</script>" in text


# ----------------------------------------------------------------------------- hostile input, round 2: Parquet types
#
# Each case is a six-row Parquet file of the coupon columns with natural types (tests/csv_helpers.py) with one
# column replaced or added. Every engine (Spark where Java is present) must give the same verdict, and the
# verdict of the same content written as CSV (the same problems, rows, IDs and values; Parquet names rows,
# a CSV file lines, one more for the header); a refused file exits 2 from the command line on every engine.

import os

import numpy as np
import pyarrow as pa

from analysis.read import DataValidationError, read_patterns
from analysis.spec import default_spec, with_missing

from csv_helpers import COLUMNS, PARQUET_ROWS, write_parquet  # noqa: E402

SPEC = default_spec()
HAVE_JAVA = bool(shutil.which("java") or (os.environ.get("JAVA_HOME")
                                          and Path(os.environ["JAVA_HOME"], "bin", "java").exists()))
ENGINES = ("memory", "duckdb", "spark") if HAVE_JAVA else ("memory", "duckdb")


def _verdict(path, engine, spec=SPEC):
    try:
        got = read_patterns(path, spec, engine=engine, hash_file=False)
    except DataValidationError as err:
        return ("error", err.verdict(), err.n_rows)
    return ("ok", got.patterns.to_dict("list"), got.n_rows)


def _same_verdict(path, spec=SPEC):
    results = {e: _verdict(path, e, spec) for e in ENGINES}
    for engine in ENGINES[1:]:
        assert results[engine] == results["memory"], (engine, results[engine], results["memory"])
    return results["memory"]


def _csv_twin(path, tmp_path):
    twin = tmp_path / "twin.csv"
    pd.read_parquet(path).to_csv(twin, index=False, float_format="%.17g")   # 1.0 as 1, NaN as empty
    return twin


def _placeless(problems, shift=0):
    """Problems without the unit of their places; CSV lines shifted back to data rows by ``shift``."""
    return [(c, what, rows, tuple(x - shift for x in lines), ids, values, fix)
            for c, what, rows, lines, ids, values, fix, unit in problems]


def _exit_codes(path, tmp_path, capsys, *extra):
    """{engine: (exit code, stderr)} of `analysis fit` run in this process (Spark's session shared)."""
    from analysis.cli import main

    out = {}
    for engine in ENGINES:
        capsys.readouterr()
        code = main(["fit", "--data", str(path), "--engine", engine, "--out", str(tmp_path / f"o-{engine}"), "--quiet",
                     "--select", "none", "--firth", "--bootstrap", "0", *extra])
        out[engine] = (code, capsys.readouterr().err.replace(str(tmp_path / f"o-{engine}"), "OUT"))
    return out


REFUSED = {
    # 1. a null in an integer ID (crashed while formatting the IDs of the message)
    "null-in-integer-id": ({"ID": pa.array([1, None, 3, 4, 22357, 22358], pa.int64())}, ("ID", "missing value")),
    # 2. a boolean where a number belongs (the rules had no number of it)
    "bool-age": ({"age": pa.array([True] * 6)}, ("age", "text in a numeric column")),
    "bool-response": ({"coupon_ind": pa.array([False, True] * 3)}, ("coupon_ind", "response outside")),
    # 3. unsigned 64-bit values beyond BIGINT (a DuckDB cast error; Spark wrapped them to negative numbers)
    "uint64-id": ({"ID": pa.array([1, 2, 3, 4, 2**63 + 5, 2**64 - 1], pa.uint64())}, ("ID", "text in a numeric column")),
    "uint64-count": ({"coupon_used_in_last6_month": pa.array([2, 2, 2, 2, 2**63 + 5, 2**64 - 1], pa.uint64())},
                     ("coupon_used_in_last6_month", "text in a numeric column")),
}

# 4. NaN in a float age, count or response (DuckDB evaluated a guarded cast, and its isnan() of a Parquet
#    column follows the file's statistics, which leave NaN out). NaN is a missing value, as the CSV twin's empty
#    cell is: refused under `refuse`, left out and counted under `complete_cases` (the default)
NAN = {
    "nan-age": ({"age": pa.array([43.0, np.nan, 47.0, 28.0, 33.0, 51.0])}, ("age", "missing value")),
    "nan-count": ({"coupon_used_in_last6_month": pa.array([2.0, np.nan, 2.0, 2.0, 1.0, 0.0])},
                  ("coupon_used_in_last6_month", "missing value")),
    "nan-response": ({"coupon_ind": pa.array([0.0, np.nan, 0.0, 1.0, 0.0, 1.0])}, ("coupon_ind", "missing value")),
}
REFUSE = with_missing(SPEC, "refuse")


@pytest.mark.parametrize("name", list(REFUSED) + list(NAN))
def test_parquet_types_get_the_verdict_of_their_csv(tmp_path, capsys, name):
    change, (column, what) = {**REFUSED, **NAN}[name]
    spec, extra = (REFUSE, ("--missing", "refuse")) if name in NAN else (SPEC, ())
    path = write_parquet(tmp_path / "case.parquet", change)
    kind, problems, n_rows = _same_verdict(path, spec)
    assert kind == "error" and n_rows == 6, problems
    assert any(p[0] == column and what in p[1] for p in problems), problems
    twin = _verdict(_csv_twin(path, tmp_path), "memory", spec)
    assert twin[0] == "error" and _placeless(problems) == _placeless(twin[1], shift=1), (problems, twin)
    codes = _exit_codes(path, tmp_path, capsys, *extra)
    assert {c for c, _ in codes.values()} == {2} and len({e for _, e in codes.values()}) == 1, codes
    assert "Traceback" not in codes["memory"][1] and f"column {column!r}" in codes["memory"][1]


@pytest.mark.parametrize("name", list(NAN))
def test_parquet_nan_is_a_missing_value_as_the_csv_empty_cell(tmp_path, name):
    """Under complete_cases (the default) every engine reads the NaN as its CSV twin's empty cell: the same
    pattern table, with the row's value missing (its response missing: the row left out)."""
    change, _ = NAN[name]
    path = write_parquet(tmp_path / "case.parquet", change)
    verdict = _same_verdict(path)
    assert verdict[0] == "ok", verdict
    assert _verdict(_csv_twin(path, tmp_path), "memory") == verdict


ACCEPTED = {
    # 5. half floats (the memory engine could not register them, Spark could not read them)
    "float16-age": ({"age": pa.array(np.array([43, 42, 47, 28, 33, 51], dtype=np.float16))}, None),
    # 6. extra columns named like a reader's own (DuckDB's file_row_number option, Spark's _metadata)
    "file_row_number": (None, {"file_row_number": pa.array([7] * 6)}),
    "FILE_ROW_NUMBER": (None, {"FILE_ROW_NUMBER": pa.array(["x"] * 6)}),
    "_metadata": (None, {"_metadata": pa.array(["x"] * 6)}),
    "_Metadata-struct": (None, {"_Metadata": pa.array([{"row_index": 1}] * 6)}),
    # the kinds the engines read in place, beside the natural ones
    "uint32-decimal-large-string-dictionary": ({
        "ID": pa.array([1, 2, 3, 4, 22357, 22358], pa.uint32()),
        "age": pa.array([43, 42, 47, 28, 33, 51], pa.decimal128(6, 2)),
        "job": pa.array(PARQUET_ROWS and [r.split(",")[2] for r in PARQUET_ROWS], pa.large_string()),
        "marriage": pa.array([r.split(",")[3] for r in PARQUET_ROWS]).dictionary_encode(),
        "coupon_used_in_last_month": pa.array([0, 0, 1, 0, 0, 0], pa.int8()),
        "coupon_ind": pa.array([0.0, 1.0, 0.0, 1.0, 0.0, 1.0], pa.float32())}, None),
}


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_parquet_types_and_reserved_names_accepted_as_their_csv(tmp_path, name):
    change, extra = ACCEPTED[name]
    path = write_parquet(tmp_path / "case.parquet", change, extra)
    kind, patterns, n_rows = _same_verdict(path)
    assert kind == "ok" and n_rows == 6, patterns
    plain = write_parquet(tmp_path / "plain.parquet")
    assert _verdict(_csv_twin(plain, tmp_path), "memory")[1] == patterns


def test_float_levels_print_alike_in_every_engine(tmp_path):
    """A float in a text column is its text as the first pass writes it (DuckDB prints 1e20 as 1e+20,
    Spark as 1.0E20): a yes/no column of floats is refused with the same values from every engine."""
    path = write_parquet(tmp_path / "case.parquet", {"default": pa.array([1e20, 0.0, 1.5, 1.0, 0.0, 0.0])})
    kind, problems, _ = _same_verdict(path)
    (problem,) = problems
    assert problem[0] == "default" and problem[5] == ("1e+20", "0", "1.5", "1"), problem


def test_parquet_types_refused_by_name(tmp_path):
    import datetime

    path = write_parquet(tmp_path / "case.parquet", {
        "age": pa.array([datetime.datetime(2020, 1, 1)] * 6), "job": pa.array([[1]] * 6)})
    kind, problems, _ = _same_verdict(path)
    assert [(p[0], p[1]) for p in problems] == [
        ("age", "has the Parquet type timestamp[us], which is not text or a number"),
        ("job", "has the Parquet type list<element: int64>, which is not text or a number")], problems


def test_duplicated_parquet_column_named_like_in_a_csv(tmp_path):
    """7. A duplicated name: the same header problem from every engine (duckdb and Spark's first pass said
    the file was unreadable), and from the CSV with the same header."""
    import pyarrow.parquet as pq

    age = pa.array([43, 42, 47, 28, 33, 51])
    path = write_parquet(tmp_path / "case.parquet", extra=[("age", age)])
    assert pq.ParquetFile(path).schema_arrow.names.count("age") == 2
    kind, problems, _ = _same_verdict(path)
    twin = tmp_path / "twin.csv"
    twin.write_text("\n".join([",".join(COLUMNS) + ",age", *(r + ",40" for r in PARQUET_ROWS)]) + "\n")
    assert kind == "error" and problems == _verdict(twin, "memory")[1], problems
    assert [p[1] for p in problems] == ["appears 2 times in the header"]


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_hostile_file_names_read_alike(tmp_path, capsys, suffix):
    """Characters DuckDB and Spark take for patterns (* ? [ ] { }), quotes, a colon, a line break: the
    engines read the file (a Parquet file in place through a link of a fixed name); a refused file's
    message shows the name escaped."""
    name = "a*b?[1]{x,y}:'q\"%\nz" + suffix
    path = tmp_path / name
    if suffix == ".csv":
        plain = _csv_twin(write_parquet(tmp_path / "plain.parquet"), tmp_path)
        path.write_bytes(plain.read_bytes())
    else:
        write_parquet(path)
    kind, patterns, _ = _same_verdict(path)
    assert kind == "ok"
    bad = tmp_path / ("bad\x1b[31m\n" + suffix)
    write_parquet(bad, {"age": pa.array([True] * 6)}) if suffix == ".parquet" else bad.write_text(
        "\n".join([",".join(COLUMNS), *(r.replace(",43,", ",x,") for r in PARQUET_ROWS)]) + "\n")
    with pytest.raises(DataValidationError) as info:
        read_patterns(bad, SPEC, engine="memory", hash_file=False)
    head = str(info.value).split("\n")[0]
    assert "\x1b" not in head and "\\x1b" in head and "\\n" in head, head


# -- names from outside the code, both renderers ---------------------------------------------------------------
#: a data file's name (issue 22 item 11: it reached report.html as live HTML and MathML through the subtitle)
FILE_NAME = "a <img src=x onerror=alert(2)> $x$.csv"
#: specification strings, each in a place it reaches: title, subtitle, background (where emphasis is allowed and
#: nothing else), the label of a variable (headings, captions, axis labels, sentences)
SPEC_TEXT = {
    "title": "Who <img src=x onerror=alert(3)> uses $y$ coupons? @fig-x {{< pagebreak >}}",
    "subtitle": "<script>alert(4)</script> [a](javascript:alert(5))",
    "background": "Question <b onmouseover=alert(6)>x</b> $z^2$ @sec-data [here](javascript:alert(7)) **kept bold**",
}
JOB_LABEL = "Job <i onclick=alert(8)>x</i> $w$"


def _hostile_spec(path: Path) -> Path:
    text = (ROOT / "analysis" / "spec" / "tmall.toml").read_text()
    text = re.sub(r'^title = ".*"$', f"title = {json.dumps(SPEC_TEXT['title'])}", text, count=1, flags=re.M)
    text = re.sub(r'^subtitle = ".*"$', f"subtitle = {json.dumps(SPEC_TEXT['subtitle'])}", text, count=1,
                  flags=re.M)
    text = re.sub(r'^background = """.*?"""$', f"background = {json.dumps(SPEC_TEXT['background'])}", text,
                  count=1, flags=re.M | re.S)
    text = text.replace('label = "Job"', f"label = {json.dumps(JOB_LABEL)}", 1)
    path.write_text(text)
    return path


@pytest.fixture(scope="module", params=["python", "quarto"])
def hostile_names(request, tmp_path_factory):
    """`report` of the embedded sample saved under FILE_NAME, with a specification holding SPEC_TEXT, by the
    built-in renderer and by Quarto (bootstrap off: the text is what is tested)."""
    renderer = request.param
    env = request.getfixturevalue("quarto_env") if renderer == "quarto" else None
    out = tmp_path_factory.mktemp(f"names-{renderer}")
    data = out / FILE_NAME
    shutil.copyfile(ROOT / "data" / "simulated_tianmao.csv", data)
    spec = _hostile_spec(out / "hostile.toml")
    return report_cli(out / "r", "--data", data, "--spec", spec, "--bootstrap", 0, renderer=renderer, env=env)


def _visible_text(html: str) -> str:
    import html as html_lib

    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_names_are_text_in_the_html(hostile_names):
    html = (hostile_names / "report.html").read_text()
    parser = Elements()
    parser.feed(html)
    for tag, attrs in parser.found:
        assert not (tag == "img" and attrs.get("src") == "x"), attrs
        assert tag != "math", attrs                                      # no MathML from $...$
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        assert not str(attrs.get("href", "")).startswith("javascript:"), attrs
    assert not re.search(r"<script[^>]*>[^<]*alert\([2-8]\)", html)   # (Quarto's page has Bootstrap's alert code)
    text = _visible_text(html)
    for literal in (FILE_NAME, SPEC_TEXT["title"], SPEC_TEXT["subtitle"], JOB_LABEL,
                    SPEC_TEXT["background"].replace("**kept bold**", "kept bold")):
        assert literal in text, literal
    assert "<strong>kept bold</strong>" in html                          # the background's emphasis is kept


def test_names_are_text_in_the_pdf_and_the_slides(hostile_names):
    from pptx import Presentation

    pdf = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(hostile_names / "report.pdf").pages)
    for literal in (FILE_NAME, SPEC_TEXT["subtitle"], JOB_LABEL, "Question <b onmouseover=alert(6)>x</b> $z^2$"):
        assert literal in pdf, literal
    deck = Presentation(hostile_names / "slides.pptx")
    first = " ".join(sh.text_frame.text for sh in deck.slides[0].shapes if sh.has_text_frame)
    assert SPEC_TEXT["title"] in first and FILE_NAME in first, first


def test_names_are_text_in_the_workbook(hostile_names):
    import openpyxl

    wb = openpyxl.load_workbook(hostile_names / "report_tables.xlsx")
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    assert any(c.value == FILE_NAME for c in cells)
