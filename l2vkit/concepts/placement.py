"""Placing a concept's rows on the tokens of any caption, whatever its word order.

A concept q_o is (L, E): one row per caption token position, trained on captions of one layout (the toy world's
"a small red circle moves slowly up in the desert"). Added as is to a caption whose words stand elsewhere ("in the
desert, a small red circle …"), its rows land on the wrong words and the edit fails or breaks the video. So a bank
keeps a few *reference captions* per pair — captions of the layouts it was trained on — and each row goes to the
token that plays its part in the caption being steered (positions found through the tokenizer's offsets):

1. the slot word's tokens (the pair's source word, or its target word when steering back) take the slot's rows;
2. a word the caption shares with the reference (``a``, ``moves``, ``in``, ``the`` …) takes that word's row (the
   occurrence nearest to where it stands relative to the slot);
3. any other word takes the row at its offset from the slot word, or nothing when that falls outside the
   reference's words (extra words such as "very" get no row);
4. the special tokens before and after the words, and the padding, take the reference's own.

The reference chosen is the one that agrees with the caption at the most positions, so a caption laid out as the
training captions gets q exactly as trained (every row in place).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..pairs import bare_word

#: Reference captions kept per pair: one per (token count, slot position) layout seen in training, at most this many.
MAX_REFERENCES = 16


@dataclass(frozen=True)
class TokenLayout:
    """A caption as the generator's tokenizer reads it: ``ids`` (special tokens included, no padding) and the
    token positions of its slot word (``slot``), the words between the leading and trailing special tokens
    (``start`` … ``end`` − 1)."""

    ids: tuple
    slot: tuple
    start: int
    end: int


def slot_span(caption: str, words) -> tuple[int, int]:
    """Character span of the one caption word that is one of ``words`` (case and surrounding punctuation aside)."""
    hits = []
    for match in re.finditer(r"\S+", caption):
        bare = bare_word(match.group())
        if bare in words:
            offset = match.group().lower().index(bare)
            hits.append((match.start() + offset, match.start() + offset + len(bare)))
    if len(hits) != 1:
        raise ValueError(f"caption {caption!r} holds {len(hits)} of the words {sorted(words)}; expected exactly one")
    return hits[0]


def token_layout(tokenizer, caption: str, words) -> TokenLayout:
    """Tokenize ``caption`` and find the tokens of its slot word (one of ``words``) through the offsets."""
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(f"{type(tokenizer).__name__} gives no character offsets; placing concepts needs a fast "
                         "tokenizer (AutoTokenizer.from_pretrained(..., use_fast=True))")
    begin, finish = slot_span(caption, {w.lower() for w in words})
    encoded = tokenizer(caption, return_offsets_mapping=True, add_special_tokens=True)
    ids, offsets = list(encoded["input_ids"]), list(encoded["offset_mapping"])
    special = set(tokenizer.all_special_ids)
    slot = tuple(i for i, (a, b) in enumerate(offsets) if b > a and a < finish and b > begin and ids[i] not in special)
    start = 0
    while start < len(ids) and ids[start] in special:
        start += 1
    end = len(ids)
    while end > start and ids[end - 1] in special:
        end -= 1
    return TokenLayout(tuple(ids), slot, start, end)


def placement(reference: TokenLayout, caption: TokenLayout, length: int) -> list[int]:
    """For each of the ``length`` condition positions of ``caption``, the reference row it takes (−1: none)."""
    rows = []
    ref, ids = reference.ids, caption.ids
    shared = {}
    for i in range(reference.start, reference.end):
        if i not in reference.slot:
            shared.setdefault(ref[i], []).append(i)
    anchor_ref, anchor = reference.slot[0], caption.slot[0]
    for j in range(length):
        if j < caption.start:  # leading special tokens
            rows.append(j if j < reference.start else -1)
        elif j >= caption.end:  # trailing special tokens and padding, counted from the end of the words
            r = j - caption.end + reference.end
            rows.append(r if r < length else -1)
        elif j in caption.slot:
            rows.append(reference.slot[min(caption.slot.index(j), len(reference.slot) - 1)])
        else:
            relative = j - anchor + anchor_ref
            if j < len(ids) and ids[j] in shared:
                rows.append(min(shared[ids[j]], key=lambda i: abs(i - relative)))
            else:
                inside = reference.start <= relative < reference.end and relative not in reference.slot
                rows.append(relative if inside else -1)
    return rows


def agreement(reference: TokenLayout, caption: TokenLayout) -> tuple:
    """How well ``reference`` fits ``caption``: the same slot position and length first, then equal tokens."""
    same = sum(a == b for a, b in zip(reference.ids, caption.ids))
    return (reference.slot[:1] == caption.slot[:1], len(reference.ids) == len(caption.ids), same)


def reference_captions(tokenizer, pair, captions, limit: int = MAX_REFERENCES) -> list[str]:
    """One caption per (token count, slot position) layout among ``captions`` (the pair's training π⁻), in order."""
    seen, out = set(), []
    for text in captions:
        layout = token_layout(tokenizer, text, {pair.source})
        key = (len(layout.ids), layout.slot)
        if key not in seen:
            seen.add(key)
            out.append(text)
            if len(out) == limit:
                break
    return out


def generator_tokenizer(generator):
    """The generator's fast tokenizer, or ``None`` (no tokenizer, or one without offsets): concepts then apply as
    trained."""
    tokenizer = getattr(getattr(generator, "pipe", None), "tokenizer", None)
    return tokenizer if getattr(tokenizer, "is_fast", False) else None


def training_references(generator, cache, pairs) -> dict | None:
    """``{pair name: reference captions}`` from a concept cache's π⁻ captions (``None`` without a fast tokenizer)."""
    tokenizer = generator_tokenizer(generator)
    if tokenizer is None:
        return None
    pair_of = cache.pair.tolist()
    return {p.name: reference_captions(tokenizer, p, [c[0] for c, k in zip(cache.captions, pair_of) if k == i])
            for i, p in enumerate(pairs)}


def placed_rows(tokenizer, pair, references, caption: str, length: int) -> list[int]:
    """The rows of a concept trained on ``references`` that ``caption``'s condition positions take (−1: none).
    ``caption`` holds the pair's source word, or its target word (steering back)."""
    layout = token_layout(tokenizer, caption, {pair.source, pair.target})
    layouts = [token_layout(tokenizer, r, {pair.source}) for r in references]
    best = max(layouts, key=lambda ref: agreement(ref, layout))
    return placement(best, layout, length)


def place(q, rows):
    """q's rows at ``rows`` (zero where −1): the concept as the caption's positions should receive it."""
    import torch

    index = torch.as_tensor([max(r, 0) for r in rows], device=q.device)
    keep = torch.as_tensor([r >= 0 for r in rows], device=q.device, dtype=q.dtype).unsqueeze(-1)
    return q.index_select(0, index) * keep
