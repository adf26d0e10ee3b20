"""`l2vkit plan`: every stage's planned GPU and RAM peak for a hardware tier, before anything is downloaded."""
from __future__ import annotations

import json

from .common import EXIT_CODES


def add_parser(sub) -> None:
    from ..tiers import TIERS

    plan = sub.add_parser("plan", help="print every stage's planned GPU and RAM peak for a tier (colab-t4, …)",
                          description="Plan the memory of every stage (caption encoding, extraction, coupling data and "
                                      "fit, concept cache and training, steering, the logit editor) for a tier's "
                                      "models and video size; nothing is loaded. " + EXIT_CODES)
    plan.add_argument("--tier", default="colab-t4", choices=[n for n, t in TIERS.items() if not t.is_toy],
                      help="the tier to plan (default: colab-t4)")
    plan.add_argument("--offload", choices=("none", "model", "group"), default=None,
                      help="plan with no offload, model CPU offload (one model on the GPU at a time) or group "
                           "offload (G's blocks streamed in as they run); default: the tier's choice, model offload "
                           "where a stage would not fit")
    plan.add_argument("--json", action="store_true", help="print JSON instead of the table")
    plan.set_defaults(func=run)


def run(args) -> int:
    from ..stage_memory import plan_stages

    plan = plan_stages(args.tier, offload={"none": False, "model": True, "group": "group", None: None}[args.offload])
    print(json.dumps(plan.as_dict(), indent=2) if args.json else plan.summary())
    return 0 if not plan.over_budget() else 1
