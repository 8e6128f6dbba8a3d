"""Render a Quarto ``.qmd`` to self-contained HTML and PDF (and PPTX).

``render(qmd, out_dir, params)`` runs the Quarto CLI when it is on PATH and
otherwise a small fallback built from registry packages only:

    jupytext (parse)  ->  nbclient (execute, python3 kernel of this interpreter,
    cwd = the qmd's folder)  ->  pandoc markdown  ->  pandoc HTML (--embed-resources)
                                                  ->  pandoc typst -> typst wheel -> PDF
                                                  ->  pandoc PPTX

Quarto subset the fallback supports (see docs/rendering.md for details):

* front matter ``title subtitle author date abstract lang toc toc-depth toc-title
  number-sections params crossref execute format.<html|typst|pdf|pptx>``, with
  ``_quarto.yml`` beside the qmd merged underneath (front matter wins);
* ```` ```{python} ```` cells with ``#|`` options ``echo eval include output
  (true/false/asis) warning error label fig-cap tbl-cap tags: [parameters]``;
  ``execute:`` gives document-wide defaults;
* parameters: the cell tagged ``parameters`` holds defaults, a cell assigning
  front-matter ``params`` overridden by the passed ``params`` is injected after it;
* inline expressions ```` `{python} expr` ```` (``str()`` of the value);
* cross-references ``@fig-x @tbl-x @sec-x`` (also ``[@fig-x]`` and ``[-@fig-x]``
  for the bare number) to figure cells / ``![cap](img){#fig-x}``, table cells /
  ``: cap {#tbl-x}`` captions and ``## Heading {#sec-x}``;
* the shortcode ``{{< pagebreak >}}``.

Numbering is done here, once, in the markdown: captions become "Figure 2: ...",
references become links "[Figure 2](#fig-x)" and numbered headings get their
number, so HTML, PDF and PPTX agree; typst's own figure numbering is switched off
in ``templates/report.typst`` so nothing is numbered twice.  A reference to a
label that does not exist raises ``RenderError`` naming it.
"""
from __future__ import annotations

import ast
import base64
import datetime as _dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path, PurePath

import yaml

TEMPLATES = Path(__file__).with_name("templates")
# output format -> (file suffix, Quarto's --to, the format key its options live under)
FORMATS = {"html": ("html", "html", "html"), "pdf": ("pdf", "typst", "typst"),
           "pptx": ("pptx", "pptx", "pptx")}
KINDS = {"fig": "Figure", "tbl": "Table", "sec": "Section"}
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class RenderError(RuntimeError):
    """Rendering failed: a cell raised, a reference is unresolved, a tool failed."""


def render(qmd: Path, out_dir: Path, params: dict | None = None, formats=("html", "pdf"),
           *, engine: str = "auto", timeout: int = 600) -> dict[str, Path]:
    """Render ``qmd`` into ``out_dir/<stem>.<ext>`` for each of ``formats``; return those paths."""
    qmd, out_dir = Path(qmd).resolve(), Path(out_dir).resolve()
    formats = (formats,) if isinstance(formats, str) else tuple(formats)
    if unknown := [f for f in formats if f not in FORMATS]:
        raise RenderError(f"unknown format(s) {unknown}; supported: {sorted(FORMATS)}")
    if not qmd.is_file():
        raise RenderError(f"{qmd} does not exist")
    if engine == "auto":
        engine = "quarto" if shutil.which("quarto") else "python"
    if engine not in ("quarto", "python"):
        raise RenderError(f"unknown engine {engine!r}; use 'auto', 'quarto' or 'python'")
    out_dir.mkdir(parents=True, exist_ok=True)
    run = _render_quarto if engine == "quarto" else _render_python
    return run(qmd, out_dir, dict(params or {}), formats, timeout)


