"""The slide deck (slides.qmd through analysis.present.slides and templates/reference.pptx) fits its slides.

Both decks (real data, and the simulated default) are rendered once per module with ``--formats pptx``.
Checks, on every slide of both:

- every text fits its shape: words wrapped at the shape's width less its insets and the paragraph's left
  margin, measured in DejaVu Sans (matplotlib's font; wider than the theme's Calibri, so the check is
  conservative) at the run's size or the size the shape inherits (its own list style, the layout's
  placeholder, the master's placeholder, the master's title/body/other style, the presentation default),
  lines 1.2 x the size apart plus each paragraph's space before;
- every picture lies on the slide, is at least 7 in wide or 3.5 in high, and is shown at (at least 95% of)
  the size it was drawn, so its 12 pt text is 12 pt on the slide;
- no code names (``C(``, ``_yes``, ``Treatment(``, ``rcs(``) anywhere in the slide text or notes;
- SIMULATED on every slide of the simulated deck and on none of the real one;
- with LibreOffice on PATH (not in CI): as many PDF pages as slides.
"""
import io
import math
import re
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pandas as pd
import pytest
from conftest import report_cli

pptx = pytest.importorskip("pptx")
from pptx import Presentation  # noqa: E402
from pptx.util import Emu  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
EMU = 914400
NS = {"a": "http://schemas.openxmlformats.org/drawingml/2006/main",
      "p": "http://schemas.openxmlformats.org/presentationml/2006/main"}
CODE_NAMES = re.compile(r"C\(|_yes|Treatment\(|rcs\(")
DPI = 200  # analysis.present.plots.save_figure


def render(out, *args):
    """The deck alone (the built-in renderer), through the shared report command of conftest."""
    return report_cli(out, "--formats", "pptx", *args)


@pytest.fixture(scope="module")
def real_deck(real_data_path, tmp_path_factory):
    return render(tmp_path_factory.mktemp("slides_real"), "--data", real_data_path)


@pytest.fixture(scope="module")
def simulated_deck(tmp_path_factory):
    return render(tmp_path_factory.mktemp("slides_sim"))


DECKS = ["real_deck", "simulated_deck"]


# ----------------------------------------------------------------------------- inherited text properties
@lru_cache(maxsize=None)
def font(size_pt: float, bold: bool):
    from matplotlib import font_manager
    from PIL import ImageFont

    path = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans",
                                                             weight="bold" if bold else "normal"))
    return ImageFont.truetype(path, size=int(round(size_pt * 10)))


def width_pt(text, size, bold):
    return font(size, bold).getlength(text) / 10


def lines_needed(text, width, size, bold) -> int:
    lines, current = 0, ""
    for word in text.split():
        trial = f"{current} {word}" if current else word
        if not current or width_pt(trial, size, bold) <= width:
            current = trial
            continue
        lines += max(1, math.ceil(width_pt(current, size, bold) / width))
        current = word
    if current:
        lines += max(1, math.ceil(width_pt(current, size, bold) / width))
    return max(lines, 1)


def _ph(element):
    ph = element.find("p:nvSpPr/p:nvPr/p:ph", NS)
    if ph is None:
        return None
    return ph.get("type", "obj"), int(ph.get("idx", "0"))


def _layout_shape(layout, ph):
    """The layout placeholder a slide placeholder inherits from: same idx (idx > 0), else same type."""
    kind, idx = ph
    for sp in layout._element.findall(".//p:cSld/p:spTree/p:sp", NS):
        other = _ph(sp)
        if other is None:
            continue
        if (idx and other[1] == idx) or (not idx and other[0] == kind):
            return sp
    return None


MASTER_TYPE = {"ctrTitle": "title", "title": "title", "subTitle": "body", "obj": "body", "body": "body",
               "dt": "dt", "ftr": "ftr", "sldNum": "sldNum"}


def _master_shape(master, ph):
    want = MASTER_TYPE.get(ph[0], "body")
    for sp in master._element.findall(".//p:cSld/p:spTree/p:sp", NS):
        other = _ph(sp)
        if other is not None and MASTER_TYPE.get(other[0], other[0]) == want:
            return sp
    return None


