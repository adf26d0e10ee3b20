"""Concept vectors: divergences, captions, the cache, batched training (cached vs naive), the bank and its errors."""
import functools
import math
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from l2vkit import toyworld
from l2vkit.concepts import ConceptBank, build_concept_cache, divergence, slot_prefix, swap_word, train_concepts
from l2vkit.pairs import ContrastPair
from l2vkit.toyworld import toy_captions

RED_BLUE = ContrastPair("red", "blue", "colour", "attribute")


@pytest.mark.unit
def test_divergences_match_independent_formulas():
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import entropy

    rng = np.random.default_rng(0)
    p, q = rng.dirichlet(np.ones(6), size=4), rng.dirichlet(np.ones(6), size=4)
    tp, tq = torch.tensor(p), torch.tensor(q)
    hell = np.sqrt(((np.sqrt(p) - np.sqrt(q)) ** 2).sum(1) / 2)
    assert np.allclose(divergence(tp, tq, "hellinger").numpy(), hell)
    assert np.allclose(divergence(tp, tq, "kl").numpy(), entropy(p, q, axis=1), atol=1e-9)
    assert np.allclose(divergence(tp, tq, "js").numpy(), jensenshannon(p, q, axis=1) ** 2, atol=1e-9)
    assert torch.all(divergence(tp, tp) == 0) and float(divergence(tp, tq).max()) <= 1.0
    assert torch.all(divergence(tp, tq, "none") == 1)
    with pytest.raises(ValueError, match="divergence 'l2'"):
        divergence(tp, tq, "l2")
    with pytest.raises(ValueError, match="shapes"):
        divergence(tp, tq[:, :3])


@pytest.mark.unit
def test_captions_edit_exactly_the_slot_word():
    assert swap_word(RED_BLUE, "a small red circle moves slowly up in the sea") == \
        "a small blue circle moves slowly up in the sea"
    assert slot_prefix(RED_BLUE, "a small red circle moves slowly up in the sea") == "a small"
    with pytest.raises(ValueError, match="does not contain 'red->blue'.s source word 'red'"):
        swap_word(RED_BLUE, "a small green circle moves slowly up in the sea")
    with pytest.raises(ValueError, match="2 times"):
        swap_word(RED_BLUE, "a red red circle")
    caps = toy_captions(RED_BLUE, 6, seed=1)
    assert len(set(caps)) > 1 and all(toyworld.parse_caption(c).colour == "red" for c in caps)


@pytest.mark.unit
def test_toy_captions_in_other_word_orders_name_every_attribute_once():
    from l2vkit.toyworld.attributes import ATTRIBUTE_VALUES, FILLERS

    canonical = toy_captions(RED_BLUE, 200, seed=4)
    mixed = toy_captions(RED_BLUE, 200, seed=4, reordered=0.5)
    assert toy_captions(RED_BLUE, 200, seed=4, reordered=0.0) == canonical
    other = [m for m in mixed if m not in canonical]
    assert 70 <= len(other) <= 130  # about half, drawn at random
    assert all(m == c for m, c in zip(mixed, canonical) if m in canonical)  # the others are left as they were
    assert any(m.startswith("in the") for m in other) and any("that moves" in m for m in other)
    assert any(set(m.replace(",", "").split()) & set(FILLERS) for m in other)
    for text in other:
        words = text.replace(",", "").split()
        for slot, values in ATTRIBUTE_VALUES.items():
            assert sum(w in values for w in words) == 1, (slot, text)
        assert "red" in words
    with pytest.raises(ValueError, match="reordered=1.5"):
        toy_captions(RED_BLUE, 2, reordered=1.5)


@pytest.mark.unit
def test_the_slot_word_is_found_whatever_its_case_and_punctuation():
    """The generator's tokenizer reads "Red," as "red": so does the caption editing (issue 26)."""
    assert swap_word(RED_BLUE, "Red, a circle moves up") == "Blue, a circle moves up"
    assert swap_word(RED_BLUE, "a circle, (red) moves up") == "a circle, (blue) moves up"
    assert swap_word(RED_BLUE, "a RED circle") == "a Blue circle"  # a capital first letter is kept, not all caps
    assert slot_prefix(RED_BLUE, "A small Red circle moves") == "A small"
    with pytest.raises(ValueError, match="2 times"):
        swap_word(RED_BLUE, "a red circle, Red!")
    with pytest.raises(ValueError, match="does not contain"):
        swap_word(RED_BLUE, "a reddish circle")  # a longer word is not the slot word


