"""Ground-truth evaluation of steering on the toy world, side by side with the baselines.

For a pair and a set of seeds: seed s gives a random caption whose slot holds the source word, and every method
samples it from the same noise (seed s). Methods: the concept bank at φ ∈ ``PHIS``, (a) prompt swap (sample π⁺),
(b) the unweighted direction (a bank trained with Δω ≡ 1), (c) LEAPS-style activation maximisation (optimise the
latent to raise the target word's probability through Φ and the VLM, with a temporal-smoothness term); the
baselines themselves are library code, :mod:`l2vkit.baselines`. Videos are measured from pixels
(:func:`l2vkit.toyworld.measure`).

    python -m l2vkit.toyworld.steering_eval [--seeds 50] [--out outputs/steering_eval.json]
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

# The baselines are library code (l2vkit.baselines); their old names stay importable from here.
from ..baselines import (leaps_latents, pixel_read, prompt_swap, readings_disagree, sample_batch,  # noqa: F401
                         steered_batch, target_read)

PHIS = (0.0, 0.25, 0.5, 0.75, 1.0)


def _captions(pair, seeds):
    from .attributes import toy_captions

    return [toy_captions(pair, 1, seed=10_000 + int(s))[0] for s in seeds]


def evaluation_captions(pairs, seeds) -> list:
    """Every caption :func:`evaluate_pair` samples for ``pairs`` on ``seeds`` (π⁻ and the prompt swap's π⁺): what a
    generator that freed its text encoder must have encoded beforehand (:func:`l2vkit.generator.encode_captions`)."""
    from ..concepts import swap_word

    out = []
    for pair in pairs:
        captions = _captions(pair, seeds)
        out += captions + [swap_word(pair, c) for c in captions]
    return out


def measured_attributes(video) -> dict:
    """The measured attributes as a dict; every value ``None`` when no object can be found (counts as wrong).

    Unlike :func:`l2vkit.toyworld.measure_or_none` (an ``Attributes`` or ``None``), always a dict with every field.
    """
    return measured_and_score(video)[0]


def measured_or_none(video) -> dict:
    """Deprecated: renamed :func:`measured_attributes` (a dict, not the ``Attributes | None`` of
    :func:`l2vkit.toyworld.measure_or_none`); the old name will be removed in l2vkit 0.3."""
    warnings.warn("l2vkit.toyworld.steering_eval.measured_or_none is renamed measured_attributes (it returns a dict; "
                  "l2vkit.toyworld.measure_or_none returns Attributes or None); the old name will be removed in "
                  "l2vkit 0.3", DeprecationWarning, stacklevel=2)
    return measured_attributes(video)


def measured_and_score(video, pair=None) -> tuple[dict, float | None]:
    """:func:`measured_attributes` and, given a pair, its continuous :func:`~l2vkit.toyworld.measure.attribute_score`
    (``None`` without a pair or when no object can be found)."""
    return _attributes_and_score(_details(video), pair)


def _attributes_and_score(found, pair=None) -> tuple[dict, float | None]:
    """:func:`measured_and_score` of a measurement already taken (``None``: no object found)."""
    from .attributes import ATTRIBUTE_VALUES
    from .measure import attribute_score

    if found is None:
        return {field: None for field in ATTRIBUTE_VALUES}, None
    score = None if pair is None else attribute_score(found, pair.slot, pair.source, pair.target)
    return found.attributes.as_dict(), score


def evaluate_pair(generator, vlm, coupling, concepts, pair_name: str, seeds, *, unweighted=None, leaps: bool = True,
                  batch_seed: int = 0, compare=None) -> dict:
    """Measured attributes for every method on ``seeds`` (one batched run per method); ``compare`` maps a label to
    other concepts steered at φ = 1 beside them (e.g. ``{"bank": bank}`` next to a concept network)."""
    import torch

    from ..concepts import slot_prefix

    pair = concepts.spec(pair_name)
    captions = _captions(pair, seeds)
    prefixes = [slot_prefix(pair, c) for c in captions]
    out = {"pair": pair_name, "slot": pair.slot, "family": pair.family, "source": pair.source, "target": pair.target,
           "captions": captions, "measured": {}, "attribute_score": {}, "target_prob": {}, "target_prob_pixels": {},
           "in_place": {}, "position_shift": {}, "background_change": {}, "texture_correlation": {},
           "background_perceptual": {}}
    base = generator.encode_prompt(captions)
    runs = {}
    for phi in PHIS:
        runs[f"phi={phi:g}"] = steered_batch(generator, captions, pair_name, phi, concepts, batch_seed)
    runs["prompt_swap"] = prompt_swap(generator, captions, pair, seed=batch_seed)
    if unweighted is not None:
        runs["unweighted"] = steered_batch(generator, captions, pair_name, 1.0, unweighted, batch_seed)
    for label, other in (compare or {}).items():
        runs[label] = steered_batch(generator, captions, pair_name, 1.0, other, batch_seed)
    latents = {name: run.latents for name, run in runs.items()}
    videos = {name: run.frames for name, run in runs.items()}
    if leaps:
        latents["leaps"] = leaps_latents(generator, vlm, coupling, runs["phi=0"].latents, base, prefixes, pair.target)
        videos["leaps"] = generator.decode(latents["leaps"])
    found = {name: [_details(v) for v in frames] for name, frames in videos.items()}  # each video measured once
    for name, frames in videos.items():
        _minimality(out, name, found["phi=0"], found[name], videos["phi=0"], frames)
        read = [_attributes_and_score(m, pair) for m in found[name]]
        out["measured"][name] = [attrs for attrs, _ in read]
        out["attribute_score"][name] = [None if x is None else round(x, 5) for _, x in read]
        out["target_prob_pixels"][name] = pixel_read(vlm, frames, prefixes, pair)[0].round(5).tolist()
    out["target_log_odds"] = {}
    for name, z in latents.items():
        with torch.no_grad():
            out["target_prob"][name], out["target_log_odds"][name] = _target_read(vlm, coupling, z, base, prefixes,
                                                                                  pair)
    return out


def _details(video):
    from .measure import measure_details

    try:
        return measure_details(video)
    except ValueError:  # no object found
        return None


def _minimality(out: dict, name: str, reference, found, unsteered, frames) -> None:
    """Per seed: whether the object stayed in place (:mod:`~l2vkit.toyworld.minimality`), how far it moved, the
    change outside the object (pixels and perceptual) and the scene texture's correlation, against the
    unsteered video of the same seed (``reference``, ``found``: the two videos' measurements, ``None`` where no
    object was found)."""
    from .minimality import (background_change, background_perceptual, kept_in_place, position_shift,
                             texture_correlation)

    pairs = list(zip(reference, found))
    out["in_place"][name] = [bool(r is not None and m is not None and kept_in_place(r, m)) for r, m in pairs]
    out["position_shift"][name] = [None if r is None or m is None else round(position_shift(r, m), 4)
                                   for r, m in pairs]
    out["background_change"][name] = [round(background_change(u, v), 5) for u, v in zip(unsteered, frames)]
    out["texture_correlation"][name] = [round(texture_correlation(u, v), 4) for u, v in zip(unsteered, frames)]
    out["background_perceptual"][name] = [round(background_perceptual(u, v), 5) for u, v in zip(unsteered, frames)]


def _target_read(vlm, coupling, latents, condition, prefixes, pair) -> tuple[list[float], list[float]]:
    """P(target) renormalised over the pair's two words, and the log-odds log p(target) − log p(source), read
    through Φ with the unsteered condition. The log-odds rank the seeds' φ steps exactly as P(target) would, but do
    not saturate at 0 or 1 in float32 (where P's ranks among 1e-6-sized differences would be noise)."""
    probs, log_odds = target_read(vlm, coupling, latents, condition, prefixes, pair)
    return probs.round(5).tolist(), log_odds.round(4).tolist()


def kept_mask(measured, unsteered, slot) -> np.ndarray:
    """Per seed: every measured attribute but ``slot`` (one slot, or a set of them) as in the unsteered video of the
    same seed (both lists of :func:`measured_attributes` dicts)."""
    edited = {slot} if isinstance(slot, str) else set(slot)
    return np.array([all(m[f] == u[f] for f in m if f not in edited) for m, u in zip(measured, unsteered)])


def scores(result: dict) -> dict:
    """Flip rate, flip rate where the prompt swap renders the target, preservation, and monotonicity over φ."""
    from ..metrics import monotonicity
    from .attributes import parse_caption

    slot, target = result["slot"], result["target"]
    measured = result["measured"]
    unsteered = measured["phi=0"]
    asked = [parse_caption(c).as_dict() for c in result["captions"]]

    def as_captioned(ms):  # every non-target attribute as the caption asks (the generator's own accuracy bounds it)
        return np.array([all(m[f] == a[f] for f in a if f != slot) for m, a in zip(ms, asked)])

    def kept_of(ms):
        return kept_mask(ms, unsteered, slot)

    swap_ok = np.array([m[slot] == target for m in measured["prompt_swap"]])
    swap_kept = kept_of(measured["prompt_swap"])
    # seeds whose unsteered video renders its caption: a change elsewhere is then not the generator's own miss
    captioned = as_captioned(unsteered)
    row = {}
    for name, ms in measured.items():
        if name in ("phi=0",) or (name.startswith("phi=") and name != "phi=1"):
            continue
        flips = np.array([m[slot] == target for m in ms])
        kept = kept_of(ms)
        by_attribute = {f: float(np.mean([m[f] == u[f] for m, u in zip(ms, unsteered)])) for f in unsteered[0]
                        if f != slot}
        key = "steered" if name == "phi=1" else name
        row[key] = {"flip": float(flips.mean()),
                    "flip_where_swap_renders": float(flips[swap_ok].mean()) if swap_ok.any() else float("nan"),
                    "preserved": float(kept.mean()),
                    "preserved_by_attribute": by_attribute,
                    # as flip_where_swap_renders: the seeds where rewriting the prompt itself keeps the rest
                    "preserved_where_swap_keeps": float(kept[swap_kept].mean()) if swap_kept.any() else float("nan"),
                    "preserved_where_unsteered_as_captioned": (float(kept[captioned].mean()) if captioned.any()
                                                               else float("nan")),
                    "as_captioned": float(as_captioned(ms).mean()),
                    "target_prob": float(np.mean(result["target_prob"][name])),
                    **_closed_loop(result, name), **_in_place(result, name, kept)}
    phi_keys = [f"phi={p:g}" for p in PHIS]
    log_odds = np.array([result["target_log_odds"][k] for k in phi_keys]).T  # (seeds, φ): P(target)'s ranks
    hits = np.array([[m[slot] == target for m in measured[k]] for k in phi_keys], dtype=float).T
    # The measured attribute as the continuous quantity it is read from (a flip alone has ties at 0 and 1);
    # seeds that lose the object at some φ have no such reading there and are left out.
    values = np.array([[np.nan if x is None else x for x in result["attribute_score"][k]] for k in phi_keys]).T
    complete = ~np.isnan(values).any(axis=1)
    # seeds whose sequence is constant have no rank correlation and are left out (as in ground_truth_scores)
    row["monotonic_prob_spearman"] = monotonicity(PHIS, log_odds)[0]
    row["monotonic_measured_spearman"] = monotonicity(PHIS, values[complete])[0] if complete.any() else float("nan")
    row["monotonic_measured_seeds"] = int(complete.sum())
    rendered = complete & swap_ok
    row["monotonic_measured_spearman_where_swap_renders"] = (monotonicity(PHIS, values[rendered])[0]
                                                             if rendered.any() else float("nan"))
    row["monotonic_flip_spearman"] = monotonicity(PHIS, hits)[0]
    row["flip_by_phi"] = {k: float(hits[:, i].mean()) for i, k in enumerate(phi_keys)}
    row["swap_renders_target"] = float(swap_ok.mean())
    row["unsteered_as_captioned"] = float(captioned.mean())
    return row


def _in_place(result: dict, name: str, kept) -> dict:
    """Kept *and* in place: every other attribute as unsteered and the object where it was (position within
    :data:`~l2vkit.toyworld.minimality.POSITION_TOLERANCE`, no frame lost). Also the change outside the object:
    pixels, perceptual, and the scene texture's correlation with the unsteered video's."""
    if name not in result.get("in_place", {}):
        return {}
    in_place = np.array(result["in_place"][name])
    out = {"in_place": float(in_place.mean()), "kept_in_place": float((kept & in_place).mean()),
           "background_change": float(np.nanmean(result["background_change"][name]))}
    for key in ("background_perceptual", "texture_correlation"):
        if key in result:
            out[key] = float(np.nanmean(np.array(result[key][name], dtype=float)))
    return out


def _closed_loop(result: dict, name: str) -> dict:
    """The closed-loop reading (the VLM on the decoded pixels) beside Φ's: its mean P(target), the mean gap between
    the two, and the share of seeds where they name different words (Φ fooled)."""
    if name not in result.get("target_prob_pixels", {}):
        return {}
    via_phi, pixels = np.array(result["target_prob"][name]), np.array(result["target_prob_pixels"][name])
    return {"target_prob_pixels": float(pixels.mean()), "reading_gap": float(np.abs(via_phi - pixels).mean()),
            "readings_disagree": float(readings_disagree(via_phi, pixels).mean())}


def format_tables(rows: dict) -> str:
    """One Markdown table per family: each pair's steered scores beside the baselines."""
    methods = [("steered", "L2V φ=1"), ("prompt_swap", "prompt swap"), ("unweighted", "unweighted Δv"),
               ("leaps", "LEAPS-style")]
    lines = []
    for family in ("attribute", "action", "scene"):
        pairs = [(n, r) for n, r in rows.items() if r["family"] == family]
        if not pairs:
            continue
        lines += [f"\n### {family}", "",
                  "| pair | method | flip | flip where swap renders | kept vs unsteered (least-kept attribute) "
                  f"| {IN_PLACE_HEADER} | others as captioned (unsteered) "
                  "| P(target) via Φ / pixels (disagree) | monotone ρ (log-odds / measured) |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for name, r in pairs:
            for key, label in methods:
                if key not in r:
                    continue
                m = r[key]
                mono = (f"{r['monotonic_prob_spearman']:.2f} / {r['monotonic_measured_spearman']:.2f}"
                        if key == "steered" else "")
                least = min(m["preserved_by_attribute"], key=m["preserved_by_attribute"].get)
                lines.append(f"| {name} | {label} | {100 * m['flip']:.0f}% | {100 * m['flip_where_swap_renders']:.0f}% "
                             f"| {100 * m['preserved']:.0f}% ({least} {100 * m['preserved_by_attribute'][least]:.0f}%) "
                             f"| {in_place_text(m, family)} | {100 * m['as_captioned']:.0f}% "
                             f"({100 * r['unsteered_as_captioned']:.0f}%) | {readings_text(m)} | {mono} |")
    return "\n".join(lines)


#: the table header of :func:`in_place_text`'s cells
IN_PLACE_HEADER = "kept and in place (outside the object: pixel / perceptual change, texture r)"


def in_place_text(m: dict, family: str) -> str:
    """A table cell: kept and in place, with the change outside the object (mean pixel change, 0–1 per channel;
    perceptual distance; the texture's correlation r with the unsteered video); "—" where the family's edit moves
    the object or repaints the background by definition (:mod:`~l2vkit.toyworld.minimality`)."""
    from .minimality import MOVES, REPAINTS

    if "kept_in_place" not in m:
        return ""
    place = "—" if family in MOVES else f"{100 * m['kept_in_place']:.0f}%"
    outside = format(m["background_change"], ".3f")
    if "background_perceptual" in m:
        outside += f" / {m['background_perceptual']:.3f}, r {m['texture_correlation']:.2f}"
    return f"{place} ({'—' if family in REPAINTS else outside})"


def readings_text(m: dict) -> str:
    """A table cell: mean P(target) through Φ, and from the pixels with the share of seeds where the two disagree."""
    if "target_prob_pixels" not in m:
        return f"{m['target_prob']:.2f}"
    return f"{m['target_prob']:.2f} / {m['target_prob_pixels']:.2f} ({100 * m['readings_disagree']:.0f}%)"


def run(seeds: int = 50, *, pairs=None, unweighted_path=None, leaps: bool = True, concepts_path=None,
        progress: bool = True) -> dict:
    from tqdm.auto import tqdm

    from ..concepts import ConceptBank
    from . import load_concepts, load_coupling, load_generator, load_vlm

    vlm, generator = load_vlm(), load_generator()
    coupling = load_coupling(vlm=vlm, generator=generator)
    concepts = (ConceptBank.load(concepts_path, generator=generator) if concepts_path
                else load_concepts(generator=generator))
    unweighted = ConceptBank.load(unweighted_path, generator=generator) if unweighted_path else None
    results, rows = {}, {}
    started = time.perf_counter()
    for name in tqdm(pairs or concepts.pairs, desc="steering eval", disable=not progress):
        results[name] = evaluate_pair(generator, vlm, coupling, concepts, name, range(seeds), unweighted=unweighted,
                                      leaps=leaps)
        rows[name] = {"family": results[name]["family"], **scores(results[name])}
    return {"rows": rows, "results": results, "seconds": round(time.perf_counter() - started, 1), "seeds": seeds}


def main(argv=None):
    from ..io import write_json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--pairs", nargs="*", help="pair names (default: every pair of the bank)")
    parser.add_argument("--unweighted", default="data/toy_concepts_unweighted.safetensors",
                        help="bank trained with Δω ≡ 1 for baseline (b); '' to skip")
    parser.add_argument("--no-leaps", action="store_true")
    parser.add_argument("--concepts", default=None, help="a concept bank file (default: the shipped toy bank)")
    parser.add_argument("--out", default="outputs/steering_eval.json")
    args = parser.parse_args(argv)
    report = run(args.seeds, pairs=args.pairs, unweighted_path=args.unweighted or None, leaps=not args.no_leaps,
                 concepts_path=args.concepts)
    print(format_tables(report["rows"]))
    per_seed = {name: {k: r[k] for k in ("captions", "measured", "attribute_score", "target_prob", "target_prob_pixels",
                                         "target_log_odds", "in_place", "position_shift", "background_change",
                                         "texture_correlation", "background_perceptual")}
                for name, r in report["results"].items()}
    write_json(args.out, {"rows": report["rows"], "seconds": report["seconds"], "seeds": args.seeds,
                          "per_seed": per_seed})
    print(f"\n{args.seeds} seeds per pair in {report['seconds']} s; wrote {args.out}")


if __name__ == "__main__":
    main()
