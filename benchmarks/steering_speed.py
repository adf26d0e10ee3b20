"""Steering cost, side by side in one run: steered vs plain sampling (K = 1 and 4 concepts, with and without a
timestep window), and concept training with the cached loop vs the naive three-forward loop.

    python benchmarks/steering_speed.py [--repeats 7] [--train-steps 10] [--out outputs/benchmarks/steering_speed.json]
"""
from __future__ import annotations

import argparse
import time

from timing import interleaved_medians

CAPTION = "a small red circle moves slowly to the left in the desert"
K4 = {"red->blue": 1.0, "circle->square": 1.0, "small->large": 1.0, "desert->snow": 1.0}


def run(repeats: int = 7, train_steps: int = 10) -> dict:
    import torch

    from l2vkit import toyworld as tw
    from l2vkit.concepts import build_concept_cache, train_concepts
    from l2vkit.provenance import provenance
    from l2vkit.steering import steer

    vlm, gen = tw.load_vlm(), tw.load_generator()
    coupling = tw.load_coupling(vlm=vlm, generator=gen)
    bank = tw.load_concepts(generator=gen)
    sampling = interleaved_medians({
        "plain": lambda: gen.generate(CAPTION, seed=0),
        "K=1": lambda: steer(gen, CAPTION, {"red->blue": 1.0}, concepts=bank, seed=0),
        "K=4": lambda: steer(gen, CAPTION, K4, concepts=bank, seed=0),
        "K=1, window (0, 0.5)": lambda: steer(gen, CAPTION, {"red->blue": 1.0}, concepts=bank, seed=0,
                                              window=(0, 0.5)),
    }, repeats)
    pairs = tw.contrast_pairs()
    t0 = time.perf_counter()
    cache = build_concept_cache(gen, vlm, coupling, pairs, captions=tw.toy_captions, samples_per_pair=16,
                                timesteps_per_sample=10, progress=False)
    cache_s = time.perf_counter() - t0
    loops = {}
    for loop in ("cached", "naive"):
        t0 = time.perf_counter()
        train_concepts(gen, cache, pairs, steps=train_steps, batch_per_pair=8, progress=False, loop=loop)
        loops[loop] = (time.perf_counter() - t0) / train_steps
    return {
        "sampling_s": sampling,
        "ratios": {name: sampling[name] / sampling["plain"] for name in sampling},
        "concept_cache_s": cache_s,
        "train_step_s": loops,
        "cached_speedup": loops["naive"] / loops["cached"],
        "pairs": len(pairs), "train_steps": train_steps, "batch_per_pair": 8,
        # what the shipped bank's own training took, as recorded in its metadata when it was trained (not this run)
        "shipped": {k: bank.meta.get(k) for k in ("steps", "batch_per_pair", "train_seconds", "cache_seconds")},
        "repeats": repeats, "threads": torch.get_num_threads(), "provenance": provenance(),
    }


def main(argv=None):
    from l2vkit.io import write_json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--train-steps", type=int, default=10)
    parser.add_argument("--out", default="outputs/benchmarks/steering_speed.json")
    args = parser.parse_args(argv)
    r = run(args.repeats, args.train_steps)
    print("| sampling (toy, 25 steps) | median | × plain |\n|---|---|---|")
    for name, s in r["sampling_s"].items():
        print(f"| {name} | {1000 * s:.0f} ms | {r['ratios'][name]:.3f} |")
    print(f"\nconcept training, {r['pairs']} pairs per step: cached {1000 * r['train_step_s']['cached']:.0f} ms/step, "
          f"naive {1000 * r['train_step_s']['naive']:.0f} ms/step → {r['cached_speedup']:.2f}× faster; "
          f"cache built in {r['concept_cache_s']:.1f} s (measured over {r['train_steps']} steps); the shipped bank's "
          f"training took {r['shipped']['train_seconds']} s for {r['shipped']['steps']} steps (its metadata)")
    write_json(args.out, r)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
