"""Render report.qmd (and slides.qmd) for one results directory, by Quarto or the built-in renderer."""
from __future__ import annotations

import shutil
from pathlib import Path

from .render import render

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "report.qmd"
SLIDES = ROOT / "slides.qmd"
PROJECT = ROOT / "_quarto.yml"


def _documents(results_dir: Path, engine: str) -> tuple[Path, Path]:
    """The .qmd files to render. Quarto resolves image paths against its project root (typst cannot read
    files outside it), so when the results are outside the project the documents are rendered from a
    copy placed in the results folder; the built-in renderer resolves paths itself."""
    import shutil as _sh

    quarto = engine == "quarto" or (engine == "auto" and _sh.which("quarto"))
    if not quarto or results_dir.is_relative_to(ROOT):
        return REPORT, SLIDES
    for source in (REPORT, SLIDES, PROJECT):
        shutil.copyfile(source, results_dir / source.name)
    return results_dir / REPORT.name, results_dir / SLIDES.name


def render_report(results_dir: str | Path, engine: str = "auto", formats=("html", "pdf"),
                  progress=lambda message: None) -> dict[str, Path]:
    """Render the report in ``formats`` (html, pdf) and, with "pptx", the slides; write the workbook.

    The title and subtitle come from the run's data specification (``-M title:...`` under Quarto)."""
    from .exports import write_workbook
    from .results import load

    results_dir = Path(results_dir).resolve()
    params = {"results_dir": str(results_dir)}
    results = load(results_dir)
    source = results.metrics["data"]["file"] + (" - SIMULATED DATA" if results.simulated else "")
    metadata = {"title": results.spec.title, "subtitle": f"{results.spec.subtitle} (data: {source})"}
    outputs = {"xlsx": write_workbook(results, results_dir / "report_tables.xlsx")}
    report, slides = _documents(results_dir, engine)
    document = tuple(f for f in formats if f != "pptx")
    if document:
        progress(f"rendering {report.name} ({', '.join(document)})")
        outputs.update(render(report, results_dir, params=params, formats=document, engine=engine, metadata=metadata))
    if "pptx" in formats:
        progress(f"rendering {slides.name} (pptx)")
        outputs["pptx"] = render(slides, results_dir, params=params, formats=("pptx",), engine=engine,
                                 metadata=metadata)["pptx"]
    return outputs
