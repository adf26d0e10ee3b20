"""The toy generator: a real diffusers ``WanPipeline`` — tiny ``AutoencoderKLWan`` + tiny ``WanTransformer3DModel``
— conditioned on the per-token embeddings of the frozen real text encoder all-MiniLM-L6-v2.

Why a latent space: the 4× spatial / 4× temporal VAE turns a 9×32×32 video into 3×8×8 latents, so the
transformer (patch 1×2×2) sees 48 tokens instead of the 576 a pixel-space model needs; that is what lets a
CPU-trained model place the object, not only the background.
"""
from __future__ import annotations

from pathlib import Path

from ..minilm import load_minilm as load_text_encoder  # the frozen text encoder

#: Prompt length the toy generator is trained with (MiniLM word pieces incl. [CLS]/[SEP], zero-padded).
MAX_SEQUENCE_LENGTH = 24
SAMPLER_SHIFT = 2.0  # the Euler scheduler's time shift (the transformer's fine-tuning trains on the same σ)
TEXT_DIM = 384  # all-MiniLM-L6-v2 hidden size
Z_DIM = 16


def build_vae(seed: int = 0):
    """Tiny causal video VAE: 4× spatial and 4× temporal compression, 16 latent channels (~0.5M parameters)."""
    import torch
    from diffusers import AutoencoderKLWan

    torch.manual_seed(seed)
    return AutoencoderKLWan(base_dim=8, z_dim=Z_DIM, dim_mult=[1, 2, 4], num_res_blocks=1,
                            temperal_downsample=[True, True], scale_factor_temporal=4, scale_factor_spatial=4,
                            latents_mean=[0.0] * Z_DIM, latents_std=[1.0] * Z_DIM)


def build_transformer(seed: int = 0):
    """Tiny Wan transformer over 3×8×8×16 latents (48 tokens of patch 1×2×2), cross-attending to MiniLM tokens."""
    import torch
    from diffusers import WanTransformer3DModel

    torch.manual_seed(seed)
    return WanTransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=4, attention_head_dim=32,
                                 in_channels=Z_DIM, out_channels=Z_DIM, text_dim=TEXT_DIM, freq_dim=64, ffn_dim=512,
                                 num_layers=6, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
                                 rope_max_seq_len=64)


def build_scheduler():
    from diffusers import FlowMatchEulerDiscreteScheduler

    return FlowMatchEulerDiscreteScheduler(shift=SAMPLER_SHIFT)


def assemble_pipeline(vae, transformer, scheduler=None):
    """The real ``WanPipeline`` around the toy parts and the frozen MiniLM text encoder."""
    from diffusers import WanPipeline

    tokenizer, text_encoder = load_text_encoder()
    return WanPipeline(tokenizer=tokenizer, text_encoder=text_encoder, transformer=transformer, vae=vae,
                       scheduler=scheduler or build_scheduler())


def load_pipeline(folder, *, device=None, dtype=None):
    """(WanPipeline, settings) from a toy generator folder written by ``train_generator`` (vae/, transformer/,
    scheduler/, l2vkit_generator.json); MiniLM comes from its package."""
    import json

    import torch
    from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, WanTransformer3DModel

    folder = Path(folder)
    settings_path = folder / "l2vkit_generator.json"
    if not settings_path.exists():
        raise FileNotFoundError(f"{folder} is not a toy generator folder (no l2vkit_generator.json); train one with "
                                "`python -m l2vkit.toyworld.train_generator`")
    settings = json.loads(settings_path.read_text())
    from ..generator.loading import dtype_kwarg

    dtype = dtype or torch.float32
    key = dtype_kwarg()
    pipe = assemble_pipeline(AutoencoderKLWan.from_pretrained(folder / "vae", **{key: torch.float32}),
                             WanTransformer3DModel.from_pretrained(folder / "transformer", **{key: dtype}),
                             FlowMatchEulerDiscreteScheduler.from_pretrained(folder / "scheduler"))
    if device is not None:
        pipe.to(device)
    return pipe, settings
