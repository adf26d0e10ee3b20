"""Metrics against independent computations: scipy's sqrtm, closed forms, hand-checked vectors, and the maintained
caption scorers (NLTK, pycocoevalcap) on fixed strings."""
import json
import math
import shutil
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

from l2vkit import metrics as M
from l2vkit.metrics import MetricWarning
from l2vkit.toyworld import Attributes
from l2vkit.toyworld.alignment import fit_toy_alignment_map
from l2vkit.toyworld.ground_truth import ground_truth_scores

unit = pytest.mark.unit
integration = pytest.mark.integration


def random_spd(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


# ------------------------------------------------------------------------------------------------ Fréchet / FVD
@unit
def test_frechet_matches_scipy_sqrtm_reference():
    from scipy.linalg import sqrtm

    rng = np.random.default_rng(0)
    for d in (2, 16, 64):
        mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
        s1, s2 = random_spd(rng, d), random_spd(rng, d)
        covmean = sqrtm(s1 @ s2)
        assert np.abs(np.imag(covmean)).max() < 1e-6  # the reference's own imaginary-part check
        reference = (mu1 - mu2) @ (mu1 - mu2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(np.real(covmean))
        assert M.frechet_distance_from_stats(mu1, s1, mu2, s2) == pytest.approx(reference, rel=1e-9, abs=1e-9)


@unit
def test_frechet_known_distance_between_gaussians():
    # Diagonal covariances: d² = ‖μ1 − μ2‖² + Σ (√a − √b)².
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 9.0])
    mu1, mu2 = np.zeros(3), np.array([1.0, 2.0, 2.0])
    expected = 9.0 + (1 - 2) ** 2 + (2 - 1) ** 2 + 0.0
    assert M.frechet_distance_from_stats(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, abs=1e-12)
    # From samples: the estimate converges to the population distance.
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200_000, 3)) * np.sqrt(a) + mu1
    y = rng.normal(size=(200_000, 3)) * np.sqrt(b) + mu2
    assert M.frechet_distance(x, y) == pytest.approx(expected, rel=0.01)


@unit
def test_frechet_identical_inputs_are_zero_and_shift_adds_its_square():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(500, 8))
    assert M.frechet_distance(x, x) == 0.0
    assert M.frechet_distance(x, x.copy()) == 0.0
    mu, sigma = M.gaussian_stats(x)
    assert M.frechet_distance_from_stats(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-9)
    shift = rng.normal(size=8)
    assert M.frechet_distance(x, x + shift) == pytest.approx(shift @ shift, rel=1e-9)
    assert M.frechet_distance(x, x * 2.0) > 0


@unit
def test_frechet_accepts_torch_and_agrees_with_numpy():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(100, 4)), rng.normal(size=(80, 4)) + 1
    assert M.frechet_distance(torch.tensor(x, requires_grad=True), torch.tensor(y)) == pytest.approx(
        M.frechet_distance(x, y), rel=1e-5)


@unit
def test_frechet_few_samples_warns_and_regularises():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(20, 64)), rng.normal(size=(20, 64)) + 0.5
    with pytest.warns(MetricWarning, match="samples ≤ dims"):
        value = M.frechet_distance(x, y, eps=1e-3)
    assert math.isfinite(value) and value > 0
    mu1, s1 = M.gaussian_stats(x)
    mu2, s2 = M.gaussian_stats(y)
    ridge = 1e-3 * max(np.trace(s1), np.trace(s2)) / 64
    expected = M.frechet_distance_from_stats(mu1, s1 + ridge * np.eye(64), mu2, s2 + ridge * np.eye(64))
    assert value == pytest.approx(expected, rel=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # enough samples: no warning
        M.frechet_distance(rng.normal(size=(200, 8)), rng.normal(size=(200, 8)))


@unit
def test_frechet_bad_input_errors():
    rng = np.random.default_rng(5)
    with pytest.raises(ValueError, match="has 8 dims but features_b has 6"):
        M.frechet_distance(rng.normal(size=(50, 8)), rng.normal(size=(50, 6)))
    with pytest.raises(ValueError, match="expected \\(samples, dims\\)"):
        M.frechet_distance(rng.normal(size=50), rng.normal(size=50))
    with pytest.raises(ValueError, match="at least 2"):
        M.frechet_distance(rng.normal(size=(1, 3)), rng.normal(size=(5, 3)))
    bad = rng.normal(size=(10, 3))
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        M.frechet_distance(bad, bad)
    with pytest.raises(ValueError, match="not symmetric"):
        M.frechet_distance_from_stats([0, 0], [[1, 2], [0, 1]], [0, 0], np.eye(2))


@unit
def test_fvd_on_1000_by_512_features_under_a_second():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(1000, 512))
    y = rng.normal(size=(1000, 512)) @ (np.eye(512) + 0.01 * rng.normal(size=(512, 512)))
    M.frechet_distance(x[:600, :64], y[:600, :64])  # warm-up (BLAS threads, imports)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        value = M.frechet_distance(x, y)
        times.append(time.perf_counter() - start)
    assert value > 0
    assert min(times) < 1.0, f"FVD on 1000×512 took {min(times):.2f} s"


