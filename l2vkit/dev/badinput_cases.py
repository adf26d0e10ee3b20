"""The rows of the bad-input table (:mod:`l2vkit.dev.badinputs`): each bad input, in words, and the message its
clear error must match. Actions receive the table's ``Bench`` (the toy world's models and a scratch folder)."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Callable

AREAS = ("API", "artifact", "pair file", "CLI")
CAPTION = "a small red circle moves slowly up in the desert"
NAN, INF = float("nan"), float("inf")


@dataclasses.dataclass(frozen=True)
class Case:
    area: str  #: one of AREAS
    what: str  #: the bad input, in words
    expect: str  #: a regular expression the message must match
    action: Callable  #: action(bench) feeds the bad input (for the CLI: returns the argument list)
    outcome: str = "error"  #: "error", "warning" or, for the CLI, "exit 2"


def _edit_pair(field, value):
    def change(header):
        header["pairs"]["red->blue"][field] = value
        return header
    return change


def _edit_config(**fields):
    def change(header):
        header["config"].update(fields)
        return header
    return change


def _planted_state(bench):
    """A training state whose unpickling would create a file: refused, and the file never appears."""
    import pickle

    from ..training import load_state

    marker = bench.folder / "pwned"

    class Exploit:
        def __reduce__(self):
            return (Path.touch, (marker,))

    path = bench.file("coupling.train_state.pt", pickle.dumps({"step": Exploit()}))
    try:
        load_state(path)
    finally:
        if marker.exists():
            raise AssertionError("the planted training state ran code when loaded")


def _pairs(bench, text, name="pairs.yaml"):
    from ..pairs import load_pairs
    from ..toyworld import ATTRIBUTE_VALUES

    return load_pairs(bench.file(name, text), vocabulary=ATTRIBUTE_VALUES)


def _measure(video):
    from .. import toyworld as tw

    return tw.measure(video)


def _noise(dtype="uint8"):
    import numpy as np

    return np.random.default_rng(0).integers(0, 256, (9, 32, 32, 3)).astype(dtype)


def _torch_video(dtype):
    import torch

    return torch.zeros(9, 32, 32, 3, dtype=getattr(torch, dtype))


def _api_cases() -> list[Case]:
    import numpy as np

    def api(what, expect, action, outcome="error"):
        return Case("API", what, expect, action, outcome)

    pair = "red->blue"
    return [
        api("φ = 1e39 (finite in float64, overflows float32)", r"expected a finite number in",
            lambda b: b.steer({pair: 1e39})),
        api("φ = NaN", r"φ.*expected a finite number", lambda b: b.steer({pair: NAN})),
        api("φ = inf", r"expected a finite number", lambda b: b.steer({pair: INF})),
        api("φ = '1' (a string)", r"φ for 'red->blue' is '1'; expected a number", lambda b: b.steer({pair: "1"})),
        api("φ = 2.5, outside the measured strength range", r"outside its strength range \[1, 1\]",
            lambda b: b.steer({pair: 2.5}), "warning"),
        api("a caption with the source word twice", r"must hold 'red->blue'.s source word 'red' once.*'red' 2×",
            lambda b: b.steer(caption="a small red circle moves slowly up in the red desert")),
        api("a pair and its reverse name together", r"'red->blue' is set twice",
            lambda b: b.steer({pair: 1.0, "blue->red": 1.0})),
        api("φ > 0 on a caption with the target word", r"already holds the target word",
            lambda b: b.steer(caption="a small blue circle moves slowly up in the desert"), "warning"),
        api("guidance = NaN", r"guidance=nan; expected a finite number", lambda b: b.steer(guidance=NAN)),
        api("guidance = −3", r"guidance=-3.*expected a finite number", lambda b: b.steer(guidance=-3.0)),
        api("guidance = 1e30", r"guidance=1e\+30.*expected a finite number", lambda b: b.steer(guidance=1e30)),
        api("steps = 0", r"steps=0", lambda b: b.steer(steps=0)),
        api("steps = 2.5", r"steps=2.5", lambda b: b.steer(steps=2.5)),
        api("seed = −1", r"seed=-1; give a whole number", lambda b: b.steer(seed=-1)),
        api("seed = 2**64", r"seed=18446744073709551616; give a whole", lambda b: b.steer(seed=2**64)),
        api("window = (0.5, 0.5), empty", r"contains none of the", lambda b: b.steer(window=(0.5, 0.5))),
        api("window = (0.8, 0.2), backwards", r"window", lambda b: b.steer(window=(0.8, 0.2))),
        api("window = (0, NaN)", r"window", lambda b: b.steer(window=(0.0, NAN))),
        api("frame_mask = [0, 4, 8] (frame numbers as a mask)", r"frame_mask must hold booleans.*frame_indices",
            lambda b: b.steer(frame_mask=[0, 4, 8])),
        api("frame_mask of NaN", r"frame_mask must hold booleans", lambda b: b.steer(frame_mask=[NAN] * 9)),
        api("frame_mask of the wrong length", r"frame_mask has 4 entries", lambda b: b.steer(frame_mask=[True] * 4)),
        api("frame_indices past the end", r"frame_indices=\[9\]: give whole frame numbers from 0 to 8",
            lambda b: b.steer(frame_indices=[9])),
        api("frame_mask and frame_indices together", r"not both",
            lambda b: b.steer(frame_mask=[True] * 9, frame_indices=[0])),
        api("a pair the bank does not hold", r"no concept 'red->green'", lambda b: b.steer({"red->green": 1.0})),
        api("a caption with neither of the pair's words", r"must hold 'red->blue'.s source word 'red' once",
            lambda b: b.steer(caption="a small green circle moves slowly up in the desert")),
        api("a caption that is not a string", r"caption", lambda b: b.steer(caption=123)),
        api("an empty sweep", r"phis is empty", lambda b: _sweep(b, [])),
        api("a bank of NaN vectors (built in memory)", r"NaN or infinite value.*concept vectors", _nan_bank_steer),
        api("NaN latents to decode", r"z holds 1 NaN or infinite value", lambda b: b.gen.decode(_one_nan(b))),
        api("an infinite condition to Φ", r"condition π holds .*NaN or infinite",
            lambda b: b.coupling.read(b.latents(), _inf_condition(b))),
        api("latents of the wrong shape to Φ", r"this coupling reads",
            lambda b: b.coupling.read(b.latents()[:, :, :1], b.gen.encode_prompt(CAPTION))),
        api("a torch int64 video to encode", r"dtype torch.int64; expected uint8",
            lambda b: b.gen.encode(_torch_video("int64"))),
        api("a channels-first video to encode", r"last axis must be 3 RGB channels",
            lambda b: b.gen.encode(np.zeros((9, 3, 32, 32), np.uint8))),
        api("a float video in 0–255 to encode", r"expected floats in \[0, 1\]",
            lambda b: b.gen.encode(np.full((9, 32, 32, 3), 200.0, np.float32))),
        api("uniform noise to measure", r"does not look like a toy-world video", lambda b: _measure(_noise())),
        api("a flat grey clip to measure", r"does not look like a toy-world video",
            lambda b: _measure(np.full((9, 32, 32, 3), 128, np.uint8))),
        api("a torch tensor to measure", r"must be a numpy array", lambda b: _measure(_torch_video("uint8"))),
        api("an int64 array to measure", r"dtype int64; expected uint8", lambda b: _measure(_noise("int64"))),
        api("a torch int64 video to the metrics", r"dtype int64; expected uint8",
            lambda b: _metrics_batch(_torch_video("int64"))),
        api("a generated video of one value", r"hold one value \(0\)", lambda b: _to_uint8(np.zeros((9, 8, 8, 3))),
            "warning"),
        api("a colour the toy world does not have", r"not a toy-world colour",
            lambda b: _toy_render(("pink", "circle", "small", "slowly", "up", "sea"))),
        api("a one-frame render", r"frames=1: need an integer",
            lambda b: _toy_render(("red", "circle", "small", "slowly", "up", "sea"), frames=1)),
        api("a two-word pair source", r"one word", lambda b: _contrast_pair("red car", "blue")),
        api("concept training with lr = NaN", r"lr=nan; expected a finite positive number",
            lambda b: _train_concepts(b, lr=NAN)),
        api("concept training with lr = −1", r"lr=-1.0; expected a finite positive number",
            lambda b: _train_concepts(b, lr=-1.0)),
        api("concept training with 0 steps", r"steps=0; expected a positive whole number",
            lambda b: _train_concepts(b, steps=0)),
        api("a concept cache for directions = 'back'", r"directions='back'; choose one of forward, both",
            lambda b: _concept_cache(b, directions="back")),
        api("training on captions whose references are missing", r"references has no captions for red->blue",
            lambda b: _train_concepts_without_references(b)),
        api("toy captions with reordered = 1.5", r"reordered=1.5; expected a share between 0 and 1",
            lambda b: _toy_captions(reordered=1.5)),
        api("a coupling fit with lr = inf", r"lr=inf; expected a finite positive number",
            lambda b: _fit_coupling(b, lr=INF)),
        api("a coupling fit with batch_size = 0", r"batch_size=0; expected a positive whole number",
            lambda b: _fit_coupling(b, batch_size=0)),
        api("L2VKIT_FAST = 'maybe' (the fast lab mode's switch)", r"L2VKIT_FAST='maybe' is neither on",
            lambda b: _fast_mode({"L2VKIT_FAST": "maybe"})),
    ]


def _fast_mode(environ):
    from ..labs import fast_mode

    return fast_mode(environ)


def _train_concepts(bench, **settings):
    from ..concepts import train_concepts

    return train_concepts(bench.gen, None, [], progress=False, **settings)  # refused before the cache is read


def _concept_cache(bench, **settings):
    from ..concepts import build_concept_cache

    return build_concept_cache(bench.gen, None, bench.coupling, [], **settings)  # refused before anything is read


def _train_concepts_without_references(bench):
    import torch

    from ..concepts import ConceptCache, train_concepts
    from ..toyworld import contrast_pairs

    pair = contrast_pairs()[0]
    zeros = torch.zeros(1, 16, 3, 8, 8)
    cache = ConceptCache(pair=torch.zeros(1, dtype=torch.long), z_t=zeros, t=torch.zeros(1), v_minus=zeros, dv=zeros,
                         dw=torch.ones(1), embeds=torch.zeros(1, 24, 384), mask=torch.ones(1, 24, dtype=torch.bool),
                         names=[pair.name], captions=[(CAPTION, CAPTION.replace("red", "blue"))], meta={})
    return train_concepts(bench.gen, cache, [pair], steps=1, progress=False, references={})


def _toy_captions(**settings):
    from ..toyworld import contrast_pairs, toy_captions

    return toy_captions(contrast_pairs()[0], 2, **settings)


def _fit_coupling(bench, **settings):
    from ..coupling import fit_coupling

    return fit_coupling(None, bench.gen, None, progress=False, **settings)  # refused before the data is read


def _sweep(bench, phis):
    from ..steering import sweep

    return sweep(bench.gen, CAPTION, "red->blue", phis, concepts=bench.bank, steps=2)


def _metrics_batch(videos):
    from ..metrics.video import as_video_batch

    return as_video_batch(videos)


def _to_uint8(frames):
    from ..generator.sampling import to_uint8

    return to_uint8(frames)


def _toy_render(words, **kwargs):
    from .. import toyworld as tw

    return tw.render(tw.Attributes(*words), **kwargs)


def _one_nan(bench):
    z = bench.latents()
    z[0, 0, 0, 0, 0] = NAN
    return z


def _inf_condition(bench):
    pi = bench.gen.encode_prompt(CAPTION)
    return pi.with_embeds(pi.embeds * INF)


def _nan_bank_steer(bench):
    import torch

    from ..concepts import ConceptBank
    from ..steering import steer

    bank = bench.bank
    broken = ConceptBank({"red->blue": torch.full_like(bank["red->blue"], NAN)}, {"red->blue": bank.spec("red->blue")},
                         dict(bank.meta))
    return steer(bench.gen, CAPTION, {"red->blue": 1.0}, concepts=broken, steps=2)


def _contrast_pair(source, target, **fields):
    from ..pairs import parse_pairs

    return parse_pairs({"pairs": [{"source": source, "target": target, "slot": "colour", "family": "attribute",
                                   **fields}]})


def _load_bank(path):
    from ..concepts import ConceptBank

    return ConceptBank.load(path)


def _load_coupling(path):
    from ..coupling import CouplingResult

    return CouplingResult.load(path)


def _naming(name: str, expect: str) -> str:
    """A pattern for a message that matches ``expect`` and names the file ``name`` somewhere."""
    return rf"^(?=.*{re.escape(name)}).*{expect}"


def _artifact_cases() -> list[Case]:
    def bank(what, expect, name, **edit):
        return Case("artifact", what, _naming(name, expect), lambda b: _load_bank(b.edited(b.bank_path(), name, **edit)))

    def coupling(what, expect, name, **edit):
        return Case("artifact", what, _naming(name, expect),
                    lambda b: _load_coupling(b.edited(b.coupling_path(), name, **edit)))

    def tensors(change):
        return dict(tensors=lambda stored: {k: change(v) for k, v in stored.items()})

    return [
        bank("bank: red→blue's source word edited to 'green'", r"differ from what was saved", "green.safetensors",
             header=_edit_pair("source", "green")),
        bank("bank: a pair's family 'bogus'", r"differ from what was saved", "family.safetensors",
             header=_edit_pair("family", "bogus")),
        bank("bank: an empty source word", r"field 'source' is missing or not a word", "empty.safetensors",
             header=_edit_pair("source", "")),
        bank("bank: 'pairs' a list", r"no 'pairs' mapping", "list.safetensors", header=lambda h: {**h, "pairs": []}),
        bank("bank: the header a JSON list", r"header is a JSON list", "jsonlist.safetensors", header=lambda h: "[1]"),
        bank("bank: the header not JSON", r"header is not valid JSON", "notjson.safetensors",
             header=lambda h: "{not json"),
        bank("bank: a newer format version", r"format", "future.safetensors",
             header=lambda h: {**h, "format_version": 99}),
        bank("bank: the digest removed", r"has no 'digest'", "nodigest.safetensors",
             header=lambda h: {k: v for k, v in h.items() if k != "digest"}),
        bank("bank: NaN vectors", r"NaN or infinite", "nan.safetensors", **tensors(lambda v: v * NAN)),
        bank("bank: int64 vectors", r"torch.int64 of shape", "int.safetensors", **tensors(lambda v: v.long())),
        bank("bank: vectors cut short", r"differ from what was saved", "short.safetensors",
             **tensors(lambda v: v[:5])),
        bank("bank: no vectors", r"has no vector in the file", "novectors.safetensors", tensors=lambda stored: {}),
        Case("artifact", "bank: a text file", r"not a concept bank|corrupted",
             lambda b: _load_bank(b.file("text.safetensors", "just text\n"))),
        Case("artifact", "bank: a truncated file", r"corrupted",
             lambda b: _load_bank(b.file("cut.safetensors", b.bank_path().read_bytes()[:2000]))),
        Case("artifact", "bank: the coupling file instead", r"not an l2vkit concept bank|not a concept bank",
             lambda b: _load_bank(b.coupling_path())),
        Case("artifact", "bank: a file that does not exist", r"does not exist|No such file",
             lambda b: _load_bank(b.folder / "gone.safetensors")),
        coupling("coupling: width = −1", r"width=-1; sizes must be positive", "width.safetensors",
                 header=_edit_config(width=-1)),
        coupling("coupling: heads that do not divide the width", r"not divisible by heads=7", "heads.safetensors",
                 header=_edit_config(heads=7)),
        coupling("coupling: an unknown config field", r"unexpected keyword argument 'bogus'", "bogus.safetensors",
                 header=_edit_config(bogus=1)),
        coupling("coupling: the header not JSON", r"not valid JSON", "cjson.safetensors", header=lambda h: "{oops"),
        coupling("coupling: NaN weights", r"NaN or infinite", "cnan.safetensors", **tensors(lambda v: v * NAN)),
        Case("artifact", "coupling: the concept bank instead", r"not an l2vkit coupling",
             lambda b: _load_coupling(b.bank_path())),
        Case("artifact", "training state: a planted pickle that runs code", r"would run code when loaded",
             _planted_state),
    ]


def _pair_file_cases() -> list[Case]:
    def pairs(what, expect, text, name="pairs.yaml"):
        return Case("pair file", what, expect, lambda b: _pairs(b, text, name))

    row = "{source: red, target: blue, slot: colour, family: attribute"
    return [
        pairs("not UTF-8", r"latin.yaml: not UTF-8 text",
              "pairs:\n  - {source: caf\xe9, target: tea, slot: drink, family: x}\n".encode("latin-1"), "latin.yaml"),
        pairs("nested 5000 deep", r"deep.yaml: (nested too deeply|not valid YAML)", "pairs: " + "[" * 5000 + "]" * 5000,
              "deep.yaml"),
        pairs("not valid YAML", r"not valid YAML", "pairs: [ {source: red"),
        pairs("no 'pairs:' list", r"top-level 'pairs:' list", "something: else"),
        pairs("a pair without a source", r"pairs\[0\]: field 'source' is missing",
              "pairs: [{target: blue, slot: colour, family: attribute}]"),
        pairs("a target not in the vocabulary", r"field 'target' is 'bleu'",
              "pairs: [{source: red, target: bleu, slot: colour, family: attribute}]"),
        pairs("a slot this world lacks", r"this world has no slot",
              "pairs: [{source: wood, target: metal, slot: material, family: attribute}]"),
        pairs("an unknown field", r"unknown field.*weight", f"pairs: [{row}, weight: 2}}]"),
        pairs("the same pair twice", r"pairs\[1\]: field 'name'.*used twice", f"pairs: [{row}}}, {row}}}]"),
        pairs("source and target the same", r"both 'red'",
              "pairs: [{source: red, target: red, slot: colour, family: attribute}]"),
        pairs("a caption without the source word", r"must hold the source word 'red'",
              f"pairs: [{row}, captions: ['a blue ball']}}]"),
        pairs("a template with {0}", r"placeholder \{0\}", f"pairs: [{row}, template: 'a {{colour}} {{0}}'}}]"),
        pairs("a template with {x}", r"placeholder \{x\}", f"pairs: [{row}, template: 'a {{colour}} {{x}}'}}]"),
        pairs("a template reaching attributes", r"placeholder \{colour.__class__",
              f"pairs: [{row}, template: 'a {{colour}} {{colour.__class__.__mro__}}'}}]"),
        pairs("a template without its slot", r"must contain", f"pairs: [{row}, template: 'a ball'}}]"),
        pairs("a list, not a mapping, as a pair", r"pairs\[0\]", "pairs: [[red, blue]]"),
        pairs("an empty file", r"pairs", ""),
    ]


def _cli_cases() -> list[Case]:
    def cli(what, expect, *argv):
        return Case("CLI", what, expect, lambda b: [str(a) for a in argv], "exit 2")

    def steer(what, expect, *extra):
        return cli(what, expect, "steer", CAPTION, "--concept", *extra)

    return [
        cli("an unknown command", r"invalid choice: 'bogus'", "bogus"),
        cli("no command", r"required: COMMAND"),
        cli("--seed x", r"argument --seed: invalid int value: 'x'", "demo", "--seed", "x"),
        cli("demo --seed −1", r"--seed -1: give a whole number", "demo", "--seed", "-1"),
        cli("demo --out a file", r"is a file, not a folder", "demo", "--out", "{file}/sub"),
        steer("--concept φ not a number", r"φ 'abc' is not a number", "red->blue=abc"),
        steer("--concept φ NaN", r"φ is nan; expected a finite number", "red->blue=nan"),
        steer("--concept φ 1e39", r"φ is 1e\+39; expected a finite number in \[−100, 100\]", "red->blue=1e39"),
        steer("--guidance nan", r"guidance=nan; expected a finite number in \[0, 100\]", "red->blue", "--guidance",
              "nan"),
        steer("--guidance −3", r"guidance=-3.0; expected", "red->blue", "--guidance", "-3"),
        steer("--concept a pair the bank lacks", r"--concept red->green: .*no concept 'red->green'; it has red->blue",
              "red->green=1"),
        steer("--concept whose words the caption lacks", r"must hold 'green->yellow''s source word 'green'",
              "green->yellow=1"),
        steer("--concept given twice", r"given twice", "red->blue", "--concept", "red:blue=2"),
        steer("--window empty", r"contains none of the .* sampling steps", "red->blue", "--window", "0.5,0.5"),
        steer("--window one number", r"expected START,END", "red->blue", "--window", "0.5"),
        steer("--frames out of range", r"not a range of frames 0–8", "red->blue", "--frames", "3-12"),
        steer("--frames 0000", r"reads as a 0/1 mask of 4 digits", "red->blue", "--frames", "0000"),
        steer("--frames 007", r"expected frame numbers and ranges like 0-4,7", "red->blue", "--frames", "007"),
        steer("--frames backwards", r"5-2 runs backwards", "red->blue", "--frames", "5-2"),
        steer("--sweep with a word", r"--sweep 0,x: φ 'x' is not a number", "red->blue", "--sweep", "0,x"),
        steer("--concepts missing", r"concepts file gone.safetensors does not exist", "red->blue", "--concepts",
              "gone.safetensors"),
        steer("--coupling missing", r"coupling file gone.safetensors does not exist", "red->blue", "--coupling",
              "gone.safetensors"),
        steer("--concepts a text file", r"is not a concept bank", "red->blue", "--concepts", "{file}"),
        steer("--seed too large", r"--seed 99999999999999999999999: give a whole", "red->blue", "--seed",
              "99999999999999999999999"),
        steer("--steps −3", r"--steps -3: expected a positive number", "red->blue", "--steps", "-3"),
        steer("--generator without --concepts", r"--concepts FILE is needed", "red->blue", "--generator", "."),
        cli("concepts --pairs missing", r"pairs file .* does not exist", "concepts", "--pairs", "none.yaml"),
        cli("concepts --only a pair the file lacks", r"no pair 'red->green'; it has red->blue", "concepts", "--only",
            "red->green"),
        cli("concepts --steps 0", r"--steps 0: expected a positive number", "concepts", "--steps", "0"),
        cli("fit --videos 0", r"--videos 0: expected a positive number", "fit", "--videos", "0"),
        cli("fit --steps-rho −1", r"--steps-rho -1: expected 0 or more", "fit", "--steps-rho", "-1"),
        cli("fit --data missing", r"does not exist", "fit", "--data", "missing-folder"),
        cli("report on a missing folder", r"does not exist|not a folder|no such", "report", "missing-run"),
        cli("plan --tier bogus", r"bogus", "plan", "--tier", "bogus"),
        cli("env with an unknown option", r"unrecognized arguments: --bogus", "env", "--bogus"),
        cli("report --out under a file", r"is a file, not a folder", "report", ".", "--out", "{file}/report.html"),
    ]


def table_cases() -> list[Case]:
    """Every row but the concept network's (:mod:`l2vkit.dev.badinput_network` adds those)."""
    return _api_cases() + _artifact_cases() + _pair_file_cases() + _cli_cases()


