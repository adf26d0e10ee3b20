"""What each steering control covers: the steps of a timestep window, the latent frames of a frame mask (and the
video frames they decode to), and the strength range a φ should stay in. :mod:`l2vkit.steering` applies them."""
from __future__ import annotations

import warnings

import numpy as np

#: Without a measured strength range (:meth:`ConceptBank.strength_range`), φ beyond ±PHI_LIMIT warns.
PHI_LIMIT = 2.0


def outside_range(name: str, phi: float, concepts, *, back: bool = False) -> str | None:
    """Why ``phi`` is outside the pair's strength range, or ``None`` when it is inside (φ = 0 always is): the
    range measured to keep the other attributes where the bank records one, else [−2, 2]. ``back``: the caption
    holds the pair's target word, so φ < 0 steers back to the source word (measured as the range's ``back``)."""
    measured = concepts.strength_range(name) if hasattr(concepts, "strength_range") else None
    if phi == 0.0:
        return None
    if measured is None:
        if abs(phi) <= PHI_LIMIT:
            return None
        return f"outside [−{PHI_LIMIT:g}, {PHI_LIMIT:g}], where concepts were trained to act; expect artefacts"
    if back:
        if phi > 0:
            return "positive on a caption that already holds the target word, which was never measured"
        measured, phi = measured.get("back"), -phi
        if measured is None:
            return "steering back (φ < 0 on a caption with the target word), which this bank never measured"
    elif phi < 0:
        return "negative on a caption with the source word (away from the target word), which was never measured"
    share = f"≥ {measured['kept_at_least']:.0%} of {measured['seeds']} held-out seeds"
    sign = "−" if back else ""
    if measured["low"] is None:
        return f"outside its strength range: no φ measured kept the other attributes in {share}"
    if measured["low"] <= phi <= measured["high"]:
        return None
    return (f"outside its strength range [{sign}{measured['high' if back else 'low']:g}, "
            f"{sign}{measured['low' if back else 'high']:g}], where it kept the other attributes in {share}; expect "
            "other attributes to change")


def warn_outside_ranges(settings, concepts, *, warn: bool = True, back=()) -> list[bool]:
    """Warn (when ``warn``) once per pair about the φ of ``settings`` outside its strength range; return, per
    setting, whether any of its φ is outside. ``back``: the pairs whose target word the caption holds."""
    flagged, marks = {}, []
    for setting in settings:
        reasons = {name: outside_range(name, phi, concepts, back=name in back) for name, phi in setting.items()}
        for name, reason in reasons.items():
            if reason:
                flagged.setdefault(name, ({}, reason))[0][setting[name]] = None
        marks.append(any(reasons.values()))
    if not warn:
        return marks
    for name, (phis, reason) in flagged.items():
        values = ", ".join(f"{phi:g}" for phi in phis)
        verb = "is" if len(phis) == 1 else "are"
        warnings.warn(f"φ={values} for {name!r} {verb} {reason}", UserWarning, stacklevel=4)
    return marks


def _check_window(window, steps: int):
    if window is None:
        return None
    try:
        start, end = (float(x) for x in window)
    except (TypeError, ValueError):
        raise ValueError(f"window={window!r}; expected (start, end) as fractions of the sampling steps in [0, 1]") from None
    if not (0 <= start <= 1 and 0 <= end <= 1):
        raise ValueError(f"window={window!r}; start and end are fractions of the sampling steps in [0, 1]")
    if not steps_in_window((start, end), steps):
        raise ValueError(f"window={window!r} contains none of the {steps} sampling steps (step i is in it when "
                         "start ≤ i/steps < end); widen it")
    return (start, end)


def steps_in_window(window, steps: int) -> list[int]:
    """The sampling steps a window (start, end) covers: step i (counted from 0) when start ≤ i/steps < end, so
    windows that meet, like (0, 0.3) and (0.3, 0.7), share no step.

    >>> steps_in_window((0.3, 0.7), 10)
    [3, 4, 5, 6]
    """
    start, end = window
    return [i for i in range(steps) if start <= i / steps < end]


