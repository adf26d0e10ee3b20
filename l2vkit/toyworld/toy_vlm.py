"""The toy VLM: a real transformers Qwen2-VL, tiny, with a word-level tokenizer over the toy vocabulary.

Design choices that matter for learning the toy world:
- 4-pixel patches, 2×2 spatial merge and **one temporal patch spanning all 9 frames**: Qwen2-VL's vision tower
  attends only within a temporal group and has no absolute positions, so with several groups the direction of
  motion has to be recovered by the language model from rotary offsets between groups (a first model with
  3-frame groups stayed at chance on adverb and direction after 1,000 steps). With one group, every patch
  embedding sees when the object passes it, and the vision tower compares patches directly.
- 9 frames of 32×32 → grid (1, 8, 8) → 16 visual tokens.
"""
from __future__ import annotations

from .attributes import ATTRIBUTE_VALUES

SPECIAL_TOKENS = ["<pad>", "<unk>", "<bos>", "<eos>", "<|vision_start|>", "<|vision_end|>", "<|video_pad|>",
                  "<|image_pad|>"]
GRAMMAR_WORDS = ["a", "moves", "to", "the", "in"]

#: The toy processor settings, in the keys of Qwen2-VL's video_preprocessor_config.json.
TOY_PREPROCESSOR = {
    "processor_class": "Qwen2VLProcessor",
    "video_processor_type": "Qwen2VLVideoProcessor",
    "patch_size": 4,
    "temporal_patch_size": 9,
    "merge_size": 2,
    "size": {"shortest_edge": 32 * 32, "longest_edge": 32 * 32},
    "do_resize": True,
    "do_rescale": True,
    "rescale_factor": 1 / 255,
    "do_normalize": True,
    "image_mean": [0.48145466, 0.4578275, 0.40821073],
    "image_std": [0.26862954, 0.26130258, 0.27577711],
    "num_frames": 9,
}


def vocabulary() -> list[str]:
    words = list(GRAMMAR_WORDS)
    for values in ATTRIBUTE_VALUES.values():
        words += [v for v in values if v not in words]
    return SPECIAL_TOKENS + words


def build_tokenizer():
    """A word-level fast tokenizer: one token per toy word, so every contrast word is exactly one token."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate(vocabulary())}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token="<pad>", unk_token="<unk>", bos_token="<bos>", eos_token="<eos>",
        additional_special_tokens=SPECIAL_TOKENS[4:],
    )


def build_config(tokenizer, *, hidden: int = 128, layers: int = 3, vision_depth: int = 3):
    """A tiny Qwen2-VL config (about 1M parameters) sized for 9×32×32 toy videos."""
    from transformers import Qwen2VLConfig

    ids = tokenizer.convert_tokens_to_ids
    return Qwen2VLConfig(
        vision_config=dict(
            depth=vision_depth, embed_dim=96, hidden_size=hidden, num_heads=4, mlp_ratio=2, in_channels=3,
            patch_size=TOY_PREPROCESSOR["patch_size"], spatial_merge_size=TOY_PREPROCESSOR["merge_size"],
            temporal_patch_size=TOY_PREPROCESSOR["temporal_patch_size"],
        ),
        text_config=dict(
            vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=3 * hidden, num_hidden_layers=layers,
            num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [4, 6, 6]},
            bos_token_id=ids("<bos>"), eos_token_id=ids("<eos>"), pad_token_id=ids("<pad>"),
        ),
        image_token_id=ids("<|image_pad|>"), video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"), vision_end_token_id=ids("<|vision_end|>"),
        bos_token_id=ids("<bos>"), eos_token_id=ids("<eos>"), pad_token_id=ids("<pad>"),
        tie_word_embeddings=True,
    )
