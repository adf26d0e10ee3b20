"""Tiny random-weight VLM folders laid out like the published checkpoints: the processor files exactly as the hub
repos have them, a model with tiny widths and depths but the vision geometry those files imply (patch size, image
size, merge/pooling), and a word-level tokenizer. ``VideoVLM.from_pretrained(folder)`` then reads the settings the way
a user's download would be read, which the project's own tiny settings (``l2vkit.testing``) never exercise.

Where each file comes from is said beside it; docs/vlm.md lists the rules they lead to.
"""
from __future__ import annotations

import json
from pathlib import Path

from .testing import (INTERNVL_SPECIALS, LLAVA_ONEVISION_SPECIALS, QWEN_SPECIALS, SMOLVLM_SPECIALS, SMOLVLM_WORDS,
                      _qwen_text_config, _qwen_token_ids, _small_text_config, tiny_tokenizer)

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
HALF = [0.5, 0.5, 0.5]


def _qwen2_image(processor_class: str) -> dict:
    # Qwen/Qwen2-VL-2B-Instruct and Qwen/Qwen2.5-VL-3B-Instruct ship only this file: image limits, no video settings.
    return {"min_pixels": 3136, "max_pixels": 12845056, "patch_size": 14, "temporal_patch_size": 2, "merge_size": 2,
            "image_mean": CLIP_MEAN, "image_std": CLIP_STD, "image_processor_type": "Qwen2VLImageProcessor",
            "processor_class": processor_class}


