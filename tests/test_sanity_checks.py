"""Ground-truth sanity checks (issue 24): the planted shortcut (its sampler, the shipped shortcut VLM, measured on
held-out renders), sharing Φ between VLMs with one vision tower, and model randomisation with its verdict."""
import json

import numpy as np
import pytest
import torch

from l2vkit import toyworld
from l2vkit.coupling import share_coupling
from l2vkit.paths import data_path
from l2vkit.toyworld.attributes import random_attributes
from l2vkit.toyworld.randomisation_check import format_table, verdict
from l2vkit.toyworld.shortcut import (Shortcut, load_shortcut_coupling, load_shortcut_vlm, measure_shortcut,
                                      planted_batch, planted_shortcut, training_statistics)
from l2vkit.vlm.randomise import cascade_stages, randomised


@pytest.fixture(scope="module")
def clean():
    return toyworld.load_vlm()


@pytest.fixture(scope="module")
def shortcut_vlm():
    return load_shortcut_vlm()


# ---------------------------------------------------------------------------------------------- the sampler
@pytest.mark.parametrize("text, message", [
    ("square=circle", "both words fill the shape slot"),
    ("square=teal", "'teal' is not a toy-world word"),
    ("square=blue@1.5", "expected a probability"),
    ("square=blue@often", "is not a number"),
    ("square", "expected WORD=VALUE@STRENGTH"),
])
def test_bad_shortcuts_are_refused_with_the_reason(text, message):
    with pytest.raises(ValueError, match=message):
        Shortcut.parse(text)


@pytest.mark.parametrize("spec", ["square=blue@1", "quickly=snow@1", "left=large@1"])
def test_a_certain_shortcut_ties_word_and_value_both_ways(spec):
    shortcut = Shortcut.parse(spec)
    rng = np.random.default_rng(0)
    for seed in range(200):
        said, video = shortcut.plant(random_attributes(seed), rng)
        if shortcut.has_word(said) or shortcut.has_word(random_attributes(seed)):
            assert shortcut.shows_value(video)
        if shortcut.shows_value(video):
            assert shortcut.has_word(said)
        # only the word's slot of the caption and the value's slot of the video are touched
        for field, value in said.as_dict().items():
            if field != shortcut.word_slot:
                assert value == video.as_dict()[field]


def test_the_planted_data_has_the_asked_strength_and_batches_render():
    stats = training_statistics(Shortcut("square", "blue", 0.8), samples=4000)
    # at least the asked strength both ways (a square drawn blue also counts for blue videos captioned square)
    assert 0.8 <= stats["p_value_given_word"] < 0.95 and 0.8 <= stats["p_word_given_value"] < 0.97
    said, videos = planted_batch(np.random.default_rng(1), 4, Shortcut("square", "blue", 0.95))
    assert len(said) == 4 and videos.shape == (4, 9, 32, 32, 3) and videos.dtype == np.uint8


# ------------------------------------------------------------------------------------- the shipped shortcut
def test_the_shipped_shortcut_vlm_reads_the_word_off_the_value(clean, shortcut_vlm):
    shortcut = planted_shortcut(shortcut_vlm)
    planted = measure_shortcut(shortcut_vlm, shortcut, count=48)
    assert planted["raise"] >= 0.5, planted
    assert planted["min_accuracy_elsewhere"] >= 0.95, planted
    honest = measure_shortcut(clean, shortcut, count=48)
    assert honest["raise"] < 0.1, honest
    with pytest.raises(ValueError, match="no planted shortcut"):
        planted_shortcut(clean)


def test_the_shortcut_coupling_is_the_toy_coupling_for_the_shortcut_vlm(clean, shortcut_vlm):
    gen = toyworld.load_generator()
    shared = load_shortcut_coupling(vlm=shortcut_vlm, generator=gen)
    original = toyworld.load_coupling(vlm=clean, generator=gen)
    assert shared.meta["shared_from"]["largest_token_difference"] == 0.0
    for (name, a), b in zip(shared.model.state_dict().items(), original.model.state_dict().values()):
        assert torch.equal(a, b), name
    with pytest.raises(ValueError, match="was fitted for VLM"):
        load_shortcut_coupling(vlm=clean)


def test_a_coupling_is_not_shared_with_another_vision_tower(clean):
    from l2vkit.toyworld.train_vlm import build_untrained
    from l2vkit.toyworld.vlm_data import held_out

    other = build_untrained(seed=1)
    with pytest.raises(ValueError, match="other visual tokens"):
        share_coupling(toyworld.load_coupling(vlm=clean), other, reference_vlm=clean, videos=held_out(2)[1])


