"""Differentiable video preprocessing in torch: frame sampling, resize, normalisation and patchify.

Each function mirrors what a family's official (torchvision-based) video processor does, so that gradients can
flow from the VLM's visual tokens back to the pixels. Videos enter as float tensors in [0, 1], shape
(T, H, W, 3) or (B, T, H, W, 3); uint8 numpy arrays are converted.
"""
from __future__ import annotations

import math

import numpy as np

from ..video import as_video_tensor  # noqa: F401  (adapters use preprocess.as_video_tensor)

OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def sample_frame_indices(total: int, count: int) -> list[int]:
    """``count`` evenly spaced frame indices out of ``total`` (all of them when ``count`` ≥ ``total``)."""
    if total < 1:
        raise ValueError("video has no frames")
    if count >= total:
        return list(range(total))
    return np.linspace(0, total - 1, count).round().astype(int).tolist()


def qwen_frame_indices(total: int, *, video_fps: float | None = None, fps: float | None = 2.0,
                       num_frames: int | None = None, min_frames: int = 4, max_frames: int = 768,
                       temporal_patch_size: int = 2) -> list[int]:
    """Qwen2-VL / Qwen2.5-VL's frame sampling (transformers' ``Qwen2VLVideoProcessor.sample_frames``).

    ``num_frames`` (rounded to a multiple of ``temporal_patch_size``) wins over ``fps``; with ``fps`` the count is
    ``total / video_fps · fps`` clamped to [``min_frames``, min(``max_frames``, ``total``)] and floored to a multiple
    of ``temporal_patch_size``; indices are ``arange(0, total, total / n).int()``. With neither, every frame.
    A clip shorter than the count asked raises ``ValueError`` naming both.

    >>> qwen_frame_indices(132, video_fps=24.0)  # bigbuckbunny.mp4: 5.5 s → 11 → 10 frames
    [0, 13, 26, 39, 52, 66, 79, 92, 105, 118]
    """
    if total < 1:
        raise ValueError("video is empty: it has no frames")
    if num_frames is not None:
        count = round(num_frames / temporal_patch_size) * temporal_patch_size
    elif fps is not None:
        if not video_fps:
            raise ValueError("sampling at fps needs the clip's frame rate; pass video_fps (read from the file's "
                             "metadata) or num_frames")
        cap = math.floor(min(max_frames, total) / temporal_patch_size) * temporal_patch_size
        count = min(max(total / video_fps * fps, min_frames), cap, total)
        count = math.floor(count / temporal_patch_size) * temporal_patch_size
    else:
        return list(range(total))
    if count > total:
        raise ValueError(f"the clip has {total} frames but {count} were asked for; pass a longer clip or fewer "
                         "frames")
    if count < 1:
        raise ValueError(f"the clip has {total} frames, fewer than one temporal patch ({temporal_patch_size})")
    import torch

    return torch.arange(0, total, total / count).int().tolist()  # the official expression, float rounding included


def smart_resize(height: int, width: int, factor: int, min_pixels: int, max_pixels: int) -> tuple[int, int]:
    """Qwen2-VL's rule: round each side to a multiple of ``factor`` and keep the area in [min_pixels, max_pixels]."""
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


#: The frame rate transformers assumes for a clip whose own is unknown (``VideoMetadata``; Qwen3VLVideoProcessor
#: too, with a warning).
ASSUMED_FPS = 24


def qwen3_frame_indices(total: int, *, video_fps: float | None = None, fps: float | None = 2.0,
                        num_frames: int | None = None, min_frames: int = 4, max_frames: int = 768) -> list[int]:
    """Qwen3-VL's frame sampling (transformers' ``Qwen3VLVideoProcessor.sample_frames``), which differs from
    Qwen2-VL's: the count ``int(total / video_fps · fps)`` is clamped to [``min_frames``, min(``max_frames``,
    ``total``)] but not rounded to the temporal patch (the last frame is repeated later), and the indices are
    ``linspace(0, total − 1, n).round()``. ``num_frames`` wins over ``fps``; with neither, every frame clamped likewise.

    >>> qwen3_frame_indices(132, video_fps=24.0)  # bigbuckbunny.mp4: 5.5 s → 11 frames
    [0, 13, 26, 39, 52, 66, 79, 92, 105, 118, 131]
    """
    if total < 1:
        raise ValueError("video is empty: it has no frames")
    if num_frames is None and fps is not None:
        count = int(total / (video_fps or ASSUMED_FPS) * fps)
        count = min(max(count, min_frames), max_frames, total)
    else:
        count = num_frames if num_frames is not None else min(max(total, min_frames), max_frames)
    return np.linspace(0, total - 1, count).round().astype(int).tolist()


