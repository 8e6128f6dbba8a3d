"""The obvious alternative to the pattern fit: read every row into pandas and fit smf.logit on the rows.

    .venv/bin/python benchmarks/raw_logit.py FILE --out RESULT.json [--seed 100] [--test-size 0]
                                             [--spec SPEC.toml]

What a notebook does: read the file (CSV or Parquet) whole, turn the yes/no columns into 0/1 dummies,
compute the default specification's derived columns by hand in pandas (``coupons_months_2_6 = last 6
months - last month``, ``coupons_last_month = last month capped at 4, as text``; only those the
specification uses), keep the training rows (the same ID-hash split as the package, ``analysis.read.split``,
so that both fit the same rows), and fit the full model with ``statsmodels.formula.api.logit``. The
model is the specification's (default: the bundled analysis/spec/tmall.toml; --spec
tests/specs/tmall_linear.toml for the all-linear model on the raw columns), written out as the package
writes it so that the coefficient names are the same: each categorical's baseline by the
specification's rule (most frequent level of all rows, or the first level) and each ``rcs(x, k)`` with
its knots placed by rms's rule on the training rows (``analysis.model.splines.rcs_knots``, the package's ``rcs``
transform in the formula). No validation, no exclusions (the specifications used here have none).
Writes the terms, estimates and standard errors as JSON so that ``benchmarks/scale.py`` can check that
the pattern fit found the same ones. Run by ``benchmarks/scale.py`` in its own process, so that its wall
time and peak memory are those of the whole process.
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

from analysis.spec import default_spec, load_spec  # noqa: E402
from analysis.model.splines import parse_rcs_term, rcs, rcs_knots, rcs_term  # noqa: E402,F401  (rcs: formulas)
from analysis.read.split import in_test_sample  # noqa: E402
from analysis.model.terms import categorical_term  # noqa: E402

#: the derived columns of the Tmall specifications, by hand
DERIVED = {
    "coupons_months_2_6": lambda rows: rows["coupon_used_in_last6_month"] - rows["coupon_used_in_last_month"],
    "coupons_last_month": lambda rows: rows["coupon_used_in_last_month"].clip(upper=4).astype(str),
}


def baseline(rows: pd.DataFrame, variable) -> str:
    """The specification's baseline rule on the rows: most frequent (ties: first sorted), first, or a level."""
    if variable.baseline == "most_frequent":
        counts = rows[variable.name].value_counts()
        return str(min(counts.index, key=lambda level: (-counts[level], str(level))))
    if variable.baseline == "first":
        return str(min(rows[variable.name].unique()))
    return str(variable.baseline)


def main() -> None:
    args = fit_args.parse(__doc__.splitlines()[0])
    spec = load_spec(args.spec) if args.spec else default_spec()

    rows = pd.read_parquet(args.data) if args.data.suffix == ".parquet" else pd.read_csv(args.data)
    for column in ("default", "returned", "loan"):
        rows[f"{column}_yes"] = (rows.pop(column) == "yes").astype("int64")
    rows["flag"] = rows.pop("coupon_ind")
    for variable in spec.variables:
        if variable.column is None:
            rows[variable.name] = DERIVED[variable.name](rows)
    terms = []
    for term in spec.candidate_terms:
        parsed = parse_rcs_term(term)
        if term.startswith("C(") and term.endswith(")") and "," not in term:
            variable = spec.variable(term[2:-1].strip())
            terms.append(categorical_term(variable.name, baseline(rows, variable), rows[variable.name].unique()))
        elif parsed is not None:
            terms.append(parsed)             # knots placed on the training rows, below
        else:
            terms.append(term)
    train = rows[~in_test_sample(rows.pop("ID").to_numpy(), args.seed, args.test_size)]
    del rows
    terms = [rcs_term(t[0], rcs_knots(train[t[0]].to_numpy(), t[1])) if isinstance(t, tuple) else t for t in terms]
    formula = "flag ~ " + " + ".join(terms)
    fit = smf.logit(formula, data=train).fit(disp=0, maxiter=100)
    args.out.write_text(json.dumps({
        "n_obs": int(fit.nobs), "converged": bool(fit.mle_retvals["converged"]), "terms": terms,
        "params": fit.params.to_dict(), "bse": fit.bse.to_dict(), "aic": fit.aic, "bic": fit.bic}, indent=1))


if __name__ == "__main__":
    main()
