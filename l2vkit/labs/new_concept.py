"""Lab (c), a new concept: checkers for the student's contrast pair, ground-truth judge and trained concept."""
from __future__ import annotations

from typing import Callable

import numpy as np

from .checking import NOT_DONE, CheckFailed, run_check


def _resolve(value, *args):
    """A value, or what a function returns for ``args`` (so an unfinished exercise reports cleanly)."""
    value = value(*args) if callable(value) else value
    if value is NOT_DONE:
        raise NotImplementedError
    return value


def _shipped_pair_names() -> set[str]:
    from ..toyworld import contrast_pairs

    return {p.name for p in contrast_pairs()}


def check_contrast_pair(pair, *, vlm=None, allow_shipped: bool = False) -> bool:
    """Lab (c): ``pair`` (a :class:`~l2vkit.pairs.ContrastPair`, or a function returning one) is a valid toy-world
    pair — both words fill its slot, the slot belongs to its family — and, unless ``allow_shipped``, a *new* one.
    With ``vlm``, both words must be single tokens the VLM can score."""

    def body():
        from ..pairs import ContrastPair, validate_pair
        from ..toyworld.attributes import ATTRIBUTE_VALUES, FAMILIES

        p = _resolve(pair)
        if not isinstance(p, ContrastPair):
            raise CheckFailed(f"expected a l2vkit.pairs.ContrastPair, got {type(p).__name__}")
        try:
            validate_pair(p.as_spec(), where=f"pair {p.name!r}", vocabulary=ATTRIBUTE_VALUES, families=FAMILIES)
        except ValueError as err:
            raise CheckFailed(str(err)) from None
        if not allow_shipped and p.name in _shipped_pair_names():
            raise CheckFailed(f"{p.name!r} is already in the shipped bank (data/contrast_pairs.yaml); design a new "
                              f"one, e.g. another {p.slot} pair")
        if vlm is not None:
            for word in (p.source, p.target):
                try:
                    vlm.word_ids(word)
                except Exception as err:  # the VLM's own error names the word
                    raise CheckFailed(f"the VLM cannot score {word!r}: {err}") from None
        return f"{p.name} edits the {p.slot} slot ({p.family} family)"

    return run_check("contrast_pair", body)


def check_judge(fn: Callable) -> bool:
    """Lab (c): ``fn(source, slot, target, measured_by_phi)`` → ``{"flip_rate": [...], "preservation_rate": [...]}``
    (one value per φ, ascending), compared with :func:`l2vkit.toyworld.ground_truth.ground_truth_scores` on made-up
    measurements.
    """

    def body():
        from ..toyworld.ground_truth import ground_truth_scores
        from ..toyworld import random_attributes

        sources = [random_attributes(s).replace(colour="red") for s in range(4)]
        blue = [s.replace(colour="blue") for s in sources]
        wrong = [s.replace(colour="blue", scene="snow" if s.scene != "snow" else "sea") for s in sources]
        green = sources[3].replace(colour="green")  # changed, but not to the target: not a flip
        measured = {0.0: list(sources), 0.5: [blue[0], sources[1], wrong[2], green],
                    1.0: [blue[0], blue[1], wrong[2], green]}
        got = fn(sources, "colour", "blue", measured)
        if not isinstance(got, dict) or not {"flip_rate", "preservation_rate"} <= set(got):
            raise CheckFailed("return a dict with keys 'flip_rate' and 'preservation_rate'")
        ref = ground_truth_scores(sources, "colour", "blue", measured)
        # the two plausible misreadings of the definitions, each with its own hint
        seeds = len(sources)
        changed = [sum(m.colour != s.colour for m, s in zip(measured[phi], sources)) / seeds
                   for phi in sorted(measured)]
        identical = [sum(m == s for m, s in zip(measured[phi], sources)) / seeds for phi in sorted(measured)]
        for key, want in (("flip_rate", ref.flip_rate), ("preservation_rate", ref.preservation_rate)):
            values = [float(v) for v in got[key]]
            if len(values) == len(want) and np.allclose(values, want):
                continue
            if key == "flip_rate" and np.allclose(values, changed):
                raise CheckFailed(f"flip_rate = {values} counts videos whose colour changed at all; a flip is a video "
                                  "whose colour equals the target word 'blue' (red → green did not flip)")
            if key == "preservation_rate" and len(values) == len(want) and np.allclose(values, identical):
                raise CheckFailed(f"preservation_rate = {values} compares every attribute, the edited one too; "
                                  "preserved means every *other* attribute equals the source's")
            raise CheckFailed(f"{key} = {values}; expected {want} (one value per φ in ascending order; "
                              + ("flip: the slot equals the target word" if key == "flip_rate" else
                                 "preserved: every *other* attribute equals the source's") + ")")
        return f"flip {ref.flip_rate}, preserved {ref.preservation_rate} — same as ground_truth_scores"

    return run_check("judge", body)


