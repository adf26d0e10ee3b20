"""Video feature extractors and per-video metrics: an LPIPS-style perceptual distance and temporal consistency.

A *feature extractor* is any callable ``videos -> (V, D)`` array; the metrics never care where features come from:

- :func:`vlm_pooled_features` — the VLM's visual tokens z_Ω mean-pooled over tokens (the offline default: it is how
  the judge itself sees a video; identical to the ``pooled`` of :func:`l2vkit.vlm.extract.extract`);
- :func:`pixel_features` — block-averaged pixels, model-free (tests, sanity checks);
- your own (I3D for a paper-comparable FVD, a CLIP image tower averaged over frames, …).

Videos are ``(V, T, H, W, 3)`` arrays (or lists of ``(T, H, W, 3)``), uint8 0–255 or float 0–1.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np


def as_video_batch(videos, *, name: str = "videos") -> np.ndarray:
    """``videos`` as float64 ``(V, T, H, W, 3)`` in [0, 1]; one ``(T, H, W, 3)`` video becomes a batch of one."""
    if isinstance(videos, (list, tuple)):
        if not videos:
            raise ValueError(f"{name} is empty")
        shapes = {np.shape(v) for v in videos}
        if len(shapes) != 1:
            raise ValueError(f"{name} have different shapes {sorted(shapes)}; resize them to one shape first")
        videos = np.stack([np.asarray(v) for v in videos])
    if hasattr(videos, "detach"):  # a tensor keeps its dtype, so integer tensors are refused as integer arrays are
        videos = videos.detach().cpu()
        videos = videos.float().numpy() if videos.is_floating_point() else videos.numpy()
    videos = np.asarray(videos)
    if videos.ndim == 4:
        videos = videos[None]
    if videos.ndim != 5 or videos.shape[-1] != 3:
        raise ValueError(f"{name} has shape {videos.shape}; expected (V, T, H, W, 3) or (T, H, W, 3) RGB frames")
    if videos.shape[0] == 0 or videos.shape[1] == 0:
        raise ValueError(f"{name} has shape {videos.shape}; it is empty")
    if videos.dtype == np.uint8:
        return videos.astype(np.float64) / 255.0
    if not np.issubdtype(videos.dtype, np.floating):
        raise TypeError(f"{name} has dtype {videos.dtype}; expected uint8 (0–255) or float (0–1)")
    if not np.all(np.isfinite(videos)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return np.clip(videos.astype(np.float64), 0.0, 1.0)


def _block_mean(frames: np.ndarray, size: int) -> np.ndarray:
    """Average ``(..., H, W, C)`` frames down to ``(..., size, size, C)``; rows and columns past the last whole
    block are dropped."""
    *lead, h, w, c = frames.shape
    if size < 1 or size > min(h, w):
        raise ValueError(f"cannot block-average {h}×{w} frames to {size}×{size}")
    bh, bw = h // size, w // size
    frames = frames[..., : bh * size, : bw * size, :]
    return frames.reshape(*lead, size, bh, size, bw, c).mean(axis=(-4, -2))


def pixel_features(videos, *, size: int = 4) -> np.ndarray:
    """Model-free features: every frame block-averaged to ``size × size`` and flattened, ``(V, T·size²·3)``.

    A baseline that sees colour layout and motion coarsely; use it in tests or as a sanity check, not to report.

    >>> pixel_features(np.zeros((2, 3, 8, 8, 3)), size=2).shape
    (2, 36)
    """
    v = as_video_batch(videos)
    return _block_mean(v, size).reshape(v.shape[0], -1)


def pixel_frame_features(frames, *, size: int = 8) -> np.ndarray:
    """Per-frame model-free features for :func:`temporal_consistency`: ``(N, H, W, 3)`` frames → ``(N, size²·3)``,
    block-averaged and centred on mid-grey (so the cosine between frames sees content, not overall brightness)."""
    frames = np.asarray(frames, dtype=np.float64)
    return (_block_mean(frames, size) - 0.5).reshape(frames.shape[0], -1)


def vlm_pooled_features(vlm, *, batch_size: int = 8, cache_dir=None) -> Callable[[Sequence], np.ndarray]:
    """A feature extractor ``videos -> (V, D)``: the VLM's visual tokens z_Ω averaged over tokens.

    The pooling is the one :func:`l2vkit.vlm.extract.extract` uses (and runs through it, so ``cache_dir`` gives
    the same on-disk cache). D is the VLM's hidden size (128 for the toy VLM).

    Examples
    --------
    >>> from l2vkit import toyworld as tw                                   # doctest: +SKIP
    >>> extractor = vlm_pooled_features(tw.load_vlm())                      # doctest: +SKIP
    >>> extractor(videos).shape                                             # doctest: +SKIP
    (16, 128)
    """
    from ..vlm.extract import extract

    def extractor(videos) -> np.ndarray:
        batch = np.asarray(videos) if not isinstance(videos, (list, tuple)) else videos
        if getattr(batch, "ndim", None) == 4:  # one video
            batch = batch[None]
        result = extract(vlm, batch, cache_dir=cache_dir, batch_size=batch_size, progress=False)
        return result.pooled.double().numpy()

    from ..provenance import canonical_model_id

    extractor.model_id = canonical_model_id(vlm.model_id)
    extractor.__name__ = f"vlm_pooled_features({extractor.model_id})"
    return extractor


# ------------------------------------------------------------------------------------------- perceptual distance
def pyramid_features(frames) -> list[np.ndarray]:
    """A fixed, training-free "feature net" for :func:`perceptual_distance`: at three scales (full, ½, ¼) the
    centred colour and the horizontal and vertical luminance gradients, as channels-last maps ``(N, h, w, 5)``.

    A stand-in for the VGG/AlexNet taps of LPIPS that needs no weights; plug in a real network for reportable numbers.
    """
    frames = np.asarray(frames, dtype=np.float64)
    layers = []
    x = frames
    for _ in range(3):
        lum = x @ np.array([0.299, 0.587, 0.114])
        gx = np.zeros_like(lum)
        gy = np.zeros_like(lum)
        gx[..., :, 1:-1] = (lum[..., :, 2:] - lum[..., :, :-2]) / 2
        gy[..., 1:-1, :] = (lum[..., 2:, :] - lum[..., :-2, :]) / 2
        layers.append(np.concatenate([x - 0.5, gx[..., None], gy[..., None]], axis=-1))
        h, w = x.shape[-3:-1]
        if h % 2 or w % 2 or min(h, w) < 4:
            break
        x = x.reshape(*x.shape[:-3], h // 2, 2, w // 2, 2, 3).mean(axis=(-4, -2))
    return layers


def _as_channels_last(layer, n: int, index: int) -> np.ndarray:
    if hasattr(layer, "detach"):
        layer = layer.detach().float().cpu().numpy()
    layer = np.asarray(layer, dtype=np.float64)
    if layer.ndim != 4 or layer.shape[0] != n:
        raise ValueError(f"feature_net layer {index} has shape {layer.shape}; expected ({n}, h, w, C) channels last")
    return layer


def perceptual_distance(videos_a, videos_b, *, feature_net: Callable | None = None,
                        layer_weights: Sequence | None = None, batch_frames: int = 256) -> np.ndarray:
    r"""LPIPS-style distance between paired videos, averaged over frames: ``(V,)`` values ≥ 0, 0 for identical pairs.

    For frame pairs (x, y) and each layer l of ``feature_net``: features are unit-normalised along channels,
    ``d_l = mean_{h,w} Σ_c w_{l,c} (x̂ − ŷ)²``; the distance is Σ_l d_l (Zhang et al., 2018), averaged over frames.

    Parameters
    ----------
    videos_a, videos_b : array_like, shape (V, T, H, W, 3) (or one (T, H, W, 3) video)
        Paired videos of one shape (e.g. source and steered renders from the same seed).
    feature_net : callable, optional
        ``frames (N, H, W, 3) float in [0, 1] -> list of (N, h, w, C)`` channels-last maps (numpy or torch).
        Default :func:`pyramid_features` (training-free). For LPIPS proper wrap VGG/AlexNet taps, e.g.
        ``lambda f: [t.permute(0, 2, 3, 1) for t in taps(torch.from_numpy(f).permute(0, 3, 1, 2).float())]``.
    layer_weights : sequence, optional
        Per layer, a scalar or a ``(C,)`` vector w_l (LPIPS's learned linear heads); default 1.

    Returns
    -------
    numpy.ndarray, shape (V,)
        The distance of each pair.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> a = rng.random((2, 3, 8, 8, 3))
    >>> perceptual_distance(a, a).tolist()
    [0.0, 0.0]
    >>> bool((perceptual_distance(a, a[::-1]) > 0).all())
    True
    """
    a = as_video_batch(videos_a, name="videos_a")
    b = as_video_batch(videos_b, name="videos_b")
    if a.shape != b.shape:
        raise ValueError(f"videos_a has shape {a.shape} but videos_b has {b.shape}; perceptual distance pairs "
                         "frames, so give videos of one shape")
    net = feature_net or pyramid_features
    v, t = a.shape[:2]
    fa, fb = a.reshape(v * t, *a.shape[2:]), b.reshape(v * t, *b.shape[2:])
    per_frame = np.zeros(v * t)
    for start in range(0, v * t, batch_frames):
        stop = min(start + batch_frames, v * t)
        layers_a, layers_b = net(fa[start:stop]), net(fb[start:stop])
        if len(layers_a) != len(layers_b) or not layers_a:
            raise ValueError("feature_net returned no layers (or different numbers of layers for two inputs)")
        if layer_weights is not None and len(layer_weights) != len(layers_a):
            raise ValueError(f"layer_weights has {len(layer_weights)} entries for {len(layers_a)} layers")
        for i, (la, lb) in enumerate(zip(layers_a, layers_b)):
            la = _as_channels_last(la, stop - start, i)
            lb = _as_channels_last(lb, stop - start, i)
            na = la / (np.sqrt((la * la).sum(-1, keepdims=True)) + 1e-10)
            nb = lb / (np.sqrt((lb * lb).sum(-1, keepdims=True)) + 1e-10)
            w = 1.0 if layer_weights is None else np.asarray(layer_weights[i], dtype=np.float64)
            per_frame[start:stop] += (((na - nb) ** 2) * w).sum(-1).mean(axis=(1, 2))
    return per_frame.reshape(v, t).mean(axis=1)


# ------------------------------------------------------------------------------------------ temporal consistency
def temporal_consistency(videos, *, frame_features: Callable | None = None) -> np.ndarray:
    """Mean cosine similarity between consecutive frames' features, per video: ``(V,)`` in [−1, 1].

    The CLIP-based temporal consistency of text-to-video papers, with any per-frame feature callable
    ``frames (N, H, W, 3) -> (N, D)``; default :func:`pixel_frame_features`. A static video scores 1.

    >>> static = np.repeat(np.random.default_rng(0).random((1, 1, 8, 8, 3)), 5, axis=1)
    >>> temporal_consistency(static).round(6).tolist()
    [1.0]
    """
    v = as_video_batch(videos)
    n, t = v.shape[:2]
    if t < 2:
        raise ValueError(f"videos have {t} frame; temporal consistency needs at least 2")
    net = frame_features or pixel_frame_features
    feats = net(v.reshape(n * t, *v.shape[2:]))
    if hasattr(feats, "detach"):
        feats = feats.detach().float().cpu().numpy()
    feats = np.asarray(feats, dtype=np.float64).reshape(n, t, -1)
    norms = np.linalg.norm(feats, axis=-1)
    dots = (feats[:, 1:] * feats[:, :-1]).sum(-1)
    denom = norms[:, 1:] * norms[:, :-1]
    # Two all-zero frames in a row are identical: similarity 1.
    cos = np.where(denom > 0, dots / np.where(denom > 0, denom, 1.0), np.where(norms[:, 1:] == norms[:, :-1], 1.0, 0.0))
    return cos.mean(axis=1)
