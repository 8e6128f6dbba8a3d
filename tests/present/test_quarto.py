"""The route users run is the route CI renders: the real Quarto CLI (installed by `make` into .quarto-cli/ from
../shared/quarto, or a quarto on PATH; without either these tests skip, naming what is missing).

- Both routes give the same report: `python -m analysis report` through Quarto and through the built-in
  renderer (the session's four reports, conftest.py) have the same tables (caption and every cell), figure
  captions, numbered headings, cross-references and title block, and PDFs within 10% of each other's page
  count. The layout checks of the PDF run on both routes (tests/test_report.py).
- Every documented Quarto command works in a fresh checkout, as a new user would run it: a temporary copy of
  the project as `git archive` makes it, Quarto and the project's Python environment on PATH, nothing else.
"""
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from pypdf import PdfReader

from analysis.spec import load_spec
from report_html import cross_references, figures, headings, page, tables, title_block

ROOT = Path(__file__).resolve().parents[2]
ROUTES = [("simulated_report", "quarto_simulated_report"), ("real_report", "quarto_real_report")]
REPORTS = [name for pair in ROUTES for name in pair]


def _subtitle(spec, out: Path, simulated: bool) -> str:
    import json

    name = json.loads((out / "metrics.json").read_text())["data"]["file"]
    return f"{spec.subtitle} (data: {name}{' - SIMULATED DATA' if simulated else ''})"


@pytest.mark.parametrize("builtin, quarto", ROUTES)
def test_both_routes_give_the_same_report(builtin, quarto, request):
    """Table by table (caption and every cell), then figures, headings, cross-references and the title."""
    ours, theirs = (page(request.getfixturevalue(name) / "report.html") for name in (builtin, quarto))
    a, b = tables(ours), tables(theirs)
    assert len(a) >= 20 and list(a) == list(b)
    for ident in a:
        assert a[ident][0] == b[ident][0], ident        # caption, with its number
        assert a[ident][1] == b[ident][1], ident        # header and cells
    assert len(figures(ours)) >= 10 and figures(ours) == figures(theirs)
    assert headings(ours) == headings(theirs)
    assert len(cross_references(ours)) >= 30 and cross_references(ours) == cross_references(theirs)
    assert title_block(ours) == title_block(theirs)


@pytest.mark.parametrize("which", REPORTS)
def test_title_block_is_the_specifications_without_quotes(which, request):
    """HTML and PDF show the specification's title and its subtitle with the data file, as written (Quarto
    showed them in literal quotes)."""
    out = request.getfixturevalue(which)
    spec = load_spec(out / "spec.toml")
    simulated = (out / "DATA_ARE_SIMULATED.txt").exists()
    assert title_block(page(out / "report.html")) == (spec.title, _subtitle(spec, out, simulated))
    first = " ".join(PdfReader(out / "report.pdf").pages[0].extract_text().split())
    assert first.startswith(f"{spec.title} {_subtitle(spec, out, simulated)}"), first[:200]


@pytest.mark.parametrize("builtin, quarto", ROUTES)
def test_page_counts_within_ten_percent(builtin, quarto, request):
    ours, theirs = (len(PdfReader(request.getfixturevalue(name) / "report.pdf").pages) for name in (builtin, quarto))
    assert abs(ours - theirs) <= 0.1 * max(ours, theirs), (ours, theirs)


# -- the documented commands in a fresh checkout --------------------------------------------------------------
def fresh_checkout(dest: Path) -> Path:
    """The project as a new user gets it: `git archive HEAD` when the working tree is clean (CI's clone);
    otherwise the files `git archive` would hold after a commit (tracked and untracked, ignored ones left out),
    so that uncommitted work is what is tested."""
    if not shutil.which("git") or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the fresh-checkout tests copy the project with git")
    dest.mkdir(parents=True)

    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, check=True).stdout
    if not git("status", "--porcelain").strip():
        archive = dest.parent / f"{dest.name}.tar"
        archive.write_bytes(git("archive", "--format=tar", "HEAD"))
        with tarfile.open(archive) as tar:
            tar.extractall(dest, filter="tar")
        return dest
    for name in git("ls-files", "-z", "--cached", "--others", "--exclude-standard").decode().split("\0"):
        source = ROOT / name
        if not name or not os.path.lexists(source):
            continue
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            os.symlink(os.readlink(source), dest / name)
        else:
            shutil.copy2(source, dest / name)
    return dest


