"""Tiny random-weight models of each supported family, built in-process (no downloads), for tests and labs.

Each builder returns a ready ``VideoVLM`` whose model is the real transformers class with a toy-sized config and a
word-level tokenizer that knows the family's special tokens. ``save_tiny(vlm, folder)`` writes it like a hub
checkpoint so that ``VideoVLM.from_pretrained(folder)`` can be tested too.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from .toyworld.toy_vlm import GRAMMAR_WORDS, vocabulary as toy_vocabulary

CHAT_WORDS = ["user", "assistant", "system", "Describe", "video.", "the", "a"]
#: A minimal chat template: its presence tells adapters to use the family's chat layout.
CHAT_TEMPLATE = "{% for m in messages %}{{ m['content'] }}{% endfor %}"

#: name → builder(seed) for every tiny VLM; families register theirs below or in their own modules.
TINY_VLMS: dict[str, Callable] = {}


def tiny(name: str):
    def wrap(fn):
        TINY_VLMS[name] = fn
        return fn

    return wrap


def tiny_tokenizer(special_tokens: list[str], *, chat: bool = True, extra_words=()):
    """A word-level fast tokenizer over the toy vocabulary plus ``special_tokens`` and ``extra_words`` (each one
    token)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tokens = []
    for t in toy_vocabulary() + special_tokens + CHAT_WORDS + GRAMMAR_WORDS + list(extra_words):
        if t not in tokens:
            tokens.append(t)
    core = Tokenizer(models.WordLevel({t: i for i, t in enumerate(tokens)}, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    specials = [t for t in tokens if t.startswith("<") and t.endswith(">") and t not in ("<pad>", "<unk>", "<bos>", "<eos>")]
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", unk_token="<unk>", bos_token="<bos>",
                                        eos_token="<eos>", additional_special_tokens=specials)
    if chat:
        tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def _qwen_text_config(tokenizer, **extra) -> dict:
    ids = tokenizer.convert_tokens_to_ids
    return dict(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]},
                bos_token_id=ids("<bos>"), eos_token_id=ids("<eos>"), pad_token_id=ids("<pad>"), **extra)


def _qwen_token_ids(tokenizer) -> dict:
    ids = tokenizer.convert_tokens_to_ids
    return dict(image_token_id=ids("<|image_pad|>"), video_token_id=ids("<|video_pad|>"),
                vision_start_token_id=ids("<|vision_start|>"), vision_end_token_id=ids("<|vision_end|>"))


QWEN_SPECIALS = ["<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|video_pad|>", "<|image_pad|>"]
#: Qwen-style preprocessing for 16×16, 4-frame tiny videos: 4-pixel patches, 2-frame temporal patches.
TINY_QWEN_PREPROCESS = {"patch_size": 4, "temporal_patch_size": 2, "merge_size": 2,
                        "size": {"shortest_edge": 16 * 16, "longest_edge": 16 * 16}, "num_frames": 4,
                        "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}

#: Qwen3-VL's pixel budget covers all the frames of a clip together: four 16×16 frames.
TINY_QWEN3_PREPROCESS = {**TINY_QWEN_PREPROCESS, "size": {"shortest_edge": 4 * 16 * 16, "longest_edge": 4 * 16 * 16}}


def _build(model_class, config, tokenizer, preprocess, adapter, seed, name):
    import torch

    torch.manual_seed(seed)
    model = model_class(config).eval()
    return adapter(model, tokenizer, preprocess, model_id=f"tiny-{name}")


@tiny("qwen2_vl")
def tiny_qwen2_vl(seed: int = 0, *, extra_words=()):
    """A tiny Qwen2-VL; ``extra_words`` join its word-level vocabulary (e.g. the words of your own pairs)."""
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

    from .vlm.qwen import QwenVLM

    tok = tiny_tokenizer(QWEN_SPECIALS, extra_words=extra_words)
    config = Qwen2VLConfig(
        vision_config=dict(depth=1, embed_dim=32, hidden_size=64, num_heads=2, mlp_ratio=2, patch_size=4,
                           spatial_merge_size=2, temporal_patch_size=2),
        text_config=_qwen_text_config(tok), **_qwen_token_ids(tok))
    return _build(Qwen2VLForConditionalGeneration, config, tok, TINY_QWEN_PREPROCESS, QwenVLM, seed, "qwen2_vl")


@tiny("qwen2_5_vl")
def tiny_qwen2_5_vl(seed: int = 0):
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    from .vlm.qwen import QwenVLM

    tok = tiny_tokenizer(QWEN_SPECIALS)
    config = Qwen2_5_VLConfig(
        vision_config=dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=64,
                           patch_size=4, spatial_merge_size=2, temporal_patch_size=2, window_size=8,
                           fullatt_block_indexes=[1]),
        text_config=_qwen_text_config(tok), **_qwen_token_ids(tok))
    return _build(Qwen2_5_VLForConditionalGeneration, config, tok, TINY_QWEN_PREPROCESS, QwenVLM, seed, "qwen2_5_vl")


