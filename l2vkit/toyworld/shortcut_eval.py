"""Does steering show the VLM's shortcut? The shortcut pair steered with the clean VLM and with the shortcut VLM.

The shipped shortcut VLM reads *square* off snowy pixels (:mod:`l2vkit.toyworld.shortcut`). For the pair that moves
into the shortcut's word (circle→square), on held-out seeds whose caption does not name the planted value, each
method steers at φ = 1 with each VLM: L2V as in the paper (a bank trained with that VLM), the unweighted direction
(Δω ≡ 1: no VLM), and LEAPS-style latents (that VLM through Φ). Reported: the target flip, how often the planted
value appears (the scene turns to snow), kept (with place and texture), the Φ and closed-loop readings of that VLM,
and the randomisation verdict (:mod:`l2vkit.toyworld.randomisation_check`) when its report is given.

    python -m l2vkit.toyworld.shortcut_eval [--seeds 50] [--bank outputs/shortcut/bank.safetensors]
                                           [--randomisation outputs/randomisation/randomisation.json]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

METHODS = (("steered", "L2V (paper)"), ("unweighted", "unweighted Δv"), ("leaps", "LEAPS-style"))


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


def planted_rate(result: dict, method: str, shortcut) -> float:
    """Share of seeds whose video shows the planted value after steering (none shows it unsteered: see
    :func:`seeds_without_value`; a seed whose unsteered video shows it anyway is counted as not planted)."""
    return planted_share(result["measured"][method], result["measured"]["phi=0"], shortcut)


def planted_share(steered, unsteered, shortcut) -> float:
    """:func:`planted_rate` of two lists of measured attributes (steered and unsteered, seed by seed)."""
    slot = shortcut.value_slot
    return float(np.mean([m[slot] == shortcut.value and u[slot] != shortcut.value
                          for m, u in zip(steered, unsteered)]))


def run(seeds: int = 50, *, bank_path="outputs/shortcut/bank.safetensors", progress: bool = True) -> dict:
    from . import contrast_pairs, load_concepts, load_coupling, load_generator, load_vlm
    from ..concepts import ConceptBank
    from ..paths import data_path
    from .shortcut import load_shortcut_coupling, load_shortcut_vlm, planted_shortcut
    from .steering_eval import evaluate_pair, scores

    generator = load_generator()
    shortcut_vlm = load_shortcut_vlm()
    shortcut = planted_shortcut(shortcut_vlm)
    pair = shortcut_pair(contrast_pairs(), shortcut)
    chosen = seeds_without_value(pair, shortcut, seeds)
    unweighted = ConceptBank.load(data_path("toy_concepts_unweighted.safetensors"), generator=generator)
    clean_vlm = load_vlm()
    worlds = {"clean VLM": (clean_vlm, load_coupling(vlm=clean_vlm, generator=generator),
                            load_concepts(generator=generator)),
              "shortcut VLM": (shortcut_vlm, load_shortcut_coupling(vlm=shortcut_vlm, generator=generator),
                               train_bank(Path(bank_path), pair, progress=progress))}
    rows = {}
    for label, (vlm, coupling, bank) in worlds.items():
        result = evaluate_pair(generator, vlm, coupling, bank, pair.name, chosen, unweighted=unweighted)
        row = scores(result)
        rows[label] = {"scores": row, "planted": {m: planted_rate(result, m, shortcut)
                                                  for m in ("phi=1", "unweighted", "leaps", "prompt_swap")}}
    return {"shortcut": shortcut.as_dict(), "pair": pair.name, "family": pair.family, "seeds": chosen, "rows": rows}


def format_table(report: dict, verdict: str | None = None) -> str:
    from .steering_eval import IN_PLACE_HEADER, in_place_text, readings_text

    value = report["shortcut"]["value"]
    lines = [f"| VLM | method | flip to {report['pair'].split('->')[1]} | {value} appears | kept "
             f"| {IN_PLACE_HEADER} | P(target) via Φ / pixels (disagree) |", "|---|---|---|---|---|---|---|"]
    for label, r in report["rows"].items():
        for key, name in METHODS + (("prompt_swap", "prompt swap"),):
            m = r["scores"][key]
            planted = r["planted"]["phi=1" if key == "steered" else key]
            lines.append(f"| {label} | {name} | {m['flip']:.0%} | {planted:.0%} | {m['preserved']:.0%} "
                         f"| {in_place_text(m, report['family'])} | {readings_text(m)} |")
    if verdict:
        lines += ["", f"Randomisation verdict for {report['pair']} (clean VLM): {verdict}"]
    return "\n".join(lines)


def main(argv=None):
    from ..io import write_json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--bank", default="outputs/shortcut/bank.safetensors",
                        help="L2V bank for the shortcut pair trained with the shortcut VLM (trained when missing)")
    parser.add_argument("--randomisation", default="outputs/randomisation/randomisation.json",
                        help="a randomisation_check report, for its verdict ('' to leave out)")
    parser.add_argument("--out", default="outputs/shortcut/shortcut_eval.json")
    args = parser.parse_args(argv)
    report = run(args.seeds, bank_path=args.bank)
    verdict = None
    if args.randomisation and Path(args.randomisation).is_file():
        verdict = json.loads(Path(args.randomisation).read_text())["verdicts"].get(report["pair"])
    print(format_table(report, verdict))
    write_json(args.out, {**report, "verdict": verdict})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
