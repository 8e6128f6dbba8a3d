"""Scale: the CLI's streamed path on a 1M-row file resampled from the real data, against the raw rows.

The file: 1,000,000 rows drawn with replacement from the real data (seeded), IDs renumbered 1..1M,
written as Parquet. The package reads it with DuckDB (``--engine duckdb``), reduces it to covariate
patterns and runs the whole analysis on them; the reference reads the same file with pandas, cleans
it by hand, splits it with the ID hash, and fits ``smf.logit`` on the training *rows*:

* estimates and standard errors of the full and the final model: 1e-8 relative;
* log-likelihood, AIC and BIC: 1e-10 relative;
* AUC (as the Mann-Whitney U with mid-ranks, scipy) and KS (two-sample KS statistic between the scores
  of users and non-users, scipy) on the test rows: 1e-9; Hosmer-Lemeshow (the package's function in
  per-row form) equal;
* the default specification's derived variables (months 2-6, last month as a category) are computed
  here by hand with pandas; spline terms carry their knots (rms rules), so the formulas are exact;
* selected terms: equal to the package's stepwise on the rows (``trials=None``: the Logit path,
  tested against R's step() on the real data), and the selected model is a fixed point of R's rule:
  no single drop or add lowers smf.logit's AIC on the rows.
"""
import json
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from analysis.evaluate import discrimination as evaluation
from analysis.config import resolve_engine
from analysis.read import split
from analysis.cli import main as cli_main
from analysis.model.selection import stepwise
from analysis.model.splines import rcs  # noqa: F401  (used by the formulas of the spline terms)

ROWS = 1_000_000
SEED, TEST_SIZE = 100, 0.3
REL = 1e-8


@pytest.fixture(scope="module")
def resampled(real_data_path, tmp_path_factory):
    real = pd.read_csv(real_data_path)
    rng = np.random.default_rng(20261125)
    rows = real.iloc[rng.integers(0, len(real), ROWS)].reset_index(drop=True)
    rows["ID"] = np.arange(1, ROWS + 1)
    path = tmp_path_factory.mktemp("scale") / "resampled_1m.parquet"
    rows.to_parquet(path, index=False)
    return path, rows


@pytest.fixture(scope="module")
def cli_output(resampled, tmp_path_factory):
    path, _ = resampled
    out = tmp_path_factory.mktemp("scale_out")
    code = cli_main(["fit", "--data", str(path), "--engine", "duckdb", "--out", str(out), "--quiet",
                     "--seed", str(SEED), "--test-size", str(TEST_SIZE)])
    assert code == 0
    return out


@pytest.fixture(scope="module")
def reference(resampled):
    """The raw rows, cleaned by hand (independently of analysis.read), split by the ID hash."""
    _, raw = resampled
    rows = raw.drop(columns="ID").copy()
    for column in ("default", "returned", "loan"):
        rows[f"{column}_yes"] = (rows.pop(column) == "yes").astype("int64")
    rows["flag"] = rows.pop("coupon_ind")
    # the default specification's derived variables, by hand
    last, six = rows["coupon_used_in_last_month"], rows["coupon_used_in_last6_month"]
    rows["coupons_months_2_6"] = six - last
    rows["coupons_last_month"] = last.clip(upper=4).astype(str)
    is_test = split.in_test_sample(raw["ID"].to_numpy(), SEED, TEST_SIZE)
    return rows[~is_test].reset_index(drop=True), rows[is_test].reset_index(drop=True)


def logit(data, terms):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return smf.logit("flag ~ " + " + ".join(terms), data).fit(disp=0, method="newton", tol=1e-12, maxiter=50)


@pytest.fixture(scope="module")
def final_on_rows(cli_output, reference):
    """smf.logit of the selected terms on the raw training rows, fitted once for the tests below."""
    metrics, _ = tables(cli_output)
    return logit(reference[0], metrics["selected_terms"])


def tables(out):
    return json.loads((out / "metrics.json").read_text()), {
        name: pd.read_csv(out / "tables" / f"{name}.csv") for name in ("coefficients", "coefficients_full")}


def assert_coefficients_equal(table, fit):
    got = table.set_index("term")
    assert got.index.tolist() == list(fit.params.index)
    np.testing.assert_allclose(got["estimate"], fit.params, rtol=REL)
    np.testing.assert_allclose(got["std_error"], fit.bse, rtol=REL)


def test_patterns_compress_and_engine_recorded(cli_output):
    metrics, _ = tables(cli_output)
    assert metrics["data"]["engine"] == "duckdb" and metrics["data"]["rows_used"] == ROWS
    assert metrics["data"]["n_patterns"] <= 2 * 12_300  # resampling adds no new combination of predictors
    assert metrics["data"]["format"] == "parquet"


