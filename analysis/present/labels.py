"""What each coefficient and term means in words, read back from the names statsmodels/patsy give them.

:func:`describe_coefficient` and :func:`describe_term` read design-column and term names into words from
the specification: variable, kind, level and baseline, a label ("Marital status: single vs married"), so
every table, figure, sentence, slide and workbook names a coefficient the same way and always says what
it is compared with. No data set is named here: every word comes from the specification.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.model.terms import _CAT, _RCS, INTERCEPT, TIMES, explicit_baseline, split_interaction


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
        # a basis coefficient is one piece of a curve, not an effect: named as such (no odds ratio is shown)
        return var, "spline", col, None, f"{label}: spline basis coefficient {k + 1}", "basis coefficient", 1.0
    v = _variable(spec, factor)
    if v is not None and v.kind == "binary":   # named by its levels: "female vs male", "yes vs no"
        return v.name, "binary", "1", "0", v.label, f"{v.level_label(1)} vs {v.level_label(0)}", 1.0
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
        return Coefficient(name, "", "intercept", (), label="Intercept (log-odds of the reference profile)",
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


def single_effects(coefficients: pd.DataFrame, spec, baselines) -> pd.DataFrame:
    """The coefficients that are one effect each (categorical levels, yes/no and linear numeric variables):
    spline and interaction coefficients have no odds ratio of their own (effect tables and plots show them)."""
    keep = [describe_coefficient(t, spec, baselines).kind in ("categorical", "binary", "numeric")
            for t in coefficients["term"]]
    return coefficients[keep].reset_index(drop=True)


def coefficient_labels(coefficients: pd.DataFrame, spec, baselines) -> dict[str, str]:
    """Display label of every coefficient, with its comparison group ("Marital status: single vs married"); a
    numeric variable per one unit ("Age (per year)"), as its estimate and odds ratio are."""
    return {t: describe_coefficient(t, spec, baselines).unit_label for t in coefficients["term"]}
