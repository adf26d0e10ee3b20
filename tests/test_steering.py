"""Steered sampling: φ = 0 is the unsteered sample, windows, frame masks, sweeps, composition and bad input."""
import warnings

import numpy as np
import pytest
import torch

import l2vkit
from l2vkit import toyworld
from l2vkit.steering import steer, sweep

CAPTION = "a small red circle moves slowly up in the desert"


@pytest.fixture(scope="module")
def toy():
    vlm, gen = toyworld.load_vlm(), toyworld.load_generator()
    return vlm, gen, toyworld.load_coupling(vlm=vlm, generator=gen), toyworld.load_concepts(generator=gen)


@pytest.mark.integration
def test_phi_zero_is_bitwise_the_unsteered_sample(toy):
    _, gen, _, bank = toy
    plain = gen.generate(CAPTION, seed=4)
    assert np.array_equal(steer(gen, CAPTION, {"red->blue": 0.0}, concepts=bank, seed=4).video, plain)
    assert np.array_equal(l2vkit.steer(gen, CAPTION, {"red->blue": 0.0, "desert->snow": 0.0}, concepts=bank,
                                       seed=4).video, plain)
    assert not np.array_equal(steer(gen, CAPTION, {"red->blue": 1.0}, concepts=bank, seed=4).video, plain)


@pytest.mark.integration
def test_steering_turns_red_blue_and_keeps_the_rest(toy):
    _, gen, _, bank = toy
    hits = 0
    for seed in range(4):
        before = toyworld.measure(gen.generate(CAPTION, seed=seed))
        after = toyworld.measure(steer(gen, CAPTION, {"red->blue": 1.0}, concepts=bank, seed=seed).video)
        hits += after.colour == "blue" and after.scene == before.scene
    assert hits >= 3


@pytest.mark.integration
def test_sweep_reads_the_target_word_rising_through_phi(toy):
    vlm, gen, coupling, bank = toy
    result = l2vkit.sweep(gen, CAPTION, "desert->snow", [0.0, 0.5, 1.0], concepts=bank, seed=1, vlm=vlm,
                          coupling=coupling)
    assert result.videos.shape == (3, 9, 32, 32, 3) and result.phis == [0.0, 0.5, 1.0]
    p = result.target_probability()
    assert p[-1] > p[0] + 0.5
    assert result.words == ("desert", "snow") and result.provenance["seed"] == 1
    # the closed-loop reading: the VLM on each decoded video's own pixels, no Φ
    pixels = result.target_probability("pixels")
    assert pixels[-1] > pixels[0] + 0.5
    direct = vlm.token_probs(vlm.visual_tokens(result.videos), "a small red circle moves slowly up in the",
                             ["desert", "snow"])
    assert np.allclose(pixels, direct.renormalised[:, 1].numpy(), atol=1e-5)
    assert np.allclose(result.reading_gap(), np.abs(np.array(p) - np.array(pixels)))
    with pytest.raises(ValueError, match="read='vlm'; choose 'phi' or 'pixels'"):
        result.target_probability("vlm")
    fig, axes = result.plot()
    assert len(axes) >= 3


@pytest.mark.integration
def test_window_and_frame_mask(toy):
    _, gen, _, bank = toy
    plain = gen.sample(gen.encode_prompt(CAPTION), seed=2)
    full = steer(gen, CAPTION, {"red->blue": 1.0}, concepts=bank, seed=2)
    late = steer(gen, CAPTION, {"red->blue": 1.0}, concepts=bank, seed=2, window=(0.6, 1.0))
    assert not torch.equal(late.latents, full.latents) and not torch.equal(late.latents, plain.latents)
    masked = steer(gen, CAPTION, {"red->blue": 1.0}, concepts=bank, seed=2, frame_mask=[False] * 5 + [True] * 4)
    assert masked.frame_mask == [False, False, True]
    # unmasked latent frames follow the unsteered trajectory exactly; the masked one is steered
    assert torch.equal(masked.latents[:, :, :2], plain.latents[:, :, :2])
    assert not torch.equal(masked.latents[:, :, 2], plain.latents[:, :, 2])
    # frames outside the mask are the unsteered video's own pixels (the causal VAE would tint them otherwise)
    plain_video = gen.decode(plain.latents)[0]
    assert masked.steered_frames == [False] * 5 + [True] * 4
    assert np.array_equal(masked.video[:5], plain_video[:5]) and not np.array_equal(masked.video[5:], plain_video[5:])


