"""Deterministic renderer of toy videos: one moving object over a textured scene."""
from __future__ import annotations

import numpy as np

from . import design
from .attributes import Attributes

_SUPERSAMPLE = 4  # render at 4x and average: smooth edges and sub-pixel motion


def _check_geometry(frames: int, size: int) -> None:
    if not isinstance(frames, (int, np.integer)) or frames < design.MIN_FRAMES:
        raise ValueError(f"frames={frames!r}: need an integer ≥ {design.MIN_FRAMES}")
    if not isinstance(size, (int, np.integer)) or size < design.MIN_SIZE:
        raise ValueError(f"size={size!r}: need an integer ≥ {design.MIN_SIZE} pixels")


def trajectory(attrs: Attributes, *, seed: int = 0, frames: int = 9, size: int = 32) -> np.ndarray:
    """Object centre per frame, shape (frames, 2) as (x, y) in pixels; the start is drawn from ``seed``."""
    _check_geometry(frames, size)
    rng = np.random.default_rng([seed, 1])
    lo = (design.HALF_EXTENT[attrs.size] + design.EDGE_MARGIN) * size
    hi = size - lo
    travel = design.TRAVEL[attrs.adverb] * size
    ux, uy = design.DIRECTION_VECTORS[attrs.direction]
    # Choose the start so the whole path stays inside [lo, hi] on both axes.
    start = []
    for u in (ux, uy):
        if u > 0:
            start.append(rng.uniform(lo, hi - travel))
        elif u < 0:
            start.append(rng.uniform(lo + travel, hi))
        else:
            start.append(rng.uniform(lo, hi))
    fraction = np.linspace(0.0, 1.0, frames)[:, None]
    return np.asarray(start)[None, :] + fraction * travel * np.asarray([ux, uy])[None, :]


def render(attrs: Attributes, *, seed: int = 0, frames: int = 9, size: int = 32) -> np.ndarray:
    """Render a toy video.

    Parameters
    ----------
    attrs : Attributes
        What to show; ``caption(attrs)`` describes the result.
    seed : int
        Chooses the start position and the texture's phase; the same inputs always give the same pixels.
    frames, size : int
        Number of frames and the frame side in pixels.

    Returns
    -------
    np.ndarray
        uint8 array of shape (frames, size, size, 3).

    >>> from l2vkit.toyworld import Attributes, render
    >>> render(Attributes("red", "circle", "small", "quickly", "left", "desert")).shape
    (9, 32, 32, 3)
    """
    if not isinstance(attrs, Attributes):
        raise TypeError(f"attrs must be an Attributes, got {type(attrs).__name__}")
    centres = trajectory(attrs, seed=seed, frames=frames, size=size)
    rng = np.random.default_rng([seed, 2])
    weight = design.scene_texture(attrs.scene, size, rng)[..., None]
    dark, light = (np.asarray(c) for c in design.SCENE_SHADES[attrs.scene])
    background = dark + weight * (light - dark)

    s = _SUPERSAMPLE
    offsets = (np.arange(size * s) + 0.5) / s  # sample positions in pixel units
    yy, xx = np.meshgrid(offsets, offsets, indexing="ij")
    half = design.HALF_EXTENT[attrs.size] * size
    colour = np.asarray(design.OBJECT_COLOURS[attrs.colour])

    video = np.empty((frames, size, size, 3), dtype=np.float64)
    for t, (cx, cy) in enumerate(centres):
        hit = design.shape_mask(attrs.shape, xx, yy, cx, cy, half).astype(np.float64)
        coverage = hit.reshape(size, s, size, s).mean(axis=(1, 3))[..., None]
        video[t] = background * (1.0 - coverage) + colour * coverage
    return np.round(video * 255.0).astype(np.uint8)
