"""auc_paired_delong against pROC::roc.test(paired = TRUE, method = "delong") on the Titanic and coupon models and
on small tied data, against an O(n^2) brute force, and patterns against rows."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.evaluate.discrimination import auc_delong, auc_paired_delong
from analysis.model.fit import fit_logit, predict_by_pattern
from analysis.read.patterns import expand, from_rows

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "tests" / "reference" / "r"
REL = 1e-8


def check_against_r(got, ref, rel):
    """Our dict against a pROC result (keys as in titanic.json / tmall_interactions.json)."""
    assert got["auc_1"] == pytest.approx(ref["auc_1"], rel=rel)
    assert got["auc_2"] == pytest.approx(ref["auc_2"], rel=rel)
    assert got["var_1"] == pytest.approx(ref["auc_1_var_delong"], rel=rel)
    assert got["var_2"] == pytest.approx(ref["auc_2_var_delong"], rel=rel)
    assert got["covariance"] == pytest.approx(ref["cov_delong"], rel=rel)
    assert got["z"] == pytest.approx(ref["Z"], rel=rel)
    assert got["p_value"] == pytest.approx(ref["p_value"], rel=rel)
    assert [got["conf_low"], got["conf_high"]] == pytest.approx(ref["difference_ci"], rel=rel)
    assert got["difference"] == pytest.approx(ref["estimate"][0] - ref["estimate"][1], rel=rel)


def test_titanic_equals_proc_roc_test():
    """glm(survived ~ sex + passengerClass + age) against the model without age on the 1,046 complete cases
    (tests/reference/r/titanic.json, section f; pROC 1.18): both AUCs, DeLong variances and covariance, z,
    p, CI of the difference to 1e-8 relative (observed 7e-14: the scores tie and order as R's, so only
    rounding differs), on the rows and on the 332 covariate patterns."""
    ref = json.loads((REFERENCE / "titanic.json").read_text())["f_paired_delong"]
    raw = pd.read_csv(ROOT / "tests" / "data" / "public" / "titanic.csv").dropna()
    raw["survived"] = (raw["survived"] == "yes").astype(int)
    sex, klass = "C(sex, Treatment(reference='male'))", "C(passengerClass, Treatment(reference='3rd'))"
    patterns = from_rows(raw, np.zeros(len(raw), bool), ["sex", "passengerClass", "age"], "survived")
    patterns = patterns.drop(columns="sample")
    fits = [fit_logit(patterns, "events", terms, trials="trials") for terms in ([sex, klass, "age"], [sex, klass])]
    p1, p2 = (predict_by_pattern(f, patterns) for f in fits)
    got = auc_paired_delong(p1, p2, patterns["events"], patterns["trials"])
    assert len(raw) == ref["n"] == 1046 and patterns["events"].sum() == ref["events"]
    check_against_r(got, ref, REL)
    rows = expand(patterns, "survived")
    on_rows = auc_paired_delong(predict_by_pattern(fits[0], rows), predict_by_pattern(fits[1], rows), rows["survived"])
    assert on_rows == pytest.approx(got, rel=1e-12)


def test_coupon_models_equal_proc_roc_test(real_data_path):
    """The default model on all 25,317 rows against the same without coupons_last_month
    (tests/reference/r/tmall_interactions.json, paired_delong), on the 12,300 patterns: 1e-8 relative
    (observed 2e-12)."""
    from analysis.model.terms import model_terms, resolve_knots
    from analysis.read import read_patterns
    from analysis.spec import default_spec

    ref = json.loads((REFERENCE / "tmall_interactions.json").read_text())["paired_delong"]
    spec = default_spec()
    table = read_patterns(real_data_path, spec, seed=100, test_size=0.0).sample("train")
    terms, _ = resolve_knots(model_terms(spec, table)[0], table)
    reduced = [t for t in terms if t != "C(coupons_last_month)"]
    assert len(reduced) == len(terms) - 1
    p1, p2 = (predict_by_pattern(fit_logit(table, "events", t, trials="trials"), table) for t in (terms, reduced))
    got = auc_paired_delong(p1, p2, table["events"], table["trials"])
    assert int(table["trials"].sum()) == ref["n"] and int(table["events"].sum()) == ref["events"]
    check_against_r(got, ref, REL)


@pytest.mark.parametrize("case", ["tied", "coarse", "identical", "reversed"])
def test_small_tied_data_equal_proc(case):
    """pROC on 60 and 25 rows with scores on coarse grids (ties within and across classes), identical scores
    (z = 0 by pROC's rule) and reversed scores (tests/reference/r/paired_delong.json): 1e-12 relative."""
    ref = json.loads((REFERENCE / "paired_delong.json").read_text())["cases"][case]
    got = auc_paired_delong(ref["p1"], ref["p2"], ref["y"])
    for key in ("auc_1", "auc_2", "var_1", "var_2", "covariance", "z", "p_value"):
        assert got[key] == pytest.approx(ref[key], rel=1e-12, abs=1e-15), key
    assert [got["conf_low"], got["conf_high"]] == pytest.approx(ref["conf_int"], rel=1e-12, abs=1e-15)


def brute_force(p1, p2, y):
    """DeLong's paired test from its definition: placements by comparing every event with every non-event
    (O(n^2)), sample covariances of the placements, z and the CI of the difference."""
    p1, p2, y = map(np.asarray, (p1, p2, y))
    def psi(a, b):
        return (a > b) + 0.5 * (a == b)
    v10, v01 = [], []
    for p in (p1, p2):
        cases, controls = p[y == 1], p[y == 0]
        v10.append(np.array([psi(c, controls).mean() for c in cases]))
        v01.append(np.array([psi(cases, c).mean() for c in controls]))
    v10, v01 = np.column_stack(v10), np.column_stack(v01)
    auc = v10.mean(axis=0)
    s = np.cov(v10, rowvar=False) / len(v10) + np.cov(v01, rowvar=False) / len(v01)
    se = np.sqrt(s[0, 0] + s[1, 1] - 2 * s[0, 1])
    z = (auc[0] - auc[1]) / se
    return {"auc_1": auc[0], "auc_2": auc[1], "se": se, "z": z, "p_value": 2 * stats.norm.sf(abs(z)),
            "conf_low": auc[0] - auc[1] - 1.959963984540054 * se, "conf_high": auc[0] - auc[1] + 1.959963984540054 * se,
            "var_1": s[0, 0], "var_2": s[1, 1], "covariance": s[0, 1]}


def test_brute_force_on_tied_data_and_patterns_equal_rows():
    """400 rows, scores in 12 and 7 distinct values: every output equals the O(n^2) definition (1e-12), the
    AUCs and variances equal auc_delong's, and the rows pooled into (score pair, counts) patterns give the same
    result (1e-12); the patterns are not sorted and a pair of scores may repeat over several patterns."""
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 400)
    p1 = np.round(0.3 + 0.2 * y + rng.normal(0, 0.15, 400), 1).clip(0, 1)
    p2 = np.round(0.4 + 0.1 * y + rng.normal(0, 0.1, 400), 1).clip(0, 1)
    got = auc_paired_delong(p1, p2, y)
    ref = brute_force(p1, p2, y)
    for key, value in ref.items():
        assert got[key] == pytest.approx(value, rel=1e-12), key
    for a in (1, 2):
        single = auc_delong([p1, p2][a - 1], y)
        assert got[f"auc_{a}"] == pytest.approx(single["auc"], rel=1e-14)
        assert np.sqrt(got[f"var_{a}"]) == pytest.approx(single["se"], rel=1e-12)
    frame = pd.DataFrame({"p1": p1, "p2": p2, "y": y, "half": np.arange(400) % 2})
    patterns = frame.groupby(["p1", "p2", "half"]).agg(events=("y", "sum"), trials=("y", "size")).reset_index()
    patterns = patterns.sample(frac=1.0, random_state=3)
    pooled = auc_paired_delong(patterns["p1"], patterns["p2"], patterns["events"], patterns["trials"])
    assert pooled == pytest.approx(got, rel=1e-12)


def test_small_samples_and_bad_input():
    """One event: the AUCs exist, the variances do not (NaN, as pROC's NA); mismatched lengths are refused."""
    one = auc_paired_delong([0.2, 0.3, 0.9], [0.1, 0.5, 0.4], [0, 0, 1])
    assert one["auc_1"] == 1.0 and one["auc_2"] == 0.5 and np.isnan(one["se"]) and np.isnan(one["p_value"])
    with pytest.raises(ValueError, match="same length"):
        auc_paired_delong([0.1, 0.2], [0.1], [0, 1])
    with pytest.raises(ValueError, match="at least one event"):
        auc_paired_delong([0.1, 0.2], [0.3, 0.4], [0, 0])
