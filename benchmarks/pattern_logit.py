"""Like for like with benchmarks/raw_logit.py: the same full-model Logit, fitted on covariate patterns.

    .venv/bin/python benchmarks/pattern_logit.py FILE --out RESULT.json [--seed 100] [--test-size 0]
                                                 [--spec SPEC.toml] [--engine duckdb]

Reads, validates, splits and reduces the file to covariate patterns with `analysis.read.read_patterns`
(streamed through DuckDB by default; the specification's rules checked; the file's SHA-256 is not
computed, since raw_logit.py does not read the file twice), takes the candidate terms of the
specification (default: the bundled one, analysis/spec/tmall.toml: rcs(age, 5), job, marriage, default,
returned, loan, rcs(coupons_months_2_6, 3), coupons_last_month as a factor) with their baselines
(`analysis.model.terms.model_terms`, on all rows used) and knots (`resolve_knots`, on the training rows), and
fits the full model on the training patterns (`analysis.model.fit_logit`): no selection, no diagnostics,
no figures, as ``raw_logit.py`` does on the rows. Writes the terms, the estimates and standard errors
as JSON. Run by ``benchmarks/scale.py`` in its own process.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import fit_args  # noqa: E402  (benchmarks/, on sys.path as the script's folder)

from threadpoolctl import threadpool_limits  # noqa: E402

from analysis.model import fit as model  # noqa: E402
from analysis.read import read_patterns  # noqa: E402
from analysis.spec import default_spec, load_spec  # noqa: E402
from analysis.model.terms import model_terms, resolve_knots  # noqa: E402


def main() -> None:
    args = fit_args.parse(__doc__.splitlines()[0], engine=True)
    spec = load_spec(args.spec) if args.spec else default_spec()

    with threadpool_limits(limits=1, user_api="blas"):
        table = read_patterns(args.data, spec, seed=args.seed, test_size=args.test_size, engine=args.engine,
                              hash_file=False)
        terms, _ = model_terms(spec, table.patterns)
        train = table.sample("train")
        terms, _ = resolve_knots(terms, train)
        fit = model.fit_logit(train, "events", terms, trials="trials")
    args.out.write_text(json.dumps({"n_obs": model.glance(fit)["n_obs"], "n_patterns": table.n_patterns,
                                    "terms": terms, "params": fit.params.to_dict(), "bse": fit.bse.to_dict()},
                                   indent=1))


if __name__ == "__main__":
    main()
