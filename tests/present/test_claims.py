"""One set of claims (issue 18): the report, the slides and the workbook state the claims table's odds ratios with
the same intervals, curves are never one odds ratio under higher or lower odds, and the fit's summary (the
miscalibrated groups, the apparent Hosmer-Lemeshow test) is on the page, not in speaker notes. On the public
Titanic report (tests/conftest.py ``titanic_report``) and the coupon data's tables."""
import re

import pandas as pd
import pytest

from analysis.present.claims import BOOTSTRAP_INTERVAL, claims
from analysis.present.formatting import fmt_or
from analysis.results import load
from outputs import html_text, pdf_text, slides_text

OR_TEXT = re.compile(r"OR (\d+\.\d\d) \((\d+\.\d\d) to (\d+\.\d\d)\)")


@pytest.fixture(scope="module")
def run(titanic_report):
    return load(titanic_report)


def _stated(row) -> str:
    return f"OR {fmt_or(row['estimate'])} ({fmt_or(row['conf_low'])} to {fmt_or(row['conf_high'])})"


def test_the_claims_table_is_the_claims_of_the_tables(run):
    """tables/claims.csv equals the claims recomputed from the run's tables, and its odds ratios cite the
    bootstrap interval (a selection was run and validated) read from bootstrap_odds_ratios."""
    written = run.tables["claims"]
    again = claims(run.tables, run.metrics, run.spec)
    text = ["claim", "topic", "term", "label", "interval", "direction", "sentence"]
    written = written.assign(**{c: written[c].fillna("") for c in text})           # a CSV's empty cell is NaN
    pd.testing.assert_frame_equal(written.reset_index(drop=True), again.reset_index(drop=True), check_dtype=False)
    ors = written[written["topic"] == "odds ratio"]
    assert len(ors) and set(ors["interval"]) == {BOOTSTRAP_INTERVAL}
    boot = run.tables["bootstrap_odds_ratios"].set_index("term")
    for _, r in ors.iterrows():
        if r["label"].startswith("Age"):                      # per 10 years: the interval raised to the step
            continue
        assert r["conf_low"] == pytest.approx(boot.loc[r["term"], "boot_low"], rel=1e-9)
        assert r["conf_high"] == pytest.approx(boot.loc[r["term"], "boot_high"], rel=1e-9)


def test_report_slides_and_workbook_state_the_same_odds_ratios(run, titanic_report):
    """Every odds-ratio claim is printed with its numbers in the report (HTML and PDF) and in the workbook's
    claims sheet; every odds ratio the slides print is one of the claims' (same estimate and interval)."""
    import openpyxl

    ors = run.tables["claims"][run.tables["claims"]["topic"] == "odds ratio"]
    stated = {_stated(r) for _, r in ors.iterrows()}
    html, pdf = html_text(titanic_report / "report.html"), pdf_text(titanic_report / "report.pdf")
    for text in stated:
        assert text in html and text in pdf, text
    slides = slides_text(titanic_report / "slides.pptx")
    on_slides = {m.group(0) for m in OR_TEXT.finditer(slides)}
    # the slides may also repeat the odds ratios within levels of an interaction claim: as its sentence states them
    within = {m.group(0) for s in run.tables["claims"]["sentence"].fillna("") for m in OR_TEXT.finditer(s)}
    assert on_slides and on_slides <= stated | within, on_slides - stated - within
    sheet = openpyxl.load_workbook(titanic_report / "report_tables.xlsx")["claims"]
    header = [c.value for c in next(r for r in sheet.iter_rows() if r[0].value == "claim")]
    rows = [dict(zip(header, (c.value for c in r))) for r in sheet.iter_rows() if r[0].value and
            str(r[0].value).startswith("odds ratio")]
    assert {f"OR {r['estimate']:.2f} ({r['conf_low']:.2f} to {r['conf_high']:.2f})" for r in rows} == stated


def test_curves_are_never_one_odds_ratio_and_the_fit_summary_is_on_the_page(run, titanic_report):
    """The coupon data's age spline is a curve claim, never among higher or lower odds; the calibration claim
    (apparent Hosmer-Lemeshow, groups checked) is in the report's conclusions and on a slide's body."""
    conclusions = run.tables["conclusions"].set_index("topic")["sentence"]
    calibration = run.tables["claims"].set_index("claim").loc["calibration", "sentence"]
    assert "Hosmer-Lemeshow" in calibration and calibration in conclusions["calibration"]
    slides = slides_text(titanic_report / "slides.pptx")
    assert "Hosmer-Lemeshow" in slides
    for topic in ("higher", "lower", "unclear"):
        if topic in conclusions:
            assert "spline" not in conclusions[topic]


def test_coupon_splines_are_curves(real_data_path, tmp_path):
    """On the coupon data the selected model has splines (age, coupons in months 2-6): each is one curve claim
    with odds ratios at percentiles, and no odds-ratio claim is a spline basis coefficient or the intercept."""
    from analysis.config import RunConfig
    from analysis.pipeline import run

    results = run(RunConfig(data=real_data_path, bootstrap=0))
    stated = results.tables["claims"]
    curves = stated[stated["topic"] == "curve"]
    assert set(curves["term"]) >= {"age"}
    assert all("percentile" in s for s in curves["sentence"])
    ors = stated[stated["topic"] == "odds ratio"]
    assert not ors["term"].str.contains("rcs\\(|Intercept").any()
    coefs = results.tables["coefficients"]
    basis = coefs["kind"].isin(["spline basis", "intercept"])
    assert basis.any() and coefs.loc[basis, ["odds_ratio", "or_conf_low", "or_conf_high"]].isna().all().all()
    assert not results.tables["marginal_effects"]["variable"].isin(["age", "coupons_months_2_6"]).any()


def test_interactions_in_brief_names_each_interaction_once():
    """The summary's and the slide's one sentence on interactions: every strong one left out by label (the model's
    odds ratios average over them), then those the model keeps; nothing when there are none."""
    from analysis.present.claims import interactions_in_brief

    table = pd.DataFrame({
        "topic": ["odds ratio", "interaction", "interaction", "interaction"],
        "label": ["Sex: female vs male", "Sex × Class", "Age × Sex", "Class × Fare"],
        "sentence": ["...", "Sex × Class: adding this interaction to the final model gives LR chi-square 50.5 ...",
                     "Age × Sex is in the final model (chosen by the selection; its test is in the Type 3 table).",
                     "Class × Fare: adding this interaction to the final model gives LR chi-square 12.0 ..."]})
    assert interactions_in_brief(table) == (
        "Effects that depend on another variable (Holm-adjusted p < 0.01) left out of the model, whose odds ratios "
        "average over them: Sex × Class; Class × Fare. Interactions in the model: Age × Sex.")
    assert interactions_in_brief(table[table["topic"] != "interaction"]) == ""
    assert interactions_in_brief(None) == ""
