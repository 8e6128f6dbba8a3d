"""The logit model: fit with statsmodels' formula API, check it, and return tidy tables.

Two equivalent forms of the data (every function accepts both):

- per row: one observation per row, a 0/1 ``response``; fitted by statsmodels' ``Logit``;
- per covariate pattern (``analysis.read.patterns``): ``response`` is the number of events of the pattern and
  ``trials`` its number of rows; fitted by statsmodels' binomial ``GLM`` with the formula
  ``events + I(trials - events) ~ terms`` (the pattern form of ``analysis.model.selection.stepwise``'s final refit).
  The estimates and standard errors are those of the Logit on the expanded rows (the binomial
  likelihood of the patterns is the Bernoulli likelihood of the rows up to a constant), and every
  table and statistic here is computed so that it equals the per-row one: ``glance`` reports the
  Bernoulli log-likelihood of the rows (not GLM's ``llf``, which adds the log binomial coefficients),
  AIC and BIC with n = the number of rows, and the null log-likelihood in closed form.

``tidy`` / ``glance`` follow R's broom for a glm; ``type3_tests`` is R's ``drop1(test="LRT")``;
``marginal_effects`` wraps statsmodels' ``get_margeff`` on rows (statsmodels' GLM has none, so on
patterns it is computed by hand). Failure modes (separation, a level with no events, a constant or
collinear column, non-convergence) raise ``ModelError`` naming the term.

Tested (tests/model/test_fit.py) against R's glm on the real data (rows), and each function on patterns
against the same function on the rows (estimates and standard errors 1e-8 relative, log-likelihoods
1e-10).
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats

from analysis.errors import ModelError
from analysis.model import patsy_speed
from analysis.model.counts import Counts
from analysis.model.design import full_column_rank
from analysis.model.formula import factor_levels, term_slices
from analysis.model.newton import SeparationError, newton, safe_start
from analysis.model.terms import term_variables
from analysis.model.splines import rcs  # noqa: F401 - formulas with rcs(...) are evaluated in this namespace
from analysis.threads import one_blas_thread


COEFFICIENT_COLUMNS = ["term", "estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high",
                       "odds_ratio", "or_conf_low", "or_conf_high"]
#: |coefficient| beyond which a logit estimate means (quasi-)separation, not a real effect
SEPARATION_COEF = 15.0
FIT_OPTIONS = {"method": "newton", "maxiter": 100, "tol": 1e-10, "disp": 0}
#: Newton for the binomial GLM; statsmodels' GLM.fit does not pass ``tol`` on to Newton (it applies it
#: to its IRLS start only), so Newton stops at its own default: every coefficient moved < 1e-8. Newton
#: converges quadratically, so the estimates are then far closer than that (tested: 1e-8 relative
#: to the row Logit; 1e-13 on the real data). Newton, not IRLS: GLM's IRLS takes the covariance from
#: the weights of the iteration before the last, which moves the standard errors by ~1e-6. No IRLS
#: start (``max_start_irls=0``; statsmodels runs 3 IRLS iterations before Newton by default): Newton
#: from zero converges on the logit likelihood without it, to the same estimates (1e-15 on 10M
#: simulated rows), and the IRLS start's weighted copies of the design were the peak of the fit's
#: memory (0.72 GB -> 0.57-0.64 GB for aggregation and fit at 10M rows, 3.2 s -> 3.0 s).
GLM_FIT_OPTIONS = {"method": "newton", "maxiter": 100, "disp": 0, "max_start_irls": 0}


class BinomialGLM(sm.GLM):
    """statsmodels' ``GLM``, with the rank of its design (its ``df_model``) found by
    ``design.full_column_rank`` -- one Gram matrix -- instead of an SVD of the whole design when that
    settles full rank (the SVD took 0.24 s per model at 523k patterns, 1.4 s of a 10^8-row run); otherwise
    statsmodels' own ``initialize``. Everything else is statsmodels'. ``df_model``, ``df_resid`` and
    ``wnobs`` are tested equal to ``sm.GLM``'s (tests/model/test_fit.py)."""

    def initialize(self):
        if not full_column_rank(self.exog):      # deficient or undecided by the Gram matrix: the SVD decides
            return super().initialize()
        self.df_model = self.exog.shape[1] - 1   # full column rank, as matrix_rank finds it
        if self.freq_weights is not None and self.freq_weights.shape[0] == self.endog.shape[0]:
            self.wnobs = self.freq_weights.sum()
            self.df_resid = self.wnobs - self.df_model - 1
        else:
            self.wnobs = self.exog.shape[0]
            self.df_resid = self.exog.shape[0] - self.df_model - 1


