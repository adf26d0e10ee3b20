"""The amortised concept network: q from two captions, the bank-or-network resolution in steering, training that
resumes, saving, and the errors a user meets (unknown word, two slots, a word the tokenizer splits otherwise)."""
import pytest
import torch

from l2vkit import toyworld
from l2vkit.concepts import build_concept_cache
from l2vkit.concepts.network import ConceptNetwork, build_module
from l2vkit.concepts.network_training import train_concept_network
from l2vkit.concepts.resolve import ConceptsWithNetwork
from l2vkit.pairs import ContrastPair
from l2vkit.provenance import generator_identity
from l2vkit.steering import reverse_name, steer, steered_condition
from l2vkit.toyworld import toy_captions
from l2vkit.toyworld.attributes import ATTRIBUTE_VALUES, FAMILIES

CAPTION = "a small red circle moves slowly up in the desert"


@pytest.fixture(scope="module")
def gen():
    return toyworld.load_generator()


def untrained(gen, vocabulary=ATTRIBUTE_VALUES):
    """A network whose residual is still zero: q = π⁺ − π⁻."""
    module = build_module(gen.text_dim)
    families = {"colour": "attribute", "shape": "attribute", "size": "attribute", "adverb": "action",
                "direction": "action", "scene": "scene"}
    return ConceptNetwork(module, {"width": gen.text_dim, "hidden": 128, "heads": 4, "layers": 2, "ffn": 256},
                          {k: list(v) for k, v in vocabulary.items()}, families,
                          {"generator": generator_identity(gen)})


@pytest.mark.integration
def test_an_untrained_network_gives_the_prompt_embeddings_difference_and_phi_1_is_the_prompt_swap(gen):
    network = untrained(gen)
    pair = network.pair("yellow->purple")
    assert (pair.slot, pair.family) == ("colour", "attribute")
    caption = "a large yellow square moves quickly down in the snow"
    q = network.vectors(gen, [caption], pair)
    minus = gen.encode_prompt(caption).embeds
    plus = gen.encode_prompt(caption.replace("yellow", "purple")).embeds
    assert torch.allclose(q, plus - minus, atol=1e-6)
    # steering back from the target word: −h(π⁺, π⁻), so φ = −1 is the swap back
    back = network.vectors(gen, [caption.replace("yellow", "purple")], pair)
    assert torch.allclose(back, plus - minus, atol=1e-6)
    concepts = ConceptsWithNetwork(None, network, gen)
    steered = steer(gen, caption, {"yellow->purple": 1.0}, concepts=concepts, seed=3, steps=4)
    swapped = gen.sample(gen.encode_prompt(caption.replace("yellow", "purple")), steps=4, seed=3, output="frames")
    assert torch.allclose(steered.latents, swapped.latents.cpu(), atol=1e-4)


@pytest.mark.integration
def test_the_bank_gives_its_pairs_and_the_network_every_other_swap(gen):
    bank = toyworld.load_concepts(generator=gen)
    concepts = ConceptsWithNetwork(bank, untrained(gen), gen)
    assert concepts.origin("red->blue") == "bank" and concepts.origin("blue->red") == "bank"
    assert concepts.origin("yellow->purple") == "network" and concepts.origin("red->green") == "network"
    assert reverse_name("blue->red", concepts) == ("red->blue", -1.0)  # the bank's reverse, not the network
    assert reverse_name("red->green", concepts) == ("red->green", 1.0)
    assert concepts.strength_range("red->green") is None and concepts.strength_range("red->blue") is not None
    with pytest.raises(KeyError, match="reverse of the bank's 'red->blue': steer 'red->blue' with φ < 0"):
        concepts.caption_vectors("blue->red", [CAPTION])
    yellow = "a small yellow circle moves slowly up in the desert"
    with pytest.raises(ValueError, match="'purple->yellow' is set twice"):  # a network pair and its reverse
        steer(gen, yellow, {"yellow->purple": 1.0, "purple->yellow": 1.0}, concepts=concepts, steps=2)
    base = gen.encode_prompt(CAPTION)
    both = steered_condition(base, {"red->blue": 1.0, "circle->triangle": 0.5}, concepts, captions=[CAPTION])
    bank_only = steered_condition(base, {"red->blue": 1.0}, bank, captions=[CAPTION])
    triangle = gen.encode_prompt(CAPTION.replace("circle", "triangle")).embeds
    assert torch.allclose(both.embeds - bank_only.embeds, 0.5 * (triangle - base.embeds), atol=1e-5)


