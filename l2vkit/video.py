"""Video files and display: mp4/gif writing, notebook grids, contact sheets (mediapy and matplotlib underneath)."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from .io import atomic_path

#: Toy videos are tiny; files and displays are enlarged by this factor (nearest neighbour, so pixels stay sharp).
DEFAULT_SCALE = 8
DEFAULT_FPS = 6
#: Containers ``read_video`` is used on for folders of clips (PyAV decodes whatever codec they hold: H.264, HEVC,
#: VP9, AV1, MPEG-4 Part 2, …).
VIDEO_SUFFIXES = (".mp4", ".webm", ".mkv", ".mov", ".avi")


def as_video_tensor(video, *, device=None, dtype=None):
    """(B, T, H, W, 3) float tensor in [0, 1] from a uint8/float array or tensor, (T, H, W, 3) or batched.

    Raises clear errors for empty videos, channels-first input and values outside [0, 1].
    """
    import torch

    if isinstance(video, np.ndarray):
        if video.dtype == np.uint8:
            video = torch.from_numpy(video.astype(np.float32) / 255.0)
        elif np.issubdtype(video.dtype, np.floating):
            video = torch.from_numpy(video.astype(np.float32))
        else:
            raise TypeError(f"video has dtype {video.dtype}; expected uint8 (0–255) or float (0–1)")
    elif isinstance(video, (list, tuple)):
        return torch.cat([as_video_tensor(v, device=device, dtype=dtype) for v in video])
    if not isinstance(video, torch.Tensor):
        raise TypeError(f"video must be a numpy array or torch tensor, got {type(video).__name__}")
    if video.dtype == torch.uint8:
        video = video.float() / 255.0
    elif not video.is_floating_point():  # the same rule as for numpy arrays: 0–255 integers are uint8 only
        raise TypeError(f"video has dtype {video.dtype}; expected uint8 (0–255) or float (0–1)")
    if video.ndim == 4:
        video = video.unsqueeze(0)
    if video.ndim != 5:
        raise ValueError(f"video has shape {tuple(video.shape)}; expected (T, H, W, 3) or (B, T, H, W, 3)")
    if video.shape[-1] != 3:
        hint = " (channels first? use video.permute(0, 2, 3, 1))" if video.shape[-3] == 3 or video.shape[2] == 3 else ""
        raise ValueError(f"video has shape {tuple(video.shape)}; the last axis must be 3 RGB channels{hint}")
    if video.shape[1] == 0 or video.shape[2] == 0 or video.shape[3] == 0:
        raise ValueError(f"video has shape {tuple(video.shape)}: it is empty")
    with torch.no_grad():
        if not torch.isfinite(video).all():
            raise ValueError("video contains NaN or infinite values")
        lo, hi = float(video.min()), float(video.max())
    if lo < -0.01 or hi > 1.01:
        raise ValueError(
            f"video values lie in [{lo:.3g}, {hi:.3g}]; expected floats in [0, 1] "
            "(divide 0–255 values by 255, or pass a uint8 array)"
        )
    return video.to(device=device, dtype=dtype or torch.float32)


def as_uint8_video(video, *, name: str = "video") -> np.ndarray:
    """Validate a (T, H, W, 3) video (uint8 or float in [0, 1]) and return uint8."""
    video = np.asarray(video)
    if video.ndim != 4 or video.shape[-1] != 3 or video.shape[0] < 1:
        raise ValueError(f"{name} has shape {video.shape}; expected (T, H, W, 3) RGB frames")
    if video.dtype == np.uint8:
        return video
    if np.issubdtype(video.dtype, np.floating):
        if not np.all(np.isfinite(video)):
            raise ValueError(f"{name} contains NaN or infinite values")
        return np.round(np.clip(video, 0.0, 1.0) * 255.0).astype(np.uint8)
    raise TypeError(f"{name} has dtype {video.dtype}; expected uint8 or float in [0, 1]")


def upscale(video, factor: int = DEFAULT_SCALE) -> np.ndarray:
    """Enlarge every frame ``factor`` times by pixel repetition."""
    video = as_uint8_video(video)
    return video.repeat(factor, axis=1).repeat(factor, axis=2) if factor > 1 else video


def side_by_side(videos: Sequence, *, gap: int = 1, gap_value: int = 255) -> np.ndarray:
    """Join equally long videos left to right, with a ``gap``-pixel white separator."""
    videos = [as_uint8_video(v, name=f"videos[{i}]") for i, v in enumerate(videos)]
    shapes = {v.shape for v in videos}
    if len(shapes) != 1:
        raise ValueError(f"side_by_side needs videos of one shape, got {sorted(shapes)}")
    t, h, _, _ = videos[0].shape
    separator = np.full((t, h, gap, 3), gap_value, dtype=np.uint8)
    parts = []
    for i, v in enumerate(videos):
        parts += [separator, v] if i else [v]
    return np.concatenate(parts, axis=2)


def ensure_ffmpeg() -> str:
    """Make sure mediapy can encode video: use the system ffmpeg, else the one imageio-ffmpeg ships."""
    import shutil

    import mediapy

    if mediapy.video_is_available():
        return shutil.which("ffmpeg") or "ffmpeg"
    try:
        import imageio_ffmpeg
    except ImportError:
        raise RuntimeError("no ffmpeg found: install it (apt install ffmpeg) or `pip install imageio-ffmpeg`") from None
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    mediapy.set_ffmpeg(exe)
    return exe


def write_video(path, video, *, fps: float = DEFAULT_FPS, scale: int = DEFAULT_SCALE) -> Path:
    """Write ``video`` to an .mp4 (H.264) or .gif file, enlarged ``scale`` times, atomically."""
    import mediapy

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".mp4", ".gif"):
        raise ValueError(f"{path}: choose an .mp4 or .gif file name")
    ensure_ffmpeg()
    frames = upscale(video, scale)
    codec = "gif" if suffix == ".gif" else "h264"
    with atomic_path(path) as tmp:
        mediapy.write_video(tmp, frames, fps=fps, codec=codec)
    return path


def read_video(path) -> np.ndarray:
    """Read a video file into a uint8 (T, H, W, 3) array (PyAV, no system ffmpeg needed)."""
    import av

    with av.open(str(path)) as container:
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    if not frames:
        raise ValueError(f"{path}: no video frames could be decoded")
    return np.stack(frames)


def video_fps(path) -> float | None:
    """The frame rate a video file declares (its stream's average rate), or ``None`` when it declares none."""
    import av

    with av.open(str(path)) as container:
        rate = container.streams.video[0].average_rate
    return float(rate) if rate else None


def conform_video(video, *, frames: int, height: int, width: int, fps: float | None = None,
                  target_fps: float | None = None, name: str = "video") -> np.ndarray:
    """A uint8 clip at a generator's size (``frames``, ``height``, ``width``, 3).

    Time: with both rates known, frame ``i`` is the clip's frame ``floor(i · fps / target_fps)`` (the clip's first
    ``frames / target_fps`` seconds at the generator's rate); otherwise its first ``frames`` frames. Frames are picked
    before any conversion. Space: resized (bilinear, antialiased) to cover ``height × width``, then centre-cropped.
    A clip too short raises ``ValueError`` naming both lengths.
    """
    import torch
    import torch.nn.functional as F

    video = np.asarray(video)
    if video.ndim != 4 or video.shape[-1] != 3:
        raise ValueError(f"{name} has shape {video.shape}; expected (T, H, W, 3)")
    timed = bool(fps and target_fps)
    index = np.floor(np.arange(frames) * (fps / target_fps if timed else 1.0) + 1e-9).astype(int)
    if index[-1] >= len(video):
        have = f"{len(video)} frames" + (f" at {fps:g} fps ({len(video) / fps:.2f} s)" if fps else "")
        need = f"{frames} frames" + (f" at {target_fps:g} fps ({frames / target_fps:.2f} s)" if timed else "")
        raise ValueError(f"{name} has {have}, but the generator needs {need}; give a longer clip")
    clip = torch.from_numpy(np.ascontiguousarray(video[index])).permute(0, 3, 1, 2).float()
    h, w = clip.shape[-2:]
    scale = max(height / h, width / w)
    size = (max(height, round(h * scale)), max(width, round(w * scale)))
    if size != (h, w):
        clip = F.interpolate(clip, size=size, mode="bilinear", antialias=True, align_corners=False)
    top, left = (size[0] - height) // 2, (size[1] - width) // 2
    clip = clip[:, :, top:top + height, left:left + width]
    return clip.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def _named(videos) -> dict[str, np.ndarray]:
    if isinstance(videos, Mapping):
        return {str(k): as_uint8_video(v, name=str(k)) for k, v in videos.items()}
    return {f"video {i}": as_uint8_video(v, name=f"videos[{i}]") for i, v in enumerate(videos)}


def show_videos(videos, *, fps: float = DEFAULT_FPS, scale: int = DEFAULT_SCALE, columns: int | None = None, **kwargs):
    """Show a list or a ``{title: video}`` dict side by side in a notebook (mediapy)."""
    import mediapy

    named = _named(videos)
    ensure_ffmpeg()
    return mediapy.show_videos(
        {k: upscale(v, scale) for k, v in named.items()}, fps=fps, columns=columns, codec="gif", **kwargs
    )


def contact_sheet(videos, path=None, *, frames: Sequence[int] | None = None, scale: int = 4, title: str | None = None):
    """One row per video, one column per frame, titled; saved as PNG when ``path`` is given. Returns ``(fig, axes)``."""
    from .figures import new_figure

    named = _named(videos)
    count = min(v.shape[0] for v in named.values())
    frames = list(range(count)) if frames is None else list(frames)
    height, width = next(iter(named.values())).shape[1:3]
    fig, axes = new_figure(len(named), len(frames), cell=0.3 * scale, aspect=width / height)
    long_names = max(len(name) for name in named) > 24
    for r, (name, video) in enumerate(named.items()):
        for c, k in enumerate(frames):
            ax = axes[r][c]
            ax.imshow(video[k], interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == len(named) - 1:
                ax.set_xlabel(f"t={k}", fontsize=8)
        if long_names:  # a caption as the row's heading, spanning the row, instead of squeezing the images
            heading = axes[r][0].text(0.0, 1.04, name, transform=axes[r][0].transAxes, fontsize=8, ha="left",
                                      va="bottom")
            heading.set_in_layout(False)
        else:
            axes[r][0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
    if long_names:  # room above each row for its heading, and width for the longest one
        fig.get_layout_engine().set(h_pad=0.25, w_pad=0.02)
        width, height = fig.get_size_inches()
        fig.set_size_inches(max(width, 0.07 * max(len(n) for n in named) + 0.3), height + 0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    if path is not None:
        save_figure(fig, path)
    return fig, axes


def save_figure(fig, path) -> Path:
    """Save a matplotlib figure atomically (format from the suffix)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format=path.suffix.lstrip(".") or "png")
    return path
