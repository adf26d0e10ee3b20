"""Memory plan for a text-to-video generator, estimated *before* anything is loaded.

``plan_memory(model, frames, height, width, dtype)`` adds up weights (parameter counts: a small table for the
known models, else counted from configs on the meta device, or from a pipeline already in memory), the latent
tensors, and rough activation peaks of one transformer call and of the VAE decode, and checks them against a GPU
budget (a 15 GB T4 by default), suggesting ``offload=True`` / ``vae_tiling=True`` when they would help.

The activation terms are order-of-magnitude heuristics from tensor shapes (which buffers live at once inside one
transformer block, the VAE decoder's widest full-resolution stage), not measurements: treat the plan as a guide to
which knobs to turn, and a fit within ~20 % of the budget as uncertain.

>>> plan = plan_memory("Wan-AI/Wan2.1-T2V-1.3B-Diffusers", 33, 480, 832, "float16", verbose=False)
>>> plan.spec.name, round(plan.weights_gb["transformer"], 1)
('Wan2.1-T2V-1.3B', 2.6)
"""
from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

GB = 1024 ** 3
#: A Colab T4 has 15 GB of GPU memory; a little of it is taken by the CUDA context.
T4_BUDGET_GB = 15.0
_CUDA_CONTEXT_GB = 0.5

_BYTES = {"float32": 4, "float": 4, "float16": 2, "half": 2, "bfloat16": 2, "float64": 8, "float8_e4m3fn": 1}


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """What the plan needs to know about a generator: parameter counts per component and a few shapes."""

    name: str
    family: str
    params: dict  # component → parameters (transformer, transformer_2, text_encoder, vae)
    hidden: int  # transformer width
    ffn: int  # transformer feed-forward width
    layers: int
    latent_channels: int
    spatial: int  # VAE spatial compression
    temporal: int  # VAE temporal compression
    patch: tuple = (1, 2, 2)  # transformer patch (t, h, w)
    text_len: int = 512
    text_dim: int = 4096
    cfg_batched: bool = False  # cond and uncond run as one batch (LTX) rather than two calls (Wan)
    vae_width: int = 96  # channels of the VAE decoder's full-resolution stage
    vae_chunk_frames: int = 4  # output frames the VAE decodes at once (Wan decodes one latent frame at a time)
    tile: int = 256  # spatial tile size when VAE tiling is on
    vae_pixel_patch: int = 1  # the decoder's last stage works at (H, W) / this (LTX unpatchifies 4×4 at the end)
    exact: bool = False  # counts from configs/weights (True) or from the table (False, rounded published sizes)


_UMT5_XXL = 5.68e9  # UMT5-XXL encoder (Wan)
_T5_XXL = 4.76e9  # T5 v1.1 XXL encoder (LTX-Video)

#: Approximate published sizes (parameters) and shapes of the known generators.
KNOWN: dict[str, ModelSpec] = {
    "Wan2.1-T2V-1.3B": ModelSpec("Wan2.1-T2V-1.3B", "wan", {"transformer": 1.42e9, "text_encoder": _UMT5_XXL,
                                                            "vae": 0.127e9}, 1536, 8960, 30, 16, 8, 4),
    "Wan2.1-T2V-14B": ModelSpec("Wan2.1-T2V-14B", "wan", {"transformer": 14.3e9, "text_encoder": _UMT5_XXL,
                                                          "vae": 0.127e9}, 5120, 13824, 40, 16, 8, 4),
    "Wan2.2-TI2V-5B": ModelSpec("Wan2.2-TI2V-5B", "wan", {"transformer": 5.0e9, "text_encoder": _UMT5_XXL,
                                                          "vae": 0.705e9}, 3072, 14336, 30, 48, 16, 4,
                                vae_width=160),
    "Wan2.2-T2V-A14B": ModelSpec("Wan2.2-T2V-A14B", "wan", {"transformer": 14.3e9, "transformer_2": 14.3e9,
                                                            "text_encoder": _UMT5_XXL, "vae": 0.127e9},
                                 5120, 13824, 40, 16, 8, 4),
    "LTX-Video-2B": ModelSpec("LTX-Video-2B", "ltx", {"transformer": 1.92e9, "text_encoder": _T5_XXL,
                                                      "vae": 0.42e9}, 2048, 8192, 28, 128, 32, 8, patch=(1, 1, 1),
                              text_len=128, cfg_batched=True, vae_width=128, vae_chunk_frames=10 ** 9, tile=512,
                              vae_pixel_patch=4),
}

