"""Multiple imputation by chained equations as R's mice 3.15, Rubin's rules for logit fits, and backward
selection under imputation by Rubin's-rules Wald tests.

    impute(data, response, *, m=20, maxit=10, seed=1, method=None, donors=5, columns=None) -> Imputation
        Imputation.complete(i), .datasets(), .fit(terms, trials=None)
    pool(fits, *, conf_level=0.95, dfcom=None) -> DataFrame
        (term, estimate, std_error, statistic, df, p_value, conf_low, conf_high, fmi, riv)
    pool_details(fits, *, dfcom=None) -> DataFrame          (mice's pool()$pooled)
    pooled_wald(fits, term, *, dfcom=None) -> dict          (mice's D1: statistic, df1, df2, p_value, riv)
    select_imputed(datasets, response, terms, settings, *, trials=None) -> (terms, path)

What statsmodels' ``MICEData`` (statsmodels.imputation.mice) provides and what is written here. Each of
the m chains is a ``MICEData`` subclass (``_Chain``): MICEData keeps the working copy of the data and the
rows where each variable is observed or missing, holds each variable's conditional model as a formula
(``set_imputer``), stores the imputed values (``_store_changes``) and runs the cycles (``update_all``, with
its history callback for the chain means). Its ``get_split_data`` (the design at the chain's current state)
is rebuilt with numpy: patsy reads ``C()`` of the categoricals' codes cell by cell in Python, 0.1 s per
update (the same matrix; tested). It lacks what makes the result mice's, so these parts are hand-written:

- categorical variables: MICEData imputes numeric columns only (its initial fill is the value nearest the
  mean, its only method is predictive mean matching) and has no logistic or multinomial draws; here
  categoricals are coded as level indexes, enter other variables' models as dummies (``C(code)``), and
  are imputed by mice's ``logreg`` (2 levels) and ``polyreg`` (more);
- the start: MICEData fills with the observed value nearest the mean; mice draws each missing value at
  random from the observed values (``mice.impute.sample``), as here;
- the visit order: MICEData visits the variables with the fewest missing values first; mice (and here)
  visits them in the order of the columns ("roman");
- the parameter draw of pmm: MICEData perturbs the parameters with the normal approximation of the
  estimates (sigma fixed at its estimate) and matches predictions of the perturbed model on both sides
  (type 2) among 2 x k_pmm neighbours in rank; mice draws sigma^2 from its posterior (residual sum of
  squares / chi-square(n - p)) and then beta (``.norm.draw``), predicts the donors with the least-squares
  estimate and the recipients with the draw (type-1 matching), and picks one of the 5 nearest donors,
  ties broken by a random shuffle (mice's C++ ``matchindex``);
- mice's augmentation against separation in logreg and polyreg (White, Daniel & Royston 2010:
  ``augment``), its removal of constant and collinear predictors before each draw (``remove.lindep``),
  and the weighted multinomial fit of polyreg (statsmodels' MNLogit takes no weights; polyreg in mice
  is ``nnet::multinom`` on the augmented, weighted rows, without a parameter draw, as here).
The least-squares fit of pmm is statsmodels' OLS (QR, = R's lm.fit), the logistic fit of logreg
statsmodels' GLM (binomial, IRLS, prior weights, = R's glm.fit), the analysis models ``fit_logit``.
Rubin's rules, Barnard-Rubin df and D1 are written out (statsmodels' ``MICE.combine`` pools estimates and
covariances but gives no df, fmi or riv, and has no D1).

Randomness: chain i draws from ``numpy.random.default_rng(SeedSequence(seed).spawn(m)[i])``, so a run
depends only on the data, the settings and the seed (bit for bit; BLAS limited to one thread by
``analysis.threads``). The draws are not R's, so a run equals mice's in distribution, not value by value
(tested within Monte-Carlo error; each step is tested value by value when fed R's random numbers).

Size: meant for the rows of one analysis, up to about 10^5 rows and a few dozen variables. Time grows as
m x maxit x (variables with missing values) x rows (each update rebuilds its design); memory holds the
data, one working copy of the imputation variables (float64) and one design at a time (the chains run one
after the other), and the imputed values (m per missing cell). No frequency weights: mice defines no
weighted pmm or donor choice; a pattern table must be expanded to rows first.

The rules (mice's algorithms step by step, Rubin's rules, D1, the selection rule) and what each was tested
against (tests/model/test_imputation.py, R 4.2.2 / mice 3.15.0 / mitml 0.4-4 references in
tests/reference/r/mice_titanic.json, made by tests/reference/r/mice_titanic.R) are in docs/methods.md,
"Multiple imputation".
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np
import pandas as pd
import scipy.linalg as sla
import statsmodels.api as sm
from scipy import stats
from scipy.special import expit, logsumexp
from statsmodels.imputation.mice import MICEData

from analysis.model.fit import Fit, fit_logit, response_counts
from analysis.model.formula import term_slices
from analysis.model.terms import check_marginal, drop_scope, term_factors
from analysis.threads import one_blas_thread

__all__ = ["impute", "Imputation", "pool", "pool_details", "pooled_wald", "select_imputed", "METHODS",
           "POOL_COLUMNS", "PATH_COLUMNS"]

METHODS = ("pmm", "logreg", "polyreg", "sample")
POOL_COLUMNS = ["term", "estimate", "std_error", "statistic", "df", "p_value", "conf_low", "conf_high", "fmi", "riv"]
PATH_COLUMNS = ["step", "action", "term", "df", "df2", "criterion", "statistic", "p_value"]
RIDGE = 1e-5            # mice's ridge for a singular X'X (estimice)
LINDEP_EPS = 1e-4       # remove.lindep's eps
LINDEP_MAXCOR = 0.99    # remove.lindep's maxcor
LAMBDA_FLOOR = 1e-4     # barnard.rubin's floor on lambda


# ============================================================================ mice's steps, one at a time


def remove_lindep(x_obs: np.ndarray, y_obs: np.ndarray, eps: float = LINDEP_EPS,
                  maxcor: float = LINDEP_MAXCOR) -> np.ndarray:
    """mice 3.15's ``remove.lindep``: which predictor columns (no intercept) an imputation model keeps.

    Dropped: every column when the observed y is (nearly) constant (variance < eps); columns with variance
    <= eps or a correlation with y of ``maxcor`` or more (positive only, as mice); then, while the smallest
    eigenvalue of the predictors' correlation matrix is below eps times the largest, the column with the
    largest absolute loading on the smallest eigenvalue's vector (first such column on ties).

    Tested against mice:::remove.lindep on an exactly collinear column and a column correlated 0.9999 with
    y (tests/reference/r/mice_titanic.json, E_steps.remove_lindep: the same columns kept).

    >>> x = np.column_stack([[0., 1, 0, 1, 1], [1., 0, 0, 1, 0], [1., 1, 0, 2, 1]])   # col 3 = col 1 + col 2
    >>> remove_lindep(x, np.array([1., 2, 3, 4, 6])).tolist()
    [True, True, False]
    """
    k = x_obs.shape[1]
    if k == 0 or len(y_obs) == 0:
        return np.ones(k, dtype=bool)
    if np.var(y_obs, ddof=1) < eps:
        return np.zeros(k, dtype=bool)
    keep = np.var(x_obs, axis=0, ddof=1) > eps
    with np.errstate(invalid="ignore", divide="ignore"):
        yc = y_obs - y_obs.mean()
        xc = x_obs - x_obs.mean(axis=0)
        cor = (xc.T @ yc) / np.sqrt((xc * xc).sum(axis=0) * (yc @ yc))
    keep &= ~(cor >= maxcor)                  # R: NA < maxcor is NA, and FALSE & NA is FALSE: the same
    if keep.sum() <= 1:
        return keep
    cx = np.corrcoef(x_obs[:, keep], rowvar=False)
    while True:
        values, vectors = np.linalg.eigh(cx)  # ascending
        if values[0] / values[-1] >= eps:
            return keep
        j = int(np.argmax(np.abs(vectors[:, 0])))
        kept = np.flatnonzero(keep)
        keep[kept[j]] = False
        cx = np.delete(np.delete(cx, j, axis=0), j, axis=1)


def norm_draw(x: np.ndarray, y: np.ndarray, rng=None, *, chisq: float | None = None, z=None,
              ridge: float = RIDGE) -> tuple[np.ndarray, np.ndarray, float]:
    """mice's ``.norm.draw``: (least-squares estimate, a draw of beta, a draw of sigma) for the Bayesian
    linear regression of y on x (x with its intercept column), as ``estimice(ls.meth = "qr")``.

    sigma* = sqrt(RSS / chisq), chisq ~ chi-square(max(n - p, 1)); beta* = b + L z sigma*, z ~ N(0, I),
    L L' = (X'X)^-1 (lower Cholesky factor). The fit is statsmodels' OLS by QR (R's lm.fit); a singular X'X
    gets mice's ridge (diag(X'X) x 1e-5 added before inverting). ``chisq`` and ``z`` replace the draws from
    ``rng`` (drawn in that order, as R draws them), so the step can be fed R's random numbers.

    Tested fed R's draws against mice:::.norm.draw on the Titanic ages (E_steps.norm_draw): estimate, beta*
    and sigma* to 1e-10 relative (observed 7e-14).
    """
    n, p = x.shape
    xtx = x.T @ x
    try:
        res = sm.OLS(y, x).fit(method="qr")
        coef, v = np.asarray(res.params), np.asarray(res.normalized_cov_params)
        lower = np.linalg.cholesky((v + v.T) / 2)
    except np.linalg.LinAlgError:                       # singular X'X: mice's ridge
        coef = np.linalg.lstsq(x, y, rcond=None)[0]
        v = np.linalg.inv(xtx + np.diag(np.diag(xtx) * ridge))
        lower = np.linalg.cholesky((v + v.T) / 2)
    resid = y - x @ coef
    if chisq is None:
        chisq = rng.chisquare(max(n - p, 1))
    if z is None:
        z = rng.standard_normal(p)
    sigma = math.sqrt(float(resid @ resid) / chisq)
    beta = coef + lower @ np.asarray(z, dtype=float) * sigma
    return coef, beta, sigma


def match_index(d: np.ndarray, t: np.ndarray, k: int, rng=None, *, shuffle=None, h=None) -> np.ndarray:
    """mice's ``matchindex`` (C++, mice 3.15): for each target t_i the position in ``d`` of its h_i-th
    nearest donor, h_i drawn uniformly from 1..k.

    As mice: the donors are shuffled (so ties are broken at random), sorted by value, and walked outward
    from t_i's insertion point, the left neighbour taken only when strictly nearer. Equivalently, here, the
    2k candidates around the insertion point are ranked by (distance, right side first, closeness) and the
    h_i-th taken. ``shuffle`` (a permutation of the donors) and ``h`` replace the draws from ``rng``.

    >>> match_index(np.array([1., 5., 3.]), np.array([3.2, 4.9, 0.]), 1, np.random.default_rng(1)).tolist()
    [2, 1, 0]
    """
    d, t = np.asarray(d, dtype=float).ravel(), np.asarray(t, dtype=float).ravel()
    n1 = len(d)
    if shuffle is None:
        shuffle = rng.permutation(n1)
    k = max(1, min(int(k), n1))
    if h is None:
        h = rng.integers(1, k + 1, size=len(t))
    order = shuffle[np.argsort(d[shuffle], kind="stable")]
    ysort = d[order]
    r = np.searchsorted(ysort, t, side="left")
    steps = np.arange(k)
    pos = np.concatenate([r[:, None] + steps, r[:, None] - 1 - steps], axis=1)      # right, then left
    valid = (pos >= 0) & (pos < n1)
    safe = np.clip(pos, 0, n1 - 1)
    dist = np.where(np.arange(2 * k) < k, ysort[safe] - t[:, None], t[:, None] - ysort[safe])
    dist = np.where(valid, dist, np.inf)
    side = np.broadcast_to((np.arange(2 * k) >= k).astype(int), dist.shape)
    near = np.broadcast_to(np.concatenate([steps, steps]), dist.shape)
    rank = np.lexsort((near, side, dist), axis=-1)
    chosen = safe[np.arange(len(t)), rank[np.arange(len(t)), np.asarray(h) - 1]]
    return order[chosen]


def pmm_draw(y_obs, x_obs, x_mis, rng=None, donors: int = 5, *, chisq=None, z=None, shuffle=None, h=None):
    """mice's ``mice.impute.pmm`` (type-1 matching): donors' predictions from the least-squares estimate,
    recipients' from the draw beta* of :func:`norm_draw`; each recipient gets the observed value of one of
    its ``donors`` nearest donors (:func:`match_index`). x without intercept.

    Tested fed R's draws against mice.impute.pmm on the Titanic ages with a tie-free predictor
    (E_steps.pmm): with donors = 1 the same 263 values; with donors = 5 each of R's values is one of the 5
    candidates' values. Within Monte-Carlo error of mice on whole runs (tests/model/test_imputation.py).
    """
    x1o = np.column_stack([np.ones(len(y_obs)), x_obs])
    x1m = np.column_stack([np.ones(len(x_mis)), x_mis])
    coef, beta, _ = norm_draw(x1o, np.asarray(y_obs, dtype=float), rng, chisq=chisq, z=z)
    idx = match_index(x1o @ coef, x1m @ beta, donors, rng, shuffle=shuffle, h=h)
    return np.asarray(y_obs)[idx]


def augment(codes_obs, x_obs, x_mis) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """mice's ``augment`` (White, Daniel & Royston 2010): the rows added to a logreg / polyreg fit against
    separation: (x rows, their categories, their weights).

    For each of the p predictors and each of the k observed categories two rows, the predictor at its mean
    +/- half its standard deviation (over all rows, observed and missing; clipped to its range), the others
    at their means, each with weight (p + 1) / (2 p k). None when there are no predictors or exactly one
    missing value (mice skips it then).

    Tested against mice:::augment (E_steps.augment: the same 16 rows, categories and weights to 1e-12;
    observed 5e-15).
    """
    x_all = np.vstack([x_obs, x_mis])
    p = x_all.shape[1]
    if p == 0 or len(x_mis) == 1:
        return None
    icod = np.unique(codes_obs)
    k = len(icod)
    nr = 2 * p * k
    mean, sd = x_all.mean(axis=0), x_all.std(axis=0, ddof=1)
    rows = np.tile(mean, (nr, 1))
    for j in range(p):
        block = slice(2 * k * j, 2 * k * (j + 1))
        rows[block, j] = mean[j] + np.tile([0.5, -0.5], k) * sd[j]
    rows = np.minimum(np.maximum(rows, x_all.min(axis=0)), x_all.max(axis=0))
    return rows, np.tile(np.repeat(icod, 2), p), np.full(nr, (p + 1) / nr)


def _augmented(codes_obs, x_obs, x_mis):
    """The observed rows with mice's augmentation appended: (x with intercept, codes, weights)."""
    aug = augment(codes_obs, x_obs, x_mis)
    x, y, w = x_obs, np.asarray(codes_obs), np.ones(len(codes_obs))
    if aug is not None:
        x, y, w = np.vstack([x, aug[0]]), np.concatenate([y, aug[1]]), np.concatenate([w, aug[2]])
    return np.column_stack([np.ones(len(y)), x]), y, w


