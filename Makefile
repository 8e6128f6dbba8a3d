# One command each, on a fresh machine with Python 3.11+ and make: each target sets itself up.
#   make report                 render _output/report.html and report.pdf on the embedded simulated data
#   make report DATA=file.csv   ... on real data
#   make test                   run the test suite
#   make benchmark              stepwise speed benchmark (not part of the tests)
#   make benchmark-scale        1M / 10M / 100M-row benchmark (about 10 minutes, 2 GB of files in /tmp)
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
OUT    ?= _output
DATA   ?=
ARGS   ?=

.PHONY: setup report fit test benchmark benchmark-scale clean

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

benchmark-scale: setup
	$(PY) benchmarks/scale.py

clean:
	rm -rf $(OUT) .pytest_cache
