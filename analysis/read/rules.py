"""The validation rules of a specification, written once as SQL, and the passes that aggregate rows to patterns.

Every rule on a value -- missing values, text in a numeric column, non-integer counts, limits, allowed
values of a binary or of the response, formula-like first characters of a category, the rules and
derived columns the specification declares -- is one SQL expression here, built from the
specification. The same text runs in DuckDB (the memory and duckdb engines) and in Spark SQL; the two
dialects differ only in identifier quoting and regular-expression matching (``_Dialect``), and only
ASCII patterns, explicit case variants and guarded casts are used, so both engines evaluate every rule
alike (tested on every bad-input case and by the fuzzer).

How validation fits in one pass
-------------------------------
*Level 1*, the only pass over the rows, parses the ID (when there is one), computes the train/test side
(``analysis.read.split.split_hash_sql`` of the ID, of an MD5 of a text ID, or of the row number) and groups
the rows by (sample, ID problem bits, the raw value of every other used column), counting rows. Every
rule except ID uniqueness is a function of one row, so *level 2* parses and validates the level-1
groups (far fewer than the rows) instead of the rows: it computes each variable's value and one bit per
failed check, and groups into patterns keyed by (sample, variables, exclusion, problem bits). A
problem's row count is the sum of ``trials`` over the patterns with its bit set. Duplicate IDs come
from a second grouping set, by ID, in the same pass -- or, where an engine can prove the IDs unique
from a scan of the ID column alone (``ids``: DuckDB on a Parquet file or parts whose IDs increase, Spark
from each task's runs of rising IDs), from that scan, and from a hash of the IDs only when the proof
fails. Only when something failed does one more pass fetch the first lines, IDs and distinct values of
each problem.

Missing values
--------------
Under the missing-value strategy "refuse" (``Spec.missing_strategy``) a missing value in any used column
is a problem. Under "complete_cases" and "impute" a missing value of a variable's column or of the
response is not (``RuleSet.tolerated``; a missing ID still is): the value is NULL, and NULL is its own
group in the patterns. A binary variable, and a derived variable any of whose inputs is missing, are NULL
too (``least``/``greatest`` would otherwise skip a NULL argument); a rule or an exclusion that names a
missing value neither fails nor excludes the row (rules: only rows whose inputs passed their checks are
checked, as before; exclusions: only rows whose inputs are all present). A row without the response gets
the exclusion code ``MISSING_RESPONSE``: it is left out and counted, never imputed.
"""
from __future__ import annotations

from dataclasses import dataclass

from analysis.read.split import split_hash_sql

#: how a number is written (no backslashes: Spark SQL string literals treat them as escapes)
NUMBER_SYNTAX = "[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?"
INT_SYNTAX = "[+-]?[0-9]+"
#: whole numbers beyond this are not usable counts (int64 holds up to 9.22e18)
INT64_BOUND = "9.2e18"
#: a category whose first character would start a formula in a spreadsheet (OWASP CSV injection),
#: unless the whole value is a plain number
FORMULA_START = "[=+@-].*"
TRIM_SQL = "' ' || chr(9)"
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LOWER = UPPER.lower()
MAX_MASK_BITS = 60
#: the exclusion code of a row whose response is missing (strategies other than "refuse")
MISSING_RESPONSE = -1


