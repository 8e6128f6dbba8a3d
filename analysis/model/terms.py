"""Model terms from a specification, and what each coefficient and term means in words.

Two directions:

- :func:`model_terms` writes the candidate terms of the model from the specification: ``C(job)`` or
  ``C(job, Treatment(reference='married'))`` for a categorical (its baseline resolved from the data: the
  most frequent level by default), the dummy for a binary, the name for a linear count or numeric
  variable, ``rcs(age, 4)`` for a spline (knots resolved on the training rows by :func:`resolve_knots`).
- :func:`describe_coefficient` and :func:`describe_term` read the names statsmodels/patsy give the
  columns and terms back into words from the specification: variable, kind, level and baseline,
  a label ("Marital status: single vs married"), so every table, figure, sentence, slide and workbook
  names a coefficient the same way and always says what it is compared with.

No data set is named here: every word comes from the specification.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

INTERCEPT = "Intercept"
_CAT = re.compile(r"^C\((?P<var>[A-Za-z_][A-Za-z0-9_]*)(?P<rest>,.*)?\)(?:\[T\.(?P<level>.*)\])?$", re.S)
_RCS = re.compile(r"^rcs\((?P<var>[A-Za-z_][A-Za-z0-9_]*),(?P<knots>.*)\)(?:\[(?P<col>.*)\])?$", re.S)
TIMES = "\u00d7"


def split_interaction(name: str) -> list[str]:
    """The factors of a patsy column or term name, split at top-level ``:`` (not inside brackets)."""
    parts, depth, start, quote = [], 0, 0, None
    for i, ch in enumerate(name):
        if quote:
            if ch == quote:
                quote = None
            continue
        if ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == ":" and depth == 0:
            parts.append(name[start:i])
            start = i + 1
    parts.append(name[start:])
    return parts


def term_variables(term: str) -> list[str]:
    """The variables a formula term is built from: ``C(job):rcs(age, 4)`` -> [job, age]."""
    out = []
    for factor in split_interaction(term):
        m = _CAT.match(factor) or _RCS.match(factor)
        out.append(m.group("var") if m else factor.strip())
    return out


def explicit_baseline(term: str) -> str | None:
    """The level named in ``C(x, Treatment(reference='lvl'))`` (or ``Treatment('lvl')``), else None."""
    m = _CAT.match(term.strip())
    if not m or not m.group("rest"):
        return None
    try:
        call = ast.parse(term.strip(), mode="eval").body
    except SyntaxError:
        return None
    if len(call.args) < 2 or not isinstance(call.args[1], ast.Call):
        return None
    contrast = call.args[1]
    ref = contrast.args[0] if contrast.args else next((k.value for k in contrast.keywords if k.arg == "reference"),
                                                      None)
    return ref.value if isinstance(ref, ast.Constant) else None


# ----------------------------------------------------------------------------- from the specification


def level_counts(patterns: pd.DataFrame, column: str) -> pd.Series:
    """Rows per level of ``column`` (sums of ``trials`` on a pattern table), most frequent first,
    ties in sorted order."""
    counts = patterns.groupby(column, sort=True)["trials"].sum()
    order = sorted(counts.index, key=lambda lvl: (-int(counts[lvl]), str(lvl)))
    return counts[order]


def resolve_baseline(variable, patterns: pd.DataFrame, override: str | None = None) -> str:
    """The baseline level of a categorical variable: ``override`` (``--baseline``), else the
    specification's ``baseline``: a level, ``"first"`` (the first level in sorted order, patsy's default)
    or ``"most_frequent"`` (the level with the most rows used; ties: the first in sorted order).
    Raises ValueError for a level that does not occur."""
    levels = sorted(map(str, patterns[variable.name].unique()))
    choice = override if override is not None else variable.baseline
    if choice == "first":
        return levels[0]
    if choice == "most_frequent":
        return str(level_counts(patterns, variable.name).index[0])
    if str(choice) not in levels:
        raise ValueError(f"baseline {choice!r} of '{variable.name}' is not one of its levels: "
                         f"{', '.join(levels[:20])}")
    return str(choice)


def categorical_term(name: str, baseline: str, levels) -> str:
    """``C(name)`` when the baseline is patsy's default (the first sorted level), else with Treatment."""
    if baseline == sorted(map(str, levels))[0]:
        return f"C({name})"
    return f"C({name}, Treatment(reference={baseline!r}))"


