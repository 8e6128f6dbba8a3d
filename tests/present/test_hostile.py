"""Text from the data is data: hostile levels and column names through the report (HTML, PDF), the slides, the
workbook and the CSV tables.

The embedded sample with job levels replaced by markup, scripts, links, cross-references, shortcodes, math
and formula-like text that the readers accept (a level may not *start* with = + - @: the reader refuses
those, tested in test_read.py), and an extra column named like HTML. Asserted: the HTML has no element,
attribute, link or script that came from the data; every hostile level appears as literal text in the HTML
and the PDF; the workbook has no formula cell; no CSV table cell starts like a formula; nothing crashed.
"""
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader

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
