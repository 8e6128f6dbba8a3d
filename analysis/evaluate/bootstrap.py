"""Optimism bootstrap of the whole modelling procedure (selection included), as ``rms::validate``.

    validate_selection(train, terms, *, response="events", trials="trials", selection=None, B=200,
                       seed=100, workers=2, progress=None, conf_level=0.95) -> BootstrapResult
    validate(fit, *, B=200, seed=100, workers=2) -> BootstrapResult     (the same, from a Fit)

Efron-Gong optimism bootstrap (Harrell, Regression Modeling Strategies, section 5.3.5): the selection is
repeated in each of B resamples, the selected model is evaluated on its resample and on the original
data, and the mean difference (the optimism) is subtracted from the apparent indexes (AUC, Dxy,
calibration intercept and slope, Brier, R-squared). Resamples are multinomial draws on the pattern cells,
each with its own spawned seed, so results depend on (seed, B) only. It also gives selection stability
and bootstrap odds-ratio intervals that include the selection. The method, the indexes and what this was
tested against (a row bootstrap with the same draws, a row-by-row reference, rms's ``validate``;
tests/evaluate/test_bootstrap.py) are in docs/methods.md, "Optimism bootstrap".
"""
from __future__ import annotations

import math
import multiprocessing
import sys
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy.special import expit

from analysis.evaluate import discrimination as evaluation
from analysis.evaluate.calibration import calibration_curve
from analysis.model.fit import bernoulli_loglik, blank_odds_ratios, null_loglik
from analysis.model.newton import SeparationError, newton
from analysis.model.selection import Selector
from analysis.threads import blas_single_thread

__all__ = ["validate_selection", "BootstrapResult", "INDEXES", "resample_counts", "model_indexes"]

INDEXES = ("auc", "dxy", "calibration_intercept", "calibration_slope", "brier", "mcfadden_r2", "nagelkerke_r2")
TABLE_COLUMNS = ("index", "apparent", "training", "test", "optimism", "corrected", "n", "optimism_se")
SELECTION_KEYS = ("direction", "criterion", "k", "scope", "start", "slentry", "slstay", "force", "max_steps")
_AUC, _DXY, _INTERCEPT, _SLOPE, _BRIER, _MCFADDEN, _NAGELKERKE = range(len(INDEXES))


# ------------------------------------------------------------------------------------------- result
@dataclass(frozen=True)
class BootstrapResult:
    """Outcome of `validate_selection`.

    table: one row per index (``INDEXES``), columns ``TABLE_COLUMNS``: apparent (the model selected on
        the original data, evaluated there: rms's index.orig), training (mean over resamples of the
        resample's model on the resample), test (mean of the resample's model on the original data),
        optimism (mean of training_b - test_b), corrected (apparent - optimism), n (resamples averaged),
        optimism_se (Monte-Carlo standard error of the optimism: sd of training_b - test_b / sqrt(n)).
    stability: ``term, share, count``: each candidate term and the share (count) of successful resamples
        that selected it, in the order of the candidate terms.
    models: ``model, share, count``: each distinct selected model (a tuple of its terms, sorted) and its
        share (count) of the successful resamples, most frequent first (ties: more terms first, then
        the model's terms).
    odds_ratios: ``term, odds_ratio, boot_low, boot_high, selected_share, model_term``: for each
        coefficient (design column) of the model selected on the original data, its odds ratio there,
        the percentile interval (``conf_level``; numpy's default linear interpolation, R's type 7) of
        exp(estimate) over the successful resamples, estimate 0 (odds ratio 1) where its term was not
        selected, the share of resamples selecting that term (1 for the Intercept), and the formula term.
    B, seed, failed: resamples requested, seed, resamples that failed. failures: ``b, error``.
    selected_terms, estimates: the model selected on the original data ({column: estimate}).
    resamples: one row per resample: b, ok, model (tuple of terms, sorted), training_<index> and
        test_<index> for every index.
    coefficients: B rows (resample b) by the final model's columns: the estimates in each resample
        (0 where not selected, NaN for a failed resample).
    settings: the selection settings used; workers; seconds (wall time of the bootstrap);
        n_obs (rows), n_patterns (pooled covariate patterns).
    """

    table: pd.DataFrame
    stability: pd.DataFrame
    models: pd.DataFrame
    odds_ratios: pd.DataFrame
    B: int
    seed: int
    failed: int
    failures: pd.DataFrame
    selected_terms: tuple
    estimates: dict
    resamples: pd.DataFrame = field(repr=False)
    coefficients: pd.DataFrame = field(repr=False)
    settings: dict = field(default_factory=dict)
    workers: int = 1
    seconds: float = math.nan
    n_obs: int = 0
    n_patterns: int = 0
    #: rms's calibrate: ``predy, calibrated_orig, calibrated_corrected, optimism, n`` (see :func:`calibrate_points`)
    calibration: pd.DataFrame | None = field(default=None, repr=False)
    #: mean and 0.9 quantile of |p - corrected calibration at p| over the rows (rms's print of calibrate)
    calibration_error: dict = field(default_factory=dict)


