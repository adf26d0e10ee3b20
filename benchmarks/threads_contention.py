"""A toy ``generate`` on an idle CPU and beside two CPU-bound processes, with torch's default thread count (its
OpenMP threads spinning while they wait, and with ``OMP_WAIT_POLICY=PASSIVE``, sleeping instead) and with l2vkit's
(one thread for the toy world; :mod:`l2vkit.threads`), measured side by side in one run.

    python benchmarks/threads_contention.py [--repeats 3] [--out outputs/benchmarks/threads_contention.json]

Each figure is the median of ``repeats`` timed ``generate`` calls in a fresh process, after one warm-up call. The
busy case runs two ``while True: pass`` processes for its whole duration.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, statistics, sys, time
from l2vkit import toyworld as tw
import torch
gen = tw.load_generator()
caption = "a small red circle moves slowly up in the desert"
gen.generate(caption, seed=0)
times = []
for i in range(int(sys.argv[1])):
    start = time.perf_counter()
    gen.generate(caption, seed=i)
    times.append(time.perf_counter() - start)
print(json.dumps({"threads": torch.get_num_threads(), "seconds": statistics.median(times)}))
"""


MODES = ("torch default", "torch default, passive", "l2vkit default")


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def timed(mode: str, busy: bool, repeats: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("L2VKIT_THREADS", "OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    if mode.startswith("torch default"):
        env["L2VKIT_THREADS"] = str(cores())  # what torch would use on its own
    if mode.endswith("passive"):
        env["OMP_WAIT_POLICY"] = "PASSIVE"  # read once, when the OpenMP runtime starts: so per process
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2 if busy else 0)]
    try:
        out = subprocess.run([sys.executable, "-c", CHILD, str(repeats)], env=env, capture_output=True, text=True,
                             timeout=1800)
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(repeats: int = 3) -> dict:
    rows = {}
    for mode in MODES:
        idle, busy = timed(mode, False, repeats), timed(mode, True, repeats)
        rows[mode] = {"threads": idle["threads"], "idle_s": round(idle["seconds"], 3),
                      "busy_s": round(busy["seconds"], 3), "busy_over_idle": round(busy["seconds"] / idle["seconds"], 2)}
    return {"cores": cores(), "repeats": repeats, "rows": rows}


def main(argv=None) -> dict:
    from l2vkit.io import write_json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="outputs/benchmarks/threads_contention.json")
    args = parser.parse_args(argv)
    result = run(args.repeats)
    print(f"toy generate on {result['cores']} cores (median of {args.repeats}):")
    for mode, row in result["rows"].items():
        print(f"  {mode:<22} {row['threads']} thread(s): idle {row['idle_s']:.2f} s, beside two busy processes "
              f"{row['busy_s']:.2f} s ({row['busy_over_idle']:.1f}×)")
    write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()
