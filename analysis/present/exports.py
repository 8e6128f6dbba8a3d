"""Deck-ready exports: ``report_tables.xlsx``, one sheet per report table, ready to paste.

- Every table sheet has the raw tidy columns (full precision) and, where the table names model terms,
  variables or levels, readable ``label`` (and ``compared_with``) columns beside the raw ones, with the
  words of the report.
- Number formats follow what a column holds and the report's rounding rule: counts ``#,##0`` (a whole
  number is never shown with decimals), 0/1 levels ``0``, odds ratios ``0.00``, p-values ``< 0.001`` below
  that, rates and shares ``0.0%``, coefficients and statistics ``0.000``; where the rows of one column
  hold different things (the means table and the profile: a share for a binary variable, a mean in the
  variable's unit for the others), each cell by its row. So a pasted number matches the report and a
  recomputation from the cell is still exact.
- Sheet names are the table names (``tables/<name>.csv``, listed on the contents sheet beside each sheet)
  in the specification's nouns where a name has a noun: ``profile_top_<rows>``, ``means_by_<response>``,
  ``correlation_with_<response>`` (for the coupon data: ``profile_top_customers``, ``means_by_flag``).
- A ``fit`` sheet (fit and evaluation statistics of both models and samples) and a ``provenance`` sheet
  (file, SHA-256, specification, formula, parameters, software, code revision).
- Text is always a string cell, never a formula (and formula-like text gets a leading ``'``, as
  ``analysis.present.escape.sheet_text`` says); with simulated data every sheet starts with the SIMULATED banner,
  and with a draft specification (``report --allow-draft``) with the DRAFT banner.
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
    "specificity": PERCENT, "flagged_share": PERCENT,
    "n": COUNT, "events": COUNT, "rows": COUNT, "rows_excluded": COUNT, "rows_remaining": COUNT, "cum_n": COUNT,
    "cum_events": COUNT, "tp": COUNT, "fp": COUNT, "tn": COUNT, "fn": COUNT, "flagged": COUNT, "trials": COUNT,
    "observed_events": COUNT, "df": "0", "step": "0", "decile": "0", "bin": "0", "group": "0", "lr_df": "0",
    "hl_df": "0", "wald_df": "0", "wald_p": P_FORMAT, "count": COUNT, "n_terms": "0", "boot_low": "0.00",
    "boot_high": "0.00", "selected_share": PERCENT, "observed_nonevents": COUNT, "terms": "0", "parameters": "0",
}
#: percentage-point columns of the marginal-effects table are stored as proportions: shown in %
PROPORTION_TABLES = {"marginal_effects": ("ame", "std_error", "conf_low", "conf_high")}
#: columns whose meaning depends on the table: odds ratios in the claims (and AUCs for the fit's claims, shown
#: with the same two decimals a reader cites), probabilities in the corrected calibration curve
BY_TABLE = {"calibration_corrected": {"predy": PERCENT, "calibrated_orig": PERCENT, "calibrated_corrected": PERCENT,
                                      "optimism": "0.00%"},
            "missingness": {"share_missing": PERCENT, "rate_missing": PERCENT, "rate_observed": PERCENT,
                            "rows_missing": COUNT, "events_missing": COUNT, "rows_observed": COUNT,
                            "events_observed": COUNT},
            "missing_vs_complete": {"n_excluded": COUNT, "n_kept": COUNT, "std_difference": "0.00"},
            "interaction_tests": {"p_holm": P_FORMAT},
            "leakage_check": {"auc_with": "0.000", "auc_without": "0.000", "difference": "0.000"},
            "influence": {"fitted": PERCENT, "leverage": "0.0000", "cooks_distance": "0.0000"}}
BANNER = "SIMULATED DATA - not real people or firms"
DRAFT_BANNER = "DRAFT - the data specification still has unchecked CHECK/CHOOSE items"
#: a value in the unit of its variable (a mean, a difference of means, the smallest value of a group)
UNIT = "0.000"
#: tables whose rows hold different things: the columns whose format follows the row (a share or a mean)
BY_ROW = {"means_by_flag": ("mean_flag_0", "mean_flag_1", "difference"),
          PROFILE_TABLE: ("top", "rest", "difference"), "claims": ("estimate", "conf_low", "conf_high"),
          "missing_vs_complete": ("excluded", "kept")}
#: the values at which a spline's odds ratios are stated, in the variable's unit: whole numbers as such
SPLINE_VALUES = ("spline_odds_ratios", ("value", "reference"))
FIXED_TIME = dt.datetime(2000, 1, 1)  # workbook metadata: fixed, so the same results give the same file


def _whole(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and (values.dropna() == values.dropna().round()).all()


def _number_format(table: str, column: str, values: pd.Series) -> str:
    if table.startswith("rate_by_") or table.endswith("_tail"):
        if column in ("conf_low", "conf_high"):
            return PERCENT
        if column in ("level", "min", "max") and _whole(values):
            return "0"                     # 0/1 levels, categories written as whole numbers, whole-number values
    if column in PROPORTION_TABLES.get(table, ()):
        return "0.00%"
    if table == SPLINE_VALUES[0] and column in SPLINE_VALUES[1]:
        return "0" if _whole(values) else "0.0##"
    if column in BY_TABLE.get(table, {}):
        return BY_TABLE[table][column]
    if column not in BY_COLUMN and pd.api.types.is_integer_dtype(values):
        return COUNT                       # a column of whole numbers: counts, the response's 0/1
    return BY_COLUMN.get(column, UNIT)


def _row_formats(table: str, frame: pd.DataFrame, spec) -> list[str] | None:
    """The format of each row of a table whose rows hold different things (:data:`BY_ROW`): a share (a binary
    variable, the event rate; the profile's ``kind``) as a percentage, a mean in the variable's unit; in the
    claims an odds ratio to the two decimals it is cited with, an AUC or a difference to three."""
    if table not in BY_ROW or spec is None:
        return None
    if table == "claims":                  # odds ratios to 2 decimals as cited; AUCs and differences to 3
        return ["0.00" if t in ("odds ratio",) else "0.000" for t in frame["topic"]]
    if "kind" in frame.columns:
        kinds = frame["kind"].tolist()
    elif "summary" in frame.columns:       # missing_vs_complete: a share by level, or a mean
        kinds = frame["summary"].tolist()
    else:
        binary = {v.name for v in spec.variables if v.kind == "binary"}
        kinds = ["share" if v in binary else "mean" for v in frame["variable"]]
    return [PERCENT if k == "share" else UNIT for k in kinds]


def sheet_names(names, spec) -> dict[str, str]:
    """The workbook's sheet name of each table: its name, in the specification's nouns where the name has one
    (the profile of the top-scored rows, the means and correlations by the response), cut to Excel's 31
    characters without the characters Excel refuses, and unique."""
    import re

    def noun(text: str) -> str:
        return re.sub(r"\W+", "_", text.lower()).strip("_") or "rows"

    own = {PROFILE_TABLE: f"profile_top_{noun(spec.rows)}", "means_by_flag": f"means_by_{noun(spec.response.name)}",
           "correlation_with_flag": f"correlation_with_{noun(spec.response.name)}"}
    out, taken = {}, set()
    for name in names:
        title = re.sub(r"[\[\]:*?/\\]", "_", own.get(name, name))[:31]
        k = 1
        while title.lower() in taken:
            k += 1
            title = f"{title[:31 - len(str(k)) - 1]}~{k}"
        taken.add(title.lower())
        out[name] = title
    return out


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
        # the means and correlations hold a binary variable's 0/1 column: named by its level ("Sex: female")
        labels = spec.indicator_labels() if name in ("means_by_flag", "correlation_with_flag") else spec.labels()
        out.insert(1, "label", [labels.get(v, v) for v in out["variable"]])
        if "level" in out.columns:         # a level by group (calibration): its name ("female", not 1)
            out.insert(list(out.columns).index("level") + 1, "level_label",
                       [_level_label(spec, v, x) for v, x in zip(out["variable"], out["level"])])
    elif name.startswith("rate_by_") and "level" in out.columns:
        var = next((v for v in spec.variables if name == f"rate_by_{v.column or v.name}"), None)
        if var is not None:
            out.insert(1, "label", [var.level_label(x) for x in out["level"]])
    elif name == PROFILE_TABLE:
        from analysis.present.narrative import profile_label
        out.insert(1, "label", [profile_label(c, spec) for c in out["characteristic"]])
    elif name == "class_balance" and spec.response.name in out.columns:
        out.insert(1, "label", [spec.response.level_label(x) for x in out[spec.response.name]])
    return out


def _level_label(spec, variable, level) -> str:
    try:
        return spec.variable(variable).level_label(level)
    except KeyError:
        return str(level)


def _write_frame(ws, frame: pd.DataFrame, name: str, start_row: int, spec=None) -> None:
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
    by_row = _row_formats(name, frame, spec)
    for j, column in enumerate(frame.columns, start=1):
        fmt = _number_format(name, column, frame[column])
        formats = by_row if by_row is not None and column in BY_ROW[name] else [fmt] * len(frame)
        width = max(len(str(column)), 10) + 2
        for k, (cell,) in enumerate(ws.iter_rows(min_row=start_row + 1, max_row=start_row + len(frame), min_col=j,
                                                 max_col=j)):
            if isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool):
                # a whole number in a column of mixed values (the provenance's bytes and rows) is a count
                whole = isinstance(cell.value, int) and formats[k] == UNIT
                cell.number_format = COUNT if whole else formats[k]
            elif cell.value is not None:
                width = max(width, min(len(str(cell.value)) + 2, 60))
        ws.column_dimensions[get_column_letter(j)].width = width


def _banners(results) -> list[str]:
    """The lines at the top of every sheet: SIMULATED for simulated data, DRAFT for a draft specification."""
    return [text for text, on in ((BANNER, results.simulated), (DRAFT_BANNER, results.spec.draft)) if on]


def _sheet(wb, title: str, banners) -> tuple:
    ws = wb.create_sheet(title[:31])
    return ws, _write_banners(ws, banners)


def _write_banners(ws, banners) -> int:
    """Write the banners at the top of ``ws``; the first row after them and a blank line."""
    for k, text in enumerate(banners, start=1):
        ws.cell(row=k, column=1, value=text).font = Font(bold=True, color="B22222")
    return len(banners) + 2 if banners else 1


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
    banners = _banners(results)
    tables, specs = results.tables, table_specs(results.spec, results.metrics.get("baselines"))
    names = sheet_names([name for name in specs if name in tables], results.spec)
    wb = Workbook()
    contents = wb.active
    contents.title = "contents"
    row = _write_banners(contents, banners)
    contents.cell(row=row, column=1, value=sheet_text(f"{results.spec.title} - report tables")).font = Font(bold=True)
    entries = [("fit", "Fit and evaluation statistics of the full and final models.", "metrics.json"),
               ("provenance", "Data file, specification, formula, parameters, software and code revision.",
                "run.json")]
    entries += [(names[name], spec.caption, f"tables/{name}.csv") for name, spec in specs.items() if name in tables]
    frame = pd.DataFrame(entries, columns=["sheet", "caption", "file"])
    _write_frame(contents, frame, "contents", row + 1)
    contents.column_dimensions["A"].width = 28
    contents.column_dimensions["B"].width = 110
    ws, start = _sheet(wb, "fit", banners)
    _write_frame(ws, _fit_frame(results.metrics), "fit", start)
    for cell in ws.iter_rows(min_row=start + 1, min_col=3, max_col=3):
        stat = ws.cell(row=cell[0].row, column=2).value
        if isinstance(cell[0].value, (int, float)):
            cell[0].number_format = (COUNT if stat in ("n_obs", "events", "n") else "0" if stat.endswith("_df")
                                     else P_FORMAT if stat.endswith("_p") else "0.000")
    ws, start = _sheet(wb, "provenance", banners)
    _write_frame(ws, _provenance_frame(results), "provenance", start)
    for name, title in names.items():
        ws, start = _sheet(wb, title, banners)
        _write_frame(ws, _labelled(name, tables[name], results), name, start, results.spec)
        ws.freeze_panes = ws.cell(row=start + 1, column=1)
    wb.properties.created = wb.properties.modified = FIXED_TIME
    wb.properties.creator = "analysis"
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
