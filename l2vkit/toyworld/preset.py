"""The toy world as a preset: ``VideoVLM.from_pretrained("toy")`` and ``VideoGenerator.from_pretrained("toy")``
resolve here through the ``l2vkit.presets`` entry point, so the core never names the toy world."""
from __future__ import annotations

from ..presets import Preset


def _vlm_folder() -> str:
    from ..paths import data_path

    return str(data_path("toy_vlm"))


def _load_generator(folder=None, *, device=None, dtype=None):
    from . import load_generator

    return load_generator(folder=folder, device=device, dtype=dtype)


TOY = Preset(name="toy", vlm_folder=_vlm_folder, load_generator=_load_generator,
             generator_marker="l2vkit_generator.json",
             description="the toy world's tiny Qwen2-VL and Wan pipeline, shipped in data/")