def logreg_fit(codes_obs, x_obs, x_mis) -> tuple[np.ndarray, np.ndarray]:
    """(estimates, unscaled covariance) of logreg's model: statsmodels GLM (binomial, IRLS, prior weights;
    R's glm.fit with quasibinomial) of code 1 on the observed rows plus :func:`augment`'s, x with intercept.

    Tested against mice.impute.logreg's internals (E_steps.logreg): estimates to 1e-6 relative (observed
    9e-15), covariance to 1e-6 (observed 7e-8: R's is computed with the weights of the iterate before the
    last).
    """
    x, y, w = _augmented(codes_obs, x_obs, x_mis)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sm.GLM((y == 1).astype(float), x, family=sm.families.Binomial(), var_weights=w).fit(tol=1e-10)
    return np.asarray(res.params), np.asarray(res.cov_params())


def logreg_draw(codes_obs, x_obs, x_mis, rng=None, *, z=None, u=None) -> np.ndarray:
    """mice's ``mice.impute.logreg``: 0/1 codes of a two-level variable for the missing rows.

    :func:`logreg_fit` gives b and its covariance V; beta* = b + L z with L L' = V, z ~ N(0, I); p =
    expit(x beta*); the value is 1 where u <= p, u ~ U(0, 1). ``z`` and ``u`` replace the draws from
    ``rng`` (drawn in that order, as R does). (mice's augment() rebuilds the factor with its levels in
    alphabetical order, so mice models the alphabetically second level; which level is coded 1 changes
    the draws, not their distribution.)

    Tested fed R's draws against mice.impute.logreg (E_steps.logreg: beta* and p to 1e-6 relative,
    observed 1e-9; the same 115 imputed values, every u at least 1e-3 from its p).
    """
    beta, cov = logreg_fit(codes_obs, x_obs, x_mis)
    if z is None:
        z = rng.standard_normal(len(beta))
    beta = beta + np.linalg.cholesky((cov + cov.T) / 2) @ np.asarray(z, dtype=float)
    prob = expit(np.column_stack([np.ones(len(x_mis)), x_mis]) @ beta)
    if u is None:
        u = rng.random(len(x_mis))
    return (np.asarray(u) <= prob).astype(int)


