"""Design matrices for model terms: build the full matrix once and know which columns belong to which term.

`design_matrix` wraps patsy (the library statsmodels' formulas use), so the columns are exactly those
`statsmodels.formula.api.logit("y ~ " + " + ".join(terms), data)` puts in its exog: same coding, same
names, same order. What patsy does not give directly, and this module adds, is the map from each term *as
the caller spelled it* to its columns: patsy reorders terms (for example every categorical before every
numeric column) and normalises their names, so the map is built by parsing each term on its own.

Fast path: when every term is one of the common forms -- a plain numeric column name ("age"; numpy int,
unsigned or float dtype, no NaN) or `C(col)`, `C(col, Treatment('lvl'))`, `C(col, Treatment(reference='lvl'))`
on a text column (a pandas Categorical with text categories after `with_categoricals`, no missing values) --
the matrix is built with numpy instead of patsy, reproducing patsy's result exactly: intercept first, then
the categorical terms in the order given, then the numeric terms in the order given (patsy puts terms
without numeric factors first); treatment dummies for every level but the reference (the first level, in
category order = sorted text, unless named), named `<factor>[T.<level>]` with patsy's normalised factor
code. Anything else (interactions, I(), functions, bool or integer columns in C(), other contrasts, missing
values, a data column named C or Treatment) goes to patsy unchanged.

Tested (tests/model/test_selection.py) against patsy's own `dmatrix` and against the exog and exog_names of
statsmodels' formula Logit on the real data: equal arrays, equal column names; the fast path against the
patsy path (equal X, column names and term slices) on the real data and on small frames.
"""
from __future__ import annotations

import ast
import math
import functools
import io
import tokenize
from typing import NamedTuple

import numpy as np
import pandas as pd
import patsy

from analysis.model import patsy_speed
from analysis.model.splines import rcs  # noqa: F401 - patsy evaluates rcs(...) in formulas in this module's namespace

__all__ = ["DesignMatrix", "design_matrix", "full_column_rank", "parse_term", "with_categoricals"]


class DesignMatrix(NamedTuple):
    """The full design: `X` (rows x columns, intercept first), `columns` (patsy/statsmodels names) and
    `term_columns` ({term as given: slice of its columns in X}; the intercept is not a term)."""

    X: np.ndarray
    columns: list[str]
    term_columns: dict[str, slice]


def parse_term(term: str) -> patsy.desc.Term:
    """The patsy Term that a single formula term such as "age", "C(job)" or "C(job):age" stands for.

    Raises ValueError if `term` is not exactly one non-intercept term (e.g. "a + b", "1", "-1", "").
    Parsed once per distinct string (cached: patsy Terms are immutable values; stepwise selection and its
    bootstrap parse the same few terms many times)."""
    if not isinstance(term, str) or not term.strip():
        raise ValueError(f"a term must be a non-empty string, got {term!r}")
    return _parse_term(term)


@functools.lru_cache(maxsize=4096)
def _parse_term(term: str) -> patsy.desc.Term:
    try:
        desc = patsy.ModelDesc.from_formula(term)
    except patsy.PatsyError as exc:
        raise ValueError(f"cannot parse term {term!r}: {exc}") from None
    if desc.lhs_termlist:
        raise ValueError(f"term {term!r} has a left-hand side; give right-hand-side terms only")
    real = [t for t in desc.rhs_termlist if t != patsy.INTERCEPT]
    if len(real) != 1 or len(desc.rhs_termlist) != 2:
        raise ValueError(f"{term!r} is not exactly one model term; give terms one by one, e.g. ['a', 'C(b)']")
    return real[0]


def _referenced_columns(terms, columns) -> list:
    """Columns of the data that the term expressions name (bare names, or quoted as in Q("a b"))."""
    found = []
    for term in terms:
        for name in _term_names(term):
            if name in columns and name not in found:
                found.append(name)
    return found


