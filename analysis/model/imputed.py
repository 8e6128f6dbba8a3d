"""A run's model under multiple imputation: select on the imputed data sets, pool the final model, keep the
complete-case fit beside it.

:func:`fit_imputed` expands the training rows with a missing value (and the complete ones) to rows, imputes
them ``m`` times by chained equations (:func:`analysis.model.imputation.impute`, as R's mice), selects the
terms by Rubin's-rules Wald tests (Wood, White & Royston 2008: :func:`~analysis.model.imputation.select_imputed`,
backward elimination; a run asking for "both" or "forward" selection is run backward, and the result says
so), fits the selected model on each completed data set (as patterns) and pools it by Rubin's rules with
Barnard-Rubin degrees of freedom (:func:`~analysis.model.imputation.pool`). Tested in
tests/model/test_imputed.py against the functions it combines (themselves tested against mice 3.15).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from analysis.errors import ModelError
from analysis.model.fit import blank_odds_ratios, fit_logit
from analysis.model.imputation import impute, pool, select_imputed
from analysis.model.terms import term_variables
from analysis.read.patterns import EVENTS, TRIALS, expand

#: multiple imputation works on rows held in memory: at most this many (a larger data set is refused with
#: advice: complete cases are counted and compared, or impute a sample)
MAX_ROWS = 500_000
RESPONSE = "_event"
#: the selection rule's name, as the report states it
RULE = ("backward elimination by Rubin's-rules Wald tests (the pooled Wald chi-square of each term against the "
        "AIC's penalty of 2 per coefficient; Wood, White & Royston 2008)")


@dataclass
class ImputedFit:
    terms: tuple
    pooled: pd.DataFrame          # pool()'s table with odds ratios (blank for the intercept and spline bases)
    path: pd.DataFrame            # the selection path under imputation
    m: int
    seed: int
    rows: int                     # training rows imputed (complete and incomplete)
    rows_with_missing: int
    direction: str                # the direction run ("backward" or "none")
    asked: str                    # the direction the run asked for


def _rows(table: pd.DataFrame, variables, binary) -> pd.DataFrame:
    """The rows of a pattern table (complete and incomplete patterns), the binary 0/1 variables as
    categories (mice imputes a two-level factor by logistic regression)."""
    rows = expand(table[[*variables, TRIALS, EVENTS]], response=RESPONSE)
    for name in binary:
        rows[name] = rows[name].map(lambda v: v if pd.isna(v) else str(int(v))).astype(object)
    return rows


def _patterns(data: pd.DataFrame, variables, binary) -> pd.DataFrame:
    """A completed data set as its pattern table (binary variables back to 0/1)."""
    data = data.copy()
    for name in binary:
        data[name] = data[name].astype(int)
    grouped = data.groupby(list(variables), sort=True, observed=True)[RESPONSE].agg(["size", "sum"]).reset_index()
    return grouped.rename(columns={"size": TRIALS, "sum": EVENTS})


def fit_imputed(table: pd.DataFrame, terms, settings, *, m: int = 20, seed: int = 100, maxit: int = 10,
                binary=(), progress=lambda message: None) -> ImputedFit:
    """Impute the rows of ``table`` (the training patterns, complete and incomplete: ``Samples.with_incomplete``)
    ``m`` times, select among ``terms`` by the RR rule with ``settings`` (a ``SelectionSettings``), and pool
    the selected model. ``binary``: the names of 0/1 variables (imputed as two-level factors)."""
    variables = list(dict.fromkeys(v for t in terms for v in term_variables(t)))
    n = int(table[TRIALS].sum())
    if n > MAX_ROWS:
        raise ModelError(f"Multiple imputation works on the rows in memory, at most {MAX_ROWS:,}; these data have "
                         f"{n:,}. Use --missing complete_cases (the rows with a missing value are counted and "
                         "compared with the others), or impute a sample of the rows.")
    incomplete = int(table.loc[table[variables].isna().any(axis=1), TRIALS].sum())
    binary = [b for b in binary if b in variables]
    rows = _rows(table, variables, binary)
    progress(f"multiple imputation: {m} data sets of {n:,} rows ({incomplete:,} with a missing value), seed {seed}")
    imp = impute(rows, RESPONSE, m=m, maxit=maxit, seed=seed)
    datasets = [_patterns(imp.complete(i), variables, binary) for i in range(m)]
    asked = settings.direction
    run = replace(settings, direction="backward" if asked in ("both", "forward", "backward") else "none")
    progress(f"selection under imputation ({run.direction}, {run.criterion})")
    selected, path = select_imputed(datasets, EVENTS, list(terms), run, trials=TRIALS)
    if not selected:
        raise ModelError("The selection under imputation kept no term. Use --select none to see the full model.")
    fits = [fit_logit(d, EVENTS, list(selected), trials=TRIALS) for d in datasets]
    pooled = pool(fits)
    pooled["odds_ratio"] = np.exp(pooled["estimate"])
    pooled["or_conf_low"] = np.exp(pooled["conf_low"])
    pooled["or_conf_high"] = np.exp(pooled["conf_high"])
    return ImputedFit(terms=tuple(selected), pooled=blank_odds_ratios(pooled), path=path, m=m, seed=seed, rows=n,
                      rows_with_missing=incomplete, direction=run.direction, asked=asked)