@pytest.fixture(scope="module")
def toy():
    vlm, gen = toyworld.load_vlm(), toyworld.load_generator()
    return vlm, gen, toyworld.load_coupling(vlm=vlm, generator=gen)


@pytest.fixture(scope="module")
def cache(toy):
    vlm, gen, coupling = toy
    pairs = [RED_BLUE, ContrastPair("desert", "snow", "scene", "scene")]
    return pairs, build_concept_cache(gen, vlm, coupling, pairs, captions=toy_captions, samples_per_pair=3,
                                      timesteps_per_sample=4, steps=8, progress=False)


@pytest.mark.integration
def test_delta_omega_reads_both_trajectories_so_late_steps_keep_their_weight(toy):
    """Along one latent, Δω collapses once the π⁻ trajectory has committed (the last steps); read on the π⁻ and π⁺
    trajectories it stays high wherever the swap still changes the video — so the late steps train q_o too."""
    vlm, gen, coupling = toy
    late = {}
    for read in ("two_paths", "same_latent"):
        c = build_concept_cache(gen, vlm, coupling, [RED_BLUE], captions=toy_captions, samples_per_pair=4,
                                timesteps_per_sample=2, steps=8, omega_read=read, progress=False)
        assert c.meta["omega_read"] == read
        late[read] = float(c.dw[c.t == c.t.min()].mean())
    assert late["two_paths"] > 0.8 and late["same_latent"] < 0.3, late
    with pytest.raises(ValueError, match="omega_read='both'; choose one of two_paths, same_latent"):
        build_concept_cache(gen, vlm, coupling, [RED_BLUE], captions=toy_captions, omega_read="both", progress=False)


@pytest.mark.integration
def test_cache_holds_velocity_differences_and_bounded_weights(cache, toy):
    _, gen, _ = toy
    pairs, c = cache
    assert len(c) == 2 * 3 * 4
    assert c.z_t.shape[1:] == (16, 3, 8, 8) and c.embeds.shape[1:] == (24, 384)
    assert torch.all((c.dw >= 0) & (c.dw <= 1))
    # Δv really is G(π⁺) − G(π⁻) at the cached latent
    i = 5
    plus = gen.encode_prompt(c.captions[i][1])
    with torch.no_grad():
        v_p = gen.velocity(c.z_t[i:i + 1], plus, c.t[i:i + 1])
    assert torch.allclose(c.v_minus[i] + c.dv[i], v_p[0], atol=1e-4)


