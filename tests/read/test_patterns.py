"""The covariate-pattern table and the pipeline that runs on it, against per-row computations.

``patterns.from_rows`` against a pandas groupby; ``pipeline.run`` (which fits, selects, evaluates and
describes on patterns) against the same analysis done independently on the rows: statsmodels
``smf.logit`` on the training rows, the evaluation functions on per-row probabilities, crosstabs and
numpy on the rows; the exploratory figures from patterns against those from rows (PNG bytes); and
``run_patterns`` on the streamed DuckDB pattern table against ``run``.
"""
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from analysis.evaluate import discrimination as evaluation
from analysis.evaluate import explore
from analysis.model import fit as model
from analysis.model import fit as fit_module
from analysis.model import inference
from analysis.read import patterns
from analysis import pipeline
from analysis.present import plots
from analysis.read import split
from analysis.read import read_patterns
from analysis.spec import default_spec
from analysis.model.selection import stepwise
from analysis.model.inference import gvif_from_results

from analysis.model.splines import rcs  # noqa: F401 - the formulas of the fits below use rcs(...)

from conftest import PREDICTORS, SPEC_VARIABLES, pandas_rows

SPEC = default_spec()

REL = 1e-8


def reference_patterns(cleaned: pd.DataFrame, is_test) -> pd.DataFrame:
    """groupby(...).agg(size, sum) with sorted observed keys, train before test (independent of from_rows)."""
    frame = cleaned.assign(sample=np.where(is_test, "test", "train"))
    keys = ["sample", *PREDICTORS]
    table = frame.groupby(keys, sort=True).agg(trials=("flag", "size"), events=("flag", "sum")).reset_index()
    table["_order"] = (table["sample"] == "test").astype(int)
    table = table.sort_values(["_order", *PREDICTORS]).drop(columns="_order").reset_index(drop=True)
    return table.astype({"trials": "int64", "events": "int64"})


def rel_equal(got, expected, rel=REL, abs_=0.0):
    np.testing.assert_allclose(np.asarray(got, dtype=float), np.asarray(expected, dtype=float), rtol=rel, atol=abs_)


# ------------------------------------------------------------------------------------------ the table


@pytest.mark.parametrize("test_size", [0.3, 0.0])
def test_from_rows_equals_pandas_groupby(real_data_path, test_size):
    data, ids = pandas_rows(real_data_path)
    is_test = split.in_test_sample(ids, 100, test_size)
    got = patterns.from_rows(data, is_test, PREDICTORS, "flag")
    expected = reference_patterns(data, is_test)
    columns = list(patterns.columns(PREDICTORS))
    assert list(got.columns) == columns
    pd.testing.assert_frame_equal(got, expected[columns], check_dtype=True)
    assert got["trials"].sum() == len(data) and got["events"].sum() == data["flag"].sum()
    if test_size == 0:
        assert len(got) == 12_300 and set(got["sample"]) == {"train"}


def test_reader_table_equals_from_rows(real_data_path):
    data, ids = pandas_rows(real_data_path)
    expected = patterns.from_rows(data, split.in_test_sample(ids, 100, 0.3), SPEC_VARIABLES, "flag")
    got = read_patterns(real_data_path, SPEC, seed=100, test_size=0.3).patterns
    pd.testing.assert_frame_equal(got, expected)


def test_expand_gives_back_the_rows(real_clean):
    table = patterns.from_rows(real_clean, np.zeros(len(real_clean), dtype=bool), PREDICTORS, "flag")
    rows = patterns.expand(table, "flag").drop(columns="sample")[list(real_clean.columns)]
    key = list(real_clean.columns)
    a = rows.sort_values(key).reset_index(drop=True)
    b = real_clean.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_from_rows_rejects_bad_input():
    df = pd.DataFrame({c: [1, 2] for c in PREDICTORS}).assign(flag=[0, 1])
    with pytest.raises(ValueError, match="values for 2 rows"):
        patterns.from_rows(df, [True], PREDICTORS, "flag")
    with pytest.raises(ValueError, match="0/1"):
        patterns.from_rows(df.assign(flag=[0, 2]), [False, False], PREDICTORS, "flag")
    with pytest.raises(ValueError, match="not in the data"):
        patterns.from_rows(df.drop(columns="age"), [False, False], PREDICTORS, "flag")
    with pytest.raises(ValueError, match="missing values"):
        patterns.from_rows(df.assign(age=[1, None]), [False, False], PREDICTORS, "flag")
    table = patterns.from_rows(df, [False, True], PREDICTORS, "flag")
    with pytest.raises(ValueError, match="trials >= 1"):
        patterns.validate(table.assign(events=[2, 0]), PREDICTORS)
    with pytest.raises(ValueError, match="'train' or 'test'"):
        patterns.validate(table.assign(sample=["train", "x"]), PREDICTORS)


