"""ρ-OT solver speed and peak memory: exact sorted plans vs dense entropic plans, side by side in one run.

    OMP_NUM_THREADS=1 python benchmarks/rho_ot_speed.py [--sizes 256 1024 4096 16384] [--projections 100]
        [--repeats 3] [--out outputs/benchmarks/rho_ot_speed.json]

Cases, for N tokens per branch (N1 = N2 = N), P projections, D = 64, B = 1, float32 everywhere, forward only:

- ``sorted``: ``l2vkit.coupling.transport.sorted_transport`` (all P projections);
- ``entropic``: ``entropic_transport`` with ``n_iter`` log-domain Sinkhorn steps (chunked over P);
- ``pot_sinkhorn``: POT ``ot.sinkhorn(method="sinkhorn_log")`` with the same number of iterations, one projection
  at a time, plus the merge ``N·Tᵀ z1``;
- ``pot_emd_1d``: POT ``ot.emd_1d`` (sparse plan) one projection at a time, plus the merge.

Dense cases cost O(N²) per projection; where P·N² exceeds ``--dense-budget`` elements only a few projections are
measured (at least ``--min-dense-projections``) and the time for P is extrapolated (marked as such); dense cases
with N ≥ 1024 run once, the others ``--repeats`` times. Each case runs in a fresh subprocess: its peak memory is
the rise of the process's resident-set high-water mark (``VmHWM``, reset through ``/proc/self/clear_refs``) over
the resident set just before the case, during the first run (after a warm-up on 8 tokens); glibc is told to serve
every allocation over 128 KiB by ``mmap`` so freed memory is returned and the measurement is not hidden by reuse.
Time is the median of the runs (the first included).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

CASES = ("sorted", "entropic", "pot_sinkhorn", "pot_emd_1d")
DENSE = ("entropic", "pot_sinkhorn")


# ---------------------------------------------------------------- child: one case, one size, in a fresh process
def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux ≥ 4.0); False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _child(case: str, n: int, p: int, d: int, repeats: int, n_iter: int, reg: float) -> dict:
    import gc

    import numpy as np
    import ot
    import torch

    from l2vkit.coupling.transport import entropic_transport, sorted_transport

    g = torch.Generator().manual_seed(0)
    z1 = torch.randn(1, n, d, generator=g)
    a = torch.randn(1, p, n, generator=g)
    b = torch.randn(1, p, n, generator=g)
    z1_np, a_np, b_np = z1[0].numpy(), a[0].numpy(), b[0].numpy()
    w = np.full(n, 1.0 / n, dtype=np.float32)

    def pot_sinkhorn():
        out = np.zeros((n, d), dtype=np.float32)
        for k in range(p):
            M = ot.dist(a_np[k][:, None], b_np[k][:, None])  # squared Euclidean
            M /= M.mean()  # the same normalised cost as cost_matrix
            T = ot.sinkhorn(w, w, M, reg, method="sinkhorn_log", numItermax=n_iter, stopThr=0.0, warn=False)
            out += n * (T.T @ z1_np)
        return out / p

    def pot_emd_1d():
        out = np.zeros((n, d), dtype=np.float32)
        for k in range(p):
            G = ot.emd_1d(a_np[k], b_np[k], metric="sqeuclidean", dense=False)  # scipy sparse
            out += n * (G.T @ z1_np)
        return out / p

    run = {
        "sorted": lambda: sorted_transport(z1, a, b),
        "entropic": lambda: entropic_transport(z1, a, b, reg, n_iter=n_iter),
        "pot_sinkhorn": pot_sinkhorn,
        "pot_emd_1d": pot_emd_1d,
    }[case]
    times = []
    with torch.no_grad():
        # Warm the code paths (lazy library loading, kernel selection) on tiny inputs, so the peak below is the
        # case's own memory; tiny, so no large freed buffer is left for the measured run to reuse.
        small = (z1[:, :8].clone(), a[:, :2, :8].clone(), b[:, :2, :8].clone())
        sorted_transport(*small) if case == "sorted" else entropic_transport(*small, reg, n_iter=n_iter)
        ot.sinkhorn(w[:8] * n / 8, w[:8] * n / 8, ot.dist(a_np[0, :8, None], b_np[0, :8, None]), reg,
                    method="sinkhorn_log", numItermax=2, warn=False)
        ot.emd_1d(a_np[0, :8], b_np[0, :8], metric="sqeuclidean", dense=False).T @ z1_np[:8]
        gc.collect()
        reset = _reset_peak()
        base_kib = _status_kib("VmRSS") if reset else _status_kib("VmHWM")
        for i in range(repeats):
            t0 = time.perf_counter()
            out = run()
            times.append(time.perf_counter() - t0)
            if i == 0:
                peak_kib = _status_kib("VmHWM")
            del out
    return {"case": case, "n": n, "projections_measured": p, "times_s": times, "time_s": statistics.median(times),
            "peak_mib": max(peak_kib - base_kib, 0) / 1024, "peak_reset": reset,
            "torch_threads": torch.get_num_threads()}


# ---------------------------------------------------------------- parent: schedule, extrapolate, report
def _run_case(case, n, p, args) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", case, "--n", str(n), "--p", str(p),
           "--dim", str(args.dim), "--repeats", str(args.repeats if case not in DENSE or n < 1024 else 1),
           "--n-iter", str(args.n_iter), "--reg", str(args.reg)]
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="131072")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=args.case_timeout)
    except subprocess.TimeoutExpired:
        return {"case": case, "n": n, "error": f"timed out after {args.case_timeout} s"}
    if proc.returncode != 0:
        return {"case": case, "n": n, "error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _measured_projections(case, n, args) -> int:
    if case in DENSE:
        return int(min(args.projections, max(args.min_dense_projections, args.dense_budget // (n * n))))
    return args.projections


def run(args) -> dict:
    rows = []
    for n in args.sizes:
        row = {"n": n}
        for case in CASES:
            pm = _measured_projections(case, n, args)
            if case in DENSE and 6 * n * n * 4 > args.max_dense_gib * 2**30:
                row[case] = {"case": case, "n": n, "error": f"skipped: ~6 dense N×N float32 buffers exceed "
                                                            f"--max-dense-gib {args.max_dense_gib}"}
                continue
            r = _run_case(case, n, pm, args)
            if "error" not in r:
                r["per_projection_s"] = r["time_s"] / pm
                r["time_all_s"] = r["per_projection_s"] * args.projections
                r["extrapolated"] = pm < args.projections
                r["note"] = (f"measured P={pm}, ×{args.projections / pm:g}" if r["extrapolated"]
                             else f"measured P={pm}")
            row[case] = r
            print(f"  N={n:>6} {case:<13} " + (r.get("error") or f"{r['time_all_s']:.4g} s ({r['note']}), "
                                                                  f"peak +{r['peak_mib']:.1f} MiB"),
                  file=sys.stderr, flush=True)
        s, e = row["sorted"], row["entropic"]
        if "error" not in s and "error" not in e:
            row["ratio_time_sorted_over_entropic"] = s["time_all_s"] / e["time_all_s"]
            row["ratio_mem_sorted_over_entropic"] = s["peak_mib"] / max(e["peak_mib"], 1e-9)
        rows.append(row)
    return {
        "config": {"sizes": args.sizes, "projections": args.projections, "dim": args.dim, "batch": 1,
                   "n_iter": args.n_iter, "reg": args.reg, "dtype": "float32", "repeats": args.repeats,
                   "dense_budget_elements": args.dense_budget, "min_dense_projections": args.min_dense_projections,
                   "omp_num_threads": os.environ.get("OMP_NUM_THREADS")},
        "method": ("time: median wall-clock over repeats (dense cases with N >= 1024: 1 run), forward only, no "
                   "autograd; time for all P extrapolated linearly from the measured projections where marked. "
                   "memory: each case in a fresh subprocess; rise of VmHWM (reset via /proc/self/clear_refs) over "
                   "VmRSS just before the first run (code paths warmed on 8 tokens), with "
                   "MALLOC_MMAP_THRESHOLD_=131072; dense peaks are per chunk/projection and do not grow with P, so "
                   "they are not extrapolated."),
        "results": rows,
    }


def _fmt_t(r, key="time_all_s"):
    if "error" in r:
        return "—"
    star = "*" if r.get("extrapolated") and key == "time_all_s" else ""
    return f"{r[key]:.3g} s{star}"


def _fmt_m(r):
    return "—" if "error" in r else f"{r['peak_mib']:.1f}"


def markdown(result) -> str:
    P = result["config"]["projections"]
    it = result["config"]["n_iter"]
    lines = [f"Time for P={P} projections (D={result['config']['dim']}, n_iter={it}; * = extrapolated from the "
             "measured projections):", "",
             "| N | sorted | entropic (torch) | POT sinkhorn_log | POT emd_1d | sorted / entropic | "
             "measured P (dense) |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for row in result["results"]:
        s, e, ps, pe = (row[c] for c in CASES)
        ratio = row.get("ratio_time_sorted_over_entropic")
        lines.append(f"| {row['n']} | {_fmt_t(s)} | {_fmt_t(e)} | {_fmt_t(ps)} | {_fmt_t(pe)} | "
                     f"{'—' if ratio is None else f'{ratio:.2g}'} | "
                     f"{e.get('projections_measured', '—')} / {ps.get('projections_measured', '—')} |")
    lines += ["", "Per projection and peak memory (MiB above the pre-run resident set):", "",
              "| N | entropic /proj | POT sinkhorn_log /proj | POT emd_1d /proj | mem sorted | mem entropic | "
              "mem POT sinkhorn_log | mem POT emd_1d | mem sorted / entropic |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in result["results"]:
        s, e, ps, pe = (row[c] for c in CASES)
        ratio = row.get("ratio_mem_sorted_over_entropic")
        lines.append(f"| {row['n']} | {_fmt_t(e, 'per_projection_s')} | {_fmt_t(ps, 'per_projection_s')} | "
                     f"{_fmt_t(pe, 'per_projection_s')} | {_fmt_m(s)} | {_fmt_m(e)} | {_fmt_m(ps)} | {_fmt_m(pe)} | "
                     f"{'—' if ratio is None else f'{ratio:.2g}'} |")
    errors = [f"- N={row['n']} {c}: {row[c]['error']}" for row in result["results"] for c in CASES
              if "error" in row[c]]
    return "\n".join(lines + ([""] + errors if errors else []))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 1024, 4096, 16384])
    parser.add_argument("--projections", type=int, default=100)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-iter", type=int, default=10)
    parser.add_argument("--reg", type=float, default=0.05)
    parser.add_argument("--dense-budget", type=int, default=2**27,
                        help="measure at most this many plan elements (projections × N²) per dense case")
    parser.add_argument("--min-dense-projections", type=int, default=2,
                        help="but always at least this many projections")
    parser.add_argument("--max-dense-gib", type=float, default=12.0,
                        help="skip dense cases whose ~6 N×N float32 buffers would exceed this")
    parser.add_argument("--case-timeout", type=float, default=1800)
    parser.add_argument("--out", default="outputs/benchmarks/rho_ot_speed.json")
    parser.add_argument("--child", choices=CASES, help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--p", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.n, args.p, args.dim, args.repeats, args.n_iter, args.reg)))
        sys.exit(0)
    from l2vkit.io import write_json

    result = run(args)
    result["markdown"] = markdown(result)
    print(result["markdown"])
    print(f"\nwritten to {write_json(args.out, result)}")
