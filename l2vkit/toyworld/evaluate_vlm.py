"""Scores of a VLM on toy videos: per-slot teacher-forced accuracy, free-running exact match, confusions."""
from __future__ import annotations

import numpy as np

from .attributes import ATTRIBUTE_VALUES, caption
from .vlm_data import slot_positions


def teacher_forced_accuracy(vlm, attrs, videos, *, batch: int = 64) -> dict[str, float]:
    """Share of videos whose argmax word (over the whole vocabulary) at each attribute slot is the true word,
    given the true caption up to that slot."""
    predictions = teacher_forced_predictions(vlm, attrs, videos, batch=batch)
    return {f: float(np.mean([p[f] == getattr(a, f) for p, a in zip(predictions, attrs)])) for f in ATTRIBUTE_VALUES}


def teacher_forced_predictions(vlm, attrs, videos, *, batch: int = 64) -> list[dict[str, str]]:
    import torch

    out = []
    with torch.no_grad():
        for start in range(0, len(attrs), batch):
            inputs = vlm.pixel_inputs(videos[start:start + batch])
            out += _slot_argmax(vlm, vlm.encode_inputs(inputs), inputs, attrs[start:start + batch], restrict=False)
    return out


def slot_predictions(vlm, tokens, attrs, *, batch: int = 64) -> list[dict[str, str]]:
    """The VLM's word at each attribute slot reading visual ``tokens`` (V, N, D) from anywhere (e.g. through Φ),
    given the true caption up to the slot; the argmax over that slot's words (``ATTRIBUTE_VALUES``)."""
    import torch

    out = []
    with torch.no_grad():
        for start in range(0, len(attrs), batch):
            z = vlm.check_tokens(tokens[start:start + batch])
            out += _slot_argmax(vlm, z, vlm.token_layout(z), attrs[start:start + batch], restrict=True)
    return out


def slot_distribution(vlm, attrs, videos, field: str, *, batch: int = 64) -> np.ndarray:
    """(N, values) probabilities of ``field``'s words at its slot (the true caption up to it; softmax over the slot's
    words), the VLM reading the ``videos``' pixels."""
    import torch

    slot_ids = [vlm.word_ids(w)[0] for w in ATTRIBUTE_VALUES[field]]
    out = []
    with torch.no_grad():
        for start in range(0, len(attrs), batch):
            inputs = vlm.pixel_inputs(videos[start:start + batch])
            chunk = attrs[start:start + batch]
            logits, prefix = _caption_logits(vlm, vlm.encode_inputs(inputs), inputs, chunk)
            rows = torch.stack([logits[i, prefix + slot_positions(a)[field] - 1] for i, a in enumerate(chunk)])
            out.append(rows[:, slot_ids].float().softmax(-1).cpu().numpy())
    return np.concatenate(out)


def _caption_logits(vlm, z, inputs, attrs):
    """The VLM's logits over each true caption (teacher forcing) and the prompt's length before the caption."""
    import torch

    tok = vlm.tokenizer
    prefix = vlm.prompt_ids("", inputs)
    rows = [prefix + tok.encode(caption(a), add_special_tokens=False) for a in attrs]
    length = max(map(len, rows))
    ids = torch.full((len(rows), length), tok.pad_token_id)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row)
    return vlm.forward_tokens(z, ids.to(vlm.device), inputs), len(prefix)


def _slot_argmax(vlm, z, inputs, attrs, *, restrict: bool) -> list[dict[str, str]]:
    """Teacher-forced argmax at every slot: over the whole vocabulary, or over the slot's words (``restrict``)."""
    tok = vlm.tokenizer
    logits, prefix = _caption_logits(vlm, z, inputs, attrs)
    slot_ids = {f: [vlm.word_ids(w)[0] for w in words] for f, words in ATTRIBUTE_VALUES.items()}
    out = []
    for i, a in enumerate(attrs):
        pred = {}
        for field, word_index in slot_positions(a).items():
            row = logits[i, prefix + word_index - 1]  # logits at t predict token t+1
            if restrict:
                pred[field] = ATTRIBUTE_VALUES[field][int(row[slot_ids[field]].argmax())]
            else:
                pred[field] = tok.convert_ids_to_tokens(int(row.argmax()))
        out.append(pred)
    return out


def free_running(vlm, attrs, videos, *, batch: int = 64) -> tuple[float, list[str]]:
    """Exact-match rate of greedy captions against the true captions, and the captions."""
    captions = []
    for start in range(0, len(attrs), batch):
        captions += vlm.caption(videos[start:start + batch])
    truth = [caption(a) for a in attrs]
    return float(np.mean([c == t for c, t in zip(captions, truth)])), captions


def confusion(attrs, predictions, field: str) -> tuple[list[str], np.ndarray]:
    """Rows: true value, columns: predicted value (an extra column counts predictions outside the slot's values)."""
    values = list(ATTRIBUTE_VALUES[field])
    matrix = np.zeros((len(values), len(values) + 1), dtype=int)
    for a, p in zip(attrs, predictions):
        col = values.index(p[field]) if p[field] in values else len(values)
        matrix[values.index(getattr(a, field)), col] += 1
    return values, matrix
