"""What ``slides.qmd`` shows: short bullets from the results tables, and figures drawn for 16:9 slides.

The deck is rendered with ``templates/reference.pptx`` (made by ``templates/make_reference_pptx.py``):
10 x 5.625 in slides, titles 28 pt, body text 18 pt (level 1) and 16 pt (level 2) in a 9 x 4.1 in
content area. This module knows that geometry (:data:`BODY`, :data:`LEVELS`) and keeps every slide
within it:

- text: pure functions return paragraphs ``(level, text, bold)`` (level 0: a plain paragraph, 1 and 2:
  bullets) in plain text; :func:`markdown` escapes them (``analysis.present.escape.markdown``: nothing from the
  data becomes markup) and :func:`paginate` spreads paragraphs over as many slides as they need,
  measuring each line with DejaVu Sans (matplotlib's font, wider than the theme's Calibri, so a
  measured fit is a real one);
- labels: every coefficient is named by ``analysis.model.terms.describe_coefficient``, the label the report's
  tables, figures and sentences use ("Job: retired vs admin."), odds ratios of numeric variables per the
  specification's step (as ``analysis.present.narrative``), splines by their inter-quartile odds ratio
  (``tables["spline_effects"]``);
- figures: :func:`slide_figure_specs` gives ``name -> (function, args, kwargs)`` in the form of
  ``pipeline._figure_specs``, drawn at the size they are shown (:data:`FIGURE_SIZE`, the content area
  less pandoc's 40 pt caption box) with every text at least 12 pt; the forest plot shows the
  :data:`MAX_FOREST_ROWS` largest effects. ``pipeline.write_outputs`` draws them with the report's
  figures once the pipeline merges these specs; :func:`ensure_figures` draws any that a results folder
  lacks (same function, same bytes), so the deck renders from older results folders too.

Nothing here names a data set: every word comes from the specification.
"""
from __future__ import annotations

import functools
import math
import re
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.present.claims import interactions_in_brief
from analysis.present.escape import markdown as md
from analysis.present.formatting import fmt_int, fmt_or

# ----------------------------------------------------------------------------- geometry of the deck
#: content placeholder of templates/reference.pptx (width, height), inches
BODY = (9.0, 4.1)
#: PowerPoint's default text insets (left/right, top/bottom), inches
INSETS = (0.1, 0.05)
#: paragraph level -> (font size pt, left margin in, space before pt); level 0: a plain paragraph
#: (pandoc writes it with no indent and no bullet) in the level-1 size
LEVELS = {0: (18.0, 0.0, 6.0), 1: (18.0, 0.3, 6.0), 2: (16.0, 0.6, 3.0)}
LINE_SPACING = 1.2
#: pandoc's caption box below a picture is 40 pt high; one line of caption fits in it
CAPTION_PT = 18.0
CAPTION_BOX = 40 / 72
#: slide figures: drawn at the size they are shown (the content area less the caption box)
FIGURE_SIZE = (BODY[0], round(BODY[1] - CAPTION_BOX, 2))
#: the report's figures use 13-18 pt text (analysis.present.plots.STYLE); at this scale the smallest is 12 pt
FONT_SCALE = 12 / 13
MAX_FOREST_ROWS = 12
#: longest row label of the forest plot (characters; one line)
FOREST_LABEL_CHARS = 44
SIMULATED = "SIMULATED DATA \u2013 not real data."
FIGURES = ("slide_odds_ratios", "slide_roc", "slide_gains", "slide_lift")


# ----------------------------------------------------------------------------- measuring text
@functools.lru_cache(maxsize=None)
def _font(size_pt: float, bold: bool):
    from matplotlib import font_manager
    from PIL import ImageFont

    path = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans",
                                                             weight="bold" if bold else "normal"))
    return ImageFont.truetype(path, size=int(round(size_pt * 10)))  # 10 px per point: sub-point precision


def text_width(text: str, size_pt: float, bold: bool = False) -> float:
    """Width of ``text`` in points, set in DejaVu Sans at ``size_pt``."""
    return _font(size_pt, bold).getlength(text) / 10