# ------------------------------------------------------------------------------------------- indexes
def model_indexes(eta, events, trials, *, fitted: bool) -> np.ndarray:
    """The ``INDEXES`` of predictions with linear predictor ``eta`` on data with counts (events, trials)
    per pattern (patterns with 0 trials are ignored).

    fitted=True: the model was fitted by ML on these data (apparent / training): calibration intercept
    and slope are then 0 and 1 exactly and Nagelkerke's R2 uses the model's own log-likelihood.
    fitted=False (test): the recalibration a + b eta is fitted by ML (Newton, started at (0, 1)) and
    Nagelkerke's R2 uses its log-likelihood, as rms's validate.lrm. See the module docstring.
    Raises SeparationError if the recalibration has no finite MLE.

    Tested against: the same indexes computed on the expanded 0/1 rows by scipy's Mann-Whitney U (AUC),
    numpy (Brier, log-likelihoods) and statsmodels Logit (recalibration, null model), 1e-10; the test
    intercept and slope against ``analysis.evaluate.calibration.calibration_fit`` (R's val.prob definition), 1e-8;
    rms 6.5 validate()'s index.orig (Dxy, R2, B, Intercept, Slope) on the real data, 1e-6 relative; a
    constant predictor by hand."""
    eta = np.asarray(eta, dtype=float)
    y = np.asarray(events, dtype=float)
    m = np.asarray(trials, dtype=float)
    keep = m > 0
    if not keep.all():
        eta, y, m = eta[keep], y[keep], m[keep]
    p = expit(eta)
    table = evaluation._table(p, y, m)           # rows grouped by distinct p: exact ties, as on the rows
    evaluation._require_both_classes(table)
    concordant, _, tied = evaluation._pair_counts(table)
    pairs = table.n_pos * table.n_neg
    auc = (concordant + 0.5 * tied) / pairs
    n = float(m.sum())
    brier = float(np.sum(table.pos * (1.0 - table.value) ** 2 + table.neg * table.value ** 2) / table.n_total)
    ll = bernoulli_loglik(eta, y, m)
    ll0 = null_loglik(float(y.sum()), n)
    out = np.empty(len(INDEXES))
    out[_AUC], out[_DXY], out[_BRIER] = auc, 2.0 * auc - 1.0, brier
    out[_MCFADDEN] = 1.0 - ll / ll0
    if fitted:
        a, b, ll_cal = 0.0, 1.0, ll
    elif np.ptp(eta) == 0.0:                      # no terms: slope undefined, calibrate in the large
        share = float(y.sum()) / n
        a, b = math.log(share / (1.0 - share)) - float(eta[0]), math.nan
        ll_cal = ll0
    else:
        Z = np.column_stack([np.ones_like(eta), eta])
        beta, _, ll_cal, _ = newton(Z, y, m, np.array([0.0, 1.0]))
        a, b = float(beta[0]), float(beta[1])
    out[_INTERCEPT], out[_SLOPE] = a, b
    lr = 2.0 * (ll_cal - ll0)
    out[_NAGELKERKE] = (1.0 - math.exp(-lr / n)) / (1.0 - math.exp(2.0 * ll0 / n))
    return out


