"""The settings of one run (:class:`RunConfig`), the default data and which engine reads a file.

A run is fixed by its configuration: data file, specification, split, selection, engine, bootstrap.
``RunConfig.as_dict`` is what run.json records; everything a run computes follows from it and the data.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from analysis.model.selection import SelectionSettings
from analysis.spec import load_spec, with_exclusions, with_missing

#: the embedded simulated sample (the default data of the default specification): in a checkout data/;
#: an installed package carries a copy in analysis/documents/
_CHECKOUT_DATA = Path(__file__).resolve().parents[1] / "data" / "simulated_tianmao.csv"
DEFAULT_DATA = (_CHECKOUT_DATA if _CHECKOUT_DATA.is_file()
                else Path(__file__).resolve().parent / "documents" / "simulated_tianmao.csv")
ENGINES = ("auto", "memory", "duckdb", "spark")
#: "auto" reads CSV files up to this size in memory, larger ones (and every Parquet file) with DuckDB,
#: streamed. Measured on simulated files: 2M rows (89 MB of CSV) took 13.4 s and 1.27 GB in memory,
#: 10.6 s and 0.64 GB streamed, whose memory stays bounded whatever the size.
AUTO_MEMORY_MAX_BYTES = 64 * 2**20


@dataclass(frozen=True)
class RunConfig:
    data: Path
    out: Path = Path("_output")
    #: the data specification (None: the bundled default, analysis/spec/tmall.toml)
    spec: Path | None = None
    #: share of rows held out (0: fit on all rows and validate by the optimism bootstrap, Harrell RMS 5.3)
    test_size: float = 0.0
    seed: int = 100
    #: exclusion rules added to the specification's, as expressions ("age > 60")
    exclude: tuple = ()
    select: str = "both"
    criterion: str = "aic"
    slentry: float = 0.05
    slstay: float = 0.05
    baselines: dict = field(default_factory=dict)
    #: how the file is read: "memory" (DuckDB over the rows held in memory), "duckdb" (streamed through
    #: a temporary Parquet file), "spark" (Spark SQL) or "auto" (see :func:`resolve_engine`); results
    #: are identical
    engine: str = "auto"
    #: memory limit of the DuckDB / Spark engine
    memory_limit: str = "2GB"
    #: the spark engine's master URL ("local[4]", "spark://host:7077", ...); None: an active session of the
    #: caller, else local mode. On a cluster the executors read and validate the data (analysis.read.spark_scan)
    spark_master: str | None = None
    #: fit every candidate term by Firth's penalised likelihood (no selection): for separated or sparse data
    firth: bool = False
    #: resamples of the optimism bootstrap of selection + fit (analysis.evaluate.bootstrap; 0: not run)
    bootstrap: int = 200
    #: seed of the bootstrap (None: the split's seed)
    bootstrap_seed: int | None = None
    #: processes for the bootstrap (results do not depend on it)
    workers: int = 2
    #: what to do with missing values: "refuse", "complete_cases" or "impute" (None: the specification's
    #: ``[missing] strategy``, whose default is "complete_cases")
    missing: str | None = None

    def as_dict(self) -> dict:
        """The run parameters (the output folder is not one: it does not change any result)."""
        d = asdict(self)
        d["data"] = str(self.data)
        d["spec"] = str(self.spec) if self.spec else None
        d["exclude"] = list(self.exclude)
        del d["out"]
        return d

    def selection(self, force=()) -> SelectionSettings:
        """The selection settings of the run, with the specification's forced terms ``force``."""
        return SelectionSettings(direction=self.select, criterion=self.criterion, slentry=self.slentry,
                                 slstay=self.slstay, force=tuple(force))

    @property
    def boot_seed(self) -> int:
        return self.seed if self.bootstrap_seed is None else self.bootstrap_seed

    def load_spec(self):
        """The specification of the run: the file ``spec`` (or the default) with ``exclude`` added to its
        exclusion rules and ``missing`` (when given) as its missing-value strategy."""
        spec = with_missing(load_spec(self.spec), self.missing)
        return with_exclusions(spec, self.exclude) if self.exclude else spec


def resolve_engine(engine: str, path, spark_master: str | None = None) -> str:
    """The engine "auto" stands for: "spark" when a Spark master is named; "memory" for a CSV file up to
    ``AUTO_MEMORY_MAX_BYTES``; "duckdb" for larger files, Parquet and folders. A path that is not a
    regular file or folder goes to "memory", whose first pass reports the problem (the same as every
    engine's)."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
    if engine != "auto":
        return engine
    if spark_master:
        return "spark"
    path = Path(path)
    try:
        if path.is_dir():
            return "duckdb"
        if not path.is_file():
            return "memory"
        with path.open("rb") as handle:
            parquet = handle.read(4) == b"PAR1"
        size = path.stat().st_size
    except OSError:
        return "memory"
    return "duckdb" if parquet or size > AUTO_MEMORY_MAX_BYTES else "memory"
