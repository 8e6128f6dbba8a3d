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

from analysis.spec.expr import Expression, ExpressionError, parse, value_type

__all__ = ["Spec", "Variable", "Response", "IdColumn", "Rule", "Exclusion", "SpecError", "load_spec",
           "default_spec", "with_exclusions", "with_missing", "DEFAULT_SPEC", "KINDS", "MISSING_TOKENS",
           "MISSING_STRATEGIES", "YES_NO", "is_yes_no",
           "in_sentence", "group_phrase", "response_words", "draft_markers"]

DEFAULT_SPEC = Path(__file__).with_name("tmall.toml")
KINDS = ("categorical", "binary", "count", "numeric")
SHAPES = ("linear", "spline")
BASELINES = ("most_frequent", "first")
#: cell texts read as a missing value, compared case-insensitively after trimming spaces and tabs:
#: the usual spellings of "missing" in exports, and spreadsheet error values
MISSING_TOKENS = ("", "na", "n/a", "nan", "null", "none", "nil", "#n/a", "#na", "<na>", "-", "?",
                  "#null!", "#value!", "#div/0!", "#ref!", "#num!", "#name?")
#: what a run does with a missing value (``[missing] strategy``, ``--missing``): refuse the file (every missing
#: value is a problem), leave the rows out and say so (the default), or impute them
MISSING_STRATEGIES = ("refuse", "complete_cases", "impute")
DEFAULT_MISSING = "complete_cases"
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: names a model variable must not take: they have a meaning in formulas or in the pattern table
RESERVED = {"C", "Q", "I", "Treatment", "rcs", "np", "sample", "trials", "events", "Intercept"}
MAX_LEVELS = 50
#: pairs of values (yes, no) that mean yes and no, compared case-insensitively: a binary variable with one
#: of them reads "yes"/"no"; any other pair is named by its own values ("female"/"male")
YES_NO = (("yes", "no"), ("y", "n"), ("true", "false"), ("t", "f"), ("1", "0"))
#: what one row is when the specification does not say: a neutral noun that still reads ("one row per record")
ROW, ROWS = "record", "records"


def is_yes_no(yes, no) -> bool:
    """Whether two values mean yes and no (:data:`YES_NO`, any case): ``is_yes_no("Y", "N")``."""
    return (str(yes).strip().lower(), str(no).strip().lower()) in YES_NO


def in_sentence(text: str) -> str:
    """A label as it reads inside a sentence: its first letter lower-cased when its first word is an ordinary
    capitalised word ("Passenger class" -> "passenger class", "Uses ANT Credit Pay" -> "uses ANT Credit
    Pay"), unchanged when that word has another capital ("BMI", "PassengerClass"), so a label reads the same
    in a table and in a sentence."""
    first = text.split(" ", 1)[0]
    if first[:1].isupper() and not any(ch.isupper() for ch in first[1:]):
        return text[:1].lower() + text[1:]
    return text


def group_phrase(rows: str, label: str, level: str) -> str:
    """The rows at a level of a variable when the specification gives no words for them:
    "passengers with passenger class '1st'"."""
    return f"{rows} with {in_sentence(label)} '{level}'"


