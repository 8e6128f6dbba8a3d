"""Data layer: read, validate and clean the Tmall coupon CSV.

Reading is strict and loses nothing: every problem is collected (not just the first), and each is
reported with the column, how many rows it affects, the first few file lines and IDs, and what to
do. Domain rules (ranges, allowed values, unique IDs) are a pandera schema; the parsing of raw
text into numbers is done here because pandera reports a missing value, a word and a decimal in an
integer column all as one "coercion" failure, and the user needs to know which it is.

Exclusions (such as ``max_age``) are parameters, and every excluded row is counted in the
row-accounting table that the report shows.
"""
from __future__ import annotations

import csv
import difflib
import functools
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import schema

#: tokens read as a missing value (pandas' usual set, minus nothing: "NA" is never a job title)
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "#n/a", "-", "?"})
INTEGER_COLUMNS = (schema.ID, *schema.COUNTS, schema.RAW_RESPONSE)
TEXT_COLUMNS = (*schema.CATEGORICAL, *schema.YES_NO)
MAX_EXAMPLES = 5
SIDECAR_SUFFIX = ".simulated.json"


@dataclass(frozen=True)
class Problem:
    """One validation failure: a column, the rows it affects and what to do."""

    column: str
    what: str
    rows: int
    lines: tuple[int, ...] = ()
    ids: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    fix: str = ""

    def message(self) -> str:
        where = ""
        if self.lines:
            more = " ..." if self.rows > len(self.lines) else ""
            where = f" (file lines {', '.join(map(str, self.lines))}{more}"
            if self.ids:
                where += f"; IDs {', '.join(self.ids)}"
            where += ")"
        values = f"; values seen: {', '.join(repr(v) for v in self.values)}" if self.values else ""
        rows = f" in {self.rows:,} row{'s' if self.rows != 1 else ''}" if self.rows else ""
        column = f"column '{self.column}'" if self.column else "file"
        text = f"{column}: {self.what}{rows}{where}{values}."
        return f"{text} {self.fix}".strip()


class DataValidationError(ValueError):
    """The input data cannot be used; ``problems`` lists every reason found."""

    def __init__(self, path: str | Path, problems: list[Problem], n_rows: int | None = None):
        self.path = str(path)
        self.problems = list(problems)
        self.n_rows = n_rows
        head = f"Invalid input data in {self.path}"
        if n_rows is not None:
            head += f" ({n_rows:,} data rows read)"
        lines = [f"{head}: {len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}."]
        lines += [f"  - {p.message()}" for p in self.problems]
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class CleanData:
    """Cleaned data with the row accounting and provenance of the file it came from."""

    data: pd.DataFrame
    accounting: pd.DataFrame
    source: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    #: customer IDs of the rows of ``data``, in order (ID is dropped from ``data`` but keys the split)
    ids: np.ndarray | None = None

    @property
    def simulated(self) -> bool:
        return bool(self.source.get("simulated"))


# ----------------------------------------------------------------------------- reading


def _file_problem(what: str, fix: str) -> Problem:
    return Problem(column="", what=what, rows=0, fix=fix)


