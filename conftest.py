"""Test-suite wiring shared by every tier (see tests/README.md).

- notebooks collected by nbmake get the `notebooks` marker and a wall-clock budget each;
- `gpu` tests are skipped when CUDA is absent;
- memory is collected after every test, so a long run does not grow.
"""
import gc
import os

import pytest

#: Each notebook must finish within this many seconds on a 2-core CPU (override with L2VKIT_NOTEBOOK_BUDGET_S).
NOTEBOOK_BUDGET_S = float(os.environ.get("L2VKIT_NOTEBOOK_BUDGET_S", "150"))


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
