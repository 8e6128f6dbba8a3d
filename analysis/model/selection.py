"""Stepwise selection of logistic-regression terms: R's `step()` (AIC / BIC) and SAS PROC LOGISTIC's
SELECTION=STEPWISE / FORWARD / BACKWARD (score test to enter, Wald test to stay).

    stepwise(data, response, terms, *, direction="both", criterion="aic", slentry=0.05, slstay=0.05,
             force=(), trials=None, max_steps=None) -> StepwiseResult
    Selector(data, response, terms, *, <the same settings>).run(y, m, start_estimates=None)
    select_and_fit(data, terms, settings, ...) -> Fit      (the full model, the selection, the final fit)

The design is built once, rows with identical covariates are pooled into binomial patterns, and each
candidate model is fitted by a hand-written, warm-started Newton-Raphson on a subset of the columns (no
library offers this, nor SAS's loop or R's step() in Python); the final model is refitted by
statsmodels. The rules (ties, marginality, the SAS cycle guard), the Newton details and what each was
tested against (R's step() on the real data, SAS's Remission example, an R implementation of the SAS
rules; tests/model/test_selection.py) are in docs/methods.md, "Stepwise selection".
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

import numpy as np
import pandas as pd
import scipy.linalg as sla
import statsmodels.formula.api as smf
from scipy.special import expit
from scipy.stats import chi2

from analysis.errors import ModelError
from analysis.model.design import design_matrix, full_column_rank as _full_column_rank, with_categoricals
from analysis.model.fit import Fit, binomial_glm, fit_logit
from analysis.model.newton import SeparationError, cho_solve as _cho_solve, cholesky as _cholesky, information as _information
from analysis.model.newton import newton as _newton, safe_start as _safe_start
from analysis.model.terms import add_scope, check_marginal, drop_scope, term_factors
from analysis.model.splines import rcs  # noqa: F401 - formulas with rcs(...) are evaluated in this namespace
from analysis.threads import one_blas_thread

__all__ = ["stepwise", "StepwiseResult", "Selector", "SelectionRun", "SeparationError", "PATH_COLUMNS", "SelectionSettings",
           "select_and_fit"]

CRITERIA = ("aic", "bic", "pvalue")
DIRECTIONS = ("both", "forward", "backward", "none")
PATH_COLUMNS = ("step", "action", "term", "df", "criterion", "statistic", "p_value")
POOL_SHARE = 0.7           # a model is fitted on its own pooled rows when they are fewer than this share

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
    estimates: {design column name: estimate} of the final model as the selection fitted it (Intercept
        first, then the columns in design order, named as statsmodels names them; a column aliased with
        earlier ones, in a rank-deficient design, is left out as R reports it NA). Equal to
        `model.params` to about 1e-8 relative (both are the MLE; tested), so a caller can predict
        without the statsmodels refit: p = expit(sum of estimate * column).
    """

    terms: tuple[str, ...]
    formula: str
    path: pd.DataFrame
    criterion: str
    direction: str
    stop_reason: str
    n_obs: int
    k: float | None
    estimates: dict = field(default_factory=dict)
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
    first = _first_rows(codes, len(uniq))
    if not np.array_equal(bits, bits[first[codes]]):  # collision: two different rows, one hash
        rows = bits.view(np.dtype((np.void, 8 * k))).ravel()
        codes, uniq = pd.factorize(rows)
        first = _first_rows(codes, len(uniq))
    return codes, first


def _block_codes(B) -> tuple[np.ndarray, int]:
    """(code, count) of the rows of a term's columns B: code[i] == code[j] exactly when rows i and j of B
    are equal (byte equality, as `_pool_rows`), count = one more than the largest code. Cheap cases
    first: 0/1 indicator columns with at most one 1 per row (a categorical's dummies: the code is the
    position of the 1, 0 for none); rows determined by their first column (a numeric column, a spline
    basis: the first column's distinct values, checked to determine every column); else `_pool_rows`."""
    n, c = B.shape
    if c == 0:
        return np.zeros(n, dtype=np.int64), 1
    if np.all(((B == 0.0) & ~np.signbit(B)) | (B == 1.0)):   # 0/1 only (not -0.0): sums below are exact
        code = B @ np.arange(1.0, c + 1.0)
        if c == 1 or np.all(B @ np.ones(c) <= 1.0):
            return code.astype(np.int64), c + 1
    first_col = np.ascontiguousarray(B[:, 0]).view(np.uint64)
    codes, uniq = pd.factorize(first_col)
    first = _first_rows(codes, len(uniq))
    bits = np.asarray(B, dtype=float).view(np.uint64)          # any layout: same item size
    if c == 1 or np.array_equal(bits, bits[first[codes]]):
        return codes.astype(np.int64), len(uniq)
    codes, first = _pool_rows(B)
    return codes.astype(np.int64), len(first)


