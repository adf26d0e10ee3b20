"""Which toy pairs the concept network trains on and which it is judged on (``data/concept_network_split.json``).

Every ordered pair of two words within one slot is a possible concept (colours 20, shapes 6, sizes 2, adverbs 2,
directions 12, scenes 12). The split, drawn with a seed:

- **a new word**: one colour the shipped bank has a pair into is held out whole — no training pair holds it, in
  either order — so every pair into it is a pair of a word the network never saw;
- **new pairs of known words**: in every slot with more than two words, one shipped pair that does not hold the new
  word is held out, in both orders (its words still train in other pairs);
- the network trains on every other pair, in both orders.

Held-out pairs the shipped bank has are compared with their per-pair vectors.

    python -m l2vkit.toyworld.network_split [--seed 0] [--out data/concept_network_split.json]
"""
from __future__ import annotations

import argparse
import itertools

import numpy as np

SPLIT_FILE = "concept_network_split.json"


def make_split(seed: int = 0) -> dict:
    """The split as a JSON-ready dict (see the module's docstring for the rule)."""
    from . import contrast_pairs
    from .attributes import ATTRIBUTE_VALUES

    rng = np.random.default_rng(seed)
    shipped = contrast_pairs()
    into = sorted({p.target for p in shipped if p.slot == "colour"})
    new_word = str(rng.choice(into))
    known = []
    for slot, words in ATTRIBUTE_VALUES.items():
        candidates = [p.name for p in shipped if p.slot == slot and new_word not in (p.source, p.target)]
        if len(words) > 2 and candidates:
            known.append(str(rng.choice(candidates)))
    held = {frozenset(n.split("->")) for n in known}
    train = [[a, b, slot] for slot, words in ATTRIBUTE_VALUES.items() for a, b in itertools.combinations(words, 2)
             if new_word not in (a, b) and frozenset((a, b)) not in held]
    new_pairs = [f"{w}->{new_word}" for w in ATTRIBUTE_VALUES["colour"] if w != new_word]
    return {"seed": seed, "new_words": [new_word], "known_word_pairs": known,
            "held_out": sorted(known + [f"{b}->{a}" for a, b in (n.split("->") for n in known)]
                               + new_pairs + [f"{new_word}->{w}" for w in ATTRIBUTE_VALUES["colour"] if w != new_word]),
            "new_word_pairs": new_pairs, "train": train,
            "compared_with_bank": [n for n in known + new_pairs if n in {p.name for p in shipped}]}


def load_split(path=None) -> dict:
    from ..io import read_json
    from ..paths import data_path

    return read_json(path or data_path(SPLIT_FILE))


def training_pairs(split: dict) -> list:
    """The split's training pairs as ContrastPairs (one order each; the cache's samples that steer back give the
    other)."""
    from ..pairs import ContrastPair
    from .attributes import FAMILIES

    family = {slot: fam for fam, slots in FAMILIES.items() for slot in slots}
    return [ContrastPair(a, b, slot, family[slot]) for a, b, slot in split["train"]]


def main(argv=None):
    from ..io import write_json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=f"data/{SPLIT_FILE}")
    args = parser.parse_args(argv)
    split = make_split(args.seed)
    write_json(args.out, split)
    print(f"wrote {args.out}: new word {split['new_words']}, new pairs of known words {split['known_word_pairs']}, "
          f"{len(split['train'])} training pairs (both orders)")


if __name__ == "__main__":
    main()