def read_raw(path: str | Path) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Read the CSV as text, every cell a string, and check the header.

    Handles CRLF or LF line endings, a last line without newline, and UTF-8 with or without BOM.
    Returns the frame (required columns only, in schema order) and notes about ignored columns.
    """
    path = Path(path)
    if not path.exists():
        raise DataValidationError(path, [_file_problem("does not exist", "Check the path given with --data.")])
    if path.is_dir():
        raise DataValidationError(path, [_file_problem("is a directory, not a CSV file", "Give the path of the CSV file.")])
    raw_bytes = path.read_bytes()
    if not raw_bytes.strip():
        raise DataValidationError(path, [_file_problem("is empty", "Export the data again; the file has no header and no rows.")])
    if raw_bytes[:4] == b"PAR1":
        raise DataValidationError(path, [_file_problem(
            "is a Parquet file, which the in-memory reader (--engine memory) does not read",
            "Use --engine duckdb (or auto, the default), which reads Parquet with the same checks.")])
    if b"\x00" in raw_bytes[:65536]:
        raise DataValidationError(path, [_file_problem(
            "is not CSV text (it contains binary NUL bytes; is it a spreadsheet or a compressed file?)",
            "Save the data as comma-separated UTF-8 text (.csv).")])
    try:
        text = raw_bytes.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataValidationError(path, [_file_problem(
            f"is not UTF-8 text (undecodable byte at offset {err.start})",
            "Save the file as UTF-8 CSV.")]) from None

    header = next(csv.reader(io.StringIO(text)), [])
    header = [h.strip() for h in header]
    problems = _header_problems(header)
    if problems:
        raise DataValidationError(path, problems)
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.ParserError as err:
        raise DataValidationError(path, [_file_problem(
            f"could not be parsed as CSV ({err})",
            "Check that every line has the same number of comma-separated fields as the header.")]) from None
    frame.columns = header
    if len(frame) == 0:
        raise DataValidationError(path, [_file_problem(
            "has a header but no data rows", "Export the data again with its rows.")], n_rows=0)
    extra = [c for c in header if c not in schema.RAW_COLUMNS]
    notes = (f"Ignored {len(extra)} extra column(s) not used by the model: {', '.join(extra)}.",) if extra else ()
    return frame[list(schema.RAW_COLUMNS)], notes


def _header_problems(header: list[str]) -> list[Problem]:
    problems = []
    if len(header) < 2:
        problems.append(_file_problem(
            f"does not look like comma-separated text (header has {len(header)} field)",
            f"Save the data as CSV with the columns {', '.join(schema.RAW_COLUMNS)}."))
        return problems
    seen = pd.Series(header)
    for name in sorted(set(seen[seen.duplicated()])):
        problems.append(Problem(name, f"appears {int((seen == name).sum())} times in the header", 0,
                                fix="Keep one column of that name."))
    extra = [c for c in header if c not in schema.RAW_COLUMNS]
    for name in schema.RAW_COLUMNS:
        if name not in header:
            close = difflib.get_close_matches(name, extra, n=1, cutoff=0.6) or difflib.get_close_matches(
                name.lower(), [e.lower() for e in extra], n=1, cutoff=0.6)
            hint = f" The header has '{close[0]}': rename it to '{name}'." if close else (
                f" Add the column '{name}' (see README, data schema).")
            problems.append(Problem(name, "is missing from the header", 0, fix=hint.strip()))
    return problems


# ----------------------------------------------------------------------------- validation


def _examples(mask: pd.Series, ids: pd.Series) -> tuple[tuple[int, ...], tuple[str, ...]]:
    positions = np.flatnonzero(mask.to_numpy())[:MAX_EXAMPLES]
    lines = tuple(int(p) + 2 for p in positions)  # +1 header, +1 one-based
    id_values = tuple(str(ids.iloc[p]) for p in positions if str(ids.iloc[p]).strip())
    return lines, id_values


def _problem(column: str, mask: pd.Series, frame: pd.DataFrame, what: str, fix: str, show_values: bool = True):
    lines, ids = _examples(mask, frame[schema.ID])
    values = tuple(dict.fromkeys(frame.loc[mask, column].astype(str)).keys())[:MAX_EXAMPLES] if show_values else ()
    return Problem(column, what, int(mask.sum()), lines, ids, values, fix)


def parse_values(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    """Turn the text frame into typed columns; report missing values, words and decimals."""
    problems: list[Problem] = []
    typed = pd.DataFrame(index=frame.index)
    for column in schema.RAW_COLUMNS:
        text = frame[column].fillna("").str.strip()
        missing = text.str.lower().isin(MISSING_TOKENS)
        if missing.any():
            problems.append(_problem(column, missing, frame, "missing value", (
                "Fill in the missing values or remove those rows before running; rows are never dropped silently."),
                show_values=False))
        if column in INTEGER_COLUMNS:
            number = pd.to_numeric(text.where(~missing), errors="coerce")
            # "inf" or "1e400" parse as infinite floats: for a whole-number column they are text too
            words = (number.isna() | ~np.isfinite(number.astype(float))) & ~missing
            number = number.where(~words)
            if words.any():
                problems.append(_problem(column, words, frame, "text in a numeric column",
                                         "Correct those cells to whole numbers."))
            fractional = number.notna() & (number != np.floor(number))
            if fractional.any():
                problems.append(_problem(column, fractional, frame, "non-integer value",
                                         "This column holds whole numbers; correct those cells."))
            typed[column] = number.where(~fractional).astype("Int64")
        else:
            typed[column] = text.where(~missing)
    return typed, problems


@functools.cache
def domain_schema():
    """The domain rules on the typed frame, as a pandera schema; a column's nulls were already reported
    by parse_values. Built on first use: pandera (and the pyspark it imports when installed) costs
    0.16 s and some memory at import, which the streamed DuckDB path does not need."""
    import pandera.pandas as pa

    return pa.DataFrameSchema(
        {
            schema.ID: pa.Column("Int64", unique=True, nullable=True, report_duplicates="all"),
            "age": pa.Column("Int64", [pa.Check.ge(0, error="negative"), pa.Check.le(120, error="above 120")],
                             nullable=True),
            "coupon_used_in_last6_month": pa.Column("Int64", pa.Check.ge(0, error="negative"), nullable=True),
            "coupon_used_in_last_month": pa.Column("Int64", pa.Check.ge(0, error="negative"), nullable=True),
            schema.RAW_RESPONSE: pa.Column("Int64", pa.Check.isin([0, 1], error="not 0 or 1"), nullable=True),
            **{c: pa.Column(str, pa.Check.isin(["yes", "no"], error="not yes/no"), nullable=True)
               for c in schema.YES_NO},
            **{c: pa.Column(str, nullable=True) for c in schema.CATEGORICAL},
        },
        strict=False,
    )


_FIXES = {
    "negative": ("negative value", "Counts and ages cannot be negative; correct those cells."),
    "above 120": ("age above 120", "Check the age column (years)."),
    "not 0 or 1": ("response outside {0, 1}", "coupon_ind must be 1 (used the coupon) or 0 (did not)."),
    "not yes/no": ("value other than 'yes'/'no'", "Recode the column to lower-case 'yes'/'no'."),
    "field_uniqueness": ("duplicate ID", "Each customer must appear once; remove or merge the duplicates."),
}


def check_domain(typed: pd.DataFrame, frame: pd.DataFrame) -> list[Problem]:
    """Run the pandera schema and turn its failure cases into Problems (one per column and rule)."""
    from pandera.errors import SchemaErrors

    try:
        domain_schema().validate(typed, lazy=True)
        return []
    except SchemaErrors as err:
        cases = err.failure_cases
    problems = []
    cases = cases[cases["index"].notna()]
    for (column, check), group in cases.groupby(["column", "check"], sort=False):
        key = "field_uniqueness" if "uniq" in str(check) else str(check)
        what, fix = _FIXES.get(key, (f"failed check {check}", "Correct those cells."))
        mask = pd.Series(False, index=frame.index)
        mask.loc[group["index"].astype(int).unique()] = True
        problems.append(_problem(column, mask, frame, what, fix))
    return problems


def validate(frame: pd.DataFrame, path: str | Path = "<data>") -> pd.DataFrame:
    """Typed, validated raw frame; raises DataValidationError listing every problem found."""
    typed, problems = parse_values(frame)
    problems += check_domain(typed, frame)
    if problems:
        order = {c: i for i, c in enumerate(schema.RAW_COLUMNS)}
        problems.sort(key=lambda p: order.get(p.column, -1))
        raise DataValidationError(path, problems, n_rows=len(frame))
    out = typed.astype({c: "int64" for c in INTEGER_COLUMNS})
    return out


# ----------------------------------------------------------------------------- cleaning


def clean(raw: pd.DataFrame) -> pd.DataFrame:
    """The original analysis' cleaning: yes/no flags to 0/1 dummies, ID dropped, coupon_ind -> flag."""
    out = raw.drop(columns=[schema.ID]).copy()
    for col, dummy in schema.DUMMY.items():
        out[dummy] = (out.pop(col) == "yes").astype("int64")
    out[schema.RESPONSE] = out.pop(schema.RAW_RESPONSE).astype("int64")
    return out.reset_index(drop=True)