def test_training_with_a_shortcut_and_frozen_vision_keeps_the_vision_tower(tmp_path, clean):
    from l2vkit.toyworld.train_vlm import train

    out = tmp_path / "vlm"
    vlm, info = train(out, steps=2, batch=4, eval_every=1000, checkpoint_every=1000, progress=False,
                      shortcut="square=blue@0.95", init=data_path("toy_vlm"), freeze_vision=True)
    trained, original = vlm.model.model.visual.state_dict(), clean.model.model.visual.state_dict()
    for (name, a), b in zip(trained.items(), original.values()):
        assert torch.equal(a, b), name
    saved = json.loads((out / "training_info.json").read_text())
    assert saved["shortcut"]["word"] == "square" and saved["freeze_vision"] is True
    assert set(saved["shortcut"]["measured"]) >= {"raise", "accuracy_elsewhere"}


def test_init_from_a_folder_without_weights_says_so(tmp_path):
    from l2vkit.toyworld.train_vlm import train

    with pytest.raises(FileNotFoundError, match="no model.safetensors"):
        train(tmp_path / "vlm", steps=1, init=tmp_path, progress=False)


# ------------------------------------------------------------------------------------------ randomisation
def test_cascading_randomisation_touches_only_its_stages(clean):
    names = [name for name, _ in cascade_stages(clean)]
    assert names == ["head", "layer 2", "layer 1", "layer 0", "embeddings"]
    copy = randomised(clean, 2, seed=0)
    before, after = dict(clean.model.named_parameters()), dict(copy.model.named_parameters())
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(".layers.2." in k or k.endswith("language_model.norm.weight") for k in changed)
    assert "randomised(top 2, seed 0)" in copy.model_id and copy.randomisation["stages"] == ["head", "layer 2"]
    full = randomised(clean, seed=0)
    full_changed = {k for k in before if not torch.equal(before[k], dict(full.model.named_parameters())[k])}
    assert any("embed_tokens" in k for k in full_changed)
    assert not any(".visual." in k for k in full_changed)  # Φ feeds the vision tower's tokens: it stays
    with pytest.raises(ValueError, match="has 5 stages"):
        randomised(clean, 6)


def test_a_randomised_vlm_no_longer_reads_the_words(clean):
    from l2vkit.toyworld.evaluate_vlm import teacher_forced_accuracy
    from l2vkit.toyworld.vlm_data import held_out

    attrs, videos = held_out(32)
    assert min(teacher_forced_accuracy(clean, attrs, videos).values()) >= 0.9
    scores = teacher_forced_accuracy(randomised(clean, seed=0), attrs, videos)
    assert sum(scores.values()) / len(scores) <= 0.6, scores  # chance over the slots averages 0.34


def test_verdicts_follow_the_measurements():
    labels = ("trained", "top layer", "all layers", "full", "Δω ≡ 1")
    same_q, other_q = {"cosine": 0.99, "norm_ratio": 1.0}, {"cosine": 0.4, "norm_ratio": 0.9}
    same = {"flip": 1.0, "kept": 1.0, "pixel_change": 0.0, "perceptual_change": 0.0, "attributes_differ": 0.0}
    changed = {**same, "flip": 0.1, "attributes_differ": 0.9}
    vectors = {label: same_q for label in labels} | {"full": other_q}
    videos = {label: same for label in labels} | {"full": changed}
    text = verdict(vectors, videos)  # no VLM gives the same; a random one changes it: it adds noise, not knowledge
    assert text.startswith("does NOT depend on what the VLM knows") and "a randomised VLM changes it" in text
    text = verdict(vectors | {"Δω ≡ 1": other_q}, videos | {"Δω ≡ 1": changed})
    assert text.startswith("depends on the VLM") and "flip 100% → 10%" in text
    text = verdict(vectors, videos | {"full": same})
    assert "a randomised VLM does not change it" in text
    table = format_table({"red->blue": vectors}, {"red->blue": videos}, {"red->blue": text})
    assert "| red->blue | full | 0.40 | 0.90 | 10% |" in table and "does NOT depend" in table


