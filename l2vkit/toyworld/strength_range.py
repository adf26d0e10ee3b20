"""Each concept's strength range, measured: the φ over which steering keeps every other attribute.

For a pair and held-out seeds (captions from seed 40,000 on: none of training's, the steering table's or the
controls table's), steer at every φ of :data:`GRID` from the same noise and measure the videos. A φ *keeps* when the
other five attributes equal the unsteered video's in at least ``kept_at_least`` of the seeds. The recorded range is
the longest run of neighbouring grid values around φ = 1 (the strength the concept was trained at) that all keep;
between grid values it is assumed to hold. It is stored in the bank's metadata, ``meta["strength_range"][pair]``,
and :func:`l2vkit.steer` warns outside it. The same is measured for steering back (``["back"]``: captions that hold
the target word, steered by −φ towards the source word). ``python -m l2vkit.toyworld.train_concepts`` records both
after training; for a bank trained before:

    python -m l2vkit.toyworld.strength_range [--seeds 20] [--bank data/toy_concepts.safetensors] [--write]
"""
from __future__ import annotations

import argparse
import time

GRID = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0)
KEPT_AT_LEAST = 0.9


def measure_strength_range(generator, concepts, pair_name: str, seeds, *, grid=GRID,
                           kept_at_least: float = KEPT_AT_LEAST, batch_seed: int = 0, back: bool = False) -> dict:
    """The range of φ that keeps the other attributes for one pair, with the measurements behind it. ``back``:
    captions with the target word steered by −φ (towards the source word); the range is then of −φ."""
    from ..baselines import sample_batch
    from ..concepts.placement import generator_tokenizer
    from ..steering import steered_condition
    from .attributes import caption, random_attributes
    from .controls_eval import _read, _scores

    pair = concepts.spec(pair_name)
    word, goal, sign = (pair.target, pair.source, -1.0) if back else (pair.source, pair.target, 1.0)
    captions = [caption(random_attributes(40_000 + int(s)).replace(**{pair.slot: word})) for s in seeds]
    base = generator.encode_prompt(captions)
    plain = _read(sample_batch(generator, base, batch_seed).frames)
    scores = {}
    for phi in grid:
        steered = steered_condition(base, {pair_name: sign * phi}, concepts, captions=captions,
                                    tokenizer=generator_tokenizer(generator))
        videos = sample_batch(generator, steered, batch_seed).frames
        scores[phi] = _scores(_read(videos), plain, pair.slot, goal)
    low, high = range_around_one(grid, [scores[phi]["kept"] >= kept_at_least for phi in grid])
    return {"low": low, "high": high, "kept_at_least": kept_at_least, "seeds": len(captions),
            "kept": {f"{phi:g}": round(s["kept"], 3) for phi, s in scores.items()},
            "flip": {f"{phi:g}": round(s["flip"], 3) for phi, s in scores.items()}}


def range_around_one(grid, keeps) -> tuple:
    """The longest run of neighbouring grid values around φ = 1 that all keep, as (low, high); (None, None) when
    φ = 1 itself does not keep.

    >>> range_around_one((0.25, 0.5, 0.75, 1.0, 1.25), [True, False, True, True, False])
    (0.75, 1.0)
    """
    grid = tuple(grid)
    if 1.0 not in grid or not keeps[grid.index(1.0)]:
        return None, None
    lo = hi = grid.index(1.0)
    while lo > 0 and keeps[lo - 1]:
        lo -= 1
    while hi < len(grid) - 1 and keeps[hi + 1]:
        hi += 1
    return grid[lo], grid[hi]


def record_strength_ranges(generator, concepts, seeds, *, progress: bool = True, **kwargs):
    """Measure every pair of ``concepts`` and store the ranges in ``concepts.meta["strength_range"]``; returns it."""
    from tqdm.auto import tqdm

    ranges = {}
    for name in tqdm(concepts.pairs, desc="strength ranges", disable=not progress):
        ranges[name] = measure_strength_range(generator, concepts, name, seeds, **kwargs)
        ranges[name]["back"] = measure_strength_range(generator, concepts, name, seeds, back=True, **kwargs)
    concepts.meta["strength_range"] = ranges
    return ranges


def format_ranges(ranges: dict) -> str:
    """A Markdown table: per pair, the recorded range and kept at each φ."""
    grid = list(next(iter(ranges.values()))["kept"])
    lines = ["| pair | range | " + " | ".join(f"kept φ=±{g}" for g in grid) + " |", "|---|---|" + "---|" * len(grid)]
    for name, r in ranges.items():
        for label, m in (("", r), (" (back, φ < 0)", r.get("back"))):
            if m is None:
                continue
            span = "none" if m["low"] is None else f"{m['low']:g}–{m['high']:g}"
            lines.append(f"| {name}{label} | {span} | " + " | ".join(f"{m['kept'][g]:.2f} ({m['flip'][g]:.2f})"
                                                                 for g in grid) + " |")
    return "\n".join(lines)


def main(argv=None):
    from ..concepts import ConceptBank
    from . import load_generator

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--bank", default="data/toy_concepts.safetensors")
    parser.add_argument("--write", action="store_true", help="save the ranges into the bank file")
    args = parser.parse_args(argv)
    generator = load_generator()
    bank = ConceptBank.load(args.bank, generator=generator)
    start = time.perf_counter()
    ranges = record_strength_ranges(generator, bank, range(args.seeds))
    print(format_ranges(ranges))
    print(f"\n{args.seeds} held-out seeds per pair in {time.perf_counter() - start:.0f} s")
    if args.write:
        bank.save(args.bank)
        print(f"wrote the ranges into {args.bank}")


if __name__ == "__main__":
    main()