def response_words(label: str, event: str, non_event: str, rows: str) -> dict[str, str]:
    """The response's words when the specification gives none (and what ``init`` drafts): with yes/no values
    the event is named by the label ("the odds of “survived”", "passengers with “survived”" / "without"),
    otherwise by its value ("the odds of outcome 'Poor'", "patients with outcome 'Good'"). Never
    "column = value"."""
    if is_yes_no(event, non_event):
        name = f"\u201c{in_sentence(label)}\u201d"
        return {"event_group": f"{rows} with {name}", "non_event_group": f"{rows} without {name}",
                "outcome": name, "verb": f"had {name}", "rate": f"rate of {name}"}
    name = f"{in_sentence(label)} '{event}'"
    return {"event_group": group_phrase(rows, label, event), "non_event_group": group_phrase(rows, label, non_event),
            "outcome": name, "verb": f"had {name}", "rate": f"rate of {name}"}


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

    def level_label(self, code) -> str:
        """The response's value for the model's 1 or 0, as tables show it: "yes"/"no" when the values mean yes
        and no, with the value beside it where it differs ("yes (1)"); otherwise the value itself ("Poor")."""
        value = self.event if int(code) == 1 else self.non_event
        if not is_yes_no(self.event, self.non_event):
            return value
        word = "yes" if int(code) == 1 else "no"
        return word if value.lower() == word else f"{word} ({value})"


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
    # categorical (level_labels: binary too)
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
    #: the variable may hold part of the outcome (measured after it, or including it): the report refits the
    #: model without it and compares the AUCs (a paired DeLong test)
    leak_suspect: bool = False

    @property
    def derived(self) -> bool:
        return self.expression is not None

    @property
    def key(self) -> str:
        """The name of the variable's exploratory table and figure: its file column (``returned``), or its
        name for a derived variable."""
        return self.column or self.name

    @property
    def numeric(self) -> bool:
        return self.kind in ("count", "numeric")

    @property
    def yes_no(self) -> bool:
        """A binary variable whose values mean yes and no (:func:`is_yes_no`): its levels read "yes"/"no"."""
        return self.kind == "binary" and is_yes_no(self.yes, self.no)

    def _binary_value(self, level) -> str:
        """The file value of a binary level given as the model's 0/1 or as the value itself."""
        return self.yes if str(level) in ("1", self.yes) else self.no

    def group(self, level) -> str:
        """The rows at ``level`` as a noun phrase ("admin staff"), for sentences."""
        if self.kind == "binary":
            return self.yes_group if self._binary_value(level) == self.yes else self.no_group
        return self.groups.get(str(level), "")

    def level_label(self, level) -> str:
        """Short label of a level for tables and figures: the declared ``level_labels``, else the level itself;
        a binary level (0/1 or its value) is named by its value ("female"), or "yes"/"no" when its values mean
        yes and no ("1"/"0", "Y"/"N")."""
        if self.kind == "binary":
            value = self._binary_value(level)
            if value in self.level_labels:
                return self.level_labels[value]
            if self.yes_no:
                return "yes" if value == self.yes else "no"
            return value
        return self.level_labels.get(str(level), str(level))

    @property
    def indicator_label(self) -> str:
        """The label of the variable's values as the model and the means hold them: a binary variable's 0/1
        indicator names its level ("Sex: female", "Returned goods: yes"); other variables their label."""
        return f"{self.label}: {self.level_label(1)}" if self.kind == "binary" else self.label

    def step_phrase(self) -> str:
        """"10 years" / "year" / "10 units" / "unit": the change an odds ratio of a numeric variable is stated
        for (the step, left out when it is 1)."""
        step = _number(self.step)
        if self.step == 1:
            return self.unit or "unit"
        return f"{step} {self.units or self.unit or 'units'}"


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
    #: terms always kept by selection (each one of ``candidate_terms``)
    force: tuple[str, ...] = ()
    #: interactions declared to test, as candidate terms ("C(sex):C(passengerClass)"); selection may add them
    interactions: tuple[str, ...] = ()
    missing_tokens: tuple[str, ...] = MISSING_TOKENS
    #: ``[missing] strategy``: "refuse", "complete_cases" (the default) or "impute" (:data:`MISSING_STRATEGIES`)
    missing_strategy: str = DEFAULT_MISSING
    #: ``[missing] m``: the number of imputed data sets under "impute" (mice's m; default 20)
    imputations: int = 20
    #: what the data cannot say, in the analyst's words (the report's limitations list them)
    caveats: tuple[str, ...] = ()
    #: comments of the file that still mark a guess or a choice of ``init`` (:func:`draft_markers`): a draft
    markers: tuple[str, ...] = ()

    @property
    def draft(self) -> bool:
        """A specification that still holds CHECK or CHOOSE comments: ``report`` refuses it unless told
        ``--allow-draft``, and then stamps every output DRAFT."""
        return bool(self.markers)

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

    @property
    def candidate_terms(self) -> tuple[str, ...]:
        """The candidate terms as written: ``[model] terms``, or one per variable in the model
        (:func:`default_terms`), then the declared ``interactions``. ``force`` holds some of them."""
        main = self.terms or tuple(default_terms(self.variables))
        return main + tuple(t for t in self.interactions if t not in main)

    @property
    def leak_suspects(self) -> tuple[str, ...]:
        """Names of the variables marked ``leak_suspect`` (they may hold part of the outcome)."""
        return tuple(v.name for v in self.variables if v.leak_suspect)

    def labels(self) -> dict[str, str]:
        """Display label of every variable (and of the response, under its model name)."""
        out = {v.name: v.label for v in self.variables}
        out[self.response.name] = self.response.label
        return out

    def indicator_labels(self) -> dict[str, str]:
        """:meth:`labels` for tables of the values themselves (means, correlations): a binary variable's 0/1
        indicator named by its level ("Sex: female")."""
        return {**self.labels(), **{v.name: v.indicator_label for v in self.variables}}

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