def quarto(project: Path, env: dict, *args) -> None:
    proc = subprocess.run(["quarto", *args], cwd=project, env=env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]


def _text(path: Path) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)\b.*?</\1>", " ", path.read_text(), flags=re.S))
                    .split())


def test_quarto_render_report_in_a_fresh_checkout(tmp_path, quarto_env, simulated_report):
    """`quarto render report.qmd`, nothing else: the report's first cell runs the analysis on the embedded
    sample with the default options (in Quarto's Jupyter kernel) and the report is in _output/ as HTML and PDF,
    with the same tables as the built-in route's report of the same run (bar the code revision: a fresh copy
    has no git history)."""
    project = fresh_checkout(tmp_path / "project")
    quarto(project, quarto_env, "render", "report.qmd")
    out = project / "_output"
    assert (out / "report.pdf").stat().st_size > 100_000
    ours, theirs = tables(page(out / "report.html")), tables(page(simulated_report / "report.html"))
    assert "tbl-validation" in ours and list(ours) == list(theirs)   # the bootstrap ran (default: 200)
    for ident in ours:
        if ident == "tbl-provenance":
            differ = [(a, b) for a, b in zip(ours[ident][1], theirs[ident][1]) if a != b]
            # the fresh copy has no git history; a checkout without one (a git worktree's .git is a file) neither
            assert [a[0] for a, _ in differ] in ([], ["Code revision"]), differ
        else:
            assert ours[ident] == theirs[ident], ident
    spec = load_spec(project / "analysis" / "spec" / "tmall.toml")
    assert title_block(page(out / "report.html")) == (spec.title, _subtitle(spec, out, True))


def test_quarto_render_report_with_data_and_spec(tmp_path, quarto_env, real_data_path):
    """`quarto render report.qmd -P data:FILE`, then in the same checkout another file with its specification
    (`-P spec:SPEC`): each render reports the file it was given (the results of the first are not reused),
    with the bootstrap off (`-P bootstrap:0`) to keep the test short."""
    project = fresh_checkout(tmp_path / "project")
    quarto(project, quarto_env, "render", "report.qmd", "-P", f"data:{real_data_path}", "-P", "bootstrap:0")
    out = project / "_output"
    text = _text(out / "report.html")
    assert "tianmao.csv" in text and "25,317 rows read" in text and "SIMULATED" not in text
    assert "tbl-validation" not in tables(page(out / "report.html"))
    assert (out / "report.pdf").exists()
    quarto(project, quarto_env, "render", "report.qmd", "-P", "data:tests/data/public/birthwt.csv",
           "-P", "spec:tests/specs/birthwt.toml", "-P", "bootstrap:0")
    spec = load_spec(project / "tests" / "specs" / "birthwt.toml")
    assert title_block(page(out / "report.html")) == (spec.title, _subtitle(spec, out, False))
    text = _text(out / "report.html")
    assert "189 rows read" in text and "tianmao" not in text and spec.rows in text


def test_quarto_render_project_in_a_fresh_checkout(tmp_path, quarto_env):
    """`quarto render`: the project's documents, the report (HTML, PDF) and the slides (PPTX), in _output/."""
    from pptx import Presentation

    project = fresh_checkout(tmp_path / "project")
    quarto(project, quarto_env, "render")
    out = project / "_output"
    spec = load_spec(project / "analysis" / "spec" / "tmall.toml")
    assert title_block(page(out / "report.html")) == (spec.title, _subtitle(spec, out, True))
    assert len(PdfReader(out / "report.pdf").pages) >= 15
    deck = Presentation(out / "slides.pptx")
    first = [sh.text_frame.text for sh in deck.slides[0].shapes if sh.has_text_frame]
    assert spec.title in first and _subtitle(spec, out, True) in first
    titles = [s.shapes.title.text for s in deck.slides if s.shapes.title is not None]
    assert "Key odds ratios" in titles and "Limitations" in titles