class Inherited:
    """The chain a paragraph's properties come from: list styles of the shape, its layout and master
    placeholders, the master's text style, the presentation's default."""

    def __init__(self, deck, slide, shape):
        el = shape._element
        ph = _ph(el)
        layout, master = slide.slide_layout, slide.slide_layout.slide_master
        self.chain_shapes = [el]
        if ph is not None:
            self.chain_shapes += [s for s in (_layout_shape(layout, ph), _master_shape(master, ph)) if s is not None]
        styles = master._element.find("p:txStyles", NS)
        kind = MASTER_TYPE.get(ph[0], "body") if ph else None
        style = {"title": "p:titleStyle", "body": "p:bodyStyle"}.get(kind, "p:otherStyle")
        self.lists = [s.find("p:txBody/a:lstStyle", NS) for s in self.chain_shapes]
        self.lists.append(styles.find(style, NS))
        self.lists.append(deck.part._element.find("p:defaultTextStyle", NS))
        self.lists = [x for x in self.lists if x is not None]

    def level(self, lvl: int, path: str, attr: str | None = None):
        for lst in self.lists:
            node = lst.find(f"a:lvl{lvl + 1}pPr/{path}" if path else f"a:lvl{lvl + 1}pPr", NS)
            if node is None:
                continue
            if attr is None:
                return node
            if node.get(attr) is not None:
                return node.get(attr)
        return None

    def inset(self, name: str, default: int) -> int:
        for s in self.chain_shapes:
            body = s.find("p:txBody/a:bodyPr", NS)
            if body is not None and body.get(name) is not None:
                return int(body.get(name))
        return default


def paragraph_layout(inherited: Inherited, p) -> tuple[float, float, float, bool]:
    """(font size pt, left margin pt, space before pt, bold) of one ``a:p``."""
    ppr = p.find("a:pPr", NS)
    lvl = int(ppr.get("lvl", "0")) if ppr is not None else 0
    sizes = [int(r.get("sz")) / 100 for r in p.findall("a:r/a:rPr", NS) if r.get("sz")]
    size = max(sizes) if sizes else float(inherited.level(lvl, "a:defRPr", "sz") or 1800) / 100
    marl = ppr.get("marL") if ppr is not None and ppr.get("marL") is not None else inherited.level(lvl, "", "marL")
    margin = int(marl or 0) / EMU * 72
    spc = ppr.find("a:spcBef", NS) if ppr is not None else None
    spc = spc if spc is not None else inherited.level(lvl, "a:spcBef")
    before = 0.0
    if spc is not None:
        pts, pct = spc.find("a:spcPts", NS), spc.find("a:spcPct", NS)
        before = int(pts.get("val")) / 100 if pts is not None else (
            int(pct.get("val")) / 100000 * 1.2 * size if pct is not None else 0.0)
    bold = any(r.get("b") in ("1", "true") for r in p.findall("a:r/a:rPr", NS)) or \
        inherited.level(lvl, "a:defRPr", "b") in ("1", "true")
    return size, margin, before, bold


def overflows(deck, slide, shape) -> str | None:
    """A description of the overflow of a text shape, or None when its text fits."""
    inherited = Inherited(deck, slide, shape)
    left, right = inherited.inset("lIns", 91440), inherited.inset("rIns", 91440)
    top, bottom = inherited.inset("tIns", 45720), inherited.inset("bIns", 45720)
    room_w = (shape.width - left - right) / EMU * 72
    room_h = (shape.height - top - bottom) / EMU * 72
    used = 0.0
    for p in shape._element.findall("p:txBody/a:p", NS):
        text = "".join(t.text or "" for t in p.iter(f"{{{NS['a']}}}t"))
        if not text.strip():
            continue
        size, margin, before, bold = paragraph_layout(inherited, p)
        used += before + lines_needed(text, room_w - margin, size, bold) * 1.2 * size
    if used > room_h * 1.01:
        return f"{shape.name}: text needs {used / 72:.2f} in, box holds {room_h / 72:.2f} in: {shape.text_frame.text[:80]!r}"
    return None


def deck_of(out):
    return Presentation(out / "slides.pptx")


def slide_text(slide) -> str:
    return "\n".join(sh.text_frame.text for sh in slide.shapes if sh.has_text_frame)


