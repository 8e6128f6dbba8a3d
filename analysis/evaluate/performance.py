"""How well a fit predicts, on the training and the test sample: discrimination, calibration, classification.

:func:`assess` scores each sample's patterns with the fit and returns the tables (classification at 0.5
and at the training KS cut-off, gains, Hosmer-Lemeshow, calibration bins and lowess curve, observed vs
predicted by group, ROC and KS curves thinned to what a figure shows (:func:`thin`)), the metrics of each sample (``discrimination.evaluate`` with the
recalibration fit) and the curves the figures draw. The KS-optimal cut-off is chosen on the training
rows and only applied to the test rows. Every statistic is that of the rows the patterns stand for
(tested in tests/evaluate/test_discrimination.py and test_calibration.py).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.evaluate import calibration
from analysis.errors import ModelError
from analysis.evaluate import discrimination as evaluation
from analysis.model.newton import SeparationError


#: the ROC and KS curves kept for tables and figures: at most this many points per sample (see :func:`thin`)
CURVE_POINTS = 2000
#: above this many distinct predictions the calibration curve's lowess runs on predictions rounded to
#: ``CURVE_DECIMALS`` decimals (their counts pooled): a figure cannot show a shift of 1e-4 in p, and the
#: lowess of 800,000 distinct values took 18 s
CURVE_DISTINCT = 100_000
CURVE_DECIMALS = 4


def thin(curve: pd.DataFrame, x: str, y: str, points: int = CURVE_POINTS, keep=()) -> pd.DataFrame:
    """A monotone step curve (one row per distinct score: ROC's fpr/tpr, KS's cumulative shares) cut to the
    rows where ``x`` or ``y`` passes the next multiple of 1 / ``points``, plus the first and last rows and
    those in ``keep`` (the KS maximum): every dropped point lies within 1 / ``points`` of the kept ones in
    both coordinates, far below what a figure shows (a line's width at 200 dpi is 1/1000 of the axis). The
    statistics (AUC, KS, its cut-off) are computed on the whole curve before thinning; with fewer rows than
    ``points`` the curve is returned whole. Tested (tests/evaluate/test_performance.py) by the distance of
    every dropped point to the kept polyline."""
    if len(curve) <= points:
        return curve
    gx = np.floor(curve[x].to_numpy(dtype=float) * points)
    gy = np.floor(curve[y].to_numpy(dtype=float) * points)
    step = np.r_[True, (np.diff(gx) != 0) | (np.diff(gy) != 0)]
    step[-1] = True
    # keep both ends of each step: the point before a jump too, so that the kept polyline has the corners
    before = np.r_[step[1:], True]
    mask = step | before
    for index in keep:
        mask[index] = True
    return curve[mask].reset_index(drop=True)


@dataclass
class Assessment:
    tables: dict[str, pd.DataFrame]
    #: {"train": {...}, "test": {...}} (test only when there is a test sample)
    metrics: dict[str, dict]
    #: {sample: {"roc": curve, "ks": curve}}
    curves: dict[str, dict]
    #: the sample the tables and figures describe: "test" when there is one, else "train"
    evaluated: str


def calibration_groups(spec) -> dict:
    """The groups in which observed and predicted rates are compared: every categorical and binary variable
    by level, every numeric variable with ``bins`` by those bins."""
    return {v.name: (list((*v.bins, math.inf)) if v.numeric and v.bins else None) for v in spec.variables
            if v.kind in ("categorical", "binary") or (v.numeric and v.bins)}


def assess(fit, frames: dict[str, pd.DataFrame], groups: dict) -> Assessment:
    """The fit's performance on each non-empty pattern table of ``frames`` ({"train": ..., "test": ...})."""
    samples = {name: (fit.predict(frame), frame[fit.response].to_numpy(), frame[fit.trials].to_numpy())
               for name, frame in frames.items() if len(frame)}
    metrics, curves, tables = {}, {}, {}
    for name, s in samples.items():
        metrics[name] = evaluation.evaluate(*s)
        ks = evaluation.ks_curve(*s)
        top = int(np.argmax(ks["gap"].to_numpy())) if len(ks) else 0
        curves[name] = {"roc": thin(evaluation.roc_curve(*s), "fpr", "tpr"),
                        "ks": thin(ks, "cum_nonevents", "cum_events", keep=(top,))}
    evaluated = "test" if "test" in samples else "train"
    s = samples[evaluated]
    ks_threshold = metrics["train"]["ks_threshold"]
    tables["classification"] = pd.concat(
        [evaluation.classification_table(*s2, thresholds=(0.5, ks_threshold)).assign(sample=n)
         for n, s2 in samples.items()], ignore_index=True)
    tables["gains"] = evaluation.gains_table(*s).assign(sample=evaluated)
    _, hl_table = evaluation.hosmer_lemeshow(*s)
    tables["hosmer_lemeshow"] = hl_table.assign(sample=evaluated)
    tables["calibration"] = evaluation.calibration_table(*s).assign(sample=evaluated)
    p_curve = s[0] if len(np.unique(s[0])) <= CURVE_DISTINCT else np.round(s[0], CURVE_DECIMALS)
    tables["calibration_curve"] = calibration.calibration_curve(p_curve, s[1], s[2])
    for name, s2 in samples.items():
        metrics[name]["calibration"] = calibration.calibration_fit(*s2)
    tables["observed_vs_predicted"] = calibration.observed_vs_predicted(frames[evaluated], s[0], by=groups)
    tables["roc_curve"] = pd.concat([c["roc"].assign(sample=n) for n, c in curves.items()], ignore_index=True)
    tables["ks_curve"] = pd.concat([c["ks"].assign(sample=n) for n, c in curves.items()], ignore_index=True)
    return Assessment(tables, metrics, curves, evaluated)


LEAKAGE_COLUMNS = ["variables", "terms_left_out", "sample", "rows", "auc_with", "auc_without", "difference", "std_error",
                   "z", "p_value", "conf_low", "conf_high", "note"]


def leakage_check(fit, frames: dict[str, pd.DataFrame], evaluated: str, variables) -> pd.DataFrame:
    """Does the model lean on variables that may hold part of the outcome? The final model is refitted on
    the same rows without every term that uses one of ``variables`` (the specification's ``leak_suspect``
    variables), and the two models' AUCs on the evaluation sample are compared by the paired DeLong test
    (``discrimination.auc_paired_delong``, equal to ``pROC::roc.test(paired = TRUE)``). One row; none when
    no term of the model uses those variables.

    Tested (tests/evaluate/test_performance.py) against R's glm without the term and ``pROC::roc.test`` on the
    coupon data (tests/reference/r/tmall_interactions.json, 1e-6)."""
    from analysis.model.fit import fit_logit
    from analysis.model.terms import term_variables

    variables = list(variables)
    dropped = [t for t in fit.terms if set(term_variables(t)) & set(variables)]
    if not dropped:
        return pd.DataFrame(columns=LEAKAGE_COLUMNS)
    kept = [t for t in fit.terms if t not in dropped]
    frame = frames[evaluated]
    row = {"variables": ", ".join(variables), "terms_left_out": " + ".join(dropped), "sample": evaluated,
           "rows": int(frame[fit.trials].sum()), "note": ""}
    try:
        reduced = fit_logit(fit.data, fit.response, kept, trials=fit.trials)
    except (ModelError, SeparationError) as err:
        return pd.DataFrame([{**row, "note": f"the model without them cannot be fitted ({err})"}],
                            columns=LEAKAGE_COLUMNS)
    from analysis.model.fit import predict_by_pattern

    test = evaluation.auc_paired_delong(fit.predict(frame), predict_by_pattern(reduced, frame),
                                        frame[fit.response].to_numpy(), frame[fit.trials].to_numpy())
    row.update(auc_with=test["auc_1"], auc_without=test["auc_2"], difference=test["difference"],
               std_error=test["se"], z=test["z"], p_value=test["p_value"], conf_low=test["conf_low"],
               conf_high=test["conf_high"])
    return pd.DataFrame([row], columns=LEAKAGE_COLUMNS)
