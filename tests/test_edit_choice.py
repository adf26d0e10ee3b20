"""VLM-chosen edits (issue 24): the shortcut VLM chooses the planted value as part of its *square*, the clean VLM does
not, and the chosen set steers, saves and reloads like any concepts."""
import pytest
import torch

import l2vkit
from l2vkit import toyworld
from l2vkit.concepts import swap_word
from l2vkit.baselines import steered_batch
from l2vkit.concepts.network import ConceptNetwork
from l2vkit.concepts.resolve import ConceptsWithNetwork
from l2vkit.edit_choice import VLMChosenConcepts, candidate_edits, choose_edits, edit_vectors, slot_word
from l2vkit.paths import data_path
from l2vkit.toyworld.shortcut import load_shortcut_vlm


@pytest.fixture(scope="module")
def world():
    gen = toyworld.load_generator()
    network = ConceptNetwork.load(data_path("toy_concept_network.safetensors"), generator=gen)
    concepts = ConceptsWithNetwork(toyworld.load_concepts(generator=gen), network, gen)
    pair = concepts.spec("circle->square")
    captions = {pair.name: [c for c in toyworld.toy_captions(pair, 12, seed=0) if "snow" not in c][:8]}
    return gen, concepts, pair, captions


@pytest.fixture(scope="module")
def chosen(world):
    gen, concepts, pair, captions = world
    # the scene slot only, to keep it short; the full run scores all 18 candidates (docs/sanity-checks.md)
    return {label: choose_edits(gen, vlm, concepts, [pair], captions, slots=["scene"], progress=False)
            for label, vlm in (("clean", toyworld.load_vlm()), ("shortcut", load_shortcut_vlm()))}


def test_the_candidates_are_the_own_edit_and_every_other_slots_words(world):
    _, concepts, pair, _ = world
    vocabulary = concepts.network.vocabulary
    every = candidate_edits(vocabulary, pair)
    assert every[0] == ("shape", "square", True)
    assert len(every) == 1 + sum(len(w) for s, w in vocabulary.items() if s != "shape")
    assert candidate_edits(vocabulary, pair, ["scene"])[1:] == [("scene", w, False) for w in vocabulary["scene"]]
    with pytest.raises(KeyError, match="no slot 'weather'"):
        candidate_edits(vocabulary, pair, ["weather"])
    assert slot_word(vocabulary, "scene", "a small red circle moves slowly up in the sea") == "sea"


def test_the_shortcut_vlm_chooses_the_planted_value_and_the_clean_vlm_does_not(chosen):
    clean = {s.value: s for s in chosen["clean"].scores["circle->square"]}
    shortcut = {s.value: s for s in chosen["shortcut"].scores["circle->square"]}
    assert clean["square"].chosen and shortcut["square"].chosen  # both read the real square
    assert shortcut["snow"].chosen and shortcut["snow"].reads_target >= 0.8, shortcut["snow"]
    assert not clean["snow"].chosen and clean["snow"].reads_target <= 0.2, clean["snow"]
    assert shortcut["snow"].gain > clean["snow"].gain + 5
    assert [s.value for s in chosen["clean"].chosen("circle->square")] == ["square"]


def test_chosen_edits_steer_save_and_reload(world, chosen, tmp_path):
    gen, concepts, pair, captions = world
    texts = captions[pair.name][:3]
    own_only = chosen["clean"]
    # only the pair's own edit chosen: the bank's vector, so the bank's video
    bank_run = steered_batch(gen, texts, pair.name, 1.0, concepts.bank, 0)
    own_run = steered_batch(gen, texts, pair.name, 1.0, own_only, 0)
    assert torch.allclose(own_run.latents, bank_run.latents, atol=1e-4)
    # with snow chosen, the condition is the own edit plus the scene edit, per caption
    with_snow = chosen["shortcut"].caption_vectors(pair.name, texts)
    own = edit_vectors(concepts, pair, "shape", "square", texts, own=True)
    snow = edit_vectors(concepts, pair, "scene", "snow", texts)
    assert torch.allclose(with_snow, own + snow) and snow.abs().sum() > 0
    again = VLMChosenConcepts.load(chosen["shortcut"].save(tmp_path / "chosen.json"), concepts)
    assert again.scores == chosen["shortcut"].scores and again.meta["vlm"] == chosen["shortcut"].meta["vlm"]
    rows = again.table()
    assert {r["edit"] for r in rows if r["chosen"]} == {"shape → square (the pair's own)", "scene → snow"}
    assert again.edited_slots(pair.name) == {"shape", "scene"} and own_only.edited_slots(pair.name) == {"shape"}
    with pytest.raises(KeyError, match="computed per caption"):
        again[pair.name]
    (tmp_path / "other.json").write_text('{"scores": {}, "meta": {"kind": "a concept bank"}}')
    with pytest.raises(ValueError, match="holds no VLM-chosen edits"):
        VLMChosenConcepts.load(tmp_path / "other.json", concepts)
    # l2vkit.steer takes them as concepts; steering back from a square applies the pair's own edit only
    result = l2vkit.steer(gen, texts[0], {pair.name: 1.0}, concepts=again, seed=0)
    assert result.videos[0].shape == gen.sample(gen.encode_prompt(texts[:1]), seed=0, output="frames").frames.shape
    back = [swap_word(pair, texts[0])]
    assert torch.allclose(again.caption_vectors(pair.name, back),
                          edit_vectors(concepts, pair, "shape", "square", back, own=True))
    with pytest.raises(KeyError, match="no edits were chosen for 'red->blue'"):
        again.chosen("red->blue")


def test_bad_choices_are_refused(world):
    gen, concepts, pair, captions = world
    vlm = toyworld.load_vlm()
    with pytest.raises(ValueError, match="reads_target must be in"):
        choose_edits(gen, vlm, concepts, [pair], captions, reads_target=0.0, progress=False)
    with pytest.raises(ValueError, match="min_gain must be"):
        choose_edits(gen, vlm, concepts, [pair], captions, min_gain=float("nan"), progress=False)
    other = ConceptsWithNetwork(None, concepts.network, gen)
    with pytest.raises(KeyError, match="the bank holds no vector for 'circle->square'"):
        choose_edits(gen, vlm, other, [pair], captions, progress=False)
    with pytest.raises(ValueError, match="no captions for 'circle->square'"):
        choose_edits(gen, vlm, concepts, [pair], {}, progress=False)
    with pytest.raises(ValueError, match="source word 'circle'"):  # a caption without the source word, named
        choose_edits(gen, vlm, concepts, [pair], {pair.name: ["a small red square moves slowly up in the sea"]},
                     progress=False)
