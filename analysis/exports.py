"""Deck-ready exports: ``report_tables.xlsx`` (one sheet per table, number formats by the rounding rule).

Cells keep full precision; their number formats show what the report shows (odds ratios 2
decimals, p-values "< 0.001" below that, rates as percentages), so a pasted number matches
the report and a recomputation from the cell is still exact.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from .display import TABLES

P_FORMAT = '[<0.001]"< 0.001";0.000'
FORMATS = {
    "odds_ratio": "0.00", "or_conf_low": "0.00", "or_conf_high": "0.00",
    "p_value": P_FORMAT,
    "rate": "0.0%", "share": "0.0%", "event_rate": "0.0%", "response_rate": "0.0%", "cum_capture": "0.0%",
    "conf_low": "0.000", "conf_high": "0.000", "observed_rate": "0.0%", "obs_conf_low": "0.0%",
    "obs_conf_high": "0.0%", "mean_predicted": "0.0%", "accuracy": "0.0%", "no_information_rate": "0.0%",
    "precision": "0.0%", "recall": "0.0%", "specificity": "0.0%", "f1": "0.000",
    "n": "#,##0", "events": "#,##0", "rows": "#,##0", "rows_excluded": "#,##0", "rows_remaining": "#,##0",
    "cum_n": "#,##0", "cum_events": "#,##0", "tp": "#,##0", "fp": "#,##0", "tn": "#,##0", "fn": "#,##0",
    "df": "0", "step": "0", "decile": "0", "bin": "0", "group": "0",
}
#: rate-type CI columns in tables whose CIs are of a rate
RATE_CI_TABLES = {"rate_by_returned", "rate_by_marriage", "rate_by_job", "rate_by_age_group", "rate_by_loan",
                  "rate_by_default", "age_tail"}
FIXED_TIME = dt.datetime(2000, 1, 1)  # workbook metadata: fixed, so the same results give the same file


def _number_format(table: str, column: str) -> str:
    if table in RATE_CI_TABLES and column in ("conf_low", "conf_high"):
        return "0.0%"
    return FORMATS.get(column, "0.000")


def write_workbook(tables: dict[str, pd.DataFrame], path: str | Path, simulated: bool) -> Path:
    """One sheet per table of the report (those with a caption in ``display.TABLES``), plus a contents sheet."""
    path = Path(path)
    wb = Workbook()
    contents = wb.active
    contents.title = "contents"
    contents.append(["SIMULATED DATA - not real customers" if simulated else "Coupon-use report tables"])
    contents["A1"].font = Font(bold=True, color="B22222" if simulated else "000000")
    contents.append(["sheet", "caption"])
    for name, spec in TABLES.items():
        if name not in tables:
            continue
        sheet_name = name[:31]
        contents.append([sheet_name, spec.caption])
        ws = wb.create_sheet(sheet_name)
        frame = tables[name]
        ws.append(list(frame.columns))
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in frame.itertuples(index=False):
            ws.append([None if (isinstance(v, float) and v != v) else v for v in row])
        for j, column in enumerate(frame.columns, start=1):
            fmt = _number_format(name, column)
            width = max(len(str(column)), 10) + 2
            for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                if isinstance(cell.value, (int, float)):
                    cell.number_format = fmt
                else:
                    width = max(width, min(len(str(cell.value)) + 2, 60))
            ws.column_dimensions[get_column_letter(j)].width = width
        ws.freeze_panes = "A2"
    contents.column_dimensions["A"].width = 26
    contents.column_dimensions["B"].width = 110
    wb.properties.created = wb.properties.modified = FIXED_TIME
    wb.properties.creator = "analysis"
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
