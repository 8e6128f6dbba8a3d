"""The claims a run makes, in one table: what the report's conclusions, the slides and the workbook state.

Every statement a reader may cite is one row of :func:`claims`, built once from the result tables:

- ``odds ratio``: each single-effect coefficient of the final model (a level against its baseline, a
  yes/no variable, a slope per the specification's step), with its *headline interval*: the bootstrap
  percentile interval when a selection was run and validated (it includes the selection's uncertainty,
  Harrell RMS 5.3), else the Wald interval (Firth's fit: the profile penalised-likelihood interval); the
  interval's kind is named in ``interval``. ``direction`` is higher / lower / unclear by that interval;
- ``curve``: each spline variable, through its odds ratios at percentiles against its median (a curve is
  never one odds ratio, so it is never listed under higher or lower odds);
- ``interaction``: each interaction of the final model and each strong one the pairwise screen found, with
  its test and the odds ratios within levels;
- ``discrimination``, ``calibration``, ``leakage``, ``influence``: the fit's summary, with the optimism-
  corrected values, the training Hosmer-Lemeshow test, and the miscalibrated groups named.

Presentation reads this table; it never re-derives a claim (tests/present/test_claims.py checks that the
report, the slides and the workbook state the same claims).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.present.formatting import fmt_int, fmt_num, fmt_or, fmt_p, fmt_pct
from analysis.present.labels import describe_coefficient, describe_term
from analysis.spec import in_sentence

CLAIM_COLUMNS = ["claim", "topic", "term", "label", "estimate", "conf_low", "conf_high", "interval", "direction",
                 "sentence"]
BOOTSTRAP_INTERVAL = "bootstrap 95% interval"
WALD_INTERVAL = "Wald 95% interval"
POOLED_INTERVAL = "Rubin's rules 95% interval"
FIRTH_INTERVAL = "profile penalised-likelihood 95% interval"
#: what each kind of headline interval is, for the one sentence that says so
INTERVAL_NOTES = {
    BOOTSTRAP_INTERVAL: ("bootstrap 95% percentile intervals whose resamples repeat the selection, so they include "
                         "its uncertainty (the Wald intervals of the coefficient table treat the selected model as "
                         "fixed in advance)"),
    WALD_INTERVAL: "Wald 95% intervals of the model as fitted",
    FIRTH_INTERVAL: "profile penalised-likelihood 95% intervals of Firth's fit",
    POOLED_INTERVAL: ("intervals pooled over the imputed data sets by Rubin's rules (Barnard-Rubin degrees of "
                      "freedom): they include the uncertainty of the imputation, not that of the selection"),
}


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def headline_interval(tables: dict, metrics: dict) -> tuple[pd.DataFrame, str]:
    """The interval every odds-ratio claim cites and its kind: (table indexed by coefficient with
    ``low, high``, kind). Under multiple imputation, the pooled (Rubin's rules) interval of the pooled
    estimate; else the bootstrap interval when the selection was repeated in a bootstrap; for a fit without
    selection, or without a bootstrap, the Wald interval; for Firth's fit, its profile interval."""
    if "coefficients_pooled" in tables and len(tables["coefficients_pooled"]):
        pooled = tables["coefficients_pooled"].set_index("term")
        return pooled[["or_conf_low", "or_conf_high"]].set_axis(["low", "high"], axis=1), POOLED_INTERVAL
    coefs = tables["coefficients"].set_index("term")
    boot = metrics.get("bootstrap")
    ors = tables.get("bootstrap_odds_ratios")
    if metrics.get("method") == "firth" and "or_profile_low" in coefs:
        return coefs[["or_profile_low", "or_profile_high"]].set_axis(["low", "high"], axis=1), FIRTH_INTERVAL
    if boot and boot.get("settings", {}).get("direction", "none") != "none" and ors is not None and len(ors):
        return ors.set_index("term")[["boot_low", "boot_high"]].set_axis(["low", "high"], axis=1), BOOTSTRAP_INTERVAL
    return coefs[["or_conf_low", "or_conf_high"]].set_axis(["low", "high"], axis=1), WALD_INTERVAL


def _partner_note(term: str, selected, spec, baselines) -> str:
    """For a main effect that is part of an interaction of the final model: "among <the partner's reference
    group>" (its odds ratio holds there only)."""
    from analysis.model.terms import split_interaction, term_variables

    notes = []
    for t in selected:
        factors = [f.strip() for f in split_interaction(t)]
        if len(factors) < 2 or term not in factors:
            continue
        for other in factors:
            if other == term:
                continue
            var = term_variables(other)[0]
            try:
                v = spec.variable(var)
            except KeyError:
                notes.append(f"at the reference value of {var}")
                continue
            if v.kind == "categorical":
                base = baselines.get(v.name)
                notes.append(f"among {v.group(base) or f'{v.label} {v.level_label(base)}'}")
            elif v.kind == "binary":
                notes.append(f"among {v.no_group}")
            else:
                notes.append(f"at {v.label.lower()} 0")
    return ("; " + ", ".join(notes)) if notes else ""


def _odds_ratio_claims(tables, metrics, spec) -> list[dict]:
    baselines = metrics.get("baselines", {})
    selected = metrics.get("selected_terms", [])
    interval, kind = headline_interval(tables, metrics)
    rows = []
    coefs = tables["coefficients_pooled"] if kind == POOLED_INTERVAL else tables["coefficients"]
    for _, r in coefs.iterrows():
        term = str(r["term"])
        info = describe_coefficient(term, spec, baselines)
        if info.kind not in ("categorical", "binary", "numeric"):
            continue
        step = info.step if info.kind == "numeric" else 1.0
        odds = float(np.exp(r["estimate"] * step))
        low, high = (float(interval.loc[term, "low"]) ** step, float(interval.loc[term, "high"]) ** step) \
            if term in interval.index else (math.nan, math.nan)
        direction = "higher" if low > 1 else "lower" if high < 1 else "unclear"
        note = _partner_note(info.term or _model_term(term, selected), selected, spec, baselines)
        label = info.label + note
        ci = f"{fmt_or(low)} to {fmt_or(high)}"
        words = {"higher": "higher odds", "lower": "lower odds", "unclear": "no clear difference in the odds"}
        sentence = (f"{label}: odds ratio {fmt_or(odds)} ({ci}, {kind}): {words[direction]} of "
                    f"{spec.response.outcome}, other factors held fixed.")
        rows.append({"claim": f"odds ratio: {term}", "topic": "odds ratio", "term": term, "label": label,
                     "estimate": odds, "conf_low": low, "conf_high": high, "interval": kind,
                     "direction": direction, "sentence": sentence})
    return rows


def _model_term(coefficient: str, selected) -> str:
    """The formula term a coefficient name belongs to (``C(job)[T.x]`` -> ``C(job)``)."""
    base = coefficient.split("[T.")[0] if "[T." in coefficient else coefficient
    return next((t for t in selected if t == base), base)


def _curve_claims(tables, spec) -> list[dict]:
    table = tables.get("spline_odds_ratios")
    if table is None or not len(table):
        return []
    rows = []
    for var, group in table.groupby("variable", sort=False):
        try:
            v = spec.variable(var)
            units = f" {v.units}" if v.units else ""
            label = v.label
        except KeyError:
            units, label = "", var
        ref = float(group["reference"].iloc[0])
        unit = f" {v.unit}" if spec.has(var) and spec.variable(var).unit else ""

        def at(value) -> str:
            return f"{fmt_num(value, 0)}{unit if float(fmt_num(value, 0)) == 1 else units}"
        parts = [f"{at(r['value'])} ({int(r['percentile'])}th percentile): OR "
                 f"{fmt_or(r['odds_ratio'])} ({fmt_or(r['or_conf_low'])} to {fmt_or(r['or_conf_high'])})"
                 for _, r in group.iterrows()]
        sentence = (f"{label} enters as a curve (a restricted cubic spline), so no single odds ratio describes it; "
                    f"against the median ({at(ref)}), the odds at " + "; ".join(parts)
                    + f" ({WALD_INTERVAL}s; the effect curve shows the whole shape).")
        rows.append({"claim": f"curve: {var}", "topic": "curve", "term": var, "label": label, "estimate": math.nan,
                     "conf_low": math.nan, "conf_high": math.nan, "interval": WALD_INTERVAL, "direction": "curve",
                     "sentence": sentence})
    return rows


def _interaction_claims(tables, metrics, spec) -> list[dict]:
    from analysis.model import interactions

    tests = tables.get("interaction_tests")
    within = tables.get("interaction_odds_ratios")
    selected = [t for t in metrics.get("selected_terms", []) if ":" in t]
    shown = list(dict.fromkeys(selected + (interactions.strong(tests) if tests is not None else [])))
    rows = []
    for term in shown:
        label = describe_term(term, spec)
        if term in selected:
            head = f"{label} is in the final model (chosen by the selection; its test is in the Type 3 table)"
        else:
            t = tests.set_index("term").loc[term]
            name = "Rao score chi-square" if t.get("test") == "score" else "LR chi-square"
            head = (f"{label}: adding this interaction to the final model gives {name} "
                    f"{fmt_num(t['lr_chi2'], 1)} on {int(t['df'])} df (Holm-adjusted p {fmt_p(t['p_holm'])}); "
                    "the selection did not keep it, so the model's odds ratios average over it")
        parts = []
        if within is not None and len(within):
            mine = within[within["interaction"] == term]
            for _, w in mine.iterrows():
                parts.append(f"{_level_words(spec, w['variable'], w['level'], w['baseline'])} "
                             f"{_at_words(spec, w['at_variable'], w['at_level'])}: OR {fmt_or(w['odds_ratio'])} "
                             f"({fmt_or(w['or_conf_low'])} to {fmt_or(w['or_conf_high'])})")
        sentence = head + (". Odds ratios within levels (Wald 95%): " + "; ".join(parts) if parts else "") + "."
        rows.append({"claim": f"interaction: {term}", "topic": "interaction", "term": term, "label": label,
                     "estimate": math.nan, "conf_low": math.nan, "conf_high": math.nan, "interval": WALD_INTERVAL,
                     "direction": "depends", "sentence": sentence})
    return rows


def _level_words(spec, variable, level, baseline) -> str:
    try:
        v = spec.variable(variable)
    except KeyError:
        return f"{variable} {level} vs {baseline}"
    if v.kind == "binary":
        return f"{v.label}: {v.level_label(1)} vs {v.level_label(0)}"
    return f"{v.label}: {v.level_label(str(level))} vs {v.level_label(str(baseline))}"


def _at_words(spec, variable, level) -> str:
    try:
        v = spec.variable(variable)
    except KeyError:
        return f"(at {variable} {level})"
    if v.kind == "binary":
        return f"among {v.group(int(float(level)))}"
    return f"among {v.group(str(level)) or f'{v.label} {v.level_label(str(level))}'}"


def _fit_claims(tables, metrics, spec) -> list[dict]:
    rows = []
    ev = metrics["evaluation_sample"]
    m = metrics[ev]
    v = tables.get("validation")
    r = spec.response
    disc = (f"On {'the test sample' if ev == 'test' else 'all ' + fmt_int(m['n']) + ' ' + spec.rows + ' (apparent)'} "
            f"the model ranks {r.event_group} above {r.non_event_group} with AUC {fmt_num(m['auc'], 3)} (DeLong 95% CI "
            f"{fmt_num(m['auc_ci_low'], 3)} to {fmt_num(m['auc_ci_high'], 3)})")
    if v is not None and len(v):
        auc = v.set_index("index").loc["auc"]
        disc += (f"; corrected for over-fitting by the bootstrap (selection repeated), AUC "
                 f"{fmt_num(auc['corrected'], 3)}")
    rows.append({"claim": "discrimination", "topic": "discrimination", "term": "", "label": "AUC",
                 "estimate": m["auc"], "conf_low": m["auc_ci_low"], "conf_high": m["auc_ci_high"],
                 "interval": "DeLong 95% interval", "direction": "", "sentence": disc + "."})
    rows.append(_calibration_claim(tables, metrics, spec))
    leak = tables.get("leakage_check")
    if leak is not None and len(leak):
        k = leak.iloc[0]
        if isinstance(k.get("note"), str) and k["note"]:
            text = f"Leakage check: {k['note']}."
        else:
            labels = [in_sentence(spec.variable(x).label) for x in str(k["variables"]).split(", ") if spec.has(x)]
            names, them = ", ".join(labels), ("it" if len(labels) == 1 else "them")
            verdict = (f"the model leans on {them}" if k["p_value"] < 0.05 and k["difference"] > 0 else
                       f"the model does not lean on {them} measurably")
            text = (f"Leakage check: without {names} (possibly holding part of the outcome) the AUC is "
                    f"{fmt_num(k['auc_without'], 3)} against {fmt_num(k['auc_with'], 3)} (difference "
                    f"{fmt_num(k['difference'], 3)}, 95% CI {fmt_num(k['conf_low'], 3)} to {fmt_num(k['conf_high'], 3)}; "
                    f"paired DeLong p {fmt_p(k['p_value'])}): {verdict}; if {them} do{'es' if them == 'it' else ''} hold part "
                    f"of the outcome, the model without {them} is the one to use before the outcome is known.")
        rows.append({"claim": "leakage", "topic": "leakage", "term": str(k["terms_left_out"]), "label": "AUC difference",
                     "estimate": k.get("difference", math.nan), "conf_low": k.get("conf_low", math.nan),
                     "conf_high": k.get("conf_high", math.nan), "interval": "paired DeLong 95% interval",
                     "direction": "", "sentence": text})
    flips = tables.get("influence_flips")
    if flips is not None and len(flips):
        flipped = flips[flips["flips"].astype(str).isin(["True", "true", "1"])]
        if flipped.empty:
            text = ("Influence: removing any one row of the ten most influential (pattern, outcome) cells changes no "
                    "odds ratio's interval relation to 1.")
        else:
            terms = sorted(set(flipped["term"]))
            text = ("Influence: removing a single row of one of the most influential cells changes whether the "
                    "interval includes 1 for: " + "; ".join(describe_coefficient(t, spec, metrics.get('baselines', {})).label
                                                            for t in terms)
                    + ". Those conclusions rest on a few rows (see the influence table).")
        rows.append({"claim": "influence", "topic": "influence", "term": "", "label": "influence", "estimate": math.nan,
                     "conf_low": math.nan, "conf_high": math.nan, "interval": "Wald 95% interval (refits)",
                     "direction": "", "sentence": text})
    return rows


def _calibration_claim(tables, metrics, spec) -> dict:
    ev = metrics["evaluation_sample"]
    parts = []
    v = tables.get("validation")
    if v is not None and len(v):
        vi = v.set_index("index")
        parts.append(f"bootstrap-corrected calibration slope {fmt_num(vi.loc['calibration_slope', 'corrected'], 2)} and "
                     f"intercept {fmt_num(vi.loc['calibration_intercept', 'corrected'], 2)} (1 and 0 are ideal)")
        err = (metrics.get("bootstrap") or {}).get("calibration_error") or {}
        if err:
            parts.append(f"the corrected calibration curve is off the diagonal by {fmt_pct(err['mean_absolute_error'], 1)} "
                         f"on average (90% of {spec.rows} within {fmt_pct(err['q90_absolute_error'], 1)})")
    for sample in ("train", "test"):
        hl = (metrics.get(sample) or {})
        if "hl_p" in hl:
            what = (f"all {spec.rows} (apparent)" if ev == "train" else
                    "the training sample" if sample == "train" else "the test sample")
            parts.append(f"Hosmer-Lemeshow on {what}: chi-square {fmt_num(hl['hl_chi2'], 1)} on {int(hl['hl_df'])} df, "
                         f"p {fmt_p(hl['hl_p'])}")
    ovp = tables.get("observed_vs_predicted")
    if ovp is not None and len(ovp):
        flagged = ovp[ovp["outside"].astype(str).isin(["True", "true", "1"])]
        if flagged.empty:
            parts.append(f"in all {len(ovp)} groups checked the mean prediction lies within the observed rate's "
                         "95% interval")
        else:
            worst = flagged.assign(gap=(flagged["observed_rate"] - flagged["mean_predicted"]).abs()).sort_values(
                "gap", ascending=False).head(3)
            named = []
            for _, r in worst.iterrows():
                try:
                    var = spec.variable(r["variable"])
                    name = f"{var.label} {var.level_label(r['level'])}"
                except KeyError:
                    name = f"{r['variable']} {r['level']}"
                named.append(f"{name}: observed {fmt_pct(r['observed_rate'])}, predicted {fmt_pct(r['mean_predicted'])}")
            parts.append(f"{len(flagged)} of {len(ovp)} groups are miscalibrated (prediction outside the observed "
                         f"rate's 95% interval; about {0.05 * len(ovp):.1f} expected by chance), the largest: "
                         + "; ".join(named))
    sentence = "Calibration: " + "; ".join(parts) + "." if parts else "Calibration: not assessed."
    return {"claim": "calibration", "topic": "calibration", "term": "", "label": "calibration", "estimate": math.nan,
            "conf_low": math.nan, "conf_high": math.nan, "interval": "", "direction": "", "sentence": sentence}


def claims(tables: dict, metrics: dict, spec) -> pd.DataFrame:
    """Every claim of a run (see the module docstring): DataFrame[``CLAIM_COLUMNS``], odds ratios first
    (higher, then lower by size, then unclear), then curves, interactions and the fit's summary."""
    ors = pd.DataFrame(_odds_ratio_claims(tables, metrics, spec), columns=CLAIM_COLUMNS)
    if len(ors):
        order = ors["direction"].map({"higher": 0, "lower": 1, "unclear": 2})
        size = np.where(ors["direction"] == "lower", ors["estimate"], -ors["estimate"])
        ors = ors.assign(_o=order, _s=size).sort_values(["_o", "_s"], kind="stable").drop(columns=["_o", "_s"])
    rest = _curve_claims(tables, spec) + _interaction_claims(tables, metrics, spec) + _fit_claims(tables, metrics, spec)
    return pd.concat([ors, pd.DataFrame(rest, columns=CLAIM_COLUMNS)], ignore_index=True)


def interactions_in_brief(table: pd.DataFrame | None) -> str:
    """The interaction claims of a ``claims`` table in one sentence for a summary or a slide: the labels of
    the strong interactions the model leaves out (its odds ratios average over them), then those it keeps;
    "" when there are none. Their tests and odds ratios within levels stay in the claims' own sentences."""
    from analysis.model.interactions import STRONG_P

    if table is None or not len(table):
        return ""
    rows = table[table["topic"] == "interaction"]
    if not len(rows):
        return ""
    kept = rows["sentence"].str.contains("is in the final model", regex=False)
    parts = []
    if (~kept).any():
        parts.append(f"Effects that depend on another variable (Holm-adjusted p < {STRONG_P:g}) left out of the model, "
                     f"whose odds ratios average over them: {'; '.join(rows.loc[~kept, 'label'])}")
    if kept.any():
        parts.append("Interactions in the model: " + "; ".join(rows.loc[kept, "label"]))
    return ". ".join(parts) + "."

