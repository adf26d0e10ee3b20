"""Sampling through the pipeline's own ``__call__``: the condition schedule, latent hooks, the trajectory, and
users' own step-end callbacks chained with the sampler's (a mixin of :class:`~l2vkit.generator.VideoGenerator`)."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .condition import Condition, SampleResult

OUTPUTS = ("latent", "frames")


def to_uint8(video) -> np.ndarray:
    """Frames in [0, 1] → uint8, rounded as the pipelines' own post-processing rounds; warns about a flat video."""
    video = np.round(np.clip(np.asarray(video), 0.0, 1.0) * 255.0).astype(np.uint8)
    warn_if_flat(video)
    return video


def warn_if_flat(video: np.ndarray) -> None:
    """Warn when a generated video (T, H, W, 3), or one of a batch, is a single value throughout: a saturated
    sampler gives an all-black or all-white clip with no error, which looks like a result but is not one."""
    clips = video.reshape(-1, *video.shape[-4:]) if video.ndim >= 4 else video[None]
    flat = [i for i, clip in enumerate(clips) if clip.size and clip.min() == clip.max()]
    if flat:
        import warnings

        value = int(clips[flat[0]].flat[0])
        warnings.warn(f"generated video{'s' if len(flat) > 1 else ''} {flat} of {len(clips)} hold one value "
                      f"({value}) in every pixel: the sampler saturated. Lower the steering strengths or the "
                      "guidance, or sample in float32", RuntimeWarning, stacklevel=3)


def callback_tensor_inputs(callback, tensor_inputs) -> list[str]:
    """The tensors a step-end callback asks for: its own ``tensor_inputs`` (diffusers' callback objects) or the list
    given with a plain function."""
    own = getattr(callback, "tensor_inputs", None)
    return list(own if own is not None else (tensor_inputs or []))


def chain_callbacks(user, user_inputs, own, own_inputs):
    """One step-end callback running ``user`` then ``own`` (either may be ``None``), and the union of the tensors they
    ask for: each sees the tensors as the one before left them, as in diffusers' ``MultiPipelineCallbacks``."""
    if user is not None and not callable(user):
        raise TypeError(f"callback_on_step_end must be callable (pipe, step, timestep, callback_kwargs) -> dict, got "
                        f"{type(user).__name__}")
    if user is None:
        return own, list(own_inputs or [])
    inputs = list(dict.fromkeys(callback_tensor_inputs(user, user_inputs) + list(own_inputs or [])))
    if own is None:
        return user, inputs

    def chained(pipe, i, t, callback_kwargs):
        outputs = dict(user(pipe, i, t, callback_kwargs) or {})
        outputs.update(own(pipe, i, t, {**callback_kwargs, **outputs}) or {})
        return outputs

    return chained, inputs


