"""The `l2vkit` command line: `l2vkit demo`, `l2vkit env`.

Errors a user can act on print one line and exit with status 2; no traceback (L2VKIT_DEBUG=1 shows one).
"""
from __future__ import annotations

import argparse
import json
import os
import sys


def _demo(args) -> int:
    from .demo import run_demo

    summary = run_demo(args.out, seed=args.seed, write_videos=not args.no_videos, progress=not args.quiet)
    print(f"{'pair':18s} {'family':10s} measured source & target as rendered")
    for pair in summary["pairs"]:
        print(f"{pair['pair']:18s} {pair['family']:10s} {'yes' if pair['measured_correct'] else 'NO'}")
    print(f"{summary['measured_correct']}/{summary['pair_count']} pairs measured correctly "
          f"in {summary['seconds']:.1f} s")
    out = summary["contact_sheet"].rsplit("/", 1)[0]
    print(f"wrote {out}/summary.json, {summary['contact_sheet']}" + ("" if args.no_videos else f", {out}/videos/"))
    return 0 if summary["measured_correct"] == summary["pair_count"] else 1


def _env(args) -> int:
    from .env import collect_env, format_env

    facts = collect_env()
    print(json.dumps(facts, indent=2) if args.json else format_env(facts))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="l2vkit", description="Logits-to-video interpretability toolkit.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="run the main job on the toy world and write results to outputs/",
                          description="Render every shipped contrast pair on the toy world (source and target from "
                                      "one seed), measure both from pixels, and write videos, a contact sheet and "
                                      "summary.json under OUT/demo.")
    demo.add_argument("--out", default="outputs", help="folder for the results (default: outputs)")
    demo.add_argument("--seed", type=int, default=0, help="seed for attributes and rendering (default: 0)")
    demo.add_argument("--no-videos", action="store_true", help="skip writing mp4/gif files")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    demo.set_defaults(func=_demo)

    env = sub.add_parser("env", help="print versions, device, memory and video support (paste into bug reports)")
    env.add_argument("--json", action="store_true", help="print JSON instead of text")
    env.set_defaults(func=_env)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError, OSError, RuntimeError) as err:
        if os.environ.get("L2VKIT_DEBUG"):
            raise
        print(f"l2vkit {args.command}: error: {err} (set L2VKIT_DEBUG=1 for a traceback)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"l2vkit {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
