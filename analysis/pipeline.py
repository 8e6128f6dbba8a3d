"""The hub: one run of the analysis, from a data file to its results, in the order of the stages.

``run`` reads and validates the file (``analysis.read``: the same verdict from every engine) into a
covariate-pattern table; ``run_patterns`` fits, checks, validates and evaluates the model on that table
(``analysis.model``, ``analysis.evaluate``), collects the metrics, writes the sentences and lists the
figures (``analysis.present``). Every statistic is computed on the patterns and equals the per-row one
(tests/read/test_patterns.py). ``load_or_run`` gives the report a results folder, running first when it
has none.
"""
from __future__ import annotations

from pathlib import Path

from analysis.config import DEFAULT_DATA, RunConfig, resolve_engine
from analysis.evaluate import bootstrap, effects, explore, missing, performance
from analysis.model.firth import firth_fit
from analysis.model.patsy_speed import fast_categoricals
from analysis.model.fit import check_levels_in_training
from analysis.model.imputed import fit_imputed
from analysis.model.selection import SelectionSettings, select_and_fit
from analysis.model.terms import forced_terms, model_terms, resolve_knots
from analysis.present import narrative, plots, slides
from analysis.present.report import render
from analysis.provenance import run_info
from analysis.read import read_patterns
from analysis.read.patterns import Samples
from analysis.errors import ModelError
from analysis.results import Metrics, Results, load, write_outputs
from analysis.threads import Beside, blas_single_thread

__all__ = ["run", "run_patterns", "load_or_run", "render_report", "RunConfig", "write_outputs", "TOP_SHARE"]

TOP_SHARE = 0.2  # the "top" of the conclusions: the highest-scored fifth


def run(config: RunConfig, progress=lambda message: None) -> Results:
    """The whole analysis from the file ``config.data``, with BLAS limited to one thread (the matrices are
    small: threads buy nothing, and spinning OpenBLAS threads made fits 50x slower on a busy machine)."""
    spec = config.load_spec()
    engine = resolve_engine(config.engine, config.data, config.spark_master)
    pattern_data = read_patterns(config.data, spec, seed=config.seed, test_size=config.test_size, engine=engine,
                                 memory_limit=config.memory_limit, progress=progress,
                                 spark_master=config.spark_master)
    return run_patterns(pattern_data, config, progress, spec=spec)


def run_patterns(pattern_data, config: RunConfig, progress=lambda message: None, spec=None) -> Results:
    """The whole analysis from a covariate-pattern table (``analysis.read.PatternData``). The split and the
    exclusions were done by whoever made the table: its ``seed`` and ``test_size`` must equal ``config``'s."""
    for name in ("seed", "test_size"):
        if hasattr(pattern_data, name) and getattr(pattern_data, name) != getattr(config, name):
            raise ValueError(f"the pattern table was made with {name}={getattr(pattern_data, name)!r} but the "
                             f"run asks for {name}={getattr(config, name)!r}")
    spec = spec or config.load_spec()
    with blas_single_thread(), fast_categoricals():
        return _analyse(pattern_data, config, spec, progress)


def _analyse(pattern_data, config: RunConfig, spec, progress) -> Results:
    samples = Samples.from_patterns(pattern_data.patterns, spec.pattern_variables, spec.missing_strategy)
    try:  # baselines, like knots, are learned from the rows the model is fitted on
        terms, baselines = model_terms(spec, samples.train, config.baselines)
    except ValueError as err:
        raise ModelError(str(err)) from None
    terms, knots = resolve_knots(terms, samples.train)
    check_levels_in_training(samples.train, samples.test, terms, trials="trials")
    fit, imputed = _fit(samples, terms, knots, baselines, config, spec, progress)
    tables = {"row_accounting": pattern_data.accounting, **missing.tables(samples, spec), "split": samples.split,
              **explore.tables(samples.all, spec), **fit.tables(), **_imputed_tables(imputed)}
    progress("diagnostics")
    # the specification checks (refits, tests) run in a forked worker while this process measures the model's
    # performance; their tables keep their place in the results
    checks = Beside(effects.specification_checks, fit, spec, enabled=config.workers > 1)
    try:
        tables, after = _measure(tables, fit, samples, spec, config, progress)
    except BaseException:
        checks.close()
        raise
    tables = {**tables, **checks.result(), **after["tables"]}
    assessment, boot, curves, profile = after["assessment"], after["boot"], after["curves"], after["profile"]
    metrics = Metrics.collect(fit=fit, assessment=assessment, boot=boot, pattern_data=pattern_data, samples=samples,
                              engine=getattr(pattern_data, "engine", None), config=config, spec=spec, profile=profile,
                              effect_profiles={var: p for var, (_, p) in curves.items()},
                              missing=missing.facts(samples, pattern_data.accounting, tables.get("missingness"))
                              | _imputed_facts(imputed)).as_dict()
    tables |= narrative.sentence_tables(tables, metrics, spec, config.as_dict())
    figures = plots.figure_specs(samples.all, tables, metrics, assessment.curves, assessment.evaluated, spec,
                                 {var: curve for var, (curve, _) in curves.items()})
    figures |= slides.slide_figure_specs(tables, metrics, spec)
    return Results(tables=tables, metrics=metrics, figures=figures, run=run_info(config, fit, spec.response.name),
                   spec=spec)