@pytest.mark.integration
def test_bad_pairs_are_refused_with_what_to_do(gen):
    concepts = ConceptsWithNetwork(None, untrained(gen), gen)
    with pytest.raises(KeyError, match="does not know the word 'turquoise'.*colour: red"):
        concepts.spec("red->turquoise")
    with pytest.raises(KeyError, match="swaps words of two slots .*'red' is a colour, 'square' a shape"):
        steer(gen, CAPTION, {"red->square": 1.0}, concepts=concepts, steps=2)
    with pytest.raises(KeyError, match="not a pair name"):
        concepts.spec("red")
    with pytest.raises(ValueError, match="must hold 'green->purple''s source word 'green' once"):
        steer(gen, CAPTION, {"green->purple": 1.0}, concepts=concepts, steps=2)
    # a word the generator's tokenizer splits into several pieces cannot be paired token by token
    split = untrained(gen, {**ATTRIBUTE_VALUES, "colour": [*ATTRIBUTE_VALUES["colour"], "magenta"]})
    with pytest.raises(ValueError, match=r"splits 'red' into 1 token\(s\) and 'magenta' into 2"):
        ConceptsWithNetwork(None, split, gen).caption_vectors("red->magenta", [CAPTION])


@pytest.mark.integration
def test_training_lowers_the_loss_resumes_and_the_network_roundtrips(gen, tmp_path, interrupted_adam):
    vlm = toyworld.load_vlm()
    coupling = toyworld.load_coupling(vlm=vlm, generator=gen)
    pairs = [ContrastPair("red", "green", "colour", "attribute"), ContrastPair("left", "up", "direction", "action")]
    cache = build_concept_cache(gen, vlm, coupling, pairs, captions=toy_captions, samples_per_pair=3,
                                timesteps_per_sample=3, steps=6, directions="both", progress=False)
    with pytest.raises(ValueError, match=r"no family is given for the slot\(s\) \['adverb', 'scene', 'shape'"):
        train_concept_network(gen, cache, pairs, steps=1, progress=False, vocabulary=ATTRIBUTE_VALUES)
    settings = dict(steps=6, batch_per_pair=2, lr=2e-3, progress=False, vocabulary=ATTRIBUTE_VALUES,
                    families=FAMILIES)
    whole = train_concept_network(gen, cache, pairs, **settings)
    assert whole.meta["trained_pairs"] == ["green->red", "left->up", "red->green", "up->left"]
    assert whole.module.out.weight.abs().sum() > 0  # the residual left zero
    state = tmp_path / "network.train_state.pt"
    with interrupted_adam(4):
        train_concept_network(gen, cache, pairs, checkpoint=state, checkpoint_every=1, **settings)
    resumed = train_concept_network(gen, cache, pairs, checkpoint=state, checkpoint_every=1, **settings)
    for (name, a), b in zip(whole.module.state_dict().items(), resumed.module.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6), name
    with pytest.raises(ValueError, match="other settings"):
        train_concept_network(gen, cache, pairs, checkpoint=state, **{**settings, "lr": 1e-3})
    path = whole.save(tmp_path / "net.safetensors")
    again = ConceptNetwork.load(path, generator=gen)
    q1 = whole.vectors(gen, [CAPTION], whole.pair("red->purple"))
    assert torch.equal(q1, again.vectors(gen, [CAPTION], again.pair("red->purple")))
    folder = ConceptNetwork.load(whole.save_pretrained(tmp_path / "net_folder"), generator=gen)
    assert torch.equal(q1, folder.vectors(gen, [CAPTION], folder.pair("red->purple")))
    assert folder.meta["trained_pairs"] == whole.meta["trained_pairs"]
    again.meta["generator"]["weights"] = "0" * 16  # as if trained for another generator
    with pytest.raises(ValueError, match="concept network was trained for generator"):
        ConceptsWithNetwork(None, again, gen)
    (tmp_path / "bank.safetensors").write_bytes(toyworld.load_concepts().save(tmp_path / "b").read_bytes())
    with pytest.raises(ValueError, match="not an l2vkit concept network"):
        ConceptNetwork.load(tmp_path / "bank.safetensors")


@pytest.mark.integration
def test_the_shipped_split_is_its_seeded_rule_and_the_shipped_network_never_trained_on_a_held_out_pair(gen):
    from l2vkit.paths import data_path
    from l2vkit.toyworld.network_split import load_split, make_split

    split = load_split()
    assert make_split(split["seed"]) == split  # the file is what the rule draws
    assert len(split["train"]) == 19 and len(split["known_word_pairs"]) == 4  # colour, shape, direction, scene
    network = ConceptNetwork.load(data_path("toy_concept_network.safetensors"), generator=gen)
    trained = set(network.meta["trained_pairs"])
    assert len(trained) == 38 and not trained & set(split["held_out"])
    assert not any(w in name.split("->") for name in trained for w in split["new_words"])
    assert network.meta["held_out"]["held_out"] == split["held_out"]
    for name in split["held_out"]:  # every held-out pair can still be given
        assert network.knows(name)