@pytest.mark.integration
def test_a_cache_for_both_directions_adds_samples_that_steer_back_from_the_target_path(toy):
    """directions="both": the forward samples are the forward cache's, and each has a mirror on π⁺'s trajectory
    (same noise) with the π⁺ caption, Δv = G(π⁻) − G(π⁺) there, the same Δω (Hellinger is symmetric) and sign −1;
    training subtracts q there, and the naive loop agrees with the cached one."""
    vlm, gen, coupling = toy
    settings = dict(captions=toy_captions, samples_per_pair=2, timesteps_per_sample=2, steps=6, progress=False)
    forward = build_concept_cache(gen, vlm, coupling, [RED_BLUE], **settings)
    both = build_concept_cache(gen, vlm, coupling, [RED_BLUE], directions="both", **settings)
    assert both.meta["directions"] == "both" and len(both) == 2 * len(forward)
    ahead, back = both.signs() > 0, both.signs() < 0
    assert int(back.sum()) == len(forward) and torch.equal(both.z_t[ahead], forward.z_t)
    assert torch.equal(both.dw[ahead], forward.dw) and torch.allclose(both.dw[back], forward.dw, atol=1e-6)
    run = gen.sample(gen.encode_prompt([c[1] for c in forward.captions[:2]]), steps=6, seed=0, return_trajectory=True)
    i = int(torch.nonzero(back)[0])
    assert both.captions[i] == forward.captions[0][::-1]  # (own caption π⁺, other caption π⁻)
    assert torch.allclose(both.z_t[i], run.trajectory[0][0].float())
    with torch.no_grad():
        v_minus = gen.velocity(both.z_t[i:i + 1], gen.encode_prompt(forward.captions[0][0]), both.t[i:i + 1])
    assert torch.allclose(both.v_minus[i] + both.dv[i], v_minus[0], atol=1e-4)
    a = train_concepts(gen, both, [RED_BLUE], steps=3, batch_per_pair=4, progress=False)
    b = train_concepts(gen, both, [RED_BLUE], steps=3, batch_per_pair=4, progress=False, loop="naive")
    cosine = torch.nn.functional.cosine_similarity(a["red->blue"].flatten(), b["red->blue"].flatten(), dim=0)
    assert a["red->blue"].abs().sum() > 0 and cosine > 0.99
    assert set(a.references("red->blue")) <= {c[0] for c in forward.captions}  # layouts of the π⁻ captions only
    with pytest.raises(ValueError, match="directions='back'; choose one of forward, both"):
        build_concept_cache(gen, vlm, coupling, [RED_BLUE], directions="back", **settings)


@pytest.mark.integration
def test_training_on_other_word_orders_places_q_as_steering_does(toy):
    """references=: captions laid out as a reference train q's rows in place (so references equal to the training
    captions change nothing); a caption in another word order trains the rows placement gives it."""
    from l2vkit.concepts.placement import generator_tokenizer, placed_rows, training_rows

    vlm, gen, coupling = toy
    mixed = functools.partial(toy_captions, reordered=1.0)
    c = build_concept_cache(gen, vlm, coupling, [RED_BLUE], captions=mixed, samples_per_pair=3,
                            timesteps_per_sample=2, steps=6, progress=False)
    canonical = {"red->blue": toy_captions(RED_BLUE, 8, seed=0)}
    rows, chosen = training_rows(gen, c, [RED_BLUE], canonical)
    length = c.embeds.shape[1]
    assert rows.shape == (len(c), length) and set(chosen["red->blue"]) <= set(canonical["red->blue"])
    own = c.captions[0][0]
    assert own not in canonical["red->blue"]  # another word order
    assert rows[0].tolist() == placed_rows(generator_tokenizer(gen), RED_BLUE, chosen["red->blue"], own, length)
    assert rows[0].tolist() != list(range(length))
    placed = train_concepts(gen, c, [RED_BLUE], steps=2, batch_per_pair=2, progress=False, references=canonical)
    assert placed.references("red->blue") == chosen["red->blue"] and placed["red->blue"].abs().sum() > 0
    itself = {"red->blue": [cap for cap, _ in c.captions]}
    a = train_concepts(gen, c, [RED_BLUE], steps=2, batch_per_pair=2, progress=False, references=itself)
    b = train_concepts(gen, c, [RED_BLUE], steps=2, batch_per_pair=2, progress=False)
    assert torch.equal(a["red->blue"], b["red->blue"])
    with pytest.raises(ValueError, match="references has no captions for red->blue"):
        train_concepts(gen, c, [RED_BLUE], steps=1, progress=False, references={})


@pytest.mark.integration
def test_cached_and_naive_loops_train_the_same_vectors(cache, toy):
    vlm, gen, coupling = toy
    pairs, c = cache
    a = train_concepts(gen, c, pairs, steps=3, batch_per_pair=2, progress=False)
    b = train_concepts(gen, c, pairs, steps=3, batch_per_pair=2, progress=False, loop="naive")
    assert a.pairs == ["red->blue", "desert->snow"]
    # the layouts each q was trained on, for placing it on captions of other word orders
    for k, name in enumerate(a.pairs):
        own = [cap for (cap, _), i in zip(c.captions, c.pair.tolist()) if i == k]
        assert a.references(name) and set(a.references(name)) <= set(own)
    for name in a.pairs:
        assert a[name].abs().sum() > 0
        # same targets up to float rounding (Adam's sign-like first steps can amplify tiny differences)
        assert torch.nn.functional.cosine_similarity(a[name].flatten(), b[name].flatten(), dim=0) > 0.99
    with pytest.raises(ValueError, match="do not match"):
        train_concepts(gen, c, pairs[:1], steps=1, progress=False)


