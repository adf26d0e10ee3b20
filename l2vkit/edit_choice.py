"""A concept whose direction the VLM chooses: of the generator's word edits, the ones the VLM reads as the word.

The paper's q_o is fitted to the generator's own velocity difference Δv; the VLM only scales it (Δω), so a steered
video shows the generator's notion of a word, whatever the VLM uses (docs/sanity-checks.md measures this). Here the
VLM picks the direction. The candidates are edits the generator can make: the pair's own (the bank's q, the paper's
direction) and, for every other slot, a swap of the caption's word for each other word the concept network knows
(``scene: → snow``; q computed for each caption). Each edit alone steers a set of captions; the VLM reads the decoded
pixels (closed loop, no Φ, so it cannot be fooled through Φ), and an edit is *chosen* when the VLM then reads the
target word in at least ``reads_target`` of the videos it did not read so before, and its log-odds of the target
word rise by at least :data:`MIN_GAIN` on average. The concept is the sum of the chosen edits, so:

- with a VLM that means by *square* what the generator draws, it is the paper's vector alone — the same video;
- with a VLM that also calls snowy scenes *square* (a planted shortcut), snow is chosen too, and the video shows it;
- with a VLM that knows nothing (randomised), nothing is chosen and the video stays unsteered: the video depends
  on the VLM (on the toy world, on every pair).

Only what the candidate edits can show can be chosen: a cue the generator has no word for is not found (the
gradient variant :mod:`l2vkit.concepts.vlm_directed` looks beyond words, and finds the cheapest edit instead).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Sequence

import numpy as np

#: an edit is chosen when, alone, it makes the VLM read the target word in at least this share of the videos it
#: read otherwise before the edit ...
READS_TARGET = 0.5
#: ... and raises its log-odds of the target word (over the source word) by at least this much on average: a VLM
#: that reads P(target) ≈ 0.5 (a randomised one) flips its reading on noise, with gains of +0.01 to +0.04
MIN_GAIN = 1.0
#: how :attr:`EditScore.label` marks the pair's own edit
OWN = " (the pair's own)"
#: ``meta["kind"]`` of a saved set
KIND = "vlm-chosen edits"


@dataclasses.dataclass(frozen=True)
class EditScore:
    """One candidate edit, measured: ``slot`` and ``value`` (the word it swaps in; for the pair's own edit, the
    target word), ``own`` (the pair's own, the bank's q), ``videos`` it edits, ``gain`` (mean change of the VLM's
    log-odds of target over source word on them), ``eligible`` (how many of them the VLM did not read as the target
    before the edit), ``reads_target`` (the share of those it reads so after) and ``chosen``."""

    slot: str
    value: str
    own: bool
    videos: int
    gain: float
    eligible: int
    reads_target: float
    chosen: bool

    @property
    def label(self) -> str:
        return f"{self.slot} → {self.value}" + (OWN if self.own else "")


class VLMChosenConcepts:
    """The chosen edits per pair behind the interface :func:`l2vkit.steer` takes as ``concepts``: steering a pair
    adds, for each caption, the sum of its chosen edits' vectors (φ scales them all).

    ``concepts`` is a :class:`~l2vkit.concepts.resolve.ConceptsWithNetwork` (the bank gives each pair's own edit, the
    network the others); ``scores`` maps a pair name to its :class:`EditScore` list; ``meta`` holds provenance."""

    def __init__(self, concepts, scores: dict, meta: dict | None = None):
        self.concepts, self.scores, self.meta = concepts, dict(scores), dict(meta or {})

    @property
    def pairs(self) -> list[str]:
        return list(self.scores)

    def __contains__(self, name) -> bool:
        return name in self.scores

    def spec(self, name: str):
        return self.concepts.spec(name)

    def chosen(self, name: str) -> list[EditScore]:
        return [s for s in self._scores(name) if s.chosen]

    def edited_slots(self, name: str) -> set[str]:
        """The slots steering ``name`` changes: the pair's own and every chosen edit's."""
        return {self.spec(name).slot} | {s.slot for s in self.chosen(name)}

    def _scores(self, name: str) -> list[EditScore]:
        if name not in self.scores:
            raise KeyError(f"no edits were chosen for {name!r}; this set holds {', '.join(self.scores) or 'none'} "
                           "(choose_edits for it)")
        return self.scores[name]

    def __getitem__(self, name: str):
        self._scores(name)
        raise KeyError(f"{name!r} is a sum of edits computed per caption: pass the captions to "
                       "l2vkit.steering.steered_condition (captions=...), or use caption_vectors")

    def references(self, name: str):
        return None

    def strength_range(self, name: str):
        return None

    def check_generator(self, generator) -> None:
        self.concepts.check_generator(generator)

    def caption_vectors(self, name: str, captions: Sequence[str]):
        """q (B, L, E): the sum of ``name``'s chosen edits for each caption (zeros when none is chosen); φ scales it.
        A caption that holds the target word (steering back) gets the pair's own edit only: the others, a swap *to*
        a word, have no way back. A caption holding the source word steered with φ < 0 gets every chosen edit
        negated (away from the target word, and away from the other chosen words)."""
        from .pairs import held_word

        pair = self.spec(name)
        captions = list(captions)
        forward = [held_word(pair, c) == pair.source for c in captions]
        base = self.concepts.generator.encode_prompt(captions)  # once, for every chosen edit
        total = 0.0 * base.embeds
        for s in self.chosen(name):
            q = _edit(self.concepts, pair, s.slot, s.value, captions, base, own=s.own)[0]
            total = total + (q if s.own else q * q.new_tensor(forward).view(-1, 1, 1))
        return total

    def table(self) -> list[dict]:
        """One row per pair and candidate edit, for a DataFrame or a report."""
        return [{"pair": name, **dataclasses.asdict(s), "edit": s.label} for name, rows in self.scores.items()
                for s in rows]

    def save(self, path) -> Path:
        """The scores and provenance as JSON (atomic); :meth:`load` with the same bank and network reads it back."""
        from .io import write_json

        return write_json(Path(path), {"scores": {n: [dataclasses.asdict(s) for s in rows]
                                                  for n, rows in self.scores.items()}, "meta": self.meta})

    @classmethod
    def load(cls, path, concepts) -> "VLMChosenConcepts":
        import json

        data = json.loads(Path(path).read_text())
        if not isinstance(data, dict) or (data.get("meta") or {}).get("kind") != KIND:
            raise ValueError(f"{path} holds no VLM-chosen edits (make them with l2vkit.edit_choice.choose_edits)")
        try:
            scores = {n: [EditScore(**row) for row in rows] for n, rows in data["scores"].items()}
        except TypeError as err:  # fields of another version
            raise ValueError(f"{path} was written by another version of l2vkit ({err}); choose the edits again") \
                from None
        return cls(concepts, scores, data.get("meta"))


def slot_word(vocabulary: dict, slot: str, caption: str) -> str | None:
    """The word of ``slot`` that ``caption`` holds (the first of the vocabulary's), else ``None``."""
    from .pairs import slot_word_count

    return next((w for w in vocabulary[slot] if slot_word_count(w, caption)), None)


def edit_vectors(concepts, pair, slot: str, value: str, captions: Sequence[str], *, own: bool = False):
    """q (B, L, E) of one edit for each caption: the pair's own (``own``: the bank's q, placed), or the network's
    vector swapping the caption's ``slot`` word for ``value`` (zeros for a caption that already holds ``value`` or
    has no word of that slot)."""
    captions = list(captions)
    return _edit(concepts, pair, slot, value, captions, concepts.generator.encode_prompt(captions), own=own)[0]


def _edit(concepts, pair, slot, value, captions, base, *, own=False):
    """The edit's q and the captions as edited (what the video now shows, for the VLM's prompt); ``base`` is the
    captions' encoded condition."""
    import torch

    from .concepts import swap_word
    from .concepts.placement import generator_tokenizer
    from .steering import steered_condition

    generator, captions = concepts.generator, list(captions)
    if own:
        steered = steered_condition(base, {pair.name: 1.0}, concepts, captions=captions,
                                    tokenizer=generator_tokenizer(generator))
        return steered.embeds - base.embeds, captions
    q, edited, network = torch.zeros_like(base.embeds), list(captions), concepts.network
    by_source: dict = {}
    for i, caption in enumerate(captions):
        word = slot_word(network.vocabulary, slot, caption)
        if word is not None and word != value:
            by_source.setdefault(word, []).append(i)
    for word, rows in by_source.items():  # the network, not the bank: the same candidates whichever bank is used
        swap = network.pair(f"{word}->{value}")
        q[rows] = network.vectors(generator, [captions[i] for i in rows], swap).to(q.dtype)
        for i in rows:
            edited[i] = swap_word(swap, captions[i])
    return q, edited


def candidate_edits(vocabulary: dict, pair, slots: Sequence[str] | None = None) -> list[tuple[str, str, bool]]:
    """(slot, value, own) of every candidate: the pair's own edit first, then every word of every other slot (of
    ``slots`` only, when given)."""
    if slots is not None:
        unknown = sorted(set(slots) - set(vocabulary))
        if unknown:
            raise KeyError(f"no slot {', '.join(map(repr, unknown))} in the concept network's vocabulary; it has "
                           f"{', '.join(vocabulary)}")
    return [(pair.slot, pair.target, True)] + [(slot, value, False) for slot, words in vocabulary.items()
                                               if slot != pair.slot and (slots is None or slot in slots)
                                               for value in words]


def choose_edits(generator, vlm, concepts, pairs: Sequence, captions: dict, *, seed: int = 0,
                 reads_target: float = READS_TARGET, min_gain: float = MIN_GAIN, slots: Sequence[str] | None = None,
                 progress: bool = True) -> VLMChosenConcepts:
    """Score every candidate edit of each pair with ``vlm`` on ``captions[pair.name]`` (π⁻ captions holding the
    pair's source word; the same noise for every edit) and choose those it reads as the target word.

    ``concepts``: a :class:`~l2vkit.concepts.resolve.ConceptsWithNetwork` holding each pair in its bank (its own
    edit); the other edits are the network's, in every slot but the pair's (in ``slots`` only, when given). About
    one sampling run of the captions per candidate: 16–18 per pair on the toy world, a minute for 16 captions on 2
    CPU cores."""
    from tqdm.auto import tqdm

    from .baselines import pixel_read, sample_batch
    from .concepts import check_pair, slot_prefix
    from .provenance import generator_identity, provenance, vlm_identity

    if not 0.0 < reads_target <= 1.0:
        raise ValueError(f"reads_target must be in (0, 1], not {reads_target}")
    if not (np.isfinite(min_gain) and min_gain >= 0):
        raise ValueError(f"min_gain must be a log-odds gain of 0 or more, not {min_gain}")
    vocabulary = concepts.network.vocabulary
    for pair in pairs:
        if pair.name not in concepts.pairs:
            raise KeyError(f"the bank holds no vector for {pair.name!r}, the pair's own edit; it holds "
                           f"{', '.join(concepts.pairs) or 'none'} (train one: l2vkit.concepts.train_concepts)")
        if pair.slot not in vocabulary:
            raise KeyError(f"the concept network knows no slot {pair.slot!r}; it knows {', '.join(vocabulary)}")
        if not list(captions.get(pair.name, ())):
            raise ValueError(f"no captions for {pair.name!r}: give captions={{{pair.name!r}: [...]}}, each holding "
                             f"{pair.source!r}")
        check_pair(pair, vlm, captions[pair.name])  # each caption holds the source word; the VLM scores both words
    total = sum(len(candidate_edits(vocabulary, p, slots)) for p in pairs)
    bar = tqdm(total=total, desc="edits read by the VLM", disable=not progress)
    scores = {}
    for pair in pairs:
        texts = list(captions[pair.name])
        prefixes = [slot_prefix(pair, c) for c in texts]
        base = generator.encode_prompt(texts)
        before = pixel_read(vlm, sample_batch(generator, base, seed).frames, prefixes, pair)
        rows = []
        for slot, value, own in candidate_edits(vocabulary, pair, slots):
            q, now = _edit(concepts, pair, slot, value, texts, base, own=own)
            edited = q.flatten(1).abs().sum(1) > 0  # captions that already hold the value are not edited
            # the VLM is prompted with the caption's words before the slot as they now are ("a large red …" once
            # size was edited): a prompt that contradicts the video would make it read nonsense
            after = pixel_read(vlm, sample_batch(generator, base.with_embeds(base.embeds + q), seed).frames,
                               [slot_prefix(pair, c) for c in now], pair) if edited.any() else before
            rows.append(_score(slot, value, own, before, after, edited.cpu().numpy(), reads_target, min_gain))
            bar.update(1)
        scores[pair.name] = rows
    bar.close()
    meta = provenance(kind=KIND, generator=generator_identity(generator), vlm=vlm_identity(vlm),
                      bank=concepts.bank.meta.get("created"), network=concepts.network.meta.get("created"),
                      seed=seed, reads_target=reads_target, min_gain=min_gain,
                      slots=None if slots is None else list(slots),
                      captions={p.name: list(captions[p.name]) for p in pairs})
    return VLMChosenConcepts(concepts, scores, meta)


def reads_target_share(before, after, edited=None) -> float:
    """The choice rule's number: of the (edited) videos the VLM did not read as the target word before the edit
    (P(target) ≤ 0.5), the share it reads as the target after (P > 0.5); 0 when there are none."""
    before, after = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    if before.shape != after.shape or before.ndim != 1:
        raise ValueError(f"before and after must be two P(target) vectors of one length, not {before.shape} and "
                         f"{after.shape}")
    edited = np.ones(before.shape, bool) if edited is None else np.asarray(edited, bool)
    was_source = (before <= 0.5) & edited
    return float(np.mean(after[was_source] > 0.5)) if was_source.any() else 0.0


def _score(slot, value, own, before, after, edited, reads_target, min_gain) -> EditScore:
    """One edit's score from the readings (P(target), log-odds) of the same noise without and with it."""
    turned = reads_target_share(before[0], after[0], edited)
    gain = float(np.mean(after[1][edited] - before[1][edited])) if edited.any() else 0.0
    eligible = int(((before[0] <= 0.5) & edited).sum())
    return EditScore(slot=slot, value=value, own=own, videos=int(edited.sum()), gain=round(gain, 3),
                     eligible=eligible, reads_target=round(turned, 3),
                     chosen=eligible > 0 and turned >= reads_target and gain >= min_gain)