def binomial_glm(formula: str, data: pd.DataFrame) -> BinomialGLM:
    """The statsmodels formula GLM ``formula`` (``events + I(trials - events) ~ ...``), Binomial family."""
    return BinomialGLM.from_formula(formula, data, family=sm.families.Binomial())


def build_formula(response: str, terms, trials: str | None = None) -> str:
    """``response ~ terms``; with ``trials``, ``response + I(trials - response) ~ terms`` (events and
    non-events, statsmodels' binomial GLM form, as ``analysis.model.selection.stepwise`` writes it)."""
    rhs = " + ".join(terms) if terms else "1"
    if trials is None:
        return f"{response} ~ {rhs}"
    return f"{response} + I({trials} - {response}) ~ {rhs}"


def term_column(term: str) -> str:
    """The data column a one-factor formula term is built from: ``C(job, ...)`` -> ``job``,
    ``rcs(age, [..])`` -> ``age``."""
    from analysis.model.terms import term_variables

    return term_variables(term)[0]


def categorical_columns(terms) -> list[str]:
    """The columns of the categorical factors (``C(...)``) of ``terms``, interactions included, sorted."""
    from analysis.model.terms import split_interaction

    return sorted({term_column(f) for t in terms for f in split_interaction(t) if f.strip().startswith("C(")})


def term_data_columns(terms) -> list[str]:
    """Every data column the terms use, sorted."""
    from analysis.model.terms import term_variables

    return sorted({v for t in terms for v in term_variables(t)})


# ----------------------------------------------------------------------------- checks


def _counts(data: pd.DataFrame, response: str, trials: str | None) -> tuple[np.ndarray, np.ndarray]:
    """(events, non-events) of each row: y and 1 - y for 0/1 rows, or the pattern counts
    (:meth:`analysis.model.counts.Counts.of`), as floats; ``ModelError`` naming the columns otherwise."""
    try:
        counts = Counts.of(data[response].to_numpy(), None if trials is None else data[trials].to_numpy())
    except ValueError:
        if trials is None:
            raise ModelError(f"The response '{response}' must be 0/1 in every row.") from None
        raise ModelError(f"Need 0 <= {response} <= {trials} and {trials} >= 1 in every pattern.") from None
    return counts.events.astype(float), counts.non_events.astype(float)


def check_levels_in_training(train: pd.DataFrame, other: pd.DataFrame, terms, trials: str | None = None) -> None:
    """Every level of a categorical term in ``other`` (the test sample) must occur in ``train``: the
    model has no coefficient for a level it never saw, so it cannot score those rows. Raises
    ModelError naming the column, the level and its row count (sums of ``trials`` on patterns)."""
    for column in categorical_columns(terms):
        unseen = sorted(set(other[column].dropna().unique()) - set(train[column].dropna().unique()))
        if unseen:
            rows = other[other[column].isin(unseen)]
            n = int(rows[trials].sum()) if trials else len(rows)
            raise ModelError(
                f"Column '{column}': level(s) {', '.join(repr(u) for u in unseen)} occur only in the test sample "
                f"({n} rows) and never in the training sample, so the model cannot score them. Merge the level "
                "with another, exclude those rows, or change --seed or --test-size.")


