"""One rounding rule for every output: report (HTML and PDF), slides and spreadsheet exports.

- odds ratios and their confidence limits: 2 decimals;
- coefficients, standard errors, test statistics: 3 decimals;
- p-values: 3 decimals, "< 0.001" below that;
- shares and rates: percent with 1 decimal;
- counts: thousands separator.
Display tables are DataFrames of strings, so HTML, PDF and exports show identical text.
"""
from __future__ import annotations

import math
import re

import pandas as pd


def fmt_p(p: float) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return ""
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def fmt_or(x: float) -> str:
    return "" if x is None or math.isnan(x) else f"{x:.2f}"


def fmt_num(x: float, digits: int = 3) -> str:
    return "" if x is None or math.isnan(x) else f"{x:.{digits}f}"


def fmt_pct(x: float, digits: int = 1) -> str:
    return "" if x is None or math.isnan(x) else f"{100 * x:.{digits}f}%"


def fmt_int(x) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{int(x):,}"


#: a formatted number as this module writes it: "17,513", "-0.72", "11.8%", "< 0.001", "5.34 (8)",
#: "-6.65 to -3.05", "0.686 to 0.722"
NUMBER_TEXT = re.compile(r"[<>]? ?[-\u2212+]?[0-9][0-9,]*(\.[0-9]+)?%?( \([0-9]+\))?"
                         r"( to [-\u2212+]?[0-9][0-9,]*(\.[0-9]+)?%?)?")


def _is_numeric_column(values: pd.Series) -> bool:
    if not (values.dtype == object or pd.api.types.is_string_dtype(values)):
        return True
    shown = [str(v) for v in values if str(v).strip() not in ("", "nan")]
    return bool(shown) and all(NUMBER_TEXT.fullmatch(v) for v in shown)


#: characters across the PDF's 16-cm text block: a conservative count for table text at 10 points
#: (Quarto's typst template) and at 8 points (the built-in renderer's template)
TABLE_BUDGET = 90


def column_widths(headers: list[str], cells: list[list[str]], align: str) -> list[int]:
    """Relative column widths (in characters) of a table: what each column needs, then the text columns
    give up space when the table is wider than the text block.

    A column needs its longest cell plus 2 (the cell's padding), and the longest word of its header at
    1.2 characters per character plus 2 (headers are bold and may wrap between words), at least 3:
    numbers and header words then never break ("Esti-mate" was one; table cells are also set without
    hyphenation, by the typst rules in ``_quarto.yml``). When the needs add up to more than
    :data:`TABLE_BUDGET`, the left-aligned (text) columns, which wrap between words, shrink in
    proportion to what they can spare, each down to its longest word plus 2 or 12, whichever is larger;
    then every width is capped at 60.
    """
    need, floor = [], []
    for header, col in zip(headers, cells):
        longest = max((len(v) for v in col), default=0)
        head = max((len(w) for w in header.split()), default=0)
        need.append(max(3, math.ceil(head * 1.2) + 2, longest + 2))
        word = max((len(w) for v in col for w in v.split()), default=0)
        floor.append(max(12, word + 2))
    excess = sum(need) - TABLE_BUDGET
    spare = {i: need[i] - floor[i] for i, a in enumerate(align) if a == "l" and need[i] > floor[i]}
    room = sum(spare.values())
    if excess > 0 and room > 0:
        cut = min(excess, room)
        for i, can in spare.items():
            need[i] -= int(round(cut * can / room))
    return [min(60, w) for w in need]


def pipe_table(frame: pd.DataFrame, align: str | None = None, escape: bool = True) -> str:
    """A pandoc pipe table; ``align`` is one of l/r/c per column (default: text left; numbers, and text
    columns holding only formatted numbers (``NUMBER_TEXT``), right).

    Cells are escaped (``analysis.present.escape.markdown``: text from the data is never markup). The dashes of
    the separator line follow each column's content (:func:`column_widths`): pandoc sizes columns by
    them when a table is wider than the text, and gives columns their natural widths otherwise, through
    Quarto and the built-in renderer alike -- never equal shares.
    """
    from analysis.present.escape import markdown as md

    cols = list(frame.columns)
    if align is None:
        align = "".join("r" if _is_numeric_column(frame[c]) else "l" for c in cols)
    text = [[str(v) for v in frame[c]] for c in cols]
    widths = column_widths([str(c) for c in cols], text, align)

    def cell(v) -> str:
        return md(v) if escape else str(v).replace("|", "\\|").replace("\n", " ")

    def rule(a: str, w: int) -> str:
        return {"l": ":" + "-" * (w - 1), "r": "-" * (w - 1) + ":", "c": ":" + "-" * (w - 2) + ":"}[a]

    lines = ["| " + " | ".join(cell(c) for c in cols) + " |",
             "|" + "|".join(rule(a, w) for a, w in zip(align, widths)) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in zip(*text)]
    return "\n".join(lines)