def line_count(text: str, width_pt: float, size_pt: float, bold: bool = False) -> int:
    """Lines ``text`` takes when its words are wrapped at ``width_pt`` (a word wider than the line
    takes as many lines as its width needs)."""
    lines, current = 0, ""
    for word in text.split():
        trial = f"{current} {word}" if current else word
        if not current or text_width(trial, size_pt, bold) <= width_pt:
            current = trial
            continue
        lines += max(1, math.ceil(text_width(current, size_pt, bold) / width_pt))
        current = word
    if current:
        lines += max(1, math.ceil(text_width(current, size_pt, bold) / width_pt))
    return max(lines, 1)


def height(paragraphs, box=BODY) -> float:
    """Height in inches that ``paragraphs`` [(level, text, bold)] take in a text box ``box`` of the deck
    (insets, margins, line spacing and space before each paragraph as in the reference document)."""
    total = 2 * INSETS[1] * 72
    for level, text, bold in paragraphs:
        size, margin, before = LEVELS[level]
        width = (box[0] - 2 * INSETS[0] - margin) * 72
        total += before + line_count(text, width, size, bold) * LINE_SPACING * size
    return total / 72


def fits(paragraphs, box=BODY) -> bool:
    return height(paragraphs, box) <= box[1]


def caption_fits(text: str, width: float = BODY[0]) -> bool:
    """Whether a caption is one line in pandoc's caption box under a full-width picture."""
    return text_width(text, CAPTION_PT) <= (width - 2 * INSETS[0]) * 72


def paginate(groups, fixed=(), box=BODY) -> list[list]:
    """Split ``groups`` (lists of paragraphs that stay together) into pages that each fit ``box`` with
    the paragraphs ``fixed`` (the SIMULATED banner) at the top of every page. A group too tall for a
    page of its own gets a page of its own."""
    pages, page = [], list(fixed)
    for group in groups:
        if len(page) > len(fixed) and not fits(page + list(group), box):
            pages.append(page)
            page = list(fixed)
        page += list(group)
    if len(page) > len(fixed) or not pages:
        pages.append(page)
    return pages


def text_slides(title: str, groups, fixed=(), notes=None, box=BODY) -> str:
    """Markdown of as many slides titled ``title`` ("title (continued)" after the first) as ``groups``
    need (:func:`paginate`), each starting with ``fixed``; ``notes`` (one text or None per group) become
    the speaker notes of the slide its group is on. Everything from the data is escaped."""
    groups = [list(g) for g in groups]
    notes = list(notes) if notes is not None else [None] * len(groups)
    pages = paginate(groups, fixed, box)
    out, g = [], 0
    for i, page in enumerate(pages):
        out.append(f"## {md(title)}{' (continued)' if i else ''}\n\n{markdown(page)}")
        taken, said = len(page) - len(fixed), []
        while taken > 0 and g < len(groups):
            taken -= len(groups[g])
            if notes[g]:
                said.append(md(notes[g]))
            g += 1
        if said:
            out.append("::: notes\n" + "\n\n".join(said) + "\n:::\n")
    return "\n".join(out)


def markdown(paragraphs) -> str:
    """Pandoc markdown of paragraphs [(level, text, bold)], every text escaped."""
    out = []
    for level, text, bold in paragraphs:
        body = f"**{md(text)}**" if bold else md(text)
        out.append(body if level == 0 else f"{'    ' * (level - 1)}- {body}")
    # a blank line ends a plain paragraph; list items stay one list
    lines = []
    for (level, _, _), line in zip(paragraphs, out):
        if lines and (level == 0 or lines[-1][0] == 0):
            lines.append((None, ""))
        lines.append((level, line))
    return "\n".join(line for _, line in lines) + "\n"


def banner(simulated: bool) -> list:
    """The SIMULATED line at the top of every text slide made from simulated data."""
    return [(0, SIMULATED, True)] if simulated else []


def caption(text: str, simulated: bool, shorter=()) -> str:
    """A figure caption (``text``, else the first of ``shorter`` that fits on one line), prefixed with
    SIMULATED DATA for simulated data."""
    prefix = "SIMULATED DATA \u2013 " if simulated else ""
    for option in (text, *shorter):
        if caption_fits(prefix + option):
            return prefix + option
    return prefix + (shorter[-1] if shorter else text)


