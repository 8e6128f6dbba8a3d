# One command each, on a fresh machine with Python 3.11+ and make: each target sets itself up.
#   make report                 render _output/report.html and report.pdf on the embedded simulated data
#   make report DATA=file.csv   ... on real data
#   make test                   run the test suite
#   make benchmark              stepwise speed benchmark (not part of the tests)
#   make benchmark-validate     the optimism bootstrap against rms::validate (R and rms needed for the ratio)
#   make benchmark-scale        1M / 10M / 100M-row benchmark (about 10 minutes, 2 GB of files in /tmp)
#   make fuzz                   10,000 seeded mutated files through every engine and the command line
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
OUT    ?= _output
DATA   ?=
ARGS   ?=

.PHONY: setup report fit test benchmark benchmark-validate benchmark-scale fuzz clean

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

setup: $(VENV)/.installed

report: setup
	$(PY) -m analysis report $(if $(DATA),--data "$(DATA)") --out "$(OUT)" $(ARGS)

fit: setup
	$(PY) -m analysis fit $(if $(DATA),--data "$(DATA)") --out "$(OUT)" $(ARGS)

test: setup
	$(PY) -m pytest -q

benchmark: setup
	$(PY) benchmarks/stepwise.py

benchmark-validate: setup
	$(PY) benchmarks/validate.py

benchmark-scale: setup
	$(PY) benchmarks/scale.py

FUZZ_BASE ?= ../shared/data/tianmao.csv
fuzz: setup
	$(PY) benchmarks/fuzz.py --cases 10000 --workers 2 --base "$(FUZZ_BASE)" --rows 2000 --spark-every 200 --cli-every 100

clean:
	rm -rf $(OUT) .pytest_cache