@pytest.mark.integration
def test_a_frame_mask_finer_than_a_latent_frame_warns_with_the_frames_steered(toy):
    _, gen, _, bank = toy
    with pytest.warns(UserWarning, match=r"frames \[0, 1, 2, 3\] were asked for.*frames \[0, 1, 2, 3, 4\] are steered"):
        result = steer(gen, CAPTION, {"red->blue": 1.0}, concepts=bank, seed=2, steps=4, frame_indices=[0, 1, 2, 3])
    assert result.steered_frames == [True] * 5 + [False] * 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # whole latent frames asked for: honoured exactly, no warning
        steer(gen, CAPTION, {"red->blue": 1.0}, concepts=bank, seed=2, steps=4, frame_indices=[0, 1, 2, 3, 4])
        steer(gen, CAPTION, {"red->blue": 1.0}, concepts=bank, seed=2, steps=4, frame_mask=[True, False, False])


@pytest.mark.integration
def test_bad_input(toy):
    _, gen, _, bank = toy
    with pytest.raises(ValueError, match="must hold 'red->blue'.s source word 'red' once.*'blue'.*'red' 0×"):
        steer(gen, "a small green circle moves slowly up in the desert", {"red->blue": 1.0}, concepts=bank)
    with pytest.raises(ValueError, match="'red' 2×, 'blue' 1×"):
        steer(gen, "a red red circle moves slowly up in the blue desert", {"red->blue": 1.0}, concepts=bank)
    with pytest.raises(ValueError, match="set twice"):
        steer(gen, CAPTION, {"red->blue": 1.0, "blue->red": 1.0}, concepts=bank)
    with pytest.warns(UserWarning, match="outside"):
        steer(gen, CAPTION, {"red->blue": 2.5}, concepts=bank, steps=2)
    with pytest.raises(ValueError, match="contains none of the"):
        steer(gen, CAPTION, {"red->blue": 1.0}, concepts=bank, window=(0.5, 0.5))
    with pytest.raises(KeyError, match="no concept"):
        steer(gen, CAPTION, {"red->green": 1.0}, concepts=bank)
    with pytest.raises(ValueError, match="frame_mask has 4 entries"):
        steer(gen, CAPTION, {"red->blue": 1.0}, concepts=bank, frame_mask=[True] * 4)
    # frame numbers are not a mask, even when their count is the latent frame count; NaN is not True
    with pytest.raises(ValueError, match=r"frame_mask must hold booleans.*int64 values \[0, 4, 8\].*frame_indices"):
        steer(gen, CAPTION, {"red->blue": 1.0}, concepts=bank, frame_mask=[0, 4, 8])
    with pytest.raises(ValueError, match="frame_mask must hold booleans.*float64"):
        steer(gen, CAPTION, {"red->blue": 1.0}, concepts=bank, frame_mask=[float("nan")] * 9)
    with pytest.raises(ValueError, match=r"frame_indices=\[9\]: give whole frame numbers from 0 to 8"):
        steer(gen, CAPTION, {"red->blue": 1.0}, concepts=bank, frame_indices=[9])
    with pytest.raises(ValueError, match="not both"):
        steer(gen, CAPTION, {"red->blue": 1.0}, concepts=bank, frame_mask=[True] * 9, frame_indices=[0])
    with pytest.raises(ValueError, match="phis is empty"):
        sweep(gen, CAPTION, "red->blue", [], concepts=bank)


