"""Timing helper shared by the benchmarks: medians of cases run interleaved, so drift in machine load hits all."""
from __future__ import annotations

import statistics
import time


def interleaved_medians(cases: dict, repeats: int) -> dict:
    """``{name: median seconds}`` of each zero-argument callable, after one warm-up call each; every repeat runs
    every case once, in turn."""
    for fn in cases.values():
        fn()
    times = {name: [] for name in cases}
    for _ in range(repeats):
        for name, fn in cases.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}
