# The course's commands. `make run` and `make test` build the environment on first use.
# With the conda environment from environment.yml activated, every target uses it instead of .venv.

BASE_PYTHON ?= python3.11
ifeq ($(CONDA_DEFAULT_ENV),keras-transfer-course)
  BIN := $(CONDA_PREFIX)/bin
  ENV_STAMP := $(CONDA_PREFIX)/.keras-transfer-course-installed
else
  BIN := .venv/bin
  ENV_STAMP := .venv/.installed
endif
PY := $(BIN)/python
NOTEBOOK_TIMEOUT ?= 600

.PHONY: setup test run lab sync bench prefetch clean

setup: $(ENV_STAMP)

# Reinstalls only when the pinned versions or the helpers' packaging changed.
$(ENV_STAMP): requirements.txt pyproject.toml
	@if [ "$(BIN)" = ".venv/bin" ] && [ ! -x $(PY) ]; then $(BASE_PYTHON) -m venv .venv; fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -e .
	@touch $@

test: setup
	$(PY) -m pytest --nbmake --nbmake-timeout=$(NOTEBOOK_TIMEOUT) tests notebooks

run: setup
	$(PY) -m helpers.run_course

bench: setup
	$(PY) -m helpers.bench

prefetch: setup
	$(PY) -m helpers.prefetch

lab: setup
	$(BIN)/jupyter lab --notebook-dir=notebooks

# Rewrites whichever file of each pair is older from the newer one.
sync: setup
	$(BIN)/jupytext --sync notebooks/*.py

clean:
	rm -rf build .pytest_cache
