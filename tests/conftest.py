"""Shared fixtures: the real data in ../shared and R's reference results on it.

A test that needs the real data fails (never skips) when CI=true and the file is missing,
so a CI run cannot go green by silently testing nothing.
"""
import json
import os
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("COUPON_SHARED_DIR", ROOT.parent / "shared"))
REAL_DATA = SHARED / "data" / "tianmao.csv"
R_REFERENCE = SHARED / "reference" / "r_full_data.json"


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
def r_reference() -> dict:
    return json.loads(_require(R_REFERENCE).read_text())


@pytest.fixture(scope="session")
def real_clean(real_data_path) -> pd.DataFrame:
    """The real data cleaned as the package does (flag, *_yes dummies, no ID); all 25,317 rows."""
    from analysis.data import load_clean

    return load_clean(real_data_path).data