def apply_exclusions(raw: pd.DataFrame, max_age: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply the optional exclusion rules; return the kept rows and the row-accounting table.

    The accounting table has columns ``step, rows_excluded, rows_remaining``: rows read, one line
    per rule (with its count even when zero), rows used.
    """
    steps = [("rows read", 0, len(raw))]
    kept = raw
    if max_age is not None:
        drop = kept["age"] > max_age
        kept = kept[~drop]
        steps.append((f"excluded: age > {max_age} (--max-age {max_age})", int(drop.sum()), len(kept)))
    steps.append(("rows used", 0, len(kept)))
    accounting = pd.DataFrame(steps, columns=["step", "rows_excluded", "rows_remaining"])
    return kept, accounting


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file, read in blocks so that large files need no memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 24), b""):
            digest.update(block)
    return digest.hexdigest()


def file_provenance(path: str | Path) -> dict:
    """File name, size, SHA-256, and whether it is the project's simulated sample (sidecar file)."""
    path = Path(path)
    digest = sha256_file(path)
    info = {"file": path.name, "path": str(path), "bytes": path.stat().st_size, "sha256": digest,
            "format": "csv", "simulated": False}
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    if sidecar.exists():
        meta = json.loads(sidecar.read_text())
        if meta.get("sha256") == digest:
            info["simulated"] = True
            info["simulation"] = meta
    return info


def load_clean(path: str | Path, max_age: int | None = None) -> CleanData:
    """Read, validate, apply exclusions and clean; the entry point of the data layer."""
    frame, notes = read_raw(path)
    raw = validate(frame, path)
    kept, accounting = apply_exclusions(raw, max_age=max_age)
    data = clean(kept)
    if data[schema.RESPONSE].nunique() < 2:
        only = int(data[schema.RESPONSE].iloc[0]) if len(data) else None
        raise DataValidationError(path, [Problem(
            schema.RAW_RESPONSE, f"every used row has the same response ({only})", len(data),
            fix="A logistic regression needs customers who used the coupon and customers who did not.")],
            n_rows=len(frame))
    return CleanData(data=data, accounting=accounting, source=file_provenance(path), notes=notes,
                     ids=kept[schema.ID].to_numpy())
