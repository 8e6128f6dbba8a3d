"""Complete cases (issue 19): the samples, the missingness tables and the complete-case fit, against independent
computations.

References: R 4.2.2 on the Titanic data (tests/data/public/titanic.csv, 263 of 1,309 ages missing):
``glm(survived ~ sex + passengerClass + age, binomial, na.action = na.omit)`` in tests/reference/r/titanic.json
(section a_complete_cases, made by tests/reference/r/titanic.R), ``chisq.test(correct = FALSE)``, ``fisher.test``
and the shares of the rows with and without an age in tests/reference/r/missing.json (tests/reference/r/missing.R).
On the expanded rows of pattern tables with several variables missing: pandas crosstabs with
``scipy.stats.chi2_contingency(correction=False)`` / ``scipy.stats.fisher_exact`` and statsmodels' ``Table2x2``;
pandas means, standard deviations and shares.
"""
import json
import math
import random
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.contingency_tables import Table2x2

from analysis.evaluate import missing
from analysis.model.fit import fit_logit, tidy
from analysis.model.terms import model_terms
from analysis.read import read_patterns, read_rows
from analysis.read.patterns import Samples, expand
from analysis.spec import default_spec, load_spec

ROOT = Path(__file__).resolve().parents[2]
CSV = ROOT / "tests" / "data" / "public" / "titanic.csv"
SPEC = load_spec(ROOT / "tests" / "specs" / "titanic.toml")
R_FIT = json.loads((ROOT / "tests" / "reference" / "r" / "titanic.json").read_text())["a_complete_cases"]
R_MISSING = json.loads((ROOT / "tests" / "reference" / "r" / "missing.json").read_text())
#: R's coefficient names -> the package's terms (the baselines are male and 3rd, the most frequent levels)
R_TERMS = {"(Intercept)": "Intercept", "sexfemale": "sex_female",
           "passengerClass1st": "C(passengerClass, Treatment(reference='3rd'))[T.1st]",
           "passengerClass2nd": "C(passengerClass, Treatment(reference='3rd'))[T.2nd]", "age": "age"}


@pytest.fixture(scope="module")
def titanic():
    data = read_patterns(CSV, SPEC, test_size=0.0, hash_file=False)
    return data, Samples.from_patterns(data.patterns, SPEC.pattern_variables, SPEC.missing_strategy)


def test_samples_hold_the_complete_rows_and_keep_the_incomplete(titanic):
    data, samples = titanic
    raw = pd.read_csv(CSV)
    assert samples.split["rows"].tolist() == [1046, 0] and samples.n_incomplete == 263 == raw["age"].isna().sum()
    assert samples.all["trials"].sum() == 1046 and not samples.all.isna().any().any()
    assert samples.train["sex_female"].dtype == "int64" and samples.strategy == "complete_cases"
    assert samples.incomplete["age"].isna().all() and list(samples.incomplete.columns)[0] == "sample"
    # the complete and incomplete patterns stand for the file's rows, exactly
    rows = expand(samples.with_incomplete(), "survived")
    ours = rows.assign(age=rows["age"].round(6)).sort_values(["sex_female", "age", "passengerClass", "survived"],
                                                            na_position="last").reset_index(drop=True)
    theirs = pd.DataFrame({"sex_female": (raw["sex"] == "female").astype("int64"), "age": raw["age"].round(6),
                           "passengerClass": raw["passengerClass"], "survived": (raw["survived"] == "yes").astype("int64")})
    theirs = theirs.sort_values(["sex_female", "age", "passengerClass", "survived"],
                                na_position="last").reset_index(drop=True)
    pd.testing.assert_frame_equal(ours, theirs, check_dtype=False)
    with pytest.raises(ValueError, match="missing variable values"):
        Samples.from_patterns(data.patterns, SPEC.pattern_variables)       # "refuse": never a silent drop


def test_complete_case_fit_equals_r_na_omit(titanic):
    """The fit on the complete patterns equals R's glm(..., na.action = na.omit): coefficients, SEs, vcov and
    log-likelihood to 1e-6, n used 1,046; the rows left out are R's excluded ids."""
    _, samples = titanic
    terms, _ = model_terms(SPEC, samples.all)
    fit = fit_logit(samples.train, "events", terms, trials="trials")
    got = tidy(fit).set_index("term")
    coef = R_FIT["coefficients"]
    for r_term, estimate, se in zip(coef["term"], coef["estimate"], coef["std_error"]):
        assert got.loc[R_TERMS[r_term], "estimate"] == pytest.approx(estimate, rel=1e-6, abs=1e-9), r_term
        assert got.loc[R_TERMS[r_term], "std_error"] == pytest.approx(se, rel=1e-6), r_term
    order = [R_TERMS[t] for t in R_FIT["vcov"]["terms"]]
    np.testing.assert_allclose(fit.cov_params().loc[order, order].to_numpy(), np.array(R_FIT["vcov"]["matrix"]),
                               rtol=1e-6, atol=1e-12)
    assert int(samples.train["trials"].sum()) == R_FIT["n_used"] == 1046
    assert samples.n_incomplete == R_FIT["n_excluded"] == 263
    rows = read_rows(CSV, SPEC)
    assert sorted(rows.loc[rows["age"].isna(), "id"]) == sorted(R_FIT["excluded_ids"])
    from analysis.model.fit import glance
    assert glance(fit)["llf"] == pytest.approx(R_FIT["logLik"], rel=1e-8)


