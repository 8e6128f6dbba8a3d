"""Every figure of the report, as matplotlib Figures built from tidy tables.

Each ``plot_*`` function takes a tidy table (or, for the exploratory figures, the cleaned data
frame) and returns a :class:`matplotlib.figure.Figure`. Figures are created with
``Figure(...)`` directly, never through ``pyplot``, so nothing is kept in a global figure
registry and no GUI backend is needed. :func:`save_figure` writes ``name.png`` (200 dpi) and
``name.svg`` so that writing the same figure twice, or rebuilding it from the same data, gives
identical bytes.

Style (:data:`STYLE`): DejaVu Sans (shipped with matplotlib, so output does not depend on
system fonts), 15-18 pt text on a 10 x 6 inch canvas so labels stay legible on a slide, no top
or right spines, no background grid, and the Okabe-Ito colour-blind-safe palette
(:data:`PALETTE`); the correlation heatmap uses ColorBrewer's diverging RdBu, centred at 0.
Rates and shares are shown in per cent.

Tests (``tests/present/test_plots.py``) check that each function returns a Figure with the expected
number of bars / lines / points, that the plotted data equal the input table, the axis
labels and titles, and that :func:`save_figure` output is byte-for-byte reproducible.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from dataclasses import dataclass

from analysis.evaluate import explore
from analysis.present.labels import describe_term
from analysis.spec import in_sentence

# --------------------------------------------------------------------------------------------
# style

#: Okabe & Ito (2008) colour-blind-safe palette
PALETTE = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "vermillion": "#D55E00",
    "green": "#009E73",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
    "grey": "#7F7F7F",
}
CYCLE = [PALETTE[c] for c in ("blue", "vermillion", "green", "orange", "purple", "sky")]

#: rcParams applied while a figure is built and while it is saved
STYLE = {
    "font.family": ["DejaVu Sans"],
    "font.size": 15,
    "axes.titlesize": 18,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.titlepad": 12,
    "axes.labelsize": 16,
    "xtick.labelsize": 14,
    "ytick.labelsize": 14,
    "legend.fontsize": 14,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "axes.prop_cycle": mpl.cycler(color=CYCLE),
    "axes.unicode_minus": True,
    "lines.linewidth": 2.5,
    "errorbar.capsize": 5,
    "image.cmap": "RdBu_r",
    "svg.fonttype": "path",
    "svg.hashsalt": "analysis-report",
    # text is literal: a "$" in a level or label from the data never starts matplotlib mathtext
    "text.parse_math": False,
    "pdf.fonttype": 42,
}

FIGSIZE = (10, 6)
DPI = 200

@dataclass(frozen=True)
class Words:
    """The words a figure uses for the rows and the outcome (``Words.from_spec``); neutral defaults."""

    rows: str = "rows"                  # "customers"
    event_group: str = "events"         # "coupon users"
    non_event_group: str = "non-events"  # "non-users"
    rate: str = "event rate"            # "coupon-use rate"
    outcome: str = "the event"          # "using a coupon"

    @classmethod
    def from_spec(cls, spec) -> "Words":
        r = spec.response
        return cls(rows=spec.rows, event_group=r.event_group, non_event_group=r.non_event_group, rate=r.rate,
                   outcome=r.outcome)

    @property
    def rate_axis(self) -> str:
        return f"{self.rate[:1].upper()}{self.rate[1:]} (%)"


WORDS = Words()


def _styled(func):
    """Build the figure under :data:`STYLE` and lay it out once, so every text exists.

    Every styled function also takes the keyword ``font_scale`` (default 1: the figure as designed):
    every text of the finished figure (titles, labels, tick labels, legends, annotations) is multiplied
    by it, e.g. for a figure drawn at the size it is shown on a slide (``analysis.present.slides``)."""
    @functools.wraps(func)
    def wrapper(*args, font_scale: float = 1.0, **kwargs):
        with mpl.rc_context(STYLE):
            fig = func(*args, **kwargs)
            fig.draw_without_rendering()
            if font_scale != 1.0:
                _scale_fonts(fig, font_scale)
                fig.draw_without_rendering()
        return fig
    return wrapper


def _scale_fonts(fig: Figure, scale: float) -> None:
    """Multiply the size of every text of a laid-out figure by ``scale`` (tick labels through the axis'
    tick parameters, so that ticks made later get the same size)."""
    from matplotlib.text import Text

    texts = fig.findobj(Text)  # first: walking the axes may add ticks, which the loop below then resizes
    ticks = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            # every tick the axis holds (it keeps more than it shows): set_tick_params resizes them all
            for which, found in (("major", axis.majorTicks), ("minor", axis.minorTicks)):
                if found:
                    axis.set_tick_params(which=which, labelsize=found[0].label1.get_fontsize() * scale)
                    ticks.update(id(label) for tick in found for label in (tick.label1, tick.label2))
    for text in texts:
        if id(text) not in ticks:
            text.set_fontsize(text.get_fontsize() * scale)


def _new_figure(figsize=FIGSIZE, **kwargs) -> tuple[Figure, object]:
    fig = Figure(figsize=figsize, layout="constrained")
    ax = fig.add_subplot(**kwargs)
    return fig, ax


def _pct_axis(axis):
    """Tick labels as per cent with as many decimals as each tick needs (2.5%, 10%)."""
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{round(100 * v, 6):g}%"))


#: white box behind value labels so reference lines do not run through the digits
_LABEL_BOX = dict(facecolor="white", edgecolor="none", pad=1.0)


def _fmt_pct(x: float, decimals: int = 1) -> str:
    return f"{100 * x:.{decimals}f}%"


def _require_columns(table: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise KeyError(f"{what} table lacks columns {missing}; has {list(table.columns)}")


# --------------------------------------------------------------------------------------------
# exploratory figures


@_styled
def plot_rate(
    table: pd.DataFrame,
    *,
    title: str,
    xlabel: str,
    level_labels: Mapping | None = None,
    overall_rate: float | None = None,
    sort: bool = False,
    horizontal: bool = False,
    colors: Sequence[str] | None = None,
    figsize=None,
    words: Words = WORDS,
) -> Figure:
    """Bar chart of an event rate per level with its 95% interval as error bars.

    ``table`` has the columns of :func:`analysis.evaluate.explore.rate_by`
    (``level, n, events, rate, conf_low, conf_high``). Each bar is labelled with its rate, and
    each level with its ``n``. ``sort=True`` orders levels by rate (highest first; top-down
    when ``horizontal``). ``overall_rate`` adds a dashed reference line. ``colors`` gives one
    colour per row of ``table`` (default: all blue).
    """
    _require_columns(table, explore.RATE_COLUMNS, "rate")
    t = table.reset_index(drop=True).copy()
    t["_color"] = list(colors) if colors is not None else PALETTE["blue"]
    if sort:
        t = t.sort_values("rate", ascending=False, kind="stable").reset_index(drop=True)
    labels = [str(level_labels.get(lvl, lvl)) if level_labels else str(lvl) for lvl in t["level"]]
    sep = " " if horizontal else "\n"
    ticklabels = [f"{lab}{sep}(n = {n:,})" for lab, n in zip(labels, t["n"])]
    err = np.clip(np.vstack([t["rate"] - t["conf_low"], t["conf_high"] - t["rate"]]), 0, None)  # rounding at 0 and 1
    n_bars = len(t)
    if figsize is None:
        figsize = (10, max(6, 0.55 * n_bars + 1.8)) if horizontal else FIGSIZE
    fig, ax = _new_figure(figsize)
    pos = np.arange(n_bars)
    top = np.nanmax(t["conf_high"]) if n_bars else 1.0
    top = top if np.isfinite(top) and top > 0 else 1.0
    if horizontal:
        ax.barh(pos, t["rate"], color=t["_color"], height=0.7, xerr=err,
                error_kw=dict(ecolor=PALETTE["black"], elinewidth=1.5, capsize=4))
        ax.set_yticks(pos, ticklabels)
        ax.invert_yaxis()
        ax.set_ylabel(xlabel)
        ax.set_xlabel(words.rate_axis)
        _pct_axis(ax.xaxis)
        ax.set_xlim(0, top * 1.22)
        for p, hi, r in zip(pos, t["conf_high"], t["rate"]):
            if np.isfinite(r):
                ax.text(hi + top * 0.015, p, _fmt_pct(r), va="center", ha="left", fontsize=14,
                        bbox=_LABEL_BOX)
    else:
        ax.bar(pos, t["rate"], color=t["_color"], width=0.65, yerr=err,
               error_kw=dict(ecolor=PALETTE["black"], elinewidth=1.5, capsize=6))
        ax.set_xticks(pos, ticklabels)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(words.rate_axis)
        _pct_axis(ax.yaxis)
        ax.set_ylim(0, top * 1.18)
        for p, hi, r in zip(pos, t["conf_high"], t["rate"]):
            if np.isfinite(r):
                ax.text(p, hi + top * 0.02, _fmt_pct(r), va="bottom", ha="center", fontsize=14,
                        bbox=_LABEL_BOX)
    handles = [Line2D([], [], color=PALETTE["black"], marker="|", markersize=14, lw=1.5,
                      label="95% Wilson interval")]
    if overall_rate is not None:
        line = ax.axvline if horizontal else ax.axhline
        line(overall_rate, color=PALETTE["grey"], ls="--", lw=1.8, zorder=0)
        handles.append(Line2D([], [], color=PALETTE["grey"], ls="--", lw=1.8,
                              label=f"All {words.rows} ({_fmt_pct(overall_rate)})"))
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
    ax.set_title(title)
    return fig


def plot_rate_by(df: pd.DataFrame, column: str, response: str, *, weights=None,
                 **kwargs) -> Figure:
    """Event rate by ``column`` (a categorical or 0/1 variable), drawn with :func:`plot_rate`;
    keyword arguments (title, xlabel, level_labels, horizontal, sort, words) are passed on. The
    dashed line is the overall rate. ``df`` may be rows, weighted rows (``weights``) or a
    covariate-pattern table (see :func:`analysis.evaluate.explore.weighted_rows`); the figure is the same
    (tested: identical PNG bytes from rows and from patterns).
    """
    options = {"title": f"Event rate by {column}", "xlabel": column}
    options.setdefault("overall_rate", explore.overall_rate(df, response, weights))
    options.update(kwargs)
    return plot_rate(explore.rate_by(df, column, response, weights=weights), **options)


def plot_rate_by_group(
    df: pd.DataFrame,
    edges: Sequence[float],
    column: str,
    response: str,
    *,
    weights=None,
    **kwargs,
) -> Figure:
    """Event rate by groups of a numeric variable (:func:`analysis.evaluate.explore.binned_rates` with ``edges``),
    the open-ended last group ("60+") in orange, other groups blue; dashed line = overall rate. Rows,
    weighted rows or patterns, as :func:`plot_rate_by` (tested: identical PNG bytes)."""
    table = explore.binned_rates(df, edges=edges, column=column, response=response, weights=weights)
    colors = [PALETTE["orange"] if str(lvl).endswith("+") else PALETTE["blue"]
              for lvl in table["level"]]
    options = dict(title=f"Event rate by {column} group", xlabel=f"{column} group",
                   overall_rate=explore.overall_rate(df, response, weights), colors=colors)
    options.update(kwargs)
    return plot_rate(table, **options)


@_styled
def plot_distribution(
    df: pd.DataFrame,
    response: str,
    mode: str = "density",
    column: str = "x",
    binwidth: float = 1,
    mark: float | None = None,
    weights=None,
    label: str | None = None,
    unit: str = "",
    units: str = "",
    words: Words = WORDS,
) -> Figure:
    """Distribution of a numeric variable among rows with and without the event.

    ``mode="density"``: two step histograms, each normalised to its own group (share of the
    group per bin, %), so the shapes can be compared despite 12% events. ``mode="stacked"``:
    counts per bin, users stacked on non-users. Bins are ``binwidth`` years wide, centred on
    whole years for integer ages. ``mark`` draws a dotted vertical line (e.g. at 60).
    ``df`` may be rows, weighted rows (``weights``) or a covariate-pattern table
    (:func:`analysis.evaluate.explore.weighted_rows`): the histograms count rows (weights summed per
    bin, whole numbers), so the figure is the same (tested: identical PNG bytes).
    """
    if mode not in ("density", "stacked"):
        raise ValueError("mode must be 'density' or 'stacked'")
    rows = explore.weighted_rows(df, response, weights)
    x = rows.frame[column].to_numpy(dtype="float64")
    y, w = rows.y, rows.w
    lo = math.floor(np.nanmin(x)) - 0.5 * binwidth if binwidth == 1 else math.floor(np.nanmin(x))
    hi = np.nanmax(x) + binwidth
    edges = np.arange(lo, hi + binwidth, binwidth)
    # counts of rows per bin: weights summed (exact: whole numbers far below 2**53), as int64
    counts = {k: np.rint(np.histogram(x[y == k], bins=edges, weights=w[y == k])[0]).astype("int64")
              for k in (0, 1)}
    label = label or column
    names = {0: words.non_event_group[:1].upper() + words.non_event_group[1:],
             1: words.event_group[:1].upper() + words.event_group[1:]}
    bin_name = f"{binwidth:g}-{unit} bin" if unit else f"bin of width {binwidth:g}"
    colors = {0: PALETTE["blue"], 1: PALETTE["vermillion"]}
    fig, ax = _new_figure()
    if mode == "density":
        for k in (0, 1):
            total = counts[k].sum()
            share = counts[k] / total if total else counts[k] * 0.0
            ax.stairs(share, edges, color=colors[k], lw=2.2,
                      label=f"{names[k]} (n = {total:,})",
                      fill=(k == 0), alpha=0.35 if k == 0 else 1.0)
        ax.set_ylabel(f"Share of group per {bin_name} (%)")
        _pct_axis(ax.yaxis)
        title = f"{label} distribution of {words.event_group} and {words.non_event_group}"
    else:
        ax.stairs(counts[0], edges, color=colors[0], fill=True,
                  label=f"{names[0]} (n = {counts[0].sum():,})")
        ax.stairs(counts[0] + counts[1], edges, baseline=counts[0], color=colors[1], fill=True,
                  label=f"{names[1]} (n = {counts[1].sum():,})")
        ax.set_ylabel(f"{words.rows[:1].upper()}{words.rows[1:]} per {bin_name}")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        title = f"{label} distribution, by outcome"
    if mark is not None:
        ax.axvline(mark, color=PALETTE["black"], ls=":", lw=1.8)
        ax.text(mark - 0.8, 0.97, f"{in_sentence(label)} {mark:g}", transform=ax.get_xaxis_transform(),
                va="top", ha="right", fontsize=14)
    ax.set_xlim(edges[0], edges[-1])
    ax.set_ylim(bottom=0)
    ax.set_xlabel(f"{label} ({units})" if units else label)
    ax.set_title(title)
    ax.legend(loc="upper right")
    return fig


@_styled
def plot_correlation_heatmap(
    corr: pd.DataFrame,
    labels: Mapping[str, str] | None = None,
    triangle: bool = True,
    vmax: float | None = None,
    decimals: int = 2,
) -> Figure:
    """Annotated heatmap of a correlation matrix (:func:`analysis.evaluate.explore.correlations`, which gives
    the same matrix, bit for bit, from rows, weighted rows or a covariate-pattern table; tested:
    identical PNG bytes).

    Diverging RdBu colour map centred at 0 with symmetric limits ±``vmax``; by default ``vmax``
    is the largest off-diagonal |r| rounded up to the next 0.1 (the colour bar states the
    scale; every cell is also printed). ``triangle=True`` shows only the lower triangle
    without the diagonal of 1s. ``labels`` maps column names to display names (default
    the column names).
    """
    labels = dict(labels or {})
    names = list(corr.columns)
    values = corr.to_numpy(dtype="float64")
    k = len(names)
    off = values[~np.eye(k, dtype=bool)]
    if vmax is None:
        biggest = np.nanmax(np.abs(off)) if off.size else 1.0
        vmax = min(1.0, max(0.1, math.ceil(round(biggest * 10, 9)) / 10))
    if triangle:
        rows, cols = names[1:], names[:-1]
        shown = values[1:, :-1].copy()
        shown[np.triu_indices(k - 1, 1)] = np.nan
    else:
        rows, cols = names, names
        shown = values.copy()
    size = max(7.0, 0.95 * len(cols) + 4.5)
    fig, ax = _new_figure((size + 1.5, size - 0.5))
    image = ax.imshow(np.ma.masked_invalid(shown), cmap="RdBu_r", vmin=-vmax, vmax=vmax,
                      aspect="equal")
    ax.set_xticks(range(len(cols)), [labels.get(c, c) for c in cols],
                  rotation=40, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(len(rows)), [labels.get(r, r) for r in rows])
    ax.tick_params(length=0)
    for s in ax.spines.values():
        s.set_visible(False)
    for i in range(shown.shape[0]):
        for j in range(shown.shape[1]):
            v = shown[i, j]
            if np.isfinite(v):
                strong = abs(v) > 0.6 * vmax
                text = f"{v:.{decimals}f}"
                text = text.lstrip("-") if float(text) == 0 else text.replace("-", "\u2212")
                ax.text(j, i, text, ha="center", va="center", fontsize=15,
                        color="white" if strong else "black")
    bar = fig.colorbar(image, ax=ax, shrink=0.8, pad=0.02)
    bar.set_label("Pearson correlation")
    bar.ax.tick_params(labelsize=13)
    ax.set_title("Correlations between variables")
    return fig


# --------------------------------------------------------------------------------------------
# model


def _log_ticks(lo: float, hi: float) -> list[float]:
    fine = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 10, 20, 50, 100]
    ticks = [c for c in fine if lo <= c <= hi]
    if len(ticks) > 8:
        ticks = [c for c in ticks if c in (0.01, 0.1, 0.2, 0.5, 1, 2, 5, 10, 100)]
    if len(ticks) > 8:
        ticks = [c for c in ticks if c in (0.01, 0.1, 1, 10, 100)]
    return ticks


def _or_text(o: float, low: float, high: float) -> str:
    """ "OR (low–high)" with 2 decimals, or 3 when 2 would make the numbers coincide."""
    d = 2 if len({f"{v:.2f}" for v in (o, low, high)}) == 3 else 3
    return f"{o:.{d}f} ({low:.{d}f}\u2013{high:.{d}f})"


@_styled
def plot_odds_ratios(
    coefs: pd.DataFrame,
    labels: Mapping[str, str] | None = None,
    sort: bool = False,
    annotate: bool = True,
    title: str = "Odds ratios (95% CI)",
    words: Words = WORDS,
    *,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Forest plot of odds ratios with their 95% intervals, log-scale x axis, line at 1.

    ``coefs`` is a coefficient table with columns ``term, estimate, std_error, statistic,
    p_value, conf_low, conf_high, odds_ratio, or_conf_low, or_conf_high``; the ``Intercept``
    row is left out. Terms are listed top-down in table order (``sort=True``: by odds ratio,
    largest on top) labelled by ``labels`` (term -> display
    label). Colour: blue if the interval lies above 1, vermillion if below 1, grey if it
    covers 1. ``annotate`` prints "OR (low–high)" at the right of each row.
    """
    _require_columns(coefs, ["term", "odds_ratio", "or_conf_low", "or_conf_high"], "coefficient")
    t = coefs[coefs["term"] != "Intercept"].reset_index(drop=True)
    if sort:
        t = t.sort_values("odds_ratio", ascending=False, kind="stable").reset_index(drop=True)
    n = len(t)
    names = [(labels or {}).get(term, term) for term in t["term"]]
    above = t["or_conf_low"] > 1
    below = t["or_conf_high"] < 1
    colors = np.where(above, PALETTE["blue"], np.where(below, PALETTE["vermillion"], PALETTE["grey"]))
    fig, ax = _new_figure(figsize or (12.5 if annotate else 10, max(5.0, 0.42 * n + 2.4)))
    fig.get_layout_engine().set(w_pad=0.15)
    pos = np.arange(n)
    ax.hlines(pos, t["or_conf_low"], t["or_conf_high"], colors=colors, lw=2.5)
    ax.scatter(t["odds_ratio"], pos, color=colors, s=70, zorder=3, marker="s")
    ax.axvline(1, color=PALETTE["black"], lw=1.2, ls="--", zorder=0)
    ax.set_xscale("log")
    lo = float(np.nanmin(t["or_conf_low"])) if n else 0.5
    hi = float(np.nanmax(t["or_conf_high"])) if n else 2.0
    lo, hi = min(lo, 1.0) / 1.15, max(hi, 1.0) * 1.15
    ax.set_xlim(lo, hi)
    ax.xaxis.set_major_locator(FixedLocator(_log_ticks(lo, hi)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_yticks(pos, names)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlabel(f"Odds ratio (log scale); < 1 lower, > 1 higher odds of {words.outcome}")
    ax.spines["left"].set_visible(False)
    ax.tick_params(axis="y", length=0)
    if annotate:
        for p, o, l, h in zip(pos, t["odds_ratio"], t["or_conf_low"], t["or_conf_high"]):
            ax.text(1.02, p, _or_text(o, l, h), transform=ax.get_yaxis_transform(),
                    va="center", ha="left", fontsize=13)
        ax.text(1.02, -0.6, "OR (95% CI)", transform=ax.get_yaxis_transform(), va="bottom",
                ha="left", fontsize=13, fontweight="bold")
    handles = [Line2D([], [], color=c, marker="s", lw=2.5, label=lab) for c, lab in (
        (PALETTE["blue"], "CI above 1"), (PALETTE["vermillion"], "CI below 1"),
        (PALETTE["grey"], "CI includes 1"))]
    fig.legend(handles=handles, loc="outside lower center", ncols=3)
    ax.set_title(title)
    return fig


# --------------------------------------------------------------------------------------------
# evaluation


def _finish_unit_square(ax, y_max: float, xlabel: str, ylabel: str, title: str) -> None:
    """Axes of a curve on [0, 1] x [0, 1] in percent (ROC, gains): limits, labels, legend, title."""
    ax.set_xlim(0, 1)
    ax.set_ylim(0, y_max)
    _pct_axis(ax.xaxis)
    _pct_axis(ax.yaxis)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="lower right")
    ax.set_title(title)


@_styled
def plot_roc(
    curves: Mapping[str, pd.DataFrame],
    aucs: Mapping[str, float] | None = None,
    title: str = "ROC curve",
    words: Words = WORDS,
    *,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """ROC curves, one per sample, with the chance diagonal.

    ``curves`` maps a sample name ("train", "test") to a DataFrame with columns
    ``threshold, fpr, tpr`` (plotted in the given row order); ``aucs`` maps the same names to
    their AUC, shown in the legend as "test (AUC = 0.712)".
    """
    fig, ax = _new_figure(figsize or (8, 7.5))
    styles = ["-", "--", "-.", ":"]
    for i, (name, curve) in enumerate(curves.items()):
        _require_columns(curve, ["threshold", "fpr", "tpr"], f"ROC ({name})")
        label = str(name)
        if aucs is not None and name in aucs:
            label += f" (AUC = {aucs[name]:.3f})"
        ax.plot(curve["fpr"], curve["tpr"], color=CYCLE[i % len(CYCLE)],
                ls=styles[i % len(styles)], label=label)
    ax.plot([0, 1], [0, 1], color=PALETTE["grey"], ls=":", lw=1.8, label="Chance")
    ax.set_aspect("equal")
    _finish_unit_square(ax, 1.005, f"False-positive rate (% of {words.non_event_group} flagged)",
                        f"True-positive rate (% of {words.event_group} flagged)", title)
    return fig


@_styled
def plot_ks(
    table: pd.DataFrame,
    ks: float,
    threshold: float,
    title: str = "Kolmogorov\u2013Smirnov separation",
    words: Words = WORDS,
) -> Figure:
    """Cumulative score distributions of rows with and without the event against the threshold.

    ``table`` has columns ``threshold, cum_events, cum_nonevents, gap``: the share of users /
    non-users on one side of each threshold. Either convention is accepted and detected from
    the data: shares with ``p >= threshold`` (decreasing in the threshold, as
    :func:`analysis.evaluate.discrimination.ks_curve` gives: the true- and false-positive rates) or with
    ``p <= threshold`` (increasing: the empirical CDFs). The curves are drawn as exact step
    functions (left-continuous for ``>=``, right-continuous for ``<=``) and the y-axis label
    names the convention. Rows with a non-finite threshold are not drawn. The maximum gap is
    marked by a vertical segment between the two curves at the row whose threshold is nearest
    to ``threshold``, annotated with ``ks`` and ``threshold`` as given.
    """
    _require_columns(table, ["threshold", "cum_events", "cum_nonevents", "gap"], "KS")
    t = table[np.isfinite(table["threshold"].to_numpy(dtype="float64"))]
    t = t.sort_values("threshold", kind="stable").reset_index(drop=True)
    x = t["threshold"].to_numpy(dtype="float64")
    ev = t["cum_events"].to_numpy(dtype="float64")
    ne = t["cum_nonevents"].to_numpy(dtype="float64")
    at_or_above = len(t) > 1 and (ev[-1] + ne[-1]) < (ev[0] + ne[0])
    drawstyle = "steps-pre" if at_or_above else "steps-post"
    fig, ax = _new_figure()
    ax.plot(x, ne, drawstyle=drawstyle, color=PALETTE["blue"],
            label=words.non_event_group[:1].upper() + words.non_event_group[1:])
    ax.plot(x, ev, drawstyle=drawstyle, color=PALETTE["vermillion"], ls="--",
            label=words.event_group[:1].upper() + words.event_group[1:])
    i = int(np.argmin(np.abs(x - threshold)))
    y0, y1 = sorted([ev[i], ne[i]])
    ax.vlines(x[i], y0, y1, color=PALETTE["black"], lw=2.5, zorder=4)
    ax.plot([x[i]] * 2, [y0, y1], ls="none", marker="o", color=PALETTE["black"], ms=6, zorder=5)
    ax.annotate(f"KS = {ks:.3f}\nat threshold {threshold:.3f}",
                xy=(x[i], (y0 + y1) / 2), xytext=(25, 0),
                textcoords="offset points", va="center", ha="left", fontsize=15,
                bbox=dict(facecolor="white", edgecolor="none", pad=2.0, alpha=0.9),
                arrowprops=dict(arrowstyle="-", color=PALETTE["black"], lw=1))
    ax.set_ylim(0, 1.02)
    _pct_axis(ax.yaxis)
    ax.set_xlabel(f"Threshold on predicted probability of {words.outcome}")
    side = "\u2265" if at_or_above else "\u2264"
    ax.set_ylabel(f"Share of group with predicted p {side} threshold (%)", fontsize=15)
    ax.legend(loc="upper right" if at_or_above else "lower right")
    ax.set_title(title)
    return fig


@_styled
def plot_calibration(
    table: pd.DataFrame,
    title: str = "Calibration: observed vs predicted",
    words: Words = WORDS,
    curve: pd.DataFrame | None = None,
    corrected: pd.DataFrame | None = None,
) -> Figure:
    """Observed rate against mean predicted probability per bin, with CI bars and a 45° line.

    ``table`` has columns ``bin, n, events, observed_rate, obs_conf_low, obs_conf_high,
    mean_predicted``; both axes in per cent, on the same scale. ``curve`` (``p, observed_smooth``) adds the
    lowess smooth; ``corrected`` (``predy, calibrated_corrected``: the bootstrap's ``calibration_corrected``
    table) the curve corrected for over-fitting, drawn as rms's ``plot.calibrate`` draws its "Bias-corrected"
    line.
    """
    _require_columns(table, ["bin", "n", "events", "observed_rate", "obs_conf_low",
                             "obs_conf_high", "mean_predicted"], "calibration")
    t = table.reset_index(drop=True)
    fig, ax = _new_figure((8, 7.5))
    top = float(np.nanmax([t["obs_conf_high"].max(), t["mean_predicted"].max()]))
    top = min(1.0, top * 1.08) if np.isfinite(top) and top > 0 else 1.0
    ax.plot([0, top], [0, top], color=PALETTE["grey"], ls="--", lw=1.8,
            label="Perfect calibration")
    x = t["mean_predicted"].to_numpy(dtype="float64")
    y = t["observed_rate"].to_numpy(dtype="float64")
    err = np.clip(np.vstack([y - t["obs_conf_low"].to_numpy(dtype="float64"),
                             t["obs_conf_high"].to_numpy(dtype="float64") - y]), 0, None)
    ax.errorbar(x, y, yerr=err, fmt="o", ms=8,
                color=PALETTE["blue"], ecolor=PALETTE["blue"], elinewidth=1.8, capsize=5,
                label="Observed rate by decile (95% CI)")
    if curve is not None and len(curve):
        inside = curve[curve["p"] <= top]
        ax.plot(inside["p"], inside["observed_smooth"].clip(0, top), color=PALETTE["vermillion"], lw=2.2,
                label="Smoothed observed rate (lowess)")
    if corrected is not None and len(corrected):
        inside = corrected[corrected["predy"] <= top]
        ax.plot(inside["predy"], inside["calibrated_corrected"].clip(0, top), color=PALETTE["green"], lw=2.2,
                ls="-.", label="Corrected for over-fitting (bootstrap)")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_aspect("equal")
    _pct_axis(ax.xaxis)
    _pct_axis(ax.yaxis)
    ax.set_xlabel("Mean predicted probability in bin (%)")
    ax.set_ylabel(f"Observed {words.rate} (%)")
    ax.legend(loc="upper left")
    ax.set_title(title)
    return fig


_GAINS_COLUMNS = ["decile", "n", "events", "response_rate", "cum_n", "cum_events", "cum_capture",
                  "lift", "cum_lift", "p_min", "p_max", "mean_p"]


def _decile_axis_note(t: pd.DataFrame) -> str:
    mp = t.sort_values("decile")["mean_p"].to_numpy()
    if len(mp) > 1 and mp[0] > mp[-1]:
        return f"{int(t['decile'].min())} = highest predicted probability"
    return f"{int(t['decile'].min())} = lowest predicted probability"


@_styled
def plot_gains(
    table: pd.DataFrame,
    annotate_deciles: Sequence[int] = (1, 3),
    title: str | None = None,
    words: Words = WORDS,
    *,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Cumulative capture (share of all events reached) against the share of rows taken, highest
    predicted first, from a gains table (``decile, n, events, ..., cum_n, cum_events, cum_capture,
    lift, cum_lift, ...``, deciles from the highest), starting at (0, 0); with the random-order
    line and the perfect-model line (all events reached once the share taken equals the event
    rate). The capture at ``annotate_deciles`` is summarised in a text box ("Top 10% of customers
    → 30% of coupon users", in the specification's words).
    """
    _require_columns(table, _GAINS_COLUMNS, "gains")
    title = title or f"Cumulative gains: share of {words.event_group} reached"
    t = table.sort_values("decile", kind="stable").reset_index(drop=True)
    total_n = float(t["n"].sum())
    event_rate = float(t["events"].sum()) / total_n
    x = np.concatenate([[0.0], t["cum_n"].to_numpy() / total_n])
    y = np.concatenate([[0.0], t["cum_capture"].to_numpy(dtype="float64")])
    fig, ax = _new_figure(figsize or (9, 7))
    ax.plot([0, event_rate, 1], [0, 1, 1], color=PALETTE["green"], ls="-.", lw=1.8,
            label="Perfect model")
    ax.plot([0, 1], [0, 1], color=PALETTE["grey"], ls="--", lw=1.8, label="Random order")
    ax.plot(x, y, color=PALETTE["blue"], marker="o", ms=7, label="Model")
    lines = []
    for d in annotate_deciles:
        hit = np.flatnonzero(t["decile"].to_numpy() == d)
        if hit.size:
            i = hit[0] + 1
            lines.append(f"Top {_fmt_pct(x[i], 0)} of {words.rows} \u2192 {_fmt_pct(y[i], 0)} of {words.event_group}")
    if lines:
        ax.text(0.97, 0.30, "\n".join(lines), transform=ax.transAxes, ha="right", va="bottom",
                fontsize=14, linespacing=1.5)
    _finish_unit_square(ax, 1.02, f"{words.rows[:1].upper()}{words.rows[1:]}, highest predicted first (%)",
                        f"{words.event_group[:1].upper()}{words.event_group[1:]} reached (%)", title)
    return fig


@_styled
def plot_lift(
    table: pd.DataFrame,
    cumulative: bool = True,
    title: str = "Lift by decile",
    *,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Lift of each decile (its response rate / overall rate) as bars, labelled with their
    value, with a dashed line at 1 (a random order) and, if ``cumulative``, the cumulative
    lift as a line. Input: a gains table as in :func:`plot_gains`."""
    _require_columns(table, _GAINS_COLUMNS, "gains")
    t = table.sort_values("decile", kind="stable").reset_index(drop=True)
    fig, ax = _new_figure(figsize or FIGSIZE)
    bars = ax.bar(t["decile"], t["lift"], color=PALETTE["blue"], width=0.7, label="Lift of decile")
    ax.axhline(1, color=PALETTE["black"], ls="--", lw=1.5, label="Random order (lift = 1)",
               zorder=1.5)
    handles = [bars, ax.lines[-1]]
    if cumulative:
        handles.insert(1, ax.plot(t["decile"], t["cum_lift"], color=PALETTE["orange"],
                                  marker="o", ms=7, label="Cumulative lift", zorder=3)[0])
    for text in ax.bar_label(bars, labels=[f"{v:.2f}" if np.isfinite(v) else ""
                                           for v in t["lift"]], padding=4,
                             fontsize=14):
        text.set_bbox(_LABEL_BOX)
        text.set_zorder(2.5)
    ax.set_xticks(t["decile"], [str(int(d)) for d in t["decile"]])
    top = float(np.nanmax([t["lift"].max(), t["cum_lift"].max() if cumulative else 0]))
    ax.set_ylim(0, top * 1.15)
    ax.set_xlabel(f"Decile of predicted probability ({_decile_axis_note(t)})")
    ax.set_ylabel("Lift (response rate \u00f7 overall rate)")
    ax.legend(handles=handles, loc="upper right")
    ax.set_title(title)
    return fig


# --------------------------------------------------------------------------------------------
# saving


def _metadata(fmt: str) -> dict | None:
    if fmt == "png":
        return {"Software": None}
    if fmt == "svg":
        return {"Date": None, "Creator": None}
    if fmt == "pdf":
        return {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None}
    return None


def save_figure(
    fig: Figure,
    directory,
    name: str,
    formats: Sequence[str] = ("png", "svg"),
    dpi: int = DPI,
) -> list[Path]:
    """Write ``fig`` as ``directory/name.<fmt>`` for each format (default PNG at 200 dpi and
    SVG; PDF also supported) and return the paths in format order.

    Reproducible byte for byte: PNG without the Software tag, SVG without Date / Creator and
    with :rc:`svg.hashsalt` fixed (text as paths), PDF without dates / producer; saving runs
    under :data:`STYLE`. Tested by writing twice and rebuilding the figure from the same data,
    comparing bytes. The directory is created if missing.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    with mpl.rc_context(STYLE):
        for fmt in formats:
            path = directory / f"{name}.{fmt}"
            fig.savefig(path, format=fmt, dpi=dpi, metadata=_metadata(fmt), facecolor="white")
            paths.append(path)
    return paths


def mark_simulated(fig: Figure) -> Figure:
    """Stamp a figure made from the simulated sample, so a pasted copy cannot pass for real data.

    The stamp is the figure's suptitle at the top right: constrained layout gives it a row of its own
    above the axes and their titles, so it overlaps nothing (at the bottom it ran into the figure
    legends placed "outside lower center")."""
    fig.suptitle("SIMULATED DATA \u2013 not real data", x=0.99, ha="right",
                 fontsize=11, color="#B22222", fontweight="bold")
    return fig


#: the tasks of the running :func:`draw_and_save`, inherited by its forked workers (which then receive
#: only an index: a task's data, up to a pattern table of 500k rows, is not pickled to them)
_TASKS: list = []


def _draw_task(index: int) -> list[Path]:
    return _draw_and_save(_TASKS[index])


def _draw_and_save(task) -> list[Path]:
    name, function, args, kwargs, directory, simulated = task
    fig = function(*args, **kwargs)
    if simulated:
        mark_simulated(fig)
    return save_figure(fig, directory, name)


def draw_and_save(specs: Mapping[str, tuple], directory, simulated: bool = False, workers: int = 2) -> list[Path]:
    """Draw and save every figure of ``specs`` (name -> (function, args, kwargs)), in parallel.

    Drawing and PNG/SVG encoding are CPU-bound and independent per figure, so a process pool
    halves the time on two cores; each figure is drawn and saved in one process (figures hold
    lambdas and cannot be pickled), and the files are the same bytes as a serial run (tested).
    The workers are forked after the tasks are set (``_TASKS``) and are sent only their indexes.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    global _TASKS
    tasks = [(name, fn, tuple(args), dict(kwargs), directory, simulated) for name, (fn, args, kwargs) in specs.items()]
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [p for task in tasks for p in _draw_and_save(task)]
    _TASKS = tasks
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            return [p for paths in pool.map(_draw_task, range(len(tasks))) for p in paths]
    finally:
        _TASKS = []


@_styled
def plot_effect(curve: pd.DataFrame, xlabel: str, title: str, words: Words = WORDS,
                observed: pd.DataFrame | None = None) -> Figure:
    """Predicted probability across a variable at a reference profile (``analysis.evaluate.effects.effect_curve``:
    ``x, p, p_low, p_high``) with its 95% band; ``observed`` (``level, rate``-like table with ``x`` and
    ``rate``, optional) adds the observed rates as points."""
    _require_columns(curve, ["x", "p", "p_low", "p_high"], "effect")
    fig, ax = _new_figure(figsize=(10, 5.5))
    ax.fill_between(curve["x"], curve["p_low"], curve["p_high"], color=PALETTE["sky"], alpha=0.35, lw=0,
                    label="95% confidence band")
    ax.plot(curve["x"], curve["p"], color=PALETTE["blue"], lw=2.5, label="Predicted (reference profile)")
    if observed is not None and len(observed):
        ax.plot(observed["x"], observed["rate"], ls="none", marker="o", ms=6, color=PALETTE["vermillion"],
                label=f"Observed {words.rate}")
    _pct_axis(ax.yaxis)
    ax.set_ylim(bottom=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Predicted probability (%)")
    ax.legend(loc="best")
    ax.set_title(title)
    return fig


@_styled
def plot_selection_stability(stability: pd.DataFrame, labels: Mapping[str, str] | None = None,
                             selected=(), resamples: int | None = None, *, threshold: float = 0.8,
                             figsize: tuple[float, float] | None = None) -> Figure:
    """Selection stability: the share of bootstrap resamples in which the whole selection kept each
    candidate term (``analysis.evaluate.bootstrap``'s ``stability``: ``term, share``), one bar per term in the
    candidates' order; terms of the final model in blue, the others grey; a dashed line at ``threshold``
    (a term kept in fewer resamples is one another sample could well have left out)."""
    _require_columns(stability, ["term", "share"], "stability")
    t = stability.reset_index(drop=True)
    n = len(t)
    names = [(labels or {}).get(term, term) for term in t["term"]]
    chosen = t["term"].isin(list(selected))
    colors = np.where(chosen, PALETTE["blue"], PALETTE["grey"])
    fig, ax = _new_figure(figsize or (10, max(3.5, 0.5 * n + 1.8)))
    pos = np.arange(n)
    ax.barh(pos, 100 * t["share"], color=colors, height=0.6)
    for p, share in zip(pos, t["share"]):
        ax.text(100 * share + 1, p, f"{100 * share:.0f}%", va="center", ha="left", fontsize=12)
    ax.axvline(100 * threshold, color=PALETTE["black"], lw=1.2, ls="--")
    ax.set_yticks(pos, names)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlim(0, 112)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f}%"))
    ax.set_xlabel("Kept in (% of " + (f"{resamples} " if resamples else "") + "bootstrap resamples)")
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    handles = [Line2D([], [], color=PALETTE["blue"], lw=8, label="in the final model"),
               Line2D([], [], color=PALETTE["grey"], lw=8, label="not in the final model"),
               Line2D([], [], color=PALETTE["black"], lw=1.2, ls="--", label=f"{100 * threshold:.0f}%")]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_title("Selection stability")
    return fig


# ----------------------------------------------------------------------------- the figures of a run


def claimed_odds_ratios(claims: pd.DataFrame) -> pd.DataFrame:
    """The odds ratios the run claims (``analysis.present.claims``), as the columns :func:`plot_odds_ratios`
    reads: each with the claims' headline interval (bootstrap when the selection was validated), numeric
    variables per their step -- the numbers the conclusions, the slides and the workbook state."""
    ors = claims[claims["topic"] == "odds ratio"]
    return pd.DataFrame({"term": ors["term"].astype(str), "odds_ratio": ors["estimate"].astype(float),
                         "or_conf_low": ors["conf_low"].astype(float), "or_conf_high": ors["conf_high"].astype(float)})


def _interval_words(claims: pd.DataFrame) -> str:
    kinds = claims.loc[claims["topic"] == "odds ratio", "interval"]
    return str(kinds.iloc[0]) if len(kinds) else "95% CI"


def figure_specs(data, tables, metrics, curves, evaluated, spec, effect_curves=None) -> dict:
    """name -> (plot function, args, kwargs); drawn and saved by :func:`draw_and_save`. ``data`` is the
    pattern table of all rows used (the exploratory figures accept it and equal those of the rows)."""
    words = Words.from_spec(spec)
    response = spec.response.name
    rate = spec.response.rate[:1].upper() + spec.response.rate[1:]
    specs = {}
    for v in spec.variables:
        key = v.key
        if v.kind in ("categorical", "binary"):
            levels = sorted(data[v.name].unique())
            options = dict(title=f"{rate} by {in_sentence(v.label)}", xlabel=v.label, words=words,
                           level_labels={lvl: v.level_label(lvl) for lvl in levels})
            if v.kind == "categorical" and len(levels) > 5:
                options.update(horizontal=True, sort=True)
            specs[f"rate_by_{key}"] = (plot_rate_by, (data, v.name, response), options)
        elif v.bins:
            specs[f"{v.name}_distribution"] = (plot_distribution, (data,), dict(
                column=v.name, response=response, label=v.label, unit=v.unit, units=v.units,
                mark=v.tail_above, words=words))
            specs[f"rate_by_{v.name}_group"] = (plot_rate_by_group, (data, (*v.bins, math.inf), v.name, response),
                                                dict(title=f"{rate} by {in_sentence(v.label)} group",
                                                     xlabel=f"{v.label} group" + (f" ({v.units})" if v.units else ""),
                                                     words=words))
    for var in tables["spline_effects"]["variable"] if "spline_effects" in tables else []:
        v = spec.variable(var)
        specs[f"effect_{var}"] = (plot_effect, (effect_curves[var], f"{v.label}" + (f" ({v.units})" if v.units
                                                                                         else "")),
                                  {"title": f"Predicted probability by {in_sentence(v.label)}", "words": words})
    aucs = {n: metrics[n]["auc"] for n in curves}
    m = metrics[evaluated]
    labels = spec.indicator_labels()     # a yes/no variable's 0/1 column named by its level ("Sex: female")
    specs.update({
        "correlation_heatmap": (plot_correlation_heatmap, (tables["correlations"],), {"labels": labels}),
        "odds_ratios": (plot_odds_ratios, (claimed_odds_ratios(tables["claims"]),),
                        {"labels": dict(zip(tables["claims"]["term"], tables["claims"]["label"])), "words": words,
                         "title": f"Odds ratios ({_interval_words(tables['claims'])})"}),
        "roc": (plot_roc, ({n: c["roc"] for n, c in curves.items()}, aucs), {"words": words}),
        "ks": (plot_ks, (curves[evaluated]["ks"], m["ks"], m["ks_threshold"]),
               {"title": f"Kolmogorov\u2013Smirnov separation ({evaluated} sample)", "words": words}),
        "calibration": (plot_calibration, (tables["calibration"],),
                        {"words": words, "curve": tables.get("calibration_curve"),
                         # the bootstrap's corrected curve is of the training sample: drawn when that is evaluated
                         "corrected": tables.get("calibration_corrected") if evaluated == "train" else None}),
        "gains": (plot_gains, (tables["gains"],), {"words": words}),
        "lift": (plot_lift, (tables["gains"],), {}),
    })
    if "selection_stability" in tables:
        stability = tables["selection_stability"]
        specs["selection_stability"] = (
            plot_selection_stability, (stability,),
            {"labels": {t: describe_term(t, spec) for t in stability["term"]}, "selected": metrics["selected_terms"],
             "resamples": metrics["bootstrap"]["B"] - metrics["bootstrap"]["failed"]})
    return specs