def _take_rows(X, rows, cols=None) -> np.ndarray:
    """X[rows][:, cols] as a new column-major array, gathered column by column (fast from a column-major
    X: each column is one contiguous gather)."""
    cols = range(X.shape[1]) if cols is None else cols
    out = np.empty((len(rows), len(cols)), order="F")
    for j, c in enumerate(cols):
        out[:, j] = X[:, c][rows]
    return out


def _first_rows(codes, count) -> np.ndarray:
    """first[j] = the first i with codes[i] == j (codes numbered 0..count-1, all present)."""
    first = np.empty(count, dtype=np.intp)
    first[codes[::-1]] = np.arange(codes.size)[::-1]
    return first


def _combine_codes(parts, n) -> tuple[np.ndarray, int]:
    """Codes of the rows by all the (code, count) parts jointly, numbered in order of first appearance, and
    their number: mixed-radix integers (exact; renumbered when the product of the counts would pass
    2**62), then factorized."""
    code, size = np.zeros(n, dtype=np.int64), 1
    for c, count in parts:
        if size * count >= 2**62:
            code, uniq = pd.factorize(code)
            code, size = code.astype(np.int64), len(uniq)
        code = code * count + c
        size *= count
    codes, uniq = pd.factorize(code)
    return codes, len(uniq)


def _pool_by_terms(X, blocks):
    """`_pool_rows(X)` (same codes and first rows) when the column blocks `blocks` ({term: column indices or
    slice}) and a constant column 0 (the intercept) cover X: rows are equal exactly when they are equal on every
    block, so the blocks' codes (`_block_codes`) combined give the patterns without hashing the rows.
    Returns (codes, first, {term: (code of each pattern on its block, count)}); otherwise falls back to
    `_pool_rows` and returns an empty dict."""
    n, k = X.shape
    covered = np.zeros(k, dtype=bool)
    covered[0] = True
    for cols in blocks.values():
        covered[cols] = True
    col0 = np.asarray(X[:, 0], dtype=float).view(np.uint64) if k else None
    if k == 0 or not covered.all() or (n and not np.all(col0 == col0[0])):
        codes, first = _pool_rows(X)
        return codes, first, {}
    parts = {t: _block_codes(X[:, cols]) for t, cols in blocks.items()}
    codes, count = _combine_codes(parts.values(), n)
    first = _first_rows(codes, count)
    return codes, first, {t: (c[first], size) for t, (c, size) in parts.items()}