# ---------------------------------------------------------------------- the pipeline against rows


@pytest.fixture(scope="module")
def config(real_data_path):
    return pipeline.RunConfig(data=real_data_path, test_size=0.3, seed=100)


@pytest.fixture(scope="module")
def results(config):
    return pipeline.run(config)


@pytest.fixture(scope="module")
def rows(config, results):
    """The per-row analysis, done independently of the pattern path: rows read by pandas, the numpy
    split, statsmodels Logit fits of the run's candidate terms on the training rows."""
    data, ids = pandas_rows(config.data)
    is_test = split.in_test_sample(ids, config.seed, config.test_size)
    train = data[~is_test].reset_index(drop=True)
    test = data[is_test].reset_index(drop=True)
    terms = results.metrics["terms"]
    selection = stepwise(train, "flag", terms)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = smf.logit("flag ~ " + " + ".join(terms), train).fit(method="newton", tol=1e-10, disp=0)
        final = smf.logit("flag ~ " + " + ".join(selection.terms), train).fit(method="newton", tol=1e-10, disp=0)
    return {"all": data, "train": train, "test": test, "full": full, "final": final,
            "selection": selection, "is_test": is_test}


def test_coefficients_equal_logit_on_rows(results, rows):
    for name, fit in (("coefficients", rows["final"]), ("coefficients_full", rows["full"])):
        table = results.tables[name]
        assert table["term"].tolist() == list(fit.params.index)
        rel_equal(table["estimate"], fit.params)
        rel_equal(table["std_error"], fit.bse)
        rel_equal(table["statistic"], fit.tvalues)
        rel_equal(table["p_value"], fit.pvalues, rel=1e-6)
        ci = fit.conf_int()
        rel_equal(table["conf_low"], ci[0])
        # odds ratios of the intercept and spline basis coefficients are left blank (issue 18)
        shown = table["kind"].isin(["effect", "interaction"]).to_numpy()
        rel_equal(table["or_conf_high"][shown], np.exp(ci[1])[shown])
        assert table["or_conf_high"][~shown].isna().all() and table["kind"].iloc[0] == "intercept"


def test_fit_statistics_equal_logit_on_rows(results, rows):
    for key, fit in (("model", rows["final"]), ("full_model", rows["full"])):
        m = results.metrics[key]
        assert m["n_obs"] == len(rows["train"]) and m["events"] == rows["train"]["flag"].sum()
        assert m["llf"] == pytest.approx(fit.llf, rel=1e-10)
        assert m["aic"] == pytest.approx(fit.aic, rel=1e-10)
        assert m["bic"] == pytest.approx(fit.bic, rel=1e-10)
        # statsmodels' llnull is a numerical optimum, up to ~1e-10 below the closed-form maximum
        assert m["llnull"] == pytest.approx(fit.llnull, rel=1e-9) and m["llnull"] >= fit.llnull
        assert m["lr_df"] == fit.df_model and m["converged"]
    assert results.metrics["formula"] == "flag ~ " + " + ".join(rows["selection"].terms)


def test_selection_equals_rows(results, rows):
    assert results.metrics["selected_terms"] == list(rows["selection"].terms)
    path, expected = results.tables["stepwise"], rows["selection"].path
    assert path[["step", "action", "term"]].equals(expected[["step", "action", "term"]])
    rel_equal(path["criterion"], expected["criterion"], rel=1e-10)
    rel_equal(path["statistic"], expected["statistic"], rel=1e-8)


