"""Shared contract of every VideoVLM family adapter, run on the tiny random-weight models of ``TINY_VLMS``.

A new family gets these tests by registering a tiny builder with ``@tiny("<model_type>")`` in ``l2vkit/testing.py``.
"""
import pytest
import torch

from l2vkit.testing import TINY_VLMS, save_tiny, tiny_video
from l2vkit.vlm import VideoVLM

pytestmark = pytest.mark.unit

NAMES = sorted(TINY_VLMS)
PROMPT, WORDS = "a small", ["red", "blue"]

_BUILT = {}


@pytest.fixture(params=NAMES)
def name(request):
    return request.param


@pytest.fixture
def vlm(name):
    """One build per family for the read-only tests (building is the slow part)."""
    if name not in _BUILT:
        _BUILT[name] = TINY_VLMS[name](seed=0)
    return _BUILT[name]


def _float_video(requires_grad=False):
    video = torch.tensor(tiny_video(), dtype=torch.float32) / 255.0
    return video.requires_grad_(requires_grad)


def test_every_tiny_model_has_a_registered_adapter(vlm, name):
    from l2vkit.vlm.base import ADAPTERS
    from l2vkit.vlm import families  # noqa: F401

    assert vlm.model.config.model_type == name
    assert type(vlm) is ADAPTERS[name]


def test_visual_tokens_shape_and_finite(vlm):
    z = vlm.visual_tokens(tiny_video())
    assert z.ndim == 3 and z.shape[0] == 1 and z.shape[1] > 0
    assert z.shape[2] == vlm.hidden_size
    assert torch.isfinite(z).all()


def test_gradient_reaches_pixels(vlm):
    video = _float_video(requires_grad=True)
    z = vlm.visual_tokens(video)
    z.sum().backward()
    assert video.grad is not None
    assert torch.isfinite(video.grad).all()
    assert video.grad.abs().sum() > 0


def test_token_probs_are_probabilities_and_read_the_visual_tokens(vlm):
    with torch.no_grad():
        z = vlm.visual_tokens(tiny_video())
        probs = vlm.token_probs(z, PROMPT, WORDS)
        cand = probs.candidates
        assert cand.shape == (1, 2) and torch.isfinite(cand).all()
        assert ((cand >= 0) & (cand <= 1)).all()
        assert torch.allclose(probs.renormalised.sum(-1), torch.ones(1), atol=1e-6)
        assert torch.allclose(probs.vocab.sum(-1), torch.ones(1), atol=1e-4)
        assert set(probs.as_dict()) == set(WORDS)
        noisy = vlm.token_probs(z + torch.randn(z.shape, generator=torch.Generator().manual_seed(1)), PROMPT, WORDS)
        zeros = vlm.token_probs(torch.zeros_like(z), PROMPT, WORDS)
    assert not torch.allclose(noisy.candidates, cand, atol=1e-7)
    assert not torch.allclose(zeros.candidates, cand, atol=1e-7)


def test_a_batch_equals_its_videos_one_at_a_time(vlm):
    videos = [tiny_video(0), tiny_video(1)]
    with torch.no_grad():
        batch = vlm.visual_tokens(torch.stack([torch.from_numpy(v) for v in videos]))
        singles = [vlm.visual_tokens(v) for v in videos]
        assert batch.shape == (2, *singles[0].shape[1:])
        for i, single in enumerate(singles):
            assert torch.allclose(batch[i], single[0], atol=1e-5)
        probs = vlm.token_probs(batch, PROMPT, WORDS).candidates
        for i, single in enumerate(singles):
            assert torch.allclose(probs[i], vlm.token_probs(single, PROMPT, WORDS).candidates[0], atol=1e-5)
    captions = vlm.caption(videos, max_new_tokens=3)
    assert isinstance(captions, list) and len(captions) == 2


def test_token_layout_places_external_tokens_like_the_pixel_path(vlm):
    """Without pixels, ``_token_layout`` must rebuild the sequence the preprocessed video gives."""
    video = tiny_video()
    inputs = vlm.pixel_inputs(video)
    with torch.no_grad():
        z = vlm._encode(inputs)
        assert vlm._sequence(PROMPT, vlm._token_layout(z)) == vlm._sequence(PROMPT, inputs)
        external = vlm.token_probs(z, PROMPT, WORDS)
        with_inputs = vlm.token_probs(z, PROMPT, WORDS, inputs=inputs)
    assert torch.allclose(external.candidates, with_inputs.candidates, atol=1e-6)


def test_token_count_that_fits_no_layout_raises(vlm):
    z = vlm.visual_tokens(tiny_video()).detach()
    with pytest.raises(ValueError, match="tokens"):
        vlm.token_probs(z[:, :-1], PROMPT, WORDS)


