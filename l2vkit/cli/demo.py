"""`l2vkit demo`: the main job on the toy world (or real models); results under OUT/demo."""
from __future__ import annotations

from pathlib import Path


def add_parser(sub) -> None:
    demo = sub.add_parser(
        "demo", help="run the main job (toy world by default) and write results to outputs/demo",
        description="Load the VLM, the generator, the coupling Φ and the concept bank; sweep φ for an attribute, an "
                    "adverb and a scene pair and one composition over several seeds; score them (pixels, the VLM "
                    "through Φ, caption metrics) and write videos, figures, metrics.json and report.html under "
                    "OUT/demo.")
    demo.add_argument("--out", default="outputs", help="folder for the results (default: outputs)")
    demo.add_argument("--seed", type=int, default=0, help="first seed; seeds SEED … SEED+SEEDS−1 (default: 0)")
    demo.add_argument("--seeds", type=int, default=8, help="seeds (captions × noise) per sweep (default: 8)")
    demo.add_argument("--fresh", action="store_true",
                      help="refit the coupling and retrain the concepts from scratch instead of loading the shipped "
                           "ones (about 37 minutes on a 2-core CPU: coupling 9, concepts 28; see docs/cli.md)")
    demo.add_argument("--vlm", default="toy", help="VLM: a preset with ground truth, such as 'toy' (default: toy)")
    demo.add_argument("--generator", default="toy", 
                      help="generator: a preset with ground truth, such as 'toy' (default: toy); for your own "
                           "models use fit, concepts and steer")
    demo.add_argument("--no-videos", action="store_true", help="skip writing mp4/gif files")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    demo.set_defaults(func=run)


def run(args) -> int:
    from ..demo import run_demo

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
