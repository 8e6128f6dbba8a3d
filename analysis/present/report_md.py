"""Markdown blocks for report.qmd and slides.qmd: tables, figures and sentences of one results folder.

The documents compute nothing: they call these helpers, which print pandoc markdown that Quarto and the
built-in renderer (``analysis.present.render``) read alike:

- a table is a pipe table (``analysis.present.pipe_table``: escaped cells, content-sized columns)
  followed by its caption line ``: caption {#tbl-x}``;
- a figure is Quarto's cross-reference div ``::: {#fig-x}`` holding ``![](path){width=..}`` and the
  caption as its last paragraph, with the image path relative to the document's folder and a width
  chosen per kind of figure (:data:`FIGURE_WIDTHS`), so no figure fills a page it does not need;
- generated sentences (from the results' sentence tables) are escaped: nothing in them is markup;
- the title and subtitle (the specification's, with the data file) are a pandoc metadata block printed by
  the document's first cell (:meth:`Doc.title_block`), so every route, ``quarto render report.qmd``
  included, shows the same title block.

Labels are built from fixed prefixes and the specification's variable names (letters, digits and
underscores; underscores become hyphens), never from values in the data.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

from analysis.present import display as d
from analysis.present.escape import markdown as md, shortcodes
from analysis.present.formatting import pipe_table

#: display width of each kind of figure (share of the text width)
FIGURE_WIDTHS = {"rate": "80%", "rate_tall": "85%", "distribution": "80%", "square": "62%", "forest": "100%",
                 "heatmap": "75%", "wide": "85%", "effect": "75%"}


def label(*parts: str) -> str:
    """A cross-reference label from fixed words and variable names: ``label("fig", "rate", "job")``."""
    return "-".join(re.sub(r"[^a-z0-9]+", "-", str(p).lower()).strip("-") for p in parts)


class Doc:
    """Printing helpers bound to one results folder (``analysis.results.RunResults``) and the folder the
    document is rendered from (image paths are written relative to it)."""

    def __init__(self, results, cwd: str | Path | None = None):
        self.res = results
        self.cwd = Path(cwd or os.getcwd()).resolve()

    # -- text
    def title_block(self) -> None:
        """Print the document's title and subtitle as a pandoc metadata block: the specification's title, and
        its subtitle with the data file's name (and SIMULATED DATA for simulated data); DRAFT in both when the
        specification is a draft (rendered with ``--allow-draft``).

        Quarto and the built-in renderer both read a metadata block anywhere in the markdown (the documents
        set no title in their front matter, which would win). Pandoc reads metadata strings as markdown, so
        every piece, which comes from the specification and the file name, is escaped markdown inside YAML:
        no element, math or reference can come from it; and Quarto, which runs shortcodes in metadata after
        reading it, gets its own escape of them (:func:`analysis.present.escape.shortcodes`)."""
        res = self.res
        source = res.metrics["data"]["file"] + (" - SIMULATED DATA" if res.simulated else "")
        subtitle = " ".join(p for p in (res.spec.subtitle.strip(), f"(data: {source})") if p)
        title = res.spec.title.strip() or "Logistic-regression report"
        if getattr(res.spec, "draft", False):   # rendered with --allow-draft: the specification still marks guesses
            title = f"DRAFT \u2013 {title}"
            subtitle = (f"{subtitle} \u2013 DRAFT: the specification has {len(res.spec.markers)} unchecked "
                        "CHECK/CHOOSE items")
        meta = {"title": md(shortcodes(title)), "subtitle": md(shortcodes(subtitle))}
        print("\n---\n" + yaml.safe_dump(meta, allow_unicode=True, width=10**9, sort_keys=False) + "---\n")

    def say(self, *parts: str) -> None:
        """Print document text (written in the .qmd: may hold markup and cross-references)."""
        print(" ".join(p for p in parts if p) + "\n")

    def text(self, sentence: str) -> str:
        """A generated sentence as literal markdown."""
        return md(sentence)

    def sentence(self, table: str, topic: str) -> str:
        return md(d.sentence(self.res.tables, table, topic))

    # -- tables
    def table(self, name: str, label_: str, caption: str | None = None) -> None:
        print(self.table_md(d.display(self.res, name), label_, caption or d.caption(self.res, name)))

    def table_md(self, frame, label_: str, caption: str) -> str:
        return f"\n{pipe_table(frame)}\n\n: {md(caption)} {{#{label_}}}\n"

    def frame(self, frame, label_: str, caption: str) -> None:
        print(self.table_md(frame, label_, caption))

    # -- figures
    def image_path(self, name: str) -> str:
        path = Path(self.res.figure(name)).resolve()
        try:
            return path.relative_to(self.cwd).as_posix()
        except ValueError:
            return os.path.relpath(path, self.cwd).replace(os.sep, "/")

    def figure(self, name: str, label_: str | None, caption: str, kind: str = "rate") -> None:
        """A numbered, cross-referenceable figure; ``label_=None`` for an unnumbered one (the slides, whose
        figures would otherwise get numbers that differ from the report's)."""
        width = FIGURE_WIDTHS.get(kind, "80%")
        if label_ is None:
            print(f"\n![{md(caption)}]({self.image_path(name)}){{width={width}}}\n")
            return
        print(f"\n::: {{#{label_}}}\n![]({self.image_path(name)}){{width={width}}}\n\n{md(caption)}\n:::\n")