def test_model_tables_equal_rows(results, rows):
    final = rows["final"]
    pd.testing.assert_frame_equal(results.tables["type3_tests"], inference.type3_tests(final), rtol=REL, atol=0)
    pd.testing.assert_frame_equal(results.tables["vif"], gvif_from_results(final), rtol=REL, atol=0)
    me = final.get_margeff(dummy=True, count=True).summary_frame()
    table = results.tables["marginal_effects"].set_index("term")
    for term in ("returned_yes", "loan_yes"):            # 0/1 columns of the final model (statsmodels' dummies)
        assert table.loc[term, "ame"] == pytest.approx(me.loc[term, "dy/dx"], rel=REL)
        assert table.loc[term, "std_error"] == pytest.approx(me.loc[term, "Std. Err."], rel=REL)
    # a spline variable's marginal effect is a curve: the run's table leaves it out (issue 18)
    splines = {model.term_column(t) for t in results.metrics["selected_terms"] if t.startswith("rcs(")}
    everything = inference.marginal_effects(final)
    pd.testing.assert_frame_equal(results.tables["marginal_effects"],
                                  everything[~everything["variable"].isin(splines)].reset_index(drop=True),
                                  rtol=REL, atol=1e-12)


def row_probabilities(fit, frame):
    """statsmodels' prediction of each row; rows with the same values of the model's columns get one value
    (their first), so that last-bit differences do not split ties."""
    columns = sorted({model.term_column(t) for t in fit.model.data.model_spec.term_names if t != "Intercept"})
    p = np.asarray(fit.predict(frame), dtype=float)
    keys = frame[columns].astype(str).agg("|".join, axis=1)
    return pd.Series(p).groupby(keys.to_numpy()).transform("first").to_numpy()


@pytest.mark.parametrize("sample", ["train", "test"])
def test_evaluation_equals_rows(results, rows, sample):
    frame = rows[sample]
    p = row_probabilities(rows["final"], frame)
    y = frame["flag"].to_numpy()
    expected = evaluation.evaluate(p, y)
    got = results.metrics[sample]
    assert got["n"] == len(frame) and got["events"] == y.sum()
    for key in ("auc", "auc_ci_low", "auc_ci_high", "ks", "ks_threshold", "somers_d", "gamma", "tau_a", "c",
                "brier", "hl_chi2", "hl_p"):
        assert got[key] == pytest.approx(expected[key], rel=1e-9), key
    if sample == "test":
        gains = results.tables["gains"].drop(columns="sample")
        pd.testing.assert_frame_equal(gains, evaluation.gains_table(p, y), rtol=1e-9, atol=0)
        _, hl = evaluation.hosmer_lemeshow(p, y)
        pd.testing.assert_frame_equal(results.tables["hosmer_lemeshow"].drop(columns="sample"), hl,
                                      rtol=1e-9, atol=0)


def test_exploratory_tables_equal_rows(results, rows):
    data = rows["all"]
    for column in ("returned_yes", "marriage", "job", "loan_yes", "default_yes"):
        table = results.tables[f"rate_by_{column.removesuffix('_yes')}"]
        tab = pd.crosstab(data[column], data["flag"])
        assert table["level"].tolist() == tab.index.tolist()
        assert table["n"].tolist() == tab.sum(axis=1).tolist()
        assert table["events"].tolist() == tab[1].tolist()
        rel_equal(table["rate"], tab[1] / tab.sum(axis=1), rel=1e-15)
    split_table = results.tables["split"].set_index("sample")
    assert split_table.loc["train", "rows"] == len(rows["train"])
    assert split_table.loc["test", "rows"] == len(rows["test"])
    assert split_table.loc["test", "events"] == rows["test"]["flag"].sum()
    means = data.groupby("flag").mean(numeric_only=True).T
    got = results.tables["means_by_flag"].set_index("variable")
    assert got.index.tolist() == means.index.tolist()
    rel_equal(got["mean_flag_0"], means[0], rel=1e-15)
    rel_equal(got["mean_flag_1"], means[1], rel=1e-15)
    corr = results.tables["correlations"]
    rel_equal(corr, np.corrcoef(data[list(corr.columns)].to_numpy(dtype=float), rowvar=False), rel=0, abs_=1e-12)
    assert results.metrics["data"]["rows_used"] == len(data)
    assert results.metrics["data"]["n_patterns"] == len(patterns.from_rows(data, rows["is_test"], SPEC_VARIABLES,
                                                                           "flag"))


def test_profile_equals_rows(results, rows):
    data = rows["all"]
    p = row_probabilities(rows["final"], data)
    expected = explore.profile_by_score(data, p, top_share=pipeline.TOP_SHARE, spec=SPEC, response="flag")
    got = results.tables[explore.PROFILE_TABLE]
    pd.testing.assert_frame_equal(got, expected, rtol=1e-12, atol=1e-15)
    assert results.metrics["profile"]["threshold"] == pytest.approx(expected.attrs["threshold"], rel=1e-12)
    assert results.metrics["profile"]["n_top"] == expected.attrs["n_top"]


