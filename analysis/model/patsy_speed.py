"""patsy's own fast path for pandas Categoricals, also inside ``C(...)``.

patsy reads a pandas Categorical through its integer codes (``patsy.categorical.categorical_to_int``),
but a term written ``C(x, Treatment(reference=...))`` wraps the column in a ``_CategoricalBox`` first,
and patsy 1.0 tests for a Categorical *before* unwrapping it: every cell then goes through a Python
loop that checks it for missing values (11 s of a 1M-row run on 136k covariate patterns, where the
package builds designs of the pattern table dozens of times). This module unwraps the box when it holds
a pandas Categorical whose categories are exactly the levels patsy expects, and lets patsy's own code
take its fast path; every other input goes to patsy unchanged. The codes are the same as patsy's loop
gives (tested: ``tests/model/test_fit.py::test_patsy_fast_path_gives_the_same_design``), so this changes
speed only. It is in force only inside the package's own design builds (:func:`fast_categoricals`, a
context manager, and :func:`scoped`, a decorator), never for other code using patsy; written by hand
because patsy has no option for it.
"""
from __future__ import annotations

import functools
from contextlib import contextmanager

import pandas as pd
import patsy.build
import patsy.categorical

_original = patsy.categorical.categorical_to_int


def categorical_to_int(data, levels, NA_action, origin=None):
    """``patsy.categorical.categorical_to_int`` with a boxed pandas Categorical read by its codes."""
    if isinstance(data, patsy.categorical._CategoricalBox):
        inner = data.data
        if (isinstance(getattr(inner, "dtype", None), pd.CategoricalDtype)
                and (data.levels is None or tuple(data.levels) == tuple(levels))
                and tuple(inner.dtype.categories) == tuple(levels)):
            return _original(inner, levels, NA_action, origin)
    return _original(data, levels, NA_action, origin)


@contextmanager
def fast_categoricals():
    """Inside the block, patsy's design building goes through :func:`categorical_to_int`; afterwards
    patsy is as it was (re-entrant)."""
    previous = patsy.build.categorical_to_int
    patsy.build.categorical_to_int = categorical_to_int
    try:
        yield
    finally:
        patsy.build.categorical_to_int = previous


def scoped(func):
    """Run ``func`` inside :func:`fast_categoricals`."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with fast_categoricals():
            return func(*args, **kwargs)
    return wrapper