#: family → {file name: content} as the published checkpoints have them.
PUBLISHED_PROCESSOR_FILES: dict[str, dict[str, dict]] = {
    "qwen2_vl": {"preprocessor_config.json": _qwen2_image("Qwen2VLProcessor")},
    "qwen2_5_vl": {"preprocessor_config.json": _qwen2_image("Qwen2_5_VLProcessor")},
    # Qwen/Qwen3-VL-2B-Instruct: image and video files; the video pixel budget covers all frames of a clip.
    "qwen3_vl": {
        "preprocessor_config.json": {"size": {"longest_edge": 16777216, "shortest_edge": 65536}, "patch_size": 16,
                                     "temporal_patch_size": 2, "merge_size": 2, "image_mean": HALF,
                                     "image_std": HALF, "processor_class": "Qwen3VLProcessor",
                                     "image_processor_type": "Qwen2VLImageProcessorFast"},
        "video_preprocessor_config.json": {"size": {"longest_edge": 25165824, "shortest_edge": 4096},
                                           "patch_size": 16, "temporal_patch_size": 2, "merge_size": 2,
                                           "image_mean": HALF, "image_std": HALF,
                                           "processor_class": "Qwen3VLProcessor",
                                           "video_processor_type": "Qwen3VLVideoProcessor"}},
    # llava-hf/llava-onevision-qwen2-0.5b-ov-hf (transformers' conversion): an image processor file only, so video
    # settings fall back to it (SigLIP's 0.5 mean/std, 384×384, bicubic), and the processor's token counts.
    "llava_onevision": {
        "preprocessor_config.json": {
            "do_convert_rgb": True, "do_normalize": True, "do_pad": True, "do_rescale": True, "do_resize": True,
            "image_grid_pinpoints": [[384 * i, 384 * j] for i in range(1, 7) for j in range(1, 7)],
            "image_mean": HALF, "image_std": HALF, "image_processor_type": "LlavaOnevisionImageProcessor",
            "processor_class": "LlavaOnevisionProcessor", "resample": 3, "rescale_factor": 0.00392156862745098,
            "size": {"height": 384, "width": 384}},
        "processor_config.json": {"image_token": "<image>", "num_image_tokens": 729,
                                  "processor_class": "LlavaOnevisionProcessor", "video_token": "<video>",
                                  "vision_feature_select_strategy": "full"}},
    # HuggingFaceTB/SmolVLM2-256M-Video-Instruct: one image processor file carrying the video sampling; its
    # top-level size (2048) overrides video_size when SmolVLMVideoProcessor is built from it.
    "smolvlm": {
        "preprocessor_config.json": {
            "do_convert_rgb": True, "do_image_splitting": True, "do_normalize": True, "do_pad": True,
            "do_rescale": True, "do_resize": True, "image_mean": HALF, "image_processor_type": "SmolVLMImageProcessor",
            "image_std": HALF, "max_image_size": {"longest_edge": 512}, "processor_class": "SmolVLMProcessor",
            "resample": 1, "rescale_factor": 0.00392156862745098, "size": {"longest_edge": 2048},
            "video_sampling": {"fps": 1, "max_frames": 64, "video_size": {"longest_edge": 512}}},
        "processor_config.json": {"image_seq_len": 64, "processor_class": "SmolVLMProcessor"}},
    # OpenGVLab/InternVL3-1B-hf (transformers' conversion): GotOcr2 image processor with tiling, and a video processor
    # at 448×448 with ImageNet mean/std and no frame sampling unless asked.
    "internvl": {
        "preprocessor_config.json": {
            "crop_size": None, "crop_to_patches": False, "data_format": "channels_first", "default_to_square": True,
            "device": None, "do_center_crop": None, "do_convert_rgb": True, "do_normalize": True, "do_rescale": True,
            "do_resize": True, "image_mean": [0.485, 0.456, 0.406], "image_processor_type": "GotOcr2ImageProcessorFast",
            "image_std": [0.229, 0.224, 0.225], "input_data_format": None, "max_patches": 12, "min_patches": 1,
            "processor_class": "InternVLProcessor", "resample": 3, "rescale_factor": 0.00392156862745098,
            "return_tensors": None, "size": {"height": 448, "width": 448}},
        "video_preprocessor_config.json": {
            "crop_size": None, "data_format": "channels_first", "default_to_square": True, "device": None,
            "do_center_crop": None, "do_convert_rgb": True, "do_normalize": True, "do_rescale": True,
            "do_resize": True, "do_sample_frames": False, "fps": None, "image_mean": [0.485, 0.456, 0.406],
            "image_std": [0.229, 0.224, 0.225], "initial_shift": True, "input_data_format": None, "num_frames": None,
            "processor_class": "InternVLProcessor", "resample": 3, "rescale_factor": 0.00392156862745098,
            "return_tensors": None, "size": {"height": 448, "width": 448},
            "video_processor_type": "InternVLVideoProcessor"}},
}
#: The published checkpoint each family's files copy.
PUBLISHED_IDS = {"qwen2_vl": "Qwen/Qwen2-VL-2B-Instruct", "qwen2_5_vl": "Qwen/Qwen2.5-VL-3B-Instruct",
                 "qwen3_vl": "Qwen/Qwen3-VL-2B-Instruct", "llava_onevision": "llava-hf/llava-onevision-qwen2-0.5b-ov-hf",
                 "smolvlm": "HuggingFaceTB/SmolVLM2-256M-Video-Instruct", "internvl": "OpenGVLab/InternVL3-1B-hf"}

_LONG_TEXT = {"max_position_embeddings": 8192}  # a 9-frame clip is up to 2,304 visual tokens at published sizes


