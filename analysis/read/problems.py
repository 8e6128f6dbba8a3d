"""What a reader reports: a ``Problem`` per (column, rule) and one ``DataValidationError`` listing them all.

Every problem names the column (or the file), what is wrong, how many rows it affects, the first file
lines (CSV: physical line numbers, counting every line break; Parquet: row numbers) and IDs, the first
distinct values seen, and what to do. Values from the data are shown with ``repr`` (control and
invisible characters escaped) and cut to ``MAX_VALUE_CHARS``, so a message stays one readable line
whatever the file holds.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MAX_EXAMPLES = 5
MAX_VALUE_CHARS = 60


def shown_value(value) -> str:
    """A value from the data as a message shows it: ``repr`` of at most MAX_VALUE_CHARS characters."""
    text = "" if value is None else str(value)
    if len(text) > MAX_VALUE_CHARS:
        return repr(text[:MAX_VALUE_CHARS]) + f"... ({len(text):,} characters)"
    return repr(text)


def shown_path(path) -> str:
    """A file's path as a message shows it: as given, or ``repr`` of it when it holds a character that is
    not printable (a line break, an escape sequence), so that a file name cannot forge message lines."""
    text = str(path)
    return text if text.isprintable() else repr(text)


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
    #: what ``lines`` count: "file lines" (CSV) or "rows" (Parquet)
    unit: str = "file lines"

    def message(self) -> str:
        where = ""
        if self.lines:
            more = " ..." if self.rows > len(self.lines) else ""
            where = f" ({self.unit} {', '.join(map(str, self.lines))}{more}"
            if self.ids:
                where += f"; IDs {', '.join(shown_value(i)[1:-1] for i in self.ids)}"
            where += ")"
        values = f"; values seen: {', '.join(shown_value(v) for v in self.values)}" if self.values else ""
        rows = f" in {self.rows:,} row{'s' if self.rows != 1 else ''}" if self.rows else ""
        column = f"column {shown_value(self.column)}" if self.column else "file"
        text = f"{column}: {self.what}{rows}{where}{values}."
        return f"{text} {self.fix}".strip()


class DataValidationError(ValueError):
    """The input data cannot be used; ``problems`` lists every reason found."""

    def __init__(self, path: str | Path, problems: list[Problem], n_rows: int | None = None):
        self.path = str(path)
        self.problems = list(problems)
        self.n_rows = n_rows
        head = f"Invalid input data in {shown_path(self.path)}"
        if n_rows is not None:
            head += f" ({n_rows:,} data rows read)"
        lines = [f"{head}: {len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}."]
        lines += [f"  - {p.message()}" for p in self.problems]
        super().__init__("\n".join(lines))

    def verdict(self) -> tuple:
        """The problems as comparable tuples (tests compare engines by this)."""
        return tuple((p.column, p.what, p.rows, p.lines, p.ids, p.values, p.fix, p.unit) for p in self.problems)


def file_problem(what: str, fix: str) -> Problem:
    return Problem(column="", what=what, rows=0, fix=fix)


def file_error(path, what: str, fix: str, n_rows: int | None = None) -> DataValidationError:
    return DataValidationError(path, [file_problem(what, fix)], n_rows=n_rows)