@tiny("qwen3_vl")
def tiny_qwen3_vl(seed: int = 0):
    from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration

    from .vlm.qwen import QwenVLM

    tok = tiny_tokenizer(QWEN_SPECIALS)
    text = _qwen_text_config(tok, head_dim=16)
    text["rope_parameters"] = {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3],
                               "mrope_interleaved": True}
    config = Qwen3VLConfig(
        vision_config=dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=64,
                           patch_size=4, spatial_merge_size=2, temporal_patch_size=2, num_position_embeddings=16,
                           deepstack_visual_indexes=[0]),
        text_config=text, **_qwen_token_ids(tok))
    return _build(Qwen3VLForConditionalGeneration, config, tok, TINY_QWEN3_PREPROCESS, QwenVLM, seed, "qwen3_vl")


def tiny_video(seed: int = 0, *, frames: int = 4, size: int = 16):
    """A small toy-world video that fits the tiny models (uint8, (frames, size, size, 3))."""
    from .toyworld import random_attributes, render

    return render(random_attributes(seed), seed=seed, frames=frames, size=size)


def save_tiny(vlm, folder) -> Path:
    """Write a tiny VLM like a hub checkpoint: model, tokenizer and video preprocessor settings."""
    folder = Path(folder)
    vlm.model.save_pretrained(folder)
    vlm.tokenizer.save_pretrained(folder)
    (folder / "video_preprocessor_config.json").write_text(json.dumps(vlm.preprocess, indent=2))
    return folder


# ---------------------------------------------------------------------- LLaVA-OneVision, SmolVLM / Idefics3, InternVL
def _small_text_config(tokenizer, model_type: str, **extra) -> dict:
    """A 2-layer, 64-wide decoder (Qwen2 or Llama) over the tiny tokenizer's vocabulary."""
    ids = tokenizer.convert_tokens_to_ids
    return dict(model_type=model_type, vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128,
                num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                bos_token_id=ids("<bos>"), eos_token_id=ids("<eos>"), pad_token_id=ids("<pad>"), **extra)


LLAVA_ONEVISION_SPECIALS = ["<|im_start|>", "<|im_end|>", "<image>", "<video>"]
#: 16×16 frames straight to the 16×16 vision tower (4-pixel patches → 4×4 grid → 2×2 after pooling).
TINY_LLAVA_ONEVISION_PREPROCESS = {"size": {"height": 16, "width": 16}, "resample": 3, "do_rescale": True,
                                   "rescale_factor": 1 / 255, "do_normalize": True,
                                   "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}


@tiny("llava_onevision")
def tiny_llava_onevision(seed: int = 0):
    from transformers import LlavaOnevisionConfig, LlavaOnevisionForConditionalGeneration

    from .vlm.llava_onevision import LlavaOnevisionVLM

    tok = tiny_tokenizer(LLAVA_ONEVISION_SPECIALS)
    ids = tok.convert_tokens_to_ids
    config = LlavaOnevisionConfig(
        vision_config=dict(model_type="siglip_vision_model", hidden_size=32, intermediate_size=64,
                           num_hidden_layers=1, num_attention_heads=2, image_size=16, patch_size=4),
        text_config=_small_text_config(tok, "qwen2"), image_token_index=ids("<image>"),
        video_token_index=ids("<video>"), image_grid_pinpoints=[[16, 16]])
    return _build(LlavaOnevisionForConditionalGeneration, config, tok, TINY_LLAVA_ONEVISION_PREPROCESS,
                  LlavaOnevisionVLM, seed, "llava_onevision")


SMOLVLM_SPECIALS = ["<|im_start|>", "<end_of_utterance>", "<fake_token_around_image>", "<global-img>", "<image>",
                    "<video>", "<|begin_of_text|>"]
#: Plain words of the SmolVLM2 video layout, so that the tiny layout tokenises without <unk>.
SMOLVLM_WORDS = ["User:", "Assistant:", "You", "are", "provided", "following", "series", "of", "four", "frames",
                 "from", "0:00:00", "[H:MM:SS]", "Frame", "00:00:"]
#: SmolVLM-style settings for 16×16 tiny videos: no frame sampling, longest side 16, square 16.
TINY_SMOLVLM_PREPROCESS = {"do_resize": True, "size": {"longest_edge": 16}, "max_image_size": {"longest_edge": 16},
                           "resample": 1, "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
                           "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "do_sample_frames": False,
                           "video_sampling": {"fps": 1, "max_frames": 4, "video_size": {"longest_edge": 16}}}


def _tiny_idefics_family(config_class, model_class, name: str, seed: int):
    from .vlm.smolvlm import SmolVLM

    tok = tiny_tokenizer(SMOLVLM_SPECIALS + SMOLVLM_WORDS)
    config = config_class(
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                           image_size=16, patch_size=4),
        text_config=_small_text_config(tok, "llama"), image_token_id=tok.convert_tokens_to_ids("<image>"),
        scale_factor=2)
    return _build(model_class, config, tok, TINY_SMOLVLM_PREPROCESS, SmolVLM, seed, name)


