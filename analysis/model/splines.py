"""Restricted cubic splines exactly as Harrell's rms::rcs (Hmisc::rcspline.eval), usable in statsmodels formulas.

    from analysis.model.splines import rcs    # the formula finds `rcs` in the caller's namespace
    fit = smf.logit("y ~ rcs(age, 4) + C(job)", df).fit()      # 4 knots chosen from df["age"], memorized
    fit = smf.logit("y ~ rcs(age, [27, 35, 44, 59]) + C(job)", df).fit()   # explicit knots
    fit.predict(new_df)                         # reuses the knots of the fit, never recomputes them

`choose_knots` reproduces every branch of Hmisc's knot placement (weighted for patterns), `rcs_basis`
the basis (rms's normalisation), `rcs` the patsy stateful transform, `linearity_test` / `wald_test` /
`lr_test` the "Nonlinear" tests of rms's `anova`, and `datadist_limits` / `effect` rms's `summary(fit)`
effects. Column naming, memorized knots and the rules are in docs/methods.md, "Restricted cubic splines".
Tested (tests/model/test_splines.py) against R 4.2.2 / rms 6.5.0 / Hmisc 4.8.0 (tests/reference/r/
splines.json, made by tests/reference/r/splines.R); tolerances are given in each function's docstring.
"""
from __future__ import annotations

import ast
import math
import warnings
from dataclasses import dataclass, field
from typing import NamedTuple, Sequence

import numpy as np
import pandas as pd
import patsy
from scipy import stats

from analysis.model.formula import design_info

__all__ = [
    "Knots", "RcsKnotsError", "RcsKnotsWarning", "WaldTest", "Effect",
    "choose_knots", "rcs_knots", "rcs_basis", "rcs_basis_derivative", "rcs", "rcs_names",
    "parse_rcs_term", "rcs_term", "rms_column_names", "rcs_terms_of",
    "wald_test", "linearity_test", "lr_test", "datadist_limits", "effect",
]

DEFAULT_NK = 5          # rms: options(nknots) unset -> 5
DEFAULT_FRACTIED = 0.05  # rms: options(fractied) unset -> 0.05


class RcsKnotsError(ValueError):
    """rcspline.eval stopped.  `r_message` is R's condition message exactly ("" where R calls a bare
    `stop()` after printing a frequency table); the Python message always says what went wrong."""

    def __init__(self, message: str, r_message: str | None = None):
        super().__init__(message)
        self.r_message = message if r_message is None else r_message


class RcsKnotsWarning(UserWarning):
    """A warning that rcspline.eval gives, with R's text."""


@dataclass(frozen=True, eq=False)
class Knots:
    """Knots chosen as rcspline.eval(x, nk = requested, knots.only = TRUE) does, and why.

    rule: "quantiles" (rms's default quantiles), "few-unique" (x has at most requested + 2 distinct values:
    knots at the interior distinct values) or "alternate" (the default quantiles gave fewer than 3 distinct
    knots; rcspline.eval's alternate algorithm).  tied_low / tied_high: the smallest / largest value holds
    >= fractied of the rows (and no interior value does), so the first / last knot is the next value in.
    small_n: fewer than 100 values left, so the outer knots that are not tied are the 5th smallest / 5th
    largest.  probs: the quantile probabilities used (empty for "few-unique").  warnings: R's warning texts."""

    values: np.ndarray
    rule: str
    requested: int
    n: int
    n_unique: int
    probs: tuple = ()
    tied_low: bool = False
    tied_high: bool = False
    small_n: bool = False
    warnings: tuple = ()
    note: str = field(default="", compare=False)

    def __len__(self) -> int:
        return len(self.values)


# ---------------------------------------------------------------------------------------------------
# knots
# ---------------------------------------------------------------------------------------------------

def _as_float(x) -> np.ndarray:
    """x as a flat float array, missing values (NaN, None, pandas NA) as NaN."""
    if isinstance(x, (pd.Series, pd.Index)):
        return x.to_numpy(dtype=float, na_value=np.nan).ravel()
    return np.asarray(x, dtype=float).ravel()


def _patterns(x, weights) -> tuple[np.ndarray, np.ndarray]:
    """Distinct non-missing values of x (sorted) and their counts (rows, or summed integer weights)."""
    x = _as_float(x)
    if weights is None:
        w = np.ones(x.shape, dtype=np.int64)
    else:
        w_raw = np.asarray(weights, dtype=float).ravel()
        if w_raw.shape != x.shape:
            raise ValueError(f"weights has {w_raw.size} values, x has {x.size}")
        if not np.all(np.isfinite(w_raw)) or np.any(w_raw < 0) or np.any(w_raw != np.round(w_raw)):
            raise ValueError("weights must be non-negative integer counts (frequency weights)")
        w = w_raw.astype(np.int64)
    keep = ~np.isnan(x) & (w > 0)                  # R: xx <- x[!is.na(x)]
    values, inverse = np.unique(x[keep], return_inverse=True)
    counts = np.zeros(values.size, dtype=np.int64)
    np.add.at(counts, inverse, w[keep])
    return values, counts


