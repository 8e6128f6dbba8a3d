"""Firth's penalised-likelihood logistic regression (Jeffreys-prior penalty), as SAS PROC LOGISTIC's
``FIRTH`` option, R's ``logistf`` and ``brglm2::brglmFit(type = "AS_mean")``.

Model and penalty. For covariate patterns i with design row x_i, m_i trials and y_i events
(0/1 rows are patterns with m_i = 1), p_i = expit(x_i'b), W = diag(m_i p_i (1 - p_i)),

    l(b)  = sum_i y_i log p_i + (m_i - y_i) log(1 - p_i)        (Bernoulli log-likelihood of the rows:
                                                                no log binomial coefficients)
    l*(b) = l(b) + 1/2 log det I(b),   I(b) = X'WX.

I(b) is a sum over rows, so the patterns and the expanded 0/1 rows have the same l, the same penalty and
therefore the same estimate (tested to 1e-10). Firth's estimate maximises l*: it is finite even under
complete or quasi-complete separation, where the ordinary ML estimate diverges.

Modified score. With h_i the diagonal of H = W^1/2 X (X'WX)^-1 X' W^1/2,
d/db_r 1/2 log det I = 1/2 tr(I^-1 dI/db_r) = 1/2 sum_i x_ir m_i p_i (1-p_i) (1-2p_i) x_i' I^-1 x_i
= sum_i x_ir h_i (1/2 - p_i), so

    U*(b) = X'(y - m p + h (1/2 - p)) = X'(y + h/2 - (m + h) p).

Iteration (logistf's and brglm2's): b <- b + I(b)^-1 U*(b) from the safe start (intercept = logit of
the event share, the rest 0: brglm2's default start, the ML fit, diverges where a level has one
outcome only), each step at most ``MAX_STEP`` in every coordinate and halved (up to ``MAX_HALVINGS``
times) until l* rises, or, where l* is flat to rounding, until U*' I^-1 U* falls (see ``_Problem.fit``:
without the second test a level seen in one row made the iteration alternate forever); stop when every
coordinate of the step is below tol * (1 + |b_j|). Failure raises ``FirthConvergenceError``; a design
without full column rank raises ``FirthDesignError`` naming the column (both ``FirthError``, a
ValueError, exit code 2 on the command line). Hat values are the row sums of (W^1/2 X L^-T)^2 with L the Cholesky factor of X'WX:
O(n k^2) work, no n x n matrix.

Inference (as logistf): ``cov_params()`` is I(b^)^-1 (brglm2 and logistf report this matrix); Wald
z, p-values and intervals from it; profile penalised-likelihood intervals: for coefficient j the two
values b where 2[l*(b^) - max_{b_-j} l*(b_j = b, b_-j)] = chi2_1(1 - alpha), the constrained maxima
computed with the *full* penalty 1/2 log det I(b) (logistf's convention) by the same iteration on the
free coordinates (step I_ff^-1 U*_f), warm-started from the nearest constrained fit already found; each
root is bracketed outward from b^_j and then found by Newton's method on the profile, whose derivative
is U*_j at the constrained maximum, safeguarded by bisection. The profile penalised likelihood-ratio
p-value (logistf's ``prob``) is the chi2_1 tail of 2[l*(b^) - max l*(b_j = 0)].

BLAS runs on one thread inside the public functions (``analysis.threads``): on 10^4 patterns x 30
columns OpenBLAS's threads made every n x k by k x k product ~5x slower.

Tested (tests/model/test_firth.py) against stored R output (tests/reference/r/firth.json, R 4.2.2, brglm2
0.9): coefficients, standard errors, covariance, Wald z and p equal
``glm(method = "brglmFit", type = "AS_mean")`` to 1e-6 relative (observed <= 6e-11) on the endometrial
data (quasi-complete separation in NV), MASS's birthwt and a completely separated toy set; l* and l to
1e-8 relative (observed ~1e-13); the profile intervals and penalised LR p-values to 1e-6 relative
(observed ~1e-12) against an independent R implementation (optim BFGS on l* with the coefficient fixed +
uniroot; logistf itself is not packaged for Debian) and to 1e-7 (observed ~1e-11) against a brute-force
Python route (scipy.optimize on l* + a grid + brentq); the endometrial NV interval also against logistf's
published 0.61-7.85; the modified score against central differences of l* for binomial counts (1e-6);
patterns vs the expanded rows to 1e-10 (estimates, SEs; l* 1e-12; profile intervals 1e-9).

Predictions for new data use patsy's design information remembered from the training data
(``patsy.build_design_matrices``), so categorical levels and their coding are those of the fit, whatever
levels the new rows happen to contain; a level not seen in training is an error.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import patsy
from scipy import linalg, special, stats

from analysis.model.design import design_matrix, parse_term, with_categoricals
from analysis.model.fit import Fit, null_loglik, tidy
from analysis.model.newton import safe_start
from analysis.threads import one_blas_thread
from analysis.model.splines import rcs  # noqa: F401 - patsy evaluates rcs(...) of spline terms in this module's namespace

__all__ = ["FirthError", "FirthConvergenceError", "FirthDesignError", "FirthResult", "FirthFit", "fit_firth",
           "firth_fit"]

#: largest change of any coefficient in one iteration (logistf's ``maxstep``)
MAX_STEP = 5.0
#: step halvings per iteration before giving up (logistf's ``maxhs``)
MAX_HALVINGS = 30
#: outward doublings of the bracket for a profile limit before calling it infinite
MAX_DOUBLINGS = 14


class FirthError(ValueError):
    """Firth's estimate cannot be computed for this design; the message says why and what to do (the command
    line reports it with exit code 2)."""


class FirthConvergenceError(FirthError):
    """The penalised-likelihood iteration (or a constrained fit of the profile) did not converge."""


class FirthDesignError(FirthError):
    """A column of the design is constant or a linear combination of the columns before it: its coefficient
    is not identified, with the penalty or without."""


# --------------------------------------------------------------------------------------------------
# the numerical core: X (n x k), y events, m trials


@dataclass
class _State:
    beta: np.ndarray
    lpen: float            # l*(b); -inf where X'WX is not positive definite
    loglik: float          # l(b)
    info: np.ndarray | None = None     # X'WX
    chol: np.ndarray | None = None     # lower Cholesky factor of X'WX
    score: np.ndarray | None = None    # U*(b)
    prob: np.ndarray | None = None


class _Problem:
    def __init__(self, X: np.ndarray, y: np.ndarray, m: np.ndarray):
        self.X, self.y, self.m = X, y, m

    def evaluate(self, beta: np.ndarray, score: bool = True) -> _State:
        X, y, m = self.X, self.y, self.m
        eta = X @ beta
        # log p = -log(1 + e^-eta), log(1-p) = -log(1 + e^eta): stable for any eta
        log_p = -np.logaddexp(0.0, -eta)
        log_q = -np.logaddexp(0.0, eta)
        loglik = float(np.dot(y, log_p) + np.dot(m - y, log_q))
        p = special.expit(eta)
        sqrt_w = np.sqrt(m) * np.exp(0.5 * (log_p + log_q))   # sqrt(m p (1 - p)) without cancellation
        Xw = X * sqrt_w[:, None]
        info = Xw.T @ Xw
        try:
            chol = linalg.cholesky(info, lower=True, check_finite=False)
        except linalg.LinAlgError:
            return _State(beta, -np.inf, loglik)
        diag = np.diag(chol)
        if not np.all(diag > 0) or not np.isfinite(loglik):
            return _State(beta, -np.inf, loglik)
        lpen = loglik + float(np.sum(np.log(diag)))      # 1/2 log det = sum log diag(L)
        state = _State(beta, lpen, loglik, info, chol, None, p)
        if score:
            # hat values h_i = w_i x_i' (LL')^-1 x_i: row sums of (W^1/2 X L^-T)^2; one n x k by k x k
            # product (faster than a triangular solve with n right-hand sides)
            L_inv = linalg.solve_triangular(chol, np.eye(len(beta)), lower=True, check_finite=False)
            A = Xw @ L_inv.T
            h = np.einsum("ij,ij->i", A, A)
            state.score = X.T @ (y + 0.5 * h - (m + h) * p)
        return state

    @staticmethod
    def _step(state: _State, free: np.ndarray | None) -> np.ndarray:
        """The scoring step I^-1 U* (on the free coordinates only when ``free`` is given)."""
        if free is None:
            return linalg.cho_solve((state.chol, True), state.score, check_finite=False)
        step = np.zeros(len(state.beta))
        sub = state.info[np.ix_(free, free)]
        step[free] = linalg.solve(sub, state.score[free], assume_a="pos", check_finite=False)
        return step

    def fit(self, beta0: np.ndarray, *, fixed: int | None = None, maxiter: int = 100,
            tol: float = 1e-10, start: _State | None = None) -> tuple[_State, int]:
        """Maximise l* over all coordinates, or over all but `fixed` (kept at beta0[fixed]).

        Each iteration takes the scoring step I^-1 U* (at most MAX_STEP in any coordinate), halved until it
        is accepted: when l* rises by more than its rounding, or, where l* is flat to rounding, when the
        step's own measure of the distance to the maximum, U*' I^-1 U* (the squared length of the next
        step in the metric of I), falls. The second test matters near the maximum of a design with a level
        seen in one row: there the scoring step (I is not the Hessian of l*: the hat values move with b)
        overshot by its own length and the iteration alternated between two points of equal l* forever;
        a halved step lands between them (found by the fuzzer of issue 22 on 2,000 rows of the coupon
        data with one new marriage level). l* cannot cycle while it rises, and U*' I^-1 U* cannot while it
        falls, so the iteration converges."""
        k = len(beta0)
        free = None
        if fixed is not None:
            free = np.ones(k, dtype=bool)
            free[fixed] = False
        state = start if start is not None else self.evaluate(np.asarray(beta0, dtype=float).copy())
        if not np.isfinite(state.lpen):
            raise FirthConvergenceError("X'WX is not positive definite at the starting values "
                                        "(constant or collinear columns?)")
        step = self._step(state, free)
        for it in range(1, maxiter + 1):
            small = bool(np.all(np.abs(step) <= tol * (1.0 + np.abs(state.beta))))
            distance = float(state.score @ step)          # U*' I^-1 U* (free coordinates)
            biggest = np.max(np.abs(step))
            trial = step * (MAX_STEP / biggest) if biggest > MAX_STEP else step
            slack = 1e-13 * (1.0 + abs(state.lpen))      # rounding of l* near the maximum
            for _ in range(MAX_HALVINGS + 1):
                new = self.evaluate(state.beta + trial)
                if np.isfinite(new.lpen) and new.lpen >= state.lpen - slack:
                    new_step = self._step(new, free)
                    if new.lpen > state.lpen + slack or float(new.score @ new_step) < distance:
                        break
                trial = trial / 2.0
            else:
                if small:
                    return state, it
                raise FirthConvergenceError(
                    f"step halving failed to increase the penalised log-likelihood at iteration {it}")
            state, step = new, new_step
            if small:
                return state, it
        raise FirthConvergenceError(
            f"Firth iteration did not converge in {maxiter} iterations (tol={tol:g}); "
            "raise maxiter or check the design for collinear columns")


# --------------------------------------------------------------------------------------------------
# result


@dataclass(frozen=True, eq=False)
class FirthResult:
    """A Firth fit; statsmodels-style attributes (see the module docstring for what each was tested
    against). ``params``/``bse``/... are pandas objects indexed by the design's column names."""

    params: pd.Series
    bse: pd.Series
    llf: float                      # penalised log-likelihood l*(b^)
    llf_unpenalized: float          # l(b^) (Bernoulli log-likelihood of the rows)
    converged: bool
    n_iter: int
    nobs: float                     # number of rows = sum of trials
    n_patterns: int                 # rows of the design actually fitted
    model_terms: list
    column_names: list
    term_columns: dict
    conf_level: float
    fittedvalues: pd.Series         # fitted probabilities of the rows of `data`
    method: str = "firth"
    _cov: np.ndarray = field(default=None, repr=False)
    _problem: Any = field(default=None, repr=False)
    _design_info: Any = field(default=None, repr=False)
    _maxiter: int = field(default=100, repr=False)
    _tol: float = field(default=1e-10, repr=False)
    _cache: dict = field(default_factory=dict, repr=False)

    # ---- Wald
    def cov_params(self) -> pd.DataFrame:
        """(X'WX)^-1 at the estimate: brglm2's and logistf's ``vcov`` (tested to 1e-6 via the SEs)."""
        return pd.DataFrame(self._cov, index=self.column_names, columns=self.column_names)

    @property
    def tvalues(self) -> pd.Series:
        """Wald z = params / bse."""
        return self.params / self.bse

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided Wald p-values from the normal distribution (brglm2's ``summary``)."""
        return pd.Series(2.0 * stats.norm.sf(np.abs(self.tvalues.to_numpy())), index=self.params.index)

    def conf_int(self, alpha: float | None = None) -> pd.DataFrame:
        """Wald intervals, columns 0 (lower) and 1 (upper) as statsmodels'; alpha defaults to
        1 - conf_level (0.05)."""
        alpha = 1.0 - self.conf_level if alpha is None else alpha
        z = stats.norm.ppf(1.0 - alpha / 2.0)
        b, se = self.params.to_numpy(), self.bse.to_numpy()
        return pd.DataFrame({0: b - z * se, 1: b + z * se}, index=self.params.index)

    # ---- profile penalised likelihood
    @one_blas_thread
    def profile_conf_int(self, alpha: float | None = None) -> pd.DataFrame:
        """Profile penalised-likelihood intervals (logistf's default ``ci.lower``/``ci.upper``), columns
        0 and 1; +-inf where the profile never falls to the cut-off; NaN where a constrained fit on the
        way does not converge (very sparse designs: found by the command-line fuzzer on a 300-row file;
        the Wald interval still stands). alpha defaults to 1 - conf_level. Tested against an independent
        R implementation (1e-6 relative) and a brute-force scipy route (1e-7); observed differences ~1e-11."""
        alpha = 1.0 - self.conf_level if alpha is None else float(alpha)
        key = ("ci", alpha)
        if key not in self._cache:
            cut = self.llf - stats.chi2.ppf(1.0 - alpha, 1) / 2.0
            rows = [(self._limit_or_nan(j, cut, -1), self._limit_or_nan(j, cut, +1))
                    for j in range(len(self.column_names))]
            self._cache[key] = pd.DataFrame(rows, index=self.params.index, columns=[0, 1])
        return self._cache[key].copy()

    @one_blas_thread
    def profile_pvalues(self) -> pd.Series:
        """Penalised likelihood-ratio p-values (logistf's ``prob``): chi2_1 tail of
        2[l*(b^) - max l*(b_j = 0)], the constrained maximum with the full penalty."""
        if "p" not in self._cache:
            out = []
            for j in range(len(self.column_names)):
                try:
                    lr = max(0.0, 2.0 * (self.llf - self._profile_llf(j, 0.0)[0]))
                except FirthConvergenceError:        # as in profile_conf_int: not computed
                    lr = np.nan
                out.append(stats.chi2.sf(lr, 1))
            self._cache["p"] = pd.Series(out, index=self.params.index)
        return self._cache["p"].copy()

    def _profile_llf(self, j: int, value: float) -> tuple[float, float]:
        """(max over b_-j of l*(b) with b_j = value, its derivative in value), warm-started from the
        nearest constrained fit already found. The derivative of the profile is the j-th modified score
        at the constrained maximum (the other coordinates of the score are zero there)."""
        store = self._cache.setdefault(("fits", j), {})
        if value not in store:
            prob = self._problem
            if store:
                near = min(store, key=lambda v: abs(v - value))
                base, base_val = store[near].beta, near
            else:
                base, base_val = self.params.to_numpy(), float(self.params.iloc[j])
            # move the free coefficients along the regression of b_-j on b_j (covariance of b^): the
            # first-order path of the constrained maximum; fall back to the plain warm start
            start = base + self._cov[:, j] / self._cov[j, j] * (value - base_val)
            start[j] = value
            state = prob.evaluate(start)
            if not np.isfinite(state.lpen):
                start = base.copy()
                start[j] = value
                state = prob.evaluate(start)
            if not np.isfinite(state.lpen):
                return -np.inf, -np.sign(value - base_val) * np.inf
            state, _ = prob.fit(start, fixed=j, maxiter=self._maxiter * 2, tol=self._tol, start=state)
            store[value] = state
        state = store[value]
        return state.lpen, float(state.score[j])

    def _limit_or_nan(self, j: int, cut: float, side: int) -> float:
        try:
            return self._profile_limit(j, cut, side)
        except FirthConvergenceError:
            return np.nan

    def _profile_limit(self, j: int, cut: float, side: int) -> float:
        """The root of profile(b) = cut on `side` of b^_j: bracket outward from b^_j in doubling steps
        (from the Wald half-width), then Newton on the profile with its exact derivative, safeguarded by
        bisection of the bracket; stops when the next Newton step is below 1e-9 (1 + |b|) and takes it."""
        b0 = float(self.params.iloc[j])
        width = float(np.sqrt(2.0 * (self.llf - cut))) * float(self.bse.iloc[j])   # Wald half-width
        inner, outer = b0, None
        for _ in range(MAX_DOUBLINGS + 1):
            trial = b0 + side * width
            value, slope = self._profile_llf(j, trial)
            if value < cut:
                outer = trial
                break
            inner = trial
            width *= 2.0
        if outer is None:
            return side * np.inf
        x, fx, dfx = outer, value - cut, slope
        for _ in range(200):
            step = -fx / dfx if np.isfinite(fx) and np.isfinite(dfx) and dfx != 0 else np.nan
            if np.isfinite(step) and abs(step) <= 1e-9 * (1.0 + abs(x)):
                return float(x + step)       # Newton converges quadratically: x + step is exact to ~1e-18
            lo, hi = sorted((inner, outer))
            new = x + step
            if not (lo < new < hi):
                new = 0.5 * (lo + hi)        # bisection when Newton leaves the bracket
                if hi - lo <= 1e-13 * (1.0 + abs(new)):
                    return float(new)
            value, dfx = self._profile_llf(j, new)
            x, fx = new, value - cut
            if fx >= 0:
                inner = x
            else:
                outer = x
        raise FirthConvergenceError(f"profile limit of {self.column_names[j]!r} did not converge")

    # ---- prediction
    @one_blas_thread
    def predict(self, new_data: pd.DataFrame | None = None) -> pd.Series:
        """Probabilities for the rows of `new_data` (the fitted probabilities if None).

        The design of `new_data` is built by ``patsy.build_design_matrices`` from the design information
        of the training data, so a categorical term is coded with the fitted levels and reference even if
        `new_data` holds only some of them (tested against the fitted values of the same rows); a level
        unseen in training raises ValueError.
        """
        if new_data is None:
            return self.fittedvalues.copy()
        X = _new_design(self._design_info, new_data, self.model_terms)
        if X.shape[1] != len(self.column_names):
            raise ValueError("the design of new_data does not match the fitted columns")
        return pd.Series(special.expit(X @ self.params.to_numpy()), index=new_data.index, name="predicted")

    def summary_frame(self) -> pd.DataFrame:
        """One row per column: estimate, SE, Wald z and p, Wald and profile limits, profile p-value."""
        wald, prof = self.conf_int(), self.profile_conf_int()
        return pd.DataFrame({"estimate": self.params, "std_error": self.bse, "z": self.tvalues,
                             "p_wald": self.pvalues, "wald_low": wald[0], "wald_high": wald[1],
                             "profile_low": prof[0], "profile_high": prof[1],
                             "p_profile": self.profile_pvalues()})


def _design_info(data: pd.DataFrame, terms, columns) -> patsy.DesignInfo:
    """patsy's design information of intercept + terms on the training data (levels, contrasts), checked
    to give the same column names as ``design_matrix``."""
    desc = patsy.ModelDesc([], [patsy.INTERCEPT, *[parse_term(t) for t in terms]])
    frame = with_categoricals(data, terms)
    info = patsy.incr_dbuilder(desc, lambda: iter([frame]), NA_action="raise")
    if list(info.column_names) != list(columns):
        raise ValueError(f"patsy's columns {info.column_names} differ from the design's {columns}")
    return info


def _new_design(info: patsy.DesignInfo, new_data: pd.DataFrame, terms) -> np.ndarray:
    frame = new_data.copy(deep=False)
    for col in frame.columns:                        # categories are mapped by value onto the fitted levels
        s = frame[col]
        if isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(s.dtype):
            frame[col] = pd.Series(np.asarray(s, dtype=object), index=frame.index, dtype=object)
    try:
        (dm,) = patsy.build_design_matrices([info], frame, NA_action="raise")
    except patsy.PatsyError as exc:
        raise ValueError(f"cannot build the design of new_data: {exc}") from None
    return np.asarray(dm, dtype=float)


# --------------------------------------------------------------------------------------------------


@one_blas_thread
def fit_firth(data: pd.DataFrame, response: str, terms, *, trials: str | None = None,
              conf_level: float = 0.95, profile: bool = True, maxiter: int = 100,
              tol: float = 1e-10) -> FirthResult:
    """Fit ``response ~ terms`` by Firth's penalised likelihood.

    data      rows (``response`` 0/1 or bool) or covariate patterns (``response`` = events of the row,
              ``trials`` = the column with its number of rows); the estimates are the same.
    terms     formula terms as for ``analysis.model.design.design_matrix`` ("age", "C(race)", ...);
              an intercept is always included.
    profile   compute the profile penalised-likelihood intervals (at ``conf_level``) and p-values now;
              otherwise they are computed on the first call of ``profile_conf_int``/``profile_pvalues``.
    maxiter, tol  iteration limit and convergence tolerance (every coordinate of the last Newton step
              below tol * (1 + |b_j|)); non-convergence raises ``FirthConvergenceError``.

    Tested against brglm2's ``brglmFit(type = "AS_mean")`` (1e-6 relative; see the module docstring).

    Example (separated data: no event-free row with x = 1, so the ML estimate is infinite; in a 2 x 2
    table Firth's estimate is the log odds ratio with 1/2 added to every cell, log((3.5/0.5) / (1.5/2.5))):

    >>> import pandas as pd
    >>> rows = pd.DataFrame({"x": [0, 0, 0, 1, 1, 1], "y": [0, 0, 1, 1, 1, 1]})
    >>> round(float(fit_firth(rows, "y", ["x"]).params["x"]), 4)
    2.4567
    """
    if not 0.0 < conf_level < 1.0:
        raise ValueError("conf_level must be in (0, 1)")
    terms = list(terms)
    X, columns, term_columns = design_matrix(data, terms)
    y = _numeric(data, response)
    if trials is None:
        if not np.all((y == 0) | (y == 1)):
            raise ValueError(f"response {response!r} must be 0/1 (give trials= for events/trials data)")
        m = np.ones_like(y)
    else:
        m = _numeric(data, trials)
        if np.any(m < 0) or np.any(y < 0) or np.any(y > m):
            raise ValueError(f"need 0 <= {response} <= {trials} on every row")
    _check_rank(X, list(columns), dict(term_columns))
    problem = _Problem(X, y, m)
    state, n_iter = problem.fit(safe_start(X, y, m), maxiter=maxiter, tol=tol)
    cov = linalg.cho_solve((state.chol, True), np.eye(X.shape[1]), check_finite=False)
    cov = (cov + cov.T) / 2.0
    result = FirthResult(
        params=pd.Series(state.beta, index=columns, name="params"),
        bse=pd.Series(np.sqrt(np.diag(cov)), index=columns, name="bse"),
        llf=state.lpen, llf_unpenalized=state.loglik, converged=True, n_iter=n_iter,
        nobs=float(m.sum()), n_patterns=len(y), model_terms=terms, column_names=list(columns),
        term_columns=dict(term_columns), conf_level=float(conf_level),
        fittedvalues=pd.Series(state.prob, index=data.index, name="fitted"),
        _cov=cov, _problem=problem, _design_info=_design_info(data, terms, columns),
        _maxiter=maxiter, _tol=tol)
    if profile:
        result.profile_conf_int()
        result.profile_pvalues()
    return result


def _check_rank(X: np.ndarray, columns: list, term_columns: dict) -> None:
    """Raise FirthDesignError naming the first column of X that is a linear combination of the columns
    before it (its term, and what to do), as ``numpy.linalg.matrix_rank`` decides (SVD, the same verdict
    on every CPU). Firth's penalty keeps estimates finite under separation; it does not identify a
    coefficient the design cannot tell from others."""
    if np.linalg.matrix_rank(X) == X.shape[1]:
        return
    for j in range(X.shape[1]):
        if np.linalg.matrix_rank(X[:, : j + 1]) <= j:
            name = columns[j]
            term = next((t for t, cols in term_columns.items() if j in range(X.shape[1])[cols]), None)
            if j == 0:
                what = f"The intercept column '{name}' is zero"
            else:
                what = (f"Column '{name}'" + (f" of term '{term}'" if term and term != name else "")
                        + " is constant or a linear combination of the columns before it")
            raise FirthDesignError(
                f"{what} in the rows fitted, so its coefficient cannot be estimated; Firth's penalty does not "
                "change that (the design has rank {rank} for {k} columns). Remove the term from the model, or "
                "fit on more rows that differ in it.".format(rank=int(np.linalg.matrix_rank(X)), k=X.shape[1]))
    raise FirthDesignError("The design matrix is rank deficient; remove a collinear term.")


def _numeric(data: pd.DataFrame, column: str) -> np.ndarray:
    if column not in data.columns:
        raise ValueError(f"no column {column!r} in data")
    values = np.asarray(data[column], dtype=float)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"column {column!r} has missing or infinite values")
    return values


