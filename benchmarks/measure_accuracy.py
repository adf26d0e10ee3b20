"""Ground-truth measurement accuracy and rendering throughput on random toy videos.

    python benchmarks/measure_accuracy.py [--videos 2000] [--json out.json]

Prints one row per condition (clean, Gaussian noise σ=0.1, 3×3 blur, colour drift) with the accuracy of every
attribute, and the render / measure throughput measured in this run.
"""
from __future__ import annotations

import argparse
import json
import time

from tqdm import tqdm

from l2vkit import toyworld as tw
from l2vkit.provenance import provenance
from l2vkit.toyworld.corrupt import CORRUPTIONS


def run(videos: int = 2000, *, progress: bool = True) -> dict:
    truth = [tw.random_attributes(seed) for seed in range(videos)]
    start = time.perf_counter()
    rendered = [tw.render(a, seed=seed) for seed, a in enumerate(truth)]
    render_rate = videos / (time.perf_counter() - start)

    rows, measure_seconds = {}, 0.0
    for name, corrupt in CORRUPTIONS.items():
        inputs = [corrupt(v, seed) for seed, v in enumerate(rendered)]
        start = time.perf_counter()
        measured = [tw.measure(v) for v in tqdm(inputs, desc=name, disable=not progress, leave=False)]
        measure_seconds += time.perf_counter() - start
        rows[name] = tw.accuracy(truth, measured)
    return {
        "videos": videos,
        "accuracy": rows,
        "render_videos_per_s": render_rate,
        "measure_videos_per_s": videos * len(CORRUPTIONS) / measure_seconds,
        "provenance": provenance(benchmark="measure_accuracy", seeds=f"0..{videos - 1}", frames=9, size=32),
    }


def format_table(result: dict) -> str:
    fields = list(tw.ATTRIBUTE_VALUES)
    lines = ["| condition | " + " | ".join(fields) + " |", "|---" * (len(fields) + 1) + "|"]
    for name, acc in result["accuracy"].items():
        lines.append(f"| {name} | " + " | ".join(f"{100 * acc[f]:.1f}%" for f in fields) + " |")
    lines.append("")
    lines.append(f"{result['videos']} videos (9×32×32); render {result['render_videos_per_s']:.0f} videos/s, "
                 f"measure {result['measure_videos_per_s']:.0f} videos/s on this CPU (one process)")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=2000)
    parser.add_argument("--json", help="also write the result as JSON here")
    args = parser.parse_args()
    result = run(args.videos)
    print(format_table(result))
    if args.json:
        from l2vkit.io import write_json

        write_json(args.json, result)