class _Sorted:
    """A sorted sample given as distinct values and counts: R's xx, indexed without expanding it."""

    def __init__(self, values: np.ndarray, counts: np.ndarray):
        self.values, self.counts = values, counts
        self.cum = np.cumsum(counts)
        self.n = int(self.cum[-1]) if counts.size else 0

    def subset(self, keep: np.ndarray) -> "_Sorted":
        return _Sorted(self.values[keep], self.counts[keep])

    def at(self, k: float) -> float:
        """sort(xx)[k] for a 1-based position 1 <= k <= n."""
        return float(self.values[np.searchsorted(self.cum, k, side="left")])

    def quantile(self, probs) -> list[float]:
        """stats::quantile(xx, probs, type = 7), R 4.2.2's arithmetic step by step."""
        out = []
        for p in probs:
            p = max(0.0, min(1.0, p))
            index = 1 + max(self.n - 1, 0) * p            # index <- 1 + max(n - 1, 0) * probs
            lo, hi = math.floor(index), math.ceil(index)
            qs = self.at(lo)                               # qs <- x[lo]
            x_hi = self.at(hi)
            if index > lo and x_hi != qs:                  # i <- which(index > lo & x[hi] != qs)
                h = index - lo
                qs = (1 - h) * qs + h * x_hi               # qs[i] <- (1 - h) * qs[i] + h * x[hi[i]]
            out.append(qs)
        return out

    def median(self) -> float:
        """stats::median: the middle value, or the mean of the two middle values."""
        half = (self.n + 1) // 2
        if self.n % 2 == 1:
            return self.at(half)
        return (self.at(half) + self.at(half + 1)) / 2

    def r_element(self, k: int) -> list[float]:
        """What R's `xx[k]` (xx sorted) gives for a single integer k: NA past the end, nothing for 0,
        everything but element -k for negative k."""
        if k > self.n:
            return [math.nan]
        if k >= 1:
            return [self.at(k)]
        if k == 0:
            return []
        rest = [self.at(i) for i in range(1, self.n + 1) if i != -k]   # only for n <= 3: cheap
        return rest


def _r_seq(start: float, stop: float, length: int) -> list[float]:
    """seq(start, stop, length = length) for doubles, as base::seq.default computes it."""
    if length > 2:
        if start == stop:
            return [start] * length
        n1 = length - 1
        step = (stop - start) / n1
        return [start] + [start + i * step for i in range(1, length - 1)] + [stop]
    return [start, stop][:length]


def _assign(knots: list, position: int, replacement: list, warns: list) -> list:
    """R's `knots[position] <- replacement` for a 1-based position (extends with NA past the end)."""
    if not replacement:
        raise RcsKnotsError(
            "replacement has length zero (R fails here: after removing tied end values fewer than 5 "
            "values are left for the n < 100 rule)", r_message="replacement has length zero")
    if len(replacement) > 1:
        _warn("number of items to replace is not a multiple of replacement length", warns)
    knots = list(knots) + [math.nan] * max(0, position - len(knots))
    knots[position - 1] = replacement[0]
    return knots


def _warn(message: str, warns: list) -> None:
    warns.append(message)
    warnings.warn(message, RcsKnotsWarning, stacklevel=3)


def _r_num(v) -> str:
    """A number as R's paste/sprintf("%s") writes it (up to 15 significant digits)."""
    v = float(v)
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else f"{v:.15g}"


def _freq_table(values: np.ndarray, counts: np.ndarray) -> tuple[list[str], np.ndarray]:
    """table(xx): R tabulates as.character(xx), which writes doubles with 15 significant digits, so
    values equal to 15 digits (0.3 and 0.1 + 0.2) share one cell.  Cells in increasing order."""
    labels: list[str] = []
    merged: list[int] = []
    for v, c in zip(values, counts):
        key = f"{v:.15g}"
        if labels and labels[-1] == key:
            merged[-1] += int(c)
        else:
            labels.append(key)
            merged.append(int(c))
    return labels, np.asarray(merged, dtype=np.int64)


def _too_few(values, counts, capital: bool) -> RcsKnotsError:
    labels, merged = _freq_table(values, counts)
    shown = ", ".join(f"{lab}: {c}" for lab, c in list(zip(labels, merged))[:30])
    more = ", ..." if len(labels) > 30 else ""
    head = "Fewer" if capital else "fewer"
    return RcsKnotsError(f"{head} than 3 unique knots.  Frequency table of variable: {shown}{more}",
                         r_message="")


