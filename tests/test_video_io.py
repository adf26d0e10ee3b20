import numpy as np
import pytest

from l2vkit import toyworld as tw
from l2vkit.io import atomic_path, read_json, write_json
from l2vkit.video import contact_sheet, read_video, show_videos, side_by_side, upscale, write_video

pytestmark = pytest.mark.unit


@pytest.fixture
def video():
    return tw.render(tw.random_attributes(1), seed=1)


def test_mp4_round_trip_keeps_frames_and_content(tmp_path, video):
    path = write_video(tmp_path / "v.mp4", video, scale=4)
    back = read_video(path)
    assert back.shape == (9, 128, 128, 3)
    # H.264 is lossy; the content must still measure the same after shrinking back.
    small = back.reshape(9, 32, 4, 32, 4, 3).mean(axis=(2, 4)).round().astype(np.uint8)
    assert tw.measure(small) == tw.measure(video)


def test_gif_is_written(tmp_path, video):
    path = write_video(tmp_path / "v.gif", video, scale=2)
    assert path.read_bytes()[:6] in (b"GIF89a", b"GIF87a")
    assert read_video(path).shape[1:] == (64, 64, 3)


def test_write_video_rejects_unknown_suffix_and_bad_arrays(tmp_path, video):
    with pytest.raises(ValueError, match=r"\.mp4 or \.gif"):
        write_video(tmp_path / "v.avi", video)
    with pytest.raises(ValueError, match=r"expected \(T, H, W, 3\)"):
        write_video(tmp_path / "v.mp4", video[..., 0])


def test_side_by_side_and_upscale(video):
    joined = side_by_side([video, video, video], gap=2)
    assert joined.shape == (9, 32, 32 * 3 + 4, 3)
    assert np.all(joined[:, :, 32:34] == 255)
    assert upscale(video, 3).shape == (9, 96, 96, 3)
    with pytest.raises(ValueError, match="one shape"):
        side_by_side([video, video[:5]])


def test_contact_sheet_png(tmp_path, video):
    fig, axes = contact_sheet({"a": video, "b": video}, tmp_path / "sheet.png", frames=[0, 8])
    assert len(axes) == 2 and len(axes[0]) == 2
    assert (tmp_path / "sheet.png").read_bytes()[:4] == b"\x89PNG"


def test_show_videos_returns_html(video):
    html = show_videos({"one": video, "two": video}, return_html=True)
    assert html.count("<img") == 2 and "one" in html


def test_atomic_write_keeps_the_old_file_when_interrupted(tmp_path):
    target = tmp_path / "result.json"
    write_json(target, {"version": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text('{"version": 2, "trunc')
            raise RuntimeError("interrupted mid-write")
    assert read_json(target) == {"version": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_read_json_names_a_truncated_file(tmp_path):
    (tmp_path / "bad.json").write_text('{"a": ')
    with pytest.raises(ValueError, match="bad.json is not valid JSON"):
        read_json(tmp_path / "bad.json")
