"""The acceptance check of the foundation issue: measurement accuracy on clean and imperfect renders."""
import pytest

from l2vkit import toyworld as tw
from l2vkit.toyworld.corrupt import CORRUPTIONS


def _accuracy(condition: str, videos: int, offset: int = 0) -> dict:
    truth = [tw.random_attributes(offset + i) for i in range(videos)]
    corrupt = CORRUPTIONS[condition]
    measured = [tw.measure(corrupt(tw.render(a, seed=offset + i), offset + i)) for i, a in enumerate(truth)]
    return tw.accuracy(truth, measured)


@pytest.mark.integration
@pytest.mark.parametrize("condition", ["clean", "noise σ=0.1", "blur 3×3"])
def test_accuracy_on_held_out_seeds(condition):
    # Seeds far from those used while designing the measurement.
    accuracy = _accuracy(condition, 200, offset=90_000)
    floor = 1.0 if condition == "clean" else 0.98
    assert all(value >= floor for value in accuracy.values()), accuracy


@pytest.mark.slow
def test_accuracy_on_2000_renders():
    """Runs benchmarks/measure_accuracy.py itself, so the printed table and the assertion are one measurement."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[1] / "benchmarks" / "measure_accuracy.py"
    spec = importlib.util.spec_from_file_location("measure_accuracy", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    result = bench.run(2000, progress=False)
    print()
    print(bench.format_table(result))
    for condition in ("clean", "noise σ=0.1", "blur 3×3"):
        floor = 1.0 if condition == "clean" else 0.98
        assert min(result["accuracy"][condition].values()) >= floor, (condition, result["accuracy"][condition])