@pytest.mark.integration
def test_recomputed_blocks_train_the_same_vectors(cache, toy):
    """gradient_checkpointing=True really recomputes (each block runs twice per step) and changes nothing else."""
    _, gen, _ = toy
    pairs, c = cache
    calls = {"n": 0}
    block = gen.transformer.blocks[0]
    # a pre-hook: the recomputation stops early, once the saved tensors are rebuilt, before forward hooks run
    hook = block.register_forward_pre_hook(lambda *a: calls.__setitem__("n", calls["n"] + 1))
    try:
        plain = train_concepts(gen, c, pairs, steps=3, batch_per_pair=2, progress=False)
        plain_calls, calls["n"] = calls["n"], 0
        recomputed = train_concepts(gen, c, pairs, steps=3, batch_per_pair=2, progress=False,
                                    gradient_checkpointing=True)
    finally:
        hook.remove()
    assert (plain_calls, calls["n"]) == (3, 6)
    assert not gen.transformer.is_gradient_checkpointing  # switched off again afterwards
    assert recomputed.meta["gradient_checkpointing"] is True
    for name in plain.pairs:
        torch.testing.assert_close(recomputed[name], plain[name], rtol=1e-4, atol=1e-6)


@pytest.mark.integration
def test_training_resumes_and_the_bank_roundtrips(cache, toy, tmp_path, interrupted_adam):
    vlm, gen, coupling = toy
    pairs, c = cache
    whole = train_concepts(gen, c, pairs, steps=4, batch_per_pair=2, progress=False)
    state = tmp_path / "concepts.train_state.pt"
    with interrupted_adam(3):
        train_concepts(gen, c, pairs, steps=4, batch_per_pair=2, progress=False, checkpoint=state, checkpoint_every=1)
    resumed = train_concepts(gen, c, pairs, steps=4, batch_per_pair=2, progress=False, checkpoint=state,
                             checkpoint_every=1)
    assert torch.allclose(whole["red->blue"], resumed["red->blue"], atol=1e-6)
    with pytest.raises(ValueError, match="other settings"):  # a different lr must not continue this state
        train_concepts(gen, c, pairs, steps=4, batch_per_pair=2, progress=False, checkpoint=state, lr=5e-3)
    path = whole.save(tmp_path / "bank.safetensors")
    again = ConceptBank.load(path, generator=gen)
    assert again.pairs == whole.pairs and torch.equal(again["desert->snow"], whole["desert->snow"])
    assert again.spec("red->blue") == RED_BLUE
    with pytest.raises(KeyError, match="no concept 'x->y'"):
        again["x->y"]


@pytest.mark.integration
def test_a_bank_for_another_generator_is_refused(toy, tmp_path):
    from l2vkit.testing_generators import tiny_generator

    bank = toyworld.load_concepts()
    with pytest.raises(ValueError, match=r"trained for generator 'toy:toy_generator'.*but the generator is"):
        bank.check_generator(tiny_generator("wan"))
    # the same folder retrained in place: same id, other weights
    folder = tmp_path / "toy_generator"
    shutil.copytree(toyworld.load_generator().model_id, folder)
    retrained = folder / "transformer" / "diffusion_pytorch_model.safetensors"
    weights = load_file(retrained)
    save_file({k: v + 0.01 for k, v in weights.items()}, str(retrained))
    bank.meta["generator"]["model_id"] = str(folder)  # as if trained on the copy before it was retrained
    with pytest.raises(ValueError, match=r"weights='\w{16}', text_dim=384\), but the generator is .*weights='\w{16}'"):
        bank.check_generator(toyworld.load_generator(folder=folder))
    broken = tmp_path / "bank.safetensors"
    broken.write_bytes(b"\x00" * 40)
    with pytest.raises(ValueError, match="corrupted"):
        ConceptBank.load(broken)


