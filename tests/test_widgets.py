"""The logit editor: the pure render function driven through a sequence of edits, the debouncer, and the thin
ipywidgets layer (no kernel needed: the Output is redrawn by assigning its outputs)."""
import threading
import time

import numpy as np
import pytest

from l2vkit import toyworld
from l2vkit.widgets import (Debouncer, EditorState, LogitEditor, RenderStopped, editable_pairs, logit_editor,
                            render)

CAPTION = "a small red circle moves slowly up in the desert"
GRASS = "a large green square moves quickly down in the grass"


@pytest.fixture(scope="module")
def toy():
    vlm, gen = toyworld.load_vlm(), toyworld.load_generator()
    return dict(generator=gen, vlm=vlm, coupling=toyworld.load_coupling(vlm=vlm, generator=gen),
                concepts=toyworld.load_concepts(generator=gen))


@pytest.mark.unit
def test_state_edits_are_copies():
    state = EditorState(CAPTION, {"red->blue": 1})
    assert state.strengths == {"red->blue": 1.0} and state.window == (0.0, 1.0)
    moved = state.with_strength("desert->snow", 0.5).edit(window=[0.2, 0.8], seed=3)
    assert moved.strengths == {"red->blue": 1.0, "desert->snow": 0.5} and moved.window == (0.2, 0.8)
    assert state.strengths == {"red->blue": 1.0} and state.seed == 0  # the original is untouched
    assert moved.key() != state.key() and EditorState(CAPTION, {"red->blue": 1.0}).key() == state.key()
    with pytest.raises(ValueError, match="window"):
        EditorState(CAPTION, window=(0.1, 0.5, 0.9))


@pytest.mark.integration
def test_editable_pairs_follow_the_caption(toy):
    bank = toy["concepts"]
    assert editable_pairs(CAPTION, bank) == ["red->blue", "circle->square", "small->large", "slowly->quickly",
                                             "desert->snow"]
    # "large", "square", "quickly": the target words of three pairs, steered back by φ < 0
    assert editable_pairs(GRASS, bank) == ["green->yellow", "circle->square", "small->large", "slowly->quickly",
                                           "grass->sea"]
    assert editable_pairs("a red red circle", bank) == ["circle->square"]  # an ambiguous slot is not editable
    assert editable_pairs("", bank) == []


@pytest.mark.integration
def test_render_follows_a_sequence_of_edits(toy):
    cache = {}
    seq = {}
    state = EditorState(CAPTION, seed=1)
    seq["plain"] = render(state, **toy, measure=toyworld.measure, cache=cache)
    seq["snow"] = render(state := state.with_strength("desert->snow", 1.0), **toy, measure=toyworld.measure,
                         cache=cache)
    seq["late"] = render(state.edit(window=(0.6, 1.0)), **toy, cache=cache)
    seq["again"] = render(EditorState(CAPTION, {"desert->snow": 1.0}, seed=1), **toy, measure=toyworld.measure)
    seq["blue"] = render(EditorState(CAPTION, {"red->blue": 1.0}, seed=1), **toy, cache=cache)
    seq["grass"] = render(state.edit(caption=GRASS), **toy, cache=cache)

    plain, snow, late, again, blue, grass = seq.values()
    # no edit: exactly the unsteered sample; every editable pair is read, nothing active
    assert np.array_equal(plain.video, toy["generator"].generate(CAPTION, seed=1))
    assert np.array_equal(plain.video, plain.reference) and plain.active == {}
    assert plain.editable == editable_pairs(CAPTION, toy["concepts"]) and set(plain.probs) == set(plain.editable)
    # φ 0 → 1: the video changes and the target word's probability rises, through Φ and from the pixels
    assert not np.array_equal(snow.video, plain.video) and np.array_equal(snow.reference, plain.video)
    assert snow.target_probability("desert->snow") > plain.target_probability("desert->snow") + 0.5
    assert snow.target_probability("desert->snow", read="pixels") > 0.9
    assert snow.target_probability("desert->snow", video="unsteered") == plain.target_probability("desert->snow")
    assert snow.measured.scene == "snow" and plain.measured.scene == "desert"
    assert "snow" in snow.vlm_caption and "desert" in plain.vlm_caption
    assert "desert-&gt;snow φ=1" in snow.html and snow.html != plain.html
    assert set(snow.figures) == {"probabilities via Φ", "probabilities from pixels", "frames"}
    # a window changes the video again
    assert not np.array_equal(late.video, snow.video) and not np.array_equal(late.video, plain.video)
    assert "in steps 0.6–1" in late.html
    # pure: the same state gives the same output, with or without the cache
    assert np.array_equal(again.video, snow.video) and again.probs == snow.probs and again.html == snow.html
    # colour: the pixels (and the VLM's caption) follow the edit
    assert blue.target_probability("red->blue", read="pixels") > 0.9 > plain.target_probability("red->blue",
                                                                                                 read="pixels")
    assert "blue" in blue.vlm_caption
    # a new caption: other editable pairs; the old strength is ignored and reported
    assert grass.editable == editable_pairs(GRASS, toy["concepts"]) and grass.ignored == ["desert->snow"]
    assert grass.active == {} and "ignored" in grass.html
    assert np.array_equal(grass.video, toy["generator"].generate(GRASS, seed=1))


