"""analysis.present.render: the pure-Python fallback renders tests/fixtures/mini/mini.qmd to HTML, PDF, PPTX.

One module-scoped render (plus one more for the reproducibility check) keeps this fast:
starting the kernel is the main cost.
"""
import os
import re
import stat
import sys
import textwrap
from pathlib import Path

import pytest
from pypdf import PdfReader

from analysis.present.render import RenderError, _crossref, _metadata, render

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "mini" / "mini.qmd"
PARAM = "PARAM-VALUE-42"
CAPTIONS = ["Figure 1: A quadratic curve", "Table 1: Small numbers",
            "Table 2: A long table that must break across pages", "Table 3: A wide table with ten columns"]
REFERENCES = ["Figure 1 shows a curve", "Table 1 lists numbers", "Section 2 holds long tables",
              "The long table is 2 of them", "see Table 3 for a wide one", "as Section 1 said"]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    runs = []
    for name in ("first", "second"):
        out = tmp_path_factory.mktemp(name)
        runs.append(render(MINI, out, {"sample_name": PARAM}, formats=("html", "pdf", "pptx"),
                           engine="python"))
    return runs


@pytest.fixture(scope="module")
def html(rendered):
    return rendered[0]["html"].read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def pdf_text(rendered):
    text = "\n".join(page.extract_text() for page in PdfReader(rendered[0]["pdf"]).pages)
    return re.sub(r"\s+", " ", text)


