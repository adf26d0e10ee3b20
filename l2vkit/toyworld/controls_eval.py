"""Do the steering controls do what they say? Ground truth on the toy world for frame masks, timestep windows, the
strength range, negative φ and captions in other word orders (issue 26's cases).

For each pair and seed: a random caption (seeds from 30,000 on: no caption of concept training or of the steering
table) whose slot holds the source word; every run of a seed starts from the same noise; videos are measured from the
pixels. *flip*: the slot shows the target word; *kept*: every other attribute equals the unsteered video's;
*lost*: the share of frames in which no object is found.

    python -m l2vkit.toyworld.controls_eval [--seeds 50] [--pairs "red->blue" ...] [--cases structures ...]
                                            [--bank FILE] [--out outputs/controls_eval.json]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

PHIS = (0.5, 1.0, 1.5, 2.0)
WINDOWS = ((0.0, 0.3), (0.3, 0.7), (0.7, 1.0))
#: Slots that one still frame shows (the adverb and the direction need the whole clip).
PER_FRAME_SLOTS = ("colour", "shape", "size", "scene")
#: The groups of cases, in the order they are run.
CASES = ("strengths", "windows", "back", "structures", "structures as trained", "frame mask")
#: Caption structures besides the canonical one; each holds every attribute word once.
STRUCTURES = {
    "scene first": "in the {scene}, a {size} {colour} {shape} moves {adverb} {direction}",
    "colour before size": "a {colour} {size} {shape} moves {adverb} {direction} in the {scene}",
    "adverb after direction": "a {size} {colour} {shape} moves {direction} {adverb} in the {scene}",
    "relative clause": "a {size} {colour} {shape} that moves {adverb} {direction} in the {scene}",
    "extra adjectives": "a very {size} bright {colour} {shape} moves {adverb} {direction} in the sunny {scene}",
    # words and an order that the toy bank's training captions (toyworld.reordered_caption) never have
    "unseen wording": "there is a {size} {colour} {shape} in the {scene}, moving {adverb} {direction}",
}


def _phrase(attrs, structure: str) -> str:
    from .attributes import _DIRECTION_PHRASE

    return structure.format(**{**attrs.as_dict(), "direction": _DIRECTION_PHRASE[attrs.direction]})


def _read(videos) -> list:
    """(attributes dict or None, share of frames without an object) per video."""
    from .measure import measure_details

    out = []
    for video in videos:
        try:
            found = measure_details(video)
            out.append((found.attributes.as_dict(), found.missing_frames))
        except ValueError:
            out.append((None, 1.0))
    return out


def _kept(got, reference, slot: str) -> bool:
    """Every attribute but ``slot`` equals the unsteered video's (both measured; ``None``: no object found)."""
    return got is not None and reference is not None and all(got[f] == reference[f] for f in got if f != slot)


def _scores(read, reference, slot: str, target: str) -> dict:
    """flip, kept and lost over seeds: ``read`` and ``reference`` (the unsteered videos) from :func:`_read`."""
    flip = [a is not None and a[slot] == target for a, _ in read]
    kept = [_kept(a, r, slot) for (a, _), (r, _) in zip(read, reference)]
    return {"flip": float(np.mean(flip)), "kept": float(np.mean(kept)), "lost": float(np.mean([m for _, m in read]))}


def _still_reading(frame, slot: str, frames: int):
    """The slot's value in one frame, held still for a clip (``None`` when no object is found)."""
    from .measure import measure_or_none

    found = measure_or_none(np.repeat(frame[None], frames, axis=0))
    return None if found is None else getattr(found, slot)


