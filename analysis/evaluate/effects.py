"""What a term means when it is not a single slope: linearity tests, inter-quartile odds ratios, effect curves.

On a fitted model (statsmodels, rows or covariate patterns; the pattern table's ``trials`` are the rows'
frequency weights):

- :func:`linearity_tests` -- for every numeric variable of the model, whether a straight line describes its
  association: the Wald and likelihood-ratio chi-squares of the non-linear part of a restricted cubic
  spline (the "Nonlinear" lines of rms's ``anova``); for a variable entered as a spline, of its own
  non-linear columns, and for one entered linearly, of a 4-knot spline put in its place.
- :func:`spline_effects` -- the odds ratio between the lower and the upper quartile of each spline
  variable, other variables at their median or most frequent value (rms's ``summary(fit)``), with its
  Wald CI.
- :func:`effect_curve` -- the predicted probability across a variable's range at a stated reference
  profile, with a pointwise 95% band (delta method on the linear predictor), as rms's ``Predict``.

Each function's docstring says what it was tested against.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import patsy
from scipy import stats
from scipy.special import expit

from analysis.model import fit as model
from analysis.model import interactions
from analysis.model.splines import (datadist_limits, effect, linearity_test, parse_rcs_term, quantiles,
                                    reference_profile)
from analysis.model.formula import require_design_info
from analysis.model.terms import resolve_knots, split_interaction, term_variables

TEST_KNOTS = 4


def _weights(data):
    return data["trials"].to_numpy() if "trials" in data.columns else None


def linearize(terms) -> list[str]:
    """The terms with every spline factor replaced by its variable entered linearly."""
    out = []
    for t in terms:
        factors = []
        for f in split_interaction(t):
            parsed = parse_rcs_term(f.strip()) if f.strip().startswith("rcs(") else None
            factors.append(parsed[0] if parsed else f)
        out.append(":".join(factors))
    return list(dict.fromkeys(out))


LINEARITY_COLUMNS = ["variable", "label", "shape", "knots", "wald_chi2", "wald_df", "wald_p", "lr_chi2", "lr_df",
                     "lr_p", "note"]


def linearity_tests(results, data: pd.DataFrame, response: str, terms, trials: str | None = None,
                    spec=None) -> pd.DataFrame:
    """One row per numeric variable of the model that enters a main-effect term: ``variable, label, shape
    (spline / linear), knots, wald_chi2, wald_df, wald_p, lr_chi2, lr_df, lr_p, note``; a test that cannot
    be computed (the alternative model has no finite maximum-likelihood estimate) is NaN with a note saying
    why.

    For a spline term: the Wald chi-square of its non-linear coefficients in ``results`` and the LR
    chi-square of ``results`` against the same model with the variable linear. For a linear term: the same
    two tests for a 4-knot spline of the variable (knots on ``data``, as ``resolve_knots`` places them) in
    its place. Log-likelihoods are those of the rows (``model.glance``), so rows and patterns agree.
    Tested: Wald against rms ``anova`` (tests/model/test_splines.py); on the pattern table of simulated rows,
    LR against two statsmodels formula fits on the rows and Wald against the row fit's ``wald_test``, for a
    spline term and for a linear one (tests/evaluate/test_effects.py, 1e-6 relative)."""
    from analysis.model.splines import wald_test

    from analysis.model.newton import SeparationError

    llf = model.glance(results)["llf"]
    rows = []
    for t in terms:
        factors = split_interaction(t)
        if len(factors) != 1:
            continue
        var = term_variables(t)[0]
        v = spec.variable(var) if spec is not None and spec.has(var) else None
        label = v.label if v is not None else var
        note = ""
        if t.strip().startswith("rcs("):
            wald = linearity_test(results, t)
            linear = [var if u == t else u for u in terms]
            df = wald.df
            knots = ", ".join(f"{k:g}" for k in parse_rcs_term(t)[1])
            shape = "spline"
            try:
                reduced = model.fit_logit(data, response, linear, trials=trials)
                lr = 2 * (llf - model.glance(reduced)["llf"])
            except (model.ModelError, SeparationError) as err:
                lr, note = math.nan, f"LR test not computed: the linear model cannot be fitted ({err})"
        else:
            if not (pd.api.types.is_numeric_dtype(data[var]) and data[var].nunique() > 2):
                continue
            if v is not None and not v.numeric:
                continue
            (spline,), _ = resolve_knots([f"rcs({var}, {TEST_KNOTS})"], data if trials else data.assign(trials=1))
            if not spline.startswith("rcs("):
                continue                                    # too few distinct values for a spline
            alternative = [spline if u == t else u for u in terms]
            knots = ", ".join(f"{k:g}" for k in parse_rcs_term(spline)[1])
            shape = "linear"
            df = TEST_KNOTS - 2
            try:
                bigger = model.fit_logit(data, response, alternative, trials=trials)
            except (model.ModelError, SeparationError) as err:
                # the spline's fit has no finite maximum (a region of the variable where every row has the
                # same outcome): no test, and the reader is told why
                rows.append({"variable": var, "label": label, "shape": shape, "knots": knots, "wald_chi2": math.nan,
                             "wald_df": df, "wald_p": math.nan, "lr_chi2": math.nan, "lr_df": df, "lr_p": math.nan,
                             "note": f"not computed: the model with a spline cannot be fitted ({err})"})
                continue
            names = list(bigger.model.exog_names)
            cols = [i for i, n in enumerate(names) if n.startswith(spline + "[") and not n.endswith("[0]")]
            wald = wald_test(bigger, cols)
            lr = 2 * (model.glance(bigger)["llf"] - llf)
            df = len(cols)
        rows.append({"variable": var, "label": label, "shape": shape, "knots": knots, "wald_chi2": wald.chi2,
                     "wald_df": df, "wald_p": wald.p, "lr_chi2": lr, "lr_df": df,
                     "lr_p": stats.chi2.sf(lr, df) if math.isfinite(lr) else math.nan, "note": note})
    return pd.DataFrame(rows, columns=LINEARITY_COLUMNS)


def spline_effects(results, data: pd.DataFrame, terms, spec=None, conf: float = 0.95) -> pd.DataFrame:
    """Inter-quartile odds ratio of every variable in a spline term, as rms's ``summary(fit)``: the lower
    and upper quartile of the variable's rows (``datadist``), every other variable at its median or most
    frequent value, the log odds ratio with its Wald SE and CI. Columns ``variable, label, low, high,
    estimate, std_error, odds_ratio, or_conf_low, or_conf_high``.
    Tested against rms 6.5 summary(lrm fit) on the real data (tests/model/test_splines.py, 1e-6) and, from a
    pattern table, against the linear-predictor difference of the two rows with the delta method on the row
    fit (tests/evaluate/test_effects.py, 1e-6)."""
    weights = _weights(data)
    columns = [c for c in data.columns if c not in ("trials", "events")]
    profile = reference_profile(data, columns, weights)      # the same for every variable: computed once
    rows = []
    for var in dict.fromkeys(term_variables(t)[0] for t in terms if t.strip().startswith("rcs(")):
        e = effect(results, data[columns], var, conf=conf, weights=weights, profile=profile)
        odds, low, high = e.exp()
        v = spec.variable(var) if spec is not None and spec.has(var) else None
        rows.append({"variable": var, "label": v.label if v is not None else var, "low": e.low, "high": e.high,
                     "estimate": e.estimate, "std_error": e.se, "odds_ratio": odds, "or_conf_low": low,
                     "or_conf_high": high})
    return pd.DataFrame(rows, columns=["variable", "label", "low", "high", "estimate", "std_error", "odds_ratio",
                                       "or_conf_low", "or_conf_high"])


SPLINE_OR_COLUMNS = ["variable", "label", "percentile", "value", "reference", "estimate", "std_error", "odds_ratio",
                     "or_conf_low", "or_conf_high"]
#: the percentiles of the rows at which a spline variable's odds ratio against its median is stated
SPLINE_PERCENTILES = (10, 25, 75, 90)


def spline_odds_ratios(results, data: pd.DataFrame, terms, spec=None, conf: float = 0.95,
                       percentiles=SPLINE_PERCENTILES) -> pd.DataFrame:
    """A spline variable's odds ratios at several values against its median (rms's ``summary(fit, age =
    c(median, value))``, ``contrast``): one row per variable and percentile of its rows (10th, 25th, 75th,
    90th by default; R's type-7 quantiles of the expanded rows), every other variable at its reference value.
    A curve is not one odds ratio: these rows, with the effect curve, say how the odds change along it.
    Columns ``variable, label, percentile, value, reference, estimate, std_error, odds_ratio, or_conf_low,
    or_conf_high``.

    Tested (tests/evaluate/test_effects.py) against the linear-predictor difference of two design rows with
    the delta method on the row fit (1e-6), and the 25th and 75th percentiles against :func:`spline_effects`
    (the inter-quartile odds ratio is their ratio)."""
    weights = _weights(data)
    columns = [c for c in data.columns if c not in ("trials", "events")]
    profile = reference_profile(data, columns, weights)      # the same for every variable: computed once
    rows = []
    for var in dict.fromkeys(term_variables(t)[0] for t in terms if t.strip().startswith("rcs(")):
        v = spec.variable(var) if spec is not None and spec.has(var) else None
        x = data[var].to_numpy(dtype=float)
        reference = datadist_limits(x, weights=weights)["adjust"]
        for q, value in zip(percentiles, quantiles(x, [q / 100 for q in percentiles], weights)):
            e = effect(results, data[columns], var, low=reference, high=value, conf=conf, weights=weights,
                       profile=profile)
            odds, low, high = e.exp()
            rows.append({"variable": var, "label": v.label if v is not None else var, "percentile": q,
                         "value": value, "reference": reference, "estimate": e.estimate, "std_error": e.se,
                         "odds_ratio": odds, "or_conf_low": low, "or_conf_high": high})
    return pd.DataFrame(rows, columns=SPLINE_OR_COLUMNS)


def effect_curve(results, data: pd.DataFrame, variable: str, points: int = 80, conf: float = 0.95,
                 profile: dict | None = None) -> pd.DataFrame:
    """Predicted probability across ``variable`` (from its 1st to 99th percentile of rows, or every
    distinct value when there are at most ``points``), every other variable at the reference profile
    (:func:`reference_profile`), with a pointwise ``conf`` band: the linear predictor's Wald interval
    x'b +- z sqrt(x'Vx), mapped by expit. Columns ``x, p, p_low, p_high``; ``attrs["profile"]`` holds the
    reference profile. Tested against statsmodels' own ``get_prediction`` on the same rows (1e-10; the band
    1e-8; tests/evaluate/test_effects.py). ``profile``: the reference profile of ``data`` when the caller has
    it (several curves on one table); the variable's own entry is not used."""
    weights = _weights(data)
    columns = [c for c in data.columns if c not in ("trials", "events")]
    others = [c for c in columns if c != variable]
    profile = (reference_profile(data, others, weights) if profile is None
               else {c: profile[c] for c in others})
    x = data[variable].to_numpy(dtype=float)
    distinct = np.unique(x)
    if len(distinct) <= points:
        grid = distinct
    else:
        w = np.ones(len(x)) if weights is None else weights
        order = np.argsort(x)
        cum = np.cumsum(w[order]) / np.sum(w)
        lo, hi = x[order][np.searchsorted(cum, 0.01)], x[order][min(len(x) - 1, np.searchsorted(cum, 0.99))]
        grid = np.linspace(lo, hi, points)
    rows = pd.DataFrame({**{c: [profile[c]] * len(grid) for c in profile}, variable: grid})
    for c in columns:
        # every other column in its own type; the variable keeps the grid's values (a whole-number column's
        # grid between its values is not cut back to whole numbers)
        if c != variable and c in rows and c in data.columns:
            rows[c] = rows[c].astype(data[c].dtype) if data[c].dtype != object else rows[c]
    rows = model._as_categories(rows, model._model_levels(results))
    X = np.asarray(patsy.build_design_matrices([require_design_info(results)], rows)[0])
    b = np.asarray(results.params, dtype=float)
    V = np.asarray(results.cov_params(), dtype=float)
    eta = X @ b
    se = np.sqrt(np.einsum("ij,jk,ik->i", X, V, X))
    z = stats.norm.ppf(1 - (1 - conf) / 2)
    out = pd.DataFrame({"x": grid, "p": expit(eta), "p_low": expit(eta - z * se), "p_high": expit(eta + z * se)})
    out.attrs["profile"] = {k: (v.item() if hasattr(v, "item") else v) for k, v in profile.items()}
    return out


