"""Every benchmark in one command; a Markdown table and JSON of the headline ratios.

    python benchmarks/run_all.py [--quick] [--out outputs/benchmarks]      # or: make benchmarks

Each benchmark runs in its own process and writes its JSON under OUT; this script reads them back and adds the
wall-clock times of the notebook suite and of `l2vkit demo`. ``--quick`` skips the 16k-token OT case and the
notebook suite. Ratios are always measured side by side inside one benchmark run (medians over repeats).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BEGIN, END = "<!-- run_all.py: begin -->", "<!-- run_all.py: end -->"


def _run(args: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, *args], check=True, cwd=HERE.parent)
    return time.perf_counter() - t0


def main(argv=None):
    import l2vkit
    from l2vkit.io import write_json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default="outputs/benchmarks")
    parser.add_argument("--docs", metavar="PAGE", default=None,
                        help="also write the table into PAGE between its run_all markers (e.g. docs/benchmarks.md)")
    parser.add_argument("--reuse", action="store_true", help="reuse the JSON a benchmark already wrote under OUT")
    args = parser.parse_args(argv)
    out = Path(args.out)
    sizes = ["256", "1024", "4096"] + ([] if args.quick else ["16384"])
    jobs = {
        "steering_speed": [str(HERE / "steering_speed.py")],
        "coupling_speed": [str(HERE / "coupling_speed.py")],
        "rho_ot_speed": [str(HERE / "rho_ot_speed.py"), "--sizes", *sizes, "--min-dense-projections", "1"],
        "metrics_speed": [str(HERE / "metrics_speed.py")],
        "extraction_cache": [str(HERE / "extraction_cache.py")],
    }
    results = {}
    for name, cmd in jobs.items():
        path = out / f"{name}.json"
        if not (args.reuse and path.exists()):
            _run([*cmd, "--out", str(path)])
        results[name] = json.loads(path.read_text())
    results["demo_s"] = _run(["-m", "l2vkit", "demo", "--out", str(out / "demo_run"), "--quiet"])
    if not args.quick:
        results["notebook_suite_s"] = _run(["-m", "pytest", "-q", "notebooks", "tutorials", "-p", "no:cacheprovider"])
    s, c = results["steering_speed"], results["coupling_speed"]
    rows = [
        ("steered / plain sampling, K = 1", f"{s['ratios']['K=1']:.3f}×"),
        ("steered / plain sampling, K = 4", f"{s['ratios']['K=4']:.3f}×"),
        ("steered with a timestep window / plain", f"{s['ratios']['K=1, window (0, 0.5)']:.3f}×"),
        ("Φ read / decode + VLM encode (batch 32)", f"{c['ratio_phi_over_decode']:.3f}×"),
        ("concept training: naive / cached loop", f"{s['cached_speedup']:.2f}× slower"),
        (f"concept training step, {s['pairs']} pairs × batch {s['batch_per_pair']} (mean of {s['train_steps']} steps)",
         f"{1000 * s['train_step_s']['cached']:.0f} ms"),
    ]
    shipped = s["shipped"]
    if shipped.get("train_seconds"):
        rows.append((f"shipped concept bank: {shipped['steps']:,} steps, {s['pairs']} pairs (recorded in its metadata "
                     "when it was trained, not in this run)",
                     f"{shipped['train_seconds']:.0f} s ({shipped['train_seconds'] / s['pairs']:.0f} s per pair)"))
    for r in results["rho_ot_speed"]["results"]:
        if "ratio_time_sorted_over_entropic" in r:
            dense = r.get("entropic", {})
            note = f" (dense: {dense['note']}, time extrapolated)" if dense.get("extrapolated") else ""
            rows.append((f"ρ-OT sorted / dense entropic, N = {r['n']}, P = 100: time, peak memory{note}",
                         f"{r['ratio_time_sorted_over_entropic']:.2g}×, {r['ratio_mem_sorted_over_entropic']:.2g}×"))
    rows.append(("cached / first extraction", f"{results['extraction_cache']['ratio']:.3f}×"))
    rows.append(("`l2vkit demo` wall clock", f"{results['demo_s']:.0f} s"))
    if "notebook_suite_s" in results:
        rows.append(("notebook suite (15 notebooks) wall clock", f"{results['notebook_suite_s']:.0f} s"))
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.system()}"
    run = (f"`python benchmarks/run_all.py{' --quick' if args.quick else ''}` on {time.strftime('%Y-%m-%d')}, "
           f"l2vkit {l2vkit.__version__} at commit {_commit()}, torch {_torch_version()}")
    table = "\n".join(["| benchmark | figure |", "|---|---|", *(f"| {a} | {b} |" for a, b in rows)])
    text = f"Measured on: {machine}; one run of {run}.\n\n{table}\n"
    (out / "summary.md").write_text(text)
    write_json(out / "summary.json", {"machine": machine, "run": run, "rows": rows, "results": results})
    if args.docs:
        _write_between_markers(Path(args.docs), text)
    print(text)


def _commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE.parent)
    return done.stdout.strip() or "unknown"


def _torch_version() -> str:
    import torch

    return torch.__version__


def _write_between_markers(page: Path, text: str) -> None:
    """Replace what stands between the page's BEGIN/END markers with ``text`` (the page keeps its own prose)."""
    from l2vkit.io import atomic_path

    content = page.read_text()
    if BEGIN not in content or END not in content:
        raise ValueError(f"{page} has no {BEGIN} … {END} markers to write the table between")
    head, rest = content.split(BEGIN, 1)
    with atomic_path(page) as tmp:
        tmp.write_text(f"{head}{BEGIN}\n{text}{END}{rest.split(END, 1)[1]}")


if __name__ == "__main__":
    main()
