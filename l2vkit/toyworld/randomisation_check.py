"""Does the steered video depend on the VLM? The model-randomisation sanity check (Adebayo et al., 2018) on the toy
world.

The concept bank is trained again, at one budget, with (a) the trained toy VLM, (b) the same VLM with its language
side randomised cascading from the top (:func:`l2vkit.vlm.randomise.randomised`: the top layer, then every layer),
(c) fully randomised, and (d) Δω ≡ 1 (no VLM at all). Per pair it reports the cosine and norm ratio of each q against
(a)'s, and how much the steered videos (φ = 1, held-out seeds) change against (a)'s: pixel and perceptual distance
and the share of seeds whose measured attributes differ, with the flip rate. The verdict says, per pair, whether
the video depends on what the VLM knows: whether Δω ≡ 1 reproduces (a), and whether a random VLM changes it.

    python -m l2vkit.toyworld.randomisation_check [--steps 600] [--samples 16] [--seeds 20]
                                                  [--out outputs/randomisation]

Each variant's bank is saved under ``--out`` and reused by a rerun with the same settings and VLM; an interrupted
variant resumes from its training checkpoint (its cache is built again).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

#: (label, cascade stages randomised — None: all, 0: none —, Δω divergence)
VARIANTS = (("trained", 0, "hellinger"), ("top layer", 2, "hellinger"), ("all layers", -1, "hellinger"),
            ("full", None, "hellinger"), ("Δω ≡ 1", 0, "none"))
#: a randomised VLM changes a pair's video when its measured attributes differ from the trained VLM's in this share of
#: seeds or more, or the flip rate moves by this much
CHANGES = 0.25
#: Δω ≡ 1 (no VLM at all) reproduces the trained VLM's concept when q's cosine is at least this and the videos'
#: attributes differ in at most :data:`SAME_VIDEOS` of seeds
SAME_DIRECTION, SAME_VIDEOS = 0.95, 0.1


def variant_vlm(vlm, stages, seed: int):
    """The VLM of one variant: the trained one (``0``), or randomised (``-1``: every decoder layer and the head)."""
    from ..vlm.randomise import cascade_stages, randomised

    if stages == 0:
        return vlm
    if stages == -1:
        stages = len(cascade_stages(vlm)) - 1
    return randomised(vlm, stages, seed=seed)


def train_variant(label, vlm_v, divergence, models, pairs, settings, out: Path, *, progress=True):
    """One variant's bank, trained (or reloaded from ``out`` when its settings match)."""
    from ..concepts import ConceptBank, build_concept_cache, train_concepts
    from ..coupling import share_coupling
    from ..provenance import vlm_identity
    from . import toy_captions

    vlm, generator, coupling, probe = models
    path = out / f"bank_{label.replace(' ', '_').replace('≡', 'eq').replace('Δω', 'dw')}.safetensors"
    if path.is_file():  # reused when made by this VLM (randomised the same way) with these settings
        bank = ConceptBank.load(path, generator=generator)
        if bank.meta.get("randomisation_check") == settings and bank.meta.get("vlm") == vlm_identity(vlm_v):
            return bank
    coupling_v = coupling if vlm_v is vlm else share_coupling(coupling, vlm_v, reference_vlm=vlm, videos=probe)
    started = time.perf_counter()
    cache = build_concept_cache(generator, vlm_v, coupling_v, pairs, captions=toy_captions,
                                samples_per_pair=settings["samples"], timesteps_per_sample=10,
                                divergence_kind=divergence, directions="forward", seed=settings["seed"],
                                progress=progress)
    state = path.with_name(path.stem + ".train_state.pt")
    bank = train_concepts(generator, cache, pairs, steps=settings["steps"], lr=1e-3, batch_per_pair=8,
                          seed=settings["seed"], progress=progress, vlm=vlm_v, coupling=coupling_v, checkpoint=state)
    bank.meta["randomisation_check"] = settings
    bank.meta["variant"] = {"label": label, "divergence": divergence,
                            "randomisation": getattr(vlm_v, "randomisation", None),
                            "mean_dw": {r["pair"]: round(r["dw"], 4) for r in cache.signal()}}
    bank.meta["seconds"] = round(time.perf_counter() - started, 1)
    bank.save(path)
    state.unlink(missing_ok=True)
    return bank