@tiny("smolvlm")
def tiny_smolvlm(seed: int = 0):
    from transformers import SmolVLMConfig, SmolVLMForConditionalGeneration

    return _tiny_idefics_family(SmolVLMConfig, SmolVLMForConditionalGeneration, "smolvlm", seed)


@tiny("idefics3")
def tiny_idefics3(seed: int = 0):
    from transformers import Idefics3Config, Idefics3ForConditionalGeneration

    return _tiny_idefics_family(Idefics3Config, Idefics3ForConditionalGeneration, "idefics3", seed)


INTERNVL_SPECIALS = ["<|im_start|>", "<|im_end|>", "<img>", "</img>", "<IMG_CONTEXT>", "<video>"]
#: InternVL-style settings for 16×16 tiny videos (4-pixel patches → 4×4 grid → 2×2 after pixel shuffle).
TINY_INTERNVL_PREPROCESS = {"size": {"height": 16, "width": 16}, "resample": 3, "do_rescale": True,
                            "rescale_factor": 1 / 255, "do_normalize": True, "image_mean": [0.485, 0.456, 0.406],
                            "image_std": [0.229, 0.224, 0.225], "do_sample_frames": False, "initial_shift": True}


@tiny("internvl")
def tiny_internvl(seed: int = 0):
    from transformers import InternVLConfig, InternVLForConditionalGeneration

    from .vlm.internvl import InternVLM

    tok = tiny_tokenizer(INTERNVL_SPECIALS + [f"Frame{i}:" for i in range(1, 5)])
    config = InternVLConfig(
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                           image_size=[16, 16], patch_size=[4, 4]),
        text_config=_small_text_config(tok, "qwen2"), image_token_id=tok.convert_tokens_to_ids("<IMG_CONTEXT>"),
        image_seq_length=4, downsample_ratio=0.5)
    return _build(InternVLForConditionalGeneration, config, tok, TINY_INTERNVL_PREPROCESS, InternVLM, seed,
                  "internvl")


def official_function(file: str, name: str, cls: str | None = None):
    """A function (or method of ``cls``) from transformers' installed model source, e.g.
    ``official_function("internvl/video_processing_internvl.py", "sample_frames", "InternVLVideoProcessor")``,
    compiled on its own: the video processor modules import torchvision, which a CPU-only environment may lack, but
    their sampling and resize rules need only math, numpy and torch. Tests compare l2vkit's rules with these."""
    import ast
    import math

    import numpy as np
    import torch
    import transformers

    path = Path(transformers.__file__).parent / "models" / file
    body = ast.parse(path.read_text()).body
    if cls is not None:
        body = next(node for node in body if isinstance(node, ast.ClassDef) and node.name == cls).body
    function = next(node for node in body if isinstance(node, ast.FunctionDef) and node.name == name)
    namespace = {"math": math, "np": np, "torch": torch, "VideoMetadata": object, "Optional": object,
                 "Union": object, "logger": _SilentLogger()}
    module = ast.fix_missing_locations(ast.Module(body=[function], type_ignores=[]))
    exec(compile(module, str(path), "exec"), namespace)
    return namespace[name]


class _SilentLogger:
    def warning_once(self, *args, **kwargs):
        pass

    warning = warning_once
