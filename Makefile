# The two commands of the README. Each sets up what it needs first (scripts/setup.sh), then runs.
SHELL := /bin/bash
PY = $(shell cat .l2vkit-python)

.PHONY: demo test test-fast notebooks sync-notebooks benchmarks env

demo:  ## set up, then run the main job on the toy world (results in outputs/)
	@scripts/setup.sh ""
	$(PY) -m l2vkit demo

test:  ## set up with test tools, then run every test tier incl. all notebooks
	@scripts/setup.sh "test,text"
	$(PY) -m pytest

test-fast:  ## unit tests only
	@scripts/setup.sh "test,text"
	$(PY) -m pytest -m "unit" tests

sync-notebooks:  ## after editing a notebook's .py twin (or .ipynb), bring the pair back in sync
	@scripts/setup.sh "test,text"
	$(PY) -m jupytext --sync notebooks/*.py tutorials/*.py

benchmarks:
	@scripts/setup.sh "test,text"
	$(PY) benchmarks/measure_accuracy.py

env:
	@scripts/setup.sh ""
	$(PY) -m l2vkit env
