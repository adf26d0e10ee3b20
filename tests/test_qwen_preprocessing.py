"""Qwen2-VL / Qwen2.5-VL video preprocessing as the official processor does it: frame sampling at 2 fps with the
``arange(0, T, T/n).int()`` index rule, pixel caps, ``second_per_grid_ts`` from the clip's real rate, and the video
defaults used (with a warning) when a checkpoint ships no ``video_preprocessor_config.json``.

The frame rule is compared with transformers' own ``Qwen2VLVideoProcessor.sample_frames`` (compiled from the installed
source: the module imports torchvision, whose only wheels here are CUDA builds that do not load with the CPU torch),
and the resize rule with transformers' ``smart_resize``."""
import json
import warnings
from pathlib import Path

import pytest
import torch

from l2vkit.testing import official_function
from l2vkit.vlm.preprocess import qwen_frame_indices

#: Qwen/Qwen2.5-VL-3B-Instruct's preprocessor_config.json as published (it ships no video_preprocessor_config.json)
PUBLISHED = {"min_pixels": 3136, "max_pixels": 12845056, "patch_size": 14, "temporal_patch_size": 2, "merge_size": 2,
             "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
             "image_processor_type": "Qwen2VLImageProcessor", "processor_class": "Qwen2_5_VLProcessor"}


@pytest.fixture(scope="module")
def hub_qwen2_5(tmp_path_factory):
    """A tiny random Qwen2.5-VL laid out like the published checkpoint: config, tokenizer, preprocessor_config.json."""
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    from l2vkit.testing import QWEN_SPECIALS, _qwen_text_config, _qwen_token_ids, tiny_tokenizer
    from l2vkit.vlm import VideoVLM

    folder = tmp_path_factory.mktemp("Qwen2.5-VL-3B-Instruct-tiny")
    tok = tiny_tokenizer(QWEN_SPECIALS)
    config = Qwen2_5_VLConfig(
        vision_config=dict(depth=1, hidden_size=16, intermediate_size=32, num_heads=2, out_hidden_size=64,
                           patch_size=14, spatial_merge_size=2, temporal_patch_size=2, window_size=112,
                           fullatt_block_indexes=[0]),
        text_config={**_qwen_text_config(tok), "max_position_embeddings": 4096}, **_qwen_token_ids(tok))
    torch.manual_seed(0)
    Qwen2_5_VLForConditionalGeneration(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    (folder / "preprocessor_config.json").write_text(json.dumps(PUBLISHED, indent=2))
    return VideoVLM.from_pretrained(str(folder))


@pytest.mark.unit
@pytest.mark.parametrize("total,fps", [(132, 25.0), (33, 16.0), (17, 16.0), (81, 16.0), (120, 30000 / 1001),
                                       (250, 25.0), (9, 8.0), (2000, 30.0)])
def test_frame_indices_follow_the_official_rule(total, fps):
    count = min(max(total / fps * 2, 4), (min(768, total) // 2) * 2, total) // 2 * 2
    expected = torch.arange(0, total, total / count).int().tolist()
    assert qwen_frame_indices(total, video_fps=fps) == expected
    assert qwen_frame_indices(total, num_frames=3) == torch.arange(0, total, total / 4).int().tolist()


@pytest.mark.unit
def test_frame_sampling_errors_name_the_numbers():
    with pytest.raises(ValueError, match="3 frames but 4 were asked"):
        qwen_frame_indices(3, num_frames=4)
    with pytest.raises(ValueError, match="frame rate"):
        qwen_frame_indices(40, video_fps=None)


@pytest.mark.integration
def test_bigbuckbunny_gets_the_official_frames_grid_and_seconds(hub_qwen2_5, sample_clips):
    from l2vkit.video import read_video, video_fps

    path = sample_clips / "bigbuckbunny.mp4"
    clip, fps = read_video(path), video_fps(path)
    assert clip.shape == (132, 720, 1280, 3) and fps == 25.0
    with pytest.warns(UserWarning, match="no video_preprocessor_config.json"):
        settings = hub_qwen2_5.video_settings
    assert (settings["min_pixels"], settings["max_pixels"]) == (128 * 28 * 28, 768 * 28 * 28)
    # 132 frames at 25 fps = 5.28 s → 10.56 at 2 fps → floored to a multiple of 2: 10 frames, arange(0, 132, 13.2)
    assert hub_qwen2_5.frame_indices(132, fps) == [0, 13, 26, 39, 52, 66, 79, 92, 105, 118]
    inputs = hub_qwen2_5.pixel_inputs(clip, fps=fps)
    # 720×1280 over 768·28² pixels → smart_resize 560×1008 → 40×72 patches of 14; 10 frames → 5 temporal patches
    assert inputs["video_grid_thw"].tolist() == [[5, 40, 72]]
    assert inputs["pixel_values_videos"].shape == (5 * 40 * 72, 3 * 2 * 14 * 14)
    # second_per_grid_ts = temporal_patch_size / sampled fps = 2 / (10 / 132 · 25)
    assert inputs["second_per_grid_ts"].tolist() == pytest.approx([2 / (10 / 132 * 25)])


@pytest.mark.integration
def test_a_hub_qwen2_5_reads_a_real_clip_through_the_model(hub_qwen2_5, sample_clips):
    from l2vkit.video import read_video

    clip = read_video(sample_clips / "carphone_pristine.mp4")  # 120 frames of 176×144 at 29.97 fps
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z = hub_qwen2_5.visual_tokens(clip[None])  # no fps given: transformers' 24 fps is assumed, with a warning
    assert hub_qwen2_5.frame_indices(120, 24) == torch.arange(0, 120, 12).int().tolist()
    probs = hub_qwen2_5.token_probs(z, "a", ["red", "blue"], inputs=hub_qwen2_5.pixel_inputs(clip, fps=24))
    assert torch.isfinite(probs.vocab).all()


@pytest.mark.unit
@pytest.mark.parametrize("total,fps", [(132, 25.0), (33, 16.0), (17, 16.0), (81, 16.0), (120, 30000 / 1001),
                                       (250, 25.0), (2000, 30.0)])
def test_frame_indices_equal_transformers_own_sample_frames(total, fps):
    from types import SimpleNamespace

    from transformers.video_utils import VideoMetadata

    from l2vkit.vlm.preprocess import smart_resize

    processor = SimpleNamespace(num_frames=None, fps=2.0, temporal_patch_size=2, min_frames=4, max_frames=768)
    metadata = VideoMetadata(total_num_frames=total, fps=fps)
    theirs = official_function("qwen2_vl/video_processing_qwen2_vl.py", "sample_frames", "Qwen2VLVideoProcessor")(
        processor, metadata).tolist()
    official_resize = official_function("qwen2_vl/image_processing_qwen2_vl.py", "smart_resize")
    assert qwen_frame_indices(total, video_fps=fps) == theirs
    for height, width in ((720, 1280), (144, 176), (272, 640), (480, 832), (1080, 1920)):
        assert smart_resize(height, width, 28, 128 * 28 * 28, 768 * 28 * 28) == official_resize(
            height, width, 28, 128 * 28 * 28, 768 * 28 * 28)
    sampled = VideoMetadata(total_num_frames=total, fps=fps, frames_indices=theirs).sampled_fps
    assert sampled == pytest.approx(len(theirs) / total * fps)
