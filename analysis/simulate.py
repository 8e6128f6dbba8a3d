"""Simulated coupon data with the columns of the real Tmall file (the one module that knows that data set).

The simulator is calibrated to aggregate figures of the real data, stored in
``simulator_calibration.json`` (made by ``tools/calibrate_simulator.py``; no rows are copied):
job shares; age by job (normal, rounded, clipped to the job's observed range); marriage by age
band; default/returned/loan rates by job; the distribution of coupons used in the last six months
and of the last month given the last six months; and the response drawn from the logit model with
the coefficients fitted on the real data (``TRUE_COEFFICIENTS``), so a fit on simulated data
should recover them (tested).

Every file it writes gets a sidecar ``<file>.simulated.json`` (seed, rows, SHA-256), by which the
data layer recognises simulated data and the report labels it as such.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.read import SIDECAR_SUFFIX, sha256_file

#: the columns of the Tmall coupon file (as the bundled specification analysis/spec/tmall.toml declares them)
ID = "ID"
RESPONSE = "coupon_ind"
YES_NO = ("default", "returned", "loan")
COLUMNS = (ID, "age", "job", "marriage", *YES_NO, "coupon_used_in_last6_month", "coupon_used_in_last_month",
           RESPONSE)

CALIBRATION_FILE = Path(__file__).with_name("simulator_calibration.json")
DEFAULT_ROWS = 25_000
DEFAULT_SEED = 2024
CHUNK_ROWS = 1_000_000
AGE_LIMITS = (18, 95)


@lru_cache(maxsize=1)
def calibration() -> dict:
    return json.loads(CALIBRATION_FILE.read_text())


def true_coefficients() -> pd.Series:
    """The coefficients the response is drawn from, named as statsmodels names them."""
    return pd.Series(calibration()["coefficients"], dtype=float)


def _draw_categorical(rng: np.random.Generator, labels, probs, size: int) -> np.ndarray:
    probs = np.asarray(probs, dtype=float)
    cdf = np.cumsum(probs / probs.sum())
    return np.asarray(labels)[np.searchsorted(cdf, rng.random(size), side="right").clip(max=len(cdf) - 1)]


def _draw_conditional(rng, groups: np.ndarray, tables: dict, size: int) -> np.ndarray:
    """For each row, draw a value from the distribution ``tables[group]`` (dict value -> prob)."""
    out = np.zeros(size, dtype=np.int64)
    u = rng.random(size)
    for group, table in tables.items():
        rows = groups == group
        values = np.array(list(table.keys()))
        cdf = np.cumsum(np.array(list(table.values()), dtype=float))
        cdf /= cdf[-1]
        out[rows] = values[np.searchsorted(cdf, u[rows], side="right").clip(max=len(cdf) - 1)]
    return out


def simulate(n_rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED, first_id: int = 1) -> pd.DataFrame:
    """A raw frame (columns as in the real CSV) of ``n_rows`` simulated customers."""
    cal = calibration()
    rng = np.random.default_rng(seed)
    n = int(n_rows)
    jobs = sorted(cal["job_share"])
    job = _draw_categorical(rng, jobs, [cal["job_share"][j] for j in jobs], n)

    age = np.empty(n)
    for j in jobs:
        rows = job == j
        a = cal["age_by_job"][j]
        draw = np.rint(rng.normal(a["mean"], a["std"], rows.sum()))
        age[rows] = draw.clip(max(a["min"], AGE_LIMITS[0]), min(a["max"], AGE_LIMITS[1]))
    age = age.astype(np.int64)

    bands = np.searchsorted(np.asarray(cal["age_bands"][1:-1]), age, side="left")
    marriage = np.empty(n, dtype=object)
    for b, shares in enumerate(cal["marriage_by_age_band"]):
        rows = bands == b
        marriage[rows] = _draw_categorical(rng, list(shares), list(shares.values()), rows.sum())

    flags = {}
    for col in YES_NO:
        rate = pd.Series(cal["yes_rate_by_job"][col]).reindex(job).to_numpy()
        flags[col] = rng.random(n) < rate

    pmf = cal["last6_pmf"]
    last6 = _draw_categorical(rng, [int(k) for k in pmf], list(pmf.values()), n).astype(np.int64)
    capped = np.minimum(last6, cal["last6_cap"])
    tables = {int(m): {int(k): v for k, v in t.items()} for m, t in cal["last_month_given_last6"].items()}
    last_month = np.minimum(_draw_conditional(rng, capped, tables, n), last6)

    beta = true_coefficients()
    eta = np.full(n, beta["Intercept"])
    for j in jobs:
        eta += beta.get(f"C(job)[T.{j}]", 0.0) * (job == j)
    for m in ("married", "single", "divorced"):
        eta += beta.get(f"C(marriage)[T.{m}]", 0.0) * (marriage == m)
    eta += beta["age"] * age
    for col in YES_NO:
        eta += beta[f"{col}_yes"] * flags[col]
    eta += beta["coupon_used_in_last6_month"] * last6 + beta["coupon_used_in_last_month"] * last_month
    response = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(np.int64)

    yes_no = {col: np.where(flags[col], "yes", "no") for col in YES_NO}
    return pd.DataFrame({
        ID: np.arange(first_id, first_id + n, dtype=np.int64),
        "age": age, "job": job, "marriage": marriage.astype(str),
        **yes_no,
        "coupon_used_in_last6_month": last6, "coupon_used_in_last_month": last_month,
        RESPONSE: response,
    })[list(COLUMNS)]


def write_simulated(path: str | Path, n_rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED,
                    chunk_rows: int = CHUNK_ROWS, progress=None) -> Path:
    """Write ``n_rows`` simulated rows to CSV or Parquet in chunks, plus the sidecar file.

    Chunk ``k`` is drawn with seed ``[seed, k]``, so the file depends on (rows, seed) only and
    memory stays bounded by ``chunk_rows`` whatever the size.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = path.suffix.lower()
    if fmt not in (".csv", ".parquet"):
        raise ValueError(f"simulate writes .csv or .parquet files, not '{path.suffix}'")
    writer = None
    with open(path, "wb") as handle:
        for k, start in enumerate(range(0, int(n_rows), chunk_rows)):
            size = min(chunk_rows, int(n_rows) - start)
            chunk = simulate(size, seed=np.random.SeedSequence([seed, k]).generate_state(1)[0], first_id=start + 1)
            if fmt == ".csv":
                handle.write(chunk.to_csv(index=False, header=(k == 0), lineterminator="\n").encode())
            else:
                import pyarrow as pa
                import pyarrow.parquet as pq

                table = pa.Table.from_pandas(chunk, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(handle, table.schema)
                writer.write_table(table)
            if progress:
                progress(f"simulated {start + size:,} of {int(n_rows):,} rows")
        if writer is not None:
            writer.close()
    digest = sha256_file(path)
    sidecar = {"simulated": True, "generator": "analysis.simulate", "rows": int(n_rows), "seed": int(seed),
               "chunk_rows": int(chunk_rows), "sha256": digest,
               "calibrated_to": calibration()["source"]}
    path.with_name(path.name + SIDECAR_SUFFIX).write_text(json.dumps(sidecar, indent=1) + "\n")
    return path
