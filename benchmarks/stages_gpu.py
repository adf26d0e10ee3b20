"""Every stage of a tier on one GPU with random-weight full-size models: time and peak memory beside the planner's row.

    python benchmarks/stages_gpu.py --tier colab-t4 --tier a100-80g   # on a GPU (benchmarks/gpu.sh runs this)
    python benchmarks/stages_gpu.py --tiny                            # tiny sizes on a CPU: the code path only

Models are built from configs of the published classes in the tier's dtype, straight on the GPU (no downloads):
UMT5-XXL for "encode captions", Wan2.1-T2V-1.3B's transformer and VAE, Qwen2.5-VL-3B / 7B, Φ at the planner's real
sizes. Each stage holds only the models its planner row names (the tiers free the rest; :mod:`l2vkit.stage_memory`)
and runs its work once: 8 captions encoded; one clip read; one batch of coupling data; one Φ training step of each
stage; a concept-cache step (G, then x̂0 read through Φ by the VLM); one concept-training step (G forward and
backward, blocks recomputed); two sampling steps and a decode; the logit editor's Φ read on top. Measured = ``torch.cuda.max_memory_allocated`` over the stage (weights included);
planned = the planner's row less the CUDA context it adds (0.5 GiB), which the allocator does not count. The
multi-gpu tier needs 8 GPUs and is skipped, saying so.
"""
from __future__ import annotations

import argparse
import json
import time

GIB = 1024 ** 3
UMT5_XXL = dict(d_model=4096, d_ff=10240, d_kv=64, num_layers=24, num_heads=64, vocab_size=256384,
                feed_forward_proj="gated-gelu", relative_attention_num_buckets=32)
QWEN25_VL_7B_TEXT = dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
                         num_key_value_heads=4, max_position_embeddings=128000)


def _models(tier, tiny: bool, device, dtype):
    """Builders of the tier's models (each call builds one, on ``device`` in ``dtype``)."""
    import torch

    import gpu_bench
    from l2vkit import testing
    from l2vkit.testing_generators import TINY_SIZES, tiny_wan_pipeline

    def build(fn):
        previous = torch.get_default_dtype()
        torch.set_default_dtype(dtype if dtype != torch.bfloat16 or device.type == "cuda" else torch.float32)
        try:
            with torch.device(device):
                torch.manual_seed(0)
                return fn()
        finally:
            torch.set_default_dtype(previous)

    def text_encoder():
        from transformers import UMT5Config, UMT5EncoderModel

        config = UMT5Config(**(UMT5_XXL if not tiny else dict(d_model=32, d_ff=64, d_kv=8, num_layers=2,
                                                                 num_heads=4, vocab_size=1000)))
        return build(lambda: UMT5EncoderModel(config)).to(dtype).eval()

    def generator():
        from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, WanPipeline, WanTransformer3DModel

        from l2vkit.generator import VideoGenerator

        if tiny:
            return VideoGenerator.from_pipeline(tiny_wan_pipeline(), **TINY_SIZES["wan"])
        transformer = build(lambda: WanTransformer3DModel(**gpu_bench.WAN_1_3B)).to(dtype)
        vae = build(lambda: AutoencoderKLWan()).to(torch.float32)
        pipe = WanPipeline(tokenizer=None, text_encoder=None, vae=vae, transformer=transformer,
                           scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0))
        return VideoGenerator.from_pipeline(pipe, frames=tier.frames, height=tier.height, width=tier.width,
                                            steps=2, guidance=5.0, model_id=f"random {tier.generator} config")

    def vlm():
        if tiny:
            return testing.tiny_qwen2_5_vl()
        from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

        from l2vkit.vlm.qwen import QwenVLM

        tok = testing.tiny_tokenizer(testing.QWEN_SPECIALS)
        text = testing._qwen_text_config(tok)
        text.update(QWEN25_VL_7B_TEXT if "7B" in tier.vlm else gpu_bench.QWEN25_VL_3B_TEXT, vocab_size=151936,
                    rope_parameters={"rope_type": "default", "rope_theta": 1e6, "mrope_section": [16, 24, 24]})
        vision = dict(gpu_bench.QWEN25_VL_3B_VISION, out_hidden_size=text["hidden_size"])
        config = Qwen2_5_VLConfig(vision_config=vision, text_config=text, **testing._qwen_token_ids(tok))
        model = build(lambda: Qwen2_5_VLForConditionalGeneration(config)).to(dtype).eval()
        preprocess = dict(gpu_bench.QWEN_PREPROCESS)
        preprocess.pop("num_frames")  # the official 2 fps sampling, as the planner assumes
        vlm = QwenVLM(model, tok, preprocess, model_id=f"random {tier.vlm} config")
        vlm.video_fps = 16.0
        return vlm

    return text_encoder, generator, vlm