@pytest.mark.integration
def test_shipped_bank_covers_the_shipped_pairs():
    bank = toyworld.load_concepts()
    names = {p.name for p in toyworld.contrast_pairs()}
    assert set(bank.pairs) == names
    families = [bank.spec(n).family for n in bank.pairs]
    assert families.count("attribute") >= 5 and families.count("scene") >= 2
    assert all(torch.isfinite(bank[n]).all() and bank[n].abs().max() > 0 for n in bank.pairs)
    assert bank.meta["generator"]["model_id"] == "toy:toy_generator"
    assert not math.isnan(bank.meta["train_seconds"])


@pytest.mark.unit
def test_weights_fingerprint_tells_retrained_folders_apart(tmp_path, monkeypatch):
    from l2vkit import provenance

    def fingerprint(content: bytes):  # the cache is keyed by mtime, which two quick writes may share
        (tmp_path / "model.safetensors").write_bytes(content)
        provenance._hash_files.cache_clear()
        return provenance.weights_fingerprint(tmp_path)

    first = fingerprint(bytes(range(256)) * 64)
    assert len(first) == 16 and provenance.weights_fingerprint("org/hub-id") is None
    assert fingerprint(bytes(range(256)) * 63 + bytes(256)) != first
    # a file too large to read whole is hashed by its size and two ends: a change at either end still shows
    monkeypatch.setattr(provenance, "_WHOLE_FILE_BYTES", 1024)
    big = bytearray(range(256)) * 64
    before = fingerprint(bytes(big))
    big[-3] ^= 1
    assert fingerprint(bytes(big)) != before


@pytest.mark.unit
def test_captions_come_from_the_caller_never_from_the_toy_world():
    from l2vkit.concepts import pair_captions

    wood = ContrastPair("wood", "metal", "material", "attribute", template="a {material} chair")
    assert pair_captions({"wood->metal": ["a wood chair"]}, wood, 1, seed=0) == ["a wood chair"]
    from_template = lambda pair, count, seed: [pair.captions()[0]] * count  # noqa: E731
    assert pair_captions(from_template, wood, 2, seed=0) == ["a wood chair"] * 2
    assert pair_captions(toy_captions, RED_BLUE, 3, seed=1) == toy_captions(RED_BLUE, 3, seed=1)
    with pytest.raises(ValueError, match="no captions given: pass captions="):
        pair_captions(None, wood, 1, seed=0)
    with pytest.raises(ValueError, match="captions has none for pair 'wood->metal'"):
        pair_captions({"red->blue": ["a small red circle"]}, wood, 1, seed=0)


@pytest.mark.unit
def test_negligible_edits_are_named_with_their_figures():
    """A pair whose cached Δv is a tiny share of the velocity, or whose Δω is ≈ 0, is reported (q would be ≈ 0)."""
    import torch

    from l2vkit.concepts import ConceptCache, negligible_pairs

    def cache(dv_scale, dw):
        v = torch.ones(4, 2, 3, 1, 1)
        return ConceptCache(pair=torch.tensor([0, 0, 1, 1]), z_t=v, t=torch.zeros(4), v_minus=v,
                            dv=torch.cat([v[:2] * 0.5, v[2:] * dv_scale]), dw=torch.tensor([0.9, 0.9, dw, dw]),
                            embeds=torch.zeros(4, 2, 3), mask=None, names=["red->blue", "wood->metal"],
                            captions=[], meta={})

    assert negligible_pairs(cache(0.3, 0.8)) == []
    (tiny_dv,) = negligible_pairs(cache(1e-4, 0.8))
    assert tiny_dv.startswith("pair 'wood->metal' has a negligible edit") and "0.0001 of the velocity" in tiny_dv
    (tiny_dw,) = negligible_pairs(cache(0.3, 1e-5))
    assert "mean Δω is 1e-05" in tiny_dw
    first = cache(1e-4, 0.8).signal()[0]
    assert first == {"pair": "red->blue", "dv_ratio": pytest.approx(0.5), "dw": pytest.approx(0.9)}
