"""A run's results: the tables, the metrics, the figures and what produced them; written to and read from a folder.

``Results`` is what a run returns; :func:`write_outputs` writes it under the results folder with fixed
file names (``tables/*.csv``, ``figures/*.png`` and ``*.svg``, ``metrics.json``, ``run.json``,
``spec.toml``), and :func:`load` reads a folder back as ``RunResults`` for the report, which computes
nothing itself. ``Metrics`` is metrics.json, filled in one place (:meth:`Metrics.collect`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import OutputError
from analysis.present import plots
from analysis.present.escape import csv_cell
from analysis.spec import load_spec


@dataclass
class Metrics:
    """metrics.json, in its key order: the final and full model's glance, the method, the bootstrap (when
    run), each sample's performance, which sample the tables describe, the model's baselines, candidate
    and selected terms and formula, the data and split, the specification, the top-scored group, the
    reference profiles of the effect curves and the missing values (strategy and counts:
    ``analysis.evaluate.missing.facts``)."""

    model: dict
    full_model: dict
    method: str
    bootstrap: dict | None
    train: dict
    test: dict | None
    evaluation_sample: str
    baselines: dict
    terms: list
    selected_terms: list
    formula: str
    data: dict
    split: dict
    spec: dict
    profile: dict
    effect_profiles: dict
    missing: dict | None = None

    @classmethod
    def collect(cls, *, fit, assessment, boot, pattern_data, samples, engine, config, spec, profile,
                effect_profiles, missing=None) -> "Metrics":
        from analysis.model.fit import baseline_levels, build_formula
        from analysis.read.patterns import TRIALS

        key = f"split_hash({spec.id.column}, seed)" if spec.id else "split_hash(row number, seed)"
        return cls(
            **fit.metrics(), bootstrap=boot, train=assessment.metrics["train"], test=assessment.metrics.get("test"),
            evaluation_sample=assessment.evaluated, baselines=baseline_levels(samples.train, fit.candidates),
            terms=list(fit.candidates), selected_terms=list(fit.terms),
            # the model as a formula on the rows it stands for (the fit itself is the pattern form of it)
            formula=build_formula(spec.response.name, list(fit.terms)),
            data={**pattern_data.source, "rows_read": int(pattern_data.accounting["rows_remaining"].iloc[0]),
                  "rows_used": int(samples.all[TRIALS].sum()), "n_patterns": int(len(samples.all)),
                  "notes": list(pattern_data.notes), "engine": engine or "memory"},
            split={"test_size": config.test_size, "seed": config.seed, "stratified": False,
                   "rule": f"test if {key} < test_size (analysis.read.split)"},
            spec={"name": spec.name, "file": spec.path.name}, profile=profile, effect_profiles=effect_profiles,
            missing=missing)

    def as_dict(self) -> dict:
        """The metrics as metrics.json holds them (the bootstrap and the test sample only when there are)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        for optional in ("bootstrap", "test", "missing"):
            if out[optional] is None:
                del out[optional]
        return out


@dataclass
class Results:
    tables: dict[str, pd.DataFrame]
    metrics: dict
    figures: dict  # name -> (plot function, args, kwargs), drawn by write_outputs
    run: dict
    spec: object = None


def spec_text(spec) -> bytes | None:
    """The specification file of the run (None for a specification not read from a file), with the exclusion
    rules given on the command line (--exclude, --max-age) and a missing-value strategy given there (--missing)
    listed in a closing comment: the copy states everything that was applied and still loads as the file did
    (run.json holds the same settings)."""
    if not Path(spec.path).is_file():
        return None
    text = Path(spec.path).read_bytes()
    own = load_spec(spec.path)
    added = spec.exclusions[len(own.exclusions):]
    strategy = getattr(spec, "missing_strategy", own.missing_strategy)
    if not added and strategy == own.missing_strategy:
        return text
    lines = [""]
    if added:
        lines += ["# Exclusions added on the command line for this run (also in run.json, config.exclude):"]
        lines += [f"#   exclude {json.dumps(e.condition.text, ensure_ascii=False)}, described as "
                  f"{json.dumps(e.description, ensure_ascii=False)}" for e in added]
    if strategy != own.missing_strategy:
        lines += [f"# Missing values: strategy {json.dumps(strategy)} given on the command line for this run "
                  "(--missing; also in run.json, config.missing)"]
    return text.rstrip(b"\n") + b"\n" + ("\n".join(lines) + "\n").encode("utf-8")


def prepare_output_dir(out: Path) -> Path:
    """Create the output folder (and tables/, figures/); refuse a path that exists and is not a folder,
    and remove the tables and figures of an earlier run (only files this package writes there), so that
    a report never shows a table of another run."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out}: exists and is not a folder. Give a folder for the results.")
    try:
        for sub in ("tables", "figures"):
            (out / sub).mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"--out {out}: cannot create the results folder ({err.strerror or err}).") from None
    for old in [*(out / "tables").glob("*.csv"), *(out / "figures").glob("*.png"), *(out / "figures").glob("*.svg")]:
        old.unlink()
    return out


def write_outputs(results: Results, out: Path, progress=lambda message: None) -> None:
    out = prepare_output_dir(out)
    for name, table in results.tables.items():
        text = table.select_dtypes(include=["object", "string"]).columns
        safe = table.assign(**{c: table[c].map(csv_cell) for c in text}) if len(text) else table
        safe.to_csv(out / "tables" / f"{name}.csv", index=False, lineterminator="\n")
    if results.spec is not None and (text := spec_text(results.spec)) is not None:
        (out / "spec.toml").write_bytes(text)
    progress(f"drawing {len(results.figures)} figures")
    plots.draw_and_save(results.figures, out / "figures", simulated=bool(results.metrics["data"].get("simulated")))
    (out / "metrics.json").write_text(json.dumps(_jsonable(results.metrics), indent=1, allow_nan=False) + "\n")
    (out / "run.json").write_text(json.dumps(_jsonable(results.run), indent=1) + "\n")
    marker = out / "DATA_ARE_SIMULATED.txt"
    if results.metrics["data"].get("simulated"):
        marker.write_text("The results in this folder were computed from SIMULATED data "
                          f"({results.metrics['data']['file']}), not from real data.\n")
    elif marker.exists():
        marker.unlink()
    progress(f"wrote {len(results.tables)} tables and {len(results.figures)} figures to {out}")


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


# ----------------------------------------------------------------------------- reading a results folder


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
    spec = load_spec(directory / "spec.toml")
    return RunResults(directory=directory, tables=tables, metrics=metrics, run=run, spec=spec)
