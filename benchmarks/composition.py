"""Composition on the toy world: two concepts from different families at once, 50 seeds; the share of seeds where
both measured attributes change to their targets (target ≥ 70%).

    python benchmarks/composition.py [--seeds 50] [--network] [--out outputs/benchmarks/composition.json]

With ``--network``, the first concept of each combination is a pair held out of the concept network's training
(``data/concept_network_split.json``), given by the network, and the second the bank's vector of another family.
"""
from __future__ import annotations

import argparse

COMBINATIONS = (("red->blue", "desert->snow"), ("small->large", "grass->sea"), ("green->yellow", "slowly->quickly"))
#: (a pair the network never trained on, a bank pair of another family)
NETWORK_COMBINATIONS = (("blue->purple", "desert->snow"), ("circle->square", "slowly->quickly"),
                        ("left->right", "small->large"), ("grass->sea", "red->blue"),
                        ("red->yellow", "slowly->quickly"))


def run(seeds: int = 50, *, network: bool = False) -> dict:
    from l2vkit import toyworld as tw
    from l2vkit.toyworld import toy_captions
    from l2vkit.provenance import provenance
    from l2vkit.steering import steer
    from l2vkit.toyworld.steering_eval import measured_attributes

    gen = tw.load_generator()
    bank = tw.load_concepts(generator=gen)
    combinations = COMBINATIONS
    if network:
        from l2vkit.concepts.network import ConceptNetwork
        from l2vkit.concepts.resolve import ConceptsWithNetwork
        from l2vkit.paths import data_path
        from l2vkit.toyworld.network_split import load_split

        net = ConceptNetwork.load(data_path("toy_concept_network.safetensors"), generator=gen)
        bank = ConceptsWithNetwork(bank.without(load_split()["held_out"]), net, gen)
        combinations = NETWORK_COMBINATIONS
    rows = []
    for names in combinations:
        specs = [bank.spec(n) for n in names]
        both = 0
        for s in range(seeds):
            text = toy_captions(specs[0], 1, seed=20_000 + s)[0]
            attrs = tw.parse_caption(text).replace(**{sp.slot: sp.source for sp in specs})
            video = steer(gen, tw.caption(attrs), {n: 1.0 for n in names}, concepts=bank, seed=s).video
            m = measured_attributes(video)
            both += all(m[sp.slot] == sp.target for sp in specs)
        rows.append({"pairs": " + ".join(names), "families": " + ".join(sp.family for sp in specs),
                     "both_changed": both / seeds,
                     "origins": [bank.origin(n) if network else "bank" for n in names]})
    return {"seeds": seeds, "network": network, "rows": rows, "provenance": provenance()}


def main(argv=None):
    from l2vkit.io import write_json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--network", action="store_true", help="the first pair from the concept network")
    parser.add_argument("--out", default="outputs/benchmarks/composition.json")
    args = parser.parse_args(argv)
    r = run(args.seeds, network=args.network)
    print("| pairs (φ = 1 each) | from | families | both changed |\n|---|---|---|---|")
    for row in r["rows"]:
        print(f"| {row['pairs']} | {' + '.join(row['origins'])} | {row['families']} | "
              f"{100 * row['both_changed']:.0f}% |")
    write_json(args.out, r)


if __name__ == "__main__":
    main()
