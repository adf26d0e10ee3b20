"""Captions encoded once with only the text encoder loaded; the generator then loads without it (the T4 tiers)."""
import numpy as np
import pytest
import torch

from l2vkit.generator import ConditionStore, VideoGenerator, encode_captions
from l2vkit.testing_generators import tiny_wan_pipeline

SIZE = dict(frames=5, height=32, width=32, steps=2, verbose=False)
CAPTIONS = ["a red circle", "a blue square"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("hub") / "Wan2.1-T2V-tiny-Diffusers"
    tiny_wan_pipeline().save_pretrained(path)
    return str(path)


@pytest.mark.integration
def test_stored_conditions_give_the_same_videos_without_a_text_encoder(folder, tmp_path):
    full = VideoGenerator.from_pretrained(folder, **SIZE)
    store = encode_captions(folder, CAPTIONS)
    assert len(store) == 3 and "" in store  # the negative prompt is encoded too
    path = store.save(tmp_path / "pi.safetensors")
    lean = VideoGenerator.from_pretrained(folder, conditions=ConditionStore.load(path), **SIZE)
    assert lean.pipe.text_encoder is None and lean.text_len == full.text_len
    torch.testing.assert_close(lean.encode_prompt(CAPTIONS).embeds, full.encode_prompt(CAPTIONS).embeds)
    # guidance > 1 reads the stored negative prompt
    np.testing.assert_array_equal(lean.generate(CAPTIONS[0], seed=3, guidance=4.0),
                                  full.generate(CAPTIONS[0], seed=3, guidance=4.0))
    with pytest.raises(ValueError, match=r"\['a green triangle'\] were not encoded"):
        lean.encode_prompt(["a red circle", "a green triangle"])


@pytest.mark.integration
def test_conditions_of_another_model_and_damaged_files_are_refused(folder, tmp_path):
    store = encode_captions(folder, CAPTIONS[:1])
    store.model_id = "Wan-AI/Wan2.1-T2V-14B-Diffusers"
    with pytest.raises(ValueError, match="encoded with Wan-AI/Wan2.1-T2V-14B-Diffusers's text encoder"):
        VideoGenerator.from_pretrained(folder, conditions=store, **SIZE)
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(1)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(ValueError, match="not a saved ConditionStore"):
        ConditionStore.load(tmp_path / "other.safetensors")


@pytest.mark.unit
def test_unknown_offload_is_refused_before_loading():
    with pytest.raises(ValueError, match="offload='disk'; choose False, True / 'model'.*'group'"):
        VideoGenerator.from_pretrained("no/such-model", offload="disk")
