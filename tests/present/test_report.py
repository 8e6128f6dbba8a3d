"""The rendered report: odds ratios exactly as coefficients.csv gives them, every section heading, the
simulated-data label, and the exports for decks; the layout checks of the PDF, on both routes (the built-in
renderer, and `python -m analysis report` through the real Quarto CLI; the session's reports are in conftest.py,
tests/present/test_quarto.py compares the routes)."""
import itertools
import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader

from report_html import figures, page, section_paragraphs, tables

ROOT = Path(__file__).resolve().parents[2]
#: the session's reports: built-in renderer and Quarto, real data and embedded sample
REPORTS = ["real_report", "simulated_report", "quarto_real_report", "quarto_simulated_report"]
SECTIONS = ["Background", "Data", "Univariate analysis", "Correlation", "Model", "Odds ratios in words",
            "Evaluation", "Summary conclusions", "Appendix"]


def pdf_text(path) -> str:
    text = "\n".join(page.extract_text() for page in PdfReader(path).pages)
    return text.replace("\u2212", "-")


def plain_html(path) -> str:
    """The text of the page (scripts and styles left out)."""
    html = Path(path).read_text()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"<img[^>]*>", " ", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize("which", REPORTS)
def test_odds_ratios_and_sections_in_html_and_pdf(which, request):
    out = request.getfixturevalue(which)
    coefs = pd.read_csv(out / "tables" / "coefficients.csv")
    html, pdf = plain_html(out / "report.html"), pdf_text(out / "report.pdf")
    # the intercept and a spline's basis columns have no odds ratio (a curve is not one odds ratio; the
    # intercept's reference profile is every variable at 0): blank in the table, never "nan"
    assert set(coefs.loc[coefs["odds_ratio"].isna(), "kind"]) <= {"intercept", "spline basis"}
    assert "nan" not in html.lower().split() and " nan " not in pdf.lower()
    for row in coefs[coefs["odds_ratio"].notna()].itertuples():
        for value in (row.odds_ratio, row.or_conf_low, row.or_conf_high):
            text = f"{value:.2f}"
            assert text in html and text in pdf, (row.term, text)
        # the row of the coefficient table carries the OR and its CI side by side
        ci = f"{row.or_conf_low:.2f} to {row.or_conf_high:.2f}"
        assert ci in html and ci in pdf, row.term
    for section in SECTIONS:
        assert section in html and section in pdf, section
    assert "@fig-" not in html and "@tbl-" not in pdf


def _runs(text: str, n: int = 12) -> set[str]:
    words = text.split()
    return {" ".join(words[i:i + n]) for i in range(len(words) - n + 1)}


@pytest.mark.parametrize("which", REPORTS)
def test_no_section_says_a_thing_twice(which, request):
    """Within a section, no two paragraphs share a run of 12 words (the specification's background repeated the
    report's method paragraph word for word). Lists are left out: the odds-ratio sentences share their frame."""
    repeated = []
    for heading, paragraphs in section_paragraphs(page(request.getfixturevalue(which) / "report.html")).items():
        for one, other in itertools.combinations(paragraphs, 2):
            if common := _runs(one) & _runs(other):
                repeated.append((heading, sorted(common)[0]))
    assert not repeated, repeated


def test_a_generated_sentence_starts_a_sentence(simulated_report):
    """The distribution sentence of a numeric variable ends before the generated sentence that follows it
    ("... and non-users. By age group, ..."; it was "non-users; By age group")."""
    text = " ".join(" ".join(ps) for ps in section_paragraphs(page(simulated_report / "report.html")).values())
    assert "coupon users and non-users. By age group, the coupon-use rate" in text and "; By " not in text