class _Problem:
    """Pooled binomial data (patterns) with the full design and each term's columns.

    X is stored column-major, so that a model's columns (X[:, cols]) are copied as contiguous blocks."""

    def __init__(self, X, y, m, columns, term_columns, terms):
        self.term_cols = {t: np.arange(s.start, s.stop) for t, s in term_columns.items()}
        codes, first, term_codes = _pool_by_terms(X, term_columns)
        self.codes = codes                              # pattern of each input row
        self.X = _take_rows(X, first)
        self.y = np.bincount(codes, weights=y, minlength=len(first))
        self.m = np.bincount(codes, weights=m, minlength=len(first))
        self.columns = columns
        self.terms = list(terms)
        self.factors = {t: term_factors(t) for t in self.terms}
        self.n_obs = float(self.m.sum())
        #: the full design has aliased columns (e.g. an interaction of two rare attributes that never occur
        #: together): then each model keeps only its columns that are not linear combinations of the columns
        #: before them, as R's glm does (coefficients NA, edf = rank), and its criterion counts those
        self.deficient = not _full_column_rank(self.X)
        self._independent: dict = {}
        self._term_codes = term_codes                   # term -> (code of each pattern on its columns, count)
        self._pooled: dict = {}                         # model terms -> (codes, first) or None

    def with_counts(self, y: np.ndarray, m: np.ndarray) -> "_Problem":
        """The same pooled design with new event/trial counts per pattern (a resample).

        Patterns with m = 0 carry no weight: their terms in the log-likelihood (y eta - m log(1 + e^eta)),
        score (X'(y - m p)) and information (X' diag(m p (1 - p)) X) are exactly 0, so they are left out
        of the copy's rows; that is the same fit (sums without exact zeros, so equal to rounding), and it
        keeps the separation check (fitted p numerically 0 or 1) to the rows that exist, as a fit on the
        resampled rows would. n_obs = sum(m) (the rows the counts stand for: BIC's n)."""
        new = object.__new__(_Problem)
        new.__dict__.update(self.__dict__)
        keep = m > 0
        if keep.all():
            new.X, new.y, new.m = self.X, y, m
        else:
            new.X, new.y, new.m = _take_rows(self.X, np.flatnonzero(keep)), y[keep], m[keep]
        new.n_obs = float(m.sum())
        new._independent = {} if self.deficient else self._independent
        if not keep.all():                              # fewer rows: the pooling of each model is found anew
            new._term_codes = {t: (c[keep], size) for t, (c, size) in self._term_codes.items()}
            new._pooled = {}
        return new

    def _term_code(self, term):
        """(code, count): the pattern of each row on the term's columns alone (numbered in order of first
        appearance), and the number of such patterns."""
        if term not in self._term_codes:
            self._term_codes[term] = _block_codes(self.X[:, self.term_cols[term]])
        return self._term_codes[term]

    def pooled(self, model_terms):
        """(codes, first) pooling the rows of this problem that are equal on the model's columns (codes[i]
        the pooled row of row i, first[j] the first row of pooled row j), or None when that would not leave
        fewer than POOL_SHARE of the rows (then the model is fitted on the rows as they are).

        A model's columns are those of its terms, so rows equal on every term are equal on the model: the
        codes are the terms' codes (`_term_code`) combined in mixed radix (exact integers, renumbered when
        the product of the counts would pass 2**62) and numbered in order of first appearance; no hashing.
        The log-likelihood, score and information of the pooled rows (counts summed) equal those of the
        rows, so the fit is the same (sums in another order: equal to rounding)."""
        key = frozenset(model_terms)
        if key not in self._pooled:
            n = self.X.shape[0]
            codes, count = _combine_codes([self._term_code(t) for t in sorted(key)], n)
            self._pooled[key] = None if count >= POOL_SHARE * n else (codes, _first_rows(codes, count))
        return self._pooled[key]

    def independent(self, cols: np.ndarray) -> np.ndarray:
        """``cols`` without the columns that are linear combinations of the ones before them (R's pivoting
        in dqrdc2: |R_jj| below 1e-7 times the column's norm), for a deficient design."""
        if not self.deficient:
            return cols
        key = cols.tobytes()
        if key not in self._independent:
            Xc = self.X[:, cols]
            r = np.linalg.qr(Xc, mode="r")
            norms = np.linalg.norm(Xc, axis=0)
            keep = np.abs(np.diag(r)) > 1e-7 * np.where(norms > 0, norms, 1.0)
            self._independent[key] = cols[keep]
        return self._independent[key]

    def cols(self, model_terms) -> np.ndarray:
        parts = [np.array([0])] + [self.term_cols[t] for t in model_terms]
        return np.sort(np.concatenate(parts))

    def fit(self, model_terms, start_full=None, trying=None, base: _Fit | None = None) -> _Fit:
        """MLE of the model with `model_terms`, started from `start_full` (coefficients over all columns,
        e.g. the current model's) with the intercept shifted so that the mean linear predictor is kept when
        columns are dropped; retried from the safe start (`analysis.model.newton.safe_start`: the intercept-only
        estimate, other coefficients 0) if that start fails, or started there without `start_full`.

        base: the fitted current model, whose coefficients `start_full` must be. If the model adds columns
        to it, the first Newton iteration is taken from its score and information over all columns
        (`_Fit.full`); if it drops columns, the start is the one-step estimate from that information
        instead of the intercept shift; if it has the same columns (a term whose columns are all aliased
        with the model's), it is the same model and `base` itself is returned, so its criterion ties with
        the current one exactly (R's step() then makes no move), whatever the rounding of a refit."""
        cols = self.independent(self.cols(model_terms))
        if base is not None and np.array_equal(cols, base.cols):
            return base            # the same columns (the term's are all aliased): the same model, same criterion
        starts = []
        if start_full is not None:
            beta0, first = start_full[cols].copy(), None
            kept = np.isin(base.cols, cols) if base is not None else None
            if base is not None and kept.all():                     # adds columns to `base`
                score, info = base.full
                first = (base.eta, base.loglik, None, score[cols], info[np.ix_(cols, cols)])
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
        starts.append((_safe_start(self.X[:1, cols], self.y, self.m), None))   # uses X's width only
        pooled = self.pooled(model_terms)
        if pooled is None:
            Xc, y, m = self.X[:, cols], self.y, self.m
        else:
            codes, rows = pooled
            Xc = _take_rows(self.X, rows, cols)
            y = np.bincount(codes, weights=self.y, minlength=len(rows))
            m = np.bincount(codes, weights=self.m, minlength=len(rows))
            starts = [(b, None if f is None else (f[0][rows], *f[1:])) for b, f in starts]
        for i, (beta0, first) in enumerate(starts):
            try:
                beta, eta, ll, p = _newton(Xc, y, m, beta0, first)
                if pooled is not None:
                    eta, p = eta[codes], (None if p is None else p[codes])
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
        pos = np.flatnonzero(np.isin(fit.cols, fit.prob.term_cols[t]))
        b = fit.beta[pos]
        out[t] = (float(b @ np.linalg.solve(cov[np.ix_(pos, pos)], b)), len(pos))
    return out