def multinomial_fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, classes: np.ndarray,
                    maxiter: int = 100, tol: float = 1e-10) -> np.ndarray:
    """Weighted multinomial logit by Newton-Raphson with step halving: coefficients (columns of x) x
    (classes[1:], against classes[0]). Hand-written: statsmodels' MNLogit takes no weights, and polyreg
    fits the augmented rows with weights (R: nnet::multinom(weights = w)).

    Tested against nnet::multinom on augmented rows (E_steps.polyreg: fitted probabilities to 1e-4,
    observed 5e-5, as nnet's BFGS stops at its reltol 1e-8; the log-likelihood here, -86.747190, is at
    least nnet's, -86.747191).
    """
    n, p = x.shape
    km = len(classes) - 1
    onehot = (y[:, None] == classes[None, 1:]).astype(float)

    def loglik(b):
        eta = np.column_stack([np.zeros(n), x @ b.reshape(km, p).T])
        return float(w @ (np.concatenate([np.zeros((n, 1)), onehot], axis=1) * eta).sum(axis=1)
                     - w @ logsumexp(eta, axis=1))

    b = np.zeros(km * p)
    ll = loglik(b)
    for _ in range(maxiter):
        eta = np.column_stack([np.zeros(n), x @ b.reshape(km, p).T])
        prob = np.exp(eta - logsumexp(eta, axis=1)[:, None])[:, 1:]
        grad = (x.T @ (w[:, None] * (onehot - prob))).T.ravel()
        info = np.empty((km * p, km * p))
        for a in range(km):
            for c in range(km):
                wt = w * prob[:, a] * ((a == c) - prob[:, c])
                info[a * p:(a + 1) * p, c * p:(c + 1) * p] = (x * wt[:, None]).T @ x
        step = sla.solve(info, grad, assume_a="pos")
        for _ in range(60):
            ll_new = loglik(b + step)
            if ll_new >= ll - 1e-12 * abs(ll):
                break
            step = step / 2
        b, ll = b + step, ll_new
        if np.max(np.abs(step)) <= tol * max(1.0, float(np.max(np.abs(b)))):
            break
    return b.reshape(km, p).T


