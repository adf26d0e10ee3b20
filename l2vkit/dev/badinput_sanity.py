"""The bad-input rows of the sanity checks (issue 24): planted shortcuts, shared couplings, randomised VLMs,
VLM-directed concepts and VLM-chosen edits."""
from __future__ import annotations

from .badinput_cases import Case


def _share_with_other_vision(bench):
    from ..coupling import share_coupling
    from ..toyworld.train_vlm import build_untrained
    from ..toyworld.vlm_data import held_out

    return share_coupling(bench.coupling, build_untrained(seed=1), reference_vlm=bench.vlm, videos=held_out(2)[1])


def _randomise_too_deep(bench):
    from ..vlm.randomise import randomised

    return randomised(bench.vlm, 9)


def _vlm_directed_on_both(bench):
    from ..concepts import build_concept_cache
    from ..concepts.vlm_directed import train_vlm_directed
    from ..toyworld import contrast_pairs, toy_captions

    pairs = [p for p in contrast_pairs() if p.name == "red->blue"]
    cache = build_concept_cache(bench.gen, bench.vlm, bench.coupling, pairs, captions=toy_captions,
                                samples_per_pair=1, timesteps_per_sample=1, steps=2, divergence_kind="none",
                                directions="both", progress=False)
    return train_vlm_directed(bench.gen, bench.vlm, bench.coupling, cache, pairs, steps=1, progress=False)


def _choose(bench, *, bank=True, **kwargs):
    from ..concepts import ConceptNetwork, ConceptsWithNetwork
    from ..edit_choice import choose_edits
    from ..paths import data_path
    from ..toyworld import load_concepts, toy_captions

    network = ConceptNetwork.load(data_path("toy_concept_network.safetensors"), generator=bench.gen)
    concepts = ConceptsWithNetwork(load_concepts(generator=bench.gen) if bank else None, network, bench.gen)
    pair = network.pair("circle->square")
    return choose_edits(bench.gen, bench.vlm, concepts, [pair], {pair.name: toy_captions(pair, 1)}, progress=False,
                        **kwargs)


def sanity_cases() -> list[Case]:
    from ..toyworld.shortcut import Shortcut

    def api(what, expect, action):
        return Case("API", what, expect, action)

    return [
        api("a shortcut tying a word to a value of its own slot", r"both words fill the shape slot",
            lambda b: Shortcut.parse("square=circle@0.9")),
        api("a shortcut with a strength that is no probability", r"expected a probability in \(0, 1\]",
            lambda b: Shortcut.parse("square=blue@95")),
        api("a coupling shared with a VLM whose vision tower differs", r"encodes videos to other visual tokens",
            _share_with_other_vision),
        api("more randomisation stages than the VLM has", r"has 5 stages to randomise",
            _randomise_too_deep),
        api("VLM-directed training on a cache that steers back", r"build it with directions='forward'",
            _vlm_directed_on_both),
        api("VLM-chosen edits with a threshold that is no share", r"reads_target must be in \(0, 1\]",
            lambda b: _choose(b, reads_target=50)),
        api("VLM-chosen edits for a pair the bank holds no vector for",
            r"the bank holds no vector for 'circle->square'", lambda b: _choose(b, bank=False)),
        api("VLM-chosen edits among a slot the network does not know", r"no slot 'weather'",
            lambda b: _choose(b, slots=["weather"])),
    ]
