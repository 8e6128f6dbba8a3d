"""What a reader sees in a report's HTML, read the same way from the built-in renderer's page and Quarto's:
tables (caption and cells) and figures (caption) by their cross-reference id, numbered headings, the
cross-references of the text, the title block and the paragraphs of each section. Scripts, styles and the
table of contents are left out."""
from __future__ import annotations

import re
from pathlib import Path

import lxml.html


def _text(element) -> str:
    return " ".join(element.text_content().split())


def page(path: Path):
    """The parsed page, without scripts, styles and the table of contents."""
    doc = lxml.html.fromstring(Path(path).read_bytes())
    for bad in doc.xpath("//script | //style | //nav[@id='TOC']"):
        bad.drop_tree()
    return doc


def _caption(element) -> str:
    found = element.xpath(".//figcaption | .//caption | .//*[contains(concat(' ', @class, ' '), ' table-caption ')]"
                          " | .//*[contains(concat(' ', @class, ' '), ' float-caption ')]")
    return _text(found[0]) if found else ""


def tables(doc) -> dict[str, tuple[str, list[list[str]]]]:
    """{tbl-id: (caption, rows of cell texts, header first)}."""
    out = {}
    for element in doc.xpath("//*[starts-with(@id, 'tbl-')][not(self::figcaption)]"):
        table = element if element.tag == "table" else element.xpath(".//table")[0]
        rows = [[_text(cell) for cell in tr.xpath("./th | ./td")] for tr in table.xpath(".//tr")]
        out[element.get("id")] = (_caption(element), rows)
    return out


def figures(doc) -> dict[str, str]:
    """{fig-id: caption}."""
    return {element.get("id"): _caption(element)
            for element in doc.xpath("//*[starts-with(@id, 'fig-')][not(self::figcaption)]")}


def headings(doc) -> list[tuple[str, str]]:
    """[(section id, heading text with its number)] of the headings of the body, in order."""
    out = []
    for h in doc.xpath("//h2 | //h3 | //h4"):
        ident = h.get("id") or h.get("data-anchor-id") or h.getparent().get("id") or ""
        out.append((ident, _text(h)))
    return out


def cross_references(doc) -> list[tuple[str, str]]:
    """[(target, link text)] of every link to a figure, table or section, in order."""
    return [(a.get("href"), _text(a)) for a in doc.xpath("//a[@href]")
            if re.match(r"#(fig|tbl|sec)-", a.get("href"))]


def title_block(doc) -> tuple[str, str]:
    """(title, subtitle) as shown."""
    title = doc.xpath("//h1[contains(concat(' ', @class, ' '), ' title ')]")
    subtitle = doc.xpath("//p[contains(concat(' ', @class, ' '), ' subtitle ')]")
    return (_text(title[0]) if title else "", _text(subtitle[0]) if subtitle else "")


def section_paragraphs(doc) -> dict[str, list[str]]:
    """{top-level section heading: the texts of its paragraphs}."""
    out, current = {}, "(before the first section)"
    for element in doc.iter("h2", "p"):
        if element.tag == "h2":
            current = _text(element)
        else:
            out.setdefault(current, []).append(_text(element))
    return out
