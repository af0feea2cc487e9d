# Two commands do all the set-up on a fresh clone: `make crosscheck` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install crosscheck test bench clean soak mutation ecosystem notebooks

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --constraint constraints.txt -e '.[test]'
	touch $(STAMP)

crosscheck: $(STAMP)
	$(PY) -m crosscheck --profile default --order 2

# --crosscheck-order 2: the conformance suite checks the reference's double backward too
test: $(STAMP)
	$(PY) -m pytest -n auto -q --fuzz-ci --crosscheck-order 2

# docs/notebooks/ from the chapters (run after editing a chapter; the tests check they agree).
notebooks: $(STAMP)
	$(PY) docs/make_notebooks.py

bench: $(STAMP)
	$(PY) benchmarks/bench_layers.py

# Not part of `make test`: both take long (figures in docs/mutation.md).
# The full profile and random fuzzing under seeds 0-9, against a correct torch-backed
# implementation and against the reference: any failure is a false one (exit 1).
soak: $(STAMP)
	$(PY) benchmarks/soak.py

# Not part of `make test` (95 minutes on 2 cores: JAX 30, tinygrad 66): real libraries (JAX,
# MyGrad, tinygrad, numpy-ml) gated through their adapters on the default profile, each case in
# a worker process; writes docs/ecosystem.md. tinygrad's CPU device also needs a clang on the
# PATH (Debian: clang-14); without one its row says it was not gated.
ecosystem: $(STAMP)
	$(PY) -m pip install --quiet --constraint constraints.txt -e '.[ecosystem]'
	$(PY) examples/ecosystem.py

MUTATION_STAMP := $(VENV)/.installed-mutation

$(MUTATION_STAMP): $(STAMP) pyproject.toml constraints.txt
	$(PY) -m pip install --quiet --constraint constraints.txt -e '.[mutation]'
	touch $(MUTATION_STAMP)

# mutmut over the op modules of reference/ ([tool.mutmut] in pyproject.toml), then the score
# per module. Results are kept in mutants/ and reused; `make mutation MUTANTS='reference.conv.*'`
# reruns those mutants only. One BLAS thread per mutant: mutmut runs one per core.
mutation: $(MUTATION_STAMP)
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m mutmut run $(MUTANTS)
	@$(PY) -m mutmut results --all true | awk -F': ' ' \
	  { m = $$1; sub(/^ +/, "", m); sub(/\.[^.]*$$/, "", m); n[m]++; s[m, $$2]++; s["all", $$2]++; n["all"]++ } \
	  END { printf "%-26s %7s %7s %8s %7s %6s %8s\n", "module", "mutants", "killed", "survived", "timeout", "other", "killed%"; \
	        for (m in n) { o = n[m] - s[m, "killed"] - s[m, "survived"] - s[m, "timeout"]; \
	          printf "%-26s %7d %7d %8d %7d %6d %7.1f%%\n", m, n[m], s[m, "killed"], s[m, "survived"], s[m, "timeout"], o, \
	                 100 * s[m, "killed"] / n[m] | "sort" } }'

clean:
	rm -rf $(VENV) build *.egg-info
