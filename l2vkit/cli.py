"""The `l2vkit` command line (`l2vkit COMMAND --help` explains each):

- `l2vkit demo`: the main job on the toy world (or real models), results under outputs/demo
- `l2vkit fit`: fit the coupling Φ (generator latents → VLM visual tokens)
- `l2vkit concepts`: train concept vectors q_o, one per contrast pair
- `l2vkit steer`: sample a caption steered by concepts; videos side by side and steer.json
- `l2vkit report`: one self-contained HTML page of a run's videos, figures and tables
- `l2vkit env`: versions, device, memory and video support for bug reports

Errors a user can act on print one line and exit with status 2; no traceback (L2VKIT_DEBUG=1 shows one).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def _demo(args) -> int:
    from .demo import run_demo

    summary = run_demo(args.out, seed=args.seed, seeds=args.seeds, fresh=args.fresh, vlm_id=args.vlm,
                       generator_id=args.generator, write_videos=not args.no_videos, progress=not args.quiet)
    print(f"{'sweep':12s} {'pairs':28s} {'changed φ=1':>11s} {'kept φ=1':>9s} {'P(target) φ=0→1':>16s} {'ρ':>5s}")
    for row in summary["table"]:
        print(f"{row['sweep']:12s} {row['pairs']:28s} {100 * row['all_changed_phi1']:10.0f}% "
              f"{100 * row['preserved_phi1']:8.0f}% {row['target_prob_phi0']:7.2f} → {row['target_prob_phi1']:.2f} "
              f"{row['monotonicity']:5.2f}")
    print(f"{args.seeds} seeds per sweep, {summary['seconds']:.0f} s in all; wrote {Path(summary['report']).parent}/ "
          f"(metrics.json, sweeps/, report.html)")
    print(f"open {summary['report']}")
    return 0


def _report(args) -> int:
    from .report import _write_report

    path, counts = _write_report(args.run_dir, args.out, title=args.title)
    skipped = f"; {counts['skipped']} files not embedded (see the page)" if counts["skipped"] else ""
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB: {counts['figures']} figures, {counts['videos']} videos, "
          f"{counts['tables']} tables{skipped})")
    return 0


def _env(args) -> int:
    from .env import collect_env, format_env

    facts = collect_env()
    print(json.dumps(facts, indent=2) if args.json else format_env(facts))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="l2vkit", description="Logits-to-video interpretability toolkit.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="run the main job (toy world by default) and write results to outputs/demo",
                          description="Load the VLM, the generator, the coupling Φ and the concept bank; sweep φ for an "
                                      "attribute, an adverb and a scene pair and one composition over several seeds; "
                                      "score them (pixels, the VLM through Φ, caption metrics) and write videos, "
                                      "figures, metrics.json and report.html under OUT/demo.")
    demo.add_argument("--out", default="outputs", help="folder for the results (default: outputs)")
    demo.add_argument("--seed", type=int, default=0, help="first seed; seeds SEED … SEED+SEEDS−1 (default: 0)")
    demo.add_argument("--seeds", type=int, default=8, help="seeds (captions × noise) per sweep (default: 8)")
    demo.add_argument("--fresh", action="store_true",
                      help="refit the coupling and retrain the concepts from scratch instead of loading the shipped "
                           "ones (about 37 minutes on a 2-core CPU: coupling 9, concepts 28; see docs/cli.md)")
    demo.add_argument("--vlm", default="toy", help="VLM id: 'toy' or a Hugging Face id (needs a GPU)")
    demo.add_argument("--generator", default="toy", help="generator id: 'toy' or a diffusers id (needs a GPU)")
    demo.add_argument("--no-videos", action="store_true", help="skip writing mp4/gif files")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    demo.set_defaults(func=_demo)

    report = sub.add_parser("report", help="write one self-contained HTML page with a run's videos, figures and tables",
                            description="Collect the *.json (tables, provenance), *.png (figures) and *.mp4/*.gif "
                                        "(videos) files under RUN_DIR into one self-contained HTML file.")
    report.add_argument("run_dir", metavar="RUN_DIR", help="the run folder, e.g. outputs/demo")
    report.add_argument("--out", default=None, help="HTML file to write (default: RUN_DIR/report.html)")
    report.add_argument("--title", default=None, help="page title (default: the folder's name)")
    report.set_defaults(func=_report)

    env = sub.add_parser("env", help="print versions, device, memory and video support (paste into bug reports)")
    env.add_argument("--json", action="store_true", help="print JSON instead of text")
    env.set_defaults(func=_env)

    # fit / concepts / steer: the implementations are in l2vkit/commands.py
    from . import commands
    from .concepts import DIVERGENCES, OMEGA_READS
    from .toyworld.train_concepts import DEFAULTS as CONCEPT_DEFAULTS

    exit_codes = ("Exit status: 0 done; 2 bad input, a missing or damaged file, or models that do not match "
                  "(one line on stderr; set L2VKIT_DEBUG=1 for a traceback); 130 interrupted.")
    fit = sub.add_parser(
        "fit", help="fit the coupling Φ (generator latents → VLM visual tokens)", epilog=exit_codes,
        description="Fit the coupling Φ that lets the VLM read the generator's latents: the global branch, the local "
                    "branch and the ρ-OT merge, in that order. With the toy world's models (the default) the "
                    "training videos are drawn from the toy world and a held-out set is scored; with other models "
                    "give --data, a folder of .mp4 videos at the generator's size plus a captions.json. A resumable "
                    "state is saved beside OUT while fitting: rerun the same command after an interruption.")
    fit.add_argument("--vlm", default="toy", help="VLM: 'toy' or a Hugging Face id / local folder (default: toy)")
    fit.add_argument("--generator", default="toy",
                     help="generator: 'toy' or a diffusers id / local folder (default: toy)")
    fit.add_argument("--data", metavar="FOLDER", default=None,
                     help="folder of .mp4 videos (each exactly the generator's frames×height×width) and a "
                          "captions.json mapping each file name to its caption; required for models other than "
                          "the toy world's")
    fit.add_argument("--out", metavar="FILE", default="outputs/coupling.safetensors",
                     help="coupling file to write (.safetensors, with a readable .json beside it; "
                          "default: outputs/coupling.safetensors)")
    fit.add_argument("--videos", type=int, default=None, metavar="N",
                     help="training videos: toy world, how many to draw (default: 3000, ~10+ min on a CPU); "
                          "with --data, use only the first N files (default: all)")
    fit.add_argument("--eval-videos", type=int, default=None, metavar="N",
                     help="toy world only: held-out videos the fitted Φ is scored on (default: 300)")
    fit.add_argument("--steps-global", type=int, default=None, metavar="N",
                     help="training steps of the global branch Φ_Ω1 (default: 2000; 0 skips the stage)")
    fit.add_argument("--steps-local", type=int, default=None, metavar="N",
                     help="training steps of the local branch Φ_Ω2 (default: 600; 0 skips the stage)")
    fit.add_argument("--steps-rho", type=int, default=None, metavar="N",
                     help="training steps of the ρ-OT merge (default: 200; 0 skips the stage)")
    fit.add_argument("--seed", type=int, default=0, metavar="N", help="seed for the data and the fit (default: 0)")
    fit.add_argument("--cache", metavar="DIR", default="outputs/cache",
                     help="toy world only: folder for the cached coupling data, reused by a rerun "
                          "(default: outputs/cache)")
    fit.add_argument("--table", action="store_true",
                     help="toy world only: print the full ablation table (refits ρ-OT for P=50 and 200; slower)")
    fit.add_argument("--quiet", action="store_true", help="no progress bars")
    fit.set_defaults(func=commands.fit)

    concepts = sub.add_parser(
        "concepts", help="train concept vectors q_o, one per contrast pair", epilog=exit_codes,
        description="Train one concept vector q_o per contrast pair (all pairs in one batched run) with the "
                    "generator, the VLM and the coupling Φ frozen, and save them as a concept bank for "
                    "`l2vkit steer`. The toy world's models are the default; other generators need pairs with a "
                    "caption 'template' and a --coupling fitted for the models. A resumable state is saved beside "
                    "OUT every 100 steps: rerun the same command after an interruption.")
    concepts.add_argument("--pairs", metavar="FILE", default=None,
                          help="YAML file of contrast pairs (see data/contrast_pairs.yaml; default: the toy world's "
                               "shipped pairs)")
    concepts.add_argument("--only", nargs="+", action="extend", metavar="NAME", default=None,
                          help="train only these pairs, by name: --only 'red->blue' desert:snow (quote names with "
                               "'>', or write source:target; default: every pair in the file)")
    concepts.add_argument("--coupling", metavar="FILE", default=None,
                          help="coupling Φ from `l2vkit fit` (default: the toy world's shipped one; required for "
                               "other models)")
    concepts.add_argument("--out", metavar="FILE", default="outputs/concepts.safetensors",
                          help="concept bank to write (.safetensors, with a readable .json beside it; "
                               "default: outputs/concepts.safetensors)")
    concepts.add_argument("--steps", type=int, default=None, metavar="N",
                          help=f"training steps (default: {CONCEPT_DEFAULTS['steps']} on the toy world, "
                               f"{commands.REAL_CONCEPT_STEPS} as in the paper for real generators)")
    concepts.add_argument("--lr", type=float, default=CONCEPT_DEFAULTS["lr"], metavar="LR",
                          help=f"learning rate (default: {CONCEPT_DEFAULTS['lr']:g}; the paper uses 1e-4)")
    concepts.add_argument("--divergence", default=CONCEPT_DEFAULTS["divergence"], choices=DIVERGENCES,
                          help="how the change Δω of the VLM's distribution weights Δv: hellinger, kl, js, or none "
                               f"(the unweighted baseline; default: {CONCEPT_DEFAULTS['divergence']})")
    concepts.add_argument("--omega-read", default=CONCEPT_DEFAULTS["omega_read"], choices=OMEGA_READS,
                          help="where Δω reads x̂0±: on the π⁻ and π⁺ trajectories of the same noise (two_paths) "
                               "or both from the π⁻ trajectory's latent (same_latent, one sampling run less; "
                               f"default: {CONCEPT_DEFAULTS['omega_read']})")
    concepts.add_argument("--samples-per-pair", type=int, default=None, metavar="N",
                          help=f"π⁻ samples per pair, drawn as one batch (default: {CONCEPT_DEFAULTS['samples_per_pair']} "
                               f"on the toy world, {commands.REAL_SAMPLES_PER_PAIR} for real generators)")
    concepts.add_argument("--timesteps-per-sample", type=int, default=CONCEPT_DEFAULTS["timesteps_per_sample"],
                          metavar="N", help="steps of each sampled trajectory used for training "
                                            f"(default: {CONCEPT_DEFAULTS['timesteps_per_sample']})")
    concepts.add_argument("--batch-per-pair", type=int, default=CONCEPT_DEFAULTS["batch_per_pair"], metavar="N",
                          help=f"cached samples per pair in each step (default: {CONCEPT_DEFAULTS['batch_per_pair']})")
    concepts.add_argument("--seed", type=int, default=0, metavar="N", help="seed for captions, noise and batches (default: 0)")
    concepts.add_argument("--vlm", default="toy", help="VLM: 'toy' or a Hugging Face id / local folder (default: toy)")
    concepts.add_argument("--generator", default="toy",
                          help="generator: 'toy' or a diffusers id / local folder (default: toy)")
    concepts.add_argument("--quiet", action="store_true", help="no progress bars")
    concepts.set_defaults(func=commands.concepts)

    steer = sub.add_parser(
        "steer", help="sample a caption steered by concepts; write videos side by side and steer.json",
        epilog=exit_codes,
        description="Sample CAPTION with the condition π⁻ + Σ φ·q of the given concepts and write, under OUT, "
                    "steer.mp4 and steer.gif (the videos side by side: the unsteered one from the same seed, then "
                    "the steered one; or one per φ of --sweep), each video in OUT/videos/, and steer.json "
                    "(settings, the VLM's probabilities of the first concept's words read through Φ, on the toy "
                    "world the attributes measured from the pixels, and provenance).")
    steer.add_argument("caption", metavar="CAPTION",
                       help="the caption to sample; it must contain each concept's source word once, e.g. "
                            "\"a small red circle moves slowly up in the desert\"")
    steer.add_argument("--concept", action="append", required=True, metavar="NAME=PHI",
                       help="a concept and its strength φ: 'red->blue=1.0' (quoted: > is a shell redirect) or "
                            "red:blue=1.0; φ is 1 when left out, |φ| > 2 warns; repeat for several concepts at once")
    steer.add_argument("--sweep", metavar="PHIS", default=None,
                       help="comma-separated φ values for the first --concept, e.g. 0,0.5,1 (its own φ is then "
                            "ignored; other concepts keep theirs)")
    steer.add_argument("--seed", type=int, default=0, metavar="N", help="noise seed, the same for every video (default: 0)")
    steer.add_argument("--steps", type=int, default=None, metavar="N",
                       help="sampling steps (default: the generator's own)")
    steer.add_argument("--guidance", type=float, default=None, metavar="SCALE",
                       help="classifier-free guidance scale (default: the generator's own)")
    steer.add_argument("--window", metavar="START,END", default=None,
                       help="steer only sampling steps i with START ≤ i/steps < END, fractions in [0, 1]; "
                            "0 is the first, noisiest step (e.g. 0,0.5 changes layout, 0.5,1 details; default: all)")
    steer.add_argument("--frames", metavar="FRAMES", default=None,
                       help="steer only these video frames: numbers and ranges counted from 0 (e.g. 0-4 or 0,2,6-8), "
                            "or a 0/1 mask with one digit per frame (e.g. 000011111); the others follow the "
                            "unsteered video (default: all frames)")
    steer.add_argument("--concepts", metavar="FILE", default=None,
                       help="concept bank from `l2vkit concepts` (default: the toy world's shipped one)")
    steer.add_argument("--coupling", metavar="FILE", default=None,
                       help="coupling Φ to read the videos' probabilities with (default: the toy world's shipped one "
                            "with the toy models; without it, for other models, no probabilities are read)")
    steer.add_argument("--vlm", default="toy",
                       help="VLM that reads the probabilities: 'toy', a Hugging Face id / local folder, or 'none' to "
                            "skip reading (default: toy)")
    steer.add_argument("--generator", default="toy",
                       help="generator: 'toy' or a diffusers id / local folder (default: toy)")
    steer.add_argument("--out", metavar="DIR", default="outputs/steer", help="folder for the results (default: outputs/steer)")
    steer.set_defaults(func=commands.steer)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError, OSError, RuntimeError, KeyError, FloatingPointError, ImportError) as err:
        if os.environ.get("L2VKIT_DEBUG"):
            raise
        message = err.args[0] if isinstance(err, KeyError) and err.args else err  # str(KeyError) adds quotes
        message = " ".join(line.strip() for line in str(message).splitlines() if line.strip())  # one line
        print(f"l2vkit {args.command}: error: {message} (set L2VKIT_DEBUG=1 for a traceback)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"l2vkit {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
