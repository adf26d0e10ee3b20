"""Full-size cost on one GPU, with random weights (no downloads): steered-sampling overhead, Φ read speed-up and peak
memory, for a Wan 2.1-1.3B-sized generator and a Qwen2.5-VL-3B-sized VLM at 480p, 33 frames.

    bash benchmarks/gpu.sh                 # = python benchmarks/gpu_bench.py --out outputs/benchmarks/gpu.json
    python benchmarks/gpu_bench.py --tiny  # the same code path with tiny sizes, on a CPU (a smoke test)

Models are built from their configs (diffusers ``WanTransformer3DModel`` / ``AutoencoderKLWan`` with Wan 2.1-1.3B's
sizes, transformers ``Qwen2_5_VLForConditionalGeneration`` with Qwen2.5-VL-3B's sizes) in bf16 where supported.
π is a random (1, 512, 4096) tensor, as UMT5-XXL would give: the text encoder is not part of what is timed.
"""
from __future__ import annotations

import argparse
import json
import time

WAN_1_3B = dict(patch_size=(1, 2, 2), num_attention_heads=12, attention_head_dim=128, in_channels=16, out_channels=16,
                text_dim=4096, freq_dim=256, ffn_dim=8960, num_layers=30, cross_attn_norm=True,
                qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=1024)
QWEN25_VL_3B_VISION = dict(depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16, out_hidden_size=2048,
                           patch_size=14, spatial_merge_size=2, temporal_patch_size=2, window_size=112,
                           fullatt_block_indexes=[7, 15, 23, 31])
QWEN25_VL_3B_TEXT = dict(hidden_size=2048, intermediate_size=11008, num_hidden_layers=36, num_attention_heads=16,
                         num_key_value_heads=2, max_position_embeddings=128000)
QWEN_PREPROCESS = {"patch_size": 14, "temporal_patch_size": 2, "merge_size": 2,
                   "size": {"shortest_edge": 128 * 28 * 28, "longest_edge": 768 * 28 * 28}, "num_frames": 16,
                   "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711]}


def build_generator(tiny: bool, device, dtype):
    import torch
    from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, WanPipeline, WanTransformer3DModel

    from l2vkit.generator import VideoGenerator
    from l2vkit.testing_generators import TINY_SIZES, tiny_wan_pipeline, tiny_word_tokenizer

    if tiny:
        return VideoGenerator.from_pipeline(tiny_wan_pipeline(), **TINY_SIZES["wan"])
    torch.manual_seed(0)
    transformer = WanTransformer3DModel(**WAN_1_3B).to(device, dtype)
    vae = AutoencoderKLWan().to(device, torch.float32)  # the Wan 2.1 VAE's default sizes; kept in fp32 as Wan does
    from l2vkit.testing_generators import _tiny_t5_encoder

    tokenizer = tiny_word_tokenizer()
    pipe = WanPipeline(tokenizer=tokenizer, text_encoder=_tiny_t5_encoder(tokenizer, umt5=True), vae=vae,
                       transformer=transformer, scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0))
    return VideoGenerator.from_pipeline(pipe, frames=33, height=480, width=832, steps=10, guidance=5.0,
                                        model_id="random Wan2.1-1.3B config")


def build_vlm(tiny: bool, device, dtype):
    import torch

    from l2vkit import testing

    if tiny:
        return testing.tiny_qwen2_5_vl()
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    from l2vkit.vlm.qwen import QwenVLM

    tok = testing.tiny_tokenizer(testing.QWEN_SPECIALS)
    text = testing._qwen_text_config(tok)
    text.update(QWEN25_VL_3B_TEXT, vocab_size=151936,
                rope_parameters={"rope_type": "default", "rope_theta": 1e6, "mrope_section": [16, 24, 24]})
    config = Qwen2_5_VLConfig(vision_config=QWEN25_VL_3B_VISION, text_config=text, **testing._qwen_token_ids(tok))
    torch.manual_seed(0)
    model = Qwen2_5_VLForConditionalGeneration(config).to(device, dtype).eval()
    return QwenVLM(model, tok, QWEN_PREPROCESS, model_id="random Qwen2.5-VL-3B config")


def timed(fn, repeats: int, device):
    import statistics

    import torch

    fn()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def peak(fn, device):
    import torch

    if device.type != "cuda":
        fn()
        return None
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    fn()
    return torch.cuda.max_memory_allocated() / 2**30