# --------------------------------------------------------------------------------------------- selection
def _row(step, action, term, df, criterion, statistic, p_value):
    return {"step": step, "action": action, "term": term, "df": df, "criterion": criterion,
            "statistic": statistic, "p_value": p_value}


def _select_ic(prob: _Problem, direction, k, lower, start, max_steps, start_fit: _Fit | None = None):
    """R step(): best single drop/add by -2 log L + k * edf while it strictly improves, within the scope and
    respecting marginality (drop_scope / add_scope). start_fit: the start model already fitted (else fitted
    here from 0)."""
    backward = direction in ("both", "backward")
    forward = direction in ("both", "forward")
    current = list(start)
    fit = start_fit if start_fit is not None else prob.fit(current)
    crit = -2.0 * fit.loglik + k * len(fit.cols)
    rows = [_row(0, "start", None, pd.NA, crit, math.nan, math.nan)]
    if direction == "none":
        return current, fit, rows, "none"
    step, reason = 0, "no move improves the criterion"
    while True:
        if max_steps is not None and step >= max_steps:
            reason = "max_steps"
            break
        start_beta = fit.full_beta()
        moves = []                                          # (criterion, action, term, fit) in R's order
        if backward:
            for t in drop_scope(current, lower, prob.factors):
                f = prob.fit([u for u in current if u != t], start_beta, trying=t, base=fit)
                moves.append((-2.0 * f.loglik + k * len(f.cols), "remove", t, f))
        if forward:
            for t in add_scope(current, prob.terms, prob.factors):
                f = prob.fit(current + [t], start_beta, trying=t, base=fit)
                moves.append((-2.0 * f.loglik + k * len(f.cols), "add", t, f))
        if not moves:
            reason = "no candidate moves"
            break
        best = min(range(len(moves)), key=lambda i: (moves[i][0], i))
        new_crit, action, term, new_fit = moves[best]
        if not new_crit < crit:
            break
        lr = abs(2.0 * (new_fit.loglik - fit.loglik))
        df = abs(len(new_fit.cols) - len(fit.cols))          # the term's columns, less any aliased ones
        step += 1
        rows.append(_row(step, action, term, df, new_crit, lr, float(chi2.sf(lr, df)) if df else math.nan))
        current = [u for u in current if u != term] if action == "remove" else current + [term]
        fit, crit = new_fit, new_crit
    return current, fit, rows, reason


def _select_sl(prob: _Problem, direction, slentry, slstay, lower, start, max_steps, start_fit: _Fit | None = None):
    """SAS PROC LOGISTIC: enter by score test (p < slentry), remove by Wald test (p > slstay), within the
    scope and respecting marginality (SAS's HIERARCHY=SINGLE). start_fit: as in `_select_ic`."""
    forward = direction in ("both", "forward")
    backward = direction in ("both", "backward")
    current = list(start)
    fit = start_fit if start_fit is not None else prob.fit(current)
    rows = [_row(0, "start", None, pd.NA, math.nan, math.nan, math.nan)]
    if direction == "none":
        return current, fit, rows, "none"
    visited = {frozenset(current)}
    step = 0

    def budget_left():
        return max_steps is None or step < max_steps

    def removals():
        """Remove the least significant removable term while p > slstay. Returns a stop reason or None."""
        nonlocal current, fit, step
        while True:
            removable = drop_scope(current, lower, prob.factors)
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
        candidates = add_scope(current, prob.terms, prob.factors)
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
        mod = binomial_glm(formula, data)
    names = list(mod.exog_names)
    if set(names) != set(estimates):
        raise RuntimeError(f"the refitted model's columns {names} differ from the selection's "
                           f"{sorted(estimates)}")
    start = np.array([estimates[n] for n in names])
    return mod.fit(disp=0, start_params=start) if trials is None else mod.fit(start_params=start)


