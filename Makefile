# One command each, on a fresh machine with Python 3.11+ and make: each target sets itself up.
#   make report                 render _output/report.html and report.pdf on the embedded simulated data
#   make report DATA=file.csv   ... on real data
#   make test                   run the test suite (with ../shared/quarto beside the checkout, through the real
#                               Quarto CLI too, installed once into .quarto-cli/)
#   make quarto                 install that Quarto CLI (nothing to do when it works or without ../shared/quarto)
#   make benchmark              stepwise speed benchmark (not part of the tests)
#   make benchmark-validate     the optimism bootstrap against rms::validate (R and rms needed for the ratio)
#   make benchmark-scale        1M / 10M / 100M-row benchmark (about 10 minutes, 2 GB of files in /tmp)
#   make benchmark-cluster      the same through a standalone Spark cluster on 127.0.0.1 (ROWS=..., see the README)
#   make fuzz                   10,000 seeded mutated files through every engine and the command line
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
OUT    ?= _output
DATA   ?=
ARGS   ?=
# the offline Quarto installer of the development machines and CI; users install Quarto from quarto.org or
# `pip install quarto-cli`, and the tests use a `quarto` on PATH when .quarto-cli/ is absent
QUARTO_INSTALLER ?= ../shared/quarto/install.sh
# never .quarto/: that is Quarto's own scratch folder, which `quarto render FILE --output-dir DIR` deletes
QUARTO_CLI := .quarto-cli

.PHONY: setup java quarto report fit test benchmark benchmark-validate benchmark-scale benchmark-cluster fuzz clean

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# Java 17 for --engine spark and the Spark tests (the cluster test of tests/test_spark_cluster.py): installed
# with Debian's apt-get when `java -version` fails and apt-get is there (CI runs as root on Debian); otherwise
# say what is missing (the Spark tests then skip, or fail under CI=true)
java:
	@java -version >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Java 17 (openjdk-17-jre-headless) for the spark engine"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless) >/dev/null; \
	  else echo "no Java runtime and no apt-get: install Java 17 or later for --engine spark and its tests"; fi; }
	@command -v unshare >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq util-linux >/dev/null; } || true

setup: $(VENV)/.installed java

# once: a working install is left alone (install.sh itself would re-check every step, about 10 s)
quarto:
	@if $(QUARTO_CLI)/bin/quarto --version >/dev/null 2>&1; then \
	  echo "Quarto $$($(QUARTO_CLI)/bin/quarto --version) in $(QUARTO_CLI)/"; \
	elif [ -f "$(QUARTO_INSTALLER)" ]; then \
	  bash "$(QUARTO_INSTALLER)" $(QUARTO_CLI); \
	else \
	  echo "$(QUARTO_INSTALLER) not found: Quarto is not installed here; tests that render through Quarto use" \
	       "a quarto on PATH, or skip"; \
	fi

# `report` renders through Quarto when it is installed in .quarto-cli/ or on PATH, else with the built-in renderer
report: setup
	PATH="$(abspath $(QUARTO_CLI))/bin:$$PATH" $(PY) -m analysis report $(if $(DATA),--data "$(DATA)") --out "$(OUT)" $(ARGS)

fit: setup
	$(PY) -m analysis fit $(if $(DATA),--data "$(DATA)") --out "$(OUT)" $(ARGS)

test: setup quarto
	$(PY) -m pytest -q

benchmark: setup
	$(PY) benchmarks/stepwise.py

benchmark-validate: setup
	$(PY) benchmarks/validate.py

benchmark-scale: setup
	$(PY) benchmarks/scale.py

ROWS ?= 10000000
benchmark-cluster: setup
	$(PY) benchmarks/scale.py --rows $(ROWS) --start-cluster 2 --raw-max 0

FUZZ_BASE ?= ../shared/data/tianmao.csv
fuzz: setup
	$(PY) benchmarks/fuzz.py --cases 10000 --workers 2 --base "$(FUZZ_BASE)" --rows 2000 --spark-every 200 --cli-every 100

clean:
	rm -rf $(OUT) .pytest_cache