# ----------------------------------------------------------------------------- the decks
@pytest.mark.parametrize("which", DECKS)
def test_every_text_fits_its_shape(which, request):
    deck = deck_of(request.getfixturevalue(which))
    problems = [f"slide {i}: {msg}" for i, slide in enumerate(deck.slides, 1) for shape in slide.shapes
                if shape.has_text_frame and shape.text_frame.text.strip()
                and (msg := overflows(deck, slide, shape))]
    assert not problems, "\n".join(problems)


def test_the_fit_check_catches_the_old_deck_overflow(real_deck, tmp_path):
    """The check is not vacuous: the old slides' text (whole sentences at 24 pt in the default 3.7 in box)
    overflows by it."""
    import pypandoc

    sentences = pd.read_csv(real_deck / "tables" / "limitations.csv")["sentence"]
    md = tmp_path / "old.md"
    md.write_text("## Limitations\n\n" + "\n".join(f"- {s}" for s in sentences[:3]) + "\n", encoding="utf-8")
    out = tmp_path / "old.pptx"
    subprocess.run([pypandoc.get_pandoc_path(), str(md), "-o", str(out)], check=True)
    deck = Presentation(out)
    slide = deck.slides[0]
    body = [sh for sh in slide.shapes if sh.has_text_frame and sh.text_frame.text.startswith("The data")]
    assert body and overflows(deck, slide, body[0])


@pytest.mark.parametrize("which", DECKS)
def test_pictures_lie_on_the_slide_large_and_unscaled(which, request):
    from PIL import Image

    out = request.getfixturevalue(which)
    deck = deck_of(out)
    width, height = deck.slide_width, deck.slide_height
    pictures = 0
    for i, slide in enumerate(deck.slides, 1):
        for shape in slide.shapes:
            if shape.shape_type != 13:
                continue
            pictures += 1
            assert shape.left >= 0 and shape.top >= 0, i
            assert shape.left + shape.width <= width and shape.top + shape.height <= height, i
            assert shape.width >= Emu(int(6.95 * EMU)) or shape.height >= Emu(int(3.45 * EMU)), \
                (i, shape.width / EMU, shape.height / EMU)
            with Image.open(io.BytesIO(shape.image.blob)) as im:
                drawn_w = im.size[0] / DPI
            assert shape.width / EMU >= 0.95 * drawn_w, (i, shape.width / EMU, drawn_w)
    assert pictures == 4


@pytest.mark.parametrize("which", DECKS)
def test_no_code_names_on_slides(which, request):
    deck = deck_of(request.getfixturevalue(which))
    for i, slide in enumerate(deck.slides, 1):
        text = slide_text(slide)
        if slide.has_notes_slide:
            text += "\n" + slide.notes_slide.notes_text_frame.text
        assert not CODE_NAMES.search(text), (i, CODE_NAMES.search(text), text[:300])


def test_simulated_on_every_simulated_slide_and_no_real_one(simulated_deck, real_deck):
    for i, slide in enumerate(deck_of(simulated_deck).slides, 1):
        assert "SIMULATED" in slide_text(slide), (i, slide_text(slide)[:200])
    for i, slide in enumerate(deck_of(real_deck).slides, 1):
        assert "SIMULATED" not in slide_text(slide).upper(), i


def test_title_slide_date_source_and_comparison_labels(real_deck):
    deck = deck_of(real_deck)
    first = slide_text(deck.slides[0])
    assert re.search(r"\d{4}-\d{2}-\d{2}", first) and "tianmao.csv" in first
    text = "\n".join(slide_text(s) for s in deck.slides)
    assert "Source: " in text
    # every odds ratio on a slide names its comparison group
    ors = re.findall(r"^(.*?): OR \d", text, re.M)
    assert ors and all(" vs " in label for label in ors), ors


