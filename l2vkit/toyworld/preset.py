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


#: The oldest transformers that reads the shipped toy VLM as it was trained (5.24): 5.15–5.17 load it without a
#: word and caption garbage (0 of 20 toy videos right), 4.x cannot load its tokenizer (tests/test_lowest_bounds.py).
MIN_TRANSFORMERS = "5.18"


def check_transformers(version: str) -> None:
    """Refuse a transformers that would read the toy VLM wrongly, saying what to install."""
    from packaging.version import Version

    if Version(version) < Version(MIN_TRANSFORMERS):
        raise RuntimeError(f"transformers {version} reads the toy VLM differently from the version that trained it "
                           f"(its captions come out as garbage); install transformers>={MIN_TRANSFORMERS}: "
                           f"pip install -U 'transformers>={MIN_TRANSFORMERS}' (on Colab, then restart the runtime)")


def _vlm_folder() -> str:
    import transformers

    from ..threads import use_small_model_threads

    check_transformers(transformers.__version__)
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
