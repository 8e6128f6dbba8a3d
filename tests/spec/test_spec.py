"""The data specification: the loader reports every mistake at once (and only real ones), the candidate and
forced terms, and ``init``'s draft (what it guesses, what it refuses to guess) through the command line.

Expected messages are the loader's own wording; expected terms are written out by hand from the spec."""
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis.spec import (SpecError, default_spec, draft_markers, in_sentence, load_spec, spec_from_dict,
                           with_exclusions, with_missing)
from analysis.model.terms import forced_terms, model_terms

ROOT = Path(__file__).resolve().parents[2]
BIRTHWT = ROOT / "tests" / "data" / "public" / "birthwt.csv"


def base(**extra):
    doc = {"response": {"column": "y", "event": "1", "non_event": "0"},
           "variables": [{"column": "x", "type": "count"}, {"column": "g", "type": "categorical"},
                         {"column": "b", "type": "binary", "yes": "yes"}]}
    doc.update(extra)
    return doc


def problems(doc) -> list[str]:
    with pytest.raises(SpecError) as err:
        spec_from_dict(doc)
    return err.value.problems


def test_a_valid_minimal_spec_and_its_defaults():
    spec = spec_from_dict(base())
    assert spec.candidate_terms == ("x", "C(g)", "b_yes") and spec.force == ()
    assert spec.response.name == "y" and spec.id is None


def test_default_words_read_without_column_equals_value():
    """Without words in the specification: a neutral noun for a row ("one row per record", never "one row per
    row"); the response named by its label (yes/no values) or its value; a binary variable's groups named by
    its levels; never "column = value" and never "Sex: yes"."""
    spec = spec_from_dict(base(variables=[{"column": "sex", "type": "binary", "yes": "female", "no": "male",
                                           "label": "Sex"},
                                          {"column": "b", "type": "binary", "label": "Returned goods"}]))
    assert (spec.row, spec.rows) == ("record", "records")
    r = spec.response
    assert (r.outcome, r.verb, r.rate) == ("\u201cy\u201d", "had \u201cy\u201d", "rate of \u201cy\u201d")
    assert (r.event_group, r.non_event_group) == ("records with \u201cy\u201d", "records without \u201cy\u201d")
    assert spec.title == "What predicts \u201cy\u201d?"
    sex, returned = spec.variables
    assert (sex.yes_group, sex.no_group) == ("records with sex 'female'", "records with sex 'male'")
    assert (returned.yes_group, returned.no_group) == ("records with returned goods 'yes'",
                                                       "records with returned goods 'no'")
    other = spec_from_dict({"dataset": {"row": "patient"}, "response": {"column": "outcome", "event": "Poor",
                                                                        "non_event": "Good", "label": "Outcome"},
                            "variables": [{"column": "x", "type": "count"}]})
    assert other.rows == "patients"
    assert (other.response.outcome, other.response.event_group, other.response.non_event_group) == (
        "outcome 'Poor'", "patients with outcome 'Poor'", "patients with outcome 'Good'")


@pytest.mark.parametrize("yes, no, shown", [("female", "male", ("female", "male")), ("yes", "no", ("yes", "no")),
                                            ("1", "0", ("yes", "no")), ("Y", "N", ("yes", "no")),
                                            ("TRUE", "FALSE", ("yes", "no")), ("Poor", "Good", ("Poor", "Good"))])
def test_a_binary_variable_is_named_by_its_levels(yes, no, shown):
    """'yes'/'no' only for values that mean yes and no; the model's 1/0 and the values themselves both work."""
    spec = spec_from_dict(base(variables=[{"column": "b", "type": "binary", "yes": yes, "no": no, "label": "B"}]))
    v = spec.variables[0]
    assert (v.level_label(1), v.level_label(0), v.level_label(yes), v.level_label(no)) == shown * 2
    assert v.indicator_label == f"B: {shown[0]}"


def test_level_labels_of_a_binary_variable_name_its_levels():
    spec = spec_from_dict(base(variables=[{"column": "smoke", "type": "binary", "yes": "1", "no": "0",
                                           "label": "Smoking", "level_labels": {"1": "smoker", "0": "non-smoker"}}]))
    v = spec.variables[0]
    assert (v.level_label(1), v.level_label(0), v.yes_group) == ("smoker", "non-smoker",
                                                                  "records with smoking 'smoker'")
    assert "'max_levels' does not apply to a binary variable" in problems(base(variables=[
        {"column": "b", "type": "binary", "max_levels": 3}]))[0]


