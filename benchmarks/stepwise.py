"""Benchmark: analysis.model.selection.stepwise against the straightforward statsmodels implementation of R's step().

    .venv/bin/python benchmarks/stepwise.py [--data PATH] [--repeat N] [--models linear,spline]
                                            [--blas-threads-baseline]

Data: all rows of the real data (--data, default ../shared/data/tianmao.csv next to the repository; if
that file is absent, the embedded simulated sample data/simulated_tianmao.csv, with a message), read
and validated by `analysis.read.read_rows` (no test split), the same rows for both implementations.

Models (the candidate terms, i.e. the upper scope):
  * linear: tests/specs/tmall_linear.toml, the original all-linear model on the raw columns
    (age, job, marriage, default, returned, loan, coupons last 6 months, coupons last month);
  * spline: the bundled default specification (analysis/spec/tmall.toml): rcs(age, 5), job, marriage,
    default, returned, loan, rcs(coupons_months_2_6, 3), coupons_last_month as a factor; baselines by
    `analysis.model.terms.model_terms` and the knots resolved on the rows (`resolve_knots`), written into the
    terms, so that both implementations fit exactly the same design.

For each model, direction "both" (from the full model) and "forward" (from the intercept) with AIC,
times, in one process:
  * ours: `stepwise(rows, "flag", terms, direction=..., criterion="aic")` up to its selected `.terms`
    (design, pooling, selection, path table); the statsmodels refit of the final model is lazy
    (`result.model`, on first access) and is timed separately as "model (s)": the first `.model` access
    of a fresh result, so nothing is hidden (ours + model = an eager `stepwise`);
  * baseline: the same R step() algorithm (best single drop/add by AIC while it strictly improves; ties to
    "no change", then drops in model order, then adds in term order) refitting
    `smf.logit(formula, rows).fit(disp=0)` for every candidate model; its selection ends with the final
    model already fitted, so "ours" vs "baseline" is selection vs selection. It runs with one BLAS thread,
    as ours does (`analysis.threads`): on a busy machine OpenBLAS threads spinning against other
    processes slow small fits by large factors, which would flatter the ratio; --blas-threads-baseline
    runs it with the default BLAS threads instead.
It asserts that both select the same terms with the same AIC (1e-8 relative) and prints, per model and
direction: ours (s), model (s), baseline (s), ratio = baseline / ours, ratio with the model access
included, CPU ratio (process CPU seconds, baseline / ours: less sensitive to the other load), same
terms, |AIC ours - AIC baseline|; then ours by part: design (`analysis.model.design.design_matrix` of the
rows, text columns to Categoricals included), setup (`Selector(...)`: response checks, design and pooling
into covariate patterns), selection (`Selector.run()`), refit (the lazy `.model`).
Each timing is the best of --repeat runs (default 1 for the baseline, 3x that for ours). The load
average (1, 5, 15 min) is printed before and after: the machine may be shared, read the ratios with it.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import statsmodels.formula.api as smf  # noqa: E402

from analysis.model.design import design_matrix, with_categoricals  # noqa: E402
from analysis.read import read_patterns, read_rows  # noqa: E402
from analysis.model.selection import Selector, stepwise  # noqa: E402
from analysis.spec import default_spec, load_spec  # noqa: E402
from analysis.model.splines import rcs  # noqa: E402,F401  (the spline terms' formulas are evaluated here)
from analysis.model.terms import model_terms, resolve_knots  # noqa: E402
from analysis.threads import blas_single_thread  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "tianmao.csv"
FALLBACK_DATA = ROOT / "data" / "simulated_tianmao.csv"
LINEAR_SPEC = ROOT / "tests" / "specs" / "tmall_linear.toml"
MODELS = ("linear", "spline")
DIRECTIONS = ("both", "forward")
AIC_REL = 1e-8


def load() -> str:
    return "load average {:.2f} {:.2f} {:.2f} (1, 5, 15 min)".format(*os.getloadavg())


def _aic(data, response, model_terms):
    rhs = " + ".join(model_terms) if model_terms else "1"
    res = smf.logit(f"{response} ~ {rhs}", data).fit(disp=0)
    return -2.0 * res.llf + 2.0 * (res.df_model + 1)


def baseline_step(data, response, terms, direction):
    """R's step() with k = 2, refitting every candidate with smf.logit; returns (selected terms, AIC)."""
    terms = list(terms)
    current = list(terms) if direction == "both" else []
    crit = _aic(data, response, current)
    while True:
        moves = []
        if direction == "both":
            for t in current:
                moves.append((_aic(data, response, [u for u in current if u != t]), "remove", t))
        for t in terms:
            if t not in current:
                moves.append((_aic(data, response, current + [t]), "add", t))
        if not moves:
            break
        best = min(range(len(moves)), key=lambda i: (moves[i][0], i))
        new_crit, action, term = moves[best]
        if not new_crit < crit:
            break
        current = [u for u in current if u != term] if action == "remove" else current + [term]
        crit = new_crit
    return tuple(t for t in terms if t in current), crit


def _best_time(fn, repeat):
    """(best wall seconds, CPU seconds of that run, last result) of `repeat` calls."""
    best, cpu, out = float("inf"), float("nan"), None
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        wall, used = time.perf_counter() - t0, time.process_time() - c0
        if wall < best:
            best, cpu = wall, used
    return best, cpu, out


