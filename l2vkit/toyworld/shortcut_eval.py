"""Does steering show the VLM's shortcut? The shortcut pair steered with the clean VLM and with the shortcut VLM.

The shipped shortcut VLM reads *square* off snowy pixels (:mod:`l2vkit.toyworld.shortcut`). For the pair that moves
into the shortcut's word (circle→square), on held-out seeds whose caption does not name the planted value, each
method steers at φ = 1 with each VLM: L2V as in the paper (a bank trained with that VLM), the unweighted direction
(Δω ≡ 1: no VLM), LEAPS-style latents (that VLM through Φ), the edits that VLM chooses (:mod:`l2vkit.edit_choice`)
and, when trained, the gradient VLM-directed bank. Reported: the target flip, how often the planted value appears
(the scene turns to snow), kept (with place and texture), the Φ and closed-loop readings of that VLM, and the
randomisation verdicts: L2V's from the :mod:`~l2vkit.toyworld.randomisation_check` report when given, the chosen
edits' measured here (the edits a randomised VLM chooses, and the videos they steer).

    python -m l2vkit.toyworld.shortcut_eval [--seeds 50] [--bank outputs/shortcut/bank.safetensors]
                                           [--randomisation outputs/randomisation/randomisation.json]
                                           [--vlm-directed outputs/vlm_directed]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

METHODS = (("steered", "L2V (paper)"), ("unweighted", "unweighted Δv"), ("leaps", "LEAPS-style"))
#: the two concepts whose direction comes from the VLM, steered beside them when available
VLM_METHODS = (("vlm_chosen", "VLM-chosen edits"), ("vlm_gradient", "VLM-directed, gradient (experimental)"))


def shortcut_pair(pairs, shortcut):
    """The shipped pair whose target is the shortcut's word."""
    found = [p for p in pairs if p.target == shortcut.word]
    if not found:
        raise ValueError(f"no shipped pair moves into {shortcut.word!r}; the shortcut's pair must be one of "
                         f"{', '.join(p.name for p in pairs)}")
    return found[0]


def seeds_without_value(pair, shortcut, count: int, *, start: int = 0) -> list[int]:
    """``count`` evaluation seeds whose caption does not already show the planted value."""
    from .attributes import parse_caption
    from .steering_eval import _captions

    out, seed = [], start
    while len(out) < count:
        if not shortcut.shows_value(parse_caption(_captions(pair, [seed])[0])):
            out.append(seed)
        seed += 1
    return out


def reused_bank(path: Path, generator, vlm, pairs):
    """A saved bank, checked to be made with ``vlm`` and to hold ``pairs`` (a clear error otherwise)."""
    from ..concepts import ConceptBank
    from ..provenance import vlm_identity

    bank = ConceptBank.load(path, generator=generator)
    missing = [p.name for p in pairs if p.name not in bank]
    if bank.meta.get("vlm") != vlm_identity(vlm) or missing:
        raise ValueError(f"{path} was trained with VLM {(bank.meta.get('vlm') or {}).get('model_id')!r} for "
                         f"{', '.join(bank.pairs)}, not with {vlm_identity(vlm)['model_id']!r} for "
                         f"{', '.join(p.name for p in pairs)} (or with other weights); delete it to train it again")
    return bank


def train_bank(out: Path, pair, *, progress: bool = True):
    """L2V as in the paper for the shortcut pair, trained with the shortcut VLM (reused when ``out`` exists)."""
    from . import load_generator
    from .shortcut import SHORTCUT_COUPLING, SHORTCUT_VLM
    from .train_concepts import train_toy
    from ..paths import data_path

    vlm_folder = data_path(SHORTCUT_VLM)
    if out.is_file():
        from . import load_vlm

        return reused_bank(out, load_generator(), load_vlm(folder=vlm_folder), [pair])
    out.parent.mkdir(parents=True, exist_ok=True)
    bank = train_toy(out, pairs=[pair], range_seeds=0, progress=progress, vlm_folder=vlm_folder,
                     coupling_path=data_path(SHORTCUT_COUPLING))
    out.with_name(out.stem + ".train_state.pt").unlink(missing_ok=True)  # finished: a rerun must not resume it
    return bank


#: captions the VLM reads each candidate edit on: toy_captions(pair, 16, seed=0); the evaluation's are drawn from
#: seeds 10,000 on (steering_eval._captions), so none is chosen on
CHOICE_CAPTIONS = 16


