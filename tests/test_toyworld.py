import numpy as np
import pytest

from l2vkit import toyworld as tw
from l2vkit.toyworld.corrupt import add_noise, blur, colour_drift

pytestmark = pytest.mark.unit

EXAMPLE = tw.Attributes("red", "circle", "small", "quickly", "left", "desert")


def test_render_shape_dtype_and_determinism():
    video = tw.render(EXAMPLE, seed=3)
    assert video.shape == (9, 32, 32, 3) and video.dtype == np.uint8
    assert np.array_equal(video, tw.render(EXAMPLE, seed=3))
    assert not np.array_equal(video, tw.render(EXAMPLE, seed=4))


def test_render_is_configurable():
    video = tw.render(EXAMPLE, frames=17, size=64)
    assert video.shape == (17, 64, 64, 3)
    assert tw.measure(video) == EXAMPLE


@pytest.mark.parametrize("field", list(tw.ATTRIBUTE_VALUES))
def test_each_attribute_changes_the_pixels(field):
    base = tw.render(EXAMPLE, seed=1)
    for value in tw.ATTRIBUTE_VALUES[field]:
        if value != getattr(EXAMPLE, field):
            assert not np.array_equal(base, tw.render(EXAMPLE.replace(**{field: value}), seed=1))


def test_object_stays_inside_the_frame_and_moves_as_told():
    for seed in range(50):
        attrs = tw.random_attributes(seed)
        path = tw.trajectory(attrs, seed=seed)
        half = {"small": 0.16, "large": 0.26}[attrs.size] * 32
        assert path.min() >= half and path.max() <= 32 - half
        step = path[-1] - path[0]
        axis = 0 if attrs.direction in ("left", "right") else 1
        sign = 1 if attrs.direction in ("right", "down") else -1
        assert sign * step[axis] > 0 and step[1 - axis] == 0


def test_caption_grammar_and_round_trip():
    assert tw.caption(EXAMPLE) == "a small red circle moves quickly to the left in the desert"
    assert tw.caption(EXAMPLE.replace(direction="up", scene="sea")).endswith("moves quickly up in the sea")
    for seed in range(30):
        attrs = tw.random_attributes(seed)
        assert tw.parse_caption(tw.caption(attrs)) == attrs


def test_random_attributes_cover_every_value():
    seen = {field: set() for field in tw.ATTRIBUTE_VALUES}
    for seed in range(200):
        for field, value in tw.random_attributes(seed).as_dict().items():
            seen[field].add(value)
    assert all(seen[f] == set(v) for f, v in tw.ATTRIBUTE_VALUES.items())


def test_unknown_attribute_values_name_the_field():
    with pytest.raises(ValueError, match=r"Attributes.colour='bleu'.*red, green"):
        tw.Attributes("bleu", "circle", "small", "quickly", "left", "desert")
    with pytest.raises(ValueError, match=r"Attributes.scene='forest'"):
        EXAMPLE.replace(scene="forest")
    with pytest.raises(ValueError, match="unknown attribute.*'speed'"):
        EXAMPLE.replace(speed="fast")
    with pytest.raises(ValueError, match="does not follow the grammar"):
        tw.parse_caption("a small red circle moves quickly in the desert to the left")


def test_render_rejects_bad_geometry():
    with pytest.raises(ValueError, match="frames=1"):
        tw.render(EXAMPLE, frames=1)
    with pytest.raises(ValueError, match="size=8"):
        tw.render(EXAMPLE, size=8)
    with pytest.raises(TypeError, match="Attributes"):
        tw.render({"colour": "red"})


def test_measure_recovers_attributes_and_details():
    for seed in range(60):
        attrs = tw.random_attributes(seed)
        m = tw.measure_details(tw.render(attrs, seed=seed))
        assert m.attributes == attrs
        assert max(m.shape_iou, key=m.shape_iou.get) == attrs.shape
        expected_travel = {"slowly": 0.125, "quickly": 0.375}[attrs.adverb]
        assert m.travel == pytest.approx(expected_travel, abs=0.03)


