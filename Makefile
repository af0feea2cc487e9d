# Two commands do all the set-up on a fresh clone: `make crosscheck` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install crosscheck test bench clean soak

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

# Not part of `make test`: it takes long (figures in docs/mutation.md).
# The full profile and random fuzzing under seeds 0-9, against a correct torch-backed
# implementation and against the reference: any failure is a false one (exit 1).
soak: $(STAMP)
	$(PY) benchmarks/soak.py

clean:
	rm -rf $(VENV) build *.egg-info