# ----------------------------------------------------------------------------- Quarto CLI
def _render_quarto(qmd, out_dir, params, formats, timeout):
    # the document's Python: QUARTO_PYTHON if set, else this interpreter (which has the package the document
    # imports), not whatever `python3` is first on PATH
    env = {**os.environ, "QUARTO_PYTHON": os.environ.get("QUARTO_PYTHON") or sys.executable}
    outputs = {}
    with tempfile.TemporaryDirectory(prefix="quarto-render-") as tmp:
        for fmt in formats:
            ext, to, _ = FORMATS[fmt]
            cmd = [shutil.which("quarto"), "render", str(qmd), "--to", to, "--output-dir", tmp]
            if fmt == "html":
                cmd += ["-M", "embed-resources:true"]
            for key, value in params.items():
                cmd += ["-P", f"{key}:{_json_value(value)}"]
            _run(cmd, cwd=qmd.parent, timeout=timeout, env=env)
            produced = Path(tmp) / f"{qmd.stem}.{ext}"
            if not produced.exists():
                raise RenderError(f"quarto did not write {produced.name}")
            outputs[fmt] = Path(shutil.move(produced, out_dir / produced.name))
    return outputs


def _json_value(value):
    value = str(value) if isinstance(value, PurePath) else value
    try:
        return json.dumps(value)  # JSON is YAML, so quarto reads back the same type
    except TypeError:
        return str(value)


# ----------------------------------------------------------------------------- fallback
def _render_python(qmd, out_dir, params, formats, timeout):
    meta = _metadata(qmd)
    nb = _notebook(qmd, meta, params)
    _execute(nb, qmd.parent, timeout)
    outputs = {}
    with tempfile.TemporaryDirectory(prefix="qmd-render-") as tmp:
        tmp = Path(tmp)
        for fmt in formats:
            ext, _, key = FORMATS[fmt]
            opts = {**{k: v for k, v in meta.items() if k != "format"},
                    **_format_options(meta, key, "pdf" if fmt == "pdf" else key)}
            body = _crossref(_shortcode_escapes(_markdown(nb, qmd.parent, tmp, fmt)), opts)
            md = tmp / f"{qmd.stem}.{fmt}.md"
            md.write_text(body, encoding="utf-8")
            target = out_dir / f"{qmd.stem}.{ext}"
            if fmt == "html":
                _html(md, target, opts, qmd, tmp, formats)
            else:
                {"pdf": _pdf, "pptx": _pptx}[fmt](md, target, opts, qmd, tmp)
            outputs[fmt] = target
    return outputs


def _deep_merge(base: dict, top: dict) -> dict:
    merged = dict(base)
    for key, value in top.items():
        both = isinstance(value, dict) and isinstance(merged.get(key), dict)
        merged[key] = _deep_merge(merged[key], value) if both else value
    return merged


def _metadata(qmd: Path) -> dict:
    match = re.match(r"\A---[ \t]*\n(.*?\n)?---[ \t]*\n", qmd.read_text(encoding="utf-8"), re.S)
    front = yaml.safe_load(match.group(1) or "") if match else {}
    project = qmd.parent / "_quarto.yml"
    base = yaml.safe_load(project.read_text(encoding="utf-8")) if project.exists() else {}
    return _deep_merge(base or {}, front or {})


def _format_options(meta: dict, *keys: str) -> dict:
    options = {}
    for key in keys:
        value = (meta.get("format") or {}).get(key) if isinstance(meta.get("format"), dict) else None
        options.update(value if isinstance(value, dict) else {})
    return options


def _cell_options(source: str) -> tuple[dict, str]:
    lines = source.splitlines()
    n = next((i for i, line in enumerate(lines) if not line.startswith("#|")), len(lines))
    try:
        options = yaml.safe_load("\n".join(line[2:] for line in lines[:n])) or {}
    except yaml.YAMLError as exc:
        raise RenderError(f"bad '#|' cell options in:\n{source}\n{exc}") from exc
    return options, "\n".join(lines[n:]).strip("\n")


INLINE = re.compile(r"`\{python\}\s+([^`]+)`")


