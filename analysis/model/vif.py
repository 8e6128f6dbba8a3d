"""Generalized variance inflation factors (Fox & Monette 1992), per model term, as R's ``car::vif``.

The test of each function is named in its docstring; the tests are in ``tests/test_vif.py``.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from statsmodels.stats.moment_helpers import cov2corr

__all__ = ["gvif", "gvif_from_results"]

#: names an intercept term gets in a statsmodels formula model (patsy: "Intercept", formulaic: "1")
_INTERCEPT_TERMS = ("Intercept", "1")


def gvif(
    cov_params: pd.DataFrame,
    term_columns: Mapping[str, Sequence[str]],
    intercept: str = "Intercept",
) -> pd.DataFrame:
    """Generalized VIF of each model term from the covariance matrix of the coefficient estimates.

    Exactly ``car::vif`` for a glm (car 3.1, ``vif.default``): drop the intercept's row and column of
    ``cov_params``, take the correlation matrix ``R = cov2cor(V)`` and for each term j with columns J

        GVIF_j = det(R[J, J]) * det(R[-J, -J]) / det(R),    gvif_adj = GVIF_j ** (1 / (2 df_j)),

    df_j = len(J). For a 1-df term GVIF is the ordinary VIF, ``1 / (1 - R_j^2)`` = the j-th diagonal element of
    ``inv(R)``. For a glm, car uses the (IRLS-weighted) coefficient covariance, not the raw model matrix; pass
    the covariance of the model-matrix columns instead to get Fox & Monette's unweighted version. GVIF does
    not depend on how a term is coded (e.g. a factor's baseline). Determinants are taken as
    ``numpy.linalg.slogdet`` for accuracy; the correlation matrix comes from statsmodels' ``cov2corr``.
    Written by hand (the determinant formula): statsmodels has only the per-column VIF.

    Parameters: ``cov_params`` square DataFrame labelled by coefficient on both axes (e.g. statsmodels'
    ``results.cov_params()``); ``term_columns`` maps each term to its columns (an entry for the intercept
    alone is ignored); ``intercept`` the intercept's column name. Every non-intercept column must belong to
    exactly one term. Raises ValueError when there is no intercept column or fewer than 2 terms (car stops
    on fewer than 2 terms, and only warns without an intercept), or when R is singular.

    Returns DataFrame[term, df, gvif, gvif_adj], in the order of ``term_columns``.

    Tested against: R car 3.1-1 ``vif()`` on the full model (../shared/reference, 1e-6 relative); R's hand
    GVIF on ``cor(model.matrix)`` (1e-12 relative); statsmodels' ``variance_inflation_factor`` for 1-df
    terms; the closed form 1 / (1 - r^2) in a two-term model; invariance to a factor's baseline.
    """
    if not isinstance(cov_params, pd.DataFrame):
        raise TypeError("cov_params must be a DataFrame labelled by coefficient names")
    if list(cov_params.index) != list(cov_params.columns):
        raise ValueError("cov_params must have the same labels, in the same order, on both axes")
    if intercept not in cov_params.columns:
        raise ValueError(
            f"the model has no intercept column {intercept!r}: GVIFs are defined for models with an intercept"
        )
    terms = {name: list(cols) for name, cols in term_columns.items() if list(cols) != [intercept]}
    if len(terms) < 2:
        raise ValueError("the model contains fewer than 2 terms: no variance inflation to measure")
    columns = [c for c in cov_params.columns if c != intercept]
    listed = [c for cols in terms.values() for c in cols]
    if sorted(listed) != sorted(columns) or len(set(listed)) != len(listed):
        raise ValueError(
            "term_columns must assign every non-intercept coefficient to exactly one term; "
            f"coefficients: {columns}, assigned: {listed}"
        )
    v = cov_params.loc[columns, columns].to_numpy(dtype=float)
    if not np.all(np.isfinite(v)):
        raise ValueError("cov_params has non-finite entries (aliased coefficients?)")
    r = np.asarray(cov2corr(v))
    position = {c: i for i, c in enumerate(columns)}

    def logdet(m):
        sign, value = np.linalg.slogdet(m)
        if sign <= 0:
            raise ValueError("the coefficient correlation matrix is singular")
        return value

    logdet_r = logdet(r)
    rows = []
    for name, cols in terms.items():
        idx = np.array([position[c] for c in cols])
        rest = np.setdiff1d(np.arange(len(columns)), idx)
        value = float(np.exp(logdet(r[np.ix_(idx, idx)]) + logdet(r[np.ix_(rest, rest)]) - logdet_r))
        rows.append({"term": name, "df": len(cols), "gvif": value, "gvif_adj": value ** (1 / (2 * len(cols)))})
    return pd.DataFrame(rows, columns=["term", "df", "gvif", "gvif_adj"])


def _term_slices(results) -> dict[str, slice]:
    data = results.model.data
    spec = getattr(data, "model_spec", None)
    if spec is None:
        spec = getattr(data, "design_info", None)
    if spec is None:
        raise ValueError("gvif_from_results needs a model fitted with the formula API (no term information)")
    if hasattr(spec, "term_name_slices"):  # patsy DesignInfo
        return dict(spec.term_name_slices)
    if hasattr(spec, "term_slices"):  # formulaic ModelSpec
        return {str(term): s for term, s in spec.term_slices.items()}
    raise ValueError(f"unknown model specification type {type(spec).__name__}")


def gvif_from_results(results) -> pd.DataFrame:
    """:func:`gvif` of a model fitted with statsmodels' formula API (patsy or formulaic), by formula term.

    Terms and their columns come from the model's formula specification (``results.model.data.model_spec``
    in statsmodels 0.15, ``design_info`` before), so a factor such as ``C(job)`` is one term with all its
    dummy columns; terms keep statsmodels' names (``C(job)``, ``age``, ...). The covariance is
    ``results.cov_params()``, the inverse observed information at the estimate, as R's ``vcov`` of a glm.
    Raises ValueError if the model has no intercept or fewer than 2 terms.

    Returns DataFrame[term, df, gvif, gvif_adj].

    Tested against: R car 3.1-1 ``vif()`` on the full model (1e-6 relative); error cases.
    """
    cov = results.cov_params()
    names = list(cov.columns)
    slices = _term_slices(results)
    intercepts = [name for name in slices if name in _INTERCEPT_TERMS]
    if not intercepts:
        raise ValueError("the model has no intercept: GVIFs are defined for models with an intercept")
    intercept_cols = names[slices[intercepts[0]]]
    if len(intercept_cols) != 1:
        raise ValueError("unexpected intercept columns: " + ", ".join(intercept_cols))
    terms = {name: names[s] for name, s in slices.items() if name not in _INTERCEPT_TERMS}
    return gvif(cov, terms, intercept=intercept_cols[0])
