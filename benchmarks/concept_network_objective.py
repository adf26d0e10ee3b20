"""What training bought the concept network: the bank's objective on pairs it never trained on, side by side.

On a fresh cache of the held-out pairs the shipped bank also holds (canonical captions, or with ``--reordered`` a
share in other word orders; other seeds than any training), the mean of
‖sg[G(z_t, π⁻, t) + Δω·Δv] − G(z_t, π⁻ + Δω·q, t)‖² for q = 0 (no edit), q = π⁺ − π⁻ (the network before training:
the prompt embeddings' difference), the trained network's h(π⁻, π⁺), and the bank's vector trained for that pair
alone (its rows placed on each caption as steering places them). Lower is better.

    python benchmarks/concept_network_objective.py [--captions 16] [--reordered 0]
                                                   [--out outputs/benchmarks/concept_network_objective.json]
"""
from __future__ import annotations

import argparse


def run(captions: int = 16, seed: int = 5000, reordered: float = 0.0) -> dict:
    import functools

    import torch

    from l2vkit import toyworld as tw
    from l2vkit.concepts import ConceptNetwork, build_concept_cache
    from l2vkit.concepts.network_training import _other_embeds
    from l2vkit.generator.base import Condition
    from l2vkit.concepts.placement import generator_tokenizer
    from l2vkit.paths import data_path
    from l2vkit.steering import steered_condition
    from l2vkit.provenance import provenance
    from l2vkit.toyworld.network_split import load_split

    vlm, gen = tw.load_vlm(), tw.load_generator()
    coupling = tw.load_coupling(vlm=vlm, generator=gen)
    bank = tw.load_concepts(generator=gen)
    network = ConceptNetwork.load(data_path("toy_concept_network.safetensors"), generator=gen)
    names = load_split()["compared_with_bank"]
    pairs = [bank.spec(n) for n in names]
    texts = functools.partial(tw.toy_captions, reordered=reordered)
    cache = build_concept_cache(gen, vlm, coupling, pairs, captions=texts, samples_per_pair=captions, seed=seed,
                                progress=False)
    plus = _other_embeds(gen, cache)
    rows = {}
    for k, name in enumerate(names):
        index = torch.nonzero(cache.pair == k).flatten()
        minus, mask = cache.embeds[index], cache.mask[index]
        dw = cache.dw[index].view(-1, 1, 1)
        target = cache.v_minus[index] + dw.view(-1, 1, 1, 1, 1) * cache.dv[index]
        vectors = {"no edit (q = 0)": torch.zeros_like(minus), "π⁺ − π⁻ (untrained network)": plus[index] - minus,
                   "network h(π⁻, π⁺)": network.forward(minus, plus[index]),
                   "per-pair vector": _placed(bank, name, minus, mask, [cache.captions[i][0] for i in index],
                                              generator_tokenizer(gen), steered_condition, Condition)}
        with torch.no_grad():
            rows[name] = {label: float(torch.nn.functional.mse_loss(
                gen.velocity(cache.z_t[index], Condition(minus + dw * q, mask), cache.t[index]), target))
                for label, q in vectors.items()}
    return {"captions_per_pair": captions, "seed": seed, "reordered": reordered,
            "mean_dw": {n: float(cache.dw[cache.pair == k].mean()) for k, n in enumerate(names)},
            "rows": rows, "provenance": provenance()}


def _placed(bank, name, minus, mask, texts, tokenizer, steered_condition, Condition):
    """The bank's q with its rows on each caption's tokens, as steering adds it."""
    steered = steered_condition(Condition(minus, mask), {name: 1.0}, bank, captions=texts, tokenizer=tokenizer)
    return steered.embeds - minus


def main(argv=None):
    from l2vkit.io import write_json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--captions", type=int, default=16)
    parser.add_argument("--reordered", type=float, default=0.0, help="share of captions in other word orders")
    parser.add_argument("--out", default="outputs/benchmarks/concept_network_objective.json")
    args = parser.parse_args(argv)
    r = run(args.captions, reordered=args.reordered)
    labels = list(next(iter(r["rows"].values())))
    print("| pair | " + " | ".join(labels) + " |\n|---|" + "---|" * len(labels))
    for name, row in r["rows"].items():
        print(f"| {name} | " + " | ".join(f"{row[k]:.5f}" for k in labels) + f" | mean Δω {r['mean_dw'][name]:.2f}")
    write_json(args.out, r)


if __name__ == "__main__":
    main()
