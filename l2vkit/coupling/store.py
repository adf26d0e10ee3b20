"""Coupling data on disk: a folder of safetensors shards read row by row, so that training never holds it in RAM.

``build_coupling_data(..., out=FOLDER)`` writes one shard per batch of videos (``part-00000.safetensors`` …, each
written atomically, with the random state after it) and ``coupling_data.json`` (format, meta, captions, shard list);
a rerun with the same arguments resumes after the last complete shard. :func:`~l2vkit.coupling.data.open_coupling_data` returns a
:class:`~l2vkit.coupling.data.CouplingData` whose large fields — latents x̂0, E_Ω(D_Ξ(x̂0)), π and z_Ω — are
:class:`ShardedRows`: indexing them reads only the rows asked for (safetensors slices of memory-mapped files). The
small fields (σ, video index, masks) are read into memory. At Wan2.1 latents of 33×480×832 a sample is ≈ 3.6 MiB of
latents plus 8 MiB of Qwen2.5-VL-3B tokens, so 12,000 samples are ≈ 140 GiB: a store, not a tensor.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

STORE_VERSION = 1
INDEX = "coupling_data.json"
#: Fields read lazily (per sample: latents, local_tokens; per video: embeds, targets); the rest is loaded.
LAZY_FIELDS = ("latents", "local_tokens", "embeds", "targets")
PER_VIDEO = ("embeds", "mask", "targets")


class ShardedRows:
    """A read-only (rows, …) tensor spread over shard files; ``rows[index]`` reads just those rows."""

    def __init__(self, files: list[Path], field: str, counts: list[int]):
        from safetensors import safe_open

        self.field = field
        self._handles = [safe_open(str(f), framework="pt") for f in files]
        self._slices = [h.get_slice(field) for h in self._handles]
        self._starts = np.cumsum([0] + list(counts))
        first = self._slices[0].get_shape() if self._slices else [0]
        self.shape = (int(self._starts[-1]), *first[1:])

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index):
        import torch

        if isinstance(index, int):
            return self[torch.tensor([index])][0]
        if isinstance(index, slice):
            index = torch.arange(len(self))[index]
        index = torch.as_tensor(index)
        if index.dtype == torch.bool:
            index = torch.nonzero(index).flatten()
        flat = index.flatten().tolist()
        if any(not -len(self) <= i < len(self) for i in flat):
            raise IndexError(f"{self.field}: index out of range for {len(self)} rows")
        rows = []
        for i in flat:
            i %= len(self)
            part = int(np.searchsorted(self._starts, i, side="right") - 1)
            local = i - int(self._starts[part])
            rows.append(self._slices[part][local:local + 1])
        out = torch.cat(rows) if rows else torch.empty(0, *self.shape[1:])
        return out.reshape(*index.shape, *self.shape[1:])

    def chunks(self):
        """The rows shard by shard (each a tensor), e.g. for running statistics."""
        for part in self._slices:
            yield part[:]


def read_store(folder) -> dict:
    """The fields, captions and meta of a store written by ``build_coupling_data(..., out=folder)`` (the large
    fields as :class:`ShardedRows`); :func:`l2vkit.coupling.open_coupling_data` makes them a ``CouplingData``."""
    import torch

    from ..io import read_json

    folder = Path(folder)
    if not (folder / INDEX).is_file():
        raise FileNotFoundError(f"{folder}: no {INDEX}; write one with build_coupling_data(..., out='{folder}')")
    index = read_json(folder / INDEX)
    if index.get("store_version") != STORE_VERSION:
        raise ValueError(f"{folder}: coupling data store version {index.get('store_version')}, this l2vkit reads "
                         f"{STORE_VERSION}; rebuild it")
    if not index.get("complete"):
        raise ValueError(f"{folder}: the store is incomplete ({len(index['shards'])} shards); rerun "
                         "build_coupling_data with the same arguments to finish it")
    files = [folder / s["file"] for s in index["shards"]]
    fields = {}
    for name in LAZY_FIELDS:
        counts = [s["videos" if name in PER_VIDEO else "samples"] for s in index["shards"]]
        fields[name] = ShardedRows(files, name, counts)
    from safetensors.torch import load_file

    small = {"sigmas": [], "video_index": [], "mask": []}
    for f in files:
        tensors = load_file(str(f))
        for name in small:
            small[name].append(tensors[name])
    fields.update({name: torch.cat(parts) for name, parts in small.items()})
    return {**fields, "captions": index["captions"], "meta": dict(index["meta"], store=str(folder))}


class StoreWriter:
    """Writes the shards of ``build_coupling_data(..., out=...)`` and resumes an interrupted build."""

    def __init__(self, folder, settings: dict):
        from ..io import read_json

        settings = json.loads(json.dumps(settings, default=str))  # as the JSON index will hold it
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.index = {"store_version": STORE_VERSION, "settings": settings, "shards": [], "complete": False}
        path = self.folder / INDEX
        if path.is_file():
            old = read_json(path)
            if old.get("settings") != settings:
                raise ValueError(f"{self.folder} holds coupling data built with other settings or models; pass "
                                 "another out= or delete the folder")
            self.index = old

    @property
    def done_videos(self) -> int:
        return sum(s["videos"] for s in self.index["shards"])

    def resume_state(self):
        """The random generator's state after the last complete shard (``None`` when starting)."""
        from safetensors import safe_open

        if not self.index["shards"]:
            return None
        with safe_open(str(self.folder / self.index["shards"][-1]["file"]), framework="pt") as f:
            return f.get_tensor("rng_state")

    def write(self, tensors: dict, rng_state) -> None:
        from ..io import save_safetensors, write_json

        name = f"part-{len(self.index['shards']):05d}.safetensors"
        save_safetensors(self.folder / name, {**tensors, "rng_state": rng_state})
        self.index["shards"].append({"file": name, "videos": int(tensors["targets"].shape[0]),
                                     "samples": int(tensors["latents"].shape[0])})
        write_json(self.folder / INDEX, self.index)  # after the shard: an interrupted build loses one batch at most

    def finish(self, captions: list, meta: dict) -> None:
        from ..io import write_json

        self.index.update(complete=True, captions=list(captions), meta=meta)
        write_json(self.folder / INDEX, self.index)


def token_statistics(targets) -> tuple:
    """Per-channel mean and (unbiased) std of z_Ω over videos and tokens, for a tensor or :class:`ShardedRows`."""
    import torch

    if isinstance(targets, torch.Tensor):
        return targets.mean((0, 1)), targets.std((0, 1))
    total = total_sq = None
    count = 0
    for chunk in targets.chunks():
        flat = chunk.double().reshape(-1, chunk.shape[-1])
        total = flat.sum(0) if total is None else total + flat.sum(0)
        total_sq = flat.square().sum(0) if total_sq is None else total_sq + flat.square().sum(0)
        count += flat.shape[0]
    mean = total / count
    var = (total_sq - count * mean.square()) / max(count - 1, 1)
    return mean.float(), var.clamp_min(0).sqrt().float()


__all__ = ["ShardedRows", "StoreWriter", "read_store", "token_statistics"]