def check_predictors(data: pd.DataFrame, response: str, terms, trials: str | None = None) -> None:
    """Catch before fitting what makes a logit fail or its estimates meaningless.

    - a constant predictor (no variation: its effect cannot be estimated);
    - a categorical level with no events or only events (quasi-complete separation);
    - a numeric predictor that separates users from non-users completely.

    On patterns (``trials`` given, ``response`` = events) events and non-events are summed per level
    and the row counts in the messages are numbers of rows (sums of trials), so the checks and messages
    are those of the expanded rows (tested on both forms).
    """
    from analysis.model.terms import split_interaction

    events, non = _counts(data, response, trials)
    n_rows = int(round(float((events + non).sum())))
    for term in terms:
        if len(split_interaction(term)) > 1:
            continue                       # an interaction: its factors are checked as terms of their own
        column = term_column(term)
        x = data[column]
        if x.nunique(dropna=False) < 2:
            value = x.iloc[0].item() if isinstance(x.iloc[0], np.generic) else x.iloc[0]
            raise ModelError(f"Term '{term}': column '{column}' is constant ({value!r} in all "
                             f"{n_rows:,} rows), so its effect cannot be estimated. Remove it from the model.")
        if term.startswith("C("):
            counts = pd.DataFrame({"events": events, "non": non}).groupby(x.to_numpy(), sort=True).sum()
            for level, row in counts.iterrows():
                n_events, n_non = int(round(row["events"])), int(round(row["non"]))
                if n_events == 0 or n_non == 0:
                    kind = "no events" if n_events == 0 else "only events"
                    raise ModelError(
                        f"Term '{term}': level '{level}' has {kind} ({n_events + n_non:,} rows), which separates "
                        f"the response (quasi-complete separation: its odds ratio would be "
                        f"{'0' if n_events == 0 else 'infinite'}). Merge the level with another, exclude those rows, or fit "
                        "Firth's penalised logit (--firth).")
        else:
            has0, has1 = non > 0, events > 0
            if not (has0.any() and has1.any()):
                continue
            lo0, hi0 = x[has0].min(), x[has0].max()
            lo1, hi1 = x[has1].min(), x[has1].max()
            if hi0 < lo1 or hi1 < lo0:
                raise ModelError(f"Term '{term}' separates the response completely (rows without the event "
                                 f"{lo0}..{hi0}, with it {lo1}..{hi1}); the maximum-likelihood estimate does not "
                                 "exist. Remove the term, or fit Firth's penalised logit (--firth).")


def check_design(mod) -> None:
    """Rank of the design matrix of a statsmodels model (or results), checked before fitting: name the
    first column that is a linear combination of the columns before it. ``numpy.linalg.matrix_rank``
    (SVD, tolerance relative to the largest singular value) decides, so the verdict does not depend on
    which LAPACK routine would fail first on a given CPU; the Gram matrix settles full rank first when it
    can (``design.full_column_rank``: the same verdict, an n x k^2 product instead of an SVD)."""
    mod = getattr(mod, "model", mod)
    exog = mod.exog
    if full_column_rank(exog):
        return
    names = mod.exog_names
    for j in range(1, exog.shape[1]):
        if np.linalg.matrix_rank(exog[:, : j + 1]) <= j:
            raise ModelError(f"Column '{names[j]}' is a linear combination of the columns before it "
                             "(collinear); its coefficient is not identified. Remove one of the collinear terms.")


def check_fit(results) -> None:
    if not results.mle_retvals.get("converged", False):
        raise ModelError(f"The logit fit did not converge in {results.mle_retvals.get('iterations')} iterations: "
                         "a sign of separation (a variable or level that predicts the outcome perfectly). Merge "
                         "sparse levels, remove the term, or fit Firth's penalised logit (--firth).")
    big = results.params[np.abs(results.params) > SEPARATION_COEF]
    if len(big):
        raise ModelError(f"Coefficient of '{big.index[0]}' is {big.iloc[0]:.1f}: a sign of (quasi-)complete "
                         "separation; the estimate and its standard error are meaningless. "
                         "Merge sparse levels, remove the term, or fit Firth's penalised logit (--firth).")


# ----------------------------------------------------------------------------- fitting


