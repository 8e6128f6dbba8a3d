"""Inference on a fitted logit: Type 3 likelihood-ratio tests, average marginal effects, generalized VIFs.

- :func:`type3_tests` is R's ``drop1(test = "LRT")`` (SAS Type 3), each reduced model refitted by
  step-halving Newton on the fit's own design;
- :func:`marginal_effects` are average marginal effects as discrete changes where a variable is discrete
  (Stata's ``margins, dydx()``, statsmodels' ``get_margeff(dummy=True, count=True)``);
- :func:`gvif` / :func:`gvif_from_results` are Fox & Monette's generalized VIFs, as R's ``car::vif``.

Every function takes a statsmodels formula fit (rows or patterns) and gives the same table for both
forms. What each was tested against is in its docstring (tests/model/test_fit.py, tests/model/test_inference.py).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import patsy
from scipy import stats
from scipy.special import expit
from statsmodels.stats.moment_helpers import cov2corr

from analysis.model.fit import (_as_categories, _linear_predictor, _model_levels, baseline_levels, bernoulli_loglik,
                                categorical_columns, response_counts, term_column)
from analysis.model import patsy_speed
from analysis.model.formula import require_design_info, term_slices
from analysis.model.newton import SeparationError, newton, safe_start
from analysis.model.terms import drop_scope, term_factors, term_variables
from analysis.threads import one_blas_thread

#: names an intercept term gets in a statsmodels formula model (patsy: "Intercept", formulaic: "1")
_INTERCEPT_TERMS = ("Intercept", "1")
VIF_COLUMNS = ["term", "df", "gvif", "gvif_adj"]


@one_blas_thread
def type3_tests(results) -> pd.DataFrame:
    """Likelihood-ratio test of dropping each term (R's drop1(test="LRT"), SAS Type 3).

    Terms are those R's ``drop1`` tests by default (``drop.scope``): a term contained in another term of
    the model (a main effect under an interaction) is not dropped alone. Each reduced model is refitted on
    the already-built design matrix (no formula re-parsing) by step-halving Newton (``analysis.model.newton``)
    from the full model's estimates of the kept columns (a few steps from the reduced maximum; from the
    intercept-only estimate if that start fails), which cannot diverge: the log-likelihood rises at every
    step, so it converges whenever the reduced model's maximum exists (a reduced model with separation has
    none: its row says so, with NaN statistics). The LR statistic and ``aic_without`` use the Bernoulli
    log-likelihoods of the rows, so the row and pattern forms give the same table.

    Tested against R's drop1 on the real data and on public data sets (birthwt, Mroz; 1e-6 relative), on
    which the former refits from statsmodels' start failed, and, on patterns, against the rows (1e-8).
    """
    exog = np.asarray(results.model.exog, dtype=float)
    events, trials = response_counts(results)
    llf_full = bernoulli_loglik(_linear_predictor(results), events, trials)
    slices = {t: s for t, s in term_slices(results).items() if t != "Intercept"}
    factors = {t: term_factors(t) for t in slices}
    beta_full = np.asarray(results.params, dtype=float)
    rows = []
    for term in drop_scope(list(slices), [], factors):
        keep = np.ones(exog.shape[1], dtype=bool)
        keep[slices[term]] = False
        X = np.ascontiguousarray(exog[:, keep])
        df = int((~keep).sum())
        try:
            eta = _refit(X, events, trials, beta_full[keep])
            llf = bernoulli_loglik(eta, events, trials)
            lr = 2 * (llf_full - llf)
            rows.append({"term": term, "df": df, "lr_chi2": lr, "p_value": stats.chi2.sf(lr, df),
                         "aic_without": -2 * llf + 2 * int(keep.sum()), "note": ""})
        except SeparationError as err:
            rows.append({"term": term, "df": df, "lr_chi2": np.nan, "p_value": np.nan, "aic_without": np.nan,
                         "note": f"the model without this term has no finite maximum ({err})"})
    return pd.DataFrame(rows, columns=["term", "df", "lr_chi2", "p_value", "aic_without", "note"])


def _refit(X, events, trials, warm) -> np.ndarray:
    """The linear predictor at the maximum of the reduced model on ``X``: Newton from ``warm`` (the full
    model's estimates of the kept columns, a few steps from the reduced maximum), and from the safe start
    when that start fails (step halving makes the warm start as safe as the other whenever the maximum
    exists; the fallback keeps the verdict on separation the safe start's)."""
    try:
        return newton(X, events, trials, warm)[1]
    except SeparationError:
        return newton(X, events, trials, safe_start(X, events, trials))[1]


MARGEFF_COLUMNS = ["term", "variable", "kind", "ame", "std_error", "statistic", "p_value", "conf_low", "conf_high"]
#: kinds of average marginal effect, as the table's ``kind`` column names them
AME_KINDS = {"level": "discrete change: level vs baseline", "binary": "discrete change: 0 to 1",
             "count": "discrete change: per unit (x-1 to x+1, halved)", "slope": "derivative: per unit"}


def _frame_of(results) -> pd.DataFrame:
    """The data frame a formula model was built from (pattern table or rows)."""
    frame = getattr(results.model.data, "frame", None)
    if frame is None:
        raise ValueError("marginal_effects needs a model fitted from a formula and a data frame")
    return frame


@one_blas_thread
@patsy_speed.scoped
def marginal_effects(results, conf_level: float = 0.95) -> pd.DataFrame:
    """Average marginal effects of every variable of the model, as discrete changes where the variable is
    discrete (as Stata's ``margins, dydx()`` and statsmodels' ``get_margeff(dummy=True, count=True)``):

    - a categorical variable: for each level, the change in predicted probability from the baseline level
      to that level, every row set to each in turn (kind "discrete change: level vs baseline");
    - a 0/1 variable: from 0 to 1 (kind "discrete change: 0 to 1");
    - a whole-number variable >= 0: half the change from its value - 1 to its value + 1, statsmodels'
      centred count effect (kind "discrete change: per unit (x-1 to x+1, halved)");
    - any other numeric variable: the derivative (central difference of width 1e-5 x scale: kind
      "derivative: per unit");

    averaged over the rows (a pattern table's rows weighted by trials). Spline and interaction terms are
    handled by rebuilding the design matrix from the changed data with the fit's own design (memorized
    knots, levels), so the change goes through every term that holds the variable. Delta-method standard
    errors: the gradient of the average change with respect to the coefficients, g' V g. Probabilities
    (0.012 = 1.2 percentage points).

    Tested: 0/1 and whole-number variables equal statsmodels ``Logit.get_margeff(dummy=True, count=True)``
    on the rows (1e-8 relative, estimates and SEs); categorical levels equal a hand computation from
    ``results.predict`` on changed frames (1e-10) -- statsmodels switches one dummy at a time and so, for a
    variable with more than two levels, compares rows that no data can have (a second level's dummy still
    1); the pattern form equals the rows (1e-10).
    """
    frame = _frame_of(results)
    info = require_design_info(results)
    levels = _model_levels(results)
    beta = np.asarray(results.params, dtype=float)
    V = np.asarray(results.cov_params(), dtype=float)
    events, trials = response_counts(results)
    w = trials / trials.sum()
    terms = [t for t in term_slices(results) if t != "Intercept"]
    categorical = set(categorical_columns(terms))
    variables = list(dict.fromkeys(v for t in terms for v in term_variables(t)))
    z = stats.norm.ppf(1 - (1 - conf_level) / 2)

    changes = _Changes(results, frame, info, levels, variables, beta, w)
    design = changes.design

    def average(d1, d0, scale=1.0):
        (p1, g1), (p0, g0) = changes.predicted(d1), changes.predicted(d0)
        ame = float(w @ (p1 - p0)) / scale
        grad = (g1 - g0) / scale
        return ame, float(np.sqrt(grad @ V @ grad))

    names = list(results.params.index)
    rows = []
    for var in variables:
        x = frame[var]
        if var in categorical:
            base = baseline_levels(frame, [t for t in terms if var in term_variables(t)])[var]
            d0 = design(var, base)
            for level in levels.get(var, sorted(map(str, x.unique()))):
                if str(level) == str(base):
                    continue
                ame, se = average(design(var, level), d0)
                term = next((n for n in names if n.startswith("C(") and n.endswith(f"[T.{level}]")
                             and term_column(n.split("[T.")[0]) == var), f"{var}[T.{level}]")
                rows.append((term, var, AME_KINDS["level"], ame, se))
            continue
        values = x.to_numpy(dtype=float)
        if set(np.unique(values)) <= {0.0, 1.0}:
            ame, se = average(design(var, 1), design(var, 0))
            rows.append((var, var, AME_KINDS["binary"], ame, se))
        elif np.all(values == np.floor(values)) and np.all(values >= 0):
            ame, se = average(design(var, values + 1), design(var, values - 1), scale=2.0)
            rows.append((var, var, AME_KINDS["count"], ame, se))
        else:
            h = 1e-5 * max(1.0, float(np.max(np.abs(values))))
            ame, se = average(design(var, values + h), design(var, values - h), scale=2 * h)
            rows.append((var, var, AME_KINDS["slope"], ame, se))
    out = pd.DataFrame(rows, columns=["term", "variable", "kind", "ame", "std_error"])
    out["statistic"] = out["ame"] / out["std_error"]
    out["p_value"] = 2 * stats.norm.sf(np.abs(out["statistic"]))
    out["conf_low"] = out["ame"] - z * out["std_error"]
    out["conf_high"] = out["ame"] + z * out["std_error"]
    return out[MARGEFF_COLUMNS]


class _Changes:
    """The fit's design with one variable changed (for :func:`marginal_effects`), never copied whole: only the
    columns of the terms that use the variable are rebuilt, by patsy's subset of the fit's design."""

    def __init__(self, results, frame, info, levels, variables, beta, w):
        self.info, self.levels, self.beta, self.w = info, levels, beta, w
        self.X = np.asarray(results.model.exog, dtype=float)
        self.eta = self.X @ beta
        self.by_variable: dict[str, list] = {}
        for t in info.terms:
            for v in term_variables(t.name()) if t.factors else ():
                self.by_variable.setdefault(v, []).append(t)
        # the text columns as categoricals once, not per change
        self.converted = _as_categories(frame[[v for v in variables if v in frame.columns]], levels)

    def design(self, var: str, value) -> tuple:
        """The rows with ``var`` set to ``value`` (a level, a number or one value per row) -- ``(cols, part)``:
        the design is the fit's with its columns ``cols`` replaced by ``part``."""
        info, levels = self.info, self.levels
        sub = info.subset(self.by_variable[var])
        needed = sorted({u for t in sub.terms for u in term_variables(t.name())})
        changed = self.converted[needed].copy()
        if var in levels and np.ndim(value) == 0 and value in levels[var]:  # one level for every row: its code
            changed[var] = pd.Categorical.from_codes(np.full(len(changed), list(levels[var]).index(value)),
                                                     categories=list(levels[var]))
        else:
            changed[var] = value
        part = np.asarray(patsy.build_design_matrices([sub], _as_categories(changed, levels))[0], dtype=float)
        cols = np.concatenate([np.arange(info.slice(t).start, info.slice(t).stop) for t in sub.terms])
        within = np.concatenate([np.arange(sub.slice(t).start, sub.slice(t).stop) for t in sub.terms])
        return cols, part[:, within]

    def predicted(self, d) -> tuple[np.ndarray, np.ndarray]:
        """p of the changed design ``d`` and the gradient of the weighted mean of p, (w p (1 - p))' X, by
        parts: the fit's products with its columns ``cols`` replaced by those of ``part``."""
        cols, part = d
        beta = self.beta
        p = expit(self.eta + part @ beta[cols] - self.X[:, cols] @ beta[cols])
        v = self.w * p * (1 - p)
        g = v @ self.X
        g[cols] = v @ part
        return p, g


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
    slices = term_slices(results)
    intercepts = [name for name in slices if name in _INTERCEPT_TERMS]
    if not intercepts:
        raise ValueError("the model has no intercept: GVIFs are defined for models with an intercept")
    intercept_cols = names[slices[intercepts[0]]]
    if len(intercept_cols) != 1:
        raise ValueError("unexpected intercept columns: " + ", ".join(intercept_cols))
    terms = {name: names[s] for name, s in slices.items() if name not in _INTERCEPT_TERMS}
    return gvif(cov, terms, intercept=intercept_cols[0])


def empty_vif() -> pd.DataFrame:
    """The VIF table of a model with fewer than two terms (nothing to inflate)."""
    return pd.DataFrame(columns=VIF_COLUMNS)
