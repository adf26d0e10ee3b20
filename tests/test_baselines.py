"""The steering baselines as library code: prompt swap, the unweighted Δv bank, LEAPS-style latent optimisation."""
import numpy as np
import pytest
import torch

from l2vkit import baselines, toyworld
from l2vkit.concepts import build_concept_cache, slot_prefix, swap_word, train_concepts
from l2vkit.pairs import ContrastPair
from l2vkit.toyworld import steering_eval as se
from l2vkit.toyworld import toy_captions

RED_BLUE = ContrastPair("red", "blue", "colour", "attribute")
STEPS = 4  # sampling steps: enough to give distinct latents, fast on CPU


@pytest.fixture(scope="module")
def toy():
    vlm, gen = toyworld.load_vlm(), toyworld.load_generator()
    return vlm, gen, toyworld.load_coupling(vlm=vlm, generator=gen)


@pytest.fixture(scope="module")
def captions():
    return toy_captions(RED_BLUE, 2, seed=1)


@pytest.mark.integration
def test_prompt_swap_samples_the_swapped_captions_from_the_same_noise(toy, captions):
    _, gen, _ = toy
    run = baselines.prompt_swap(gen, captions, RED_BLUE, seed=3, steps=STEPS)
    swapped = [swap_word(RED_BLUE, c) for c in captions]
    direct = gen.sample(gen.encode_prompt(swapped), seed=3, steps=STEPS, output="frames")
    assert run.frames.shape[0] == 2
    assert np.array_equal(run.frames, direct.frames) and torch.equal(run.latents, direct.latents)
    one = baselines.prompt_swap(gen, captions[0], RED_BLUE, seed=3, steps=STEPS)  # one caption: a batch of one
    alone = gen.sample(gen.encode_prompt(swapped[0]), seed=3, steps=STEPS, output="frames")
    assert one.latents.shape[0] == 1 and np.array_equal(one.frames, alone.frames)


@pytest.mark.integration
def test_leaps_raises_the_target_read_through_phi(toy, captions):
    vlm, gen, coupling = toy
    result = baselines.leaps(gen, vlm, coupling, captions, RED_BLUE, seed=0, steps=6, sample_steps=STEPS)
    assert result.latents.shape == result.start.shape and result.frames.shape[:2] == (2, gen.frames)
    assert not torch.equal(result.latents, result.start)
    assert len(result.losses) == 6 and result.losses[-1] < result.losses[0]
    base = gen.encode_prompt(captions)
    before, _ = baselines.target_read(vlm, coupling, result.start, base, result.prefixes, RED_BLUE)
    after, odds = baselines.target_read(vlm, coupling, result.latents, base, result.prefixes, RED_BLUE)
    assert after.mean() > before.mean() and odds.dtype == np.float64
    # the start is the unsteered sample of the same seed, and the core optimiser gives the same latents
    assert torch.equal(result.start, gen.sample(base, seed=0, steps=STEPS).latents)
    again = baselines.leaps_latents(gen, vlm, coupling, result.start, base, result.prefixes, "blue", steps=6)
    assert torch.allclose(again, result.latents, atol=1e-6)


@pytest.mark.integration
def test_the_closed_loop_reading_reads_the_pixels_and_flags_where_phi_disagrees(toy, captions):
    vlm, gen, _ = toy
    prefixes = [slot_prefix(RED_BLUE, c) for c in captions]
    unsteered = baselines.sample_batch(gen, gen.encode_prompt(captions), 3)  # the generator's own steps
    swapped = baselines.prompt_swap(gen, captions, RED_BLUE, seed=3)
    before, _ = baselines.pixel_read(vlm, unsteered.frames, prefixes, RED_BLUE)
    after, odds = baselines.pixel_read(vlm, swapped.frames, prefixes, RED_BLUE)
    for frames, colour in ((unsteered.frames, "red"), (swapped.frames, "blue")):  # what the pixels show
        assert [toyworld.measure_or_none(v).colour for v in frames] == [colour, colour]
    assert (after > 0.9).all() and (before < 0.1).all() and odds.dtype == np.float64
    assert baselines.readings_disagree([0.9, 0.9, 0.2], [0.95, 0.1, 0.3]).tolist() == [False, True, False]


@pytest.mark.integration
def test_unweighted_bank_trains_with_the_weighting_off(toy):
    vlm, gen, coupling = toy
    build = dict(captions=toy_captions, samples_per_pair=2, timesteps_per_sample=2, steps=STEPS, progress=False)
    train = dict(steps=3, batch_per_pair=2, progress=False)
    cache = build_concept_cache(gen, vlm, coupling, [RED_BLUE], **build)
    dw = cache.dw.clone()
    assert not torch.all(dw == 1)
    bank = baselines.unweighted_concepts(gen, cache, [RED_BLUE], **train)
    assert torch.equal(cache.dw, dw) and cache.meta["divergence"] == "hellinger"  # the cache is left alone
    assert bank.meta["cache"]["divergence"] == "none" and bank.pairs == ["red->blue"]
    # the same bank as training on a cache built without the weighting
    flat = build_concept_cache(gen, vlm, coupling, [RED_BLUE], divergence_kind="none", **build)
    direct = train_concepts(gen, flat, [RED_BLUE], **train)
    assert torch.allclose(bank["red->blue"], direct["red->blue"], atol=1e-6)
    weighted = train_concepts(gen, cache, [RED_BLUE], **train)
    assert not torch.allclose(bank["red->blue"], weighted["red->blue"])
    with pytest.raises(TypeError, match="ConceptCache"):
        baselines.unweighted_concepts(gen, {"dw": dw}, [RED_BLUE])


@pytest.mark.integration
def test_bad_input_is_refused_before_sampling(toy, captions):
    vlm, gen, coupling = toy
    green = "a small green circle moves slowly up in the desert"
    with pytest.raises(ValueError, match=r"captions\[1\]: caption .*green.* does not contain 'red->blue'"):
        baselines.prompt_swap(gen, [captions[0], green], RED_BLUE)
    with pytest.raises(ValueError, match="non-empty"):
        baselines.prompt_swap(gen, [], RED_BLUE)
    with pytest.raises(ValueError, match=r"captions\[0\]: .*does not contain"):
        baselines.leaps(gen, vlm, coupling, [green], RED_BLUE)
    for bad, match in (({"steps": 0}, "steps=0"), ({"steps": 2.5}, "steps=2.5"), ({"lr": 0.0}, "lr=0.0"),
                       ({"lr": -1e-2}, "lr=-0.01"), ({"lr": float("nan")}, "lr=nan"), ({"smooth": -1.0}, "smooth")):
        with pytest.raises(ValueError, match=match):
            baselines.leaps(gen, vlm, coupling, captions, RED_BLUE, **bad)
    z = torch.zeros(1, 16, 3, 8, 8)
    with pytest.raises(ValueError, match="prior"):
        baselines.leaps_latents(gen, vlm, coupling, z, gen.encode_prompt(captions[0]), ["a small"], "blue",
                                prior=-0.5)


@pytest.mark.unit
def test_steering_eval_keeps_its_names_and_renames_measured_or_none():
    for name in ("sample_batch", "steered_batch", "leaps_latents"):
        assert getattr(se, name) is getattr(baselines, name)
    video = np.zeros((9, 32, 32, 3), dtype=np.uint8)  # no object to find: every attribute None
    measured = se.measured_attributes(video)
    assert set(measured) == {"colour", "shape", "size", "adverb", "direction", "scene"}
    with pytest.warns(DeprecationWarning, match="renamed measured_attributes"):
        assert se.measured_or_none(video) == measured