def run_tier(tier_name: str, tiny: bool = False) -> dict:
    import gc

    import numpy as np
    import torch

    from l2vkit.concepts import ConceptBank  # noqa: F401  (import cost outside the timings)
    from l2vkit.coupling import build_coupling_data
    from l2vkit.coupling.fit import STAGES, stage_losses
    from l2vkit.coupling.networks import Coupling, CouplingConfig
    from l2vkit.generator import ConditionStore
    from l2vkit.generator.base import Condition
    from l2vkit.stage_memory import CUDA_CONTEXT_GIB, plan_stages
    from l2vkit.tiers import get_tier

    tier = get_tier(tier_name)
    device = torch.device("cuda" if torch.cuda.is_available() and not tiny else "cpu")
    dtype = {"float16": torch.float16, "bfloat16": torch.bfloat16}[tier.dtype] if device.type == "cuda" \
        else torch.float32
    if tier.gpus > 1:
        return {"tier": tier.name, "skipped": f"needs {tier.gpus} GPUs; this benchmark uses one"}
    plan = plan_stages(tier)
    text_encoder, build_generator, build_vlm = _models(tier, tiny, device, dtype)
    rows = {}

    def stage(name, fn):
        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() / GIB if device.type == "cuda" else None
        planned = plan.row(name).gpu_gib - CUDA_CONTEXT_GIB
        rows[name] = {"seconds": round(time.perf_counter() - start, 2), "measured_gib": peak,
                      "planned_gib": round(planned, 2), "ratio": None if peak is None else round(peak / planned, 3)}
        print(f"  {name:<17} {rows[name]['seconds']:8.1f} s  measured "
              f"{'-' if peak is None else f'{peak:6.2f}'} GiB  planned {planned:6.2f} GiB", flush=True)

    g = torch.Generator().manual_seed(0)

    def encode():
        model = text_encoder()
        ids = torch.randint(0, model.config.vocab_size, (8, 512 if not tiny else 16), generator=g).to(device)
        with torch.no_grad():
            model(input_ids=ids)
        del model

    stage("encode captions", encode)
    shared = {}

    def extraction():
        vlm = build_vlm()
        gen_size = (tier.frames, tier.height, tier.width) if not tiny else (9, 32, 32)
        clip = np.random.default_rng(0).integers(0, 255, (1, *gen_size, 3), dtype=np.uint8)
        with torch.no_grad():
            vlm.token_probs(vlm.visual_tokens(clip), "a video of")
        shared["vlm"], shared["clip"] = vlm, clip

    stage("extraction", extraction)

    def coupling_data():
        gen = build_generator()
        pi = Condition(torch.randn(1, gen.text_len, gen.text_dim, generator=g).to(device, dtype))
        gen.encode_prompt = lambda texts: pi.repeat(len(texts)) if not isinstance(texts, str) else pi
        gen.conditions = ConditionStore({"": pi})  # the negative prompt, as encode_captions would have stored it
        clips = np.repeat(shared["clip"], tier.coupling_data_batch, axis=0) if not tiny else \
            np.zeros((1, gen.frames, gen.height, gen.width, 3), np.uint8)
        data = build_coupling_data(shared["vlm"], gen, clips, ["a clip"] * len(clips), batch=tier.coupling_data_batch,
                                   sigmas_per_video=1, progress=False)
        shared.update(gen=gen, pi=pi, data=data)

    stage("coupling data", coupling_data)
    vlm, gen, pi, data = shared.pop("vlm"), shared["gen"], shared["pi"], shared["data"]
    vlm_state = vlm.model
    vlm.model = vlm.model.to("cpu")  # the fit holds Φ only
    gen.pipe.to("cpu")

    def fit():
        cfg = CouplingConfig(latent_shape=tuple(data.latents.shape[1:]), text_dim=gen.text_dim,
                             tokens=data.targets.shape[1], token_dim=data.targets.shape[2],
                             token_grid=tuple(data.meta["token_layout"].get("token_grid", ())) or None,
                             **({"width": 32, "mixer_depth": 2, "local_depth": 1, "heads": 2} if tiny else {}))
        model = Coupling(cfg).to(device)
        batches = {"batch_size": 8, "rho_batch_size": 4, **tier.coupling_batches}
        for name in STAGES:
            size = batches["rho_batch_size" if name == "rho" else "batch_size"]
            index = torch.randint(0, len(data), (size,), generator=g)
            batch = {"latents": data.latents[index].to(device), "embeds": data.embeds[data.video_index[index]].to(device),
                     "mask": data.mask[data.video_index[index]].to(device),
                     "local_tokens": data.local_tokens[index].to(device),
                     "targets": data.targets[data.video_index[index]].to(device)}
            params = list({"global": model.global_branch, "local": model.local_branch, "rho": model.rho}[name]
                          .parameters())
            optimiser = torch.optim.AdamW(params, lr=1e-4)
            sum(stage_losses(model, batch, name).values()).backward()
            optimiser.step()
            optimiser.zero_grad(set_to_none=True)
            del optimiser
        shared["phi"] = model.eval().requires_grad_(False)

    stage("coupling fit", fit)
    phi = shared.pop("phi")
    gen.pipe.transformer.to(device)
    vlm.model = vlm_state.to(device)

    def read_through_phi(latents):
        with torch.no_grad():
            tokens = phi(latents.to(next(phi.parameters()).dtype), pi.embeds.float(), None, None, merge="global")
            vlm.token_probs(tokens.to(dtype), "a video of")

    def cache():  # one step of a π⁻ trajectory: G (no gradient), then x̂0 read through Φ by the VLM
        z = torch.randn(1, *gen.latent_shape(gen.frames, gen.height, gen.width), generator=g).to(device)
        with torch.no_grad():
            gen.velocity(z, pi, torch.tensor([500.0]))
        read_through_phi(z)

    stage("concept cache", cache)
    phi, vlm.model = phi.to("cpu"), vlm.model.to("cpu")

    def training():
        batch = tier.concept_pairs * tier.concept_batch_per_pair
        z = torch.randn(batch, *gen.latent_shape(gen.frames, gen.height, gen.width), generator=g).to(device)
        q = torch.zeros(1, gen.text_len, gen.text_dim, device=device, requires_grad=True)
        with gen.recomputing_blocks():
            v = gen.velocity(z, Condition((pi.embeds + q).expand(batch, -1, -1)), torch.full((batch,), 500.0))
            v.square().mean().backward()

    stage("concept training", training)
    gen.pipe.to(device)

    def steering():
        gen.sample(pi, steps=2, seed=0, output="frames")

    stage("steering", steering)
    vlm.model, phi = vlm_state.to(device), phi.to(device)

    def editor():
        read_through_phi(gen.sample(pi, steps=2, seed=0).latents.to(device))

    stage("logit editor", editor)
    return {"tier": tier.name, "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu (tiny)",
            "dtype": str(dtype), "tiny": tiny, "stages": rows}


def main(argv=None) -> list:
    from l2vkit.io import write_json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tier", action="append", help="tiers to run (default: colab-t4 and a100-80g)")
    parser.add_argument("--tiny", action="store_true", help="tiny models on the CPU: the code path only")
    parser.add_argument("--out", default="outputs/benchmarks/stages_gpu.json")
    args = parser.parse_args(argv)
    results = []
    for name in args.tier or ["colab-t4", "a100-80g"]:
        print(f"tier {name}{' (tiny models, CPU)' if args.tiny else ''}:", flush=True)
        results.append(run_tier(name, tiny=args.tiny))
    write_json(args.out, results)
    print(json.dumps(results, indent=1)[:2000])
    return results


if __name__ == "__main__":
    main()
