"""Text from the data is data: one escaping function per output language, applied where a value enters it.

- :func:`markdown` -- pandoc markdown (the report's and the slides' source, which pandoc turns into HTML,
  typst and PPTX, and Quarto's crossref filter reads): every ASCII punctuation character is
  backslash-escaped (pandoc's rule: "any ASCII punctuation character may be backslash-escaped"; all but
  ``, ; / % ? = ( )``, which mean nothing once brackets and the rest are escaped), so no
  emphasis, link, raw HTML, citation or cross-reference (``@fig-x``), shortcode (``{{< >}}``), math
  (``$``) or table syntax (``|``) can come from a value; line breaks become spaces.
- :func:`code` -- a value shown as inline code: a fence of backticks longer than any run inside.
- :class:`Markdown` -- text that is already markdown (built from the above), which :func:`markdown` keeps.
- :func:`prose` -- paragraphs from a specification (the background): emphasis and code spans kept, the rest
  literal.
- :func:`html` -- HTML text (``html.escape`` with quotes).
- :func:`csv_cell` / :func:`sheet_text` -- spreadsheet cells: a text that a spreadsheet would read as a
  formula (first character ``= + - @``, tab or carriage return, as the OWASP CSV-injection advice lists)
  is prefixed with ``'`` unless it is a plain number; the workbook writes every text as a string cell,
  never a formula (``analysis.present.exports``).
- matplotlib: ``text.parse_math`` is off in the figure style (``analysis.present.plots.STYLE``), so ``$`` is
  literal there.

Tested (tests/present/test_escape.py, function by function, pandoc reading the text back; tests/present/test_hostile.py) with hostile values: ``<img src=x onerror=alert(1)>``, ``<script>``,
``[x](javascript:alert(1))``, ``@fig-x``, ``{{< pagebreak >}}``, ``$\\notacommand{$``, ``=HYPERLINK(...)``,
``+cmd|' /C calc'!A0``, ``@SUM(1)``, through the rendered HTML, PDF, PPTX and XLSX.
"""
from __future__ import annotations

import html as _html
import re
import string

#: ASCII punctuation escaped in markdown: all of it but , ; / % ? = ( ), which have no meaning in pandoc
#: inline markdown once [ ] @ and the rest are escaped (kept for readable markdown sources)
_PUNCT = set(string.punctuation) - set(",;/%?=()")
_NUMBER = re.compile(r"[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?%?")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class Markdown(str):
    """Text that already is pandoc markdown: written in the document, with every piece from outside escaped by
    :func:`markdown` or :func:`code` (e.g. a caption naming a column as code). :func:`markdown` leaves it as it
    is, so a caption can carry markup through helpers that escape plain text."""


def markdown(text) -> str:
    """``text`` as literal pandoc-markdown inline text (see the module docstring); :class:`Markdown` as it is."""
    if isinstance(text, Markdown):
        return str(text)
    text = "" if text is None else str(text)
    text = re.sub(r"[\r\n]+", " ", text)
    return "".join("\\" + ch if ch in _PUNCT else ch for ch in text)


_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")


def prose(text) -> str:
    """Paragraphs written in a data specification (the background): blank lines separate paragraphs, ``*`` and
    ``_`` (emphasis) and backtick code spans keep their meaning; every other markdown character is literal, as
    :func:`markdown` makes it, so no link, raw HTML, math, heading, reference or shortcode can come from it."""
    paragraphs = re.split(r"\n[ \t]*\n", "" if text is None else str(text).strip())
    out = []
    for paragraph in paragraphs:
        paragraph = " ".join(paragraph.split())
        pieces, last = [], 0
        for m in _CODE_SPAN.finditer(paragraph):
            pieces += [_escape(paragraph[last:m.start()], keep="*_"), m.group(0)]
            last = m.end()
        out.append("".join(pieces) + _escape(paragraph[last:], keep="*_"))
    return "\n\n".join(p for p in out if p)


def _escape(text: str, keep: str = "") -> str:
    return "".join("\\" + ch if ch in _PUNCT and ch not in keep else ch for ch in text)


def shortcodes(text: str) -> str:
    """Quarto's escape of every shortcode ``{{< x >}}`` in ``text``: ``{{{< x >}}}``, which Quarto shows as
    ``{{< x >}}``. Needed where Quarto reads shortcodes in parsed text, which backslashes do not protect: inline
    code and metadata (the title block). The built-in renderer undoes it there too (templates/
    shortcode_escapes.lua)."""
    return re.sub(r"\{\{(<.*?>)\}\}", r"{{{\1}}}", text)


def code(text) -> str:
    """``text`` as an inline code span that nothing inside can close (and no shortcode in it runs)."""
    text = shortcodes(re.sub(r"[\r\n]+", " ", "" if text is None else str(text)))
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def html(text) -> str:
    return _html.escape("" if text is None else str(text), quote=True)


def is_formula_like(text: str) -> bool:
    return bool(text) and text.startswith(FORMULA_START) and not _NUMBER.fullmatch(text.strip())


def csv_cell(value):
    """A cell for a CSV file that spreadsheets open: formula-like text gets a leading ``'``."""
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value


def sheet_text(value: str) -> str:
    """Text for a workbook string cell (already never a formula): formula-like text gets a leading ``'``
    too, so that copying the cell into another sheet cannot turn it into one."""
    return "'" + value if is_formula_like(value) else value