def polyreg_draw(codes_obs, x_obs, x_mis, rng=None, *, u=None) -> np.ndarray:
    """mice's ``mice.impute.polyreg``: codes of a categorical variable for the missing rows, drawn from the
    fitted probabilities of the weighted multinomial logit on the observed rows plus :func:`augment`'s
    (:func:`multinomial_fit`). As mice: u ~ U(0, 1) is drawn first, the category is the first whose
    cumulative probability reaches u, and there is no parameter draw (mice 3.15 draws none for polyreg).

    Tested fed R's draws against mice.impute.polyreg (E_steps.polyreg: the same 166 imputed categories,
    every u at least 0.01 from a cumulative probability).
    """
    if u is None:
        u = rng.random(len(x_mis))
    x, y, w = _augmented(codes_obs, x_obs, x_mis)
    classes = np.unique(y)
    if len(classes) == 1:
        return np.full(len(x_mis), classes[0])
    coef = multinomial_fit(x, y, w, classes)
    eta = np.column_stack([np.zeros(len(x_mis)), np.column_stack([np.ones(len(x_mis)), x_mis]) @ coef])
    post = np.exp(eta - logsumexp(eta, axis=1)[:, None])
    return classes[(np.asarray(u)[:, None] > np.cumsum(post, axis=1)).sum(axis=1)]


def sample_draw(y_obs, n_mis: int, rng) -> np.ndarray:
    """mice's ``mice.impute.sample``: each missing value a random draw (with replacement) from the
    observed values; mice's start for every imputed variable."""
    y_obs = np.asarray(y_obs)
    return y_obs[rng.integers(0, len(y_obs), size=n_mis)]


# ============================================================================ the chains


@dataclass(frozen=True)
class _Variable:
    name: object             # the column in the data
    code: str                # its name in the chains' formulas: v0, v1, ...
    levels: tuple | None     # categorical: its observed levels (code i = levels[i]); numeric: None
    method: str              # "" (not imputed) or one of METHODS
    predictors: tuple = ()   # codes of the variables in its imputation model

    @property
    def categorical(self) -> bool:
        return self.levels is not None


class _Chain(MICEData):
    """One chain of mice's algorithm on statsmodels' MICEData (see the module docstring for which parts are
    MICEData's and which are mice's, written here)."""

    def __init__(self, coded: pd.DataFrame, variables: list[_Variable], donors: int, rng, chain: int):
        self._vars = {v.code: v for v in variables}
        self._donors, self._chain, self._iteration = donors, chain, 0
        self.events: list[dict] = []
        self.trace: list[dict] = []
        super().__init__(coded, rng=rng, history_callback=_Chain._record)
        self._cycle_order = [v.code for v in variables if v.method]
        for code in self._cycle_order:
            terms = [f"C({p})" if self._vars[p].categorical else p for p in self._vars[code].predictors]
            self.set_imputer(code, formula=" + ".join(terms) or "1")

    def _initial_imputation(self):
        """mice's start: every missing value drawn from the variable's observed values, in visit order."""
        for v in self._vars.values():
            if v.method and len(self.ix_miss[v.code]):
                observed = self.data[v.code].to_numpy()[self.ix_obs[v.code]]
                self._store_changes(v.code, sample_draw(observed, len(self.ix_miss[v.code]), self.rng))

    def get_split_data(self, vname):
        """MICEData's ``get_split_data`` (y observed; the design of the rows where y is observed and where it
        is missing) built with numpy instead of patsy: an intercept, then each predictor in the order of
        the columns, a categorical as treatment dummies of its levels 1.. (level 0 the baseline), as the
        formula ``C(code)`` gives. patsy's reading of ``C()`` over float codes checks every cell in Python
        (0.1 s per update, 15 s for one Titanic run); the matrix is the same (tested against MICEData's
        own ``get_split_data``, columns matched by name)."""
        columns = [np.ones(len(self.data))]
        for p in self._vars[vname].predictors:
            x = self.data[p].to_numpy()
            levels = self._vars[p].levels
            columns += [(x == j).astype(float) for j in range(1, len(levels))] if levels is not None else [x]
        design = np.column_stack(columns)
        y = self.data[vname].to_numpy()
        obs, mis = self.ix_obs[vname], self.ix_miss[vname]
        return y[obs][:, None], design[obs], design[mis], {}, {}

    def design_names(self, vname, readable: bool = False) -> list[str]:
        """The names patsy gives the columns of :meth:`get_split_data`'s design (``C(v1)[T.1.0]``), or with
        ``readable`` the data's (``column[level]``)."""
        names = ["Intercept"]
        for p in self._vars[vname].predictors:
            var = self._vars[p]
            if var.levels is None:
                names.append(str(var.name) if readable else p)
            else:
                names += [f"{var.name}[{var.levels[j]}]" if readable else f"C({p})[T.{float(j)}]"
                          for j in range(1, len(var.levels))]
        return names

    def update(self, vname):
        """One draw of ``vname``'s missing values from its imputation model given the current state."""
        var = self._vars[vname]
        y_obs, x_obs, x_mis, _, _ = self.get_split_data(vname)
        y_obs = np.asarray(y_obs, dtype=float).ravel()
        x_obs, x_mis = x_obs[:, 1:], x_mis[:, 1:]        # the intercept: each method adds its own
        keep = remove_lindep(x_obs, y_obs)
        if not keep.all():
            names = np.array(self.design_names(vname, readable=True)[1:])
            self._log(vname, "predictors left out (constant or collinear): " + ", ".join(names[~keep]))
        x_obs, x_mis = x_obs[:, keep], x_mis[:, keep]
        rng = self.rng
        if var.method == "pmm":
            values = pmm_draw(y_obs, x_obs, x_mis, rng, self._donors)
        elif var.method == "logreg":
            values = logreg_draw(y_obs.astype(int), x_obs, x_mis, rng)
        elif var.method == "polyreg":
            values = polyreg_draw(y_obs.astype(int), x_obs, x_mis, rng)
        else:
            values = sample_draw(y_obs, len(x_mis), rng)
        self._store_changes(vname, np.asarray(values, dtype=float))

    def _log(self, code, event):
        self.events.append({"imputation": self._chain, "iteration": self._iteration + 1,
                            "variable": self._vars[code].name, "method": self._vars[code].method, "event": event})

    def _record(self):
        """History callback of ``update_all``: mean and variance of each variable's imputed values (level
        indexes for categoricals) after the iteration, as mice's chainMean / chainVar."""
        self._iteration += 1
        for code in self._cycle_order:
            values = self.data[code].to_numpy()[self.ix_miss[code]]
            self.trace.append({"variable": self._vars[code].name, "imputation": self._chain,
                               "iteration": self._iteration, "mean": float(values.mean()),
                               "var": float(values.var(ddof=1)) if len(values) > 1 else math.nan})

    def imputed(self, code) -> np.ndarray:
        return self.data[code].to_numpy()[self.ix_miss[code]]