KNOWN_TOP = {"dataset", "id", "response", "variables", "rules", "exclusions", "model", "reading", "missing"}
KNOWN_DATASET = {"name", "title", "subtitle", "background", "row", "rows", "source", "caveats"}
KNOWN_RESPONSE = {"column", "name", "event", "non_event", "label", "description", "event_group",
                  "non_event_group", "outcome", "verb", "rate"}
_KEYS_CATEGORICAL = {"baseline", "groups", "level_labels", "max_levels"}
_KEYS_BINARY = {"yes", "no", "yes_group", "no_group", "term"}
_KEYS_NUMERIC = {"min", "max", "unit", "units", "step", "per", "shape", "knots", "bins", "tail_above"}
#: keys of one type of variable that mean nothing for another (reported rather than ignored)
_KEYS_NOT_FOR = {"categorical": _KEYS_BINARY | _KEYS_NUMERIC,
                 "binary": (_KEYS_CATEGORICAL - {"level_labels"}) | _KEYS_NUMERIC,
                 "count": _KEYS_CATEGORICAL | _KEYS_BINARY, "numeric": _KEYS_CATEGORICAL | _KEYS_BINARY}
KNOWN_VARIABLE = {"column", "name", "type", "label", "description", "expression", "in_model", "baseline",
                  "groups", "level_labels", "max_levels", "yes", "no", "yes_group", "no_group", "term",
                  "min", "max", "unit", "units", "step", "per", "shape", "knots", "bins", "tail_above",
                  "leak_suspect"}


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
    import dataclasses

    return dataclasses.replace(spec_from_dict(doc, path), markers=draft_markers(raw.decode("utf-8")))


#: what starts a comment that marks a draft: ``# CHECK: ...`` (a guess of ``init``) or ``# CHOOSE: ...``
MARKER_WORDS = ("CHECK", "CHOOSE")


def draft_markers(text: str) -> tuple[str, ...]:
    """The comments of a TOML text that mark a draft -- those whose first word is CHECK or CHOOSE, as ``init``
    writes them -- each as "line N: <comment>". Only comments count: a ``#`` inside a string (basic, literal
    or multi-line) is text, so a background paragraph that says "# CHECK" marks nothing."""
    found, quote, line, i = [], None, 1, 0
    while i < len(text):
        ch = text[i]
        if quote is None:
            if text.startswith(('"""', "'''"), i):
                quote, i = text[i:i + 3], i + 3
                continue
            if ch in "\"'":
                quote = ch
            elif ch == "#":
                end = text.find("\n", i)
                end = len(text) if end < 0 else end
                comment = text[i:end].lstrip("#").strip()
                if comment.split(":", 1)[0].split(" ", 1)[0] in MARKER_WORDS:
                    found.append(f"line {line}: {comment}")
                i = end
                continue
        elif ch == "\\" and quote in ('"', '"""'):
            line += text[i + 1:i + 2] == "\n"
            i += 2
            continue
        elif text.startswith(quote, i):
            i += len(quote)
            quote = None
            continue
        elif ch == "\n" and len(quote) == 1:
            quote = None          # an unterminated one-line string ends with its line (TOML would not load)
        line += ch == "\n"
        i += 1
    return tuple(found)


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
            expr = parse(text, known)
        except ExpressionError as err:
            problems.append(f"exclusion {text!r}: {err}")
            continue
        if not expr.is_condition:
            problems.append(f"exclusion {text!r}: must be a condition such as \"age > 60\" (the rows where it "
                            "holds are excluded)")
            continue
        try:
            value_type(expr, value_kinds(spec.variables))
        except ExpressionError as err:
            problems.append(f"exclusion {text!r}: {err}")
            continue
        added.append(Exclusion(expr, description))
    if problems:
        raise SpecError("the exclusion rules given", problems)
    return dataclasses.replace(spec, exclusions=spec.exclusions + tuple(added))


def with_missing(spec: Spec, strategy: str | None) -> Spec:
    """``spec`` with another missing-value strategy (``--missing``); None keeps the specification's. Raises
    SpecError for a strategy that is not one of :data:`MISSING_STRATEGIES`."""
    import dataclasses

    if strategy is None:
        return spec
    if strategy not in MISSING_STRATEGIES:
        raise SpecError("--missing", [f"the missing-value strategy must be one of "
                                      f"{', '.join(map(repr, MISSING_STRATEGIES))}, got {strategy!r}"])
    return dataclasses.replace(spec, missing_strategy=strategy)


