"""Extraction at scale: z_Ω, pooled embeddings and candidate-word probabilities for many videos, cached on disk.

The cache is a folder of safetensors shards plus JSON indexes. A *space* (a sub-folder) is keyed by everything
that changes the numbers — model id, revision, preprocessing settings, prompt and candidates, format version —
and inside it each video is keyed by a hash of its pixels, so a second run (or a run over a superset of videos)
only computes what is missing.

Several GPUs: run the same script under ``accelerate launch --num_processes N script.py`` or ``torchrun
--nproc_per_node N script.py``; nothing else changes. Each process computes every N-th video (rank and world size from
the launcher, :mod:`l2vkit.distributed`) and writes its own index; then every process holds every result, and any
later run reads all the indexes.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from ..io import atomic_path, read_json, write_json

if TYPE_CHECKING:
    import torch

FORMAT_VERSION = 1


def video_hash(video) -> str:
    """sha256 of a video's pixels, shape and dtype; the array's buffer is hashed without a copy."""
    array = np.ascontiguousarray(video)
    digest = hashlib.sha256(f"{array.shape}{array.dtype}".encode())
    digest.update(array)
    return digest.hexdigest()[:32]


def space_key(vlm, prompt: str | None, candidates: Sequence[str] | None) -> dict:
    from ..provenance import weights_fingerprint

    return {
        "format_version": FORMAT_VERSION,
        "model_id": str(vlm.model_id),
        "revision": vlm.revision,
        "weights": weights_fingerprint(vlm.model_id),
        "family": vlm.family,
        "dtype": str(vlm.dtype),
        "preprocess": vlm.preprocess,
        "prompt": prompt,
        "candidates": list(candidates) if candidates else None,
    }


@dataclasses.dataclass
class Extraction:
    """Stacked results in input order: ``visual_tokens`` (V, N, D), ``pooled`` (V, D) and, with candidates,
    ``candidate_probs`` (V, K); plus how many videos came from the cache."""

    visual_tokens: "torch.Tensor"
    pooled: "torch.Tensor"
    candidate_probs: "object | None"
    cached: int
    computed: int
    cache_dir: Path | None


def _space_dir(cache_dir: Path, key: dict) -> Path:
    name = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]
    folder = cache_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "space.json").exists():
        write_json(folder / "space.json", key)
    return folder


def _read_indexes(folder: Path) -> dict[str, list]:
    index: dict[str, list] = {}
    for path in sorted(folder.glob("index-*.json")):
        index.update(read_json(path))
    return index


def extract(vlm, videos: Sequence, *, cache_dir=None, batch_size: int = 8, prompt: str | None = None,
            candidates: Sequence[str] | None = None, shard: tuple[int, int] | None = None, progress: bool = True):
    """Visual tokens z_Ω, mean-pooled embeddings and (with ``prompt`` and ``candidates``) candidate-word
    probabilities for every video, batched, with a progress bar, read from / written to ``cache_dir``.

    Under a launcher (``torchrun``, ``accelerate launch``) each process computes videos ``i % world == rank`` and
    the results are gathered, so every process returns every video (``computed`` counts this process's own).
    ``shard=(rank, world)`` instead computes and returns that shard only, without talking to other processes.
    """
    import torch
    from safetensors.torch import load_file, save_file
    from tqdm.auto import tqdm

    from ..distributed import gather, world as launcher_world

    gathered = shard is None
    rank, world = launcher_world() if shard is None else shard
    if not 0 <= rank < world:
        raise ValueError(f"shard={shard}: need 0 ≤ rank < world")
    if (prompt is None) != (candidates is None):
        raise ValueError("give prompt and candidates together (or neither)")
    chosen = [i for i in range(len(videos)) if i % world == rank]
    hashes = {i: video_hash(videos[i]) for i in chosen}
    folder = _space_dir(Path(cache_dir), space_key(vlm, prompt, candidates)) if cache_dir else None
    index = _read_indexes(folder) if folder else {}
    results: dict[str, dict] = {}
    missing = [i for i in chosen if hashes[i] not in index]
    # Read what the cache has, one shard file at a time.
    by_shard: dict[str, list] = {}
    for i in chosen:
        if hashes[i] in index:
            by_shard.setdefault(index[hashes[i]][0], []).append(hashes[i])
    for shard_name, wanted in by_shard.items():
        tensors = load_file(folder / shard_name)
        for h in wanted:
            row = index[h][1]
            results[h] = {k: v[row] for k, v in tensors.items()}
    # Compute the rest.
    own_index_path = folder / f"index-{rank}.json" if folder else None
    own_index = read_json(own_index_path) if own_index_path and own_index_path.exists() else {}
    batches = [missing[s:s + batch_size] for s in range(0, len(missing), batch_size)]
    for number, batch in enumerate(tqdm(batches, desc=f"extracting ({vlm.model_id})", disable=not progress)):
        with torch.no_grad():
            z = vlm.visual_tokens(np.stack([np.asarray(videos[i]) for i in batch]))
            out = {"visual_tokens": z.float().cpu(), "pooled": z.float().mean(dim=1).cpu()}
            if prompt is not None:
                out["candidate_probs"] = vlm.token_probs(z, prompt, candidates).candidates.float().cpu()
        for row, i in enumerate(batch):
            results[hashes[i]] = {k: v[row] for k, v in out.items()}
        if folder:
            shard_name = f"shard-{rank}-{len(own_index)}-{number}.safetensors"
            with atomic_path(folder / shard_name) as tmp:
                save_file({k: v.contiguous() for k, v in out.items()}, str(tmp))
            own_index.update({hashes[i]: [shard_name, row] for row, i in enumerate(batch)})
            write_json(own_index_path, own_index)  # after the shard: an interrupted run loses one batch at most
    computed, cached = len(missing), len(chosen) - len(missing)  # this process's own
    rows = [results[hashes[i]] for i in chosen]
    if gathered and world > 1:  # every process gets every video's result, by index (no hashing of others' videos)
        by_index = {}
        for part in gather(dict(zip(chosen, rows))):
            by_index.update(part)
        rows = [by_index[i] for i in range(len(videos))]
    stacked = {k: torch.stack([row[k] for row in rows]) if rows else None
               for k in ("visual_tokens", "pooled", "candidate_probs") if not rows or k in rows[0]}
    return Extraction(visual_tokens=stacked.get("visual_tokens"), pooled=stacked.get("pooled"),
                      candidate_probs=stacked.get("candidate_probs"), cached=cached, computed=computed,
                      cache_dir=folder)