def choose_knots(x, nk: int = DEFAULT_NK, weights=None, fractied: float = DEFAULT_FRACTIED) -> Knots:
    """The knots of rms::rcs(x, nk), i.e. Hmisc::rcspline.eval(x, nk = nk, knots.only = TRUE,
    fractied = fractied), with the rule that chose them.

    x: numbers (NaN = missing, dropped).  weights: optional non-negative integer frequency weights, one per
    value of x; the result equals that of the expanded rows exactly (quantiles from cumulative counts).
    Raises RcsKnotsError where R stops, warns RcsKnotsWarning where R warns (same texts).

    Tested against R (tests/reference/r/splines.json): real data age nk = 3..7, m26 nk = 3..5,
    coupon_used_in_last_month nk = 3, 4 (an error and an alternate-algorithm warning), the first 60 rows' age
    (n < 100 rule), and 48 calls on 23 synthetic vectors reaching every branch: knots equal to R's doubles
    exactly (R's values read from %.17g strings), warning texts and R's error messages equal.  Weighted
    pattern tables (value counts, shuffled, plus a zero-count pattern) give exactly the knots, rule,
    warnings and errors of the rows, on all 63 cases."""
    if isinstance(nk, bool) or float(nk) != int(nk):
        raise ValueError(f"nk must be a whole number of knots, got {nk!r}")
    nk = int(nk)
    values, counts = _patterns(x, weights)
    xx = _Sorted(values, counts)
    n = xx.n
    if n < 6:                                   # if (n < 6) stop('knots not specified, and < 6 ...')
        raise RcsKnotsError("knots not specified, and < 6 non-missing observations")
    if nk < 3:                                  # if (nk < 3) stop('nk must be >= 3')
        raise RcsKnotsError("nk must be >= 3")
    nxu = values.size                           # xu <- sort(unique(xx)); nxu <- length(xu)
    warns: list[str] = []
    probs: tuple = ()
    tied_low = tied_high = small_n = False

    if nxu - 2 <= nk:                           # if ((nxu - 2) <= nk) { warning(...); knots <- xu[-c(1, nxu)] }
        _warn(f"{nk} knots requested with {nxu} unique values of x.  "
              f"knots set to {nxu - 2} interior values.", warns)
        knots = [float(v) for v in values[1:-1]]
        rule = "few-unique"
    else:
        rule = "quantiles"
        outer = 0.05 if nk > 3 else 0.1         # outer <- if (nk > 3) .05 else .1
        if nk > 6:                              # if (nk > 6) outer <- .025
            outer = 0.025
        nke = nk
        firstknot: list[float] = []
        lastknot: list[float] = []
        if 0 < fractied < 1:                    # if (fractied > 0 && fractied < 1) {
            _, cells = _freq_table(values, counts)
            f = cells / n                       #   f <- table(xx) / n
            interior = f[1:-1]
            if (interior.max() if interior.size else -math.inf) < fractied:   # max(f[-c(1, length(f))]) < fractied
                if f[0] >= fractied:            #   if (f[1] >= fractied) {
                    firstknot = [float(xx.values[xx.values > xx.values.min()].min())]  # min(xx[xx > min(xx)])
                    xx = xx.subset(xx.values > firstknot[0])                           # xx <- xx[xx > firstknot]
                    nke -= 1
                    tied_low = True             #     overrideFirst <- TRUE
                if f[-1] >= fractied:           #   if (f[length(f)] >= fractied) {
                    lastknot = [float(xx.values[xx.values < xx.values.max()].max())]   # max(xx[xx < max(xx)])
                    xx = xx.subset(xx.values < lastknot[0])                            # xx <- xx[xx < lastknot]
                    nke -= 1
                    tied_high = True            #     overrideLast <- TRUE
        if nke == 1:                            # if (nke == 1) knots <- median(xx)
            knots = [xx.median()]
            probs = (0.5,)
        else:
            if nxu <= nke:                      # if (nxu <= nke) knots <- xu   (unreachable: nxu > nk + 2)
                knots = [float(v) for v in values]
            else:
                p = _r_seq(0.5, 1 - outer, nke) if nke == 2 else _r_seq(outer, 1 - outer, nke)
                probs = tuple(p)
                knots = xx.quantile(p)          # knots <- quantile(xx, p)
                if len(set(knots)) < min(nke, 3):   # if (length(unique(knots)) < min(nke, 3)) {
                    rule = "alternate"
                    probs = tuple(_r_seq(outer, 1 - outer, 2 * nke))
                    knots = xx.quantile(probs)  #   quantile(xx, seq(outer, 1 - outer, length = 2 * nke))
                    if firstknot and len(set(knots)) < 3:
                        midval = (firstknot[0] + lastknot[0]) / 2 if lastknot else xx.median()
                        end = lastknot[0] if lastknot else xx.quantile([1 - outer])[0]
                        knots = sorted([firstknot[0], midval, end])
                    nu = len(set(knots))
                    if nu < 3:                  #   cat('Fewer than 3 unique knots ...'); print(table(x)); stop()
                        raise _too_few(*_patterns(x, weights), capital=True)
                    _warn(f"could not obtain {nke} interior knots with default algorithm.\n "
                          f"Used alternate algorithm to obtain {nu} knots", warns)
            if xx.n < 100:                      # if (length(xx) < 100) {
                small_n = True
                if not tied_low:                #   if (!overrideFirst) knots[1] <- xx[5]
                    knots = _assign(knots, 1, xx.r_element(5), warns)
                if not tied_high:               #   if (!overrideLast) knots[nke] <- xx[length(xx) - 4]
                    knots = _assign(knots, nke, xx.r_element(xx.n - 4), warns)
        knots = firstknot + list(knots) + lastknot   # knots <- c(firstknot, knots, lastknot)

    final = np.array(sorted({k for k in knots if not math.isnan(k)}), dtype=float)  # sort(unique(knots))
    if final.size < 3:                          # if (nk < 3) { cat('fewer than 3 unique knots ...'); stop() }
        raise _too_few(*_patterns(x, weights), capital=False)
    final.flags.writeable = False
    out = Knots(values=final, rule=rule, requested=nk, n=n, n_unique=int(nxu), probs=probs,
                tied_low=tied_low, tied_high=tied_high, small_n=small_n, warnings=tuple(warns))
    object.__setattr__(out, "note", _describe(out, values, counts))
    return out


