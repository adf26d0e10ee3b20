"""Training pairs for Φ: generator latents at several noise levels (as flow-matching x̂0 estimates) with their
condition π_Ξ, and the VLM's visual tokens of the same video.

For a video V with caption c: z0 = E_Ξ(V), π = encode_prompt(c), target z_Ω = E_Ω(D_Ξ(z0)) (what the VLM sees in
the decoded video; ``target="video"`` uses E_Ω(V) instead). For each noise level σ: z_t = (1 − σ) z0 + σ ε,
x̂0 = z_t − σ G(z_t, π, t(σ)) and the local branch's input E_Ω(D_Ξ(x̂0)). Φ learns to read x̂0 — what a sampler holds
mid-trajectory — for what the finished video will show.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from ..provenance import generator_identity, vlm_identity

if TYPE_CHECKING:
    import torch

FORMAT_VERSION = 1
_FIELDS = ("latents", "sigmas", "video_index", "embeds", "mask", "local_tokens", "targets")
#: The fields that hold values (checked to be finite).
_VALUED = ("latents", "sigmas", "embeds", "local_tokens", "targets")


@dataclasses.dataclass
class CouplingData:
    """M samples from V videos. Per sample: ``latents`` x̂0 (M, C, F, h, w), ``sigmas`` (M,), ``video_index`` (M,),
    ``local_tokens`` E_Ω(D_Ξ(x̂0)) (M, N, D). Per video: ``embeds`` π (V, L, E), ``mask`` (V, L), ``targets`` z_Ω
    (V, N, D), ``captions``. ``meta``: model ids, seeds, settings."""

    latents: "torch.Tensor"
    sigmas: "torch.Tensor"
    video_index: "torch.Tensor"
    embeds: "torch.Tensor"
    mask: "torch.Tensor | None"
    local_tokens: "torch.Tensor"
    targets: "torch.Tensor"
    captions: list
    meta: dict

    def __post_init__(self):
        self.validate()

    def __len__(self) -> int:
        return int(self.latents.shape[0])

    @property
    def videos(self) -> int:
        return int(self.targets.shape[0])

    def validate(self) -> None:
        m, v = self.latents.shape[0], self.targets.shape[0]
        for name, size in (("sigmas", m), ("video_index", m), ("local_tokens", m), ("embeds", v), ("mask", v)):
            if getattr(self, name).shape[0] != size:
                raise ValueError(f"coupling data: {name} has {getattr(self, name).shape[0]} rows, expected {size}")
        if len(self.captions) != v:
            raise ValueError(f"coupling data: {len(self.captions)} captions for {v} videos")
        if m and (int(self.video_index.min()) < 0 or int(self.video_index.max()) >= v):
            raise ValueError("coupling data: video_index points outside the videos")
        _check_finite({name: getattr(self, name) for name in _VALUED})

    def subset(self, videos: Sequence[int]) -> "CouplingData":
        """The samples of the given videos (re-indexed)."""
        import torch

        videos = torch.as_tensor(list(videos), dtype=torch.long)
        remap = torch.full((self.videos,), -1, dtype=torch.long)
        remap[videos] = torch.arange(len(videos))
        keep = remap[self.video_index] >= 0
        return CouplingData(self.latents[keep], self.sigmas[keep], remap[self.video_index[keep]], self.embeds[videos],
                            self.mask[videos], self.local_tokens[keep], self.targets[videos],
                            [self.captions[i] for i in videos.tolist()], dict(self.meta))

    def save(self, path) -> Path:
        """One safetensors file (tensors + JSON metadata), written atomically."""
        import json

        from ..io import save_safetensors

        tensors = {name: _in_memory(getattr(self, name)) for name in _FIELDS}
        meta = {"format_version": FORMAT_VERSION, "captions": self.captions, **self.meta}
        return save_safetensors(path, tensors, {"l2vkit_coupling_data": json.dumps(meta)})

    @classmethod
    def load(cls, path) -> "CouplingData":
        import json

        from ..io import load_safetensors

        tensors, metadata = load_safetensors(path, "coupling data")
        if "l2vkit_coupling_data" not in metadata:
            raise ValueError(f"{path} is a safetensors file but not l2vkit coupling data")
        meta = json.loads(metadata["l2vkit_coupling_data"])
        captions = meta.pop("captions")
        return cls(**{name: tensors[name] for name in _FIELDS}, captions=captions, meta=meta)


def build_coupling_data(vlm, generator, videos, captions: Sequence[str], *, sigmas_per_video: int = 3,
                        max_sigma: float = 0.9, include_clean: bool = True, levels: Sequence[float] | None = None,
                        target: str = "decoded", seed: int = 0, batch: int = 32, progress: bool = True,
                        out=None) -> CouplingData:
    """Coupling pairs from videos (uint8 (V, T, H, W, 3) at the generator's size) and their captions.

    Each video gives ``sigmas_per_video`` samples at σ ~ U(0, ``max_sigma``) (plus σ = 0 with ``include_clean``),
    drawn from a CPU generator seeded by ``seed``; noise ε is drawn the same way. ``levels`` instead gives fixed
    σ values used for every video (evaluation sets). See the module docstring for what each sample holds.

    Parameters
    ----------
    vlm : VideoVLM
        The VLM Ω whose visual tokens are the targets z_Ω and the local branch's input.
    generator : VideoGenerator
        The generator Ξ: its E_Ξ, D_Ξ, π_Ξ and velocity G give the latents x̂0 and their condition.
    videos : array_like
        uint8 (V, T, H, W, 3) videos at the generator's size.
    captions : sequence of str
        One caption per video.
    sigmas_per_video : int
        Random noise levels σ ~ U(0, ``max_sigma``) per video.
    max_sigma : float
        Upper end of the random σ; 0 < ``max_sigma`` ≤ 1.
    include_clean : bool
        Also take σ = 0 (the clean latent z0 itself) for every video.
    levels : sequence of float, optional
        Fixed σ values in [0, 1] used for every video (evaluation sets), instead of the random ones and of
        ``include_clean``'s σ = 0.
    target : str
        ``"decoded"`` (default): z_Ω = E_Ω(D_Ξ(E_Ξ(V))), what the VLM sees in the decoded video; ``"video"``:
        E_Ω(V).
    seed : int
        Seed of the CPU generator that draws the σ and the noise ε.
    batch : int
        Videos encoded per batch.
    progress : bool
        Show a progress bar.
    out : str or pathlib.Path, optional
        A folder to write the data to, shard by shard (:mod:`l2vkit.coupling.store`), instead of keeping it in
        memory; the returned data then reads its large fields from there. A rerun with the same arguments resumes
        after the last complete shard.

    Returns
    -------
    CouplingData
        M samples from the V videos (``sigmas_per_video`` + 1 per video with ``include_clean``, else
        ``sigmas_per_video``; ``len(levels)`` with ``levels``), with ``meta`` recording the models' identities, the
        seed and these settings.

    Raises
    ------
    ValueError
        For an unknown ``target``, videos not shaped (V, T, H, W, 3), a caption count other than V, or ``max_sigma``
        / ``levels`` out of range.
    """
    import torch
    from tqdm.auto import tqdm

    if target not in ("decoded", "video"):
        raise ValueError(f"target={target!r}; choose 'decoded' (E_Ω(D_Ξ(E_Ξ(V)))) or 'video' (E_Ω(V))")
    videos = np.asarray(videos)
    if videos.ndim != 5 or videos.shape[-1] != 3:
        raise ValueError(f"videos have shape {videos.shape}; expected uint8 (V, T, H, W, 3)")
    if len(captions) != len(videos):
        raise ValueError(f"{len(captions)} captions for {len(videos)} videos")
    if not 0 < max_sigma <= 1:
        raise ValueError(f"max_sigma={max_sigma}; expected 0 < max_sigma ≤ 1")
    if levels is not None and (len(levels) == 0 or any(not 0 <= s <= 1 for s in levels)):
        raise ValueError(f"levels={list(levels)}; expected noise levels σ in [0, 1]")
    if getattr(vlm, "video_fps", None) is None and getattr(generator, "fps", None):
        vlm.video_fps = generator.fps  # the VLM reads the generator's clips, made at the generator's frame rate
    rng = torch.Generator().manual_seed(int(seed))
    settings = {"vlm": vlm_identity(vlm), "generator": generator_identity(generator), "seed": int(seed),
                "sigmas_per_video": sigmas_per_video, "max_sigma": max_sigma, "include_clean": include_clean,
                "levels": None if levels is None else [float(x) for x in levels], "target": target}
    from ..distributed import barrier, gather, is_main, world

    rank, processes = world()  # several processes (torchrun, accelerate launch): batch b is process b % N's
    writer, first, state = None, 0, None
    if out is not None and is_main():
        from ..vlm.extract import video_hash
        from .store import StoreWriter

        videos_key = {"shape": list(videos.shape), "captions": video_hash(np.frombuffer(
            "\n".join(captions).encode(), dtype=np.uint8)), "first_frames": video_hash(videos[:, 0]), "batch": batch}
        writer = StoreWriter(out, {**settings, "videos": videos_key})
        first, state = writer.done_videos, writer.resume_state()
    if processes > 1:  # where an interrupted build stopped, as the writing process knows it
        first, state = gather((first, state))[0]
    if state is not None:
        rng.set_state(state)
    latent_shape = tuple(generator.latent_shape(*videos.shape[1:4]))
    parts = []  # (start, tensors, rng state after the batch) of this process's batches
    bar = tqdm(total=len(videos), initial=first, desc="coupling data", disable=not progress or not is_main())
    layout = (writer.index.get("layout") if writer else None)
    with torch.no_grad():
        for number, start in enumerate(range(first, len(videos), batch)):
            chunk = videos[start:start + batch]
            n = len(chunk)
            if number % processes != rank:  # another process's batch: draw its random numbers, compute nothing
                sigma_columns = len(levels) if levels is not None else sigmas_per_video + int(include_clean)
                if levels is None:
                    torch.rand(n, sigmas_per_video, generator=rng)
                for _ in range(sigma_columns):
                    torch.randn((n, *latent_shape), generator=rng)
                continue
            part = {name: [] for name in _FIELDS}
            condition = generator.encode_prompt(list(captions[start:start + n]))
            z0 = generator.encode(chunk).float()
            decoded = generator.decode(z0) if target == "decoded" else chunk
            part["targets"].append(vlm.visual_tokens(decoded).float().cpu())
            if layout is None:  # the token grid of the clips, so that Φ's output can be read without inputs=
                layout = _layout(vlm, decoded[:1], part["targets"][0].shape[1])
            part["embeds"].append(condition.embeds.float().cpu())
            mask = condition.mask if condition.mask is not None else torch.ones(condition.embeds.shape[:2])
            part["mask"].append(mask.bool().cpu())
            if levels is not None:
                sigma_grid = torch.tensor([list(levels)] * n, dtype=torch.float32)
            else:
                sigma_grid = torch.rand(n, sigmas_per_video, generator=rng) * max_sigma
                if include_clean:
                    sigma_grid = torch.cat([torch.zeros(n, 1), sigma_grid], dim=1)
            for k in range(sigma_grid.shape[1]):
                sigma = sigma_grid[:, k]
                eps = torch.randn(z0.shape, generator=rng)
                s = sigma.view(-1, 1, 1, 1, 1)
                z_t = (1 - s) * z0 + s * eps
                t = sigma * generator.num_train_timesteps
                v = generator.velocity(z_t.to(generator.device, generator.dtype), condition, t).float().cpu()
                x0 = generator.x0_estimate(z_t, v, sigma)
                x0 = torch.where(s > 0, x0, z0)
                part["latents"].append(x0)
                part["sigmas"].append(sigma)
                part["video_index"].append(torch.arange(start, start + n))
                part["local_tokens"].append(vlm.visual_tokens(generator.decode(x0)).float().cpu())
            part = {name: torch.cat(values) for name, values in part.items()}
            _check_finite(part, f" of the videos from {start} on")
            if writer and processes == 1:
                writer.index["layout"] = layout
                writer.write(part, rng.get_state())
            else:
                parts.append((start, part, rng.get_state()))
            bar.update(n)
    bar.close()
    if processes > 1:  # every batch, in order, on every process (the writing process stores them)
        parts = sorted((p for got in gather(parts) for p in got), key=lambda p: p[0])
        layout = next((found for found in gather(layout) if found), None)  # the first batch's, whoever made it
        if writer:
            writer.index["layout"] = writer.index.get("layout") or layout
            for _, part, after in parts:
                writer.write(part, after)
    meta = {**settings, "token_layout": layout or {}}
    if out is not None:
        if writer:
            writer.finish(list(captions), meta)
        barrier()
        return open_coupling_data(out)
    data = {name: torch.cat([part[name] for _, part, _ in parts]) for name in _FIELDS}
    return CouplingData(**data, captions=list(captions), meta=meta)


def _layout(vlm, clip, tokens: int) -> dict:
    """The VLM's layout record of ``clip`` with the token grid (and trailing tokens) its ``tokens`` form."""
    layout = dict(vlm.layout_record(clip))
    grid = layout.get("token_grid") or vlm.token_grid(layout, tokens)
    if grid:
        layout["token_grid"] = [int(g) for g in grid]
        if vlm.trailing_tokens:
            layout["trailing_tokens"] = int(vlm.trailing_tokens)
    return layout


def open_coupling_data(folder) -> CouplingData:
    """The coupling data a ``build_coupling_data(..., out=folder)`` wrote, its large fields read row by row from
    the shards (:mod:`l2vkit.coupling.store`)."""
    from .store import read_store

    return CouplingData(**read_store(folder))


def _check_finite(fields: dict, where: str = "") -> None:
    """Raise naming the field, its first bad rows and ``where`` when a tensor holds NaN or infinite values; a store's
    lazy fields (not tensors) were checked batch by batch when they were written."""
    import torch

    for name in _VALUED:
        value = fields[name]
        if not isinstance(value, torch.Tensor):
            continue
        bad = ~torch.isfinite(value)
        if bad.any():
            rows = torch.nonzero(bad.reshape(bad.shape[0], -1).any(1)).flatten()[:5].tolist()
            raise ValueError(f"coupling data: {name}{where} contains NaN or infinite values (rows {rows}…); "
                             "rebuild the data — check the videos and the models' dtype")


def _in_memory(value):
    """A field as a tensor: a store's lazy rows are read in whole (``save`` is for data that fits in memory)."""
    import torch

    return value if isinstance(value, torch.Tensor) else value[:]