@pytest.mark.parametrize("which", REPORTS)
def test_captions_show_no_markdown(which, request):
    """Captions show text, not its markup (the split table's caption showed `ID` with its backticks)."""
    doc = page(request.getfixturevalue(which) / "report.html")
    captions = [caption for caption, _ in tables(doc).values()] + list(figures(doc).values())
    assert len(captions) >= 30
    assert not [c for c in captions if re.search(r"[`\\]|\*\*|\]\(", c)]
    assert "a seeded hash of its ID falls below the test share" in tables(doc)["tbl-split"][0]


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
    html = plain_html(real_report / "report.html").replace("\u2019", "'").replace("&#39;", "'")
    for sentence in conclusions["sentence"]:
        assert sentence[:60].replace('"', "&quot;") in html or sentence[:60] in html, sentence[:60]


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
    assert [v is None for v in values] == coefs["odds_ratio"].isna().tolist()   # no odds ratio: an empty cell
    assert [v for v in values if v is not None] == pytest.approx(coefs["odds_ratio"].dropna().tolist(), rel=1e-12)
    first = top + 1 + next(i for i, v in enumerate(values) if v is not None)   # the intercept has none
    assert ws.cell(row=first, column=col).number_format == "0.00"
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


def test_every_sheet_has_labels_and_a_format_for_each_kind_of_column(simulated_report):
    """Every sheet: a label column beside a raw term; no numeric cell left in the General format; whole-number
    columns (counts, levels, df) without decimals; rates and shares as percentages."""
    import openpyxl

    wb = openpyxl.load_workbook(simulated_report / "report_tables.xlsx")
    checked = 0
    for ws in wb.worksheets:
        if ws.title in ("contents", "fit", "provenance"):
            continue
        top, header = _sheet(ws)
        if "term" in header:
            assert header[header.index("term") + 1] == "label", ws.title
        for j, column in enumerate(header, start=1):
            cells = [ws.cell(row=r, column=j) for r in range(top + 1, ws.max_row + 1)]
            numbers = [c for c in cells if isinstance(c.value, (int, float)) and not isinstance(c.value, bool)]
            if not numbers:
                continue
            formats = {c.number_format for c in numbers}
            assert "General" not in formats, (ws.title, column)
            if all(float(c.value).is_integer() for c in numbers) and len(numbers) > 2:
                assert formats <= {"0", "#,##0"}, (ws.title, column, formats)
            if re.search(r"(^|_)(rate|share)$", str(column)):
                assert all("%" in f for f in formats), (ws.title, column, formats)
            checked += 1
    assert checked > 100


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


# -- layout checks of the PDF (pypdfium2 character and image boxes) --------------------------------------
#: the typst page margin of _quarto.yml (x: 2cm) in PDF points
MARGIN = 2 * 72 / 2.54
#: typst lets punctuation and hyphens at the end of a justified line overhang the margin a little
OVERHANG = set(",.;:-\u2010\u2013\u2014)\"'\u2019\ufffe")
#: a caption's number (Quarto's PDF sets a no-break space after "Table")
CAPTION = re.compile(r"^(Table|Figure)[ \u00a0](\d+):")
INVISIBLE = {"\u200b": "zero-width space", "\u200c": "zero-width non-joiner", "\u200d": "zero-width joiner",
             "\u2060": "word joiner", "\ufeff": "BOM / zero-width no-break space", "\u00ad": "soft hyphen"}


