"""The shipped toy VLM: loads through the public API, describes toy videos, and its training resumes exactly."""
from pathlib import Path

import pytest
import torch

from l2vkit import toyworld as tw
from l2vkit.paths import data_path

SHIPPED = Path(data_path("contrast_pairs.yaml")).parent / "toy_vlm"
needs_checkpoint = pytest.mark.skipif(not (SHIPPED / "model.safetensors").exists(),
                                      reason="toy VLM checkpoint not built yet")


@pytest.fixture(scope="module")
def vlm():
    return tw.load_vlm()


@needs_checkpoint
@pytest.mark.unit
def test_checkpoint_is_small_and_records_provenance():
    size_mb = sum(p.stat().st_size for p in SHIPPED.iterdir()) / 2**20
    assert size_mb <= 15, f"toy VLM folder is {size_mb:.1f} MB"
    info = (SHIPPED / "training_info.json").read_text()
    assert '"seed"' in info and '"l2vkit"' in info and "Qwen2VLForConditionalGeneration" in info


@needs_checkpoint
@pytest.mark.unit
def test_public_api_captions_a_toy_video(vlm):
    attrs = tw.Attributes("red", "circle", "large", "quickly", "right", "desert")
    text = vlm.caption(tw.render(attrs, seed=5))
    assert isinstance(text, str)
    assert tw.parse_caption(text) == attrs


@needs_checkpoint
@pytest.mark.unit
def test_external_tokens_drive_the_logits(vlm):
    red = tw.Attributes("red", "circle", "large", "quickly", "right", "desert")
    z_red = vlm.visual_tokens(tw.render(red, seed=1))
    z_blue = vlm.visual_tokens(tw.render(red.replace(colour="blue"), seed=1))
    p_red = vlm.token_probs(z_red, "a large", ["red", "blue"]).renormalised[0]
    p_blue = vlm.token_probs(z_blue, "a large", ["red", "blue"]).renormalised[0]
    assert p_red[0] > 0.9 and p_blue[1] > 0.9


@needs_checkpoint
@pytest.mark.integration
def test_held_out_accuracy(vlm):
    from l2vkit.toyworld.evaluate_vlm import free_running, teacher_forced_accuracy
    from l2vkit.toyworld.vlm_data import held_out

    attrs, videos = held_out(500)
    accuracy = teacher_forced_accuracy(vlm, attrs, videos)
    assert min(accuracy.values()) >= 0.95, accuracy
    exact, _ = free_running(vlm, attrs, videos)
    assert exact >= 0.85, exact


@pytest.mark.integration
def test_training_resumes_where_it_stopped(tmp_path):
    from l2vkit.toyworld.train_vlm import train

    straight, _ = train(tmp_path / "straight", steps=4, batch=4, seed=3, progress=False, eval_every=10**9)
    train(tmp_path / "resumed", steps=4, batch=4, seed=3, progress=False, minutes=0, eval_every=10**9)
    assert (tmp_path / "resumed.train_state" / "state.pt").exists()
    resumed, info = train(tmp_path / "resumed", steps=4, batch=4, seed=3, progress=False, eval_every=10**9)
    assert info["steps_done"] == 4
    for (name, a), b in zip(straight.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), name