def _describe(k: Knots, values, counts) -> str:
    """One sentence for a report: how many knots, where, and why."""
    vals = ", ".join(_r_num(v) for v in k.values)
    if k.rule == "few-unique":
        return (f"x has only {k.n_unique} distinct values: knots at the {len(k)} interior values ({vals}) "
                f"instead of the {k.requested} requested")
    parts = []
    share = counts / counts.sum()
    if k.tied_low:
        parts.append(f"the smallest value ({_r_num(values[0])}) holds {share[0]:.0%} of the rows, so the "
                     f"first knot is the next value, {_r_num(k.values[0])}")
    if k.tied_high:
        parts.append(f"the largest value ({_r_num(values[-1])}) holds {share[-1]:.0%} of the rows, so the "
                     f"last knot is the next value in, {_r_num(k.values[-1])}")
    if k.small_n:
        parts.append("fewer than 100 values, so the outer knots are the 5th smallest and 5th largest values")
    probs = ", ".join(f"{p:g}" for p in k.probs)
    if k.rule == "alternate":
        head = (f"{len(k)} knots ({vals}) instead of {k.requested}: rms's default quantiles did not give "
                f"3 distinct knots (x has {k.n_unique} distinct values), so rcspline.eval's alternate rule "
                f"(quantiles {probs}) was used")
    elif len(k) == k.requested and not (k.tied_low or k.tied_high or k.small_n):
        head = f"{len(k)} knots at rms's default quantiles ({probs}): {vals}"
    else:
        head = f"{len(k)} knots ({vals}) by rms's rule (quantiles {probs})"
    return "; ".join([head] + parts)


def rcs_knots(x, nk: int = DEFAULT_NK, weights=None, fractied: float = DEFAULT_FRACTIED) -> np.ndarray:
    """The knots of rms::rcs(x, nk) as an array (see `choose_knots`, which also says which rule applied;
    same tests: equal to R's knots exactly)."""
    return choose_knots(x, nk, weights=weights, fractied=fractied).values


def rcs_names(variable: str, n_knots: int) -> list[str]:
    """rms's names for the k - 1 columns: x, x', x'', ..."""
    return [variable] + [variable + "'" * j for j in range(1, n_knots - 1)]


# ---------------------------------------------------------------------------------------------------
# basis
# ---------------------------------------------------------------------------------------------------

def _clean_knots(knots) -> np.ndarray:
    k = np.asarray(knots, dtype=float).ravel()
    if np.any(~np.isfinite(k)):
        raise ValueError(f"knots must be finite numbers, got {list(knots)!r}")
    k = np.unique(k)                            # R: knots <- sort(unique(knots))
    if k.size < 3:
        raise ValueError(f"a restricted cubic spline needs at least 3 distinct knots, got {list(knots)!r}")
    return k


