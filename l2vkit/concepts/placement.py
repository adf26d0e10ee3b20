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

A caption laid out as one of the references (the same token count and slot positions) gets q exactly as trained,
every row in place; otherwise the reference used is the one with the slot word at the same position, of the same
length, and holding the same tokens at the most positions, in that order.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..pairs import bare_word

#: Reference captions kept per pair: one per (token count, slot position) layout seen in training, at most this many.
MAX_REFERENCES = 256


@dataclass(frozen=True)
class TokenLayout:
    """A caption as the generator's tokenizer reads it: ``keys``, each token as lower-case text without a word marker
    (``None`` for the special tokens the tokenizer adds), the token positions of its slot word (``slot``), and the words
    between the leading and trailing special tokens (``start`` … ``end`` − 1)."""

    keys: tuple
    slot: tuple
    start: int
    end: int

    @property
    def key(self) -> tuple:
        """What makes two captions laid out alike: their token count and slot positions."""
        return len(self.keys), self.slot


def slot_span(caption: str, word: str) -> tuple[int, int]:
    """Character span of the one caption word that is ``word`` (case and surrounding punctuation aside)."""
    hits = []
    for match in re.finditer(r"\S+", caption):
        bare = bare_word(match.group())
        if bare == word.lower():
            offset = match.group().lower().index(bare)
            hits.append((match.start() + offset, match.start() + offset + len(bare)))
    if len(hits) != 1:
        raise ValueError(f"caption {caption!r} holds the word {word!r} {len(hits)} times; expected exactly once")
    return hits[0]


def _token_key(token: str) -> str:
    return token.lstrip("▁Ġ").lower()  # sentencepiece and byte-level BPE mark a word's start


def token_layout(tokenizer, caption: str, word: str, length: int | None = None) -> TokenLayout:
    """Tokenize ``caption`` as the generator does (truncated to ``length`` tokens) and find the tokens of its slot
    word ``word`` through the character offsets."""
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(f"{type(tokenizer).__name__} gives no character offsets; placing concepts needs a fast "
                         "tokenizer (AutoTokenizer.from_pretrained(..., use_fast=True))")
    caption = " ".join(caption.split())  # as Wan's prompt_clean does; the other tokenizers ignore runs of spaces
    begin, finish = slot_span(caption, word)
    limits = {} if length is None else {"truncation": True, "max_length": length}
    encoded = tokenizer(caption, return_offsets_mapping=True, return_special_tokens_mask=True, **limits)
    ids, offsets = list(encoded["input_ids"]), list(encoded["offset_mapping"])
    added = list(encoded["special_tokens_mask"])  # only what the tokenizer adds: an <unk> word is still a word
    keys = tuple(None if special else _token_key(token)
                 for token, special in zip(tokenizer.convert_ids_to_tokens(ids), added))
    # a bare word marker ('▁' alone) is no part of the word after it
    slot = tuple(i for i, (a, b) in enumerate(offsets) if keys[i] and b > a and a < finish and b > begin)
    if not slot:
        where = f" within the {length} tokens the generator encodes; shorten the caption or move the word forward" \
            if length is not None else ""
        raise ValueError(f"caption {caption!r}: no token of {word!r}{where}")
    words = [i for i, special in enumerate(added) if not special]
    return TokenLayout(keys, slot, words[0], words[-1] + 1)


def placement(reference: TokenLayout, caption: TokenLayout, length: int) -> list[int]:
    """For each of the ``length`` condition positions of ``caption``, the reference row it takes (−1: none)."""
    shared = {}
    for i in range(reference.start, reference.end):
        if i not in reference.slot and reference.keys[i] is not None:
            shared.setdefault(reference.keys[i], []).append(i)
    rows = []
    for j in range(length):
        if j < caption.start:  # leading special tokens
            rows.append(j if j < reference.start else -1)
        elif j >= caption.end:  # trailing special tokens and padding, counted from the end of the words
            r = j - caption.end + reference.end
            rows.append(r if r < length else -1)
        elif j in caption.slot:
            rows.append(reference.slot[min(caption.slot.index(j), len(reference.slot) - 1)])
        else:  # offsets from the slot word's first token before it, from its last token after it
            before = j < caption.slot[0]
            anchor = (caption.slot[0], reference.slot[0]) if before else (caption.slot[-1], reference.slot[-1])
            relative = j - anchor[0] + anchor[1]
            if caption.keys[j] in shared:
                rows.append(min(shared[caption.keys[j]], key=lambda i: abs(i - relative)))
            else:
                inside = reference.start <= relative < reference.end and relative not in reference.slot
                rows.append(relative if inside else -1)
    return rows