@pytest.mark.integration
def test_steering_eval_scores_every_method_from_the_same_noise(toy):
    from l2vkit.toyworld import steering_eval as se

    vlm, gen, coupling, bank = toy
    result = se.evaluate_pair(gen, vlm, coupling, bank, "red->blue", range(3), unweighted=bank, leaps=True)
    assert set(result["measured"]) == {f"phi={p:g}" for p in se.PHIS} | {"prompt_swap", "unweighted", "leaps"}
    # the unweighted baseline was given the same bank, so it is the φ = 1 run, seed for seed
    assert result["measured"]["unweighted"] == result["measured"]["phi=1"]
    odds, probs = result["target_log_odds"], result["target_prob"]
    for name in odds:  # log-odds and P(target) order the seeds alike wherever P is not saturated into a tie
        o, p = np.asarray(odds[name]), np.asarray(probs[name])
        apart = np.abs(p[:, None] - p[None, :]) > 1e-3
        assert np.array_equal(np.sign(o[:, None] - o[None, :])[apart], np.sign(p[:, None] - p[None, :])[apart])
    # the continuous score is the colour's distance to red minus that to blue, from the same videos
    scores_phi1 = result["attribute_score"]["phi=1"]
    assert all((x > 0) == (m["colour"] == "blue") for x, m in zip(scores_phi1, result["measured"]["phi=1"])
               if m["colour"] in ("red", "blue"))
    row = se.scores(result)
    assert row["steered"]["flip"] == np.mean([m["colour"] == "blue" for m in result["measured"]["phi=1"]])
    assert 0 <= row["steered"]["preserved"] <= 1 and -1 <= row["monotonic_prob_spearman"] <= 1
    kept = row["steered"]["preserved_by_attribute"]
    assert set(kept) == {"shape", "size", "adverb", "direction", "scene"}
    assert row["steered"]["preserved"] <= min(kept.values())  # all kept at once is at most the least-kept one
    assert -1 <= row["monotonic_measured_spearman"] <= 1 and row["monotonic_measured_seeds"] <= 3
    table = se.format_tables({"red->blue": {"family": "attribute", **row}})
    assert "| red->blue | L2V φ=1 |" in table and "| red->blue | LEAPS-style |" in table


@pytest.mark.unit
def test_steering_eval_preservation_where_swap_keeps_and_where_unsteered_renders_its_caption():
    from l2vkit.toyworld import steering_eval as se

    base = {"colour": "red", "shape": "circle", "size": "small", "adverb": "slowly", "direction": "up",
            "scene": "desert"}
    caps = ["a small red circle moves slowly up in the desert"] * 3
    unsteered = [dict(base), dict(base, shape="square"), dict(base)]  # seed 1 misses its caption's shape
    steered = [dict(base, colour="blue"), dict(base, colour="blue"), dict(base, colour="blue", scene="snow")]
    swap = [dict(base, colour="blue"), dict(base, colour="blue", shape="square"),
            dict(base, colour="blue", scene="snow")]
    measured = {f"phi={p:g}": unsteered for p in se.PHIS} | {"phi=1": steered, "prompt_swap": swap}
    flat = {k: [0.0, 0.0, 0.0] for k in measured}
    result = {"slot": "colour", "target": "blue", "captions": caps, "measured": measured, "target_prob": flat,
              "target_log_odds": flat, "attribute_score": flat}
    row = se.scores(result)["steered"]
    assert row["flip"] == 1.0
    assert row["preserved"] == pytest.approx(1 / 3)  # seed 1 changed shape (back to its caption), seed 2 the scene
    assert row["preserved_by_attribute"]["shape"] == pytest.approx(2 / 3)
    assert row["preserved_where_swap_keeps"] == 0.5  # the swap keeps seeds 0 and 1; steering keeps seed 0
    assert row["preserved_where_unsteered_as_captioned"] == 0.5  # seeds 0 and 2 render their caption; 0 is kept