def rcs_basis(x, knots, norm: int = 2) -> np.ndarray:
    """Columns of Hmisc::rcspline.eval(x, knots, inclx = TRUE, norm = norm): x, then k - 2 non-linear
    columns; norm = 2 (rms's default) divides by (last knot - first knot)^(2/3), so coefficients equal
    rms::lrm's for rcs(x, knots).  Knots are sorted and de-duplicated, as R does; NaN in x gives NaN rows.

    Tested against R's rcspline.eval at 20 ages with the nk = 4 real-data knots and on 3 synthetic knot
    sets: difference <= 1e-12 x max(1, |value|) (observed 5e-14 against R's 15-digit values)."""
    k = _clean_knots(knots)
    x = _as_float(x)
    if x.size > 1000:         # each distinct value (bit pattern) once, then copied to its rows: same bits
        codes, uniq = pd.factorize(np.ascontiguousarray(x).view(np.uint64))
        if 2 * len(uniq) < x.size:
            return rcs_basis(uniq.view(float), k, norm)[codes]
    nk = k.size
    knot1, knotnk, knotnk1 = k[0], k[-1], k[-2]
    kd = {0: 1.0, 1: knotnk - knotnk1}.get(norm, (knotnk - knot1) ** (2 / 3))
    out = np.empty((x.size, nk - 1))
    out[:, 0] = x
    tail_last = np.maximum((x - knotnk) / kd, 0) ** 3
    tail_prev = np.maximum((x - knotnk1) / kd, 0) ** 3
    for j in range(nk - 2):
        # pmax((x - knots[j])/kd, 0)^3 + ((knotnk1 - knots[j]) * pmax((x - knotnk)/kd, 0)^3
        #   - (knotnk - knots[j]) * pmax((x - knotnk1)/kd, 0)^3) / (knotnk - knotnk1)
        out[:, j + 1] = (np.maximum((x - k[j]) / kd, 0) ** 3
                         + ((knotnk1 - k[j]) * tail_last - (knotnk - k[j]) * tail_prev) / (knotnk - knotnk1))
    return out


def rcs_basis_derivative(x, knots, norm: int = 2) -> np.ndarray:
    """d/dx of each column of `rcs_basis(x, knots, norm)` (the first column's is 1).

    Tested against central finite differences of rcs_basis (relative 1e-7) at 400 points spanning and
    beyond the knots, and for being constant beyond the last knot (the spline is linear there)."""
    k = _clean_knots(knots)
    x = _as_float(x)
    nk = k.size
    knot1, knotnk, knotnk1 = k[0], k[-1], k[-2]
    kd = {0: 1.0, 1: knotnk - knotnk1}.get(norm, (knotnk - knot1) ** (2 / 3))
    out = np.empty((x.size, nk - 1))
    out[:, 0] = np.where(np.isnan(x), np.nan, 1.0)
    d_last = np.maximum((x - knotnk) / kd, 0) ** 2
    d_prev = np.maximum((x - knotnk1) / kd, 0) ** 2
    for j in range(nk - 2):
        out[:, j + 1] = (3 / kd) * (np.maximum((x - k[j]) / kd, 0) ** 2
                                    + ((knotnk1 - k[j]) * d_last - (knotnk - k[j]) * d_prev) / (knotnk - knotnk1))
    return out


# ---------------------------------------------------------------------------------------------------
# formulas
# ---------------------------------------------------------------------------------------------------

def _is_count(knots) -> bool:
    return np.ndim(knots) == 0


def _count(knots) -> int:
    if isinstance(knots, bool) or float(knots) != int(knots):
        raise ValueError(f"rcs(x, k): k must be a whole number of knots or a list of knots, got {knots!r}")
    return int(knots)


def _explicit(knots) -> np.ndarray:
    k = np.asarray(knots, dtype=float).ravel()
    if k.size < 3:
        raise ValueError(f"rcs(x, knots): give at least 3 knots or a knot count, got {list(k)!r}")
    return _clean_knots(k)


class _RCS:
    """patsy stateful transform behind `rcs`: remembers the knots chosen from the model's data."""

    def __init__(self):
        self._chunks: list[np.ndarray] = []
        self._nk: int | None = None
        self.knots: Knots | None = None

    def memorize_chunk(self, x, knots=DEFAULT_NK):
        if _is_count(knots):
            self._nk = _count(knots)
            self._chunks.append(_as_float(x))

    def memorize_finish(self):
        if self._chunks:
            self.knots = choose_knots(np.concatenate(self._chunks), self._nk)
            self._chunks = []

    def transform(self, x, knots=DEFAULT_NK):
        if _is_count(knots):
            if self.knots is None:
                raise RuntimeError("rcs(x, k) has no memorized knots: call it through patsy/statsmodels, "
                                   "or directly as rcs(x, k)")
            k = self.knots.values
        else:
            k = _explicit(knots)
        name = x.name if isinstance(x, pd.Series) and isinstance(x.name, str) else "x"
        index = x.index if isinstance(x, (pd.Series, pd.DataFrame)) else None
        return pd.DataFrame(rcs_basis(x, k), columns=rcs_names(name, k.size), index=index)


