"""The command line shared by benchmarks/raw_logit.py and benchmarks/pattern_logit.py."""
import argparse
from pathlib import Path


def parse(description: str, engine: bool = False) -> argparse.Namespace:
    """FILE --out RESULT.json [--seed 100] [--test-size 0] [--spec SPEC.toml] (the package's split
    defaults and its bundled specification); with ``engine``, also [--engine duckdb]."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("data", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=100)
    parser.add_argument("--test-size", type=float, default=0.0)
    parser.add_argument("--spec", type=Path, default=None,
                        help="data specification (default: the bundled analysis/spec/tmall.toml; "
                             "tests/specs/tmall_linear.toml for the all-linear model)")
    if engine:
        parser.add_argument("--engine", default="duckdb", choices=["memory", "duckdb", "spark"])
    return parser.parse_args()
