"""The VideoVLM contract beyond the per-family checks: bad input, word policies, extraction cache."""
import numpy as np
import pytest
import torch

from l2vkit.testing import tiny_qwen2_vl, tiny_video
from l2vkit.vlm import VideoVLM
from l2vkit.vlm.extract import extract, video_hash
from l2vkit.vlm.preprocess import as_video_tensor, qwen_patchify, sample_frame_indices, smart_resize

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def vlm():
    return tiny_qwen2_vl(0)


def test_bad_videos_are_named(vlm):
    with pytest.raises(ValueError, match="empty"):
        vlm.visual_tokens(np.zeros((0, 16, 16, 3), np.uint8))
    with pytest.raises(ValueError, match="channels first"):
        vlm.visual_tokens(np.zeros((4, 3, 16, 16), np.float32))
    with pytest.raises(ValueError, match=r"expected floats in \[0, 1\]"):
        vlm.visual_tokens(np.full((4, 16, 16, 3), 255.0, np.float32))
    with pytest.raises(TypeError, match="dtype int64"):
        vlm.visual_tokens(np.zeros((4, 16, 16, 3), np.int64))
    with pytest.raises(ValueError, match="NaN"):
        vlm.visual_tokens(torch.full((4, 16, 16, 3), float("nan")))


def test_bad_tokens_prompts_and_words(vlm):
    z = vlm.visual_tokens(tiny_video())
    with pytest.raises(ValueError, match="width 63.*reads width 64"):
        vlm.token_probs(z[..., :63], "a small", ["red"])
    with pytest.raises(ValueError, match="NaN"):
        vlm.token_probs(z * float("nan"), "a small", ["red"])
    with pytest.raises(TypeError, match="torch tensor"):
        vlm.token_probs(z.numpy(), "a small", ["red"])
    with pytest.raises(ValueError, match="prompt too long"):
        vlm.token_probs(z, " ".join(["red"] * 600), ["red"])
    with pytest.raises(ValueError, match="'crimson' is not in .* vocabulary"):
        vlm.token_probs(z, "a small", ["crimson"])
    with pytest.raises(ValueError, match="one word"):
        vlm.word_ids("dark red")
    with pytest.raises(ValueError, match="visual tokens do not fill the grid"):
        vlm.token_probs(z[:, :5], "a small", ["red"])


def test_word_policies_on_a_split_word():
    vlm = tiny_qwen2_vl(0)
    # "redblue" is not a token of the word-level vocabulary: every policy must refuse it.
    for policy in ("first", "product", "single"):
        with pytest.raises(ValueError):
            vlm.word_ids("redblue", policy)
    with pytest.raises(ValueError, match="word_policy"):
        VideoVLM(vlm.model, vlm.tokenizer, vlm.preprocess, model_id="x", word_policy="mean")


def test_product_policy_multiplies_the_chain(monkeypatch):
    vlm = tiny_qwen2_vl(0)
    z = vlm.visual_tokens(tiny_video())
    ids = [vlm.tokenizer.convert_tokens_to_ids(w) for w in ("red", "circle")]
    single = vlm._encode_word
    monkeypatch.setattr(vlm, "_encode_word", lambda word: ids if word == "redcircle" else single(word))
    first = vlm.token_probs(z, "a small", ["redcircle"]).candidates[0, 0]
    vlm.word_policy = "product"
    product = vlm.token_probs(z, "a small", ["redcircle"]).candidates[0, 0]
    p_red = vlm.token_probs(z, "a small", ["red"]).candidates[0, 0]
    p_circle_after_red = vlm.token_probs(z, "a small red", ["circle"]).candidates[0, 0]
    assert torch.isclose(first, p_red)
    assert torch.isclose(product, p_red * p_circle_after_red, rtol=1e-4)
    vlm.word_policy = "single"
    with pytest.raises(ValueError, match="splits into 2 tokens"):
        vlm.word_ids("redcircle")


def test_preprocessing_helpers():
    assert sample_frame_indices(9, 4) == [0, 3, 5, 8]
    assert sample_frame_indices(3, 8) == [0, 1, 2]
    assert smart_resize(32, 32, 8, 32 * 32, 32 * 32) == (32, 32)
    assert smart_resize(100, 50, 28, 56 * 56, 28 * 28 * 4) == (56, 28)
    frames = torch.arange(3 * 3 * 8 * 8, dtype=torch.float32).reshape(3, 3, 8, 8)
    patches, grid = qwen_patchify(frames, patch_size=4, temporal_patch_size=2, merge_size=2)
    assert grid == (2, 2, 2) and patches.shape == (8, 3 * 2 * 4 * 4)
    # The last frame is repeated to fill the temporal patch, as the official processor does.
    assert torch.equal(patches[4:].reshape(4, 3, 2, 16)[:, :, 0], patches[4:].reshape(4, 3, 2, 16)[:, :, 1])
    assert as_video_tensor(np.zeros((2, 16, 16, 3), np.uint8)).shape == (1, 2, 16, 16, 3)


def test_extraction_cache_reads_back_what_it_wrote(tmp_path, vlm):
    videos = [tiny_video(seed) for seed in range(5)]
    first = extract(vlm, videos, cache_dir=tmp_path, batch_size=2, prompt="a small", candidates=["red", "blue"],
                    progress=False)
    assert (first.cached, first.computed) == (0, 5)
    second = extract(vlm, videos + [tiny_video(9)], cache_dir=tmp_path, batch_size=2, prompt="a small",
                     candidates=["red", "blue"], progress=False)
    assert (second.cached, second.computed) == (5, 1)
    assert torch.equal(first.visual_tokens, second.visual_tokens[:5])
    assert torch.allclose(first.candidate_probs, second.candidate_probs[:5])
    direct = vlm.visual_tokens(videos[3])[0]
    assert torch.allclose(second.visual_tokens[3], direct, atol=1e-6)
    # A different prompt is a different cache space.
    other = extract(vlm, videos, cache_dir=tmp_path, prompt="a large", candidates=["red", "blue"], progress=False)
    assert other.computed == 5


def test_extraction_shards_split_the_work(tmp_path, vlm):
    videos = [tiny_video(seed) for seed in range(5)]
    parts = [extract(vlm, videos, cache_dir=tmp_path, shard=(r, 2), progress=False) for r in range(2)]
    assert [p.computed for p in parts] == [3, 2]
    merged = extract(vlm, videos, cache_dir=tmp_path, progress=False)
    assert (merged.cached, merged.computed) == (5, 0)
    assert video_hash(videos[0]) != video_hash(videos[1])
