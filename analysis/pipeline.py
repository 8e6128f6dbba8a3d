"""One run of the analysis: data -> split -> patterns -> selection -> model -> diagnostics -> outputs.

``run`` reads and cleans the file in memory, splits the rows by ID (``analysis.split``) and reduces
them to a covariate-pattern table (``analysis.patterns.from_rows``); ``run_patterns`` runs the whole
analysis on such a table, whoever made it (the in-memory path, or ``analysis.aggregate`` streaming a
file of any size through DuckDB). Every statistic is computed on the patterns and equals the per-row
one (tested in tests/test_patterns.py against a per-row computation).

Both return a ``Results`` object (tables as tidy DataFrames, metrics as a dict, figures);
``write_outputs`` writes them under the output directory with fixed file names:
``tables/*.csv``, ``figures/*.png`` and ``*.svg``, ``metrics.json`` and ``run.json``. The report
reads those files back through ``analysis.results``; it computes nothing itself.
"""
from __future__ import annotations

import json
import platform
import re
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from . import evaluation, explore, model, narrative, patterns, plots, schema, split
from .data import load_clean
from .stepwise import stepwise
from .vif import gvif_from_results

ENGINES = ("auto", "memory", "duckdb", "spark")
#: "auto" reads CSV files up to this size in memory, larger ones (and every Parquet file) with DuckDB.
#: Measured on simulated files: 2M rows (89 MB of CSV) took 13.4 s and 1.27 GB in memory, 10.6 s and
#: 0.64 GB with DuckDB, whose memory stays bounded whatever the size; the default 25,000-row sample
#: takes the same time either way, and the in-memory reader is the one small files always had.
AUTO_MEMORY_MAX_BYTES = 64 * 2**20
TOP_SHARE = 0.2  # the "top customers" of the conclusions: the highest-scored fifth
#: up to this many training rows the final and full models are refitted with ``smf.logit`` on the rows
#: (the pattern table expanded) for the statsmodels summary in the appendix: statsmodels' own Logit
#: summary, not a re-layout. Above it the summary is ``model.summary_text`` of the pattern fit (the same
#: numbers, tested; a Logit on hundreds of millions of rows would need tens of GB).
LOGIT_SUMMARY_MAX_ROWS = 250_000
PACKAGES = ("analysis", "numpy", "pandas", "scipy", "statsmodels", "patsy", "pandera", "matplotlib", "duckdb",
            "pyarrow")


@dataclass(frozen=True)
class RunConfig:
    data: Path
    out: Path = Path("_output")
    test_size: float = 0.3
    seed: int = 100
    max_age: int | None = None
    select: str = "both"
    criterion: str = "aic"
    slentry: float = 0.05
    slstay: float = 0.05
    baselines: dict = field(default_factory=dict)
    #: how the file is read: "memory" (pandas, analysis.data), "duckdb" or "spark" (streamed SQL
    #: aggregation, analysis.aggregate) or "auto" (see :func:`resolve_engine`); results are identical
    engine: str = "auto"
    #: memory limit of the DuckDB / Spark engine
    memory_limit: str = "2GB"

    def as_dict(self) -> dict:
        """The run parameters (the output folder is not one: it does not change any result)."""
        d = asdict(self)
        d["data"] = str(self.data)
        del d["out"]
        return d


@dataclass
class Results:
    tables: dict[str, pd.DataFrame]
    metrics: dict
    figures: dict  # name -> (plot function, args, kwargs), drawn by write_outputs
    run: dict


def software_versions() -> dict:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


@dataclass(frozen=True)
class PatternInput:
    """What ``run_patterns`` needs: the shape of ``analysis.aggregate.PatternData``.

    ``patterns``: DataFrame with columns ``analysis.patterns.COLUMNS`` (sample, the eight predictors,
    trials, events); ``accounting``: the row-accounting table (step, rows_excluded, rows_remaining);
    ``source``: provenance of the file (file, bytes, sha256, simulated, ...); ``notes``: notes for the
    report (e.g. extra columns ignored).
    """

    patterns: pd.DataFrame
    accounting: pd.DataFrame
    source: dict
    notes: tuple[str, ...] = ()


