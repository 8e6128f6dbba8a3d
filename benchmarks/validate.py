"""Benchmark and comparison: analysis.evaluate.bootstrap.validate_selection against rms::validate (R).

    .venv/bin/python benchmarks/validate.py [--data PATH] [--B 200] [--seed 2024] [--workers 2]
                                            [--models linear,spline] [--no-r] [--reference]

R is NOT a dependency of the package: it is used only here, to time and compare rms. If Rscript or the
rms package is missing (or --no-r is given), the rms runs are skipped, with a message, and only ours is
timed (the comparison then uses the stored reference, --reference).

What it does, on ALL rows of the real data (no test split), in one run:
  * ours: `validate_selection(all_rows, terms, selection={"direction": "backward"}, B, seed, workers)`
    (step() backward by AIC in every resample: the analogue of rms's bw = TRUE) and the same with
    direction "both" (step()'s default), each timed (wall clock, data already read; design, pooling, the
    original selection and the B resamples included);
  * rms: `set.seed(seed); validate(lrm(formula, x = TRUE, y = TRUE), B = B, bw = TRUE, rule = "aic")`
    through `Rscript benchmarks/validate_rms.R`, timed inside R with system.time() (R's start-up and
    the lrm fit excluded);
  * both as wall-clock seconds (the target: ours with `workers` processes against single-threaded R)
    and CPU seconds (user + system of every process involved: ours' parent and worker processes), the
    fairer comparison on a shared machine where the other load takes CPUs from our workers;
  * /proc/loadavg before and after every timed run (the machine may be shared: read the ratio with it);
  * the indexes side by side: ours (apparent, optimism +- Monte-Carlo SE, corrected) and rms's
    (index.orig, optimism, index.corrected) for Dxy, R2 (Nagelkerke), calibration intercept and slope,
    and Brier (B), with z = (ours - rms) / (sqrt(2) SE_ours): two independent bootstrap means with B
    resamples each, rms's SE taken equal to ours (validate does not return its resamples). |z| < 3 is
    reported as agreement within Monte-Carlo error; the procedures differ (fastbw approximates backward
    elimination by Wald statistics without refits; ours refits every candidate), so the selection
    shares are printed next to each other too.
  * --reference: also compares with tests/reference/r/validate_tianmao.json (R's run of the reference
    script: models "linear" and "spline4" = rcs(age, 4)), including validate(fit) without selection
    against ours with direction "none" (the same procedure).

Models: "linear" (age, job, marriage, default, returned, loan, coupons last 6 months, last month: the
reference script's linear model), "spline" (the default specification's model: rcs(age) with 5 knots,
rcs(coupons months 2-6) with 3, coupons last month as a factor, knots resolved on all rows and passed to
R explicitly), "spline4" (the reference script's spline model: rcs(age, 4)).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from analysis.evaluate.bootstrap import validate_selection  # noqa: E402
from analysis.read import read_patterns  # noqa: E402
from analysis.spec import load_spec  # noqa: E402
from analysis.model.splines import parse_rcs_term  # noqa: E402
from analysis.model.terms import model_terms, resolve_knots, split_interaction, term_variables  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "tianmao.csv"
REFERENCE = ROOT / "tests" / "reference" / "r" / "validate_tianmao.json"
R_SCRIPT = Path(__file__).resolve().parent / "validate_rms.R"
LINEAR = ["age", "C(job)", "C(marriage)", "default_yes", "returned_yes", "loan_yes",
          "coupon_used_in_last6_month", "coupon_used_in_last_month"]
SPLINE4 = ["rcs(age, 4)", "C(job)", "C(marriage)", "default_yes", "returned_yes", "loan_yes",
           "rcs(coupons_months_2_6, 3)", "C(coupons_last_month)"]
#: our variable -> rms factor name
R_NAME = {"age": "age", "job": "job", "marriage": "marriage", "default_yes": "default", "returned_yes": "returned",
          "loan_yes": "loan", "coupon_used_in_last6_month": "coupon_used_in_last6_month",
          "coupon_used_in_last_month": "coupon_used_in_last_month", "coupons_months_2_6": "m26",
          "coupons_last_month": "last4"}
#: our index -> rms's row name
RMS_INDEX = {"dxy": "Dxy", "nagelkerke_r2": "R2", "calibration_intercept": "Intercept",
             "calibration_slope": "Slope", "brier": "B"}


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def r_formula(terms) -> str:
    """The rms formula of our terms (knots written out, so R uses exactly ours)."""
    parts = []
    for t in terms:
        (factor,) = split_interaction(t)
        var = term_variables(factor)[0]
        name = R_NAME[var]
        if factor.startswith("rcs("):
            _, knots = parse_rcs_term(factor)
            parts.append(f"rcs({name}, c({', '.join(f'{k:.17g}' for k in knots)}))")
        else:
            parts.append(name)
    return "coupon_ind ~ " + " + ".join(parts)


def model_terms_all_rows(name, rows, patterns):
    if name == "linear":
        return list(LINEAR)
    if name == "spline4":
        return resolve_knots(SPLINE4, rows)[0]
    if name == "spline":
        terms, _ = model_terms(load_spec(None), patterns)
        return resolve_knots(terms, rows)[0]
    raise SystemExit(f"unknown model {name!r}: linear, spline, spline4")


def r_available() -> str | None:
    """None if Rscript with rms can run, else the reason."""
    if shutil.which("Rscript") is None:
        return "Rscript not found"
    probe = subprocess.run(["Rscript", "-e", "suppressPackageStartupMessages(library(rms))"], capture_output=True,
                           text=True)
    if probe.returncode:
        detail = probe.stderr.strip().splitlines()[-1] if probe.stderr.strip() else f"exit status {probe.returncode}"
        return f"R package rms not available ({detail})"
    return None


def run_rms(data: Path, formulas: dict, B: int, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        models = Path(tmp) / "models.json"
        out = Path(tmp) / "out.json"
        models.write_text(json.dumps(formulas))
        proc = subprocess.run(["Rscript", str(R_SCRIPT), str(data), str(models), str(out), str(B), str(seed)],
                              capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(f"Rscript failed:\n{proc.stderr}")
        return json.loads(out.read_text())


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its finished (waited-for) children: the worker
    processes of a finished ProcessPoolExecutor count."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        r = resource.getrusage(who)
        total += r.ru_utime + r.ru_stime
    return total


def ours(rows, terms, direction, B, seed, workers):
    before = loadavg()
    c0 = cpu_seconds()
    t0 = time.perf_counter()
    res = validate_selection(rows, terms, selection={"direction": direction}, B=B, seed=seed, workers=workers,
                             progress=lambda msg: print("  " + msg, file=sys.stderr, end="\r"))
    seconds = time.perf_counter() - t0
    cpu = cpu_seconds() - c0
    print(file=sys.stderr)
    return res, seconds, cpu, before, loadavg()


def side_by_side(res, rms_table: dict, label: str) -> pd.DataFrame:
    """Our table next to rms's (dict with index, index_orig, optimism, corrected) with z scores."""
    tab = res.table.set_index("index")
    r = pd.DataFrame({"orig": rms_table["index_orig"], "optimism": rms_table["optimism"],
                      "corrected": rms_table["corrected"]}, index=rms_table["index"])
    rows = []
    for ours_name, rms_name in RMS_INDEX.items():
        o = tab.loc[ours_name]
        se = math.sqrt(2.0) * o["optimism_se"]
        z = (o["optimism"] - r.loc[rms_name, "optimism"]) / se if se > 0 else math.nan
        rows.append({"index": rms_name, "ours_apparent": o["apparent"], f"{label}_orig": r.loc[rms_name, "orig"],
                     "ours_optimism": o["optimism"], "ours_se": o["optimism_se"],
                     f"{label}_optimism": r.loc[rms_name, "optimism"], "z": z,
                     "ours_corrected": o["corrected"], f"{label}_corrected": r.loc[rms_name, "corrected"],
                     "agree": "yes" if abs(z) < 3 else ("n/a" if math.isnan(z) else "NO")})
    return pd.DataFrame(rows)


