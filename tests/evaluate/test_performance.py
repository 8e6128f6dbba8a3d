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


def test_thinned_curves_stay_within_one_step_of_the_whole_curve():
    """A 50,000-score ROC curve thinned to about 2,000 points: every dropped point lies within 1/2,000 of the
    kept polyline in both coordinates, the ends and the KS maximum are kept, and a short curve is whole."""
    import numpy as np

    from analysis.evaluate import discrimination

    rng = np.random.default_rng(3)
    p = rng.uniform(size=50_000)
    y = rng.binomial(1, p)
    roc = discrimination.roc_curve(p, y)
    thin = performance.thin(roc, "fpr", "tpr")
    assert len(thin) < 5 * performance.CURVE_POINTS and thin.iloc[0].equals(roc.iloc[0])
    assert thin.iloc[-1].equals(roc.iloc[-1])
    # the kept rows are rows of the curve, in order; every row lies within one step, in both coordinates, of
    # the last kept row at or before it (the curve is monotone in both)
    kept = roc.reset_index().merge(thin, on=list(roc.columns))["index"].to_numpy()
    assert len(kept) == len(thin) and (np.diff(kept) > 0).all()
    previous = kept[np.searchsorted(kept, np.arange(len(roc)), side="right") - 1]
    for c in ("fpr", "tpr"):
        assert np.abs(roc[c].to_numpy() - roc[c].to_numpy()[previous]).max() <= 1 / performance.CURVE_POINTS
    ks = discrimination.ks_curve(p, y)
    top = int(np.argmax(ks["gap"]))
    kept = performance.thin(ks, "cum_nonevents", "cum_events", keep=(top,))
    assert kept["gap"].max() == ks["gap"].max()
    assert performance.thin(roc.head(100), "fpr", "tpr").equals(roc.head(100))