@unit
def test_frechet_video_distance_uses_the_extractor():
    rng = np.random.default_rng(7)
    a = rng.random((30, 4, 8, 8, 3))
    b = np.clip(a + 0.3, 0, 1)
    calls = []

    def extractor(videos):
        calls.append(len(videos))
        return M.pixel_features(videos, size=1)

    assert M.frechet_video_distance(a, a, extractor) == 0.0
    assert M.frechet_video_distance(a, b, extractor) > 0.01
    assert calls == [30, 30, 30, 30]


# --------------------------------------------------------------------------------------- KL and embedding sims
@unit
def test_kl_divergence_hand_checked():
    assert M.kl_divergence([0.5, 0.5], [0.25, 0.75]) == pytest.approx(0.5 * math.log(2) + 0.5 * math.log(2 / 3))
    assert M.kl_divergence([1, 1], [1, 3]) == pytest.approx(M.kl_divergence([0.5, 0.5], [0.25, 0.75]))  # normalised
    assert M.kl_divergence([0.2, 0.8], [0.2, 0.8]) == 0.0
    assert M.kl_divergence([0.5, 0.5], [1.0, 0.0]) == math.inf
    assert M.kl_divergence([[1, 0], [0.5, 0.5]], [[0.5, 0.5], [0.5, 0.5]]).tolist() == pytest.approx([math.log(2), 0])
    with pytest.raises(ValueError, match="non-negative"):
        M.kl_divergence([-0.1, 1.1], [0.5, 0.5])
    with pytest.raises(ValueError, match="shape"):
        M.kl_divergence([0.5, 0.5], [1 / 3] * 3)


@unit
def test_embedding_similarity_hand_checked():
    g = [[1.0, 2.0, 2.0], [3.0, 2.0, 0.0]]  # mean (2, 2, 1)
    r = [[2.0, 0.0, 1.0]]  # mean (2, 0, 1)
    sims = M.embedding_similarity(g, r)
    assert sims["cosine"] == pytest.approx(5 / (3 * math.sqrt(5)))
    assert sims["l1"] == pytest.approx(2.0)
    assert sims["l2"] == pytest.approx(2.0)
    pg = np.exp([2, 2, 1]) / np.exp([2, 2, 1]).sum()
    pr = np.exp([2, 0, 1]) / np.exp([2, 0, 1]).sum()
    assert sims["kl"] == pytest.approx(float((pr * np.log(pr / pg)).sum()))
    same = M.embedding_similarity(g, g)
    assert same["cosine"] == pytest.approx(1.0) and same["l1"] == same["l2"] == same["kl"] == 0.0
    with pytest.raises(ValueError, match="non-negative"):
        M.embedding_similarity([[-1.0, 1.0]], [[1.0, 1.0]], distribution="normalize")
    with pytest.raises(ValueError, match="has 3 dims but reference has 2"):
        M.embedding_similarity(g, [[1.0, 0.0]])