# ------------------------------------------------------------------------------------------- calibration
def calibrate_points(p, trials) -> np.ndarray:
    """rms ``calibrate``'s 50 points: ``seq(p[5], p[n - 4], length = 50)`` of the sorted predictions of the
    n rows (a pattern stands for ``trials`` rows)."""
    p = np.asarray(p, dtype=float)
    m = np.asarray(trials, dtype=np.int64)
    order = np.argsort(p, kind="stable")
    cum = np.cumsum(m[order])
    n = int(cum[-1])
    if n < 11:
        raise ValueError("rms's calibrate needs more than 10 rows")
    def row(k):                       # the k-th smallest prediction over the rows, 1-based as R's p[k]
        return float(p[order][np.searchsorted(cum, k, side="left")])
    return np.linspace(row(5), row(n - 4), 50)


def calibration_error(p, events, trials, predy) -> np.ndarray:
    """rms ``calibrate``'s ``cal.error``: ``approx(lowess(p, y, iter = 0), xout = predy, ties = first)$y -
    predy`` for the rows the patterns stand for (``analysis.evaluate.calibration.calibration_curve``: one
    smooth value per distinct p, so every tie rule gives the same value); NaN outside the range of p.
    Patterns with no trials (not drawn in a resample) are left out."""
    trials = np.asarray(trials)
    keep = trials > 0                              # patterns a resample did not draw stand for no row
    curve = calibration_curve(np.asarray(p)[keep], np.asarray(events)[keep], trials[keep], grid=predy)
    return curve["observed_smooth"].to_numpy() - np.asarray(predy)


def _calibration(p0, y, m, predy, records, calibrate_b):
    """The overfitting-corrected calibration curve (rms ``calibrate``: calibrated.corrected = calibrated.orig -
    mean over resamples of (training - test) error) and its error summary over the rows."""
    orig = calibration_error(p0, y, m, predy) + predy
    used = [r for r in records[:calibrate_b] if r[1] and r[7] is not None]
    diff = np.array([r[7] - r[8] for r in used]) if used else np.full((0, len(predy)), np.nan)
    with np.errstate(invalid="ignore"):
        n = np.sum(np.isfinite(diff), axis=0)
        optimism = np.where(n > 0, np.nansum(diff, axis=0) / np.maximum(n, 1), np.nan)
    corrected = orig - optimism
    table = pd.DataFrame({"predy": predy, "calibrated_orig": orig, "calibrated_corrected": corrected,
                          "optimism": optimism, "n": n.astype(int)})
    good = np.isfinite(corrected)
    error = {}
    if good.sum() >= 2:
        # rms's print: err = predicted - approx(predy, calibrated.corrected, xout = predicted, ties = mean)$y over
        # the rows; predictions outside predy's range are NaN there (approx's rule = 1) and left out
        inside = (p0 >= predy[good][0]) & (p0 <= predy[good][-1])
        err = np.abs(p0[inside] - np.interp(p0[inside], predy[good], corrected[good]))
        w = m[inside]
        order = np.argsort(err, kind="stable")
        cum = np.cumsum(w[order])
        error = {"mean_absolute_error": float(np.sum(w * err) / w.sum()), "rows": int(w.sum()),
                 "q90_absolute_error": float(_type7(err[order], cum, 0.9)), "resamples": int(len(used))}
    return table, error


def _type7(sorted_values, cum, q: float) -> float:
    """R's quantile(type = 7) of the rows a sorted weighted vector stands for."""
    n = int(cum[-1])
    h = (n - 1) * q
    lo = int(math.floor(h))
    def at(k):
        return float(sorted_values[np.searchsorted(cum, k + 1, side="left")])
    return at(lo) + (h - lo) * (at(min(lo + 1, n - 1)) - at(lo))


# ------------------------------------------------------------------------------------------- resampling
def _cells(events: np.ndarray, trials: np.ndarray):
    """The non-empty (row, outcome) cells of a pattern table: (row of each cell, outcome 1/0, count)."""
    nonevents = trials - events
    rows = np.concatenate([np.flatnonzero(events > 0), np.flatnonzero(nonevents > 0)])
    outcome = np.concatenate([np.ones(np.count_nonzero(events > 0), dtype=bool),
                              np.zeros(np.count_nonzero(nonevents > 0), dtype=bool)])
    counts = np.where(outcome, events[rows], nonevents[rows]).astype(np.int64)
    return rows, outcome, counts