def resolve_knots(terms, train: pd.DataFrame) -> tuple[list[str], pd.DataFrame]:
    """Every ``rcs(x, k)`` factor of ``terms`` with its knots chosen on the training rows, as
    ``rcs(x, [t1, ..., tk])`` (``analysis.splines.choose_knots`` with the pattern table's ``trials`` as
    frequency weights: the knots of the expanded rows, as rms places them). A variable whose values do not
    allow 3 distinct knots (rms stops there) enters linearly instead. Returns the terms and a table
    ``variable, requested, knots, rule, note`` saying which rule placed each variable's knots."""
    import warnings as _warnings

    from analysis.model.splines import RcsKnotsError, choose_knots, parse_rcs_term, rcs_term

    rows, resolved = [], {}

    def one(factor: str) -> str:
        parsed = parse_rcs_term(factor) if _RCS.match(factor.strip()) else None
        if parsed is None or not isinstance(parsed[1], int):
            return factor
        var, k = parsed
        if factor not in resolved:
            x = train[var].to_numpy(dtype=float)
            weights = train["trials"].to_numpy() if "trials" in train else None
            try:
                with _warnings.catch_warnings():
                    _warnings.simplefilter("ignore")
                    knots = choose_knots(x, k, weights=weights)
                resolved[factor] = rcs_term(var, knots.values)
                rows.append((var, k, ", ".join(f"{v:g}" for v in knots.values), knots.rule, knots.note))
            except RcsKnotsError as err:
                resolved[factor] = var
                rows.append((var, k, "", "linear", f"too few distinct values for a spline ({err}): entered linearly"))
        return resolved[factor]

    out = [":".join(one(f) for f in split_interaction(t)) for t in terms]
    table = pd.DataFrame(rows, columns=["variable", "requested", "knots", "rule", "note"])
    return out, table


_CAT_BARE = re.compile(r"^C\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)$")


def forced_terms(spec, terms) -> list[str]:
    """The model terms of the specification's ``force`` list: ``terms`` are the candidate terms after
    :func:`model_terms` and :func:`resolve_knots` (one per ``spec.candidate_terms``, in order)."""
    written = list(spec.candidate_terms)
    return [terms[written.index(f)] for f in spec.force]


def model_terms(spec, patterns: pd.DataFrame, baselines: dict | None = None) -> tuple[list[str], dict[str, str]]:
    """The candidate terms and the baseline of each categorical variable.

    ``patterns``: the pattern table of all rows used (baselines by rows). ``baselines``: overrides
    {variable: level}. The terms are the specification's ``candidate_terms`` (``[model] terms`` or one per
    variable) as written, with every bare ``C(name)`` of a categorical variable given its resolved baseline;
    they stay in that order (:func:`forced_terms` relies on it)."""
    baselines = dict(baselines or {})
    for name in baselines:
        if not spec.has(name) or spec.variable(name).kind != "categorical":
            raise ValueError(f"--baseline {name}=...: '{name}' is not a categorical variable of the specification")
    resolved = {}
    for v in spec.variables:
        if v.kind == "categorical":
            resolved[v.name] = resolve_baseline(v, patterns, baselines.get(v.name))
    def cat(name):
        return categorical_term(name, resolved[name], patterns[name].unique())

    def rewrite(factor: str) -> str:
        m = _CAT_BARE.match(factor.strip())
        return cat(m[1]) if m and m[1] in resolved else factor.strip()

    terms = [":".join(rewrite(f) for f in split_interaction(t)) for t in spec.candidate_terms]
    used = {var for t in terms for var in term_variables(t)}
    return terms, {k: b for k, b in resolved.items() if k in used}


# ----------------------------------------------------------------------------- reading names back


@dataclass(frozen=True)
class Coefficient:
    """What one coefficient (design column) stands for."""

    name: str           # the column name statsmodels gives it
    term: str           # the formula term it belongs to ("" when unknown)
    kind: str           # "intercept", "categorical", "binary", "numeric", "spline", "interaction"
    variables: tuple[str, ...]
    level: str | None = None
    baseline: str | None = None
    label: str = ""     # "Marital status: single vs married", "Age (per 10 years)": for odds ratios raised to `step`
    comparison: str = ""  # "single vs married", "yes vs no", "per 10 years"
    step: float = 1.0   # odds ratios of a numeric coefficient are stated per `step` units
    #: the label of the coefficient itself, per one unit ("Age (per year)"): for tables of estimates, whose odds
    #: ratios are exp(coefficient); equal to ``label`` except for numeric variables with a step other than 1
    unit_label: str = ""
    unit_comparison: str = ""

    def __post_init__(self):
        if not self.unit_label:
            object.__setattr__(self, "unit_label", self.label)
        if not self.unit_comparison:
            object.__setattr__(self, "unit_comparison", self.comparison)


