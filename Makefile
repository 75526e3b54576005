# clvkit: two commands do everything on a fresh machine with python3 and make.
#   make report   -> the default monthly report on the shipped data (reports/)
#   make test     -> the full test suite (unit tests, the documentation site, strict
#                    notebook validation)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# the extras `make setup` installs; environment.yml installs the same (tests/test_packaging.py)
EXTRAS := notebooks,dev,scale,course,docs
export MPLBACKEND := Agg
export PYTHONHASHSEED := 0

.PHONY: setup java browser sandbox student test unit slow unit-portable docs nbval notebooks report bench \
  lint clean data-synthetic

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	@# build matplotlib's font cache now: on a fresh machine its first import logs "building
	@# the font cache" to stderr, which strict nbval would see as an output of a notebook cell
	$(BIN)/python -c "import matplotlib.font_manager" 2>/dev/null
	touch $(STAMP)

## a headless Java runtime for the Spark SQL engine (tests/test_engines.py), only if missing
java:
	@command -v java >/dev/null 2>&1 || \
	  (apt-get update && apt-get install -y default-jre-headless)

## headless Chromium for the report render check (tests/report/test_run.py), only if missing and
## installable (root with apt-get, as in CI); elsewhere that one test is skipped and says why
browser:
	@command -v chromium >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1 || \
	  [ "$$(id -u)" != 0 ] || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

## bubblewrap, the sandbox of `clvkit course grade` (tests/test_course.py), only if missing and
## installable (root with apt-get, as in CI); elsewhere the grading tests fail and say why
sandbox:
	@command -v bwrap >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1 || \
	  [ "$$(id -u)" != 0 ] || (apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null)

## students: the student edition (no solutions, hidden tests or outputs) with its data in
## student/, opened in JupyterLab. Built once: running it again never overwrites your work
## (delete student/ for a fresh copy)
student: student/notebooks/.clvkit-course.json
	$(BIN)/jupyter lab student/notebooks

student/notebooks/.clvkit-course.json: | $(STAMP)
	$(BIN)/clvkit course release student/notebooks
	rm -rf student/data && cp -r data student/data

## the full test suite: fast unit tests first, the slow tests (Spark, simulation recoveries),
## the documentation site, then strict notebook validation
test: unit slow docs nbval

unit: $(STAMP) java browser
	$(BIN)/python -m pytest -p no:nbval -q -m "not notebooks and not spark and not slow" tests clvkit

## the slow tests: Spark SQL in a local session (a JVM), simulation recoveries, many refits
slow: $(STAMP) java
	$(BIN)/python -m pytest -p no:nbval -q -m "(spark or slow) and not notebooks" tests

## the unit suite on "another machine": a UTC+14 time zone, the C locale without UTF-8 mode,
## one BLAS thread, numpy's AVX-512 loops switched off (results must not depend on any of them)
unit-portable: $(STAMP) java
	TZ=Pacific/Kiritimati LC_ALL=C PYTHONUTF8=0 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
	  NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL AVX512_SPR" \
	  $(BIN)/python -m pytest -p no:nbval -q -m "not notebooks" tests clvkit

## the documentation site (docs/_build/html/index.html): Sphinx with warnings as errors, then
## every internal link and anchor checked offline
docs: $(STAMP)
	@$(BIN)/python -c "import sphinx, myst_nb" 2>/dev/null || \
	  { echo "make docs needs the docs extra: $(BIN)/pip install -e '.[docs]'"; exit 1; }
	rm -rf docs/_build docs/_generated docs/guide/_generated docs/api/generated docs/api/index.md \
	  docs/course/_student
	$(BIN)/python -m sphinx -W --keep-going -q -b html docs docs/_build/html
	$(BIN)/python docs/check_links.py docs/_build/html

## notebook validation: strict nbval of the course, then the tests that execute notebooks in
## kernels (report builds, course grading: marked `notebooks`)
nbval: $(STAMP) browser sandbox
	$(BIN)/python -m pytest -p nbval --nbval --nbval-current-env \
	  --nbval-sanitize-with tests/notebooks/sanitize.cfg -q notebooks/[0-9]*.ipynb \
	  -o addopts="" -p no:cacheprovider
	$(BIN)/python -m pytest -p no:nbval -q -m notebooks tests

## re-execute and re-save the course notebooks deterministically
notebooks: $(STAMP)
	$(BIN)/python -m clvkit.notebook_tools execute notebooks/[0-9]*.ipynb

## the default monthly report on the shipped data
report: $(STAMP)
	$(BIN)/clvkit report --force

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_summary.py
	$(BIN)/python benchmarks/bench_models.py
	$(BIN)/python benchmarks/bench_crm.py
	$(BIN)/python benchmarks/bench_crm_metrics.py
	$(BIN)/python benchmarks/bench_report.py
	$(BIN)/python benchmarks/bench_scale.py
	$(BIN)/python benchmarks/bench_uncertainty.py   # includes bench_coverage.py
	$(BIN)/python benchmarks/bench_grading.py

lint: $(STAMP)
	$(BIN)/ruff check clvkit tests benchmarks scripts

clean:
	rm -rf $(VENV) .pytest_cache build dist *.egg-info docs/_build docs/_generated \
	  docs/guide/_generated docs/api/generated docs/api/index.md docs/course/_student
