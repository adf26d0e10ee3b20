"""LTX-Video (``LTXPipeline``): a T5 text encoder with an attention mask, a causal video VAE, one DiT.

The pipeline packs latents into tokens (B, F·h·w, C); this adapter exposes them unpacked, (B, C, F, h, w), like every
family. Its σ grid depends on the video size (resolution-dependent shift ``mu``), so :meth:`sigmas` takes the size.
With guidance the pipeline concatenates [negative, positive] embeddings into one batch, so both must have the same
length and the attention mask stays fixed for the whole run (the step-end callback can replace ``prompt_embeds``
but not the mask): a condition schedule must keep the mask of its step-0 condition.
"""
from __future__ import annotations

import math

from .base import Condition, VideoGenerator, register


@register("LTXPipeline")
class LTXGenerator(VideoGenerator):
    family = "ltx"
    #: frames per second of the videos it makes (LTX-Video's pipelines default to frame_rate=25)
    fps = 25
    default_frames = 161
    default_height = 512
    default_width = 704
    default_text_len = 128
    default_steps = 50
    default_guidance = 3.0
    needs_mask = True

    def __init__(self, pipe, *, frame_rate: int = 25, decode_timestep: float = 0.0,
                 decode_noise_scale: float | None = None, **kwargs):
        self.frame_rate = int(frame_rate)
        self.decode_timestep = float(decode_timestep)
        self.decode_noise_scale = decode_noise_scale
        super().__init__(pipe, **kwargs)

    @property
    def text_dim(self) -> int:
        return int(self.transformer.config.caption_channels)

    @property
    def latent_channels(self) -> int:
        return int(self.transformer.config.in_channels)

    def _patches(self) -> tuple[int, int]:
        return self.pipe.transformer_spatial_patch_size, self.pipe.transformer_temporal_patch_size

    def check_video_size(self, frames: int, height: int, width: int) -> None:
        temporal = self.pipe.vae_temporal_compression_ratio
        p, pt = self._patches()
        step_f = temporal * pt
        if frames < 1 or (frames - 1) % temporal or ((frames - 1) // temporal + 1) % pt:
            ok = max(1, (frames - 1) // step_f * step_f + 1)
            raise ValueError(f"LTX-Video takes frames = {temporal}·k + 1 (1, {temporal + 1}, {2 * temporal + 1}, …); "
                             f"got {frames} (nearest below: {ok})")
        m = math.lcm(32, self.pipe.vae_spatial_compression_ratio * p)
        if height < m or width < m or height % m or width % m:
            raise ValueError(f"LTX-Video needs height and width divisible by {m}; got {height}×{width} "
                             f"(try {max(m, height // m * m)}×{max(m, width // m * m)})")

    def latent_shape(self, frames: int, height: int, width: int) -> tuple[int, int, int, int]:
        s = self.pipe.vae_spatial_compression_ratio
        return (self.latent_channels, (frames - 1) // self.pipe.vae_temporal_compression_ratio + 1, height // s,
                width // s)

    # ------------------------------------------------------------------------------------------- hooks
    def _encode_text(self, texts: list[str]) -> Condition:
        embeds, mask, _, _ = self.pipe.encode_prompt(prompt=texts, do_classifier_free_guidance=False,
                                                     max_sequence_length=self.text_len, device=self.device)
        return Condition(embeds, mask)

    def _rope_scale(self) -> tuple[float, int, int]:
        s = self.pipe.vae_spatial_compression_ratio
        return (self.pipe.vae_temporal_compression_ratio / self.frame_rate, s, s)

    def _velocity(self, z, condition: Condition, t):
        model = self.pipe.transformer
        dtype = model.dtype
        p, pt = self._patches()
        _, _, frames, h, w = z.shape
        tokens = self.pipe._pack_latents(z, p, pt).to(dtype)
        out = model(hidden_states=tokens, encoder_hidden_states=condition.embeds.to(dtype),
                    timestep=t.expand(z.shape[0]), encoder_attention_mask=condition.mask, num_frames=frames,
                    height=h, width=w, rope_interpolation_scale=self._rope_scale(), return_dict=False)[0]
        return self.pipe._unpack_latents(out.float(), frames, h, w, p, pt)

    def _set_timesteps(self, scheduler, steps: int, frames: int, height: int, width: int):
        import numpy as np
        from diffusers.pipelines.ltx.pipeline_ltx import calculate_shift, retrieve_timesteps

        # as LTXPipeline.__call__: linear σ from 1 to 1/steps, shifted by mu from the latent sequence length

        _, lf, lh, lw = self.latent_shape(frames, height, width)
        config = self.pipe.scheduler.config
        mu = calculate_shift(lf * lh * lw, config.get("base_image_seq_len", 256),
                             config.get("max_image_seq_len", 4096), config.get("base_shift", 0.5),
                             config.get("max_shift", 1.15))
        retrieve_timesteps(scheduler, steps, "cpu", None, sigmas=np.linspace(1.0, 1 / steps, steps), mu=mu)

    def _pipeline_inputs(self, condition: Condition, negative: Condition | None) -> dict:
        dtype = self.dtype
        inputs = {"prompt_embeds": condition.embeds.to(dtype), "prompt_attention_mask": condition.mask,
                  "frame_rate": self.frame_rate, "decode_timestep": self.decode_timestep,
                  "decode_noise_scale": self.decode_noise_scale}
        if negative is not None:
            inputs.update(negative_prompt_embeds=negative.embeds.to(dtype),
                          negative_prompt_attention_mask=negative.mask)
        return inputs

    def _callback_condition(self, condition: Condition, base: Condition, negative, guided: bool) -> dict:
        import torch

        if not torch.equal(condition.mask.to(base.mask.device).bool(), base.mask.bool()):
            raise ValueError("LTX-Video cannot change the attention mask during sampling (the step-end callback only "
                             "replaces prompt_embeds): every condition of a schedule must keep the step-0 mask, e.g. "
                             "build them with base.with_embeds(...)")
        embeds = condition.embeds.to(dtype=self.dtype)  # condition and negative are already on the device (sample)
        if guided:  # the pipeline runs [negative, positive] as one batch
            embeds = torch.cat([negative.embeds.to(device=embeds.device, dtype=self.dtype), embeds], dim=0)
        return {"prompt_embeds": embeds}

    def _from_pipeline_latents(self, latents, frames: int, height: int, width: int):
        if latents.ndim == 5:
            return latents
        p, pt = self._patches()
        _, lf, lh, lw = self.latent_shape(frames, height, width)
        return self.pipe._unpack_latents(latents, lf, lh, lw, p, pt)  # as the pipeline calls it

    def _to_pipeline_latents(self, latents, like):
        if like.ndim == 5:
            return latents.to(like.dtype)
        p, pt = self._patches()
        return self.pipe._pack_latents(latents, p, pt).to(like.dtype)  # as the pipeline packs its noise

    def _initial_noise(self, seed: int, batch: int, frames: int, height: int, width: int):
        import torch

        packed = self.pipe.prepare_latents(batch, self.latent_channels, height, width, frames, torch.float32,
                                           self.device, torch.Generator().manual_seed(int(seed)))
        return self._from_pipeline_latents(packed, frames, height, width)

    def _decode_raw(self, z):
        import torch
        from diffusers.utils.torch_utils import get_module_execution_device

        vae = self.pipe.vae
        device = get_module_execution_device(vae)
        z = z.to(device)
        z = self.pipe._denormalize_latents(z, vae.latents_mean, vae.latents_std, vae.config.scaling_factor)
        z = z.to(self.dtype)  # the pipeline casts to the prompt-embedding dtype first
        timestep = None
        if vae.config.timestep_conditioning:
            batch = z.shape[0]
            scale = self.decode_timestep if self.decode_noise_scale is None else self.decode_noise_scale
            timestep = torch.tensor([self.decode_timestep] * batch, device=device, dtype=z.dtype)
            if scale:
                noise = torch.randn(z.shape, generator=torch.Generator().manual_seed(0), dtype=z.dtype).to(device)
                z = (1 - scale) * z + scale * noise
        return vae.decode(z.to(vae.dtype), timestep, return_dict=False)[0]

    def _encode_raw(self, x):
        from diffusers.utils.torch_utils import get_module_execution_device

        vae = self.pipe.vae
        x = x.to(get_module_execution_device(vae), dtype=vae.dtype)
        z = vae.encode(x).latent_dist.mode()
        return self.pipe._normalize_latents(z, vae.latents_mean, vae.latents_std, vae.config.scaling_factor).float()
