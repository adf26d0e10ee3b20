"""Tiny random-weight diffusers text-to-video pipelines, built in-process (no downloads), for tests and labs.

Each builder returns the real diffusers pipeline object (``WanPipeline``, ``LTXPipeline``) with toy-sized components,
seeded so that two calls with the same ``seed`` give bitwise the same weights. Sizes follow diffusers' own fast tests
(``tests/pipelines/wan/test_wan.py``, ``tests/pipelines/ltx/test_ltx.py``); the text encoders those tests download
(``hf-internal-testing/tiny-random-t5``) are replaced by a T5/UMT5 encoder built from a config plus a word-level
tokenizer built in code.

Wrap a pipeline with :meth:`l2vkit.generator.VideoGenerator.from_pipeline`, e.g.::

    gen = VideoGenerator.from_pipeline(tiny_wan_pipeline(), **TINY_SIZES["wan"])

``TINY_SIZES`` gives video sizes each tiny pipeline accepts (and that keep a sampling step under a second on CPU).
"""
from __future__ import annotations


#: Sampling sizes that suit each tiny pipeline: frames/height/width it accepts and a short text length.
TINY_SIZES = {
    "wan": dict(frames=9, height=16, width=16, text_len=16),
    "wan_minilm": dict(frames=9, height=16, width=16, text_len=16),
    "wan_ti2v": dict(frames=9, height=32, width=32, text_len=16),
    "ltx": dict(frames=9, height=32, width=32, text_len=16),
}

_GRAMMAR = ("a", "an", "the", "moves", "to", "in", "of", "and", "on", "video", "is")


def tiny_word_tokenizer(extra_words=()):
    """A lower-casing word-level fast tokenizer over the toy-world vocabulary (unknown words map to ``<unk>``).

    >>> tok = tiny_word_tokenizer()
    >>> tok("a red circle")["input_ids"] == tok.convert_tokens_to_ids(["a", "red", "circle"])
    True
    """
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from .toyworld.attributes import ATTRIBUTE_VALUES

    words = ["<pad>", "</s>", "<unk>"]
    for w in list(_GRAMMAR) + [v for values in ATTRIBUTE_VALUES.values() for v in values] + list(extra_words):
        if w not in words:
            words.append(w)
    core = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    core.normalizer = normalizers.Lowercase()
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", eos_token="</s>", unk_token="<unk>",
                                   model_max_length=512)


def _tiny_t5_encoder(tokenizer, *, umt5: bool):
    """A 2-layer T5 (or UMT5, as Wan uses) encoder with d_model=32, random weights from the current torch seed."""
    from transformers import T5Config, T5EncoderModel, UMT5Config, UMT5EncoderModel

    kwargs = dict(vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
                  relative_attention_num_buckets=8, relative_attention_max_distance=16, dropout_rate=0.0,
                  pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                  decoder_start_token_id=tokenizer.pad_token_id)
    if umt5:
        return UMT5EncoderModel(UMT5Config(**kwargs)).eval()
    return T5EncoderModel(T5Config(**kwargs)).eval()


def _tiny_wan_vae():
    from diffusers import AutoencoderKLWan

    return AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                            temperal_downsample=[False, True, True])


def _tiny_wan22_vae():
    """Wan2.2 TI2V-5B's VAE layout: 48 latent channels, residual up/down blocks, pixels patchified 2×2 first (so 12
    input channels) and 16× spatial compression; tiny widths."""
    from diffusers import AutoencoderKLWan

    return AutoencoderKLWan(base_dim=12, z_dim=48, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                            temperal_downsample=[False, True, True], is_residual=True, patch_size=2, in_channels=12,
                            out_channels=12, scale_factor_temporal=4, scale_factor_spatial=16,
                            latents_mean=[0.0] * 48, latents_std=[1.0] * 48)


def _tiny_wan_transformer(text_dim: int, channels: int = 16):
    from diffusers import WanTransformer3DModel

    return WanTransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12,
                                 in_channels=channels, out_channels=channels, text_dim=text_dim, freq_dim=256,
                                 ffn_dim=32, num_layers=2,
                                 cross_attn_norm=True, qk_norm="rms_norm_across_heads", rope_max_seq_len=32)


def tiny_wan_pipeline(seed: int = 0, *, two_experts: bool = False, boundary_ratio: float = 0.875,
                      ti2v: bool = False):
    """A ``WanPipeline`` with toy-sized random weights (diffusers' test sizes) and an in-process UMT5 encoder.

    ``two_experts=True`` builds the Wan 2.2 A14B layout: a second transformer (``transformer_2``, different weights)
    used for timesteps below ``boundary_ratio * num_train_timesteps``. ``ti2v=True`` builds the Wan 2.2 TI2V-5B
    layout: the 48-channel VAE with 16× spatial compression and ``expand_timesteps`` (one timestep per latent
    token); its sizes are ``TINY_SIZES["wan_ti2v"]`` (height and width multiples of 32).
    """
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, WanPipeline

    if ti2v and two_experts:
        raise ValueError("Wan 2.2 TI2V-5B has one transformer; choose ti2v or two_experts")
    tokenizer = tiny_word_tokenizer()
    torch.manual_seed(seed)
    vae = _tiny_wan22_vae() if ti2v else _tiny_wan_vae()
    torch.manual_seed(seed)
    transformer = _tiny_wan_transformer(text_dim=32, channels=48 if ti2v else 16)
    transformer_2 = None
    if two_experts:
        torch.manual_seed(seed + 1)
        transformer_2 = _tiny_wan_transformer(text_dim=32)
    torch.manual_seed(seed)
    text_encoder = _tiny_t5_encoder(tokenizer, umt5=True)
    scheduler = FlowMatchEulerDiscreteScheduler(shift=7.0)
    return WanPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, scheduler=scheduler,
                       transformer=transformer, transformer_2=transformer_2,
                       boundary_ratio=boundary_ratio if two_experts else None, expand_timesteps=ti2v)


