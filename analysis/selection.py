"""Stepwise selection of logistic-regression terms: R's `step()` (AIC / BIC) and SAS PROC LOGISTIC's
SELECTION=STEPWISE / FORWARD / BACKWARD (score test to enter, Wald test to stay).

    stepwise(data, response, terms, *, direction="both", criterion="aic", slentry=0.05, slstay=0.05,
             force=(), trials=None, max_steps=None) -> StepwiseResult

How it works
------------
The full design matrix is built once (`analysis.design.design_matrix`: numpy for plain numeric and
treatment-coded text terms, patsy otherwise, same matrix), rows with identical covariates are pooled into
binomial patterns (exact: the Bernoulli log-likelihood of the rows equals the binomial kernel of the
patterns), and every candidate model is a subset of those columns fitted by a hand-written Newton-Raphson
(= IRLS, canonical link) on numpy arrays, warm-started from the current model. No library offers a logit
fit on a column subset of a shared matrix with warm starts, nor the SAS selection loop, nor R's step() in
Python, so these are hand-written; the final model is refitted by statsmodels so the summary users see is
statsmodels' own. That refit is lazy: `StepwiseResult.model` fits it on first access (then caches it), so
a caller that only needs the selected terms, or refits them its own way, does not pay for it.

Newton details: at each step of the aic/bic loop the current model's score and information over *all*
columns are computed once; an "add" candidate's first Newton iteration is read off them (no pass over the
data), and a "drop" candidate starts from the one-step estimate b_C + I_CC^-1 I_CT b_T (the maximum of the
current model's quadratic approximation with the dropped coefficients b_T set to 0). Convergence: the
Newton step is at most 1e-10 relative to max(1, max |beta|); while the linear predictors have moved by at
most 1e-3 in total since the last factorisation (so every weight by at most a factor e^0.001), that factor
is reused for the next steps (chord steps, typically the last one or two), saving information matrices
near convergence. The log-likelihood is evaluated for step halving only after steps that move some
linear predictor by more than 1 (smaller Newton steps provably increase it), and once at the end. The
results agree with plain Newton to rounding (checked on every candidate fit of the test data sets; on the
real data log-likelihoods and criteria to 1e-15, estimates and statistics to 6e-13, p-values to 2e-12
relative; on the ill-conditioned Remission data log-likelihoods to 4e-15 and statistics to 3e-11 (an LR
statistic of 0.004 is a difference of log-likelihoods near -10), where merely reversing the row order
changes plain Newton's statistics by 1e-11).

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

import functools
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd
import scipy.linalg as sla
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy.linalg.lapack import dpotrf as _potrf, dpotrs as _potrs
from scipy.special import expit
from scipy.stats import chi2

from .design import design_matrix, with_categoricals
from .threads import one_blas_thread

__all__ = ["stepwise", "StepwiseResult", "SeparationError", "PATH_COLUMNS"]

CRITERIA = ("aic", "bic", "pvalue")
DIRECTIONS = ("both", "forward", "backward", "none")
PATH_COLUMNS = ("step", "action", "term", "df", "criterion", "statistic", "p_value")

_MAXITER = 100
_TOL = 1e-10                                  # Newton step, relative to max(1, max |beta|)
_CHORD = 1e-3                                 # reuse the last factor while eta moved <= this (in total)
_SAFE_ETA = 1.0                               # Newton steps moving no linear predictor more: no likelihood check
_P_EDGE = 10 * np.finfo(float).eps            # R's "fitted probabilities numerically 0 or 1"
_ETA_EDGE = 30.0                              # |eta| below this: expit(eta) is 1e-13 or more from 0 and 1


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
        Lazy: fitted on first access of `.model` (started at the selection's estimates, so it converges at
        once) and cached on the result; until then the result keeps a reference to the data it needs.
        A failure of that refit is raised at the first access.
    criterion, direction: as requested. stop_reason: why selection ended. n_obs: number of Bernoulli
        trials (rows, or sum of trials). k: penalty per coefficient (2 or log n; None for "pvalue").
    """

    terms: tuple[str, ...]
    formula: str
    path: pd.DataFrame
    criterion: str
    direction: str
    stop_reason: str
    n_obs: int
    k: float | None
    _refit: Callable[[], Any] | None = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def model(self) -> Any:
        """statsmodels results of the final model, fitted on first access and cached (see the class doc)."""
        if self._refit is None:
            raise AttributeError("this StepwiseResult was built without the data to refit its model")
        return self._refit()