def run(tiny: bool = False, repeats: int = 3) -> dict:
    import torch

    from l2vkit.concepts import ConceptBank
    from l2vkit.provenance import generator_identity
    from l2vkit.coupling.fit import CouplingResult
    from l2vkit.coupling.networks import Coupling, CouplingConfig
    from l2vkit.generator.base import Condition
    from l2vkit.pairs import ContrastPair
    from l2vkit.provenance import provenance
    from l2vkit.steering import steer

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.bfloat16 if device.type == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
    gen = build_generator(tiny, device, dtype)
    g = torch.Generator().manual_seed(0)
    text_len, text_dim = (16, gen.text_dim) if tiny else (512, 4096)
    pi = Condition(torch.randn(1, text_len, text_dim, generator=g).to(device, dtype), None)
    gen.encode_prompt = lambda text: pi  # noqa: E731 — the text encoder is not what is measured
    names = ["red->blue", "circle->square", "small->large", "desert->snow"]
    words = "a small red circle moves slowly up in the desert"
    bank = ConceptBank({n: 0.01 * torch.randn(text_len, text_dim, generator=g) for n in names},
                       {n: ContrastPair(*n.split("->"), slot="colour", family="attribute") for n in names},
                       {"generator": generator_identity(gen)})
    steps = 2 if tiny else 10
    cases = {
        "plain": lambda: gen.sample(pi, steps=steps, seed=0, output="frames"),
        "K=1": lambda: steer(gen, words, {"red->blue": 1.0}, concepts=bank, seed=0, steps=steps),
        "K=4": lambda: steer(gen, words, {n: 1.0 for n in names}, concepts=bank, seed=0, steps=steps),
    }
    sampling = {name: timed(fn, repeats, device) for name, fn in cases.items()}
    sampling_peak = {name: peak(fn, device) for name, fn in cases.items()}

    vlm = build_vlm(tiny, device, dtype)
    z = gen.sample(pi, steps=1, seed=0).latents.to(device)
    with torch.no_grad():
        z_omega = vlm.visual_tokens(gen.decode(z))
    cfg = CouplingConfig(latent_shape=tuple(z.shape[1:]), text_dim=text_dim, tokens=z_omega.shape[1],
                         token_dim=z_omega.shape[2], patch=(1, 2, 2) if tiny else (1, 4, 4),
                         width=64 if tiny else 512, mixer_depth=2 if tiny else 8)
    model = Coupling(cfg).to(device, dtype).eval()
    coupling = CouplingResult(model, cfg, {}, [])
    prompt = "a small"

    def read_phi():
        with torch.no_grad():
            tokens = model(z.to(dtype), pi.embeds, None, None, merge="global")
            return vlm.token_probs(tokens, prompt, ["red", "blue"])

    def read_decode():
        with torch.no_grad():
            return vlm.token_probs(vlm.visual_tokens(gen.decode(z)), prompt, ["red", "blue"])

    reads = {"phi": timed(read_phi, repeats, device), "decode_encode": timed(read_decode, repeats, device)}
    reads_peak = {"phi": peak(read_phi, device), "decode_encode": peak(read_decode, device)}
    del coupling
    return {
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu (tiny smoke test)",
        "dtype": str(dtype), "tiny": tiny, "frames": gen.frames, "height": gen.height, "width": gen.width,
        "sampling_steps": steps, "sampling_s": sampling, "sampling_peak_gib": sampling_peak,
        "steered_over_plain": {k: v / sampling["plain"] for k, v in sampling.items()},
        "phi_tokens": list(z_omega.shape[1:]), "latent_shape": list(z.shape[1:]),
        "phi_params_m": round(sum(p.numel() for p in model.global_branch.parameters()) / 1e6, 1),
        "read_s": reads, "read_peak_gib": reads_peak, "phi_over_decode": reads["phi"] / reads["decode_encode"],
        "provenance": provenance(repeats=repeats),
    }


def main(argv=None):
    from l2vkit.io import write_json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="tiny sizes on any device (smoke test)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="outputs/benchmarks/gpu.json")
    args = parser.parse_args(argv)
    r = run(args.tiny, args.repeats)
    print(json.dumps({k: v for k, v in r.items() if k != "provenance"}, indent=2))
    write_json(args.out, r)


if __name__ == "__main__":
    main()
