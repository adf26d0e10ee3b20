"""The toy world's visual design, shared by the renderer and the measurement so both agree by construction.

Geometry is given as fractions of the frame side, so any resolution renders the same scene. Object colours are
kept far (≥ 0.4 in RGB on a 0–1 scale) from every scene's texture, which is what makes measurement survive noise,
blur and drift; objects are large and backgrounds calm (two close shades, low spatial frequency) so that a tiny
generator can learn them.
"""
from __future__ import annotations

import numpy as np

#: Object colours, RGB in 0–1.
OBJECT_COLOURS = {
    "red": (0.86, 0.16, 0.16),
    "green": (0.24, 0.92, 0.35),
    "blue": (0.16, 0.35, 0.94),
    "yellow": (0.96, 0.84, 0.12),
    "purple": (0.60, 0.20, 0.80),
}

#: Each scene's texture blends two shades (dark, light), RGB in 0–1.
SCENE_SHADES = {
    "desert": ((0.70, 0.55, 0.35), (0.87, 0.75, 0.55)),
    "sea": ((0.06, 0.25, 0.38), (0.14, 0.42, 0.52)),
    "grass": ((0.15, 0.35, 0.11), (0.27, 0.50, 0.17)),
    "snow": ((0.82, 0.85, 0.90), (0.96, 0.97, 0.99)),
}

#: Half the object's side (square), radius (circle) or half the base (triangle), as a fraction of the frame.
HALF_EXTENT = {"small": 0.16, "large": 0.26}

#: Total distance the object's centre travels over the clip, as a fraction of the frame (any frame count).
TRAVEL = {"slowly": 0.125, "quickly": 0.375}

#: Unit displacement per direction in (x, y) with y pointing down the image, as rows grow.
DIRECTION_VECTORS = {"left": (-1.0, 0.0), "right": (1.0, 0.0), "up": (0.0, -1.0), "down": (0.0, 1.0)}

#: Extra clearance between the object and the frame edge, as a fraction of the frame.
EDGE_MARGIN = 0.02

#: Thresholds the measurement uses, halfway between the designed values.
SIZE_THRESHOLD = HALF_EXTENT["small"] + HALF_EXTENT["large"]  # on the bounding-box side, a fraction of the frame
TRAVEL_THRESHOLD = (TRAVEL["slowly"] + TRAVEL["quickly"]) / 2

#: Smallest frame side and frame count the design (and so the measurement) supports.
MIN_SIZE = 16
MIN_FRAMES = 2


def scene_texture(scene: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """A calm, seeded texture in [0, 1] of shape (size, size): the blend weight between a scene's two shades."""
    y, x = np.mgrid[0:size, 0:size] / size
    phase = rng.uniform(0, 2 * np.pi, size=4)
    if scene == "desert":  # diagonal dunes
        t = np.sin(2 * np.pi * 2.0 * (x + 0.6 * y) + phase[0] + 0.8 * np.sin(2 * np.pi * y + phase[1]))
    elif scene == "sea":  # horizontal swell
        t = np.sin(2 * np.pi * 3.0 * y + phase[0] + 1.2 * np.sin(2 * np.pi * 1.5 * x + phase[1]))
    elif scene == "grass":  # vertical blades
        t = np.sin(2 * np.pi * 4.0 * x + phase[0] + 0.6 * np.sin(2 * np.pi * 2 * y + phase[1]))
    elif scene == "snow":  # soft drifts
        t = np.sin(2 * np.pi * 1.5 * x + phase[0]) * np.sin(2 * np.pi * 1.5 * y + phase[1])
        t = t + 0.5 * np.sin(2 * np.pi * 2.5 * (x - y) + phase[2])
        t = t / 1.5
    else:
        raise ValueError(f"unknown scene {scene!r}; choose one of {', '.join(SCENE_SHADES)}")
    return (t + 1.0) / 2.0


def shape_mask(shape: str, xx: np.ndarray, yy: np.ndarray, cx: float, cy: float, half: float) -> np.ndarray:
    """Boolean coverage of a shape centred at (cx, cy), evaluated at sample points (xx, yy); units are pixels."""
    dx, dy = xx - cx, yy - cy
    if shape == "square":
        return (np.abs(dx) <= half) & (np.abs(dy) <= half)
    if shape == "circle":
        return dx * dx + dy * dy <= half * half
    if shape == "triangle":  # apex up, base at the bottom; the bounding box is the same as the square's
        inside_y = (dy >= -half) & (dy <= half)
        return inside_y & (np.abs(dx) <= (dy + half) / 2)
    raise ValueError(f"unknown shape {shape!r}; choose one of circle, square, triangle")
