"""Toy VLM quality on held-out toy videos: per-slot teacher-forced accuracy, free-running exact match, confusions.

    python benchmarks/toy_vlm_accuracy.py [--videos 500] [--model toy] [--json out.json]
"""
from __future__ import annotations

import argparse
import time

from l2vkit.toyworld import ATTRIBUTE_VALUES
from l2vkit.toyworld.evaluate_vlm import confusion, free_running, teacher_forced_predictions
from l2vkit.toyworld.vlm_data import held_out


def run(videos: int = 500, model: str = "toy") -> dict:
    from l2vkit.provenance import provenance
    from l2vkit.vlm import VideoVLM

    vlm = VideoVLM.from_pretrained(model)
    attrs, clips = held_out(videos)
    start = time.perf_counter()
    predictions = teacher_forced_predictions(vlm, attrs, clips)
    slot = {f: sum(p[f] == getattr(a, f) for p, a in zip(predictions, attrs)) / videos for f in ATTRIBUTE_VALUES}
    exact, captions = free_running(vlm, attrs, clips)
    seconds = time.perf_counter() - start
    return {
        "videos": videos,
        "slot_accuracy": slot,
        "exact_match": exact,
        "confusions": {f: confusion(attrs, predictions, f)[1].tolist() for f in ATTRIBUTE_VALUES},
        "examples": [{"truth": c_true, "caption": c} for c_true, c in
                     zip([__import__("l2vkit").toyworld.caption(a) for a in attrs[:5]], captions[:5])],
        "seconds": seconds,
        "provenance": provenance(benchmark="toy_vlm_accuracy", model=str(vlm.model_id), held_out_offset=1_000_000),
    }


def format_report(result: dict) -> str:
    fields = list(ATTRIBUTE_VALUES)
    lines = [f"Toy VLM on {result['videos']} held-out videos", "",
             "| " + " | ".join(fields) + " | caption exact match |", "|---" * (len(fields) + 1) + "|",
             "| " + " | ".join(f"{100 * result['slot_accuracy'][f]:.1f}%" for f in fields)
             + f" | {100 * result['exact_match']:.1f}% |", ""]
    for field in fields:
        values = list(ATTRIBUTE_VALUES[field])
        lines.append(f"confusion ({field}; rows true, columns predicted, last column: another word)")
        lines.append("            " + " ".join(f"{v[:8]:>8s}" for v in values) + "    other")
        for v, row in zip(values, result["confusions"][field]):
            lines.append(f"  {v[:9]:>9s} " + " ".join(f"{n:8d}" for n in row))
    lines.append("")
    lines += [f"  truth:   {e['truth']}\n  caption: {e['caption']}" for e in result["examples"]]
    lines.append(f"\nscored in {result['seconds']:.1f} s on this CPU")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=500)
    parser.add_argument("--model", default="toy")
    parser.add_argument("--json")
    args = parser.parse_args()
    result = run(args.videos, args.model)
    print(format_report(result))
    if args.json:
        from l2vkit.io import write_json

        write_json(args.json, result)
