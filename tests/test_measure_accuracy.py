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


@pytest.mark.unit
def test_a_small_square_close_to_the_scene_colour_is_read_as_a_square():
    """The render the hardening issue found misread: a small green square on grass shrinks and rounds under the
    3×3 smoothing, and a circle template of the designed size overlapped it as well (0.864 vs 0.860)."""
    truth = tw.random_attributes(10_000_244)
    measured = tw.measure_details(tw.render(truth, seed=244))
    assert measured.attributes == truth
    assert measured.shape_iou["square"] > measured.shape_iou["circle"], measured.shape_iou


@pytest.mark.slow
def test_20000_clean_renders_from_unseen_seeds_are_read_exactly():
    """Attributes from seeds 10,000,000 on, render seeds 0–19,999: none used while designing the measurement."""
    wrong = []
    for i in range(20_000):
        truth = tw.random_attributes(10_000_000 + i)
        measured = tw.measure(tw.render(truth, seed=i))
        if measured != truth:
            wrong.append((i, truth, measured))
    assert not wrong, f"{len(wrong)} of 20000 misread, e.g. {wrong[:3]}"


@pytest.mark.unit
def test_a_clip_spliced_from_two_scenes_is_read_frame_by_frame():
    # A frame mask over a scene pair splices the target scene's frames onto the source scene's. Read against one
    # scene for the whole clip, the object was lost in the other scene's frames and its motion misread (70 % of
    # 40 ground-truth splices kept their other attributes for desert → snow; 95 % read frame by frame).
    import numpy as np

    kept = []
    for seed in range(20):
        attrs = tw.random_attributes(30_000 + seed).replace(scene="desert")
        desert, snow = tw.render(attrs, seed=seed), tw.render(attrs.replace(scene="snow"), seed=seed)
        read = tw.measure_or_none(np.concatenate([snow[:5], desert[5:]]))
        kept.append(read is not None and read.replace(scene="desert") == attrs)
        assert tw.measure(desert) == attrs  # each scene alone is read as before
    assert np.mean(kept) >= 0.9
