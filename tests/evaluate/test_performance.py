"""analysis.evaluate.performance: the leakage check against R (glm without the suspect term, pROC::roc.test
paired, tests/reference/r/tmall_interactions.json, made by tmall_interactions.R)."""
import json
from pathlib import Path

import pandas as pd
import pytest

from analysis.evaluate import performance
from analysis.model.selection import SelectionSettings, select_and_fit

REF = Path(__file__).resolve().parents[1] / "reference" / "r" / "tmall_interactions.json"
TERMS = ["rcs(age, [27, 33, 39, 47, 59])", "C(job, Treatment(reference='blue-collar'))",
         "C(marriage, Treatment(reference='married'))", "default_yes", "returned_yes", "loan_yes",
         "rcs(coupons_months_2_6, [0, 2, 5])", "C(coupons_last_month)"]


def test_leakage_check_equals_pROC_roc_test(real_data_path):
    from analysis.read import read_patterns
    from analysis.spec import default_spec

    ref = json.loads(REF.read_text())["paired_delong"]
    table = read_patterns(real_data_path, default_spec(), test_size=0).patterns.drop(columns="sample")
    fit = select_and_fit(table, TERMS, SelectionSettings(direction="none"), knots=pd.DataFrame(), baselines={})
    got = performance.leakage_check(fit, {"train": table}, "train", ["coupons_last_month"]).iloc[0]
    assert got["terms_left_out"] == "C(coupons_last_month)" and got["rows"] == 25_317
    assert got["auc_with"] == pytest.approx(ref["auc_1"], rel=1e-8)
    assert got["auc_without"] == pytest.approx(ref["auc_2"], rel=1e-8)
    assert got["z"] == pytest.approx(ref["Z"], rel=1e-6)
    assert got["p_value"] == pytest.approx(ref["p_value"], rel=1e-6)
    assert (got["conf_low"], got["conf_high"]) == pytest.approx(tuple(ref["difference_ci"]), rel=1e-6)
    none = performance.leakage_check(fit, {"train": table}, "train", ["not_in_the_model"])
    assert none.empty
