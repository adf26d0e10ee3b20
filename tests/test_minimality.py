"""What "kept" did not cover: the object's place, frames where it vanishes, and the scene around it."""
import numpy as np
import pytest

from l2vkit.toyworld import Attributes, measure_details, render
from l2vkit.toyworld.measure import _object_masks, as_float_video
from l2vkit.toyworld.minimality import (POSITION_TOLERANCE, background_change, background_perceptual, frames_lost,
                                        kept_in_place, position_shift, texture_correlation)

RED = Attributes("red", "circle", "small", "slowly", "up", "desert")


@pytest.mark.unit
def test_a_recoloured_object_stays_in_place_and_another_seed_does_not():
    video, other_seed = render(RED, seed=0), render(RED, seed=1)
    blue = render(RED.replace(colour="blue"), seed=0)
    m, m_seed, m_blue = (measure_details(v) for v in (video, other_seed, blue))
    assert len(m.track) == 9 and all(0 <= x <= 1 and 0 <= y <= 1 for x, y in m.track)
    assert position_shift(m, m) == 0 and background_change(video, video) == 0
    assert position_shift(m, m_blue) < 0.01 and kept_in_place(m, m_blue)  # same seed: same place and scene
    assert background_change(video, blue) < 0.005
    # another seed puts the object elsewhere and the scene's texture at another phase: same attributes, not kept
    assert m_seed.attributes == m.attributes
    assert position_shift(m, m_seed) > POSITION_TOLERANCE and not kept_in_place(m, m_seed)
    assert background_change(video, other_seed) > 0.05


@pytest.mark.unit
def test_an_object_that_vanishes_for_some_frames_is_not_in_place():
    video = render(RED, seed=0)
    gone = video.copy()
    masks = _object_masks(as_float_video(video), "desert")
    background = np.median(video[~masks], axis=0).astype(np.uint8)
    gone[4:6][masks[4:6]] = background  # the object erased from frames 4 and 5, nothing moved
    m, m_gone = measure_details(video), measure_details(gone)
    assert m_gone.attributes == m.attributes and m_gone.track[4] is None
    assert frames_lost(m, m_gone) == 2 and position_shift(m, m_gone) == 0 and not kept_in_place(m, m_gone)
    with pytest.raises(ValueError, match="compare videos of one size"):
        background_change(video, video[:5])


@pytest.mark.unit
@pytest.mark.parametrize("scene", ["desert", "sea", "grass", "snow"])
def test_the_texture_phase_is_kept_by_an_edit_of_the_object_and_not_by_another_seed(scene):
    video = render(RED.replace(scene=scene), seed=0)
    recoloured = render(RED.replace(scene=scene, colour="purple", shape="square", size="large"), seed=0)
    assert texture_correlation(video, recoloured) > 0.98
    assert background_perceptual(video, recoloured) < 0.01
    other_seed = render(RED.replace(scene=scene), seed=3)  # the texture drawn at another phase
    assert texture_correlation(video, other_seed) < 0.9  # by chance up to 0.72 among these four
    assert background_perceptual(video, other_seed) > 10 * background_perceptual(video, recoloured)


@pytest.mark.unit
def test_tables_leave_out_what_a_family_changes_by_definition():
    import numpy as np

    from l2vkit.toyworld.steering_eval import _in_place, in_place_text

    scores = {"kept_in_place": 0.5, "background_change": 0.1, "background_perceptual": 0.2, "texture_correlation": 0.9}
    assert in_place_text(scores, "attribute") == "50% (0.100 / 0.200, r 0.90)"
    assert in_place_text(scores, "action") == "— (0.100 / 0.200, r 0.90)"  # a new direction or speed moves the object
    assert in_place_text(scores, "scene") == "50% (—)"  # a new scene repaints the background
    assert in_place_text({"kept_in_place": 0.5, "background_change": 0.1}, "attribute") == "50% (0.100)"  # older
    assert in_place_text({}, "attribute") == ""  # results from before the place was measured
    result = {"in_place": {"x": [True, False, True, True]}, "background_change": {"x": [0.0, 0.1, 0.0, 0.1]},
              "texture_correlation": {"x": [1.0, float("nan"), 0.5, 0.0]}, "background_perceptual": {"x": [0.0] * 4}}
    row = _in_place(result, "x", np.array([True, True, True, False]))
    assert row["kept_in_place"] == 0.5 and row["in_place"] == 0.75 and row["texture_correlation"] == 0.5