# ============================================================================ impute


@dataclass(frozen=True, eq=False)
class Imputation:
    """The result of :func:`impute`: the rows as given and m imputed values for each missing cell.

    ``imputed[column]`` is a DataFrame with one row per row where ``column`` is missing (index: the data's
    index labels) and one column per imputation 0..m-1 (values as in the data: numbers, or the levels of a
    categorical). ``complete(i)`` is completed data set i (a new DataFrame, i = 0..m-1; mice's complete(imp,
    i + 1)); ``datasets()`` yields them one at a time. ``method`` is each column's method ("" = not
    imputed), ``visit_sequence`` the imputed columns in visit order, ``predictors`` each imputed column's
    predictors, ``chains`` the mean and variance of the imputed values after each iteration (level indexes
    for categoricals; mice's chainMean / chainVar), ``logged_events`` what was removed from an imputation
    model and when (mice's loggedEvents).
    """

    data: pd.DataFrame
    response: str
    m: int
    maxit: int
    seed: int
    donors: int
    method: dict
    visit_sequence: tuple
    predictors: dict
    imputed: dict
    chains: pd.DataFrame
    logged_events: pd.DataFrame
    _positions: dict = field(repr=False, default_factory=dict)

    def complete(self, i: int) -> pd.DataFrame:
        if not 0 <= i < self.m:
            raise IndexError(f"imputation {i} does not exist (0..{self.m - 1})")
        out = self.data.copy()
        for column, table in self.imputed.items():
            j = out.columns.get_loc(column)
            out.iloc[self._positions[column], j] = table[i].to_numpy()
        return out

    def datasets(self) -> Iterator[pd.DataFrame]:
        for i in range(self.m):
            yield self.complete(i)

    def fit(self, terms, trials: str | None = None, response: str | None = None) -> list:
        """``fit_logit(complete(i), response, terms, trials)`` for each i (statsmodels results, for
        :func:`pool`)."""
        return [fit_logit(d, response or self.response, list(terms), trials) for d in self.datasets()]


def _variables(data: pd.DataFrame, response: str, columns, method: dict) -> list[_Variable]:
    """The imputation variables: coding, method (mice's defaults: pmm for numbers, logreg for two levels,
    polyreg for more) and predictors (every other variable that is not constant), checked."""
    if response not in columns:
        raise ValueError(f"the response {response!r} must be one of the imputation columns")
    unknown = set(method) - set(columns)
    if unknown:
        raise ValueError(f"method given for columns not imputed from: {sorted(map(str, unknown))}")
    variables, constant = [], set()
    for i, name in enumerate(columns):
        x = data[name]
        missing = int(x.isna().sum())
        observed = x.dropna()
        numeric = (pd.api.types.is_numeric_dtype(x.dtype) or pd.api.types.is_bool_dtype(x.dtype)) \
            and not isinstance(x.dtype, pd.CategoricalDtype)
        if isinstance(x.dtype, pd.CategoricalDtype):
            levels = tuple(c for c in x.cat.categories if (observed == c).any())
        else:
            levels = None if numeric else tuple(sorted(observed.unique()))
        if name == response and missing:
            raise ValueError(f"the response {response!r} is missing in {missing:,} rows: leave those rows out "
                             "(and count them) before imputing; the response is never imputed")
        if missing and len(observed) == 0:
            raise ValueError(f"column {name!r} is missing in every row: nothing to impute it from")
        if observed.nunique() < 2:
            if missing:
                raise ValueError(f"column {name!r} has a single observed value: fill it or leave it out")
            constant.add(name)
        default = "" if not missing or name == response else (
            "pmm" if levels is None else "logreg" if len(levels) == 2 else "polyreg")
        how = method.get(name, default)
        if name == response and how:
            raise ValueError(f"the response {response!r} is never imputed (method must be '')")
        if missing and how not in METHODS:
            raise ValueError(f"column {name!r} has {missing:,} missing values: its method must be one of {METHODS}")
        if how == "pmm" and levels is not None:
            raise ValueError(f"column {name!r} is categorical: use logreg or polyreg, not pmm")
        if how in ("logreg", "polyreg") and levels is None and not set(observed.unique()) <= {0, 1}:
            raise ValueError(f"column {name!r} is numeric: {how} needs a categorical (or 0/1) column")
        if how == "logreg" and levels is not None and len(levels) != 2:
            raise ValueError(f"column {name!r} has {len(levels)} levels: logreg needs 2 (use polyreg)")
        variables.append(_Variable(name, f"v{i}", levels, how if missing else ""))
    codes = {v.name: v.code for v in variables}
    return [_Variable(v.name, v.code, v.levels, v.method,
                      tuple(codes[u.name] for u in variables if u.name != v.name and u.name not in constant))
            for v in variables]


