"""What a fitted formula model knows about its terms: the one place that reads patsy's design from a fit.

statsmodels keeps the patsy ``DesignInfo`` of a formula model as ``model.data.model_spec`` (0.15) or
``model.data.design_info`` (earlier); Firth's fit (``analysis.model.firth``) keeps its own. Every module
that needs a fit's term slices, factor levels or design reads them through these functions.
"""
from __future__ import annotations

import patsy


def design_info(fit) -> patsy.DesignInfo | None:
    """The patsy DesignInfo of a statsmodels formula model or results (or anything holding one as
    ``design_info``), else None."""
    model = getattr(fit, "model", fit)
    for holder in (model, getattr(model, "data", None), fit):
        for attr in ("model_spec", "design_info", "_design_info"):
            info = getattr(holder, attr, None)
            if isinstance(info, patsy.DesignInfo):
                return info
    return None


def require_design_info(fit) -> patsy.DesignInfo:
    """:func:`design_info`, or ValueError for a model not built from a formula."""
    info = design_info(fit)
    if info is None:
        raise ValueError("the model was not fitted from a formula (no patsy design information)")
    return info


def term_slices(fit) -> dict[str, slice]:
    """Formula term -> its columns in the design matrix (the intercept as "Intercept" under patsy; a model
    built by statsmodels' formulaic engine gives its own term names)."""
    info = design_info(fit)
    if info is not None:
        return dict(info.term_name_slices)
    spec = getattr(getattr(getattr(fit, "model", fit), "data", None), "model_spec", None)
    if spec is not None and hasattr(spec, "term_slices"):  # formulaic ModelSpec
        return {str(term): s for term, s in spec.term_slices.items()}
    raise ValueError("the model was not fitted from a formula (no term information)")


def factor_levels(fit) -> dict[str, tuple]:
    """The levels of each categorical factor of a fitted formula model, by factor code (``C(job)``)."""
    return {factor.name(): tuple(info.categories)
            for factor, info in require_design_info(fit).factor_infos.items() if info.type == "categorical"}