@functools.lru_cache(maxsize=4096)
def _term_names(term: str) -> tuple:
    """The names and quoted strings a term expression contains, in order (tokenized once per string)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(term).readline))
    except (tokenize.TokenError, SyntaxError):
        return ()
    return tuple(tok.string.strip("\"'") if tok.type == tokenize.STRING else tok.string
                 for tok in tokens if tok.type in (tokenize.NAME, tokenize.STRING))


def with_categoricals(data: pd.DataFrame, terms) -> pd.DataFrame:
    """`data` with each text column that `terms` use turned into a pandas Categorical whose categories are
    the sorted distinct values: the levels and order patsy would find itself, so the design matrix is
    unchanged (tested), but patsy reads the levels from the dtype instead of looping over every row in
    Python (about 3x faster on the real data). Other columns are shared, not copied; `data` is not modified.
    """
    convert = {}
    for col in _referenced_columns(terms, data.columns):
        s = data[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            continue
        if not (pd.api.types.is_string_dtype(s.dtype) or s.dtype == object):
            continue
        if s.isna().any():
            continue                                  # missing values: leave them to patsy (it raises)
        codes, uniques = pd.factorize(s)              # order of first appearance
        levels = list(uniques)
        if not all(isinstance(v, str) for v in levels):
            continue                                  # mixed types: leave them to patsy
        order = sorted(range(len(levels)), key=levels.__getitem__)
        rank = np.empty(len(levels), dtype=codes.dtype)
        rank[order] = np.arange(len(levels), dtype=codes.dtype)
        convert[col] = pd.Categorical.from_codes(rank[codes], categories=[levels[i] for i in order])
    if not convert:
        return data
    out = data.copy(deep=False)
    for col, cat in convert.items():
        out[col] = pd.Series(cat, index=data.index, name=col)
    return out


@patsy_speed.scoped
def design_matrix(data: pd.DataFrame, terms) -> DesignMatrix:
    """Full design matrix (intercept + `terms`) of `data`, built once: by numpy for the common terms (see
    the module docstring; same result as patsy, tested), else by patsy.

    `terms` are formula terms ("age", "C(job)", ...); each must be a single term, no duplicates.
    Missing values are an error (patsy NA_action="raise"): drop or impute them before modelling, so that
    every sub-model is fitted on the same rows.

    Returns DesignMatrix(X, columns, term_columns); `term_columns[term]` is the slice of X's columns coding
    `term` (a categorical's k - 1 treatment dummies, a numeric's single column). The fast path's X is
    column-major (each column is written, and selection reads each term's columns, as one contiguous
    block); patsy's is row-major. The values are the same either way.
    """
    terms = list(terms)
    parsed = _parse_terms(terms)
    data = with_categoricals(data, terms)
    fast = _fast_design(data, terms, parsed)
    return fast if fast is not None else _patsy_design(data, terms, parsed)


def _parse_terms(terms) -> list:
    parsed = [parse_term(t) for t in terms]
    names = [p.name() for p in parsed]
    if len(set(names)) != len(names):
        dup = sorted({t for t, n in zip(terms, names) if names.count(n) > 1})
        raise ValueError(f"duplicate terms: {dup}")
    return parsed


def _patsy_design(data: pd.DataFrame, terms, parsed=None) -> DesignMatrix:
    """`design_matrix` by patsy alone (the reference for the fast path)."""
    terms = list(terms)
    if parsed is None:
        parsed = _parse_terms(terms)
    desc = patsy.ModelDesc([], [patsy.INTERCEPT, *parsed])
    try:
        dm = patsy.dmatrix(desc, with_categoricals(data, terms), NA_action="raise", return_type="matrix")
    except patsy.PatsyError as exc:
        raise ValueError(f"cannot build the design matrix: {exc}") from None
    info = dm.design_info
    slices = info.term_name_slices
    term_columns = {t: slices[p.name()] for t, p in zip(terms, parsed)}
    X = np.ascontiguousarray(np.asarray(dm, dtype=float))
    return DesignMatrix(X, list(info.column_names), term_columns)


def _treatment_reference(node):
    """The reference level in `Treatment('lvl')` / `Treatment(reference='lvl')` / `Treatment()` (None = the
    first level); raises LookupError for any other contrast expression."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Treatment"):
        raise LookupError
    if not node.args and not node.keywords:
        return None
    if len(node.args) == 1 and not node.keywords:
        ref = node.args[0]
    elif not node.args and len(node.keywords) == 1 and node.keywords[0].arg == "reference":
        ref = node.keywords[0].value
    else:
        raise LookupError
    if not (isinstance(ref, ast.Constant) and isinstance(ref.value, str)):
        raise LookupError                             # integer index or expression: patsy decides
    return ref.value


def _fast_term(data: pd.DataFrame, code: str):
    """("num", float values) or ("cat", codes, levels, reference index) for a term patsy would code the same
    way, else None. `code` is patsy's normalised factor code."""
    try:
        node = ast.parse(code, mode="eval").body
    except SyntaxError:
        return None
    if isinstance(node, ast.Name):                    # plain numeric column
        values = _numeric_column(data, node.id)
        return None if values is None else ("num", values)
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "rcs"
            and not node.keywords and len(node.args) == 2 and isinstance(node.args[0], ast.Name)
            and isinstance(node.args[1], ast.List)):  # rcs(x, [knots]): the basis of analysis.model.splines.rcs
        from analysis.model.splines import rcs_basis

        values = _numeric_column(data, node.args[0].id)
        try:
            knots = [ast.literal_eval(k) for k in node.args[1].elts]
        except ValueError:
            return None
        if values is None or len(knots) < 3 or not all(isinstance(k, (int, float)) for k in knots):
            return None
        return ("num", rcs_basis(values, np.asarray(knots, dtype=float)))
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "C"
            and not node.keywords and 1 <= len(node.args) <= 2 and isinstance(node.args[0], ast.Name)):
        return None
    try:
        ref = _treatment_reference(node.args[1]) if len(node.args) == 2 else None
    except LookupError:
        return None
    col = node.args[0].id
    if col not in data.columns:
        return None
    s = data[col]
    if not isinstance(s, pd.Series) or not isinstance(s.dtype, pd.CategoricalDtype):
        return None                                   # text columns are Categoricals by now (with_categoricals)
    levels = list(s.cat.categories)
    if not all(isinstance(v, str) for v in levels):
        return None                                   # numbers, bools as levels: patsy
    codes = s.cat.codes.to_numpy()
    if codes.size and codes.min() < 0:
        return None                                   # missing values: patsy raises
    if ref is None:
        ref_i = 0
    elif ref in levels:
        ref_i = levels.index(ref)
    else:
        return None                                   # unknown level: patsy raises
    return ("cat", codes, levels, ref_i)


