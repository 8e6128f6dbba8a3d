"""Data specifications: the one place that knows a data set.

A specification is a TOML file (read with the standard library's :mod:`tomllib`) that declares, for one
table with a binary outcome: the response column and which value is the event; an optional ID column
(which keys the train/test split; without one, the split hashes the row's position in the file); each
variable's role (categorical, binary yes/no, count, numeric), its display label and the words the
report uses for it; derived columns (an expression over other columns) and the rules the rows must
satisfy; optional exclusion rules; what one row is ("customer", "patient"); and the title and
background paragraph of the report. Everything downstream -- the readers' validation rules, the model
terms, tables, figures and sentences -- takes its words and rules from it; no module of the package
names a column of a particular data set. The bundled specification of the Tmall coupon data
(``analysis/spec/tmall.toml``) is the default.

``load_spec(path)`` reads and checks a file and returns a :class:`Spec`; every mistake in the file is
reported at once in a :class:`SpecError` naming the key and what to write instead. ``python -m analysis
init --data FILE.csv`` drafts a specification from a data file (:mod:`analysis.spec.draft`).

The format, key by key, is documented in ``docs/specification.md``.
"""
from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from .expr import Expression, ExpressionError, parse

__all__ = ["Spec", "Variable", "Response", "IdColumn", "Rule", "Exclusion", "SpecError", "load_spec",
           "default_spec", "with_exclusions", "DEFAULT_SPEC", "KINDS", "MISSING_TOKENS"]

DEFAULT_SPEC = Path(__file__).with_name("tmall.toml")
KINDS = ("categorical", "binary", "count", "numeric")
SHAPES = ("linear", "spline")
BASELINES = ("most_frequent", "first")
#: cell texts read as a missing value, compared case-insensitively after trimming spaces and tabs:
#: the usual spellings of "missing" in exports, and spreadsheet error values
MISSING_TOKENS = ("", "na", "n/a", "nan", "null", "none", "nil", "#n/a", "#na", "<na>", "-", "?",
                  "#null!", "#value!", "#div/0!", "#ref!", "#num!", "#name?")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: names a model variable must not take: they have a meaning in formulas or in the pattern table
RESERVED = {"C", "Q", "I", "Treatment", "rcs", "np", "sample", "trials", "events", "Intercept"}
MAX_LEVELS = 50