def resolve_engine(engine: str, path) -> str:
    """The engine "auto" stands for: "memory" for a CSV file up to ``AUTO_MEMORY_MAX_BYTES``,
    "duckdb" for larger files and for Parquet (which the in-memory reader does not read). A path
    that cannot be inspected goes to "memory", whose reader reports the problem."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
    if engine != "auto":
        return engine
    path = Path(path)
    try:
        with path.open("rb") as handle:
            parquet = handle.read(4) == b"PAR1"
        size = path.stat().st_size
    except OSError:
        return "memory"
    return "duckdb" if parquet or size > AUTO_MEMORY_MAX_BYTES else "memory"


def run(config: RunConfig, progress=lambda message: None) -> Results:
    """The whole analysis from the file ``config.data``, with BLAS limited to one thread.

    With ``config.engine`` "memory", reads, validates and cleans the rows in memory
    (``analysis.data.load_clean``), splits them by ID and reduces them to covariate patterns
    (``analysis.patterns.from_rows``); with "duckdb" or "spark", ``analysis.aggregate`` streams the
    file through that engine to the same pattern table (tested equal). Then runs
    :func:`run_patterns`. The matrices are small (some thousand patterns by twenty columns), so
    threads buy nothing and, on a busy machine, OpenBLAS threads spinning against other processes
    made fits 50x slower; a fixed thread count also makes results bit-identical between machines
    with different core counts.
    """
    engine = resolve_engine(config.engine, config.data)
    if engine != "memory":
        from .aggregate import aggregate

        pattern_data = aggregate(config.data, seed=config.seed, test_size=config.test_size,
                                 max_age=config.max_age, engine=engine, memory_limit=config.memory_limit,
                                 progress=progress)
        return run_patterns(pattern_data, config, progress, engine=engine)
    with threadpool_limits(limits=1, user_api="blas"):
        progress(f"reading {config.data}")
        clean = load_clean(config.data, max_age=config.max_age)
        is_test = split.in_test_sample(clean.ids, config.seed, config.test_size)
        table = patterns.from_rows(clean.data, is_test)
        notes = (*clean.notes, *filter(None, [patterns.compression_note(len(table), int(table[patterns.TRIALS].sum()))]))
        data = PatternInput(patterns=table, accounting=clean.accounting, source=clean.source, notes=notes)
        return _run_patterns(data, config, progress, engine=engine)


def run_patterns(pattern_data, config: RunConfig, progress=lambda message: None, engine: str | None = None) -> Results:
    """The whole analysis from a covariate-pattern table, with BLAS limited to one thread (see :func:`run`).

    ``pattern_data`` has attributes ``patterns``, ``accounting``, ``source`` and ``notes`` (a
    :class:`PatternInput` or an ``analysis.aggregate.PatternData``). The split, the exclusions and the
    reading were done by whoever made the table: if ``pattern_data`` records its ``seed``,
    ``test_size`` or ``max_age`` (as ``PatternData`` does), they must equal ``config``'s, since the
    outputs report ``config``'s. Gives the same outputs as :func:`run` on the same file and config.
    """
    for name in ("seed", "test_size", "max_age"):
        if hasattr(pattern_data, name) and getattr(pattern_data, name) != getattr(config, name):
            raise ValueError(f"the pattern table was made with {name}={getattr(pattern_data, name)!r} but the "
                             f"run asks for {name}={getattr(config, name)!r}")
    with threadpool_limits(limits=1, user_api="blas"):
        return _run_patterns(pattern_data, config, progress, engine=engine or getattr(pattern_data, "engine", None))


def _run_patterns(pattern_data, config: RunConfig, progress, engine: str | None = None) -> Results:
    table = patterns.validate(pattern_data.patterns)
    accounting = pattern_data.accounting
    by_sample = {name: table[table[patterns.SAMPLE] == name].drop(columns=patterns.SAMPLE).reset_index(drop=True)
                 for name in patterns.SAMPLES}
    train, test = by_sample["train"], by_sample["test"]
    events, trials = patterns.EVENTS, patterns.TRIALS
    n_train, e_train = int(train[trials].sum()), int(train[events].sum())
    if e_train == 0 or e_train == n_train:
        raise model.ModelError("The training sample has only one response class; lower --test-size.")
    split_table = pd.DataFrame({
        "sample": ["train", "test"],
        "rows": np.array([n_train, int(test[trials].sum())], dtype="int64"),
        "events": np.array([e_train, int(test[events].sum())], dtype="int64"),
    })
    split_table["event_rate"] = split_table["events"] / split_table["rows"].where(split_table["rows"] > 0)
    # all patterns, predictors in the column order of the cleaned rows, for the exploratory tables
    eda = table[[*patterns.ROW_ORDER, trials, events]]

    terms = model.model_terms(config.baselines)
    model.check_levels_in_training(train, test, terms, trials=trials)
    progress(f"fitting the full model on {n_train:,} training rows ({len(train):,} covariate patterns)")
    full = model.fit_logit(train, events, terms, trials=trials)

    progress(f"stepwise selection: direction={config.select}, criterion={config.criterion}")
    selection = stepwise(train, events, terms, direction=config.select, criterion=config.criterion,
                         slentry=config.slentry, slstay=config.slstay, trials=trials)
    final = model.fit_logit(train, events, selection.terms, trials=trials) if selection.terms else None
    if final is None:
        raise model.ModelError("Stepwise selection kept no term: no predictor is related to coupon use at the "
                               "chosen criterion. Use --select none to see the full model.")

    progress("diagnostics")
    tables = {
        "row_accounting": accounting,
        "split": split_table,
        "class_balance": explore.class_balance(eda),
        "means_by_flag": explore.means_by_flag(eda),
        "rate_by_returned": explore.rate_by(eda, "returned_yes"),
        "rate_by_marriage": explore.rate_by(eda, "marriage"),
        "rate_by_job": explore.rate_by(eda, "job"),
        "rate_by_loan": explore.rate_by(eda, "loan_yes"),
        "rate_by_default": explore.rate_by(eda, "default_yes"),
        "rate_by_age_group": explore.age_groups(eda),
        "age_tail": explore.age_tail(eda),
        "correlations": explore.correlations(eda),
        "correlation_with_flag": explore.correlation_with_flag(eda),
        "coefficients": model.tidy(final),
        "coefficients_full": model.tidy(full),
        "type3_tests": model.type3_tests(final),
        "marginal_effects": model.marginal_effects(final),
        "vif": gvif_from_results(final) if len(selection.terms) >= 2 else _empty_vif(),
        "stepwise": selection.path,
    }

    # each sample as (p, events, trials) per pattern: the evaluation functions' pattern form
    samples = {name: (model.predict_by_pattern(final, frame), frame[events].to_numpy(), frame[trials].to_numpy())
               for name, frame in (("train", train), ("test", test)) if len(frame)}
    metrics = {"model": {**model.glance(final), "fitted_on": "train"},
               "full_model": {**model.glance(full), "fitted_on": "train"}}
    curves = {}
    for name, s in samples.items():
        metrics[name] = evaluation.evaluate(*s)
        curves[name] = {"roc": evaluation.roc_curve(*s), "ks": evaluation.ks_curve(*s)}
    evaluated = "test" if "test" in samples else "train"
    s = samples[evaluated]
    # the KS-optimal cut-off is chosen on the training rows and only applied to the test rows
    ks_threshold = metrics["train"]["ks_threshold"]
    tables["classification"] = pd.concat(
        [evaluation.classification_table(*s2, thresholds=(0.5, ks_threshold)).assign(sample=n)
         for n, s2 in samples.items()], ignore_index=True)
    tables["gains"] = evaluation.gains_table(*s).assign(sample=evaluated)
    hl_stats, hl_table = evaluation.hosmer_lemeshow(*s)
    tables["hosmer_lemeshow"] = hl_table.assign(sample=evaluated)
    tables["calibration"] = evaluation.calibration_table(*s).assign(sample=evaluated)
    tables["roc_curve"] = pd.concat([c["roc"].assign(sample=n) for n, c in curves.items()], ignore_index=True)
    tables["ks_curve"] = pd.concat([c["ks"].assign(sample=n) for n, c in curves.items()], ignore_index=True)

    metrics["evaluation_sample"] = evaluated
    metrics["baselines"] = model.baseline_levels(train, terms)
    metrics["selected_terms"] = list(selection.terms)
    # the model as a formula on the rows it stands for (the fit itself is the pattern form of it)
    metrics["formula"] = model.build_formula(schema.RESPONSE, selection.terms)
    metrics["data"] = {**pattern_data.source, "rows_read": int(accounting["rows_remaining"].iloc[0]),
                       "rows_used": int(table[trials].sum()), "n_patterns": int(len(table)),
                       "notes": list(pattern_data.notes), "engine": engine or "memory"}
    metrics["split"] = {"test_size": config.test_size, "seed": config.seed, "stratified": False,
                        "rule": "test if split_hash(ID, seed) < test_size (analysis.split)"}

    scores = model.predict_by_pattern(final, eda)
    profile = explore.profile_by_score(eda, scores, top_share=TOP_SHARE)
    metrics["profile"] = {**profile.attrs, "top_share": TOP_SHARE, "scored": "all rows used"}
    profile.attrs = {}
    tables["profile_top_customers"] = profile
    tables["eda_sentences"] = explore.headline_sentences(eda)
    tables["odds_ratio_sentences"] = narrative.odds_ratio_sentences(tables["coefficients"], metrics["baselines"])
    tables["conclusions"] = narrative.conclusions(
        tables["coefficients"], profile, metrics["profile"], metrics, tables["gains"],
        tables["classification"])

    figures = _figure_specs(eda, tables, metrics, curves, evaluated)
    summary_of = _summary_fits(train, n_train, {"final": selection.terms, "full": terms}, {"final": final, "full": full})
    run_info = {"config": config.as_dict(), "software": software_versions(),
                "statsmodels_summary": undated(model.summary_text(summary_of["final"], yname=schema.RESPONSE)),
                "full_model_summary": undated(model.summary_text(summary_of["full"], yname=schema.RESPONSE)),
                "summary_fitted_on": "rows" if summary_of["final"] is not final else "covariate patterns"}
    return Results(tables=tables, metrics=metrics, figures=figures, run=run_info)


def _summary_fits(train: pd.DataFrame, n_train: int, terms: dict, pattern_fits: dict) -> dict:
    """The fits whose statsmodels summary the report shows: ``smf.logit`` on the expanded training rows
    up to ``LOGIT_SUMMARY_MAX_ROWS`` rows (its estimates equal the pattern fit's, tested to 1e-8), else the
    pattern fits themselves."""
    if n_train > LOGIT_SUMMARY_MAX_ROWS:
        return pattern_fits
    rows = patterns.expand(train, response=schema.RESPONSE)
    return {name: model.fit_logit(rows, schema.RESPONSE, list(t)) for name, t in terms.items()}


def undated(summary: str) -> str:
    """statsmodels' summary without its run date and time, so the same input gives the same report."""
    summary = re.sub(r"(Date:\s+)\w{3}, \d{2} \w{3} \d{4}", lambda m: m.group(1) + "(omitted)".ljust(16), summary)
    return re.sub(r"(Time:\s+)\d{2}:\d{2}:\d{2}", lambda m: m.group(1) + "(omitted)", summary)


def _empty_vif() -> pd.DataFrame:
    return pd.DataFrame(columns=["term", "df", "gvif", "gvif_adj"])


def _figure_specs(data, tables, metrics, curves, evaluated) -> dict:
    """name -> (plot function, args, kwargs); drawn and saved by ``plots.draw_and_save``. ``data`` is the
    pattern table of all rows used (the exploratory figures accept it and equal those of the rows)."""
    aucs = {n: metrics[n]["auc"] for n in curves}
    m = metrics[evaluated]
    return {
        "rate_by_returned": (plots.plot_rate_by, (data, "returned_yes"), {}),
        "rate_by_marriage": (plots.plot_rate_by, (data, "marriage"), {}),
        "rate_by_job": (plots.plot_rate_by, (data, "job"), {}),
        "rate_by_loan": (plots.plot_rate_by, (data, "loan_yes"), {}),
        "rate_by_default": (plots.plot_rate_by, (data, "default_yes"), {}),
        "age_distribution": (plots.plot_age_distribution, (data,), {}),
        "rate_by_age_group": (plots.plot_rate_by_age_group, (data,), {}),
        "correlation_heatmap": (plots.plot_correlation_heatmap, (tables["correlations"],), {}),
        "odds_ratios": (plots.plot_odds_ratios, (tables["coefficients"],), {}),
        "roc": (plots.plot_roc, ({n: c["roc"] for n, c in curves.items()}, aucs), {}),
        "ks": (plots.plot_ks, (curves[evaluated]["ks"], m["ks"], m["ks_threshold"]),
               {"title": f"Kolmogorov\u2013Smirnov separation ({evaluated} sample)"}),
        "calibration": (plots.plot_calibration, (tables["calibration"],), {}),
        "gains": (plots.plot_gains, (tables["gains"],), {}),
        "lift": (plots.plot_lift, (tables["gains"],), {}),
    }


def write_outputs(results: Results, out: Path, progress=lambda message: None) -> None:
    out = Path(out)
    (out / "tables").mkdir(parents=True, exist_ok=True)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    for name, table in results.tables.items():
        table.to_csv(out / "tables" / f"{name}.csv", index=False, lineterminator="\n")
    progress(f"drawing {len(results.figures)} figures")
    plots.draw_and_save(results.figures, out / "figures", simulated=bool(results.metrics["data"].get("simulated")))
    (out / "metrics.json").write_text(json.dumps(_jsonable(results.metrics), indent=1, allow_nan=False) + "\n")
    (out / "run.json").write_text(json.dumps(_jsonable(results.run), indent=1) + "\n")
    marker = out / "DATA_ARE_SIMULATED.txt"
    if results.metrics["data"].get("simulated"):
        marker.write_text("The results in this folder were computed from SIMULATED data "
                          f"({results.metrics['data']['file']}), not from real customers.\n")
    elif marker.exists():
        marker.unlink()
    progress(f"wrote {len(results.tables)} tables and {len(results.figures)} figures to {out}")


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value