class SamplingMixin:
    """``sample`` and ``generate`` of :class:`~l2vkit.generator.VideoGenerator`."""

    def sample(self, condition, *, steps: int | None = None, guidance: float | None = None, seed: int = 0,
               negative=None, condition_schedule: Callable | None = None, return_trajectory: bool = False,
               latents_hook: Callable | None = None, output: str = "latent", frames: int | None = None,
               height: int | None = None, width: int | None = None, callback_on_step_end: Callable | None = None,
               callback_on_step_end_tensor_inputs: Sequence[str] | None = None,
               **pipeline_kwargs) -> SampleResult:
        """Sample with the pipeline's own ``__call__`` from π (``prompt_embeds``), seeded by a CPU ``torch.Generator``.

        Parameters
        ----------
        condition : Condition or torch.Tensor
            π, from :meth:`encode_prompt` (a batch gives one video per element).
        steps : int, optional
            Sampling steps (the generator's default when ``None``).
        guidance : float, optional
            Guidance scale (the generator's default when ``None``); > 1 runs classifier-free guidance against
            ``negative``.
        seed : int
            Seed of the CPU ``torch.Generator`` handed to the pipeline.
        negative : Condition, optional
            The negative condition for guidance, batch 1 or the condition's; by default the encoded
            ``negative_prompt``. It is not scheduled.
        condition_schedule : callable, optional
            ``condition_schedule(step_index, timestep) -> Condition | tensor | None`` sets the condition step by
            step: its value for step 0 is passed as the initial ``prompt_embeds``, and at the end of step i the
            pipeline's ``callback_on_step_end`` returns its value for step i + 1 as the new ``prompt_embeds``
            (``None`` means ``condition``; a bare tensor keeps ``condition``'s mask).
        return_trajectory : bool
            Also return the latent after every step (see ``SampleResult.trajectory``).
        latents_hook : callable, optional
            ``latents_hook(step_index, latents) -> latents | None`` may replace the latents (B, C, F, h, w) after
            step i (e.g. to keep some frames on another trajectory); ``None`` keeps them.
        output : str
            ``"latent"`` (default), or ``"frames"`` to also decode (inside the pipeline) to uint8 frames.
        frames, height, width : int, optional
            The video size (the generator's when ``None``).
        callback_on_step_end : callable, optional
            A function ``(pipe, i, t, callback_kwargs) -> dict`` with ``callback_on_step_end_tensor_inputs``, or a
            diffusers ``PipelineCallback``/``MultiPipelineCallbacks``. It is chained with the sampler's own
            callback, as diffusers' ``MultiPipelineCallbacks`` chains callbacks: yours runs first at each step, and
            what it returns is what the sampler's hooks then see and record.
        callback_on_step_end_tensor_inputs : sequence of str, optional
            The tensors a plain-function ``callback_on_step_end`` asks for.
        **pipeline_kwargs
            Go to the pipeline call (e.g. ``guidance_scale_2`` for Wan 2.2); not the arguments ``sample`` sets
            itself.

        Returns
        -------
        SampleResult
            Final ``latents`` (B, C, F, h, w) float32, ``frames`` with ``output="frames"`` (uint8 (T, H, W, 3) for a
            batch of one, else (B, T, H, W, 3)), the ``trajectory`` when asked, and the seed, steps, guidance,
            timesteps and σ grid used.
        """
        import torch

        if output not in OUTPUTS:
            raise ValueError(f"output={output!r}; choose one of {', '.join(OUTPUTS)}")
        if condition_schedule is not None and not callable(condition_schedule):
            raise TypeError("condition_schedule must be a callable (step_index, timestep) -> Condition")
        if latents_hook is not None and not callable(latents_hook):
            raise TypeError("latents_hook must be a callable (step_index, latents) -> latents or None")
        steps = self.check_steps(steps)
        guidance = self.check_guidance(guidance)
        frames, height, width = self._size(frames, height, width)
        seed = self.check_seed(seed)
        base = self.check_condition(condition).to(self.device)
        batch = base.batch_size
        guided = guidance > 1.0
        neg = None
        if guided:
            neg = self.negative_condition() if negative is None else self.check_condition(negative, name="negative")
            if neg.batch_size not in (1, batch):
                raise ValueError(f"negative has batch {neg.batch_size}; expected 1 or {batch} (the condition's)")
            neg = (neg.repeat(batch) if neg.batch_size != batch else neg).to(self.device)
        if not guided and negative is not None:
            self.check_condition(negative, name="negative")

        device = self.device  # the pipeline's execution device is slow to look up: once per call, not per step
        checked = {}  # schedules usually return a few fixed conditions: validate each one once

        def scheduled(step_index: int, timestep) -> Condition:
            value = condition_schedule(step_index, timestep)
            if value is None:
                return base
            if id(value) in checked and checked[id(value)][0] is value:
                return checked[id(value)][1]
            raw = value
            value = self.check_condition(value, name=f"condition_schedule({step_index}, …)", base=base)
            if value.batch_size != batch:
                raise ValueError(f"condition_schedule({step_index}, …) returned batch {value.batch_size}; "
                                 f"expected {batch} (the condition's)")
            value = value.to(device)
            checked[id(raw)] = (raw, value)
            return value

        first = base
        if condition_schedule is not None:
            timesteps, _ = self._schedule(steps, frames, height, width)
            first = scheduled(0, timesteps[0])

        trajectory = None
        if return_trajectory:
            trajectory = [self._initial_noise(seed, batch, frames, height, width).detach().float().cpu()]
        final = {}

        def on_step_end(pipe, i, t, callback_kwargs):
            outputs = {}
            if "latents" in callback_kwargs:
                latents = self._from_pipeline_latents(callback_kwargs["latents"], frames, height, width)
                replaced = latents_hook(i, latents) if latents_hook is not None else None
                if replaced is not None:
                    if replaced.shape != latents.shape:
                        raise ValueError(f"latents_hook({i}, …) returned shape {tuple(replaced.shape)}; expected "
                                         f"{tuple(latents.shape)}")
                    latents = replaced.to(latents.dtype)
                    outputs["latents"] = self._to_pipeline_latents(latents, callback_kwargs["latents"])
                if trajectory is not None:
                    trajectory.append(latents.detach().float().cpu())
                final["latents"] = latents
            if condition_schedule is not None and i + 1 < len(pipe.scheduler.timesteps):
                outputs.update(self._callback_condition(scheduled(i + 1, pipe.scheduler.timesteps[i + 1]), first,
                                                        neg, guided))
            return outputs

        tensor_inputs = []
        if return_trajectory or output == "frames" or latents_hook is not None:
            tensor_inputs.append("latents")
        if condition_schedule is not None:
            tensor_inputs.append("prompt_embeds")
        call = dict(self._pipeline_inputs(first, neg if guided else None))
        call.update(num_frames=frames, height=height, width=width, num_inference_steps=steps,
                    guidance_scale=guidance, generator=torch.Generator().manual_seed(int(seed)),
                    output_type="latent" if output == "latent" else "np", return_dict=False)
        callback, tensor_inputs = chain_callbacks(callback_on_step_end, callback_on_step_end_tensor_inputs,
                                                  on_step_end if tensor_inputs else None, tensor_inputs)
        if callback is not None:
            call.update(callback_on_step_end=callback, callback_on_step_end_tensor_inputs=tensor_inputs)
        clash = set(call) & set(pipeline_kwargs)
        if clash:
            raise TypeError(f"sample() sets {sorted(clash)} itself; use its own arguments instead")
        call.update(pipeline_kwargs)
        out = self.pipe(**call)[0]
        video = None
        if output == "latent":
            latents = self._from_pipeline_latents(out, frames, height, width).float()
        else:
            latents = final["latents"].float()
            video = to_uint8(out)
            if video.shape[0] == 1:
                video = video[0]
        if not torch.isfinite(latents).all():
            raise FloatingPointError(f"sampling gave NaN or infinite latents (dtype {self.dtype}); lower the steering "
                                     "strengths or the guidance, or run in float32")
        return SampleResult(latents=latents, frames=video, trajectory=trajectory, seed=int(seed), steps=steps,
                            guidance=guidance, timesteps=self.pipe.scheduler.timesteps.detach().cpu().clone(),
                            sigmas=self.pipe.scheduler.sigmas.detach().cpu().clone())

    def generate(self, caption: str, *, seed: int = 0, steps: int | None = None, guidance: float | None = None,
                 **kwargs) -> np.ndarray:
        """A caption → uint8 video (T, H, W, 3): ``encode_prompt`` then ``sample(output="frames")``.

        Parameters
        ----------
        caption : str
            One caption (use :meth:`encode_prompt` and :meth:`sample` for batches).
        seed : int
            Noise seed, as in :meth:`sample`.
        steps, guidance : int, float, optional
            Sampling steps and guidance scale (the generator's defaults when ``None``).
        **kwargs
            Passed to :meth:`sample` (``negative``, ``frames``, ``height``, ``width``, pipeline arguments, …).

        Returns
        -------
        numpy.ndarray
            The uint8 video (T, H, W, 3).
        """
        if not isinstance(caption, str):
            raise TypeError("generate takes one caption string; use encode_prompt + sample for batches")
        return self.sample(self.encode_prompt(caption), seed=seed, steps=steps, guidance=guidance, output="frames",
                           **kwargs).frames
