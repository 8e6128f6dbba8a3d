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


def pipe_table(frame: pd.DataFrame, align: str | None = None) -> str:
    """A pandoc pipe table; ``align`` is one of l/r/c per column (default: text left; numbers, and text
    columns holding only formatted numbers (``NUMBER_TEXT``), right)."""
    cols = list(frame.columns)
    if align is None:
        align = "".join("r" if _is_numeric_column(frame[c]) else "l" for c in cols)
    rule = {"l": ":---", "r": "---:", "c": ":---:"}

    def cell(v) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(c) for c in cols) + " |",
             "|" + "|".join(rule[a] for a in align) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)
