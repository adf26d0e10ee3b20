"""`VideoGenerator`: one interface to diffusers flow-matching text-to-video pipelines (the Ξ side of L2V).

The wrapped pipeline object stays available as ``.pipe``; sampling goes through the pipeline's own ``__call__`` (no
copied denoising loop), so a generator samples exactly what the pipeline samples. On top of it the generator exposes
the pieces L2V needs one at a time:

- π_Ξ = ``encode_prompt(text)``: the ``prompt_embeds`` (plus attention mask where the family needs one), a
  :class:`Condition`;
- G = ``velocity(z_t, π, t)``: one call of the transformer, differentiable w.r.t. ``z_t`` and ``π``;
- D_Ξ = ``decode(z)`` and E_Ξ = ``encode(video)``: the pipeline's VAE with the latent (de)normalisation it uses;
- ``sample(π, ...)``: the pipeline's sampler with a per-step condition schedule and the latent trajectory.

Flow-matching convention (what ``FlowMatchEulerDiscreteScheduler`` and the flow-prediction UniPC scheduler of Wan
implement): a noisy latent at noise level σ ∈ [0, 1] is ``z_t = (1 − σ) x0 + σ ε`` and the network predicts the
velocity ``v = ε − x0``, so ``x0 = z_t − σ v`` (:meth:`VideoGenerator.x0_estimate`) and an Euler step from σ to σ'
is ``z_{σ'} = z_t + (σ' − σ) v``. The timestep ``t`` the transformer receives is ``σ · num_train_timesteps``.

Latents are always returned in the 5-D layout ``(B, C, F, h, w)`` in the *normalised* space the transformer works in
(families whose pipelines pack latents into tokens, like LTX, are unpacked), so that ``velocity``, ``decode`` and
the coupling network Φ see one layout for every family.

Families register with :func:`register` under their pipeline class name; see ``docs/adding-a-generator.md``.
"""
from __future__ import annotations

import copy
import dataclasses
from typing import Any, Callable, Optional, Sequence

import numpy as np

#: pipeline class name (e.g. "WanPipeline") → adapter class; filled by ``register``.
GENERATORS: dict[str, type["VideoGenerator"]] = {}

OUTPUTS = ("latent", "frames")


def register(*pipeline_class_names: str) -> Callable:
    """Class decorator: route pipelines of these diffusers class names to the adapter class."""

    def wrap(cls):
        for name in pipeline_class_names:
            GENERATORS[name] = cls
        cls.pipeline_classes = tuple(pipeline_class_names)
        return cls

    return wrap


def resolve_dtype(dtype, device):
    """float32 on CPU; bfloat16 on GPUs that support it, else float16 (T4-class). Strings like "float16" work.

    >>> import torch
    >>> resolve_dtype(None, "cpu") is torch.float32, resolve_dtype("float16", "cpu") is torch.float16
    (True, True)
    """
    import torch

    if dtype is not None:
        if isinstance(dtype, str):
            if not isinstance(getattr(torch, dtype, None), torch.dtype):
                raise ValueError(f"dtype={dtype!r} is not a torch dtype name (e.g. 'float32', 'bfloat16')")
            return getattr(torch, dtype)
        return dtype
    if device is not None and str(device).startswith("cuda") and torch.cuda.is_available():
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


