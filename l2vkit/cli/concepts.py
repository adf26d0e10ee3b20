"""`l2vkit concepts`: train one concept vector q_o per contrast pair with the generator, the VLM and Φ frozen.

Settings left out come from the models' preset (the toy world's for ``toy``) or, for other models, from
:data:`l2vkit.presets.CONCEPT_DEFAULTS`.
"""
from __future__ import annotations

import math
import time

from .common import (EXIT_CODES, add_video_options, default_file, forget_checkpoint, one_line_warnings, open_generator,
                     open_vlm, positive, resolve_pair_name, safetensors_out, video_settings)

#: option → (setting key, type, what it is)
SETTINGS = {
    "--steps": ("steps", int, "training steps"),
    "--lr": ("lr", float, "learning rate"),
    "--samples-per-pair": ("samples_per_pair", int, "π⁻ samples per pair, drawn as one batch"),
    "--timesteps-per-sample": ("timesteps_per_sample", int, "steps of each sampled trajectory used for training"),
    "--batch-per-pair": ("batch_per_pair", int, "cached samples per pair in each step"),
}


def default_note(key: str) -> str:
    """``default: 1000; 3000 with the toy preset`` — the library's default and every preset's own."""
    from ..presets import CONCEPT_DEFAULTS, available_presets, get_preset

    note = f"default: {CONCEPT_DEFAULTS[key]:g}" if isinstance(CONCEPT_DEFAULTS[key], float) else \
        f"default: {CONCEPT_DEFAULTS[key]}"
    for name in available_presets():
        value = get_preset(name).concept_defaults.get(key)
        if value is not None and value != CONCEPT_DEFAULTS[key]:
            note += f"; {value:g} with the {name} preset" if isinstance(value, float) else \
                f"; {value} with the {name} preset"
    return note


def add_parser(sub) -> None:
    from ..concepts import DIRECTIONS, DIVERGENCES, OMEGA_READS

    concepts = sub.add_parser(
        "concepts", help="train concept vectors q_o, one per contrast pair", epilog=EXIT_CODES,
        description="Train one concept vector q_o per contrast pair (all pairs in one batched run) with the "
                    "generator, the VLM and the coupling Φ frozen, and save them as a concept bank for "
                    "`l2vkit steer`. The toy world's models are the default; for other models give --pairs (each "
                    "pair with its own 'captions' or a caption 'template') and a --coupling fitted for the models. "
                    "A resumable state is saved beside OUT every 100 steps: rerun the same command after an "
                    "interruption.")
    concepts.add_argument("--pairs", metavar="FILE", default=None,
                          help="YAML file of contrast pairs (see data/contrast_pairs.yaml; default: the preset's "
                               "shipped pairs, e.g. the toy world's)")
    concepts.add_argument("--only", nargs="+", action="extend", metavar="NAME", default=None,
                          help="train only these pairs, by name: --only 'red->blue' desert:snow (quote names with "
                               "'>', or write source:target; default: every pair in the file)")
    concepts.add_argument("--coupling", metavar="PATH", default=None,
                          help="coupling Φ from `l2vkit fit`, a file or a save_pretrained folder (default: the "
                               "preset's shipped one, e.g. the toy world's; required for other models)")
    concepts.add_argument("--out", metavar="FILE", default="outputs/concepts.safetensors",
                          help="concept bank to write (.safetensors, with a readable .json beside it; "
                               "default: outputs/concepts.safetensors)")
    for option, (key, kind, what) in SETTINGS.items():
        concepts.add_argument(option, type=kind, default=None, metavar="LR" if kind is float else "N",
                              help=f"{what} ({default_note(key)})")
    concepts.add_argument("--divergence", default=None, choices=DIVERGENCES,
                          help="how the change Δω of the VLM's distribution weights Δv: hellinger, kl, js, or none "
                               f"(the unweighted baseline; {default_note('divergence')})")
    concepts.add_argument("--omega-read", default=None, choices=OMEGA_READS,
                          help="where Δω reads x̂0±: on the π⁻ and π⁺ trajectories of the same noise (two_paths) "
                               "or both from the π⁻ trajectory's latent (same_latent, one sampling run less; "
                               f"{default_note('omega_read')})")
    concepts.add_argument("--directions", default=None, choices=DIRECTIONS,
                          help="train each q to steer from π⁻ towards π⁺ only (forward, the paper) or also back from "
                               "π⁺ (both: φ < 0 on a caption holding the target word then steers towards the source "
                               f"word; twice the cached samples; {default_note('directions')})")
    concepts.add_argument("--seed", type=int, default=0, metavar="N",
                          help="seed for captions, noise and batches (default: 0)")
    concepts.add_argument("--vlm", default="toy", help="VLM: 'toy' or a Hugging Face id / local folder (default: toy)")
    concepts.add_argument("--generator", default="toy",
                          help="generator: 'toy' or a diffusers id / local folder (default: toy)")
    concepts.add_argument("--strict", action="store_true",
                          help="stop with an error (exit 2) instead of a warning when a pair's cached edit (Δv or Δω) "
                               "is negligible, i.e. its concept vector would be ≈ 0")
    concepts.add_argument("--quiet", action="store_true", help="no progress bars")
    add_video_options(concepts)
    concepts.set_defaults(func=run)