def _notebook(qmd: Path, meta: dict, params: dict):
    import jupytext
    import nbformat

    nb = jupytext.reads(qmd.read_text(encoding="utf-8"), fmt="Rmd")  # "qmd" would call quarto
    defaults = meta.get("execute") or {}
    cells = []
    for cell in nb.cells:
        if cell.cell_type == "raw":  # the front matter
            continue
        if cell.cell_type == "code":
            options, code = _cell_options(cell.source)
            cell.metadata["qmd"] = {**defaults, **options, "code": code}
            tags = list(options.get("tags") or [])
            tags += ["skip-execution"] if options.get("eval", defaults.get("eval", True)) is False else []
            tags += ["raises-exception"] if options.get("error", defaults.get("error")) else []
            cell.metadata["tags"] = tags
        elif exprs := INLINE.findall(cell.source):  # evaluate inline code where it stands
            values = ", ".join(f"({expr})" for expr in exprs)
            cells.append(nbformat.v4.new_code_cell(
                "__import__('IPython').display.display({'text/x-qmd-inline': __import__('json')"
                f".dumps([str(v) for v in ({values},)])}}, raw=True)", metadata={"qmd": {"inline": True}}))
        cells.append(cell)
    values = {**(meta.get("params") or {}), **params}
    if values:
        lines = []
        for key, value in values.items():
            text = repr(str(value) if isinstance(value, PurePath) else value)
            try:
                ast.literal_eval(text)
            except (ValueError, SyntaxError) as exc:
                raise RenderError(f"parameter {key}={value!r} is not a Python literal") from exc
            lines.append(f"{key} = {text}")
        where = next((i + 1 for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", [])), 0)
        cells.insert(where, nbformat.v4.new_code_cell("\n".join(lines), metadata={
            "tags": ["injected-parameters"], "qmd": {"include": False}}))
    nb.cells = cells
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def _execute(nb, cwd: Path, timeout: int) -> None:
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    # kernel_dirs=[] leaves only ipykernel's built-in "python3" spec: this very interpreter
    # transport "ipc" (Unix sockets under an absolute path, as the kernel runs in another folder): no TCP port
    # is opened, and ipykernel 7 does not warn about plain TCP
    sockets = Path(tempfile.mkdtemp(prefix="kernel-"))
    ipc = {"transport": "ipc", "ip": str(sockets / "k")} if os.name == "posix" else {}
    km = AsyncKernelManager(kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[]), **ipc)
    client = NotebookClient(nb, km=km, kernel_name="python3", timeout=timeout,
                            resources={"metadata": {"path": str(cwd)}})
    try:
        # cleanup_kc: shut the kernel down although we made its manager; MPLBACKEND: the inline
        # backend even where MPLBACKEND=Agg is set, so that figures become outputs
        client.execute(cleanup_kc=True,
                       env={**os.environ, "MPLBACKEND": "module://matplotlib_inline.backend_inline"})
    except CellExecutionError as exc:
        failed = next((c for c in nb.cells if c.cell_type == "code" and any(
            o.output_type == "error" for o in c.get("outputs", []))), None)
        if failed is None:
            raise RenderError(f"execution failed: {exc}") from None
        error = next(o for o in failed.outputs if o.output_type == "error")
        where = failed.metadata.get("qmd", {}).get("label") or f"#{nb.cells.index(failed) + 1}"
        trace = ANSI.sub("", "\n".join(error.traceback))
        raise RenderError(f"cell {where} failed with {error.ename}: {error.evalue}\n--- cell source ---\n"
                          f"{failed.source}\n--- traceback ---\n{trace}") from None
    except (CellTimeoutError, DeadKernelError) as exc:
        raise RenderError(f"execution failed: {exc}") from None
    finally:
        shutil.rmtree(sockets, ignore_errors=True)


# ----------------------------------------------------------------------------- to markdown
def _fence(text: str, cls: str = "") -> str:
    ticks = "`" * max(3, 1 + max((len(m) for m in re.findall(r"`+", text)), default=0))
    return f"{ticks}{cls}\n{text.rstrip()}\n{ticks}"


def _markdown(nb, qdir: Path, tmp: Path, fmt: str) -> str:
    blocks, inline = [], []
    for index, cell in enumerate(nb.cells):
        opts = cell.metadata.get("qmd", {})
        if opts.get("inline"):
            inline = json.loads(next(o.data["text/x-qmd-inline"] for o in cell.outputs
                                     if "text/x-qmd-inline" in o.get("data", {})))
        elif cell.cell_type == "markdown":
            blocks.append(_markdown_cell(cell.source, inline, qdir, fmt))
            inline = []
        elif cell.cell_type == "code" and opts.get("include", True) is not False:
            if opts.get("echo", True) is not False and opts.get("code"):
                blocks.append(_fence(opts["code"], "python"))
            if opts.get("output", True) is not False:
                blocks.append(_outputs(cell, opts, tmp, fmt, index, qdir))
    return "\n\n".join(b for b in blocks if b.strip()) + "\n"


def _markdown_cell(text: str, inline: list, qdir: Path, fmt: str) -> str:
    values = iter(inline)
    text = INLINE.sub(lambda m: next(values), text)
    text = re.sub(r"(?<![\\{])\{\{< pagebreak >\}\}(?!\})",
                  lambda m: "```{=typst}\n#pagebreak()\n```" if fmt == "pdf" else "", text)
    if shortcode := re.search(r"(?<![\\{])\{\{<.*?>\}\}", text):
        raise RenderError(f"unsupported shortcode {shortcode.group(0)} (see docs/rendering.md)")
    return _absolute_images(_figure_divs(text), qdir)


ESCAPED_SHORTCODE = re.compile(r"\{\{\{(<.*?>)\}\}\}")


def _shortcode_escapes(text: str) -> str:
    """Quarto's escape of a shortcode: ``{{{< x >}}}`` in the markdown (text or code) shows ``{{< x >}}``.
    (In metadata, which Quarto reads after parsing, templates/shortcode_escapes.lua does the same.)"""
    return ESCAPED_SHORTCODE.sub(r"{{\1}}", text)


def _absolute_images(text: str, qdir: Path) -> str:
    """Image paths relative to the qmd's folder made absolute (pandoc runs elsewhere; typst's root is "/")."""
    def absolute(m):
        path = m.group(2)
        if re.match(r"[a-z]+:|/|#", path):
            return m.group(0)
        return m.group(1) + (qdir / path).resolve().as_posix()
    return re.sub(r"(!\[[^\]]*\]\()([^)\s]+)", absolute, text)


FIGURE_DIV = re.compile(r"^:::+ *\{#(?P<id>fig-[\w-]+)\}[ \t]*\n(?P<img>!\[\]\([^)\s]+\)(?:\{[^}\n]*\})?)[ \t]*\n"
                        r"[ \t]*\n(?P<cap>(?:(?!:::).+\n?)+?)[ \t]*\n?:::+[ \t]*$", re.M)


def _figure_divs(text: str) -> str:
    """Quarto's figure div (``::: {#fig-x}``, an image, the caption as the last paragraph) as the pandoc
    figure it stands for: ``![caption](path){#fig-x ...}``, numbered later like any figure."""
    def figure(m):
        img = m.group("img")
        path = re.match(r"!\[\]\(([^)\s]+)\)", img).group(1)
        attrs = re.search(r"\{([^}]*)\}$", img)
        extra = f" {attrs.group(1)}" if attrs else ""
        caption = " ".join(m.group("cap").split())
        return f"![{caption}]({path}){{#{m.group('id')}{extra}}}"
    return FIGURE_DIV.sub(figure, text)


def _outputs(cell, opts: dict, tmp: Path, fmt: str, index: int, qdir: Path) -> str:
    label, asis = str(opts.get("label") or ""), opts.get("output") == "asis"
    parts, images, streams = [], 0, {}
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            if out.name == "stderr" and opts.get("warning", True) is False:
                continue
            if parts and streams.get(len(parts) - 1) == out.name:  # join consecutive prints
                parts[-1] += out.text
            else:
                streams[len(parts)] = out.name
                parts.append(out.text)
        elif out.output_type == "error":
            parts.append(_fence(ANSI.sub("", "\n".join(out.traceback)), " {.error}"))
        else:
            data = out.get("data", {})
            preferred = ["text/markdown", "image/png", "image/svg+xml", "text/html", "text/plain"]
            mime = next((m for m in preferred if m in data and (fmt == "html" or m != "text/html")), None)
            if mime is None:
                continue
            if mime.startswith("image/"):
                images += 1
                path = tmp / f"{re.sub(r'[^A-Za-z0-9_-]', '', label) or 'cell'}-{index}-{images}.{mime[6:9]}"
                raw = data[mime]
                path.write_bytes(base64.b64decode(raw) if mime == "image/png" else raw.encode())
                caption, attr = "", ""
                if images == 1 and label.startswith("fig-"):
                    caption, attr = str(opts.get("fig-cap") or ""), f"{{#{label}}}"
                elif images == 1 and opts.get("fig-cap"):
                    caption = str(opts["fig-cap"])
                parts.append(f"![{caption}]({path.name}){attr}")  # pandoc runs in tmp
            elif mime == "text/html":
                parts.append(_fence(data[mime], "{=html}"))
            elif mime == "text/markdown" or asis:
                parts.append(_absolute_images(_figure_divs(data[mime]), qdir))
            else:
                parts.append(_fence(data[mime]))
            streams.pop(len(parts) - 1, None)
    for i, name in streams.items():  # non-asis prints are shown verbatim
        if not asis or name == "stderr":
            parts[i] = _fence(parts[i], " {.stderr}" if name == "stderr" else "")
        else:
            parts[i] = _absolute_images(_figure_divs(parts[i]), qdir)
    text = "\n\n".join(p.strip("\n") for p in parts)
    if label.startswith("fig-") and not images:
        raise RenderError(f"cell labelled {label} produced no image:\n{opts.get('code', '')}")
    if label.startswith("tbl-"):
        text = _caption_table(text, label, str(opts.get("tbl-cap") or ""))
    return text


def _caption_table(text: str, label: str, caption: str) -> str:
    if re.search(rf"^(Table)?:\s.*\{{#{re.escape(label)}\b", text, re.M):
        return text  # the cell printed its own caption
    lines = text.split("\n")
    for i in range(len(lines) - 1):
        if lines[i].lstrip().startswith("|") and re.match(r"\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$",
                                                          lines[i + 1]):
            end = next((j for j in range(i, len(lines)) if not lines[j].lstrip().startswith("|")), len(lines))
            return "\n".join(lines[:end] + ["", f": {caption} {{#{label}}}", ""] + lines[end:])
    # no pipe table (e.g. an HTML table): a div carrying the id, caption on top
    return f"::: {{#{label} .table-float}}\n[{caption}]{{.float-caption}}\n\n{text}\n:::"


# ----------------------------------------------------------------------------- numbering
CODE = re.compile(r"^(`{3,}|~{3,}).*?^\1[ \t]*$|(?<![\\`])(`+)(?!`).+?(?<!`)\2(?!`)", re.M | re.S)
DEFINITION = re.compile(
    r"(?P<img>!\[(?P<icap>(?:[^\[\]]|\[[^\]]*\])*)\]\([^)]*\)\{#(?P<iid>fig-[\w-]+)[^}]*\})"
    r"|(?P<tab>^(?:Table)?:[ \t]+(?P<tcap>.*?)[ \t]*\{#(?P<tid>tbl-[\w-]+)[^}]*\}[ \t]*$)"
    r"|(?P<div>^:::+ *\{#(?P<did>(?:tbl|fig)-[\w-]+)[^}]*\}\n\[(?P<dcap>.*)\]\{\.float-caption\}$)"
    r"|(?P<head>^(?P<hashes>#{1,6})[ \t]+(?P<htext>.*?)(?:[ \t]+\{(?P<hattr>[^}]*)\})?[ \t]*$)", re.M)
REFERENCE = re.compile(r"(?<!\\)\[(?P<minus>-?)@(?P<b>(?:fig|tbl|sec)-[\w-]*\w)\]"
                       r"|(?<![\w@\\])@(?P<c>(?i:fig|tbl|sec))(?P<rest>-[\w-]*\w)")


STASHED = re.compile("\x00([0-9]+)\x00")


def _stash_code(text: str) -> tuple[str, list[str]]:
    """The text with every code block and code span replaced by a placeholder (NUL, its number, NUL), so that
    nothing is numbered or resolved inside code while a caption or heading holding code stays one line."""
    codes = []

    def stash(m):
        codes.append(m.group(0))
        return f"\x00{len(codes) - 1}\x00"
    return CODE.sub(stash, text), codes


def _crossref(text: str, opts: dict) -> str:
    text, codes = _stash_code(text)
    prose = [text]
    cross = opts.get("crossref") or {}
    names = {k: str(cross.get(f"{k}-prefix", cross.get(f"{k}-title", v))) for k, v in KINDS.items()}
    matches = [m for p in prose for m in DEFINITION.finditer(p)]
    heads = [m for m in matches if m.group("head")
             and not re.search(r"(^|\s)(\.unnumbered|-)(\s|$)", m.group("hattr") or "")]
    refs = [m.group("b") or m.group("c").lower() + m.group("rest")
            for p in prose for m in REFERENCE.finditer(p)]
    number_sections = opts.get("number-sections", any(r.startswith("sec-") for r in refs))
    top = min((len(m.group("hashes")) for m in heads), default=1)

    # pass 1: a number for every definition, in document order
    numbers, titles, assigned, counters, counts = {}, {}, [], [0] * 7, {"fig": 0, "tbl": 0}
    for m in matches:
        if m.group("head"):
            number = None
            if m in heads:
                level = len(m.group("hashes")) - top
                counters[level] += 1
                counters[level + 1:] = [0] * (6 - level)
                number = ".".join(str(c) for c in counters[:level + 1])
            if ident := re.search(r"#([\w-]+)", m.group("hattr") or ""):
                _define(numbers, ident.group(1), number)
                titles[ident.group(1)] = m.group("htext")
        else:
            ident = m.group("iid") or m.group("tid") or m.group("did")
            counts[ident[:3]] += 1
            number = str(counts[ident[:3]])
            _define(numbers, ident, number)
        assigned.append(number)
    missing = sorted({r for r in refs if r not in numbers})
    if missing:
        raise RenderError(f"unresolved cross-reference(s) {', '.join('@' + r for r in missing)}: no figure, "
                          f"table or section has that label (labels: {', '.join(sorted(numbers)) or 'none'})")
    assigned = iter(assigned)

    def definition(m):  # pass 2: numbered captions and headings
        number = next(assigned)
        if m.group("head"):
            if not number_sections or number is None:
                return m.group(0)
            attr = f" {{{m.group('hattr')}}}" if m.group("hattr") else ""
            return f"{m.group('hashes')} [{number}]{{.header-section-number}} {m.group('htext')}{attr}"
        group = "icap" if m.group("img") else "tcap" if m.group("tab") else "dcap"
        ident = m.group("iid") or m.group("tid") or m.group("did")
        prefix, cap = f"{names[ident[:3]]} {number}", m.group(group)
        start, end = m.start(group) - m.start(), m.end(group) - m.start()
        return m.group(0)[:start] + (f"{prefix}: {cap}" if cap else prefix) + m.group(0)[end:]

    def reference(m):
        ident = m.group("b") or m.group("c").lower() + m.group("rest")
        kind, number = ident[:3], numbers[ident]
        if kind == "sec" and (not number_sections or number is None):
            return f"[{titles[ident]}](#{ident})"
        return f"[{number if m.group('minus') else names[kind] + ' ' + number}](#{ident})"

    return STASHED.sub(lambda m: codes[int(m.group(1))], REFERENCE.sub(reference, DEFINITION.sub(definition, text)))


def _define(numbers: dict, ident: str, number) -> None:
    if ident in numbers:
        raise RenderError(f"label {ident!r} is defined twice")
    numbers[ident] = number


# ----------------------------------------------------------------------------- writers
def _pandoc(args: list, cwd: Path) -> None:
    import pypandoc

    # SOURCE_DATE_EPOCH: pandoc then writes fixed dates into zip-based formats (pptx)
    env = {**os.environ, "SOURCE_DATE_EPOCH": os.environ.get("SOURCE_DATE_EPOCH", "0")}
    # pandoc's default --columns (72), as under Quarto: pipe tables wider than that get the relative column
    # widths of their separator dashes (analysis.present.pipe_table sizes them by content)
    _run([pypandoc.get_pandoc_path(), "--from", "markdown-citations",
          f"--lua-filter={TEMPLATES / 'shortcode_escapes.lua'}", *map(str, args)], timeout=300, env=env, cwd=cwd)


def _run(cmd, timeout, **kwargs) -> None:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)
    except subprocess.TimeoutExpired:
        raise RenderError(f"{Path(cmd[0]).name} timed out after {timeout}s") from None
    if done.returncode:
        raise RenderError(f"{' '.join(map(str, cmd))} failed ({done.returncode}):\n{done.stderr[-4000:]}")


