"""Batches of toy videos and caption token ids for training and scoring the toy VLM."""
from __future__ import annotations

import numpy as np

from .attributes import ATTRIBUTE_VALUES, Attributes, caption, random_attributes
from .render import render


def random_batch(rng: np.random.Generator, size: int, *, frames: int = 9, pixels: int = 32):
    """``size`` random (attributes, video) pairs drawn from ``rng``; videos stacked as uint8 (B, T, H, W, 3)."""
    seeds = rng.integers(0, 2**31 - 1, size=(size, 2))
    attrs = [random_attributes(int(a)) for a, _ in seeds]
    videos = np.stack([render(a, seed=int(s), frames=frames, size=pixels) for a, (_, s) in zip(attrs, seeds)])
    return attrs, videos


def held_out(count: int, *, offset: int = 1_000_000) -> tuple[list[Attributes], np.ndarray]:
    """A fixed evaluation set: attribute and render seeds from ``offset`` on, never drawn by training's rng."""
    attrs = [random_attributes(offset + i) for i in range(count)]
    videos = np.stack([render(a, seed=offset + i) for i, a in enumerate(attrs)])
    return attrs, videos


def slot_positions(attrs: Attributes) -> dict[str, int]:
    """Word index of each attribute in the caption."""
    words = caption(attrs).split()
    return {field: words.index(getattr(attrs, field)) for field in ATTRIBUTE_VALUES}


def augment(videos, generator, *, max_noise: float = 0.06, blur_prob: float = 0.3):
    """Mild pixel noise and occasional 3×3 blur on a float (B, T, H, W, 3) tensor, so the VLM tolerates the
    imperfect videos a generator makes."""
    import torch
    import torch.nn.functional as F

    b = videos.shape[0]
    sigma = torch.rand(b, 1, 1, 1, 1, generator=generator) * max_noise
    out = videos + sigma * torch.randn(videos.shape, generator=generator)
    blur = torch.rand(b, generator=generator) < blur_prob
    if blur.any():
        x = out[blur]
        n, t, h, w, c = x.shape
        flat = x.permute(0, 1, 4, 2, 3).reshape(n * t * c, 1, h, w)
        flat = F.avg_pool2d(F.pad(flat, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
        out[blur] = flat.reshape(n, t, c, h, w).permute(0, 1, 3, 4, 2)
    return out.clamp(0.0, 1.0)