class SelectionRun(NamedTuple):
    """One run of a `Selector`.

    terms: the selected terms, in the order of the candidate terms. estimates: numpy array over all
    design columns (`Selector.columns`): the final model's estimates, 0 for the columns not in it.
    path: one row per step, columns PATH_COLUMNS (see `StepwiseResult.path`)."""

    terms: tuple[str, ...]
    estimates: np.ndarray
    path: pd.DataFrame


@dataclass
class _Outcome:
    selected: list
    fit: _Fit
    rows: list
    reason: str
    penalty: float | None


class Selector:
    """The selection of `stepwise`, set up once and run many times on new counts of the same patterns.

        sel = Selector(data, response, terms, *, trials=None, direction="both", criterion="aic", k=None,
                       scope=None, start=None, slentry=0.05, slstay=0.05, force=(), max_steps=None)
        sel.run(y, m, start_estimates=None) -> SelectionRun(terms, estimates, path)

    The arguments are `stepwise`'s (same meaning, same checks, same errors). The constructor builds the
    design matrix of all candidate terms and pools the rows of `data` into covariate patterns (rows with
    identical design rows) once; `run` then selects on event counts `y` and trial counts `m` given per
    pooled pattern (arrays of length `n_patterns`, e.g. a bootstrap resample: `pool` sums counts given
    per row of `data` into them). Without `y` and `m` it runs on the data's own counts, which is exactly
    `stepwise` (that function is this: one `Selector` run, then the result wrapped).

    Zero trials are allowed: a pattern with m = 0 carries no weight and is left out of every fit (its
    terms in the log-likelihood, score and information are exactly 0), so a resample is fitted as the
    resampled rows would be; n (for BIC's k = log n) is sum(m). A design column that is constant 0 on the
    patterns with m > 0 (a category absent from a resample) makes the information singular: the fits
    that contain it raise `SeparationError` (as rms's lrm fails on such a resample, which validate()
    counts as failed; R's glm would instead report the column's coefficient as NA, aliased).

    start_estimates: coefficients over all design columns (e.g. `start_estimates()` of the original data,
    or a previous run's estimates) from which the starting model's Newton iterations start (then from the
    safe start if that fails); only the speed depends on it (the MLE is the same to the convergence tolerance,
    1e-10 relative on the Newton step). Later candidates are warm-started from the current model as in
    `stepwise`.

    Attributes: columns (design column names), term_columns ({term: indices of its columns}), X (the
    pooled design, one row per pattern), y and m (the data's counts per pattern), codes (the pattern of
    each row of `data`), n_patterns, terms (upper scope), lower, start (starting model), direction,
    criterion, k, slentry, slstay, max_steps.

    Tested (tests/evaluate/test_bootstrap.py): `run` on counts obtained by summing row multiplicities equals
    `stepwise` on the repeated rows (terms, path) and statsmodels' Logit on them (estimates); zero-trial
    patterns give the same result as leaving those rows out; `stepwise` keeps passing its own tests
    (tests/model/test_selection.py, tests/model/test_selection_scope.py), being a `Selector` run.
    """

    def __init__(self, data: pd.DataFrame, response: str, terms, *, trials: str | None = None,
                 direction: str = "both", criterion: str = "aic", k: float | None = None,
                 scope: dict | None = None, start=None, slentry: float = 0.05, slstay: float = 0.05,
                 force=(), max_steps: int | None = None):
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
        if criterion not in CRITERIA:
            raise ValueError(f"criterion must be one of {CRITERIA}, got {criterion!r}")
        if criterion == "pvalue" and not (0 < slentry <= 1 and 0 < slstay <= 1):
            raise ValueError("slentry and slstay must be in (0, 1]")
        if max_steps is not None and (int(max_steps) != max_steps or max_steps < 0):
            raise ValueError("max_steps must be a non-negative integer or None")
        if k is not None and not (isinstance(k, (int, float)) and k >= 0 and math.isfinite(k)):
            raise ValueError(f"k must be a finite number >= 0, got {k!r}")
        if isinstance(terms, str) or isinstance(force, str) or isinstance(start, str):
            raise TypeError("`terms`, `force` and `start` are lists of terms, e.g. ['age', 'C(job)'], not a string")
        scope = dict(scope or {})
        unknown_keys = set(scope) - {"lower", "upper"}
        if unknown_keys:
            raise ValueError(f"scope has keys 'lower' and 'upper', not {sorted(unknown_keys)}")
        terms = list(scope.get("upper", terms))
        lower = list(dict.fromkeys([*scope.get("lower", ()), *force]))
        outside = [t for t in lower if t not in terms]
        if outside:
            raise ValueError(f"terms of the lower scope (or forced) {outside} are not in the upper scope")
        if start is None:   # R's step(): both/backward from the full model; SAS: stepwise/forward from the lower one
            from_lower = direction == "forward" or (criterion == "pvalue" and direction == "both")
            start = lower if from_lower else terms
        start = list(start)
        if [t for t in start if t not in terms]:
            raise ValueError(f"terms of the start model {[t for t in start if t not in terms]} are not in the upper "
                             "scope (R's step: the upper scope must contain the start model)")
        if [t for t in lower if t not in start]:
            raise ValueError(f"the start model lacks terms of the lower scope: {[t for t in lower if t not in start]}")

        y, m = _response_arrays(data, response, trials)
        data = with_categoricals(data, terms)              # once, for the design and the final refit
        X, columns, term_columns = design_matrix(data, terms)
        prob = _Problem(X, y, m, columns, term_columns, terms)
        check_marginal(terms, prob.factors, "upper scope")
        check_marginal(lower, {t: prob.factors[t] for t in lower}, "lower scope")
        check_marginal(start, prob.factors, "start model")
        if prob.deficient and len(prob.independent(prob.cols(start))) < len(prob.cols(start)):
            raise ValueError("the design matrix of the start model is rank deficient (aliased columns): remove "
                             "redundant terms")
        self._prob = prob
        self._data = data
        self.response, self.trials = response, trials
        self.terms = tuple(terms)
        self.lower = tuple(lower)
        self.start = tuple(t for t in terms if t in set(start))
        self.direction, self.criterion, self.k = direction, criterion, k
        self.slentry, self.slstay, self.max_steps = slentry, slstay, max_steps

    # --------------------------------------------------------------------------------- the design
    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self._prob.columns)

    @property
    def term_columns(self) -> dict[str, np.ndarray]:
        return {t: c.copy() for t, c in self._prob.term_cols.items()}

    @property
    def X(self) -> np.ndarray:
        view = self._prob.X.view()
        view.flags.writeable = False
        return view

    @property
    def y(self) -> np.ndarray:
        return self._prob.y.copy()

    @property
    def m(self) -> np.ndarray:
        return self._prob.m.copy()

    @property
    def codes(self) -> np.ndarray:
        return self._prob.codes.copy()

    @property
    def n_patterns(self) -> int:
        return self._prob.X.shape[0]

    def pool(self, events, trials) -> tuple[np.ndarray, np.ndarray]:
        """(y, m) per pooled pattern from counts given per row of the constructor's `data`."""
        n = self.n_patterns
        codes = self._prob.codes
        events = np.asarray(events, dtype=float)
        trials = np.asarray(trials, dtype=float)
        if events.shape != codes.shape or trials.shape != codes.shape:
            raise ValueError(f"need one count per row of the data ({codes.size}), got {events.shape} and "
                             f"{trials.shape}")
        return (np.bincount(codes, weights=events, minlength=n), np.bincount(codes, weights=trials, minlength=n))

    def penalty(self, n_obs: float) -> float | None:
        """k of the criterion for n_obs rows: the given k, 2 (aic), log n (bic), None (pvalue)."""
        if self.criterion == "pvalue":
            return None
        if self.k is not None:
            return float(self.k)
        return 2.0 if self.criterion == "aic" else math.log(n_obs)

    def linear_predictor(self, estimates) -> np.ndarray:
        """X @ estimates per pooled pattern, summed over the model's columns only (the nonzero estimates
        and the intercept), so that patterns equal on the model's columns get bit-identical values."""
        beta = np.asarray(estimates, dtype=float)
        cols = np.union1d([0], np.flatnonzero(beta))
        return self._prob.X[:, cols] @ beta[cols]

    # --------------------------------------------------------------------------------- selection
    def _problem(self, y, m) -> _Problem:
        if y is None and m is None:
            return self._prob
        if y is None or m is None:
            raise ValueError("give both y and m (or neither, for the data's own counts)")
        y = np.asarray(y, dtype=float)
        m = np.asarray(m, dtype=float)
        n = self.n_patterns
        if y.shape != (n,) or m.shape != (n,):
            raise ValueError(f"y and m need one count per pooled pattern ({n}), got {y.shape} and {m.shape}")
        if not (np.all(np.isfinite(y)) and np.all(np.isfinite(m))):
            raise ValueError("y and m must be finite")
        if np.any(m < 0) or np.any(y < 0) or np.any(y > m):
            raise ValueError("need 0 <= y <= m and m >= 0 for every pattern")
        if not m.sum() > 0:
            raise ValueError("the counts have no trials")
        return self._prob.with_counts(y, m)

    def _start_beta(self, start_estimates):
        if start_estimates is None:
            return None
        beta = np.asarray(start_estimates, dtype=float)
        if beta.shape != (len(self._prob.columns),) or not np.all(np.isfinite(beta)):
            raise ValueError(f"start_estimates must be {len(self._prob.columns)} finite numbers (one per design "
                             "column)")
        return beta

    def _select(self, y=None, m=None, start_estimates=None) -> _Outcome:
        """The selection on counts (y, m) per pattern: selected terms (order of `terms`), final fit,
        path rows, stop reason and penalty."""
        prob = self._problem(y, m)
        start_beta = self._start_beta(start_estimates)
        start = list(self.start)
        start_fit = prob.fit(start, start_beta) if start_beta is not None else prob.fit(start)
        if self.criterion == "pvalue":
            penalty = None
            selected, fit, rows, reason = _select_sl(prob, self.direction, self.slentry, self.slstay, self.lower,
                                                     start, self.max_steps, start_fit=start_fit)
        else:
            penalty = self.penalty(prob.n_obs)
            selected, fit, rows, reason = _select_ic(prob, self.direction, penalty, self.lower, start,
                                                     self.max_steps, start_fit=start_fit)
        chosen = set(selected)
        return _Outcome([t for t in self.terms if t in chosen], fit, rows, reason, penalty)

    @one_blas_thread
    def run(self, y=None, m=None, start_estimates=None) -> SelectionRun:
        """Select on event counts `y` and trial counts `m` per pooled pattern (default: the data's own).
        Returns SelectionRun(terms, estimates over all columns, path). Raises SeparationError when a fit
        of the selection has no finite MLE (see `stepwise`)."""
        out = self._select(y, m, start_estimates)
        return SelectionRun(tuple(out.selected), out.fit.full_beta(), _path_frame(out.rows))

    @one_blas_thread
    def start_estimates(self, y=None, m=None) -> np.ndarray:
        """Estimates of the starting model (over all columns, 0 outside it) on counts (y, m) (default:
        the data's own): the natural warm start of `run` on resamples of the same data."""
        prob = self._problem(y, m)
        return prob.fit(list(self.start)).full_beta()


