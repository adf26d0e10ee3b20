"""Loading a diffusers pipeline by hub id, local folder or preset name, for :meth:`VideoGenerator.from_pretrained`."""
from __future__ import annotations

from pathlib import Path


def pipeline_class_name(model_id: str, revision: str | None = None) -> str:
    """The diffusers pipeline class a hub id / folder declares in its ``model_index.json``."""
    from diffusers import DiffusionPipeline

    name = DiffusionPipeline.load_config(model_id, revision=revision).get("_class_name")
    if not name:
        raise ValueError(f"{model_id}: model_index.json names no pipeline class (_class_name)")
    return name


def dtype_kwarg() -> str:
    """``dtype`` on diffusers that accept it (``torch_dtype`` is deprecated there), else ``torch_dtype``."""
    from diffusers.utils import deprecation_utils

    return "dtype" if hasattr(deprecation_utils, "_resolve_dtype") else "torch_dtype"


def print_memory_plan(model_id: str, adapter, dtype, kwargs: dict) -> None:
    """Print :func:`l2vkit.generator.plan_memory`'s plan for the video size about to be used, when it is known."""
    from .memory import plan_memory

    try:
        plan = plan_memory(model_id, kwargs.get("frames", adapter.default_frames),
                           kwargs.get("height", adapter.default_height), kwargs.get("width", adapter.default_width),
                           dtype, verbose=False)
    except (ValueError, OSError):
        return
    if plan is not None:
        print(plan.summary())


def load_adapter(cls, model_id: str, *, revision=None, dtype=None, device=None, offload=False, vae_tiling=False,
                 verbose=True, conditions=None, **kwargs):
    """The body of :meth:`VideoGenerator.from_pretrained` (see there); ``cls`` is the class it was called on."""
    import diffusers
    import torch

    from ..dtypes import resolve_dtype
    from ..presets import get_preset, preset_for_generator_folder

    if offload not in (False, True, "model", "group"):
        raise ValueError(f"offload={offload!r}; choose False, True / 'model' (each component on the GPU while it "
                         "runs) or 'group' (the transformer's blocks streamed to the GPU one at a time)")
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
    pipeline_name = pipeline_class_name(model_id, revision)
    adapter = cls if cls.pipeline_classes else cls.adapter_for(pipeline_name)  # VideoGenerator itself chooses
    if verbose:
        print_memory_plan(model_id, adapter, dtype, kwargs)
    # with captions encoded once (l2vkit.generator.encode_captions) the text encoder is not loaded at all; the
    # tokenizer (a few MB) stays where the model has one: steering places concept rows on the caption's tokens with it
    skipped = {} if conditions is None else {"text_encoder": None}
    if conditions is not None and Path(str(model_id)).is_dir() and not (Path(str(model_id)) / "tokenizer").is_dir():
        skipped["tokenizer"] = None
    if conditions is not None and conditions.model_id and _name(conditions.model_id) != _name(model_id):
        raise ValueError(f"the conditions were encoded with {conditions.model_id}'s text encoder, not {model_id}'s; "
                         "encode the captions with this model (l2vkit.generator.encode_captions)")
    if conditions is not None and conditions.text_len:
        kwargs.setdefault("text_len", conditions.text_len)
    pipe = getattr(diffusers, pipeline_name).from_pretrained(
        model_id, revision=revision, **skipped, **{dtype_kwarg(): adapter.component_dtypes(dtype)})
    if offload == "group" and str(device).startswith("cuda"):
        # for transformers bigger than the GPU (Wan2.1-14B on 24 GB): blocks move in as they run, overlapped
        pipe.enable_group_offload(onload_device=torch.device(device), offload_type="block_level",
                                  num_blocks_per_group=1, use_stream=True)
    elif offload and str(device).startswith("cuda"):
        pipe.enable_model_cpu_offload(device=device)
    else:
        pipe.to(device)
    if vae_tiling:
        pipe.vae.enable_tiling()
    generator = adapter(pipe, model_id=model_id, revision=revision, **kwargs)
    generator.conditions = conditions
    return generator


def _name(model_id) -> str:
    """A hub id's or folder's last part, case-folded: the same model saved or moved elsewhere keeps it."""
    return str(model_id).rstrip("/").split("/")[-1].lower()