def spec_from_dict(doc: dict, path: str | Path = "<spec>") -> Spec:
    """A specification from its TOML document, every mistake reported at once (``SpecError``)."""
    problems: list[str] = []
    r = _Reader(problems)
    _unknown(doc, KNOWN_TOP, "top level", problems)
    doc, malformed = _well_formed(doc, problems)
    dataset = doc.get("dataset", {})
    _unknown(dataset, KNOWN_DATASET, "[dataset]", problems)
    row = r.get(dataset, "row", "[dataset]", str, ROW)
    rows = r.get(dataset, "rows", "[dataset]", str, ROWS if row == ROW else row + "s")
    response = _response(doc, rows, malformed, r, problems)
    id_column = _id_column(doc, response, r, problems)
    variables, declared = _variables(doc, response, id_column, malformed, r, problems, rows)
    known = {v.name for v in variables} | {v.column for v in variables if v.column}
    unusable = declared - known      # entries that had problems of their own: say nothing more about them
    kinds = value_kinds(variables)
    _check_derived(variables, kinds, unusable, problems)
    rules = _rules(doc, known, unusable, kinds, r, problems)
    exclusions = _exclusions(doc, known, unusable, kinds, r, problems)
    model = doc.get("model", {})
    _unknown(model, {"terms", "force", "interactions"}, "[model]", problems)
    terms = r.get(model, "terms", "[model]", list, [])
    force = r.get(model, "force", "[model]", list, [])
    declared = r.get(model, "interactions", "[model]", list, [])
    for t in list(terms) + list(force) + list(declared):
        if not isinstance(t, str):
            problems.append(f"[model]: terms must be text, got {t!r}")
    reading = doc.get("reading", {})
    _unknown(reading, {"missing"}, "[reading]", problems)
    missing = r.get(reading, "missing", "[reading]", list, list(MISSING_TOKENS))
    if not all(isinstance(m, str) for m in missing):
        problems.append("[reading]: 'missing' must be a list of texts")
        missing = list(MISSING_TOKENS)
    strategy = _missing_strategy(doc.get("missing", {}), r, problems)
    imputations = r.get(doc.get("missing", {}), "m", "[missing]", int, 20)
    if imputations is not None and not 6 <= imputations <= 1000:
        problems.append(f"[missing]: 'm' (imputed data sets) must be from 6 to 1000, got {imputations} (the pooled "
                        "Wald test of a one-degree-of-freedom term needs at least 6: Reiter's degrees of freedom)")
        imputations = 20
    caveats = r.get(dataset, "caveats", "[dataset]", list, [])
    if not all(isinstance(c, str) for c in caveats):
        problems.append("[dataset]: 'caveats' must be a list of texts")
        caveats = []
    texts = {key: r.get(dataset, key, "[dataset]", str, default) for key, default in (
        ("title", f"What predicts {response.outcome}?"), ("name", Path(path).stem),
        ("subtitle", "A logistic-regression report"), ("background", ""), ("source", ""))}
    terms, force = _model_terms(terms, force, variables, unusable, problems)
    interactions = _interactions(declared, terms or default_terms(variables), variables, unusable, problems)
    if problems:
        raise SpecError(path, problems)
    return Spec(
        path=Path(path), name=texts["name"], title=texts["title"], subtitle=texts["subtitle"],
        background=texts["background"], row=row, rows=rows,
        source=texts["source"], response=response, id=id_column,
        variables=tuple(variables), rules=tuple(rules), exclusions=tuple(exclusions),
        terms=tuple(terms), force=tuple(force), interactions=tuple(interactions),
        missing_tokens=tuple(m.strip().lower() for m in missing), missing_strategy=strategy, imputations=imputations or 20,
        caveats=tuple(caveats))


def _missing_strategy(table: dict, r: "_Reader", problems: list[str]) -> str:
    """``[missing] strategy``, checked (the default when absent)."""
    _unknown(table, {"strategy", "m"}, "[missing]", problems)
    strategy = r.get(table, "strategy", "[missing]", str, DEFAULT_MISSING)
    if strategy not in MISSING_STRATEGIES:
        problems.append(f"[missing]: 'strategy' must be one of {', '.join(map(repr, MISSING_STRATEGIES))}, "
                        f"got {strategy!r}")
        return DEFAULT_MISSING
    return strategy