def _coded(data: pd.DataFrame, variables: list[_Variable]) -> pd.DataFrame:
    """The imputation variables as float columns v0, v1, ...: numbers, or level indexes; NaN missing."""
    out = {}
    for v in variables:
        x = data[v.name]
        if v.categorical:
            codes = pd.Categorical(x, categories=list(v.levels)).codes.astype(float)
            codes[codes < 0] = np.nan
            out[v.code] = codes
        else:
            out[v.code] = pd.to_numeric(x, errors="raise").astype(float).to_numpy()
    return pd.DataFrame(out)


@one_blas_thread
def impute(data: pd.DataFrame, response: str, *, m: int = 20, maxit: int = 10, seed: int = 1,
           method: dict | None = None, donors: int = 5, columns=None) -> Imputation:
    """Multiple imputation by chained equations as R's ``mice(data, m, maxit, seed)`` with mice 3.15's
    defaults: predictive mean matching (pmm, 5 donors) for numeric columns, logistic regression (logreg)
    for two-level categoricals, multinomial (polyreg) for more; every other column predicts each one;
    the start draws from the observed values; the columns are visited in order, maxit times, in each of
    m independent chains. The response is a predictor in every model and is never imputed (rows missing it
    must be left out, and counted, by the caller: ValueError otherwise).

    data: one row per observation, missing values as NaN / None. columns: the columns used (default: all);
    other columns are carried along unchanged. method: {column: "pmm" | "logreg" | "polyreg" | "sample"}
    to override the default of a column with missing values. Categorical columns are text, bool-free
    objects or pandas Categoricals (their order of categories kept); numeric columns are numbers or bools.

    Tested (tests/model/test_imputation.py) against mice 3.15: each step fed R's random numbers (values
    equal; see each step's docstring), and whole runs on the Titanic data (m = 20, maxit = 10; pmm for age;
    and pmm, logreg and polyreg with sex and class made missing at random) within the Monte-Carlo spread
    of 100 (40) mice runs with other seeds: pooled estimates, standard errors and fmi at |z| < 4.

    >>> rows = pd.DataFrame({"y": [0, 1, 0, 1, 1, 0, 1, 0], "x": [1.0, 2.0, None, 4.0, 5.0, 1.5, None, 3.0],
    ...                      "g": ["a", "b", "a", None, "b", "a", "b", "a"]})
    >>> imp = impute(rows, "y", m=3, maxit=2, seed=7)
    >>> imp.method, imp.imputed["x"].shape, int(imp.complete(0).isna().sum().sum())
    ({'y': '', 'x': 'pmm', 'g': 'logreg'}, (2, 3), 0)
    """
    columns = list(data.columns if columns is None else columns)
    method = dict(method or {})
    if m < 1 or maxit < 0 or donors < 1:
        raise ValueError("need m >= 1, maxit >= 0 and donors >= 1")
    variables = _variables(data, response, columns, method)
    coded = _coded(data, variables)
    streams = np.random.SeedSequence(seed).spawn(m)
    imputed = {v.code: [] for v in variables if v.method}
    events, trace = [], []
    for i in range(m):
        chain = _Chain(coded, variables, donors, np.random.default_rng(streams[i]), i)
        for _ in range(maxit):
            chain.update_all(1)
        for code in imputed:
            imputed[code].append(chain.imputed(code))
        events += chain.events
        trace += chain.trace
        del chain
    return _imputation(data, response, variables, coded, imputed, events, trace,
                       dict(m=m, maxit=maxit, seed=seed, donors=donors))


def _imputation(data, response, variables, coded, imputed, events, trace, settings) -> Imputation:
    """The Imputation of the chains' draws: codes decoded to the data's values."""
    by_code = {v.code: v for v in variables}
    tables, positions = {}, {}
    for code, draws in imputed.items():
        v = by_code[code]
        rows = np.flatnonzero(coded[code].isna().to_numpy())
        values = np.column_stack(draws)
        if v.categorical:
            values = np.asarray(v.levels, dtype=object)[values.astype(int)]
        tables[v.name] = pd.DataFrame(values, index=data.index[rows], columns=range(settings["m"]))
        positions[v.name] = rows
    names = {v.code: v.name for v in variables}
    return Imputation(
        data=data, response=response, **settings, method={v.name: v.method for v in variables},
        visit_sequence=tuple(v.name for v in variables if v.method),
        predictors={v.name: tuple(names[p] for p in v.predictors) for v in variables if v.method},
        imputed=tables, _positions=positions,
        chains=pd.DataFrame(trace, columns=["variable", "imputation", "iteration", "mean", "var"]),
        logged_events=pd.DataFrame(events, columns=["imputation", "iteration", "variable", "method", "event"]))


# ============================================================================ Rubin's rules


@dataclass(frozen=True)
class _Estimates:
    """What pooling needs from one fit: coefficient names, estimates, covariance, rows, term columns."""

    names: tuple
    params: np.ndarray
    cov: np.ndarray
    n_obs: float
    slices: dict | None


def _estimates(fit) -> _Estimates:
    """The estimates of a ``fit_logit`` result (Logit on rows or binomial GLM on patterns), a
    :class:`~analysis.model.fit.Fit` or a Firth fit. n_obs counts rows (the sum of trials on patterns)."""
    if isinstance(fit, _Estimates):
        return fit
    n_obs = None
    if isinstance(fit, Fit):
        n_obs, fit = float(fit.n_obs), fit.results
    if n_obs is None:
        n_obs = float(response_counts(fit)[1].sum()) if hasattr(fit, "model") else float(fit.nobs)
    try:
        slices = term_slices(fit)
    except ValueError:
        slices = None
    params = pd.Series(fit.params)
    return _Estimates(tuple(map(str, params.index)), params.to_numpy(dtype=float),
                      np.asarray(fit.cov_params(), dtype=float), n_obs, slices)


def _stack(fits) -> list[_Estimates]:
    ests = [_estimates(f) for f in fits]
    if len(ests) < 2:
        raise ValueError("pooling needs at least 2 fits (m >= 2)")
    for i, e in enumerate(ests[1:], start=1):
        if e.names != ests[0].names:
            raise ValueError(f"fit {i} has coefficients {list(e.names)}, fit 0 {list(ests[0].names)}: every "
                             "completed data set must give the same design (a level absent from one of them?)")
    return ests