@one_blas_thread
@patsy_speed.scoped
def fit_logit(data: pd.DataFrame, response: str, terms, trials: str | None = None):
    """Logit by maximum likelihood (Newton), checked.

    Rows (``trials`` None): statsmodels formula ``Logit``, tol 1e-10; tested against R's glm(binomial)
    on the real data (1e-6 relative). Patterns (``trials`` = the column of row counts, ``response`` =
    the events): statsmodels formula ``GLM(events + I(trials - events) ~ terms, Binomial())`` by Newton
    (``GLM_FIT_OPTIONS``); estimates and standard errors tested equal to the row Logit's on the real
    data (1e-8 relative). Use :func:`glance`, not the GLM's own llf/aic, for the log-likelihood.

    Example (a 2 x 2 table as patterns: 3 of 10 events without x, 6 of 10 with it; the odds ratio is
    (6/4) / (3/7) = 3.5 in closed form):

    >>> import pandas as pd
    >>> table = pd.DataFrame({"x": [0, 1], "events": [3, 6], "trials": [10, 10]})
    >>> fit = fit_logit(table, "events", ["x"], trials="trials")
    >>> round(float(tidy(fit).set_index("term").loc["x", "odds_ratio"]), 6), glance(fit)["n_obs"]
    (3.5, 20)
    """
    terms = list(terms)
    check_predictors(data, response, terms, trials)
    formula = build_formula(response, terms, trials)
    data = _as_categories(data, _fitting_levels(data, terms))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if trials is None:
            mod = smf.logit(formula, data)
        else:
            mod = binomial_glm(formula, data)
        # the rank is checked on the design before the fit: which LAPACK error a singular information
        # matrix raises first (if any) depends on the CPU, the rank of X does not
        check_design(mod)
        try:
            if trials is None:
                results = mod.fit(**FIT_OPTIONS)
            else:
                results = mod.fit(start_params=_newton_start(mod), **GLM_FIT_OPTIONS)
        except np.linalg.LinAlgError as err:
            raise ModelError(f"The information matrix is singular ({err}): a constant or collinear column. "
                             "Remove the redundant term.") from None
    check_fit(results)
    return results


def _newton_start(mod) -> np.ndarray | None:
    """The package's own Newton fit (``analysis.model.newton``) of a pattern GLM's design, as the start of
    statsmodels' Newton: the same maximum, so statsmodels stops after one step (it took about ten from
    zero; at 523k patterns each of its Hessians costs twice an information matrix of ``newton``). The fit
    of record is still statsmodels': its last step, score and covariance are computed as before, and its
    convergence is checked by ``check_fit``. None (statsmodels' own start, zero) when this fit fails or the
    first column is not the intercept: the verdict on such data stays statsmodels'."""
    X = np.asarray(mod.exog, dtype=float)
    endog = np.asarray(mod.data.endog, dtype=float)
    if X.ndim != 2 or endog.ndim != 2 or not X.shape[1] or not np.all(X[:, 0] == 1.0):
        return None
    events, trials = endog[:, 0], endog[:, 0] + endog[:, 1]
    try:
        beta = newton(X, events, trials, safe_start(X, events, trials))[0]
    except (SeparationError, np.linalg.LinAlgError, FloatingPointError, ValueError):
        return None
    return beta if np.all(np.isfinite(beta)) else None


def _as_categories(data: pd.DataFrame, levels: dict[str, tuple]) -> pd.DataFrame:
    """``data`` with each column of ``levels`` as a pandas Categorical with exactly those categories.

    Only for speed: patsy reads a Categorical through its integer codes, but checks every cell of a text
    column for missing values in Python (4 s of a 10M-row run on 200k patterns). The design matrix is
    the same, since the categories are the levels patsy would find (sorted distinct values when fitting,
    the fitted model's levels when predicting). A column holding a value outside its levels, or a
    missing value, is left as it is, so that patsy reports it as before.
    """
    converted = {}
    for column, cats in levels.items():
        if column not in data.columns or isinstance(data[column].dtype, pd.CategoricalDtype):
            continue
        values = pd.Categorical(data[column], categories=list(cats))
        if (values.codes >= 0).all():
            converted[column] = values
    return data.assign(**converted) if converted else data


def _fitting_levels(data: pd.DataFrame, terms) -> dict[str, tuple]:
    """The levels patsy gives each categorical term's text column: its sorted distinct values."""
    columns = categorical_columns(terms)
    return {c: tuple(sorted(data[c].dropna().unique())) for c in columns
            if c in data.columns and not isinstance(data[c].dtype, pd.CategoricalDtype) and data[c].notna().all()}


def _model_levels(results) -> dict[str, tuple]:
    """The levels of each categorical factor of a fitted formula model, by data column."""
    return {term_column(code): levels for code, levels in factor_levels(results).items()}


def is_pattern_fit(results) -> bool:
    """True for a binomial GLM on (events, non-events) counts, False for a Logit on 0/1 rows."""
    return np.ndim(results.model.data.endog) == 2


def response_counts(results) -> tuple[np.ndarray, np.ndarray]:
    """(events, trials) of each observation of the fitted model: (y, 1) per row, the counts per pattern."""
    endog = np.asarray(results.model.data.endog, dtype=float)
    if endog.ndim == 2:
        return endog[:, 0], endog[:, 0] + endog[:, 1]
    return endog, np.ones_like(endog)


