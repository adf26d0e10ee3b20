"""The toy world as a preset: ``VideoVLM.from_pretrained("toy")`` and ``VideoGenerator.from_pretrained("toy")``
resolve here through the ``l2vkit.presets`` entry point, and the command line and the demo read the toy world's
defaults (pairs, shipped coupling and bank, captions, ground-truth measure, training settings) from :data:`TOY`,
so the core never names the toy world."""
from __future__ import annotations

from ..presets import Preset
from .attributes import ATTRIBUTE_VALUES, caption, random_attributes, toy_captions
from .measure import measure_or_none
from .train_concepts import TOY_SETTINGS, train_toy
from .train_coupling import fit_toy


def _data(name: str):
    from ..paths import data_path

    return data_path(name)


def _vlm_folder() -> str:
    from ..threads import use_small_model_threads

    use_small_model_threads()  # asked for when the toy VLM loads: one thread for tiny models (l2vkit.threads)
    return str(_data("toy_vlm"))


def _load_generator(folder=None, *, device=None, dtype=None):
    from . import load_generator

    return load_generator(folder=folder, device=device, dtype=dtype)


def read_attributes(video) -> dict | None:
    """The attributes read from the video's pixels as a dict, or ``None`` when no object can be found."""
    found = measure_or_none(video)
    return None if found is None else found.as_dict()


def _demo_caption(specs, seed: int) -> str:
    """A random toy caption with every pair's source word in its slot."""
    attributes = random_attributes(50_000 + seed)
    return caption(attributes.replace(**{s.slot: s.source for s in specs}))


TOY = Preset(name="toy", vlm_folder=_vlm_folder, load_generator=_load_generator,
             generator_marker="l2vkit_generator.json",
             description="the toy world's tiny Qwen2-VL and Wan pipeline, shipped in data/",
             concept_defaults=TOY_SETTINGS,
             pairs_file=lambda: _data("contrast_pairs.yaml"),
             coupling_file=lambda: _data("toy_coupling.safetensors"),
             concepts_file=lambda: _data("toy_concepts.safetensors"),
             captions=toy_captions, measure=read_attributes, vocabulary=lambda: ATTRIBUTE_VALUES,
             fit_coupling=fit_toy, train_concepts=train_toy, demo_caption=_demo_caption)