def run(args) -> int:
    """`l2vkit concepts`: train one concept vector q_o per contrast pair with the generator, VLM and Φ frozen."""
    with one_line_warnings("concepts"):
        return train(args)


def settings_for(args, preset) -> dict:
    """Every concept-training setting: the command line's, else the preset's, checked."""
    settings = {}
    for option, (key, _, _) in {**SETTINGS, "--divergence": ("divergence", str, ""),
                                "--omega-read": ("omega_read", str, ""),
                                "--directions": ("directions", str, "")}.items():
        given = getattr(args, key)
        settings[key] = preset.concept_setting(key) if given is None else given
        if key in ("steps", "samples_per_pair", "timesteps_per_sample", "batch_per_pair"):
            positive(settings[key], option)
    if not (settings["lr"] > 0 and math.isfinite(settings["lr"])):
        raise ValueError(f"--lr {settings['lr']}: expected a positive number")
    return settings


def caption_source(pairs, preset, pairs_file, samples: int):
    """π⁻ captions: the preset's own source (e.g. random toy captions), else each pair's captions or template."""
    if preset.captions is not None:
        return preset.captions
    missing = [p.name for p in pairs if not (p.own_captions or p.template)]
    if missing:
        raise ValueError(f"pairs {', '.join(missing)} in {pairs_file} have neither 'captions' nor a 'template' "
                         "(a caption with {slot} where the word goes); other models need one to make captions")
    return {p.name: p.source_captions(samples) for p in pairs}


def train(args) -> int:
    from ..concepts import build_concept_cache, negligible_pairs, train_concepts
    from ..coupling import load_coupling
    from ..pairs import load_pairs
    from ..presets import preset_for

    generator_preset = preset_for(generator=args.generator)
    shared = preset_for(generator=args.generator, vlm=args.vlm)  # artifacts fitted for both models
    settings = settings_for(args, generator_preset)
    pairs_file = default_file(args.pairs, generator_preset.pairs_file, "--pairs", "pairs",
                              "a YAML file of contrast pairs")
    vocabulary = generator_preset.vocabulary() if generator_preset.vocabulary else None
    pairs = load_pairs(pairs_file, vocabulary=vocabulary)
    if args.only:
        by_name = {p.name: p for p in pairs}
        names = [resolve_pair_name(name, by_name, f"--only {name}: {pairs_file}", "pair") for name in args.only]
        pairs = [by_name[name] for name in dict.fromkeys(names)]
    coupling_file = default_file(args.coupling, shared.coupling_file, "--coupling", "coupling",
                                 "fit one with `l2vkit fit`")
    captions = caption_source(pairs, generator_preset, pairs_file, settings["samples_per_pair"])
    vlm = open_vlm(args.vlm)
    generator = open_generator(args.generator, "concepts", **video_settings(args))
    coupling = load_coupling(coupling_file, vlm=vlm, generator=generator)
    progress = not args.quiet
    out = safetensors_out(args.out)
    started = time.perf_counter()
    cache = build_concept_cache(generator, vlm, coupling, pairs, captions=captions,
                                samples_per_pair=settings["samples_per_pair"],
                                timesteps_per_sample=settings["timesteps_per_sample"],
                                divergence_kind=settings["divergence"], omega_read=settings["omega_read"],
                                directions=settings["directions"], seed=args.seed, progress=progress)
    cached = time.perf_counter()
    empty = negligible_pairs(cache)  # build_concept_cache has warned; --strict makes it an error
    if empty and args.strict:
        raise ValueError(f"--strict: {empty[0]}" + (f" (and {len(empty) - 1} more pairs)" if len(empty) > 1 else ""))
    checkpoint = out.with_name(out.stem + ".train_state.pt")
    bank = train_concepts(generator, cache, pairs, steps=settings["steps"], lr=settings["lr"],
                          batch_per_pair=settings["batch_per_pair"], seed=args.seed, progress=progress, vlm=vlm,
                          coupling=coupling, checkpoint=checkpoint, checkpoint_every=100)
    bank.meta.update(pairs_file=str(pairs_file), coupling_file=str(coupling_file),
                     cache_seconds=round(cached - started, 1), train_seconds=round(time.perf_counter() - cached, 1))
    saved = bank.save(out)
    forget_checkpoint(checkpoint)
    final = f", final loss {bank.history[-1]['loss']:.4g}" if bank.history else ""
    print(f"wrote {saved}: {len(bank.pairs)} concept(s) {', '.join(bank.pairs)} (cache {bank.meta['cache_seconds']} s, "
          f"training {bank.meta['train_seconds']} s{final})")
    return 0
