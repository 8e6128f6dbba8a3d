"""Stepwise selection of logistic-regression terms: R's `step()` (AIC / BIC) and SAS PROC LOGISTIC's
SELECTION=STEPWISE / FORWARD / BACKWARD (score test to enter, Wald test to stay).

    stepwise(data, response, terms, *, direction="both", criterion="aic", slentry=0.05, slstay=0.05,
             force=(), trials=None, max_steps=None) -> StepwiseResult

How it works
------------
The full design matrix is built once (`analysis.design.design_matrix`, patsy), rows with identical
covariates are pooled into binomial patterns (exact: the Bernoulli log-likelihood of the rows equals the
binomial kernel of the patterns), and every candidate model is a subset of those columns fitted by a
hand-written Newton-Raphson (= IRLS, canonical link) on numpy arrays, warm-started from the current model.
No library offers a logit fit on a column subset of a shared matrix with warm starts, nor the SAS selection
loop, nor R's step() in Python, so these are hand-written; the final model is refitted by statsmodels so the
summary users see is statsmodels' own.

Rules
-----
criterion="aic" / "bic" -- R's `step()` (stats 4.2) with k = 2 / k = log(n):
  * criterion of a model = -2 log L + k * (number of coefficients, intercept included), log L the Bernoulli
    log-likelihood of the n rows (= R's extractAIC for a 0/1 glm). n = number of rows; in the pattern form
    n = sum of `trials` (the rows the patterns stand for), and log L excludes the binomial coefficients, so
    the values equal those of the expanded rows (R's glm on counts would add a constant).
  * each step evaluates every allowed move: dropping each non-forced term of the current model
    ("backward", "both") and adding each term not in it ("forward", "both"); the move with the smallest
    criterion is taken if it is strictly smaller than the current model's, else selection stops. Ties go,
    as in R's stable `order()`, to "no change", then drops in model order, then adds in the order of `terms`.
  * direction "both" and "backward" start from the full model (`step(full, direction=...)`; "both" may
    re-add a dropped term), "forward" from the intercept + `force` (`step(null, scope=list(upper=full))`).
criterion="pvalue" -- SAS PROC LOGISTIC effect selection (SAS/STAT User's Guide, LOGISTIC, "Effect-Selection
Methods": FORWARD "computes the score chi-square statistic for each effect not in the model ... If it is
significant at the SLENTRY= level, the corresponding effect is added"; BACKWARD examines "the Wald test"
and removes "the least significant effect that does not meet the SLSTAY= level"; stepwise is, in the
words of the HPLOGISTIC page, "similar to the FORWARD method except that effects already in the model do
not necessarily stay there"):
  * entry: for each term not in the model, the score chi-square for adding all its columns to the current
    model (df = its number of columns); the term with the smallest p-value (ties: larger chi-square, then
    order of `terms`) enters if p < slentry. (SAS's text says it "examines the largest of these statistics";
    for 1-df terms that is the same term; for terms of different df the p-value is the fair comparison.)
  * removal: for each non-forced term in the model, the joint Wald chi-square of its coefficients; the term
    with the largest p-value (ties: smaller chi-square, then model order) leaves if p > slstay.
  * "forward": entries only, from intercept + `force`; "backward": removals only, from the full model;
    "both" (= SELECTION=STEPWISE): from intercept + `force`, like FORWARD; each entry is followed by as
    many removals as qualify; stops when no term qualifies for entry.
  * cycle guard: selection stops when a step reaches a model (set of terms) visited before. Each step is
    taken and shown in the path, then the check is made (stop_reason "cycle"). So when the least
    significant term right after an entry is the term that just entered, it is removed and selection stops
    at the model before that entry; a re-entry that recreates a visited model stops there too. This is
    the rule SPSS documents for LOGISTIC REGRESSION ("Model building stops when ... the current model is
    the same as a previous model") and, as we recall it, PROC LOGISTIC's (stepwise "terminates if ... the
    current model is identical to a previously visited model"); the stored copy of the SAS page we could
    search holds only the start of that section, so that sentence is quoted from memory.
direction="none": the full model; the path has only its "start" row.

Non-convergence, complete or quasi-complete separation (no finite MLE: Newton does not converge in 100
iterations, the information matrix is singular, or fitted probabilities are within 10 * machine epsilon of
0 or 1, R's threshold for its warning) raise `SeparationError` naming the model and the term being tried.

Tested (tests/test_stepwise.py) against: R 4.2.2 `step()` on the real data (../shared/reference/
r_full_data.json: final terms, paths, AIC/BIC after each step and LR changes to 1e-6 relative, final
coefficients to 1e-6); the selection SAS reports for its Remission example (tests/reference/remission.json:
li, temp, cell enter, nothing leaves); a separate R implementation of the SAS rules on glm() with
add1(test = "Rao") and coef()/vcov() Wald tests (tests/reference/stepwise_reference_R.json, made by
stepwise_reference.R) on the Remission, a synthetic and the real data: paths, stop reasons, the chosen and
every candidate's statistic to 1e-7 relative; car::Anova(type = 3, "Wald") and statsmodels
`wald_test_terms` / `GLMResults.score_test` (1e-7 / 1e-8); the Newton fit against statsmodels Logit (1e-8
relative on estimates); the pattern form against the expanded rows (same selection and path).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.linalg as sla
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy.special import expit
from scipy.stats import chi2

from .design import design_matrix, with_categoricals

__all__ = ["stepwise", "StepwiseResult", "SeparationError", "PATH_COLUMNS"]

CRITERIA = ("aic", "bic", "pvalue")
DIRECTIONS = ("both", "forward", "backward", "none")
PATH_COLUMNS = ("step", "action", "term", "df", "criterion", "statistic", "p_value")

_MAXITER = 100
_TOL = 1e-10                                  # Newton step, relative to max(1, max |beta|)
_P_EDGE = 10 * np.finfo(float).eps            # R's "fitted probabilities numerically 0 or 1"


class SeparationError(ValueError):
    """A logit fit has no finite maximum-likelihood estimate (separation) or did not converge."""


@dataclass(frozen=True)
class StepwiseResult:
    """Outcome of `stepwise`.

    terms: selected terms, spelled as given, in the order of `terms`.
    formula: formula of the final model as fitted: "y ~ a + C(b)" ("y ~ 1" if none); in the pattern form
        "events + I(trials - events) ~ ..." (statsmodels' binomial GLM with (events, non-events) endog).
    path: one row per step (columns PATH_COLUMNS): step (0 = start), action ("start"/"add"/"remove"),
        term, df (columns of the term), criterion (AIC/BIC after the step; NaN for "pvalue"), statistic
        (LR chi-square for aic/bic; score chi-square to add, Wald chi-square to remove for "pvalue"),
        p_value (of that statistic, chi-square on df).
    model: statsmodels results of the final model: `smf.logit(formula, data).fit()` for 0/1 rows,
        `smf.glm(formula, data, family=Binomial()).fit()` for the pattern form (estimates and standard
        errors equal those of the expanded rows; its llf/aic include the binomial coefficients). The data
        given to statsmodels has the text columns the terms use as Categoricals (sorted values as
        categories: same design, faster); `model.predict` accepts the original text columns.
    criterion, direction: as requested. stop_reason: why selection ended. n_obs: number of Bernoulli
        trials (rows, or sum of trials). k: penalty per coefficient (2 or log n; None for "pvalue").
    """

    terms: tuple[str, ...]
    formula: str
    path: pd.DataFrame
    model: Any
    criterion: str
    direction: str
    stop_reason: str
    n_obs: int
    k: float | None


# ----------------------------------------------------------------------------------------------- fitting
class _Fit:
    """Logit MLE on the columns `cols` of the pattern matrix; p, weights and information computed lazily."""

    __slots__ = ("prob", "cols", "beta", "eta", "loglik", "_p", "_w", "_chol")

    def __init__(self, prob: "_Problem", cols: np.ndarray, beta: np.ndarray, eta: np.ndarray, loglik: float):
        self.prob, self.cols, self.beta, self.eta, self.loglik = prob, cols, beta, eta, loglik
        self._p = self._w = self._chol = None

    @property
    def p(self) -> np.ndarray:
        if self._p is None:
            self._p = expit(self.eta)
        return self._p

    @property
    def w(self) -> np.ndarray:
        if self._w is None:
            self._w = self.prob.m * self.p * (1.0 - self.p)
        return self._w

    @property
    def chol(self):
        if self._chol is None:
            Xc = self.prob.X[:, self.cols]
            self._chol = sla.cho_factor((Xc.T * self.w) @ Xc, lower=True, check_finite=False)
        return self._chol

    def full_beta(self) -> np.ndarray:
        out = np.zeros(self.prob.X.shape[1])
        out[self.cols] = self.beta
        return out


def _loglik(y, m, eta):
    return float(y @ eta - m @ np.logaddexp(0.0, eta))


def _newton(X, y, m, beta):
    """Maximise the binomial log-likelihood by Newton-Raphson with step halving. Returns (beta, eta, loglik).

    Raises SeparationError on non-convergence, singular information or fitted probabilities at 0/1."""
    eta = X @ beta
    ll = _loglik(y, m, eta)
    for _ in range(_MAXITER):
        p = expit(eta)
        w = m * p * (1.0 - p)
        grad = X.T @ (y - m * p)
        try:
            cf = sla.cho_factor((X.T * w) @ X, lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            raise SeparationError("the information matrix is singular (separation or aliased columns)") from None
        step = sla.cho_solve(cf, grad, check_finite=False)
        if not np.all(np.isfinite(step)):
            raise SeparationError("the Newton step is not finite (separation)")
        done = np.max(np.abs(step), initial=0.0) <= _TOL * max(1.0, np.max(np.abs(beta), initial=0.0))
        t = 1.0
        while True:
            nb = beta + t * step
            ne = X @ nb
            nll = _loglik(y, m, ne)
            if nll >= ll - 1e-12 * (1.0 + abs(ll)):
                break
            t *= 0.5
            if t < 1e-10:
                raise SeparationError("step halving failed to increase the likelihood")
        beta, eta, ll = nb, ne, nll
        if done:
            p = expit(eta)
            if np.any((p < _P_EDGE) | (p > 1.0 - _P_EDGE)):
                raise SeparationError("fitted probabilities numerically 0 or 1 (separation)")
            return beta, eta, ll
    raise SeparationError(f"Newton-Raphson did not converge in {_MAXITER} iterations (separation?)")


class _Problem:
    """Pooled binomial data (patterns) with the full design and each term's columns."""

    def __init__(self, X, y, m, columns, term_columns, terms):
        # pool identical design rows: exact (byte equality), order of first appearance
        rows = np.ascontiguousarray(X).view(np.dtype((np.void, X.dtype.itemsize * X.shape[1]))).ravel()
        codes, uniq = pd.factorize(rows)
        first = np.empty(len(uniq), dtype=np.intp)
        first[codes[::-1]] = np.arange(len(codes))[::-1]
        self.X = np.ascontiguousarray(X[first])
        self.y = np.bincount(codes, weights=y, minlength=len(uniq))
        self.m = np.bincount(codes, weights=m, minlength=len(uniq))
        self.columns = columns
        self.terms = list(terms)
        self.term_cols = {t: np.arange(s.start, s.stop) for t, s in term_columns.items()}
        self.n_obs = float(self.m.sum())

    def cols(self, model_terms) -> np.ndarray:
        parts = [np.array([0])] + [self.term_cols[t] for t in model_terms]
        return np.sort(np.concatenate(parts))

    def fit(self, model_terms, start_full=None, trying=None) -> _Fit:
        """MLE of the model with `model_terms`, started from `start_full` (coefficients over all columns,
        e.g. the current model's) with the intercept shifted so that the mean linear predictor is kept when
        columns are dropped; retried from zero if that start fails."""
        cols = self.cols(model_terms)
        starts = []
        if start_full is not None:
            beta0 = start_full[cols].copy()
            dropped = np.setdiff1d(np.flatnonzero(start_full), cols)
            if dropped.size:
                beta0[0] += float(self.m @ (self.X[:, dropped] @ start_full[dropped])) / self.n_obs
            starts.append(beta0)
        starts.append(np.zeros(len(cols)))
        for i, beta0 in enumerate(starts):
            try:
                beta, eta, ll = _newton(self.X[:, cols], self.y, self.m, beta0)
                return _Fit(self, cols, beta, eta, ll)
            except SeparationError as exc:
                if i + 1 < len(starts):
                    continue
                model = " + ".join(model_terms) or "1"
                what = f"while trying term {trying!r}" if trying else "for the starting model"
                raise SeparationError(f"logit fit failed {what} (model: ~ {model}): {exc}") from None


def _score_tests(fit: _Fit, candidates) -> dict[str, tuple[float, int]]:
    """Score chi-square (and df) for adding each candidate term's columns to the fitted model."""
    prob = fit.prob
    Xc = prob.X[:, fit.cols]
    idx = [prob.term_cols[t] for t in candidates]
    Z = prob.X[:, np.concatenate(idx)]
    w = fit.w
    B = sla.cho_solve(fit.chol, Xc.T @ (Z * w[:, None]), check_finite=False)
    Zr = Z - Xc @ B                               # Z residualised on X in the W metric
    S = (Zr.T * w) @ Zr                           # efficient information for Z
    U = Z.T @ (prob.y - prob.m * fit.p)           # score for Z at the current MLE
    out, at = {}, 0
    for t, cols in zip(candidates, idx):
        sl = slice(at, at + len(cols))
        at += len(cols)
        try:
            stat = float(U[sl] @ np.linalg.solve(S[sl, sl], U[sl]))
        except np.linalg.LinAlgError:
            raise SeparationError(f"score test for term {t!r}: its columns are aliased with the model") from None
        out[t] = (max(stat, 0.0), len(cols))
    return out


def _wald_tests(fit: _Fit, in_model) -> dict[str, tuple[float, int]]:
    """Joint Wald chi-square (and df) of each term's coefficients in the fitted model."""
    cov = sla.cho_solve(fit.chol, np.eye(len(fit.cols)), check_finite=False)
    out = {}
    for t in in_model:
        pos = np.searchsorted(fit.cols, fit.prob.term_cols[t])
        b = fit.beta[pos]
        out[t] = (float(b @ np.linalg.solve(cov[np.ix_(pos, pos)], b)), len(pos))
    return out


# --------------------------------------------------------------------------------------------- selection
def _row(step, action, term, df, criterion, statistic, p_value):
    return {"step": step, "action": action, "term": term, "df": df, "criterion": criterion,
            "statistic": statistic, "p_value": p_value}


def _select_ic(prob: _Problem, direction, k, force, max_steps):
    """R step(): best single drop/add by -2 log L + k * edf while it strictly improves."""
    backward = direction in ("both", "backward")
    forward = direction in ("both", "forward")
    current = [t for t in prob.terms if t in force] if direction == "forward" else list(prob.terms)
    fit = prob.fit(current)
    crit = -2.0 * fit.loglik + k * len(fit.cols)
    rows = [_row(0, "start", None, pd.NA, crit, math.nan, math.nan)]
    if direction == "none":
        return current, fit, rows, "none"
    step, reason = 0, "no move improves the criterion"
    while True:
        if max_steps is not None and step >= max_steps:
            reason = "max_steps"
            break
        start = fit.full_beta()
        moves = []                                          # (criterion, action, term, fit) in R's order
        if backward:
            for t in current:
                if t not in force:
                    f = prob.fit([u for u in current if u != t], start, trying=t)
                    moves.append((-2.0 * f.loglik + k * len(f.cols), "remove", t, f))
        if forward:
            for t in prob.terms:
                if t not in current:
                    f = prob.fit(current + [t], start, trying=t)
                    moves.append((-2.0 * f.loglik + k * len(f.cols), "add", t, f))
        if not moves:
            reason = "no candidate moves"
            break
        best = min(range(len(moves)), key=lambda i: (moves[i][0], i))
        new_crit, action, term, new_fit = moves[best]
        if not new_crit < crit:
            break
        lr = abs(2.0 * (new_fit.loglik - fit.loglik))
        df = len(prob.term_cols[term])
        step += 1
        rows.append(_row(step, action, term, df, new_crit, lr, float(chi2.sf(lr, df))))
        current = [u for u in current if u != term] if action == "remove" else current + [term]
        fit, crit = new_fit, new_crit
    return current, fit, rows, reason


def _select_sl(prob: _Problem, direction, slentry, slstay, force, max_steps):
    """SAS PROC LOGISTIC: enter by score test (p < slentry), remove by Wald test (p > slstay)."""
    forward = direction in ("both", "forward")
    backward = direction in ("both", "backward")
    current = list(prob.terms) if direction in ("backward", "none") else [t for t in prob.terms if t in force]
    fit = prob.fit(current)
    rows = [_row(0, "start", None, pd.NA, math.nan, math.nan, math.nan)]
    if direction == "none":
        return current, fit, rows, "none"
    visited = {frozenset(current)}
    step = 0

    def budget_left():
        return max_steps is None or step < max_steps

    def removals():
        """Remove the least significant non-forced term while p > slstay. Returns a stop reason or None."""
        nonlocal current, fit, step
        while True:
            removable = [t for t in current if t not in force]
            if not removable:
                return None
            tests = _wald_tests(fit, removable)
            pv = {t: float(chi2.sf(s, d)) for t, (s, d) in tests.items()}
            worst = max(range(len(removable)), key=lambda i: (pv[removable[i]], -tests[removable[i]][0], -i))
            term = removable[worst]
            if not pv[term] > slstay:
                return None
            if not budget_left():
                return "max_steps"
            new = [u for u in current if u != term]
            stat, df = tests[term]
            fit = prob.fit(new, fit.full_beta(), trying=term)
            step += 1
            rows.append(_row(step, "remove", term, df, math.nan, stat, pv[term]))
            current = new
            if frozenset(new) in visited:
                return "cycle"
            visited.add(frozenset(new))

    if not forward:                                   # backward elimination
        reason = removals() or "all remaining terms meet slstay"
        return current, fit, rows, reason
    while True:
        candidates = [t for t in prob.terms if t not in current]
        if not candidates:
            reason = "all terms are in the model"
            break
        tests = _score_tests(fit, candidates)
        pv = {t: float(chi2.sf(s, d)) for t, (s, d) in tests.items()}
        best = min(range(len(candidates)), key=lambda i: (pv[candidates[i]], -tests[candidates[i]][0], i))
        term = candidates[best]
        if not pv[term] < slentry:
            reason = "no term meets slentry"
            break
        if not budget_left():
            reason = "max_steps"
            break
        new = current + [term]
        stat, df = tests[term]
        fit = prob.fit(new, fit.full_beta(), trying=term)
        step += 1
        rows.append(_row(step, "add", term, df, math.nan, stat, pv[term]))
        current = new
        if frozenset(new) in visited:
            reason = "cycle"
            break
        visited.add(frozenset(new))
        if backward:
            stop = removals()
            if stop is not None:
                reason = stop
                break
    return current, fit, rows, reason


# ------------------------------------------------------------------------------------------------ public
def _response_arrays(data, response, trials):
    if response not in data.columns:
        raise ValueError(f"response column {response!r} not in data")
    if not pd.api.types.is_numeric_dtype(data[response]) or pd.api.types.is_bool_dtype(data[response]):
        raise ValueError(f"response {response!r} must be numeric 0/1 (or event counts); statsmodels' formula "
                         "Logit rejects bool and text: convert it, e.g. with .astype(int)")
    y = pd.to_numeric(data[response], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if trials is None:
        if not np.all(np.isin(y, (0.0, 1.0))):
            raise ValueError(f"response {response!r} must be 0/1 in every row (or give `trials` for counts)")
        return y, np.ones_like(y)
    if trials not in data.columns:
        raise ValueError(f"trials column {trials!r} not in data")
    m = pd.to_numeric(data[trials], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(m))):
        raise ValueError(f"{response!r} and {trials!r} must be finite numbers in every row")
    if np.any(m <= 0) or np.any(y < 0) or np.any(y > m):
        raise ValueError(f"need 0 <= {response} <= {trials} and {trials} > 0 in every row")
    return y, m


def _fit_final(data, response, trials, selected, prob: _Problem, fit: _Fit):
    """statsmodels' fit of the selected model, started at our estimates (it converges in one step).

    `data` has its text columns as Categoricals with their sorted values as categories
    (`with_categoricals`): the same design as from the text (tested), built faster by patsy."""
    rhs = " + ".join(selected) if selected else "1"
    if trials is None:
        formula = f"{response} ~ {rhs}"
        mod = smf.logit(formula, data)
    else:
        formula = f"{response} + I({trials} - {response}) ~ {rhs}"
        mod = smf.glm(formula, data, family=sm.families.Binomial())
    names = list(mod.exog_names)
    ours = dict(zip([prob.columns[c] for c in fit.cols], fit.beta))
    if set(names) != set(ours):
        raise RuntimeError(f"the refitted model's columns {names} differ from the selection's {sorted(ours)}")
    start = np.array([ours[n] for n in names])
    res = mod.fit(disp=0, start_params=start) if trials is None else mod.fit(start_params=start)
    return formula, res


def stepwise(data: pd.DataFrame, response: str, terms, *, direction: str = "both", criterion: str = "aic",
             slentry: float = 0.05, slstay: float = 0.05, force=(), trials: str | None = None,
             max_steps: int | None = None) -> StepwiseResult:
    """Stepwise selection of `terms` for a logistic regression of `response` on `data`.

    data: DataFrame without missing values in the columns used. response: 0/1 column, or with `trials`
    the number of events in each row (row = covariate pattern, `trials` = its count); the selection equals
    that on the expanded 0/1 rows. terms: formula terms ("age", "C(job)", ...); a term enters and leaves
    whole. direction: "both", "forward", "backward" or "none"; criterion: "aic", "bic" (R's step(), k = 2
    or log n) or "pvalue" (SAS PROC LOGISTIC, slentry / slstay). force: terms always in the model.
    max_steps: at most this many add/remove steps (None: no limit).

    See the module docstring for the exact rules, including the SAS cycle guard, and what this was tested
    against.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {CRITERIA}, got {criterion!r}")
    if criterion == "pvalue" and not (0 < slentry <= 1 and 0 < slstay <= 1):
        raise ValueError("slentry and slstay must be in (0, 1]")
    if max_steps is not None and (int(max_steps) != max_steps or max_steps < 0):
        raise ValueError("max_steps must be a non-negative integer or None")
    if isinstance(terms, str) or isinstance(force, str):
        raise TypeError("`terms` and `force` are lists of terms, e.g. ['age', 'C(job)'], not a string")
    terms = list(terms)
    force = set(force)
    unknown = force - set(terms)
    if unknown:
        raise ValueError(f"forced terms {sorted(unknown)} are not among `terms`")

    y, m = _response_arrays(data, response, trials)
    data = with_categoricals(data, terms)              # once, for the design and the final refit
    X, columns, term_columns = design_matrix(data, terms)
    prob = _Problem(X, y, m, columns, term_columns, terms)
    if np.linalg.matrix_rank(prob.X) < X.shape[1]:   # pooled rows span the same column space
        raise ValueError("the full design matrix is rank deficient (aliased columns): remove redundant terms")

    if criterion == "pvalue":
        k = None
        selected, fit, rows, reason = _select_sl(prob, direction, slentry, slstay, force, max_steps)
    else:
        k = 2.0 if criterion == "aic" else math.log(prob.n_obs)
        selected, fit, rows, reason = _select_ic(prob, direction, k, force, max_steps)

    chosen = set(selected)
    selected = [t for t in terms if t in chosen]
    formula, model = _fit_final(data, response, trials, selected, prob, fit)

    path = pd.DataFrame(rows, columns=list(PATH_COLUMNS))
    path = path.astype({"step": "int64", "df": "Int64", "criterion": "float64",
                        "statistic": "float64", "p_value": "float64"})
    return StepwiseResult(terms=tuple(selected), formula=formula, path=path, model=model, criterion=criterion,
                          direction=direction, stop_reason=reason, n_obs=int(round(prob.n_obs)), k=k)