def model_setup(name, path):
    """(label, rows, candidate terms) of a model on the file: the rows validated by its specification."""
    spec = load_spec(LINEAR_SPEC) if name == "linear" else default_spec()
    table = read_patterns(path, spec, test_size=0.0, engine="memory", hash_file=False)
    terms, _ = model_terms(spec, table.patterns)
    terms, _ = resolve_knots(terms, table.sample("train"))
    rows = read_rows(path, spec, keep_id=False)
    return spec.response.name, rows, terms


def breakdown(data, response, terms, direction, repeat):
    """Best-of-`repeat` seconds of the parts of `stepwise`, through the public API."""
    t_design, _, _ = _best_time(lambda: design_matrix(with_categoricals(data, terms), terms), repeat)
    t_setup, _, sel = _best_time(lambda: Selector(data, response, terms, direction=direction, criterion="aic"),
                                 repeat)
    t_select, _, _ = _best_time(sel.run, repeat)
    return t_design, t_setup, t_select


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None, help=f"tianmao.csv (default: {DEFAULT_DATA})")
    parser.add_argument("--repeat", type=int, default=1, help="baseline runs per direction (ours: 3x this)")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated: linear, spline")
    parser.add_argument("--blas-threads-baseline", action="store_true",
                        help="run the statsmodels baseline with the default BLAS threads (default: one thread)")
    args = parser.parse_args(argv)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if not models or set(models) - set(MODELS):
        parser.error(f"--models: comma-separated names of {', '.join(MODELS)}")
    path = args.data
    if path is None:
        path = DEFAULT_DATA
        if not path.is_file():
            print(f"{DEFAULT_DATA} not found: using the simulated sample {FALLBACK_DATA} instead", file=sys.stderr)
            path = FALLBACK_DATA
    baseline_threads = contextlib.nullcontext if args.blas_threads_baseline else blas_single_thread

    print(f"data: {path}; machine: {os.cpu_count()} cores; {load()} at start")
    setups = {name: model_setup(name, path) for name in models}
    for name, (response, rows, terms) in setups.items():
        print(f"{name}: {len(rows):,} rows; terms: {', '.join(terms)}")
    response, rows, terms = setups[models[0]]
    stepwise(rows, response, terms, direction="both").model   # warm up imports and caches
    with baseline_threads():
        baseline_step(rows, response, terms[:1], "both")

    results, failures = [], []
    for name, (response, data, terms) in setups.items():
        for direction in DIRECTIONS:
            def ours_run():
                return stepwise(data, response, terms, direction=direction, criterion="aic")

            def model_access():                           # first .model access of a fresh result, timed alone
                res = ours_run()
                t0 = time.perf_counter()
                res.model
                return time.perf_counter() - t0

            ours_t, ours_cpu, ours = _best_time(ours_run, 3 * args.repeat)
            model_t = min(model_access() for _ in range(3 * args.repeat))
            with baseline_threads():
                base_t, base_cpu, (base_terms, base_aic) = _best_time(
                    lambda: baseline_step(data, response, terms, direction), args.repeat)
            ours_aic = float(ours.path["criterion"].iloc[-1])
            same = tuple(ours.terms) == base_terms
            d_aic = abs(ours_aic - base_aic)
            if not same or not d_aic <= AIC_REL * abs(base_aic):
                failures.append(f"{name}/{direction}: ours {list(ours.terms)} AIC {ours_aic!r}, "
                                f"baseline {list(base_terms)} AIC {base_aic!r}")
            results.append((name, direction, ours_t, model_t, base_t, base_cpu / ours_cpu, same, d_aic,
                            list(ours.terms), ours_aic))

    print(f"{'model':<7} {'direction':<10} {'ours (s)':>9} {'model (s)':>10} {'baseline (s)':>13} {'ratio':>7} "
          f"{'w/ model':>9} {'cpu ratio':>10}  same terms  |dAIC|")
    for name, direction, o, mt, b, cpu_ratio, same, d_aic, _, _ in results:
        print(f"{name:<7} {direction:<10} {o:>9.3f} {mt:>10.3f} {b:>13.3f} {b / o:>6.1f}x {b / (o + mt):>8.1f}x "
              f"{cpu_ratio:>9.1f}x  {str(same):<10}  {d_aic:.1e}")
    print()
    for name, direction, *_, selected, aic in results:
        print(f"{name}/{direction}: AIC {aic:.4f}, {len(selected)} terms: {', '.join(selected)}")
    print()
    print("ours, by part (s): design = design matrix (text columns to Categoricals, then numpy or patsy);")
    print("setup = Selector(...): design + pooling rows into patterns; selection = Selector.run(): Newton fits")
    print("of all candidates; refit = statsmodels formula Logit of the final model (lazy: `.model`, not in")
    print("'ours' above)")
    print(f"{'model':<7} {'direction':<10} {'design':>8} {'setup':>8} {'selection':>10} {'refit':>8}")
    for (name, direction, _, model_t, *_rest) in results:
        response, data, terms = setups[name]
        parts = (*breakdown(data, response, list(terms), direction, 3 * args.repeat), model_t)
        print(f"{name:<7} {direction:<10} " + " ".join(f"{p:>{w}.3f}" for p, w in zip(parts, (8, 8, 10, 8))))
    print(f"{load()} at end; baseline BLAS threads: "
          f"{'default' if args.blas_threads_baseline else 'one (as ours)'}")
    assert not failures, "ours and the baseline differ:\n" + "\n".join(failures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
