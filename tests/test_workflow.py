"""The notebooks' real-model path (l2vkit.workflow) on hub-layout tiny models: every stage in the tier's order, the
text encoder never loaded beside G, and a rerun that reads every stage back from disk."""
import dataclasses

import pytest

RED_BLUE = ["a red circle", "a red square"]


@pytest.fixture(scope="module")
def tiny_tier(tmp_path_factory):
    from l2vkit import testing
    from l2vkit.testing_generators import tiny_wan_pipeline
    from l2vkit.tiers import get_tier

    root = tmp_path_factory.mktemp("models")
    tiny_wan_pipeline().save_pretrained(root / "Wan2.1-T2V-tiny-Diffusers")
    testing.save_tiny(testing.tiny_qwen2_vl(), root / "qwen2-vl-tiny")
    return dataclasses.replace(
        get_tier("colab-t4"), name="tiny-t4", vlm=str(root / "qwen2-vl-tiny"),
        generator=str(root / "Wan2.1-T2V-tiny-Diffusers"), frames=9, height=16, width=16, steps=2, dtype="float32",
        clips=3, concept_samples_per_pair=2, concept_batch_per_pair=2,
        coupling_sizes={"width": 32, "mixer_depth": 2, "local_depth": 1, "heads": 2},
        coupling_batches={"batch_size": 4, "rho_batch_size": 2})


@pytest.mark.integration
@pytest.mark.filterwarnings("ignore:pair 'red->blue' has a negligible edit")  # random tiny models barely react
def test_prepare_real_models_runs_every_stage_and_resumes(tiny_tier, tmp_path, monkeypatch):
    from l2vkit import generator as generator_module
    from l2vkit.pairs import ContrastPair
    from l2vkit.workflow import prepare_real_models

    pair = ContrastPair(source="red", target="blue", slot="colour", family="attribute")
    options = dict(folder=tmp_path, coupling_steps={"global": 2, "local": 1, "rho": 1}, concept_steps=2,
                   extra_captions=["a blue circle"], progress=False)
    vlm, gen, coupling, bank = prepare_real_models(tiny_tier, ["a red circle", "a blue square", "a red square"],
                                                   [pair], {pair.name: RED_BLUE}, **options)
    run = tmp_path / "tiny-t4"
    for name in ("conditions.safetensors", "clips.npy", "coupling_data", "coupling.safetensors",
                 "concepts.safetensors"):
        assert (run / name).exists(), name
    assert gen.pipe.text_encoder is None  # the generator never held its text encoder
    assert vlm.model is not None  # loaded again after concept training freed it
    assert bank.pairs == ["red->blue"] and bank.meta["gradient_checkpointing"] is True
    gen.encode_prompt(["a blue circle", "a blue square"])  # π⁺ and the extra captions were encoded in stage 1
    with pytest.raises(ValueError, match="were not encoded"):
        gen.encode_prompt("a green circle")

    def no_encoding(*args, **kwargs):
        raise AssertionError("stage 1 ran again")

    monkeypatch.setattr(generator_module, "encode_captions", no_encoding)
    _, _, coupling2, bank2 = prepare_real_models(tiny_tier, ["a red circle", "a blue square", "a red square"],
                                                 [pair], {pair.name: RED_BLUE}, **options)
    assert bank2["red->blue"].equal(bank["red->blue"])
    assert coupling2.meta["created"] == coupling.meta["created"]


@pytest.mark.unit
def test_toy_tier_and_missing_captions_are_refused():
    from l2vkit.pairs import ContrastPair
    from l2vkit.workflow import prepare_real_models

    with pytest.raises(ValueError, match="toy tier ships"):
        prepare_real_models("toy", [], [], {})
    pair = ContrastPair(source="red", target="blue", slot="colour", family="attribute")
    with pytest.raises(ValueError, match=r"no π⁻ captions for pair\(s\) \['red->blue'\]"):
        prepare_real_models("colab-t4", ["a red circle"], [pair], {})
