"""Φ at real sizes: parameters and planned training peak at three clip sizes, dense (first release) vs factorised.

    python benchmarks/coupling_plan.py [--out outputs/benchmarks/coupling_plan.json]

Wan2.1-T2V-1.3B latents for 17×256×448, 33×480×832 and 81×480×832 against Qwen2.5-VL-3B tokens of the decoded clip
under its official sampling (2 fps, smart_resize), with Φ's real sizes (width 512, depths 24/12, batches 8 / 4).
Everything is counted on the meta device (``l2vkit.coupling.plan``): nothing is downloaded or allocated. The dense
mixer's parameters are counted the same way; its training memory is not planned (it does not fit any GPU).
"""
from __future__ import annotations

import argparse
import math

WAN, QWEN = "Wan-AI/Wan2.1-T2V-1.3B-Diffusers", "Qwen/Qwen2.5-VL-3B-Instruct"
SIZES = [(17, 256, 448), (33, 480, 832), (81, 480, 832)]


def dense_parameters(plan) -> int:
    import torch

    from l2vkit.coupling.networks import Coupling, CouplingConfig

    with torch.device("meta"):
        model = Coupling(CouplingConfig(**{**plan.config, "architecture": "dense"}))
    return sum(p.numel() for p in model.parameters())


def main(argv=None) -> dict:
    from l2vkit.coupling.plan import plan_coupling
    from l2vkit.io import write_json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="outputs/benchmarks/coupling_plan.json")
    args = parser.parse_args(argv)
    rows = []
    for frames, height, width in SIZES:
        plan = plan_coupling(WAN, QWEN, frames, height, width)
        rows.append({"size": f"{frames}×{height}×{width}", "latent_patches": plan.latent_tokens,
                     "vlm_tokens": plan.vlm_tokens, "token_grid": list(plan.token_grid),
                     "phi_params": plan.phi_params, "dense_params": dense_parameters(plan),
                     "train_peak_gib": round(plan.train_peak_gib, 2),
                     "stage_gib": {k: round(v, 2) for k, v in plan.stage_gib.items()}})
    first = rows[0]
    print("| clip | latent patches N_Ξ | VLM tokens N_Ω (grid) | Φ params | dense Φ params | training peak GiB "
          "(global / local / ρ) | ×N_Ξ | ×N_Ω | ×params | ×peak |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        stages = " / ".join(f"{v:.1f}" for v in row["stage_gib"].values())
        print(f"| {row['size']} | {row['latent_patches']:,} | {row['vlm_tokens']:,} {tuple(row['token_grid'])} | "
              f"{row['phi_params'] / 1e6:.1f}M | {row['dense_params'] / 1e9:.2f}B | {row['train_peak_gib']:.1f} "
              f"({stages}) | {row['latent_patches'] / first['latent_patches']:.1f} | "
              f"{row['vlm_tokens'] / first['vlm_tokens']:.1f} | {row['phi_params'] / first['phi_params']:.2f} | "
              f"{row['train_peak_gib'] / first['train_peak_gib']:.1f} |")
    linear = all(r["train_peak_gib"] / first["train_peak_gib"] <= max(
        r["latent_patches"] / first["latent_patches"], r["vlm_tokens"] / first["vlm_tokens"]) for r in rows)
    print(f"peak grows at most linearly in the token counts: {linear}")
    report = {"generator": WAN, "vlm": QWEN, "rows": rows, "linear": linear,
              "largest_dense_over_factorised": round(rows[-1]["dense_params"] / rows[-1]["phi_params"], 1),
              "log10_params": [round(math.log10(r["phi_params"]), 2) for r in rows]}
    write_json(args.out, report)
    return report


if __name__ == "__main__":
    main()
