"""Words that read on data the package has never seen: carData's TitanicSurvival (tests/data/public/titanic.csv),
whose binary variable sex has the levels female/male, not yes/no.

One report (HTML, PDF, slides, workbook; --bootstrap 0) with tests/specs/titanic.toml, the specification init
drafts with each CHECK item resolved by hand: the level names and the specification's words are in every output,
and none of the phrases issue 19 found ('Sex: yes', 'no (no)', 'survived = yes', 'per 1 unit', 'one row per
row', targeting, customers). Then init's own draft: refused by report, and with --allow-draft a workbook and a
title stamped DRAFT.

The report is the whole file (263 passengers without an age are left out and counted: complete cases, the
default); init's draft is drafted from the same file.
"""
from pathlib import Path

import pytest

from outputs import html_text, pdf_text, run_cli, slides_text, workbook_text

ROOT = Path(__file__).resolve().parents[1]
TITANIC = ROOT / "tests" / "data" / "public" / "titanic.csv"
SPEC = ROOT / "tests" / "specs" / "titanic.toml"
#: what the report says about sex, in the specification's words and the data's levels
LEVEL_WORDS = ("Sex: female vs male", "female passengers", "male passengers")
#: phrases that must never be printed (issue 19), in any output
NEVER = ("Sex: yes", "yes vs no", "Sex: no", "no (no)", "yes (yes)", "survived = yes", "per 1 unit", "row per row",
         "customer", "targeting", "target the", "PassengerClass", "passengerclass")


@pytest.fixture(scope="module")
def report(titanic_report):
    """The Titanic report of tests/conftest.py (all 1,309 passengers; 263 without an age left out, counted)."""
    return titanic_report


def test_every_output_names_the_levels_and_never_the_broken_phrases(report):
    outputs = {"html": html_text(report / "report.html"), "pdf": pdf_text(report / "report.pdf"),
               "slides": slides_text(report / "slides.pptx"), "workbook": workbook_text(report / "report_tables.xlsx")}
    for name, text in outputs.items():
        assert "Sex: female vs male" in text, name
        for never in NEVER:
            assert never not in text, (name, never)
    for name in ("html", "pdf", "workbook"):
        for words in LEVEL_WORDS + ("Passenger class: 1st vs 3rd", "first-class passengers"):
            assert words in outputs[name], (name, words)
    for words in ("Female passengers have", "compared with male passengers", "one row per passenger",
                  "Female passengers survived at", "Age (per 10 years)", "Every 10 years of age goes with"):
        assert words in outputs["html"] and words in outputs["pdf"], words
    assert "Who survived the Titanic?" in outputs["slides"] and "passengers" in outputs["slides"]


def test_the_workbook_names_levels_and_formats_by_what_a_cell_holds(report):
    import openpyxl

    wb = openpyxl.load_workbook(report / "report_tables.xlsx")
    assert "profile_top_passengers" in wb.sheetnames and "means_by_survived" in wb.sheetnames
    assert not any("customer" in name for name in wb.sheetnames)

    def rows(sheet):
        ws = wb[sheet]
        header = [c.value for c in ws[1]]
        return [{h: c for h, c in zip(header, row)} for row in ws.iter_rows(min_row=2) if row[0].value is not None]

    sex = {r["label"].value: r for r in rows("rate_by_sex")}
    assert set(sex) == {"female", "male"} and sex["female"]["n"].number_format == "#,##0"
    means = {r["label"].value: r for r in rows("means_by_survived")}
    assert means["Age"]["difference"].number_format == "0.000"              # years, not '-162.7%'
    assert means["Sex: female"]["difference"].number_format == "0.0%"       # a difference of shares
    coefs = [r["label"].value for r in rows("coefficients")]
    assert "Sex: female vs male" in coefs and "Age (per year)" in coefs
    provenance = {r["item"].value: r["value"] for r in rows("provenance")}
    assert provenance["bytes"].number_format == "#,##0" and provenance["rows used"].value == 1046
    groups = [(r["label"].value, r["level_label"].value) for r in rows("observed_vs_predicted")]
    assert ("Sex", "female") in groups and ("Sex", "male") in groups
    profile = [r["label"].value for r in rows("profile_top_passengers")]
    assert "female passengers" in profile and "survival rate (observed)" in profile


def test_a_draft_is_refused_then_stamped_draft(tmp_path):
    """init's draft of the same file: report refuses it, naming its CHECK comments; --allow-draft writes a
    workbook with the DRAFT banner on every sheet, and the report's title says DRAFT."""
    import openpyxl

    from analysis.results import load

    draft = tmp_path / "titanic.toml"
    proc = run_cli("init", "--data", TITANIC, "--response", "survived", "--out", draft)
    assert proc.returncode == 0, proc.stderr
    args = ["--data", TITANIC, "--spec", draft, "--bootstrap", 0, "--out", tmp_path / "out", "--quiet"]
    proc = run_cli("report", *args)
    assert proc.returncode == 2 and "is a draft: 16 comments" in proc.stderr, proc.stderr
    assert "CHECK: what one row is" in proc.stderr
    proc = run_cli("report", *args, "--allow-draft", "--formats", "")
    assert proc.returncode == 0, proc.stderr
    wb = openpyxl.load_workbook(tmp_path / "out" / "report_tables.xlsx")
    assert all(str(ws["A1"].value).startswith("DRAFT") for ws in wb.worksheets)
    assert "Sex: female vs male" in workbook_text(tmp_path / "out" / "report_tables.xlsx")
    import contextlib
    import io

    import yaml

    from analysis.present.report_md import Doc

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):   # the title block both renderers read
        Doc(load(tmp_path / "out")).title_block()
    seen = yaml.safe_load(printed.getvalue().strip().strip("-"))
    assert seen["title"].startswith("DRAFT") and "DRAFT" in seen["subtitle"], seen
