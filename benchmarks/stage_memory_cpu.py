"""The memory planner against measured peaks on a CPU: mid-size random-weight models, one stage per process.

    python benchmarks/stage_memory_cpu.py [--size mid|tiny] [--out outputs/benchmarks/stage_memory_cpu.json]

Models are built from configs of the published classes (diffusers ``WanTransformer3DModel``, transformers
``Qwen2_5_VLForConditionalGeneration``, l2vkit's ``Coupling``) at mid sizes (widths 256–512, a few layers, Qwen's
real 151,936-word vocabulary) in float32. Each stage runs in a fresh subprocess with ``MALLOC_MMAP_THRESHOLD_=65536``
(so a freed tensor leaves the resident set at once); after one warm-up run the kernel's peak-RSS mark is reset
(``/proc/self/clear_refs``) and the stage runs again: measured = VmHWM − RSS just before. The planned figure is the
planner's term for exactly that work at the same shapes (:mod:`l2vkit.generator.memory`, :mod:`l2vkit.vlm.memory`,
:mod:`l2vkit.coupling.plan`); weights resident before the stage are in neither figure, except for Φ's step whose
plan includes Φ's weights and optimiser (built inside the measured window).

The plan passes a stage when measured / planned lies in [1 / (1 + TOLERANCE), 1 + TOLERANCE]. A GPU runs the same
kernels' memory-efficient attention; its caching allocator adds 10–20 % that a CPU does not show.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

GIB = 1024 ** 3
TOLERANCE = 0.5  # measured within a factor 1.5 of planned, either way
STAGES = ("sampling call", "concept step", "concept step, recomputed blocks", "extraction", "coupling fit step")
SIZES = {
    "mid": {"wan": dict(num_attention_heads=8, attention_head_dim=64, ffn_dim=2048, num_layers=6, text_dim=512),
            "latent": (16, 5, 32, 48), "text_len": 512,
            "qwen_text": dict(hidden_size=512, intermediate_size=1536, num_hidden_layers=4, num_attention_heads=8,
                              num_key_value_heads=2),
            "qwen_vision": dict(depth=4, hidden_size=256, intermediate_size=512, num_heads=4, out_hidden_size=512),
            "clip": (16, 224, 392), "vocab": 151936,
            "phi": dict(width=128, mixer_depth=4, local_depth=2, heads=4), "phi_batch": 4},
    "tiny": {"wan": dict(num_attention_heads=2, attention_head_dim=16, ffn_dim=64, num_layers=2, text_dim=32),
             "latent": (16, 2, 8, 8), "text_len": 16,
             "qwen_text": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                               num_key_value_heads=2),
             "qwen_vision": dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=64),
             "clip": (4, 56, 56), "vocab": 4096,
             "phi": dict(width=32, mixer_depth=2, local_depth=1, heads=2), "phi_batch": 2},
}


def _status(field: str) -> float:
    return int(re.search(rf"{field}:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) * 1024 / GIB


def measured_peak(fn) -> float:
    """GiB the resident set rose to while ``fn`` ran (after one warm-up run)."""
    import gc

    fn()
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    before = _status("VmRSS")
    fn()
    return _status("VmHWM") - before


# -------------------------------------------------------------------------------------------- the stages
def _wan(size):
    import torch
    from diffusers import WanTransformer3DModel

    from l2vkit.generator.memory import _spec_from_configs

    config = dict(patch_size=(1, 2, 2), in_channels=16, out_channels=16, freq_dim=256, cross_attn_norm=True,
                  qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=1024, **size["wan"])
    torch.manual_seed(0)
    model = WanTransformer3DModel(**config).eval().requires_grad_(False)
    spec = _spec_from_configs("WanPipeline", {"transformer": dict(model.config)},
                              {"transformer": float(sum(p.numel() for p in model.parameters()))}, name="mid Wan")
    return model, spec


def _generator_stage(size, stage: str) -> dict:
    import torch

    from l2vkit.generator.memory import plan_memory

    model, spec = _wan(size)
    c, f, h, w = size["latent"]
    g = torch.Generator().manual_seed(0)
    z = torch.randn(1, c, f, h, w, generator=g)
    text = torch.randn(1, size["text_len"], spec.text_dim, generator=g, requires_grad=stage != "sampling call")
    t = torch.tensor([500.0])
    plan = plan_memory(spec, (f - 1) * spec.temporal + 1, h * spec.spatial, w * spec.spatial, "float32",
                       guidance=False, verbose=False)
    if stage == "sampling call":
        def run():
            with torch.no_grad():
                model(hidden_states=z, timestep=t, encoder_hidden_states=text, return_dict=False)
        planned = plan.transformer_activations_gb
    else:
        if stage.endswith("recomputed blocks"):
            model.enable_gradient_checkpointing()

        def run():
            out = model(hidden_states=z, timestep=t, encoder_hidden_states=text, return_dict=False)[0]
            out.square().mean().backward()
            text.grad = None
        planned = plan.grad_checkpointed_gb if stage.endswith("recomputed blocks") else plan.grad_activations_gb
    return {"measured_gib": measured_peak(run), "planned_gib": planned, "shape": f"{plan.tokens} tokens"}


def _vlm_stage(size) -> dict:
    import numpy as np
    import torch
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    from l2vkit import testing
    from l2vkit.vlm.memory import plan_vlm, vlm_size_from_model
    from l2vkit.vlm.qwen import QwenVLM

    tok = testing.tiny_tokenizer(testing.QWEN_SPECIALS)
    text = testing._qwen_text_config(tok)
    head_dim = size["qwen_text"]["hidden_size"] // size["qwen_text"]["num_attention_heads"]
    quarter = head_dim // 16  # mrope sections sum to head_dim / 2, split 2:3:3 as Qwen2.5-VL does
    text.update(size["qwen_text"], vocab_size=size["vocab"], max_position_embeddings=32768,
                rope_parameters={"rope_type": "default", "rope_theta": 1e6,
                                 "mrope_section": [2 * quarter, 3 * quarter, 3 * quarter]})
    vision = dict(patch_size=14, spatial_merge_size=2, temporal_patch_size=2, window_size=112,
                  fullatt_block_indexes=[size["qwen_vision"]["depth"] - 1], **size["qwen_vision"])
    config = Qwen2_5_VLConfig(vision_config=vision, text_config=text, **testing._qwen_token_ids(tok))
    torch.manual_seed(0)
    model = Qwen2_5_VLForConditionalGeneration(config).eval()
    frames, height, width = size["clip"]
    preprocess = {"patch_size": 14, "temporal_patch_size": 2, "merge_size": 2, "num_frames": frames,
                  "size": {"shortest_edge": 4 * 28 * 28, "longest_edge": height * width},
                  "image_mean": [0.5] * 3, "image_std": [0.5] * 3}
    vlm = QwenVLM(model, tok, preprocess, model_id="mid Qwen2.5-VL")
    video = np.random.default_rng(0).integers(0, 255, (frames, height, width, 3), dtype=np.uint8)

    def run():
        with torch.no_grad():
            vlm.token_probs(vlm.visual_tokens(video[None]), "a video of")

    measured = measured_peak(run)
    grid = [int(x) for x in vlm.pixel_inputs(video[None])["video_grid_thw"][0]]
    prompt = len(vlm._sequence("a video of", vlm.pixel_inputs(video[None]))) - grid[0] * grid[1] * grid[2] // 4
    plan = plan_vlm(vlm_size_from_model(model, "mid Qwen2.5-VL"), frames, height, width, None, "float32",
                    prompt_tokens=prompt, grid=tuple(grid))
    return {"measured_gib": measured, "planned_gib": plan.activations_gib,
            "shape": f"{plan.patches} patches, {plan.tokens} positions × {size['vocab']} words"}


def _phi_stage(size) -> dict:
    import torch

    from l2vkit.coupling.fit import stage_losses
    from l2vkit.coupling.networks import Coupling, CouplingConfig
    from l2vkit.coupling.plan import training_peaks

    cfg = CouplingConfig(latent_shape=size["latent"], text_dim=size["wan"]["text_dim"], tokens=96, token_dim=512,
                         token_grid=(2, 6, 8), **size["phi"])
    params, peaks = training_peaks(cfg, text_len=size["text_len"], batch_size=size["phi_batch"],
                                   rho_batch_size=size["phi_batch"])
    b = size["phi_batch"]
    g = torch.Generator().manual_seed(0)
    batch = {"latents": torch.randn(b, *cfg.latent_shape, generator=g),
             "embeds": torch.randn(b, size["text_len"], cfg.text_dim, generator=g),
             "mask": torch.ones(b, size["text_len"], dtype=torch.bool),
             "local_tokens": torch.randn(b, cfg.tokens, cfg.token_dim, generator=g),
             "targets": torch.randn(b, cfg.tokens, cfg.token_dim, generator=g)}

    def run():  # Φ built, one AdamW step of the global stage, all inside the window (as the plan counts it)
        torch.manual_seed(0)
        model = Coupling(cfg)
        trained = list(model.global_branch.parameters())
        model.requires_grad_(False)
        for p in trained:
            p.requires_grad_(True)
        optimiser = torch.optim.AdamW(trained, lr=1e-4)
        sum(stage_losses(model, batch, "global").values()).backward()
        optimiser.step()
        del model, optimiser

    return {"measured_gib": measured_peak(run) + sum(t.numel() * t.element_size() for t in batch.values()) / GIB,
            "planned_gib": peaks["global"], "shape": f"Φ {params / 1e6:.1f} M params, batch {b}"}


def run_stage(size_name: str, stage: str) -> dict:
    import torch

    torch.set_num_threads(1)
    size = SIZES[size_name]
    if stage == "extraction":
        row = _vlm_stage(size)
    elif stage == "coupling fit step":
        row = _phi_stage(size)
    else:
        row = _generator_stage(size, stage)
    ratio = row["measured_gib"] / row["planned_gib"]
    return {"stage": stage, **row, "ratio": ratio, "within": 1 / (1 + TOLERANCE) <= ratio <= 1 + TOLERANCE}


def run(size_name: str = "mid", stages=STAGES) -> list:
    """Every stage in its own process; returns the rows."""
    rows = []
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    for stage in stages:
        out = subprocess.run([sys.executable, __file__, "--one", stage, "--size", size_name], env=env,
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"stage {stage!r} failed:\n{out.stderr[-3000:]}")
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return rows


def main(argv=None) -> list:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="mid")
    parser.add_argument("--out", default="outputs/benchmarks/stage_memory_cpu.json")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one stage in this process
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_stage(args.size, args.one)))
        return []
    rows = run(args.size)
    print(f"{'stage':<32} {'measured':>9} {'planned':>9} {'ratio':>6}  shape (GiB, float32, CPU; tolerance ×{1 + TOLERANCE})")
    for r in rows:
        print(f"{r['stage']:<32} {r['measured_gib']:9.3f} {r['planned_gib']:9.3f} {r['ratio']:6.2f}  {r['shape']}"
              + ("" if r["within"] else "  OUTSIDE"))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"size": args.size, "tolerance": TOLERANCE, "rows": rows}, indent=2) + "\n")
    return rows


if __name__ == "__main__":
    main()
