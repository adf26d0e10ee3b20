"""Train and measure the two concepts whose direction comes from the VLM on the toy world: the gradient variant
(:mod:`l2vkit.concepts.vlm_directed`) and VLM-chosen edits (:mod:`l2vkit.edit_choice`), for every shipped pair with
the clean toy VLM and for the shortcut pair with the shortcut VLM (:mod:`l2vkit.toyworld.shortcut`).

    python -m l2vkit.toyworld.train_vlm_directed [--out outputs/vlm_directed] [--seeds 50]

Writes ``clean.safetensors``, ``shortcut.safetensors`` (gradient; each run resumes from its checkpoint) and
``chosen_clean.json``, ``chosen_shortcut.json`` (the edits each VLM chose) under ``--out``, reusing any that exist,
then steers held-out seeds at φ = 1 with them and with L2V, and writes ``vlm_directed_eval.json``: flip, kept (every
attribute no chosen edit edits), kept and in place, for the shortcut pair how often the planted value appears, and
per pair the chosen edits' randomisation verdict (what a randomised VLM chooses, ``chosen_randomised.json``).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

CACHE = {"samples_per_pair": 16, "timesteps_per_sample": 10}
GRADIENT, CHOSEN = "VLM-directed (gradient)", "VLM-chosen edits"


def train(out: Path, vlm, coupling, generator, pairs, *, seed: int = 0, progress: bool = True, **settings):
    """A VLM-directed bank for ``pairs`` (reused when ``out`` exists)."""
    from ..concepts import build_concept_cache
    from ..concepts.vlm_directed import train_vlm_directed
    from . import toy_captions

    if out.is_file():
        from .shortcut_eval import reused_bank

        return reused_bank(out, generator, vlm, pairs)
    out.parent.mkdir(parents=True, exist_ok=True)
    cache = build_concept_cache(generator, vlm, coupling, pairs, captions=toy_captions, divergence_kind="none",
                                directions="forward", seed=seed, progress=progress, **CACHE)
    state = out.with_name(out.stem + ".train_state.pt")
    bank = train_vlm_directed(generator, vlm, coupling, cache, pairs, seed=seed, progress=progress, checkpoint=state,
                              **settings)
    bank.save(out)
    state.unlink(missing_ok=True)
    print(f"wrote {out} ({bank.meta['seconds']} s)")
    return bank


def measure_pair(generator, banks: dict, pair, seeds, shortcut=None) -> dict:
    """Per bank at φ = 1 on ``seeds``: flip, kept, kept and in place, and (given a shortcut) the planted rate."""
    from ..baselines import steered_batch
    from .minimality import kept_in_place
    from .shortcut_eval import planted_share
    from .steering_eval import _attributes_and_score, _captions, _details, kept_mask

    captions = _captions(pair, seeds)
    first = next(iter(banks.values()))
    unsteered = [_details(v) for v in steered_batch(generator, captions, pair.name, 0.0, first, 0).frames]
    before = [_attributes_and_score(m)[0] for m in unsteered]
    out = {}
    for label, bank in banks.items():
        found = [_details(v) for v in steered_batch(generator, captions, pair.name, 1.0, bank, 0).frames]
        after = [_attributes_and_score(m)[0] for m in found]
        # VLM-chosen edits change the slots of every chosen edit; a bank, the pair's own
        edited = bank.edited_slots(pair.name) if hasattr(bank, "edited_slots") else {pair.slot}
        kept = kept_mask(after, before, edited)
        place = np.array([r is not None and m is not None and kept_in_place(r, m) for r, m in zip(unsteered, found)])
        row = {"flip": float(np.mean([a[pair.slot] == pair.target for a in after])), "kept": float(kept.mean()),
               "kept_in_place": float((kept & place).mean()), "edited": sorted(edited)}
        if shortcut is not None:
            row["planted"] = planted_share(after, before, shortcut)
        out[label] = row
    return out


def main(argv=None):
    from ..io import write_json
    from . import contrast_pairs, load_concepts, load_coupling, load_generator, load_vlm
    from .shortcut import load_shortcut_coupling, load_shortcut_vlm, planted_shortcut
    from ..vlm.randomise import randomised
    from .shortcut_eval import (choose, chosen_randomisation, chosen_verdict, seeds_without_value, shortcut_pair,
                                train_bank)

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="outputs/vlm_directed")
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--shortcut-bank", default="outputs/shortcut/bank.safetensors",
                        help="L2V bank of the shortcut pair trained with the shortcut VLM (trained when missing)")
    args = parser.parse_args(argv)
    out, generator = Path(args.out), load_generator()
    clean = load_vlm()
    clean_bank = train(out / "clean.safetensors", clean, load_coupling(vlm=clean, generator=generator), generator,
                       contrast_pairs())
    l2v = load_concepts(generator=generator)
    clean_chosen = choose(out / "chosen_clean.json", generator, clean, l2v, contrast_pairs())
    shortcut_vlm = load_shortcut_vlm()
    shortcut = planted_shortcut(shortcut_vlm)
    pair = shortcut_pair(contrast_pairs(), shortcut)
    shortcut_bank = train(out / "shortcut.safetensors", shortcut_vlm,
                          load_shortcut_coupling(vlm=shortcut_vlm, generator=generator), generator, [pair])
    shortcut_l2v = train_bank(Path(args.shortcut_bank), pair)
    shortcut_chosen = choose(out / "chosen_shortcut.json", generator, shortcut_vlm, shortcut_l2v, [pair])
    settings = ("steps", "lr", "margin", "trust", "closed_loop_every")
    report = {"settings": {k: clean_bank.meta.get(k) for k in settings}, "clean": {}, "seeds": args.seeds}
    for p in contrast_pairs():
        report["clean"][p.name] = r = measure_pair(
            generator, {GRADIENT: clean_bank, CHOSEN: clean_chosen, "L2V": l2v}, p, range(args.seeds))
        print(f"{p.name}: " + "; ".join(f"{m} flip {v['flip']:.0%} kept {v['kept']:.0%} (in place "
                                        f"{v['kept_in_place']:.0%})" for m, v in r.items()))
    # the randomisation check of the chosen edits: what a VLM that knows nothing chooses, and its videos
    random_chosen = choose(out / "chosen_randomised.json", generator, randomised(clean, seed=0), l2v,
                           contrast_pairs())
    report["randomised"] = {}
    for p in contrast_pairs():
        report["randomised"][p.name] = check = chosen_randomisation(generator, clean, l2v, p, range(args.seeds),
                                                                    clean_chosen, random_chosen)
        print(f"{p.name}, VLM-chosen edits: {chosen_verdict(check)}")
    seeds = seeds_without_value(pair, shortcut, args.seeds)
    report["chosen"] = {"clean VLM": clean_chosen.table(), "shortcut VLM": shortcut_chosen.table(),
                        "randomised VLM": random_chosen.table()}
    report["shortcut"] = {
        "pair": pair.name, "shortcut": shortcut.as_dict(),
        "shortcut VLM": measure_pair(generator, {GRADIENT: shortcut_bank, CHOSEN: shortcut_chosen, "L2V": shortcut_l2v},
                                     pair, seeds, shortcut),
        "clean VLM": measure_pair(generator, {GRADIENT: clean_bank, CHOSEN: clean_chosen, "L2V": l2v}, pair, seeds,
                                  shortcut)}
    for label in ("clean VLM", "shortcut VLM"):
        r = report["shortcut"][label]
        print(f"{pair.name} with the {label}: " + "; ".join(
            f"{m} flip {v['flip']:.0%}, {shortcut.value} appears {v['planted']:.0%}" for m, v in r.items()))
    write_json(out / "vlm_directed_eval.json", report)
    print(f"wrote {out / 'vlm_directed_eval.json'}")


if __name__ == "__main__":
    main()
