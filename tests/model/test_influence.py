"""Influence diagnostics by (pattern, outcome) cell against statsmodels' GLM influence on the expanded rows,
exact leave-one-row-out refits against statsmodels fits, a flip against a 2 x 2 table's closed form, and a
run on the real data's pattern table."""
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats

from analysis.model.fit import fit_logit
from analysis.model.influence import CELL_COLUMNS, FLIP_COLUMNS, influence
from analysis.read.patterns import expand, from_rows

REL = 1e-8
TERMS = ["C(g)", "x", "b", "x:b"]


def simulated_rows(n=3000, seed=18):
    """3,000 rows on 248 covariate patterns (g: 4 levels, x: 0..30, b: 0/1), 7 coefficients."""
    rng = np.random.default_rng(seed)
    rows = pd.DataFrame({"g": rng.choice(["a", "b", "c", "d"], n, p=[.4, .3, .2, .1]), "x": rng.integers(0, 31, n),
                         "b": rng.integers(0, 2, n)})
    eta = -1 + 0.4 * (rows.g == "b") - 0.5 * (rows.g == "d") + 0.05 * rows.x - 0.6 * rows.b + 0.02 * rows.x * rows.b
    rows["y"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    return rows


@pytest.fixture(scope="module")
def simulated():
    rows = simulated_rows()
    patterns = from_rows(rows, np.zeros(len(rows), bool), ["g", "x", "b"], "y").drop(columns="sample")
    expanded = expand(patterns, "y")
    fit = fit_logit(patterns, "events", TERMS, trials="trials")
    glm = smf.glm("y ~ " + " + ".join(TERMS), expanded, family=sm.families.Binomial()).fit(method="newton", tol=1e-12)
    return patterns, expanded, fit, glm


def by_row(infl, rows):
    """Each row's cell: the row's values of the variables and its outcome."""
    cells = infl.cells.rename(columns={"outcome": "y"})
    out = rows.merge(cells, on=["g", "x", "b", "y"], how="left", validate="many_to_one")
    assert len(out) == len(rows) and out["cell"].notna().all()
    return out


def wide(infl, names):
    """The long dfbetas table back to cells x coefficients (and checked equal to ``dfbetas_matrix``)."""
    table = infl.dfbetas.pivot(index="cell", columns="term", values="dfbetas").loc[:, names].to_numpy()
    assert infl.terms == names and np.array_equal(table, infl.dfbetas_matrix)
    return table


def test_cells_equal_statsmodels_glm_influence_on_the_rows(simulated):
    """Pattern fit: every row's leverage, Pearson and deviance residual, Cook's distance and dfbetas equal
    statsmodels' GLM(Binomial) on the 3,000 expanded rows (get_influence(), resid_pearson, resid_deviance),
    1e-8 relative (observed: 4e-14, 5e-16, 5e-16, 4e-14, 7e-11)."""
    patterns, expanded, fit, glm = simulated
    infl = influence(fit)
    assert list(infl.cells.columns) == [*CELL_COLUMNS[:2], "g", "x", "b", *CELL_COLUMNS[2:]]
    assert infl.cells["rows"].sum() == len(expanded)
    assert len(infl.cells) == (patterns["events"] > 0).sum() + (patterns["events"] < patterns["trials"]).sum()
    ref = glm.get_influence()
    rows = by_row(infl, expanded)
    np.testing.assert_allclose(rows["leverage"], ref.hat_matrix_diag, rtol=REL)
    np.testing.assert_allclose(rows["pearson"], glm.resid_pearson, rtol=REL)
    np.testing.assert_allclose(rows["deviance"], glm.resid_deviance, rtol=REL)
    np.testing.assert_allclose(rows["cooks_distance"], ref.cooks_distance[0], rtol=REL)
    np.testing.assert_allclose(rows["fitted"], glm.fittedvalues, rtol=REL)
    np.testing.assert_allclose(wide(infl, list(fit.params.index))[rows["cell"]], ref.dfbetas, rtol=REL, atol=1e-14)
    # a pattern's binomial leverage is the sum of its rows'
    np.testing.assert_allclose(infl.cells.groupby("pattern")["leverage"].first() * patterns["trials"],
                               fit.get_hat_matrix_diag(), rtol=REL)


def test_row_fit_gives_the_same_cells(simulated):
    """The row Logit (fit_logit without trials): one cell per row, each equal to its pattern cell's (1e-8)."""
    patterns, expanded, fit, _ = simulated
    by_pattern = by_row(influence(fit), expanded)
    on_rows = influence(fit_logit(expanded, "y", TERMS)).cells
    assert (on_rows["rows"] == 1).all() and len(on_rows) == len(expanded)
    for column in ("leverage", "pearson", "deviance", "cooks_distance"):
        np.testing.assert_allclose(on_rows[column], by_pattern[column], rtol=REL)


def test_exact_refits_without_one_row_equal_statsmodels(simulated):
    """For the top 3 cells: the estimates and Wald limits without one row of the cell equal a statsmodels GLM
    fitted on the rows minus that row (1e-8 relative; observed 2e-14); the one-step dfbeta (statsmodels'
    d_params) is only an approximation of that change (its estimates differ from the refit's by 2e-4 to 4e-4
    relative here), which is why flips refit."""
    patterns, expanded, fit, glm = simulated
    infl = influence(fit)
    names = list(fit.params.index)
    flips = infl.flips(names, k=3)
    assert list(flips.columns) == ["cell", "pattern", "g", "x", "b", "outcome", "rows", *FLIP_COLUMNS]
    assert len(flips) == 3 * len(names)
    z = stats.norm.ppf(0.975)
    d_params = glm.get_influence().d_params
    for cell, got in flips.groupby("cell", sort=False):
        c = got.iloc[0]
        drop = expanded.index[(expanded[["g", "x", "b", "y"]] == [c.g, c.x, c.b, c.outcome]).all(axis=1)][0]
        ref = smf.glm("y ~ " + " + ".join(TERMS), expanded.drop(index=drop),
                      family=sm.families.Binomial()).fit(method="newton", tol=1e-12)
        got = got.set_index("term").loc[names]
        np.testing.assert_allclose(got["estimate_without"], ref.params, rtol=REL)
        np.testing.assert_allclose(got["conf_low_without"], ref.params - z * ref.bse, rtol=REL)
        np.testing.assert_allclose(got["conf_high_without"], ref.params + z * ref.bse, rtol=REL)
        one_step = fit.params.to_numpy() - d_params[drop]
        assert np.max(np.abs(one_step - ref.params) / np.abs(ref.params)) > 1e-6
    assert not flips["flips"].any() and (flips["note"] == "").all()


def two_by_two(a, b, c, d):
    """A 2 x 2 table as patterns: x = 1 has a events and b non-events, x = 0 has c and d."""
    return pd.DataFrame({"x": [0, 1], "events": [c, a], "trials": [c + d, a + b]})


def wald_log_or(a, b, c, d, z=stats.norm.ppf(0.975)):
    est, se = np.log(a * d / (b * c)), np.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    return est - z * se, est + z * se


def test_a_flip_against_the_closed_form_of_a_2x2_table():
    """x = 1: 20 events of 85; x = 0: 50 of 350. The log odds ratio's Wald interval (closed form: log(ad/bc)
    -/+ z sqrt(1/a + 1/b + 1/c + 1/d)) excludes 0; without one event row of x = 1 it includes 0 (a flip);
    without one non-event row of x = 0 it still excludes 0. Limits equal the closed form to 1e-10."""
    a, b, c, d = 20, 65, 50, 300
    assert wald_log_or(a, b, c, d)[0] > 0 > wald_log_or(a - 1, b, c, d)[0]
    infl = influence(fit_logit(two_by_two(a, b, c, d), "events", ["x"], trials="trials"))
    flips = infl.flips(["x"], k=4).set_index(["x", "outcome"])
    assert len(flips) == 4
    event_x1 = flips.loc[(1, 1)]
    assert (event_x1["conf_low"], event_x1["conf_high"]) == pytest.approx(wald_log_or(a, b, c, d), rel=1e-10)
    assert (event_x1["conf_low_without"], event_x1["conf_high_without"]) == pytest.approx(
        wald_log_or(a - 1, b, c, d), rel=1e-10)
    assert event_x1["relation"] == "above 1" and event_x1["relation_without"] == "includes 1" and event_x1["flips"]
    non_event_x0 = flips.loc[(0, 0)]
    assert (non_event_x0["conf_low_without"], non_event_x0["conf_high_without"]) == pytest.approx(
        wald_log_or(a, b, c, d - 1), rel=1e-10)
    assert not non_event_x0["flips"]


def test_top_cells_and_a_refit_without_a_finite_maximum():
    """top() ranks by Cook's distance (decreasing); removing the only event of x = 1 leaves no finite
    maximum: NaN limits, flips NA and a note."""
    infl = influence(fit_logit(two_by_two(1, 19, 30, 50), "events", ["x"], trials="trials"))
    top = infl.top(10)
    assert list(top["rank"]) == [1, 2, 3, 4] and top["cooks_distance"].is_monotonic_decreasing
    flips = infl.flips(["x"], k=4).set_index(["x", "outcome"])
    lone = flips.loc[(1, 1)]
    assert pd.isna(lone["flips"]) and np.isnan(lone["conf_low_without"]) and "no finite maximum" in lone["note"]
    assert flips.drop(index=(1, 1))["flips"].notna().all()
    with pytest.raises(ValueError, match="unknown coefficient"):
        infl.flips(["z"])


def test_runs_on_the_real_data_pattern_table(real_data_path):
    """The default model on all 25,317 rows (12,300 patterns, 27 coefficients): every row in one cell,
    finite diagnostics, and the flips of every coefficient for the top 10 cells (observed: 0.2 s and
    0.1 s; none flips)."""
    from analysis.read import read_patterns
    from analysis.model.terms import model_terms, resolve_knots
    from analysis.spec import default_spec

    spec = default_spec()
    table = read_patterns(real_data_path, spec, seed=100, test_size=0.0).sample("train")
    terms, _ = resolve_knots(model_terms(spec, table)[0], table)
    fit = fit_logit(table, "events", terms, trials="trials")
    infl = influence(fit)
    assert infl.cells["rows"].sum() == table["trials"].sum() == 25317
    assert infl.cells.loc[infl.cells["outcome"] == 1, "rows"].sum() == table["events"].sum()
    assert len(infl.dfbetas) == len(infl.cells) * 27
    assert np.isfinite(infl.cells[["leverage", "pearson", "deviance", "cooks_distance"]].to_numpy()).all()
    flips = infl.flips([n for n in fit.params.index if n != "Intercept"], k=10)
    assert len(flips) == 10 * 26 and flips["flips"].notna().all()


def test_fit_method_delegates(simulated):
    """Fit.influence() is influence(fit.results); a Firth fit has none (ValueError)."""
    from analysis.model.firth import firth_fit
    from analysis.model.fit import Fit

    patterns, _, fit, _ = simulated
    wrapped = Fit(fit, data=patterns, terms=tuple(TERMS), candidates=tuple(TERMS), knots=pd.DataFrame(), baselines={})
    pd.testing.assert_frame_equal(wrapped.influence().cells, influence(fit).cells)
    firth = firth_fit(patterns, TERMS, knots=pd.DataFrame(), baselines={})
    with pytest.raises(ValueError, match="maximum-likelihood"):
        firth.influence()
