"""Bundled set-ups by short name ("toy"): the core resolves a name here instead of knowing any bundle itself.

A package adds a preset through the entry-point group ``l2vkit.presets`` in its ``pyproject.toml``, pointing at a
:class:`Preset` object; l2vkit's own toy world does so (``toy = "l2vkit.toyworld.preset:TOY"``). The entry point is
imported only when its name is asked for. ``register_preset`` adds one at run time (tests, notebooks).
"""
from __future__ import annotations

import dataclasses
from typing import Callable

GROUP = "l2vkit.presets"
_REGISTERED: dict[str, "Preset"] = {}


@dataclasses.dataclass(frozen=True)
class Preset:
    """A named bundle of models.

    ``vlm_folder()``: the folder (or hub id) ``VideoVLM.from_pretrained(name)`` loads. ``load_generator(folder=None,
    device=None, dtype=None)``: the ``VideoGenerator`` of ``VideoGenerator.from_pretrained(name)``, or of a folder
    that holds the file ``generator_marker`` (a generator saved in this preset's own layout).
    """

    name: str
    vlm_folder: Callable[[], str] | None = None
    load_generator: Callable | None = None
    generator_marker: str | None = None
    description: str = ""


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


def preset_for_generator_folder(folder) -> Preset | None:
    """The preset whose generator layout ``folder`` holds (its ``generator_marker`` file), if any."""
    from pathlib import Path

    folder = Path(folder)
    if not folder.is_dir():
        return None
    for name in available_presets():
        preset = get_preset(name)
        if preset.generator_marker and (folder / preset.generator_marker).exists():
            return preset
    return None
