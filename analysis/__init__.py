"""A logistic-regression report package: validated data, stepwise Logit, odds ratios, honest evaluation, Quarto report.

The documented API, for notebooks (every name is reachable from ``import analysis`` alone; submodules
are imported on first use, so the command line starts fast):

Data
    ``load_spec(path)`` a data specification (TOML); ``default_spec()`` the bundled coupon data's;
    ``read_patterns(path, spec, ...)`` a file validated and reduced to covariate patterns;
    ``read_rows(path, spec)`` its validated rows.
Model
    ``stepwise(data, response, terms, ...)`` R's step() / SAS's selection; ``fit_logit(data, response,
    terms, trials=None)`` a statsmodels Logit (or binomial GLM on patterns), checked; ``fit_firth(data,
    response, terms, trials=None)`` Firth's penalised logit; ``rcs`` restricted cubic splines for formulas;
    ``tidy(fit)``, ``glance(fit)``, ``type3_tests(fit)``, ``marginal_effects(fit)``; ``select_and_fit`` the full
    model, the selection and the final model as one ``Fit`` object whose verbs (``tidy``, ``glance``,
    ``type3``, ``marginal_effects``, ``vif``, ``predict``) need nothing else.
    ``impute(rows, response, m=20, seed=...)`` multiple imputation as R's mice; ``pool(fits)`` Rubin's rules.
Specification checks and validation
    ``linearity_tests(fit, data, response, terms, ...)`` the non-linear part of splines (Wald and LR);
    ``validate_selection(train, terms, ...)`` optimism bootstrap of selection + fit, with selection
    stability and bootstrap odds-ratio intervals (as rms::validate).
Evaluation
    ``evaluate(p, events, trials=None)`` AUC with DeLong CI, KS, Brier, Hosmer-Lemeshow, ...; the other
    functions of ``analysis.evaluate.discrimination``; ``calibration_fit`` (recalibration intercept and slope with CIs) and
    ``calibration_curve`` (lowess) of ``analysis.evaluate.calibration``.
Report
    ``run(config)`` / ``RunConfig`` the whole analysis; ``write_outputs``; ``render_report(results_dir)``.

Submodules (``analysis.model``, ``analysis.model.selection``, ``analysis.read``, ``analysis.spec``,
``analysis.evaluate.discrimination``, ``analysis.evaluate.explore``, ...) are attributes too.
"""
import importlib

#: public name -> (module, attribute); None: the module itself
_API = {
    "load_spec": ("spec", "load_spec"), "default_spec": ("spec", "default_spec"),
    "read_patterns": ("read", "read_patterns"), "read_rows": ("read", "read_rows"),
    "stepwise": ("model.selection", "stepwise"), "select_and_fit": ("model.selection", "select_and_fit"),
    "SelectionSettings": ("model.selection", "SelectionSettings"), "Fit": ("model.fit", "Fit"), "fit_logit": ("model.fit", "fit_logit"),
    "fit_firth": ("model.firth", "fit_firth"), "rcs": ("model.splines", "rcs"), "tidy": ("model.fit", "tidy"),
    "glance": ("model.fit", "glance"), "type3_tests": ("model.inference", "type3_tests"),
    "marginal_effects": ("model.inference", "marginal_effects"), "evaluate": ("evaluate.discrimination", "evaluate"),
    "run": ("pipeline", "run"), "RunConfig": ("pipeline", "RunConfig"), "write_outputs": ("pipeline", "write_outputs"),
    "render_report": ("pipeline", "render_report"),
    "validate_selection": ("evaluate.bootstrap", "validate_selection"),
    "calibration_fit": ("evaluate.calibration", "calibration_fit"),
    "calibration_curve": ("evaluate.calibration", "calibration_curve"),
    "linearity_tests": ("evaluate.effects", "linearity_tests"),
    "impute": ("model.imputation", "impute"), "pool": ("model.imputation", "pool"),
}
_SUBMODULES = {"cli", "draft", "errors", "evaluate", "model", "pipeline", "present", "read", "results", "simulate",
               "spec", "threads"}
__all__ = sorted(_API)


def __getattr__(name):
    if name in _API:
        module, attribute = _API[name]
        value = getattr(importlib.import_module(f".{module}", __name__), attribute)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'analysis' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_API) | _SUBMODULES)