def _native_kwargs(vlm, inputs, input_ids):
    """The model's own pixel inputs, to run the official forward without ``mm_encoder_outputs``."""
    family = vlm.family
    if family == "qwen":
        return dict(pixel_values_videos=inputs["pixel_values_videos"], video_grid_thw=inputs["video_grid_thw"],
                    mm_token_type_ids=(input_ids == vlm.model.config.video_token_id).int() * 2)
    if family == "llava_onevision":
        return dict(pixel_values_videos=inputs["pixel_values_videos"])
    if family == "smolvlm":
        return dict(pixel_values=inputs["pixel_values"])
    if family == "internvl":
        return dict(pixel_values=inputs["pixel_values_videos"].flatten(0, 1))
    pytest.skip(f"no native-forward recipe for family {family!r}")


def test_visual_tokens_are_what_the_model_feeds_its_language_model(vlm):
    """Logits from z via ``mm_encoder_outputs`` equal the model's own forward from pixels."""
    inputs = vlm.pixel_inputs(tiny_video())
    input_ids = torch.tensor([vlm._sequence(PROMPT, inputs)])
    with torch.no_grad():
        ours = vlm._forward(vlm._encode(inputs), input_ids, inputs)
        native = vlm.model(input_ids=input_ids, use_cache=False, **_native_kwargs(vlm, inputs, input_ids)).logits
    assert torch.allclose(ours, native, atol=1e-5)


def test_same_seed_builds_identical_models(name):
    a, b = TINY_VLMS[name](seed=0), TINY_VLMS[name](seed=0)
    with torch.no_grad():
        za, zb = a.visual_tokens(tiny_video()), b.visual_tokens(tiny_video())
        pa, pb = a.token_probs(za, PROMPT, WORDS), b.token_probs(zb, PROMPT, WORDS)
    assert torch.equal(za, zb)
    assert torch.equal(pa.candidates, pb.candidates)


def test_word_ids(vlm):
    assert len(vlm.word_ids("red")) == 1
    with pytest.raises(ValueError, match="vocabulary"):
        vlm.word_ids("zzz")


def test_visual_tokens_of_the_wrong_width_raise(vlm):
    z = torch.zeros(1, 4, vlm.hidden_size + 1)
    with pytest.raises(ValueError, match="width"):
        vlm.token_probs(z, PROMPT, WORDS)


def test_caption_is_a_string(vlm):
    text = vlm.caption(tiny_video(), max_new_tokens=4)
    assert isinstance(text, str)


def test_save_and_load_round_trip(vlm, tmp_path):
    folder = save_tiny(vlm, tmp_path / "model")
    loaded = VideoVLM.from_pretrained(str(folder))
    assert type(loaded) is type(vlm)
    with torch.no_grad():
        z = vlm.visual_tokens(tiny_video())
        assert torch.allclose(loaded.visual_tokens(tiny_video()), z, atol=1e-6)
        before, after = vlm.token_probs(z, PROMPT, WORDS), loaded.token_probs(z, PROMPT, WORDS)
    assert torch.allclose(before.candidates, after.candidates, atol=1e-6)


# ------------------------------------------------------------------------------------- preprocessing fidelity
def test_frame_sampling_helpers_match_transformers():
    import numpy as np
    from types import SimpleNamespace

    from transformers.video_processing_utils import BaseVideoProcessor
    from transformers.video_utils import VideoMetadata

    from l2vkit.vlm.preprocess import shifted_frame_indices, smolvlm_frame_indices, uniform_frame_indices

    processor = SimpleNamespace(num_frames=None, fps=None)  # the processor's own sampling (not the file loader's)
    for total, count in [(10, 4), (7, 3), (100, 8), (5, 5)]:
        meta = VideoMetadata(total_num_frames=total, fps=24, duration=total / 24)
        theirs = BaseVideoProcessor.sample_frames(processor, meta, num_frames=count)
        assert uniform_frame_indices(total, count) == theirs.tolist()
    # SmolVLMVideoProcessor.sample_frames, read from processing code: at most `count` frames at `fps`, evenly spread,
    # skipping one second at both ends of long videos.
    assert smolvlm_frame_indices(30, 64, fps=1, source_fps=24) == [0]
    assert smolvlm_frame_indices(240, 8, fps=1, source_fps=24) == np.linspace(0, 239, 8, dtype=int).tolist()
    assert smolvlm_frame_indices(1000, 8, fps=1, source_fps=10) == np.linspace(10, 990, 8, dtype=int).tolist()
    # InternVLVideoProcessor.sample_frames: every total/count frames from half a step in.
    assert shifted_frame_indices(10, 4) == [1, 3, 6, 8]
    assert shifted_frame_indices(32, 8, initial_shift=False) == [0, 4, 8, 12, 16, 20, 24, 28]
    with pytest.raises(ValueError, match="3 frames but 8 were asked"):  # the official processor refuses too
        shifted_frame_indices(3, 8)
    with pytest.raises(ValueError, match="3 frames but 4 were asked"):
        uniform_frame_indices(3, 4)
    with pytest.raises(ValueError, match="frame rate"):
        uniform_frame_indices(30, None, fps=1)
    assert uniform_frame_indices(48, None, fps=1, video_fps=24) == [0, 24]
    assert shifted_frame_indices(48, None, fps=1, video_fps=24) == [12, 36]