def resample_counts(events, trials, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One bootstrap resample of the rows of a pattern table, as (events, trials) per pattern.

    Drawing N = sum(trials) rows with replacement from the N rows, each with probability 1/N, puts
    multinomial(N, c / N) rows into the cells (pattern, outcome) whose row counts are c; that draw is
    made directly (``rng.multinomial``). Patterns may get 0 trials.

    Tested: the counts obtained by summing row multiplicities of a row bootstrap give the same selection,
    estimates and indexes as the repeated rows; over 4,000 draws the means and variances per pattern are
    those of the row bootstrap (within 5 standard errors)."""
    events = np.asarray(events, dtype=np.int64)
    trials = np.asarray(trials, dtype=np.int64)
    rows, outcome, counts = _cells(events, trials)
    return _draw(rows, outcome, counts, len(events), rng)


def _draw(rows, outcome, counts, n_rows, rng):
    total = int(counts.sum())
    drawn = rng.multinomial(total, counts / total)
    ev = np.bincount(rows[outcome], weights=drawn[outcome], minlength=n_rows)
    tr = np.bincount(rows, weights=drawn, minlength=n_rows)
    return ev, tr


# ------------------------------------------------------------------------------------------- the work
@dataclass
class _Task:
    """What every resample needs (sent once to each worker)."""

    selector: Selector
    rows: np.ndarray          # cells of the input table: row, outcome, count
    outcome: np.ndarray
    counts: np.ndarray
    n_rows: int
    warm: np.ndarray          # estimates of the starting model on the original data
    y: np.ndarray             # original counts per pooled pattern
    m: np.ndarray
    predy: np.ndarray | None = None   # rms calibrate's 50 points (None: no calibration curve)
    calibrate_b: int = 0              # the first this many resamples also give calibration errors


def _one(task: _Task, seed_seq: np.random.SeedSequence, b: int = 0):
    """One resample: (ok, error, selected terms, estimates over all columns, training, test indexes, training
    and test calibration errors at ``task.predy`` (None past ``task.calibrate_b``))."""
    rng = np.random.default_rng(seed_seq)
    ev, tr = _draw(task.rows, task.outcome, task.counts, task.n_rows, rng)
    sel = task.selector
    yb, mb = sel.pool(ev, tr)
    try:
        out = sel._select(yb, mb, task.warm)
        beta = out.fit.full_beta()
        eta = sel._prob.X[:, out.fit.cols] @ out.fit.beta
        training = model_indexes(eta, yb, mb, fitted=True)
        test = model_indexes(eta, task.y, task.m, fitted=False)
    except (SeparationError, np.linalg.LinAlgError) as err:
        return False, f"{type(err).__name__}: {err}", (), None, None, None, None, None
    cal_train = cal_test = None
    if task.predy is not None and b < task.calibrate_b:
        p = expit(eta)
        cal_train = calibration_error(p, yb, mb, task.predy)
        cal_test = calibration_error(p, task.y, task.m, task.predy)
    return True, "", tuple(out.selected), beta, training, test, cal_train, cal_test


_TASK: _Task | None = None
_LIMITER = None


def _init_worker(task: _Task) -> None:
    global _TASK, _LIMITER
    _TASK = task
    _LIMITER = blas_single_thread()      # kept alive: BLAS stays at one thread in this worker


def _run_chunk(indices, seeds):
    return [(b, *_one(_TASK, s, b)) for b, s in zip(indices, seeds)]


def _mp_context():
    """fork on Linux (the workers inherit the task and the imported modules and start in milliseconds),
    else spawn (each worker imports the package and receives the pickled task: the same results -- tested
    equal bit for bit -- but on a busy 2-CPU machine spawn and forkserver took about 7 s to start two
    workers, fork 0.05 s). The parent's threads (BLAS, DuckDB) are not used by the forked workers."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods and sys.platform.startswith("linux") else "spawn")


# ------------------------------------------------------------------------------------------- public
def _run(task: _Task, children, B: int, workers: int, chunk_size, say) -> list:
    """The B resamples' records, in this process (workers = 1) or in ``workers`` forked processes, in chunks;
    the records do not depend on how they were computed."""
    records: list = [None] * B
    done = 0
    if workers == 1 or B == 1:
        with blas_single_thread():
            step = chunk_size or max(1, math.ceil(B / 8))
            for start in range(0, B, step):
                for b in range(start, min(B, start + step)):
                    records[b] = (b, *_one(task, children[b], b))
                done = min(B, start + step)
                say(f"bootstrap: {done}/{B} resamples")
    else:
        step = chunk_size or max(1, math.ceil(B / (8 * workers)))
        chunks = [list(range(s, min(B, s + step))) for s in range(0, B, step)]
        with ProcessPoolExecutor(max_workers=min(workers, len(chunks)), mp_context=_mp_context(),
                                 initializer=_init_worker, initargs=(task,)) as pool:
            pending = {pool.submit(_run_chunk, c, [children[b] for b in c]) for c in chunks}
            try:
                while pending:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        for rec in fut.result():
                            records[rec[0]] = rec
                            done += 1
                    say(f"bootstrap: {done}/{B} resamples")
            except BaseException:                 # an error in a worker, or an interrupt: stop the rest
                for fut in pending:
                    fut.cancel()
                raise
    return records


def validate_selection(train: pd.DataFrame, terms, *, response: str = "events", trials: str | None = "trials",
                       selection: dict | None = None, B: int = 200, seed: int = 100, workers: int = 2,
                       progress=None, conf_level: float = 0.95, chunk_size: int | None = None,
                       calibrate_b: int = 40) -> BootstrapResult:
    """Optimism bootstrap of stepwise selection + logit fit on a pattern table (see the module docstring).

    train: the training data: a pattern table (``response`` = events, ``trials`` = rows per pattern) or,
    with ``trials=None``, 0/1 rows. terms: the candidate terms (formula terms, as for ``stepwise``).
    selection: the selection settings, keyword arguments of ``analysis.model.selection.Selector`` / ``stepwise``
    (direction, criterion, k, scope, start, slentry, slstay, force, max_steps; default: R's step() with
    AIC, both directions from the full model; ``{"direction": "none"}`` validates the full model without
    selection, as ``rms::validate(fit)``). B: resamples. seed: seeds ``numpy.random.SeedSequence``; each
    resample has its own spawned child, so results depend on (seed, B) only. workers: processes (1: in
    this process). progress: callable receiving messages such as "bootstrap: 40/200 resamples" (e.g. a
    function printing to stderr); None for silence. conf_level: of the odds-ratio percentile intervals.
    chunk_size: resamples per task sent to a worker (default: about 8 chunks per worker). calibrate_b: the
    first this many resamples (rms's ``calibrate`` default B = 40; 0: none) also give the overfitting-
    corrected calibration curve (:func:`calibrate_points`, ``BootstrapResult.calibration``).

    The resamples are warm-started from the original starting model's estimates (``Selector.start_
    estimates``), which changes only the speed. Returns a `BootstrapResult`.

    Tested against (tests/evaluate/test_bootstrap.py): a row-by-row reference bootstrap with the same draws
    (stepwise on the 0/1 rows, statsmodels Logit refits, indexes on the rows): apparent, training, test,
    optimism and corrected of every index to 1e-10 (observed 3e-16), the same models selected in every
    resample, estimates to 1e-8; a simulation with a known model (corrected AUC nearer the AUC on 200,000
    fresh rows than the apparent one); identical results with 1 and 2 workers; hand-made resamples for
    the stability and odds-ratio tables; rms 6.5 validate() on the real data (apparent indexes to 1e-6;
    optimism with B = 200 within 3 Monte-Carlo standard errors of the difference, benchmarks/validate.py
    and the slow test).
    """
    t0 = time.perf_counter()
    settings = dict(selection or {})
    unknown = set(settings) - set(SELECTION_KEYS)
    if unknown:
        raise ValueError(f"selection has unknown settings {sorted(unknown)}; allowed: {', '.join(SELECTION_KEYS)}")
    if int(B) != B or B < 1:
        raise ValueError(f"B must be a positive integer, got {B!r}")
    if int(workers) != workers or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    if not 0 < conf_level < 1:
        raise ValueError("conf_level must be in (0, 1)")
    B, workers = int(B), int(workers)
    say = progress or (lambda message: None)

    with blas_single_thread():
        selector = Selector(train, response, list(terms), trials=trials, **settings)
    if trials is None:
        events = train[response].to_numpy(dtype=np.int64)
        n_trials = np.ones(len(train), dtype=np.int64)
    else:
        events = train[response].to_numpy(dtype=np.int64)
        n_trials = train[trials].to_numpy(dtype=np.int64)
    rows, outcome, counts = _cells(events, n_trials)
    y, m = selector.y, selector.m

    with blas_single_thread():
        original = selector._select()
        final_cols = original.fit.cols
        eta0 = selector._prob.X[:, final_cols] @ original.fit.beta
        apparent = model_indexes(eta0, y, m, fitted=True)
        warm = selector.start_estimates()
    p0 = expit(eta0)
    predy = calibrate_points(p0, m) if calibrate_b else None
    task = _Task(selector, rows, outcome, counts, len(events), warm, y, m, predy, int(min(calibrate_b, B)))
    children = np.random.SeedSequence(seed).spawn(B)

    records = _run(task, children, B, workers, chunk_size, say)

    result = _summarise(selector, original, apparent, records, B=B, seed=seed, settings=settings, workers=workers,
                        conf_level=conf_level, seconds=time.perf_counter() - t0)
    if predy is not None:
        table, error = _calibration(p0, y, m, predy, records, task.calibrate_b)
        result = replace(result, calibration=table, calibration_error=error)
    return result


def _summarise(selector: Selector, original, apparent, records, *, B, seed, settings, workers, conf_level,
               seconds) -> BootstrapResult:
    """The result tables from the per-resample records (b, ok, error, terms, estimates, training, test)."""
    columns = selector.columns
    final_cols = np.asarray(original.fit.cols)
    final_names = [columns[c] for c in final_cols]
    ok = np.array([r[1] for r in records], dtype=bool)
    n_ok = int(ok.sum())
    nan_row = np.full(len(INDEXES), np.nan)
    training = np.vstack([r[5] if r[1] else nan_row for r in records])
    test = np.vstack([r[6] if r[1] else nan_row for r in records])
    diff = training - test

    rows = []
    for i, name in enumerate(INDEXES):
        d = diff[:, i]
        good = np.isfinite(d)
        n = int(good.sum())
        opt = float(d[good].mean()) if n else math.nan
        se = float(d[good].std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
        tr = float(training[good, i].mean()) if n else math.nan
        te = float(test[good, i].mean()) if n else math.nan
        rows.append((name, float(apparent[i]), tr, te, opt, float(apparent[i]) - opt, n, se))
    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))

    selected_sets = [set(r[3]) for r in records if r[1]]
    term_counts = [sum(t in s for s in selected_sets) for t in selector.terms]
    stability = pd.DataFrame({"term": list(selector.terms),
                              "share": [c / n_ok if n_ok else math.nan for c in term_counts], "count": term_counts})
    model_counts = Counter(tuple(sorted(r[3])) for r in records if r[1])
    ordered = sorted(model_counts.items(), key=lambda kv: (-kv[1], -len(kv[0]), kv[0]))
    models = pd.DataFrame({"model": [k for k, _ in ordered], "share": [c / n_ok for _, c in ordered],
                           "count": [c for _, c in ordered]}, columns=["model", "share", "count"])

    coef = np.full((B, len(final_cols)), np.nan)
    for r in records:
        if r[1]:
            coef[r[0]] = r[4][final_cols]
    coefficients = pd.DataFrame(coef, columns=final_names)
    col_term = {int(c): t for t, cs in selector._prob.term_cols.items() for c in cs}
    tail = (1.0 - conf_level) / 2.0
    or_rows = []
    for j, c in enumerate(final_cols):
        term = col_term.get(int(c), "Intercept")
        values = np.exp(coef[ok, j])
        low, high = (np.quantile(values, [tail, 1.0 - tail]) if n_ok else (math.nan, math.nan))
        share = 1.0 if term == "Intercept" else (term_counts[selector.terms.index(term)] / n_ok if n_ok else math.nan)
        or_rows.append((final_names[j], float(math.exp(original.fit.beta[j])), float(low), float(high), share, term))
    odds_ratios = pd.DataFrame(or_rows, columns=["term", "odds_ratio", "boot_low", "boot_high", "selected_share",
                                                 "model_term"])

    per = {"b": np.arange(B), "ok": ok, "model": [tuple(sorted(r[3])) if r[1] else None for r in records]}
    for i, name in enumerate(INDEXES):
        per[f"training_{name}"] = training[:, i]
    for i, name in enumerate(INDEXES):
        per[f"test_{name}"] = test[:, i]
    failures = pd.DataFrame([(r[0], r[2]) for r in records if not r[1]], columns=["b", "error"])
    sel = selector
    used = {"direction": sel.direction, "criterion": sel.criterion, "k": sel.k, "lower": list(sel.lower),
            "start": list(sel.start), "slentry": sel.slentry, "slstay": sel.slstay, "max_steps": sel.max_steps,
            "requested": settings}
    return BootstrapResult(
        table=table, stability=stability, models=models, odds_ratios=odds_ratios, B=B, seed=seed,
        failed=int(B - n_ok), failures=failures, selected_terms=tuple(original.selected),
        estimates={final_names[j]: float(b) for j, b in enumerate(original.fit.beta)},
        resamples=pd.DataFrame(per), coefficients=coefficients, settings=used, workers=workers,
        seconds=seconds, n_obs=int(round(float(selector._prob.m.sum()))), n_patterns=selector.n_patterns)


