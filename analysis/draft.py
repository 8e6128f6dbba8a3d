"""``python -m analysis init --data FILE``: draft a data specification from a data file.

The file is read by the package's own first pass (the same CSV rules as every run; a Parquet file's
columns keep their types), and each column is described by what its values are:

- numbers only: two values 0/1 -> a *binary* column (which may be the response or a 0/1 predictor:
  the draft says so); whole numbers that are all different and named like an ID -> the *ID*; whole
  numbers >= 0 -> a *count*; other numbers -> *numeric*;
- text: two values -> *binary* (``yes``/``no``, ``y``/``n``, ``true``/``false`` recognised; otherwise the
  less frequent value is taken as "yes", and the draft says so); up to ``MAX_LEVELS`` values ->
  *categorical*; more -> left out (free text or an identifier), with a comment.

The response is never guessed silently: with ``--response`` it is that column; without it, a file with
exactly one two-valued column gets that column with a CHECK note, and a file with several gets a draft
whose response is left for the user to choose (the draft does not load until they do), listing the
candidates. Everything the draft guessed is printed, with what the user must check, and written as
comments in the file.

Missing values (the specification's missing-value spellings, empty cells, Parquet nulls) are counted per
column and reported; the draft ends with a ``[missing]`` table, ``strategy = "complete_cases"`` (rows with a
missing value in a used column are left out and counted), marked CHECK when the rows read have a missing
value in a column the draft uses, with a comment naming the alternatives ("refuse", "impute").
"""
from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.spec import (MAX_LEVELS, MISSING_TOKENS, NAME, RESERVED, ROW, YES_NO, draft_markers, in_sentence,
                           is_yes_no, response_words)

SAMPLE_ROWS = 200_000
#: a count with at most this many distinct values gets a note: codes of groups are counts to the eye
FEW_VALUES = 5
#: the last word of an ID column's name ("id", "customer_id", "PassengerId")
ID_WORDS = {"id", "identifier", "key", "no", "number"}
#: a count or numeric variable spanning more than this many units is stated per 10 units
WIDE = 50


@dataclass
class Column:
    name: str
    kind: str                       # categorical, binary, count, numeric, id, skip
    n_distinct: int
    n_missing: int
    levels: list = field(default_factory=list)
    yes: str = ""
    no: str = ""
    minimum: float | None = None
    maximum: float | None = None
    note: str = ""


def _read_sample(path: Path) -> pd.DataFrame:
    """Up to SAMPLE_ROWS rows of the file as text (CSV, by the package's tokenizer) or typed (Parquet)."""
    from analysis.read.csvscan import CsvFormatError, CsvScan
    from analysis.read.source import TRIM, _csv_error, check_path, sniff_format

    check_path(path)
    if sniff_format(path) == "parquet":
        import pyarrow.parquet as pq

        handle = pq.ParquetFile(path)
        batches = []
        n = 0
        for batch in handle.iter_batches(batch_size=65536):
            batches.append(batch.to_pandas())
            n += batch.num_rows
            if n >= SAMPLE_ROWS:
                break
        return pd.concat(batches, ignore_index=True).head(SAMPLE_ROWS)
    try:
        scan = CsvScan(path)
        header = [h.strip(TRIM) for h in scan.header]
        parts, n = [], 0
        for batch in scan.batches():
            parts.append(batch.to_pandas())
            n += batch.num_rows
            if n >= SAMPLE_ROWS:
                break
    except CsvFormatError as err:
        raise _csv_error(path, err) from None
    frame = pd.concat(parts, ignore_index=True).head(SAMPLE_ROWS)
    frame = frame[[f"f{k}" for k in range(len(header))]]
    frame.columns = header
    return frame.apply(lambda s: s.str.strip(TRIM) if s.dtype == object or pd.api.types.is_string_dtype(s) else s)


