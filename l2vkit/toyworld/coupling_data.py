"""Coupling data from the toy world: x̂0 at random σ of seeded toy videos, with their condition and the VLM's tokens;
cached as safetensors so that a rerun only fits."""
from __future__ import annotations

from pathlib import Path

EVAL_LEVELS = (0.0, 0.25, 0.5, 0.75)
EVAL_OFFSET = 1_000_000  # the held-out toy videos (never drawn by training's rng)


def toy_coupling_data(vlm, generator, count: int, *, seed: int = 0, offset: int | None = None, **kwargs):
    """Coupling pairs from ``count`` random toy videos (``offset`` set: the fixed held-out set from that offset)."""
    import numpy as np

    from ..coupling import build_coupling_data
    from .attributes import caption
    from .vlm_data import held_out, random_batch

    if offset is None:
        attrs, videos = random_batch(np.random.default_rng(seed), count)
    else:
        attrs, videos = held_out(count, offset=offset)
    data = build_coupling_data(vlm, generator, videos, [caption(a) for a in attrs], seed=seed, **kwargs)
    data.meta["toy"] = {"count": count, "offset": offset}
    return data


def cached_data(vlm, generator, count: int, *, seed: int, cache: Path, held_out: bool = False, progress=True):
    """Toy coupling data for ``count`` videos, built once and cached as safetensors."""
    from ..coupling import CouplingData
    from ..provenance import generator_identity, vlm_identity

    kind = "eval" if held_out else "train"
    path = Path(cache) / f"toy_coupling_{kind}_{count}_seed{seed}.safetensors"
    if path.exists():
        data = CouplingData.load(path)
        if data.meta.get("vlm") == vlm_identity(vlm) and data.meta.get("generator") == generator_identity(generator):
            return data  # built by these very models (a retrained model changes the weights fingerprint)
    if held_out:
        data = toy_coupling_data(vlm, generator, count, seed=seed, offset=EVAL_OFFSET, levels=EVAL_LEVELS,
                                 progress=progress)
    else:
        data = toy_coupling_data(vlm, generator, count, seed=seed, progress=progress)
    data.save(path)
    return data
