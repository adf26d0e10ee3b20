"""A coupling records the VLM's token layout of the clips it was fitted on, so its output can be read by a VLM whose
preprocessing settings, like the published Qwen checkpoints', do not fix a grid (no ``num_frames``)."""
import numpy as np
import pytest
import torch


@pytest.mark.integration
def test_a_hub_style_qwen_reads_the_couplings_output_without_inputs(tmp_path):
    from l2vkit.coupling import CouplingResult, build_coupling_data, fit_coupling
    from l2vkit.testing import tiny_qwen2_vl
    from l2vkit.testing_generators import tiny_generator

    vlm = tiny_qwen2_vl()
    del vlm.preprocess["num_frames"]  # as a hub folder without video_preprocessor_config.json has it
    generator = tiny_generator("wan")
    videos = np.random.default_rng(0).integers(0, 256, (2, 9, 16, 16, 3), dtype=np.uint8)
    data = build_coupling_data(vlm, generator, videos, ["a red circle", "a blue square"], progress=False)
    assert data.meta["token_layout"] == {"video_grid_thw": [5, 4, 4], "token_grid": [5, 2, 2]}  # 9 frames → 5 temporal patches, 16 px → 4
    coupling = fit_coupling(vlm, generator, data, steps={"global": 2, "local": 0, "rho": 0}, progress=False,
                            width=32, mixer_depth=1, local_depth=1, projections=8)
    z, pi = data.latents[:2], data.embeds[data.video_index[:2]]
    fresh = tiny_qwen2_vl()  # has encoded no clips yet, so knows no layout for 20 tokens
    del fresh.preprocess["num_frames"]
    with pytest.raises(ValueError, match="cannot place 20 external tokens"):
        fresh.token_probs(coupling.read(z, pi), "a", ["red", "blue"])  # the failure the issue reports
    read = coupling.token_probs(vlm, z, pi, "a", ["red", "blue"])
    assert read.candidates.shape == (2, 2) and torch.isfinite(read.vocab).all()
    # the VLM that encoded the clips remembers their layout, so the README's plain call works too
    assert torch.allclose(vlm.token_probs(coupling.read(z, pi), "a", ["red", "blue"]).candidates, read.candidates)
    coupling.save_pretrained(tmp_path / "phi")
    again = CouplingResult.from_pretrained(tmp_path / "phi", vlm=vlm, generator=generator)
    assert torch.allclose(again.token_probs(vlm, z, pi, "a", ["red", "blue"]).candidates, read.candidates)
    with pytest.raises(ValueError, match=r"20 visual tokens, but the recorded clips had the grid \(5, 8, 8\)"):
        vlm.layout_inputs({"video_grid_thw": [5, 8, 8]}, coupling.read(z, pi))


@pytest.mark.unit
def test_a_token_count_seen_with_two_layouts_is_not_guessed():
    """A landscape and a portrait clip give as many tokens on transposed grids: after both, tokens of that count are
    not read with either remembered layout (the settings' one is used, or inputs= asked for)."""
    from l2vkit.testing import tiny_qwen2_vl

    vlm = tiny_qwen2_vl()
    del vlm.preprocess["num_frames"]  # as a hub folder without video_preprocessor_config.json has it
    wide = vlm.visual_tokens(np.zeros((4, 16, 32, 3), np.uint8))
    assert vlm.token_probs(wide, "a", ["red", "blue"]).candidates.shape == (1, 2)  # remembered: (2, 4, 8)
    tall = vlm.visual_tokens(np.zeros((4, 32, 16, 3), np.uint8))
    assert tall.shape == wide.shape
    with pytest.raises(ValueError, match="cannot place"):
        vlm.token_probs(tall, "a", ["red", "blue"])


@pytest.mark.unit
def test_qwen2_5_reads_through_a_record_keep_the_clips_timing():
    """A coupling's recorded layout carries Qwen2.5-VL's seconds per temporal patch back into reads of Φ's output,
    so they are placed in time as the clips' pixels were (without them the model takes 1 s per patch)."""
    from l2vkit.testing import TINY_VLMS

    vlm = TINY_VLMS["qwen2_5_vl"](seed=0)
    vlm.video_fps = 16
    video = np.zeros((8, 16, 16, 3), np.uint8)
    inputs = vlm.pixel_inputs(video)
    record = vlm.layout_record(video)
    z = vlm.encode_inputs(inputs).detach()
    read = vlm.layout_inputs(record, z)
    assert torch.allclose(read["second_per_grid_ts"].float(), inputs["second_per_grid_ts"].float())
    assert torch.allclose(vlm.token_probs(z, "a", ["red", "blue"], inputs=read).candidates,
                          vlm.token_probs(z, "a", ["red", "blue"], inputs=inputs).candidates, atol=1e-6)