def bernoulli_loglik(eta, events, trials) -> float:
    """Bernoulli log-likelihood of the rows: sum(events log p + (trials - events) log(1 - p)), p = expit(eta).

    log p = -log(1 + exp(-eta)) and log(1 - p) = -log(1 + exp(eta)) (``numpy.logaddexp``, no overflow).
    On patterns it excludes GLM's log binomial coefficients, so it is the log-likelihood of the rows.
    Tested equal to statsmodels Logit's llf on the rows (1e-10).
    """
    eta = np.asarray(eta, dtype=float)
    events = np.asarray(events, dtype=float)
    trials = np.asarray(trials, dtype=float)
    return float(-(events @ np.logaddexp(0.0, -eta)) - ((trials - events) @ np.logaddexp(0.0, eta)))


def _linear_predictor(results) -> np.ndarray:
    return results.model.exog @ np.asarray(results.params, dtype=float)


def baseline_levels(data: pd.DataFrame, terms) -> dict[str, str]:
    """Reference level of each categorical term: the explicit Treatment level, else the first sorted level."""
    from analysis.model.terms import explicit_baseline, split_interaction

    out = {}
    for term in terms:
        for factor in split_interaction(term):
            if factor.strip().startswith("C("):
                column = term_column(factor)
                out.setdefault(column, explicit_baseline(factor) or sorted(map(str, data[column].unique()))[0])
    return out


@patsy_speed.scoped
def predict_by_pattern(results, data: pd.DataFrame) -> np.ndarray:
    """Fitted probabilities, computed once per distinct covariate pattern and mapped back to rows.

    ``data`` may be rows or a pattern table (then the result is the fitted p of each pattern). Rows (or
    patterns) with the same values of the model's columns get bit-identical probabilities (row-wise
    prediction can differ in the last bit through summation order, which splits ties and moves
    tie-aware statistics such as the AUC by ~1e-8), and the per-row and pattern forms of every
    statistic agree exactly. Tested: on a pattern table, equal to the fitted values of the GLM fitted on
    it (1e-14) and to the row Logit's prediction for those patterns (1e-11).
    """
    columns = term_data_columns([t for t in term_slices(results) if t != "Intercept"])
    if not columns:
        return np.full(len(data), float(results.predict(data.iloc[:1]).iloc[0]))
    keys = data[columns]
    codes = keys.groupby(columns, sort=False, observed=True).ngroup().to_numpy()  # first-appearance order
    patterns = keys.drop_duplicates().reset_index(drop=True)  # same order
    patterns = _as_categories(patterns, _model_levels(results))
    return np.asarray(results.predict(patterns), dtype=float)[codes]


def tidy(results, conf_level: float = 0.95) -> pd.DataFrame:
    """Coefficient table (broom's tidy): Wald CIs as statsmodels' conf_int(), odds ratios = exp.

    ``statistic`` is the Wald z (the GLM's tvalues are z as well: normal, not t). Tested against R's
    summary(glm) and confint.default on the real data (1e-6 relative), and the pattern GLM's table
    against the row Logit's (1e-8 relative).
    """
    ci = results.conf_int(alpha=1 - conf_level)
    out = pd.DataFrame({
        "term": results.params.index,
        "estimate": results.params.to_numpy(),
        "std_error": results.bse.to_numpy(),
        "statistic": results.tvalues.to_numpy(),
        "p_value": results.pvalues.to_numpy(),
        "conf_low": ci[0].to_numpy(),
        "conf_high": ci[1].to_numpy(),
    })
    out["odds_ratio"] = np.exp(out["estimate"])
    out["or_conf_low"] = np.exp(out["conf_low"])
    out["or_conf_high"] = np.exp(out["conf_high"])
    return out[COEFFICIENT_COLUMNS]


def null_loglik(events: float, n: float) -> float:
    """Maximum log-likelihood of the intercept-only logit on n rows with ``events`` events, in closed
    form: E log(E/N) + (N - E) log(1 - E/N) (0 log 0 = 0). Tested against R's null deviance on the real
    data (1e-12 relative)."""
    p0 = events / n
    return float((events * np.log(p0) if events > 0 else 0.0) + ((n - events) * np.log1p(-p0) if n > events else 0.0))