@pytest.mark.parametrize("which", DECKS)
def test_deck_geometry_follows_the_reference(which, request):
    deck = deck_of(request.getfixturevalue(which))
    assert (deck.slide_width, deck.slide_height) == (Emu(10 * EMU), Emu(int(5.625 * EMU)))
    titled = [s for s in list(deck.slides)[1:] if s.shapes.title is not None]
    assert len(titled) == len(deck.slides) - 1
    assert all(Inherited(deck, s, s.shapes.title).level(0, "a:defRPr", "sz") == "2800" for s in titled)


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not on PATH")
@pytest.mark.parametrize("which", DECKS)
def test_libreoffice_pages_equal_slides(which, request, tmp_path):
    from pypdf import PdfReader

    out = request.getfixturevalue(which)
    shutil.copy(out / "slides.pptx", tmp_path / "slides.pptx")
    subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path),
                    str(tmp_path / "slides.pptx")], check=True, capture_output=True, timeout=300)
    assert len(PdfReader(tmp_path / "slides.pdf").pages) == len(deck_of(out).slides)


# ----------------------------------------------------------------------------- figures
def test_slide_figures_are_drawn_as_the_pipeline_draws_them(simulated_deck, tmp_path):
    """The figures in the results folder (drawn by the pipeline, or by slides.ensure_figures for a folder
    without them) equal a fresh draw of slide_figure_specs through plots.draw_and_save, byte for byte."""
    from analysis.present import plots
    from analysis.present import slides
    from analysis.results import load

    res = load(simulated_deck)
    specs = slides.slide_figure_specs(res.tables, res.metrics, res.spec)
    assert set(specs) == set(slides.FIGURES) and all(name.startswith("slide_") for name in specs)
    plots.draw_and_save(specs, tmp_path, simulated=True)
    for name in specs:
        assert (tmp_path / f"{name}.png").read_bytes() == (simulated_deck / "figures" / f"{name}.png").read_bytes()


def test_slide_figures_text_at_least_12_pt_and_forest_rows_limited(real_deck):
    from matplotlib.text import Text

    from analysis.present import slides
    from analysis.results import load

    res = load(real_deck)
    specs = slides.slide_figure_specs(res.tables, res.metrics, res.spec)
    for name, (function, args, kwargs) in specs.items():
        fig = function(*args, **kwargs)
        assert tuple(fig.get_size_inches()) == slides.FIGURE_SIZE, name
        small = [(t.get_text(), t.get_fontsize()) for t in fig.findobj(Text)
                 if t.get_visible() and t.get_text().strip() and t.get_fontsize() < 12 - 1e-9]
        assert not small, (name, small)
        labels = " ".join(t.get_text() for t in fig.findobj(Text))
        assert not CODE_NAMES.search(labels), (name, labels)
    rows = specs["slide_odds_ratios"][1][0]
    effects = slides.effects(res.tables, res.metrics, res.spec)
    assert len(rows) == min(slides.MAX_FOREST_ROWS, len(effects))
    assert f"{slides.MAX_FOREST_ROWS} largest of {len(effects)}" in slides.forest_caption(effects, False)
    # the largest: no effect left out is further from 1 than one shown
    shown = set(rows["key"])
    size = effects.set_index("key")["odds_ratio"].map(lambda v: abs(math.log(v)))
    assert size[[k for k in size.index if k not in shown]].max() <= size[list(shown)].min()


def test_default_figures_unchanged_by_the_new_keywords():
    """font_scale=1 and figsize=None leave a report figure byte-identical."""
    from analysis.present import plots

    gains = pd.DataFrame({"decile": range(1, 11), "n": [100] * 10, "events": [30, 20, 15, 10, 8, 6, 4, 3, 2, 2],
                          "response_rate": 0.1, "cum_n": range(100, 1001, 100), "cum_events": 0,
                          "cum_capture": [i / 10 for i in range(1, 11)], "lift": 1.0, "cum_lift": 1.0,
                          "p_min": 0.1, "p_max": 0.2, "mean_p": [0.3 - i / 100 for i in range(10)]})

    def png(fig):
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=50, metadata={"Software": None})
        return buf.getvalue()

    assert png(plots.plot_lift(gains)) == png(plots.plot_lift(gains, figsize=None, font_scale=1.0))
    assert png(plots.plot_gains(gains)) == png(plots.plot_gains(gains, figsize=None, font_scale=1.0))
    assert png(plots.plot_lift(gains)) != png(plots.plot_lift(gains, font_scale=0.9))