def choose(out: Path | None, generator, vlm, bank, pairs, *, progress: bool = True):
    """The edits ``vlm`` chooses for ``pairs`` (:func:`l2vkit.edit_choice.choose_edits`; own edits from ``bank``,
    the others from the shipped concept network), saved to ``out`` and reused when it exists and was made with
    ``vlm`` (``None``: not saved)."""
    from ..concepts.network import ConceptNetwork
    from ..concepts.resolve import ConceptsWithNetwork
    from ..edit_choice import VLMChosenConcepts, choose_edits
    from ..paths import data_path
    from ..provenance import vlm_identity
    from . import toy_captions

    network = ConceptNetwork.load(data_path("toy_concept_network.safetensors"), generator=generator)
    concepts = ConceptsWithNetwork(bank, network, generator)
    if out is not None and out.is_file():
        chosen = VLMChosenConcepts.load(out, concepts)
        made_with = (vlm_identity(vlm), bank.meta.get("created"), network.meta.get("created"))
        if (chosen.meta.get("vlm"), chosen.meta.get("bank"), chosen.meta.get("network")) != made_with \
                or any(p.name not in chosen for p in pairs):
            raise ValueError(f"{out} was made with another VLM, bank or concept network, or for other pairs; delete "
                             "it to choose again")
        return chosen
    captions = {p.name: toy_captions(p, CHOICE_CAPTIONS, seed=0) for p in pairs}
    chosen = choose_edits(generator, vlm, concepts, pairs, captions, progress=progress)
    if out is not None:
        chosen.save(out)
        print(f"wrote {out}")
    return chosen


def planted_rate(result: dict, method: str, shortcut) -> float:
    """Share of seeds whose video shows the planted value after steering (none shows it unsteered: see
    :func:`seeds_without_value`; a seed whose unsteered video shows it anyway is counted as not planted)."""
    return planted_share(result["measured"][method], result["measured"]["phi=0"], shortcut)


def planted_share(steered, unsteered, shortcut) -> float:
    """:func:`planted_rate` of two lists of measured attributes (steered and unsteered, seed by seed)."""
    slot = shortcut.value_slot
    return float(np.mean([m[slot] == shortcut.value and u[slot] != shortcut.value
                          for m, u in zip(steered, unsteered)]))


def run(seeds: int = 50, *, bank_path="outputs/shortcut/bank.safetensors", vlm_directed="outputs/vlm_directed",
        progress: bool = True) -> dict:
    """Every method on the shortcut pair with each VLM; the VLM-chosen edits are chosen (or reloaded) under the
    bank's folder, the gradient variant is read from ``vlm_directed`` when
    :mod:`~l2vkit.toyworld.train_vlm_directed` has written it."""
    from . import contrast_pairs, load_concepts, load_coupling, load_generator, load_vlm
    from ..concepts import ConceptBank
    from ..paths import data_path
    from .shortcut import load_shortcut_coupling, load_shortcut_vlm, planted_shortcut
    from .steering_eval import evaluate_pair, kept_mask, scores

    generator = load_generator()
    shortcut_vlm = load_shortcut_vlm()
    shortcut = planted_shortcut(shortcut_vlm)
    pair = shortcut_pair(contrast_pairs(), shortcut)
    held_out = seeds_without_value(pair, shortcut, seeds)
    unweighted = ConceptBank.load(data_path("toy_concepts_unweighted.safetensors"), generator=generator)
    clean_vlm = load_vlm()
    worlds = {"clean VLM": ("clean", clean_vlm, load_coupling(vlm=clean_vlm, generator=generator),
                            load_concepts(generator=generator)),
              "shortcut VLM": ("shortcut", shortcut_vlm, load_shortcut_coupling(vlm=shortcut_vlm, generator=generator),
                               train_bank(Path(bank_path), pair, progress=progress))}
    rows = {}
    for label, (tag, vlm, coupling, bank) in worlds.items():
        chosen = choose(Path(bank_path).with_name(f"chosen_{tag}.json"), generator, vlm, bank, [pair],
                        progress=progress)
        compare = {"vlm_chosen": chosen}
        gradient = Path(vlm_directed) / f"{tag}.safetensors"
        if gradient.is_file():
            compare["vlm_gradient"] = reused_bank(gradient, generator, vlm, [pair])
        result = evaluate_pair(generator, vlm, coupling, bank, pair.name, held_out, unweighted=unweighted,
                               compare=compare)
        row = scores(result)
        # what the chosen edits change on purpose (the planted value, when chosen) is not counted against "kept"
        row["vlm_chosen"].update(chosen=[e.label for e in chosen.chosen(pair.name)], preserved_apart_from_chosen=float(
            kept_mask(result["measured"]["vlm_chosen"], result["measured"]["phi=0"],
                      chosen.edited_slots(pair.name)).mean()))
        methods = ("phi=1", "unweighted", "leaps", "prompt_swap", *compare)
        rows[label] = {"scores": row, "planted": {m: planted_rate(result, m, shortcut) for m in methods}}
        if tag == "clean":
            rows[label]["chosen_randomised"] = chosen_randomisation(generator, vlm, bank, pair, held_out, chosen,
                                                                    progress=progress)
    return {"shortcut": shortcut.as_dict(), "pair": pair.name, "family": pair.family, "seeds": held_out,
            "rows": rows}


