"""The concept network on pairs it never trained on, by the steering table's protocol (toy world, ground truth).

For every held-out pair of ``data/concept_network_split.json`` — new pairs of known words, and pairs into the word
held out whole — seed s gives a fresh caption (as in :mod:`l2vkit.toyworld.steering_eval`) sampled from the same
noise by: the network at φ ∈ 0, 0.25, …, 1; the shipped bank's per-pair vector at φ = 1 where the bank has the pair;
and the prompt swap. Flip, kept and monotonicity are :func:`~l2vkit.toyworld.steering_eval.scores`'.

    python -m l2vkit.toyworld.network_eval [--seeds 50] [--out outputs/network_eval.json]
"""
from __future__ import annotations

import argparse
import time

from .steering_eval import IN_PLACE_HEADER, in_place_text, readings_text


def run(seeds: int = 50, *, network_path=None, split_path=None, pairs=None, progress: bool = True) -> dict:
    from tqdm.auto import tqdm

    from ..concepts.network import ConceptNetwork
    from ..concepts.resolve import ConceptsWithNetwork
    from . import load_concepts, load_coupling, load_generator, load_vlm
    from .network_split import load_split
    from .steering_eval import evaluate_pair, scores

    split = load_split(split_path)
    vlm, generator = load_vlm(), load_generator()
    coupling = load_coupling(vlm=vlm, generator=generator)
    network = ConceptNetwork.load(network_path or _default_network(), generator=generator)
    bank = load_concepts(generator=generator)
    concepts = ConceptsWithNetwork(None, network, generator)  # every pair through the network
    kinds = {**dict.fromkeys(split["known_word_pairs"], "known words"),
             **dict.fromkeys(split["new_word_pairs"], "new word")}
    rows, started = {}, time.perf_counter()
    for name in tqdm(pairs or list(kinds), desc="network eval", disable=not progress):
        compare = {"bank": bank} if name in bank else {}
        result = evaluate_pair(generator, vlm, coupling, concepts, name, range(seeds), leaps=False, compare=compare)
        rows[name] = {"family": result["family"], "held_out": kinds.get(name, "not held out"), **scores(result)}
    return {"rows": rows, "seconds": round(time.perf_counter() - started, 1), "seeds": seeds,
            "network": network.meta.get("created"), "split_seed": split["seed"]}


def _default_network():
    from ..paths import data_path

    return data_path("toy_concept_network.safetensors")


def format_table(rows: dict) -> str:
    """One Markdown row per pair and method; the network's row gives its flip and kept as a share of the bank's."""
    lines = [f"| pair | held out | method | flip φ=1 | kept | {IN_PLACE_HEADER} "
             "| P(target) via Φ / pixels (disagree) | monotone ρ (log-odds / measured) | vs bank: flip / kept |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        bank = r.get("bank")
        for key, label in (("steered", "network"), ("bank", "per-pair vector"), ("prompt_swap", "prompt swap")):
            if key not in r:
                continue
            m = r[key]
            mono = (f"{r['monotonic_prob_spearman']:.2f} / {r['monotonic_measured_spearman']:.2f}"
                    if key == "steered" else "")
            ratio = (f"{m['flip'] / max(bank['flip'], 1e-9):.2f} / {m['preserved'] / max(bank['preserved'], 1e-9):.2f}"
                     if key == "steered" and bank else "")
            lines.append(f"| {name} | {r['held_out']} | {label} | {100 * m['flip']:.0f}% | {100 * m['preserved']:.0f}% "
                         f"| {in_place_text(m, r['family'])} | {readings_text(m)} | {mono} | {ratio} |")
    return "\n".join(lines)


def main(argv=None):
    from ..io import write_json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--pairs", nargs="*", help="pair names (default: every held-out pair of the split)")
    parser.add_argument("--network", default=None, help="a concept network file (default: the shipped toy one)")
    parser.add_argument("--out", default="outputs/network_eval.json")
    args = parser.parse_args(argv)
    report = run(args.seeds, network_path=args.network, pairs=args.pairs)
    print(format_table(report["rows"]))
    write_json(args.out, report)
    print(f"\n{args.seeds} seeds per pair in {report['seconds']} s; wrote {args.out}")


if __name__ == "__main__":
    main()