class SpecError(ValueError):
    """A specification file cannot be used; ``problems`` lists every mistake found."""

    def __init__(self, path, problems: list[str]):
        self.path = str(path)
        self.problems = list(problems)
        lines = [f"Invalid data specification ({self.path}): {len(self.problems)} problem"
                 f"{'s' if len(self.problems) != 1 else ''}."]
        lines += [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class Response:
    """The binary outcome: file column, model name, event and non-event values, and its words."""

    column: str
    name: str
    event: str
    non_event: str
    label: str
    description: str
    #: rows with the event / without it, as a noun phrase ("coupon users", "non-users")
    event_group: str
    non_event_group: str
    #: "the odds of <outcome>" ("using a coupon")
    outcome: str
    #: "<rows> who returned goods <verb> at 14.7%" ("used the coupon")
    verb: str
    #: the event rate, as a noun ("coupon-use rate")
    rate: str


@dataclass(frozen=True)
class IdColumn:
    column: str
    type: str  # "integer" or "text"
    description: str


@dataclass(frozen=True)
class Variable:
    """A model variable: a column of the file, or a column derived from others by an expression.

    ``name`` is the variable's name in the pattern table and in formulas: the file column for
    categorical, count and numeric variables, the 0/1 dummy for a binary one (``<column>_<yes>`` unless
    ``term`` is given), the declared name for a derived one.
    """

    name: str
    column: str | None
    kind: str
    label: str
    description: str = ""
    expression: Expression | None = None
    in_model: bool = True
    # categorical
    baseline: str = "most_frequent"
    groups: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    level_labels: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    max_levels: int = MAX_LEVELS
    # binary
    yes: str = "yes"
    no: str = "no"
    yes_group: str = ""
    no_group: str = ""
    # count / numeric
    minimum: float | None = None
    maximum: float | None = None
    unit: str = ""
    units: str = ""
    step: float = 1.0
    #: what an odds ratio of the variable is stated per, in words ("10 years of age")
    per: str = ""
    shape: str = "linear"
    knots: int = 4
    bins: tuple[float, ...] = ()
    tail_above: float | None = None

    @property
    def derived(self) -> bool:
        return self.expression is not None

    @property
    def numeric(self) -> bool:
        return self.kind in ("count", "numeric")

    def group(self, level) -> str:
        """The rows at ``level`` as a noun phrase ("admin staff"), for sentences."""
        if self.kind == "binary":
            return self.yes_group if str(level) in ("1", self.yes) else self.no_group
        return self.groups.get(str(level), "")

    def level_label(self, level) -> str:
        """Short label of a level for tables and figures (the level itself unless declared)."""
        if self.kind == "binary":
            return "yes" if str(level) in ("1", self.yes) else "no"
        return self.level_labels.get(str(level), str(level))

    def step_phrase(self) -> str:
        """"10 years" / "1 coupon": the change an odds ratio of a numeric variable is stated for."""
        step = _number(self.step)
        unit = self.unit if self.step == 1 else (self.units or self.unit)
        return f"{step} {unit}".strip() if unit else (f"{step} unit{'s' if self.step != 1 else ''}")


@dataclass(frozen=True)
class Rule:
    """A condition every row must satisfy (``check``); a row that does not is reported under ``column``."""

    check: Expression
    column: str
    what: str
    fix: str


@dataclass(frozen=True)
class Exclusion:
    """Rows where ``condition`` holds are excluded (and counted in the row accounting as ``description``)."""

    condition: Expression
    description: str


@dataclass(frozen=True)
class Spec:
    path: Path
    name: str
    title: str
    subtitle: str
    background: str
    row: str
    rows: str
    source: str
    response: Response
    id: IdColumn | None
    variables: tuple[Variable, ...]
    rules: tuple[Rule, ...] = ()
    exclusions: tuple[Exclusion, ...] = ()
    #: candidate terms of the model, in order (the default: one term per variable in the model)
    terms: tuple[str, ...] = ()
    #: terms always kept by selection
    force: tuple[str, ...] = ()
    missing_tokens: tuple[str, ...] = MISSING_TOKENS
    #: what the data cannot say, in the analyst's words (the report's limitations list them)
    caveats: tuple[str, ...] = ()

    # -- lookups
    def variable(self, name: str) -> Variable:
        for v in self.variables:
            if v.name == name or v.column == name:
                return v
        raise KeyError(name)

    def has(self, name: str) -> bool:
        return any(v.name == name for v in self.variables)

    @property
    def file_columns(self) -> tuple[str, ...]:
        """The columns of the file the analysis uses: ID, predictors (and inputs of derived columns),
        response, in that order."""
        cols = ([self.id.column] if self.id else []) + [v.column for v in self.variables if v.column]
        return tuple(dict.fromkeys(cols + [self.response.column]))

    @property
    def pattern_variables(self) -> tuple[str, ...]:
        """Names of the variables of the pattern table, in specification order."""
        return tuple(v.name for v in self.variables)

    @property
    def model_variables(self) -> tuple[Variable, ...]:
        return tuple(v for v in self.variables if v.in_model)

    def labels(self) -> dict[str, str]:
        """Display label of every variable (and of the response, under its model name)."""
        out = {v.name: v.label for v in self.variables}
        out[self.response.name] = self.response.label
        return out

    def rows_phrase(self, n: int) -> str:
        return f"{n:,} {self.row if n == 1 else self.rows}"


def _number(x) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


# ----------------------------------------------------------------------------- loading


class _Reader:
    """Typed access to a TOML table that records every problem instead of stopping at the first."""

    def __init__(self, problems: list[str]):
        self.problems = problems

    def get(self, table: dict, key: str, where: str, kind, default=None, required=False):
        if key not in table:
            if required:
                self.problems.append(f"{where}: '{key}' is required")
            return default
        value = table[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            self.problems.append(f"{where}: '{key}' must be {_kind_name(kinds)}, not true/false")
            return default
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kinds):
            self.problems.append(f"{where}: '{key}' must be {_kind_name(kinds)}, got {value!r}")
            return default
        if isinstance(value, float) and not math.isfinite(value):
            self.problems.append(f"{where}: '{key}' must be finite")
            return default
        return value


def _kind_name(kinds) -> str:
    names = {str: "text", int: "a whole number", float: "a number", bool: "true or false", list: "a list",
             dict: "a table"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


KNOWN_TOP = {"dataset", "id", "response", "variables", "rules", "exclusions", "model", "reading"}
KNOWN_DATASET = {"name", "title", "subtitle", "background", "row", "rows", "source", "caveats"}
KNOWN_RESPONSE = {"column", "name", "event", "non_event", "label", "description", "event_group",
                  "non_event_group", "outcome", "verb", "rate"}
KNOWN_VARIABLE = {"column", "name", "type", "label", "description", "expression", "in_model", "baseline",
                  "groups", "level_labels", "max_levels", "yes", "no", "yes_group", "no_group", "term",
                  "min", "max", "unit", "units", "step", "per", "shape", "knots", "bins", "tail_above"}


def _unknown(table: dict, known: set, where: str, problems: list[str]) -> None:
    for key in table:
        if key not in known:
            close = [k for k in known if k.replace("_", "") == str(key).replace("_", "").lower()]
            hint = f" (did you mean '{close[0]}'?)" if close else f"; known keys: {', '.join(sorted(known))}"
            problems.append(f"{where}: unknown key '{key}'{hint}")


def load_spec(path: str | Path | None = None) -> Spec:
    """Read and check a specification file (the bundled Tmall specification when ``path`` is None).

    Raises :class:`SpecError` listing every problem (unknown keys, wrong types, a response without an
    event value, a derived expression naming an unknown column, ...)."""
    path = Path(path) if path is not None else DEFAULT_SPEC
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise SpecError(path, [f"cannot read the file ({err.strerror or err})"]) from None
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise SpecError(path, ["the file is not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as err:
        raise SpecError(path, [f"not valid TOML: {err}"]) from None
    return spec_from_dict(doc, path)


def default_spec() -> Spec:
    return load_spec(DEFAULT_SPEC)


def with_exclusions(spec: Spec, exclusions) -> Spec:
    """``spec`` with more exclusion rules: each an expression ("age > 60") or an (expression, description)
    pair; the description is what the row accounting shows (default: the expression). Raises SpecError
    naming an expression that is not in the language or names an unknown column."""
    import dataclasses

    known = {v.name for v in spec.variables} | {v.column for v in spec.variables if v.column}
    added, problems = [], []
    for item in exclusions:
        text, description = (item, item) if isinstance(item, str) else (item[0], item[1])
        try:
            added.append(Exclusion(parse(text, known), description))
        except ExpressionError as err:
            problems.append(f"exclusion {text!r}: {err}")
    if problems:
        raise SpecError("the exclusion rules given", problems)
    return dataclasses.replace(spec, exclusions=spec.exclusions + tuple(added))


def spec_from_dict(doc: dict, path: str | Path = "<spec>") -> Spec:
    problems: list[str] = []
    r = _Reader(problems)
    _unknown(doc, KNOWN_TOP, "top level", problems)
    dataset = doc.get("dataset", {}) if isinstance(doc.get("dataset", {}), dict) else {}
    _unknown(dataset, KNOWN_DATASET, "[dataset]", problems)
    row = r.get(dataset, "row", "[dataset]", str, "row")
    rows = r.get(dataset, "rows", "[dataset]", str, row + "s")

    # -- response
    resp = doc.get("response")
    if not isinstance(resp, dict):
        problems.append("[response] is required: the response column and its event value")
        resp = {}
    _unknown(resp, KNOWN_RESPONSE, "[response]", problems)
    rcol = r.get(resp, "column", "[response]", str, required=True) or "?"
    event = r.get(resp, "event", "[response]", (str, int), required=True)
    non_event = r.get(resp, "non_event", "[response]", (str, int), required=True)
    event, non_event = (str(event) if event is not None else "1"), (str(non_event) if non_event is not None else "0")
    if event == non_event:
        problems.append("[response]: 'event' and 'non_event' must differ")
    rlabel = r.get(resp, "label", "[response]", str, rcol)
    response = Response(
        column=rcol, name=r.get(resp, "name", "[response]", str, rcol), event=event, non_event=non_event,
        label=rlabel, description=r.get(resp, "description", "[response]", str, ""),
        event_group=r.get(resp, "event_group", "[response]", str, f"{rows} with {rcol} = {event}"),
        non_event_group=r.get(resp, "non_event_group", "[response]", str, f"{rows} with {rcol} = {non_event}"),
        outcome=r.get(resp, "outcome", "[response]", str, f"{rcol} = {event}"),
        verb=r.get(resp, "verb", "[response]", str, f"had {rcol} = {event}"),
        rate=r.get(resp, "rate", "[response]", str, f"rate of {rcol} = {event}"))

    # -- id
    id_column = None
    if "id" in doc:
        ident = doc["id"] if isinstance(doc["id"], dict) else {}
        _unknown(ident, {"column", "type", "description"}, "[id]", problems)
        icol = r.get(ident, "column", "[id]", str, required=True)
        itype = r.get(ident, "type", "[id]", str, "integer")
        if itype not in ("integer", "text"):
            problems.append(f"[id]: 'type' must be \"integer\" or \"text\", got {itype!r}")
        if icol:
            id_column = IdColumn(icol, itype, r.get(ident, "description", "[id]", str, "row identifier"))

    # -- variables
    raw_vars = doc.get("variables", [])
    if not isinstance(raw_vars, list) or not raw_vars:
        problems.append("[[variables]]: at least one predictor is required")
        raw_vars = []
    file_columns = [c for c in [rcol, id_column.column if id_column else None] if c]
    for item in raw_vars:
        if isinstance(item, dict) and isinstance(item.get("column"), str):
            file_columns.append(item["column"])
    variables: list[Variable] = []
    names_so_far: list[str] = []
    for k, item in enumerate(raw_vars, start=1):
        where = f"[[variables]] #{k}"
        if not isinstance(item, dict):
            problems.append(f"{where}: must be a table")
            continue
        where = f"[[variables]] #{k} ({item.get('column') or item.get('name') or '?'})"
        var = _variable(item, where, r, problems, file_columns + names_so_far, response)
        if var is not None:
            variables.append(var)
            names_so_far.append(var.name)
    names = [v.name for v in variables]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"[[variables]]: the name '{name}' is used twice")
    columns = [v.column for v in variables if v.column]
    for col in sorted({c for c in columns if columns.count(c) > 1}):
        problems.append(f"[[variables]]: the column '{col}' is declared twice")
    if rcol in columns or (id_column and id_column.column in columns):
        problems.append("[[variables]]: the response or ID column cannot also be a predictor")
    if response.name in names:
        problems.append(f"[response]: 'name' {response.name!r} is also the name of a variable")

    # -- rules and exclusions (expressions over file columns and variable names)
    known = set(names) | set(columns)
    rules = []
    for k, item in enumerate(doc.get("rules", []) if isinstance(doc.get("rules", []), list) else [], start=1):
        where = f"[[rules]] #{k}"
        if not isinstance(item, dict):
            problems.append(f"{where}: must be a table")
            continue
        _unknown(item, {"check", "column", "what", "fix"}, where, problems)
        check = r.get(item, "check", where, str, required=True)
        column = r.get(item, "column", where, str, required=True)
        if check is None or column is None:
            continue
        try:
            expr = parse(check, known)
            if not expr.is_condition:
                problems.append(f"{where}: 'check' must be a condition such as \"a <= b\", got {check!r}")
                continue
        except ExpressionError as err:
            problems.append(f"{where}: {err}")
            continue
        if column not in known:
            problems.append(f"{where}: 'column' {column!r} is not a column of the specification")
            continue
        rules.append(Rule(expr, column, r.get(item, "what", where, str, f"fails the rule {check}"),
                          r.get(item, "fix", where, str, "Correct those rows.")))
    exclusions = []
    for k, item in enumerate(doc.get("exclusions", []) if isinstance(doc.get("exclusions", []), list) else [], start=1):
        where = f"[[exclusions]] #{k}"
        if not isinstance(item, dict):
            problems.append(f"{where}: must be a table")
            continue
        _unknown(item, {"exclude", "description"}, where, problems)
        cond = r.get(item, "exclude", where, str, required=True)
        if cond is None:
            continue
        try:
            expr = parse(cond, known)
        except ExpressionError as err:
            problems.append(f"{where}: {err}")
            continue
        exclusions.append(Exclusion(expr, r.get(item, "description", where, str, cond)))

    # -- model
    model = doc.get("model", {}) if isinstance(doc.get("model", {}), dict) else {}
    _unknown(model, {"terms", "force"}, "[model]", problems)
    terms = r.get(model, "terms", "[model]", list, [])
    force = r.get(model, "force", "[model]", list, [])
    for t in list(terms) + list(force):
        if not isinstance(t, str):
            problems.append(f"[model]: terms must be text, got {t!r}")
    reading = doc.get("reading", {}) if isinstance(doc.get("reading", {}), dict) else {}
    _unknown(reading, {"missing"}, "[reading]", problems)
    missing = r.get(reading, "missing", "[reading]", list, list(MISSING_TOKENS))
    if not all(isinstance(m, str) for m in missing):
        problems.append("[reading]: 'missing' must be a list of texts")
        missing = list(MISSING_TOKENS)

    caveats = r.get(dataset, "caveats", "[dataset]", list, [])
    if not all(isinstance(c, str) for c in caveats):
        problems.append("[dataset]: 'caveats' must be a list of texts")
        caveats = []
    if problems:
        raise SpecError(path, problems)
    title = r.get(dataset, "title", "[dataset]", str, f"What predicts {response.label.lower()}?")
    return Spec(
        path=Path(path), name=r.get(dataset, "name", "[dataset]", str, Path(path).stem), title=title,
        subtitle=r.get(dataset, "subtitle", "[dataset]", str, "A logistic-regression report"),
        background=r.get(dataset, "background", "[dataset]", str, ""), row=row, rows=rows,
        source=r.get(dataset, "source", "[dataset]", str, ""), response=response, id=id_column,
        variables=tuple(variables), rules=tuple(rules), exclusions=tuple(exclusions),
        terms=tuple(str(t) for t in terms), force=tuple(str(t) for t in force),
        missing_tokens=tuple(m.strip().lower() for m in missing), caveats=tuple(caveats))


def _variable(item: dict, where: str, r: _Reader, problems: list[str], known: list[str],
              response: Response) -> Variable | None:
    _unknown(item, KNOWN_VARIABLE, where, problems)
    kind = r.get(item, "type", where, str, required=True)
    if kind not in KINDS:
        if kind is not None:
            problems.append(f"{where}: 'type' must be one of {', '.join(KINDS)}, got {kind!r}")
        return None
    column = r.get(item, "column", where, str)
    expression_text = r.get(item, "expression", where, str)
    expression = None
    if (column is None) == (expression_text is None):
        problems.append(f"{where}: give either 'column' (a column of the file) or 'expression' (a derived column)")
        return None
    if expression_text is not None:
        try:
            expression = parse(expression_text, known)
        except ExpressionError as err:
            problems.append(f"{where}: {err}")
            return None
        if expression.is_condition:
            problems.append(f"{where}: a derived column is a value, not a condition: {expression_text!r}")
            return None
        if kind not in ("count", "numeric", "categorical"):
            problems.append(f"{where}: a derived column is a count, numeric or categorical")
            return None
    if kind == "binary":
        yes = str(r.get(item, "yes", where, (str, int), "yes"))
        name = r.get(item, "term", where, str, f"{column}_{_slug(yes)}")
    else:
        yes = "yes"
        name = r.get(item, "name", where, str, column)
    if name is None:
        problems.append(f"{where}: a derived column needs a 'name'")
        return None
    if not NAME.fullmatch(name) or name in RESERVED:
        problems.append(f"{where}: the variable name {name!r} cannot be used in a formula; give a 'name' "
                        "(or 'term' for a binary) of letters, digits and underscores that is not one of "
                        f"{', '.join(sorted(RESERVED))}")
        return None
    label = r.get(item, "label", where, str, name)
    groups = r.get(item, "groups", where, dict, {})
    level_labels = r.get(item, "level_labels", where, dict, {})
    for table, key in ((groups, "groups"), (level_labels, "level_labels")):
        if not all(isinstance(v, str) for v in table.values()):
            problems.append(f"{where}: every value of '{key}' must be text")
    baseline = str(r.get(item, "baseline", where, (str, int), "most_frequent"))
    shape = r.get(item, "shape", where, str, "linear")
    if shape not in SHAPES:
        problems.append(f"{where}: 'shape' must be \"linear\" or \"spline\", got {shape!r}")
    knots = r.get(item, "knots", where, int, 4)
    if not 3 <= knots <= 7:
        problems.append(f"{where}: 'knots' must be between 3 and 7 (rms's default placements), got {knots}")
    if shape == "spline" and kind not in ("count", "numeric"):
        problems.append(f"{where}: only count and numeric variables can be splines")
    step = r.get(item, "step", where, float, 1.0)
    if step is not None and step <= 0:
        problems.append(f"{where}: 'step' must be positive")
    bins = r.get(item, "bins", where, list, [])
    if not all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bins) or bins != sorted(bins):
        problems.append(f"{where}: 'bins' must be increasing numbers (the edges of the exploratory groups)")
        bins = []
    max_levels = r.get(item, "max_levels", where, int, MAX_LEVELS)
    unit = r.get(item, "unit", where, str, "")
    return Variable(
        name=name, column=column, kind=kind, label=label, description=r.get(item, "description", where, str, ""),
        expression=expression, in_model=r.get(item, "in_model", where, bool, True),
        baseline=baseline, groups=MappingProxyType({str(k): v for k, v in groups.items()}),
        level_labels=MappingProxyType({str(k): v for k, v in level_labels.items()}),
        max_levels=max_levels, yes=yes, no=str(r.get(item, "no", where, (str, int), "no")),
        yes_group=r.get(item, "yes_group", where, str, f"{label}: yes"),
        no_group=r.get(item, "no_group", where, str, f"{label}: no"),
        minimum=r.get(item, "min", where, float), maximum=r.get(item, "max", where, float),
        unit=unit, units=r.get(item, "units", where, str, unit + "s" if unit else ""), step=step or 1.0,
        per=r.get(item, "per", where, str, ""),
        shape=shape, knots=knots, bins=tuple(float(b) for b in bins), tail_above=r.get(item, "tail_above", where, float))


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_").lower()
    return slug or "yes"
