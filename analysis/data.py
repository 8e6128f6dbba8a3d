"""Data layer: read, validate and clean the coupon CSV (placeholder until validation lands)."""
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import schema


@dataclass(frozen=True)
class CleanData:
    data: pd.DataFrame
    accounting: pd.DataFrame


def clean(raw: pd.DataFrame) -> pd.DataFrame:
    out = raw.drop(columns=[schema.ID]).copy()
    for col, dummy in schema.DUMMY.items():
        out[dummy] = (out.pop(col) == "yes").astype("int64")
    out[schema.RESPONSE] = out.pop(schema.RAW_RESPONSE).astype("int64")
    return out


def load_clean(path) -> CleanData:
    raw = pd.read_csv(Path(path))
    data = clean(raw)
    accounting = pd.DataFrame({"step": ["rows read", "rows used"], "rows": [len(raw), len(data)]})
    return CleanData(data, accounting)
