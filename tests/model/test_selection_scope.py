"""step()'s whole interface: interactions with marginality, lower/upper scopes, a start model and the penalty k,
against R 4.2.2's step() on public data (tests/reference/r/public_models.json, made by public_models.R).

For each stored step() call: the same moves in the same order (e.g. "+ neuroticism:extraversion"), the AIC
(or BIC) after each move to 1e-6 relative, and the same final terms. The final coefficients of one call are
compared too. Marginality is also checked directly: a main effect is never dropped while an interaction
containing it is in the model, and an interaction never enters before its main effects.
"""
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.model.selection import stepwise
from analysis.model.terms import add_scope, drop_scope, term_factors

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = ROOT / "tests" / "data" / "public"
REF = json.loads((ROOT / "tests" / "reference" / "r" / "public_models.json").read_text())["interactions"]


def birthwt():
    d = pd.read_csv(PUBLIC / "birthwt.csv")
    return d.assign(race=d["race"].astype(str))


def cowles():
    d = pd.read_csv(PUBLIC / "cowles.csv")
    return d.assign(volunteer=(d["volunteer"] == "yes").astype(int))


def mroz():
    d = pd.read_csv(PUBLIC / "mroz.csv")
    return d.assign(lfp=(d["lfp"] == "yes").astype(int), wc_yes=(d["wc"] == "yes").astype(int),
                    hc_yes=(d["hc"] == "yes").astype(int))


TO_R = {"C(race)": "factor(race)", "C(sex)": "sex", "wc_yes": "wc", "hc_yes": "hc", "I(age ** 2)": "I(age^2)"}


def r_term(term: str) -> str:
    return ":".join(TO_R.get(f, f) for f in term.split(":"))


def squared(mains):
    """(a + b + ...)^2 as R expands it: the main effects, then every pair in order."""
    return list(mains) + [f"{a}:{b}" for i, a in enumerate(mains) for b in mains[i + 1:]]


BIRTHWT6 = ["age", "lwt", "C(race)", "smoke", "ht", "ui"]
CASES = {
    # name: (data, response, upper, lower, start, direction, k)
    "cowles_main_both_k2": (cowles, "volunteer", squared(["C(sex)", "neuroticism", "extraversion"]), [],
                            ["C(sex)", "neuroticism", "extraversion"], "both", "2"),
    "cowles_main_both_klogn": (cowles, "volunteer", squared(["C(sex)", "neuroticism", "extraversion"]), [],
                               ["C(sex)", "neuroticism", "extraversion"], "both", "log"),
    "cowles_null_forward_k2": (cowles, "volunteer", squared(["C(sex)", "neuroticism", "extraversion"]), [], [],
                               "forward", "2"),
    "cowles_null_forward_klogn": (cowles, "volunteer", squared(["C(sex)", "neuroticism", "extraversion"]), [], [],
                                  "forward", "log"),
    "cowles_null_both_k2": (cowles, "volunteer", squared(["C(sex)", "neuroticism", "extraversion"]), [], [],
                            "both", "2"),
    "birthwt_main6_lowersmoke_both_k2": (birthwt, "low", squared(BIRTHWT6), ["smoke"], BIRTHWT6, "both", "2"),
    "birthwt_main6_lowersmoke_both_klogn": (birthwt, "low", squared(BIRTHWT6), ["smoke"], BIRTHWT6, "both", "log"),
    "birthwt_given_lwt_smoke_lowersmoke_both_k2": (birthwt, "low", squared(BIRTHWT6), ["smoke"], ["lwt", "smoke"],
                                                   "both", "2"),
    "birthwt_given_lwt_smoke_lowersmoke_both_klogn": (birthwt, "low", squared(BIRTHWT6), ["smoke"],
                                                      ["lwt", "smoke"], "both", "log"),
    "birthwt_given_lwt_smoke_lower1_both_k2": (birthwt, "low", squared(BIRTHWT6), [], ["lwt", "smoke"], "both", "2"),
    "mroz_full_upper_interactions_age2_both_k2": (
        mroz, "lfp", ["k5", "k618", "age", "wc_yes", "hc_yes", "lwg", "inc", "age:wc_yes", "k5:age", "I(age ** 2)"],
        [], ["k5", "k618", "age", "wc_yes", "hc_yes", "lwg", "inc"], "both", "2"),
    "mroz_full_upper_interactions_age2_both_klogn": (
        mroz, "lfp", ["k5", "k618", "age", "wc_yes", "hc_yes", "lwg", "inc", "age:wc_yes", "k5:age", "I(age ** 2)"],
        [], ["k5", "k618", "age", "wc_yes", "hc_yes", "lwg", "inc"], "both", "log"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_step_path_equals_r(name):
    load, response, upper, lower, start, direction, k = CASES[name]
    ref = REF[name]
    data = load()
    penalty = 2.0 if k == "2" else math.log(len(data))
    res = stepwise(data, response, upper, direction=direction, k=penalty, scope={"lower": lower, "upper": upper},
                   start=start)
    moves = [("+ " if a == "add" else "- ") + r_term(t) for a, t in zip(res.path["action"][1:], res.path["term"][1:])]
    assert moves == ref["anova"]["Step"][1:]
    np.testing.assert_allclose(res.path["criterion"], ref["anova"]["AIC"], rtol=1e-6)
    final = ref["final_terms"] if isinstance(ref["final_terms"], list) else [ref["final_terms"]]
    assert sorted(r_term(t) for t in res.terms) == sorted(final)


def test_final_coefficients_with_interactions_equal_r():
    name = "birthwt_main6_lowersmoke_both_k2"
    load, response, upper, lower, start, direction, _ = CASES[name]
    res = stepwise(load(), response, upper, direction=direction, k=2, scope={"lower": lower, "upper": upper},
                   start=start)
    ref = REF[name]["final_coefficients"]
    got = res.model.params
    names = {re.sub(r"factor\(race\)(\d)", r"C(race)[T.\1]", t).replace("(Intercept)", "Intercept"): e
             for t, e in zip(ref["term"], ref["estimate"])}
    for term, estimate in names.items():
        candidates = [c for c in got.index if sorted(c.split(":")) == sorted(term.split(":"))]
        assert len(candidates) == 1, (term, list(got.index))
        assert got[candidates[0]] == pytest.approx(estimate, rel=1e-6), term


def test_marginality_rules_by_hand():
    terms = ["a", "b", "C(g)", "a:b", "C(g):a"]
    factors = {t: term_factors(t) for t in terms}
    # a and b are inside a:b, a inside C(g):a: only the interactions and nothing else may go
    assert drop_scope(terms, [], factors) == ["a:b", "C(g):a"]
    assert drop_scope(["a", "b", "C(g)"], ["b"], factors) == ["a", "C(g)"]
    # from the main effects a, C(g): C(g):a may come in, a:b not before b
    assert add_scope(["a", "C(g)"], terms, factors) == ["b", "C(g):a"]


def test_scope_start_and_marginality_errors():
    data = birthwt()
    with pytest.raises(ValueError, match="not in the upper scope"):
        stepwise(data, "low", ["age", "lwt"], start=["age", "smoke"])
    with pytest.raises(ValueError, match="marginality"):
        stepwise(data, "low", ["age", "lwt", "age:lwt"], start=["age", "age:lwt"])
    with pytest.raises(ValueError, match="lower scope"):
        stepwise(data, "low", ["age", "lwt"], scope={"lower": ["smoke"]})
    with pytest.raises(ValueError, match="k must be"):
        stepwise(data, "low", ["age", "lwt"], k=-1)