def _path_frame(rows) -> pd.DataFrame:
    path = pd.DataFrame(rows, columns=list(PATH_COLUMNS))
    return path.astype({"step": "int64", "df": "Int64", "criterion": "float64",
                        "statistic": "float64", "p_value": "float64"})


@one_blas_thread
def stepwise(data: pd.DataFrame, response: str, terms, *, direction: str = "both", criterion: str = "aic",
             k: float | None = None, scope: dict | None = None, start=None, slentry: float = 0.05,
             slstay: float = 0.05, force=(), trials: str | None = None, max_steps: int | None = None) -> StepwiseResult:
    """Stepwise selection of `terms` for a logistic regression of `response` on `data`.

    data: DataFrame without missing values in the columns used. response: 0/1 column, or with `trials`
    the number of events in each row (row = covariate pattern, `trials` = its count); the selection equals
    that on the expanded 0/1 rows. terms: formula terms ("age", "C(job)", "C(job):age", "rcs(age, [..])");
    a term enters and leaves whole; together they are the upper scope. direction: "both", "forward",
    "backward" or "none"; criterion: "aic", "bic" (R's step(), k = 2 or log n) or "pvalue" (SAS PROC
    LOGISTIC, slentry / slstay). k: any penalty per coefficient (overrides the criterion's, as step()'s k).
    scope: {"lower": [...], "upper": [...]} as step()'s scope (upper defaults to `terms`, lower to
    `force`); start: the starting model's terms (step()'s object; default: the upper scope for "both" and
    "backward" with aic/bic (R), the lower scope for "forward" and for "both" with pvalue (SAS)). force: terms always in the model (added to the lower
    scope). max_steps: at most this many add/remove steps (None: no limit).

    Marginality as R's step(): a term is not dropped while a term containing it is in the model, and a term
    is not added while a term of the upper scope that it contains is not. The lower, start and upper
    models must respect marginality themselves (ValueError naming the term otherwise).

    This is one run of `Selector` on the data's own counts (`Selector(...).run()`), wrapped with the
    formula, the path and the lazy statsmodels refit; `result.estimates` holds the final fit's estimates.

    See the module docstring for the exact rules, including the SAS cycle guard, and what this was tested
    against.

    Example (R's step() with AIC on simulated data: age and marital status leave the model):

    >>> from analysis.simulate import simulate
    >>> rows = simulate(3000, seed=1).assign(
    ...     flag=lambda d: d["coupon_ind"], returned_yes=lambda d: (d["returned"] == "yes").astype(int),
    ...     loan_yes=lambda d: (d["loan"] == "yes").astype(int))
    >>> stepwise(rows, "flag", ["age", "C(marriage)", "returned_yes", "loan_yes"]).terms
    ('returned_yes', 'loan_yes')
    """
    sel = Selector(data, response, terms, trials=trials, direction=direction, criterion=criterion, k=k,
                   scope=scope, start=start, slentry=slentry, slstay=slstay, force=force, max_steps=max_steps)
    out = sel._select()
    selected = out.selected
    estimates = _estimates(sel._prob, out.fit)
    refit = functools.partial(_fit_final, sel._data, response, trials, selected, estimates)
    return StepwiseResult(terms=tuple(selected), formula=_formula(response, trials, selected),
                          path=_path_frame(out.rows), criterion=criterion, direction=direction,
                          stop_reason=out.reason, n_obs=int(round(sel._prob.n_obs)), k=out.penalty,
                          estimates=estimates, _refit=refit)