def _variable(spec, name):
    try:
        return spec.variable(name)
    except KeyError:
        return None


def _factor(spec, factor: str, baselines: dict):
    """(variable, kind, level, baseline, label, comparison, step) of one factor of a column name."""
    m = _CAT.match(factor)
    if m:
        var = m.group("var")
        v = _variable(spec, var)
        level = m.group("level")
        base = explicit_baseline(factor.split("[T.")[0]) or baselines.get(var)
        label = v.label if v else var
        lvl = v.level_label(level) if v and level is not None else level
        bl = v.level_label(base) if v and base is not None else base
        comparison = f"{lvl} vs {bl}" if level is not None and base is not None else (lvl or "")
        return var, "categorical", level, base, label, comparison, 1.0
    m = _RCS.match(factor)
    if m:
        var = m.group("var")
        v = _variable(spec, var)
        col = (m.group("col") or "").strip()
        k = int(col) if col.isdigit() else len(col) - len(col.rstrip("'"))   # patsy's [0], [1] or rms's x, x'
        label = (v.label if v else var)
        if k == 0:
            return var, "spline", col, None, f"{label} (spline: linear part)", "spline coefficient", 1.0
        return var, "spline", col, None, f"{label} (spline: non-linear part {k})", "spline coefficient", 1.0
    v = _variable(spec, factor)
    if v is not None and v.kind == "binary":
        return v.name, "binary", "1", "0", v.label, "yes vs no", 1.0
    if v is not None:
        return v.name, "numeric", None, None, v.label, f"per {v.step_phrase()}", float(v.step)
    return factor, "numeric", None, None, factor, "per unit", 1.0


def _per_unit(spec, factor) -> str:
    """"per year": one unit of a numeric variable (its ``unit``, else "unit")."""
    v = _variable(spec, factor)
    return f"per {v.unit}" if v is not None and v.unit else "per unit"


def describe_coefficient(name: str, spec, baselines: dict | None = None, term: str = "") -> Coefficient:
    """Read a design-column name back into words (see :class:`Coefficient`)."""
    baselines = baselines or {}
    if name == INTERCEPT:
        return Coefficient(name, "", "intercept", (), label="Intercept (baseline odds)",
                           comparison="odds of the reference profile")
    factors = [_factor(spec, f, baselines) for f in split_interaction(name)]
    if len(factors) == 1:
        var, kind, level, base, label, comparison, step = factors[0]
        full = f"{label}: {comparison}" if kind in ("categorical", "binary") and comparison else (
            f"{label} ({comparison})" if comparison else label)
        if kind == "numeric" and step != 1:
            unit = _per_unit(spec, var)
            return Coefficient(name, term, kind, (var,), level, base, full, comparison, step,
                               unit_label=f"{label} ({unit})", unit_comparison=unit)
        return Coefficient(name, term, kind, (var,), level, base, full, comparison, step)
    labels = [f"{f[4]}: {f[5]}" if f[1] in ("categorical", "binary") else f"{f[4]} ({f[5]})" for f in factors]
    unit_labels = [f"{f[4]}: {f[5]}" if f[1] in ("categorical", "binary") else
                   f"{f[4]} ({_per_unit(spec, f[0]) if f[1] == 'numeric' else f[5]})" for f in factors]
    return Coefficient(name, term, "interaction", tuple(f[0] for f in factors), None, None,
                       f" {TIMES} ".join(labels), "interaction", float(np.prod([f[6] for f in factors])),
                       unit_label=f" {TIMES} ".join(unit_labels))


def describe_term(term: str, spec) -> str:
    """Label of a formula term: ``C(job)`` -> "Job", ``rcs(age, 4)`` -> "Age (spline)",
    ``C(job):age`` -> "Job × Age"."""
    labels = []
    for factor in split_interaction(term):
        m = _CAT.match(factor) or _RCS.match(factor)
        var = m.group("var") if m else factor.strip()
        v = _variable(spec, var)
        label = v.label if v else var
        if _RCS.match(factor):
            label += " (spline)"
        labels.append(label)
    return f" {TIMES} ".join(labels)


def coefficient_table_labels(names, spec, baselines: dict | None = None) -> dict[str, Coefficient]:
    return {n: describe_coefficient(n, spec, baselines) for n in names}
