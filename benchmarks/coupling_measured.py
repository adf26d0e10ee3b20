"""Φ at real sizes on a GPU: measured training-step peak memory and time per stage, beside the meta-device plan.

    python benchmarks/coupling_measured.py [--out outputs/benchmarks/coupling_measured.json]

Needs CUDA. For the three clip sizes of ``benchmarks/coupling_plan.py`` (Wan2.1-T2V-1.3B latents against
Qwen2.5-VL-3B tokens under official sampling, Φ at width 512 with depths 24/12, batches 8 / ρ-OT 4) it builds the
planned Φ in float32 on the GPU, with gradient checkpointing as ``fit_coupling`` sets it, and runs AdamW steps of
each training stage on random data: the peak is ``torch.cuda.max_memory_allocated`` over three steps (optimiser
state included), the time the median of the last two. Random weights and data: the figures are sizes and speeds,
not a fit.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

WAN, QWEN = "Wan-AI/Wan2.1-T2V-1.3B-Diffusers", "Qwen/Qwen2.5-VL-3B-Instruct"
SIZES = [(17, 256, 448), (33, 480, 832), (81, 480, 832)]
GIB = 2 ** 30


def measure(plan, *, steps: int = 3, device: str = "cuda") -> dict:
    import torch

    from l2vkit.coupling.fit import STAGES, stage_losses
    from l2vkit.coupling.networks import Coupling, CouplingConfig, needs_checkpointing
    from l2vkit.generator.memory import known_spec

    cfg = CouplingConfig(**plan.config)
    device = torch.device(device)
    cuda = device.type == "cuda"
    text_len = known_spec(plan.generator).text_len
    model = Coupling(cfg).to(device)
    model.gradient_checkpointing(needs_checkpointing(cfg))
    rows = {}
    for stage in STAGES:
        size = plan.batches["rho_batch_size" if stage == "rho" else "batch_size"]
        g = torch.Generator(device).manual_seed(0)
        batch = {"latents": torch.randn(size, *cfg.latent_shape, device=device, generator=g),
                 "embeds": torch.randn(size, text_len, cfg.text_dim, device=device, generator=g),
                 "mask": torch.ones(size, text_len, dtype=torch.bool, device=device),
                 "local_tokens": torch.randn(size, cfg.tokens, cfg.token_dim, device=device, generator=g),
                 "targets": torch.randn(size, cfg.tokens, cfg.token_dim, device=device, generator=g)}
        trained = list({"global": model.global_branch, "local": model.local_branch, "rho": model.rho}[stage]
                       .parameters())
        model.requires_grad_(False)
        for p in trained:
            p.requires_grad_(True)
        optimiser = torch.optim.AdamW(trained, lr=1e-4)
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        times = []
        for _ in range(steps):
            start = time.perf_counter()
            loss = sum(stage_losses(model, batch, stage).values())
            loss.backward()
            optimiser.step()
            optimiser.zero_grad(set_to_none=True)
            if cuda:
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
        rows[stage] = {"measured_gib": torch.cuda.max_memory_allocated() / GIB if cuda else float("nan"),
                       "planned_gib": plan.stage_gib[stage], "step_s": statistics.median(times[1:]),
                       "finite": bool(torch.isfinite(loss).item())}
        del optimiser, batch, loss
        if cuda:
            torch.cuda.empty_cache()
    return rows


def main(argv=None) -> dict:
    import torch

    from l2vkit.coupling.plan import plan_coupling

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="outputs/benchmarks/coupling_measured.json")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        raise SystemExit("coupling_measured needs a CUDA GPU; on a CPU run benchmarks/coupling_plan.py (the plan)")
    results = {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__, "rows": []}
    print(f"{'clip':>12} {'N_Ξ':>6} {'N_Ω':>5} {'params':>7} | stage: measured / planned GiB, step s")
    for frames, height, width in SIZES:
        plan = plan_coupling(WAN, QWEN, frames, height, width)
        rows = measure(plan)
        results["rows"].append({"clip": [frames, height, width], "latent_tokens": plan.latent_tokens,
                                "vlm_tokens": plan.vlm_tokens, "phi_params": plan.phi_params, "stages": rows})
        stages = "; ".join(f"{k} {v['measured_gib']:.2f} / {v['planned_gib']:.2f}, {v['step_s']:.3f}"
                           for k, v in rows.items())
        print(f"{frames}×{height}×{width:>4} {plan.latent_tokens:>6} {plan.vlm_tokens:>5} "
              f"{plan.phi_params / 1e6:>6.1f}M | {stages}", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
