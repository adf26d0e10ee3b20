"""Captions encoded once, the text encoder freed: how a generator whose text encoder alone fills a small GPU runs.

Wan's UMT5-XXL encoder is 10.6 GiB in float16, four times its 1.3B transformer. On a 15 GB T4 the two do not fit
beside a VLM, and loading the whole pipeline holds every weight in RAM first (13.7 GiB, more than free Colab has).
So the small-GPU tiers (:mod:`l2vkit.tiers`) work in two steps:

1. :func:`encode_captions` loads *only* the tokenizer and text encoder, straight onto the GPU shard by shard
   (``device_map``), encodes every caption the session will use (and the negative prompt), frees them, and returns
   a :class:`ConditionStore` (saved to disk with :meth:`ConditionStore.save`, safetensors + JSON);
2. ``VideoGenerator.from_pretrained(model_id, conditions=store)`` loads the pipeline *without* its text encoder;
   ``encode_prompt`` then answers from the store, and names any caption that was not encoded.
"""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Iterable

from .condition import Condition


class ConditionStore:
    """π_Ξ of captions, one row each, kept on the CPU; ``store.condition(texts)`` stacks them as a batch."""

    def __init__(self, conditions: dict, *, model_id: str = "", text_len: int | None = None):
        self.conditions = dict(conditions)
        self.model_id = model_id
        self.text_len = text_len

    def __contains__(self, text) -> bool:
        return text in self.conditions

    def __len__(self) -> int:
        return len(self.conditions)

    def missing(self, texts: Iterable[str]) -> list:
        return [t for t in texts if t not in self.conditions]

    def condition(self, texts: list) -> Condition:
        """The stacked π of ``texts``; ``ValueError`` naming the captions that were not encoded."""
        import torch

        missing = self.missing(texts)
        if missing:
            raise ValueError(f"caption(s) {missing[:3]} were not encoded before the text encoder was freed; add them to "
                           "the captions given to l2vkit.generator.encode_captions (or load the generator with its "
                           "text encoder)")
        rows = [self.conditions[t] for t in texts]
        mask = None if rows[0].mask is None else torch.cat([r.mask for r in rows])
        return Condition(torch.cat([r.embeds for r in rows]), mask)

    def save(self, path) -> Path:
        """One safetensors file (``embeds`` / ``mask`` of all captions) with the captions and provenance inside."""
        import torch

        from ..io import save_safetensors
        from ..provenance import provenance

        path = Path(path)
        texts = list(self.conditions)
        tensors = {"embeds": torch.cat([self.conditions[t].embeds for t in texts]).contiguous()}
        if texts and self.conditions[texts[0]].mask is not None:
            tensors["mask"] = torch.cat([self.conditions[t].mask for t in texts]).contiguous()
        meta = {"captions": json.dumps(texts), "model_id": self.model_id, "text_len": str(self.text_len),
                "provenance": json.dumps(provenance())}
        return save_safetensors(path, tensors, meta)

    @classmethod
    def load(cls, path) -> "ConditionStore":
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            if "captions" not in meta or "embeds" not in f.keys():
                raise ValueError(f"{path} is not a saved ConditionStore (no captions or embeds inside)")
            texts = json.loads(meta["captions"])
            embeds = f.get_tensor("embeds")
            mask = f.get_tensor("mask") if "mask" in f.keys() else None
        if embeds.shape[0] != len(texts):
            raise ValueError(f"{path}: {embeds.shape[0]} rows of embeds for {len(texts)} captions")
        rows = {t: Condition(embeds[i:i + 1], None if mask is None else mask[i:i + 1]) for i, t in enumerate(texts)}
        text_len = meta.get("text_len")
        return cls(rows, model_id=meta.get("model_id", ""), text_len=int(text_len) if text_len not in (None, "None")
                   else None)


def encode_captions(model_id: str, captions: Iterable[str], *, negative_prompt: str = "", text_len: int | None = None,
                    dtype=None, device=None, batch: int = 8, revision: str | None = None) -> ConditionStore:
    """Load only ``model_id``'s tokenizer and text encoder, encode ``captions`` and the negative prompt, free them.

    The encoder goes straight to ``device`` (CUDA when available) shard by shard, so RAM never holds it whole.
    ``text_len``: the caption length of π (the family's default when ``None``)."""
    import gc

    import diffusers
    import torch

    from ..dtypes import resolve_dtype
    from .base import VideoGenerator
    from .loading import dtype_kwarg, pipeline_class_name

    texts = list(dict.fromkeys([*captions, negative_prompt]))
    if not all(isinstance(t, str) for t in texts):
        raise TypeError("encode_captions takes caption strings")
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    dtype = resolve_dtype(dtype, device)
    name = pipeline_class_name(model_id, revision)
    adapter = VideoGenerator.adapter_for(name)
    index = getattr(diffusers, name).load_config(model_id, revision=revision)
    skipped = {k: None for k in ("transformer", "transformer_2", "vae") if k in index}
    pipe = getattr(diffusers, name).from_pretrained(model_id, revision=revision, device_map=str(device.type),
                                                    **skipped, **{dtype_kwarg(): dtype})
    # the family's own rules (_default_text_len, _encode_text), run on a pipeline that holds only the text encoder
    text_len = text_len or adapter._default_text_len(SimpleNamespace(pipe=pipe, default_text_len=adapter.default_text_len))
    encoder = SimpleNamespace(pipe=pipe, text_len=text_len, device=device)
    conditions = {}
    with torch.no_grad():
        for start in range(0, len(texts), batch):
            chunk = texts[start:start + batch]
            c = adapter._encode_text(encoder, chunk)
            for i, text in enumerate(chunk):
                conditions[text] = Condition(c.embeds[i:i + 1].float().cpu(),
                                             None if c.mask is None else c.mask[i:i + 1].cpu())
    del pipe, encoder
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return ConditionStore(conditions, model_id=model_id, text_len=text_len)


__all__ = ["ConditionStore", "encode_captions"]
