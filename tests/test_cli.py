"""The command line end to end: exit codes, outputs with fixed names, numbers against R, reproducibility."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis import cli

ROOT = Path(__file__).resolve().parents[1]
REL = 1e-6
#: the original analysis' model (all linear, alphabetical baselines), for which R's references were computed
LINEAR_SPEC = ROOT / "tests" / "specs" / "tmall_linear.toml"


def run_cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "analysis", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def full_data_run(real_data_path, tmp_path_factory):
    """fit on all 25,317 rows, full model kept (no selection), as R's reference was computed."""
    out = tmp_path_factory.mktemp("full")
    proc = run_cli("fit", "--data", real_data_path, "--spec", LINEAR_SPEC, "--test-size", 0, "--select", "none",
                   "--out", out, "--quiet")
    assert proc.returncode == 0, proc.stderr
    return out, proc


def test_fit_reports_all_rows(full_data_run):
    out, proc = full_data_run
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model"]["n_obs"] == 25317 and metrics["data"]["rows_used"] == 25317
    assert metrics["model"]["events"] == 2961
    assert "25,317 rows used" in proc.stderr
    assert "test" not in metrics and metrics["evaluation_sample"] == "train"
    assert not (out / "DATA_ARE_SIMULATED.txt").exists()


def test_output_files_have_fixed_names_and_columns(full_data_run):
    out, _ = full_data_run
    expected = {
        # kind: intercept, effect, or a spline's basis column (no odds ratio: its effect is a curve); profile-
        # likelihood intervals beside Wald's (SAS CLODDS=PL)
        "coefficients": ["term", "kind", "estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high",
                         "odds_ratio", "or_conf_low", "or_conf_high", "profile_conf_low", "profile_conf_high",
                         "or_profile_low", "or_profile_high"],
        "vif": ["term", "df", "gvif", "gvif_adj"],
        "stepwise": ["step", "action", "term", "df", "criterion", "statistic", "p_value"],
    }
    for name, columns in expected.items():
        assert list(pd.read_csv(out / "tables" / f"{name}.csv").columns) == columns
    for name in ["coefficients_full", "type3_tests", "marginal_effects", "classification", "gains",
                 "hosmer_lemeshow", "row_accounting"]:
        assert (out / "tables" / f"{name}.csv").exists(), name
    for name in ["roc", "ks", "odds_ratios", "calibration", "gains", "rate_by_returned", "rate_by_marriage",
                 "rate_by_job", "age_distribution", "rate_by_age_group", "correlation_heatmap"]:
        assert (out / "figures" / f"{name}.png").exists() and (out / "figures" / f"{name}.svg").exists(), name
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ["n_obs", "events", "llf", "llnull", "aic", "bic", "lr_chi2", "lr_df", "lr_p", "pseudo_r2", "converged"]:
        assert key in metrics["model"]
    for key in ["n", "events", "auc", "auc_ci_low", "auc_ci_high", "ks", "ks_threshold", "somers_d", "gamma",
                "tau_a", "c", "brier", "hl_chi2", "hl_df", "hl_p"]:
        assert key in metrics["train"]