# ------------------------------------------------------------------------------------ perceptual and temporal
@unit
def test_perceptual_distance_hand_checked_and_monotone():
    def one_layer(frames):  # the raw pixel as a 1×1 "feature map"
        return [frames]

    x = np.zeros((1, 1, 1, 1, 3))
    y = np.zeros((1, 1, 1, 1, 3))
    x[..., 0] = 1.0  # (1, 0, 0) vs (0, 1, 0): unit vectors, squared difference summed = 2
    y[..., 1] = 1.0
    assert M.perceptual_distance(x, y, feature_net=one_layer).tolist() == pytest.approx([2.0])
    assert M.perceptual_distance(x, y, feature_net=one_layer, layer_weights=[[0.5, 0.25, 1.0]]).tolist() == \
        pytest.approx([0.75])
    rng = np.random.default_rng(8)
    a = rng.random((3, 4, 16, 16, 3))
    assert M.perceptual_distance(a, a).tolist() == [0.0, 0.0, 0.0]
    small = M.perceptual_distance(a, np.clip(a + 0.02 * rng.normal(size=a.shape), 0, 1))
    large = M.perceptual_distance(a, np.clip(a + 0.2 * rng.normal(size=a.shape), 0, 1))
    assert np.all(large > small) and np.all(small > 0)
    b = rng.random(a.shape)
    assert M.perceptual_distance(a, b) == pytest.approx(M.perceptual_distance(b, a))
    with pytest.raises(ValueError, match="one shape"):
        M.perceptual_distance(a, a[:, :2])


@unit
def test_temporal_consistency():
    rng = np.random.default_rng(9)
    frame = rng.random((1, 1, 16, 16, 3))
    static = np.repeat(frame, 6, axis=1)
    noise = rng.random((1, 6, 16, 16, 3))
    smooth = np.clip(static + np.linspace(0, 0.05, 6)[None, :, None, None, None], 0, 1)
    scores = M.temporal_consistency(np.concatenate([static, smooth, noise]))
    assert scores[0] == pytest.approx(1.0)
    assert scores[0] >= scores[1] > scores[2]
    assert M.temporal_consistency((static[0] * 255).astype(np.uint8))[0] == pytest.approx(1.0)  # uint8, one video
    with pytest.raises(ValueError, match="at least 2"):
        M.temporal_consistency(static[:, :1])
    odd = np.repeat(rng.random((1, 1, 30, 34, 3)), 3, axis=1)  # sizes that are no multiple of the 8×8 blocks
    assert M.temporal_consistency(odd)[0] == pytest.approx(1.0)


