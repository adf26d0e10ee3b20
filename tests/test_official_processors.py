"""Our preprocessing against transformers' own video processors, built from hub-layout folders the way
transformers reads them (``AutoVideoProcessor.from_pretrained``), on a real clip: bigbuckbunny.mp4 (132 frames at
25 fps, 1280×720). Needs torchvision (the official processors import it); skipped where it does not import — on this
project's CPU machines its only wheels are CUDA builds. Run where it imports, e.g.::

    L2VKIT_SAMPLE_CLIPS=folder/with/bigbuckbunny.mp4 python -m pytest tests/test_official_processors.py -s

Each case calls the official processor with the settings l2vkit uses for that folder (docs/vlm.md) and checks the
frames kept, the grid and the pixel values; where l2vkit departs from what transformers does with the folder
unchanged (no video file: every frame kept), that is asserted too, so the departure stays deliberate."""
import warnings

import numpy as np
import pytest

pytestmark = pytest.mark.integration

try:  # a torchvision that is installed but does not load (a CUDA build beside a CPU torch) must skip too
    import torchvision  # noqa: F401
except Exception as err:  # noqa: BLE001
    pytest.skip(f"official video processors need torchvision ({type(err).__name__})", allow_module_level=True)

FAMILIES = ("qwen2_5_vl", "qwen3_vl", "llava_onevision", "smolvlm", "internvl")


def read_clip(path) -> np.ndarray:
    """(T, H, W, 3) uint8 frames of ``path``: PyAV as l2vkit reads them, else OpenCV (same ffmpeg decoder)."""
    try:
        from l2vkit.video import read_video

        return read_video(path)
    except ImportError:
        cv2 = pytest.importorskip("cv2", reason="neither PyAV nor OpenCV can decode the clip")
        capture, frames = cv2.VideoCapture(str(path)), []
        while True:
            ok, frame = capture.read()
            if not ok:
                return np.stack(frames)
            frames.append(frame[..., ::-1].copy())  # BGR → RGB


@pytest.fixture(scope="module")
def bigbuckbunny(sample_clips):
    clip = read_clip(sample_clips / "bigbuckbunny.mp4")
    assert clip.shape == (132, 720, 1280, 3)
    return clip


@pytest.mark.parametrize("family", FAMILIES)
def test_preprocessing_of_a_real_clip_matches_the_official_processor(family, bigbuckbunny, tmp_path):
    from transformers import AutoVideoProcessor
    from transformers.video_utils import VideoMetadata

    from l2vkit.testing_hub import save_published_layout
    from l2vkit.vlm import VideoVLM

    folder = save_published_layout(family, tmp_path / "vlm")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Qwen2.5-VL / LLaVA-OneVision: no video file, said in a warning (tested apart)
        vlm = VideoVLM.from_pretrained(str(folder))
        ours = vlm.pixel_inputs(bigbuckbunny, fps=25.0)
    official = AutoVideoProcessor.from_pretrained(str(folder))
    metadata = [VideoMetadata(total_num_frames=132, fps=25.0, duration=132 / 25.0)]
    unchanged = {"qwen2_5_vl": 132, "llava_onevision": 132}  # what transformers keeps with the folder as it is
    if family in unchanged:
        kept = official(videos=[bigbuckbunny], return_tensors="pt")
        frames = (kept["video_grid_thw"][0, 0].item() * 2 if family == "qwen2_5_vl"
                  else kept["pixel_values_videos"].shape[1])
        assert frames == unchanged[family]
    settings = {"video_metadata": metadata, "do_sample_frames": True}
    if family == "qwen2_5_vl":  # the video defaults l2vkit takes for a folder without a video file
        settings.update(fps=2, size={"shortest_edge": 128 * 28 * 28, "longest_edge": 768 * 28 * 28})
    if family == "llava_onevision":  # the model cards' 8 frames
        settings.update(num_frames=8)
    if family == "internvl":  # the published video file keeps every frame
        settings = {"do_sample_frames": False}
    theirs = official(videos=[bigbuckbunny], return_tensors="pt", **settings)
    key = "pixel_values" if family == "smolvlm" else "pixel_values_videos"
    a, b = ours[key].float(), theirs[key].float()
    if family.startswith("qwen"):
        assert ours["video_grid_thw"].tolist() == theirs["video_grid_thw"].tolist()
    assert tuple(a.shape) == tuple(b.shape), (tuple(a.shape), tuple(b.shape))
    diff = (a - b).abs()
    print(f"\n{family}: {key} {tuple(a.shape)}; |ours − official| mean {diff.mean():.2e}, max {diff.max():.2e}")
    assert diff.mean() < 0.01 and diff.max() < 0.5  # normalised units (≈ 1/128 per uint8 step for mean/std 0.5)

