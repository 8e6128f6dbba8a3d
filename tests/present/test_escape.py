"""analysis.present.escape, function by function: pandoc reads every escaped text back as the literal text
(pandoc is the independent reader), code spans cannot be closed from inside, formula-like cells are defused.
The hostile values through every rendered output are in tests/present/test_hostile.py."""
import json

import pypandoc
import pytest

from analysis.present.escape import code, csv_cell, html, is_formula_like, markdown, sheet_text

HOSTILE = ["<img src=x onerror=alert(1)>", "<script>alert(1)</script>", "[x](javascript:alert(1))", "@fig-x",
           "{{< pagebreak >}}", r"$\notacommand{$", "*bold* _it_ ~sub~ ^sup^", "a | b | c", "# heading",
           "1. not a list", "\\\\ back\\slash", "`tick` ``two``", "&amp; &lt;", "[@cite]", "<!-- c -->",
           "-- dash ---", "{#id .class}", "line\nbreak"]


def _plain_inlines(markdown_text: str) -> str:
    """The text of the inlines pandoc reads from one paragraph of markdown (its JSON AST, Str and Space)."""
    ast = json.loads(pypandoc.convert_text(markdown_text, "json", format="markdown"))
    (block,) = ast["blocks"]
    assert block["t"] == "Para", block
    out = []
    for inline in block["c"]:
        if inline["t"] == "Str":
            out.append(inline["c"])
        elif inline["t"] in ("Space", "SoftBreak"):
            out.append(" ")
        elif inline["t"] == "Code":
            out.append(inline["c"][1])
        else:
            raise AssertionError(f"pandoc read markup from escaped text: {inline['t']}")
    return "".join(out)


@pytest.mark.parametrize("text", HOSTILE)
def test_markdown_is_read_back_as_the_literal_text(text):
    assert _plain_inlines("x " + markdown(text)) == "x " + text.replace("\n", " ")


@pytest.mark.parametrize("text", ["plain", "`tick`", "a ``b`` c", "```", "x`"])
def test_code_span_holds_the_text(text):
    ast = json.loads(pypandoc.convert_text(code(text), "json", format="markdown"))
    (para,) = ast["blocks"]
    (span,) = para["c"]
    assert span["t"] == "Code" and span["c"][1] == text


def test_html_escapes_markup_and_quotes():
    assert html('<a href="x">&</a>') == "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
    assert html(None) == ""


@pytest.mark.parametrize("value, formula", [("=1+1", True), ("+cmd|' /C calc'!A0", True), ("@SUM(1)", True),
                                            ("-x", True), ("\tx", True), ("-12.5", False), ("+3%", False),
                                            ("text", False), ("", False)])
def test_formula_like_cells_are_defused(value, formula):
    assert is_formula_like(value) is formula
    assert csv_cell(value) == ("'" + value if formula else value)
    assert sheet_text(value) == ("'" + value if formula else value)
    assert csv_cell(3.5) == 3.5