rcs = patsy.stateful_transform(_RCS)
rcs.__doc__ = """rms::rcs for formulas: `rcs(x, k)` (k knots chosen by rcspline.eval from the model's data,
memorized for predictions) or `rcs(x, [k1, k2, ...])` (explicit knots).  Returns a DataFrame with rms's
column names (x, x', x'', ...) and x's index; in a formula patsy names the columns `rcs(x, k)[0]`, `[1]`, ...

Needs `from analysis.model.splines import rcs` in the module that calls statsmodels (its default eval_env looks
`rcs` up in the caller's namespace).  Called directly, `rcs(x, 4)` chooses knots from this x.

Tested: smf.logit with rcs(age, 4) and rcs(m26, 3) (both spellings of age) on the real data reproduces
rms::lrm and glm(rcs()) (tolerances: coefficients and SEs 1e-6 relative, log-likelihood and AIC 1e-8
relative, fitted probabilities 1e-8 absolute; observed: 2e-11, 5e-12, 4e-15, 4e-14), and predict() on new
rows (other index, ages outside the data's knots) uses the memorized knots."""


def _number(node) -> float | int:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _number(node.operand)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    raise ValueError("not a number")


def parse_rcs_term(term: str):
    """(variable, k) for "rcs(x, 4)" / "rcs(x)" (k = 5, rms's default) / "rcs(x, knots=4)", and
    (variable, [knots]) for "rcs(x, [1, 2.5, 3])" (a list or tuple of numbers); None when `term` is not an
    rcs(...) call (e.g. "age", "C(job)", "rcs(age, 4):C(job)").  Raises ValueError for an rcs(...) call it
    cannot read (e.g. rcs(x, k) with k a name, or fewer than 3 knots).

    Tested on both spellings, on patsy's own term names, and round trips with `rcs_term`."""
    try:
        tree = ast.parse(term.strip(), mode="eval")
    except SyntaxError:
        return None
    call = tree.body
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "rcs"):
        return None
    args = list(call.args)
    kw = {k.arg: k.value for k in call.keywords}
    if set(kw) - {"x", "knots"} or len(args) + len(kw) not in (1, 2) or len(args) > 2:
        raise ValueError(f"cannot read {term!r}: write rcs(variable, k) or rcs(variable, [knots])")
    if "x" in kw:
        args.insert(0, kw.pop("x"))
    if "knots" in kw:
        args.append(kw.pop("knots"))
    if not isinstance(args[0], ast.Name):
        raise ValueError(f"cannot read {term!r}: the first argument must be a variable name")
    variable = args[0].id
    if len(args) == 1:
        return variable, DEFAULT_NK
    spec = args[1]
    try:
        if isinstance(spec, (ast.List, ast.Tuple)):
            knots = [_number(e) for e in spec.elts]
            if len(knots) < 3:
                raise ValueError(f"cannot read {term!r}: give at least 3 knots")
            return variable, knots
        k = _number(spec)
    except ValueError as exc:
        if "at least 3" in str(exc):
            raise
        raise ValueError(f"cannot read {term!r}: knots must be a whole number or a list of numbers") from None
    if float(k) != int(k):
        raise ValueError(f"cannot read {term!r}: the number of knots must be whole")
    return variable, int(k)


def _knot_text(v) -> str:
    v = float(v)
    return str(int(v)) if v.is_integer() and abs(v) < 2 ** 53 else repr(v)


def rcs_term(variable: str, knots) -> str:
    """The canonical spelling: "rcs(age, 4)" for a count, "rcs(age, [27, 35.5, 44, 59])" for knots (ints
    where integral, else repr of the float, so parse_rcs_term reads back the same doubles).  The spacing
    is patsy's, so the string equals patsy's term name for it.  Tested: exact round trips, patsy's names."""
    if _is_count(knots):
        return f"rcs({variable}, {_count(knots)})"
    return f"rcs({variable}, [{', '.join(_knot_text(v) for v in np.asarray(knots, float).ravel())}])"


def rms_column_names(names: Sequence[str]) -> list[str]:
    """Design column names with patsy's `rcs(x, ...)[j]` replaced by rms's `x`, `x'`, `x''`; other names
    unchanged.  Tested on the exog_names of the real-data fit against lrm's coefficient names."""
    out = []
    for name in names:
        new = name
        if name.endswith("]") and "[" in name:
            head, _, idx = name[:-1].rpartition("[")
            try:
                parsed = parse_rcs_term(head)
            except ValueError:
                parsed = None
            if parsed is not None and idx.isdigit():
                new = parsed[0] + "'" * int(idx)
        out.append(new)
    return out