def glance(results) -> dict:
    """One-row model summary (broom's glance) for metrics.json, for the rows the model stands for.

    n_obs and events count rows (on patterns: sums of trials and events); llf is the Bernoulli
    log-likelihood of the rows (statsmodels Logit's llf on rows; :func:`bernoulli_loglik` on patterns,
    which excludes GLM's binomial coefficients); llnull the intercept-only maximum in closed form
    (:func:`null_loglik`; statsmodels' Logit llnull is a numerical optimum, Nelder-Mead then BFGS, up to
    1e-10 relative below it); AIC = -2 llf + 2k, BIC = -2 llf + log(n_obs) k (k coefficients);
    lr_chi2 = 2 (llf - llnull) on k - 1 df; pseudo_r2 = 1 - llf / llnull (McFadden).

    Tested against R's logLik/AIC/BIC/anova(null, full) on the real data (1e-6 relative; llnull 1e-12),
    and on patterns against the rows (every value 1e-10 relative; the p-value of the LR test 1e-8).
    """
    events, trials = response_counts(results)
    n, e = float(trials.sum()), float(events.sum())
    k = len(results.params)
    if is_pattern_fit(results):
        llf = bernoulli_loglik(_linear_predictor(results), events, trials)
    else:
        llf = float(results.llf)
    llnull = null_loglik(e, n)
    lr = 2 * (llf - llnull)
    return {
        "n_obs": int(round(n)),
        "events": int(round(e)),
        "llf": llf,
        "llnull": llnull,
        "aic": -2 * llf + 2 * k,
        "bic": -2 * llf + np.log(n) * k,
        "lr_chi2": lr,
        "lr_df": k - 1,
        "lr_p": float(stats.chi2.sf(lr, k - 1)),
        "pseudo_r2": 1 - llf / llnull,
        "converged": bool(results.mle_retvals.get("converged", False)),
    }


def summary_text(results, yname: str | None = None) -> str:
    """statsmodels' summary of the model as text.

    Rows: ``str(results.summary())`` of the Logit. Patterns: the same layout and title ("Logit Regression
    Results") with the numbers of the rows: No. Observations, Df Residuals, Pseudo R-squ., Log-Likelihood,
    LL-Null and LLR p-value from :func:`glance` (GLM's own summary would show the pattern count and a
    log-likelihood with the binomial coefficients), the coefficient table from the GLM (equal to the
    Logit's), and a last line saying it was fitted on patterns. Tested: on the real data the text equals
    the row Logit's summary apart from that line (and the date and time).
    """
    if not is_pattern_fit(results):
        return str(results.summary(yname=yname))
    from statsmodels.iolib.summary import Summary

    g = glance(results)
    k = len(results.params)
    if yname is None:
        names = results.model.endog_names
        yname = names[0] if isinstance(names, (list, tuple)) else str(names)
    top_left = [
        ("Dep. Variable:", [yname]),
        ("Model:", ["Logit"]),
        ("Method:", ["MLE"]),
        ("Date:", None),
        ("Time:", None),
        ("converged:", [str(g["converged"])]),
        ("Covariance Type:", [results.cov_type]),
    ]
    top_right = [
        ("No. Observations:", [str(g["n_obs"])]),
        ("Df Residuals:", [str(g["n_obs"] - k)]),
        ("Df Model:", [str(k - 1)]),
        ("Pseudo R-squ.:", [f"{g['pseudo_r2']:#6.4g}"]),
        ("Log-Likelihood:", [f"{g['llf']:#8.5g}"]),
        ("LL-Null:", [f"{g['llnull']:#8.5g}"]),
        ("LLR p-value:", [f"{g['lr_p']:#6.4g}"]),
    ]
    smry = Summary()
    smry.add_table_2cols(results, gleft=top_left, gright=top_right, yname=yname, title="Logit Regression Results")
    smry.add_table_params(results, yname=yname, alpha=0.05, use_t=False)
    smry.add_extra_txt([f"Fitted as a binomial GLM on {int(results.nobs):,} "
                        f"covariate patterns standing for {g['n_obs']:,} rows; estimates, standard errors "
                        "and log-likelihoods are those of the Logit on the rows."])
    return str(smry)


# ----------------------------------------------------------------------------- the fit object