def _latent_frame_mask(generator, frame_mask, frames: int, frame_indices=None):
    """A video-frame mask (T,) or latent-frame mask (F,) of booleans, or video frame numbers → the latent-frame mask
    (F,) and the video frames it steers (T,): a latent frame is steered when any video frame it decodes to is (a
    warning names the video frames that makes, when they are more than were asked for)."""
    latent_frames = generator.latent_shape(frames, generator.height, generator.width)[1]
    if frame_mask is not None and frame_indices is not None:
        raise ValueError("give frame_mask (booleans) or frame_indices (frame numbers), not both")
    if frame_indices is not None:
        numbers = np.asarray(frame_indices).ravel()
        if numbers.size == 0 or numbers.dtype.kind not in "iu" or numbers.min() < 0 or numbers.max() >= frames:
            raise ValueError(f"frame_indices={list(frame_indices)!r}: give whole frame numbers from 0 to {frames - 1}")
        frame_mask = np.zeros(frames, dtype=bool)
        frame_mask[numbers] = True
    mask = np.asarray(frame_mask)
    if mask.dtype != bool:  # [0, 4, 8] (frame numbers) must not pass as a mask, nor NaN as True
        raise ValueError(f"frame_mask must hold booleans (True: steer that frame), one per video frame ({frames}) or "
                         f"latent frame ({latent_frames}); got {mask.dtype} values {mask.ravel()[:6].tolist()} — "
                         "to name frames by number, use frame_indices=[...]")
    mask = mask.ravel()
    if mask.size == latent_frames:
        out = mask  # a latent-frame mask is honoured exactly
    elif mask.size == frames:
        out = video_to_latent_frame_mask(mask, latent_frames)
    else:
        raise ValueError(f"frame_mask has {mask.size} entries; expected one per video frame ({frames}) or per latent "
                         f"frame ({latent_frames})")
    if not out.any():
        raise ValueError("frame_mask selects no frame; steer at least one")
    steered = latent_to_video_frame_mask(out, frames)
    if mask.size == frames and not np.array_equal(mask, steered):
        # a latent frame is steered whole: say which video frames that makes
        warnings.warn(f"frames {np.flatnonzero(mask).tolist()} were asked for, but the VAE packs several video frames "
                      f"into one latent frame, so frames {np.flatnonzero(steered).tolist()} are steered",
                      UserWarning, stacklevel=4)
    return out, steered


def video_to_latent_frame_mask(mask, latent_frames: int) -> np.ndarray:
    """A mask over T video frames → a mask over the F latent frames of a causal video VAE (Wan: T = 4(F − 1) + 1):
    latent frame 0 decodes to video frame 0 alone, latent frame f ≥ 1 to the next (T − 1)/(F − 1) frames (4f − 3 … 4f for
    Wan); a latent frame is steered when any of its video frames is.

    >>> video_to_latent_frame_mask([False] * 4 + [True] + [False] * 4, 3).tolist()
    [False, True, False]
    """
    mask = np.asarray(mask, dtype=bool).ravel()
    ratio = (mask.size - 1) / max(latent_frames - 1, 1)
    out = np.zeros(latent_frames, dtype=bool)
    for f in range(latent_frames):
        lo, hi = (0, 0) if f == 0 else (int(np.floor(ratio * (f - 1))) + 1, int(round(ratio * f)))
        out[f] = mask[lo:hi + 1].any()
    return out


def latent_to_video_frame_mask(latent_mask, frames: int) -> np.ndarray:
    """The video frames (T booleans) that F steered latent frames decode to: the inverse grouping of
    :func:`video_to_latent_frame_mask` (frame 0 with latent frame 0, then (T − 1)/(F − 1) frames per latent frame).

    >>> latent_to_video_frame_mask([False, True, False], 9).astype(int).tolist()
    [0, 1, 1, 1, 1, 0, 0, 0, 0]
    """
    latent_mask = np.asarray(latent_mask, dtype=bool).ravel()
    ratio = (frames - 1) / max(latent_mask.size - 1, 1)
    owner = [0] + [min(int(np.ceil(k / ratio - 1e-9)), latent_mask.size - 1) for k in range(1, frames)]
    return latent_mask[owner]
