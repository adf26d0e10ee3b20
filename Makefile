# The two commands of the README. Each sets up what it needs first (scripts/setup.sh prints the Python to use).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

.PHONY: demo test test-fast sync-notebooks benchmarks env

demo:  ## set up, then run the main job on the toy world (results in outputs/)
	@py=$$(scripts/setup.sh ""); set -x; "$$py" -m l2vkit demo

test:  ## set up with test tools, then run every test tier incl. all notebooks
	@py=$$(scripts/setup.sh "test,text"); set -x; "$$py" -m pytest

test-fast:  ## unit tests only
	@py=$$(scripts/setup.sh "test,text"); set -x; "$$py" -m pytest -m unit

sync-notebooks:  ## after editing a notebook's .py twin (or .ipynb), bring the pair back in sync (lab exercises from solutions)
	@py=$$(scripts/setup.sh "test,text"); set -x; "$$py" scripts/make_lab_exercises.py; \
		"$$py" -m jupytext --sync notebooks/*.py $$(ls tutorials/*.py 2>/dev/null)

benchmarks:  ## every benchmark, one Markdown table (outputs/benchmarks/summary.md; see benchmarks/)
	@py=$$(scripts/setup.sh "test,text"); set -x; "$$py" benchmarks/run_all.py

env:  ## the environment report for bug reports
	@py=$$(scripts/setup.sh ""); "$$py" -m l2vkit env