def vector_rows(banks: dict, reference: str = "trained") -> dict:
    """Per pair and variant: cosine and norm ratio of q against the reference variant's q."""
    rows = {}
    for name in banks[reference].pairs:
        q0 = banks[reference][name].flatten().double()
        rows[name] = {}
        for label, bank in banks.items():
            q = bank[name].flatten().double()
            rows[name][label] = {"cosine": float(q @ q0 / (q.norm() * q0.norm()).clamp_min(1e-12)),
                                 "norm_ratio": float(q.norm() / q0.norm().clamp_min(1e-12))}
    return rows


def video_rows(generator, banks: dict, seeds, *, reference: str = "trained", progress=True) -> dict:
    """Per pair and variant, at φ = 1 on held-out seeds: flip rate, kept rate, and the change against the reference
    variant's videos (mean absolute pixel change, perceptual distance, share of seeds whose measured attributes
    differ)."""
    from tqdm.auto import tqdm

    from ..baselines import sample_batch, steered_batch
    from ..metrics import perceptual_distance
    from .steering_eval import _captions, kept_mask, measured_attributes

    rows = {}
    for name in tqdm(banks[reference].pairs, desc="steered videos", disable=not progress):
        pair = banks[reference].spec(name)
        captions = _captions(pair, seeds)
        plain = sample_batch(generator, generator.encode_prompt(captions), 0).frames
        unsteered = [measured_attributes(v) for v in plain]
        videos = {label: steered_batch(generator, captions, name, 1.0, bank, 0).frames
                  for label, bank in banks.items()}
        found = {label: [measured_attributes(v) for v in frames] for label, frames in videos.items()}
        rows[name] = {}
        for label, frames in videos.items():
            ms = found[label]
            rows[name][label] = {
                "flip": float(np.mean([m[pair.slot] == pair.target for m in ms])),
                "kept": float(kept_mask(ms, unsteered, pair.slot).mean()),
                "pixel_change": float(np.mean(np.abs(frames.astype(np.float32) - videos[reference]) / 255.0)),
                "perceptual_change": float(np.mean(perceptual_distance(frames, videos[reference]))),
                "attributes_differ": float(np.mean([m != r for m, r in zip(ms, found[reference])]))}
    return rows


def verdict(vectors: dict, videos: dict, reference: str = "trained") -> str:
    """One line per pair: does the steered video depend on what the VLM knows? Two tests, per variant label of
    :data:`VARIANTS`: whether Δω ≡ 1 (no VLM) reproduces the trained VLM's q and videos, and whether the fully
    randomised VLM changes them (and so the VLM is on the path at all)."""
    none, full, trained = videos["Δω ≡ 1"], videos["full"], videos[reference]
    no_vlm_same = vectors["Δω ≡ 1"]["cosine"] >= SAME_DIRECTION and none["attributes_differ"] <= SAME_VIDEOS
    random_changes = (full["attributes_differ"] >= CHANGES or abs(full["flip"] - trained["flip"]) >= CHANGES)
    random_text = (f"a randomised VLM {'changes' if random_changes else 'does not change'} it (flip "
                   f"{trained['flip']:.0%} → {full['flip']:.0%}, attributes differ in {full['attributes_differ']:.0%} "
                   f"of seeds; q cosine {vectors['full']['cosine']:.2f}, norm ×{vectors['full']['norm_ratio']:.2f})")
    if no_vlm_same:
        return (f"does NOT depend on what the VLM knows: Δω ≡ 1 (no VLM) gives the same q (cosine "
                f"{vectors['Δω ≡ 1']['cosine']:.2f}) and the same videos (attributes differ in "
                f"{none['attributes_differ']:.0%} of seeds); {random_text}")
    return (f"depends on the VLM: without it (Δω ≡ 1) q has cosine {vectors['Δω ≡ 1']['cosine']:.2f} and the "
            f"attributes differ in {none['attributes_differ']:.0%} of seeds; {random_text}")


def format_table(vectors: dict, videos: dict, verdicts: dict) -> str:
    labels = [label for label, _, _ in VARIANTS]
    lines = ["| pair | variant | cosine with trained q | norm ratio | flip | kept | pixel change | perceptual change "
             "| attributes differ |", "|---|---|---|---|---|---|---|---|---|"]
    for name in vectors:
        for label in labels:
            q, v = vectors[name][label], videos[name][label]
            lines.append(f"| {name} | {label} | {q['cosine']:.2f} | {q['norm_ratio']:.2f} | {v['flip']:.0%} "
                         f"| {v['kept']:.0%} | {v['pixel_change']:.3f} | {v['perceptual_change']:.3f} "
                         f"| {v['attributes_differ']:.0%} |")
    lines += ["", "Verdicts:", ""]
    lines += [f"- **{name}**: {text}" for name, text in verdicts.items()]
    return "\n".join(lines)


