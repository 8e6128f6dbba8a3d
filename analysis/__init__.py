"""Coupon-use logistic-regression report for Tmall / ANT Credit Pay."""
import warnings

# pandera imports pyspark.pandas whenever pyspark is installed (it is, for --engine spark), and
# pyspark warns about pandas 3 on import; that warning concerns pyspark.pandas, which we do not use.
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)


__all__ = ["stepwise"]


def __getattr__(name):
    """``analysis.stepwise(data, response, terms, ...)``: the selection function, importable lazily.

    ``analysis.stepwise`` is also the module that defines it (``from analysis.stepwise import
    stepwise`` keeps working); the module is made callable so that both spellings work.
    """
    if name != "stepwise":
        raise AttributeError(f"module 'analysis' has no attribute {name!r}")
    import importlib

    return importlib.import_module(".stepwise", __name__)  # a callable module (see analysis/stepwise.py)