def first_sentence(text: str) -> tuple[str, str]:
    """(first sentence, the rest) of a generated sentence: split at the first ". " followed by a capital
    letter, so numbers (0.094) and abbreviations before lower-case words ("admin. vs") stay whole."""
    m = re.search(r"(?<=[.!?])\s+(?=[A-Z\u201c\"(])", text)
    return (text[:m.start()].strip(), text[m.end():].strip()) if m else (text.strip(), "")


# ----------------------------------------------------------------------------- effects
def effects(tables: dict, metrics: dict, spec) -> pd.DataFrame:
    """Every odds ratio the run claims (``analysis.present.claims``: single coefficients, numeric ones per the
    specification's step), with the claims' headline interval -- the same numbers as the report's conclusions
    and the workbook. Splines are not here: a curve is not one odds ratio (the claims state them apart).

    Columns ``key, label, odds_ratio, or_conf_low, or_conf_high, source, interval``; rows with a finite odds
    ratio and interval only."""
    from analysis.present.claims import claims as all_claims

    stated = tables["claims"] if "claims" in tables else all_claims(tables, metrics, spec)
    ors = stated[stated["topic"] == "odds ratio"]
    out = pd.DataFrame({"key": ors["term"].astype(str), "label": ors["label"], "odds_ratio": ors["estimate"],
                        "or_conf_low": ors["conf_low"], "or_conf_high": ors["conf_high"], "source": "coefficient",
                        "interval": ors["interval"]})
    finite = np.isfinite(out[["odds_ratio", "or_conf_low", "or_conf_high"]].astype(float)).all(axis=1)
    return out[finite & (out["odds_ratio"] > 0)].reset_index(drop=True)


def curve_labels(tables: dict) -> list[str]:
    """The labels of the claims' curves (spline variables), for the slide that lists effects."""
    stated = tables.get("claims")
    if stated is None:
        return []
    return list(stated.loc[stated["topic"] == "curve", "label"])


def largest(effects_: pd.DataFrame, k: int = MAX_FOREST_ROWS) -> pd.DataFrame:
    """The ``k`` effects furthest from an odds ratio of 1 (by |log OR|), largest odds ratio first."""
    size = np.abs(np.log(effects_["odds_ratio"].astype(float)))
    top = effects_.assign(_size=size).sort_values("_size", ascending=False, kind="stable").head(k)
    return top.drop(columns="_size").sort_values("odds_ratio", ascending=False, kind="stable").reset_index(drop=True)


def or_text(row) -> str:
    """ "OR 2.24 (1.80 to 2.78)": the report's rounding (``analysis.present.fmt_or``)."""
    return f"OR {fmt_or(row['odds_ratio'])} ({fmt_or(row['or_conf_low'])} to {fmt_or(row['or_conf_high'])})"


def direction_paragraphs(effects_: pd.DataFrame, spec, k: int = 4, curves=()) -> list:
    """Bullets of what goes with higher and with lower odds: the ``k`` strongest effects whose headline
    interval (the claims', named in the heading) lies above 1, those below 1, how many include 1, and the
    variables that enter as curves."""
    above = effects_[effects_["or_conf_low"] > 1].sort_values("odds_ratio", ascending=False, kind="stable")
    below = effects_[effects_["or_conf_high"] < 1].sort_values("odds_ratio", kind="stable")
    unclear = len(effects_) - len(above) - len(below)
    kind = str(effects_["interval"].iloc[0]) if "interval" in effects_ and len(effects_) else "95% CI"
    out = []
    for rows, head in ((above, f"Higher odds of {spec.response.outcome} ({kind} above 1)"),
                       (below, f"Lower odds ({kind} below 1)")):
        if not len(rows):
            continue
        shown = f" (top {k} of {len(rows)})" if len(rows) > k else ""
        out.append((1, f"{head}{shown}:", False))
        out += [(2, f"{r['label']}: {or_text(r)}", False) for _, r in rows.head(k).iterrows()]
    if not out:
        out.append((1, "No odds ratio has a 95% CI that excludes 1.", False))
    if unclear and (len(above) or len(below)):
        out.append((1, f"{unclear} more with an interval that includes 1 (all in the report).", False))
    if curves:
        out.append((1, "Curves, not one odds ratio: " + ", ".join(curves) + " (see the report's effect curves).",
                    False))
    return out