def _dfcom(ests, dfcom) -> float:
    """mice's complete-data df: the df.residual of the first fit, rows - coefficients."""
    return float(ests[0].n_obs - len(ests[0].names)) if dfcom is None else float(dfcom)


def barnard_rubin(m: int, b, t, dfcom: float):
    """mice 3.15's ``barnard.rubin``: Barnard & Rubin's (1999) df, lambda floored at 1e-4 as mice does."""
    lam = np.maximum((1 + 1 / m) * np.asarray(b) / np.asarray(t), LAMBDA_FLOOR)
    dfold = (m - 1) / lam**2
    if math.isinf(dfcom):
        return dfold
    dfobs = (dfcom + 1) / (dfcom + 3) * dfcom * (1 - lam)
    return dfold * dfobs / (dfold + dfobs)


def pool_details(fits, *, dfcom: float | None = None) -> pd.DataFrame:
    """Rubin's rules as mice 3.15's ``pool()$pooled``: per coefficient m, estimate (mean), ubar (mean
    variance), b (between-imputation variance, n - 1 denominator), t = ubar + (1 + 1/m) b, dfcom, df
    (Barnard-Rubin), riv = (1 + 1/m) b / ubar, lambda = (1 + 1/m) b / t, fmi = (riv + 2/(df + 3)) / (1 + riv).

    dfcom defaults to the first fit's rows minus its coefficients (mice: df.residual of the glm; on
    patterns the rows are the sum of trials). Tested against mice::pool on the Titanic imputations
    (A_pool: every column to 1e-6 relative, observed 8e-9 -- R's variances are those of the glm's
    iterate before the last; on the rows and on covariate patterns, 4e-14 apart).
    """
    ests = _stack(fits)
    m = len(ests)
    q = np.array([e.params for e in ests])
    u = np.array([np.diag(e.cov) for e in ests])
    qbar, ubar, b = q.mean(axis=0), u.mean(axis=0), q.var(axis=0, ddof=1)
    t = ubar + (1 + 1 / m) * b
    com = _dfcom(ests, dfcom)
    df = barnard_rubin(m, b, t, com)
    riv = (1 + 1 / m) * b / ubar
    return pd.DataFrame({"term": list(ests[0].names), "m": m, "estimate": qbar, "ubar": ubar, "b": b, "t": t,
                         "dfcom": com, "df": df, "riv": riv, "lambda": (1 + 1 / m) * b / t,
                         "fmi": (riv + 2 / (df + 3)) / (riv + 1)})


def pool(fits, *, conf_level: float = 0.95, dfcom: float | None = None) -> pd.DataFrame:
    """Rubin's rules over fits of the same model on the m completed data sets, as mice's
    ``summary(pool(fits), conf.int = TRUE)``: term, estimate, std_error = sqrt(t), statistic = estimate /
    std_error, df (Barnard-Rubin), p_value = 2 P(T_df > |statistic|) (df at least 0.001, as mice),
    conf_low / conf_high = estimate -/+ t_df quantile x std_error, fmi, riv (:func:`pool_details`).

    fits: statsmodels results of ``fit_logit`` (Logit on rows, or binomial GLM on patterns), ``Fit``
    objects, or Firth fits (the same code reads their params, cov_params and rows; not compared with R);
    all with the same coefficients. Tested against mice 3.15 on the Titanic
    imputations exported from R (A_pool, main and interaction models: estimate, std_error, statistic, df,
    confidence limits, fmi and riv to 1e-6 relative, observed 8e-9; p_value to 1e-6 on the log scale,
    observed 5e-9; rows, patterns and Fit objects alike).

    >>> x = np.arange(40) % 4
    >>> sets = [pd.DataFrame({"y": (x + k) % 3 == 0, "x": x}).astype(int) for k in range(3)]
    >>> table = pool([fit_logit(d, "y", ["x"]) for d in sets])
    >>> list(table.columns) == POOL_COLUMNS, table["term"].tolist()
    (True, ['Intercept', 'x'])
    """
    details = pool_details(fits, dfcom=dfcom)
    se = np.sqrt(details["t"].to_numpy())
    est, df = details["estimate"].to_numpy(), details["df"].to_numpy()
    statistic = est / se
    q = stats.t.ppf(0.5 + conf_level / 2, df)
    return pd.DataFrame({"term": details["term"], "estimate": est, "std_error": se, "statistic": statistic,
                         "df": df, "p_value": 2 * stats.t.sf(np.abs(statistic), np.maximum(df, 0.001)),
                         "conf_low": est - q * se, "conf_high": est + q * se,
                         "fmi": details["fmi"], "riv": details["riv"]})[POOL_COLUMNS]


def _term_columns(est: _Estimates, term: str) -> np.ndarray:
    if est.slices is None:
        raise ValueError("the fits carry no term information (not fitted from a formula)")
    if term not in est.slices:
        raise ValueError(f"term {term!r} is not in the model (terms: {list(est.slices)})")
    return np.arange(len(est.names))[est.slices[term]]