def summary_table(vectors: dict, videos: dict) -> str:
    """One row per pair: q's cosine with the trained VLM's for each other variant, and the videos' flip rate and share
    of seeds whose attributes differ from the trained VLM's."""
    others = [label for label, _, _ in VARIANTS if label != "trained"]
    head = " / ".join(others)
    lines = [f"| pair | q cosine ({head}) | flip (trained / {head}) | attributes differ ({head}) |",
             "|---|---|---|---|"]
    for name in vectors:
        q, v = vectors[name], videos[name]
        lines.append(f"| {name} | {' / '.join(format(q[o]['cosine'], '.2f') for o in others)} "
                     f"| {v['trained']['flip']:.0%} / {' / '.join(format(v[o]['flip'], '.0%') for o in others)} "
                     f"| {' / '.join(format(v[o]['attributes_differ'], '.0%') for o in others)} |")
    return "\n".join(lines)


def run(*, steps: int = 600, samples: int = 16, seeds: int = 20, seed: int = 0, out="outputs/randomisation",
        pairs=None, progress: bool = True) -> dict:
    from ..io import write_json
    from . import contrast_pairs, load_concepts, load_coupling, load_generator, load_vlm
    from .vlm_data import held_out

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    vlm, generator = load_vlm(), load_generator()
    coupling = load_coupling(vlm=vlm, generator=generator)
    probe = held_out(16, offset=5_000_000)[1]  # videos to check that Φ stays valid for a randomised copy
    chosen = [p for p in contrast_pairs() if not pairs or p.name in pairs]
    settings = {"steps": steps, "samples": samples, "seed": seed, "pairs": [p.name for p in chosen]}
    banks = {label: train_variant(label, variant_vlm(vlm, stages, seed), divergence, (vlm, generator, coupling, probe),
                                  chosen, settings, out, progress=progress)
             for label, stages, divergence in VARIANTS}
    vectors = vector_rows(banks)
    videos = video_rows(generator, banks, range(seeds), progress=progress)
    verdicts = {name: verdict(vectors[name], videos[name]) for name in vectors}
    shipped = load_concepts(generator=generator)  # the same VLM at the shipped budget: how far retraining moves q
    again = vector_rows({"trained": shipped.without([n for n in shipped.pairs if n not in vectors]),
                         "again": banks["trained"]})
    retrained = {name: row["again"]["cosine"] for name, row in again.items()}
    report = {"settings": {**settings, "video_seeds": seeds}, "vectors": vectors, "videos": videos,
              "retrained_cosine": retrained,
              "verdicts": verdicts,
              "mean_dw": {label: bank.meta["variant"]["mean_dw"] for label, bank in banks.items()},
              "bank_seconds": {label: bank.meta.get("seconds") for label, bank in banks.items()}}
    write_json(out / "randomisation.json", report)
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600, help="training steps per bank (every variant alike)")
    parser.add_argument("--samples", type=int, default=16, help="cache captions per pair")
    parser.add_argument("--seeds", type=int, default=20, help="held-out seeds for the steered videos")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pairs", nargs="*", help="pair names (default: every shipped pair)")
    parser.add_argument("--out", default="outputs/randomisation")
    parser.add_argument("--report-only", action="store_true",
                        help="recompute the verdicts and tables from --out's randomisation.json (no training)")
    args = parser.parse_args(argv)
    if args.report_only:
        from ..io import write_json

        path = Path(args.out) / "randomisation.json"
        report = json.loads(path.read_text())
        report["verdicts"] = {name: verdict(report["vectors"][name], report["videos"][name])
                              for name in report["vectors"]}
        write_json(path, report)
    else:
        report = run(steps=args.steps, samples=args.samples, seeds=args.seeds, seed=args.seed, out=args.out,
                     pairs=args.pairs)
    print(format_table(report["vectors"], report["videos"], report["verdicts"]))
    print("\n" + summary_table(report["vectors"], report["videos"]))
    print("\nmean Δω per variant:", json.dumps(report["mean_dw"], ensure_ascii=False))
    print("cosine of the trained-VLM q at this budget with the shipped bank's:", json.dumps(report["retrained_cosine"]))
    print(f"wrote {Path(args.out) / 'randomisation.json'}")


if __name__ == "__main__":
    main()