@dataclasses.dataclass
class Condition:
    """π_Ξ: the text condition a generator's transformer reads.

    ``embeds``: (B, L, D) prompt embeddings (``prompt_embeds``); ``mask``: (B, L) attention mask for families whose
    transformer needs one (LTX), else ``None`` (Wan zero-pads past the caption instead).

    Arithmetic in condition space (π⁻ + φ·q) is done on ``embeds``; :meth:`with_embeds` keeps the mask:

    >>> import torch
    >>> pi = Condition(torch.zeros(1, 4, 8), torch.ones(1, 4, dtype=torch.bool))
    >>> pi.with_embeds(pi.embeds + 0.5).shape, pi.batch_size
    ((1, 4, 8), 1)
    """

    embeds: Any
    mask: Any = None

    @property
    def shape(self) -> tuple:
        return tuple(self.embeds.shape)

    @property
    def batch_size(self) -> int:
        return int(self.embeds.shape[0])

    @property
    def length(self) -> int:
        return int(self.embeds.shape[1])

    @property
    def width(self) -> int:
        return int(self.embeds.shape[2])

    def with_embeds(self, embeds) -> "Condition":
        """The same mask with new embeddings (e.g. ``π⁻ + φ·q``)."""
        return Condition(embeds, self.mask)

    def to(self, device=None, dtype=None) -> "Condition":
        """Embeddings moved/cast; the mask only moved (it keeps its integer/bool dtype)."""
        mask = None if self.mask is None else self.mask.to(device)
        return Condition(self.embeds.to(device=device, dtype=dtype), mask)

    def detach(self) -> "Condition":
        return Condition(self.embeds.detach(), None if self.mask is None else self.mask.detach())

    def repeat(self, n: int) -> "Condition":
        """Each batch element repeated ``n`` times along the batch (B → B·n)."""
        mask = None if self.mask is None else self.mask.repeat_interleave(n, dim=0)
        return Condition(self.embeds.repeat_interleave(n, dim=0), mask)

    @staticmethod
    def cat(conditions: Sequence["Condition"]) -> "Condition":
        """Conditions joined along the batch (all with masks or all without)."""
        import torch

        conditions = list(conditions)
        if not conditions:
            raise ValueError("Condition.cat needs at least one condition")
        masks = [c.mask for c in conditions]
        if any(m is None for m in masks) and not all(m is None for m in masks):
            raise ValueError("Condition.cat: either every condition has an attention mask or none has")
        mask = None if masks[0] is None else torch.cat(masks)
        return Condition(torch.cat([c.embeds for c in conditions]), mask)


@dataclasses.dataclass
class SampleResult:
    """What :meth:`VideoGenerator.sample` returns.

    ``latents``: (B, C, F, h, w) final latents (normalised space, float32); ``frames``: uint8 (T, H, W, 3) for a single
    video, (B, T, H, W, 3) for a batch, when ``output="frames"`` (else ``None``); ``trajectory``: when asked, the list
    ``[z_T (initial noise), z after step 0, …, z after the last step]`` (``steps + 1`` CPU tensors, same layout as
    ``latents``); ``timesteps`` (steps,) and ``sigmas`` (steps + 1, ending at 0) the pipeline's scheduler used.
    """

    latents: Any
    frames: Optional[np.ndarray]
    trajectory: Optional[list]
    seed: int
    steps: int
    guidance: float
    timesteps: Any = None
    sigmas: Any = None