def fit_direction(effects_: pd.DataFrame, spec, fixed=(), box=BODY, most: int = 4, curves=()) -> list:
    """:func:`direction_paragraphs` with as many effects per direction (``most`` down to 1) as fit one slide."""
    for k in range(most, 0, -1):
        paragraphs = list(fixed) + direction_paragraphs(effects_, spec, k, curves)
        if fits(paragraphs, box):
            return paragraphs
    return paragraphs


# ----------------------------------------------------------------------------- text slides
def data_paragraphs(tables: dict, metrics: dict, spec) -> list:
    """The data slide: source and file, rows used and excluded, events, the split, the final model."""
    from analysis.present.display import sentence
    from analysis.present.labels import describe_term

    src = metrics["data"]
    out = [(1, f"Source: {spec.source or spec.name} (file {src['file']})", False)]
    used, read = int(src["rows_used"]), int(src.get("rows_read", src["rows_used"]))
    if read > used:
        out.append((1, f"{fmt_int(used)} {spec.rows} used; {fmt_int(read - used)} of the {fmt_int(read)} rows read "
                       "were excluded", False))
    balance = sentence(tables, "eda_sentences", "class_balance")
    out.append((1, balance or f"{fmt_int(used)} {spec.rows} used", False))
    split = tables["split"].set_index("sample")
    if "test" in split.index and split.loc["test", "rows"] > 0:
        out.append((1, f"Model fitted on {fmt_int(split.loc['train', 'rows'])} {spec.rows} (training sample), "
                       f"checked on the other {fmt_int(split.loc['test', 'rows'])} (test sample)", False))
    else:
        out.append((1, f"Model fitted and checked on all {fmt_int(split.loc['train', 'rows'])} {spec.rows} "
                       "(no test sample)", False))
    labels = [describe_term(t, spec) for t in metrics["selected_terms"]]
    out.append((1, "Final model: " + ", ".join(labels), False))
    return out


def conclusion_groups(tables: dict) -> list[list]:
    """Conclusions as groups of one bullet each: who scores highest, how well the model ranks, how well it is
    calibrated (the miscalibrated groups named on the slide, not in its notes), the interactions and the
    leakage check when there are, and the advice that follows the accuracy sentence. The interactions are
    one short bullet naming them (``claims.interactions_in_brief``); their tests and odds ratios within levels are
    the speaker notes (:func:`conclusion_notes`) and the report's interactions section."""
    return [[(1, text, False)] for text, _ in _conclusions(tables)]


def conclusion_notes(tables: dict) -> list[str | None]:
    """The speaker notes of :func:`conclusion_groups`, one per group: the whole interactions sentence."""
    return [note for _, note in _conclusions(tables)]


def _conclusions(tables: dict) -> list[tuple[str, str | None]]:
    from analysis.present.display import sentence

    out = []
    for topic in ("who", "quality", "calibration", "interactions", "leakage"):
        s = sentence(tables, "conclusions", topic)
        if s and topic == "interactions":
            brief = interactions_in_brief(tables.get("claims"))
            out.append((f"{brief} The odds ratios within levels are in the report." if brief else first_sentence(s)[0],
                        s))
        elif s:
            out.append((s, None))
    accuracy = sentence(tables, "conclusions", "accuracy")
    if accuracy:
        _, rest = first_sentence(accuracy)
        advice = first_sentence(rest)[0] if rest else ""
        if advice:
            out.append((advice, None))
    return out


def limitation_items(tables: dict) -> list[tuple[str, str]]:
    """Each limitation as (its first sentence, the rest): the first is the slide bullet, the rest the
    speaker notes."""
    rows = tables.get("limitations")
    if rows is None or not len(rows):
        return []
    return [first_sentence(str(s)) for s in rows["sentence"]]


# ----------------------------------------------------------------------------- figures
def _short_label(text: str, width: int = FOREST_LABEL_CHARS) -> str:
    """A forest-plot row label on one line (rows are one line apart): longer than ``width`` characters, its
    middle gives way to an ellipsis, keeping the variable and the comparison group at the end
    ("Job: a very long lev … vs technician"). The full label is in the bullets and the report."""
    text = " ".join(str(text).split())
    if len(text) <= width:
        return text
    tail = (width - 3) // 2
    return text[:width - 3 - tail].rstrip() + " … " + text[-tail:].lstrip()


