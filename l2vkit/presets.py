"""Bundled set-ups by short name ("toy"): the core resolves a name here instead of knowing any bundle itself.

A preset names its models and bundles the defaults that go with them: concept-training settings, the contrast
pairs file, the shipped coupling and concept bank, where π⁻ captions come from, a ground-truth measure of a video,
and its own way to fit a coupling without a video folder. The command line and the demo read one :class:`Preset`
(:func:`preset_for`) instead of branching on model names; models that belong to no preset get :data:`HUB` (the
paper's settings, every artifact given by the user).

A package adds a preset through the entry-point group ``l2vkit.presets`` in its ``pyproject.toml``, pointing at a
:class:`Preset` object; l2vkit's own toy world does so (``toy = "l2vkit.toyworld.preset:TOY"``). The entry point is
imported only when its name is asked for. ``register_preset`` adds one at run time (tests, notebooks).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from types import MappingProxyType
from typing import Callable, Mapping

GROUP = "l2vkit.presets"
_REGISTERED: dict[str, "Preset"] = {}

#: Concept-training settings of the paper (1,000 steps at lr 1e-4) and l2vkit's defaults for the rest; a preset
#: overrides what its models need (the toy world trains at 1e-3).
CONCEPT_DEFAULTS: Mapping = MappingProxyType({
    "steps": 1000, "lr": 1e-4, "samples_per_pair": 16, "timesteps_per_sample": 10, "batch_per_pair": 8,
    "divergence": "hellinger", "omega_read": "two_paths", "directions": "forward"})


@dataclasses.dataclass(frozen=True)
class Preset:
    """A named bundle of models and the defaults that go with them.

    Every field but ``name`` is optional; a missing one means the user must supply that thing.

    Attributes
    ----------
    name : str
        What users type (``--generator toy``, ``VideoVLM.from_pretrained("toy")``).
    vlm_folder : callable () -> str
        The folder (or hub id) ``VideoVLM.from_pretrained(name)`` loads.
    load_generator : callable (folder=None, *, device=None, dtype=None) -> VideoGenerator
        The generator of ``VideoGenerator.from_pretrained(name)``, or of a folder holding ``generator_marker``.
    generator_marker : str
        A file name that marks a folder as a generator saved in this preset's own layout.
    concept_defaults : mapping
        Concept-training settings that differ from :data:`CONCEPT_DEFAULTS`.
    pairs_file, coupling_file, concepts_file : callable () -> Path
        The shipped contrast pairs, coupling Φ and concept bank.
    captions : callable (pair, count, seed=) -> list[str]
        Where π⁻ captions for a pair come from (e.g. random captions of the preset's world).
    measure : callable (video) -> dict or None
        Ground truth read from a video's pixels (``None`` where nothing can be read).
    vocabulary : callable () -> mapping of slot -> words
        The words each slot may take in this world (checked when loading pairs for its models).
    fit_coupling : callable (out, *, videos, eval_videos, seed, cache, steps, table, progress)
        Fits Φ on the preset's own data (``l2vkit fit`` without ``--data``).
    train_concepts : callable (out, *, coupling_path, progress)
        Trains the preset's concept bank from scratch (``l2vkit demo --fresh``).
    demo_caption : callable (specs, seed) -> str
        A caption with every pair's source word in its slot (for the demo's sweeps).
    """

    name: str
    vlm_folder: Callable[[], str] | None = None
    load_generator: Callable | None = None
    generator_marker: str | None = None
    description: str = ""
    concept_defaults: Mapping = dataclasses.field(default_factory=dict)
    pairs_file: Callable[[], Path] | None = None
    coupling_file: Callable[[], Path] | None = None
    concepts_file: Callable[[], Path] | None = None
    captions: Callable | None = None
    measure: Callable | None = None
    vocabulary: Callable[[], Mapping] | None = None
    fit_coupling: Callable | None = None
    train_concepts: Callable | None = None
    demo_caption: Callable | None = None

    def concept_setting(self, key: str):
        """A concept-training setting: this preset's, else :data:`CONCEPT_DEFAULTS`'s."""
        return self.concept_defaults.get(key, CONCEPT_DEFAULTS[key])

    def owns_vlm(self, model: str) -> bool:
        """``model`` (a name or folder) is this preset's VLM."""
        if model == self.name:
            return True
        if self.vlm_folder is None or not Path(model).is_dir():
            return False
        return Path(model).resolve() == Path(self.vlm_folder()).resolve()

    def owns_generator(self, model: str) -> bool:
        """``model`` (a name or folder) is a generator in this preset's layout."""
        return model == self.name or bool(self.generator_marker and (Path(model) / self.generator_marker).is_file())


#: Models of no preset (hub ids, local folders): the paper's settings, every artifact supplied by the user.
HUB = Preset(name="hub", description="models from the Hugging Face Hub or local folders")


def register_preset(preset: Preset) -> Preset:
    """Make ``preset`` resolvable by its name (replacing one of the same name)."""
    _REGISTERED[preset.name] = preset
    return preset


def _entry_points():
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=GROUP)}


def available_presets() -> list[str]:
    """Names of every preset: registered at run time or declared by an installed package."""
    return sorted(set(_REGISTERED) | set(_entry_points()))


def get_preset(name: str) -> Preset | None:
    """The preset called ``name``, or ``None`` when there is none (so a hub id or folder is meant)."""
    if name in _REGISTERED:
        return _REGISTERED[name]
    entry = _entry_points().get(name)
    if entry is None:
        return None
    preset = entry.load()
    if not isinstance(preset, Preset):
        raise TypeError(f"entry point {entry.value!r} of group {GROUP!r} is a {type(preset).__name__}, not a Preset")
    return register_preset(preset)


def _local_folder(model: str) -> Path | None:
    """``model`` as a local folder that is not a standard diffusers/transformers one, else ``None``: only such a
    folder can be in a preset's own layout, and other ids must not import every preset's package."""
    folder = Path(model)
    if not folder.is_dir() or (folder / "model_index.json").exists():
        return None
    return folder


def _owner(model: str, owns) -> Preset | None:
    """The first preset for which ``owns(preset, model)`` holds, when ``model`` is a folder that can be in a preset's
    own layout (see :func:`_local_folder`)."""
    if _local_folder(model) is None:
        return None
    return next((preset for preset in map(get_preset, available_presets()) if owns(preset, model)), None)


def preset_for_generator_folder(folder) -> Preset | None:
    """The preset whose generator layout ``folder`` holds (its ``generator_marker`` file), if any."""
    return _owner(str(folder), Preset.owns_generator)


def preset_for(*, generator: str | None = None, vlm: str | None = None) -> Preset:
    """The preset both given models belong to, or :data:`HUB` when they belong to none (or to different ones).

    ``preset_for(generator="toy")`` is the toy world's; ``preset_for(generator="toy", vlm="Qwen/...")`` is
    :data:`HUB` (a coupling for that pair of models is the user's to fit).
    """
    found = []
    if generator is not None:
        found.append(get_preset(generator) or _owner(generator, Preset.owns_generator))
    if vlm is not None:
        found.append(get_preset(vlm) or _owner(vlm, Preset.owns_vlm))
    if found and found[0] is not None and all(p is found[0] for p in found):
        return found[0]
    return HUB
