"""Text of a rendered report's outputs, for tests that check what a reader sees: the HTML, the PDF, the slides
and the workbook of a results folder."""
import re
import subprocess
import sys
from pathlib import Path

from pypdf import PdfReader

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args, timeout=900):
    return subprocess.run([sys.executable, "-m", "analysis", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def html_text(path) -> str:
    import html

    text = re.sub(r"<img[^>]*>", " ", Path(path).read_text())
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)))


def pdf_text(path) -> str:
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in PdfReader(path).pages))


def slides_text(path) -> str:
    from pptx import Presentation

    deck = Presentation(path)
    return " ".join(sh.text_frame.text for s in deck.slides for sh in s.shapes if sh.has_text_frame)


def workbook_text(path) -> str:
    import openpyxl

    wb = openpyxl.load_workbook(path)
    return " ".join(str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row
                    if isinstance(c.value, str))