class Dialect:
    """The few places where DuckDB and Spark SQL differ; everything else is shared text."""

    name = "duckdb"

    def ident(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def full_match(self, expr: str, pattern: str) -> str:
        return f"regexp_full_match({expr}, '{pattern}')"

    def md5_bigint(self, expr: str) -> str:
        """A non-negative BIGINT from the first 15 hex digits of the MD5 of a text (same in both engines)."""
        return f"CAST(('0x' || substr(md5({expr}), 1, 15)) AS BIGINT)"


class SparkDialect(Dialect):
    name = "spark"

    def ident(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def full_match(self, expr: str, pattern: str) -> str:
        return f"({expr} RLIKE '^({pattern})$')"

    def md5_bigint(self, expr: str) -> str:
        return f"CAST(conv(substr(md5({expr}), 1, 15), 16, 10) AS BIGINT)"


def literal(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


@dataclass(frozen=True)
class Check:
    """One rule: the column it is reported under, what failed, what to do, and its bit."""

    column: str
    what: str
    fix: str
    show_values: bool
    index: int  # position among all checks (word = index // MAX_MASK_BITS, bit = index % MAX_MASK_BITS)
    key: str    # check kind, for the SQL

    @property
    def word(self) -> int:
        return self.index // MAX_MASK_BITS

    @property
    def bit(self) -> int:
        return 1 << (self.index % MAX_MASK_BITS)


MISSING = ("missing value", "Fill in the missing values or remove those rows before running; "
           "rows are never dropped silently.")
TEXT = ("text in a numeric column", "Correct those cells to numbers.")
TEXT_INT = ("text in a numeric column", "Correct those cells to whole numbers.")
NON_INTEGER = ("non-integer value", "This column holds whole numbers; correct those cells.")
FORMULA = ("value starts with =, +, - or @ (a spreadsheet would run it as a formula)",
           "Rename those levels so that they start with a letter or digit.")
DUPLICATE_ID = ("duplicate ID", "Each row must have its own ID; remove or merge the duplicates.")


def _fmt(x: float) -> str:
    return f"{x:g}"


class RuleSet:
    """The checks and the SQL of one specification on one input (``kinds``: text/int/float per file column)."""

    def __init__(self, spec, kinds: dict, dialect: Dialect, seed: int = 100, test_size: float = 0.3,
                 ordered_ids: bool = False):
        self.spec, self.kinds, self.d = spec, dict(kinds), dialect
        self.seed, self.test_size = seed, test_size
        self.columns = list(spec.file_columns)              # file columns, in c0.. order
        self.ref = {c: f"c{k}" for k, c in enumerate(self.columns)}
        self.role = {}
        if spec.id:
            self.role[spec.id.column] = "id_" + spec.id.type
        for v in spec.variables:
            if v.column:
                self.role[v.column] = v.kind
        self.role[spec.response.column] = "response"
        self.var_of_column = {v.column: v for v in spec.variables if v.column}
        self.alias = {v.name: f"x{j}" for j, v in enumerate(spec.variables)}
        self.checks = self._checks()
        self.words = max(1, (len(self.checks) + MAX_MASK_BITS - 1) // MAX_MASK_BITS)
        #: a missing value is a problem only under "refuse"; otherwise it is NULL (a missing ID still is one)
        self.tolerant = getattr(spec, "missing_strategy", "refuse") != "refuse"
        #: the missing-value flag of each file column (SQL, inside level 2 and the row passes)
        self.missing_flag = {k.column: f"{self.ref[k.column]}__f{k.index}" for k in self.checks if k.key == "missing"}
        #: the checks that are not problems under the strategy: a missing value of a variable or the response
        self.tolerated = frozenset(k.index for k in self.checks if self.tolerant and k.key == "missing"
                                   and not self.role[k.column].startswith("id_"))
        self.duplicate = Check(spec.id.column, *DUPLICATE_ID, True, -1, "duplicate") if spec.id else None

    # ------------------------------------------------------------------ the checks
    def _checks(self) -> list[Check]:
        spec, out = self.spec, []

        def add(column, what_fix, show, key):
            out.append(Check(column, what_fix[0], what_fix[1], show, len(out), key))

        for column in self.columns:
            role = self.role[column]
            add(column, MISSING, False, "missing")
            if role == "id_integer":
                add(column, TEXT_INT, True, "text")
                add(column, NON_INTEGER, True, "non_integer")
            elif role == "response":
                r = spec.response
                allowed = sorted([r.event, r.non_event])
                add(column, (f"response outside {{{', '.join(allowed)}}}",
                             f"{column} must be {r.event} ({r.verb}) or {r.non_event} (did not)."), True, "response")
            elif role == "categorical":
                add(column, FORMULA, True, "formula")
            elif role == "binary":
                v = self.var_of_column[column]
                add(column, (f"value other than {v.yes!r}/{v.no!r}", f"Recode the column to {v.yes!r}/{v.no!r}."),
                    True, "binary")
            elif role in ("count", "numeric"):
                v = self.var_of_column[column]
                if role == "count":
                    add(column, TEXT_INT, True, "text")
                    add(column, NON_INTEGER, True, "non_integer")
                else:
                    add(column, TEXT, True, "text")
                self._limits(v, column, add)
        for v in spec.variables:
            if v.derived and v.numeric:
                self._limits(v, v.name, add)
        for k, rule in enumerate(spec.rules):
            add(rule.column, (rule.what, rule.fix), False, f"rule{k}")
        return out

    def _limits(self, v, column, add) -> None:
        what = "negative value" if v.minimum == 0 else None
        units = v.units or "its unit"
        if v.minimum is not None:
            add(column, (what or f"value below {_fmt(v.minimum)}",
                         "Counts cannot be negative; correct those cells." if v.minimum == 0 else
                         f"Check the {column} column ({units})."), True, "min")
        if v.maximum is not None:
            add(column, (f"{v.label.lower() if v.label else column} above {_fmt(v.maximum)}",
                         f"Check the {column} column ({units})."), True, "max")

    # ------------------------------------------------------------------ per-column parsing
    def q(self, name: str) -> str:
        return self.d.ident(name)

    def _numeric_kind(self, column) -> bool:
        return self.role[column] in ("id_integer", "count", "numeric")

    def _missing_sql(self, t: str) -> str:
        """Missing: NULL, or a missing-value token in any letter case. The case is folded by ``translate``
        of the 26 ASCII letters only (the tokens are ASCII), so no engine's Unicode case folding is
        involved and both engines fold alike."""
        tokens = sorted({tok.lower() for tok in self.spec.missing_tokens})
        folded = f"translate({t}, '{UPPER}', '{LOWER}')"
        return f"({t} IS NULL OR {folded} IN ({', '.join(literal(x) for x in tokens)}))"

    def parsed(self, relation: str, columns, carry=()) -> str:
        """SELECT of values ``<c>__v`` and the check flags ``<c>__f<index>`` of ``columns`` (file columns),
        over ``relation`` (with the raw columns ``c0..``). ``carry``: names passed through."""
        carry = list(carry)
        level_a, level_b, level_c, level_d = [], [], [], []
        for column in columns:
            c, kind, role = self.ref[column], self.kinds[column], self.role[column]
            checks = {k.key: k for k in self.checks if k.column == column and not k.key.startswith("rule")}
            if kind == "text":
                level_a.append(f"TRIM(BOTH {TRIM_SQL} FROM CAST({c} AS STRING)) AS {c}__t")
                level_b.append(f"{c}__t")
                level_b.append(f"{self._missing_sql(c + '__t')} AS {c}__m")
                if self._numeric_kind(column):
                    t = f"{c}__t"
                    level_b.append(f"CASE WHEN {self.d.full_match(t, NUMBER_SYNTAX)} THEN TRY_CAST({t} AS DOUBLE) "
                                   f"END AS {c}__d")
                    level_b.append(f"CASE WHEN {self.d.full_match(t, INT_SYNTAX)} THEN TRY_CAST({t} AS BIGINT) "
                                   f"END AS {c}__i")
            else:
                # typed Parquet columns (analysis.read.source.parquet_kind): every cast is a TRY_CAST, so an
                # integer beyond BIGINT (unsigned 64-bit) or a NaN is NULL in both engines, never an error
                # (DuckDB may evaluate a cast inside a CASE branch that no row takes) nor wrapped (Spark)
                level_a.append(f"{c} AS {c}__n")
                n = f"{c}__n"
                if kind == "float":      # 32/64-bit floats and decimals
                    # NaN is found on the value's text: DuckDB decides isnan() of a Parquet column from the
                    # file's min/max statistics, which leave NaN out, and so finds no NaN in the file
                    nan = f"isnan(TRY_CAST(CAST({n} AS STRING) AS DOUBLE))"
                    level_b += [f"TRY_CAST({n} AS DOUBLE) AS {c}__d", f"CAST(NULL AS BIGINT) AS {c}__i",
                                f"({n} IS NULL OR {nan}) AS {c}__m"]
                elif kind == "bool":     # true/false is no number: 'text in a numeric column', as in a CSV
                    level_b += [f"CAST(NULL AS DOUBLE) AS {c}__d", f"CAST(NULL AS BIGINT) AS {c}__i",
                                f"({n} IS NULL) AS {c}__m"]
                else:                    # integers of any width, signed or not
                    level_b += [f"TRY_CAST({n} AS BIGINT) AS {c}__i", f"TRY_CAST({n} AS DOUBLE) AS {c}__d",
                                f"({n} IS NULL) AS {c}__m"]
                if not self._numeric_kind(column):
                    # floats in text columns were converted to text by the first pass; integers and booleans
                    # print alike in both engines
                    level_b.append(f"CAST({n} AS STRING) AS {c}__t")
            m = f"{c}__m"
            flags = {"missing": m}
            if self._numeric_kind(column):
                d, i = f"{c}__d", f"{c}__i"
                usable = f"(NOT {m} AND {d} IS NOT NULL AND abs({d}) < {INT64_BOUND})"
                if role == "numeric":
                    finite = f"(NOT {m} AND {d} IS NOT NULL AND abs({d}) < 1e300)"
                    value = f"(CASE WHEN {finite} THEN {d} END)"
                    flags["text"] = f"(NOT {m} AND NOT {finite})"
                else:
                    value = (f"(CASE WHEN {m} THEN NULL WHEN {i} IS NOT NULL THEN {i} "
                             f"WHEN {usable} AND {d} = floor({d}) THEN TRY_CAST({d} AS BIGINT) END)")
                    non_integer = f"({usable} AND {d} <> floor({d}))"
                    flags["non_integer"] = non_integer
                    flags["text"] = f"(NOT {m} AND NOT {non_integer} AND {value} IS NULL)"
            else:
                t = f"{c}__t"
                value = f"(CASE WHEN {m} THEN NULL ELSE {t} END)"
                if role == "response":
                    r = self.spec.response
                    if kind in ("int", "float"):
                        value = self._typed_response(c)
                    flags["response"] = f"(NOT {m} AND {value} NOT IN ({literal(r.event)}, {literal(r.non_event)}))"
                elif role == "binary":
                    v = self.var_of_column[column]
                    flags["binary"] = f"(NOT {m} AND {t} NOT IN ({literal(v.yes)}, {literal(v.no)}))"
                elif role == "categorical":
                    flags["formula"] = (f"(NOT {m} AND {self.d.full_match(t, FORMULA_START)} AND NOT "
                                        f"{self.d.full_match(t, NUMBER_SYNTAX)})")
            level_c.append(f"{value} AS {c}__v")
            level_c += [f"coalesce({flags[key]}, false) AS {c}__f{k.index}" for key, k in checks.items()
                        if key in flags]
            v = f"{c}__v"
            domain = self._domain(column, v)
            level_d.append(v)
            level_d += [f"coalesce({domain[key]}, false) AS {c}__f{k.index}" if key in domain
                        else f"{c}__f{k.index}" for key, k in checks.items()]
        passed = carry
        sql = f"SELECT {', '.join(passed + level_a)} FROM {relation}"
        names = [p.split(" AS ")[-1] for p in passed]
        for k, level in enumerate((level_b, level_c, level_d), start=1):
            sql = f"SELECT {', '.join(names + level)} FROM ({sql}) AS level{k}"
        return sql

    def _typed_response(self, c: str) -> str:
        """A numeric Parquet response as the text of a whole number ('1'), so it compares with the event."""
        n = f"{c}__d"
        return (f"(CASE WHEN {c}__m THEN NULL WHEN {n} = floor({n}) AND abs({n}) < {INT64_BOUND} "
                f"THEN CAST(TRY_CAST({n} AS BIGINT) AS STRING) ELSE 'not a whole number' END)")

    def _domain(self, column, v) -> dict:
        var = self.var_of_column.get(column)
        out = {}
        if var is not None and var.numeric:
            if var.minimum is not None:
                out["min"] = f"({v} < {var.minimum!r})"
            if var.maximum is not None:
                out["max"] = f"({v} > {var.maximum!r})"
        return out

    # ------------------------------------------------------------------ variables, rules, exclusions
    def value_sql(self, name: str) -> str:
        """SQL of a variable's value (or of a file column's parsed value) inside level 2."""
        if name in self.ref and name not in self.alias:
            return f"{self.ref[name]}__v"
        v = self.spec.variable(name)
        if v.derived:
            return self._derived_value(v)
        c = self.ref[v.column]
        if v.kind == "binary":
            null = f"WHEN {c}__v IS NULL THEN NULL " if self.tolerant else ""
            return f"(CASE {null}WHEN {c}__v = {literal(v.yes)} THEN 1 ELSE 0 END)"
        return f"{c}__v"

    def _derived_value(self, v) -> str:
        expr = v.expression.sql(self.value_sql)
        value = f"CAST({expr} AS STRING)" if v.kind == "categorical" else (
            f"TRY_CAST({expr} AS BIGINT)" if v.kind == "count" else f"CAST({expr} AS DOUBLE)")
        if self.tolerant:   # NULL when an input is missing (least/greatest would skip a NULL argument)
            value = f"(CASE WHEN {self._any_missing(v.expression)} THEN NULL ELSE {value} END)"
        return value

    def _input_columns(self, expression) -> set:
        """The file columns an expression depends on (through derived variables too)."""
        columns = set()

        def collect(name):
            if name in self.ref and name not in self.alias:
                columns.add(name)
            else:
                v = self.spec.variable(name)
                if v.derived:
                    for n in v.expression.columns:
                        collect(n)
                else:
                    columns.add(v.column)
        for n in expression.columns:
            collect(n)
        return columns

    def _any_missing(self, expression) -> str:
        """Some file column the expression depends on is missing."""
        flags = [self.missing_flag[c] for c in sorted(self._input_columns(expression)) if c in self.missing_flag]
        return "(" + " OR ".join(flags) + ")" if flags else "false"

    def _inputs_valid(self, expression) -> str:
        """All file columns an expression depends on have no failed parse/domain check."""
        columns = self._input_columns(expression)
        flags = [f"{self.ref[c]}__f{k.index}" for k in self.checks for c in columns
                 if k.column == c and not k.key.startswith("rule")]
        return "(" + " AND ".join(f"NOT {f}" for f in flags) + ")" if flags else "true"

    def _derived_flags(self) -> dict[int, str]:
        out = {}
        for k in self.checks:
            if k.key.startswith("rule"):
                rule = self.spec.rules[int(k.key[4:])]
                out[k.index] = (f"({self._inputs_valid(rule.check)} AND NOT coalesce({rule.check.sql(self.value_sql)}, "
                                "false))")
            elif k.key in ("min", "max") and k.column not in self.ref:
                v = self.spec.variable(k.column)
                bound = v.minimum if k.key == "min" else v.maximum
                op = "<" if k.key == "min" else ">"
                out[k.index] = f"({self._inputs_valid(v.expression)} AND {self.value_sql(v.name)} {op} {bound!r})"
        return out

    def masks(self, columns=None, include_derived=True) -> list[str]:
        """One BIGINT per mask word: the sum of the bits of the failed checks."""
        derived = self._derived_flags() if include_derived else {}
        words = [[] for _ in range(self.words)]
        for k in self.checks:
            if k.index in self.tolerated:
                continue
            if k.index in derived:
                flag = derived[k.index]
            elif k.column in self.ref and (columns is None or k.column in columns) and not k.key.startswith("rule"):
                flag = f"{self.ref[k.column]}__f{k.index}"
            else:
                continue
            words[k.word].append(f"CASE WHEN {flag} THEN {k.bit} ELSE 0 END")
        return [" + ".join(w) if w else "0" for w in words]

    def exclusion_sql(self) -> str:
        """0 for a kept row, k for a row excluded by the k-th exclusion (the first that applies) and, under a
        strategy other than "refuse", ``MISSING_RESPONSE`` for a row without the response. An exclusion
        applies only to a row whose inputs are all present there (a missing value neither fails nor
        excludes)."""
        cases = []
        for k, e in enumerate(self.spec.exclusions, start=1):
            condition = f"coalesce({e.condition.sql(self.value_sql)}, false)"
            if self.tolerant and (missing := self._any_missing(e.condition)) != "false":
                condition = f"NOT {missing} AND {condition}"
            cases.append(f"WHEN {condition} THEN {k}")
        if self.tolerant:
            cases.append(f"WHEN {self.missing_flag[self.spec.response.column]} THEN {MISSING_RESPONSE}")
        if not cases:
            return "0"
        return f"(CASE {' '.join(cases)} ELSE 0 END)"

    # ------------------------------------------------------------------ the split
    def sample(self, id_value: str | None, row_number: str) -> str:
        if self.test_size == 0:
            return "'train'"
        if self.spec.id is None:
            key = row_number
        elif self.spec.id.type == "text":
            key = f"CASE WHEN {id_value} IS NOT NULL THEN {self.d.md5_bigint(id_value)} END"
        else:
            key = id_value
        return (f"CASE WHEN {key} IS NOT NULL AND {split_hash_sql(key, self.seed)} < "
                f"CAST('{float(self.test_size)!r}' AS DOUBLE) THEN 'test' ELSE 'train' END")

    # ------------------------------------------------------------------ the passes
    def raw_columns(self) -> list[str]:
        return [self.ref[c] for c in self.columns]

    def level1(self, relation: str, with_ids: bool) -> str:
        """Group the rows by sample, ID problem bits and the raw value of every other used column."""
        id_col = self.spec.id.column if self.spec.id else None
        others = [self.ref[c] for c in self.columns if c != id_col]
        if id_col:
            idc = self.ref[id_col]
            parsed = self.parsed(relation, [id_col], carry=others + ["__row"])
            id_masks = self.masks([id_col], include_derived=False)
            keyed = (f"SELECT {self.sample(idc + '__v', '__row')} AS sample, "
                     + ", ".join(f"{m} AS id_mask{w}" for w, m in enumerate(id_masks))
                     + f", {', '.join(others)}, {idc}__v AS id_value FROM ({parsed}) AS id_parsed")
        else:
            id_masks = ["0"] * self.words
            keyed = (f"SELECT {self.sample(None, '__row')} AS sample, "
                     + ", ".join(f"0 AS id_mask{w}" for w in range(self.words))
                     + f", {', '.join(others)}, CAST(NULL AS BIGINT) AS id_value FROM {relation}")
        keys = ", ".join(["sample", *(f"id_mask{w}" for w in range(self.words)), *others])
        if not (with_ids and id_col):
            return f"SELECT 0 AS by_id, {keys}, count(*) AS n FROM ({keyed}) AS keyed GROUP BY {keys}"
        return (f"SELECT 1 - grouping(id_value) AS by_id, {keys}, id_value, count(*) AS n FROM ({keyed}) AS keyed "
                f"GROUP BY GROUPING SETS (({keys}), (id_value)) "
                "HAVING grouping(id_value) = 1 OR (id_value IS NOT NULL AND count(*) > 1)")

    def level2(self, level1: str) -> str:
        """Parse and validate the level-1 groups; group into patterns keyed by exclusion and problem bits."""
        id_col = self.spec.id.column if self.spec.id else None
        others = [c for c in self.columns if c != id_col]
        words = range(self.words)
        parsed = self.parsed(f"{level1} AS level1", others,
                             carry=["sample", "n", *(f"id_mask{w}" for w in words)])
        masks = self.masks(others)
        values = [f"{self.value_sql(v.name)} AS {self.alias[v.name]}" for v in self.spec.variables]
        r = self.ref[self.spec.response.column]
        event = (f"CASE WHEN {r}__v = {literal(self.spec.response.event)} THEN n ELSE 0 END")
        select = (f"SELECT sample, {', '.join(values)}, {self.exclusion_sql()} AS excluded, "
                  + ", ".join(f"id_mask{w} + {m} AS mask{w}" for w, m in zip(words, masks))
                  + f", n, {event} AS n_events FROM ({parsed}) AS parsed")
        keys = ", ".join(["sample", *self.alias.values(), "excluded", *(f"mask{w}" for w in words)])
        return (f"SELECT {keys}, sum(n) AS trials, sum(n_events) AS events FROM ({select}) AS patterns "
                f"GROUP BY {keys}")

    def ids(self, relation: str) -> str:
        """``__row`` and the parsed ID ``id`` of every row, in the scan's order (for an engine's own proof that
        the IDs are unique: :meth:`analysis.read.engines.SparkEngine.ids_not_proved`)."""
        id_col = self.spec.id.column
        return (f"SELECT __row, {self.ref[id_col]}__v AS id FROM ({self.parsed(relation, [id_col], carry=['__row'])})"
                " AS ids")

    def not_increasing(self, relation: str) -> str:
        """Rows whose ID is missing or not above the ID of the row before (0 proves the IDs unique)."""
        return f"SELECT n FROM ({self._increasing(relation)}) AS checked"

    def _increasing(self, relation: str, part: int = 0) -> str:
        """One row: ``part``, ``n`` (rows whose ID is missing or not above the ID of the row before, in the
        scan's order), ``lo`` and ``hi`` (the smallest and the largest ID)."""
        id_col = self.spec.id.column
        ids = self.parsed(relation, [id_col])
        v = f"{self.ref[id_col]}__v"
        return (f"SELECT {int(part)} AS part, count_if({v} IS NULL OR NOT ({v} > previous_id)) AS n, min({v}) AS lo, "
                f"max({v}) AS hi FROM (SELECT {v}, lag({v}) OVER () AS previous_id FROM ({ids}) AS ids) AS ordered")

    def not_increasing_parts(self, relations) -> str:
        """The same for a data set read part by part (each in its file's order): rows not above the one before
        within their part, plus the parts whose range of IDs meets an earlier part's range (sorted by their
        smallest ID); 0 proves the IDs unique across the parts without a hash of every ID."""
        per_part = " UNION ALL ".join(self._increasing(r, k) for k, r in enumerate(relations))
        return (f"SELECT sum(n) + count_if(lo <= previous_hi) AS n FROM (SELECT n, lo, max(hi) OVER (ORDER BY lo, "
                f"part ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS previous_hi FROM ({per_part}) AS parts) "
                "AS ranges")

    def duplicate_ids(self, relation: str) -> str:
        id_col = self.spec.id.column
        v = f"{self.ref[id_col]}__v"
        ids = self.parsed(relation, [id_col])
        return (f"SELECT {v} AS dup_id, count(*) AS n FROM ({ids}) AS ids WHERE {v} IS NOT NULL "
                f"GROUP BY {v} HAVING count(*) > 1")

    def bad_rows(self, relation: str, dup_table: str | None) -> str:
        """Every row with a failed check or a duplicated ID: line, raw cells, ID value, mask words."""
        raw = [f"{self.ref[c]} AS {self.ref[c]}__s" for c in self.columns]
        parsed = self.parsed(relation, self.columns, carry=["__line", *raw])
        id_v = f"{self.ref[self.spec.id.column]}__v" if self.spec.id else "CAST(NULL AS BIGINT)"
        masks = self.masks()
        flagged = (f"SELECT __line, {', '.join(self.ref[c] + '__s' for c in self.columns)}, {id_v} AS id_value, "
                   + ", ".join(f"{m} AS mask{w}" for w, m in enumerate(masks)) + f" FROM ({parsed}) AS p")
        any_bad = " OR ".join(f"mask{w} <> 0" for w in range(self.words))
        if dup_table is None:
            return f"SELECT *, false AS dup FROM ({flagged}) AS f WHERE {any_bad}"
        any_bad_f = " OR ".join(f"f.mask{w} <> 0" for w in range(self.words))
        return (f"SELECT f.*, (d.dup_id IS NOT NULL) AS dup FROM ({flagged}) AS f "
                f"LEFT JOIN {dup_table} AS d ON f.id_value = d.dup_id WHERE {any_bad_f} OR d.dup_id IS NOT NULL")

    def row_values(self, relation: str) -> str:
        """Every row's variable values, 0/1 response and ID, in file order (for :func:`read_rows`)."""
        parsed = self.parsed(relation, self.columns, carry=["__row"])
        values = [f"{self.value_sql(v.name)} AS {self.alias[v.name]}" for v in self.spec.variables]
        r = self.ref[self.spec.response.column]
        event = f"CASE WHEN {r}__v = {literal(self.spec.response.event)} THEN 1 ELSE 0 END AS response"
        ident = f", {self.ref[self.spec.id.column]}__v AS id_value" if self.spec.id else ""
        return (f"SELECT __row, {', '.join(values)}, {event}{ident}, {self.exclusion_sql()} AS excluded "
                f"FROM ({parsed}) AS p ORDER BY __row")
