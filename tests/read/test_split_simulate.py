"""The ID-hash split (engine independence) and the simulator (calibration, recovery, reproducibility)."""
import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from analysis.read import split
from analysis.read import read_patterns, sha256_file
from analysis.simulate import DEFAULT_ROWS, DEFAULT_SEED, calibration, simulate, true_coefficients, write_simulated

ROOT = Path(__file__).resolve().parents[2]
FORMULA = ("flag ~ age + C(job) + C(marriage) + default_yes + returned_yes + loan_yes"
           " + coupon_used_in_last6_month + coupon_used_in_last_month")


def hash_bigint(i: int, seed: int) -> float:
    """The split hash in Python's unbounded integers: no overflow possible."""
    p = split.PRIME
    x = (i % p * split.MULT_ID + (seed % p) * split.MULT_SEED % p + split.OFFSET) % p
    x = x * x % p
    x = (x * split.MULT_MIX + split.OFFSET) % p
    return x / p


def test_split_hash_equals_bigint_and_duckdb():
    ids = np.array([1, 2, 3, 17, 25317, 10**9, 2**31 - 2, 2**31 + 5, 4 * 10**9, 0, -1, -17, -(2**31) - 5, -4 * 10**9])
    for seed in (0, 100, 2**31 + 7):
        expected = [hash_bigint(int(i), seed) for i in ids]
        assert split.split_hash(ids, seed).tolist() == expected
        sql = f"SELECT {split.split_hash_sql('id', seed)} AS h FROM (SELECT UNNEST(?) AS id)"
        got = duckdb.execute(sql, [ids.tolist()]).fetchnumpy()["h"]
        assert got.tolist() == expected


def test_split_share_and_independence_of_order():
    ids = np.arange(1, 200_001)
    mask = split.in_test_sample(ids, 100, 0.3)
    sd = np.sqrt(0.3 * 0.7 / len(ids))
    assert abs(mask.mean() - 0.3) < 4 * sd
    shuffled = np.random.default_rng(0).permutation(ids)
    assert (split.in_test_sample(shuffled, 100, 0.3) == np.isin(shuffled, ids[mask])).all()
    assert not split.in_test_sample(ids, 100, 0.0).any()
    assert (split.in_test_sample(ids, 101, 0.3) != mask).mean() > 0.3  # the seed matters
    with pytest.raises(ValueError):
        split.in_test_sample(ids, 1, 1.0)


def test_embedded_sample_is_reproducible_from_code(tmp_path):
    embedded = ROOT / "data" / "simulated_tianmao.csv"
    again = write_simulated(tmp_path / "sim.csv", n_rows=DEFAULT_ROWS, seed=DEFAULT_SEED)
    assert sha256_file(again) == sha256_file(embedded)
    meta = json.loads((ROOT / "data" / "simulated_tianmao.csv.simulated.json").read_text())
    assert meta["sha256"] == sha256_file(embedded) and meta["simulated"] is True
    assert read_patterns(embedded).simulated


def test_simulated_data_is_recognised_only_with_matching_sidecar(tmp_path):
    path = write_simulated(tmp_path / "s.csv", n_rows=500, seed=1)
    assert read_patterns(path).simulated
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-1]) + "\n")  # one row fewer: no longer the simulated file
    assert not read_patterns(path).simulated


def test_calibration_targets_are_met():
    """Category shares and count means of a large sample match the real-data figures they were calibrated to."""
    cal = calibration()
    sim = simulate(200_000, seed=7)
    shares = sim["job"].value_counts(normalize=True)
    for job, share in cal["job_share"].items():
        assert shares[job] == pytest.approx(share, abs=4 * np.sqrt(share * (1 - share) / len(sim)) + 1e-4)
    pmf = pd.Series(cal["last6_pmf"]).rename(index=int)
    assert sim["coupon_used_in_last6_month"].mean() == pytest.approx((pmf.index * pmf).sum(), rel=0.02)
    assert (sim["coupon_used_in_last_month"] <= sim["coupon_used_in_last6_month"]).all()
    assert sim["age"].between(18, 95).all()


def test_fit_recovers_true_coefficients():
    """On 300,000 simulated rows the ML estimates agree with the coefficients the data were drawn from.

    Each true value lies within its 99.9% Wald CI (20 intervals, so a 2% family-wise false-alarm
    rate), and the joint Wald test of all 20 equalities does not reject at 0.1%.
    """
    raw = simulate(300_000, seed=11)
    data = raw.drop(columns="ID").rename(columns={"coupon_ind": "flag"})
    for column in ("default", "returned", "loan"):
        data[f"{column}_yes"] = (data.pop(column) == "yes").astype("int64")
    fit = smf.logit(FORMULA, data).fit(disp=0, method="newton")
    truth = true_coefficients().reindex(fit.params.index)
    assert truth.notna().all()
    z = (fit.params - truth) / fit.bse
    assert (z.abs() < stats.norm.ppf(1 - 0.001 / 2)).all(), z.round(2).to_dict()
    diff = (fit.params - truth).to_numpy()
    wald = diff @ np.linalg.solve(fit.cov_params().to_numpy(), diff)
    assert stats.chi2.sf(wald, len(diff)) > 0.001
