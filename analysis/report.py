"""Render report.qmd (and slides.qmd) for one results directory, by Quarto or the built-in renderer."""
from __future__ import annotations

from pathlib import Path

from .render import render

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "report.qmd"


def render_report(results_dir: str | Path, engine: str = "auto", formats=("html", "pdf"),
                  progress=lambda message: None) -> dict[str, Path]:
    results_dir = Path(results_dir).resolve()
    progress(f"rendering {REPORT.name} ({', '.join(formats)})")
    return render(REPORT, results_dir, params={"results_dir": str(results_dir)}, formats=tuple(formats),
                  engine=engine)