def test_the_response_values_in_tables():
    def shown(event, non_event):
        r = spec_from_dict({**base(), "response": {"column": "y", "event": event, "non_event": non_event}}).response
        return r.level_label(1), r.level_label(0)

    assert shown("yes", "no") == ("yes", "no")            # never "yes (yes)", "no (no)"
    assert shown("1", "0") == ("yes (1)", "no (0)")
    assert shown("Poor", "Good") == ("Poor", "Good")


@pytest.mark.parametrize("text, expect", [("Passenger class", "passenger class"), ("Age", "age"),
                                          ("Uses ANT Credit Pay", "uses ANT Credit Pay"), ("BMI", "BMI"),
                                          ("PassengerClass", "PassengerClass"), ("Mother's age", "mother's age")])
def test_labels_read_the_same_in_sentences(text, expect):
    assert in_sentence(text) == expect


@pytest.mark.parametrize("unit, step, phrase", [("", 1, "unit"), ("", 10, "10 units"), ("year", 1, "year"),
                                                ("year", 10, "10 years")])
def test_the_step_of_a_numeric_variable_in_words(unit, step, phrase):
    """Never "per 1 unit": a step of 1 is left out."""
    spec = spec_from_dict(base(variables=[{"column": "x", "type": "count", "unit": unit, "step": step}]))
    assert spec.variables[0].step_phrase() == phrase


@pytest.mark.parametrize("doc, expect", [
    # single brackets where two are needed: never silently ignored
    (base(rules={"check": "x >= 0", "column": "x"}), "[[rules]] must be an array of tables"),
    (base(exclusions={"exclude": "x > 3"}), "[[exclusions]] must be an array of tables"),
    (base(dataset="title"), "[dataset] must be a table"),
    (base(model=["x"]), "[model] must be a table"),
    # wrong types of texts are reported, not replaced by defaults
    (base(dataset={"title": 3}), "[dataset]: 'title' must be text"),
    # the response's name must work in a formula
    ({**base(), "response": {"column": "low birth", "event": "1", "non_event": "0"}},
     "the response's name 'low birth' cannot be used in a formula; add name = \"low_birth\""),
    # a derived column may not use the outcome (leakage)
    (base(variables=[{"name": "z", "expression": "x + y", "type": "count"}, {"column": "x", "type": "count"}]),
     "a derived column cannot use the response or the ID column (y)"),
    # exclusions are conditions
    (base(exclusions=[{"exclude": "x - 20"}]), "'exclude' must be a condition"),
    # keys of another type of variable
    (base(variables=[{"column": "x", "type": "count", "baseline": "first"}]), "'baseline' does not apply to a count"),
    (base(variables=[{"column": "b", "type": "binary", "name": "bb"}]), "set with 'term'"),
    # nonsensical limits
    (base(variables=[{"column": "x", "type": "count", "min": 5, "max": 1}]), "'min' (5) is above 'max' (1)"),
    (base(variables=[{"column": "x", "type": "count", "bins": [0, 1, 1, 3]}]), "'bins' must be strictly increasing"),
    (base(variables=[{"column": "g", "type": "categorical", "max_levels": 0}]), "'max_levels' must be at least 2"),
    # model terms and forced terms are checked against the variables
    (base(model={"terms": ["x", "zz"]}), "'zz' is not a variable of the specification"),
    (base(model={"terms": ["x*b_yes"]}), "write interactions with ':'"),
    (base(model={"terms": ["g"]}), "write the categorical variable as C(g)"),
    (base(model={"terms": ["rcs(x, 9)"]}), "with k knots from 3 to 7"),
    (base(model={"terms": ["C(x)"]}), "C(x) is for categorical variables"),
    (base(model={"terms": ["x", "x"]}), "'x' is listed twice"),
    (base(model={"force": ["age"]}), "[model] force: 'age' is not one of the candidate terms"),
])
def test_each_mistake_is_reported(doc, expect):
    found = problems(doc)
    assert any(expect in p for p in found), found


def test_an_invalid_variable_gives_no_follow_on_errors():
    """A rule naming a variable that has a problem of its own is not reported again as 'not a column'."""
    doc = base(variables=[{"column": "x", "type": "ordinal"}, {"column": "g", "type": "categorical"}],
               rules=[{"check": "x >= 0", "column": "x"}], exclusions=[{"exclude": "x > 10"}])
    found = problems(doc)
    assert len(found) == 1 and "'type' must be one of" in found[0], found


def test_every_problem_at_once():
    doc = base(dataset={"title": 3}, model={"terms": ["zz"]}, exclusions=[{"exclude": "x - 1"}])
    assert len(problems(doc)) == 3