def _finish(fig, simulated: bool = False, legend_outside: bool = False, figure_legend_left: bool = False):
    """Slide finish of a report figure: no axes title (the slide has one); optionally the axes legend
    beside the plot, or the figure legend at the lower left; the SIMULATED stamp at the top right
    (``plots.mark_simulated``, which ``plots.draw_and_save`` applies again to the same effect) before the
    axis labels that would not fit are broken into lines (:func:`_fit_labels`)."""
    import matplotlib as mpl

    from analysis.present import plots

    with mpl.rc_context(plots.STYLE):
        if simulated:
            plots.mark_simulated(fig)
        for ax in fig.axes:
            ax.set_title("")
            legend = ax.get_legend()
            if legend_outside and legend is not None and legend.get_texts():
                ax.legend(handles=legend.legend_handles, labels=[t.get_text() for t in legend.get_texts()],
                          loc="center left", bbox_to_anchor=(1.02, 0.5),
                          fontsize=legend.get_texts()[0].get_fontsize())
        if figure_legend_left and fig.legends:
            old = fig.legends[0]
            texts = old.get_texts()
            fig.legends.remove(old)
            fig.legend(handles=old.legend_handles, labels=[t.get_text() for t in texts], loc="outside lower left",
                       ncols=len(texts), fontsize=texts[0].get_fontsize() if texts else None)
        _fit_labels(fig)
    return fig


#: an axis label, centred on its axes, must stay this far inside the figure (share of the room to the edge)
LABEL_ROOM = 0.97
#: a y-axis label may be this much longer than its axis
Y_LABEL_OVERHANG = 1.1


def _fit_labels(fig, rounds: int = 3) -> None:
    """Break an axis label into 2 to 4 lines when, centred on its axes, it would run past the figure's
    edge (times :data:`LABEL_ROOM`), or a y label is longer than :data:`Y_LABEL_OVERHANG` times its axis;
    an x label may be longer than its axis where the figure has room."""
    for _ in range(rounds):
        fig.draw_without_rendering()
        renderer = fig._get_renderer()
        changed = False
        for ax in fig.axes:
            box = ax.get_window_extent(renderer)
            for label, centre, total, own in ((ax.xaxis.label, (box.x0 + box.x1) / 2, fig.bbox.width, math.inf),
                                              (ax.yaxis.label, (box.y0 + box.y1) / 2, fig.bbox.height,
                                               box.height * Y_LABEL_OVERHANG)):
                text = label.get_text()
                if not text.strip():
                    continue
                extent = label.get_window_extent(renderer)
                room = min(2 * min(centre, total - centre) * LABEL_ROOM, own)
                lines = text.count("\n") + 1
                words = text.split()
                if max(extent.width, extent.height) <= room or lines >= 4 or len(words) <= lines:
                    continue
                label.set_text(_lines(" ".join(words), lines + 1))
                changed = True
        if not changed:
            break
    fig.draw_without_rendering()


def _lines(text: str, n: int) -> str:
    """``text`` on ``n`` lines: two as :func:`_break`; more: a parenthesis starts a line of its own
    ("True-positive rate" / "(% of events" / "flagged)"), the rest wrapped to lines of about equal length."""
    if n == 2:
        return _break(text)
    head, paren, tail = text.partition(" (")
    if paren and tail and len(head.split()) <= 3:
        return head + "\n" + _balanced("(" + tail, n - 1)
    return _balanced(text, n)


def _balanced(text: str, n: int) -> str:
    width = max(len(w) for w in text.split())
    while len(textwrap.wrap(text, width)) > n:
        width += 1
    return "\n".join(textwrap.wrap(text, width))


def _break(text: str) -> str:
    """``text`` on two lines: at a space after ";" or "," or before "(" in its middle half if there is
    one (the one nearest the middle), else at the space nearest the middle."""
    spaces = [i for i, ch in enumerate(text) if ch == " "]
    middle = len(text) / 2
    natural = [i for i in spaces if abs(i - middle) <= len(text) / 4
               and (text[i - 1] in ";," or text[i + 1:i + 2] == "(")]
    cut = min(natural or spaces, key=lambda i: abs(i - middle))
    return text[:cut] + "\n" + text[cut + 1:]


