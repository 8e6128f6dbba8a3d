"""Missing values in words: the sentences the report's limitations add when rows were left out for one.

``missing_sentences(tables, metrics, spec)`` reads the row accounting, the ``missingness`` and
``missing_vs_complete`` tables (``analysis.evaluate.missing``) and metrics.json's ``missing``; its sentences
join the limitations (``analysis.present.narrative.limitations``). The words are the specification's;
levels from the data are escaped where the sentences are rendered, as every generated sentence is.
"""
from __future__ import annotations

import math

import pandas as pd

from analysis.present.formatting import fmt_int, fmt_num, fmt_p, fmt_pct
from analysis.spec import in_sentence

#: a standardized difference above this (in absolute value) is named: the usual mark of an imbalance
NOTABLE_DIFFERENCE = 0.1
MAX_NAMED = 3


def _label(spec, name: str) -> str:
    return in_sentence(spec.labels().get(name, name))


def _level(spec, name: str, level) -> str:
    if name == spec.response.name:
        return f"{spec.response.event_group}"
    v = spec.variable(name)
    if v.kind == "binary":
        return v.group(1) or f"{v.level_label(1)}"
    return v.group(level) or f"{in_sentence(v.label)} {v.level_label(level)}"


def missing_sentences(tables: dict, metrics: dict, spec) -> pd.DataFrame:
    """The limitations of a complete-case analysis, as DataFrame[topic, sentence]: ``missing`` (how many rows
    were left out for a missing value, and for which variables; the rows without the response),
    ``missing_outcome`` (per variable with missing values, whether missingness goes with the outcome, with
    the rates, the test and its p-value, and what that means for the estimates), ``missing_difference``
    (the variables on which the rows left out differ most from those kept, by standardized difference).
    Empty when no row was left out for a missing value.

    Tested on the Titanic data through a whole run (tests/evaluate/test_missing.py): the counts, rates and
    p-value the sentences state are those of the tables."""
    info = metrics.get("missing") or {}
    rows = spec.rows
    out = []
    n_incomplete, n_response = int(info.get("rows_incomplete", 0)), int(info.get("rows_missing_response", 0))
    miss = tables.get("missingness")
    if n_incomplete and miss is not None:
        n_complete = int(info.get("rows_complete", 0))
        total = n_complete + n_incomplete
        by = miss[miss["rows_missing"] > 0]
        which = "; ".join(f"{_label(spec, r['variable'])} missing in {fmt_int(r['rows_missing'])}"
                          for _, r in by.iterrows())
        imputed = info.get("imputation")
        if imputed:
            out.append(("missing", (
                f"{fmt_int(n_incomplete)} of the {fmt_int(total)} {rows} with a known outcome "
                f"({fmt_pct(n_incomplete / total)}) had a missing value ({which}). They were imputed "
                f"{imputed['m']} times by chained equations (predictive mean matching for numbers, logistic or "
                "multinomial models for categories, the outcome a predictor and never imputed, as R's mice), "
                f"the terms were selected by {imputed['selection']}"
                + (f" (the run asked for '{imputed['asked']}' selection, which is run backward under imputation)"
                   if imputed["asked"] not in (imputed["direction"], "none") else "")
                + ", and the odds ratios the report cites are pooled over the imputations by Rubin's rules. The "
                f"complete-case fit of the same terms ({fmt_int(n_complete)} {rows}) is shown beside the pooled "
                "one; the specification checks, the evaluation and the bootstrap use the complete cases.")))
        else:
            out.append(("missing", (
                f"{fmt_int(n_incomplete)} of the {fmt_int(total)} {rows} with a known outcome "
                f"({fmt_pct(n_incomplete / total)}) were left out of the model because a value was missing "
                f"({which}): the model and the evaluation describe the {fmt_int(n_complete)} {rows} with every "
                "value (a complete-case analysis).")))
    if n_response:
        out.append(("missing", f"{fmt_int(n_response)} {rows} without a value of {_label(spec, spec.response.name)} "
                               "were left out as well; the response is never imputed."))
    if not n_incomplete or miss is None:
        return pd.DataFrame(out, columns=["topic", "sentence"])
    r = spec.response
    imputed = bool(info.get("imputation"))
    for _, x in miss[miss["rows_missing"] > 0].iterrows():
        label, p = _label(spec, x["variable"]), float(x["p_value"])
        stat = f"{x['test']}" + ("" if math.isnan(x["statistic"]) else f" {fmt_num(x['statistic'], 2)}")
        rates = (f"the {r.rate} is {fmt_pct(x['rate_missing'])} among {rows} with {label} missing and "
                 f"{fmt_pct(x['rate_observed'])} among the others ({stat}, p {fmt_p(p)})")
        if p < 0.05 and imputed:
            out.append(("missing_outcome", (
                f"Whether {label} is missing goes with the outcome: {rates}. The pooled estimates assume values "
                "missing at random given the variables of the imputation model, the outcome among them (the "
                "data cannot show that this holds); the complete-case fit beside them needs more (missingness "
                "not going with the outcome beyond the model's variables), which is why the two can differ.")))
        elif p < 0.05:
            out.append(("missing_outcome", (
                f"Whether {label} is missing goes with the outcome: {rates}. Complete-case estimates are unbiased "
                "when missingness depends on the variables of the model but not on the outcome beyond them; "
                "the data cannot show which holds, so the estimates may be biased.")))
        else:
            out.append(("missing_outcome", (
                f"Whether {label} is missing does not go detectably with the outcome: {rates}. This is "
                "consistent with, but does not prove, values missing independently of the outcome.")))
    comp = tables.get("missing_vs_complete")
    if comp is not None and len(comp):
        big = comp[comp["std_difference"].abs() > NOTABLE_DIFFERENCE]
        big = big.reindex(big["std_difference"].abs().sort_values(ascending=False).index).head(MAX_NAMED)
        if len(big):
            parts = [(f"share of {_level(spec, d['variable'], d['level'])}: {fmt_pct(d['excluded'])} against "
                      f"{fmt_pct(d['kept'])}" if d["summary"] == "share" else
                      f"mean {_label(spec, d['variable'])}: {fmt_num(d['excluded'])} against {fmt_num(d['kept'])}")
                     + f", standardized difference {fmt_num(d['std_difference'], 2)}" for _, d in big.iterrows()]
            out.append(("missing_difference", (
                f"The {rows} with a missing value differ from those with every value ({'; '.join(parts)}): the "
                f"pooled odds ratios use all the {rows}, but the checks, the evaluation and the bootstrap, "
                f"on the complete cases, describe a part of the {rows} that is not random." if imputed else
                f"The {rows} left out differ from those kept ({'; '.join(parts)}), so the {rows} analysed are not "
                f"a random part of the {rows} read.")))
        else:
            out.append(("missing_difference", (
                f"The {rows} left out resemble those kept on every variable they have (no standardized "
                f"difference above {NOTABLE_DIFFERENCE:g}).")))
    return pd.DataFrame(out, columns=["topic", "sentence"])