def test_missingness_on_titanic_equals_r(titanic):
    data, samples = titanic
    table = missing.missingness(samples.all, samples.incomplete, SPEC).set_index("variable")
    ref = R_MISSING["all"]
    age = table.loc["age"]
    assert (age["rows_missing"], age["events_missing"], age["events_observed"]) == (263, 73, 427)
    assert age["test"] == missing.PEARSON and age["df"] == 1
    assert age["statistic"] == pytest.approx(ref["chisq"]["statistic"], rel=1e-10)
    assert age["p_value"] == pytest.approx(ref["chisq"]["p_value"], rel=1e-10)
    assert age["share_missing"] == pytest.approx(263 / 1309) and age["rate_missing"] == pytest.approx(73 / 263)
    assert table.loc["sex_female", "rows_missing"] == 0 and table.loc["sex_female", "test"] == ""
    comp = missing.missing_vs_complete(samples.all, samples.incomplete, SPEC)
    names = {"survived": "survived", "sex": "sex_female", "passengerClass": "passengerClass"}
    for r in ref["shares"]:
        level = {"yes": "1", "female": "1"}.get(r["level"], r["level"])
        row = comp[(comp["variable"] == names[r["variable"]]) & (comp["level"] == level)].iloc[0]
        for key in ("excluded", "kept", "std_difference"):
            assert row[key] == pytest.approx(r[key], rel=1e-12), (r, key)
        assert (row["n_excluded"], row["n_kept"]) == (r["n_excluded"], r["n_kept"])
    assert "age" not in set(comp["variable"])              # no row left out has an age


def test_fisher_when_an_expected_count_is_below_5(tmp_path):
    """The first 100 passengers (9 ages missing): an expected count of 2.97, so Fisher's exact test, as R's."""
    path = tmp_path / "first100.csv"
    path.write_text("\n".join(CSV.read_text().splitlines()[:101]) + "\n")
    data = read_patterns(path, SPEC, test_size=0.0, hash_file=False)
    samples = Samples.from_patterns(data.patterns, SPEC.pattern_variables, "complete_cases")
    age = missing.missingness(samples.all, samples.incomplete, SPEC).set_index("variable").loc["age"]
    ref = R_MISSING["first_100"]
    assert ref["min_expected"] < 5 and age["rows_missing"] == ref["rows_missing"] == 9
    assert age["test"] == missing.FISHER and math.isnan(age["statistic"])
    assert age["p_value"] == pytest.approx(ref["fisher"]["p_value"], rel=1e-10)


@pytest.mark.parametrize("table", [[[73, 190], [427, 619]], [[5, 5], [5, 5]], [[0, 12], [40, 41]], [[1, 0], [0, 1]],
                                   [[0, 0], [10, 20]], [[3, 40], [30, 400]], [[250, 30], [900, 120]]])
def test_association_test_against_scipy_and_statsmodels(table):
    test, statistic, df, p = missing.association_test(table)
    t = np.array(table)
    expected = stats.contingency.expected_freq(t) if (t.sum(axis=0) > 0).all() and (t.sum(axis=1) > 0).all() else None
    if expected is not None and (expected >= 5).all():
        chi2, p_ref, df_ref, _ = stats.chi2_contingency(t, correction=False)
        nominal = Table2x2(t, shift_zeros=False).test_nominal_association()
        assert test == missing.PEARSON and df == df_ref == 1
        assert statistic == pytest.approx(chi2, rel=1e-10) and statistic == pytest.approx(nominal.statistic, rel=1e-10)
        assert p == pytest.approx(p_ref, rel=1e-10) and p == pytest.approx(nominal.pvalue, rel=1e-10)
    else:
        assert test == missing.FISHER and math.isnan(statistic)
        assert p == pytest.approx(stats.fisher_exact(t).pvalue, rel=1e-12)


