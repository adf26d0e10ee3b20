"""What "kept" did not cover: where the object is, and what changed around it.

Two videos of the same seed (unsteered and steered) may agree on every measured attribute while the object sits
elsewhere, or vanishes for some frames and comes back; and the scene's texture may shift. :func:`position_shift`
compares the object's tracks frame by frame (:attr:`Measurement.track`), :func:`kept_in_place` turns it into a
yes/no with a stated tolerance, and :func:`background_change` measures the change outside both videos' objects.
:func:`texture_correlation` compares the scene texture's phase (the renderer draws it from the seed), and
:func:`background_perceptual` is a perceptual distance with both objects masked out.
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
    a, b, _, outside = _background(reference_video, other_video, edges=False)
    if not outside.any():
        return float("nan")
    return float(np.abs(a - b)[outside].mean())


def _background(reference, other, *, edges: bool = True):
    """Both videos as floats, the reference's scene, and the pixels outside both videos' objects (and their edges)."""
    from scipy import ndimage

    from .measure import _object_masks, _scene_of, as_float_video

    a, b = as_float_video(reference), as_float_video(other, name="other_video")
    if a.shape != b.shape:
        raise ValueError(f"videos of shapes {a.shape} and {b.shape}; compare videos of one size")
    scene = _scene_of(a)[0]
    objects = _object_masks(a, scene) | _object_masks(b, _scene_of(b)[0])
    if edges:  # one pixel more around each object: its anti-aliased edge blends object and scene colours
        objects = ndimage.binary_dilation(objects, structure=np.ones((1, 3, 3), dtype=bool))
    return a, b, scene, ~objects


def texture_correlation(reference_video, other_video) -> float:
    """Correlation of the scene texture's blend weight (where each background pixel lies between the reference
    scene's dark and light shades) between two videos, over the pixels outside both objects: the texture's phase
    kept is ≈ 1, shifted or replaced is lower. ``nan`` when no pixel is background in both.

    On renders an edit of the object keeps it above 0.98, and another seed's texture is lower (by chance up to
    0.72). On the toy generator's videos the two overlap: it draws snow nearly flat and the other scenes blurred, a
    prompt swap's videos (same noise) correlate 0.45–0.99 with the unsteered ones and another noise seed's up to
    0.85. So it is reported as a figure, not folded into "kept" with a tolerance."""
    from . import design

    a, b, scene, outside = _background(reference_video, other_video)
    if outside.sum() < 2:
        return float("nan")
    dark, light = (np.asarray(c) for c in design.SCENE_SHADES[scene])
    weight = [((v[outside] - dark) @ (light - dark)) / ((light - dark) @ (light - dark)) for v in (a, b)]
    if min(w.std() for w in weight) < 1e-9:
        return float("nan")
    return float(np.corrcoef(*weight)[0, 1])


def background_perceptual(reference_video, other_video) -> float:
    """:func:`l2vkit.metrics.perceptual_distance` with both videos' objects painted over by the reference's median
    scene colour: a perceptual distance of what lies outside the object."""
    from ..metrics import perceptual_distance

    a, b, _, outside = _background(reference_video, other_video)
    fill = np.median(a[outside], axis=0) if outside.any() else np.zeros(3)
    a, b = a.copy(), b.copy()
    a[~outside], b[~outside] = fill, fill
    return float(perceptual_distance(a, b)[0])