def tiny_wan_minilm_pipeline(seed: int = 0):
    """A tiny random ``WanPipeline`` whose text encoder is the real, pretrained all-MiniLM-L6-v2 (a ``BertModel``).

    The transformer's ``text_dim`` is MiniLM's hidden size (384): the layout of the toy generator, proving that nothing
    in the Ξ interface assumes a T5 text encoder.
    """
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, WanPipeline
    from transformers import AutoTokenizer, BertModel
    from transformers.utils import logging

    from .minilm import minilm_folder

    folder = minilm_folder()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    verbosity, bars = logging.get_verbosity(), logging.is_progress_bar_enabled()
    logging.set_verbosity_error()  # the unused pooler weights are expected: no load report
    logging.disable_progress_bar()
    try:
        text_encoder = BertModel.from_pretrained(folder, add_pooling_layer=False).eval()
    finally:
        logging.set_verbosity(verbosity)
        if bars:
            logging.enable_progress_bar()
    torch.manual_seed(seed)
    vae = _tiny_wan_vae()
    torch.manual_seed(seed)
    transformer = _tiny_wan_transformer(text_dim=text_encoder.config.hidden_size)
    scheduler = FlowMatchEulerDiscreteScheduler(shift=7.0)
    return WanPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, scheduler=scheduler,
                       transformer=transformer)


def tiny_ltx_pipeline(seed: int = 0):
    """An ``LTXPipeline`` with toy-sized random weights (diffusers' test sizes) and an in-process T5 encoder."""
    import torch
    from diffusers import (
        AutoencoderKLLTXVideo,
        FlowMatchEulerDiscreteScheduler,
        LTXPipeline,
        LTXVideoTransformer3DModel,
    )

    tokenizer = tiny_word_tokenizer()
    torch.manual_seed(seed)
    transformer = LTXVideoTransformer3DModel(in_channels=8, out_channels=8, patch_size=1, patch_size_t=1,
                                             num_attention_heads=4, attention_head_dim=8, cross_attention_dim=32,
                                             num_layers=1, caption_channels=32)
    torch.manual_seed(seed)
    vae = AutoencoderKLLTXVideo(latent_channels=8, block_out_channels=(8, 8, 8, 8),
                                spatio_temporal_scaling=(True, True, False, False), layers_per_block=(1, 1, 1, 1, 1),
                                decoder_block_out_channels=(8, 8, 8, 8), decoder_layers_per_block=(1, 1, 1, 1, 1),
                                decoder_spatio_temporal_scaling=(True, True, False, False),
                                decoder_inject_noise=(False, False, False, False, False),
                                patch_size=1, patch_size_t=1, encoder_causal=True, decoder_causal=False)
    vae.use_framewise_encoding = False
    vae.use_framewise_decoding = False
    torch.manual_seed(seed)
    text_encoder = _tiny_t5_encoder(tokenizer, umt5=False)
    scheduler = FlowMatchEulerDiscreteScheduler()
    return LTXPipeline(scheduler=scheduler, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
                       transformer=transformer)


def tiny_wan_ti2v_pipeline(seed: int = 0):
    """The Wan 2.2 TI2V-5B layout of :func:`tiny_wan_pipeline` (48-channel VAE, per-token timesteps)."""
    return tiny_wan_pipeline(seed, ti2v=True)


#: name → builder(seed) of every tiny pipeline.
TINY_PIPELINES = {"wan": tiny_wan_pipeline, "wan_minilm": tiny_wan_minilm_pipeline, "wan_ti2v": tiny_wan_ti2v_pipeline,
                  "ltx": tiny_ltx_pipeline}


def tiny_generator(name: str = "wan", seed: int = 0, **kwargs):
    """A :class:`~l2vkit.generator.VideoGenerator` over a tiny pipeline, with that pipeline's ``TINY_SIZES``."""
    from .generator import VideoGenerator

    if name not in TINY_PIPELINES:
        raise ValueError(f"no tiny pipeline {name!r}; choose one of {', '.join(TINY_PIPELINES)}")
    options = dict(TINY_SIZES[name], model_id=f"tiny-{name}")
    options.update(kwargs)
    return VideoGenerator.from_pipeline(TINY_PIPELINES[name](seed), **options)