def describe(series: pd.Series, name: str) -> Column:
    """What one column's values are (see the module docstring)."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = series.astype("float64")
        missing = values.isna()
        text = None
    else:
        text = series.astype(str)
        missing = series.isna() | text.str.lower().isin(MISSING_TOKENS)
        values = pd.to_numeric(text.where(~missing), errors="coerce")
    present = values[~missing]
    n_missing = int(missing.sum())
    numeric = len(present) > 0 and present.notna().all()
    if numeric:
        distinct = np.unique(present.to_numpy(dtype="float64"))
        whole = np.all(distinct == np.floor(distinct))
        if set(distinct.tolist()) <= {0.0, 1.0} and len(distinct) == 2:
            return Column(name, "binary", 2, n_missing, ["0", "1"], yes="1", no="0",
                          note="0/1: a predictor, or the response?")
        if whole and len(distinct) == len(present) and _is_id_name(name):
            return Column(name, "id", len(distinct), n_missing, note="all values different: the ID")
        kind = "count" if whole and distinct.min() >= 0 else "numeric"
        return Column(name, kind, len(distinct), n_missing, minimum=float(distinct.min()),
                      maximum=float(distinct.max()))
    levels = sorted(map(str, pd.unique((text if text is not None else series.astype(str))[~missing])))
    if len(levels) == 2:
        lower = {lv.lower(): lv for lv in levels}
        for yes, no in YES_NO[:-1]:                 # text pairs (1/0 are numbers, above)
            if set(lower) == {yes, no}:
                return Column(name, "binary", 2, n_missing, levels, yes=lower[yes], no=lower[no])
        counts = (text if text is not None else series.astype(str))[~missing].value_counts()
        rare = str(counts.index[-1])
        other = [lv for lv in levels if lv != rare][0]
        return Column(name, "binary", 2, n_missing, levels, yes=rare, no=other,
                      note=f"two values: '{rare}' (the less frequent) taken as yes -- check")
    if len(levels) <= MAX_LEVELS:
        return Column(name, "categorical", len(levels), n_missing, levels)
    if _is_id_name(name) and len(levels) == len(present):
        return Column(name, "id", len(levels), n_missing, note="all values different: the ID (text)")
    return Column(name, "skip", len(levels), n_missing,
                  note=f"{len(levels):,} distinct texts: free text or an identifier, left out")


def _q(text) -> str:
    """A TOML basic string (JSON's escaping is valid TOML)."""
    return json.dumps(str(text), ensure_ascii=False)


def _words(name: str) -> list[str]:
    """The words of a column name: split at ``_ . -`` and spaces and where camelCase starts a word."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", re.sub(r"[_.\-\s]+", " ", name)).split()


def _is_id_name(name: str) -> bool:
    """A name whose last word says "identifier": ``id``, ``customer_id``, ``PassengerId``, ``record_no``."""
    words = _words(name)
    return bool(words) and words[-1].lower() in ID_WORDS


def _label(name: str) -> str:
    """The column's name as a label in sentence case ("passengerClass" -> "Passenger class", "lwt" -> "Lwt");
    a word in capitals stays so ("BMI")."""
    words = [w if len(w) > 1 and w.isupper() else w.lower() for w in _words(name)]
    text = " ".join(words) or name
    return text[:1].upper() + text[1:]


def _variable_name(column: str) -> str | None:
    """A formula-safe name for a column that is not one already (None when it is)."""
    if NAME.fullmatch(column) and column not in RESERVED:
        return None
    slug = re.sub(r"[^A-Za-z0-9_]+", "_", column).strip("_").lower() or "x"
    slug = slug if re.match(r"[A-Za-z_]", slug) else f"x_{slug}"
    return slug + "_" if slug in RESERVED else slug


def _plural(noun: str) -> str:
    if re.search(r"[^aeiou]y$", noun):
        return noun[:-1] + "ies"
    return noun + ("es" if re.search(r"(s|x|z|ch|sh)$", noun) else "s")


def _row_noun(path: Path, ids: list) -> tuple[str, str]:
    """What one row is, as (noun, where it came from): the words before "id" in the ID column's name
    ("PassengerId" -> "passenger"), else a plural word of the file's name ("customers.csv" -> "customer"), else
    a neutral noun that still reads ("record")."""
    if ids and len(words := _words(ids[0].name)) > 1:
        return " ".join(w.lower() for w in words[:-1]), f"from the ID column '{ids[0].name}'"
    for word in reversed([w.lower() for w in _words(path.stem) if w.isalpha()]):
        if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
            return (word[:-3] + "y" if word.endswith("ies") else word[:-1]), f"from the file name '{path.name}'"
    return ROW, "a neutral noun: neither the file name nor an ID column names one"


def _dataset_lines(path: Path, row: str, source: str, outcome: str | None) -> list[str]:
    title = f"What predicts {outcome}?" if outcome else "What predicts the outcome?"
    return ["[dataset]", f"name = {_q(re.sub(r'[^A-Za-z0-9_]+', '_', path.stem).lower())}",
            f"title = {_q(title)}  # CHECK: the report's title",
            f'row = {_q(row)}  # CHECK: what one row is, singular ("customer"); {source}',
            f"rows = {_q(_plural(row))}  # CHECK: the plural", ""]


#: what each drafted word of the response completes, for its CHECK comment
RESPONSE_WORDS = (("event_group", 'the rows with the event, for tables and sentences ("coupon users")'),
                  ("non_event_group", 'the rows without it ("non-users")'),
                  ("outcome", 'completes "... times the odds of ..." ("using a coupon")'),
                  ("verb", 'completes "40% of the rows ..." ("used the coupon")'),
                  ("rate", 'the event rate as a noun ("coupon-use rate")'))


def _response_lines(r: Column, rows: str, checks: list[str]) -> tuple[list[str], str]:
    """The [response] table with its words drafted (``analysis.spec.response_words``), and its outcome."""
    label = _label(r.name)
    lines = ["[response]", f"column = {_q(r.name)}", f"event = {_q(r.yes)}", f"non_event = {_q(r.no)}",
             f"label = {_q(label)}  # CHECK: the label, in tables and titles"]
    if safe := _variable_name(r.name):
        lines.append(f"name = {_q(safe)}  # the column's name in formulas")
    words = response_words(label, r.yes, r.no, rows)
    lines += [f"{key} = {_q(words[key])}  # CHECK: {what}" for key, what in RESPONSE_WORDS]
    if r.note and "response" not in r.note:
        lines.append(f"# CHECK: {r.note}")
        checks.append(f"CHECK the event value of '{r.name}': {r.note}")
    return lines + [""], words["outcome"]


def _variable_lines(c: Column, rows: str, frame: pd.DataFrame, response: Column | None,
                    checks: list[str]) -> list[str]:
    """One [[variables]] entry: type, label and words, each guess marked CHECK."""
    label = _label(c.name)
    unit = '; add unit = "..." if the values have one ("year")' if c.kind in ("count", "numeric") else ""
    lines = ["[[variables]]", f"column = {_q(c.name)}", f"type = {_q(c.kind)}",
             f"label = {_q(label)}  # CHECK: the label, in tables and sentences{unit}"]
    safe = _variable_name(c.name)
    if c.kind == "binary":
        lines += [f"yes = {_q(c.yes)}", f"no = {_q(c.no)}"]
        if safe:
            lines.append(f"term = {_q(safe + '_' + re.sub(r'[^A-Za-z0-9_]+', '_', c.yes).lower())}")
        if is_yes_no(c.yes, c.no):
            groups = (f"{rows} with {in_sentence(label)}", f"{rows} without {in_sentence(label)}")
        else:
            groups = (f"{c.yes} {rows}", f"{c.no} {rows}")
        lines += [f"yes_group = {_q(groups[0])}  # CHECK: the {rows} at each level, for sentences",
                  f"no_group = {_q(groups[1])}"]
        if c.note:
            lines.append(f"# CHECK: {c.note}")
            if "response" in c.note and response is not None:
                checks.append(f"'{c.name}' is 0/1 and was taken as a binary predictor, not the response.")
    elif safe:
        lines.append(f"name = {_q(safe)}")
    if c.kind == "categorical":
        lines.append('baseline = "most_frequent"')
    if c.kind in ("count", "numeric") and c.minimum is not None and c.minimum >= 0:
        lines.append("min = 0")
    if c.kind in ("count", "numeric") and c.maximum - c.minimum > WIDE:
        lines.append(f"step = 10  # CHECK: odds ratios per 10 (the values span {c.minimum:g} to {c.maximum:g})")
    if c.kind == "count" and c.n_distinct <= FEW_VALUES:
        note = (f"only {c.n_distinct} distinct whole numbers: if they are codes of groups, make it "
                'type = "categorical"')
        lines.append(f"# CHECK: {note}")
        checks.append(f"CHECK '{c.name}': {note}.")
    if response is not None and c.kind in ("count", "numeric", "binary"):
        if note := _separates(frame[c.name], frame[response.name], response):
            lines.append(f"# CHECK: {note}")
            checks.append(f"CHECK '{c.name}': {note}.")
    return lines + [""]


def _missing_lines(used: list[Column], n_rows: int, checks: list[str]) -> list[str]:
    """The ``[missing]`` table: the missing values per used column in the rows read, and the strategy,
    marked CHECK when there are any."""
    found = [c for c in used if c.n_missing]
    alternatives = ('the alternatives: "refuse" (a missing value stops the run) or "impute" (multiple '
                    "imputation; the response is never imputed)")
    if not found:
        return ["[missing]", f"# No missing value in the {n_rows:,} rows read.",
                f'strategy = "complete_cases"  # {alternatives}', ""]
    counts = ", ".join(f"{c.name} {c.n_missing:,} ({c.n_missing / n_rows:.1%})" for c in found) + (
        "; none in the other columns" if len(found) < len(used) else "")
    checks.append(f"Missing values in the {n_rows:,} rows read: {counts}. CHECK [missing] strategy: complete_cases "
                  "leaves those rows out of the model and counts them per column.")
    return ["[missing]", f"# Missing values in the {n_rows:,} rows read: {counts}.",
            f'strategy = "complete_cases"  # CHECK: rows with a missing value in a used column are left out and '
            f"counted per column; {alternatives}", ""]


def draft(path: str | Path, response: str | None = None) -> tuple[str, list[str]]:
    """The draft specification (TOML text) and the list of things the user must check."""
    path = Path(path)
    frame = _read_sample(path)
    columns = [describe(frame[c], c) for c in frame.columns]
    checks: list[str] = []
    by_name = {c.name: c for c in columns}
    candidates = [c.name for c in columns if c.kind == "binary"]
    if response is not None:
        if response not in by_name:
            raise ValueError(f"--response {response!r} is not a column of {path.name}; columns: "
                             f"{', '.join(by_name)}")
        if by_name[response].kind != "binary":
            raise ValueError(f"--response {response!r} has {by_name[response].n_distinct} distinct values; the "
                             "response of a logistic regression has exactly two")
        chosen = response
    elif len(candidates) == 1:
        chosen = candidates[0]
        checks.append(f"CHECK the response: '{chosen}' was taken as the response because it is the only "
                      "column with two values.")
    else:
        chosen = None
        checks.append("CHOOSE the response: " + (f"the two-valued columns are {', '.join(candidates)}; "
                      if candidates else "no column has exactly two values; ")
                      + "set [response] column, event and non_event (the draft does not load until you do), "
                      "or run init again with --response COLUMN.")
    ids = [c for c in columns if c.kind == "id"]
    row, source = _row_noun(path, ids)
    rows = _plural(row)
    if chosen is not None:
        response_lines, outcome = _response_lines(by_name[chosen], rows, checks)
    else:
        response_lines, outcome = ["[response]", '# CHOOSE: column = "...", event = "...", non_event = "..."', ""], None
    lines = ["# Data specification drafted by `python -m analysis init` from " + path.name + ".",
             "# A comment that starts with CHECK marks a guess, one that starts with CHOOSE a choice left to you:",
             "# correct the value if need be and delete the comment. `report` refuses the file while one is left",
             "# (`report --allow-draft` renders it stamped DRAFT). The format: docs/specification.md.", "",
             *_dataset_lines(path, row, source, outcome)]
    if ids:
        lines += ["[id]", f"column = {_q(ids[0].name)}",
                  f"type = {_q('integer' if 'text' not in ids[0].note else 'text')}", ""]
        checks.append(f"CHECK the ID: '{ids[0].name}' (all values different) keys the train/test split.")
    else:
        checks.append("No ID column: the train/test split will hash each row's position in the file.")
    lines += response_lines
    for c in columns:
        if c.name == chosen or (ids and c.name == ids[0].name):
            continue
        if c.kind in ("skip", "id"):
            lines += [f"# left out: {_q(c.name)}: {c.note}", ""]
            checks.append(f"Left out '{c.name}': {c.note}.")
            continue
        lines += _variable_lines(c, rows, frame, by_name[chosen] if chosen else None, checks)
    used = [c for c in columns if c.kind not in ("skip", "id") or (ids and c.name == ids[0].name)]
    lines += _missing_lines(used, len(frame), checks)
    text = "\n".join(lines)
    n = len(draft_markers(text))
    checks.append(f"CHECK the words: {n} comments of the draft start with CHECK or CHOOSE; report refuses the "
                  "draft until each is resolved and deleted (--allow-draft renders it stamped DRAFT).")
    return text, checks


def _separates(x: pd.Series, y: pd.Series, response: Column) -> str:
    """A note when the values of ``x`` split the response completely in the rows read (a column computed
    from the outcome, such as birth weight beside "low birth weight", or a perfect predictor)."""
    xv = pd.to_numeric(x, errors="coerce")
    event = y.astype(str).str.strip() == str(response.yes)
    ok = xv.notna() & y.notna()
    a, b = xv[ok & event], xv[ok & ~event]
    if len(a) < 2 or len(b) < 2:
        return ""
    if a.min() > b.max() or a.max() < b.min():
        return ("its values separate the response completely in the rows read (every row with the event lies "
                "on one side of a cut-off): is it computed from the response? Leave it out if so; a model with "
                "it has no maximum-likelihood estimate")
    return ""


def draft_command(data: Path, out: Path | None, response: str | None) -> int:
    """The ``init`` command: write or print the draft, and print what to check (stderr). Exit code."""
    try:
        text, checks = draft(data, response)
    except ValueError as err:      # --response not a column / not two-valued
        print(f"error: {err}", file=sys.stderr)
        return 2
    if out is not None:
        out = Path(out)
        if out.exists():
            print(f"error: {out} exists; give another --out (init never overwrites a file)", file=sys.stderr)
            return 2
        out.write_text(text, encoding="utf-8")
        print(f"wrote {out}", file=sys.stderr)
    else:
        print(text)
    for line in checks:
        print(f"- {line}", file=sys.stderr)
    print("Then: python -m analysis report --data " + str(data) + " --spec " + (str(out) if out else "SPEC.toml"),
          file=sys.stderr)
    return 0