def _well_formed(doc: dict, problems: list[str]) -> tuple[dict, set]:
    """``doc`` without the tables written in the wrong form (reported once, their contents not checked)."""
    malformed = set()
    for key in ("dataset", "id", "response", "model", "reading", "missing"):
        if key in doc and not isinstance(doc[key], dict):
            problems.append(f"[{key}] must be a table: write it as a line [{key}] followed by its keys")
            malformed.add(key)
    for key in ("variables", "rules", "exclusions"):
        if key in doc and not (isinstance(doc[key], list) and all(isinstance(i, dict) for i in doc[key])):
            problems.append(f"[[{key}]] must be an array of tables: write each entry as a line [[{key}]] (two "
                            f"brackets) followed by its keys")
            malformed.add(key)
    return {k: v for k, v in doc.items() if k not in malformed}, malformed


def _response(doc: dict, rows: str, malformed: set, r: "_Reader", problems: list[str]) -> Response:
    resp = doc.get("response")
    given = isinstance(resp, dict)
    if not given:
        if "response" not in malformed:
            problems.append("[response] is required: the response column and its event value")
        resp = {}
    _unknown(resp, KNOWN_RESPONSE, "[response]", problems)
    rcol = r.get(resp, "column", "[response]", str, required=given)
    event = r.get(resp, "event", "[response]", (str, int), required=given)
    non_event = r.get(resp, "non_event", "[response]", (str, int), required=given)
    event, non_event = (str(event) if event is not None else "1"), (str(non_event) if non_event is not None else "0")
    if event == non_event:
        problems.append("[response]: 'event' and 'non_event' must differ")
    rname = r.get(resp, "name", "[response]", str, rcol)
    if rcol is None:
        rcol = rname = "?"           # reported above; nothing more to say about the name
    elif not NAME.fullmatch(rname) or rname in RESERVED:
        problems.append(f"[response]: the response's name {rname!r} cannot be used in a formula; add "
                        f"name = \"{_formula_name(rname)}\" (letters, digits and underscores, not starting "
                        "with a digit)")
    rlabel = r.get(resp, "label", "[response]", str, rcol)
    words = response_words(rlabel, event, non_event, rows)
    return Response(
        column=rcol, name=rname, event=event, non_event=non_event,
        label=rlabel, description=r.get(resp, "description", "[response]", str, ""),
        **{key: r.get(resp, key, "[response]", str, default) for key, default in words.items()})


def _id_column(doc: dict, response: Response, r: "_Reader", problems: list[str]) -> IdColumn | None:
    if "id" not in doc:
        return None
    ident = doc["id"] if isinstance(doc["id"], dict) else {}
    _unknown(ident, {"column", "type", "description"}, "[id]", problems)
    icol = r.get(ident, "column", "[id]", str, required=True)
    itype = r.get(ident, "type", "[id]", str, "integer")
    if itype not in ("integer", "text"):
        problems.append(f"[id]: 'type' must be \"integer\" or \"text\", got {itype!r}")
    if icol and icol == response.column:
        problems.append(f"[id]: the ID column {icol!r} is also the response column")
    elif icol:
        return IdColumn(icol, itype, r.get(ident, "description", "[id]", str, "row identifier"))
    return None


def _variables(doc: dict, response: Response, id_column: IdColumn | None, malformed: set, r: "_Reader",
               problems: list[str], rows: str = ROWS) -> tuple[list[Variable], set[str]]:
    """The [[variables]] entries that are valid, and the names and columns of every entry, valid or not
    (so that an entry with problems of its own causes no follow-on errors)."""
    rcol = response.column
    raw_vars = doc.get("variables", [])
    if not isinstance(raw_vars, list) or not raw_vars:
        if "variables" not in malformed:
            problems.append("[[variables]]: at least one predictor is required")
        raw_vars = []
    file_columns = [c for c in [rcol, id_column.column if id_column else None] if c]
    for item in raw_vars:
        if isinstance(item, dict) and isinstance(item.get("column"), str):
            file_columns.append(item["column"])
    variables: list[Variable] = []
    names_so_far: list[str] = []
    declared: set[str] = set()
    outcome_columns = {rcol} | ({id_column.column} if id_column else set())
    for k, item in enumerate(raw_vars, start=1):
        where = f"[[variables]] #{k}"
        if not isinstance(item, dict):
            problems.append(f"{where}: must be a table")
            continue
        declared.update(str(item[key]) for key in ("column", "name", "term") if isinstance(item.get(key), str))
        where = f"[[variables]] #{k} ({item.get('column') or item.get('name') or '?'})"
        var = _variable(item, where, r, problems, file_columns + names_so_far, rows)
        if var is not None and var.expression is not None and set(var.expression.columns) & outcome_columns:
            problems.append(f"{where}: a derived column cannot use the response or the ID column "
                            f"({', '.join(sorted(set(var.expression.columns) & outcome_columns))}): a predictor "
                            "computed from the outcome would leak it into the model")
            var = None
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
    return variables, declared


