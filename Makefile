# Two entry points for a fresh machine: `make run` (main job, default offline data) and `make test`.
PY ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= 2
WORKERS ?= $(shell echo $$(($(CORES) + 1)))

.PHONY: venv run test test-fast lint bench clean

$(BIN)/jetad: requirements.txt requirements-nodeps.txt pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -r requirements-nodeps.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $(BIN)/jetad

venv: $(BIN)/jetad

run: venv
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/snakemake --cores $(CORES) results/roc.pdf

# everything: unit tests, Snakemake/DVC integration, SLURM, g++ builds of hls4ml projects;
# the 15 slowest listed at the end (the suite's budget is 30 minutes on 2 cores); each file on one
# pytest-xdist worker so that its module fixtures are built once; one worker more than cores,
# because the workers wait on subprocesses (Snakemake, DVC, g++) a third of the time
test: venv
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/python -m pytest -q --durations=15 -n $(WORKERS) --dist loadfile tests

# the unit tests only (no Snakemake, DVC, SLURM or g++ builds): a few minutes on 2 cores
test-fast: venv
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/python -m pytest -q -m "not (integration or cluster or build or slow)" tests

lint: venv
	$(BIN)/ruff check src tests bench
	cd $(CURDIR) && $(BIN)/lint-imports

bench: venv
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/python bench/pixelize.py

clean:
	rm -rf data/* results/* logs .snakemake
