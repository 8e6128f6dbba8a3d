"""Newton-Raphson for the binomial logit on a design matrix: the package's one hand-written ML fit.

    newton(X, y, m, beta, first=None) -> (beta, eta, loglik, p)

Used by stepwise selection (every candidate model of ``analysis.model.selection`` is a column subset of one
design, fitted warm-started) and by the refits of ``analysis.model.type3_tests``, where a fit that
cannot diverge is needed: Newton with step halving on the log-likelihood from a safe start (the
intercept-only estimate) increases the likelihood at every step, so it converges whenever the maximum
exists and reports separation (``SeparationError``) when it does not. statsmodels' fits are kept for
everything users see (the final models, their summaries); this exists because no library fits a logit
on a column subset of a shared matrix with warm starts and this step control.

Tested (tests/model/test_selection.py, tests/model/test_fit.py) against statsmodels Logit (1e-8 relative on
estimates) and R's step()/drop1() on the real data and on public data sets.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.linalg.lapack import dpotrf as _potrf, dpotrs as _potrs
from scipy.special import expit

MAXITER = 100
TOL = 1e-10                                   # Newton step, relative to max(1, max |beta|)
_CHORD = 1e-3                                 # reuse the last factor while eta moved <= this (in total)
_SAFE_ETA = 1.0                               # Newton steps moving no linear predictor more: no likelihood check
_P_EDGE = 10 * np.finfo(float).eps            # R's "fitted probabilities numerically 0 or 1"
_ETA_EDGE = 30.0                              # |eta| below this: expit(eta) is 1e-13 or more from 0 and 1
_MAXITER, _TOL = MAXITER, TOL


class SeparationError(ValueError):
    """A logit fit has no finite maximum-likelihood estimate (separation) or did not converge."""


def loglik(y, m, eta):
    return float(y @ eta - m @ np.logaddexp(0.0, eta))


def information(X, w) -> np.ndarray:
    """X' diag(w) X, as (sqrt(w) X)'(sqrt(w) X): numpy computes A.T @ A as a symmetric rank-k update."""
    A = X * np.sqrt(w)[:, None]
    return A.T @ A


def cholesky(a) -> np.ndarray:
    """Lower Cholesky factor of a symmetric positive definite matrix (LAPACK potrf without scipy's
    wrapper checks: these are small matrices factorised thousands of times). Raises LinAlgError."""
    c, info = _potrf(a, lower=1, clean=0)
    if info != 0:
        raise np.linalg.LinAlgError("matrix not positive definite")
    return c


def cho_solve(c, b) -> np.ndarray:
    x, info = _potrs(c, b, lower=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"potrs failed (info {info})")
    return x


def newton(X, y, m, beta, first=None, offset=None, check_edge: bool = True):
    """Maximise the binomial log-likelihood by Newton-Raphson with step halving.
    Returns (beta, eta, loglik, p); p (fitted probabilities) is None unless it had to be computed.
    ``offset``: a fixed part of the linear predictor (eta = X beta + offset), as glm's ``offset()``.
    ``check_edge``: raise when a fitted probability is numerically 0 or 1 at convergence (R's warning); off
    for fits whose predictors were clipped there on purpose (a recalibration of p = 0 or 1).

    The stopping rule is on the Newton step (relative to the coefficients), never on the log-likelihood or
    the deviance, whose rounding error grows with the number of rows: it holds at any n (a deviance change
    below 1e-13, statsmodels' GLM rule, is never met at 10^8 rows, where the deviance's last bits are 1e-8).

    first: (eta, loglik, w, score, information) at `beta` when already known (an "add" candidate started
    at the current model: all of them are the current model's), so the first iteration needs no pass over
    the data; w is not used (it may be None). Converged when the Newton step is at most _TOL relative to max(1, max |beta|). While the
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
    off = 0.0 if offset is None else np.asarray(offset, dtype=float)
    if first is None:
        eta = X @ beta + off
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
            chord = cho_solve(chol, grad)
            if np.all(np.isfinite(chord)):
                step, done = chord, np.max(np.abs(chord), initial=0.0) <= tol
        if step is None:
            try:
                chol = cholesky(information(X, w) if info is None else info)
            except np.linalg.LinAlgError:
                raise SeparationError("the information matrix is singular (separation or aliased columns)") from None
            drift = 0.0
            step = cho_solve(chol, grad)
            if not np.all(np.isfinite(step)):
                raise SeparationError("the Newton step is not finite (separation)")
            done = np.max(np.abs(step), initial=0.0) <= tol
        nb = beta + step
        ne = X @ nb + off
        moved = np.max(np.abs(ne - eta), initial=0.0)
        if moved <= _SAFE_ETA:
            nll = None
        else:
            if ll is None:
                ll = loglik(y, m, eta)
            t = 1.0
            while True:
                nll = loglik(y, m, ne)
                if nll >= ll - 1e-12 * (1.0 + abs(ll)):
                    break
                t *= 0.5
                if t < 1e-10:
                    raise SeparationError("step halving failed to increase the likelihood")
                nb = beta + t * step
                ne = X @ nb + off
            if t < 1.0:
                moved = np.max(np.abs(ne - eta), initial=0.0)
        drift += moved
        beta, eta, ll = nb, ne, nll
        if done:
            p = None                                   # |eta| <= 30: p within 1e-13 of neither 0 nor 1
            if check_edge and eta.size and (eta.min() < -_ETA_EDGE or eta.max() > _ETA_EDGE):
                p = expit(eta)
                if np.any((p < _P_EDGE) | (p > 1.0 - _P_EDGE)):
                    raise SeparationError("fitted probabilities numerically 0 or 1 (separation)")
            return beta, eta, (loglik(y, m, eta) if ll is None else ll), p
    raise SeparationError(f"Newton-Raphson did not converge in {_MAXITER} iterations (separation?)")




def safe_start(X, y, m) -> np.ndarray:
    """The intercept-only maximum (logit of the event share) with every other coefficient 0: a start from
    which step-halving Newton cannot diverge (X's first column must be the intercept)."""
    beta = np.zeros(X.shape[1])
    share = float(y.sum() / m.sum())
    if 0 < share < 1:
        beta[0] = math.log(share / (1 - share))
    return beta