# ----------------------------------------------------------------------------------------------- fitting
class _Fit:
    """Logit MLE on the columns `cols` of the pattern matrix; p, weights and information computed lazily."""

    __slots__ = ("prob", "cols", "beta", "eta", "loglik", "_p", "_w", "_chol", "_full")

    def __init__(self, prob: "_Problem", cols: np.ndarray, beta: np.ndarray, eta: np.ndarray, loglik: float):
        self.prob, self.cols, self.beta, self.eta, self.loglik = prob, cols, beta, eta, loglik
        self._p = self._w = self._chol = self._full = None

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

    @property
    def full(self) -> tuple[np.ndarray, np.ndarray]:
        """(score, information) at this fit over all columns of the problem: X'(y - m p), X'WX."""
        if self._full is None:
            X = self.prob.X
            self._full = (X.T @ (self.prob.y - self.prob.m * self.p), _information(X, self.w))
        return self._full


def _loglik(y, m, eta):
    return float(y @ eta - m @ np.logaddexp(0.0, eta))


def _information(X, w) -> np.ndarray:
    """X' diag(w) X, as (sqrt(w) X)'(sqrt(w) X): numpy computes A.T @ A as a symmetric rank-k update."""
    A = X * np.sqrt(w)[:, None]
    return A.T @ A


def _cholesky(a) -> np.ndarray:
    """Lower Cholesky factor of a symmetric positive definite matrix (LAPACK potrf without scipy's
    wrapper checks: these are small matrices factorised thousands of times). Raises LinAlgError."""
    c, info = _potrf(a, lower=1, clean=0)
    if info != 0:
        raise np.linalg.LinAlgError("matrix not positive definite")
    return c


def _cho_solve(c, b) -> np.ndarray:
    x, info = _potrs(c, b, lower=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"potrs failed (info {info})")
    return x


def _newton(X, y, m, beta, first=None):
    """Maximise the binomial log-likelihood by Newton-Raphson with step halving.
    Returns (beta, eta, loglik, p); p (fitted probabilities) is None unless it had to be computed.

    first: (eta, loglik, w, score, information) at `beta` when already known (an "add" candidate started
    at the current model: all of them are the current model's), so the first iteration needs no pass over
    the data. Converged when the Newton step is at most _TOL relative to max(1, max |beta|). While the
    linear predictors have moved by at most _CHORD in total since the information was last factorised
    (so every weight is within a factor e^_CHORD of the one it was computed with), steps are solved with
    that factor (chord method: each differs from the exact Newton step by at most about _CHORD times its
    size, so the error still shrinks by a factor of about 1000 per step), sparing new information
    matrices; the last step taken meets _TOL, so the result is as accurate as plain Newton's.

    Step halving: a step that moves no linear predictor by more than _SAFE_ETA provably increases the
    log-likelihood (see below), so the log-likelihood is only evaluated for larger steps and at the end;
    the iterates are those of Newton with a likelihood check at every step.

    Raises SeparationError on non-convergence, singular information or fitted probabilities at 0/1."""
    # The weights w = m p (1 - p) satisfy |d log w / d eta| = |1 - 2p| <= 1, so moving every eta by at
    # most d changes every weight by at most a factor e^d. Along a Newton step s (= I^-1 score, I the
    # information at beta) with d = max |X s| this gives
    #     logL(beta + s) - logL(beta) >= s'Is (1 - (e^d - 1 - d) / d^2) > 0   for d < 1.79;
    # for a chord step s = J^-1 score with J within a factor e^_CHORD of I the same argument gives
    # s'Js (1 - e^_CHORD (e^d - 1 - d) / d^2), which is > 0.28 s'Js for d <= _SAFE_ETA = 1.
    if first is None:
        eta = X @ beta
        ll = None                                      # log-likelihood at beta, computed when needed
    else:
        eta, ll = first[0], first[1]
    chol, drift = None, math.inf                       # last factor; max |eta| movement since then (bound)
    for it in range(_MAXITER):
        if it == 0 and first is not None:
            w, grad, info = first[2], first[3], first[4]
        else:
            p = expit(eta)
            mp = m * p
            w = mp * (1.0 - p)
            grad = X.T @ (y - mp)
            info = None
        tol = _TOL * max(1.0, np.max(np.abs(beta), initial=0.0))
        step, done = None, False
        if drift <= _CHORD:                            # chord step: the last factor is still accurate
            chord = _cho_solve(chol, grad)
            if np.all(np.isfinite(chord)):
                step, done = chord, np.max(np.abs(chord), initial=0.0) <= tol
        if step is None:
            try:
                chol = _cholesky(_information(X, w) if info is None else info)
            except np.linalg.LinAlgError:
                raise SeparationError("the information matrix is singular (separation or aliased columns)") from None
            drift = 0.0
            step = _cho_solve(chol, grad)
            if not np.all(np.isfinite(step)):
                raise SeparationError("the Newton step is not finite (separation)")
            done = np.max(np.abs(step), initial=0.0) <= tol
        nb = beta + step
        ne = X @ nb
        moved = np.max(np.abs(ne - eta), initial=0.0)
        if moved <= _SAFE_ETA:
            nll = None
        else:
            if ll is None:
                ll = _loglik(y, m, eta)
            t = 1.0
            while True:
                nll = _loglik(y, m, ne)
                if nll >= ll - 1e-12 * (1.0 + abs(ll)):
                    break
                t *= 0.5
                if t < 1e-10:
                    raise SeparationError("step halving failed to increase the likelihood")
                nb = beta + t * step
                ne = X @ nb
            if t < 1.0:
                moved = np.max(np.abs(ne - eta), initial=0.0)
        drift += moved
        beta, eta, ll = nb, ne, nll
        if done:
            p = None                                   # |eta| <= 30: p within 1e-13 of neither 0 nor 1
            if eta.size and (eta.min() < -_ETA_EDGE or eta.max() > _ETA_EDGE):
                p = expit(eta)
                if np.any((p < _P_EDGE) | (p > 1.0 - _P_EDGE)):
                    raise SeparationError("fitted probabilities numerically 0 or 1 (separation)")
            return beta, eta, (_loglik(y, m, eta) if ll is None else ll), p
    raise SeparationError(f"Newton-Raphson did not converge in {_MAXITER} iterations (separation?)")