#: up to this many rows the statsmodels summary is that of ``smf.logit`` refitted on the expanded rows
#: (statsmodels' own Logit summary, not a re-layout); above it :func:`summary_text` of the pattern fit (the
#: same numbers, tested; a Logit on hundreds of millions of rows would need tens of GB)
LOGIT_SUMMARY_MAX_ROWS = 250_000


@dataclass(eq=False)
class Fit:
    """A fitted model with what it was fitted from, as rms's fit objects keep x and y: every verb (``tidy``,
    ``glance``, ``type3``, ``marginal_effects``, ``vif``, ``predict``, and the evaluation verbs of
    ``analysis.evaluate`` such as ``effects.specification_checks`` and ``bootstrap.validate``) needs the fit
    and nothing else.

    ``results`` is the engine underneath: a statsmodels binomial GLM on the pattern table (maximum
    likelihood) or a ``FirthResult``. ``data`` is the pattern table it was fitted on (``response`` events
    and ``trials`` rows per pattern); ``terms`` the model's terms, ``candidates`` every candidate term (the
    full model), ``knots`` the table of spline knots chosen on ``data``, ``baselines`` each categorical
    variable's reference level, ``selection`` the settings the terms were selected by (a
    ``SelectionSettings``; None for Firth's fit of every term), ``path`` the selection path and ``full``
    the fit of every candidate term.
    """

    results: object
    data: pd.DataFrame
    terms: tuple
    candidates: tuple
    knots: pd.DataFrame
    baselines: dict
    response: str = "events"
    trials: str | None = "trials"
    selection: object = None
    path: pd.DataFrame | None = None
    full: "Fit | None" = None
    method = "ml"

    @property
    def events(self) -> int:
        return int(self.data[self.response].sum())

    @property
    def n_obs(self) -> int:
        return int(self.data[self.trials].sum()) if self.trials else len(self.data)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Fitted probabilities of the rows or patterns of ``frame`` (:func:`predict_by_pattern`)."""
        return predict_by_pattern(self.results, frame)

    def tidy(self, conf_level: float = 0.95) -> pd.DataFrame:
        return tidy(self.results, conf_level)

    def glance(self) -> dict:
        return glance(self.results)

    def type3(self) -> pd.DataFrame:
        from analysis.model.inference import type3_tests

        return type3_tests(self.results)

    def marginal_effects(self) -> pd.DataFrame:
        from analysis.model.inference import marginal_effects

        return marginal_effects(self.results)

    def vif(self) -> pd.DataFrame:
        from analysis.model.inference import empty_vif, gvif_from_results

        return gvif_from_results(self.results) if len(self.terms) >= 2 else empty_vif()

    def tables(self) -> dict[str, pd.DataFrame]:
        """The model's tables: coefficients of the final model (Wald and, up to ``profile.MAX_SIZE``,
        profile-likelihood intervals) and of the full model, Type 3 tests, marginal effects of the variables
        that are not splines (a spline's effect is a curve: ``analysis.evaluate.effects``), VIFs, the
        selection path, the spline knots, and influence: the ten most influential (pattern, outcome) cells
        and whether removing one of their rows changes any single-effect odds ratio's relation to 1. Odds
        ratios are left blank for the intercept and spline basis coefficients (:func:`odds_ratio_rows`)."""
        from analysis.model.profile import ProfileTooLarge

        coefficients = self.tidy()
        try:
            prof = self.profile_conf_int().set_index("term")
            for column in ("profile_conf_low", "profile_conf_high", "or_profile_low", "or_profile_high"):
                coefficients[column] = coefficients["term"].map(prof[column]).to_numpy()
        except ProfileTooLarge:
            for column in ("profile_conf_low", "profile_conf_high", "or_profile_low", "or_profile_high"):
                coefficients[column] = np.nan
        effects = self.marginal_effects()
        splines = {term_variables(t)[0] for t in self.terms if t.strip().startswith("rcs(")}
        influence = self.influence()
        single = [t for t in coefficients["term"] if coefficient_kind(t) == "effect"]
        return {"coefficients": blank_odds_ratios(coefficients), "coefficients_full": blank_odds_ratios(self.full.tidy()),
                "type3_tests": self.type3(),
                "marginal_effects": effects[~effects["variable"].isin(splines)].reset_index(drop=True),
                "vif": self.vif(), "stepwise": self.path, "spline_knots": self.knots,
                "influence": influence.top(10), "influence_flips": influence.flips(single, k=10)}

    def metrics(self) -> dict:
        """glance of the final and the full model, and the method, for metrics.json."""
        return {"model": {**self.glance(), "fitted_on": "train"},
                "full_model": {**self.full.glance(), "fitted_on": "train"}, "method": self.method}

    def summary_texts(self, yname: str) -> dict:
        """statsmodels' summaries of the final and the full model (without run date and time): of ``smf.logit``
        on the expanded rows up to ``LOGIT_SUMMARY_MAX_ROWS`` rows (estimates equal the pattern fit's, tested
        to 1e-8), else of the pattern fits (:func:`summary_text`)."""
        fits = {"final": (self.terms, self.results), "full": (self.candidates, self.full.results)}
        on_rows = self.n_obs <= LOGIT_SUMMARY_MAX_ROWS
        if on_rows:
            from analysis.read.patterns import expand

            rows = expand(self.data, response=yname)
            fits = {name: (t, fit_logit(rows, yname, list(t))) for name, (t, _) in fits.items()}
        return {"statsmodels_summary": undated(summary_text(fits["final"][1], yname=yname)),
                "full_model_summary": undated(summary_text(fits["full"][1], yname=yname)),
                "summary_fitted_on": "rows" if on_rows else "covariate patterns"}

    def influence(self):
        """Influence diagnostics of the rows by (pattern, outcome) cell, the top cells by Cook's distance and
        the exact refits without one of their rows (:func:`analysis.model.influence.influence`; tested equal
        to statsmodels' GLM ``get_influence()`` on the expanded rows). Maximum-likelihood fits only."""
        if self.method != "ml":
            raise ValueError(f"influence diagnostics are for maximum-likelihood fits, not method {self.method!r}")
        from analysis.model.influence import influence

        return influence(self.results)

    def profile_conf_int(self, conf_level: float = 0.95, **options) -> pd.DataFrame:
        """Wald and profile-likelihood intervals of the coefficients and odds ratios
        (:func:`analysis.model.profile.profile_conf_int`, tested against exact roots in R and R's confint);
        ``options``: ``max_size``, the bound on patterns x coefficients (default
        ``analysis.model.profile.MAX_SIZE``; None: no bound; ``ProfileTooLarge`` above it). Maximum-likelihood
        fits only (Firth's fit has its own profile limits in its ``tidy``)."""
        if self.method != "ml":
            raise ValueError(f"profile-likelihood intervals here are for maximum-likelihood fits, not method "
                             f"{self.method!r}")
        from analysis.model.profile import profile_conf_int

        return profile_conf_int(self.results, conf_level, **options)


def coefficient_kind(name: str) -> str:
    """What a coefficient (design column) of a formula model is, read from its name: "intercept", "spline
    basis" (a column of ``rcs(...)``, alone or in an interaction), "interaction" (a product of factors), or
    "effect" (a level against its baseline, a 0/1 variable, a per-unit slope: one odds ratio each)."""
    if name == "Intercept":
        return "intercept"
    if "rcs(" in name:
        return "spline basis"
    if ":" in name.replace("::", ""):
        from analysis.model.terms import split_interaction

        if len(split_interaction(name)) > 1:
            return "interaction"
    return "effect"


def blank_odds_ratios(table: pd.DataFrame) -> pd.DataFrame:
    """A coefficient table with the odds-ratio columns blank (NaN) for the intercept and spline basis
    coefficients, which are not odds ratios of anything a reader can name (the intercept's reference profile
    has every variable at 0; a basis coefficient is one piece of a curve), and a ``kind`` column saying what
    each coefficient is (:func:`coefficient_kind`)."""
    out = table.copy()
    kinds = out["term"].map(coefficient_kind)
    blank = kinds.isin(["intercept", "spline basis"]).to_numpy()
    for column in [c for c in out.columns if c.startswith(("or_", "boot_")) or c == "odds_ratio"]:
        out.loc[blank, column] = np.nan
    out.insert(1, "kind", kinds.to_numpy())
    return out


def undated(summary: str) -> str:
    """statsmodels' summary without its run date and time, so the same input gives the same report."""
    summary = re.sub(r"(Date:\s+)\w{3}, \d{2} \w{3} \d{4}", lambda m: m.group(1) + "(omitted)".ljust(16), summary)
    return re.sub(r"(Time:\s+)\d{2}:\d{2}:\d{2}", lambda m: m.group(1) + "(omitted)", summary)
