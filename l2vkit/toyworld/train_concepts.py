"""Train the toy concept bank: one q_o per shipped contrast pair, all pairs in one batched run.

    python -m l2vkit.toyworld.train_concepts [--out data/toy_concepts.safetensors] [--steps 3000]
                                             [--divergence hellinger] [--omega-read two_paths]
                                             [--directions forward] [--reordered 0]
                                             [--pairs "red->blue" ...]

Uses the shipped toy generator, VLM and coupling. A resumable state is saved beside the output every 100 steps
(rerun the same command after an interruption).
"""
from __future__ import annotations

import argparse
import functools
import time
from pathlib import Path

from ..presets import CONCEPT_DEFAULTS

#: where the toy world differs from the paper's settings: its bank trains longer than 1,000 steps (the loss still fell
#: there), at lr 1e-3 rather than 1e-4, on more samples per pair (toy sampling is cheap), and in both directions (so
#: that φ < 0 steers back from the target word; forward-only colours and scenes did not go back)
TOY_SETTINGS = {"steps": 3000, "lr": 1e-3, "samples_per_pair": 64, "directions": "both"}
#: every concept-training setting of the toy world; ``reordered`` (this script only): the share of training captions
#: in other word orders (their rows placed onto the canonical caption's, as steering places them)
DEFAULTS = {**CONCEPT_DEFAULTS, **TOY_SETTINGS, "reordered": 0.5}


def train_toy(out="data/toy_concepts.safetensors", *, seed: int = 0, pairs=None, progress: bool = True,
              coupling_path=None, range_seeds: int = 20, vlm_folder=None, **settings):
    """Train a toy bank (the shipped one by default); ``vlm_folder`` and ``coupling_path``: another toy VLM and its
    Φ (e.g. the shortcut VLM's, :mod:`l2vkit.toyworld.shortcut`)."""
    from ..concepts import build_concept_cache, train_concepts
    from . import contrast_pairs, load_coupling, load_generator, load_vlm, toy_captions

    unknown = set(settings) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"train_toy got unknown settings {sorted(unknown)}; it takes {', '.join(DEFAULTS)}")
    settings = {**DEFAULTS, **settings}
    started = time.perf_counter()
    vlm, generator = load_vlm(folder=vlm_folder), load_generator()
    if coupling_path is None:
        coupling = load_coupling(vlm=vlm, generator=generator)
    else:
        from ..coupling import load_coupling as load_file

        coupling = load_file(coupling_path, vlm=vlm, generator=generator)
    pairs = pairs or contrast_pairs()
    reordered = settings["reordered"]
    captions = functools.partial(toy_captions, reordered=reordered) if reordered else toy_captions
    # q's rows follow the canonical caption; captions in other word orders get them placed on their tokens
    references = None if not reordered else {
        p.name: toy_captions(p, settings["samples_per_pair"], seed=seed + 7919 * k) for k, p in enumerate(pairs)}
    cache = build_concept_cache(generator, vlm, coupling, pairs, captions=captions,
                                samples_per_pair=settings["samples_per_pair"],
                                timesteps_per_sample=settings["timesteps_per_sample"],
                                divergence_kind=settings["divergence"], omega_read=settings["omega_read"],
                                directions=settings["directions"], seed=seed, progress=progress)
    cached = time.perf_counter()
    out = Path(out)
    bank = train_concepts(generator, cache, pairs, steps=settings["steps"], lr=settings["lr"],
                          batch_per_pair=settings["batch_per_pair"], seed=seed, progress=progress, vlm=vlm,
                          coupling=coupling, checkpoint=out.with_name(out.stem + ".train_state.pt"),
                          checkpoint_every=100, references=references)
    bank.meta["reordered"] = reordered
    bank.meta["cache_seconds"] = round(cached - started, 1)
    bank.meta["train_seconds"] = round(time.perf_counter() - cached, 1)
    if range_seeds:  # the φ range that keeps the other attributes, on held-out seeds: steer warns outside it
        from .strength_range import record_strength_ranges

        record_strength_ranges(generator, bank, range(range_seeds), progress=progress)
    bank.save(out)
    print(f"wrote {out}: {len(bank.pairs)} concepts (cache {bank.meta['cache_seconds']} s, "
          f"training {bank.meta['train_seconds']} s)")
    return bank


def record_references(generator, bank, *, seed: int = 0, samples_per_pair: int = DEFAULTS["samples_per_pair"]):
    """Store the reference captions of a bank trained by :func:`train_toy` before banks recorded them: its cache's
    π⁻ captions, drawn again as :func:`l2vkit.concepts.build_concept_cache` drew them (pair k from seed + 7919 k)."""
    from ..concepts.placement import generator_tokenizer, reference_captions
    from . import toy_captions

    tokenizer = generator_tokenizer(generator)
    bank.meta["reference_captions"] = {
        name: reference_captions(tokenizer, bank.spec(name), toy_captions(bank.spec(name), samples_per_pair,
                                                                          seed=seed + 7919 * k))
        for k, name in enumerate(bank.pairs)}
    return bank.meta["reference_captions"]


def main(argv=None):
    from ..concepts import DIRECTIONS, DIVERGENCES, OMEGA_READS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="data/toy_concepts.safetensors")
    parser.add_argument("--steps", type=int, default=DEFAULTS["steps"])
    parser.add_argument("--lr", type=float, default=DEFAULTS["lr"])
    parser.add_argument("--divergence", default=DEFAULTS["divergence"], choices=DIVERGENCES,
                        help="Δω weighting ('none' = the unweighted-direction baseline)")
    parser.add_argument("--omega-read", default=DEFAULTS["omega_read"], choices=OMEGA_READS,
                        help="where Δω reads x̂0±: the π⁻ and π⁺ trajectories (two_paths) or π⁻'s latent alone "
                             f"(same_latent; default: {DEFAULTS['omega_read']})")
    parser.add_argument("--directions", default=DEFAULTS["directions"], choices=DIRECTIONS,
                        help="train q towards the target word only (forward) or also back (both)")
    parser.add_argument("--reordered", type=float, default=DEFAULTS["reordered"],
                        help="share of training captions in other word orders (default: %(default)s)")
    parser.add_argument("--pairs", nargs="*", help="pair names (default: every shipped pair)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--range-seeds", type=int, default=20,
                        help="held-out seeds for each concept's strength range (0: record none)")
    parser.add_argument("--references-only", action="store_true",
                        help="only record the reference captions (the layouts each q was trained on) into --out")
    args = parser.parse_args(argv)
    if args.references_only:
        from ..concepts import ConceptBank
        from . import load_generator

        generator = load_generator()
        bank = ConceptBank.load(args.out, generator=generator)
        record_references(generator, bank, seed=args.seed)
        bank.save(args.out)
        print(f"wrote reference captions for {len(bank.pairs)} pairs into {args.out}")
        return
    train_toy(args.out, divergence=args.divergence, seed=args.seed, steps=args.steps, lr=args.lr,
              omega_read=args.omega_read, directions=args.directions, reordered=args.reordered,
              range_seeds=args.range_seeds,
              pairs=_chosen_pairs(args.pairs))


def _chosen_pairs(names):
    """The shipped pairs named (all when ``names`` is empty)."""
    from . import contrast_pairs

    if not names:
        return None
    by_name = {p.name: p for p in contrast_pairs()}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise SystemExit(f"--pairs: unknown pair(s) {', '.join(unknown)}; the shipped pairs are {', '.join(by_name)}")
    return [by_name[n] for n in names]


if __name__ == "__main__":
    main()
