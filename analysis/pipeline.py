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
import math
import platform
import re
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
from analysis.evaluate import bootstrap
from analysis.evaluate import calibration
from analysis.evaluate import effects
from analysis.evaluate import discrimination as evaluation
from analysis.evaluate import explore
from analysis.model import fit as model
from analysis.present import narrative
from analysis.read import patterns
from analysis.present import plots
from analysis.present import slides
from analysis.errors import OutputError
from analysis.model.firth import fit_firth
from analysis.read import read_patterns
from analysis.spec import load_spec, with_exclusions
from analysis.model.selection import stepwise
from analysis.model.terms import describe_coefficient, describe_term, forced_terms, model_terms, resolve_knots
from analysis.threads import blas_single_thread
from analysis.model.vif import gvif_from_results

ENGINES = ("auto", "memory", "duckdb", "spark")
#: "auto" reads CSV files up to this size in memory, larger ones (and every Parquet file) with DuckDB,
#: streamed. Measured on simulated files: 2M rows (89 MB of CSV) took 13.4 s and 1.27 GB in memory,
#: 10.6 s and 0.64 GB streamed, whose memory stays bounded whatever the size.
AUTO_MEMORY_MAX_BYTES = 64 * 2**20
TOP_SHARE = 0.2  # the "top" of the conclusions: the highest-scored fifth
#: up to this many training rows the final and full models are refitted with ``smf.logit`` on the rows
#: (the pattern table expanded) for the statsmodels summary in the appendix: statsmodels' own Logit
#: summary, not a re-layout. Above it the summary is ``model.summary_text`` of the pattern fit (the same
#: numbers, tested; a Logit on hundreds of millions of rows would need tens of GB).
LOGIT_SUMMARY_MAX_ROWS = 250_000
PACKAGES = ("analysis", "numpy", "pandas", "scipy", "statsmodels", "patsy", "matplotlib", "duckdb", "pyarrow")


@dataclass(frozen=True)
class RunConfig:
    data: Path
    out: Path = Path("_output")
    #: the data specification (None: the bundled default, analysis/spec/tmall.toml)
    spec: Path | None = None
    test_size: float = 0.3
    seed: int = 100
    #: exclusion rules added to the specification's, as expressions ("age > 60")
    exclude: tuple = ()
    select: str = "both"
    criterion: str = "aic"
    slentry: float = 0.05
    slstay: float = 0.05
    baselines: dict = field(default_factory=dict)
    #: how the file is read: "memory" (DuckDB over the rows held in memory), "duckdb" (streamed through
    #: a temporary Parquet file), "spark" (Spark SQL) or "auto" (see :func:`resolve_engine`); results
    #: are identical
    engine: str = "auto"
    #: memory limit of the DuckDB / Spark engine
    memory_limit: str = "2GB"
    #: fit every candidate term by Firth's penalised likelihood (no selection): for separated or sparse data
    firth: bool = False
    #: resamples of the optimism bootstrap of selection + fit (analysis.bootstrap; 0: not run)
    bootstrap: int = 200
    #: seed of the bootstrap (None: the split's seed)
    bootstrap_seed: int | None = None
    #: processes for the bootstrap (results do not depend on it)
    workers: int = 2

    def as_dict(self) -> dict:
        """The run parameters (the output folder is not one: it does not change any result)."""
        d = asdict(self)
        d["data"] = str(self.data)
        d["spec"] = str(self.spec) if self.spec else None
        d["exclude"] = list(self.exclude)
        del d["out"]
        return d


@dataclass
class Results:
    tables: dict[str, pd.DataFrame]
    metrics: dict
    figures: dict  # name -> (plot function, args, kwargs), drawn by write_outputs
    run: dict
    spec: object = None