def check_reads_target(fn: Callable) -> bool:
    """Lab (c), exercise 4: ``fn(before, after)`` (P(target) per video without and with one edit) → the share of
    the videos the VLM did not read as the target before that it reads so after, compared with
    :func:`l2vkit.edit_choice.reads_target_share` on made-up readings."""

    def body():
        from ..edit_choice import reads_target_share

        before = np.array([0.02, 0.10, 0.40, 0.90, 0.05, 0.30])
        after = np.array([0.97, 0.20, 0.80, 0.99, 0.50, 0.60])
        want = reads_target_share(before, after)  # 3 of the 5 videos read as source before now read as target
        got = float(_resolve(fn, before, after))
        if np.isclose(got, want):
            return f"{got:.2f} of the videos not read as the target before read so after — as edit_choice does"
        if np.isclose(got, np.mean(after > 0.5)):
            raise CheckFailed(f"{got:.2f} counts every video read as the target after the edit; count only those "
                              "the VLM did not read so before (P(target) ≤ 0.5), or an edit gets credit for "
                              "videos that already showed the word")
        if np.isclose(got, np.mean(after[before <= 0.5] >= 0.5)):
            raise CheckFailed(f"{got:.2f} counts P(target) = 0.5 as read as the target; the VLM reads the target "
                              "word when P(target) > 0.5")
        raise CheckFailed(f"got {got:.2f}, expected {want:.2f}: among videos with P(target) ≤ 0.5 before, the "
                          "share with P(target) > 0.5 after")

    return run_check("reads_target", body)


def check_concept(concept, pair, *, generator, seeds=range(6), phi: float = 1.0, min_flip: float = 0.5,
                  min_preserved: float = 0.5, steps: int | None = None) -> bool:
    """Lab (c): judge a trained concept with the toy world's ground truth.

    ``concept``: a :class:`~l2vkit.concepts.ConceptBank` holding ``pair`` (or a function ``pair -> bank``);
    ``pair``: the :class:`~l2vkit.pairs.ContrastPair` (or a function returning it). Samples one random caption with
    the source word per seed, unsteered and steered with ``phi``, measures both from pixels and passes when the
    target word is rendered in at least ``min_flip`` of the seeds and every other attribute is kept in at least
    ``min_preserved`` of them.
    """

    def body():
        from ..toyworld import toy_captions
        from ..toyworld.ground_truth import ground_truth_scores
        from ..toyworld import Attributes, parse_caption
        from ..toyworld.steering_eval import measured_attributes

        p = _resolve(pair)
        bank = _resolve(concept, p)
        if not hasattr(bank, "pairs") or p.name not in bank.pairs:
            raise CheckFailed(f"expected a ConceptBank containing {p.name!r}, got "
                              f"{getattr(bank, 'pairs', type(bank).__name__)}")
        q = bank[p.name]
        width = generator.encode_prompt("a").embeds.shape[1:]
        if tuple(q.shape) != tuple(width):
            raise CheckFailed(f"q has shape {tuple(q.shape)}; the generator's condition π is {tuple(width)}")
        if not bool(np.isfinite(q.detach().cpu().numpy()).all()) or float(q.abs().sum()) == 0:
            raise CheckFailed("q is zero or not finite — did training run?")
        seeds_ = [int(s) for s in seeds]
        captions = [toy_captions(p, 1, seed=20_000 + s)[0] for s in seeds_]
        base = generator.encode_prompt(captions)
        steered = base.with_embeds(base.embeds + phi * q.to(base.embeds.dtype))
        before = generator.sample(base, seed=0, steps=steps, output="frames").frames
        after = generator.sample(steered, seed=0, steps=steps, output="frames").frames

        def attrs(video):
            m = measured_attributes(video)
            return None if any(v is None for v in m.values()) else Attributes(**m)

        source = [attrs(v) or parse_caption(c) for v, c in zip(before, captions)]
        measured = [attrs(v) for v in after]
        missing = sum(m is None for m in measured)
        measured = [m if m is not None else s.replace(**{p.slot: p.source}) for m, s in zip(measured, source)]
        if missing:
            print(f"  note: no object found in {missing} steered video(s); counted as not flipped")
        scores = ground_truth_scores(source, p.slot, p.target, {0.0: source, float(phi): measured})
        flip, kept = scores.flip_rate[-1], scores.preservation_rate[-1]
        line = (f"{p.name} at φ = {phi:g} on {len(seeds_)} seeds: {p.slot} → {p.target} in {100 * flip:.0f}%, "
                f"other attributes kept in {100 * kept:.0f}%")
        if flip < min_flip:
            raise CheckFailed(f"{line}; need ≥ {100 * min_flip:.0f}% flipped — train longer, use more samples, or "
                              "pick a pair the generator can render (check the prompt swap first)")
        if kept < min_preserved:
            raise CheckFailed(f"{line}; need ≥ {100 * min_preserved:.0f}% kept — the concept changes more than "
                              "its slot")
        return line

    return run_check("concept", body)