def agreement(reference: TokenLayout, caption: TokenLayout) -> tuple:
    """How well ``reference`` fits ``caption``: the same slot position first, then the same token count, then how
    many positions hold the same token."""
    same = sum(a == b and a is not None for a, b in zip(reference.keys, caption.keys))
    return (reference.slot[:1] == caption.slot[:1], len(reference.keys) == len(caption.keys), same)


def reference_captions(tokenizer, pair, captions, limit: int = MAX_REFERENCES) -> list[str]:
    """One caption per (token count, slot positions) layout among ``captions`` (the pair's training π⁻), in order."""
    seen, out = set(), []
    for text in captions:
        key = token_layout(tokenizer, text, pair.source).key
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
    pair_of, forward = cache.pair.tolist(), (cache.signs() > 0).tolist()  # the π⁻ captions
    return {p.name: reference_captions(tokenizer, p, [c[0] for c, k, f in zip(cache.captions, pair_of, forward)
                                                      if k == i and f])
            for i, p in enumerate(pairs)}


def training_rows(generator, cache, pairs, references):
    """For :func:`~l2vkit.concepts.train_concepts` with ``references``: the rows (S, L) each cached sample's
    condition positions take, and ``{pair name: reference captions}`` (one per layout among ``references[name]``)."""
    import torch

    tokenizer = generator_tokenizer(generator)
    if tokenizer is None:
        raise ValueError("references= places q's rows through the generator's tokenizer's character offsets; this "
                         "generator has no fast tokenizer")
    missing = [p.name for p in pairs if not references.get(p.name)]
    if missing:
        raise ValueError(f"references has no captions for {', '.join(missing)}")
    chosen = {p.name: reference_captions(tokenizer, p, references[p.name]) for p in pairs}
    length, memo = cache.embeds.shape[1], {}
    rows = []
    for (own, _), k in zip(cache.captions, cache.pair.tolist()):
        if (k, own) not in memo:
            memo[k, own] = placed_rows(tokenizer, pairs[k], chosen[pairs[k].name], own, length)
        rows.append(memo[k, own])
    return torch.tensor(rows, dtype=torch.long), chosen


def placed_rows(tokenizer, pair, references, caption: str, length: int) -> list[int]:
    """The rows of a concept trained on ``references`` that ``caption``'s condition positions take (−1: none).
    ``caption`` holds the pair's source word, or its target word (steering back; :func:`l2vkit.pairs.held_word`).
    A caption laid out as one of the references (the same token count and slot positions) takes every row in place,
    as in training."""
    from ..pairs import held_word

    try:
        layout = token_layout(tokenizer, caption, held_word(pair, caption), length)
    except ValueError as error:
        raise ValueError(f"{pair.name!r}: {error}") from None
    layouts = _reference_layouts(tokenizer, pair.source, tuple(references), length)
    if any(ref.key == layout.key for ref in layouts):
        return list(range(length))
    return placement(max(layouts, key=lambda ref: agreement(ref, layout)), layout, length)


def _reference_layouts(tokenizer, word: str, references: tuple, length: int) -> list:
    """The references' layouts, computed once per tokenizer, word, references and length (a sweep or a batch asks
    for them once per caption and setting)."""
    key = (id(tokenizer), word, references, length)
    if key not in _LAYOUTS or _LAYOUTS[key][0] is not tokenizer:  # an id can be reused once a tokenizer is gone
        try:
            _LAYOUTS[key] = (tokenizer, [token_layout(tokenizer, r, word, length) for r in references])
        except ValueError as error:
            raise ValueError(f"the bank's reference caption cannot be placed ({error}); it was recorded for a "
                             "generator that encodes more tokens") from None
        if len(_LAYOUTS) > 256:
            _LAYOUTS.pop(next(iter(_LAYOUTS)))
    return _LAYOUTS[key][1]


_LAYOUTS: dict = {}


def place(q, rows):
    """q's rows at ``rows`` (zero where −1): the concept as the caption's positions should receive it."""
    import torch

    index = torch.as_tensor([max(r, 0) for r in rows], device=q.device)
    keep = torch.as_tensor([r >= 0 for r in rows], device=q.device, dtype=q.dtype).unsqueeze(-1)
    return q.index_select(0, index) * keep