def _authors(opts: dict) -> list[str]:
    authors = opts.get("author") or []
    return [a.get("name", "") if isinstance(a, dict) else str(a)
            for a in (authors if isinstance(authors, list) else [authors])]


def _meta_file(opts: dict, tmp: Path, qmd: Path, fmt: str = "pdf", extra: dict | None = None) -> Path:
    meta = {k: opts[k] for k in ("title", "subtitle", "abstract", "lang") if opts.get(k)}
    meta["author"] = _authors(opts)
    if date := opts.get("date"):
        if str(date) in ("today", "now", "last-modified"):
            epoch = os.environ.get("SOURCE_DATE_EPOCH")
            date = (_dt.datetime.fromtimestamp(int(epoch), _dt.timezone.utc).date() if epoch
                    else _dt.date.today())
        meta["date"] = str(date)
        try:  # as Quarto shows a date in HTML ("December 6, 2026"); the PDF keeps 2026-12-06, as Quarto's does
            day = _dt.date.fromisoformat(str(date))
            if fmt == "html":
                meta["date"] = f"{day:%B} {day.day}, {day.year}"
        except ValueError:
            pass
    meta["pagetitle"] = str(opts.get("pagetitle") or opts.get("title") or qmd.stem)
    meta.update(extra or {})
    path = tmp / f"meta-{fmt}.yaml"
    path.write_text(yaml.safe_dump(meta, allow_unicode=True), encoding="utf-8")
    return path