def _plain(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def test_outputs_are_where_the_api_says(rendered, tmp_path_factory):
    first = rendered[0]
    assert set(first) == {"html", "pdf", "pptx"}
    for fmt, path in first.items():
        assert path.name == f"mini.{fmt}" and path.stat().st_size > 1000


def test_html_numbers_captions_and_resolves_references(html):
    text = _plain(html)
    for caption in CAPTIONS + REFERENCES:
        assert caption in text
    assert "Figure 1: Figure 1" not in text and "Table 1: Table 1" not in text
    assert not re.search(r"@(fig|tbl|sec)-", html)
    assert 'href="#fig-curve"' in html and 'id="fig-curve"' in html and 'id="tbl-long"' in html
    assert '<span class="header-section-number">2.1</span>' in html  # number-sections: true


def test_html_is_self_contained_and_has_title_toc_params(html):
    assert re.search(r'<img[^>]+src="data:image/png;base64,', html)
    assert not re.search(r'<img[^>]+src="(?!data:)', html) and "<link rel=\"stylesheet\" href" not in html
    assert '<h1 class="title">Mini report</h1>' in html and 'id="TOC"' in html
    assert PARAM in html and "default-sample" not in html  # the parameter reached the document
    assert "overflow-x: auto" in html  # our CSS is inlined


def test_cell_options(html):
    assert "SHOWN_CODE_MARKER" in html  # echo: true overrides _quarto.yml's execute: echo: false
    assert "HIDDEN_CODE_MARKER" not in html and "tags: [parameters]" not in html
    assert "END-OF-REPORT" in html
    assert "this warning is hidden" not in html  # warning: false from _quarto.yml


def test_pdf_has_the_same_numbers(pdf_text, rendered):
    for caption in CAPTIONS + REFERENCES:
        assert caption in pdf_text
    assert "Figure 1: Figure 1" not in pdf_text and not re.search(r"@(fig|tbl|sec)-", pdf_text)
    assert PARAM in pdf_text
    pages = PdfReader(rendered[0]["pdf"]).pages
    assert len(pages) >= 2  # the 60-row table breaks across pages ...
    assert "long-row-60" in pages[-1].extract_text()
    headers = sum("row value label" in re.sub(r"\s+", " ", p.extract_text()) for p in pages)
    assert headers >= 2  # ... with its header row repeated
    for page in pages:  # A4
        assert round(float(page.mediabox.width)) == 595 and round(float(page.mediabox.height)) == 842


def test_pptx_has_the_same_numbers(rendered):
    from pptx import Presentation

    text = " ".join(shape.text_frame.text for slide in Presentation(rendered[0]["pptx"]).slides
                    for shape in slide.shapes if shape.has_text_frame)
    assert "Figure 1: A quadratic curve" in text and "Section 2" in text


def test_rendering_is_reproducible(rendered):
    first, second = rendered
    for fmt in first:
        assert first[fmt].read_bytes() == second[fmt].read_bytes(), fmt


def _qmd(tmp_path, body, name="doc.qmd"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def test_missing_label_raises_naming_it(tmp_path):
    qmd = _qmd(tmp_path, """\
        ---
        title: Missing
        ---

        See @fig-nowhere and @sec-real.

        ## Real {#sec-real}
        """)
    with pytest.raises(RenderError, match="@fig-nowhere") as info:
        render(qmd, tmp_path / "out", engine="python", formats=("pdf",))
    assert "sec-real" in str(info.value) and "@sec-real" not in str(info.value).split("(labels")[0]
    assert not (tmp_path / "out" / "doc.pdf").exists()


def test_failing_cell_raises_with_source_and_error(tmp_path):
    qmd = _qmd(tmp_path, """\
        ```{python}
        #| label: broken-cell
        value = 1
        raise ValueError("kaputt-" + str(value + 41))
        ```
        """)
    with pytest.raises(RenderError) as info:
        render(qmd, tmp_path / "out", engine="python", formats=("html",))
    message = str(info.value)
    assert "broken-cell" in message and 'raise ValueError("kaputt-"' in message
    assert "ValueError: kaputt-42" in message


def test_crossref_numbering_rules():
    text = textwrap.dedent("""\
        # Top {#sec-top}

        ## Sub {#sec-sub}

        ## Unnumbered {.unnumbered}

        See @sec-sub, [-@fig-b], [@tbl-a] and `@fig-a in code`.

        ```
        @fig-a stays in code
        ```

        ![](b.png){#fig-b}

        | a |
        |---|
        | 1 |

        : Values {#tbl-a}
        """)
    out = _crossref(text, {})  # a @sec- reference turns section numbering on
    assert "# [1]{.header-section-number} Top {#sec-top}" in out
    assert "## [1.1]{.header-section-number} Sub {#sec-sub}" in out
    assert "## Unnumbered {.unnumbered}" in out
    assert "See [Section 1.1](#sec-sub), [1](#fig-b), [Table 1](#tbl-a) and `@fig-a in code`." in out
    assert "@fig-a stays in code" in out
    assert "![Figure 1](b.png){#fig-b}" in out and ": Table 1: Values {#tbl-a}" in out
    unnumbered = _crossref("## Sub {#sec-sub}\n\nSee @sec-sub.\n", {"number-sections": False})
    assert "See [Sub](#sec-sub)." in unnumbered
    with pytest.raises(RenderError, match="defined twice"):
        _crossref("![](a.png){#fig-a}\n\n![](b.png){#fig-a}\n", {})
    tbl = _crossref(": Values {#tbl-a}\n\n@tbl-a\n", {"crossref": {"tbl-prefix": "Tab."}})
    assert "[Tab. 1](#tbl-a)" in tbl and ": Tab. 1: Values" in tbl


def test_front_matter_wins_over_quarto_yml(tmp_path):
    (tmp_path / "_quarto.yml").write_text("execute:\n  echo: false\n  warning: false\ntoc: true\n")
    qmd = _qmd(tmp_path, """\
        ---
        title: T
        execute:
          echo: true
        ---
        """)
    meta = _metadata(qmd)
    assert meta["execute"] == {"echo": True, "warning": False} and meta["toc"] is True


def test_quarto_cli_is_used_when_on_path(tmp_path, monkeypatch):
    """engine="auto" with a quarto on PATH: a stand-in records its arguments and environment and writes the
    outputs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "quarto"
    fake.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import os, sys, pathlib
        args = sys.argv[1:]
        with open({str(tmp_path / "calls.txt")!r}, "a") as log:
            log.write(" ".join(args) + " QUARTO_PYTHON=" + os.environ.get("QUARTO_PYTHON", "") + "\\n")
        out = pathlib.Path(args[args.index("--output-dir") + 1])
        ext = {{"html": "html", "typst": "pdf"}}[args[args.index("--to") + 1]]
        (out / (pathlib.Path(args[1]).stem + "." + ext)).write_text("made by quarto")
        """))
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("QUARTO_PYTHON", raising=False)
    out = render(MINI, tmp_path / "out", {"sample_name": "x y", "n_rows": 5})
    assert out == {"html": tmp_path / "out" / "mini.html", "pdf": tmp_path / "out" / "mini.pdf"}
    assert all(path.read_text() == "made by quarto" for path in out.values())
    calls = (tmp_path / "calls.txt").read_text().splitlines()
    assert len(calls) == 2 and "--to html" in calls[0] and "--to typst" in calls[1]
    assert '-P sample_name:"x y" -P n_rows:5' in calls[0] and "-M embed-resources:true" in calls[0]
    # the document's Python is this interpreter (which has the package), not whatever python3 is on PATH
    assert all(call.endswith(f"QUARTO_PYTHON={sys.executable}") for call in calls)


