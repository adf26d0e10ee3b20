"""The bad-input rows of the concept network (:mod:`l2vkit.concepts.network`): pairs it cannot give, and why."""
from __future__ import annotations

from .badinput_cases import CAPTION, Case


def _concepts(bench, extra_colour=None):
    """The shipped bank with the shipped toy network behind it (``extra_colour``: one more colour it may swap)."""
    from ..concepts import ConceptNetwork, ConceptsWithNetwork
    from ..paths import data_path

    network = ConceptNetwork.load(data_path("toy_concept_network.safetensors"), generator=bench.gen)
    if extra_colour:
        network.vocabulary["colour"] = [*network.vocabulary["colour"], extra_colour]
    return ConceptsWithNetwork(bench.bank, network, bench.gen)


def _steer(bench, pair, caption=CAPTION, extra_colour=None):
    from ..steering import steer

    return steer(bench.gen, caption, {pair: 1.0}, concepts=_concepts(bench, extra_colour), steps=2)


def network_cases() -> list[Case]:
    def api(what, expect, action):
        return Case("API", what, expect, action)

    def cli(what, expect, *argv):
        return Case("CLI", what, expect, lambda b: ["steer", CAPTION, "--concept", *argv], "exit 2")

    return [
        api("a network pair across two slots", r"'red->square' swaps words of two slots",
            lambda b: _steer(b, "red->square")),
        api("a network pair with a word it does not know", r"does not know the word 'pink'",
            lambda b: _steer(b, "red->pink")),
        api("a network pair whose source word the caption lacks", r"must hold 'green->purple''s source word 'green'",
            lambda b: _steer(b, "green->purple")),
        api("a network pair whose word the tokenizer splits in two", r"splits 'red' into 1 token\(s\) and 'magenta' "
            r"into 2", lambda b: _steer(b, "red->magenta", extra_colour="magenta")),
        cli("--network with a pair across two slots", r"cannot give it: 'red->square' swaps words of two slots",
            "red->square=1", "--network", "toy"),
        cli("--network missing", r"concept network file gone.safetensors does not exist", "red->green=1",
            "--network", "gone.safetensors"),
    ]