def software_versions() -> dict:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def code_revision() -> str:
    """The git commit of the package's checkout (with "-dirty" when it has uncommitted changes), or
    "unknown" outside a git checkout: the code version the report states."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                              text=True, timeout=10)
        if head.returncode:
            return "unknown"
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return head.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def resolve_engine(engine: str, path) -> str:
    """The engine "auto" stands for: "memory" for a CSV file up to ``AUTO_MEMORY_MAX_BYTES``,
    "duckdb" for larger files and for Parquet. A path that is not a regular file goes to "memory",
    whose first pass reports the problem (the same as every engine's)."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
    if engine != "auto":
        return engine
    path = Path(path)
    try:
        if not path.is_file():
            return "memory"
        with path.open("rb") as handle:
            parquet = handle.read(4) == b"PAR1"
        size = path.stat().st_size
    except OSError:
        return "memory"
    return "duckdb" if parquet or size > AUTO_MEMORY_MAX_BYTES else "memory"


def run_spec(config: RunConfig):
    """The specification of a run: the file ``config.spec`` (or the default) with ``config.exclude``
    added to its exclusion rules."""
    spec = load_spec(config.spec)
    if config.exclude:
        spec = with_exclusions(spec, config.exclude)
    return spec


def run(config: RunConfig, progress=lambda message: None) -> Results:
    """The whole analysis from the file ``config.data``, with BLAS limited to one thread.

    ``analysis.read.read_patterns`` validates the file by the specification's rules (the same verdict
    from every engine), splits the rows and reduces them to covariate patterns; :func:`run_patterns`
    does the rest. The matrices are small (some thousand patterns by tens of columns), so threads buy
    nothing and, on a busy machine, OpenBLAS threads spinning against other processes made fits 50x
    slower; a fixed thread count also makes results bit-identical between machines.
    """
    spec = run_spec(config)
    engine = resolve_engine(config.engine, config.data)
    pattern_data = read_patterns(config.data, spec, seed=config.seed, test_size=config.test_size, engine=engine,
                                 memory_limit=config.memory_limit, progress=progress)
    return run_patterns(pattern_data, config, progress, spec=spec)


def run_patterns(pattern_data, config: RunConfig, progress=lambda message: None, spec=None) -> Results:
    """The whole analysis from a covariate-pattern table (``analysis.read.PatternData``), with BLAS
    limited to one thread (see :func:`run`). The split and the exclusions were done by whoever made the
    table: its ``seed`` and ``test_size`` must equal ``config``'s, since the outputs report ``config``'s."""
    for name in ("seed", "test_size"):
        if hasattr(pattern_data, name) and getattr(pattern_data, name) != getattr(config, name):
            raise ValueError(f"the pattern table was made with {name}={getattr(pattern_data, name)!r} but the "
                             f"run asks for {name}={getattr(config, name)!r}")
    spec = spec or run_spec(config)
    with blas_single_thread():
        return _run_patterns(pattern_data, config, progress, spec, engine=getattr(pattern_data, "engine", None))


def exploratory_tables(eda: pd.DataFrame, spec) -> dict[str, pd.DataFrame]:
    """The exploratory tables of a pattern table of all rows used, named by the specification:
    ``rate_by_<column>`` for each categorical and binary variable, ``rate_by_<name>_group`` and
    ``<name>_tail`` for a numeric variable with ``bins`` / ``tail_above``."""
    response = spec.response.name
    out = {"class_balance": explore.class_balance(eda, response),
           "means_by_flag": explore.means_by_flag(eda, response)}
    for v in spec.variables:
        if v.kind in ("categorical", "binary"):
            out[f"rate_by_{table_key(v)}"] = explore.rate_by(eda, v.name, response)
        elif v.bins:
            out[f"rate_by_{v.name}_group"] = explore.age_groups(eda, edges=(*v.bins, math.inf), column=v.name,
                                                               response=response)
            if v.tail_above is not None:
                out[f"{v.name}_tail"] = explore.age_tail(eda, cutoff=v.tail_above, column=v.name, response=response)
    out["correlations"] = explore.correlations(eda, response)
    out["correlation_with_flag"] = explore.correlation_with_flag(eda, response)
    return out


FIRTH_NOTE = ("not computed for Firth's penalised fit: it rests on maximum-likelihood refits, which do not exist "
              "under separation")


def _firth_tables(fit, knots) -> dict[str, pd.DataFrame]:
    """The model tables of a Firth fit: coefficients with Wald and profile penalised-likelihood limits; the
    tables that need maximum-likelihood refits are empty (the report says why)."""
    coefs = model.tidy(fit)
    prof = fit.profile_conf_int()
    coefs["profile_conf_low"] = prof[0].to_numpy()
    coefs["profile_conf_high"] = prof[1].to_numpy()
    coefs["or_profile_low"] = np.exp(coefs["profile_conf_low"])
    coefs["or_profile_high"] = np.exp(coefs["profile_conf_high"])
    coefs["profile_p_value"] = fit.profile_pvalues().to_numpy()
    def empty(*columns):
        return pd.DataFrame(columns=list(columns))

    path = pd.DataFrame([{"step": 0, "action": "start", "term": None, "df": pd.NA, "criterion": np.nan,
                          "statistic": np.nan, "p_value": np.nan}])
    return {"coefficients": coefs, "coefficients_full": coefs, "stepwise": path, "spline_knots": knots,
            "type3_tests": empty("term", "df", "lr_chi2", "p_value", "aic_without", "note"),
            "marginal_effects": empty(*model.MARGEFF_COLUMNS), "vif": _empty_vif(),
            "linearity_tests": empty(*effects.LINEARITY_COLUMNS),
            "spline_effects": empty("variable", "label", "low", "high", "estimate", "std_error", "odds_ratio",
                                    "or_conf_low", "or_conf_high"),
            "model_comparison": empty("model", "terms", "parameters", "llf", "aic", "bic")}


def _glance_firth(fit, events: int) -> dict:
    """glance of a Firth fit: rows, events, the ordinary (unpenalised) log-likelihood of the rows at the
    penalised estimate and the penalised one, the null log-likelihood in closed form; no AIC, BIC, LR test or
    pseudo R-squared, which belong to maximum-likelihood fits."""
    n = int(round(float(fit.nobs)))
    return {"n_obs": n, "events": int(events), "llf": fit.llf_unpenalized, "penalized_llf": fit.llf,
            "llnull": model.null_loglik(events, n), "aic": None, "bic": None, "lr_chi2": None,
            "lr_df": len(fit.params) - 1, "lr_p": None, "pseudo_r2": None, "converged": bool(fit.converged),
            "method": "firth"}


def specification_checks(train, terms, selected, full, final, spec) -> dict[str, pd.DataFrame]:
    """What the model assumes, checked on the training patterns: linearity of each numeric variable of the
    final model (``effects.linearity_tests``), the inter-quartile odds ratios of spline terms, and the fit of
    the model as specified against the same model with every spline entered linearly (AIC, BIC)."""
    rows = []
    for name, fit, kept in (("full model, as specified", full, terms), ("final model, as specified", final, selected)):
        linear_terms = effects.linearize(kept)
        linear = fit if linear_terms == list(kept) else model.fit_logit(train, patterns.EVENTS, linear_terms,
                                                                          trials=patterns.TRIALS)
        for label, f, t in ((name, fit, kept), (name.replace("as specified", "every variable linear"), linear,
                                                 linear_terms)):
            g = model.glance(f)
            rows.append({"model": label, "terms": len(t), "parameters": g["lr_df"] + 1, "llf": g["llf"],
                         "aic": g["aic"], "bic": g["bic"]})
    comparison = pd.DataFrame(rows).drop_duplicates(subset=["model"]).reset_index(drop=True)
    return {
        "linearity_tests": effects.linearity_tests(final, train, patterns.EVENTS, list(selected),
                                                   trials=patterns.TRIALS, spec=spec),
        "spline_effects": effects.spline_effects(final, train, list(selected), spec),
        "model_comparison": comparison,
    }


def table_key(variable) -> str:
    """The name of a variable's exploratory table and figure: its file column (``returned``), or its
    name for a derived variable."""
    return variable.column or variable.name


def _run_patterns(pattern_data, config: RunConfig, progress, spec, engine: str | None = None) -> Results:
    variables = list(spec.pattern_variables)
    table = patterns.validate(pattern_data.patterns, variables)
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
    eda = table[[*variables, trials, events]]

    try:
        terms, baselines = model_terms(spec, table, config.baselines)
    except ValueError as err:
        raise model.ModelError(str(err)) from None
    terms, knots = resolve_knots(terms, train)
    model.check_levels_in_training(train, test, terms, trials=trials)
    tables = {"row_accounting": accounting, "split": split_table, **exploratory_tables(eda, spec)}
    if config.firth:
        progress(f"Firth's penalised logit on {n_train:,} training rows ({len(train):,} covariate patterns)")
        final = full = fit_firth(train, events, terms, trials=trials)
        selected = list(terms)
        tables.update(_firth_tables(final, knots))
        metrics = {"model": {**_glance_firth(final, e_train), "fitted_on": "train"},
                   "full_model": {**_glance_firth(final, e_train), "fitted_on": "train"}, "method": "firth"}

        def predict(frame):
            return np.asarray(final.predict(frame.drop(columns=[events, trials])), dtype=float)
    else:
        progress(f"fitting the full model on {n_train:,} training rows ({len(train):,} covariate patterns)")
        full = model.fit_logit(train, events, terms, trials=trials)
        progress(f"stepwise selection: direction={config.select}, criterion={config.criterion}")
        selection = stepwise(train, events, terms, direction=config.select, criterion=config.criterion,
                             slentry=config.slentry, slstay=config.slstay, trials=trials,
                             force=forced_terms(spec, terms))
        if not selection.terms:
            raise model.ModelError(f"Stepwise selection kept no term: no predictor is related to "
                                   f"{spec.response.outcome} at the chosen criterion. Use --select none to see the "
                                   "full model.")
        selected = list(selection.terms)
        final = model.fit_logit(train, events, selected, trials=trials)
        progress("diagnostics")
        tables.update(specification_checks(train, terms, selected, full, final, spec))
        tables.update({
            "coefficients": model.tidy(final),
            "coefficients_full": model.tidy(full),
            "type3_tests": model.type3_tests(final),
            "marginal_effects": model.marginal_effects(final),
            "vif": gvif_from_results(final) if len(selected) >= 2 else _empty_vif(),
            "stepwise": selection.path,
            "spline_knots": knots,
        })
        metrics = {"model": {**model.glance(final), "fitted_on": "train"},
                   "full_model": {**model.glance(full), "fitted_on": "train"}, "method": "ml"}
        if config.bootstrap:
            seed = config.seed if config.bootstrap_seed is None else config.bootstrap_seed
            progress(f"bootstrap validation: {config.bootstrap} resamples of the training rows, the selection "
                     f"repeated in each (seed {seed}, {config.workers} workers)")
            settings = ({"direction": "none"} if config.select == "none" else
                        {"direction": config.select, "criterion": config.criterion, "slentry": config.slentry,
                         "slstay": config.slstay, "force": forced_terms(spec, terms)})
            boot = bootstrap.validate_selection(train, terms, response=events, trials=trials, selection=settings,
                                                B=config.bootstrap, seed=seed, workers=config.workers,
                                                progress=progress)
            if sorted(boot.selected_terms) != sorted(selected):
                raise AssertionError("the bootstrap's selection on the training data differs from stepwise's")
            tables.update(bootstrap_tables(boot, tables["coefficients"]))
            # (no wall time here: metrics.json is byte-reproducible; the time is a progress line)
            metrics["bootstrap"] = {"B": boot.B, "seed": boot.seed, "failed": boot.failed,
                                    "n_patterns": boot.n_patterns,
                                    "settings": {k: v for k, v in settings.items() if k != "force"},
                                    "forced": list(settings.get("force", ()))}

        def predict(frame):
            return model.predict_by_pattern(final, frame)

    # each sample as (p, events, trials) per pattern: the evaluation functions' pattern form
    samples = {name: (predict(frame), frame[events].to_numpy(), frame[trials].to_numpy())
               for name, frame in (("train", train), ("test", test)) if len(frame)}
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
    tables["calibration_curve"] = calibration.calibration_curve(*s)
    for name, s2 in samples.items():
        metrics[name]["calibration"] = calibration.calibration_fit(*s2)
    evaluated_frame = test if evaluated == "test" else train
    groups = {v.name: (list((*v.bins, math.inf)) if v.numeric and v.bins else None) for v in spec.variables
              if v.kind in ("categorical", "binary") or (v.numeric and v.bins)}
    tables["observed_vs_predicted"] = calibration.observed_vs_predicted(evaluated_frame, s[0], by=groups)
    tables["roc_curve"] = pd.concat([c["roc"].assign(sample=n) for n, c in curves.items()], ignore_index=True)
    tables["ks_curve"] = pd.concat([c["ks"].assign(sample=n) for n, c in curves.items()], ignore_index=True)

    metrics["evaluation_sample"] = evaluated
    metrics["baselines"] = model.baseline_levels(train, terms)
    metrics["terms"] = list(terms)
    metrics["selected_terms"] = selected
    # the model as a formula on the rows it stands for (the fit itself is the pattern form of it)
    metrics["formula"] = model.build_formula(spec.response.name, selected)
    metrics["data"] = {**pattern_data.source, "rows_read": int(accounting["rows_remaining"].iloc[0]),
                       "rows_used": int(table[trials].sum()), "n_patterns": int(len(table)),
                       "notes": list(pattern_data.notes), "engine": engine or "memory"}
    key = f"split_hash({spec.id.column}, seed)" if spec.id else "split_hash(row number, seed)"
    metrics["split"] = {"test_size": config.test_size, "seed": config.seed, "stratified": False,
                        "rule": f"test if {key} < test_size (analysis.split)"}
    metrics["spec"] = {"name": spec.name, "file": spec.path.name}

    scores = predict(eda)
    profile = explore.profile_by_score(eda, scores, top_share=TOP_SHARE, response=spec.response.name, spec=spec)
    metrics["profile"] = {**profile.attrs, "top_share": TOP_SHARE, "scored": "all rows used"}
    profile.attrs = {}
    tables["profile_top_customers"] = profile
    tables["eda_sentences"] = explore.headline_sentences(tables, spec)
    tables["odds_ratio_sentences"] = narrative.odds_ratio_sentences(tables["coefficients"], metrics["baselines"], spec)
    tables["conclusions"] = narrative.conclusions(
        tables["coefficients"], profile, metrics["profile"], metrics, tables["gains"],
        tables["classification"], spec)

    tables["specification_sentences"] = narrative.specification_sentences(tables, spec)
    tables["validation_sentences"] = narrative.validation_sentences(metrics, tables, spec)
    tables["calibration_sentences"] = narrative.calibration_sentences(metrics, tables, spec)
    tables["limitations"] = narrative.limitations(metrics, tables, spec, config.as_dict())
    effect_curves = ({} if config.firth else
                     {var: effects.effect_curve(final, train, var) for var in tables["spline_effects"]["variable"]})
    metrics["effect_profiles"] = {var: c.attrs["profile"] for var, c in effect_curves.items()}
    for var, c in effect_curves.items():
        c.attrs = {}
        tables[f"effect_{var}"] = c
    figures = _figure_specs(eda, tables, metrics, curves, evaluated, spec, effect_curves)
    figures.update(slides.slide_figure_specs(tables, metrics, spec))
    run_info = {"config": config.as_dict(), "software": software_versions(), "code_revision": code_revision()}
    if config.firth:
        run_info.update({"statsmodels_summary": final.summary_frame().to_string(), "full_model_summary": "",
                         "summary_fitted_on": "covariate patterns (Firth's penalised likelihood)"})
    else:
        summary_of = _summary_fits(train, n_train, {"final": selected, "full": terms},
                                   {"final": final, "full": full}, spec.response.name)
        run_info.update({
            "statsmodels_summary": undated(model.summary_text(summary_of["final"], yname=spec.response.name)),
            "full_model_summary": undated(model.summary_text(summary_of["full"], yname=spec.response.name)),
            "summary_fitted_on": "rows" if summary_of["final"] is not final else "covariate patterns"})
    return Results(tables=tables, metrics=metrics, figures=figures, run=run_info, spec=spec)


def _summary_fits(train: pd.DataFrame, n_train: int, terms: dict, pattern_fits: dict, response: str) -> dict:
    """The fits whose statsmodels summary the report shows: ``smf.logit`` on the expanded training rows
    up to ``LOGIT_SUMMARY_MAX_ROWS`` rows (its estimates equal the pattern fit's, tested to 1e-8), else the
    pattern fits themselves."""
    if n_train > LOGIT_SUMMARY_MAX_ROWS:
        return pattern_fits
    rows = patterns.expand(train, response=response)
    return {name: model.fit_logit(rows, response, list(t)) for name, t in terms.items()}


def undated(summary: str) -> str:
    """statsmodels' summary without its run date and time, so the same input gives the same report."""
    summary = re.sub(r"(Date:\s+)\w{3}, \d{2} \w{3} \d{4}", lambda m: m.group(1) + "(omitted)".ljust(16), summary)
    return re.sub(r"(Time:\s+)\d{2}:\d{2}:\d{2}", lambda m: m.group(1) + "(omitted)", summary)


def _empty_vif() -> pd.DataFrame:
    return pd.DataFrame(columns=["term", "df", "gvif", "gvif_adj"])


#: the validation indexes in words (analysis.bootstrap.INDEXES)
INDEX_LABELS = {"auc": "AUC (c statistic)", "dxy": "Somers' Dxy", "calibration_intercept": "Calibration intercept",
                "calibration_slope": "Calibration slope", "brier": "Brier score", "mcfadden_r2": "McFadden R-squared",
                "nagelkerke_r2": "Nagelkerke R-squared"}


def bootstrap_tables(boot, coefficients: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The tables of an optimism bootstrap (``analysis.bootstrap.BootstrapResult``): ``validation`` (one row
    per index: apparent, training, test, optimism, corrected, n, optimism_se, label), ``selection_stability``
    (term, share, count), ``selected_models`` (model as " + "-joined terms, n_terms, share, count; the ten
    most frequent) and ``bootstrap_odds_ratios`` (each coefficient of the final model: its odds ratio and
    Wald interval beside the bootstrap percentile interval, which includes the selection, and the share of
    resamples selecting its term)."""
    validation = boot.table.copy()
    validation["label"] = validation["index"].map(INDEX_LABELS)
    models = boot.models.head(10).copy()
    models["n_terms"] = models["model"].map(len)
    models["model"] = models["model"].map(lambda m: " + ".join(m) if m else "(intercept only)")
    wald = coefficients.set_index("term")[["or_conf_low", "or_conf_high"]]
    ors = boot.odds_ratios.join(wald, on="term")
    ors = ors[["term", "model_term", "odds_ratio", "or_conf_low", "or_conf_high", "boot_low", "boot_high",
               "selected_share"]]
    return {"validation": validation, "selection_stability": boot.stability.copy(),
            "selected_models": models[["model", "n_terms", "share", "count"]], "bootstrap_odds_ratios": ors}


def spec_text(spec) -> bytes | None:
    """The specification file of the run (None for a specification not read from a file), with the exclusion
    rules given on the command line (--exclude, --max-age) listed in a closing comment: the copy states
    everything that was applied and still loads as the file did (run.json holds the same rules)."""
    if not Path(spec.path).is_file():
        return None
    text = Path(spec.path).read_bytes()
    own = len(load_spec(spec.path).exclusions)
    added = spec.exclusions[own:]
    if not added:
        return text
    lines = ["", "# Exclusions added on the command line for this run (also in run.json, config.exclude):"]
    lines += [f"#   exclude {json.dumps(e.condition.text, ensure_ascii=False)}, described as "
              f"{json.dumps(e.description, ensure_ascii=False)}" for e in added]
    return text.rstrip(b"\n") + b"\n" + ("\n".join(lines) + "\n").encode("utf-8")


def single_effects(coefficients: pd.DataFrame, spec, baselines) -> pd.DataFrame:
    """The coefficients that are one effect each (categorical levels, yes/no and linear numeric variables):
    spline and interaction coefficients have no odds ratio of their own (effect tables and plots show them)."""
    keep = [describe_coefficient(t, spec, baselines).kind in ("categorical", "binary", "numeric")
            for t in coefficients["term"]]
    return coefficients[keep].reset_index(drop=True)


def coefficient_labels(coefficients: pd.DataFrame, spec, baselines) -> dict[str, str]:
    """Display label of every coefficient, with its comparison group ("Marital status: single vs married"); a
    numeric variable per one unit ("Age (per year)"), as its estimate and odds ratio are."""
    return {t: describe_coefficient(t, spec, baselines).unit_label for t in coefficients["term"]}


def _figure_specs(data, tables, metrics, curves, evaluated, spec, effect_curves=None) -> dict:
    """name -> (plot function, args, kwargs); drawn and saved by ``plots.draw_and_save``. ``data`` is the
    pattern table of all rows used (the exploratory figures accept it and equal those of the rows)."""
    words = plots.Words.from_spec(spec)
    response = spec.response.name
    rate = spec.response.rate[:1].upper() + spec.response.rate[1:]
    specs = {}
    for v in spec.variables:
        key = table_key(v)
        if v.kind in ("categorical", "binary"):
            levels = sorted(data[v.name].unique())
            options = dict(title=f"{rate} by {v.label.lower()}", xlabel=v.label, words=words,
                           level_labels={lvl: v.level_label(lvl) for lvl in levels})
            if v.kind == "categorical" and len(levels) > 5:
                options.update(horizontal=True, sort=True)
            specs[f"rate_by_{key}"] = (plots.plot_rate_by, (data, v.name, response), options)
        elif v.bins:
            specs[f"{v.name}_distribution"] = (plots.plot_age_distribution, (data,), dict(
                column=v.name, response=response, label=v.label, unit=v.unit, units=v.units,
                mark=v.tail_above, words=words))
            specs[f"rate_by_{v.name}_group"] = (plots.plot_rate_by_group, (data, (*v.bins, math.inf), v.name, response),
                                                dict(title=f"{rate} by {v.label.lower()} group",
                                                     xlabel=f"{v.label} group" + (f" ({v.units})" if v.units else ""),
                                                     words=words))
    for var in tables["spline_effects"]["variable"] if "spline_effects" in tables else []:
        v = spec.variable(var)
        specs[f"effect_{var}"] = (plots.plot_effect, (effect_curves[var], f"{v.label}" + (f" ({v.units})" if v.units
                                                                                         else "")),
                                  {"title": f"Predicted probability by {v.label.lower()}", "words": words})
    aucs = {n: metrics[n]["auc"] for n in curves}
    m = metrics[evaluated]
    labels = spec.labels()
    specs.update({
        "correlation_heatmap": (plots.plot_correlation_heatmap, (tables["correlations"],), {"labels": labels}),
        "odds_ratios": (plots.plot_odds_ratios, (single_effects(tables["coefficients"], spec, metrics["baselines"]),),
                        {"labels": coefficient_labels(tables["coefficients"], spec, metrics["baselines"]),
                         "words": words}),
        "roc": (plots.plot_roc, ({n: c["roc"] for n, c in curves.items()}, aucs), {"words": words}),
        "ks": (plots.plot_ks, (curves[evaluated]["ks"], m["ks"], m["ks_threshold"]),
               {"title": f"Kolmogorov\u2013Smirnov separation ({evaluated} sample)", "words": words}),
        "calibration": (plots.plot_calibration, (tables["calibration"],),
                        {"words": words, "curve": tables.get("calibration_curve")}),
        "gains": (plots.plot_gains, (tables["gains"],), {"words": words}),
        "lift": (plots.plot_lift, (tables["gains"],), {}),
    })
    if "selection_stability" in tables:
        stability = tables["selection_stability"]
        specs["selection_stability"] = (
            plots.plot_selection_stability, (stability,),
            {"labels": {t: describe_term(t, spec) for t in stability["term"]}, "selected": metrics["selected_terms"],
             "resamples": metrics["bootstrap"]["B"] - metrics["bootstrap"]["failed"]})
    return specs


def prepare_output_dir(out: Path) -> Path:
    """Create the output folder (and tables/, figures/); refuse a path that exists and is not a folder,
    and remove the tables and figures of an earlier run (only files this package writes there), so that
    a report never shows a table of another run."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out}: exists and is not a folder. Give a folder for the results.")
    try:
        for sub in ("tables", "figures"):
            (out / sub).mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"--out {out}: cannot create the results folder ({err.strerror or err}).") from None
    for old in [*(out / "tables").glob("*.csv"), *(out / "figures").glob("*.png"), *(out / "figures").glob("*.svg")]:
        old.unlink()
    return out


def write_outputs(results: Results, out: Path, progress=lambda message: None) -> None:
    from analysis.present.escape import csv_cell

    out = prepare_output_dir(out)
    for name, table in results.tables.items():
        text = table.select_dtypes(include=["object", "string"]).columns
        safe = table.assign(**{c: table[c].map(csv_cell) for c in text}) if len(text) else table
        safe.to_csv(out / "tables" / f"{name}.csv", index=False, lineterminator="\n")
    if results.spec is not None and (text := spec_text(results.spec)) is not None:
        (out / "spec.toml").write_bytes(text)
    progress(f"drawing {len(results.figures)} figures")
    plots.draw_and_save(results.figures, out / "figures", simulated=bool(results.metrics["data"].get("simulated")))
    (out / "metrics.json").write_text(json.dumps(_jsonable(results.metrics), indent=1, allow_nan=False) + "\n")
    (out / "run.json").write_text(json.dumps(_jsonable(results.run), indent=1) + "\n")
    marker = out / "DATA_ARE_SIMULATED.txt"
    if results.metrics["data"].get("simulated"):
        marker.write_text("The results in this folder were computed from SIMULATED data "
                          f"({results.metrics['data']['file']}), not from real data.\n")
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