class VideoGenerator:
    """A frozen flow-matching text-to-video generator: π_Ξ, G, D_Ξ, E_Ξ and sampling over a diffusers pipeline.

    Build one with :meth:`from_pretrained` (hub id or local folder) or :meth:`from_pipeline` (a pipeline object you
    already have, e.g. one of ``l2vkit.testing_generators``). ``frames``/``height``/``width`` are the video size
    used when a method is not told otherwise; ``text_len`` the token length of every condition.
    """

    family = "abstract"
    pipeline_classes: tuple[str, ...] = ()
    #: family defaults (the pipeline's own ``__call__`` defaults)
    default_frames = 81
    default_height = 480
    default_width = 832
    default_text_len = 512
    default_steps = 50
    default_guidance = 5.0

    def __init__(self, pipe, *, model_id: str | None = None, revision: str | None = None, frames: int | None = None,
                 height: int | None = None, width: int | None = None, text_len: int | None = None,
                 steps: int | None = None, guidance: float | None = None, negative_prompt: str = "",
                 progress: bool = False):
        import torch

        self.pipe = pipe
        self.model_id = model_id or getattr(getattr(pipe, "config", None), "_name_or_path", None) or type(pipe).__name__
        self.revision = revision
        for module in self.pipe.components.values():
            if isinstance(module, torch.nn.Module):
                module.eval()
                module.requires_grad_(False)
        self.pipe.set_progress_bar_config(disable=not progress)
        self.frames = int(frames if frames is not None else self.default_frames)
        self.height = int(height if height is not None else self.default_height)
        self.width = int(width if width is not None else self.default_width)
        self.check_video_size(self.frames, self.height, self.width)
        self.text_len = int(text_len if text_len is not None else self._default_text_len())
        if self.text_len < 1:
            raise ValueError(f"text_len={self.text_len}; must be at least 1")
        self.steps = int(steps if steps is not None else self.default_steps)
        self.guidance = float(guidance if guidance is not None else self.default_guidance)
        self.negative_prompt = negative_prompt
        self._negative_cache: tuple[str, Condition] | None = None

    # ----------------------------------------------------------------------------------------------- loading
    @classmethod
    def adapter_for(cls, pipeline_class_name: str | type) -> type["VideoGenerator"]:
        """The registered adapter for a pipeline class (or its name); subclasses of registered pipelines work too."""
        names = [pipeline_class_name] if isinstance(pipeline_class_name, str) else [
            k.__name__ for k in pipeline_class_name.__mro__]
        for name in names:
            if name in GENERATORS:
                return GENERATORS[name]
        raise ValueError(f"no l2vkit generator adapter for pipeline {names[0]!r}; supported: "
                         f"{', '.join(sorted(GENERATORS))} (see docs/adding-a-generator.md)")

    @classmethod
    def from_pipeline(cls, pipe, **kwargs) -> "VideoGenerator":
        """Wrap a diffusers pipeline object, choosing the adapter by its class (keywords go to ``__init__``)."""
        if cls is VideoGenerator:
            return cls.adapter_for(type(pipe))(pipe, **kwargs)
        names = {k.__name__ for k in type(pipe).__mro__}
        if not names & set(cls.pipeline_classes):
            raise ValueError(f"{cls.__name__} wraps {', '.join(cls.pipeline_classes) or 'no pipeline class'}, not "
                             f"{type(pipe).__name__}; use VideoGenerator.from_pipeline to choose the adapter")
        return cls(pipe, **kwargs)

    @classmethod
    def from_pretrained(cls, model_id: str, *, revision: str | None = None, dtype=None, device=None,
                        offload: bool = False, vae_tiling: bool = False, verbose: bool = True,
                        **kwargs) -> "VideoGenerator":
        """Load a pipeline by Hugging Face id or local folder and wrap it.

        The adapter is chosen from ``model_index.json``'s pipeline class name. ``dtype``: float32 on CPU, bfloat16 on
        GPUs with bf16, float16 otherwise (T4). ``device``: CUDA when available, else CPU. ``offload=True`` uses
        diffusers' model CPU offload (each component on the GPU only while it runs); ``vae_tiling=True`` decodes in
        tiles. With ``verbose`` a memory plan (:func:`l2vkit.generator.plan_memory`) is printed before loading when
        the model is known. Other keyword arguments go to the adapter (``frames``, ``height``, ``text_len``, …).
        """
        import diffusers
        import torch

        from ..presets import get_preset, preset_for_generator_folder

        preset = get_preset(model_id)  # a bundled set-up by name ("toy"), or a folder in a preset's own layout
        folder = None
        if preset is None:
            preset, folder = preset_for_generator_folder(model_id), model_id
        if preset is not None:
            if preset.load_generator is None:
                raise ValueError(f"preset {preset.name!r} has no generator")
            return preset.load_generator(folder, device=device, dtype=dtype)
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = resolve_dtype(dtype, device)
        pipeline_name = _pipeline_class_name(model_id, revision)
        adapter = cls.adapter_for(pipeline_name) if cls is VideoGenerator else cls
        if verbose:
            from .memory import plan_memory

            try:
                plan = plan_memory(model_id, kwargs.get("frames", adapter.default_frames),
                                   kwargs.get("height", adapter.default_height),
                                   kwargs.get("width", adapter.default_width), dtype, verbose=False)
            except (ValueError, OSError):
                plan = None
            if plan is not None:
                print(plan.summary())
        pipeline_cls = getattr(diffusers, pipeline_name)
        pipe = pipeline_cls.from_pretrained(model_id, revision=revision,
                                            **{_dtype_kwarg(): adapter.component_dtypes(dtype)})
        if offload and str(device).startswith("cuda"):
            pipe.enable_model_cpu_offload(device=device)
        else:
            pipe.to(device)
        if vae_tiling:
            pipe.vae.enable_tiling()
        return adapter(pipe, model_id=model_id, revision=revision, **kwargs)

    @classmethod
    def component_dtypes(cls, dtype):
        """``torch_dtype`` for ``from_pretrained``: one dtype, or a {component: dtype, "default": dtype} dict."""
        return dtype

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.model_id!r}, frames={self.frames}, height={self.height}, "
                f"width={self.width}, text_len={self.text_len}, text_dim={self.text_dim}, device={self.device}, "
                f"dtype={self.dtype})")

    # ------------------------------------------------------------------------------------ family hooks
    @property
    def text_dim(self) -> int:  # pragma: no cover - abstract
        """Width D of π_Ξ the transformer expects (read from the transformer config, never assumed)."""
        raise NotImplementedError

    @property
    def latent_channels(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def transformer(self):
        return self.pipe.transformer

    def check_video_size(self, frames: int, height: int, width: int) -> None:  # pragma: no cover - abstract
        """Raise ``ValueError`` for a size the model cannot take."""
        raise NotImplementedError

    def latent_shape(self, frames: int, height: int, width: int) -> tuple[int, int, int, int]:  # pragma: no cover
        """(C, F, h, w) of the latent of a video of this size."""
        raise NotImplementedError

    def _default_text_len(self) -> int:
        limit = getattr(getattr(getattr(self.pipe, "text_encoder", None), "config", None), "max_position_embeddings",
                        None)
        return min(self.default_text_len, limit) if limit else self.default_text_len

    def _encode_text(self, texts: list[str]) -> Condition:  # pragma: no cover - abstract
        raise NotImplementedError

    def _velocity(self, z, condition: Condition, t):  # pragma: no cover - abstract
        raise NotImplementedError

    def _set_timesteps(self, scheduler, steps: int, frames: int, height: int, width: int):  # pragma: no cover
        """Call ``scheduler.set_timesteps`` exactly as the pipeline's ``__call__`` does for this many steps and size."""
        raise NotImplementedError

    def _pipeline_inputs(self, condition: Condition, negative: Condition | None) -> dict:  # pragma: no cover
        """The condition arguments of the pipeline's ``__call__``."""
        raise NotImplementedError

    def _callback_condition(self, condition: Condition, base: Condition, negative: Condition | None,
                            guided: bool) -> dict:  # pragma: no cover - abstract
        """What the step-end callback returns to make the pipeline use ``condition`` from the next step on."""
        raise NotImplementedError

    def _from_pipeline_latents(self, latents, frames: int, height: int, width: int):
        """Pipeline-native latents → (B, C, F, h, w) (identity unless the family packs latents into tokens)."""
        return latents

    def _to_pipeline_latents(self, latents, like):
        """(B, C, F, h, w) → the pipeline's own layout, shaped and typed like ``like`` (inverse of the above)."""
        return latents.to(like.dtype)

    def _initial_noise(self, seed: int, batch: int, frames: int, height: int, width: int):  # pragma: no cover
        raise NotImplementedError

    def _decode_raw(self, z):  # pragma: no cover - abstract
        """Normalised latents (B, C, F, h, w) → VAE output (B, 3, T, H, W) in [-1, 1]."""
        raise NotImplementedError

    def _encode_raw(self, x):  # pragma: no cover - abstract
        """Pixels (B, 3, T, H, W) in [-1, 1] → normalised latents (B, C, F, h, w) (the posterior mean)."""
        raise NotImplementedError

    def expert_for(self, t) -> str:
        """Which transformer ``velocity`` uses at timestep ``t`` (``"transformer"`` unless the family has experts)."""
        return "transformer"

    # ------------------------------------------------------------------------------------------ properties
    @property
    def device(self):
        """Where inputs go (the pipeline's execution device; the GPU also under model CPU offload)."""
        return self.pipe._execution_device

    @property
    def dtype(self):
        return self.transformer.dtype

    @property
    def num_train_timesteps(self) -> int:
        return int(self.pipe.scheduler.config.num_train_timesteps)

    def _size(self, frames, height, width) -> tuple[int, int, int]:
        size = (int(frames if frames is not None else self.frames), int(height if height is not None else self.height),
                int(width if width is not None else self.width))
        self.check_video_size(*size)
        return size

    # ----------------------------------------------------------------------------------------- condition π
    def encode_prompt(self, text: str | Sequence[str]) -> Condition:
        """π_Ξ for a caption (or a list of captions → a batch): the pipeline's own text encoding, ``text_len`` long."""
        import torch

        texts = [text] if isinstance(text, str) else list(text)
        if not texts or not all(isinstance(t, str) for t in texts):
            raise TypeError("encode_prompt takes a caption string or a non-empty list of strings")
        if getattr(self.pipe, "text_encoder", None) is None or getattr(self.pipe, "tokenizer", None) is None:
            raise ValueError(f"{type(self.pipe).__name__} was built without a text encoder/tokenizer; "
                             "pass conditions (Condition / prompt_embeds) directly")
        with torch.no_grad():
            return self.check_condition(self._encode_text(texts))

    def check_condition(self, condition, *, name: str = "condition", base: Condition | None = None) -> Condition:
        """Validate π (a :class:`Condition`, or a bare (B, L, D) embeddings tensor) against this generator.

        A bare tensor takes ``base``'s mask (if given). Raises ``ValueError`` naming the expected width ``text_dim``
        and length ``text_len`` when they do not match.
        """
        import torch

        if isinstance(condition, torch.Tensor):
            condition = Condition(condition, None if base is None else base.mask)
        if not isinstance(condition, Condition):
            raise TypeError(f"{name} must be a l2vkit Condition (from encode_prompt) or a (B, L, D) tensor, "
                            f"got {type(condition).__name__}")
        embeds = condition.embeds
        if not isinstance(embeds, torch.Tensor) or embeds.ndim != 3:
            shape = tuple(embeds.shape) if hasattr(embeds, "shape") else type(embeds).__name__
            raise ValueError(f"{name}.embeds has shape {shape}; expected (batch, text_len={self.text_len}, "
                             f"text_dim={self.text_dim})")
        if embeds.shape[2] != self.text_dim:
            raise ValueError(f"{name} has width {embeds.shape[2]} but {self.model_id} reads prompt_embeds of width "
                             f"text_dim={self.text_dim}; was it made by another generator's text encoder?")
        if embeds.shape[1] != self.text_len:
            raise ValueError(f"{name} has length {embeds.shape[1]} tokens but this generator uses text_len="
                             f"{self.text_len}; encode it with this generator's encode_prompt (or build the "
                             f"generator with text_len={embeds.shape[1]})")
        if condition.mask is not None:
            mask = condition.mask
            if not isinstance(mask, torch.Tensor) or tuple(mask.shape) != tuple(embeds.shape[:2]):
                shape = tuple(mask.shape) if hasattr(mask, "shape") else type(mask).__name__
                raise ValueError(f"{name}.mask has shape {shape}; expected {tuple(embeds.shape[:2])} (batch, length)")
        elif self.needs_mask:
            raise ValueError(f"{name} has no attention mask, which {type(self.pipe).__name__} needs; build it with "
                             "encode_prompt or keep the mask with condition.with_embeds(new_embeds)")
        return condition

    needs_mask = False

    def negative_condition(self) -> Condition:
        """π for the negative prompt (``negative_prompt``, "" by default), encoded once and cached."""
        if self._negative_cache is None or self._negative_cache[0] != self.negative_prompt:
            if getattr(self.pipe, "text_encoder", None) is None or getattr(self.pipe, "tokenizer", None) is None:
                raise ValueError("guidance > 1 needs a negative condition, but this pipeline has no text encoder to "
                                 "encode the negative prompt: pass negative=<Condition> or use guidance=1")
            self._negative_cache = (self.negative_prompt, self.encode_prompt(self.negative_prompt))
        return self._negative_cache[1]

    # ------------------------------------------------------------------------------------------ velocity G
    def _check_latents(self, z, name: str = "z_t"):
        import torch

        if not isinstance(z, torch.Tensor) or z.ndim != 5:
            shape = tuple(z.shape) if hasattr(z, "shape") else type(z).__name__
            raise ValueError(f"{name} has shape {shape}; expected (B, C={self.latent_channels}, F, h, w) latents")
        if z.shape[1] != self.latent_channels:
            raise ValueError(f"{name} has {z.shape[1]} channels; {self.model_id} latents have {self.latent_channels}")
        return z

    def _timestep_tensor(self, t, batch: int):
        import torch

        t = torch.as_tensor(t, device=self.device)
        if t.ndim == 0:
            return t
        if t.ndim != 1 or t.shape[0] not in (1, batch):
            raise ValueError(f"t has shape {tuple(t.shape)}; expected a scalar timestep or one per batch element "
                             f"({batch},)")
        return t if t.shape[0] == batch else t[0]

    def velocity(self, z_t, condition, t):
        """G(z_t, π, t): ONE transformer call (no guidance), differentiable w.r.t. ``z_t`` and ``π``.

        ``z_t``: (B, C, F, h, w) normalised latents; ``condition``: π with batch 1 or B; ``t``: the scheduler's
        timestep value (σ · num_train_timesteps), a scalar or one per batch element. Returns the predicted velocity
        ``v = ε − x0``, float32, same shape as ``z_t``.
        """
        z_t = self._check_latents(z_t)
        condition = self.check_condition(condition)
        batch = z_t.shape[0]
        if condition.batch_size not in (1, batch):
            raise ValueError(f"condition has batch {condition.batch_size} but z_t has batch {batch}; "
                             "use batch 1 (shared) or one condition per latent")
        if condition.batch_size != batch:
            condition = condition.repeat(batch)
        t = self._timestep_tensor(t, batch)
        return self._velocity(z_t.to(self.device), condition.to(self.device), t)

    # ----------------------------------------------------------------------------------------- σ grid
    def scheduler_copy(self, steps: int | None = None, *, frames=None, height=None, width=None):
        """A copy of the pipeline's scheduler set to the grid the pipeline runs (for stepping by hand, e.g. tests)."""
        steps = self._check_steps(steps)
        scheduler = copy.deepcopy(self.pipe.scheduler)
        self._set_timesteps(scheduler, steps, *self._size(frames, height, width))
        return scheduler

    def _schedule(self, steps: int, frames: int, height: int, width: int):
        """(timesteps, sigmas) the pipeline will use, computed on a copy of its scheduler."""
        import torch

        scheduler = copy.deepcopy(self.pipe.scheduler)
        self._set_timesteps(scheduler, steps, frames, height, width)
        return (scheduler.timesteps.detach().cpu().clone(),
                torch.as_tensor(scheduler.sigmas).detach().float().cpu().clone())

    def timesteps(self, steps: int | None = None, *, frames=None, height=None, width=None):
        """The (steps,) timesteps the pipeline's scheduler runs for this many steps (and video size, for LTX)."""
        steps = self._check_steps(steps)
        return self._schedule(steps, *self._size(frames, height, width))[0]

    def sigmas(self, steps: int | None = None, *, frames=None, height=None, width=None):
        """The scheduler's σ grid for ``steps``: (steps + 1,) float tensor from ≈1 (noise) down to 0 (clean)."""
        steps = self._check_steps(steps)
        return self._schedule(steps, *self._size(frames, height, width))[1]

    def sigma_of(self, t) -> float:
        """σ for a timestep value: ``t / num_train_timesteps`` (exact for flow-matching Euler schedulers)."""
        return float(t) / self.num_train_timesteps

    @staticmethod
    def x0_estimate(z_t, v, sigma):
        """The clean-latent estimate x̂0 = z_t − σ·v under ``z_t = (1 − σ) x0 + σ ε`` and ``v = ε − x0``.

        ``sigma``: a number, or a tensor broadcastable to ``z_t`` (e.g. one per batch element of shape (B,)).

        >>> import torch
        >>> x0, eps, s = torch.ones(1, 2, 1, 1, 1), torch.zeros(1, 2, 1, 1, 1), 0.3
        >>> bool(torch.allclose(VideoGenerator.x0_estimate((1 - s) * x0 + s * eps, eps - x0, s), x0))
        True
        """
        import torch

        if isinstance(sigma, torch.Tensor) and sigma.ndim == 1 and z_t.ndim > 1:
            sigma = sigma.view(-1, *([1] * (z_t.ndim - 1)))
        return z_t - sigma * v

    def _check_steps(self, steps) -> int:
        steps = self.steps if steps is None else steps
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
            raise ValueError(f"steps={steps!r}; expected a positive integer")
        return int(steps)

    # -------------------------------------------------------------------------------------------- sampling
    def sample(self, condition, *, steps: int | None = None, guidance: float | None = None, seed: int = 0,
               negative=None, condition_schedule: Callable | None = None, return_trajectory: bool = False,
               latents_hook: Callable | None = None, output: str = "latent", frames: int | None = None, height: int | None = None,
               width: int | None = None, **pipeline_kwargs) -> SampleResult:
        """Sample with the pipeline's own ``__call__`` from π (``prompt_embeds``), seeded by a CPU ``torch.Generator``.

        ``guidance`` > 1 runs classifier-free guidance against ``negative`` (a Condition; by default the encoded
        ``negative_prompt``). ``condition_schedule(step_index, timestep) -> Condition | tensor | None`` sets the
        condition step by step: its value for step 0 is passed as the initial ``prompt_embeds``, and at the end of
        step i the pipeline's ``callback_on_step_end`` returns its value for step i + 1 as the new ``prompt_embeds``
        (``None`` means ``condition``; a bare tensor keeps ``condition``'s mask). The negative condition is not
        scheduled. ``latents_hook(step_index, latents) -> latents | None`` may replace the latents (B, C, F, h, w)
        after step i (e.g. to keep some frames on another trajectory); ``None`` keeps them. ``output="frames"`` also decodes (inside the pipeline) to uint8 frames. Extra keyword arguments
        go to the pipeline call (e.g. ``guidance_scale_2`` for Wan 2.2).
        """
        import torch

        if output not in OUTPUTS:
            raise ValueError(f"output={output!r}; choose one of {', '.join(OUTPUTS)}")
        if condition_schedule is not None and not callable(condition_schedule):
            raise TypeError("condition_schedule must be a callable (step_index, timestep) -> Condition")
        if latents_hook is not None and not callable(latents_hook):
            raise TypeError("latents_hook must be a callable (step_index, latents) -> latents or None")
        steps = self._check_steps(steps)
        guidance = float(self.guidance if guidance is None else guidance)
        frames, height, width = self._size(frames, height, width)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed must be an integer, got {seed!r}")
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
        if tensor_inputs:
            call.update(callback_on_step_end=on_step_end, callback_on_step_end_tensor_inputs=tensor_inputs)
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
            video = _to_uint8(out)
            if video.shape[0] == 1:
                video = video[0]
        return SampleResult(latents=latents, frames=video, trajectory=trajectory, seed=int(seed), steps=steps,
                            guidance=guidance, timesteps=self.pipe.scheduler.timesteps.detach().cpu().clone(),
                            sigmas=self.pipe.scheduler.sigmas.detach().cpu().clone())

    def generate(self, caption: str, *, seed: int = 0, steps: int | None = None, guidance: float | None = None,
                 **kwargs) -> np.ndarray:
        """A caption → uint8 video (T, H, W, 3): ``encode_prompt`` then ``sample(output="frames")``."""
        if not isinstance(caption, str):
            raise TypeError("generate takes one caption string; use encode_prompt + sample for batches")
        return self.sample(self.encode_prompt(caption), seed=seed, steps=steps, guidance=guidance, output="frames",
                           **kwargs).frames

    # ------------------------------------------------------------------------------------------- VAE D, E
    def decode(self, z, *, output: str = "uint8"):
        """D_Ξ: normalised latents → video, through the pipeline's VAE with the pipeline's de-normalisation.

        ``z``: (B, C, F, h, w) or one latent (C, F, h, w). ``output="uint8"``: numpy (B, T, H, W, 3) (or (T, H, W, 3)
        for one latent), exactly as the pipeline post-processes; ``output="tensor"``: float tensor in [0, 1] of the
        same layout, differentiable w.r.t. ``z``.
        """
        import torch

        if output not in ("uint8", "tensor"):
            raise ValueError(f"output={output!r}; choose 'uint8' or 'tensor'")
        single = hasattr(z, "ndim") and z.ndim == 4
        z = self._check_latents(z.unsqueeze(0) if single else z, name="z")
        if output == "uint8":
            with torch.no_grad():
                video = self._decode_raw(z)
                video = _to_uint8(self.pipe.video_processor.postprocess_video(video, output_type="np"))
        else:
            video = self._decode_raw(z)
            video = (video.float() / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 4, 1)
        return video[0] if single else video

    def encode(self, video):
        """E_Ξ: video → normalised latents (the VAE posterior mean, normalised as the pipeline expects).

        ``video``: uint8 or float-in-[0, 1] frames (T, H, W, 3) or (B, T, H, W, 3), numpy or torch; returns
        (C, F, h, w) or (B, C, F, h, w) accordingly. Differentiable w.r.t. a float tensor input.
        """
        x, single = _video_to_tensor(video)
        self.check_video_size(x.shape[2], x.shape[3], x.shape[4])
        z = self._encode_raw(x * 2 - 1)
        return z[0] if single else z


# ------------------------------------------------------------------------------------------------ helpers
def _pipeline_class_name(model_id: str, revision: str | None) -> str:
    """The diffusers pipeline class a hub id / folder declares in its ``model_index.json``."""
    from diffusers import DiffusionPipeline

    name = DiffusionPipeline.load_config(model_id, revision=revision).get("_class_name")
    if not name:
        raise ValueError(f"{model_id}: model_index.json names no pipeline class (_class_name)")
    return name


def _dtype_kwarg() -> str:
    """``dtype`` on diffusers that accept it (``torch_dtype`` is deprecated there), else ``torch_dtype``."""
    from diffusers.utils import deprecation_utils

    return "dtype" if hasattr(deprecation_utils, "_resolve_dtype") else "torch_dtype"


def _to_uint8(video) -> np.ndarray:
    video = np.asarray(video)
    return np.round(np.clip(video, 0.0, 1.0) * 255.0).astype(np.uint8)


def _video_to_tensor(video):
    """(B, 3, T, H, W) float32 tensor in [0, 1] from (T, H, W, 3)/(B, T, H, W, 3) uint8 or float frames, and
    whether a single video was given; validation is the VLM side's (one set of error messages)."""
    from ..video import as_video_tensor

    single = getattr(video, "ndim", None) == 4
    return as_video_tensor(video).permute(0, 4, 1, 2, 3), single
