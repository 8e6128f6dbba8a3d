"""Deck-ready exports: ``report_tables.xlsx``, one sheet per report table, ready to paste.

- Every table sheet has the raw tidy columns (full precision) and, where the table names model terms,
  variables or levels, readable ``label`` (and ``compared_with``) columns beside the raw ones, with the
  words of the report.
- Number formats follow the column's type and the report's rounding rule: counts ``#,##0``, 0/1 levels
  ``0``, odds ratios ``0.00``, p-values ``< 0.001`` below that, rates and shares ``0.0%``, coefficients
  and statistics ``0.000``; so a pasted number matches the report and a recomputation from the cell is
  still exact.
- A ``fit`` sheet (fit and evaluation statistics of both models and samples) and a ``provenance`` sheet
  (file, SHA-256, specification, formula, parameters, software, code revision).
- Text is always a string cell, never a formula (and formula-like text gets a leading ``'``, as
  ``analysis.present.escape.sheet_text`` says); with simulated data every sheet starts with the SIMULATED banner.
- Fixed workbook metadata, so the same results give the same file.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from analysis.evaluate.explore import PROFILE_TABLE
from analysis.present.display import table_specs
from analysis.present.escape import sheet_text
from analysis.present.labels import describe_coefficient, describe_term

P_FORMAT = '[<0.001]"< 0.001";0.000'
PERCENT = "0.0%"
COUNT = "#,##0"
BY_COLUMN = {
    "odds_ratio": "0.00", "or_conf_low": "0.00", "or_conf_high": "0.00", "p_value": P_FORMAT, "hl_p": P_FORMAT,
    "lr_p": P_FORMAT,
    "rate": PERCENT, "share": PERCENT, "event_rate": PERCENT, "response_rate": PERCENT, "cum_capture": PERCENT,
    "observed_rate": PERCENT, "obs_conf_low": PERCENT, "obs_conf_high": PERCENT, "mean_predicted": PERCENT,
    "accuracy": PERCENT, "no_information_rate": PERCENT, "precision": PERCENT, "recall": PERCENT,
    "specificity": PERCENT, "top": PERCENT, "rest": PERCENT, "difference": PERCENT, "flagged_share": PERCENT,
    "n": COUNT, "events": COUNT, "rows": COUNT, "rows_excluded": COUNT, "rows_remaining": COUNT, "cum_n": COUNT,
    "cum_events": COUNT, "tp": COUNT, "fp": COUNT, "tn": COUNT, "fn": COUNT, "flagged": COUNT, "trials": COUNT,
    "observed_events": COUNT, "df": "0", "step": "0", "decile": "0", "bin": "0", "group": "0", "lr_df": "0",
    "hl_df": "0", "wald_df": "0", "wald_p": P_FORMAT, "count": COUNT, "n_terms": "0", "boot_low": "0.00",
    "boot_high": "0.00", "selected_share": PERCENT, "observed_nonevents": COUNT, "terms": "0", "parameters": "0",
}
#: percentage-point columns of the marginal-effects table are stored as proportions: shown in %
PROPORTION_TABLES = {"marginal_effects": ("ame", "std_error", "conf_low", "conf_high")}
BANNER = "SIMULATED DATA - not real people or firms"
FIXED_TIME = dt.datetime(2000, 1, 1)  # workbook metadata: fixed, so the same results give the same file


def _number_format(table: str, column: str, values: pd.Series) -> str:
    if table.startswith("rate_by_") or table.endswith("_tail"):
        if column in ("conf_low", "conf_high"):
            return PERCENT
        if column == "level" and pd.api.types.is_numeric_dtype(values) and \
                (values.dropna() == values.dropna().round()).all():
            return "0"                     # 0/1 levels, and categories written as whole numbers
    if table == PROFILE_TABLE and column in ("top", "rest", "difference"):
        return "0.000"  # shares and means mixed: the kind column says which (the report shows both)
    if column in PROPORTION_TABLES.get(table, ()):
        return "0.00%"
    return BY_COLUMN.get(column, "0.000")


def _labelled(name: str, frame: pd.DataFrame, results) -> pd.DataFrame:
    """The table with readable label columns beside the raw ones."""
    spec, baselines = results.spec, results.metrics.get("baselines", {})
    out = frame.copy()
    if "label" in out.columns:
        return out
    if "term" in out.columns and name in ("coefficients", "coefficients_full", "marginal_effects",
                                          "bootstrap_odds_ratios"):
        # estimates per one unit of a numeric variable: the per-unit label and comparison
        info = [describe_coefficient(str(t), spec, baselines) for t in out["term"]]
        out.insert(1, "label", [i.unit_label for i in info])
        out.insert(2, "compared_with", [i.unit_comparison for i in info])
    elif "term" in out.columns:
        out.insert(list(out.columns).index("term") + 1, "label",
                   ["" if pd.isna(t) else describe_term(str(t), spec) for t in out["term"]])
    elif "variable" in out.columns:
        out.insert(1, "label", [spec.labels().get(v, v) for v in out["variable"]])
    elif name.startswith("rate_by_") and "level" in out.columns:
        var = next((v for v in spec.variables if name == f"rate_by_{v.column or v.name}"), None)
        if var is not None:
            out.insert(1, "label", [var.level_label(x) for x in out["level"]])
    elif name == PROFILE_TABLE:
        from analysis.present.narrative import profile_label
        out.insert(1, "label", [profile_label(c, spec) for c in out["characteristic"]])
    return out


def _write_frame(ws, frame: pd.DataFrame, name: str, start_row: int) -> None:
    for j, column in enumerate(frame.columns, start=1):
        cell = ws.cell(row=start_row, column=j, value=sheet_text(str(column)))
        cell.data_type = "s"
        cell.font = Font(bold=True)
    for i, row in enumerate(frame.itertuples(index=False), start=start_row + 1):
        for j, value in enumerate(row, start=1):
            if isinstance(value, float) and value != value:
                continue
            if hasattr(value, "item"):
                value = value.item()
            cell = ws.cell(row=i, column=j)
            if isinstance(value, str):
                cell.value = sheet_text(value)
                cell.data_type = "s"       # a string cell whatever its first character: never a formula
            else:
                cell.value = value
    for j, column in enumerate(frame.columns, start=1):
        fmt = _number_format(name, column, frame[column])
        width = max(len(str(column)), 10) + 2
        for (cell,) in ws.iter_rows(min_row=start_row + 1, min_col=j, max_col=j):
            if isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool):
                cell.number_format = fmt
            elif cell.value is not None:
                width = max(width, min(len(str(cell.value)) + 2, 60))
        ws.column_dimensions[get_column_letter(j)].width = width


def _sheet(wb, title: str, simulated: bool):
    ws = wb.create_sheet(title[:31])
    row = 1
    if simulated:
        ws.cell(row=1, column=1, value=BANNER).font = Font(bold=True, color="B22222")
        row = 3
    return ws, row


def _fit_frame(metrics: dict) -> pd.DataFrame:
    rows = []
    for key, label in (("full_model", "full model"), ("model", "final model")):
        m = metrics[key]
        for stat in ("n_obs", "events", "llf", "llnull", "aic", "bic", "lr_chi2", "lr_df", "lr_p", "pseudo_r2"):
            rows.append((label, stat, m.get(stat)))
    for sample in ("train", "test"):
        if sample in metrics:
            for stat in ("n", "events", "auc", "auc_ci_low", "auc_ci_high", "ks", "ks_threshold", "somers_d", "brier",
                         "hl_chi2", "hl_df", "hl_p"):
                rows.append((f"{sample} sample", stat, metrics[sample].get(stat)))
    return pd.DataFrame(rows, columns=["scope", "statistic", "value"])


def _provenance_frame(results) -> pd.DataFrame:
    src, run, m = results.metrics["data"], results.run, results.metrics
    rows = [("data file", src["file"]), ("bytes", src["bytes"]), ("sha256", src.get("sha256") or "not computed"),
            ("format", src.get("format", "")), ("simulated", "yes" if src.get("simulated") else "no"),
            ("rows read", src["rows_read"]), ("rows used", src["rows_used"]),
            ("specification", f"{results.spec.name} ({m['spec']['file']})"), ("formula", m["formula"]),
            ("baselines", ", ".join(f"{k}={v}" for k, v in m.get("baselines", {}).items())),
            ("code revision", run.get("code_revision", "unknown"))]
    rows += [(f"parameter {k}", str(v)) for k, v in run["config"].items()]
    rows += [(f"software {k}", str(v)) for k, v in run["software"].items()]
    return pd.DataFrame(rows, columns=["item", "value"])


def write_workbook(results, path: str | Path) -> Path:
    """Write the workbook of a results folder (``analysis.results.RunResults``) to ``path``."""
    path = Path(path)
    simulated = bool(results.simulated)
    tables, specs = results.tables, table_specs(results.spec, results.metrics.get("baselines"))
    wb = Workbook()
    contents = wb.active
    contents.title = "contents"
    row = 1
    if simulated:
        contents.cell(row=1, column=1, value=BANNER).font = Font(bold=True, color="B22222")
        row = 3
    contents.cell(row=row, column=1, value=sheet_text(f"{results.spec.title} - report tables")).font = Font(bold=True)
    entries = [("fit", "Fit and evaluation statistics of the full and final models."),
               ("provenance", "Data file, specification, formula, parameters, software and code revision.")]
    entries += [(name, spec.caption) for name, spec in specs.items() if name in tables]
    frame = pd.DataFrame([(n[:31], c) for n, c in entries], columns=["sheet", "caption"])
    _write_frame(contents, frame, "contents", row + 1)
    contents.column_dimensions["A"].width = 28
    contents.column_dimensions["B"].width = 110
    ws, start = _sheet(wb, "fit", simulated)
    _write_frame(ws, _fit_frame(results.metrics), "fit", start)
    for cell in ws.iter_rows(min_row=start + 1, min_col=3, max_col=3):
        stat = ws.cell(row=cell[0].row, column=2).value
        if isinstance(cell[0].value, (int, float)):
            cell[0].number_format = (COUNT if stat in ("n_obs", "events", "n") else "0" if stat.endswith("_df")
                                     else P_FORMAT if stat.endswith("_p") else "0.000")
    ws, start = _sheet(wb, "provenance", simulated)
    _write_frame(ws, _provenance_frame(results), "provenance", start)
    for name in specs:
        if name not in tables:
            continue
        ws, start = _sheet(wb, name, simulated)
        _write_frame(ws, _labelled(name, tables[name], results), name, start)
        ws.freeze_panes = ws.cell(row=start + 1, column=1)
    wb.properties.created = wb.properties.modified = FIXED_TIME
    wb.properties.creator = "analysis"
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