def test_models_equal_logit_on_raw_rows(cli_output, reference, final_on_rows):
    train, _ = reference
    metrics, coefs = tables(cli_output)
    full = logit(train, metrics["terms"])
    assert_coefficients_equal(coefs["coefficients_full"], full)
    final = final_on_rows
    assert_coefficients_equal(coefs["coefficients"], final)
    assert metrics["model"]["n_obs"] == len(train) == final.nobs
    for key, value in (("llf", final.llf), ("aic", final.aic), ("bic", final.bic)):
        assert metrics["model"][key] == pytest.approx(value, rel=1e-10), key
    # the null log-likelihood in closed form (statsmodels' llnull is an iterative fit, ~1e-10 off)
    n1 = int(train["flag"].sum())
    n0 = len(train) - n1
    llnull = n1 * np.log(n1 / len(train)) + n0 * np.log(n0 / len(train))
    assert metrics["model"]["llnull"] == pytest.approx(llnull, rel=1e-12)


def test_selected_terms_equal_stepwise_on_rows_and_are_a_fixed_point(cli_output, reference, final_on_rows):
    train, _ = reference
    metrics, _ = tables(cli_output)
    selected = metrics["selected_terms"]
    on_rows = stepwise(train, "flag", list(metrics["terms"]), direction="both", criterion="aic")
    assert list(on_rows.terms) == selected
    aic = final_on_rows.aic
    for term in metrics["terms"]:
        neighbour = [t for t in selected if t != term] if term in selected else [*selected, term]
        assert logit(train, neighbour).aic >= aic, term


def test_evaluation_equals_raw_rows(cli_output, reference, final_on_rows):
    _, test = reference
    metrics, _ = tables(cli_output)
    final = final_on_rows
    # one prediction per distinct covariate pattern, so that rows that tie in the data tie in p
    # (row-wise predictions can differ in the last bit and split ties)
    keys = test.drop(columns="flag")
    distinct = keys.drop_duplicates()
    p_distinct = pd.Series(np.asarray(final.predict(distinct), dtype=float), index=pd.MultiIndex.from_frame(distinct))
    p = p_distinct.reindex(pd.MultiIndex.from_frame(keys)).to_numpy()
    y = test["flag"].to_numpy()
    users, others = p[y == 1], p[y == 0]
    u = stats.mannwhitneyu(users, others, alternative="two-sided").statistic
    assert metrics["test"]["auc"] == pytest.approx(u / (len(users) * len(others)), rel=1e-9)
    assert metrics["test"]["ks"] == pytest.approx(stats.ks_2samp(users, others).statistic, rel=1e-9)
    hl, _ = evaluation.hosmer_lemeshow(p, y)
    assert metrics["test"]["hl_chi2"] == pytest.approx(hl["chi2"], rel=1e-6)
    assert metrics["test"]["hl_df"] == hl["df"]
    assert metrics["test"]["n"] == len(test) and metrics["test"]["events"] == int(y.sum())


def test_engine_auto_picks_duckdb_for_parquet(resampled):
    path, _ = resampled
    assert resolve_engine("auto", path) == "duckdb"


def test_report_from_a_large_parquet_file_states_its_rows_on_page_one(tmp_path):
    """The report from a 2M-row simulated Parquet file (DuckDB chosen by --engine auto): the row count
    and the SIMULATED label on the first PDF page, the engine and pattern count in the Data section.
    (The same was rendered from 100M rows by hand: README, Scale.)"""
    from pypdf import PdfReader

    path = tmp_path / "big.parquet"
    assert cli_main(["simulate", "--rows", "2000000", "--out", str(path), "--quiet"]) == 0
    out = tmp_path / "out"
    assert cli_main(["report", "--data", str(path), "--out", str(out), "--renderer", "python", "--formats", "pdf",
                     "--quiet"]) == 0
    pages = [page.extract_text() for page in PdfReader(out / "report.pdf").pages]
    first = " ".join(pages[0].split())
    assert "SIMULATED DATA" in first and "2,000,000 customers" in first
    metrics = json.loads((out / "metrics.json").read_text())
    text = " ".join(" ".join(pages).split())
    assert f"read with DuckDB (streamed from disk); its 2,000,000 rows used reduce, without loss, to {metrics['data']['n_patterns']:,}" in text


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_cli_engines_give_the_in_memory_outputs(engine, tmp_path):
    """``fit --engine duckdb|spark`` on the embedded sample: every table and metric identical to
    ``--engine memory`` (figures too), apart from the engine named in metrics.json and run.json."""
    outs = {}
    for name in ("memory", engine):
        outs[name] = tmp_path / name
        assert cli_main(["fit", "--engine", name, "--out", str(outs[name]), "--quiet"]) == 0
    for table in sorted((outs["memory"] / "tables").glob("*.csv")):
        assert (outs[engine] / "tables" / table.name).read_bytes() == table.read_bytes(), table.name
    for figure in sorted((outs["memory"] / "figures").glob("*.png")):
        assert (outs[engine] / "figures" / figure.name).read_bytes() == figure.read_bytes(), figure.name
    a, b = (json.loads((outs[n] / "metrics.json").read_text()) for n in ("memory", engine))
    assert (a["data"].pop("engine"), b["data"].pop("engine")) == ("memory", engine)
    assert a == b
