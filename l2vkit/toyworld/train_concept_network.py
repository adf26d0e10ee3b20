"""Train the toy concept network h(π⁻, π⁺) → q on the training pairs of ``data/concept_network_split.json``.

    python -m l2vkit.toyworld.train_concept_network [--out data/toy_concept_network.safetensors] [--steps 2000]

Uses the shipped toy generator, VLM and coupling; the cache is built as the toy bank's (Hellinger Δω along both
paths, samples in both directions, half the captions in other word orders), with fewer captions per pair since
every step sees all pairs. A resumable state is saved beside the output every 100 steps (rerun the same command
after an interruption). The network may swap every word of the toy vocabulary, held out or not.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import time
from pathlib import Path

#: the toy network's settings (the cache's like the toy bank's, with 24 captions per pair instead of 64)
SETTINGS = {"steps": 1500, "lr": 5e-4, "batch_per_pair": 4, "samples_per_pair": 24, "timesteps_per_sample": 10,
            "reordered": 0.5}


def train_toy_network(out="data/toy_concept_network.safetensors", *, split_path=None, seed: int = 0,
                      progress: bool = True, **settings):
    from ..concepts import build_concept_cache
    from ..concepts.network_training import train_concept_network
    from . import load_coupling, load_generator, load_vlm, toy_captions
    from .attributes import ATTRIBUTE_VALUES, FAMILIES
    from .network_split import load_split, training_pairs

    unknown = set(settings) - set(SETTINGS)
    if unknown:
        raise TypeError(f"train_toy_network got unknown settings {sorted(unknown)}; it takes {', '.join(SETTINGS)}")
    settings = {**SETTINGS, **settings}
    split = load_split(split_path)
    pairs = training_pairs(split)
    started = time.perf_counter()
    vlm, generator = load_vlm(), load_generator()
    coupling = load_coupling(vlm=vlm, generator=generator)
    captions = functools.partial(toy_captions, reordered=settings["reordered"])
    cache = build_concept_cache(generator, vlm, coupling, pairs, captions=captions,
                                samples_per_pair=settings["samples_per_pair"],
                                timesteps_per_sample=settings["timesteps_per_sample"], directions="both", seed=seed,
                                progress=progress)
    cached = time.perf_counter()
    out = Path(out)
    network = train_concept_network(
        generator, cache, pairs, steps=settings["steps"], lr=settings["lr"], batch_per_pair=settings["batch_per_pair"],
        seed=seed, vocabulary=ATTRIBUTE_VALUES, families=FAMILIES,
        held_out={k: split[k] for k in ("seed", "new_words", "held_out")}, progress=progress, vlm=vlm,
        coupling=coupling, checkpoint=out.with_name(out.stem + ".train_state.pt"))
    network.meta.update(reordered=settings["reordered"], cache_seconds=round(cached - started, 1),
                        train_seconds=round(time.perf_counter() - cached, 1))
    network.save(out)
    with contextlib.suppress(FileNotFoundError):  # done: a rerun trains afresh
        out.with_name(out.stem + ".train_state.pt").unlink()
    print(f"wrote {out}: trained on {len(network.meta['trained_pairs'])} ordered pairs (cache "
          f"{network.meta['cache_seconds']} s, training {network.meta['train_seconds']} s)")
    return network


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="data/toy_concept_network.safetensors")
    parser.add_argument("--split", default=None, help="the split file (default: data/concept_network_split.json)")
    for key, value in SETTINGS.items():
        parser.add_argument("--" + key.replace("_", "-"), type=type(value), default=value)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    train_toy_network(args.out, split_path=args.split, seed=args.seed,
                      **{k: getattr(args, k) for k in SETTINGS})


if __name__ == "__main__":
    main()
