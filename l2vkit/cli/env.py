"""`l2vkit env`: versions, device, memory and video support, for bug reports."""
from __future__ import annotations

import json


def add_parser(sub) -> None:
    env = sub.add_parser("env", help="print versions, device, memory and video support (paste into bug reports)")
    env.add_argument("--json", action="store_true", help="print JSON instead of text")
    env.set_defaults(func=run)


def run(args) -> int:
    from ..env import collect_env, format_env

    facts = collect_env()
    print(json.dumps(facts, indent=2) if args.json else format_env(facts))
    return 0