def forest_figure(rows: pd.DataFrame, words, simulated=False, figsize=FIGURE_SIZE, font_scale=FONT_SCALE):
    """The forest plot of ``rows`` (:func:`largest`) for a slide."""
    from analysis.present import plots

    labels = {k: _short_label(label) for k, label in zip(rows["key"], rows["label"])}
    table = rows.rename(columns={"key": "term"})
    fig = plots.plot_odds_ratios(table, labels=labels, sort=True, title="", words=words, figsize=figsize,
                                 font_scale=font_scale)
    return _finish(fig, simulated, figure_legend_left=True)


def roc_figure(curves: dict, aucs: dict, words, simulated=False, figsize=FIGURE_SIZE, font_scale=FONT_SCALE):
    """ROC curves (square axes) with the legend beside them."""
    from analysis.present import plots

    fig = plots.plot_roc(curves, aucs, title="", words=words, figsize=figsize, font_scale=font_scale)
    return _finish(fig, simulated, legend_outside=True)


def gains_figure(gains: pd.DataFrame, words, simulated=False, figsize=FIGURE_SIZE, font_scale=FONT_SCALE):
    from analysis.present import plots

    fig = plots.plot_gains(gains, words=words, figsize=figsize, font_scale=font_scale)
    return _finish(fig, simulated, legend_outside=True)


def lift_figure(gains: pd.DataFrame, simulated=False, figsize=FIGURE_SIZE, font_scale=FONT_SCALE):
    from analysis.present import plots

    fig = plots.plot_lift(gains, title="", figsize=figsize, font_scale=font_scale)
    return _finish(fig, simulated)


def slide_figure_specs(tables: dict, metrics: dict, spec, max_rows: int = MAX_FOREST_ROWS) -> dict:
    """name -> (plot function, args, kwargs) of the slides' figures, as ``pipeline._figure_specs``; drawn
    from the results tables (the same in memory and read back from a results folder)."""
    from analysis.present.plots import Words

    words = Words.from_spec(spec)
    roc = tables["roc_curve"]
    curves = {str(name): frame.drop(columns="sample").reset_index(drop=True)
              for name, frame in roc.groupby("sample", sort=False)}
    aucs = {name: metrics[name]["auc"] for name in curves if name in metrics}
    simulated = {"simulated": bool(metrics["data"].get("simulated"))}
    return {
        "slide_odds_ratios": (forest_figure, (largest(effects(tables, metrics, spec), max_rows), words), simulated),
        "slide_roc": (roc_figure, (curves, aucs, words), simulated),
        "slide_gains": (gains_figure, (tables["gains"], words), simulated),
        "slide_lift": (lift_figure, (tables["gains"],), simulated),
    }


def ensure_figures(results) -> list[Path]:
    """Draw the slide figures a results folder (``analysis.results.RunResults``) lacks, as
    ``pipeline.write_outputs`` draws them (marked when the data are simulated); return the paths drawn."""
    from analysis.present import plots

    directory = Path(results.directory) / "figures"
    missing = [n for n in FIGURES if not (directory / f"{n}.png").exists()]
    if not missing:
        return []
    specs = slide_figure_specs(results.tables, results.metrics, results.spec)
    drawn = []
    for name in missing:
        function, args, kwargs = specs[name]
        fig = function(*args, **kwargs)
        if results.simulated:  # as plots.draw_and_save: the figure functions have stamped it already
            plots.mark_simulated(fig)
        drawn += plots.save_figure(fig, directory, name)
    return drawn


def forest_caption(effects_: pd.DataFrame, simulated: bool, max_rows: int = MAX_FOREST_ROWS) -> str:
    n = len(effects_)
    kind = str(effects_["interval"].iloc[0]).split(",")[0] if "interval" in effects_ and n else "95% CIs"
    if n > max_rows:
        return caption(f"The {max_rows} largest of {n} odds ratios, with {kind}s (log scale)", simulated,
                       (f"The {max_rows} largest of {n} odds ratios ({kind}s)",
                        f"{max_rows} largest of {n} odds ratios"))
    return caption(f"All {n} odds ratios, with {kind}s (log scale)", simulated, (f"All {n} odds ratios",))


def figure_markdown(path: str, caption_: str) -> str:
    """A picture with its caption (escaped); no width: pandoc fits it to the content area, which the
    slide figures are drawn for."""
    return f"\n![{md(caption_)}]({path})\n"