def _pool_rows(X):
    """Identical rows of X (byte equality): (codes, first) with codes[i] the pattern of row i, patterns
    numbered in order of first appearance, and first[j] the first row of pattern j.

    Rows are grouped by a 64-bit hash of their bytes (each column's bits mixed by the splitmix64
    finaliser, combined across columns) and the grouping is then verified byte for byte; on a hash
    collision (never seen, but possible) the rows are grouped by their raw bytes instead (slower)."""
    X = np.ascontiguousarray(X, dtype=float)
    n, k = X.shape
    bits = X.view(np.uint64)
    with np.errstate(over="ignore"):                  # uint64 arithmetic wraps around, as intended
        h = np.zeros(n, dtype=np.uint64)
        for j in range(k):
            v = bits[:, j] ^ np.uint64(0x9E3779B97F4A7C15 * (j + 1) % 2**64)
            v ^= v >> np.uint64(30)
            v *= np.uint64(0xBF58476D1CE4E5B9)
            v ^= v >> np.uint64(27)
            v *= np.uint64(0x94D049BB133111EB)
            v ^= v >> np.uint64(31)
            h = (h * np.uint64(0x100000001B3)) ^ v
    codes, uniq = pd.factorize(h)
    first = np.empty(len(uniq), dtype=np.intp)
    first[codes[::-1]] = np.arange(n)[::-1]
    if not np.array_equal(bits, bits[first[codes]]):  # collision: two different rows, one hash
        rows = bits.view(np.dtype((np.void, 8 * k))).ravel()
        codes, uniq = pd.factorize(rows)
        first = np.empty(len(uniq), dtype=np.intp)
        first[codes[::-1]] = np.arange(n)[::-1]
    return codes, first


