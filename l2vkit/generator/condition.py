"""What flows through a generator: the text condition π_Ξ (:class:`Condition`) and a sampling run's result."""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Optional, Sequence

import numpy as np

if TYPE_CHECKING:
    import torch


@dataclasses.dataclass
class Condition:
    """π_Ξ: the text condition a generator's transformer reads.

    ``embeds``: (B, L, D) prompt embeddings (``prompt_embeds``); ``mask``: (B, L) attention mask for families whose
    transformer needs one (LTX), else ``None`` (Wan zero-pads past the caption instead).

    Arithmetic in condition space (π⁻ + φ·q) is done on ``embeds``; :meth:`with_embeds` keeps the mask:

    >>> import torch
    >>> pi = Condition(torch.zeros(1, 4, 8), torch.ones(1, 4, dtype=torch.bool))
    >>> pi.with_embeds(pi.embeds + 0.5).shape, pi.batch_size
    ((1, 4, 8), 1)
    """

    embeds: "torch.Tensor"
    mask: "torch.Tensor | None" = None

    @property
    def shape(self) -> tuple:
        return tuple(self.embeds.shape)

    @property
    def batch_size(self) -> int:
        return int(self.embeds.shape[0])

    @property
    def length(self) -> int:
        return int(self.embeds.shape[1])

    @property
    def width(self) -> int:
        return int(self.embeds.shape[2])

    def with_embeds(self, embeds) -> "Condition":
        """The same mask with new embeddings (e.g. ``π⁻ + φ·q``)."""
        return Condition(embeds, self.mask)

    def to(self, device=None, dtype=None) -> "Condition":
        """Embeddings moved/cast; the mask only moved (it keeps its integer/bool dtype)."""
        mask = None if self.mask is None else self.mask.to(device)
        return Condition(self.embeds.to(device=device, dtype=dtype), mask)

    def detach(self) -> "Condition":
        return Condition(self.embeds.detach(), None if self.mask is None else self.mask.detach())

    def repeat(self, n: int) -> "Condition":
        """Each batch element repeated ``n`` times along the batch (B → B·n)."""
        mask = None if self.mask is None else self.mask.repeat_interleave(n, dim=0)
        return Condition(self.embeds.repeat_interleave(n, dim=0), mask)

    @staticmethod
    def cat(conditions: Sequence["Condition"]) -> "Condition":
        """Conditions joined along the batch (all with masks or all without)."""
        import torch

        conditions = list(conditions)
        if not conditions:
            raise ValueError("Condition.cat needs at least one condition")
        masks = [c.mask for c in conditions]
        if any(m is None for m in masks) and not all(m is None for m in masks):
            raise ValueError("Condition.cat: either every condition has an attention mask or none has")
        mask = None if masks[0] is None else torch.cat(masks)
        return Condition(torch.cat([c.embeds for c in conditions]), mask)


@dataclasses.dataclass
class SampleResult:
    """What :meth:`VideoGenerator.sample` returns.

    ``latents``: (B, C, F, h, w) final latents (normalised space, float32); ``frames``: uint8 (T, H, W, 3) for a single
    video, (B, T, H, W, 3) for a batch, when ``output="frames"`` (else ``None``); ``trajectory``: when asked, the list
    ``[z_T (initial noise), z after step 0, …, z after the last step]`` (``steps + 1`` CPU tensors, same layout as
    ``latents``); ``timesteps`` (steps,) and ``sigmas`` (steps + 1, ending at 0) the pipeline's scheduler used.
    """

    latents: "torch.Tensor"
    frames: Optional[np.ndarray]
    trajectory: Optional[list]
    seed: int
    steps: int
    guidance: float
    timesteps: "torch.Tensor | None" = None
    sigmas: "torch.Tensor | None" = None


def check_finite(tensor, name: str, remedy: str):
    """Refuse a tensor with NaN or infinite values, naming it, how many and what to do (they would give a black or
    garbage video with no error)."""
    import torch

    bad = int((~torch.isfinite(tensor)).sum()) if tensor.is_floating_point() else 0
    if bad:
        raise ValueError(f"{name} holds {bad} NaN or infinite value(s) of {tensor.numel()}; {remedy}")
    return tensor
