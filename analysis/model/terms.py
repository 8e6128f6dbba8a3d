"""Model terms: written from a specification, parsed back, and ordered by marginality.

- :func:`model_terms` writes the candidate terms of the model from the specification: ``C(job)`` or
  ``C(job, Treatment(reference='married'))`` for a categorical (its baseline resolved from the data: the
  most frequent level by default), the dummy for a binary, the name for a linear count or numeric
  variable, ``rcs(age, 4)`` for a spline (knots resolved on the training rows by :func:`resolve_knots`).
- :func:`term_factors`, :func:`drop_scope`, :func:`add_scope` and :func:`check_marginal` are R's rules of
  marginality (``drop.scope``, ``add.scope``): which terms may leave or enter a model.
- Reading names back into words is ``analysis.present.labels``.

No data set is named here: every word comes from the specification.
"""
from __future__ import annotations

import ast
import re

import pandas as pd

from analysis.model.design import parse_term

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
    ``rcs(x, [t1, ..., tk])`` (``analysis.model.splines.choose_knots`` with the pattern table's ``trials`` as
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


# ----------------------------------------------------------------------------- marginality


def term_factors(term: str) -> frozenset:
    """The factors of a formula term as patsy reads them ("C(job):age" -> {"C(job)", "age"}): the
    "variables" of R's terms() factor matrix, by which marginality is decided."""
    return frozenset(f.name() for f in parse_term(term).factors)


def drop_scope(current, lower, factors) -> list[str]:
    """Terms of the current model that may be dropped, as R's ``drop.scope``/``factor.scope``: not in the
    lower scope, and not contained in another droppable term (a main effect is not dropped while an
    interaction containing it is in the model)."""
    facs = [t for t in current if t not in lower]
    return [t for t in facs if not any(factors[t] < factors[u] for u in facs if u != t)]


def add_scope(current, upper, factors) -> list[str]:
    """Terms of the upper scope that may be added, as R's ``add.scope``/``factor.scope``: not in the model,
    and no other term not yet in the model is contained in them (an interaction is not added before the
    main effects of the upper scope that it contains)."""
    add = [t for t in upper if t not in current]
    return [t for t in add if not any(factors[u] < factors[t] for u in add if u != t)]


def check_marginal(model_terms, factors, what: str) -> None:
    """Raise ValueError when a term of ``model_terms`` lacks one of its lower-order terms that the upper
    scope has (its columns would then be coded differently from the fit of that model alone)."""
    present = set(model_terms)
    for t in model_terms:
        for u in factors:
            if factors[u] < factors[t] and u not in present:
                raise ValueError(f"the {what} has {t!r} without {u!r}: include the lower-order term (marginality)")