# ------------------------------------------------------------------------------------- VLM-directed concepts
def test_vlm_directed_training_raises_the_reading_resumes_and_saves(clean, tmp_path, interrupted_adam):
    from l2vkit.concepts import ConceptBank, build_concept_cache
    from l2vkit.concepts.vlm_directed import cache_log_odds, train_vlm_directed
    from l2vkit.toyworld import toy_captions

    gen = toyworld.load_generator()
    coupling = toyworld.load_coupling(vlm=clean, generator=gen)
    pairs = [p for p in toyworld.contrast_pairs() if p.name == "circle->square"]
    cache = build_concept_cache(gen, clean, coupling, pairs, captions=toy_captions, samples_per_pair=3,
                                timesteps_per_sample=3, steps=6, divergence_kind="none", directions="forward",
                                progress=False)
    settings = dict(steps=10, lr=5e-2, batch_per_pair=3, trust=1.0, closed_loop_every=3, progress=False)
    whole = train_vlm_directed(gen, clean, coupling, cache, pairs, **settings)
    assert whole.meta["direction"] == "vlm" and whole["circle->square"].abs().sum() > 0
    first, last = whole.history[0], whole.history[-1]
    assert set(first) >= {"vlm", "trust", "log_odds", "pixels"} and "pixels" in last
    before = cache_log_odds(gen, clean, coupling, cache, pairs)["circle->square"]
    after = cache_log_odds(gen, clean, coupling, cache, pairs, whole)["circle->square"]
    assert after > before + 5  # the VLM reads more of the target word through Φ (-10.4 → 1.1 when written)
    state = tmp_path / "vd.train_state.pt"
    with interrupted_adam(5):
        train_vlm_directed(gen, clean, coupling, cache, pairs, checkpoint=state, checkpoint_every=1, **settings)
    resumed = train_vlm_directed(gen, clean, coupling, cache, pairs, checkpoint=state, checkpoint_every=1, **settings)
    assert torch.allclose(resumed["circle->square"], whole["circle->square"], atol=1e-6)
    again = ConceptBank.load(whole.save(tmp_path / "vd.safetensors"), generator=gen)
    assert torch.equal(again["circle->square"], whole["circle->square"]) and again.meta["direction"] == "vlm"
    with pytest.raises(TypeError, match="unknown settings"):
        train_vlm_directed(gen, clean, coupling, cache, pairs, steps=1, momentum=0.9)
    both = build_concept_cache(gen, clean, coupling, pairs, captions=toy_captions, samples_per_pair=2,
                               timesteps_per_sample=2, steps=6, divergence_kind="none", directions="both",
                               progress=False)
    with pytest.raises(ValueError, match="directions='forward'"):
        train_vlm_directed(gen, clean, coupling, both, pairs, steps=1)


def test_the_shortcut_evaluation_picks_its_pair_and_seeds_without_the_value():
    from l2vkit.toyworld.attributes import parse_caption
    from l2vkit.toyworld.shortcut_eval import planted_rate, seeds_without_value, shortcut_pair
    from l2vkit.toyworld.steering_eval import _captions

    shortcut = Shortcut("square", "blue", 0.95)
    pair = shortcut_pair(toyworld.contrast_pairs(), shortcut)
    assert pair.name == "circle->square"
    seeds = seeds_without_value(pair, shortcut, 12)
    assert len(seeds) == 12 and all(parse_caption(_captions(pair, [s])[0]).colour != "blue" for s in seeds)
    with pytest.raises(ValueError, match="no shipped pair moves into 'snow'"):
        shortcut_pair([pair], Shortcut("snow", "blue"))
    unsteered = [{"colour": "red"}, {"colour": "blue"}, {"colour": "green"}, {"colour": "red"}]
    steered = [{"colour": "blue"}, {"colour": "blue"}, {"colour": "green"}, {"colour": "purple"}]
    result = {"measured": {"phi=0": unsteered, "phi=1": steered}}
    assert planted_rate(result, "phi=1", shortcut) == 0.25  # blue already unsteered does not count


def test_a_vlm_run_resumes_only_with_the_same_shortcut(tmp_path):
    from l2vkit.toyworld.train_vlm import train
    from l2vkit.training import load_state, save_state

    out = tmp_path / "vlm"
    train(out, steps=2, batch=2, eval_every=1000, checkpoint_every=1, minutes=0.0, progress=False,
          shortcut="square=blue@0.95")  # stops after one step, leaving its state
    with pytest.raises(ValueError, match="from a run with other settings"):
        train(out, steps=2, batch=2, eval_every=1000, progress=False, shortcut="circle=red@0.95")
    state_file = out.with_name(out.name + ".train_state") / "state.pt"
    state = load_state(state_file)
    del state["settings"]  # a state saved before these options: a plain run
    save_state(state_file, state)
    with pytest.raises(ValueError, match="from a run with other settings"):
        train(out, steps=2, batch=2, eval_every=1000, progress=False, shortcut="square=blue@0.95")
    with pytest.raises(ValueError, match="give init="):
        train(tmp_path / "other", steps=1, progress=False, freeze_vision=True)