# ----------------------------------------------------------------------------- verbs on a fit

#: the validation indexes in words (``INDEXES``)
INDEX_LABELS = {"auc": "AUC (c statistic)", "dxy": "Somers' Dxy", "calibration_intercept": "Calibration intercept",
                "calibration_slope": "Calibration slope", "brier": "Brier score", "mcfadden_r2": "McFadden R-squared",
                "nagelkerke_r2": "Nagelkerke R-squared"}


def validate(fit, *, B: int = 200, seed: int = 100, workers: int = 2, progress=None) -> BootstrapResult:
    """:func:`validate_selection` of a fit (``analysis.model.fit.Fit``): its candidate terms, its selection
    settings and its patterns, as ``rms::validate(fit, B, bw = TRUE)`` needs nothing but the fit. The
    selection on the fit's own data must give the fit's terms (checked)."""
    boot = validate_selection(fit.data, list(fit.candidates), response=fit.response, trials=fit.trials,
                              selection=fit.selection.keywords(), B=B, seed=seed, workers=workers,
                              progress=progress)
    if sorted(boot.selected_terms) != sorted(fit.terms):
        raise AssertionError("the bootstrap's selection on the training data differs from stepwise's")
    return boot


def tables(boot: BootstrapResult, coefficients: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The tables of an optimism bootstrap: ``validation`` (one row per index: apparent, training, test,
    optimism, corrected, n, optimism_se, label), ``selection_stability`` (term, share, count),
    ``selected_models`` (model as " + "-joined terms, n_terms, share, count; the ten most frequent) and
    ``bootstrap_odds_ratios`` (each coefficient of the final model: its odds ratio and Wald interval beside
    the bootstrap percentile interval, which includes the selection, and the share of resamples selecting
    its term)."""
    validation = boot.table.copy()
    validation["label"] = validation["index"].map(INDEX_LABELS)
    models = boot.models.head(10).copy()
    models["n_terms"] = models["model"].map(len)
    models["model"] = models["model"].map(lambda m: " + ".join(m) if m else "(intercept only)")
    wald = coefficients.set_index("term")[["or_conf_low", "or_conf_high"]]
    ors = boot.odds_ratios.join(wald, on="term")
    ors = blank_odds_ratios(ors[["term", "model_term", "odds_ratio", "or_conf_low", "or_conf_high", "boot_low",
                                 "boot_high", "selected_share"]])
    out = {"validation": validation, "selection_stability": boot.stability.copy(),
           "selected_models": models[["model", "n_terms", "share", "count"]], "bootstrap_odds_ratios": ors}
    if boot.calibration is not None:
        out["calibration_corrected"] = boot.calibration.copy()
    return out


def facts(boot: BootstrapResult, settings) -> dict:
    """What metrics.json records of a bootstrap (no wall time: metrics.json is byte-reproducible)."""
    keywords = settings.keywords()
    return {"B": boot.B, "seed": boot.seed, "failed": boot.failed, "n_patterns": boot.n_patterns,
            "settings": {k: v for k, v in keywords.items() if k != "force"},
            "forced": list(keywords.get("force", ())), "calibration_error": boot.calibration_error}