# ----------------------------------------------------------------------------- selection + fit


@dataclass(frozen=True)
class SelectionSettings:
    """How the terms of a model are selected (the options of :func:`stepwise` a run sets): direction,
    criterion, SAS's entry and stay levels, and the terms always kept."""

    direction: str = "both"
    criterion: str = "aic"
    slentry: float = 0.05
    slstay: float = 0.05
    force: tuple = ()

    def keywords(self) -> dict:
        """The keyword arguments of :class:`Selector` (and of the bootstrap that repeats the selection):
        only the direction for "none" (the full model, as ``rms::validate(fit)``)."""
        if self.direction == "none":
            return {"direction": "none"}
        return {"direction": self.direction, "criterion": self.criterion, "slentry": self.slentry,
                "slstay": self.slstay, "force": list(self.force)}


def select_and_fit(data: pd.DataFrame, terms, settings: SelectionSettings, *, knots: pd.DataFrame,
                   baselines: dict, response: str = "events", trials: str | None = "trials",
                   outcome: str = "the response", progress=lambda message: None) -> "Fit":
    """The full model, the selection and the final model on ``data`` as one :class:`~analysis.model.fit.Fit`
    (its ``full`` the full model's fit, its ``path`` the selection path). ``outcome`` names the response in
    words for the message when no term is selected (``ModelError``)."""
    n = int(data[trials].sum()) if trials else len(data)
    progress(f"fitting the full model on {n:,} training rows ({len(data):,} covariate patterns)")
    terms = list(terms)
    full = fit_logit(data, response, terms, trials=trials)
    progress(f"stepwise selection: direction={settings.direction}, criterion={settings.criterion}")
    selection = stepwise(data, response, terms, direction=settings.direction, criterion=settings.criterion,
                         slentry=settings.slentry, slstay=settings.slstay, trials=trials,
                         force=list(settings.force))
    if not selection.terms:
        raise ModelError(f"Stepwise selection kept no term: no predictor is related to {outcome} at the chosen "
                         "criterion. Use --select none to see the full model.")
    selected = tuple(selection.terms)
    # every candidate kept, in the same order: the final model is the full model (the same fit, not a refit)
    final = full if list(selected) == list(terms) else fit_logit(data, response, list(selected), trials=trials)
    common = dict(data=data, candidates=tuple(terms), knots=knots, baselines=baselines, response=response,
                  trials=trials, selection=settings)
    return Fit(final, terms=selected, path=selection.path, full=Fit(full, terms=tuple(terms), **common), **common)