def test_forced_terms_name_candidates_and_follow_their_rewriting():
    """``force`` takes a term as listed or a variable's name; after baselines and knots are resolved the
    forced terms are the same positions of the candidate list."""
    spec = spec_from_dict(base(variables=[{"column": "x", "type": "count", "shape": "spline", "knots": 3},
                                          {"column": "g", "type": "categorical", "baseline": "c"},
                                          {"column": "b", "type": "binary"}],
                               model={"force": ["g", "rcs(x, 3)"]}))
    assert spec.force == ("C(g)", "rcs(x, 3)")
    rows = pd.DataFrame({"x": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] * 3, "g": list("abc") * 10, "b_yes": [0, 1] * 15})
    terms, baselines = model_terms(spec, rows)
    assert terms == ["rcs(x, 3)", "C(g, Treatment(reference='c'))", "b_yes"] and baselines == {"g": "c"}
    knotted = ["rcs(x, [1, 4.5, 8])", *terms[1:]]      # as resolve_knots would write them
    assert forced_terms(spec, knotted) == ["C(g, Treatment(reference='c'))", "rcs(x, [1, 4.5, 8])"]


def test_with_exclusions_refuses_values_and_unknown_names():
    spec = default_spec()
    with pytest.raises(SpecError, match="must be a condition"):
        with_exclusions(spec, ["age - 20"])
    with pytest.raises(SpecError, match="agee"):
        with_exclusions(spec, ["agee > 20"])
    assert len(with_exclusions(spec, ["age > 60"]).exclusions) == len(spec.exclusions) + 1


def test_the_missing_value_strategy_is_declared_and_checked():
    """``[missing] strategy`` (issue 19): complete_cases by default, checked like every key; ``--missing``
    (``with_missing``, RunConfig.missing) overrides it and is recorded in run.json's config."""
    from analysis.config import RunConfig

    assert spec_from_dict(base()).missing_strategy == "complete_cases"
    assert spec_from_dict(base(missing={"strategy": "refuse"})).missing_strategy == "refuse"
    assert problems(base(missing={"strategy": "drop", "method": "x"})) == [
        "[missing]: unknown key 'method'; known keys: m, strategy",
        "[missing]: 'strategy' must be one of 'refuse', 'complete_cases', 'impute', got 'drop'"]
    assert problems(base(missing={"strategy": 1})) == ["[missing]: 'strategy' must be text, got 1"]
    assert problems(base(missing="refuse")) == ["[missing] must be a table: write it as a line [missing] followed "
                                                "by its keys"]
    spec = default_spec()
    assert with_missing(spec, None) is spec and with_missing(spec, "impute").missing_strategy == "impute"
    with pytest.raises(SpecError, match="must be one of"):
        with_missing(spec, "mean")
    config = RunConfig(data=BIRTHWT, missing="refuse")
    assert config.load_spec().missing_strategy == "refuse" and config.as_dict()["missing"] == "refuse"
    assert RunConfig(data=BIRTHWT).load_spec().missing_strategy == "complete_cases"
    # the results folder's copy of the specification states an override, and still loads as the file did
    from analysis.results import spec_text

    titanic = load_spec(ROOT / "tests" / "specs" / "titanic.toml")
    assert spec_text(titanic) == titanic.path.read_bytes()
    copy = spec_text(with_missing(titanic, "refuse")).decode()
    assert copy.endswith('# Missing values: strategy "refuse" given on the command line for this run (--missing; '
                         'also in run.json, config.missing)\n')
    assert spec_from_dict(__import__("tomllib").loads(copy)).missing_strategy == "complete_cases"


def test_bundled_and_test_specs_load():
    for path in [None, *sorted((ROOT / "tests" / "specs").glob("*.toml"))]:
        spec = load_spec(path)
        assert spec.candidate_terms, path