# ---------------------------------------------------------------------------------------------------
# tests on a fitted model
# ---------------------------------------------------------------------------------------------------

class WaldTest(NamedTuple):
    chi2: float
    df: int
    p: float
    columns: tuple


def rcs_terms_of(result) -> dict[str, slice]:
    """{term name: slice of its columns in params} for every rcs term of a statsmodels formula fit
    (from its patsy design_info; without one, from the exog names `rcs(...)[j]`)."""
    model = getattr(result, "model", result)
    info = design_info(model)
    terms: dict[str, slice] = {}
    if info is not None:
        for name, sl in info.term_name_slices.items():
            try:
                if parse_rcs_term(name) is not None:
                    terms[name] = sl
            except ValueError:
                pass
        return terms
    names = list(model.exog_names)
    for i, name in enumerate(names):
        if name.endswith("]") and "[" in name:
            head = name[:-1].rpartition("[")[0]
            try:
                ok = parse_rcs_term(head) is not None
            except ValueError:
                ok = False
            if ok:
                sl = terms.get(head)
                terms[head] = slice(sl.start if sl else i, i + 1)
    return terms


def wald_test(result, columns) -> WaldTest:
    """Joint Wald chi-square b' V^-1 b of the coefficients at `columns` (indices or exog names), with
    V = result.cov_params(); df = number of columns.  Tested against rms anova(fit) lines (1e-6 relative)."""
    names = list(result.model.exog_names)
    idx = [names.index(c) if isinstance(c, str) else int(c) for c in columns]
    b = np.asarray(result.params)[idx]
    V = np.asarray(result.cov_params())[np.ix_(idx, idx)]
    chi2 = float(b @ np.linalg.solve(V, b))
    df = len(idx)
    return WaldTest(chi2, df, float(stats.chi2.sf(chi2, df)), tuple(names[i] for i in idx))


def linearity_test(result, term: str | None = None) -> WaldTest:
    """Wald test that an rcs term is linear: the joint chi-square of its non-linear columns (all but the
    first) = the "Nonlinear" line under the term in rms's anova(fit).  term: a variable ("age"), a term as
    written ("rcs(age, 4)") or None for all rcs terms together (= anova's "TOTAL NONLINEAR").

    Tested against rms 6.5 anova(lrm fit) on the real data: age (2 df), m26 (1 df) and TOTAL NONLINEAR
    (3 df): chi-square 1e-6 relative, p-value 1e-6 relative."""
    terms = rcs_terms_of(result)
    if not terms:
        raise ValueError("the model has no rcs(...) term")
    if term is None:
        chosen = list(terms)
    else:
        wanted = term.strip()
        chosen = [t for t in terms if parse_rcs_term(t)[0] == wanted or t == wanted
                  or t == _normalise(wanted)]
        if not chosen:
            raise ValueError(f"no rcs term for {term!r}; the model's rcs terms are {list(terms)}")
    cols = [i for t in chosen for i in range(terms[t].start + 1, terms[t].stop)]
    return wald_test(result, cols)


def _normalise(term: str) -> str:
    parsed = parse_rcs_term(term)
    return rcs_term(*parsed) if parsed else term


def lr_test(full, reduced, df: int | None = None) -> WaldTest:
    """Likelihood-ratio chi-square 2 (llf_full - llf_reduced).  full / reduced: log-likelihoods (then give
    df, e.g. k - 2 for an rcs term with k knots against the linear term) or fitted results (df = difference
    in the number of parameters).  Tested against R: glm with rcs(age, 4) vs age linear (1e-6 relative)."""
    ll_full = float(getattr(full, "llf", full))
    ll_reduced = float(getattr(reduced, "llf", reduced))
    if df is None:
        if not (hasattr(full, "params") and hasattr(reduced, "params")):
            raise ValueError("give df when passing log-likelihoods")
        df = len(full.params) - len(reduced.params)
    chi2 = 2 * (ll_full - ll_reduced)
    return WaldTest(chi2, int(df), float(stats.chi2.sf(chi2, df)), ())


# ---------------------------------------------------------------------------------------------------
# rms datadist and summary(fit) effects
# ---------------------------------------------------------------------------------------------------