@pytest.mark.parametrize("slot", list(tw.ATTRIBUTE_VALUES))
def test_attribute_score_ranks_source_below_target_on_every_attribute(slot):
    """For every ordered pair of values of an attribute, the video rendered with the target scores higher than the
    one rendered with the source, and the score's sign flips when source and target swap."""
    values = tw.ATTRIBUTE_VALUES[slot]
    for source in values:
        for target in values:
            if source == target:
                continue
            for seed in range(3):
                base = tw.random_attributes(seed)
                ms = [tw.measure_details(tw.render(base.replace(**{slot: w}), seed=seed)) for w in (source, target)]
                a, b = (tw.attribute_score(m, slot, source, target) for m in ms)
                assert b > a, (slot, source, target, seed, a, b)
                assert tw.attribute_score(ms[0], slot, target, source) == pytest.approx(-a, abs=1e-9)


def test_attribute_score_rejects_words_of_other_attributes():
    m = tw.measure_details(tw.render(EXAMPLE, seed=0))
    with pytest.raises(ValueError, match="'blue' is not a value of 'shape'"):
        tw.attribute_score(m, "shape", "circle", "blue")


def test_measure_accepts_float_videos():
    video = tw.render(EXAMPLE, seed=2)
    assert tw.measure(video.astype(np.float32) / 255) == EXAMPLE


@pytest.mark.parametrize(
    "video, error, match",
    [
        (np.zeros((9, 32, 32), np.uint8), ValueError, r"shape \(9, 32, 32\).*\(T, H, W, 3\)"),
        (np.zeros((9, 3, 32, 32), np.uint8), ValueError, "channels last"),
        (np.zeros((1, 32, 32, 3), np.uint8), ValueError, "≥ 2 frames"),
        (np.zeros((9, 32, 32, 3), np.int32), TypeError, "dtype int32"),
        (np.full((9, 32, 32, 3), 200.0), ValueError, r"float with values in \[200, 200\]"),
        (np.full((9, 32, 32, 3), np.nan), ValueError, "NaN"),
        ([[1, 2, 3]], TypeError, "numpy array"),
    ],
)
def test_measure_rejects_bad_videos(video, error, match):
    with pytest.raises(error, match=match):
        tw.measure(video)


def test_measure_reports_videos_without_an_object():
    background_only = np.broadcast_to(np.array([215, 190, 140], np.uint8), (9, 32, 32, 3)).copy()
    with pytest.raises(ValueError, match="no object found"):
        tw.measure(background_only)


def test_corruptions_change_pixels_but_keep_shape():
    video = tw.render(EXAMPLE)
    for corrupted in (add_noise(video, 0.1), blur(video), colour_drift(video)):
        assert corrupted.shape == video.shape and corrupted.dtype == np.uint8
        assert not np.array_equal(corrupted, video)
    assert np.array_equal(add_noise(video, 0.1, seed=5), add_noise(video, 0.1, seed=5))


def test_accuracy_needs_matching_lists():
    with pytest.raises(ValueError, match="equally long"):
        tw.accuracy([EXAMPLE], [])


@pytest.mark.unit
def test_measure_refuses_what_is_not_a_toy_video():
    """A ruler says when there is nothing to measure: noise and a flat clip have no scene behind an object."""
    from l2vkit.toyworld.measure import measure_or_none

    noise = np.random.default_rng(0).integers(0, 255, (9, 32, 32, 3), dtype=np.uint8)
    for clip in (noise, np.full((9, 32, 32, 3), 128, np.uint8)):
        with pytest.raises(ValueError, match=r"of the pixels are a scene's shade .*does not look like a toy-world"):
            tw.measure(clip)
        assert measure_or_none(clip) is None
    clean = tw.render(tw.random_attributes(7), seed=7)
    assert tw.measure(clean) == tw.random_attributes(7)
