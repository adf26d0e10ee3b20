"""What "kept" did not cover: where the object is, and what changed around it.

Two videos of the same seed (unsteered and steered) may agree on every measured attribute while the object sits
elsewhere, or vanishes for some frames and comes back; and the scene's texture may shift. :func:`position_shift`
compares the object's tracks frame by frame (:attr:`Measurement.track`), :func:`kept_in_place` turns it into a
yes/no with a stated tolerance, and :func:`background_change` measures the change outside both videos' objects.
"""
from __future__ import annotations

import numpy as np

#: Families whose edit moves the object by definition (direction and speed set its path, and the toy renderer draws
#: the start so that the path stays in the frame): its place is no part of what they must keep.
MOVES = ("action",)
#: Families whose edit repaints the background: the change outside the object is what they must do.
REPAINTS = ("scene",)

#: The object counts as in place when its centre moved by at most this share of the frame side on average (a tenth:
#: 3.2 pixels at 32) and it is missing from no frame where the reference shows it.
POSITION_TOLERANCE = 0.1


def position_shift(reference, other) -> float:
    """Mean distance (fractions of the frame side) between two measurements' object centres over the frames where
    both show the object; ``inf`` when no frame does."""
    pairs = [(a, b) for a, b in zip(reference.track, other.track) if a is not None and b is not None]
    if not pairs:
        return float("inf")
    return float(np.mean([np.hypot(a[0] - b[0], a[1] - b[1]) for a, b in pairs]))


def frames_lost(reference, other) -> int:
    """Frames where the reference shows the object and the other video does not."""
    return sum(a is not None and b is None for a, b in zip(reference.track, other.track))


def kept_in_place(reference, other, tolerance: float = POSITION_TOLERANCE) -> bool:
    """The object is where it was: present in every frame the reference shows it, and moved by at most
    ``tolerance`` of the frame side on average."""
    return frames_lost(reference, other) == 0 and position_shift(reference, other) <= tolerance


def background_change(reference_video, other_video) -> float:
    """Mean absolute pixel change (0–1 per channel) outside both videos' objects: the scene around the object.

    The object masks are the measurement's own (a pixel nearer an object colour than the scene's shades)."""
    from .measure import _object_masks, _scene_of, as_float_video

    a, b = as_float_video(reference_video), as_float_video(other_video, name="other_video")
    if a.shape != b.shape:
        raise ValueError(f"videos of shapes {a.shape} and {b.shape}; compare videos of one size")
    outside = ~(_object_masks(a, _scene_of(a)[0]) | _object_masks(b, _scene_of(b)[0]))
    if not outside.any():
        return float("nan")
    return float(np.abs(a - b)[outside].mean())
