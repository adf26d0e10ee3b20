"""Does one process's memory grow with use? 30 consecutive ``steer`` calls and 10 ``sweep`` calls on the toy world,
the resident set read after each (``/proc/self/status``); growth is measured against the RSS after the first call.

    python benchmarks/steer_memory.py [--out outputs/benchmarks/steer_memory.json]
"""
from __future__ import annotations

import argparse
import gc
import re
from pathlib import Path


def rss_mib() -> float:
    return int(re.search(r"VmRSS:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) / 1024


def run(steers: int = 30, sweeps: int = 10) -> dict:
    from l2vkit import steer, sweep
    from l2vkit import toyworld as tw

    gen = tw.load_generator()
    bank = tw.load_concepts(generator=gen)
    caption = "a small red circle moves slowly up in the desert"
    after = {"steer": [], "sweep": []}
    for i in range(steers):
        steer(gen, caption, {"red->blue": 1.0}, concepts=bank, seed=i)
        gc.collect()
        after["steer"].append(round(rss_mib(), 1))
    for i in range(sweeps):
        sweep(gen, caption, "red->blue", (0.0, 0.5, 1.0), concepts=bank, seed=i)
        gc.collect()
        after["sweep"].append(round(rss_mib(), 1))
    first = after["steer"][0]
    return {"rss_mib_after_each": after, "first_mib": first, "last_mib": after["sweep"][-1],
            "growth_percent": round(100 * (max(after["steer"] + after["sweep"]) - first) / first, 2)}


def main(argv=None) -> dict:
    from l2vkit.io import write_json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="outputs/benchmarks/steer_memory.json")
    args = parser.parse_args(argv)
    result = run()
    print(f"RSS after the first steer {result['first_mib']:.1f} MiB, after 30 steers and 10 sweeps "
          f"{result['last_mib']:.1f} MiB; largest growth {result['growth_percent']:.2f} %")
    write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()