class _Problem:
    """Pooled binomial data (patterns) with the full design and each term's columns.

    X is stored column-major, so that a model's columns (X[:, cols]) are copied as contiguous blocks."""

    def __init__(self, X, y, m, columns, term_columns, terms):
        codes, first = _pool_rows(X)
        self.X = np.asfortranarray(X[first])
        self.y = np.bincount(codes, weights=y, minlength=len(first))
        self.m = np.bincount(codes, weights=m, minlength=len(first))
        self.columns = columns
        self.terms = list(terms)
        self.term_cols = {t: np.arange(s.start, s.stop) for t, s in term_columns.items()}
        self.n_obs = float(self.m.sum())

    def cols(self, model_terms) -> np.ndarray:
        parts = [np.array([0])] + [self.term_cols[t] for t in model_terms]
        return np.sort(np.concatenate(parts))

    def fit(self, model_terms, start_full=None, trying=None, base: _Fit | None = None) -> _Fit:
        """MLE of the model with `model_terms`, started from `start_full` (coefficients over all columns,
        e.g. the current model's) with the intercept shifted so that the mean linear predictor is kept when
        columns are dropped; retried from zero if that start fails.

        base: the fitted current model, whose coefficients `start_full` must be. If the model adds columns
        to it, the first Newton iteration is taken from its score and information over all columns
        (`_Fit.full`); if it drops columns, the start is the one-step estimate from that information
        instead of the intercept shift."""
        cols = self.cols(model_terms)
        starts = []
        if start_full is not None:
            beta0, first = start_full[cols].copy(), None
            kept = np.isin(base.cols, cols) if base is not None else None
            if base is not None and kept.all():                     # adds columns to `base`
                score, info = base.full
                first = (base.eta, base.loglik, base.w, score[cols], info[np.ix_(cols, cols)])
            elif base is not None and np.isin(cols, base.cols).all():  # drops columns of `base`
                dropped = base.cols[~kept]
                _, info = base.full
                try:
                    beta0 += _cho_solve(_cholesky(info[np.ix_(cols, cols)]),
                                        info[np.ix_(cols, dropped)] @ start_full[dropped])
                except np.linalg.LinAlgError:
                    pass                                            # plain start; Newton will report it
            else:
                dropped = np.setdiff1d(np.flatnonzero(start_full), cols)
                if dropped.size:
                    beta0[0] += float(self.m @ (self.X[:, dropped] @ start_full[dropped])) / self.n_obs
            starts.append((beta0, first))
        starts.append((np.zeros(len(cols)), None))
        Xc = self.X[:, cols]
        for i, (beta0, first) in enumerate(starts):
            try:
                beta, eta, ll, p = _newton(Xc, self.y, self.m, beta0, first)
                fit = _Fit(self, cols, beta, eta, ll)
                fit._p = p
                return fit
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
                    f = prob.fit([u for u in current if u != t], start, trying=t, base=fit)
                    moves.append((-2.0 * f.loglik + k * len(f.cols), "remove", t, f))
        if forward:
            for t in prob.terms:
                if t not in current:
                    f = prob.fit(current + [t], start, trying=t, base=fit)
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


def _formula(response, trials, selected) -> str:
    """Formula of the final model (see StepwiseResult.formula)."""
    rhs = " + ".join(selected) if selected else "1"
    if trials is None:
        return f"{response} ~ {rhs}"
    return f"{response} + I({trials} - {response}) ~ {rhs}"


def _estimates(prob: _Problem, fit: _Fit) -> dict[str, float]:
    """{column name: estimate} of a fit."""
    return {prob.columns[c]: float(b) for c, b in zip(fit.cols, fit.beta)}


def _fit_final(data, response, trials, selected, estimates: dict[str, float]):
    """statsmodels' fit of the selected model, started at our `estimates` (it converges in one step).

    `data` has its text columns as Categoricals with their sorted values as categories
    (`with_categoricals`): the same design as from the text (tested), built faster by patsy."""
    formula = _formula(response, trials, selected)
    if trials is None:
        mod = smf.logit(formula, data)
    else:
        mod = smf.glm(formula, data, family=sm.families.Binomial())
    names = list(mod.exog_names)
    if set(names) != set(estimates):
        raise RuntimeError(f"the refitted model's columns {names} differ from the selection's "
                           f"{sorted(estimates)}")
    start = np.array([estimates[n] for n in names])
    return mod.fit(disp=0, start_params=start) if trials is None else mod.fit(start_params=start)


@one_blas_thread
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
    refit = functools.partial(_fit_final, data, response, trials, selected, _estimates(prob, fit))

    path = pd.DataFrame(rows, columns=list(PATH_COLUMNS))
    path = path.astype({"step": "int64", "df": "Int64", "criterion": "float64",
                        "statistic": "float64", "p_value": "float64"})
    return StepwiseResult(terms=tuple(selected), formula=_formula(response, trials, selected), path=path,
                          criterion=criterion, direction=direction, stop_reason=reason,
                          n_obs=int(round(prob.n_obs)), k=k, _refit=refit)


class _CallableModule(__import__("types").ModuleType):
    """Makes ``analysis.stepwise(data, response, terms, ...)`` call the function of this module."""

    def __call__(self, *args, **kwargs):
        return stepwise(*args, **kwargs)


__import__("sys").modules[__name__].__class__ = _CallableModule
