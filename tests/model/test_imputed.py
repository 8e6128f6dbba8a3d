"""analysis.model.imputed: a run's model under multiple imputation, against mice 3.15 (tests/reference/r/
mice_titanic.json, made by mice_titanic.R: 100 mice runs' pooled results on the Titanic data) and against the
functions it combines (``impute``, ``select_imputed``, ``pool``, themselves tested against mice)."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.model.imputation import pool_details, select_imputed
from analysis.model.imputed import MAX_ROWS, ModelError, fit_imputed
from analysis.model.selection import SelectionSettings
from analysis.read import patterns

ROOT = Path(__file__).resolve().parents[2]
REF = json.loads((ROOT / "tests" / "reference" / "r" / "mice_titanic.json").read_text())
TERMS = ["sex_female", "C(passengerClass, Treatment(reference='3rd'))", "age"]


@pytest.fixture(scope="module")
def table():
    """The Titanic rows as the package's pattern table, complete and incomplete patterns (age missing)."""
    rows = pd.read_csv(ROOT / "tests" / "data" / "public" / "titanic.csv")
    rows = rows.assign(sex_female=(rows["sex"] == "female").astype("int64"),
                       flag=(rows["survived"] == "yes").astype("int64"))
    variables = ["sex_female", "passengerClass", "age"]
    grouped = rows.groupby(variables, dropna=False, sort=True)["flag"].agg(["size", "sum"]).reset_index()
    return grouped.rename(columns={"size": patterns.TRIALS, "sum": patterns.EVENTS})


def test_pooled_run_agrees_with_mice_within_monte_carlo_error(table):
    """fit_imputed(m = 20) of the full model: pooled estimates and standard errors within |z| < 4 of 100 mice
    runs (pmm for age; z = (ours - mean of mice's) / (sd of mice's x sqrt(1 + 1/100))), the 1,309 rows of
    which 263 miss age, and the age coefficient's SE above its complete-case SE, as in every mice run."""
    got = fit_imputed(table, TERMS, SelectionSettings(direction="none"), m=20, seed=2024, binary=["sex_female"])
    assert (got.rows, got.rows_with_missing, got.m, got.terms) == (1309, 263, 20, tuple(TERMS))
    runs = REF["D_monte_carlo"]["pmm"]["runs"]
    # R's order: (Intercept), sexfemale, passengerClass1st, passengerClass2nd, age (patsy puts C() terms first)
    order = ["Intercept", "sex_female", "C(passengerClass, Treatment(reference='3rd'))[T.1st]",
             "C(passengerClass, Treatment(reference='3rd'))[T.2nd]", "age"]
    pooled = got.pooled.set_index("term").loc[order]
    estimates, se = pooled["estimate"].to_numpy(), pooled["std_error"].to_numpy()
    for ours, key in ((estimates, "estimate"), (se, "se")):
        r = np.asarray(runs[key], dtype=float)
        z = (ours - r.mean(axis=0)) / (r.std(axis=0, ddof=1) * np.sqrt(1 + 1 / len(r)))
        assert np.abs(z).max() < 4, (key, z)
    complete = table.dropna()
    from analysis.model.fit import fit_logit, tidy

    cc = tidy(fit_logit(complete, patterns.EVENTS, TERMS, trials=patterns.TRIALS)).set_index("term")
    assert se[-1] > cc.loc["age", "std_error"]
    # the odds ratios are the pooled estimates exponentiated; the intercept's is blank
    assert np.isnan(pooled["odds_ratio"].iloc[0])
    np.testing.assert_allclose(pooled["odds_ratio"].iloc[1:], np.exp(estimates[1:]), rtol=1e-14)


def test_selection_under_imputation_is_select_imputed(table):
    """A run asking for "both" selects backward by the RR rule: the same terms and path as select_imputed on
    the same completed data sets (re-made with the same seed)."""
    from analysis.model.imputation import impute
    from analysis.model.imputed import RESPONSE, _patterns, _rows

    settings = SelectionSettings(direction="both", criterion="aic")
    got = fit_imputed(table, TERMS, settings, m=8, seed=7, binary=["sex_female"])
    assert (got.direction, got.asked) == ("backward", "both")
    variables = ["sex_female", "passengerClass", "age"]
    imp = impute(_rows(table, variables, ["sex_female"]), RESPONSE, m=8, maxit=10, seed=7)
    datasets = [_patterns(imp.complete(i), variables, ["sex_female"]) for i in range(8)]
    terms, path = select_imputed(datasets, patterns.EVENTS, TERMS, SelectionSettings(direction="backward"),
                                 trials=patterns.TRIALS)
    assert got.terms == tuple(terms)
    pd.testing.assert_frame_equal(got.path, path)
    details = pool_details([__import__("analysis").fit_logit(d, patterns.EVENTS, list(terms), patterns.TRIALS)
                            for d in datasets])
    np.testing.assert_allclose(got.pooled["estimate"], details["estimate"], rtol=1e-12)


def test_a_binary_variable_is_imputed_as_a_two_level_factor():
    """A 0/1 variable with missing values is imputed by logistic regression (mice's logreg for a two-level
    factor) and comes back as 0/1 in every completed data set."""
    rng = np.random.default_rng(4)
    n = 400
    x = rng.normal(size=n)
    b = (rng.uniform(size=n) < 1 / (1 + np.exp(-x))).astype(float)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(0.5 * x + b - 0.5)))).astype(int)
    b[rng.choice(n, 60, replace=False)] = np.nan
    rows = pd.DataFrame({"x": np.round(x, 1), "b": b, "flag": y})
    table = rows.groupby(["x", "b"], dropna=False)["flag"].agg(["size", "sum"]).reset_index()
    table = table.rename(columns={"size": patterns.TRIALS, "sum": patterns.EVENTS})
    got = fit_imputed(table, ["x", "b"], SelectionSettings(direction="none"), m=5, seed=1, binary=["b"])
    assert got.rows_with_missing == 60 and np.isfinite(got.pooled["estimate"]).all()


def test_too_many_rows_are_refused_with_advice():
    big = pd.DataFrame({"x": [1.0, np.nan], patterns.TRIALS: [MAX_ROWS, 1], patterns.EVENTS: [10, 0]})
    with pytest.raises(ModelError, match="complete_cases"):
        fit_imputed(big, ["x"], SelectionSettings(direction="none"))
