# The two commands of the README. Each sets up what it needs first (scripts/setup.sh prints the Python to use).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

.PHONY: demo test test-all test-fast sync-notebooks docs benchmarks env

demo:  ## set up (with the toy world's text encoder), then run the main job on the toy world (results in outputs/demo/)
	@py=$$(scripts/setup.sh "text"); set -x; "$$py" -m l2vkit demo

test:  ## set up with test tools, then run every test tier but `slow` (minutes each), all notebooks included, one worker per core (at most 4; L2VKIT_TEST_WORKERS=1 for one): what CI runs
	@py=$$(scripts/setup.sh "test,text"); set -x; "$$py" -m pytest -m "not slow" -n $${L2VKIT_TEST_WORKERS:-auto} --maxprocesses 4 --dist loadfile

test-all:  ## every tier, `slow` too (20,000-render ruler check, 2,000-video accuracy, two-process training): about 10 minutes more
	@py=$$(scripts/setup.sh "test,text"); set -x; "$$py" -m pytest

test-fast:  ## unit tests only
	@py=$$(scripts/setup.sh "test,text"); set -x; "$$py" -m pytest -m unit

sync-notebooks:  ## after editing a notebook's .py twin (or .ipynb): set-up cells from l2vkit/install.py, lab exercises from solutions, pairs in sync
	@py=$$(scripts/setup.sh "test,text"); set -x; "$$py" scripts/sync_setup_cells.py; "$$py" scripts/make_lab_exercises.py; \
		"$$py" -m jupytext --sync notebooks/*.py $$(ls tutorials/*.py 2>/dev/null)

docs:  ## build the documentation site into site/ (warnings are errors, as in CI; every notebook is executed on the toy world for its page, about 4 minutes; L2VKIT_DOCS_EXECUTE=false skips that)
	@py=$$(scripts/setup.sh "docs,text,notebooks"); set -x; "$$py" -m mkdocs build --strict --site-dir site

benchmarks:  ## every benchmark, one Markdown table (outputs/benchmarks/summary.md; see benchmarks/)
	@py=$$(scripts/setup.sh "test,text"); set -x; "$$py" benchmarks/run_all.py

env:  ## the environment report for bug reports
	@py=$$(scripts/setup.sh ""); "$$py" -m l2vkit env
