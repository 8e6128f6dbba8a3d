"""Command line: ``python -m analysis {fit,report,init,simulate}``.

Exit codes: 0 success; 2 invalid input data, arguments or a model that cannot be estimated
(message on stderr, no traceback); 1 anything else.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from analysis.config import DEFAULT_DATA, RunConfig
from analysis.errors import ModelError, OutputError
from analysis.read import DataValidationError, EngineUnavailable, memory_bytes
from analysis.spec import SpecError
from analysis.model.firth import FirthError
from analysis.model.newton import SeparationError

EXIT_OK, EXIT_ERROR, EXIT_INVALID = 0, 1, 2


class Progress:
    """Progress lines on stderr, with the elapsed time, for steps that take a while."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self.start = time.perf_counter()

    def __call__(self, message: str) -> None:
        if not self.quiet:
            print(f"[{time.perf_counter() - self.start:6.1f}s] {message}", file=sys.stderr, flush=True)


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def _probability(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1), got {text}")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {text}")
    return value


def _memory_limit(text: str) -> str:
    try:
        memory_bytes(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


def _data_path(text: str):
    """A local path (Path), or a URI kept as text (Path would fold the // of hdfs://host/...)."""
    from analysis.read.dataset import scheme

    return text if scheme(text) not in (None, "file") or (scheme(text) == "file" and "//" in text) else Path(text)


def _baseline(text: str) -> tuple[str, str]:
    column, sep, level = text.partition("=")
    if not sep or not column.strip() or not level:
        raise argparse.ArgumentTypeError(f"expected VARIABLE=LEVEL (e.g. job=retired), got {text!r}")
    return column.strip(), level


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m analysis",
        description="Logistic-regression reports for a table with a binary outcome, described by a data "
                    "specification (default: the bundled coupon-data specification): validated data, stepwise "
                    "Logit, splines, odds ratios in words, calibration, bootstrap validation, and a Quarto "
                    "report, slides and workbook.")
    sub = parser.add_subparsers(dest="command", required=True)

    def model_options(p):
        p.add_argument("--data", type=_data_path, default=DEFAULT_DATA,
                       help="input CSV or Parquet file, or a folder or glob of them (partitioned data sets too); "
                            "with --engine spark any path Spark reads (file:, hdfs:, s3a:, ...) (default: the "
                            "embedded simulated sample %(default)s)")
        p.add_argument("--spec", type=Path, default=None,
                       help="data specification (TOML) of the file: response, variables, words, rules "
                            "(default: the bundled Tmall coupon specification; draft one with 'init')")
        p.add_argument("--out", type=Path, default=Path("_output"), help="output directory (default: %(default)s)")
        p.add_argument("--test-size", type=_fraction, default=0.0,
                       help="share of rows held out for evaluation, by a seeded hash of the ID (of the row's position "
                            "when the specification declares no ID); 0 fits and selects on all rows and "
                            "validates by the optimism bootstrap, the better estimate unless events are plentiful "
                            "(see README) (default: %(default)s)")
        p.add_argument("--seed", type=int, default=100, help="seed of the train/test split (default: %(default)s)")
        p.add_argument("--exclude", action="append", default=[], metavar="EXPRESSION",
                       help="exclude the rows where EXPRESSION holds, e.g. 'age > 60' (repeatable; counted in "
                            "the row accounting)")
        p.add_argument("--max-age", type=int, default=None,
                       help="the same as --exclude 'age > N' (kept for the coupon data's 'age' column)")
        p.add_argument("--select", choices=["both", "forward", "backward", "none"], default="both",
                       help="stepwise direction; none keeps the full model (default: %(default)s)")
        p.add_argument("--criterion", choices=["aic", "bic", "pvalue"], default="aic",
                       help="aic/bic as R's step(); pvalue as SAS SELECTION=STEPWISE (default: %(default)s)")
        p.add_argument("--slentry", type=_probability, default=0.05,
                       help="p-value to enter, criterion pvalue (default: %(default)s)")
        p.add_argument("--slstay", type=_probability, default=0.05,
                       help="p-value to stay, criterion pvalue (default: %(default)s)")
        p.add_argument("--baseline", type=_baseline, action="append", default=[], metavar="COLUMN=LEVEL",
                       help="reference level of a categorical variable, e.g. job=retired (default: as the "
                            "specification says; its default is the most frequent level)")
        p.add_argument("--engine", choices=["auto", "memory", "duckdb", "spark"], default="auto",
                       help="how the file is read: memory (DuckDB over the rows in memory), duckdb (streamed "
                            "from disk, any size, CSV or Parquet), spark (Spark SQL, local or the session's "
                            "cluster); auto: memory for CSV files up to 64 MB, duckdb otherwise. Verdicts and "
                            "results are identical (default: %(default)s)")
        p.add_argument("--memory-limit", type=_memory_limit, default="2GB",
                       help="memory limit of the duckdb/spark engine, e.g. 4GB (default: %(default)s)")
        p.add_argument("--spark-master", default=None, metavar="URL",
                       help="Spark master of the spark engine: local[N], spark://HOST:PORT, yarn, ... (implies "
                            "--engine spark under auto). On a cluster the executors read and validate the data; "
                            "--data must be a path they can read (default: local mode)")
        p.add_argument("--firth", action="store_true",
                       help="fit every candidate term by Firth's penalised likelihood (Jeffreys prior), without "
                            "selection: estimates exist under separation and are less biased in small samples")
        p.add_argument("--bootstrap", type=_count, default=200, metavar="B",
                       help="resamples of the optimism bootstrap that repeats the whole selection in each (as "
                            "rms::validate): optimism-corrected AUC and calibration, selection stability, "
                            "bootstrap intervals of the odds ratios; 0 skips it (default: %(default)s)")
        p.add_argument("--bootstrap-seed", type=int, default=None,
                       help="seed of the bootstrap (default: the value of --seed)")
        p.add_argument("--workers", type=_positive, default=2,
                       help="processes for the bootstrap, and 1 to run the specification checks in the main "
                            "process instead of beside it; results do not depend on it (default: %(default)s)")
        p.add_argument("--missing", choices=["refuse", "complete_cases", "impute"], default=None,
                       help="missing values in the used columns: refuse the file, leave out the rows that have "
                            "one (complete_cases: counted per column, compared with the rows kept and stated in "
                            "the limitations) or impute them (default: the specification's [missing] strategy, "
                            "whose default is complete_cases); a row without the response is always left out "
                            "and counted")
        p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")

    fit = sub.add_parser("fit", help="compute tables, figures and metrics.json without rendering")
    model_options(fit)
    report = sub.add_parser("report", help="compute results and render report.html and report.pdf")
    model_options(report)
    report.add_argument("--renderer", choices=["auto", "quarto", "python"], default="auto",
                        help="auto: quarto if on PATH, else the built-in renderer (default: %(default)s)")
    report.add_argument("--formats", default="html,pdf,pptx",
                        help="comma-separated: html and pdf (report.qmd), pptx (slides.qmd); the workbook "
                             "report_tables.xlsx is always written (default: %(default)s)")
    report.add_argument("--allow-draft", action="store_true",
                        help="render a specification that still has CHECK or CHOOSE comments (a draft from "
                             "'init'; refused without this option), with every output stamped DRAFT")

    init = sub.add_parser("init", help="draft a data specification (TOML) from a CSV or Parquet file")
    init.add_argument("--data", type=Path, required=True, help="the data file to describe")
    init.add_argument("--out", type=Path, default=None,
                      help="where to write the draft (default: print it); an existing file is not overwritten")
    init.add_argument("--response", default=None, help="the response column, if you know it")

    sim = sub.add_parser("simulate", help="write a simulated data set with the coupon data's columns")
    sim.add_argument("--rows", type=int, default=25_000, help="number of rows (default: %(default)s)")
    sim.add_argument("--seed", type=int, default=2024, help="random seed (default: %(default)s)")
    sim.add_argument("--out", type=Path, required=True, help="output .csv or .parquet file")
    sim.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return parser


