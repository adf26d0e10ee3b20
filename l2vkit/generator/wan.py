"""Wan 2.1 / 2.2 (``WanPipeline``): a UMT5 (or any) text encoder, a 3-D VAE and one or two DiT experts.

Wan 2.2 A14B has two experts: ``transformer`` for high noise (``t >= boundary_ratio · num_train_timesteps``) and
``transformer_2`` for low noise; :meth:`WanGenerator.velocity` picks the one the pipeline would use at ``t``
(:meth:`WanGenerator.expert_for`). Wan 2.2 TI2V-5B (``expand_timesteps=True``) gets per-token timesteps, as in the
pipeline. Conditions carry no mask: the pipeline zero-pads ``prompt_embeds`` past the caption's tokens.
"""
from __future__ import annotations

import math

from .base import Condition, VideoGenerator, register


@register("WanPipeline")
class WanGenerator(VideoGenerator):
    family = "wan"  # the base class's defaults are WanPipeline's own (81×480×832, 50 steps, guidance 5)
    @property
    def fps(self) -> float | None:
        """Frames per second of the videos it makes: 16 (Wan2.1, Wan2.2 A14B), 24 for Wan2.2 TI2V-5B (the
        ``expand_timesteps`` layout), as their model cards export them; assignable."""
        if "_fps" in self.__dict__:
            return self.__dict__["_fps"]
        return 24 if getattr(self.pipe.config, "expand_timesteps", False) else 16

    @fps.setter
    def fps(self, value: float | None) -> None:
        self.__dict__["_fps"] = value

    @classmethod
    def component_dtypes(cls, dtype):
        import torch

        # Wan's VAE is run in float32 in the official examples (reduced precision degrades it).
        return {"default": dtype, "vae": torch.float32}

    # --------------------------------------------------------------------------------------- structure
    @property
    def transformer(self):
        return self.pipe.transformer if self.pipe.transformer is not None else self.pipe.transformer_2

    @property
    def text_dim(self) -> int:
        return int(self.transformer.config.text_dim)

    @property
    def latent_channels(self) -> int:
        return int(self.transformer.config.in_channels)

    @property
    def boundary_timestep(self) -> float | None:
        """Timesteps at or above this use ``transformer``, below it ``transformer_2`` (Wan 2.2 A14B); else None."""
        ratio = self.pipe.config.boundary_ratio
        return None if ratio is None else ratio * self.num_train_timesteps

    def expert_for(self, t) -> str:
        """``"transformer"`` (high noise / single expert) or ``"transformer_2"`` (low noise, Wan 2.2 A14B)."""
        import torch

        boundary = self.boundary_timestep
        if self.pipe.transformer is None:
            return "transformer_2"
        if boundary is None:
            return "transformer"
        t = torch.as_tensor(t)
        high = (t >= boundary)
        if high.ndim and not (bool(high.all()) or not bool(high.any())):
            raise ValueError(f"timesteps {t.tolist()} fall on both sides of the expert boundary {boundary:g}; "
                             "call velocity separately for high- and low-noise timesteps")
        return "transformer" if bool(high.all()) else "transformer_2"

    def _split_by_expert(self, t, batch: int):
        """(high-noise rows, low-noise rows) when a batch's per-sample timesteps straddle the expert boundary."""
        import torch

        t = torch.as_tensor(t).flatten()
        boundary = self.boundary_timestep
        if boundary is None or self.pipe.transformer is None or t.numel() != batch or batch < 2:
            return None
        high = t >= boundary
        if bool(high.all()) or not bool(high.any()):
            return None
        return torch.nonzero(high).flatten(), torch.nonzero(~high).flatten()

    def _multiples(self) -> tuple[int, int]:
        patch = self.transformer.config.patch_size
        spatial = self.pipe.vae_scale_factor_spatial
        return math.lcm(16, spatial * patch[1]), math.lcm(16, spatial * patch[2])

    def check_video_size(self, frames: int, height: int, width: int) -> None:
        temporal = self.pipe.vae_scale_factor_temporal
        if frames < 1 or (frames - 1) % temporal:
            ok = max(1, (frames - 1) // temporal * temporal + 1)
            raise ValueError(f"Wan takes frames = {temporal}·k + 1 (1, {temporal + 1}, {2 * temporal + 1}, …); got "
                             f"{frames} (nearest below: {ok})")
        mh, mw = self._multiples()
        if height < mh or width < mw or height % mh or width % mw:
            raise ValueError(f"Wan needs height divisible by {mh} and width divisible by {mw}; got {height}×{width} "
                             f"(try {max(mh, height // mh * mh)}×{max(mw, width // mw * mw)})")

    def latent_shape(self, frames: int, height: int, width: int) -> tuple[int, int, int, int]:
        spatial = self.pipe.vae_scale_factor_spatial
        return (self.latent_channels, (frames - 1) // self.pipe.vae_scale_factor_temporal + 1, height // spatial,
                width // spatial)

    # ------------------------------------------------------------------------------------------- hooks
    def _encode_text(self, texts: list[str]) -> Condition:
        embeds, _ = self.pipe.encode_prompt(prompt=texts, do_classifier_free_guidance=False,
                                            max_sequence_length=self.text_len, device=self.device)
        return Condition(embeds)

    def _velocity(self, z, condition: Condition, t):
        import torch

        mixed = self._split_by_expert(t, z.shape[0])
        if mixed is not None:  # per-sample timesteps on both sides of the boundary (e.g. concept training's draws)
            out = None
            for index in mixed:
                rows = condition if condition.embeds.shape[0] != z.shape[0] else \
                    Condition(condition.embeds[index], None if condition.mask is None else condition.mask[index])
                part = self._velocity(z[index], rows, torch.as_tensor(t).flatten()[index.cpu()])
                out = part.new_empty(z.shape) if out is None else out
                out[index] = part
            return out
        model = getattr(self.pipe, self.expert_for(t))
        dtype = model.dtype
        batch = z.shape[0]
        if self.pipe.config.expand_timesteps:
            # as in the pipeline: one timestep per latent token (mask of ones, patch 2×2 → every other h, w)
            ones = torch.ones(z.shape[2:], dtype=torch.float32, device=z.device)[:, ::2, ::2].flatten()
            timestep = (ones.unsqueeze(0) * t.reshape(-1, 1).to(ones.dtype)).expand(batch, -1)
        else:
            timestep = t.expand(batch)
        out = model(hidden_states=z.to(dtype), timestep=timestep, encoder_hidden_states=condition.embeds.to(dtype),
                    return_dict=False)[0]
        return out.float()

    def _set_timesteps(self, scheduler, steps: int, frames: int, height: int, width: int):
        scheduler.set_timesteps(steps, device="cpu")  # as WanPipeline.__call__ (which uses its execution device)

    def _pipeline_inputs(self, condition: Condition, negative: Condition | None) -> dict:
        inputs = {"prompt_embeds": condition.embeds}
        if negative is not None:
            inputs["negative_prompt_embeds"] = negative.embeds
        return inputs

    def _callback_condition(self, condition: Condition, base: Condition, negative, guided: bool) -> dict:
        # The pipeline keeps positive and negative embeddings apart and casts them to the transformer dtype once.
        return {"prompt_embeds": condition.embeds.to(dtype=self.dtype)}  # already on the device (see sample)

    def _initial_noise(self, seed: int, batch: int, frames: int, height: int, width: int):
        import torch

        return self.pipe.prepare_latents(batch, self.latent_channels, height, width, frames, torch.float32,
                                         self.device, torch.Generator().manual_seed(int(seed)))

    def _latent_stats(self, z):
        import torch

        vae = self.pipe.vae
        mean = torch.tensor(vae.config.latents_mean).view(1, vae.config.z_dim, 1, 1, 1).to(z.device, z.dtype)
        std_inv = 1.0 / torch.tensor(vae.config.latents_std).view(1, vae.config.z_dim, 1, 1, 1).to(z.device, z.dtype)
        return mean, std_inv

    def _decode_raw(self, z):
        from diffusers.utils.torch_utils import get_module_execution_device

        vae = self.pipe.vae
        z = z.to(get_module_execution_device(vae), dtype=vae.dtype)
        mean, std_inv = self._latent_stats(z)
        return vae.decode(z / std_inv + mean, return_dict=False)[0]  # the pipeline's de-normalisation, verbatim

    def _encode_raw(self, x):
        from diffusers.utils.torch_utils import get_module_execution_device

        vae = self.pipe.vae
        x = x.to(get_module_execution_device(vae), dtype=vae.dtype)
        z = vae.encode(x).latent_dist.mode()
        mean, std_inv = self._latent_stats(z)
        return ((z - mean) * std_inv).float()  # as Wan's image-to-video pipeline normalises encoded frames
