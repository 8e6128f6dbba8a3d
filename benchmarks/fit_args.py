"""The command line shared by benchmarks/raw_logit.py and benchmarks/pattern_logit.py."""
import argparse
from pathlib import Path


def parse(description: str) -> argparse.Namespace:
    """FILE --out RESULT.json [--seed 100] [--test-size 0.3], the package's split defaults."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("data", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=100)
    parser.add_argument("--test-size", type=float, default=0.3)
    return parser.parse_args()