def pooled_wald(fits, term: str, *, dfcom: float | None = None) -> dict:
    """Multiparameter pooled Wald test that the coefficients of ``term`` are 0: D1 of Li, Raghunathan &
    Rubin (1991) with Reiter's (2007) denominator df, as mice 3.15's ``D1(fit1, fit0)`` (via
    ``mitml::testModels(method = "D1", df.com = dfcom)``).

    With Q_i, U_i the term's k estimates and covariance in fit i, Qbar and Ubar their means and B the
    between-imputation covariance: r = (1 + 1/m) tr(B Ubar^-1) / k, D1 = Qbar' ((1 + r) Ubar)^-1 Qbar / k,
    df1 = k, df2 = Reiter's v (t = k (m - 1) > 4 needed); p = P(F(df1, df2) > D1). Returns statistic (D1),
    df1, df2, p_value, riv (r) and chi2 = k D1 (the pooled Wald chi-square). dfcom as :func:`pool_details`.

    Tested against mice::D1 on the Titanic imputations (B_D1: each term of the main model and each
    interaction of the full model; D1, df2 and riv to 1e-6 relative, observed 7e-9; p to 1e-6 on the log
    scale, observed 5e-9).
    """
    ests = _stack(fits)
    m = len(ests)
    cols = _term_columns(ests[0], term)
    k = len(cols)
    q = np.array([e.params[cols] for e in ests])
    ubar = np.mean([e.cov[np.ix_(cols, cols)] for e in ests], axis=0)
    qbar = q.mean(axis=0)
    b = np.atleast_2d(np.cov(q, rowvar=False, ddof=1))
    r = (1 + 1 / m) * float(np.trace(b @ np.linalg.inv(ubar))) / k
    d1 = float(qbar @ np.linalg.solve((1 + r) * ubar, qbar)) / k
    t = k * (m - 1)
    com = _dfcom(ests, dfcom)
    if math.isinf(com):
        v = 4 + (t - 4) * (1 + (1 - 2 / t) / r) ** 2 if t > 4 else t * (1 + 1 / k) * (1 + 1 / r) ** 2 / 2
    else:
        if t <= 4:
            raise ValueError(f"D1 with Reiter's df needs k (m - 1) > 4 (here {t}): use more imputations")
        a = r * t / (t - 2)
        vstar = (com + 1) / (com + 3) * com
        c0, c1, c2 = 1 / (t - 4), vstar - 2 * (1 + a), vstar - 4 * (1 + a)
        z = (1 / c2 + c0 * (a**2 * c1 / ((1 + a) ** 2 * c2)) + c0 * (8 * a**2 * c1 / ((1 + a) * c2**2)
             + 4 * a**2 / ((1 + a) * c2)) + c0 * (4 * a**2 / (c2 * c1) + 16 * a**2 * c1 / c2**3)
             + c0 * (8 * a**2 / c2**2))
        v = 4 + 1 / z
    return {"statistic": d1, "df1": k, "df2": float(v), "p_value": float(stats.f.sf(d1, k, v)), "riv": r,
            "chi2": k * d1}


# ============================================================================ selection under imputation


def _datasets(datasets) -> Callable[[], Iterator[pd.DataFrame]]:
    if isinstance(datasets, Imputation):
        return datasets.datasets
    sets = list(datasets)
    return lambda: iter(sets)


def _choose(tests: dict, criterion: str, penalty: float, slstay: float):
    """(term, leaves?, criterion value) by the rule of :func:`select_imputed`; ties in model order."""
    terms = list(tests)
    if criterion == "pvalue":
        best = min(terms, key=lambda t: (-tests[t]["p_value"], tests[t]["statistic"], terms.index(t)))
        return best, tests[best]["p_value"] > slstay, math.nan
    crit = {t: tests[t]["chi2"] - penalty * tests[t]["df1"] for t in terms}
    best = min(terms, key=lambda t: (crit[t], terms.index(t)))
    return best, crit[best] < 0, crit[best]


@one_blas_thread
def select_imputed(datasets, response: str, terms, settings, *, trials: str | None = None,
                   dfcom: float | None = None) -> tuple[tuple, pd.DataFrame]:
    """Backward elimination under multiple imputation by Rubin's-rules Wald tests ("RR", Wood, White &
    Royston 2008, Statistics in Medicine 27:3227): the model is fitted on every completed data set, each
    removable term's pooled Wald test (:func:`pooled_wald`, D1) is computed, and one term leaves:

    - criterion "aic" ("bic"): the term with the smallest W - k df leaves while that is below 0, W = df1 x
      D1 the pooled Wald chi-square and k = 2 (log of the rows) the penalty per coefficient of R's step():
      the Wald analogue of the change in AIC (BIC) when the term is dropped;
    - criterion "pvalue": the term with the largest D1 p-value leaves while it exceeds ``settings.slstay``
      (ties: smaller D1), as SAS's backward Wald rule.
    Marginality as R's step() (``analysis.model.terms.drop_scope``: no main effect leaves while an
    interaction containing it stays); ``settings.force`` terms never leave. ``settings.direction`` must be
    "backward" or "none" (the full model): forward steps would need pooled score tests, which this rule
    does not define.

    datasets: the completed data sets (DataFrames of rows, or pattern tables with ``trials``) or an
    :class:`Imputation` (completed one at a time at each step, so memory holds one data set). Returns the
    selected terms (in the order of ``terms``) and the path: one row per step (PATH_COLUMNS: step, action
    "start" / "remove", term, df = df1, df2, criterion = W - k df1 (NaN for "pvalue"), statistic = W,
    p_value of D1).

    Tested against the same rule written in R on mice::D1 with R's drop.scope (C_backward: the same path,
    each step's D1 statistic and df to 1e-6 relative, p on the log scale; rules aic and pvalue at 0.05
    and 0.001; on rows and on patterns alike).
    """
    if settings.direction not in ("backward", "none"):
        raise ValueError(f"selection under imputation is backward elimination (direction 'backward' or 'none'), "
                         f"not {settings.direction!r}: forward steps would need pooled score tests")
    if settings.criterion not in ("aic", "bic", "pvalue"):
        raise ValueError(f"unknown criterion {settings.criterion!r}")
    terms, force = list(terms), list(settings.force)
    missing = [t for t in force if t not in terms]
    if missing:
        raise ValueError(f"forced terms {missing} are not among the terms")
    factors = {t: term_factors(t) for t in terms}
    check_marginal(force, factors, "forced model")
    source = _datasets(datasets)
    current, rows, step = list(terms), [(0, "start", "", pd.NA, math.nan, math.nan, math.nan, math.nan)], 0
    while settings.direction == "backward":
        candidates = drop_scope(current, force, factors)
        if not candidates:
            break
        ests = [_estimates(fit_logit(d, response, current, trials)) for d in source()]
        penalty = 2.0 if settings.criterion == "aic" else math.log(ests[0].n_obs)
        tests = {t: pooled_wald(ests, t, dfcom=dfcom) for t in candidates}
        term, leaves, crit = _choose(tests, settings.criterion, penalty, settings.slstay)
        if not leaves:
            break
        step += 1
        test = tests[term]
        rows.append((step, "remove", term, test["df1"], test["df2"], crit, test["chi2"], test["p_value"]))
        current.remove(term)
    path = pd.DataFrame(rows, columns=PATH_COLUMNS).astype({"step": "int64", "df": "Int64", "df2": "float64",
                                                          "criterion": "float64", "statistic": "float64",
                                                          "p_value": "float64"})
    return tuple(t for t in terms if t in current), path
