# numazu-geo: `make demo` and `make test` work on a fresh machine (they set up .venv first).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup system-deps demo test bench lab clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

system-deps:
	./.ci/system-deps.sh

demo: setup
	$(BIN)/numazu-geo demo --out out/demo

test: setup system-deps
	$(BIN)/python -m pytest -q

lab: setup
	$(BIN)/jupyter lab --notebook-dir=notebooks

bench: setup
	$(BIN)/python benchmarks/bench_ingest.py
	$(BIN)/python benchmarks/bench_solar.py
	$(BIN)/python benchmarks/bench_solar_binning.py
	$(BIN)/python benchmarks/bench_greenview.py

clean:
	rm -rf $(VENV) out artifacts .pytest_cache
