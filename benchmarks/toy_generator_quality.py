"""Toy generator quality: generate from random toy captions, measure the videos, compare with the captions.

    python benchmarks/toy_generator_quality.py [--samples 200] [--steps 25] [--guidance 4]

Prints per-attribute agreement (the issue's targets: scene ≥ 95%, colour ≥ 90%, size, direction, adverb ≥ 80%,
shape ≥ 60%) and the sampling time per video on this CPU; writes a contact sheet of the first samples.
"""
from __future__ import annotations

import argparse
import time

TARGETS = {"scene": 0.95, "colour": 0.90, "size": 0.80, "direction": 0.80, "adverb": 0.80, "shape": 0.60}


def run(samples: int = 200, *, steps: int | None = None, guidance: float | None = None, offset: int = 5_000_000,
        sheet: str | None = None) -> dict:
    import numpy as np

    from l2vkit import toyworld as tw
    from l2vkit.provenance import provenance

    generator = tw.load_generator()
    truth = [tw.random_attributes(offset + i) for i in range(samples)]
    start = time.perf_counter()
    videos = [generator.generate(tw.caption(a), seed=offset + i, steps=steps, guidance=guidance)
              for i, a in enumerate(truth)]
    seconds = (time.perf_counter() - start) / samples
    scores = tw.agreement(truth, videos)
    if sheet:
        from l2vkit.video import contact_sheet

        contact_sheet({tw.caption(a): v for a, v in zip(truth[:8], videos[:8])}, sheet, frames=[0, 4, 8], scale=3)
    return {"samples": samples, "agreement": scores, "seconds_per_video": seconds,
            "targets_met": {k: scores[k] >= v for k, v in TARGETS.items()},
            "mean_pixel": float(np.mean(videos)),
            "provenance": provenance(benchmark="toy_generator_quality", steps=steps or generator.steps,
                                     guidance=guidance or generator.guidance, seeds=f"{offset}..{offset + samples - 1}")}


def format_table(result: dict) -> str:
    fields = list(TARGETS)
    return "\n".join([
        "| attribute | " + " | ".join(fields) + " |", "|---" * (len(fields) + 1) + "|",
        "| agreement | " + " | ".join(f"{100 * result['agreement'][f]:.0f}%" for f in fields) + " |",
        "| target | " + " | ".join(f"≥ {100 * TARGETS[f]:.0f}%" for f in fields) + " |",
        "", f"{result['samples']} samples, {result['seconds_per_video']:.2f} s per video on this CPU"])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--steps", type=int)
    parser.add_argument("--guidance", type=float)
    parser.add_argument("--sheet", default="outputs/toy_generator_samples.png")
    args = parser.parse_args()
    print(format_table(run(args.samples, steps=args.steps, guidance=args.guidance, sheet=args.sheet)))
