"""Benchmark: analysis.stepwise.stepwise against the straightforward statsmodels implementation of R's step().

    .venv/bin/python benchmarks/stepwise.py [--data PATH] [--repeat N]

For direction "both" (from the full model) and "forward" (from the intercept) with AIC on the real data,
times, in one process:
  * ours: `stepwise(data, "flag", FULL_TERMS, direction=..., criterion="aic")` up to its selected `.terms`
    (design, pooling, selection, path table); the statsmodels refit of the final model is lazy
    (`result.model`, on first access) and is timed separately as "model (s)": the first `.model` access
    of a fresh result, so nothing is hidden (ours + model = the old eager `stepwise`);
  * baseline: the same R step() algorithm (best single drop/add by AIC while it strictly improves; ties to
    "no change", then drops in model order, then adds in term order) refitting
    `smf.logit(formula, data).fit(disp=0)` for every candidate model; its selection ends with the final
    model already fitted, so "ours" vs "baseline" is selection vs selection.
It checks that both select the same terms and prints: direction, ours (s), model (s), baseline (s),
ratio = baseline / ours, ratio with the model access included, same terms; then ours by part.
Each timing is the best of --repeat runs (default 1 for the baseline, 3 for ours).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import statsmodels.formula.api as smf  # noqa: E402

from analysis import schema  # noqa: E402
from analysis.data import load_clean  # noqa: E402
from analysis.design import design_matrix, with_categoricals  # noqa: E402
from analysis.stepwise import (_estimates, _fit_final, _Problem, _response_arrays, _select_ic,  # noqa: E402
                               stepwise)

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "tianmao.csv"


def _aic(data, response, model_terms):
    rhs = " + ".join(model_terms) if model_terms else "1"
    res = smf.logit(f"{response} ~ {rhs}", data).fit(disp=0)
    return -2.0 * res.llf + 2.0 * (res.df_model + 1)


def baseline_step(data, response, terms, direction):
    """R's step() with k = 2, refitting every candidate with smf.logit; returns the selected terms."""
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
    return tuple(t for t in terms if t in current)


def breakdown(data, response, terms, direction, repeat):
    """Best-of-`repeat` seconds of the parts of `stepwise` (the same calls it makes)."""
    y, m = _response_arrays(data, response, None)
    t_design, (cdata, dm) = _best_time(lambda: (lambda c: (c, design_matrix(c, terms)))(
        with_categoricals(data, terms)), repeat)
    t_pool, prob = _best_time(lambda: _Problem(dm.X, y, m, dm.columns, dm.term_columns, terms), repeat)
    t_select, (selected, fit, _, _) = _best_time(lambda: _select_ic(prob, direction, 2.0, set(), None), repeat)
    selected = [t for t in terms if t in selected]
    t_refit, _ = _best_time(lambda: _fit_final(cdata, response, None, selected, _estimates(prob, fit)), repeat)
    return t_design, t_pool, t_select, t_refit


def _best_time(fn, repeat):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="tianmao.csv (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=1, help="baseline runs per direction (ours: 3x this)")
    args = parser.parse_args(argv)

    data = load_clean(args.data).data
    terms = schema.FULL_TERMS
    stepwise(data, schema.RESPONSE, terms, direction="both").model   # warm up imports and caches
    rows = []
    for direction in ("both", "forward"):
        def ours_terms():
            return stepwise(data, schema.RESPONSE, terms, direction=direction, criterion="aic").terms

        def model_access():                           # first .model access of a fresh result, timed alone
            res = stepwise(data, schema.RESPONSE, terms, direction=direction, criterion="aic")
            t0 = time.perf_counter()
            res.model
            return time.perf_counter() - t0

        ours_t, ours = _best_time(ours_terms, 3 * args.repeat)
        model_t = min(model_access() for _ in range(3 * args.repeat))
        base_t, base_terms = _best_time(lambda: baseline_step(data, schema.RESPONSE, terms, direction),
                                        args.repeat)
        rows.append((direction, ours_t, model_t, base_t, ours == base_terms))
    print(f"{'direction':<10} {'ours (s)':>9} {'model (s)':>10} {'baseline (s)':>13} {'ratio':>7} "
          f"{'w/ model':>9}  same terms")
    for direction, o, mt, b, same in rows:
        print(f"{direction:<10} {o:>9.3f} {mt:>10.3f} {b:>13.3f} {b / o:>6.1f}x {b / (o + mt):>8.1f}x  {same}")
    print()
    print("ours, by part (s): design = design matrix (text columns to Categoricals, then numpy or patsy);")
    print("pool = pooling rows into patterns; selection = Newton fits of all candidates; refit = statsmodels")
    print("formula Logit of the final model (lazy: `.model`, not in 'ours' above)")
    print(f"{'direction':<10} {'design':>8} {'pool':>8} {'selection':>10} {'refit':>8}")
    for direction in ("both", "forward"):
        parts = breakdown(data, schema.RESPONSE, list(terms), direction, 3 * args.repeat)
        print(f"{direction:<10} " + " ".join(f"{p:>{w}.3f}" for p, w in zip(parts, (8, 8, 10, 8))))
    return 0 if all(r[4] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
