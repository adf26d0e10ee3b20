"""Reading the VLM's probabilities through Φ vs decode + VLM encode, side by side in one run (target ≤ 0.1×).

    python benchmarks/coupling_speed.py [--batch 32] [--repeats 7] [--out outputs/benchmarks/coupling_speed.json]

Both paths start from the same generator latents and end with the VLM's candidate-word probabilities at one slot:
(a) Φ_Ω1 read (no decode) + VLM; (b) D_Ξ decode + E_Ω encode + VLM; (c) the full ρ-OT read, which needs (b)'s
decode and encode for its local branch. Medians over repeats, after one warm-up.
"""
from __future__ import annotations

import argparse

from timing import interleaved_medians


def run(batch: int = 32, repeats: int = 7) -> dict:
    import torch

    from l2vkit import toyworld as tw
    from l2vkit.provenance import provenance

    vlm, gen = tw.load_vlm(), tw.load_generator()
    coupling = tw.load_coupling(vlm=vlm, generator=gen)
    captions = [tw.caption(tw.random_attributes(i)) for i in range(batch)]
    condition = gen.encode_prompt(captions)
    z = torch.randn((batch, *coupling.config.latent_shape), generator=torch.Generator().manual_seed(0))
    prompt, words = "a small", ["red", "blue"]

    def through_phi():
        with torch.no_grad():
            return coupling.token_probs(vlm, z, condition, prompt, words)

    def decode_encode():
        with torch.no_grad():
            return vlm.token_probs(vlm.visual_tokens(gen.decode(z)), prompt, words)

    def full_rho_ot():
        with torch.no_grad():
            return coupling.token_probs(vlm, z, condition, prompt, words, merge="rho_ot", generator=gen)

    times = interleaved_medians({"phi": through_phi, "decode": decode_encode, "full": full_rho_ot}, repeats)
    phi, dec, full = times["phi"], times["decode"], times["full"]
    return {"batch": batch, "repeats": repeats, "phi_read_s": phi, "decode_encode_s": dec, "rho_ot_read_s": full,
            "ratio_phi_over_decode": phi / dec, "ratio_rho_ot_over_decode": full / dec,
            "threads": torch.get_num_threads(), "provenance": provenance()}


def main(argv=None):
    from l2vkit.io import write_json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", default="outputs/benchmarks/coupling_speed.json")
    args = parser.parse_args(argv)
    r = run(args.batch, args.repeats)
    print("| path (batch %d) | median time | × decode+encode |" % r["batch"])
    print("|---|---|---|")
    print(f"| Φ_Ω1 read + VLM | {1000 * r['phi_read_s']:.1f} ms | {r['ratio_phi_over_decode']:.3f} |")
    print(f"| decode + VLM encode + VLM | {1000 * r['decode_encode_s']:.1f} ms | 1.000 |")
    print(f"| full ρ-OT read (needs decode + encode) | {1000 * r['rho_ot_read_s']:.1f} ms | "
          f"{r['ratio_rho_ot_over_decode']:.3f} |")
    write_json(args.out, r)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