def test_cli_numbers_match_r(full_data_run, r_reference):
    """The written files carry R's numbers: coefficients, AIC, AUC with DeLong CI, KS, HL, GVIF."""
    out, _ = full_data_run
    metrics = json.loads((out / "metrics.json").read_text())
    ref_fit = r_reference["1_full_model"]["fit"]
    assert metrics["model"]["aic"] == pytest.approx(ref_fit["AIC"], rel=REL)
    assert metrics["model"]["bic"] == pytest.approx(ref_fit["BIC"], rel=REL)
    roc = r_reference["4_roc_auc_ks"]
    train = metrics["train"]
    assert train["auc"] == pytest.approx(roc["auc_pROC"], rel=REL)
    assert train["auc_ci_low"] == pytest.approx(roc["auc_ci_delong"]["lower"], rel=REL)
    assert train["auc_ci_high"] == pytest.approx(roc["auc_ci_delong"]["upper"], rel=REL)
    assert train["ks"] == pytest.approx(roc["ks"]["statistic"], rel=REL)
    assert train["ks_threshold"] == pytest.approx(roc["ks"]["threshold_fitted_value"], rel=REL)
    hl = r_reference["5_hosmer_lemeshow"]
    assert train["hl_chi2"] == pytest.approx(hl["chisq"], rel=REL)
    coefs = pd.read_csv(out / "tables" / "coefficients.csv").set_index("term")
    ref = r_reference["1_full_model"]["coefficients"]
    assert coefs.loc["returned_yes", "estimate"] == pytest.approx(ref["returnedyes"]["estimate"], rel=REL)
    assert coefs.loc["C(job)[T.retired]", "or_conf_high"] == pytest.approx(ref["jobretired"]["or_wald_ci_upper"], rel=REL)
    vif = pd.read_csv(out / "tables" / "vif.csv").set_index("term")
    assert vif.loc["C(job)", "gvif"] == pytest.approx(r_reference["3_vif"]["car_vif"]["job"]["GVIF"], rel=REL)


def test_stepwise_run_matches_r_step(real_data_path, r_reference, tmp_path):
    proc = run_cli("fit", "--data", real_data_path, "--spec", LINEAR_SPEC, "--test-size", 0, "--out", tmp_path,
                   "--quiet")
    assert proc.returncode == 0, proc.stderr
    ref = r_reference["2_stepwise"]["both_AIC"]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["model"]["aic"] == pytest.approx(ref["final_AIC"], rel=REL)
    names = {"C(job)": "job", "C(marriage)": "marriage", "default_yes": "default", "returned_yes": "returned",
             "loan_yes": "loan"}
    assert sorted(names.get(t, t) for t in metrics["selected_terms"]) == sorted(ref["final_terms"])


def test_default_run_is_simulated_and_reproducible(tmp_path):
    """Two runs give the same bytes; the second with one worker (--workers 1), so the specification checks
    run in the process itself instead of in a forked worker beside it (analysis.threads.Beside): the
    same tables, metrics and figures either way; run.json differs only in the workers it records."""
    a, b = tmp_path / "a", tmp_path / "b"
    for out, extra in ((a, ()), (b, ("--workers", "1"))):
        proc = run_cli("fit", "--out", out, "--quiet", *extra)
        assert proc.returncode == 0, proc.stderr
    assert (a / "DATA_ARE_SIMULATED.txt").exists()
    assert json.loads((a / "metrics.json").read_text())["data"]["simulated"] is True
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert len(files) > 40
    for rel in files:
        if rel.name != "run.json":
            assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    run_a, run_b = (json.loads((d / "run.json").read_text()) for d in (a, b))
    assert (run_a["config"].pop("workers"), run_b["config"].pop("workers")) == (2, 1)
    assert run_a == run_b


@pytest.mark.parametrize("content, expected", [
    ("ID,age\n1,2\n", "is missing from the header"),
    ("", "is empty"),
])
def test_bad_data_exits_2_without_traceback(tmp_path, content, expected):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    proc = run_cli("fit", "--data", path, "--out", tmp_path / "o", "--quiet")
    assert proc.returncode == 2
    assert expected in proc.stderr and "Traceback" not in proc.stderr


def test_separated_level_exits_2_naming_the_term(real_data_path, tmp_path):
    raw = pd.read_csv(real_data_path)
    raw.loc[raw["job"] == "student", "coupon_ind"] = 0
    path = tmp_path / "sep.csv"
    raw.to_csv(path, index=False)
    proc = run_cli("fit", "--data", path, "--test-size", 0, "--out", tmp_path / "o", "--quiet")
    assert proc.returncode == 2, proc.stderr
    assert "C(job" in proc.stderr and "student" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("args", [["fit", "--test-size", "1.5"], ["fit", "--select", "sideways"],
                                  ["fit", "--baseline", "job"], ["simulate", "--out", "x.txt"]])
