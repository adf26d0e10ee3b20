"""Memory of reading a clip with a video VLM (extraction, and the VLM's part of later stages), planned before loading.

``plan_vlm(model, frames, height, width, video_fps, dtype)`` adds up the weights, the pixel inputs, the widest
activations of one vision-tower layer and of one language-model layer (no gradient: only one layer's buffers are
alive at a time; attention by fused SDPA, no N×N matrix), and the logits the forward returns (every position × the
vocabulary, in the model's dtype). Token counts follow the family's official video preprocessing (Qwen2-VL /
Qwen2.5-VL: frames at 2 fps, ``smart_resize``; :mod:`l2vkit.vlm.preprocess`).

>>> plan = plan_vlm("Qwen/Qwen2.5-VL-3B-Instruct", 17, 320, 576, 16, "float16")
>>> plan.tokens, round(plan.weights_gib, 2)
(526, 6.99)
"""
from __future__ import annotations

import dataclasses

GIB = 1024 ** 3
_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2}


@dataclasses.dataclass(frozen=True)
class VLMSize:
    """Parameter count and widths of a Qwen-style video VLM (vision tower + language model)."""

    name: str
    params: float
    hidden: int
    ffn: int
    layers: int
    vocab: int
    vision_hidden: int = 1280
    vision_ffn: int = 3420
    patch: int = 14
    temporal_patch: int = 2
    merge: int = 2
    fps: float = 2.0
    min_frames: int = 4
    max_frames: int = 768
    min_pixels: int = 128 * 28 * 28
    max_pixels: int = 768 * 28 * 28
    exact: bool = False  # counted from a config (True) or the table's published sizes (False)

    def patch_grid(self, frames: int, video_fps: float, height: int, width: int) -> tuple:
        """(t, h, w) patch grid (``video_grid_thw``) of a decoded ``frames``×``height``×``width`` clip at
        ``video_fps`` under the official video preprocessing (frames at ``fps``, sides by ``smart_resize``)."""
        from .preprocess import qwen_frame_indices, smart_resize

        sampled = len(qwen_frame_indices(frames, video_fps=video_fps, fps=self.fps, min_frames=self.min_frames,
                                         max_frames=self.max_frames, temporal_patch_size=self.temporal_patch))
        h, w = smart_resize(height, width, self.patch * self.merge, self.min_pixels, self.max_pixels)
        return (-(-sampled // self.temporal_patch), h // self.patch, w // self.patch)

    def token_grid(self, frames: int, video_fps: float, height: int, width: int) -> tuple:
        """(t, h, w) grid of merged tokens the language model reads for such a clip."""
        t, h, w = self.patch_grid(frames, video_fps, height, width)
        return (t, h // self.merge, w // self.merge)


#: Published sizes (config.json widths; parameters from the model cards / safetensors index).
KNOWN_VLM_SIZES = {
    "Qwen2-VL-2B-Instruct": VLMSize("Qwen2-VL-2B-Instruct", 2.209e9, 1536, 8960, 28, 151936, vision_ffn=5120),
    "Qwen2-VL-7B-Instruct": VLMSize("Qwen2-VL-7B-Instruct", 8.291e9, 3584, 18944, 28, 152064, vision_ffn=5120),
    "Qwen2.5-VL-3B-Instruct": VLMSize("Qwen2.5-VL-3B-Instruct", 3.755e9, 2048, 11008, 36, 151936),
    "Qwen2.5-VL-7B-Instruct": VLMSize("Qwen2.5-VL-7B-Instruct", 8.292e9, 3584, 18944, 28, 152064),
}


def known_vlm_size(model_id) -> VLMSize:
    if isinstance(model_id, VLMSize):
        return model_id
    name = str(model_id).rstrip("/").split("/")[-1]
    for key, size in KNOWN_VLM_SIZES.items():
        if key.lower() == name.lower():
            return size
    raise ValueError(f"no memory table entry for VLM {model_id!r}; known: {', '.join(KNOWN_VLM_SIZES)} "
                     "(or pass a VLMSize, e.g. from vlm_size_from_model)")


def vlm_size_from_model(model, name: str = "model") -> VLMSize:
    """A :class:`VLMSize` counted from a loaded (or meta-device) Qwen2-VL / Qwen2.5-VL model."""
    config = model.config
    text = getattr(config, "text_config", config)
    vision = config.vision_config
    ffn = getattr(vision, "intermediate_size", None) or int(vision.embed_dim * vision.mlp_ratio)
    return VLMSize(name, float(sum(p.numel() for p in model.parameters())), text.hidden_size,
                   text.intermediate_size, text.num_hidden_layers, text.vocab_size,
                   vision_hidden=getattr(vision, "hidden_size", None) if hasattr(vision, "out_hidden_size")
                   else vision.embed_dim, vision_ffn=ffn, patch=vision.patch_size,
                   temporal_patch=vision.temporal_patch_size, merge=vision.spatial_merge_size, exact=True)


@dataclasses.dataclass
class VLMPlan:
    """Planned GiB of one VLM forward over a clip (no gradient)."""

    size: VLMSize
    dtype: str
    patches: int  # vision-tower tokens before the merge
    tokens: int  # language-model positions: merged visual tokens + prompt
    weights_gib: float
    inputs_gib: float
    vision_gib: float
    language_gib: float
    logits_gib: float

    @property
    def activations_gib(self) -> float:
        """What one forward adds on top of the weights."""
        return self.inputs_gib + max(self.vision_gib, self.language_gib + self.logits_gib)

    @property
    def peak_gib(self) -> float:
        return self.weights_gib + self.activations_gib


def plan_vlm(model, frames: int, height: int, width: int, video_fps: float, dtype="float16", *, batch: int = 1,
             prompt_tokens: int = 64, vocab_rows: int | None = None, grid: tuple | None = None) -> VLMPlan:
    """Plan one forward of ``batch`` clips of ``frames``×``height``×``width`` at ``video_fps`` (see the module
    docstring). ``vocab_rows``: positions whose logits are kept (default: all, as transformers returns them).
    ``grid``: the processor's ``video_grid_thw`` (patches before the merge) when known, instead of the official
    sampling and resizing rules."""
    size = known_vlm_size(model)
    if str(dtype).replace("torch.", "") not in _BYTES:
        raise ValueError(f"dtype {dtype!r} is not one of {', '.join(_BYTES)}")
    nbytes = _BYTES[str(dtype).replace("torch.", "")]
    if grid is None:
        grid = size.patch_grid(frames, video_fps, height, width)
    patches = grid[0] * grid[1] * grid[2]
    tokens = patches // size.merge ** 2 + prompt_tokens
    inputs = batch * patches * 3 * size.temporal_patch * size.patch ** 2 * nbytes
    # one layer's live buffers: residual, normed copy, q/k/v, attention output (≈ 6·hidden) and the MLP's hidden
    # layer (gate and up for SwiGLU: ≈ 3·ffn)
    vision = batch * patches * (6 * size.vision_hidden + 3 * size.vision_ffn) * nbytes
    language = batch * tokens * (6 * size.hidden + 3 * size.ffn) * nbytes
    rows = tokens if vocab_rows is None else vocab_rows
    logits = batch * rows * size.vocab * nbytes + batch * size.vocab * 4 * 2  # + the float32 log-softmax of the slot
    return VLMPlan(size, str(dtype).replace("torch.", ""), batch * patches, batch * tokens,
                   size.params * nbytes / GIB, inputs / GIB, vision / GIB, language / GIB, logits / GIB)


__all__ = ["KNOWN_VLM_SIZES", "VLMPlan", "VLMSize", "known_vlm_size", "plan_vlm", "vlm_size_from_model"]