def _qwen_model(family: str, tok):
    import transformers

    text = {**_qwen_text_config(tok), **_LONG_TEXT}
    if family == "qwen2_vl":
        vision = dict(depth=1, embed_dim=32, hidden_size=64, num_heads=2, mlp_ratio=2, patch_size=14,
                      spatial_merge_size=2, temporal_patch_size=2)
        return transformers.Qwen2VLForConditionalGeneration(transformers.Qwen2VLConfig(
            vision_config=vision, text_config=text, **_qwen_token_ids(tok)))
    if family == "qwen2_5_vl":
        vision = dict(depth=1, hidden_size=16, intermediate_size=32, num_heads=2, out_hidden_size=64, patch_size=14,
                      spatial_merge_size=2, temporal_patch_size=2, window_size=112, fullatt_block_indexes=[0])
        return transformers.Qwen2_5_VLForConditionalGeneration(transformers.Qwen2_5_VLConfig(
            vision_config=vision, text_config=text, **_qwen_token_ids(tok)))
    text = {**_qwen_text_config(tok, head_dim=16), **_LONG_TEXT}
    text["rope_parameters"] = {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3],
                               "mrope_interleaved": True}
    vision = dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=64, patch_size=16,
                  spatial_merge_size=2, temporal_patch_size=2, num_position_embeddings=16,
                  deepstack_visual_indexes=[0])
    return transformers.Qwen3VLForConditionalGeneration(transformers.Qwen3VLConfig(
        vision_config=vision, text_config=text, **_qwen_token_ids(tok)))


def _other_model(family: str, tok):
    import transformers

    ids = tok.convert_tokens_to_ids
    small_vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2)
    if family == "llava_onevision":
        files = PUBLISHED_PROCESSOR_FILES[family]["preprocessor_config.json"]
        config = transformers.LlavaOnevisionConfig(
            vision_config=dict(model_type="siglip_vision_model", image_size=384, patch_size=14, **small_vision),
            text_config={**_small_text_config(tok, "qwen2"), **_LONG_TEXT}, image_token_index=ids("<image>"),
            video_token_index=ids("<video>"), image_grid_pinpoints=files["image_grid_pinpoints"],
            vision_feature_select_strategy="full")
        return transformers.LlavaOnevisionForConditionalGeneration(config)
    if family == "smolvlm":
        config = transformers.SmolVLMConfig(
            vision_config=dict(image_size=512, patch_size=16, **small_vision),
            text_config={**_small_text_config(tok, "llama"), **_LONG_TEXT},
            image_token_id=ids("<image>"), scale_factor=4)
        return transformers.SmolVLMForConditionalGeneration(config)
    config = transformers.InternVLConfig(
        vision_config=dict(image_size=[448, 448], patch_size=[14, 14], **small_vision),
        text_config={**_small_text_config(tok, "qwen2"), **_LONG_TEXT}, image_token_id=ids("<IMG_CONTEXT>"),
        image_seq_length=256, downsample_ratio=0.5)
    return transformers.InternVLForConditionalGeneration(config)


_SPECIALS = {"qwen2_vl": QWEN_SPECIALS, "qwen2_5_vl": QWEN_SPECIALS, "qwen3_vl": QWEN_SPECIALS,
             "llava_onevision": LLAVA_ONEVISION_SPECIALS, "smolvlm": SMOLVLM_SPECIALS + SMOLVLM_WORDS,
             "internvl": INTERNVL_SPECIALS + [f"Frame{i}:" for i in range(1, 17)]}


def save_published_layout(family: str, folder, *, seed: int = 0, extra_words=()) -> Path:
    """Write a tiny random ``family`` VLM to ``folder`` as its published checkpoint is laid out (config.json, weights,
    tokenizer, and the processor files of :data:`PUBLISHED_PROCESSOR_FILES` verbatim); returns the folder."""
    import torch

    if family not in PUBLISHED_PROCESSOR_FILES:
        raise ValueError(f"no published layout for {family!r}; known: {', '.join(PUBLISHED_PROCESSOR_FILES)}")
    folder = Path(folder)
    tok = tiny_tokenizer(_SPECIALS[family], extra_words=extra_words)
    torch.manual_seed(seed)
    model = (_qwen_model if family.startswith("qwen") else _other_model)(family, tok).eval()
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    for name, content in PUBLISHED_PROCESSOR_FILES[family].items():
        (folder / name).write_text(json.dumps(content, indent=2) + "\n")
    return folder