def test_bad_arguments_exit_2(args):
    with pytest.raises(SystemExit) as info:
        cli.main(args)
    assert info.value.code == 2


def test_help_documents_every_option():
    for command in ("fit", "report", "init", "simulate"):
        proc = run_cli(command, "--help")
        assert proc.returncode == 0
    text = run_cli("report", "--help").stdout
    for option in ["--data", "--spec", "--exclude", "--out", "--test-size", "--seed", "--max-age", "--select", "--criterion",
                   "--slentry", "--slstay", "--baseline", "--engine", "--memory-limit", "--renderer", "--formats",
                   "--allow-draft"]:
        assert option in text


def test_max_age_exclusion_reaches_metrics(real_data_path, tmp_path):
    proc = run_cli("fit", "--data", real_data_path, "--max-age", 60, "--select", "none", "--test-size", 0,
                   "--out", tmp_path, "--quiet")
    assert proc.returncode == 0, proc.stderr
    acc = pd.read_csv(tmp_path / "tables" / "row_accounting.csv")
    raw = pd.read_csv(real_data_path)
    assert acc["rows_excluded"].iloc[1] == (raw["age"] > 60).sum()
    assert acc["rows_remaining"].iloc[-1] == (raw["age"] <= 60).sum()


def test_spark_without_java_is_a_clear_error(tmp_path):
    """No Java runtime: --engine spark stops with one line that says what to install (exit 1), before any
    Spark start-up. A fresh process with PATH holding no java and no JAVA_HOME."""
    import os

    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "analysis", "fit", "--engine", "spark", "--out", str(tmp_path / "o"),
                           "--quiet"], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 1
    assert "needs a Java runtime" in proc.stderr and "--engine duckdb" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_spark_quiet_prints_no_jvm_log_lines(tmp_path):
    """--engine spark --quiet: the JVM's start-up WARN lines (native Hadoop library, spark.local.dir, "Setting
    default log level") no longer reach stderr (analysis/read/log4j2.properties, set before the JVM starts);
    the message of a refused file is all there is, bar the Java launcher's own notice of an incubator module,
    which no logging setting reaches."""
    import shutil

    if not shutil.which("java") and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java runtime")
    path = tmp_path / "bad.csv"
    path.write_text("ID,age,job,marriage,default,returned,loan,coupon_used_in_last6_month,coupon_used_in_last_month,"
                    "coupon_ind\n1,x,admin.,married,no,yes,no,2,0,1\n2,40,admin.,married,no,yes,no,2,0,0\n")
    proc = subprocess.run([sys.executable, "-m", "analysis", "fit", "--data", str(path), "--engine", "spark", "--out",
                           str(tmp_path / "o"), "--quiet"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln and not ln.startswith("WARNING: Using incubator modules")]
    assert lines[0].startswith("error: Invalid input data") and len(lines) == 2, proc.stderr


@pytest.mark.parametrize("engine", ["memory", "duckdb"])
def test_level_only_in_the_test_sample_is_a_clear_error(tmp_path, engine):
    """A job level that falls only in the test sample: the model never saw it and cannot score it.
    Exit 2 with the column, the level, its row count and what to do (not a patsy traceback)."""
    import numpy as np
    import pandas as pd

    from analysis.read.split import in_test_sample

    data = pd.read_csv(ROOT / "data" / "simulated_tianmao.csv")
    first_test_row = np.flatnonzero(in_test_sample(data["ID"].to_numpy(), 100, 0.3))[0]
    data.loc[first_test_row, "job"] = "astronaut"
    path = tmp_path / "astro.csv"
    data.to_csv(path, index=False)
    proc = run_cli("fit", "--data", path, "--engine", engine, "--out", tmp_path / "o", "--quiet", "--test-size", 0.3)
    assert proc.returncode == 2, proc.stderr
    assert "Column 'job'" in proc.stderr and "'astronaut'" in proc.stderr and "(1 rows)" in proc.stderr
    assert "--seed" in proc.stderr and "Traceback" not in proc.stderr


def test_parquet_gives_the_same_outcome_with_every_engine(tmp_path):
    import pandas as pd

    path = tmp_path / "d.parquet"
    pd.read_csv(ROOT / "data" / "simulated_tianmao.csv").head(8000).to_parquet(path, index=False)
    outs = {}
    for engine in ("memory", "duckdb"):
        proc = run_cli("fit", "--data", path, "--engine", engine, "--test-size", 0.5, "--out", tmp_path / engine,
                       "--quiet")
        assert proc.returncode == 0, proc.stderr
        outs[engine] = (tmp_path / engine / "tables" / "coefficients.csv").read_bytes()
    assert outs["memory"] == outs["duckdb"]


@pytest.mark.parametrize("args, expected", [
    (["--baseline", "age=3"], "'age' is not a categorical variable"),
    (["--baseline", "job=astronaut"], "baseline 'astronaut' of 'job' is not one of its levels"),
    (["--exclude", "salary > 3"], "names 'salary', which is not a column"),
    (["--exclude", "__import__('os')"], "functions are least, greatest, abs"),
])
def test_bad_model_options_exit_2(tmp_path, args, expected):
    proc = run_cli("fit", *args, "--out", tmp_path / "o", "--quiet")
    assert proc.returncode == 2 and expected in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_exclude_expression_is_counted(tmp_path):
    proc = run_cli("fit", "--exclude", "age >= 60 and loan == 'yes'", "--select", "none", "--out", tmp_path, "--quiet")
    assert proc.returncode == 0, proc.stderr
    acc = pd.read_csv(tmp_path / "tables" / "row_accounting.csv")
    raw = pd.read_csv(ROOT / "data" / "simulated_tianmao.csv")
    assert acc["step"].iloc[1] == "excluded: age >= 60 and loan == 'yes' (--exclude)"
    assert acc["rows_excluded"].iloc[1] == ((raw["age"] >= 60) & (raw["loan"] == "yes")).sum()


@pytest.mark.parametrize("out", ["file", "/dev/null"])
def test_out_that_is_not_a_folder_exits_2(tmp_path, out):
    target = tmp_path / "f.txt" if out == "file" else out
    if out == "file":
        target.write_text("x")
    proc = run_cli("fit", "--out", target, "--quiet")
    assert proc.returncode == 2 and "is not a folder" in proc.stderr and "Traceback" not in proc.stderr


def test_bad_specification_exits_2_listing_every_problem(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text('[response]\ncolumn = "y"\n\n[[variables]]\ncolumn = "x"\ntype = "ordinal"\nlable = "X"\n')
    proc = run_cli("fit", "--spec", spec, "--out", tmp_path / "o", "--quiet")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    for text in ("'event' is required", "'type' must be one of", "unknown key 'lable'"):
        assert text in proc.stderr, proc.stderr


def test_report_refuses_a_draft_naming_every_mark(tmp_path):
    """A specification that still has CHECK or CHOOSE comments is refused by report (exit 2, before any work),
    naming each comment by its line; fit runs it (trying a draft is what fit is for)."""
    spec = (ROOT / "analysis" / "spec" / "tmall.toml").read_text()
    spec = spec.replace('row = "customer"', 'row = "customer"  # CHECK: what one row is', 1)
    spec = spec.replace('[response]\n', '[response]\n# CHOOSE: the response\n', 1)
    path = tmp_path / "draft.toml"
    path.write_text(spec)
    line = spec.splitlines().index('row = "customer"  # CHECK: what one row is') + 1
    proc = run_cli("report", "--spec", path, "--out", tmp_path / "out", "--quiet")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "is a draft: 2 comments" in proc.stderr and "--allow-draft" in proc.stderr
    assert f"line {line}: CHECK: what one row is" in proc.stderr and "CHOOSE: the response" in proc.stderr
    assert not (tmp_path / "out").exists()
