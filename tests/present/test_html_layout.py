"""The built-in renderer's HTML looks like Quarto's, measured in a real browser (Chromium headless) at a phone's
width (390 px) and a desktop's (1280 px): a sans-serif page with a reading column; the table of contents in a
sidebar on the desktop and between the title block and the text on the phone; no sideways scrolling of the
page, every table fitting or scrolling inside its own box; the title block of Quarto's page.

A script added to a copy of the page measures the laid-out page after it has loaded. The page is shown in a frame
of the width measured (headless Chromium's window is at least 500 px wide), which passes the result to the
outer page, whose DOM Chromium's --dump-dom prints. Without Chromium the tests skip, naming it.
"""
import html
import json
import re
import shutil
import subprocess

import pytest

from report_html import page, title_block

CHROMIUM = next((path for name in ("chromium", "chromium-browser", "google-chrome")
                 if (path := shutil.which(name))), None)
PROBE = """
<script>
window.addEventListener("load", () => {
  const box = e => e.getBoundingClientRect();
  const W = window.innerWidth;
  const scroller = t => { for (let e = t.parentElement; e; e = e.parentElement) {
      if (["auto", "scroll"].includes(getComputedStyle(e).overflowX)) return e; } return null; };
  const tables = [...document.querySelectorAll("body table")].map(t => {
    const s = scroller(t);
    return {fits: box(t).left >= -1 && box(t).right <= W + 1,
            scrolls: !!s && box(s).left >= -1 && box(s).right <= W + 1};
  });
  const toc = document.querySelector("nav#TOC") || document.createElement("nav"),
        main = document.querySelector("main") || document.body,
        header = document.querySelector("#title-block-header") || document.createElement("header");
  const style = getComputedStyle(document.body);
  const result = {
    width: W, pageWidth: document.documentElement.scrollWidth, font: style.fontFamily,
    fontSize: parseFloat(style.fontSize), tables: tables,
    figures: [...document.querySelectorAll("main figure img")].map(i => box(i).width / box(main).width),
    main: [box(main).left, box(main).right, box(main).top], header: [box(header).top, box(header).bottom],
    toc: [box(toc).left, box(toc).right, box(toc).top, box(toc).bottom], tocPosition: getComputedStyle(toc).position,
    tocShown: toc.isConnected && getComputedStyle(toc).display !== "none" && box(toc).width > 0,
  };
  parent.postMessage(JSON.stringify(result), "*");
});
</script>
"""
FRAME = """<!DOCTYPE html>
<html><body style="margin: 0">
<iframe src="{src}" style="width: {width}px; height: 900px; border: 0"></iframe>
<script>
window.addEventListener("message", event => {{
  const out = document.createElement("pre");
  out.id = "layout-probe";
  out.textContent = event.data;
  document.body.appendChild(out);
}});
</script>
</body></html>
"""


def measure(html_path, tmp_path, width: int) -> dict:
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium): the HTML layout is measured in it")
    probe = tmp_path / f"probe-{width}.html"
    probe.write_text(html_path.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    frame = tmp_path / f"frame-{width}.html"
    frame.write_text(FRAME.format(src=probe.name, width=width), encoding="utf-8")
    proc = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           f"--window-size={max(width, 500) + 20},1000", "--virtual-time-budget=30000",
                           "--dump-dom", frame.as_uri()], capture_output=True, text=True, timeout=300)
    found = re.search(r'<pre id="layout-probe">(.*?)</pre>', proc.stdout, re.S)
    assert found, proc.stderr[-2000:]
    return json.loads(html.unescape(found.group(1)))


@pytest.fixture(scope="module")
def layouts(simulated_report, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("layout")
    return {width: measure(simulated_report / "report.html", tmp, width) for width in (390, 1280)}


@pytest.mark.parametrize("width", [390, 1280])
def test_readable_sans_serif_page_without_sideways_scrolling(layouts, width):
    m = layouts[width]
    assert m["width"] == width
    families = [f.strip().strip('"').lower() for f in m["font"].split(",")]
    assert families[-1] == "sans-serif" and "serif" not in families and "times" not in families[0], m["font"]
    assert m["fontSize"] >= 16
    assert m["pageWidth"] <= width, m["pageWidth"]               # the page itself never scrolls sideways
    assert len(m["tables"]) >= 20
    assert all(t["fits"] or t["scrolls"] for t in m["tables"]), m["tables"]


def test_desktop_has_a_reading_column_and_a_sticky_sidebar(layouts):
    m = layouts[1280]
    left, right, top = m["main"]
    assert 600 <= right - left <= 860                               # about 50rem, not the whole window
    assert m["tocShown"] and m["tocPosition"] == "sticky"
    assert m["toc"][0] >= right                                     # on the right of the text, as Quarto's
    assert m["toc"][2] <= m["header"][1]                            # beside the title block, from the top


def test_phone_has_the_contents_between_title_block_and_text(layouts):
    m = layouts[390]
    assert m["tocShown"]
    assert m["header"][1] <= m["toc"][2] and m["toc"][3] <= m["main"][2]
    assert m["main"][0] >= 0 and m["main"][1] <= 390
    assert len(m["figures"]) >= 10 and min(m["figures"]) > 0.95     # figures use the phone's whole width


def test_title_block_as_quarto_shows_it(simulated_report, quarto_simulated_report):
    """Title, subtitle, and the date under a "Published" heading, formatted as Quarto formats it."""
    ours = (simulated_report / "report.html").read_text(encoding="utf-8")
    theirs = (quarto_simulated_report / "report.html").read_text(encoding="utf-8")
    assert title_block(page(simulated_report / "report.html")) == title_block(page(quarto_simulated_report /
                                                                                   "report.html"))
    date = re.search(r'class="date">([^<]+)<', ours).group(1).strip()
    assert re.fullmatch(r"[A-Z][a-z]+ \d{1,2}, \d{4}", date) and date in theirs
    assert "Published" in ours and "Published" in theirs
    assert 'href="report.pdf"' in ours and 'href="report.pdf"' in theirs    # "Other formats"
