"""Read a results directory written by ``pipeline.write_outputs`` (what the report shows).

The report never recomputes: it loads the tables, metrics and figures of one run. When the
directory has no results yet (``quarto render report.qmd`` on a fresh checkout), ``load_or_run``
runs the pipeline first with the given parameters.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd


@dataclass(frozen=True)
class RunResults:
    directory: Path
    tables: dict[str, pd.DataFrame]
    metrics: dict
    run: dict
    #: the data specification of the run (``spec.toml`` in the folder, a copy of the one used)
    spec: object = None

    def figure(self, name: str, ext: str = "png") -> Path:
        path = self.directory / "figures" / f"{name}.{ext}"
        if not path.exists():
            raise FileNotFoundError(f"figure {path} was not produced by this run")
        return path

    @property
    def simulated(self) -> bool:
        return bool(self.metrics["data"].get("simulated"))


def load(directory: str | Path) -> RunResults:
    directory = Path(directory)
    tables = {p.stem: pd.read_csv(p) for p in sorted((directory / "tables").glob("*.csv"))}
    metrics = json.loads((directory / "metrics.json").read_text())
    run = json.loads((directory / "run.json").read_text())
    from analysis.spec import load_spec

    spec = load_spec(directory / "spec.toml")
    return RunResults(directory=directory, tables=tables, metrics=metrics, run=run, spec=spec)


def load_or_run(directory: str | Path, data: str | None = None, spec: str | None = None, **options) -> RunResults:
    """The results in ``directory``; when it has none yet (``quarto render report.qmd`` on a fresh
    checkout), the pipeline runs first on ``data`` (default: the embedded simulated sample) with the
    specification ``spec`` (default: the bundled one). Results of another file, specification or option than
    one asked for here (``quarto render report.qmd -P data:FILE`` after a render of the sample) are replaced by
    a new run; what is not asked for is taken as it is."""
    directory = Path(directory)
    if not (directory / "metrics.json").exists() or _other_run(directory, data, spec, options):
        from analysis import pipeline
        from analysis.cli import DEFAULT_DATA

        config = pipeline.RunConfig(data=Path(data) if data else DEFAULT_DATA, out=directory,
                                    spec=Path(spec) if spec else None, **options)
        pipeline.write_outputs(pipeline.run(config), directory)
    return load(directory)


def _other_run(directory: Path, data, spec, options: dict) -> bool:
    """Whether the results in ``directory`` differ from a run asked for with ``data``, ``spec`` and ``options``
    (each only when given)."""
    config = json.loads((directory / "run.json").read_text()).get("config", {})

    def same_file(recorded, asked):
        return recorded is not None and Path(recorded).resolve() == Path(asked).resolve()
    return bool((data and not same_file(config.get("data"), data))
                or (spec and not same_file(config.get("spec"), spec))
                or any(config.get(key) != value for key, value in options.items()))