@pytest.mark.integration
def test_steer_chains_a_users_step_end_callback(toy):
    """A user's callback_on_step_end runs at every step of a windowed steer, and the video is unchanged by it."""
    _, gen, _, bank = toy
    plain = steer(gen, CAPTION, {"red->blue": 1.0}, concepts=bank, seed=4, window=(0.0, 0.5))
    seen = []
    logged = steer(gen, CAPTION, {"red->blue": 1.0}, concepts=bank, seed=4, window=(0.0, 0.5),
                   callback_on_step_end=lambda pipe, i, t, kwargs: seen.append(i) or {})
    assert seen == list(range(gen.steps))
    assert np.array_equal(logged.video, plain.video)


@pytest.mark.integration
def test_phi_that_overflows_float32_is_refused(toy):
    """1e39 is finite in float64 but not in the float32 the condition is computed in: refused, not a black video."""
    _, gen, _, bank = toy
    for phi in (1e39, -1e3, float("inf")):
        with pytest.raises(ValueError, match="expected a finite number in"):
            steer(gen, CAPTION, {"red->blue": phi}, concepts=bank, steps=2)


@pytest.mark.unit
def test_a_generated_video_of_one_value_is_flagged():
    """The generators' output conversion warns about a saturated (all-black or all-white) clip, naming which."""
    import warnings

    from l2vkit.generator.sampling import to_uint8

    rng = np.random.default_rng(0)
    live = rng.random((3, 8, 8, 3))
    with pytest.warns(RuntimeWarning, match=r"videos? \[1\] of 2 hold one value \(0\).*float32"):
        to_uint8(np.stack([live, np.full_like(live, -0.5)]))
    with pytest.warns(RuntimeWarning, match=r"\[0\] of 1 hold one value \(255\)"):
        to_uint8(np.ones((3, 8, 8, 3)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert to_uint8(live).dtype == np.uint8


@pytest.mark.integration
def test_nan_inputs_are_refused_instead_of_giving_black_videos(toy):
    from l2vkit.concepts import ConceptBank

    _, gen, coupling, bank = toy
    z = torch.zeros(1, *gen.latent_shape(gen.frames, gen.height, gen.width))
    z[0, 0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="z holds 1 NaN or infinite value"):
        gen.decode(z)
    pi = gen.encode_prompt(CAPTION)
    with pytest.raises(ValueError, match="condition π holds NaN"):
        coupling.read(torch.zeros_like(z), pi.with_embeds(pi.embeds * float("inf")))
    broken = ConceptBank({"red->blue": torch.full_like(bank["red->blue"], float("nan"))},
                         {"red->blue": bank.spec("red->blue")}, dict(bank.meta))
    with pytest.raises(ValueError, match="holds .* NaN or infinite value.*concept vectors and strengths"):
        steer(gen, CAPTION, {"red->blue": 1.0}, concepts=broken)


class _Ranged:
    """A stand-in bank that records one measured strength range."""

    def __init__(self, measured):
        self.measured = measured

    def strength_range(self, name):
        return self.measured


@pytest.mark.unit
def test_the_strength_range_decides_what_warns():
    from l2vkit.steering import outside_range

    measured = {"low": 0.5, "high": 1.5, "kept_at_least": 0.9, "seeds": 20}
    bank = _Ranged(measured)
    assert outside_range("red->blue", 0.0, bank) is None  # φ = 0 is the unsteered sample
    assert outside_range("red->blue", 1.2, bank) is None
    reason = outside_range("red->blue", 1.75, bank)
    assert "[0.5, 1.5]" in reason and "90% of 20 held-out seeds" in reason
    assert outside_range("red->blue", 0.25, bank)
    assert "away from the target word" in outside_range("red->blue", -1.0, bank)
    # steering back from a caption with the target word: φ < 0, checked against the measured 'back' range
    assert "never measured" in outside_range("red->blue", -1.0, bank, back=True)
    assert "already holds the target word" in outside_range("red->blue", 1.0, bank, back=True)
    back = _Ranged({**measured, "back": {**measured, "low": 0.75, "high": 1.25}})
    assert outside_range("red->blue", -1.0, back, back=True) is None
    assert "[−1.25, −0.75]" in outside_range("red->blue", -1.5, back, back=True)
    assert "no φ measured" in outside_range("red->blue", 1.0, _Ranged({**measured, "low": None, "high": None}))
    # a bank that records no range: the old rule, |φ| ≤ 2
    assert outside_range("red->blue", -1.0, _Ranged(None)) is None
    assert "[−2, 2]" in outside_range("red->blue", 2.5, _Ranged(None))


@pytest.mark.unit
def test_every_caption_structure_of_the_controls_table_holds_each_word_once():
    from l2vkit.concepts import swap_word
    from l2vkit.pairs import ContrastPair
    from l2vkit.toyworld.controls_eval import STRUCTURES, _phrase

    attrs = toyworld.random_attributes(3)
    for name, structure in STRUCTURES.items():
        text = _phrase(attrs, structure)
        words = [w.strip(",") for w in text.split()]
        for field, value in attrs.as_dict().items():
            if field != "direction":
                assert words.count(value) == 1, (name, value, text)
        pair = ContrastPair(attrs.colour, "purple" if attrs.colour != "purple" else "red", "colour", "attribute")
        assert swap_word(pair, text) != text


@pytest.mark.integration
def test_steer_warns_outside_the_measured_range_and_a_sweep_marks_instead(toy):
    _, gen, _, bank = toy
    measured = bank.strength_range("red->blue")
    assert measured["low"] <= 1.0 <= measured["high"] and measured["seeds"] >= 20  # recorded in the shipped bank
    outside = 0.5 if not measured["low"] <= 0.5 <= measured["high"] else 2.5
    with pytest.warns(UserWarning, match=rf"φ={outside:g} for 'red->blue' is outside its strength range"):
        steer(gen, CAPTION, {"red->blue": outside}, concepts=bank, steps=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a sweep spans φ on purpose: it marks, it does not warn
        result = sweep(gen, CAPTION, "red->blue", [0.0, outside, 1.0], concepts=bank, steps=2)
    assert result.outside_range == [False, True, False]
    assert result._label(1).endswith("⚠") and not result._label(2).endswith("⚠")


@pytest.mark.integration
def test_the_strength_range_is_measured_from_ground_truth(toy):
    from l2vkit.toyworld.strength_range import measure_strength_range, range_around_one

    _, gen, _, bank = toy
    measured = measure_strength_range(gen, bank, "circle->square", range(2), grid=(0.5, 1.0))
    assert set(measured["kept"]) == {"0.5", "1"} and measured["seeds"] == 2
    keeps = [measured["kept"][g] >= 0.9 for g in ("0.5", "1")]
    assert (measured["low"], measured["high"]) == range_around_one((0.5, 1.0), keeps)
    assert range_around_one((0.5, 1.0, 1.5), [True, False, True]) == (None, None)  # φ = 1 must keep
    # steering back: captions with 'square', steered by −φ; flipping back means measuring a circle
    back = measure_strength_range(gen, bank, "circle->square", range(2), grid=(1.0,), back=True)
    plain = [toyworld.measure(v).shape for v in _back_videos(gen, bank, range(2))]
    assert back["flip"]["1"] == pytest.approx(sum(s == "circle" for s in plain) / 2)


def _back_videos(gen, bank, seeds):
    """What measure_strength_range(back=True) samples at φ = −1, built by hand."""
    from l2vkit.baselines import sample_batch

    captions = [toyworld.caption(toyworld.random_attributes(40_000 + s).replace(shape="square")) for s in seeds]
    tokenizer = gen.pipe.tokenizer
    steered = l2vkit.steering.steered_condition(gen.encode_prompt(captions), {"circle->square": -1.0}, bank,
                                                captions=captions, tokenizer=tokenizer)
    return sample_batch(gen, steered, 0).frames