_ALIASES = [
    (r"wan2\.1-t2v-1\.3b", "Wan2.1-T2V-1.3B"),
    (r"wan2\.1-t2v-14b", "Wan2.1-T2V-14B"),
    (r"wan2\.2-ti2v-5b", "Wan2.2-TI2V-5B"),
    (r"wan2\.2-t2v-a14b", "Wan2.2-T2V-A14B"),
    # the 2B LTX-Video releases (0.9.0–0.9.5); the 13B ones (0.9.7+, "13b") are not in the table
    (r"ltx-?video(-2b)?(-0\.9(\.[0-5])?)?(-diffusers)?$", "LTX-Video-2B"),
]


def known_spec(model_id: str) -> ModelSpec | None:
    """The table entry for a hub id or name (case-insensitive, "-Diffusers" suffix allowed), else None.

    >>> known_spec("Lightricks/LTX-Video").name, known_spec("someone/other-model") is None
    ('LTX-Video-2B', True)
    """
    if model_id in KNOWN:
        return KNOWN[model_id]
    name = str(model_id).lower().rstrip("/").split("/")[-1]
    for pattern, key in _ALIASES:
        if re.search(pattern, name):
            return KNOWN[key]
    return None


@dataclasses.dataclass
class MemoryPlan:
    """Estimated GPU memory (GB) of sampling with a generator, and what to turn on to fit ``budget_gb``."""

    spec: ModelSpec
    frames: int
    height: int
    width: int
    dtype: str
    batch: int
    weights_gb: dict
    latents_gb: float
    transformer_activations_gb: float
    vae_decode_gb: float
    vae_decode_tiled_gb: float
    grad_activations_gb: float
    peak_gb: float
    peak_offload_gb: float
    peak_offload_tiled_gb: float
    budget_gb: float
    suggestions: list
    tokens: int = 0  # transformer tokens of one call
    grad_checkpointed_gb: float = 0.0  # velocity with gradient when each block is recomputed in the backward pass

    @property
    def total_weights_gb(self) -> float:
        return sum(self.weights_gb.values())

    @property
    def fits(self) -> bool:
        """Fits the budget without offload or tiling."""
        return self.peak_gb <= self.budget_gb

    @property
    def offload(self) -> bool:
        """Suggested ``offload`` for ``VideoGenerator.from_pretrained``."""
        return not self.fits

    @property
    def vae_tiling(self) -> bool:
        """Suggested ``vae_tiling``."""
        return any("vae_tiling" in s for s in self.suggestions)

    def summary(self) -> str:
        lines = [f"Memory plan for {self.spec.name} ({'counted' if self.spec.exact else 'table estimate'}), "
                 f"{self.batch}× {self.frames} frames {self.height}×{self.width}, {self.dtype}:"]
        for name, gb in self.weights_gb.items():
            lines.append(f"  weights  {name:<14} {gb:7.2f} GB  ({self.spec.params[name] / 1e9:.2f} B params)")
        lines.append(f"  weights  total          {self.total_weights_gb:7.2f} GB")
        lines.append(f"  latents (float32)       {self.latents_gb:7.3f} GB")
        lines.append(f"  transformer activations {self.transformer_activations_gb:7.2f} GB  (one call, no gradient)")
        lines.append(f"  VAE decode activations  {self.vae_decode_gb:7.2f} GB  (tiled: {self.vae_decode_tiled_gb:.2f})")
        lines.append(f"  velocity with gradient  {self.grad_activations_gb:7.2f} GB  (activations kept for backward)")
        lines.append(f"  peak: {self.peak_gb:.1f} GB all on GPU; {self.peak_offload_gb:.1f} GB with offload; "
                     f"{self.peak_offload_tiled_gb:.1f} GB with offload + VAE tiling (budget {self.budget_gb:g} GB)")
        lines.extend(f"  → {s}" for s in self.suggestions)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _dtype_name(dtype) -> str:
    name = str(dtype).replace("torch.", "") if dtype is not None else "float16"
    if name not in _BYTES:
        raise ValueError(f"dtype {dtype!r} is not one of {', '.join(_BYTES)}")
    return name