def test_run_patterns_checks_the_split_parameters(config, real_data_path):
    made = read_patterns(real_data_path, SPEC, seed=7, test_size=0.3)
    with pytest.raises(ValueError, match="seed=7"):
        pipeline.run_patterns(made, config)


def test_run_patterns_on_the_streamed_duckdb_table_equals_run(config, results):
    pdata = read_patterns(config.data, SPEC, seed=config.seed, test_size=config.test_size, engine="duckdb")
    other = pipeline.run_patterns(pdata, config)
    assert other.tables.keys() == results.tables.keys()
    for name, table in results.tables.items():
        pd.testing.assert_frame_equal(other.tables[name], table, check_exact=True, obj=name)
    for key in results.metrics:
        if key != "data":
            assert other.metrics[key] == results.metrics[key], key


# ------------------------------------------------------------------------------- figures from patterns


@pytest.mark.parametrize("name", ["rate_by_returned", "rate_by_job", "rate_by_marriage", "age_distribution",
                                  "rate_by_age_group", "correlation_heatmap"])
def test_eda_figures_from_patterns_equal_rows(real_clean, tmp_path, name):
    table = patterns.from_rows(real_clean, split.in_test_sample(np.arange(len(real_clean)), 1, 0.3), PREDICTORS, "flag")
    eda = table[[*PREDICTORS, "trials", "events"]]
    # weighted rows built by hand: each pattern as a row of users and a row of non-users, with counts
    users = table[table["events"] > 0].assign(flag=1, count=lambda t: t["events"])
    others = table[table["trials"] > table["events"]].assign(flag=0, count=lambda t: t["trials"] - t["events"])
    weighted = pd.concat([others, users])[[*PREDICTORS, "flag", "count"]]
    draw = {
        "rate_by_returned": lambda df, **kw: plots.plot_rate_by(df, "returned_yes", response="flag", **kw),
        "rate_by_job": lambda df, **kw: plots.plot_rate_by(df, "job", response="flag", **kw),
        "rate_by_marriage": lambda df, **kw: plots.plot_rate_by(df, "marriage", response="flag", **kw),
        "age_distribution": lambda df, **kw: plots.plot_distribution(df, column="age", mark=60, response="flag", **kw),
        "rate_by_age_group": lambda df, **kw: plots.plot_rate_by_group(df, (18, 30, 40, 50, 60, np.inf), "age",
                                                                        response="flag", **kw),
        "correlation_heatmap": lambda df, **kw: plots.plot_correlation_heatmap(explore.correlations(df, response="flag", **kw)),
    }[name]
    paths = {}
    for form, (df, kw) in {"rows": (real_clean[[*PREDICTORS, "flag"]], {}), "patterns": (eda, {}),
                           "weighted": (weighted, {"weights": "count"})}.items():
        paths[form] = plots.save_figure(draw(df, **kw), tmp_path / form, name, formats=("png",))[0]
    assert paths["patterns"].read_bytes() == paths["rows"].read_bytes()
    assert paths["weighted"].read_bytes() == paths["rows"].read_bytes()


def test_appendix_summary_is_statsmodels_logit_on_the_rows(results, rows):
    """Up to LOGIT_SUMMARY_MAX_ROWS training rows, the appendix shows smf.logit's own summary of the
    final model refitted on the rows: the same text as the independent row fit's summary."""
    assert len(rows["train"]) <= fit_module.LOGIT_SUMMARY_MAX_ROWS
    assert results.run["summary_fitted_on"] == "rows"
    expected = fit_module.undated(str(rows["final"].summary(yname="flag")))
    assert results.run["statsmodels_summary"] == expected
    assert results.run["full_model_summary"] == fit_module.undated(str(rows["full"].summary(yname="flag")))


def test_appendix_summary_of_a_large_run_is_the_pattern_fit(config, monkeypatch, rows):
    monkeypatch.setattr(fit_module, "LOGIT_SUMMARY_MAX_ROWS", 0)
    big = pipeline.run(config)
    assert big.run["summary_fitted_on"] == "covariate patterns"
    text = big.run["statsmodels_summary"]
    assert "covariate patterns standing for" in text
    expected = fit_module.undated(str(rows["final"].summary(yname="flag")))
    # the same table as the Logit's, plus the note on the pattern fit
    assert text.startswith(expected.rsplit("=", 1)[0].rstrip("="))
