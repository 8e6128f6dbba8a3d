"""Train/test split defined by a seeded hash of the row ID.

A row is in the test sample when ``split_hash(ID, seed) < test_size``. The hash uses only
integer arithmetic that stays below 2**63 (two rounds of a multiply-and-reduce modulo the prime
2**31 - 1, with a squaring in between so that neighbouring IDs do not get neighbouring values),
so numpy, DuckDB SQL and Spark SQL compute the same value and pick the same rows whichever engine
reads the data, and a row's side does not depend on the order of the file or on the other rows.

The split is a Bernoulli split, not stratified: the test share is test_size in expectation and
the event rate of each sample is reported beside it. (A stratified split needs a sort of all rows
per class, which a streaming engine cannot do in one pass.)
"""
from __future__ import annotations

import numpy as np

PRIME = 2_147_483_647  # 2**31 - 1
MULT_ID = 1_103_515_245
MULT_SEED = 40_692
MULT_MIX = 48_271
OFFSET = 12_345


def split_hash(ids, seed: int) -> np.ndarray:
    """Uniform-looking value in [0, 1) for each ID; same formula as ``split_hash_sql``.

    Every intermediate is < 2**31 before a multiplication by a factor < 2**31, so int64 never
    overflows. Tested against a pure-Python big-integer evaluation of the same formula.
    """
    ids = np.asarray(ids, dtype=np.int64)
    x = (ids % PRIME * MULT_ID + (int(seed) % PRIME) * MULT_SEED % PRIME + OFFSET) % PRIME
    x = (x * x) % PRIME
    x = (x * MULT_MIX + OFFSET) % PRIME
    return x / PRIME


def split_hash_sql(id_column: str, seed: int) -> str:
    """The same hash as a SQL expression over BIGINT (DuckDB and Spark SQL).

    SQL's ``%`` truncates towards zero where numpy's (and Python's) floors, so the ID is first brought
    into [0, PRIME) by ``((id % P) + P) % P``: negative IDs get the same side in every engine (tested)."""
    s = (int(seed) % PRIME) * MULT_SEED % PRIME
    x0 = f"(((CAST({id_column} AS BIGINT) % {PRIME}) + {PRIME}) % {PRIME})"
    x1 = f"({x0} * {MULT_ID} + {s} + {OFFSET}) % {PRIME}"
    x2 = f"(({x1}) * ({x1})) % {PRIME}"
    x3 = f"(({x2}) * {MULT_MIX} + {OFFSET}) % {PRIME}"
    return f"(CAST({x3} AS DOUBLE) / {PRIME})"


def in_test_sample(ids, seed: int, test_size: float) -> np.ndarray:
    """Boolean mask of the rows that go to the test sample (all False when test_size is 0)."""
    if not 0 <= test_size < 1:
        raise ValueError(f"test_size must be in [0, 1); got {test_size}")
    if test_size == 0:
        return np.zeros(len(ids), dtype=bool)
    return split_hash(ids, seed) < test_size