def _config(args):
    exclude = [(e, f"{e} (--exclude)") for e in args.exclude]
    if args.max_age is not None:
        exclude.append((f"age > {args.max_age}", f"age > {args.max_age} (--max-age {args.max_age})"))
    return RunConfig(data=args.data, out=args.out, spec=args.spec, test_size=args.test_size, seed=args.seed,
                     exclude=tuple(exclude), select=args.select, criterion=args.criterion,
                     slentry=args.slentry, slstay=args.slstay, baselines=dict(args.baseline),
                     engine=args.engine, memory_limit=args.memory_limit, spark_master=args.spark_master,
                     firth=args.firth,
                     bootstrap=args.bootstrap, bootstrap_seed=args.bootstrap_seed, workers=args.workers,
                     missing=args.missing)


def _draft_refusal(config) -> str:
    """Why ``report`` will not render the specification of ``config`` (it still marks guesses of ``init``),
    naming every mark; "" for a finished specification."""
    spec = config.load_spec()
    if not spec.draft:
        return ""
    n = len(spec.markers)
    return (f"the specification {spec.path} is a draft: {n} comment{'s' if n != 1 else ''} still "
            f"mark{'s' if n == 1 else ''} a guess or a choice of 'init':\n"
            + "\n".join(f"  {m}" for m in spec.markers)
            + "\nCheck each, correct the value if need be and delete the comment; or run again with "
              "--allow-draft for a report stamped DRAFT.")


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    progress = Progress(quiet=getattr(args, "quiet", False))
    try:
        if args.command == "simulate":
            from analysis.simulate import write_simulated

            if args.rows < 1:
                parser.error("--rows must be at least 1")
            if args.out.suffix.lower() not in (".csv", ".parquet"):
                parser.error(f"--out must end in .csv or .parquet, not {args.out.name!r}")
            path = write_simulated(args.out, n_rows=args.rows, seed=args.seed, progress=progress)
            progress(f"wrote {path}")
            return EXIT_OK
        if args.command == "init":
            from analysis.draft import draft_command

            return draft_command(args.data, args.out, args.response)
        from analysis import pipeline

        config = _config(args)
        if args.command == "report" and not args.allow_draft and (refusal := _draft_refusal(config)):
            print(f"error: {refusal}", file=sys.stderr)
            return EXIT_INVALID
        results = pipeline.run(config, progress=progress)
        pipeline.write_outputs(results, config.out, progress=progress)
        if args.command == "report":
            formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
            outputs = pipeline.render_report(config.out, engine=args.renderer, formats=formats, progress=progress)
            for path in outputs.values():
                progress(f"wrote {path}")
        used, fitted = results.metrics["data"]["rows_used"], results.metrics["model"]["n_obs"]
        imputed = (results.metrics.get("missing") or {}).get("imputation")
        pooled = (f"; the pooled model on {imputed['rows']:,} rows, {imputed['rows_with_missing']:,} of them imputed "
                  f"{imputed['m']} times" if imputed else "")
        print(f"{used:,} rows used ({fitted:,} to fit the model{pooled}); results in {config.out}", file=sys.stderr)
        return EXIT_OK
    except SeparationError as err:
        print(f"error: {err}\nThe maximum-likelihood estimate does not exist for these data (separation). "
              "Run again with --firth to fit Firth's penalised logit, which exists here.", file=sys.stderr)
        return EXIT_INVALID
    except FirthError as err:
        print(f"error: Firth's penalised fit cannot be computed: {err}", file=sys.stderr)
        return EXIT_INVALID
    except (DataValidationError, ModelError, SpecError, OutputError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_INVALID
    except EngineUnavailable as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_ERROR
    except Exception as err:  # noqa: BLE001 - last resort: one line, not a traceback
        print(f"error: unexpected failure: {type(err).__name__}: {err}", file=sys.stderr)
        print("Run with ANALYSIS_DEBUG=1 for the traceback.", file=sys.stderr)
        if __import__("os").environ.get("ANALYSIS_DEBUG"):
            raise
        return EXIT_ERROR
