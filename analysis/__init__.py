"""Coupon-use logistic-regression report for Tmall / ANT Credit Pay."""
import warnings

# pandera imports pyspark.pandas whenever pyspark is installed (it is, for --engine spark), and
# pyspark warns about pandas 3 on import; that warning concerns pyspark.pandas, which we do not use.
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)