def shares(res) -> pd.Series:
    s = res.stability.set_index("term")["share"]
    s.index = [R_NAME[term_variables(t)[0]] for t in s.index]
    return s


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--B", type=int, default=200)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--models", default="linear,spline")
    ap.add_argument("--no-r", action="store_true", help="do not run R (time ours only)")
    ap.add_argument("--reference", action="store_true",
                    help="also compare with tests/reference/r/validate_tianmao.json (linear, spline4)")
    args = ap.parse_args(argv)
    pd.set_option("display.width", 220)
    pd.set_option("display.max_columns", 30)
    pd.set_option("display.float_format", lambda v: f"{v:.5f}")

    patterns = read_patterns(args.data, seed=100, test_size=0.0)
    rows = patterns.sample("train")             # test_size 0: every row
    n = int(rows["trials"].sum())
    cpus = os.cpu_count()
    print(f"data: {args.data} ({n:,} rows, {len(rows):,} covariate patterns); B = {args.B}, seed = {args.seed}, "
          f"workers = {args.workers}; machine: {cpus} CPUs")
    names = [m.strip() for m in args.models.split(",") if m.strip()]
    terms = {name: model_terms_all_rows(name, rows, patterns.patterns) for name in names}

    why_not_r = "--no-r given" if args.no_r else r_available()
    timings, results = [], {}
    for name in names:
        print(f"\n== {name}: {r_formula(terms[name])}")
        for direction in ("backward", "both"):
            res, seconds, cpu, before, after = ours(rows, terms[name], direction, args.B, args.seed, args.workers)
            results[(name, direction)] = res
            timings.append({"model": name, "method": f"ours step() {direction} AIC", "seconds": seconds,
                            "cpu_seconds": cpu, "failed": res.failed, "load_before": before, "load_after": after})
            print(f"  ours ({direction}): {seconds:.2f} s (CPU {cpu:.2f} s), load {before} -> {after}, failed "
                  f"{res.failed}, selected on all rows: {', '.join(res.selected_terms)}")

    rms = None
    if why_not_r:
        print(f"\nrms: skipped ({why_not_r}); R is needed only by this benchmark, never by the package")
    else:
        print("\nrms: running validate(fit, B, bw = TRUE, rule = 'aic') in R ...", flush=True)
        rms = run_rms(args.data, {name: r_formula(terms[name]) for name in names}, args.B, args.seed)
        for name in names:
            r = rms["models"][name]
            timings.append({"model": name, "method": f"rms validate bw=TRUE ({rms['R'].split(' (')[0]}, "
                            f"rms {rms['rms']})", "seconds": r["elapsed_s"], "cpu_seconds": r["user_s"] + r["sys_s"],
                            "failed": args.B - int(min(r["n"])), "load_before": r["loadavg_before"],
                            "load_after": r["loadavg_after"]})

    print("\n== timings (wall clock seconds; CPU = user + system seconds of all processes involved; "
          "load = /proc/loadavg 1/5/15 min before -> after)")
    tt = pd.DataFrame(timings)
    print(tt.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    if rms is not None:
        print()
        for name in names:
            r = rms["models"][name]
            r_s, r_cpu = r["elapsed_s"], r["user_s"] + r["sys_s"]
            for direction in ("backward", "both"):
                o = tt[(tt.model == name) & (tt.method == f"ours step() {direction} AIC")].iloc[0]
                print(f"  {name}: rms {r_s:.2f} s / ours {direction} {o['seconds']:.2f} s = "
                      f"{r_s / o['seconds']:.1f}x wall clock; CPU {r_cpu:.2f} s / {o['cpu_seconds']:.2f} s = "
                      f"{r_cpu / o['cpu_seconds']:.1f}x")

    for name in names:
        for direction in ("backward", "both"):
            res = results[(name, direction)]
            print(f"\n== {name}, ours {direction}: all indexes")
            print(res.table.to_string(index=False))
        if rms is not None:
            r = rms["models"][name]
            table = {"index": r["index"], "index_orig": r["index_orig"], "optimism": r["optimism"],
                     "corrected": r["corrected"]}
            for direction in ("backward", "both"):
                print(f"\n== {name}: ours step() {direction} AIC vs rms validate(bw = TRUE) (same run)")
                print(side_by_side(results[(name, direction)], table, "rms").to_string(index=False))
            st = pd.DataFrame({"ours_backward": shares(results[(name, "backward")]),
                               "ours_both": shares(results[(name, "both")]),
                               "rms_fastbw": pd.Series(r.get("kept_share") or {})})
            print(f"\n== {name}: share of resamples selecting each term")
            print(st.to_string())
        print(f"\n== {name}: most frequent models (ours, backward)")
        print(results[(name, "backward")].models.head(5).to_string(index=False))
        print(f"\n== {name}: odds ratios with selection (ours, backward; percentile 95% over resamples)")
        print(results[(name, "backward")].odds_ratios.to_string(index=False))

    if args.reference:
        ref = json.loads(REFERENCE.read_text())["models"]
        for name in ("linear", "spline4"):
            t = model_terms_all_rows(name, rows, patterns.patterns)
            key = "spline" if name == "spline4" else name
            for direction, which in (("none", "validate_nobw"), ("backward", "validate_bw")):
                res, seconds, _, before, after = ours(rows, t, direction, args.B, args.seed, args.workers)
                r = ref[key][which]
                table = {"index": r["table"]["index"], "index_orig": r["table"]["index.orig"],
                         "optimism": r["table"]["optimism"], "corrected": r["table"]["index.corrected"]}
                print(f"\n== reference {name}: ours direction={direction} ({seconds:.2f} s, load {before} -> "
                      f"{after}) vs stored {r['call']} ({r['timing']['elapsed_s']:.1f} s in "
                      f"{ref[key]['formula'][:40]}...)")
                print(side_by_side(res, table, "ref").to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
