"""Build ``reference.pptx`` (the slide master of ``slides.qmd``) from pandoc's default reference document.

    python analysis/present/templates/make_reference_pptx.py            # writes analysis/present/templates/reference.pptx
    python analysis/present/templates/make_reference_pptx.py --check    # exit 1 if the committed file differs

Starts from the file ``pandoc --print-default-data-file reference.pptx`` prints (pandoc of
``pypandoc_binary``) and changes only geometry and text sizes, with lxml on the XML parts:

- 16:9 slides, 10 x 5.625 in (PowerPoint's "On-screen Show (16:9)", pandoc's default size);
- titles 28 pt, left-aligned, in a 9 x 0.75 in box at the top (the title slide: 36 pt, centred);
- body text 18 pt at level 1, 16 pt at level 2, 14 pt below, with 6 / 3 pt before each paragraph;
- the content area 9 x 4.1 in (0.5 in margins; 1.05 to 5.15 in from the top), so a picture with a
  caption gets 9 x 3.54 in (pandoc gives a caption a 40 pt box below the picture);
  :data:`CONTENT` is what ``analysis.present.slides`` draws its figures for;
- the two-column layout ("Two Content"): two 4.4 x 4.1 in columns; the layouts pandoc falls back to
  ("Content with Caption", "Picture with Caption", "Comparison", "Section Header") get readable sizes
  (no text under 14 pt);
- the title slide shows the date in 14 pt below the subtitle instead of 9 pt in the bottom corner.

Colours, fonts (the Office theme: Calibri) and everything else stay pandoc's. The output is the same
bytes on every run for the same pandoc version: ZIP entries keep pandoc's order and get a fixed date.
"""
from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from lxml import etree

HERE = Path(__file__).resolve().parent
TARGET = HERE / "reference.pptx"

NS = {"a": "http://schemas.openxmlformats.org/drawingml/2006/main",
      "p": "http://schemas.openxmlformats.org/presentationml/2006/main"}
EMU = 914400  # per inch


def emu(inches: float) -> int:
    return int(round(inches * EMU))


#: slide size (inches)
SLIDE = (10.0, 5.625)
#: (left, top, width, height) in inches
TITLE = (0.5, 0.2, 9.0, 0.75)
CONTENT = (0.5, 1.05, 9.0, 4.1)
COLUMN_GAP = 0.2
#: font sizes (points)
TITLE_PT = 28
TITLE_SLIDE_PT = 36
BODY_PT = {1: 18, 2: 16}  # other levels: 14
SMALLEST_PT = 14
SPACE_BEFORE_PT = {1: 6, 2: 3}  # other levels: 2
#: left margin (bullet indent) per level, inches
INDENT = 0.3


def _q(tag: str) -> str:
    prefix, name = tag.split(":")
    return f"{{{NS[prefix]}}}{name}"


def _child(parent, tag: str, first: bool = False):
    """The child ``tag`` of ``parent``, created (at the front when ``first``) if missing."""
    found = parent.find(tag, NS)
    if found is None:
        found = etree.Element(_q(tag))
        if first:
            parent.insert(0, found)
        else:
            parent.append(found)
    return found


def _set_xfrm(sp, box) -> None:
    """Position and size of a shape (``p:sp``), in inches."""
    sppr = sp.find("p:spPr", NS)
    for old in sppr.findall("a:xfrm", NS):
        sppr.remove(old)
    xfrm = etree.Element(_q("a:xfrm"))
    etree.SubElement(xfrm, _q("a:off"), x=str(emu(box[0])), y=str(emu(box[1])))
    etree.SubElement(xfrm, _q("a:ext"), cx=str(emu(box[2])), cy=str(emu(box[3])))
    sppr.insert(0, xfrm)


def _level_size(level: int) -> int:
    return BODY_PT.get(level, SMALLEST_PT)


def _set_level(lvl_ppr, size_pt: float | None = None, space_pt: float | None = None, indent: float | None = None,
               align: str | None = None) -> None:
    """Size / space before / hanging indent / alignment of one ``a:lvlNpPr``."""
    if indent is not None:
        lvl_ppr.set("marL", str(emu(indent)))
        lvl_ppr.set("indent", str(-emu(INDENT)))
    if align is not None:
        lvl_ppr.set("algn", align)
    if space_pt is not None:
        for old in lvl_ppr.findall("a:spcBef", NS):
            lvl_ppr.remove(old)
        spc = etree.Element(_q("a:spcBef"))
        etree.SubElement(spc, _q("a:spcPts"), val=str(int(space_pt * 100)))
        # schema order: lnSpc, spcBef, spcAft, bullets..., defRPr
        lnspc = lvl_ppr.find("a:lnSpc", NS)
        lvl_ppr.insert(0 if lnspc is None else list(lvl_ppr).index(lnspc) + 1, spc)
    if size_pt is not None:
        defrpr = lvl_ppr.find("a:defRPr", NS)
        if defrpr is None:
            defrpr = etree.SubElement(lvl_ppr, _q("a:defRPr"))
        defrpr.set("sz", str(int(size_pt * 100)))


def _lst_style(sp):
    """The ``a:lstStyle`` of a shape's text body (created if missing)."""
    body = sp.find("p:txBody", NS)
    lst = body.find("a:lstStyle", NS)
    if lst is None:
        lst = etree.Element(_q("a:lstStyle"))
        body.insert(1, lst)
    return lst


