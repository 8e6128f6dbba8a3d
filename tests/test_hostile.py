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

ROOT = Path(__file__).resolve().parents[1]
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