@pytest.mark.integration
def test_render_errors_and_stop(toy):
    with pytest.raises(ValueError, match="empty"):
        render(EditorState("   "), **toy)
    with pytest.raises(KeyError, match="no concept"):
        render(EditorState(CAPTION, {"red->green": 1.0}), **toy)
    with pytest.raises(ValueError, match="contains none of the"):
        render(EditorState(CAPTION, {"red->blue": 1.0}, window=(0.5, 0.5)), **toy)
    stop = threading.Event()
    stop.set()
    with pytest.raises(RenderStopped):
        render(EditorState(CAPTION, {"red->blue": 1.0}), **toy, stop=stop)


@pytest.mark.integration
def test_a_strength_outside_the_measured_range_shows_in_the_summary_not_as_a_warning(toy):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = render(EditorState(CAPTION, {"red->blue": 2.0}, seed=1, steps=2), **toy)
        inside = render(EditorState(CAPTION, {"red->blue": 1.0}, seed=1, steps=2), **toy)
    assert "strength range" in out.outside["red->blue"] and "⚠ strength" in out.html
    assert inside.outside == {} and "⚠" not in inside.html


class FakeTimer:
    """A threading.Timer stand-in that fires only when told to."""

    made = []

    def __init__(self, delay, fn):
        self.delay, self.fn, self.cancelled, self.daemon = delay, fn, False, False
        FakeTimer.made.append(self)

    def start(self):
        pass

    def cancel(self):
        self.cancelled = True


@pytest.mark.unit
def test_debouncer_collapses_rapid_calls_into_one():
    seen = []
    FakeTimer.made.clear()
    debounced = Debouncer(lambda phi: seen.append(phi), delay=0.3, timer_factory=FakeTimer)
    for i in range(25):
        debounced(i / 10)
    assert len(FakeTimer.made) == 25 and all(t.cancelled for t in FakeTimer.made[:-1])
    assert not FakeTimer.made[-1].cancelled and FakeTimer.made[-1].delay == 0.3
    FakeTimer.made[-1].fn()  # the last timer expires
    assert seen == [2.4] and debounced.calls == 1 and not debounced.pending
    FakeTimer.made[-2].fn()  # a cancelled timer that fires anyway finds nothing to do
    assert seen == [2.4]


@pytest.mark.unit
def test_debouncer_with_a_real_timer():
    seen = []
    debounced = Debouncer(lambda phi: seen.append(phi), delay=0.4)
    for i in range(25):  # microseconds apart: well inside the delay
        debounced(i / 10)
    assert debounced.pending
    deadline = time.time() + 10
    while debounced.pending and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.1)
    assert seen == [2.4] and debounced.calls == 1
    debounced(7.0)
    debounced.cancel()
    time.sleep(0.8)
    assert seen == [2.4]


@pytest.mark.unit
def test_debouncer_manual_flush():
    seen = []
    debounced = Debouncer(lambda *a, **k: seen.append((a, k)), delay=None)
    for i in range(5):
        debounced(i, phi=i)
    time.sleep(0.05)
    assert seen == [] and debounced.pending
    debounced.flush()
    debounced.flush()  # nothing pending: no second call
    assert seen == [((4,), {"phi": 4})] and debounced.calls == 1


@pytest.mark.integration
def test_editor_widget_wires_controls_to_render(toy):
    editor = logit_editor(toy["generator"], toy["vlm"], toy["coupling"], toy["concepts"], caption=CAPTION,
                          delay=None, measure=toyworld.measure)
    assert isinstance(editor, LogitEditor)
    assert list(editor.sliders) == editable_pairs(CAPTION, toy["concepts"])
    slider = editor.sliders["desert->snow"]
    assert (slider.min, slider.max, slider.step) == (-2.0, 2.0, 0.05)
    assert editor.output.outputs == ()

    editor.live.value = True
    for phi in (0.2, 0.5, 0.8, 1.0):  # rapid slider moves: one pending render
        editor.set_strength("desert->snow", phi)
    assert editor.debouncer.pending and editor.renders == 0
    editor.debouncer.flush()
    assert editor.renders == 1 and editor.last.state.strengths["desert->snow"] == 1.0
    kinds = [set(o["data"]) for o in editor.output.outputs]
    assert {"text/html", "text/plain"} in kinds and any("image/png" in k for k in kinds)
    assert "rendered" in editor.status.value
    first = editor.output.outputs

    editor.window.value = (0.5, 1.0)
    editor.debouncer.flush()
    assert editor.renders == 2 and editor.last.state.window == (0.5, 1.0)
    assert editor.output.outputs != first  # cleared and redrawn

    editor.caption.value = GRASS  # new caption: new sliders, old φ gone
    assert list(editor.sliders) == editable_pairs(GRASS, toy["concepts"])
    editor.debouncer.flush()
    assert editor.last.active == {} and editor.last.editable == list(editor.sliders)

    editor.live.value = False
    editor.set_strength("grass->sea", 1.0)
    assert not editor.debouncer.pending  # not live: waits for "generate"
    editor.generate_button.click()
    assert editor.renders == 4 and editor.last.active == {"grass->sea": 1.0}

    editor.window.value = (0.5, 0.5)  # an empty window: the error is shown, nothing crashes
    out = editor.render_now()
    assert out is None and "contains none of the" in editor.status.value and editor.renders == 4

    editor.live.value = True
    editor.set_strength("grass->sea", 0.5)
    editor.stop_button.click()
    assert not editor.debouncer.pending and "stopped" in editor.status.value
    with pytest.raises(KeyError, match="cannot edit"):
        editor.set_strength("red->blue", 1.0)