def qwen3_timestamps(indices, video_fps: float, temporal_patch_size: int = 2) -> list[float]:
    """Seconds written before each temporal patch in Qwen3-VL's prompt (``Qwen3VLProcessor._calculate_timestamps``):
    the mean time of the patch's first and last frame, the last frame repeated to fill a patch.

    >>> qwen3_timestamps([0, 13, 26], 25.0)  # frames 0 and 13, then 26 twice
    [0.26, 1.04]
    """
    indices = list(indices)
    indices += [indices[-1]] * (-len(indices) % temporal_patch_size)
    seconds = [i / video_fps for i in indices]
    span = temporal_patch_size
    return [(seconds[i] + seconds[i + span - 1]) / 2 for i in range(0, len(seconds), span)]


def qwen3_smart_resize(frames: int, height: int, width: int, factor: int, min_pixels: int, max_pixels: int,
                       temporal_factor: int = 2) -> tuple[int, int]:
    """Qwen3-VL's video resize rule: the pixel budget [min_pixels, max_pixels] covers all frames together
    (t̄ · h̄ · w̄, t̄ the frame count rounded to ``temporal_factor``); sides are multiples of ``factor``."""
    if frames < temporal_factor:
        raise ValueError(f"{frames} frames: Qwen3-VL needs at least {temporal_factor} (one temporal patch)")
    if height < factor or width < factor:
        scale = max(factor / height, factor / width)
        height, width = int(height * scale), int(width * scale)
    if max(height, width) / min(height, width) > 200:
        raise ValueError(f"aspect ratio {max(height, width) / min(height, width):.0f} is over Qwen's limit of 200")
    h_bar, w_bar = round(height / factor) * factor, round(width / factor) * factor
    t_bar = round(frames / temporal_factor) * temporal_factor
    if t_bar * h_bar * w_bar > max_pixels:
        beta = math.sqrt((frames * height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif t_bar * h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (frames * height * width))
        h_bar, w_bar = math.ceil(height * beta / factor) * factor, math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def resize_frames(frames, size: tuple[int, int], *, mode: str = "bicubic", antialias: bool = True):
    """Resize (N, 3, H, W) frames to ``size`` = (h, w); differentiable. No-op when already that size."""
    import torch.nn.functional as F

    if tuple(frames.shape[-2:]) == tuple(size):
        return frames
    align = False if mode in ("bilinear", "bicubic") else None
    return F.interpolate(frames, size=size, mode=mode, align_corners=align, antialias=antialias and mode != "nearest")


def normalize(frames, mean, std):
    """(x − mean) / std per channel for (…, 3, H, W) frames."""
    import torch

    mean = torch.as_tensor(mean, dtype=frames.dtype, device=frames.device).view(3, 1, 1)
    std = torch.as_tensor(std, dtype=frames.dtype, device=frames.device).view(3, 1, 1)
    return (frames - mean) / std


def qwen_patchify(frames, *, patch_size: int, temporal_patch_size: int, merge_size: int):
    """Qwen2-VL / Qwen2.5-VL patch layout of one normalised video (T, 3, H, W).

    Returns ``(patches, grid_thw)``: patches of shape (grid_t·grid_h·grid_w, 3·temporal_patch_size·p·p), in the
    order the official processor emits them (merge windows contiguous), and the (t, h, w) grid.
    """
    import torch

    t, c, h, w = frames.shape
    if t % temporal_patch_size:  # the official processor repeats the last frame
        pad = temporal_patch_size - t % temporal_patch_size
        frames = torch.cat([frames, frames[-1:].expand(pad, c, h, w)], dim=0)
        t += pad
    grid_t, grid_h, grid_w = t // temporal_patch_size, h // patch_size, w // patch_size
    if grid_h % merge_size or grid_w % merge_size or h % patch_size or w % patch_size:
        raise ValueError(f"frames of {h}×{w} do not split into {patch_size}-pixel patches in {merge_size}×{merge_size} groups")
    x = frames.reshape(grid_t, temporal_patch_size, c, grid_h // merge_size, merge_size, patch_size,
                       grid_w // merge_size, merge_size, patch_size)
    x = x.permute(0, 3, 6, 4, 7, 2, 1, 5, 8)
    patches = x.reshape(grid_t * grid_h * grid_w, c * temporal_patch_size * patch_size * patch_size)
    return patches, (grid_t, grid_h, grid_w)


# ------------------------------------------------------------------------------------------------------------------
# Helpers for the LLaVA-OneVision, SmolVLM / Idefics3 and InternVL adapters.

IMAGENET_STANDARD_MEAN = (0.5, 0.5, 0.5)
IMAGENET_STANDARD_STD = (0.5, 0.5, 0.5)

#: PIL resample codes, as processor configs save them, → ``torch.nn.functional.interpolate`` modes. LANCZOS (1) has
#: no torch counterpart: bicubic is what transformers itself falls back to on GPU or with older torchvision; BOX (4)
#: and HAMMING (5) are approximated by bilinear and bicubic.
RESAMPLE_MODES = {0: "nearest", 1: "bicubic", 2: "bilinear", 3: "bicubic", 4: "bilinear", 5: "bicubic"}


def resample_mode(code, default: str = "bicubic") -> str:
    """The interpolate mode for a processor's ``resample`` setting (a PIL code or a name; ``None`` → ``default``)."""
    if code is None:
        return default
    if isinstance(code, str):
        name = code.lower()
        return {"lanczos": "bicubic", "box": "bilinear", "hamming": "bicubic"}.get(name, name)
    return RESAMPLE_MODES.get(int(code), default)


def frames_for_fps(total: int, fps: float | None, video_fps: float | None) -> int | None:
    """transformers' frame count for sampling at ``fps``: ``max(1, int(total / video_fps · fps))``; ``None`` without
    ``fps``. The clip's own rate is needed: without it the official processors refuse, and so does this."""
    if fps is None:
        return None
    if not video_fps:
        raise ValueError(f"sampling at {fps:g} fps needs the clip's frame rate; pass fps= (read from the file) or "
                         "set vlm.video_fps, or sample a fixed num_frames instead")
    return max(1, int(total / video_fps * fps))


def _check_count(total: int, count: int) -> None:
    if count > total:  # the official processors raise here rather than repeat frames
        raise ValueError(f"the clip has {total} frames but {count} were asked for; pass a longer clip or sample "
                         "fewer frames (num_frames / fps)")


def spread_indices(total: int, count: int) -> list[int]:
    """``i · total // count`` for i < count: ``count`` frames spread evenly over ``total``, the rule of transformers'
    default sampling; a clip shorter than ``count`` repeats frames (callers that must refuse check first).

    >>> spread_indices(5, 8)
    [0, 0, 1, 1, 2, 3, 3, 4]
    """
    return (np.arange(count, dtype=int) * total // count).tolist()


def uniform_frame_indices(total: int, count: int | None, *, fps: float | None = None,
                          video_fps: float | None = None) -> list[int]:
    """transformers' default video sampling (``BaseVideoProcessor.sample_frames``): ``i · total // count`` for
    i < count — ``count`` frames, or ``int(total / video_fps · fps)`` of them with ``fps``; every frame with neither.
    More frames than the clip has raises ``ValueError`` naming both numbers, as the official processor does.

    (transformers 5.17's ``default_sample_indices_fn``, used when it loads a file rather than by the processor, took
    ``arange(0, total, total // count)[:count]`` instead; 5.25's processor and loader both take the rule here.)

    >>> uniform_frame_indices(132, 8)
    [0, 16, 33, 49, 66, 82, 99, 115]
    """
    if total < 1:
        raise ValueError("video has no frames")
    count = count or frames_for_fps(total, fps, video_fps)
    if not count:
        return list(range(total))
    _check_count(total, count)
    return spread_indices(total, count)


def shifted_frame_indices(total: int, count: int | None, initial_shift=True, *, fps: float | None = None,
                          video_fps: float | None = None) -> list[int]:
    """InternVL's video sampling (``InternVLVideoProcessor.sample_frames``): ``count`` frames (or
    ``int(total / video_fps · fps)``) every ``total / count``, starting half a step in by default.

    Every frame with neither count nor fps; more frames than the clip has raises ``ValueError``.

    >>> shifted_frame_indices(132, 8)
    [8, 24, 41, 57, 74, 90, 107, 123]
    """
    if total < 1:
        raise ValueError("video has no frames")
    count = count or frames_for_fps(total, fps, video_fps)
    if not count:
        return list(range(total))
    _check_count(total, count)
    import torch

    step = total / count
    shift = step / 2 if initial_shift is True else float(initial_shift or 0)
    return torch.arange(shift, total, step).int().tolist()  # torch's float arange, as the processor computes it


def smolvlm_frame_indices(total: int, count: int, fps: float, source_fps: float, skip_secs: float = 1) -> list[int]:
    """SmolVLM's video sampling: ``min(count, round(fps · duration))`` frames spread evenly, skipping ``skip_secs``
    at both ends of long videos. ``source_fps`` is the video's own frame rate (duration = total / source_fps)."""
    if total < 1:
        raise ValueError("video has no frames")
    duration = total / source_fps
    desired = max(1, min(int(round(fps * duration)), count))
    start, end = 0, total - 1
    if skip_secs > 0 and (duration - 2 * skip_secs) > (count * fps):
        start, end = int(skip_secs * source_fps), int(total - skip_secs * source_fps)
    start, end = max(0, start), min(end, total - 1)
    if start >= end:
        start, end = 0, total - 1
    return np.unique(np.linspace(start, end, desired, dtype=int)).tolist()


def processor_output_size(size: dict, height: int, width: int) -> tuple[int, int]:
    """(h, w) that a transformers processor's ``size`` setting gives a ``height × width`` frame.

    Handles ``{"height", "width"}`` (fixed) and ``{"shortest_edge"}`` (aspect-preserving, shorter side to the value).
    """
    if size.get("height") and size.get("width"):
        return int(size["height"]), int(size["width"])
    if size.get("shortest_edge") and not size.get("longest_edge"):
        short, long = (height, width) if height <= width else (width, height)
        new_short, new_long = int(size["shortest_edge"]), int(int(size["shortest_edge"]) * long / short)
        return (new_short, new_long) if height <= width else (new_long, new_short)
    raise ValueError(f"unsupported processor size setting {size}; expected height/width or shortest_edge")


def longest_edge_size(height: int, width: int, longest: int, *, cap: int = 4096) -> tuple[int, int]:
    """SmolVLM / Idefics3 rule: longest side to ``longest`` (at most ``cap``), the other side by the aspect ratio,
    rounded up to an even number."""
    longest = min(cap, longest)
    aspect = width / height
    if width >= height:
        width, height = longest, int(longest / aspect)
        height += height % 2
    else:
        height, width = longest, int(longest * aspect)
        width += width % 2
    return max(height, 1), max(width, 1)


def rescale_and_normalize(frames, settings: dict, mean=OPENAI_CLIP_MEAN, std=OPENAI_CLIP_STD):
    """The processor's fused rescale + normalise for frames given in [0, 1] (i.e. uint8 / 255).

    ``settings`` is the processor config: ``do_rescale``/``rescale_factor`` (default 1/255, a no-op here) and
    ``do_normalize``/``image_mean``/``image_std`` (defaults ``mean``/``std``).
    """
    scale = 255.0 * float(settings.get("rescale_factor", 1 / 255)) if settings.get("do_rescale", True) else 255.0
    if not math.isclose(scale, 1.0, rel_tol=1e-9):
        frames = frames * scale
    if settings.get("do_normalize", True):
        frames = normalize(frames, settings.get("image_mean") or mean, settings.get("image_std") or std)
    return frames