def _numeric_column(data: pd.DataFrame, name: str):
    """A numeric column as float values, or None where patsy must decide (text, bool, extension dtypes,
    missing values)."""
    if name not in data.columns:
        return None
    s = data[name]
    if not isinstance(s, pd.Series) or not isinstance(s.dtype, np.dtype) or s.dtype.kind not in "iuf":
        return None
    values = s.to_numpy().astype(float)
    return None if np.isnan(values).any() else values


def _fast_design(data: pd.DataFrame, terms, parsed) -> DesignMatrix | None:
    """`design_matrix` by numpy when every term is a plain numeric column or a treatment-coded text
    categorical (see the module docstring); None otherwise."""
    if "C" in data.columns or "Treatment" in data.columns:
        return None                                   # patsy would evaluate these names in the data
    cats, nums = [], []
    for term, p in zip(terms, parsed):
        if len(p.factors) != 1:
            return None
        name = p.factors[0].name()
        spec = _fast_term(data, name)
        if spec is None:
            return None
        (cats if spec[0] == "cat" else nums).append((term, name, spec))
    n = len(data)
    width = 1 + sum(len(spec[2]) - 1 for _, _, spec in cats) + sum(
        1 if spec[1].ndim == 1 else spec[1].shape[1] for _, _, spec in nums)
    X = np.zeros((n, width), order="F")              # column-major: written, and later read, by column
    X[:, 0] = 1.0
    columns = ["Intercept"]
    term_columns = {}
    at = 1
    for term, name, (_, codes, levels, ref_i) in cats:   # patsy: terms without numeric factors first
        kept = [j for j in range(len(levels)) if j != ref_i]
        where = np.full(len(levels), -1, dtype=np.intp)
        where[kept] = np.arange(at, at + len(kept))
        col = where[codes]
        rows = np.flatnonzero(col >= 0)
        X[rows, col[rows]] = 1.0
        columns += [f"{name}[T.{levels[j]}]" for j in kept]
        term_columns[term] = slice(at, at + len(kept))
        at += len(kept)
    for term, name, (_, values) in nums:
        if values.ndim == 1:
            X[:, at] = values
            columns.append(name)
            term_columns[term] = slice(at, at + 1)
            at += 1
        else:                                         # a multi-column factor: patsy names it name[0], name[1], ...
            k = values.shape[1]
            X[:, at:at + k] = values
            columns += [f"{name}[{j}]" for j in range(k)]
            term_columns[term] = slice(at, at + k)
            at += k
    return DesignMatrix(X, columns, {t: term_columns[t] for t in terms})


def full_column_rank(X) -> bool:
    """Whether X has full column rank as ``np.linalg.matrix_rank`` decides it (singular values above
    max(X.shape) * eps * the largest), without the SVD when the Gram matrix settles it.

    Fast path: C = D X'X D with D scaling every column to unit norm (the cosine matrix, eigenvalues in
    [0, k]). Its computed smallest eigenvalue is within k * n * eps (the error of the sums, plus
    eigvalsh's backward error) of the exact one, so lmin - that bound is a lower bound of sigma_min(XD)^2;
    and sigma_min(X) >= sigma_min(XD) * min column norm, sigma_max(X) <= sqrt(k) * max column norm. When
    the resulting lower bound of sigma_min / sigma_max is 100 times the SVD's threshold, the SVD (backward
    stable, error about eps * sigma_max) would find full rank too. Otherwise (nearly or truly deficient,
    badly scaled, a zero column) the decision is matrix_rank's own."""
    n, k = X.shape
    if k == 0:
        return True
    G = X.T @ X
    norms = np.sqrt(np.diag(G))
    if n >= k and np.all(norms > 0) and np.all(np.isfinite(G)):
        eps = np.finfo(float).eps
        lmin = float(np.linalg.eigvalsh(G / np.outer(norms, norms))[0]) - 4.0 * k * max(n, k) * eps
        if lmin > 0:
            ratio = math.sqrt(lmin / k) * float(norms.min() / norms.max())
            if ratio > 100.0 * max(n, k) * eps:
                return True
    return int(np.linalg.matrix_rank(X)) == k