@pytest.mark.unit
def test_editable_pairs_read_the_slot_word_as_steer_does():
    from l2vkit.pairs import ContrastPair

    class Bank:
        pairs = ["red->blue"]

        def spec(self, name):
            return ContrastPair("red", "blue", "colour", "attribute")

    assert editable_pairs("Red, a circle moves up", Bank()) == ["red->blue"]  # steer accepts it
    assert editable_pairs("a red circle, Red!", Bank()) == []  # steer refuses it: twice
    assert editable_pairs("a Blue circle", Bank()) == ["red->blue"]  # steered back with φ < 0
    assert editable_pairs("a red circle and a blue one", Bank()) == ["red->blue"]  # forward: the source word wins
    assert editable_pairs("a blue circle and a blue one", Bank()) == []


@pytest.mark.integration
def test_a_caption_with_the_target_word_steers_back(toy):
    """On "a small red square …" the circle->square slider steers back to a circle with φ < 0: the VLM reads the
    slot after "a small red", the video shows a circle, and the summary says which way the slider goes."""
    square = CAPTION.replace("circle", "square")
    out = render(EditorState(square, {"circle->square": -1.0}, seed=2), **toy, measure=toyworld.measure)
    assert "circle->square" in out.editable and out.active == {"circle->square": -1.0}
    assert out.outside == {}  # inside the range measured for steering back ([0.25, 2]): no warning
    assert out.measured.shape == "circle", out.measured
    assert out.target_probability("circle->square", video="unsteered", read="pixels") > 0.9  # P(square) before
    assert out.target_probability("circle->square", read="pixels") < 0.1  # and after: a circle
    assert "steering back" in out.html and "φ &lt; 0 steers towards &#x27;circle&#x27;" in out.html


@pytest.mark.integration
def test_the_editor_swaps_any_two_words_through_a_concept_network(toy):
    from l2vkit.concepts.network import ARCHITECTURE, ConceptNetwork, build_module
    from l2vkit.concepts.resolve import ConceptsWithNetwork
    from l2vkit.provenance import generator_identity
    from l2vkit.toyworld.attributes import ATTRIBUTE_VALUES, FAMILIES

    gen = toy["generator"]
    network = ConceptNetwork(build_module(gen.text_dim), {"width": gen.text_dim, **ARCHITECTURE},
                             {k: list(v) for k, v in ATTRIBUTE_VALUES.items()},
                             {s: f for f, slots in FAMILIES.items() for s in slots},
                             {"generator": generator_identity(gen)})
    concepts = ConceptsWithNetwork(toy["concepts"], network, gen)
    editor = logit_editor(gen, toy["vlm"], toy["coupling"], concepts, caption=CAPTION, delay=None,
                          measure=toyworld.measure)
    assert editor.add_box.layout.display is None  # shown: a network can give new pairs
    editor.source_word.value, editor.target_word.value = "Red", "purple"
    editor.add_button.click()
    assert "red->purple" in editor.sliders and "from the network" in editor.status.value
    assert "(network)" in editor.sliders["red->purple"].description
    assert "(network)" not in editor.sliders["red->blue"].description
    editor.set_strength("red->purple", 1.0)
    out = editor.render_now()
    assert out.active == {"red->purple": 1.0} and out.measured.colour == "purple"
    assert "from the network" in out.html and "red-&gt;purple" in out.html
    editor.source_word.value, editor.target_word.value = "red", "square"
    editor.add_button.click()
    assert "two slots" in editor.status.value and "red->square" not in editor.sliders
    editor.source_word.value, editor.target_word.value = "green", "purple"
    editor.add_button.click()
    assert "holds neither" in editor.status.value
    plain = logit_editor(gen, toy["vlm"], toy["coupling"], toy["concepts"], caption=CAPTION, delay=None)
    assert plain.add_box.layout.display == "none"  # a bank alone: only its pairs
