"""Test-suite wiring shared by every tier (see tests/README.md).

- notebooks collected by nbmake get the `notebooks` marker and a wall-clock budget each, and run in the fast lab
  mode (``L2VKIT_FAST=1`` unless set);
- `gpu` tests are skipped when CUDA is absent;
- memory is collected after every test, so a long run does not grow.
"""
import gc
import os

import pytest

#: Each notebook must finish within this many seconds on a 2-core CPU (override with L2VKIT_NOTEBOOK_BUDGET_S): the
#: fast lab mode's promise of 2 minutes.
NOTEBOOK_BUDGET_S = float(os.environ.get("L2VKIT_NOTEBOOK_BUDGET_S", "120"))
# nbmake's kernels inherit this: the suite runs every notebook in the fast lab mode (l2vkit.labs.mode) unless told
# otherwise; tests/test_notebooks_full.py (slow tier) runs the full mode.
os.environ.setdefault("L2VKIT_FAST", "1")


def _is_notebook(item) -> bool:
    return str(item.path).endswith(".ipynb")


def pytest_collection_modifyitems(config, items):
    gpu_items = [item for item in items if "gpu" in item.keywords]
    cuda = False
    if gpu_items:
        import torch

        cuda = torch.cuda.is_available()
    for item in items:
        if _is_notebook(item):
            item.add_marker(pytest.mark.notebooks)
        if "gpu" in item.keywords and not cuda:
            item.add_marker(pytest.mark.skip(reason="needs a CUDA GPU"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.passed and _is_notebook(item) and call.duration > NOTEBOOK_BUDGET_S:
        report.outcome = "failed"
        report.longrepr = (f"{item.path.name} ran {call.duration:.0f} s, over its budget of {NOTEBOOK_BUDGET_S:.0f} s "
                           "(L2VKIT_NOTEBOOK_BUDGET_S)")


@pytest.fixture(autouse=True)
def _free_memory():
    yield
    gc.collect()
