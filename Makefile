# Two commands do all the set-up on a fresh clone: `make crosscheck` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install crosscheck test bench clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --constraint constraints.txt -e '.[test]'
	touch $(STAMP)

crosscheck: $(STAMP)
	$(PY) -m crosscheck --profile default

test: $(STAMP)
	$(PY) -m pytest -n auto -q --fuzz-ci

bench: $(STAMP)
	$(PY) benchmarks/bench_layers.py

clean:
	rm -rf $(VENV) build *.egg-info