def _blanked_coupon_rows(seed: int, n: int = 400) -> Path:
    """The embedded sample's first rows with cells of three variables blanked (more often among the events,
    so that missingness goes with the outcome)."""
    rng = random.Random(seed)
    lines = (ROOT / "data" / "simulated_tianmao.csv").read_text().splitlines()[: n + 1]
    header = lines[0].split(",")
    out = [lines[0]]
    for line in lines[1:]:
        fields = line.split(",")
        for column, share in (("age", 0.1), ("job", 0.05), ("coupon_used_in_last_month", 0.03)):
            if rng.random() < share * (3 if fields[-1] == "1" else 1):
                fields[header.index(column)] = rng.choice(["", "NA", "?"])
        out.append(",".join(fields))
    return out


def test_tables_equal_computations_on_the_expanded_rows(tmp_path):
    """Several variables missing (a derived one through its input): every column of both tables equals pandas
    and scipy on the rows the patterns stand for."""
    spec = default_spec()
    path = tmp_path / "blanked.csv"
    path.write_text("\n".join(_blanked_coupon_rows(4)) + "\n")
    data = read_patterns(path, spec, test_size=0.3, hash_file=False)
    samples = Samples.from_patterns(data.patterns, spec.pattern_variables, "complete_cases")
    kept = expand(samples.all, "y")
    gone = expand(samples.incomplete.drop(columns="sample"), "y")
    rows = pd.concat([kept.assign(left_out=False), gone.assign(left_out=True)], ignore_index=True)
    table = missing.missingness(samples.all, samples.incomplete, spec).set_index("variable")
    assert list(table.index) == list(spec.pattern_variables)
    for name in spec.pattern_variables:
        is_missing = rows[name].isna()
        row = table.loc[name]
        assert row["rows_missing"] == is_missing.sum() and row["share_missing"] == pytest.approx(is_missing.mean())
        assert row["events_missing"] == rows.loc[is_missing, "y"].sum()
        assert row["rows_observed"] == (~is_missing).sum() and row["events_observed"] == rows.loc[~is_missing, "y"].sum()
        if not is_missing.any():
            assert row["test"] == "" and math.isnan(row["p_value"])
            continue
        assert row["rate_missing"] == pytest.approx(rows.loc[is_missing, "y"].mean(), rel=1e-12)
        cross = pd.crosstab(is_missing, rows["y"]).reindex(index=[True, False], columns=[1, 0]).to_numpy()
        if (stats.contingency.expected_freq(cross) >= 5).all():
            chi2, p, _, _ = stats.chi2_contingency(cross, correction=False)
            assert row["test"] == missing.PEARSON and row["statistic"] == pytest.approx(chi2, rel=1e-10)
        else:
            p = stats.fisher_exact(cross).pvalue
            assert row["test"] == missing.FISHER
        assert row["p_value"] == pytest.approx(p, rel=1e-10)
    assert table.loc["coupons_months_2_6", "rows_missing"] == table.loc["coupon_used_in_last_month", "rows_missing"] > 0
    assert table.loc["age", "p_value"] < 0.05                 # the blanks were drawn more often among events

    comp = missing.missing_vs_complete(samples.all, samples.incomplete, spec)
    for _, row in comp.iterrows():
        name = row["variable"]
        column = rows["y"] if name == spec.response.name else rows[name]
        left, held = column[rows["left_out"] & column.notna()], column[~rows["left_out"]]
        assert (row["n_excluded"], row["n_kept"]) == (len(left), len(held))
        if row["summary"] == "share":
            p1, p0 = (left.astype(str) == row["level"]).mean(), (held.astype(str) == row["level"]).mean()
            d = (p1 - p0) / math.sqrt((p1 * (1 - p1) + p0 * (1 - p0)) / 2)
        else:
            p1, p0 = left.astype(float).mean(), held.astype(float).mean()
            d = (p1 - p0) / math.sqrt((left.astype(float).var() + held.astype(float).var()) / 2)
        assert (row["excluded"], row["kept"]) == (pytest.approx(p1, rel=1e-12), pytest.approx(p0, rel=1e-12))
        assert row["std_difference"] == pytest.approx(d, rel=1e-9)
    assert {"age", "job", "marriage", "coupons_last_month"} <= set(comp["variable"])
    assert missing.tables(Samples.from_patterns(data.patterns[data.patterns.notna().all(axis=1)],
                                                spec.pattern_variables), spec) == {}


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "analysis", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=900)


