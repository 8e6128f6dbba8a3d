"""Sentences generated from results: every number in them comes from a table, every word from the specification.

The odds-ratio sentences follow one rule (``present``: odds ratios and CIs to 2 decimals); the
percentage change is computed from the rounded odds ratio so that a reader can check it against the
number printed beside it. The data are observational, so the wording is associational ("goes with
higher odds", "is associated with"), never causal ("raises the odds").
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.present.claims import INTERVAL_NOTES, WALD_INTERVAL, claims
from analysis.present.formatting import fmt_int, fmt_num, fmt_or, fmt_p, fmt_pct
from analysis.present.labels import describe_coefficient
from analysis.spec import group_phrase, in_sentence

EVENT_RATE = "event rate (observed)"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _change(odds_ratio_rounded: float) -> str:
    pct = round(abs(odds_ratio_rounded - 1) * 100)
    if pct == 0:
        return "no change in the odds"
    return f"{pct}% {'higher' if odds_ratio_rounded > 1 else 'lower'} odds"


def _group(variable, level, spec) -> str:
    """The rows at a level of a categorical variable, as a noun phrase: the specification's ``groups``, else
    "<rows> with <label> '<level>'" (``analysis.spec.group_phrase``)."""
    if variable is None:
        return group_phrase(spec.rows, "the variable", level)
    return variable.group(level) or group_phrase(spec.rows, variable.label, variable.level_label(level))


def _variable(spec, name):
    try:
        return spec.variable(name)
    except KeyError:
        return None


def odds_ratio_sentence(row: pd.Series, spec, baselines: dict[str, str] | None = None,
                        stated: tuple[float, float, float, str] | None = None) -> str:
    """One sentence for one coefficient row (columns of ``model.tidy``).

    Categorical levels are compared with the baseline level, binary variables with the rows without the
    attribute, numeric terms per the variable's ``step`` (odds ratio and CI raised to that power). States
    plainly when the CI includes 1. Words (groups, units, the outcome) come from ``spec``. ``stated`` =
    (odds ratio, low, high, interval kind), already per the step, replaces the row's Wald values: the claim
    of the run (:mod:`analysis.present.claims`), so the sentence cites the interval the report cites.
    """
    info = describe_coefficient(row["term"], spec, baselines)
    outcome = spec.response.outcome
    step = info.step if info.kind == "numeric" else 1.0
    if stated is None:
        odds = row["odds_ratio"] ** step
        low, high = row["or_conf_low"] ** step, row["or_conf_high"] ** step
        ci = f"95% CI {fmt_or(low)} to {fmt_or(high)}"
    else:
        odds, low, high, kind = stated
        ci = f"{'95% CI' if kind == WALD_INTERVAL else kind} {fmt_or(low)} to {fmt_or(high)}"
    shown = float(fmt_or(odds))
    var = _variable(spec, info.variables[0]) if info.variables else None
    if info.kind == "categorical":
        group = _group(var, info.level, spec)
        base = _group(var, info.baseline, spec) if info.baseline is not None else "the baseline"
        label = in_sentence(var.label) if var is not None else info.variables[0]
        text = (f"{_capital(group)} have {fmt_or(odds)} times the odds of {outcome} "
                f"({_change(shown)}; {ci}) compared with {base} (the baseline {label}), other factors held fixed.")
    elif info.kind == "binary":
        text = (f"{_capital(var.yes_group)} have {fmt_or(odds)} times the odds of {outcome} "
                f"({_change(shown)}; {ci}) compared with {var.no_group}, other factors held fixed.")
    elif info.kind == "numeric" and var is not None:
        per = var_per(var)
        text = (f"{_capital(per)} goes with {fmt_or(odds)} times the odds of {outcome} "
                f"({_change(shown)}; {ci}), other factors held fixed.")
    else:
        text = (f"{info.label}: odds ratio {fmt_or(odds)} ({_change(shown)}; {ci}), other factors held fixed.")
    if low <= 1 <= high:
        text += " The interval includes 1: the data are consistent with no association."
    return text


def var_per(variable) -> str:
    """"each additional coupon used in the last month" / "every 10 years of age": what a numeric odds
    ratio is stated per (the specification's ``per``, else built from the step and unit)."""
    each = "each" if variable.step == 1 else "every"
    if variable.per:
        return f"{each} {variable.per}"
    return f"{each} {variable.step_phrase()} more of {in_sentence(variable.label)}"


def odds_ratio_sentences(coefficients: pd.DataFrame, baselines: dict[str, str] | None, spec,
                         claims: pd.DataFrame | None = None) -> pd.DataFrame:
    """Sentence per non-intercept coefficient that is a single effect (not a spline or interaction
    column; those are described by their effect tables): DataFrame[term, sentence]. With the run's
    ``claims``, each sentence states the claim's odds ratio and headline interval (bootstrap, pooled, Firth's
    profile or Wald, named), so the words and the tables cite one interval."""
    stated = {}
    if claims is not None and len(claims):
        for _, c in claims[claims["topic"] == "odds ratio"].iterrows():
            stated[c["term"]] = (c["estimate"], c["conf_low"], c["conf_high"], c["interval"])
    rows = []
    for _, r in coefficients[coefficients["term"] != "Intercept"].iterrows():
        info = describe_coefficient(r["term"], spec, baselines)
        if info.kind in ("categorical", "binary", "numeric"):
            rows.append((r["term"], odds_ratio_sentence(r, spec, baselines, stated.get(r["term"]))))
    return pd.DataFrame(rows, columns=["term", "sentence"])


def effect_label(term: str, spec, baselines: dict | None = None) -> str:
    """Short name of a coefficient for lists: "Job: retired vs admin.", "Returned goods: yes vs no",
    "Age (per 10 years)"."""
    return describe_coefficient(term, spec, baselines).label


def _or_text(row, spec, baselines) -> str:
    info = describe_coefficient(row["term"], spec, baselines)
    step = info.step if info.kind == "numeric" else 1.0
    return (f"{info.label}: OR {fmt_or(row['odds_ratio'] ** step)} "
            f"({fmt_or(row['or_conf_low'] ** step)} to {fmt_or(row['or_conf_high'] ** step)})")


def profile_label(characteristic: str, spec) -> str:
    """Readable name of a row of ``explore.profile_by_score``: "job: retired" -> "retired customers" (the
    specification's ``groups``, else "customers with job 'retired'", as the odds-ratio sentences name them)."""
    if characteristic == EVENT_RATE:
        return f"{spec.response.rate} (observed)"
    column, sep, level = characteristic.partition(": ")
    var = _variable(spec, column)
    if sep and var is not None:
        return var.group(level) or group_phrase(spec.rows, var.label, var.level_label(level))
    if var is not None and var.kind == "binary":
        return var.yes_group
    return var.label if var is not None else characteristic


def _profile_phrase(row, spec) -> str:
    label = profile_label(row["characteristic"], spec)
    if row["kind"] == "share":
        return f"{label} ({fmt_pct(row['top'])} vs {fmt_pct(row['rest'])})"
    return f"{in_sentence(label)} (mean {fmt_num(row['top'], 2)} vs {fmt_num(row['rest'], 2)})"


def conclusions(claims: pd.DataFrame, profile: pd.DataFrame, profile_info: dict, metrics: dict,
                gains: pd.DataFrame, classification: pd.DataFrame, spec) -> pd.DataFrame:
    """The summary conclusions: DataFrame[topic, sentence], every odds ratio, curve, interaction and fit
    statement read from ``claims`` (``analysis.present.claims``: the one table the report, the slides and the
    workbook state), the rest assembled from the tables.

    ``profile`` is ``explore.profile_by_score`` (with its threshold/n_top/n_rest in ``profile_info``),
    ``gains`` and ``classification`` the tables of the evaluation sample. Topics: who, profile, higher,
    lower, unclear, curves, interactions, quality, calibration, leakage, influence, accuracy. The profile's
    characteristics (shares and means alike) are ranked by their standardized difference (the difference
    over the variable's pooled standard deviation), never by raw differences in different units.
    """
    r = spec.response
    out = []
    rate = profile.set_index("characteristic").loc[EVENT_RATE]
    scored = profile_info.get("scored", "all rows used")
    out.append(("who", (
        f"The {fmt_int(profile_info['n_top'])} {spec.rows} the model scores highest ({scored}; predicted probability "
        f"at least {fmt_num(profile_info['threshold'], 3)}, the top {fmt_pct(profile_info['top_share'], 0)}) "
        f"{r.verb} at {fmt_pct(rate['top'])}, against {fmt_pct(rate['rest'])} among the other "
        f"{fmt_int(profile_info['n_rest'])}.")))
    rows = profile[profile["characteristic"] != EVENT_RATE]
    ranked = rows.reindex(rows["std_difference"].abs().sort_values(ascending=False, kind="stable").index).head(4)
    if len(ranked):
        parts = [("more " if x["difference"] > 0 else "fewer ") + _profile_phrase(x, spec) if x["kind"] == "share"
                 else (f"a {'higher' if x['difference'] > 0 else 'lower'} mean "
                       f"{in_sentence(profile_label(x['characteristic'], spec))} ({fmt_num(x['top'], 2)} vs "
                       f"{fmt_num(x['rest'], 2)})")
                 for _, x in ranked.iterrows()]
        out.append(("profile", "Compared with the rest, the top group differs most (in standard deviations of each "
                               "variable) in: " + "; ".join(parts) + "."))

    ors = claims[claims["topic"] == "odds ratio"]
    kind = ors["interval"].iloc[0] if len(ors) else ""
    for direction, head in (("higher", f"Associated with higher odds of {r.outcome}, other factors held fixed "
                                       "(95% interval above 1): "),
                            ("lower", "Associated with lower odds (95% interval below 1): "),
                            ("unclear", "No clear difference (95% interval includes 1): ")):
        these = ors[ors["direction"] == direction]
        if len(these):
            out.append((direction, head + "; ".join(
                f"{x['label']}: OR {fmt_or(x['estimate'])} ({fmt_or(x['conf_low'])} to {fmt_or(x['conf_high'])})"
                for _, x in these.iterrows()) + "."))
    if len(ors):
        out.append(("intervals", f"The odds ratios' intervals are {INTERVAL_NOTES.get(kind, kind)}."))
    for topic, key in (("curves", "curve"), ("interactions", "interaction")):
        these = claims[claims["topic"] == key]
        if len(these):
            out.append((topic, " ".join(these["sentence"])))
    for topic, key in (("quality", "discrimination"), ("calibration", "calibration"), ("leakage", "leakage"),
                       ("influence", "influence")):
        these = claims[claims["topic"] == key]
        if len(these):
            text = " ".join(these["sentence"])
            if topic == "quality":
                first = gains.sort_values("decile").iloc[0]
                text = text[:-1] + (f"; the top-scored tenth of {spec.rows} holds {fmt_pct(first['cum_capture'])} of "
                                    f"the {r.event_group}, {fmt_num(first['lift'], 2)} times what a random tenth "
                                    "would hold.")
            out.append((topic, text))
    sample = metrics["evaluation_sample"]
    at_half = classification[(classification["sample"] == sample) & (classification["threshold"] == 0.5)].iloc[0]
    out.append(("accuracy", (
        f"Accuracy is the wrong yardstick here: at a 0.5 cut-off the model is {fmt_pct(at_half['accuracy'])} accurate, "
        f"while predicting the more common outcome for every row scores {fmt_pct(at_half['no_information_rate'])}; "
        f"it finds {fmt_pct(at_half['recall'])} of {r.event_group} at that cut-off. Judge the model by how it ranks "
        f"{spec.rows} by predicted probability (AUC, gains, lift) instead.")))
    return pd.DataFrame(out, columns=["topic", "sentence"])


def _level(spec, variable, level) -> str:
    try:
        return spec.variable(variable).level_label(level)
    except KeyError:
        return str(level)


def limitations(metrics: dict, tables: dict, spec, config: dict) -> pd.DataFrame:
    """What the report cannot claim, each sentence from the run: DataFrame[topic, sentence].

    Topics: observational, selection, split, calibration, exclusions (when rows were excluded), and one
    ``caveat`` per entry of the specification's ``caveats``. The calibration sentence counts the deciles
    of the evaluation sample whose mean predicted probability lies outside the Wilson 95% interval of the
    observed rate (``tables["calibration"]``) and reports the Hosmer-Lemeshow p-value.
    """
    r = spec.response
    out = [("observational", (
        f"The data are observational: the odds ratios describe how the odds of {r.outcome} differ between groups "
        f"of {spec.rows} with the other variables of the model held fixed. They are not the effect of changing a "
        "variable, and characteristics that are not in the data may explain part of them."))]
    crit = {"aic": "AIC", "bic": "BIC", "pvalue": "score and Wald p-values"}.get(config.get("criterion"), "")
    where = "on the training sample" if metrics.get("evaluation_sample") == "test" else f"on all {spec.rows} used"
    imputation = (metrics.get("missing") or {}).get("imputation")
    if imputation:
        out.append(("selection", (
            f"The terms were chosen on the {imputation['m']} imputed data sets by {imputation['selection']}. The "
            "pooled intervals include the imputation's uncertainty but treat the selected model as fixed in "
            "advance; the bootstrap validates that model on the complete cases without repeating the selection, "
            "so the selection's own uncertainty is not in the intervals.")))
    elif config.get("select", "both") != "none":
        boot = metrics.get("bootstrap")
        stab = tables.get("selection_stability")
        if boot and stab is not None:
            kept = stab.set_index("term")["share"]
            weak = [t for t in metrics["selected_terms"] if kept.get(t, 1) < STABLE]
            how = (f"{len(weak)} of the {len(metrics['selected_terms'])} terms of the final model were kept in fewer "
                   f"than {STABLE:.0%} of {boot['B'] - boot['failed']} bootstrap resamples (the section on the "
                   "selection names them), so a different sample could well select different terms"
                   if weak else
                   f"every term of the final model was kept in at least {STABLE:.0%} of "
                   f"{boot['B'] - boot['failed']} bootstrap resamples, but terms it left out could enter with "
                   "another sample")
            out.append(("selection", (
                f"The terms were chosen by stepwise selection ({config.get('select')}, {crit}) {where}. The "
                "p-values and Wald confidence intervals of the final model treat it as fixed in "
                "advance, so they are optimistic; the bootstrap intervals, which repeat the selection, are the "
                f"honest ones. {_capital(how)}.")))
        else:
            out.append(("selection", (
                f"The terms were chosen by stepwise selection ({config.get('select')}, {crit}) {where}. The "
                "p-values and confidence intervals of the final model treat it as fixed in advance, so "
                "they are optimistic, and a different sample could select different terms (the bootstrap that "
                "would show how much was not run: --bootstrap 0).")))
    split = tables["split"].set_index("sample")
    ev = metrics["evaluation_sample"]
    if ev == "test":
        te = metrics["test"]
        out.append(("split", (
            f"The model is evaluated on one random test sample ({fmt_int(split.loc['test', 'rows'])} {spec.rows}, "
            f"{fmt_int(split.loc['test', 'events'])} {r.event_group}; a Bernoulli split with test share "
            f"{config.get('test_size')} and seed {config.get('seed')}): its statistics carry sampling error, for "
            f"example AUC {fmt_num(te['auc'], 3)} with 95% CI {fmt_num(te['auc_ci_low'], 3)} to "
            f"{fmt_num(te['auc_ci_high'], 3)}.")))
    else:
        out.append(("split", _no_split_sentence(metrics, tables, spec)))
    cal = tables["calibration"]
    outside = cal[(cal["mean_predicted"] < cal["obs_conf_low"]) | (cal["mean_predicted"] > cal["obs_conf_high"])]
    m = metrics[ev]
    verdict = ("no decile's mean predicted probability lies outside the 95% interval of its observed rate"
               if outside.empty else
               f"in {len(outside)} of {len(cal)} deciles the mean predicted probability lies outside the 95% interval "
               f"of the observed rate (deciles {', '.join(str(int(b)) for b in outside['bin'])}), so predicted "
               "probabilities there should not be read as rates")
    groups = ""
    ovp = tables.get("observed_vs_predicted")
    if ovp is not None and len(ovp):
        flagged = ovp[ovp["outside"].astype(str).isin(["True", "true", "1"])]
        groups = (f" By group, {len(flagged)} of {len(ovp)} groups have a mean prediction outside the 95% interval "
                  "of their observed rate" + (": " + ", ".join(
                      f"{spec.labels().get(r['variable'], r['variable'])} {_level(spec, r['variable'], r['level'])}"
                      for _, r in flagged.iterrows()) if len(flagged) else "") + ".")
    on = "on the test sample" if ev == "test" else f"on the {spec.rows} the model was fitted on (apparent)"
    out.append(("calibration", (
        f"Calibration {on}: the Hosmer-Lemeshow test gives p {fmt_p(m['hl_p'])}, and {verdict}." + groups)))
    out += _interaction_limitations(tables, metrics, spec)
    acc = tables["row_accounting"]
    # rows left out for a missing value are stated by the missing-value sentences (analysis.present.missing_words)
    excluded = acc[(acc["rows_excluded"] > 0) & ~acc["step"].astype(str).str.startswith("missing")]
    if len(excluded):
        out.append(("exclusions", (
            f"{fmt_int(int(excluded['rows_excluded'].sum()))} rows were excluded ("
            + "; ".join(f"{s}: {fmt_int(n)}" for s, n in zip(excluded["step"], excluded["rows_excluded"]))
            + "): the results describe the remaining rows only.")))
    for caveat in spec.caveats:
        out.append(("caveat", caveat))
    return pd.DataFrame(out, columns=["topic", "sentence"])


#: a held-out test sample is recommended only when, at a 30% share, it would hold at least this many events
#: and non-events (Collins, Ogundimu & Altman 2016: at least 100, preferably 200, for a validation sample)...
SPLIT_MIN_EVENTS = 200
#: ...and the other 70% would keep at least this many events (of the rarer class) per candidate parameter
SPLIT_MIN_EPP = 20


def split_advice(events: int, non_events: int, parameters: int, share: float = 0.3) -> str:
    """Whether a held-out test sample would be worth its cost here, by the rule of ``SPLIT_MIN_EVENTS`` and
    ``SPLIT_MIN_EPP``: "plentiful" when both hold, else "scarce"."""
    rarer = min(events, non_events)
    test_ok = share * rarer >= SPLIT_MIN_EVENTS
    train_ok = (1 - share) * rarer >= SPLIT_MIN_EPP * max(parameters, 1)
    return "plentiful" if test_ok and train_ok else "scarce"


def _no_split_sentence(metrics: dict, tables: dict, spec) -> str:
    """The validation without a test sample, and whether one would be worth its cost (:func:`split_advice`)."""
    v = tables.get("validation")
    n, events = metrics["train"]["n"], metrics["train"]["events"]
    params = int(metrics.get("full_model", {}).get("lr_df", 0)) + 1
    advice = split_advice(events, n - events, params)
    rule = (f"a held-out sample is worth its cost only when, at a 30% share, it would hold at least "
            f"{SPLIT_MIN_EVENTS} of each outcome and the rest at least {SPLIT_MIN_EPP} of the rarer outcome per "
            f"candidate parameter ({params} here)")
    if v is not None and len(v):
        vi = v.set_index("index")
        how = (f"its performance is estimated by the optimism bootstrap, which uses every row (corrected AUC "
               f"{fmt_num(vi.loc['auc', 'corrected'], 3)}, calibration slope "
               f"{fmt_num(vi.loc['calibration_slope', 'corrected'], 2)}); the apparent statistics of the evaluation "
               "tables are optimistic by the amounts in the validation table")
    else:
        how = ("no bootstrap was run (--bootstrap 0), so every evaluation statistic is computed on the rows the model "
               "was fitted on and is optimistic")
    verdict = ("events are plentiful here, so a held-out sample (--test-size 0.3) would also be informative"
               if advice == "plentiful" else
               "events are too few here for a held-out sample to beat the bootstrap")
    return (f"The model was selected and fitted on all {fmt_int(n)} {spec.rows}, with no held-out test sample: "
            f"{how}. By the rule used here, {rule}; {verdict}.")


def _interaction_limitations(tables: dict, metrics: dict, spec) -> list[tuple[str, str]]:
    """The limitation the interaction screen leads to: the strong interactions the model leaves out."""
    out = []
    tests = tables.get("interaction_tests")
    if tests is not None and len(tests):
        from analysis.model import interactions
        from analysis.present.labels import describe_term

        strong = [t for t in interactions.strong(tests) if t not in metrics.get("selected_terms", [])]
        single = tests[tests["term"] != interactions.ALL_PAIRS]
        if strong:
            out.append(("interactions", (
                f"Of the {len(single)} interactions tested (each pair of the final model's terms and any declared in "
                f"the specification), {len(strong)} {'is' if len(strong) == 1 else 'are'} strong (Holm-adjusted p "
                f"below {interactions.STRONG_P}) but not in the model: " + "; ".join(describe_term(t, spec) for t in strong)
                + ". The model's odds ratios for those variables average over the other variable's levels (the "
                "odds ratios within levels are in the interactions section); declaring an interaction in the "
                "specification ([model] interactions) lets the selection consider it.")))
        else:
            out.append(("interactions", (
                f"None of the {len(single)} interactions tested (each pair of the final model's terms) is strong "
                f"(Holm-adjusted p below {interactions.STRONG_P}) outside the model: the model's additive odds "
                "ratios are a fair summary.")))
    return out


def specification_sentences(tables: dict, spec) -> pd.DataFrame:
    """The specification checks in words: DataFrame[topic, sentence], topics ``linearity`` (which numeric
    variables are not straight lines, with the LR chi-square of the non-linear part), ``comparison`` (AIC and
    BIC of the model as specified against every variable linear) and ``effects`` (inter-quartile odds
    ratios of the spline variables)."""
    out = []
    lin = tables.get("linearity_tests")
    if lin is not None and len(lin):
        parts = []
        for _, r in lin.iterrows():
            how = "entered as a spline" if r["shape"] == "spline" else "entered linearly"
            if not pd.notna(r["lr_p"]):
                parts.append(f"{r['label']} ({how}): not tested, {str(r.get('note', '')).split(' (')[0]}")
                continue
            verdict = "not a straight line" if r["lr_p"] < 0.05 else "consistent with a straight line"
            parts.append(f"{r['label']} ({how}): {verdict}, LR chi-square {fmt_num(r['lr_chi2'], 2)} on "
                         f"{int(r['lr_df'])} df, p {fmt_p(r['lr_p'])}")
        out.append(("linearity", "Linearity of each numeric variable of the final model (the non-linear part of a "
                                 "restricted cubic spline): " + "; ".join(parts) + "."))
    comp = tables.get("model_comparison")
    if comp is not None and len(comp) >= 2:
        c = comp.set_index("model")
        pairs = [("final model, as specified", "final model, every variable linear"),
                 ("full model, as specified", "full model, every variable linear")]
        for spec_name, lin_name in pairs:
            if spec_name in c.index and lin_name in c.index:
                a, b = c.loc[spec_name], c.loc[lin_name]
                out.append(("comparison", (
                    f"The {spec_name.split(',')[0]} as specified has AIC {fmt_num(a['aic'], 1)} and BIC "
                    f"{fmt_num(a['bic'], 1)} against {fmt_num(b['aic'], 1)} and {fmt_num(b['bic'], 1)} with every "
                    f"variable linear ({fmt_num(b['aic'] - a['aic'], 1)} and {fmt_num(b['bic'] - a['bic'], 1)} "
                    "lower is better).")))
                break
    eff = tables.get("spline_effects")
    if eff is not None and len(eff):
        parts = [f"{in_sentence(r['label'])} {_num(r['high'])} against {_num(r['low'])}: OR {fmt_or(r['odds_ratio'])} "
                 f"(95% CI {fmt_or(r['or_conf_low'])} to {fmt_or(r['or_conf_high'])})" for _, r in eff.iterrows()]
        out.append(("effects", f"A spline has no single odds ratio; between the lower and upper quartile of the "
                               f"{spec.rows}, other variables at their median or most frequent value: "
                    + "; ".join(parts) + "."))
    return pd.DataFrame(out, columns=["topic", "sentence"])


#: a term kept in fewer bootstrap resamples than this share is called unstable
STABLE = 0.8


def validation_sentences(metrics: dict, tables: dict, spec) -> pd.DataFrame:
    """The optimism bootstrap in words (``analysis.evaluate.bootstrap``): DataFrame[topic, sentence], topics
    ``optimism`` (apparent, optimism and corrected AUC, and the corrected calibration slope, with what it
    means for predictions), ``stability`` (how often the final model's exact set of terms and each of its terms
    was selected; terms kept in fewer than :data:`STABLE` of the resamples named) and ``odds_ratios`` (how
    the bootstrap intervals compare with the Wald intervals). Empty when the bootstrap was not run."""
    boot = metrics.get("bootstrap")
    if not boot or "validation" not in tables:
        return pd.DataFrame(columns=["topic", "sentence"])
    v = tables["validation"].set_index("index")
    ok = boot["B"] - boot["failed"]
    failed = (f" ({boot['failed']} resamples in which a model could not be fitted, e.g. a level absent from the "
              "resample, are left out)" if boot["failed"] else "")
    auc, slope = v.loc["auc"], v.loc["calibration_slope"]
    shrink = (f"predictions for new {spec.rows} would be too extreme; multiplying the linear predictor by "
              f"{fmt_num(slope['corrected'], 2)} corrects that" if slope["corrected"] < 0.95 else
              "the over-fitting is small")
    fitted_on = "training sample" if metrics.get("evaluation_sample") == "test" else f"{spec.rows} it was fitted on"
    out = [("optimism", (
        f"Stepwise selection and the fit were repeated on {fmt_int(ok)} bootstrap resamples of the {fitted_on}"
        f"{failed}, as rms's validate does. The AUC of {fmt_num(auc['apparent'], 3)} on the {fitted_on} "
        f"is optimistic by {fmt_num(auc['optimism'], 4)}: the corrected AUC is "
        f"{fmt_num(auc['corrected'], 3)}. The corrected calibration slope is {fmt_num(slope['corrected'], 3)} (1 "
        f"is ideal; below 1, predictions are too extreme for new data): {shrink}."))]
    stab = tables.get("selection_stability")
    models = tables.get("selected_models")
    if stab is not None and len(stab):
        kept = stab.set_index("term")["share"]
        final = list(metrics["selected_terms"])
        weak = [t for t in final if kept.get(t, 1) < STABLE]
        left = [t for t in kept.index if t not in final and kept[t] >= 1 - STABLE]
        same = models[models["model"] == " + ".join(sorted(final))]["share"] if models is not None else []
        share = float(same.iloc[0]) if len(same) else 0.0
        from analysis.present.labels import describe_term

        parts = [f"The final model's exact set of terms was selected in {fmt_pct(share)} of the resamples."]
        if weak:
            parts.append("Terms of the final model kept in fewer than " + f"{STABLE:.0%}: " + "; ".join(
                f"{describe_term(t, spec)} ({fmt_pct(kept[t])})" for t in weak) + ".")
        else:
            parts.append(f"Every term of the final model was kept in at least {STABLE:.0%} of them.")
        if left:
            parts.append("Terms left out but kept in at least " + f"{1 - STABLE:.0%} of the resamples: " + "; ".join(
                f"{describe_term(t, spec)} ({fmt_pct(kept[t])})" for t in left) + ".")
        out.append(("stability", " ".join(parts)))
    ors = tables.get("bootstrap_odds_ratios")
    if ors is not None and len(ors):
        single = ors[[describe_coefficient(str(t), spec, metrics.get("baselines", {})).kind in
                      ("categorical", "binary", "numeric") for t in ors["term"]]]
        if len(single):
            wald = np.log(single["or_conf_high"]) - np.log(single["or_conf_low"])
            boot_w = np.log(single["boot_high"]) - np.log(single["boot_low"])
            ratio = float(np.median(boot_w / wald))
            reach = int(((single["boot_low"] <= 1) & (single["boot_high"] >= 1) &
                         ((single["or_conf_low"] > 1) | (single["or_conf_high"] < 1))).sum())
            out.append(("odds_ratios", (
                f"The bootstrap 95% intervals of the odds ratios are, in the median, {fmt_num(ratio, 2)} times as "
                "wide as the Wald intervals (on the log scale)"
                + (f"; {reach} odds ratio{'s' if reach != 1 else ''} whose Wald interval excludes 1 "
                   f"{'have' if reach != 1 else 'has'} a bootstrap interval that includes it" if reach else "")
                + ".")))
    return pd.DataFrame(out, columns=["topic", "sentence"])


def _num(x) -> str:
    return f"{x:g}"


def calibration_sentences(metrics: dict, tables: dict, spec) -> pd.DataFrame:
    """Calibration in words: DataFrame[topic, sentence], topics ``slope`` (logistic recalibration slope and
    calibration-in-the-large with CIs on the evaluation sample) and ``groups`` (every group whose mean
    predicted probability lies outside the Wilson 95% interval of its observed rate, with both rates, or
    that there is none)."""
    ev = metrics["evaluation_sample"]
    cal = metrics[ev].get("calibration", {})
    out = []
    if cal and ev == "train":
        v = tables.get("validation")
        if v is not None and len(v):
            vi = v.set_index("index")
            out.append(("slope", (
                f"On the {spec.rows} the model was fitted on, the calibration slope and intercept are 1 and 0 by "
                "construction (the score equations of the fit); corrected for over-fitting by the bootstrap they are "
                f"{fmt_num(vi.loc['calibration_slope', 'corrected'], 2)} and "
                f"{fmt_num(vi.loc['calibration_intercept', 'corrected'], 2)} (1 and 0 are ideal; a slope below 1 "
                "means predictions too extreme for new data).")))
    elif cal:
        out.append(("slope", (
            f"On the {ev} sample the calibration slope is {fmt_num(cal['slope'], 2)} (95% CI "
            f"{fmt_num(cal['slope_conf_low'], 2)} to {fmt_num(cal['slope_conf_high'], 2)}; 1 is ideal, below 1 "
            f"means predictions too extreme) and calibration-in-the-large {fmt_num(cal['citl'], 2)} (95% CI "
            f"{fmt_num(cal['citl_conf_low'], 2)} to {fmt_num(cal['citl_conf_high'], 2)}; 0 is ideal, on the "
            "log-odds scale).")))
    ovp = tables.get("observed_vs_predicted")
    if ovp is not None and len(ovp):
        flagged = ovp[ovp["outside"].astype(str).isin(["True", "true", "1"])]
        n = len(ovp)
        if flagged.empty:
            out.append(("groups", f"In every one of the {n} groups checked, the mean predicted probability lies "
                                  "inside the 95% interval of the observed rate."))
        else:
            parts = []
            for _, r in flagged.iterrows():
                try:
                    v = spec.variable(r["variable"])
                    label, level = v.label, v.level_label(r["level"])
                except KeyError:
                    label, level = r["variable"], str(r["level"])
                parts.append(f"{label} {level}: observed {fmt_pct(r['observed_rate'])} "
                             f"(95% CI {fmt_pct(r['obs_conf_low'])} to {fmt_pct(r['obs_conf_high'])}), predicted "
                             f"{fmt_pct(r['mean_predicted'])}")
            expected = 0.05 * n
            out.append(("groups", (
                f"In {len(flagged)} of the {n} groups checked the mean predicted probability lies outside the 95% "
                f"interval of the observed rate (about {expected:.1f} would by chance alone): "
                + "; ".join(parts) + ". For these groups the predicted probability should not be read as the "
                "group's rate.")))
    return pd.DataFrame(out, columns=["topic", "sentence"])


def sentence_tables(tables: dict, metrics: dict, spec, config: dict) -> dict[str, pd.DataFrame]:
    """Every table of sentences a run states: the exploratory headlines, the odds ratios in words, the
    conclusions, the specification checks, the validation, the calibration and the limitations."""
    from analysis.evaluate import explore

    stated = claims(tables, metrics, spec)
    out = {"eda_sentences": explore.headline_sentences(tables, spec),
           "odds_ratio_sentences": odds_ratio_sentences(tables["coefficients"], metrics["baselines"], spec, stated),
           "claims": stated,
           "conclusions": conclusions(stated, tables[explore.PROFILE_TABLE], metrics["profile"],
                                      metrics, tables["gains"], tables["classification"], spec)}
    tables = {**tables, **out}
    out["specification_sentences"] = specification_sentences(tables, spec)
    out["validation_sentences"] = validation_sentences(metrics, tables, spec)
    out["calibration_sentences"] = calibration_sentences(metrics, tables, spec)
    from analysis.present.missing_words import missing_sentences

    out["limitations"] = pd.concat([limitations(metrics, {**tables, **out}, spec, config),
                                    missing_sentences(tables, metrics, spec)], ignore_index=True)
    return out