# --------------------------------------------------------------------------------------------------- alignment
@unit
def test_fit_alignment_map_matches_lstsq_on_the_augmented_system():
    rng = np.random.default_rng(10)
    x = rng.normal(size=(60, 7))
    y = x @ rng.normal(size=(7, 4)) + rng.normal(size=(60, 4)) * 0.1 + 3.0
    reg = 0.05
    fitted = M.fit_alignment_map(x, y, reg=reg)
    xc, yc = x - x.mean(0), y - y.mean(0)
    alpha = reg * np.trace(xc.T @ xc) / 7
    augmented_x = np.vstack([xc, np.sqrt(alpha) * np.eye(7)])
    augmented_y = np.vstack([yc, np.zeros((7, 4))])
    coef = np.linalg.lstsq(augmented_x, augmented_y, rcond=None)[0]
    np.testing.assert_allclose(fitted.coef_, coef, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(fitted.intercept_, y.mean(0) - x.mean(0) @ coef, rtol=1e-8)
    np.testing.assert_allclose(fitted(x), x @ coef + fitted.intercept_, rtol=1e-8)
    with pytest.raises(ValueError, match="60 video feature rows but 59"):
        M.fit_alignment_map(x, y[:-1])
    with pytest.raises(ValueError, match="fitted on 7"):
        fitted(x[:, :5])


@unit
def test_alignment_map_save_load_and_model_checks(tmp_path):
    rng = np.random.default_rng(11)
    fitted = M.fit_alignment_map(rng.normal(size=(30, 5)), rng.normal(size=(30, 3)),
                                 meta={"video_model": "toy:toy_vlm", "seed": 3})
    path = fitted.save(tmp_path / "map.safetensors")
    loaded = M.AlignmentMap.load(path)
    np.testing.assert_allclose(loaded.coef_, fitted.coef_, rtol=1e-6)
    np.testing.assert_allclose(loaded.intercept_, fitted.intercept_, rtol=1e-6, atol=1e-7)
    assert loaded.meta["seed"] == 3 and loaded.meta["format_version"] == 1
    with pytest.raises(ValueError, match="fitted on features of toy:toy_vlm, not other/vlm"):
        M.AlignmentMap.load(path, video_model="other/vlm")

    def extractor(videos):
        return np.ones((len(videos), 5))

    extractor.model_id = "other/vlm"
    with pytest.raises(ValueError, match="toy:toy_vlm.*other/vlm"):
        loaded.video_encoder(extractor)
    extractor.model_id = "toy:toy_vlm"
    assert loaded.video_encoder(extractor)(np.zeros((2, 3))).shape == (2, 3)
    (tmp_path / "junk.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="corrupted"):
        M.AlignmentMap.load(tmp_path / "junk.safetensors")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        M.AlignmentMap.load(tmp_path / "missing.safetensors")


@unit
def test_alignment_scores_hand_checked():
    t = np.array([[1.0, 0.0], [0.0, 1.0]])
    v = np.array([[2.0, 0.0], [1.0, 1.0]])
    assert M.alignment_score(t, v) == pytest.approx([1.0, 1 / math.sqrt(2)])
    assert M.directional_delta(v, t[[1, 1]], t[[0, 0]]) == pytest.approx([1.0, 0.0])
    assert M.directional_similarity([[0, 0]], [[0, 3]], [[1, 1]], [[1, 2]]) == pytest.approx([1.0])
    assert M.directional_similarity([[0, 0]], [[0, -3]], [[1, 1]], [[1, 2]]) == pytest.approx([-1.0])
    with pytest.raises(ValueError, match="one space"):
        M.alignment_score(t, np.ones((2, 3)))
    with pytest.raises(ValueError, match="zero vector"):
        M.alignment_score(t, np.zeros((2, 2)))

    def text_encoder(texts):
        return np.array([[1.0, 0.0] if "red" in s else [0.0, 1.0] for s in texts])

    def video_encoder(videos):
        return np.asarray(videos, dtype=float)

    assert M.text_video_alignment(["a red circle", "a blue circle"], v, text_encoder=text_encoder,
                                  video_encoder=video_encoder) == pytest.approx([1.0, 1 / math.sqrt(2)])
    with pytest.raises(ValueError, match=r"captions\[1\] is an empty caption"):
        M.text_video_alignment(["a red circle", "  "], v, text_encoder=text_encoder, video_encoder=video_encoder)


@integration
def test_minilm_text_encoder_matches_sentence_transformers():
    st = pytest.importorskip("sentence_transformers")
    from l2vkit.minilm import minilm_folder

    texts = ["a small red circle moves quickly to the left in the desert", "a large blue square moves slowly up",
             "grass"]
    ours = M.minilm_text_encoder()(texts)
    reference = st.SentenceTransformer(str(minilm_folder()), device="cpu").encode(texts, normalize_embeddings=True)
    assert ours.shape == (3, 384)
    np.testing.assert_allclose(ours, reference, atol=2e-5)
    with pytest.raises(ValueError, match="empty caption"):
        M.minilm_text_encoder()([""])


@pytest.fixture(scope="module")
def toy_vlm():
    from l2vkit import toyworld as tw

    return tw.load_vlm()


@integration
def test_vlm_pooled_features_are_the_extraction_pooling(toy_vlm):
    from l2vkit.toyworld.vlm_data import held_out
    from l2vkit.vlm.extract import extract

    _, videos = held_out(6)
    extractor = M.vlm_pooled_features(toy_vlm)
    features = extractor(videos)
    assert features.shape == (6, toy_vlm.hidden_size)
    np.testing.assert_allclose(features, extract(toy_vlm, videos, progress=False).pooled.numpy(), rtol=1e-6)
    np.testing.assert_allclose(extractor(videos[0])[0], features[0], rtol=1e-5)
    assert extractor.model_id.endswith("toy_vlm")


@integration
def test_toy_alignment_map_ranks_true_captions_and_moves_with_colour_edits(toy_vlm):
    from l2vkit import toyworld as tw
    from l2vkit.toyworld.vlm_data import held_out

    text_encoder = M.minilm_text_encoder()
    fitted = fit_toy_alignment_map(toy_vlm, count=300, text_encoder=text_encoder)
    assert fitted.meta["video_model"].endswith("toy_vlm") and fitted.meta["samples"] == 300
    video_encoder = fitted.video_encoder(M.vlm_pooled_features(toy_vlm))
    attrs, videos = held_out(40)
    v = video_encoder(videos)
    t = text_encoder([tw.caption(a) for a in attrs])
    sims = (v / np.linalg.norm(v, axis=1, keepdims=True)) @ t.T
    assert (sims.argmax(axis=1) == np.arange(40)).mean() > 0.3  # chance: 0.025
    # Colour edit: the red video aligns with "red", the blue one with "blue".
    red = Attributes("red", "circle", "large", "slowly", "left", "desert")
    blue = red.replace(colour="blue")
    pair = video_encoder(np.stack([tw.render(red, seed=1), tw.render(blue, seed=1)]))
    t_red, t_blue = text_encoder([tw.caption(red), tw.caption(blue)])
    delta = M.directional_delta(pair, np.stack([t_red, t_red]), np.stack([t_blue, t_blue]))
    assert delta[1] > 0.05 > -0.05 > delta[0]


@integration
def test_fvd_with_vlm_features_separates_real_from_corrupted(toy_vlm):
    from l2vkit.toyworld.vlm_data import held_out

    _, videos = held_out(320)  # 160 per set: more samples than the 128 feature dims
    extractor = M.vlm_pooled_features(toy_vlm)
    features = extractor(videos)
    noisy = extractor(np.clip(videos / 255.0 + np.random.default_rng(0).normal(0, 0.3, videos.shape), 0, 1))
    same_world = M.frechet_distance(features[:160], features[160:])
    corrupted = M.frechet_distance(features[:160], noisy[160:])
    assert corrupted > 2 * same_world


# ------------------------------------------------------------------------------------------- caption metrics
HYPS = [
    "a small red circle moves quickly to the left in the desert",
    "a large blue square moves slowly up in the sea",
    "a small green triangle moves quickly down in the snow",
    "a large yellow circle moves to the right in the grass",
    "the purple square moves left",
]
REFS = [
    ["a small red circle moves quickly to the left in the desert", "a red circle moving left in a desert"],
    ["a large blue square moves slowly down in the sea"],
    ["a small green triangle moves slowly down in the snow", "a green triangle drops slowly through snow"],
    ["a large yellow circle moves quickly to the right in the grass"],
    ["a large purple square moves quickly to the left in the desert", "a purple square slides left"],
]


@unit
@pytest.mark.parametrize("smoothing, method", [("none", None), ("epsilon", "method1"), ("add-one", "method2"),
                                               ("nist", "method3")])
def test_bleu_matches_nltk(smoothing, method):
    nltk_bleu = pytest.importorskip("nltk.translate.bleu_score")
    smoother = getattr(nltk_bleu.SmoothingFunction(), method) if method else None
    hyps = [h.split() for h in HYPS]
    refs = [[r.split() for r in rs] for rs in REFS]
    ours = M.bleu(HYPS, REFS, smoothing=smoothing)
    for n in range(1, 5):
        weights = tuple([1 / n] * n)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = nltk_bleu.corpus_bleu(refs, hyps, weights=weights, smoothing_function=smoother)
        assert ours[f"BLEU-{n}"] == pytest.approx(expected, rel=1e-12, abs=1e-12), n
    for h, rs in zip(HYPS, REFS):
        sentence = M.sentence_bleu(h, rs, smoothing=smoothing)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = nltk_bleu.sentence_bleu([r.split() for r in rs], h.split(), smoothing_function=smoother)
        # NLTK returns ~1e-78 instead of 0 when an order has no match (its float_info.min trick); we return 0.
        assert sentence["BLEU-4"] == pytest.approx(expected, rel=1e-12, abs=1e-12)


@unit
def test_bleu_matches_pycocoevalcap():
    pytest.importorskip("pycocoevalcap")
    from pycocoevalcap.bleu.bleu import Bleu

    gts = {i: rs for i, rs in enumerate(REFS)}
    res = {i: [h] for i, h in enumerate(HYPS)}
    expected, _ = Bleu(4).compute_score(gts, res, verbose=0)
    ours = M.bleu(HYPS, REFS)
    assert [ours[f"BLEU-{n}"] for n in range(1, 5)] == pytest.approx(expected, rel=1e-6)


@unit
def test_bleu_hand_checked_and_brevity_penalty():
    score = M.bleu(["a red circle moves up in the sea"], [["a red circle moves down in the sea"]])
    assert score.precisions == pytest.approx([7 / 8, 5 / 7, 3 / 6, 1 / 5])
    assert score["BLEU-4"] == pytest.approx((7 / 8 * 5 / 7 * 3 / 6 * 1 / 5) ** 0.25)
    short = M.bleu(["a red circle moves"], [["a red circle moves up in the sea"]])
    assert short.brevity_penalty == pytest.approx(math.exp(1 - 8 / 4)) and short["BLEU-1"] == pytest.approx(
        math.exp(-1))
    assert M.bleu(["x y z w"], [["a b c d"]])["BLEU-1"] == 0.0
    assert M.bleu(HYPS, HYPS)["BLEU-4"] == pytest.approx(1.0)


@unit
def test_cider_d_matches_pycocoevalcap():
    pytest.importorskip("pycocoevalcap")
    from pycocoevalcap.cider.cider import Cider

    gts = {i: rs for i, rs in enumerate(REFS)}
    res = {i: [h] for i, h in enumerate(HYPS)}
    expected, per_image = Cider().compute_score(gts, res)
    ours = M.cider_d(HYPS, REFS)
    assert ours.score == pytest.approx(expected, rel=1e-9)
    np.testing.assert_allclose(ours.per_caption, per_image, rtol=1e-9)


@unit
def test_meteor_matches_nltk_exact_and_with_stems():
    meteor_module = pytest.importorskip("nltk.translate.meteor_score")
    from nltk.stem.porter import PorterStemmer

    class NoWordNet:  # WordNet data cannot be downloaded offline: exact (and stem) matching only
        @staticmethod
        def synsets(word):
            return []

    class Identity:
        @staticmethod
        def stem(word):
            return word

    hyps = HYPS + ["the cats are sitting on the mats", "moving squares"]
    refs = REFS + [["a cat sat on the mat"], ["a square moves"]]
    for stemmer, ours_stem in ((Identity(), None), (PorterStemmer(), PorterStemmer().stem)):
        ours = M.meteor(hyps, refs, stemmer=ours_stem)
        expected = [meteor_module.meteor_score([r.split() for r in rs], h.split(), stemmer=stemmer,
                                               wordnet=NoWordNet()) for h, rs in zip(hyps, refs)]
        np.testing.assert_allclose(ours.per_caption, expected, rtol=1e-12)
        assert ours.score == pytest.approx(np.mean(expected))
    synonyms = {"sitting": ["sit", "seated"], "mats": ["mat", "rug"]}
    with_syn = M.meteor(hyps[-2:-1], refs[-2:-1], synonyms=lambda w: synonyms.get(w, []))
    assert with_syn.score > M.meteor(hyps[-2:-1], refs[-2:-1]).score


@integration
def test_tokenize_matches_coco_ptb_tokenizer():
    pytest.importorskip("pycocoevalcap")
    if shutil.which("java") is None:
        pytest.skip("coco-caption's PTB tokenizer needs Java")
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    texts = ["A man's dog, running quickly to the LEFT.", "Don't stop: it's a well-known red-circle (small)!",
             'He said "hello" -- twice... at 3.5 km/h; ok?',
             "a small red circle moves quickly to the left in the desert",
             "Two  spaces\tand tabs & 50% off $5 #1 @home", "they'll we're I'm you've she'd cannot gonna"]
    expected = PTBTokenizer().tokenize({i: [{"caption": t}] for i, t in enumerate(texts)})
    for i, text in enumerate(texts):
        assert " ".join(M.tokenize(text)) == expected[i][0], text


@integration
def test_meteor_coco_backend_runs_meteor_1_5():
    pytest.importorskip("pycocoevalcap")
    if shutil.which("java") is None:
        pytest.skip("METEOR 1.5 needs Java")
    result = M.meteor(["a small red circle moves quickly to the left in the desert", "a blue square"],
                      [["a small red circle moves quickly to the left in the desert"], ["a red circle moves up"]],
                      backend="coco")
    assert result.per_caption[0] > 0.9 > 0.5 > result.per_caption[1]
    assert 0 < result.score < 1


@unit
def test_caption_metrics_bad_input():
    scores = M.caption_metrics(HYPS, REFS)
    assert set(scores) == {"BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "CIDEr-D", "METEOR"}
    assert all(0 <= v for v in scores.values()) and scores["BLEU-1"] >= scores["BLEU-4"]
    with pytest.warns(MetricWarning, match="1 of 2 hypotheses are empty captions \\(index 1\\)"):
        with_empty = M.caption_metrics([HYPS[0], ""], REFS[:2])
    with pytest.warns(MetricWarning, match="empty"):
        assert M.meteor([HYPS[0], "  "], REFS[:2]).per_caption[1] == 0.0
    assert with_empty["BLEU-1"] < 1
    with pytest.raises(ValueError, match=r"references\[1\]\[0\] is an empty caption"):
        M.bleu(HYPS[:2], [REFS[0], [""]])
    with pytest.raises(ValueError, match="2 hypotheses but 3 reference entries"):
        M.cider_d(HYPS[:2], REFS[:3])
    with pytest.raises(ValueError, match="no hypotheses"):
        M.bleu([], [])
    with pytest.raises(TypeError, match="list of captions"):
        M.bleu("a red circle", ["a red circle"])
    with pytest.raises(ValueError, match="smoothing"):
        M.bleu(HYPS, REFS, smoothing="laplace")
    with pytest.warns(MetricWarning, match="single caption"):
        assert M.cider_d(HYPS[:1], REFS[:1]).score == 0.0


@unit
def test_caption_metrics_speed_on_1000_captions():
    rng = np.random.default_rng(12)
    words = "a small large red blue green circle square moves slowly quickly to the left right in desert sea".split()
    hyps = [" ".join(rng.choice(words, size=10)) for _ in range(1000)]
    refs = [[" ".join(rng.choice(words, size=11)) for _ in range(2)] for _ in range(1000)]
    start = time.perf_counter()
    M.bleu(hyps, refs)
    M.cider_d(hyps, refs)
    assert time.perf_counter() - start < 5.0


# ------------------------------------------------------------------------------------------------ ground truth
RED = Attributes("red", "circle", "small", "quickly", "left", "desert")


@unit
def test_ground_truth_scores_hand_checked():
    blue = RED.replace(colour="blue")
    measured = {
        0.0: [RED, RED, RED],
        0.5: [RED, blue, blue.replace(scene="sea")],
        1.0: [blue, blue, blue.replace(shape="square")],
    }
    scores = ground_truth_scores(RED, "colour", "blue", measured)
    assert scores.phis == [0.0, 0.5, 1.0] and scores.seeds == 3
    assert scores.flip_rate == pytest.approx([0, 2 / 3, 1])
    assert scores.preservation_rate == pytest.approx([1, 2 / 3, 2 / 3])
    assert scores.accuracy["colour"] == scores.flip_rate
    assert scores.accuracy["scene"] == pytest.approx([1, 2 / 3, 1])
    assert scores.accuracy["shape"] == pytest.approx([1, 1, 2 / 3])
    from scipy.stats import spearmanr

    expected = [spearmanr([0, 0.5, 1], [0, 0, 1]).statistic, spearmanr([0, 0.5, 1], [0, 1, 1]).statistic,
                spearmanr([0, 0.5, 1], [0, 1, 1]).statistic]
    assert scores.monotonicity_per_seed == pytest.approx(expected)
    assert scores.monotonicity == pytest.approx(np.mean(expected))
    summary = scores.summary()
    assert summary["flip_rate"] == 1.0 and summary["accuracy.shape"] == pytest.approx(2 / 3)
    json.dumps(scores.as_dict())  # JSON-ready


@unit
def test_ground_truth_constant_sequences_and_probabilities():
    blue = RED.replace(colour="blue")
    measured = {0.0: [RED, RED], 0.5: [RED, blue], 1.0: [RED, blue]}  # seed 0 never flips
    scores = ground_truth_scores([RED, RED], "colour", "blue", measured)
    assert math.isnan(scores.monotonicity_per_seed[0]) and scores.monotonicity_defined == 1
    assert scores.monotonicity == pytest.approx(scores.monotonicity_per_seed[1])
    never = ground_truth_scores(RED, "colour", "blue", {0.0: [RED], 1.0: [RED]})
    assert math.isnan(never.monotonicity) and never.as_dict()["monotonicity"] is None
    probs = {0.0: [0.1, 0.2], 0.5: [0.3, 0.25], 1.0: [0.9, 0.22]}
    with_probs = ground_truth_scores(RED, "colour", "blue", measured, target_probs=probs)
    assert with_probs.monotonicity_of == "target probability"
    assert with_probs.monotonicity_per_seed[0] == pytest.approx(1.0)
    assert with_probs.monotonicity_per_seed[1] == pytest.approx(0.5)  # ranks (1, 3, 2) vs (1, 2, 3)
    assert with_probs.target_probability == pytest.approx([0.15, 0.275, 0.56])


@unit
def test_ground_truth_bad_input():
    with pytest.raises(ValueError, match="not a toy-world attribute"):
        ground_truth_scores(RED, "texture", "blue", {0.0: [RED]})
    with pytest.raises(ValueError, match="is not a colour"):
        ground_truth_scores(RED, "colour", "square", {0.0: [RED]})
    with pytest.raises(ValueError, match="has 1 entries but"):
        ground_truth_scores(RED, "colour", "blue", {0.0: [RED, RED], 1.0: [RED]})
    with pytest.raises(ValueError, match="non-empty mapping"):
        ground_truth_scores(RED, "colour", "blue", {})
    with pytest.raises(TypeError, match="toyworld.Attributes"):
        ground_truth_scores(RED, "colour", "blue", {0.0: ["red"]})
    with pytest.raises(ValueError, match="target_probs has φ"):
        ground_truth_scores(RED, "colour", "blue", {0.0: [RED]}, target_probs={1.0: [0.5]})


@integration
def test_ground_truth_from_measured_toy_videos():
    from l2vkit import toyworld as tw

    sources = [tw.random_attributes(s).replace(colour="red") for s in range(4)]
    measured = {phi: [tw.measure(tw.render(a.replace(colour="blue") if phi >= 0.5 else a, seed=s))
                      for s, a in enumerate(sources)] for phi in (0.0, 0.25, 0.5, 1.0)}
    scores = ground_truth_scores(sources, "colour", "blue", measured)
    assert scores.flip_rate == [0.0, 0.0, 1.0, 1.0]
    assert scores.preservation_rate == [1.0, 1.0, 1.0, 1.0]
    assert scores.monotonicity == pytest.approx(spearmanr_step())
    fig, ax = scores.plot()
    assert ax.get_title().startswith("colour → blue") and len(ax.get_lines()) == 2 + 5


def spearmanr_step():
    from scipy.stats import spearmanr

    return spearmanr([0, 0.25, 0.5, 1], [0, 0, 1, 1]).statistic


@unit
@pytest.mark.parametrize("module", ["l2vkit.metrics", "l2vkit.plots", "l2vkit.report"])
def test_metrics_plots_report_import_stays_light(module):
    heavy = ("torch", "transformers", "matplotlib", "plotly", "scipy", "mediapy", "sentence_transformers", "nltk")
    code = f"import sys, {module}; print(' '.join(m for m in {heavy!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert loaded == []
