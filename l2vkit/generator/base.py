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

import contextlib
from typing import Callable, Sequence

from ..dtypes import resolve_dtype
from .condition import Condition, SampleResult, check_finite
from .sampling import OUTPUTS, SamplingMixin
from .schedule import ScheduleMixin
from .vae import VAEMixin

__all__ = ["GENERATORS", "OUTPUTS", "Condition", "SampleResult", "VideoGenerator", "register", "resolve_dtype"]

#: pipeline class name (e.g. "WanPipeline") → adapter class; filled by ``register``.
GENERATORS: dict[str, type["VideoGenerator"]] = {}


def register(*pipeline_class_names: str) -> Callable:
    """Class decorator: route pipelines of these diffusers class names to the adapter class."""

    def wrap(cls):
        for name in pipeline_class_names:
            GENERATORS[name] = cls
        cls.pipeline_classes = tuple(pipeline_class_names)
        return cls

    return wrap


class VideoGenerator(ScheduleMixin, SamplingMixin, VAEMixin):
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
    #: frames per second of the videos it makes (``None``: unknown); VLMs that sample frames by time use it
    fps = None

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

    def configure(self, *, frames: int | None = None, height: int | None = None, width: int | None = None,
                  steps: int | None = None, guidance: float | None = None,
                  text_len: int | None = None) -> "VideoGenerator":
        """Change the settings used when a method is not told otherwise, checked against what the model accepts.

        Parameters
        ----------
        frames, height, width : int, optional
            The video size (``check_video_size`` says what the family accepts).
        steps : int, optional
            Sampling steps.
        guidance : float, optional
            Classifier-free guidance scale (1 means none).
        text_len : int, optional
            Caption tokens of the condition π (concept vectors are as long as the π they were trained on).

        Returns
        -------
        VideoGenerator
            This generator; ``None`` keeps a setting as it is.
        """
        size = self._size(frames, height, width)
        steps = self.check_steps(steps)
        if guidance is not None:
            guidance = self.check_guidance(guidance)
        if text_len is not None and (isinstance(text_len, bool) or not isinstance(text_len, int) or text_len < 1):
            raise ValueError(f"text_len={text_len!r}; expected a whole number ≥ 1")
        self.frames, self.height, self.width = size
        if text_len is not None:
            self.text_len = text_len
        self.steps = steps
        if guidance is not None:
            self.guidance = float(guidance)
        return self

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
                        offload: bool | str = False, vae_tiling: bool = False, verbose: bool = True,
                        **kwargs) -> "VideoGenerator":
        """Load a pipeline by Hugging Face id or local folder and wrap it.

        The adapter is chosen from ``model_index.json``'s pipeline class name.

        Parameters
        ----------
        model_id : str
            A Hugging Face id or a local folder. A preset name (``"toy"``: the toy generator shipped in ``data/``;
            see :mod:`l2vkit.presets`), or a folder in a preset's own layout, loads that preset's generator (then
            only ``device`` and ``dtype`` apply).
        revision : str, optional
            Branch, tag or commit of a Hub repository.
        dtype : torch.dtype or str, optional
            float32 on CPU, bfloat16 on GPUs with bf16, float16 otherwise (T4) when ``None``.
        device : str or torch.device, optional
            CUDA when available, else CPU, when ``None``.
        offload : bool or str
            ``True`` / ``"model"``: diffusers' model CPU offload (each component on the GPU only while it runs);
            ``"group"``: group offload of the transformer's blocks (for transformers bigger than the GPU); CUDA only.
        vae_tiling : bool
            Decode in tiles.
        verbose : bool
            Print a memory plan (:func:`l2vkit.generator.plan_memory`) before loading when the model is known.
        **kwargs
            Go to the adapter (``frames``, ``height``, ``text_len``, …); ``conditions=`` a ConditionStore from
            :func:`~l2vkit.generator.encode_captions` loads the pipeline without its text encoder.

        Returns
        -------
        VideoGenerator
            The family's adapter (e.g. :class:`~l2vkit.generator.WanGenerator`) around the loaded pipeline.
        """
        from .loading import load_adapter

        return load_adapter(cls, model_id, revision=revision, dtype=dtype, device=device, offload=offload,
                              vae_tiling=vae_tiling, verbose=verbose, **kwargs)

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
        """π_Ξ for a caption (or a list of captions → a batch): the pipeline's own text encoding, ``text_len`` long.

        Parameters
        ----------
        text : str or sequence of str
            One caption, or a non-empty list of captions.

        Returns
        -------
        Condition
            ``embeds`` (B, ``text_len``, ``text_dim``) (B = 1 for one caption), with an attention ``mask`` where the
            family needs one; computed without gradients.

        Raises
        ------
        TypeError
            When ``text`` is neither a string nor a non-empty list of strings.
        ValueError
            When the pipeline was built without a text encoder or tokenizer (pass conditions directly then).
        """
        import torch

        texts = [text] if isinstance(text, str) else list(text)
        if not texts or not all(isinstance(t, str) for t in texts):
            raise TypeError("encode_prompt takes a caption string or a non-empty list of strings")
        if self.conditions is not None and not self.conditions.missing(texts):  # encoded once (encode_captions)
            return self.check_condition(self.conditions.condition(texts))
        if getattr(self.pipe, "text_encoder", None) is None or getattr(self.pipe, "tokenizer", None) is None:
            if self.conditions is not None:
                self.conditions.condition(texts)  # raises, naming the captions that were not encoded
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
        check_finite(embeds, name, "check the concept vectors and strengths that built it")
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
    #: captions encoded once with the text encoder freed (:mod:`l2vkit.generator.conditions`), else ``None``
    conditions = None

    def negative_condition(self) -> Condition:
        """π for the negative prompt (``negative_prompt``, "" by default), encoded once and cached."""
        if self._negative_cache is None or self._negative_cache[0] != self.negative_prompt:
            stored = self.conditions is not None and self.negative_prompt in self.conditions
            if not stored and (getattr(self.pipe, "text_encoder", None) is None or self.pipe.tokenizer is None):
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
        return check_finite(z, name, "check what produced them (a diverged run, a steering strength too large)")

    def _timestep_tensor(self, t, batch: int):
        import torch

        t = torch.as_tensor(t, device=self.device)
        if t.ndim == 0:
            return t
        if t.ndim != 1 or t.shape[0] not in (1, batch):
            raise ValueError(f"t has shape {tuple(t.shape)}; expected a scalar timestep or one per batch element "
                             f"({batch},)")
        return t if t.shape[0] == batch else t[0]

    @contextlib.contextmanager
    def recomputing_blocks(self):
        """Inside, the transformer(s) recompute each block in the backward pass (gradient checkpointing)."""
        modules = [m for m in (getattr(self.pipe, n, None) for n in ("transformer", "transformer_2")) if m is not None]
        unable = [type(m).__name__ for m in modules if not getattr(m, "_supports_gradient_checkpointing", False)]
        if unable:
            raise ValueError(f"{', '.join(unable)} cannot recompute its blocks (no gradient checkpointing support)")
        before = [m.is_gradient_checkpointing for m in modules]
        for module in modules:
            module.enable_gradient_checkpointing()
        try:
            yield self
        finally:
            for module, was_on in zip(modules, before):
                if not was_on:
                    module.disable_gradient_checkpointing()

    def velocity(self, z_t, condition, t):
        """G(z_t, π, t): ONE transformer call (no guidance), differentiable w.r.t. ``z_t`` and ``π``.

        Parameters
        ----------
        z_t : torch.Tensor
            (B, C, F, h, w) normalised latents.
        condition : Condition or torch.Tensor
            π with batch 1 (shared by every latent) or B (one per latent); a bare (B, L, D) tensor is checked as
            in :meth:`check_condition`.
        t : float or torch.Tensor
            The scheduler's timestep value (σ · num_train_timesteps), a scalar or one per batch element.

        Returns
        -------
        torch.Tensor
            The predicted velocity ``v = ε − x0``, float32, same shape as ``z_t``.
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
