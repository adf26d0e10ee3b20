"""The offline text–video alignment of the toy world: all-MiniLM-L6-v2 caption embeddings against a ridge map from
the toy VLM's pooled visual tokens, fitted on toy renders (a stand-in for CLIP; see :mod:`l2vkit.metrics.alignment`).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..metrics.alignment import AlignmentMap, fit_alignment_map, minilm_text_encoder
from ..provenance import canonical_model_id


def fit_toy_alignment_map(vlm=None, *, count: int = 1000, seed: int = 0, reg: float = 1e-2,
                          text_encoder: Callable | None = None) -> AlignmentMap:
    """Fit the offline default :class:`AlignmentMap` on ``count`` random toy renders (seeded): the VLM's pooled
    visual tokens → MiniLM embeddings of the true captions. ``vlm`` defaults to the shipped toy VLM.

    About 10 s for 1,000 videos on one CPU thread; save the result with :meth:`AlignmentMap.save`.
    """
    from ..metrics.video import vlm_pooled_features
    from ..provenance import provenance
    from . import caption, load_vlm
    from .vlm_data import random_batch

    if count < 2:
        raise ValueError(f"count={count}; fit on at least 2 videos (hundreds for a useful map)")
    vlm = vlm if vlm is not None else load_vlm()
    text_encoder = text_encoder or minilm_text_encoder()
    attrs, videos = random_batch(np.random.default_rng(seed), count)
    features = vlm_pooled_features(vlm)(videos)
    targets = text_encoder([caption(a) for a in attrs])
    meta = {"video_model": canonical_model_id(vlm.model_id), "video_features": "vlm_pooled_features",
            "text_model": getattr(text_encoder, "model_id", getattr(text_encoder, "__name__", "text encoder")),
            "data": "toy world random_batch", "seed": seed,
            "provenance": provenance(command="fit_toy_alignment_map", seed=seed, count=count)}
    return fit_alignment_map(features, targets, reg=reg, meta=meta)


def toy_alignment_encoders(vlm=None, alignment_map: AlignmentMap | None = None):
    """The offline default ``(text_encoder, video_encoder)``: MiniLM captions vs the VLM's pooled visual tokens
    through ``alignment_map`` (fitted with :func:`fit_toy_alignment_map` when not given)."""
    from ..metrics.video import vlm_pooled_features
    from . import load_vlm

    vlm = vlm if vlm is not None else load_vlm()
    text_encoder = minilm_text_encoder()
    alignment_map = alignment_map or fit_toy_alignment_map(vlm, text_encoder=text_encoder)
    return text_encoder, alignment_map.video_encoder(vlm_pooled_features(vlm))
