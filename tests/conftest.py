"""Shared fixtures: the real data in ../shared and R's reference results on it; the Quarto CLI; the reports
rendered once per session by each route (built-in renderer and Quarto) on the embedded sample and the real data.

A test that needs the real data fails (never skips) when CI=true and the file is missing,
so a CI run cannot go green by silently testing nothing. The same holds for Quarto when ../shared holds its
installer (`make` installs it into .quarto-cli/ before the tests).
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("COUPON_SHARED_DIR", ROOT.parent / "shared"))
REAL_DATA = SHARED / "data" / "tianmao.csv"
R_REFERENCE = SHARED / "reference" / "r_full_data.json"
#: the offline Quarto installer beside the checkout, and where `make quarto` installs it
QUARTO_INSTALLER = SHARED / "quarto" / "install.sh"
QUARTO_LOCAL = ROOT / ".quarto-cli" / "bin" / "quarto"


def _require(path: Path) -> Path:
    if not path.exists():
        message = f"{path} is missing; tests need ../shared beside the project checkout"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def real_data_path() -> Path:
    return _require(REAL_DATA)


@pytest.fixture(scope="session")
def quarto_bin() -> Path:
    """The Quarto CLI the tests render through: the project's .quarto-cli/ (`make` installs it there from
    ../shared/quarto/install.sh), else a `quarto` on PATH (a user's own, from quarto.org or pip)."""
    if QUARTO_LOCAL.exists():
        return QUARTO_LOCAL
    if found := shutil.which("quarto"):
        return Path(found)
    message = (f"no Quarto CLI: {QUARTO_LOCAL.relative_to(ROOT)} is missing (`make quarto` installs it from "
               f"{QUARTO_INSTALLER}, which {'exists' if QUARTO_INSTALLER.exists() else 'is missing too'}) and no "
               "quarto is on PATH")
    if os.environ.get("CI") == "true" and QUARTO_INSTALLER.exists():
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def quarto_env(quarto_bin) -> dict:
    """The environment of a user who has Quarto on PATH and the project's Python environment active: the venv's
    `python3` first on PATH (Quarto's default Python), no QUARTO_PYTHON."""
    env = {k: v for k, v in os.environ.items() if k != "QUARTO_PYTHON"}
    env["PATH"] = os.pathsep.join([str(quarto_bin.parent), str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def report_cli(out: Path, *args, renderer: str = "python", env: dict | None = None) -> Path:
    """`python -m analysis report --out OUT ARGS` with the given renderer; the results folder."""
    proc = subprocess.run([sys.executable, "-m", "analysis", "report", "--out", str(out), "--renderer", renderer,
                           "--quiet", *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=1800,
                          env=env)
    assert proc.returncode == 0, proc.stderr
    return out


# One report per route and data set for the whole session, shared by every comparison and layout test.
@pytest.fixture(scope="session")
def real_report(real_data_path, tmp_path_factory):
    """The built-in renderer's report of the real data."""
    return report_cli(tmp_path_factory.mktemp("real"), "--data", real_data_path)


@pytest.fixture(scope="session")
def simulated_report(tmp_path_factory):
    """The built-in renderer's report of the embedded simulated sample."""
    return report_cli(tmp_path_factory.mktemp("sim"))


@pytest.fixture(scope="session")
def quarto_real_report(real_data_path, quarto_env, tmp_path_factory):
    """`python -m analysis report` with Quarto on PATH (the --renderer quarto it picks), on the real data."""
    return report_cli(tmp_path_factory.mktemp("quarto-real"), "--data", real_data_path, renderer="quarto",
                      env=quarto_env)


@pytest.fixture(scope="session")
def quarto_simulated_report(quarto_env, tmp_path_factory):
    """The same on the embedded simulated sample."""
    return report_cli(tmp_path_factory.mktemp("quarto-sim"), renderer="quarto", env=quarto_env)


@pytest.fixture(scope="session")
def r_reference() -> dict:
    return json.loads(_require(R_REFERENCE).read_text())


@pytest.fixture(scope="session")
def real_clean(real_data_path) -> pd.DataFrame:
    """The real data's rows as the package reads them (the eight predictors of the coupon file, *_yes dummies,
    flag; no ID, no derived variable); all 25,317 rows."""
    from analysis.read import read_rows

    return read_rows(real_data_path, keep_id=False)[[*PREDICTORS, "flag"]]


PREDICTORS = ["age", "job", "marriage", "default_yes", "returned_yes", "loan_yes", "coupon_used_in_last6_month",
              "coupon_used_in_last_month"]
#: the pattern variables of the default specification (its derived variables included)
SPEC_VARIABLES = PREDICTORS + ["coupons_months_2_6", "coupons_last_month"]
#: the candidate terms of the coupon model as the original analysis wrote them (all linear)
LINEAR_TERMS = ["age", "C(job)", "C(marriage)", "default_yes", "returned_yes", "loan_yes",
                "coupon_used_in_last6_month", "coupon_used_in_last_month"]


def pandas_rows(path):
    """The coupon file read and cleaned by pandas alone (independent of analysis.read): (rows, ids)."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    rows = pd.DataFrame({
        "age": raw["age"].astype("int64"), "job": raw["job"], "marriage": raw["marriage"],
        **{f"{c}_yes": (raw[c] == "yes").astype("int64") for c in ("default", "returned", "loan")},
        "coupon_used_in_last6_month": raw["coupon_used_in_last6_month"].astype("int64"),
        "coupon_used_in_last_month": raw["coupon_used_in_last_month"].astype("int64"),
        "flag": (raw["coupon_ind"] == "1").astype("int64"),
    })
    # the derived variables of the default specification, computed here by hand
    rows["coupons_months_2_6"] = rows["coupon_used_in_last6_month"] - rows["coupon_used_in_last_month"]
    rows["coupons_last_month"] = rows["coupon_used_in_last_month"].clip(upper=4).astype(str)
    return rows, raw["ID"].astype("int64").to_numpy()


TITANIC = ROOT / "tests" / "data" / "public" / "titanic.csv"
TITANIC_SPEC = ROOT / "tests" / "specs" / "titanic.toml"


@pytest.fixture(scope="session")
def titanic_report(tmp_path_factory) -> Path:
    """One report of the public Titanic data the package never saw (carData's TitanicSurvival, 1,309 passengers,
    263 ages missing: complete cases, the default), with the built-in renderer and a 20-resample bootstrap:
    shared by the tests that read what its outputs say (tests/test_words.py, tests/present/test_claims.py)."""
    from outputs import run_cli

    out = tmp_path_factory.mktemp("titanic_report")
    proc = run_cli("report", "--data", TITANIC, "--spec", TITANIC_SPEC, "--bootstrap", 20, "--renderer", "python",
                   "--out", out, "--quiet")
    assert proc.returncode == 0, proc.stderr
    return out
