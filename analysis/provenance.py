"""What produced a run: the software versions and the code revision (run.json states them)."""
from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGES = ("analysis", "numpy", "pandas", "scipy", "statsmodels", "patsy", "matplotlib", "duckdb", "pyarrow")


def software_versions() -> dict:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def code_revision() -> str:
    """The git commit of the package's checkout (with "-dirty" when it has uncommitted changes), or
    "unknown" outside a git checkout: the code version the report states."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                              text=True, timeout=10)
        if head.returncode:
            return "unknown"
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return head.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def run_info(config, fit, yname: str) -> dict:
    """run.json: the configuration, the software, the code revision and statsmodels' summaries of the fit."""
    return {"config": config.as_dict(), "software": software_versions(), "code_revision": code_revision(),
            **fit.summary_texts(yname)}
