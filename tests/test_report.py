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
    proc = subprocess.run([sys.executable, "-m", "analysis", "report", "--out", str(out), "--engine", "python",
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