def _check_derived(variables, kinds, unusable: set, problems: list[str]) -> None:
    """Each derived column's expression gives a value of its kind."""
    for v in variables:
        if v.expression is not None and not set(v.expression.columns) & unusable:
            try:
                got = value_type(v.expression, kinds)
                if v.numeric and got != "number":
                    problems.append(f"[[variables]] ({v.name}): a {v.kind} column needs a number, but "
                                    f"{v.expression.text!r} is {got}")
            except ExpressionError as err:
                problems.append(f"[[variables]] ({v.name}): {err}")


def _entries(doc: dict, key: str, problems: list[str]):
    """(where, table) of each entry of the array of tables ``key``."""
    for k, item in enumerate(doc.get(key, []) if isinstance(doc.get(key, []), list) else [], start=1):
        where = f"[[{key}]] #{k}"
        if not isinstance(item, dict):
            problems.append(f"{where}: must be a table")
            continue
        yield where, item


def _rules(doc: dict, known: set, unusable: set, kinds, r: "_Reader", problems: list[str]) -> list[Rule]:
    rules = []
    for where, item in _entries(doc, "rules", problems):
        _unknown(item, {"check", "column", "what", "fix"}, where, problems)
        check = r.get(item, "check", where, str, required=True)
        column = r.get(item, "column", where, str, required=True)
        if check is None or column is None:
            continue
        try:
            expr = parse(check, known | unusable)
            if set(expr.columns) & unusable:
                continue
            if not expr.is_condition:
                problems.append(f"{where}: 'check' must be a condition such as \"a <= b\", got {check!r}")
                continue
            value_type(expr, kinds)
        except ExpressionError as err:
            problems.append(f"{where}: {err}")
            continue
        if column not in known:
            if column not in unusable:
                problems.append(f"{where}: 'column' {column!r} is not a column of the specification")
            continue
        rules.append(Rule(expr, column, r.get(item, "what", where, str, f"fails the rule {check}"),
                          r.get(item, "fix", where, str, "Correct those rows.")))
    return rules


def _exclusions(doc: dict, known: set, unusable: set, kinds, r: "_Reader", problems: list[str]) -> list[Exclusion]:
    exclusions = []
    for where, item in _entries(doc, "exclusions", problems):
        _unknown(item, {"exclude", "description"}, where, problems)
        cond = r.get(item, "exclude", where, str, required=True)
        if cond is None:
            continue
        try:
            expr = parse(cond, known | unusable)
        except ExpressionError as err:
            problems.append(f"{where}: {err}")
            continue
        if set(expr.columns) & unusable:
            continue
        if not expr.is_condition:
            problems.append(f"{where}: 'exclude' must be a condition such as \"age > 60\", got {cond!r}")
            continue
        try:
            value_type(expr, kinds)
        except ExpressionError as err:
            problems.append(f"{where}: {err}")
            continue
        exclusions.append(Exclusion(expr, r.get(item, "description", where, str, cond)))
    return exclusions


