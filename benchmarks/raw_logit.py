"""The obvious alternative to the pattern fit: read every row into pandas and fit smf.logit on the rows.

    .venv/bin/python benchmarks/raw_logit.py FILE --out RESULT.json [--seed 100] [--test-size 0.3]

What a notebook does: read the file (CSV or Parquet) whole, turn the yes/no columns into 0/1 dummies,
keep the training rows (the same ID-hash split as the package, ``analysis.split``, so that both fit
the same rows), and fit the full model with ``statsmodels.formula.api.logit``. Writes the estimates
and standard errors as JSON so that ``benchmarks/scale.py`` can check that the pattern fit found the
same ones. Run by ``benchmarks/scale.py`` in its own process, so that its wall time and peak memory are
those of the whole process.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import fit_args  # noqa: E402  (benchmarks/, on sys.path as the script's folder)

import pandas as pd  # noqa: E402
import statsmodels.formula.api as smf  # noqa: E402

from analysis import schema  # noqa: E402
from analysis.split import in_test_sample  # noqa: E402


def main() -> None:
    args = fit_args.parse(__doc__.splitlines()[0])

    rows = pd.read_parquet(args.data) if args.data.suffix == ".parquet" else pd.read_csv(args.data)
    for column in ("default", "returned", "loan"):
        rows[f"{column}_yes"] = (rows.pop(column) == "yes").astype("int64")
    rows["flag"] = rows.pop("coupon_ind")
    train = rows[~in_test_sample(rows.pop("ID").to_numpy(), args.seed, args.test_size)]
    del rows
    formula = "flag ~ " + " + ".join(schema.FULL_TERMS)
    fit = smf.logit(formula, data=train).fit(disp=0, maxiter=100)
    args.out.write_text(json.dumps({
        "n_obs": int(fit.nobs), "converged": bool(fit.mle_retvals["converged"]),
        "params": fit.params.to_dict(), "bse": fit.bse.to_dict(), "aic": fit.aic, "bic": fit.bic}, indent=1))


if __name__ == "__main__":
    main()