def _toc(opts: dict) -> list:
    if not opts.get("toc"):
        return []
    return ["--toc", f"--toc-depth={opts.get('toc-depth', 3)}",
            "--metadata", f"toc-title={opts.get('toc-title', 'Table of contents')}"]


def _includes(opts: dict, qmd: Path, tmp: Path, fmt: str) -> list:
    """Quarto's ``include-in-header``: a list of file paths (relative to the qmd) and ``{text: ...}`` /
    ``{file: ...}`` entries, passed to pandoc as ``--include-in-header`` files, in order."""
    items = opts.get("include-in-header") or []
    args = []
    for k, item in enumerate(items if isinstance(items, list) else [items]):
        if isinstance(item, dict) and "text" in item:
            path = tmp / f"include-{fmt}-{k}.txt"
            path.write_text(str(item["text"]), encoding="utf-8")
        else:
            name = item.get("file") if isinstance(item, dict) else item
            path = (qmd.parent / str(name)).resolve()
            if not path.is_file():
                raise RenderError(f"include-in-header: {name} is not a file (relative to {qmd.parent})")
        args.append(f"--include-in-header={path}")
    return args


def _html(md: Path, target: Path, opts: dict, qmd: Path, tmp: Path, formats=()) -> None:
    # the other formats rendered beside the HTML are linked from the sidebar, as Quarto does
    others = [{"name": name, "href": f"{qmd.stem}.{FORMATS[fmt][0]}"} for fmt, name in (("pdf", "PDF"),)
              if fmt in formats]
    _pandoc([md, "--to", "html5", "--standalone", "--embed-resources", "--mathml",
             "--template", TEMPLATES / "report.html",
             "--metadata-file", _meta_file(opts, tmp, qmd, "html", {"other-formats": others} if others else None),
             "--css", TEMPLATES / "report.css",
             *_includes(opts, qmd, tmp, "html"), *_toc(opts), "--output", target], cwd=tmp)
    target.write_text(_table_boxes(target.read_text(encoding="utf-8")), encoding="utf-8")