def test_titanic_report_under_complete_cases(tmp_path):
    """One whole run (report, HTML only, no bootstrap, the full model on every row) of the Titanic data with its
    263 missing ages: the coefficients are R's na.omit fit (1e-6), the accounting, the two tables, the metrics
    and the limitations say what was left out; --missing refuse exits 2 with its message;
    --missing impute runs to the pooled model (its numbers: tests/model/test_imputed.py)."""
    out = tmp_path / "out"
    proc = run_cli("report", "--data", CSV, "--spec", ROOT / "tests" / "specs" / "titanic.toml", "--out", out,
                   "--bootstrap", 0, "--select", "none", "--test-size", 0, "--formats", "html", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "1,046 rows used" in proc.stderr
    coef = pd.read_csv(out / "tables" / "coefficients.csv").set_index("term")
    r = R_FIT["coefficients"]
    for r_term, estimate, se in zip(r["term"], r["estimate"], r["std_error"]):
        assert coef.loc[R_TERMS[r_term], "estimate"] == pytest.approx(estimate, rel=1e-6), r_term
        assert coef.loc[R_TERMS[r_term], "std_error"] == pytest.approx(se, rel=1e-6), r_term
    accounting = pd.read_csv(out / "tables" / "row_accounting.csv")
    assert accounting.values.tolist() == [["rows read", 0, 1309], ["missing age", 263, 1046], ["rows used", 0, 1046]]
    table = pd.read_csv(out / "tables" / "missingness.csv").set_index("variable")
    assert table.loc["age", "p_value"] == pytest.approx(R_MISSING["all"]["chisq"]["p_value"], rel=1e-10)
    assert (out / "tables" / "missing_vs_complete.csv").exists()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["missing"]["strategy"] == "complete_cases" and metrics["missing"]["rows_incomplete"] == 263
    assert metrics["missing"]["by_variable"]["age"]["rows_missing"] == 263 and metrics["model"]["n_obs"] == 1046
    assert json.loads((out / "run.json").read_text())["config"]["missing"] is None
    limitations = pd.read_csv(out / "tables" / "limitations.csv")
    said = " ".join(limitations.loc[limitations["topic"].str.startswith("missing"), "sentence"])
    assert "263 of the 1,309 passengers with a known outcome (20.1%) were left out" in said
    assert "Whether age is missing goes with the outcome" in said and "27.8%" in said and "40.8%" in said
    html = (out / "report.html").read_text()
    assert "263 of the 1,309 passengers" in html
    import openpyxl
    sheets = openpyxl.load_workbook(out / "report_tables.xlsx").sheetnames
    assert any("missing" in s for s in sheets), sheets
    refused = run_cli("fit", "--data", CSV, "--spec", ROOT / "tests" / "specs" / "titanic.toml", "--out",
                      tmp_path / "r", "--missing", "refuse", "--quiet")
    assert refused.returncode == 2 and "column 'age': missing value in 263 rows" in refused.stderr
    imputed = run_cli("fit", "--data", CSV, "--spec", ROOT / "tests" / "specs" / "titanic.toml", "--out",
                      tmp_path / "i", "--missing", "impute", "--quiet")
    assert imputed.returncode == 0 and "263 of them imputed 20 times" in imputed.stderr, imputed.stderr
    pooled = pd.read_csv(tmp_path / "i" / "tables" / "coefficients_pooled.csv")
    assert len(pooled) == len(coef) and pooled["estimate"].notna().all()
    assert "Traceback" not in refused.stderr + imputed.stderr


def test_levels_from_the_data_are_escaped_in_the_display_tables(tmp_path):
    """Hostile levels in the rows left out reach the missing-value tables only as escaped text: the pipe tables
    of report.qmd (``display.markdown``) and the sentences (``escape.markdown``) hold no element, link,
    cross-reference or math from the data."""
    from types import SimpleNamespace

    from analysis.present import display
    from analysis.present.escape import markdown as md
    from analysis.present.missing_words import missing_sentences

    hostile = {"1st": "<img src=x onerror=alert(1)>", "2nd": "see @fig-x", "3rd": "$\\notacommand{$"}
    raw = pd.read_csv(CSV)
    raw["passengerClass"] = raw["passengerClass"].map(hostile)
    path = tmp_path / "hostile.csv"
    raw.to_csv(path, index=False)
    text = (ROOT / "tests" / "specs" / "titanic.toml").read_text().split("[variables.groups]")[0]
    spec_path = tmp_path / "hostile.toml"
    spec_path.write_text(text)
    spec = load_spec(spec_path)
    data = read_patterns(path, spec, test_size=0.0, hash_file=False)
    samples = Samples.from_patterns(data.patterns, spec.pattern_variables, "complete_cases")
    tables = {"row_accounting": data.accounting, **missing.tables(samples, spec)}
    metrics = {"missing": missing.facts(samples, data.accounting, tables["missingness"])}
    view = SimpleNamespace(tables=tables, metrics=metrics, spec=spec)
    shown = display.markdown(view, "missing_vs_complete")
    sentences = " ".join(md(s) for s in missing_sentences(tables, metrics, spec)["sentence"])
    for text in (shown, sentences):
        assert "img src=x" in text and "@fig" in text and "notacommand" in text
        assert not re.search(r"(?<!\\)[<>@$]", text), text           # each one escaped
