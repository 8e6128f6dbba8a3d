"""Writes tests/reference/synthetic_stepwise.csv: 400 rows made up for testing SAS-style stepwise selection.

x1 = x2 + x3 + noise carries the signal of x2 and x3 (which drive y), so with slentry = slstay = 0.15
x1 enters first and leaves once x2 and x3 are in: a path with a removal that is not a cycle, and a
3-level categorical g entering with 2 df. The file, not this script, is the test input (numpy's
generator could change between versions); run from the repository root:

    .venv/bin/python tests/reference/make_synthetic.py
"""
from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(5)
n = 400
x2 = rng.normal(size=n)
x3 = rng.normal(size=n)
x1 = x2 + x3 + 0.5 * rng.normal(size=n)
x4 = rng.normal(size=n)
g = rng.choice(["a", "b", "c"], size=n)
eta = -0.5 + 0.8 * x2 + 0.8 * x3 + 0.3 * (g == "b")
y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
out = pd.DataFrame({"y": y, "x1": x1.round(3), "x2": x2.round(3), "x3": x3.round(3), "x4": x4.round(3), "g": g})
out.to_csv(Path(__file__).with_name("synthetic_stepwise.csv"), index=False)
