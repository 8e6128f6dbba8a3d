"""Like for like with benchmarks/raw_logit.py: the same full-model Logit, fitted on covariate patterns.

    .venv/bin/python benchmarks/pattern_logit.py FILE --out RESULT.json [--seed 100] [--test-size 0.3]

Streams the file through DuckDB to the pattern table (``analysis.aggregate``, validation included)
and fits the full model on the training patterns (``analysis.model.fit_logit``): no selection, no
diagnostics, no figures, as ``raw_logit.py`` does on the rows. Writes the estimates and standard
errors as JSON. Run by ``benchmarks/scale.py`` in its own process.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import fit_args  # noqa: E402  (benchmarks/, on sys.path as the script's folder)

from threadpoolctl import threadpool_limits  # noqa: E402

from analysis import model, schema  # noqa: E402
from analysis.aggregate import aggregate  # noqa: E402


def main() -> None:
    args = fit_args.parse(__doc__.splitlines()[0])

    with threadpool_limits(limits=1, user_api="blas"):
        table = aggregate(args.data, seed=args.seed, test_size=args.test_size)
        fit = model.fit_logit(table.sample("train"), "events", schema.FULL_TERMS, trials="trials")
    args.out.write_text(json.dumps({"n_obs": model.glance(fit)["n_obs"], "params": fit.params.to_dict(),
                                    "bse": fit.bse.to_dict()}, indent=1))


if __name__ == "__main__":
    main()
