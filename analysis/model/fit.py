"""The logit model: fit with statsmodels' formula API, check it, and return tidy tables.

Two equivalent forms of the data (every function accepts both):

- per row: one customer per row, a 0/1 ``response``; fitted by statsmodels' ``Logit``;
- per covariate pattern (``analysis.patterns``): ``response`` is the number of events of the pattern and
  ``trials`` its number of rows; fitted by statsmodels' binomial ``GLM`` with the formula
  ``events + I(trials - events) ~ terms`` (the pattern form of ``analysis.selection.stepwise``'s final refit).
  The estimates and standard errors are those of the Logit on the expanded rows (the binomial
  likelihood of the patterns is the Bernoulli likelihood of the rows up to a constant), and every
  table and statistic here is computed so that it equals the per-row one: ``glance`` reports the
  Bernoulli log-likelihood of the rows (not GLM's ``llf``, which adds the log binomial coefficients),
  AIC and BIC with n = the number of rows, and the null log-likelihood in closed form.

``tidy`` / ``glance`` follow R's broom for a glm; ``type3_tests`` is R's ``drop1(test="LRT")``;
``marginal_effects`` wraps statsmodels' ``get_margeff`` on rows (statsmodels' GLM has none, so on
patterns it is computed by hand). Failure modes (separation, a level with no events, a constant or
collinear column, non-convergence) raise ``ModelError`` naming the term.

Tested (tests/test_model.py) against R's glm on the real data (rows), and each function on patterns
against the same function on the rows (estimates and standard errors 1e-8 relative, log-likelihoods
1e-10).
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import patsy
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats

from analysis.model import patsy_speed
from analysis.model.splines import rcs  # noqa: F401 - formulas with rcs(...) are evaluated in this namespace
from analysis.threads import one_blas_thread

patsy_speed.install()

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


class ModelError(ValueError):
    """The model cannot be estimated as asked; the message names the term and what to do."""


def categorical_term(column: str, baseline: str | None = None) -> str:
    """Formula term for a categorical column, with an explicit baseline level if given."""
    if baseline is None:
        return f"C({column})"
    return f"C({column}, Treatment(reference={baseline!r}))"


def build_formula(response: str, terms, trials: str | None = None) -> str:
    """``response ~ terms``; with ``trials``, ``response + I(trials - response) ~ terms`` (events and
    non-events, statsmodels' binomial GLM form, as ``analysis.selection.stepwise`` writes it)."""
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
    """(events, non-events) of each row: y and 1 - y for 0/1 rows, or the pattern counts."""
    y = pd.to_numeric(data[response], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if trials is None:
        if not np.all(np.isin(y, (0.0, 1.0))):
            raise ModelError(f"The response '{response}' must be 0/1 in every row.")
        return y, 1.0 - y
    m = pd.to_numeric(data[trials], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(m))) or np.any(m < 1) or np.any(y < 0) or np.any(y > m):
        raise ModelError(f"Need 0 <= {response} <= {trials} and {trials} >= 1 in every pattern.")
    return y, m - y


def check_levels_in_training(train: pd.DataFrame, other: pd.DataFrame, terms, trials: str | None = None) -> None:
    """Every level of a categorical term in ``other`` (the test sample) must occur in ``train``: the
    model has no coefficient for a level it never saw, so it cannot score those customers. Raises
    ModelError naming the column, the level and its row count (sums of ``trials`` on patterns)."""
    for column in categorical_columns(terms):
        unseen = sorted(set(other[column].dropna()) - set(train[column].dropna()))
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
    which LAPACK routine would fail first on a given CPU."""
    mod = getattr(mod, "model", mod)
    exog = mod.exog
    if np.linalg.matrix_rank(exog) == exog.shape[1]:
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
def fit_logit(data: pd.DataFrame, response: str, terms, trials: str | None = None):
    """Logit by maximum likelihood (Newton), checked.

    Rows (``trials`` None): statsmodels formula ``Logit``, tol 1e-10; tested against R's glm(binomial)
    on the real data (1e-6 relative). Patterns (``trials`` = the column of row counts, ``response`` =
    the events): statsmodels formula ``GLM(events + I(trials - events) ~ terms, Binomial())`` by Newton
    (``GLM_FIT_OPTIONS``); estimates and standard errors tested equal to the row Logit's on the real
    data (1e-8 relative). Use :func:`glance`, not the GLM's own llf/aic, for the log-likelihood.
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
            mod = smf.glm(formula, data, family=sm.families.Binomial())
        # the rank is checked on the design before the fit: which LAPACK error a singular information
        # matrix raises first (if any) depends on the CPU, the rank of X does not
        check_design(mod)
        try:
            results = mod.fit(**(FIT_OPTIONS if trials is None else GLM_FIT_OPTIONS))
        except np.linalg.LinAlgError as err:
            raise ModelError(f"The information matrix is singular ({err}): a constant or collinear column. "
                             "Remove the redundant term.") from None
    check_fit(results)
    return results


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
    """The levels of each categorical factor of a fitted formula model."""
    data = results.model.data
    spec = getattr(data, "model_spec", None) or getattr(data, "design_info")
    return {term_column(factor.name()): tuple(info.categories)
            for factor, info in spec.factor_infos.items() if info.type == "categorical"}


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


def term_slices(results) -> dict[str, slice]:
    """Formula term -> its columns in the design matrix (statsmodels 0.15 keeps patsy's DesignInfo
    as ``model.data.model_spec``; earlier releases as ``design_info``)."""
    data = results.model.data
    spec = getattr(data, "model_spec", None) or getattr(data, "design_info")
    return dict(spec.term_name_slices)


@one_blas_thread
def type3_tests(results) -> pd.DataFrame:
    """Likelihood-ratio test of dropping each term (R's drop1(test="LRT"), SAS Type 3).

    Terms are those R's ``drop1`` tests by default (``drop.scope``): a term contained in another term of
    the model (a main effect under an interaction) is not dropped alone. Each reduced model is refitted on
    the already-built design matrix (no formula re-parsing) by step-halving Newton from the intercept-only
    estimate (``analysis.newton``), which cannot diverge: the log-likelihood rises at every step, so it
    converges whenever the reduced model's maximum exists (a reduced model with separation has none: its
    row says so, with NaN statistics). The LR statistic and ``aic_without`` use the Bernoulli
    log-likelihoods of the rows, so the row and pattern forms give the same table.

    Tested against R's drop1 on the real data and on public data sets (birthwt, Mroz; 1e-6 relative), on
    which the former refits from statsmodels' start failed, and, on patterns, against the rows (1e-8).
    """
    from analysis.model.newton import SeparationError, newton, safe_start
    from analysis.model.selection import drop_scope, term_factors

    exog = np.asarray(results.model.exog, dtype=float)
    events, trials = response_counts(results)
    llf_full = bernoulli_loglik(_linear_predictor(results), events, trials)
    slices = {t: s for t, s in term_slices(results).items() if t != "Intercept"}
    factors = {t: term_factors(t) for t in slices}
    rows = []
    for term in drop_scope(list(slices), [], factors):
        keep = np.ones(exog.shape[1], dtype=bool)
        keep[slices[term]] = False
        X = np.ascontiguousarray(exog[:, keep])
        df = int((~keep).sum())
        try:
            _, eta, llf, _ = newton(X, events, trials, safe_start(X, events, trials))
            llf = bernoulli_loglik(eta, events, trials)
            lr = 2 * (llf_full - llf)
            rows.append({"term": term, "df": df, "lr_chi2": lr, "p_value": stats.chi2.sf(lr, df),
                         "aic_without": -2 * llf + 2 * int(keep.sum()), "note": ""})
        except SeparationError as err:
            rows.append({"term": term, "df": df, "lr_chi2": np.nan, "p_value": np.nan, "aic_without": np.nan,
                         "note": f"the model without this term has no finite maximum ({err})"})
    return pd.DataFrame(rows, columns=["term", "df", "lr_chi2", "p_value", "aic_without", "note"])


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
    from scipy.special import expit

    from analysis.model.terms import split_interaction, term_variables

    frame = _frame_of(results)
    info = results.model.data.model_spec if hasattr(results.model.data, "model_spec") else results.model.data.design_info
    levels = _model_levels(results)
    beta = np.asarray(results.params, dtype=float)
    V = np.asarray(results.cov_params(), dtype=float)
    events, trials = response_counts(results)
    w = trials / trials.sum()
    terms = [t for t in term_slices(results) if t != "Intercept"]
    categorical = set(categorical_columns(terms))
    variables = list(dict.fromkeys(v for t in terms for v in term_variables(t)))
    z = stats.norm.ppf(1 - (1 - conf_level) / 2)

    base_X = np.asarray(results.model.exog, dtype=float)
    by_variable = {}
    for t in info.terms:
        for v in term_variables(t.name()) if t.factors else ():
            by_variable.setdefault(v, []).append(t)

    def design(changed: pd.DataFrame, var: str) -> np.ndarray:
        """The design of ``changed`` (``frame`` with ``var`` changed): only the columns of the terms that
        use ``var`` are rebuilt (patsy's subset of the design), the rest are the fit's own."""
        sub = info.subset(by_variable[var])
        needed = sorted({u for t in sub.terms for u in term_variables(t.name())})
        part = np.asarray(patsy.build_design_matrices([sub], _as_categories(changed[needed], levels))[0],
                          dtype=float)
        X = base_X.copy()
        for t in sub.terms:
            X[:, info.slice(t)] = part[:, sub.slice(t)]
        return X

    def average(X1, X0, scale=1.0):
        p1, p0 = expit(X1 @ beta), expit(X0 @ beta)
        ame = float(w @ (p1 - p0)) / scale
        grad = ((w * p1 * (1 - p1)) @ X1 - (w * p0 * (1 - p0)) @ X0) / scale
        return ame, float(np.sqrt(grad @ V @ grad))

    names = list(results.params.index)
    rows = []
    for var in variables:
        x = frame[var]
        if var in categorical:
            base = baseline_levels(frame, [t for t in terms if var in term_variables(t)])[var]
            X0 = design(frame.assign(**{var: base}), var)
            for level in levels.get(var, sorted(map(str, x.unique()))):
                if str(level) == str(base):
                    continue
                ame, se = average(design(frame.assign(**{var: level}), var), X0)
                term = next((n for n in names if n.startswith("C(") and n.endswith(f"[T.{level}]")
                             and term_column(n.split("[T.")[0]) == var), f"{var}[T.{level}]")
                rows.append((term, var, AME_KINDS["level"], ame, se))
            continue
        values = x.to_numpy(dtype=float)
        if set(np.unique(values)) <= {0.0, 1.0}:
            ame, se = average(design(frame.assign(**{var: 1}), var), design(frame.assign(**{var: 0}), var))
            rows.append((var, var, AME_KINDS["binary"], ame, se))
        elif np.all(values == np.floor(values)) and np.all(values >= 0):
            ame, se = average(design(frame.assign(**{var: values + 1}), var),
                              design(frame.assign(**{var: values - 1}), var), scale=2.0)
            rows.append((var, var, AME_KINDS["count"], ame, se))
        else:
            h = 1e-5 * max(1.0, float(np.max(np.abs(values))))
            ame, se = average(design(frame.assign(**{var: values + h}), var),
                              design(frame.assign(**{var: values - h}), var), scale=2 * h)
            rows.append((var, var, AME_KINDS["slope"], ame, se))
    out = pd.DataFrame(rows, columns=["term", "variable", "kind", "ame", "std_error"])
    out["statistic"] = out["ame"] / out["std_error"]
    out["p_value"] = 2 * stats.norm.sf(np.abs(out["statistic"]))
    out["conf_low"] = out["ame"] - z * out["std_error"]
    out["conf_high"] = out["ame"] + z * out["std_error"]
    return out[MARGEFF_COLUMNS]