def chosen_randomisation(generator, vlm, bank, pair, seeds, chosen, random_choice=None, *,
                         progress: bool = True) -> dict:
    """The randomisation check for VLM-chosen edits: the edits a fully randomised copy of ``vlm`` chooses (or
    ``random_choice``, made so beforehand), and how the videos they steer differ from those of the trained VLM's
    ``chosen`` edits (same seeds)."""
    from ..baselines import steered_batch
    from ..vlm.randomise import randomised
    from .steering_eval import _captions, measured_attributes

    if random_choice is None:
        random_choice = choose(None, generator, randomised(vlm, seed=0), bank, [pair], progress=progress)
    captions = _captions(pair, seeds)
    videos = {k: [measured_attributes(v) for v in steered_batch(generator, captions, pair.name, 1.0, c, 0).frames]
              for k, c in (("trained", chosen), ("randomised", random_choice))}
    differ = float(np.mean([a != b for a, b in zip(videos["trained"], videos["randomised"])]))
    flips = {k: float(np.mean([m[pair.slot] == pair.target for m in ms])) for k, ms in videos.items()}
    return {"chosen": [e.label for e in random_choice.chosen(pair.name)], "attributes_differ": differ,
            "flip": flips}


def chosen_verdict(check: dict) -> str:
    """One line: do the VLM-chosen edits depend on the VLM (:func:`chosen_randomisation`)?"""
    from .randomisation_check import CHANGES

    depends = check["attributes_differ"] >= CHANGES or abs(check["flip"]["trained"] - check["flip"]["randomised"]) \
        >= CHANGES
    chosen = ", ".join(check["chosen"]) or "nothing"
    return (f"{'depends' if depends else 'does NOT depend'} on what the VLM knows: a randomised VLM chooses "
            f"{chosen} (flip {check['flip']['trained']:.0%} → {check['flip']['randomised']:.0%}, attributes differ "
            f"in {check['attributes_differ']:.0%} of seeds)")


def format_table(report: dict, verdict: str | None = None) -> str:
    from ..edit_choice import OWN
    from .steering_eval import IN_PLACE_HEADER, in_place_text, readings_text

    value = report["shortcut"]["value"]
    lines = [f"| VLM | method | flip to {report['pair'].split('->')[1]} | {value} appears | kept "
             f"| {IN_PLACE_HEADER} | P(target) via Φ / pixels (disagree) |", "|---|---|---|---|---|---|---|"]
    for label, r in report["rows"].items():
        for key, name in METHODS + (("prompt_swap", "prompt swap"),) + VLM_METHODS:
            if key not in r["scores"]:
                continue
            m = r["scores"][key]
            planted = r["planted"]["phi=1" if key == "steered" else key]
            kept = f"{m['preserved']:.0%}"
            beyond = [c for c in m.get("chosen", []) if not c.endswith(OWN)]  # edits chosen besides the pair's
            if beyond:
                kept += f" ({m['preserved_apart_from_chosen']:.0%} apart from {', '.join(beyond)})"
            lines.append(f"| {label} | {name} | {m['flip']:.0%} | {planted:.0%} | {kept} "
                         f"| {in_place_text(m, report['family'])} | {readings_text(m)} |")
    if verdict:
        lines += ["", f"Randomisation verdict for {report['pair']}, L2V (clean VLM): {verdict}"]
    check = report["rows"].get("clean VLM", {}).get("chosen_randomised")
    if check:
        lines += ["", f"Randomisation verdict for {report['pair']}, VLM-chosen edits (clean VLM): "
                      f"{chosen_verdict(check)}"]
    return "\n".join(lines)


def main(argv=None):
    from ..io import write_json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--bank", default="outputs/shortcut/bank.safetensors",
                        help="L2V bank for the shortcut pair trained with the shortcut VLM (trained when missing)")
    parser.add_argument("--randomisation", default="outputs/randomisation/randomisation.json",
                        help="a randomisation_check report, for its verdict ('' to leave out)")
    parser.add_argument("--vlm-directed", default="outputs/vlm_directed",
                        help="where train_vlm_directed wrote the gradient variant's banks (left out when missing)")
    parser.add_argument("--out", default="outputs/shortcut/shortcut_eval.json")
    args = parser.parse_args(argv)
    report = run(args.seeds, bank_path=args.bank, vlm_directed=args.vlm_directed)
    verdict = None
    if args.randomisation and Path(args.randomisation).is_file():
        verdict = json.loads(Path(args.randomisation).read_text())["verdicts"].get(report["pair"])
    print(format_table(report, verdict))
    write_json(args.out, {**report, "verdict": verdict})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
