"""Render report.qmd (and slides.qmd) for one results directory, by Quarto or the built-in renderer."""
from __future__ import annotations

from pathlib import Path

from .render import render

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "report.qmd"
SLIDES = ROOT / "slides.qmd"


def render_report(results_dir: str | Path, engine: str = "auto", formats=("html", "pdf"),
                  progress=lambda message: None) -> dict[str, Path]:
    """Render the report in ``formats`` (html, pdf) and, with "pptx", the slides; write the workbook."""
    from .exports import write_workbook
    from .results import load

    results_dir = Path(results_dir).resolve()
    params = {"results_dir": str(results_dir)}
    results = load(results_dir)
    outputs = {"xlsx": write_workbook(results.tables, results_dir / "report_tables.xlsx", results.simulated)}
    document = tuple(f for f in formats if f != "pptx")
    if document:
        progress(f"rendering {REPORT.name} ({', '.join(document)})")
        outputs.update(render(REPORT, results_dir, params=params, formats=document, engine=engine))
    if "pptx" in formats:
        progress(f"rendering {SLIDES.name} (pptx)")
        outputs["pptx"] = render(SLIDES, results_dir, params=params, formats=("pptx",), engine=engine)["pptx"]
    return outputs
