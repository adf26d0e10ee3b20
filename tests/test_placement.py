"""Placing a concept's rows on any caption's tokens: the slot word, shared words, offsets, special tokens."""
import warnings

import numpy as np
import pytest
import torch

from l2vkit import toyworld
from l2vkit.concepts.placement import (TokenLayout, place, placed_rows, placement, reference_captions, slot_span,
                                       token_layout)
from l2vkit.pairs import ContrastPair
from l2vkit.steering import reverse_name, steer, steered_condition

RED = ContrastPair("red", "blue", "colour", "attribute")
DESERT = ContrastPair("desert", "snow", "scene", "scene")


@pytest.fixture(scope="module")
def tokenizer():
    from l2vkit.minilm import load_minilm

    return load_minilm()[0]


def test_slot_span_ignores_case_and_punctuation_and_refuses_ambiguity():
    assert slot_span("Red, a circle", "red") == (0, 3)
    assert slot_span("a (red) circle", "red") == (3, 6)
    with pytest.raises(ValueError, match="holds the word 'red' 2 times"):
        slot_span("a red and red circle", "red")
    with pytest.raises(ValueError, match="holds the word 'red' 0 times"):
        slot_span("a green circle", "red")


def test_token_layout_finds_the_slot_through_the_offsets(tokenizer):
    layout = token_layout(tokenizer, "Red, a small circle moves up in the desert", "red")
    assert [layout.keys[i] for i in layout.slot] == ["red"]  # the comma is not part of the slot
    assert (layout.start, layout.end) == (1, len(layout.keys) - 1)  # [CLS] … [SEP]
    assert layout.keys[0] is None and layout.keys[-1] is None  # the special tokens the tokenizer adds


def test_a_tokenizer_without_offsets_is_refused(tokenizer):
    class Slow:
        is_fast = False

    with pytest.raises(ValueError, match="Slow gives no character offsets.*use_fast=True"):
        token_layout(Slow(), "a red circle", "red")


def test_captions_laid_out_as_in_training_get_q_exactly_as_trained(tokenizer):
    for pair in toyworld.contrast_pairs():
        references = reference_captions(tokenizer, pair, toyworld.toy_captions(pair, 64, seed=0))
        for text in toyworld.toy_captions(pair, 50, seed=123):
            assert placed_rows(tokenizer, pair, references, text, 24) == list(range(24)), text
    # free-form captions too: a caption of a recorded layout (token count, slot positions) is one training saw
    references = ["a red car drives on a long road"]
    assert placed_rows(tokenizer, RED, references, "a red dog chases a car down here", 24) == list(range(24))


def test_other_word_orders_take_the_rows_of_the_words_playing_the_same_part(tokenizer):
    reference = "a large red triangle moves slowly to the right in the desert"
    ref = token_layout(tokenizer, reference, "red")
    text = "in the sunny sea, a very small red circle moves up"
    layout = token_layout(tokenizer, text, "red")
    rows = placement(ref, layout, 24)
    ref_tokens = tokenizer.convert_ids_to_tokens(tokenizer(reference)["input_ids"])
    tokens = tokenizer.convert_ids_to_tokens(tokenizer(text)["input_ids"])
    got = {tok: (ref_tokens[r] if r >= 0 else None) for tok, r in zip(tokens, rows)}
    assert got["red"] == "red" and got["moves"] == "moves" and got["[CLS]"] == "[CLS]" and got["[SEP]"] == "[SEP]"
    assert got["in"] == "in" and got["a"] == "a"
    assert got["circle"] == "triangle" and got["small"] == "large"  # other words: by their offset from the slot
    assert got["sunny"] is None  # before the slot by more than the reference's words reach
    # padding after [SEP] takes the reference's padding rows, in order
    assert rows[len(tokens):] == list(range(len(ref_tokens), len(ref_tokens) + 24 - len(tokens)))


def test_a_slot_word_past_the_encoded_tokens_is_refused(tokenizer):
    text = "a " + "very " * 21 + "red circle"  # 'red' is token 23: the 24th, where truncation puts [SEP]
    with pytest.raises(ValueError, match=r"'red->blue': .*no token of 'red' within the 24 tokens the generator enc"):
        placed_rows(tokenizer, RED, ["a red circle"], text, 24)
    assert placed_rows(tokenizer, RED, ["a red circle"], "a " + "very " * 20 + "red circle", 24)[22] == 2


def test_words_after_a_slot_word_of_another_length_keep_their_offsets(tokenizer):
    """Steering back from a target word of two tokens ('mage', '##nta'): the words after it keep their rows."""
    magenta = ContrastPair("red", "magenta", "colour", "attribute")
    reference = "a large red triangle moves quickly up in the snow"
    rows = placed_rows(tokenizer, magenta, [reference], "a small magenta circle moves slowly up in the sea", 24)
    layout = token_layout(tokenizer, "a small magenta circle moves slowly up in the sea", "magenta")
    assert len(layout.slot) == 2 and rows[layout.slot[0]] == rows[layout.slot[1]] == 3
    assert rows[layout.slot[-1] + 1:layout.end] == list(range(4, 11))  # circle → triangle, moves → moves, …
    assert rows[2] == 2  # 'small' before the slot: 'large''s row


def test_placed_rows_steer_from_the_word_held_word_chooses():
    with pytest.raises(ValueError, match="'red->blue': .*must hold 'red->blue'.s source word 'red' once.*'red' 2×"):
        placed_rows(None, RED, ["a red circle"], "a red red blue circle", 24)


