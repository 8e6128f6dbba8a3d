"""The rendered report (built-in route): odds ratios exactly as coefficients.csv gives them, every
section heading, the simulated-data label, and the exports for decks."""
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ["Background", "Data", "Univariate analysis", "Correlation", "Model", "Odds ratios in words",
            "Evaluation", "Summary conclusions", "Appendix"]


def render(out, *args):
    proc = subprocess.run([sys.executable, "-m", "analysis", "report", "--out", str(out), "--renderer", "python",
                           "--quiet", *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    return out


def pdf_text(path) -> str:
    text = "\n".join(page.extract_text() for page in PdfReader(path).pages)
    return text.replace("\u2212", "-")


def plain_html(path) -> str:
    html = Path(path).read_text()
    html = re.sub(r"<img[^>]*>", " ", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture(scope="module")
def real_report(real_data_path, tmp_path_factory):
    return render(tmp_path_factory.mktemp("real"), "--data", real_data_path)


@pytest.fixture(scope="module")
def simulated_report(tmp_path_factory):
    return render(tmp_path_factory.mktemp("sim"))


@pytest.mark.parametrize("which", ["real_report", "simulated_report"])
def test_odds_ratios_and_sections_in_html_and_pdf(which, request):
    out = request.getfixturevalue(which)
    coefs = pd.read_csv(out / "tables" / "coefficients.csv")
    html, pdf = plain_html(out / "report.html"), pdf_text(out / "report.pdf")
    for row in coefs.itertuples():
        for value in (row.odds_ratio, row.or_conf_low, row.or_conf_high):
            text = f"{value:.2f}"
            assert text in html and text in pdf, (row.term, text)
        # the row of the coefficient table carries the OR and its CI side by side
        ci = f"{row.or_conf_low:.2f} to {row.or_conf_high:.2f}"
        assert ci in html and ci in pdf, row.term
    for section in SECTIONS:
        assert section in html and section in pdf, section
    assert "@fig-" not in html and "@tbl-" not in pdf


def test_simulated_label_on_first_page(simulated_report, real_report):
    first = PdfReader(simulated_report / "report.pdf").pages[0].extract_text()
    assert "SIMULATED DATA" in first
    assert "SIMULATED DATA" in plain_html(simulated_report / "report.html")[:3000]
    assert "SIMULATED DATA" not in pdf_text(real_report / "report.pdf")


def test_row_count_and_conclusions_in_report(real_report):
    metrics = json.loads((real_report / "metrics.json").read_text())
    pdf = pdf_text(real_report / "report.pdf")
    assert f"{metrics['data']['rows_used']:,}" in pdf
    conclusions = pd.read_csv(real_report / "tables" / "conclusions.csv")
    html = plain_html(real_report / "report.html")
    for sentence in conclusions["sentence"]:
        assert sentence[:60].replace('"', "&quot;") in html or sentence[:60] in html


def _sheet(ws):
    """(header row number, header) of a sheet (after the SIMULATED banner when there is one)."""
    for row in ws.iter_rows(min_row=1, max_row=4):
        values = [c.value for c in row]
        if values and values[0] not in (None, "") and "SIMULATED" not in str(values[0]):
            return row[0].row, values
    raise AssertionError(ws.title)


def test_workbook_has_every_table_with_labels_formats_and_banner(simulated_report):
    import openpyxl

    wb = openpyxl.load_workbook(simulated_report / "report_tables.xlsx")
    for ws in wb.worksheets:                            # SIMULATED on every sheet of simulated data
        assert "SIMULATED DATA" in str(ws["A1"].value), ws.title
        for row in ws.iter_rows():                     # never a formula
            assert all(c.data_type != "f" for c in row), ws.title
    ws = wb["coefficients"]
    coefs = pd.read_csv(simulated_report / "tables" / "coefficients.csv")
    top, header = _sheet(ws)
    assert header[:3] == ["term", "label", "compared_with"] and header[3:] == list(coefs.columns[1:])
    labels = [ws.cell(row=top + 1 + i, column=2).value for i in range(len(coefs))]
    assert "Job: retired vs admin." in labels or any(" vs " in str(v) for v in labels)
    col = header.index("odds_ratio") + 1
    values = [ws.cell(row=top + 1 + i, column=col).value for i in range(len(coefs))]
    assert values == pytest.approx(coefs["odds_ratio"].tolist(), rel=1e-12)
    assert ws.cell(row=top + 1, column=col).number_format == "0.00"
    assert ws.cell(row=top + 1, column=header.index("p_value") + 1).number_format.startswith("[<0.001]")
    for name in ("fit", "provenance", "gains", "vif", "type3_tests", "marginal_effects", "classification", "stepwise"):
        assert name in wb.sheetnames
    top, header = _sheet(wb["rate_by_returned"])
    assert header[:2] == ["level", "label"]
    assert wb["rate_by_returned"].cell(row=top + 1, column=1).number_format == "0"          # 0/1 level
    assert wb["rate_by_returned"].cell(row=top + 1, column=header.index("rate") + 1).number_format == "0.0%"
    assert wb["rate_by_returned"].cell(row=top + 1, column=header.index("n") + 1).number_format == "#,##0"
    prov = {wb["provenance"].cell(row=r, column=1).value: wb["provenance"].cell(row=r, column=2).value
            for r in range(1, wb["provenance"].max_row + 1)}
    assert len(prov["sha256"]) == 64 and prov["formula"].startswith("flag ~")


def test_slides_have_the_key_figures_and_conclusions(simulated_report):
    from pptx import Presentation

    deck = Presentation(simulated_report / "slides.pptx")
    titles = [s.shapes.title.text for s in deck.slides if s.shapes.title is not None]
    for title in ("Key odds ratios", "How well it ranks", "Gains", "Conclusions", "Limitations"):
        assert title in titles
    pictures = sum(1 for s in deck.slides for sh in s.shapes if sh.shape_type == 13)
    assert pictures == 4
    for slide in deck.slides:                     # the label on every slide made from simulated data
        text = " ".join(sh.text_frame.text for sh in slide.shapes if sh.has_text_frame)
        assert "SIMULATED DATA" in text, text[:200]
    first = " ".join(sh.text_frame.text for sh in deck.slides[0].shapes if sh.has_text_frame)
    assert "simulated_tianmao.csv" in first and re.search(r"\d{4}-\d{2}-\d{2}", first)
