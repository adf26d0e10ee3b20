"""`l2vkit demo`: the main job on the toy world (or real models); results under OUT/demo."""
from __future__ import annotations

from pathlib import Path

from .common import add_video_options, existing_file, video_settings


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
                           "ones (up to about 55 minutes on a 2-core CPU: coupling ~18, concepts ~44; see docs/cli.md)")
    demo.add_argument("--vlm", default="toy",
                      help="VLM: a preset such as 'toy' (default), or a Hugging Face id / local folder with "
                           "--coupling, --concepts and --captions")
    demo.add_argument("--generator", default="toy",
                      help="generator: a preset such as 'toy' (default), or a diffusers id / local folder with "
                           "--coupling, --concepts and --captions")
    demo.add_argument("--coupling", metavar="FILE", default=None,
                      help="a coupling fitted for these models (`l2vkit fit`); default: the preset's")
    demo.add_argument("--concepts", metavar="FILE", default=None,
                      help="a concept bank trained for the generator (`l2vkit concepts`); its first pairs are "
                           "swept; default: the preset's")
    demo.add_argument("--captions", metavar="FILE", default=None,
                      help="captions to steer from: a .json list or a text file, one per line; each sweep takes "
                           "those holding its pairs' source words (default: the preset's own)")
    add_video_options(demo)
    demo.add_argument("--no-videos", action="store_true", help="skip writing mp4/gif files")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    demo.set_defaults(func=run)


def run(args) -> int:
    from ..demo import run_demo

    video = {k: v for k, v in video_settings(args).items() if v is not None}
    summary = run_demo(args.out, seed=args.seed, seeds=args.seeds, fresh=args.fresh, vlm_id=args.vlm,
                       generator_id=args.generator, write_videos=not args.no_videos, progress=not args.quiet,
                       coupling_path=existing_file(args.coupling, "--coupling") if args.coupling else None,
                       concepts_path=existing_file(args.concepts, "--concepts") if args.concepts else None,
                       captions=read_captions(args.captions) if args.captions else None, video=video or None)
    print(f"{'sweep':16s} {'pairs':32s} {'changed φ=1':>11s} {'kept φ=1':>9s} {'P(target) φ=0→1':>16s} {'ρ':>5s}")
    for row in summary["table"]:
        print(f"{row['sweep']:16s} {row['pairs']:32s} {_percent(row['all_changed_phi1']):>11s} "
              f"{_percent(row['preserved_phi1']):>9s} {row['target_prob_phi0']:7.2f} → {row['target_prob_phi1']:.2f} "
              f"{row['monotonicity']:5.2f}")
    if summary["table"] and summary["table"][0]["all_changed_phi1"] is None:
        print("(no ground truth for these models: changed / kept need a preset that can measure its videos)")
    print(f"{args.seeds} seeds per sweep, {summary['seconds']:.0f} s in all; wrote {Path(summary['report']).parent}/ "
          f"(metrics.json, sweeps/, report.html)")
    print(f"open {summary['report']}")
    return 0


def _percent(value) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def read_captions(path) -> list:
    """Captions from a .json list (or object: its values) or a text file, one per line; blank lines skipped."""
    from ..io import read_json

    file = Path(existing_file(path, "--captions"))
    if file.suffix == ".json":
        data = read_json(file)
        captions = list(data.values()) if isinstance(data, dict) else data
    else:
        try:
            captions = file.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as err:
            raise ValueError(f"--captions {path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    captions = [c.strip() for c in captions if isinstance(c, str) and c.strip()]
    if not captions:
        raise ValueError(f"--captions {path}: no captions in the file (a .json list, or one caption per line)")
    return captions
