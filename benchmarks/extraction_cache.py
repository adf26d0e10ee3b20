"""Extraction cache speed-up: the same extraction run twice, side by side in one process.

    python benchmarks/extraction_cache.py [--videos 200] [--model toy]

Reports the first (computing) run, the second (cached) run and their ratio; the target is ≤ 2%.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time


def run(videos: int = 200, model: str = "toy", repeats: int = 5) -> dict:
    from l2vkit import toyworld as tw
    from l2vkit.vlm import VideoVLM
    from l2vkit.vlm.extract import extract

    vlm = VideoVLM.from_pretrained(model)
    clips = [tw.render(tw.random_attributes(i), seed=i) for i in range(videos)]
    firsts, seconds = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as cache:
            t0 = time.perf_counter()
            a = extract(vlm, clips, cache_dir=cache, batch_size=32, prompt="a small",
                        candidates=["red", "blue"], progress=False)
            t1 = time.perf_counter()
            b = extract(vlm, clips, cache_dir=cache, batch_size=32, prompt="a small",
                        candidates=["red", "blue"], progress=False)
            t2 = time.perf_counter()
        assert b.cached == videos and (a.visual_tokens == b.visual_tokens).all()
        firsts.append(t1 - t0)
        seconds.append(t2 - t1)
    first, second = statistics.median(firsts), statistics.median(seconds)
    return {"videos": videos, "first_s": first, "cached_s": second, "ratio": second / first, "repeats": repeats}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=200)
    parser.add_argument("--model", default="toy")
    parser.add_argument("--out", default="outputs/benchmarks/extraction_cache.json")
    args = parser.parse_args()
    r = run(args.videos, args.model)
    from l2vkit.io import write_json

    write_json(args.out, r)
    print(f"extraction of {r['videos']} videos (median of {r['repeats']}): first {r['first_s']:.2f} s, "
          f"cached {r['cached_s']:.3f} s, ratio {100 * r['ratio']:.2f}% (target ≤ 2%)")