def test_include_in_header_reaches_html_and_typst(tmp_path):
    """Quarto's include-in-header (text entries and files) is passed on as pandoc does for Quarto: the HTML
    head holds the text; in the PDF route a typst rule from the include takes effect (here a page fill
    that is not the template's, visible as a different PDF than without it)."""
    (tmp_path / "head.html").write_text('<meta name="x-from-file" content="yes">\n')
    qmd = _qmd(tmp_path, """\
        ---
        title: T
        format:
          html:
            include-in-header:
              - text: '<meta name="x-included" content="yes">'
              - file: head.html
          typst:
            include-in-header:
              - text: '#set page(fill: rgb("#fdf6e3"))'
        ---

        Some text.
        """)
    out = render(qmd, tmp_path / "out", formats=("html", "pdf"), engine="python")
    html = out["html"].read_text()
    assert '<meta name="x-included" content="yes">' in html and '<meta name="x-from-file" content="yes">' in html
    (tmp_path / "plain").mkdir()
    (tmp_path / "bad").mkdir()
    plain = _qmd(tmp_path / "plain", "---\ntitle: T\n---\n\nSome text.\n")
    other = render(plain, tmp_path / "out2", formats=("pdf",), engine="python")
    assert out["pdf"].read_bytes() != other["pdf"].read_bytes()
    with pytest.raises(RenderError, match="missing.html"):
        render(_qmd(tmp_path / "bad", "---\nformat:\n  html:\n    include-in-header: missing.html\n---\n\nx\n"),
               tmp_path / "out3", formats=("html",), engine="python")


@pytest.mark.parametrize("engine", ["memory", "duckdb"])
def test_reading_works_inside_a_jupyter_kernel(tmp_path, engine):
    """`quarto render report.qmd` runs the pipeline in a Jupyter kernel: reading a file there must not depend on
    being on a terminal. DuckDB refuses any change of its progress-bar setting in a kernel without ipywidgets
    (which the project does not install); the bar is already off there."""
    data = Path(__file__).resolve().parents[2] / "data" / "simulated_tianmao.csv"
    qmd = _qmd(tmp_path, f"""\
        ```{{python}}
        from analysis.read import read_patterns
        patterns = read_patterns({str(data)!r}, engine={engine!r}, hash_file=False)
        print("ROWS-READ", patterns.n_rows_read)
        ```
        """)
    out = render(qmd, tmp_path / "out", formats=("html",), engine="python")
    assert "ROWS-READ 25000" in out["html"].read_text()


def test_a_caption_or_heading_may_hold_code():
    """A caption naming a column as code (the report's split table: "a seeded hash of its `ID`") is still a
    caption: numbered, referenced, and the code inside it left alone."""
    text = "See @tbl-a and @sec-b.\n\n## The `x` column {#sec-b}\n\n| a |\n|---|\n| 1 |\n\n: Values of `x @tbl-a` {#tbl-a}\n"
    out = _crossref(text, {})
    assert ": Table 1: Values of `x @tbl-a` {#tbl-a}" in out
    assert "See [Table 1](#tbl-a) and [Section 1](#sec-b)." in out
    assert "## [1]{.header-section-number} The `x` column {#sec-b}" in out
