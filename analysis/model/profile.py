"""Profile-likelihood confidence intervals for the coefficients (odds ratios) of a maximum-likelihood logit,
as R's ``confint(glm)`` (MASS's ``profile.glm``), but with the exact roots.

    profile_conf_int(results, conf_level=0.95, *, max_size=MAX_SIZE) -> DataFrame[term, estimate, conf_low,
        conf_high, profile_conf_low, profile_conf_high, odds_ratio, or_conf_low, or_conf_high, or_profile_low,
        or_profile_high]                     (conf_* Wald, as ``tidy``; profile_* profile likelihood)
    profile_size(results) -> int             patterns (or rows) x coefficients, compared with ``max_size``

Method. For coefficient j and a value b, the constrained maximum l_j(b) = max over b_-j of the Bernoulli
log-likelihood with b_j = b (X_j b an offset) is found by Newton's method with step halving on the free
coordinates (the iteration of ``analysis.model.newton``, with its helpers; ``newton()`` itself has no offset),
warm-started from the nearest constrained fit already found moved along the first-order path
b_-j + Cov(b_-j, b_j) / Var(b_j) (b - b^_j). The signed root z_j(b) = sign(b - b^_j) sqrt(2 (l^ - l_j(b)))
is nearly linear in b; each limit is its root at -/+ qnorm(1 - alpha/2) (the chi-square(1) cut), found by
Newton's method on z_j with the exact derivative dz/db = -U_j / z (U_j the j-th score at the constrained
maximum; the other scores are zero there), started at the Wald limit and safeguarded by bisection of the
bracket; the iteration stops when the next step is below 1e-10 (1 + |b|) and takes it, so the limits are the
exact roots to ~1e-12. A profile that never falls to the cut gives an infinite limit (after
``MAX_DOUBLINGS`` doublings of the distance from b^_j).

MASS (R 4.2's ``confint.glm``) instead evaluates z_j on a grid of steps of (qnorm(1 - alpha/4) / 5) standard
errors, interpolates it by ``spline()`` (a cubic interpolating spline evaluated at 3 x the grid points) and
inverts that by linear interpolation (``approx``); its limits carry that interpolation error, measured
against the exact roots (tests/model/test_profile.py): up to 9e-6 relative on the Titanic model and 1.6e-4
on the coupon data's model (on limits near 0; at most 7.5e-5 standard errors). R's exact roots (below) are
exactly as far from MASS's, so the 1e-4 asked of the comparison with ``confint`` is met on the Titanic model
and not on the coupon model, where the test allows 5e-4: MASS's error, not ours. No Python library offers profile-likelihood intervals for a GLM (statsmodels has
none; its ``fit_constrained`` is used in the tests as an independent constrained fit).

Cost: each root takes about 3 constrained fits of 1-3 Newton iterations, each iteration O(patterns x k^2)
for k coefficients, so the whole table is O(patterns x k^3): on the coupon data's default model (12,300
patterns, 27 coefficients) 1.6-1.9 s with one BLAS thread (165 constrained fits, 384 information matrices);
roughly 1.7 s x (patterns / 12,300) x (k / 27)^3 elsewhere; on the 25,317 expanded rows 4.5 s. ``max_size`` bounds patterns x coefficients
(``ProfileTooLarge`` above it; :func:`profile_size` says the size beforehand).

Tested (tests/model/test_profile.py) against: exact roots computed independently in R (glm.fit with the
offset + uniroot, tests/reference/r/profile_exact.json: 1e-8 relative; observed 4e-14 on the Titanic model,
3e-12 on the coupon model), statsmodels ``fit_constrained`` at our limits (2 (l^ - l_j) equals the cut to
1e-8; observed 1e-13) and a brute-force scipy route (minimize trust-exact + brentq: 1e-7; observed 2e-14);
R's ``confint(glm)`` to its interpolation error (tests/reference/r/titanic.json: 1e-4;
tests/reference/r/tmall_interactions.json: 5e-4); on patterns equal to the same on the expanded rows (1e-9;
observed 3e-14 and 3e-12).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from analysis.model.fit import response_counts, tidy
from analysis.model.newton import SeparationError, cho_solve, cholesky, information, loglik, newton
from analysis.threads import one_blas_thread

__all__ = ["profile_conf_int", "profile_size", "ProfileTooLarge", "MAX_SIZE", "PROFILE_COLUMNS"]

#: default bound on patterns x coefficients (the coupon data's default model is 12,300 x 27 = 332,100: 1.7 s;
#: at 27 coefficients the bound is 74,000 patterns, about 10 s)
MAX_SIZE = 2_000_000
#: doublings of the distance from the estimate before a limit is called infinite
MAX_DOUBLINGS = 12
MAXITER = 100
TOL = 1e-10
PROFILE_COLUMNS = ["term", "estimate", "conf_low", "conf_high", "profile_conf_low", "profile_conf_high",
                   "odds_ratio", "or_conf_low", "or_conf_high", "or_profile_low", "or_profile_high"]


class ProfileTooLarge(ValueError):
    """The model is larger (patterns x coefficients) than the ``max_size`` asked for."""


class _Profile:
    """Constrained maximum-likelihood fits of one logit: X (patterns x k), events y, trials m."""

    def __init__(self, X, y, m, beta):
        self.X, self.y, self.m = X, y, m
        beta, eta, ll, _ = newton(X, y, m, np.asarray(beta, dtype=float).copy())   # polish the estimate
        p = expit(eta)
        cov = cho_solve(cholesky(information(X, m * p * (1.0 - p))), np.eye(len(beta)))
        self.beta, self.llf, self.cov = beta, loglik(y, m, eta), (cov + cov.T) / 2.0
        self.se = np.sqrt(np.diag(self.cov))
        self._fits: dict[int, dict[float, tuple[np.ndarray, float, float]]] = {}

    def constrained(self, j: int, b: float) -> tuple[float, float]:
        """(l_j(b), U_j at the constrained maximum), cached; warm-started from the nearest fit of j."""
        store = self._fits.setdefault(j, {})
        if b not in store:
            if store:
                near = min(store, key=lambda v: abs(v - b))
                base, at = store[near][0], near
            else:
                base, at = self.beta, float(self.beta[j])
            start = base + self.cov[:, j] / self.cov[j, j] * (b - at)
            start[j] = b
            store[b] = self._fit_fixed(j, start)
        _, ll, score = store[b]
        return ll, score

    def _fit_fixed(self, j: int, beta: np.ndarray) -> tuple[np.ndarray, float, float]:
        """Newton with step halving over every coordinate but j (the step solved on the free block of the
        information), from ``beta``; converged when the step is below TOL * max(1, max |beta|)."""
        X, y, m = self.X, self.y, self.m
        free = np.arange(len(beta)) != j
        eta = X @ beta
        ll = loglik(y, m, eta)
        for _ in range(MAXITER):
            p = expit(eta)
            grad = X.T @ (y - m * p)
            info = information(X, m * p * (1.0 - p))
            try:
                step = np.zeros_like(beta)
                step[free] = cho_solve(cholesky(np.ascontiguousarray(info[np.ix_(free, free)])), grad[free])
            except np.linalg.LinAlgError:
                raise SeparationError("singular information in a constrained fit") from None
            done = np.max(np.abs(step)) <= TOL * max(1.0, np.max(np.abs(beta)))
            t = 1.0
            while True:
                new = beta + t * step
                new_eta = X @ new
                new_ll = loglik(y, m, new_eta)
                if new_ll >= ll - 1e-12 * (1.0 + abs(ll)):
                    break
                t *= 0.5
                if t < 1e-10:
                    if done:
                        break
                    raise SeparationError("step halving failed in a constrained fit")
            beta, eta, ll = new, new_eta, new_ll
            if done:
                score = float(X[:, j] @ (y - m * expit(eta)))
                return beta, ll, score
        raise SeparationError(f"a constrained fit did not converge in {MAXITER} iterations")

    def signed_root(self, j: int, b: float) -> tuple[float, float]:
        """(z_j(b), dz_j/db)."""
        ll, score = self.constrained(j, b)
        z = math.copysign(math.sqrt(max(0.0, 2.0 * (self.llf - ll))), b - self.beta[j])
        return z, (-score / z if z != 0 else 1.0 / self.se[j])

    def limit(self, j: int, side: int, cut: float) -> float:
        """The root of z_j(b) = side * cut on ``side`` (-1, +1) of b^_j; +-inf if the profile stays above
        the cut; NaN if a constrained fit on the way has no finite maximum."""
        b_hat = float(self.beta[j])
        inner, outer = b_hat, None                    # side * z(inner) < cut <= side * z(outer)
        x = b_hat + side * cut * self.se[j]           # the Wald limit
        try:
            for _ in range(200):
                z, dz = self.signed_root(j, x)
                f = side * z - cut
                if f >= 0:
                    outer = x
                else:
                    inner = x
                step = -(z - side * cut) / dz if dz != 0 and np.isfinite(dz) else np.nan
                if np.isfinite(step) and abs(step) <= 1e-10 * (1.0 + abs(x)):
                    return float(x + step)            # Newton converges quadratically: x + step is exact
                new = x + step
                if outer is None:                     # not bracketed yet: move out, at most doubling
                    far = b_hat + 2.0 * (x - b_hat)
                    if not np.isfinite(new) or side * (new - x) <= 0 or side * (new - far) > 0:
                        new = far
                    if abs(new - b_hat) > 2.0**MAX_DOUBLINGS * cut * self.se[j]:
                        return side * math.inf
                else:
                    lo, hi = sorted((inner, outer))
                    if not (np.isfinite(new) and lo < new < hi):
                        new = 0.5 * (lo + hi)
                        if hi - lo <= 1e-13 * (1.0 + abs(new)):
                            return float(new)
                x = new
        except SeparationError:
            return math.nan
        return math.nan


def _arrays(results):
    if not hasattr(results, "model") or not hasattr(results.model, "exog"):
        raise ValueError("profile-likelihood intervals here are for maximum-likelihood fits (statsmodels Logit or "
                         "binomial GLM from analysis.model.fit.fit_logit); Firth's fit has its own "
                         "(FirthResult.profile_conf_int)")
    X = np.ascontiguousarray(results.model.exog, dtype=float)
    y, m = response_counts(results)
    return X, y, m


def profile_size(results) -> int:
    """Patterns (or rows) x coefficients of a fit: the size ``max_size`` bounds."""
    return int(results.model.exog.shape[0]) * int(results.model.exog.shape[1])


@one_blas_thread
def profile_conf_int(results, conf_level: float = 0.95, *, max_size: int | None = MAX_SIZE) -> pd.DataFrame:
    """Wald and profile-likelihood intervals of every coefficient and odds ratio of a fit of
    :func:`analysis.model.fit.fit_logit` (patterns or rows: the same intervals).

    Returns DataFrame[``PROFILE_COLUMNS``]: ``conf_low``/``conf_high`` are the Wald limits (``tidy``),
    ``profile_conf_low``/``profile_conf_high`` the profile-likelihood limits of the coefficient (+-inf when
    the profile never reaches the cut, NaN when a constrained fit has no finite maximum), ``or_*`` exp of
    them. Raises ``ProfileTooLarge`` when patterns x coefficients exceeds ``max_size`` (None: no bound).

    Tested against exact roots computed in R (1e-8), statsmodels ``fit_constrained`` and a scipy brute force,
    and R's ``confint(glm)`` to MASS's interpolation error (1e-4 and 5e-4; see the module docstring).

    Example (a 2 x 2 table: the Wald interval of the log odds ratio and the profile one, shifted toward the
    long tail; R's ``confint`` gives -0.5432, 3.2341, the upper limit 5e-5 off by MASS's interpolation):

    >>> import pandas as pd
    >>> from analysis.model.fit import fit_logit
    >>> table = pd.DataFrame({"x": [0, 1], "events": [3, 6], "trials": [10, 10]})
    >>> ci = profile_conf_int(fit_logit(table, "events", ["x"], trials="trials")).set_index("term")
    >>> [round(float(v), 4) for v in ci.loc["x", ["conf_low", "conf_high", "profile_conf_low", "profile_conf_high"]]]
    [-0.5992, 3.1048, -0.5432, 3.2339]
    """
    if not 0.0 < conf_level < 1.0:
        raise ValueError("conf_level must be in (0, 1)")
    X, y, m = _arrays(results)
    if max_size is not None and profile_size(results) > max_size:
        raise ProfileTooLarge(f"profile-likelihood intervals skipped: {X.shape[0]:,} patterns x {X.shape[1]} "
                              f"coefficients = {profile_size(results):,} > max_size = {max_size:,}")
    prof = _Profile(X, y, m, np.asarray(results.params, dtype=float))
    cut = float(stats.norm.ppf(1.0 - (1.0 - conf_level) / 2.0))
    limits = np.array([[prof.limit(j, side, cut) for side in (-1, 1)] for j in range(X.shape[1])])
    out = tidy(results, conf_level)[["term", "estimate", "conf_low", "conf_high", "odds_ratio", "or_conf_low",
                                     "or_conf_high"]]
    out["profile_conf_low"], out["profile_conf_high"] = limits[:, 0], limits[:, 1]
    out["or_profile_low"], out["or_profile_high"] = np.exp(limits[:, 0]), np.exp(limits[:, 1])
    return out[PROFILE_COLUMNS]
