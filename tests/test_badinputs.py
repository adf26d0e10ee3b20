"""The bad-input table of l2vkit.dev.badinputs: every case across the API, artifacts, pair files and the command line
is refused with a clear error naming the problem (or warns, where the table says so)."""
import subprocess
import sys
from collections import Counter

import pytest

from l2vkit.dev import badinputs

CASES = badinputs.all_cases()


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    return badinputs.Bench(tmp_path_factory.mktemp("badinputs"))


@pytest.mark.unit
def test_the_table_covers_every_area():
    counts = Counter(case.area for case in CASES)
    assert len(CASES) >= 60 and set(counts) == set(badinputs.AREAS) and min(counts.values()) >= 10, counts
    assert len({(c.area, c.what) for c in CASES}) == len(CASES)  # every row says which input it is


@pytest.mark.integration
@pytest.mark.parametrize("case", CASES, ids=[f"{c.area}: {c.what}" for c in CASES])
def test_bad_input_is_refused_clearly(case, bench):
    result = badinputs.check(case, bench)
    assert result.ok, result.got


@pytest.mark.unit
def test_the_checker_reports_misses(bench):
    """Silence, an unclear exception kind, a wrong message and a missing warning are all misses."""
    def raise_index_error(b):
        raise IndexError("list index out of range")

    def raise_value_error(b):
        raise ValueError("something else")

    misses = [badinputs.Case("API", "silently accepted", "x", lambda b: None),
              badinputs.Case("API", "an IndexError", "list index", raise_index_error),
              badinputs.Case("API", "another message", "expected words", raise_value_error),
              badinputs.Case("API", "no warning", "careful", lambda b: None, "warning"),
              badinputs.Case("CLI", "a good command", "x", lambda b: ["plan", "--tier", "colab-t4"], "exit 2")]
    results = [badinputs.check(case, bench) for case in misses]
    assert [r.ok for r in results] == [False] * len(misses)
    assert results[0].got == "accepted without an error" and results[1].got.startswith("unclear IndexError")
    assert results[4].got.startswith("exit 0")
    assert "5 bad inputs, 0 refused clearly, 5 missed" in badinputs.format_table(results)


@pytest.mark.integration
def test_python_m_prints_the_table():
    run = subprocess.run([sys.executable, "-m", "l2vkit.dev.badinputs", "--area", "pair file"], capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("| area | bad input | outcome | message |")
    assert "| pair file | not UTF-8 | ok |" in run.stdout and " 0 missed" in run.stdout