def _variable(item: dict, where: str, r: _Reader, problems: list[str], known: list[str],
              rows: str = ROWS) -> Variable | None:
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
    misplaced = sorted(set(item) & (_KEYS_NOT_FOR[kind] | ({"name"} if kind == "binary" else set())))
    if misplaced:
        hint = " (a binary variable's model name is set with 'term')" if "name" in misplaced else ""
        problems.append(f"{where}: {', '.join(repr(k) for k in misplaced)} "
                        f"{'does' if len(misplaced) == 1 else 'do'} not apply to a {kind} variable{hint}")
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
    step = r.get(item, "step", where, float, 1.0)
    if step is not None and step <= 0:
        problems.append(f"{where}: 'step' must be positive")
    bins = r.get(item, "bins", where, list, [])
    if not all(isinstance(b, (int, float)) and not isinstance(b, bool) and math.isfinite(b) for b in bins) \
            or any(a >= b for a, b in zip(bins, bins[1:])):
        problems.append(f"{where}: 'bins' must be strictly increasing numbers (the edges of the exploratory groups)")
        bins = []
    max_levels = r.get(item, "max_levels", where, int, MAX_LEVELS)
    if max_levels is not None and max_levels < 2:
        problems.append(f"{where}: 'max_levels' must be at least 2")
    low, high = r.get(item, "min", where, float), r.get(item, "max", where, float)
    if low is not None and high is not None and low > high:
        problems.append(f"{where}: 'min' ({low:g}) is above 'max' ({high:g})")
    unit = r.get(item, "unit", where, str, "")
    no = str(r.get(item, "no", where, (str, int), "no"))
    words = {str(k): v for k, v in level_labels.items()}
    named = {value: words.get(value) or (word if is_yes_no(yes, no) else value)
             for value, word in ((yes, "yes"), (no, "no"))}
    return Variable(
        name=name, column=column, kind=kind, label=label, description=r.get(item, "description", where, str, ""),
        expression=expression, in_model=r.get(item, "in_model", where, bool, True),
        leak_suspect=r.get(item, "leak_suspect", where, bool, False),
        baseline=baseline, groups=MappingProxyType({str(k): v for k, v in groups.items()}),
        level_labels=MappingProxyType({str(k): v for k, v in level_labels.items()}),
        max_levels=max_levels, yes=yes, no=no,
        yes_group=r.get(item, "yes_group", where, str, group_phrase(rows, label, named[yes])),
        no_group=r.get(item, "no_group", where, str, group_phrase(rows, label, named[no])),
        minimum=low, maximum=high,
        unit=unit, units=r.get(item, "units", where, str, unit + "s" if unit else ""), step=step or 1.0,
        per=r.get(item, "per", where, str, ""),
        shape=shape, knots=knots, bins=tuple(float(b) for b in bins), tail_above=r.get(item, "tail_above", where, float))


_TERM_RCS = re.compile(r"^rcs\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,\s*(.+?)\s*\)$")
_TERM_C = re.compile(r"^C\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)$")


def value_kinds(variables) -> dict[str, str]:
    """The type of every name an expression may use: "text" for a categorical variable (and a derived one)
    and for the file column of a binary variable (its raw values, "yes"/"no"); "number" for counts,
    numeric variables and a binary variable's 0/1 name."""
    kinds = {}
    for v in variables:
        if v.kind == "categorical":
            kinds[v.name] = "text"
            if v.column:
                kinds[v.column] = "text"
        elif v.kind == "binary":
            kinds[v.column] = "text"
            kinds[v.name] = "number"
        else:
            kinds[v.name] = "number"
            if v.column:
                kinds[v.column] = "number"
    return kinds


def default_terms(variables) -> list[str]:
    """The candidate terms when ``[model] terms`` is not given: one per variable in the model, written as in
    a formula -- ``C(name)`` for a categorical variable, ``rcs(name, k)`` for a spline, the name otherwise."""
    out = []
    for v in variables:
        if not v.in_model:
            continue
        if v.kind == "categorical":
            out.append(f"C({v.name})")
        elif v.numeric and v.shape == "spline":
            out.append(f"rcs({v.name}, {v.knots})")
        else:
            out.append(v.name)
    return out


