"""The paper-tier metric backends, offline: tiny random-weight VideoMAE and CLIP models of the published classes,
a LAION-layout aesthetic head saved as the published weights are, and the labels that keep stand-ins apart."""
import numpy as np
import pytest
import torch

from l2vkit.metrics import frechet_video_distance
from l2vkit.metrics.backends import (LABELS, aesthetic_head, aesthetic_scorer, clip_encoders, clip_score,
                                     videomae_features)


def videos(seed, count=3):
    return np.random.default_rng(seed).integers(0, 256, (count, 6, 40, 48, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def tiny_clip():
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    from l2vkit.testing import tiny_tokenizer

    tokenizer = tiny_tokenizer([], chat=False)
    ids = tokenizer.convert_tokens_to_ids
    config = CLIPConfig(
        text_config=dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, max_position_embeddings=32, eos_token_id=ids("<eos>"),
                         bos_token_id=ids("<bos>"), pad_token_id=ids("<pad>")),
        vision_config=dict(image_size=32, patch_size=16, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                           num_attention_heads=2),
        projection_dim=16)
    torch.manual_seed(0)
    processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    return clip_encoders(CLIPModel(config), processor=processor, tokenizer=tokenizer, frames=4)


@pytest.mark.integration
def test_fvd_on_videomae_features_of_a_tiny_videomae():
    from transformers import VideoMAEConfig, VideoMAEModel

    torch.manual_seed(0)
    model = VideoMAEModel(VideoMAEConfig(image_size=32, patch_size=16, num_frames=4, tubelet_size=2, hidden_size=32,
                                         num_hidden_layers=1, num_attention_heads=2, intermediate_size=64))
    extract = videomae_features(model)
    features = extract(videos(0))
    assert features.shape == (3, 32) and np.isfinite(features).all()
    assert extract.label == "FVD (VideoMAE features)" == LABELS["paper"]["fvd"]
    from l2vkit.metrics import MetricWarning

    with pytest.warns(MetricWarning, match="samples ≤ dims"):  # 4 videos of 32 dims: said, not hidden
        same = frechet_video_distance(videos(0, 4), videos(0, 4), extract)
        other = frechet_video_distance(videos(0, 4), videos(1, 4) // 4, extract)
    assert abs(same) < 1e-6 < other


@pytest.mark.integration
def test_clip_score_and_alignment_of_a_tiny_clip(tiny_clip):
    text_encoder, video_encoder = tiny_clip
    texts = ["a red circle", "a blue square", "a red square"]
    t, v = text_encoder(texts), video_encoder(videos(2))
    assert t.shape == (3, 16) and v.shape == (3, 16)
    assert np.allclose(np.linalg.norm(t, axis=1), 1, atol=1e-5) and np.allclose(np.linalg.norm(v, axis=1), 1,
                                                                                  atol=1e-5)
    scores = clip_score(texts, videos(2), tiny_clip)
    assert scores.shape == (3,) and ((0 <= scores) & (scores <= 100)).all()
    with pytest.raises(ValueError, match="2 captions for 3 videos"):
        clip_score(texts[:2], videos(2), tiny_clip)


@pytest.mark.integration
def test_aesthetic_scorer_reads_laion_layout_weights_and_refuses_code(tiny_clip, tmp_path):
    head = aesthetic_head(16)
    torch.save(head.state_dict(), tmp_path / "head.pth")  # as LAION publishes it: a state dict in a .pth
    score = aesthetic_scorer(tmp_path / "head.pth", tiny_clip)
    values = score(videos(3))
    assert values.shape == (3,) and np.isfinite(values).all()
    assert np.allclose(values, aesthetic_scorer(head, tiny_clip)(videos(3)), atol=1e-6)

    class Payload:
        def __reduce__(self):
            return (print, ("this ran",))

    torch.save({"layers.0.weight": Payload()}, tmp_path / "evil.pth")
    with pytest.raises(ValueError, match="not a plain tensor file"):
        aesthetic_scorer(tmp_path / "evil.pth", tiny_clip)


@pytest.mark.unit
def test_every_stand_in_is_labelled_as_one():
    assert all("toy" in label or "pyramid" in label for label in LABELS["toy"].values())
    assert set(LABELS["toy"]) <= set(LABELS["paper"])


def test_lpips_distance_pairs_videos_frame_by_frame():
    """LPIPS through the lpips package, with a random AlexNet (``pnet_rand``) and the package's own linear heads, so
    nothing is downloaded. Skips where lpips (which needs torchvision) is not installed, as on this project's CPUs."""
    try:  # lpips imports torchvision, which may be installed yet not load (a CUDA build beside a CPU torch)
        import lpips
    except Exception as err:  # noqa: BLE001
        pytest.skip(f"LPIPS needs the lpips package and torchvision ({type(err).__name__})")
    from l2vkit.metrics.backends import lpips_distance

    torch.manual_seed(0)
    model = lpips.LPIPS(net="alex", pnet_rand=True, verbose=False)
    distance = lpips_distance(model=model, device="cpu", batch_size=3)
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (2, 4, 64, 64, 3), dtype=np.uint8)
    b = a.copy()
    b[1] = 255 - b[1]  # the second pair differs everywhere
    d = distance(a, b)
    assert d.shape == (2,) and d[0] == pytest.approx(0, abs=1e-6) and d[1] > 0.01
    frames = [torch.from_numpy(x[1]).permute(0, 3, 1, 2).float() / 127.5 - 1 for x in (a, b)]
    with torch.no_grad():
        assert d[1] == pytest.approx(model(*frames).mean().item(), rel=1e-5)  # the package's own call
    with pytest.raises(ValueError, match="paired videos"):
        distance(a, b[:, :2])
    with pytest.raises(ValueError, match="uint8"):
        distance(a / 255.0, b / 255.0)
    assert distance(a[:, :, ::-1], b[:, :, ::-1]).shape == (2,)  # negative strides are fine