# ----------------------------------------------------------------------------- text helpers
def test_markdown_escapes_text_from_the_data():
    from analysis.present import slides

    hostile = "<img src=x onerror=alert(1)> [x](javascript:alert(1)) @fig-x *b* $x$"
    text = slides.markdown([(0, hostile, True), (1, hostile, False), (2, hostile, False)])
    assert "**" in text.splitlines()[0] and "\\<img" in text and "\\[x\\]" in text and "\\@fig" in text
    assert "\n\n- " in text and "\n    - " in text


def test_first_sentence_keeps_numbers_and_abbreviations():
    from analysis.present import slides

    assert slides.first_sentence("Job: admin. vs blue-collar is 0.094. Next one.") == (
        "Job: admin. vs blue-collar is 0.094.", "Next one.")
    assert slides.first_sentence("Only one, p 0.5.") == ("Only one, p 0.5.", "")


def test_paginate_puts_the_banner_on_every_page():
    from analysis.present import slides

    groups = [[(1, "word " * 60, False)] for _ in range(6)]
    fixed = slides.banner(True)
    pages = slides.paginate(groups, fixed)
    assert len(pages) > 1 and all(page[0] == fixed[0] and slides.fits(page) for page in pages)
    assert sum(len(p) - 1 for p in pages) == len(groups)
    md = slides.text_slides("Limitations", groups, fixed, ["note"] * len(groups))
    assert md.count("## Limitations") == len(pages) and md.count("(continued)") == len(pages) - 1
    assert md.count("::: notes") == len(pages)


# ----------------------------------------------------------------------------- the reference document
def test_reference_document_is_the_generator_output():
    """templates/reference.pptx is what templates/make_reference_pptx.py makes from pandoc's default."""
    sys.path.insert(0, str(ROOT / "analysis" / "present" / "templates"))
    try:
        import make_reference_pptx as maker
    finally:
        sys.path.pop(0)
    assert maker.build(maker.pandoc_default()) == maker.TARGET.read_bytes()


def test_reference_document_sizes():
    deck = Presentation(ROOT / "analysis" / "present" / "templates" / "reference.pptx")
    assert deck.slide_width == 10 * EMU and deck.slide_height == int(5.625 * EMU)
    styles = deck.slide_master._element.find("p:txStyles", NS)
    sz = lambda path: styles.find(path, NS).get("sz")  # noqa: E731
    assert sz("p:titleStyle/a:lvl1pPr/a:defRPr") == "2800"
    assert sz("p:bodyStyle/a:lvl1pPr/a:defRPr") == "1800" and sz("p:bodyStyle/a:lvl2pPr/a:defRPr") == "1600"
    content = [ph for ph in deck.slide_layouts.get_by_name("Title and Content").placeholders
               if ph.placeholder_format.idx == 1][0]
    from analysis.present import slides

    assert (round(content.width / EMU, 3), round(content.height / EMU, 3)) == slides.BODY
    # the slide figures fill the picture box pandoc leaves above a caption
    assert slides.FIGURE_SIZE[1] <= slides.BODY[1] - 40 / 72


def test_slides_qmd_names_the_reference_document():
    text = (ROOT / "slides.qmd").read_text(encoding="utf-8")
    ref = re.search(r"^\s+reference-doc:\s*(\S+)", text, re.M)
    assert ref and (ROOT / ref.group(1)).is_file()


def test_interactions_bullet_names_each_one_and_the_notes_hold_the_tests(real_deck):
    """The conclusions slide names every interaction the claims state in one bullet (the whole sentence, with
    its tests and odds ratios within levels, overflowed the slide), and the speaker notes hold the sentence."""
    from analysis.results import load

    tables = load(real_deck).tables
    claims = tables["claims"]
    labels = list(claims.loc[claims["topic"] == "interaction", "label"])
    whole = tables["conclusions"].set_index("topic")["sentence"].get("interactions")
    deck = deck_of(real_deck)
    slides = [s for s in deck.slides if all(lbl in slide_text(s) for lbl in labels)
              and "Conclusions" in slide_text(s)]
    if not labels:
        assert whole is None or not isinstance(whole, str)
        return
    assert slides, labels
    notes = slides[0].notes_slide.notes_text_frame.text
    assert " ".join(whole.split()[:12]) in " ".join(notes.split())