def plan_memory(model, frames: int, height: int, width: int, dtype="float16", *, batch: int = 1,
                guidance: bool = True, budget_gb: float = T4_BUDGET_GB, verbose: bool = True) -> MemoryPlan:
    """Estimate memory for sampling ``batch`` videos of ``frames``×``height``×``width`` and print a summary.

    ``model``: a known hub id or name (see ``KNOWN``), a local pipeline folder (counted from its configs on the
    meta device, nothing is loaded), a diffusers pipeline object (counted from its weights), or a
    :class:`ModelSpec`. ``guidance`` counts the classifier-free-guidance batch where the family runs it as one
    batch. ``budget_gb``: the GPU to fit (15 GB, a Colab T4, by default).
    """
    spec = _spec(model)
    name = _dtype_name(dtype)
    nbytes = _BYTES[name]
    for value, label in ((frames, "frames"), (height, "height"), (width, "width"), (batch, "batch")):
        if int(value) < 1:
            raise ValueError(f"{label}={value}; must be positive")
    weights = {}
    for component, count in spec.params.items():
        # Wan runs its VAE in float32 (see WanGenerator.component_dtypes)
        per = 4 if (component == "vae" and spec.family == "wan") else nbytes
        weights[component] = count * per / GB
    lf = (frames - 1) // spec.temporal + 1
    lh, lw = height // spec.spatial, width // spec.spatial
    latents = batch * spec.latent_channels * lf * lh * lw * 4 / GB
    tokens = batch * max(1, lf // spec.patch[0]) * max(1, lh // spec.patch[1]) * max(1, lw // spec.patch[2])
    if guidance and spec.cfg_batched:
        tokens *= 2
    # inside one block at once: residual stream, normed copy, q/k/v, attention output (≈6·hidden) and the
    # feed-forward hidden layer with its activation (≈2·ffn); attention itself by fused SDPA (no N² matrix)
    per_token = 6 * spec.hidden + 2 * spec.ffn
    transformer_act = tokens * per_token * nbytes / GB
    # backward keeps per layer roughly the block's inputs, q/k/v/out, norms and ffn activations (≈12·hidden + 3·ffn)
    grad_act = tokens * spec.layers * (12 * spec.hidden + 3 * spec.ffn) * nbytes / GB
    # with gradient checkpointing: each block's input is kept, one block's buffers are rebuilt at a time
    grad_ckpt = tokens * (spec.layers * spec.hidden + 12 * spec.hidden + 3 * spec.ffn) * nbytes / GB
    chunk = min(frames, spec.vae_chunk_frames)
    vae_bytes = 4 if spec.family == "wan" else nbytes
    # the decoder's full-resolution stage holds a few feature maps of width vae_width at once
    pixels = (height // spec.vae_pixel_patch) * (width // spec.vae_pixel_patch)
    vae_decode = batch * chunk * pixels * spec.vae_width * vae_bytes * 6 / GB
    tile_pixels = (min(height, spec.tile) // spec.vae_pixel_patch) * (min(width, spec.tile) // spec.vae_pixel_patch)
    vae_tiled = batch * chunk * tile_pixels * spec.vae_width * vae_bytes * 6 / GB
    ctx = _CUDA_CONTEXT_GB
    transformers_w = sum(v for k, v in weights.items() if k.startswith("transformer"))
    peak = sum(weights.values()) + max(transformer_act, vae_decode) + latents + ctx
    biggest_transformer = max(v for k, v in weights.items() if k.startswith("transformer"))
    peak_offload = max(weights.get("text_encoder", 0.0), biggest_transformer + transformer_act,
                       weights.get("vae", 0.0) + vae_decode) + latents + ctx
    peak_offload_tiled = max(weights.get("text_encoder", 0.0), biggest_transformer + transformer_act,
                             weights.get("vae", 0.0) + vae_tiled) + latents + ctx
    suggestions = []
    if peak <= budget_gb:
        suggestions.append(f"fits in {budget_gb:g} GB as is (offload=False, vae_tiling=False)")
    elif peak_offload <= budget_gb:
        suggestions.append("does not fit all at once: use offload=True (model CPU offload; slower, needs ~"
                           f"{sum(weights.values()):.0f} GB of CPU RAM)")
    elif peak_offload_tiled <= budget_gb:
        suggestions.append("use offload=True and vae_tiling=True (the VAE decode is the peak)")
    else:
        what = []
        if biggest_transformer + transformer_act + latents + ctx > budget_gb:
            what.append(f"the transformer alone needs ~{biggest_transformer + transformer_act:.0f} GB")
        if weights.get("text_encoder", 0.0) + ctx > budget_gb:
            what.append(f"the text encoder alone needs ~{weights['text_encoder']:.0f} GB")
        if weights.get("vae", 0.0) + vae_tiled + ctx > budget_gb:
            what.append(f"the tiled VAE decode needs ~{weights.get('vae', 0.0) + vae_tiled:.0f} GB")
        suggestions.append(f"does not fit {budget_gb:g} GB even with offload=True, vae_tiling=True ("
                           + "; ".join(what or ["peak over budget"]) + "): use fewer frames, a lower resolution, "
                           "a smaller model or a bigger GPU")
    if peak > budget_gb and "text_encoder" in weights and transformers_w + ctx <= budget_gb:
        suggestions.append("encoding captions once and caching π (then deleting pipe.text_encoder) also saves "
                           f"{weights.get('text_encoder', 0.0):.0f} GB")
    if grad_act + biggest_transformer + ctx > budget_gb:
        suggestions.append(f"velocity with gradients (concept training) needs ~{grad_act + biggest_transformer:.0f} "
                           "GB: use fewer frames / lower resolution for training, or gradient checkpointing")
    plan = MemoryPlan(spec=spec, frames=int(frames), height=int(height), width=int(width), dtype=name,
                      batch=int(batch), weights_gb=weights, latents_gb=latents,
                      transformer_activations_gb=transformer_act, vae_decode_gb=vae_decode,
                      vae_decode_tiled_gb=vae_tiled, grad_activations_gb=grad_act, peak_gb=peak,
                      peak_offload_gb=peak_offload, peak_offload_tiled_gb=peak_offload_tiled,
                      budget_gb=float(budget_gb), suggestions=suggestions, tokens=int(tokens),
                      grad_checkpointed_gb=grad_ckpt)
    if verbose:
        print(plan.summary())
    return plan


# ------------------------------------------------------------------------------------------- spec sources
def _spec(model) -> ModelSpec:
    if isinstance(model, ModelSpec):
        return model
    if isinstance(model, (str, Path)):
        folder = Path(model)
        if (folder / "model_index.json").is_file():
            return _spec_from_folder(folder)
        spec = known_spec(str(model))
        if spec is not None:
            return spec
        raise ValueError(f"no memory table entry for {str(model)!r} and no local folder with model_index.json; known: "
                         f"{', '.join(KNOWN)}. Pass a local pipeline folder, a pipeline object or a ModelSpec.")
    if hasattr(model, "components") and hasattr(model, "transformer"):
        return _spec_from_pipeline(model)
    raise TypeError(f"plan_memory takes a model id, a pipeline folder, a pipeline object or a ModelSpec, "
                    f"got {type(model).__name__}")


def _count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def _spec_from_pipeline(pipe) -> ModelSpec:
    import torch

    names = ("transformer", "transformer_2", "text_encoder", "vae")
    counts = {name: float(_count(module)) for name, module in pipe.components.items()
              if isinstance(module, torch.nn.Module) and name in names}
    configs = {name: dict(getattr(pipe, name).config) for name in ("transformer", "transformer_2", "vae")
               if getattr(pipe, name, None) is not None}
    return _spec_from_configs(type(pipe).__name__, configs, counts, name=type(pipe).__name__)


def _spec_from_folder(folder: Path) -> ModelSpec:
    """Count parameters of each component by instantiating its config on the meta device (no weights read)."""
    import torch

    index = json.loads((folder / "model_index.json").read_text())
    counts, configs = {}, {}
    for name in ("transformer", "transformer_2", "text_encoder", "vae"):
        entry = index.get(name)
        config_file = folder / name / "config.json"
        if not entry or entry[0] is None or not config_file.is_file():
            continue
        library, class_name = entry
        config = json.loads(config_file.read_text())
        configs[name] = config
        with torch.device("meta"):
            if library == "diffusers":
                import diffusers

                module = getattr(diffusers, class_name).from_config(config)
            else:
                import transformers

                cls = getattr(transformers, class_name)
                module = cls._from_config(cls.config_class.from_dict(config))
        counts[name] = float(_count(module))
        del module
    return _spec_from_configs(index.get("_class_name", "?"), configs, counts, name=folder.name)


def _spec_from_configs(pipeline_name: str, configs: dict, counts: dict, *, name: str) -> ModelSpec:
    t = configs.get("transformer") or configs.get("transformer_2")
    if t is None:
        raise ValueError(f"{name}: no transformer config to plan from")
    vae = configs.get("vae", {})
    if "Wan" in pipeline_name:
        hidden = t["num_attention_heads"] * t["attention_head_dim"]
        base = vae.get("base_dim", 96)
        return ModelSpec(name, "wan", counts, hidden, t["ffn_dim"], t["num_layers"], t["in_channels"],
                         vae.get("scale_factor_spatial", 8), vae.get("scale_factor_temporal", 4),
                         patch=tuple(t["patch_size"]), text_dim=t["text_dim"], vae_width=base, exact=True)
    if "LTX" in pipeline_name:
        hidden = t["num_attention_heads"] * t["attention_head_dim"]
        scaling = vae.get("spatio_temporal_scaling", (True, True, True, False))
        spatial = vae.get("spatial_compression_ratio") or vae.get("patch_size", 4) * 2 ** sum(scaling)
        temporal = vae.get("temporal_compression_ratio") or vae.get("patch_size_t", 1) * 2 ** sum(scaling)
        return ModelSpec(name, "ltx", counts, hidden, 4 * hidden, t["num_layers"], t["in_channels"], spatial,
                         temporal, patch=(t.get("patch_size_t", 1), t.get("patch_size", 1), t.get("patch_size", 1)),
                         text_len=128, text_dim=t["caption_channels"], cfg_batched=True,
                         vae_width=(vae.get("decoder_block_out_channels") or vae.get("block_out_channels", [128]))[0],
                         vae_chunk_frames=10 ** 9, tile=512, vae_pixel_patch=vae.get("patch_size", 4), exact=True)
    raise ValueError(f"{name}: no memory model for pipeline class {pipeline_name!r} (Wan and LTX pipelines only)")


__all__ = ["KNOWN", "MemoryPlan", "ModelSpec", "T4_BUDGET_GB", "known_spec", "plan_memory"]