def _model_terms(terms, force, variables, unusable, problems) -> tuple[list[str], list[str]]:
    """Check ``[model] terms`` and ``force``; return the terms (as written) and the forced terms, each one of
    the candidate terms (a variable's name in ``force`` stands for its term)."""
    by_name = {v.name: v for v in variables}
    written = [" ".join(str(t).split()) for t in terms if isinstance(t, str)]
    for t in written:
        if "*" in t:
            problems.append(f"[model] terms: {t!r}: write interactions with ':' and list their parts as terms, "
                            "e.g. \"a\", \"b\", \"a:b\" (R's a*b)")
            continue
        for factor in (f.strip() for f in t.split(":")):
            if factor in unusable:
                continue
            m_c, m_rcs = _TERM_C.match(factor), _TERM_RCS.match(factor)
            if not (m_c or m_rcs or NAME.fullmatch(factor)):
                problems.append(f"[model] terms: {t!r}: {factor!r} is not a term; use a variable's name, C(name) "
                                "(the baseline is set on the variable) or rcs(name, k)")
                continue
            name = (m_c or m_rcs)[1] if (m_c or m_rcs) else factor
            if name in unusable:
                continue
            v = by_name.get(name)
            if v is None:
                problems.append(f"[model] terms: {t!r}: {name!r} is not a variable of the specification (names: "
                                f"{', '.join(by_name)})")
            elif m_c and v.kind != "categorical":
                problems.append(f"[model] terms: {t!r}: C({name}) is for categorical variables; {name!r} is {v.kind}")
            elif m_rcs:
                if not v.numeric:
                    problems.append(f"[model] terms: {t!r}: rcs() is for count and numeric variables")
                elif not _rcs_knots_ok(m_rcs[2]):
                    problems.append(f"[model] terms: {t!r}: write rcs({name}, k) with k knots from 3 to 7, or "
                                    f"rcs({name}, [k1, k2, k3, ...]) with at least 3 increasing knots")
            elif not m_c and v.kind == "categorical":
                problems.append(f"[model] terms: {t!r}: write the categorical variable as C({name})")
    for t in sorted({t for t in written if written.count(t) > 1}):
        problems.append(f"[model] terms: {t!r} is listed twice")
    candidates = written or default_terms(variables)
    forced = []
    for f in force:
        if not isinstance(f, str):
            continue
        f = " ".join(f.split())
        single = [t for t in candidates if t == f or _TERM_C.sub(r"\1", t) == f or
                  (_TERM_RCS.match(t) and _TERM_RCS.match(t)[1] == f)]
        if f in candidates:
            forced.append(f)
        elif len(single) == 1:
            forced.append(single[0])
        elif f not in unusable:
            problems.append(f"[model] force: {f!r} is not one of the candidate terms ({', '.join(candidates)}); "
                            "give a term as listed or a variable's name")
    return written, list(dict.fromkeys(forced))


def _interactions(declared, candidates, variables, unusable, problems) -> list[str]:
    """``[model] interactions``: each "a:b" names two variables of the model (by name or column); it becomes
    the interaction of their candidate terms ("C(sex):C(passengerClass)", "rcs(age, 4):C(sex)")."""
    by_token = {}
    for v in variables:
        for token in (v.name, v.column):
            if token:
                by_token.setdefault(token, v)
    alone = {}
    for t in candidates:
        if ":" in t:
            continue
        m = _TERM_C.match(t) or _TERM_RCS.match(t)
        alone[(m[1] if m else t)] = t
    out = []
    for entry in declared:
        if not isinstance(entry, str):
            continue
        parts = [x.strip() for x in entry.split(":")]
        if len(parts) != 2 or not all(parts):
            problems.append(f"[model] interactions: {entry!r}: write two variables joined by ':', e.g. \"sex:age\"")
            continue
        factors = []
        for part in parts:
            v = by_token.get(part)
            if v is None:
                if part not in unusable:
                    problems.append(f"[model] interactions: {entry!r}: {part!r} is not a variable of the specification")
                break
            if v.name not in alone:
                problems.append(f"[model] interactions: {entry!r}: {part!r} is not a term of the model on its own "
                                "(an interaction needs both main effects among the candidate terms)")
                break
            factors.append(alone[v.name])
        else:
            if factors[0] == factors[1]:
                problems.append(f"[model] interactions: {entry!r}: a variable cannot interact with itself")
                continue
            term = ":".join(factors)
            if term in out or term in candidates:
                problems.append(f"[model] interactions: {entry!r} is listed twice (or is a candidate term already)")
                continue
            out.append(term)
    return out


def _rcs_knots_ok(text: str) -> bool:
    text = text.strip()
    if text.isdigit():
        return 3 <= int(text) <= 7
    if text.startswith("[") and text.endswith("]"):
        try:
            knots = [float(x) for x in text[1:-1].split(",")]
        except ValueError:
            return False
        return len(knots) >= 3 and all(a < b for a, b in zip(knots, knots[1:])) and all(map(math.isfinite, knots))
    return False


def _formula_name(text: str) -> str:
    """A formula-safe name for ``text`` ("low birth" -> "low_birth", "2nd outcome" -> "y_2nd_outcome")."""
    slug = _slug(text)
    slug = slug if re.match(r"[A-Za-z_]", slug) else f"y_{slug}"
    return slug + "_" if slug in RESERVED else slug


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_").lower()
    return slug or "yes"
