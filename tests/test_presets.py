"""Presets: names and folders resolve to one bundle of models and defaults; other models get the library's."""
import pytest

from l2vkit.paths import data_path
from l2vkit.presets import CONCEPT_DEFAULTS, HUB, Preset, get_preset, preset_for, register_preset

pytestmark = pytest.mark.unit


def test_the_toy_preset_bundles_its_defaults():
    toy = get_preset("toy")
    assert toy.pairs_file() == data_path("contrast_pairs.yaml")
    assert toy.coupling_file().is_file() and toy.concepts_file().is_file()
    assert toy.concept_setting("steps") == 3000 and toy.concept_setting("lr") == 1e-3
    assert CONCEPT_DEFAULTS["lr"] == 1e-4  # the paper's, for models of no preset
    assert set(toy.vocabulary()) >= {"colour", "scene"}
    assert toy.captions(get_preset_pair(), 2, seed=0)[0].split().count("red") == 1
    assert HUB.concept_setting("steps") == CONCEPT_DEFAULTS["steps"] == 1000


def get_preset_pair():
    from l2vkit.pairs import ContrastPair

    return ContrastPair("red", "blue", "colour", "attribute")


def test_preset_for_names_folders_and_mixed_models(tmp_path):
    toy = get_preset("toy")
    assert preset_for(generator="toy", vlm="toy") is toy
    assert preset_for(generator=str(data_path("toy_generator")), vlm=str(data_path("toy_vlm"))) is toy
    assert preset_for(generator="toy", vlm="Qwen/Qwen2.5-VL-7B-Instruct") is HUB  # a coupling is the user's to fit
    assert preset_for(generator="toy") is toy
    assert preset_for(generator="Wan-AI/Wan2.1-T2V-1.3B-Diffusers") is HUB
    assert preset_for(generator=str(tmp_path)) is HUB


def test_a_diffusers_folder_never_loads_preset_packages(tmp_path, monkeypatch):
    """A folder with model_index.json is a plain pipeline: presets are not imported to look for their marker."""
    import l2vkit.presets as presets

    (tmp_path / "model_index.json").write_text("{}")
    monkeypatch.setattr(presets, "get_preset", lambda name: pytest.fail(f"loaded preset {name!r}"))
    assert presets.preset_for_generator_folder(tmp_path) is None


def test_registered_presets_resolve_by_name(monkeypatch):
    import l2vkit.presets as presets

    monkeypatch.setattr(presets, "_REGISTERED", {})
    mine = register_preset(Preset(name="mylab", concept_defaults={"steps": 50}))
    assert get_preset("mylab") is mine and preset_for(generator="mylab") is mine
    assert mine.concept_setting("steps") == 50 and mine.concept_setting("divergence") == "hellinger"
    assert get_preset("no-such-preset") is None