# --------------------------------------------------------------------------------------------------
# the fit object


class FirthFit(Fit):
    """Firth's fit of every candidate term as a :class:`~analysis.model.fit.Fit` (no selection: the full and
    the final model are the same fit). Its tables have Wald and profile penalised-likelihood limits; the
    tables that rest on maximum-likelihood refits (Type 3 tests, marginal effects, VIF) are empty, since
    those refits do not exist under separation."""

    method = "firth"

    def __init__(self, results: FirthResult, **fields):
        super().__init__(results, **fields)
        self.full = self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.results.predict(frame.drop(columns=[self.response, self.trials])), dtype=float)

    def tidy(self, conf_level: float = 0.95) -> pd.DataFrame:
        """Coefficients with Wald limits (:func:`analysis.model.fit.tidy`) and the profile penalised-likelihood
        limits and p-values beside them."""
        coefs = tidy(self.results, conf_level)
        prof = self.results.profile_conf_int()
        coefs["profile_conf_low"] = prof[0].to_numpy()
        coefs["profile_conf_high"] = prof[1].to_numpy()
        coefs["or_profile_low"] = np.exp(coefs["profile_conf_low"])
        coefs["or_profile_high"] = np.exp(coefs["profile_conf_high"])
        coefs["profile_p_value"] = self.results.profile_pvalues().to_numpy()
        return coefs

    def glance(self) -> dict:
        """Rows, events, the ordinary (unpenalised) log-likelihood of the rows at the penalised estimate and
        the penalised one, the null log-likelihood in closed form; no AIC, BIC, LR test or pseudo R-squared,
        which belong to maximum-likelihood fits."""
        fit = self.results
        n = int(round(float(fit.nobs)))
        return {"n_obs": n, "events": int(self.events), "llf": fit.llf_unpenalized, "penalized_llf": fit.llf,
                "llnull": null_loglik(self.events, n), "aic": None, "bic": None, "lr_chi2": None,
                "lr_df": len(fit.params) - 1, "lr_p": None, "pseudo_r2": None, "converged": bool(fit.converged),
                "method": "firth"}

    def tables(self) -> dict[str, pd.DataFrame]:
        from analysis.model.inference import MARGEFF_COLUMNS, empty_vif

        coefs = self.tidy()
        path = pd.DataFrame([{"step": 0, "action": "start", "term": None, "df": pd.NA, "criterion": np.nan,
                              "statistic": np.nan, "p_value": np.nan}])
        return {"coefficients": coefs, "coefficients_full": coefs, "stepwise": path, "spline_knots": self.knots,
                "type3_tests": pd.DataFrame(columns=["term", "df", "lr_chi2", "p_value", "aic_without", "note"]),
                "marginal_effects": pd.DataFrame(columns=MARGEFF_COLUMNS), "vif": empty_vif()}

    def summary_texts(self, yname: str) -> dict:
        return {"statsmodels_summary": self.results.summary_frame().to_string(), "full_model_summary": "",
                "summary_fitted_on": "covariate patterns (Firth's penalised likelihood)"}


def firth_fit(data: pd.DataFrame, terms, *, knots: pd.DataFrame, baselines: dict, response: str = "events",
              trials: str | None = "trials", progress=lambda message: None) -> FirthFit:
    """:func:`fit_firth` of every term on a pattern table, as a :class:`FirthFit`."""
    progress(f"Firth's penalised logit on {int(data[trials].sum()):,} training rows ({len(data):,} covariate "
             "patterns)")
    results = fit_firth(data, response, terms, trials=trials)
    return FirthFit(results, data=data, terms=tuple(terms), candidates=tuple(terms), knots=knots,
                    baselines=baselines, response=response, trials=trials)