def _measure(tables: dict, fit, samples, spec, config, progress) -> tuple[dict, dict]:
    """The bootstrap validation, the performance measures, the leakage check, the profile of the top scores and
    the effect curves of a fit: ``(tables, after)``, the tables so far unchanged and ``after`` holding the new
    tables and the objects the metrics are collected from."""
    new = {}
    boot = None
    if config.bootstrap and fit.method == "ml":
        progress(f"bootstrap validation: {config.bootstrap} resamples of the training rows, the selection "
                 f"repeated in each (seed {config.boot_seed}, {config.workers} workers)")
        validation = bootstrap.validate(fit, B=config.bootstrap, seed=config.boot_seed, workers=config.workers,
                                        progress=progress)
        new |= bootstrap.tables(validation, tables["coefficients"])
        boot = bootstrap.facts(validation, fit.selection)
    assessment = performance.assess(fit, {"train": samples.train, "test": samples.test},
                                    performance.calibration_groups(spec))
    new |= assessment.tables
    new["leakage_check"] = performance.leakage_check(fit, {"train": samples.train, "test": samples.test},
                                                     assessment.evaluated, spec.leak_suspects)
    new[explore.PROFILE_TABLE], profile = explore.top_profile(samples.all, fit.predict(samples.all), spec, TOP_SHARE)
    curves = effects.effect_curves(fit)
    new |= {f"effect_{var}": curve for var, (curve, _) in curves.items()}
    return tables, {"tables": new, "assessment": assessment, "boot": boot, "curves": curves, "profile": profile}


def _fit(samples, terms, knots, baselines, config, spec, progress):
    """The fit of the run: Firth's, or the selection and the final model; under multiple imputation (the
    "impute" strategy with rows missing a value) the terms are selected on the imputed data sets and the
    complete-case fit of those terms is kept beside the pooled model (``analysis.model.imputed``)."""
    if config.firth:
        return firth_fit(samples.train, terms, knots=knots, baselines=baselines, progress=progress), None
    settings = config.selection(forced_terms(spec, terms))
    imputed = None
    if samples.strategy == "impute" and samples.n_incomplete:
        imputed = fit_imputed(samples.with_incomplete("train"), terms, settings, m=spec.imputations, seed=config.seed,
                              binary=[v.name for v in spec.variables if v.kind == "binary"], progress=progress)
        terms, settings = list(imputed.terms), SelectionSettings(direction="none")
    fit = select_and_fit(samples.train, terms, settings, knots=knots, baselines=baselines,
                         outcome=spec.response.outcome, progress=progress)
    return fit, imputed


def _imputed_tables(imputed) -> dict:
    if imputed is None:
        return {}
    return {"coefficients_pooled": imputed.pooled, "imputation_selection": imputed.path}


def _imputed_facts(imputed) -> dict:
    if imputed is None:
        return {}
    from analysis.model.imputed import RULE

    return {"imputation": {"m": imputed.m, "seed": imputed.seed, "rows": imputed.rows,
                           "rows_with_missing": imputed.rows_with_missing, "selection": RULE,
                           "direction": imputed.direction, "asked": imputed.asked,
                           "selected_terms": list(imputed.terms)}}


def load_or_run(directory: str | Path, data: str | None = None, spec: str | None = None, **options):
    """The results in ``directory`` (``analysis.results.load``); when it has none yet (``quarto render
    report.qmd`` on a fresh checkout), the pipeline runs first on ``data`` (default: the embedded simulated
    sample) with the specification ``spec`` (default: the bundled one). Results of another file, specification
    or option than one asked for here (``quarto render report.qmd -P data:FILE`` after a render of the sample)
    are replaced by a new run; what is not asked for is taken as it is."""
    directory = Path(directory)
    if not (directory / "metrics.json").exists() or _other_run(directory, data, spec, options):
        config = RunConfig(data=Path(data) if data else DEFAULT_DATA, out=directory,
                           spec=Path(spec) if spec else None, **options)
        write_outputs(run(config), directory)
    return load(directory)


def _other_run(directory: Path, data, spec, options: dict) -> bool:
    """Whether the results in ``directory`` differ from a run asked for with ``data``, ``spec`` and ``options``
    (each only when given)."""
    import json

    config = json.loads((directory / "run.json").read_text()).get("config", {})

    def same_file(recorded, asked):
        return recorded is not None and Path(recorded).resolve() == Path(asked).resolve()
    return bool((data and not same_file(config.get("data"), data))
                or (spec and not same_file(config.get("spec"), spec))
                or any(config.get(key) != value for key, value in options.items()))


def render_report(results_dir: str | Path, engine: str = "auto", formats=("html", "pdf"),
                  progress=lambda message: None) -> dict[str, Path]:
    """Render the report of a results folder in ``formats`` (html, pdf; pptx for the slides) and write its
    workbook (``analysis.present.report.render``)."""
    results_dir = Path(results_dir).resolve()
    return render(load(results_dir), engine=engine, formats=formats, progress=progress)
