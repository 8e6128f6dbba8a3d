"""Render report.qmd (and slides.qmd) for one results directory, by Quarto or the built-in renderer."""
from __future__ import annotations

import shutil
from pathlib import Path

from analysis.present import render as renderer

PACKAGE = Path(__file__).resolve().parents[1]
TEMPLATES = Path(__file__).resolve().with_name("templates")
#: the checkout (report.qmd beside the package) or, for an installed package, its copies of the documents
#: (analysis/documents/ holds links to the checkout's files, which a wheel stores as copies)
ROOT = PACKAGE.parent if (PACKAGE.parent / "report.qmd").is_file() else PACKAGE / "documents"
IN_CHECKOUT = ROOT == PACKAGE.parent
REPORT = ROOT / "report.qmd"
SLIDES = ROOT / "slides.qmd"
PROJECT = ROOT / "_quarto.yml"
#: the slides' reference document, as slides.qmd names it (relative to the checkout) and as a copy names it
REFERENCE_DOC = "analysis/present/templates/reference.pptx"
REFERENCE_COPY = "slides-reference.pptx"


def _documents(results_dir: Path, engine: str) -> tuple[Path, Path]:
    """The .qmd files to render. In a checkout they are rendered where they are, unless Quarto renders results
    outside the project: Quarto resolves image paths against its project root (typst cannot read files outside
    it). Then, and always for an installed package, the documents are rendered from copies placed in the
    results folder, with the slides' reference document beside them."""
    import shutil as _sh

    quarto = engine == "quarto" or (engine == "auto" and _sh.which("quarto"))
    if IN_CHECKOUT and (not quarto or results_dir.is_relative_to(ROOT)):
        return REPORT, SLIDES
    for source in (REPORT, PROJECT):
        shutil.copyfile(source, results_dir / source.name)
    shutil.copyfile(TEMPLATES / "reference.pptx", results_dir / REFERENCE_COPY)
    text = SLIDES.read_text(encoding="utf-8")
    if f"reference-doc: {REFERENCE_DOC}" not in text:
        raise RuntimeError(f"{SLIDES} does not name its reference document as {REFERENCE_DOC}")
    (results_dir / SLIDES.name).write_text(text.replace(f"reference-doc: {REFERENCE_DOC}",
                                                        f"reference-doc: {REFERENCE_COPY}"), encoding="utf-8")
    return results_dir / REPORT.name, results_dir / SLIDES.name


def render(results, engine: str = "auto", formats=("html", "pdf"), progress=lambda message: None) -> dict[str, Path]:
    """Render the report of ``results`` (a results folder read by ``analysis.results.load``) in ``formats``
    (html, pdf) and, with "pptx", the slides; write the workbook.

    The title and subtitle come from the run's data specification, printed by the documents themselves
    (``report_md.Doc.title_block``; a draft specification puts DRAFT in both)."""
    from analysis.present.exports import write_workbook

    results_dir = Path(results.directory).resolve()
    params = {"results_dir": str(results_dir)}
    outputs = {"xlsx": write_workbook(results, results_dir / "report_tables.xlsx")}
    report, slides = _documents(results_dir, engine)
    document = tuple(f for f in formats if f != "pptx")
    if document:
        progress(f"rendering {report.name} ({', '.join(document)})")
        outputs.update(renderer.render(report, results_dir, params=params, formats=document, engine=engine))
    if "pptx" in formats:
        progress(f"rendering {slides.name} (pptx)")
        outputs["pptx"] = renderer.render(slides, results_dir, params=params, formats=("pptx",), engine=engine)["pptx"]
    return outputs