def evaluate_controls(generator, concepts, pair_name: str, seeds, *, batch_seed: int = 0, cases=CASES) -> dict:
    """Every control of :func:`l2vkit.steering.steer` on one pair (or the groups of ``cases``), scored by ground
    truth over ``seeds``."""
    from ..baselines import prompt_swap, sample_batch
    from ..concepts import swap_word
    from ..concepts.placement import generator_tokenizer
    from ..steering import steer, steered_condition, steps_in_window
    from .attributes import caption, random_attributes

    unknown = set(cases) - set(CASES)
    if unknown:
        raise ValueError(f"unknown cases {sorted(unknown)}; choose from {', '.join(CASES)}")
    if "structures as trained" in cases:  # the comparison needs the placed rows beside it
        cases = (*cases, "structures")
    pair = concepts.spec(pair_name)
    attrs = [random_attributes(30_000 + int(s)).replace(**{pair.slot: pair.source}) for s in seeds]
    captions = [caption(a) for a in attrs]
    base = generator.encode_prompt(captions)
    q = {pair_name: 1.0}

    tokenizer = generator_tokenizer(generator)

    def place(condition, strengths, texts):  # each q's rows on the tokens that play their part in each caption
        return steered_condition(condition, strengths, concepts, captions=texts, tokenizer=tokenizer)

    def run(condition, schedule=None):
        if schedule is None:
            return sample_batch(generator, condition, batch_seed).frames
        return generator.sample(condition, seed=batch_seed, output="frames", condition_schedule=schedule).frames

    plain = _read(run(base))
    out = {"pair": pair_name, "slot": pair.slot, "seeds": len(captions)}
    out["prompt swap"] = _scores(_read(prompt_swap(generator, captions, pair, seed=batch_seed).frames), plain,
                                 pair.slot, pair.target)
    for phi in PHIS if "strengths" in cases else ():
        out[f"φ = {phi:g}"] = _scores(_read(run(place(base, {pair_name: phi}, captions))), plain,
                                      pair.slot, pair.target)
    steered = place(base, q, captions)
    steps = generator.steps
    for window in WINDOWS if "windows" in cases else ():
        active = set(steps_in_window(window, steps))
        videos = run(base, lambda i, t, s=steered, b=base, a=active: s if i in a else b)
        out[f"window {window[0]:g}–{window[1]:g}"] = _scores(_read(videos), plain, pair.slot, pair.target)

    if "back" in cases:  # negative φ on captions that hold the target word: does it go back to the source word?
        back = [caption(a.replace(**{pair.slot: pair.target})) for a in attrs]
        back_base = generator.encode_prompt(back)
        back_plain = _read(run(back_base))
        out["φ = −1 on the target caption"] = _scores(
            _read(run(place(back_base, {pair_name: -1.0}, back))), back_plain, pair.slot, pair.source)
        out["prompt swap back"] = _scores(plain, back_plain, pair.slot, pair.source)  # π with the source word

    for name, structure in STRUCTURES.items() if "structures" in cases else ():
        texts = [_phrase(a, structure) for a in attrs]
        texts_base = generator.encode_prompt(texts)
        reference = _read(run(texts_base))
        out[f"{name}: steered"] = _scores(_read(run(place(texts_base, q, texts))), reference, pair.slot,
                                          pair.target)
        if "structures as trained" in cases:  # q added row by row, as before placement
            out[f"{name}: rows as trained"] = _scores(_read(run(steered_condition(texts_base, q, concepts))),
                                                      reference, pair.slot, pair.target)
        swapped = generator.encode_prompt([swap_word(pair, t) for t in texts])
        out[f"{name}: prompt swap"] = _scores(_read(run(swapped)), reference, pair.slot, pair.target)

    if pair.slot in PER_FRAME_SLOTS and "frame mask" in cases:
        out["frame mask, first half"] = _frame_mask_scores(generator, concepts, pair, captions, seeds, steer)
    return out


def _frame_mask_scores(generator, concepts, pair, captions, seeds, steer) -> dict:
    """Frames 0 … ⌈T/2⌉ − 1 asked for: masked-in frames show the target, masked-out frames the unsteered value.
    Those are the unsteered video's own pixels by construction, so the decode of the same latents is scored too:
    what the frames outside the mask would show without that (the causal VAE carries the steered frames' colour on)."""
    import warnings

    frames = generator.frames
    mask = np.arange(frames) < (frames + 1) // 2
    inside, outside, decoded, kept = [], [], [], []
    for text, seed in zip(captions, seeds):
        plain = generator.generate(text, seed=int(seed))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the widened-mask warning: its frames are what steered_frames says
            result = steer(generator, text, {pair.name: 1.0}, concepts=concepts, seed=int(seed),
                           frame_mask=list(mask))
        shown = np.asarray(result.steered_frames, dtype=bool)
        raw = generator.decode(result.latents)[0]
        for k in range(frames):
            value = _still_reading(result.video[k], pair.slot, frames)
            if shown[k]:
                inside.append(value == pair.target)
            else:
                unsteered = _still_reading(plain[k], pair.slot, frames)
                outside.append(value == unsteered)
                decoded.append(_still_reading(raw[k], pair.slot, frames) == unsteered)
        (got, _), (ref, _) = _read([result.video, plain])
        kept.append(_kept(got, ref, pair.slot))
    return {"flip": float(np.mean(inside)), "kept": float(np.mean(kept)), "unsteered frames kept": float(np.mean(outside)),
            "unsteered frames kept before compositing": float(np.mean(decoded))}


def format_table(results: list) -> str:
    """One Markdown table: a row per pair and case."""
    lines = ["| pair | case | flip | kept | lost (frames) |", "|---|---|---|---|---|"]
    for r in results:
        for case, s in r.items():
            if isinstance(s, dict):
                extra = (f" (unsteered frames kept {s['unsteered frames kept']:.2f}, before compositing "
                         f"{s['unsteered frames kept before compositing']:.2f})" if "unsteered frames kept" in s else "")
                lost = f"{s['lost']:.2f}" if "lost" in s else "–"
                lines.append(f"| {r['pair']} | {case}{extra} | {s['flip']:.2f} | {s['kept']:.2f} | {lost} |")
    return "\n".join(lines)


def main(argv=None):
    from ..io import write_json
    from . import load_concepts, load_generator

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--pairs", nargs="*", help="pair names (default: every pair of the shipped bank)")
    parser.add_argument("--cases", nargs="*", choices=CASES,
                        help="groups of cases (default: all; 'structures as trained' includes 'structures')")
    parser.add_argument("--bank", default=None, help="concept bank to evaluate (default: the shipped toy bank)")
    parser.add_argument("--out", default="outputs/controls_eval.json")
    args = parser.parse_args(argv)
    generator = load_generator()
    bank = load_concepts(args.bank, generator=generator)
    start = time.perf_counter()
    results = []
    for name in args.pairs or bank.pairs:
        results.append(evaluate_controls(generator, bank, name, range(args.seeds), cases=args.cases or CASES))
        print(f"{name}: done after {time.perf_counter() - start:.0f} s", flush=True)
    print(format_table(results))
    write_json(args.out, {"seeds": args.seeds, "seconds": round(time.perf_counter() - start), "results": results})
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
