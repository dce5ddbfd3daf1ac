# The course's commands. `make run` and `make test` build the environment on first use.
# With the conda environment from environment.yml activated, every target uses it instead of .venv.

# Python 3.11 to 3.13: the first of python3.11, python3.12, python3.13 on the PATH, unless BASE_PYTHON is set.
BASE_PYTHON ?= $(firstword $(foreach version,3.11 3.12 3.13,$(shell command -v python$(version) 2>/dev/null)))
ifeq ($(CONDA_DEFAULT_ENV),keras-transfer-course)
  BIN := $(CONDA_PREFIX)/bin
  ENV_STAMP := $(CONDA_PREFIX)/.keras-transfer-course-installed
else
  BIN := .venv/bin
  ENV_STAMP := .venv/.installed
endif
PY := $(BIN)/python
# Seconds one notebook cell may run, for `make run` and `make test` alike.
NOTEBOOK_TIMEOUT ?= 600
# The helper modules `make sync` writes from helpers/NAME.hand.py and the notebooks (commands/sync.py). Git
# ignores them, and so does ruff when it walks helpers/: they are linted by being named.
HELPERS_MADE := helpers/pipelines.py helpers/models.py helpers/stats.py helpers/data.py
LINT_PATHS := helpers $(HELPERS_MADE) commands tests notebooks/*.py conftest.py
# ruff format would drop the `;` that hides a cell's value and fold exercise stubs, so notebooks are only checked.
FORMAT_PATHS := helpers $(HELPERS_MADE) commands tests conftest.py

.PHONY: setup lint test run site lab sync bench prefetch predict student wheelhouse clean

# Ends with the generated helpers written, so that a notebook opened in any Jupyter finds them.
setup: $(ENV_STAMP) $(HELPERS_MADE)

# uv installs the pinned versions, compiled to bytecode as pip does (without it, where PYTHONDONTWRITEBYTECODE
# is set, every import of TensorFlow would compile it again). uv does not read pip's configuration (an index
# mirror, say): where it fails, pip installs instead. Reinstalls only when the pins or the packaging changed.
UV := uv==0.13.9
$(ENV_STAMP): requirements.txt pyproject.toml
	@if [ "$(BIN)" = ".venv/bin" ] && [ ! -x $(PY) ]; then \
	  if [ -z "$(BASE_PYTHON)" ] || ! "$(BASE_PYTHON)" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' 2>/dev/null; then \
	    echo "The course needs Python 3.11, 3.12 or 3.13: install one (python3.11, python3.12 or python3.13 on the PATH) or set BASE_PYTHON=/path/to/python3.1x."; \
	    exit 1; \
	  fi; \
	  "$(BASE_PYTHON)" -m venv .venv; \
	fi
	@if [ -d wheelhouse ]; then \
	  echo "Installing from wheelhouse/ without the network."; \
	  $(PY) -m pip install --quiet --no-index --find-links wheelhouse -r requirements.txt -e .; \
	elif $(PY) -m pip install --quiet $(UV) && $(BIN)/uv pip install --quiet --compile-bytecode --python $(PY) -r requirements.txt -e .; then \
	  :; \
	else \
	  echo "uv could not install the pinned versions (its error is above): installing them with pip instead."; \
	  $(PY) -m pip install --quiet --upgrade pip && $(PY) -m pip install --quiet -r requirements.txt -e .; \
	fi
	@touch $@

# Rewritten when a notebook, a template or the generator changed (touched, so that an unchanged text counts as
# made). The student edition has no commands/sync.py: there the modules are plain files it ships.
ifneq ($(wildcard commands/sync.py),)
$(HELPERS_MADE) &: $(wildcard notebooks/*.py) $(wildcard helpers/*.hand.py) commands/sync.py | $(ENV_STAMP)
	$(PY) -m commands.sync
	@touch $(HELPERS_MADE)
endif

# Every pinned wheel, and what installing the helpers needs, in wheelhouse/, for machines without network
# (same operating system, processor and Python version as this one). `make setup` uses it when present.
wheelhouse:
	@if [ -z "$(BASE_PYTHON)" ]; then echo "make wheelhouse needs Python 3.11, 3.12 or 3.13 (or BASE_PYTHON)."; exit 1; fi
	"$(BASE_PYTHON)" -m pip download --quiet --dest wheelhouse -r requirements.txt "setuptools>=64" wheel
	@du -sh wheelhouse

lint: setup
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(FORMAT_PATHS)
	$(PY) -m commands.sync --check

# COURSE_TEST_FORK_KERNELS=1: the tests' notebook kernels are forked from a process that has imported
# TensorFlow once, instead of importing it again each (tests/kernel_zygote.py; about 8 s per kernel).
# tests/test_site.py executes every notebook as `make run` does (NOTEBOOK_TIMEOUT per cell), then builds
# and checks the site from those copies: the notebooks run once (nbmake ran them before; `pytest --nbmake
# notebooks` still works).
test: lint
	COURSE_TEST_FORK_KERNELS=1 COURSE_NOTEBOOK_TIMEOUT=$(NOTEBOOK_TIMEOUT) $(PY) -m pytest -n 2 --dist worksteal --durations=60 tests

# exec: the runner replaces the recipe's shell, so a SIGTERM that make passes on reaches it (Ctrl-C reaches it
# anyway). NOTEBOOKS: another folder of notebooks to run (the tests use one).
run: setup
	COURSE_NOTEBOOK_TIMEOUT=$(NOTEBOOK_TIMEOUT) exec $(PY) -m commands.run_course $(NOTEBOOKS)

# The course as a website in build/site/, from the notebooks the last `make run` executed (it runs none).
site: setup
	$(PY) -m commands.site

bench: setup
	$(PY) -m commands.bench

prefetch: setup
	$(PY) -m commands.prefetch

# Classifies image files with the model notebook 06 saved: IMAGES is a file, several files or a folder
# (a path with spaces in double quotes inside: IMAGES='"my photos/"'), MODEL another .keras file. Prints a
# table and writes a CSV and a contact sheet to build/predictions/, or to the folder OUT.
predict: setup
	$(PY) -m commands.predict $(if $(MODEL),--model "$(MODEL)") $(if $(OUT),--out "$(OUT)") $(IMAGES)

# The student edition: notebooks without reference solutions, in build/student/ and build/student.zip.
student: setup
	$(PY) -m commands.student

# JupyterLab on notebooks/: one entry per lesson, no kernel dialog, no news pop-up, works as root.
lab: setup
	$(PY) -m commands.lab

# Rewrites whichever file of each pair is older from the newer one, then the generated helper modules from
# their templates and the definitions the notebooks mark "# Saved in helpers/....py for later notebooks."
sync: setup
	$(BIN)/jupytext --sync notebooks/*.py
	$(PY) -m commands.sync
	@touch $(HELPERS_MADE)

clean:
	rm -rf build .pytest_cache