# -- init ---------------------------------------------------------------------------------------------------
def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "analysis", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_init_refuses_to_guess_the_response_and_flags_what_to_check(tmp_path):
    """birthwt has four two-valued columns: the draft leaves the response to the user; it flags bwt (it
    separates low completely: low = bwt < 2500) and race (three codes that look like a count)."""
    out = tmp_path / "draft.toml"
    proc = run_cli("init", "--data", BIRTHWT, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert "CHOOSE the response" in proc.stderr and "low, smoke, ht, ui" in proc.stderr
    with pytest.raises(SpecError, match="'column' is required"):
        load_spec(out)
    proc = run_cli("init", "--data", BIRTHWT, "--response", "low", "--out", tmp_path / "d2.toml")
    assert proc.returncode == 0, proc.stderr
    assert "CHECK 'bwt': its values separate the response completely" in proc.stderr
    assert "CHECK 'race': only 3 distinct whole numbers" in proc.stderr
    spec = load_spec(tmp_path / "d2.toml")
    assert spec.response.column == "low" and spec.response.event == "1"


def test_init_bad_response_exits_2(tmp_path):
    proc = run_cli("init", "--data", BIRTHWT, "--response", "weight")
    assert proc.returncode == 2 and "'weight' is not a column" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli("init", "--data", BIRTHWT, "--response", "age")
    assert proc.returncode == 2 and "exactly two" in proc.stderr


def test_init_names_a_response_that_is_not_a_formula_name(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("low birth,x\n" + "\n".join(f"{i % 2},{i}" for i in range(40)) + "\n")
    proc = run_cli("init", "--data", data, "--response", "low birth", "--out", tmp_path / "s.toml")
    assert proc.returncode == 0, proc.stderr
    assert load_spec(tmp_path / "s.toml").response.name == "low_birth"


def test_two_commands_from_a_new_file_to_a_fit(tmp_path):
    """The README's flow: init drafts, the user edits what the draft flags (drops bwt, makes race
    categorical), fit runs with the user's labels."""
    draft = tmp_path / "birthwt.toml"
    assert run_cli("init", "--data", BIRTHWT, "--response", "low", "--out", draft).returncode == 0
    text = draft.read_text()
    start = text.index('column = "race"')
    text = text[:start] + text[start:].replace('type = "count"', 'type = "categorical"', 1)
    text = text.replace("min = 0\n# CHECK: only 3 distinct", "# CHECK: only 3 distinct")
    start = text.index('[[variables]]\ncolumn = "bwt"')
    end = text.find("[[variables]]", start + 10)
    text = text[:start] + (text[end:] if end > 0 else "")
    draft.write_text(text)
    proc = run_cli("fit", "--data", BIRTHWT, "--spec", draft, "--out", tmp_path / "out", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "189 rows used" in proc.stderr


@pytest.mark.parametrize("doc, expect", [
    # types inside expressions: text and numbers do not mix
    (base(variables=[{"column": "g", "type": "categorical"}, {"column": "x", "type": "count"},
                     {"name": "z", "expression": "g + x", "type": "count"}]), "'+' needs numbers, but 'g' is text"),
    (base(rules=[{"check": "g > 1", "column": "g"}]), "needs numbers, but 'g' is text"),
    (base(exclusions=[{"exclude": "x == 'a'"}]), "comparing 'x' (a number) needs numbers, but \"'a'\" is text"),
    (base(exclusions=[{"exclude": "b == 1"}]), "comparing 'b' (text) needs text, but '1' is a number"),
    # the ID cannot be the response
    ({**base(), "id": {"column": "y"}}, "the ID column 'y' is also the response column"),
    # a term that is not a name, C(name) or rcs(name, k)
    (base(model={"terms": ["C(g, Treatment(reference='a'))"]}), "is not a term"),
])
def test_more_mistakes_are_reported(doc, expect):
    found = problems(doc)
    assert any(expect in p for p in found), found


def test_malformed_tables_are_reported_once():
    assert problems({**base(), "response": "y"}) == [
        "[response] must be a table: write it as a line [response] followed by its keys"]
    assert problems({**base(), "variables": {"column": "x", "type": "count"}}) == [
        "[[variables]] must be an array of tables: write each entry as a line [[variables]] (two brackets) "
        "followed by its keys"]


def test_text_comparisons_and_binary_names_are_allowed():
    spec = spec_from_dict(base(exclusions=[{"exclude": "g == 'a' and b == 'yes' and b_yes == 1 and x > 2"}]))
    assert len(spec.exclusions) == 1


def test_draft_markers_are_comments_that_start_with_check_or_choose(tmp_path):
    """What makes a specification a draft: a comment whose first word is CHECK or CHOOSE (as init writes them),
    not the words inside a string, a longer word, or a comment that only mentions them."""
    text = ('# init marks every guess with CHECK or CHOOSE\n'
            '[dataset]\n'
            'row = "record"  # CHECK: what one row is\n'
            'title = "a # CHECK: in a string"\n'
            'background = """\n# CHECK: in a multi-line string\n"""\n'
            "source = 'x # CHOOSE: in a literal string'\n"
            'name = "a \\" # CHECK: after an escaped quote"  # CHECKED is another word\n'
            '[response]\n'
            '#CHOOSE: column, event and non_event\n'
            'column = "y"\nevent = "1"\nnon_event = "0"\n\n[[variables]]\ncolumn = "x"\ntype = "count"\n')
    assert draft_markers(text) == ("line 3: CHECK: what one row is", "line 11: CHOOSE: column, event and non_event")
    path = tmp_path / "s.toml"
    path.write_text(text)
    spec = load_spec(path)
    assert spec.draft and spec.markers == draft_markers(text)
    assert not load_spec(None).draft and not spec_from_dict(base()).draft


TITANIC = ROOT / "tests" / "data" / "public" / "titanic.csv"


def test_init_drafts_the_words_each_marked_check(tmp_path):
    """On the Titanic data init drafts every word the report uses -- the event phrase from the response's
    levels, group names from a binary variable's levels, labels in sentence case, a step of 10 for age (0.17 to
    80) -- and marks each CHECK; the draft loads, and is a draft (report refuses it)."""
    from analysis.draft import draft

    text, checks = draft(TITANIC, "survived")
    lines = text.splitlines()

    def line(key_value):
        found = [x for x in lines if x.startswith(key_value)]
        assert len(found) == 1 and "# CHECK:" in found[0], (key_value, found)

    for key_value in ('row = "record"', 'rows = "records"', 'label = "Survived"', 'label = "Sex"',
                      'label = "Age"', 'label = "Passenger class"', 'yes_group = "female records"',
                      'outcome = "\u201csurvived\u201d"', 'verb = "had \u201csurvived\u201d"', 'step = 10',
                      'event_group = "records with \u201csurvived\u201d"', 'title = "What predicts'):
        line(key_value)
    assert 'no_group = "male records"' in lines
    assert "= yes" not in text.replace('event = "yes"', "") and "PassengerClass" not in text
    path = tmp_path / "titanic.toml"
    path.write_text(text)
    spec = load_spec(path)
    assert spec.draft and len(spec.markers) == 16      # 15 words and the [missing] strategy (263 ages missing)
    assert f"CHECK the words: {len(spec.markers)} comments" in checks[-1]
    assert spec.variable("sex").level_label(1) == "female" and spec.variable("age").step == 10


@pytest.mark.parametrize("name, header, noun", [
    ("customers.csv", "id,y,x", "customer"),                  # a plural file name
    ("data.csv", "PassengerId,y,x", "passenger"),             # the ID column's words before "Id"
    ("titanic.csv", "id,y,x", "record"),                      # neither: a neutral noun that still reads
])
def test_init_names_a_row_from_the_id_column_or_the_file_name(tmp_path, name, header, noun):
    from analysis.draft import draft

    data = tmp_path / name
    data.write_text(header + "\n" + "\n".join(f"{i},{'yes' if i % 3 else 'no'},{i % 7}" for i in range(1, 60)))
    text, _ = draft(data, "y")
    assert f'row = "{noun}"' in text and f'rows = "{noun}s"' in text
    assert f'[id]\ncolumn = "{header.split(",")[0]}"' in text


def test_init_names_the_groups_of_a_yes_no_variable_by_its_label():
    from analysis.draft import draft

    text, _ = draft(BIRTHWT, "low")
    assert 'yes_group = "records with smoke"' in text and 'no_group = "records without smoke"' in text
    assert 'label = "Low"' in text and 'outcome = "\u201clow\u201d"' in text


def test_init_reports_missing_values_and_drafts_the_strategy(tmp_path):
    """init counts the missing values of each column it drafts and ends the draft with a [missing] table:
    complete_cases, marked CHECK when the rows read have a missing value, the alternatives named; the
    draft loads with that strategy."""
    from analysis.draft import draft

    text, checks = draft(TITANIC, "survived")
    table = text[text.index("[missing]"):]
    assert "# Missing values in the 1,309 rows read: age 263 (20.1%); none in the other columns." in table
    assert 'strategy = "complete_cases"  # CHECK:' in table and '"refuse"' in table and '"impute"' in table
    assert any("Missing values in the 1,309 rows read: age 263 (20.1%)" in c for c in checks)
    path = tmp_path / "t.toml"
    path.write_text(text)
    assert load_spec(path).missing_strategy == "complete_cases"
    text, checks = draft(BIRTHWT, "low")
    table = text[text.index("[missing]"):]
    assert "# No missing value in the 189 rows read." in table and "CHECK" not in table
    assert not any("Missing values" in c for c in checks)