def test_byte_level_and_sentencepiece_word_markers_are_not_part_of_a_word():
    from l2vkit.concepts.placement import _token_key

    assert _token_key("Ġthe") == _token_key("▁The") == _token_key("the") == "the"


def test_an_unknown_word_is_a_word_not_a_special_token():
    from l2vkit.testing_generators import tiny_word_tokenizer

    tokenizer = tiny_word_tokenizer()
    layout = token_layout(tokenizer, "magenta a red circle", "magenta")
    assert layout.slot == (0,) and layout.start == 0  # '<unk>', but a word of the caption


def test_place_zeroes_rows_without_a_counterpart():
    q = torch.arange(12.0).view(4, 3)
    assert torch.equal(place(q, [2, -1, 0, 3]), torch.tensor([[6.0, 7, 8], [0, 0, 0], [0, 1, 2], [9, 10, 11]]))


def test_the_target_word_takes_the_slot_rows_when_steering_back(tokenizer):
    references = ["a large red triangle moves slowly up in the desert"]
    rows = placed_rows(tokenizer, RED, references, "a large blue triangle moves slowly up in the desert", 24)
    assert rows == list(range(24))


def test_steered_condition_places_rows_per_caption_and_keeps_plain_dicts_as_trained(tokenizer):
    from l2vkit.generator.base import Condition

    class Bank(dict):
        def spec(self, name):
            return RED

        def references(self, name):
            return ["a small red circle moves up in the desert"]

    q = torch.randn(24, 4)
    base = Condition(torch.zeros(2, 24, 4))
    texts = ["a small red circle moves up in the desert", "in the desert, a small red circle moves up"]
    out = steered_condition(base, {"red->blue": 1.0}, Bank({"red->blue": q}), captions=texts, tokenizer=tokenizer)
    assert torch.equal(out.embeds[0], q)  # the reference's own layout: q as trained
    assert not torch.equal(out.embeds[1], q)
    slot = token_layout(tokenizer, texts[1], "red").slot[0]
    assert torch.equal(out.embeds[1, slot], q[3])  # "red" is token 3 of the reference
    plain = steered_condition(base, {"red->blue": 1.0}, {"red->blue": q}, captions=texts, tokenizer=tokenizer)
    assert torch.equal(plain.embeds, q.expand(2, 24, 4))
    with pytest.raises(ValueError, match="1 captions for a condition of batch 2"):
        steered_condition(base, {"red->blue": 1.0}, Bank({"red->blue": q}), captions=texts[:1], tokenizer=tokenizer)


@pytest.fixture(scope="module")
def toy():
    gen = toyworld.load_generator()
    return gen, toyworld.load_concepts(generator=gen)


def test_a_reverse_name_is_the_pair_at_minus_phi(toy):
    _, bank = toy
    assert reverse_name("blue->red", bank) == ("red->blue", -1.0)
    assert reverse_name("red->blue", bank) == ("red->blue", 1.0)
    with pytest.raises(KeyError, match="no concept 'red->green'"):
        reverse_name("red->green", bank)


@pytest.mark.integration
def test_steering_back_from_a_caption_with_the_target_word(toy):
    gen, bank = toy
    caption = "a small blue circle moves slowly up in the desert"
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        back = steer(gen, caption, {"blue->red": 1.0}, concepts=bank, seed=3, steps=4)
        same = steer(gen, caption, {"red->blue": -1.0}, concepts=bank, seed=3, steps=4)
    assert back.settings == [{"red->blue": -1.0}] and np.array_equal(back.video, same.video)
    plain = gen.generate(caption, seed=3, steps=4)
    assert not np.array_equal(back.video, plain)


def test_a_hub_layout_wan_tokenizer_places_rows_too():
    """The tiny Wan pipeline's word-level tokenizer (no leading special token, padding after </s>)."""
    from l2vkit.concepts.placement import generator_tokenizer
    from l2vkit.testing_generators import tiny_generator

    tokenizer = generator_tokenizer(tiny_generator("wan"))
    assert tokenizer is not None
    references = ["a small red circle moves slowly up in the desert"]
    same = placed_rows(tokenizer, RED, references, "a large red square moves quickly down in the sea", 16)
    assert same == list(range(16))
    moved = placed_rows(tokenizer, RED, references, "in the desert a small red circle moves slowly up", 16)
    layout = token_layout(tokenizer, "in the desert a small red circle moves slowly up", "red")
    assert layout.start == 0 and moved[layout.slot[0]] == 2  # "red" is word 2 of the reference


@pytest.mark.integration
def test_placed_concepts_flip_captions_in_another_word_order(toy):
    """Scene first, red → blue: rows as trained flipped 0 of 10 seeds, placed rows 10 of 10 (docs/steering.md)."""
    from l2vkit.toyworld.controls_eval import evaluate_controls

    gen, bank = toy
    result = evaluate_controls(gen, bank, "red->blue", range(2), cases=("structures", "structures as trained"))
    assert {k for k in result if isinstance(result[k], dict)} == {
        f"{s}: {how}" for s in ("scene first", "colour before size", "adverb after direction", "relative clause",
                                "extra adjectives", "unseen wording")
        for how in ("steered", "rows as trained", "prompt swap")} | {
        "prompt swap"}
    assert result["scene first: steered"]["flip"] == 1.0 and result["extra adjectives: steered"]["flip"] == 1.0
    assert result["scene first: rows as trained"]["flip"] == 0.0
    with pytest.raises(ValueError, match="unknown cases"):
        evaluate_controls(gen, bank, "red->blue", range(1), cases=("wind",))
