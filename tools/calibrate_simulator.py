"""Derive the simulator's calibration figures from the real data (run once, offline).

Writes analysis/simulator_calibration.json: only aggregate figures (category shares, means and
standard deviations, count distributions and the full-model logit coefficients), never rows.

    python tools/calibrate_simulator.py ../shared/data/tianmao.csv
"""
import json
import sys
from pathlib import Path

import pandas as pd
import statsmodels.formula.api as smf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from analysis.read import read_rows  # noqa: E402

AGE_BANDS = [0, 30, 40, 50, 60, 200]
LAST6_CAP = 10  # last-month counts are tabulated given min(last6, 10)


def main(path: str) -> None:
    d = read_rows(path)
    jobs = d["job"].value_counts().sort_index()
    age_by_job = d.groupby("job")["age"].agg(["mean", "std", "min", "max"]).sort_index()
    band = pd.cut(d["age"], AGE_BANDS, right=True)
    marriage_by_band = pd.crosstab(band, d["marriage"], normalize="index")
    last6 = d["coupon_used_in_last6_month"].value_counts(normalize=True).sort_index()
    capped = d["coupon_used_in_last6_month"].clip(upper=LAST6_CAP)
    last_month = pd.crosstab(capped, d["coupon_used_in_last_month"], normalize="index")
    fit = smf.logit(
        "flag ~ age + C(job) + C(marriage) + default_yes + returned_yes + loan_yes"
        " + coupon_used_in_last6_month + coupon_used_in_last_month", d,
    ).fit(disp=0, method="newton", tol=1e-12, maxiter=100)
    out = {
        "source": {"file": Path(path).name, "rows": int(len(d)), "events": int(d["flag"].sum())},
        "job_share": {k: round(v / len(d), 6) for k, v in jobs.items()},
        "age_by_job": {j: {c: round(float(r[c]), 4) for c in ["mean", "std", "min", "max"]}
                       for j, r in age_by_job.iterrows()},
        "age_bands": AGE_BANDS,
        "marriage_by_age_band": [{m: round(float(r[m]), 6) for m in marriage_by_band.columns}
                                 for _, r in marriage_by_band.iterrows()],
        "yes_rate_by_job": {c: {j: round(float(v), 6) for j, v in d.groupby("job")[f"{c}_yes"].mean().items()}
                            for c in ["default", "returned", "loan"]},
        "last6_pmf": {int(k): round(float(v), 8) for k, v in last6.items()},
        "last6_cap": LAST6_CAP,
        "last_month_given_last6": {int(m): {int(k): round(float(v), 8) for k, v in row.items() if v > 0}
                                   for m, row in last_month.iterrows()},
        "coefficients": {k: round(float(v), 6) for k, v in fit.params.items()},
    }
    target = Path(__file__).resolve().parents[1] / "analysis" / "simulator_calibration.json"
    target.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {target}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/tianmao.csv")