def _lst_level(lst, level: int):
    """``a:lvl{level}pPr`` of a list style, created in order if missing."""
    tag = f"a:lvl{level}pPr"
    found = lst.find(tag, NS)
    if found is not None:
        return found
    found = etree.Element(_q(tag))
    later = [e for e in lst if e.tag.startswith(f"{{{NS['a']}}}lvl") and int(etree.QName(e).localname[3]) > level]
    if later:
        later[0].addprevious(found)
    else:
        lst.append(found)
    return found


def _placeholders(tree) -> list:
    return tree.findall(".//p:cSld/p:spTree/p:sp", NS)


def _ph(sp):
    ph = sp.find("p:nvSpPr/p:nvPr/p:ph", NS)
    return (ph.get("type", "obj"), ph.get("idx", "0")) if ph is not None else (None, None)


def _body_sizes(sp, sizes: dict[int, float] | None = None) -> None:
    """Give every level of a placeholder's own list style the body sizes (or ``sizes``); levels the
    placeholder does not style stay inherited from the master."""
    lst = _lst_style(sp)
    for level in range(1, 10):
        lvl = lst.find(f"a:lvl{level}pPr", NS)
        if lvl is None:
            continue
        size = (sizes or {}).get(level, _level_size(level))
        _set_level(lvl, size_pt=size)


# ----------------------------------------------------------------------------- parts
def edit_presentation(tree) -> None:
    size = tree.find("p:sldSz", NS)
    size.set("cx", str(emu(SLIDE[0])))
    size.set("cy", str(emu(SLIDE[1])))
    size.set("type", "screen16x9")


def edit_master(tree) -> None:
    for sp in _placeholders(tree):
        kind, _ = _ph(sp)
        if kind == "title":
            _set_xfrm(sp, TITLE)
        elif kind == "body":
            _set_xfrm(sp, CONTENT)
    styles = tree.find("p:txStyles", NS)
    title = styles.find("p:titleStyle/a:lvl1pPr", NS)
    _set_level(title, size_pt=TITLE_PT, align="l")
    body = styles.find("p:bodyStyle", NS)
    for level in range(1, 10):
        _set_level(body.find(f"a:lvl{level}pPr", NS), size_pt=_level_size(level),
                   space_pt=SPACE_BEFORE_PT.get(level, 2), indent=INDENT * level)


def edit_layout(tree) -> None:
    name = tree.find("p:cSld", NS).get("name")
    shapes = {_ph(sp): sp for sp in _placeholders(tree)}
    if name == "Title Slide":
        title = shapes[("ctrTitle", "0")]
        _set_xfrm(title, (0.75, 1.3, 8.5, 1.3))
        _set_level(_lst_level(_lst_style(title), 1), size_pt=TITLE_SLIDE_PT, align="ctr")
        _set_xfrm(shapes[("subTitle", "1")], (1.0, 2.7, 8.0, 1.25))
        date = shapes[("dt", "10")]
        _set_xfrm(date, (1.0, 4.05, 8.0, 0.5))
        _set_level(_lst_level(_lst_style(date), 1), size_pt=SMALLEST_PT, align="ctr")
    elif name == "Two Content":
        width = (CONTENT[2] - COLUMN_GAP) / 2
        left, top, _, height = CONTENT
        for idx, x in (("1", left), ("2", left + width + COLUMN_GAP)):
            sp = shapes[("obj", idx)]
            _set_xfrm(sp, (x, top, width, height))
            _body_sizes(sp)
    elif name == "Comparison":
        _body_sizes(shapes[("body", "1")], {1: 18, 2: 16})
        _body_sizes(shapes[("body", "3")], {1: 18, 2: 16})
        _body_sizes(shapes[("obj", "2")])
        _body_sizes(shapes[("obj", "4")])
    elif name in ("Content with Caption", "Picture with Caption"):
        _set_level(_lst_level(_lst_style(shapes[("title", "0")]), 1), size_pt=20)
        _body_sizes(shapes[("body", "2")], {1: 14})
        if ("obj", "1") in shapes:
            _body_sizes(shapes[("obj", "1")])
    elif name == "Section Header":
        _body_sizes(shapes[("body", "1")], {1: 18, 2: 16})


# ----------------------------------------------------------------------------- build
def pandoc_default() -> bytes:
    import pypandoc

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "default.pptx"
        subprocess.run([pypandoc.get_pandoc_path(), "-o", str(out), "--print-default-data-file", "reference.pptx"],
                       check=True, capture_output=True)
        return out.read_bytes()


def build(source: bytes) -> bytes:
    editors = {"ppt/presentation.xml": edit_presentation, "ppt/slideMasters/slideMaster1.xml": edit_master}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            edit = editors.get(info.filename) or (edit_layout if info.filename.startswith("ppt/slideLayouts/")
                                                  and info.filename.endswith(".xml") else None)
            if edit is not None:
                tree = etree.fromstring(data)
                edit(tree)
                data = etree.tostring(tree, xml_declaration=True, encoding="UTF-8", standalone=True)
            entry = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            zout.writestr(entry, data)
    return out.getvalue()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=TARGET)
    parser.add_argument("--check", action="store_true", help="compare with --out instead of writing it")
    args = parser.parse_args(argv)
    data = build(pandoc_default())
    if args.check:
        same = args.out.exists() and args.out.read_bytes() == data
        print(f"{args.out}: {'up to date' if same else 'differs from a fresh build'}")
        return 0 if same else 1
    args.out.write_bytes(data)
    print(f"wrote {args.out} ({len(data):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