def datadist_limits(x, q_effect=(0.25, 0.75), weights=None) -> dict:
    """rms::datadist's limits for a numeric variable: {"low", "adjust", "high"} ("Low:effect", "Adjust to",
    "High:effect").  low/high = type-7 quantiles q_effect of the non-missing values (the range when there are
    fewer than 4 distinct values, or when the two quantiles are equal); adjust = the median (the smallest /
    middle value with fewer than 3 / exactly 3 distinct values).
    ``weights``: integer frequency weights (a pattern table's ``trials``): the limits of the expanded rows.
    Tested against R's datadist for age and m26 on the real data (exact), weighted against expanded rows."""
    values, counts = _patterns(x, weights)
    xx = _Sorted(values, counts)
    if xx.n < 2:
        raise ValueError("fewer than 2 non-missing observations")
    r = (float(values[0]), float(values[-1]))
    q = r if values.size < 4 else tuple(xx.quantile(q_effect))
    low, high = q
    if low == high:
        low, high = r
    if values.size < 3:
        adjust = float(values[0])
    elif values.size == 3:
        adjust = float(values[1])
    else:
        adjust = xx.median()
    return {"low": low, "adjust": adjust, "high": high}


def reference_profile(data: pd.DataFrame, columns, weights=None) -> dict:
    """The value each of ``columns`` is held at when another varies (an effect, a curve, a contrast): the
    median of a numeric column with more than two distinct values (rms's "Adjust to", ``datadist``), the
    most frequent value of any other column (ties: the first in sorted order, or in category order);
    weighted by ``weights`` (a pattern table's trials: the values of the expanded rows). rms adjusts a
    numeric column with two values to the smaller one; the most frequent value is used here for every
    two-valued column, which changes nothing in a model without interactions (the difference of two rows
    that differ in one variable does not depend on the others) and reads better when there are.
    Tested (tests/model/test_splines.py) through ``effect`` against rms's summary, and by hand."""
    out = {}
    w = np.ones(len(data)) if weights is None else np.asarray(weights, dtype=float)
    for col in columns:
        s = data[col]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s) and s.nunique() > 2:
            out[col] = datadist_limits(s.to_numpy(dtype=float), weights=weights)["adjust"]
        else:
            counts = pd.Series(w, index=s.index).groupby(s.to_numpy(), sort=False).sum()
            order = (list(s.cat.categories) if isinstance(s.dtype, pd.CategoricalDtype)
                     else sorted(counts.index, key=str))
            counts = counts.reindex([o for o in order if o in counts.index])
            out[col] = counts.index[int(np.argmax(counts.to_numpy()))]
    return out


def quantiles(x, probs, weights=None) -> list[float]:
    """R's ``quantile(x, probs, type = 7)`` of the rows (``weights``: integer frequency weights, a pattern
    table's trials), without expanding them. Tested with ``datadist_limits`` against R (exact)."""
    values, counts = _patterns(x, weights)
    return _Sorted(values, counts).quantile(probs)


class Effect(NamedTuple):
    low: float
    high: float
    estimate: float      # log odds ratio for a logit
    se: float
    lower: float
    upper: float

    def exp(self) -> tuple[float, float, float]:
        """(odds ratio, lower, upper)."""
        return math.exp(self.estimate), math.exp(self.lower), math.exp(self.upper)


def effect(result, data: pd.DataFrame, variable: str, low=None, high=None, conf: float = 0.95,
           weights=None, profile: dict | None = None) -> Effect:
    """rms summary(fit)'s effect of moving `variable` from `low` to `high` (default: datadist's
    inter-quartile limits on data[variable]) with every other variable at rms's "Adjust to" value (median
    of a numeric column, most frequent value of any other): the linear-predictor difference x_high - x_low
    times the coefficients, its Wald SE sqrt(c' V c) and normal limits.  Built with the fit's own design
    (memorized knots), so any formula term works. The other variables are held at
    :func:`reference_profile`.
    ``weights``: frequency weights of the rows of ``data`` (a pattern table's ``trials``): limits, medians and
    modes of the expanded rows. ``profile``: ``reference_profile(data, data.columns, weights)`` when the
    caller already has it (several effects on one table); only the other variables' values are used.
    Tested against rms 6.5 summary(lrm fit) for age and m26 on the real data (1e-6 relative)."""
    info = design_info(result.model)
    if info is None:
        raise ValueError("effect() needs a model built from a formula (patsy design)")
    w = None if weights is None else np.asarray(weights)
    lim = datadist_limits(data[variable], weights=w)
    low = lim["low"] if low is None else low
    high = lim["high"] if high is None else high
    row = reference_profile(data, list(data.columns), w) if profile is None else dict(profile)
    rows = pd.DataFrame([row, row]).astype({c: data[c].dtype for c in data.columns})
    rows[variable] = [low, high]
    X = np.asarray(patsy.build_design_matrices([info], rows)[0])
    c = X[1] - X[0]
    b = np.asarray(result.params)
    V = np.asarray(result.cov_params())
    est = float(c @ b)
    se = float(math.sqrt(c @ V @ c))
    z = stats.norm.ppf(1 - (1 - conf) / 2)
    return Effect(float(low), float(high), est, se, float(est - z * se), float(est + z * se))
