"""Metric speed: FVD on 1,000 × 512-D features (target < 1 s on CPU) and caption metrics on 1,000 captions.

    OMP_NUM_THREADS=1 python benchmarks/metrics_speed.py [--repeats 7] [--out outputs/benchmarks/metrics_speed.json]

Prints a Markdown table (median and min of the repeats) and writes the same numbers, with provenance, as JSON.
The FVD row is compared with the scipy ``sqrtm`` formula FID code commonly uses.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np


def _time(fn, repeats: int) -> dict:
    fn()  # warm-up: imports, BLAS threads
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return {"median_s": statistics.median(times), "min_s": min(times), "repeats": repeats}


def _scipy_reference(x, y) -> float:
    from scipy.linalg import sqrtm

    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean = sqrtm(s1 @ s2)
    return float((mu1 - mu2) @ (mu1 - mu2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(np.real(covmean)))


def toy_captions(count: int, seed: int = 0):
    """``count`` toy-world hypotheses (one attribute changed) and 3 references each (the true caption and two
    paraphrases), so n-gram statistics look like a captioning corpus."""
    from l2vkit import toyworld as tw

    rng = np.random.default_rng(seed)
    hyps, refs = [], []
    for i in range(count):
        attrs = tw.random_attributes(seed * 100_000 + i)
        field = str(rng.choice(list(tw.ATTRIBUTE_VALUES)))
        wrong = attrs.replace(**{field: str(rng.choice(tw.ATTRIBUTE_VALUES[field]))})
        hyps.append(tw.caption(wrong))
        true = tw.caption(attrs)
        refs.append([true, f"a {attrs.colour} {attrs.shape} going {attrs.direction} over the {attrs.scene}",
                     true.replace("moves", "is moving")])
    return hyps, refs


def run(repeats: int = 7, samples: int = 1000, dims: int = 512, captions: int = 1000) -> dict:
    from l2vkit import metrics as M

    rng = np.random.default_rng(0)
    x = rng.normal(size=(samples, dims))
    y = rng.normal(size=(samples, dims)) @ (np.eye(dims) + 0.05 * rng.normal(size=(dims, dims))) + 0.1
    ours, reference = M.frechet_distance(x, y), _scipy_reference(x, y)
    hyps, refs = toy_captions(captions)
    rows = {
        f"FVD (Fréchet distance), {samples}×{dims} features": _time(lambda: M.frechet_distance(x, y), repeats),
        f"FVD via scipy.linalg.sqrtm (reference), {samples}×{dims}": _time(lambda: _scipy_reference(x, y), repeats),
        f"BLEU-1..4 (corpus), {captions} captions × 3 refs": _time(lambda: M.bleu(hyps, refs), repeats),
        f"CIDEr-D, {captions} captions × 3 refs": _time(lambda: M.cider_d(hyps, refs), repeats),
        f"METEOR (python), {captions} captions × 3 refs": _time(lambda: M.meteor(hyps, refs), repeats),
    }
    return {"rows": rows, "fvd_value": ours, "fvd_scipy_value": reference,
            "fvd_relative_difference": abs(ours - reference) / abs(reference),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"), "cpu_count": os.cpu_count()}


def markdown(result: dict) -> str:
    lines = ["| metric | median (s) | min (s) |", "|---|---:|---:|"]
    for name, r in result["rows"].items():
        lines.append(f"| {name} | {r['median_s']:.3f} | {r['min_s']:.3f} |")
    lines.append("")
    lines.append(f"FVD value {result['fvd_value']:.4f} vs scipy sqrtm {result['fvd_scipy_value']:.4f} "
                 f"(relative difference {result['fvd_relative_difference']:.1e}); "
                 f"OMP_NUM_THREADS={result['omp_num_threads']}, {result['cpu_count']} CPUs")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", default="outputs/benchmarks/metrics_speed.json")
    args = parser.parse_args()
    from l2vkit.io import write_json
    from l2vkit.provenance import provenance

    result = run(args.repeats)
    print(markdown(result))
    write_json(args.out, {**result, "provenance": provenance(command="benchmarks/metrics_speed.py",
                                                             repeats=args.repeats)})
    print(f"wrote {args.out}")