def pdf_layout(path):
    """Per page: width, height, text runs (text, left, bottom, right, top), characters (char, l, b, r, t) and
    image boxes (l, b, r, t), in PDF points from the bottom left."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    pages = []
    pdf = pdfium.PdfDocument(str(path))
    for pdf_page in pdf:
        w, h = pdf_page.get_size()
        tp = pdf_page.get_textpage()
        runs = []
        for i in range(tp.count_rects()):
            box = tp.get_rect(i)
            runs.append((tp.get_text_bounded(*box), *box))
        chars = [(tp.get_text_range(k, 1), *tp.get_charbox(k)) for k in range(tp.count_chars())]
        images = [obj.get_bounds() for obj in pdf_page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=5)]
        pages.append((w, h, runs, chars, images))
    pdf.close()
    return pages


@pytest.mark.parametrize("which", REPORTS)
def test_pdf_text_and_images_stay_inside_the_text_block(which, request):
    """No table, code block or figure is wider than the text block: every glyph (bar a little overhang of
    end-of-line punctuation) and every image lies between the left and right margins."""
    out = request.getfixturevalue(which)
    outside = []
    for no, (w, h, runs, chars, images) in enumerate(pdf_layout(out / "report.pdf"), start=1):
        for c, left, bottom, right, top in chars:
            if c.isspace() or not c:
                continue
            limit = 6 if c in OVERHANG else 1
            if right > w - MARGIN + limit or left < MARGIN - limit:
                outside.append((no, c, round(left), round(right)))
        for left, bottom, right, top in images:
            if right > w - MARGIN + 1 or left < MARGIN - 1:
                outside.append((no, "image", round(left), round(right)))
    assert not outside, outside[:20]


def overlapping_glyphs(chars, share=0.3):
    """Pairs of printed characters whose boxes overlap by more than ``share`` of the smaller box's area:
    text of one table cell running over the next (a code name wider than its column), or a line printed
    over another. Characters are bucketed on a 10-point grid, so only neighbours are compared. Characters
    next to each other in the text (up to two apart) may share a box: a ligature ("fi", "ffi") is one
    glyph whose box is reported for each of its letters."""
    boxes = [(c, l, b, r, t, k) for k, (c, l, b, r, t) in enumerate(chars)
             if c and not c.isspace() and r > l and t > b]
    grid = {}
    for k, (_, l, b, r, t, _) in enumerate(boxes):
        for gx in range(int(l // 10), int(r // 10) + 1):
            for gy in range(int(b // 10), int(t // 10) + 1):
                grid.setdefault((gx, gy), []).append(k)
    found = set()
    for members in grid.values():
        for i, j in itertools.combinations(members, 2):
            if (i, j) in found:
                continue
            _, l1, b1, r1, t1, k1 = boxes[i]
            _, l2, b2, r2, t2, k2 = boxes[j]
            if abs(k1 - k2) <= 2:
                continue
            w, h = min(r1, r2) - max(l1, l2), min(t1, t2) - max(b1, b2)
            if w > 0 and h > 0 and w * h > share * min((r1 - l1) * (t1 - b1), (r2 - l2) * (t2 - b2)):
                found.add((i, j))
    return [(boxes[i][0], boxes[j][0], round(boxes[i][1]), round(boxes[i][2])) for i, j in sorted(found)]


def test_overlap_check_finds_text_printed_over_text():
    """The check itself: two words set at the same place overlap; a line of ordinary text does not."""
    line = [(ch, 10 + 5 * k, 100, 14 + 5 * k, 110) for k, ch in enumerate("coupon_used")]
    assert overlapping_glyphs(line) == []
    over = [(ch, 30 + 5 * k, 101, 34 + 5 * k, 111) for k, ch in enumerate("count")]
    assert len(overlapping_glyphs(line + over)) >= 4


@pytest.mark.parametrize("which", REPORTS)
def test_no_text_in_the_pdf_is_printed_over_other_text(which, request):
    """No table cell runs into its neighbour and nothing is set over anything else, on any page (found
    by looking at the pages: a derived column's expression in a narrow column ran over the next)."""
    out = request.getfixturevalue(which)
    clashes = []
    for no, (w, h, runs, chars, images) in enumerate(pdf_layout(out / "report.pdf"), start=1):
        clashes += [(no, *pair) for pair in overlapping_glyphs(chars)]
    assert not clashes, clashes[:20]


@pytest.mark.parametrize("which", REPORTS)
def test_every_caption_is_on_the_page_of_its_table_or_figure(which, request):
    """A table's caption (on top) has the table's first row below it on the same page; a figure's caption
    (below) has the image above it on the same page. Every caption of the HTML is found in the PDF."""
    out = request.getfixturevalue(which)
    found, parted = [], []
    for no, (w, h, runs, chars, images) in enumerate(pdf_layout(out / "report.pdf"), start=1):
        for text, left, bottom, right, top in runs:
            m = CAPTION.match(text.strip())
            if not m:
                continue
            found.append(m[0].replace("\u00a0", " "))
            if m[1] == "Table":
                ok = any(r[4] < bottom - 1 and r[2] > MARGIN for r in runs)   # text below, above the footer
            else:
                ok = any(img[1] >= top - 2 for img in images)                  # an image above the caption
            if not ok:
                parted.append((no, text[:60]))
    html_captions = re.findall(r"(?:Table|Figure) \d+:", plain_html(out / "report.html"))
    assert sorted(set(found)) == sorted(set(html_captions)) and len(found) >= 20
    assert not parted, parted


@pytest.mark.parametrize("which", REPORTS)
def test_no_invisible_characters_in_any_output(which, request):
    """Copied text is what it shows: no zero-width or soft-hyphen characters in the HTML, the PDF text, the
    slides or the workbook."""
    import openpyxl
    from pptx import Presentation

    out = request.getfixturevalue(which)
    texts = {"html": (out / "report.html").read_text(encoding="utf-8"), "pdf": pdf_text(out / "report.pdf")}
    deck = Presentation(out / "slides.pptx")
    texts["pptx"] = "\n".join(sh.text_frame.text for s in deck.slides for sh in s.shapes if sh.has_text_frame)
    if shutil.which("pdftotext"):  # poppler shows what pdfium and pypdf leave out (the outline's word joiner)
        texts["pdf (poppler)"] = subprocess.run(["pdftotext", "-enc", "UTF-8", str(out / "report.pdf"), "-"],
                                                capture_output=True, text=True, check=True).stdout
    wb = openpyxl.load_workbook(out / "report_tables.xlsx")
    texts["xlsx"] = "\n".join(str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row
                              if isinstance(c.value, str))
    for name, text in texts.items():
        assert len(text) > 1000, name
        found = {label for ch, label in INVISIBLE.items() if ch in text}
        assert not found, (name, found)


def test_limitations_name_the_split_the_selection_and_calibration(real_report):
    """The Limitations section exists in both outputs and carries the run's own statements: the split (test
    rows and seed), the selection method, and the calibration result (Hosmer-Lemeshow p-value)."""
    metrics = json.loads((real_report / "metrics.json").read_text())
    run = json.loads((real_report / "run.json").read_text())["config"]
    limitations = pd.read_csv(real_report / "tables" / "limitations.csv").set_index("topic")["sentence"]
    html, pdf = plain_html(real_report / "report.html"), re.sub(r"\s+", " ", pdf_text(real_report / "report.pdf"))
    assert "Limitations" in html and "Limitations" in pdf
    if "test" in metrics:   # a held-out sample (--test-size): its rows and seed
        assert f"seed {run['seed']}" in limitations["split"] and f"{metrics['test']['n']:,}" in limitations["split"]
    else:                   # every row used (the default): the bootstrap's corrected AUC stands for a test sample
        corrected = pd.read_csv(real_report / "tables" / "validation.csv").set_index("index").loc["auc", "corrected"]
        assert "no held-out test sample" in limitations["split"] and "optimism bootstrap" in limitations["split"]
        assert f"corrected AUC {corrected:.3f}" in limitations["split"]
    assert "stepwise selection" in limitations["selection"] and "AIC" in limitations["selection"]
    hl_p = metrics[metrics["evaluation_sample"]]["hl_p"]
    assert (f"{hl_p:.3f}".lstrip("0") in limitations["calibration"] or f"{hl_p:.2g}" in limitations["calibration"]
            or (hl_p < 0.001 and "p < 0.001" in limitations["calibration"]))
    for topic in ("observational", "selection", "split", "calibration"):
        head = limitations[topic][:50]
        assert head in html.replace("&quot;", '"') and head in pdf, topic
