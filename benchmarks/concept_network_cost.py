"""Time to a usable concept vector for a new pair, side by side on this CPU: the concept network's one forward pass
(both captions encoded, h) against training the pair's own vector as the toy bank trains it (its cache, then
``steps`` Adam steps). Target: the network ≤ 1 s.

    python benchmarks/concept_network_cost.py [--pair "yellow->purple"] [--steps 3000]
                                              [--out outputs/benchmarks/concept_network_cost.json]
"""
from __future__ import annotations

import argparse
import functools
import statistics
import time


def run(pair_name: str = "yellow->purple", steps: int = 3000, repeats: int = 20) -> dict:
    from l2vkit import toyworld as tw
    from l2vkit.concepts import build_concept_cache, train_concepts
    from l2vkit.concepts.network import ConceptNetwork
    from l2vkit.paths import data_path
    from l2vkit.provenance import provenance
    from l2vkit.toyworld.train_concepts import DEFAULTS

    vlm, gen = tw.load_vlm(), tw.load_generator()
    coupling = tw.load_coupling(vlm=vlm, generator=gen)
    network = ConceptNetwork.load(data_path("toy_concept_network.safetensors"), generator=gen)
    pair = network.pair(pair_name)
    caption = tw.toy_captions(pair, 1, seed=123)[0]
    t0 = time.perf_counter()
    network.vectors(gen, [caption], pair)
    first = time.perf_counter() - t0
    warm = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        network.vectors(gen, [caption], pair)
        warm.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    cache = build_concept_cache(gen, vlm, coupling, [pair],
                                captions=functools.partial(tw.toy_captions, reordered=DEFAULTS["reordered"]),
                                samples_per_pair=DEFAULTS["samples_per_pair"],
                                timesteps_per_sample=DEFAULTS["timesteps_per_sample"],
                                directions=DEFAULTS["directions"], progress=False)
    cached = time.perf_counter() - t0
    t0 = time.perf_counter()
    train_concepts(gen, cache, [pair], steps=steps, lr=DEFAULTS["lr"], batch_per_pair=DEFAULTS["batch_per_pair"],
                   progress=False)
    trained = time.perf_counter() - t0
    network_s = statistics.median(warm)
    per_pair_s = cached + trained
    return {"pair": pair_name, "network_first_call_s": round(first, 4), "network_s": round(network_s, 4),
            "per_pair_cache_s": round(cached, 1), "per_pair_train_s": round(trained, 1), "per_pair_steps": steps,
            "per_pair_s": round(per_pair_s, 1), "speedup": round(per_pair_s / network_s),
            "network_training": {k: network.meta.get(k) for k in ("cache_seconds", "train_seconds", "steps")},
            "provenance": provenance()}


def main(argv=None):
    from l2vkit.io import write_json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pair", default="yellow->purple")
    parser.add_argument("--steps", type=int, default=3000, help="the per-pair vector's training steps (toy bank: 3000)")
    parser.add_argument("--out", default="outputs/benchmarks/concept_network_cost.json")
    args = parser.parse_args(argv)
    r = run(args.pair, args.steps)
    print(f"| {args.pair} | network (median of 20, first call {r['network_first_call_s']:.3f} s) | "
          f"{r['network_s']:.3f} s |\n| {args.pair} | per-pair vector (cache {r['per_pair_cache_s']} s + "
          f"{args.steps} steps {r['per_pair_train_s']} s) | {r['per_pair_s']} s |\n"
          f"speed-up ×{r['speedup']}; the network itself trained in {r['network_training']}")
    write_json(args.out, r)


if __name__ == "__main__":
    main()