def test_smolvlm_sampling_matches_its_processor_where_importable():
    from transformers.video_utils import VideoMetadata

    try:
        from transformers.models.smolvlm.video_processing_smolvlm import SmolVLMVideoProcessor
    except ImportError:  # pragma: no cover - depends on the transformers build
        pytest.skip("SmolVLMVideoProcessor not importable")
    from l2vkit.vlm.preprocess import smolvlm_frame_indices

    class Defaults:
        num_frames = fps = None

    for total, source_fps, count, fps in [(240, 24, 8, 1), (30, 24, 64, 1), (1000, 30, 64, 1), (100, 10, 5, 2)]:
        meta = VideoMetadata(total_num_frames=total, fps=source_fps, duration=total / source_fps)
        official = SmolVLMVideoProcessor.sample_frames(Defaults(), meta, num_frames=count, fps=fps).tolist()
        assert smolvlm_frame_indices(total, count, fps, source_fps) == official


def test_smolvlm_video_text_matches_its_processor_strings():
    """Intro, per-frame timestamps and outro as processing_smolvlm writes them for 4 frames without metadata."""
    vlm = TINY_VLMS["smolvlm"](seed=0)
    text = vlm._layout({"frames": 4, "frame_indices": [0, 1, 2, 3]})
    image = "<fake_token_around_image><global-img>" + "<image>" * vlm.image_seq_len + "<fake_token_around_image>"
    expected = ("<|im_start|>User: You are provided the following series of four frames from a 0:00:00 [H:MM:SS] "
                "video.\n" + "".join("\nFrame from 00:00:" + image for _ in range(4)) + "\n\n"
                + "Describe the video.<end_of_utterance>\nAssistant:")
    assert text == expected
    vlm.preprocess["source_fps"] = 0.5  # one frame every two seconds: the timestamps and duration advance
    text = vlm._layout({"frames": 4, "frame_indices": [0, 1, 2, 3], "total_frames": 4})
    assert "from a 0:00:08 [H:MM:SS]" in text and "\nFrame from 00:06:" in text


# The official video processors need torchvision (absent beside the CPU torch wheel here): these run where it is.
_OFFICIAL = {
    "llava_onevision": ("LlavaOnevisionVideoProcessor", "pixel_values_videos", "pixel_values_videos"),
    "smolvlm": ("SmolVLMVideoProcessor", "pixel_values", "pixel_values"),
    "internvl": ("InternVLVideoProcessor", "pixel_values_videos", "pixel_values_videos"),
    "qwen2_vl": ("Qwen2VLVideoProcessor", "pixel_values_videos", "pixel_values_videos"),
}


@pytest.mark.parametrize("family", sorted(_OFFICIAL))
@pytest.mark.parametrize("size", [16, 64])
def test_preprocessing_matches_official_video_processor(family, size):
    pytest.importorskip("torchvision", reason="official video processors need torchvision")
    import copy

    import transformers

    from l2vkit import toyworld as tw

    class_name, official_key, our_key = _OFFICIAL[family]
    vlm = TINY_VLMS[family](seed=0)
    settings = copy.deepcopy(vlm.preprocess)
    settings["resample"] = 3  # bicubic in both (SmolVLM's LANCZOS has no torch counterpart)
    vlm.preprocess = copy.deepcopy(settings)
    video = tw.render(tw.random_attributes(0), seed=0, frames=4, size=size)
    official = getattr(transformers, class_name)(**settings)(videos=[video], return_tensors="pt")[official_key]
    ours = vlm.pixel_inputs(video)[our_key]
    assert tuple(ours.shape) == tuple(official.shape)
    tolerance = 1e-4 if size == 16 else 0.05  # resampling kernels and uint8 rounding differ slightly when resizing
    assert torch.allclose(ours.float(), official.float(), atol=tolerance)


@pytest.mark.parametrize("name", ["llava_onevision", "internvl"])
def test_a_processor_chat_template_selects_the_chat_layout(name, tmp_path):
    """Repos that keep the chat template with the processor (chat_template.json) still get the chat layout; a
    checkpoint without any template gets the bare one."""
    import json

    vlm = TINY_VLMS[name](seed=0)
    folder = save_tiny(vlm, tmp_path / "model")
    (folder / "chat_template.jinja").unlink()
    bare = VideoVLM.from_pretrained(str(folder))
    assert not bare.tokenizer.chat_template
    (folder / "chat_template.json").write_text(json.dumps({"chat_template": "{{ messages }}"}))
    chat = VideoVLM.from_pretrained(str(folder))
    inputs = vlm.pixel_inputs(tiny_video())
    assert chat._sequence(PROMPT, inputs) == vlm._sequence(PROMPT, inputs)
    assert len(bare._sequence(PROMPT, inputs)) < len(chat._sequence(PROMPT, inputs))
