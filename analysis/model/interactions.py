"""Interactions: does the effect of one term depend on another?

- :func:`interaction_tests` adds each pairwise interaction of a fit's terms (or the ones asked for) to the
  fit's model alone and tests it by the likelihood ratio, on the rank the interaction adds (R's
  ``anova(m0, update(m0, . ~ . + a:b), test = "LRT")``); Holm-adjusted p-values over the pairs; and a
  last row for all of them added at once (the global "chunk" test, Harrell RMS section 4.6).
- :func:`odds_ratios_within` gives the odds ratios of one factor within each level of the other in the model
  with their interaction (rms's ``contrast``, SAS's ``ODDSRATIO ... / AT``): the difference of two design rows,
  every other variable at its reference value, with its Wald interval.

The refits run on the fit's pattern table by the package's Newton (``analysis.model.newton``), warm-started
from the fit, on one design built once; an interaction whose columns are aliased with the model (an empty
cell) adds only its independent columns, as R's glm, which reports the rest as NA. Tested
(tests/model/test_interactions.py) against R's anova on the Titanic and the coupon data and, for the odds
ratios within levels, against a hand computation from R's coefficients and covariance.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import patsy
from scipy import stats
from scipy.special import expit
from statsmodels.stats.multitest import multipletests

from analysis.errors import ModelError
from analysis.model.design import design_matrix
from analysis.model.fit import fit_logit
from analysis.model.formula import require_design_info
from analysis.model.newton import SeparationError, information, loglik, newton
from analysis.model.splines import reference_profile
from analysis.model.terms import split_interaction, term_variables
from analysis.threads import one_blas_thread

TEST_COLUMNS = ["term", "first", "second", "test", "df", "lr_chi2", "p_value", "p_holm", "note"]
#: above this many covariate patterns the interactions are tested by Rao's score test from the fit alone (R's
#: ``anova(m0, m1, test = "Rao")``) instead of refitting each model: asymptotically the same test, one pass
#: over the patterns per interaction instead of a design, a QR and a Newton fit of the larger model (at 10^7
#: rows, 248,200 patterns and 28 pairs, 77 s against a few seconds)
SCORE_ABOVE = 50_000
#: above this many patterns the global test of every interaction at once is not computed: its information
#: matrix has one row per interaction column (253 for the coupon model), so its cost grows with their square
#: (about a minute at 10^8 rows); the pairwise tests stand
GLOBAL_UP_TO = 200_000
#: odds ratios within levels are shown for at most this many strong interactions (the largest chi-square per
#: degree of freedom first): on very large data nearly every interaction is "significant"
MAX_WITHIN = 5
WITHIN_COLUMNS = ["interaction", "variable", "level", "baseline", "at_variable", "at_level", "estimate", "std_error",
                  "odds_ratio", "or_conf_low", "or_conf_high"]
#: the row of the test of every pairwise interaction at once
ALL_PAIRS = "all pairwise interactions"
#: an interaction is shown within levels (odds ratios, calibration in the crossed cells) when its
#: Holm-adjusted p-value is below this: a strict level, since the pairwise screen tests many pairs that
#: were not planned, and a weak interaction does not change what a reader should take from the model
STRONG_P = 0.01
#: odds ratios within levels are shown for a strong interaction of two factors with at most this many
#: (level, level) comparisons; beyond it the table would not be read (the test and the calibration in the
#: crossed cells stand for it)
MAX_WITHIN_ROWS = 24
#: columns whose QR diagonal is below this times the column's norm are aliased (R's dqrdc2 tolerance)
ALIAS_TOL = 1e-7


def interaction_term(first: str, second: str) -> str:
    return f"{first}:{second}"


def pairs_of(terms) -> list[tuple[str, str]]:
    """Every pair of main-effect terms (terms that are not interactions themselves), in model order."""
    main = [t for t in terms if len(split_interaction(t)) == 1]
    return list(itertools.combinations(main, 2))


def _independent(X: np.ndarray, base: np.ndarray, new: np.ndarray) -> np.ndarray:
    """The columns of ``new`` that are not linear combinations of ``base`` and the earlier ones of ``new``."""
    cols = np.concatenate([base, new])
    Xc = X[:, cols]
    norms = np.linalg.norm(Xc, axis=0)
    r = np.linalg.qr(Xc, mode="r")
    keep = np.abs(np.diag(r)) > ALIAS_TOL * np.where(norms > 0, norms, 1.0)
    return new[keep[len(base):]]


@one_blas_thread
def interaction_tests(fit, pairs=None, extra=(), test: str = "auto") -> pd.DataFrame:
    """LR tests of adding each pairwise interaction to ``fit``'s model (an ``analysis.model.fit.Fit`` of the
    maximum-likelihood kind), one at a time, and of adding all of them at once.

    ``pairs``: (first, second) term pairs (default: :func:`pairs_of` the fit's terms); ``extra``: interaction
    terms ("a:b", already in the fit's spelling) to test as well (declared in the specification). Columns
    ``term, first, second, df, lr_chi2, p_value, p_holm, note``: ``df`` is the rank the interaction adds,
    ``p_holm`` Holm's adjustment over the single interactions (the global row has none), ``note`` says why
    a test could not be computed, or that the model with the interaction is quasi-separated (the statistic
    is then the limit of the likelihood ratio). ``test``: "lr", "score" (Rao's efficient score statistic at
    the fit, R's ``anova(test = "Rao")``: no refit) or "auto" (LR up to ``SCORE_ABOVE`` patterns, score
    beyond); the ``test`` column names it and ``lr_chi2`` holds that statistic. Log-likelihoods are those of
    the rows (patterns give the rows' values).

    Tested against R 4.2.2 ``anova(m0, m1, test = "LRT")`` and ``p.adjust(method = "holm")`` on the Titanic
    complete cases and on the coupon data (statistics 1e-6 relative, df exact), and ``anova(test = "Rao")``
    on the Titanic (1e-6)."""
    if test not in ("auto", "lr", "score"):
        raise ValueError(f"test must be 'auto', 'lr' or 'score', got {test!r}")
    if fit.method != "ml":
        raise ValueError("interaction tests need a maximum-likelihood fit")
    terms = list(fit.terms)
    pairs = list(pairs_of(terms) if pairs is None else pairs)
    candidates = [interaction_term(a, b) for a, b in pairs]
    candidates += [t for t in extra if t not in candidates and t not in terms]
    present = [t for t in candidates if t in terms]
    candidates = [t for t in candidates if t not in terms]
    if not candidates:
        return pd.DataFrame(columns=TEST_COLUMNS)
    score = test == "score" or (test == "auto" and len(fit.data) > SCORE_ABOVE)
    rows = _score_rows(fit, candidates) if score else _lr_rows(fit, terms, candidates)
    p = np.array([r["p_value"] for r in rows if r["term"] != ALL_PAIRS], dtype=float)
    finite = np.isfinite(p)
    holm = np.full(len(p), np.nan)
    if finite.any():
        holm[finite] = multipletests(p[finite], method="holm")[1]
    for r, h in zip([r for r in rows if r["term"] != ALL_PAIRS], holm):
        r["p_holm"] = h
    for term in present:
        rows.append({"term": term, "first": "", "second": "", "test": "", "df": 0, "lr_chi2": np.nan,
                     "p_value": np.nan,
                     "p_holm": np.nan, "note": "in the model already (its test is the Type 3 table's)"})
    return pd.DataFrame(rows, columns=TEST_COLUMNS)


def _lr_rows(fit, terms, candidates) -> list[dict]:
    """LR tests: one design with every candidate interaction (patsy, as the formula would code it), each
    interaction's independent columns found by QR, its model refitted by Newton from the fit."""
    data = fit.data
    design = design_matrix(data, terms + candidates)
    X = np.asarray(design.X, dtype=float)
    y = data[fit.response].to_numpy(dtype=float)
    m = data[fit.trials].to_numpy(dtype=float) if fit.trials else np.ones(len(data))
    base = np.concatenate([[0], *[np.arange(X.shape[1])[design.term_columns[t]] for t in terms]]).astype(int)
    beta0, _, ll0, _ = newton(np.ascontiguousarray(X[:, base]), y, m, _start(fit, design, base))
    rows, added = [], []
    for term in candidates:
        new = _independent(X, base, np.arange(X.shape[1])[design.term_columns[term]])
        added.append(new)
        first, second = (split_interaction(term) + [""])[:2]
        rows.append(_lr_row(X, y, m, base, new, beta0, ll0, term, first, second))
    if len(candidates) > 1:
        every = _independent(X, base, np.unique(np.concatenate(added)))
        rows.append({**_lr_row(X, y, m, base, every, beta0, ll0, ALL_PAIRS, "", ""), "p_holm": np.nan})
    return rows


def _score_rows(fit, candidates) -> list[dict]:
    """Rao's score tests at the fit, on the fit's own design: an interaction's columns are the products of its
    two terms' columns (the coding patsy gives an interaction whose main effects are in the model), formed per
    interaction; the aliased ones are those whose pivot in the efficient information falls below
    ``ALIAS_TOL``^2 of its diagonal (weighted, as R's QR of the converged IRLS). No refit, no patsy."""
    from analysis.model.formula import term_slices

    results = fit.results
    X = np.asarray(results.model.exog, dtype=float)
    slices = term_slices(results)
    y = fit.data[fit.response].to_numpy(dtype=float)
    m = fit.data[fit.trials].to_numpy(dtype=float) if fit.trials else np.ones(len(fit.data))
    p = expit(X @ np.asarray(results.params, dtype=float))
    w, resid = m * p * (1.0 - p), y - m * p
    chol = np.linalg.cholesky(information(X, w))
    rows, blocks = [], []
    for term in candidates:
        first, second = split_interaction(term)[:2]
        A, B = X[:, slices[first.strip()]], X[:, slices[second.strip()]]
        Z = (A[:, :, None] * B[:, None, :]).reshape(len(X), -1)
        blocks.append(Z)
        rows.append(_score_row(Z, X, w, resid, chol, term, first, second))
    if len(candidates) > 1:
        if len(X) <= GLOBAL_UP_TO:
            rows.append({**_score_row(np.hstack(blocks), X, w, resid, chol, ALL_PAIRS, "", ""), "p_holm": np.nan})
        else:
            rows.append({"term": ALL_PAIRS, "first": "", "second": "", "test": "score", "df": 0, "lr_chi2": np.nan,
                         "p_value": np.nan, "p_holm": np.nan,
                         "note": f"not computed above {GLOBAL_UP_TO:,} patterns (its cost grows with the square of "
                                 "all the interaction columns); the pairwise tests stand"})
    return rows


def _start(fit, design, base) -> np.ndarray:
    """The fit's estimates in the order of ``base`` (the fit's columns in the new design)."""
    params = fit.results.params
    names = [design.columns[j] for j in base]
    return np.array([params.get(n, 0.0) for n in names], dtype=float)


def _score_row(Z, X, w, resid, chol, term, first, second) -> dict:
    """Rao's efficient score statistic for adding the columns ``Z`` to the fitted model with design ``X``:
    U'(I_ZZ - I_ZX I_XX^-1 I_XZ)^-1 U with U = Z'(y - m p) and the information at the fit (``chol`` the
    Cholesky factor of I_XX). Columns aliased with the model (a pivot of the efficient information below
    ALIAS_TOL^2 times its diagonal entry) are left out and ``df`` is the rank the rest add."""
    row = {"term": term, "first": first, "second": second, "test": "score", "df": 0, "lr_chi2": np.nan,
           "p_value": np.nan, "note": ""}
    u = Z.T @ resid
    cross = (Z * w[:, None]).T @ X
    half = np.linalg.solve(chol, cross.T)                # L^-1 I_XZ
    efficient = information(Z, w) - half.T @ half
    keep = _pivots(efficient)
    if not keep:
        row["note"] = "every column of the interaction is aliased with the model (no information to test it)"
        return row
    E = efficient[np.ix_(keep, keep)]
    stat = max(0.0, float(u[keep] @ np.linalg.solve(E, u[keep])))
    row.update(df=len(keep), lr_chi2=stat, p_value=float(stats.chi2.sf(stat, len(keep))))
    return row


def _pivots(S: np.ndarray) -> list[int]:
    """The columns kept by a Cholesky factorisation of the symmetric matrix ``S`` that skips a column whose
    pivot (its variance left after the columns kept before it) is below ALIAS_TOL^2 of its diagonal entry:
    the columns R's QR keeps, in order."""
    keep: list[int] = []
    for j in range(S.shape[0]):
        d = S[j, j]
        if d <= 0:
            continue
        if keep:
            K = S[np.ix_(keep, keep)]
            rest = d - S[j, keep] @ np.linalg.solve(K, S[keep, j])
        else:
            rest = d
        if rest > ALIAS_TOL ** 2 * d and np.isfinite(rest):
            keep.append(j)
    return keep


def _lr_row(X, y, m, base, new, beta0, ll0, term, first, second) -> dict:
    row = {"term": term, "first": first, "second": second, "test": "LR", "df": int(len(new)), "lr_chi2": np.nan,
           "p_value": np.nan, "note": ""}
    if len(new) == 0:
        row["note"] = "every column of the interaction is aliased with the model (no information to test it)"
        return row
    cols = np.concatenate([base, new])
    start = np.concatenate([beta0, np.zeros(len(new))])
    ll1, note = supremum_loglik(np.ascontiguousarray(X[:, cols]), y, m, start)
    if not math.isfinite(ll1):
        row["note"] = note
        return row
    lr = max(0.0, 2.0 * (ll1 - ll0))
    row.update(lr_chi2=lr, p_value=float(stats.chi2.sf(lr, len(new))), note=note)
    return row


def supremum_loglik(X, y, m, start, maxiter: int = 100, tol: float = 1e-12) -> tuple[float, str]:
    """The maximum log-likelihood of a logit, or, when the maximum is not attained (quasi-separation: some
    cell of an interaction has only events or only non-events, and the estimates diverge), its supremum:
    the limit the log-likelihood climbs to as they do. That limit is found as R's glm climbs towards it:
    iteratively reweighted least squares on sqrt(w) X (columns scaled to unit length, solved by SVD), with
    step halving, until the log-likelihood gains less than ``tol`` relative. Returns (log-likelihood, note); NaN when even the supremum is not reached."""
    try:
        return newton(X, y, m, start)[2], ""
    except SeparationError:
        pass
    beta = np.asarray(start, dtype=float).copy()
    ll = loglik(y, m, X @ beta)
    for _ in range(maxiter):
        p = expit(X @ beta)
        w = np.maximum(m * p * (1.0 - p), 1e-300)
        root = np.sqrt(w)
        A = X * root[:, None]
        scale = np.linalg.norm(A, axis=0)
        scale[scale == 0] = 1.0
        step = np.linalg.lstsq(A / scale, (y - m * p) / root, rcond=1e-12)[0] / scale
        t, gained = 1.0, -math.inf
        while t > 1e-12:
            new_ll = loglik(y, m, X @ (beta + t * step))
            if new_ll >= ll:
                gained = new_ll - ll
                beta, ll = beta + t * step, new_ll
                break
            t *= 0.5
        if gained <= tol * abs(ll):
            return ll, ("quasi-separation: a cell of the interaction has only one outcome, so its estimates "
                        "diverge; the statistic is the limit of the likelihood ratio")
    return math.nan, "the model with this interaction did not converge, even to its supremum"


def strong(tests: pd.DataFrame, level: float = STRONG_P, most: int | None = None) -> list[str]:
    """The single interactions (not the global row) whose Holm-adjusted p-value is below ``level``, in table
    order; with ``most``, only that many, the largest chi-square per degree of freedom first."""
    if tests.empty:
        return []
    single = tests[(tests["term"] != ALL_PAIRS) & tests["p_holm"].notna()]
    chosen = single[single["p_holm"] < level]
    if most is not None:
        size = chosen["lr_chi2"] / chosen["df"].clip(lower=1)
        chosen = chosen.loc[size.sort_values(ascending=False, kind="stable").index[:most]].sort_index()
    return list(chosen["term"])


def _levels(data: pd.DataFrame, term: str, weights) -> tuple[str, list, object] | None:
    """(variable, levels to compare, baseline) of a one-factor term: a categorical's levels against its
    baseline, a two-valued column's 1 against 0; None for other terms (numeric, spline)."""
    from analysis.model.terms import explicit_baseline

    var = term_variables(term)[0]
    values = data[var]
    if term.strip().startswith("C("):
        levels = sorted(values.dropna().unique(), key=str)
        base = explicit_baseline(term)
        base = next((lv for lv in levels if str(lv) == base), levels[0]) if base is not None else levels[0]
        return var, [lv for lv in levels if lv != base], base
    if term.strip().startswith("rcs("):
        return None
    distinct = np.unique(values.to_numpy(dtype=float))
    if set(distinct) <= {0.0, 1.0}:
        return var, [1], 0
    return None


def odds_ratios_within(fit, interaction: str, conf_level: float = 0.95) -> pd.DataFrame:
    """Odds ratios of each factor of ``interaction`` (two categorical or 0/1 terms) within each level of the
    other, in the fit's model with the interaction added (the fit itself when it has it): the difference of
    two design rows that differ only in the first factor, the second at the given level and every other
    variable at its reference value (``reference_profile``), with its Wald interval. Columns
    ``interaction, variable, level, baseline, at_variable, at_level, estimate, std_error, odds_ratio,
    or_conf_low, or_conf_high``. A numeric or spline factor gives no rows (its effect within levels is a
    curve, not one odds ratio), nor do factors with more than ``MAX_WITHIN_ROWS`` comparisons between them,
    nor a model with the interaction that cannot be estimated (an empty cell: an aliased column).

    Tested against R 4.2.2 on the Titanic (sex within passenger class: female vs male and its 95% Wald limits
    from glm's coefficients and vcov, 1e-6 relative) and on the coupon data (returned goods within each
    count of coupons used last month)."""
    first, second = split_interaction(interaction)
    weights = fit.data[fit.trials].to_numpy() if fit.trials else None
    la, lb = _levels(fit.data, first, weights), _levels(fit.data, second, weights)
    if la is None or lb is None or 2 * len(la[1]) * len(lb[1]) + len(la[1]) + len(lb[1]) > MAX_WITHIN_ROWS:
        return pd.DataFrame(columns=WITHIN_COLUMNS)
    terms = list(fit.terms)
    if interaction not in terms:
        terms = terms + [interaction]
    try:
        results = fit_logit(fit.data, fit.response, terms, trials=fit.trials)
    except ModelError:              # an empty cell (aliased column) or separation: no odds ratio there
        return pd.DataFrame(columns=WITHIN_COLUMNS)
    info = require_design_info(results)
    columns = [c for c in fit.data.columns if c not in (fit.response, fit.trials)]
    profile = reference_profile(fit.data[columns], columns, weights)
    beta = np.asarray(results.params, dtype=float)
    V = np.asarray(results.cov_params(), dtype=float)
    z = stats.norm.ppf(1 - (1 - conf_level) / 2)
    out = []
    for a, b in ((first, second), (second, first)):
        la, lb = _levels(fit.data, a, weights), _levels(fit.data, b, weights)
        if la is None or lb is None:
            continue
        var_a, levels_a, base_a = la
        var_b, levels_b, base_b = lb
        for at in [base_b, *levels_b]:
            for level in levels_a:
                rows = pd.DataFrame([profile, profile])
                rows[var_a] = [level, base_a]
                rows[var_b] = [at, at]
                for c in columns:
                    if fit.data[c].dtype != object and not isinstance(fit.data[c].dtype, pd.CategoricalDtype):
                        rows[c] = rows[c].astype(fit.data[c].dtype)
                X = np.asarray(patsy.build_design_matrices([info], rows)[0], dtype=float)
                c = X[0] - X[1]
                est = float(c @ beta)
                se = float(math.sqrt(c @ V @ c))
                out.append({"interaction": interaction, "variable": var_a, "level": level, "baseline": base_a,
                            "at_variable": var_b, "at_level": at, "estimate": est, "std_error": se,
                            "odds_ratio": math.exp(est), "or_conf_low": math.exp(est - z * se),
                            "or_conf_high": math.exp(est + z * se)})
    return pd.DataFrame(out, columns=WITHIN_COLUMNS)