TABLE = re.compile(r"<table(?P<attrs>[^>]*)>\s*(?:<caption>(?P<caption>.*?)</caption>)?(?P<rest>.*?</table>)", re.S)


def _table_boxes(html: str) -> str:
    """Each table in a box of its own that scrolls sideways when the table is wider than the page, with its
    caption above the box (so that it stays in view), and the table's id on the whole: Quarto's layout."""
    def box(m):
        attrs, caption = m.group("attrs"), m.group("caption")
        ident = re.search(r'\sid="[^"]*"', attrs)
        outer = ident.group(0) if ident else ""
        attrs = attrs.replace(outer, "") if ident else attrs
        head = f'<div class="table-caption">{caption}</div>\n' if caption is not None else ""
        return (f'<div{outer} class="table-float">\n{head}<div class="table-wrap">\n<table{attrs}>'
                f'{m.group("rest")}\n</div>\n</div>')
    return TABLE.sub(box, html)


def _pdf(md: Path, target: Path, opts: dict, qmd: Path, tmp: Path) -> None:
    import typst

    typ = tmp / f"{qmd.stem}.typ"
    margin = opts.get("margin", "2cm")
    if isinstance(margin, dict):
        margin = "(" + ", ".join(f"{k}: {v}" for k, v in margin.items()) + ")"
    names = "".join(f"{json.dumps(a, ensure_ascii=False)}, " for a in _authors(opts))  # a typst array
    variables = {"papersize": opts.get("papersize", "a4"), "margin-typst": margin,
                 "fontsize": opts.get("fontsize", "10.5pt"), "lang": opts.get("lang", "en"),
                 "author-names": f"({names})"}
    _pandoc([md, "--to", "typst", "--standalone", "--template", TEMPLATES / "report.typst",
             "--metadata-file", _meta_file(opts, tmp, qmd), *_includes(opts, qmd, tmp, "pdf"), *_toc(opts),
             *[f"--variable={k}={v}" for k, v in variables.items()], "--output", typ], cwd=tmp)
    try:  # root "/": markdown images have absolute paths; embedded fonts only: same PDF everywhere
        typst.compile(str(typ), output=str(target), root="/", ignore_system_fonts=True,
                      timestamp=int(os.environ.get("SOURCE_DATE_EPOCH", "0")))
    except typst.TypstError as exc:
        hints = "\n".join(getattr(exc, "hints", []) or [])
        raise RenderError(f"typst failed on {typ.name}: {exc}\n{hints}") from None


def _pptx(md: Path, target: Path, opts: dict, qmd: Path, tmp: Path) -> None:
    args = [md, "--to", "pptx", "--metadata-file", _meta_file(opts, tmp, qmd), "--output", target]
    if opts.get("reference-doc"):
        args += ["--reference-doc", (qmd.parent / opts["reference-doc"]).resolve()]
    if opts.get("slide-level"):
        args += [f"--slide-level={opts['slide-level']}"]
    _pandoc(args, cwd=tmp)
