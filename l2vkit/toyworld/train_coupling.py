"""Fit the toy coupling Φ (toy generator latents → toy VLM tokens) and print the ablation table.

    python -m l2vkit.toyworld.train_coupling [--videos 3000] [--out data/toy_coupling.safetensors] [--table]

Coupling data (x̂0 at random σ from seeded toy videos) is cached under ``--cache`` so a rerun only fits; the fit
saves a resumable state every few hundred steps beside the output (rerun the same command after an interruption).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from .coupling_data import EVAL_OFFSET, cached_data

def fit_toy(out="data/toy_coupling.safetensors", *, videos: int = 3000, eval_videos: int = 300, seed: int = 0,
            cache="outputs/cache", steps: dict | None = None, table: bool = False, progress: bool = True):
    from ..coupling import fit_coupling
    from .ablation import ablation_table, format_table
    from . import load_generator, load_vlm

    started = time.perf_counter()
    vlm, generator = load_vlm(), load_generator()
    train = cached_data(vlm, generator, videos, seed=seed, cache=Path(cache), progress=progress)
    evaluation = cached_data(vlm, generator, eval_videos, seed=seed + 1, cache=Path(cache), held_out=True,
                             progress=progress)
    built = time.perf_counter()
    out = Path(out)
    result = fit_coupling(vlm, generator, train, steps=steps, seed=seed, progress=progress,
                          checkpoint=out.with_name(out.stem + ".train_state.pt"))
    result.meta["data_seconds"] = round(built - started, 1)
    rows = ablation_table(result, vlm, evaluation, train_data=train if table else None,
                          variants=None if table else ("decode_reencode", "global", "rho_ot"), progress=progress)
    result.meta["evaluation"] = {"videos": eval_videos, "offset": EVAL_OFFSET, "max_sigma": 0.5, "rows": rows}
    result.save(out)
    print(format_table(rows))
    print(f"wrote {out} (data {result.meta['data_seconds']} s, fit {result.meta['fit_seconds']} s)")
    return result, rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="data/toy_coupling.safetensors")
    parser.add_argument("--videos", type=int, default=3000, help="training videos (4 samples each)")
    parser.add_argument("--eval-videos", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", default="outputs/cache", help="folder for the cached coupling data")
    parser.add_argument("--table", action="store_true", help="the full ablation table (refits ρ-OT for P=50, 200)")
    args = parser.parse_args(argv)
    fit_toy(args.out, videos=args.videos, eval_videos=args.eval_videos, seed=args.seed, cache=args.cache,
            table=args.table)


if __name__ == "__main__":
    main()