# ----------------------------------------------------------------------------- verbs on a fit

SPLINE_EFFECT_COLUMNS = ["variable", "label", "low", "high", "estimate", "std_error", "odds_ratio", "or_conf_low",
                         "or_conf_high"]
COMPARISON_COLUMNS = ["model", "terms", "parameters", "llf", "aic", "bic"]


def specification_checks(fit, spec) -> dict[str, pd.DataFrame]:
    """What the model assumes, checked on the fit's own patterns: linearity of each numeric variable of the
    final model (:func:`linearity_tests`), the inter-quartile odds ratios of spline terms
    (:func:`spline_effects`), the fit of the model as specified against the same model with every spline
    entered linearly (AIC, BIC), and additivity: every pairwise interaction of the final model's terms and
    the specification's declared ones tested (``analysis.model.interactions``), with the odds ratios within
    levels of the interactions in the model and of the strong ones. Firth's fit has none of them: they rest on maximum-likelihood refits, which
    do not exist under separation (the tables are empty)."""
    if fit.method != "ml":
        return {"linearity_tests": pd.DataFrame(columns=LINEARITY_COLUMNS),
                "spline_effects": pd.DataFrame(columns=SPLINE_EFFECT_COLUMNS),
                "spline_odds_ratios": pd.DataFrame(columns=SPLINE_OR_COLUMNS),
                "model_comparison": pd.DataFrame(columns=COMPARISON_COLUMNS),
                "interaction_tests": pd.DataFrame(columns=interactions.TEST_COLUMNS),
                "interaction_odds_ratios": pd.DataFrame(columns=interactions.WITHIN_COLUMNS)}
    data, response, trials = fit.data, fit.response, fit.trials
    rows, linear_fits = [], {}
    for name, f in (("full model, as specified", fit.full), ("final model, as specified", fit)):
        kept = list(f.terms)
        linear_terms = linearize(kept)
        if linear_terms == kept:
            linear = f.results
        elif tuple(linear_terms) in linear_fits:   # the final model is the full one: its linear fit is made once
            linear = linear_fits[tuple(linear_terms)]
        else:
            linear = linear_fits[tuple(linear_terms)] = model.fit_logit(data, response, linear_terms, trials=trials)
        for label, results, t in ((name, f.results, kept),
                                  (name.replace("as specified", "every variable linear"), linear, linear_terms)):
            g = model.glance(results)
            rows.append({"model": label, "terms": len(t), "parameters": g["lr_df"] + 1, "llf": g["llf"],
                         "aic": g["aic"], "bic": g["bic"]})
    comparison = pd.DataFrame(rows).drop_duplicates(subset=["model"]).reset_index(drop=True)
    declared = [t for t in fit.candidates if ":" in t]
    tests = interactions.interaction_tests(fit, extra=declared)
    shown = list(dict.fromkeys([t for t in fit.terms if ":" in t]
                               + interactions.strong(tests, most=interactions.MAX_WITHIN)))
    within = [interactions.odds_ratios_within(fit, t) for t in shown]
    return {
        "linearity_tests": linearity_tests(fit.results, data, response, list(fit.terms), trials=trials, spec=spec),
        "spline_effects": spline_effects(fit.results, data, list(fit.terms), spec),
        "spline_odds_ratios": spline_odds_ratios(fit.results, data, list(fit.terms), spec),
        "model_comparison": comparison,
        "interaction_tests": tests,
        "interaction_odds_ratios": (pd.concat(within, ignore_index=True) if within
                                    else pd.DataFrame(columns=interactions.WITHIN_COLUMNS)),
    }


def effect_curves(fit) -> dict[str, tuple[pd.DataFrame, dict]]:
    """{variable: (curve, reference profile)} for every variable in a spline term of the fit
    (:func:`effect_curve` on the fit's patterns); none for Firth's fit."""
    if fit.method != "ml":
        return {}
    out, reference = {}, None
    for var in dict.fromkeys(term_variables(t)[0] for t in fit.terms if t.strip().startswith("rcs(")):
        if reference is None:     # one profile of the table for every curve
            reference = reference_profile(fit.data, [c for c in fit.data.columns if c not in ("trials", "events")],
                                          _weights(fit.data))
        curve = effect_curve(fit.results, fit.data, var, profile=reference)
        profile = curve.attrs.pop("profile")
        out[var] = (curve, profile)
    return out
