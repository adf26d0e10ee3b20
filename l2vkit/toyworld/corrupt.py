"""Imperfections to check measurement robustness: Gaussian noise, blur and colour drift."""
from __future__ import annotations

import numpy as np

from .measure import as_float_video


def _to_uint8(frames: np.ndarray) -> np.ndarray:
    return np.round(np.clip(frames, 0.0, 1.0) * 255.0).astype(np.uint8)


def add_noise(video: np.ndarray, sigma: float, *, seed: int = 0) -> np.ndarray:
    """Add i.i.d. Gaussian noise of standard deviation ``sigma`` (on the 0–1 scale), clip, return uint8."""
    frames = as_float_video(video)
    return _to_uint8(frames + np.random.default_rng(seed).normal(0.0, sigma, frames.shape))


def blur(video: np.ndarray, kernel: int = 3) -> np.ndarray:
    """Box-blur every frame with a ``kernel``×``kernel`` window, return uint8."""
    from scipy import ndimage

    return _to_uint8(ndimage.uniform_filter(as_float_video(video), size=(1, kernel, kernel, 1), mode="nearest"))


def colour_drift(video: np.ndarray, shift=(0.05, -0.03, 0.04), gain: float = 0.95) -> np.ndarray:
    """Scale every pixel by ``gain`` and add a per-channel ``shift`` (a white-balance error), return uint8."""
    return _to_uint8(as_float_video(video) * gain + np.asarray(shift))


CORRUPTIONS = {
    "clean": lambda v, seed: np.asarray(v),
    "noise σ=0.1": lambda v, seed: add_noise(v, 0.1, seed=seed),
    "blur 3×3": lambda v, seed: blur(v, 3),
    "colour drift": lambda v, seed: colour_drift(v),
}
